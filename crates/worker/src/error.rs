//! The crate's one error type.

use std::path::PathBuf;

use comqute_inference::InferenceError;
use comqute_sdk::{Hash32, Identity, SdkError};

/// Why the worker could not start, build its backend, or replay a job. The messages name
/// the `comqute` options that fix the problem where there is one, because that is where
/// they are read.
///
/// Variants that wrap an error keep it as their [`source`](std::error::Error::source), so a
/// report that walks the chain (`{:#}` of an `anyhow::Error`) shows both, and a caller can
/// find an [`SdkError`] in it (a node that does not answer).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkerError {
    // --- one daemon per key ---
    /// Another daemon on this machine holds the key's lock file.
    #[error(
        "another `comqute worker run` on this machine is using this key (it holds {}); stop it first",
        path.display()
    )]
    KeyInUse {
        /// The lock file.
        path: PathBuf,
    },
    /// The lock file could not be opened or locked.
    #[error("{action} {}", path.display())]
    LockFile {
        /// `opening the lock file` or `locking`.
        action: &'static str,
        /// The lock file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// Another daemon session is online for this worker on the chain.
    #[error(
        "another daemon is serving {worker} (its last heartbeat was at tick {last_heartbeat}, \
         {ago} ticks ago); stop it first, or pass --takeover if it is gone"
    )]
    SessionInUse {
        /// The worker.
        worker: Identity,
        /// The tick of the other session's last heartbeat.
        last_heartbeat: u32,
        /// Ticks since then.
        ago: u32,
    },
    /// Another session took the worker over between the first heartbeat and the start.
    #[error("another daemon took this worker over before it started: {refusal}")]
    TakenOver {
        /// The chain's refusal.
        refusal: SdkError,
    },

    // --- the worker's registration ---
    /// The key is not a registered worker and no stake was given to register it.
    #[error(
        "{worker} is not a registered worker: pass --stake N --price-per-1k P to register it, \
         or run `comqute worker register` first"
    )]
    NotRegistered {
        /// The key's identity.
        worker: Identity,
    },
    /// Registering needs a price and none was given.
    #[error("registering {worker} needs --price-per-1k P")]
    NoPrice {
        /// The key's identity.
        worker: Identity,
    },
    /// The worker is unbonding and cannot take jobs.
    #[error("{worker} is unbonding: it cannot take jobs (withdraw and register again)")]
    Unbonding {
        /// The worker.
        worker: Identity,
    },
    /// A chain operation failed (after the retries a node that does not answer gets).
    #[error("{what}")]
    Chain {
        /// What was being done (`registering the worker`).
        what: &'static str,
        /// The SDK's error.
        #[source]
        source: SdkError,
    },

    // --- the backend ---
    /// The daemon was stopped while it waited for the backend to answer.
    #[error("stopped before the backend answered")]
    StoppedBeforeBackend,
    /// The backend could not list its models, for a reason waiting does not fix.
    #[error("asking the {backend} backend at {endpoint} for its models")]
    BackendModels {
        /// The backend's name.
        backend: String,
        /// Where it is.
        endpoint: String,
        /// Its error.
        #[source]
        source: Box<InferenceError>,
    },
    /// The backend does not have the models asked for (or has none at all).
    #[error(
        "{} not on the {backend} backend at {endpoint} (it has: {}); pull it first (`comqute models pull NAME`)",
        if missing.is_empty() { "no model is".to_string() } else { format!("model {missing:?} is") },
        if has.is_empty() { "nothing".to_string() } else { has.join(", ") }
    )]
    NoSuchModel {
        /// The backend's name.
        backend: String,
        /// Where it is.
        endpoint: String,
        /// The names asked for that it does not have (empty: none was asked for and it has
        /// none).
        missing: Vec<String>,
        /// What it has.
        has: Vec<String>,
    },
    /// `--backend` names a different kind than the URL given.
    #[error("--backend {kind:?} contradicts the --ollama/--openai URL given")]
    BackendContradiction {
        /// The kind asked for.
        kind: crate::BackendKind,
    },
    /// The OpenAI-compatible backend needs its URL.
    #[error("--backend openai needs --openai URL")]
    NoOpenAiUrl,
    /// The built-in runtime serves one model and several were asked for.
    #[error("the built-in runtime serves one model; give one --model")]
    BuiltinServesOne,
    /// No Ollama answers at the URL.
    #[error("no Ollama answers at {url}")]
    NoOllama {
        /// The URL tried.
        url: String,
    },
    /// The Ollama answered, but not with its list of models.
    #[error("the Ollama at {url} answered badly: {detail}")]
    OllamaBadAnswer {
        /// The URL.
        url: String,
        /// Its error.
        detail: Box<InferenceError>,
    },
    /// The Ollama has no model that generates.
    #[error("the Ollama at {url} has no model (`comqute models pull llama3.2:1b` pulls one)")]
    OllamaHasNoModel {
        /// The URL.
        url: String,
    },
    /// No backend to pick from.
    #[error("no backend to try")]
    NothingToPick,
    /// A built-in model file could not be loaded.
    #[error("loading {}", path.display())]
    LoadModel {
        /// The GGUF file.
        path: PathBuf,
        /// The runtime's error.
        #[source]
        source: Box<InferenceError>,
    },
    /// A blocking task (loading or installing a model) ended abnormally.
    #[error("the {what} thread")]
    Thread {
        /// What it was doing.
        what: &'static str,
        /// The runtime's error.
        #[source]
        source: tokio::task::JoinError,
    },
    /// The inference crate's error: a backend that cannot be made (a bad URL, a stand-in
    /// asked for a real model's name), a model that cannot be installed or found, a
    /// generation that failed.
    #[error(transparent)]
    Inference(Box<InferenceError>),
    /// The scorer failed (not the claim: a claim that cannot be scored scores 0).
    #[error("scoring a claimed output: {0}")]
    Scoring(String),

    // --- replay ---
    /// The job has no result to replay.
    #[error("job {job} has no result to replay (it is {status})")]
    NoResult {
        /// The job.
        job: u64,
        /// Its status.
        status: &'static str,
    },
    /// The job's model is not one the built-in runtime has.
    #[error(
        "job {job} asks for model {model}, which the built-in runtime does not have (it has \
         {known}): exact replay does not apply"
    )]
    NotReplayable {
        /// The job.
        job: u64,
        /// The model id it asks for.
        model: Hash32,
        /// The built-in runtime's models, comma separated.
        known: String,
    },
    /// The job was produced by another runtime than this machine's for its settings.
    #[error(
        "job {job} was not produced by this runtime (posted fingerprint {posted}, this \
         machine's {here} for the job's settings): exact replay does not apply"
    )]
    OtherRuntime {
        /// The job.
        job: u64,
        /// The fingerprint its worker posted.
        posted: Hash32,
        /// This machine's.
        here: Hash32,
    },
    /// The replay's output hashes differently from the posted result.
    #[error("job {job}: the replay hashes to {replayed}, the worker posted {posted}")]
    Mismatch {
        /// The job.
        job: u64,
        /// The replay's result hash.
        replayed: Hash32,
        /// The posted one.
        posted: Hash32,
    },
}

// The inference crate's errors are large; boxed, a `Result<_, WorkerError>` stays small.
impl From<InferenceError> for WorkerError {
    fn from(e: InferenceError) -> WorkerError {
        WorkerError::Inference(Box::new(e))
    }
}

impl WorkerError {
    /// Wraps an SDK error with what was being done.
    pub(crate) fn chain(what: &'static str) -> impl FnOnce(SdkError) -> WorkerError {
        move |source| WorkerError::Chain { what, source }
    }

    /// The message followed by its sources' messages, `: `-separated: the whole story on one
    /// line (a log line, a terminal note).
    pub fn describe(&self) -> String {
        let mut s = self.to_string();
        let mut cur = std::error::Error::source(self);
        while let Some(c) = cur {
            s.push_str(": ");
            s.push_str(&c.to_string());
            cur = c.source();
        }
        s
    }
}

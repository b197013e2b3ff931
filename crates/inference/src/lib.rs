//! # comqute-inference
//!
//! The off-chain half of a worker: inference backends behind one trait (Ollama over its
//! NDJSON API, any OpenAI-compatible server, a built-in GGUF runtime), and how a job becomes
//! a request ([`job`]); the worker daemon that drives them is in `comqute-worker` (`comqute
//! worker run`).
//! What is fixed already is **what a result hash is**, because contracts, node and verifiers
//! must agree on it.
//!
//! - [`backend`]: the [`Backend`] trait a worker holds as `Arc<dyn Backend>`, its
//!   [`GenerateRequest`] and [`Generation`], and **what is hashed** (below).
//! - [`ollama`]: [`OllamaBackend`], Ollama's native NDJSON API, plus tags, pull, show, version.
//! - [`openai`]: [`OpenAiBackend`], any OpenAI-compatible server (llama.cpp, vLLM), SSE.
//! - [`ndjson`]: incremental NDJSON, SSE and UTF-8 decoders for bodies split anywhere.
//! - [`hardware`]: GPUs (nvidia-smi), CPU and memory, and a tokens-per-second benchmark.
//! - [`standin`]: a deterministic stand-in that is not a language model, labelled as such.
//! - `testserver` (feature `test-server`): an Ollama- and OpenAI-compatible test server with
//!   delays, awkward splits, faults and a kill switch.
//! - [`builtin`]: Gemma 3 (GGUF) in-process on candle, with llama.cpp-exact tokenization,
//!   seeded sampling and a [`builtin::RuntimeFingerprint`] for exact replay.
//! - [`job`]: the one rule that turns an on-chain job into a [`GenerateRequest`].
//! - [`install`]: fetching built-in models into the user's cache (`comqute models install`).
//! - [`llama_server`]: finding, building and driving llama.cpp's server as a reference.
//!
//! ## What is hashed
//! The result hash is blake3 of the UTF-8 bytes of [`Generation::text`]: the output exactly as
//! the backend produced it, every streamed piece concatenated, nothing trimmed or normalised,
//! no thinking text. The token count posted with it is the backend's own
//! ([`Generation::output_tokens`]: Ollama's `eval_count`, OpenAI's `usage.completion_tokens`).
//! A generation that failed or was cut short (an error line mid-stream, a dropped connection)
//! yields an error, never a partial [`Generation`], so there is nothing to post for it.
//!
//! Sampling settings travel as integers ([`GenerateRequest::temperature_milli`], seeds as
//! `u64`); the HTTP backends send the seed as [`GenerateRequest::backend_seed`] (32 bits,
//! because that is all Ollama and llama.cpp use) and temperatures as floats.
//!
//! ## What it must never do
//! Touch ledger state directly (it goes through the SDK like any app), or post a hash for
//! output it did not produce.

pub mod backend;
pub mod builtin;
mod error;
pub mod fuzz;
pub mod hardware;
pub mod http;
pub mod install;
pub mod job;
pub mod llama_server;
pub mod ndjson;
pub mod ollama;
pub mod openai;
pub mod standin;
#[cfg(feature = "test-server")]
pub mod testserver;

use std::path::PathBuf;

pub use backend::{
    Backend, ChatMessage, DoneReason, GenerateRequest, Generation, ModelInfo, RuntimeInfo, Timings,
    TokenCount, TokenSink,
};
pub use error::InferenceError;
pub use http::{HttpOptions, TimeoutPhase};
pub use ollama::{OllamaBackend, PullProgress, DEFAULT_OLLAMA_URL};
pub use openai::OpenAiBackend;
pub use standin::StandInBackend;

use comqute_qpi::Hash32;

/// The result hash of a job: blake3 of the UTF-8 bytes of the output text exactly as the
/// backend produced it (no trimming, no normalisation).
pub fn result_hash(output: &str) -> Hash32 {
    Hash32::of(output.as_bytes())
}

/// `$XDG_CACHE_HOME/comqute` (when set and absolute), else `~/.cache/comqute`.
pub fn cache_dir() -> Result<PathBuf, InferenceError> {
    if let Some(x) = std::env::var_os("XDG_CACHE_HOME").map(PathBuf::from) {
        if x.is_absolute() {
            return Ok(x.join("comqute"));
        }
    }
    match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        Some(h) => Ok(PathBuf::from(h).join(".cache").join("comqute")),
        None => Err(InferenceError::NotInstalled(
            "neither XDG_CACHE_HOME nor HOME is set, so there is no cache folder; set one or \
             pass --gguf FILE"
                .into(),
        )),
    }
}

/// Resident memory of this process, from `/proc/self/status` (Linux only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcessMemory {
    /// Resident set size now (`VmRSS`), bytes.
    pub rss_bytes: u64,
    /// Peak resident set size (`VmHWM`), bytes.
    pub peak_rss_bytes: u64,
}

/// Reads [`ProcessMemory`]; `None` where `/proc` is not available.
pub fn process_memory() -> Option<ProcessMemory> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = s.lines().find(|l| l.starts_with(name))?;
        let kib: u64 = line[name.len()..].split_whitespace().next()?.parse().ok()?;
        Some(kib * 1024)
    };
    Some(ProcessMemory {
        rss_bytes: field("VmRSS:")?,
        peak_rss_bytes: field("VmHWM:")?,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn hashes_the_exact_bytes() {
        assert_ne!(super::result_hash("hi"), super::result_hash("hi "));
        assert_eq!(
            super::result_hash("hi"),
            comqute_qpi::Hash32::of(b"hi")
        );
    }
}

//! The seam between a worker and whatever runs the model: the [`Backend`] trait, the request it
//! takes and the [`Generation`] it gives back.
//!
//! A worker holds an `Arc<dyn Backend>` and never knows whether Ollama, an OpenAI-compatible
//! server or the built-in runtime is behind it:
//!
//! ```no_run
//! use std::sync::Arc;
//! use comqute_inference::{Backend, GenerateRequest, OllamaBackend, TokenSink};
//! # async fn run() -> Result<(), comqute_inference::InferenceError> {
//! let backend: Arc<dyn Backend> = Arc::new(OllamaBackend::new("http://localhost:11434")?);
//! let (sink, mut tokens) = TokenSink::channel();
//! let printer = tokio::spawn(async move {
//!     while let Some(piece) = tokens.recv().await {
//!         print!("{piece}");
//!     }
//! });
//! let req = GenerateRequest::new("llama3.2:1b", "Why is the sky blue?", 64).with_seed(42);
//! let out = backend.generate(&req, sink).await?;
//! printer.await.ok();
//! println!("\n{} tokens, hash {}", out.output_tokens, out.result_hash());
//! # Ok(()) }
//! ```
//!
//! ## What is hashed
//! [`Generation::text`] is the output exactly as the backend produced it: the concatenation of
//! every streamed piece, no trimming, no normalisation, no thinking/reasoning text. The result
//! hash is blake3 of its UTF-8 bytes ([`crate::result_hash`]). [`Generation::output_tokens`] is
//! the backend's own count (Ollama's `eval_count`, OpenAI's `usage.completion_tokens` or
//! llama.cpp's `timings.predicted_n`), not a count this crate makes up; when a server reports
//! none, [`Generation::token_count`] says so.
//!
//! ## Cancellation
//! Dropping the future returned by [`Backend::generate`] cancels the generation: the HTTP
//! backends close the connection, which makes Ollama and llama.cpp stop generating.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use comqute_qpi::Hash32;
use tokio::sync::mpsc;

use crate::InferenceError;

/// One message of a chat conversation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatMessage {
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// The message text.
    pub content: String,
}

impl ChatMessage {
    /// A message with the given role.
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> ChatMessage {
        ChatMessage {
            role: role.into(),
            content: content.into(),
        }
    }

    /// A `user` message.
    pub fn user(content: impl Into<String>) -> ChatMessage {
        ChatMessage::new("user", content)
    }

    /// A `system` message.
    pub fn system(content: impl Into<String>) -> ChatMessage {
        ChatMessage::new("system", content)
    }
}

/// What to generate. Sampling settings are integers (thousandths for fractions), the way a job
/// stores them on chain, so requests compare and hash exactly; each backend converts them to its
/// own wire format (see [`GenerateRequest::temperature`], [`GenerateRequest::backend_seed`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenerateRequest {
    /// The model's name as the backend knows it (`llama3.2:1b`, `gemma3:270m`).
    pub model: String,
    /// The prompt. Ignored when [`GenerateRequest::messages`] is set.
    pub prompt: String,
    /// A chat conversation instead of a prompt: the backend uses its chat endpoint
    /// (`/api/chat`, `/v1/chat/completions`).
    pub messages: Option<Vec<ChatMessage>>,
    /// Send the prompt as is, without the model's prompt template (Ollama's `raw`, the
    /// OpenAI-compatible `/v1/completions`).
    pub raw: bool,
    /// At most this many output tokens (Ollama's `num_predict`, OpenAI's `max_tokens`).
    pub max_tokens: u32,
    /// The sampler's seed, as the job stores it.
    pub seed: u64,
    /// Temperature in thousandths (800 = 0.8); 0 = greedy.
    pub temperature_milli: u32,
    /// Keep only the `top_k` most likely tokens; 0 = no limit. Sent explicitly, so a
    /// server's own default (Ollama's 40) never applies.
    pub top_k: u32,
    /// Nucleus threshold in thousandths; 1000 (or more) = off. Sent explicitly (as 1.0 when
    /// off), so a server's own default (Ollama's 0.9) never applies.
    pub top_p_milli: u32,
    /// Generation stops before the first occurrence of any of these strings.
    pub stop: Vec<String>,
}

impl GenerateRequest {
    /// A request for `max_tokens` tokens of `model` on `prompt`: seed 0, greedy, no top-k,
    /// top-p off, no stop strings, the model's prompt template.
    pub fn new(model: impl Into<String>, prompt: impl Into<String>, max_tokens: u32) -> Self {
        GenerateRequest {
            model: model.into(),
            prompt: prompt.into(),
            messages: None,
            raw: false,
            max_tokens,
            seed: 0,
            temperature_milli: 0,
            top_k: 0,
            top_p_milli: 1000,
            stop: Vec::new(),
        }
    }

    /// The same request with another seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The same request with another temperature, in thousandths.
    pub fn with_temperature_milli(mut self, t: u32) -> Self {
        self.temperature_milli = t;
        self
    }

    /// The same request as a chat conversation.
    pub fn with_messages(mut self, messages: Vec<ChatMessage>) -> Self {
        self.messages = Some(messages);
        self
    }

    /// The same request with stop strings.
    pub fn with_stop(mut self, stop: Vec<String>) -> Self {
        self.stop = stop;
        self
    }

    /// The same request without the model's prompt template.
    pub fn with_raw(mut self, raw: bool) -> Self {
        self.raw = raw;
        self
    }

    /// The temperature as the float the wire formats take (`temperature_milli / 1000`).
    pub fn temperature(&self) -> f64 {
        f64::from(self.temperature_milli) / 1000.0
    }

    /// Top-p as the float the wire formats take; 1.0 when it is off.
    pub fn top_p(&self) -> f64 {
        f64::from(self.top_p_milli.min(1000)) / 1000.0
    }

    /// The seed sent to a server: the job's 64-bit seed folded into `0 ..= 2³² − 2`.
    ///
    /// Ollama decodes options through a JSON map, so integers above 2⁵³ lose bits, and both
    /// Ollama's runner and llama.cpp keep only 32 bits of a seed; llama.cpp also reads
    /// `0xFFFFFFFF` (and Ollama `-1`) as "pick a random seed". Folding with `seed mod (2³² − 1)`
    /// gives every job a seed those servers use as is, never the random sentinel.
    pub fn backend_seed(&self) -> u32 {
        // The remainder is below 0xFFFF_FFFF, so it fits in a u32.
        (self.seed % 0xFFFF_FFFF) as u32
    }

    /// Checks what every backend needs: a model name, something to generate from, and at
    /// least one token.
    pub fn validate(&self) -> Result<(), InferenceError> {
        if self.model.trim().is_empty() {
            return Err(InferenceError::InvalidRequest(
                "the model name is empty".into(),
            ));
        }
        if self.max_tokens == 0 {
            return Err(InferenceError::InvalidRequest(
                "max_tokens is 0: nothing to generate".into(),
            ));
        }
        if let Some(m) = &self.messages {
            if m.is_empty() {
                return Err(InferenceError::InvalidRequest(
                    "the chat conversation has no message".into(),
                ));
            }
        }
        Ok(())
    }
}

/// Why a generation ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DoneReason {
    /// An end-of-sequence token or a stop string.
    Stop,
    /// `max_tokens` was reached (or the context is full).
    Length,
    /// Anything else the backend said (`load`, `unload`, `content_filter`, …).
    Other(String),
}

impl DoneReason {
    /// Parses a backend's spelling (`stop`, `length`, anything else).
    pub fn parse(s: &str) -> DoneReason {
        match s {
            "stop" | "eos" => DoneReason::Stop,
            "length" => DoneReason::Length,
            other => DoneReason::Other(other.to_string()),
        }
    }

    /// `stop`, `length` or the backend's own word.
    pub fn as_str(&self) -> &str {
        match self {
            DoneReason::Stop => "stop",
            DoneReason::Length => "length",
            DoneReason::Other(s) => s,
        }
    }
}

impl fmt::Display for DoneReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where [`Generation::output_tokens`] comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenCount {
    /// The backend's own count (`eval_count`, `usage.completion_tokens`, `predicted_n`).
    Reported,
    /// The server reported none; this is the number of streamed pieces, which for the servers
    /// this crate knows is one per token.
    StreamedPieces,
}

/// Timings of one generation. The backend's own figures are `None` when it did not report them
/// (Ollama omits zero values); the wall-clock ones are measured here.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Timings {
    /// Wall-clock time from sending the request to the end of the stream.
    pub wall: Duration,
    /// Wall-clock time from sending the request to the first output piece.
    pub first_token: Option<Duration>,
    /// The backend's total time (Ollama's `total_duration`).
    pub total: Option<Duration>,
    /// Time spent loading the model (Ollama's `load_duration`).
    pub load: Option<Duration>,
    /// Time spent on the prompt (`prompt_eval_duration`, `prompt_ms`).
    pub prompt_eval: Option<Duration>,
    /// Time spent generating (`eval_duration`, `predicted_ms`).
    pub eval: Option<Duration>,
}

/// What ran a generation, and a 32-byte fingerprint of it for the chain (issue 10): a verifier
/// compares fingerprints before trusting an exact replay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuntimeInfo {
    /// Engine name: `ollama`, `openai-compatible`, `comqute-builtin-gemma3`, `stand-in`.
    pub engine: String,
    /// The engine's version as it reports it (`/api/version`, `system_fingerprint`), or empty.
    pub engine_version: String,
    /// The model's name.
    pub model: String,
    /// The model's digest as the engine reports it (Ollama's `sha256:…` manifest digest, the
    /// built-in runtime's file sha256), or empty when unknown.
    pub model_digest: String,
    /// Whether the same request is guaranteed to give the same bytes again on this runtime and
    /// hardware class. False for servers this crate does not control (see the crate docs).
    pub exact_replay: bool,
    /// blake3 fingerprint of the above and the request's sampling settings.
    pub fingerprint: Hash32,
}

impl RuntimeInfo {
    /// Describes a runtime and computes its fingerprint over the engine, version, model
    /// digest, `exact_replay` and the request's sampling settings and limits, each field
    /// length-prefixed, under the blake3 key-derivation context
    /// `comqute/runtime-fingerprint/remote/v1`. (The built-in runtime computes its own, richer
    /// fingerprint and fills [`RuntimeInfo::fingerprint`] with it.)
    pub fn describe(
        engine: &str,
        engine_version: &str,
        model_digest: &str,
        exact_replay: bool,
        req: &GenerateRequest,
    ) -> RuntimeInfo {
        let mut h = blake3::Hasher::new_derive_key("comqute/runtime-fingerprint/remote/v1");
        let mut field = |b: &[u8]| {
            h.update(&(b.len() as u64).to_le_bytes());
            h.update(b);
        };
        field(engine.as_bytes());
        field(engine_version.as_bytes());
        field(req.model.as_bytes());
        field(model_digest.as_bytes());
        field(&[u8::from(exact_replay), u8::from(req.raw)]);
        field(&req.temperature_milli.to_le_bytes());
        field(&req.top_k.to_le_bytes());
        field(&req.top_p_milli.to_le_bytes());
        field(&req.max_tokens.to_le_bytes());
        for s in &req.stop {
            field(s.as_bytes());
        }
        RuntimeInfo {
            engine: engine.to_string(),
            engine_version: engine_version.to_string(),
            model: req.model.clone(),
            model_digest: model_digest.to_string(),
            exact_replay,
            fingerprint: Hash32(*h.finalize().as_bytes()),
        }
    }
}

/// The result of a generation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Generation {
    /// The output text exactly as produced: every streamed piece, concatenated. This is what
    /// the result hash covers.
    pub text: String,
    /// Output tokens, as the backend counted them (see [`Generation::token_count`]).
    pub output_tokens: u32,
    /// Where `output_tokens` comes from.
    pub token_count: TokenCount,
    /// Prompt tokens, when the backend reported them.
    pub prompt_tokens: Option<u32>,
    /// Why it ended.
    pub done_reason: DoneReason,
    /// How long it took.
    pub timings: Timings,
    /// What produced it.
    pub runtime: RuntimeInfo,
}

impl Generation {
    /// blake3 of the output's UTF-8 bytes: the hash a worker posts.
    pub fn result_hash(&self) -> Hash32 {
        crate::result_hash(&self.text)
    }

    /// Output tokens per second of generation: the backend's eval time when it reported one,
    /// else the wall time after the first token, else the whole wall time.
    pub fn tokens_per_second(&self) -> Option<f64> {
        let t = &self.timings;
        let secs = match (t.eval, t.first_token) {
            (Some(e), _) if !e.is_zero() => e.as_secs_f64(),
            (_, Some(f)) if t.wall > f => (t.wall - f).as_secs_f64(),
            _ => t.wall.as_secs_f64(),
        };
        (secs > 0.0 && self.output_tokens > 0).then(|| f64::from(self.output_tokens) / secs)
    }
}

/// A model a backend can serve.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModelInfo {
    /// The name to put in a request.
    pub name: String,
    /// The backend's digest of it (`sha256:…` for Ollama), when known.
    pub digest: Option<String>,
    /// Size in bytes, when known.
    pub size: Option<u64>,
    /// Model family (`llama`, `gemma3`), when known.
    pub family: Option<String>,
    /// Parameter count as the backend spells it (`1.2B`), when known.
    pub parameter_size: Option<String>,
    /// Quantization (`Q4_K_M`), when known.
    pub quantization: Option<String>,
}

/// Where a backend sends output pieces as they arrive. Cheap to clone; a closed or absent
/// receiver is not an error (the generation goes on and [`Generation::text`] still has it all).
///
/// The pieces sent for one generation concatenate to exactly [`Generation::text`]; empty
/// pieces are never sent.
#[derive(Clone, Debug, Default)]
pub struct TokenSink {
    tx: Option<mpsc::UnboundedSender<String>>,
}

impl TokenSink {
    /// A sink that drops every piece.
    pub fn discard() -> TokenSink {
        TokenSink { tx: None }
    }

    /// A sink and the receiver its pieces arrive on.
    pub fn channel() -> (TokenSink, mpsc::UnboundedReceiver<String>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (TokenSink { tx: Some(tx) }, rx)
    }

    /// A sink over an existing sender.
    pub fn from_sender(tx: mpsc::UnboundedSender<String>) -> TokenSink {
        TokenSink { tx: Some(tx) }
    }

    /// Sends one piece (nothing when it is empty). Usable from blocking threads too.
    pub fn send(&self, piece: &str) {
        if piece.is_empty() {
            return;
        }
        if let Some(tx) = &self.tx {
            // A receiver that went away no longer wants pieces; the text is kept regardless.
            let _ = tx.send(piece.to_string());
        }
    }
}

/// Something that runs models: Ollama, an OpenAI-compatible server, the built-in runtime, or
/// a stand-in. Object safe, so a worker can hold an `Arc<dyn Backend>`.
///
/// Implementations must:
/// - send every piece of output to the sink as it arrives and return the concatenation of
///   exactly those pieces as [`Generation::text`];
/// - report the engine's own output token count;
/// - return a typed [`InferenceError`] (never panic) for anything a server or model sends;
/// - stop work when the future is dropped.
#[async_trait]
pub trait Backend: Send + Sync {
    /// A short name for logs and the CLI: `ollama`, `openai`, `builtin`, `stand-in`.
    fn name(&self) -> &str;

    /// Where it runs: a base URL, or a description such as `in-process`.
    fn endpoint(&self) -> String;

    /// The models it can serve right now.
    async fn models(&self) -> Result<Vec<ModelInfo>, InferenceError>;

    /// Runs one generation, streaming pieces of output to `sink` as they arrive.
    async fn generate(
        &self,
        request: &GenerateRequest,
        sink: TokenSink,
    ) -> Result<Generation, InferenceError>;

    /// The runtime `request` would run on, known without running it, for a backend whose
    /// output is the same bytes for the same request ([`RuntimeInfo::exact_replay`]); the
    /// fingerprint is the one [`generate`](Self::generate) reports. A replica compares it with
    /// a posted fingerprint before spending a re-run on an exact replay. `None` (the default):
    /// not known ahead, or no exact replay (servers this crate does not control).
    fn replay_runtime(&self, request: &GenerateRequest) -> Option<RuntimeInfo> {
        let _ = request;
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_seed_never_hits_the_random_sentinel() {
        let mut r = GenerateRequest::new("m", "p", 1);
        for seed in [0, 1, 0xFFFF_FFFE, 0xFFFF_FFFF, 0x1_0000_0000, u64::MAX] {
            r.seed = seed;
            assert_ne!(r.backend_seed(), u32::MAX, "seed {seed}");
        }
        r.seed = 42;
        assert_eq!(r.backend_seed(), 42);
        r.seed = 0xFFFF_FFFF;
        assert_eq!(r.backend_seed(), 0);
    }

    #[test]
    fn temperatures_and_top_p_convert_from_thousandths() {
        let r = GenerateRequest::new("m", "p", 1).with_temperature_milli(700);
        assert_eq!(r.temperature(), 0.7);
        assert_eq!(r.top_p(), 1.0);
        let r = GenerateRequest {
            top_p_milli: 900,
            ..r
        };
        assert_eq!(r.top_p(), 0.9);
    }

    #[test]
    fn validation_names_the_problem() {
        assert!(GenerateRequest::new("", "p", 1).validate().is_err());
        assert!(GenerateRequest::new("m", "p", 0).validate().is_err());
        assert!(GenerateRequest::new("m", "p", 1)
            .with_messages(vec![])
            .validate()
            .is_err());
        assert!(GenerateRequest::new("m", "", 1).validate().is_ok());
    }

    #[test]
    fn fingerprints_change_with_what_matters() {
        let r = GenerateRequest::new("m", "p", 8);
        let a = RuntimeInfo::describe("ollama", "0.12.0", "sha256:aa", false, &r);
        let same = RuntimeInfo::describe("ollama", "0.12.0", "sha256:aa", false, &r);
        assert_eq!(a.fingerprint, same.fingerprint);
        let hotter = r.clone().with_temperature_milli(1);
        for other in [
            RuntimeInfo::describe("ollama", "0.12.1", "sha256:aa", false, &r),
            RuntimeInfo::describe("ollama", "0.12.0", "sha256:ab", false, &r),
            RuntimeInfo::describe("ollama", "0.12.0", "sha256:aa", true, &r),
            RuntimeInfo::describe("ollama", "0.12.0", "sha256:aa", false, &hotter),
        ] {
            assert_ne!(a.fingerprint, other.fingerprint);
        }
        // The prompt and seed are not part of the runtime.
        let other_prompt = GenerateRequest::new("m", "q", 8).with_seed(9);
        assert_eq!(
            a.fingerprint,
            RuntimeInfo::describe("ollama", "0.12.0", "sha256:aa", false, &other_prompt)
                .fingerprint
        );
    }

    #[test]
    fn sink_pieces_arrive_in_order_and_empty_ones_are_dropped() {
        let (sink, mut rx) = TokenSink::channel();
        sink.send("a");
        sink.send("");
        sink.clone().send("é");
        drop(sink);
        let mut got = Vec::new();
        while let Ok(p) = rx.try_recv() {
            got.push(p);
        }
        assert_eq!(got, ["a", "é"]);
        TokenSink::discard().send("nobody listens");
    }

    #[test]
    fn done_reasons_parse() {
        assert_eq!(DoneReason::parse("stop"), DoneReason::Stop);
        assert_eq!(DoneReason::parse("length"), DoneReason::Length);
        assert_eq!(DoneReason::parse("load").as_str(), "load");
    }
}

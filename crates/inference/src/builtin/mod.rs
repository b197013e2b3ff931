//! The built-in backend: a GGUF Gemma 3 model run in-process on candle, with a tokenizer that
//! reproduces llama.cpp's ids and a sampler whose seed replays exactly.
//!
//! ```no_run
//! use comqute_inference::builtin::{BuiltinModel, GenerateRequest};
//! # fn main() -> Result<(), comqute_inference::InferenceError> {
//! let model = BuiltinModel::load(std::path::Path::new("gemma-3-270m-q4_k_m.gguf"))?;
//! let req = GenerateRequest::greedy("The capital of France is", 16);
//! let out = model.generate(&req, |piece| {
//!     print!("{piece}");
//!     true // keep going
//! })?;
//! println!("\n{} tokens, {:?}", out.output_tokens, out.done_reason);
//! # Ok(()) }
//! ```
//!
//! ## Exact replay
//! The same file, request and seed give the same bytes on every run and any thread count on
//! the same hardware class (the SIMD level candle's kernels use, part of
//! [`RuntimeFingerprint`]). The prompt is processed in fixed chunks of
//! [`gemma3::PROMPT_CHUNK`] tokens, the non-matrix maths is scalar Rust with `libm`, and the
//! sampler has its own generator ([`sampler`]).

pub mod backend;
pub mod gemma3;
pub mod sampler;
pub mod score;
pub mod tokenizer;

use std::fmt;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use candle_core::quantized::gguf_file::Content;
use sha2::{Digest, Sha256};

use crate::InferenceError;
pub use backend::BuiltinBackend;
use gemma3::{Gemma3, PROMPT_CHUNK};
pub use sampler::SamplingParams;
use sampler::{sample, Rng};
pub use score::{ScoreError, ScoreReport, ScoreRequest};
pub use tokenizer::{TokenKind, Tokenizer};

/// The engine name that goes into the runtime fingerprint.
pub const ENGINE: &str = "comqute-builtin-gemma3";
/// The candle version the engine is built on (part of the fingerprint).
pub const CANDLE_VERSION: &str = "0.11.1";
/// Bumped whenever a change to this engine can change its output bytes (part of the
/// fingerprint, so old and new results are never taken for exact replays of each other).
pub const NUMERICS_REVISION: u32 = 1;
/// The sampler's rules, named in the fingerprint (see [`sampler`]).
pub const SAMPLER_RULES: &str = "xoshiro256**/splitmix64; greedy@0; topk>softmax(f64)>topp>int40";

/// A generation request. Integers throughout, so requests hash and compare exactly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenerateRequest {
    /// The prompt, tokenized with BOS and with control tokens in the text recognised.
    pub prompt: String,
    /// At most this many tokens are generated.
    pub max_tokens: u32,
    /// The sampler's seed.
    pub seed: u64,
    /// Temperature in thousandths (800 = 0.8); 0 = greedy.
    pub temperature_milli: u32,
    /// Keep only the `top_k` most likely tokens; 0 = no limit.
    pub top_k: u32,
    /// Nucleus threshold in thousandths; 1000 = off.
    pub top_p_milli: u32,
    /// Generation stops before the first occurrence of any of these strings; the stop string
    /// is not part of the output.
    pub stop: Vec<String>,
}

impl GenerateRequest {
    /// A greedy request with no stop strings.
    pub fn greedy(prompt: impl Into<String>, max_tokens: u32) -> GenerateRequest {
        GenerateRequest {
            prompt: prompt.into(),
            max_tokens,
            seed: 0,
            temperature_milli: 0,
            top_k: 0,
            top_p_milli: 1000,
            stop: Vec::new(),
        }
    }

    /// The sampling part of the request, normalised: greedy ignores top-k and top-p, so they
    /// read as off (0 and 1000) and do not split fingerprints of identical runs.
    pub fn sampling(&self) -> SamplingParams {
        if self.temperature_milli == 0 {
            return SamplingParams {
                temperature_milli: 0,
                top_k: 0,
                top_p_milli: 1000,
            };
        }
        SamplingParams {
            temperature_milli: self.temperature_milli,
            top_k: self.top_k,
            top_p_milli: self.top_p_milli.min(1000),
        }
    }
}

/// Why a generation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DoneReason {
    /// The model produced an end-of-sequence or end-of-turn token, or a stop string appeared.
    Stop,
    /// `max_tokens` were generated, or the model's context is full.
    Length,
}

impl DoneReason {
    /// `"stop"` or `"length"`, as Ollama and OpenAI spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            DoneReason::Stop => "stop",
            DoneReason::Length => "length",
        }
    }
}

/// The result of a generation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Generation {
    /// The output text exactly as streamed (the bytes a result hash covers).
    pub text: String,
    /// Tokens sampled, including an end-of-generation token if one ended it.
    pub output_tokens: u32,
    /// Prompt tokens, BOS included.
    pub prompt_tokens: u32,
    /// Why it ended.
    pub done_reason: DoneReason,
    /// Time spent on the prompt.
    pub prompt_duration: Duration,
    /// Time spent generating after the prompt.
    pub generation_duration: Duration,
}

/// Options for [`BuiltinModel::load_with`].
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// Threads for candle's matrix kernels. Fixed for the whole process at first use; `None`
    /// keeps candle's choice (`CANDLE_NUM_THREADS`, `RAYON_NUM_THREADS`, else the physical
    /// cores). Output does not depend on it.
    pub threads: Option<usize>,
}

/// Fixes the number of threads candle's kernels use, when nothing has used them yet, and
/// returns the number in force. Call it early, before other threads start: candle reads the
/// count from the environment once per process.
pub fn configure_threads(threads: Option<usize>) -> Result<usize, InferenceError> {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        if let Some(n) = threads.filter(|&n| n > 0) {
            if std::env::var_os("CANDLE_NUM_THREADS").is_none() {
                std::env::set_var("CANDLE_NUM_THREADS", n.to_string());
            }
        }
    });
    let actual = candle_core::utils::barrier_pool().n_workers() + 1;
    match threads {
        Some(n) if n > 0 && n != actual => Err(InferenceError::InvalidRequest(format!(
            "candle already runs {actual} threads in this process (asked for {n}); set \
             CANDLE_NUM_THREADS before starting"
        ))),
        _ => Ok(actual),
    }
}

/// The SIMD class of this machine as candle's quantized kernels see it: results replay
/// exactly between machines of the same class.
pub fn hardware_class() -> String {
    #[cfg(target_arch = "x86_64")]
    {
        let level = if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512vnni")
        {
            "avx512vnni"
        } else if std::arch::is_x86_feature_detected!("avxvnni")
            && std::arch::is_x86_feature_detected!("avx2")
        {
            "avxvnni"
        } else if std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
        {
            "avx2"
        } else {
            "baseline"
        };
        // candle uses AMX tiles for large Q4_K products on AVX-512 VNNI machines that have
        // them; /proc/cpuinfo shows the flags on Linux (the CPUID test is unstable in std).
        let amx = level == "avx512vnni"
            && std::fs::read_to_string("/proc/cpuinfo")
                .map(|s| s.contains(" amx_int8") && s.contains(" amx_tile"))
                .unwrap_or(false);
        format!("x86_64-{level}{}", if amx { "+amx" } else { "" })
    }
    #[cfg(target_arch = "aarch64")]
    {
        let dot = if std::arch::is_aarch64_feature_detected!("dotprod") {
            "dotprod"
        } else {
            "neon"
        };
        let i8mm = if std::arch::is_aarch64_feature_detected!("i8mm") {
            "+i8mm"
        } else {
            ""
        };
        format!("aarch64-{dot}{i8mm}")
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        std::env::consts::ARCH.to_string()
    }
}

/// A 32-byte fingerprint of what produced a result: engine and version, model sha256,
/// sampling settings and rules, hardware class, and whether output is thread-independent.
/// Two results with equal fingerprints (and equal prompt, seed and limits) must be equal
/// byte for byte; a verifier compares fingerprints before trusting an exact replay.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RuntimeFingerprint(pub [u8; 32]);

impl RuntimeFingerprint {
    /// The fingerprint of a runtime description: blake3 over a length-prefixed encoding of
    /// each field, under the domain tag `comqute/runtime-fingerprint/v1`.
    pub fn compute(d: &RuntimeDescription) -> RuntimeFingerprint {
        let mut h = blake3::Hasher::new_derive_key("comqute/runtime-fingerprint/v1");
        let mut field = |b: &[u8]| {
            h.update(&(b.len() as u64).to_le_bytes());
            h.update(b);
        };
        field(d.engine.as_bytes());
        field(d.engine_version.as_bytes());
        field(&d.model_sha256);
        field(&d.sampling.temperature_milli.to_le_bytes());
        field(&d.sampling.top_k.to_le_bytes());
        field(&d.sampling.top_p_milli.to_le_bytes());
        field(d.sampler_rules.as_bytes());
        field(d.hardware_class.as_bytes());
        field(&[u8::from(d.thread_independent)]);
        RuntimeFingerprint(*h.finalize().as_bytes())
    }

    /// Lowercase hexadecimal, 64 characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for RuntimeFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for RuntimeFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RuntimeFingerprint({})", self.to_hex())
    }
}

/// What a [`RuntimeFingerprint`] is computed over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuntimeDescription {
    /// Engine name ([`ENGINE`]).
    pub engine: String,
    /// Engine version: this crate's and candle's.
    pub engine_version: String,
    /// sha256 of the model file.
    pub model_sha256: [u8; 32],
    /// Sampling settings.
    pub sampling: SamplingParams,
    /// The sampler's rules ([`SAMPLER_RULES`]).
    pub sampler_rules: String,
    /// [`hardware_class`].
    pub hardware_class: String,
    /// Whether output is the same for any thread count (true for this engine).
    pub thread_independent: bool,
}

/// A loaded GGUF Gemma 3 model with its tokenizer.
pub struct BuiltinModel {
    path: PathBuf,
    sha256: [u8; 32],
    tokenizer: Tokenizer,
    model: Gemma3,
    load_duration: Duration,
}

impl fmt::Debug for BuiltinModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BuiltinModel")
            .field("path", &self.path)
            .field("sha256", &hex::encode(self.sha256))
            .field("config", self.model.config())
            .finish()
    }
}

/// sha256 of a file, streamed.
pub fn sha256_file(path: &Path) -> Result<[u8; 32], InferenceError> {
    let mut f = File::open(path)
        .map_err(|e| InferenceError::io(format!("opening {}", path.display()), e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|e| InferenceError::io(format!("reading {}", path.display()), e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().into())
}

impl BuiltinModel {
    /// Loads a GGUF Gemma 3 file with default options.
    pub fn load(path: &Path) -> Result<BuiltinModel, InferenceError> {
        BuiltinModel::load_with(path, &LoadOptions::default())
    }

    /// Loads a GGUF Gemma 3 file: hashes it, reads the tokenizer and weights, and checks
    /// every tensor's presence and shape. A truncated or foreign file is an error naming the
    /// problem.
    pub fn load_with(path: &Path, opts: &LoadOptions) -> Result<BuiltinModel, InferenceError> {
        let started = Instant::now();
        configure_threads(opts.threads)?;
        let sha256 = sha256_file(path)?;
        let file = File::open(path)
            .map_err(|e| InferenceError::io(format!("opening {}", path.display()), e))?;
        let mut reader = BufReader::with_capacity(1 << 20, file);
        let ct = Content::read(&mut reader).map_err(|e| {
            InferenceError::bad_model(path, format!("not a readable GGUF file: {e}"))
        })?;
        let tokenizer =
            Tokenizer::from_gguf(&ct).map_err(|reason| InferenceError::bad_model(path, reason))?;
        let model = Gemma3::load(&ct, &mut reader, path)?;
        if tokenizer.vocab_size() != model.config().vocab {
            return Err(InferenceError::bad_model(
                path,
                format!(
                    "the vocabulary has {} tokens but the embedding {} rows",
                    tokenizer.vocab_size(),
                    model.config().vocab
                ),
            ));
        }
        Ok(BuiltinModel {
            path: path.to_path_buf(),
            sha256,
            tokenizer,
            model,
            load_duration: started.elapsed(),
        })
    }

    /// The file it was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// sha256 of the model file.
    pub fn sha256(&self) -> [u8; 32] {
        self.sha256
    }

    /// How long loading took.
    pub fn load_duration(&self) -> Duration {
        self.load_duration
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// The model's shape.
    pub fn config(&self) -> &gemma3::Gemma3Config {
        self.model.config()
    }

    /// What the fingerprint of a run with these sampling settings covers.
    pub fn runtime_description(&self, sampling: SamplingParams) -> RuntimeDescription {
        RuntimeDescription {
            engine: ENGINE.to_string(),
            engine_version: format!(
                "{}+candle-{CANDLE_VERSION}+r{NUMERICS_REVISION}",
                env!("CARGO_PKG_VERSION")
            ),
            model_sha256: self.sha256,
            sampling,
            sampler_rules: SAMPLER_RULES.to_string(),
            hardware_class: hardware_class(),
            thread_independent: true,
        }
    }

    /// The fingerprint of a run with these sampling settings.
    pub fn fingerprint(&self, sampling: SamplingParams) -> RuntimeFingerprint {
        RuntimeFingerprint::compute(&self.runtime_description(sampling))
    }

    /// Next-token logits after `prompt` (tokenized like a request's prompt): the whole
    /// vocabulary, for checks against other runtimes.
    pub fn prompt_logits(&self, prompt: &str) -> Result<Vec<f32>, InferenceError> {
        self.prompt_logits_chunked(prompt, PROMPT_CHUNK)
    }

    /// [`prompt_logits`](Self::prompt_logits) with the prompt run in chunks of `chunk`
    /// tokens (1 = one token at a time, as in generation). Different chunkings are equally
    /// right but round differently, which shows the numeric noise floor.
    pub fn prompt_logits_chunked(
        &self,
        prompt: &str,
        chunk: usize,
    ) -> Result<Vec<f32>, InferenceError> {
        let ids = self.tokenizer.encode(prompt, true, true);
        let mut state = self.model.new_state(ids.len());
        let mut logits = Vec::new();
        for c in ids.chunks(chunk.clamp(1, PROMPT_CHUNK)) {
            logits = self.model.forward(&mut state, c)?;
        }
        Ok(logits)
    }

    /// Runs a request, calling `on_text` with each new piece of output text as soon as it is
    /// certain (complete UTF-8, not possibly the start of a stop string). Returning `false`
    /// from the callback cancels the run with [`InferenceError::Cancelled`]. The pieces
    /// concatenate to exactly [`Generation::text`].
    pub fn generate(
        &self,
        req: &GenerateRequest,
        mut on_text: impl FnMut(&str) -> bool,
    ) -> Result<Generation, InferenceError> {
        let cfg = self.model.config();
        let prompt = self.tokenizer.encode(&req.prompt, true, true);
        if prompt.is_empty() {
            return Err(InferenceError::InvalidRequest(
                "the prompt is empty and the model adds no BOS".into(),
            ));
        }
        if prompt.len() >= cfg.context_length {
            return Err(InferenceError::InvalidRequest(format!(
                "the prompt has {} tokens; the model's context is {}",
                prompt.len(),
                cfg.context_length
            )));
        }
        if req.stop.iter().any(String::is_empty) {
            return Err(InferenceError::InvalidRequest(
                "an empty stop string".into(),
            ));
        }
        let params = req.sampling();
        // Room for the prompt and every generated token but the last (which is not fed back).
        let budget = (req.max_tokens as usize).min(cfg.context_length - prompt.len());
        let ctx = prompt.len() + budget.saturating_sub(1).max(1);
        let mut state = self.model.new_state(ctx.min(cfg.context_length));
        let mut rng = Rng::new(req.seed);
        let mut out = OutputText::new(&req.stop);

        let t0 = Instant::now();
        let mut logits = Vec::new();
        if budget > 0 {
            for chunk in prompt.chunks(PROMPT_CHUNK) {
                logits = self.model.forward(&mut state, chunk)?;
            }
        }
        let prompt_duration = t0.elapsed();
        let t1 = Instant::now();
        let mut produced = 0u32;
        let mut done = DoneReason::Length;
        while (produced as usize) < budget {
            let tok = sample(&logits, &params, &mut rng).map_err(|_| {
                InferenceError::InvalidRequest("the model produced NaN logits".into())
            })?;
            produced += 1;
            if self.tokenizer.is_end_of_generation(tok) {
                done = DoneReason::Stop;
                break;
            }
            let (piece, stopped) = out.push(&self.tokenizer.token_bytes(tok));
            if !piece.is_empty() && !on_text(&piece) {
                return Err(InferenceError::Cancelled);
            }
            if stopped {
                done = DoneReason::Stop;
                break;
            }
            if (produced as usize) < budget {
                logits = self.model.forward(&mut state, &[tok])?;
            }
        }
        if !out.stopped {
            let tail = out.finish();
            if !tail.is_empty() && !on_text(&tail) {
                return Err(InferenceError::Cancelled);
            }
        }
        Ok(Generation {
            text: out.text,
            output_tokens: produced,
            prompt_tokens: prompt.len() as u32,
            done_reason: done,
            prompt_duration,
            generation_duration: t1.elapsed(),
        })
    }
}

/// Turns token bytes into streamed text: holds back incomplete UTF-8 and any tail that could
/// still become a stop string; invalid UTF-8 becomes U+FFFD exactly as
/// `String::from_utf8_lossy` would render the whole output.
struct OutputText<'a> {
    stop: &'a [String],
    bytes: Vec<u8>,
    pending: String,
    text: String,
    stopped: bool,
}

impl<'a> OutputText<'a> {
    fn new(stop: &'a [String]) -> Self {
        OutputText {
            stop,
            bytes: Vec::new(),
            pending: String::new(),
            text: String::new(),
            stopped: false,
        }
    }

    /// Adds a token's bytes; returns the text now certain and whether a stop string was hit.
    fn push(&mut self, b: &[u8]) -> (String, bool) {
        self.bytes.extend_from_slice(b);
        self.decode_complete();
        if let Some(pos) = self
            .stop
            .iter()
            .filter_map(|s| self.pending.find(s.as_str()))
            .min()
        {
            let piece = self.pending[..pos].to_string();
            self.pending.clear();
            self.bytes.clear();
            self.text.push_str(&piece);
            self.stopped = true;
            return (piece, true);
        }
        let hold = self.held_back();
        let cut = self.pending.len() - hold;
        let piece: String = self.pending.drain(..cut).collect();
        self.text.push_str(&piece);
        (piece, false)
    }

    /// Moves complete UTF-8 from `bytes` to `pending`.
    fn decode_complete(&mut self) {
        loop {
            match std::str::from_utf8(&self.bytes) {
                Ok(s) => {
                    self.pending.push_str(s);
                    self.bytes.clear();
                    return;
                }
                Err(e) => {
                    let valid = e.valid_up_to();
                    // valid_up_to marks a UTF-8 boundary, so this slice is valid.
                    self.pending
                        .push_str(std::str::from_utf8(&self.bytes[..valid]).unwrap_or_default());
                    match e.error_len() {
                        Some(bad) => {
                            self.pending.push('\u{FFFD}');
                            self.bytes.drain(..valid + bad);
                        }
                        None => {
                            self.bytes.drain(..valid);
                            return;
                        }
                    }
                }
            }
        }
    }

    /// Length of the longest tail of `pending` that is a proper prefix of a stop string.
    fn held_back(&self) -> usize {
        let p = &self.pending;
        let mut best = 0;
        for s in self.stop {
            for (i, _) in p.char_indices() {
                let tail = &p[i..];
                if tail.len() < s.len() && s.starts_with(tail) {
                    best = best.max(tail.len());
                    break;
                }
            }
        }
        best
    }

    /// Flushes everything held back (an incomplete UTF-8 tail becomes U+FFFD).
    fn finish(&mut self) -> String {
        let mut piece = std::mem::take(&mut self.pending);
        if !self.bytes.is_empty() {
            piece.push_str(&String::from_utf8_lossy(&self.bytes));
            self.bytes.clear();
        }
        self.text.push_str(&piece);
        piece
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(stop: &[&str], tokens: &[&[u8]]) -> (Vec<String>, String, bool) {
        let stop: Vec<String> = stop.iter().map(|s| s.to_string()).collect();
        let mut o = OutputText::new(&stop);
        let mut pieces = Vec::new();
        let mut stopped = false;
        for t in tokens {
            let (p, s) = o.push(t);
            pieces.push(p);
            if s {
                stopped = true;
                break;
            }
        }
        if !stopped {
            pieces.push(o.finish());
        }
        (pieces, o.text.clone(), stopped)
    }

    #[test]
    fn split_utf8_waits_for_its_last_byte() {
        let (pieces, text, _) = stream(&[], &[b"a", &[0xE2, 0x82], &[0xAC], b"!"]);
        assert_eq!(pieces, ["a", "", "€", "!", ""]);
        assert_eq!(text, "a€!");
    }

    #[test]
    fn invalid_bytes_render_like_from_utf8_lossy() {
        let raw: &[&[u8]] = &[b"x", &[0xFF], b"y", &[0xE2, 0x82]];
        let (pieces, text, _) = stream(&[], raw);
        let all: Vec<u8> = raw.concat();
        assert_eq!(text, String::from_utf8_lossy(&all));
        assert_eq!(pieces.concat(), text);
    }

    #[test]
    fn stop_strings_cut_and_hold_back() {
        let (pieces, text, stopped) =
            stream(&["\n\nQ:"], &[b"Paris.", b"\n", b"\nQ", b":", b" more"]);
        assert!(stopped);
        assert_eq!(text, "Paris.");
        assert_eq!(pieces.concat(), "Paris.");
        let (_, text, stopped) = stream(&["\n\nQ:"], &[b"Paris.", b"\n", b"ok"]);
        assert!(!stopped);
        assert_eq!(text, "Paris.\nok");
    }

    #[test]
    fn fingerprint_changes_with_each_field() {
        let d = RuntimeDescription {
            engine: ENGINE.into(),
            engine_version: "0.1.0+candle-0.11.1".into(),
            model_sha256: [7; 32],
            sampling: SamplingParams {
                temperature_milli: 0,
                top_k: 0,
                top_p_milli: 1000,
            },
            sampler_rules: SAMPLER_RULES.into(),
            hardware_class: "x86_64-avx2".into(),
            thread_independent: true,
        };
        let base = RuntimeFingerprint::compute(&d);
        assert_eq!(base, RuntimeFingerprint::compute(&d.clone()));
        let mut e = d.clone();
        e.model_sha256[0] = 8;
        assert_ne!(base, RuntimeFingerprint::compute(&e));
        let mut e = d.clone();
        e.sampling.temperature_milli = 1;
        assert_ne!(base, RuntimeFingerprint::compute(&e));
        let mut e = d.clone();
        e.thread_independent = false;
        assert_ne!(base, RuntimeFingerprint::compute(&e));
        let mut e = d;
        e.hardware_class = "x86_64-avx512vnni".into();
        assert_ne!(base, RuntimeFingerprint::compute(&e));
        assert_eq!(base.to_hex().len(), 64);
    }
}

//! A deterministic stand-in for a language model: **not a language model**. Its output is a
//! sequence of words picked by blake3 from the model name, the prompt and the seed, so the same
//! request always gives the same bytes. The Ollama-compatible test server speaks with it, and
//! [`StandInBackend`] runs it in-process where no real model is available; anything that
//! shows its output must say it is a stand-in.
//!
//! The vocabulary mixes ASCII with multi-byte characters (accents, CJK, emoji) so that streams
//! built from it exercise UTF-8 handling.

use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use crate::backend::{
    Backend, DoneReason, GenerateRequest, Generation, ModelInfo, RuntimeInfo, Timings, TokenCount,
    TokenSink,
};
use crate::InferenceError;

/// The engine name of the stand-in, in runtime descriptions and logs.
pub const ENGINE: &str = "stand-in (not a language model)";

/// The model name the stand-in serves by default. It serves no other names than this one
/// and `stand-in:TAG`: it must never pass for a real model.
pub const MODEL: &str = "stand-in";

/// The first bytes of every runtime fingerprint the stand-in posts, so that the chain's
/// record says "stand-in" to anyone who reads it ([`is_stand_in_fingerprint`]).
pub const FINGERPRINT_PREFIX: &[u8; 8] = b"STAND-IN";

/// Whether `name` is a model name the stand-in may serve: `stand-in` or `stand-in:TAG`.
pub fn is_stand_in_model(name: &str) -> bool {
    name == MODEL
        || name
            .strip_prefix("stand-in:")
            .is_some_and(|tag| !tag.is_empty())
}

/// Whether a posted runtime fingerprint is the stand-in's.
pub fn is_stand_in_fingerprint(fp: &comqute_qpi::Hash32) -> bool {
    fp.0.starts_with(FINGERPRINT_PREFIX)
}

const WORDS: &[&str] = &[
    " the",
    " a",
    " ledger",
    " tick",
    " worker",
    " job",
    " escrow",
    " token",
    " quorum",
    " hash",
    " naïve",
    " café",
    " 日本語",
    " 🦀",
    " Ünïcödé",
    " ✓",
    " €5",
    " 한국어",
    " ok",
    ",",
    ".",
    " and",
    " of",
    " to",
    " 🚀",
    " ħ",
    " ﬁne",
    " Ω",
];

/// What the stand-in produces for one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Script {
    /// Output pieces, one per token; they concatenate to the output text.
    pub pieces: Vec<String>,
    /// Tokens "sampled": the pieces, plus any a stop string cut away entirely.
    pub tokens: u32,
    /// `Stop` when the script ended by itself or at a stop string, `Length` at `max_tokens`.
    pub done_reason: DoneReason,
}

impl Script {
    /// The whole output text.
    pub fn text(&self) -> String {
        self.pieces.concat()
    }
}

/// The stand-in's output for `model`, `prompt` and `seed`: at most `max_tokens` pieces, cut
/// before the first stop string (the pieces that reach into it are shortened, and still
/// counted as tokens).
pub fn script(model: &str, prompt: &str, seed: u64, max_tokens: u32, stop: &[String]) -> Script {
    let mut h = blake3::Hasher::new_derive_key("comqute/stand-in/v1");
    h.update(&(model.len() as u64).to_le_bytes());
    h.update(model.as_bytes());
    h.update(&(prompt.len() as u64).to_le_bytes());
    h.update(prompt.as_bytes());
    h.update(&seed.to_le_bytes());
    let mut xof = h.finalize_xof();
    let mut next = || {
        let mut b = [0u8; 4];
        xof.fill(&mut b);
        u32::from_le_bytes(b)
    };
    let natural = 6 + next() % 26;
    let first_stop = |text: &str| {
        stop.iter()
            .filter(|s| !s.is_empty())
            .filter_map(|s| text.find(s.as_str()))
            .min()
    };
    let mut pieces: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut tokens = 0u32;
    let mut done_reason = DoneReason::Stop;
    for i in 0..natural {
        if i >= max_tokens {
            done_reason = DoneReason::Length;
            break;
        }
        let w = WORDS[next() as usize % WORDS.len()];
        // The very first word has no leading space.
        let piece = if i == 0 { w.trim_start() } else { w };
        text.push_str(piece);
        pieces.push(piece.to_string());
        tokens += 1;
        if let Some(at) = first_stop(&text) {
            // Cut the pieces back to `text[..at]`. `at` is a character boundary of `text` and
            // every piece starts on one, so each cut is on a character boundary of its piece.
            let mut acc = 0;
            for p in pieces.iter_mut() {
                let end = acc + p.len();
                if end > at {
                    p.truncate(at.saturating_sub(acc));
                }
                acc = end;
            }
            pieces.retain(|p| !p.is_empty());
            break;
        }
    }
    Script {
        pieces,
        tokens,
        done_reason,
    }
}

/// The prompt text the stand-in (and the test server) derives chat output from:
/// `role: content\n` per message.
pub fn chat_prompt<'a>(messages: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut s = String::new();
    for (role, content) in messages {
        s.push_str(role);
        s.push_str(": ");
        s.push_str(content);
        s.push('\n');
    }
    s
}

/// The stand-in as an in-process [`Backend`]: labelled `stand-in` everywhere, exact replay
/// guaranteed (it is a hash, not a model).
#[derive(Clone, Debug)]
pub struct StandInBackend {
    models: Vec<String>,
    token_delay: Duration,
}

impl StandInBackend {
    /// A stand-in serving the given model names, with no delay between tokens. Every name
    /// must be `stand-in` or `stand-in:TAG` ([`is_stand_in_model`]): the stand-in is not a
    /// language model and must not be served, or paid, under a real model's name.
    pub fn new(models: Vec<String>) -> Result<StandInBackend, InferenceError> {
        if let Some(bad) = models.iter().find(|m| !is_stand_in_model(m)) {
            return Err(InferenceError::InvalidRequest(format!(
                "the stand-in is not a language model and serves only the model names \"stand-in\" or \"stand-in:TAG\", not {bad:?}; use a real backend for {bad}"
            )));
        }
        Ok(StandInBackend {
            models,
            token_delay: Duration::ZERO,
        })
    }

    /// The same stand-in waiting `d` before each token, like a slow model.
    pub fn with_token_delay(mut self, d: Duration) -> StandInBackend {
        self.token_delay = d;
        self
    }
}

#[async_trait]
impl Backend for StandInBackend {
    fn name(&self) -> &str {
        "stand-in"
    }

    fn endpoint(&self) -> String {
        "in-process (a deterministic stand-in, not a language model)".to_string()
    }

    async fn models(&self) -> Result<Vec<ModelInfo>, InferenceError> {
        Ok(self
            .models
            .iter()
            .map(|m| ModelInfo {
                name: m.clone(),
                family: Some("stand-in".into()),
                ..ModelInfo::default()
            })
            .collect())
    }

    async fn generate(
        &self,
        req: &GenerateRequest,
        sink: TokenSink,
    ) -> Result<Generation, InferenceError> {
        req.validate()?;
        if !self.models.iter().any(|m| m == &req.model) {
            return Err(InferenceError::InvalidRequest(format!(
                "the stand-in serves {:?}, not {:?}",
                self.models, req.model
            )));
        }
        let started = Instant::now();
        let prompt = match &req.messages {
            Some(m) => chat_prompt(m.iter().map(|m| (m.role.as_str(), m.content.as_str()))),
            None => req.prompt.clone(),
        };
        let s = script(&req.model, &prompt, req.seed, req.max_tokens, &req.stop);
        let mut first_token = None;
        for p in &s.pieces {
            if !self.token_delay.is_zero() {
                tokio::time::sleep(self.token_delay).await;
            }
            first_token.get_or_insert_with(|| started.elapsed());
            sink.send(p);
        }
        Ok(Generation {
            text: s.text(),
            output_tokens: s.tokens,
            token_count: TokenCount::Reported,
            prompt_tokens: None,
            done_reason: s.done_reason,
            timings: Timings {
                wall: started.elapsed(),
                first_token,
                ..Timings::default()
            },
            runtime: stand_in_runtime(req),
        })
    }

    fn replay_runtime(&self, req: &GenerateRequest) -> Option<RuntimeInfo> {
        Some(stand_in_runtime(req))
    }
}

/// The runtime the stand-in reports for `req` (deterministic: exact replay), its fingerprint
/// marked with [`FINGERPRINT_PREFIX`].
fn stand_in_runtime(req: &GenerateRequest) -> RuntimeInfo {
    let mut r = RuntimeInfo::describe(ENGINE, env!("CARGO_PKG_VERSION"), "", true, req);
    r.fingerprint.0[..FINGERPRINT_PREFIX.len()].copy_from_slice(FINGERPRINT_PREFIX);
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_only_stand_in_names() {
        assert!(StandInBackend::new(vec!["stand-in".into(), "stand-in:demo".into()]).is_ok());
        for real in ["gemma3:270m", "llama3.2:1b", "stand-in:", "stand-inx"] {
            let e = StandInBackend::new(vec![real.into()]).unwrap_err();
            assert!(e.to_string().contains("not a language model"), "{e}");
        }
    }

    #[test]
    fn same_inputs_same_bytes() {
        let a = script("m", "p", 1, 100, &[]);
        assert_eq!(a, script("m", "p", 1, 100, &[]));
        assert_ne!(a.text(), script("m", "p", 2, 100, &[]).text());
        assert_ne!(a.text(), script("n", "p", 1, 100, &[]).text());
        assert_ne!(a.text(), script("m", "q", 1, 100, &[]).text());
        assert_eq!(a.done_reason, DoneReason::Stop);
        assert!(a.pieces.len() >= 6);
    }

    #[test]
    fn max_tokens_cuts_with_length() {
        let s = script("m", "p", 1, 3, &[]);
        assert_eq!(s.pieces.len(), 3);
        assert_eq!(s.done_reason, DoneReason::Length);
        assert_eq!(s.text(), script("m", "p", 1, 100, &[]).pieces[..3].concat());
    }

    #[test]
    fn stop_strings_cut_before_them() {
        let full = script("m", "p", 7, 100, &[]).text();
        // Stop at the third piece's text.
        let p = script("m", "p", 7, 100, &[]).pieces[2].clone();
        let s = script("m", "p", 7, 100, std::slice::from_ref(&p));
        let at = full.find(&p).unwrap();
        assert_eq!(s.text(), full[..at]);
        assert_eq!(s.done_reason, DoneReason::Stop);
    }

    #[test]
    fn some_script_has_multibyte_text() {
        let any = (0..50).any(|seed| {
            script("m", "p", seed, 100, &[]).text().len()
                > script("m", "p", seed, 100, &[]).text().chars().count()
        });
        assert!(any);
    }

    #[tokio::test]
    async fn backend_streams_exactly_its_text() {
        let b = StandInBackend::new(vec!["stand-in:m".into()]).unwrap();
        let (sink, mut rx) = TokenSink::channel();
        let g = b
            .generate(
                &GenerateRequest::new("stand-in:m", "hello", 50).with_seed(3),
                sink,
            )
            .await
            .unwrap();
        let mut streamed = String::new();
        while let Ok(p) = rx.try_recv() {
            streamed.push_str(&p);
        }
        assert_eq!(streamed, g.text);
        assert_eq!(g.text, script("stand-in:m", "hello", 3, 50, &[]).text());
        assert!(g.runtime.exact_replay);
        assert!(is_stand_in_fingerprint(&g.runtime.fingerprint));
        assert!(b
            .generate(&GenerateRequest::new("x", "hello", 5), TokenSink::discard())
            .await
            .is_err());
    }
}

//! Teacher-forced scoring: how well a claimed output agrees with the built-in model, for
//! results that cannot be replayed bit-exactly (issue 18, "verification by rule").
//!
//! A replica that cannot regenerate a result byte for byte (it came from Ollama or llama.cpp,
//! whose kernels round differently) scores it instead: **one** forward pass over prompt +
//! claimed tokens, batched over all positions like prompt processing, and at each claimed
//! position the **rank** of the claimed token among the model's logits there (0 = the model's
//! own greedy choice). The score is the share of claimed tokens whose rank is below `top_k`,
//! in basis points ([`ScoreReport::agreement_bps`]).
//!
//! ```no_run
//! use comqute_inference::builtin::score::{ScoreRequest, PASS_BPS_GREEDY};
//! use comqute_inference::builtin::BuiltinModel;
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let model = BuiltinModel::load(std::path::Path::new("gemma-3-270m-q4_k_m.gguf"))?;
//! let report = model.score(&ScoreRequest::new("The capital of France is", " Paris."))?;
//! println!("{}/{} in top-{}: {} bps", report.in_top_k, report.tokens, report.top_k,
//!          report.agreement_bps);
//! assert!(report.passes(PASS_BPS_GREEDY));
//! # Ok(()) }
//! ```
//!
//! ## Tokenization
//! The prompt is tokenized exactly as [`BuiltinModel::generate`] tokenizes a request's prompt
//! (BOS added, control tokens written in the text recognised); a chat request is first
//! flattened the way the built-in backend does it ([`ScoreRequest::for_backend_request`]).
//! The claimed text is tokenized with the same tokenizer **without** BOS and **without**
//! recognising control tokens: a runtime renders control tokens as nothing, so any
//! `<start_of_turn>` in an output was spelled by ordinary tokens, and a claim cannot smuggle
//! control tokens in. Other runtimes may have split the text into tokens differently (a
//! non-canonical split); re-tokenizing gives the canonical split, which the model nearly
//! always ranks as high.
//!
//! ## Determinism
//! Scoring is deterministic on one hardware class like generation: the prompt is run in the
//! same chunks as [`BuiltinModel::generate`] runs it (so the first claimed token is judged on
//! the very logits generation samples from), then the claimed tokens in chunks of 256, with
//! the output head over 32 positions at a time. Later positions are computed in batches where
//! generation goes one token at a time, which rounds differently (see
//! [`BuiltinModel::prompt_logits_chunked`]): ranks of near-ties can differ from generation's.
//!
//! ## Edge cases
//! - An **empty claim** scores vacuously: 0 tokens, 0 in top-k, **10,000 bps** (nothing
//!   disagrees). The scorer has nothing to judge; a contract that does not want empty
//!   outputs rejects them on the posted token count, not here.
//! - A claim that does not fit the model's context with its prompt (prompt + claimed tokens >
//!   context, the same bound generation obeys) is [`ScoreError::ClaimTooLong`].
//! - Bytes that are not UTF-8 ([`BuiltinModel::score_bytes`]) are [`ScoreError::ClaimNotUtf8`];
//!   token ids outside the vocabulary ([`BuiltinModel::score_ids`]) are
//!   [`ScoreError::ClaimTokenOutOfVocab`]. [`ScoreError::is_claim_fault`] tells these (the
//!   claim is wrong) from a failure of the scoring replica itself.
//!
//! ## Calibration (Gemma 3 270M Q4_K_M, x86_64-avx2, top-k = 8)
//! Measured with `cargo test --release -p comqute-inference --test score -- --ignored
//! --nocapture` (`calibration_table`): 16 prompts (plain completions, code, SQL, French,
//! chat-formatted), 128 output tokens each, scored by this scorer. Sampled runs use seed 42;
//! the built-in one with top-k 40 and top-p 0.95, llama-server (llama.cpp 11434) with its
//! default sampler chain. "Corrupted" is the same output with 10 % of its tokens replaced by
//! random ordinary vocabulary entries, re-rendered as text and scored as text.
//!
//! | output (n = 16 each)                       | min bps | median bps | max bps |
//! |--------------------------------------------|--------:|-----------:|--------:|
//! | built-in, greedy                           | 10,000  | 10,000     | 10,000  |
//! | built-in, temperature 0.7, seeded          |  9,453  |  9,921     | 10,000  |
//! | llama-server, temperature 0                | 10,000  | 10,000     | 10,000  |
//! | llama-server, temperature 0.7, seeded      |  9,296  |  9,765     | 10,000  |
//! | built-in greedy, 10 % corrupted            |  7,890  |  8,281     |  8,750  |
//! | built-in t0.7, 10 % corrupted              |  7,384  |  8,139     |  8,750  |
//! | llama-server t0, 10 % corrupted            |  8,046  |  8,294     |  8,750  |
//! | llama-server t0.7, 10 % corrupted          |  7,265  |  7,890     |  8,671  |
//!
//! Replaced tokens essentially never land in the top 8, so corrupting a fraction `f` of the
//! tokens costs at least `f` of the score, plus the disagreement the corruption causes at the
//! following positions. llama.cpp's greedy choice differs from the built-in one only at near
//! ties (see `tests/reference.rs`), where its token is still in our top 8, so greedy output
//! from either runtime scored 10,000 everywhere. Hence:
//! - [`PASS_BPS_GREEDY`] = 9,500: 5 % slack under every honest greedy result, 750 bps above
//!   the best 10 %-corrupted one; a greedy claim with more than ~5 % made-up tokens fails.
//! - [`PASS_BPS_SAMPLED`] = 9,000 for seeded sampling up to temperature 0.7: 296 bps under
//!   the worst honest sampled result (llama-server's sampler strays outside our top 8 more
//!   often than ours: ~2.5 % of tokens at the median), 250 bps above the best corrupted one.
//!   Out-of-top-8 picks at 0.7 are rare and roughly independent, so over 128 tokens the
//!   honest score's spread is about ±140 bps (one standard deviation); 9,000 is over five
//!   standard deviations below the median.
//!
//! The thresholds assume outputs of some length (here 128 tokens): a 10-token claim moves
//! 1,000 bps per token, so one honest stray token fails it at 9,500. Hotter sampling needs
//! its own, lower threshold (uncalibrated here).
//!
//! ## Speed
//! One pass, batched like prompt processing: the transformer blocks run in chunks of 256
//! positions and the output head (262,144 × 640, tied embeddings) in blocks of 32 positions.
//! On this 2-core AVX2 machine the pass is compute-bound in candle's quantized kernels, whose
//! multi-row path is a tiled loop of dot products rather than a blocked GEMM, so batching
//! gains little: scoring runs at roughly the speed of generation, not the 10× the issue asks
//! for. `comqute bench inference --max-tokens 128`, five runs on an idle machine: generation
//! 53–58 tokens/s, scoring the same 128 tokens 56.4–57.4 tokens/s (ratio 0.98–1.06), prompt
//! processing (blocks only, one head row) ~205 tokens/s. So the blocks cost ~5 ms a position
//! and the output head ~12 ms (168M of ~270M multiply-adds a position): a faster scorer needs
//! a cheaper head (a blocked GEMM, or heading only sampled positions), not more batching.

use std::time::{Duration, Instant};

use super::gemma3::PROMPT_CHUNK;
use super::BuiltinModel;
use crate::InferenceError;

/// The default top-k: a claimed token agrees when the model ranks it among its 8 most likely.
pub const DEFAULT_TOP_K: u32 = 8;
/// Pass threshold, in basis points of claimed tokens in the top-k, for results generated at
/// temperature 0 (greedy), on any runtime. See the calibration table in the module docs.
pub const PASS_BPS_GREEDY: u16 = 9_500;
/// Pass threshold, in basis points, for results sampled with a seed at temperatures up to
/// 0.7 (700 milli). See the calibration table in the module docs.
pub const PASS_BPS_SAMPLED: u16 = 9_000;
/// The highest temperature [`PASS_BPS_SAMPLED`] was calibrated for, in thousandths.
pub const SAMPLED_CALIBRATED_MAX_TEMPERATURE_MILLI: u32 = 700;

/// The pass threshold for a result generated at `temperature_milli`: [`PASS_BPS_GREEDY`] at
/// 0, else [`PASS_BPS_SAMPLED`]. Above [`SAMPLED_CALIBRATED_MAX_TEMPERATURE_MILLI`] the
/// threshold is uncalibrated (honest outputs score lower the hotter they were sampled).
pub fn pass_bps_for(temperature_milli: u32) -> u16 {
    if temperature_milli == 0 {
        PASS_BPS_GREEDY
    } else {
        PASS_BPS_SAMPLED
    }
}

/// Upper bounds (inclusive) of the rank buckets of [`ScoreReport::rank_histogram`]; the last
/// bucket holds every larger rank.
pub const RANK_BUCKETS: [u32; 7] = [0, 1, 3, 7, 15, 63, 255];

/// What to score: a prompt and the output claimed for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScoreRequest {
    /// The prompt, exactly as a built-in [`GenerateRequest`](super::GenerateRequest) would
    /// carry it (tokenized with BOS and with control tokens recognised).
    pub prompt: String,
    /// The claimed output text (tokenized without BOS, control tokens not recognised).
    pub claimed: String,
    /// A claimed token agrees when fewer than `top_k` tokens have a higher logit at its
    /// position. At least 1.
    pub top_k: u32,
}

impl ScoreRequest {
    /// A request with [`DEFAULT_TOP_K`].
    pub fn new(prompt: impl Into<String>, claimed: impl Into<String>) -> ScoreRequest {
        ScoreRequest {
            prompt: prompt.into(),
            claimed: claimed.into(),
            top_k: DEFAULT_TOP_K,
        }
    }

    /// The request that scores `claimed` as the output of a backend request (a job's request,
    /// [`crate::job`]): chat messages are flattened into the prompt exactly as the built-in
    /// backend flattens them for generation.
    pub fn for_backend_request(
        req: &crate::backend::GenerateRequest,
        claimed: impl Into<String>,
    ) -> ScoreRequest {
        ScoreRequest::new(super::BuiltinBackend::builtin_request(req).prompt, claimed)
    }
}

/// The result of scoring a claim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScoreReport {
    /// Prompt tokens, BOS included.
    pub prompt_tokens: u32,
    /// Claimed tokens scored.
    pub tokens: u32,
    /// The top-k used.
    pub top_k: u32,
    /// Claimed tokens whose rank is below `top_k`.
    pub in_top_k: u32,
    /// `in_top_k * 10_000 / tokens`, rounded down; 10,000 for an empty claim.
    pub agreement_bps: u16,
    /// Each claimed token's rank: how many vocabulary entries had a strictly higher logit at
    /// its position (0 = the model's first choice; ties count in the claim's favour).
    pub ranks: Vec<u32>,
    /// Wall time of the scoring (tokenizing, the forward pass, the ranks).
    pub elapsed: Duration,
}

impl ScoreReport {
    /// Whether the claim reaches `threshold_bps` ([`PASS_BPS_GREEDY`], [`PASS_BPS_SAMPLED`]).
    pub fn passes(&self, threshold_bps: u16) -> bool {
        self.agreement_bps >= threshold_bps
    }

    /// The median rank (the lower middle for an even count); 0 for an empty claim.
    pub fn median_rank(&self) -> u32 {
        let mut r = self.ranks.clone();
        r.sort_unstable();
        r.get(r.len().saturating_sub(1) / 2).copied().unwrap_or(0)
    }

    /// The largest rank; 0 for an empty claim.
    pub fn max_rank(&self) -> u32 {
        self.ranks.iter().copied().max().unwrap_or(0)
    }

    /// How many ranks fall in each bucket of [`RANK_BUCKETS`] (rank ≤ bound, above the
    /// previous bound), with one more bucket for ranks above the last bound.
    pub fn rank_histogram(&self) -> [u32; RANK_BUCKETS.len() + 1] {
        let mut h = [0u32; RANK_BUCKETS.len() + 1];
        for &r in &self.ranks {
            let b = RANK_BUCKETS
                .iter()
                .position(|&bound| r <= bound)
                .unwrap_or(RANK_BUCKETS.len());
            h[b] += 1;
        }
        h
    }

    /// Claimed tokens per second of scoring.
    pub fn tokens_per_s(&self) -> f64 {
        f64::from(self.tokens) / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Why a claim could not be scored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScoreError {
    /// Prompt and claim together do not fit the model's context.
    #[error(
        "the claim has {claimed_tokens} tokens after a prompt of {prompt_tokens}; the model's \
         context is {context}"
    )]
    ClaimTooLong {
        /// Prompt tokens, BOS included.
        prompt_tokens: usize,
        /// Claimed tokens.
        claimed_tokens: usize,
        /// The model's context length.
        context: usize,
    },
    /// The claimed bytes are not UTF-8.
    #[error("the claim is not UTF-8 (valid up to byte {valid_up_to})")]
    ClaimNotUtf8 {
        /// Length of the longest valid UTF-8 prefix.
        valid_up_to: usize,
    },
    /// A claimed token id is not in the vocabulary.
    #[error("claimed token id {id} is outside the vocabulary of {vocab}")]
    ClaimTokenOutOfVocab {
        /// The id.
        id: u32,
        /// The vocabulary size.
        vocab: usize,
    },
    /// The request cannot be scored as given (`top_k` of 0, an empty prompt, a prompt that
    /// fills the context by itself).
    #[error("invalid score request: {0}")]
    InvalidRequest(String),
    /// The runtime failed (a tensor error, NaN logits): the replica's problem, not the claim's.
    #[error(transparent)]
    Runtime(#[from] InferenceError),
}

impl ScoreError {
    /// Whether the claim itself is at fault (too long for the context, not UTF-8, a token id
    /// outside the vocabulary), so that a verifier may count it as failed; false when the
    /// request or the scoring replica is at fault. A claim longer than the context cannot
    /// come from an honest built-in run; other runtimes that shift their context could
    /// produce one, which a market avoids by bounding `max_tokens` by the context.
    pub fn is_claim_fault(&self) -> bool {
        matches!(
            self,
            ScoreError::ClaimTooLong { .. }
                | ScoreError::ClaimNotUtf8 { .. }
                | ScoreError::ClaimTokenOutOfVocab { .. }
        )
    }
}

/// How many entries of `logits` are strictly above the one at `target`. NaN entries never
/// count; a NaN at `target` is an error.
fn rank_of(logits: &[f32], target: u32) -> Result<u32, InferenceError> {
    let t = logits
        .get(target as usize)
        .copied()
        .filter(|t| !t.is_nan())
        .ok_or_else(|| {
            InferenceError::InvalidRequest("the model produced NaN logits while scoring".into())
        })?;
    let above = logits.iter().filter(|&&l| l > t).count();
    // A vocabulary has far fewer than 2^32 entries (the embedding's rows are a usize that
    // Gemma3::load checked; 262,144 for Gemma 3).
    Ok(u32::try_from(above).unwrap_or(u32::MAX))
}

fn bps(part: u32, whole: u32) -> u16 {
    if whole == 0 {
        return 10_000;
    }
    // part <= whole, so the quotient is at most 10,000.
    u16::try_from(u64::from(part) * 10_000 / u64::from(whole)).unwrap_or(10_000)
}

impl BuiltinModel {
    /// Scores a claimed output text against `req.prompt`: one batched forward pass over
    /// prompt + claim, the rank of every claimed token at its position, and the share of
    /// claimed tokens in the model's top-k. See the [module docs](self).
    pub fn score(&self, req: &ScoreRequest) -> Result<ScoreReport, ScoreError> {
        let started = Instant::now();
        let claimed = self.tokenizer.encode(&req.claimed, false, false);
        self.score_ids_since(&req.prompt, &claimed, req.top_k, started)
    }

    /// [`score`](Self::score) for a claim received as bytes: non-UTF-8 bytes are
    /// [`ScoreError::ClaimNotUtf8`] (a result hash covers UTF-8 text, so no honest result has
    /// them).
    pub fn score_bytes(
        &self,
        prompt: &str,
        claimed: &[u8],
        top_k: u32,
    ) -> Result<ScoreReport, ScoreError> {
        let text = std::str::from_utf8(claimed).map_err(|e| ScoreError::ClaimNotUtf8 {
            valid_up_to: e.valid_up_to(),
        })?;
        self.score(&ScoreRequest {
            prompt: prompt.to_string(),
            claimed: text.to_string(),
            top_k,
        })
    }

    /// Scores claimed token ids directly (no re-tokenization of the claim), for a verifier
    /// that holds the ids the built-in tokenizer gives.
    pub fn score_ids(
        &self,
        prompt: &str,
        claimed: &[u32],
        top_k: u32,
    ) -> Result<ScoreReport, ScoreError> {
        self.score_ids_since(prompt, claimed, top_k, Instant::now())
    }

    fn score_ids_since(
        &self,
        prompt: &str,
        claimed: &[u32],
        top_k: u32,
        started: Instant,
    ) -> Result<ScoreReport, ScoreError> {
        let cfg = self.model.config();
        if top_k == 0 {
            return Err(ScoreError::InvalidRequest(
                "top_k must be at least 1".into(),
            ));
        }
        let prompt_ids = self.tokenizer.encode(prompt, true, true);
        if prompt_ids.is_empty() {
            return Err(ScoreError::InvalidRequest(
                "the prompt is empty and the model adds no BOS".into(),
            ));
        }
        if prompt_ids.len() >= cfg.context_length {
            return Err(ScoreError::InvalidRequest(format!(
                "the prompt has {} tokens; the model's context is {}",
                prompt_ids.len(),
                cfg.context_length
            )));
        }
        if let Some(&id) = claimed.iter().find(|&&t| t as usize >= cfg.vocab) {
            return Err(ScoreError::ClaimTokenOutOfVocab {
                id,
                vocab: cfg.vocab,
            });
        }
        // Generation's bound: the prompt and every generated token fit the context.
        if prompt_ids.len() + claimed.len() > cfg.context_length {
            return Err(ScoreError::ClaimTooLong {
                prompt_tokens: prompt_ids.len(),
                claimed_tokens: claimed.len(),
                context: cfg.context_length,
            });
        }
        // Both lengths are below the context length, which a GGUF stores as 32 bits.
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        let mut ranks = Vec::with_capacity(claimed.len());
        if let Some((_, fed_claim)) = claimed.split_last() {
            // Positions fed: the prompt and every claimed token but the last. The logits at
            // position `first + i` judge claimed token i.
            let first = prompt_ids.len() - 1;
            let mut state = self.model.new_state(prompt_ids.len() + fed_claim.len());
            let mut offset = 0;
            let chunks = prompt_ids
                .chunks(PROMPT_CHUNK)
                .chain(fed_claim.chunks(PROMPT_CHUNK));
            for chunk in chunks {
                let from = first.saturating_sub(offset);
                self.model
                    .forward_each(&mut state, chunk, from, |row, logits| {
                        let target = claimed[offset + row - first];
                        ranks.push(rank_of(logits, target)?);
                        Ok(())
                    })?;
                offset += chunk.len();
            }
        }
        let in_top_k = count(ranks.iter().filter(|&&r| r < top_k).count());
        let tokens = count(ranks.len());
        Ok(ScoreReport {
            prompt_tokens: count(prompt_ids.len()),
            tokens,
            top_k,
            in_top_k,
            agreement_bps: bps(in_top_k, tokens),
            ranks,
            elapsed: started.elapsed(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_counts_strictly_higher_logits() {
        let l = [0.5, 2.0, 1.0, 2.0, f32::NAN, -1.0];
        assert_eq!(rank_of(&l, 1).ok(), Some(0));
        assert_eq!(rank_of(&l, 3).ok(), Some(0));
        assert_eq!(rank_of(&l, 2).ok(), Some(2));
        assert_eq!(rank_of(&l, 5).ok(), Some(4));
        assert!(rank_of(&l, 4).is_err());
        assert!(rank_of(&l, 6).is_err());
    }

    #[test]
    fn bps_rounds_down_and_empty_is_full() {
        assert_eq!(bps(0, 0), 10_000);
        assert_eq!(bps(2, 3), 6_666);
        assert_eq!(bps(7, 7), 10_000);
        assert_eq!(bps(0, 5), 0);
    }

    #[test]
    fn report_statistics() {
        let r = ScoreReport {
            prompt_tokens: 3,
            tokens: 5,
            top_k: 2,
            in_top_k: 3,
            agreement_bps: 6_000,
            ranks: vec![0, 1, 0, 9, 300],
            elapsed: Duration::from_millis(1),
        };
        assert_eq!(r.median_rank(), 1);
        assert_eq!(r.max_rank(), 300);
        assert_eq!(r.rank_histogram(), [2, 1, 0, 0, 1, 0, 0, 1]);
        assert!(r.passes(6_000) && !r.passes(6_001));
        assert_eq!(pass_bps_for(0), PASS_BPS_GREEDY);
        assert_eq!(pass_bps_for(700), PASS_BPS_SAMPLED);
    }
}

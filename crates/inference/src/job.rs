//! How an on-chain job becomes a generation request: one rule, shared by the worker that runs
//! a job and the verifier that replays it (`comqute job replay`), so both ask the model the
//! same thing.
//!
//! A job stores its model (by id), the prompt's hash, the most output tokens paid for, a seed
//! and a temperature in thousandths. Everything else is fixed here, for every job: the
//! prompt is sent as a completion prompt through the model's own template (no chat
//! messages), with top-k [`JOB_TOP_K`], top-p [`JOB_TOP_P_MILLI`] thousandths, and no stop
//! strings. The runtime fingerprint a worker posts covers these settings, so a change here
//! shows as a different fingerprint instead of a silent mismatch.

use comqute_market::job_registry::JobSpec;

use crate::backend::GenerateRequest;
use crate::InferenceError;

/// Top-k used for every job (Ollama's default; 0 would be no limit).
pub const JOB_TOP_K: u32 = 40;
/// Top-p used for every job, in thousandths.
pub const JOB_TOP_P_MILLI: u32 = 950;

/// The request that runs job `spec` on the model the backend calls `model_name`, with the
/// prompt the job's `prompt_hash` names (its bytes, already checked against the hash).
/// A prompt that is not UTF-8 is refused: no backend can take it.
pub fn request_for_job(
    spec: &JobSpec,
    model_name: &str,
    prompt: &[u8],
) -> Result<GenerateRequest, InferenceError> {
    let prompt = std::str::from_utf8(prompt).map_err(|e| {
        InferenceError::InvalidRequest(format!("the job's prompt is not UTF-8 text: {e}"))
    })?;
    let req = GenerateRequest {
        top_k: JOB_TOP_K,
        top_p_milli: JOB_TOP_P_MILLI,
        ..GenerateRequest::new(model_name, prompt, spec.max_output_tokens)
            .with_seed(spec.sampling.seed)
            .with_temperature_milli(u32::from(spec.sampling.temperature_milli))
    };
    req.validate()?;
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;
    use comqute_market::job_registry::Sampling;
    use comqute_qpi::{Amount, Hash32};

    fn spec() -> JobSpec {
        JobSpec {
            model: Hash32::of(b"m"),
            prompt_hash: Hash32::of(b"p"),
            prompt_size: 1,
            max_output_tokens: 64,
            max_price_per_1k: Amount(1),
            timeout_ticks: 10,
            min_reputation: 0,
            sampling: Sampling {
                seed: 7,
                temperature_milli: 700,
            },
        }
    }

    #[test]
    fn a_job_maps_to_one_request() {
        let r = request_for_job(&spec(), "gemma3:270m", b"Once upon a time").unwrap();
        assert_eq!(r.model, "gemma3:270m");
        assert_eq!(r.prompt, "Once upon a time");
        assert_eq!((r.max_tokens, r.seed, r.temperature_milli), (64, 7, 700));
        assert_eq!((r.top_k, r.top_p_milli), (JOB_TOP_K, JOB_TOP_P_MILLI));
        assert!(r.stop.is_empty() && r.messages.is_none() && !r.raw);
    }

    #[test]
    fn a_prompt_that_is_not_text_is_refused() {
        let e = request_for_job(&spec(), "m", &[0xff, 0xfe]).unwrap_err();
        assert!(e.to_string().contains("not UTF-8"), "{e}");
    }
}

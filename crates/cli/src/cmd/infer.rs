//! `comqute infer`: one local generation on the built-in runtime, streamed to stdout.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use comqute_inference::builtin::GenerateRequest;
use serde_json::json;

/// Options of `comqute infer`.
#[derive(Args)]
pub struct InferArgs {
    /// The built-in model (`gemma3:270m`); installed with `comqute models install`.
    #[arg(long, default_value = "gemma3:270m")]
    pub model: String,
    /// Use this GGUF file instead of the installed model.
    #[arg(long, value_name = "FILE")]
    pub gguf: Option<PathBuf>,
    /// The prompt (a completion prompt: the 270M model is a base model).
    #[arg(long)]
    pub prompt: String,
    /// The sampler's seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Sampling temperature, 0 = greedy (up to three decimals are used).
    #[arg(long, default_value = "0")]
    pub temperature: String,
    /// Keep only the K most likely tokens (0 = no limit).
    #[arg(long, default_value_t = 40)]
    pub top_k: u32,
    /// Nucleus sampling threshold (1 = off).
    #[arg(long, default_value = "0.95")]
    pub top_p: String,
    /// At most this many tokens.
    #[arg(long, default_value_t = 128)]
    pub max_tokens: u32,
    /// Stop before this string (repeatable).
    #[arg(long)]
    pub stop: Vec<String>,
    /// Threads for the matrix kernels (output is the same for any count).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Print `{"text", "resultHash", "outputTokens", "runtime", …}` at the end instead of
    /// streaming.
    #[arg(long)]
    pub json: bool,
}

/// Parses a decimal like `0.8` into thousandths (`800`), within `0..=max_milli`.
pub fn parse_milli(what: &str, text: &str, max_milli: u32) -> Result<u32> {
    let t = text.trim();
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    if int.is_empty() && frac.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        bail!("{what} must be a decimal number like 0.8, not {text:?}");
    }
    let int: u64 = if int.is_empty() {
        0
    } else {
        int.parse().with_context(|| format!("{what} {text:?}"))?
    };
    let mut digits = frac.bytes().map(|b| u64::from(b - b'0'));
    let mut milli = int.saturating_mul(1000);
    for scale in [100, 10, 1] {
        milli = milli.saturating_add(digits.next().unwrap_or(0) * scale);
    }
    // Round half up on the fourth decimal.
    if digits.next().unwrap_or(0) >= 5 {
        milli = milli.saturating_add(1);
    }
    if milli > u64::from(max_milli) {
        bail!(
            "{what} {text} is out of range (at most {})",
            f64::from(max_milli) / 1000.0
        );
    }
    Ok(milli as u32)
}

/// Turns the arguments into a request.
pub fn request(a: &InferArgs) -> Result<GenerateRequest> {
    Ok(GenerateRequest {
        prompt: a.prompt.clone(),
        max_tokens: a.max_tokens,
        seed: a.seed,
        temperature_milli: parse_milli("--temperature", &a.temperature, 100_000)?,
        top_k: a.top_k,
        top_p_milli: parse_milli("--top-p", &a.top_p, 1000)?,
        stop: a.stop.clone(),
    })
}

/// Runs `comqute infer`.
pub fn run(a: InferArgs) -> Result<()> {
    let req = request(&a)?;
    let model = comqute_worker::load_builtin(&a.model, a.gguf.as_deref(), a.threads)?;
    let mut stdout = std::io::stdout().lock();
    let out = model.generate(&req, |piece| {
        if !a.json {
            // A closed stdout (a pipe into `head`) just ends the stream.
            return stdout
                .write_all(piece.as_bytes())
                .and_then(|()| stdout.flush())
                .is_ok();
        }
        true
    })?;
    let runtime = model.fingerprint(req.sampling());
    if a.json {
        super::print_json(&json!({
            "text": out.text,
            "resultHash": comqute_inference::result_hash(&out.text).to_string(),
            "outputTokens": out.output_tokens,
            "promptTokens": out.prompt_tokens,
            "doneReason": out.done_reason.as_str(),
            "runtime": runtime.to_hex(),
            "model": a.gguf.as_ref().map(|_| model.path().display().to_string()).unwrap_or(a.model.clone()),
        }));
    } else {
        let _ = writeln!(stdout);
        eprintln!(
            "[{} tokens, {}, {:.1} tokens/s, result {}]",
            out.output_tokens,
            out.done_reason.as_str(),
            f64::from(out.output_tokens) / out.generation_duration.as_secs_f64().max(1e-9),
            comqute_inference::result_hash(&out.text)
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_milli;

    #[test]
    fn decimals_become_thousandths() {
        assert_eq!(parse_milli("t", "0.8", 2000).ok(), Some(800));
        assert_eq!(parse_milli("t", "1", 2000).ok(), Some(1000));
        assert_eq!(parse_milli("t", ".25", 2000).ok(), Some(250));
        assert_eq!(parse_milli("t", "0.0005", 2000).ok(), Some(1));
        assert_eq!(parse_milli("t", "0", 2000).ok(), Some(0));
        assert!(parse_milli("t", "3", 2000).is_err());
        assert!(parse_milli("t", "-1", 2000).is_err());
        assert!(parse_milli("t", "abc", 2000).is_err());
        assert!(parse_milli("t", ".", 2000).is_err());
    }
}

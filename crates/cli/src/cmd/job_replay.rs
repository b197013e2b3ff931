//! `comqute job replay ID`: reruns a finished job on the built-in runtime and compares the
//! output's hash with the one its worker posted ([`comqute_worker::replay`]). Exact replay
//! applies only when the posted runtime fingerprint is the one this machine's runtime
//! computes for the job's settings; otherwise the command says so and fails instead of
//! guessing.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use comqute_sdk::Client;
use comqute_worker::{Replay, ReplayOptions};
use serde_json::json;

use super::print_json;

/// Options of `comqute job replay`.
#[derive(Args)]
pub struct ReplayArgs {
    /// The job id.
    pub id: String,
    /// Use this GGUF file instead of the installed model.
    #[arg(long, value_name = "FILE")]
    pub gguf: Option<PathBuf>,
    /// Threads for the matrix kernels (output is the same for any count).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Print `{"id", "resultHash", "postedHash", "matches", "exact", …}`.
    #[arg(long)]
    pub json: bool,
}

/// Runs the replay; an error (non-zero exit) on a mismatch or when exact replay does not
/// apply, after printing what was found.
pub async fn run(client: &Client, a: ReplayArgs) -> Result<()> {
    let id = super::job::job_id(&a.id)?;
    let opts = ReplayOptions {
        gguf: a.gguf,
        threads: a.threads,
    };
    let r = comqute_worker::replay(client, id, &opts).await?;
    report(&to_json(&r), a.json);
    Ok(r.verdict()?)
}

/// The replay as the `--json` object.
fn to_json(r: &Replay) -> serde_json::Value {
    let mut v = json!({
        "id": r.job.to_string(),
        "postedHash": r.posted_hash.to_string(),
        "postedRuntime": r.posted_runtime.to_string(),
        "runtime": r.runtime.to_string(),
        "exact": r.exact(),
        "model": r.model,
        "matches": r.matches(),
    });
    match r.rerun {
        Some(rerun) => {
            v["resultHash"] = json!(rerun.result_hash.to_string());
            v["outputTokens"] = json!(rerun.output_tokens);
            v["postedOutputTokens"] = json!(r.posted_output_tokens);
        }
        None => v["resultHash"] = serde_json::Value::Null,
    }
    v
}

fn report(v: &serde_json::Value, json: bool) {
    if json {
        print_json(v);
        return;
    }
    let s = |k: &str| v[k].as_str().unwrap_or("-").to_string();
    println!("job {} on {}", s("id"), s("model"));
    println!(
        "  posted   {}  runtime {}",
        s("postedHash"),
        s("postedRuntime")
    );
    println!("  replayed {}  runtime {}", s("resultHash"), s("runtime"));
    println!(
        "  exact replay applies: {}  matches: {}",
        v["exact"], v["matches"]
    );
}

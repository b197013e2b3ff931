//! `comqute job replay ID`: reruns a finished job on the built-in runtime and compares the
//! output's hash with the one its worker posted. Exact replay applies only when the posted
//! runtime fingerprint is the one this machine's runtime computes for the job's settings;
//! otherwise the command says so and fails instead of guessing.

use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use comqute_inference::builtin::{BuiltinBackend, BuiltinModel, LoadOptions};
use comqute_inference::{install, Backend, TokenSink};
use comqute_sdk::contracts::marketplace::model_id;
use comqute_sdk::Client;
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
    let job = client.jobs().job(id).await?;
    let posted = job.result.ok_or_else(|| {
        anyhow!(
            "job {id} has no result to replay (it is {})",
            job.status.name()
        )
    })?;
    let spec = install::KNOWN_MODELS
        .iter()
        .find(|m| {
            model_id(m.name) == job.spec.model
                || m.aliases.iter().any(|al| model_id(al) == job.spec.model)
        })
        .ok_or_else(|| {
            anyhow!(
                "job {id} asks for model {}, which the built-in runtime does not have \
                 (it has {}): exact replay does not apply",
                job.spec.model,
                install::KNOWN_MODELS
                    .iter()
                    .map(|m| m.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?;
    let prompt = client
        .get_blob(&job.spec.prompt_hash)
        .await
        .context("fetching the job's prompt")?;
    let path = install::resolve_model(spec.name, a.gguf.as_deref(), false, &mut |_| {})?;
    let threads = a.threads;
    let model = tokio::task::spawn_blocking(move || {
        BuiltinModel::load_with(&path, &LoadOptions { threads })
            .with_context(|| format!("loading {}", path.display()))
    })
    .await
    .context("the loading thread")??;
    let backend = BuiltinBackend::new(spec.name, model);
    let req = comqute_inference::job::request_for_job(&job.spec, spec.name, &prompt)?;
    let runtime = backend.runtime(&req);
    let exact = runtime.fingerprint == posted.runtime;
    let mut v = json!({
        "id": id.to_string(),
        "postedHash": posted.result_hash.to_string(),
        "postedRuntime": posted.runtime.to_string(),
        "runtime": runtime.fingerprint.to_string(),
        "exact": exact,
        "model": spec.name,
    });
    if !exact {
        v["matches"] = json!(false);
        v["resultHash"] = serde_json::Value::Null;
        report(&v, a.json);
        bail!(
            "job {id} was not produced by this runtime (posted fingerprint {}, this machine's {} \
             for the job's settings): exact replay does not apply",
            posted.runtime,
            runtime.fingerprint
        );
    }
    let out = backend.generate(&req, TokenSink::discard()).await?;
    let hash = out.result_hash();
    let matches = hash == posted.result_hash;
    v["resultHash"] = json!(hash.to_string());
    v["matches"] = json!(matches);
    v["outputTokens"] = json!(out.output_tokens);
    v["postedOutputTokens"] = json!(posted.output_tokens);
    report(&v, a.json);
    if !matches {
        bail!(
            "job {id}: the replay hashes to {hash}, the worker posted {}",
            posted.result_hash
        );
    }
    Ok(())
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

//! `comqute job …`: submit jobs, follow them, fetch and check their results.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand};
use comqute_sdk::contracts::job_registry::{Job, Sampling};
use comqute_sdk::contracts::marketplace::MAX_TEMPERATURE_MILLI;
use comqute_sdk::{wire, Client, JobFilter, JobHandle, JobRequest, TokenEvent};
use serde_json::{json, Value};

use super::global::{block_on, identity, Global};
use super::print_json;

/// `comqute job submit`.
#[derive(Args)]
pub struct SubmitArgs {
    /// The model, by name.
    #[arg(long)]
    model: String,
    /// The prompt.
    #[arg(
        long,
        conflicts_with = "prompt_file",
        required_unless_present = "prompt_file"
    )]
    prompt: Option<String>,
    /// A file holding the prompt.
    #[arg(long)]
    prompt_file: Option<PathBuf>,
    /// The highest price per 1,000 output tokens accepted.
    #[arg(long, value_name = "N")]
    max_price_per_1k: String,
    /// The most output tokens paid for.
    #[arg(long, value_name = "N")]
    max_tokens: u32,
    /// Ticks to wait for a worker, and ticks the worker has to deliver.
    #[arg(long, default_value_t = 100, value_name = "N")]
    timeout_ticks: u32,
    /// The least worker reputation accepted (0 to 10,000).
    #[arg(long, default_value_t = 0, value_name = "N")]
    min_reputation: u16,
    /// The sampler's seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Sampling temperature, 0 to 2.
    #[arg(long, default_value_t = 0.0)]
    temperature: f64,
    /// Wait until the job is finalized (or otherwise ends), then print it.
    #[arg(long)]
    wait: bool,
    /// Print the job's tokens as the worker streams them (to stderr with `--json`).
    #[arg(long)]
    stream: bool,
    /// How long `--wait` and `--stream` wait, in seconds.
    #[arg(long, default_value_t = 600, value_name = "SECS")]
    wait_timeout: u64,
    /// Print the job as JSON (`{"id", "status", …}`; `"resultHash"` and `"outputTokens"`
    /// once a result is posted).
    #[arg(long)]
    json: bool,
}

/// Job commands.
#[derive(Subcommand)]
pub enum JobCommand {
    /// Uploads a prompt and submits a job, locking the escrow the contract requires.
    Submit(SubmitArgs),
    /// Shows a job.
    Status {
        /// The job id.
        id: String,
        /// Print the job as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Fetches a job's result and checks it against the hash posted on chain.
    Result {
        /// The job id.
        id: String,
        /// Write the result to this file (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Print `{"id", "resultHash", "size", "out"}` (and `"text"` without `--out`).
        #[arg(long)]
        json: bool,
    },
    /// Lists jobs, filtered, a page at a time.
    List {
        /// Only jobs in this status (Open, Assigned, …).
        #[arg(long)]
        status: Option<String>,
        /// Only jobs of this requester.
        #[arg(long, conflicts_with = "mine")]
        requester: Option<String>,
        /// Only the jobs of `--key`'s identity.
        #[arg(long)]
        mine: bool,
        /// Only jobs held by this worker.
        #[arg(long)]
        worker: Option<String>,
        /// Start after this job id (a previous page's `nextCursor`).
        #[arg(long)]
        cursor: Option<u64>,
        /// At most this many (1 to 100).
        #[arg(long, default_value_t = 20)]
        limit: u16,
        /// Print `{"jobs": [...], "nextCursor"}`.
        #[arg(long)]
        json: bool,
    },
    /// Cancels an open job (its requester only): full refund.
    Cancel {
        /// The job id.
        id: String,
        /// Print the job as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Disputes a job's result within the challenge window (its requester only).
    Dispute {
        /// The job id.
        id: String,
        /// Print the job as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Reruns a finished job on the built-in runtime and checks its result hash; exits
    /// non-zero on a mismatch or when exact replay does not apply.
    Replay(super::job_replay::ReplayArgs),
    /// Prints a job's tokens as its worker streams them, until the stream ends.
    Tokens {
        /// The job id.
        id: String,
        /// Print `{"id", "text", "chunks", "done"}` once the stream ended.
        #[arg(long)]
        json: bool,
    },
}

/// Parses a job id argument.
pub fn job_id(s: &str) -> Result<u64> {
    s.trim()
        .parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| anyhow!("bad job id {s:?}: expected a positive whole number"))
}

fn show(job: &Job, json: bool) -> Result<()> {
    if json {
        print_json(&wire::job_json(job)?);
        return Ok(());
    }
    println!("job {}: {}", job.id, job.status.name());
    println!(
        "  requester {}  escrow {}  max {} tokens at ≤ {} per 1k",
        job.requester, job.escrow, job.spec.max_output_tokens, job.spec.max_price_per_1k
    );
    if let Some(w) = &job.worker {
        println!("  worker {w} at {} per 1k", job.price_per_1k);
    }
    if let Some(d) = job.deadline {
        println!("  next deadline: tick {d}");
    }
    if let Some(r) = &job.result {
        println!(
            "  result {} ({} output tokens)",
            r.result_hash, r.output_tokens
        );
    }
    if job.status.is_terminal() {
        println!(
            "  paid {}  refunded {}  slashed {}",
            job.paid, job.refunded, job.slashed
        );
    }
    Ok(())
}

/// Copies a job's tokens to `out` until its stream ends; returns the text.
async fn follow_tokens(
    handle: &JobHandle,
    timeout: Duration,
    mut out: impl Write,
) -> Result<(String, u32, bool)> {
    let mut sub = handle.tokens();
    let mut text = String::new();
    loop {
        match sub.next_within(timeout).await {
            Some(Ok(TokenEvent::Chunk(c))) => {
                let _ = out.write_all(c.text.as_bytes());
                let _ = out.flush();
                text.push_str(&c.text);
            }
            Some(Ok(TokenEvent::Done { chunks })) => return Ok((text, chunks, true)),
            Some(Ok(TokenEvent::End { chunks, .. })) => return Ok((text, chunks, false)),
            Some(Err(e)) => return Err(e).context("streaming tokens"),
            None => bail!("the token stream closed unexpectedly"),
        }
    }
}

async fn submit(g: &Global, client: &Client, a: SubmitArgs) -> Result<()> {
    let key = g.keypair()?;
    let prompt = match (&a.prompt, &a.prompt_file) {
        (Some(p), None) => p.clone().into_bytes(),
        (None, Some(f)) => {
            std::fs::read(f).with_context(|| format!("reading the prompt {}", f.display()))?
        }
        _ => bail!("give exactly one of --prompt or --prompt-file"),
    };
    if !(a.temperature.is_finite() && (0.0..=2.0).contains(&a.temperature)) {
        bail!("--temperature must be between 0 and 2");
    }
    // Invariant: 0 ≤ temperature ≤ 2, so the rounded thousandths fit in u16.
    let temperature_milli = ((a.temperature * 1000.0).round() as u16).min(MAX_TEMPERATURE_MILLI);
    let max_price: i64 = a
        .max_price_per_1k
        .trim()
        .parse()
        .map_err(|_| anyhow!("bad --max-price-per-1k {:?}", a.max_price_per_1k))?;
    let req = JobRequest {
        model: a.model.trim().to_string(),
        prompt,
        max_output_tokens: a.max_tokens,
        max_price_per_1k: comqute_sdk::Amount(max_price),
        timeout_ticks: a.timeout_ticks,
        min_reputation: a.min_reputation,
        sampling: Sampling {
            seed: a.seed,
            temperature_milli,
        },
    };
    let handle = client
        .jobs()
        .request(&key, &req)
        .await
        .context("submitting the job")?;
    let timeout = Duration::from_secs(a.wait_timeout);
    if !a.json {
        let job = handle.status().await?;
        println!(
            "job {} submitted: {}, escrow {} locked",
            job.id,
            job.status.name(),
            job.escrow
        );
    }
    if a.stream {
        if a.json {
            follow_tokens(&handle, timeout, std::io::stderr()).await?;
        } else {
            follow_tokens(&handle, timeout, std::io::stdout()).await?;
            println!();
        }
    }
    let job = if a.wait {
        handle.wait_final(timeout).await?
    } else {
        handle.status().await?
    };
    if a.json || a.wait {
        show(&job, a.json)?;
    }
    Ok(())
}

/// Runs a job command.
pub fn run(g: &Global, c: JobCommand) -> Result<()> {
    let client = g.client()?;
    block_on(async move {
        match c {
            JobCommand::Submit(a) => submit(g, &client, a).await?,
            JobCommand::Status { id, json } => {
                let job = client.jobs().job(job_id(&id)?).await?;
                show(&job, json)?;
            }
            JobCommand::Replay(a) => super::job_replay::run(&client, a).await?,
            JobCommand::Result { id, out, json } => {
                let id = job_id(&id)?;
                let handle = client.jobs().handle(id);
                let job = handle.status().await?;
                let r = job.result.ok_or_else(|| {
                    anyhow!("job {id} has no result yet (it is {})", job.status.name())
                })?;
                // Checked against the on-chain hash before anything is written.
                let bytes = handle.result().await.context("fetching the result")?;
                if let Some(path) = &out {
                    std::fs::write(path, &bytes)
                        .with_context(|| format!("writing {}", path.display()))?;
                }
                if json {
                    let mut v = json!({
                        "id": id.to_string(),
                        "resultHash": r.result_hash.to_string(),
                        "outputTokens": r.output_tokens,
                        "size": bytes.len(),
                        "out": out.as_ref().map(|p| p.display().to_string()),
                    });
                    if out.is_none() {
                        v["text"] = Value::String(String::from_utf8_lossy(&bytes).into_owned());
                    }
                    print_json(&v);
                } else if out.is_none() {
                    std::io::stdout()
                        .write_all(&bytes)
                        .context("writing the result")?;
                } else if let Some(p) = &out {
                    println!(
                        "result of job {id}: {} bytes, hash {} checked, written to {}",
                        bytes.len(),
                        r.result_hash,
                        p.display()
                    );
                }
            }
            JobCommand::List {
                status,
                requester,
                mine,
                worker,
                cursor,
                limit,
                json,
            } => {
                if !(1..=100).contains(&limit) {
                    bail!("--limit must be between 1 and 100");
                }
                let filter = JobFilter {
                    status: status
                        .as_deref()
                        .map(|s| {
                            wire::parse_status(s).ok_or_else(|| anyhow!("unknown status {s:?}"))
                        })
                        .transpose()?,
                    requester: match (requester, mine) {
                        (Some(r), _) => Some(identity(&r)?),
                        (None, true) => Some(g.keypair()?.identity()),
                        (None, false) => None,
                    },
                    worker: worker.as_deref().map(identity).transpose()?,
                };
                let page = client.jobs().list(&filter, cursor, limit).await?;
                if json {
                    let jobs = page
                        .jobs
                        .iter()
                        .map(wire::job_json)
                        .collect::<Result<Vec<_>, _>>()?;
                    print_json(&serde_json::to_value(wire::JobsPage {
                        jobs,
                        next_cursor: page.next_cursor,
                    })?);
                } else {
                    for j in &page.jobs {
                        println!(
                            "{:>6}  {:<10} escrow {:>10}  requester {}",
                            j.id,
                            j.status.name(),
                            j.escrow.0,
                            j.requester
                        );
                    }
                    if let Some(c) = page.next_cursor {
                        println!("(more: --cursor {c})");
                    }
                }
            }
            JobCommand::Cancel { id, json } => {
                let id = job_id(&id)?;
                let key = g.keypair()?;
                client
                    .jobs()
                    .cancel(&key, id)
                    .await
                    .with_context(|| format!("cancelling job {id}"))?;
                show(&client.jobs().job(id).await?, json)?;
            }
            JobCommand::Dispute { id, json } => {
                let id = job_id(&id)?;
                let key = g.keypair()?;
                client
                    .jobs()
                    .dispute(&key, id)
                    .await
                    .with_context(|| format!("disputing job {id}"))?;
                show(&client.jobs().job(id).await?, json)?;
            }
            JobCommand::Tokens { id, json } => {
                let id = job_id(&id)?;
                let handle = client.jobs().handle(id);
                handle.status().await?;
                let timeout = Duration::from_secs(600);
                if json {
                    let (text, chunks, done) =
                        follow_tokens(&handle, timeout, std::io::sink()).await?;
                    print_json(&json!({
                        "id": id.to_string(), "text": text, "chunks": chunks, "done": done
                    }));
                } else {
                    follow_tokens(&handle, timeout, std::io::stdout()).await?;
                    println!();
                }
            }
        }
        Ok(())
    })?
}

//! `comqute job …`: submit jobs, follow them, fetch and check their results.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand};
use comqute_sdk::contracts::job_registry::{Job, JobStatus, Sampling};
use comqute_sdk::contracts::verification::Check;
use comqute_sdk::contracts::MAX_TEMPERATURE_MILLI;
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
    /// The highest price per 1,000 output tokens accepted, or `auto`: the market's p75 from
    /// the price oracle (most workers serve at it; the escrow not charged is refunded).
    #[arg(long, visible_alias = "price", value_name = "N|auto")]
    max_price_per_1k: String,
    /// The most output tokens paid for (1 to 1,000,000).
    #[arg(long, value_name = "N")]
    max_tokens: String,
    /// Ticks to wait for a worker, and ticks the worker has to deliver once it starts
    /// (default: enough for the slowest online worker of the model: three times its
    /// generation time plus 10 ticks, at least 100).
    #[arg(long, value_name = "N")]
    timeout_ticks: Option<u32>,
    /// Submit even when no online worker serves the model at this price.
    #[arg(long)]
    force: bool,
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
    /// What a job would cost at the market's published prices (the price oracle).
    Estimate(super::pool::EstimateArgs),
    /// Every job of a requester (default: the key's), as a table, JSON or CSV.
    History(super::history::HistoryArgs),
    /// Posts a large job: its parts are auctioned with sealed bids, then served as normal
    /// jobs by the winner (a pool's members, or one worker).
    PostLarge(super::pool::PostLargeArgs),
    /// Bids for a large job: commits a sealed price, waits for the reveal phase, reveals it.
    Bid(super::pool::BidArgs),
    /// Shows a large job: its auction's phase, bids, winner and parts.
    Large {
        /// The large job's id.
        id: u64,
        /// Print it as JSON.
        #[arg(long)]
        json: bool,
    },
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
    /// Challenges a job's result within the challenge window (anyone but its worker),
    /// posting the bond the chain asks for; replicas then check it (`job verify`).
    #[command(alias = "dispute")]
    Challenge {
        /// The job id.
        id: String,
        /// Print the job as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Shows a job's check: its replicas, their votes, and the verdict (pending, passed,
    /// failed, no-majority, unverifiable; not-checked when the chain never checked it).
    Verify {
        /// The job id.
        id: String,
        /// Print `{"jobId", "verdict", "phase", "seats": [...], ...}`.
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

/// A job's model by name, as the worker registry knows it (`None`: no worker ever declared
/// it).
async fn model_name(client: &Client, job: &Job) -> Option<String> {
    client
        .workers()
        .model_name(job.spec.model)
        .await
        .ok()
        .flatten()
}

/// A job as the CLI prints it: the node's view ([`wire::JobView`], with `modelName`, null
/// when no worker ever declared the model) and `standIn` (its result came from the stand-in,
/// not a language model).
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct JobOut {
    #[serde(flatten)]
    view: wire::JobView,
    stand_in: bool,
}

/// A page of jobs as the CLI prints it: [`wire::JobsPage`] with [`JobOut`]s.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct JobsOut {
    jobs: Vec<JobOut>,
    #[serde(with = "wire::dec::opt")]
    next_cursor: Option<u64>,
}

async fn job_view(client: &Client, job: &Job) -> JobOut {
    JobOut {
        view: wire::JobView::new(job, model_name(client, job).await),
        stand_in: job
            .result
            .is_some_and(|r| comqute_inference::standin::is_stand_in_fingerprint(&r.runtime)),
    }
}

/// Why a job that ended without being paid out ended so.
fn why_not_finalized(job: &Job) -> String {
    match (&job.status, &job.reason) {
        (JobStatus::Cancelled, _) => "cancelled by its requester".to_string(),
        (_, Some(r)) => r.clone(),
        (s, None) => format!("it is {}", s.name().to_lowercase()),
    }
}

/// The verdict word of a job's check, as `job verify` prints it.
fn verdict_word(job: &Job, check: Option<&Check>) -> &'static str {
    match check {
        None => "not-checked",
        Some(c) => match c.verdict {
            Some(v) => v.name(),
            // The job settled by its check timeout while replicas still worked.
            None if job.status.is_terminal() => "timed-out",
            None => "pending",
        },
    }
}

fn show_check(job: &Job, check: Option<&Check>, json: bool) -> Result<()> {
    let verdict = verdict_word(job, check);
    if json {
        // The check's record (its own `verdict` is the contract's, null while pending),
        // then the word a script reads.
        let mut v = match check {
            Some(c) => serde_json::to_value(c)?,
            None => json!({}),
        };
        v["jobId"] = json!(job.id.to_string());
        v["jobStatus"] = json!(job.status.name());
        v["verdict"] = json!(verdict);
        if check.is_none() && job.status == JobStatus::Completed {
            v["challengeEnds"] = json!(job.deadline.map(|d| d.0));
        }
        print_json(&v);
        return Ok(());
    }
    println!("job {}: {} — verdict: {verdict}", job.id, job.status.name());
    let Some(c) = check else {
        match (job.status, job.deadline) {
            (JobStatus::Completed, Some(d)) => println!(
                "  the chain's draw did not check it; anyone may challenge it until tick {d} (`comqute job challenge {}`)",
                job.id
            ),
            _ => println!("  its result was never checked"),
        }
        return Ok(());
    };
    let why = match c.job.challenger {
        Some(ch) => format!(
            "challenged by {ch} with a bond of {} units",
            c.challenger_bond
        ),
        None => format!(
            "spot check drawn by the chain at {:.2}%",
            f64::from(c.rate_ppm) / 10_000.0
        ),
    };
    println!(
        "  {why}; opened at tick {}, round {} of {} seats, phase {:?}",
        c.opened_at, c.round, c.seats_wanted, c.phase
    );
    for s in &c.seats {
        let vote = match (s.vote, s.passes) {
            (Some(v), Some(true)) => format!("{v:?}: pass"),
            (Some(v), Some(false)) => format!("{v:?}: FAIL"),
            (Some(v), None) => format!("{v:?}: abstains"),
            (None, _) => String::new(),
        };
        println!(
            "  round {} {} {:?}{} {}",
            s.round,
            s.replica,
            s.state,
            if s.replacement { " (replacement)" } else { "" },
            vote
        );
    }
    if let Some(st) = &c.settlement {
        println!(
            "  settled: rewards {} · slash to replicas {} · challenger {} · requester {} · burned {} · bonds forfeited {}",
            st.rewards, st.to_replicas, st.to_challenger, st.to_requester, st.burned, st.bonds_forfeited
        );
    }
    Ok(())
}

async fn show(client: &Client, job: &Job, json: bool) -> Result<()> {
    if json {
        print_json(&serde_json::to_value(job_view(client, job).await)?);
        return Ok(());
    }
    let model = match model_name(client, job).await {
        Some(n) => n,
        None => format!("{} (no worker has declared this model)", job.spec.model),
    };
    println!("job {}: {}", job.id, job.status.name());
    println!("  model {model}");
    println!(
        "  requester {}  escrow {} units  max {} tokens at ≤ {} units per 1k",
        job.requester, job.escrow, job.spec.max_output_tokens, job.spec.max_price_per_1k
    );
    if let Some(w) = &job.worker {
        println!("  worker {w} at {} units per 1k", job.price_per_1k);
    }
    if let Some(d) = job.deadline {
        let what = match job.status {
            JobStatus::Open => "expires unless a worker takes it",
            JobStatus::Assigned => "the worker must start or decline by",
            JobStatus::Running => "delivery deadline",
            JobStatus::Completed => "challenge window ends",
            JobStatus::Checking => "the check times out (replicas decide before)",
            _ => "next deadline",
        };
        println!("  {what}: tick {d}");
    }
    if job.checked {
        let v = match job.verdict {
            Some(v) => v.name(),
            None if job.status.is_terminal() => "timed out (paid unverified)",
            None => "pending",
        };
        println!(
            "  checked by replicas: verdict {v} (`comqute job verify {}`)",
            job.id
        );
    }

    if let Some(r) = &job.result {
        let runtime = if comqute_inference::standin::is_stand_in_fingerprint(&r.runtime) {
            " by the STAND-IN (not a language model)"
        } else {
            ""
        };
        println!(
            "  result {} ({} output tokens){runtime}",
            r.result_hash, r.output_tokens
        );
    }
    if let Some(why) = &job.reason {
        let label = if job.status == JobStatus::Open {
            "reopened"
        } else {
            "why"
        };
        println!("  {label}: {why}");
    }
    if job.status.is_terminal() {
        println!(
            "  paid {} units (and {} as the verification fee)  refunded {} units  slashed {} units",
            job.paid, job.fee, job.refunded, job.slashed
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

/// Parses a whole number flag, saying "too large" (with the limit) rather than "not a
/// number" for a long run of digits.
fn whole(flag: &str, s: &str, max: u64) -> Result<u64> {
    let t = s.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        return match t.parse::<u64>() {
            Ok(n) if n <= max => Ok(n),
            _ => bail!("{flag} {t} is too large: at most {max}"),
        };
    }
    bail!("{flag} {s:?} is not a whole number")
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
    let limits = comqute_sdk::contracts::MarketConfig::default();
    let max_tokens = whole(
        "--max-tokens",
        &a.max_tokens,
        u64::from(limits.jobs.max_output_tokens),
    )?;
    let max_price = if a.max_price_per_1k.trim().eq_ignore_ascii_case("auto") {
        let p = super::pool::auto_price(
            client,
            a.model.trim(),
            super::pool::AutoPrice::P75,
            "--max-price-per-1k",
        )
        .await?;
        eprintln!(
            "--max-price-per-1k auto: {p} per 1k (the market's p75 for {:?})",
            a.model.trim()
        );
        u64::try_from(p.0).unwrap_or(0)
    } else {
        whole(
            "--max-price-per-1k",
            &a.max_price_per_1k,
            comqute_sdk::qpi::MAX_AMOUNT as u64,
        )?
    };
    // Invariant: both were checked against limits that fit their types.
    let (max_tokens, max_price) = (max_tokens as u32, max_price as i64);
    let mut req = JobRequest {
        model: a.model.trim().to_string(),
        prompt,
        max_output_tokens: max_tokens,
        max_price_per_1k: comqute_sdk::Amount(max_price),
        timeout_ticks: a.timeout_ticks.unwrap_or(100),
        min_reputation: a.min_reputation,
        sampling: Sampling {
            seed: a.seed,
            temperature_milli,
        },
    };
    // Everything the chain would refuse, before anything is uploaded or signed.
    if let Err(e) = req.check() {
        match e {
            comqute_sdk::RequestError::EmptyPrompt => bail!("--prompt is empty: give some text"),
            e => bail!("{e}"),
        }
    }
    // The escrow must be there: said before signing, with the figures.
    let escrow = client
        .jobs()
        .quote(req.max_output_tokens, req.max_price_per_1k)
        .await
        .context("quoting the escrow")?;
    let balance = client.balance(&key.identity()).await?;
    if balance < escrow {
        bail!(
            "the job locks {escrow} units of escrow ({} tokens at {} per 1k) and {} has {balance} units",
            req.max_output_tokens,
            req.max_price_per_1k,
            key.identity()
        );
    }
    // Who serves it: from the chain, before signing.
    let market = client
        .workers()
        .market_for(&req.model)
        .await
        .context("reading the market for the model")?;
    let problem = if market.online == 0 {
        Some(format!(
            "no online worker serves model {:?} ({} registered for it); `comqute market` lists what is served",
            req.model, market.workers
        ))
    } else if !market.serves_at(req.max_price_per_1k) {
        let cheapest = market.price_range.map_or(0, |(lo, _)| lo.0);
        Some(format!(
            "no online worker serves {:?} at ≤ {} units per 1k tokens (the cheapest asks {cheapest})",
            req.model, req.max_price_per_1k
        ))
    } else {
        None
    };
    if let Some(p) = problem {
        if !a.force {
            bail!("{p}; the job would lock its escrow and expire: pass --force to submit anyway");
        }
        eprintln!("warning: {p}; submitting anyway (--force)");
    }
    if a.timeout_ticks.is_none() {
        let tick_ms = client.tick_info().await.map_or(0, |t| t.duration);
        if let Some(t) = market.suggested_timeout_ticks(req.max_output_tokens, tick_ms) {
            req.timeout_ticks = t.min(limits.jobs.max_timeout_ticks);
        }
    }
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
        show(client, &job, a.json).await?;
    }
    if a.wait && job.status != JobStatus::Finalized {
        bail!(
            "job {} ended {} without being paid out: {}",
            job.id,
            job.status.name(),
            why_not_finalized(&job)
        );
    }
    Ok(())
}

/// Runs a job command.
pub fn run(g: &Global, c: JobCommand) -> Result<()> {
    let client = g.client()?;
    block_on(async move {
        match c {
            JobCommand::Submit(a) => submit(g, &client, a).await?,
            JobCommand::Estimate(a) => super::pool::estimate(&client, a).await?,
            JobCommand::History(a) => super::history::history(g, &client, a).await?,
            JobCommand::PostLarge(a) => super::pool::post_large(g, &client, a).await?,
            JobCommand::Bid(a) => super::pool::bid(g, &client, a).await?,
            JobCommand::Large { id, json } => super::pool::show_large(&client, id, json).await?,
            JobCommand::Status { id, json } => {
                let job = client.jobs().job(job_id(&id)?).await?;
                show(&client, &job, json).await?;
            }
            JobCommand::Replay(a) => super::job_replay::run(&client, a).await?,
            JobCommand::Result { id, out, json } => {
                let id = job_id(&id)?;
                let handle = client.jobs().handle(id);
                let job = handle.status().await?;
                let r = job.result.ok_or_else(|| {
                    if job.status.is_terminal() {
                        anyhow!(
                            "job {id} ended {} without a result: {}",
                            job.status.name(),
                            why_not_finalized(&job)
                        )
                    } else {
                        anyhow!(
                            "job {id} has no result yet: it is {}",
                            job.status.name().to_lowercase()
                        )
                    }
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
                    let mut o = std::io::stdout();
                    o.write_all(&bytes).context("writing the result")?;
                    // A terminal's prompt must not land on the result's last line.
                    if o.is_terminal() && !bytes.ends_with(b"\n") {
                        o.write_all(b"\n").context("writing the result")?;
                    }
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
                    ..JobFilter::default()
                };
                let page = client.jobs().list(&filter, cursor, limit).await?;
                if json {
                    let mut jobs = Vec::with_capacity(page.jobs.len());
                    for j in &page.jobs {
                        jobs.push(job_view(&client, j).await);
                    }
                    print_json(&serde_json::to_value(JobsOut {
                        jobs,
                        next_cursor: page.next_cursor.map(|j| j.0),
                    })?);
                } else {
                    let mut names = std::collections::BTreeMap::new();
                    for j in &page.jobs {
                        if let std::collections::btree_map::Entry::Vacant(v) =
                            names.entry(j.spec.model)
                        {
                            let n = model_name(&client, j)
                                .await
                                .unwrap_or_else(|| j.spec.model.to_string()[..12].to_string());
                            v.insert(n);
                        }
                        println!(
                            "{:>6}  {:<10} {:<20} escrow {:>10}  requester {}",
                            j.id,
                            j.status.name(),
                            names[&j.spec.model],
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
                show(&client, &client.jobs().job(id).await?, json).await?;
            }
            JobCommand::Challenge { id, json } => {
                let id = job_id(&id)?;
                let key = g.keypair()?;
                let bond = client
                    .jobs()
                    .challenge_bond(id)
                    .await
                    .with_context(|| format!("the bond to challenge job {id}"))?;
                client
                    .jobs()
                    .challenge(&key, id)
                    .await
                    .with_context(|| format!("challenging job {id} (bond {bond} units)"))?;
                if !json {
                    println!(
                        "challenged job {id} with a bond of {bond} units; follow it with `comqute job verify {id}`"
                    );
                }
                show(&client, &client.jobs().job(id).await?, json).await?;
            }
            JobCommand::Verify { id, json } => {
                let id = job_id(&id)?;
                let job = client.jobs().job(id).await?;
                let check = client.verification().check(id).await?;
                show_check(&job, check.as_ref(), json)?;
            }
            JobCommand::Tokens { id, json } => {
                let id = job_id(&id)?;
                let handle = client.jobs().handle(id);
                let job = handle.status().await?;
                let timeout = Duration::from_secs(600);
                let (text, chunks, done) = if json {
                    follow_tokens(&handle, timeout, std::io::sink()).await?
                } else {
                    follow_tokens(&handle, timeout, std::io::stdout()).await?
                };
                if json {
                    print_json(&json!({
                        "id": id.to_string(), "text": text, "chunks": chunks, "done": done
                    }));
                } else if !text.is_empty() {
                    println!();
                }
                if chunks == 0 && !done {
                    let job = handle.status().await.unwrap_or(job);
                    bail!(
                        "job {id} streamed no tokens: it ended {} ({})",
                        job.status.name(),
                        why_not_finalized(&job)
                    );
                }
            }
        }
        Ok(())
    })?
}

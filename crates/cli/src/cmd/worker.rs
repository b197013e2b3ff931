//! `comqute worker …`: a worker's registration and stake, signed with `--key`.

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand};
use comqute_sdk::contracts::worker_registry::{valid_model_name, Capabilities, MAX_MODEL_NAME};
use comqute_sdk::{wire, Client, Identity};

use super::global::{amount, block_on, identity, Global};
use super::print_json;

/// Capabilities given on the command line.
#[derive(Args, Clone, Debug, Default)]
pub struct CapsArgs {
    /// A model served, by name (repeat for several).
    #[arg(long = "model", value_name = "NAME")]
    models: Vec<String>,
    /// Price per 1,000 output tokens, or `auto` when registering: the market's median for
    /// the first model, from the price oracle.
    #[arg(long, visible_alias = "price", value_name = "N|auto")]
    price_per_1k: Option<String>,
    /// GPU name.
    #[arg(long)]
    gpu: Option<String>,
    /// VRAM in MB.
    #[arg(long)]
    vram_mb: Option<u32>,
    /// Benchmarked output tokens per second.
    #[arg(long)]
    tokens_per_s: Option<u32>,
    /// Jobs run at once.
    #[arg(long)]
    max_concurrent: Option<u16>,
}

impl CapsArgs {
    /// Applies the options given over `base`.
    fn apply(&self, mut base: Capabilities) -> Result<Capabilities> {
        if !self.models.is_empty() {
            base.models = self.models.iter().map(|m| m.trim().to_string()).collect();
        }
        if let Some(p) = &self.price_per_1k {
            base.price_per_1k = price(p)?;
        }
        if let Some(g) = &self.gpu {
            base.gpu = g.clone();
        }
        if let Some(v) = self.vram_mb {
            base.vram_mb = v;
        }
        if let Some(t) = self.tokens_per_s {
            base.tokens_per_s = t;
        }
        if let Some(c) = self.max_concurrent {
            base.max_concurrent = c;
        }
        Ok(base)
    }
}

fn price(s: &str) -> Result<comqute_sdk::Amount> {
    let n: i64 = s
        .trim()
        .parse()
        .map_err(|_| anyhow!("bad price {s:?}: expected a whole number"))?;
    if !(0..=comqute_sdk::qpi::MAX_AMOUNT).contains(&n) {
        bail!("bad price {s:?}: must be between 0 and 10^15");
    }
    Ok(comqute_sdk::Amount(n))
}

/// Worker commands.
#[derive(Subcommand)]
pub enum WorkerCommand {
    /// Runs the worker daemon: serves the jobs assigned to the key on a backend (Ollama, an
    /// OpenAI-compatible server, the built-in model), until Ctrl-C.
    Run(Box<super::worker_run::RunArgs>),
    /// Sets a worker up in one guided command: finds a backend and a model, benchmarks it,
    /// creates or imports the key, funds it (a devnet faucet), registers it with a stake and
    /// a price, writes a config file and prints the `comqute worker run --config FILE` that
    /// runs it. Asks in a terminal; `--yes` (or no terminal) takes every default.
    Setup(Box<super::worker_setup::SetupArgs>),
    /// Registers the key as a worker, locking `--stake` in the escrow vault.
    Register {
        /// The stake (at least the genesis minimum).
        #[arg(long)]
        stake: String,
        /// The capabilities (`--model` and `--price-per-1k` are required).
        #[command(flatten)]
        caps: CapsArgs,
        /// Also declare the worker available for automatic matching.
        #[arg(long)]
        available: bool,
        /// Print the worker as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Replaces some capabilities (the others stay).
    Update {
        /// The capabilities to change.
        #[command(flatten)]
        caps: CapsArgs,
        /// Print the worker as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Shows a worker (default: the key's).
    Status {
        /// The worker's identity.
        identity: Option<String>,
        /// Print the worker as JSON.
        #[arg(long)]
        json: bool,
    },
    /// A worker's paid jobs (default: the key's), oldest first, with the running total; CSV
    /// or JSON for charts and books.
    Earnings(super::history::EarningsArgs),
    /// Shows a worker's check record (default: the key's): its results checked, passed and
    /// failed, and its seats as a replica.
    Checks {
        /// The worker's identity.
        identity: Option<String>,
        /// Print the record as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Sends a heartbeat (keeps the worker online for matching).
    Heartbeat {
        /// Print the worker as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Declares the worker available (or, with `--off`, unavailable) for automatic matching.
    Available {
        /// Unavailable instead.
        #[arg(long)]
        off: bool,
        /// Print the worker as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Adds to the stake.
    TopUp {
        /// How much.
        amount: String,
        /// Print the worker as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Starts unbonding (refused while the worker holds jobs).
    Unbond {
        /// Print the worker as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Takes the whole stake back once the unbonding period is over.
    Withdraw {
        /// Print `{"withdrawn", ...worker}`.
        #[arg(long)]
        json: bool,
    },
}

/// Everything `worker register` can find wrong before signing, reported at once: missing
/// or bad flags, and a key that is already a worker.
async fn register_checks(
    client: &Client,
    me: &Identity,
    stake: &str,
    caps: &CapsArgs,
) -> Result<Capabilities> {
    let mut problems: Vec<String> = Vec::new();
    // `--price auto`: the oracle's median for the first model, said before anything is signed.
    let mut caps = caps.clone();
    if caps
        .price_per_1k
        .as_deref()
        .is_some_and(|p| p.trim().eq_ignore_ascii_case("auto"))
    {
        let model = caps
            .models
            .first()
            .map(|m| m.trim().to_string())
            .ok_or_else(|| anyhow!("--price-per-1k auto needs a --model NAME to price"))?;
        let p = super::pool::auto_price(
            client,
            &model,
            super::pool::AutoPrice::Median,
            "--price-per-1k",
        )
        .await?;
        eprintln!("--price-per-1k auto: {p} per 1k (the market's median for {model:?})");
        caps.price_per_1k = Some(p.0.to_string());
    }
    let caps = &caps;
    if caps.models.is_empty() {
        problems.push("give at least one --model NAME".into());
    }
    for m in &caps.models {
        if !valid_model_name(m.trim()) {
            problems.push(format!(
                "--model {m:?}: a name is 1 to {MAX_MODEL_NAME} bytes with no spaces"
            ));
        }
    }
    if caps.price_per_1k.is_none() {
        problems.push("give --price-per-1k N (price per 1,000 output tokens)".into());
    }
    if let Err(e) = amount(stake) {
        problems.push(format!("--stake: {e}"));
    }
    let base = Capabilities {
        models: Vec::new(),
        gpu: String::new(),
        vram_mb: 0,
        tokens_per_s: 0,
        price_per_1k: comqute_sdk::Amount(0),
        max_concurrent: 1,
    };
    let built = match caps.apply(base) {
        Ok(c) => Some(c),
        Err(e) => {
            problems.push(e.to_string());
            None
        }
    };
    if let Some(c) = &built {
        if !c.models.is_empty() {
            if let Err(e) = c.validate() {
                problems.push(e.to_string());
            }
        }
    }
    match client.workers().get(me).await {
        Ok(Some(info))
            if info.worker.status
                != comqute_sdk::contracts::worker_registry::WorkerStatus::Exited =>
        {
            problems.push(format!(
                "{me} is already registered as a worker (`comqute worker status`; change it with `worker update`)"
            ));
        }
        Ok(_) => {}
        Err(e) => problems.push(format!("reading the worker from the node: {e}")),
    }
    match (problems.len(), built) {
        (0, Some(c)) => Ok(c),
        (1, _) => bail!("{}", problems[0]),
        _ => bail!("{} problems: {}", problems.len(), problems.join("; ")),
    }
}

/// A worker as the CLI prints it: the node's view ([`wire::WorkerView`]) with
/// `lastHeartbeatAgo` (ticks since its last heartbeat, when the tick is known) and, after a
/// withdrawal, `withdrawn`.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct WorkerOut {
    #[serde(flatten)]
    view: wire::WorkerView,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_heartbeat_ago: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    withdrawn: Option<String>,
    /// Its check record (verification), when the node answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    checks: Option<comqute_sdk::contracts::verification::CheckRecord>,
}

async fn worker_view(client: &Client, id: &Identity) -> Result<WorkerOut> {
    let info = client
        .workers()
        .get(id)
        .await?
        .ok_or_else(|| anyhow!("{id} is not a registered worker"))?;
    let last_heartbeat_ago = match client.tick().await {
        Ok(now) => Some(now.0.saturating_sub(info.worker.last_heartbeat.0)),
        Err(_) => None,
    };
    let checks = client.verification().record(id).await.ok();
    Ok(WorkerOut {
        view: wire::WorkerView::from(&info),
        last_heartbeat_ago,
        withdrawn: None,
        checks,
    })
}

fn show(v: &WorkerOut, json: bool) -> Result<()> {
    if json {
        print_json(&serde_json::to_value(v)?);
        return Ok(());
    }
    let w = &v.view;
    println!("worker {} (#{})", w.id, w.number);
    let live = match v.last_heartbeat_ago {
        _ if w.signed_off => "offline (its daemon signed off)".to_string(),
        Some(ago) if w.online => format!("online (last heartbeat {ago} ticks ago)"),
        Some(ago) => format!("offline (last heartbeat {ago} ticks ago)"),
        None => format!("online {}", w.online),
    };
    println!(
        "  {}  {live}  available {}  can take jobs {}",
        w.status.name(),
        w.available,
        w.can_take_jobs
    );
    println!(
        "  stake {} units  reputation {} / 10000  active jobs {}  settling {}",
        w.stake, w.reputation, w.active_jobs, w.settling_jobs
    );
    println!(
        "  earned {} units  slashed {} units",
        w.total_earned, w.total_slashed
    );
    let caps = &w.capabilities;
    println!("  models {}", caps.models.join(", "));
    println!(
        "  price {} units per 1k tokens  speed {} tokens/s  gpu {}  max concurrent {}",
        caps.price_per_1k, caps.tokens_per_s, caps.gpu, caps.max_concurrent
    );
    println!(
        "  completed {}  declined {}  failed {}  expired {}  checks failed {}",
        w.jobs_completed, w.jobs_declined, w.jobs_failed, w.jobs_expired, w.checks_failed
    );
    if let Some(r) = &v.checks {
        println!(
            "  results checked {} (passed {}, failed {}, unverifiable or no majority {})  as replica: {} seats, {} outvoted, {} silent",
            r.checked, r.passed, r.failed, r.inconclusive, r.seats, r.outvoted, r.silent
        );
    }
    Ok(())
}

/// Runs a worker command.
pub fn run(g: &Global, c: WorkerCommand) -> Result<()> {
    if let WorkerCommand::Run(a) = c {
        return super::worker_run::run(g, *a);
    }
    if let WorkerCommand::Setup(a) = c {
        return super::worker_setup::run(g, *a);
    }
    let client = g.client()?;
    block_on(async move {
        match c {
            // Handled above, on a runtime of its own.
            WorkerCommand::Run(_) | WorkerCommand::Setup(_) => {}
            WorkerCommand::Register {
                stake,
                caps,
                available,
                json,
            } => {
                let key = g.keypair()?;
                let caps = register_checks(&client, &key.identity(), &stake, &caps).await?;
                let w = client.workers();
                w.register(&key, &caps, amount(&stake)?)
                    .await
                    .context("registering")?;
                if available {
                    w.set_available(&key, true)
                        .await
                        .context("declaring availability")?;
                }
                show(&worker_view(&client, &key.identity()).await?, json)?;
            }
            WorkerCommand::Update { caps, json } => {
                let key = g.keypair()?;
                let w = client.workers();
                let current = w
                    .get(&key.identity())
                    .await?
                    .ok_or_else(|| anyhow!("{} is not a registered worker", key.identity()))?;
                let caps = caps.apply(current.worker.capabilities)?;
                w.update(&key, &caps).await.context("updating")?;
                show(&worker_view(&client, &key.identity()).await?, json)?;
            }
            WorkerCommand::Status { identity: id, json } => {
                let id = match id {
                    Some(s) => identity(&s)?,
                    None => g.keypair()?.identity(),
                };
                show(&worker_view(&client, &id).await?, json)?;
            }
            WorkerCommand::Earnings(a) => super::history::earnings(g, &client, a).await?,
            WorkerCommand::Checks { identity: id, json } => {
                let id = match id {
                    Some(s) => identity(&s)?,
                    None => g.keypair()?.identity(),
                };
                let r = client
                    .verification()
                    .record(&id)
                    .await
                    .context("the worker's check record")?;
                if json {
                    let mut v = serde_json::to_value(&r)?;
                    v["worker"] = serde_json::json!(id.to_string());
                    print_json(&v);
                } else {
                    println!("worker {id}");
                    println!(
                        "  results checked {}: passed {}, failed {}, inconclusive {}; passed in a row {}",
                        r.checked, r.passed, r.failed, r.inconclusive, r.streak
                    );
                    println!(
                        "  as replica: {} seats, with the majority {}, outvoted {}, silent {}; earned {} units, bonds lost {} units",
                        r.seats, r.with_majority, r.outvoted, r.silent, r.earned, r.bonds_lost
                    );
                }
            }
            WorkerCommand::Heartbeat { json } => {
                let key = g.keypair()?;
                client
                    .workers()
                    .heartbeat(&key)
                    .await
                    .context("heartbeat")?;
                show(&worker_view(&client, &key.identity()).await?, json)?;
            }
            WorkerCommand::Available { off, json } => {
                let key = g.keypair()?;
                client
                    .workers()
                    .set_available(&key, !off)
                    .await
                    .context("setting availability")?;
                show(&worker_view(&client, &key.identity()).await?, json)?;
            }
            WorkerCommand::TopUp { amount: a, json } => {
                let key = g.keypair()?;
                client
                    .workers()
                    .top_up(&key, amount(&a)?)
                    .await
                    .context("topping up")?;
                show(&worker_view(&client, &key.identity()).await?, json)?;
            }
            WorkerCommand::Unbond { json } => {
                let key = g.keypair()?;
                client.workers().unbond(&key).await.context("unbonding")?;
                show(&worker_view(&client, &key.identity()).await?, json)?;
            }
            WorkerCommand::Withdraw { json } => {
                let key = g.keypair()?;
                let got = client
                    .workers()
                    .withdraw(&key)
                    .await
                    .context("withdrawing")?;
                let mut v = worker_view(&client, &key.identity()).await?;
                if json {
                    v.withdrawn = Some(got.0.to_string());
                    show(&v, true)?;
                } else {
                    println!("withdrew {got}");
                    show(&v, false)?;
                }
            }
        }
        Ok(())
    })?
}

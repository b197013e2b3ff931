//! `comqute worker run`: the worker daemon ([`comqute_worker::daemon`]) on a chosen backend,
//! until Ctrl-C (finish the current jobs) or a second Ctrl-C (give them up now).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;
use comqute_worker::{BackendSpec, Stop, Worker, WorkerConfig};
use tokio::sync::watch;
use tracing::{info, warn};

use super::global::{amount, Global};

/// Options of `comqute worker run`.
#[derive(Args, Clone, Debug)]
pub struct RunArgs {
    /// Read the settings from this config file (TOML, as `comqute worker setup` writes it:
    /// one key per option of this command, plus `node`, `key` and `models`). Options given
    /// on the command line beside it win over the file.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The ids of the options given on the command line (set by `main`; a config file gives
    /// way to them).
    #[arg(skip)]
    pub given: std::collections::BTreeSet<String>,
    /// Where the model runs.
    #[command(flatten)]
    pub backend: BackendSpec,
    /// A model to serve, as the backend names it (repeat; default: all the backend has).
    #[arg(long = "model", value_name = "NAME")]
    pub models: Vec<String>,
    /// Jobs run at once.
    #[arg(long, default_value_t = 1)]
    pub concurrency: u16,
    /// Register the key with this stake when it is not a worker yet.
    #[arg(long)]
    pub stake: Option<String>,
    /// Price per 1,000 output tokens (to register with, or to change).
    #[arg(long, value_name = "N")]
    pub price_per_1k: Option<String>,
    /// Ticks between heartbeats.
    #[arg(long, default_value_t = 20)]
    pub heartbeat_ticks: u32,
    /// Tries of one generation before the job is given up on chain.
    #[arg(long, default_value_t = 3)]
    pub attempts: u32,
    /// Seconds the current jobs get to finish after Ctrl-C.
    #[arg(long, default_value_t = 120)]
    pub grace: u64,
    /// Seconds a chain operation is retried while the node does not answer.
    #[arg(long, default_value_t = 60)]
    pub node_patience: u64,
    /// Seconds between reads of the backend's models (a model pulled or removed is declared
    /// on chain).
    #[arg(long, default_value_t = 30)]
    pub refresh: u64,
    /// Do not benchmark the backend at start (its speed is then learnt from the jobs it
    /// serves; until then every job's deadline is taken as reachable).
    #[arg(long)]
    pub no_benchmark: bool,
    /// Take the worker over from another daemon whose session is still online on the
    /// chain (one that crashed, or one you are replacing).
    #[arg(long)]
    pub takeover: bool,
    /// Start even jobs whose deadline the measured speed says cannot be met (they are
    /// slashed if late).
    #[arg(long)]
    pub accept_any_deadline: bool,
    /// Replica seats on results this machine cannot reproduce bit-exactly (from Ollama, an
    /// OpenAI-compatible server, another hardware class) are scored on the built-in model
    /// when it is installed (`auto`), or abstained from (`off`).
    #[arg(long, value_enum, default_value_t = ScorerChoice::Auto)]
    pub scorer: ScorerChoice,
    /// TEST ONLY: post a made-up result on every Nth job served, so end-to-end tests can
    /// watch replicas catch a liar (the lie is slashed). Hidden from `--help`.
    #[arg(long, hide = true, value_name = "N")]
    pub test_lie_every: Option<u32>,
}

fn price(s: &str) -> Result<comqute_sdk::Amount> {
    let n: i64 = s
        .trim()
        .parse()
        .with_context(|| format!("bad price {s:?}: expected a whole number"))?;
    if !(0..=comqute_sdk::qpi::MAX_AMOUNT).contains(&n) {
        bail!("bad price {s:?}: must be between 0 and 10^15");
    }
    Ok(comqute_sdk::Amount(n))
}

impl RunArgs {
    /// The daemon's settings.
    pub fn config(&self) -> Result<WorkerConfig> {
        if self.concurrency == 0
            || self.concurrency > comqute_sdk::contracts::worker_registry::MAX_CONCURRENT
        {
            bail!(
                "--concurrency must be between 1 and {}",
                comqute_sdk::contracts::worker_registry::MAX_CONCURRENT
            );
        }
        Ok(WorkerConfig {
            models: self.models.clone(),
            concurrency: self.concurrency,
            stake: self.stake.as_deref().map(amount).transpose()?,
            price_per_1k: self.price_per_1k.as_deref().map(price).transpose()?,
            heartbeat_ticks: self.heartbeat_ticks.max(1),
            attempts: self.attempts.max(1),
            chain_patience: Duration::from_secs(self.node_patience),
            grace: Duration::from_secs(self.grace),
            benchmark: !self.no_benchmark,
            refresh_interval: Duration::from_secs(self.refresh.max(1)),
            takeover: self.takeover,
            check_deadlines: !self.accept_any_deadline,
            test_lie_every: self.test_lie_every.filter(|&n| n > 0),
            scorer: match self.scorer {
                ScorerChoice::Auto
                    if comqute_worker::BuiltinScorer::available_for("gemma3:270m") =>
                {
                    Some(std::sync::Arc::new(comqute_worker::BuiltinScorer::new(
                        self.backend.gguf.clone(),
                        self.backend.threads,
                    ))
                        as std::sync::Arc<dyn comqute_worker::Scorer>)
                }
                _ => None,
            },
            ..WorkerConfig::default()
        })
    }
}

/// Whether replica seats are scored on the built-in model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ScorerChoice {
    /// Score when the built-in model is installed here; abstain otherwise.
    Auto,
    /// Never score: abstain from seats this machine cannot reproduce.
    Off,
}

/// The settings with `--config FILE` applied (options on the command line win over it).
pub fn with_config(g: &Global, mut a: RunArgs) -> Result<(Global, RunArgs)> {
    let mut g = g.clone();
    if let Some(path) = a.config.clone() {
        let file = super::worker_config::WorkerFile::load(&path)?;
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        file.apply(dir, &mut g, &mut a)
            .with_context(|| format!("config file {}", path.display()))?;
    }
    Ok((g, a))
}

/// Runs the daemon until Ctrl-C.
pub fn run(g: &Global, a: RunArgs) -> Result<()> {
    let (g, a) = with_config(g, a)?;
    let g = &g;
    super::node::init_tracing();
    let mut cfg = a.config()?;
    let key = g.keypair()?;
    cfg.lock = g.key.as_ref().map(|k| {
        let mut p = k.clone().into_os_string();
        p.push(".lock");
        PathBuf::from(p)
    });
    let client = g.client()?;
    let backend = a.backend.build(&a.models)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    rt.block_on(async move {
        let (stop_tx, mut stop_rx) = watch::channel(Stop::Run);
        tokio::spawn(async move {
            for level in [Stop::Drain, Stop::Abort] {
                if super::node::wait_for_signal().await.is_err() {
                    return;
                }
                match level {
                    Stop::Drain => {
                        info!("stopping: finishing the current jobs (Ctrl-C again to give them up)")
                    }
                    _ => warn!("stopping now"),
                }
                let _ = stop_tx.send(level);
            }
        });
        let worker = Worker::prepare(client, key, backend, cfg, &mut stop_rx).await?;
        let report = worker.run(stop_rx).await?;
        println!("worker stopped: {report}");
        Ok(())
    })
}

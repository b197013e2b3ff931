//! The worker daemon behind `comqute worker run` (and the demo's worker): it keeps a worker
//! registered, online and available for the models its backend really has, picks up the jobs
//! the job registry assigns to it, runs them, streams their tokens to the node and posts
//! their result hashes.
//!
//! ## One job, start to end
//! 1. The job registry offers the job at END_TICK (the daemon hears the `Assigned` event, and
//!    rescans the assigned jobs every [`WorkerConfig::scan_interval`] in case it missed one).
//! 2. **Accept or decline** (the job registry's fair-deadline rule): the prompt blob is
//!    fetched and checked against the job's prompt hash, and must be UTF-8 text; the model
//!    must be served here; and the backend's measured speed must deliver the job's
//!    `max_output_tokens` within its `timeout_ticks` on this node's tick length, with half
//!    the time again to spare ([`fits_deadline`]). Anything else is DECLINEd with the reason,
//!    which costs the worker nothing; otherwise START accepts the delivery deadline.
//! 3. The request made by [`comqute_inference::job::request_for_job`], run on the backend;
//!    pieces are pushed to the node's token stream as they come.
//! 4. The output uploaded as a blob, then POST_RESULT with its hash, the backend's token count
//!    and the runtime fingerprint.
//!
//! ## When things go wrong
//! - A transient backend error (unreachable, busy, timed out, cut mid-stream) is retried
//!   [`WorkerConfig::attempts`] times with backoff; then, or at once for anything a retry
//!   cannot fix (a model that is gone, a prompt that is not text), the job is given up on
//!   chain with FAIL, which reopens it for another worker the first time and refunds it the
//!   second. A hash is only ever posted for output the backend produced in full.
//! - A node that cannot be reached is retried with backoff for [`WorkerConfig::chain_patience`]
//!   per operation; after each failed call the job is read back, so an operation whose answer
//!   was lost is not repeated.
//! - A retried generation streams only what extends the text already streamed; if a retry
//!   produces different text, streaming stops (the posted hash covers the final output).
//! - A generation still running two ticks before the delivery deadline is stopped and the
//!   job given up with FAIL (reputation, not stake); the chain would otherwise slash it.
//! - Every slash the worker suffers is logged as a warning with the chain's reason.
//! - Stop ([`Stop::Drain`], the first Ctrl-C) signs the worker off (unavailable and offline at
//!   once) and lets the current jobs finish for up to [`WorkerConfig::grace`];
//!   [`Stop::Abort`] (a second Ctrl-C, or the grace period over) gives the remaining jobs up
//!   with FAIL (or DECLINE, for the ones not started) before returning.
//!
//! ## One daemon per key
//! A daemon heartbeats with a random session number; the worker registry refuses another
//! session while one is online, so a second daemon on the same key stops at once with a
//! message ([`WorkerConfig::takeover`] replaces a daemon that is gone without signing off).
//! On one machine a lock file beside the key ([`WorkerConfig::lock`]) says so before anything
//! reaches the chain.

use comqute_sdk::contracts::{JobId, WorkerId};
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use comqute_inference::{Backend, Generation, InferenceError, TokenSink};
use comqute_sdk::contracts::job_registry::{Job, JobEvent, JobResult, JobStatus};
use comqute_sdk::contracts::model_id;
use comqute_sdk::contracts::worker_registry::{Capabilities, WorkerStatus};
use comqute_sdk::{Amount, Client, Hash32, Identity, Keypair, SdkError, TokenWriter};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tracing::{debug, info, warn};

use crate::error::WorkerError;
use crate::replica::{ReplicaState, Scorer};

/// What the daemon's fallible steps return.
type Result<T, E = WorkerError> = std::result::Result<T, E>;

/// How far a stop request has gone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stop {
    /// Keep working.
    Run,
    /// Take no new job; finish the current ones.
    Drain,
    /// Give the current jobs up (FAIL) and return.
    Abort,
}

/// What a worker daemon does and how patient it is.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// Model names to serve; empty: every model the backend has.
    pub models: Vec<String>,
    /// Jobs run at once (the `max_concurrent` capability).
    pub concurrency: u16,
    /// Stake to register with when the key is not a worker yet.
    pub stake: Option<Amount>,
    /// Price per 1,000 output tokens, to register with (or to change).
    pub price_per_1k: Option<Amount>,
    /// Ticks between heartbeats (keep it well under the network's heartbeat window).
    pub heartbeat_ticks: u32,
    /// Tries of one generation before the job is given up.
    pub attempts: u32,
    /// How long one chain operation is retried while the node cannot be reached.
    pub chain_patience: Duration,
    /// How often the assigned jobs are rescanned (events wake the daemon sooner).
    pub scan_interval: Duration,
    /// How long a drain waits for the current jobs.
    pub grace: Duration,
    /// Measure tokens per second on the backend when registering.
    pub benchmark: bool,
    /// Backoff after the first failed attempt (doubles, at most 8×).
    pub backoff: Duration,
    /// How often the backend's models are read again, to declare what it has now (also
    /// done at once when a job finds its model gone).
    pub refresh_interval: Duration,
    /// Replace another daemon session that is still online on the chain.
    pub takeover: bool,
    /// A lock file held while the daemon runs (the CLI uses `KEYFILE.lock`).
    pub lock: Option<std::path::PathBuf>,
    /// Decline jobs the measured speed cannot deliver in time ([`fits_deadline`]).
    pub check_deadlines: bool,
    /// Teacher-forced scoring for replica seats whose result this backend cannot re-run
    /// exactly ([`crate::replica`]); without one such seats abstain ([`Vote::Unable`]).
    ///
    /// [`Vote::Unable`]: comqute_sdk::contracts::verification::Vote::Unable
    pub scorer: Option<Arc<dyn Scorer>>,
    /// TEST ONLY (`comqute worker run --test-lie-every N`, hidden): post a made-up result on
    /// every Nth job served, so end-to-end tests can watch replicas catch a liar. Never set
    /// it on a real worker: the lie is slashed.
    pub test_lie_every: Option<u32>,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            models: Vec::new(),
            concurrency: 1,
            stake: None,
            price_per_1k: None,
            heartbeat_ticks: 20,
            attempts: 3,
            chain_patience: Duration::from_secs(60),
            scan_interval: Duration::from_secs(1),
            grace: Duration::from_secs(120),
            benchmark: true,
            backoff: Duration::from_millis(500),
            refresh_interval: Duration::from_secs(30),
            takeover: false,
            lock: None,
            check_deadlines: true,
            scorer: None,
            test_lie_every: None,
        }
    }
}

/// How fast the backend is, as measured: by the benchmark at start, then by the jobs served.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Speed {
    /// Output tokens per second.
    pub tokens_per_s: f64,
    /// Seconds to the first token (start-up, prompt reading) of a short prompt.
    pub first_token_s: f64,
}

/// Whether a job asking for `max_tokens` (with a prompt of `prompt_bytes`) fits a delivery
/// window of `timeout_ticks` ticks of `tick_ms` milliseconds at `speed`: the estimated time
/// (the first-token latency plus a quarter second for the chain calls, the prompt read at
/// five times the generation speed at about four bytes a token, and the generation) times
/// 1.5 must fit the window. Unknown speed or tick length (0: a node that ticks only on
/// warps) fits. `Err` says why not, for the DECLINE reason.
pub fn fits_deadline(
    max_tokens: u32,
    prompt_bytes: u32,
    timeout_ticks: u32,
    tick_ms: u32,
    speed: Option<Speed>,
) -> Result<(), String> {
    let Some(sp) = speed.filter(|s| s.tokens_per_s.is_finite() && s.tokens_per_s > 0.0) else {
        return Ok(());
    };
    if tick_ms == 0 {
        return Ok(());
    }
    let prompt_tokens = f64::from(prompt_bytes) / 4.0;
    let overhead = sp.first_token_s.clamp(0.0, 600.0) + 0.25;
    let est = overhead + (f64::from(max_tokens) + prompt_tokens / 5.0) / sp.tokens_per_s;
    let window = f64::from(timeout_ticks) * f64::from(tick_ms) / 1000.0;
    if est * 1.5 <= window {
        Ok(())
    } else {
        let need_ticks = (est * 1.5 * 1000.0 / f64::from(tick_ms)).ceil();
        Err(format!(
            "{max_tokens} tokens at ~{:.1} tokens/s need ~{est:.1} s; the job gives {timeout_ticks} ticks ({window:.1} s): ask for at least {need_ticks:.0} ticks",
            sp.tokens_per_s
        ))
    }
}

/// What a daemon did, returned when it stops.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkerReport {
    /// Jobs whose result hash was posted.
    pub delivered: u64,
    /// Jobs given up on chain (FAIL) because the backend could not run them.
    pub failed: u64,
    /// Jobs given up on chain because the daemon was stopped.
    pub abandoned: u64,
    /// Jobs left without an answer because even FAIL could not be sent (the chain expires
    /// them).
    pub lost: u64,
    /// Offers turned down (DECLINE, free): a deadline the backend cannot meet, a bad prompt,
    /// a model not served.
    pub declined: u64,
}

impl std::fmt::Display for WorkerReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} delivered, {} declined, {} given up, {} given up on stop, {} left to expire",
            self.delivered, self.declined, self.failed, self.abandoned, self.lost
        )
    }
}

/// How one job ended for this worker.
#[derive(Debug)]
enum Outcome {
    Delivered { tokens: u32 },
    Declined(String),
    Skipped(String),
    Failed(String),
    Abandoned,
    Lost(String),
}

/// A worker daemon, ready to run.
pub struct Worker {
    shared: Arc<Shared>,
    cfg: WorkerConfig,
    /// Held while the daemon runs.
    _lock: Option<std::fs::File>,
}

/// What every job task (and the replica seats, [`crate::replica`]) needs.
pub(crate) struct Shared {
    pub(crate) client: Client,
    pub(crate) key: Keypair,
    pub(crate) me: Identity,
    pub(crate) backend: Arc<dyn Backend>,
    /// Model id → the backend's name for it: what is declared on chain now.
    models: std::sync::RwLock<BTreeMap<Hash32, String>>,
    pub(crate) attempts: u32,
    pub(crate) patience: Duration,
    pub(crate) backoff: Duration,
    /// Woken when a job finds a model gone: the backend's models are read again.
    refresh: tokio::sync::Notify,
    /// This daemon's session on the chain.
    session: u64,
    /// Woken when another session took the worker over: this daemon stops.
    taken_over: tokio::sync::Notify,
    /// The backend's measured speed (benchmark, then served jobs).
    speed: std::sync::Mutex<Option<Speed>>,
    check_deadlines: bool,
    /// The `concurrency` slots: a job or a replica run holds one while it runs.
    pub(crate) slots: Arc<tokio::sync::Semaphore>,
    /// The replica seats' votes and events.
    pub(crate) replica: ReplicaState,
    /// TEST ONLY: lie on every Nth job ([`WorkerConfig::test_lie_every`]).
    lie_every: Option<u32>,
    /// Jobs run to a result so far (counts the lies).
    served: std::sync::atomic::AtomicU64,
}

/// Takes the lock file at `path` (created if missing), or says who holds it.
fn take_lock(path: &std::path::Path) -> Result<std::fs::File> {
    let io = |action: &'static str| {
        move |source| WorkerError::LockFile {
            action,
            path: path.to_path_buf(),
            source,
        }
    };
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(io("opening the lock file"))?;
    match f.try_lock() {
        Ok(()) => Ok(f),
        Err(std::fs::TryLockError::WouldBlock) => Err(WorkerError::KeyInUse {
            path: path.to_path_buf(),
        }),
        Err(std::fs::TryLockError::Error(e)) => Err(io("locking")(e)),
    }
}

/// A fresh random session number (never 0).
fn new_session() -> u64 {
    use rand_core::RngCore;
    let mut b = [0u8; 8];
    if rand_core::OsRng.try_fill_bytes(&mut b).is_err() {
        // No randomness: the time and process id still differ between two daemons.
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        b = (t ^ u64::from(std::process::id()).rotate_left(32)).to_le_bytes();
    }
    u64::from_le_bytes(b).max(1)
}

fn session_in_use(e: &SdkError) -> bool {
    e.contract_error()
        .and_then(|c| c.rejected_name())
        .is_some_and(|n| n == "SessionInUse")
}

fn sdk_transient(e: &SdkError) -> bool {
    // The SDK's one rule for both transports (a remote 5xx/429 or a dropped connection, an
    // embedded refusal the node marks retryable).
    e.is_transient()
}

pub(crate) fn backoff_for(base: Duration, attempt: u32) -> Duration {
    base.saturating_mul(1 << attempt.min(3))
}

/// Runs `op` until it succeeds, fails for good, or `patience` is used up on transient
/// failures.
pub(crate) async fn retry_sdk<T, F, Fut>(
    what: &str,
    patience: Duration,
    base: Duration,
    mut op: F,
) -> Result<T, SdkError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, SdkError>>,
{
    let started = tokio::time::Instant::now();
    let mut attempt = 0;
    loop {
        match op().await {
            Ok(v) => return Ok(v),
            Err(e) if sdk_transient(&e) && started.elapsed() < patience => {
                let wait = backoff_for(base, attempt);
                warn!(%e, "{what}: the node did not answer; retrying in {wait:?}");
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Names the backend knows a model by: `llama3` is `llama3:latest`.
fn same_model(asked: &str, has: &str) -> bool {
    let norm = |s: &str| {
        let s = s.trim();
        if s.contains(':') {
            s.to_string()
        } else {
            format!("{s}:latest")
        }
    };
    asked.trim() == has || norm(asked) == norm(has)
}

/// The backend's names of the models to serve: all it has when none were asked for, else
/// the asked ones it has. Sorted, without repeats.
fn pick_models(has: &[String], asked: &[String]) -> Vec<String> {
    let set: BTreeSet<String> = if asked.is_empty() {
        has.iter().cloned().collect()
    } else {
        asked
            .iter()
            .filter_map(|a| has.iter().find(|n| same_model(a, n)).cloned())
            .collect()
    };
    set.into_iter().collect()
}

/// The names declared on chain for the served models: each name, and an Ollama
/// `name:latest` also as `name` (at most the registry's limit, first ones kept).
fn declared_names(served: &[String]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for n in served {
        for name in [Some(n.as_str()), n.strip_suffix(":latest")]
            .into_iter()
            .flatten()
        {
            if !names.iter().any(|x| x == name) {
                names.push(name.to_string());
            }
        }
    }
    names.truncate(comqute_sdk::contracts::worker_registry::MAX_MODELS);
    names
}

/// Model id → backend name. Jobs name models by the id of the name the requester used, so an
/// Ollama `name:latest` model is also declared as `name`.
fn model_map(served: &[String]) -> BTreeMap<Hash32, String> {
    let mut models = BTreeMap::new();
    for n in served {
        models.insert(model_id(n), n.clone());
        if let Some(short) = n.strip_suffix(":latest") {
            models.insert(model_id(short), n.clone());
        }
    }
    models
}

impl Worker {
    /// Connects the pieces: asks the backend for its models (waiting, with backoff, while it
    /// cannot be reached), picks the ones to serve, and makes sure the key is a registered,
    /// active worker declaring exactly them, registering it with `cfg.stake` when it is not.
    pub async fn prepare(
        client: Client,
        key: Keypair,
        backend: Arc<dyn Backend>,
        cfg: WorkerConfig,
        stop: &mut watch::Receiver<Stop>,
    ) -> Result<Worker> {
        let me = key.identity();
        let lock = cfg.lock.as_deref().map(take_lock).transpose()?;
        let available = {
            let mut attempt = 0;
            loop {
                match backend.models().await {
                    Ok(m) => break m,
                    Err(e) if e.is_transient() => {
                        let wait = backoff_for(cfg.backoff, attempt).max(Duration::from_secs(1));
                        warn!(%e, "the {} backend at {} is not answering; retrying in {wait:?}", backend.name(), backend.endpoint());
                        tokio::select! {
                            _ = tokio::time::sleep(wait) => {}
                            _ = stop.wait_for(|s| *s != Stop::Run) => return Err(WorkerError::StoppedBeforeBackend),
                        }
                        attempt += 1;
                    }
                    Err(source) => {
                        return Err(WorkerError::BackendModels {
                            backend: backend.name().to_string(),
                            endpoint: backend.endpoint(),
                            source: Box::new(source),
                        })
                    }
                }
            }
        };
        let names: Vec<String> = available.iter().map(|m| m.name.clone()).collect();
        let served = pick_models(&names, &cfg.models);
        if served.len() < cfg.models.len() || served.is_empty() {
            let missing: Vec<String> = cfg
                .models
                .iter()
                .filter(|a| !names.iter().any(|n| same_model(a, n)))
                .cloned()
                .collect();
            return Err(WorkerError::NoSuchModel {
                backend: backend.name().to_string(),
                endpoint: backend.endpoint(),
                missing,
                has: names,
            });
        }
        let shared = Arc::new(Shared {
            client: client.clone(),
            key: key.clone(),
            me,
            backend: backend.clone(),
            models: std::sync::RwLock::new(model_map(&served)),
            attempts: cfg.attempts.max(1),
            patience: cfg.chain_patience,
            backoff: cfg.backoff,
            refresh: tokio::sync::Notify::new(),
            session: new_session(),
            taken_over: tokio::sync::Notify::new(),
            speed: std::sync::Mutex::new(None),
            check_deadlines: cfg.check_deadlines,
            slots: Arc::new(tokio::sync::Semaphore::new(usize::from(
                cfg.concurrency.max(1),
            ))),
            replica: ReplicaState::new(cfg.lock.as_deref().map(crate::replica::votes_file)),
            lie_every: cfg.test_lie_every.filter(|&n| n > 0),
            served: std::sync::atomic::AtomicU64::new(0),
        });
        if let Some(n) = cfg.test_lie_every.filter(|&n| n > 0) {
            warn!("TEST ONLY: posting a made-up result on every {n}th job (--test-lie-every)");
        }
        let w = Worker {
            shared,
            cfg,
            _lock: lock,
        };
        w.claim_session().await?;
        let speed = if w.cfg.benchmark {
            w.measure_speed(&served[0]).await
        } else {
            None
        };
        w.shared.set_speed(speed);
        w.ensure_registered(&served, speed).await?;
        info!(
            worker = %me,
            backend = backend.name(),
            endpoint = %backend.endpoint(),
            models = ?served,
            concurrency = w.cfg.concurrency,
            "worker ready"
        );
        Ok(w)
    }

    /// The models served, by the backend's names.
    pub fn models(&self) -> Vec<String> {
        self.shared.served()
    }

    /// Makes sure no other daemon serves this key: a heartbeat from this session, refused by
    /// the chain while another session is online (unless taking over). A key that is not a
    /// worker yet has no session to check.
    async fn claim_session(&self) -> Result<()> {
        let sh = &self.shared;
        let current = sh.read_me().await?;
        let Some(info) = current else { return Ok(()) };
        if info.worker.status != WorkerStatus::Active {
            return Ok(());
        }
        match sh.beat(self.cfg.takeover).await {
            Ok(_) => Ok(()),
            Err(e) if session_in_use(&e) => {
                let now = sh.client.tick().await.map(|t| t.0).unwrap_or(0);
                let last = info.worker.last_heartbeat.0;
                Err(WorkerError::SessionInUse {
                    worker: sh.me,
                    last_heartbeat: last,
                    ago: now.saturating_sub(last),
                })
            }
            Err(e) => Err(WorkerError::chain("sending the first heartbeat")(e)),
        }
    }

    /// The speed on `model`, from a short generation; `None` when it fails.
    async fn measure_speed(&self, model: &str) -> Option<Speed> {
        match comqute_inference::hardware::benchmark(self.shared.backend.as_ref(), model, 32).await
        {
            Ok(b) => {
                let first_token_s = b.first_token.unwrap_or(b.wall).as_secs_f64();
                info!(model = %b.model, tokens_per_s = b.tokens_per_second, first_token_s, "benchmarked the backend");
                Some(Speed {
                    tokens_per_s: b.tokens_per_second,
                    first_token_s,
                })
            }
            Err(e) => {
                warn!(%e, "benchmark failed; the speed will be learnt from the first jobs");
                None
            }
        }
    }

    async fn ensure_registered(&self, served: &[String], speed: Option<Speed>) -> Result<()> {
        let sh = &self.shared;
        let workers = sh.client.workers();
        let current = sh.read_me().await?;
        let declared = declared_names(served);
        // Whole tokens per second for the chain (no floats there).
        let tokens_per_s = speed.map(|s| s.tokens_per_s.clamp(0.0, f64::from(u32::MAX)) as u32);
        match current {
            Some(info) if info.worker.status == WorkerStatus::Active => {
                let mut caps = info.worker.capabilities.clone();
                let mut want = caps.clone();
                want.models = declared;
                want.max_concurrent = self.cfg.concurrency;
                if let Some(t) = tokens_per_s {
                    want.tokens_per_s = t;
                }
                if let Some(p) = self.cfg.price_per_1k {
                    want.price_per_1k = p;
                }
                if want != caps {
                    info!(models = ?served, "declaring the models the backend has");
                    retry_sdk("updating capabilities", sh.patience, sh.backoff, || {
                        workers.update(&sh.key, &want)
                    })
                    .await
                    .map_err(WorkerError::chain("updating the worker's capabilities"))?;
                    caps = want;
                }
                debug!(?caps, "registered");
            }
            Some(info) if matches!(info.worker.status, WorkerStatus::Unbonding { .. }) => {
                return Err(WorkerError::Unbonding { worker: sh.me });
            }
            _ => {
                let Some(stake) = self.cfg.stake else {
                    return Err(WorkerError::NotRegistered { worker: sh.me });
                };
                let Some(price) = self.cfg.price_per_1k else {
                    return Err(WorkerError::NoPrice { worker: sh.me });
                };
                let hw = comqute_inference::hardware::detect();
                let tokens_per_s = tokens_per_s.unwrap_or(0);
                let caps = Capabilities {
                    models: declared,
                    gpu: hw
                        .gpus
                        .first()
                        .map(|g| g.name.clone())
                        .unwrap_or_else(|| "none (cpu)".into()),
                    vram_mb: hw
                        .gpus
                        .first()
                        .map_or(0, |g| u32::try_from(g.memory_mib).unwrap_or(u32::MAX)),
                    tokens_per_s,
                    price_per_1k: price,
                    max_concurrent: self.cfg.concurrency,
                };
                let n = workers
                    .register(&sh.key, &caps, stake)
                    .await
                    .map_err(WorkerError::chain("registering the worker"))?;
                info!(number = n, %stake, "registered as a worker");
                sh.beat(false)
                    .await
                    .map_err(WorkerError::chain("sending the first heartbeat"))?;
            }
        }
        Ok(())
    }

    /// Reads the backend's models again and declares what changed: new models are taken
    /// on, gone ones dropped; with none left the worker turns unavailable until one is back.
    async fn refresh_models(&self, available: &mut bool) {
        let sh = &self.shared;
        let names: Vec<String> = match sh.backend.models().await {
            Ok(m) => m.into_iter().map(|m| m.name).collect(),
            Err(e) => {
                debug!(%e, "reading the backend's models");
                return;
            }
        };
        let served = pick_models(&names, &self.cfg.models);
        if served == sh.served() {
            return;
        }
        let workers = sh.client.workers();
        if served.is_empty() {
            warn!("the backend has none of the models to serve any more; unavailable until it has");
            sh.set_models(&served);
            match workers
                .set_available_session(&sh.key, false, sh.session)
                .await
            {
                Ok(_) => *available = false,
                Err(e) => warn!(%e, "could not declare the worker unavailable"),
            }
            return;
        }
        info!(models = ?served, "the backend's models changed");
        let speed = sh.speed();
        if let Err(e) = self.ensure_registered(&served, speed).await {
            warn!("declaring the backend's models: {}", e.describe());
            return;
        }
        sh.set_models(&served);
        if !*available {
            match workers
                .set_available_session(&sh.key, true, sh.session)
                .await
            {
                Ok(_) => *available = true,
                Err(e) => warn!(%e, "could not declare the worker available"),
            }
        }
    }

    /// Works until `stop` says so; returns what it did.
    pub async fn run(self, mut stop: watch::Receiver<Stop>) -> Result<WorkerReport> {
        let sh = self.shared.clone();
        let workers = sh.client.workers();
        retry_sdk("declaring availability", sh.patience, sh.backoff, || {
            workers.set_available_session(&sh.key, true, sh.session)
        })
        .await
        .map_err(|e| {
            if session_in_use(&e) {
                WorkerError::TakenOver { refusal: e }
            } else {
                WorkerError::chain("declaring the worker available")(e)
            }
        })?;
        info!("available for jobs");

        let (wake_tx, mut wake_rx) = mpsc::channel::<u64>(1024);
        let listener = tokio::spawn(listen(sh.clone(), wake_tx));
        let beat = tokio::spawn(heartbeats(
            sh.clone(),
            self.cfg.heartbeat_ticks,
            self.cfg.scan_interval,
        ));
        let (abort_tx, abort_rx) = watch::channel(false);
        let mut tasks: JoinSet<(u64, Outcome)> = JoinSet::new();
        let mut inflight: BTreeSet<u64> = BTreeSet::new();
        let mut done: BTreeSet<u64> = BTreeSet::new();
        let mut report = WorkerReport::default();
        let mut scan = tokio::time::interval(self.cfg.scan_interval);
        scan.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut first_scan = true;
        let mut available = true;
        let mut refresh = tokio::time::interval(self.cfg.refresh_interval);
        refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        refresh.reset();

        // Replica seats run beside the jobs, sharing their concurrency slots.
        let seats = tokio::spawn(crate::replica::serve_seats(
            sh.clone(),
            self.cfg.scorer.clone(),
            self.cfg.scan_interval,
            stop.clone(),
        ));
        // A job takes a free slot or waits for the next scan; a replica run may hold one.
        let spawn = |id: u64, tasks: &mut JoinSet<(u64, Outcome)>, inflight: &mut BTreeSet<u64>| {
            if inflight.contains(&id) {
                return;
            }
            let Ok(slot) = sh.slots.clone().try_acquire_owned() else {
                return;
            };
            inflight.insert(id);
            let sh = sh.clone();
            let abort = abort_rx.clone();
            tasks.spawn(async move {
                let _slot = slot;
                (id, serve(&sh, id, abort).await)
            });
        };
        let record = |id: u64, o: Outcome, report: &mut WorkerReport, done: &mut BTreeSet<u64>| {
            match &o {
                Outcome::Delivered { tokens } => {
                    report.delivered += 1;
                    info!(job = %id, tokens, "delivered");
                }
                Outcome::Declined(why) => {
                    report.declined += 1;
                    info!(job = %id, "declined the job (free): {why}");
                }
                Outcome::Skipped(why) => {
                    // Not remembered: a job read in a passing state is looked at again.
                    debug!(job = %id, "skipped: {why}");
                    return;
                }
                Outcome::Failed(why) => {
                    report.failed += 1;
                    warn!(job = %id, "gave the job up: {why}");
                }
                Outcome::Abandoned => {
                    report.abandoned += 1;
                    warn!(job = %id, "gave the job up: stopping");
                }
                Outcome::Lost(why) => {
                    report.lost += 1;
                    warn!(job = %id, "left the job: {why}");
                }
            }
            done.insert(id);
        };

        while *stop.borrow() == Stop::Run {
            tokio::select! {
                _ = stop.changed() => {}
                _ = sh.taken_over.notified() => {
                    warn!("another daemon session took this worker over: stopping");
                    break;
                }
                Some(id) = wake_rx.recv() => {
                    if !done.contains(&id) && inflight.len() < usize::from(self.cfg.concurrency) {
                        spawn(id, &mut tasks, &mut inflight);
                    }
                }
                Some(r) = tasks.join_next() => {
                    match r {
                        Ok((id, o)) => { inflight.remove(&id); record(id, o, &mut report, &mut done); }
                        Err(e) => warn!("a job task ended abnormally: {e}"),
                    }
                }
                _ = refresh.tick() => self.refresh_models(&mut available).await,
                _ = sh.refresh.notified() => self.refresh_models(&mut available).await,
                _ = scan.tick() => {
                    match assigned_to_me(&sh, first_scan).await {
                        Ok(ids) => {
                            first_scan = false;
                            for id in ids {
                                if !done.contains(&id.0) && inflight.len() < usize::from(self.cfg.concurrency) {
                                    spawn(id.0, &mut tasks, &mut inflight);
                                }
                            }
                        }
                        Err(e) => debug!(%e, "scanning for assigned jobs"),
                    }
                }
            }
        }

        // Draining: no new jobs, let the current ones finish.
        listener.abort();
        info!(current = inflight.len(), "stopping: taking no new jobs");
        // Signing off: unavailable, and offline at once (not a heartbeat window later).
        if let Err(e) = retry_sdk("signing off", Duration::from_secs(5), sh.backoff, || {
            workers.set_available_session(&sh.key, false, sh.session)
        })
        .await
        {
            if session_in_use(&e) {
                info!("another session serves the worker now; not signing it off");
            } else {
                warn!(%e, "could not sign the worker off");
            }
        }
        let grace = tokio::time::sleep(self.cfg.grace);
        tokio::pin!(grace);
        let mut aborting = false;
        while !tasks.is_empty() {
            tokio::select! {
                r = tasks.join_next() => {
                    if let Some(Ok((id, o))) = r {
                        inflight.remove(&id);
                        record(id, o, &mut report, &mut done);
                    }
                }
                _ = &mut grace, if !aborting => {
                    warn!("grace period over: giving the current jobs up");
                    aborting = true;
                    let _ = abort_tx.send(true);
                }
                _ = stop.wait_for(|s| *s == Stop::Abort), if !aborting => {
                    warn!("stopping now: giving the current jobs up");
                    aborting = true;
                    let _ = abort_tx.send(true);
                }
            }
        }
        // Seats still held get what is left of the grace period to reveal.
        if !seats.is_finished() {
            info!("waiting for the replica seats held to reveal");
        }
        let mut seats = seats;
        tokio::select! {
            _ = &mut seats => {}
            _ = &mut grace => {
                warn!("grace period over: leaving the replica seats still held");
                seats.abort();
            }
            _ = stop.wait_for(|s| *s == Stop::Abort), if !aborting => seats.abort(),
        }
        beat.abort();
        info!("worker stopped: {report}");
        Ok(report)
    }
}

/// Forwards the ids of jobs assigned to this worker from the event feed.
async fn listen(sh: Arc<Shared>, wake: mpsc::Sender<u64>) {
    loop {
        let head = match sh.client.event_head().await {
            Ok(h) => h,
            Err(e) => {
                debug!(%e, "event head");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let mut events = sh.client.subscribe(head);
        while let Some(item) = events.next().await {
            if let Ok(e) = &item {
                if let Some(ce) = e.check() {
                    crate::replica::on_event(&sh, &ce);
                    continue;
                }
            }
            match item {
                Ok(e) => match e.job() {
                    // The daemon is stopping when nobody takes the wake-ups any more.
                    Some(JobEvent::Assigned { job_id, worker, .. })
                        if worker == sh.me && wake.send(job_id.0).await.is_err() =>
                    {
                        return;
                    }
                    Some(JobEvent::Expired {
                        job_id,
                        worker: Some(w),
                        slashed,
                        reason,
                        ..
                    }) if w == sh.me => {
                        warn!(job = %job_id, %slashed, "SLASHED {slashed} of stake: {reason}");
                    }
                    Some(JobEvent::Verified {
                        job_id,
                        slashed,
                        forced,
                        ..
                    }) if slashed > Amount::ZERO => {
                        if let Ok(Some(j)) = sh.client.jobs().get(job_id.0).await {
                            if j.worker == Some(WorkerId(sh.me)) {
                                let how = if forced {
                                    "a forced verdict"
                                } else {
                                    "its replicas"
                                };
                                warn!(job = %job_id, %slashed, "SLASHED {slashed} of stake: the result failed its check ({how})");
                            }
                        }
                    }
                    Some(JobEvent::Declined {
                        job_id,
                        worker,
                        answered: false,
                        reason,
                        ..
                    }) if worker == sh.me => {
                        warn!(job = %job_id, "missed an offer (reputation lost): {reason}");
                    }
                    _ => {}
                },
                Err(e) => debug!(%e, "event feed"),
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Heartbeats every `every` ticks, checking the tick each `poll`.
async fn heartbeats(sh: Arc<Shared>, every: u32, poll: Duration) {
    let workers = sh.client.workers();
    // `run` has just sent one.
    let mut last: Option<u32> = sh.client.tick().await.ok().map(|t| t.0);
    loop {
        tokio::time::sleep(poll).await;
        let now = match sh.client.tick().await {
            Ok(t) => t.0,
            Err(e) => {
                debug!(%e, "reading the tick for the heartbeat");
                continue;
            }
        };
        if last.is_some_and(|l| now < l.saturating_add(every.max(1))) {
            continue;
        }
        let hb = comqute_sdk::contracts::worker_registry::Heartbeat {
            session: sh.session,
            takeover: false,
        };
        match workers.heartbeat_session(&sh.key, &hb).await {
            Ok(_) => {
                debug!(tick = now, "heartbeat");
                last = Some(now);
            }
            Err(e) if session_in_use(&e) => {
                sh.taken_over.notify_one();
                return;
            }
            Err(e) => warn!(%e, "heartbeat failed; trying again"),
        }
    }
}

/// Ids of the jobs assigned to this worker (and, on the first scan, the ones it was running
/// when it stopped last time).
async fn assigned_to_me(sh: &Shared, include_running: bool) -> Result<Vec<JobId>, SdkError> {
    let jobs = sh.client.jobs();
    let mut ids = Vec::new();
    let statuses: &[JobStatus] = if include_running {
        &[JobStatus::Assigned, JobStatus::Running]
    } else {
        &[JobStatus::Assigned]
    };
    for &status in statuses {
        let mut cursor = None;
        loop {
            let page = jobs.by_status(status, cursor, 100).await?;
            ids.extend(
                page.jobs
                    .iter()
                    .filter(|j| j.worker == Some(WorkerId(sh.me)))
                    .map(|j| j.id),
            );
            match page.next_cursor {
                Some(c) => cursor = Some(c.0),
                None => break,
            }
        }
    }
    Ok(ids)
}

/// Why a job task stopped early.
enum Stopped {
    /// Turn the offer down on chain (free): this reason.
    Decline(String),
    /// Give the job up on chain: this reason.
    Fail(String),
    /// The daemon is stopping.
    Abort,
    /// Nothing to do (the job is not this worker's to run).
    Skip(String),
    /// The chain could not be told.
    Lost(String),
}

impl Shared {
    /// The backend's name for a model id, if it is served.
    pub(crate) fn model_name(&self, id: &Hash32) -> Option<String> {
        // A poisoned lock only means a panic elsewhere; the map itself is always whole.
        let m = self.models.read().unwrap_or_else(|p| p.into_inner());
        m.get(id).cloned()
    }

    /// The models served, by the backend's names, sorted.
    fn served(&self) -> Vec<String> {
        let m = self.models.read().unwrap_or_else(|p| p.into_inner());
        let set: BTreeSet<&String> = m.values().collect();
        set.into_iter().cloned().collect()
    }

    fn set_models(&self, served: &[String]) {
        let mut m = self.models.write().unwrap_or_else(|p| p.into_inner());
        *m = model_map(served);
    }

    pub(crate) async fn job(&self, id: u64) -> Result<Option<Job>, SdkError> {
        let jobs = self.client.jobs();
        retry_sdk("reading the job", self.patience, self.backoff, || {
            jobs.get(id)
        })
        .await
    }

    /// A chain operation on job `id`, retried while the node cannot be reached; after a
    /// failure the job is read back and `done` says whether the operation took effect anyway
    /// (its answer was lost).
    async fn job_op<F, Fut>(
        &self,
        what: &str,
        id: u64,
        mut op: F,
        done: impl Fn(&Job) -> bool,
    ) -> Result<(), SdkError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<comqute_sdk::TxReceipt, SdkError>>,
    {
        let started = tokio::time::Instant::now();
        let mut attempt = 0;
        loop {
            let err = match op().await {
                Ok(_) => return Ok(()),
                Err(e) => e,
            };
            if let Ok(Some(j)) = self.client.jobs().get(id).await {
                if done(&j) {
                    return Ok(());
                }
            }
            if !sdk_transient(&err) || started.elapsed() >= self.patience {
                return Err(err);
            }
            let wait = backoff_for(self.backoff, attempt);
            warn!(job = %id, %err, "{what}: retrying in {wait:?}");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// Gives job `id` up on chain with `reason` (FAIL; a job not started is declined).
    async fn give_up(&self, id: u64, reason: &str) -> Result<(), SdkError> {
        let me = self.me;
        let jobs = self.client.jobs();
        self.job_op(
            "FAIL",
            id,
            || jobs.fail(&self.key, id, reason),
            |j| {
                j.worker != Some(WorkerId(me))
                    || !matches!(j.status, JobStatus::Assigned | JobStatus::Running)
            },
        )
        .await
    }

    /// Declines the offer of job `id` with `reason` (free of charge).
    async fn decline(&self, id: u64, reason: &str) -> Result<(), SdkError> {
        let me = self.me;
        let jobs = self.client.jobs();
        self.job_op(
            "DECLINE",
            id,
            || jobs.decline(&self.key, id, reason),
            |j| j.worker != Some(WorkerId(me)) || j.status != JobStatus::Assigned,
        )
        .await
    }

    /// This worker's record, retried while the node cannot be reached.
    async fn read_me(&self) -> Result<Option<comqute_sdk::contracts::worker_registry::WorkerInfo>> {
        let workers = self.client.workers();
        retry_sdk("reading the worker", self.patience, self.backoff, || {
            workers.get(&self.me)
        })
        .await
        .map_err(WorkerError::chain("reading the worker's registration"))
    }

    /// A heartbeat from this daemon's session, retried while the node cannot be reached.
    async fn beat(&self, takeover: bool) -> Result<comqute_sdk::TxReceipt, SdkError> {
        let hb = comqute_sdk::contracts::worker_registry::Heartbeat {
            session: self.session,
            takeover,
        };
        let workers = self.client.workers();
        retry_sdk("heartbeat", self.patience, self.backoff, || {
            workers.heartbeat_session(&self.key, &hb)
        })
        .await
    }

    /// The measured speed.
    fn speed(&self) -> Option<Speed> {
        *self.speed.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set_speed(&self, s: Option<Speed>) {
        *self.speed.lock().unwrap_or_else(|p| p.into_inner()) = s;
    }

    /// Folds a served job's speed into the estimate: a slower reading replaces it at once, a
    /// faster one moves it a fifth of the way (a deadline missed costs stake; a job declined
    /// costs nothing).
    fn observe_speed(&self, g: &Generation) {
        let Some(s) = g.tokens_per_second() else {
            return;
        };
        if !(s.is_finite() && s > 0.0) || g.output_tokens < 8 {
            return;
        }
        let first = g.timings.first_token.unwrap_or_default().as_secs_f64();
        let mut cur = self.speed.lock().unwrap_or_else(|p| p.into_inner());
        *cur = Some(match *cur {
            None => Speed {
                tokens_per_s: s,
                first_token_s: first,
            },
            Some(c) => Speed {
                tokens_per_s: if s < c.tokens_per_s {
                    s
                } else {
                    c.tokens_per_s * 0.8 + s * 0.2
                },
                first_token_s: if first > c.first_token_s {
                    first
                } else {
                    c.first_token_s * 0.8 + first * 0.2
                },
            },
        });
    }
}

/// Runs one job to its end for this worker.
async fn serve(sh: &Shared, id: u64, mut abort: watch::Receiver<bool>) -> Outcome {
    let r = tokio::select! {
        r = run_job(sh, id) => r,
        _ = abort.wait_for(|a| *a) => Err(Stopped::Abort),
    };
    match r {
        Ok(tokens) => Outcome::Delivered { tokens },
        Err(Stopped::Skip(why)) => Outcome::Skipped(why),
        Err(Stopped::Lost(why)) => Outcome::Lost(why),
        Err(Stopped::Decline(why)) => match sh.decline(id, &why).await {
            Ok(()) => Outcome::Declined(why),
            Err(e) => Outcome::Lost(format!("{why}; and DECLINE could not be sent: {e}")),
        },
        Err(Stopped::Fail(why)) => match sh.give_up(id, &why).await {
            Ok(()) => Outcome::Failed(why),
            Err(e) => Outcome::Lost(format!("{why}; and FAIL could not be sent: {e}")),
        },
        Err(Stopped::Abort) => match sh.give_up(id, "the worker daemon was stopped").await {
            Ok(()) => Outcome::Abandoned,
            Err(e) => Outcome::Lost(format!("stopping; FAIL could not be sent: {e}")),
        },
    }
}

async fn run_job(sh: &Shared, id: u64) -> Result<u32, Stopped> {
    let lost = |what: &str, e: SdkError| Stopped::Lost(format!("{what}: {e}"));
    let jobs = sh.client.jobs();
    let job = sh
        .job(id)
        .await
        .map_err(|e| lost("reading the job", e))?
        .ok_or_else(|| Stopped::Skip("no such job".into()))?;
    if job.worker != Some(WorkerId(sh.me)) {
        return Err(Stopped::Skip("assigned to another worker".into()));
    }
    let model = sh.model_name(&job.spec.model);
    let (prompt, model) = match job.status {
        JobStatus::Assigned => {
            // Accept or decline: nothing is started that cannot be delivered.
            let Some(model) = model else {
                sh.refresh.notify_one();
                return Err(Stopped::Decline(format!(
                    "model {} is not served by this worker",
                    job.spec.model
                )));
            };
            // The offer must be answered in time: a missing prompt is declined (free) well
            // before the answer deadline, never left to lapse.
            let tick_ms = sh.client.tick_info().await.map_or(0, |t| t.duration);
            let patience = match (job.deadline, sh.client.tick().await) {
                (Some(d), Ok(now)) if tick_ms > 0 => sh.patience.min(
                    Duration::from_millis(u64::from(tick_ms))
                        .saturating_mul(d.0.saturating_sub(now.0))
                        / 2,
                ),
                _ => sh.patience,
            };
            let prompt = fetch_prompt(sh, &job, patience)
                .await
                .map_err(|e| match e {
                    Stopped::Fail(why) => Stopped::Decline(why),
                    other => other,
                })?;
            if let Err(e) = std::str::from_utf8(&prompt) {
                return Err(Stopped::Decline(format!(
                    "the prompt is not UTF-8 text (invalid byte at offset {})",
                    e.valid_up_to()
                )));
            }
            if sh.check_deadlines {
                fits_deadline(
                    job.spec.max_output_tokens,
                    job.spec.prompt_size,
                    job.spec.timeout_ticks,
                    tick_ms,
                    sh.speed(),
                )
                .map_err(Stopped::Decline)?;
            }
            let me = sh.me;
            sh.job_op(
                "START",
                id,
                || jobs.start(&sh.key, id),
                |j| j.status == JobStatus::Running && j.worker == Some(WorkerId(me)),
            )
            .await
            .map_err(|e| lost("START", e))?;
            info!(job = %id, "started: accepted the delivery deadline");
            (prompt, model)
        }
        JobStatus::Running => {
            info!(job = %id, "resuming a job started before");
            let Some(model) = model else {
                sh.refresh.notify_one();
                return Err(Stopped::Fail(format!(
                    "model {} is not served here",
                    job.spec.model
                )));
            };
            (fetch_prompt(sh, &job, sh.patience).await?, model)
        }
        other => return Err(Stopped::Skip(format!("it is {}", other.name()))),
    };
    let req = comqute_inference::job::request_for_job(&job.spec, &model, &prompt)
        .map_err(|e| Stopped::Fail(e.to_string()))?;
    let mut stream = Streamer::new(jobs.token_writer(&sh.key, id), sh.patience);
    let clock = TickClock::start(sh).await;
    let deadline = sh.job(id).await.ok().flatten().and_then(|j| j.deadline);
    let g = generate(
        sh,
        id,
        &req,
        &mut stream,
        deadline.map(|d| (d.0, clock)),
        job.spec.timeout_ticks,
    )
    .await?;
    stream.finish().await;
    sh.observe_speed(&g);
    let tokens = if g.output_tokens > job.spec.max_output_tokens {
        warn!(
            job = id,
            reported = g.output_tokens,
            "the backend counted more tokens than the job allows; posting the job's maximum"
        );
        job.spec.max_output_tokens
    } else {
        g.output_tokens
    };
    let served = sh
        .served
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        .saturating_add(1);
    let text: std::borrow::Cow<'_, str> = match sh.lie_every {
        Some(n) if served.is_multiple_of(u64::from(n)) => {
            warn!(job = %id, "TEST ONLY: posting a made-up result (--test-lie-every)");
            format!("{} [made up]", g.text).into()
        }
        _ => g.text.as_str().into(),
    };
    let hash = retry_sdk("uploading the result", sh.patience, sh.backoff, || {
        sh.client.put_blob_as(&sh.key, text.as_bytes())
    })
    .await
    .map_err(|e| lost("uploading the result", e))?;
    let result = JobResult {
        result_hash: hash,
        output_tokens: tokens,
        runtime: g.runtime.fingerprint,
    };
    sh.job_op(
        "POST_RESULT",
        id,
        || jobs.post_result(&sh.key, id, result),
        |j| j.result.is_some_and(|r| r.result_hash == hash),
    )
    .await
    .map_err(|e| lost("POST_RESULT", e))?;
    info!(job = %id, %hash, tokens, runtime = %g.runtime.engine, "result posted");
    Ok(tokens)
}

/// The job's prompt, checked against its hash. A prompt that is not there yet is waited for
/// a little (the requester may upload it after submitting).
async fn fetch_prompt(sh: &Shared, job: &Job, patience: Duration) -> Result<Vec<u8>, Stopped> {
    let started = tokio::time::Instant::now();
    let mut attempt = 0;
    loop {
        match sh.client.get_blob(&job.spec.prompt_hash).await {
            Ok(p) => return Ok(p),
            Err(SdkError::HashMismatch { expected, got }) => {
                return Err(Stopped::Fail(format!(
                    "the node's prompt blob hashes to {got}, not the job's {expected}"
                )))
            }
            Err(e)
                if (sdk_transient(&e) || matches!(e, SdkError::NotFound(_)))
                    && started.elapsed() < patience =>
            {
                let wait = backoff_for(sh.backoff, attempt);
                debug!(job = %job.id, %e, "prompt not available yet; retrying in {wait:?}");
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
            Err(e) => {
                return Err(Stopped::Fail(format!(
                    "the prompt could not be fetched: {e}"
                )))
            }
        }
    }
}

/// When the job started running, in ticks and wall time: how long a tick takes on this node.
#[derive(Clone, Copy)]
struct TickClock {
    tick: u32,
    at: tokio::time::Instant,
}

impl TickClock {
    async fn start(sh: &Shared) -> Option<TickClock> {
        let tick = sh.client.tick().await.ok()?.0;
        Some(TickClock {
            tick,
            at: tokio::time::Instant::now(),
        })
    }

    /// Wall time left until tick `deadline`, estimated from the ticks seen since the start;
    /// `None` when unknown.
    async fn left(&self, sh: &Shared, deadline: u32) -> Option<Duration> {
        let now = sh.client.tick().await.ok()?.0;
        let advanced = now.checked_sub(self.tick).filter(|&a| a > 0)?;
        let per_tick = self.at.elapsed() / advanced;
        Some(per_tick.saturating_mul(deadline.saturating_sub(now)))
    }
}

/// Runs the request, retrying transient backend failures while another attempt can still
/// end before the job's deadline (an expired job costs the worker stake; a FAIL does not).
async fn generate(
    sh: &Shared,
    id: u64,
    req: &comqute_inference::GenerateRequest,
    stream: &mut Streamer,
    deadline: Option<(u32, Option<TickClock>)>,
    window: u32,
) -> Result<Generation, Stopped> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let (sink, rx) = TokenSink::channel();
        let began = tokio::time::Instant::now();
        let work = async { tokio::join!(sh.backend.generate(req, sink), stream.forward(rx)) };
        let (r, ()) = match deadline {
            Some((d, _)) => tokio::select! {
                x = work => x,
                margin = near_deadline(sh, d, window) => {
                    return Err(Stopped::Fail(format!(
                        "the generation was not done {margin} ticks before the delivery deadline, tick {d}"
                    )))
                }
            },
            None => work.await,
        };
        match r {
            Ok(g) => return Ok(g),
            Err(e) if e.is_transient() && attempt < sh.attempts => {
                let wait = backoff_for(sh.backoff, attempt - 1).max(Duration::from_millis(200));
                if let Some((d, Some(clock))) = deadline {
                    if let Some(left) = clock.left(sh, d).await {
                        if left < began.elapsed() + wait {
                            return Err(Stopped::Fail(format!(
                                "{}; the job's deadline (tick {d}, about {left:?} away) leaves no time to retry",
                                describe_failure(&e, attempt)
                            )));
                        }
                    }
                }
                warn!(job = %id, attempt, %e, "the backend failed; retrying in {wait:?}");
                tokio::time::sleep(wait).await;
            }
            Err(e) => {
                if matches!(e, InferenceError::ModelNotFound { .. }) {
                    sh.refresh.notify_one();
                }
                return Err(Stopped::Fail(describe_failure(&e, attempt)));
            }
        }
    }
}

/// Returns (with the margin used) once the chain is within a margin of tick `deadline`, so
/// that a FAIL still lands in time: half a second's worth of ticks, at least two, at most a
/// quarter of the job's `window` (its timeout in ticks).
async fn near_deadline(sh: &Shared, deadline: u32, window: u32) -> u32 {
    let tick_ms = sh.client.tick_info().await.map_or(0, |t| t.duration);
    let margin = if tick_ms == 0 {
        2
    } else {
        500u32.div_ceil(tick_ms).min(window / 4).max(2)
    };
    loop {
        if let Ok(t) = sh.client.tick().await {
            if t.0.saturating_add(margin) >= deadline {
                return margin;
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn describe_failure(e: &InferenceError, attempts: u32) -> String {
    if e.is_transient() {
        format!("the backend failed {attempts} times; last: {e}")
    } else {
        format!("the backend cannot run it: {e}")
    }
}

/// Pushes a job's output to the node as it is generated, across retries: only text that
/// extends what was already pushed goes out. A node that does not answer (restarting, say)
/// is retried for the chain patience while the text generated meanwhile gathers into the
/// next push, so the stream a requester replays after the restart is whole.
struct Streamer {
    writer: TokenWriter,
    pushed: String,
    broken: bool,
    patience: Duration,
}

impl Streamer {
    fn new(writer: TokenWriter, patience: Duration) -> Streamer {
        Streamer {
            writer,
            pushed: String::new(),
            broken: false,
            patience,
        }
    }

    /// One push, retried with backoff (50 ms doubling to 1 s) while the node's answer
    /// says it may succeed later and the patience lasts. A push that landed before its
    /// answer was lost is accepted again as the same chunk.
    async fn push(&mut self, text: &str, done: bool) -> Result<(), SdkError> {
        let start = std::time::Instant::now();
        let mut wait = Duration::from_millis(50);
        loop {
            let r = if done {
                self.writer.finish(text).await
            } else {
                self.writer.write(text).await
            };
            match r {
                Err(e) if e.is_transient() && start.elapsed() + wait < self.patience => {
                    debug!(%e, "token push: retrying");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(1));
                }
                r => return r,
            }
        }
    }

    async fn forward(&mut self, mut rx: mpsc::UnboundedReceiver<String>) {
        let mut attempt = String::new();
        while let Some(piece) = rx.recv().await {
            attempt.push_str(&piece);
            // Everything already waiting goes out in the same push.
            while let Ok(more) = rx.try_recv() {
                attempt.push_str(&more);
            }
            if self.broken {
                continue;
            }
            if attempt.len() <= self.pushed.len() {
                if !self.pushed.starts_with(attempt.as_str()) {
                    self.stop_streaming("a retry produced different text");
                }
                continue;
            }
            if !attempt.starts_with(self.pushed.as_str()) {
                self.stop_streaming("a retry produced different text");
                continue;
            }
            let new = &attempt[self.pushed.len()..];
            let new = new.to_owned();
            match self.push(&new, false).await {
                Ok(()) => self.pushed.push_str(&new),
                Err(e) => self.stop_streaming(&format!("the node refused tokens: {e}")),
            }
        }
    }

    fn stop_streaming(&mut self, why: &str) {
        warn!("token stream stopped: {why}; the result is still posted");
        self.broken = true;
    }

    async fn finish(&mut self) {
        if !self.broken {
            if let Err(e) = self.push("", true).await {
                debug!(%e, "closing the token stream");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latest_is_the_default_tag() {
        assert!(same_model("llama3", "llama3:latest"));
        assert!(same_model("llama3:latest", "llama3:latest"));
        assert!(same_model(" qwen2:0.5b ", "qwen2:0.5b"));
        assert!(!same_model("llama3", "llama3:8b"));
        assert!(!same_model("llama3:8b", "llama3:70b"));
    }

    #[test]
    fn deadlines_are_checked_against_the_measured_speed() {
        let sp = Some(Speed {
            tokens_per_s: 20.0,
            first_token_s: 0.5,
        });
        // 500 tokens at 20/s: 0.75 + 25 s, × 1.5 ≈ 38.6 s.
        let e = fits_deadline(500, 0, 3, 1000, sp).unwrap_err();
        assert!(e.contains("ask for at least 39 ticks"), "{e}");
        assert!(fits_deadline(500, 0, 39, 1000, sp).is_ok());
        assert!(fits_deadline(500, 0, 38, 1000, sp).is_err());
        // A long prompt needs time too.
        assert!(fits_deadline(10, 400_000, 39, 1000, sp).is_err());
        // Unknown speed or a node without a tick clock: taken as reachable.
        assert!(fits_deadline(500, 0, 3, 1000, None).is_ok());
        assert!(fits_deadline(500, 0, 3, 0, sp).is_ok());
    }

    #[test]
    fn ollama_latest_names_are_declared_both_ways() {
        assert_eq!(
            declared_names(&["llama3:latest".into(), "qwen2:0.5b".into()]),
            vec!["llama3:latest", "llama3", "qwen2:0.5b"]
        );
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let b = Duration::from_millis(100);
        assert_eq!(backoff_for(b, 0), b);
        assert_eq!(backoff_for(b, 1), b * 2);
        assert_eq!(backoff_for(b, 3), b * 8);
        assert_eq!(backoff_for(b, 30), b * 8);
    }

    #[test]
    fn only_transport_trouble_is_transient() {
        assert!(sdk_transient(&SdkError::Http("connection refused".into())));
        assert!(sdk_transient(&SdkError::Node {
            status: 503,
            code: "busy".into(),
            message: String::new()
        }));
        assert!(!sdk_transient(&SdkError::Node {
            status: 404,
            code: "not_found".into(),
            message: String::new()
        }));
        assert!(!sdk_transient(&SdkError::NotFound("x".into())));
    }
}

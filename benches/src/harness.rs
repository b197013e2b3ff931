//! The harness's figures of issue 9, measured in one run: what `comqute bench harness`
//! prints and what the criterion suite (`benches/benches/harness.rs`) measures again.
//!
//! Every figure is taken on one core (the ledger never spawns threads below 32 signed
//! transactions a tick, and the harness submits unsigned ones) and reads the clock only
//! here, around the ledger calls. The clock is the thread's **on-CPU time**
//! (`CLOCK_THREAD_CPUTIME_ID`): the machine is shared with other builds, and wall time there
//! counts the time other processes hold the core. [`HarnessFigures::wall_over_cpu`] says how
//! much the two differed during the run.

use comqute_market::JobId;
use std::time::{Duration, Instant};

/// A start point on both clocks: the thread's CPU time and the wall clock.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    cpu: Duration,
    wall: Instant,
}

// The one unsafe call of the bench crate: reading a clock the standard library does not offer.
#[allow(unsafe_code)]
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant Linux knows.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

impl Clock {
    /// Now.
    pub fn now() -> Clock {
        Clock {
            cpu: thread_cpu(),
            wall: Instant::now(),
        }
    }
    /// The thread's CPU time since `self` (the wall time when no CPU clock is available).
    pub fn elapsed(&self) -> Duration {
        let cpu = thread_cpu().saturating_sub(self.cpu);
        if cpu.is_zero() {
            self.wall.elapsed()
        } else {
            cpu
        }
    }
    /// Wall time since `self`.
    pub fn wall(&self) -> Duration {
        self.wall.elapsed()
    }
}

use comqute_ledger::invariants::InvariantRunner;
use comqute_ledger::{DigestPolicy, Ledger, LedgerBuilder, LedgerError, Transaction};
use comqute_market::harness::MarketModel;
use comqute_market::job_registry::{
    Job, JobRef, JobSpec, JobStatus, PostResult, Sampling, GET_JOB, POST_RESULT, START, SUBMIT,
};
use comqute_market::worker_registry::{Capabilities, SetAvailable, REGISTER, SET_AVAILABLE};
use comqute_market::{model_id, MarketConfig, JOB_REGISTRY, WORKER_REGISTRY};
use comqute_qpi::contract::encode;
use comqute_qpi::{Amount, Hash32, Identity, Tick};

/// The marketplace settings of the scenarios: the default ones, with a short challenge
/// window so a scenario is a handful of ticks.
pub fn scenario_config() -> MarketConfig {
    MarketConfig {
        jobs: comqute_market::job_registry::JobConfig {
            challenge_window: 3,
            ..MarketConfig::default().jobs
        },
        ..MarketConfig::default()
    }
}

/// The requester of the scenarios.
pub const REQUESTER: Identity = Identity([0xA1; 32]);
/// The worker of the scenarios.
pub const WORKER: Identity = Identity([0xB2; 32]);

/// A builder with the three marketplace contracts and `funded` identities holding
/// 1,000,000,000 each.
pub fn market_builder(config: MarketConfig, funded: &[Identity]) -> LedgerBuilder {
    let mut b = Ledger::builder();
    for c in comqute_market::contracts(config) {
        b = b.contract_arc(c);
    }
    for id in funded {
        b = b.fund(*id, Amount(1_000_000_000));
    }
    b
}

/// The shared genesis of the scenarios: the marketplace, a funded requester and worker.
pub fn scenario_genesis() -> Result<Ledger, LedgerError> {
    scenario_genesis_with(DigestPolicy::OnDemand)
}

/// [`scenario_genesis`] hashing its state by `policy` (per tick: a node's figure).
pub fn scenario_genesis_with(policy: DigestPolicy) -> Result<Ledger, LedgerError> {
    market_builder(scenario_config(), &[REQUESTER, WORKER])
        .digests(policy)
        .build()
}

fn llama() -> Hash32 {
    model_id("llama3.2:1b")
}

/// The job every scenario submits: 1,000 tokens at most 2,000 per 1k, 50 ticks.
pub fn scenario_spec(nonce: u64) -> JobSpec {
    JobSpec {
        model: llama(),
        prompt_hash: Hash32::of(&nonce.to_le_bytes()),
        prompt_size: 20,
        max_output_tokens: 1_000,
        max_price_per_1k: Amount(2_000),
        timeout_ticks: 50,
        min_reputation: 0,
        sampling: Sampling {
            seed: nonce,
            temperature_milli: 0,
        },
    }
}

fn queue(
    l: &mut Ledger,
    who: Identity,
    contract: comqute_qpi::ContractIndex,
    procedure: u16,
    input: Vec<u8>,
    amount: i64,
) -> Result<(), LedgerError> {
    let tx = Transaction::call(
        who,
        contract,
        Amount(amount),
        l.next_tick(),
        procedure,
        input,
    );
    l.submit_unsigned(tx).map(|_| ())
}

/// The whole happy path of one job on `l` (a fork of [`scenario_genesis`]): the worker
/// registers and lists itself, the requester submits, the END_TICK matcher assigns, the
/// worker starts and posts a result, the challenge window passes, END_TICK finalizes and
/// pays. Returns the job id. Unsigned, one tick per step.
pub fn happy_path(l: &mut Ledger, nonce: u64) -> Result<u64, LedgerError> {
    let caps = Capabilities {
        models: vec!["llama3.2:1b".into()],
        gpu: "RTX 4090".into(),
        vram_mb: 24_576,
        tokens_per_s: 120,
        price_per_1k: Amount(1_000),
        max_concurrent: 2,
    };
    let stake = scenario_config().workers.min_stake.0;
    queue(
        l,
        WORKER,
        WORKER_REGISTRY,
        REGISTER.number(),
        encode(&caps),
        stake,
    )?;
    l.process_tick()?;
    let available = encode(&SetAvailable {
        available: true,
        session: 0,
    });
    queue(
        l,
        WORKER,
        WORKER_REGISTRY,
        SET_AVAILABLE.number(),
        available,
        0,
    )?;
    l.process_tick()?;
    // Submit; the END_TICK of the same tick matches it with the worker.
    queue(
        l,
        REQUESTER,
        JOB_REGISTRY,
        SUBMIT.number(),
        encode(&scenario_spec(nonce)),
        2_000,
    )?;
    l.process_tick()?;
    let job_id = 1;
    let jr = encode(&JobRef {
        job_id: JobId(job_id),
    });
    queue(l, WORKER, JOB_REGISTRY, START.number(), jr, 0)?;
    l.process_tick()?;
    let post = PostResult {
        job_id: JobId(job_id),
        result: comqute_market::job_registry::JobResult {
            result_hash: Hash32::of(b"the sky scatters blue light"),
            output_tokens: 800,
            runtime: Hash32::ZERO,
        },
    };
    queue(
        l,
        WORKER,
        JOB_REGISTRY,
        POST_RESULT.number(),
        encode(&post),
        0,
    )?;
    l.process_tick()?;
    // The challenge window; END_TICK of its last tick finalizes and pays.
    l.advance_ticks(scenario_config().jobs.challenge_window + 1)?;
    Ok(job_id)
}

/// Whether job `id` on `l` is finalized with the expected payment (800 tokens at 1,000 per
/// 1k = 800: 720 to the worker, 80 as the verification fee).
pub fn check_paid(l: &Ledger, id: u64) -> Result<(), String> {
    let job: Option<Job> = l
        .query_fn(GET_JOB, &JobRef { job_id: JobId(id) })
        .map_err(|e| e.to_string())?;
    match job {
        Some(j)
            if j.status == JobStatus::Finalized && (j.paid, j.fee) == (Amount(720), Amount(80)) =>
        {
            Ok(())
        }
        other => Err(format!("job {id} not finalized and paid: {other:?}")),
    }
}

/// The issue-9 figures, as measured.
#[derive(Debug, Clone, Default)]
pub struct HarnessFigures {
    /// One plain unsigned transfer through `Ledger::execute` (submit, tick, receipt), with
    /// the default settings (full history kept, digests on demand), in ns.
    pub unsigned_transfer_ns: f64,
    /// The same with digests per tick (`DigestPolicy::PerTick`, a node's), in ns.
    pub unsigned_transfer_node_ns: f64,
    /// Heap bytes of the history per kept transfer after the default run (each alone in its
    /// tick, as `execute` runs it): [`Ledger::history_bytes`] over the receipts kept.
    pub history_bytes_per_kept_transfer: f64,
    /// The same with `LedgerConfig::history` keeping the last 1,024 ticks, in ns.
    pub unsigned_transfer_bounded_history_ns: f64,
    /// Transfers queued 1,024 to a tick, per transfer (a batched figure, not one `execute`).
    pub batched_transfer_ns: f64,
    /// Whole job happy paths per second, each on a fresh fork of one genesis (digests on
    /// demand, none asked for).
    pub scenarios_per_s: f64,
    /// The same with digests per tick (a node's).
    pub scenarios_per_s_node: f64,
    /// Snapshot, one change, restore with 1,000,000 live jobs and 100,000 funded identities.
    pub snapshot_restore_ns_1m: f64,
    /// The same with 1,000 live jobs.
    pub snapshot_restore_ns_1k: f64,
    /// `snapshot_restore_ns_1m / snapshot_restore_ns_1k`.
    pub snapshot_restore_ratio_1m_vs_1k: f64,
    /// Warping 1,000,000 idle ticks on the marketplace genesis (100 epoch boundaries), in ms.
    pub warp_1m_idle_ticks_ms: f64,
    /// A new ledger with the three marketplace contracts at genesis, in µs.
    pub harness_start_us: f64,
    /// A fork of the marketplace genesis, in ns.
    pub fork_ns: f64,
    /// Sequences of 50 random marketplace actions with every invariant checked after every
    /// tick, per second.
    pub invariant_runs_per_s: f64,
    /// Jobs actually live in the 1M state (a check of the setup).
    pub live_jobs_1m: u64,
    /// The pools scenario (issue 19, [`measure_pools`]): whole runs per second.
    pub pools_scenarios_per_s: f64,
    /// The pools scenario: settled jobs per second.
    pub pools_jobs_per_s: f64,
    /// The pools scenario: the oracle's cost per settled job, ns.
    pub oracle_ns_per_settled_job: f64,
    /// Wall time over on-CPU time for the whole run: 1.0 on a quiet machine.
    pub wall_over_cpu: f64,
}

impl HarnessFigures {
    /// The figures as one JSON object (issue 9's keys plus the extra figures).
    pub fn to_json(&self) -> String {
        format!(
            concat!(
                "{{\"unsigned_transfer_ns\":{:.0},\"unsigned_transfer_node_ns\":{:.0},",
                "\"history_bytes_per_kept_transfer\":{:.1},",
                "\"unsigned_transfer_bounded_history_ns\":{:.0},",
                "\"batched_transfer_ns\":{:.0},\"scenarios_per_s\":{:.0},",
                "\"scenarios_per_s_node\":{:.0},",
                "\"snapshot_restore_ns_1m\":{:.0},\"snapshot_restore_ns_1k\":{:.0},",
                "\"snapshot_restore_ratio_1m_vs_1k\":{:.2},\"warp_1m_idle_ticks_ms\":{:.3},",
                "\"harness_start_us\":{:.1},\"fork_ns\":{:.0},\"invariant_runs_per_s\":{:.0},",
                "\"live_jobs_1m\":{},\"pools_scenarios_per_s\":{:.3},\"pools_jobs_per_s\":{:.0},",
                "\"oracle_ns_per_settled_job\":{:.0},",
                "\"clock\":\"thread_cpu\",\"wall_over_cpu\":{:.2}}}"
            ),
            self.unsigned_transfer_ns,
            self.unsigned_transfer_node_ns,
            self.history_bytes_per_kept_transfer,
            self.unsigned_transfer_bounded_history_ns,
            self.batched_transfer_ns,
            self.scenarios_per_s,
            self.scenarios_per_s_node,
            self.snapshot_restore_ns_1m,
            self.snapshot_restore_ns_1k,
            self.snapshot_restore_ratio_1m_vs_1k,
            self.warp_1m_idle_ticks_ms,
            self.harness_start_us,
            self.fork_ns,
            self.invariant_runs_per_s,
            self.live_jobs_1m,
            self.pools_scenarios_per_s,
            self.pools_jobs_per_s,
            self.oracle_ns_per_settled_job,
            self.wall_over_cpu,
        )
    }
}

/// How much to measure.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    /// Live jobs of the big snapshot state.
    pub big_jobs: u64,
    /// Funded identities of the big snapshot state.
    pub big_identities: u32,
    /// Repetitions of the timed loops.
    pub reps: u32,
    /// Invariant sequences to play.
    pub invariant_cases: u32,
}

impl Sizes {
    /// Issue 9's sizes.
    pub fn full() -> Sizes {
        Sizes {
            big_jobs: 1_000_000,
            big_identities: 100_000,
            reps: 200_000,
            invariant_cases: 200,
        }
    }
    /// A quick run (tests, smoke checks).
    pub fn quick() -> Sizes {
        Sizes {
            big_jobs: 20_000,
            big_identities: 2_000,
            reps: 2_000,
            invariant_cases: 4,
        }
    }
}

fn per(d: Duration, n: u64) -> f64 {
    d.as_nanos() as f64 / n.max(1) as f64
}

/// The i-th funded identity of the big states.
pub fn nth(i: u32) -> Identity {
    let mut b = [0u8; 32];
    b[..4].copy_from_slice(&i.to_le_bytes());
    b[31] = 0x5A;
    Identity(b)
}

/// One plain transfer per `execute`, `reps` times; ns each.
pub fn measure_unsigned_transfer(l: &mut Ledger, reps: u32) -> Result<f64, LedgerError> {
    let from = nth(0);
    for i in 0..1_000u32 {
        l.execute(from, nth(1 + i % 999), Amount(1), 0, Vec::new())?;
    }
    let start = Clock::now();
    for i in 0..reps {
        l.execute(from, nth(1 + i % 999), Amount(1), 0, Vec::new())?;
    }
    Ok(per(start.elapsed(), u64::from(reps)))
}

/// A ledger with 1,000 funded identities and no contracts (`nth(0..1000)`).
pub fn transfer_ledger(history: Option<u32>) -> Result<Ledger, LedgerError> {
    transfer_ledger_with(history, DigestPolicy::OnDemand)
}

/// [`transfer_ledger`] hashing its state by `policy`.
pub fn transfer_ledger_with(
    history: Option<u32>,
    policy: DigestPolicy,
) -> Result<Ledger, LedgerError> {
    let mut b = Ledger::builder().digests(policy);
    if let Some(n) = history {
        b = b.history(comqute_ledger::Retention::KeepLast(n));
    }
    for i in 0..1_000 {
        b = b.fund(nth(i), Amount(1_000_000_000));
    }
    b.build()
}

/// Queues `n` unsigned calls of `requester` submitting jobs (4,096 to a tick) and runs
/// their ticks. Jobs time out after 100,000 ticks, so they all stay live.
pub fn load_jobs(l: &mut Ledger, requester: Identity, n: u64) -> Result<(), LedgerError> {
    let mut left = n;
    let mut nonce = 0u64;
    while left > 0 {
        let batch = left.min(4_096);
        let tick = l.next_tick();
        for _ in 0..batch {
            nonce += 1;
            let mut spec = scenario_spec(nonce);
            spec.timeout_ticks = 100_000;
            spec.max_output_tokens = 10;
            spec.max_price_per_1k = Amount(100);
            let tx = Transaction::call(
                requester,
                JOB_REGISTRY,
                Amount(1),
                tick,
                SUBMIT.number(),
                encode(&spec),
            );
            l.submit_unsigned(tx)?;
        }
        l.process_tick()?;
        left -= batch;
    }
    Ok(())
}

/// A marketplace ledger with `identities` funded identities and `jobs` live jobs, history
/// kept short so its size is the state's.
pub fn big_ledger(jobs: u64, identities: u32) -> Result<Ledger, LedgerError> {
    let mut b =
        market_builder(scenario_config(), &[]).history(comqute_ledger::Retention::KeepLast(16));
    for i in 0..identities {
        b = b.fund(nth(i), Amount(1_000_000_000));
    }
    let mut l = b.build()?;
    load_jobs(&mut l, nth(0), jobs)?;
    Ok(l)
}

/// Whole happy paths per second on forks of [`scenario_genesis_with`] `policy`, `n` of them;
/// `ask`: the digest is asked for at the end of each (what a test checking it pays).
pub fn scenarios_per_s(policy: DigestPolicy, ask: bool, n: u32) -> Result<f64, LedgerError> {
    let mut g = scenario_genesis_with(policy)?;
    let start = Clock::now();
    for i in 0..n {
        let mut fork = g.fork();
        happy_path(&mut fork, u64::from(i))?;
        if ask {
            std::hint::black_box(fork.digest());
        }
        std::hint::black_box(&fork);
    }
    Ok(f64::from(n) / start.elapsed().as_secs_f64())
}

/// Snapshot, one transfer, restore; ns each.
pub fn measure_snapshot_restore(l: &mut Ledger, reps: u32) -> Result<f64, LedgerError> {
    let run = |l: &mut Ledger, n: u32| -> Result<Duration, LedgerError> {
        let start = Clock::now();
        for i in 0..n {
            l.snapshot("s");
            l.fund(&nth(i % 1_000), Amount(1))?;
            l.restore("s")?;
        }
        Ok(start.elapsed())
    };
    run(l, reps / 10)?;
    Ok(per(run(l, reps)?, u64::from(reps)))
}

/// Number of live (not terminal) jobs on `l`.
pub fn live_jobs(l: &Ledger) -> Result<u64, LedgerError> {
    let stats: comqute_market::job_registry::NetworkStats = l
        .query_fn(comqute_market::job_registry::NETWORK_STATS, &())
        .map_err(LedgerError::Contract)?;
    Ok(stats.jobs.submitted)
}

/// Measures everything; `progress` hears what is being measured.
pub fn measure(sizes: Sizes, mut progress: impl FnMut(&str)) -> Result<HarnessFigures, String> {
    let e = |e: LedgerError| e.to_string();
    let mut f = HarnessFigures::default();
    let run = Clock::now();

    progress("unsigned transfer");
    let mut l = transfer_ledger(None).map_err(e)?;
    f.unsigned_transfer_ns = measure_unsigned_transfer(&mut l, sizes.reps).map_err(e)?;
    f.history_bytes_per_kept_transfer = l.history_bytes() as f64 / l.receipts().len().max(1) as f64;
    drop(l);
    let mut l = transfer_ledger_with(None, DigestPolicy::PerTick).map_err(e)?;
    f.unsigned_transfer_node_ns = measure_unsigned_transfer(&mut l, sizes.reps).map_err(e)?;
    drop(l);
    let mut l = transfer_ledger(Some(1_024)).map_err(e)?;
    f.unsigned_transfer_bounded_history_ns =
        measure_unsigned_transfer(&mut l, sizes.reps).map_err(e)?;
    {
        let batches = (sizes.reps / 1_024).max(1);
        let start = Clock::now();
        for _ in 0..batches {
            let tick = l.next_tick();
            for i in 0..1_024u32 {
                let tx = Transaction::new(
                    nth(i % 1_000),
                    nth(1 + i % 999),
                    Amount(1),
                    tick,
                    0,
                    Vec::new(),
                );
                l.submit_unsigned(tx).map_err(e)?;
            }
            l.process_tick().map_err(e)?;
        }
        f.batched_transfer_ns = per(start.elapsed(), u64::from(batches) * 1_024);
    }
    drop(l);

    progress("harness start");
    {
        let n = (sizes.reps / 20).max(100);
        let start = Clock::now();
        for _ in 0..n {
            std::hint::black_box(market_builder(scenario_config(), &[]).build().map_err(e)?);
        }
        f.harness_start_us = per(start.elapsed(), u64::from(n)) / 1_000.0;
    }

    progress("scenarios");
    let mut genesis = scenario_genesis().map_err(e)?;
    {
        let mut probe = genesis.fork();
        let id = happy_path(&mut probe, 0).map_err(e)?;
        check_paid(&probe, id)?;
        let n = (sizes.reps / 20).max(100);
        let start = Clock::now();
        for i in 0..n {
            let mut fork = genesis.fork();
            happy_path(&mut fork, u64::from(i)).map_err(e)?;
            std::hint::black_box(&fork);
        }
        f.scenarios_per_s = f64::from(n) / start.elapsed().as_secs_f64();
        let start = Clock::now();
        for _ in 0..n {
            std::hint::black_box(genesis.fork());
        }
        f.fork_ns = per(start.elapsed(), u64::from(n));
        f.scenarios_per_s_node = scenarios_per_s(DigestPolicy::PerTick, false, n).map_err(e)?;
    }

    progress("warp");
    {
        let mut best = f64::MAX;
        for _ in 0..5 {
            let mut fork = genesis.fork();
            let target = Tick(fork.next_tick().0 + 1_000_000);
            let start = Clock::now();
            fork.warp_to_tick(target).map_err(e)?;
            best = best.min(start.elapsed().as_secs_f64() * 1_000.0);
        }
        f.warp_1m_idle_ticks_ms = best;
    }

    progress("snapshot/restore at 1k jobs");
    let mut small = big_ledger(1_000, sizes.big_identities).map_err(e)?;
    f.snapshot_restore_ns_1k = measure_snapshot_restore(&mut small, sizes.reps).map_err(e)?;
    drop(small);
    progress("building the 1M-job state");
    let mut big = big_ledger(sizes.big_jobs, sizes.big_identities).map_err(e)?;
    f.live_jobs_1m = live_jobs(&big).map_err(e)?;
    progress("snapshot/restore at 1M jobs");
    f.snapshot_restore_ns_1m = measure_snapshot_restore(&mut big, sizes.reps).map_err(e)?;
    // Again at 1k, right after, so both see the same machine load.
    let mut small = big_ledger(1_000, sizes.big_identities).map_err(e)?;
    let again = measure_snapshot_restore(&mut small, sizes.reps).map_err(e)?;
    f.snapshot_restore_ns_1k = f.snapshot_restore_ns_1k.min(again);
    f.snapshot_restore_ratio_1m_vs_1k = f.snapshot_restore_ns_1m / f.snapshot_restore_ns_1k;
    drop(big);

    progress("invariant runs");
    {
        let model = MarketModel::default();
        let start = Clock::now();
        let stats = InvariantRunner::new(&model, "bench")
            .cases(sizes.invariant_cases)
            .min_actions(50)
            .max_actions(50)
            .seed([7; 32])
            .run()
            .map_err(|e| e.to_string())?;
        f.invariant_runs_per_s = f64::from(stats.cases) / start.elapsed().as_secs_f64();
    }
    progress("pools and the oracle");
    {
        let p = measure_pools(pool_sizes_for(sizes), pool_reps_for(sizes))?;
        f.pools_scenarios_per_s = p.scenarios_per_s;
        f.pools_jobs_per_s = p.jobs_per_s;
        f.oracle_ns_per_settled_job = p.oracle_ns_per_job;
    }
    f.wall_over_cpu = run.wall().as_secs_f64() / run.elapsed().as_secs_f64().max(1e-9);
    Ok(f)
}

/// Issue 19's pool sizes for a full run, the quick ones otherwise.
fn pool_sizes_for(sizes: Sizes) -> PoolSizes {
    if sizes.reps >= Sizes::full().reps {
        PoolSizes::full()
    } else {
        PoolSizes::quick()
    }
}

/// Best of 3 on a full run, one otherwise.
fn pool_reps_for(sizes: Sizes) -> u32 {
    if sizes.reps >= Sizes::full().reps {
        3
    } else {
        1
    }
}

/// One figure alone, for profiling: `transfer`, `transfer_node` (digests per tick),
/// `scenario`, `scenario_node`, `scenario_asked` (on demand, the digest asked for at the end
/// of each), `warp`, `start`,
/// `snapshot1m`, `invariants` or `pools` (issue 19's market with pools and the oracle). Returns a JSON line.
pub fn measure_one(name: &str, sizes: Sizes) -> Result<String, String> {
    let e = |e: LedgerError| e.to_string();
    match name {
        "transfer" => {
            let mut l = transfer_ledger(None).map_err(e)?;
            let ns = measure_unsigned_transfer(&mut l, sizes.reps).map_err(e)?;
            Ok(format!("{{\"unsigned_transfer_ns\":{ns:.0}}}"))
        }
        "transfer_node" => {
            let mut l = transfer_ledger_with(None, DigestPolicy::PerTick).map_err(e)?;
            let ns = measure_unsigned_transfer(&mut l, sizes.reps).map_err(e)?;
            Ok(format!("{{\"unsigned_transfer_node_ns\":{ns:.0}}}"))
        }
        "scenario_node" | "scenario_asked" => {
            let n = (sizes.reps / 4).max(100);
            let (policy, ask) = match name {
                "scenario_node" => (DigestPolicy::PerTick, false),
                _ => (DigestPolicy::OnDemand, true),
            };
            let per_s = scenarios_per_s(policy, ask, n).map_err(e)?;
            let key = match name {
                "scenario_node" => "scenarios_per_s_node",
                _ => "scenarios_per_s_digest_asked",
            };
            Ok(format!("{{\"{key}\":{per_s:.0}}}"))
        }
        "transfer_bounded" => {
            let mut l = transfer_ledger(Some(1_024)).map_err(e)?;
            let ns = measure_unsigned_transfer(&mut l, sizes.reps).map_err(e)?;
            Ok(format!(
                "{{\"unsigned_transfer_bounded_history_ns\":{ns:.0}}}"
            ))
        }
        "scenario" => {
            let mut g = scenario_genesis().map_err(e)?;
            let n = (sizes.reps / 4).max(100);
            let start = Clock::now();
            for i in 0..n {
                let mut f = g.fork();
                happy_path(&mut f, u64::from(i)).map_err(e)?;
            }
            let per_s = f64::from(n) / start.elapsed().as_secs_f64();
            Ok(format!("{{\"scenarios_per_s\":{per_s:.0}}}"))
        }
        "warp" => {
            let mut g = scenario_genesis().map_err(e)?;
            let start = Clock::now();
            for _ in 0..20 {
                let mut f = g.fork();
                let t = Tick(f.next_tick().0 + 1_000_000);
                f.warp_to_tick(t).map_err(e)?;
            }
            let ms = start.elapsed().as_secs_f64() * 1_000.0 / 20.0;
            Ok(format!("{{\"warp_1m_idle_ticks_ms\":{ms:.3}}}"))
        }
        "start" => {
            let n = sizes.reps.max(1_000);
            let start = Clock::now();
            for _ in 0..n {
                std::hint::black_box(market_builder(scenario_config(), &[]).build().map_err(e)?);
            }
            let us = per(start.elapsed(), u64::from(n)) / 1_000.0;
            Ok(format!("{{\"harness_start_us\":{us:.1}}}"))
        }
        "snapshot1m" => {
            let mut big = big_ledger(sizes.big_jobs, sizes.big_identities).map_err(e)?;
            let ns = measure_snapshot_restore(&mut big, sizes.reps).map_err(e)?;
            Ok(format!("{{\"snapshot_restore_ns_1m\":{ns:.0}}}"))
        }
        "invariants" => {
            let model = MarketModel::default();
            let start = Clock::now();
            let stats = InvariantRunner::new(&model, "bench")
                .cases(sizes.invariant_cases)
                .min_actions(50)
                .max_actions(50)
                .seed([7; 32])
                .run()
                .map_err(|e| e.to_string())?;
            let per_s = f64::from(stats.cases) / start.elapsed().as_secs_f64();
            Ok(format!("{{\"invariant_runs_per_s\":{per_s:.1}}}"))
        }
        "pools" => measure_pools(pool_sizes_for(sizes), pool_reps_for(sizes)).map(|f| f.to_json()),
        other => Err(format!("unknown figure {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scenario `bench harness` times is the one it checks: a job finalized and paid.
    #[test]
    fn the_pools_scenario_settles_every_job_through_pools_and_publishes_prices() {
        let f = measure_pools(PoolSizes::quick(), 1).unwrap();
        assert_eq!(f.settled, 400);
        assert!(f.pool_settlements > 0 && f.pool_settlements < f.settled);
        assert!(f.publications > 0 && f.epochs >= 2, "{f:?}");
    }

    #[test]
    fn the_timed_scenario_pays_its_worker() {
        let mut genesis = scenario_genesis().expect("the scenario's genesis");
        let mut fork = genesis.fork();
        let id = happy_path(&mut fork, 0).expect("the happy path runs");
        check_paid(&fork, id).unwrap();
    }
}

// --- issue 19: a market with pools and the price oracle ---------------------------------------

/// The pools scenario's size: pools, workers (most of them in pools), jobs, and jobs
/// submitted per batch (a batch is submitted, matched, started, posted and settled
/// together).
#[derive(Debug, Clone, Copy)]
pub struct PoolSizes {
    /// Pools, one operator each.
    pub pools: u32,
    /// Workers registered and listed.
    pub workers: u32,
    /// Of those, members of a pool (spread evenly).
    pub members: u32,
    /// Jobs served and settled.
    pub jobs: u32,
    /// Jobs submitted per batch.
    pub batch: u32,
    /// Ticks per epoch (so the jobs span several epochs and the oracle folds).
    pub epoch_ticks: u32,
}

impl PoolSizes {
    /// Issue 19's sizes: 20 pools, 500 workers (400 in pools), 10,000 jobs.
    pub fn full() -> PoolSizes {
        PoolSizes {
            pools: 20,
            workers: 500,
            members: 400,
            jobs: 10_000,
            batch: 500,
            epoch_ticks: 30,
        }
    }
    /// A quick run (tests).
    pub fn quick() -> PoolSizes {
        PoolSizes {
            pools: 4,
            workers: 40,
            members: 32,
            jobs: 400,
            batch: 100,
            epoch_ticks: 10,
        }
    }
}

/// What the pools scenario measured.
#[derive(Debug, Clone, Default)]
pub struct PoolFigures {
    /// Whole scenarios (every job served and settled) per second, oracle on.
    pub scenarios_per_s: f64,
    /// Settled jobs per second, oracle on.
    pub jobs_per_s: f64,
    /// The oracle's cost per settled job, ns: the same scenario with the job registry
    /// reporting to the oracle (its `record` calls and epoch folds) minus without.
    pub oracle_ns_per_job: f64,
    /// Jobs finalized and paid.
    pub settled: u64,
    /// Of those, settled through a pool.
    pub pool_settlements: u64,
    /// Prices the oracle published (epoch folds with a new median).
    pub publications: u64,
    /// Epochs the run spans.
    pub epochs: u32,
}

impl PoolFigures {
    /// One JSON line.
    pub fn to_json(&self) -> String {
        format!(
            concat!(
                "{{\"pools_scenarios_per_s\":{:.3},\"pools_jobs_per_s\":{:.0},",
                "\"oracle_ns_per_settled_job\":{:.0},\"settled_jobs\":{},",
                "\"pool_settlements\":{},\"oracle_publications\":{},\"epochs\":{},",
                "\"clock\":\"thread_cpu\"}}"
            ),
            self.scenarios_per_s,
            self.jobs_per_s,
            self.oracle_ns_per_job,
            self.settled,
            self.pool_settlements,
            self.publications,
            self.epochs,
        )
    }
}

/// The pools scenario's settings: matching and settlement caps above a batch, workers
/// online all run long, a challenge window of 3, and no spot checks (a newcomer's result is
/// otherwise checked one time in four, and a check needs replicas this scenario does not
/// play: it measures settlement through pools and the oracle, not verification).
pub fn pools_config(sizes: PoolSizes) -> MarketConfig {
    let mut c = scenario_config();
    c.verification.spot_checks = false;
    c.jobs.max_matches_per_tick = sizes.batch.max(1);
    c.jobs.max_settlements_per_tick = sizes.batch.max(1);
    c.workers.heartbeat_window = 1_000_000;
    c.pools.create_deposit = Amount(1_000);
    c
}

/// The marketplace contracts with the job registry reporting to the oracle or not (the
/// oracle is there either way; without reports it records and folds nothing).
pub fn pool_contracts(
    config: &MarketConfig,
    oracle: bool,
) -> Vec<std::sync::Arc<dyn comqute_qpi::contract::Contract>> {
    let mut set = comqute_market::contracts(config.clone());
    if !oracle {
        let mut jobs = config.jobs.clone();
        jobs.verification = Some(comqute_market::VERIFICATION);
        jobs.fee_bps = config.verification.fee_bps;
        jobs.check_min_ticks = config.verification.longest_check_ticks();
        jobs.price_oracle = None;
        if let Some(last) = set.last_mut() {
            *last = std::sync::Arc::new(comqute_market::job_registry::JobRegistry::new(jobs));
        }
    }
    set
}

fn tagged(tag: u8, i: u32) -> Identity {
    let mut b = [tag; 32];
    b[..4].copy_from_slice(&i.to_le_bytes());
    Identity(b)
}
/// The pools scenario's i-th operator.
pub fn pool_operator(i: u32) -> Identity {
    tagged(0x0E, i)
}
/// The pools scenario's i-th worker.
pub fn pool_worker(i: u32) -> Identity {
    tagged(0x0F, i)
}
/// The pools scenario's i-th requester (50 of them).
pub fn pool_requester(i: u32) -> Identity {
    tagged(0x0D, i % 50)
}

/// The pools scenario's genesis (not timed): the marketplace with the oracle reporting or
/// not; the operators open their pools (by stake, fees 0 to 19%), the workers register at
/// prices 800 to 1,199 per 1k and list themselves, and the first `members` join the pools
/// round robin.
pub fn pools_genesis(sizes: PoolSizes, oracle: bool) -> Result<Ledger, LedgerError> {
    use comqute_market::pools::{CreatePool, PayoutScheme, PoolRef, CREATE, JOIN};
    let config = pools_config(sizes);
    let mut b = Ledger::builder().epoch_ticks(sizes.epoch_ticks);
    for c in pool_contracts(&config, oracle) {
        b = b.contract_arc(c);
    }
    let funded = (0..sizes.pools)
        .map(pool_operator)
        .chain((0..sizes.workers).map(pool_worker))
        .chain((0..50).map(pool_requester));
    for id in funded {
        b = b.fund(id, Amount(1_000_000_000));
    }
    let mut l = b.build()?;
    let pools = comqute_market::POOLS;
    for i in 0..sizes.pools {
        let c = CreatePool {
            fee_bps: u16::try_from(i % 20).unwrap_or(0) * 100,
            scheme: PayoutScheme::ByStake,
            min_member_stake: Amount(100),
        };
        queue(
            &mut l,
            pool_operator(i),
            pools,
            CREATE.number(),
            encode(&c),
            1_000,
        )?;
    }
    for i in 0..sizes.workers {
        let caps = Capabilities {
            models: vec!["llama3.2:1b".into()],
            gpu: "RTX 4090".into(),
            vram_mb: 24_576,
            tokens_per_s: 120,
            price_per_1k: Amount(800 + i64::from(i * 37 % 400)),
            max_concurrent: 4,
        };
        let stake = config.workers.min_stake.0;
        queue(
            &mut l,
            pool_worker(i),
            WORKER_REGISTRY,
            REGISTER.number(),
            encode(&caps),
            stake,
        )?;
    }
    l.process_tick()?;
    let available = encode(&SetAvailable {
        available: true,
        session: 0,
    });
    for i in 0..sizes.workers {
        queue(
            &mut l,
            pool_worker(i),
            WORKER_REGISTRY,
            SET_AVAILABLE.number(),
            available.clone(),
            0,
        )?;
        if i < sizes.members && sizes.pools > 0 {
            let r = PoolRef {
                pool: u64::from(i % sizes.pools) + 1,
            };
            queue(
                &mut l,
                pool_worker(i),
                pools,
                JOIN.number(),
                encode(&r),
                1_000 + i64::from(i),
            )?;
        }
    }
    l.process_tick()?;
    Ok(l)
}

/// Serves and settles `sizes.jobs` jobs on `l` (a fork of [`pools_genesis`]), a batch at a
/// time: the requesters submit, END_TICK matches, each assigned worker starts and posts
/// 500 to 999 tokens, the challenge window passes and END_TICK pays (the pools contract
/// for a member, which shares it out). Returns the jobs finalized.
pub fn pools_scenario(l: &mut Ledger, sizes: PoolSizes) -> Result<u64, LedgerError> {
    let batch = sizes.batch.max(1);
    let mut nonce = 0u64;
    let mut first = 1u64;
    let mut left = sizes.jobs;
    let window = pools_config(sizes).jobs.challenge_window;
    while left > 0 {
        let n = left.min(batch);
        for _ in 0..n {
            nonce += 1;
            let mut spec = scenario_spec(nonce);
            spec.max_price_per_1k = Amount(1_200);
            let requester = pool_requester(u32::try_from(nonce).unwrap_or(0));
            queue(
                l,
                requester,
                JOB_REGISTRY,
                SUBMIT.number(),
                encode(&spec),
                1_200,
            )?;
        }
        l.process_tick()?;
        let ids: Vec<u64> = (first..first + u64::from(n)).collect();
        first += u64::from(n);
        let mut assigned = Vec::with_capacity(ids.len());
        for id in &ids {
            let job: Option<Job> = l
                .query_fn(GET_JOB, &JobRef { job_id: JobId(*id) })
                .map_err(LedgerError::Contract)?;
            if let Some(w) = job.and_then(|j| j.worker) {
                assigned.push((*id, w.0));
            }
        }
        for (id, w) in &assigned {
            let jr = encode(&JobRef { job_id: JobId(*id) });
            queue(l, *w, JOB_REGISTRY, START.number(), jr, 0)?;
        }
        l.process_tick()?;
        for (id, w) in &assigned {
            let post = PostResult {
                job_id: JobId(*id),
                result: comqute_market::job_registry::JobResult {
                    result_hash: Hash32::of(&id.to_le_bytes()),
                    output_tokens: 500 + u32::try_from(id % 500).unwrap_or(0),
                    runtime: Hash32::ZERO,
                },
            };
            queue(l, *w, JOB_REGISTRY, POST_RESULT.number(), encode(&post), 0)?;
        }
        l.process_tick()?;
        l.advance_ticks(window + 1)?;
        left -= n;
    }
    let stats: comqute_market::job_registry::NetworkStats = l
        .query_fn(comqute_market::job_registry::NETWORK_STATS, &())
        .map_err(LedgerError::Contract)?;
    let settled = stats.jobs.count(JobStatus::Finalized);
    if settled < u64::from(sizes.jobs) {
        return Err(LedgerError::Config(format!(
            "{settled} of {} jobs settled: {:?}",
            sizes.jobs, stats.jobs.by_status
        )));
    }
    Ok(settled)
}

/// Runs the pools scenario with the oracle and without, `reps` times each (alternating, the
/// best time of each kept), and counts what happened in the last run with the oracle.
pub fn measure_pools(sizes: PoolSizes, reps: u32) -> Result<PoolFigures, String> {
    use comqute_market::pools::{PoolEvent, PoolStats, POOL_STATS};
    use comqute_market::price_oracle::OracleEvent;
    let e = |e: LedgerError| e.to_string();
    let mut with = pools_genesis(sizes, true).map_err(e)?;
    let mut without = pools_genesis(sizes, false).map_err(e)?;
    let (mut best_with, mut best_without) = (f64::MAX, f64::MAX);
    let mut f = PoolFigures::default();
    for _ in 0..reps.max(1) {
        let mut fork = without.fork();
        let start = Clock::now();
        pools_scenario(&mut fork, sizes).map_err(e)?;
        best_without = best_without.min(start.elapsed().as_secs_f64());
        drop(fork);
        let mut fork = with.fork();
        let start = Clock::now();
        let settled = pools_scenario(&mut fork, sizes).map_err(e)?;
        best_with = best_with.min(start.elapsed().as_secs_f64());
        f.settled = settled;
        f.epochs = u32::from(fork.epoch().0 - with.epoch().0);
        f.pool_settlements = 0;
        f.publications = 0;
        for ev in fork.events() {
            if ev.contract == comqute_market::POOLS {
                if let Ok(PoolEvent::JobSettled { .. }) = borsh::from_slice(&ev.data) {
                    f.pool_settlements += 1;
                }
            } else if ev.contract == comqute_market::PRICE_ORACLE {
                if let Ok(OracleEvent::PricePublished { .. }) = borsh::from_slice(&ev.data) {
                    f.publications += 1;
                }
            }
        }
        let ps: PoolStats = fork.query_fn(POOL_STATS, &()).map_err(|e| e.to_string())?;
        let held = fork.balance(&Identity::contract(comqute_market::POOLS));
        if ps.held != held {
            return Err(format!("pools hold {held}, their books say {}", ps.held));
        }
    }
    if f.settled < u64::from(sizes.jobs) {
        return Err(format!("{} of {} jobs settled", f.settled, sizes.jobs));
    }
    f.scenarios_per_s = 1.0 / best_with;
    f.jobs_per_s = f.settled as f64 / best_with;
    f.oracle_ns_per_job = (best_with - best_without) * 1e9 / f.settled.max(1) as f64;
    Ok(f)
}

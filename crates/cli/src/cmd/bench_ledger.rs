//! `comqute bench ledger`: the ledger's throughput against this machine's own limit, the
//! ed25519 verification rate across all cores. Everything is measured in one run; the
//! verification rate and the signed run are measured in back-to-back pairs (`--trials`,
//! default 3) and their ratio is the median of the pairs' ratios, because it sits close to
//! its target and a single pair moves with the machine's load.
//!
//! The workload is a realistic marketplace mix at steady state, 4,096 transactions a tick:
//! a quarter plain transfers, and for the rest equal shares of job submissions, claims (of
//! the jobs submitted a tick earlier), starts and result posts, by 1,024 registered workers
//! and 256 requesters; finalization and payout run in the END_TICK hook after the challenge
//! window. Signed runs go through a durable ledger (tick log, fsync every tick); unsigned
//! runs through the in-memory harness, hashing its state per tick as a node does
//! (`DigestPolicy::PerTick`).

use std::time::Instant;

use anyhow::{ensure, Context, Result};
use clap::Args;
use comqute_ledger::durable::{DurableConfig, DurableLedger};
use comqute_ledger::tx::verify_all;
use comqute_ledger::{DigestPolicy, Keypair, Ledger, LedgerBuilder, Retention, Seed, Transaction};
use comqute_market::job_registry::{
    JobRef, JobResult, JobSpec, PostResult, Sampling, CLAIM, POST_RESULT, START, SUBMIT,
};
use comqute_market::{model_id, MarketConfig, JOB_REGISTRY};
use comqute_qpi::contract::encode;
use comqute_qpi::{Amount, Hash32, Identity, Tick};
use serde_json::json;

use crate::alloc;

/// Options of `comqute bench ledger`.
#[derive(Args)]
pub struct LedgerBenchArgs {
    /// Transactions in the signed and unsigned runs (rounded to whole ticks of 4,096).
    #[arg(long, default_value_t = 40_960)]
    txs: usize,
    /// Live jobs for the large-state measurements (the figure is 1,000,000).
    #[arg(long, default_value_t = 1_000_000)]
    jobs: u32,
    /// Paired trials of verification alone and the signed run; the ratio reported is the
    /// median of the per-trial ratios (each pair runs back to back, so a load change between
    /// trials moves both sides of a ratio alike).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=15))]
    trials: u32,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

const TICK_TXS: usize = 4096;
const WORKERS: u32 = 1024;
const REQUESTERS: u32 = 256;
const MODEL: &str = "bench-model";

fn key(kind: u8, i: u32) -> Keypair {
    let mut s = [b'a' + kind; 55];
    let mut n = i;
    for slot in s.iter_mut().rev().take(7) {
        *slot = b'a' + (n % 26) as u8;
        n /= 26;
    }
    // Invariant: 55 lowercase letters are a valid seed.
    Seed::new(std::str::from_utf8(&s).expect("ascii"))
        .expect("valid seed")
        .keypair()
}

struct Actors {
    workers: Vec<Keypair>,
    requesters: Vec<Keypair>,
}

fn genesis(a: &Actors) -> LedgerBuilder {
    let config = MarketConfig {
        workers: comqute_market::worker_registry::WorkerConfig {
            // No worker sends heartbeats here, and filling 1,000,000 jobs takes 245 ticks: with
            // the default window (100) every claim of the 1M-job tick failed as `Offline`, and
            // that tick was timed doing less than the 10k one.
            heartbeat_window: 1_000_000,
            ..MarketConfig::default().workers
        },
        jobs: comqute_market::job_registry::JobConfig {
            max_timeout_ticks: 1_000_000,
            ..MarketConfig::default().jobs
        },
        ..MarketConfig::default()
    };
    // The node's figures: digests per tick, as a node keeps them (the signed runs go
    // through a durable ledger, which digests per tick anyway).
    let mut b = Ledger::builder()
        .epoch_ticks(100_000)
        .digests(DigestPolicy::PerTick);
    for c in comqute_market::contracts(config) {
        b = b.contract_arc(c);
    }
    for k in a.workers.iter().chain(&a.requesters) {
        b = b.fund(k.identity(), Amount(1_000_000_000_000));
    }
    b
}

fn register_workers(a: &Actors, tick: Tick) -> Vec<Transaction> {
    comqute_benches::lifecycle::registrations_of(a.workers.iter().map(|w| w.identity()), tick)
}

fn spec(n: u64, timeout: u32) -> JobSpec {
    JobSpec {
        model: model_id(MODEL),
        prompt_hash: Hash32::of(&n.to_le_bytes()),
        prompt_size: 100,
        max_output_tokens: 1_000,
        max_price_per_1k: Amount(200),
        timeout_ticks: timeout,
        min_reputation: 0,
        sampling: Sampling {
            seed: n,
            temperature_milli: 0,
        },
    }
}

/// Submissions per tick; claims, starts and result posts each follow the same count.
const SUBMITS: u64 = 768;

/// The mix for the `i`-th measured tick; jobs get ids `first_job + submission index`, in
/// order, so later ticks know which jobs to claim, start and finish.
fn mix(a: &Actors, tick: Tick, i: u64, first_job: u64) -> Vec<Transaction> {
    let mut out = Vec::with_capacity(TICK_TXS);
    let transfers = TICK_TXS - 4 * SUBMITS as usize;
    for k in 0..transfers {
        let r = k % a.requesters.len();
        let to = a.requesters[(r + 1) % a.requesters.len()].identity();
        out.push(Transaction::new(
            a.requesters[r].identity(),
            to,
            Amount(1 + (i % 7) as i64 + k as i64),
            tick,
            0,
            vec![],
        ));
    }
    let job = |tick_index: u64, k: u64| first_job + tick_index * SUBMITS + k;
    for k in 0..SUBMITS {
        let r = (k % u64::from(REQUESTERS)) as usize;
        out.push(Transaction::call(
            a.requesters[r].identity(),
            JOB_REGISTRY,
            Amount(200),
            tick,
            SUBMIT.number(),
            encode(&spec(job(i, k), 1_000_000)),
        ));
    }
    // Claims of the previous tick's jobs, starts of the one before, results of the one before that.
    for (lag, ty) in [
        (1u64, CLAIM.number()),
        (2, START.number()),
        (3, POST_RESULT.number()),
    ] {
        if i < lag {
            continue;
        }
        for k in 0..SUBMITS {
            let id = job(i - lag, k);
            let w = &a.workers[((id - first_job) % u64::from(WORKERS)) as usize];
            let input = if ty == POST_RESULT.number() {
                let result = JobResult {
                    result_hash: Hash32::of(&id.to_be_bytes()),
                    output_tokens: 500,
                    runtime: Hash32::ZERO,
                };
                encode(&PostResult {
                    job_id: comqute_market::JobId(id),
                    result,
                })
            } else {
                encode(&JobRef {
                    job_id: comqute_market::JobId(id),
                })
            };
            out.push(Transaction::call(
                w.identity(),
                JOB_REGISTRY,
                Amount::ZERO,
                tick,
                ty,
                input,
            ));
        }
    }
    out
}

/// Runs the benchmark.
pub fn run(args: LedgerBenchArgs) -> Result<()> {
    let actors = Actors {
        workers: (0..WORKERS).map(|i| key(0, i)).collect(),
        requesters: (0..REQUESTERS).map(|i| key(1, i)).collect(),
    };
    let ticks = args.txs.div_ceil(TICK_TXS).max(4) as u64;
    // Genesis plus registered workers, as a base both runs start from.
    let mut base = genesis(&actors).build()?;
    for tx in register_workers(&actors, base.next_tick()) {
        base.submit_unsigned(tx)?;
    }
    base.process_tick()?;
    let start_tick = base.next_tick();
    let first_job = 1u64;
    let keys: std::collections::BTreeMap<Identity, &Keypair> = actors
        .workers
        .iter()
        .chain(&actors.requesters)
        .map(|k| (k.identity(), k))
        .collect();
    eprintln!(
        "preparing and signing {} ticks of {TICK_TXS} transactions…",
        ticks
    );
    let plan: Vec<Vec<Transaction>> = (0..ticks)
        .map(|i| {
            mix(&actors, start_tick.plus(i as u32), i, first_job)
                .into_iter()
                .map(|tx| {
                    // Invariant: every source in the mix is one of the actors.
                    let k = keys.get(&tx.source).expect("a known source");
                    tx.sign(k)
                })
                .collect()
        })
        .collect();
    let all: Vec<Transaction> = plan.iter().flatten().cloned().collect();
    let n = all.len() as f64;

    // 1 and 2, in `trials` back-to-back pairs: the limit (verification alone, across all
    // cores), then the signed run through a durable ledger (verification, execution, digest,
    // log + fsync) on a fresh directory.
    let dir = std::env::temp_dir().join(format!("comqute-bench-ledger-{}", std::process::id()));
    let build = || -> Result<LedgerBuilder> { Ok(genesis(&actors)) };
    let mut pairs = Vec::new();
    let mut failed = 0;
    for _ in 0..args.trials {
        let t = Instant::now();
        let verdicts = verify_all(&all);
        let raw = n / t.elapsed().as_secs_f64();
        ensure!(
            verdicts.iter().all(|v| v.is_ok()),
            "a benchmark transaction does not verify"
        );
        let _ = std::fs::remove_dir_all(&dir);
        let (mut d, _) = DurableLedger::open(&dir, build()?, DurableConfig::default())
            .context("opening the bench data dir")?;
        for tx in register_workers(&actors, d.ledger().next_tick()) {
            d.submit_unsigned(tx)?;
        }
        d.process_tick()?;
        let t = Instant::now();
        for txs in &plan {
            for tx in txs {
                d.submit(tx.clone())?;
            }
            d.process_tick()?;
        }
        let signed = n / t.elapsed().as_secs_f64();
        failed = d
            .ledger()
            .receipts()
            .iter()
            .filter(|r| !r.is_executed())
            .count();
        d.flush()?;
        pairs.push((raw, signed));
    }
    let trial_ratios: Vec<f64> = pairs
        .iter()
        .map(|(raw, signed)| (signed / raw * 1000.0).round() / 1000.0)
        .collect();
    let raw_verify_per_s = median(pairs.iter().map(|p| p.0));
    let signed_tps = median(pairs.iter().map(|p| p.1));
    let signed_vs_raw = median(trial_ratios.iter().copied());

    // 3. Replay at start-up: reopen the last trial's directory (no snapshot yet: the whole
    // log replays).
    let t = Instant::now();
    let (d, report) = DurableLedger::open(&dir, build()?, DurableConfig::default())?;
    let replay_secs = t.elapsed().as_secs_f64();
    let replayed: usize = d.ledger().receipts().len();
    drop(d);
    let _ = std::fs::remove_dir_all(&dir);
    let replay_tps = replayed as f64 / replay_secs;

    // 4. Unsigned (harness mode), in memory.
    let mut l = base.fork();
    let t = Instant::now();
    for txs in &plan {
        for tx in txs {
            l.submit_unsigned(tx.clone())?;
        }
        l.process_tick()?;
    }
    let unsigned_tps = n / t.elapsed().as_secs_f64();
    drop(l);

    // 5. Tick cost with 10k and with `jobs` live jobs; memory per live job.
    let (small_ns, _, small_failed, history_per_receipt, stored) =
        tick_cost_with_jobs(&actors, &mut base, 10_000)?;
    let (large_ns, bytes_per_job, large_failed, _, _) =
        tick_cost_with_jobs(&actors, &mut base, args.jobs)?;

    let out = json!({
        "txs": all.len(),
        "ticks": ticks,
        "failed_in_mix": failed,
        "raw_verify_per_s": raw_verify_per_s.round(),
        "signed_tps": signed_tps.round(),
        "signed_vs_raw_verify": signed_vs_raw,
        "signed_vs_raw_verify_trials": trial_ratios,
        "unsigned_tps": unsigned_tps.round(),
        "tick_ns_10k_jobs": small_ns,
        "tick_ns_live_jobs": large_ns,
        "live_jobs": args.jobs,
        "tick_cost_ratio_1m_vs_10k": (large_ns as f64 / small_ns as f64 * 1000.0).round() / 1000.0,
        "failed_in_tick_cost": small_failed + large_failed,
        "bytes_per_live_job": bytes_per_job,
        // What a live job's entries hold in full (measured on the 10k fill), and the digest
        // cache each stored value needs: see `StoredBytes` for which part is a floor.
        "stored_per_live_job": stored,
        "history_bytes_per_job_receipt": history_per_receipt,
        "replay_tps": replay_tps.round(),
        "replayed_records": report.replayed_records,
        "rss_bytes_at_end": alloc::rss_bytes(),
        "peak_rss_bytes": alloc::peak_rss_bytes(),
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
    });
    if args.json {
        println!("{out}");
    } else {
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    Ok(())
}

/// The median of `xs` (the upper middle one of an even count); 0 for none.
fn median(xs: impl Iterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = xs.collect();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// The bytes a state's entries hold, in full: the values with their keys, and the ordered
/// sets' members. The values, their keys and a digest cache per value are a floor under any
/// layout that keeps each value whole, as the state's maps do; the set members are counted
/// at full length, which a layout sharing prefixes can undercut (BENCHMARKS.md, issue 22,
/// stop 7).
#[derive(Debug, Clone, Copy, Default)]
struct StoredBytes {
    /// Stored values: count, and bytes of the values.
    values: usize,
    value_bytes: usize,
    /// Their keys' bytes (contract index and the contract's key).
    value_key_bytes: usize,
    /// Ordered-set members: count, and bytes of the keys.
    set_keys: usize,
    set_key_bytes: usize,
}

impl StoredBytes {
    fn of(l: &Ledger) -> StoredBytes {
        let mut s = StoredBytes::default();
        for (k, v) in l.state().kv_entries_sorted() {
            s.values += 1;
            s.value_bytes += v.len();
            s.value_key_bytes += k.as_slice().len();
        }
        for k in l.state().set_entries_sorted() {
            s.set_keys += 1;
            s.set_key_bytes += k.as_slice().len();
        }
        s
    }

    /// What each of `jobs` added since `before`, as JSON.
    fn per_job(&self, before: &StoredBytes, jobs: u32) -> serde_json::Value {
        let per = |now: usize, was: usize| {
            let d = now.saturating_sub(was) as f64 / f64::from(jobs.max(1));
            (d * 10.0).round() / 10.0
        };
        let values = per(self.values, before.values);
        let value_bytes = per(self.value_bytes, before.value_bytes);
        let value_key_bytes = per(self.value_key_bytes, before.value_key_bytes);
        let set_keys = per(self.set_keys, before.set_keys);
        let set_key_bytes = per(self.set_key_bytes, before.set_key_bytes);
        json!({
            "values": values,
            "value_bytes": value_bytes,
            "value_key_bytes": value_key_bytes,
            "set_keys": set_keys,
            "set_key_bytes": set_key_bytes,
            // A per-entry hash ([u64; 4] lanes) for every stored value: what incremental
            // digests need to replace a value without rehashing the old one.
            "digest_cache_bytes": values * 32.0,
            "total": value_bytes + value_key_bytes + set_key_bytes + values * 32.0,
        })
    }
}

/// Fills a fork of `base` with `jobs` open jobs (unsigned, 4,096 a tick), then times mixed
/// 4,096-transaction ticks on it. Returns (ns per tick, heap bytes per live job, timed
/// transactions that did not execute, history bytes per receipt of the fill, what a job
/// stores: the last two meaningful for fills of up to 100,000 jobs, which keep their history
/// and are small enough to count entry by entry; `None` for larger ones).
fn tick_cost_with_jobs(
    a: &Actors,
    base: &mut Ledger,
    jobs: u32,
) -> Result<(u64, i64, usize, i64, Option<serde_json::Value>)> {
    let mut b = base.fork();
    // The fill's receipts are dropped with it below (the fork keeps none): keeping them only
    // to drop them would add ~430 MB to the peak at 1M jobs. Small fills keep theirs, for
    // the history figure.
    if jobs > 100_000 {
        b.set_retention(Retention::KeepLast(1));
    }
    let heap_before = alloc::live_bytes();
    // What the jobs store (small fills only: counting copies the state out).
    let stored_before = (jobs <= 100_000).then(|| StoredBytes::of(&b));
    let mut made = 0u64;
    let mut r = 0usize;
    while made < u64::from(jobs) {
        let t = b.next_tick();
        let batch = (u64::from(jobs) - made).min(TICK_TXS as u64);
        for k in 0..batch {
            let id = made + k;
            let who = &a.requesters[r % a.requesters.len()];
            r += 1;
            b.submit_unsigned(Transaction::call(
                who.identity(),
                JOB_REGISTRY,
                Amount(200),
                t,
                SUBMIT.number(),
                encode(&spec(10_000_000 + id, 1_000_000)),
            ))?;
        }
        b.process_tick()?;
        made += batch;
    }
    let history_per_receipt = b.history_bytes() as i64 / b.receipts().len().max(1) as i64;
    let stored = stored_before.map(|before| StoredBytes::of(&b).per_job(&before, jobs));
    // Drop the history of the fill (receipts and events): forks start with none.
    let mut filled = b.fork();
    drop(b);
    let heap = alloc::live_bytes() - heap_before;
    let bytes_per_job = heap as i64 / i64::from(jobs.max(1));
    // Timed: mixed ticks on the filled state, new jobs numbered after the fill.
    let first_job = 1 + u64::from(jobs);
    let start = filled.next_tick();
    let plan: Vec<Vec<Transaction>> = (0..6u64)
        .map(|i| mix(a, start.plus(i as u32), i, first_job))
        .collect();
    let mut times = Vec::new();
    for txs in plan {
        for tx in txs {
            filled.submit_unsigned(tx)?;
        }
        let t = Instant::now();
        filled.process_tick()?;
        times.push(t.elapsed().as_nanos() as f64);
    }
    let failed = filled
        .receipts()
        .iter()
        .filter(|r| !r.is_executed())
        .count();
    Ok((
        median(times.into_iter()) as u64,
        bytes_per_job,
        failed,
        history_per_receipt,
        stored,
    ))
}

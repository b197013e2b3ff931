//! Tick processing for each job-lifecycle procedure at 1, 256 and 4,096 calls a tick
//! (`tick_jobs/<procedure>_<n>`), and the cost of one mixed 4,096-call tick with 10,000
//! against 1,000,000 live jobs in state (`tick_live_jobs/…`; set `COMQUTE_BENCH_BIG_JOBS`
//! to use fewer than 1,000,000). Unsigned calls (harness mode); each iteration runs on a
//! fresh O(1) fork of a state prepared once, and only `process_tick` is timed.

// criterion's macros generate undocumented functions.
#![allow(missing_docs)]

use std::time::Duration;

use comqute_benches::lifecycle::{live_state, mixed_tick, run_tick, Proc};
use comqute_ledger::{Ledger, Transaction};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

/// A fork of `base` with `txs` queued for its next tick.
fn queued(base: &mut Ledger, txs: &[Transaction]) -> Ledger {
    let mut l = base.fork();
    for tx in txs {
        // Invariant: `txs` were checked to be accepted (and to execute) on a fork of `base`.
        l.submit_unsigned(tx.clone()).expect("accepted");
    }
    l
}

fn procedures(c: &mut Criterion) {
    let mut g = c.benchmark_group("tick_jobs");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for p in Proc::ALL {
        for n in [1usize, 256, 4_096] {
            // Invariant: the fixtures build a valid marketplace and valid lifecycle steps.
            let mut base = p.prepare(n).expect("prepared state");
            let txs = p.calls(n, base.next_tick());
            // Every call must execute, or the bench would time refusals.
            let mut probe = base.fork();
            run_tick(&mut probe, txs.clone()).expect("every call executes");
            drop(probe);
            g.throughput(Throughput::Elements(n as u64));
            g.bench_function(format!("{}_{n}", p.name()), |b| {
                b.iter_batched(
                    || queued(&mut base, &txs),
                    // The ledger is returned, so dropping it is not timed.
                    |mut l| (l.process_tick(), l),
                    BatchSize::PerIteration,
                )
            });
        }
    }
    g.finish();
}

fn live_jobs(c: &mut Criterion) {
    let big: u64 = std::env::var("COMQUTE_BENCH_BIG_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let mut g = c.benchmark_group("tick_live_jobs");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(4_096));
    for (name, jobs) in [
        ("mixed_4096_10k_jobs", 10_000u64),
        ("mixed_4096_1m_jobs", big),
    ] {
        // Invariant: loading open jobs into a valid marketplace only submits valid jobs.
        let mut base = live_state(jobs).expect("live state");
        let txs = mixed_tick(jobs, base.next_tick());
        let mut probe = base.fork();
        run_tick(&mut probe, txs.clone()).expect("every call executes");
        drop(probe);
        g.bench_function(name, |b| {
            b.iter_batched(
                || queued(&mut base, &txs),
                |mut l| (l.process_tick(), l),
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, procedures, live_jobs);
criterion_main!(benches);

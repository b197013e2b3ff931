//! The harness's own speed (issue 9), the criterion counterparts of `comqute bench harness`:
//! one unsigned transfer (full and bounded history), a whole job happy path on a fork,
//! snapshot plus restore at 1,000 and 1,000,000 live jobs (set `COMQUTE_BENCH_BIG_JOBS` to
//! use fewer), a warp over 1,000,000 idle ticks, a fresh marketplace, a fork, and an
//! invariant run of 50 random marketplace actions.

// criterion's macros generate undocumented functions.
#![allow(missing_docs)]

use comqute_benches::harness::{
    big_ledger, happy_path, market_builder, nth, scenario_config, scenario_genesis, transfer_ledger,
};
use comqute_qpi::{Amount, Tick};
use comqute_ledger::invariants::marketplace::MarketModel;
use comqute_ledger::invariants::InvariantRunner;
use comqute_ledger::Ledger;
use criterion::{criterion_group, criterion_main, Criterion};

fn transfers(c: &mut Criterion) {
    let mut g = c.benchmark_group("harness");
    for (name, history) in [
        ("unsigned_transfer_execute", None),
        ("unsigned_transfer_execute_bounded_history", Some(1_024)),
    ] {
        // Invariant: 1,000 funded identities and no contracts make a valid genesis.
        let mut l = transfer_ledger(history).expect("genesis");
        let mut i = 0u32;
        g.bench_function(name, |b| {
            b.iter(|| {
                i = i.wrapping_add(1);
                l.execute(nth(0), nth(1 + i % 999), Amount(1), 0, Vec::new())
            })
        });
    }
    g.finish();
}

fn scenarios(c: &mut Criterion) {
    let mut g = c.benchmark_group("harness");
    // Invariant: the marketplace genesis with two funded identities is valid.
    let mut genesis = scenario_genesis().expect("genesis");
    let mut n = 0u64;
    g.bench_function("scenario_happy_path_on_fork", |b| {
        b.iter(|| {
            n += 1;
            let mut f = genesis.fork();
            happy_path(&mut f, n)
        })
    });
    g.bench_function("fork", |b| b.iter(|| genesis.fork()));
    g.bench_function("warp_1m_idle_ticks", |b| {
        b.iter(|| {
            let mut f = genesis.fork();
            let t = f.next_tick();
            f.warp_to_tick(Tick(t.0 + 1_000_000))
        })
    });
    g.bench_function("start_marketplace", |b| {
        b.iter(|| market_builder(scenario_config(), &[]).build())
    });
    g.finish();
}

fn snapshot_restore(l: &mut Ledger, c: &mut Criterion, name: &str) {
    let mut g = c.benchmark_group("harness");
    let mut i = 0u32;
    g.bench_function(name, |b| {
        b.iter(|| {
            i = i.wrapping_add(1);
            l.snapshot("s");
            l.fund(&nth(i % 1_000), Amount(1)).expect("valid amount");
            l.restore("s")
        })
    });
    g.finish();
}

fn snapshots(c: &mut Criterion) {
    let big: u64 = std::env::var("COMQUTE_BENCH_BIG_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    // Invariant: loading jobs into a valid marketplace genesis only submits valid jobs.
    let mut small = big_ledger(1_000, 100_000).expect("1k jobs");
    snapshot_restore(&mut small, c, "snapshot_restore_1k_jobs");
    drop(small);
    let mut large = big_ledger(big, 100_000).expect("big state");
    snapshot_restore(&mut large, c, "snapshot_restore_1m_jobs");
}

fn invariants(c: &mut Criterion) {
    let mut g = c.benchmark_group("harness");
    g.sample_size(10);
    let model = MarketModel::default();
    let mut seed = 0u8;
    g.bench_function("invariant_run_50_actions", |b| {
        b.iter(|| {
            seed = seed.wrapping_add(1);
            InvariantRunner::new(&model, "bench")
                .cases(1)
                .min_actions(50)
                .max_actions(50)
                .seed([seed; 32])
                .run()
        })
    });
    g.finish();
}

criterion_group!(benches, transfers, scenarios, invariants, snapshots);
criterion_main!(benches);

//! The durable ledger and the digest (issue 7): writing a snapshot (capture, encode, write,
//! fsync, rename) and loading it at start-up (read, check, rebuild, recompute the state
//! digest) with 10,000 and 100,000 live jobs; start-up replay of a tick log of 100,000
//! transfers (no snapshot); and the from-scratch state digest a snapshot load checks.
//!
//! Durable stores go under the system temporary directory and are removed at the end. The
//! lookup index is off, so start-up times the snapshot and the log alone.

// criterion's macros generate undocumented functions.
#![allow(missing_docs)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use comqute_benches::lifecycle::{
    genesis_builder, live_state, registrations, requester, submission,
};
use comqute_qpi::{Amount, Tick};
use comqute_ledger::durable::{DurableConfig, DurableLedger};
use comqute_ledger::{Ledger, LedgerBuilder, Transaction};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

const TICK: u64 = 4_096;

fn config() -> DurableConfig {
    DurableConfig {
        snapshot_every_ticks: 0,
        snapshot_at_epoch_end: false,
        keep_snapshots: 1,
        index: false,
        ..DurableConfig::default()
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "comqute-bench-durable-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn open(dir: &Path, builder: LedgerBuilder) -> DurableLedger {
    // Invariant: the directory is ours and was made with this builder (or is new).
    DurableLedger::open(dir, builder, config()).expect("open").0
}

/// A durable marketplace with registered workers and `jobs` open jobs, 4,096 a tick.
fn durable_jobs(dir: &Path, jobs: u64) -> DurableLedger {
    let mut d = open(dir, genesis_builder(64));
    for tx in registrations(d.ledger().next_tick()) {
        d.submit_unsigned(tx).expect("registration accepted");
    }
    d.process_tick().expect("tick");
    let mut made = 0;
    while made < jobs {
        let batch = (jobs - made).min(TICK);
        let tick = d.ledger().next_tick();
        for id in made + 1..=made + batch {
            d.submit_unsigned(submission(id, tick))
                .expect("job accepted");
        }
        d.process_tick().expect("tick");
        made += batch;
    }
    d
}

fn snapshots(c: &mut Criterion) {
    let mut g = c.benchmark_group("snapshot");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    for (name, jobs) in [("10k_jobs", 10_000u64), ("100k_jobs", 100_000)] {
        let dir = scratch(name);
        let mut d = durable_jobs(&dir, jobs);
        g.bench_function(format!("write_{name}"), |b| {
            b.iter(|| d.snapshot_now().expect("snapshot written"))
        });
        drop(d);
        // Start-up from that snapshot, nothing to replay after it.
        g.bench_function(format!("load_{name}"), |b| {
            b.iter_batched(
                || (),
                |()| {
                    let (d, report) =
                        DurableLedger::open(&dir, genesis_builder(64), config()).expect("open");
                    assert!(report.snapshot.is_some() && report.replayed_records == 0);
                    d
                },
                BatchSize::PerIteration,
            )
        });
        let _ = std::fs::remove_dir_all(&dir);
    }
    g.finish();
}

fn transfers_builder() -> LedgerBuilder {
    let mut b = Ledger::builder();
    for i in 0..256 {
        b = b.fund(requester(i), Amount(1_000_000_000_000));
    }
    b
}

fn replay(c: &mut Criterion) {
    const TXS: u64 = 100_000;
    let dir = scratch("replay");
    {
        let mut d = open(&dir, transfers_builder());
        let mut sent = 0u64;
        while sent < TXS {
            let batch = (TXS - sent).min(TICK);
            let tick: Tick = d.ledger().next_tick();
            for i in sent..sent + batch {
                let k = (i % 256) as u32;
                let tx = Transaction::new(
                    requester(k),
                    requester((k + 1) % 256),
                    Amount(1 + (i / 256) as i64),
                    tick,
                    0,
                    vec![],
                );
                d.submit_unsigned(tx).expect("transfer accepted");
            }
            d.process_tick().expect("tick");
            sent += batch;
        }
        d.flush().expect("flush");
    }
    let mut g = c.benchmark_group("log_replay");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(TXS));
    g.bench_function("transfers_100k", |b| {
        b.iter_batched(
            || (),
            |()| {
                let (d, report) =
                    DurableLedger::open(&dir, transfers_builder(), config()).expect("open");
                assert!(report.snapshot.is_none() && report.replayed_ticks > 0);
                d
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

fn digest(c: &mut Criterion) {
    let mut g = c.benchmark_group("digest");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for (name, jobs) in [("10k_jobs", 10_000u64), ("100k_jobs", 100_000)] {
        // Invariant: loading open jobs into a valid marketplace only submits valid jobs.
        let l = live_state(jobs).expect("live state");
        assert_eq!(l.state().recompute_digest(), l.state_digest());
        g.bench_function(format!("state_recompute_{name}"), |b| {
            b.iter(|| l.state().recompute_digest())
        });
    }
    let tx = vec![7u8; 144];
    g.bench_function("blake3_144_bytes", |b| {
        b.iter(|| comqute_qpi::Hash32::of(std::hint::black_box(&tx)))
    });
    g.finish();
}

criterion_group!(benches, digest, snapshots, replay);
criterion_main!(benches);

//! The harness's own speed (issue 9): one unsigned transfer, snapshot plus restore, a warp
//! over idle ticks, a fresh harness, a fork.

use comqute_benches::funded;
use comqute_contracts::examples::{Faulty, Notary, SendMany};
use comqute_contracts::{Amount, Identity, Tick};
use comqute_ledger::Ledger;
use criterion::{criterion_group, criterion_main, Criterion};

fn harness(c: &mut Criterion) {
    let mut g = c.benchmark_group("harness");
    let (mut l, keys) = funded(1_000);
    let from = keys[0].identity();
    let mut n = 0u8;
    g.bench_function("unsigned_transfer_execute", |b| {
        b.iter(|| {
            n = n.wrapping_add(1);
            l.execute(from, Identity([n; 32]), Amount(1), 0, vec![])
        })
    });
    // The same, with history kept short: the ledger is restored to a snapshot every 1,000
    // transfers, so receipts and tick summaries do not pile up for millions of iterations.
    let (mut short, keys) = funded(1_000);
    let from = keys[0].identity();
    short.snapshot("base");
    g.bench_function("unsigned_transfer_execute_short_history", |b| {
        b.iter_custom(|iters| {
            let start = std::time::Instant::now();
            for i in 0..iters {
                if i % 1_000 == 999 {
                    short.restore("base").expect("snapshot exists");
                }
                let to = Identity([(i % 251) as u8; 32]);
                let _ = short.execute(from, to, Amount(1), 0, vec![]);
            }
            start.elapsed()
        })
    });
    g.bench_function("snapshot_restore", |b| {
        b.iter(|| {
            l.snapshot("s");
            l.fund(&Identity([9; 32]), Amount(1)).expect("valid amount");
            l.restore("s")
        })
    });
    g.bench_function("warp_1m_idle_ticks", |b| {
        b.iter(|| {
            let mut f = l.fork();
            let t = f.next_tick();
            f.warp_to_tick(Tick(t.0 + 1_000_000))
        })
    });
    g.bench_function("start_with_example_contracts", |b| {
        b.iter(|| {
            Ledger::builder()
                .contract(Notary)
                .contract(SendMany)
                .contract(Faulty)
                .build()
        })
    });
    g.bench_function("fork", |b| b.iter(|| l.fork()));
    g.finish();
}

criterion_group!(benches, harness);
criterion_main!(benches);

//! Wire format, signatures and tick processing.

// criterion's macros generate undocumented functions.
#![allow(missing_docs)]

use comqute_benches::{funded, key, transfers};
use comqute_qpi::{Amount, ContractIndex, Tick};
use comqute_ledger::{tx::verify_all, Transaction};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

fn wire(c: &mut Criterion) {
    let k = key(1);
    let tx = Transaction::call(
        k.identity(),
        ContractIndex(4),
        Amount(5_000),
        Tick(10),
        1,
        vec![7; 96],
    )
    .sign(&k);
    let bytes = tx.encode();
    let mut g = c.benchmark_group("tx");
    g.bench_function("encode", |b| b.iter(|| tx.encode()));
    g.bench_function("decode", |b| b.iter(|| Transaction::decode(&bytes)));
    g.bench_function("id", |b| b.iter(|| tx.id()));
    g.bench_function("sign", |b| b.iter(|| tx.clone().sign(&k)));
    g.bench_function("verify", |b| b.iter(|| tx.verify()));
    g.finish();

    let keys: Vec<_> = (0..64).map(key).collect();
    let batch = transfers(&keys, Tick(1), 4096);
    let mut g = c.benchmark_group("verify_batch");
    g.throughput(Throughput::Elements(batch.len() as u64));
    g.sample_size(10);
    g.bench_function("4096_all_cores", |b| b.iter(|| verify_all(&batch)));
    g.finish();
}

fn ticks(c: &mut Criterion) {
    let mut g = c.benchmark_group("tick_transfers");
    g.sample_size(10);
    for n in [1usize, 256, 4096] {
        let (base, keys) = funded(256);
        let txs = transfers(&keys, base.next_tick(), n);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(format!("signed_{n}"), |b| {
            b.iter_batched(
                || {
                    let (mut l, _) = funded(256);
                    for tx in &txs {
                        // Invariant: fresh, funded, distinct transactions for the next tick.
                        l.submit(tx.clone()).expect("accepted");
                    }
                    l
                },
                |mut l| (l.process_tick(), l),
                BatchSize::PerIteration,
            )
        });
        g.bench_function(format!("unsigned_{n}"), |b| {
            b.iter_batched(
                || {
                    let (mut l, _) = funded(256);
                    for tx in &txs {
                        // Invariant: as above.
                        l.submit_unsigned(tx.clone()).expect("accepted");
                    }
                    l
                },
                |mut l| (l.process_tick(), l),
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, wire, ticks);
criterion_main!(benches);

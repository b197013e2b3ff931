//! The node's content-addressed blob store (prompts and results): put and get of 1 KiB and
//! 64 KiB bodies, on disk (written to a temporary file, synced, renamed; read back and
//! checked against the hash) and in memory. Every put stores a new body: putting a stored
//! one is a no-op. The on-disk store lives under the system temporary directory and is
//! removed at the end.

// criterion's macros generate undocumented functions.
#![allow(missing_docs)]

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use comqute_node::blobs::BlobStore;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

/// A body of `size` bytes, distinct for every `n`.
fn body(size: usize, n: u64) -> Vec<u8> {
    let mut b = vec![0x42; size];
    b[..8].copy_from_slice(&n.to_le_bytes());
    b
}

fn blobs(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("comqute-bench-blobs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let stores = [
        ("disk", BlobStore::Dir(dir.clone())),
        ("memory", BlobStore::Memory(Mutex::new(BTreeMap::new()))),
    ];
    let mut g = c.benchmark_group("blob");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for (kind, store) in &stores {
        for (size_name, size) in [("1k", 1_024usize), ("64k", 65_536)] {
            g.throughput(Throughput::Bytes(size as u64));
            let mut n = 0u64;
            g.bench_function(format!("put_{kind}_{size_name}"), |b| {
                b.iter_batched(
                    || {
                        n += 1;
                        body(size, n)
                    },
                    // Invariant: the store's directory is writable.
                    |v| store.put(&v).expect("stored"),
                    BatchSize::PerIteration,
                )
            });
            // Invariant: as above.
            let h = store.put(&body(size, u64::MAX)).expect("stored");
            g.bench_function(format!("get_{kind}_{size_name}"), |b| {
                b.iter(|| store.get(&h).expect("read").expect("present"))
            });
        }
    }
    g.finish();
    drop(stores);
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, blobs);
criterion_main!(benches);

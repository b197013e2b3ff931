//! Shared fixtures of the criterion suite (`cargo bench -p comqute-benches`): funded keys and
//! signed workloads, built the same way for every benchmark; the issue-9 harness figures
//! ([`harness`]); job-lifecycle states and calls ([`lifecycle`]).

pub mod harness;
pub mod lifecycle;

use comqute_qpi::{Amount, Identity, Tick};
use comqute_ledger::{Keypair, Ledger, Seed, Transaction};

/// The i-th benchmark key.
pub fn key(i: u32) -> Keypair {
    let mut s = [b'b'; 55];
    let mut n = i;
    for slot in s.iter_mut().rev().take(7) {
        *slot = b'a' + (n % 26) as u8;
        n /= 26;
    }
    // Invariant: the bytes are 55 lowercase letters, a valid seed.
    Seed::new(std::str::from_utf8(&s).expect("ascii"))
        .expect("valid seed")
        .keypair()
}

/// A ledger with `n` funded keys and no contracts.
pub fn funded(n: u32) -> (Ledger, Vec<Keypair>) {
    let keys: Vec<_> = (0..n).map(key).collect();
    let mut b = Ledger::builder();
    for k in &keys {
        b = b.fund(k.identity(), Amount(1_000_000_000));
    }
    // Invariant: a genesis with only funded keys and default settings is valid.
    (b.build().expect("valid genesis"), keys)
}

/// `count` signed plain transfers for `tick`, round-robin over `keys`.
pub fn transfers(keys: &[Keypair], tick: Tick, count: usize) -> Vec<Transaction> {
    (0..count)
        .map(|i| {
            let k = &keys[i % keys.len()];
            let to = Identity([(i % 251) as u8; 32]);
            Transaction::new(
                k.identity(),
                to,
                Amount(1 + (i / keys.len()) as i64),
                tick,
                0,
                vec![],
            )
            .sign(k)
        })
        .collect()
}

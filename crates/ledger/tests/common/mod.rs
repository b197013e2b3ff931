//! Shared set-up for the ledger's behaviour tests.
#![allow(dead_code)]

use comqute_qpi::examples::{Faulty, Notary, SendMany};
use comqute_qpi::{Amount, Identity};
use comqute_ledger::{Keypair, Ledger, LedgerBuilder, Seed};

/// The i-th test key: seed "aaa…" with the last letters spelling i in base 26.
pub fn key(i: u32) -> Keypair {
    let mut s = vec![b'a'; 55];
    let mut n = i;
    for slot in s.iter_mut().rev().take(7) {
        *slot = b'a' + (n % 26) as u8;
        n /= 26;
    }
    Seed::new(std::str::from_utf8(&s).expect("ascii"))
        .expect("valid seed")
        .keypair()
}

/// A ledger with the example contracts and `n` funded keys.
pub fn example_ledger(n: u32, each: i64) -> (Ledger, Vec<Keypair>) {
    let keys: Vec<Keypair> = (0..n).map(key).collect();
    let mut b: LedgerBuilder = Ledger::builder()
        .contract(Notary)
        .contract(SendMany)
        .contract(Faulty)
        .epoch_ticks(20);
    for k in &keys {
        b = b.fund(k.identity(), Amount(each));
    }
    (b.build().expect("valid genesis"), keys)
}

/// The sum of every balance in the state, contracts included.
pub fn total_balances(l: &Ledger) -> i128 {
    l.state()
        .accounts_sorted()
        .iter()
        .map(|(_, a)| i128::from(a.balance))
        .sum()
}

/// An identity with no key, for receiving.
pub fn sink(n: u8) -> Identity {
    Identity([n; 32])
}

//! Shared set-up for the durable ledger's tests: temp dirs, the genesis, and a deterministic
//! load whose every step is derived from the ledger's own position and state, so that a
//! process killed in the middle of a step and started again does the same as one that never
//! stopped.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use comqute_ledger::durable::{DurableConfig, DurableError, DurableLedger};
use comqute_ledger::state::Account;
use comqute_ledger::{Keypair, Ledger, LedgerBuilder, Seed, Transaction, TxId};
use comqute_qpi::contract::Contract;
use comqute_qpi::examples::*;
use comqute_qpi::{Amount, Hash32, Identity, Tick};

/// A fresh, empty directory for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir()
        .join("comqute-durable-tests")
        .join(format!(
            "{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// The i-th test key.
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

/// The keys the load uses.
pub fn keys() -> Vec<Keypair> {
    (0..6).map(key).collect()
}

/// The identity only the faucet pays (so "funded at tick t" can be read from its counters).
pub const FAUCET_SINK: Identity = Identity([0xFA; 32]);

/// Epoch length of the test genesis.
pub const EPOCH_TICKS: u32 = 25;

/// The test genesis: the example contracts and funded keys.
pub fn genesis(keys: &[Keypair]) -> LedgerBuilder {
    let mut b = Ledger::builder()
        .contract(Notary)
        .contract(SendMany)
        .contract(Faulty)
        .epoch_ticks(EPOCH_TICKS);
    for k in keys {
        b = b.fund(k.identity(), Amount(1_000_000_000_000));
    }
    b
}

/// The contracts of [`genesis`], for `verify` and `export`.
pub fn contracts() -> Vec<Arc<dyn Contract>> {
    vec![Arc::new(Notary), Arc::new(SendMany), Arc::new(Faulty)]
}

/// Small snapshots and segments, so that tests cross many of both.
pub fn small_config() -> DurableConfig {
    DurableConfig {
        snapshot_every_ticks: 8,
        keep_snapshots: 3,
        segment_bytes: 16 << 10,
        ..DurableConfig::default()
    }
}

/// What the load needs from a ledger, durable or in memory.
pub trait Node {
    /// The next tick.
    fn next_tick(&self) -> Tick;
    /// A balance record.
    fn account(&self, id: &Identity) -> Account;
    /// Submits signed (`verify`) or unsigned.
    fn put(&mut self, tx: Transaction, signed: bool) -> Result<TxId, String>;
    /// The faucet.
    fn faucet(&mut self, to: &Identity, amount: Amount) -> Result<(), String>;
    /// One tick.
    fn tick(&mut self) -> Result<Tick, String>;
    /// A warp.
    fn warp(&mut self, to: Tick) -> Result<(), String>;
}

impl Node for Ledger {
    fn next_tick(&self) -> Tick {
        Ledger::next_tick(self)
    }
    fn account(&self, id: &Identity) -> Account {
        Ledger::account(self, id)
    }
    fn put(&mut self, tx: Transaction, signed: bool) -> Result<TxId, String> {
        let r = if signed {
            self.submit(tx)
        } else {
            self.submit_unsigned(tx)
        };
        r.map_err(|e| e.to_string())
    }
    fn faucet(&mut self, to: &Identity, amount: Amount) -> Result<(), String> {
        self.fund(to, amount).map_err(|e| e.to_string())
    }
    fn tick(&mut self) -> Result<Tick, String> {
        self.process_tick().map_err(|e| e.to_string())
    }
    fn warp(&mut self, to: Tick) -> Result<(), String> {
        self.warp_to_tick(to).map_err(|e| e.to_string())
    }
}

impl Node for DurableLedger {
    fn next_tick(&self) -> Tick {
        self.ledger().next_tick()
    }
    fn account(&self, id: &Identity) -> Account {
        self.ledger().account(id)
    }
    fn put(&mut self, tx: Transaction, signed: bool) -> Result<TxId, String> {
        let r = if signed {
            self.submit(tx)
        } else {
            self.submit_unsigned(tx)
        };
        r.map_err(|e| e.to_string())
    }
    fn faucet(&mut self, to: &Identity, amount: Amount) -> Result<(), String> {
        self.fund(to, amount).map_err(|e| e.to_string())
    }
    fn tick(&mut self) -> Result<Tick, String> {
        self.process_tick().map_err(|e: DurableError| e.to_string())
    }
    fn warp(&mut self, to: Tick) -> Result<(), String> {
        self.warp_to_tick(to).map_err(|e| e.to_string())
    }
}

/// The `n`-th receiving identity of the load.
pub fn sink(n: u32) -> Identity {
    let mut b = [0x5A; 32];
    b[..4].copy_from_slice(&n.to_le_bytes());
    Identity(b)
}

/// One step of the load at the node's next tick `t`: every 37th tick a warp; otherwise a
/// faucet payment every 5th tick (skipped if this tick's was made already), then transfers,
/// send-many calls, scheduled payments, notary records, failing calls, a signed transfer, a
/// bad signature now and then, and one transaction for a later tick, then the tick.
pub fn step(n: &mut impl Node, keys: &[Keypair]) {
    let t = n.next_tick();
    let x = t.0;
    if x.is_multiple_of(37) {
        n.warp(Tick(x + 3)).expect("warp");
        return;
    }
    if x.is_multiple_of(5) && n.account(&FAUCET_SINK).latest_incoming_transfer_tick != x {
        n.faucet(&FAUCET_SINK, Amount(i64::from(x)))
            .expect("faucet");
    }
    let k = |i: u32| &keys[(i as usize) % keys.len()];
    let count = 3 + x % 5;
    for i in 0..count {
        let from = k(x + i);
        let tx = Transaction::new(
            from.identity(),
            sink(x % 13 + i),
            Amount(i64::from((x * 7 + i) % 1000 + 1)),
            t,
            0,
            vec![],
        );
        n.put(tx, false).expect("transfer");
    }
    let payments = vec![
        (sink(x % 3), Amount(5)),
        (sink(100 + x % 4), Amount(i64::from(x % 50 + 1))),
    ];
    let total = 5 + i64::from(x % 50 + 1) + SEND_MANY_FEE.0 + i64::from(x % 3);
    let input = borsh::to_vec(&SendToMany { payments }).expect("borsh");
    n.put(
        Transaction::call(
            k(x + 1).identity(),
            SEND_MANY,
            Amount(total),
            t,
            SEND_TO_MANY,
            input,
        ),
        false,
    )
    .expect("send-many");
    let at = Tick(x + 2 + x % 4);
    let input = borsh::to_vec(&Schedule {
        to: sink(200 + x % 7),
        amount: Amount(11),
        at,
    })
    .expect("borsh");
    n.put(
        Transaction::call(
            k(x + 2).identity(),
            SEND_MANY,
            Amount(11),
            t,
            SCHEDULE,
            input,
        ),
        false,
    )
    .expect("schedule");
    let input = borsh::to_vec(&Hash32::of(&x.to_le_bytes())).expect("borsh");
    n.put(
        Transaction::call(
            k(x + 3).identity(),
            NOTARY,
            Amount(0),
            t,
            NOTARY_RECORD,
            input,
        ),
        false,
    )
    .expect("notary");
    let which = if x.is_multiple_of(3) {
        FAULTY_FAIL
    } else {
        FAULTY_SUCCEED
    };
    n.put(
        Transaction::call(k(x + 4).identity(), FAULTY, Amount(4), t, which, vec![]),
        false,
    )
    .expect("faulty");
    if x.is_multiple_of(4) {
        let s = k(x + 5);
        let tx = Transaction::new(s.identity(), sink(300), Amount(3), t, 0, vec![]).sign(s);
        n.put(tx, true).expect("signed");
    }
    if x.is_multiple_of(9) {
        let tx =
            Transaction::new(k(x).identity(), sink(301), Amount(2), t, 0, vec![]).sign(k(x + 1));
        n.put(tx, true)
            .expect("bad signature is accepted into the pool");
    }
    let later = Transaction::new(
        k(x + 3).identity(),
        sink(400 + x % 5),
        Amount(1),
        Tick(x + 2),
        0,
        vec![x as u8],
    );
    n.put(later, false).expect("a transaction for a later tick");
    n.tick().expect("tick");
}

/// The lowercase hex of a hash.
pub fn hex(h: &Hash32) -> String {
    h.to_hex()
}

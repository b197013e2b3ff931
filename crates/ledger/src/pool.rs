//! The pending pool: transactions waiting for their tick.
//!
//! **Priority rule** (Qubic's, since core PR #563): `priority = balance × (tx.tick −
//! latest outgoing transfer tick + 1)`, the source's balance and counters read when the
//! transaction is submitted. A tick holds at most `capacity` transactions in submission
//! order (its slot order). When it is full, a newcomer with a higher priority than the lowest
//! present evicts that one, which gets a `Dropped { PoolFull }` receipt; a newcomer with a
//! priority not higher is refused with [`crate::LedgerError::TickFull`]. Nothing is dropped
//! silently.

use std::collections::BTreeMap;

use comqute_qpi::{Identity, Tick};
use rustc_hash::FxHashMap;

use crate::tx::{Transaction, TxId};

/// A transaction waiting for its tick.
#[derive(Debug, Clone)]
pub(crate) struct PendingTx {
    pub tx: Transaction,
    pub id: TxId,
    /// Whether the signature was already checked (or deliberately skipped in harness mode).
    pub verified: bool,
    pub priority: u128,
}

/// Where a submitted transaction went.
pub(crate) enum Admission {
    Added,
    Evicted(Box<PendingTx>),
    Full,
}

#[derive(Debug, Default)]
pub(crate) struct Pool {
    ticks: BTreeMap<Tick, Vec<PendingTx>>,
    /// Ids of every pending transaction (lookups only, never iterated).
    ids: FxHashMap<TxId, Tick>,
    /// Pending transactions per source identity (lookups only, never iterated): what a
    /// node's per-identity cap reads.
    per_source: FxHashMap<Identity, u32>,
    /// An emptied tick vector kept for the next tick (no allocation per tick).
    spare: Option<Vec<PendingTx>>,
}

/// A clone sized to what is pending (a snapshot clones the pool: its cost must follow the
/// pending transactions, not the largest tick the pool ever held).
impl Clone for Pool {
    fn clone(&self) -> Self {
        let mut ids = FxHashMap::default();
        ids.reserve(self.ids.len());
        for p in self.ticks.values().flatten() {
            ids.insert(p.id, p.tx.tick);
        }
        Pool {
            ticks: self.ticks.clone(),
            ids,
            per_source: self.per_source.clone(),
            spare: None,
        }
    }
}

impl Pool {
    pub fn contains(&self, id: &TxId) -> Option<Tick> {
        self.ids.get(id).copied()
    }

    pub fn admit(&mut self, p: PendingTx, capacity: usize) -> Admission {
        let spare = &mut self.spare;
        let slots = self
            .ticks
            .entry(p.tx.tick)
            .or_insert_with(|| spare.take().unwrap_or_default());
        if slots.len() < capacity {
            self.ids.insert(p.id, p.tx.tick);
            *self.per_source.entry(p.tx.source).or_insert(0) += 1;
            slots.push(p);
            return Admission::Added;
        }
        // The lowest priority; among equals the latest submitted goes first.
        let Some((at, low)) = slots
            .iter()
            .enumerate()
            .min_by(|(ia, a), (ib, b)| a.priority.cmp(&b.priority).then(ib.cmp(ia)))
            .map(|(i, x)| (i, x.priority))
        else {
            return Admission::Full; // capacity 0
        };
        if p.priority <= low {
            return Admission::Full;
        }
        let evicted = slots.remove(at);
        self.ids.remove(&evicted.id);
        Self::forget_source(&mut self.per_source, &evicted.tx.source);
        self.ids.insert(p.id, p.tx.tick);
        *self.per_source.entry(p.tx.source).or_insert(0) += 1;
        slots.push(p);
        Admission::Evicted(Box::new(evicted))
    }

    /// Takes the transactions of `tick`, in slot order.
    pub fn take(&mut self, tick: Tick) -> Vec<PendingTx> {
        let txs = self.ticks.remove(&tick).unwrap_or_default();
        for p in &txs {
            self.ids.remove(&p.id);
            Self::forget_source(&mut self.per_source, &p.tx.source);
        }
        txs
    }

    fn forget_source(per_source: &mut FxHashMap<Identity, u32>, source: &Identity) {
        if let Some(n) = per_source.get_mut(source) {
            *n -= 1;
            if *n == 0 {
                per_source.remove(source);
            }
        }
    }

    /// Pending transactions from `source`.
    pub fn pending_from(&self, source: &Identity) -> usize {
        self.per_source.get(source).map_or(0, |n| *n as usize)
    }

    /// A tick's worth of one transaction, in a reused vector, without entering the pool
    /// (for a tick in which nothing else is pending).
    pub fn single(&mut self, p: PendingTx) -> Vec<PendingTx> {
        let mut v = self.spare.take().unwrap_or_default();
        v.push(p);
        v
    }

    /// Gives back a vector that [`Pool::take`] returned, for reuse.
    pub fn recycle(&mut self, mut v: Vec<PendingTx>) {
        v.clear();
        if v.capacity() > 0 && v.capacity() <= 4_096 {
            self.spare = Some(v);
        }
    }

    /// The first tick at or after `from` with pending transactions.
    pub fn next_tick_from(&self, from: Tick) -> Option<Tick> {
        self.ticks.range(from..).next().map(|(t, _)| *t)
    }

    /// Number of pending transactions.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Every pending transaction, by tick and then in slot order (durable snapshots).
    pub fn entries(&self) -> impl Iterator<Item = &PendingTx> {
        self.ticks.values().flatten()
    }
}

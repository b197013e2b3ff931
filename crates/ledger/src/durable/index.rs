//! The lookup index: transaction status by id, a tick's transactions and digests, events by
//! global sequence number — answered without replaying anything, whatever snapshot the
//! ledger was started from. Kept in redb (`DIR/index.redb`, pure Rust, ACID).
//!
//! The log stays the source of truth, and the ledger's in-memory history answers for every
//! tick processed since start-up, so the index is written in batches by a background thread
//! (see `worker`): before every snapshot (so that it covers everything the snapshot leaves
//! out of memory), on `flush`, at the end of start-up, and every 65,536 receipts. Each batch
//! is one durable redb transaction with a `records` mark saying how far it got; start-up uses
//! only a snapshot at or before that mark, and re-indexes only records past it. (Writing the
//! index with every tick cost more than the tick itself: about 5 µs a receipt on this
//! machine's 2 cores, for random 32-byte keys.)

use std::path::Path;

use borsh::{BorshDeserialize, BorshSerialize};
use comqute_qpi::{Amount, ContractError, ContractIndex, Hash32, Identity, Tick};
use redb::{Database, Durability, TableDefinition};
use serde::Serialize;

use crate::receipt::{DropReason, Event, Receipt, TxStatus};
use crate::tx::TxId;

use super::record::TickCheck;
use super::DurableError;

const TXS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("txs");
const TICKS: TableDefinition<u32, &[u8]> = TableDefinition::new("ticks");
const EVENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("events");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

fn ie<E: Into<redb::Error>>(e: E) -> DurableError {
    DurableError::Index(e.into().to_string())
}

/// How a transaction ended, as the index keeps it.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
#[serde(tag = "status", rename_all = "camelCase")]
pub enum TxOutcome {
    /// It ran.
    Executed,
    /// The contract refused it; nothing of it stayed.
    Failed {
        /// The contract's error.
        error: ContractError,
    },
    /// It never ran.
    Dropped {
        /// Why, as the JSON of [`DropReason`].
        reason: String,
    },
}

impl TxOutcome {
    /// "executed", "failed" or "dropped", as [`TxStatus::name`].
    pub fn name(&self) -> &'static str {
        match self {
            TxOutcome::Executed => "executed",
            TxOutcome::Failed { .. } => "failed",
            TxOutcome::Dropped { .. } => "dropped",
        }
    }
}

/// What is kept of a transaction once its tick ran (or it was dropped): enough for a
/// Qubic-style `tx-status`. The full [`Receipt`] (output, transfers, call tree) is kept only
/// in memory, for the ticks processed since start-up.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TxRecord {
    /// The id.
    pub tx_id: TxId,
    /// Its tick.
    pub tick: Tick,
    /// Its slot in the tick (`u32::MAX` if dropped from the pool before its tick).
    pub slot: u32,
    /// Source.
    pub source: Identity,
    /// Destination.
    pub destination: Identity,
    /// Amount.
    pub amount: Amount,
    /// Procedure number.
    pub input_type: u16,
    /// How it ended.
    pub outcome: TxOutcome,
    /// Qubic's `moneyFlew`.
    pub money_flew: bool,
}

impl TxRecord {
    /// The record of a receipt.
    pub fn of(r: &Receipt) -> TxRecord {
        let outcome = match &r.status {
            TxStatus::Executed => TxOutcome::Executed,
            TxStatus::Failed { error } => TxOutcome::Failed {
                error: error.clone(),
            },
            TxStatus::Dropped { reason } => TxOutcome::Dropped {
                reason: drop_reason_json(reason),
            },
        };
        TxRecord {
            tx_id: r.tx_id,
            tick: r.tick,
            slot: r.slot,
            source: r.source,
            destination: r.destination,
            amount: r.amount,
            input_type: r.input_type,
            outcome,
            money_flew: r.money_flew,
        }
    }
}

fn drop_reason_json(reason: &DropReason) -> String {
    // Invariant: DropReason is plain data (strings, numbers, hashes); its JSON cannot fail.
    serde_json::to_string(reason).expect("a drop reason serializes to JSON")
}

/// A processed tick as the index keeps it: its digests and its transactions in slot order.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct TickRecord {
    /// Digests and transaction count.
    pub check: TickCheck,
    /// Transaction ids in slot order.
    pub transactions: Vec<TxId>,
}

#[derive(BorshSerialize, BorshDeserialize)]
struct StoredEvent {
    tick: Tick,
    tx: Option<Hash32>,
    contract: u32,
    data: Vec<u8>,
}

/// What one commit adds to the index.
#[derive(Default)]
pub(crate) struct IndexBatch {
    pub records: u64,
    pub events_total: u64,
    pub txs: Vec<TxRecord>,
    pub ticks: Vec<TickRecord>,
    /// (global sequence number, event)
    pub events: Vec<(u64, Event)>,
}

/// The redb lookup index.
pub(crate) struct Index {
    db: Database,
}

impl Index {
    /// Opens or creates the index file.
    pub fn open(path: &Path) -> Result<Index, DurableError> {
        let db = Database::create(path).map_err(ie)?;
        let w = db.begin_write().map_err(ie)?;
        {
            w.open_table(TXS).map_err(ie)?;
            w.open_table(TICKS).map_err(ie)?;
            w.open_table(EVENTS).map_err(ie)?;
            w.open_table(META).map_err(ie)?;
        }
        w.commit().map_err(ie)?;
        Ok(Index { db })
    }

    fn meta(&self, key: &str) -> Result<u64, DurableError> {
        let r = self.db.begin_read().map_err(ie)?;
        let t = r.open_table(META).map_err(ie)?;
        Ok(t.get(key).map_err(ie)?.map(|v| v.value()).unwrap_or(0))
    }

    /// Log records indexed so far.
    pub fn records(&self) -> Result<u64, DurableError> {
        self.meta("records")
    }

    /// Writes a batch in one durable transaction (keys in order, which B-trees like).
    pub fn write(&self, batch: &IndexBatch) -> Result<(), DurableError> {
        let mut w = self.db.begin_write().map_err(ie)?;
        w.set_durability(Durability::Immediate);
        {
            let mut txs = w.open_table(TXS).map_err(ie)?;
            let mut sorted: Vec<&TxRecord> = batch.txs.iter().collect();
            sorted.sort_by_key(|r| r.tx_id);
            for r in sorted {
                let v = borsh::to_vec(r).map_err(|e| DurableError::Index(e.to_string()))?;
                txs.insert(&r.tx_id.0[..], &v[..]).map_err(ie)?;
            }
            let mut ticks = w.open_table(TICKS).map_err(ie)?;
            for t in &batch.ticks {
                let v = borsh::to_vec(t).map_err(|e| DurableError::Index(e.to_string()))?;
                ticks.insert(t.check.tick.0, &v[..]).map_err(ie)?;
            }
            let mut events = w.open_table(EVENTS).map_err(ie)?;
            for (seq, e) in &batch.events {
                let s = StoredEvent {
                    tick: e.tick,
                    tx: e.tx,
                    contract: e.contract.0,
                    data: e.data.clone(),
                };
                let v = borsh::to_vec(&s).map_err(|e| DurableError::Index(e.to_string()))?;
                events.insert(*seq, &v[..]).map_err(ie)?;
            }
            let mut meta = w.open_table(META).map_err(ie)?;
            meta.insert("records", batch.records).map_err(ie)?;
            meta.insert("events", batch.events_total).map_err(ie)?;
        }
        w.commit().map_err(ie)
    }

    /// A transaction's record.
    pub fn tx(&self, id: &TxId) -> Result<Option<TxRecord>, DurableError> {
        let r = self.db.begin_read().map_err(ie)?;
        let t = r.open_table(TXS).map_err(ie)?;
        match t.get(&id.0[..]).map_err(ie)? {
            None => Ok(None),
            Some(v) => TxRecord::try_from_slice(v.value())
                .map(Some)
                .map_err(|e| DurableError::Index(e.to_string())),
        }
    }

    /// A tick's record.
    pub fn tick(&self, tick: Tick) -> Result<Option<TickRecord>, DurableError> {
        let r = self.db.begin_read().map_err(ie)?;
        let t = r.open_table(TICKS).map_err(ie)?;
        match t.get(tick.0).map_err(ie)? {
            None => Ok(None),
            Some(v) => TickRecord::try_from_slice(v.value())
                .map(Some)
                .map_err(|e| DurableError::Index(e.to_string())),
        }
    }

    /// Up to `limit` events with global sequence numbers in `from..to`.
    pub fn events(&self, from: u64, to: u64, limit: usize) -> Result<Vec<Event>, DurableError> {
        let r = self.db.begin_read().map_err(ie)?;
        let t = r.open_table(EVENTS).map_err(ie)?;
        let mut out = Vec::new();
        for item in t.range(from..to).map_err(ie)?.take(limit) {
            let (k, v) = item.map_err(ie)?;
            let s = StoredEvent::try_from_slice(v.value())
                .map_err(|e| DurableError::Index(e.to_string()))?;
            out.push(Event {
                seq: k.value(),
                tick: s.tick,
                tx: s.tx,
                contract: ContractIndex(s.contract),
                data: s.data,
            });
        }
        Ok(out)
    }
}

//! The ledger behind the node: durable (a data directory) or in memory, behind one face.

use comqute_contracts::{Amount, Identity, Tick};
use comqute_ledger::durable::{DurableLedger, TxOutcome, TxState};
use comqute_ledger::{Event, Ledger, TxId, TxLookup, TxStatus, VerifiedTx};
use serde::Serialize;

use crate::error::ApiError;

/// A durable or in-memory ledger.
pub enum Chain {
    /// In memory: everything is lost on exit.
    Memory(Box<Ledger>),
    /// Backed by a data directory.
    Durable(Box<DurableLedger>),
}

/// What the node tells about a transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TxView {
    /// The id, lowercase codec.
    pub tx_id: String,
    /// Qubic's `moneyFlew`.
    pub money_flew: bool,
    /// The tick it is scheduled for or ran in.
    pub tick_number: u32,
    /// pending, executed, failed or dropped.
    pub status: &'static str,
    /// The contract error or drop reason, if any.
    pub error: Option<String>,
}

impl Chain {
    /// The ledger, for reading.
    pub fn ledger(&self) -> &Ledger {
        match self {
            Chain::Memory(l) => l,
            Chain::Durable(d) => d.ledger(),
        }
    }

    /// Queues a verified transaction.
    pub fn submit_verified(&mut self, tx: VerifiedTx) -> Result<TxId, ApiError> {
        Ok(match self {
            Chain::Memory(l) => l.submit_verified(tx)?,
            Chain::Durable(d) => d.submit_verified(tx)?,
        })
    }

    /// Processes the next tick (logging it first when durable).
    pub fn process_tick(&mut self) -> Result<Tick, ApiError> {
        Ok(match self {
            Chain::Memory(l) => l.process_tick()?,
            Chain::Durable(d) => d.process_tick()?,
        })
    }

    /// Devnet faucet.
    pub fn fund(&mut self, id: &Identity, amount: Amount) -> Result<(), ApiError> {
        match self {
            Chain::Memory(l) => l.fund(id, amount)?,
            Chain::Durable(d) => d.fund(id, amount)?,
        }
        Ok(())
    }

    /// Devnet warp.
    pub fn warp_to_tick(&mut self, t: Tick) -> Result<(), ApiError> {
        match self {
            Chain::Memory(l) => l.warp_to_tick(t)?,
            Chain::Durable(d) => d.warp_to_tick(t)?,
        }
        Ok(())
    }

    /// Flushes the log (on shutdown).
    pub fn flush(&mut self) -> Result<(), ApiError> {
        if let Chain::Durable(d) = self {
            d.flush()?;
        }
        Ok(())
    }

    /// What is known of a transaction, across restarts when durable.
    pub fn tx_status(&self, id: &TxId) -> Result<Option<TxView>, ApiError> {
        let view =
            |tick: Tick, status: &'static str, money_flew: bool, error: Option<String>| TxView {
                tx_id: id.to_string(),
                money_flew,
                tick_number: tick.0,
                status,
                error,
            };
        Ok(match self {
            Chain::Memory(l) => match l.lookup(id) {
                TxLookup::Pending(t) => Some(view(t, "pending", false, None)),
                TxLookup::Unknown => None,
                TxLookup::Done(r) => {
                    let error = match &r.status {
                        TxStatus::Executed => None,
                        TxStatus::Failed { error } => Some(error.to_string()),
                        TxStatus::Dropped { reason } => Some(format!("{reason:?}")),
                    };
                    Some(view(r.tick, r.status.name(), r.money_flew, error))
                }
            },
            Chain::Durable(d) => match d.tx_status(id)? {
                TxState::Pending(t) => Some(view(t, "pending", false, None)),
                TxState::Unknown => None,
                TxState::Done(r) => {
                    let error = match &r.outcome {
                        TxOutcome::Executed => None,
                        TxOutcome::Failed { error } => Some(error.to_string()),
                        TxOutcome::Dropped { reason } => Some(reason.clone()),
                    };
                    Some(view(r.tick, r.outcome.name(), r.money_flew, error))
                }
            },
        })
    }

    /// Up to `limit` events numbered `>= cursor` (numbers stable across restarts).
    pub fn events_since(&self, cursor: u64, limit: usize) -> Result<Vec<Event>, ApiError> {
        Ok(match self {
            Chain::Memory(l) => l.events_since(cursor).iter().take(limit).cloned().collect(),
            Chain::Durable(d) => d.events_since(cursor, limit)?,
        })
    }

    /// The transaction ids of a processed tick, in slot order (`None`: nothing ran in it or it
    /// is not processed yet).
    pub fn tick_transactions(&self, tick: Tick) -> Result<Option<Vec<TxId>>, ApiError> {
        Ok(match self {
            Chain::Memory(l) => {
                let s = l.tick_summaries();
                s.binary_search_by(|x| x.tick.cmp(&tick))
                    .ok()
                    .map(|i| s[i].transactions.clone())
            }
            Chain::Durable(d) => d.tick_record(tick)?.map(|r| r.transactions),
        })
    }
}

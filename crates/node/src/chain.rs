//! The ledger behind the node: durable (a data directory) or in memory, behind one face.

use crate::wire::{event_view, ReceiptView};
use comqute_ledger::durable::{DurableLedger, TxOutcome, TxRecord, TxState};
use comqute_ledger::{Event, Ledger, Transaction, TxId, TxLookup, TxStatus, VerifiedTx};
use comqute_qpi::{Amount, Identity, Tick};

use crate::error::ApiError;

/// A durable or in-memory ledger.
pub enum Chain {
    /// In memory: everything is lost on exit.
    Memory(Box<Ledger>),
    /// Backed by a data directory.
    Durable(Box<DurableLedger>),
}

/// What the node tells about a transaction (the wire type).
pub type TxView = crate::wire::TxStatusView;

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

    /// **Devnet power**: queues a transaction without checking its signature.
    pub fn submit_unsigned(&mut self, tx: Transaction) -> Result<TxId, ApiError> {
        Ok(match self {
            Chain::Memory(l) => l.submit_unsigned(tx)?,
            Chain::Durable(d) => d.submit_unsigned(tx)?,
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
                status: status.to_string(),
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
                        TxStatus::Dropped { reason } => Some(reason.to_string()),
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

    /// A transaction's receipt: complete (output, events numbered like
    /// [`Chain::events_since`]) for transactions processed since start-up, the outcome alone
    /// for older ones on a durable ledger.
    pub fn receipt(&self, id: &TxId) -> Result<Option<ReceiptView>, ApiError> {
        let ledger = self.ledger();
        let base = match self {
            Chain::Memory(_) => 0,
            Chain::Durable(d) => d.events_total() - ledger.events().len() as u64,
        };
        let registry = ledger.registry();
        let describe = |c: comqute_qpi::ContractIndex, data: &[u8]| {
            registry
                .get(c)
                .map(|k| crate::wire::described(k.as_ref(), data))
        };
        let error_fields = |e: Option<&comqute_qpi::ContractError>| match e {
            Some(e) => (
                e.code(),
                match e {
                    comqute_qpi::ContractError::Rejected { name, .. } => Some(name.clone()),
                    _ => None,
                },
                Some(hex::encode(borsh::to_vec(e).unwrap_or_default())),
            ),
            None => (None, None, None),
        };
        if let TxLookup::Done(r) = ledger.lookup(id) {
            let (error_code, error_name, error_hex) = error_fields(r.error());
            let error = match &r.status {
                TxStatus::Executed => None,
                TxStatus::Failed { error } => Some(error.to_string()),
                TxStatus::Dropped { reason } => Some(reason.to_string()),
            };
            let (procedure, output) = match crate::contracts::describe_call(
                registry,
                &r.destination,
                r.input_type,
                &r.output,
            ) {
                Some((name, out)) => (Some(name), out.filter(|_| r.error().is_none())),
                None => (None, None),
            };
            return Ok(Some(ReceiptView {
                procedure,
                output,
                tx_id: id.to_string(),
                tick_number: r.tick.0,
                status: r.status.name().to_string(),
                money_flew: r.money_flew,
                error,
                error_code,
                error_name,
                error_hex,
                output_hex: hex::encode(&r.output),
                events: r
                    .events
                    .iter()
                    .map(|e| {
                        let mut e = e.clone();
                        e.seq += base;
                        event_view(&e, describe)
                    })
                    .collect(),
                full: true,
            }));
        }
        let failed = match self {
            Chain::Durable(d) => match d.tx_status(id)? {
                TxState::Done(TxRecord {
                    outcome: TxOutcome::Failed { error },
                    ..
                }) => Some(error),
                _ => None,
            },
            Chain::Memory(_) => None,
        };
        let (error_code, error_name, error_hex) = error_fields(failed.as_ref());
        Ok(self.tx_status(id)?.map(|v| ReceiptView {
            tx_id: v.tx_id,
            tick_number: v.tick_number,
            full: false,
            status: v.status,
            money_flew: v.money_flew,
            error: v.error,
            error_code,
            error_name,
            error_hex,
            output_hex: String::new(),
            procedure: None,
            output: None,
            events: Vec::new(),
        }))
    }

    /// The number the next event will get (events so far, across restarts when durable).
    pub fn events_head(&self) -> u64 {
        match self {
            Chain::Memory(l) => l.events_trimmed() + l.events().len() as u64,
            Chain::Durable(d) => d.events_total(),
        }
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

//! The ledger's error: why a request was refused. A transaction that was accepted and then
//! failed is not an error here; its [`crate::Receipt`] says so.

use comqute_qpi::{ContractError, Hash32, Identity, Tick};
use thiserror::Error;

use crate::tx::TxError;

/// A request the ledger refused; nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LedgerError {
    /// A seed is not 55 lowercase letters.
    #[error("bad seed: {0}")]
    BadSeed(String),
    /// The transaction is malformed.
    #[error("invalid transaction: {0}")]
    Tx(#[from] TxError),
    /// The transaction's tick has already been processed.
    #[error("tick {tick} is past: the next tick to run is {next}")]
    TickInPast {
        /// The transaction's tick.
        tick: Tick,
        /// The next tick the ledger will run.
        next: Tick,
    },
    /// The transaction's tick is further ahead than the pool keeps.
    #[error("tick {tick} is too far ahead: the pool takes ticks up to {max}")]
    TickTooFar {
        /// The transaction's tick.
        tick: Tick,
        /// The furthest tick accepted now.
        max: Tick,
    },
    /// The same transaction was already submitted.
    #[error("transaction {0} was already submitted")]
    Duplicate(Hash32),
    /// The source has no money (Qubic refuses zero-balance sources).
    #[error("source {0} has no balance")]
    UnfundedSource(Identity),
    /// The tick's slots are full of higher-priority transactions.
    #[error("tick {tick} is full ({capacity} transactions) with higher-priority ones")]
    TickFull {
        /// The tick.
        tick: Tick,
        /// Its capacity.
        capacity: usize,
    },
    /// A contract query or a genesis hook failed.
    #[error("contract error: {0}")]
    Contract(#[from] ContractError),
    /// Two contracts with one index, or index 0.
    #[error("bad contract set: {0}")]
    Contracts(String),
    /// No snapshot of that name (or it was dropped by restoring an older one).
    #[error("no snapshot named {0:?}")]
    UnknownSnapshot(String),
    /// A configuration value is out of range.
    #[error("bad configuration: {0}")]
    Config(String),
    /// The tick counter would pass u32::MAX.
    #[error("tick counter exhausted: ticks are numbered in a u32 and {} is the last", u32::MAX - 1)]
    TickOverflow,
    /// The epoch counter would pass u16::MAX.
    #[error("epoch counter exhausted: epochs are numbered in a u16 and tick {last_tick} is the last tick of the last one")]
    EpochOverflow {
        /// The last tick with an epoch.
        last_tick: Tick,
    },
}

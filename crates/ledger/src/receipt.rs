//! What the ledger reports: receipts, events, transfers, the call tree, and tick summaries.
//! Failed and successful receipts share one shape, so a test can print either.

use std::fmt;

use borsh::{BorshDeserialize, BorshSerialize};
use comqute_qpi::{Amount, ContractError, ContractIndex, Epoch, Hash32, Identity, Tick};
use serde::{Serialize, Serializer};

use crate::tx::TxId;

fn hex_bytes<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(b))
}

/// How a transaction ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "camelCase")]
pub enum TxStatus {
    /// It ran in its tick. A contract procedure succeeded, or it was a plain transfer.
    Executed,
    /// The contract refused it: no state change, no transfer, no event survives, and the
    /// invocation reward went back to the source.
    Failed {
        /// The contract's error.
        error: ContractError,
    },
    /// It never ran.
    Dropped {
        /// Why.
        reason: DropReason,
    },
}

impl TxStatus {
    /// "executed", "failed" or "dropped".
    pub fn name(&self) -> &'static str {
        match self {
            TxStatus::Executed => "executed",
            TxStatus::Failed { .. } => "failed",
            TxStatus::Dropped { .. } => "dropped",
        }
    }
}

/// Why a transaction never ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, BorshSerialize, BorshDeserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum DropReason {
    /// Its tick's slots filled with higher-priority transactions after it was accepted.
    PoolFull {
        /// Its priority.
        priority: String,
        /// The id of the transaction that took its slot.
        evicted_by: Hash32,
    },
    /// Its signature did not verify.
    BadSignature,
    /// The source could not pay the amount when the tick ran (Qubic: a no-op).
    InsufficientBalance {
        /// The amount.
        needed: i64,
        /// The source's balance then.
        available: i64,
    },
}

impl std::fmt::Display for DropReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DropReason::PoolFull {
                priority,
                evicted_by,
            } => write!(
                f,
                "its tick filled up with higher-priority transactions (its priority {priority}; its slot went to {evicted_by})"
            ),
            DropReason::BadSignature => write!(f, "its signature does not verify"),
            DropReason::InsufficientBalance { needed, available } => write!(
                f,
                "insufficient balance: it needs {needed} units, the source had {available} when its tick ran"
            ),
        }
    }
}

/// A contract event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// Position in the ledger's event log: a cursor for "events after".
    pub seq: u64,
    /// The tick.
    pub tick: Tick,
    /// The transaction that caused it; `None` for tick and epoch hooks.
    pub tx: Option<TxId>,
    /// The emitting contract.
    pub contract: ContractIndex,
    /// The borsh bytes of the contract's event type.
    #[serde(serialize_with = "hex_bytes")]
    pub data: Vec<u8>,
}

/// What a transfer record stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "camelCase")]
pub enum TransferKind {
    /// Money moved.
    Transfer,
    /// Money destroyed (`to` is the null identity).
    Burn,
    /// Money created by a harness or devnet power (`from` is the null identity).
    Mint,
}

/// One movement of money.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "camelCase")]
pub struct Transfer {
    /// Payer.
    pub from: Identity,
    /// Payee.
    pub to: Identity,
    /// Amount.
    pub amount: Amount,
    /// Kind.
    pub kind: TransferKind,
}

/// Which entry point a call record stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "camelCase")]
pub enum EntryPoint {
    /// A procedure, by input type.
    Procedure(u16),
    /// BEGIN_TICK.
    BeginTick,
    /// END_TICK.
    EndTick,
    /// BEGIN_EPOCH.
    BeginEpoch,
    /// END_EPOCH.
    EndEpoch,
    /// INITIALIZE at genesis.
    Initialize,
}

/// One node of the call tree: a transaction's procedure at depth 0, nested calls below.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallRecord {
    /// Nesting depth (0 for the transaction's own call).
    pub depth: u8,
    /// The caller.
    pub invocator: Identity,
    /// The contract called.
    pub contract: ContractIndex,
    /// The entry point.
    pub entry: EntryPoint,
    /// The invocation reward.
    pub reward: Amount,
    /// `None` if it succeeded.
    pub error: Option<ContractError>,
}

/// Everything known about one transaction after its tick (or its drop).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    /// The id.
    pub tx_id: TxId,
    /// The tick it was scheduled for (and ran in, unless dropped).
    pub tick: Tick,
    /// Its slot in the tick (`u32::MAX` if dropped before its tick).
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
    pub status: TxStatus,
    /// Qubic's `moneyFlew`: the source's balance changed.
    pub money_flew: bool,
    /// The procedure's output (borsh).
    #[serde(serialize_with = "hex_bytes")]
    pub output: Vec<u8>,
    /// Events it caused (none if it failed).
    pub events: Vec<Event>,
    /// Money it moved (none if it failed).
    pub transfers: Vec<Transfer>,
    /// The call tree, failed calls included.
    pub calls: Vec<CallRecord>,
}

impl Receipt {
    /// Whether it executed.
    pub fn is_executed(&self) -> bool {
        self.status == TxStatus::Executed
    }
    /// The contract error, if it failed.
    pub fn error(&self) -> Option<&ContractError> {
        match &self.status {
            TxStatus::Failed { error } => Some(error),
            _ => None,
        }
    }
    /// The net change of `id`'s balance caused by this transaction.
    pub fn balance_delta(&self, id: &Identity) -> i128 {
        self.transfers.iter().fold(0i128, |acc, t| {
            let mut d = acc;
            if &t.to == id && t.kind != TransferKind::Burn {
                d += i128::from(t.amount.0);
            }
            if &t.from == id && t.kind != TransferKind::Mint {
                d -= i128::from(t.amount.0);
            }
            d
        })
    }
}

impl fmt::Display for Receipt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "tx {} tick {} slot {}: {} → {} amount {} input {}",
            self.tx_id,
            self.tick,
            self.slot,
            self.source,
            self.destination,
            self.amount,
            self.input_type
        )?;
        match &self.status {
            TxStatus::Executed => writeln!(f, "  executed (moneyFlew {})", self.money_flew)?,
            TxStatus::Failed { error } => writeln!(f, "  FAILED: {error}")?,
            TxStatus::Dropped { reason } => writeln!(f, "  DROPPED: {reason}")?,
        }
        for c in &self.calls {
            let indent = "  ".repeat(usize::from(c.depth) + 1);
            match &c.error {
                None => writeln!(
                    f,
                    "{indent}call contract {} {:?} reward {} ok",
                    c.contract, c.entry, c.reward
                )?,
                Some(e) => writeln!(
                    f,
                    "{indent}call contract {} {:?} reward {} failed: {e}",
                    c.contract, c.entry, c.reward
                )?,
            }
        }
        for t in &self.transfers {
            writeln!(f, "  {:?} {} → {}: {}", t.kind, t.from, t.to, t.amount)?;
        }
        for e in &self.events {
            writeln!(
                f,
                "  event #{} from contract {}: {}",
                e.seq,
                e.contract,
                hex::encode(&e.data)
            )?;
        }
        Ok(())
    }
}

/// A tick hook that failed; its changes were undone and the tick went on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HookFailure {
    /// The tick.
    pub tick: Tick,
    /// The contract.
    pub contract: ContractIndex,
    /// Which hook.
    pub entry: EntryPoint,
    /// The error.
    pub error: ContractError,
}

/// The record of one processed tick in which something happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TickSummary {
    /// The tick.
    pub tick: Tick,
    /// Its epoch.
    pub epoch: Epoch,
    /// Its random seed.
    pub seed: Hash32,
    /// The ids of its transactions in slot order.
    pub transactions: Vec<TxId>,
    /// Digest of the tick and its receipts and events, chained to the previous one (see
    /// [`crate::Ledger::process_tick`]).
    pub receipts_digest: Hash32,
    /// The state digest after it: `None` under [`crate::DigestPolicy::OnDemand`], which does
    /// not hash the state per tick.
    pub state_digest: Option<Hash32>,
    /// The tick digest, over the receipts digest (which chains every tick before) and the
    /// state digest: `None` under [`crate::DigestPolicy::OnDemand`] (the latest is
    /// [`crate::Ledger::digest`]).
    pub digest: Option<Hash32>,
    /// Events emitted during it, as a range of the event log.
    pub first_event: u64,
    /// Number of events.
    pub event_count: u64,
}

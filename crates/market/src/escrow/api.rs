//! The escrow vault's interface: its index, entry points, inputs, outputs, events, errors
//! and genesis settings.

use borsh::{BorshDeserialize, BorshSerialize};
use comqute_qpi::contract_api;
use comqute_qpi::primitives::{Amount, ContractIndex, Identity};
use comqute_qpi::rejected_errors;
use serde::{Deserialize, Serialize};

use crate::ids::{JobId, WorkerId};
use thiserror::Error;

contract_api! {
    index: 1, name: "escrow", events: EscrowEvent, errors: EscrowError::ALL_CODES,
    procedures: {
        /// Job registry only: [`LockJob`]; the invocation reward is the job's escrow.
        LOCK_JOB = 1 "lock_job": LockJob => JobEscrow,
        /// Job registry only: [`ReleaseJob`]: pay the worker, refund the rest.
        RELEASE_JOB = 2 "release_job": ReleaseJob => JobEscrow,
        /// Job registry only: [`RefundJob`]: refund the requester in full.
        REFUND_JOB = 3 "refund_job": RefundJob => JobEscrow,
        /// Worker registry only: [`LockStake`]; the invocation reward is added.
        LOCK_STAKE = 4 "lock_stake": LockStake => StakeAccount,
        /// Worker registry only: [`SlashStake`] → [`SlashOutcome`].
        SLASH_STAKE = 5 "slash_stake": SlashStake => SlashOutcome,
        /// Worker registry only: [`ReturnStake`].
        RETURN_STAKE = 6 "return_stake": ReturnStake => StakeAccount,
    },
    functions: {
        /// A job's account.
        GET_JOB_ESCROW = 1 "get_job_escrow": JobEscrowQuery => Option<JobEscrow>,
        /// A worker's stake account.
        GET_STAKE = 2 "get_stake": StakeQuery => Option<StakeAccount>,
        /// The vault's totals.
        TOTALS = 3 "totals": () => EscrowTotals,
    },
}

/// The vault's genesis settings: the slash distribution and who may move money.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct EscrowConfig {
    /// Share of a slash paid to the harmed requester, in basis points (default 5,000).
    pub slash_requester_bps: u16,
    /// Share of a slash paid to the challenger (the disputing requester, or whoever
    /// triggered an expiry); burned when there is none (default 2,000).
    pub slash_challenger_bps: u16,
    /// Share of a slash burned (default 3,000). The three shares sum to 10,000.
    pub slash_burn_bps: u16,
    /// The contracts that may lock, release and refund job payments. The genesis sets them
    /// (the job registry); they are not a setting of a node's `market.json`.
    #[serde(skip)]
    pub job_clients: Vec<ContractIndex>,
    /// The contracts that may lock, slash and return stakes. The genesis sets them (the
    /// worker registry).
    #[serde(skip)]
    pub stake_clients: Vec<ContractIndex>,
}

impl Default for EscrowConfig {
    fn default() -> Self {
        EscrowConfig {
            slash_requester_bps: 5_000,
            slash_challenger_bps: 2_000,
            slash_burn_bps: 3_000,
            job_clients: Vec::new(),
            stake_clients: Vec::new(),
        }
    }
}

/// Why an [`EscrowConfig`] is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EscrowConfigError {
    /// The slash shares do not sum to 10,000 basis points.
    #[error("slash shares sum to {0} basis points, not 10000")]
    SlashShares(u32),
}

impl EscrowConfig {
    /// Checks the settings: shares summing to 10,000.
    pub fn validate(&self) -> Result<(), EscrowConfigError> {
        let shares = u32::from(self.slash_requester_bps)
            + u32::from(self.slash_challenger_bps)
            + u32::from(self.slash_burn_bps);
        if shares != u32::from(crate::rules::BPS) {
            return Err(EscrowConfigError::SlashShares(shares));
        }
        Ok(())
    }
}

/// Input of [`LOCK_JOB`].
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct LockJob {
    /// The job.
    pub job_id: JobId,
    /// Who paid and gets refunds.
    pub requester: Identity,
}

/// Input of [`RELEASE_JOB`]: pay `amount` to `worker`, refund the rest to the requester,
/// close the account.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct ReleaseJob {
    /// The job.
    pub job_id: JobId,
    /// The payee.
    pub worker: WorkerId,
    /// The payment, the fee included; at most the locked amount.
    pub amount: Amount,
    /// Of `amount`, the verification fee, paid to `fee_to` instead of the worker.
    pub fee: Amount,
    /// Where the fee goes (the verification contract's fee pool).
    pub fee_to: Option<Identity>,
}

/// Input of [`REFUND_JOB`].
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct RefundJob {
    /// The job.
    pub job_id: JobId,
}

/// Input of [`LOCK_STAKE`].
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct LockStake {
    /// The worker whose stake grows by the invocation reward.
    pub worker: WorkerId,
}

/// Input of [`SLASH_STAKE`]: take `amount` from the worker's stake and share it out with the
/// genesis distribution.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct SlashStake {
    /// The slashed worker.
    pub worker: WorkerId,
    /// How much; at most the stake.
    pub amount: Amount,
    /// The harmed requester.
    pub requester: Identity,
    /// Who challenged, if anyone; without one, the challenger's share is burned.
    pub challenger: Option<Identity>,
    /// Pay the whole slash to this identity (the verification contract, which splits it by
    /// its own rule) instead of the genesis split.
    pub recipient: Option<Identity>,
}

/// Output of [`SLASH_STAKE`].
#[derive(
    Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
pub struct SlashOutcome {
    /// Taken from the stake.
    pub slashed: Amount,
    /// Paid to the requester.
    pub to_requester: Amount,
    /// Paid to the challenger.
    pub to_challenger: Amount,
    /// Burned.
    pub burned: Amount,
    /// Paid whole to [`SlashStake::recipient`] for its own split.
    pub forwarded: Amount,
    /// The stake left.
    pub remaining: Amount,
}

/// Input of [`RETURN_STAKE`].
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct ReturnStake {
    /// The worker paid back.
    pub worker: WorkerId,
    /// How much; at most the stake.
    pub amount: Amount,
}

/// Input of [`GET_JOB_ESCROW`].
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct JobEscrowQuery {
    /// The job.
    pub job_id: JobId,
}

/// Input of [`GET_STAKE`].
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct StakeQuery {
    /// The worker.
    pub worker: WorkerId,
}

/// Where a job's account stands.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
pub enum EscrowState {
    /// Money held.
    Locked,
    /// Paid out (possibly partly refunded).
    Released,
    /// Refunded in full.
    Refunded,
}

/// A job's account.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct JobEscrow {
    /// The job.
    pub job_id: JobId,
    /// Who paid.
    pub requester: Identity,
    /// What was locked.
    pub locked: Amount,
    /// Paid to the worker.
    pub paid: Amount,
    /// Paid as the verification fee.
    pub fee: Amount,
    /// The worker paid, if any.
    pub worker: Option<WorkerId>,
    /// Refunded to the requester.
    pub refunded: Amount,
    /// Where it stands.
    pub state: EscrowState,
}

impl JobEscrow {
    /// What it still holds.
    pub fn held(&self) -> Amount {
        match self.state {
            EscrowState::Locked => self.locked,
            _ => Amount::ZERO,
        }
    }
}

/// A worker's stake account.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
pub struct StakeAccount {
    /// The worker.
    pub worker: WorkerId,
    /// The stake held.
    pub amount: Amount,
    /// Everything ever slashed from it.
    pub slashed: Amount,
    /// Everything ever returned.
    pub returned: Amount,
}

/// Output of [`TOTALS`].
#[derive(
    Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub struct EscrowTotals {
    /// Held now for jobs.
    pub jobs_locked: Amount,
    /// Job accounts still locked.
    pub open_accounts: u64,
    /// Held now as stakes.
    pub stakes: Amount,
    /// Ever locked for jobs.
    pub total_locked: Amount,
    /// Ever paid to workers.
    pub total_paid: Amount,
    /// Ever refunded to requesters.
    pub total_refunded: Amount,
    /// Ever paid as verification fees.
    pub total_fees: Amount,
    /// Ever slashed.
    pub total_slashed: Amount,
    /// Of that, paid to requesters.
    pub slashed_to_requesters: Amount,
    /// Of that, paid to challengers.
    pub slashed_to_challengers: Amount,
    /// Of that, burned.
    pub slashed_burned: Amount,
    /// Of that, forwarded whole for another contract's split.
    pub slashed_forwarded: Amount,
    /// Stakes ever returned.
    pub stakes_returned: Amount,
}

/// Escrow events.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub enum EscrowEvent {
    /// A job's payment was locked.
    JobLocked {
        /// The job.
        job_id: JobId,
        /// Who paid.
        requester: Identity,
        /// How much.
        amount: Amount,
    },
    /// A job's payment went to its worker, the rest back to the requester.
    JobReleased {
        /// The job.
        job_id: JobId,
        /// The payee.
        worker: WorkerId,
        /// Paid to the worker.
        paid: Amount,
        /// Paid as the verification fee.
        fee: Amount,
        /// The requester.
        requester: Identity,
        /// Refunded to the requester.
        refunded: Amount,
    },
    /// A job's payment went back to the requester in full.
    JobRefunded {
        /// The job.
        job_id: JobId,
        /// The requester.
        requester: Identity,
        /// Refunded.
        amount: Amount,
    },
    /// A stake grew.
    StakeLocked {
        /// The worker.
        worker: WorkerId,
        /// Added.
        amount: Amount,
        /// The stake now.
        stake: Amount,
    },
    /// A stake was slashed and shared out.
    StakeSlashed {
        /// The worker.
        worker: WorkerId,
        /// The requester paid.
        requester: Identity,
        /// The challenger paid, if any.
        challenger: Option<Identity>,
        /// The split.
        outcome: SlashOutcome,
    },
    /// A stake (or part of it) went back to its worker.
    StakeReturned {
        /// The worker.
        worker: WorkerId,
        /// Returned.
        amount: Amount,
        /// The stake left.
        stake: Amount,
    },
}

/// Why the escrow vault refused a call. Codes 100–199.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EscrowError {
    /// The invocator may not call this procedure.
    #[error("{caller} may not call escrow procedure {procedure}")]
    NotAuthorized {
        /// The invocator.
        caller: Identity,
        /// The procedure.
        procedure: u16,
    },
    /// The job already has an account.
    #[error("job {0} already has an escrow account")]
    JobExists(u64),
    /// The job has no account.
    #[error("job {0} has no escrow account")]
    UnknownJob(u64),
    /// The job's account is already closed.
    #[error("job {0}'s escrow is already settled")]
    AlreadySettled(u64),
    /// A release over the locked amount.
    #[error("cannot release {amount} from an escrow of {locked}")]
    OverRelease {
        /// Asked for.
        amount: Amount,
        /// Locked.
        locked: Amount,
    },
    /// The worker has no stake account, or asks for more than it holds.
    #[error("stake of {held} cannot cover {amount}")]
    InsufficientStake {
        /// Asked for.
        amount: Amount,
        /// Held.
        held: Amount,
    },
    /// A negative amount.
    #[error("invalid amount {0}")]
    InvalidAmount(Amount),
    /// A lock with no money.
    #[error("a lock needs a positive invocation reward")]
    MissingPayment,
    /// Money sent to a procedure that takes none.
    #[error("procedure takes no payment, got {0}")]
    UnexpectedPayment(Amount),
}

rejected_errors!(EscrowError {
    NotAuthorized = 100,
    JobExists = 101,
    UnknownJob = 102,
    AlreadySettled = 103,
    OverRelease = 104,
    InsufficientStake = 105,
    InvalidAmount = 106,
    MissingPayment = 107,
    UnexpectedPayment = 108,
});

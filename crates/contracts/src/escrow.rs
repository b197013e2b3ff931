//! The escrow vault (contract index 1): the only place marketplace money rests.
//!
//! It keeps one account per job (locked on submission, then released to the worker with the
//! rest refunded, or refunded in full) and one stake account per worker (locked on
//! registration and top-up, slashed with the genesis distribution, returned on withdrawal).
//!
//! **Who may move money**: the job procedures ([`LOCK_JOB`], [`RELEASE_JOB`], [`REFUND_JOB`])
//! accept only the job registry as invocator, the stake procedures ([`LOCK_STAKE`],
//! [`SLASH_STAKE`], [`RETURN_STAKE`]) only the worker registry. Anyone else gets
//! [`EscrowError::NotAuthorized`] and nothing changes. Its balance always equals
//! [`EscrowTotals::jobs_locked`] plus [`EscrowTotals::stakes`].

use borsh::{BorshDeserialize, BorshSerialize};
use serde::Serialize;
use thiserror::Error;

use crate::error::ContractError;
use crate::marketplace::{rejected_errors, MarketConfig, ESCROW, JOB_REGISTRY, WORKER_REGISTRY};
use crate::primitives::{Amount, ContractIndex, Identity};
use crate::qpi::{decode_input, encode, Contract, Ctx, KeyBuf, TickWork, View};

/// Procedure 1 (job registry only): [`LockJob`]; the invocation reward is the job's escrow.
pub const LOCK_JOB: u16 = 1;
/// Procedure 2 (job registry only): [`ReleaseJob`]: pay the worker, refund the rest.
pub const RELEASE_JOB: u16 = 2;
/// Procedure 3 (job registry only): [`RefundJob`]: refund the requester in full.
pub const REFUND_JOB: u16 = 3;
/// Procedure 4 (worker registry only): [`LockStake`]; the invocation reward is added.
pub const LOCK_STAKE: u16 = 4;
/// Procedure 5 (worker registry only): [`SlashStake`] → [`SlashOutcome`].
pub const SLASH_STAKE: u16 = 5;
/// Procedure 6 (worker registry only): [`ReturnStake`].
pub const RETURN_STAKE: u16 = 6;

/// Function 1: a job's account, [`JobEscrowQuery`] → `Option<JobEscrow>`.
pub const GET_JOB_ESCROW: u16 = 1;
/// Function 2: a worker's stake account, [`StakeQuery`] → `Option<StakeAccount>`.
pub const GET_STAKE: u16 = 2;
/// Function 3: `()` → [`EscrowTotals`].
pub const TOTALS: u16 = 3;

/// Input of [`LOCK_JOB`].
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct LockJob {
    /// The job.
    pub job_id: u64,
    /// Who paid and gets refunds.
    pub requester: Identity,
}

/// Input of [`RELEASE_JOB`]: pay `amount` to `worker`, refund the rest to the requester,
/// close the account.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct ReleaseJob {
    /// The job.
    pub job_id: u64,
    /// The payee.
    pub worker: Identity,
    /// The payment; at most the locked amount.
    pub amount: Amount,
}

/// Input of [`REFUND_JOB`].
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct RefundJob {
    /// The job.
    pub job_id: u64,
}

/// Input of [`LOCK_STAKE`].
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct LockStake {
    /// The worker whose stake grows by the invocation reward.
    pub worker: Identity,
}

/// Input of [`SLASH_STAKE`]: take `amount` from the worker's stake and share it out with the
/// genesis distribution.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct SlashStake {
    /// The slashed worker.
    pub worker: Identity,
    /// How much; at most the stake.
    pub amount: Amount,
    /// The harmed requester.
    pub requester: Identity,
    /// Who challenged, if anyone; without one, the challenger's share is burned.
    pub challenger: Option<Identity>,
}

/// Output of [`SLASH_STAKE`].
#[derive(Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct SlashOutcome {
    /// Taken from the stake.
    pub slashed: Amount,
    /// Paid to the requester.
    pub to_requester: Amount,
    /// Paid to the challenger.
    pub to_challenger: Amount,
    /// Burned.
    pub burned: Amount,
    /// The stake left.
    pub remaining: Amount,
}

/// Input of [`RETURN_STAKE`].
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct ReturnStake {
    /// The worker paid back.
    pub worker: Identity,
    /// How much; at most the stake.
    pub amount: Amount,
}

/// Input of [`GET_JOB_ESCROW`].
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct JobEscrowQuery {
    /// The job.
    pub job_id: u64,
}

/// Input of [`GET_STAKE`].
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct StakeQuery {
    /// The worker.
    pub worker: Identity,
}

/// Where a job's account stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub enum EscrowState {
    /// Money held.
    Locked,
    /// Paid out (possibly partly refunded).
    Released,
    /// Refunded in full.
    Refunded,
}

/// A job's account.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct JobEscrow {
    /// The job.
    pub job_id: u64,
    /// Who paid.
    pub requester: Identity,
    /// What was locked.
    pub locked: Amount,
    /// Paid to the worker.
    pub paid: Amount,
    /// The worker paid, if any.
    pub worker: Option<Identity>,
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
#[derive(Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct StakeAccount {
    /// The worker.
    pub worker: Identity,
    /// The stake held.
    pub amount: Amount,
    /// Everything ever slashed from it.
    pub slashed: Amount,
    /// Everything ever returned.
    pub returned: Amount,
}

/// Output of [`TOTALS`].
#[derive(Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
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
    /// Ever slashed.
    pub total_slashed: Amount,
    /// Of that, paid to requesters.
    pub slashed_to_requesters: Amount,
    /// Of that, paid to challengers.
    pub slashed_to_challengers: Amount,
    /// Of that, burned.
    pub slashed_burned: Amount,
    /// Stakes ever returned.
    pub stakes_returned: Amount,
}

/// Escrow events.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub enum EscrowEvent {
    /// A job's payment was locked.
    JobLocked {
        /// The job.
        job_id: u64,
        /// Who paid.
        requester: Identity,
        /// How much.
        amount: Amount,
    },
    /// A job's payment went to its worker, the rest back to the requester.
    JobReleased {
        /// The job.
        job_id: u64,
        /// The payee.
        worker: Identity,
        /// Paid to the worker.
        paid: Amount,
        /// The requester.
        requester: Identity,
        /// Refunded to the requester.
        refunded: Amount,
    },
    /// A job's payment went back to the requester in full.
    JobRefunded {
        /// The job.
        job_id: u64,
        /// The requester.
        requester: Identity,
        /// Refunded.
        amount: Amount,
    },
    /// A stake grew.
    StakeLocked {
        /// The worker.
        worker: Identity,
        /// Added.
        amount: Amount,
        /// The stake now.
        stake: Amount,
    },
    /// A stake was slashed and shared out.
    StakeSlashed {
        /// The worker.
        worker: Identity,
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
        worker: Identity,
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

const T_JOB: u8 = 1; // map: job id -> JobEscrow
const T_STAKE: u8 = 2; // map: worker -> StakeAccount
const K_TOTALS: &[u8] = &[3];

fn job_key(job_id: u64) -> KeyBuf {
    KeyBuf::table(T_JOB).u64(job_id)
}
fn stake_key(worker: &Identity) -> KeyBuf {
    KeyBuf::table(T_STAKE).bytes32(&worker.0)
}

fn add(a: Amount, b: Amount) -> Result<Amount, ContractError> {
    a.checked_add(b)
        .ok_or(ContractError::InvalidAmount(i64::MAX))
}
fn sub(a: Amount, b: Amount) -> Result<Amount, ContractError> {
    a.checked_sub(b)
        .filter(|v| v.0 >= 0)
        .ok_or(ContractError::InvalidAmount(b.0))
}

/// The escrow vault contract.
#[derive(Debug, Clone, Default)]
pub struct Escrow {
    config: MarketConfig,
}

impl Escrow {
    /// The vault with these genesis settings.
    pub fn new(config: MarketConfig) -> Self {
        Escrow { config }
    }

    fn totals(view: &View<'_>) -> Result<EscrowTotals, ContractError> {
        Ok(view.get(K_TOTALS)?.unwrap_or_default())
    }

    fn require(ctx: &Ctx<'_>, from: ContractIndex, procedure: u16) -> Result<(), EscrowError> {
        let caller = ctx.invocator();
        if caller != Identity::contract(from) {
            return Err(EscrowError::NotAuthorized { caller, procedure });
        }
        Ok(())
    }

    fn no_payment(ctx: &Ctx<'_>) -> Result<(), EscrowError> {
        let reward = ctx.invocation_reward();
        if reward != Amount::ZERO {
            return Err(EscrowError::UnexpectedPayment(reward));
        }
        Ok(())
    }

    fn open_job(ctx: &Ctx<'_>, job_id: u64) -> Result<JobEscrow, ContractError> {
        let acct: JobEscrow = ctx
            .get(&job_key(job_id))?
            .ok_or(EscrowError::UnknownJob(job_id))?;
        if acct.state != EscrowState::Locked {
            return Err(EscrowError::AlreadySettled(job_id).into());
        }
        Ok(acct)
    }

    fn lock_job(ctx: &mut Ctx<'_>, input: LockJob) -> Result<Vec<u8>, ContractError> {
        Self::require(ctx, JOB_REGISTRY, LOCK_JOB)?;
        let amount = ctx.invocation_reward();
        if amount <= Amount::ZERO {
            return Err(EscrowError::MissingPayment.into());
        }
        let key = job_key(input.job_id);
        if ctx.get::<JobEscrow>(&key)?.is_some() {
            return Err(EscrowError::JobExists(input.job_id).into());
        }
        let acct = JobEscrow {
            job_id: input.job_id,
            requester: input.requester,
            locked: amount,
            paid: Amount::ZERO,
            worker: None,
            refunded: Amount::ZERO,
            state: EscrowState::Locked,
        };
        ctx.put(&key, &acct)?;
        let mut t = Self::totals(&ctx.view())?;
        t.jobs_locked = add(t.jobs_locked, amount)?;
        t.total_locked = add(t.total_locked, amount)?;
        t.open_accounts += 1;
        ctx.put(K_TOTALS, &t)?;
        ctx.emit(&EscrowEvent::JobLocked {
            job_id: input.job_id,
            requester: input.requester,
            amount,
        });
        Ok(encode(&acct))
    }

    fn close_job(
        ctx: &mut Ctx<'_>,
        mut acct: JobEscrow,
        worker: Option<Identity>,
        pay: Amount,
    ) -> Result<Vec<u8>, ContractError> {
        if pay.0 < 0 {
            return Err(EscrowError::InvalidAmount(pay).into());
        }
        if pay > acct.locked {
            return Err(EscrowError::OverRelease {
                amount: pay,
                locked: acct.locked,
            }
            .into());
        }
        let refund = sub(acct.locked, pay)?;
        if let Some(w) = worker {
            if pay > Amount::ZERO {
                ctx.transfer(&w, pay)?;
            }
        }
        if refund > Amount::ZERO {
            ctx.transfer(&acct.requester, refund)?;
        }
        acct.paid = pay;
        acct.worker = worker;
        acct.refunded = refund;
        acct.state = if worker.is_some() {
            EscrowState::Released
        } else {
            EscrowState::Refunded
        };
        ctx.put(&job_key(acct.job_id), &acct)?;
        let mut t = Self::totals(&ctx.view())?;
        t.jobs_locked = sub(t.jobs_locked, acct.locked)?;
        t.total_paid = add(t.total_paid, pay)?;
        t.total_refunded = add(t.total_refunded, refund)?;
        t.open_accounts = t.open_accounts.saturating_sub(1);
        ctx.put(K_TOTALS, &t)?;
        match worker {
            Some(w) => ctx.emit(&EscrowEvent::JobReleased {
                job_id: acct.job_id,
                worker: w,
                paid: pay,
                requester: acct.requester,
                refunded: refund,
            }),
            None => ctx.emit(&EscrowEvent::JobRefunded {
                job_id: acct.job_id,
                requester: acct.requester,
                amount: refund,
            }),
        }
        Ok(encode(&acct))
    }

    fn stake(ctx: &Ctx<'_>, worker: &Identity) -> Result<StakeAccount, ContractError> {
        Ok(ctx.get(&stake_key(worker))?.unwrap_or(StakeAccount {
            worker: *worker,
            ..StakeAccount::default()
        }))
    }

    fn lock_stake(ctx: &mut Ctx<'_>, input: LockStake) -> Result<Vec<u8>, ContractError> {
        Self::require(ctx, WORKER_REGISTRY, LOCK_STAKE)?;
        let amount = ctx.invocation_reward();
        if amount <= Amount::ZERO {
            return Err(EscrowError::MissingPayment.into());
        }
        let mut acct = Self::stake(ctx, &input.worker)?;
        acct.amount = add(acct.amount, amount)?;
        ctx.put(&stake_key(&input.worker), &acct)?;
        let mut t = Self::totals(&ctx.view())?;
        t.stakes = add(t.stakes, amount)?;
        ctx.put(K_TOTALS, &t)?;
        ctx.emit(&EscrowEvent::StakeLocked {
            worker: input.worker,
            amount,
            stake: acct.amount,
        });
        Ok(encode(&acct))
    }

    fn slash_stake(&self, ctx: &mut Ctx<'_>, input: SlashStake) -> Result<Vec<u8>, ContractError> {
        Self::require(ctx, WORKER_REGISTRY, SLASH_STAKE)?;
        Self::no_payment(ctx)?;
        if input.amount.0 < 0 {
            return Err(EscrowError::InvalidAmount(input.amount).into());
        }
        let mut acct = Self::stake(ctx, &input.worker)?;
        if input.amount > acct.amount {
            return Err(EscrowError::InsufficientStake {
                amount: input.amount,
                held: acct.amount,
            }
            .into());
        }
        let amount = input.amount;
        let to_requester = amount.basis_points(self.config.slash_requester_bps);
        let to_challenger = match input.challenger {
            Some(_) => amount.basis_points(self.config.slash_challenger_bps),
            None => Amount::ZERO,
        };
        // The burn takes the remainder, rounding included, so the split always sums up.
        let burned = sub(sub(amount, to_requester)?, to_challenger)?;
        if to_requester > Amount::ZERO {
            ctx.transfer(&input.requester, to_requester)?;
        }
        if let Some(c) = input.challenger {
            if to_challenger > Amount::ZERO {
                ctx.transfer(&c, to_challenger)?;
            }
        }
        if burned > Amount::ZERO {
            ctx.burn(burned)?;
        }
        acct.amount = sub(acct.amount, amount)?;
        acct.slashed = add(acct.slashed, amount)?;
        ctx.put(&stake_key(&input.worker), &acct)?;
        let mut t = Self::totals(&ctx.view())?;
        t.stakes = sub(t.stakes, amount)?;
        t.total_slashed = add(t.total_slashed, amount)?;
        t.slashed_to_requesters = add(t.slashed_to_requesters, to_requester)?;
        t.slashed_to_challengers = add(t.slashed_to_challengers, to_challenger)?;
        t.slashed_burned = add(t.slashed_burned, burned)?;
        ctx.put(K_TOTALS, &t)?;
        let outcome = SlashOutcome {
            slashed: amount,
            to_requester,
            to_challenger,
            burned,
            remaining: acct.amount,
        };
        ctx.emit(&EscrowEvent::StakeSlashed {
            worker: input.worker,
            requester: input.requester,
            challenger: input.challenger,
            outcome: outcome.clone(),
        });
        Ok(encode(&outcome))
    }

    fn return_stake(ctx: &mut Ctx<'_>, input: ReturnStake) -> Result<Vec<u8>, ContractError> {
        Self::require(ctx, WORKER_REGISTRY, RETURN_STAKE)?;
        Self::no_payment(ctx)?;
        if input.amount.0 < 0 {
            return Err(EscrowError::InvalidAmount(input.amount).into());
        }
        let mut acct = Self::stake(ctx, &input.worker)?;
        if input.amount > acct.amount {
            return Err(EscrowError::InsufficientStake {
                amount: input.amount,
                held: acct.amount,
            }
            .into());
        }
        if input.amount > Amount::ZERO {
            ctx.transfer(&input.worker, input.amount)?;
        }
        acct.amount = sub(acct.amount, input.amount)?;
        acct.returned = add(acct.returned, input.amount)?;
        ctx.put(&stake_key(&input.worker), &acct)?;
        let mut t = Self::totals(&ctx.view())?;
        t.stakes = sub(t.stakes, input.amount)?;
        t.stakes_returned = add(t.stakes_returned, input.amount)?;
        ctx.put(K_TOTALS, &t)?;
        ctx.emit(&EscrowEvent::StakeReturned {
            worker: input.worker,
            amount: input.amount,
            stake: acct.amount,
        });
        Ok(encode(&acct))
    }
}

impl Contract for Escrow {
    fn index(&self) -> ContractIndex {
        ESCROW
    }
    fn name(&self) -> &'static str {
        "escrow"
    }
    fn initialize(&self, _ctx: &mut Ctx<'_>) -> Result<(), ContractError> {
        self.config.check()
    }
    fn procedure(
        &self,
        ctx: &mut Ctx<'_>,
        input_type: u16,
        input: &[u8],
    ) -> Result<Vec<u8>, ContractError> {
        match input_type {
            LOCK_JOB => Self::lock_job(ctx, decode_input(input)?),
            RELEASE_JOB => {
                Self::require(ctx, JOB_REGISTRY, RELEASE_JOB)?;
                Self::no_payment(ctx)?;
                let r: ReleaseJob = decode_input(input)?;
                let acct = Self::open_job(ctx, r.job_id)?;
                Self::close_job(ctx, acct, Some(r.worker), r.amount)
            }
            REFUND_JOB => {
                Self::require(ctx, JOB_REGISTRY, REFUND_JOB)?;
                Self::no_payment(ctx)?;
                let r: RefundJob = decode_input(input)?;
                let acct = Self::open_job(ctx, r.job_id)?;
                Self::close_job(ctx, acct, None, Amount::ZERO)
            }
            LOCK_STAKE => Self::lock_stake(ctx, decode_input(input)?),
            SLASH_STAKE => self.slash_stake(ctx, decode_input(input)?),
            RETURN_STAKE => Self::return_stake(ctx, decode_input(input)?),
            other => Err(ContractError::UnknownProcedure {
                contract: ESCROW.0,
                input_type: other,
            }),
        }
    }
    fn function(
        &self,
        view: &View<'_>,
        input_type: u16,
        input: &[u8],
    ) -> Result<Vec<u8>, ContractError> {
        match input_type {
            GET_JOB_ESCROW => {
                let q: JobEscrowQuery = decode_input(input)?;
                Ok(encode(&view.get::<JobEscrow>(&job_key(q.job_id))?))
            }
            GET_STAKE => {
                let q: StakeQuery = decode_input(input)?;
                Ok(encode(&view.get::<StakeAccount>(&stake_key(&q.worker))?))
            }
            TOTALS => {
                let () = decode_input(input)?;
                Ok(encode(&Self::totals(view)?))
            }
            other => Err(ContractError::UnknownFunction {
                contract: ESCROW.0,
                input_type: other,
            }),
        }
    }
    fn has_begin_tick(&self) -> bool {
        false
    }
    fn next_tick_work(&self, _view: &View<'_>) -> TickWork {
        TickWork::Idle
    }
    fn meta(&self) -> crate::qpi::ContractMeta {
        use crate::qpi::Entry;
        crate::qpi::ContractMeta {
            procedures: const {
                &[
                    Entry::new(LOCK_JOB, "lock_job"),
                    Entry::new(RELEASE_JOB, "release_job"),
                    Entry::new(REFUND_JOB, "refund_job"),
                    Entry::new(LOCK_STAKE, "lock_stake"),
                    Entry::new(SLASH_STAKE, "slash_stake"),
                    Entry::new(RETURN_STAKE, "return_stake"),
                ]
            },
            functions: const {
                &[
                    Entry::new(GET_JOB_ESCROW, "get_job_escrow"),
                    Entry::new(GET_STAKE, "get_stake"),
                    Entry::new(TOTALS, "totals"),
                ]
            },
            errors: EscrowError::ALL_CODES,
        }
    }
    fn event_json(&self, data: &[u8]) -> Option<serde_json::Value> {
        crate::json::decode_event::<EscrowEvent>(data)
    }
    fn describe_event(&self, data: &[u8]) -> String {
        match EscrowEvent::try_from_slice(data) {
            Ok(e) => format!("{e:?}"),
            Err(_) => format!("undecodable escrow event ({} bytes)", data.len()),
        }
    }
}

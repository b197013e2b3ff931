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

mod api;

pub use api::*;

use crate::ids::WorkerId;
use comqute_qpi::contract::{Contract, Ctx, KeyBuf, Output, TickWork, View};
use comqute_qpi::error::ContractError;
use comqute_qpi::kit::{dispatch_function, dispatch_procedure, ContractMeta};
use comqute_qpi::primitives::{Amount, Identity};

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
    config: EscrowConfig,
}

impl Escrow {
    /// The vault with these genesis settings.
    pub fn new(config: EscrowConfig) -> Self {
        Escrow { config }
    }

    fn totals(view: &View<'_>) -> Result<EscrowTotals, ContractError> {
        Ok(view.get(K_TOTALS)?.unwrap_or_default())
    }

    /// Refuses an invocator that is not one of `clients` (set at genesis).
    fn require(
        clients: &[comqute_qpi::ContractIndex],
        ctx: &Ctx<'_>,
        procedure: u16,
    ) -> Result<(), EscrowError> {
        crate::rules::invoked_by(ctx, clients)
            .map_err(|caller| EscrowError::NotAuthorized { caller, procedure })
    }
    fn require_job_client(&self, ctx: &Ctx<'_>, procedure: u16) -> Result<(), EscrowError> {
        Self::require(&self.config.job_clients, ctx, procedure)
    }
    fn require_stake_client(&self, ctx: &Ctx<'_>, procedure: u16) -> Result<(), EscrowError> {
        Self::require(&self.config.stake_clients, ctx, procedure)
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

    fn lock_job(&self, ctx: &mut Ctx<'_>, input: LockJob) -> Result<JobEscrow, ContractError> {
        self.require_job_client(ctx, LOCK_JOB.number())?;
        let amount = ctx.invocation_reward();
        if amount <= Amount::ZERO {
            return Err(EscrowError::MissingPayment.into());
        }
        let key = job_key(input.job_id.0);
        if ctx.get::<JobEscrow>(&key)?.is_some() {
            return Err(EscrowError::JobExists(input.job_id.0).into());
        }
        let acct = JobEscrow {
            job_id: input.job_id,
            requester: input.requester,
            locked: amount,
            paid: Amount::ZERO,
            fee: Amount::ZERO,
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
        Ok(acct)
    }

    fn close_job(
        ctx: &mut Ctx<'_>,
        mut acct: JobEscrow,
        worker: Option<Identity>,
        pay: Amount,
        fee: Amount,
        fee_to: Option<Identity>,
    ) -> Result<JobEscrow, ContractError> {
        if pay.0 < 0 {
            return Err(EscrowError::InvalidAmount(pay).into());
        }
        // The fee is a part of the payment and needs somewhere to go.
        if fee.0 < 0 || fee > pay || (fee > Amount::ZERO && fee_to.is_none()) {
            return Err(EscrowError::InvalidAmount(fee).into());
        }
        if pay > acct.locked {
            return Err(EscrowError::OverRelease {
                amount: pay,
                locked: acct.locked,
            }
            .into());
        }
        let refund = sub(acct.locked, pay)?;
        let to_worker = sub(pay, fee)?;
        if let Some(w) = worker {
            if to_worker > Amount::ZERO {
                ctx.transfer(&w, to_worker)?;
            }
        }
        if let Some(f) = fee_to {
            if fee > Amount::ZERO {
                ctx.transfer(&f, fee)?;
            }
        }
        if refund > Amount::ZERO {
            ctx.transfer(&acct.requester, refund)?;
        }
        acct.paid = to_worker;
        acct.fee = fee;
        acct.worker = worker.map(WorkerId);
        acct.refunded = refund;
        acct.state = if worker.is_some() {
            EscrowState::Released
        } else {
            EscrowState::Refunded
        };
        ctx.put(&job_key(acct.job_id.0), &acct)?;
        let mut t = Self::totals(&ctx.view())?;
        t.jobs_locked = sub(t.jobs_locked, acct.locked)?;
        t.total_paid = add(t.total_paid, to_worker)?;
        t.total_fees = add(t.total_fees, fee)?;
        t.total_refunded = add(t.total_refunded, refund)?;
        t.open_accounts = t.open_accounts.saturating_sub(1);
        ctx.put(K_TOTALS, &t)?;
        match worker {
            Some(w) => ctx.emit(&EscrowEvent::JobReleased {
                job_id: acct.job_id,
                worker: WorkerId(w),
                paid: to_worker,
                fee,
                requester: acct.requester,
                refunded: refund,
            }),
            None => ctx.emit(&EscrowEvent::JobRefunded {
                job_id: acct.job_id,
                requester: acct.requester,
                amount: refund,
            }),
        }
        Ok(acct)
    }

    fn stake(ctx: &Ctx<'_>, worker: &Identity) -> Result<StakeAccount, ContractError> {
        Ok(ctx.get(&stake_key(worker))?.unwrap_or(StakeAccount {
            worker: WorkerId(*worker),
            ..StakeAccount::default()
        }))
    }

    fn lock_stake(
        &self,
        ctx: &mut Ctx<'_>,
        input: LockStake,
    ) -> Result<StakeAccount, ContractError> {
        self.require_stake_client(ctx, LOCK_STAKE.number())?;
        let amount = ctx.invocation_reward();
        if amount <= Amount::ZERO {
            return Err(EscrowError::MissingPayment.into());
        }
        let mut acct = Self::stake(ctx, &input.worker.0)?;
        acct.amount = add(acct.amount, amount)?;
        ctx.put(&stake_key(&input.worker.0), &acct)?;
        let mut t = Self::totals(&ctx.view())?;
        t.stakes = add(t.stakes, amount)?;
        ctx.put(K_TOTALS, &t)?;
        ctx.emit(&EscrowEvent::StakeLocked {
            worker: input.worker,
            amount,
            stake: acct.amount,
        });
        Ok(acct)
    }

    fn slash_stake(
        &self,
        ctx: &mut Ctx<'_>,
        input: SlashStake,
    ) -> Result<SlashOutcome, ContractError> {
        self.require_stake_client(ctx, SLASH_STAKE.number())?;
        Self::no_payment(ctx)?;
        if input.amount.0 < 0 {
            return Err(EscrowError::InvalidAmount(input.amount).into());
        }
        let mut acct = Self::stake(ctx, &input.worker.0)?;
        if input.amount > acct.amount {
            return Err(EscrowError::InsufficientStake {
                amount: input.amount,
                held: acct.amount,
            }
            .into());
        }
        let amount = input.amount;
        let forwarded = match input.recipient {
            Some(_) => amount,
            None => Amount::ZERO,
        };
        let split = sub(amount, forwarded)?;
        let to_requester = split.basis_points(self.config.slash_requester_bps);
        let to_challenger = match input.challenger {
            Some(_) => split.basis_points(self.config.slash_challenger_bps),
            None => Amount::ZERO,
        };
        // The burn takes the remainder, rounding included, so the split always sums up.
        let burned = sub(sub(split, to_requester)?, to_challenger)?;
        if let Some(r) = input.recipient {
            if forwarded > Amount::ZERO {
                ctx.transfer(&r, forwarded)?;
            }
        }
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
        ctx.put(&stake_key(&input.worker.0), &acct)?;
        let mut t = Self::totals(&ctx.view())?;
        t.stakes = sub(t.stakes, amount)?;
        t.total_slashed = add(t.total_slashed, amount)?;
        t.slashed_to_requesters = add(t.slashed_to_requesters, to_requester)?;
        t.slashed_to_challengers = add(t.slashed_to_challengers, to_challenger)?;
        t.slashed_burned = add(t.slashed_burned, burned)?;
        t.slashed_forwarded = add(t.slashed_forwarded, forwarded)?;
        ctx.put(K_TOTALS, &t)?;
        let outcome = SlashOutcome {
            slashed: amount,
            to_requester,
            to_challenger,
            burned,
            forwarded,
            remaining: acct.amount,
        };
        ctx.emit(&EscrowEvent::StakeSlashed {
            worker: input.worker,
            requester: input.requester,
            challenger: input.challenger,
            outcome: outcome.clone(),
        });
        Ok(outcome)
    }

    fn return_stake(
        &self,
        ctx: &mut Ctx<'_>,
        input: ReturnStake,
    ) -> Result<StakeAccount, ContractError> {
        self.require_stake_client(ctx, RETURN_STAKE.number())?;
        Self::no_payment(ctx)?;
        if input.amount.0 < 0 {
            return Err(EscrowError::InvalidAmount(input.amount).into());
        }
        let mut acct = Self::stake(ctx, &input.worker.0)?;
        if input.amount > acct.amount {
            return Err(EscrowError::InsufficientStake {
                amount: input.amount,
                held: acct.amount,
            }
            .into());
        }
        if input.amount > Amount::ZERO {
            ctx.transfer(&input.worker.0, input.amount)?;
        }
        acct.amount = sub(acct.amount, input.amount)?;
        acct.returned = add(acct.returned, input.amount)?;
        ctx.put(&stake_key(&input.worker.0), &acct)?;
        let mut t = Self::totals(&ctx.view())?;
        t.stakes = sub(t.stakes, input.amount)?;
        t.stakes_returned = add(t.stakes_returned, input.amount)?;
        ctx.put(K_TOTALS, &t)?;
        ctx.emit(&EscrowEvent::StakeReturned {
            worker: input.worker,
            amount: input.amount,
            stake: acct.amount,
        });
        Ok(acct)
    }
}

impl Contract for Escrow {
    fn meta(&self) -> &'static ContractMeta {
        &META
    }
    fn initialize(&self, _ctx: &mut Ctx<'_>) -> Result<(), ContractError> {
        self.config
            .validate()
            .map_err(crate::genesis::invalid_config)
    }
    fn procedure(&self, ctx: &mut Ctx<'_>, input_type: u16, input: &[u8]) -> Output {
        dispatch_procedure(ctx, input_type, input)
            .on(LOCK_JOB, |ctx, i| self.lock_job(ctx, i))
            .on(RELEASE_JOB, |ctx, r| {
                self.require_job_client(ctx, RELEASE_JOB.number())?;
                Self::no_payment(ctx)?;
                let acct = Self::open_job(ctx, r.job_id.0)?;
                Self::close_job(ctx, acct, Some(r.worker.0), r.amount, r.fee, r.fee_to)
            })
            .on(REFUND_JOB, |ctx, r| {
                self.require_job_client(ctx, REFUND_JOB.number())?;
                Self::no_payment(ctx)?;
                let acct = Self::open_job(ctx, r.job_id.0)?;
                Self::close_job(ctx, acct, None, Amount::ZERO, Amount::ZERO, None)
            })
            .on(LOCK_STAKE, |ctx, i| self.lock_stake(ctx, i))
            .on(SLASH_STAKE, |ctx, i| self.slash_stake(ctx, i))
            .on(RETURN_STAKE, |ctx, i| self.return_stake(ctx, i))
            .done()
    }
    fn function(&self, view: &View<'_>, input_type: u16, input: &[u8]) -> Output {
        dispatch_function(view, input_type, input)
            .on(GET_JOB_ESCROW, |view, q| {
                view.get::<JobEscrow>(&job_key(q.job_id.0))
            })
            .on(GET_STAKE, |view, q| {
                view.get::<StakeAccount>(&stake_key(&q.worker.0))
            })
            .on(TOTALS, |view, ()| Self::totals(view))
            .done()
    }
    fn has_begin_tick(&self) -> bool {
        false
    }
    fn epoch_work(&self, _view: &View<'_>) -> bool {
        false
    }
    fn next_tick_work(&self, _view: &View<'_>) -> TickWork {
        TickWork::Idle
    }
}

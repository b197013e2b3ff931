//! The job registry (contract index 6, the last: it calls every other marketplace contract):
//! the whole job lifecycle.
//!
//! Every move a job makes is one [`Step`] in [`MOVES`]; the contract checks each status
//! change against it, and a test checks that this table says the same, row for row.
//!
//! | from | step: what (caller) | to | money |
//! |---|---|---|---|
//! | — | `Submit`: [`SUBMIT`] (anyone) | Open | escrow locked in the vault |
//! | Open | `Claim`: [`CLAIM`] (a worker); `Match`: the END_TICK matcher | Assigned | — |
//! | Open | `Cancel`: [`CANCEL`] (requester) | Cancelled | full refund |
//! | Open | `Expire`: deadline passed (END_TICK, or [`EXPIRE`] by anyone) | Expired | full refund, nobody slashed |
//! | Assigned | `Start`: [`START`] (its worker), accepting the delivery deadline | Running | — |
//! | Assigned | `Decline`: [`DECLINE`] or [`FAIL`] (its worker); `NoAnswer`: no answer within `accept_ticks` | Open, or Failed once 3 workers turned it down | no cost (no answer: a small reputation loss); refund when Failed |
//! | Running | `PostResult`: [`POST_RESULT`] (its worker) | Completed, or Checking when the chain's draw checks it | — |
//! | Running | `Fail`: [`FAIL`] (its worker) | Open the first time, Failed the second | —, full refund |
//! | Running | `Expire`: delivery deadline passed (END_TICK, or [`EXPIRE`]) | Expired | full refund; the worker is slashed |
//! | Completed | `Finalize`: end of the challenge window (END_TICK) | Finalized | worker paid (less the verification fee), rest refunded |
//! | Completed | `Challenge`: [`CHALLENGE`] (anyone but its worker, with a bond, within the window) | Checking | bond held by the verification contract |
//! | Checking | `Verdict`: the replicas' verdict (END_TICK), or [`FORCE_VERDICT`] (a devnet's resolver) | Finalized (passed, unverifiable), or Resolved (failed, no majority) | passed or unverifiable: paid; failed: full refund and slash, split by rule; no majority: full refund |
//! | Checking | `CheckTimeout`: no verdict by the check timeout (END_TICK) | Finalized | worker paid (the result stands unverified) |
//!
//! ## The fair-deadline rule
//! A worker is only ever slashed for a deadline **it accepted**. An assignment is an offer:
//! the worker has [`JobConfig::accept_ticks`] ticks to START (which fixes its delivery
//! deadline at `timeout_ticks` after the start, a deadline it can check against its own
//! speed before accepting) or to DECLINE, free of charge, with a reason. An offer left
//! unanswered reopens the job (the worker loses a little reputation, no stake). Only a
//! started job whose delivery deadline passes is slashed. So a requester who asks for more
//! tokens than its timeout allows gets its job declined and refunded, and cannot gain from a
//! worker that starts only what it can finish (the daemon's rule: its measured speed must
//! deliver `max_output_tokens` within the timeout with a margin). A worker that declined or
//! gave a job up is never offered it again; after three such workers the job ends Failed
//! and is refunded, with the last reason.
//!
//! - **Submit** ([`SUBMIT`], [`JobSpec`]): the invocation reward is the escrow, locked in the
//!   vault; it must cover `max_output_tokens × max_price_per_1k / 1000`.
//! - **Matching**: at END_TICK, open jobs, oldest first, are paired with listed workers (see
//!   [`crate::worker_registry`]): the cheapest eligible worker, then the most reputable, ties
//!   broken by the tick's seed. A pass examines at most
//!   [`JobConfig::max_matches_per_tick`] open jobs per tick and carries over; a new pass
//!   starts whenever a job opens or a listed worker changes. A worker may also [`CLAIM`] one
//!   open job it names.
//! - **Deadlines**: each live job has one deadline in an ordered index: an open job's expiry
//!   (`timeout_ticks` after it opened), an assigned job's answer deadline (`accept_ticks`
//!   after the assignment), a running job's delivery deadline (`timeout_ticks` after START),
//!   a completed job's end of challenge window, a checked job's check timeout.
//!   END_TICK handles due deadlines, at most [`JobConfig::max_settlements_per_tick`] per
//!   tick, oldest first; the rest carry over. A result posted in the deadline's own tick is
//!   in time (transactions run before END_TICK); a dispute is accepted up to and including
//!   the window's last tick.
//! - **Money**: on finalization the worker gets `output_tokens × price_per_1k / 1000` (its
//!   price, fixed at assignment), never more than the escrow; the requester gets the rest.
//!   Every payment carries the verification fee ([`crate::verification::VerifyConfig::fee_bps`]),
//!   paid to the verification contract's pool. Cancel, expiry, a job given up twice (or
//!   turned down three times), a failed check and a check without a majority refund the
//!   requester in full; the expiry of a started job and a failed check also slash the
//!   worker's stake.
//! - **Prices**: a job finalized undisputed or after a passed check is reported to the
//!   [`crate::price_oracle`] ([`RECORD`]), which publishes a per-model market price for
//!   estimates; it never sets a payment.
//! - **Checks** ([`crate::verification`]): when a result is posted, the verification
//!   contract draws whether it is spot-checked; within the challenge window anyone but its
//!   worker may challenge it with a bond. A checked job waits in Checking, unpaid, for the
//!   replicas' verdict, which this contract takes at END_TICK and applies: the job's money
//!   first, then the verification contract's settlement (rewards, bonds, the slash's split).
//!   No identity decides a verdict on a normal node; a `--devnet` node's resolver may force
//!   one ([`FORCE_VERDICT`], marked as forced in the events).
//! - **Why**: a job that failed, expired or was turned down says why in [`Job::reason`] (the
//!   worker's own words for DECLINE and FAIL).
//! - **Callers**: only the requester cancels, only the assigned worker starts, declines,
//!   posts or fails; anyone but the worker challenges; only a devnet's resolver forces a
//!   verdict; anyone may [`EXPIRE`] a job whose deadline has passed (and, as challenger, gets
//!   a share of a slash). A wrong caller gets a typed error and nothing changes.
//! - **Large jobs** ([`POST_LARGE_JOB`], [`COMMIT_BID`], [`REVEAL_BID`]): a job of several
//!   parts auctioned by sealed bids to a pool or a single worker; the winner's price is
//!   every part's price and each part is then a normal job. The rules are in `large.rs`.

mod api;
mod large;

pub use api::*;

use crate::ids::{JobId, WorkerId};
use std::ops::Bound;

use crate::escrow::{
    JobEscrow, JobEscrowQuery, LockJob, RefundJob, ReleaseJob, GET_JOB_ESCROW, LOCK_JOB,
    REFUND_JOB, RELEASE_JOB, TOTALS,
};
use crate::price_oracle::{Observation, Recorded, RECORD};
use crate::rules::TOKENS_PER_PRICE_UNIT;
use crate::rules::{payment, required_escrow, MAX_PAGE, MAX_REPUTATION, MAX_TEMPERATURE_MILLI};
use crate::verification::{
    CheckOpened, Force, OpenCheck, Settle, Settlement, Verdict, VerdictKind, FORCE, OPEN_CHECK,
    PENDING_VERDICTS, SETTLE, TAKE_VERDICTS,
};
use crate::worker_registry::{
    Assign, Assignment, FindWorker, Outcome, Release, ReleaseOutcome, ASSIGN, FIND_WORKER,
    MATCH_VERSION, RELEASE, WORKER_STATS,
};
use borsh::{BorshDeserialize, BorshSerialize};
use comqute_qpi::contract::{key_u32, key_u64, Contract, Ctx, KeyBuf, Output, TickWork, View};
use comqute_qpi::error::ContractError;
use comqute_qpi::kit::{dispatch_function, dispatch_procedure, ContractMeta};
use comqute_qpi::primitives::{Amount, Hash32, Identity, Tick, MAX_AMOUNT};

/// The matcher's progress, carried from tick to tick.
#[derive(Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
struct MatchState {
    /// A job opened since the current pass started.
    dirty: bool,
    /// The pass in progress: the last job id examined (0 at the start).
    cursor: Option<u64>,
    /// The worker registry's match version when the pass started.
    seen_version: u64,
}

const K_NEXT_ID: &[u8] = &[1];
const T_JOB: u8 = 2; // map: id -> Job
const T_STATUS: u8 = 3; // set: (status, id)
const T_REQUESTER: u8 = 4; // set: (requester, id)
const T_WORKER: u8 = 5; // set: (worker, id), every worker that held the job
const T_DEADLINE: u8 = 6; // set: (tick, id)
const K_MATCH: &[u8] = &[7];
const K_COUNTERS: &[u8] = &[8];

fn job_key(id: u64) -> KeyBuf {
    KeyBuf::table(T_JOB).u64(id)
}
fn status_key(s: JobStatus, id: u64) -> KeyBuf {
    KeyBuf::table(T_STATUS).u8(s.code()).u64(id)
}
fn requester_key(r: &Identity, id: u64) -> KeyBuf {
    KeyBuf::table(T_REQUESTER).bytes32(&r.0).u64(id)
}
fn worker_key(w: &Identity, id: u64) -> KeyBuf {
    KeyBuf::table(T_WORKER).bytes32(&w.0).u64(id)
}
fn deadline_key(t: Tick, id: u64) -> KeyBuf {
    KeyBuf::table(T_DEADLINE).u32(t.0).u64(id)
}

fn corrupt(key: &[u8], detail: &str) -> ContractError {
    ContractError::CorruptState {
        key: key.iter().map(|b| format!("{b:02x}")).collect(),
        detail: detail.into(),
    }
}

fn job_seed(seed: &Hash32, id: u64) -> Hash32 {
    // blake3("comqute match" ‖ seed ‖ id), hashed in one call from the stack.
    const TAG: &[u8] = b"comqute match";
    let mut buf = [0u8; TAG.len() + 32 + 8];
    buf[..TAG.len()].copy_from_slice(TAG);
    buf[TAG.len()..TAG.len() + 32].copy_from_slice(&seed.0);
    buf[TAG.len() + 32..].copy_from_slice(&id.to_le_bytes());
    Hash32(*blake3::hash(&buf).as_bytes())
}

/// The job registry contract.
#[derive(Debug, Clone, Default)]
pub struct JobRegistry {
    config: JobConfig,
}

impl JobRegistry {
    /// The registry with these genesis settings.
    pub fn new(config: JobConfig) -> Self {
        JobRegistry { config }
    }

    // --- storage helpers -----------------------------------------------------------------

    fn load(view: &View<'_>, id: u64) -> Result<Job, ContractError> {
        view.get(&job_key(id))?
            .ok_or_else(|| JobError::UnknownJob(id).into())
    }

    fn counters(view: &View<'_>) -> Result<JobCounters, ContractError> {
        Ok(view.get(K_COUNTERS)?.unwrap_or_default())
    }

    fn match_state(view: &View<'_>) -> Result<MatchState, ContractError> {
        Ok(view.get(K_MATCH)?.unwrap_or_default())
    }

    fn mark_dirty(ctx: &mut Ctx<'_>) -> Result<(), ContractError> {
        let mut ms = Self::match_state(&ctx.view())?;
        if !ms.dirty {
            ms.dirty = true;
            ctx.put(K_MATCH, &ms)?;
        }
        Ok(())
    }

    /// Moves `job` to `to`, keeping the status index and counts in line. When `to` is
    /// terminal it also drops the deadline and books the money.
    fn set_status(
        ctx: &mut Ctx<'_>,
        job: &mut Job,
        step: Step,
        to: JobStatus,
    ) -> Result<(), ContractError> {
        // Invariant: every caller checked the step first; a move outside MOVES is a bug.
        if !transition(job.status, step).is_some_and(|t| t.contains(&to)) {
            return Err(corrupt(
                &job_key(job.id.0),
                &format!(
                    "no move {step:?} from {} to {}",
                    job.status.name(),
                    to.name()
                ),
            ));
        }
        let mut c = Self::counters(&ctx.view())?;
        ctx.remove_key(&status_key(job.status, job.id.0))?;
        ctx.insert_key(&status_key(to, job.id.0))?;
        c.bump(job.status, false);
        c.bump(to, true);
        if to.is_terminal() && !job.status.is_terminal() {
            Self::set_deadline(ctx, job, None)?;
            job.closed_at = Some(ctx.tick());
            c.total_escrowed = Amount(c.total_escrowed.0 - job.escrow.0);
            c.total_paid = Amount(c.total_paid.0 + job.paid.0);
            c.total_fees = Amount(c.total_fees.0 + job.fee.0);
            c.total_refunded = Amount(c.total_refunded.0 + job.refunded.0);
            c.total_slashed = Amount(c.total_slashed.0 + job.slashed.0);
        }
        job.status = to;
        ctx.put(K_COUNTERS, &c)
    }

    fn set_deadline(
        ctx: &mut Ctx<'_>,
        job: &mut Job,
        to: Option<Tick>,
    ) -> Result<(), ContractError> {
        if let Some(old) = job.deadline {
            ctx.remove_key(&deadline_key(old, job.id.0))?;
        }
        if let Some(new) = to {
            ctx.insert_key(&deadline_key(new, job.id.0))?;
        }
        job.deadline = to;
        Ok(())
    }

    fn save(ctx: &mut Ctx<'_>, job: &Job) -> Result<(), ContractError> {
        ctx.put(&job_key(job.id.0), job)
    }

    fn no_payment(ctx: &Ctx<'_>) -> Result<(), JobError> {
        let r = ctx.invocation_reward();
        if r != Amount::ZERO {
            return Err(JobError::UnexpectedPayment(r));
        }
        Ok(())
    }

    fn require_worker(ctx: &Ctx<'_>, job: &Job) -> Result<Identity, JobError> {
        let caller = ctx.invocator();
        match job.worker {
            Some(w) if w == caller => Ok(w.0),
            _ => Err(JobError::NotAssignedWorker),
        }
    }

    fn require_requester(ctx: &Ctx<'_>, job: &Job) -> Result<(), JobError> {
        if ctx.invocator() != job.requester {
            return Err(JobError::NotRequester);
        }
        Ok(())
    }

    fn wrong(job: &Job, action: &'static str) -> ContractError {
        JobError::WrongStatus {
            job_id: job.id,
            status: job.status,
            action,
        }
        .into()
    }

    /// Refuses `step` (`action` in words) when the job's status does not allow it.
    fn check(job: &Job, step: Step, action: &'static str) -> Result<(), ContractError> {
        match transition(job.status, step) {
            Some(_) => Ok(()),
            None => Err(Self::wrong(job, action)),
        }
    }

    // --- money and worker calls ------------------------------------------------------------

    fn refund(ctx: &mut Ctx<'_>, job: &mut Job) -> Result<(), ContractError> {
        let _: JobEscrow = ctx.call(REFUND_JOB, &RefundJob { job_id: job.id }, Amount::ZERO)?;
        job.refunded = job.escrow;
        Ok(())
    }

    /// The worker and result of a job past POST_RESULT.
    fn delivered(job: &Job) -> Result<(WorkerId, JobResult), ContractError> {
        let key = job_key(job.id.0);
        // Invariant: a job leaves Running only with its worker and result set.
        let worker = job
            .worker
            .ok_or_else(|| corrupt(&key, "completed job without worker"))?;
        let result = job
            .result
            .ok_or_else(|| corrupt(&key, "completed job without result"))?;
        Ok((worker, result))
    }

    /// Pays the worker for the posted result (less the verification fee), refunding the
    /// rest.
    fn pay(&self, ctx: &mut Ctx<'_>, job: &mut Job) -> Result<Identity, ContractError> {
        let (worker, result) = Self::delivered(job)?;
        let amount = payment(result.output_tokens, job.price_per_1k, job.escrow);
        let (fee, fee_to) = match self.config.verification {
            Some(v) => (
                crate::verification::share(amount, self.config.fee_bps),
                Some(Identity::contract(v)),
            ),
            None => (Amount::ZERO, None),
        };
        let payee = Self::pool_payee(&ctx.view(), worker)?;
        let _: JobEscrow = ctx.call(
            RELEASE_JOB,
            &ReleaseJob {
                job_id: job.id,
                worker: payee,
                amount,
                fee,
                fee_to,
            },
            Amount::ZERO,
        )?;
        job.paid = Amount(amount.0 - fee.0);
        job.fee = fee;
        job.refunded = Amount(job.escrow.0 - amount.0);
        Self::settle_in_pool(ctx, job, worker, payee, result.output_tokens)?;
        Ok(worker.0)
    }

    /// Tells the price oracle of a job that settled and paid its worker, undisputed or
    /// after a passed check (never one refunded or left unverified): its unit price is an
    /// observation of its model's market ([`crate::price_oracle`], which skips a requester
    /// paying itself).
    fn report_price(&self, ctx: &mut Ctx<'_>, job: &Job) -> Result<(), ContractError> {
        let priced = job.status == JobStatus::Finalized
            && match job.verdict {
                Some(v) => v == VerdictKind::Passed,
                None => !job.checked,
            };
        if self.config.price_oracle.is_none() || !priced {
            return Ok(());
        }
        let (worker, result) = Self::delivered(job)?;
        // The unit price charged: the worker's price, or less when the escrow capped the
        // payment.
        let charged = i128::from(job.paid.0) + i128::from(job.fee.0);
        let tokens = i128::from(result.output_tokens);
        let full = tokens * i128::from(job.price_per_1k.0) / TOKENS_PER_PRICE_UNIT;
        let price_per_1k = if tokens > 0 && charged < full {
            Amount(i64::try_from(charged * TOKENS_PER_PRICE_UNIT / tokens).unwrap_or(0))
        } else {
            job.price_per_1k
        };
        let observation = Observation {
            job_id: job.id,
            model: job.spec.model,
            worker,
            requester: job.requester,
            price_per_1k,
            output_tokens: result.output_tokens,
        };
        let _: Recorded = ctx.call(RECORD, &observation, Amount::ZERO)?;
        Ok(())
    }

    fn release_worker(
        ctx: &mut Ctx<'_>,
        job: &mut Job,
        worker: Identity,
        outcome: Outcome,
        challenger: Option<Identity>,
    ) -> Result<Amount, ContractError> {
        Self::release_worker_to(ctx, job, worker, outcome, challenger, None)
            .map(|o| o.slash.slashed)
    }

    fn release_worker_to(
        ctx: &mut Ctx<'_>,
        job: &mut Job,
        worker: Identity,
        outcome: Outcome,
        challenger: Option<Identity>,
        slash_to: Option<Identity>,
    ) -> Result<ReleaseOutcome, ContractError> {
        let earned = match outcome {
            Outcome::Finalized | Outcome::CheckPassed | Outcome::Unresolved => job.paid,
            _ => Amount::ZERO,
        };
        let out: ReleaseOutcome = ctx.call(
            RELEASE,
            &Release {
                worker: WorkerId(worker),
                job_id: job.id,
                outcome,
                requester: job.requester,
                challenger,
                earned,
                slash_to,
            },
            Amount::ZERO,
        )?;
        job.slashed = Amount(job.slashed.0 + out.slash.slashed.0);
        Self::slash_in_pool(ctx, job, worker, outcome)?;
        Ok(out)
    }

    /// A new open job: its record with its indices (status, requester, deadline), the
    /// counters, and `Submitted`. Its escrow is already in the vault. Shared by `submit`
    /// and a large job's parts.
    fn open_job(
        ctx: &mut Ctx<'_>,
        id: JobId,
        requester: Identity,
        spec: JobSpec,
        escrow: Amount,
    ) -> Result<Job, ContractError> {
        let now = ctx.tick();
        let deadline = now.plus(spec.timeout_ticks);
        let job = Job {
            id,
            requester,
            spec: spec.clone(),
            escrow,
            status: JobStatus::Open,
            worker: None,
            price_per_1k: Amount::ZERO,
            submitted_at: now,
            assigned_at: None,
            started_at: None,
            completed_at: None,
            deadline: Some(deadline),
            result: None,
            failures: 0,
            excluded: Vec::new(),
            reason: None,
            paid: Amount::ZERO,
            fee: Amount::ZERO,
            refunded: Amount::ZERO,
            slashed: Amount::ZERO,
            closed_at: None,
            checked: false,
            verdict: None,
        };
        ctx.insert_key(&status_key(JobStatus::Open, id.0))?;
        ctx.insert_key(&requester_key(&requester, id.0))?;
        ctx.insert_key(&deadline_key(deadline, id.0))?;
        Self::save(ctx, &job)?;
        let mut c = Self::counters(&ctx.view())?;
        c.submitted += 1;
        c.bump(JobStatus::Open, true);
        ctx.put(K_COUNTERS, &c)?;
        ctx.emit(&JobEvent::Submitted {
            job_id: id,
            requester,
            spec,
            escrow,
            deadline,
        });
        Ok(job)
    }

    fn assign(
        &self,
        ctx: &mut Ctx<'_>,
        job: &mut Job,
        worker: Identity,
        claimed: bool,
        won_at: Option<Amount>,
    ) -> Result<(), ContractError> {
        let a: Assignment = ctx.call(
            ASSIGN,
            &Assign {
                worker: WorkerId(worker),
                job_id: job.id,
                model: job.spec.model,
                // A large job's part goes at the auction's price, whatever the worker's
                // listed one.
                max_price_per_1k: match won_at {
                    Some(_) => Amount(MAX_AMOUNT),
                    None => job.spec.max_price_per_1k,
                },
                min_reputation: job.spec.min_reputation,
            },
            Amount::ZERO,
        )?;
        let price = won_at.unwrap_or(a.price_per_1k);
        let now = ctx.tick();
        // The offer: START (accepting the delivery deadline) or DECLINE by then.
        let deadline = now.plus(self.config.accept_ticks);
        job.worker = Some(WorkerId(worker));
        job.price_per_1k = price;
        job.assigned_at = Some(now);
        job.started_at = None;
        let step = if claimed { Step::Claim } else { Step::Match };
        Self::set_status(ctx, job, step, JobStatus::Assigned)?;
        Self::set_deadline(ctx, job, Some(deadline))?;
        ctx.insert_key(&worker_key(&worker, job.id.0))?;
        Self::save(ctx, job)?;
        ctx.emit(&JobEvent::Assigned {
            job_id: job.id,
            worker: WorkerId(worker),
            price_per_1k: price,
            deadline,
            claimed,
        });
        Ok(())
    }

    // --- lifecycle ---------------------------------------------------------------------------

    fn validate_spec(&self, s: &JobSpec) -> Result<(), JobError> {
        let c = &self.config;
        let bad = |m: String| Err(JobError::InvalidSpec(m));
        if s.prompt_hash == Hash32::ZERO {
            return bad("zero prompt hash".into());
        }
        if s.prompt_size == 0 || s.prompt_size > c.max_prompt_bytes {
            return bad(format!(
                "prompt size between 1 and {}, got {}",
                c.max_prompt_bytes, s.prompt_size
            ));
        }
        if s.max_output_tokens == 0 || s.max_output_tokens > c.max_output_tokens {
            return bad(format!(
                "max output tokens between 1 and {}, got {}",
                c.max_output_tokens, s.max_output_tokens
            ));
        }
        if s.max_price_per_1k.0 <= 0 || s.max_price_per_1k.0 > MAX_AMOUNT {
            return bad(format!(
                "max price per 1k out of range: {}",
                s.max_price_per_1k
            ));
        }
        if s.timeout_ticks < c.min_timeout_ticks || s.timeout_ticks > c.max_timeout_ticks {
            return bad(format!(
                "timeout between {} and {} ticks, got {}",
                c.min_timeout_ticks, c.max_timeout_ticks, s.timeout_ticks
            ));
        }
        if s.min_reputation > MAX_REPUTATION {
            return bad(format!("min reputation over {MAX_REPUTATION}"));
        }
        if s.sampling.temperature_milli > MAX_TEMPERATURE_MILLI {
            return bad(format!(
                "temperature over {MAX_TEMPERATURE_MILLI} thousandths"
            ));
        }
        Ok(())
    }

    fn submit(&self, ctx: &mut Ctx<'_>, spec: JobSpec) -> Result<JobId, ContractError> {
        self.validate_spec(&spec)?;
        let escrow = ctx.invocation_reward();
        let needed = required_escrow(spec.max_output_tokens, spec.max_price_per_1k)
            .ok_or_else(|| JobError::InvalidSpec("maximum cost over the largest amount".into()))?
            .max(Amount(1));
        if escrow < needed {
            return Err(JobError::InsufficientEscrow {
                needed,
                got: escrow,
            }
            .into());
        }
        let requester = ctx.invocator();
        let id = ctx.get::<u64>(K_NEXT_ID)?.unwrap_or(1);
        ctx.put(K_NEXT_ID, &(id + 1))?;
        let _: JobEscrow = ctx.call(
            LOCK_JOB,
            &LockJob {
                job_id: JobId(id),
                requester,
            },
            escrow,
        )?;
        Self::open_job(ctx, JobId(id), requester, spec, escrow)?;
        let mut c = Self::counters(&ctx.view())?;
        c.total_escrowed = Amount(c.total_escrowed.0 + escrow.0);
        ctx.put(K_COUNTERS, &c)?;
        Self::mark_dirty(ctx)?;
        Ok(JobId(id))
    }

    fn claim(&self, ctx: &mut Ctx<'_>, r: JobRef) -> Result<(), ContractError> {
        Self::no_payment(ctx)?;
        let mut job = Self::load(&ctx.view(), r.job_id.0)?;
        let worker = ctx.invocator();
        Self::check(&job, Step::Claim, "claim")?;
        if worker == job.requester {
            return Err(JobError::SelfDealing.into());
        }
        if job.excluded.contains(&WorkerId(worker)) {
            return Err(JobError::ExcludedWorker.into());
        }
        self.assign(ctx, &mut job, worker, true, None)?;
        Ok(())
    }

    fn start(ctx: &mut Ctx<'_>, r: JobRef) -> Result<(), ContractError> {
        Self::no_payment(ctx)?;
        let mut job = Self::load(&ctx.view(), r.job_id.0)?;
        let worker = Self::require_worker(ctx, &job)?;
        Self::check(&job, Step::Start, "start")?;
        let now = ctx.tick();
        // The worker accepts this delivery deadline by starting.
        let deadline = now.plus(job.spec.timeout_ticks);
        job.started_at = Some(now);
        Self::set_status(ctx, &mut job, Step::Start, JobStatus::Running)?;
        Self::set_deadline(ctx, &mut job, Some(deadline))?;
        Self::save(ctx, &job)?;
        ctx.emit(&JobEvent::Started {
            job_id: job.id,
            worker: WorkerId(worker),
            deadline,
        });
        Ok(())
    }

    fn check_reason(g: &GiveUp) -> Result<(), JobError> {
        if g.reason.len() > MAX_REASON {
            return Err(JobError::ReasonTooLong(g.reason.len()));
        }
        Ok(())
    }

    /// Takes the job from its worker and reopens it (new expiry `timeout_ticks` from now),
    /// or, once [`MAX_TURNED_DOWN`] workers turned it down or it was given up twice, ends it
    /// Failed with a full refund. Returns the new expiry when reopened.
    fn reopen_or_fail(
        ctx: &mut Ctx<'_>,
        job: &mut Job,
        step: Step,
        worker: Identity,
        reason: String,
    ) -> Result<Option<Tick>, ContractError> {
        if !job.excluded.contains(&WorkerId(worker)) {
            job.excluded.push(WorkerId(worker));
        }
        job.reason = Some(reason);
        if job.failures < 2 && job.excluded.len() < MAX_TURNED_DOWN {
            let deadline = ctx.tick().plus(job.spec.timeout_ticks);
            job.worker = None;
            job.price_per_1k = Amount::ZERO;
            job.assigned_at = None;
            job.started_at = None;
            Self::set_status(ctx, job, step, JobStatus::Open)?;
            Self::set_deadline(ctx, job, Some(deadline))?;
            Self::save(ctx, job)?;
            Self::mark_dirty(ctx)?;
            Ok(Some(deadline))
        } else {
            Self::refund(ctx, job)?;
            Self::set_status(ctx, job, step, JobStatus::Failed)?;
            Self::save(ctx, job)?;
            Ok(None)
        }
    }

    /// An assigned job's offer turned down (`answered`) or left unanswered.
    fn turn_down(
        ctx: &mut Ctx<'_>,
        job: &mut Job,
        worker: Identity,
        answered: bool,
        reason: String,
    ) -> Result<(), ContractError> {
        let (outcome, step) = if answered {
            (Outcome::Declined, Step::Decline)
        } else {
            (Outcome::NoAnswer, Step::NoAnswer)
        };
        Self::release_worker(ctx, job, worker, outcome, None)?;
        let deadline = Self::reopen_or_fail(ctx, job, step, worker, reason.clone())?;
        ctx.emit(&JobEvent::Declined {
            job_id: job.id,
            worker: WorkerId(worker),
            answered,
            reason,
            reopened: deadline.is_some(),
            deadline,
            refunded: job.refunded,
        });
        Ok(())
    }

    fn decline(ctx: &mut Ctx<'_>, g: GiveUp) -> Result<(), ContractError> {
        Self::no_payment(ctx)?;
        Self::check_reason(&g)?;
        let mut job = Self::load(&ctx.view(), g.job_id.0)?;
        let worker = Self::require_worker(ctx, &job)?;
        Self::check(
            &job,
            Step::Decline,
            "decline (only an offer not started yet can be)",
        )?;
        Self::turn_down(ctx, &mut job, worker, true, g.reason)?;
        Ok(())
    }

    fn post_result(&self, ctx: &mut Ctx<'_>, p: PostResult) -> Result<(), ContractError> {
        Self::no_payment(ctx)?;
        let mut job = Self::load(&ctx.view(), p.job_id.0)?;
        let worker = Self::require_worker(ctx, &job)?;
        Self::check(&job, Step::PostResult, "post a result")?;
        if p.result.result_hash == Hash32::ZERO {
            return Err(JobError::InvalidResult("zero result hash".into()).into());
        }
        if p.result.output_tokens > job.spec.max_output_tokens {
            return Err(JobError::InvalidResult(format!(
                "{} output tokens, the job allows {}",
                p.result.output_tokens, job.spec.max_output_tokens
            ))
            .into());
        }
        let released =
            Self::release_worker_to(ctx, &mut job, worker, Outcome::Delivered, None, None)?;
        let now = ctx.tick();
        job.result = Some(p.result);
        job.completed_at = Some(now);
        // The chain draws whether the result is checked before anyone is paid for it.
        let opened = match self.config.verification {
            Some(_) => {
                let o = self.open_check(ctx, &job, None, released.at_risk)?;
                Some(o)
            }
            None => None,
        };
        let rate = opened.as_ref().map_or(0, |o| o.rate_ppm);
        let checked = opened.as_ref().is_some_and(|o| o.checked);
        let (to, deadline) = if checked {
            job.checked = true;
            (
                JobStatus::Checking,
                now.plus(self.config.check_timeout_ticks),
            )
        } else {
            (JobStatus::Completed, now.plus(self.config.challenge_window))
        };
        Self::set_status(ctx, &mut job, Step::PostResult, to)?;
        Self::set_deadline(ctx, &mut job, Some(deadline))?;
        Self::save(ctx, &job)?;
        ctx.emit(&JobEvent::ResultPosted {
            job_id: job.id,
            worker: WorkerId(worker),
            result: p.result,
            challenge_ends: (!checked).then_some(deadline),
            check_rate_ppm: rate,
        });
        if checked {
            ctx.emit(&JobEvent::SpotChecked {
                job_id: job.id,
                rate_ppm: rate,
                check_by: deadline,
            });
        }
        Ok(())
    }

    fn cancel(ctx: &mut Ctx<'_>, r: JobRef) -> Result<(), ContractError> {
        Self::no_payment(ctx)?;
        let mut job = Self::load(&ctx.view(), r.job_id.0)?;
        Self::require_requester(ctx, &job)?;
        Self::check(&job, Step::Cancel, "cancel")?;
        Self::refund(ctx, &mut job)?;
        Self::set_status(ctx, &mut job, Step::Cancel, JobStatus::Cancelled)?;
        Self::save(ctx, &job)?;
        ctx.emit(&JobEvent::Cancelled {
            job_id: job.id,
            refunded: job.refunded,
        });
        Ok(())
    }

    fn fail(ctx: &mut Ctx<'_>, g: GiveUp) -> Result<(), ContractError> {
        Self::no_payment(ctx)?;
        Self::check_reason(&g)?;
        let mut job = Self::load(&ctx.view(), g.job_id.0)?;
        let worker = Self::require_worker(ctx, &job)?;
        // Not started: giving it up is declining it, free of charge.
        if transition(job.status, Step::Decline).is_some() {
            Self::turn_down(ctx, &mut job, worker, true, g.reason)?;
            return Ok(());
        }
        Self::check(&job, Step::Fail, "give up")?;
        Self::release_worker(ctx, &mut job, worker, Outcome::Failed, None)?;
        job.failures = job.failures.saturating_add(1);
        let deadline = Self::reopen_or_fail(ctx, &mut job, Step::Fail, worker, g.reason.clone())?;
        ctx.emit(&JobEvent::Failed {
            job_id: job.id,
            worker: WorkerId(worker),
            reason: g.reason,
            reopened: deadline.is_some(),
            deadline,
            refunded: job.refunded,
        });
        Ok(())
    }

    /// Offers the job's result to the verification contract: the chain's draw
    /// (`challenger` `None`) or a challenge with its `bond`.
    fn open_check(
        &self,
        ctx: &mut Ctx<'_>,
        job: &Job,
        challenger: Option<(Identity, Amount)>,
        at_risk: Amount,
    ) -> Result<CheckOpened, ContractError> {
        let (worker, result) = Self::delivered(job)?;
        let o = OpenCheck {
            job_id: job.id,
            worker,
            requester: job.requester,
            model: job.spec.model,
            runtime: result.runtime,
            result_hash: result.result_hash,
            output_tokens: result.output_tokens,
            temperature_milli: job.spec.sampling.temperature_milli,
            payment: payment(result.output_tokens, job.price_per_1k, job.escrow),
            stake_at_risk: at_risk,
            challenger: challenger.map(|(c, _)| c),
        };
        let bond = challenger.map_or(Amount::ZERO, |(_, b)| b);
        ctx.call(OPEN_CHECK, &o, bond)
    }

    fn challenge(&self, ctx: &mut Ctx<'_>, r: JobRef) -> Result<(), ContractError> {
        let mut job = Self::load(&ctx.view(), r.job_id.0)?;
        Self::check(&job, Step::Challenge, "challenge")?;
        if self.config.verification.is_none() {
            return Err(JobError::NoVerification.into());
        }
        let caller = ctx.invocator();
        if job.worker.is_some_and(|w| w == caller) {
            return Err(JobError::OwnResult.into());
        }
        let ends = job
            .deadline
            .ok_or_else(|| corrupt(&job_key(job.id.0), "completed job without deadline"))?;
        let now = ctx.tick();
        if now > ends {
            return Err(JobError::WindowClosed { ended: ends }.into());
        }
        let bond = ctx.invocation_reward();
        // The stake at risk only sets a spot check's rate; a challenge is always checked.
        self.open_check(ctx, &job, Some((caller, bond)), Amount::ZERO)?;
        let check_by = now.plus(self.config.check_timeout_ticks);
        job.checked = true;
        Self::set_status(ctx, &mut job, Step::Challenge, JobStatus::Checking)?;
        Self::set_deadline(ctx, &mut job, Some(check_by))?;
        Self::save(ctx, &job)?;
        ctx.emit(&JobEvent::Challenged {
            job_id: job.id,
            challenger: caller,
            bond,
            check_by,
        });
        Ok(())
    }

    fn force_verdict(&self, ctx: &mut Ctx<'_>, r: Resolve) -> Result<(), ContractError> {
        Self::no_payment(ctx)?;
        let job = Self::load(&ctx.view(), r.job_id.0)?;
        let caller = ctx.invocator();
        if !self.config.forced_verdicts
            || caller != self.config.resolver
            || caller == Identity::NULL
        {
            return Err(JobError::NotResolver.into());
        }
        Self::check(&job, Step::Verdict, "force a verdict")?;
        let v: Verdict = ctx.call(
            FORCE,
            &Force {
                job_id: job.id,
                passed: r.worker_wins,
            },
            Amount::ZERO,
        )?;
        self.apply_verdict(ctx, v)
    }

    /// Moves a checked job's money by its verdict, then lets the verification contract pay
    /// replicas, bonds and the slash's split.
    fn apply_verdict(&self, ctx: &mut Ctx<'_>, v: Verdict) -> Result<(), ContractError> {
        let mut job = Self::load(&ctx.view(), v.job_id.0)?;
        let mut slashed = Amount::ZERO;
        // A check that outlived its timeout: the job settled already; only the check's own
        // money (bonds, rewards) moves.
        if job.status == JobStatus::Checking {
            let worker = job
                .worker
                .ok_or_else(|| corrupt(&job_key(job.id.0), "checked job without worker"))?
                .0;
            // Set before paying: a pool counts a passed check's tokens as verified.
            job.verdict = Some(v.kind);
            match v.kind {
                VerdictKind::Passed | VerdictKind::Unverifiable => {
                    self.pay(ctx, &mut job)?;
                    let outcome = if v.kind == VerdictKind::Passed {
                        Outcome::CheckPassed
                    } else {
                        Outcome::Unresolved
                    };
                    Self::release_worker(ctx, &mut job, worker, outcome, None)?;
                }
                VerdictKind::Failed => {
                    Self::refund(ctx, &mut job)?;
                    let to = self.config.verification.map(Identity::contract);
                    let out = Self::release_worker_to(
                        ctx,
                        &mut job,
                        worker,
                        Outcome::CheckFailed,
                        None,
                        to,
                    )?;
                    slashed = out.slash.forwarded;
                }
                VerdictKind::NoMajority => {
                    Self::refund(ctx, &mut job)?;
                    Self::release_worker(ctx, &mut job, worker, Outcome::Unresolved, None)?;
                }
            }
            let to = if v.kind.pays_worker() {
                JobStatus::Finalized
            } else {
                JobStatus::Resolved
            };
            Self::set_status(ctx, &mut job, Step::Verdict, to)?;
            Self::save(ctx, &job)?;
            self.report_price(ctx, &job)?;
            ctx.emit(&JobEvent::Verified {
                job_id: job.id,
                status: to,
                verdict: Some(v.kind),
                forced: v.forced,
                paid: job.paid,
                fee: job.fee,
                refunded: job.refunded,
                slashed: job.slashed,
            });
        }
        let _: Settlement = ctx.call(
            SETTLE,
            &Settle {
                job_id: job.id,
                slashed,
            },
            Amount::ZERO,
        )?;
        Ok(())
    }

    fn verdicts_pending(&self, view: &View<'_>) -> bool {
        self.config.verification.is_some() && view.query(PENDING_VERDICTS, &()).is_ok_and(|n| n > 0)
    }

    fn apply_verdicts(&self, ctx: &mut Ctx<'_>) -> Result<(), ContractError> {
        let max = u16::try_from(self.config.max_settlements_per_tick).unwrap_or(u16::MAX);
        let verdicts: Vec<Verdict> = ctx.call(TAKE_VERDICTS, &max, Amount::ZERO)?;
        for v in verdicts {
            self.apply_verdict(ctx, v)?;
        }
        Ok(())
    }

    /// Expires an open or running job: full refund; a running job's worker, who accepted
    /// the deadline by starting, is slashed.
    fn expire(
        ctx: &mut Ctx<'_>,
        job: &mut Job,
        challenger: Option<Identity>,
    ) -> Result<(), ContractError> {
        let deadline = job.deadline.unwrap_or(ctx.tick());
        Self::refund(ctx, job)?;
        let holder = match job.status {
            JobStatus::Running => job.worker,
            _ => None,
        };
        let reason = match holder {
            Some(w) => format!(
                "worker {w} started it and did not deliver by its deadline, tick {deadline}"
            ),
            None if job.excluded.is_empty() => {
                format!("no worker took it before its deadline, tick {deadline}")
            }
            None => format!(
                "no other worker took it before its deadline, tick {deadline} (last: {})",
                job.reason.as_deref().unwrap_or("turned down")
            ),
        };
        let slashed = match holder {
            Some(w) => Self::release_worker(ctx, job, w.0, Outcome::Expired, challenger)?,
            None => Amount::ZERO,
        };
        job.reason = Some(reason.clone());
        Self::set_status(ctx, job, Step::Expire, JobStatus::Expired)?;
        Self::save(ctx, job)?;
        ctx.emit(&JobEvent::Expired {
            job_id: job.id,
            worker: holder,
            reason,
            refunded: job.refunded,
            slashed,
            challenger,
        });
        Ok(())
    }

    /// An offer nobody answered: the job reopens without its worker.
    fn no_answer(ctx: &mut Ctx<'_>, job: &mut Job) -> Result<(), ContractError> {
        let key = job_key(job.id.0);
        let worker = job
            .worker
            .ok_or_else(|| corrupt(&key, "assigned job without worker"))?;
        let reason = format!(
            "worker {worker} neither started nor declined it by tick {}",
            job.deadline.unwrap_or(ctx.tick())
        );
        Self::turn_down(ctx, job, worker.0, false, reason)
    }

    fn expire_now(ctx: &mut Ctx<'_>, r: JobRef) -> Result<(), ContractError> {
        Self::no_payment(ctx)?;
        let mut job = Self::load(&ctx.view(), r.job_id.0)?;
        if transition(job.status, Step::Expire).is_none()
            && transition(job.status, Step::NoAnswer).is_none()
        {
            return Err(Self::wrong(&job, "expire"));
        }
        let deadline = job
            .deadline
            .ok_or_else(|| corrupt(&job_key(job.id.0), "live job without deadline"))?;
        if ctx.tick() <= deadline {
            return Err(JobError::DeadlineNotPassed { deadline }.into());
        }
        if transition(job.status, Step::NoAnswer).is_some() {
            Self::no_answer(ctx, &mut job)?;
        } else {
            let caller = ctx.invocator();
            Self::expire(ctx, &mut job, Some(caller))?;
        }
        Ok(())
    }

    /// Handles one due deadline.
    fn on_deadline(&self, ctx: &mut Ctx<'_>, mut job: Job) -> Result<(), ContractError> {
        match job.status {
            JobStatus::Open | JobStatus::Running => Self::expire(ctx, &mut job, None),
            JobStatus::Assigned => Self::no_answer(ctx, &mut job),
            JobStatus::Completed => {
                let worker = self.pay(ctx, &mut job)?;
                Self::release_worker(ctx, &mut job, worker, Outcome::Finalized, None)?;
                Self::set_status(ctx, &mut job, Step::Finalize, JobStatus::Finalized)?;
                Self::save(ctx, &job)?;
                self.report_price(ctx, &job)?;
                ctx.emit(&JobEvent::Finalized {
                    job_id: job.id,
                    worker: WorkerId(worker),
                    paid: job.paid,
                    fee: job.fee,
                    refunded: job.refunded,
                });
                Ok(())
            }
            JobStatus::Checking => {
                let worker = self.pay(ctx, &mut job)?;
                Self::release_worker(ctx, &mut job, worker, Outcome::Unresolved, None)?;
                Self::set_status(ctx, &mut job, Step::CheckTimeout, JobStatus::Finalized)?;
                Self::save(ctx, &job)?;
                ctx.emit(&JobEvent::Verified {
                    job_id: job.id,
                    status: JobStatus::Finalized,
                    verdict: None,
                    forced: false,
                    paid: job.paid,
                    fee: job.fee,
                    refunded: job.refunded,
                    slashed: Amount::ZERO,
                });
                Ok(())
            }
            // Terminal jobs have no deadline; a stale entry is dropped.
            _ => {
                Self::set_deadline(ctx, &mut job, None)?;
                Self::save(ctx, &job)
            }
        }
    }

    fn process_deadlines(&self, ctx: &mut Ctx<'_>) -> Result<(), ContractError> {
        let now = ctx.tick();
        let upper = KeyBuf::table(T_DEADLINE).u32(now.0).u64(u64::MAX);
        let due = ctx.view().range(
            Bound::Included(&[T_DEADLINE][..]),
            Bound::Included(&upper[..]),
            self.config.max_settlements_per_tick as usize,
            false,
        );
        for key in due {
            let tick = key_u32(&key, 1).ok_or_else(|| corrupt(&key, "short deadline key"))?;
            let id = key_u64(&key, 5).ok_or_else(|| corrupt(&key, "short deadline key"))?;
            let job = Self::load(&ctx.view(), id)?;
            if job.deadline != Some(Tick(tick)) {
                // Invariant: a job's deadline entry matches its record; drop a stray one.
                ctx.remove_key(&key)?;
                continue;
            }
            self.on_deadline(ctx, job)?;
        }
        Ok(())
    }

    // --- matching ------------------------------------------------------------------------

    fn worker_version(view: &View<'_>) -> u64 {
        view.query(MATCH_VERSION, &()).unwrap_or(0)
    }

    fn matching_due(view: &View<'_>) -> Result<bool, ContractError> {
        let ms = Self::match_state(view)?;
        Ok(ms.cursor.is_some() || ms.dirty || Self::worker_version(view) != ms.seen_version)
    }

    /// [`JobRegistry::matching_due`], keeping what it read: the matcher's state, and the
    /// worker registry's version when it was asked for. `None` when no matching is due.
    fn matching_work(view: &View<'_>) -> Result<Option<(MatchState, Option<u64>)>, ContractError> {
        let ms = Self::match_state(view)?;
        if ms.cursor.is_some() || ms.dirty {
            return Ok(Some((ms, None)));
        }
        let version = Self::worker_version(view);
        Ok((version != ms.seen_version).then_some((ms, Some(version))))
    }

    /// One step of a matching pass: up to `max_matches_per_tick` open jobs after the cursor,
    /// oldest first, each offered to the best listed worker. `ms` is the matcher's stored
    /// state and `version` the worker registry's version, if already read.
    fn run_matching(
        &self,
        ctx: &mut Ctx<'_>,
        mut ms: MatchState,
        version: Option<u64>,
    ) -> Result<(), ContractError> {
        if ms.cursor.is_none() {
            ms = MatchState {
                dirty: false,
                cursor: Some(0),
                seen_version: match version {
                    Some(v) => v,
                    None => Self::worker_version(&ctx.view()),
                },
            };
        }
        let limit = self.config.max_matches_per_tick as usize;
        let prefix = KeyBuf::table(T_STATUS).u8(JobStatus::Open.code());
        let after = status_key(JobStatus::Open, ms.cursor.unwrap_or(0));
        let open = ctx.view().keys_with_prefix(&prefix, Some(&after), limit);
        let seed = ctx.seed();
        for key in &open {
            let id = key_u64(key, 2).ok_or_else(|| corrupt(key, "short status key"))?;
            ms.cursor = Some(id);
            let mut job = Self::load(&ctx.view(), id)?;
            let mut exclude = vec![job.requester];
            exclude.extend(job.excluded.iter().map(|w| w.0));
            let q = FindWorker {
                model: job.spec.model,
                max_price_per_1k: job.spec.max_price_per_1k,
                min_reputation: job.spec.min_reputation,
                exclude,
                tie_seed: job_seed(&seed, id),
            };
            let found: Option<Identity> = (ctx.view().query(FIND_WORKER, &q)?).map(|w| w.0);
            if let Some(worker) = found {
                // The registry found it eligible a moment ago; should the assignment still
                // be refused, its changes are undone and the job stays open.
                let _ = self.assign(ctx, &mut job, worker, false, None);
            }
        }
        if open.len() < limit {
            ms.cursor = None;
        }
        ctx.put(K_MATCH, &ms)
    }

    // --- functions -----------------------------------------------------------------------------

    fn page(
        view: &View<'_>,
        prefix: &[u8],
        cursor: Option<u64>,
        limit: u16,
    ) -> Result<JobPage, ContractError> {
        let limit = usize::from(limit.clamp(1, MAX_PAGE));
        let after = cursor.map(|c| {
            let mut k = prefix.to_vec();
            k.extend_from_slice(&c.to_be_bytes());
            k
        });
        let keys = view.keys_with_prefix(prefix, after.as_deref(), limit + 1);
        let more = keys.len() > limit;
        let mut jobs = Vec::with_capacity(limit.min(keys.len()));
        for key in keys.iter().take(limit) {
            let id = key_u64(key, prefix.len()).ok_or_else(|| corrupt(key, "short index key"))?;
            jobs.push(Self::load(view, id)?);
        }
        let next_cursor = if more {
            jobs.last().map(|j| j.id)
        } else {
            None
        };
        Ok(JobPage { jobs, next_cursor })
    }
}

// --- compute pools (issue 19): the settlement and slash hooks ---------------------------------
//
// A pool member's job is paid to the pools contract (index 3), which shares it out by the
// pool's rule; a slash on a member's job also reaches its pool's stakes. Kept here, apart,
// so that the settlement code above changes by one call at each point.
impl JobRegistry {
    /// Who the escrow vault pays for `worker`'s job: the pools contract when the worker is in
    /// a pool, the worker otherwise.
    fn pool_payee(view: &View<'_>, worker: WorkerId) -> Result<WorkerId, ContractError> {
        let member = view.query(crate::pools::MEMBER_OF, &worker)?;
        Ok(match member {
            Some(_) => WorkerId(Identity::contract(crate::pools::INDEX)),
            None => worker,
        })
    }

    /// After the vault paid the pools contract (`payee`), has the pool share the payment
    /// out. Undisputed jobs and passed checks count as verified work.
    fn settle_in_pool(
        ctx: &mut Ctx<'_>,
        job: &Job,
        worker: WorkerId,
        payee: WorkerId,
        output_tokens: u32,
    ) -> Result<(), ContractError> {
        if payee == worker {
            return Ok(());
        }
        let verified =
            job.status == JobStatus::Completed || job.verdict == Some(VerdictKind::Passed);
        let _: crate::pools::PoolSettlement = ctx.call(
            crate::pools::SETTLE_JOB,
            &crate::pools::SettleJob {
                job_id: job.id,
                worker,
                amount: job.paid,
                output_tokens,
                verified,
            },
            Amount::ZERO,
        )?;
        Ok(())
    }

    /// A slashing outcome (an expired delivery, a failed check) of a pool member's job
    /// also takes the pool's slash, paid to the requester.
    fn slash_in_pool(
        ctx: &mut Ctx<'_>,
        job: &Job,
        worker: Identity,
        outcome: Outcome,
    ) -> Result<(), ContractError> {
        if !matches!(outcome, Outcome::Expired | Outcome::CheckFailed) {
            return Ok(());
        }
        let worker = WorkerId(worker);
        if ctx
            .view()
            .query(crate::pools::MEMBER_OF, &worker)?
            .is_none()
        {
            return Ok(());
        }
        let _: crate::pools::PoolSlash = ctx.call(
            crate::pools::SLASH_MEMBER,
            &crate::pools::SlashMember {
                job_id: job.id,
                worker,
                to: job.requester,
            },
            Amount::ZERO,
        )?;
        Ok(())
    }
}

impl Contract for JobRegistry {
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
            .on(SUBMIT, |ctx, spec| self.submit(ctx, spec))
            .on(CLAIM, |ctx, r| self.claim(ctx, r))
            .on(START, |ctx, r| Self::start(ctx, r))
            .on(POST_RESULT, |ctx, p| self.post_result(ctx, p))
            .on(CANCEL, |ctx, r| Self::cancel(ctx, r))
            .on(FAIL, |ctx, g| Self::fail(ctx, g))
            .on(CHALLENGE, |ctx, r| self.challenge(ctx, r))
            .on(FORCE_VERDICT, |ctx, r| self.force_verdict(ctx, r))
            .on(EXPIRE, |ctx, r| Self::expire_now(ctx, r))
            .on(DECLINE, |ctx, g| Self::decline(ctx, g))
            .on(POST_LARGE_JOB, |ctx, spec| self.post_large_job(ctx, spec))
            .on(COMMIT_BID, |ctx, c| self.commit_bid(ctx, c))
            .on(REVEAL_BID, |ctx, r| Self::reveal_bid(ctx, r))
            .done()
    }
    fn function(&self, view: &View<'_>, input_type: u16, input: &[u8]) -> Output {
        dispatch_function(view, input_type, input)
            .on(GET_JOB, |view, r| view.get::<Job>(&job_key(r.job_id.0)))
            .on(JOBS_BY_STATUS, |view, q| {
                let prefix = KeyBuf::table(T_STATUS).u8(q.status.code());
                Self::page(view, &prefix, q.cursor.map(|j| j.0), q.limit)
            })
            .on(JOBS_BY_REQUESTER, |view, q| {
                let prefix = KeyBuf::table(T_REQUESTER).bytes32(&q.requester.0);
                Self::page(view, &prefix, q.cursor.map(|j| j.0), q.limit)
            })
            .on(JOBS_BY_WORKER, |view, q| {
                let prefix = KeyBuf::table(T_WORKER).bytes32(&q.worker.0 .0);
                Self::page(view, &prefix, q.cursor.map(|j| j.0), q.limit)
            })
            .on(JOB_ESCROW, |view, r| {
                view.query(GET_JOB_ESCROW, &JobEscrowQuery { job_id: r.job_id })
            })
            .on(NETWORK_STATS, |view, ()| {
                Ok(NetworkStats {
                    jobs: Self::counters(view)?,
                    escrow: view.query(TOTALS, &())?,
                    workers: view.query(WORKER_STATS, &())?,
                })
            })
            .on(QUOTE, |_, q| {
                Ok(required_escrow(q.max_output_tokens, q.max_price_per_1k)
                    .map(|a| a.max(Amount(1))))
            })
            .on(GET_LARGE_JOB, Self::get_large_job)
            .on(OPEN_LARGE_JOBS, Self::open_large_jobs)
            .on(LARGE_JOB_STATS, |view, ()| Self::large_job_stats(view))
            .done()
    }
    fn end_tick(&self, ctx: &mut Ctx<'_>) -> Result<(), ContractError> {
        if self.verdicts_pending(&ctx.view()) {
            self.apply_verdicts(ctx)?;
        }
        let now = ctx.tick();
        let first_due = ctx
            .view()
            .first_with_prefix_map(&[T_DEADLINE], |k| key_u32(k, 1))
            .flatten();
        if first_due.is_some_and(|t| t <= now.0) {
            self.process_deadlines(ctx)?;
        }
        if Self::awards_due(&ctx.view(), now) {
            self.close_auctions(ctx)?;
        }
        if let Some((ms, version)) = Self::matching_work(&ctx.view())? {
            self.run_matching(ctx, ms, version)?;
        }
        Ok(())
    }
    fn has_begin_tick(&self) -> bool {
        false
    }
    fn epoch_work(&self, _view: &View<'_>) -> bool {
        false
    }
    fn next_tick_work(&self, view: &View<'_>) -> TickWork {
        if self.verdicts_pending(view) {
            return TickWork::At(view.tick());
        }
        match Self::matching_due(view) {
            Ok(true) | Err(_) => return TickWork::At(view.tick()),
            Ok(false) => {}
        }
        let deadline = view
            .first_with_prefix_map(&[T_DEADLINE], |k| key_u32(k, 1))
            .flatten()
            .map(Tick);
        match (deadline, Self::next_award(view)) {
            (Some(a), Some(b)) => TickWork::At(a.min(b)),
            (Some(t), None) | (None, Some(t)) => TickWork::At(t),
            (None, None) => TickWork::Idle,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_follow_all() {
        for (i, s) in JobStatus::ALL.iter().enumerate() {
            assert_eq!(usize::from(s.code()), i);
        }
        assert_eq!(JobStatus::ALL.iter().filter(|s| s.is_terminal()).count(), 5);
    }

    /// The module docs' table and [`MOVES`] say the same, row for row: every (from, step, to)
    /// of one is in the other.
    #[test]
    fn the_docs_table_mirrors_the_moves() {
        use std::collections::BTreeSet;
        let src = include_str!("mod.rs");
        let status = |w: &str| JobStatus::ALL.into_iter().find(|s| s.name() == w);
        let step = |w: &str| Step::ALL.into_iter().find(|s| format!("{s:?}") == w);
        let mut documented = BTreeSet::new();
        for line in src.lines().take_while(|l| l.starts_with("//!")) {
            let cols: Vec<&str> = line.trim_start_matches("//!").split('|').collect();
            if cols.len() < 5 || cols[1].trim() == "from" || cols[1].contains("---") {
                continue;
            }
            let from = status(cols[1].trim());
            let steps: Vec<Step> = cols[2]
                .split('`')
                .skip(1)
                .step_by(2)
                .filter_map(step)
                .collect();
            let tos: Vec<JobStatus> = cols[3]
                .split(|c: char| !c.is_alphanumeric())
                .filter_map(status)
                .collect();
            assert!(
                !steps.is_empty() && !tos.is_empty(),
                "unreadable row: {line}"
            );
            for st in &steps {
                for to in &tos {
                    documented.insert((from, *st, *to));
                }
            }
        }
        let coded: BTreeSet<_> = MOVES
            .iter()
            .flat_map(|(f, s, to)| to.iter().map(move |t| (*f, *s, *t)))
            .collect();
        assert_eq!(documented, coded);
        // Every step appears, and nothing leaves a terminal status.
        for s in Step::ALL {
            assert!(MOVES.iter().any(|(_, m, _)| *m == s), "{s:?}");
        }
        for st in JobStatus::ALL.into_iter().filter(|s| s.is_terminal()) {
            assert!(Step::ALL.into_iter().all(|s| transition(st, s).is_none()));
        }
    }

    #[test]
    fn counters_keep_only_statuses_with_jobs() {
        let mut c = JobCounters::default();
        c.bump(JobStatus::Running, true);
        c.bump(JobStatus::Open, true);
        c.bump(JobStatus::Open, true);
        assert_eq!(c.count(JobStatus::Open), 2);
        assert_eq!(
            c.by_status,
            vec![(JobStatus::Open, 2), (JobStatus::Running, 1)]
        );
        c.bump(JobStatus::Running, false);
        c.bump(JobStatus::Failed, false);
        assert_eq!(c.by_status, vec![(JobStatus::Open, 2)]);
        assert_eq!(c.count(JobStatus::Failed), 0);
    }

    #[test]
    fn keys_fit() {
        let max = comqute_qpi::contract::MAX_KEY_LEN;
        assert!(requester_key(&Identity::NULL, u64::MAX).len() <= max);
        assert!(worker_key(&Identity::NULL, u64::MAX).len() <= max);
        assert!(deadline_key(Tick(u32::MAX), u64::MAX).len() <= max);
    }

    #[test]
    fn errors_carry_their_names_and_codes() {
        let e: ContractError = JobError::WrongStatus {
            job_id: JobId(1),
            status: JobStatus::Open,
            action: "start",
        }
        .into();
        assert_eq!(e.rejected_name(), Some("WrongStatus"));
        assert_eq!(e.code(), Some(401));
    }
}

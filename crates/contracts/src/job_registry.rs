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
//! | Running | `PostResult`: [`POST_RESULT`] (its worker) | Completed | — |
//! | Running | `Fail`: [`FAIL`] (its worker) | Open the first time, Failed the second | —, full refund |
//! | Running | `Expire`: delivery deadline passed (END_TICK, or [`EXPIRE`]) | Expired | full refund; the worker is slashed |
//! | Completed | `Finalize`: end of the challenge window (END_TICK) | Finalized | worker paid, rest refunded |
//! | Completed | `Dispute`: [`DISPUTE`] (requester, within the window) | Disputed | — |
//! | Disputed | `Resolve`: [`RESOLVE`] (the resolver) | Resolved | worker wins: paid; requester wins: full refund and slash |
//! | Disputed | `DisputeTimeout`: the dispute timeout (END_TICK) | Resolved | worker paid (the result stands) |
//!
//! ## The fair-deadline rule
//! A worker is only ever slashed for a deadline **it accepted**. An assignment is an offer:
//! the worker has [`MarketConfig::accept_ticks`] ticks to START (which fixes its delivery
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
//!   [`MarketConfig::max_matches_per_tick`] open jobs per tick and carries over; a new pass
//!   starts whenever a job opens or a listed worker changes. A worker may also [`CLAIM`] one
//!   open job it names.
//! - **Deadlines**: each live job has one deadline in an ordered index: an open job's expiry
//!   (`timeout_ticks` after it opened), an assigned job's answer deadline (`accept_ticks`
//!   after the assignment), a running job's delivery deadline (`timeout_ticks` after START),
//!   a completed job's end of challenge window, a disputed job's resolution timeout.
//!   END_TICK handles due deadlines, at most [`MarketConfig::max_settlements_per_tick`] per
//!   tick, oldest first; the rest carry over. A result posted in the deadline's own tick is
//!   in time (transactions run before END_TICK); a dispute is accepted up to and including
//!   the window's last tick.
//! - **Money**: on finalization the worker gets `output_tokens × price_per_1k / 1000` (its
//!   price, fixed at assignment), never more than the escrow; the requester gets the rest.
//!   Cancel, expiry, a job given up twice (or turned down three times) and a lost dispute
//!   refund the requester in full; the expiry of a started job and a lost dispute also slash
//!   the worker's stake.
//! - **Why**: a job that failed, expired or was turned down says why in [`Job::reason`] (the
//!   worker's own words for DECLINE and FAIL).
//! - **Callers**: only the requester cancels or disputes, only the assigned worker starts,
//!   declines, posts or fails, only the genesis resolver resolves; anyone may [`EXPIRE`] a
//!   job whose deadline has passed (and, as challenger, gets a share of a slash). A wrong
//!   caller gets a typed error and nothing changes.

use std::ops::Bound;

use borsh::{BorshDeserialize, BorshSerialize};
use serde::Serialize;
use thiserror::Error;

use crate::error::ContractError;
use crate::escrow::{
    EscrowTotals, JobEscrow, JobEscrowQuery, LockJob, RefundJob, ReleaseJob, GET_JOB_ESCROW,
    LOCK_JOB, REFUND_JOB, RELEASE_JOB, TOTALS,
};
use crate::marketplace::{
    payment, rejected_errors, required_escrow, MarketConfig, ESCROW, JOB_REGISTRY, MAX_PAGE,
    MAX_REPUTATION, MAX_TEMPERATURE_MILLI, WORKER_REGISTRY,
};
use crate::primitives::{Amount, ContractIndex, Hash32, Identity, Tick, MAX_AMOUNT};
use crate::qpi::{decode_input, encode, key_u32, key_u64, Contract, Ctx, KeyBuf, TickWork, View};
use crate::worker_registry::{
    Assign, Assignment, FindWorker, Outcome, Release, ReleaseOutcome, WorkerStats, ASSIGN,
    FIND_WORKER, MATCH_VERSION, RELEASE, WORKER_STATS,
};

/// Procedure 1: submit a job, [`JobSpec`]; the invocation reward is the escrow. Output: the
/// job id (`u64`, from 1).
pub const SUBMIT: u16 = 1;
/// Procedure 2: a worker claims one open job, [`JobRef`].
pub const CLAIM: u16 = 2;
/// Procedure 3: the assigned worker starts, [`JobRef`] (Assigned → Running).
pub const START: u16 = 3;
/// Procedure 4: the assigned worker posts the result, [`PostResult`] (Running → Completed).
pub const POST_RESULT: u16 = 4;
/// Procedure 5: the requester cancels an open job, [`JobRef`]: full refund.
pub const CANCEL: u16 = 5;
/// Procedure 6: the assigned worker gives a started job up, [`GiveUp`]: the job reopens
/// once, then is refunded. (On a job not started yet it is a [`DECLINE`].)
pub const FAIL: u16 = 6;
/// Procedure 7: the requester disputes a result within the challenge window, [`JobRef`].
pub const DISPUTE: u16 = 7;
/// Procedure 8: the resolver settles a dispute, [`Resolve`].
pub const RESOLVE: u16 = 8;
/// Procedure 9: anyone expires a job whose deadline has passed (normally END_TICK does it
/// first), [`JobRef`]; the caller is the challenger of any slash.
pub const EXPIRE: u16 = 9;
/// Procedure 10: the assigned worker turns down a job it has not started, [`GiveUp`]: free
/// of charge; the job reopens for other workers.
pub const DECLINE: u16 = 10;

/// The longest reason a worker gives for DECLINE or FAIL, in bytes.
pub const MAX_REASON: usize = 200;
/// The most workers that may turn a job down or give it up before it ends Failed.
pub const MAX_TURNED_DOWN: usize = 3;

/// Function 1: one job, [`JobRef`] → `Option<Job>`.
pub const GET_JOB: u16 = 1;
/// Function 2: jobs in a status, [`JobsByStatus`] → [`JobPage`].
pub const JOBS_BY_STATUS: u16 = 2;
/// Function 3: a requester's jobs, [`JobsByRequester`] → [`JobPage`].
pub const JOBS_BY_REQUESTER: u16 = 3;
/// Function 4: jobs a worker holds or held, [`JobsByWorker`] → [`JobPage`].
pub const JOBS_BY_WORKER: u16 = 4;
/// Function 5: a job's escrow account, [`JobRef`] → `Option<JobEscrow>`.
pub const JOB_ESCROW: u16 = 5;
/// Function 6: `()` → [`NetworkStats`].
pub const NETWORK_STATS: u16 = 6;
/// Function 7: the least escrow for a job, [`EscrowQuote`] → `Option<Amount>`.
pub const QUOTE: u16 = 7;

/// Sampling settings, fixed by the requester so a verifier can replay the job.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize,
)]
#[serde(rename_all = "camelCase")]
pub struct Sampling {
    /// The sampler's seed.
    pub seed: u64,
    /// Temperature in thousandths (700 = 0.7), at most [`MAX_TEMPERATURE_MILLI`].
    pub temperature_milli: u16,
}

/// What a requester asks for. Input of [`SUBMIT`].
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobSpec {
    /// Model id ([`crate::marketplace::model_id`] of its name).
    pub model: Hash32,
    /// blake3 of the prompt (stored off-chain); not zero.
    pub prompt_hash: Hash32,
    /// The prompt's size in bytes.
    pub prompt_size: u32,
    /// The most output tokens paid for.
    pub max_output_tokens: u32,
    /// The highest price per 1,000 output tokens accepted; positive.
    pub max_price_per_1k: Amount,
    /// Ticks an open job waits for a worker, and ticks an assigned worker has to deliver.
    pub timeout_ticks: u32,
    /// The least worker reputation accepted.
    pub min_reputation: u16,
    /// Sampling settings.
    pub sampling: Sampling,
}

/// A job id. Input of most procedures and of [`GET_JOB`] and [`JOB_ESCROW`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct JobRef {
    /// The job.
    pub job_id: u64,
}

/// What the worker delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobResult {
    /// blake3 of the output (stored off-chain); not zero.
    pub result_hash: Hash32,
    /// Output tokens produced (at most the job's maximum); the payment follows them.
    pub output_tokens: u32,
    /// Fingerprint of the runtime that produced it (engine, version, model digest,
    /// sampling); zero until a later issue fills it.
    pub runtime: Hash32,
}

/// Input of [`FAIL`] and [`DECLINE`].
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GiveUp {
    /// The job.
    pub job_id: u64,
    /// Why, for the requester (UTF-8, at most [`MAX_REASON`] bytes).
    pub reason: String,
}

/// Input of [`POST_RESULT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct PostResult {
    /// The job.
    pub job_id: u64,
    /// The result.
    pub result: JobResult,
}

/// Input of [`RESOLVE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct Resolve {
    /// The job.
    pub job_id: u64,
    /// `true`: the result stands and the worker is paid; `false`: the requester is refunded
    /// and the worker slashed.
    pub worker_wins: bool,
}

/// Input of [`JOBS_BY_STATUS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct JobsByStatus {
    /// The status.
    pub status: JobStatus,
    /// Start after this job id (`None`: from the first).
    pub cursor: Option<u64>,
    /// At most this many (capped at [`MAX_PAGE`]).
    pub limit: u16,
}

/// Input of [`JOBS_BY_REQUESTER`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct JobsByRequester {
    /// The requester.
    pub requester: Identity,
    /// Start after this job id.
    pub cursor: Option<u64>,
    /// At most this many (capped at [`MAX_PAGE`]).
    pub limit: u16,
}

/// Input of [`JOBS_BY_WORKER`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct JobsByWorker {
    /// The worker.
    pub worker: Identity,
    /// Start after this job id.
    pub cursor: Option<u64>,
    /// At most this many (capped at [`MAX_PAGE`]).
    pub limit: u16,
}

/// Output of the paged job functions, ascending by id.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobPage {
    /// The jobs.
    pub jobs: Vec<Job>,
    /// Pass as `cursor` for the next page; `None` when this was the last.
    pub next_cursor: Option<u64>,
}

/// Input of [`QUOTE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct EscrowQuote {
    /// The job's output token maximum.
    pub max_output_tokens: u32,
    /// The job's price ceiling.
    pub max_price_per_1k: Amount,
}

/// A job's status.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, BorshSerialize, BorshDeserialize, Serialize,
)]
pub enum JobStatus {
    /// Waiting for a worker.
    Open,
    /// A worker took it.
    Assigned,
    /// The worker started.
    Running,
    /// A result is posted; the challenge window runs.
    Completed,
    /// Paid out. Terminal.
    Finalized,
    /// Cancelled by the requester while open; refunded. Terminal.
    Cancelled,
    /// Its deadline passed; refunded (the worker, if any, slashed). Terminal.
    Expired,
    /// Given up twice; refunded. Terminal.
    Failed,
    /// Disputed by the requester; waits for the resolver.
    Disputed,
    /// Dispute settled. Terminal.
    Resolved,
}

impl JobStatus {
    /// Every status, in code order.
    pub const ALL: [JobStatus; 10] = [
        JobStatus::Open,
        JobStatus::Assigned,
        JobStatus::Running,
        JobStatus::Completed,
        JobStatus::Finalized,
        JobStatus::Cancelled,
        JobStatus::Expired,
        JobStatus::Failed,
        JobStatus::Disputed,
        JobStatus::Resolved,
    ];
    /// Its one-byte code (its position in [`JobStatus::ALL`]), used in index keys.
    pub fn code(self) -> u8 {
        match self {
            JobStatus::Open => 0,
            JobStatus::Assigned => 1,
            JobStatus::Running => 2,
            JobStatus::Completed => 3,
            JobStatus::Finalized => 4,
            JobStatus::Cancelled => 5,
            JobStatus::Expired => 6,
            JobStatus::Failed => 7,
            JobStatus::Disputed => 8,
            JobStatus::Resolved => 9,
        }
    }
    /// Whether nothing more can happen to the job.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobStatus::Finalized
                | JobStatus::Cancelled
                | JobStatus::Expired
                | JobStatus::Failed
                | JobStatus::Resolved
        )
    }
    /// Its name, as the CLI shows it.
    pub fn name(self) -> &'static str {
        match self {
            JobStatus::Open => "Open",
            JobStatus::Assigned => "Assigned",
            JobStatus::Running => "Running",
            JobStatus::Completed => "Completed",
            JobStatus::Finalized => "Finalized",
            JobStatus::Cancelled => "Cancelled",
            JobStatus::Expired => "Expired",
            JobStatus::Failed => "Failed",
            JobStatus::Disputed => "Disputed",
            JobStatus::Resolved => "Resolved",
        }
    }
}

/// What moves a job from one status to another: a procedure, or what END_TICK (or
/// [`EXPIRE`]) does at a deadline. The module docs' table lists every allowed move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    /// [`SUBMIT`].
    Submit,
    /// [`CLAIM`].
    Claim,
    /// The END_TICK matcher's assignment.
    Match,
    /// [`CANCEL`].
    Cancel,
    /// A deadline passed on an open or running job.
    Expire,
    /// [`START`].
    Start,
    /// [`DECLINE`], or [`FAIL`] of a job not started.
    Decline,
    /// An offer left unanswered past `accept_ticks`.
    NoAnswer,
    /// [`POST_RESULT`].
    PostResult,
    /// [`FAIL`] of a running job.
    Fail,
    /// The end of the challenge window.
    Finalize,
    /// [`DISPUTE`].
    Dispute,
    /// [`RESOLVE`].
    Resolve,
    /// A dispute left unresolved past its timeout.
    DisputeTimeout,
}

impl Step {
    /// Every step, in declaration order.
    pub const ALL: [Step; 14] = [
        Step::Submit,
        Step::Claim,
        Step::Match,
        Step::Cancel,
        Step::Expire,
        Step::Start,
        Step::Decline,
        Step::NoAnswer,
        Step::PostResult,
        Step::Fail,
        Step::Finalize,
        Step::Dispute,
        Step::Resolve,
        Step::DisputeTimeout,
    ];
}

/// Every allowed move: (from, step, the statuses it may lead to). `None` is "no job yet".
pub const MOVES: &[(Option<JobStatus>, Step, &[JobStatus])] = {
    use JobStatus as S;
    &[
        (None, Step::Submit, &[S::Open]),
        (Some(S::Open), Step::Claim, &[S::Assigned]),
        (Some(S::Open), Step::Match, &[S::Assigned]),
        (Some(S::Open), Step::Cancel, &[S::Cancelled]),
        (Some(S::Open), Step::Expire, &[S::Expired]),
        (Some(S::Assigned), Step::Start, &[S::Running]),
        (Some(S::Assigned), Step::Decline, &[S::Open, S::Failed]),
        (Some(S::Assigned), Step::NoAnswer, &[S::Open, S::Failed]),
        (Some(S::Running), Step::PostResult, &[S::Completed]),
        (Some(S::Running), Step::Fail, &[S::Open, S::Failed]),
        (Some(S::Running), Step::Expire, &[S::Expired]),
        (Some(S::Completed), Step::Finalize, &[S::Finalized]),
        (Some(S::Completed), Step::Dispute, &[S::Disputed]),
        (Some(S::Disputed), Step::Resolve, &[S::Resolved]),
        (Some(S::Disputed), Step::DisputeTimeout, &[S::Resolved]),
    ]
};

/// The statuses `step` may take a job in `from` to; `None` when the step does not apply.
pub fn transition(from: JobStatus, step: Step) -> Option<&'static [JobStatus]> {
    MOVES
        .iter()
        .find(|(f, s, _)| *f == Some(from) && *s == step)
        .map(|(_, _, to)| *to)
}

/// A job's record.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    /// Its id.
    pub id: u64,
    /// Who submitted and paid.
    pub requester: Identity,
    /// What was asked for.
    pub spec: JobSpec,
    /// The escrow locked.
    pub escrow: Amount,
    /// Where it stands.
    pub status: JobStatus,
    /// The worker holding it (or that held it last, once terminal); `None` while open.
    pub worker: Option<Identity>,
    /// The worker's price, fixed at assignment.
    pub price_per_1k: Amount,
    /// Submission tick.
    pub submitted_at: Tick,
    /// Last assignment tick.
    pub assigned_at: Option<Tick>,
    /// Start tick.
    pub started_at: Option<Tick>,
    /// Result tick.
    pub completed_at: Option<Tick>,
    /// The pending deadline (expiry, end of the challenge window, dispute timeout); `None`
    /// once terminal.
    pub deadline: Option<Tick>,
    /// The result, once posted.
    pub result: Option<JobResult>,
    /// Times a worker gave it up after starting.
    pub failures: u8,
    /// Workers that declined it, left it unanswered or gave it up (at most
    /// [`MAX_TURNED_DOWN`]); never offered it again.
    pub excluded: Vec<Identity>,
    /// Why it last reopened or ended badly: a worker's reason, or what the chain saw.
    pub reason: Option<String>,
    /// Paid to the worker.
    pub paid: Amount,
    /// Refunded to the requester.
    pub refunded: Amount,
    /// Slashed from the worker over this job.
    pub slashed: Amount,
    /// The tick it became terminal.
    pub closed_at: Option<Tick>,
}

/// Job counts and money totals, part of [`NetworkStats`].
#[derive(Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobCounters {
    /// Jobs ever submitted.
    pub submitted: u64,
    /// Jobs in each status that has any, ascending by status.
    pub by_status: Vec<(JobStatus, u64)>,
    /// Escrow held now for live jobs.
    pub total_escrowed: Amount,
    /// Ever paid to workers.
    pub total_paid: Amount,
    /// Ever refunded to requesters.
    pub total_refunded: Amount,
    /// Ever slashed from workers over jobs.
    pub total_slashed: Amount,
}

impl JobCounters {
    /// Jobs in `status`.
    pub fn count(&self, status: JobStatus) -> u64 {
        self.by_status
            .iter()
            .find(|(s, _)| *s == status)
            .map_or(0, |(_, n)| *n)
    }

    /// One job more (`up`) or fewer in `status`; a count that reaches zero is dropped.
    fn bump(&mut self, status: JobStatus, up: bool) {
        match self.by_status.binary_search_by(|(s, _)| s.cmp(&status)) {
            Ok(i) => {
                let n = &mut self.by_status[i].1;
                *n = if up { *n + 1 } else { n.saturating_sub(1) };
                if *n == 0 {
                    self.by_status.remove(i);
                }
            }
            Err(i) if up => self.by_status.insert(i, (status, 1)),
            Err(_) => {}
        }
    }
}

/// Output of [`NETWORK_STATS`].
#[derive(Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkStats {
    /// Jobs per status and money totals.
    pub jobs: JobCounters,
    /// The vault's totals.
    pub escrow: EscrowTotals,
    /// Worker counts, online included.
    pub workers: WorkerStats,
}

/// The matcher's progress, carried from tick to tick.
#[derive(Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
struct MatchState {
    /// A job opened since the current pass started.
    dirty: bool,
    /// The pass in progress: the last job id examined (0 at the start).
    cursor: Option<u64>,
    /// The worker registry's match version when the pass started.
    seen_version: u64,
}

/// Job registry events, enough for an indexer to rebuild every [`Job`] record (the event's
/// tick is the time of the change).
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub enum JobEvent {
    /// A job was submitted (status Open).
    Submitted {
        /// The job.
        job_id: u64,
        /// Who paid.
        requester: Identity,
        /// What was asked.
        spec: JobSpec,
        /// Escrow locked.
        escrow: Amount,
        /// Its expiry if nobody takes it.
        deadline: Tick,
    },
    /// A worker took the job (status Assigned).
    Assigned {
        /// The job.
        job_id: u64,
        /// The worker.
        worker: Identity,
        /// Its price, fixed for the job.
        price_per_1k: Amount,
        /// The delivery deadline.
        deadline: Tick,
        /// `true` for an explicit claim, `false` for an END_TICK match.
        claimed: bool,
    },
    /// The worker started (status Running), accepting the delivery deadline.
    Started {
        /// The job.
        job_id: u64,
        /// The worker.
        worker: Identity,
        /// The delivery deadline.
        deadline: Tick,
    },
    /// The worker turned the offer down, or did not answer it in time: reopened (status
    /// Open) or, after [`MAX_TURNED_DOWN`] workers, refunded (status Failed).
    Declined {
        /// The job.
        job_id: u64,
        /// The worker.
        worker: Identity,
        /// `false` when the worker did not answer within `accept_ticks`.
        answered: bool,
        /// Why.
        reason: String,
        /// Whether the job reopened.
        reopened: bool,
        /// The new expiry when reopened.
        deadline: Option<Tick>,
        /// Refunded when not reopened.
        refunded: Amount,
    },
    /// A result was posted (status Completed).
    ResultPosted {
        /// The job.
        job_id: u64,
        /// The worker.
        worker: Identity,
        /// The result.
        result: JobResult,
        /// The last tick of the challenge window.
        challenge_ends: Tick,
    },
    /// Paid out after the challenge window (status Finalized).
    Finalized {
        /// The job.
        job_id: u64,
        /// The worker.
        worker: Identity,
        /// Paid to the worker.
        paid: Amount,
        /// Refunded to the requester.
        refunded: Amount,
    },
    /// Cancelled by the requester (status Cancelled).
    Cancelled {
        /// The job.
        job_id: u64,
        /// Refunded.
        refunded: Amount,
    },
    /// The deadline passed (status Expired).
    Expired {
        /// The job.
        job_id: u64,
        /// The worker that started it and missed its delivery deadline, if any (slashed).
        worker: Option<Identity>,
        /// What happened, in words.
        reason: String,
        /// Refunded to the requester.
        refunded: Amount,
        /// Slashed from the worker.
        slashed: Amount,
        /// Who triggered it, if not END_TICK.
        challenger: Option<Identity>,
    },
    /// The worker gave up: reopened (status Open) or refunded (status Failed).
    Failed {
        /// The job.
        job_id: u64,
        /// The worker that gave up (never assigned this job again).
        worker: Identity,
        /// Its reason.
        reason: String,
        /// Whether the job reopened.
        reopened: bool,
        /// The new expiry when reopened.
        deadline: Option<Tick>,
        /// Refunded when not reopened.
        refunded: Amount,
    },
    /// The requester disputed the result (status Disputed).
    Disputed {
        /// The job.
        job_id: u64,
        /// The dispute timeout.
        resolve_by: Tick,
    },
    /// The dispute was settled (status Resolved).
    Resolved {
        /// The job.
        job_id: u64,
        /// The verdict (`true` also when the timeout let the result stand).
        worker_wins: bool,
        /// Settled by the timeout, not the resolver.
        by_timeout: bool,
        /// Paid to the worker.
        paid: Amount,
        /// Refunded to the requester.
        refunded: Amount,
        /// Slashed from the worker.
        slashed: Amount,
    },
}

/// Why the job registry refused a call. Codes 400–499. (Eligibility errors from an
/// assignment come through unchanged from the worker registry, codes 200–299.)
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum JobError {
    /// No such job.
    #[error("no job {0}")]
    UnknownJob(u64),
    /// The job's status does not allow the action.
    #[error("job {job_id} is {}: cannot {action}", status.name())]
    WrongStatus {
        /// The job.
        job_id: u64,
        /// Its status.
        status: JobStatus,
        /// What was tried.
        action: &'static str,
    },
    /// Only the requester may do this.
    #[error("only the job's requester may do this")]
    NotRequester,
    /// Only the assigned worker may do this.
    #[error("only the job's assigned worker may do this")]
    NotAssignedWorker,
    /// Only the resolver may do this.
    #[error("only the resolver may resolve disputes")]
    NotResolver,
    /// The escrow does not cover the job's maximum cost.
    #[error("escrow {got} does not cover {needed}")]
    InsufficientEscrow {
        /// At least this.
        needed: Amount,
        /// Offered.
        got: Amount,
    },
    /// A bad job specification.
    #[error("invalid job: {0}")]
    InvalidSpec(String),
    /// A bad result.
    #[error("invalid result: {0}")]
    InvalidResult(String),
    /// The challenge window is over.
    #[error("the challenge window ended at tick {ended}")]
    WindowClosed {
        /// Its last tick.
        ended: Tick,
    },
    /// Expire before the deadline passed.
    #[error("the deadline, tick {deadline}, has not passed")]
    DeadlineNotPassed {
        /// The deadline.
        deadline: Tick,
    },
    /// A requester may not serve its own job.
    #[error("a requester may not take its own job")]
    SelfDealing,
    /// The worker gave this job up before.
    #[error("this worker gave the job up before")]
    ExcludedWorker,
    /// Money sent to a procedure that takes none.
    #[error("procedure takes no payment, got {0}")]
    UnexpectedPayment(Amount),
    /// A reason that is too long.
    #[error("a reason is at most {MAX_REASON} bytes, got {0}")]
    ReasonTooLong(usize),
}

rejected_errors!(JobError {
    UnknownJob = 400,
    WrongStatus = 401,
    NotRequester = 402,
    NotAssignedWorker = 403,
    NotResolver = 404,
    InsufficientEscrow = 405,
    InvalidSpec = 406,
    InvalidResult = 407,
    WindowClosed = 408,
    DeadlineNotPassed = 409,
    SelfDealing = 410,
    ExcludedWorker = 411,
    UnexpectedPayment = 412,
    ReasonTooLong = 413,
});

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
    config: MarketConfig,
}

impl JobRegistry {
    /// The registry with these genesis settings.
    pub fn new(config: MarketConfig) -> Self {
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
                &job_key(job.id),
                &format!(
                    "no move {step:?} from {} to {}",
                    job.status.name(),
                    to.name()
                ),
            ));
        }
        let mut c = Self::counters(&ctx.view())?;
        ctx.remove_key(&status_key(job.status, job.id))?;
        ctx.insert_key(&status_key(to, job.id))?;
        c.bump(job.status, false);
        c.bump(to, true);
        if to.is_terminal() && !job.status.is_terminal() {
            Self::set_deadline(ctx, job, None)?;
            job.closed_at = Some(ctx.tick());
            c.total_escrowed = Amount(c.total_escrowed.0 - job.escrow.0);
            c.total_paid = Amount(c.total_paid.0 + job.paid.0);
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
            ctx.remove_key(&deadline_key(old, job.id))?;
        }
        if let Some(new) = to {
            ctx.insert_key(&deadline_key(new, job.id))?;
        }
        job.deadline = to;
        Ok(())
    }

    fn save(ctx: &mut Ctx<'_>, job: &Job) -> Result<(), ContractError> {
        ctx.put(&job_key(job.id), job)
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
            Some(w) if w == caller => Ok(w),
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
        let _: JobEscrow = ctx.call(
            ESCROW,
            REFUND_JOB,
            &RefundJob { job_id: job.id },
            Amount::ZERO,
        )?;
        job.refunded = job.escrow;
        Ok(())
    }

    /// Pays the worker for the posted result, refunding the rest.
    fn pay(ctx: &mut Ctx<'_>, job: &mut Job) -> Result<Identity, ContractError> {
        let key = job_key(job.id);
        let worker = job
            .worker
            .ok_or_else(|| corrupt(&key, "completed job without worker"))?;
        let result = job
            .result
            .ok_or_else(|| corrupt(&key, "completed job without result"))?;
        let amount = payment(result.output_tokens, job.price_per_1k, job.escrow);
        let _: JobEscrow = ctx.call(
            ESCROW,
            RELEASE_JOB,
            &ReleaseJob {
                job_id: job.id,
                worker,
                amount,
            },
            Amount::ZERO,
        )?;
        job.paid = amount;
        job.refunded = Amount(job.escrow.0 - amount.0);
        Ok(worker)
    }

    fn release_worker(
        ctx: &mut Ctx<'_>,
        job: &mut Job,
        worker: Identity,
        outcome: Outcome,
        challenger: Option<Identity>,
    ) -> Result<Amount, ContractError> {
        let earned = match outcome {
            Outcome::Finalized | Outcome::DisputeWon | Outcome::Unresolved => job.paid,
            _ => Amount::ZERO,
        };
        let out: ReleaseOutcome = ctx.call(
            WORKER_REGISTRY,
            RELEASE,
            &Release {
                worker,
                job_id: job.id,
                outcome,
                requester: job.requester,
                challenger,
                earned,
            },
            Amount::ZERO,
        )?;
        job.slashed = Amount(job.slashed.0 + out.slash.slashed.0);
        Ok(out.slash.slashed)
    }

    fn assign(
        &self,
        ctx: &mut Ctx<'_>,
        job: &mut Job,
        worker: Identity,
        claimed: bool,
    ) -> Result<(), ContractError> {
        let a: Assignment = ctx.call(
            WORKER_REGISTRY,
            ASSIGN,
            &Assign {
                worker,
                job_id: job.id,
                model: job.spec.model,
                max_price_per_1k: job.spec.max_price_per_1k,
                min_reputation: job.spec.min_reputation,
            },
            Amount::ZERO,
        )?;
        let now = ctx.tick();
        // The offer: START (accepting the delivery deadline) or DECLINE by then.
        let deadline = now.plus(self.config.accept_ticks);
        job.worker = Some(worker);
        job.price_per_1k = a.price_per_1k;
        job.assigned_at = Some(now);
        job.started_at = None;
        let step = if claimed { Step::Claim } else { Step::Match };
        Self::set_status(ctx, job, step, JobStatus::Assigned)?;
        Self::set_deadline(ctx, job, Some(deadline))?;
        ctx.insert_key(&worker_key(&worker, job.id))?;
        Self::save(ctx, job)?;
        ctx.emit(&JobEvent::Assigned {
            job_id: job.id,
            worker,
            price_per_1k: a.price_per_1k,
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

    fn submit(&self, ctx: &mut Ctx<'_>, spec: JobSpec) -> Result<Vec<u8>, ContractError> {
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
            ESCROW,
            LOCK_JOB,
            &LockJob {
                job_id: id,
                requester,
            },
            escrow,
        )?;
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
            refunded: Amount::ZERO,
            slashed: Amount::ZERO,
            closed_at: None,
        };
        ctx.insert_key(&status_key(JobStatus::Open, id))?;
        ctx.insert_key(&requester_key(&requester, id))?;
        ctx.insert_key(&deadline_key(deadline, id))?;
        Self::save(ctx, &job)?;
        let mut c = Self::counters(&ctx.view())?;
        c.submitted += 1;
        c.bump(JobStatus::Open, true);
        c.total_escrowed = Amount(c.total_escrowed.0 + escrow.0);
        ctx.put(K_COUNTERS, &c)?;
        Self::mark_dirty(ctx)?;
        ctx.emit(&JobEvent::Submitted {
            job_id: id,
            requester,
            spec,
            escrow,
            deadline,
        });
        Ok(encode(&id))
    }

    fn claim(&self, ctx: &mut Ctx<'_>, r: JobRef) -> Result<Vec<u8>, ContractError> {
        Self::no_payment(ctx)?;
        let mut job = Self::load(&ctx.view(), r.job_id)?;
        let worker = ctx.invocator();
        Self::check(&job, Step::Claim, "claim")?;
        if worker == job.requester {
            return Err(JobError::SelfDealing.into());
        }
        if job.excluded.contains(&worker) {
            return Err(JobError::ExcludedWorker.into());
        }
        self.assign(ctx, &mut job, worker, true)?;
        Ok(Vec::new())
    }

    fn start(ctx: &mut Ctx<'_>, r: JobRef) -> Result<Vec<u8>, ContractError> {
        Self::no_payment(ctx)?;
        let mut job = Self::load(&ctx.view(), r.job_id)?;
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
            worker,
            deadline,
        });
        Ok(Vec::new())
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
        if !job.excluded.contains(&worker) {
            job.excluded.push(worker);
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
            worker,
            answered,
            reason,
            reopened: deadline.is_some(),
            deadline,
            refunded: job.refunded,
        });
        Ok(())
    }

    fn decline(ctx: &mut Ctx<'_>, g: GiveUp) -> Result<Vec<u8>, ContractError> {
        Self::no_payment(ctx)?;
        Self::check_reason(&g)?;
        let mut job = Self::load(&ctx.view(), g.job_id)?;
        let worker = Self::require_worker(ctx, &job)?;
        Self::check(
            &job,
            Step::Decline,
            "decline (only an offer not started yet can be)",
        )?;
        Self::turn_down(ctx, &mut job, worker, true, g.reason)?;
        Ok(Vec::new())
    }

    fn post_result(&self, ctx: &mut Ctx<'_>, p: PostResult) -> Result<Vec<u8>, ContractError> {
        Self::no_payment(ctx)?;
        let mut job = Self::load(&ctx.view(), p.job_id)?;
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
        Self::release_worker(ctx, &mut job, worker, Outcome::Delivered, None)?;
        let now = ctx.tick();
        let challenge_ends = now.plus(self.config.challenge_window);
        job.result = Some(p.result);
        job.completed_at = Some(now);
        Self::set_status(ctx, &mut job, Step::PostResult, JobStatus::Completed)?;
        Self::set_deadline(ctx, &mut job, Some(challenge_ends))?;
        Self::save(ctx, &job)?;
        ctx.emit(&JobEvent::ResultPosted {
            job_id: job.id,
            worker,
            result: p.result,
            challenge_ends,
        });
        Ok(Vec::new())
    }

    fn cancel(ctx: &mut Ctx<'_>, r: JobRef) -> Result<Vec<u8>, ContractError> {
        Self::no_payment(ctx)?;
        let mut job = Self::load(&ctx.view(), r.job_id)?;
        Self::require_requester(ctx, &job)?;
        Self::check(&job, Step::Cancel, "cancel")?;
        Self::refund(ctx, &mut job)?;
        Self::set_status(ctx, &mut job, Step::Cancel, JobStatus::Cancelled)?;
        Self::save(ctx, &job)?;
        ctx.emit(&JobEvent::Cancelled {
            job_id: job.id,
            refunded: job.refunded,
        });
        Ok(Vec::new())
    }

    fn fail(ctx: &mut Ctx<'_>, g: GiveUp) -> Result<Vec<u8>, ContractError> {
        Self::no_payment(ctx)?;
        Self::check_reason(&g)?;
        let mut job = Self::load(&ctx.view(), g.job_id)?;
        let worker = Self::require_worker(ctx, &job)?;
        // Not started: giving it up is declining it, free of charge.
        if transition(job.status, Step::Decline).is_some() {
            Self::turn_down(ctx, &mut job, worker, true, g.reason)?;
            return Ok(Vec::new());
        }
        Self::check(&job, Step::Fail, "give up")?;
        Self::release_worker(ctx, &mut job, worker, Outcome::Failed, None)?;
        job.failures = job.failures.saturating_add(1);
        let deadline = Self::reopen_or_fail(ctx, &mut job, Step::Fail, worker, g.reason.clone())?;
        ctx.emit(&JobEvent::Failed {
            job_id: job.id,
            worker,
            reason: g.reason,
            reopened: deadline.is_some(),
            deadline,
            refunded: job.refunded,
        });
        Ok(Vec::new())
    }

    fn dispute(&self, ctx: &mut Ctx<'_>, r: JobRef) -> Result<Vec<u8>, ContractError> {
        Self::no_payment(ctx)?;
        let mut job = Self::load(&ctx.view(), r.job_id)?;
        Self::require_requester(ctx, &job)?;
        Self::check(&job, Step::Dispute, "dispute")?;
        let ends = job
            .deadline
            .ok_or_else(|| corrupt(&job_key(job.id), "completed job without deadline"))?;
        let now = ctx.tick();
        if now > ends {
            return Err(JobError::WindowClosed { ended: ends }.into());
        }
        let resolve_by = now.plus(self.config.dispute_timeout_ticks);
        Self::set_status(ctx, &mut job, Step::Dispute, JobStatus::Disputed)?;
        Self::set_deadline(ctx, &mut job, Some(resolve_by))?;
        Self::save(ctx, &job)?;
        ctx.emit(&JobEvent::Disputed {
            job_id: job.id,
            resolve_by,
        });
        Ok(Vec::new())
    }

    fn resolve(&self, ctx: &mut Ctx<'_>, r: Resolve) -> Result<Vec<u8>, ContractError> {
        Self::no_payment(ctx)?;
        let mut job = Self::load(&ctx.view(), r.job_id)?;
        let caller = ctx.invocator();
        if caller != self.config.resolver || caller == Identity::NULL {
            return Err(JobError::NotResolver.into());
        }
        Self::check(&job, Step::Resolve, "resolve")?;
        let worker = job
            .worker
            .ok_or_else(|| corrupt(&job_key(job.id), "disputed job without worker"))?;
        let slashed = if r.worker_wins {
            Self::pay(ctx, &mut job)?;
            Self::release_worker(ctx, &mut job, worker, Outcome::DisputeWon, None)?
        } else {
            Self::refund(ctx, &mut job)?;
            let requester = job.requester;
            Self::release_worker(ctx, &mut job, worker, Outcome::DisputeLost, Some(requester))?
        };
        Self::set_status(ctx, &mut job, Step::Resolve, JobStatus::Resolved)?;
        Self::save(ctx, &job)?;
        ctx.emit(&JobEvent::Resolved {
            job_id: job.id,
            worker_wins: r.worker_wins,
            by_timeout: false,
            paid: job.paid,
            refunded: job.refunded,
            slashed,
        });
        Ok(Vec::new())
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
            Some(w) => Self::release_worker(ctx, job, w, Outcome::Expired, challenger)?,
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
        let key = job_key(job.id);
        let worker = job
            .worker
            .ok_or_else(|| corrupt(&key, "assigned job without worker"))?;
        let reason = format!(
            "worker {worker} neither started nor declined it by tick {}",
            job.deadline.unwrap_or(ctx.tick())
        );
        Self::turn_down(ctx, job, worker, false, reason)
    }

    fn expire_now(ctx: &mut Ctx<'_>, r: JobRef) -> Result<Vec<u8>, ContractError> {
        Self::no_payment(ctx)?;
        let mut job = Self::load(&ctx.view(), r.job_id)?;
        if transition(job.status, Step::Expire).is_none()
            && transition(job.status, Step::NoAnswer).is_none()
        {
            return Err(Self::wrong(&job, "expire"));
        }
        let deadline = job
            .deadline
            .ok_or_else(|| corrupt(&job_key(job.id), "live job without deadline"))?;
        if ctx.tick() <= deadline {
            return Err(JobError::DeadlineNotPassed { deadline }.into());
        }
        if transition(job.status, Step::NoAnswer).is_some() {
            Self::no_answer(ctx, &mut job)?;
        } else {
            let caller = ctx.invocator();
            Self::expire(ctx, &mut job, Some(caller))?;
        }
        Ok(Vec::new())
    }

    /// Handles one due deadline.
    fn on_deadline(ctx: &mut Ctx<'_>, mut job: Job) -> Result<(), ContractError> {
        match job.status {
            JobStatus::Open | JobStatus::Running => Self::expire(ctx, &mut job, None),
            JobStatus::Assigned => Self::no_answer(ctx, &mut job),
            JobStatus::Completed => {
                let worker = Self::pay(ctx, &mut job)?;
                Self::release_worker(ctx, &mut job, worker, Outcome::Finalized, None)?;
                Self::set_status(ctx, &mut job, Step::Finalize, JobStatus::Finalized)?;
                Self::save(ctx, &job)?;
                ctx.emit(&JobEvent::Finalized {
                    job_id: job.id,
                    worker,
                    paid: job.paid,
                    refunded: job.refunded,
                });
                Ok(())
            }
            JobStatus::Disputed => {
                let worker = Self::pay(ctx, &mut job)?;
                Self::release_worker(ctx, &mut job, worker, Outcome::Unresolved, None)?;
                Self::set_status(ctx, &mut job, Step::DisputeTimeout, JobStatus::Resolved)?;
                Self::save(ctx, &job)?;
                ctx.emit(&JobEvent::Resolved {
                    job_id: job.id,
                    worker_wins: true,
                    by_timeout: true,
                    paid: job.paid,
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
            Self::on_deadline(ctx, job)?;
        }
        Ok(())
    }

    // --- matching ------------------------------------------------------------------------

    fn worker_version(view: &View<'_>) -> u64 {
        view.query::<(), u64>(WORKER_REGISTRY, MATCH_VERSION, &())
            .unwrap_or(0)
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
            exclude.extend(job.excluded.iter().copied());
            let q = FindWorker {
                model: job.spec.model,
                max_price_per_1k: job.spec.max_price_per_1k,
                min_reputation: job.spec.min_reputation,
                exclude,
                tie_seed: job_seed(&seed, id),
            };
            let found: Option<Identity> = ctx.view().query(WORKER_REGISTRY, FIND_WORKER, &q)?;
            if let Some(worker) = found {
                // The registry found it eligible a moment ago; should the assignment still
                // be refused, its changes are undone and the job stays open.
                let _ = self.assign(ctx, &mut job, worker, false);
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

impl Contract for JobRegistry {
    fn index(&self) -> ContractIndex {
        JOB_REGISTRY
    }
    fn name(&self) -> &'static str {
        "job-registry"
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
            SUBMIT => self.submit(ctx, decode_input(input)?),
            CLAIM => self.claim(ctx, decode_input(input)?),
            START => Self::start(ctx, decode_input(input)?),
            POST_RESULT => self.post_result(ctx, decode_input(input)?),
            CANCEL => Self::cancel(ctx, decode_input(input)?),
            FAIL => Self::fail(ctx, decode_input(input)?),
            DISPUTE => self.dispute(ctx, decode_input(input)?),
            RESOLVE => self.resolve(ctx, decode_input(input)?),
            EXPIRE => Self::expire_now(ctx, decode_input(input)?),
            DECLINE => Self::decline(ctx, decode_input(input)?),
            other => Err(ContractError::UnknownProcedure {
                contract: JOB_REGISTRY.0,
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
            GET_JOB => {
                let r: JobRef = decode_input(input)?;
                Ok(encode(&view.get::<Job>(&job_key(r.job_id))?))
            }
            JOBS_BY_STATUS => {
                let q: JobsByStatus = decode_input(input)?;
                let prefix = KeyBuf::table(T_STATUS).u8(q.status.code());
                Ok(encode(&Self::page(view, &prefix, q.cursor, q.limit)?))
            }
            JOBS_BY_REQUESTER => {
                let q: JobsByRequester = decode_input(input)?;
                let prefix = KeyBuf::table(T_REQUESTER).bytes32(&q.requester.0);
                Ok(encode(&Self::page(view, &prefix, q.cursor, q.limit)?))
            }
            JOBS_BY_WORKER => {
                let q: JobsByWorker = decode_input(input)?;
                let prefix = KeyBuf::table(T_WORKER).bytes32(&q.worker.0);
                Ok(encode(&Self::page(view, &prefix, q.cursor, q.limit)?))
            }
            JOB_ESCROW => {
                let r: JobRef = decode_input(input)?;
                let e: Option<JobEscrow> =
                    view.query(ESCROW, GET_JOB_ESCROW, &JobEscrowQuery { job_id: r.job_id })?;
                Ok(encode(&e))
            }
            NETWORK_STATS => {
                let () = decode_input(input)?;
                let stats = NetworkStats {
                    jobs: Self::counters(view)?,
                    escrow: view.query(ESCROW, TOTALS, &())?,
                    workers: view.query(WORKER_REGISTRY, WORKER_STATS, &())?,
                };
                Ok(encode(&stats))
            }
            QUOTE => {
                let q: EscrowQuote = decode_input(input)?;
                Ok(encode(
                    &required_escrow(q.max_output_tokens, q.max_price_per_1k)
                        .map(|a| a.max(Amount(1))),
                ))
            }
            other => Err(ContractError::UnknownFunction {
                contract: JOB_REGISTRY.0,
                input_type: other,
            }),
        }
    }
    fn end_tick(&self, ctx: &mut Ctx<'_>) -> Result<(), ContractError> {
        let now = ctx.tick();
        let first_due = ctx
            .view()
            .first_with_prefix(&[T_DEADLINE])
            .and_then(|k| key_u32(&k, 1));
        if first_due.is_some_and(|t| t <= now.0) {
            self.process_deadlines(ctx)?;
        }
        if let Some((ms, version)) = Self::matching_work(&ctx.view())? {
            self.run_matching(ctx, ms, version)?;
        }
        Ok(())
    }
    fn has_begin_tick(&self) -> bool {
        false
    }
    fn next_tick_work(&self, view: &View<'_>) -> TickWork {
        match Self::matching_due(view) {
            Ok(true) | Err(_) => return TickWork::At(view.tick()),
            Ok(false) => {}
        }
        match view
            .first_with_prefix(&[T_DEADLINE])
            .and_then(|k| key_u32(&k, 1))
        {
            Some(t) => TickWork::At(Tick(t)),
            None => TickWork::Idle,
        }
    }
    fn meta(&self) -> crate::qpi::ContractMeta {
        use crate::qpi::Entry;
        crate::qpi::ContractMeta {
            procedures: const {
                &[
                    Entry::new(SUBMIT, "submit"),
                    Entry::new(CLAIM, "claim"),
                    Entry::new(START, "start"),
                    Entry::new(POST_RESULT, "post_result"),
                    Entry::new(CANCEL, "cancel"),
                    Entry::new(FAIL, "fail"),
                    Entry::new(DISPUTE, "dispute"),
                    Entry::new(RESOLVE, "resolve"),
                    Entry::new(EXPIRE, "expire"),
                    Entry::new(DECLINE, "decline"),
                ]
            },
            functions: const {
                &[
                    Entry::new(GET_JOB, "get_job"),
                    Entry::new(JOBS_BY_STATUS, "jobs_by_status"),
                    Entry::new(JOBS_BY_REQUESTER, "jobs_by_requester"),
                    Entry::new(JOBS_BY_WORKER, "jobs_by_worker"),
                    Entry::new(JOB_ESCROW, "job_escrow"),
                    Entry::new(NETWORK_STATS, "network_stats"),
                    Entry::new(QUOTE, "quote"),
                ]
            },
            errors: JobError::ALL_CODES,
        }
    }
    fn event_json(&self, data: &[u8]) -> Option<serde_json::Value> {
        crate::json::decode_event::<JobEvent>(data)
    }
    fn describe_event(&self, data: &[u8]) -> String {
        match JobEvent::try_from_slice(data) {
            Ok(e) => format!("{e:?}"),
            Err(_) => format!("undecodable job registry event ({} bytes)", data.len()),
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
        let src = include_str!("job_registry.rs");
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
        let max = crate::qpi::MAX_KEY_LEN;
        assert!(requester_key(&Identity::NULL, u64::MAX).len() <= max);
        assert!(worker_key(&Identity::NULL, u64::MAX).len() <= max);
        assert!(deadline_key(Tick(u32::MAX), u64::MAX).len() <= max);
    }

    #[test]
    fn errors_carry_their_names_and_codes() {
        let e: ContractError = JobError::WrongStatus {
            job_id: 1,
            status: JobStatus::Open,
            action: "start",
        }
        .into();
        assert_eq!(e.rejected_name(), Some("WrongStatus"));
        assert_eq!(e.code(), Some(401));
    }
}

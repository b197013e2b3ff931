//! The job registry's interface: its index, entry points, inputs, outputs, events, errors,
//! the lifecycle's transition table and genesis settings.

use borsh::{BorshDeserialize, BorshSerialize};
use comqute_qpi::primitives::{Amount, ContractIndex, Hash32, Identity, Tick};
use comqute_qpi::{contract_api, rejected_errors};
use serde::{Deserialize, Serialize};

use crate::ids::{JobId, WorkerId};
use thiserror::Error;

use crate::escrow::{EscrowTotals, JobEscrow};
use crate::verification::VerdictKind;
use crate::worker_registry::WorkerStats;

contract_api! {
    index: 6, name: "job-registry", events: JobEvent, errors: JobError::ALL_CODES,
    procedures: {
        /// Submit a job; the invocation reward is the escrow. Output: the job id (from 1).
        SUBMIT = 1 "submit": JobSpec => JobId,
        /// A worker claims one open job.
        CLAIM = 2 "claim": JobRef => (),
        /// The assigned worker starts (Assigned → Running), accepting the delivery deadline.
        START = 3 "start": JobRef => (),
        /// The assigned worker posts the result (Running → Completed).
        POST_RESULT = 4 "post_result": PostResult => (),
        /// The requester cancels an open job: full refund.
        CANCEL = 5 "cancel": JobRef => (),
        /// The assigned worker gives a started job up: the job reopens once, then is
        /// refunded. (On a job not started yet it is a [`DECLINE`].)
        FAIL = 6 "fail": GiveUp => (),
        /// Anyone challenges a completed result within the challenge window (not its own
        /// worker); the invocation reward is the bond (`challenge_bond` of the verification
        /// contract). The result is then checked by replicas.
        CHALLENGE = 7 "challenge": JobRef => (),
        /// A devnet's resolver forces the verdict of a running check (marked as forced);
        /// refused on a normal node.
        FORCE_VERDICT = 8 "force_verdict": Resolve => (),
        /// Anyone expires a job whose deadline has passed (normally END_TICK does it first);
        /// the caller is the challenger of any slash.
        EXPIRE = 9 "expire": JobRef => (),
        /// The assigned worker turns down a job it has not started: free of charge; the job
        /// reopens for other workers.
        DECLINE = 10 "decline": GiveUp => (),
        /// Post a large job ([`LargeJobSpec`]): its parts are served as normal jobs by the
        /// winner of a sealed-bid auction. The invocation reward is the escrow, at least
        /// [`large_job_escrow`]. Output: the large job's id (from 1, its own numbering).
        POST_LARGE_JOB = 11 "post_large_job": LargeJobSpec => u64,
        /// A pool's operator (for the pool) or a registered worker serving the model commits
        /// a sealed bid, [`CommitBid`]; the invocation reward is the bond
        /// ([`LargeJobConfig::bid_bond`], exactly), held by this contract.
        COMMIT_BID = 12 "commit_bid": CommitBid => (),
        /// The bidder reveals its price and salt in the reveal phase; they must hash to its
        /// commitment ([`bid_commitment`]).
        REVEAL_BID = 13 "reveal_bid": RevealBid => (),
    },
    functions: {
        /// One job.
        GET_JOB = 1 "get_job": JobRef => Option<Job>,
        /// Jobs in a status.
        JOBS_BY_STATUS = 2 "jobs_by_status": JobsByStatus => JobPage,
        /// A requester's jobs.
        JOBS_BY_REQUESTER = 3 "jobs_by_requester": JobsByRequester => JobPage,
        /// Jobs a worker holds or held.
        JOBS_BY_WORKER = 4 "jobs_by_worker": JobsByWorker => JobPage,
        /// A job's escrow account.
        JOB_ESCROW = 5 "job_escrow": JobRef => Option<JobEscrow>,
        /// Counts of jobs, escrow and workers.
        NETWORK_STATS = 6 "network_stats": () => NetworkStats,
        /// The least escrow for a job.
        QUOTE = 7 "quote": EscrowQuote => Option<Amount>,
        /// One large job: phase, parts and their job ids, bids (commitments before the
        /// reveal deadline, prices after), winner.
        GET_LARGE_JOB = 8 "get_large_job": LargeJobRef => Option<LargeJobView>,
        /// Large jobs still taking bids (commit or reveal phase), by id.
        OPEN_LARGE_JOBS = 9 "open_large_jobs": OpenLargeJobs => LargeJobPage,
        /// Counts and the bonds this contract holds.
        LARGE_JOB_STATS = 10 "large_job_stats": () => LargeJobStats,
    },
}

/// The longest reason a worker gives for DECLINE or FAIL, in bytes.
pub const MAX_REASON: usize = 200;
/// The most workers that may turn a job down or give it up before it ends Failed.
pub const MAX_TURNED_DOWN: usize = 3;

/// Sampling settings, fixed by the requester so a verifier can replay the job.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub struct Sampling {
    /// The sampler's seed.
    pub seed: u64,
    /// Temperature in thousandths (700 = 0.7), at most [`MAX_TEMPERATURE_MILLI`].
    pub temperature_milli: u16,
}

/// What a requester asks for. Input of [`SUBMIT`].
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobSpec {
    /// Model id ([`crate::rules::model_id`] of its name).
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
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
pub struct JobRef {
    /// The job.
    pub job_id: JobId,
}

/// What the worker delivered.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
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
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GiveUp {
    /// The job.
    pub job_id: JobId,
    /// Why, for the requester (UTF-8, at most [`MAX_REASON`] bytes).
    pub reason: String,
}

/// Input of [`POST_RESULT`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
pub struct PostResult {
    /// The job.
    pub job_id: JobId,
    /// The result.
    pub result: JobResult,
}

/// Input of [`FORCE_VERDICT`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
pub struct Resolve {
    /// The job.
    pub job_id: JobId,
    /// `true`: the result stands and the worker is paid; `false`: the requester is refunded
    /// and the worker slashed.
    pub worker_wins: bool,
}

/// Input of [`JOBS_BY_STATUS`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
pub struct JobsByStatus {
    /// The status.
    pub status: JobStatus,
    /// Start after this job id (`None`: from the first).
    pub cursor: Option<JobId>,
    /// At most this many (capped at [`MAX_PAGE`]).
    pub limit: u16,
}

/// Input of [`JOBS_BY_REQUESTER`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
pub struct JobsByRequester {
    /// The requester.
    pub requester: Identity,
    /// Start after this job id.
    pub cursor: Option<JobId>,
    /// At most this many (capped at [`MAX_PAGE`]).
    pub limit: u16,
}

/// Input of [`JOBS_BY_WORKER`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
pub struct JobsByWorker {
    /// The worker.
    pub worker: WorkerId,
    /// Start after this job id.
    pub cursor: Option<JobId>,
    /// At most this many (capped at [`MAX_PAGE`]).
    pub limit: u16,
}

/// Output of the paged job functions, ascending by id.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobPage {
    /// The jobs.
    pub jobs: Vec<Job>,
    /// Pass as `cursor` for the next page; `None` when this was the last.
    pub next_cursor: Option<JobId>,
}

/// Input of [`QUOTE`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
pub struct EscrowQuote {
    /// The job's output token maximum.
    pub max_output_tokens: u32,
    /// The job's price ceiling.
    pub max_price_per_1k: Amount,
}

/// A job's status.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
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
    /// Paid out: after the challenge window, or by a check's verdict that pays (passed,
    /// unverifiable) or its timeout. Terminal.
    Finalized,
    /// Cancelled by the requester while open; refunded. Terminal.
    Cancelled,
    /// Its deadline passed; refunded (the worker, if any, slashed). Terminal.
    Expired,
    /// Given up twice; refunded. Terminal.
    Failed,
    /// Its result is being checked by replicas (the chain's spot check, or a challenge);
    /// payment waits for the verdict.
    Checking,
    /// Refunded by a check's verdict (failed, or no majority: [`Job::verdict`]). Terminal.
    /// (A verdict that pays the worker ends the job Finalized.)
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
        JobStatus::Checking,
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
            JobStatus::Checking => 8,
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
            JobStatus::Checking => "Checking",
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
    /// [`CHALLENGE`].
    Challenge,
    /// A check's verdict (replicas, or [`FORCE_VERDICT`] on a devnet).
    Verdict,
    /// A check left without a verdict past its timeout.
    CheckTimeout,
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
        Step::Challenge,
        Step::Verdict,
        Step::CheckTimeout,
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
        (
            Some(S::Running),
            Step::PostResult,
            &[S::Completed, S::Checking],
        ),
        (Some(S::Running), Step::Fail, &[S::Open, S::Failed]),
        (Some(S::Running), Step::Expire, &[S::Expired]),
        (Some(S::Completed), Step::Finalize, &[S::Finalized]),
        (Some(S::Completed), Step::Challenge, &[S::Checking]),
        (
            Some(S::Checking),
            Step::Verdict,
            &[S::Finalized, S::Resolved],
        ),
        (Some(S::Checking), Step::CheckTimeout, &[S::Finalized]),
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
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    /// Its id.
    pub id: JobId,
    /// Who submitted and paid.
    pub requester: Identity,
    /// What was asked for.
    pub spec: JobSpec,
    /// The escrow locked.
    pub escrow: Amount,
    /// Where it stands.
    pub status: JobStatus,
    /// The worker holding it (or that held it last, once terminal); `None` while open.
    pub worker: Option<WorkerId>,
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
    /// The pending deadline (expiry, end of the challenge window, check timeout); `None`
    /// once terminal.
    pub deadline: Option<Tick>,
    /// The result, once posted.
    pub result: Option<JobResult>,
    /// Times a worker gave it up after starting.
    pub failures: u8,
    /// Workers that declined it, left it unanswered or gave it up (at most
    /// [`MAX_TURNED_DOWN`]); never offered it again.
    pub excluded: Vec<WorkerId>,
    /// Why it last reopened or ended badly: a worker's reason, or what the chain saw.
    pub reason: Option<String>,
    /// Paid to the worker.
    pub paid: Amount,
    /// Of the payment, the verification fee (paid to the verification contract's pool).
    pub fee: Amount,
    /// Refunded to the requester.
    pub refunded: Amount,
    /// Slashed from the worker over this job.
    pub slashed: Amount,
    /// The tick it became terminal.
    pub closed_at: Option<Tick>,
    /// Whether the chain's draw or a challenge had its result checked.
    pub checked: bool,
    /// The check's verdict, once reached.
    pub verdict: Option<VerdictKind>,
}

/// Job counts and money totals, part of [`NetworkStats`].
#[derive(
    Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
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
    /// Ever paid as verification fees.
    pub total_fees: Amount,
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
    pub(crate) fn bump(&mut self, status: JobStatus, up: bool) {
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
#[derive(
    Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub struct NetworkStats {
    /// Jobs per status and money totals.
    pub jobs: JobCounters,
    /// The vault's totals.
    pub escrow: EscrowTotals,
    /// Worker counts, online included.
    pub workers: WorkerStats,
}

/// Job registry events, enough for an indexer to rebuild every [`Job`] record (the event's
/// tick is the time of the change).
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub enum JobEvent {
    /// A job was submitted (status Open).
    Submitted {
        /// The job.
        job_id: JobId,
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
        job_id: JobId,
        /// The worker.
        worker: WorkerId,
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
        job_id: JobId,
        /// The worker.
        worker: WorkerId,
        /// The delivery deadline.
        deadline: Tick,
    },
    /// The worker turned the offer down, or did not answer it in time: reopened (status
    /// Open) or, after [`MAX_TURNED_DOWN`] workers, refunded (status Failed).
    Declined {
        /// The job.
        job_id: JobId,
        /// The worker.
        worker: WorkerId,
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
        job_id: JobId,
        /// The worker.
        worker: WorkerId,
        /// The result.
        result: JobResult,
        /// The last tick of the challenge window (`None` when the chain's draw checks it:
        /// payment waits for the verdict).
        challenge_ends: Option<Tick>,
        /// The spot-check rate the draw used, ppm.
        check_rate_ppm: u32,
    },
    /// Paid out after the challenge window (status Finalized).
    Finalized {
        /// The job.
        job_id: JobId,
        /// The worker.
        worker: WorkerId,
        /// Paid to the worker.
        paid: Amount,
        /// Paid as the verification fee.
        fee: Amount,
        /// Refunded to the requester.
        refunded: Amount,
    },
    /// Cancelled by the requester (status Cancelled).
    Cancelled {
        /// The job.
        job_id: JobId,
        /// Refunded.
        refunded: Amount,
    },
    /// The deadline passed (status Expired).
    Expired {
        /// The job.
        job_id: JobId,
        /// The worker that started it and missed its delivery deadline, if any (slashed).
        worker: Option<WorkerId>,
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
        job_id: JobId,
        /// The worker that gave up (never assigned this job again).
        worker: WorkerId,
        /// Its reason.
        reason: String,
        /// Whether the job reopened.
        reopened: bool,
        /// The new expiry when reopened.
        deadline: Option<Tick>,
        /// Refunded when not reopened.
        refunded: Amount,
    },
    /// Someone challenged the result (status Checking).
    Challenged {
        /// The job.
        job_id: JobId,
        /// Who.
        challenger: Identity,
        /// The bond posted.
        bond: Amount,
        /// The check timeout.
        check_by: Tick,
    },
    /// The chain's draw chose the result for a spot check (status Checking).
    SpotChecked {
        /// The job.
        job_id: JobId,
        /// The rate used, ppm.
        rate_ppm: u32,
        /// The check timeout.
        check_by: Tick,
    },
    /// A check's verdict was applied (status Finalized when it pays the worker, Resolved
    /// when it refunds the requester).
    Verified {
        /// The job.
        job_id: JobId,
        /// The status it ended in.
        status: JobStatus,
        /// The verdict; `None` when the check timed out (the result stood, unverified).
        verdict: Option<VerdictKind>,
        /// Forced by a devnet's resolver.
        forced: bool,
        /// Paid to the worker.
        paid: Amount,
        /// Paid as the verification fee.
        fee: Amount,
        /// Refunded to the requester.
        refunded: Amount,
        /// Slashed from the worker.
        slashed: Amount,
    },
    /// A step of a large job's sealed-bid auction ([`POST_LARGE_JOB`]); its parts, once
    /// awarded, are normal jobs with their own `Submitted`, `Assigned`, ... events.
    Large(LargeJobEvent),
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
        job_id: JobId,
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
    /// Only a devnet's resolver may force a verdict.
    #[error("verdicts are reached by replicas: only a devnet's resolver may force one")]
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
    /// A worker may not challenge its own result.
    #[error("a worker may not challenge its own result")]
    OwnResult,
    /// This chain has no verification contract.
    #[error("this chain has no verification contract")]
    NoVerification,
    /// No such large job.
    #[error("no large job {0}")]
    UnknownLargeJob(u64),
    /// A bad large job specification.
    #[error("invalid large job: {0}")]
    InvalidLargeJob(String),
    /// The commit phase is over (or the auction closed).
    #[error("large job {large_job_id}: bids were taken until tick {ended}")]
    CommitClosed {
        /// The large job.
        large_job_id: u64,
        /// The commit phase's last tick.
        ended: Tick,
    },
    /// A reveal before the reveal phase.
    #[error("large job {large_job_id}: reveals open after tick {opens_after}")]
    RevealNotOpen {
        /// The large job.
        large_job_id: u64,
        /// The commit phase's last tick.
        opens_after: Tick,
    },
    /// A reveal after the reveal phase: refused; the bond burned at the reveal deadline.
    #[error("large job {large_job_id}: reveals closed at tick {ended}; an unrevealed bond burns")]
    RevealClosed {
        /// The large job.
        large_job_id: u64,
        /// The reveal phase's last tick.
        ended: Tick,
    },
    /// The revealed price and salt do not hash to the commitment.
    #[error("the revealed price and salt do not match the commitment")]
    RevealMismatch,
    /// The bond is not the configured one.
    #[error("a bid's bond is {needed}, got {got}")]
    WrongBond {
        /// The bond.
        needed: Amount,
        /// Sent.
        got: Amount,
    },
    /// The caller already bid on this large job.
    #[error("one bid per identity and large job")]
    AlreadyBid,
    /// The caller has no bid on this large job.
    #[error("no bid from this identity on the large job")]
    NoBid,
    /// The bid was revealed already.
    #[error("the bid was revealed already")]
    AlreadyRevealed,
    /// The caller may not bid (not a pool's operator, not a worker serving the model, a
    /// pool below the minimum tier, the requester itself).
    #[error("may not bid: {0}")]
    NotABidder(String),
    /// The large job has as many bids as it takes.
    #[error("the large job takes at most {0} bids")]
    TooManyBids(u32),
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
    OwnResult = 414,
    NoVerification = 415,
    UnknownLargeJob = 416,
    InvalidLargeJob = 417,
    CommitClosed = 418,
    RevealNotOpen = 419,
    RevealClosed = 420,
    RevealMismatch = 421,
    WrongBond = 422,
    AlreadyBid = 423,
    NoBid = 424,
    AlreadyRevealed = 425,
    NotABidder = 426,
    TooManyBids = 427,
});

/// The job registry's genesis settings.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct JobConfig {
    /// Ticks after a result during which anyone may challenge it (default 20).
    pub challenge_window: u32,
    /// Ticks a check may take; after that the posted result stands unverified and the
    /// worker is paid, with no reputation change (default 1,000; replicas normally decide
    /// within the verification contract's commit and reveal windows).
    pub check_timeout_ticks: u32,
    /// The most deadlines (expiries, finalizations, dispute timeouts) handled in one
    /// END_TICK; the rest carry over to the next tick (default 64).
    pub max_settlements_per_tick: u32,
    /// The most open jobs the matcher examines in one END_TICK; each may get one worker; the
    /// pass carries over (default 32).
    pub max_matches_per_tick: u32,
    /// A devnet's resolver: may force the verdict of a running check when
    /// [`forced_verdicts`](Self::forced_verdicts) is on. The default, the null identity, can
    /// sign nothing.
    pub resolver: Identity,
    /// Whether the resolver may force verdicts (a `--devnet` node's harness); off on a normal
    /// node, where only replicas decide.
    pub forced_verdicts: bool,
    /// Ticks an assigned worker has to START (accepting the delivery deadline) or DECLINE the
    /// job; after that the job reopens without it (default 20).
    pub accept_ticks: u32,
    /// The shortest job timeout, in ticks (default 1).
    pub min_timeout_ticks: u32,
    /// The longest job timeout, in ticks (default 100,000).
    pub max_timeout_ticks: u32,
    /// The most output tokens a job may ask for (default 1,000,000).
    pub max_output_tokens: u32,
    /// The largest prompt, in bytes (default 8 MiB, the node's largest blob).
    pub max_prompt_bytes: u32,
    /// The verification contract that checks results. Genesis wiring, not a setting.
    #[serde(skip)]
    pub verification: Option<ContractIndex>,
    /// The verification fee, bps of each payment (the verification contract's setting,
    /// copied by the genesis).
    #[serde(skip)]
    pub fee_bps: u16,
    /// The longest a check can take (the verification contract's windows, from the
    /// genesis): the check timeout must not be shorter.
    #[serde(skip)]
    pub check_min_ticks: u32,
    /// The price oracle told of every job settled with a paid worker. Genesis wiring, not a
    /// setting.
    #[serde(skip)]
    pub price_oracle: Option<ContractIndex>,
    /// Large jobs with sealed bids.
    pub large: LargeJobConfig,
}

impl Default for JobConfig {
    fn default() -> Self {
        JobConfig {
            challenge_window: 20,
            check_timeout_ticks: 1_000,
            max_settlements_per_tick: 64,
            max_matches_per_tick: 32,
            resolver: Identity::NULL,
            forced_verdicts: false,
            accept_ticks: 20,
            min_timeout_ticks: 1,
            max_timeout_ticks: 100_000,
            max_output_tokens: 1_000_000,
            max_prompt_bytes: 8 << 20,
            verification: None,
            fee_bps: 0,
            check_min_ticks: 0,
            price_oracle: None,
            large: LargeJobConfig::default(),
        }
    }
}

/// Why a [`JobConfig`] is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum JobConfigError {
    /// A count that must be positive is 0.
    #[error("{0} must be at least 1")]
    Zero(&'static str),
    /// The check timeout is shorter than a check can take.
    #[error("checkTimeoutTicks {timeout} is shorter than a check can take ({needed} ticks)")]
    CheckTimeout {
        /// The check timeout.
        timeout: u32,
        /// The least it must be.
        needed: u32,
    },
    /// The timeout bounds are the wrong way round.
    #[error("maxTimeoutTicks {max} is below minTimeoutTicks {min}")]
    TimeoutBounds {
        /// The shortest timeout.
        min: u32,
        /// The longest timeout.
        max: u32,
    },
    /// A bad large-job setting.
    #[error("large: {0}")]
    Large(#[from] LargeJobConfigError),
}

impl JobConfig {
    /// Checks the settings: positive counts and windows, ordered timeout bounds.
    pub fn validate(&self) -> Result<(), JobConfigError> {
        for (field, v) in [
            ("acceptTicks", self.accept_ticks),
            ("maxSettlementsPerTick", self.max_settlements_per_tick),
            ("maxMatchesPerTick", self.max_matches_per_tick),
            ("minTimeoutTicks", self.min_timeout_ticks),
            ("checkTimeoutTicks", self.check_timeout_ticks),
            ("maxOutputTokens", self.max_output_tokens),
            ("maxPromptBytes", self.max_prompt_bytes),
        ] {
            if v == 0 {
                return Err(JobConfigError::Zero(field));
            }
        }
        if self.check_timeout_ticks < self.check_min_ticks {
            return Err(JobConfigError::CheckTimeout {
                timeout: self.check_timeout_ticks,
                needed: self.check_min_ticks,
            });
        }
        if self.max_timeout_ticks < self.min_timeout_ticks {
            return Err(JobConfigError::TimeoutBounds {
                min: self.min_timeout_ticks,
                max: self.max_timeout_ticks,
            });
        }
        self.large.validate()?;
        Ok(())
    }
}

// --- large jobs with sealed bids (issue 19) -------------------------------------------------

/// The hash a bidder commits to: `blake3(price ‖ salt ‖ bidder)`, the price as 8
/// little-endian bytes, the salt and the bidder's identity as 32 bytes each.
pub fn bid_commitment(price_per_1k: Amount, salt: &Hash32, bidder: &Identity) -> Hash32 {
    let mut buf = [0u8; 8 + 32 + 32];
    buf[..8].copy_from_slice(&price_per_1k.0.to_le_bytes());
    buf[8..40].copy_from_slice(&salt.0);
    buf[40..].copy_from_slice(&bidder.0);
    Hash32::of(&buf)
}

/// What each part of a large job at `max_price_per_1k` locks: its
/// [`crate::rules::required_escrow`], at least 1; `None` over the largest amount.
pub fn part_escrow(max_output_tokens: u32, max_price_per_1k: Amount) -> Option<Amount> {
    crate::rules::required_escrow(max_output_tokens, max_price_per_1k).map(|a| a.max(Amount(1)))
}

/// The least escrow of a large job: the sum of its parts' [`part_escrow`]s.
pub fn large_job_escrow(parts: &[LargePart], max_price_per_1k: Amount) -> Option<Amount> {
    let mut sum = 0i64;
    for p in parts {
        sum = sum.checked_add(part_escrow(p.max_output_tokens, max_price_per_1k)?.0)?;
    }
    (sum <= comqute_qpi::primitives::MAX_AMOUNT).then_some(Amount(sum))
}

/// One part of a large job: served as one normal job.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LargePart {
    /// blake3 of the part's prompt (stored off-chain); not zero.
    pub prompt_hash: Hash32,
    /// The prompt's size in bytes.
    pub prompt_size: u32,
    /// The most output tokens paid for.
    pub max_output_tokens: u32,
}

/// Input of [`POST_LARGE_JOB`].
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LargeJobSpec {
    /// Model id.
    pub model: Hash32,
    /// The parts, 1 to [`LargeJobConfig::max_parts`].
    pub parts: Vec<LargePart>,
    /// Ticks of the commit phase (from the posting tick, inclusive of its last tick).
    pub commit_ticks: u32,
    /// Ticks of the reveal phase, after the commit phase.
    pub reveal_ticks: u32,
    /// Each part's timeout: ticks an open part waits for a worker, and ticks a started
    /// worker has to deliver (a normal job's `timeout_ticks`).
    pub delivery_timeout_ticks: u32,
    /// The highest price per 1,000 output tokens accepted; positive.
    pub max_price_per_1k: Amount,
    /// The least tier of a bidding pool; a single worker counts as Bronze. `None`: any.
    pub min_tier: Option<crate::pools::Tier>,
    /// Sampling settings for every part.
    pub sampling: Sampling,
}

/// Input of [`COMMIT_BID`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub struct CommitBid {
    /// The large job.
    pub large_job_id: u64,
    /// The pool bid for (the caller must be its operator); `None`: the caller bids as a
    /// single worker.
    pub pool: Option<u64>,
    /// [`bid_commitment`]`(price, salt, caller)`.
    pub commitment: Hash32,
}

/// Input of [`REVEAL_BID`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub struct RevealBid {
    /// The large job.
    pub large_job_id: u64,
    /// The price per 1,000 output tokens.
    pub price_per_1k: Amount,
    /// The salt committed with it.
    pub salt: Hash32,
}

/// Input of [`GET_LARGE_JOB`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub struct LargeJobRef {
    /// The large job.
    pub large_job_id: u64,
}

/// Input of [`OPEN_LARGE_JOBS`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
pub struct OpenLargeJobs {
    /// Start after this large job id.
    pub cursor: Option<u64>,
    /// At most this many (capped at [`MAX_PAGE`](crate::rules::MAX_PAGE)).
    pub limit: u16,
}

/// Where a large job stands (stored).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
pub enum LargeStatus {
    /// Taking commitments, then reveals.
    Bidding,
    /// A winner was chosen at the reveal deadline; the parts are jobs.
    Awarded,
    /// No valid bid by the reveal deadline: refunded in full.
    Unawarded,
}

/// A large job's phase, as its view shows it (computed from the tick).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
pub enum LargePhase {
    /// Bids are committed, up to and including `commit_ends`.
    Commit,
    /// Bids are revealed, up to and including `reveal_ends`.
    Reveal,
    /// The reveal deadline passed; END_TICK has not closed the auction yet.
    Closing,
    /// Awarded: its parts are jobs.
    Awarded,
    /// Nobody won: refunded.
    Unawarded,
}

/// What became of a bid.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
pub enum BidOutcome {
    /// Still in the auction.
    Pending,
    /// Won; its bond went back.
    Won,
    /// Revealed and lost (or above the maximum, or without the stake): the bond went back.
    Returned,
    /// Never revealed: the bond burned.
    Burned,
}

/// A sealed bid (stored).
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bid {
    /// Who bid (a pool's operator, or the worker itself); its bond goes back to it.
    pub bidder: Identity,
    /// The pool bid for; `None` for a single worker.
    pub pool: Option<u64>,
    /// The pool's tier at the commit (Bronze for a single worker): the first tie-break.
    pub tier: crate::pools::Tier,
    /// The commitment.
    pub commitment: Hash32,
    /// The commit's tick (bids are kept in commit order: the second tie-break).
    pub committed_at: Tick,
    /// The bond held.
    pub bond: Amount,
    /// The revealed price.
    pub price_per_1k: Option<Amount>,
    /// What became of it.
    pub outcome: BidOutcome,
}

/// A large job's winner.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LargeWinner {
    /// The bidder.
    pub bidder: Identity,
    /// Its pool, if it bid for one.
    pub pool: Option<u64>,
    /// The price every part is served at.
    pub price_per_1k: Amount,
    /// The stake it locks: [`LargeJobConfig::stake_bps`] of the price × the parts' tokens.
    /// Checked against the pool's active stake (or the worker's stake) and recorded; the
    /// stake itself stays where it is (see [`crate::job_registry`]'s large-job docs).
    pub stake_locked: Amount,
}

/// A large job's record (stored).
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LargeJob {
    /// Its id (from 1).
    pub id: u64,
    /// Who posted and paid.
    pub requester: Identity,
    /// What was asked for.
    pub spec: LargeJobSpec,
    /// The escrow locked, in all.
    pub escrow: Amount,
    /// Each part's job id (reserved at posting; the job exists once awarded) and escrow,
    /// locked in the vault under that id.
    pub parts: Vec<(JobId, Amount)>,
    /// The posting tick.
    pub posted_at: Tick,
    /// The commit phase's last tick.
    pub commit_ends: Tick,
    /// The reveal phase's last tick: the auction closes at its END_TICK.
    pub reveal_ends: Tick,
    /// Where it stands.
    pub status: LargeStatus,
    /// The bids, in commit order.
    pub bids: Vec<Bid>,
    /// The winner, once awarded.
    pub winner: Option<LargeWinner>,
}

/// One bid in a [`LargeJobView`]: the commitment always, the price only once the reveal
/// deadline has passed.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BidView {
    /// The bidder.
    pub bidder: Identity,
    /// Its pool.
    pub pool: Option<u64>,
    /// Its tier at the commit.
    pub tier: crate::pools::Tier,
    /// The commitment.
    pub commitment: Hash32,
    /// The commit's tick.
    pub committed_at: Tick,
    /// Whether it was revealed.
    pub revealed: bool,
    /// The price, after the reveal deadline.
    pub price_per_1k: Option<Amount>,
    /// What became of it.
    pub outcome: BidOutcome,
}

/// Output of [`GET_LARGE_JOB`] and items of [`LargeJobPage`].
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LargeJobView {
    /// Its id.
    pub id: u64,
    /// Who posted it.
    pub requester: Identity,
    /// What was asked for.
    pub spec: LargeJobSpec,
    /// The escrow locked.
    pub escrow: Amount,
    /// The phase now.
    pub phase: LargePhase,
    /// Each part's job id and escrow.
    pub parts: Vec<(JobId, Amount)>,
    /// The commit phase's last tick.
    pub commit_ends: Tick,
    /// The reveal phase's last tick.
    pub reveal_ends: Tick,
    /// The bids.
    pub bids: Vec<BidView>,
    /// The winner.
    pub winner: Option<LargeWinner>,
}

/// Output of [`OPEN_LARGE_JOBS`].
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LargeJobPage {
    /// The large jobs, ascending by id.
    pub jobs: Vec<LargeJobView>,
    /// Pass as `cursor` for the next page.
    pub next_cursor: Option<u64>,
}

/// Output of [`LARGE_JOB_STATS`].
#[derive(
    Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub struct LargeJobStats {
    /// Large jobs ever posted (the last id).
    pub posted: u64,
    /// Large jobs still bidding.
    pub bidding: u64,
    /// Bonds held by this contract now: its balance equals it.
    pub bonds_held: Amount,
    /// Bonds ever burned.
    pub bonds_burned: Amount,
}

/// The large-job auction's events.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub enum LargeJobEvent {
    /// Posted: escrow locked per part, bidding open.
    Posted {
        /// The large job.
        large_job_id: u64,
        /// Who paid.
        requester: Identity,
        /// The parts' reserved job ids and escrows.
        parts: Vec<(JobId, Amount)>,
        /// The escrow, in all.
        escrow: Amount,
        /// The commit phase's last tick.
        commit_ends: Tick,
        /// The reveal phase's last tick.
        reveal_ends: Tick,
    },
    /// A bid was committed, its bond held.
    BidCommitted {
        /// The large job.
        large_job_id: u64,
        /// The bidder.
        bidder: Identity,
        /// Its pool.
        pool: Option<u64>,
        /// The commitment.
        commitment: Hash32,
        /// The bond.
        bond: Amount,
    },
    /// A bid was revealed (its price stays out of the views until the reveal deadline).
    BidRevealed {
        /// The large job.
        large_job_id: u64,
        /// The bidder.
        bidder: Identity,
    },
    /// A bond went back (a revealed bid) or burned (an unrevealed one).
    BondSettled {
        /// The large job.
        large_job_id: u64,
        /// The bidder.
        bidder: Identity,
        /// The revealed price, if any.
        price_per_1k: Option<Amount>,
        /// The bond.
        bond: Amount,
        /// `true`: burned.
        burned: bool,
    },
    /// The auction closed with a winner: its parts are now jobs, assigned at its price.
    Awarded {
        /// The large job.
        large_job_id: u64,
        /// The winner.
        winner: LargeWinner,
        /// Each part's job and the worker it was offered to (`None`: left open for the
        /// matcher).
        assigned: Vec<(JobId, Option<WorkerId>)>,
    },
    /// The auction closed without a valid bid: refunded in full.
    Unawarded {
        /// The large job.
        large_job_id: u64,
        /// Refunded to the requester.
        refunded: Amount,
    },
}

/// The large-job auction's genesis settings (`jobs.large` in a node's `market.json`).
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct LargeJobConfig {
    /// The most parts a large job has (default 16, at most 64).
    pub max_parts: u32,
    /// The most bids a large job takes (default 32, at most 256).
    pub max_bids: u32,
    /// The bond of every bid (default 100; positive).
    pub bid_bond: Amount,
    /// The shortest and longest commit phase, in ticks (default 1 and 10,000).
    pub min_commit_ticks: u32,
    /// See `min_commit_ticks`.
    pub max_commit_ticks: u32,
    /// The shortest and longest reveal phase, in ticks (default 1 and 10,000).
    pub min_reveal_ticks: u32,
    /// See `min_reveal_ticks`.
    pub max_reveal_ticks: u32,
    /// The stake a winner locks: basis points of its price × the parts' tokens / 1000
    /// (default 1,000: a tenth of the most it can earn; at most 10,000).
    pub stake_bps: u16,
    /// The most auctions closed in one END_TICK; the rest carry over (default 4).
    pub max_awards_per_tick: u32,
}

impl Default for LargeJobConfig {
    fn default() -> Self {
        LargeJobConfig {
            max_parts: 16,
            max_bids: 32,
            bid_bond: Amount(100),
            min_commit_ticks: 1,
            max_commit_ticks: 10_000,
            min_reveal_ticks: 1,
            max_reveal_ticks: 10_000,
            stake_bps: 1_000,
            max_awards_per_tick: 4,
        }
    }
}

/// Why a [`LargeJobConfig`] is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LargeJobConfigError {
    /// A count outside its range.
    #[error("{field} must be between {min} and {max}, got {got}")]
    OutOfRange {
        /// The setting.
        field: &'static str,
        /// The least.
        min: u64,
        /// The most.
        max: u64,
        /// Given.
        got: u64,
    },
    /// A phase's bounds are the wrong way round.
    #[error("{0}: the longest phase is below the shortest")]
    PhaseBounds(&'static str),
}

impl LargeJobConfig {
    /// Checks the settings.
    pub fn validate(&self) -> Result<(), LargeJobConfigError> {
        let max_amount = comqute_qpi::primitives::MAX_AMOUNT as u64;
        for (field, got, min, max) in [
            ("maxParts", u64::from(self.max_parts), 1, 64),
            ("maxBids", u64::from(self.max_bids), 1, 256),
            (
                "bidBond",
                u64::try_from(self.bid_bond.0).unwrap_or(0),
                1,
                max_amount,
            ),
            (
                "minCommitTicks",
                u64::from(self.min_commit_ticks),
                1,
                u64::from(u32::MAX),
            ),
            (
                "minRevealTicks",
                u64::from(self.min_reveal_ticks),
                1,
                u64::from(u32::MAX),
            ),
            ("stakeBps", u64::from(self.stake_bps), 0, 10_000),
            (
                "maxAwardsPerTick",
                u64::from(self.max_awards_per_tick),
                1,
                1_024,
            ),
        ] {
            if got < min || got > max {
                return Err(LargeJobConfigError::OutOfRange {
                    field,
                    min,
                    max,
                    got,
                });
            }
        }
        if self.max_commit_ticks < self.min_commit_ticks {
            return Err(LargeJobConfigError::PhaseBounds("commit"));
        }
        if self.max_reveal_ticks < self.min_reveal_ticks {
            return Err(LargeJobConfigError::PhaseBounds("reveal"));
        }
        Ok(())
    }
}

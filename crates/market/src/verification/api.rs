//! The verification contract's interface: its index, entry points, inputs, outputs, events,
//! errors and genesis settings.

use borsh::{BorshDeserialize, BorshSerialize};
use comqute_qpi::primitives::{Amount, ContractIndex, Hash32, Identity, Tick};
use comqute_qpi::{contract_api, rejected_errors};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::ids::{JobId, WorkerId};

contract_api! {
    index: 5, name: "verification", events: CheckEvent, errors: CheckError::ALL_CODES,
    procedures: {
        /// Job registry only: a result was posted ([`OpenCheck`] without a challenger: the
        /// chain draws whether to spot-check it) or challenged (with one; the invocation
        /// reward is the challenger's bond).
        OPEN_CHECK = 1 "open_check": OpenCheck => CheckOpened,
        /// A replica commits to its vote: `blake3(vote ‖ salt ‖ replica ‖ job)` (see
        /// [`commitment`]); the invocation reward is its bond.
        COMMIT = 2 "commit": Commit => (),
        /// A replica reveals the vote it committed to.
        REVEAL = 3 "reveal": Reveal => (),
        /// Job registry only: hands over up to this many verdicts not yet applied, oldest
        /// first, and forgets them.
        TAKE_VERDICTS = 4 "take_verdicts": u16 => Vec<Verdict>,
        /// Job registry only: the job's money has moved by the verdict; pay replicas, bonds
        /// and the slash's shares ([`Settle::slashed`] arrived in this contract's balance).
        SETTLE = 5 "settle": Settle => Settlement,
        /// Job registry only, on a devnet: end a check with a forced verdict.
        FORCE = 6 "force": Force => Verdict,
    },
    functions: {
        /// A job's check.
        GET_CHECK = 1 "get_check": JobRef => Option<Check>,
        /// A worker's record as checked worker and as replica.
        WORKER_CHECKS = 2 "worker_checks": WorkerId => CheckRecord,
        /// The seats a worker holds as a replica and has still to commit or reveal.
        ASSIGNMENTS = 3 "assignments": WorkerId => Vec<Seat>,
        /// The spot-check rate for a job of this payment done by this worker.
        RATE = 4 "rate": RateQuery => u32,
        /// Counts and money totals.
        STATS = 5 "stats": () => CheckStats,
        /// The bond a challenge of a job with this payment needs.
        CHALLENGE_BOND = 6 "challenge_bond": Amount => Amount,
        /// Verdicts waiting for the job registry (it asks before it takes).
        PENDING_VERDICTS = 7 "pending_verdicts": () => u64,
        /// The genesis settings (replica bond, windows, thresholds, shares).
        SETTINGS = 8 "settings": () => VerifyConfig,
    },
}

/// Parts per million.
pub const PPM: u32 = 1_000_000;
/// The most replicas a round may have.
pub const MAX_REPLICAS: u8 = 7;

/// A job id. Input of [`GET_CHECK`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub struct JobRef {
    /// The job.
    pub job_id: JobId,
}

/// Input of [`OPEN_CHECK`]: what the job registry knows of the posted result.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenCheck {
    /// The job.
    pub job_id: JobId,
    /// The worker that posted the result.
    pub worker: WorkerId,
    /// Who paid.
    pub requester: Identity,
    /// The job's model id.
    pub model: Hash32,
    /// The runtime fingerprint posted with the result.
    pub runtime: Hash32,
    /// The posted result hash.
    pub result_hash: Hash32,
    /// Output tokens claimed.
    pub output_tokens: u32,
    /// The job's temperature in thousandths (0: greedy), for the scoring threshold.
    pub temperature_milli: u16,
    /// What the worker would be paid (`P` in the rate formula).
    pub payment: Amount,
    /// The worker's stake at risk for the job (`S`).
    pub stake_at_risk: Amount,
    /// The challenger; `None` for the chain's own draw.
    pub challenger: Option<Identity>,
}

/// Output of [`OPEN_CHECK`].
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckOpened {
    /// Whether the job is checked (always for a challenge).
    pub checked: bool,
    /// The spot-check rate the draw used, in parts per million.
    pub rate_ppm: u32,
    /// A verdict already reached at opening (no replica available: unverifiable).
    pub verdict: Option<VerdictKind>,
}

/// What a replica found. Input part of [`REVEAL`], hashed into the [`COMMIT`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub enum Vote {
    /// It re-ran the job on the same runtime; this is the hash it got.
    Reproduced {
        /// The replica's result hash.
        result_hash: Hash32,
    },
    /// It scored the claimed output (teacher forcing on the built-in runtime): the share of
    /// claimed tokens inside its top-k, in basis points.
    Scored {
        /// Agreement, 0..=10,000.
        agreement_bps: u16,
    },
    /// It cannot check this result (no scorer for the model): abstains.
    Unable,
}

/// The commitment a replica posts: `blake3(borsh(vote) ‖ salt ‖ replica ‖ job id)`.
pub fn commitment(vote: &Vote, salt: &Hash32, replica: &Identity, job_id: JobId) -> Hash32 {
    let mut h = blake3::Hasher::new();
    // Invariant: borsh of a Copy enum of fixed-size fields cannot fail to serialize.
    h.update(&borsh::to_vec(vote).expect("vote encodes"));
    h.update(&salt.0);
    h.update(&replica.0);
    h.update(&job_id.0.to_le_bytes());
    Hash32(*h.finalize().as_bytes())
}

/// Input of [`COMMIT`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub struct Commit {
    /// The job.
    pub job_id: JobId,
    /// See [`commitment`].
    pub commitment: Hash32,
}

/// Input of [`REVEAL`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub struct Reveal {
    /// The job.
    pub job_id: JobId,
    /// The vote committed to.
    pub vote: Vote,
    /// The salt committed with.
    pub salt: Hash32,
}

/// Input of [`SETTLE`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub struct Settle {
    /// The job.
    pub job_id: JobId,
    /// Slashed from the worker and paid into this contract for the split (failed verdicts).
    pub slashed: Amount,
}

/// Input of [`FORCE`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub struct Force {
    /// The job.
    pub job_id: JobId,
    /// The forced outcome.
    pub passed: bool,
}

/// Input of [`RATE`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub struct RateQuery {
    /// The worker.
    pub worker: WorkerId,
    /// The job's payment.
    pub payment: Amount,
    /// The stake at risk.
    pub stake_at_risk: Amount,
}

/// How a check ended.
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
pub enum VerdictKind {
    /// A majority found the result right: the worker is paid.
    Passed,
    /// A majority found it wrong: refund, slash, split.
    Failed,
    /// No majority, even after escalating: refund, nobody slashed.
    NoMajority,
    /// Nobody could check it (no replica, or every replica abstained): paid, never slashed.
    Unverifiable,
}

impl VerdictKind {
    /// Its name as the CLI shows it (`verdict` field of `job verify`).
    pub fn name(self) -> &'static str {
        match self {
            VerdictKind::Passed => "passed",
            VerdictKind::Failed => "failed",
            VerdictKind::NoMajority => "no-majority",
            VerdictKind::Unverifiable => "unverifiable",
        }
    }
    /// Whether the worker is paid for the result.
    pub fn pays_worker(self) -> bool {
        matches!(self, VerdictKind::Passed | VerdictKind::Unverifiable)
    }
}

/// A verdict for the job registry to apply. Output of [`TAKE_VERDICTS`] and [`FORCE`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    /// The job.
    pub job_id: JobId,
    /// The outcome.
    pub kind: VerdictKind,
    /// Forced by the devnet's resolver, not reached by replicas.
    pub forced: bool,
}

/// Output of [`SETTLE`]: where the check's money went.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub struct Settlement {
    /// Paid to replicas from the fee pool.
    pub rewards: Amount,
    /// The slash's share paid to the majority replicas.
    pub to_replicas: Amount,
    /// The slash's share paid to the challenger.
    pub to_challenger: Amount,
    /// The slash's share paid to the requester.
    pub to_requester: Amount,
    /// Burned (the burn share and every remainder).
    pub burned: Amount,
    /// A lost challenge's bond paid to the worker.
    pub bond_to_worker: Amount,
    /// Replica bonds forfeited (outvoted or silent), kept in the fee pool.
    pub bonds_forfeited: Amount,
}

/// Where a check stands.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
pub enum CheckPhase {
    /// Replicas commit (reveals open when every seat committed or the commit deadline passed).
    Commit,
    /// Replicas reveal.
    Reveal,
    /// A verdict was reached; the job registry has not applied it yet.
    Decided,
    /// The job's money moved by the verdict. Terminal.
    Settled,
}

/// How a replica seat ended up.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
pub enum SeatState {
    /// Waiting for the commit.
    Assigned,
    /// Committed; waiting for the reveal.
    Committed,
    /// Revealed.
    Revealed,
    /// Missed its commit or reveal deadline (replaced once; a second miss stays silent).
    Silent,
}

/// One replica seat of a check.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Seat {
    /// The job checked.
    pub job_id: JobId,
    /// The replica.
    pub replica: WorkerId,
    /// The round (1, or 2 after escalation).
    pub round: u8,
    /// Where it stands.
    pub state: SeatState,
    /// Its commitment.
    pub commitment: Option<Hash32>,
    /// Its bond, held here.
    pub bond: Amount,
    /// Its vote, once revealed.
    pub vote: Option<Vote>,
    /// Its vote's meaning: `Some(true)` pass, `Some(false)` fail, `None` abstain or no vote.
    pub passes: Option<bool>,
    /// This seat replaced a silent replica (it is not replaced again).
    pub replacement: bool,
    /// Commit by this tick.
    pub commit_by: Tick,
    /// Reveal by this tick.
    pub reveal_by: Tick,
}

/// A check's record.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    /// What the job registry reported.
    pub job: OpenCheck,
    /// The rate the draw used (ppm); `PPM` for a challenge.
    pub rate_ppm: u32,
    /// The challenger's bond, held here.
    pub challenger_bond: Amount,
    /// The round: 1, or 2 after escalating.
    pub round: u8,
    /// Seats the current round has (missing ones count as silent).
    pub seats_wanted: u8,
    /// Where it stands.
    pub phase: CheckPhase,
    /// Every seat, every round.
    pub seats: Vec<Seat>,
    /// The verdict, once reached.
    pub verdict: Option<VerdictKind>,
    /// Forced on a devnet.
    pub forced: bool,
    /// When it opened.
    pub opened_at: Tick,
    /// When it was decided.
    pub decided_at: Option<Tick>,
    /// Where its money went, once settled.
    pub settlement: Option<Settlement>,
}

impl Check {
    /// The seats of the current round.
    pub fn current(&self) -> impl Iterator<Item = &Seat> {
        let r = self.round;
        self.seats.iter().filter(move |s| s.round == r)
    }
}

/// A worker's record. Output of [`WORKER_CHECKS`].
#[derive(
    Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub struct CheckRecord {
    /// Its results checked (spot checks and challenges).
    pub checked: u64,
    /// Checks passed.
    pub passed: u64,
    /// Checks failed (slashed).
    pub failed: u64,
    /// Checks without a majority or unverifiable.
    pub inconclusive: u64,
    /// Checks passed in a row (a new worker is checked more often until this reaches the
    /// genesis `trustedAfter`).
    pub streak: u32,
    /// Seats held as a replica.
    pub seats: u64,
    /// Seats voting with the majority.
    pub with_majority: u64,
    /// Seats outvoted.
    pub outvoted: u64,
    /// Seats that missed a deadline.
    pub silent: u64,
    /// Rewards and slash shares earned as a replica.
    pub earned: Amount,
    /// Bonds lost as a replica.
    pub bonds_lost: Amount,
}

/// Output of [`STATS`].
#[derive(
    Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub struct CheckStats {
    /// Results offered to the draw.
    pub results_seen: u64,
    /// Spot checks opened.
    pub spot_checks: u64,
    /// Results drawn for a spot check that too few workers could check (they wait out the
    /// challenge window instead).
    pub spot_checks_without_replicas: u64,
    /// Challenges opened.
    pub challenges: u64,
    /// Verdicts by kind: passed, failed, no majority, unverifiable.
    pub passed: u64,
    /// See `passed`.
    pub failed: u64,
    /// See `passed`.
    pub no_majority: u64,
    /// See `passed`.
    pub unverifiable: u64,
    /// Checks escalated to a second round.
    pub escalated: u64,
    /// Replica seats handed out (replacements included).
    pub seats: u64,
    /// Bonds held now (replicas' and challengers').
    pub bonds_held: Amount,
    /// Rewards ever paid to replicas.
    pub rewards_paid: Amount,
    /// Slashes ever received for splitting.
    pub slashes_received: Amount,
    /// Ever burned by this contract.
    pub burned: Amount,
}

/// Verification events.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub enum CheckEvent {
    /// A check opened: the draw chose the job, or someone challenged it.
    Opened {
        /// The job.
        job_id: JobId,
        /// The worker checked.
        worker: WorkerId,
        /// The challenger, if any.
        challenger: Option<Identity>,
        /// Its bond.
        bond: Amount,
        /// The rate used, ppm.
        rate_ppm: u32,
    },
    /// A replica got a seat.
    ReplicaAssigned {
        /// The job.
        job_id: JobId,
        /// The replica.
        replica: WorkerId,
        /// The round.
        round: u8,
        /// Commit by.
        commit_by: Tick,
        /// Reveal by.
        reveal_by: Tick,
        /// It replaces a silent replica.
        replacement: bool,
    },
    /// A replica committed.
    Committed {
        /// The job.
        job_id: JobId,
        /// The replica.
        replica: WorkerId,
        /// Its bond.
        bond: Amount,
    },
    /// Every seat of the round committed (or the rest went silent): reveals are open.
    RevealsOpen {
        /// The job.
        job_id: JobId,
        /// The round.
        round: u8,
    },
    /// A replica revealed.
    Revealed {
        /// The job.
        job_id: JobId,
        /// The replica.
        replica: WorkerId,
        /// Its vote.
        vote: Vote,
        /// What it means: pass, fail, or abstain (`None`).
        passes: Option<bool>,
    },
    /// A replica missed a deadline.
    ReplicaSilent {
        /// The job.
        job_id: JobId,
        /// The replica.
        replica: WorkerId,
        /// Its bond, forfeited.
        bond_lost: Amount,
        /// `true`: it missed the reveal, `false`: the commit.
        committed: bool,
    },
    /// No majority in the first round: a second, larger round starts.
    Escalated {
        /// The job.
        job_id: JobId,
        /// Seats in the new round.
        seats: u8,
    },
    /// The verdict.
    Decided {
        /// The job.
        job_id: JobId,
        /// The outcome.
        verdict: VerdictKind,
        /// Votes to pass.
        passes: u8,
        /// Votes to fail.
        fails: u8,
        /// Forced on a devnet.
        forced: bool,
    },
    /// The check's money moved.
    Settled {
        /// The job.
        job_id: JobId,
        /// The verdict.
        verdict: VerdictKind,
        /// Where the money went.
        settlement: Settlement,
    },
}

/// Why the verification contract refused a call. Codes 500–599.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CheckError {
    /// The invocator may not call this procedure.
    #[error("{caller} may not call verification procedure {procedure}")]
    NotAuthorized {
        /// The invocator.
        caller: Identity,
        /// The procedure.
        procedure: u16,
    },
    /// The job has no check.
    #[error("job {0} has no check")]
    UnknownCheck(u64),
    /// The job is checked already.
    #[error("job {0} is already checked")]
    AlreadyChecked(u64),
    /// The caller holds no open seat on this check.
    #[error("{0} is not a replica of this check")]
    NotReplica(Identity),
    /// The call does not fit the check's phase.
    #[error("the check of job {job_id} is in phase {phase:?}: cannot {action}")]
    WrongPhase {
        /// The job.
        job_id: JobId,
        /// Its phase.
        phase: CheckPhase,
        /// What was tried.
        action: &'static str,
    },
    /// A commit or reveal after its deadline.
    #[error("too late: the deadline was tick {deadline}")]
    Late {
        /// The deadline.
        deadline: Tick,
    },
    /// A reveal that does not match the commitment.
    #[error("the reveal does not match the commitment")]
    CommitMismatch,
    /// A bond under the required amount.
    #[error("a bond of {needed} is needed, got {got}")]
    BondTooSmall {
        /// At least this.
        needed: Amount,
        /// Sent.
        got: Amount,
    },
    /// Money sent to a procedure that takes none.
    #[error("procedure takes no payment, got {0}")]
    UnexpectedPayment(Amount),
    /// A vote out of range.
    #[error("invalid vote: {0}")]
    InvalidVote(String),
    /// The seat already committed or revealed.
    #[error("this seat already did that")]
    AlreadyDone,
}

rejected_errors!(CheckError {
    NotAuthorized = 500,
    UnknownCheck = 501,
    AlreadyChecked = 502,
    NotReplica = 503,
    WrongPhase = 504,
    Late = 505,
    CommitMismatch = 506,
    BondTooSmall = 507,
    UnexpectedPayment = 508,
    InvalidVote = 509,
    AlreadyDone = 510,
});

/// The verification contract's genesis settings. Every share and rate is an integer.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct VerifyConfig {
    /// Whether the chain draws spot checks at all (default on). Off, only challenges check
    /// results: for test chains that want a result to wait out its window untouched.
    pub spot_checks: bool,
    /// Replicas per check, `k` (default 3).
    pub replicas: u8,
    /// Replicas of the second round when the first has no majority (default 5).
    pub escalation_replicas: u8,
    /// The assumed share of colluding replicas, `r`, in ppm (default 200,000 = 20%); `q`, the
    /// chance a majority of `k` colludes, follows from it.
    pub collusion_ppm: u32,
    /// The least spot-check rate, ppm (default 10,000 = 1%).
    pub min_rate_ppm: u32,
    /// The rate for a worker with fewer than [`trusted_after`](Self::trusted_after) passed
    /// checks in a row, ppm (default 250,000 = 25%).
    pub newcomer_rate_ppm: u32,
    /// Passed checks in a row after which the newcomer rate stops (default 10).
    pub trusted_after: u32,
    /// Share of every job's payment kept as the verification fee (the fee pool pays
    /// replicas), basis points (default 1,000 = 10%).
    pub fee_bps: u16,
    /// A replica's reward per check it voted in, as a share of the job's payment, basis
    /// points (default 10,000: a re-run is paid like the job). Paid from the fee pool, never
    /// more than the pool holds.
    pub replica_reward_bps: u16,
    /// A replica's bond, sent with its commit (default 1,000).
    pub replica_bond: Amount,
    /// Ticks a replica has to commit (default 30).
    pub commit_ticks: u32,
    /// Ticks a replica has to reveal after the commit deadline (default 20).
    pub reveal_ticks: u32,
    /// Teacher-forced scoring: a claimed token agrees when it is among the scoring model's
    /// top `score_top_k` at its position (default 8).
    pub score_top_k: u32,
    /// The least agreement to pass a greedy (temperature 0) job, bps (default 9,500:
    /// calibrated on honest and 10%-corrupted outputs of the built-in runtime and
    /// llama.cpp's server, `comqute_inference::builtin::score`).
    pub pass_bps_greedy: u16,
    /// The same for a sampled job (default 9,000, calibrated up to temperature 0.7).
    pub pass_bps_sampled: u16,
    /// The slash split on a failed check: majority replicas, bps (default 4,000).
    pub slash_replicas_bps: u16,
    /// Challenger (the replicas for a spot check), bps (default 2,000).
    pub slash_challenger_bps: u16,
    /// Requester, bps (default 2,000).
    pub slash_requester_bps: u16,
    /// Burned, bps (default 2,000). The four shares sum to 10,000; remainders burn.
    pub slash_burn_bps: u16,
    /// Reputation a replica gains per seat voting with the majority (default 20).
    pub replica_reputation_gain: u16,
    /// Reputation a replica loses when outvoted or silent (default 300).
    pub replica_reputation_loss: u16,
    /// The most checks whose deadlines one END_TICK handles (default 32).
    pub max_deadlines_per_tick: u32,
    /// The most workers examined when drawing replicas (default 64).
    pub replica_scan_limit: u32,
    /// The contracts that may open, settle and force checks (the job registry). Genesis
    /// wiring, not a setting.
    #[serde(skip)]
    pub job_clients: Vec<ContractIndex>,
}

impl Default for VerifyConfig {
    fn default() -> Self {
        VerifyConfig {
            spot_checks: true,
            replicas: 3,
            escalation_replicas: 5,
            collusion_ppm: 200_000,
            min_rate_ppm: 10_000,
            newcomer_rate_ppm: 250_000,
            trusted_after: 10,
            fee_bps: 1_000,
            replica_reward_bps: 10_000,
            replica_bond: Amount(1_000),
            commit_ticks: 30,
            reveal_ticks: 20,
            score_top_k: 8,
            pass_bps_greedy: 9_500,
            pass_bps_sampled: 9_000,
            slash_replicas_bps: 4_000,
            slash_challenger_bps: 2_000,
            slash_requester_bps: 2_000,
            slash_burn_bps: 2_000,
            replica_reputation_gain: 20,
            replica_reputation_loss: 300,
            max_deadlines_per_tick: 32,
            replica_scan_limit: 64,
            job_clients: Vec::new(),
        }
    }
}

/// Why a [`VerifyConfig`] is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum VerifyConfigError {
    /// The slash shares do not sum to 10,000.
    #[error("slash shares sum to {0} basis points, not 10000")]
    SlashShares(u32),
    /// A replica count out of range.
    #[error("{field} must be an odd number from 1 to {MAX_REPLICAS}, got {got}")]
    Replicas {
        /// The setting.
        field: &'static str,
        /// Its value.
        got: u8,
    },
    /// A rate over 1,000,000 ppm, or a share over 10,000 bps.
    #[error("{field} is {got}, over its maximum {max}")]
    OverMax {
        /// The setting.
        field: &'static str,
        /// Its value.
        got: u32,
        /// The most it may be.
        max: u32,
    },
    /// A window of 0 ticks.
    #[error("{0} must be at least 1")]
    Zero(&'static str),
    /// A negative bond.
    #[error("replicaBond must not be negative")]
    NegativeBond,
}

impl VerifyConfig {
    /// Checks the settings.
    pub fn validate(&self) -> Result<(), VerifyConfigError> {
        for (field, got) in [
            ("replicas", self.replicas),
            ("escalationReplicas", self.escalation_replicas),
        ] {
            if got == 0 || got > MAX_REPLICAS || got % 2 == 0 {
                return Err(VerifyConfigError::Replicas { field, got });
            }
        }
        let bps = u32::from(crate::rules::BPS);
        for (field, got, max) in [
            ("collusionPpm", self.collusion_ppm, PPM),
            ("minRatePpm", self.min_rate_ppm, PPM),
            ("newcomerRatePpm", self.newcomer_rate_ppm, PPM),
            ("feeBps", u32::from(self.fee_bps), bps),
            ("passBpsGreedy", u32::from(self.pass_bps_greedy), bps),
            ("passBpsSampled", u32::from(self.pass_bps_sampled), bps),
        ] {
            if got > max {
                return Err(VerifyConfigError::OverMax { field, got, max });
            }
        }
        for (field, v) in [
            ("commitTicks", self.commit_ticks),
            ("revealTicks", self.reveal_ticks),
            ("maxDeadlinesPerTick", self.max_deadlines_per_tick),
            ("replicaScanLimit", self.replica_scan_limit),
            ("scoreTopK", self.score_top_k),
        ] {
            if v == 0 {
                return Err(VerifyConfigError::Zero(field));
            }
        }
        if self.replica_bond.0 < 0 {
            return Err(VerifyConfigError::NegativeBond);
        }
        let shares = u32::from(self.slash_replicas_bps)
            + u32::from(self.slash_challenger_bps)
            + u32::from(self.slash_requester_bps)
            + u32::from(self.slash_burn_bps);
        if shares != bps {
            return Err(VerifyConfigError::SlashShares(shares));
        }
        Ok(())
    }

    /// `q`: the chance, in ppm, that a majority of `k` replicas collude when each does with
    /// probability [`collusion_ppm`](Self::collusion_ppm). Integer maths (u128).
    pub fn collusion_majority_ppm(&self, k: u8) -> u32 {
        let m = u128::from(PPM);
        let r = u128::from(self.collusion_ppm);
        let k = u32::from(k);
        let mut q = 0u128;
        for j in (k / 2 + 1)..=k {
            let c = binomial(k, j);
            // r^j (m−r)^(k−j) / m^(k−1), in ppm.
            let term = c * r.pow(j) * (m - r).pow(k - j) / m.pow(k - 1);
            q += term;
        }
        u32::try_from(q.min(m)).unwrap_or(PPM)
    }

    /// The spot-check rate in ppm for a job paying `payment` with `stake` at risk, done by a
    /// worker with `streak` passed checks in a row: the least rate at which cheating does not
    /// pay, `p > P / ((1−q)(P+S))` (Proof of Sampling), never under
    /// [`min_rate_ppm`](Self::min_rate_ppm), and at least the newcomer rate for a worker not
    /// yet trusted.
    pub fn rate_ppm(&self, payment: Amount, stake: Amount, streak: u32) -> u32 {
        let m = u128::from(PPM);
        let q = u128::from(self.collusion_majority_ppm(self.replicas));
        let p = u128::try_from(payment.0.max(0)).unwrap_or(0);
        let s = u128::try_from(stake.0.max(0)).unwrap_or(0);
        let honest = if p == 0 {
            0
        } else if q >= m || p + s == 0 {
            m
        } else {
            // floor(P·m·m / ((m−q)(P+S))) + 1: strictly above the bound.
            (p * m * m / ((m - q) * (p + s)) + 1).min(m)
        };
        let mut rate = u32::try_from(honest).unwrap_or(PPM).max(self.min_rate_ppm);
        if streak < self.trusted_after {
            rate = rate.max(self.newcomer_rate_ppm);
        }
        rate.min(PPM)
    }

    /// The bond a challenge needs: the reward of `k` replicas for a job paying `payment`
    /// (at least the replica bond).
    pub fn challenge_bond(&self, payment: Amount) -> Amount {
        let per = share(payment, self.replica_reward_bps);
        let k = i64::from(self.replicas);
        Amount(per.0.saturating_mul(k).max(self.replica_bond.0).max(1))
    }

    /// The longest a check can take, in ticks: two rounds, each with one replacement of
    /// silent seats, `4 × (commit_ticks + reveal_ticks)`. The job registry's check timeout
    /// must not be shorter.
    pub fn longest_check_ticks(&self) -> u32 {
        self.commit_ticks
            .saturating_add(self.reveal_ticks)
            .saturating_mul(4)
    }

    /// The least agreement (bps) that passes a scored vote for a job at this temperature.
    pub fn pass_bps(&self, temperature_milli: u16) -> u16 {
        if temperature_milli == 0 {
            self.pass_bps_greedy
        } else {
            self.pass_bps_sampled
        }
    }
}

/// `amount × bps / 10,000`, floored, in i128 so it cannot overflow.
pub fn share(amount: Amount, bps: u16) -> Amount {
    let v = i128::from(amount.0.max(0)) * i128::from(bps) / i128::from(crate::rules::BPS);
    Amount(i64::try_from(v).unwrap_or(i64::MAX))
}

fn binomial(n: u32, k: u32) -> u128 {
    let mut c = 1u128;
    for i in 0..k {
        c = c * u128::from(n - i) / u128::from(i + 1);
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_follows_the_reference_figures() {
        let c = VerifyConfig::default();
        // r = 0.2, k = 3: q = 0.104.
        assert_eq!(c.collusion_majority_ppm(3), 104_000);
        let trusted = |p: i64, s: i64| {
            VerifyConfig {
                min_rate_ppm: 0,
                ..c.clone()
            }
            .rate_ppm(Amount(p), Amount(s), c.trusted_after)
        };
        // Stake 20·P: p > 5.3%; 50·P: > 2.2%; 100·P: > 1.1%.
        assert_eq!(trusted(100, 2_000) / 1_000, 53);
        assert_eq!(trusted(100, 5_000) / 1_000, 21);
        assert_eq!(trusted(100, 10_000) / 1_000, 11);
        // A newcomer is checked at 25% at least; the floor applies to everyone.
        assert_eq!(c.rate_ppm(Amount(1), Amount(10_000), 0), 250_000);
        assert_eq!(c.rate_ppm(Amount(1), Amount(10_000), 10), 10_000);
        assert_eq!(c.rate_ppm(Amount(100), Amount(0), 10), PPM);
    }

    #[test]
    fn settings_are_checked() {
        assert_eq!(VerifyConfig::default().validate(), Ok(()));
        let bad = VerifyConfig {
            replicas: 2,
            ..VerifyConfig::default()
        };
        assert!(matches!(
            bad.validate(),
            Err(VerifyConfigError::Replicas { .. })
        ));
        let bad = VerifyConfig {
            slash_burn_bps: 0,
            ..VerifyConfig::default()
        };
        assert_eq!(bad.validate(), Err(VerifyConfigError::SlashShares(8_000)));
    }
}

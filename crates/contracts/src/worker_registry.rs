//! The worker registry (contract index 2): workers with their stake, capabilities,
//! heartbeat, reputation and unbonding.
//!
//! A worker registers with a stake of at least [`MarketConfig::min_stake`] (the invocation
//! reward, locked in the escrow vault) and its [`Capabilities`]: models served (ids, see
//! [`crate::marketplace::model_id`]), GPU, VRAM, benchmarked tokens/s, price per 1,000
//! output tokens and how many jobs it runs at once.
//!
//! - **Online**: a worker whose last heartbeat is more than
//!   [`MarketConfig::heartbeat_window`] ticks old is offline and gets no new jobs.
//!   [`HEARTBEAT`], [`REGISTER`], [`UPDATE`], [`SET_AVAILABLE`] and [`TOP_UP`] all count as a
//!   heartbeat. A daemon that stops signs off ([`SET_AVAILABLE`] `false` with its session):
//!   the worker is offline at once, not a heartbeat window later.
//! - **Sessions**: a worker daemon heartbeats with a random session number. While one
//!   session is online, a heartbeat or availability change from another session is refused
//!   ([`WorkerError::SessionInUse`]) unless it asks to take over: two daemons on one key
//!   cannot both serve it. Session 0 is a manual call (the CLI's `worker heartbeat`), never
//!   refused and never recorded.
//! - **Available**: a worker that declares itself available ([`SET_AVAILABLE`]) is *listed*
//!   for its models and the job registry's END_TICK matcher may hand it jobs (auto-claim).
//!   Listed means: active, available, stake at least the minimum, a free job slot.
//! - **Reputation**: `0..=10,000`, starts at [`MarketConfig::initial_reputation`], rises
//!   with each finalized job and falls with a failure, an expiry or a lost dispute.
//! - **Stake**: a slashed worker below the minimum takes no jobs until it tops up
//!   ([`TOP_UP`]).
//! - **Leaving**: [`UNBOND`] (refused while the worker holds jobs, including jobs in their
//!   challenge window), then [`WITHDRAW`] after [`MarketConfig::unbonding_ticks`]. The record
//!   stays (status `Exited`) with its reputation, so leaving does not wash a reputation;
//!   registering again reactivates it.
//!
//! [`ASSIGN`] and [`RELEASE`] are for the job registry alone: they take and give back a job
//! slot, move reputation and slash. The registry has no tick hooks; "online" and "unbonded"
//! follow from ticks stored in the record.
//!
//! Workers are numbered in registration order; the numbers key the per-model indices
//! (storage keys are at most 43 bytes, too short for a model id and an identity).
//!
//! Models are declared by name; the registry keys them by id ([`crate::marketplace::model_id`]
//! of the name) and remembers every name it has seen, so a job's model id can be shown by
//! name ([`MODELS`], [`MODEL_NAME`]).

use std::cmp::Reverse;
use std::ops::Bound;

use borsh::{BorshDeserialize, BorshSerialize};
use serde::Serialize;
use thiserror::Error;

use crate::error::ContractError;
use crate::escrow::{
    LockStake, ReturnStake, SlashOutcome, SlashStake, LOCK_STAKE, RETURN_STAKE, SLASH_STAKE,
};
use crate::marketplace::{
    adjust_reputation, rejected_errors, tie_break, MarketConfig, ESCROW, JOB_REGISTRY, MAX_PAGE,
    WORKER_REGISTRY,
};
use crate::primitives::{Amount, ContractIndex, Hash32, Identity, Tick, MAX_AMOUNT};
use crate::qpi::{
    decode_input, encode, key_u32, key_u64, prefix_upper_bound, Contract, Ctx, KeyBuf, TickWork,
    View,
};

/// Procedure 1: register, [`Capabilities`]; the invocation reward is the stake. Output: the
/// worker's number (`u64`).
pub const REGISTER: u16 = 1;
/// Procedure 2: replace the capabilities, [`Capabilities`].
pub const UPDATE: u16 = 2;
/// Procedure 3: heartbeat, [`Heartbeat`].
pub const HEARTBEAT: u16 = 3;
/// Procedure 4: declare availability for auto-claim, [`SetAvailable`].
pub const SET_AVAILABLE: u16 = 4;
/// Procedure 5: add the invocation reward to the stake, `()`.
pub const TOP_UP: u16 = 5;
/// Procedure 6: start unbonding, `()`. Refused while the worker holds jobs.
pub const UNBOND: u16 = 6;
/// Procedure 7: take the whole stake back once unbonded, `()`.
pub const WITHDRAW: u16 = 7;
/// Procedure 20 (job registry only): take a job slot, [`Assign`] → [`Assignment`].
pub const ASSIGN: u16 = 20;
/// Procedure 21 (job registry only): report a job's outcome, [`Release`] →
/// [`ReleaseOutcome`].
pub const RELEASE: u16 = 21;

/// Function 1: one worker, [`WorkerQuery`] → `Option<WorkerInfo>`.
pub const GET_WORKER: u16 = 1;
/// Function 2: workers serving a model, [`WorkersByModel`] → [`WorkerPage`].
pub const WORKERS_BY_MODEL: u16 = 2;
/// Function 3: the best listed worker for a job, [`FindWorker`] → `Option<Identity>`.
pub const FIND_WORKER: u16 = 3;
/// Function 4: `()` → `u64`, a counter that grows whenever a listed worker may have become
/// a better match (the job registry re-runs matching when it moves).
pub const MATCH_VERSION: u16 = 4;
/// Function 5: `()` → [`WorkerStats`].
pub const WORKER_STATS: u16 = 5;
/// Function 6: every model name a worker ever declared, [`ModelsQuery`] → [`ModelPage`].
pub const MODELS: u16 = 6;
/// Function 7: a model's name, `Hash32` (its id) → `Option<String>`.
pub const MODEL_NAME: u16 = 7;

/// The most models one worker serves.
pub const MAX_MODELS: usize = 8;
/// The longest GPU name, in bytes.
pub const MAX_GPU_NAME: usize = 64;
/// The most jobs a worker runs at once.
pub const MAX_CONCURRENT: u16 = 64;
/// The most identities [`FindWorker::exclude`] holds.
pub const MAX_EXCLUDE: usize = 4;
/// The longest model name, in bytes.
pub const MAX_MODEL_NAME: usize = 64;

/// Whether `name` may name a model: 1 to [`MAX_MODEL_NAME`] bytes, no whitespace or control
/// characters.
pub fn valid_model_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_MODEL_NAME
        && !name.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// What a worker offers. Input of [`REGISTER`] and [`UPDATE`].
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Capabilities {
    /// Model names served (1 to [`MAX_MODELS`], no repeats; see [`valid_model_name`]).
    pub models: Vec<String>,
    /// GPU name (at most [`MAX_GPU_NAME`] bytes).
    pub gpu: String,
    /// VRAM in MB.
    pub vram_mb: u32,
    /// Benchmarked output tokens per second.
    pub tokens_per_s: u32,
    /// Price per 1,000 output tokens.
    pub price_per_1k: Amount,
    /// Jobs run at once (1 to [`MAX_CONCURRENT`]).
    pub max_concurrent: u16,
}

impl Capabilities {
    /// The ids of the models served, in the order declared.
    pub fn model_ids(&self) -> Vec<Hash32> {
        self.models
            .iter()
            .map(|m| crate::marketplace::model_id(m))
            .collect()
    }

    /// Whether the model with this id is served.
    pub fn serves(&self, model: &Hash32) -> bool {
        self.models
            .iter()
            .any(|m| crate::marketplace::model_id(m) == *model)
    }

    /// Checks the capabilities as [`REGISTER`] and [`UPDATE`] do.
    pub fn validate(&self) -> Result<(), WorkerError> {
        let bad = |s: String| Err(WorkerError::InvalidCapabilities(s));
        if self.models.is_empty() || self.models.len() > MAX_MODELS {
            return bad(format!(
                "between 1 and {MAX_MODELS} models, got {}",
                self.models.len()
            ));
        }
        if let Some(m) = self.models.iter().find(|m| !valid_model_name(m)) {
            return bad(format!(
                "model name {m:?} must be 1 to {MAX_MODEL_NAME} bytes with no spaces"
            ));
        }
        let mut sorted = self.models.clone();
        sorted.sort();
        sorted.dedup();
        if sorted.len() != self.models.len() {
            return bad("a model is listed twice".into());
        }
        if self.gpu.len() > MAX_GPU_NAME {
            return bad(format!("GPU name longer than {MAX_GPU_NAME} bytes"));
        }
        if !(0..=MAX_AMOUNT).contains(&self.price_per_1k.0) {
            return bad(format!("price {} out of range", self.price_per_1k));
        }
        if self.max_concurrent == 0 || self.max_concurrent > MAX_CONCURRENT {
            return bad(format!(
                "max_concurrent between 1 and {MAX_CONCURRENT}, got {}",
                self.max_concurrent
            ));
        }
        Ok(())
    }
}

/// Input of [`SET_AVAILABLE`].
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct SetAvailable {
    /// Whether the matcher may hand this worker jobs.
    pub available: bool,
    /// The caller's daemon session (0: a manual call). `false` from the recorded session
    /// signs the worker off: offline at once.
    pub session: u64,
}

/// Input of [`HEARTBEAT`].
#[derive(Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct Heartbeat {
    /// The daemon's session (0: a manual heartbeat, never refused, not recorded).
    pub session: u64,
    /// Replace another session that is still online (its daemon is gone or is to stop).
    pub takeover: bool,
}

/// Input of [`MODELS`].
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct ModelsQuery {
    /// Start after this model id (`None`: from the first).
    pub cursor: Option<Hash32>,
    /// At most this many (capped at [`MAX_PAGE`]).
    pub limit: u16,
}

/// One model the registry knows: its id and name.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct ModelName {
    /// blake3 of the name.
    pub id: Hash32,
    /// The name.
    pub name: String,
}

/// Output of [`MODELS`], ascending by id.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelPage {
    /// The models.
    pub models: Vec<ModelName>,
    /// Pass as `cursor` for the next page.
    pub next_cursor: Option<Hash32>,
}

/// Input of [`ASSIGN`]: the job's requirements; the worker must meet them.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct Assign {
    /// The worker.
    pub worker: Identity,
    /// The job.
    pub job_id: u64,
    /// The job's model.
    pub model: Hash32,
    /// The job's price ceiling.
    pub max_price_per_1k: Amount,
    /// The job's reputation floor.
    pub min_reputation: u16,
}

/// Output of [`ASSIGN`].
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct Assignment {
    /// The worker's price, fixed for the job.
    pub price_per_1k: Amount,
    /// The worker's reputation.
    pub reputation: u16,
}

/// How a job ended for its worker. Input part of [`RELEASE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub enum Outcome {
    /// A result was posted: the slot is free, the job waits out its challenge window.
    Delivered,
    /// The challenge window passed: reputation up.
    Finalized,
    /// The worker declined the job before starting it: no cost.
    Declined,
    /// The worker neither started nor declined in time: a small reputation loss.
    NoAnswer,
    /// The worker gave the job up after starting it: reputation down.
    Failed,
    /// The worker started the job and let its delivery deadline pass: slashed, reputation
    /// down.
    Expired,
    /// The resolver sided with the worker: reputation up.
    DisputeWon,
    /// The resolver sided with the requester: slashed, reputation down.
    DisputeLost,
    /// No verdict before the dispute timeout: the result stood, no reputation change.
    Unresolved,
}

/// Input of [`RELEASE`].
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct Release {
    /// The worker.
    pub worker: Identity,
    /// The job.
    pub job_id: u64,
    /// What happened.
    pub outcome: Outcome,
    /// The job's requester (paid a share of a slash).
    pub requester: Identity,
    /// The challenger, if any (paid a share of a slash).
    pub challenger: Option<Identity>,
    /// Paid to the worker for the job (finalized outcomes), for its earnings record.
    pub earned: Amount,
}

/// Output of [`RELEASE`].
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct ReleaseOutcome {
    /// The worker's reputation now.
    pub reputation: u16,
    /// The slash, if any.
    pub slash: SlashOutcome,
}

/// Input of [`GET_WORKER`].
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct WorkerQuery {
    /// The worker.
    pub worker: Identity,
}

/// Input of [`WORKERS_BY_MODEL`]: a page of the workers serving `model`, by number.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct WorkersByModel {
    /// The model id.
    pub model: Hash32,
    /// Start after this worker number (`None`: from the first).
    pub cursor: Option<u64>,
    /// At most this many (capped at [`MAX_PAGE`]).
    pub limit: u16,
}

/// Output of [`WORKERS_BY_MODEL`].
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkerPage {
    /// The workers.
    pub workers: Vec<WorkerInfo>,
    /// Pass as `cursor` for the next page; `None` when this was the last.
    pub next_cursor: Option<u64>,
}

/// Input of [`FIND_WORKER`]: among listed, online workers serving `model` at or under the
/// price with at least the reputation, the cheapest, then the most reputable, then the one
/// the seed draws. At most [`MarketConfig::match_scan_limit`] listed workers are looked at,
/// starting at a worker number drawn from the seed.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct FindWorker {
    /// The model id.
    pub model: Hash32,
    /// Price ceiling.
    pub max_price_per_1k: Amount,
    /// Reputation floor.
    pub min_reputation: u16,
    /// Identities never chosen (the requester, a worker that gave the job up); at most
    /// [`MAX_EXCLUDE`].
    pub exclude: Vec<Identity>,
    /// Seed for the scan start and for ties.
    pub tie_seed: Hash32,
}

/// Where a worker stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub enum WorkerStatus {
    /// Registered, may take jobs.
    Active,
    /// Leaving; may withdraw from `until` on.
    Unbonding {
        /// The first tick of withdrawal.
        until: Tick,
    },
    /// Withdrew its stake. Registering again reactivates it.
    Exited,
}

/// A worker's record.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Worker {
    /// Its identity.
    pub id: Identity,
    /// Its number (registration order, from 1).
    pub number: u64,
    /// What it offers.
    pub capabilities: Capabilities,
    /// Its stake (held by the escrow vault).
    pub stake: Amount,
    /// `0..=10,000`.
    pub reputation: u16,
    /// Where it stands.
    pub status: WorkerStatus,
    /// Declared available for auto-claim.
    pub available: bool,
    /// Jobs assigned or running.
    pub active_jobs: u16,
    /// Jobs delivered and waiting out their challenge window or dispute.
    pub settling_jobs: u32,
    /// The tick of its last heartbeat.
    pub last_heartbeat: Tick,
    /// When it (last) registered.
    pub registered_at: Tick,
    /// Jobs finalized (or won or left unresolved in dispute).
    pub jobs_completed: u64,
    /// Jobs given up.
    pub jobs_failed: u64,
    /// Jobs it let expire.
    pub jobs_expired: u64,
    /// Disputes lost.
    pub disputes_lost: u64,
    /// Assignments declined, or left unanswered, before starting.
    pub jobs_declined: u64,
    /// Everything ever slashed.
    pub total_slashed: Amount,
    /// Everything ever paid for its jobs.
    pub total_earned: Amount,
    /// The daemon session of its last heartbeat (0: none, or signed off).
    pub session: u64,
    /// Its daemon signed off: offline until the next heartbeat.
    pub signed_off: bool,
    /// The ids of `capabilities.models`, in the same order: hashed once when the models are
    /// declared, not on every match and job step.
    pub model_ids: Vec<Hash32>,
}

impl Worker {
    fn is_active(&self) -> bool {
        self.status == WorkerStatus::Active
    }
    /// Whether it is online at `now`: a recent enough heartbeat, and not signed off.
    pub fn online_at(&self, now: Tick, window: u32) -> bool {
        !self.signed_off && u64::from(self.last_heartbeat.0) + u64::from(window) >= u64::from(now.0)
    }
    /// Whether its heartbeats count for the online statistics.
    fn beating(&self) -> bool {
        self.is_active() && !self.signed_off
    }
}

/// Output part of [`GET_WORKER`] and [`WORKERS_BY_MODEL`]: the record and what follows
/// from it now.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkerInfo {
    /// The record.
    pub worker: Worker,
    /// Heartbeat recent enough.
    pub online: bool,
    /// Active, online, stake at least the minimum and a free slot.
    pub can_take_jobs: bool,
}

/// Output of [`WORKER_STATS`].
#[derive(Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkerStats {
    /// Workers ever registered (numbers handed out).
    pub registered: u64,
    /// Active workers.
    pub active: u64,
    /// Unbonding workers.
    pub unbonding: u64,
    /// Exited workers.
    pub exited: u64,
    /// Active workers with a recent heartbeat.
    pub online: u64,
    /// Sum of all stakes.
    pub total_staked: Amount,
}

/// Worker registry events. Each carries enough to update an indexer's copy of the record;
/// the event's tick is the time of the change (and of the heartbeat, for the procedures
/// that count as one).
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub enum WorkerEvent {
    /// A worker registered (or re-registered after exiting).
    Registered {
        /// The worker.
        worker: Identity,
        /// Its number.
        number: u64,
        /// What it offers.
        capabilities: Capabilities,
        /// Its stake.
        stake: Amount,
        /// Its reputation.
        reputation: u16,
    },
    /// Capabilities replaced.
    Updated {
        /// The worker.
        worker: Identity,
        /// What it offers now.
        capabilities: Capabilities,
    },
    /// A heartbeat.
    Heartbeat {
        /// The worker.
        worker: Identity,
        /// The daemon session recorded now (0: none).
        session: u64,
    },
    /// Availability for auto-claim changed.
    AvailabilityChanged {
        /// The worker.
        worker: Identity,
        /// Now.
        available: bool,
        /// Its daemon signed off: offline at once, session over, heartbeat tick unchanged.
        /// Otherwise the change counts as a heartbeat.
        signed_off: bool,
        /// The daemon session recorded now (0: none).
        session: u64,
    },
    /// Stake added.
    ToppedUp {
        /// The worker.
        worker: Identity,
        /// Added.
        amount: Amount,
        /// The stake now.
        stake: Amount,
    },
    /// Unbonding started; availability is off.
    Unbonding {
        /// The worker.
        worker: Identity,
        /// The first tick of withdrawal.
        until: Tick,
    },
    /// The stake went back; the worker exited.
    Withdrawn {
        /// The worker.
        worker: Identity,
        /// Returned.
        amount: Amount,
    },
    /// A job slot was taken.
    Assigned {
        /// The worker.
        worker: Identity,
        /// The job.
        job_id: u64,
        /// The price fixed for the job.
        price_per_1k: Amount,
        /// Jobs assigned or running now.
        active_jobs: u16,
    },
    /// A job's outcome was applied.
    Released {
        /// The worker.
        worker: Identity,
        /// The job.
        job_id: u64,
        /// What happened.
        outcome: Outcome,
        /// Reputation now.
        reputation: u16,
        /// Stake now.
        stake: Amount,
        /// Slashed by this outcome.
        slashed: Amount,
        /// Jobs assigned or running now.
        active_jobs: u16,
        /// Jobs settling now.
        settling_jobs: u32,
    },
}

/// Why the worker registry refused a call. Codes 200–299.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WorkerError {
    /// The invocator may not call this procedure.
    #[error("{caller} may not call worker registry procedure {procedure}")]
    NotAuthorized {
        /// The invocator.
        caller: Identity,
        /// The procedure.
        procedure: u16,
    },
    /// Already registered (active or unbonding).
    #[error("{0} is already registered as a worker")]
    AlreadyRegistered(Identity),
    /// No such worker.
    #[error("{0} is not a registered worker")]
    NotRegistered(Identity),
    /// The stake is under the minimum.
    #[error("stake {got} is under the minimum {needed}")]
    StakeTooLow {
        /// The minimum.
        needed: Amount,
        /// Offered.
        got: Amount,
    },
    /// Bad capabilities.
    #[error("invalid capabilities: {0}")]
    InvalidCapabilities(String),
    /// The worker is unbonding or exited.
    #[error("worker is not active")]
    NotActive,
    /// No recent heartbeat.
    #[error("worker is offline (last heartbeat at tick {last_heartbeat})")]
    Offline {
        /// Its last heartbeat.
        last_heartbeat: Tick,
    },
    /// Slashed under the minimum stake; needs a top-up.
    #[error("stake {stake} is under the minimum {min}; top up first")]
    StakeBelowMinimum {
        /// The stake.
        stake: Amount,
        /// The minimum.
        min: Amount,
    },
    /// The worker does not serve the model.
    #[error("the worker does not serve model {0}")]
    ModelNotServed(Hash32),
    /// The worker's price is over the job's ceiling.
    #[error("price {price} is over the job's maximum {max}")]
    PriceTooHigh {
        /// The worker's price.
        price: Amount,
        /// The job's ceiling.
        max: Amount,
    },
    /// The worker's reputation is under the job's floor.
    #[error("reputation {reputation} is under the job's minimum {min}")]
    ReputationTooLow {
        /// The worker's reputation.
        reputation: u16,
        /// The job's floor.
        min: u16,
    },
    /// Every job slot is taken.
    #[error("worker runs {active} of {max} jobs")]
    AtCapacity {
        /// Jobs running.
        active: u16,
        /// Slots.
        max: u16,
    },
    /// The worker holds jobs.
    #[error("worker holds {active} active and {settling} settling jobs")]
    HasJobs {
        /// Assigned or running.
        active: u16,
        /// In their challenge window or dispute.
        settling: u32,
    },
    /// Withdraw without unbonding first.
    #[error("worker is not unbonding")]
    NotUnbonding,
    /// Withdraw before the unbonding period ended.
    #[error("unbonding until tick {until}")]
    StillUnbonding {
        /// The first tick of withdrawal.
        until: Tick,
    },
    /// Money sent to a procedure that takes none.
    #[error("procedure takes no payment, got {0}")]
    UnexpectedPayment(Amount),
    /// A top-up with no money.
    #[error("a top-up needs a positive invocation reward")]
    MissingPayment,
    /// An outcome for a slot the worker does not hold.
    #[error("worker holds no {0} job slot to release")]
    NoSuchSlot(&'static str),
    /// Another daemon session serves this worker and is online.
    #[error("another daemon (session {session}) serves this worker; its last heartbeat was at tick {last_heartbeat}")]
    SessionInUse {
        /// The session online now.
        session: u64,
        /// Its last heartbeat.
        last_heartbeat: Tick,
    },
}

rejected_errors!(WorkerError {
    NotAuthorized = 200,
    AlreadyRegistered = 201,
    NotRegistered = 202,
    StakeTooLow = 203,
    InvalidCapabilities = 204,
    NotActive = 205,
    Offline = 206,
    StakeBelowMinimum = 207,
    ModelNotServed = 208,
    PriceTooHigh = 209,
    ReputationTooLow = 210,
    AtCapacity = 211,
    HasJobs = 212,
    NotUnbonding = 213,
    StillUnbonding = 214,
    UnexpectedPayment = 215,
    MissingPayment = 216,
    NoSuchSlot = 217,
    SessionInUse = 218,
});

const T_WORKER: u8 = 1; // map: identity -> Worker
const T_NUMBER: u8 = 2; // map: number -> identity
const T_SERVES: u8 = 3; // set: (model, number) for every non-exited worker
const T_LISTED: u8 = 4; // set: (model, number) for listed workers
const T_HB_COUNT: u8 = 5; // map: tick -> active workers whose last heartbeat it is
const T_HB_TICK: u8 = 6; // set: ticks with a non-zero count
const K_STATS: &[u8] = &[7];
const K_VERSION: &[u8] = &[8];
const T_MODEL_NAME: u8 = 9; // map: model id -> name, and set: model ids

fn worker_key(id: &Identity) -> KeyBuf {
    KeyBuf::table(T_WORKER).bytes32(&id.0)
}
fn number_key(n: u64) -> KeyBuf {
    KeyBuf::table(T_NUMBER).u64(n)
}
fn model_key(table: u8, model: &Hash32, n: u64) -> KeyBuf {
    KeyBuf::table(table).bytes32(&model.0).u64(n)
}

/// How the matcher ranks candidates: lowest price, then highest reputation, then the
/// seed's draw.
type MatchScore = (Amount, Reverse<u16>, u64);

fn corrupt(key: &[u8], detail: &str) -> ContractError {
    ContractError::CorruptState {
        key: key.iter().map(|b| format!("{b:02x}")).collect(),
        detail: detail.into(),
    }
}

/// The worker registry contract.
#[derive(Debug, Clone, Default)]
pub struct WorkerRegistry {
    config: MarketConfig,
}

impl WorkerRegistry {
    /// The registry with these genesis settings.
    pub fn new(config: MarketConfig) -> Self {
        WorkerRegistry { config }
    }

    fn listed(&self, w: &Worker) -> bool {
        w.is_active()
            && w.available
            && w.stake >= self.config.min_stake
            && w.active_jobs < w.capabilities.max_concurrent
    }

    fn load(view: &View<'_>, id: &Identity) -> Result<Option<Worker>, ContractError> {
        view.get(&worker_key(id))
    }

    fn load_active(ctx: &Ctx<'_>, id: &Identity) -> Result<Worker, ContractError> {
        let w = Self::load(&ctx.view(), id)?.ok_or(WorkerError::NotRegistered(*id))?;
        if !w.is_active() {
            return Err(WorkerError::NotActive.into());
        }
        Ok(w)
    }

    fn stats(view: &View<'_>) -> Result<WorkerStats, ContractError> {
        Ok(view.get(K_STATS)?.unwrap_or_default())
    }

    fn bump_heartbeat_bucket(
        ctx: &mut Ctx<'_>,
        tick: Tick,
        add: bool,
    ) -> Result<(), ContractError> {
        let key = KeyBuf::table(T_HB_COUNT).u32(tick.0);
        let n = ctx.get::<u32>(&key)?.unwrap_or(0);
        let n = if add { n + 1 } else { n.saturating_sub(1) };
        let set_key = KeyBuf::table(T_HB_TICK).u32(tick.0);
        if n == 0 {
            ctx.delete(&key)?;
            ctx.remove_key(&set_key)?;
        } else {
            ctx.put(&key, &n)?;
            ctx.insert_key(&set_key)?;
        }
        Ok(())
    }

    /// Stores `after` and brings every index, count and the match version in line with the
    /// change from `before`. `wake`: the change may have made the worker a better match.
    fn save(
        &self,
        ctx: &mut Ctx<'_>,
        before: Option<&Worker>,
        after: &Worker,
        wake: bool,
    ) -> Result<(), ContractError> {
        ctx.put(&worker_key(&after.id), after)?;
        let n = after.number;
        // Per-model indices, by model id.
        fn ids(w: Option<&Worker>, keep: impl Fn(&Worker) -> bool) -> &[Hash32] {
            match w {
                Some(w) if keep(w) => &w.model_ids,
                _ => &[],
            }
        }
        let serves = |w: &Worker| w.status != WorkerStatus::Exited;
        let new_serves = ids(Some(after), serves);
        Self::sync_models(ctx, T_SERVES, n, ids(before, serves), new_serves)?;
        Self::sync_models(
            ctx,
            T_LISTED,
            n,
            ids(before, |w| self.listed(w)),
            ids(Some(after), |w| self.listed(w)),
        )?;
        // Every model name ever declared, for display.
        let new_names = before.is_none_or(|b| b.capabilities.models != after.capabilities.models);
        if new_names {
            for (name, id) in after.capabilities.models.iter().zip(new_serves) {
                let key = KeyBuf::table(T_MODEL_NAME).bytes32(&id.0);
                if ctx.get::<String>(&key)?.is_none() {
                    // The value holds the name; the set member orders the ids for MODELS.
                    ctx.put(&key, name)?;
                    ctx.insert_key(&key)?;
                }
            }
        }
        // Heartbeat buckets, for the online count.
        let old_hb = before.filter(|b| b.beating()).map(|b| b.last_heartbeat);
        let new_hb = Some(after.last_heartbeat).filter(|_| after.beating());
        if old_hb != new_hb {
            if let Some(t) = old_hb {
                Self::bump_heartbeat_bucket(ctx, t, false)?;
            }
            if let Some(t) = new_hb {
                Self::bump_heartbeat_bucket(ctx, t, true)?;
            }
        }
        // Counts.
        let mut s = Self::stats(&ctx.view())?;
        if let Some(b) = before {
            match b.status {
                WorkerStatus::Active => s.active = s.active.saturating_sub(1),
                WorkerStatus::Unbonding { .. } => s.unbonding = s.unbonding.saturating_sub(1),
                WorkerStatus::Exited => s.exited = s.exited.saturating_sub(1),
            }
            s.total_staked = Amount(s.total_staked.0 - b.stake.0);
        } else {
            s.registered += 1;
        }
        match after.status {
            WorkerStatus::Active => s.active += 1,
            WorkerStatus::Unbonding { .. } => s.unbonding += 1,
            WorkerStatus::Exited => s.exited += 1,
        }
        s.total_staked = Amount(s.total_staked.0 + after.stake.0);
        ctx.put(K_STATS, &s)?;
        if wake && self.listed(after) {
            let v = ctx.get::<u64>(K_VERSION)?.unwrap_or(0);
            ctx.put(K_VERSION, &(v + 1))?;
        }
        Ok(())
    }

    fn sync_models(
        ctx: &mut Ctx<'_>,
        table: u8,
        n: u64,
        old: &[Hash32],
        new: &[Hash32],
    ) -> Result<(), ContractError> {
        for m in old.iter().filter(|m| !new.contains(m)) {
            ctx.remove_key(&model_key(table, m, n))?;
        }
        for m in new.iter().filter(|m| !old.contains(m)) {
            ctx.insert_key(&model_key(table, m, n))?;
        }
        Ok(())
    }

    fn no_payment(ctx: &Ctx<'_>) -> Result<(), WorkerError> {
        let r = ctx.invocation_reward();
        if r != Amount::ZERO {
            return Err(WorkerError::UnexpectedPayment(r));
        }
        Ok(())
    }

    fn require_job_registry(ctx: &Ctx<'_>, procedure: u16) -> Result<(), WorkerError> {
        let caller = ctx.invocator();
        if caller != Identity::contract(JOB_REGISTRY) {
            return Err(WorkerError::NotAuthorized { caller, procedure });
        }
        Ok(())
    }

    /// Whether `w` may take a job with these requirements at `now`.
    fn check_eligible(
        &self,
        w: &Worker,
        now: Tick,
        model: &Hash32,
        max_price: Amount,
        min_reputation: u16,
    ) -> Result<(), WorkerError> {
        if !w.is_active() {
            return Err(WorkerError::NotActive);
        }
        if !w.online_at(now, self.config.heartbeat_window) {
            return Err(WorkerError::Offline {
                last_heartbeat: w.last_heartbeat,
            });
        }
        if w.stake < self.config.min_stake {
            return Err(WorkerError::StakeBelowMinimum {
                stake: w.stake,
                min: self.config.min_stake,
            });
        }
        if !w.model_ids.contains(model) {
            return Err(WorkerError::ModelNotServed(*model));
        }
        if w.capabilities.price_per_1k > max_price {
            return Err(WorkerError::PriceTooHigh {
                price: w.capabilities.price_per_1k,
                max: max_price,
            });
        }
        if w.reputation < min_reputation {
            return Err(WorkerError::ReputationTooLow {
                reputation: w.reputation,
                min: min_reputation,
            });
        }
        if w.active_jobs >= w.capabilities.max_concurrent {
            return Err(WorkerError::AtCapacity {
                active: w.active_jobs,
                max: w.capabilities.max_concurrent,
            });
        }
        Ok(())
    }

    /// Refuses a call from daemon session `session` while another session is online.
    fn check_session(&self, w: &Worker, session: u64, now: Tick) -> Result<(), WorkerError> {
        if session != 0
            && w.session != 0
            && w.session != session
            && w.online_at(now, self.config.heartbeat_window)
        {
            return Err(WorkerError::SessionInUse {
                session: w.session,
                last_heartbeat: w.last_heartbeat,
            });
        }
        Ok(())
    }

    fn info(&self, w: Worker, now: Tick) -> WorkerInfo {
        let online = w.online_at(now, self.config.heartbeat_window);
        let can_take_jobs = w.is_active()
            && online
            && w.stake >= self.config.min_stake
            && w.active_jobs < w.capabilities.max_concurrent;
        WorkerInfo {
            worker: w,
            online,
            can_take_jobs,
        }
    }

    fn register(&self, ctx: &mut Ctx<'_>, caps: Capabilities) -> Result<Vec<u8>, ContractError> {
        caps.validate()?;
        let id = ctx.invocator();
        let stake = ctx.invocation_reward();
        if stake < self.config.min_stake || stake <= Amount::ZERO {
            return Err(WorkerError::StakeTooLow {
                needed: self.config.min_stake,
                got: stake,
            }
            .into());
        }
        let before = Self::load(&ctx.view(), &id)?;
        if let Some(b) = &before {
            if b.status != WorkerStatus::Exited {
                return Err(WorkerError::AlreadyRegistered(id).into());
            }
        }
        let _: crate::escrow::StakeAccount =
            ctx.call(ESCROW, LOCK_STAKE, &LockStake { worker: id }, stake)?;
        let now = ctx.tick();
        let number = match &before {
            Some(b) => b.number,
            None => {
                let n = Self::stats(&ctx.view())?.registered + 1;
                ctx.put(&number_key(n), &id)?;
                n
            }
        };
        let after = Worker {
            id,
            number,
            capabilities: caps.clone(),
            stake: before
                .as_ref()
                .map_or(Amount::ZERO, |b| b.stake)
                .checked_add(stake)
                .unwrap_or(stake),
            reputation: before
                .as_ref()
                .map_or(self.config.initial_reputation, |b| b.reputation),
            status: WorkerStatus::Active,
            available: false,
            active_jobs: 0,
            settling_jobs: 0,
            last_heartbeat: now,
            registered_at: now,
            jobs_completed: before.as_ref().map_or(0, |b| b.jobs_completed),
            jobs_failed: before.as_ref().map_or(0, |b| b.jobs_failed),
            jobs_expired: before.as_ref().map_or(0, |b| b.jobs_expired),
            disputes_lost: before.as_ref().map_or(0, |b| b.disputes_lost),
            jobs_declined: before.as_ref().map_or(0, |b| b.jobs_declined),
            total_slashed: before.as_ref().map_or(Amount::ZERO, |b| b.total_slashed),
            total_earned: before.as_ref().map_or(Amount::ZERO, |b| b.total_earned),
            session: 0,
            signed_off: false,
            model_ids: caps.model_ids(),
        };
        self.save(ctx, before.as_ref(), &after, true)?;
        ctx.emit(&WorkerEvent::Registered {
            worker: id,
            number,
            capabilities: caps,
            stake: after.stake,
            reputation: after.reputation,
        });
        Ok(encode(&number))
    }

    fn assign(&self, ctx: &mut Ctx<'_>, a: Assign) -> Result<Vec<u8>, ContractError> {
        Self::require_job_registry(ctx, ASSIGN)?;
        Self::no_payment(ctx)?;
        let before =
            Self::load(&ctx.view(), &a.worker)?.ok_or(WorkerError::NotRegistered(a.worker))?;
        self.check_eligible(
            &before,
            ctx.tick(),
            &a.model,
            a.max_price_per_1k,
            a.min_reputation,
        )?;
        let mut after = before.clone();
        after.active_jobs += 1;
        self.save(ctx, Some(&before), &after, false)?;
        ctx.emit(&WorkerEvent::Assigned {
            worker: a.worker,
            job_id: a.job_id,
            price_per_1k: after.capabilities.price_per_1k,
            active_jobs: after.active_jobs,
        });
        Ok(encode(&Assignment {
            price_per_1k: after.capabilities.price_per_1k,
            reputation: after.reputation,
        }))
    }

    fn release(&self, ctx: &mut Ctx<'_>, r: Release) -> Result<Vec<u8>, ContractError> {
        Self::require_job_registry(ctx, RELEASE)?;
        Self::no_payment(ctx)?;
        let before =
            Self::load(&ctx.view(), &r.worker)?.ok_or(WorkerError::NotRegistered(r.worker))?;
        let mut w = before.clone();
        let c = &self.config;
        let take_active = |w: &mut Worker| -> Result<(), WorkerError> {
            w.active_jobs = w
                .active_jobs
                .checked_sub(1)
                .ok_or(WorkerError::NoSuchSlot("active"))?;
            Ok(())
        };
        let take_settling = |w: &mut Worker| -> Result<(), WorkerError> {
            w.settling_jobs = w
                .settling_jobs
                .checked_sub(1)
                .ok_or(WorkerError::NoSuchSlot("settling"))?;
            Ok(())
        };
        let mut slash = false;
        match r.outcome {
            Outcome::Delivered => {
                take_active(&mut w)?;
                w.settling_jobs += 1;
            }
            Outcome::Finalized | Outcome::DisputeWon => {
                take_settling(&mut w)?;
                w.reputation = adjust_reputation(w.reputation, i32::from(c.reputation_gain));
                w.jobs_completed += 1;
            }
            Outcome::Unresolved => {
                take_settling(&mut w)?;
                w.jobs_completed += 1;
            }
            Outcome::Declined => {
                take_active(&mut w)?;
                w.jobs_declined += 1;
            }
            Outcome::NoAnswer => {
                take_active(&mut w)?;
                w.reputation =
                    adjust_reputation(w.reputation, -i32::from(c.reputation_loss_no_answer));
                w.jobs_declined += 1;
            }
            Outcome::Failed => {
                take_active(&mut w)?;
                w.reputation =
                    adjust_reputation(w.reputation, -i32::from(c.reputation_loss_failure));
                w.jobs_failed += 1;
            }
            Outcome::Expired => {
                take_active(&mut w)?;
                w.reputation =
                    adjust_reputation(w.reputation, -i32::from(c.reputation_loss_expiry));
                w.jobs_expired += 1;
                slash = true;
            }
            Outcome::DisputeLost => {
                take_settling(&mut w)?;
                w.reputation =
                    adjust_reputation(w.reputation, -i32::from(c.reputation_loss_dispute));
                w.disputes_lost += 1;
                slash = true;
            }
        }
        if r.earned > Amount::ZERO {
            w.total_earned = w
                .total_earned
                .checked_add(r.earned)
                .unwrap_or(w.total_earned);
        }
        let mut outcome = SlashOutcome {
            remaining: w.stake,
            ..SlashOutcome::default()
        };
        if slash {
            let amount = c.slash_amount.min(w.stake);
            if amount > Amount::ZERO {
                let challenger = r.challenger.filter(|ch| *ch != r.worker);
                outcome = ctx.call(
                    ESCROW,
                    SLASH_STAKE,
                    &SlashStake {
                        worker: r.worker,
                        amount,
                        requester: r.requester,
                        challenger,
                    },
                    Amount::ZERO,
                )?;
                w.stake = Amount(w.stake.0 - amount.0);
                w.total_slashed = Amount(w.total_slashed.0 + amount.0);
            }
        }
        self.save(ctx, Some(&before), &w, true)?;
        ctx.emit(&WorkerEvent::Released {
            worker: r.worker,
            job_id: r.job_id,
            outcome: r.outcome,
            reputation: w.reputation,
            stake: w.stake,
            slashed: outcome.slashed,
            active_jobs: w.active_jobs,
            settling_jobs: w.settling_jobs,
        });
        Ok(encode(&ReleaseOutcome {
            reputation: w.reputation,
            slash: outcome,
        }))
    }

    fn find_worker(
        &self,
        view: &View<'_>,
        q: &FindWorker,
    ) -> Result<Option<Identity>, ContractError> {
        if q.exclude.len() > MAX_EXCLUDE {
            return Err(ContractError::BadInput(format!(
                "at most {MAX_EXCLUDE} excluded identities"
            )));
        }
        let limit = self.config.match_scan_limit as usize;
        let prefix = KeyBuf::table(T_LISTED).bytes32(&q.model.0);
        let upper = prefix_upper_bound(&prefix);
        let upper = match &upper {
            Some(u) => Bound::Excluded(u.as_slice()),
            None => Bound::Unbounded,
        };
        let numbers = Self::stats(view)?.registered;
        let start = if numbers == 0 {
            1
        } else {
            1 + tie_break(&q.tie_seed, b"scan start", 0) % numbers
        };
        let start_key = model_key(T_LISTED, &q.model, start);
        let mut keys = view.range(Bound::Included(&start_key), upper, limit, false);
        if keys.len() < limit {
            let rest = limit - keys.len();
            keys.extend(view.range(
                Bound::Included(&prefix),
                Bound::Excluded(&start_key),
                rest,
                false,
            ));
        }
        let now = view.tick();
        let mut best: Option<(MatchScore, Identity)> = None;
        for key in keys {
            let n = key_u64(&key, 33).ok_or_else(|| corrupt(&key, "short listing key"))?;
            let nk = number_key(n);
            let id: Identity = view
                .get(&nk)?
                .ok_or_else(|| corrupt(&nk, "listed number without identity"))?;
            if q.exclude.contains(&id) {
                continue;
            }
            let w = Self::load(view, &id)?
                .ok_or_else(|| corrupt(&nk, "listed worker without record"))?;
            if self
                .check_eligible(&w, now, &q.model, q.max_price_per_1k, q.min_reputation)
                .is_err()
            {
                continue;
            }
            let score = (
                w.capabilities.price_per_1k,
                Reverse(w.reputation),
                tie_break(&q.tie_seed, b"worker", n),
            );
            if best.as_ref().is_none_or(|(s, _)| score < *s) {
                best = Some((score, id));
            }
        }
        Ok(best.map(|(_, id)| id))
    }

    fn online_count(&self, view: &View<'_>) -> Result<u64, ContractError> {
        let now = view.tick();
        let from = now.0.saturating_sub(self.config.heartbeat_window);
        let lower = KeyBuf::table(T_HB_TICK).u32(from);
        let upper = [T_HB_TICK + 1];
        let limit = self.config.heartbeat_window as usize + 2;
        let mut total = 0u64;
        for key in view.range(
            Bound::Included(&lower),
            Bound::Excluded(&upper),
            limit,
            false,
        ) {
            let tick = key_u32(&key, 1).ok_or_else(|| corrupt(&key, "short heartbeat key"))?;
            let count = view
                .get::<u32>(&KeyBuf::table(T_HB_COUNT).u32(tick))?
                .unwrap_or(0);
            total += u64::from(count);
        }
        Ok(total)
    }
}

impl Contract for WorkerRegistry {
    fn index(&self) -> ContractIndex {
        WORKER_REGISTRY
    }
    fn name(&self) -> &'static str {
        "worker-registry"
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
        let now = ctx.tick();
        let id = ctx.invocator();
        match input_type {
            REGISTER => self.register(ctx, decode_input(input)?),
            UPDATE => {
                let caps: Capabilities = decode_input(input)?;
                Self::no_payment(ctx)?;
                caps.validate()?;
                let before = Self::load_active(ctx, &id)?;
                let mut after = before.clone();
                after.model_ids = caps.model_ids();
                after.capabilities = caps.clone();
                after.last_heartbeat = now;
                self.save(ctx, Some(&before), &after, true)?;
                ctx.emit(&WorkerEvent::Updated {
                    worker: id,
                    capabilities: caps,
                });
                Ok(Vec::new())
            }
            HEARTBEAT => {
                let hb: Heartbeat = decode_input(input)?;
                Self::no_payment(ctx)?;
                let before = Self::load_active(ctx, &id)?;
                if !hb.takeover {
                    self.check_session(&before, hb.session, now)?;
                }
                let was_online = before.online_at(now, self.config.heartbeat_window);
                let mut after = before.clone();
                after.last_heartbeat = now;
                after.signed_off = false;
                if hb.session != 0 {
                    after.session = hb.session;
                }
                self.save(ctx, Some(&before), &after, !was_online)?;
                ctx.emit(&WorkerEvent::Heartbeat {
                    worker: id,
                    session: after.session,
                });
                Ok(Vec::new())
            }
            SET_AVAILABLE => {
                let SetAvailable { available, session } = decode_input(input)?;
                Self::no_payment(ctx)?;
                let before = Self::load_active(ctx, &id)?;
                self.check_session(&before, session, now)?;
                let mut after = before.clone();
                after.available = available;
                if available {
                    after.last_heartbeat = now;
                    after.signed_off = false;
                    if session != 0 {
                        after.session = session;
                    }
                } else if session != 0 && session == before.session {
                    // The daemon signs off: offline now, its session over.
                    after.signed_off = true;
                    after.session = 0;
                } else {
                    after.last_heartbeat = now;
                }
                self.save(ctx, Some(&before), &after, true)?;
                ctx.emit(&WorkerEvent::AvailabilityChanged {
                    worker: id,
                    available,
                    signed_off: after.signed_off,
                    session: after.session,
                });
                Ok(Vec::new())
            }
            TOP_UP => {
                let () = decode_input(input)?;
                let amount = ctx.invocation_reward();
                if amount <= Amount::ZERO {
                    return Err(WorkerError::MissingPayment.into());
                }
                let before = Self::load_active(ctx, &id)?;
                let _: crate::escrow::StakeAccount =
                    ctx.call(ESCROW, LOCK_STAKE, &LockStake { worker: id }, amount)?;
                let mut after = before.clone();
                after.stake = before
                    .stake
                    .checked_add(amount)
                    .ok_or(ContractError::InvalidAmount(amount.0))?;
                after.last_heartbeat = now;
                self.save(ctx, Some(&before), &after, true)?;
                ctx.emit(&WorkerEvent::ToppedUp {
                    worker: id,
                    amount,
                    stake: after.stake,
                });
                Ok(Vec::new())
            }
            UNBOND => {
                let () = decode_input(input)?;
                Self::no_payment(ctx)?;
                let before = Self::load_active(ctx, &id)?;
                if before.active_jobs > 0 || before.settling_jobs > 0 {
                    return Err(WorkerError::HasJobs {
                        active: before.active_jobs,
                        settling: before.settling_jobs,
                    }
                    .into());
                }
                let until = now.plus(self.config.unbonding_ticks);
                let mut after = before.clone();
                after.status = WorkerStatus::Unbonding { until };
                after.available = false;
                self.save(ctx, Some(&before), &after, false)?;
                ctx.emit(&WorkerEvent::Unbonding { worker: id, until });
                Ok(Vec::new())
            }
            WITHDRAW => {
                let () = decode_input(input)?;
                Self::no_payment(ctx)?;
                let before = Self::load(&ctx.view(), &id)?.ok_or(WorkerError::NotRegistered(id))?;
                match before.status {
                    WorkerStatus::Unbonding { until } if now < until => {
                        return Err(WorkerError::StillUnbonding { until }.into())
                    }
                    WorkerStatus::Unbonding { .. } => {}
                    _ => return Err(WorkerError::NotUnbonding.into()),
                }
                let amount = before.stake;
                if amount > Amount::ZERO {
                    let _: crate::escrow::StakeAccount = ctx.call(
                        ESCROW,
                        RETURN_STAKE,
                        &ReturnStake { worker: id, amount },
                        Amount::ZERO,
                    )?;
                }
                let mut after = before.clone();
                after.stake = Amount::ZERO;
                after.status = WorkerStatus::Exited;
                self.save(ctx, Some(&before), &after, false)?;
                ctx.emit(&WorkerEvent::Withdrawn { worker: id, amount });
                Ok(encode(&amount))
            }
            ASSIGN => self.assign(ctx, decode_input(input)?),
            RELEASE => self.release(ctx, decode_input(input)?),
            other => Err(ContractError::UnknownProcedure {
                contract: WORKER_REGISTRY.0,
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
        let now = view.tick();
        match input_type {
            GET_WORKER => {
                let q: WorkerQuery = decode_input(input)?;
                Ok(encode(
                    &Self::load(view, &q.worker)?.map(|w| self.info(w, now)),
                ))
            }
            WORKERS_BY_MODEL => {
                let q: WorkersByModel = decode_input(input)?;
                let limit = usize::from(q.limit.clamp(1, MAX_PAGE));
                let prefix = KeyBuf::table(T_SERVES).bytes32(&q.model.0);
                let after = q.cursor.map(|c| model_key(T_SERVES, &q.model, c));
                let keys = view.keys_with_prefix(&prefix, after.as_deref(), limit + 1);
                let more = keys.len() > limit;
                let mut workers = Vec::with_capacity(limit);
                for key in keys.iter().take(limit) {
                    let n = key_u64(key, 33).ok_or_else(|| corrupt(key, "short index key"))?;
                    let nk = number_key(n);
                    let id: Identity = view
                        .get(&nk)?
                        .ok_or_else(|| corrupt(&nk, "number without identity"))?;
                    let w = Self::load(view, &id)?
                        .ok_or_else(|| corrupt(&nk, "indexed worker without record"))?;
                    workers.push(self.info(w, now));
                }
                let next_cursor = if more {
                    workers.last().map(|w| w.worker.number)
                } else {
                    None
                };
                Ok(encode(&WorkerPage {
                    workers,
                    next_cursor,
                }))
            }
            FIND_WORKER => {
                let q: FindWorker = decode_input(input)?;
                Ok(encode(&self.find_worker(view, &q)?))
            }
            MATCH_VERSION => {
                let () = decode_input(input)?;
                Ok(encode(&view.get::<u64>(K_VERSION)?.unwrap_or(0)))
            }
            WORKER_STATS => {
                let () = decode_input(input)?;
                let mut s = Self::stats(view)?;
                s.online = self.online_count(view)?;
                Ok(encode(&s))
            }
            MODELS => {
                let q: ModelsQuery = decode_input(input)?;
                let limit = usize::from(q.limit.clamp(1, MAX_PAGE));
                let prefix = [T_MODEL_NAME];
                let after = q.cursor.map(|c| KeyBuf::table(T_MODEL_NAME).bytes32(&c.0));
                let keys = view.keys_with_prefix(&prefix, after.as_deref(), limit + 1);
                let more = keys.len() > limit;
                let mut models = Vec::with_capacity(limit.min(keys.len()));
                for key in keys.iter().take(limit) {
                    let id: [u8; 32] = key
                        .get(1..33)
                        .and_then(|b| b.try_into().ok())
                        .ok_or_else(|| corrupt(key, "short model key"))?;
                    let name: String = view
                        .get(key)?
                        .ok_or_else(|| corrupt(key, "model key without name"))?;
                    models.push(ModelName {
                        id: Hash32(id),
                        name,
                    });
                }
                let next_cursor = if more {
                    models.last().map(|m| m.id)
                } else {
                    None
                };
                Ok(encode(&ModelPage {
                    models,
                    next_cursor,
                }))
            }
            MODEL_NAME => {
                let id: Hash32 = decode_input(input)?;
                Ok(encode(&view.get::<String>(
                    &KeyBuf::table(T_MODEL_NAME).bytes32(&id.0),
                )?))
            }
            other => Err(ContractError::UnknownFunction {
                contract: WORKER_REGISTRY.0,
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
                    Entry::new(REGISTER, "register"),
                    Entry::new(UPDATE, "update"),
                    Entry::new(HEARTBEAT, "heartbeat"),
                    Entry::new(SET_AVAILABLE, "set_available"),
                    Entry::new(TOP_UP, "top_up"),
                    Entry::new(UNBOND, "unbond"),
                    Entry::new(WITHDRAW, "withdraw"),
                    Entry::new(ASSIGN, "assign"),
                    Entry::new(RELEASE, "release"),
                ]
            },
            functions: const {
                &[
                    Entry::new(GET_WORKER, "get_worker"),
                    Entry::new(WORKERS_BY_MODEL, "workers_by_model"),
                    Entry::new(FIND_WORKER, "find_worker"),
                    Entry::new(MATCH_VERSION, "match_version"),
                    Entry::new(WORKER_STATS, "worker_stats"),
                    Entry::new(MODELS, "models"),
                    Entry::new(MODEL_NAME, "model_name"),
                ]
            },
            errors: WorkerError::ALL_CODES,
        }
    }
    fn event_json(&self, data: &[u8]) -> Option<serde_json::Value> {
        crate::json::decode_event::<WorkerEvent>(data)
    }
    fn describe_event(&self, data: &[u8]) -> String {
        match WorkerEvent::try_from_slice(data) {
            Ok(e) => format!("{e:?}"),
            Err(_) => format!("undecodable worker registry event ({} bytes)", data.len()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps() -> Capabilities {
        Capabilities {
            models: vec!["m".into()],
            gpu: "RTX 4090".into(),
            vram_mb: 24_000,
            tokens_per_s: 100,
            price_per_1k: Amount(10),
            max_concurrent: 2,
        }
    }

    #[test]
    fn capabilities_are_checked() {
        assert!(caps().validate().is_ok());
        let mut c = caps();
        c.models.push(c.models[0].clone());
        assert!(matches!(
            c.validate(),
            Err(WorkerError::InvalidCapabilities(_))
        ));
        let c = Capabilities {
            models: vec![],
            ..caps()
        };
        assert!(c.validate().is_err());
        let c = Capabilities {
            max_concurrent: 0,
            ..caps()
        };
        assert!(c.validate().is_err());
        let c = Capabilities {
            price_per_1k: Amount(-1),
            ..caps()
        };
        assert!(c.validate().is_err());
        let c = Capabilities {
            gpu: "x".repeat(MAX_GPU_NAME + 1),
            ..caps()
        };
        assert!(c.validate().is_err());
    }

    #[test]
    fn errors_carry_their_names_and_codes() {
        let e: ContractError = WorkerError::AtCapacity { active: 2, max: 2 }.into();
        assert_eq!(e.rejected_name(), Some("AtCapacity"));
        assert_eq!(e.code(), Some(211));
    }

    #[test]
    fn keys_fit() {
        assert!(model_key(T_LISTED, &Hash32::ZERO, u64::MAX).len() <= crate::qpi::MAX_KEY_LEN);
        assert!(worker_key(&Identity::NULL).len() <= crate::qpi::MAX_KEY_LEN);
    }
}

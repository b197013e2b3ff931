//! The worker registry's interface: its index, entry points, inputs, outputs, events,
//! errors and genesis settings.

use borsh::{BorshDeserialize, BorshSerialize};
use comqute_qpi::primitives::{Amount, ContractIndex, Hash32, Identity, Tick, MAX_AMOUNT};
use comqute_qpi::{contract_api, rejected_errors};
use serde::{Deserialize, Serialize};

use crate::ids::{JobId, WorkerId};
use thiserror::Error;

use crate::escrow::SlashOutcome;

contract_api! {
    index: 2, name: "worker-registry", events: WorkerEvent, errors: WorkerError::ALL_CODES,
    procedures: {
        /// Register, [`Capabilities`]; the invocation reward is the stake. Output: the
        /// worker's number.
        REGISTER = 1 "register": Capabilities => u64,
        /// Replace the capabilities.
        UPDATE = 2 "update": Capabilities => (),
        /// Heartbeat.
        HEARTBEAT = 3 "heartbeat": Heartbeat => (),
        /// Declare availability for auto-claim.
        SET_AVAILABLE = 4 "set_available": SetAvailable => (),
        /// Add the invocation reward to the stake.
        TOP_UP = 5 "top_up": () => (),
        /// Start unbonding. Refused while the worker holds jobs.
        UNBOND = 6 "unbond": () => (),
        /// Take the whole stake back once unbonded. Output: the amount.
        WITHDRAW = 7 "withdraw": () => Amount,
        /// Job registry only: take a job slot.
        ASSIGN = 20 "assign": Assign => Assignment,
        /// Job registry only: report a job's outcome.
        RELEASE = 21 "release": Release => ReleaseOutcome,
        /// Verification only: move a replica's reputation by a verdict. Output: the
        /// reputation now.
        REPUTE = 22 "repute": Repute => u16,
    },
    functions: {
        /// One worker.
        GET_WORKER = 1 "get_worker": WorkerQuery => Option<WorkerInfo>,
        /// Workers serving a model.
        WORKERS_BY_MODEL = 2 "workers_by_model": WorkersByModel => WorkerPage,
        /// The best listed worker for a job.
        FIND_WORKER = 3 "find_worker": FindWorker => Option<WorkerId>,
        /// A counter that grows whenever a listed worker may have become a better match (the
        /// job registry re-runs matching when it moves).
        MATCH_VERSION = 4 "match_version": () => u64,
        /// Counts.
        WORKER_STATS = 5 "worker_stats": () => WorkerStats,
        /// Every model name a worker ever declared.
        MODELS = 6 "models": ModelsQuery => ModelPage,
        /// A model's name by its id.
        MODEL_NAME = 7 "model_name": Hash32 => Option<String>,
    },
}

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
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
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
            .map(|m| crate::rules::model_id(m))
            .collect()
    }

    /// Whether the model with this id is served.
    pub fn serves(&self, model: &Hash32) -> bool {
        self.models
            .iter()
            .any(|m| crate::rules::model_id(m) == *model)
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
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct SetAvailable {
    /// Whether the matcher may hand this worker jobs.
    pub available: bool,
    /// The caller's daemon session (0: a manual call). `false` from the recorded session
    /// signs the worker off: offline at once.
    pub session: u64,
}

/// Input of [`HEARTBEAT`].
#[derive(
    Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
pub struct Heartbeat {
    /// The daemon's session (0: a manual heartbeat, never refused, not recorded).
    pub session: u64,
    /// Replace another session that is still online (its daemon is gone or is to stop).
    pub takeover: bool,
}

/// Input of [`MODELS`].
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct ModelsQuery {
    /// Start after this model id (`None`: from the first).
    pub cursor: Option<Hash32>,
    /// At most this many (capped at [`MAX_PAGE`]).
    pub limit: u16,
}

/// One model the registry knows: its id and name.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct ModelName {
    /// blake3 of the name.
    pub id: Hash32,
    /// The name.
    pub name: String,
}

/// Output of [`MODELS`], ascending by id.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelPage {
    /// The models.
    pub models: Vec<ModelName>,
    /// Pass as `cursor` for the next page.
    pub next_cursor: Option<Hash32>,
}

/// Input of [`ASSIGN`]: the job's requirements; the worker must meet them.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Assign {
    /// The worker.
    pub worker: WorkerId,
    /// The job.
    pub job_id: JobId,
    /// The job's model.
    pub model: Hash32,
    /// The job's price ceiling.
    pub max_price_per_1k: Amount,
    /// The job's reputation floor.
    pub min_reputation: u16,
}

/// Output of [`ASSIGN`].
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Assignment {
    /// The worker's price, fixed for the job.
    pub price_per_1k: Amount,
    /// The worker's reputation.
    pub reputation: u16,
}

/// How a job ended for its worker. Input part of [`RELEASE`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
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
    /// A check found the result right: reputation up.
    CheckPassed,
    /// A check found the result wrong: slashed, reputation down.
    CheckFailed,
    /// A check without a verdict (no majority, unverifiable, or no verdict before the
    /// check timeout): no reputation change.
    Unresolved,
}

/// Input of [`RELEASE`].
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Release {
    /// The worker.
    pub worker: WorkerId,
    /// The job.
    pub job_id: JobId,
    /// What happened.
    pub outcome: Outcome,
    /// The job's requester (paid a share of a slash).
    pub requester: Identity,
    /// The challenger, if any (paid a share of a slash).
    pub challenger: Option<Identity>,
    /// Paid to the worker for the job (finalized outcomes), for its earnings record.
    pub earned: Amount,
    /// Pay a slash whole to this identity (the verification contract splits it).
    pub slash_to: Option<Identity>,
}

/// Input of [`REPUTE`].
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Repute {
    /// The replica.
    pub worker: WorkerId,
    /// The change, clamped to `0..=10,000`.
    pub delta: i32,
}

/// Output of [`RELEASE`].
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct ReleaseOutcome {
    /// The worker's reputation now.
    pub reputation: u16,
    /// The slash, if any.
    pub slash: SlashOutcome,
    /// What a failed check of this job would take from the stake now (the slash amount,
    /// capped by the stake): `S` in the spot-check rate.
    pub at_risk: Amount,
}

/// Input of [`GET_WORKER`].
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct WorkerQuery {
    /// The worker.
    pub worker: WorkerId,
}

/// Input of [`WORKERS_BY_MODEL`]: a page of the workers serving `model`, by number.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct WorkersByModel {
    /// The model id.
    pub model: Hash32,
    /// Start after this worker number (`None`: from the first).
    pub cursor: Option<u64>,
    /// At most this many (capped at [`MAX_PAGE`]).
    pub limit: u16,
}

/// Output of [`WORKERS_BY_MODEL`].
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkerPage {
    /// The workers.
    pub workers: Vec<WorkerInfo>,
    /// Pass as `cursor` for the next page; `None` when this was the last.
    pub next_cursor: Option<u64>,
}

/// Input of [`FIND_WORKER`]: among listed, online workers serving `model` at or under the
/// price with at least the reputation, the cheapest, then the most reputable, then the one
/// the seed draws. At most [`WorkerConfig::match_scan_limit`] listed workers are looked at,
/// starting at a worker number drawn from the seed.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
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
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
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
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Worker {
    /// Its identity.
    pub id: WorkerId,
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
    /// Checks failed (slashed).
    pub checks_failed: u64,
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
    pub(crate) fn is_active(&self) -> bool {
        self.status == WorkerStatus::Active
    }
    /// Whether it is online at `now`: a recent enough heartbeat, and not signed off.
    pub fn online_at(&self, now: Tick, window: u32) -> bool {
        !self.signed_off && u64::from(self.last_heartbeat.0) + u64::from(window) >= u64::from(now.0)
    }
    /// Whether its heartbeats count for the online statistics.
    pub(crate) fn beating(&self) -> bool {
        self.is_active() && !self.signed_off
    }
}

/// Output part of [`GET_WORKER`] and [`WORKERS_BY_MODEL`]: the record and what follows
/// from it now.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
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
#[derive(
    Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
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
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub enum WorkerEvent {
    /// A worker registered (or re-registered after exiting).
    Registered {
        /// The worker.
        worker: WorkerId,
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
        worker: WorkerId,
        /// What it offers now.
        capabilities: Capabilities,
    },
    /// A heartbeat.
    Heartbeat {
        /// The worker.
        worker: WorkerId,
        /// The daemon session recorded now (0: none).
        session: u64,
    },
    /// Availability for auto-claim changed.
    AvailabilityChanged {
        /// The worker.
        worker: WorkerId,
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
        worker: WorkerId,
        /// Added.
        amount: Amount,
        /// The stake now.
        stake: Amount,
    },
    /// Unbonding started; availability is off.
    Unbonding {
        /// The worker.
        worker: WorkerId,
        /// The first tick of withdrawal.
        until: Tick,
    },
    /// The stake went back; the worker exited.
    Withdrawn {
        /// The worker.
        worker: WorkerId,
        /// Returned.
        amount: Amount,
    },
    /// A job slot was taken.
    Assigned {
        /// The worker.
        worker: WorkerId,
        /// The job.
        job_id: JobId,
        /// The price fixed for the job.
        price_per_1k: Amount,
        /// Jobs assigned or running now.
        active_jobs: u16,
    },
    /// A job's outcome was applied.
    Released {
        /// The worker.
        worker: WorkerId,
        /// The job.
        job_id: JobId,
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
    /// A verdict moved a replica's reputation.
    Reputed {
        /// The replica.
        worker: WorkerId,
        /// The change asked for.
        delta: i32,
        /// Reputation now.
        reputation: u16,
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

/// The worker registry's genesis settings.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct WorkerConfig {
    /// The least stake a worker needs to register and to take jobs (default 10,000).
    pub min_stake: Amount,
    /// A worker without a heartbeat for more than this many ticks is offline (default 100).
    pub heartbeat_window: u32,
    /// Ticks between `unbond` and the earliest `withdraw` (default 1,000).
    pub unbonding_ticks: u32,
    /// The most listed workers the matcher looks at for one job (default 64).
    pub match_scan_limit: u32,
    /// What one slash takes from a worker's stake (capped by the stake; default 5,000).
    pub slash_amount: Amount,
    /// A new worker's reputation (default 5,000).
    pub initial_reputation: u16,
    /// Reputation gained per finalized job (default 100).
    pub reputation_gain: u16,
    /// Reputation lost when the worker gives a job up (default 200).
    pub reputation_loss_failure: u16,
    /// Reputation lost when a held job expires (default 1,000).
    pub reputation_loss_expiry: u16,
    /// Reputation lost with a failed check (default 2,000).
    pub reputation_loss_check: u16,
    /// Reputation lost when an assigned worker neither starts nor declines in time (default
    /// 50). Declining is free.
    pub reputation_loss_no_answer: u16,
    /// The contracts that may assign job slots and report outcomes. The genesis sets them
    /// (the job registry); they are not a setting of a node's `market.json`.
    #[serde(skip)]
    pub job_clients: Vec<ContractIndex>,
    /// The contracts that may move a replica's reputation by a verdict (the verification
    /// contract). Genesis wiring.
    #[serde(skip)]
    pub check_clients: Vec<ContractIndex>,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            min_stake: Amount(10_000),
            heartbeat_window: 100,
            unbonding_ticks: 1_000,
            match_scan_limit: 64,
            slash_amount: Amount(5_000),
            initial_reputation: 5_000,
            reputation_gain: 100,
            reputation_loss_failure: 200,
            reputation_loss_expiry: 1_000,
            reputation_loss_check: 2_000,
            reputation_loss_no_answer: 50,
            job_clients: Vec::new(),
            check_clients: Vec::new(),
        }
    }
}

/// Why a [`WorkerConfig`] is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WorkerConfigError {
    /// An amount outside `0..=MAX_AMOUNT`.
    #[error("{field} {value} is out of range")]
    AmountOutOfRange {
        /// The setting.
        field: &'static str,
        /// Its value.
        value: Amount,
    },
    /// A reputation figure over 10,000.
    #[error("{field} {value} is over 10000")]
    ReputationOverMax {
        /// The setting.
        field: &'static str,
        /// Its value.
        value: u16,
    },
    /// A count that must be positive is 0.
    #[error("{0} must be at least 1")]
    Zero(&'static str),
}

impl WorkerConfig {
    /// Checks the settings: amounts within the transaction maximum, reputations in range,
    /// positive windows.
    pub fn validate(&self) -> Result<(), WorkerConfigError> {
        for (field, value) in [
            ("minStake", self.min_stake),
            ("slashAmount", self.slash_amount),
        ] {
            if !(0..=MAX_AMOUNT).contains(&value.0) {
                return Err(WorkerConfigError::AmountOutOfRange { field, value });
            }
        }
        for (field, value) in [
            ("initialReputation", self.initial_reputation),
            ("reputationGain", self.reputation_gain),
            ("reputationLossFailure", self.reputation_loss_failure),
            ("reputationLossExpiry", self.reputation_loss_expiry),
            ("reputationLossCheck", self.reputation_loss_check),
            ("reputationLossNoAnswer", self.reputation_loss_no_answer),
        ] {
            if value > crate::rules::MAX_REPUTATION {
                return Err(WorkerConfigError::ReputationOverMax { field, value });
            }
        }
        for (field, v) in [
            ("heartbeatWindow", self.heartbeat_window),
            ("matchScanLimit", self.match_scan_limit),
        ] {
            if v == 0 {
                return Err(WorkerConfigError::Zero(field));
            }
        }
        Ok(())
    }
}

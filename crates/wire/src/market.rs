//! The marketplace's views, typed: a job ([`JobView`]), a worker ([`WorkerView`]), the
//! network statistics ([`NetworkStatsView`]), a job's escrow account ([`JobEscrowView`]) and
//! the contract list ([`ContractsResponse`]), each built from the contract's own record
//! (`From`) and written in the contracts' JSON rule ([`crate::value`]): camelCase field
//! names, 64-bit numbers as decimal strings, statuses by name.
//!
//! A view restates its record field by field; a test renders every record both ways and
//! fails when a field is added to a record and not to its view.

use std::collections::BTreeMap;

use comqute_market::escrow::{EscrowState, EscrowTotals, JobEscrow};
use comqute_market::job_registry::{
    Job, JobCounters, JobResult, JobSpec, JobStatus, NetworkStats, Sampling,
};
use comqute_market::verification::VerdictKind;
use comqute_market::worker_registry::{
    Capabilities, Worker, WorkerInfo, WorkerStats, WorkerStatus,
};
use comqute_qpi::kit::{short_type_name, EntryPoint, ErrorCode};
use comqute_qpi::{Amount, Hash32, Identity, Tick};
use serde::{Deserialize, Serialize};

use crate::dec;

/// Serde for an [`Amount`] as a decimal string (a number is accepted when reading).
pub mod amount {
    use comqute_qpi::Amount;
    use serde::{Deserializer, Serializer};

    /// Writes the amount as a string.
    pub fn serialize<S: Serializer>(a: &Amount, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&a.0)
    }

    /// Reads a string or a number.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Amount, D::Error> {
        crate::dec::deserialize(d).map(Amount)
    }

    /// The same for an optional amount (`null` when absent).
    pub mod opt {
        use comqute_qpi::Amount;
        use serde::{Deserialize, Deserializer, Serializer};

        /// Writes the amount as a string, or null.
        pub fn serialize<S: Serializer>(a: &Option<Amount>, s: S) -> Result<S::Ok, S::Error> {
            match a {
                Some(a) => s.collect_str(&a.0),
                None => s.serialize_none(),
            }
        }

        /// Reads a string, a number or null.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Amount>, D::Error> {
            #[derive(Deserialize)]
            struct Wrap(#[serde(with = "super")] Amount);
            Ok(Option::<Wrap>::deserialize(d)?.map(|w| w.0))
        }
    }
}

/// Reads a [`JobStatus`] by its name (the contract type writes itself by name).
fn job_status<'de, D: serde::Deserializer<'de>>(d: D) -> Result<JobStatus, D::Error> {
    let name = String::deserialize(d)?;
    crate::parse_status(&name)
        .ok_or_else(|| serde::de::Error::custom(format!("unknown job status {name:?}")))
}

/// Reads an [`EscrowState`] by its name (the contract type writes itself by name).
fn escrow_state<'de, D: serde::Deserializer<'de>>(d: D) -> Result<EscrowState, D::Error> {
    let name = String::deserialize(d)?;
    match name.as_str() {
        "Locked" => Ok(EscrowState::Locked),
        "Released" => Ok(EscrowState::Released),
        "Refunded" => Ok(EscrowState::Refunded),
        _ => Err(serde::de::Error::custom(format!(
            "unknown escrow state {name:?}"
        ))),
    }
}

// --- jobs ----------------------------------------------------------------------------------

/// A job as the node shows it: the job registry's [`Job`] record with `status` by name,
/// the result's fields repeated at the top level once a result is posted (`resultHash`,
/// `outputTokens`, `runtime`), and `modelName`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobView {
    /// Its id.
    #[serde(with = "dec")]
    pub id: u64,
    /// Who submitted and paid.
    pub requester: Identity,
    /// What was asked for.
    pub spec: JobSpecView,
    /// The escrow locked.
    #[serde(with = "amount")]
    pub escrow: Amount,
    /// Where it stands (`Open` … `Resolved`).
    #[serde(deserialize_with = "job_status")]
    pub status: JobStatus,
    /// The worker holding it (or that held it last).
    pub worker: Option<Identity>,
    /// The worker's price, fixed at assignment.
    #[serde(with = "amount")]
    pub price_per_1k: Amount,
    /// Submission tick.
    pub submitted_at: Tick,
    /// Last assignment tick.
    pub assigned_at: Option<Tick>,
    /// Start tick.
    pub started_at: Option<Tick>,
    /// Result tick.
    pub completed_at: Option<Tick>,
    /// The pending deadline; null once terminal.
    pub deadline: Option<Tick>,
    /// The result, once posted.
    pub result: Option<JobResultView>,
    /// Times a worker gave it up after starting.
    pub failures: u8,
    /// Workers never offered it again.
    pub excluded: Vec<Identity>,
    /// Why it last reopened or ended badly.
    pub reason: Option<String>,
    /// Paid to the worker.
    #[serde(with = "amount")]
    pub paid: Amount,
    /// Of the payment, the verification fee (paid to the verification contract's pool).
    #[serde(with = "amount")]
    pub fee: Amount,
    /// Refunded to the requester.
    #[serde(with = "amount")]
    pub refunded: Amount,
    /// Slashed from the worker over this job.
    #[serde(with = "amount")]
    pub slashed: Amount,
    /// The tick it became terminal.
    pub closed_at: Option<Tick>,
    /// Whether its result was checked (the chain's draw or a challenge).
    pub checked: bool,
    /// The check's verdict (`Passed`, `Failed`, `NoMajority`, `Unverifiable`), once reached.
    pub verdict: Option<VerdictKind>,
    /// `result.resultHash`, present once a result is posted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_hash: Option<Hash32>,
    /// `result.outputTokens`, present once a result is posted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<u32>,
    /// `result.runtime`, present once a result is posted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<Hash32>,
    /// The model's name as the worker registry knows it; null when no worker ever declared
    /// it (or when the view was built without asking, [`JobView::from`]).
    #[serde(default)]
    pub model_name: Option<String>,
}

/// A job's [`JobSpec`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobSpecView {
    /// Model id.
    pub model: Hash32,
    /// blake3 of the prompt.
    pub prompt_hash: Hash32,
    /// The prompt's size in bytes.
    pub prompt_size: u32,
    /// The most output tokens paid for.
    pub max_output_tokens: u32,
    /// The highest price per 1,000 output tokens accepted.
    #[serde(with = "amount")]
    pub max_price_per_1k: Amount,
    /// Ticks to wait for a worker, and for the worker to deliver.
    pub timeout_ticks: u32,
    /// The least worker reputation accepted.
    pub min_reputation: u16,
    /// Sampling settings.
    pub sampling: SamplingView,
}

/// A job's [`Sampling`] settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SamplingView {
    /// The sampler's seed.
    #[serde(with = "dec")]
    pub seed: u64,
    /// Temperature in thousandths.
    pub temperature_milli: u16,
}

/// A job's [`JobResult`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobResultView {
    /// blake3 of the output.
    pub result_hash: Hash32,
    /// Output tokens produced.
    pub output_tokens: u32,
    /// Fingerprint of the runtime that produced it.
    pub runtime: Hash32,
}

impl From<&Sampling> for SamplingView {
    fn from(s: &Sampling) -> Self {
        SamplingView {
            seed: s.seed,
            temperature_milli: s.temperature_milli,
        }
    }
}

impl From<&JobSpec> for JobSpecView {
    fn from(s: &JobSpec) -> Self {
        JobSpecView {
            model: s.model,
            prompt_hash: s.prompt_hash,
            prompt_size: s.prompt_size,
            max_output_tokens: s.max_output_tokens,
            max_price_per_1k: s.max_price_per_1k,
            timeout_ticks: s.timeout_ticks,
            min_reputation: s.min_reputation,
            sampling: (&s.sampling).into(),
        }
    }
}

impl From<&JobResult> for JobResultView {
    fn from(r: &JobResult) -> Self {
        JobResultView {
            result_hash: r.result_hash,
            output_tokens: r.output_tokens,
            runtime: r.runtime,
        }
    }
}

impl From<&Job> for JobView {
    /// The job without its model's name (`modelName` null); see [`JobView::new`].
    fn from(j: &Job) -> Self {
        JobView {
            id: j.id.0,
            requester: j.requester,
            spec: (&j.spec).into(),
            escrow: j.escrow,
            status: j.status,
            worker: j.worker.map(|w| w.0),
            price_per_1k: j.price_per_1k,
            submitted_at: j.submitted_at,
            assigned_at: j.assigned_at,
            started_at: j.started_at,
            completed_at: j.completed_at,
            deadline: j.deadline,
            result: j.result.as_ref().map(Into::into),
            failures: j.failures,
            excluded: j.excluded.iter().map(|w| w.0).collect(),
            reason: j.reason.clone(),
            paid: j.paid,
            fee: j.fee,
            refunded: j.refunded,
            slashed: j.slashed,
            closed_at: j.closed_at,
            checked: j.checked,
            verdict: j.verdict,
            result_hash: j.result.map(|r| r.result_hash),
            output_tokens: j.result.map(|r| r.output_tokens),
            runtime: j.result.map(|r| r.runtime),
            model_name: None,
        }
    }
}

impl JobView {
    /// The job with its model's name (`None`: no worker ever declared the model).
    pub fn new(job: &Job, model_name: Option<String>) -> JobView {
        JobView {
            model_name,
            ..JobView::from(job)
        }
    }
}

/// Answer of `GET /v1/jobs`: jobs ascending by id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobsPage {
    /// The jobs.
    pub jobs: Vec<JobView>,
    /// Pass as `cursor` for the next page; null on the last.
    #[serde(with = "dec::opt")]
    pub next_cursor: Option<u64>,
}

/// `GET /v1/jobs/{id}/escrow`: the job's [`JobEscrow`] account in the escrow vault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobEscrowView {
    /// The job.
    #[serde(with = "dec")]
    pub job_id: u64,
    /// Who paid.
    pub requester: Identity,
    /// What was locked.
    #[serde(with = "amount")]
    pub locked: Amount,
    /// Paid to the worker.
    #[serde(with = "amount")]
    pub paid: Amount,
    /// Paid as the verification fee.
    #[serde(with = "amount")]
    pub fee: Amount,
    /// The worker paid, if any.
    pub worker: Option<Identity>,
    /// Refunded to the requester.
    #[serde(with = "amount")]
    pub refunded: Amount,
    /// `Locked`, `Released` or `Refunded`.
    #[serde(deserialize_with = "escrow_state")]
    pub state: EscrowState,
}

impl From<&JobEscrow> for JobEscrowView {
    fn from(e: &JobEscrow) -> Self {
        JobEscrowView {
            job_id: e.job_id.0,
            requester: e.requester,
            locked: e.locked,
            paid: e.paid,
            fee: e.fee,
            worker: e.worker.map(|w| w.0),
            refunded: e.refunded,
            state: e.state,
        }
    }
}

// --- workers -------------------------------------------------------------------------------

/// Where a worker stands, by name (an unbonding worker's end tick is
/// [`WorkerView::unbonding_until`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WorkerStatusName {
    /// Registered, may take jobs.
    Active,
    /// Leaving.
    Unbonding,
    /// Withdrew its stake.
    Exited,
}

impl WorkerStatusName {
    /// Its name, as written in the JSON.
    pub fn name(self) -> &'static str {
        match self {
            WorkerStatusName::Active => "Active",
            WorkerStatusName::Unbonding => "Unbonding",
            WorkerStatusName::Exited => "Exited",
        }
    }
}

/// A worker as the node shows it: the worker registry's [`Worker`] record with `status` by
/// name (and `unbondingUntil` while unbonding), `online` and `canTakeJobs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkerView {
    /// Its identity.
    pub id: Identity,
    /// Its number (registration order, from 1).
    #[serde(with = "dec")]
    pub number: u64,
    /// What it offers.
    pub capabilities: CapabilitiesView,
    /// Its stake.
    #[serde(with = "amount")]
    pub stake: Amount,
    /// `0..=10,000`.
    pub reputation: u16,
    /// Where it stands.
    pub status: WorkerStatusName,
    /// The first tick of withdrawal, while unbonding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unbonding_until: Option<Tick>,
    /// Declared available for auto-claim.
    pub available: bool,
    /// Jobs assigned or running.
    pub active_jobs: u16,
    /// Jobs delivered and settling.
    pub settling_jobs: u32,
    /// The tick of its last heartbeat.
    pub last_heartbeat: Tick,
    /// When it (last) registered.
    pub registered_at: Tick,
    /// Jobs finalized.
    #[serde(with = "dec")]
    pub jobs_completed: u64,
    /// Jobs given up.
    #[serde(with = "dec")]
    pub jobs_failed: u64,
    /// Jobs it let expire.
    #[serde(with = "dec")]
    pub jobs_expired: u64,
    /// Disputes lost.
    #[serde(with = "dec")]
    pub checks_failed: u64,
    /// Assignments declined or left unanswered.
    #[serde(with = "dec")]
    pub jobs_declined: u64,
    /// Everything ever slashed.
    #[serde(with = "amount")]
    pub total_slashed: Amount,
    /// Everything ever paid for its jobs.
    #[serde(with = "amount")]
    pub total_earned: Amount,
    /// The daemon session of its last heartbeat (0: none).
    #[serde(with = "dec")]
    pub session: u64,
    /// Its daemon signed off.
    pub signed_off: bool,
    /// The ids of its models, in the order declared.
    pub model_ids: Vec<Hash32>,
    /// Heartbeat recent enough.
    pub online: bool,
    /// Active, online, staked enough and a free slot.
    pub can_take_jobs: bool,
}

/// A worker's [`Capabilities`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CapabilitiesView {
    /// Model names served.
    pub models: Vec<String>,
    /// GPU name.
    pub gpu: String,
    /// VRAM in MB.
    pub vram_mb: u32,
    /// Benchmarked output tokens per second.
    pub tokens_per_s: u32,
    /// Price per 1,000 output tokens.
    #[serde(with = "amount")]
    pub price_per_1k: Amount,
    /// Jobs run at once.
    pub max_concurrent: u16,
}

impl From<&Capabilities> for CapabilitiesView {
    fn from(c: &Capabilities) -> Self {
        CapabilitiesView {
            models: c.models.clone(),
            gpu: c.gpu.clone(),
            vram_mb: c.vram_mb,
            tokens_per_s: c.tokens_per_s,
            price_per_1k: c.price_per_1k,
            max_concurrent: c.max_concurrent,
        }
    }
}

impl From<&Worker> for WorkerView {
    /// The record alone: `online` and `canTakeJobs` false (see [`WorkerInfo`]'s `From`).
    fn from(w: &Worker) -> Self {
        let (status, unbonding_until) = match w.status {
            WorkerStatus::Active => (WorkerStatusName::Active, None),
            WorkerStatus::Unbonding { until } => (WorkerStatusName::Unbonding, Some(until)),
            WorkerStatus::Exited => (WorkerStatusName::Exited, None),
        };
        WorkerView {
            id: w.id.0,
            number: w.number,
            capabilities: (&w.capabilities).into(),
            stake: w.stake,
            reputation: w.reputation,
            status,
            unbonding_until,
            available: w.available,
            active_jobs: w.active_jobs,
            settling_jobs: w.settling_jobs,
            last_heartbeat: w.last_heartbeat,
            registered_at: w.registered_at,
            jobs_completed: w.jobs_completed,
            jobs_failed: w.jobs_failed,
            jobs_expired: w.jobs_expired,
            checks_failed: w.checks_failed,
            jobs_declined: w.jobs_declined,
            total_slashed: w.total_slashed,
            total_earned: w.total_earned,
            session: w.session,
            signed_off: w.signed_off,
            model_ids: w.model_ids.clone(),
            online: false,
            can_take_jobs: false,
        }
    }
}

impl From<&WorkerInfo> for WorkerView {
    fn from(i: &WorkerInfo) -> Self {
        WorkerView {
            online: i.online,
            can_take_jobs: i.can_take_jobs,
            ..WorkerView::from(&i.worker)
        }
    }
}

/// Answer of `GET /v1/workers?model=…`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkersPage {
    /// The workers.
    pub workers: Vec<WorkerView>,
    /// Pass as `cursor` for the next page; null on the last.
    #[serde(with = "dec::opt")]
    pub next_cursor: Option<u64>,
}

// --- statistics ----------------------------------------------------------------------------

/// `GET /v1/stats`: the job registry's [`NetworkStats`] with `jobs.byStatus` keyed by
/// status name (every status, zeros included), and the last processed `tick`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkStatsView {
    /// Jobs per status and money totals.
    pub jobs: JobCountersView,
    /// The escrow vault's totals.
    pub escrow: EscrowTotalsView,
    /// Worker counts.
    pub workers: WorkerStatsView,
    /// The last processed tick.
    pub tick: u32,
}

/// The [`JobCounters`] part of the statistics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobCountersView {
    /// Jobs ever submitted.
    #[serde(with = "dec")]
    pub submitted: u64,
    /// Jobs in each status, by status name.
    #[serde(with = "dec::map")]
    pub by_status: BTreeMap<String, u64>,
    /// Escrow held now for live jobs.
    #[serde(with = "amount")]
    pub total_escrowed: Amount,
    /// Ever paid to workers.
    #[serde(with = "amount")]
    pub total_paid: Amount,
    /// Ever refunded to requesters.
    #[serde(with = "amount")]
    pub total_refunded: Amount,
    /// Ever slashed from workers over jobs.
    #[serde(with = "amount")]
    pub total_slashed: Amount,
    /// Ever paid as verification fees.
    #[serde(with = "amount")]
    pub total_fees: Amount,
}

impl JobCountersView {
    /// Jobs in `status`.
    pub fn count(&self, status: JobStatus) -> u64 {
        self.by_status.get(status.name()).copied().unwrap_or(0)
    }
}

/// The escrow vault's [`EscrowTotals`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EscrowTotalsView {
    /// Held now for jobs.
    #[serde(with = "amount")]
    pub jobs_locked: Amount,
    /// Job accounts still locked.
    #[serde(with = "dec")]
    pub open_accounts: u64,
    /// Held now as stakes.
    #[serde(with = "amount")]
    pub stakes: Amount,
    /// Ever locked for jobs.
    #[serde(with = "amount")]
    pub total_locked: Amount,
    /// Ever paid to workers.
    #[serde(with = "amount")]
    pub total_paid: Amount,
    /// Ever refunded to requesters.
    #[serde(with = "amount")]
    pub total_refunded: Amount,
    /// Ever paid as verification fees.
    #[serde(with = "amount")]
    pub total_fees: Amount,
    /// Ever slashed.
    #[serde(with = "amount")]
    pub total_slashed: Amount,
    /// Of that, paid to requesters.
    #[serde(with = "amount")]
    pub slashed_to_requesters: Amount,
    /// Of that, paid to challengers.
    #[serde(with = "amount")]
    pub slashed_to_challengers: Amount,
    /// Of that, burned.
    #[serde(with = "amount")]
    pub slashed_burned: Amount,
    /// Of that, forwarded whole for the verification contract's split.
    #[serde(with = "amount")]
    pub slashed_forwarded: Amount,
    /// Stakes ever returned.
    #[serde(with = "amount")]
    pub stakes_returned: Amount,
}

/// The worker registry's [`WorkerStats`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkerStatsView {
    /// Workers ever registered.
    #[serde(with = "dec")]
    pub registered: u64,
    /// Active workers.
    #[serde(with = "dec")]
    pub active: u64,
    /// Unbonding workers.
    #[serde(with = "dec")]
    pub unbonding: u64,
    /// Exited workers.
    #[serde(with = "dec")]
    pub exited: u64,
    /// Active workers with a recent heartbeat.
    #[serde(with = "dec")]
    pub online: u64,
    /// Sum of all stakes.
    #[serde(with = "amount")]
    pub total_staked: Amount,
}

impl From<&JobCounters> for JobCountersView {
    fn from(c: &JobCounters) -> Self {
        JobCountersView {
            submitted: c.submitted,
            by_status: JobStatus::ALL
                .into_iter()
                .map(|s| (s.name().to_string(), c.count(s)))
                .collect(),
            total_escrowed: c.total_escrowed,
            total_paid: c.total_paid,
            total_refunded: c.total_refunded,
            total_slashed: c.total_slashed,
            total_fees: c.total_fees,
        }
    }
}

impl From<&EscrowTotals> for EscrowTotalsView {
    fn from(t: &EscrowTotals) -> Self {
        EscrowTotalsView {
            jobs_locked: t.jobs_locked,
            open_accounts: t.open_accounts,
            stakes: t.stakes,
            total_locked: t.total_locked,
            total_paid: t.total_paid,
            total_refunded: t.total_refunded,
            total_fees: t.total_fees,
            total_slashed: t.total_slashed,
            slashed_to_requesters: t.slashed_to_requesters,
            slashed_to_challengers: t.slashed_to_challengers,
            slashed_burned: t.slashed_burned,
            slashed_forwarded: t.slashed_forwarded,
            stakes_returned: t.stakes_returned,
        }
    }
}

impl From<&WorkerStats> for WorkerStatsView {
    fn from(w: &WorkerStats) -> Self {
        WorkerStatsView {
            registered: w.registered,
            active: w.active,
            unbonding: w.unbonding,
            exited: w.exited,
            online: w.online,
            total_staked: w.total_staked,
        }
    }
}

impl NetworkStatsView {
    /// The statistics as of `tick`, the last processed tick.
    pub fn new(stats: &NetworkStats, tick: u32) -> NetworkStatsView {
        NetworkStatsView {
            jobs: (&stats.jobs).into(),
            escrow: (&stats.escrow).into(),
            workers: (&stats.workers).into(),
            tick,
        }
    }
}

// --- contracts -----------------------------------------------------------------------------

/// `GET /v1/contracts`: every contract as it describes itself, ascending by index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractsResponse {
    /// The contracts.
    pub contracts: Vec<ContractView>,
}

/// A contract as it describes itself ([`comqute_qpi::kit::ContractMeta`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractView {
    /// Its index.
    pub index: u32,
    /// Its name.
    pub name: String,
    /// Its identity (the contract id).
    pub identity: Identity,
    /// Its procedures, by input type.
    pub procedures: Vec<EntryView>,
    /// Its functions, by input type.
    pub functions: Vec<EntryView>,
    /// The error codes it refuses calls with.
    pub errors: Vec<ErrorCodeView>,
}

/// A procedure or function: number, name, input and output types.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryView {
    /// The input type number.
    pub number: u16,
    /// Its name.
    pub name: String,
    /// Its input type's name (`JobSpec`, `()`).
    pub input: String,
    /// Its output type's name (`Option<Job>`).
    pub output: String,
}

/// An error code and its name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorCodeView {
    /// The code.
    pub number: u16,
    /// Its name.
    pub name: String,
}

impl From<&EntryPoint> for EntryView {
    fn from(e: &EntryPoint) -> Self {
        EntryView {
            number: e.number,
            name: e.name.to_string(),
            input: short_type_name((e.input_type)()),
            output: short_type_name((e.output_type)()),
        }
    }
}

impl From<&ErrorCode> for ErrorCodeView {
    fn from(e: &ErrorCode) -> Self {
        ErrorCodeView {
            number: e.number,
            name: e.name.to_string(),
        }
    }
}

impl ContractView {
    /// The view of a contract: its index, name and self-description.
    pub fn new(c: &dyn comqute_qpi::contract::Contract) -> ContractView {
        let m = c.meta();
        ContractView {
            index: c.index().0,
            name: c.name().to_string(),
            identity: Identity::contract(c.index()),
            procedures: m.procedures.iter().map(EntryView::from).collect(),
            functions: m.functions.iter().map(EntryView::from).collect(),
            errors: m.errors.iter().map(ErrorCodeView::from).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value;
    use comqute_market::job_registry::{JobResult, JobSpec, Sampling};
    use comqute_market::{JobId, WorkerId};
    use serde_json::{json, Value};

    fn job(result: bool) -> Job {
        Job {
            id: JobId(7),
            requester: Identity([1; 32]),
            spec: JobSpec {
                model: Hash32::of(b"m"),
                prompt_hash: Hash32::of(b"p"),
                prompt_size: 1,
                max_output_tokens: 100,
                max_price_per_1k: Amount(5_000),
                timeout_ticks: 10,
                min_reputation: 0,
                sampling: Sampling {
                    seed: u64::MAX,
                    temperature_milli: 700,
                },
            },
            escrow: Amount(500),
            status: JobStatus::Completed,
            worker: Some(WorkerId(Identity([2; 32]))),
            price_per_1k: Amount(4_000),
            submitted_at: Tick(3),
            assigned_at: Some(Tick(4)),
            started_at: Some(Tick(5)),
            completed_at: Some(Tick(6)),
            deadline: Some(Tick(26)),
            result: result.then(|| JobResult {
                result_hash: Hash32::of(b"out"),
                output_tokens: 42,
                runtime: Hash32::ZERO,
            }),
            failures: 1,
            excluded: vec![WorkerId(Identity([3; 32]))],
            reason: Some("slow".into()),
            paid: Amount(1),
            fee: Amount(4),
            refunded: Amount(2),
            slashed: Amount(3),
            closed_at: None,
            checked: true,
            verdict: Some(VerdictKind::Passed),
        }
    }

    fn worker(status: WorkerStatus) -> WorkerInfo {
        WorkerInfo {
            worker: Worker {
                id: WorkerId(Identity([2; 32])),
                number: 3,
                capabilities: Capabilities {
                    models: vec!["llama3.2:1b".into()],
                    gpu: "none".into(),
                    vram_mb: 8,
                    tokens_per_s: 20,
                    price_per_1k: Amount(2_000),
                    max_concurrent: 2,
                },
                stake: Amount(10_000),
                reputation: 5_000,
                status,
                available: true,
                active_jobs: 1,
                settling_jobs: 2,
                last_heartbeat: Tick(9),
                registered_at: Tick(1),
                jobs_completed: 4,
                jobs_failed: 5,
                jobs_expired: 6,
                checks_failed: 7,
                jobs_declined: 8,
                total_slashed: Amount(9),
                total_earned: Amount(10),
                session: u64::MAX,
                signed_off: false,
                model_ids: vec![Hash32::of(b"llama3.2:1b")],
            },
            online: true,
            can_take_jobs: false,
        }
    }

    /// `view` holds every field of `record` (rendered by the contracts' JSON rule) with the
    /// same value, except those `moved`; and nothing else but `extra`.
    fn covers(view: &Value, record: &Value, moved: &[&str], extra: &[&str]) {
        let (Value::Object(v), Value::Object(r)) = (view, record) else {
            panic!("objects expected: {view} / {record}");
        };
        for (k, want) in r {
            if !moved.contains(&k.as_str()) {
                assert_eq!(v.get(k), Some(want), "field {k}: view {view}");
            }
        }
        for k in v.keys() {
            assert!(
                r.contains_key(k) || extra.contains(&k.as_str()),
                "the view has {k}, the record does not"
            );
        }
    }

    #[test]
    fn a_job_view_is_the_record_in_the_json_rule() {
        for with_result in [false, true] {
            let j = job(with_result);
            let v = serde_json::to_value(JobView::new(&j, Some("llama".into()))).unwrap();
            let extra = ["resultHash", "outputTokens", "runtime", "modelName"];
            covers(&v, &value::to_json(&j).unwrap(), &[], &extra);
            assert_eq!(v["modelName"], "llama");
            assert_eq!(v["status"], "Completed");
            assert_eq!(v["id"], "7");
            assert_eq!(v["spec"]["sampling"]["seed"], u64::MAX.to_string());
            if with_result {
                assert_eq!(v["resultHash"], Hash32::of(b"out").to_string());
                assert_eq!(v["outputTokens"], 42);
                assert_eq!(v["runtime"], Hash32::ZERO.to_string());
            } else {
                assert!(v.get("resultHash").is_none(), "{v}");
            }
            let back: JobView = serde_json::from_value(v).unwrap();
            assert_eq!(back, JobView::new(&j, Some("llama".into())));
        }
        assert_eq!(
            serde_json::to_value(JobView::from(&job(false))).unwrap()["modelName"],
            Value::Null
        );
    }

    #[test]
    fn a_worker_view_is_the_record_with_its_status_by_name() {
        for (status, name) in [
            (WorkerStatus::Active, "Active"),
            (WorkerStatus::Unbonding { until: Tick(40) }, "Unbonding"),
            (WorkerStatus::Exited, "Exited"),
        ] {
            let info = worker(status);
            let v = serde_json::to_value(WorkerView::from(&info)).unwrap();
            let mut record = value::to_json(&info.worker).unwrap();
            record["online"] = json!(true);
            record["canTakeJobs"] = json!(false);
            covers(&v, &record, &["status"], &["unbondingUntil"]);
            assert_eq!(v["status"], name);
            if name == "Unbonding" {
                assert_eq!(v["unbondingUntil"], 40);
            } else {
                assert!(v.get("unbondingUntil").is_none());
            }
            let back: WorkerView = serde_json::from_value(v).unwrap();
            assert_eq!(back, WorkerView::from(&info));
        }
    }

    #[test]
    fn the_stats_view_counts_every_status_by_name() {
        let mut s = NetworkStats::default();
        s.jobs.submitted = 3;
        s.jobs.by_status = vec![(JobStatus::Open, 2), (JobStatus::Failed, 1)];
        s.escrow.open_accounts = 2;
        s.workers.online = 1;
        let view = NetworkStatsView::new(&s, 12);
        let v = serde_json::to_value(&view).unwrap();
        let record = value::to_json(&s).unwrap();
        covers(&v, &record, &["jobs"], &["tick"]);
        covers(&v["jobs"], &record["jobs"], &["byStatus"], &[]);
        assert_eq!(v["tick"], 12);
        assert_eq!(v["jobs"]["byStatus"]["Open"], "2");
        assert_eq!(v["jobs"]["byStatus"]["Resolved"], "0");
        assert_eq!(
            v["jobs"]["byStatus"].as_object().unwrap().len(),
            JobStatus::ALL.len()
        );
        assert_eq!(view.jobs.count(JobStatus::Failed), 1);
        let back: NetworkStatsView = serde_json::from_value(v).unwrap();
        assert_eq!(back, view);
    }

    #[test]
    fn an_escrow_view_is_the_account_in_the_json_rule() {
        let e = JobEscrow {
            job_id: JobId(9),
            requester: Identity([1; 32]),
            locked: Amount(200),
            paid: Amount(100),
            fee: Amount(0),
            worker: None,
            refunded: Amount(100),
            state: EscrowState::Released,
        };
        let v = serde_json::to_value(JobEscrowView::from(&e)).unwrap();
        assert_eq!(v, value::to_json(&e).unwrap());
        let back: JobEscrowView = serde_json::from_value(v).unwrap();
        assert_eq!(back, JobEscrowView::from(&e));
    }
}

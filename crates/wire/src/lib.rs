//! The node's JSON shapes, defined once: the node serializes them, the SDK and the CLI
//! deserialize the same types. Field names are camelCase and 64-bit numbers are decimal
//! strings, like Qubic's gateway (`reference/qubic.md` §6); strings and numbers are both
//! accepted when reading a 64-bit field.
//!
//! - Qubic-shaped: [`TickInfoResponse`], [`BalanceResponse`], [`BroadcastRequest`] /
//!   [`BroadcastResponse`], [`QueryRequest`] / [`QueryResponse`], [`TxStatusResponse`],
//!   [`ApprovedTransactionsResponse`].
//! - comqute's own: [`ReceiptResponse`], [`EventView`] / [`EventPage`], [`BlobPutResponse`],
//!   devnet [`FaucetRequest`] / [`WarpRequest`], token streaming ([`TokenPush`],
//!   [`TokenChunk`], [`token_digest`]), and the marketplace views ([`job_json`],
//!   [`worker_json`], [`stats_json`], [`decode_event`]) rendered with [`value::to_json`].
//! - Every error: [`ErrorBody`] `{"code", "message"}`.

pub use comqute_qpi::json as value;

use borsh::BorshDeserialize;
use comqute_market::escrow::EscrowEvent;
use comqute_market::job_registry::{Job, JobEvent, JobStatus, NetworkStats};
use comqute_market::worker_registry::{WorkerEvent, WorkerInfo};
use comqute_market::{ESCROW, JOB_REGISTRY, WORKER_REGISTRY};
use comqute_qpi::{ContractIndex, Hash32};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use value::ValueError;

/// Serde for 64-bit integers as decimal strings; numbers are accepted when reading.
pub mod dec {
    use std::fmt::Display;
    use std::str::FromStr;

    use serde::{de, Deserialize, Deserializer, Serializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum StrOrNum {
        S(String),
        U(u64),
        I(i64),
    }

    /// Writes `v` as a string.
    pub fn serialize<T: Display, S: Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }

    /// Reads a string or a number.
    pub fn deserialize<'de, T, D>(d: D) -> Result<T, D::Error>
    where
        T: FromStr,
        T::Err: Display,
        D: Deserializer<'de>,
    {
        let s = match StrOrNum::deserialize(d)? {
            StrOrNum::S(s) => s,
            StrOrNum::U(n) => n.to_string(),
            StrOrNum::I(n) => n.to_string(),
        };
        s.trim().parse().map_err(de::Error::custom)
    }

    /// The same for `Option`s (`null` is `None`).
    pub mod opt {
        use std::fmt::Display;
        use std::str::FromStr;

        use serde::{Deserialize, Deserializer, Serializer};

        /// Writes `Some(v)` as a string, `None` as null.
        pub fn serialize<T: Display, S: Serializer>(
            v: &Option<T>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match v {
                Some(v) => s.collect_str(v),
                None => s.serialize_none(),
            }
        }

        /// Reads null, a string or a number.
        pub fn deserialize<'de, T, D>(d: D) -> Result<Option<T>, D::Error>
        where
            T: FromStr,
            T::Err: Display,
            D: Deserializer<'de>,
        {
            #[derive(Deserialize)]
            struct Wrap(#[serde(deserialize_with = "super::deserialize")] String);
            match Option::<Wrap>::deserialize(d)? {
                None => Ok(None),
                Some(Wrap(s)) => s.parse().map(Some).map_err(serde::de::Error::custom),
            }
        }
    }
}

/// Every error's body, with the node's stable code (`bad_json`, `not_found`, `forbidden`, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The stable, machine-readable code.
    pub code: String,
    /// Human text.
    pub message: String,
}

/// `GET tick-info` (and `block-height`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TickInfoResponse {
    /// The tick information.
    pub tick_info: TickInfo,
}

/// The last processed tick; a transaction must name a later one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TickInfo {
    /// The last processed tick.
    pub tick: u32,
    /// Milliseconds per tick (0: the node ticks only on devnet warps).
    pub duration: u32,
    /// The epoch of `tick`.
    pub epoch: u16,
    /// The genesis tick.
    pub initial_tick: u32,
}

/// `GET balances/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceResponse {
    /// The balance record.
    pub balance: BalanceInfo,
}

/// An identity's balance record, Qubic's shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BalanceInfo {
    /// The identity.
    pub id: String,
    /// The balance.
    #[serde(with = "dec")]
    pub balance: i64,
    /// The tick the figures are valid for.
    pub valid_for_tick: u32,
    /// Tick of the latest incoming transfer.
    pub latest_incoming_transfer_tick: u32,
    /// Tick of the latest outgoing transfer.
    pub latest_outgoing_transfer_tick: u32,
    /// Sum received.
    #[serde(with = "dec")]
    pub incoming_amount: u64,
    /// Sum sent.
    #[serde(with = "dec")]
    pub outgoing_amount: u64,
    /// Transfers received.
    pub number_of_incoming_transfers: u32,
    /// Transfers sent.
    pub number_of_outgoing_transfers: u32,
}

/// Body of `POST broadcast-transaction`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BroadcastRequest {
    /// The packed, signed transaction in base64.
    pub encoded_transaction: String,
}

/// Answer of `POST broadcast-transaction`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BroadcastResponse {
    /// Always 1 (this node).
    pub peers_broadcasted: u32,
    /// The transaction as sent.
    pub encoded_transaction: String,
    /// Its id, lowercase codec.
    pub transaction_id: String,
}

/// Body of `POST querySmartContract`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QueryRequest {
    /// The contract.
    pub contract_index: u32,
    /// The function number.
    pub input_type: u16,
    /// The input's size in bytes, checked against `requestData` when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_size: Option<u32>,
    /// The borsh input in base64.
    #[serde(default)]
    pub request_data: String,
}

/// Answer of `POST querySmartContract`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryResponse {
    /// The borsh output in base64.
    pub response_data: String,
}

/// `GET tx-status/{txId}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TxStatusResponse {
    /// The status.
    pub transaction_status: TxStatusView,
}

/// What the node tells about a transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TxStatusView {
    /// The id, lowercase codec.
    pub tx_id: String,
    /// Qubic's `moneyFlew`.
    pub money_flew: bool,
    /// The tick it is scheduled for or ran in.
    pub tick_number: u32,
    /// `pending`, `executed`, `failed` or `dropped`.
    pub status: String,
    /// The contract error or drop reason, if any.
    pub error: Option<String>,
}

/// `GET ticks/{tick}/approved-transactions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovedTransactionsResponse {
    /// The tick's transactions in slot order.
    pub approved_transactions: Vec<ApprovedTx>,
}

/// One transaction of a tick.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovedTx {
    /// The id.
    pub tx_id: String,
    /// The tick.
    pub tick_number: u32,
    /// `executed`, `failed` or `dropped`.
    pub status: String,
    /// Qubic's `moneyFlew`.
    pub money_flew: bool,
}

/// `GET /v1/receipts/{txId}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptResponse {
    /// The receipt.
    pub receipt: ReceiptView,
}

/// A transaction's receipt: its status, the procedure's output and the events it caused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceiptView {
    /// The id.
    pub tx_id: String,
    /// The tick it is scheduled for or ran in.
    pub tick_number: u32,
    /// `pending`, `executed`, `failed` or `dropped`.
    pub status: String,
    /// Qubic's `moneyFlew`.
    pub money_flew: bool,
    /// The contract error or drop reason, as text.
    pub error: Option<String>,
    /// The contract-specific code of a rejection.
    pub error_code: Option<u16>,
    /// The rejection's name (its enum variant).
    pub error_name: Option<String>,
    /// The contract error, borsh in hex (decodes to `comqute_qpi::ContractError`).
    pub error_hex: Option<String>,
    /// The procedure's output, borsh in hex.
    pub output_hex: String,
    /// The procedure's name, when the destination is a contract that describes it.
    #[serde(default)]
    pub procedure: Option<String>,
    /// The procedure's output by the contracts' JSON rule, when the contract describes it
    /// and it ran.
    #[serde(default)]
    pub output: Option<Value>,
    /// The events it caused.
    pub events: Vec<EventView>,
    /// `false` when the node only knows the outcome (a transaction from before its last
    /// restart): no output and no events.
    pub full: bool,
}

/// A contract event: its raw bytes, and decoded when the node knows the contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventView {
    /// Its number in the node's event log (a cursor).
    #[serde(with = "dec")]
    pub seq: u64,
    /// The tick.
    pub tick: u32,
    /// The transaction that caused it; null for tick and epoch hooks.
    pub tx: Option<String>,
    /// The emitting contract.
    pub contract: u32,
    /// The borsh bytes of the contract's event type, in hex.
    pub data_hex: String,
    /// The event rendered as JSON: `{"contract": name, "type": variant, ...fields}` for the
    /// marketplace contracts, `{"contract": name, "description": text}` for others.
    #[serde(default)]
    pub decoded: Option<Value>,
}

/// `GET /v1/events?after=N&limit=M`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventPage {
    /// The events.
    pub events: Vec<EventView>,
    /// The cursor for the next page.
    #[serde(with = "dec")]
    pub next: u64,
}

/// `GET /v1/events/head`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventHead {
    /// The number the next event will get.
    #[serde(with = "dec")]
    pub next: u64,
}

/// Answer of `PUT /v1/blobs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobPutResponse {
    /// blake3 of the body, lowercase codec.
    pub hash: String,
    /// The same in hex.
    pub hex: String,
    /// Bytes stored.
    pub size: u32,
}

/// Body of `POST /v1/devnet/faucet`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaucetRequest {
    /// Who gets the money.
    pub identity: String,
    /// A decimal string or a number, 1 to 10^15.
    pub amount: Value,
}

/// Answer of `POST /v1/devnet/faucet`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaucetResponse {
    /// Who got the money.
    pub identity: String,
    /// The balance now.
    #[serde(with = "dec")]
    pub balance: i64,
}

/// Body of `POST /v1/devnet/warp`: exactly one of a target tick or a number of ticks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WarpRequest {
    /// Run ticks until this one is next.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tick: Option<u32>,
    /// Run this many ticks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticks: Option<u32>,
}

/// Answer of `POST /v1/devnet/warp`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarpResponse {
    /// The last processed tick now.
    pub tick: u32,
}

// --- token streaming ------------------------------------------------------------------------

/// The domain of [`token_digest`].
pub const TOKEN_DOMAIN: &[u8] = b"comqute token chunk v1";

/// What the assigned worker signs to push a chunk of a job's output:
/// `blake3(TOKEN_DOMAIN ‖ job_id u64 LE ‖ seq u32 LE ‖ done u8 ‖ len(text) u32 LE ‖ text)`.
pub fn token_digest(job_id: u64, seq: u32, text: &str, done: bool) -> Hash32 {
    let mut h = blake3::Hasher::new();
    h.update(TOKEN_DOMAIN);
    h.update(&job_id.to_le_bytes());
    h.update(&seq.to_le_bytes());
    h.update(&[u8::from(done)]);
    // Invariant: a chunk is far below 4 GiB (bodies are capped); saturate regardless.
    h.update(&u32::try_from(text.len()).unwrap_or(u32::MAX).to_le_bytes());
    h.update(text.as_bytes());
    Hash32(*h.finalize().as_bytes())
}

/// Body of `POST /v1/jobs/{id}/tokens`: chunk `seq` (from 0, no gaps) of the job's output,
/// signed by the assigned worker. `done` closes the stream (its text may be empty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenPush {
    /// The worker's identity.
    pub worker: String,
    /// The chunk's number.
    pub seq: u32,
    /// The text.
    pub text: String,
    /// The last chunk.
    #[serde(default)]
    pub done: bool,
    /// ed25519 signature over [`token_digest`], 128 hex digits.
    pub signature: String,
}

/// Answer of `POST /v1/jobs/{id}/tokens`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenPushResponse {
    /// The job.
    #[serde(with = "dec")]
    pub job_id: u64,
    /// The next chunk number expected.
    pub next: u32,
    /// Whether the stream is closed.
    pub done: bool,
}

/// One chunk of a job's output (SSE event `token` of `/v1/jobs/{id}/tokens/stream`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenChunk {
    /// Its number.
    pub seq: u32,
    /// The text.
    pub text: String,
}

/// SSE event `done` (the worker closed the stream) or `end` (the job reached a terminal
/// status without the stream being closed) of `/v1/jobs/{id}/tokens/stream`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenEnd {
    /// Chunks pushed.
    pub chunks: u32,
    /// The job's status when the stream ended.
    pub status: Option<String>,
}

/// `GET /v1/jobs/{id}/tokens`: what was pushed so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenPage {
    /// The job.
    #[serde(with = "dec")]
    pub job_id: u64,
    /// The chunks.
    pub chunks: Vec<TokenChunk>,
    /// Whether the worker closed the stream.
    pub done: bool,
    /// The chunks' text joined.
    pub text: String,
}

// --- the marketplace ------------------------------------------------------------------------

/// Answer of `GET /v1/jobs`: job views ([`job_json`]), ascending by id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobsPage {
    /// The jobs.
    pub jobs: Vec<Value>,
    /// Pass as `cursor` for the next page; null on the last.
    #[serde(with = "dec::opt")]
    pub next_cursor: Option<u64>,
}

/// Answer of `GET /v1/workers?model=…`: worker views ([`worker_json`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkersPage {
    /// The workers.
    pub workers: Vec<Value>,
    /// Pass as `cursor` for the next page; null on the last.
    #[serde(with = "dec::opt")]
    pub next_cursor: Option<u64>,
}

/// A job status from its name, any case (`open`, `Finalized`, …).
pub fn parse_status(s: &str) -> Option<JobStatus> {
    JobStatus::ALL
        .into_iter()
        .find(|st| st.name().eq_ignore_ascii_case(s.trim()))
}

/// A job as JSON: the [`Job`] record with camelCase fields and 64-bit numbers as strings,
/// `status` as its name (Open … Resolved), and, once a result is posted, `resultHash`,
/// `outputTokens` and `runtime` at the top level.
pub fn job_json(job: &Job) -> Result<Value, ValueError> {
    let mut v = value::to_json(job)?;
    if let (Some(r), Value::Object(m)) = (&job.result, &mut v) {
        m.insert(
            "resultHash".into(),
            Value::String(r.result_hash.to_string()),
        );
        m.insert("outputTokens".into(), Value::from(r.output_tokens));
        m.insert("runtime".into(), Value::String(r.runtime.to_string()));
    }
    Ok(v)
}

/// A worker as JSON: the record's fields, `online` and `canTakeJobs`; `status` is Active,
/// Unbonding (with `unbondingUntil`) or Exited.
pub fn worker_json(info: &WorkerInfo) -> Result<Value, ValueError> {
    let mut m = match value::to_json(&info.worker)? {
        Value::Object(m) => m,
        other => return Ok(other),
    };
    if let Some(Value::Object(st)) = m.get("status").cloned() {
        if let Some((name, Value::Object(fields))) = st.into_iter().next() {
            m.insert("status".into(), Value::String(name));
            if let Some(until) = fields.get("until") {
                m.insert("unbondingUntil".into(), until.clone());
            }
        }
    }
    m.insert("online".into(), Value::Bool(info.online));
    m.insert("canTakeJobs".into(), Value::Bool(info.can_take_jobs));
    Ok(Value::Object(m))
}

/// Network statistics as JSON, with `jobs.byStatus` as an object keyed by status name and
/// the last processed `tick`.
pub fn stats_json(s: &NetworkStats, tick: u32) -> Result<Value, ValueError> {
    let mut v = value::to_json(s)?;
    if let Some(Value::Object(jobs)) = v.get_mut("jobs") {
        let by: Map<String, Value> = JobStatus::ALL
            .into_iter()
            .map(|st| {
                (
                    st.name().to_string(),
                    Value::String(s.jobs.count(st).to_string()),
                )
            })
            .collect();
        jobs.insert("byStatus".into(), Value::Object(by));
    }
    if let Value::Object(m) = &mut v {
        m.insert("tick".into(), Value::from(tick));
    }
    Ok(v)
}

/// A marketplace contract's event, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MarketEvent {
    /// From the escrow vault (index 1).
    Escrow(EscrowEvent),
    /// From the worker registry (index 2).
    Worker(WorkerEvent),
    /// From the job registry (index 6).
    Job(JobEvent),
}

impl MarketEvent {
    /// The emitting contract's name.
    pub fn contract_name(&self) -> &'static str {
        match self {
            MarketEvent::Escrow(_) => "escrow",
            MarketEvent::Worker(_) => "worker-registry",
            MarketEvent::Job(_) => "job-registry",
        }
    }

    /// As JSON: `{"contract", "type": variant, ...fields}` (camelCase, 64-bit as strings),
    /// the same as the node's event views, which the contracts render themselves.
    pub fn to_json(&self) -> Result<Value, ValueError> {
        let mut v = match self {
            MarketEvent::Escrow(e) => value::event(e)?,
            MarketEvent::Worker(e) => value::event(e)?,
            MarketEvent::Job(e) => value::event(e)?,
        };
        if let Value::Object(m) = &mut v {
            m.insert(
                "contract".into(),
                Value::String(self.contract_name().into()),
            );
        }
        Ok(v)
    }
}

/// Decodes an event of the marketplace contracts (`None`: another contract, or bytes that
/// do not decode).
pub fn decode_event(contract: ContractIndex, data: &[u8]) -> Option<MarketEvent> {
    match contract {
        c if c == ESCROW => EscrowEvent::try_from_slice(data)
            .ok()
            .map(MarketEvent::Escrow),
        c if c == WORKER_REGISTRY => WorkerEvent::try_from_slice(data)
            .ok()
            .map(MarketEvent::Worker),
        c if c == JOB_REGISTRY => JobEvent::try_from_slice(data).ok().map(MarketEvent::Job),
        _ => None,
    }
}

/// An event as the emitting contract describes it: its name, and its JSON rendering
/// ([`comqute_qpi::contract::Contract::event_json`]) or, for a contract that renders none,
/// its text description.
pub fn described(
    c: &dyn comqute_qpi::contract::Contract,
    data: &[u8],
) -> (String, Result<Value, String>) {
    let name = c.name().to_string();
    match c.event_json(data) {
        Some(v) => (name, Ok(v)),
        None => (name, Err(c.describe_event(data))),
    }
}

/// An event as the node shows it. `describe` gives the emitting contract's name and its JSON
/// rendering of the bytes, or its text description ([`described`]): `{"contract", "type",
/// ...fields}` or `{"contract", "description"}`. Every contract is read through its own
/// description; none is known to the node by name.
pub fn event_view(
    e: &comqute_ledger::Event,
    describe: impl FnOnce(ContractIndex, &[u8]) -> Option<(String, Result<Value, String>)>,
) -> EventView {
    let decoded = describe(e.contract, &e.data).map(|(name, r)| match r {
        Ok(Value::Object(mut m)) => {
            m.insert("contract".into(), Value::String(name));
            Value::Object(m)
        }
        Ok(other) => serde_json::json!({ "contract": name, "value": other }),
        Err(text) => serde_json::json!({ "contract": name, "description": text }),
    });
    EventView {
        seq: e.seq,
        tick: e.tick.0,
        tx: e.tx.map(|t| t.to_string()),
        contract: e.contract.0,
        data_hex: hex::encode(&e.data),
        decoded,
    }
}

impl EventView {
    /// Back to the ledger's event (fails on a malformed id or hex).
    pub fn to_event(&self) -> Result<comqute_ledger::Event, String> {
        Ok(comqute_ledger::Event {
            seq: self.seq,
            tick: comqute_qpi::Tick(self.tick),
            tx: match &self.tx {
                Some(t) => Some(t.parse().map_err(|e| format!("event tx id {t:?}: {e}"))?),
                None => None,
            },
            contract: ContractIndex(self.contract),
            data: hex::decode(&self.data_hex).map_err(|e| format!("event data: {e}"))?,
        })
    }
}

/// Which jobs a listing returns: all parts given must hold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobFilter {
    /// In this status.
    pub status: Option<JobStatus>,
    /// Submitted by this identity.
    pub requester: Option<comqute_qpi::Identity>,
    /// Held (now or last) by this worker.
    pub worker: Option<comqute_qpi::Identity>,
}

/// The index a job listing walks: the most selective one its filter names (requester, then
/// worker, then status), or every job by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobIndex {
    /// The requester's jobs.
    Requester(comqute_qpi::Identity),
    /// The jobs a worker holds or held.
    Worker(comqute_qpi::Identity),
    /// The jobs in a status.
    Status(JobStatus),
    /// Every job, by id (ids run from 1 to the number submitted).
    Ids,
}

impl JobFilter {
    /// Whether `job` matches.
    pub fn matches(&self, job: &Job) -> bool {
        self.status.is_none_or(|s| job.status == s)
            && self.requester.is_none_or(|r| job.requester == r)
            && self.worker.is_none_or(|w| job.worker == Some(w))
    }

    /// The index to walk. The listing applies [`JobFilter::matches`] to the page it read, so
    /// a page may hold fewer than `limit` jobs when filters combine: follow `nextCursor`
    /// until it is null.
    pub fn index(&self) -> JobIndex {
        match (self.requester, self.worker, self.status) {
            (Some(r), _, _) => JobIndex::Requester(r),
            (None, Some(w), _) => JobIndex::Worker(w),
            (None, None, Some(s)) => JobIndex::Status(s),
            (None, None, None) => JobIndex::Ids,
        }
    }
}

/// The ids of one page of the [`JobIndex::Ids`] walk, and the page's next cursor: after
/// `cursor`, at most `limit` (at least 1), among the `submitted` jobs.
pub fn id_page(
    cursor: Option<u64>,
    limit: u16,
    submitted: u64,
) -> (std::ops::RangeInclusive<u64>, Option<u64>) {
    let from = cursor.unwrap_or(0).saturating_add(1);
    let to = from
        .saturating_add(u64::from(limit.max(1)) - 1)
        .min(submitted);
    (from..=to, (to < submitted).then_some(to))
}

#[cfg(test)]
mod tests {
    use super::{id_page, JobFilter, JobIndex};

    #[test]
    fn a_listing_walks_the_most_selective_index_and_pages_ids() {
        let who = comqute_qpi::Identity([7; 32]);
        let st = comqute_market::job_registry::JobStatus::Open;
        let f = |status, requester, worker| JobFilter {
            status,
            requester,
            worker,
        };
        assert_eq!(
            f(Some(st), Some(who), Some(who)).index(),
            JobIndex::Requester(who)
        );
        assert_eq!(f(Some(st), None, Some(who)).index(), JobIndex::Worker(who));
        assert_eq!(f(Some(st), None, None).index(), JobIndex::Status(st));
        assert_eq!(f(None, None, None).index(), JobIndex::Ids);
        assert_eq!(id_page(None, 20, 5), (1..=5, None));
        assert_eq!(id_page(Some(5), 2, 10), (6..=7, Some(7)));
        assert_eq!(
            id_page(None, 0, 3),
            (1..=1, Some(1)),
            "a limit of 0 reads one"
        );
        assert!(id_page(Some(3), 5, 3).0.is_empty(), "past the last job");
    }

    use super::*;
    use comqute_market::job_registry::{JobResult, JobSpec, Sampling};
    use comqute_qpi::{Amount, Identity, Tick};

    fn job() -> Job {
        Job {
            id: 7,
            requester: Identity([1; 32]),
            spec: JobSpec {
                model: Hash32::of(b"m"),
                prompt_hash: Hash32::of(b"p"),
                prompt_size: 1,
                max_output_tokens: 100,
                max_price_per_1k: Amount(5_000),
                timeout_ticks: 10,
                min_reputation: 0,
                sampling: Sampling::default(),
            },
            escrow: Amount(500),
            status: JobStatus::Completed,
            worker: Some(Identity([2; 32])),
            price_per_1k: Amount(4_000),
            submitted_at: Tick(3),
            assigned_at: Some(Tick(4)),
            started_at: Some(Tick(5)),
            completed_at: Some(Tick(6)),
            deadline: Some(Tick(26)),
            result: Some(JobResult {
                result_hash: Hash32::of(b"out"),
                output_tokens: 42,
                runtime: Hash32::ZERO,
            }),
            failures: 0,
            excluded: Vec::new(),
            reason: None,
            paid: Amount(0),
            refunded: Amount(0),
            slashed: Amount(0),
            closed_at: None,
        }
    }

    #[test]
    fn a_job_shows_its_status_name_and_result() {
        let v = job_json(&job()).unwrap();
        assert_eq!(v["id"], "7");
        assert_eq!(v["status"], "Completed");
        assert_eq!(v["escrow"], "500");
        assert_eq!(v["spec"]["maxPricePer1k"], "5000");
        assert_eq!(v["resultHash"], Hash32::of(b"out").to_string());
        assert_eq!(v["outputTokens"], 42);
        assert_eq!(v["submittedAt"], 3);
    }

    #[test]
    fn events_render_with_type_and_fields() {
        let e = MarketEvent::Job(JobEvent::Cancelled {
            job_id: 9,
            refunded: Amount(12),
        });
        assert_eq!(
            e.to_json().unwrap(),
            serde_json::json!({"contract": "job-registry", "type": "Cancelled", "jobId": "9", "refunded": "12"})
        );
        let bytes = borsh::to_vec(&JobEvent::Cancelled {
            job_id: 9,
            refunded: Amount(12),
        })
        .unwrap();
        assert_eq!(decode_event(JOB_REGISTRY, &bytes), Some(e));
        assert_eq!(decode_event(ESCROW, &[0xff]), None);
    }

    #[test]
    fn wide_numbers_read_from_strings_or_numbers() {
        let p: EventPage = serde_json::from_str(r#"{"events": [], "next": 5}"#).unwrap();
        assert_eq!(p.next, 5);
        let p: EventPage = serde_json::from_str(r#"{"events": [], "next": "6"}"#).unwrap();
        assert_eq!(p.next, 6);
        let j: JobsPage = serde_json::from_str(r#"{"jobs": [], "nextCursor": null}"#).unwrap();
        assert_eq!(j.next_cursor, None);
        let j: JobsPage = serde_json::from_str(r#"{"jobs": [], "nextCursor": "3"}"#).unwrap();
        assert_eq!(j.next_cursor, Some(3));
        assert_eq!(parse_status("finalized"), Some(JobStatus::Finalized));
        assert_eq!(parse_status("done"), None);
    }

    #[test]
    fn the_token_digest_binds_every_field() {
        let d = token_digest(1, 0, "hi", false);
        assert_ne!(d, token_digest(2, 0, "hi", false));
        assert_ne!(d, token_digest(1, 1, "hi", false));
        assert_ne!(d, token_digest(1, 0, "hi!", false));
        assert_ne!(d, token_digest(1, 0, "hi", true));
    }
}

/// `POST /v1/contracts/{contract}/encode`: a procedure's input as JSON, to be encoded by the
/// contract's own descriptor. `{contract}` is a name, an index or an identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EncodeCallRequest {
    /// The procedure, by name (`submit`) or number (`"1"`).
    pub procedure: String,
    /// Its input, by the JSON rule of the contracts (camelCase, 64-bit numbers as strings or
    /// numbers); `null` or absent for `()`.
    #[serde(default)]
    pub input: Value,
}

/// Answer of `POST /v1/contracts/{contract}/encode`: what a transaction calling it carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EncodeCallResponse {
    /// The contract's index.
    pub contract_index: u32,
    /// The contract's identity (the transaction's destination).
    pub destination: String,
    /// The procedure's number (the transaction's `inputType`).
    pub input_type: u16,
    /// The procedure's name.
    pub procedure: String,
    /// The input's borsh bytes, base64.
    pub input: String,
}

/// `POST /v1/contracts/{contract}/query`: a function's input as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContractQueryRequest {
    /// The function, by name or number.
    pub function: String,
    /// Its input as JSON; `null` or absent for `()`.
    #[serde(default)]
    pub input: Value,
}

/// Answer of `POST /v1/contracts/{contract}/query`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContractQueryResponse {
    /// The contract's name.
    pub contract: String,
    /// The function's name.
    pub function: String,
    /// The tick the answer is for (the next one to run).
    pub tick: u32,
    /// The output, by the contracts' JSON rule.
    pub output: Value,
}

/// `GET /v1/contracts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractsResponse {
    /// Every contract of the genesis, ascending by index.
    pub contracts: Vec<ContractInfo>,
}

/// A contract as it describes itself (`comqute_qpi::kit::ContractMeta`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContractInfo {
    /// Its index.
    pub index: u32,
    /// Its name.
    pub name: String,
    /// Its identity.
    pub identity: String,
    /// Its procedures.
    pub procedures: Vec<EntryInfo>,
    /// Its functions.
    pub functions: Vec<EntryInfo>,
    /// Its error codes.
    pub errors: Vec<ErrorCodeInfo>,
}

/// A procedure or function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntryInfo {
    /// Its input type number.
    pub number: u16,
    /// Its name.
    pub name: String,
    /// Its input type's name.
    pub input: String,
    /// Its output type's name.
    pub output: String,
}

/// An error code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorCodeInfo {
    /// The code.
    pub number: u16,
    /// Its name.
    pub name: String,
}

impl ContractInfo {
    /// From a contract's own description.
    pub fn from_meta(
        index: ContractIndex,
        name: &str,
        meta: &comqute_qpi::kit::ContractMeta,
    ) -> ContractInfo {
        let entries = |list: &[comqute_qpi::kit::EntryPoint]| {
            list.iter()
                .map(|e| EntryInfo {
                    number: e.number,
                    name: e.name.to_string(),
                    input: comqute_qpi::kit::short_type_name((e.input_type)()),
                    output: comqute_qpi::kit::short_type_name((e.output_type)()),
                })
                .collect()
        };
        ContractInfo {
            index: index.0,
            name: name.to_string(),
            identity: comqute_qpi::Identity::contract(index).to_string(),
            procedures: entries(meta.procedures),
            functions: entries(meta.functions),
            errors: meta
                .errors
                .iter()
                .map(|e| ErrorCodeInfo {
                    number: e.number,
                    name: e.name.to_string(),
                })
                .collect(),
        }
    }
}

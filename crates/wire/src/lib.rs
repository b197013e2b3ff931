//! The node's JSON shapes and routes, defined once: the node serializes them and serves them
//! at the paths of [`routes`], the SDK and the CLI deserialize the same types from the same
//! paths. Field names are camelCase and 64-bit numbers are decimal strings, like Qubic's gateway
//! (`reference/qubic.md` §6); strings and numbers are both accepted when reading a 64-bit
//! field.
//!
//! - Qubic-shaped: [`TickInfoResponse`], [`BlockHeightResponse`], [`BalanceResponse`],
//!   [`BroadcastRequest`] / [`BroadcastResponse`], [`QueryRequest`] / [`QueryResponse`],
//!   [`TxStatusResponse`], [`ApprovedTransactionsResponse`], and the archive's endpoints in
//!   [`qubic_rpc`] (latest tick, status, health check, latest stats, a transaction, tick data,
//!   chain and store hashes, an identity's transfers, the computors).
//! - comqute's own: [`ReceiptResponse`], [`EventView`] / [`EventPage`], [`BlobPutResponse`],
//!   devnet [`FaucetRequest`] / [`WarpRequest`], token streaming ([`TokenPush`],
//!   [`TokenChunk`], [`token_digest`]), and the marketplace views, typed and built from the
//!   contracts' records ([`JobView`], [`JobsPage`], [`JobEscrowView`], [`WorkerView`],
//!   [`WorkersPage`], [`NetworkStatsView`], [`ContractsResponse`]).
//! - Events keep their JSON as each contract renders it ([`EventView::decoded`],
//!   [`described`]): the node knows no contract's events by name.
//! - Every error: [`ErrorBody`] `{"code", "message"}`.

pub use comqute_qpi::json as value;

use comqute_market::job_registry::{Job, JobStatus};
use comqute_market::WorkerId;
use comqute_qpi::{ContractIndex, Hash32};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use value::ValueError;

pub mod explorer;
pub mod market;
pub mod pools;
pub mod qubic_rpc;
pub mod routes;

pub use market::{
    amount, CapabilitiesView, ContractView, ContractsResponse, EntryView, ErrorCodeView,
    EscrowTotalsView, JobCountersView, JobEscrowView, JobResultView, JobSpecView, JobView,
    JobsPage, NetworkStatsView, SamplingView, WorkerStatsView, WorkerStatusName, WorkerView,
    WorkersPage,
};

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

    /// The same for the values of a map keyed by strings.
    pub mod map {
        use std::collections::BTreeMap;
        use std::fmt::Display;
        use std::str::FromStr;

        use serde::ser::SerializeMap;
        use serde::{Deserialize, Deserializer, Serializer};

        /// Writes every value as a string.
        pub fn serialize<T: Display, S: Serializer>(
            m: &BTreeMap<String, T>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            let mut out = s.serialize_map(Some(m.len()))?;
            for (k, v) in m {
                out.serialize_entry(k, &v.to_string())?;
            }
            out.end()
        }

        /// Reads strings or numbers.
        pub fn deserialize<'de, T, D>(d: D) -> Result<BTreeMap<String, T>, D::Error>
        where
            T: FromStr,
            T::Err: Display,
            D: Deserializer<'de>,
        {
            #[derive(Deserialize)]
            struct Wrap(#[serde(deserialize_with = "super::deserialize")] String);
            BTreeMap::<String, Wrap>::deserialize(d)?
                .into_iter()
                .map(|(k, Wrap(v))| v.parse().map(|v| (k, v)).map_err(serde::de::Error::custom))
                .collect()
        }
    }

    /// The same for the items of a list.
    pub mod vec {
        use std::fmt::Display;
        use std::str::FromStr;

        use serde::ser::SerializeSeq;
        use serde::{Deserialize, Deserializer, Serializer};

        /// Writes every item as a string.
        pub fn serialize<T: Display, S: Serializer>(v: &[T], s: S) -> Result<S::Ok, S::Error> {
            let mut out = s.serialize_seq(Some(v.len()))?;
            for x in v {
                out.serialize_element(&x.to_string())?;
            }
            out.end()
        }

        /// Reads strings or numbers.
        pub fn deserialize<'de, T, D>(d: D) -> Result<Vec<T>, D::Error>
        where
            T: FromStr,
            T::Err: Display,
            D: Deserializer<'de>,
        {
            #[derive(Deserialize)]
            struct Wrap(#[serde(deserialize_with = "super::deserialize")] String);
            Vec::<Wrap>::deserialize(d)?
                .into_iter()
                .map(|Wrap(s)| s.parse().map_err(serde::de::Error::custom))
                .collect()
        }
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

/// `GET tick-info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TickInfoResponse {
    /// The tick information.
    pub tick_info: TickInfo,
}

/// `GET block-height`: the same figures as [`TickInfoResponse`] under Qubic's older name,
/// `{"blockHeight": {...}}` (qubic-http's `GetBlockHeightResponse`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockHeightResponse {
    /// The tick information.
    pub block_height: TickInfo,
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

/// Body of `POST querySmartContract`. The numbers are read from JSON numbers or decimal
/// strings, as Qubic's gateway reads them (protobuf's JSON mapping accepts both, and qubipy
/// sends strings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QueryRequest {
    /// The contract.
    #[serde(deserialize_with = "dec::deserialize")]
    pub contract_index: u32,
    /// The function number.
    #[serde(deserialize_with = "dec::deserialize")]
    pub input_type: u16,
    /// The input's size in bytes, checked against `requestData` when given (Qubic's node
    /// refuses a request whose size and data disagree too).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "dec::opt::deserialize"
    )]
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

/// One transaction of a tick: Qubic's transaction shape, with comqute's `status` and
/// `moneyFlew` ([`qubic_rpc::QubicTransaction`]).
pub type ApprovedTx = qubic_rpc::QubicTransaction;

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

/// Domain of [`blob_upload_digest`].
pub const BLOB_UPLOAD_DOMAIN: &[u8] = b"comqute blob upload v1";
/// The header naming who uploads a blob (an identity, 60 letters).
pub const UPLOADER_HEADER: &str = "x-comqute-uploader";
/// The header with the uploader's ed25519 signature over [`blob_upload_digest`] (128 hex).
pub const UPLOAD_SIGNATURE_HEADER: &str = "x-comqute-signature";

/// What an uploader signs to have a blob counted against its own quota:
/// `blake3(BLOB_UPLOAD_DOMAIN ‖ blake3(body))`. The same signed upload sent again stores
/// nothing new, so a replayed signature costs its signer nothing.
pub fn blob_upload_digest(blob: &Hash32) -> Hash32 {
    let mut h = blake3::Hasher::new();
    h.update(BLOB_UPLOAD_DOMAIN);
    h.update(&blob.0);
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

/// A job status from its name, any case (`open`, `Finalized`, …).
pub fn parse_status(s: &str) -> Option<JobStatus> {
    JobStatus::ALL
        .into_iter()
        .find(|st| st.name().eq_ignore_ascii_case(s.trim()))
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
    /// Of this model (its id).
    pub model: Option<Hash32>,
    /// Submitted at this tick or later.
    pub from_tick: Option<comqute_qpi::Tick>,
    /// Submitted at this tick or earlier.
    pub to_tick: Option<comqute_qpi::Tick>,
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
            && self.worker.is_none_or(|w| job.worker == Some(WorkerId(w)))
            && self.model.is_none_or(|m| job.spec.model == m)
            && self.from_tick.is_none_or(|t| job.submitted_at >= t)
            && self.to_tick.is_none_or(|t| job.submitted_at <= t)
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
            ..JobFilter::default()
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
    use comqute_qpi::Amount;

    #[test]
    fn events_render_with_type_and_fields_by_their_contract() {
        let set = comqute_market::contracts(comqute_market::MarketConfig::default());
        let jobs = set
            .iter()
            .find(|c| c.index() == comqute_market::JOB_REGISTRY)
            .unwrap();
        let bytes = borsh::to_vec(&comqute_market::job_registry::JobEvent::Cancelled {
            job_id: comqute_market::JobId(9),
            refunded: Amount(12),
        })
        .unwrap();
        let (name, json) = described(jobs.as_ref(), &bytes);
        assert_eq!(name, "job-registry");
        assert_eq!(
            json.unwrap(),
            serde_json::json!({"type": "Cancelled", "jobId": "9", "refunded": "12"})
        );
        let (_, text) = described(jobs.as_ref(), &[0xff]);
        assert!(
            text.is_err(),
            "bytes that are no event of its are described, not rendered"
        );
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

//! The explorer's JSON: what the web app's pages show, served to any client too (the pages
//! render these same types on the server, so a figure on a page is a figure of the API).
//!
//! | route | answer |
//! |---|---|
//! | `GET /v1/search?q=` | [`SearchResponse`]: every page a query names |
//! | `GET /v1/stats/history?limit=` | [`StatsHistory`]: samples of the stat cards, oldest first |
//! | `GET /v1/ticks/{tick}` | [`TickView`]: a processed tick's transactions and digests |
//! | `GET /v1/transactions/{id}` | [`TransactionView`]: a transaction with its decoded input |
//! | `GET /v1/identities/{id}` | [`IdentityView`]: balance and roles of any identity |
//! | `GET /v1/workers/{id}/earnings` | [`EarningsSeries`]: paid jobs with the running total |
//! | `GET /v1/models` | [`ModelsStats`]: per-model workers, prices, latency and volume |
//! | `GET /v1/network` | [`NetworkGraph`]: workers, requesters and the jobs between them |
//! | `GET /v1/jobs/export?…` | CSV of [`JOBS_CSV_HEADER`] rows ([`job_csv_row`]) |

use comqute_qpi::{Amount, Hash32, Identity, Tick};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{amount, dec, JobView, ReceiptView};

/// What a search hit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SearchKind {
    /// A job, by id.
    Job,
    /// A large job, by id.
    LargeJob,
    /// A processed tick, by number.
    Tick,
    /// A transaction, by id.
    Transaction,
    /// A registered worker.
    Worker,
    /// A pool, by id.
    Pool,
    /// Any other identity (a requester, an account, a contract).
    Identity,
    /// A job whose result or prompt has this hash.
    Result,
    /// A model, by name.
    Model,
}

/// One page a search names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchHit {
    /// What it is.
    pub kind: SearchKind,
    /// Its id as written in routes.
    pub id: String,
    /// A short line to show.
    pub label: String,
    /// The web page that shows it.
    pub page: String,
    /// The API path that answers it.
    pub api: String,
}

/// `GET /v1/search?q=`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchResponse {
    /// The query as read (trimmed).
    pub query: String,
    /// Every match, the most specific first; empty when nothing matches.
    pub hits: Vec<SearchHit>,
}

/// One sample of the explorer's stat cards, taken after a processed tick.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatsSample {
    /// The last processed tick.
    pub tick: u32,
    /// Its epoch.
    pub epoch: u16,
    /// Milliseconds since the Unix epoch when the node took it (the node's clock, not the
    /// chain's: the chain has none).
    #[serde(with = "dec")]
    pub at_ms: u64,
    /// Jobs waiting for a worker.
    #[serde(with = "dec")]
    pub open: u64,
    /// Jobs assigned, running, delivered or being checked.
    #[serde(with = "dec")]
    pub running: u64,
    /// Jobs settled (finalized, resolved, refunded by expiry, cancellation or failure).
    #[serde(with = "dec")]
    pub settled: u64,
    /// Active workers with a recent heartbeat.
    #[serde(with = "dec")]
    pub workers_online: u64,
    /// Output tokens of every result posted.
    #[serde(with = "dec")]
    pub tokens_served: u64,
    /// Escrow held for live jobs.
    #[serde(with = "amount")]
    pub escrowed: Amount,
    /// Ever paid to workers.
    #[serde(with = "amount")]
    pub paid: Amount,
}

/// `GET /v1/stats/history?limit=N`: the newest `N` samples (at most 720), oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsHistory {
    /// The samples.
    pub samples: Vec<StatsSample>,
}

/// A transaction of a tick, briefly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TxBrief {
    /// The id.
    pub tx_id: String,
    /// `executed`, `failed` or `dropped`.
    pub status: String,
    /// Who signed.
    pub source: Option<Identity>,
    /// Who received (an identity or a contract).
    pub destination: Option<Identity>,
    /// Amount moved.
    #[serde(with = "amount")]
    pub amount: Amount,
    /// The procedure's number.
    pub input_type: u16,
    /// The procedure's name, when the destination is a contract that names it.
    pub procedure: Option<String>,
    /// The contract error or drop reason.
    pub error: Option<String>,
}

/// `GET /v1/ticks/{tick}`: a processed tick.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TickView {
    /// The tick.
    pub tick: u32,
    /// Its epoch.
    pub epoch: u16,
    /// The tick digest (chains the previous one); null when the node keeps no summary of
    /// this tick (nothing ran in it).
    pub digest: Option<Hash32>,
    /// The state digest after it.
    pub state_digest: Option<Hash32>,
    /// The digest of its receipts and events.
    pub receipts_digest: Option<Hash32>,
    /// Events it emitted.
    #[serde(with = "dec")]
    pub event_count: u64,
    /// Its transactions, in slot order.
    pub transactions: Vec<TxBrief>,
    /// The last processed tick, for paging.
    pub last_processed: u32,
}

/// `GET /v1/transactions/{id}`: a transaction with its receipt and, when this node kept its
/// bytes (it received it, and it is among the newest it keeps), its decoded input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransactionView {
    /// The receipt (status, output, events, failure reason).
    pub receipt: ReceiptView,
    /// Who signed.
    pub source: Option<Identity>,
    /// Who received.
    pub destination: Option<Identity>,
    /// The destination contract's name.
    pub contract: Option<String>,
    /// Amount moved.
    #[serde(with = "amount")]
    pub amount: Amount,
    /// The procedure's number.
    pub input_type: u16,
    /// The input's bytes in hex, when kept.
    pub input_hex: Option<String>,
    /// The input decoded by the contract's own description, when kept and described.
    pub input: Option<Value>,
    /// The packed transaction in hex, when kept.
    pub packed_hex: Option<String>,
    /// The same transaction in Qubic's archive shape, as `GET /live/v1/transactions/{id}`
    /// answers it (null while it is pending): a Qubic client reading this route under
    /// `/v1` finds what it reads under `/live/v1`.
    #[serde(default)]
    pub transaction: Option<crate::qubic_rpc::QubicTransaction>,
}

/// A pool an identity belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentityPool {
    /// The pool's id.
    #[serde(with = "dec")]
    pub pool: u64,
    /// Whether this identity operates it.
    pub operator: bool,
}

/// `GET /v1/identities/{id}`: what the chain knows of any identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentityView {
    /// The identity.
    pub identity: Identity,
    /// Its balance.
    #[serde(with = "amount")]
    pub balance: Amount,
    /// Ever received.
    #[serde(with = "amount")]
    pub incoming: Amount,
    /// Ever sent.
    #[serde(with = "amount")]
    pub outgoing: Amount,
    /// The contract it is, if any.
    pub contract: Option<String>,
    /// Whether it ever registered as a worker.
    pub worker: bool,
    /// Jobs it submitted (the first page's count, up to 100; `moreJobs` says if there are
    /// more).
    pub jobs_submitted: u32,
    /// Whether it submitted more than `jobsSubmitted`.
    pub more_jobs: bool,
    /// Pools it operates.
    pub pools: Vec<IdentityPool>,
}

/// One paid job of a worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EarningsPoint {
    /// The job.
    #[serde(with = "dec")]
    pub job_id: u64,
    /// When it closed (null while a paid job is still settling).
    pub closed_at: Option<Tick>,
    /// The model's name (its id when no worker declared the name).
    pub model: String,
    /// Output tokens it produced.
    pub output_tokens: u32,
    /// Paid to the worker for it.
    #[serde(with = "amount")]
    pub paid: Amount,
    /// The running total, this job included.
    #[serde(with = "amount")]
    pub total: Amount,
    /// Whether it is finalized.
    pub finalized: bool,
}

/// `GET /v1/workers/{id}/earnings`: every paid job, ordered by closing tick then id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EarningsSeries {
    /// The worker.
    pub worker: Identity,
    /// The sum of `paid`.
    #[serde(with = "amount")]
    pub earned: Amount,
    /// The paid jobs.
    pub jobs: Vec<EarningsPoint>,
}

/// The CSV header of [`EarningsSeries`] rows.
pub const EARNINGS_CSV_HEADER: &str = "job_id,closed_at,model,output_tokens,paid,total";

/// One CSV row of an earnings point.
pub fn earnings_csv_row(p: &EarningsPoint) -> String {
    [
        p.job_id.to_string(),
        p.closed_at.map_or(String::new(), |t| t.0.to_string()),
        csv_field(&p.model),
        p.output_tokens.to_string(),
        p.paid.0.to_string(),
        p.total.0.to_string(),
    ]
    .join(",")
}

/// Percentiles of what this node observed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Percentiles {
    /// How many jobs were measured.
    pub samples: u32,
    /// The median (null without samples).
    pub p50: Option<u32>,
    /// The 90th percentile (null without samples).
    pub p90: Option<u32>,
}

/// Jobs of a model in one epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EpochCount {
    /// The epoch.
    pub epoch: u16,
    /// Jobs submitted in it.
    #[serde(with = "dec")]
    pub jobs: u64,
}

/// One model's market.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelStatsView {
    /// Its name.
    pub model: String,
    /// Its id.
    pub model_id: Hash32,
    /// Workers that declared it (active or not).
    pub workers: u32,
    /// Of them, active with a recent heartbeat.
    pub workers_online: u32,
    /// The lowest price per 1,000 output tokens among active workers.
    #[serde(with = "amount::opt", default)]
    pub min_price_per_1k: Option<Amount>,
    /// The price oracle's published median (null before it publishes one).
    #[serde(with = "amount::opt", default)]
    pub median_price_per_1k: Option<Amount>,
    /// Time to first token in milliseconds: from the tick the job started to its first
    /// streamed chunk, as this node saw them.
    pub ttft_ms: Percentiles,
    /// Output tokens per second: the result's tokens over the time from the first chunk to
    /// the last, as this node saw them.
    pub tokens_per_s: Percentiles,
    /// Results posted.
    #[serde(with = "dec")]
    pub jobs_served: u64,
    /// Jobs submitted per epoch, oldest first.
    pub jobs_per_epoch: Vec<EpochCount>,
}

/// `GET /v1/models`: every model a worker declared, by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelsStats {
    /// The models.
    pub models: Vec<ModelStatsView>,
    /// Since when latency figures are measured (the node's start, ms since the Unix epoch):
    /// they are this node's observations, not the chain's.
    #[serde(with = "dec")]
    pub observed_since_ms: u64,
}

/// What a node of the network graph is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum NodeKind {
    /// A registered worker.
    Worker,
    /// An identity that submitted jobs.
    Requester,
}

/// A node of [`NetworkGraph`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphNode {
    /// Its identity.
    pub id: Identity,
    /// What it is.
    pub kind: NodeKind,
    /// Whether a worker is active with a recent heartbeat (requesters: false).
    pub online: bool,
    /// Jobs among the graph's edges it takes part in.
    pub jobs: u32,
}

/// An edge of [`NetworkGraph`]: one job from its requester to its worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphEdge {
    /// The job.
    #[serde(with = "dec")]
    pub job_id: u64,
    /// Who submitted it.
    pub requester: Identity,
    /// Who holds or held it (null while open).
    pub worker: Option<Identity>,
    /// Its status name.
    pub status: String,
    /// Its submission tick.
    pub submitted_at: u32,
}

/// `GET /v1/network?jobs=N`: every worker, and the newest `N` jobs (at most 500) as edges
/// with their requesters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkGraph {
    /// The last processed tick.
    pub tick: u32,
    /// Workers then requesters.
    pub nodes: Vec<GraphNode>,
    /// Jobs, newest first.
    pub edges: Vec<GraphEdge>,
}

/// The CSV header of job rows (`comqute job history --csv` and the pages' export).
pub const JOBS_CSV_HEADER: &str = "id,status,model,submitted_at,closed_at,worker,price_per_1k,output_tokens,escrow,paid,fee,refunded,result_hash";

/// One CSV field: quoted when it holds a comma, a quote or a line break.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// One CSV row of a job, the columns of [`JOBS_CSV_HEADER`].
pub fn job_csv_row(j: &JobView) -> String {
    let model = j
        .model_name
        .clone()
        .unwrap_or_else(|| j.spec.model.to_string());
    let tick = |t: Option<Tick>| t.map_or(String::new(), |t| t.0.to_string());
    [
        j.id.to_string(),
        j.status.name().to_string(),
        csv_field(&model),
        j.submitted_at.0.to_string(),
        tick(j.closed_at),
        j.worker.map_or(String::new(), |w| w.to_string()),
        j.price_per_1k.0.to_string(),
        j.result
            .as_ref()
            .map_or(String::new(), |r| r.output_tokens.to_string()),
        j.escrow.0.to_string(),
        j.paid.0.to_string(),
        j.fee.0.to_string(),
        j.refunded.0.to_string(),
        j.result
            .as_ref()
            .map_or(String::new(), |r| r.result_hash.to_string()),
    ]
    .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_only_when_needed() {
        assert_eq!(csv_field("llama3.2:1b"), "llama3.2:1b");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
    }

    #[test]
    fn an_earnings_row_has_the_header_s_columns() {
        let p = EarningsPoint {
            job_id: 7,
            closed_at: Some(Tick(40)),
            model: "m,1".into(),
            output_tokens: 12,
            paid: Amount(300),
            total: Amount(900),
            finalized: true,
        };
        let row = earnings_csv_row(&p);
        assert_eq!(row, "7,40,\"m,1\",12,300,900");
        assert_eq!(EARNINGS_CSV_HEADER.split(',').count(), 6);
    }
}

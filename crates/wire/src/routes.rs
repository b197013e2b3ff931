//! Every route of the node's API, written once: the node registers these templates and
//! clients fill them ([`v1`]), so a path is never spelt twice.
//!
//! A template is relative to a prefix and names its parameters in braces, as axum's router
//! reads them (`/jobs/{id}`). The Qubic-shaped routes ([`QUBIC`]) are served under both
//! [`LIVE_V1`] (Qubic's gateway prefix) and [`V1`]; every other route under [`V1`] only.
//!
//! ```
//! use comqute_wire::routes;
//! assert_eq!(routes::v1(routes::JOB_TOKENS, &[&7]), "/v1/jobs/7/tokens");
//! assert_eq!(routes::v1(routes::TICK_INFO, &[]), "/v1/tick-info");
//! ```

use std::fmt::{Display, Write};

/// The prefix of every route.
pub const V1: &str = "/v1";
/// Qubic's gateway prefix, for the Qubic-shaped routes ([`QUBIC`]).
pub const LIVE_V1: &str = "/live/v1";

// --- Qubic-shaped --------------------------------------------------------------------------

/// `GET`: the last processed tick ([`crate::TickInfoResponse`]).
pub const TICK_INFO: &str = "/tick-info";
/// `GET`: the same figures as [`TICK_INFO`], under Qubic's older name
/// ([`crate::BlockHeightResponse`]).
pub const BLOCK_HEIGHT: &str = "/block-height";
/// `GET`: an identity's balance ([`crate::BalanceResponse`]).
pub const BALANCE: &str = "/balances/{id}";
/// `POST` [`crate::BroadcastRequest`] → [`crate::BroadcastResponse`].
pub const BROADCAST: &str = "/broadcast-transaction";
/// `POST` [`crate::QueryRequest`] → [`crate::QueryResponse`].
pub const QUERY: &str = "/querySmartContract";
/// `GET`: a transaction's status ([`crate::TxStatusResponse`]).
pub const TX_STATUS: &str = "/tx-status/{id}";
/// `GET`: a processed tick's transactions ([`crate::ApprovedTransactionsResponse`]).
pub const APPROVED_TRANSACTIONS: &str = "/ticks/{tick}/approved-transactions";
/// `GET`: the latest tick ([`crate::qubic_rpc::LatestTickResponse`]).
pub const LATEST_TICK: &str = "/latestTick";
/// `GET`: the processed ticks per epoch ([`crate::qubic_rpc::StatusResponse`]).
pub const STATUS: &str = "/status";
/// `GET`: `{"status": true}` while the node ticks ([`crate::qubic_rpc::HealthCheckResponse`]).
pub const HEALTHCHECK: &str = "/healthcheck";
/// `GET`: the network's figures ([`crate::qubic_rpc::LatestStatsResponse`]).
pub const LATEST_STATS: &str = "/latest-stats";
/// `GET`: a processed tick's data ([`crate::qubic_rpc::TickDataResponse`]).
pub const TICK_DATA: &str = "/ticks/{tick}/tick-data";
/// `GET`: the chain's digest after a tick ([`crate::qubic_rpc::HexDigestResponse`]).
pub const CHAIN_HASH: &str = "/ticks/{tick}/chain-hash";
/// `GET`: the state's digest after a tick ([`crate::qubic_rpc::HexDigestResponse`]).
pub const STORE_HASH: &str = "/ticks/{tick}/store-hash";
/// `GET ?startTick=&endTick=`: an identity's transfers in a tick range
/// ([`crate::qubic_rpc::TransferTransactionsResponse`]).
pub const TRANSFER_TRANSACTIONS: &str = "/identities/{id}/transfer-transactions";
/// `GET`: an epoch's computors ([`crate::qubic_rpc::ComputorsResponse`]).
pub const COMPUTORS: &str = "/epochs/{epoch}/computors";

/// The Qubic-shaped routes, served under [`LIVE_V1`] and [`V1`]. [`TRANSACTION`] is one of
/// them: under [`LIVE_V1`] it answers Qubic's [`crate::qubic_rpc::TransactionResponse`],
/// under [`V1`] the explorer's view, which carries the same `transaction` object.
pub const QUBIC: [&str; 17] = [
    TICK_INFO,
    BLOCK_HEIGHT,
    BALANCE,
    BROADCAST,
    QUERY,
    TX_STATUS,
    APPROVED_TRANSACTIONS,
    LATEST_TICK,
    STATUS,
    HEALTHCHECK,
    LATEST_STATS,
    TRANSACTION,
    TICK_DATA,
    CHAIN_HASH,
    STORE_HASH,
    TRANSFER_TRANSACTIONS,
    COMPUTORS,
];

// --- events --------------------------------------------------------------------------------

/// `GET ?after=N&limit=M`: a page of events ([`crate::EventPage`]).
pub const EVENTS: &str = "/events";
/// `GET ?after=N`: events as server-sent events.
pub const EVENTS_STREAM: &str = "/events/stream";
/// `GET`: the number the next event will get ([`crate::EventHead`]).
pub const EVENTS_HEAD: &str = "/events/head";

// --- the marketplace -----------------------------------------------------------------------

/// `GET ?status=&requester=&worker=&cursor=&limit=`: jobs ([`crate::JobsPage`]).
pub const JOBS: &str = "/jobs";
/// `GET`: one job ([`crate::JobView`]).
pub const JOB: &str = "/jobs/{id}";
/// `GET`: a job's escrow account ([`crate::JobEscrowView`]).
pub const JOB_ESCROW: &str = "/jobs/{id}/escrow";
/// `POST` [`crate::TokenPush`] → [`crate::TokenPushResponse`]; `GET` → [`crate::TokenPage`].
pub const JOB_TOKENS: &str = "/jobs/{id}/tokens";
/// `GET`: a job's tokens as server-sent events.
pub const JOB_TOKENS_STREAM: &str = "/jobs/{id}/tokens/stream";
/// `GET ?model=NAME | modelId=HASH&cursor=&limit=`: workers ([`crate::WorkersPage`]).
pub const WORKERS: &str = "/workers";
/// `GET`: one worker ([`crate::WorkerView`]).
pub const WORKER: &str = "/workers/{id}";
/// `GET ?cursor=&limit=`: pools ([`crate::pools::PoolsPage`]).
pub const POOLS: &str = "/pools";
/// `GET`: one pool with its members ([`crate::pools::PoolDetail`]).
pub const POOL: &str = "/pools/{id}";
/// `GET ?cursor=&limit=`: the priced models ([`crate::pools::PricesPage`]).
pub const PRICES: &str = "/prices";
/// `GET ?maxTokens=&promptTokens=`: a model's estimate ([`crate::pools::PriceEstimate`]).
pub const PRICE: &str = "/prices/{model}";
/// `GET ?cursor=&limit=`: large jobs still bidding ([`crate::pools::LargeJobsPage`]).
pub const LARGE_JOBS: &str = "/large-jobs";
/// `GET`: one large job ([`crate::pools::LargeJobDetail`]).
pub const LARGE_JOB: &str = "/large-jobs/{id}";
/// `GET`: network statistics ([`crate::NetworkStatsView`]).
pub const STATS: &str = "/stats";
/// `GET`: every contract as it describes itself ([`crate::ContractsResponse`]).
pub const CONTRACTS: &str = "/contracts";
/// `POST` [`crate::EncodeCallRequest`] → [`crate::EncodeCallResponse`]: a call of any
/// contract's procedure by name, encoded by its own description.
pub const CONTRACT_ENCODE: &str = "/contracts/{contract}/encode";
/// `POST` [`crate::ContractQueryRequest`] → [`crate::ContractQueryResponse`]: any contract's
/// function by name, with JSON in and out.
pub const CONTRACT_QUERY: &str = "/contracts/{contract}/query";
/// `GET`: a transaction's receipt ([`crate::ReceiptResponse`]).
pub const RECEIPT: &str = "/receipts/{id}";

// --- the explorer (the web app's data, for any client) -----------------------------------

/// `GET ?q=`: every page a query names ([`crate::explorer::SearchResponse`]).
pub const SEARCH: &str = "/search";
/// `GET ?limit=`: samples of the stat cards ([`crate::explorer::StatsHistory`]).
pub const STATS_HISTORY: &str = "/stats/history";
/// `GET`: a processed tick ([`crate::explorer::TickView`]).
pub const TICK: &str = "/ticks/{tick}";
/// `GET`: a transaction with its decoded input ([`crate::explorer::TransactionView`]); under
/// [`LIVE_V1`], Qubic's shape ([`crate::qubic_rpc::TransactionResponse`]).
pub const TRANSACTION: &str = "/transactions/{id}";
/// `GET`: any identity's balance and roles ([`crate::explorer::IdentityView`]).
pub const IDENTITY: &str = "/identities/{id}";
/// `GET`: a worker's paid jobs with the running total ([`crate::explorer::EarningsSeries`]).
pub const WORKER_EARNINGS: &str = "/workers/{id}/earnings";
/// `GET`: per-model market figures ([`crate::explorer::ModelsStats`]).
pub const MODELS: &str = "/models";
/// `GET ?jobs=`: workers, requesters and jobs between them ([`crate::explorer::NetworkGraph`]).
pub const NETWORK: &str = "/network";
/// `GET` with the filters of [`JOBS`] plus `fromTick`/`toTick`: every matching job as CSV.
pub const JOBS_EXPORT: &str = "/jobs/export";

// --- blobs ---------------------------------------------------------------------------------

/// `PUT` a body → [`crate::BlobPutResponse`].
pub const BLOBS: &str = "/blobs";
/// `GET`: a stored body.
pub const BLOB: &str = "/blobs/{hash}";

// --- devnet powers -------------------------------------------------------------------------

/// `POST` [`crate::FaucetRequest`] → [`crate::FaucetResponse`].
pub const FAUCET: &str = "/devnet/faucet";
/// `POST` [`crate::WarpRequest`] → [`crate::WarpResponse`].
pub const WARP: &str = "/devnet/warp";
/// `POST` [`crate::BroadcastRequest`] → [`crate::BroadcastResponse`], signature unchecked.
pub const BROADCAST_UNSIGNED: &str = "/devnet/broadcast-unsigned";

/// `template` with its `{…}` parameters replaced by `args`, in order (a parameter without
/// an argument is left empty).
pub fn fill(template: &str, args: &[&(dyn Display + Sync)]) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut args = args.iter();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').map_or(rest.len(), |c| open + c + 1);
        if let Some(a) = args.next() {
            // Writing to a String cannot fail.
            let _ = write!(out, "{a}");
        }
        rest = &rest[close..];
    }
    out.push_str(rest);
    out
}

/// The full path of `template` under [`V1`], its parameters filled ([`fill`]).
pub fn v1(template: &str, args: &[&(dyn Display + Sync)]) -> String {
    format!("{V1}{}", fill(template, args))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_fill_in_order() {
        assert_eq!(v1(BALANCE, &[&"ABC"]), "/v1/balances/ABC");
        assert_eq!(
            v1(APPROVED_TRANSACTIONS, &[&12]),
            "/v1/ticks/12/approved-transactions"
        );
        assert_eq!(v1(JOB_TOKENS_STREAM, &[&3]), "/v1/jobs/3/tokens/stream");
        assert_eq!(v1(BLOBS, &[]), "/v1/blobs");
        assert_eq!(fill(JOB, &[]), "/jobs/");
    }
}

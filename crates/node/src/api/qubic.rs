//! Endpoints shaped like Qubic's gateway and archive (`reference/qubic.md` §6,
//! [`crate::wire::qubic_rpc`]): camelCase fields, 64-bit numbers as strings. What each
//! archive endpoint means on comqute is in [`crate::qubic_rpc`].

use std::collections::HashMap;
use std::sync::Arc;

use super::market::only;
use super::{
    b64, blocking, parse_hash, parse_identity, to_b64, AreaRouter, JsonBody, PathParam, QueryParams,
};
use crate::error::ServiceError;
use crate::qubic_rpc as archive;
use crate::wire::qubic_rpc::{
    ComputorsResponse, HealthCheckResponse, HexDigestResponse, LatestStatsResponse,
    LatestTickResponse, StatusResponse, TickDataResponse, TransactionResponse,
    TransferTransactionsResponse,
};
use crate::wire::{
    routes, ApprovedTransactionsResponse, BalanceResponse, BlockHeightResponse, BroadcastRequest,
    BroadcastResponse, ErrorBody, QueryRequest, QueryResponse, TickInfoResponse, TxStatusResponse,
};
use crate::NodeState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Json;
use comqute_ledger::Transaction;
use comqute_qpi::{ContractIndex, Tick};

/// The Qubic-shaped RPC served under both prefixes. Under `/v1`, `transactions/{id}` is the
/// explorer's route (whose view carries the same Qubic object); [`live_router`] adds
/// Qubic's own answer under `/live/v1`.
pub fn router() -> AreaRouter {
    AreaRouter::new()
        .route(routes::TICK_INFO, get(tick_info))
        .route(routes::BLOCK_HEIGHT, get(block_height))
        .route(routes::BALANCE, get(balance))
        .route(routes::BROADCAST, post(broadcast))
        .route(routes::QUERY, post(query_contract))
        .route(routes::TX_STATUS, get(tx_status))
        .route(routes::APPROVED_TRANSACTIONS, get(approved_transactions))
        .route(routes::LATEST_TICK, get(latest_tick))
        .route(routes::STATUS, get(status))
        .route(routes::HEALTHCHECK, get(healthcheck))
        .route(routes::LATEST_STATS, get(latest_stats))
        .route(routes::TICK_DATA, get(tick_data))
        .route(routes::CHAIN_HASH, get(chain_hash))
        .route(routes::STORE_HASH, get(store_hash))
        .route(routes::TRANSFER_TRANSACTIONS, get(transfer_transactions))
        .route(routes::COMPUTORS, get(computors))
}

/// [`router`] and Qubic's `transactions/{id}`, for `/live/v1`.
pub fn live_router() -> AreaRouter {
    router().route(routes::TRANSACTION, get(transaction))
}

/// A tick number from a path or query (`name` names it in the error).
fn tick_param(name: &'static str, s: &str) -> Result<Tick, ServiceError> {
    s.trim()
        .parse()
        .map(Tick)
        .map_err(|_| ServiceError::BadParam {
            name,
            detail: format!("{s:?} is not a tick number"),
        })
}

/// `GET tick-info`: the last processed tick; a transaction must name a later one.
pub async fn tick_info(
    State(s): State<Arc<NodeState>>,
) -> Result<Json<TickInfoResponse>, ServiceError> {
    Ok(Json(TickInfoResponse {
        tick_info: s.chain.tick_info()?,
    }))
}

/// `GET block-height`: the same figures, as `{"blockHeight": {...}}`.
pub async fn block_height(
    State(s): State<Arc<NodeState>>,
) -> Result<Json<BlockHeightResponse>, ServiceError> {
    Ok(Json(BlockHeightResponse {
        block_height: s.chain.tick_info()?,
    }))
}

/// `GET balances/{identity}`.
pub async fn balance(
    State(s): State<Arc<NodeState>>,
    PathParam(id): PathParam<String>,
) -> Result<Json<BalanceResponse>, ServiceError> {
    let id = parse_identity(&id)?;
    Ok(Json(BalanceResponse {
        balance: s.chain.balance(&id)?,
    }))
}

/// `POST broadcast-transaction`: decodes, verifies the signature, and queues for its tick.
pub async fn broadcast(
    State(s): State<Arc<NodeState>>,
    JsonBody(b): JsonBody<BroadcastRequest>,
) -> Result<Json<BroadcastResponse>, ServiceError> {
    let tx = decode_broadcast(&b)?;
    // The signature check is ~50 µs of curve arithmetic: off the async workers.
    let id = blocking(move || s.chain.broadcast(tx)).await?;
    Ok(Json(BroadcastResponse {
        peers_broadcasted: 1,
        encoded_transaction: b.encoded_transaction,
        transaction_id: id.to_string(),
    }))
}

/// The transaction in a broadcast body: base64, then the packed format (its signature is
/// not checked here).
pub fn decode_broadcast(b: &BroadcastRequest) -> Result<Transaction, ServiceError> {
    let bytes = b64("encodedTransaction", &b.encoded_transaction)?;
    Ok(Transaction::decode(&bytes)?)
}

/// The input of a contract query: `requestData` decoded, its length checked against
/// `inputSize` when given.
pub fn query_input(q: &QueryRequest) -> Result<Vec<u8>, ServiceError> {
    let input = b64("requestData", &q.request_data)?;
    if let Some(n) = q.input_size {
        if n as usize != input.len() {
            return Err(ServiceError::BadParam {
                name: "inputSize",
                detail: format!("says {n} bytes, requestData has {}", input.len()),
            });
        }
    }
    Ok(input)
}

/// `POST querySmartContract`: runs a contract function against the current state.
pub async fn query_contract(
    State(s): State<Arc<NodeState>>,
    JsonBody(q): JsonBody<QueryRequest>,
) -> Result<Json<QueryResponse>, ServiceError> {
    let input = query_input(&q)?;
    let out = s
        .chain
        .query(ContractIndex(q.contract_index), q.input_type, &input)?;
    Ok(Json(QueryResponse {
        response_data: to_b64(&out),
    }))
}

/// `GET tx-status/{txId}`: pending, executed, failed or dropped, with Qubic's `moneyFlew`.
pub async fn tx_status(
    State(s): State<Arc<NodeState>>,
    PathParam(id): PathParam<String>,
) -> Result<Json<TxStatusResponse>, ServiceError> {
    let id = parse_hash(&id)?;
    let view = s
        .chain
        .tx_status(&id)?
        .ok_or_else(|| ServiceError::NotFound(format!("no transaction {id}")))?;
    Ok(Json(TxStatusResponse {
        transaction_status: view,
    }))
}

/// `GET ticks/{tick}/approved-transactions`: the transactions of a processed tick.
pub async fn approved_transactions(
    State(s): State<Arc<NodeState>>,
    PathParam(tick): PathParam<String>,
) -> Result<Json<ApprovedTransactionsResponse>, ServiceError> {
    let tick = tick_param("tick", &tick)?;
    Ok(Json(ApprovedTransactionsResponse {
        approved_transactions: blocking(move || s.chain.approved_transactions(tick)).await?,
    }))
}

/// `GET latestTick`: the last processed tick.
pub async fn latest_tick(
    State(s): State<Arc<NodeState>>,
) -> Result<Json<LatestTickResponse>, ServiceError> {
    Ok(Json(LatestTickResponse {
        latest_tick: s.chain.tick_info()?.tick,
    }))
}

/// `GET status`: every epoch's processed ticks.
pub async fn status(State(s): State<Arc<NodeState>>) -> Result<Json<StatusResponse>, ServiceError> {
    Ok(Json(archive::status(&s.chain)?))
}

/// `GET healthcheck`: `{"status": true}` while the node ticks, else 503 `not_ready` (as
/// `GET /health`).
pub async fn healthcheck(State(s): State<Arc<NodeState>>) -> Response {
    match s.metrics.ready(&s.chain, s.config.tick_ms) {
        Ok(_) => Json(HealthCheckResponse { status: true }).into_response(),
        Err(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(ErrorBody {
                code: "not_ready".into(),
                message: why,
            }),
        )
            .into_response(),
    }
}

/// `GET latest-stats`: supply, burns, active addresses and the epoch's ticks.
pub async fn latest_stats(
    State(s): State<Arc<NodeState>>,
) -> Result<Json<LatestStatsResponse>, ServiceError> {
    let now = i64::try_from(crate::explorer::now_ms() / 1_000).unwrap_or(i64::MAX);
    // Counting active addresses reads every account: off the async workers.
    let data = blocking(move || archive::latest_stats(&s.chain, now)).await?;
    Ok(Json(LatestStatsResponse { data }))
}

/// `GET transactions/{id}` under `/live/v1`: a processed transaction in Qubic's shape.
pub async fn transaction(
    State(s): State<Arc<NodeState>>,
    PathParam(id): PathParam<String>,
) -> Result<Json<TransactionResponse>, ServiceError> {
    let id = parse_hash(&id)?;
    Ok(Json(TransactionResponse {
        transaction: blocking(move || archive::transaction(&s.chain, &id)).await?,
    }))
}

/// `GET ticks/{tick}/tick-data`.
pub async fn tick_data(
    State(s): State<Arc<NodeState>>,
    PathParam(tick): PathParam<String>,
) -> Result<Json<TickDataResponse>, ServiceError> {
    let tick = tick_param("tick", &tick)?;
    let data = blocking(move || archive::tick_data(&s.chain, &s.observer, tick)).await?;
    Ok(Json(TickDataResponse {
        tick_data: Some(data),
    }))
}

/// `GET ticks/{tick}/chain-hash`: the tick digest, hex.
pub async fn chain_hash(
    State(s): State<Arc<NodeState>>,
    PathParam(tick): PathParam<String>,
) -> Result<Json<HexDigestResponse>, ServiceError> {
    let tick = tick_param("tick", &tick)?;
    let d = blocking(move || archive::digests(&s.chain, tick)).await?;
    Ok(Json(HexDigestResponse {
        hex_digest: hex::encode(d.digest.0),
    }))
}

/// `GET ticks/{tick}/store-hash`: the state digest after the tick, hex.
pub async fn store_hash(
    State(s): State<Arc<NodeState>>,
    PathParam(tick): PathParam<String>,
) -> Result<Json<HexDigestResponse>, ServiceError> {
    let tick = tick_param("tick", &tick)?;
    let d = blocking(move || archive::digests(&s.chain, tick)).await?;
    Ok(Json(HexDigestResponse {
        hex_digest: hex::encode(d.state_digest.0),
    }))
}

/// `GET identities/{id}/transfer-transactions?startTick=&endTick=` (both required).
pub async fn transfer_transactions(
    State(s): State<Arc<NodeState>>,
    PathParam(id): PathParam<String>,
    QueryParams(p): QueryParams<HashMap<String, String>>,
) -> Result<Json<TransferTransactionsResponse>, ServiceError> {
    only(&p, &["startTick", "endTick"])?;
    let id = parse_identity(&id)?;
    let bound = |name: &'static str| match p.get(name) {
        Some(v) => tick_param(name, v),
        None => Err(ServiceError::BadParam {
            name,
            detail: "required".into(),
        }),
    };
    let (start, end) = (bound("startTick")?, bound("endTick")?);
    let per_tick =
        blocking(move || archive::transfer_transactions(&s.chain, &id, start, end)).await?;
    Ok(Json(TransferTransactionsResponse {
        transfer_transactions_per_tick: per_tick,
    }))
}

/// `GET epochs/{epoch}/computors`.
pub async fn computors(
    State(s): State<Arc<NodeState>>,
    PathParam(epoch): PathParam<String>,
) -> Result<Json<ComputorsResponse>, ServiceError> {
    let epoch: u32 = epoch.trim().parse().map_err(|_| ServiceError::BadParam {
        name: "epoch",
        detail: format!("{epoch:?} is not an epoch number"),
    })?;
    Ok(Json(ComputorsResponse {
        computors: archive::computors(&s.chain, epoch)?,
    }))
}

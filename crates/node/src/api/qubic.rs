//! Endpoints shaped like Qubic's gateway (`reference/qubic.md` §6): camelCase fields, 64-bit
//! numbers as strings.

use std::sync::Arc;

use super::{b64, blocking, parse_hash, parse_identity, to_b64, AreaRouter, JsonBody, PathParam};
use crate::error::ServiceError;
use crate::wire::{
    routes, ApprovedTransactionsResponse, BalanceResponse, BroadcastRequest, BroadcastResponse,
    QueryRequest, QueryResponse, TickInfoResponse, TxStatusResponse,
};
use crate::NodeState;
use axum::extract::State;
use axum::routing::{get, post};
use axum::Json;
use comqute_ledger::Transaction;
use comqute_qpi::{ContractIndex, Tick};

/// The Qubic-shaped RPC.
pub fn router() -> AreaRouter {
    AreaRouter::new()
        .route(routes::TICK_INFO, get(tick_info))
        .route(routes::BLOCK_HEIGHT, get(tick_info))
        .route(routes::BALANCE, get(balance))
        .route(routes::BROADCAST, post(broadcast))
        .route(routes::QUERY, post(query_contract))
        .route(routes::TX_STATUS, get(tx_status))
        .route(routes::APPROVED_TRANSACTIONS, get(approved_transactions))
}

/// `GET tick-info`: the last processed tick; a transaction must name a later one.
pub async fn tick_info(
    State(s): State<Arc<NodeState>>,
) -> Result<Json<TickInfoResponse>, ServiceError> {
    Ok(Json(TickInfoResponse {
        tick_info: s.chain.tick_info()?,
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
    let tick: u32 = tick.parse().map_err(|_| ServiceError::BadParam {
        name: "tick",
        detail: format!("{tick:?} is not a tick number"),
    })?;
    Ok(Json(ApprovedTransactionsResponse {
        approved_transactions: s.chain.approved_transactions(Tick(tick))?,
    }))
}

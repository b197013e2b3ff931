//! Endpoints shaped like Qubic's gateway (`reference/qubic.md` §6): camelCase fields, 64-bit
//! numbers as strings.

use std::sync::Arc;

use super::AreaRouter;
use super::{b64, blocking, parse_hash, parse_identity, to_b64, JsonBody};
use crate::error::ApiError;
use crate::wire::routes;
use crate::wire::{
    ApprovedTransactionsResponse, ApprovedTx, BalanceInfo, BalanceResponse, BroadcastRequest,
    BroadcastResponse, QueryRequest, QueryResponse, TickInfo, TickInfoResponse, TxStatusResponse,
};
use crate::Shared;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::Json;
use comqute_contracts::{ContractIndex, Tick};
use comqute_ledger::{Transaction, VerifiedTx};

/// `GET tick-info`: the last processed tick; a transaction must name a later one.
pub async fn tick_info(State(s): State<Arc<Shared>>) -> Result<Json<TickInfoResponse>, ApiError> {
    let c = s.chain()?;
    let l = c.ledger();
    let tick = l.next_tick().0.saturating_sub(1);
    Ok(Json(TickInfoResponse {
        tick_info: TickInfo {
            tick,
            duration: u32::try_from(s.config.tick_ms).unwrap_or(u32::MAX),
            epoch: l.epoch_of(Tick(tick)).0,
            initial_tick: l.config().genesis_tick.0,
        },
    }))
}

/// `GET balances/{identity}`.
pub async fn balance(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Result<Json<BalanceResponse>, ApiError> {
    let id = parse_identity(&id)?;
    let c = s.chain()?;
    let l = c.ledger();
    let a = l.account(&id);
    Ok(Json(BalanceResponse {
        balance: BalanceInfo {
            id: id.to_string(),
            balance: a.balance,
            valid_for_tick: l.next_tick().0.saturating_sub(1),
            latest_incoming_transfer_tick: a.latest_incoming_transfer_tick,
            latest_outgoing_transfer_tick: a.latest_outgoing_transfer_tick,
            incoming_amount: a.incoming_amount,
            outgoing_amount: a.outgoing_amount,
            number_of_incoming_transfers: a.number_of_incoming_transfers,
            number_of_outgoing_transfers: a.number_of_outgoing_transfers,
        },
    }))
}

/// `POST broadcast-transaction`: decodes, verifies the signature, and queues for its tick.
pub async fn broadcast(
    State(s): State<Arc<Shared>>,
    JsonBody(b): JsonBody<BroadcastRequest>,
) -> Result<Json<BroadcastResponse>, ApiError> {
    let tx = decode_broadcast(&b)?;
    // Verify off the async workers: ~50 µs of curve arithmetic.
    let verified = blocking(move || Ok(VerifiedTx::verify(tx)?)).await?;
    let id = s.chain()?.submit_verified(verified)?;
    Ok(Json(BroadcastResponse {
        peers_broadcasted: 1,
        encoded_transaction: b.encoded_transaction,
        transaction_id: id.to_string(),
    }))
}

/// The transaction in a broadcast body: base64, then the packed format (its signature is
/// not checked here).
pub fn decode_broadcast(b: &BroadcastRequest) -> Result<Transaction, ApiError> {
    let bytes = b64("encodedTransaction", &b.encoded_transaction)?;
    Ok(Transaction::decode(&bytes)?)
}

/// The input of a contract query: `requestData` decoded, its length checked against
/// `inputSize` when given.
pub fn query_input(q: &QueryRequest) -> Result<Vec<u8>, ApiError> {
    let input = b64("requestData", &q.request_data)?;
    if let Some(n) = q.input_size {
        if n as usize != input.len() {
            return Err(ApiError::BadParam {
                name: "inputSize",
                detail: format!("says {n} bytes, requestData has {}", input.len()),
            });
        }
    }
    Ok(input)
}

/// `POST querySmartContract`: runs a contract function against the current state.
pub async fn query_contract(
    State(s): State<Arc<Shared>>,
    JsonBody(q): JsonBody<QueryRequest>,
) -> Result<Json<QueryResponse>, ApiError> {
    let input = query_input(&q)?;
    let out =
        s.chain()?
            .ledger()
            .query_raw(ContractIndex(q.contract_index), q.input_type, &input)?;
    Ok(Json(QueryResponse {
        response_data: to_b64(&out),
    }))
}

/// `GET tx-status/{txId}`: pending, executed, failed or dropped, with Qubic's `moneyFlew`.
pub async fn tx_status(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Result<Json<TxStatusResponse>, ApiError> {
    let id = parse_hash(&id)?;
    let view = s
        .chain()?
        .tx_status(&id)?
        .ok_or_else(|| ApiError::NotFound(format!("no transaction {id}")))?;
    Ok(Json(TxStatusResponse {
        transaction_status: view,
    }))
}

/// `GET ticks/{tick}/approved-transactions`: the transactions of a processed tick.
pub async fn approved_transactions(
    State(s): State<Arc<Shared>>,
    Path(tick): Path<String>,
) -> Result<Json<ApprovedTransactionsResponse>, ApiError> {
    let tick: u32 = tick.parse().map_err(|_| ApiError::BadParam {
        name: "tick",
        detail: format!("{tick:?} is not a tick number"),
    })?;
    let c = s.chain()?;
    if Tick(tick) >= c.ledger().next_tick() {
        return Err(ApiError::NotFound(format!(
            "tick {tick} is not processed yet"
        )));
    }
    let ids = c.tick_transactions(Tick(tick))?.unwrap_or_default();
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(v) = c.tx_status(&id)? {
            out.push(ApprovedTx {
                tx_id: v.tx_id,
                tick_number: v.tick_number,
                status: v.status,
                money_flew: v.money_flew,
            });
        }
    }
    Ok(Json(ApprovedTransactionsResponse {
        approved_transactions: out,
    }))
}

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

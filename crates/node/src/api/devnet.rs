//! Devnet powers: only on nodes started with `devnet`; elsewhere `403 devnet_only` (the
//! rule is [`crate::chain::ChainService`]'s; these adapters ask it before reading the
//! body's fields, so a node without the powers says so first).
//!
//! - `POST /v1/devnet/faucet` [`FaucetRequest`]: creates money.
//! - `POST /v1/devnet/warp` [`WarpRequest`]: processes ticks now.
//! - `POST /v1/devnet/broadcast-unsigned` [`BroadcastRequest`]: queues a transaction without
//!   checking its signature (harness mode over HTTP: load tests measure the node without
//!   the ed25519 cost; the signature bytes may be anything).

use std::sync::Arc;

use super::{blocking, parse_identity, AreaRouter, JsonBody};
use crate::chain::{faucet_amount, Warp};
use crate::error::ServiceError;
use crate::wire::{
    routes, BroadcastRequest, BroadcastResponse, FaucetRequest, FaucetResponse, WarpRequest,
    WarpResponse,
};
use crate::NodeState;
use axum::extract::State;
use axum::routing::post;
use axum::Json;
use comqute_qpi::{Amount, Identity, Tick};

/// Devnet powers (each refuses with 403 `devnet_only` on a node without them).
pub fn router() -> AreaRouter {
    AreaRouter::new()
        .route(routes::FAUCET, post(faucet))
        .route(routes::WARP, post(warp))
        .route(routes::BROADCAST_UNSIGNED, post(broadcast_unsigned))
}

/// The faucet's `amount`: a decimal string or a number, 1 to 10^15.
pub fn amount(v: &serde_json::Value) -> Result<Amount, ServiceError> {
    let n = match v {
        serde_json::Value::String(s) => s.parse::<i64>().ok(),
        serde_json::Value::Number(n) => n.as_i64(),
        _ => None,
    };
    n.and_then(|n| faucet_amount(n).ok())
        .ok_or_else(|| ServiceError::BadParam {
            name: "amount",
            detail: format!("{v} is not an amount between 1 and 10^15"),
        })
}

/// Who gets how much from a faucet body.
pub fn faucet_params(f: &FaucetRequest) -> Result<(Identity, Amount), ServiceError> {
    Ok((parse_identity(&f.identity)?, amount(&f.amount)?))
}

/// The tick a warp body asks for, given the next tick: exactly one of `tick` (at or after
/// `next`) or `ticks` (counted from `next`, within the tick range).
pub fn warp_target(w: &WarpRequest, next: Tick) -> Result<Tick, ServiceError> {
    Warp::from_request(w)?.target(next)
}

/// `POST /v1/devnet/faucet {"identity", "amount"}`: creates money.
pub async fn faucet(
    State(s): State<Arc<NodeState>>,
    JsonBody(f): JsonBody<FaucetRequest>,
) -> Result<Json<FaucetResponse>, ServiceError> {
    s.chain.require_devnet("the faucet")?;
    let (id, amount) = faucet_params(&f)?;
    let balance = blocking(move || s.chain.faucet(&id, amount)).await?;
    Ok(Json(FaucetResponse {
        identity: id.to_string(),
        balance: balance.0,
    }))
}

/// `POST /v1/devnet/warp {"tick": N} | {"ticks": N}`: processes ticks now, skipping idle ones.
pub async fn warp(
    State(s): State<Arc<NodeState>>,
    JsonBody(w): JsonBody<WarpRequest>,
) -> Result<Json<WarpResponse>, ServiceError> {
    s.chain.require_devnet("warp")?;
    let warp = Warp::from_request(&w)?;
    let last = blocking(move || s.chain.warp(warp)).await?;
    Ok(Json(WarpResponse { tick: last.0 }))
}

/// `POST /v1/devnet/broadcast-unsigned {"encodedTransaction"}`: like `broadcast-transaction`
/// but the signature is not checked (the ledger's `submit_unsigned`).
pub async fn broadcast_unsigned(
    State(s): State<Arc<NodeState>>,
    JsonBody(b): JsonBody<BroadcastRequest>,
) -> Result<Json<BroadcastResponse>, ServiceError> {
    s.chain.require_devnet("unsigned broadcast")?;
    let tx = super::qubic::decode_broadcast(&b)?;
    let id = blocking(move || s.chain.broadcast_unsigned(tx)).await?;
    Ok(Json(BroadcastResponse {
        peers_broadcasted: 1,
        encoded_transaction: b.encoded_transaction,
        transaction_id: id.to_string(),
    }))
}

//! Devnet powers: only on nodes started with `devnet`; elsewhere `403 devnet_only`.
//!
//! - `POST /v1/devnet/faucet` [`FaucetRequest`]: creates money.
//! - `POST /v1/devnet/warp` [`WarpRequest`]: processes ticks now.
//! - `POST /v1/devnet/broadcast-unsigned` [`BroadcastRequest`]: queues a transaction without
//!   checking its signature (harness mode over HTTP: load tests measure the node without
//!   the ed25519 cost; the signature bytes may be anything).

use std::sync::Arc;

use super::AreaRouter;
use super::{blocking, parse_identity, JsonBody};
use crate::error::ApiError;
use crate::wire::routes;
use crate::wire::{
    BroadcastRequest, BroadcastResponse, FaucetRequest, FaucetResponse, WarpRequest, WarpResponse,
};
use crate::Shared;
use axum::extract::State;
use axum::routing::post;
use axum::Json;
use comqute_contracts::{Amount, Identity, Tick};

/// The faucet's `amount`: a decimal string or a number, 1 to 10^15.
pub fn amount(v: &serde_json::Value) -> Result<Amount, ApiError> {
    let n = match v {
        serde_json::Value::String(s) => s.parse::<i64>().ok(),
        serde_json::Value::Number(n) => n.as_i64(),
        _ => None,
    };
    match n {
        Some(n) if n > 0 && n <= comqute_contracts::MAX_AMOUNT => Ok(Amount(n)),
        _ => Err(ApiError::BadParam {
            name: "amount",
            detail: format!("{v} is not an amount between 1 and 10^15"),
        }),
    }
}

/// Who gets how much from a faucet body.
pub fn faucet_params(f: &FaucetRequest) -> Result<(Identity, Amount), ApiError> {
    Ok((parse_identity(&f.identity)?, amount(&f.amount)?))
}

/// The tick a warp body asks for, given the next tick: exactly one of `tick` (at or after
/// `next`) or `ticks` (counted from `next`, within the tick range).
pub fn warp_target(w: &WarpRequest, next: Tick) -> Result<Tick, ApiError> {
    let target = match (w.tick, w.ticks) {
        (Some(t), None) => Tick(t),
        // Past the last tick is a bad request, not the node's failure (it was a 500
        // `ledger_error` before the `node_json` fuzz check flagged it).
        (None, Some(n)) => Tick(next.0.checked_add(n).ok_or_else(|| ApiError::BadParam {
            name: "ticks",
            detail: format!("{n} ticks from tick {next} is past the last tick"),
        })?),
        _ => {
            return Err(ApiError::BadParam {
                name: "tick",
                detail: "give exactly one of tick or ticks".into(),
            })
        }
    };
    if target < next {
        return Err(ApiError::BadParam {
            name: "tick",
            detail: format!("tick {} is past; the next tick is {next}", target.0),
        });
    }
    Ok(target)
}

/// `POST /v1/devnet/faucet {"identity", "amount"}`: creates money.
pub async fn faucet(
    State(s): State<Arc<Shared>>,
    JsonBody(f): JsonBody<FaucetRequest>,
) -> Result<Json<FaucetResponse>, ApiError> {
    if !s.config.devnet {
        return Err(ApiError::DevnetOnly("the faucet"));
    }
    let (id, amount) = faucet_params(&f)?;
    let s2 = s.clone();
    blocking(move || s2.chain()?.fund(&id, amount)).await?;
    let balance = s.chain()?.ledger().balance(&id);
    Ok(Json(FaucetResponse {
        identity: id.to_string(),
        balance: balance.0,
    }))
}

/// `POST /v1/devnet/warp {"tick": N} | {"ticks": N}`: processes ticks now, skipping idle ones.
pub async fn warp(
    State(s): State<Arc<Shared>>,
    JsonBody(w): JsonBody<WarpRequest>,
) -> Result<Json<WarpResponse>, ApiError> {
    if !s.config.devnet {
        return Err(ApiError::DevnetOnly("warp"));
    }
    let s2 = s.clone();
    let last = blocking(move || {
        let mut c = s2.chain()?;
        let target = warp_target(&w, c.ledger().next_tick())?;
        c.warp_to_tick(target)?;
        Ok(Tick(c.ledger().next_tick().0.saturating_sub(1)))
    })
    .await?;
    s.tick_tx.send_replace(last);
    Ok(Json(WarpResponse { tick: last.0 }))
}

/// `POST /v1/devnet/broadcast-unsigned {"encodedTransaction"}`: like `broadcast-transaction`
/// but the signature is not checked (the ledger's `submit_unsigned`).
pub async fn broadcast_unsigned(
    State(s): State<Arc<Shared>>,
    JsonBody(b): JsonBody<BroadcastRequest>,
) -> Result<Json<BroadcastResponse>, ApiError> {
    if !s.config.devnet {
        return Err(ApiError::DevnetOnly("unsigned broadcast"));
    }
    let tx = super::qubic::decode_broadcast(&b)?;
    let id = s.chain()?.submit_unsigned(tx)?;
    Ok(Json(BroadcastResponse {
        peers_broadcasted: 1,
        encoded_transaction: b.encoded_transaction,
        transaction_id: id.to_string(),
    }))
}

/// Devnet powers (each refuses with 403 `devnet_only` on a node without them).
pub fn router() -> AreaRouter {
    AreaRouter::new()
        .route(routes::FAUCET, post(faucet))
        .route(routes::WARP, post(warp))
        .route(routes::BROADCAST_UNSIGNED, post(broadcast_unsigned))
}

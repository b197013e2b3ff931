//! Devnet powers: only on nodes started with `devnet`; elsewhere `403 devnet_only`.

use std::sync::Arc;

use super::{blocking, parse_identity, JsonBody};
use crate::error::ApiError;
use crate::wire::{FaucetRequest, FaucetResponse, WarpRequest, WarpResponse};
use crate::Shared;
use axum::extract::State;
use axum::Json;
use comqute_contracts::{Amount, Tick};

fn amount(v: &serde_json::Value) -> Result<Amount, ApiError> {
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

/// `POST /v1/devnet/faucet {"identity", "amount"}`: creates money.
pub async fn faucet(
    State(s): State<Arc<Shared>>,
    JsonBody(f): JsonBody<FaucetRequest>,
) -> Result<Json<FaucetResponse>, ApiError> {
    if !s.config.devnet {
        return Err(ApiError::DevnetOnly("the faucet"));
    }
    let id = parse_identity(&f.identity)?;
    let amount = amount(&f.amount)?;
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
        let next = c.ledger().next_tick();
        let target = match (w.tick, w.ticks) {
            (Some(t), None) => Tick(t),
            (None, Some(n)) => Tick(
                next.0
                    .checked_add(n)
                    .ok_or(comqute_ledger::LedgerError::TickOverflow)?,
            ),
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
        c.warp_to_tick(target)?;
        Ok(Tick(c.ledger().next_tick().0.saturating_sub(1)))
    })
    .await?;
    s.tick_tx.send_replace(last);
    Ok(Json(WarpResponse { tick: last.0 }))
}

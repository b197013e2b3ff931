//! The HTTP API: routes, extractors that turn every malformed request into an [`ApiError`],
//! and the shared JSON helpers. Qubic-shaped endpoints are in [`qubic`], events in
//! [`events`], blobs in [`blobs`], devnet powers in [`devnet`].

pub mod blobs;
pub mod devnet;
pub mod events;
pub mod qubic;

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, Request};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::Router;
use comqute_contracts::{Hash32, Identity};
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::Shared;

/// The node's routes.
pub fn router(shared: Arc<Shared>) -> Router {
    let qubic = Router::new()
        .route("/tick-info", get(qubic::tick_info))
        .route("/block-height", get(qubic::tick_info))
        .route("/balances/{id}", get(qubic::balance))
        .route("/broadcast-transaction", post(qubic::broadcast))
        .route("/querySmartContract", post(qubic::query_contract))
        .route("/tx-status/{id}", get(qubic::tx_status))
        .route(
            "/ticks/{tick}/approved-transactions",
            get(qubic::approved_transactions),
        );
    let v1 = qubic
        .clone()
        .route("/events", get(events::list))
        .route("/events/stream", get(events::stream))
        .route("/devnet/faucet", post(devnet::faucet))
        .route("/devnet/warp", post(devnet::warp))
        .route("/blobs/{hash}", get(blobs::get))
        .route(
            "/blobs",
            put(blobs::put).layer(DefaultBodyLimit::max(shared.config.max_blob_bytes)),
        );
    Router::new()
        .nest("/live/v1", qubic)
        .nest("/v1", v1)
        .fallback(|| async { ApiError::NotFound("no such endpoint".into()) })
        .layer(DefaultBodyLimit::max(shared.config.max_body_bytes))
        .with_state(shared)
}

/// A JSON body whose every failure is an [`ApiError`] (malformed → `bad_json`, too large →
/// 413 `body_too_large`).
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(JsonBody(v)),
            Err(r) => Err(json_rejection(r)),
        }
    }
}

/// A raw body whose failures are [`ApiError`]s (too large → 413 `body_too_large`).
pub struct BytesBody(pub axum::body::Bytes);

impl<S: Send + Sync> FromRequest<S> for BytesBody {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::body::Bytes::from_request(req, state).await {
            Ok(b) => Ok(BytesBody(b)),
            Err(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::TooLarge { size: 0, limit: 0 })
            }
            Err(r) => Err(ApiError::BadParam {
                name: "body",
                detail: r.body_text(),
            }),
        }
    }
}

fn json_rejection(r: JsonRejection) -> ApiError {
    if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::TooLarge { size: 0, limit: 0 };
    }
    ApiError::BadJson(r.body_text())
}

/// Parses an identity from a path.
pub fn parse_identity(s: &str) -> Result<Identity, ApiError> {
    s.parse()
        .map_err(|e: comqute_contracts::CodecError| ApiError::BadIdentity {
            value: s.to_owned(),
            detail: e.to_string(),
        })
}

/// Parses a hash or transaction id (60 lowercase letters or 64 hex digits).
pub fn parse_hash(s: &str) -> Result<Hash32, ApiError> {
    s.parse()
        .map_err(|e: comqute_contracts::CodecError| ApiError::BadIdentity {
            value: s.to_owned(),
            detail: e.to_string(),
        })
}

/// Decodes a base64 field.
pub fn b64(field: &'static str, s: &str) -> Result<Vec<u8>, ApiError> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .map_err(|_| ApiError::BadBase64 { field })
}

/// Encodes bytes as base64.
pub fn to_b64(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// Runs a blocking closure off the async workers.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
}

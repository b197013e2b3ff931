//! The HTTP API: routes, extractors that turn every malformed request into an [`ApiError`],
//! and the shared JSON helpers. Qubic-shaped endpoints are in [`qubic`], events in
//! [`events`], blobs in [`blobs`], devnet powers in [`devnet`], the marketplace views in
//! [`market`], token streaming in [`tokens`]. The JSON shapes are in [`crate::wire`].

pub mod blobs;
pub mod devnet;
pub mod events;
pub mod market;
pub mod qubic;
pub mod tokens;

use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::Router;
use comqute_contracts::{Hash32, Identity};
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::wire::routes;
use crate::Shared;

/// The node's routes: one router per area, merged here. The Qubic-shaped RPC is served
/// under both [`routes::LIVE_V1`] and [`routes::V1`]; every other area under
/// [`routes::V1`]. A new area (an explorer, metrics) is one more router merged here.
pub fn router(shared: Arc<Shared>) -> Router {
    let v1 = Router::new()
        .merge(qubic::router())
        .merge(market::router())
        .merge(events::router())
        .merge(tokens::router())
        .merge(blobs::router())
        .merge(devnet::router());
    Router::new()
        .nest(routes::LIVE_V1, qubic::router())
        .nest(routes::V1, v1)
        .fallback(|| async { ApiError::NotFound("no such endpoint".into()) })
        // Bodies are limited by the extractors (`JsonBody`: max_body_bytes, `BytesBody`:
        // max_blob_bytes), which also drain what is over so the sender reads the 413.
        .with_state(shared)
}

/// The router of one area, its routes relative to the prefix it is nested under.
pub type AreaRouter = Router<Arc<Shared>>;

/// How much of an oversized body is still read (and dropped) before the 413 goes out: a
/// client that is still sending then gets the answer instead of a reset connection.
pub const DRAIN_CAP: usize = 32 << 20;

/// Reads a request body of at most `limit` bytes. A longer body is a 413 `body_too_large`;
/// it is read on and dropped up to [`DRAIN_CAP`] (never stored), so the sender sees the
/// answer.
pub async fn read_body(req: Request, limit: usize) -> Result<axum::body::Bytes, ApiError> {
    use futures_util::StreamExt;
    let declared = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if let Some(n) = declared {
        if n > limit.saturating_add(DRAIN_CAP) {
            return Err(ApiError::TooLarge { size: n, limit });
        }
    }
    let mut stream = req.into_body().into_data_stream();
    let mut buf = Vec::with_capacity(declared.unwrap_or(0).min(limit));
    let mut total = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::BadParam {
            name: "body",
            detail: e.to_string(),
        })?;
        total = total.saturating_add(chunk.len());
        if total <= limit {
            buf.extend_from_slice(&chunk);
        } else {
            buf = Vec::new();
            if total > limit.saturating_add(DRAIN_CAP) {
                break;
            }
        }
    }
    if total > limit {
        return Err(ApiError::TooLarge { size: total, limit });
    }
    Ok(buf.into())
}

/// A JSON body of at most `max_body_bytes` whose every failure is an [`ApiError`]
/// (malformed, or not `application/json` → `bad_json`; too large → 413 `body_too_large`).
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<Arc<Shared>> for JsonBody<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &Arc<Shared>) -> Result<Self, ApiError> {
        let json = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                let mime = v.split(';').next().unwrap_or("").trim();
                mime.eq_ignore_ascii_case("application/json") || mime.ends_with("+json")
            });
        if !json {
            return Err(ApiError::BadJson(
                "expected a body with Content-Type: application/json".into(),
            ));
        }
        let bytes = read_body(req, state.config.max_body_bytes).await?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// Parses a JSON request body the way [`JsonBody`] does: any failure is `bad_json`.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| ApiError::BadJson(e.to_string()))
}

/// A raw body of at most `max_blob_bytes` whose failures are [`ApiError`]s (too large → 413
/// `body_too_large`).
pub struct BytesBody(pub axum::body::Bytes);

impl FromRequest<Arc<Shared>> for BytesBody {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &Arc<Shared>) -> Result<Self, ApiError> {
        read_body(req, state.config.max_blob_bytes)
            .await
            .map(BytesBody)
    }
}

/// Query parameters whose every failure is an [`ApiError`] (`bad_parameter`).
pub struct QueryParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(QueryParams(v)),
            Err(r) => Err(ApiError::BadParam {
                name: "query",
                detail: r.body_text(),
            }),
        }
    }
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

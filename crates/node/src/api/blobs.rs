//! `PUT /v1/blobs` stores a body under its blake3 hash; `GET /v1/blobs/{hash}` returns it.

use std::sync::Arc;

use super::{blocking, parse_hash, AreaRouter, BytesBody, PathParam};
use crate::error::ServiceError;
use crate::wire::{routes, BlobPutResponse};
use crate::NodeState;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing;
use axum::Json;

/// The blob store.
pub fn router() -> AreaRouter {
    AreaRouter::new()
        .route(routes::BLOB, routing::get(get))
        .route(routes::BLOBS, routing::put(put))
}

/// Stores the body; idempotent.
pub async fn put(
    State(s): State<Arc<NodeState>>,
    BytesBody(body): BytesBody,
) -> Result<Json<BlobPutResponse>, ServiceError> {
    let size = body.len();
    let h = blocking(move || s.blobs.put(&body)).await?;
    Ok(Json(BlobPutResponse {
        hash: h.to_string(),
        hex: h.to_hex(),
        // Invariant: blobs are capped far below 4 GiB; saturate regardless.
        size: u32::try_from(size).unwrap_or(u32::MAX),
    }))
}

/// Returns a stored body.
pub async fn get(
    State(s): State<Arc<NodeState>>,
    PathParam(h): PathParam<String>,
) -> Result<impl IntoResponse, ServiceError> {
    let h = parse_hash(&h)?;
    let body = blocking(move || s.blobs.get(&h))
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("no blob {h}")))?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], body))
}

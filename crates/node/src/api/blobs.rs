//! `PUT /v1/blobs` stores a body under its blake3 hash; `GET /v1/blobs/{hash}` returns it.
//! Uploads are counted against quotas ([`crate::limits::BlobQuota`]): a signed upload
//! (headers `x-comqute-uploader` and `x-comqute-signature`, see
//! [`crate::wire::blob_upload_digest`]) against its identity, others against the client
//! address.

use std::sync::Arc;

use std::net::IpAddr;

use super::{blocking, parse_hash, AreaRouter, BytesBody, ClientAddr, PathParam};
use crate::error::ServiceError;
use crate::limits::Uploader;
use crate::wire::{
    blob_upload_digest, routes, BlobPutResponse, UPLOADER_HEADER, UPLOAD_SIGNATURE_HEADER,
};
use crate::NodeState;
use axum::extract::State;
use axum::http::header;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::routing;
use axum::Json;
use comqute_qpi::Hash32;
use ed25519_dalek::{Signature, VerifyingKey};

/// The blob store.
pub fn router() -> AreaRouter {
    AreaRouter::new()
        .route(routes::BLOB, routing::get(get))
        .route(routes::BLOBS, routing::put(put))
}

/// Stores the body; idempotent. New bytes count against the uploader's quota: the identity
/// named by [`UPLOADER_HEADER`] when [`UPLOAD_SIGNATURE_HEADER`] proves it and the chain
/// knows it, else the client's address.
pub async fn put(
    State(s): State<Arc<NodeState>>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    _gate: QuotaGate,
    BytesBody(body): BytesBody,
) -> Result<Json<BlobPutResponse>, ServiceError> {
    let size = body.len();
    let h = blocking(move || {
        let who = uploader(&s, &headers, &body, addr)?;
        s.blobs.put_for(&body, who)
    })
    .await?;
    Ok(Json(BlobPutResponse {
        hash: h.to_string(),
        hex: h.to_hex(),
        // Invariant: blobs are capped far below 4 GiB; saturate regardless.
        size: u32::try_from(size).unwrap_or(u32::MAX),
    }))
}

/// Refuses an upload from an uploader refused lately, before its body is read
/// ([`crate::limits::BlobQuota::refused_early`]): a flooder past its quota costs the node a
/// header, not a body and a hash. The uploader is the one the upload names (unverified:
/// nothing is taken), else the client address.
pub struct QuotaGate;

impl axum::extract::FromRequestParts<Arc<NodeState>> for QuotaGate {
    type Rejection = ServiceError;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        s: &Arc<NodeState>,
    ) -> Result<Self, ServiceError> {
        let named = parts
            .headers
            .get(UPLOADER_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| crate::parse::identity(v).ok());
        let addr = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip());
        let who = match (named, addr) {
            (Some(id), _) => Some(Uploader::Identity(id)),
            (None, Some(a)) => Some(Uploader::Address(a)),
            (None, None) => None,
        };
        if let Some(who) = who {
            s.blobs.quota().refused_early(who)?;
        }
        Ok(QuotaGate)
    }
}

/// Who an upload is counted against (`None`: in-process and unsigned, not counted). A
/// signature that does not verify is 403; a malformed header 400.
fn uploader(
    s: &NodeState,
    headers: &HeaderMap,
    body: &[u8],
    addr: Option<IpAddr>,
) -> Result<Option<Uploader>, ServiceError> {
    let header = |name: &'static str| -> Result<Option<&str>, ServiceError> {
        headers
            .get(name)
            .map(|v| {
                v.to_str().map_err(|_| ServiceError::BadParam {
                    name,
                    detail: "not text".into(),
                })
            })
            .transpose()
    };
    let by_address = addr.map(Uploader::Address);
    let Some(who) = header(UPLOADER_HEADER)? else {
        return Ok(by_address);
    };
    let id = crate::parse::identity(who)?;
    let sig: [u8; 64] = header(UPLOAD_SIGNATURE_HEADER)?
        .and_then(|v| hex::decode(v.trim()).ok())
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| ServiceError::BadParam {
            name: UPLOAD_SIGNATURE_HEADER,
            detail: "expected 128 hex digits (an ed25519 signature over the upload digest)".into(),
        })?;
    let digest = blob_upload_digest(&Hash32::of(body));
    let ok = VerifyingKey::from_bytes(&id.0).ok().is_some_and(|k| {
        k.verify_strict(&digest.0, &Signature::from_bytes(&sig))
            .is_ok()
    });
    if !ok {
        return Err(ServiceError::Forbidden(format!(
            "the upload signature does not verify for {id}"
        )));
    }
    let known = s.chain.read(|l| {
        let a = l.account(&id);
        a.balance > 0 || a.number_of_incoming_transfers > 0
    })?;
    Ok(if known {
        Some(Uploader::Identity(id))
    } else {
        by_address
    })
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

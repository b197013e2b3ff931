//! Parsers of what requests name (identities, hashes, job ids, base64 fields and JSON
//! bodies): every failure is a [`ServiceError`] with its code. The HTTP adapters and the
//! services that take wire bodies use the same ones.

use comqute_qpi::{Hash32, Identity};
use serde::de::DeserializeOwned;

use crate::error::ServiceError;

/// An identity (60 uppercase letters).
pub fn identity(s: &str) -> Result<Identity, ServiceError> {
    s.parse()
        .map_err(|e: comqute_qpi::CodecError| ServiceError::BadIdentity {
            value: s.to_owned(),
            detail: e.to_string(),
        })
}

/// A hash or transaction id (60 lowercase letters or 64 hex digits).
pub fn hash(s: &str) -> Result<Hash32, ServiceError> {
    s.parse()
        .map_err(|e: comqute_qpi::CodecError| ServiceError::BadIdentity {
            value: s.to_owned(),
            detail: e.to_string(),
        })
}

/// A job id: a positive decimal u64 (`name` is the parameter, for the message).
pub fn job_id(name: &'static str, s: &str) -> Result<u64, ServiceError> {
    s.trim()
        .parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| ServiceError::BadParam {
            name,
            detail: format!("{s:?} is not a job id (a positive integer)"),
        })
}

/// A base64 field.
pub fn b64(field: &'static str, s: &str) -> Result<Vec<u8>, ServiceError> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .map_err(|_| ServiceError::BadBase64 { field })
}

/// Bytes as base64.
pub fn to_b64(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// A JSON body: any failure is `bad_json`.
pub fn json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ServiceError> {
    serde_json::from_slice(bytes).map_err(|e| ServiceError::BadJson(e.to_string()))
}

//! The node's one error type, and its one mapping to HTTP: a status and a JSON body
//! `{"code": "<stable_code>", "message": "<human text>"}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use comqute_ledger::durable::DurableError;
use comqute_ledger::{LedgerError, TxError};
use comqute_qpi::ContractError;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not the JSON the endpoint takes.
    #[error("malformed JSON body: {0}")]
    BadJson(String),
    /// A base64 field does not decode.
    #[error("field {field} is not valid base64")]
    BadBase64 {
        /// The field.
        field: &'static str,
    },
    /// A path or query parameter is malformed.
    #[error("bad parameter {name}: {detail}")]
    BadParam {
        /// The parameter.
        name: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// An identity or id with a bad checksum, length or letter.
    #[error("bad identity {value:?}: {detail}")]
    BadIdentity {
        /// What was given.
        value: String,
        /// The codec's complaint.
        detail: String,
    },
    /// The transaction bytes are malformed or its signature is bad.
    #[error("invalid transaction: {0}")]
    Tx(#[from] TxError),
    /// The ledger refused the request.
    #[error("{0}")]
    Ledger(#[from] LedgerError),
    /// A contract function failed.
    #[error("contract error: {0}")]
    Contract(#[from] ContractError),
    /// The durable store failed (a refusal by the ledger inside it is [`ApiError::Ledger`]).
    #[error("storage: {0}")]
    Storage(DurableError),
    /// Nothing with that id.
    #[error("{0}")]
    NotFound(String),
    /// A devnet power on a node started without `--devnet`.
    #[error("{0} is a devnet power; start the node with --devnet")]
    DevnetOnly(&'static str),
    /// The body is over the limit (`size` 0 when the body was cut off before its end).
    #[error("request body is over the limit{}", if *limit > 0 { format!(" of {limit} bytes (got {size})") } else { String::new() })]
    TooLarge {
        /// Bytes sent (or at least).
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The caller may not do this.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The request clashes with what is already there (a chunk out of order, a closed
    /// stream, a job in the wrong state).
    #[error("conflict: {0}")]
    Conflict(String),
    /// A bug or an I/O failure on the node's side.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// The stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadJson(_) => "bad_json",
            ApiError::BadBase64 { .. } => "bad_base64",
            ApiError::BadParam { .. } => "bad_parameter",
            ApiError::BadIdentity { .. } => "bad_identity",
            ApiError::Tx(TxError::BadSignature) | ApiError::Tx(TxError::InvalidSourceKey) => {
                "bad_signature"
            }
            ApiError::Tx(_) => "malformed_transaction",
            ApiError::Ledger(e) => match e {
                LedgerError::TickInPast { .. } => "tick_in_past",
                LedgerError::TickTooFar { .. } => "tick_too_far",
                LedgerError::Duplicate(_) => "duplicate_transaction",
                LedgerError::UnfundedSource(_) => "unfunded_source",
                LedgerError::TickFull { .. } => "tick_full",
                LedgerError::Tx(_) => "malformed_transaction",
                LedgerError::Contract(_) => "contract_error",
                LedgerError::UnknownSnapshot(_) => "unknown_snapshot",
                _ => "ledger_error",
            },
            ApiError::Contract(ContractError::UnknownContract(_)) => "unknown_contract",
            ApiError::Contract(ContractError::UnknownFunction { .. }) => "unknown_function",
            ApiError::Contract(ContractError::BadInput(_)) => "bad_input",
            ApiError::Contract(_) => "contract_error",
            ApiError::Storage(_) => "storage_error",
            ApiError::NotFound(_) => "not_found",
            ApiError::DevnetOnly(_) => "devnet_only",
            ApiError::TooLarge { .. } => "body_too_large",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::Conflict(_) => "conflict",
            ApiError::Internal(_) => "internal",
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::NotFound(_) | ApiError::Contract(ContractError::UnknownContract(_)) => {
                StatusCode::NOT_FOUND
            }
            ApiError::Contract(ContractError::UnknownFunction { .. }) => StatusCode::NOT_FOUND,
            ApiError::DevnetOnly(_) | ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Ledger(LedgerError::Duplicate(_)) | ApiError::Conflict(_) => {
                StatusCode::CONFLICT
            }
            ApiError::Ledger(LedgerError::TickFull { .. }) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Storage(_) | ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Ledger(LedgerError::TickOverflow) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

impl From<DurableError> for ApiError {
    /// The ledger's refusals keep their own codes (`tick_in_past`, `unfunded_source`, …) on
    /// a durable node; only the store's own failures are `storage_error`.
    fn from(e: DurableError) -> Self {
        match e {
            DurableError::Ledger(e) => ApiError::Ledger(e),
            other => ApiError::Storage(other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(code = self.code(), "{self}");
        }
        let body = crate::wire::ErrorBody {
            code: self.code().to_string(),
            message: self.to_string(),
        };
        (status, Json(body)).into_response()
    }
}

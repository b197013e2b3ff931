//! The node's one domain error: what any of its services ([`crate::chain::ChainService`],
//! [`crate::tokens::TokenService`], [`crate::blobs::BlobService`]) refuses, with a stable,
//! machine-readable [`ServiceError::code`] and a [`ServiceError::kind`] that says whose
//! fault it is. Nothing here knows HTTP: the API maps the kind to a status, once
//! (`crate::api::http_status`); the SDK's embedded transport passes the code on.

use comqute_ledger::durable::DurableError;
use comqute_ledger::{LedgerError, TxError};
use comqute_qpi::{ContractError, Identity};

/// Why a service refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// A body is not the JSON the endpoint takes.
    #[error("malformed JSON body: {0}")]
    BadJson(String),
    /// A base64 field does not decode.
    #[error("field {field} is not valid base64")]
    BadBase64 {
        /// The field.
        field: &'static str,
    },
    /// A parameter is malformed or out of range.
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
    /// The durable store failed (a refusal by the ledger inside it is
    /// [`ServiceError::Ledger`]).
    #[error("storage: {0}")]
    Storage(DurableError),
    /// Nothing with that id.
    #[error("{0}")]
    NotFound(String),
    /// A devnet power on a node started without `--devnet`.
    #[error("{0} is a devnet power; start the node with --devnet")]
    DevnetOnly(&'static str),
    /// Over a size limit (`size` 0 when a body was cut off before its end).
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
    /// The source identity has its share of the pending pool: wait for its transactions'
    /// ticks.
    #[error(
        "{identity} already has {limit} transactions waiting for their ticks: wait for some to run"
    )]
    TooManyPending {
        /// The source identity.
        identity: Identity,
        /// The cap.
        limit: usize,
    },
    /// Too many live subscriptions (event or token streams) open.
    #[error("too many live subscriptions from {scope}: at most {limit}; close one or retry later")]
    TooManySubscriptions {
        /// "one address" or "this node".
        scope: &'static str,
        /// The cap.
        limit: usize,
    },
    /// Too many requests from one address: wait `retry_after_secs`.
    #[error("too many requests from this address: retry in {retry_after_secs} s")]
    RateLimited {
        /// Seconds until the next request is taken.
        retry_after_secs: u64,
    },
    #[error("blob quota of {uploader} used up ({mib_per_hour} MiB an hour): retry in {retry_after_secs} s")]
    /// An uploader (an identity, or a client address for unsigned uploads) used up its
    /// blob quota for now.
    BlobQuota {
        /// Who: an identity or an address.
        uploader: String,
        /// The quota, in MiB an hour.
        mib_per_hour: u32,
        /// Seconds until this blob fits.
        retry_after_secs: u64,
    },
    /// The node's ticking stopped (a range of the ledger ran out, or a tick failed): nothing
    /// new can execute.
    #[error("the chain has halted: {0}")]
    Halted(String),
}

/// Whose fault a [`ServiceError`] is, and what the caller can do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request is malformed or breaks a rule: do not repeat it as is.
    Invalid,
    /// What it names does not exist.
    NotFound,
    /// The caller may not do this.
    Forbidden,
    /// It clashes with the current state (a duplicate, an out-of-order chunk).
    Conflict,
    /// Over a size limit.
    TooLarge,
    /// The node is full for now (the tick is full): try again later.
    Busy,
    /// A per-caller limit: this caller must wait before more (429, `Retry-After`).
    Limited,
    /// The node failed: not the caller's fault.
    Internal,
}

impl ErrorKind {
    /// Whether the caller is at fault (every kind but [`ErrorKind::Busy`],
    /// [`ErrorKind::Limited`] and [`ErrorKind::Internal`]: those may succeed later as they
    /// are).
    pub fn is_caller_fault(self) -> bool {
        !matches!(
            self,
            ErrorKind::Busy | ErrorKind::Limited | ErrorKind::Internal
        )
    }
}

impl ServiceError {
    /// The stable, machine-readable code (`bad_json`, `not_found`, `tick_in_past`, …).
    pub fn code(&self) -> &'static str {
        match self {
            ServiceError::BadJson(_) => "bad_json",
            ServiceError::BadBase64 { .. } => "bad_base64",
            ServiceError::BadParam { .. } => "bad_parameter",
            ServiceError::BadIdentity { .. } => "bad_identity",
            ServiceError::Tx(TxError::BadSignature)
            | ServiceError::Tx(TxError::InvalidSourceKey) => "bad_signature",
            ServiceError::Tx(_) => "malformed_transaction",
            ServiceError::Ledger(e) => match e {
                LedgerError::TickInPast { .. } => "tick_in_past",
                LedgerError::TickTooFar { .. } => "tick_too_far",
                LedgerError::Duplicate(_) => "duplicate_transaction",
                LedgerError::UnfundedSource(_) => "unfunded_source",
                LedgerError::TickFull { .. } => "tick_full",
                LedgerError::Tx(_) => "malformed_transaction",
                LedgerError::Contract(_) => "contract_error",
                LedgerError::UnknownSnapshot(_) => "unknown_snapshot",
                LedgerError::TickOverflow => "past_last_tick",
                LedgerError::EpochOverflow { .. } => "past_last_epoch",
                _ => "ledger_error",
            },
            ServiceError::Contract(ContractError::UnknownContract(_)) => "unknown_contract",
            ServiceError::Contract(ContractError::UnknownFunction { .. }) => "unknown_function",
            ServiceError::Contract(ContractError::BadInput(_)) => "bad_input",
            ServiceError::Contract(_) => "contract_error",
            ServiceError::Storage(_) => "storage_error",
            ServiceError::NotFound(_) => "not_found",
            ServiceError::DevnetOnly(_) => "devnet_only",
            ServiceError::TooLarge { .. } => "body_too_large",
            ServiceError::Forbidden(_) => "forbidden",
            ServiceError::Conflict(_) => "conflict",
            ServiceError::Internal(_) => "internal",
            ServiceError::Halted(_) => "chain_halted",
            ServiceError::TooManyPending { .. } => "too_many_pending",
            ServiceError::TooManySubscriptions { .. } => "too_many_subscriptions",
            ServiceError::RateLimited { .. } => "rate_limited",
            ServiceError::BlobQuota { .. } => "blob_quota",
        }
    }

    /// Whose fault it is.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ServiceError::NotFound(_)
            | ServiceError::Contract(ContractError::UnknownContract(_))
            | ServiceError::Contract(ContractError::UnknownFunction { .. }) => ErrorKind::NotFound,
            ServiceError::DevnetOnly(_) | ServiceError::Forbidden(_) => ErrorKind::Forbidden,
            ServiceError::TooLarge { .. } => ErrorKind::TooLarge,
            ServiceError::Ledger(LedgerError::Duplicate(_)) | ServiceError::Conflict(_) => {
                ErrorKind::Conflict
            }
            ServiceError::Ledger(LedgerError::TickFull { .. }) => ErrorKind::Busy,
            ServiceError::TooManyPending { .. }
            | ServiceError::TooManySubscriptions { .. }
            | ServiceError::RateLimited { .. }
            | ServiceError::BlobQuota { .. } => ErrorKind::Limited,
            ServiceError::Storage(_) | ServiceError::Internal(_) | ServiceError::Halted(_) => {
                ErrorKind::Internal
            }
            _ => ErrorKind::Invalid,
        }
    }

    /// Seconds to wait before retrying, for the limits ([`ErrorKind::Limited`]).
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            ServiceError::RateLimited { retry_after_secs }
            | ServiceError::BlobQuota {
                retry_after_secs, ..
            } => Some((*retry_after_secs).max(1)),
            ServiceError::TooManyPending { .. } | ServiceError::TooManySubscriptions { .. } => {
                Some(1)
            }
            _ => None,
        }
    }

    /// A lock poisoned by a panic in another thread.
    pub(crate) fn poisoned(what: &str) -> ServiceError {
        ServiceError::Internal(format!("{what} lock poisoned by a panic"))
    }
}

impl From<DurableError> for ServiceError {
    /// The ledger's refusals keep their own codes (`tick_in_past`, `unfunded_source`, …) on
    /// a durable node; only the store's own failures are `storage_error`.
    fn from(e: DurableError) -> Self {
        match e {
            DurableError::Ledger(e) => ServiceError::Ledger(e),
            other => ServiceError::Storage(other),
        }
    }
}

//! The SDK's one error type.

use std::path::PathBuf;
use std::time::Duration;

use comqute_ledger::{LedgerError, TxId};
use comqute_qpi::{ContractError, Hash32};

/// Why an SDK call failed.
#[derive(Debug, thiserror::Error)]
pub enum SdkError {
    /// The operating system gave no randomness.
    #[error("no randomness from the operating system: {0}")]
    Entropy(String),
    /// A ledger-level refusal (a bad seed, a ledger built from a bad genesis).
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// A remote node refused the request, with its HTTP status and stable code
    /// (`not_found`, `forbidden`, `tick_in_past`, …).
    #[error("{message} ({code}, HTTP {status})")]
    Node {
        /// The HTTP status.
        status: u16,
        /// The node's stable code.
        code: String,
        /// Human text.
        message: String,
    },
    /// The embedded node's services refused the request, with the same stable code a remote
    /// node answers with (no HTTP status: nothing went over HTTP).
    #[error("{message} ({code})")]
    Service {
        /// The node's stable code.
        code: String,
        /// Human text.
        message: String,
        /// The node failed or was full (what a remote node answers with a 5xx): the same
        /// request may succeed later.
        retryable: bool,
    },
    /// The node could not be reached or answered something unreadable.
    #[error("talking to the node: {0}")]
    Http(String),
    /// The transaction ran and the contract refused it: nothing changed, the amount went
    /// back to the sender.
    #[error("transaction {tx_id} failed: {error}")]
    Rejected {
        /// The transaction.
        tx_id: TxId,
        /// The contract's error.
        error: ContractError,
    },
    /// The transaction never ran.
    #[error("transaction {tx_id} was dropped: {reason}")]
    Dropped {
        /// The transaction.
        tx_id: TxId,
        /// Why.
        reason: String,
    },
    /// A wait ran out of time.
    #[error("timed out after {after:?} waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long.
        after: Duration,
    },
    /// Downloaded bytes do not hash to the hash they were fetched by (or posted on chain).
    #[error("hash mismatch: expected {expected}, got {got}")]
    HashMismatch {
        /// The on-chain (or requested) hash.
        expected: Hash32,
        /// blake3 of the bytes received.
        got: Hash32,
    },
    /// Something asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// A request the SDK refuses before sending it (an amount out of range, a job without
    /// a result).
    #[error("{0}")]
    Invalid(String),
    /// An answer that does not decode (borsh, JSON, hex).
    #[error("cannot decode {what}: {detail}")]
    Decode {
        /// What was decoded.
        what: &'static str,
        /// The decoder's complaint.
        detail: String,
    },
    /// A key file could not be read or written.
    #[error("key file {}: {detail}", path.display())]
    KeyFile {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
}

impl SdkError {
    /// The node's stable code, for [`SdkError::Node`] and [`SdkError::Service`]: the same
    /// on both transports.
    pub fn code(&self) -> Option<&str> {
        match self {
            SdkError::Node { code, .. } | SdkError::Service { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The contract's error, for [`SdkError::Rejected`].
    pub fn contract_error(&self) -> Option<&ContractError> {
        match self {
            SdkError::Rejected { error, .. } => Some(error),
            _ => None,
        }
    }

    /// Whether the same request may succeed later: the node could not be reached, a wait
    /// ran out, a transaction was dropped, or the node failed or was full (a 5xx or 429 from
    /// a remote node, [`SdkError::Service`] `retryable` from the embedded one). Refusals
    /// of the request itself are not.
    pub fn is_transient(&self) -> bool {
        match self {
            SdkError::Http(_) | SdkError::Timeout { .. } | SdkError::Dropped { .. } => true,
            SdkError::Node { status, .. } => *status >= 500 || *status == 429,
            SdkError::Service { retryable, .. } => *retryable,
            _ => false,
        }
    }

    /// Whether the thing asked for does not exist (`not_found` from the node, or
    /// [`SdkError::NotFound`]).
    pub fn is_not_found(&self) -> bool {
        matches!(self, SdkError::NotFound(_)) || self.code() == Some("not_found")
    }

    pub(crate) fn decode(what: &'static str, e: impl std::fmt::Display) -> SdkError {
        SdkError::Decode {
            what,
            detail: e.to_string(),
        }
    }
}

#[cfg(feature = "embedded")]
impl From<comqute_node::ServiceError> for SdkError {
    /// The embedded node's refusal, with its stable code.
    fn from(e: comqute_node::ServiceError) -> Self {
        SdkError::Service {
            code: e.code().to_string(),
            message: e.to_string(),
            retryable: !e.kind().is_caller_fault(),
        }
    }
}

impl From<reqwest::Error> for SdkError {
    fn from(e: reqwest::Error) -> Self {
        SdkError::Http(transport_detail(&e))
    }
}

/// Why a request got no usable answer. reqwest's own text names only the request ("error
/// sending request for url (…)"); the why is in its sources. A connection that could not be
/// made is said in a few words ("connection refused"); anything else keeps reqwest's text
/// and adds the innermost cause.
fn transport_detail(e: &reqwest::Error) -> String {
    let mut cause: &(dyn std::error::Error + 'static) = e;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    let io_kind = cause.downcast_ref::<std::io::Error>().map(|io| io.kind());
    let short = match io_kind {
        Some(std::io::ErrorKind::ConnectionRefused) => "connection refused".to_string(),
        Some(std::io::ErrorKind::TimedOut) => "connection timed out".to_string(),
        Some(std::io::ErrorKind::ConnectionReset) => "connection reset".to_string(),
        _ if e.is_timeout() => "timed out".to_string(),
        _ => cause.to_string(),
    };
    if e.is_connect() || e.is_timeout() {
        short
    } else if std::error::Error::source(e).is_none() {
        e.to_string()
    } else {
        format!("{e}: {short}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_trouble_and_node_failures_are_transient_refusals_are_not() {
        let node = |status| SdkError::Node {
            status,
            code: String::new(),
            message: String::new(),
        };
        let service = |retryable| SdkError::Service {
            code: String::new(),
            message: String::new(),
            retryable,
        };
        assert!(SdkError::Http("connection refused".into()).is_transient());
        assert!(node(503).is_transient() && node(429).is_transient());
        assert!(!node(404).is_transient());
        assert!(service(true).is_transient());
        assert!(!service(false).is_transient());
        assert!(!SdkError::NotFound("x".into()).is_transient());
    }

    #[test]
    fn a_node_that_is_not_there_is_said_in_a_few_words() {
        // Port 1 on the loopback: nothing listens there, so the connection is refused.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let e = rt
            .block_on(reqwest::Client::new().get("http://127.0.0.1:1/").send())
            .unwrap_err();
        let e = SdkError::from(e);
        assert!(
            matches!(&e, SdkError::Http(d) if d == "connection refused"),
            "{e}"
        );
        assert_eq!(e.to_string(), "talking to the node: connection refused");
    }
}

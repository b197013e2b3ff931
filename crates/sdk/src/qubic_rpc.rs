//! A client of Qubic's public RPC: tick info, balances, broadcasts, transaction status, a
//! transaction, and the approved transactions of a tick, read into the wire crate's types
//! ([`comqute_wire`], [`comqute_wire::qubic_rpc`]).
//!
//! The same client talks to a comqute node, which serves these shapes under `/live/v1`
//! (and `/v1`), and to Qubic's network. On Qubic's public RPC, `https://rpc.qubic.org/v1`
//! answers every method here, while `https://rpc.qubic.org/live/v1` answers only the live
//! ones (tick info, balances, broadcasts): give the archive's base with
//! [`QubicRpc::with_archive`] when they differ.
//!
//! Identities and transaction ids are passed as text and checked only for their form (60
//! letters): which checksum they carry is the profile's business, not the client's.
//!
//! Every failure is a [`QubicRpcError`], one variant per way the network can fail: down
//! (nothing answers), slow (no answer within the timeout, [`DEFAULT_TIMEOUT`] unless set),
//! or answering garbage (an HTTP 5xx, something that is not JSON, JSON of another shape);
//! and what the RPC refused (404 [`QubicRpcError::NotFound`], other 4xx
//! [`QubicRpcError::Refused`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), comqute_sdk::qubic_rpc::QubicRpcError> {
//! use comqute_sdk::qubic_rpc::QubicRpc;
//! let rpc = QubicRpc::new("https://rpc.qubic.org/v1")?;
//! let tick = rpc.tick_info().await?.tick;
//! let b = rpc.balance("BZBQFLLBNCXEMGLOBHUVFTLUPLVCPQUASSILFABOFFBCADQSSUPNWLZBQEXK").await?;
//! println!("tick {tick}: {} QU", b.balance);
//! # Ok(()) }
//! ```

use std::time::Duration;

use base64::Engine;
use comqute_wire::qubic_rpc::{QubicTransaction, QubicTxStatus, QubicTxStatusResponse};
use comqute_wire::routes::{self, fill};
use comqute_wire::{
    ApprovedTransactionsResponse, BalanceInfo, BalanceResponse, BroadcastRequest,
    BroadcastResponse, TickInfo, TickInfoResponse,
};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// How long a call waits for its whole answer unless told otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// How much of an unreadable answer an error quotes.
const QUOTE: usize = 200;

/// Why a call to a Qubic RPC failed.
#[derive(Debug, thiserror::Error)]
pub enum QubicRpcError {
    /// Refused before sending: a URL that is not http(s), an identity or id that is not 60
    /// letters, an empty transaction.
    #[error("{0}")]
    Invalid(String),
    /// The network is down: nothing accepted the connection (refused, unreachable, no such
    /// host), or it broke before an answer began.
    #[error("the Qubic RPC at {url} is unreachable: {detail}")]
    Down {
        /// What was asked.
        url: String,
        /// The transport's reason.
        detail: String,
    },
    /// The network is slow: no complete answer within the timeout.
    #[error("the Qubic RPC at {url} did not answer within {after:?}")]
    Timeout {
        /// What was asked.
        url: String,
        /// The timeout.
        after: Duration,
    },
    /// The RPC failed: an HTTP 5xx.
    #[error("the Qubic RPC at {url} failed with HTTP {status}: {body}")]
    Server {
        /// What was asked.
        url: String,
        /// The status.
        status: u16,
        /// The start of its body.
        body: String,
    },
    /// The answer is not JSON: an HTML page, a truncated body, an answer that broke off.
    #[error(
        "the Qubic RPC at {url} answered something that is not JSON: {detail} (it began {start:?})"
    )]
    NotJson {
        /// What was asked.
        url: String,
        /// Why it does not read.
        detail: String,
        /// The start of the body.
        start: String,
    },
    /// The answer is JSON, not of the endpoint's shape.
    #[error("the Qubic RPC at {url} answered JSON of another shape: {detail}")]
    WrongShape {
        /// What was asked.
        url: String,
        /// What did not fit.
        detail: String,
    },
    /// 404: what was asked for is not there (an unknown transaction, a tick not processed).
    #[error("not found at {url}: {message}")]
    NotFound {
        /// What was asked.
        url: String,
        /// The RPC's message.
        message: String,
    },
    /// Another 4xx: the RPC refused the request (a tick already past, a bad signature), with
    /// its message.
    #[error("the Qubic RPC at {url} refused the request (HTTP {status}): {message}")]
    Refused {
        /// What was asked.
        url: String,
        /// The status.
        status: u16,
        /// The RPC's message.
        message: String,
    },
}

/// A client of one Qubic RPC (cheap to clone).
#[derive(Clone, Debug)]
pub struct QubicRpc {
    live: String,
    archive: String,
    timeout: Duration,
    http: reqwest::Client,
}

/// `url` without a trailing slash, if it is http(s).
fn base(url: &str) -> Result<String, QubicRpcError> {
    let b = url.trim().trim_end_matches('/').to_string();
    if b.starts_with("http://") || b.starts_with("https://") {
        Ok(b)
    } else {
        Err(QubicRpcError::Invalid(format!(
            "RPC URL {url:?} must start with http:// or https://"
        )))
    }
}

/// 60 ASCII letters, in the case `upper` asks for.
fn sixty_letters(what: &str, s: &str, upper: bool) -> Result<String, QubicRpcError> {
    let s = s.trim();
    if s.len() != 60 || !s.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(QubicRpcError::Invalid(format!(
            "{what} {s:?} is not 60 letters"
        )));
    }
    Ok(if upper {
        s.to_ascii_uppercase()
    } else {
        s.to_ascii_lowercase()
    })
}

/// The start of a body, for an error.
fn quote(bytes: &[u8]) -> String {
    String::from_utf8_lossy(&bytes[..bytes.len().min(QUOTE)]).into_owned()
}

/// An error and its sources, one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let s_text = s.to_string();
        if !out.contains(&s_text) {
            out.push_str(": ");
            out.push_str(&s_text);
        }
        cur = s.source();
    }
    out
}

impl QubicRpc {
    /// A client of the RPC at `url` (`https://rpc.qubic.org/v1`, or a comqute node's
    /// `http://HOST:PORT/live/v1`), every call timing out after [`DEFAULT_TIMEOUT`].
    pub fn new(url: &str) -> Result<QubicRpc, QubicRpcError> {
        QubicRpc::with_timeout(url, DEFAULT_TIMEOUT)
    }

    /// The same with another timeout for each call's whole answer.
    pub fn with_timeout(url: &str, timeout: Duration) -> Result<QubicRpc, QubicRpcError> {
        let live = base(url)?;
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|e| QubicRpcError::Invalid(format!("an HTTP client: {}", chain(&e))))?;
        Ok(QubicRpc {
            archive: live.clone(),
            live,
            timeout,
            http,
        })
    }

    /// The archive's methods (transaction status, a transaction, approved transactions) at
    /// another base URL than the live ones.
    pub fn with_archive(mut self, url: &str) -> Result<QubicRpc, QubicRpcError> {
        self.archive = base(url)?;
        Ok(self)
    }

    /// The live methods' base URL.
    pub fn url(&self) -> &str {
        &self.live
    }

    /// The archive methods' base URL.
    pub fn archive_url(&self) -> &str {
        &self.archive
    }

    /// The timeout of each call.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// `GET tick-info`: the current tick, its epoch, the tick length and the epoch's first
    /// tick.
    pub async fn tick_info(&self) -> Result<TickInfo, QubicRpcError> {
        let r: TickInfoResponse = self.get(&self.live, routes::TICK_INFO, &[]).await?;
        Ok(r.tick_info)
    }

    /// `GET balances/{identity}`.
    pub async fn balance(&self, identity: &str) -> Result<BalanceInfo, QubicRpcError> {
        let id = sixty_letters("identity", identity, true)?;
        let r: BalanceResponse = self.get(&self.live, routes::BALANCE, &[&id]).await?;
        Ok(r.balance)
    }

    /// `POST broadcast-transaction`: the packed, signed transaction, as it goes on the wire
    /// (sent in base64).
    pub async fn broadcast(&self, tx: &[u8]) -> Result<BroadcastResponse, QubicRpcError> {
        if tx.is_empty() {
            return Err(QubicRpcError::Invalid("an empty transaction".into()));
        }
        let body = BroadcastRequest {
            encoded_transaction: base64::engine::general_purpose::STANDARD.encode(tx),
        };
        let url = format!("{}{}", self.live, routes::BROADCAST);
        let sent = self.http.post(&url).json(&body).send().await;
        self.read(url, sent).await
    }

    /// `GET tx-status/{id}`: whether money moved (and, from a comqute node, the tick and
    /// status too).
    pub async fn transaction_status(&self, id: &str) -> Result<QubicTxStatus, QubicRpcError> {
        let id = sixty_letters("transaction id", id, false)?;
        let r: QubicTxStatusResponse = self.get(&self.archive, routes::TX_STATUS, &[&id]).await?;
        Ok(r.transaction_status)
    }

    /// `GET transactions/{id}`: a processed transaction.
    pub async fn transaction(&self, id: &str) -> Result<QubicTransaction, QubicRpcError> {
        let id = sixty_letters("transaction id", id, false)?;
        let r: comqute_wire::qubic_rpc::TransactionResponse =
            self.get(&self.archive, routes::TRANSACTION, &[&id]).await?;
        Ok(r.transaction)
    }

    /// `GET ticks/{tick}/approved-transactions`: a processed tick's transactions.
    pub async fn approved_transactions(
        &self,
        tick: u32,
    ) -> Result<Vec<QubicTransaction>, QubicRpcError> {
        let r: ApprovedTransactionsResponse = self
            .get(&self.archive, routes::APPROVED_TRANSACTIONS, &[&tick])
            .await?;
        Ok(r.approved_transactions)
    }

    async fn get<T: DeserializeOwned>(
        &self,
        base: &str,
        template: &str,
        args: &[&(dyn std::fmt::Display + Sync)],
    ) -> Result<T, QubicRpcError> {
        let url = format!("{base}{}", fill(template, args));
        let sent = self
            .http
            .get(&url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await;
        self.read(url, sent).await
    }

    /// What a transport failure says about the network.
    fn transport(&self, url: String, e: &reqwest::Error) -> QubicRpcError {
        if e.is_timeout() {
            QubicRpcError::Timeout {
                url,
                after: self.timeout,
            }
        } else if e.is_body() || e.is_decode() {
            QubicRpcError::NotJson {
                url,
                detail: format!("the answer broke off: {}", chain(e)),
                start: String::new(),
            }
        } else {
            QubicRpcError::Down {
                url,
                detail: chain(e),
            }
        }
    }

    /// Reads an answer: the status first, then JSON, then the shape.
    async fn read<T: DeserializeOwned>(
        &self,
        url: String,
        sent: Result<reqwest::Response, reqwest::Error>,
    ) -> Result<T, QubicRpcError> {
        let resp = sent.map_err(|e| self.transport(url.clone(), &e))?;
        let status = resp.status();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| self.transport(url.clone(), &e))?;
        if status.is_server_error() {
            return Err(QubicRpcError::Server {
                url,
                status: status.as_u16(),
                body: quote(&bytes),
            });
        }
        if !status.is_success() {
            // Qubic's gateway answers `{"code": 5, "message", "details"}`, a comqute node
            // `{"code": "not_found", "message"}`: the message either way.
            let message = serde_json::from_slice::<Value>(&bytes)
                .ok()
                .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
                .unwrap_or_else(|| quote(&bytes));
            return Err(if status == reqwest::StatusCode::NOT_FOUND {
                QubicRpcError::NotFound { url, message }
            } else {
                QubicRpcError::Refused {
                    url,
                    status: status.as_u16(),
                    message,
                }
            });
        }
        let v: Value = serde_json::from_slice(&bytes).map_err(|e| QubicRpcError::NotJson {
            url: url.clone(),
            detail: e.to_string(),
            start: quote(&bytes),
        })?;
        serde_json::from_value(v).map_err(|e| QubicRpcError::WrongShape {
            url,
            detail: e.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_ids_are_checked_for_their_form_only() {
        assert!(matches!(
            QubicRpc::new("rpc.qubic.org"),
            Err(QubicRpcError::Invalid(_))
        ));
        let rpc = QubicRpc::new("https://rpc.qubic.org/live/v1/").unwrap();
        assert_eq!(rpc.url(), "https://rpc.qubic.org/live/v1");
        assert_eq!(rpc.archive_url(), rpc.url());
        assert_eq!(rpc.timeout(), DEFAULT_TIMEOUT);
        let a = "bzbqfllbncxemglobhuvftluplvcpquassilfaboffbcadqssupnwlzbqexk";
        assert_eq!(
            sixty_letters("identity", a, true).unwrap(),
            a.to_ascii_uppercase(),
            "any checksum: only the form is checked"
        );
        assert!(sixty_letters("identity", &a[1..], true).is_err());
        assert!(sixty_letters("identity", &format!("{}1", &a[1..]), true).is_err());
    }
}

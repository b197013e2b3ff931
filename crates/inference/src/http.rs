//! What the HTTP backends share: timeouts, bounded retries with backoff, reading error bodies,
//! and reading a streamed body under first-token and idle deadlines.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use tokio::time::{timeout_at, Instant};

use crate::ndjson::excerpt;
use crate::InferenceError;

/// Which deadline passed (see [`HttpOptions`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeoutPhase {
    /// Opening the TCP connection.
    Connect,
    /// From sending a generation request to its first output token (includes loading the
    /// model, which Ollama does on first use).
    FirstToken,
    /// Between two chunks of a stream once output has started.
    Idle,
    /// A whole non-streaming request (`/api/tags`, `/api/show`, …).
    Request,
}

impl fmt::Display for TimeoutPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimeoutPhase::Connect => "connection",
            TimeoutPhase::FirstToken => "first token",
            TimeoutPhase::Idle => "chunk (idle stream)",
            TimeoutPhase::Request => "response",
        })
    }
}

/// Timeouts and retries of an HTTP backend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpOptions {
    /// Opening a connection. Default 5 s.
    pub connect_timeout: Duration,
    /// From sending a generation to its first output token. Generous by default (300 s, as
    /// Ollama's own model load timeout) because the first request loads the model.
    pub first_token_timeout: Duration,
    /// Longest silence between two chunks once output has started. Default 60 s.
    pub idle_timeout: Duration,
    /// A whole non-streaming request. Default 30 s.
    pub request_timeout: Duration,
    /// Extra attempts after a 503 or a connection error before any byte of a response.
    /// Default 3. A stream that fails after it started is never retried here (its pieces
    /// already went to the sink); that is the worker's call.
    pub retries: u32,
    /// The first backoff; it doubles on each retry. Default 250 ms.
    pub backoff: Duration,
    /// The longest backoff. Default 4 s.
    pub max_backoff: Duration,
    /// The longest line accepted in a stream. Default 4 MiB.
    pub max_line: usize,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            connect_timeout: Duration::from_secs(5),
            first_token_timeout: Duration::from_secs(300),
            idle_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(30),
            retries: 3,
            backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(4),
            max_line: 4 << 20,
        }
    }
}

impl HttpOptions {
    /// Short timeouts and fast retries, for tests against a local test server.
    pub fn fast() -> Self {
        HttpOptions {
            connect_timeout: Duration::from_secs(2),
            first_token_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(5),
            retries: 3,
            backoff: Duration::from_millis(20),
            max_backoff: Duration::from_millis(200),
            max_line: 4 << 20,
        }
    }

    /// The wait before retry number `attempt` (1-based).
    pub fn backoff_for(&self, attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.backoff.saturating_mul(factor).min(self.max_backoff)
    }
}

/// Normalises a base URL: adds `http://` when no scheme is given (as `OLLAMA_HOST` allows),
/// drops trailing slashes.
pub(crate) fn normalize_base(url: &str) -> Result<String, InferenceError> {
    let url = url.trim();
    if url.is_empty() {
        return Err(InferenceError::InvalidRequest(
            "the backend URL is empty".into(),
        ));
    }
    let with_scheme = if url.starts_with("http://") || url.starts_with("https://") {
        url.to_string()
    } else if url.contains("://") {
        return Err(InferenceError::InvalidRequest(format!(
            "backend URL {url:?}: only http:// and https:// are supported"
        )));
    } else {
        format!("http://{url}")
    };
    let trimmed = with_scheme.trim_end_matches('/').to_string();
    reqwest::Url::parse(&trimmed).map_err(|e| {
        InferenceError::InvalidRequest(format!("backend URL {url:?} is not a URL: {e}"))
    })?;
    Ok(trimmed)
}

/// An error and its sources on one line.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        let t = inner.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        src = inner.source();
    }
    s
}

/// The HTTP client of one backend.
#[derive(Clone, Debug)]
pub(crate) struct Http {
    pub backend: &'static str,
    pub base: String,
    pub client: reqwest::Client,
    pub opts: HttpOptions,
}

impl Http {
    pub fn new(
        backend: &'static str,
        base_url: &str,
        opts: HttpOptions,
    ) -> Result<Http, InferenceError> {
        let base = normalize_base(base_url)?;
        let client = reqwest::Client::builder()
            .connect_timeout(opts.connect_timeout)
            .tcp_nodelay(true)
            .no_proxy()
            .build()
            .map_err(|e| InferenceError::InvalidRequest(format!("HTTP client: {}", chain(&e))))?;
        Ok(Http {
            backend,
            base,
            client,
            opts,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Sends the request `make` builds until the answer is not a 503, retrying 503s and
    /// connection errors with backoff (at most [`HttpOptions::retries`] times). The response
    /// headers must arrive before `deadline`; passing it is a `phase` timeout.
    pub async fn send(
        &self,
        make: impl Fn() -> reqwest::RequestBuilder,
        deadline: Instant,
        phase: TimeoutPhase,
        phase_len: Duration,
    ) -> Result<reqwest::Response, InferenceError> {
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let retry_left = attempt <= self.opts.retries;
            match timeout_at(deadline, make().send()).await {
                Err(_) => {
                    return Err(InferenceError::Timeout {
                        backend: self.backend,
                        phase,
                        after: phase_len,
                    })
                }
                Ok(Err(e)) => {
                    let transport = e.is_connect() || e.is_request();
                    if transport && retry_left {
                        tracing::debug!(backend = self.backend, attempt, error = %chain(&e), "retrying after a connection error");
                        tokio::time::sleep(self.opts.backoff_for(attempt)).await;
                        continue;
                    }
                    if e.is_connect() && e.is_timeout() {
                        return Err(InferenceError::Timeout {
                            backend: self.backend,
                            phase: TimeoutPhase::Connect,
                            after: self.opts.connect_timeout,
                        });
                    }
                    return Err(InferenceError::Unreachable {
                        backend: self.backend,
                        url: self.base.clone(),
                        detail: chain(&e),
                    });
                }
                Ok(Ok(resp)) => {
                    if resp.status() == reqwest::StatusCode::SERVICE_UNAVAILABLE {
                        let message = self.error_message(resp).await;
                        if retry_left {
                            tracing::debug!(backend = self.backend, attempt, %message, "busy (503), retrying");
                            tokio::time::sleep(self.opts.backoff_for(attempt)).await;
                            continue;
                        }
                        return Err(InferenceError::Busy {
                            backend: self.backend,
                            attempts: attempt,
                            message,
                        });
                    }
                    return Ok(resp);
                }
            }
        }
    }

    /// A GET or POST whose whole answer is one JSON value, under the request timeout. An
    /// error status (other than the retried 503) comes back as `Err((status, message))`.
    pub async fn json(
        &self,
        make: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<Result<serde_json::Value, (reqwest::StatusCode, String)>, InferenceError> {
        let deadline = Instant::now() + self.opts.request_timeout;
        let resp = self
            .send(
                make,
                deadline,
                TimeoutPhase::Request,
                self.opts.request_timeout,
            )
            .await?;
        let status = resp.status();
        if !status.is_success() {
            return Ok(Err((status, self.error_message(resp).await)));
        }
        let body = match timeout_at(deadline, read_limited(resp, 64 << 20)).await {
            Err(_) => {
                return Err(InferenceError::Timeout {
                    backend: self.backend,
                    phase: TimeoutPhase::Request,
                    after: self.opts.request_timeout,
                })
            }
            Ok(Err(detail)) => {
                return Err(InferenceError::Truncated {
                    backend: self.backend,
                    pieces: 0,
                    detail: Some(detail),
                })
            }
            Ok(Ok(b)) => b,
        };
        let v = serde_json::from_slice(&body).map_err(|e| InferenceError::Protocol {
            backend: self.backend,
            detail: format!(
                "not JSON ({e}): {:?}",
                excerpt(&String::from_utf8_lossy(&body), 120)
            ),
        })?;
        Ok(Ok(v))
    }

    /// The error message in a non-success answer: the `error` string (Ollama), the
    /// `error.message` (OpenAI, llama.cpp, vLLM), a `message`, or the start of the body.
    pub async fn error_message(&self, resp: reqwest::Response) -> String {
        let status = resp.status();
        let deadline = Instant::now() + self.opts.request_timeout;
        let body = match timeout_at(deadline, read_limited(resp, 64 << 10)).await {
            Ok(Ok(b)) => b,
            _ => Vec::new(),
        };
        error_text(status, &body)
    }

    /// A [`BodyReader`] over a streamed answer, with this backend's deadlines.
    pub fn body(&self, resp: reqwest::Response, started: Instant) -> BodyReader {
        BodyReader {
            resp,
            backend: self.backend,
            first_deadline: started + self.opts.first_token_timeout,
            first_len: self.opts.first_token_timeout,
            idle: self.opts.idle_timeout,
            started_output: false,
        }
    }
}

/// The readable message of an error answer.
pub(crate) fn error_text(status: reqwest::StatusCode, body: &[u8]) -> String {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
        if let Some(m) = json_error_message(&v) {
            return m;
        }
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        status.to_string()
    } else {
        excerpt(text, 200)
    }
}

/// The message of a JSON error object: `{"error": "…"}`, `{"error": {"message": "…"}}`,
/// `{"message": "…"}` (vLLM's older `{"object": "error", …}`).
pub(crate) fn json_error_message(v: &serde_json::Value) -> Option<String> {
    match v.get("error") {
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(e @ serde_json::Value::Object(_)) => Some(
            e.get("message")
                .and_then(|m| m.as_str())
                .map(str::to_string)
                .unwrap_or_else(|| e.to_string()),
        ),
        Some(other) if !other.is_null() => Some(other.to_string()),
        _ => v
            .get("message")
            .and_then(|m| m.as_str())
            .filter(|_| v.get("object").and_then(|o| o.as_str()) == Some("error"))
            .map(str::to_string),
    }
}

async fn read_limited(mut resp: reqwest::Response, limit: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(c)) => {
                let room = limit.saturating_sub(out.len());
                out.extend_from_slice(&c[..c.len().min(room)]);
                if out.len() >= limit {
                    return Ok(out);
                }
            }
            Ok(None) => return Ok(out),
            Err(e) => return Err(chain(&e)),
        }
    }
}

/// Reads a streamed body chunk by chunk: before the first output token under the first-token
/// deadline, then with at most the idle timeout between chunks.
pub(crate) struct BodyReader {
    resp: reqwest::Response,
    backend: &'static str,
    first_deadline: Instant,
    first_len: Duration,
    idle: Duration,
    started_output: bool,
}

impl BodyReader {
    /// Output has started: from now on the idle timeout applies.
    pub fn output_started(&mut self) {
        self.started_output = true;
    }

    /// The next chunk, `None` at the end of the body. `pieces` is only for the error report.
    pub async fn next(&mut self, pieces: u32) -> Result<Option<Bytes>, InferenceError> {
        let (deadline, phase, len) = if self.started_output {
            (Instant::now() + self.idle, TimeoutPhase::Idle, self.idle)
        } else {
            (
                self.first_deadline,
                TimeoutPhase::FirstToken,
                self.first_len,
            )
        };
        match timeout_at(deadline, self.resp.chunk()).await {
            Err(_) => Err(InferenceError::Timeout {
                backend: self.backend,
                phase,
                after: len,
            }),
            Ok(Ok(c)) => Ok(c),
            Ok(Err(e)) => Err(InferenceError::Truncated {
                backend: self.backend,
                pieces,
                detail: Some(chain(&e)),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn base_urls_normalise() {
        assert_eq!(
            normalize_base("localhost:11434").unwrap(),
            "http://localhost:11434"
        );
        assert_eq!(
            normalize_base("http://127.0.0.1:8080/").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert!(normalize_base("").is_err());
        assert!(normalize_base("ftp://x").is_err());
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let o = HttpOptions::default();
        assert_eq!(o.backoff_for(1), Duration::from_millis(250));
        assert_eq!(o.backoff_for(2), Duration::from_millis(500));
        assert_eq!(o.backoff_for(10), Duration::from_secs(4));
        assert_eq!(o.backoff_for(100), Duration::from_secs(4));
    }

    #[test]
    fn error_bodies_of_every_server() {
        let s = reqwest::StatusCode::NOT_FOUND;
        let ollama = br#"{"error":"model \"x\" not found, try pulling it first"}"#;
        assert_eq!(
            error_text(s, ollama),
            "model \"x\" not found, try pulling it first"
        );
        let openai = br#"{"error":{"message":"The model `x` does not exist.","type":"NotFoundError","code":404}}"#;
        assert_eq!(error_text(s, openai), "The model `x` does not exist.");
        let vllm_old = br#"{"object":"error","message":"bad","type":"BadRequestError","code":400}"#;
        assert_eq!(error_text(s, vllm_old), "bad");
        assert_eq!(error_text(s, b"<html>nope</html>"), "<html>nope</html>");
        assert_eq!(error_text(s, b""), "404 Not Found");
        assert_eq!(json_error_message(&json!({"ok": true})), None);
    }
}

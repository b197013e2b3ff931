//! The HTTP API: thin axum adapters over the node's services. Each area has its router
//! ([`qubic`], [`market`], [`contracts`], [`events`], [`tokens`], [`blobs`], [`devnet`]), merged in
//! [`router`]; a handler parses the request (the extractors here turn every malformed one
//! into a [`ServiceError`]), calls a service, and answers with a [`crate::wire`] type. A
//! [`ServiceError`] becomes an HTTP status and `{"code", "message"}` in one place:
//! [`http_status`] and its `IntoResponse`.

pub mod blobs;
pub mod contracts;
pub mod devnet;
pub mod events;
pub mod explorer;
pub mod market;
pub mod qubic;
pub mod tokens;

use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::de::DeserializeOwned;

use crate::error::{ErrorKind, ServiceError};
use crate::wire::{routes, ErrorBody};
use crate::NodeState;

pub use crate::parse::{b64, hash as parse_hash, identity as parse_identity, json as parse_json};
pub use crate::parse::{job_id as parse_job_id, to_b64};

/// The client's address, when the server knows it (`None` for a router called in-process).
pub struct ClientAddr(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

/// The HTTP status of a service error: the one place the node maps its errors to HTTP.
pub fn http_status(e: &ServiceError) -> StatusCode {
    match e.kind() {
        ErrorKind::Invalid => StatusCode::BAD_REQUEST,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorKind::Busy => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Limited => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for ServiceError {
    /// [`http_status`] and `{"code", "message"}` ([`ErrorBody`]); server errors are logged.
    fn into_response(self) -> Response {
        let status = http_status(&self);
        if status.is_server_error() {
            tracing::error!(code = self.code(), "{self}");
        }
        let body = ErrorBody {
            code: self.code().to_string(),
            message: self.to_string(),
        };
        if let Some(secs) = self.retry_after() {
            let after = secs.to_string();
            return (
                status,
                [(axum::http::header::RETRY_AFTER, after)],
                Json(body),
            )
                .into_response();
        }
        (status, Json(body)).into_response()
    }
}

/// The node's routes: one router per area, merged here. The Qubic-shaped RPC is served
/// under both [`routes::LIVE_V1`] and [`routes::V1`]; every other area under
/// [`routes::V1`]. A new area (an explorer, metrics) is one more router merged here.
pub fn router(state: Arc<NodeState>) -> Router {
    let v1 = Router::new()
        .merge(qubic::router())
        .merge(market::router())
        .merge(explorer::router())
        .merge(contracts::router())
        .merge(events::router())
        .merge(tokens::router())
        .merge(blobs::router())
        .merge(devnet::router());
    Router::new()
        .nest(routes::LIVE_V1, qubic::live_router())
        .nest(routes::V1, v1)
        .route("/metrics", axum::routing::get(metrics))
        .route("/health", axum::routing::get(health))
        .merge(crate::web::router())
        .fallback(not_found)
        // A known path with another method: the documented JSON error, not an empty 405.
        .method_not_allowed_fallback(method_not_allowed)
        // Bodies are limited by the extractors (`JsonBody`: max_body_bytes, `BytesBody`:
        // max_blob_bytes), which also drain what is over so the sender reads the 413.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            limit_requests,
        ))
        // Outermost: refusals by the rate limit are counted too.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            count_requests,
        ))
        .with_state(state)
}

/// An unknown path: the JSON error, or the "not found" page for a browser.
async fn not_found(headers: axum::http::HeaderMap) -> Response {
    let e = ServiceError::NotFound("no such endpoint".into());
    let html = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if html {
        return crate::web::PageError(ServiceError::NotFound("no such page".into()))
            .into_response();
    }
    e.into_response()
}

/// `GET /metrics`: Prometheus text ([`crate::metrics`]).
async fn metrics(axum::extract::State(s): axum::extract::State<Arc<NodeState>>) -> Response {
    let st = s.clone();
    match blocking(move || st.metrics.render(&st.chain, st.subscribers.open())).await {
        Ok(text) => (
            [(
                axum::http::header::CONTENT_TYPE,
                // prometheus-client writes OpenMetrics text (`# EOF`, `_total` counters),
                // which Prometheus scrapes as such with this type.
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

/// `GET /health`: 200 `{"status": "ready", "tick"}` once the ledger is loaded and ticking,
/// else 503 `{"code": "not_ready", "message"}`.
async fn health(axum::extract::State(s): axum::extract::State<Arc<NodeState>>) -> Response {
    match s.metrics.ready(&s.chain, s.config.tick_ms) {
        Ok(tick) => Json(serde_json::json!({"status": "ready", "tick": tick})).into_response(),
        Err(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(ErrorBody {
                code: "not_ready".into(),
                message: why,
            }),
        )
            .into_response(),
    }
}

/// Counts every answer by route template, method and status ([`crate::metrics`]).
async fn count_requests(
    axum::extract::State(s): axum::extract::State<Arc<NodeState>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let method = req.method().as_str().to_string();
    let res = next.run(req).await;
    s.metrics.request(&route, &method, res.status().as_u16());
    res
}

/// The per-address request limit ([`crate::limits::RequestLimiter`]) on what costs the node:
/// every request that is not a plain read, and every live stream. A refusal is held for
/// [`crate::NodeConfig::refusal_delay_ms`] before it goes out (a tarpit): a client that
/// ignores `Retry-After` and floods gets few answers a second per connection, so refusing it
/// costs the node little CPU, which the other clients keep.
async fn limit_requests(
    axum::extract::State(s): axum::extract::State<Arc<NodeState>>,
    ClientAddr(addr): ClientAddr,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let read = matches!(
        *req.method(),
        axum::http::Method::GET | axum::http::Method::HEAD
    );
    let stream = req.uri().path().ends_with("/stream");
    if !read || stream {
        if let Err(e) = s.requests.check(addr) {
            if s.config.refusal_delay_ms > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(s.config.refusal_delay_ms))
                    .await;
            }
            return e.into_response();
        }
    }
    next.run(req).await
}

/// The router of one area, its routes relative to the prefix it is nested under.
pub type AreaRouter = Router<Arc<NodeState>>;

/// How much of an oversized body is still read (and dropped) before the 413 goes out: a
/// client that is still sending then gets the answer instead of a reset connection.
pub const DRAIN_CAP: usize = 32 << 20;

/// Reads a request body of at most `limit` bytes. A longer body is a 413 `body_too_large`;
/// it is read on and dropped up to [`DRAIN_CAP`] (never stored), so the sender sees the
/// answer.
pub async fn read_body(req: Request, limit: usize) -> Result<axum::body::Bytes, ServiceError> {
    use futures_util::StreamExt;
    let declared = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if let Some(n) = declared {
        if n > limit.saturating_add(DRAIN_CAP) {
            return Err(ServiceError::TooLarge { size: n, limit });
        }
    }
    let mut stream = req.into_body().into_data_stream();
    let mut buf = Vec::with_capacity(declared.unwrap_or(0).min(limit));
    let mut total = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ServiceError::BadParam {
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
        return Err(ServiceError::TooLarge { size: total, limit });
    }
    Ok(buf.into())
}

/// A JSON body of at most `max_body_bytes` whose every failure is a [`ServiceError`]
/// (malformed, or not `application/json` → `bad_json`; too large → 413 `body_too_large`).
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<Arc<NodeState>> for JsonBody<T> {
    type Rejection = ServiceError;
    async fn from_request(req: Request, state: &Arc<NodeState>) -> Result<Self, ServiceError> {
        let json = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                let mime = v.split(';').next().unwrap_or("").trim();
                mime.eq_ignore_ascii_case("application/json") || mime.ends_with("+json")
            });
        if !json {
            return Err(ServiceError::BadJson(
                "expected a body with Content-Type: application/json".into(),
            ));
        }
        let bytes = read_body(req, state.config.max_body_bytes).await?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// A raw body of at most `max_blob_bytes` whose failures are [`ServiceError`]s (too large → 413
/// `body_too_large`).
pub struct BytesBody(pub axum::body::Bytes);

impl FromRequest<Arc<NodeState>> for BytesBody {
    type Rejection = ServiceError;
    async fn from_request(req: Request, state: &Arc<NodeState>) -> Result<Self, ServiceError> {
        read_body(req, state.blobs.max_bytes()).await.map(BytesBody)
    }
}

/// `405 {"code": "method_not_allowed", "message"}` for a route that exists with other
/// methods.
async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> Response {
    let body = ErrorBody {
        code: "method_not_allowed".into(),
        message: format!("{method} is not allowed on {}", uri.path()),
    };
    (StatusCode::METHOD_NOT_ALLOWED, Json(body)).into_response()
}

/// Path parameters whose every failure is a [`ServiceError`] (`bad_parameter`): a segment
/// that is not UTF-8 once percent-decoded (`/v1/jobs/%FF`) gets the documented JSON error,
/// not axum's plain-text "Invalid URL".
pub struct PathParam<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PathParam<T> {
    type Rejection = ServiceError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ServiceError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(PathParam(v)),
            Err(r) => Err(ServiceError::BadParam {
                name: "path",
                detail: r.body_text(),
            }),
        }
    }
}

/// Query parameters whose every failure is a [`ServiceError`] (`bad_parameter`).
pub struct QueryParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ServiceError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ServiceError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(QueryParams(v)),
            Err(r) => Err(ServiceError::BadParam {
                name: "query",
                detail: r.body_text(),
            }),
        }
    }
}

/// Runs a blocking closure off the async workers.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ServiceError> + Send + 'static,
) -> Result<T, ServiceError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use comqute_ledger::LedgerError;
    use comqute_qpi::ContractError;

    #[test]
    fn every_kind_of_error_has_its_status() {
        let cases: Vec<(ServiceError, &str, u16)> = vec![
            (ServiceError::BadJson("x".into()), "bad_json", 400),
            (
                ServiceError::BadParam {
                    name: "tick",
                    detail: "x".into(),
                },
                "bad_parameter",
                400,
            ),
            (ServiceError::NotFound("x".into()), "not_found", 404),
            (
                ServiceError::Contract(ContractError::UnknownContract(99)),
                "unknown_contract",
                404,
            ),
            (ServiceError::DevnetOnly("warp"), "devnet_only", 403),
            (ServiceError::Forbidden("x".into()), "forbidden", 403),
            (ServiceError::Conflict("x".into()), "conflict", 409),
            (
                ServiceError::TooLarge { size: 2, limit: 1 },
                "body_too_large",
                413,
            ),
            (
                ServiceError::Ledger(LedgerError::TickFull {
                    tick: comqute_qpi::Tick(3),
                    capacity: 1,
                }),
                "tick_full",
                503,
            ),
            // Asking past the ledger's ranges (a warp) is the caller's error; a node whose
            // ticking ran into them is halted.
            (
                ServiceError::Ledger(LedgerError::TickOverflow),
                "past_last_tick",
                400,
            ),
            (
                ServiceError::Ledger(LedgerError::EpochOverflow {
                    last_tick: comqute_qpi::Tick(9),
                }),
                "past_last_epoch",
                400,
            ),
            (ServiceError::Halted("x".into()), "chain_halted", 500),
            (
                ServiceError::TooManyPending {
                    identity: comqute_qpi::Identity([1; 32]),
                    limit: 3,
                },
                "too_many_pending",
                429,
            ),
            (ServiceError::Internal("x".into()), "internal", 500),
        ];
        for (e, code, status) in cases {
            assert_eq!(e.code(), code, "{e}");
            assert_eq!(http_status(&e).as_u16(), status, "{e}");
            // 4xx is the caller's to fix, except 429: the same request succeeds later.
            assert_eq!(
                e.kind().is_caller_fault(),
                status < 500 && status != 429,
                "{e}: the kind and the status agree on whose fault it is"
            );
        }
    }
}

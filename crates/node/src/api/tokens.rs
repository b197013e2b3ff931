//! Token streaming over HTTP (see [`crate::tokens`] for the rules).
//!
//! - `POST /v1/jobs/{id}/tokens` [`TokenPush`] → [`TokenPushResponse`]: the assigned worker
//!   pushes chunk `seq`; others get 403 `forbidden`.
//! - `GET /v1/jobs/{id}/tokens` → [`TokenPage`]: what was pushed so far.
//! - `GET /v1/jobs/{id}/tokens/stream[?from=N]` (SSE): every chunk pushed so far (from
//!   number `N`, or after the `Last-Event-ID` header's, when given), then live ones, as
//!   `token` events ([`crate::wire::TokenChunk`], `id` = seq); the stream ends with `done`
//!   when the worker closes it, or `end` when the job reaches a terminal status first
//!   ([`crate::wire::TokenEnd`]).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::routing::{get, post};
use axum::Json;
use futures_util::stream::Stream;

use super::{blocking, parse_job_id, AreaRouter, ClientAddr, JsonBody, PathParam, QueryParams};
use crate::error::ServiceError;
use crate::tokens::TokenFeed;
use crate::wire::{routes, TokenPage, TokenPush, TokenPushResponse};
use crate::NodeState;

/// Token streams.
pub fn router() -> AreaRouter {
    AreaRouter::new()
        .route(routes::JOB_TOKENS, post(push).get(page))
        .route(routes::JOB_TOKENS_STREAM, get(stream))
}

/// `POST /v1/jobs/{id}/tokens`.
pub async fn push(
    State(s): State<Arc<NodeState>>,
    PathParam(id): PathParam<String>,
    JsonBody(p): JsonBody<TokenPush>,
) -> Result<Json<TokenPushResponse>, ServiceError> {
    let id = parse_job_id("id", &id)?;
    // The signature check is ~50 µs of curve arithmetic: off the async workers.
    Ok(Json(
        blocking(move || {
            let r = s.tokens.push(&s.chain, id, &p)?;
            s.observer.chunk(id, p.done);
            Ok::<_, ServiceError>(r)
        })
        .await?,
    ))
}

/// `GET /v1/jobs/{id}/tokens`.
pub async fn page(
    State(s): State<Arc<NodeState>>,
    PathParam(id): PathParam<String>,
) -> Result<Json<TokenPage>, ServiceError> {
    let id = parse_job_id("id", &id)?;
    Ok(Json(s.tokens.page(&s.chain, id)?))
}

/// `?from=N`: the first chunk number wanted.
#[derive(serde::Deserialize)]
pub struct From {
    from: Option<u32>,
}

/// `GET /v1/jobs/{id}/tokens/stream[?from=N]`: [`crate::tokens::TokenService::follow`] as
/// SSE. Without `from`, a `Last-Event-ID` header (what a browser's EventSource sends when it
/// reconnects) resumes after that chunk.
pub async fn stream(
    State(s): State<Arc<NodeState>>,
    ClientAddr(addr): ClientAddr,
    PathParam(id): PathParam<String>,
    QueryParams(q): QueryParams<From>,
    headers: axum::http::HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ServiceError> {
    let id = parse_job_id("id", &id)?;
    let from = match (q.from, headers.get("last-event-id")) {
        (Some(n), _) => n,
        (None, Some(v)) => v
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse::<u32>().ok())
            .map(|last| last.saturating_add(1))
            .ok_or_else(|| ServiceError::BadParam {
                name: "Last-Event-ID",
                detail: "expected a chunk number".into(),
            })?,
        (None, None) => 0,
    };
    // A place among the node's live subscriptions, held as long as the stream lives.
    let place = s.subscribers.acquire(addr)?;
    let patience = Duration::from_secs(s.config.slow_reader_secs.max(1));
    let feed = s.tokens.follow(&s.chain, id, from, Some(patience))?;
    let events = futures_util::StreamExt::map(
        tokio_stream::wrappers::ReceiverStream::new(feed),
        move |item| {
            let _held = &place;
            Ok(match item {
                Ok(TokenFeed::Chunk(c)) => SseEvent::default()
                    .id(c.seq.to_string())
                    .event("token")
                    .data(serde_json::to_string(&c).unwrap_or_default()),
                // `done`: the worker closed the stream; `end`: the job's terminal status.
                Ok(TokenFeed::End(end)) => SseEvent::default()
                    .event(if end.status.is_none() { "done" } else { "end" })
                    .data(serde_json::to_string(&end).unwrap_or_default()),
                Err(e) => SseEvent::default().event("error").data(e.to_string()),
            })
        },
    );
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

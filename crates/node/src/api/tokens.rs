//! Token streaming over HTTP (see [`crate::tokens`] for the rules).
//!
//! - `POST /v1/jobs/{id}/tokens` [`TokenPush`] → [`TokenPushResponse`]: the assigned worker
//!   pushes chunk `seq`; others get 403 `forbidden`.
//! - `GET /v1/jobs/{id}/tokens` → [`TokenPage`]: what was pushed so far.
//! - `GET /v1/jobs/{id}/tokens/stream` (SSE): every chunk pushed so far, then live ones, as
//!   `token` events ([`crate::wire::TokenChunk`], `id` = seq); the stream ends with `done`
//!   when the worker closes it, or `end` when the job reaches a terminal status first
//!   ([`TokenEnd`]).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use super::AreaRouter;
use crate::wire::routes;
use axum::extract::{Path, State};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::routing::{get, post};
use axum::Json;
use futures_util::stream::Stream;

use super::market::parse_job_id;
use super::{blocking, JsonBody};
use crate::error::ApiError;
use crate::tokens::{authorize, job};
use crate::wire::{TokenEnd, TokenPage, TokenPush, TokenPushResponse};
use crate::Shared;

/// `POST /v1/jobs/{id}/tokens`.
pub async fn push(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    JsonBody(p): JsonBody<TokenPush>,
) -> Result<Json<TokenPushResponse>, ApiError> {
    let id = parse_job_id("id", &id)?;
    if p.text.len() > s.config.max_stream_bytes {
        return Err(ApiError::TooLarge {
            size: p.text.len(),
            limit: s.config.max_stream_bytes,
        });
    }
    // The signature check is ~50 µs of curve arithmetic: off the async workers.
    let s2 = s.clone();
    let pushed = blocking(move || {
        authorize(s2.chain()?.ledger(), id, &p)?;
        s2.tokens.push(id, p.seq, &p.text, p.done)
    })
    .await?;
    Ok(Json(TokenPushResponse {
        job_id: id,
        next: pushed.next,
        done: pushed.done,
    }))
}

/// `GET /v1/jobs/{id}/tokens`.
pub async fn page(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Result<Json<TokenPage>, ApiError> {
    let id = parse_job_id("id", &id)?;
    job(s.chain()?.ledger(), id)?;
    let (chunks, done) = match s.tokens.get(id)? {
        Some(st) => st.read_from(0)?,
        None => (Vec::new(), false),
    };
    let text = chunks.iter().map(|c| c.text.as_str()).collect();
    Ok(Json(TokenPage {
        job_id: id,
        chunks,
        done,
        text,
    }))
}

/// `done` (no status: the worker closed the stream) or `end` (the job's terminal status).
fn end_event(chunks: u32, status: Option<String>) -> SseEvent {
    SseEvent::default()
        .event(if status.is_none() { "done" } else { "end" })
        .data(serde_json::to_string(&TokenEnd { chunks, status }).unwrap_or_default())
}

/// `GET /v1/jobs/{id}/tokens/stream`.
pub async fn stream(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    let id = parse_job_id("id", &id)?;
    job(s.chain()?.ledger(), id)?;
    let stream = s.tokens.get_or_create(id)?;
    let mut changes = stream.subscribe();
    let mut ticks = s.tick_tx.subscribe();
    let (tx, rx) = tokio::sync::mpsc::channel::<SseEvent>(64);
    tokio::spawn(async move {
        let mut next = 0u32;
        loop {
            let (chunks, done) = match stream.read_from(next) {
                Ok(r) => r,
                Err(e) => {
                    let _ = tx
                        .send(SseEvent::default().event("error").data(e.to_string()))
                        .await;
                    return;
                }
            };
            for c in chunks {
                next = c.seq + 1;
                let ev = SseEvent::default()
                    .id(c.seq.to_string())
                    .event("token")
                    .data(serde_json::to_string(&c).unwrap_or_default());
                if tx.send(ev).await.is_err() {
                    return;
                }
            }
            if done {
                let _ = tx.send(end_event(next, None)).await;
                return;
            }
            tokio::select! {
                r = changes.changed() => if r.is_err() { return },
                r = ticks.changed() => {
                    if r.is_err() {
                        return;
                    }
                    let status = s.chain().and_then(|c| job(c.ledger(), id)).map(|j| j.status);
                    if let Ok(st) = status {
                        if st.is_terminal() {
                            // Drain what arrived meanwhile, then end.
                            if let Ok((rest, done)) = stream.read_from(next) {
                                for c in rest {
                                    next = c.seq + 1;
                                    let ev = SseEvent::default()
                                        .id(c.seq.to_string())
                                        .event("token")
                                        .data(serde_json::to_string(&c).unwrap_or_default());
                                    if tx.send(ev).await.is_err() {
                                        return;
                                    }
                                }
                                let last = if done { None } else { Some(st.name().to_string()) };
                                let _ = tx.send(end_event(next, last)).await;
                            }
                            return;
                        }
                    }
                }
            }
        }
    });
    let out = futures_util::StreamExt::map(tokio_stream::wrappers::ReceiverStream::new(rx), Ok);
    Ok(Sse::new(out).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// Token streams.
pub fn router() -> AreaRouter {
    AreaRouter::new()
        .route(routes::JOB_TOKENS, post(push).get(page))
        .route(routes::JOB_TOKENS_STREAM, get(stream))
}

//! Contract events: a page after a cursor, or a live server-sent-event stream.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use super::AreaRouter;
use crate::wire::routes;
use axum::extract::State;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::routing::get;
use axum::Json;
use futures_util::stream::Stream;
use serde::Deserialize;

use super::QueryParams;
use crate::chain::Chain;
use crate::error::ApiError;
use crate::wire::{event_view, EventHead, EventPage, EventView};
use crate::Shared;

/// The largest page.
pub const MAX_PAGE: usize = 1000;

/// `?after=N&limit=M` (`after`: the first event number wanted).
#[derive(Deserialize)]
pub struct Page {
    #[serde(default)]
    after: u64,
    limit: Option<usize>,
}

/// Events `>= cursor` as the node shows them: raw hex, and decoded (marketplace events with
/// their fields, other contracts' own description).
pub fn event_views(c: &Chain, cursor: u64, limit: usize) -> Result<Vec<EventView>, ApiError> {
    let evs = c.events_since(cursor, limit)?;
    let registry = c.ledger().registry();
    Ok(evs
        .iter()
        .map(|e| {
            event_view(e, |i, data| {
                registry
                    .get(i)
                    .map(|k| crate::wire::described(k.as_ref(), data))
            })
        })
        .collect())
}

/// `GET /v1/events?after=N&limit=M`: `{"events": [...], "next": cursor}`.
pub async fn list(
    State(s): State<Arc<Shared>>,
    QueryParams(p): QueryParams<Page>,
) -> Result<Json<EventPage>, ApiError> {
    let limit = p.limit.unwrap_or(100).clamp(1, MAX_PAGE);
    let events = event_views(&*s.chain()?, p.after, limit)?;
    let next = events.last().map_or(p.after, |e| e.seq + 1);
    Ok(Json(EventPage { events, next }))
}

/// `GET /v1/events/head`: `{"next": N}`, the number the next event will get (subscribe with
/// `after=N` to see only what happens from now on).
pub async fn head(State(s): State<Arc<Shared>>) -> Result<Json<EventHead>, ApiError> {
    Ok(Json(EventHead {
        next: s.chain()?.events_head(),
    }))
}

/// `GET /v1/events/stream?after=N`: every event from `after` on, then live ones as ticks
/// are processed. Each SSE message has `id` = the event number (resume with `after`).
pub async fn stream(
    State(s): State<Arc<Shared>>,
    QueryParams(p): QueryParams<Page>,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let mut ticks = s.tick_tx.subscribe();
    let stream = async_stream(move |tx| async move {
        let mut cursor = p.after;
        loop {
            let page = match s.chain().and_then(|c| event_views(&c, cursor, MAX_PAGE)) {
                Ok(p) => p,
                Err(e) => {
                    let _ = tx
                        .send(SseEvent::default().event("error").data(e.to_string()))
                        .await;
                    return;
                }
            };
            let full = page.len() == MAX_PAGE;
            for e in page {
                cursor = e.seq + 1;
                let ev = SseEvent::default()
                    .id(e.seq.to_string())
                    .event("event")
                    .data(serde_json::to_string(&e).unwrap_or_default());
                if tx.send(ev).await.is_err() {
                    return;
                }
            }
            if !full && ticks.changed().await.is_err() {
                return;
            }
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

/// A stream fed by a task through a channel (ends when the task returns or the client goes).
fn async_stream<F, Fut>(f: F) -> impl Stream<Item = Result<SseEvent, Infallible>>
where
    F: FnOnce(tokio::sync::mpsc::Sender<SseEvent>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(256);
    tokio::spawn(f(tx));
    futures_util::StreamExt::map(tokio_stream::wrappers::ReceiverStream::new(rx), Ok)
}

/// Events: pages, the head, the live stream.
pub fn router() -> AreaRouter {
    AreaRouter::new()
        .route(routes::EVENTS, get(list))
        .route(routes::EVENTS_STREAM, get(stream))
        .route(routes::EVENTS_HEAD, get(head))
}

//! Contract events: a page after a cursor, the head, or a live server-sent-event stream.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::routing::get;
use axum::Json;
use futures_util::stream::Stream;
use serde::Deserialize;

use super::{AreaRouter, ClientAddr, QueryParams};
use crate::error::ServiceError;
use crate::wire::{routes, EventHead, EventPage};
use crate::NodeState;

/// The largest page.
pub const MAX_PAGE: usize = crate::chain::MAX_EVENT_PAGE;

/// Events: pages, the head, the live stream.
pub fn router() -> AreaRouter {
    AreaRouter::new()
        .route(routes::EVENTS, get(list))
        .route(routes::EVENTS_STREAM, get(stream))
        .route(routes::EVENTS_HEAD, get(head))
}

/// `?after=N&limit=M` (`after`: the first event number wanted).
#[derive(Deserialize)]
pub struct Page {
    #[serde(default)]
    after: u64,
    limit: Option<usize>,
}

/// `GET /v1/events?after=N&limit=M`: `{"events": [...], "next": cursor}` (100 events
/// unless `limit` says otherwise, at most [`MAX_PAGE`]).
pub async fn list(
    State(s): State<Arc<NodeState>>,
    QueryParams(p): QueryParams<Page>,
) -> Result<Json<EventPage>, ServiceError> {
    let events = s.chain.events(p.after, p.limit.unwrap_or(100))?;
    let next = events.last().map_or(p.after, |e| e.seq + 1);
    Ok(Json(EventPage { events, next }))
}

/// `GET /v1/events/head`: `{"next": N}`, the number the next event will get (subscribe with
/// `after=N` to see only what happens from now on).
pub async fn head(State(s): State<Arc<NodeState>>) -> Result<Json<EventHead>, ServiceError> {
    Ok(Json(EventHead {
        next: s.chain.events_head()?,
    }))
}

/// `GET /v1/events/stream?after=N`: every event from `after` on, then live ones as ticks
/// are processed ([`crate::chain::ChainService::follow_events`]). Each SSE message has
/// `id` = the event number (resume with `after`); a failure is an `error` message, last.
pub async fn stream(
    State(s): State<Arc<NodeState>>,
    ClientAddr(addr): ClientAddr,
    QueryParams(p): QueryParams<Page>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ServiceError> {
    event_sse(&s, addr, p.after, "event", |e| {
        serde_json::to_string(e).unwrap_or_default()
    })
}

/// Events from `after` on, then live ones, as server-sent `name` messages whose data is
/// `render(event)` (JSON here, HTML for the web app's feed), holding a place among the
/// node's live subscriptions while the stream lives. Each message's `id` is the event
/// number; a failure is an `error` message, last.
pub fn event_sse(
    s: &Arc<NodeState>,
    addr: Option<std::net::IpAddr>,
    after: u64,
    name: &'static str,
    render: fn(&crate::wire::EventView) -> String,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>> + use<>>, ServiceError> {
    let place = s.subscribers.acquire(addr)?;
    let patience = Duration::from_secs(s.config.slow_reader_secs.max(1));
    let feed = s.chain.follow_events(after, Some(patience));
    let events = futures_util::StreamExt::map(
        tokio_stream::wrappers::ReceiverStream::new(feed),
        move |item| {
            let _held = &place;
            Ok(match item {
                Ok(e) => SseEvent::default()
                    .id(e.seq.to_string())
                    .event(name)
                    .data(render(&e)),
                Err(e) => SseEvent::default().event("error").data(e.to_string()),
            })
        },
    );
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

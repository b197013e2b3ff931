//! Contract events: a page after a cursor, or a live server-sent-event stream.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::Json;
use futures_util::stream::Stream;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::ApiError;
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

fn event_json(e: &comqute_ledger::Event) -> Value {
    json!({
        "seq": e.seq.to_string(),
        "tick": e.tick.0,
        "tx": e.tx.map(|t| t.to_string()),
        "contract": e.contract.0,
        "dataHex": hex::encode(&e.data),
    })
}

/// `GET /v1/events?after=N&limit=M`: `{"events": [...], "next": cursor}`.
pub async fn list(
    State(s): State<Arc<Shared>>,
    Query(p): Query<Page>,
) -> Result<Json<Value>, ApiError> {
    let limit = p.limit.unwrap_or(100).clamp(1, MAX_PAGE);
    let evs = s.chain()?.events_since(p.after, limit)?;
    let next = evs.last().map_or(p.after, |e| e.seq + 1);
    Ok(Json(
        json!({ "events": evs.iter().map(event_json).collect::<Vec<_>>(), "next": next.to_string() }),
    ))
}

/// `GET /v1/events/stream?after=N`: every event from `after` on, then live ones as ticks
/// are processed. Each SSE message has `id` = the event number (resume with `after`).
pub async fn stream(
    State(s): State<Arc<Shared>>,
    Query(p): Query<Page>,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let mut ticks = s.tick_tx.subscribe();
    let stream = async_stream(move |tx| async move {
        let mut cursor = p.after;
        loop {
            let page = match s.chain().and_then(|c| c.events_since(cursor, MAX_PAGE)) {
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
                    .data(event_json(&e).to_string());
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

//! Fragments htmx swaps into pages: the stat cards (polled), the live activity feed (server-
//! sent HTML), and a job's status badge (polled until it settles).

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::sse::{Event as SseEvent, Sse};
use futures_util::stream::Stream;
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::Value;

use super::layout::{badge, int, short};
use super::PageError;
use crate::api::{parse_job_id, ClientAddr};
use crate::error::ServiceError;
use crate::wire::EventView;
use crate::NodeState;

/// The stat cards, as of now.
pub fn stat_cards(s: &NodeState) -> Result<Markup, ServiceError> {
    let h = s.observer.history(&s.chain, 1)?;
    let st = s.chain.stats()?;
    let epoch = s.chain.read(|l| l.epoch_of(comqute_qpi::Tick(st.tick)).0)?;
    let tokens = h.samples.last().map_or(0, |x| x.tokens_served);
    let x = crate::explorer::sample_of(&st, epoch, 0, tokens);
    let cards: [(&str, String, &str); 8] = [
        ("Tick", int(x.tick), "tick"),
        ("Epoch", int(x.epoch), "epoch"),
        ("Jobs open", int(x.open), "open"),
        ("Running", int(x.running), "running"),
        ("Settled", int(x.settled), "settled"),
        ("Workers online", int(x.workers_online), "workers"),
        ("Tokens served", int(x.tokens_served), "tokens"),
        ("Escrowed", int(x.escrowed.0), "escrowed"),
    ];
    Ok(html! {
        div id="stat-cards" class="grid grid-cols-2 gap-3 sm:grid-cols-4 xl:grid-cols-8"
            hx-get="/ui/stats" hx-trigger="every 2s" hx-swap="outerHTML" {
            @for (label, value, key) in cards {
                div class="rounded-2xl border border-slate-800 bg-gradient-to-b from-slate-900 to-slate-900/40 p-3" {
                    div class="text-[11px] uppercase tracking-wide text-slate-500" { (label) }
                    div class="mt-1 truncate text-xl font-semibold tabular-nums text-white" data-stat=(key) { (value) }
                }
            }
        }
    })
}

/// `GET /ui/stats`.
pub async fn stats(State(s): State<Arc<NodeState>>) -> Result<Markup, PageError> {
    Ok(stat_cards(&s)?)
}

/// One line of the activity feed.
pub fn feed_item(e: &EventView) -> Markup {
    let d = e.decoded.as_ref();
    let get = |k: &str| d.and_then(|v| v.get(k));
    let kind = get("type")
        .and_then(Value::as_str)
        .unwrap_or("event")
        .to_string();
    let contract = get("contract")
        .and_then(Value::as_str)
        .unwrap_or("contract")
        .to_string();
    let job = get("jobId").and_then(|v| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    });
    let worker = get("worker").and_then(Value::as_str).map(str::to_string);
    let money = ["amount", "paid", "slashed", "refunded", "escrow"]
        .iter()
        .find_map(|k| get(k).map(|v| (*k, v.to_string().trim_matches('"').to_string())));
    let tone = match kind.as_str() {
        k if k.contains("Slash") || k.contains("Fail") || k.contains("Expired") => "bg-rose-400",
        k if k.contains("Paid") || k.contains("Final") || k.contains("Settled") => "bg-emerald-400",
        k if k.contains("Result") || k.contains("Check") || k.contains("Verdict") => "bg-sky-400",
        k if k.contains("Submitted") || k.contains("Open") => "bg-amber-400",
        _ => "bg-violet-400",
    };
    html! {
        li class="flex items-start gap-2 rounded-lg px-2 py-1.5 hover:bg-slate-800/40" data-event=(e.seq) {
            span class={"mt-1.5 inline-block h-2 w-2 shrink-0 rounded-full " (tone)} {}
            div class="min-w-0" {
                div class="text-slate-200" {
                    span class="font-medium" { (split_camel(&kind)) }
                    @if let Some(j) = &job { " · " a class="text-violet-300 hover:underline" href=(format!("/jobs/{j}")) { "job " (j) } }
                    @if let Some(w) = &worker { " · " a class="font-mono text-cyan-300 hover:underline" href=(format!("/workers/{w}")) { (short(w)) } }
                    @if let Some((k, v)) = &money { " · " span class="tabular-nums" { (k) " " (v) } }
                }
                div class="text-xs text-slate-500" {
                    (contract) " · "
                    a class="hover:underline" href=(format!("/ticks/{}", e.tick)) { "tick " (int(e.tick)) }
                    @if let Some(tx) = &e.tx { " · " a class="hover:underline" href=(format!("/tx/{tx}")) { "tx " (short(tx)) } }
                }
            }
        }
    }
}

/// `JobSubmitted` as `Job submitted`.
fn split_camel(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && c.is_ascii_uppercase() {
            out.push(' ');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// `?after=N`.
#[derive(Deserialize)]
pub struct After {
    #[serde(default)]
    after: u64,
}

/// `GET /ui/feed/stream?after=N`: the activity feed as server-sent HTML (`activity`
/// messages, one `<li>` each), counted among the node's live subscriptions.
pub async fn feed(
    State(s): State<Arc<NodeState>>,
    ClientAddr(addr): ClientAddr,
    Query(a): Query<After>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ServiceError> {
    crate::api::events::event_sse(&s, addr, a.after, "activity", |e| {
        feed_item(e).into_string()
    })
}

/// `GET /ui/jobs/{id}/status`: the job's status badge; a settled job stops the polling
/// (htmx's 286).
pub async fn job_status(
    State(s): State<Arc<NodeState>>,
    Path(id): Path<String>,
) -> Result<axum::response::Response, PageError> {
    use axum::response::IntoResponse;
    let id = parse_job_id("id", &id)?;
    let j = s.chain.job(id)?;
    let body = badge(j.status.name());
    if j.closed_at.is_some() {
        // 286: htmx stops polling.
        let code = axum::http::StatusCode::from_u16(286).unwrap_or(axum::http::StatusCode::OK);
        return Ok((code, body).into_response());
    }
    Ok(body.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_read_as_words() {
        assert_eq!(split_camel("ResultPosted"), "Result posted");
        assert_eq!(split_camel("Submitted"), "Submitted");
    }
}

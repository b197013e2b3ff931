//! The pages. Each reads the node's services (the same calls the JSON API makes) and
//! renders them; live parts fetch the JSON API or the fragments in [`super::fragments`].

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use comqute_market::job_registry::JobStatus;
use comqute_qpi::{Amount, Hash32, Tick};
use maud::{html, Markup};
use serde_json::json;

use super::layout::{
    amount, badge, card, data_script, field, hash, heading, int, json, page, short, who, Nav,
};
use super::{Page, PageError};
use crate::api::market::{job_filter, only, JOB_FILTERS};
use crate::api::{parse_hash, parse_identity, parse_job_id};
use crate::error::ServiceError;
use crate::explorer;
use crate::wire::explorer::SearchKind;
use crate::wire::{JobView, WorkerView};
use crate::NodeState;

type Params = Query<HashMap<String, String>>;

fn devnet(s: &NodeState) -> bool {
    s.chain.is_devnet()
}

/// Runs a read that may walk many records off the async workers.
async fn off<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ServiceError> + Send + 'static,
) -> Result<T, PageError> {
    crate::api::blocking(f).await.map_err(PageError)
}

// --- the explorer ---------------------------------------------------------------------------

/// `GET /`: stat cards, charts, live activity, newest jobs and workers.
pub async fn home(State(s): State<Arc<NodeState>>) -> Page {
    let st = s.clone();
    let (cards, jobs, workers, feed) = off(move || {
        let cards = super::fragments::stat_cards(&st)?;
        let stats = st.chain.stats()?;
        let newest = stats.jobs.submitted;
        let mut jobs = Vec::new();
        for n in (newest.saturating_sub(10) + 1..=newest).rev() {
            if let Ok(j) = st.chain.job(n) {
                jobs.push(j);
            }
        }
        let workers = explorer::all_workers(&st.chain)?;
        let head = st.chain.events_head()?;
        let feed = st.chain.events(head.saturating_sub(20), 20)?;
        Ok((cards, jobs, workers, feed))
    })
    .await?;
    Ok(page(
        "Explorer",
        Nav::Explorer,
        devnet(&s),
        html! {
            (heading("Network explorer", Some(html! { span class="text-sm text-slate-500" { "live from this node" } })))
            (cards)
            div class="mt-4 grid grid-cols-1 gap-4 lg:grid-cols-3" data-charts {
                (chart_card("Jobs", "chart-jobs"))
                (chart_card("Tokens served", "chart-tokens"))
                (chart_card("Workers online · escrow", "chart-workers"))
            }
            div class="mt-4 grid grid-cols-1 gap-4 lg:grid-cols-5" {
                div class="lg:col-span-3 space-y-4" {
                    (card("Newest jobs", jobs_table(&jobs, true)))
                    (card("Workers", workers_table(&workers)))
                }
                div class="lg:col-span-2" {
                    (card("Live activity", html! {
                        ul id="feed" class="max-h-[36rem] space-y-1 overflow-y-auto text-sm"
                            hx-ext="sse" sse-connect=(format!("/ui/feed/stream?after={}", feed.last().map_or(0, |e| e.seq + 1)))
                            sse-swap="activity" hx-swap="afterbegin" {
                            @for e in feed.iter().rev() { (super::fragments::feed_item(e)) }
                            @if feed.is_empty() {
                                li class="text-slate-500" data-empty { "Nothing yet: submit a job or register a worker." }
                            }
                        }
                    }))
                }
            }
        },
    ))
}

fn chart_card(title: &str, id: &str) -> Markup {
    html! {
        section class="rounded-2xl border border-slate-800 bg-slate-900/60 p-4" {
            h2 class="mb-2 text-sm font-semibold uppercase tracking-wide text-slate-400" { (title) }
            div id=(id) class="h-40 w-full" {}
        }
    }
}

/// A table of jobs (with their requesters when `requester`).
pub fn jobs_table(jobs: &[JobView], requester: bool) -> Markup {
    if jobs.is_empty() {
        return html! { p class="text-sm text-slate-500" { "No jobs." } };
    }
    html! {
        div class="overflow-x-auto" {
            table class="w-full text-left text-sm" data-jobs {
                thead class="text-xs uppercase text-slate-500" {
                    tr {
                        th class="py-2 pr-3" { "Job" }
                        th class="py-2 pr-3" { "Status" }
                        th class="py-2 pr-3" { "Model" }
                        @if requester { th class="py-2 pr-3" { "Requester" } }
                        th class="py-2 pr-3" { "Worker" }
                        th class="py-2 pr-3 text-right" { "Tokens" }
                        th class="py-2 pr-3 text-right" { "Paid" }
                        th class="py-2 text-right" { "Tick" }
                    }
                }
                tbody class="divide-y divide-slate-800" {
                    @for j in jobs {
                        tr class="hover:bg-slate-800/40" {
                            td class="py-2 pr-3" { a class="font-medium text-violet-300 hover:underline" href=(format!("/jobs/{}", j.id)) { "#" (j.id) } }
                            td class="py-2 pr-3" { (badge(j.status.name())) }
                            td class="py-2 pr-3 text-slate-300" { (j.model_name.clone().unwrap_or_else(|| short(&j.spec.model.to_string()))) }
                            @if requester { td class="py-2 pr-3" { (who(&j.requester, false)) } }
                            td class="py-2 pr-3" { @if let Some(w) = j.worker { (who(&w, true)) } @else { span class="text-slate-600" { "—" } } }
                            td class="py-2 pr-3 text-right tabular-nums" { (j.output_tokens.map_or("—".to_string(), int)) }
                            td class="py-2 pr-3 text-right tabular-nums" { (int(j.paid.0)) }
                            td class="py-2 text-right tabular-nums text-slate-400" { a class="hover:underline" href=(format!("/ticks/{}", j.submitted_at.0)) { (j.submitted_at.0) } }
                        }
                    }
                }
            }
        }
    }
}

fn workers_table(workers: &[WorkerView]) -> Markup {
    if workers.is_empty() {
        return html! { p class="text-sm text-slate-500" { "No worker registered yet. Run " code class="text-slate-300" { "comqute worker setup" } "." } };
    }
    html! {
        div class="overflow-x-auto" {
            table class="w-full text-left text-sm" {
                thead class="text-xs uppercase text-slate-500" {
                    tr {
                        th class="py-2 pr-3" { "Worker" }
                        th class="py-2 pr-3" { "State" }
                        th class="py-2 pr-3" { "Models" }
                        th class="py-2 pr-3 text-right" { "Stake" }
                        th class="py-2 pr-3 text-right" { "Reputation" }
                        th class="py-2 text-right" { "Jobs" }
                    }
                }
                tbody class="divide-y divide-slate-800" {
                    @for w in workers {
                        tr class="hover:bg-slate-800/40" {
                            td class="py-2 pr-3" { (who(&w.id, true)) }
                            td class="py-2 pr-3" { (badge(if explorer::is_online(w) { "online" } else if w.status.name() == "Active" { "offline" } else { w.status.name() })) }
                            td class="py-2 pr-3 text-slate-300" { (w.capabilities.models.join(", ")) }
                            td class="py-2 pr-3 text-right tabular-nums" { (int(w.stake.0)) }
                            td class="py-2 pr-3 text-right tabular-nums" { (reputation(w.reputation)) }
                            td class="py-2 text-right tabular-nums" { (int(w.jobs_completed)) }
                        }
                    }
                }
            }
        }
    }
}

fn reputation(r: u16) -> String {
    format!("{}.{:02}%", r / 100, r % 100)
}

/// `GET /search?q=`: the one page a query names (a redirect), the list when several match,
/// a "not found" page when none does.
pub async fn search(State(s): State<Arc<NodeState>>, Query(p): Params) -> Response {
    let q = p.get("q").cloned().unwrap_or_default();
    let st = s.clone();
    let qq = q.clone();
    let found = match off(move || explorer::search(&st.chain, &qq)).await {
        Ok(f) => f,
        Err(e) => return e.into_response(),
    };
    // A worker also has an account page: the worker's page is the one meant.
    let meant: Vec<_> = found
        .hits
        .iter()
        .filter(|h| {
            !(h.kind == SearchKind::Identity
                && found.hits.iter().any(|o| o.kind == SearchKind::Worker))
        })
        .collect();
    // The most specific hit is the page meant (a number is a job before it is a tick:
    // `tick 5` asks for the tick); the JSON API lists them all.
    if let Some(first) = meant.first() {
        return Redirect::to(&first.page).into_response();
    }
    let body = page(
        "Search",
        Nav::None,
        devnet(&s),
        html! {
            (heading(&format!("Search: {}", found.query), None))
            div class="rounded-2xl border border-slate-800 bg-slate-900 p-6" data-not-found {
                p class="text-lg text-white" { "Nothing found for “" (found.query) "”." }
                p class="mt-2 text-sm text-slate-400" { "Search takes a job number (" code { "tick 5" } ", " code { "pool 5" } " for the others), a transaction id or result hash (60 lowercase letters), an identity (60 uppercase letters) or a model name." }
            }
        },
    );
    (axum::http::StatusCode::NOT_FOUND, body).into_response()
}

/// `GET /ticks/{n}`.
pub async fn tick(State(s): State<Arc<NodeState>>, Path(t): Path<String>) -> Page {
    let t: u32 = t.trim().parse().map_err(|_| {
        PageError(ServiceError::BadParam {
            name: "tick",
            detail: format!("{t:?} is not a tick number"),
        })
    })?;
    let st = s.clone();
    let v = off(move || explorer::tick(&st.chain, Tick(t))).await?;
    Ok(page(
        &format!("Tick {}", v.tick),
        Nav::Explorer,
        devnet(&s),
        html! {
            (heading(&format!("Tick {}", int(v.tick)), Some(html! { span class="text-sm text-slate-500" { "epoch " (v.epoch) } })))
            div class="mb-4 flex gap-2 text-sm" {
                @if v.tick > 0 { a class="rounded-lg border border-slate-700 px-3 py-1.5 hover:bg-slate-800" href=(format!("/ticks/{}", v.tick - 1)) { "← " (v.tick - 1) } }
                @if v.tick < v.last_processed { a class="rounded-lg border border-slate-700 px-3 py-1.5 hover:bg-slate-800" href=(format!("/ticks/{}", v.tick + 1)) { (v.tick + 1) " →" } }
            }
            (card("Digests", html! {
                dl {
                    (field("Tick digest", opt_hash(v.digest.as_ref())))
                    (field("State digest", opt_hash(v.state_digest.as_ref())))
                    (field("Receipts digest", opt_hash(v.receipts_digest.as_ref())))
                    (field("Events", html! { (int(v.event_count)) }))
                }
                @if v.digest.is_none() { p class="mt-2 text-xs text-slate-500" { "An idle tick: nothing ran, the digest chain carries over." } }
            }))
            div class="mt-4" {
                (card(&format!("Transactions ({})", v.transactions.len()), html! {
                    @if v.transactions.is_empty() { p class="text-sm text-slate-500" { "No transactions in this tick." } }
                    @else {
                        div class="overflow-x-auto" { table class="w-full text-left text-sm" {
                            thead class="text-xs uppercase text-slate-500" { tr {
                                th class="py-2 pr-3" { "Transaction" } th class="py-2 pr-3" { "Status" } th class="py-2 pr-3" { "From" } th class="py-2 pr-3" { "To" } th class="py-2 pr-3" { "Call" } th class="py-2 text-right" { "Amount" }
                            } }
                            tbody class="divide-y divide-slate-800" {
                                @for t in &v.transactions { tr {
                                    td class="py-2 pr-3" { a class="font-mono text-violet-300 hover:underline" href=(format!("/tx/{}", t.tx_id)) { (short(&t.tx_id)) } }
                                    td class="py-2 pr-3" { (badge(&t.status)) }
                                    td class="py-2 pr-3" { @if let Some(x) = t.source { (who(&x, false)) } }
                                    td class="py-2 pr-3" { @if let Some(x) = t.destination { (who(&x, false)) } }
                                    td class="py-2 pr-3 text-slate-300" { (t.procedure.clone().unwrap_or_else(|| if t.input_type == 0 { "transfer".into() } else { format!("#{}", t.input_type) })) }
                                    td class="py-2 text-right tabular-nums" { (int(t.amount.0)) }
                                } }
                            }
                        } }
                    }
                }))
            }
        },
    ))
}

fn opt_hash(h: Option<&Hash32>) -> Markup {
    match h {
        Some(h) => {
            html! { span class="break-all font-mono text-xs text-slate-300" { (h.to_string()) } }
        }
        None => html! { span class="text-slate-600" { "—" } },
    }
}

/// `GET /tx/{id}`.
pub async fn transaction(State(s): State<Arc<NodeState>>, Path(id): Path<String>) -> Page {
    let id = parse_hash(&id)?;
    let st = s.clone();
    let v = off(move || explorer::transaction(&st.chain, &id)).await?;
    let r = &v.receipt;
    Ok(page(
        "Transaction",
        Nav::Explorer,
        devnet(&s),
        html! {
            (heading("Transaction", Some(badge(&r.status))))
            (card("Summary", html! { dl {
                (field("Id", html! { span class="break-all font-mono text-xs" data-tx-id { (r.tx_id) } }))
                (field("Tick", html! { a class="text-violet-300 hover:underline" href=(format!("/ticks/{}", r.tick_number)) { (int(r.tick_number)) } }))
                @if let Some(x) = v.source { (field("From", who(&x, false))) }
                @if let Some(x) = v.destination { (field("To", html! { (who(&x, false)) @if let Some(c) = &v.contract { " " span class="text-slate-400" { "(contract " (c) ")" } } })) }
                (field("Amount", amount(v.amount)))
                (field("Call", html! { (r.procedure.clone().unwrap_or_else(|| if v.input_type == 0 { "transfer".into() } else { format!("procedure {}", v.input_type) })) }))
                (field("Money moved", html! { (if r.money_flew { "yes" } else { "no" }) }))
                @if let Some(e) = &r.error { (field("Failure reason", html! { span class="text-rose-300" data-failure { (e) } @if let Some(n) = &r.error_name { " " span class="text-xs text-slate-500" { "(" (n) ")" } } })) }
            } }))
            div class="mt-4 grid grid-cols-1 gap-4 lg:grid-cols-2" {
                (card("Input", html! {
                    @if let Some(i) = &v.input { (json(i)) }
                    @else if let Some(h) = &v.input_hex { pre class="overflow-auto rounded-lg bg-slate-950 p-3 font-mono text-xs" { (if h.is_empty() { "(empty)" } else { h }) } }
                    @else { p class="text-sm text-slate-500" { "This node did not receive this transaction itself (or it is older than the newest 20,000), so its input bytes are not kept; the receipt below is the chain's." } }
                }))
                (card("Output", html! {
                    @if let Some(o) = &r.output { (json(o)) }
                    @else if !r.output_hex.is_empty() { pre class="overflow-auto rounded-lg bg-slate-950 p-3 font-mono text-xs" { (r.output_hex) } }
                    @else { p class="text-sm text-slate-500" { "No output." } }
                }))
            }
            div class="mt-4" {
                (card(&format!("Events ({})", r.events.len()), html! {
                    @if r.events.is_empty() { p class="text-sm text-slate-500" { "No events." } }
                    @for e in &r.events {
                        div class="mb-2" { @if let Some(d) = &e.decoded { (json(d)) } @else { code class="text-xs" { (e.data_hex) } } }
                    }
                }))
            }
        },
    ))
}

/// `GET /jobs/{id}`: timeline, prompt and result with their hash checks, tokens (live while
/// streaming), payout and verification.
pub async fn job(State(s): State<Arc<NodeState>>, Path(id): Path<String>) -> Page {
    let id = parse_job_id("id", &id)?;
    let st = s.clone();
    let (j, prompt, result, tokens) = off(move || {
        let j = st.chain.job(id)?;
        let prompt = st.blobs.get(&j.spec.prompt_hash)?;
        let result = match &j.result {
            Some(r) => st.blobs.get(&r.result_hash)?,
            None => None,
        };
        let tokens = st.tokens.page(&st.chain, id).ok();
        Ok((j, prompt, result, tokens))
    })
    .await?;
    let streaming = crate::tokens::streaming(j.status);
    let steps: Vec<(&str, Option<Tick>)> = vec![
        ("Submitted", Some(j.submitted_at)),
        ("Assigned", j.assigned_at),
        ("Running", j.started_at),
        ("Result posted", j.completed_at),
        (
            if j.status == JobStatus::Finalized {
                "Finalized"
            } else {
                "Closed"
            },
            j.closed_at,
        ),
    ];
    Ok(page(
        &format!("Job {}", j.id),
        Nav::Explorer,
        devnet(&s),
        html! {
            (heading(&format!("Job #{}", j.id), Some(html! { span id="job-status" hx-get=(format!("/ui/jobs/{}/status", j.id)) hx-trigger=(if j.closed_at.is_none() { "every 1s" } else { "none" }) hx-swap="innerHTML" { (badge(j.status.name())) } })))
            (card("Lifecycle", html! {
                ol class="grid grid-cols-1 gap-2 sm:grid-cols-5" data-timeline {
                    @for (name, at) in &steps {
                        li class={"rounded-xl border px-3 py-2 " (if at.is_some() { "border-violet-500/50 bg-violet-500/10" } else { "border-slate-800 text-slate-500" })} {
                            div class="text-xs uppercase tracking-wide" { (name) }
                            div class="text-sm" { @if let Some(t) = at { a class="hover:underline" href=(format!("/ticks/{}", t.0)) { "tick " (int(t.0)) } } @else { "—" } }
                        }
                    }
                }
                @if let Some(r) = &j.reason { p class="mt-3 text-sm text-amber-300" data-reason { "Reason: " (r) } }
                @if let Some(d) = j.deadline { p class="mt-2 text-xs text-slate-500" { "Deadline: tick " (int(d.0)) } }
            }))
            div class="mt-4 grid grid-cols-1 gap-4 lg:grid-cols-3" {
                (card("Parties", html! { dl {
                    (field("Requester", who(&j.requester, false)))
                    (field("Worker", match j.worker { Some(w) => who(&w, true), None => html! { span class="text-slate-500" { "not assigned yet" } } }))
                    (field("Model", html! { (j.model_name.clone().unwrap_or_else(|| j.spec.model.to_string())) }))
                    (field("Max tokens", html! { (int(j.spec.max_output_tokens)) }))
                    (field("Temperature", html! { (format!("{}.{:03}", j.spec.sampling.temperature_milli / 1000, j.spec.sampling.temperature_milli % 1000)) }))
                    (field("Price ceiling / 1k", amount(j.spec.max_price_per_1k)))
                } }))
                (card("Payout", html! { dl data-payout {
                    (field("Escrow", amount(j.escrow)))
                    (field("Worker's price / 1k", amount(j.price_per_1k)))
                    (field("Charged", html! { span data-charged=(j.paid.0 + j.fee.0) { (amount(Amount(j.paid.0 + j.fee.0))) } }))
                    (field("Paid to the worker", html! { span data-paid=(j.paid.0) { (amount(j.paid)) } }))
                    (field("Verification fee", amount(j.fee)))
                    (field("Refunded", amount(j.refunded)))
                    (field("Slashed", amount(j.slashed)))
                } }))
                (card("Verification", html! { dl {
                    (field("Checked", html! { (if j.checked { "yes" } else { "no" }) }))
                    (field("Verdict", html! { @if let Some(v) = &j.verdict { (badge(&format!("{v:?}"))) } @else { span class="text-slate-500" { "none" } } }))
                    (field("Failures", html! { (j.failures) }))
                    @if let Some(r) = &j.result { (field("Runtime", hash(&r.runtime))) }
                } }))
            }
            div class="mt-4 grid grid-cols-1 gap-4 lg:grid-cols-2" {
                (card("Prompt", blob_view(prompt.as_deref(), &j.spec.prompt_hash, "prompt")))
                (card("Result", match &j.result {
                    Some(r) => html! {
                        (blob_view(result.as_deref(), &r.result_hash, "result"))
                        p class="mt-2 text-xs text-slate-500" { (int(r.output_tokens)) " output tokens" }
                    },
                    None => html! { p class="text-sm text-slate-500" { "No result posted yet." } },
                }))
            }
            div class="mt-4" {
                (card("Streamed tokens", html! {
                    pre id="tokens" data-job=(j.id) data-live=(if streaming { "true" } else { "false" })
                        data-from=(tokens.as_ref().map_or(0, |t| t.chunks.len()))
                        class="min-h-16 max-h-96 overflow-auto whitespace-pre-wrap rounded-lg bg-slate-950 p-3 font-mono text-sm text-emerald-200" {
                        (tokens.as_ref().map_or(String::new(), |t| t.text.clone()))
                    }
                    p id="tokens-state" class="mt-2 text-xs text-slate-500" {
                        @if streaming { "Streaming live from the worker…" }
                        @else if tokens.as_ref().is_some_and(|t| t.done) { "Stream complete." }
                        @else if tokens.is_some() { "Stream ended." }
                        @else { "No stream." }
                    }
                }))
            }
            div class="mt-4 text-xs text-slate-500" { "JSON: " a class="underline" href=(format!("/v1/jobs/{}", j.id)) { "/v1/jobs/" (j.id) } }
        },
    ))
}

fn blob_view(body: Option<&[u8]>, expected: &Hash32, what: &str) -> Markup {
    match body {
        None => html! {
            p class="text-sm text-slate-500" { "The " (what) " is not in this node's blob store." }
            p class="mt-1 text-xs text-slate-500" { "hash " (hash(expected)) }
        },
        Some(b) => {
            let ok = Hash32::of(b) == *expected;
            let text = String::from_utf8_lossy(b);
            html! {
                pre class="max-h-96 overflow-auto whitespace-pre-wrap rounded-lg bg-slate-950 p-3 text-sm text-slate-200" data-blob=(what) { (text) }
                p class="mt-2 text-xs" data-hash-check=(if ok { "ok" } else { "bad" }) {
                    @if ok { span class="text-emerald-300" { "✓ blake3 matches the on-chain hash " } }
                    @else { span class="text-rose-300" { "✗ blake3 does not match the on-chain hash " } }
                    (hash(expected))
                }
            }
        }
    }
}

/// `GET /workers`: every worker.
pub async fn workers(State(s): State<Arc<NodeState>>) -> Page {
    let st = s.clone();
    let ws = off(move || explorer::all_workers(&st.chain)).await?;
    Ok(page(
        "Workers",
        Nav::Worker,
        devnet(&s),
        html! { (heading("Workers", None)) (card(&format!("{} registered", ws.len()), workers_table(&ws))) },
    ))
}

/// `GET /workers/{id}`: stake, reputation, models, runtime, jobs, earnings, checks, and the
/// commands to run its daemon.
pub async fn worker(State(s): State<Arc<NodeState>>, Path(id): Path<String>) -> Page {
    let id = parse_identity(&id)?;
    let st = s.clone();
    let (w, earnings, jobs, balance) = off(move || {
        let w = st.chain.worker(&id)?;
        let e = explorer::earnings(&st.chain, &id)?;
        let filter = crate::wire::JobFilter {
            worker: Some(id),
            ..Default::default()
        };
        let mut jobs = explorer::all_jobs(&st.chain, &filter)?;
        jobs.reverse();
        jobs.truncate(20);
        let balance = st.chain.read(|l| l.balance(&id))?;
        Ok((w, e, jobs, balance))
    })
    .await?;
    let online = explorer::is_online(&w);
    let ids = id.to_string();
    Ok(page(
        "Worker",
        Nav::Worker,
        devnet(&s),
        html! {
            (heading(&format!("Worker #{}", w.number), Some(html! { (badge(if online { "online" } else { "offline" })) " " (badge(w.status.name())) })))
            p class="-mt-3 mb-4 break-all font-mono text-xs text-slate-400" data-worker-id { (ids) }
            div class="grid grid-cols-2 gap-3 md:grid-cols-4" {
                (stat("Stake", &int(w.stake.0)))
                (stat("Reputation", &reputation(w.reputation)))
                (stat("Earned", &int(earnings.earned.0)))
                (stat("Jobs done", &int(w.jobs_completed)))
            }
            div class="mt-4 grid grid-cols-1 gap-4 lg:grid-cols-3" {
                (card("Runtime", html! { dl {
                    (field("Models", html! { (w.capabilities.models.join(", ")) }))
                    (field("GPU", html! { (w.capabilities.gpu) " · " (int(w.capabilities.vram_mb)) " MB" }))
                    (field("Benchmark", html! { (int(w.capabilities.tokens_per_s)) " tokens/s" }))
                    (field("Price / 1k tokens", amount(w.capabilities.price_per_1k)))
                    (field("Concurrency", html! { (w.active_jobs) " of " (w.capabilities.max_concurrent) " busy" }))
                    (field("Last heartbeat", html! { "tick " (int(w.last_heartbeat.0)) }))
                    (field("Balance", amount(balance)))
                } }))
                (card("Record", html! { dl {
                    (field("Completed", html! { (int(w.jobs_completed)) }))
                    (field("Given up", html! { (int(w.jobs_failed)) }))
                    (field("Expired", html! { (int(w.jobs_expired)) }))
                    (field("Declined", html! { (int(w.jobs_declined)) }))
                    (field("Checks lost", html! { (int(w.checks_failed)) }))
                    (field("Slashed", amount(w.total_slashed)))
                    (field("Registered", html! { "tick " (int(w.registered_at.0)) }))
                } }))
                (card("Run the daemon", html! {
                    p class="text-sm text-slate-400" { "The browser does not run inference: the daemon does, next to your backend." }
                    p class="mt-3 text-xs uppercase text-slate-500" { "Set up (once)" }
                    pre class="mt-1 overflow-x-auto rounded-lg bg-slate-950 p-2 font-mono text-xs text-slate-200" { "comqute worker setup" }
                    p class="mt-3 text-xs uppercase text-slate-500" { "Start" }
                    pre class="mt-1 overflow-x-auto rounded-lg bg-slate-950 p-2 font-mono text-xs text-slate-200" { "comqute worker run --config worker.toml" }
                    p class="mt-3 text-xs uppercase text-slate-500" { "Stop" }
                    p class="mt-1 text-sm text-slate-400" { "Ctrl-C in its terminal: it finishes or hands back its jobs and signs off." }
                    p class="mt-3 text-xs uppercase text-slate-500" { "Status" }
                    pre class="mt-1 overflow-x-auto whitespace-pre-wrap break-all rounded-lg bg-slate-950 p-2 font-mono text-xs text-slate-200" { "comqute worker status " (ids) }
                }))
            }
            div class="mt-4" {
                (card("Earnings over time", html! {
                    div id="chart-earnings" class="h-48 w-full" data-worker=(ids) {}
                    @if earnings.jobs.is_empty() { p class="text-sm text-slate-500" { "No paid job yet." } }
                    p class="mt-2 text-xs" {
                        a class="text-violet-300 underline" href=(format!("/v1/workers/{ids}/earnings?format=csv")) download { "Download CSV" }
                        " · "
                        a class="text-violet-300 underline" href=(format!("/v1/workers/{ids}/earnings")) { "JSON" }
                    }
                }))
            }
            div class="mt-4" { (card("Latest jobs", jobs_table(&jobs, true))) }
        },
    ))
}

fn stat(label: &str, value: &str) -> Markup {
    html! {
        div class="rounded-2xl border border-slate-800 bg-slate-900/60 p-4" {
            div class="text-xs uppercase tracking-wide text-slate-500" { (label) }
            div class="mt-1 text-2xl font-semibold tabular-nums text-white" { (value) }
        }
    }
}

/// `GET /identities/{id}?status=&model=&fromTick=&toTick=&cursor=`: balance, roles, and the
/// job history with filters and its CSV export.
pub async fn identity(
    State(s): State<Arc<NodeState>>,
    Path(id): Path<String>,
    Query(p): Params,
) -> Page {
    let id = parse_identity(&id)?;
    let mut known = JOB_FILTERS.to_vec();
    known.push("cursor");
    only(&p, &known)?;
    let mut filter = job_filter(&p)?;
    filter.requester = Some(id);
    let cursor = match p.get("cursor").map(|c| c.trim()).filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => Some(c.parse::<u64>().map_err(|_| {
            PageError(ServiceError::BadParam {
                name: "cursor",
                detail: format!("{c:?} is not a cursor"),
            })
        })?),
    };
    let st = s.clone();
    let (v, page_jobs) = off(move || {
        let v = explorer::identity(&st.chain, &id)?;
        let page = st.chain.jobs(&filter, cursor, 50)?;
        Ok((v, page))
    })
    .await?;
    let ids = id.to_string();
    let mut export = vec![("requester".to_string(), ids.clone())];
    for k in ["status", "model", "fromTick", "toTick"] {
        if let Some(v) = p.get(k).filter(|v| !v.trim().is_empty()) {
            export.push((k.to_string(), v.trim().to_string()));
        }
    }
    let qs = |extra: &[(String, String)]| -> String {
        extra
            .iter()
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect::<Vec<_>>()
            .join("&")
    };
    let export_href = format!("/v1/jobs/export?{}", qs(&export));
    let next_href = page_jobs.next_cursor.map(|c| {
        let mut q = export[1..].to_vec();
        q.push(("cursor".into(), c.to_string()));
        format!("/identities/{ids}?{}", qs(&q))
    });
    let val = |k: &str| p.get(k).cloned().unwrap_or_default();
    Ok(page(
        "Account",
        Nav::History,
        devnet(&s),
        html! {
            (heading("Account", v.contract.as_ref().map(|c| badge(&format!("contract {c}")))))
            p class="-mt-3 mb-4 break-all font-mono text-xs text-slate-400" data-identity { (ids) }
            div class="grid grid-cols-2 gap-3 md:grid-cols-4" {
                (stat("Balance", &int(v.balance.0)))
                (stat("Received", &int(v.incoming.0)))
                (stat("Sent", &int(v.outgoing.0)))
                (stat("Jobs", &format!("{}{}", v.jobs_submitted, if v.more_jobs { "+" } else { "" })))
            }
            @if v.worker || !v.pools.is_empty() {
                div class="mt-3 flex flex-wrap gap-2 text-sm" {
                    @if v.worker { a class="rounded-lg border border-violet-500/50 px-3 py-1.5 text-violet-200 hover:bg-violet-600/20" href=(format!("/workers/{ids}")) { "Its worker page →" } }
                    @for pool in &v.pools { a class="rounded-lg border border-slate-700 px-3 py-1.5 hover:bg-slate-800" href=(format!("/pools/{}", pool.pool)) { "Operates pool " (pool.pool) } }
                }
            }
            div class="mt-4" id="jobs" {
                (card("Job history", html! {
                    form method="get" action=(format!("/identities/{ids}")) class="mb-3 grid grid-cols-2 gap-2 md:grid-cols-5" data-history-filters {
                        select name="status" class="rounded-lg border border-slate-700 bg-slate-950 px-2 py-1.5 text-sm" aria-label="Status" {
                            option value="" { "Any status" }
                            @for st in JobStatus::ALL { option value=(st.name()) selected[val("status").eq_ignore_ascii_case(st.name())] { (st.name()) } }
                        }
                        input name="model" value=(val("model")) placeholder="Model" class="rounded-lg border border-slate-700 bg-slate-950 px-2 py-1.5 text-sm" aria-label="Model";
                        input name="fromTick" value=(val("fromTick")) inputmode="numeric" placeholder="From tick" class="rounded-lg border border-slate-700 bg-slate-950 px-2 py-1.5 text-sm" aria-label="From tick";
                        input name="toTick" value=(val("toTick")) inputmode="numeric" placeholder="To tick" class="rounded-lg border border-slate-700 bg-slate-950 px-2 py-1.5 text-sm" aria-label="To tick";
                        button class="rounded-lg bg-violet-600 px-3 py-1.5 text-sm font-semibold text-white hover:bg-violet-500" { "Filter" }
                    }
                    (jobs_table(&page_jobs.jobs, false))
                    div class="mt-3 flex flex-wrap gap-3 text-sm" {
                        a id="export-csv" class="rounded-lg border border-emerald-500/50 px-3 py-1.5 text-emerald-200 hover:bg-emerald-600/20" href=(export_href) download { "Export CSV" }
                        @if let Some(n) = next_href { a class="rounded-lg border border-slate-700 px-3 py-1.5 hover:bg-slate-800" href=(n) { "Next page →" } }
                    }
                }))
            }
        },
    ))
}

/// Percent-encodes a query value.
fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `GET /pools`.
pub async fn pools(State(s): State<Arc<NodeState>>) -> Page {
    let st = s.clone();
    let list = off(move || {
        let mut out = Vec::new();
        let mut cursor = None;
        loop {
            let page = st.chain.pools(cursor, comqute_market::MAX_PAGE)?.0;
            out.extend(page.pools);
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => return Ok(out),
            }
        }
    })
    .await?;
    Ok(page(
        "Pools",
        Nav::Pools,
        devnet(&s),
        html! {
            (heading("Pools", None))
            (card(&format!("{} pools", list.len()), html! {
                @if list.is_empty() { p class="text-sm text-slate-500" { "No pool yet. " code class="text-slate-300" { "comqute pool create --fee-bps 500" } " opens one." } }
                @else { div class="overflow-x-auto" { table class="w-full text-left text-sm" {
                    thead class="text-xs uppercase text-slate-500" { tr { th class="py-2 pr-3" { "Pool" } th class="py-2 pr-3" { "Tier" } th class="py-2 pr-3" { "Operator" } th class="py-2 pr-3 text-right" { "Fee" } th class="py-2 pr-3" { "Scheme" } th class="py-2 text-right" { "Min stake" } } }
                    tbody class="divide-y divide-slate-800" { @for p in &list { tr {
                        td class="py-2 pr-3" { a class="text-violet-300 hover:underline" href=(format!("/pools/{}", p.id)) { "Pool " (p.id) } @if p.closed { " " (badge("closed")) } }
                        td class="py-2 pr-3" { (badge(&format!("{:?}", p.tier))) }
                        td class="py-2 pr-3" { (who(&p.operator, false)) }
                        td class="py-2 pr-3 text-right tabular-nums" { (format!("{}.{:02}%", p.fee_bps / 100, p.fee_bps % 100)) }
                        td class="py-2 pr-3 text-slate-300" { (format!("{:?}", p.scheme)) }
                        td class="py-2 text-right tabular-nums" { (int(p.min_member_stake.0)) }
                    } } }
                } } }
            }))
        },
    ))
}

/// `GET /pools/{id}`: tier, members and what the pool earned.
pub async fn pool(State(s): State<Arc<NodeState>>, Path(id): Path<String>) -> Page {
    let id: u64 = id.trim().parse().map_err(|_| {
        PageError(ServiceError::BadParam {
            name: "id",
            detail: format!("{id:?} is not a pool id"),
        })
    })?;
    let st = s.clone();
    let v = off(move || st.chain.pool(id)).await?.0;
    let p = &v.pool;
    Ok(page(
        &format!("Pool {}", p.id),
        Nav::Pools,
        devnet(&s),
        html! {
            (heading(&format!("Pool {}", p.id), Some(html! { (badge(&format!("{:?}", p.tier))) @if p.closed { " " (badge("closed")) } })))
            div class="grid grid-cols-2 gap-3 md:grid-cols-4" {
                (stat("Members", &int(v.members.len() as u64)))
                (stat("Paid out", &int(v.paid.0)))
                (stat("Fee", &format!("{}.{:02}%", p.fee_bps / 100, p.fee_bps % 100)))
                (stat("Deposit", &int(p.deposit.0)))
            }
            div class="mt-4 grid grid-cols-1 gap-4 lg:grid-cols-3" {
                (card("Terms", html! { dl {
                    (field("Operator", who(&p.operator, false)))
                    (field("Scheme", html! { (format!("{:?}", p.scheme)) }))
                    (field("Min member stake", amount(p.min_member_stake)))
                    (field("Average throughput", html! { (int(p.avg_milli_tokens / 1000)) " verified tokens / tick" }))
                    (field("Carried (not yet a whole unit)", amount(v.carried)))
                } }))
                div class="lg:col-span-2" {
                    (card("Members", html! {
                        @if v.members.is_empty() { p class="text-sm text-slate-500" { "No member yet." } }
                        @else { div class="overflow-x-auto" { table class="w-full text-left text-sm" {
                            thead class="text-xs uppercase text-slate-500" { tr { th class="py-2 pr-3" { "Worker" } th class="py-2 pr-3" { "State" } th class="py-2 pr-3 text-right" { "Stake" } th class="py-2 pr-3 text-right" { "Claimed" } th class="py-2 text-right" { "Owed" } } }
                            tbody class="divide-y divide-slate-800" { @for m in &v.members { tr {
                                td class="py-2 pr-3" { (who(&m.member.worker.0, true)) }
                                td class="py-2 pr-3" { (badge(&format!("{:?}", m.member.status))) }
                                td class="py-2 pr-3 text-right tabular-nums" { (int(m.member.stake.0)) }
                                td class="py-2 pr-3 text-right tabular-nums" { (int(m.member.claimed.0)) }
                                td class="py-2 text-right tabular-nums" { (int(m.owed.0)) }
                            } } }
                        } } }
                    }))
                }
            }
        },
    ))
}

/// `GET /large-jobs/{id}`: an auction and its parts, as the contract renders it.
pub async fn large_job(State(s): State<Arc<NodeState>>, Path(id): Path<String>) -> Page {
    let id: u64 = id.trim().parse().map_err(|_| {
        PageError(ServiceError::BadParam {
            name: "id",
            detail: format!("{id:?} is not a large job id"),
        })
    })?;
    let st = s.clone();
    let v = off(move || st.chain.large_job(id)).await?;
    let value = serde_json::to_value(&v).unwrap_or(serde_json::Value::Null);
    Ok(page(
        &format!("Large job {id}"),
        Nav::Explorer,
        devnet(&s),
        html! { (heading(&format!("Large job {id}"), None)) (card("As the job registry records it", json(&value))) },
    ))
}

/// `GET /models`: per-model workers, prices, latency and volume.
pub async fn models(State(s): State<Arc<NodeState>>) -> Page {
    let st = s.clone();
    let m = off(move || st.observer.models(&st.chain)).await?;
    let p =
        |v: Option<u32>, unit: &str| v.map_or("—".to_string(), |v| format!("{} {unit}", int(v)));
    Ok(page(
        "Models",
        Nav::Models,
        devnet(&s),
        html! {
            (heading("Models", None))
            @if m.models.is_empty() { (card("No model yet", html! { p class="text-sm text-slate-500" { "Models appear when a worker registers one." } })) }
            div class="grid grid-cols-1 gap-4 md:grid-cols-2 xl:grid-cols-3" data-models {
                @for x in &m.models {
                    section id=(x.model) class="rounded-2xl border border-slate-800 bg-slate-900/60 p-4" {
                        div class="flex items-center justify-between gap-2" {
                            h2 class="break-all text-lg font-semibold text-white" { (x.model) }
                            (badge(&format!("{} online", x.workers_online)))
                        }
                        dl class="mt-2" {
                            (field("Workers", html! { (x.workers) }))
                            (field("Lowest price / 1k", html! { @if let Some(a) = x.min_price_per_1k { (amount(a)) } @else { "—" } }))
                            (field("Oracle median / 1k", html! { @if let Some(a) = x.median_price_per_1k { (amount(a)) } @else { span class="text-slate-500" { "not published yet" } } }))
                            (field("Time to first token", html! { "p50 " (p(x.ttft_ms.p50, "ms")) " · p90 " (p(x.ttft_ms.p90, "ms")) }))
                            (field("Tokens / s", html! { "p50 " (p(x.tokens_per_s.p50, "")) " · p90 " (p(x.tokens_per_s.p90, "")) }))
                            (field("Jobs served", html! { (int(x.jobs_served)) }))
                            (field("Jobs per epoch", html! {
                                @if x.jobs_per_epoch.is_empty() { "—" }
                                @for e in x.jobs_per_epoch.iter().rev().take(4) { span class="mr-2" { "e" (e.epoch) ": " (int(e.jobs)) } }
                            }))
                        }
                        a class="mt-3 inline-block rounded-lg bg-violet-600 px-3 py-1.5 text-sm font-semibold text-white hover:bg-violet-500" href=(format!("/submit?model={}", urlencode(&x.model))) { "Submit a job" }
                    }
                }
            }
            p class="mt-4 text-xs text-slate-500" { "Latency figures are this node's observations since it started (" (m.models.iter().map(|x| x.ttft_ms.samples).sum::<u32>()) " jobs measured); workers, prices and job counts are the chain's." }
        },
    ))
}

/// `GET /network`: the live graph of workers and requesters.
pub async fn network(State(s): State<Arc<NodeState>>) -> Page {
    Ok(page(
        "Network",
        Nav::Network,
        devnet(&s),
        html! {
            (heading("Network", Some(html! { span class="text-sm text-slate-500" { "workers (inner ring) and requesters (outer ring); each line is a job" } })))
            div class="rounded-2xl border border-slate-800 bg-slate-900/60 p-2" {
                canvas id="network" class="h-[28rem] w-full md:h-[36rem]" aria-label="Network graph" {}
            }
            div class="mt-3 flex flex-wrap gap-4 text-xs text-slate-400" id="network-legend" {
                span { span class="mr-1 inline-block h-2 w-2 rounded-full bg-emerald-400" {} "worker online" }
                span { span class="mr-1 inline-block h-2 w-2 rounded-full bg-slate-500" {} "worker offline" }
                span { span class="mr-1 inline-block h-2 w-2 rounded-full bg-violet-400" {} "requester" }
                span { span class="mr-1 inline-block h-0.5 w-4 bg-sky-400 align-middle" {} "running" }
                span { span class="mr-1 inline-block h-0.5 w-4 bg-emerald-400 align-middle" {} "finalized" }
                span { span class="mr-1 inline-block h-0.5 w-4 bg-amber-400 align-middle" {} "open" }
                span { span class="mr-1 inline-block h-0.5 w-4 bg-rose-400 align-middle" {} "failed / expired" }
                span id="network-summary" class="ml-auto" {}
            }
        },
    ))
}

// --- the requester ------------------------------------------------------------------------

/// `GET /submit[?model=]`: the job form (model from what online workers serve, templates,
/// a cost estimate), then the job's tokens live and its settlement.
pub async fn submit(State(s): State<Arc<NodeState>>, Query(p): Params) -> Page {
    let st = s.clone();
    let m = off(move || st.observer.models(&st.chain)).await?;
    let online: Vec<_> = m.models.iter().filter(|x| x.workers_online > 0).collect();
    let chosen = p.get("model").cloned();
    let data = json!({
        "models": online.iter().map(|x| json!({
            "name": x.model,
            "id": x.model_id.to_string(),
            "minPrice": x.min_price_per_1k.map(|a| a.0.to_string()),
            "medianPrice": x.median_price_per_1k.map(|a| a.0.to_string()),
            "workers": x.workers_online,
        })).collect::<Vec<_>>(),
        "tickMs": s.config.tick_ms,
    });
    Ok(page(
        "Submit a job",
        Nav::Submit,
        devnet(&s),
        html! {
            (heading("Submit a job", None))
            (data_script("submit-data", &data))
            div class="grid grid-cols-1 gap-4 lg:grid-cols-5" {
                form id="submit-form" class="space-y-3 rounded-2xl border border-slate-800 bg-slate-900/60 p-4 lg:col-span-3" novalidate {
                    p id="submit-error" role="alert" class="hidden rounded-lg border border-rose-500/40 bg-rose-500/10 px-3 py-2 text-sm text-rose-300" {}
                    label class="block text-sm" {
                        span class="text-slate-400" { "Model" }
                        select id="submit-model" name="model" required class="mt-1 w-full rounded-lg border border-slate-700 bg-slate-950 px-3 py-2" {
                            @if online.is_empty() { option value="" { "No worker online" } }
                            @for x in &online {
                                option value=(x.model) selected[chosen.as_deref() == Some(x.model.as_str())] { (x.model) " · " (x.workers_online) " online" }
                            }
                        }
                    }
                    div class="flex flex-wrap items-end gap-2" {
                        label class="block flex-1 text-sm" {
                            span class="text-slate-400" { "Template" }
                            select id="submit-template" class="mt-1 w-full rounded-lg border border-slate-700 bg-slate-950 px-3 py-2" { option value="" { "— none —" } }
                        }
                        button id="template-save" type="button" class="rounded-lg border border-slate-700 px-3 py-2 text-sm hover:bg-slate-800" { "Save prompt as template" }
                        button id="template-delete" type="button" class="hidden rounded-lg border border-rose-500/40 px-3 py-2 text-sm text-rose-300 hover:bg-rose-500/10" { "Delete template" }
                    }
                    div id="template-vars" class="grid grid-cols-1 gap-2 sm:grid-cols-2" {}
                    label class="block text-sm" {
                        span class="text-slate-400" { "Prompt" }
                        textarea id="submit-prompt" name="prompt" rows="6" required maxlength="65536" class="mt-1 w-full rounded-lg border border-slate-700 bg-slate-950 px-3 py-2 font-mono text-sm" placeholder="Ask anything…" {}
                    }
                    div class="grid grid-cols-1 gap-3 sm:grid-cols-3" {
                        label class="block text-sm" { span class="text-slate-400" { "Max tokens" }
                            input id="submit-max-tokens" name="maxTokens" type="number" min="1" max="4096" value="64" required class="mt-1 w-full rounded-lg border border-slate-700 bg-slate-950 px-3 py-2"; }
                        label class="block text-sm" { span class="text-slate-400" { "Temperature" }
                            input id="submit-temperature" name="temperature" type="number" min="0" max="2" step="0.1" value="0" required class="mt-1 w-full rounded-lg border border-slate-700 bg-slate-950 px-3 py-2"; }
                        label class="block text-sm" { span class="text-slate-400" { "Price ceiling / 1k" }
                            input id="submit-price" name="price" type="number" min="1" step="1" required class="mt-1 w-full rounded-lg border border-slate-700 bg-slate-950 px-3 py-2"; }
                    }
                    div id="submit-estimate" class="rounded-lg border border-slate-800 bg-slate-950/60 px-3 py-2 text-sm text-slate-300" { "Pick a model to see the cost." }
                    button id="submit-go" type="submit" class="w-full rounded-lg bg-violet-600 px-4 py-2.5 font-semibold text-white hover:bg-violet-500 disabled:cursor-not-allowed disabled:opacity-50" { "Sign and submit" }
                    p class="text-xs text-slate-500" { "Your browser uploads the prompt, builds the transaction, signs it with your seed and broadcasts it. The escrow is locked until the job settles; what is not charged comes back." }
                }
                div class="space-y-4 lg:col-span-2" {
                    section id="submit-progress" class="hidden rounded-2xl border border-slate-800 bg-slate-900/60 p-4" {
                        h2 class="mb-2 text-sm font-semibold uppercase tracking-wide text-slate-400" { "Your job" }
                        ol id="submit-steps" class="space-y-1 text-sm" {}
                        pre id="submit-tokens" class="mt-3 min-h-24 max-h-80 overflow-auto whitespace-pre-wrap rounded-lg bg-slate-950 p-3 font-mono text-sm text-emerald-200" {}
                        dl id="submit-outcome" class="mt-3 hidden text-sm" {}
                    }
                    (card("How it settles", html! {
                        ul class="list-disc space-y-1 pl-5 text-sm text-slate-400" {
                            li { "A worker serving the model claims the job and streams tokens here." }
                            li { "It posts the result's hash on chain; you pay its price for the tokens produced." }
                            li { "A result may be checked by other workers; a wrong one is slashed and refunded." }
                        }
                    }))
                }
            }
        },
    ))
}

/// `GET /history[?identity=]`: the requester's jobs (the wallet's identity, or one given).
pub async fn history(State(s): State<Arc<NodeState>>, Query(p): Params) -> Response {
    if let Some(id) = p
        .get("identity")
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
    {
        return match parse_identity(id) {
            Ok(id) => Redirect::to(&format!("/identities/{id}#jobs")).into_response(),
            Err(e) => PageError(e).into_response(),
        };
    }
    page(
        "My jobs",
        Nav::History,
        devnet(&s),
        identity_form(
            "My jobs",
            "/history",
            "Your job history, with filters and a CSV export. Connect your wallet or paste an identity.",
        ),
    )
    .into_response()
}

/// `GET /worker[?identity=]`: the worker's dashboard (its page), for the wallet's identity or
/// one given.
pub async fn worker_dashboard(State(s): State<Arc<NodeState>>, Query(p): Params) -> Response {
    if let Some(id) = p
        .get("identity")
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
    {
        return match parse_identity(id) {
            Ok(id) => Redirect::to(&format!("/workers/{id}")).into_response(),
            Err(e) => PageError(e).into_response(),
        };
    }
    let st = s.clone();
    let ws = match off(move || explorer::all_workers(&st.chain)).await {
        Ok(w) => w,
        Err(e) => return e.into_response(),
    };
    page(
        "Worker",
        Nav::Worker,
        devnet(&s),
        html! {
            (identity_form("Worker dashboard", "/worker", "Status, stake, reputation, jobs and earnings of a worker. Connect the worker's wallet or paste its identity."))
            div class="mt-4" { (card("Become a worker", html! {
                p class="text-sm text-slate-400" { "Run these next to Ollama, a llama.cpp server, or nothing at all (the built-in model):" }
                pre class="mt-2 overflow-x-auto rounded-lg bg-slate-950 p-3 font-mono text-xs text-slate-200" { "comqute worker setup        # backend, model, key, stake, price; registers\ncomqute worker run --config worker.toml" }
            })) }
            div class="mt-4" { (card("All workers", workers_table(&ws))) }
        },
    )
    .into_response()
}

fn identity_form(title: &str, action: &str, help: &str) -> Markup {
    html! {
        (heading(title, None))
        form method="get" action=(action) class="flex flex-col gap-2 rounded-2xl border border-slate-800 bg-slate-900/60 p-4 sm:flex-row" data-identity-form {
            input name="identity" required minlength="60" maxlength="60" spellcheck="false" placeholder="Identity (60 uppercase letters)" class="flex-1 rounded-lg border border-slate-700 bg-slate-950 px-3 py-2 font-mono text-sm" aria-label="Identity";
            button class="rounded-lg bg-violet-600 px-4 py-2 text-sm font-semibold text-white hover:bg-violet-500" { "Open" }
        }
        p class="mt-2 text-sm text-slate-500" { (help) }
    }
}

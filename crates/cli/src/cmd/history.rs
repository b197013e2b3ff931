//! `comqute job history` and `comqute worker earnings`: every page of an identity's jobs, as
//! a table, JSON or CSV (one row per job, the same figures as the node's API).

use std::collections::BTreeMap;

use anyhow::{anyhow, Result};
use clap::Args;
use comqute_sdk::contracts::job_registry::{Job, JobStatus};
use comqute_sdk::wire::explorer::{
    earnings_csv_row, job_csv_row, EarningsPoint, EARNINGS_CSV_HEADER, JOBS_CSV_HEADER,
};
use comqute_sdk::wire::JobView;
use comqute_sdk::{Client, Hash32, Identity, JobFilter};
use serde_json::json;

use super::global::{identity, Global};
use super::print_json;

/// `comqute job history`.
#[derive(Args)]
pub struct HistoryArgs {
    /// Whose jobs (default: `--key`'s identity).
    #[arg(long)]
    requester: Option<String>,
    /// Only jobs in this status (Open, Finalized, …).
    #[arg(long)]
    status: Option<String>,
    /// Print CSV (a header, then a row per job).
    #[arg(long, conflicts_with = "json")]
    csv: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// `comqute worker earnings`.
#[derive(Args)]
pub struct EarningsArgs {
    /// The worker (default: `--key`'s identity).
    worker: Option<String>,
    /// Print CSV (a header, then a row per paid job with the running total).
    #[arg(long, conflicts_with = "json")]
    csv: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Every job the filter selects, page after page.
async fn all_jobs(client: &Client, filter: &JobFilter) -> Result<Vec<Job>> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = client.jobs().list(filter, cursor, 100).await?;
        out.extend(page.jobs);
        match page.next_cursor {
            Some(c) => cursor = Some(c.0),
            None => return Ok(out),
        }
    }
}

/// Model names by id, as workers declared them (`None`: never declared).
async fn names(client: &Client, jobs: &[Job]) -> BTreeMap<Hash32, String> {
    let mut out = BTreeMap::new();
    for j in jobs {
        if out.contains_key(&j.spec.model) {
            continue;
        }
        if let Ok(Some(n)) = client.workers().model_name(j.spec.model).await {
            out.insert(j.spec.model, n);
        }
    }
    out
}

fn who(g: &Global, given: Option<&str>) -> Result<Identity> {
    match given {
        Some(s) => identity(s),
        None => Ok(g
            .keypair()
            .map_err(|e| {
                anyhow!("{e}; or name the identity (--requester ID / worker earnings ID)")
            })?
            .identity()),
    }
}

/// The node's CSV row of a job (the same bytes as `GET /v1/jobs/export`).
fn row(j: &Job, names: &BTreeMap<Hash32, String>) -> String {
    job_csv_row(&JobView::new(j, names.get(&j.spec.model).cloned()))
}

/// A requester's jobs.
pub async fn history(g: &Global, client: &Client, a: HistoryArgs) -> Result<()> {
    let requester = who(g, a.requester.as_deref())?;
    let status = a
        .status
        .as_deref()
        .map(|s| comqute_sdk::wire::parse_status(s).ok_or_else(|| anyhow!("unknown status {s:?}")))
        .transpose()?;
    let filter = JobFilter {
        status,
        requester: Some(requester),
        ..JobFilter::default()
    };
    let jobs = all_jobs(client, &filter).await?;
    let names = names(client, &jobs).await;
    if a.csv {
        println!("{JOBS_CSV_HEADER}");
        for j in &jobs {
            println!("{}", row(j, &names));
        }
    } else if a.json {
        let views: Vec<_> = jobs
            .iter()
            .map(|j| comqute_sdk::wire::JobView::new(j, names.get(&j.spec.model).cloned()))
            .collect();
        print_json(&json!({ "requester": requester.to_string(), "jobs": views }));
    } else if jobs.is_empty() {
        println!("no jobs of {requester}");
    } else {
        let spent: i64 = jobs.iter().map(|j| j.paid.0 + j.fee.0).sum();
        for j in &jobs {
            println!(
                "{:>6}  {:<10} {:<20} paid {:>8} fee {:>6} refunded {:>8}",
                j.id.0,
                j.status.name(),
                names.get(&j.spec.model).map_or("?", String::as_str),
                j.paid,
                j.fee,
                j.refunded
            );
        }
        println!("{} jobs, {spent} units spent", jobs.len());
    }
    Ok(())
}

/// A worker's paid jobs, oldest first, with the running total.
pub async fn earnings(g: &Global, client: &Client, a: EarningsArgs) -> Result<()> {
    let worker = who(g, a.worker.as_deref())?;
    let filter = JobFilter {
        worker: Some(worker),
        ..JobFilter::default()
    };
    let mut jobs: Vec<Job> = all_jobs(client, &filter)
        .await?
        .into_iter()
        .filter(|j| j.paid.0 > 0)
        .collect();
    jobs.sort_by_key(|j| (j.closed_at.map_or(u32::MAX, |t| t.0), j.id.0));
    let names = names(client, &jobs).await;
    let mut total = 0i64;
    let rows: Vec<(&Job, i64)> = jobs
        .iter()
        .map(|j| {
            total += j.paid.0;
            (j, total)
        })
        .collect();
    if a.csv {
        println!("{EARNINGS_CSV_HEADER}");
        for (j, t) in &rows {
            let model = names
                .get(&j.spec.model)
                .cloned()
                .unwrap_or_else(|| j.spec.model.to_string());
            println!(
                "{}",
                earnings_csv_row(&EarningsPoint {
                    job_id: j.id.0,
                    closed_at: j.closed_at,
                    model,
                    output_tokens: j.result.map_or(0, |r| r.output_tokens),
                    paid: j.paid,
                    total: comqute_sdk::Amount(*t),
                    finalized: j.status == JobStatus::Finalized,
                })
            );
        }
    } else if a.json {
        let series: Vec<_> = rows
            .iter()
            .map(|(j, t)| {
                json!({
                    "jobId": j.id.0.to_string(),
                    "closedAt": j.closed_at.map(|t| t.0),
                    "paid": j.paid.0.to_string(),
                    "total": t.to_string(),
                    "finalized": j.status == JobStatus::Finalized,
                })
            })
            .collect();
        print_json(&json!({
            "worker": worker.to_string(), "earned": total.to_string(), "jobs": series,
        }));
    } else {
        println!(
            "{worker}: {total} units earned over {} paid jobs",
            rows.len()
        );
    }
    Ok(())
}

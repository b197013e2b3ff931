//! The marketplace JSON API for apps and explorers: jobs (filtered, paged), one job, its
//! escrow, workers serving a model, one worker, network statistics, and receipts. Every view
//! comes from the contracts' own functions and is rendered by [`crate::wire`] (camelCase,
//! 64-bit numbers as strings).
//!
//! | route | answer |
//! |---|---|
//! | `GET /v1/jobs?status=&requester=&worker=&cursor=&limit=` | [`JobsPage`] |
//! | `GET /v1/jobs/{id}` | [`JobView`] (with `modelName`) |
//! | `GET /v1/jobs/{id}/escrow` | [`JobEscrowView`] |
//! | `GET /v1/workers?model=NAME \| modelId=HASH&cursor=&limit=` | [`WorkersPage`] |
//! | `GET /v1/workers/{identity}` | [`WorkerView`] |
//! | `GET /v1/stats` | [`NetworkStatsView`] |
//! | `GET /v1/contracts` | [`ContractsResponse`]: every contract as it describes itself |
//! | `GET /v1/receipts/{txId}` | [`ReceiptResponse`] |

use std::collections::HashMap;
use std::sync::Arc;

use super::AreaRouter;
use crate::wire::routes;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::Json;
use comqute_contracts::escrow::JobEscrow;
use comqute_contracts::job_registry::{
    Job, JobPage, JobRef, JobStatus, JobsByRequester, JobsByStatus, JobsByWorker, NetworkStats,
    GET_JOB, JOBS_BY_REQUESTER, JOBS_BY_STATUS, JOBS_BY_WORKER, JOB_ESCROW, NETWORK_STATS,
};
use comqute_contracts::marketplace::{model_id, JOB_REGISTRY, MAX_PAGE, WORKER_REGISTRY};
use comqute_contracts::worker_registry::{
    WorkerInfo, WorkerPage, WorkerQuery, WorkersByModel, GET_WORKER, MODEL_NAME, WORKERS_BY_MODEL,
};
use comqute_contracts::{Hash32, Identity};
use comqute_ledger::Ledger;

use super::{parse_hash, parse_identity, QueryParams};
use crate::error::ApiError;
use crate::wire::{
    self, ContractView, ContractsResponse, JobEscrowView, JobView, JobsPage, NetworkStatsView,
    ReceiptResponse, WorkerView, WorkersPage,
};
use crate::Shared;

type Params = QueryParams<HashMap<String, String>>;

/// Refuses query parameters the endpoint does not know (a typo would otherwise widen the
/// filter silently).
fn only(p: &HashMap<String, String>, known: &[&'static str]) -> Result<(), ApiError> {
    match p.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(ApiError::BadParam {
            name: "query",
            detail: format!("unknown parameter {k:?}; known: {}", known.join(", ")),
        }),
        None => Ok(()),
    }
}

/// A job id from a path or query: a positive decimal u64.
pub fn parse_job_id(name: &'static str, s: &str) -> Result<u64, ApiError> {
    s.trim()
        .parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| ApiError::BadParam {
            name,
            detail: format!("{s:?} is not a job id (a positive integer)"),
        })
}

/// `limit` (1 to 100, default 20) and `cursor` (a number) from a query.
fn paging(p: &HashMap<String, String>) -> Result<(Option<u64>, u16), ApiError> {
    let limit = match p.get("limit") {
        None => 20,
        Some(l) => l
            .trim()
            .parse::<u16>()
            .ok()
            .filter(|n| (1..=MAX_PAGE).contains(n))
            .ok_or_else(|| ApiError::BadParam {
                name: "limit",
                detail: format!("{l:?} is not between 1 and {MAX_PAGE}"),
            })?,
    };
    let cursor = match p.get("cursor") {
        None => None,
        Some(c) if c.is_empty() => None,
        Some(c) => Some(c.trim().parse::<u64>().map_err(|_| ApiError::BadParam {
            name: "cursor",
            detail: format!("{c:?} is not a cursor (a number from a nextCursor)"),
        })?),
    };
    Ok((cursor, limit))
}

/// `GET /v1/contracts`: every contract as it describes itself, ascending by index
/// ([`comqute_contracts::qpi::Contract::meta`]).
pub async fn contracts(State(s): State<Arc<Shared>>) -> Result<Json<ContractsResponse>, ApiError> {
    let chain = s.chain()?;
    let contracts = chain
        .ledger()
        .registry()
        .ascending()
        .map(|c| ContractView::new(c.as_ref()))
        .collect();
    Ok(Json(ContractsResponse { contracts }))
}

/// A job's view with `modelName`: the name the worker registry knows for its model id, or
/// null when no worker ever declared it.
pub fn job_view(l: &Ledger, job: &Job) -> Result<JobView, ApiError> {
    let name: Option<String> = l.query(WORKER_REGISTRY, MODEL_NAME, &job.spec.model)?;
    Ok(JobView::new(job, name))
}

/// A job, or 404.
pub fn get_job(l: &Ledger, id: u64) -> Result<Job, ApiError> {
    l.query::<JobRef, Option<Job>>(JOB_REGISTRY, GET_JOB, &JobRef { job_id: id })?
        .ok_or_else(|| ApiError::NotFound(format!("no job {id}")))
}

/// Jobs filtered by status, requester and worker, ascending by id: the walk of
/// [`wire::JobFilter::index`] (the SDK's listing walks the same), filtered by
/// [`wire::JobFilter::matches`], so a page may hold fewer than `limit` jobs when filters
/// combine: follow `nextCursor` until it is null.
pub fn list_jobs(
    l: &Ledger,
    status: Option<JobStatus>,
    requester: Option<Identity>,
    worker: Option<Identity>,
    cursor: Option<u64>,
    limit: u16,
) -> Result<(Vec<Job>, Option<u64>), ApiError> {
    let filter = wire::JobFilter {
        status,
        requester,
        worker,
    };
    let page: JobPage = match filter.index() {
        wire::JobIndex::Requester(r) => l.query(
            JOB_REGISTRY,
            JOBS_BY_REQUESTER,
            &JobsByRequester {
                requester: r,
                cursor,
                limit,
            },
        )?,
        wire::JobIndex::Worker(w) => l.query(
            JOB_REGISTRY,
            JOBS_BY_WORKER,
            &JobsByWorker {
                worker: w,
                cursor,
                limit,
            },
        )?,
        wire::JobIndex::Status(st) => l.query(
            JOB_REGISTRY,
            JOBS_BY_STATUS,
            &JobsByStatus {
                status: st,
                cursor,
                limit,
            },
        )?,
        wire::JobIndex::Ids => {
            let stats: NetworkStats = l.query(JOB_REGISTRY, NETWORK_STATS, &())?;
            let (ids, next_cursor) = wire::id_page(cursor, limit, stats.jobs.submitted);
            let mut jobs = Vec::new();
            for id in ids {
                if let Some(j) =
                    l.query::<JobRef, Option<Job>>(JOB_REGISTRY, GET_JOB, &JobRef { job_id: id })?
                {
                    jobs.push(j);
                }
            }
            JobPage { jobs, next_cursor }
        }
    };
    let jobs = page
        .jobs
        .into_iter()
        .filter(|j| filter.matches(j))
        .collect();
    Ok((jobs, page.next_cursor))
}

/// `GET /v1/jobs?status=NAME&requester=ID&worker=ID&cursor=N&limit=M`.
pub async fn jobs(
    State(s): State<Arc<Shared>>,
    QueryParams(p): Params,
) -> Result<Json<JobsPage>, ApiError> {
    only(&p, &["status", "requester", "worker", "cursor", "limit"])?;
    let status = match p.get("status") {
        None => None,
        Some(v) => Some(wire::parse_status(v).ok_or_else(|| ApiError::BadParam {
            name: "status",
            detail: format!(
                "{v:?} is not one of {}",
                JobStatus::ALL.map(|s| s.name()).join(", ")
            ),
        })?),
    };
    let requester = p.get("requester").map(|v| parse_identity(v)).transpose()?;
    let worker = p.get("worker").map(|v| parse_identity(v)).transpose()?;
    let (cursor, limit) = paging(&p)?;
    let chain = s.chain()?;
    let l = chain.ledger();
    let (jobs, next_cursor) = list_jobs(l, status, requester, worker, cursor, limit)?;
    let jobs = jobs
        .iter()
        .map(|j| job_view(l, j))
        .collect::<Result<_, _>>()?;
    Ok(Json(JobsPage { jobs, next_cursor }))
}

/// `GET /v1/jobs/{id}`.
pub async fn job(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Result<Json<JobView>, ApiError> {
    let id = parse_job_id("id", &id)?;
    let chain = s.chain()?;
    let job = get_job(chain.ledger(), id)?;
    Ok(Json(job_view(chain.ledger(), &job)?))
}

/// `GET /v1/jobs/{id}/escrow`: the job's account in the escrow vault.
pub async fn job_escrow(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Result<Json<JobEscrowView>, ApiError> {
    let id = parse_job_id("id", &id)?;
    let e: Option<JobEscrow> =
        s.chain()?
            .ledger()
            .query(JOB_REGISTRY, JOB_ESCROW, &JobRef { job_id: id })?;
    let e = e.ok_or_else(|| ApiError::NotFound(format!("no escrow for job {id}")))?;
    Ok(Json(JobEscrowView::from(&e)))
}

/// The model filter of `/v1/workers`: `model` (a name, hashed) or `modelId` (a hash).
fn model_param(p: &HashMap<String, String>) -> Result<Hash32, ApiError> {
    match (p.get("model"), p.get("modelId")) {
        (Some(name), None) if !name.trim().is_empty() => Ok(model_id(name.trim())),
        (None, Some(h)) => parse_hash(h),
        _ => Err(ApiError::BadParam {
            name: "model",
            detail: "give exactly one of model (a name) or modelId (its hash)".into(),
        }),
    }
}

/// `GET /v1/workers?model=NAME&cursor=N&limit=M` (or `modelId=HASH`).
pub async fn workers(
    State(s): State<Arc<Shared>>,
    QueryParams(p): Params,
) -> Result<Json<WorkersPage>, ApiError> {
    only(&p, &["model", "modelId", "cursor", "limit"])?;
    let model = model_param(&p)?;
    let (cursor, limit) = paging(&p)?;
    let page: WorkerPage = s.chain()?.ledger().query(
        WORKER_REGISTRY,
        WORKERS_BY_MODEL,
        &WorkersByModel {
            model,
            cursor,
            limit,
        },
    )?;
    Ok(Json(WorkersPage {
        workers: page.workers.iter().map(WorkerView::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// `GET /v1/workers/{identity}`.
pub async fn worker(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Result<Json<WorkerView>, ApiError> {
    let id = parse_identity(&id)?;
    let info: Option<WorkerInfo> =
        s.chain()?
            .ledger()
            .query(WORKER_REGISTRY, GET_WORKER, &WorkerQuery { worker: id })?;
    let info = info.ok_or_else(|| ApiError::NotFound(format!("no worker {id}")))?;
    Ok(Json(WorkerView::from(&info)))
}

/// `GET /v1/stats`: jobs per status, money totals, workers (online included).
pub async fn stats(State(s): State<Arc<Shared>>) -> Result<Json<NetworkStatsView>, ApiError> {
    let c = s.chain()?;
    let l = c.ledger();
    let st: NetworkStats = l.query(JOB_REGISTRY, NETWORK_STATS, &())?;
    let tick = l.next_tick().0.saturating_sub(1);
    Ok(Json(NetworkStatsView::new(&st, tick)))
}

/// `GET /v1/receipts/{txId}`: status, output and events of a transaction.
pub async fn receipt(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Result<Json<ReceiptResponse>, ApiError> {
    let id = parse_hash(&id)?;
    let receipt = s
        .chain()?
        .receipt(&id)?
        .ok_or_else(|| ApiError::NotFound(format!("no transaction {id}")))?;
    Ok(Json(ReceiptResponse { receipt }))
}

/// The marketplace API.
pub fn router() -> AreaRouter {
    AreaRouter::new()
        .route(routes::JOBS, get(jobs))
        .route(routes::JOB, get(job))
        .route(routes::JOB_ESCROW, get(job_escrow))
        .route(routes::WORKERS, get(workers))
        .route(routes::WORKER, get(worker))
        .route(routes::STATS, get(stats))
        .route(routes::CONTRACTS, get(contracts))
        .route(routes::RECEIPT, get(receipt))
}

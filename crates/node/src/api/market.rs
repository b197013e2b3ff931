//! The marketplace JSON API for apps and explorers: jobs (filtered, paged), one job, its
//! escrow, workers serving a model, one worker, network statistics, the contracts, and
//! receipts. Every view comes from [`crate::chain::ChainService`] and is a [`crate::wire`]
//! type (camelCase, 64-bit numbers as strings).
//!
//! | route | answer |
//! |---|---|
//! | `GET /v1/jobs?status=&requester=&worker=&cursor=&limit=` | [`JobsPage`] |
//! | `GET /v1/jobs/{id}` | [`JobView`] (with `modelName`) |
//! | `GET /v1/jobs/{id}/escrow` | [`JobEscrowView`] |
//! | `GET /v1/workers?model=NAME \| modelId=HASH&cursor=&limit=` | [`WorkersPage`] |
//! | `GET /v1/workers/{identity}` | [`WorkerView`] |
//! | `GET /v1/stats` | [`NetworkStatsView`] |
//! | `GET /v1/pools?cursor=&limit=` | [`wire::pools::PoolsPage`] |
//! | `GET /v1/pools/{id}` | [`wire::pools::PoolDetail`] |
//! | `GET /v1/prices?cursor=&limit=` | [`wire::pools::PricesPage`] |
//! | `GET /v1/prices/{model}?maxTokens=&promptTokens=` | [`wire::pools::PriceEstimate`] (`noData` until a price is published) |
//! | `GET /v1/large-jobs?cursor=&limit=` | [`wire::pools::LargeJobsPage`] (still bidding) |
//! | `GET /v1/large-jobs/{id}` | [`wire::pools::LargeJobDetail`] |
//! | `GET /v1/contracts` | [`ContractsResponse`]: every contract as it describes itself |
//! | `GET /v1/receipts/{txId}` | [`ReceiptResponse`] |

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::Json;
use comqute_market::job_registry::JobStatus;
use comqute_market::{model_id, MAX_PAGE};
use comqute_qpi::Hash32;

use super::{parse_hash, parse_identity, parse_job_id, AreaRouter, PathParam, QueryParams};
use crate::error::ServiceError;
use crate::wire::{
    self, routes, ContractsResponse, JobEscrowView, JobFilter, JobView, JobsPage, NetworkStatsView,
    ReceiptResponse, WorkerView, WorkersPage,
};
use crate::NodeState;

type Params = QueryParams<HashMap<String, String>>;

/// The marketplace API.
pub fn router() -> AreaRouter {
    AreaRouter::new()
        .route(routes::JOBS, get(jobs))
        .route(routes::JOB, get(job))
        .route(routes::JOB_ESCROW, get(job_escrow))
        .route(routes::WORKERS, get(workers))
        .route(routes::WORKER, get(worker))
        .route(routes::STATS, get(stats))
        .route(routes::POOLS, get(pools))
        .route(routes::POOL, get(pool))
        .route(routes::PRICES, get(prices))
        .route(routes::PRICE, get(price))
        .route(routes::LARGE_JOBS, get(large_jobs))
        .route(routes::LARGE_JOB, get(large_job))
        .route(routes::CONTRACTS, get(contracts))
        .route(routes::RECEIPT, get(receipt))
}

/// Refuses query parameters the endpoint does not know (a typo would otherwise widen the
/// filter silently).
pub fn only(p: &HashMap<String, String>, known: &[&str]) -> Result<(), ServiceError> {
    match p.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(ServiceError::BadParam {
            name: "query",
            detail: format!("unknown parameter {k:?}; known: {}", known.join(", ")),
        }),
        None => Ok(()),
    }
}

/// `limit` (1 to 100, default 20) and `cursor` (a number) from a query.
pub fn paging(p: &HashMap<String, String>) -> Result<(Option<u64>, u16), ServiceError> {
    let limit = match p.get("limit") {
        None => 20,
        Some(l) => l
            .trim()
            .parse::<u16>()
            .ok()
            .filter(|n| (1..=MAX_PAGE).contains(n))
            .ok_or_else(|| ServiceError::BadParam {
                name: "limit",
                detail: format!("{l:?} is not between 1 and {MAX_PAGE}"),
            })?,
    };
    let cursor = match p.get("cursor") {
        None => None,
        Some(c) if c.is_empty() => None,
        Some(c) => Some(
            c.trim()
                .parse::<u64>()
                .map_err(|_| ServiceError::BadParam {
                    name: "cursor",
                    detail: format!("{c:?} is not a cursor (a number from a nextCursor)"),
                })?,
        ),
    };
    Ok((cursor, limit))
}

/// `GET /v1/contracts`: every contract as it describes itself, ascending by index
/// ([`comqute_qpi::contract::Contract::meta`]).
pub async fn contracts(
    State(s): State<Arc<NodeState>>,
) -> Result<Json<ContractsResponse>, ServiceError> {
    Ok(Json(ContractsResponse {
        contracts: s.chain.contracts()?,
    }))
}

/// The job filters of a query: `status`, `requester`, `worker`, `model` (a name) or
/// `modelId`, `fromTick`, `toTick` (submission ticks, inclusive).
pub fn job_filter(p: &HashMap<String, String>) -> Result<JobFilter, ServiceError> {
    let status = match p.get("status").filter(|v| !v.trim().is_empty()) {
        None => None,
        Some(v) => Some(
            wire::parse_status(v.trim()).ok_or_else(|| ServiceError::BadParam {
                name: "status",
                detail: format!(
                    "{v:?} is not one of {}",
                    JobStatus::ALL.map(|s| s.name()).join(", ")
                ),
            })?,
        ),
    };
    let tick = |name: &'static str| -> Result<Option<comqute_qpi::Tick>, ServiceError> {
        match p.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => v
                .parse::<u32>()
                .map(|t| Some(comqute_qpi::Tick(t)))
                .map_err(|_| ServiceError::BadParam {
                    name,
                    detail: format!("{v:?} is not a tick number"),
                }),
        }
    };
    let nonempty = |k: &str| p.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let model = match (nonempty("model"), nonempty("modelId")) {
        (None, None) => None,
        (Some(name), None) => Some(model_id(name)),
        (None, Some(h)) => Some(parse_hash(h)?),
        (Some(_), Some(_)) => {
            return Err(ServiceError::BadParam {
                name: "model",
                detail: "give model (a name) or modelId (its hash), not both".into(),
            })
        }
    };
    let filter = JobFilter {
        status,
        requester: nonempty("requester").map(parse_identity).transpose()?,
        worker: nonempty("worker").map(parse_identity).transpose()?,
        model,
        from_tick: tick("fromTick")?,
        to_tick: tick("toTick")?,
    };
    if let (Some(a), Some(b)) = (filter.from_tick, filter.to_tick) {
        if a > b {
            return Err(ServiceError::BadParam {
                name: "fromTick",
                detail: format!("fromTick {} is after toTick {}", a.0, b.0),
            });
        }
    }
    Ok(filter)
}

/// The filters [`job_filter`] reads.
pub const JOB_FILTERS: [&str; 7] = [
    "status",
    "requester",
    "worker",
    "model",
    "modelId",
    "fromTick",
    "toTick",
];

/// `GET /v1/jobs?status=&requester=&worker=&model=&fromTick=&toTick=&cursor=N&limit=M`.
pub async fn jobs(
    State(s): State<Arc<NodeState>>,
    QueryParams(p): Params,
) -> Result<Json<JobsPage>, ServiceError> {
    let mut known = JOB_FILTERS.to_vec();
    known.extend(["cursor", "limit"]);
    only(&p, &known)?;
    let filter = job_filter(&p)?;
    let (cursor, limit) = paging(&p)?;
    Ok(Json(s.chain.jobs(&filter, cursor, limit)?))
}

/// `GET /v1/jobs/{id}`.
pub async fn job(
    State(s): State<Arc<NodeState>>,
    PathParam(id): PathParam<String>,
) -> Result<Json<JobView>, ServiceError> {
    Ok(Json(s.chain.job(parse_job_id("id", &id)?)?))
}

/// `GET /v1/jobs/{id}/escrow`: the job's account in the escrow vault.
pub async fn job_escrow(
    State(s): State<Arc<NodeState>>,
    PathParam(id): PathParam<String>,
) -> Result<Json<JobEscrowView>, ServiceError> {
    Ok(Json(s.chain.job_escrow(parse_job_id("id", &id)?)?))
}

/// The model filter of `/v1/workers`: `model` (a name, hashed) or `modelId` (a hash).
fn model_param(p: &HashMap<String, String>) -> Result<Hash32, ServiceError> {
    match (p.get("model"), p.get("modelId")) {
        (Some(name), None) if !name.trim().is_empty() => Ok(model_id(name.trim())),
        (None, Some(h)) => parse_hash(h),
        _ => Err(ServiceError::BadParam {
            name: "model",
            detail: "give exactly one of model (a name) or modelId (its hash)".into(),
        }),
    }
}

/// `GET /v1/workers?model=NAME&cursor=N&limit=M` (or `modelId=HASH`).
pub async fn workers(
    State(s): State<Arc<NodeState>>,
    QueryParams(p): Params,
) -> Result<Json<WorkersPage>, ServiceError> {
    only(&p, &["model", "modelId", "cursor", "limit"])?;
    let model = model_param(&p)?;
    let (cursor, limit) = paging(&p)?;
    Ok(Json(s.chain.workers(model, cursor, limit)?))
}

/// `GET /v1/workers/{identity}`.
pub async fn worker(
    State(s): State<Arc<NodeState>>,
    PathParam(id): PathParam<String>,
) -> Result<Json<WorkerView>, ServiceError> {
    Ok(Json(s.chain.worker(&parse_identity(&id)?)?))
}

/// `GET /v1/pools?cursor=N&limit=M`.
pub async fn pools(
    State(s): State<Arc<NodeState>>,
    QueryParams(p): Params,
) -> Result<Json<wire::pools::PoolsPage>, ServiceError> {
    only(&p, &["cursor", "limit"])?;
    let (cursor, limit) = paging(&p)?;
    Ok(Json(s.chain.pools(cursor, limit)?))
}

/// A whole-number id from a path (`what` names it in the error).
fn whole_id(id: &str, what: &str) -> Result<u64, ServiceError> {
    id.trim()
        .parse::<u64>()
        .map_err(|_| ServiceError::BadParam {
            name: "id",
            detail: format!("{id:?} is not a {what} id (a whole number)"),
        })
}

/// `GET /v1/pools/{id}`.
pub async fn pool(
    State(s): State<Arc<NodeState>>,
    PathParam(id): PathParam<String>,
) -> Result<Json<wire::pools::PoolDetail>, ServiceError> {
    Ok(Json(s.chain.pool(whole_id(&id, "pool")?)?))
}

/// `GET /v1/large-jobs?cursor=N&limit=M`: large jobs still bidding.
pub async fn large_jobs(
    State(s): State<Arc<NodeState>>,
    QueryParams(p): Params,
) -> Result<Json<wire::pools::LargeJobsPage>, ServiceError> {
    only(&p, &["cursor", "limit"])?;
    let (cursor, limit) = paging(&p)?;
    Ok(Json(s.chain.large_jobs(cursor, limit)?))
}

/// `GET /v1/large-jobs/{id}`: the auction (prices sealed until its reveal deadline), its
/// winner and parts.
pub async fn large_job(
    State(s): State<Arc<NodeState>>,
    PathParam(id): PathParam<String>,
) -> Result<Json<wire::pools::LargeJobDetail>, ServiceError> {
    Ok(Json(s.chain.large_job(whole_id(&id, "large job")?)?))
}

/// `GET /v1/prices?cursor=MODEL_ID&limit=M`.
pub async fn prices(
    State(s): State<Arc<NodeState>>,
    QueryParams(p): Params,
) -> Result<Json<wire::pools::PricesPage>, ServiceError> {
    only(&p, &["cursor", "limit"])?;
    let mut q = p.clone();
    let cursor = q.remove("cursor").map(|c| parse_hash(&c)).transpose()?;
    let (_, limit) = paging(&q)?;
    Ok(Json(s.chain.prices(cursor, limit)?))
}

/// `GET /v1/prices/{model}?maxTokens=N&promptTokens=N` (`maxTokens` default 1,000).
pub async fn price(
    State(s): State<Arc<NodeState>>,
    PathParam(model): PathParam<String>,
    QueryParams(p): Params,
) -> Result<Json<wire::pools::PriceEstimate>, ServiceError> {
    only(&p, &["maxTokens", "promptTokens"])?;
    let number = |name: &'static str, default: u32| -> Result<u32, ServiceError> {
        match p.get(name) {
            None => Ok(default),
            Some(v) => v.trim().parse().map_err(|_| ServiceError::BadParam {
                name,
                detail: format!("{v:?} is not a whole number"),
            }),
        }
    };
    let max_tokens = number("maxTokens", 1_000)?;
    let prompt_tokens = number("promptTokens", 0)?;
    Ok(Json(s.chain.estimate(
        model.trim(),
        prompt_tokens,
        max_tokens,
    )?))
}

/// `GET /v1/stats`: jobs per status, money totals, workers (online included).
pub async fn stats(
    State(s): State<Arc<NodeState>>,
) -> Result<Json<NetworkStatsView>, ServiceError> {
    Ok(Json(s.chain.stats()?))
}

/// `GET /v1/receipts/{txId}`: status, output and events of a transaction.
pub async fn receipt(
    State(s): State<Arc<NodeState>>,
    PathParam(id): PathParam<String>,
) -> Result<Json<ReceiptResponse>, ServiceError> {
    let id = parse_hash(&id)?;
    let receipt = s
        .chain
        .receipt(&id)?
        .ok_or_else(|| ServiceError::NotFound(format!("no transaction {id}")))?;
    Ok(Json(ReceiptResponse { receipt }))
}

//! The explorer's JSON API ([`crate::wire::explorer`]): what the web app's pages show, for
//! any client. Walks that read many records run off the async workers.
//!
//! | route | answer |
//! |---|---|
//! | `GET /v1/search?q=` | [`SearchResponse`] |
//! | `GET /v1/stats/history?limit=` | [`StatsHistory`] |
//! | `GET /v1/ticks/{tick}` | [`TickView`] |
//! | `GET /v1/transactions/{id}` | [`TransactionView`] |
//! | `GET /v1/identities/{id}` | [`IdentityView`] |
//! | `GET /v1/workers/{id}/earnings` | [`EarningsSeries`] (`?format=csv`: CSV) |
//! | `GET /v1/models` | [`ModelsStats`] |
//! | `GET /v1/network?jobs=` | [`NetworkGraph`] |
//! | `GET /v1/jobs/export?…filters` | CSV, the columns of [`explorer::JOBS_CSV_HEADER`] |

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Json;
use comqute_qpi::Tick;

use super::market::{job_filter, only, JOB_FILTERS};
use super::{blocking, parse_hash, parse_identity, AreaRouter, PathParam, QueryParams};
use crate::error::ServiceError;
use crate::explorer;
use crate::wire::explorer::{
    earnings_csv_row, job_csv_row, EarningsSeries, IdentityView, ModelsStats, NetworkGraph,
    SearchResponse, StatsHistory, TickView, TransactionView, EARNINGS_CSV_HEADER, JOBS_CSV_HEADER,
};
use crate::wire::routes;
use crate::NodeState;

type Params = QueryParams<HashMap<String, String>>;

/// The explorer's routes.
pub fn router() -> AreaRouter {
    AreaRouter::new()
        .route(routes::SEARCH, get(search))
        .route(routes::STATS_HISTORY, get(history))
        .route(routes::TICK, get(tick))
        .route(routes::TRANSACTION, get(transaction))
        .route(routes::IDENTITY, get(identity))
        .route(routes::WORKER_EARNINGS, get(earnings))
        .route(routes::MODELS, get(models))
        .route(routes::NETWORK, get(network))
        .route(routes::JOBS_EXPORT, get(export))
}

fn number<T: std::str::FromStr>(
    p: &HashMap<String, String>,
    name: &'static str,
    default: T,
) -> Result<T, ServiceError> {
    match p.get(name) {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|_| ServiceError::BadParam {
            name,
            detail: format!("{v:?} is not a whole number"),
        }),
    }
}

/// `GET /v1/search?q=`: every page the query names (an empty list when none).
pub async fn search(
    State(s): State<Arc<NodeState>>,
    QueryParams(p): Params,
) -> Result<Json<SearchResponse>, ServiceError> {
    only(&p, &["q"])?;
    let q = p.get("q").cloned().unwrap_or_default();
    if q.len() > 200 {
        return Err(ServiceError::BadParam {
            name: "q",
            detail: "a query is at most 200 characters".into(),
        });
    }
    Ok(Json(
        blocking(move || explorer::search(&s.chain, &q)).await?,
    ))
}

/// `GET /v1/stats/history?limit=N` (1 to 720, default 120).
pub async fn history(
    State(s): State<Arc<NodeState>>,
    QueryParams(p): Params,
) -> Result<Json<StatsHistory>, ServiceError> {
    only(&p, &["limit"])?;
    let limit: usize = number(&p, "limit", 120)?;
    if !(1..=explorer::MAX_SAMPLES).contains(&limit) {
        return Err(ServiceError::BadParam {
            name: "limit",
            detail: format!("{limit} is not between 1 and {}", explorer::MAX_SAMPLES),
        });
    }
    Ok(Json(s.observer.history(&s.chain, limit)?))
}

/// `GET /v1/ticks/{tick}`.
pub async fn tick(
    State(s): State<Arc<NodeState>>,
    PathParam(t): PathParam<String>,
) -> Result<Json<TickView>, ServiceError> {
    let t: u32 = t.trim().parse().map_err(|_| ServiceError::BadParam {
        name: "tick",
        detail: format!("{t:?} is not a tick number"),
    })?;
    Ok(Json(
        blocking(move || explorer::tick(&s.chain, Tick(t))).await?,
    ))
}

/// `GET /v1/transactions/{id}`.
pub async fn transaction(
    State(s): State<Arc<NodeState>>,
    PathParam(id): PathParam<String>,
) -> Result<Json<TransactionView>, ServiceError> {
    let id = parse_hash(&id)?;
    Ok(Json(
        blocking(move || explorer::transaction(&s.chain, &id)).await?,
    ))
}

/// `GET /v1/identities/{id}`.
pub async fn identity(
    State(s): State<Arc<NodeState>>,
    PathParam(id): PathParam<String>,
) -> Result<Json<IdentityView>, ServiceError> {
    let id = parse_identity(&id)?;
    Ok(Json(
        blocking(move || explorer::identity(&s.chain, &id)).await?,
    ))
}

fn csv(name: String, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// `GET /v1/workers/{id}/earnings[?format=csv]`.
pub async fn earnings(
    State(s): State<Arc<NodeState>>,
    PathParam(id): PathParam<String>,
    QueryParams(p): Params,
) -> Result<Response, ServiceError> {
    only(&p, &["format"])?;
    let id = parse_identity(&id)?;
    let series: EarningsSeries = blocking(move || explorer::earnings(&s.chain, &id)).await?;
    match p.get("format").map(String::as_str) {
        None | Some("json") => Ok(Json(series).into_response()),
        Some("csv") => {
            let mut body = format!("{EARNINGS_CSV_HEADER}\n");
            for j in &series.jobs {
                body.push_str(&earnings_csv_row(j));
                body.push('\n');
            }
            Ok(csv(format!("earnings-{}.csv", &id.to_string()[..8]), body))
        }
        Some(other) => Err(ServiceError::BadParam {
            name: "format",
            detail: format!("{other:?} is not json or csv"),
        }),
    }
}

/// `GET /v1/models`.
pub async fn models(
    State(s): State<Arc<NodeState>>,
    QueryParams(p): Params,
) -> Result<Json<ModelsStats>, ServiceError> {
    only(&p, &[])?;
    Ok(Json(blocking(move || s.observer.models(&s.chain)).await?))
}

/// `GET /v1/network?jobs=N` (1 to 500, default 200).
pub async fn network(
    State(s): State<Arc<NodeState>>,
    QueryParams(p): Params,
) -> Result<Json<NetworkGraph>, ServiceError> {
    only(&p, &["jobs"])?;
    let jobs: usize = number(&p, "jobs", 200)?;
    if !(1..=explorer::MAX_GRAPH_JOBS).contains(&jobs) {
        return Err(ServiceError::BadParam {
            name: "jobs",
            detail: format!("{jobs} is not between 1 and {}", explorer::MAX_GRAPH_JOBS),
        });
    }
    Ok(Json(
        blocking(move || explorer::network(&s.chain, jobs)).await?,
    ))
}

/// `GET /v1/jobs/export?status=&requester=&worker=&model=&fromTick=&toTick=`: every
/// matching job (at most [`explorer::MAX_EXPORT_ROWS`]) as CSV, ascending by id.
pub async fn export(
    State(s): State<Arc<NodeState>>,
    QueryParams(p): Params,
) -> Result<Response, ServiceError> {
    only(&p, &JOB_FILTERS)?;
    let filter = job_filter(&p)?;
    let name = match filter.requester.or(filter.worker) {
        Some(id) => format!("jobs-{}.csv", &id.to_string()[..8]),
        None => "jobs.csv".to_string(),
    };
    let jobs = blocking(move || explorer::all_jobs(&s.chain, &filter)).await?;
    let mut body = format!("{JOBS_CSV_HEADER}\n");
    for j in &jobs {
        body.push_str(&job_csv_row(j));
        body.push('\n');
    }
    Ok(csv(name, body))
}

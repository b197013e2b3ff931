//! The web app the node serves at `/`: server-rendered pages ([`maud`]) over the node's own
//! services, with htmx for live parts and a few hand-written ES modules (the wallet, token
//! streams, charts, the network graph). Every asset is vendored under `crates/node/web/` and
//! embedded in the binary ([`Assets`]): the page calls no other host.
//!
//! A page shows only what the JSON API shows (the same service functions render both), and
//! every action it offers is a transaction the browser signs itself ([`crate::wire`]'s
//! packed form, built by `web/js/wallet.js`): seeds never reach the node.
//!
//! | page | shows |
//! |---|---|
//! | `/` | stat cards, history charts, live activity, newest jobs and workers |
//! | `/search?q=` | the one page a query names, or the list of them |
//! | `/ticks/{n}`, `/tx/{id}`, `/jobs/{id}` | detail pages |
//! | `/workers/{id}`, `/identities/{id}` | a worker; any account with its job history |
//! | `/pools`, `/pools/{id}`, `/large-jobs/{id}` | pools and auctions |
//! | `/models`, `/network` | per-model market figures; the live graph |
//! | `/submit`, `/history`, `/worker` | the requester's and the worker's dashboards |

mod fragments;
mod layout;
mod pages;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use maud::Markup;

use crate::error::{ErrorKind, ServiceError};
use crate::NodeState;

/// The vendored and hand-written front-end files (`crates/node/web/`), embedded.
#[derive(rust_embed::Embed)]
#[folder = "web/"]
#[exclude = "*.sh"]
#[exclude = "css/*"]
#[exclude = "*.mjs"]
#[exclude = "*.md"]
pub struct Assets;

/// The pages and their fragments.
pub fn router() -> Router<Arc<NodeState>> {
    Router::new()
        .route("/", get(pages::home))
        .route("/search", get(pages::search))
        .route("/ticks/{tick}", get(pages::tick))
        .route("/tx/{id}", get(pages::transaction))
        .route("/jobs/{id}", get(pages::job))
        .route("/workers", get(pages::workers))
        .route("/workers/{id}", get(pages::worker))
        .route("/identities/{id}", get(pages::identity))
        .route("/pools", get(pages::pools))
        .route("/pools/{id}", get(pages::pool))
        .route("/large-jobs/{id}", get(pages::large_job))
        .route("/models", get(pages::models))
        .route("/network", get(pages::network))
        .route("/submit", get(pages::submit))
        .route("/history", get(pages::history))
        .route("/worker", get(pages::worker_dashboard))
        .route("/ui/stats", get(fragments::stats))
        .route("/ui/feed/stream", get(fragments::feed))
        .route("/ui/jobs/{id}/status", get(fragments::job_status))
        .route("/assets/{*path}", get(asset))
}

/// `GET /assets/{path}`: an embedded file with its content type, cached by the browser
/// (the binary's files change only with the binary).
async fn asset(Path(path): Path<String>) -> Response {
    let Some(file) = Assets::get(&path) else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    let ext = path.rsplit('.').next().unwrap_or("");
    let mime = match ext {
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "woff2" => "font/woff2",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "json" => "application/json",
        "txt" | "md" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    };
    let mut res = Response::new(Body::from(file.data.into_owned()));
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    res
}

/// A page, or the error page with the status the API would answer.
pub(crate) type Page = Result<Markup, PageError>;

/// An error shown as a page: "not found" for unknown ids, the reason for bad input.
pub struct PageError(pub ServiceError);

impl From<ServiceError> for PageError {
    fn from(e: ServiceError) -> Self {
        PageError(e)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = crate::api::http_status(&self.0);
        if status.is_server_error() {
            tracing::error!(code = self.0.code(), "page: {}", self.0);
        }
        let title = match self.0.kind() {
            ErrorKind::NotFound => "Not found",
            ErrorKind::Invalid => "That is not a valid address",
            _ => "Something went wrong",
        };
        (status, layout::error_page(title, &self.0.to_string())).into_response()
    }
}

//! An Ollama-compatible test server (cargo feature `test-server`): the real wire format of
//! `/api/generate`, `/api/chat`, `/api/tags`, `/api/pull`, `/api/show`, `/api/version` and of
//! the OpenAI-compatible `/v1/chat/completions`, `/v1/completions`, `/v1/models` (llama.cpp's
//! dialect), answering with the deterministic [stand-in](crate::standin) text, and with every
//! misbehaviour a backend client must survive on demand.
//!
//! ```no_run
//! # async fn t() -> std::io::Result<()> {
//! use comqute_inference::testserver::{Fault, Split, TestServer, TestServerConfig};
//! let server = TestServer::start(TestServerConfig {
//!     split: Split::Awkward,                              // lines and characters cut across writes
//!     token_delay: std::time::Duration::from_millis(2),   // between output tokens
//!     max_concurrent: 1,                                  // a second generation gets 503
//!     ..TestServerConfig::default()
//! })
//! .await?;
//! server.push_fault(Fault::Busy);                         // the next generation: 503
//! server.push_fault(Fault::ErrorAfter(3));                // the one after: error line after 3 tokens
//! let url = server.url();                                 // http://127.0.0.1:PORT
//! // … run a backend or the `comqute` binary against `url` …
//! server.kill();                                          // drop the listener and every connection
//! server.restart().await?;                                // listen again on the same port
//! # Ok(()) }
//! ```
//!
//! - **Deterministic output**: [`crate::standin::script`] of the model, the prompt (for chat,
//!   [`crate::standin::chat_prompt`] of the messages) and `options.seed`. A request without
//!   `options.seed` (or with the seed outside `options`, which Ollama ignores) gets a
//!   different seed each time, like Ollama's random default.
//! - **Models**: [`TestServerConfig::models`] are "pulled"; others answer 404
//!   `model "x" not found, try pulling it first`; [`TestServerConfig::pullable`] can be
//!   pulled with progress lines, then served.
//! - **Faults** ([`Fault`]) are queued and each generation request takes the next one; the
//!   behaviour set in the config (delays, [`Split`], concurrency) applies to all.
//! - **Kill**: [`TestServer::kill`] (or [`Fault::KillAfter`]) closes the listener and every
//!   open connection mid-stream, like a crashed process; [`TestServer::restart`] comes back
//!   on the same port. The binary `comqute-ollama-testserver` runs the same server as a
//!   process, for tests that kill a process.
//!
//! Other crates' tests enable it with a dev-dependency:
//! `comqute-inference = { workspace = true, features = ["test-server"] }`.

mod ollama;
mod openai;
mod stream;

use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::routing::{get, post};
use axum::Router;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

/// How a stream's bytes are cut into writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    /// One write per line (what Ollama does).
    Lines,
    /// Writes of this many bytes, lines merged and cut wherever the count falls.
    Bytes(usize),
    /// Cuts inside lines and inside UTF-8 characters (a continuation byte is chosen when
    /// there is one), the rest of a line carried into the next write with the next line.
    Awkward,
}

/// A misbehaviour for one generation request (`/api/generate`, `/api/chat`,
/// `/v1/chat/completions`, `/v1/completions`). "After n" counts output tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// 503 with Ollama's queue-full message.
    Busy,
    /// An error line after n tokens, under HTTP 200 (Ollama's `{"error": …}`, llama.cpp's
    /// `error: {…}` event); then the stream ends.
    ErrorAfter(u32),
    /// Stops sending after n tokens but keeps the connection open (idle timeout).
    StallAfter(u32),
    /// Ends the body cleanly after n tokens, without the final chunk.
    TruncateAfter(u32),
    /// Aborts the connection after n tokens (no chunked terminator).
    ResetAfter(u32),
    /// Kills the whole server after n tokens (every connection, and the listener).
    KillAfter(u32),
    /// Never sends response headers (first-token timeout).
    Hang,
    /// HTTP 200 with an HTML body.
    NotJson,
    /// HTTP 200 with JSON lines of another shape.
    WrongShape,
    /// HTTP 200 with a line that is not UTF-8.
    InvalidUtf8,
}

/// The test server's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestServerConfig {
    /// Models present from the start.
    pub models: Vec<String>,
    /// Models `/api/pull` can fetch; once pulled they are served.
    pub pullable: Vec<String>,
    /// Wait before the first output token.
    pub first_token_delay: Duration,
    /// Wait between output tokens.
    pub token_delay: Duration,
    /// How writes are cut.
    pub split: Split,
    /// Generations served at once; one more gets 503. 0 = no limit.
    pub max_concurrent: usize,
    /// What `/api/version` says.
    pub version: String,
}

impl Default for TestServerConfig {
    fn default() -> Self {
        TestServerConfig {
            models: vec!["comqute-test:tiny".into(), "comqute-test:small".into()],
            pullable: vec!["comqute-test:pullable".into()],
            first_token_delay: Duration::ZERO,
            token_delay: Duration::ZERO,
            split: Split::Lines,
            max_concurrent: 0,
            version: "0.12.0-comqute-test".into(),
        }
    }
}

/// A request the server received.
#[derive(Clone, Debug, PartialEq)]
pub struct Recorded {
    /// The path (`/api/generate`).
    pub path: String,
    /// The JSON body (`Null` when it was not JSON).
    pub body: serde_json::Value,
}

pub(crate) struct Shared {
    cfg: Mutex<TestServerConfig>,
    faults: Mutex<VecDeque<Fault>>,
    models: Mutex<Vec<String>>,
    loaded: Mutex<HashSet<String>>,
    requests: Mutex<Vec<Recorded>>,
    active: AtomicUsize,
    busy_answers: AtomicUsize,
    counter: AtomicU64,
    accept: Mutex<Option<JoinHandle<()>>>,
}

/// Locks a mutex, recovering the data if a panicking test thread poisoned it.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    pub(crate) fn cfg(&self) -> TestServerConfig {
        lock(&self.cfg).clone()
    }

    pub(crate) fn has_model(&self, name: &str) -> bool {
        let want = canonical(name);
        lock(&self.models).iter().any(|m| canonical(m) == want)
    }

    pub(crate) fn models(&self) -> Vec<String> {
        lock(&self.models).clone()
    }

    pub(crate) fn add_model(&self, name: &str) {
        if !self.has_model(name) {
            lock(&self.models).push(name.to_string());
        }
    }

    pub(crate) fn record(&self, path: &str, body: &serde_json::Value) {
        lock(&self.requests).push(Recorded {
            path: path.to_string(),
            body: body.clone(),
        });
    }

    pub(crate) fn next_fault(&self) -> Option<Fault> {
        lock(&self.faults).pop_front()
    }

    /// True the first time a model is used (the answer then reports a load duration).
    pub(crate) fn first_load(&self, model: &str) -> bool {
        lock(&self.loaded).insert(canonical(model))
    }

    /// A seed for a request without one: different every time.
    pub(crate) fn random_seed(&self) -> u64 {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        (n.wrapping_add(1)).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ u64::from(nanos)
    }

    /// A generation slot, or `None` when `max_concurrent` are running.
    pub(crate) fn try_slot(self: &Arc<Self>) -> Option<Slot> {
        let max = lock(&self.cfg).max_concurrent;
        let prev = self.active.fetch_add(1, Ordering::SeqCst);
        if max > 0 && prev >= max {
            self.active.fetch_sub(1, Ordering::SeqCst);
            self.busy_answers.fetch_add(1, Ordering::SeqCst);
            return None;
        }
        Some(Slot(self.clone()))
    }

    pub(crate) fn count_busy(&self) {
        self.busy_answers.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn kill(&self) {
        if let Some(h) = lock(&self.accept).take() {
            // Dropping the accept task drops the listener and the JoinSet that owns every
            // connection task, which closes their sockets mid-stream.
            h.abort();
        }
    }
}

/// Holds one of the `max_concurrent` generation slots until dropped.
pub(crate) struct Slot(Arc<Shared>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::SeqCst);
    }
}

/// `name` with `:latest` when it has no tag.
pub(crate) fn canonical(name: &str) -> String {
    let last = name.rsplit('/').next().unwrap_or(name);
    if last.contains(':') {
        name.to_string()
    } else {
        format!("{name}:latest")
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(|| async { "Ollama is running" }))
        .route("/api/version", get(ollama::version))
        .route("/api/tags", get(ollama::tags))
        .route("/api/show", post(ollama::show))
        .route("/api/pull", post(ollama::pull))
        .route("/api/generate", post(ollama::generate))
        .route("/api/chat", post(ollama::chat))
        .route("/v1/models", get(openai::models))
        .route("/v1/chat/completions", post(openai::chat_completions))
        .route("/v1/completions", post(openai::completions))
        .with_state(shared)
}

fn spawn_accept(shared: &Arc<Shared>, listener: TcpListener) {
    let app = router(shared.clone());
    let handle = tokio::spawn(async move {
        let mut conns = JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let Ok((stream, _)) = accepted else { continue };
                    let _ = stream.set_nodelay(true);
                    let svc = TowerToHyperService::new(app.clone());
                    conns.spawn(async move {
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), svc)
                            .await;
                    });
                }
                Some(_) = conns.join_next(), if !conns.is_empty() => {}
            }
        }
    });
    *lock(&shared.accept) = Some(handle);
}

/// A running test server. Dropping it kills it.
pub struct TestServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl TestServer {
    /// Starts a server on `127.0.0.1` on a free port. Needs a tokio runtime.
    pub async fn start(cfg: TestServerConfig) -> std::io::Result<TestServer> {
        TestServer::start_on("127.0.0.1:0".parse().map_err(std::io::Error::other)?, cfg).await
    }

    /// Starts a server on the given address (port 0: a free one).
    pub async fn start_on(addr: SocketAddr, cfg: TestServerConfig) -> std::io::Result<TestServer> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            models: Mutex::new(cfg.models.clone()),
            cfg: Mutex::new(cfg),
            faults: Mutex::new(VecDeque::new()),
            loaded: Mutex::new(HashSet::new()),
            requests: Mutex::new(Vec::new()),
            active: AtomicUsize::new(0),
            busy_answers: AtomicUsize::new(0),
            counter: AtomicU64::new(0),
            accept: Mutex::new(None),
        });
        spawn_accept(&shared, listener);
        Ok(TestServer { addr, shared })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Queues a fault for the next generation request that has none.
    pub fn push_fault(&self, f: Fault) {
        lock(&self.shared.faults).push_back(f);
    }

    /// Drops queued faults.
    pub fn clear_faults(&self) {
        lock(&self.shared.faults).clear();
    }

    /// Changes the delays for requests that start from now on.
    pub fn set_delays(&self, first_token: Duration, per_token: Duration) {
        let mut c = lock(&self.shared.cfg);
        c.first_token_delay = first_token;
        c.token_delay = per_token;
    }

    /// Changes how writes are cut, for requests that start from now on.
    pub fn set_split(&self, split: Split) {
        lock(&self.shared.cfg).split = split;
    }

    /// Changes the concurrency limit (0 = none).
    pub fn set_max_concurrent(&self, n: usize) {
        lock(&self.shared.cfg).max_concurrent = n;
    }

    /// Adds a model as if it had been pulled.
    pub fn add_model(&self, name: &str) {
        self.shared.add_model(name);
    }

    /// The models it serves now.
    pub fn models(&self) -> Vec<String> {
        self.shared.models()
    }

    /// Every POST received so far, in order.
    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.shared.requests).clone()
    }

    /// Generations running now.
    pub fn active(&self) -> usize {
        self.shared.active.load(Ordering::SeqCst)
    }

    /// 503 answers given so far (busy faults and the concurrency limit).
    pub fn busy_answers(&self) -> usize {
        self.shared.busy_answers.load(Ordering::SeqCst)
    }

    /// Kills the server like a crashed process: the listener closes (new connections are
    /// refused) and every open connection is dropped mid-stream.
    pub fn kill(&self) {
        self.shared.kill();
    }

    /// Whether it is serving (not killed).
    pub fn is_running(&self) -> bool {
        lock(&self.shared.accept)
            .as_ref()
            .is_some_and(|h| !h.is_finished())
    }

    /// Serves again on the same port after [`TestServer::kill`] (a restarted backend). Models,
    /// settings and the request log are kept. Waits up to 2 s for the port to be free.
    pub async fn restart(&self) -> std::io::Result<()> {
        if self.is_running() {
            return Ok(());
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        loop {
            match TcpListener::bind(self.addr).await {
                Ok(listener) => {
                    spawn_accept(&self.shared, listener);
                    return Ok(());
                }
                Err(e) if tokio::time::Instant::now() >= deadline => return Err(e),
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shared.kill();
    }
}

impl std::fmt::Debug for TestServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestServer")
            .field("addr", &self.addr)
            .finish()
    }
}

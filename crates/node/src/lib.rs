//! # comqute-node
//!
//! A comqute node: the ledger ticking in real time on a data directory (or in memory),
//! behind an HTTP API shaped like Qubic's gateway (`/live/v1/...` and the same under
//! `/v1/...`, 64-bit numbers as JSON strings), a marketplace JSON API, an event log with a
//! live stream (server-sent events), and a content-addressed blob store for prompts and
//! results. Devnet powers (faucet, warp) exist only on nodes started with `devnet`.
//!
//! Tests start one in-process on a free loopback port with [`NodeConfig::test`]:
//!
//! ```no_run
//! # async fn demo() -> Result<(), comqute_node::NodeError> {
//! let node = comqute_node::Node::start(comqute_node::NodeConfig::test()).await?;
//! println!("listening on http://{}", node.addr());
//! node.shutdown().await?;
//! # Ok(()) }
//! ```
//!
//! ## What it must never do
//! Report a transaction as executed before its tick is on disk, let a non-devnet node mint
//! or warp, or stop serving because of a bad request: every bad input gets a 4xx JSON error
//! with a stable code ([`ServiceError::code`]).
//!
//! ## Layers
//! - Services, which know nothing of HTTP and refuse with one domain error
//!   ([`ServiceError`], a stable code and an [`error::ErrorKind`]): [`ChainService`] (the
//!   ledger behind its lock), [`tokens::TokenService`], [`blobs::BlobService`], held
//!   together by [`NodeState`]; and [`genesis`], the marketplace settings a data directory
//!   records. The SDK's embedded transport calls these directly.
//! - [`api`]: thin axum adapters, one router per area, which parse requests, call a service
//!   and map its error to a status and `{"code", "message"}` in one place
//!   ([`api::http_status`]).

pub mod api;
pub mod blobs;
pub mod chain;
pub mod contracts;
pub mod error;
pub mod explorer;
pub mod fuzz;
pub mod genesis;
pub mod limits;
pub mod metrics;
pub mod parse;
pub mod qubic_rpc;
pub mod token_log;
pub mod tokens;
pub mod web;
/// The wire crate, as the node's API speaks it ([`comqute_wire`]).
pub use comqute_wire as wire;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use comqute_ledger::durable::{DurableConfig, DurableLedger};
use comqute_ledger::{DigestPolicy, Ledger, LedgerBuilder};
use comqute_market::MarketConfig;
use comqute_qpi::examples::{Faulty, Notary, SendMany};
use comqute_qpi::{Amount, Identity};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use chain::{Chain, ChainService};
pub use error::ServiceError;

/// Builds the genesis of the node's ledger (contracts, settings, balances). A node restarted
/// on a data directory must be given the same genesis.
pub type GenesisFn = Arc<dyn Fn() -> LedgerBuilder + Send + Sync>;

/// The node's settings.
#[derive(Clone)]
pub struct NodeConfig {
    /// The data directory; `None` keeps everything in memory.
    pub data_dir: Option<PathBuf>,
    /// Where to listen.
    pub listen: SocketAddr,
    /// Milliseconds per tick; 0 ticks only on demand (devnet warp).
    pub tick_ms: u64,
    /// Ticks per epoch.
    pub epoch_ticks: u32,
    /// Whether devnet powers (faucet, warp) are on.
    pub devnet: bool,
    /// The largest blob.
    pub max_blob_bytes: usize,
    /// The largest JSON body.
    pub max_body_bytes: usize,
    /// The contracts and genesis balances.
    pub genesis: GenesisFn,
    /// Durable store settings.
    pub durable: DurableConfig,
    /// The most text one job's token stream holds, in bytes.
    pub max_stream_bytes: usize,
    /// The most token streams kept in memory.
    pub max_streams: usize,
    /// The most transactions one identity may have waiting for their ticks; more are
    /// refused with 429 `too_many_pending` (issue 21: one identity filled the pool).
    pub max_pending_per_identity: usize,
    /// The most live subscriptions (event and token streams) at once ([`limits`]).
    pub max_subscribers: usize,
    /// The most live subscriptions from one client address.
    pub max_subscribers_per_address: usize,
    /// Seconds a subscriber may leave its next message untaken before it is dropped.
    pub slow_reader_secs: u64,
    /// Requests a second per client address on what costs the node (writes and live
    /// streams; 0: no limit), and the burst taken at once ([`limits::RequestLimiter`]).
    pub rate_per_address: u32,
    /// See [`NodeConfig::rate_per_address`].
    pub rate_burst: u32,
    /// Milliseconds a request refused by the rate limit is held before its 429 goes out.
    pub refusal_delay_ms: u64,
    /// New blob bytes an identity may store an hour, in MiB (signed uploads by identities
    /// the chain knows; 0: no quota) ([`limits::BlobQuota`]).
    pub blob_quota_mib_per_hour: u32,
    /// The same for unsigned uploads, per client address.
    pub anonymous_blob_quota_mib_per_hour: u32,
    /// The ledger's profile: which signatures verify, how ids are made
    /// ([`comqute_qpi::Profile`]). A data directory keeps the one it was made with.
    pub profile: comqute_qpi::Profile,
}

/// The node's default genesis: the marketplace (escrow #1, worker registry #2, verification
/// #5, job registry #6) with [`MarketConfig::default`], the example contracts (notary #10, send-many #11,
/// faulty #12), and no balances (devnet faucets fund identities).
pub fn default_genesis() -> LedgerBuilder {
    market_genesis(&MarketConfig::default())
}

/// The default genesis with custom marketplace settings (a resolver, shorter windows).
pub fn market_genesis(config: &MarketConfig) -> LedgerBuilder {
    // A node serves every tick's digests: it hashes its state per tick.
    let mut b = Ledger::builder().digests(DigestPolicy::PerTick);
    for c in comqute_market::contracts(config.clone()) {
        b = b.contract_arc(c);
    }
    b.contract(Notary).contract(SendMany).contract(Faulty)
}

/// A [`GenesisFn`] for [`market_genesis`].
pub fn market_genesis_fn(config: MarketConfig) -> GenesisFn {
    Arc::new(move || market_genesis(&config))
}

impl NodeConfig {
    /// A node for tests: in memory, devnet powers on, a free loopback port, 50 ms ticks.
    pub fn test() -> Self {
        NodeConfig {
            data_dir: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            tick_ms: 50,
            epoch_ticks: 1000,
            devnet: true,
            max_blob_bytes: 8 << 20,
            max_body_bytes: 64 << 10,
            genesis: Arc::new(default_genesis),
            durable: DurableConfig::default(),
            max_stream_bytes: 1 << 20,
            max_streams: 1024,
            max_pending_per_identity: 1024,
            max_subscribers: 1024,
            max_subscribers_per_address: 32,
            slow_reader_secs: 30,
            rate_per_address: 200,
            rate_burst: 400,
            refusal_delay_ms: 100,
            blob_quota_mib_per_hour: 256,
            anonymous_blob_quota_mib_per_hour: 32,
            profile: comqute_qpi::Profile::Comqute,
        }
    }

    /// The marketplace genesis with these settings ([`market_genesis_fn`]), and blobs at
    /// least as large as the prompts they allow: a prompt the chain allows is a blob the
    /// node takes (and results as large).
    pub fn with_market(self, market: MarketConfig) -> NodeConfig {
        NodeConfig {
            max_blob_bytes: self
                .max_blob_bytes
                .max(usize::try_from(market.jobs.max_prompt_bytes).unwrap_or(usize::MAX)),
            genesis: market_genesis_fn(market),
            ..self
        }
    }

    fn builder(&self) -> LedgerBuilder {
        // Whatever genesis it is given, a node serves every tick's digests.
        (self.genesis)()
            .epoch_ticks(self.epoch_ticks)
            .digests(DigestPolicy::PerTick)
            .profile(self.profile)
    }
}

/// Why the node could not start or stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// Opening the ledger failed.
    #[error("opening the ledger: {0}")]
    Open(String),
    /// Binding the listen address failed.
    #[error("listening on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The server or ticker failed.
    #[error("{0}")]
    Runtime(String),
}

/// The node's services, shared by the ticker, the HTTP adapters and the SDK's embedded
/// transport.
pub struct NodeState {
    /// The ledger and everything told and done with it.
    pub chain: Arc<ChainService>,
    /// Live token streams.
    pub tokens: tokens::TokenService,
    /// Blob store.
    pub blobs: blobs::BlobService,
    /// Live subscriptions, counted and capped.
    pub subscribers: Arc<limits::SubscriberLimits>,
    /// Requests per client address.
    pub requests: limits::RequestLimiter,
    /// Prometheus metrics and readiness.
    pub metrics: metrics::NodeMetrics,
    /// Off-chain observations for the explorer (tick and token times, stat samples).
    pub observer: explorer::Observer,
    /// Settings.
    pub config: NodeConfig,
}

impl NodeState {
    /// The services around an open ledger, without a server (what `Node::start` serves;
    /// the SDK's embedded transport uses it in-process). Blobs live in `config.data_dir`
    /// when set, else in memory.
    pub fn new(chain: Chain, config: NodeConfig) -> Arc<NodeState> {
        let store = match &config.data_dir {
            Some(dir) => blobs::BlobStore::Dir(dir.join("blobs")),
            None => blobs::BlobStore::Memory(Mutex::default()),
        };
        Arc::new(NodeState {
            chain: Arc::new(
                ChainService::new(chain, config.tick_ms, config.devnet)
                    .with_max_pending(config.max_pending_per_identity),
            ),
            tokens: tokens::TokenService::new(config.max_stream_bytes, config.max_streams)
                .stored_in(config.data_dir.as_ref().map(|d| d.join("streams"))),
            blobs: blobs::BlobService::new(store, config.max_blob_bytes).with_quota(
                limits::BlobQuota::new(
                    config.blob_quota_mib_per_hour,
                    config.anonymous_blob_quota_mib_per_hour,
                ),
            ),
            subscribers: limits::SubscriberLimits::new(
                config.max_subscribers,
                config.max_subscribers_per_address,
            ),
            requests: limits::RequestLimiter::new(config.rate_per_address, config.rate_burst),
            metrics: metrics::NodeMetrics::new(),
            observer: explorer::Observer::new(),
            config,
        })
    }
}

/// A running node.
pub struct Node {
    state: Arc<NodeState>,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    server: JoinHandle<Result<(), NodeError>>,
    ticker: Option<JoinHandle<()>>,
}

impl Node {
    /// Opens the ledger, binds the address, and starts serving and ticking.
    pub async fn start(config: NodeConfig) -> Result<Node, NodeError> {
        let chain = match &config.data_dir {
            None => Chain::Memory(Box::new(
                config
                    .builder()
                    .build()
                    .map_err(|e| NodeError::Open(e.to_string()))?,
            )),
            Some(dir) => {
                let dir = dir.clone();
                let builder = config.builder();
                let durable = config.durable.clone();
                let (d, report) =
                    tokio::task::spawn_blocking(move || DurableLedger::open(dir, builder, durable))
                        .await
                        .map_err(|e| NodeError::Open(e.to_string()))?
                        .map_err(|e| NodeError::Open(e.to_string()))?;
                for w in &report.warnings {
                    tracing::warn!("{w}");
                }
                tracing::info!(
                    created = report.created,
                    replayed_records = report.replayed_records,
                    snapshot = ?report.snapshot,
                    "ledger opened"
                );
                Chain::Durable(Box::new(d))
            }
        };
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|source| NodeError::Bind {
                addr: config.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| NodeError::Bind {
            addr: config.listen,
            source,
        })?;
        let state = NodeState::new(chain, config.clone());
        let app = api::router(state.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
            .map_err(|e| NodeError::Runtime(e.to_string()))
        });
        let ticker =
            (config.tick_ms > 0).then(|| tokio::spawn(tick_loop(state.clone(), config.tick_ms)));
        tracing::info!(%addr, devnet = config.devnet, tick_ms = config.tick_ms, "node listening");
        Ok(Node {
            state,
            addr,
            stop: Some(stop),
            server,
            ticker,
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The node's services (for in-process inspection: `node.state().chain.read(...)`).
    pub fn state(&self) -> &Arc<NodeState> {
        &self.state
    }

    /// Stops ticking and serving, then flushes the log.
    pub async fn shutdown(mut self) -> Result<(), NodeError> {
        if let Some(t) = self.ticker.take() {
            t.abort();
            let _ = t.await;
        }
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let served = (&mut self.server)
            .await
            .map_err(|e| NodeError::Runtime(e.to_string()))?;
        let chain = self.state.chain.clone();
        tokio::task::spawn_blocking(move || chain.flush())
            .await
            .map_err(|e| NodeError::Runtime(e.to_string()))?
            .map_err(|e| NodeError::Runtime(e.to_string()))?;
        served
    }
}

async fn tick_loop(state: Arc<NodeState>, tick_ms: u64) {
    let chain = state.chain.clone();
    let mut every = tokio::time::interval(Duration::from_millis(tick_ms));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let s = state.clone();
        // The tick's fsync must not stall the async workers.
        let ticked = tokio::task::spawn_blocking(move || {
            let started = std::time::Instant::now();
            let r = s.chain.process_tick();
            if r.is_ok() {
                s.metrics.ticked(&s.chain, started.elapsed());
                s.observer.ticked(&s.chain);
            }
            r
        });
        let reason = match ticked.await {
            Ok(Ok(_)) => continue,
            Ok(Err(e)) => e.to_string(),
            Err(e) => format!("the tick task failed: {e}"),
        };
        // Never silently: transactions are refused with the reason from now on, and the log
        // says it again every minute while the node runs.
        chain.halt(reason.clone());
        loop {
            tracing::error!("ticking stopped: {reason}; broadcasts are refused (chain_halted)");
            tokio::time::sleep(Duration::from_secs(60)).await;
        }
    }
}

/// Funds `id` in a devnet genesis (helper for apps that build their own genesis).
pub fn genesis_with_funds(funds: Vec<(Identity, Amount)>) -> GenesisFn {
    Arc::new(move || {
        let mut b = default_genesis();
        for (id, a) in &funds {
            b = b.fund(*id, *a);
        }
        b
    })
}

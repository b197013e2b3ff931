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
//! with a stable code ([`error::ApiError::code`]).

pub mod api;
pub mod blobs;
pub mod chain;
pub mod contracts;
pub mod error;
pub mod fuzz;
pub mod tokens;
/// The wire crate, as the node's API speaks it ([`comqute_wire`]).
pub use comqute_wire as wire;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use comqute_ledger::durable::{DurableConfig, DurableLedger};
use comqute_ledger::{Ledger, LedgerBuilder};
use comqute_market::MarketConfig;
use comqute_qpi::examples::{Faulty, Notary, SendMany};
use comqute_qpi::{Amount, Identity, Tick};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

pub use chain::Chain;
pub use error::ApiError;

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
}

/// The node's default genesis: the marketplace (escrow #1, worker registry #2, job registry
/// #6) with [`MarketConfig::default`], the example contracts (notary #10, send-many #11,
/// faulty #12), and no balances (devnet faucets fund identities).
pub fn default_genesis() -> LedgerBuilder {
    market_genesis(&MarketConfig::default())
}

/// The default genesis with custom marketplace settings (a resolver, shorter windows).
pub fn market_genesis(config: &MarketConfig) -> LedgerBuilder {
    let mut b = Ledger::builder();
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
        }
    }

    fn builder(&self) -> LedgerBuilder {
        (self.genesis)().epoch_ticks(self.epoch_ticks)
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

/// State shared by the ticker and the HTTP handlers.
pub struct Shared {
    chain: Mutex<Chain>,
    /// The last processed tick, for waiters and streams.
    pub tick_tx: watch::Sender<Tick>,
    /// Settings.
    pub config: NodeConfig,
    /// Blob store.
    pub blobs: blobs::BlobStore,
    /// Live token streams.
    pub tokens: tokens::TokenHub,
}

impl Shared {
    /// Shared state around an open ledger, without a server (what `Node::start` serves;
    /// the SDK's embedded transport uses it in-process). Blobs live in `config.data_dir`
    /// when set, else in memory.
    pub fn new(chain: Chain, config: NodeConfig) -> Arc<Shared> {
        let last = Tick(chain.ledger().next_tick().0.saturating_sub(1));
        let blobs = match &config.data_dir {
            Some(dir) => blobs::BlobStore::Dir(dir.join("blobs")),
            None => blobs::BlobStore::Memory(Mutex::default()),
        };
        let (tick_tx, _) = watch::channel(last);
        let tokens = tokens::TokenHub::new(config.max_stream_bytes, config.max_streams);
        Arc::new(Shared {
            chain: Mutex::new(chain),
            tick_tx,
            config,
            blobs,
            tokens,
        })
    }

    /// Locks the chain. Handlers hold it only for the duration of one ledger call.
    pub fn chain(&self) -> Result<MutexGuard<'_, Chain>, ApiError> {
        self.chain
            .lock()
            .map_err(|_| ApiError::Internal("ledger lock poisoned by a panic".into()))
    }
}

/// A running node.
pub struct Node {
    shared: Arc<Shared>,
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
        let shared = Shared::new(chain, config.clone());
        let app = api::router(shared.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
                .map_err(|e| NodeError::Runtime(e.to_string()))
        });
        let ticker =
            (config.tick_ms > 0).then(|| tokio::spawn(tick_loop(shared.clone(), config.tick_ms)));
        tracing::info!(%addr, devnet = config.devnet, tick_ms = config.tick_ms, "node listening");
        Ok(Node {
            shared,
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

    /// The shared state (for in-process inspection in tests).
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
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
        let shared = self.shared.clone();
        tokio::task::spawn_blocking(move || shared.chain().and_then(|mut c| c.flush()))
            .await
            .map_err(|e| NodeError::Runtime(e.to_string()))?
            .map_err(|e| NodeError::Runtime(e.to_string()))?;
        served
    }
}

/// Processes one tick and tells the waiters.
pub fn tick_once(shared: &Shared) -> Result<Tick, ApiError> {
    let t = shared.chain()?.process_tick()?;
    shared.tick_tx.send_replace(t);
    Ok(t)
}

async fn tick_loop(shared: Arc<Shared>, tick_ms: u64) {
    let mut every = tokio::time::interval(Duration::from_millis(tick_ms));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let s = shared.clone();
        // The tick's fsync must not stall the async workers.
        match tokio::task::spawn_blocking(move || tick_once(&s)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::error!("tick failed, ticking stopped: {e}");
                return;
            }
            Err(e) => {
                tracing::error!("tick task failed, ticking stopped: {e}");
                return;
            }
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

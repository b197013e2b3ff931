//! `comqute node`: the ledger ticking in real time behind the HTTP API, until SIGINT or
//! SIGTERM, then a clean shutdown with the log flushed.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use comqute_node::genesis::{self, MarketOverrides};
use comqute_node::{Node, NodeConfig};

/// Options of `comqute node`.
#[derive(Args)]
pub struct NodeArgs {
    /// The data directory (created if missing). Without it the node keeps everything in
    /// memory.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Milliseconds per tick (0: tick only on devnet warps).
    #[arg(long, default_value_t = 1000)]
    tick_ms: u64,
    /// Ticks per epoch.
    #[arg(long, default_value_t = 1000)]
    epoch_ticks: u32,
    /// The most transactions one identity may have waiting for their ticks; more are refused
    /// with 429 `too_many_pending` and `Retry-After`.
    #[arg(long, value_name = "N", default_value_t = 1024)]
    max_pending_per_identity: usize,
    /// The most live subscriptions (event and token streams over SSE) at once.
    #[arg(long, value_name = "N", default_value_t = 1024)]
    max_subscribers: usize,
    /// The most live subscriptions from one client address.
    #[arg(long, value_name = "N", default_value_t = 32)]
    max_subscribers_per_address: usize,
    /// Seconds a subscriber may leave its next message untaken before it is dropped.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    slow_reader_secs: u64,
    /// Requests a second per client address on writes and live streams (0: no limit);
    /// past it, 429 `rate_limited` with `Retry-After`.
    #[arg(long, value_name = "N", default_value_t = 200)]
    rate_per_address: u32,
    /// The burst of such requests taken at once from one address.
    #[arg(long, value_name = "N", default_value_t = 400)]
    rate_burst: u32,
    /// Milliseconds a request refused by the rate limit is held before its 429 goes out
    /// (a tarpit: a flooder that ignores `Retry-After` gets few answers a second).
    #[arg(long, value_name = "MS", default_value_t = 100)]
    refusal_delay_ms: u64,
    /// New blob bytes (prompts, results) an identity may store an hour, in MiB: uploads
    /// signed by an identity the chain knows (0: no quota); past it, 429 `blob_quota`.
    #[arg(long, value_name = "MIB", default_value_t = 256)]
    blob_quota: u32,
    /// The same for unsigned uploads, per client address.
    #[arg(long, value_name = "MIB", default_value_t = 32)]
    anonymous_blob_quota: u32,
    /// Turn on devnet powers (faucet, warp, and forced verdicts by `--resolver`). Never on
    /// a shared node.
    #[arg(long)]
    devnet: bool,
    /// Marketplace genesis settings. A node restarted on a data directory must be given the
    /// same ones.
    #[command(flatten)]
    market: MarketArgs,
}

/// The marketplace settings a node can be started with (the rest keep their defaults).
#[derive(Args)]
pub struct MarketArgs {
    /// A devnet's resolver: with `--devnet`, it may force the verdict of a running check
    /// (marked as forced). On a normal node replicas alone decide.
    #[arg(long, value_name = "IDENTITY")]
    resolver: Option<String>,
    /// Ticks after a result during which anyone may challenge it.
    #[arg(long, value_name = "TICKS")]
    challenge_window: Option<u32>,
    /// Ticks a replica has to commit its vote on a check (default 30).
    #[arg(long, value_name = "TICKS")]
    commit_ticks: Option<u32>,
    /// Ticks a replica has to reveal its vote after the commit deadline (default 20).
    #[arg(long, value_name = "TICKS")]
    reveal_ticks: Option<u32>,
    /// Ticks without a heartbeat after which a worker is offline.
    #[arg(long, value_name = "TICKS")]
    heartbeat_window: Option<u32>,
    /// Ticks between unbonding and withdrawal.
    #[arg(long, value_name = "TICKS")]
    unbonding_ticks: Option<u32>,
    /// Ticks an assigned worker has to start or decline a job (default 20; give more on a
    /// node with very short ticks).
    #[arg(long, value_name = "TICKS")]
    accept_ticks: Option<u32>,
    /// No spot checks: results are checked only when challenged (a genesis setting, for
    /// devnets whose tests need a result to stay unchecked until they challenge it).
    #[arg(long)]
    no_spot_checks: bool,
}

impl MarketArgs {
    /// The settings asked for on the command line (the node crate's genesis record decides
    /// what a node on a data directory runs with).
    fn overrides(&self) -> Result<MarketOverrides> {
        Ok(MarketOverrides {
            resolver: self
                .resolver
                .as_deref()
                .map(|r| {
                    r.trim()
                        .parse()
                        .map_err(|e| anyhow::anyhow!("bad --resolver {r:?}: {e}"))
                })
                .transpose()?,
            challenge_window: self.challenge_window,
            commit_ticks: self.commit_ticks,
            reveal_ticks: self.reveal_ticks,
            forced_verdicts: None,
            heartbeat_window: self.heartbeat_window,
            unbonding_ticks: self.unbonding_ticks,
            accept_ticks: self.accept_ticks,
            spot_checks: self.no_spot_checks.then_some(false),
        })
    }
}

/// Runs the node until a signal.
pub fn run(a: NodeArgs) -> Result<()> {
    let mut overrides = a.market.overrides()?;
    // Only a devnet's resolver may force verdicts.
    overrides.forced_verdicts = (a.devnet && overrides.resolver.is_some()).then_some(true);
    let market = genesis::market_settings(a.data_dir.as_deref(), &overrides)?;
    init_tracing();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    rt.block_on(async move {
        let config = NodeConfig {
            data_dir: a.data_dir,
            listen: a.listen,
            tick_ms: a.tick_ms,
            epoch_ticks: a.epoch_ticks,
            devnet: a.devnet,
            max_pending_per_identity: a.max_pending_per_identity.max(1),
            max_subscribers: a.max_subscribers.max(1),
            max_subscribers_per_address: a.max_subscribers_per_address.max(1),
            slow_reader_secs: a.slow_reader_secs.max(1),
            rate_per_address: a.rate_per_address,
            rate_burst: a.rate_burst,
            refusal_delay_ms: a.refusal_delay_ms,
            blob_quota_mib_per_hour: a.blob_quota,
            anonymous_blob_quota_mib_per_hour: a.anonymous_blob_quota,
            // `--profile` (global) set the display profile before any command ran.
            profile: comqute_qpi::profile::display(),
            ..NodeConfig::test()
        }
        .with_market(market);
        let node = Node::start(config).await?;
        // The first line on stdout says where the node listens (tests read it).
        println!("listening on http://{}", node.addr());
        wait_for_signal().await?;
        tracing::info!("signal received, shutting down");
        node.shutdown().await?;
        Ok(())
    })
}

/// Waits for Ctrl-C or SIGTERM.
pub async fn wait_for_signal() -> Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.context("waiting for Ctrl-C")?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    Ok(())
}

/// Logs to stderr; `RUST_LOG` filters (default `info`). In colour only on a terminal and
/// without `NO_COLOR`, so a log redirected to a file or a pipe is plain text.
pub fn init_tracing() {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = colours(
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    );
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .try_init();
}

/// Whether to log in colour: on a terminal, unless `NO_COLOR` is set to a non-empty value
/// (<https://no-color.org>).
fn colours(terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    terminal && no_color.is_none_or(|v| v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::colours;
    use std::ffi::OsStr;

    #[test]
    fn colours_only_on_a_terminal_without_no_color() {
        assert!(colours(true, None));
        assert!(colours(true, Some(OsStr::new(""))));
        assert!(!colours(true, Some(OsStr::new("1"))));
        assert!(!colours(false, None));
        assert!(!colours(false, Some(OsStr::new(""))));
    }
}

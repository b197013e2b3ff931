//! What the daemon tests share: a daemon running in a task, and polling until a condition
//! holds.

#![allow(dead_code)]

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use comqute_inference::Backend;
use comqute_sdk::contracts::MarketConfig;
use comqute_sdk::{Client, Embedded, Keypair, TickMode, Transport};
use comqute_worker::{Stop, Worker, WorkerConfig, WorkerError, WorkerReport};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A daemon running in a task, and the switch that stops it.
pub struct Running {
    stop: watch::Sender<Stop>,
    task: JoinHandle<Result<WorkerReport, WorkerError>>,
}

impl Running {
    pub async fn start(
        client: &Client,
        key: &Keypair,
        backend: Arc<dyn Backend>,
        cfg: WorkerConfig,
    ) -> Result<Running, WorkerError> {
        let (stop, mut rx) = watch::channel(Stop::Run);
        let w = Worker::prepare(client.clone(), key.clone(), backend, cfg, &mut rx).await?;
        Ok(Running {
            stop,
            task: tokio::spawn(w.run(rx)),
        })
    }

    /// Drains and waits for the report.
    pub async fn stop(self) -> WorkerReport {
        self.stop.send(Stop::Drain).expect("the daemon listens");
        tokio::time::timeout(Duration::from_secs(60), self.task)
            .await
            .expect("the daemon stops within a minute")
            .expect("the daemon task")
            .expect("the daemon's report")
    }
}

/// Polls `f` every 20 ms until it gives a value; panics after `secs` seconds.
pub async fn eventually<T, Fut>(what: &str, secs: u64, mut f: impl FnMut() -> Fut) -> T
where
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within {secs} s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An embedded ledger in manual tick mode, ticked every 10 ms by a task of the test (the
/// node's clock, without HTTP), and a client of it.
pub struct Chain {
    pub client: Client,
    ticker: JoinHandle<()>,
}

impl Chain {
    /// The marketplace with `market`, ticking.
    pub fn start(market: &MarketConfig) -> Chain {
        let ledger = comqute_node::market_genesis(market)
            .build()
            .expect("the marketplace genesis builds");
        let embedded = Embedded::with_mode(ledger, TickMode::Manual);
        let ticking = embedded.clone();
        let ticker = tokio::spawn(async move {
            loop {
                ticking.tick().expect("a tick of the embedded ledger");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        });
        Chain {
            client: Client::new(Transport::Embedded(embedded)),
            ticker,
        }
    }
}

impl Drop for Chain {
    fn drop(&mut self) {
        self.ticker.abort();
    }
}

//! What an operator scrapes: Prometheus metrics at `/metrics` (the OpenMetrics text format,
//! from the `prometheus-client` crate) and readiness at `/health`.
//!
//! | metric | kind | what |
//! |---|---|---|
//! | `comqute_ticks_total` | counter | ticks processed by the node's clock |
//! | `comqute_tick_duration_seconds` | histogram | time to process one tick (with its log write) |
//! | `comqute_last_tick` | gauge | the last processed tick |
//! | `comqute_pending_transactions` | gauge | transactions waiting for their tick |
//! | `comqute_jobs{status}` | gauge | jobs in each status |
//! | `comqute_tokens_served_total` | counter | output tokens of results posted since the node started |
//! | `comqute_http_requests_total{route,method,status}` | counter | requests by route template |
//! | `comqute_sse_subscribers` | gauge | live event and token streams |
//!
//! `/health` answers 200 `{"status": "ready", "tick"}` once the ledger is loaded and ticking,
//! else 503 `not_ready` with the reason (the chain halted, or no tick for ten tick lengths).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use comqute_market::job_registry::JobEvent;
use comqute_market::JOB_REGISTRY;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::chain::ChainService;
use crate::error::ServiceError;

/// Labels of `comqute_http_requests_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    /// The route template (`/v1/jobs/{id}`), or `unmatched`.
    pub route: String,
    /// The method.
    pub method: String,
    /// The answer's status code.
    pub status: u16,
}

/// Labels of `comqute_jobs`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabel {
    /// The job status.
    pub status: String,
}

/// The node's metrics.
pub struct NodeMetrics {
    registry: Registry,
    ticks: Counter,
    tick_seconds: Histogram,
    last_tick: Gauge,
    pending: Gauge,
    jobs: Family<StatusLabel, Gauge>,
    tokens: Counter,
    http: Family<HttpLabels, Counter>,
    sse: Gauge,
    /// The next event number not yet looked at for posted results.
    events_seen: Mutex<Option<u64>>,
    started: Instant,
    /// Milliseconds after `started` of the last tick processed (0: none yet).
    last_tick_at: AtomicU64,
}

impl std::fmt::Debug for NodeMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeMetrics").finish_non_exhaustive()
    }
}

impl Default for NodeMetrics {
    fn default() -> Self {
        NodeMetrics::new()
    }
}

impl NodeMetrics {
    /// Every metric, registered.
    pub fn new() -> NodeMetrics {
        let mut registry = Registry::default();
        let ticks = Counter::default();
        registry.register("comqute_ticks", "Ticks processed", ticks.clone());
        // 50 µs to ~1.6 s.
        let tick_seconds = Histogram::new(exponential_buckets(0.000_05, 2.0, 16));
        registry.register(
            "comqute_tick_duration_seconds",
            "Time to process one tick",
            tick_seconds.clone(),
        );
        let last_tick = Gauge::default();
        registry.register(
            "comqute_last_tick",
            "The last processed tick",
            last_tick.clone(),
        );
        let pending = Gauge::default();
        registry.register(
            "comqute_pending_transactions",
            "Transactions waiting for their tick",
            pending.clone(),
        );
        let jobs = Family::<StatusLabel, Gauge>::default();
        registry.register("comqute_jobs", "Jobs in each status", jobs.clone());
        let tokens = Counter::default();
        registry.register(
            "comqute_tokens_served",
            "Output tokens of results posted since the node started",
            tokens.clone(),
        );
        let http = Family::<HttpLabels, Counter>::default();
        registry.register("comqute_http_requests", "HTTP requests", http.clone());
        let sse = Gauge::default();
        registry.register(
            "comqute_sse_subscribers",
            "Live event and token streams",
            sse.clone(),
        );
        NodeMetrics {
            registry,
            ticks,
            tick_seconds,
            last_tick,
            pending,
            jobs,
            tokens,
            http,
            sse,
            events_seen: Mutex::new(None),
            started: Instant::now(),
            last_tick_at: AtomicU64::new(0),
        }
    }

    /// A tick processed by the node's clock in `took`: counted, timed, and the results it
    /// posted added to the tokens served.
    pub fn ticked(&self, chain: &ChainService, took: Duration) {
        self.ticks.inc();
        self.tick_seconds.observe(took.as_secs_f64());
        let since = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_tick_at.store(since.max(1), Ordering::Relaxed);
        self.count_tokens(chain);
    }

    /// Adds the output tokens of results posted since the last look.
    fn count_tokens(&self, chain: &ChainService) {
        let Ok(mut seen) = self.events_seen.lock() else {
            return;
        };
        let Ok(head) = chain.events_head() else {
            return;
        };
        // From start-up on: the history before it was served by an earlier process.
        let from = *seen.get_or_insert(head);
        let mut cursor = from;
        while cursor < head {
            let Ok(batch) = chain.events_since_raw(cursor, 4_096) else {
                return;
            };
            if batch.is_empty() {
                break;
            }
            for e in &batch {
                cursor = cursor.max(e.seq + 1);
                if e.contract != JOB_REGISTRY {
                    continue;
                }
                if let Ok(JobEvent::ResultPosted { result, .. }) =
                    borsh::BorshDeserialize::try_from_slice(&e.data)
                {
                    self.tokens.inc_by(u64::from(result.output_tokens));
                }
            }
        }
        *seen = Some(cursor);
    }

    /// One HTTP request answered.
    pub fn request(&self, route: &str, method: &str, status: u16) {
        self.http
            .get_or_create(&HttpLabels {
                route: route.to_string(),
                method: method.to_string(),
                status,
            })
            .inc();
    }

    /// The Prometheus text: the gauges read from the chain now, then every metric.
    pub fn render(&self, chain: &ChainService, subscribers: usize) -> Result<String, ServiceError> {
        let (pending, last) =
            chain.read(|l| (l.pending_count(), l.next_tick().0.saturating_sub(1)))?;
        self.pending.set(i64::try_from(pending).unwrap_or(i64::MAX));
        self.last_tick.set(i64::from(last));
        let stats = chain.stats()?;
        for (status, n) in &stats.jobs.by_status {
            self.jobs
                .get_or_create(&StatusLabel {
                    status: status.clone(),
                })
                .set(i64::try_from(*n).unwrap_or(i64::MAX));
        }
        self.sse.set(i64::try_from(subscribers).unwrap_or(i64::MAX));
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .map_err(|e| ServiceError::Internal(format!("metrics: {e}")))?;
        Ok(out)
    }

    /// `Ok(tick)` when the node is ready: its ledger is loaded (it is, once the node
    /// serves), it has not halted, and, with a clock of `tick_ms`, it ticked within ten tick
    /// lengths (at least 5 s); `Err(why)` otherwise.
    pub fn ready(&self, chain: &ChainService, tick_ms: u64) -> Result<u32, String> {
        if let Some(why) = chain.halted() {
            return Err(format!("the chain has halted: {why}"));
        }
        let tick = chain
            .read(|l| l.next_tick().0.saturating_sub(1))
            .map_err(|e| e.to_string())?;
        if tick_ms == 0 {
            return Ok(tick);
        }
        let patience = (tick_ms.saturating_mul(10)).max(5_000);
        let now = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let last = self.last_tick_at.load(Ordering::Relaxed);
        // Before the first tick, the start counts as one.
        if now.saturating_sub(last) > patience {
            return Err(format!("no tick for {} ms", now.saturating_sub(last)));
        }
        Ok(tick)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::Chain;

    #[test]
    fn health_is_ready_while_ticking_and_says_why_not_once_halted() {
        let ledger = crate::default_genesis()
            .build()
            .expect("the genesis builds");
        let chain = ChainService::new(Chain::Memory(Box::new(ledger)), 50, true);
        let m = NodeMetrics::new();
        assert_eq!(m.ready(&chain, 50), Ok(0));
        chain.process_tick().expect("a tick");
        m.ticked(&chain, Duration::from_millis(1));
        assert_eq!(m.ready(&chain, 50), Ok(1));
        chain.halt("tick counter exhausted".into());
        let why = m.ready(&chain, 50).unwrap_err();
        assert!(why.contains("halted") && why.contains("exhausted"), "{why}");
        // Rendering works on a fresh node and counts the tick.
        let text = m.render(&chain, 0).expect("rendered");
        assert!(text.contains("comqute_ticks_total 1"), "{text}");
    }
}

//! `comqute bench node`: bounded loopback load on a node's broadcast endpoint. It sends
//! pre-built transfers (at most `--txs`, for at most `--seconds`, each phase) from
//! `--concurrency` connections and measures accepted transactions per second and the p50/p99
//! latency of one request, twice:
//!
//! - **signed**: real ed25519-signed transactions to `POST /v1/broadcast-transaction` (the
//!   node decodes, verifies the signature and queues);
//! - **unsigned**: the same kind of transactions, signature bytes zero, to the devnet
//!   `POST /v1/devnet/broadcast-unsigned` (decode and queue, no signature check: the harness
//!   mode over HTTP).
//!
//! Without `--url` it starts a devnet node in this process on `127.0.0.1:0` (in memory, its
//! senders funded at genesis); with `--url` the node must be a devnet node on a loopback
//! address (its faucet funds the senders). Transactions are signed before the clock starts
//! and scheduled for ticks after the run, so what is measured is the endpoint's admission
//! path (HTTP, JSON, base64, decoding, verification, the pending pool); tick execution is
//! what `bench ledger` measures. Load never goes to a non-loopback address.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use base64::Engine;
use clap::Args;
use comqute_ledger::{Keypair, Transaction};
use comqute_node::wire::{routes, ErrorBody, TickInfoResponse};
use comqute_node::{Node, NodeConfig};
use comqute_qpi::{Amount, Identity, Tick};
use serde_json::{json, Value};

/// Options of `comqute bench node`.
#[derive(Args)]
pub struct NodeBenchArgs {
    /// A running devnet node on a loopback address (default: start one in this process).
    #[arg(long)]
    url: Option<String>,
    /// Transactions per phase (signed, unsigned).
    #[arg(long, default_value_t = 20_000)]
    txs: usize,
    /// Time bound per phase, in seconds.
    #[arg(long, default_value_t = 30.0)]
    seconds: f64,
    /// Requests in flight.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Distinct senders (funded identities) the transactions come from.
    #[arg(long, default_value_t = 64)]
    senders: u32,
    /// Milliseconds per tick of the in-process node.
    #[arg(long, default_value_t = 1000)]
    tick_ms: u64,
    /// Give the in-process node a data directory (a temporary one): every broadcast is
    /// answered once it is in the synced log, as on a real node.
    #[arg(long)]
    durable: bool,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// Transactions scheduled per tick (a tick holds 4,096).
const PER_TICK: usize = 2048;
/// The most ticks ahead a transaction may be scheduled (the ledger's default window).
const MAX_AHEAD: u64 = 100_000;
/// Failed requests (transport errors) after which a phase stops.
const MAX_TRANSPORT_ERRORS: usize = 100;

/// The URL if its host is loopback (`127.0.0.0/8`, `::1`, `localhost`); an error otherwise.
pub fn loopback_url(url: &str) -> Result<String> {
    let u = reqwest::Url::parse(url).with_context(|| format!("--url {url:?} is not a URL"))?;
    ensure!(
        matches!(u.scheme(), "http" | "https"),
        "--url {url:?}: expected http:// or https://"
    );
    let host = u.host_str().unwrap_or("");
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !loopback {
        bail!(
            "bench node loads loopback nodes only (127.0.0.0/8, ::1, localhost); {host:?} in \
             {url:?} is not loopback"
        );
    }
    Ok(url.trim_end_matches('/').to_string())
}

fn sender(i: u32) -> Keypair {
    let mut secret = [0x5b; 32];
    secret[..4].copy_from_slice(&i.to_le_bytes());
    Keypair::from_secret(secret)
}

fn destination(phase: u8, i: usize) -> Identity {
    let mut d = [0u8; 32];
    d[0] = 0xb0 | phase;
    d[1..9].copy_from_slice(&(i as u64).to_le_bytes());
    Identity(d)
}

/// What one phase measured.
struct Phase {
    sent: usize,
    accepted: usize,
    rejected: BTreeMap<String, usize>,
    transport_errors: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Phase {
    fn json(&mut self, endpoint: &str) -> Value {
        self.latencies.sort_unstable();
        let pct = |p: f64| -> f64 {
            if self.latencies.is_empty() {
                return 0.0;
            }
            let i =
                ((self.latencies.len() as f64 * p).ceil() as usize).clamp(1, self.latencies.len());
            ms(self.latencies[i - 1])
        };
        json!({
            "endpoint": endpoint,
            "sent": self.sent,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "transport_errors": self.transport_errors,
            "elapsed_s": round3(self.elapsed.as_secs_f64()),
            "tps": round1(self.accepted as f64 / self.elapsed.as_secs_f64().max(1e-9)),
            "p50_ms": pct(0.50),
            "p99_ms": pct(0.99),
            "max_ms": self.latencies.last().map(|d| ms(*d)).unwrap_or(0.0),
        })
    }
}

fn ms(d: Duration) -> f64 {
    round3(d.as_secs_f64() * 1e3)
}

fn round3(x: f64) -> f64 {
    (x * 1e3).round() / 1e3
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Sends `bodies` to `url` from `concurrency` tasks until all are sent or `limit` passes.
async fn phase(
    client: &reqwest::Client,
    url: String,
    bodies: Arc<Vec<String>>,
    concurrency: usize,
    limit: Duration,
) -> Phase {
    let next = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let deadline = start + limit;
    let mut tasks = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (client, url, bodies) = (client.clone(), url.clone(), bodies.clone());
        let (next, errors) = (next.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut accepted = 0usize;
            let mut rejected: BTreeMap<String, usize> = BTreeMap::new();
            loop {
                if Instant::now() >= deadline
                    || errors.load(Ordering::Relaxed) >= MAX_TRANSPORT_ERRORS
                {
                    break;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(body) = bodies.get(i) else { break };
                let t = Instant::now();
                let r = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await;
                let r = match r {
                    Ok(r) => {
                        let ok = r.status().is_success();
                        r.bytes().await.map(|b| (ok, b))
                    }
                    Err(e) => Err(e),
                };
                lat.push(t.elapsed());
                match r {
                    Ok((true, _)) => accepted += 1,
                    Ok((false, b)) => {
                        let code = serde_json::from_slice::<ErrorBody>(&b)
                            .map(|e| e.code)
                            .unwrap_or_else(|_| "unreadable_error".into());
                        *rejected.entry(code).or_default() += 1;
                    }
                    Err(_) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            (lat, accepted, rejected)
        }));
    }
    let mut out = Phase {
        sent: 0,
        accepted: 0,
        rejected: BTreeMap::new(),
        transport_errors: 0,
        elapsed: Duration::ZERO,
        latencies: Vec::new(),
    };
    for t in tasks {
        if let Ok((lat, accepted, rejected)) = t.await {
            out.sent += lat.len();
            out.latencies.extend(lat);
            out.accepted += accepted;
            for (k, v) in rejected {
                *out.rejected.entry(k).or_default() += v;
            }
        }
    }
    out.elapsed = start.elapsed();
    out.transport_errors = errors.load(Ordering::Relaxed);
    out
}

/// Bodies of `n` transfers of 1 unit from `senders`, `PER_TICK` a tick from `first_tick`.
fn bodies(senders: &[Keypair], n: usize, phase_no: u8, first_tick: u32, sign: bool) -> Vec<String> {
    let b64 = base64::engine::general_purpose::STANDARD;
    (0..n)
        .map(|i| {
            let from = &senders[i % senders.len()];
            // Invariant: n / PER_TICK ticks fit in u32 (n is a usize count of bodies in memory
            // and the caller checks the window).
            let tick = Tick(first_tick + (i / PER_TICK) as u32);
            let tx = Transaction::new(
                from.identity(),
                destination(phase_no, i),
                Amount(1),
                tick,
                0,
                Vec::new(),
            );
            let tx = if sign { tx.sign(from) } else { tx };
            json!({ "encodedTransaction": b64.encode(tx.encode()) }).to_string()
        })
        .collect()
}

/// Runs `comqute bench node`.
pub fn run(a: NodeBenchArgs) -> Result<()> {
    ensure!(a.txs > 0, "--txs must be at least 1");
    ensure!(a.senders > 0, "--senders must be at least 1");
    ensure!(
        a.seconds > 0.0 && a.seconds.is_finite(),
        "--seconds must be positive"
    );
    let url = a.url.as_deref().map(loopback_url).transpose()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    rt.block_on(bench(a, url))
}

async fn bench(a: NodeBenchArgs, url: Option<String>) -> Result<()> {
    let senders: Vec<Keypair> = (0..a.senders).map(sender).collect();
    let funding = Amount(1_000_000_000);
    let (node, base) = match url {
        Some(u) => (None, u),
        None => {
            let funds = senders.iter().map(|k| (k.identity(), funding)).collect();
            let data_dir = a.durable.then(|| {
                std::env::temp_dir().join(format!("comqute-bench-node-{}", std::process::id()))
            });
            if let Some(d) = &data_dir {
                let _ = std::fs::remove_dir_all(d);
            }
            let node = Node::start(NodeConfig {
                data_dir: data_dir.clone(),
                tick_ms: a.tick_ms,
                genesis: comqute_node::genesis_with_funds(funds),
                max_streams: 16,
                // The benchmark floods from a few senders on one address on purpose: no
                // per-identity cap, no per-address rate, no blob quota.
                max_pending_per_identity: usize::MAX,
                rate_per_address: 0,
                blob_quota_mib_per_hour: 0,
                anonymous_blob_quota_mib_per_hour: 0,
                ..NodeConfig::test()
            })
            .await
            .context("starting the in-process node")?;
            let base = format!("http://{}", node.addr());
            (Some(node), base)
        }
    };
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(a.concurrency.max(1))
        .timeout(Duration::from_secs(30))
        .build()
        .context("building the HTTP client")?;
    let result = measure(&a, &client, &base, &senders, funding, node.is_some()).await;
    if let Some(n) = node {
        n.shutdown().await.context("stopping the in-process node")?;
        if a.durable {
            let _ = std::fs::remove_dir_all(
                std::env::temp_dir().join(format!("comqute-bench-node-{}", std::process::id())),
            );
        }
    }
    let report = result?;
    if a.json {
        super::print_json(&report);
    } else {
        print_table(&report);
    }
    Ok(())
}

async fn measure(
    a: &NodeBenchArgs,
    client: &reqwest::Client,
    base: &str,
    senders: &[Keypair],
    funding: Amount,
    in_process: bool,
) -> Result<Value> {
    let tick_info = routes::v1(routes::TICK_INFO, &[]);
    let (signed_path, unsigned_path) = (
        routes::v1(routes::BROADCAST, &[]),
        routes::v1(routes::BROADCAST_UNSIGNED, &[]),
    );
    let info: TickInfoResponse = client
        .get(format!("{base}{tick_info}"))
        .send()
        .await
        .with_context(|| format!("no node answers at {base}"))?
        .error_for_status()?
        .json()
        .await
        .context("reading tick-info")?;
    if !in_process {
        // Fund the senders with the devnet faucet (what makes the node accept them).
        for k in senders {
            let r = client
                .post(format!("{base}{}", routes::v1(routes::FAUCET, &[])))
                .json(&json!({ "identity": k.identity().to_string(), "amount": funding.0.to_string() }))
                .send()
                .await
                .context("calling the devnet faucet")?;
            if !r.status().is_success() {
                let body = r.text().await.unwrap_or_default();
                bail!("the node refused its devnet faucet ({body}); bench node needs a node started with --devnet");
            }
        }
    }
    // Schedule every transaction after both phases can have ended, so none turns stale
    // while the bench runs.
    let tick_ms = u64::from(info.tick_info.duration);
    let ahead = if tick_ms == 0 {
        2
    } else {
        ((2.0 * a.seconds + 10.0) * 1000.0 / tick_ms as f64).ceil() as u64
    };
    let ticks_per_phase = a.txs.div_ceil(PER_TICK) as u64;
    ensure!(
        ahead + 2 * ticks_per_phase <= MAX_AHEAD,
        "--txs {} and --seconds {} need {} ticks ahead; the node accepts {MAX_AHEAD}",
        a.txs,
        a.seconds,
        ahead + 2 * ticks_per_phase
    );
    let first = u64::from(info.tick_info.tick) + ahead;
    let first = u32::try_from(first).context("the node's tick is near the end of the range")?;
    let second = first + ticks_per_phase as u32;
    let signed = Arc::new(bodies(senders, a.txs, 1, first, true));
    let unsigned = Arc::new(bodies(senders, a.txs, 2, second, false));

    // Warm up the connections.
    for _ in 0..a.concurrency.max(1) {
        let _ = client.get(format!("{base}{tick_info}")).send().await;
    }
    let limit = Duration::from_secs_f64(a.seconds);
    let mut s = phase(
        client,
        format!("{base}{signed_path}"),
        signed,
        a.concurrency,
        limit,
    )
    .await;
    let mut u = phase(
        client,
        format!("{base}{unsigned_path}"),
        unsigned,
        a.concurrency,
        limit,
    )
    .await;
    if u.accepted == 0 && u.rejected.contains_key("not_found") {
        bail!("the node has no {unsigned_path} (an older node?)");
    }
    if u.accepted == 0 && u.rejected.contains_key("devnet_only") {
        bail!("the unsigned broadcast is a devnet power: start the node with --devnet");
    }
    let sj = s.json(&signed_path);
    let uj = u.json(&unsigned_path);
    let ratio = match (sj["tps"].as_f64(), uj["tps"].as_f64()) {
        (Some(st), Some(ut)) if st > 0.0 => Some((ut / st * 100.0).round() / 100.0),
        _ => None,
    };
    Ok(json!({
        "url": base,
        "in_process": in_process,
        "durable": in_process && a.durable,
        "txs": a.txs,
        "seconds_limit": a.seconds,
        "concurrency": a.concurrency,
        "senders": a.senders,
        "threads": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "signed": sj,
        "unsigned": uj,
        "unsigned_over_signed": ratio,
    }))
}

fn print_table(r: &Value) {
    println!(
        "node             {}{}",
        r["url"].as_str().unwrap_or("?"),
        if r["in_process"].as_bool() == Some(true) {
            " (in this process)"
        } else {
            ""
        }
    );
    println!(
        "load             {} transactions a phase, ≤ {} s, {} in flight, {} senders",
        r["txs"], r["seconds_limit"], r["concurrency"], r["senders"]
    );
    for name in ["signed", "unsigned"] {
        let p = &r[name];
        println!(
            "{name:<16} {} tx/s  p50 {} ms  p99 {} ms  max {} ms  ({} accepted of {} sent in {} s; rejected {}; transport errors {})",
            p["tps"], p["p50_ms"], p["p99_ms"], p["max_ms"], p["accepted"], p["sent"],
            p["elapsed_s"], p["rejected"], p["transport_errors"]
        );
    }
    println!("unsigned/signed  {}", r["unsigned_over_signed"]);
}

//! `comqute bench abuse`: does one abusive client slow an honest one down? A bounded loopback
//! load test (issue 21) on a node in this process with its production limits on (per-address
//! rates, the per-identity pending cap, blob quotas) and a data directory (a broadcast is
//! answered once it is in the synced log):
//!
//! - **the honest requester** (from `127.0.0.1`) runs `--jobs` jobs one after another through
//!   the SDK (signed prompt upload, submit, live token stream, result) served by a worker
//!   daemon in this process on the stand-in backend, while a prober times two reads every
//!   20 ms (tick info, the job's status);
//! - **the flooder** (from `127.0.0.2`, one identity) runs `--flooders` connections as fast as
//!   the node answers, ignoring `Retry-After`: half broadcast signed transfers for future
//!   ticks, half upload fresh 1 MiB blobs (one in four signed by its identity, the rest not).
//!
//! Twice: idle (no flooder), then under the flood. The report: the honest requester's
//! request latency p50/p99 (the prober's reads and its uploads), the p99 ratio flood/idle,
//! its jobs' submit, first-token and result latencies, every job's end (all must be paid:
//! none dropped), and what the flooder got (accepted, and each refusal code). Bounded by
//! `--jobs` and `--seconds` per phase; loopback only.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use base64::Engine;
use clap::Args;
use comqute_ledger::{Keypair, Seed, Transaction};
use comqute_node::{Node, NodeConfig};
use comqute_qpi::{Amount, Hash32, Identity, Tick};
use comqute_sdk::{Client, JobRequest, TokenEvent};
use comqute_worker::{Stop, Worker, WorkerConfig};
use serde_json::{json, Value};
use tokio::sync::watch;

/// Options of `comqute bench abuse`.
#[derive(Args)]
pub struct AbuseBenchArgs {
    /// Jobs the honest requester runs per phase.
    #[arg(long, default_value_t = 20)]
    jobs: usize,
    /// The flooder's connections (half broadcast, half blob uploads).
    #[arg(long, default_value_t = 8)]
    flooders: usize,
    /// Time bound per phase, in seconds.
    #[arg(long, default_value_t = 120.0)]
    seconds: f64,
    /// Milliseconds per tick.
    #[arg(long, default_value_t = 50)]
    tick_ms: u64,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

const MODEL: &str = "stand-in";
const MAX_TOKENS: u32 = 48;
const PRICE: i64 = 2_000;
const BLOB_KIB: usize = 1024;
/// Transactions the flooder signs before it starts (sent round and round).
const FLOOD_TXS: usize = 4_096;
const HONEST: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));
const FLOODER: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

fn keypair(name: &str) -> Keypair {
    let mut s = name.repeat(55);
    s.truncate(55);
    // Invariant: lowercase letters only, 55 of them: a valid seed.
    Seed::new(&s).expect("a valid seed").keypair()
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// `{n, p50, p90, p99, max}` in milliseconds.
fn summary(v: &[Duration]) -> Value {
    let mut s: Vec<Duration> = v.to_vec();
    s.sort();
    let at = |p: usize| {
        s.get((s.len() * p / 100).min(s.len().saturating_sub(1)))
            .map_or(0.0, |d| ms(*d))
    };
    json!({
        "n": s.len(),
        "p50_ms": at(50),
        "p90_ms": at(90),
        "p99_ms": at(99),
        "max_ms": s.last().map_or(0.0, |d| ms(*d)),
    })
}

/// Runs the benchmark.
pub fn run(a: AbuseBenchArgs) -> Result<()> {
    ensure!(a.jobs > 0, "--jobs must be at least 1");
    ensure!(
        a.seconds > 0.0 && a.seconds.is_finite(),
        "--seconds must be positive"
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let report = rt.block_on(bench(&a))?;
    if a.json {
        super::print_json(&report);
    } else {
        print_table(&report);
    }
    Ok(())
}

struct Phase {
    reads: Vec<Duration>,
    uploads: Vec<Duration>,
    submit: Vec<Duration>,
    first_token: Vec<Duration>,
    result: Vec<Duration>,
    jobs: Vec<u64>,
}

async fn bench(a: &AbuseBenchArgs) -> Result<Value> {
    let (requester, worker, flooder) = (
        keypair("honestrequester"),
        keypair("honestworker"),
        keypair("flooder"),
    );
    let dir = std::env::temp_dir().join(format!("comqute-bench-abuse-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let funds = [&requester, &worker, &flooder]
        .iter()
        .map(|k| (k.identity(), Amount(1_000_000_000)))
        .collect();
    let node = Node::start(NodeConfig {
        data_dir: Some(dir.clone()),
        tick_ms: a.tick_ms,
        genesis: comqute_node::genesis_with_funds(funds),
        ..NodeConfig::test()
    })
    .await
    .context("starting the in-process node")?;
    let base = format!("http://{}", node.addr());
    let out = measure(a, &base, &requester, &worker, &flooder).await;
    node.shutdown()
        .await
        .context("stopping the in-process node")?;
    let _ = std::fs::remove_dir_all(&dir);
    out
}

async fn measure(
    a: &AbuseBenchArgs,
    base: &str,
    requester: &Keypair,
    worker: &Keypair,
    flooder: &Keypair,
) -> Result<Value> {
    let client = Client::remote(base)?;
    // The worker daemon, on the stand-in (a token every 2 ms).
    let backend = Arc::new(
        comqute_inference::standin::StandInBackend::new(vec![MODEL.to_string()])?
            .with_token_delay(Duration::from_millis(2)),
    );
    let cfg = WorkerConfig {
        stake: Some(Amount(100_000)),
        price_per_1k: Some(Amount(PRICE)),
        concurrency: 4,
        benchmark: false,
        ..WorkerConfig::default()
    };
    let (stop_worker, mut stop_rx) = watch::channel(Stop::Run);
    let daemon = Worker::prepare(client.clone(), worker.clone(), backend, cfg, &mut stop_rx)
        .await
        .context("starting the worker daemon")?;
    let daemon = tokio::spawn(daemon.run(stop_rx));
    eprintln!("worker daemon started; waiting for it to come online");
    let out = phases(a, &client, base, requester, worker, flooder).await;
    let _ = stop_worker.send(Stop::Drain);
    let _ = tokio::time::timeout(Duration::from_secs(30), daemon).await;
    out
}

async fn phases(
    a: &AbuseBenchArgs,
    client: &Client,
    base: &str,
    requester: &Keypair,
    worker: &Keypair,
    flooder: &Keypair,
) -> Result<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let w = client.workers().get(&worker.identity()).await?;
        if w.is_some_and(|w| w.online) {
            break;
        }
        ensure!(Instant::now() < deadline, "the worker did not come online");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let bound = Duration::from_secs_f64(a.seconds);
    eprintln!("idle phase: {} jobs", a.jobs);
    let idle = honest_phase(client, base, requester, a.jobs, bound, 0).await?;
    let stop = Arc::new(AtomicBool::new(false));
    let codes = Arc::new(Mutex::new(BTreeMap::<String, u64>::new()));
    let blob_bytes = Arc::new(AtomicU64::new(0));
    // Signed before the clock starts, as an attacker would (its CPU is not the node's): 1 KB
    // inputs for ticks far ahead, what fills a pending pool.
    let now = client.tick().await?.0;
    let txs: Arc<Vec<String>> = Arc::new(
        (0..FLOOD_TXS)
            .map(|n| {
                let tx = Transaction::new(
                    flooder.identity(),
                    Identity([7; 32]),
                    Amount(1),
                    Tick(now + 1_000 + n as u32),
                    0,
                    vec![(n % 251) as u8; 1000],
                )
                .sign(flooder);
                json!({
                    "encodedTransaction":
                        base64::engine::general_purpose::STANDARD.encode(tx.encode())
                })
                .to_string()
            })
            .collect(),
    );
    let mut floods = Vec::new();
    for i in 0..a.flooders.max(1) {
        let (stop, codes, blob_bytes) = (stop.clone(), codes.clone(), blob_bytes.clone());
        let (base, k, txs) = (base.to_string(), flooder.clone(), txs.clone());
        floods.push(tokio::spawn(async move {
            flood(i, &base, &k, &txs, &stop, &codes, &blob_bytes).await
        }));
    }
    let started = Instant::now();
    eprintln!(
        "flood phase: {} jobs beside {} flooding connections",
        a.jobs,
        a.flooders.max(1)
    );
    let under = honest_phase(client, base, requester, a.jobs, bound, 1).await;
    stop.store(true, Ordering::Relaxed);
    let flood_secs = started.elapsed().as_secs_f64();
    for f in floods {
        f.await.context("a flooder")??;
    }
    let under = under?;

    // Every honest job must end paid: Finalized (after its challenge window).
    let mut ends = BTreeMap::<String, u64>::new();
    let deadline = Instant::now() + bound;
    for id in idle.jobs.iter().chain(&under.jobs) {
        loop {
            let j = client.jobs().handle(*id).status().await?;
            if j.status.is_terminal() {
                *ends.entry(j.status.name().to_string()).or_default() += 1;
                break;
            }
            if Instant::now() > deadline {
                *ends
                    .entry(format!("still {}", j.status.name()))
                    .or_default() += 1;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    let all = |p: &Phase| [p.reads.clone(), p.uploads.clone()].concat();
    let (idle_all, under_all) = (all(&idle), all(&under));
    let p99 = |v: &[Duration]| summary(v)["p99_ms"].as_f64().unwrap_or(0.0);
    let ratio = p99(&under_all) / p99(&idle_all).max(1e-3);
    let jobs_total = (idle.jobs.len() + under.jobs.len()) as u64;
    let finalized = ends.get("Finalized").copied().unwrap_or(0);
    let codes = codes.lock().map(|c| c.clone()).unwrap_or_default();
    let phase = |p: &Phase| {
        json!({
            "requests": summary(&all(p)),
            "reads": summary(&p.reads),
            "uploads": summary(&p.uploads),
            "submit": summary(&p.submit),
            "first_token": summary(&p.first_token),
            "result": summary(&p.result),
        })
    };
    Ok(json!({
        "jobs_per_phase": a.jobs,
        "tick_ms": a.tick_ms,
        "flooders": a.flooders.max(1),
        "idle": phase(&idle),
        "flood": phase(&under),
        "p99_ratio": (ratio * 100.0).round() / 100.0,
        "target_p99_ratio": 2.0,
        "jobs": jobs_total,
        "job_ends": ends,
        "dropped": jobs_total - finalized,
        "flooder": {
            "seconds": (flood_secs * 10.0).round() / 10.0,
            "answers": codes,
            "blob_mib_stored": blob_bytes.load(Ordering::Relaxed) >> 20,
        },
    }))
}

/// The honest requester's jobs, one after another, with the prober timing reads meanwhile.
async fn honest_phase(
    client: &Client,
    base: &str,
    key: &Keypair,
    jobs: usize,
    bound: Duration,
    phase: u8,
) -> Result<Phase> {
    let http = reqwest::Client::builder()
        .local_address(HONEST)
        .timeout(Duration::from_secs(30))
        .build()?;
    let done = Arc::new(AtomicBool::new(false));
    let current = Arc::new(AtomicU64::new(0));
    let prober = {
        let (http, base, done, current) = (
            http.clone(),
            base.to_string(),
            done.clone(),
            current.clone(),
        );
        tokio::spawn(async move {
            let mut reads = Vec::new();
            while !done.load(Ordering::Relaxed) {
                let job = current.load(Ordering::Relaxed);
                for path in ["/v1/tick-info".to_string(), format!("/v1/jobs/{job}")] {
                    let t = Instant::now();
                    if let Ok(r) = http.get(format!("{base}{path}")).send().await {
                        let _ = r.bytes().await;
                        reads.push(t.elapsed());
                    }
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            reads
        })
    };
    let mut p = Phase {
        reads: Vec::new(),
        uploads: Vec::new(),
        submit: Vec::new(),
        first_token: Vec::new(),
        result: Vec::new(),
        jobs: Vec::new(),
    };
    let start = Instant::now();
    let mut outcome = Ok(());
    for i in 0..jobs {
        if start.elapsed() > bound {
            outcome = Err(anyhow::anyhow!(
                "phase {phase}: {i} of {jobs} jobs within {} s",
                bound.as_secs()
            ));
            break;
        }
        if let Err(e) = one_job(client, key, i, phase, &current, &mut p).await {
            outcome = Err(e);
            break;
        }
    }
    done.store(true, Ordering::Relaxed);
    p.reads = prober.await.context("the prober")?;
    outcome.map(|()| p)
}

async fn one_job(
    client: &Client,
    key: &Keypair,
    i: usize,
    phase: u8,
    current: &AtomicU64,
    p: &mut Phase,
) -> Result<()> {
    let prompt = format!("Phase {phase}, job {i}: tell me about token buckets.");
    let t = Instant::now();
    client.put_blob_as(key, prompt.as_bytes()).await?;
    p.uploads.push(t.elapsed());
    let t = Instant::now();
    let req = JobRequest::new(MODEL, prompt.as_bytes(), MAX_TOKENS, Amount(PRICE));
    let handle = client.jobs().request(key, &req).await?;
    p.submit.push(t.elapsed());
    current.store(handle.id(), Ordering::Relaxed);
    p.jobs.push(handle.id());
    let mut tokens = handle.tokens();
    let mut first = None;
    loop {
        match tokens.next_within(Duration::from_secs(60)).await {
            Some(Ok(TokenEvent::Chunk(_))) => {
                first.get_or_insert_with(|| t.elapsed());
            }
            Some(Ok(_)) => break,
            Some(Err(e)) => bail!("job {}: token stream: {e}", handle.id()),
            None => bail!("job {}: no token within 60 s", handle.id()),
        }
    }
    if let Some(f) = first {
        p.first_token.push(f);
    }
    loop {
        let j = handle.status().await?;
        if j.result.is_some() || j.status.is_terminal() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    p.result.push(t.elapsed());
    Ok(())
}

/// One flooder connection until `stop`: broadcasts (even `i`) or blob uploads (odd `i`),
/// counting every answer by its code.
async fn flood(
    i: usize,
    base: &str,
    key: &Keypair,
    txs: &[String],
    stop: &AtomicBool,
    codes: &Mutex<BTreeMap<String, u64>>,
    blob_bytes: &AtomicU64,
) -> Result<()> {
    let http = reqwest::Client::builder()
        .local_address(FLOODER)
        .timeout(Duration::from_secs(30))
        .build()?;
    let count = |code: String| {
        if let Ok(mut c) = codes.lock() {
            *c.entry(code).or_default() += 1;
        }
    };
    let mut n: u64 = 0;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let r = if i.is_multiple_of(2) {
            let body = &txs[(n as usize * 7 + i) % txs.len()];
            http.post(format!("{base}/live/v1/broadcast-transaction"))
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone())
                .send()
                .await
        } else {
            let mut body = vec![0u8; BLOB_KIB << 10];
            body[..8].copy_from_slice(&n.to_le_bytes());
            body[8] = i as u8;
            let mut req = http.put(format!("{base}/v1/blobs"));
            if n.is_multiple_of(4) {
                let digest = comqute_node::wire::blob_upload_digest(&Hash32::of(&body));
                req = req
                    .header(
                        comqute_node::wire::UPLOADER_HEADER,
                        key.identity().to_string(),
                    )
                    .header(
                        comqute_node::wire::UPLOAD_SIGNATURE_HEADER,
                        hex::encode(key.sign_digest(&digest)),
                    );
            }
            let r = req.body(body).send().await;
            if r.as_ref().is_ok_and(|r| r.status().is_success()) {
                blob_bytes.fetch_add((BLOB_KIB << 10) as u64, Ordering::Relaxed);
            }
            r
        };
        // A refusal may close the connection before the body is sent (an attacker does
        // not care): counted, and on to the next.
        let Ok(r) = r else {
            count("transport error".into());
            continue;
        };
        let status = r.status();
        if status.is_success() {
            count("accepted".into());
        } else {
            let v: Value = r.json().await.unwrap_or(Value::Null);
            count(format!(
                "{} {}",
                status.as_u16(),
                v["code"].as_str().unwrap_or("?")
            ));
        }
    }
    Ok(())
}

fn print_table(r: &Value) {
    println!(
        "honest requester, {} jobs a phase, {} ms ticks; flooder: {} connections from one identity",
        r["jobs_per_phase"], r["tick_ms"], r["flooders"]
    );
    println!(
        "{:<26} {:>10} {:>10} {:>10} {:>10}",
        "", "idle p50", "idle p99", "flood p50", "flood p99"
    );
    for k in [
        "requests",
        "reads",
        "uploads",
        "submit",
        "first_token",
        "result",
    ] {
        let (i, f) = (&r["idle"][k], &r["flood"][k]);
        let v = |x: &Value| x.as_f64().unwrap_or(f64::NAN);
        println!(
            "{:<26} {:>10.3} {:>10.3} {:>10.3} {:>10.3}",
            format!("{k} (ms)"),
            v(&i["p50_ms"]),
            v(&i["p99_ms"]),
            v(&f["p50_ms"]),
            v(&f["p99_ms"])
        );
    }
    println!(
        "p99 ratio (requests, flood/idle): {} (target ≤ {})",
        r["p99_ratio"], r["target_p99_ratio"]
    );
    println!(
        "jobs: {} ended {} ({} dropped)",
        r["jobs"], r["job_ends"], r["dropped"]
    );
    println!(
        "flooder over {} s: {} ({} MiB of blobs stored)",
        r["flooder"]["seconds"], r["flooder"]["answers"], r["flooder"]["blob_mib_stored"]
    );
}

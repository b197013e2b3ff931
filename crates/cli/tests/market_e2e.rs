//! The happy path end to end: a requester on the command line, a worker on the SDK's remote
//! client (watching events, claiming, starting, streaming tokens, uploading the result,
//! posting its hash), against the real node binary; then the same scenario on the embedded
//! transport, which must give the same statuses, payouts and balances.

mod support;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use comqute_sdk::contracts::job_registry::{JobEvent, Sampling};
use comqute_sdk::contracts::worker_registry::Capabilities;
use comqute_sdk::contracts::MarketConfig;
use comqute_sdk::{keys, wire, Amount, Client, Hash32, Identity, JobRequest, Keypair, Seed};
use serde_json::{json, Value};
use support::{runtime, NodeProc, CHALLENGE_WINDOW};

const REQUESTER_FUNDS: i64 = 1_000_000;
const WORKER_FUNDS: i64 = 100_000;
const STAKE: i64 = 20_000;
const MODEL: &str = "llama3.2:1b";
const PROMPT: &str = "Why is the sky blue?";
const CHUNKS: [&str; 3] = ["Rayleigh", " scattering", " of sunlight."];
const OUTPUT_TOKENS: u32 = 321;

fn seeded(name: &str) -> Seed {
    let mut s = name.repeat(55);
    s.truncate(55);
    Seed::new(&s).unwrap()
}

fn output() -> Vec<u8> {
    CHUNKS.concat().into_bytes()
}

fn caps() -> Capabilities {
    Capabilities {
        models: vec![MODEL.into()],
        gpu: "none".into(),
        vram_mb: 0,
        tokens_per_s: 25,
        price_per_1k: Amount(2_000),
        max_concurrent: 1,
    }
}

/// The worker's side, the same on both transports: find the requester's job in the event
/// log, claim it, start, stream the output, deliver.
async fn serve_one_job(client: &Client, walt: &Keypair, requester: Identity) -> u64 {
    let mut events = client.subscribe(0);
    let deadline = Instant::now() + Duration::from_secs(30);
    let job_id = loop {
        let e = events
            .next_within(deadline.saturating_duration_since(Instant::now()))
            .await
            .expect("the event stream stays open")
            .expect("events decode");
        if let Some(JobEvent::Submitted {
            job_id,
            requester: r,
            ..
        }) = e.job()
        {
            if r == requester {
                break job_id;
            }
        }
    };
    drop(events);
    let jobs = client.jobs();
    jobs.claim(walt, job_id.0).await.expect("claim");
    jobs.start(walt, job_id.0).await.expect("start");
    let mut w = jobs.token_writer(walt, job_id.0);
    for c in &CHUNKS[..CHUNKS.len() - 1] {
        w.write(c).await.expect("push a chunk");
    }
    w.finish(CHUNKS[CHUNKS.len() - 1])
        .await
        .expect("close the stream");
    jobs.deliver(walt, job_id.0, &output(), OUTPUT_TOKENS, Hash32::ZERO)
        .await
        .expect("deliver");
    job_id.0
}

/// What must be equal on both transports: the job without its ticks, money, the worker,
/// the job's event types, the network statistics without time-dependent fields.
async fn outcome(client: &Client, job_id: u64, alice: &Identity, walt: &Identity) -> Value {
    let job = client.jobs().job(job_id).await.unwrap();
    let mut job = serde_json::to_value(wire::JobView::from(&job)).unwrap();
    for k in [
        "submittedAt",
        "assignedAt",
        "startedAt",
        "completedAt",
        "deadline",
        "closedAt",
    ] {
        job.as_object_mut().unwrap().remove(k);
    }
    let worker = client.workers().get(walt).await.unwrap().unwrap().worker;
    let mut stats = serde_json::to_value(wire::NetworkStatsView::new(
        &client.jobs().stats().await.unwrap(),
        0,
    ))
    .unwrap();
    stats.as_object_mut().unwrap().remove("tick");
    stats["workers"].as_object_mut().unwrap().remove("online");
    let mut kinds = Vec::new();
    let mut after = 0;
    loop {
        let page = client.events(after, 500).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.seq + 1;
        for e in &page {
            if let (Some(_), Some(v)) = (e.job(), e.json.as_ref()) {
                if v["jobId"].as_str().and_then(|s| s.parse().ok()) == Some(job_id) {
                    kinds.push(v["type"].clone());
                }
            }
        }
    }
    json!({
        "job": job,
        "alice": client.balance(alice).await.unwrap().0,
        "walt": client.balance(walt).await.unwrap().0,
        "reputation": worker.reputation,
        "stake": worker.stake.0,
        "completed": worker.jobs_completed,
        "events": kinds,
        "stats": stats,
        "tokens": client.tokens(job_id).await.unwrap().text,
    })
}

#[test]
fn cli_requester_and_sdk_worker_finish_a_job_and_the_embedded_transport_agrees() {
    let started = Instant::now();
    let node = NodeProc::start("e2e");
    let rt = runtime();
    let alice_seed = seeded("alice");
    let walt_seed = seeded("walt");
    let alice_file = node.dir.join("alice.json");
    let alice = {
        keys::write_key_file(&alice_file, &alice_seed).unwrap();
        alice_seed.keypair()
    };
    let walt = walt_seed.keypair();
    node.cli_json(
        None,
        &[
            "faucet",
            &alice.identity().to_string(),
            &REQUESTER_FUNDS.to_string(),
            "--json",
        ],
    );

    // The worker registers through the SDK's remote client.
    let remote = Client::remote(&node.url).unwrap();
    rt.block_on(async {
        remote
            .faucet(&walt.identity(), Amount(WORKER_FUNDS))
            .await
            .unwrap();
        let n = remote
            .workers()
            .register(&walt, &caps(), Amount(STAKE))
            .await
            .unwrap();
        assert_eq!(n, 1);
    });
    let w = node.cli_json(
        None,
        &["worker", "status", &walt.identity().to_string(), "--json"],
    );
    assert_eq!(
        (w["status"].as_str(), w["stake"].as_str()),
        (Some("Active"), Some("20000"))
    );

    // The requester submits on the command line and waits, streaming the tokens.
    let mut child = Command::new(env!("CARGO_BIN_EXE_comqute"))
        .env("COMQUTE_NODE", &node.url)
        .env("COMQUTE_KEY", &alice_file)
        .args([
            "job",
            "submit",
            "--model",
            MODEL,
            "--prompt",
            PROMPT,
            "--max-price-per-1k",
            "3000",
            "--max-tokens",
            "500",
            // The embedded run below uses the SDK's default; the CLI's default follows
            // the workers' speed.
            "--timeout-ticks",
            "100",
            "--seed",
            "7",
            "--temperature",
            "0.7",
            "--wait",
            "--stream",
            "--json",
            "--wait-timeout",
            "60",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // Meanwhile the worker, on the SDK, finds the job in the event stream and serves it.
    let job_id = rt.block_on(serve_one_job(&remote, &walt, alice.identity()));

    let mut stdout = String::new();
    let mut stderr = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(
        child.wait().unwrap().success(),
        "job submit failed: {stderr}"
    );
    let job: Value = serde_json::from_str(&stdout).expect("one JSON document");
    assert_eq!(job["id"], job_id.to_string());
    assert_eq!(job["status"], "Finalized");
    assert_eq!(job["resultHash"], Hash32::of(&output()).to_string());
    assert_eq!(job["outputTokens"], OUTPUT_TOKENS);
    assert_eq!(
        (&job["paid"], &job["fee"]),
        (&json!("578"), &json!("64")),
        "321 tokens × 2,000 per 1k = 642, of which the 10% verification fee"
    );
    assert_eq!(job["refunded"], "858");
    assert_eq!(job["spec"]["sampling"]["temperatureMilli"], 700);
    assert_eq!(job["spec"]["sampling"]["seed"], "7");
    assert_eq!(stderr, CHUNKS.concat(), "the streamed tokens");

    // The result, fetched and checked against the on-chain hash.
    let out = node.dir.join("result.txt");
    let r = node.cli_json(
        None,
        &[
            "job",
            "result",
            &job_id.to_string(),
            "--out",
            out.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(r["resultHash"], job["resultHash"]);
    assert_eq!(std::fs::read(&out).unwrap(), output());
    assert_eq!(node.balance(&alice.identity()), REQUESTER_FUNDS - 642);
    assert_eq!(node.balance(&walt.identity()), WORKER_FUNDS - STAKE + 578);
    let w = node.cli_json(
        None,
        &["worker", "status", &walt.identity().to_string(), "--json"],
    );
    assert_eq!(w["reputation"], 5_100);
    assert_eq!(w["jobsCompleted"], "1");
    let remote_outcome = rt.block_on(outcome(
        &remote,
        job_id,
        &alice.identity(),
        &walt.identity(),
    ));
    let remote_secs = started.elapsed().as_secs_f64();

    // The same scenario on the embedded transport.
    let embedded_started = Instant::now();
    let cfg = MarketConfig {
        jobs: comqute_market::job_registry::JobConfig {
            challenge_window: CHALLENGE_WINDOW,
            ..MarketConfig::default().jobs
        },
        ..MarketConfig::default()
    };
    let embedded = Client::embedded(comqute_node::market_genesis(&cfg).build().unwrap());
    let embedded_outcome = rt.block_on(async {
        let c = &embedded;
        c.faucet(&alice.identity(), Amount(REQUESTER_FUNDS))
            .await
            .unwrap();
        c.faucet(&walt.identity(), Amount(WORKER_FUNDS))
            .await
            .unwrap();
        c.workers()
            .register(&walt, &caps(), Amount(STAKE))
            .await
            .unwrap();
        let req = JobRequest {
            sampling: Sampling {
                seed: 7,
                temperature_milli: 700,
            },
            ..JobRequest::new(MODEL, PROMPT, 500, Amount(3_000))
        };
        let handle = c.jobs().request(&alice, &req).await.unwrap();
        assert_eq!(
            c.balance(&alice.identity()).await.unwrap(),
            Amount(REQUESTER_FUNDS - 1_500),
            "the escrow is locked"
        );
        let mut tokens = handle.tokens();
        let id = serve_one_job(c, &walt, alice.identity()).await;
        assert_eq!(id, handle.id());
        let done = handle.wait_final(Duration::from_secs(30)).await.unwrap();
        assert_eq!(done.status.name(), "Finalized");
        assert_eq!(handle.result().await.unwrap(), output());
        let mut streamed = String::new();
        while let Some(ev) = tokens.next_within(Duration::from_secs(5)).await {
            match ev.unwrap() {
                comqute_sdk::TokenEvent::Chunk(c) => streamed.push_str(&c.text),
                _ => break,
            }
        }
        assert_eq!(streamed, CHUNKS.concat());
        outcome(c, id, &alice.identity(), &walt.identity()).await
    });
    assert_eq!(
        remote_outcome, embedded_outcome,
        "the same scenario gives the same results on both transports"
    );
    assert_eq!(
        remote_outcome["events"],
        json!([
            "Submitted",
            "Assigned",
            "Started",
            "ResultPosted",
            "Finalized"
        ])
    );
    eprintln!(
        "remote scenario {remote_secs:.2} s, embedded {:.2} s",
        embedded_started.elapsed().as_secs_f64()
    );
}

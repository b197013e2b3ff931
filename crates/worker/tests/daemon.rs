//! The worker daemon in-process: against an embedded ledger ticked by the test (manual tick
//! mode) or a node in this process, on the stand-in backend or the Ollama-compatible test
//! server. A job served and paid; a deadline the measured speed cannot meet declined for
//! free; one daemon per key (the lock file, the chain session) and the sign-off at stop.

use comqute_sdk::contracts::WorkerId;
use std::sync::Arc;
use std::time::Duration;

use comqute_inference::testserver::{TestServer, TestServerConfig};
use comqute_inference::{Backend, StandInBackend};
use comqute_sdk::contracts::job_registry::{Job, JobStatus};
use comqute_sdk::contracts::worker_registry::{Worker as WorkerRecord, WorkerInfo};
use comqute_sdk::contracts::MarketConfig;
use comqute_sdk::{Amount, Client, Identity, JobHandle, JobRequest, Keypair, Seed};
use comqute_worker::{
    pick_first, BackendSpec, Candidate, PickEvent, WorkerConfig, WorkerError, WorkerReport,
};

mod common;
use common::{eventually, Chain, Running};

const FUNDS: i64 = 1_000_000;
const STAKE: i64 = 20_000;
const PRICE: i64 = 2_000;

fn key(letter: char) -> Keypair {
    Seed::new(&letter.to_string().repeat(55))
        .expect("55 lowercase letters are a seed")
        .keypair()
}

/// Short windows, and room for a loaded machine: a worker stays online for 1,000 ticks
/// without a heartbeat and has 500 to accept an offer.
fn market() -> MarketConfig {
    MarketConfig {
        workers: comqute_sdk::contracts::worker_registry::WorkerConfig {
            heartbeat_window: 1_000,
            ..MarketConfig::default().workers
        },
        jobs: comqute_sdk::contracts::job_registry::JobConfig {
            challenge_window: 3,
            accept_ticks: 500,
            ..MarketConfig::default().jobs
        },
        ..MarketConfig::default()
    }
}

/// The stand-in, serving `stand-in`.
fn stand_in() -> Arc<dyn Backend> {
    Arc::new(StandInBackend::new(vec!["stand-in".into()]).expect("a stand-in name"))
}

/// A daemon's settings for the tests: registering with [`STAKE`] at [`PRICE`], scanning
/// often.
fn config(model: &str) -> WorkerConfig {
    WorkerConfig {
        models: vec![model.to_string()],
        stake: Some(Amount(STAKE)),
        price_per_1k: Some(Amount(PRICE)),
        scan_interval: Duration::from_millis(50),
        heartbeat_ticks: 20,
        chain_patience: Duration::from_secs(10),
        grace: Duration::from_secs(10),
        ..WorkerConfig::default()
    }
}

/// Funds walt (the worker) and alice (a requester), starts walt's daemon on `backend`
/// serving `model`, and waits until the chain lists walt as able to take jobs; returns the
/// daemon and walt's record then.
async fn walt_serving(
    c: &Client,
    backend: Arc<dyn Backend>,
    model: &str,
) -> (Keypair, Keypair, Running, WorkerRecord) {
    let (walt, alice) = (key('w'), key('a'));
    c.faucet(&walt.identity(), Amount(FUNDS)).await.unwrap();
    c.faucet(&alice.identity(), Amount(FUNDS)).await.unwrap();
    let daemon = Running::start(c, &walt, backend, config(model))
        .await
        .expect("the daemon registers and starts");
    let record = eventually("the worker is available", 30, || async {
        let i = worker_info(c, &walt.identity()).await;
        i.can_take_jobs.then_some(i.worker)
    })
    .await;
    (walt, alice, daemon, record)
}

/// Submits `req` signed by `requester` and waits (a minute at most) for its end.
async fn submit_and_wait(c: &Client, requester: &Keypair, req: &JobRequest) -> (JobHandle, Job) {
    let handle = c.jobs().request(requester, req).await.expect("submitted");
    let job = handle
        .wait_final(Duration::from_secs(60))
        .await
        .expect("the job ends");
    (handle, job)
}

async fn worker_info(client: &Client, id: &Identity) -> WorkerInfo {
    client
        .workers()
        .get(id)
        .await
        .expect("reading the worker")
        .expect("a registered worker")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_is_offered_started_served_finalized_and_paid() {
    let chain = Chain::start(&market());
    let c = &chain.client;
    let (walt, alice, daemon, registered) = walt_serving(c, stand_in(), "stand-in").await;
    assert_eq!(registered.stake, Amount(STAKE));
    assert_eq!(registered.capabilities.models, vec!["stand-in"]);
    assert_eq!(registered.capabilities.price_per_1k, Amount(PRICE));
    let walt_before = c.balance(&walt.identity()).await.unwrap();

    let req = JobRequest::new(
        "stand-in",
        "The three primary colors are",
        40,
        Amount(PRICE),
    );
    let (handle, job) = submit_and_wait(c, &alice, &req).await;
    assert_eq!(job.status, JobStatus::Finalized, "{job:?}");
    assert_eq!(job.worker, Some(WorkerId(walt.identity())));
    assert!(job.started_at.is_some(), "the offer was accepted: {job:?}");
    let posted = job.result.expect("a result on chain");
    assert!(posted.output_tokens > 0 && posted.output_tokens <= 40);
    // The blob behind the posted hash (checked against it by the SDK) is the stand-in's.
    let text = handle.result().await.expect("the result blob");
    assert!(!text.is_empty());
    assert!(comqute_inference::standin::is_stand_in_fingerprint(
        &posted.runtime
    ));

    assert!(job.paid > Amount::ZERO, "{job:?}");
    assert_eq!(
        c.balance(&walt.identity()).await.unwrap(),
        Amount(walt_before.0 + job.paid.0),
        "the worker is paid what the job says"
    );
    let w = worker_info(c, &walt.identity()).await.worker;
    assert_eq!(w.jobs_completed, 1);
    assert_eq!(w.total_earned, job.paid);
    assert_eq!(w.stake, Amount(STAKE), "nothing slashed");

    let report = daemon.stop().await;
    assert_eq!(
        report,
        WorkerReport {
            delivered: 1,
            ..WorkerReport::default()
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deadline_the_measured_speed_cannot_meet_is_declined_for_free() {
    // The embedded ledger has no tick length (the rule takes every deadline as reachable
    // there), so this one runs a node in the process with a real clock: 25 ms ticks.
    let node = comqute_node::Node::start(comqute_node::NodeConfig {
        tick_ms: 25,
        genesis: comqute_node::market_genesis_fn(market()),
        ..comqute_node::NodeConfig::test()
    })
    .await
    .expect("the node starts");
    let c = Client::remote(&format!("http://{}", node.addr())).unwrap();
    // An Ollama-compatible server at about 50 tokens a second, through the factory.
    let server = TestServer::start(TestServerConfig {
        models: vec!["comqute-test:tiny".into()],
        token_delay: Duration::from_millis(20),
        ..TestServerConfig::default()
    })
    .await
    .expect("the test server starts");
    let backend = BackendSpec {
        ollama: Some(server.url()),
        ..BackendSpec::default()
    }
    .build(&[])
    .expect("an Ollama backend");
    assert_eq!(backend.name(), "ollama");

    let (walt, alice, daemon, before) = walt_serving(&c, backend, "comqute-test:tiny").await;
    assert!(
        before.capabilities.tokens_per_s > 0,
        "the speed was measured: {before:?}"
    );
    let generations = || {
        server
            .requests()
            .iter()
            .filter(|r| r.path == "/api/generate")
            .count()
    };
    let benchmarked = generations();
    assert!(benchmarked > 0, "the benchmark ran on the backend");

    // 500 tokens at ~50 tokens/s need ~10 s; the job gives 3 ticks of 25 ms. Declined, it
    // reopens for 3 ticks, nobody else serves it, and it expires refunded.
    let req = JobRequest {
        timeout_ticks: 3,
        ..JobRequest::new(
            "comqute-test:tiny",
            "Count to five hundred:",
            500,
            Amount(PRICE),
        )
    };
    let (_, job) = submit_and_wait(&c, &alice, &req).await;
    assert_eq!(job.status, JobStatus::Expired, "{job:?}");
    assert_eq!(job.excluded, vec![walt.identity()], "walt turned it down");
    assert!(job.started_at.is_none() && job.result.is_none(), "{job:?}");
    let reason = job.reason.clone().unwrap_or_default();
    assert!(
        reason.contains("ask for at least"),
        "the decline's reason: {reason}"
    );
    assert_eq!(job.slashed, Amount::ZERO);
    assert_eq!(job.refunded, job.escrow);
    assert_eq!(generations(), benchmarked, "nothing was generated for it");

    let after = worker_info(&c, &walt.identity()).await.worker;
    assert_eq!(after.stake, before.stake, "declining costs no stake");
    assert_eq!(after.reputation, before.reputation, "nor reputation");
    assert_eq!(after.jobs_declined, 1);
    assert_eq!(after.total_slashed, Amount::ZERO);
    assert_eq!(
        c.balance(&alice.identity()).await.unwrap(),
        Amount(FUNDS),
        "the requester got everything back"
    );

    let report = daemon.stop().await;
    assert_eq!(
        report,
        WorkerReport {
            declined: 1,
            ..WorkerReport::default()
        }
    );
    node.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_daemon_per_key_and_the_first_one_signs_off_at_its_stop() {
    let chain = Chain::start(&market());
    let c = &chain.client;
    let walt = key('w');
    c.faucet(&walt.identity(), Amount(FUNDS)).await.unwrap();
    let dir = std::env::temp_dir().join(format!("comqute-worker-lock-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let lock = dir.join("walt.json.lock");
    // What `comqute worker run` does: a lock file beside the key.
    let locked = || WorkerConfig {
        lock: Some(lock.clone()),
        ..config("stand-in")
    };
    let first = Running::start(c, &walt, stand_in(), locked())
        .await
        .expect("the first daemon starts");
    let online = eventually("the first daemon is online", 30, || async {
        let i = worker_info(c, &walt.identity()).await;
        (i.online && i.worker.available).then_some(i.worker)
    })
    .await;
    assert!(!online.signed_off);

    // On the same machine the lock file says so before anything reaches the chain.
    let second = Running::start(c, &walt, stand_in(), locked()).await;
    let e = second
        .err()
        .expect("a second daemon with the lock is refused");
    assert!(matches!(e, WorkerError::KeyInUse { .. }), "{e:?}");
    assert!(
        e.to_string()
            .contains("another `comqute worker run` on this machine"),
        "{e}"
    );

    // Elsewhere (no shared lock file) the chain refuses the second session.
    let second = Running::start(c, &walt, stand_in(), config("stand-in")).await;
    let e = second.err().expect("a second session is refused");
    assert!(matches!(e, WorkerError::SessionInUse { .. }), "{e:?}");
    let text = e.to_string();
    assert!(text.contains("another daemon is serving"), "{text}");
    assert!(text.contains("--takeover"), "{text}");
    let still = worker_info(c, &walt.identity()).await;
    assert_eq!(still.worker.session, online.session, "the first keeps it");
    assert!(still.online);

    // The first one's stop signs the worker off at once: unavailable and offline.
    let report = first.stop().await;
    assert_eq!(report, WorkerReport::default());
    let off = worker_info(c, &walt.identity()).await;
    assert!(off.worker.signed_off, "{off:?}");
    assert!(!off.worker.available, "{off:?}");
    assert!(!off.online, "{off:?}");

    // Signed off, the session is free: a new daemon starts without --takeover, and the lock
    // file was let go.
    let again = Running::start(c, &walt, stand_in(), locked())
        .await
        .expect("a new daemon starts after the sign-off");
    again.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_picker_takes_the_first_backend_that_works_and_says_why_not_the_others() {
    let server = TestServer::start(TestServerConfig::default())
        .await
        .expect("the test server starts");
    // Nothing listens on port 9 of loopback.
    let dead = Candidate::Ollama("http://127.0.0.1:9".into());
    let live = Candidate::Ollama(server.url());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let picked = pick_first(&[dead.clone(), live], move |ev| {
        if let PickEvent::Unavailable { candidate, error } = ev {
            let _ = tx.send((candidate.clone(), error.to_string()));
        }
    })
    .await
    .expect("the live Ollama is picked");
    assert!(!picked.stand_in);
    assert!(
        picked.model.starts_with("comqute-test:"),
        "{}",
        picked.model
    );
    assert!(picked.label.contains(&server.url()), "{}", picked.label);
    let (skipped, why) = rx.recv().await.expect("the dead one is reported");
    assert_eq!(skipped, dead);
    assert_eq!(why, "no Ollama answers at http://127.0.0.1:9");
    assert!(rx.recv().await.is_none(), "only that one");

    // Alone, its error is the answer.
    let e = pick_first(&[dead], |_| {}).await.err().expect("no backend");
    assert!(matches!(e, WorkerError::NoOllama { .. }), "{e:?}");
    // The stand-in always works, and says what it is.
    let p = pick_first(&[Candidate::StandIn], |_| {}).await.unwrap();
    assert!(p.stand_in && p.label.contains("NOT a language model"));
}

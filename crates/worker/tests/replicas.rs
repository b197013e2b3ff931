//! Replica seats served by the daemons themselves, in-process: three daemons on one embedded
//! ledger (manual tick mode, ticked by the test), one of them lying on every job it serves.
//! A requester challenges the liar's result; the two honest daemons are seated, re-run the
//! job on the same runtime, commit and reveal without anyone's help; the check fails, the
//! liar is slashed and the requester refunded. Then an honest result, challenged, passes and
//! its worker is paid.
//!
//! On the built-in Gemma 3 runtime when its model is installed (`comqute models install
//! gemma3:270m`; under `CI=true` it must be), and always on the stand-in.

use std::sync::Arc;
use std::time::Duration;

use comqute_inference::builtin::BuiltinBackend;
use comqute_inference::{Backend, StandInBackend};
use comqute_sdk::contracts::job_registry::{Job, JobStatus};
use comqute_sdk::contracts::verification::{CheckPhase, VerdictKind, VerifyConfig};
use comqute_sdk::contracts::worker_registry::WorkerInfo;
use comqute_sdk::contracts::{MarketConfig, WorkerId};
use comqute_sdk::{Amount, Client, Identity, JobHandle, JobRequest, Keypair, Seed};
use comqute_worker::WorkerConfig;

mod common;
use common::{eventually, Chain, Running};

const FUNDS: i64 = 1_000_000;
const STAKE: i64 = 20_000;
const MAX_TOKENS: u32 = 8;
/// A minute of 10 ms ticks to deliver: the built-in runtime on a loaded 2-core machine.
const TIMEOUT_TICKS: u32 = 6_000;

fn key(letter: char) -> Keypair {
    Seed::new(&letter.to_string().repeat(55))
        .expect("55 lowercase letters are a seed")
        .keypair()
}

/// Windows for a loaded 2-core machine at 10 ms ticks: a re-run has 20 s to be committed
/// and 20 s more to be revealed; a result can be challenged for 5 s. No spot checks: only
/// the challenges below open checks.
fn market() -> MarketConfig {
    let d = MarketConfig::default();
    MarketConfig {
        workers: comqute_sdk::contracts::worker_registry::WorkerConfig {
            heartbeat_window: 1_000,
            ..d.workers
        },
        jobs: comqute_sdk::contracts::job_registry::JobConfig {
            challenge_window: 500,
            accept_ticks: 500,
            check_timeout_ticks: 20_000,
            ..d.jobs
        },
        verification: VerifyConfig {
            spot_checks: false,
            commit_ticks: 2_000,
            reveal_ticks: 2_000,
            ..d.verification
        },
        ..d
    }
}

/// The built-in model, loaded; `None` (with a message) when it is not installed here, which
/// fails under `CI=true` instead.
async fn builtin_or_skip(name: &'static str) -> Option<comqute_inference::builtin::BuiltinModel> {
    let loaded =
        tokio::task::spawn_blocking(move || comqute_worker::load_builtin(name, None, None)).await;
    match loaded.expect("the loading thread") {
        Ok(m) => Some(m),
        Err(e) if std::env::var("CI").as_deref() != Ok("true") => {
            eprintln!(
                "the built-in model is not installed ({}): skipping; `comqute models install {name}` runs it",
                e.describe()
            );
            None
        }
        Err(e) => panic!(
            "CI=true: the built-in model must be installed: {}",
            e.describe()
        ),
    }
}

async fn info(c: &Client, id: &Identity) -> WorkerInfo {
    c.workers()
        .get(id)
        .await
        .expect("reading the worker")
        .expect("a registered worker")
}

/// Submits a job, waits for its result to be posted (Completed: the challenge window is
/// open), challenges it as `requester` and waits for its end.
async fn challenged(c: &Client, requester: &Keypair, req: &JobRequest) -> (JobHandle, Job) {
    let handle = c.jobs().request(requester, req).await.expect("submitted");
    let done = handle
        .wait_status(JobStatus::Completed, Duration::from_secs(120))
        .await
        .expect("a result is posted");
    assert!(done.result.is_some(), "{done:?}");
    c.jobs()
        .challenge(requester, handle.id())
        .await
        .expect("the challenge is taken");
    let job = handle
        .wait_final(Duration::from_secs(180))
        .await
        .expect("the check ends");
    (handle, job)
}

async fn liar_is_caught(backend: Arc<dyn Backend>, model: &str) {
    let chain = Chain::start(&market());
    let c = &chain.client;
    let (liar, honest_a, honest_b, alice) = (key('l'), key('h'), key('k'), key('a'));
    for k in [&liar, &honest_a, &honest_b, &alice] {
        c.faucet(&k.identity(), Amount(FUNDS)).await.unwrap();
    }
    let cfg = |price: i64, lie: Option<u32>| WorkerConfig {
        models: vec![model.to_string()],
        stake: Some(Amount(STAKE)),
        price_per_1k: Some(Amount(price)),
        scan_interval: Duration::from_millis(50),
        chain_patience: Duration::from_secs(10),
        grace: Duration::from_secs(10),
        benchmark: false,
        test_lie_every: lie,
        ..WorkerConfig::default()
    };
    // The liar is the cheapest: the matcher offers it a job capped at its price.
    let l = Running::start(c, &liar, backend.clone(), cfg(1_000, Some(1)))
        .await
        .expect("the daemon registers");
    let a = Running::start(c, &honest_a, backend.clone(), cfg(1_500, None))
        .await
        .expect("the daemon registers");
    let b = Running::start(c, &honest_b, backend.clone(), cfg(2_000, None))
        .await
        .expect("the daemon registers");
    for k in [&liar, &honest_a, &honest_b] {
        eventually("the worker is available", 60, || async {
            info(c, &k.identity()).await.can_take_jobs.then_some(())
        })
        .await;
    }

    // 1. The liar's result, challenged by its requester.
    let alice_before = c.balance(&alice.identity()).await.unwrap();
    let req = JobRequest {
        timeout_ticks: TIMEOUT_TICKS,
        ..JobRequest::new(model, "The capital of France is", MAX_TOKENS, Amount(1_000))
    };
    let (handle, job) = challenged(c, &alice, &req).await;
    assert_eq!(job.worker, Some(WorkerId(liar.identity())), "{job:?}");
    assert_eq!(job.status, JobStatus::Resolved, "{job:?}");
    assert_eq!(job.verdict, Some(VerdictKind::Failed), "{job:?}");
    assert_eq!(
        job.refunded, job.escrow,
        "the requester is refunded in full"
    );
    assert_eq!(job.paid, Amount::ZERO);
    assert!(job.slashed > Amount::ZERO, "{job:?}");
    let check = c
        .verification()
        .check(handle.id())
        .await
        .unwrap()
        .expect("the check");
    assert_eq!(check.phase, CheckPhase::Settled, "{check:?}");
    let seated: Vec<Identity> = check.seats.iter().map(|s| s.replica.0).collect();
    assert_eq!(
        seated.len(),
        2,
        "the two honest workers, nobody else: {check:?}"
    );
    for s in &check.seats {
        assert!(
            [honest_a.identity(), honest_b.identity()].contains(&s.replica.0),
            "{s:?}"
        );
        assert_eq!(s.passes, Some(false), "{s:?}");
        assert!(
            matches!(
                s.vote,
                Some(comqute_sdk::contracts::verification::Vote::Reproduced { .. })
            ),
            "an exact re-run on the same runtime: {s:?}"
        );
    }
    let settlement = check.settlement.clone().expect("settled");
    let liar_now = info(c, &liar.identity()).await.worker;
    assert_eq!(liar_now.stake, Amount(STAKE - job.slashed.0), "slashed");
    assert_eq!(liar_now.checks_failed, 1);
    assert_eq!(
        c.balance(&alice.identity()).await.unwrap(),
        Amount(alice_before.0 + settlement.to_requester.0 + settlement.to_challenger.0),
        "the escrow and the bond back, and the requester's and challenger's shares"
    );
    for k in [&honest_a, &honest_b] {
        let r = c.verification().record(&k.identity()).await.unwrap();
        assert_eq!((r.seats, r.with_majority, r.silent), (1, 1, 0), "{r:?}");
    }

    // 2. An honest result, challenged: it passes and its worker is paid. The liar's
    // reputation fell under the others', so a floor at theirs keeps it out of the match.
    let floor = eventually("the replicas' reputation", 10, || async {
        let ra = info(c, &honest_a.identity()).await.worker.reputation;
        let rb = info(c, &honest_b.identity()).await.worker.reputation;
        Some(ra.min(rb))
    })
    .await;
    assert!(liar_now.reputation < floor, "{liar_now:?} vs {floor}");
    let a_before = c.balance(&honest_a.identity()).await.unwrap();
    let req = JobRequest {
        min_reputation: floor,
        timeout_ticks: TIMEOUT_TICKS,
        ..JobRequest::new(
            model,
            "Here is a short poem about the sea:",
            MAX_TOKENS,
            Amount(2_000),
        )
    };
    let (handle, job) = challenged(c, &alice, &req).await;
    assert_eq!(job.worker, Some(WorkerId(honest_a.identity())), "{job:?}");
    assert_eq!(job.status, JobStatus::Finalized, "{job:?}");
    assert_eq!(job.verdict, Some(VerdictKind::Passed), "{job:?}");
    assert!(job.paid > Amount::ZERO, "{job:?}");
    assert_eq!(job.slashed, Amount::ZERO);
    let check = c.verification().check(handle.id()).await.unwrap().unwrap();
    let settlement = check.settlement.clone().expect("settled");
    assert!(settlement.bond_to_worker > Amount::ZERO, "{settlement:?}");
    assert_eq!(
        c.balance(&honest_a.identity()).await.unwrap(),
        Amount(a_before.0 + job.paid.0 + settlement.bond_to_worker.0),
        "the honest worker is paid, and half the lost challenge's bond"
    );
    assert_eq!(check.seats.len(), 2, "{check:?}");
    assert!(
        check.seats.iter().all(|s| s.passes == Some(true)),
        "{check:?}"
    );
    // The liar re-runs honestly as a replica: it lies only when serving.
    assert!(
        check.seats.iter().any(|s| s.replica.0 == liar.identity()),
        "{check:?}"
    );

    let reports = [l.stop().await, a.stop().await, b.stop().await];
    assert_eq!(reports[0].delivered, 1, "{reports:?}");
    assert_eq!(reports[1].delivered, 1, "{reports:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn honest_daemons_catch_a_liar_on_the_stand_in() {
    let backend: Arc<dyn Backend> =
        Arc::new(StandInBackend::new(vec!["stand-in".into()]).expect("a stand-in name"));
    liar_is_caught(backend, "stand-in").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn honest_daemons_catch_a_liar_on_the_builtin_runtime() {
    const MODEL: &str = "gemma3:270m";
    let Some(model) = builtin_or_skip(MODEL).await else {
        return;
    };
    // One model in memory, shared by the three daemons (each would load the same file).
    let backend: Arc<dyn Backend> = Arc::new(BuiltinBackend::new(MODEL, model));
    liar_is_caught(backend, MODEL).await;
}

/// A result from a runtime a replica cannot reproduce (an Ollama) is scored on the built-in
/// model instead: text the model does not agree with (here the Ollama-compatible test
/// server's stand-in words under the name `gemma3:270m`) fails the check by score, and its
/// worker is slashed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_result_from_another_runtime_is_scored_and_made_up_text_fails() {
    use comqute_inference::testserver::{TestServer, TestServerConfig};
    use comqute_sdk::contracts::verification::Vote;
    const MODEL: &str = "gemma3:270m";
    let Some(model) = builtin_or_skip(MODEL).await else {
        return;
    };
    let server = TestServer::start(TestServerConfig {
        models: vec![MODEL.into()],
        ..TestServerConfig::default()
    })
    .await
    .expect("the test server starts");
    let ollama: Arc<dyn Backend> = Arc::new(
        comqute_inference::ollama::OllamaBackend::new(&server.url()).expect("an Ollama backend"),
    );
    let builtin: Arc<dyn Backend> = Arc::new(BuiltinBackend::new(MODEL, model));
    let chain = Chain::start(&market());
    let c = &chain.client;
    let (other, honest_a, honest_b, alice) = (key('o'), key('h'), key('k'), key('a'));
    for k in [&other, &honest_a, &honest_b, &alice] {
        c.faucet(&k.identity(), Amount(FUNDS)).await.unwrap();
    }
    let scorer: Arc<dyn comqute_worker::Scorer> =
        Arc::new(comqute_worker::BuiltinScorer::new(None, None));
    let cfg = |price: i64, scorer: Option<Arc<dyn comqute_worker::Scorer>>| WorkerConfig {
        models: vec![MODEL.to_string()],
        stake: Some(Amount(STAKE)),
        price_per_1k: Some(Amount(price)),
        scan_interval: Duration::from_millis(50),
        chain_patience: Duration::from_secs(10),
        grace: Duration::from_secs(10),
        benchmark: false,
        scorer,
        ..WorkerConfig::default()
    };
    let o = Running::start(c, &other, ollama, cfg(1_000, None))
        .await
        .expect("the daemon registers");
    let a = Running::start(
        c,
        &honest_a,
        builtin.clone(),
        cfg(1_500, Some(scorer.clone())),
    )
    .await
    .expect("the daemon registers");
    let b = Running::start(c, &honest_b, builtin, cfg(2_000, Some(scorer)))
        .await
        .expect("the daemon registers");
    for k in [&other, &honest_a, &honest_b] {
        eventually("the worker is available", 60, || async {
            info(c, &k.identity()).await.can_take_jobs.then_some(())
        })
        .await;
    }
    let req = JobRequest {
        timeout_ticks: TIMEOUT_TICKS,
        ..JobRequest::new(MODEL, "The capital of France is", 32, Amount(1_000))
    };
    let (handle, job) = challenged(c, &alice, &req).await;
    assert_eq!(job.worker, Some(WorkerId(other.identity())), "{job:?}");
    assert_eq!(job.verdict, Some(VerdictKind::Failed), "{job:?}");
    assert_eq!(job.refunded, job.escrow);
    let check = c.verification().check(handle.id()).await.unwrap().unwrap();
    assert_eq!(check.seats.len(), 2, "{check:?}");
    let threshold = c.verification().settings().await.unwrap().pass_bps_greedy;
    for s in &check.seats {
        match s.vote {
            Some(Vote::Scored { agreement_bps }) => {
                eprintln!("replica scored the made-up text at {agreement_bps} bps");
                assert!(agreement_bps < threshold, "{s:?}");
            }
            other => panic!("a scored vote, not {other:?}"),
        }
        assert_eq!(s.passes, Some(false));
    }
    assert_eq!(
        info(c, &other.identity()).await.worker.stake,
        Amount(STAKE - job.slashed.0)
    );
    for r in [o, a, b] {
        r.stop().await;
    }
}

/// The verification contract's scoring defaults are the scorer's calibration
/// (`comqute_inference::builtin::score`): the market crate cannot depend on the inference
/// crate, so this test keeps the two in line.
#[test]
fn the_contracts_scoring_defaults_are_the_scorers_calibration() {
    use comqute_inference::builtin::score::{DEFAULT_TOP_K, PASS_BPS_GREEDY, PASS_BPS_SAMPLED};
    let v = VerifyConfig::default();
    assert_eq!(
        (v.score_top_k, v.pass_bps_greedy, v.pass_bps_sampled),
        (DEFAULT_TOP_K, PASS_BPS_GREEDY, PASS_BPS_SAMPLED)
    );
}

//! Issue 16, "a fair market and an honest CLI", from the command line against the real node
//! binary and real `comqute worker run` daemons on the stand-in backend: a requester cannot
//! take a worker's stake with a deadline it cannot meet, the stand-in serves only its own
//! name, jobs nobody can serve and bad prompts are refused before anything is signed, one
//! key runs one daemon, and the views name the model, the reasons and the money.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{num, one_line_error, NodeProc, WorkerDaemon};

const FUNDS: i64 = 1_000_000;
const STAKE: i64 = 20_000;
const PRICE: &str = "1000";

/// A `comqute worker run --backend stand-in` process on `key`, with `extra` flags.
struct Daemon;

impl Daemon {
    fn start(node: &NodeProc, key: &Path, extra: &[&str]) -> WorkerDaemon {
        static STARTED: AtomicUsize = AtomicUsize::new(0);
        let n = STARTED.fetch_add(1, Ordering::Relaxed);
        let stake = STAKE.to_string();
        let mut args = vec![
            "--backend",
            "stand-in",
            "--stake",
            &stake,
            "--price-per-1k",
            PRICE,
            "--heartbeat-ticks",
            "40",
            "--grace",
            "5",
        ];
        args.extend_from_slice(extra);
        WorkerDaemon::start(
            node,
            key,
            &args,
            key.with_extension(format!("daemon{n}.log")),
        )
    }
}

fn worker_json(node: &NodeProc, key: &Path) -> Value {
    node.cli_json(Some(key), &["worker", "status", "--json"])
}

fn wait_ready(node: &NodeProc, key: &Path, d: &WorkerDaemon) {
    node.wait_worker_ready(key, d, 60);
}

/// Walt's key running a ready daemon, and Alice's funded key, on `node`.
fn served(node: &NodeProc) -> (PathBuf, PathBuf, WorkerDaemon) {
    let (walt_file, _) = node.funded_key("walt", 100_000);
    let (alice_file, _) = node.funded_key("alice", FUNDS);
    let d = Daemon::start(node, &walt_file, &[]);
    wait_ready(node, &walt_file, &d);
    (walt_file, alice_file, d)
}

fn submit(node: &NodeProc, key: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "job",
        "submit",
        "--model",
        "stand-in",
        "--prompt",
        "The capital of France is",
        "--max-price-per-1k",
        "2000",
        "--json",
    ];
    args.extend_from_slice(extra);
    node.cli(Some(key), &args)
}

fn stdout_json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {} / {}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

#[test]
fn an_impossible_deadline_is_declined_and_costs_the_worker_nothing() {
    let node = NodeProc::start("fair-deadline");
    let (walt_file, alice_file, d) = served(&node);
    let alice = comqute_sdk::keys::read_key_file(&alice_file).unwrap();
    let before = worker_json(&node, &walt_file);
    assert_eq!(num(&before["stake"]), STAKE);

    // The attack of the issue: 500 tokens in 3 ticks of 25 ms. Before the fair-deadline
    // rule the job expired in the worker's hands and its stake was slashed by 5,000.
    let o = submit(
        &node,
        &alice_file,
        &["--max-tokens", "500", "--timeout-ticks", "3", "--wait"],
    );
    assert!(
        !o.status.success(),
        "--wait must fail on a job not paid out"
    );
    let job = stdout_json(&o);
    let id = job["id"].as_str().unwrap().to_string();
    assert!(
        ["Expired", "Failed"].contains(&job["status"].as_str().unwrap()),
        "{job}"
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(&format!("job {id} ended")), "{err}");
    assert_eq!(job["slashed"], "0");
    assert_eq!(job["refunded"], job["escrow"]);
    let reason = job["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("ticks"),
        "the worker's reason is kept: {job}"
    );

    let after = worker_json(&node, &walt_file);
    assert_eq!(num(&after["stake"]), STAKE, "no slash: {}", d.log());
    assert_eq!(
        after["reputation"], before["reputation"],
        "declining is free"
    );
    assert_eq!(num(&after["jobsDeclined"]), 1);
    assert_eq!(node.balance(&alice.identity()), FUNDS, "refunded, no gain");
    assert!(d.log().contains("declined the job"), "{}", d.log());

    // `job status` says why in words; `job result` and `job tokens` say there is none.
    let st = node.cli(None, &["job", "status", &id]);
    let text = String::from_utf8_lossy(&st.stdout);
    assert!(
        text.contains("why:") && text.contains("model stand-in"),
        "{text}"
    );
    let err = one_line_error(&node.cli(None, &["job", "result", &id]));
    assert!(err.contains("without a result"), "{err}");
    let err = one_line_error(&node.cli(None, &["job", "tokens", &id]));
    assert!(err.contains("streamed no tokens"), "{err}");

    // A job the worker can do, with the default timeout, finalizes and pays.
    let o = submit(&node, &alice_file, &["--max-tokens", "200", "--wait"]);
    let job = stdout_json(&o);
    assert!(o.status.success(), "{job} {}", d.log());
    assert_eq!(job["status"], "Finalized");
    assert!(num(&job["spec"]["timeoutTicks"]) >= 100, "{job}");
    assert_eq!(job["modelName"], "stand-in");
    assert_eq!(job["standIn"], true, "the fingerprint says stand-in");
    let st = node.cli(None, &["job", "status", job["id"].as_str().unwrap()]);
    let text = String::from_utf8_lossy(&st.stdout);
    assert!(text.contains("STAND-IN"), "{text}");
    // On a terminal, a result without a final newline gets one (the shell's prompt must not
    // land on its last line); `script` gives the command a terminal.
    let jid = job["id"].as_str().unwrap();
    let cmd = format!(
        "{} --node {} job result {jid}",
        env!("CARGO_BIN_EXE_comqute"),
        node.url
    );
    match Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .output()
    {
        Ok(o) if o.status.success() => {
            let out = String::from_utf8_lossy(&o.stdout);
            assert!(out.ends_with('\n'), "{out:?}");
            let piped = node.cli(None, &["job", "result", jid]);
            assert!(
                !piped.stdout.ends_with(b"\n"),
                "piped output is the exact bytes"
            );
        }
        other => eprintln!("no `script` to give the CLI a terminal ({other:?}): skipped"),
    }
    let list = node.cli(None, &["job", "list"]);
    assert!(String::from_utf8_lossy(&list.stdout).contains("stand-in"));

    // The worker's view: names, money, liveness.
    let w = worker_json(&node, &walt_file);
    assert!(num(&w["totalEarned"]) > 0, "{w}");
    assert_eq!(w["capabilities"]["models"][0], "stand-in");
    let text = node.cli(Some(&walt_file), &["worker", "status"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("earned") && text.contains("slashed 0 units"),
        "{text}"
    );
    assert!(
        text.contains("models stand-in") && text.contains("online (last heartbeat"),
        "{text}"
    );
}

#[test]
fn the_stand_in_serves_only_its_own_name() {
    let node = NodeProc::start("fair-standin");
    let (walt_file, _) = node.funded_key("walt", 100_000);
    let d = Daemon::start(&node, &walt_file, &["--model", "gemma3:270m"]);
    let (st, log) = d.exit_within(30);
    assert!(!st.success());
    assert!(log.contains("not a language model"), "{log}");
    let err = one_line_error(&node.cli(Some(&walt_file), &["worker", "status"]));
    assert!(err.contains("not a registered worker"), "{err}");
}

#[test]
fn jobs_nobody_can_serve_are_refused_before_signing() {
    let node = NodeProc::start("fair-unserved");
    let (walt_file, _) = node.funded_key("walt", 100_000);
    let (alice_file, alice) = node.funded_key("alice", FUNDS);

    // No worker at all: refused, nothing locked.
    let err = one_line_error(&submit(&node, &alice_file, &["--max-tokens", "10"]));
    assert!(
        err.contains("no online worker serves model \"stand-in\""),
        "{err}"
    );
    assert!(err.contains("--force"), "{err}");
    assert_eq!(node.balance(&alice.identity()), FUNDS);

    let d = Daemon::start(&node, &walt_file, &[]);
    wait_ready(&node, &walt_file, &d);
    // Under every worker's price: refused with the cheapest price.
    let o = node.cli(
        Some(&alice_file),
        &[
            "job",
            "submit",
            "--model",
            "stand-in",
            "--prompt",
            "hi",
            "--max-price-per-1k",
            "500",
            "--max-tokens",
            "10",
        ],
    );
    let err = one_line_error(&o);
    assert!(
        err.contains("at ≤ 500") && err.contains("cheapest asks 1000"),
        "{err}"
    );
    assert_eq!(node.balance(&alice.identity()), FUNDS);
    // `--force` submits anyway, with a warning.
    let o = node.cli(
        Some(&alice_file),
        &[
            "job",
            "submit",
            "--model",
            "nobody:1b",
            "--prompt",
            "hi",
            "--max-price-per-1k",
            "500",
            "--max-tokens",
            "10",
            "--timeout-ticks",
            "4",
            "--force",
            "--json",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("warning: no online worker"));
    let job = stdout_json(&o);
    assert_eq!(job["modelName"], Value::Null, "no worker ever declared it");
    let job = node.wait_job_status(job["id"].as_str().unwrap(), "Expired", 30);
    assert!(
        job["reason"]
            .as_str()
            .unwrap()
            .contains("no worker took it"),
        "{job}"
    );

    // The market as the chain sees it.
    let m = node.cli_json(None, &["market", "--json"]);
    let models = m["models"].as_array().unwrap();
    assert_eq!(models.len(), 1, "{m}");
    assert_eq!(models[0]["name"], "stand-in");
    assert_eq!(models[0]["workers"], 1);
    assert_eq!(models[0]["online"], 1);
    assert_eq!(models[0]["priceRange"], serde_json::json!(["1000", "1000"]));
    assert!(models[0]["tokensPerSRange"].is_array(), "benchmarked: {m}");
    let text = node.cli(None, &["market"]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("stand-in"));
}

#[test]
fn bad_prompts_and_limits_are_refused_before_signing() {
    let node = NodeProc::start("fair-limits");
    let (alice_file, alice) = node.funded_key("alice", FUNDS);
    let bin = node.dir.join("prompt.bin");
    std::fs::write(&bin, [0xff, 0xfe, 0x00, 0x41]).unwrap();
    let base = [
        "job",
        "submit",
        "--model",
        "stand-in",
        "--max-price-per-1k",
        "1000",
    ];
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--prompt-file", bin.to_str().unwrap(), "--max-tokens", "10"],
            "not UTF-8 text",
        ),
        (vec!["--prompt", "", "--max-tokens", "10"], "empty"),
        (
            vec!["--prompt", "hi", "--max-tokens", "100000000"],
            "too large: at most 1000000",
        ),
        (
            vec!["--prompt", "hi", "--max-tokens", "99999999999999999999"],
            "too large",
        ),
        (
            vec!["--prompt", "hi", "--max-tokens", "0"],
            "between 1 and 1000000",
        ),
        (
            vec![
                "--prompt",
                "hi",
                "--max-tokens",
                "10",
                "--timeout-ticks",
                "0",
            ],
            "between 1 and 100000 ticks",
        ),
    ];
    for (extra, want) in cases {
        let mut args = base.to_vec();
        args.extend(extra.iter().copied());
        let err = one_line_error(&node.cli(Some(&alice_file), &args));
        assert!(err.contains(want), "{args:?}: {err}");
    }
    assert_eq!(node.balance(&alice.identity()), FUNDS, "nothing was signed");

    // The chain's prompt limit and the node's blob limit agree: a prompt at the limit is
    // uploaded and submitted, one byte more is refused before anything is sent.
    let limit = comqute_sdk::contracts::MarketConfig::default()
        .jobs
        .max_prompt_bytes;
    let big = node.dir.join("big.txt");
    let submit_big = |size: u32| {
        std::fs::write(&big, vec![b'a'; size as usize]).unwrap();
        let path = big.to_str().unwrap();
        node.cli(
            Some(&alice_file),
            &[
                "job",
                "submit",
                "--model",
                "stand-in",
                "--max-price-per-1k",
                "1000",
                "--prompt-file",
                path,
                "--max-tokens",
                "10",
                "--force",
                "--json",
            ],
        )
    };
    let o = submit_big(limit);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let err = one_line_error(&submit_big(limit + 1));
    assert!(
        err.contains(&format!("the limit is {limit} bytes")),
        "{err}"
    );
}

#[test]
fn one_key_runs_one_daemon_and_stopping_signs_off() {
    let node = NodeProc::start("fair-session");
    let (walt_file, _) = node.funded_key("walt", 100_000);
    let first = Daemon::start(&node, &walt_file, &[]);
    wait_ready(&node, &walt_file, &first);

    // The same key file on this machine: the lock says so.
    let (st, log) = Daemon::start(&node, &walt_file, &[]).exit_within(30);
    assert!(!st.success());
    assert!(
        log.contains("another `comqute worker run` on this machine"),
        "{log}"
    );
    // A copy of the key elsewhere: the chain refuses the second session.
    let copy = node.dir.join("walt-copy.json");
    std::fs::copy(&walt_file, &copy).unwrap();
    let (st, log) = Daemon::start(&node, &copy, &[]).exit_within(30);
    assert!(!st.success());
    assert!(log.contains("another daemon is serving"), "{log}");
    assert!(log.contains("--takeover"), "{log}");
    let w = worker_json(&node, &walt_file);
    assert_eq!(w["online"], true);
    assert_eq!(w["available"], true, "the first daemon still serves");

    // Ctrl-C: the worker is offline at once, not a heartbeat window later.
    first.interrupt();
    let (st, _) = first.exit_within(30);
    assert!(st.success());
    let w = worker_json(&node, &walt_file);
    assert_eq!(w["online"], false, "{w}");
    assert_eq!(w["signedOff"], true);
    let text = node.cli(Some(&walt_file), &["worker", "status"]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("its daemon signed off"));
    // Now the copy may serve.
    let again = Daemon::start(&node, &copy, &[]);
    wait_ready(&node, &copy, &again);
}

#[test]
fn worker_register_reports_every_problem_at_once() {
    let node = NodeProc::start("fair-register");
    let (walt_file, _) = node.funded_key("walt", 100_000);
    let err =
        one_line_error(&node.cli(Some(&walt_file), &["worker", "register", "--stake", "lots"]));
    for want in ["3 problems", "--model NAME", "--price-per-1k", "--stake"] {
        assert!(err.contains(want), "{want}: {err}");
    }
    node.cli_json(
        Some(&walt_file),
        &[
            "worker",
            "register",
            "--stake",
            "20000",
            "--model",
            "stand-in",
            "--price-per-1k",
            "100",
            "--json",
        ],
    );
    let err = one_line_error(&node.cli(
        Some(&walt_file),
        &["worker", "register", "--stake", "20000"],
    ));
    assert!(err.contains("already registered as a worker"), "{err}");
    assert!(err.contains("--model NAME"), "all at once: {err}");
}

#[test]
fn a_slash_the_worker_suffers_is_logged_with_its_reason() {
    use comqute_sdk::{Amount, Client};
    let resolver = support::key("resolver");
    let node = NodeProc::start_with(
        "fair-slash-log",
        &[
            "--resolver",
            &resolver.identity().to_string(),
            "--challenge-window",
            "400",
            // Unchecked until alice challenges it.
            "--no-spot-checks",
        ],
    );
    let (walt_file, alice_file, d) = served(&node);
    let o = submit(&node, &alice_file, &["--max-tokens", "20"]);
    let id = stdout_json(&o)["id"].as_str().unwrap().to_string();
    node.wait_job_status(&id, "Completed", 60);
    let rt = support::runtime();
    let sdk = Client::remote(&node.url).unwrap();
    // Two more workers of the model, so a challenge gets replicas and stays open for the
    // devnet's resolver.
    rt.block_on(async {
        let caps = comqute_sdk::contracts::worker_registry::Capabilities {
            models: vec!["stand-in".into()],
            gpu: String::new(),
            vram_mb: 0,
            tokens_per_s: 1,
            price_per_1k: Amount(100),
            max_concurrent: 1,
        };
        for name in ["rita", "ravi"] {
            let k = support::key(name);
            sdk.faucet(&k.identity(), Amount(100_000)).await.unwrap();
            sdk.workers()
                .register(&k, &caps, Amount(20_000))
                .await
                .unwrap();
        }
    });
    node.cli_json(Some(&alice_file), &["job", "challenge", &id, "--json"]);
    rt.block_on(async {
        sdk.faucet(&resolver.identity(), Amount(10)).await.unwrap();
        sdk.jobs()
            .force_verdict(&resolver, id.parse::<u64>().unwrap(), false)
            .await
            .unwrap();
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    while !d.log().contains("SLASHED 5000") {
        assert!(Instant::now() < deadline, "no slash logged: {}", d.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        d.log()
            .contains("the result failed its check (a forced verdict)"),
        "{}",
        d.log()
    );
    let text = node.cli(Some(&walt_file), &["worker", "status"]);
    assert!(
        String::from_utf8_lossy(&text.stdout).contains("slashed 5000 units"),
        "{}",
        String::from_utf8_lossy(&text.stdout)
    );
}

#[test]
fn a_prompt_that_never_arrives_is_declined_before_the_offer_lapses() {
    use comqute_sdk::{Amount, Client, JobRequest};
    let node = NodeProc::start("fair-no-prompt");
    let (walt_file, alice_file, d) = served(&node);
    let before = worker_json(&node, &walt_file);
    // Submitted without uploading the prompt: the worker cannot fetch it. It must say so
    // with a free DECLINE within the offer's answer window (200 ticks of 25 ms here), not
    // wait for the blob until the offer lapses and costs it reputation.
    let alice = comqute_sdk::keys::read_key_file(&alice_file).unwrap();
    let id = support::runtime().block_on(async {
        let client = Client::remote(&node.url).unwrap();
        let req = JobRequest {
            timeout_ticks: 400,
            ..JobRequest::new("stand-in", "never uploaded", 8, Amount(2_000))
        };
        let h = client
            .jobs()
            .submit(&alice, &req.spec().unwrap())
            .await
            .unwrap();
        h.id().to_string()
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let job = loop {
        let j = node.job(&id);
        if j["reason"].is_string() || j["status"] != "Assigned" && j["status"] != "Open" {
            break j;
        }
        assert!(Instant::now() < deadline, "{j}\n{}", d.log());
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        job["reason"].as_str().unwrap().contains("prompt"),
        "{job}\n{}",
        d.log()
    );
    let after = worker_json(&node, &walt_file);
    assert_eq!(
        after["reputation"], before["reputation"],
        "declined, not lapsed"
    );
    assert_eq!(num(&after["jobsDeclined"]), 1);
}

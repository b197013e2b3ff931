//! `comqute models list|pull` against the Ollama-compatible test server.

use std::process::{Command, Output};

use comqute_inference::testserver::{TestServer, TestServerConfig};
use serde_json::Value;

/// A test server on a runtime that keeps serving while the test runs the binary.
fn start() -> (tokio::runtime::Runtime, TestServer) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let s = rt
        .block_on(TestServer::start(TestServerConfig::default()))
        .unwrap();
    (rt, s)
}

fn comqute(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_comqute"))
        .args(args)
        .env_remove("OLLAMA_URL")
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn list_as_json_and_as_a_table() {
    let (_rt, s) = start();
    let o = comqute(&["models", "list", "--ollama", &s.url(), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["version"], "0.12.0-comqute-test");
    let names: Vec<_> = v["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["comqute-test:tiny", "comqute-test:small"]);
    assert_eq!(v["models"][0]["quantization"], "Q4_K_M");
    let o = comqute(&["models", "list", "--ollama", &s.url()]);
    assert!(o.status.success());
    let out = stdout(&o);
    assert!(out.starts_with("NAME"), "{out}");
    assert!(out.contains("comqute-test:small"), "{out}");
}

#[test]
fn the_url_comes_from_ollama_url() {
    let (_rt, s) = start();
    let o = Command::new(env!("CARGO_BIN_EXE_comqute"))
        .args(["models", "list", "--json"])
        .env("OLLAMA_URL", s.url())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("comqute-test:tiny"));
}

#[test]
fn pull_shows_progress_then_the_model_is_listed() {
    let (_rt, s) = start();
    let o = comqute(&[
        "models",
        "pull",
        "comqute-test:pullable",
        "--ollama",
        &s.url(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("pulled comqute-test:pullable"));
    let err = stderr(&o);
    assert!(err.contains("pulling manifest"), "{err}");
    assert!(err.contains("success"), "{err}");
    let o = comqute(&["models", "list", "--ollama", &s.url(), "--json"]);
    assert!(stdout(&o).contains("comqute-test:pullable"));
}

#[test]
fn pull_of_an_unknown_model_is_one_line() {
    let (_rt, s) = start();
    let o = comqute(&["models", "pull", "nope:1b", "--ollama", &s.url()]);
    assert!(!o.status.success());
    let err = stderr(&o);
    let last = err.lines().last().unwrap();
    assert!(last.starts_with("error: pulling nope:1b"), "{err}");
    assert!(last.contains("file does not exist"), "{err}");
}

#[test]
fn ollama_down_is_one_line() {
    let (_rt, s) = start();
    let url = s.url();
    s.kill();
    let o = comqute(&["models", "list", "--ollama", &url]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("error: Ollama is not answering"), "{err}");
    assert!(err.contains(&url), "{err}");
}

//! The test server itself: its wire format as raw bytes, and its process form.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use comqute_inference::testserver::{Fault, TestServerConfig};
use comqute_inference::{Backend, GenerateRequest, OllamaBackend, TokenSink};
use serde_json::Value;

use super::common::{fast, server, server_with, TINY};

/// The raw NDJSON lines of a generation, as a plain HTTP client sees them.
async fn raw_lines(url: &str, body: serde_json::Value) -> (u16, String, Vec<Value>) {
    let r = reqwest::Client::new()
        .post(format!("{url}/api/generate"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let text = r.text().await.unwrap();
    let lines = text
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (status, ct, lines)
}

#[tokio::test]
async fn ndjson_wire_format_omits_zero_metrics() {
    let s = server().await;
    let (status, ct, lines) = raw_lines(
        &s.url(),
        serde_json::json!({"model": TINY, "prompt": "hi", "options": {"seed": 1, "num_predict": 4}}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(ct, "application/x-ndjson");
    let (last, tokens) = lines.split_last().unwrap();
    assert_eq!(tokens.len(), 4);
    for t in tokens {
        assert_eq!(t["done"], false);
        assert!(t["response"].is_string());
        assert!(t["created_at"].is_string());
        assert!(t.get("eval_count").is_none());
    }
    assert_eq!(last["done"], true);
    assert_eq!(last["done_reason"], "length");
    assert_eq!(last["response"], "");
    assert_eq!(last["eval_count"], 4);
    // No token delay: eval_duration is zero, so it is absent, as Ollama's omitempty does.
    assert!(last.get("eval_duration").is_none());
}

#[tokio::test]
async fn seeds_outside_options_are_ignored_like_ollama() {
    let s = server().await;
    let body = serde_json::json!({"model": TINY, "prompt": "hi", "seed": 1, "options": {"num_predict": 30}});
    let a = raw_lines(&s.url(), body.clone()).await.2;
    let b = raw_lines(&s.url(), body).await.2;
    let text = |l: &[Value]| {
        l.iter()
            .map(|v| v["response"].as_str().unwrap().to_string())
            .collect::<String>()
    };
    assert_ne!(text(&a), text(&b), "no options.seed: random each time");
}

#[tokio::test]
async fn unknown_model_and_busy_bodies() {
    let s = server().await;
    let r = reqwest::Client::new()
        .post(format!("{}/api/generate", s.url()))
        .body(r#"{"model":"x","prompt":"p"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    assert_eq!(
        r.text().await.unwrap(),
        r#"{"error":"model \"x\" not found, try pulling it first"}"#
    );
    s.push_fault(Fault::Busy);
    let (status, _, lines) =
        raw_lines(&s.url(), serde_json::json!({"model": TINY, "prompt": "p"})).await;
    assert_eq!(status, 503);
    assert_eq!(
        lines[0]["error"],
        "server busy, please try again.  maximum pending requests exceeded"
    );
}

#[test]
fn the_binary_serves_and_dies_with_its_process() {
    let exe = env!("CARGO_BIN_EXE_comqute-ollama-testserver");
    let mut child = Command::new(exe)
        .args([
            "--model",
            "proc:test",
            "--split",
            "awkward",
            "--token-delay-ms",
            "1",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the test server binary starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_string();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let b = OllamaBackend::with_options(&url, fast()).unwrap();
    let g = rt
        .block_on(b.generate(
            &GenerateRequest::new("proc:test", "p", 20).with_seed(2),
            TokenSink::discard(),
        ))
        .unwrap();
    assert_eq!(
        g.text,
        comqute_inference::standin::script("proc:test", "p", 2, 20, &[]).text()
    );
    child.kill().unwrap();
    child.wait().unwrap();
    let e = rt
        .block_on(b.generate(
            &GenerateRequest::new("proc:test", "p", 20),
            TokenSink::discard(),
        ))
        .unwrap_err();
    assert!(
        matches!(e, comqute_inference::InferenceError::Unreachable { .. }),
        "{e:?}"
    );
}

#[tokio::test]
async fn kill_and_restart_keep_the_port_and_models() {
    let s = server_with(TestServerConfig::default()).await;
    let addr = s.addr();
    s.add_model("extra:1b");
    s.kill();
    assert!(!s.is_running());
    s.restart().await.unwrap();
    assert!(s.is_running());
    assert_eq!(s.addr(), addr);
    let b = OllamaBackend::with_options(&s.url(), fast()).unwrap();
    assert!(b.tags().await.unwrap().iter().any(|m| m.name == "extra:1b"));
}

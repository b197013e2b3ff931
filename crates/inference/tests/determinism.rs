//! Same inputs, same bytes: across runs, and across candle thread counts (1 and 2, each in
//! its own process since candle fixes its thread pool once per process), greedy and seeded.

mod common;

use std::process::Command;

use comqute_inference::builtin::{BuiltinModel, GenerateRequest};

const PROMPT: &str = "Once upon a time, in a village by the sea,";

fn requests() -> Vec<GenerateRequest> {
    let greedy = GenerateRequest::greedy(PROMPT, 24);
    let seeded = GenerateRequest {
        temperature_milli: 900,
        top_k: 40,
        top_p_milli: 950,
        seed: 42,
        ..greedy.clone()
    };
    let hot = GenerateRequest {
        temperature_milli: 1500,
        top_k: 0,
        top_p_milli: 1000,
        seed: 7,
        ..greedy.clone()
    };
    vec![greedy, seeded, hot]
}

/// One line per request: token count, done reason, blake3 of the text.
fn run_all(model: &BuiltinModel) -> Vec<String> {
    requests()
        .iter()
        .map(|r| {
            let mut streamed = String::new();
            let g = model
                .generate(r, |p| {
                    streamed.push_str(p);
                    true
                })
                .expect("generation");
            assert_eq!(streamed, g.text, "the stream concatenates to the text");
            format!(
                "{} {} {}",
                g.output_tokens,
                g.done_reason.as_str(),
                comqute_inference::result_hash(&g.text).to_hex()
            )
        })
        .collect()
}

#[test]
fn same_bytes_on_every_run() {
    let model = common::model();
    let a = run_all(model);
    let b = run_all(model);
    assert_eq!(a, b);
    // The three requests are different runs (greedy, two seeds/temperatures).
    assert_ne!(a[0], a[1]);
    assert_ne!(a[1], a[2]);
    let other_seed = GenerateRequest {
        seed: 43,
        ..requests()[1].clone()
    };
    let g1 = model
        .generate(&requests()[1], |_| true)
        .expect("generation");
    let g2 = model.generate(&other_seed, |_| true).expect("generation");
    assert_ne!(g1.text, g2.text, "another seed gives another sample");
}

/// The child half of [`same_bytes_with_one_and_two_threads`]: prints `RESULT …` lines.
#[test]
#[ignore = "run by same_bytes_with_one_and_two_threads in a child process"]
fn child_generation() {
    let threads = comqute_inference::builtin::configure_threads(None).expect("threads");
    let model = BuiltinModel::load(&common::model_path()).expect("loading");
    println!("THREADS {threads}");
    for line in run_all(&model) {
        println!("RESULT {line}");
    }
}

#[test]
fn same_bytes_with_one_and_two_threads() {
    let here = run_all(common::model());
    let exe = std::env::current_exe().expect("test binary path");
    for threads in [1, 2] {
        let out = Command::new(&exe)
            .args(["child_generation", "--exact", "--ignored", "--nocapture"])
            .args(["--test-threads", "1"])
            .env("CANDLE_NUM_THREADS", threads.to_string())
            .env("RAYON_NUM_THREADS", threads.to_string())
            .output()
            .expect("running the child test");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "child with {threads} threads failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains(&format!("THREADS {threads}\n")),
            "the child did not run {threads} threads:\n{stdout}"
        );
        let got: Vec<String> = stdout
            .lines()
            .filter_map(|l| l.strip_prefix("RESULT "))
            .map(str::to_string)
            .collect();
        assert_eq!(got, here, "{threads} thread(s) gave other bytes");
    }
}

//! The teacher-forced scorer (`builtin::score`, issue 18) on the real model: honest outputs
//! of the built-in runtime and of llama-server (same GGUF) pass the calibrated thresholds,
//! the same outputs with 10 % of their tokens replaced fail them.
//!
//! The llama-server test uses `$LLAMA_SERVER` or the build in `~/.cache/comqute/llama-server`;
//! without one it says so and passes, except under CI (`CI` set), where it builds one.
//!
//! `calibration_table` (ignored) measures the honest and corrupted score distributions the
//! thresholds in `builtin::score` come from, and scoring speed against generation speed:
//! `cargo test --release -p comqute-inference --test score -- --ignored --nocapture`.

mod common;

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use comqute_inference::builtin::score::{
    ScoreError, ScoreRequest, DEFAULT_TOP_K, PASS_BPS_GREEDY, PASS_BPS_SAMPLED,
};
use comqute_inference::builtin::{BuiltinModel, GenerateRequest, TokenKind};
use comqute_inference::llama_server::{self, LlamaServer};
use serde_json::json;

/// Prompts for the calibration: plain completions of several kinds, and chat-style ones.
const PROMPTS: &[&str] = &[
    "The history of the printing press begins in the fifteenth century, when",
    "Once upon a time, in a village by the sea,",
    "def fibonacci(n):\n",
    "The three primary colors are",
    "Photosynthesis is the process by which",
    "Q: What is the capital of France?\nA:",
    "Here is a recipe for pancakes.\nIngredients:\n",
    "The quick brown fox",
    "In 1969, the Apollo 11 mission",
    "user: Write a haiku about autumn.\nassistant:",
    "A list of ten animals that live in the ocean:\n1.",
    "The main differences between TCP and UDP are",
    "<start_of_turn>user\nExplain what a hash function is.<end_of_turn>\n<start_of_turn>model\n",
    "Dear Sir or Madam,\n\nI am writing to",
    "SELECT name, email FROM users WHERE",
    "La ville de Paris est",
];

/// `text` with about a tenth of its tokens (at least one) replaced by ordinary vocabulary
/// entries drawn from a generator seeded with `seed`: replacements the model almost never
/// ranks high.
fn corrupt(model: &BuiltinModel, text: &str, seed: u64) -> String {
    let tok = model.tokenizer();
    let mut ids = tok.encode(text, false, false);
    if ids.is_empty() {
        return text.to_string();
    }
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let n = ids.len();
    let want = n.div_ceil(10);
    let mut chosen = std::collections::BTreeSet::new();
    while chosen.len() < want {
        chosen.insert((next() % n as u64) as usize);
    }
    for &i in &chosen {
        loop {
            let id = (next() % tok.vocab_size() as u64) as u32;
            if id != ids[i] && tok.kind(id) == Some(TokenKind::Normal) {
                ids[i] = id;
                break;
            }
        }
    }
    tok.decode(&ids)
}

fn generate(model: &BuiltinModel, prompt: &str, max_tokens: u32, temp_milli: u32) -> String {
    let req = GenerateRequest {
        temperature_milli: temp_milli,
        seed: 42,
        top_k: 40,
        top_p_milli: 950,
        ..GenerateRequest::greedy(prompt, max_tokens)
    };
    model.generate(&req, |_| true).expect("generation").text
}

fn score(
    model: &BuiltinModel,
    prompt: &str,
    claimed: &str,
) -> comqute_inference::builtin::ScoreReport {
    model
        .score(&ScoreRequest::new(prompt, claimed))
        .expect("scoring")
}

#[test]
fn builtin_greedy_output_passes_and_corrupted_fails() {
    let model = common::model();
    for prompt in &PROMPTS[..3] {
        let text = generate(model, prompt, 64, 0);
        let honest = score(model, prompt, &text);
        assert!(honest.tokens > 0, "{prompt:?}: empty output {text:?}");
        // The first claimed token is judged on the very logits generation took it from.
        assert_eq!(honest.ranks[0], 0, "{prompt:?}: {honest:?}");
        assert!(
            honest.passes(PASS_BPS_GREEDY),
            "{prompt:?}: honest greedy output scored {} bps: {honest:?}",
            honest.agreement_bps
        );
        let bad = corrupt(model, &text, 1);
        let report = score(model, prompt, &bad);
        assert!(
            !report.passes(PASS_BPS_SAMPLED),
            "{prompt:?}: 10 % corrupted output scored {} bps: {bad:?}",
            report.agreement_bps
        );
    }
}

#[test]
fn builtin_seeded_output_passes_the_sampled_threshold() {
    let model = common::model();
    for prompt in &PROMPTS[3..5] {
        let text = generate(model, prompt, 64, 700);
        let honest = score(model, prompt, &text);
        assert!(
            honest.passes(PASS_BPS_SAMPLED),
            "{prompt:?}: honest sampled output scored {} bps: {honest:?}",
            honest.agreement_bps
        );
        let report = score(model, prompt, &corrupt(model, &text, 2));
        assert!(!report.passes(PASS_BPS_SAMPLED), "{prompt:?}: {report:?}");
    }
}

#[test]
fn scoring_is_deterministic_and_ids_agree_with_text() {
    let model = common::model();
    let prompt = PROMPTS[1];
    let text = generate(model, prompt, 40, 0);
    let a = score(model, prompt, &text);
    let b = score(model, prompt, &text);
    assert_eq!(a.ranks, b.ranks);
    let ids = model.tokenizer().encode(&text, false, false);
    let c = model
        .score_ids(prompt, &ids, DEFAULT_TOP_K)
        .expect("scoring ids");
    assert_eq!(a.ranks, c.ranks);
    let d = model
        .score_bytes(prompt, text.as_bytes(), DEFAULT_TOP_K)
        .expect("scoring bytes");
    assert_eq!(a.ranks, d.ranks);
}

#[test]
fn edge_cases_give_clear_results() {
    let model = common::model();
    let empty = score(model, "Hello", "");
    assert_eq!(
        (empty.tokens, empty.in_top_k, empty.agreement_bps),
        (0, 0, 10_000)
    );
    assert!(empty.ranks.is_empty());

    let e = model
        .score_bytes("Hello", b"ok \xFF\xFE", DEFAULT_TOP_K)
        .expect_err("not UTF-8");
    assert!(
        matches!(e, ScoreError::ClaimNotUtf8 { valid_up_to: 3 }),
        "{e}"
    );
    assert!(e.is_claim_fault());

    let ctx = model.config().context_length;
    let e = model
        .score_ids("Hello", &vec![1000; ctx], DEFAULT_TOP_K)
        .expect_err("longer than the context");
    assert!(matches!(e, ScoreError::ClaimTooLong { .. }), "{e}");
    assert!(e.is_claim_fault());

    let vocab = model.config().vocab as u32;
    let e = model
        .score_ids("Hello", &[5, vocab], DEFAULT_TOP_K)
        .expect_err("outside the vocabulary");
    assert!(matches!(e, ScoreError::ClaimTokenOutOfVocab { .. }), "{e}");

    let e = model
        .score(&ScoreRequest {
            top_k: 0,
            ..ScoreRequest::new("Hello", " world")
        })
        .expect_err("top_k 0");
    assert!(
        matches!(e, ScoreError::InvalidRequest(_)) && !e.is_claim_fault(),
        "{e}"
    );

    // A single claimed token needs no forward pass beyond the prompt; top_k = vocab accepts
    // anything.
    let one = model
        .score_ids("Hello", &[12345], vocab)
        .expect("one token");
    assert_eq!(
        (one.tokens, one.in_top_k, one.agreement_bps),
        (1, 1, 10_000)
    );
}

/// The llama-server binary: configured or built already; under CI built on demand.
fn llama_binary() -> Option<PathBuf> {
    static BIN: OnceLock<Option<PathBuf>> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(b) = common::llama_server_binary() {
            return Some(b);
        }
        if std::env::var_os("CI").is_none() {
            eprintln!("no llama-server (set LLAMA_SERVER): llama.cpp scoring checks not run");
            return None;
        }
        eprintln!("CI: building llama-server into the cache (about 6.5 minutes on 2 cores)");
        Some(llama_server::locate_or_build().unwrap_or_else(|e| panic!("{e}")))
    })
    .clone()
}

fn llama_server() -> Option<LlamaServer> {
    let bin = llama_binary()?;
    Some(
        LlamaServer::start(
            &bin,
            &common::model_path(),
            &["--ctx-size", "4096"],
            Duration::from_secs(120),
        )
        .unwrap_or_else(|e| panic!("{e}")),
    )
}

/// llama-server's completion of `prompt`: greedy at temperature 0, else its default sampler
/// chain at `temp_milli` with seed 42.
fn llama_complete(server: &LlamaServer, prompt: &str, n: u32, temp_milli: u32) -> String {
    let v = server
        .post_json(
            "/completion",
            &json!({"prompt": prompt, "n_predict": n, "temperature": f64::from(temp_milli) / 1000.0,
                    "seed": 42, "cache_prompt": false}),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    v["content"].as_str().expect("content").to_string()
}

#[test]
fn llama_server_greedy_output_passes_and_corrupted_fails() {
    let Some(server) = llama_server() else { return };
    let model = common::model();
    for prompt in &PROMPTS[..4] {
        let text = llama_complete(&server, prompt, 64, 0);
        let honest = score(model, prompt, &text);
        assert!(honest.tokens > 0, "{prompt:?}: empty output");
        assert!(
            honest.passes(PASS_BPS_GREEDY),
            "{prompt:?}: llama-server's greedy output scored {} bps: {text:?} {honest:?}",
            honest.agreement_bps
        );
        let bad = corrupt(model, &text, 3);
        let report = score(model, prompt, &bad);
        assert!(
            !report.passes(PASS_BPS_SAMPLED),
            "{prompt:?}: 10 % corrupted llama-server output scored {} bps: {bad:?}",
            report.agreement_bps
        );
    }
}

fn summary(name: &str, v: &mut [u16]) {
    v.sort_unstable();
    println!(
        "{name:<44} n={:<3} min {:>6} median {:>6} max {:>6}   all {:?}",
        v.len(),
        v[0],
        v[(v.len() - 1) / 2],
        v[v.len() - 1],
        v
    );
}

fn stats(name: &str, v: &mut [f64]) {
    v.sort_by(f64::total_cmp);
    println!(
        "{name:<44} min {:>8.1} median {:>8.1} max {:>8.1}",
        v[0],
        v[(v.len() - 1) / 2],
        v[v.len() - 1]
    );
}

#[test]
#[ignore = "calibration: run in release with --ignored --nocapture"]
fn calibration_table() {
    let model = common::model();
    let n: u32 = std::env::var("SCORE_CAL_TOKENS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(128);
    let server = llama_server();
    let mut rows: Vec<(&str, Vec<u16>)> = Vec::new();
    let mut push = |name: &'static str, bps: u16| match rows.iter_mut().find(|r| r.0 == name) {
        Some(r) => r.1.push(bps),
        None => rows.push((name, vec![bps])),
    };
    let mut low: Vec<String> = Vec::new();
    for (i, prompt) in PROMPTS.iter().enumerate() {
        let mut outputs: Vec<(&'static str, &'static str, String)> = vec![
            (
                "builtin greedy",
                "builtin greedy, corrupted",
                generate(model, prompt, n, 0),
            ),
            (
                "builtin t0.7 seed 42",
                "builtin t0.7, corrupted",
                generate(model, prompt, n, 700),
            ),
        ];
        if let Some(s) = &server {
            outputs.push((
                "llama-server t0",
                "llama-server t0, corrupted",
                llama_complete(s, prompt, n, 0),
            ));
            outputs.push((
                "llama-server t0.7 seed 42",
                "llama-server t0.7, corrupted",
                llama_complete(s, prompt, n, 700),
            ));
        }
        for (name, bad_name, text) in outputs {
            let r = score(model, prompt, &text);
            if r.tokens == 0 {
                println!("{name} on prompt {i}: empty output, skipped");
                continue;
            }
            push(name, r.agreement_bps);
            if r.agreement_bps < 10_000 {
                low.push(format!(
                    "{name} p{i}: {} bps, {} tokens, hist {:?}",
                    r.agreement_bps,
                    r.tokens,
                    r.rank_histogram()
                ));
            }
            let b = score(model, prompt, &corrupt(model, &text, i as u64 + 1));
            push(bad_name, b.agreement_bps);
        }
    }
    println!("\nagreement in bps, top-k {DEFAULT_TOP_K}, {n} tokens asked per output:");
    for (name, v) in &mut rows {
        summary(name, v);
    }
    println!("\nhonest outputs below 10,000 bps:");
    for l in &low {
        println!("  {l}");
    }

    // Speed: generation (greedy, ignore nothing) against scoring the same output, same prompt.
    let prompt = PROMPTS[0];
    let _ = generate(model, prompt, 4, 0);
    let mut gen_tps = Vec::new();
    let mut score_tps = Vec::new();
    let mut ratio = Vec::new();
    for _ in 0..5 {
        let g = model
            .generate(&GenerateRequest::greedy(prompt, n), |_| true)
            .expect("generation");
        let gt = f64::from(g.output_tokens.saturating_sub(1)) / g.generation_duration.as_secs_f64();
        let r = score(model, prompt, &g.text);
        gen_tps.push(gt);
        score_tps.push(r.tokens_per_s());
        ratio.push(r.tokens_per_s() / gt);
    }
    println!("\nspeed, {n} output tokens, 5 runs:");
    stats("generation tokens/s", &mut gen_tps);
    stats("scoring tokens/s", &mut score_tps);
    stats("ratio", &mut ratio);
}

//! The built-in forward pass agrees with llama.cpp (llama-server's `n_probs` answers on the
//! same GGUF, committed in `fixtures/top5.json`):
//! - the greedy first token matches on every prompt;
//! - on the fixed prompts "The color of the sky is" and "def fibonacci(n):\n" the five most
//!   likely next tokens come in llama.cpp's order (every gap between neighbours, the fifth
//!   and sixth included, is at least 0.15 in both runtimes there);
//! - on every prompt llama.cpp's top five are in our top eight with log-probabilities
//!   within 0.5.
//!
//! Why not exact everywhere: both runtimes quantize activations to 8 bits inside the weight
//! products, with different kernels, and on this 270M model that moves log-probabilities by
//! up to ~0.35 (measured: swapping any one weight type to f32 products moves them that much,
//! and llama.cpp itself moves ~0.1 between flash attention on and off). With activations in
//! f32 this forward pass lands within ~0.1 of llama.cpp. Near-ties (gaps under ~0.05) can
//! therefore swap, and the fixture's other prompts have some.

mod common;

fn log_probs(logits: &[f32]) -> Vec<f64> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let sum: f64 = logits.iter().map(|&l| (l as f64 - max).exp()).sum();
    logits.iter().map(|&l| l as f64 - max - sum.ln()).collect()
}

fn top(logits: &[f32], n: usize) -> Vec<u32> {
    let mut ids: Vec<u32> = (0..logits.len() as u32).collect();
    ids.sort_by(|&a, &b| {
        logits[b as usize]
            .total_cmp(&logits[a as usize])
            .then(a.cmp(&b))
    });
    ids.truncate(n);
    ids
}

struct Expected {
    prompt: String,
    first: u32,
    top5: Vec<(u32, f64)>,
}

fn expected() -> Vec<Expected> {
    let fx = common::fixture("top5.json");
    fx["prompts"]
        .as_array()
        .expect("prompts")
        .iter()
        .map(|p| Expected {
            prompt: p["prompt"].as_str().expect("prompt").to_string(),
            first: p["first_token"].as_u64().expect("first") as u32,
            top5: p["top5"]
                .as_array()
                .expect("top5")
                .iter()
                .map(|t| {
                    (
                        t["id"].as_u64().expect("id") as u32,
                        t["logprob"].as_f64().expect("logprob"),
                    )
                })
                .collect(),
        })
        .collect()
}

#[test]
fn fixed_prompts_have_llama_cpps_first_token_and_top5_order() {
    let all = expected();
    assert_eq!(all[0].prompt, "The color of the sky is");
    assert_eq!(all[1].prompt, "def fibonacci(n):\n");
    for e in &all[..2] {
        let logits = common::model()
            .prompt_logits(&e.prompt)
            .expect("forward pass");
        let want: Vec<u32> = e.top5.iter().map(|t| t.0).collect();
        let got = top(&logits, 5);
        assert_eq!(got[0], e.first, "{:?}: first token", e.prompt);
        assert_eq!(got, want, "{:?}: top-5 order", e.prompt);
    }
}

#[test]
fn every_prompt_has_llama_cpps_first_token_and_close_probabilities() {
    let model = common::model();
    let mut report = Vec::new();
    let mut failed = false;
    for e in expected() {
        let logits = model.prompt_logits(&e.prompt).expect("forward pass");
        let lp = log_probs(&logits);
        let got = top(&logits, 8);
        let first_ok = got[0] == e.first;
        let in_top8 = e.top5.iter().all(|(id, _)| got.contains(id));
        let max_d = e
            .top5
            .iter()
            .map(|&(id, l)| (lp[id as usize] - l).abs())
            .fold(0.0, f64::max);
        report.push(format!(
            "{:?}: llama {:?}, ours {:?}, max |Δlogprob| {max_d:.3}",
            e.prompt,
            e.top5.iter().map(|t| t.0).collect::<Vec<_>>(),
            &got[..5]
        ));
        failed |= !first_ok || !in_top8 || max_d > 0.5;
    }
    eprintln!("{}", report.join("\n"));
    assert!(
        !failed,
        "disagreement with llama.cpp:\n{}",
        report.join("\n")
    );
}

//! `comqute bench …`: measurements. `bench inference` times the built-in runtime (load,
//! prompt and generation speed, memory) and, when `LLAMA_SERVER` names a llama-server
//! binary, llama.cpp on the same file in the same run, and the teacher-forced scorer (issue
//! 18) on the generated output.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use comqute_inference::builtin::{GenerateRequest, ScoreRequest};
use comqute_inference::{llama_server, process_memory};
use serde_json::{json, Value};

/// Benchmarks.
#[derive(Subcommand)]
pub enum BenchCommand {
    /// The built-in runtime, and llama-server on the same model when `LLAMA_SERVER` is set.
    Inference(InferenceArgs),
    /// The contract test harness's own speed (issue 9): transfers, scenarios on forks,
    /// snapshot/restore at 1M jobs, idle warps, start-up, invariant runs.
    Harness(super::bench_harness::HarnessArgs),
    /// Ledger throughput against the ed25519 verification limit, tick cost with many live
    /// jobs, heap bytes per live job, log replay speed.
    Ledger(super::bench_ledger::LedgerBenchArgs),
    /// Bounded loopback load on a node's broadcast endpoint: accepted tx/s and p50/p99
    /// latency with signature checks and without (devnet unsigned broadcast).
    Node(super::bench_node::NodeBenchArgs),
    /// Bounded loopback abuse: one identity floods broadcasts and blob uploads while an
    /// honest requester runs jobs; its latency idle and under the flood, and its jobs' ends.
    Abuse(super::bench_abuse::AbuseBenchArgs),
}

/// Options of `comqute bench inference`.
#[derive(Args)]
pub struct InferenceArgs {
    /// The built-in model.
    #[arg(long, default_value = "gemma3:270m")]
    pub model: String,
    /// Use this GGUF file instead of the installed model.
    #[arg(long, value_name = "FILE")]
    pub gguf: Option<PathBuf>,
    /// Tokens to generate (greedy).
    #[arg(long, default_value_t = 64)]
    pub max_tokens: u32,
    /// Threads for both runtimes (default: candle's choice, the physical cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// A llama-server binary to compare with.
    #[arg(long, env = "LLAMA_SERVER", value_name = "BINARY")]
    pub llama_server: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// The benchmark prompt: a plain completion the base model continues at length.
pub const BENCH_PROMPT: &str = "The history of the printing press begins in the fifteenth \
century, when Johannes Gutenberg, a goldsmith from Mainz, combined movable metal type, \
oil-based ink and a wooden screw press into a system that could produce books faster and more \
cheaply than any scribe. Within fifty years, presses were at work in more than two hundred \
European cities, and the consequences reached far beyond the book trade. In this essay we \
look at how";

/// Targets from the issue: ≥ 20 tokens/s, load ≤ 3 s, ≤ 2 GB, ≥ 0.5 of llama-server.
const TARGET_TOKENS_PER_S: f64 = 20.0;
const TARGET_LOAD_S: f64 = 3.0;
const TARGET_RSS_BYTES: u64 = 2_000_000_000;
const TARGET_RATIO: f64 = 0.5;

/// Runs a bench command.
pub fn run(c: BenchCommand) -> Result<()> {
    match c {
        BenchCommand::Inference(a) => inference(a),
        BenchCommand::Harness(a) => super::bench_harness::run(a),
        BenchCommand::Ledger(a) => super::bench_ledger::run(a),
        BenchCommand::Node(a) => super::bench_node::run(a),
        BenchCommand::Abuse(a) => super::bench_abuse::run(a),
    }
}

fn per_s(n: u64, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64().max(1e-9)
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn inference(a: InferenceArgs) -> Result<()> {
    let model = comqute_worker::load_builtin(&a.model, a.gguf.as_deref(), a.threads)?;
    let path = model.path().to_path_buf();
    let threads = comqute_inference::builtin::configure_threads(None)?;
    let load_s = model.load_duration().as_secs_f64();
    let after_load = process_memory();

    let req = GenerateRequest::greedy(BENCH_PROMPT, a.max_tokens);
    // One short warm-up run: the first product against each weight repacks it.
    model.generate(&GenerateRequest::greedy(BENCH_PROMPT, 2), |_| true)?;
    let out = model.generate(&req, |_| true)?;
    let mem = process_memory();
    // Each token after the first costs one forward pass; the first comes from the prompt's.
    let decoded = u64::from(out.output_tokens.saturating_sub(1));
    let builtin_tps = per_s(decoded, out.generation_duration);
    let prompt_tps = per_s(u64::from(out.prompt_tokens), out.prompt_duration);
    // Scoring the same output by one teacher-forced pass (issue 18 asks ≥ 10× generation).
    let scored = model.score(&ScoreRequest::new(BENCH_PROMPT, out.text.clone()))?;
    let score_tps = scored.tokens_per_s();

    let mut report = json!({
        "model": a.gguf.as_ref().map(|_| path.display().to_string()).unwrap_or(a.model.clone()),
        "path": path.display().to_string(),
        "threads": threads,
        "load_s": round2(load_s),
        "prompt_tokens": out.prompt_tokens,
        "prompt_tokens_per_s": round2(prompt_tps),
        "output_tokens": out.output_tokens,
        "builtin_tokens_per_s": round2(builtin_tps),
        "score_tokens": scored.tokens,
        "score_tokens_per_s": round2(score_tps),
        "score_ratio": round2(score_tps / builtin_tps.max(1e-9)),
        "rss_after_load_bytes": after_load.map(|m| m.rss_bytes),
        "rss_bytes": mem.map(|m| m.rss_bytes),
        "peak_rss_bytes": mem.map(|m| m.peak_rss_bytes),
        "runtime": model.fingerprint(req.sampling()).to_hex(),
    });
    let mut ratio = None;
    if let Some(bin) = &a.llama_server {
        let ls = llama_server_run(bin, &path, out.output_tokens, threads)?;
        let tps = ls["predicted_per_second"].as_f64().unwrap_or(0.0);
        if tps > 0.0 {
            ratio = Some(builtin_tps / tps);
        }
        report["llama_server_tokens_per_s"] = json!(round2(tps));
        report["llama_server_prompt_tokens_per_s"] =
            json!(round2(ls["prompt_per_second"].as_f64().unwrap_or(0.0)));
        report["llama_server_peak_rss_bytes"] = ls["peak_rss_bytes"].clone();
        report["ratio"] = json!(ratio.map(round2));
    }
    let peak = mem.map(|m| m.peak_rss_bytes).unwrap_or(0);
    report["targets_met"] = json!({
        "tokens_per_s": builtin_tps >= TARGET_TOKENS_PER_S,
        "load": load_s <= TARGET_LOAD_S,
        "memory": peak <= TARGET_RSS_BYTES,
        "ratio": ratio.map(|r| r >= TARGET_RATIO),
    });
    if a.json {
        super::print_json(&report);
        return Ok(());
    }
    let mb = |b: Option<u64>| {
        b.map(|b| format!("{:.0} MB", b as f64 / 1e6))
            .unwrap_or("?".into())
    };
    println!("model            {}", path.display());
    println!("threads          {threads}");
    println!("load             {load_s:.2} s (target ≤ {TARGET_LOAD_S} s)");
    println!(
        "prompt           {} tokens, {prompt_tps:.1} tokens/s",
        out.prompt_tokens
    );
    println!(
        "generation       {} tokens, {builtin_tps:.1} tokens/s (target ≥ {TARGET_TOKENS_PER_S})",
        out.output_tokens
    );
    println!(
        "scoring          {} tokens, {score_tps:.1} tokens/s ({:.2}× generation)",
        scored.tokens,
        score_tps / builtin_tps.max(1e-9)
    );
    println!(
        "memory           {} resident, {} peak (target ≤ 2 GB)",
        mb(mem.map(|m| m.rss_bytes)),
        mb(mem.map(|m| m.peak_rss_bytes))
    );
    if let Some(t) = report["llama_server_tokens_per_s"].as_f64() {
        println!("llama-server     {t:.1} tokens/s");
        if let Some(r) = ratio {
            println!("ratio            {r:.2} (target ≥ {TARGET_RATIO})");
        }
    } else {
        println!("llama-server     not compared (set LLAMA_SERVER to a llama-server binary)");
    }
    Ok(())
}

/// Times llama-server on the same file: `predicted_per_second`, `prompt_per_second` and the
/// server's peak memory.
fn llama_server_run(
    bin: &std::path::Path,
    model: &std::path::Path,
    n_predict: u32,
    threads: usize,
) -> Result<Value> {
    let t = threads.to_string();
    let server = llama_server::LlamaServer::start(
        bin,
        model,
        &["--threads", &t, "--ctx-size", "4096"],
        Duration::from_secs(120),
    )
    .context("starting llama-server")?;
    let body = |n: u32| {
        json!({
            "prompt": BENCH_PROMPT, "n_predict": n, "temperature": 0, "cache_prompt": false,
            "ignore_eos": true, "seed": 0,
        })
    };
    server.post_json("/completion", &body(2))?;
    let v = server.post_json("/completion", &body(n_predict.max(2)))?;
    let timings = v.get("timings").cloned().unwrap_or(Value::Null);
    Ok(json!({
        "predicted_per_second": timings.get("predicted_per_second"),
        "prompt_per_second": timings.get("prompt_per_second"),
        "peak_rss_bytes": server.peak_rss_bytes(),
    }))
}

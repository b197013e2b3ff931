//! `comqute tick | stats | balance | faucet | transfer`: the chain as a whole, and money.

use anyhow::{Context, Result};
use clap::Args;
use comqute_sdk::wire;
use comqute_sdk::Signer as _;
use serde_json::json;

use super::global::{amount, block_on, identity, Global};
use super::print_json;

/// `comqute tick`.
#[derive(Args)]
pub struct TickArgs {
    /// Print `{"tick", "epoch", "duration", "initialTick"}`.
    #[arg(long)]
    json: bool,
}

/// `comqute stats`.
#[derive(Args)]
pub struct StatsArgs {
    /// Print the node's statistics as JSON.
    #[arg(long)]
    json: bool,
}

/// `comqute balance`.
#[derive(Args)]
pub struct BalanceArgs {
    /// The identity (default: the one of `--key`).
    identity: Option<String>,
    /// Print `{"identity", "balance"}`.
    #[arg(long)]
    json: bool,
}

/// `comqute faucet` (devnet nodes only).
#[derive(Args)]
pub struct FaucetArgs {
    /// Who gets the money.
    identity: String,
    /// How much.
    #[arg(allow_negative_numbers = true)]
    amount: String,
    /// Print `{"identity", "balance"}`.
    #[arg(long)]
    json: bool,
}

/// `comqute transfer`, signed with `--key`.
#[derive(Args)]
pub struct TransferArgs {
    /// The payee.
    identity: String,
    /// How much.
    #[arg(allow_negative_numbers = true)]
    amount: String,
    /// Print `{"txId", "tick", "status", ...}`.
    #[arg(long)]
    json: bool,
    /// Return once the node took the transaction (status `broadcast`), without waiting for
    /// its tick: for a network that serves no receipts, such as Qubic's own RPC.
    #[arg(long)]
    no_wait: bool,
}

/// Prints the last processed tick.
pub fn tick(g: &Global, a: TickArgs) -> Result<()> {
    let client = g.client()?;
    let t = block_on(client.tick_info())??;
    if a.json {
        print_json(&serde_json::to_value(&t)?);
    } else {
        println!(
            "tick {} (epoch {}, {} ms per tick)",
            t.tick, t.epoch, t.duration
        );
    }
    Ok(())
}

/// Prints the network statistics.
pub fn stats(g: &Global, a: StatsArgs) -> Result<()> {
    let client = g.client()?;
    let (st, tick) = block_on(async {
        let st = client.jobs().stats().await?;
        let tick = client.tick().await?;
        Ok::<_, comqute_sdk::SdkError>((st, tick))
    })??;
    if a.json {
        print_json(&serde_json::to_value(wire::NetworkStatsView::new(
            &st, tick.0,
        ))?);
        return Ok(());
    }
    println!("tick {tick}");
    println!(
        "jobs: {} submitted; escrowed now {}, paid {} (and {} in verification fees), refunded {}, slashed {}",
        st.jobs.submitted,
        st.jobs.total_escrowed,
        st.jobs.total_paid,
        st.jobs.total_fees,
        st.jobs.total_refunded,
        st.jobs.total_slashed
    );
    for s in comqute_sdk::contracts::job_registry::JobStatus::ALL {
        let n = st.jobs.count(s);
        if n > 0 {
            println!("  {:<10} {n}", s.name());
        }
    }
    println!(
        "workers: {} registered, {} active, {} online, {} unbonding; staked {}",
        st.workers.registered,
        st.workers.active,
        st.workers.online,
        st.workers.unbonding,
        st.workers.total_staked
    );
    Ok(())
}

/// Prints a balance.
pub fn balance(g: &Global, a: BalanceArgs) -> Result<()> {
    let id = match &a.identity {
        Some(s) => identity(s)?,
        None => g.keypair()?.identity(),
    };
    let client = g.client()?;
    let b = block_on(client.balance(&id))??;
    if a.json {
        print_json(&json!({ "identity": id.to_string(), "balance": b.0.to_string() }));
    } else {
        println!("{b} units");
    }
    Ok(())
}

/// Creates money on a devnet node.
pub fn faucet(g: &Global, a: FaucetArgs) -> Result<()> {
    let id = identity(&a.identity)?;
    let amt = amount(&a.amount)?;
    let client = g.client()?;
    let b = block_on(client.faucet(&id, amt))??;
    if a.json {
        print_json(&json!({ "identity": id.to_string(), "balance": b.0.to_string() }));
    } else {
        println!("{id} now has {b} units");
    }
    Ok(())
}

/// Sends money, waiting for the receipt.
pub fn transfer(g: &Global, a: TransferArgs) -> Result<()> {
    let to = identity(&a.identity)?;
    let amt = amount(&a.amount)?;
    let key = g.signer()?;
    let client = g.client()?;
    if a.no_wait {
        let p = block_on(client.submit(&key, to, amt, 0, Vec::new()))?.context("transfer")?;
        if a.json {
            print_json(&json!({
                "txId": p.tx_id.to_string(),
                "tick": p.tick.0,
                "status": "broadcast",
                "from": key.identity().to_string(),
                "to": to.to_string(),
                "amount": amt.0.to_string(),
            }));
        } else {
            println!(
                "broadcast {amt} units to {to} for tick {} (tx {})",
                p.tick, p.tx_id
            );
        }
        return Ok(());
    }
    let r = block_on(client.transfer(&key, to, amt))?.context("transfer")?;
    if a.json {
        print_json(&json!({
            "txId": r.tx_id.to_string(),
            "tick": r.tick.0,
            "status": "executed",
            "from": key.identity().to_string(),
            "to": to.to_string(),
            "amount": amt.0.to_string(),
        }));
    } else {
        println!(
            "sent {amt} units to {to} in tick {} (tx {})",
            r.tick, r.tx_id
        );
    }
    Ok(())
}

/// `comqute market`.
#[derive(Args)]
pub struct MarketArgs {
    /// Only this model.
    #[arg(long)]
    model: Option<String>,
    /// Print `{"models": [{"name", "id", "workers", "online", "ready", "priceRange",
    /// "tokensPerSRange"}]}`.
    #[arg(long)]
    json: bool,
}

/// Lists the models the market serves, read from the chain's worker registry: workers,
/// online and ready ones, price range and speed.
pub fn market(g: &Global, a: MarketArgs) -> Result<()> {
    let client = g.client()?;
    block_on(async move {
        let w = client.workers();
        let models = match &a.model {
            Some(m) => vec![w.market_for(m.trim()).await?],
            None => w.market().await?,
        };
        if a.json {
            print_json(&json!({ "models": wire::value::to_json(&models)? }));
            return Ok(());
        }
        if models.is_empty() {
            println!("no worker has registered a model on this node yet");
            return Ok(());
        }
        println!(
            "{:<28} {:>7} {:>6} {:>5}  {:<22} tokens/s",
            "model", "workers", "online", "ready", "price per 1k (units)"
        );
        for m in &models {
            let price = m.price_range.map_or("-".to_string(), |(lo, hi)| {
                if lo == hi {
                    lo.to_string()
                } else {
                    format!("{lo}–{hi}")
                }
            });
            let speed = m.tokens_per_s_range.map_or("-".to_string(), |(lo, hi)| {
                if lo == hi {
                    lo.to_string()
                } else {
                    format!("{lo}–{hi}")
                }
            });
            println!(
                "{:<28} {:>7} {:>6} {:>5}  {:<22} {speed}",
                m.name, m.workers, m.online, m.ready, price
            );
        }
        Ok::<_, anyhow::Error>(())
    })?
}

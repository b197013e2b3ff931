//! `comqute pool …` (the compute pools, contract 3) and the price oracle's figures (contract
//! 4): `job estimate`, and `auto` prices for `job submit` and `worker register`.

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand};
use comqute_sdk::contracts::pools::{PayoutScheme, PoolView};
use comqute_sdk::contracts::price_oracle::Estimate;
use comqute_sdk::{Amount, Client};
use serde_json::json;

use super::global::{amount, block_on, Global};
use super::print_json;

/// Pool commands.
#[derive(Subcommand)]
pub enum PoolCommand {
    /// Opens a pool operated by `--key`; prints its id.
    Create(CreateArgs),
    /// Joins a pool with a stake (`--key` must be a registered worker in no pool).
    Join {
        /// The pool's id.
        pool: u64,
        /// The stake locked in the pool (at least its minimum).
        #[arg(long, value_name = "N")]
        stake: String,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Starts leaving `--key`'s pool: paid what it is owed now, the stake after the
    /// unbonding period (`pool withdraw`), slashable until then.
    Leave {
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// After leaving and the unbonding period: the stake and anything owed come back.
    Withdraw {
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Takes what `--key` is owed by its pool.
    Claim {
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Closes an empty pool `--key` operates; the deposit comes back.
    Close {
        /// The pool's id.
        pool: u64,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Lists the pools.
    List {
        /// Print the pools as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Shows a pool with its members, their stakes and what each is owed.
    Show {
        /// The pool's id.
        pool: u64,
        /// Print the pool as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `comqute pool create`.
#[derive(Args)]
pub struct CreateArgs {
    /// The operator's fee in basis points of each member's job payment (at most 2,000).
    #[arg(long, value_name = "BPS")]
    fee_bps: u16,
    /// How members share: `stake` (by stake), or `work:N` (by verified output tokens over
    /// the pool's last N settled jobs).
    #[arg(long, default_value = "stake", value_name = "stake|work:N")]
    scheme: String,
    /// The least stake a member joins with.
    #[arg(long, value_name = "N", default_value = "1000")]
    min_stake: String,
    /// The deposit locked until the pool closes (default: the contract's minimum).
    #[arg(long, value_name = "N")]
    deposit: Option<String>,
    /// Print `{"pool", "txId", …}` as JSON.
    #[arg(long)]
    json: bool,
}

fn scheme(s: &str) -> Result<PayoutScheme> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("stake") {
        return Ok(PayoutScheme::ByStake);
    }
    if let Some(n) = s.strip_prefix("work:") {
        let last_jobs: u32 = n
            .trim()
            .parse()
            .map_err(|_| anyhow!("bad --scheme {s:?}: work:N takes a whole number of jobs"))?;
        return Ok(PayoutScheme::ByWork { last_jobs });
    }
    bail!("bad --scheme {s:?}: expected `stake` or `work:N`")
}

/// The kit's JSON rule (64-bit numbers as strings, as every contract's output).
fn pool_json(v: &PoolView) -> Result<serde_json::Value> {
    Ok(comqute_sdk::qpi::json::to_json(v)?)
}

/// Runs a pool command.
pub fn run(g: &Global, c: PoolCommand) -> Result<()> {
    let client = g.client()?;
    block_on(async move {
        let pools = client.pools();
        match c {
            PoolCommand::Create(a) => {
                let key = g.keypair()?;
                let settings = pools.settings().await?;
                let scheme = scheme(&a.scheme)?;
                let min_stake = amount(&a.min_stake)?;
                let deposit = match &a.deposit {
                    Some(s) => amount(s)?,
                    None => settings.create_deposit,
                };
                let (id, r) = pools
                    .create(&key, a.fee_bps, scheme, min_stake, deposit)
                    .await
                    .context("creating the pool")?;
                if a.json {
                    print_json(&json!({
                        "pool": id.to_string(), "operator": key.identity().to_string(),
                        "feeBps": a.fee_bps, "deposit": deposit, "txId": r.tx_id.to_string(),
                        "tick": r.tick.0,
                    }));
                } else {
                    println!(
                        "pool {id} created by {} (fee {} bps, deposit {deposit})",
                        key.identity(),
                        a.fee_bps
                    );
                }
            }
            PoolCommand::Join { pool, stake, json } => {
                let key = g.keypair()?;
                let stake = amount(&stake)?;
                let r = pools
                    .join(&key, pool, stake)
                    .await
                    .with_context(|| format!("joining pool {pool}"))?;
                done(
                    json,
                    &r,
                    json!({"pool": pool.to_string(), "stake": stake}),
                    || format!("{} joined pool {pool} with {stake}", key.identity()),
                );
            }
            PoolCommand::Leave { json } => {
                let key = g.keypair()?;
                let (at, r) = pools.leave(&key).await.context("leaving the pool")?;
                done(json, &r, json!({"withdrawFrom": at.0}), || {
                    format!("leaving: `comqute pool withdraw` from tick {at}")
                });
            }
            PoolCommand::Withdraw { json } => {
                let key = g.keypair()?;
                let (paid, r) = pools.withdraw(&key).await.context("withdrawing")?;
                done(json, &r, json!({"paid": paid}), || {
                    format!("withdrew {paid}")
                });
            }
            PoolCommand::Claim { json } => {
                let key = g.keypair()?;
                let (paid, r) = pools.claim(&key).await.context("claiming")?;
                done(json, &r, json!({"paid": paid}), || {
                    format!("claimed {paid}")
                });
            }
            PoolCommand::Close { pool, json } => {
                let key = g.keypair()?;
                let (back, r) = pools
                    .close(&key, pool)
                    .await
                    .with_context(|| format!("closing pool {pool}"))?;
                done(
                    json,
                    &r,
                    json!({"pool": pool.to_string(), "returned": back}),
                    || format!("pool {pool} closed; {back} returned"),
                );
            }
            PoolCommand::List { json } => {
                let all = pools.all().await?;
                if json {
                    print_json(&json!({ "pools": comqute_sdk::qpi::json::to_json(&all)? }));
                } else if all.is_empty() {
                    println!("no pools yet (`comqute pool create --fee-bps N`)");
                } else {
                    for p in &all {
                        println!(
                            "pool {:>4}  {:<9} members {:<4} stake {:<10} fee {} bps  operator {}{}",
                            p.id,
                            format!("{:?}", p.tier),
                            p.members,
                            p.total_stake,
                            p.fee_bps,
                            p.operator,
                            if p.closed { "  (closed)" } else { "" }
                        );
                    }
                }
            }
            PoolCommand::Show { pool, json } => {
                let v = pools
                    .get(pool)
                    .await?
                    .ok_or_else(|| anyhow!("no pool {pool} (`comqute pool list`)"))?;
                let out = pool_json(&v)?;
                if json {
                    print_json(&out);
                } else {
                    println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
                }
            }
        }
        Ok(())
    })?
}

fn done(
    json: bool,
    r: &comqute_sdk::TxReceipt,
    mut v: serde_json::Value,
    text: impl FnOnce() -> String,
) {
    if json {
        v["txId"] = json!(r.tx_id.to_string());
        v["tick"] = json!(r.tick.0);
        print_json(&v);
    } else {
        println!("{}", text());
    }
}

/// `comqute job estimate`.
#[derive(Args)]
pub struct EstimateArgs {
    /// The model, by name.
    #[arg(long)]
    model: String,
    /// The most output tokens the job may produce.
    #[arg(long, value_name = "N")]
    max_tokens: u32,
    /// The prompt's tokens (echoed: the market charges output tokens only).
    #[arg(long, default_value_t = 0, value_name = "N")]
    prompt_tokens: u32,
    /// Print the estimate as JSON.
    #[arg(long)]
    json: bool,
}

/// What a job would cost at the oracle's published prices.
pub async fn estimate(client: &Client, a: EstimateArgs) -> Result<()> {
    let e = client
        .oracle()
        .estimate(a.model.trim(), a.prompt_tokens, a.max_tokens)
        .await
        .context("asking the price oracle")?;
    if a.json {
        let mut v = comqute_sdk::qpi::json::to_json(&e)?;
        if let Some(o) = v.as_object_mut() {
            o.insert("model".into(), json!(a.model.trim()));
        }
        print_json(&v);
        return Ok(());
    }
    match e {
        Estimate::NoData {
            pending_observations,
            ..
        } => println!(
            "no price published for {:?} yet: no job of it has settled{}; the oracle does not guess",
            a.model.trim(),
            if pending_observations > 0 {
                format!(" before this epoch's end ({pending_observations} waiting)")
            } else {
                String::new()
            }
        ),
        Estimate::Priced {
            median_per_1k,
            p25_per_1k,
            p75_per_1k,
            cost_low,
            cost_median,
            cost_high,
            observations,
            epoch,
            ..
        } => {
            println!(
                "{}: {median_per_1k} per 1k output tokens (p25 {p25_per_1k}, p75 {p75_per_1k}; {observations} settled jobs, epoch {epoch})",
                a.model.trim()
            );
            println!(
                "up to {} output tokens: {cost_median} (from {cost_low} to {cost_high}); `job submit --price auto` escrows {cost_high}",
                a.max_tokens
            );
        }
    }
    Ok(())
}

/// Which published figure an `auto` price takes.
#[derive(Clone, Copy, Debug)]
pub enum AutoPrice {
    /// The median (a worker's suggested price).
    Median,
    /// The 75th percentile (a requester's maximum: most workers serve at it; the escrow
    /// not charged is refunded).
    P75,
}

/// The oracle's price per 1k for `model`, or a one-line error saying why there is none.
pub async fn auto_price(
    client: &Client,
    model: &str,
    which: AutoPrice,
    flag: &str,
) -> Result<Amount> {
    let e = client
        .oracle()
        .estimate(model, 0, 1000)
        .await
        .context("asking the price oracle")?;
    match e {
        Estimate::Priced {
            median_per_1k,
            p75_per_1k,
            ..
        } => Ok(match which {
            AutoPrice::Median => median_per_1k,
            AutoPrice::P75 => p75_per_1k,
        }),
        Estimate::NoData { .. } => bail!(
            "{flag} auto: no price published for {model:?} yet (no job of it has settled); give {flag} N"
        ),
    }
}

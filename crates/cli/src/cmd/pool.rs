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

/// `comqute job post-large`.
#[derive(Args)]
pub struct PostLargeArgs {
    /// The model, by name.
    #[arg(long)]
    model: String,
    /// One part's prompt (repeat: each part is served as a normal job by the winner).
    #[arg(long = "prompt", value_name = "TEXT", required = true)]
    prompts: Vec<String>,
    /// The most output tokens paid for, per part.
    #[arg(long, value_name = "N")]
    max_tokens: u32,
    /// The highest price per 1,000 output tokens accepted.
    #[arg(long, value_name = "N")]
    max_price_per_1k: String,
    /// Ticks of the commit phase (sealed bids), then of the reveal phase.
    #[arg(long, default_value_t = 40, value_name = "TICKS")]
    commit_ticks: u32,
    /// Ticks of the reveal phase.
    #[arg(long, default_value_t = 40, value_name = "TICKS")]
    reveal_ticks: u32,
    /// Each part's timeout: ticks to find a worker, and to deliver.
    #[arg(long, default_value_t = 400, value_name = "TICKS")]
    timeout_ticks: u32,
    /// The least tier of a bidding pool (Bronze, Silver, Gold, Platinum, Diamond).
    #[arg(long, value_name = "TIER")]
    min_tier: Option<String>,
    /// Print `{"largeJob", …}` as JSON.
    #[arg(long)]
    json: bool,
}

fn tier(s: &str) -> Result<comqute_sdk::contracts::pools::Tier> {
    use comqute_sdk::contracts::pools::Tier;
    Ok(match s.trim().to_ascii_lowercase().as_str() {
        "bronze" => Tier::Bronze,
        "silver" => Tier::Silver,
        "gold" => Tier::Gold,
        "platinum" => Tier::Platinum,
        "diamond" => Tier::Diamond,
        _ => bail!("bad tier {s:?}: Bronze, Silver, Gold, Platinum or Diamond"),
    })
}

/// Posts a large job; its parts' escrow at the maximum price is locked until the auction
/// ends (the winner's price is charged per part; the rest comes back).
pub async fn post_large(g: &Global, client: &Client, a: PostLargeArgs) -> Result<()> {
    let key = g.keypair()?;
    let req = comqute_sdk::LargeJobRequest {
        model: a.model.trim().to_string(),
        prompts: a.prompts.iter().map(|p| p.clone().into_bytes()).collect(),
        max_output_tokens: a.max_tokens,
        max_price_per_1k: amount(&a.max_price_per_1k)?,
        commit_ticks: a.commit_ticks,
        reveal_ticks: a.reveal_ticks,
        delivery_timeout_ticks: a.timeout_ticks,
        min_tier: a.min_tier.as_deref().map(tier).transpose()?,
        sampling: comqute_sdk::contracts::job_registry::Sampling {
            seed: 0,
            temperature_milli: 0,
        },
    };
    let id = client
        .large_jobs()
        .post(&key, &req)
        .await
        .context("posting the large job")?;
    let view = client.large_jobs().get(id).await?;
    if a.json {
        print_json(&json!({
            "largeJob": id.to_string(),
            "view": comqute_sdk::qpi::json::to_json(&view)?,
        }));
    } else {
        let (c, r) = view.map_or((0, 0), |v| (v.commit_ends.0, v.reveal_ends.0));
        println!(
            "large job {id}: {} parts; bids committed until tick {c}, revealed until {r} (`comqute job bid {id} --price N`)",
            req.prompts.len()
        );
    }
    Ok(())
}

/// `comqute job bid`.
#[derive(Args)]
pub struct BidArgs {
    /// The large job's id.
    id: u64,
    /// The price per 1,000 output tokens bid (sealed until the reveal phase).
    #[arg(long, value_name = "N")]
    price: String,
    /// Bid for this pool (`--key` must be its operator); without it, as a single worker.
    #[arg(long, value_name = "POOL")]
    pool: Option<u64>,
    /// The bond posted with the commitment (the market's `jobs.large.bidBond`).
    #[arg(long, value_name = "N")]
    bond: Option<String>,
    /// Print the outcome as JSON.
    #[arg(long)]
    json: bool,
}

/// Commits a sealed bid, waits for the reveal phase and reveals it: a bid that is not
/// revealed in time loses its bond, so this command stays until it is.
pub async fn bid(g: &Global, client: &Client, a: BidArgs) -> Result<()> {
    let key = g.keypair()?;
    let large = client.large_jobs();
    let view = large
        .get(a.id)
        .await?
        .ok_or_else(|| anyhow!("no large job {} (`comqute job large ID`)", a.id))?;
    let price = amount(&a.price)?;
    let bond = match &a.bond {
        Some(b) => amount(b)?,
        None => {
            comqute_sdk::contracts::MarketConfig::default()
                .jobs
                .large
                .bid_bond
        }
    };
    let seed = comqute_sdk::new_seed()?;
    let salt = comqute_sdk::Hash32::of(seed.as_str().as_bytes());
    let committed = large
        .commit_bid(&key, a.id, a.pool, price, &salt, bond)
        .await
        .context("committing the bid")?;
    eprintln!(
        "bid committed in tick {} (bond {bond}); revealing after tick {}",
        committed.tick, view.commit_ends
    );
    loop {
        let now = client.tick().await?;
        if now.0 > view.commit_ends.0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let revealed = large
        .reveal_bid(&key, a.id, price, salt)
        .await
        .context("revealing the bid (its bond burns if it is not revealed in time)")?;
    if a.json {
        print_json(&json!({
            "largeJob": a.id.to_string(), "price": price, "pool": a.pool.map(|p| p.to_string()),
            "committed": committed.tick.0, "revealed": revealed.tick.0,
            "revealEnds": view.reveal_ends.0,
        }));
    } else {
        println!(
            "bid {price} per 1k revealed in tick {}; the auction closes after tick {} (`comqute job large {}`)",
            revealed.tick, view.reveal_ends, a.id
        );
    }
    Ok(())
}

/// `comqute job large ID`: a large job's auction and parts.
pub async fn show_large(client: &Client, id: u64, json_out: bool) -> Result<()> {
    let v = client
        .large_jobs()
        .get(id)
        .await?
        .ok_or_else(|| anyhow!("no large job {id}"))?;
    let out = comqute_sdk::qpi::json::to_json(&v)?;
    if json_out {
        print_json(&out);
    } else {
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    }
    Ok(())
}

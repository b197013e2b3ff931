//! Typed clients of the compute pools (contract 3) and the price oracle (contract 4).

use comqute_market::ids::WorkerId;
use comqute_market::pools::{
    self as pl, CreatePool, MemberView, PayoutScheme, PoolConfig, PoolPage, PoolRef, PoolStats,
    PoolView, PoolsQuery, Tier,
};
use comqute_market::price_oracle::{
    self as po, Estimate, EstimateQuery, ModelPrice, ModelRef, ModelsPage, ModelsQuery,
    OracleConfig,
};
use comqute_qpi::{Amount, Identity, Tick};

use crate::client::{Client, TxReceipt};
use crate::error::SdkError;
use comqute_ledger::Keypair;

/// The compute pools: create, join, leave, claim, and the pools' views.
#[derive(Clone, Debug)]
pub struct PoolClient {
    client: Client,
}

impl PoolClient {
    pub(crate) fn new(client: Client) -> Self {
        PoolClient { client }
    }

    /// Procedure 1: opens a pool with `deposit` locked until it closes; returns its id and
    /// the receipt.
    pub async fn create(
        &self,
        key: &Keypair,
        fee_bps: u16,
        scheme: PayoutScheme,
        min_member_stake: Amount,
        deposit: Amount,
    ) -> Result<(u64, TxReceipt), SdkError> {
        let input = CreatePool {
            fee_bps,
            scheme,
            min_member_stake,
        };
        let r = self
            .client
            .call_proc(key, pl::CREATE, &input, deposit)
            .await?;
        let id: u64 = r.output()?;
        Ok((id, r))
    }

    /// Procedure 2: joins pool `pool` with `stake` (a registered worker in no pool).
    pub async fn join(
        &self,
        key: &Keypair,
        pool: u64,
        stake: Amount,
    ) -> Result<TxReceipt, SdkError> {
        self.client
            .call_proc(key, pl::JOIN, &PoolRef { pool }, stake)
            .await
    }

    /// Procedure 3: starts leaving; returns the first tick [`PoolClient::withdraw`] works.
    pub async fn leave(&self, key: &Keypair) -> Result<(Tick, TxReceipt), SdkError> {
        let r = self
            .client
            .call_proc(key, pl::LEAVE, &(), Amount::ZERO)
            .await?;
        let t: Tick = r.output()?;
        Ok((t, r))
    }

    /// Procedure 4: after the unbonding period, the stake and anything owed come back.
    pub async fn withdraw(&self, key: &Keypair) -> Result<(Amount, TxReceipt), SdkError> {
        let r = self
            .client
            .call_proc(key, pl::WITHDRAW, &(), Amount::ZERO)
            .await?;
        let a: Amount = r.output()?;
        Ok((a, r))
    }

    /// Procedure 5: a member takes what it is owed.
    pub async fn claim(&self, key: &Keypair) -> Result<(Amount, TxReceipt), SdkError> {
        let r = self
            .client
            .call_proc(key, pl::CLAIM, &(), Amount::ZERO)
            .await?;
        let a: Amount = r.output()?;
        Ok((a, r))
    }

    /// Procedure 6: the operator closes an empty pool; the deposit comes back.
    pub async fn close(&self, key: &Keypair, pool: u64) -> Result<(Amount, TxReceipt), SdkError> {
        let r = self
            .client
            .call_proc(key, pl::CLOSE, &PoolRef { pool }, Amount::ZERO)
            .await?;
        let a: Amount = r.output()?;
        Ok((a, r))
    }

    /// Procedure 7: takes the pool's due throughput readings now; returns its tier.
    pub async fn refresh(&self, key: &Keypair, pool: u64) -> Result<Tier, SdkError> {
        let r = self
            .client
            .call_proc(key, pl::REFRESH, &PoolRef { pool }, Amount::ZERO)
            .await?;
        r.output()
    }

    /// Function 1: one pool with its members (`None`: no such pool).
    pub async fn get(&self, pool: u64) -> Result<Option<PoolView>, SdkError> {
        self.client.query_fn(pl::GET_POOL, &PoolRef { pool }).await
    }

    /// Function 2: a page of pools after `cursor`.
    pub async fn list(&self, cursor: Option<u64>, limit: u16) -> Result<PoolPage, SdkError> {
        self.client
            .query_fn(pl::POOLS, &PoolsQuery { cursor, limit })
            .await
    }

    /// Every pool, page after page.
    pub async fn all(&self) -> Result<Vec<comqute_market::pools::Pool>, SdkError> {
        let mut out = Vec::new();
        let mut cursor = None;
        loop {
            let page = self.list(cursor, comqute_market::MAX_PAGE).await?;
            out.extend(page.pools);
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => return Ok(out),
            }
        }
    }

    /// Function 3: a worker's pool and what it is owed (`None`: in no pool).
    pub async fn member_of(&self, worker: &Identity) -> Result<Option<MemberView>, SdkError> {
        self.client
            .query_fn(pl::MEMBER_OF, &WorkerId(*worker))
            .await
    }

    /// Function 4: the genesis settings.
    pub async fn settings(&self) -> Result<PoolConfig, SdkError> {
        self.client.query_fn(pl::SETTINGS, &()).await
    }

    /// Function 5: the contract's totals.
    pub async fn stats(&self) -> Result<PoolStats, SdkError> {
        self.client.query_fn(pl::POOL_STATS, &()).await
    }
}

/// The price oracle: what the market charges per model, and estimates.
#[derive(Clone, Debug)]
pub struct OracleClient {
    client: Client,
}

impl OracleClient {
    pub(crate) fn new(client: Client) -> Self {
        OracleClient { client }
    }

    /// Function 1: what a job of `model` with up to `max_output_tokens` would cost at the
    /// published prices ([`Estimate::NoData`] before any has been published).
    pub async fn estimate(
        &self,
        model: &str,
        prompt_tokens: u32,
        max_output_tokens: u32,
    ) -> Result<Estimate, SdkError> {
        self.client
            .query_fn(
                po::ESTIMATE,
                &EstimateQuery {
                    model: ModelRef::Name(model.to_string()),
                    prompt_tokens,
                    max_output_tokens,
                },
            )
            .await
    }

    /// Function 2: a model's published price (`None`: never observed).
    pub async fn price(&self, model: &str) -> Result<Option<ModelPrice>, SdkError> {
        self.client
            .query_fn(po::PRICE, &ModelRef::Name(model.to_string()))
            .await
    }

    /// Function 3: a page of models with observations.
    pub async fn models(
        &self,
        cursor: Option<comqute_qpi::Hash32>,
        limit: u16,
    ) -> Result<ModelsPage, SdkError> {
        self.client
            .query_fn(po::MODELS, &ModelsQuery { cursor, limit })
            .await
    }

    /// Function 4: the genesis settings.
    pub async fn settings(&self) -> Result<OracleConfig, SdkError> {
        self.client.query_fn(po::SETTINGS, &()).await
    }
}

/// Large jobs with sealed bids (the job registry, contract 6): post one, bid for one
/// (commit, then reveal), follow its auction.
#[derive(Clone, Debug)]
pub struct LargeJobClient {
    client: Client,
}

/// What a requester asks for in a large job: the parts' prompts, each served as a normal
/// job by the auction's winner (a pool's members, or one worker).
#[derive(Clone, Debug)]
pub struct LargeJobRequest {
    /// The model, by name.
    pub model: String,
    /// One prompt per part.
    pub prompts: Vec<Vec<u8>>,
    /// The most output tokens paid for, per part.
    pub max_output_tokens: u32,
    /// The highest price per 1,000 output tokens accepted.
    pub max_price_per_1k: Amount,
    /// Ticks of the commit phase, then of the reveal phase.
    pub commit_ticks: u32,
    /// Ticks of the reveal phase.
    pub reveal_ticks: u32,
    /// Each part's timeout (ticks to find a worker, and to deliver).
    pub delivery_timeout_ticks: u32,
    /// The least tier of a bidding pool (`None`: any; a single worker counts as Bronze).
    pub min_tier: Option<Tier>,
    /// Sampling for every part.
    pub sampling: comqute_market::job_registry::Sampling,
}

impl LargeJobClient {
    pub(crate) fn new(client: Client) -> Self {
        LargeJobClient { client }
    }

    /// Uploads every part's prompt (signed), then posts the large job with the escrow its
    /// parts need at the maximum price; returns its id.
    pub async fn post(&self, key: &Keypair, req: &LargeJobRequest) -> Result<u64, SdkError> {
        use comqute_market::job_registry::{self as jr, LargeJobSpec, LargePart};
        let mut parts = Vec::with_capacity(req.prompts.len());
        for p in &req.prompts {
            let prompt_hash = self.client.put_blob_as(key, p).await?;
            parts.push(LargePart {
                prompt_hash,
                prompt_size: u32::try_from(p.len())
                    .map_err(|_| SdkError::Invalid("a prompt over 4 GiB".into()))?,
                max_output_tokens: req.max_output_tokens,
            });
        }
        let escrow = jr::large_job_escrow(&parts, req.max_price_per_1k).ok_or_else(|| {
            SdkError::Invalid(format!(
                "{} parts of {} tokens at {} per 1k cannot be escrowed",
                parts.len(),
                req.max_output_tokens,
                req.max_price_per_1k
            ))
        })?;
        let spec = LargeJobSpec {
            model: comqute_market::model_id(&req.model),
            parts,
            commit_ticks: req.commit_ticks,
            reveal_ticks: req.reveal_ticks,
            delivery_timeout_ticks: req.delivery_timeout_ticks,
            max_price_per_1k: req.max_price_per_1k,
            min_tier: req.min_tier,
            sampling: req.sampling,
        };
        let r = self
            .client
            .call_proc(key, jr::POST_LARGE_JOB, &spec, escrow)
            .await?;
        r.output()
    }

    /// Commits a sealed bid of `price_per_1k` (hidden behind `salt`) with `bond`, for pool
    /// `pool` (its operator bids) or as a single worker.
    pub async fn commit_bid(
        &self,
        key: &Keypair,
        large_job_id: u64,
        pool: Option<u64>,
        price_per_1k: Amount,
        salt: &comqute_qpi::Hash32,
        bond: Amount,
    ) -> Result<TxReceipt, SdkError> {
        use comqute_market::job_registry::{self as jr, CommitBid};
        let commitment = jr::bid_commitment(price_per_1k, salt, &key.identity());
        self.client
            .call_proc(
                key,
                jr::COMMIT_BID,
                &CommitBid {
                    large_job_id,
                    pool,
                    commitment,
                },
                bond,
            )
            .await
    }

    /// Reveals the bid committed to.
    pub async fn reveal_bid(
        &self,
        key: &Keypair,
        large_job_id: u64,
        price_per_1k: Amount,
        salt: comqute_qpi::Hash32,
    ) -> Result<TxReceipt, SdkError> {
        use comqute_market::job_registry::{self as jr, RevealBid};
        self.client
            .call_proc(
                key,
                jr::REVEAL_BID,
                &RevealBid {
                    large_job_id,
                    price_per_1k,
                    salt,
                },
                Amount::ZERO,
            )
            .await
    }

    /// A large job's auction and parts (`None`: no such large job).
    pub async fn get(
        &self,
        large_job_id: u64,
    ) -> Result<Option<comqute_market::job_registry::LargeJobView>, SdkError> {
        use comqute_market::job_registry::{self as jr, LargeJobRef};
        self.client
            .query_fn(jr::GET_LARGE_JOB, &LargeJobRef { large_job_id })
            .await
    }
}

//! Typed clients of the four marketplace contracts: every procedure (signed, submitted,
//! waited for, its output decoded) and every function.
//!
//! Procedures return the [`TxReceipt`] of an executed transaction, or
//! [`SdkError::Rejected`] with the contract's typed error when it refused (nothing changed).
//! Some procedures accept only another contract as caller (the escrow's money movements,
//! the worker registry's job slots); they are here for completeness and tools, and fail with
//! `NotAuthorized` when a person signs them.

use comqute_ledger::Keypair;
use comqute_market::escrow::{
    self, EscrowTotals, JobEscrow, JobEscrowQuery, LockJob, LockStake, RefundJob, ReleaseJob,
    ReturnStake, SlashStake, StakeAccount, StakeQuery,
};
use comqute_market::job_registry::{
    self as jr, EscrowQuote, Job, JobPage, JobRef, JobResult, JobSpec, JobStatus, JobsByRequester,
    JobsByStatus, JobsByWorker, NetworkStats, PostResult, Resolve, Sampling,
};
use comqute_market::verification::{self as vf, Check, CheckRecord, CheckStats, Seat, Vote};
use comqute_market::worker_registry::{
    self as wr, Assign, Capabilities, FindWorker, Heartbeat, ModelPage, ModelsQuery, Release,
    SetAvailable, WorkerInfo, WorkerPage, WorkerQuery, WorkerStats, WorkersByModel,
};
use comqute_market::{model_id, MarketConfig};
use comqute_market::{JobId, WorkerId};
use comqute_qpi::{Amount, Hash32, Identity};

use comqute_wire::{id_page, JobIndex};

use crate::client::{Client, TxReceipt};
use crate::job::JobHandle;
use crate::SdkError;

/// The escrow vault (contract 1).
#[derive(Clone, Debug)]
pub struct EscrowClient {
    client: Client,
}

impl EscrowClient {
    pub(crate) fn new(client: Client) -> Self {
        EscrowClient { client }
    }

    /// Function 1: a job's account.
    pub async fn job(&self, job_id: impl Into<JobId>) -> Result<Option<JobEscrow>, SdkError> {
        let job_id: JobId = job_id.into();
        self.client
            .query_fn(escrow::GET_JOB_ESCROW, &JobEscrowQuery { job_id })
            .await
    }

    /// Function 2: a worker's stake account.
    pub async fn stake(&self, worker: &Identity) -> Result<Option<StakeAccount>, SdkError> {
        self.client
            .query_fn(
                escrow::GET_STAKE,
                &StakeQuery {
                    worker: WorkerId(*worker),
                },
            )
            .await
    }

    /// Function 3: the vault's totals.
    pub async fn totals(&self) -> Result<EscrowTotals, SdkError> {
        self.client.query_fn(escrow::TOTALS, &()).await
    }

    /// Procedure 1 (job registry only): lock a job's payment.
    pub async fn lock_job(
        &self,
        key: &Keypair,
        input: &LockJob,
        amount: Amount,
    ) -> Result<TxReceipt, SdkError> {
        self.client
            .call_proc(key, escrow::LOCK_JOB, input, amount)
            .await
    }

    /// Procedure 2 (job registry only): pay a worker, refund the rest.
    pub async fn release_job(
        &self,
        key: &Keypair,
        input: &ReleaseJob,
    ) -> Result<TxReceipt, SdkError> {
        self.client
            .call_proc(key, escrow::RELEASE_JOB, input, Amount::ZERO)
            .await
    }

    /// Procedure 3 (job registry only): refund a job in full.
    pub async fn refund_job(
        &self,
        key: &Keypair,
        input: &RefundJob,
    ) -> Result<TxReceipt, SdkError> {
        self.client
            .call_proc(key, escrow::REFUND_JOB, input, Amount::ZERO)
            .await
    }

    /// Procedure 4 (worker registry only): add to a stake.
    pub async fn lock_stake(
        &self,
        key: &Keypair,
        input: &LockStake,
        amount: Amount,
    ) -> Result<TxReceipt, SdkError> {
        self.client
            .call_proc(key, escrow::LOCK_STAKE, input, amount)
            .await
    }

    /// Procedure 5 (worker registry only): slash a stake.
    pub async fn slash_stake(
        &self,
        key: &Keypair,
        input: &SlashStake,
    ) -> Result<TxReceipt, SdkError> {
        self.client
            .call_proc(key, escrow::SLASH_STAKE, input, Amount::ZERO)
            .await
    }

    /// Procedure 6 (worker registry only): return a stake.
    pub async fn return_stake(
        &self,
        key: &Keypair,
        input: &ReturnStake,
    ) -> Result<TxReceipt, SdkError> {
        self.client
            .call_proc(key, escrow::RETURN_STAKE, input, Amount::ZERO)
            .await
    }
}

/// The worker registry (contract 2).
#[derive(Clone, Debug)]
pub struct WorkerClient {
    client: Client,
}

impl WorkerClient {
    pub(crate) fn new(client: Client) -> Self {
        WorkerClient { client }
    }

    /// Procedure 1: register `key` as a worker with `stake` (at least the genesis minimum);
    /// returns its worker number.
    pub async fn register(
        &self,
        key: &Keypair,
        caps: &Capabilities,
        stake: Amount,
    ) -> Result<u64, SdkError> {
        self.client
            .call_proc(key, wr::REGISTER, caps, stake)
            .await?
            .output()
    }

    /// Procedure 2: replace the capabilities.
    pub async fn update(&self, key: &Keypair, caps: &Capabilities) -> Result<TxReceipt, SdkError> {
        self.client
            .call_proc(key, wr::UPDATE, caps, Amount::ZERO)
            .await
    }

    /// Procedure 3: a manual heartbeat (keeps the worker online for matching; session 0,
    /// never refused).
    pub async fn heartbeat(&self, key: &Keypair) -> Result<TxReceipt, SdkError> {
        self.heartbeat_session(key, &Heartbeat::default()).await
    }

    /// Procedure 3 from a daemon session: refused with `SessionInUse` while another session
    /// of the same worker is online, unless `takeover`.
    pub async fn heartbeat_session(
        &self,
        key: &Keypair,
        hb: &Heartbeat,
    ) -> Result<TxReceipt, SdkError> {
        self.client
            .call_proc(key, wr::HEARTBEAT, hb, Amount::ZERO)
            .await
    }

    /// Procedure 4: declare (un)availability for END_TICK matching (a manual call,
    /// session 0).
    pub async fn set_available(
        &self,
        key: &Keypair,
        available: bool,
    ) -> Result<TxReceipt, SdkError> {
        self.set_available_session(key, available, 0).await
    }

    /// Procedure 4 from a daemon session; `false` from the recorded session signs the
    /// worker off (offline at once).
    pub async fn set_available_session(
        &self,
        key: &Keypair,
        available: bool,
        session: u64,
    ) -> Result<TxReceipt, SdkError> {
        self.client
            .call_proc(
                key,
                wr::SET_AVAILABLE,
                &SetAvailable { available, session },
                Amount::ZERO,
            )
            .await
    }

    /// Procedure 5: add `amount` to the stake.
    pub async fn top_up(&self, key: &Keypair, amount: Amount) -> Result<TxReceipt, SdkError> {
        self.client.call_proc(key, wr::TOP_UP, &(), amount).await
    }

    /// Procedure 6: start unbonding (refused while the worker holds jobs).
    pub async fn unbond(&self, key: &Keypair) -> Result<TxReceipt, SdkError> {
        self.client
            .call_proc(key, wr::UNBOND, &(), Amount::ZERO)
            .await
    }

    /// Procedure 7: take the stake back once unbonded; returns the amount.
    pub async fn withdraw(&self, key: &Keypair) -> Result<Amount, SdkError> {
        self.client
            .call_proc(key, wr::WITHDRAW, &(), Amount::ZERO)
            .await?
            .output()
    }

    /// Procedure 20 (job registry only): take a job slot.
    pub async fn assign(&self, key: &Keypair, input: &Assign) -> Result<TxReceipt, SdkError> {
        self.client
            .call_proc(key, wr::ASSIGN, input, Amount::ZERO)
            .await
    }

    /// Procedure 21 (job registry only): report a job's outcome.
    pub async fn release(&self, key: &Keypair, input: &Release) -> Result<TxReceipt, SdkError> {
        self.client
            .call_proc(key, wr::RELEASE, input, Amount::ZERO)
            .await
    }

    /// Function 1: one worker (`None`: never registered).
    pub async fn get(&self, worker: &Identity) -> Result<Option<WorkerInfo>, SdkError> {
        self.client
            .query_fn(
                wr::GET_WORKER,
                &WorkerQuery {
                    worker: WorkerId(*worker),
                },
            )
            .await
    }

    /// Function 2: a page of the workers serving `model` (a model id).
    pub async fn by_model(
        &self,
        model: Hash32,
        cursor: Option<u64>,
        limit: u16,
    ) -> Result<WorkerPage, SdkError> {
        self.client
            .query_fn(
                wr::WORKERS_BY_MODEL,
                &WorkersByModel {
                    model,
                    cursor,
                    limit,
                },
            )
            .await
    }

    /// Function 3: the best listed worker for these requirements.
    pub async fn find(&self, q: &FindWorker) -> Result<Option<WorkerId>, SdkError> {
        self.client.query_fn(wr::FIND_WORKER, q).await
    }

    /// Function 4: the match version (moves when a listed worker may have become a better
    /// match).
    pub async fn match_version(&self) -> Result<u64, SdkError> {
        self.client.query_fn(wr::MATCH_VERSION, &()).await
    }

    /// Function 5: worker counts and total stake.
    pub async fn stats(&self) -> Result<WorkerStats, SdkError> {
        self.client.query_fn(wr::WORKER_STATS, &()).await
    }

    /// Function 6: a page of the model names workers ever declared, by id.
    pub async fn models(&self, cursor: Option<Hash32>, limit: u16) -> Result<ModelPage, SdkError> {
        self.client
            .query_fn(wr::MODELS, &ModelsQuery { cursor, limit })
            .await
    }

    /// Function 7: a model's name by its id (`None`: no worker ever declared it).
    pub async fn model_name(&self, id: Hash32) -> Result<Option<String>, SdkError> {
        self.client.query_fn(wr::MODEL_NAME, &id).await
    }

    /// What the market offers for one model, read from the chain: every worker that serves
    /// it (all pages), summed up.
    pub async fn market_for(&self, name: &str) -> Result<ModelMarket, SdkError> {
        let id = model_id(name);
        let mut m = ModelMarket {
            name: name.to_string(),
            id,
            ..ModelMarket::default()
        };
        let mut cursor = None;
        loop {
            let page = self.by_model(id, cursor, 100).await?;
            for w in &page.workers {
                m.add(w);
            }
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        Ok(m)
    }

    /// [`Self::market_for`] of every model any worker ever declared, by name.
    pub async fn market(&self) -> Result<Vec<ModelMarket>, SdkError> {
        let mut names = Vec::new();
        let mut cursor = None;
        loop {
            let page = self.models(cursor, 100).await?;
            names.extend(page.models.into_iter().map(|m| m.name));
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        names.sort();
        let mut out = Vec::with_capacity(names.len());
        for n in names {
            out.push(self.market_for(&n).await?);
        }
        Ok(out)
    }
}

/// What the market offers for one model: from [`WorkerClient::market_for`].
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelMarket {
    /// The model's name.
    pub name: String,
    /// Its id.
    pub id: Hash32,
    /// Workers registered for it (active or unbonding).
    pub workers: u32,
    /// Of those, online now.
    pub online: u32,
    /// Of those, online and able to take a job now (available, stake, a free slot).
    pub ready: u32,
    /// Lowest and highest price per 1,000 output tokens among the online workers.
    pub price_range: Option<(Amount, Amount)>,
    /// Slowest and fastest benchmarked tokens per second among the online workers that
    /// declared one.
    pub tokens_per_s_range: Option<(u32, u32)>,
}

impl ModelMarket {
    fn add(&mut self, w: &WorkerInfo) {
        self.workers += 1;
        if !w.online {
            return;
        }
        self.online += 1;
        if w.can_take_jobs && w.worker.available {
            self.ready += 1;
        }
        let p = w.worker.capabilities.price_per_1k;
        self.price_range = Some(match self.price_range {
            None => (p, p),
            Some((lo, hi)) => (lo.min(p), hi.max(p)),
        });
        let t = w.worker.capabilities.tokens_per_s;
        if t > 0 {
            self.tokens_per_s_range = Some(match self.tokens_per_s_range {
                None => (t, t),
                Some((lo, hi)) => (lo.min(t), hi.max(t)),
            });
        }
    }

    /// Online workers that would take a job at `max_price_per_1k` (their price is at or
    /// under it).
    pub fn serves_at(&self, max_price_per_1k: Amount) -> bool {
        self.price_range
            .is_some_and(|(lo, _)| lo <= max_price_per_1k)
    }

    /// A timeout that lets the slowest online worker that declared a speed deliver
    /// `max_output_tokens` with room to spare, on a node whose ticks last `tick_ms`
    /// milliseconds: three times the generation time plus 10 ticks of start-up, at least
    /// 100 ticks. `None` when no speed or tick length is known.
    pub fn suggested_timeout_ticks(&self, max_output_tokens: u32, tick_ms: u32) -> Option<u32> {
        let (slowest, _) = self.tokens_per_s_range?;
        if tick_ms == 0 || slowest == 0 {
            return None;
        }
        // Generation ticks = tokens / (tokens per second × seconds per tick), in integers.
        let per_tick_milli = u64::from(slowest) * u64::from(tick_ms); // tokens per tick × 1000
        let gen_ticks = (u64::from(max_output_tokens) * 1000).div_ceil(per_tick_milli);
        let t = (gen_ticks * 3 + 10).max(100);
        Some(u32::try_from(t).unwrap_or(u32::MAX))
    }
}

/// A job as a requester describes it: the prompt itself (uploaded as a blob) and the
/// model's name; [`JobClient::request`] turns it into a [`JobSpec`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRequest {
    /// The model's name (`"llama3.2:1b"`).
    pub model: String,
    /// The prompt's bytes.
    pub prompt: Vec<u8>,
    /// The most output tokens paid for.
    pub max_output_tokens: u32,
    /// The highest price per 1,000 output tokens accepted.
    pub max_price_per_1k: Amount,
    /// Ticks to wait for a worker, and ticks a worker has to deliver.
    pub timeout_ticks: u32,
    /// The least worker reputation accepted.
    pub min_reputation: u16,
    /// Sampling seed and temperature.
    pub sampling: Sampling,
}

/// Why a [`JobRequest`] cannot be submitted, found before anything is signed. Limits are the
/// marketplace's genesis defaults ([`MarketConfig::default`]); a chain with other limits
/// still checks its own.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The prompt is empty.
    #[error("the prompt is empty")]
    EmptyPrompt,
    /// The prompt is not UTF-8 text.
    #[error("the prompt is not UTF-8 text (invalid byte at offset {0}); models take text")]
    PromptNotText(usize),
    /// The prompt is over the limit.
    #[error("the prompt is {size} bytes; the limit is {limit} bytes")]
    PromptTooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        limit: u32,
    },
    /// The output token maximum is out of range.
    #[error("max output tokens must be between 1 and {limit}, got {got}")]
    MaxTokens {
        /// Asked.
        got: u32,
        /// The limit.
        limit: u32,
    },
    /// The price ceiling is not positive.
    #[error("the price per 1,000 tokens must be positive, got {0}")]
    Price(Amount),
    /// The timeout is out of range.
    #[error("the timeout must be between {min} and {max} ticks, got {got}")]
    Timeout {
        /// Asked.
        got: u32,
        /// Shortest.
        min: u32,
        /// Longest.
        max: u32,
    },
    /// The model name is not one a worker could declare.
    #[error("bad model name {0:?}: 1 to 64 bytes, no spaces")]
    ModelName(String),
    /// The maximum cost is more than any amount.
    #[error("{tokens} tokens at {price} per 1,000 cost more than the largest amount")]
    TooExpensive {
        /// Tokens.
        tokens: u32,
        /// Price.
        price: Amount,
    },
}

impl JobRequest {
    /// Checks the request against the genesis defaults: what the chain would refuse, said
    /// before anything is uploaded or signed.
    pub fn check(&self) -> Result<(), RequestError> {
        let c = MarketConfig::default();
        if !wr::valid_model_name(&self.model) {
            return Err(RequestError::ModelName(self.model.clone()));
        }
        if self.prompt.is_empty() {
            return Err(RequestError::EmptyPrompt);
        }
        if let Err(e) = std::str::from_utf8(&self.prompt) {
            return Err(RequestError::PromptNotText(e.valid_up_to()));
        }
        if self.prompt.len() > c.jobs.max_prompt_bytes as usize {
            return Err(RequestError::PromptTooLarge {
                size: self.prompt.len(),
                limit: c.jobs.max_prompt_bytes,
            });
        }
        if self.max_output_tokens == 0 || self.max_output_tokens > c.jobs.max_output_tokens {
            return Err(RequestError::MaxTokens {
                got: self.max_output_tokens,
                limit: c.jobs.max_output_tokens,
            });
        }
        if self.max_price_per_1k.0 <= 0 {
            return Err(RequestError::Price(self.max_price_per_1k));
        }
        if comqute_market::required_escrow(self.max_output_tokens, self.max_price_per_1k).is_none()
        {
            return Err(RequestError::TooExpensive {
                tokens: self.max_output_tokens,
                price: self.max_price_per_1k,
            });
        }
        if self.timeout_ticks < c.jobs.min_timeout_ticks
            || self.timeout_ticks > c.jobs.max_timeout_ticks
        {
            return Err(RequestError::Timeout {
                got: self.timeout_ticks,
                min: c.jobs.min_timeout_ticks,
                max: c.jobs.max_timeout_ticks,
            });
        }
        Ok(())
    }

    /// A request with defaults: 100 ticks of timeout, no reputation floor, seed 0,
    /// temperature 0.
    pub fn new(
        model: &str,
        prompt: impl Into<Vec<u8>>,
        max_output_tokens: u32,
        max_price_per_1k: Amount,
    ) -> JobRequest {
        JobRequest {
            model: model.to_owned(),
            prompt: prompt.into(),
            max_output_tokens,
            max_price_per_1k,
            timeout_ticks: 100,
            min_reputation: 0,
            sampling: Sampling::default(),
        }
    }

    /// The on-chain specification of this request.
    pub fn spec(&self) -> Result<JobSpec, SdkError> {
        Ok(JobSpec {
            model: model_id(&self.model),
            prompt_hash: Hash32::of(&self.prompt),
            prompt_size: u32::try_from(self.prompt.len())
                .map_err(|_| SdkError::Invalid("the prompt is over 4 GiB".into()))?,
            max_output_tokens: self.max_output_tokens,
            max_price_per_1k: self.max_price_per_1k,
            timeout_ticks: self.timeout_ticks,
            min_reputation: self.min_reputation,
            sampling: self.sampling,
        })
    }
}

pub use comqute_wire::JobFilter;

/// The job registry (contract 6).
#[derive(Clone, Debug)]
pub struct JobClient {
    client: Client,
}

impl JobClient {
    pub(crate) fn new(client: Client) -> Self {
        JobClient { client }
    }

    /// A handle on job `job_id` (not checked).
    pub fn handle(&self, job_id: impl Into<JobId>) -> JobHandle {
        let job_id: JobId = job_id.into();
        JobHandle::new(self.client.clone(), job_id.0)
    }

    /// Checks the request ([`JobRequest::check`]), uploads the prompt, then submits the job
    /// with the escrow the contract requires.
    pub async fn request(&self, key: &Keypair, req: &JobRequest) -> Result<JobHandle, SdkError> {
        req.check().map_err(|e| SdkError::Invalid(e.to_string()))?;
        let spec = req.spec()?;
        self.client.put_blob_as(key, &req.prompt).await?;
        self.submit(key, &spec).await
    }

    /// Procedure 1: submits `spec`, locking the escrow the contract requires ([`Self::quote`]).
    pub async fn submit(&self, key: &Keypair, spec: &JobSpec) -> Result<JobHandle, SdkError> {
        let escrow = self
            .quote(spec.max_output_tokens, spec.max_price_per_1k)
            .await?;
        self.submit_with_escrow(key, spec, escrow).await
    }

    /// Procedure 1 with an explicit escrow (at least the quote).
    pub async fn submit_with_escrow(
        &self,
        key: &Keypair,
        spec: &JobSpec,
        escrow: Amount,
    ) -> Result<JobHandle, SdkError> {
        let r = self.client.call_proc(key, jr::SUBMIT, spec, escrow).await?;
        let id: u64 = r.output()?;
        Ok(self.handle(id))
    }

    /// Procedure 2: a worker claims an open job.
    pub async fn claim(
        &self,
        key: &Keypair,
        job_id: impl Into<JobId>,
    ) -> Result<TxReceipt, SdkError> {
        let job_id: JobId = job_id.into();
        self.job_ref(key, jr::CLAIM, job_id).await
    }

    /// Procedure 3: the assigned worker starts (Assigned → Running).
    pub async fn start(
        &self,
        key: &Keypair,
        job_id: impl Into<JobId>,
    ) -> Result<TxReceipt, SdkError> {
        let job_id: JobId = job_id.into();
        self.job_ref(key, jr::START, job_id).await
    }

    /// Procedure 4: the assigned worker posts the result (Running → Completed).
    pub async fn post_result(
        &self,
        key: &Keypair,
        job_id: impl Into<JobId>,
        result: JobResult,
    ) -> Result<TxReceipt, SdkError> {
        let job_id: JobId = job_id.into();
        self.client
            .call_proc(
                key,
                jr::POST_RESULT,
                &PostResult { job_id, result },
                Amount::ZERO,
            )
            .await
    }

    /// Uploads the output as a blob, then posts its hash with the token count and runtime
    /// fingerprint.
    pub async fn deliver(
        &self,
        key: &Keypair,
        job_id: impl Into<JobId>,
        output: &[u8],
        output_tokens: u32,
        runtime: Hash32,
    ) -> Result<TxReceipt, SdkError> {
        let job_id: JobId = job_id.into();
        let result_hash = self.client.put_blob_as(key, output).await?;
        self.post_result(
            key,
            job_id,
            JobResult {
                result_hash,
                output_tokens,
                runtime,
            },
        )
        .await
    }

    /// Procedure 5: the requester cancels an open job (full refund).
    pub async fn cancel(
        &self,
        key: &Keypair,
        job_id: impl Into<JobId>,
    ) -> Result<TxReceipt, SdkError> {
        let job_id: JobId = job_id.into();
        self.job_ref(key, jr::CANCEL, job_id).await
    }

    /// Procedure 6: the assigned worker gives a started job up, saying why (on a job not
    /// started yet this declines it, free of charge).
    pub async fn fail(
        &self,
        key: &Keypair,
        job_id: impl Into<JobId>,
        reason: &str,
    ) -> Result<TxReceipt, SdkError> {
        let job_id: JobId = job_id.into();
        self.give_up(key, jr::FAIL, job_id, reason).await
    }

    /// Procedure 10: the assigned worker turns down a job it has not started, free of
    /// charge, saying why.
    pub async fn decline(
        &self,
        key: &Keypair,
        job_id: impl Into<JobId>,
        reason: &str,
    ) -> Result<TxReceipt, SdkError> {
        let job_id: JobId = job_id.into();
        self.give_up(key, jr::DECLINE, job_id, reason).await
    }

    async fn give_up(
        &self,
        key: &Keypair,
        procedure: comqute_qpi::kit::Proc<jr::GiveUp, ()>,
        job_id: JobId,
        reason: &str,
    ) -> Result<TxReceipt, SdkError> {
        // Cut on a character boundary to the contract's limit.
        let mut end = reason.len().min(jr::MAX_REASON);
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        let input = jr::GiveUp {
            job_id,
            reason: reason[..end].to_string(),
        };
        self.client
            .call_proc(key, procedure, &input, Amount::ZERO)
            .await
    }

    /// Procedure 7: anyone but its worker challenges a completed result within the challenge
    /// window, posting the bond the verification contract asks for a job of this payment
    /// (its `challenge_bond`). The result is then checked by replicas: a failed check refunds
    /// the requester, slashes the worker and pays the challenger a share; a passed one costs
    /// the bond.
    pub async fn challenge(
        &self,
        key: &Keypair,
        job_id: impl Into<JobId>,
    ) -> Result<TxReceipt, SdkError> {
        let job_id: JobId = job_id.into();
        let bond = self.challenge_bond(job_id).await?;
        self.client
            .call_proc(key, jr::CHALLENGE, &JobRef { job_id }, bond)
            .await
    }

    /// The bond a challenge of this job needs now (from its posted result's payment).
    pub async fn challenge_bond(&self, job_id: impl Into<JobId>) -> Result<Amount, SdkError> {
        let job_id: JobId = job_id.into();
        let job = self
            .get(job_id)
            .await?
            .ok_or_else(|| SdkError::NotFound(format!("job {job_id}")))?;
        let pay = job.result.map_or(Amount::ZERO, |r| {
            comqute_market::payment(r.output_tokens, job.price_per_1k, job.escrow)
        });
        self.client
            .query_fn(comqute_market::verification::CHALLENGE_BOND, &pay)
            .await
    }

    /// Procedure 8: a devnet's resolver forces the verdict of a running check (refused on a
    /// normal node, where only replicas decide).
    pub async fn force_verdict(
        &self,
        key: &Keypair,
        job_id: impl Into<JobId>,
        worker_wins: bool,
    ) -> Result<TxReceipt, SdkError> {
        let job_id: JobId = job_id.into();
        self.client
            .call_proc(
                key,
                jr::FORCE_VERDICT,
                &Resolve {
                    job_id,
                    worker_wins,
                },
                Amount::ZERO,
            )
            .await
    }

    /// Procedure 9: anyone expires a job whose deadline passed.
    pub async fn expire(
        &self,
        key: &Keypair,
        job_id: impl Into<JobId>,
    ) -> Result<TxReceipt, SdkError> {
        let job_id: JobId = job_id.into();
        self.job_ref(key, jr::EXPIRE, job_id).await
    }

    async fn job_ref(
        &self,
        key: &Keypair,
        proc: comqute_qpi::kit::Proc<JobRef, ()>,
        job_id: JobId,
    ) -> Result<TxReceipt, SdkError> {
        self.client
            .call_proc(key, proc, &JobRef { job_id }, Amount::ZERO)
            .await
    }

    /// Function 1: one job (`None`: no such job).
    pub async fn get(&self, job_id: impl Into<JobId>) -> Result<Option<Job>, SdkError> {
        let job_id: JobId = job_id.into();
        self.client.query_fn(jr::GET_JOB, &JobRef { job_id }).await
    }

    /// Function 1, or [`SdkError::NotFound`].
    pub async fn job(&self, job_id: impl Into<JobId>) -> Result<Job, SdkError> {
        let job_id: JobId = job_id.into();
        self.get(job_id)
            .await?
            .ok_or_else(|| SdkError::NotFound(format!("no job {job_id}")))
    }

    /// Function 2: jobs in a status, ascending by id.
    pub async fn by_status(
        &self,
        status: JobStatus,
        cursor: Option<u64>,
        limit: u16,
    ) -> Result<JobPage, SdkError> {
        self.client
            .query_fn(
                jr::JOBS_BY_STATUS,
                &JobsByStatus {
                    status,
                    cursor: cursor.map(JobId),
                    limit,
                },
            )
            .await
    }

    /// Function 3: a requester's jobs.
    pub async fn by_requester(
        &self,
        requester: &Identity,
        cursor: Option<u64>,
        limit: u16,
    ) -> Result<JobPage, SdkError> {
        self.client
            .query_fn(
                jr::JOBS_BY_REQUESTER,
                &JobsByRequester {
                    requester: *requester,
                    cursor: cursor.map(JobId),
                    limit,
                },
            )
            .await
    }

    /// Function 4: jobs a worker holds or held.
    pub async fn by_worker(
        &self,
        worker: &Identity,
        cursor: Option<u64>,
        limit: u16,
    ) -> Result<JobPage, SdkError> {
        self.client
            .query_fn(
                jr::JOBS_BY_WORKER,
                &JobsByWorker {
                    worker: WorkerId(*worker),
                    cursor: cursor.map(JobId),
                    limit,
                },
            )
            .await
    }

    /// Jobs matching every part of `filter`, ascending by id. The most selective index is
    /// walked (requester, then worker, then status; every id without a filter) and the other
    /// parts applied to its page, so a page may hold fewer than `limit` jobs when filters
    /// combine: follow `next_cursor` until it is `None`. (The node's `GET /v1/jobs` pages
    /// the same way.)
    pub async fn list(
        &self,
        filter: &JobFilter,
        cursor: Option<u64>,
        limit: u16,
    ) -> Result<JobPage, SdkError> {
        // The same walk as the node's `GET /v1/jobs` (comqute_wire::JobIndex).
        let page = match filter.index() {
            JobIndex::Requester(r) => self.by_requester(&r, cursor, limit).await?,
            JobIndex::Worker(w) => self.by_worker(&w, cursor, limit).await?,
            JobIndex::Status(st) => self.by_status(st, cursor, limit).await?,
            JobIndex::Ids => {
                let submitted = self.stats().await?.jobs.submitted;
                let (ids, next_cursor) = id_page(cursor, limit, submitted);
                let mut jobs = Vec::new();
                for id in ids {
                    if let Some(j) = self.get(id).await? {
                        jobs.push(j);
                    }
                }
                JobPage {
                    jobs,
                    next_cursor: next_cursor.map(JobId),
                }
            }
        };
        Ok(JobPage {
            jobs: page
                .jobs
                .into_iter()
                .filter(|j| filter.matches(j))
                .collect(),
            next_cursor: page.next_cursor,
        })
    }

    /// Function 5: a job's escrow account.
    pub async fn escrow(&self, job_id: impl Into<JobId>) -> Result<Option<JobEscrow>, SdkError> {
        let job_id: JobId = job_id.into();
        self.client
            .query_fn(jr::JOB_ESCROW, &JobRef { job_id })
            .await
    }

    /// Function 6: jobs per status, money totals, workers.
    pub async fn stats(&self) -> Result<NetworkStats, SdkError> {
        self.client.query_fn(jr::NETWORK_STATS, &()).await
    }

    /// Function 7: the least escrow for a job with these bounds.
    pub async fn quote(
        &self,
        max_output_tokens: u32,
        max_price_per_1k: Amount,
    ) -> Result<Amount, SdkError> {
        let q: Option<Amount> = self
            .client
            .query_fn(
                jr::QUOTE,
                &EscrowQuote {
                    max_output_tokens,
                    max_price_per_1k,
                },
            )
            .await?;
        q.ok_or_else(|| {
            SdkError::Invalid(format!(
                "{max_output_tokens} tokens at {max_price_per_1k} per 1k cannot be escrowed"
            ))
        })
    }

    /// A writer of job `job_id`'s token stream, signing with `key` (its assigned worker).
    pub fn token_writer(&self, key: &Keypair, job_id: impl Into<JobId>) -> TokenWriter {
        let job_id: JobId = job_id.into();
        TokenWriter {
            client: self.client.clone(),
            key: key.clone(),
            job_id: job_id.0,
            seq: 0,
            done: false,
        }
    }
}

/// Pushes a job's output chunk by chunk, numbering them; [`TokenWriter::finish`] closes the
/// stream.
#[derive(Debug)]
pub struct TokenWriter {
    client: Client,
    key: Keypair,
    job_id: u64,
    seq: u32,
    done: bool,
}

impl TokenWriter {
    /// Pushes one chunk.
    pub async fn write(&mut self, text: &str) -> Result<(), SdkError> {
        self.push(text, false).await
    }

    /// Pushes a last chunk (may be empty) and closes the stream.
    pub async fn finish(&mut self, text: &str) -> Result<(), SdkError> {
        self.push(text, true).await
    }

    /// Chunks pushed so far.
    pub fn chunks(&self) -> u32 {
        self.seq
    }

    async fn push(&mut self, text: &str, done: bool) -> Result<(), SdkError> {
        if self.done {
            return Err(SdkError::Invalid("the token stream is closed".into()));
        }
        let r = self
            .client
            .push_tokens(&self.key, self.job_id, self.seq, text, done)
            .await?;
        self.seq = r.next;
        self.done = r.done;
        Ok(())
    }
}

/// The verification contract (contract 5): checks, replicas' seats and records.
#[derive(Clone, Debug)]
pub struct VerificationClient {
    client: Client,
}

impl VerificationClient {
    pub(crate) fn new(client: Client) -> Self {
        VerificationClient { client }
    }

    /// Function 1: a job's check (`None`: its result was never checked).
    pub async fn check(&self, job_id: impl Into<JobId>) -> Result<Option<Check>, SdkError> {
        let job_id: JobId = job_id.into();
        self.client
            .query_fn(vf::GET_CHECK, &vf::JobRef { job_id })
            .await
    }

    /// Function 2: a worker's record, as checked worker and as replica.
    pub async fn record(&self, worker: &Identity) -> Result<CheckRecord, SdkError> {
        self.client
            .query_fn(vf::WORKER_CHECKS, &WorkerId(*worker))
            .await
    }

    /// Function 3: the seats `worker` holds and has still to commit or reveal.
    pub async fn assignments(&self, worker: &Identity) -> Result<Vec<Seat>, SdkError> {
        self.client
            .query_fn(vf::ASSIGNMENTS, &WorkerId(*worker))
            .await
    }

    /// Function 4: the spot-check rate (ppm) for a job of this payment and stake at risk
    /// done by `worker`.
    pub async fn rate(
        &self,
        worker: &Identity,
        payment: Amount,
        stake_at_risk: Amount,
    ) -> Result<u32, SdkError> {
        self.client
            .query_fn(
                vf::RATE,
                &vf::RateQuery {
                    worker: WorkerId(*worker),
                    payment,
                    stake_at_risk,
                },
            )
            .await
    }

    /// Function 5: counts and money totals.
    pub async fn stats(&self) -> Result<CheckStats, SdkError> {
        self.client.query_fn(vf::STATS, &()).await
    }

    /// Function 8: the genesis settings (the replica bond, the windows, the thresholds).
    pub async fn settings(&self) -> Result<comqute_market::verification::VerifyConfig, SdkError> {
        self.client.query_fn(vf::SETTINGS, &()).await
    }

    /// Function 6: the bond a challenge of a job paying `payment` needs.
    pub async fn challenge_bond(&self, payment: Amount) -> Result<Amount, SdkError> {
        self.client.query_fn(vf::CHALLENGE_BOND, &payment).await
    }

    /// Procedure 2: a replica commits to `vote` (hashed with `salt`, its identity and the
    /// job: [`vf::commitment`]), posting `bond`.
    pub async fn commit(
        &self,
        key: &Keypair,
        job_id: impl Into<JobId>,
        vote: &Vote,
        salt: &Hash32,
        bond: Amount,
    ) -> Result<TxReceipt, SdkError> {
        let job_id: JobId = job_id.into();
        let commitment = vf::commitment(vote, salt, &key.identity(), job_id);
        self.client
            .call_proc(key, vf::COMMIT, &vf::Commit { job_id, commitment }, bond)
            .await
    }

    /// Procedure 3: a replica reveals the vote it committed to.
    pub async fn reveal(
        &self,
        key: &Keypair,
        job_id: impl Into<JobId>,
        vote: Vote,
        salt: Hash32,
    ) -> Result<TxReceipt, SdkError> {
        let job_id: JobId = job_id.into();
        self.client
            .call_proc(
                key,
                vf::REVEAL,
                &vf::Reveal { job_id, vote, salt },
                Amount::ZERO,
            )
            .await
    }
}

//! What the explorer shows beyond the contracts' own views ([`crate::wire::explorer`]): a
//! search over every kind of id, a processed tick, a transaction with its decoded input, any
//! identity, a worker's earnings, per-model market figures, the network graph, a CSV export,
//! and the history of the stat cards.
//!
//! Two kinds of figures live here, and the pages say which is which:
//! - **the chain's**, read from the ledger under its lock (search, ticks, transactions,
//!   identities, earnings, jobs per epoch, the graph), the same on every node;
//! - **this node's observations** ([`Observer`]), off-chain and in memory: when each tick was
//!   processed, when each token chunk arrived (time to first token and tokens per second),
//!   the stat-card samples, and the bytes of the transactions it received (to decode their
//!   input). They are never read by the ledger, never hashed, and start empty at each start.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use comqute_ledger::{Ledger, Transaction, TxId};
use comqute_market::job_registry::{Job, JobEvent, JobStatus, NetworkStats, NETWORK_STATS};
use comqute_market::worker_registry::{ModelPage, ModelsQuery, MODELS, MODEL_NAME};
use comqute_market::{model_id, JOB_REGISTRY};
use comqute_qpi::{Amount, Hash32, Identity, Tick};

use crate::chain::{job_view, last_processed, list_jobs, ChainService};
use crate::error::ServiceError;
use crate::wire::explorer::{
    EarningsPoint, EarningsSeries, EpochCount, GraphEdge, GraphNode, IdentityPool, IdentityView,
    ModelStatsView, ModelsStats, NetworkGraph, NodeKind, Percentiles, SearchHit, SearchKind,
    SearchResponse, StatsHistory, StatsSample, TickView, TransactionView,
};
use crate::wire::{routes, JobFilter, JobView, NetworkStatsView};

/// Stat-card samples kept (12 minutes at one a second).
pub const MAX_SAMPLES: usize = 720;
/// Transactions whose bytes are kept for their decoded input.
pub const KEPT_TXS: usize = 20_000;
/// Jobs whose stream timings are kept until their result is posted.
const KEPT_STREAMS: usize = 10_000;
/// Tick times kept (to measure time to first token from a job's start tick).
const KEPT_TICK_TIMES: usize = 100_000;
/// Latency samples kept per model.
const KEPT_LATENCIES: usize = 1_000;
/// Events read per tick while catching up with the history at start-up.
const EVENTS_PER_TICK: usize = 20_000;
/// The most rows of one CSV export.
pub const MAX_EXPORT_ROWS: usize = 10_000;
/// The most jobs (edges) of the network graph.
pub const MAX_GRAPH_JOBS: usize = 500;

/// Milliseconds since the Unix epoch, by this machine's clock (observations only).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The newest transactions this node received, by id, so a page can decode their input (the
/// ledger keeps receipts, not inputs). Bounded; the oldest go first.
#[derive(Default)]
pub struct TxKeep {
    inner: Mutex<(BTreeMap<TxId, Transaction>, VecDeque<TxId>)>,
}

impl TxKeep {
    /// Keeps `tx` under `id`.
    pub fn keep(&self, id: TxId, tx: Transaction) {
        let Ok(mut g) = self.inner.lock() else {
            return;
        };
        let (map, order) = &mut *g;
        if map.insert(id, tx).is_none() {
            order.push_back(id);
        }
        while order.len() > KEPT_TXS {
            if let Some(old) = order.pop_front() {
                map.remove(&old);
            }
        }
    }

    /// The transaction with this id, when kept.
    pub fn get(&self, id: &TxId) -> Option<Transaction> {
        self.inner.lock().ok()?.0.get(id).cloned()
    }
}

#[derive(Default)]
struct Stream {
    first_ms: Option<u64>,
    last_ms: Option<u64>,
}

#[derive(Default)]
struct ModelSeen {
    ttft_ms: VecDeque<u32>,
    tokens_per_s: VecDeque<u32>,
    served: u64,
    per_epoch: BTreeMap<u16, u64>,
}

#[derive(Default)]
struct Seen {
    samples: VecDeque<StatsSample>,
    tick_ms: BTreeMap<u32, u64>,
    streams: BTreeMap<u64, Stream>,
    models: BTreeMap<Hash32, ModelSeen>,
    events_read: u64,
    tokens_served: u64,
    last_sample_ms: u64,
}

/// This node's off-chain observations (see the module's docs).
pub struct Observer {
    started_ms: u64,
    seen: Mutex<Seen>,
}

impl Default for Observer {
    fn default() -> Self {
        Observer::new()
    }
}

fn push_bounded<T>(q: &mut VecDeque<T>, v: T, cap: usize) {
    q.push_back(v);
    while q.len() > cap {
        q.pop_front();
    }
}

/// The `p`th percentile (0..=100) of `values`, nearest rank.
pub fn percentiles(values: &VecDeque<u32>) -> Percentiles {
    let mut v: Vec<u32> = values.iter().copied().collect();
    v.sort_unstable();
    let at = |p: usize| -> Option<u32> {
        if v.is_empty() {
            return None;
        }
        // Nearest rank: ceil(p/100 × n), from 1.
        let rank = (p * v.len()).div_ceil(100).max(1);
        v.get(rank - 1).copied()
    };
    Percentiles {
        samples: u32::try_from(v.len()).unwrap_or(u32::MAX),
        p50: at(50),
        p90: at(90),
    }
}

impl Observer {
    /// Nothing observed yet.
    pub fn new() -> Observer {
        Observer {
            started_ms: now_ms(),
            seen: Mutex::default(),
        }
    }

    fn seen(&self) -> Result<std::sync::MutexGuard<'_, Seen>, ServiceError> {
        self.seen
            .lock()
            .map_err(|_| ServiceError::poisoned("observations"))
    }

    /// A token chunk of job `job_id` was accepted (`done`: the stream's last).
    pub fn chunk(&self, job_id: u64, done: bool) {
        let now = now_ms();
        let Ok(mut s) = self.seen() else {
            return;
        };
        let st = s.streams.entry(job_id).or_default();
        st.first_ms.get_or_insert(now);
        if done {
            st.last_ms = Some(now);
        }
        while s.streams.len() > KEPT_STREAMS {
            s.streams.pop_first();
        }
    }

    /// After a processed tick: its time, the events since the last look (results posted,
    /// jobs submitted), and a stat-card sample at most once a second.
    pub fn ticked(&self, chain: &ChainService) {
        let now = now_ms();
        let Ok(head) = chain.events_head() else {
            return;
        };
        let Ok(mut s) = self.seen() else {
            return;
        };
        if let Ok(t) = chain.read(last_processed) {
            s.tick_ms.entry(t.0).or_insert(now);
            while s.tick_ms.len() > KEPT_TICK_TIMES {
                s.tick_ms.pop_first();
            }
        }
        let mut budget = EVENTS_PER_TICK;
        while s.events_read < head && budget > 0 {
            let Ok(batch) = chain.events_since_raw(s.events_read, budget.min(4_096)) else {
                return;
            };
            if batch.is_empty() {
                break;
            }
            budget = budget.saturating_sub(batch.len());
            for e in &batch {
                s.events_read = s.events_read.max(e.seq + 1);
                if e.contract != JOB_REGISTRY {
                    continue;
                }
                let Ok(ev) = borsh::BorshDeserialize::try_from_slice(&e.data) else {
                    continue;
                };
                self.job_event(&mut s, chain, e.tick, ev);
            }
        }
        if now.saturating_sub(s.last_sample_ms) >= 1_000 {
            if let Ok(sample) = sample(chain, now, s.tokens_served) {
                s.last_sample_ms = now;
                push_bounded(&mut s.samples, sample, MAX_SAMPLES);
            }
        }
    }

    fn job_event(&self, s: &mut Seen, chain: &ChainService, tick: Tick, ev: JobEvent) {
        match ev {
            JobEvent::Submitted { job_id, .. } => {
                let Ok(job) = chain.job_record(job_id.0) else {
                    return;
                };
                let epoch = chain.read(|l| l.epoch_of(tick).0).unwrap_or(0);
                *s.models
                    .entry(job.spec.model)
                    .or_default()
                    .per_epoch
                    .entry(epoch)
                    .or_default() += 1;
            }
            JobEvent::ResultPosted { job_id, result, .. } => {
                s.tokens_served += u64::from(result.output_tokens);
                let Ok(job) = chain.job_record(job_id.0) else {
                    return;
                };
                let stream = s.streams.remove(&job_id.0);
                let started = job.started_at.and_then(|t| s.tick_ms.get(&t.0).copied());
                let m = s.models.entry(job.spec.model).or_default();
                m.served += 1;
                let Some(stream) = stream else {
                    return;
                };
                if let (Some(start), Some(first)) = (started, stream.first_ms) {
                    let ttft = u32::try_from(first.saturating_sub(start)).unwrap_or(u32::MAX);
                    push_bounded(&mut m.ttft_ms, ttft, KEPT_LATENCIES);
                }
                if let (Some(first), Some(last)) = (stream.first_ms, stream.last_ms) {
                    // Tokens per second over the stream's span; a span under 1 ms counts
                    // as 1 ms.
                    let span = last.saturating_sub(first).max(1);
                    let tps = u64::from(result.output_tokens) * 1_000 / span;
                    push_bounded(
                        &mut m.tokens_per_s,
                        u32::try_from(tps).unwrap_or(u32::MAX),
                        KEPT_LATENCIES,
                    );
                }
            }
            _ => {}
        }
    }

    /// When this node saw tick `t` processed (milliseconds since the Unix epoch, its own
    /// clock): the first observation at or after `t`, as a warp or a busy moment processes
    /// several ticks between two looks (`None` when `t` is older than what it remembers).
    pub fn tick_time(&self, t: Tick) -> Option<u64> {
        let s = self.seen().ok()?;
        let (&oldest, _) = s.tick_ms.first_key_value()?;
        if t.0 < oldest {
            return None;
        }
        s.tick_ms.range(t.0..).next().map(|(_, &ms)| ms)
    }

    /// The newest `limit` samples, oldest first (the first sample is taken now when there is
    /// none yet).
    pub fn history(
        &self,
        chain: &ChainService,
        limit: usize,
    ) -> Result<StatsHistory, ServiceError> {
        let mut s = self.seen()?;
        if s.samples.is_empty() {
            let now = now_ms();
            let first = sample(chain, now, s.tokens_served)?;
            s.last_sample_ms = now;
            s.samples.push_back(first);
        }
        let skip = s.samples.len().saturating_sub(limit.clamp(1, MAX_SAMPLES));
        Ok(StatsHistory {
            samples: s.samples.iter().skip(skip).cloned().collect(),
        })
    }

    /// Per-model figures: the chain's workers, prices and volume, this node's latencies.
    pub fn models(&self, chain: &ChainService) -> Result<ModelsStats, ServiceError> {
        let names = model_names(chain)?;
        let prices = oracle_medians(chain)?;
        let mut out = Vec::with_capacity(names.len());
        for (id, name) in names {
            let mut workers = 0u32;
            let mut online = 0u32;
            let mut min_price: Option<Amount> = None;
            let mut cursor = None;
            loop {
                let page = chain.workers(id, cursor, comqute_market::MAX_PAGE)?;
                for w in &page.workers {
                    workers += 1;
                    if is_online(w) {
                        online += 1;
                        let p = w.capabilities.price_per_1k;
                        min_price = Some(min_price.map_or(p, |m| m.min(p)));
                    }
                }
                match page.next_cursor {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
            }
            let s = self.seen()?;
            let seen = s.models.get(&id);
            let empty = VecDeque::new();
            out.push(ModelStatsView {
                model: name,
                model_id: id,
                workers,
                workers_online: online,
                min_price_per_1k: min_price,
                median_price_per_1k: prices.get(&id).copied(),
                ttft_ms: percentiles(seen.map_or(&empty, |m| &m.ttft_ms)),
                tokens_per_s: percentiles(seen.map_or(&empty, |m| &m.tokens_per_s)),
                jobs_served: seen.map_or(0, |m| m.served),
                jobs_per_epoch: seen
                    .map(|m| {
                        m.per_epoch
                            .iter()
                            .map(|(&epoch, &jobs)| EpochCount { epoch, jobs })
                            .collect()
                    })
                    .unwrap_or_default(),
            });
        }
        Ok(ModelsStats {
            models: out,
            observed_since_ms: self.started_ms,
        })
    }
}

/// Whether a worker is active with a recent heartbeat (the registry's own reading).
pub fn is_online(w: &crate::wire::WorkerView) -> bool {
    w.online && w.status == crate::wire::WorkerStatusName::Active
}

/// One stat-card sample of the chain now.
fn sample(
    chain: &ChainService,
    at_ms: u64,
    tokens_served: u64,
) -> Result<StatsSample, ServiceError> {
    let st = chain.stats()?;
    let epoch = chain.read(|l| l.epoch_of(Tick(st.tick)).0)?;
    Ok(sample_of(&st, epoch, at_ms, tokens_served))
}

/// The stat cards of a statistics view.
pub fn sample_of(st: &NetworkStatsView, epoch: u16, at_ms: u64, tokens_served: u64) -> StatsSample {
    let n = |s: JobStatus| st.jobs.count(s);
    StatsSample {
        tick: st.tick,
        epoch,
        at_ms,
        open: n(JobStatus::Open),
        running: n(JobStatus::Assigned)
            + n(JobStatus::Running)
            + n(JobStatus::Completed)
            + n(JobStatus::Checking),
        settled: n(JobStatus::Finalized)
            + n(JobStatus::Resolved)
            + n(JobStatus::Cancelled)
            + n(JobStatus::Expired)
            + n(JobStatus::Failed),
        workers_online: st.workers.online,
        tokens_served,
        escrowed: st.jobs.total_escrowed,
        paid: st.jobs.total_paid,
    }
}

/// Every model name the worker registry knows, by id.
pub fn model_names(chain: &ChainService) -> Result<Vec<(Hash32, String)>, ServiceError> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page: ModelPage = chain.read(|l| {
            l.query_fn(
                MODELS,
                &ModelsQuery {
                    cursor,
                    limit: comqute_market::MAX_PAGE,
                },
            )
        })??;
        out.extend(page.models.into_iter().map(|m| (m.id, m.name)));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(out),
        }
    }
}

/// The oracle's published medians, by model id.
fn oracle_medians(chain: &ChainService) -> Result<BTreeMap<Hash32, Amount>, ServiceError> {
    let mut out = BTreeMap::new();
    let mut cursor = None;
    loop {
        let page = chain.prices(cursor, comqute_market::MAX_PAGE)?.0;
        for m in &page.models {
            if let Some(p) = m.median_per_1k {
                out.insert(m.model, p);
            }
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(out),
        }
    }
}

fn hit(kind: SearchKind, id: String, label: String, page: String, api: String) -> SearchHit {
    SearchHit {
        kind,
        id,
        label,
        page,
        api,
    }
}

/// Every page `q` names, the most specific first: a number is a job, a large job, a pool
/// and a tick (those that exist; `tick 5`, `pool 5`, `large 5` or `job 5` ask for one kind); 60 uppercase letters an identity (a worker, a pool operator, any account); 60
/// lowercase letters a transaction, or a job's result or prompt hash; anything else a model
/// name. An empty answer means nothing matched.
pub fn search(chain: &ChainService, q: &str) -> Result<SearchResponse, ServiceError> {
    let q = q.trim();
    let mut hits = Vec::new();
    if q.is_empty() {
        return Ok(SearchResponse {
            query: String::new(),
            hits,
        });
    }
    // "tick 5", "pool 5", "large 5", "job 5": one kind of number only.
    let (only, q) = match q.split_once(char::is_whitespace) {
        Some((k, rest)) => match k.to_ascii_lowercase().as_str() {
            "job" => (Some(SearchKind::Job), rest.trim()),
            "tick" => (Some(SearchKind::Tick), rest.trim()),
            "pool" => (Some(SearchKind::Pool), rest.trim()),
            "large" => (Some(SearchKind::LargeJob), rest.trim()),
            _ => (None, q),
        },
        None => (None, q),
    };
    let wants = |k: SearchKind| only.is_none_or(|o| o == k);
    if let Ok(n) = q.trim_start_matches('#').parse::<u64>() {
        if let (true, Ok(j)) = (wants(SearchKind::Job), chain.job(n)) {
            hits.push(hit(
                SearchKind::Job,
                n.to_string(),
                format!(
                    "Job {n} · {} · {}",
                    j.status.name(),
                    j.model_name
                        .clone()
                        .unwrap_or_else(|| "unknown model".into())
                ),
                format!("/jobs/{n}"),
                routes::v1(routes::JOB, &[&n]),
            ));
        }
        if wants(SearchKind::LargeJob) && chain.large_job(n).is_ok() {
            hits.push(hit(
                SearchKind::LargeJob,
                n.to_string(),
                format!("Large job {n}"),
                format!("/large-jobs/{n}"),
                routes::v1(routes::LARGE_JOB, &[&n]),
            ));
        }
        if wants(SearchKind::Pool) && chain.pool(n).is_ok() {
            hits.push(hit(
                SearchKind::Pool,
                n.to_string(),
                format!("Pool {n}"),
                format!("/pools/{n}"),
                routes::v1(routes::POOL, &[&n]),
            ));
        }
        if let (true, Ok(t)) = (wants(SearchKind::Tick), u32::try_from(n)) {
            let last = chain.read(last_processed)?;
            if Tick(t) <= last {
                hits.push(hit(
                    SearchKind::Tick,
                    t.to_string(),
                    format!("Tick {t}"),
                    format!("/ticks/{t}"),
                    routes::v1(routes::TICK, &[&t]),
                ));
            }
        }
    } else if q.len() == 60 && q.bytes().all(|b| b.is_ascii_uppercase()) {
        if let Ok(id) = q.parse::<Identity>() {
            if let Ok(w) = chain.worker(&id) {
                hits.push(hit(
                    SearchKind::Worker,
                    q.to_string(),
                    format!("Worker #{} · {}", w.number, w.status.name()),
                    format!("/workers/{q}"),
                    routes::v1(routes::WORKER, &[&q]),
                ));
            }
            hits.push(hit(
                SearchKind::Identity,
                q.to_string(),
                "Account".into(),
                format!("/identities/{q}"),
                routes::v1(routes::IDENTITY, &[&q]),
            ));
        }
    } else if q.len() == 60 && q.bytes().all(|b| b.is_ascii_lowercase()) {
        if let Ok(h) = q.parse::<Hash32>() {
            if chain.tx_status(&h)?.is_some() {
                hits.push(hit(
                    SearchKind::Transaction,
                    q.to_string(),
                    "Transaction".into(),
                    format!("/tx/{q}"),
                    routes::v1(routes::TRANSACTION, &[&q]),
                ));
            }
            for j in jobs_with_hash(chain, &h)? {
                hits.push(hit(
                    SearchKind::Result,
                    j.to_string(),
                    format!("Job {j} (its result or prompt)"),
                    format!("/jobs/{j}"),
                    routes::v1(routes::JOB, &[&j]),
                ));
            }
        }
    } else {
        let id = model_id(q);
        if chain
            .read(|l| l.query_fn::<Hash32, Option<String>>(MODEL_NAME, &id))??
            .is_some()
        {
            hits.push(hit(
                SearchKind::Model,
                q.to_string(),
                format!("Model {q}"),
                format!("/models#{q}"),
                routes::v1(routes::MODELS, &[]),
            ));
        }
    }
    Ok(SearchResponse {
        query: q.to_string(),
        hits,
    })
}

/// Jobs whose result or prompt hashes to `h` (a walk of every job: a devnet explorer's
/// scale; stops at 20 matches).
fn jobs_with_hash(chain: &ChainService, h: &Hash32) -> Result<Vec<u64>, ServiceError> {
    chain.read(|l| {
        let mut out = Vec::new();
        let mut cursor = None;
        loop {
            let (jobs, next) = list_jobs(l, &JobFilter::default(), cursor, 100)?;
            for j in &jobs {
                let result = j.result.as_ref().is_some_and(|r| r.result_hash == *h);
                if result || j.spec.prompt_hash == *h {
                    out.push(j.id.0);
                    if out.len() >= 20 {
                        return Ok(out);
                    }
                }
            }
            match next {
                Some(c) => cursor = Some(c),
                None => return Ok(out),
            }
        }
    })?
}

/// A processed tick (404 for one not processed yet).
pub fn tick(chain: &ChainService, t: Tick) -> Result<TickView, ServiceError> {
    chain.with_chain(|c| {
        let l = c.ledger();
        let last = last_processed(l);
        if t > last {
            return Err(ServiceError::NotFound(format!(
                "tick {} is not processed yet (the last is {})",
                t.0, last.0
            )));
        }
        let summary = c.tick_check(t)?;
        let ids = c.tick_transactions(t)?.unwrap_or_default();
        let mut transactions = Vec::with_capacity(ids.len());
        for id in &ids {
            if let Some(b) = c.tx_brief(id)? {
                transactions.push(b);
            }
        }
        let events = summary.as_ref().map_or(0, |s| s.event_count);
        Ok(TickView {
            tick: t.0,
            epoch: l.epoch_of(t).0,
            digest: summary.as_ref().map(|s| s.digest),
            state_digest: summary.as_ref().map(|s| s.state_digest),
            receipts_digest: summary.as_ref().map(|s| s.receipts_digest),
            event_count: events,
            transactions,
            last_processed: last.0,
        })
    })?
}

/// A transaction with its receipt and, when kept, its decoded input (404 when unknown).
pub fn transaction(chain: &ChainService, id: &TxId) -> Result<TransactionView, ServiceError> {
    let receipt = chain
        .receipt(id)?
        .ok_or_else(|| ServiceError::NotFound(format!("no transaction {id}")))?;
    let kept = chain.kept(id);
    let brief = chain.with_chain(|c| c.tx_brief(id))??;
    let (source, destination, amount, input_type) = match (&brief, &kept) {
        (Some(b), _) => (b.source, b.destination, b.amount, b.input_type),
        (None, Some(t)) => (Some(t.source), Some(t.destination), t.amount, t.input_type),
        (None, None) => (None, None, Amount::ZERO, 0),
    };
    let (contract, input) = chain.read(|l| {
        let c = destination
            .and_then(|d| d.contract_index())
            .and_then(|i| l.registry().get(i));
        let name = c.map(|c| c.name().to_string());
        let input = match (c, &kept) {
            (Some(c), Some(t)) => c
                .meta()
                .procedure_number(t.input_type)
                .and_then(|e| (e.input_to_json)(&t.input).ok()),
            _ => None,
        };
        (name, input)
    })?;
    let qubic = chain.with_chain(|c| crate::qubic_rpc::qubic_tx(c, id, kept.clone()))??;
    Ok(TransactionView {
        transaction: qubic,
        receipt,
        source,
        destination,
        contract,
        amount,
        input_type,
        input_hex: kept.as_ref().map(|t| hex::encode(&t.input)),
        input,
        packed_hex: kept.as_ref().map(|t| hex::encode(t.encode())),
    })
}

/// Any identity: balance, and what it is on the marketplace.
pub fn identity(chain: &ChainService, id: &Identity) -> Result<IdentityView, ServiceError> {
    let (account, contract) = chain.read(|l| {
        (
            l.account(id),
            id.contract_index()
                .and_then(|i| l.registry().get(i))
                .map(|c| c.name().to_string()),
        )
    })?;
    let worker = chain.worker(id).is_ok();
    let (jobs, next) = chain.read(|l| {
        list_jobs(
            l,
            &JobFilter {
                requester: Some(*id),
                ..JobFilter::default()
            },
            None,
            100,
        )
    })??;
    let mut pools = Vec::new();
    let mut cursor = None;
    loop {
        let page = chain.pools(cursor, comqute_market::MAX_PAGE)?.0;
        for p in &page.pools {
            if p.operator == *id {
                pools.push(IdentityPool {
                    pool: p.id,
                    operator: true,
                });
            }
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    Ok(IdentityView {
        identity: *id,
        balance: Amount(account.balance),
        incoming: Amount(i64::try_from(account.incoming_amount).unwrap_or(i64::MAX)),
        outgoing: Amount(i64::try_from(account.outgoing_amount).unwrap_or(i64::MAX)),
        contract,
        worker,
        jobs_submitted: u32::try_from(jobs.len()).unwrap_or(u32::MAX),
        more_jobs: next.is_some(),
        pools,
    })
}

/// Every job `filter` selects, page after page (at most [`MAX_EXPORT_ROWS`]), as views.
pub fn all_jobs(chain: &ChainService, filter: &JobFilter) -> Result<Vec<JobView>, ServiceError> {
    chain.read(|l| {
        let mut out = Vec::new();
        let mut cursor = None;
        loop {
            let (jobs, next) = list_jobs(l, filter, cursor, 100)?;
            for j in &jobs {
                out.push(job_view(l, j)?);
                if out.len() >= MAX_EXPORT_ROWS {
                    return Ok(out);
                }
            }
            match next {
                Some(c) => cursor = Some(c),
                None => return Ok(out),
            }
        }
    })?
}

/// A worker's paid jobs, ordered by closing tick then id, with the running total (404 for
/// an identity that never registered).
pub fn earnings(chain: &ChainService, worker: &Identity) -> Result<EarningsSeries, ServiceError> {
    chain.worker(worker)?;
    let mut jobs: Vec<JobView> = all_jobs(
        chain,
        &JobFilter {
            worker: Some(*worker),
            ..JobFilter::default()
        },
    )?
    .into_iter()
    .filter(|j| j.paid.0 > 0)
    .collect();
    jobs.sort_by_key(|j| (j.closed_at.map_or(u32::MAX, |t| t.0), j.id));
    let mut total = 0i64;
    let points = jobs
        .iter()
        .map(|j| {
            total = total.saturating_add(j.paid.0);
            EarningsPoint {
                job_id: j.id,
                closed_at: j.closed_at,
                model: j
                    .model_name
                    .clone()
                    .unwrap_or_else(|| j.spec.model.to_string()),
                output_tokens: j.result.as_ref().map_or(0, |r| r.output_tokens),
                paid: j.paid,
                total: Amount(total),
                finalized: j.status == JobStatus::Finalized,
            }
        })
        .collect();
    Ok(EarningsSeries {
        worker: *worker,
        earned: Amount(total),
        jobs: points,
    })
}

/// Every registered worker (each once, by registration number).
pub fn all_workers(chain: &ChainService) -> Result<Vec<crate::wire::WorkerView>, ServiceError> {
    let mut out: BTreeMap<u64, crate::wire::WorkerView> = BTreeMap::new();
    for (id, _) in model_names(chain)? {
        let mut cursor = None;
        loop {
            let page = chain.workers(id, cursor, comqute_market::MAX_PAGE)?;
            for w in page.workers {
                out.entry(w.number).or_insert(w);
            }
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
    }
    Ok(out.into_values().collect())
}

/// Every worker, and the newest `jobs` jobs with their requesters.
pub fn network(chain: &ChainService, jobs: usize) -> Result<NetworkGraph, ServiceError> {
    let jobs = jobs.clamp(1, MAX_GRAPH_JOBS);
    let mut workers: BTreeMap<Identity, GraphNode> = all_workers(chain)?
        .iter()
        .map(|w| {
            (
                w.id,
                GraphNode {
                    id: w.id,
                    kind: NodeKind::Worker,
                    online: is_online(w),
                    jobs: 0,
                },
            )
        })
        .collect();
    let (tick, edges) = chain.read(|l| -> Result<_, ServiceError> {
        let st: NetworkStats = l.query_fn(NETWORK_STATS, &())?;
        let newest = st.jobs.submitted;
        let from = newest.saturating_sub(jobs as u64);
        let mut edges = Vec::new();
        for n in (from + 1..=newest).rev() {
            if let Ok(j) = crate::chain::job_record(l, n) {
                edges.push(edge(&j));
            }
        }
        Ok((last_processed(l).0, edges))
    })??;
    let mut requesters: BTreeMap<Identity, GraphNode> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for e in &edges {
        if let Some(w) = e.worker.and_then(|w| workers.get_mut(&w)) {
            w.jobs += 1;
        }
        seen.insert(e.requester);
        requesters
            .entry(e.requester)
            .or_insert(GraphNode {
                id: e.requester,
                kind: NodeKind::Requester,
                online: false,
                jobs: 0,
            })
            .jobs += 1;
    }
    Ok(NetworkGraph {
        tick,
        nodes: workers
            .into_values()
            .chain(requesters.into_values())
            .collect(),
        edges,
    })
}

fn edge(j: &Job) -> GraphEdge {
    GraphEdge {
        job_id: j.id.0,
        requester: j.requester,
        worker: j.worker.map(|w| w.0),
        status: j.status.name().to_string(),
        submitted_at: j.submitted_at.0,
    }
}

/// The last processed tick of a ledger (for pages).
pub fn last_tick(l: &Ledger) -> Tick {
    last_processed(l)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let q: VecDeque<u32> = (1..=10).collect();
        let p = percentiles(&q);
        assert_eq!((p.samples, p.p50, p.p90), (10, Some(5), Some(9)));
        let one: VecDeque<u32> = [42].into();
        assert_eq!(percentiles(&one).p90, Some(42));
        assert_eq!(percentiles(&VecDeque::new()).p50, None);
    }

    #[test]
    fn kept_transactions_are_bounded_oldest_first() {
        let keep = TxKeep::default();
        let tx = |n: u8| {
            Transaction::new(
                Identity([n; 32]),
                Identity([1; 32]),
                Amount(1),
                Tick(1),
                0,
                vec![],
            )
        };
        for n in 0..=255u8 {
            keep.keep(Hash32([n; 32]), tx(n));
        }
        assert_eq!(
            keep.get(&Hash32([7; 32])).map(|t| t.source),
            Some(Identity([7; 32]))
        );
        assert!(
            keep.get(&Hash32([0; 32])).is_some(),
            "under the bound nothing goes"
        );
    }
}

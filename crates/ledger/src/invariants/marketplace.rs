//! The marketplace as an [`ActionModel`]: random calls of every procedure of the escrow
//! vault's clients (the worker registry and the job registry; the vault itself refuses every
//! invocator but them), time passing, and the shipped invariants.
//!
//! - **Actions** ([`MarketAct`]): every worker-registry procedure (register, update,
//!   heartbeat, availability, top-up, unbond, withdraw), every job-registry procedure
//!   (submit, claim, start, post result, cancel, fail, dispute, resolve, expire), a
//!   state-guided "next natural step of a live job", and waits. Actor and job fields are
//!   picked modulo what exists, so a sequence stays meaningful whatever came before; wrong
//!   callers and unknown jobs are part of it.
//! - **Invariants** ([`MarketModel::invariants`]): money conserved (balances sum to the
//!   circulating supply, the vault holds exactly its escrows and stakes, the registries hold
//!   nothing); escrow never negative; no job paid over its escrow (and a closed job's payment
//!   plus refund is its escrow); every job terminal after its deadline and window (a live
//!   job always has a deadline, and it is never overdue by more than the settlement backlog
//!   allows); no hook ever fails.
//!
//! The genesis (the marketplace, eight funded actors, three listed workers) is built once
//! and every sequence runs on a fork of it, in O(1).

use std::sync::Mutex;

use proptest::prelude::*;
use serde::{Deserialize, Serialize};

use comqute_contracts::escrow::{EscrowTotals, TOTALS};
use comqute_contracts::job_registry::{
    Job, JobPage, JobRef, JobResult, JobSpec, JobStatus, JobsByStatus, NetworkStats, PostResult,
    Resolve, Sampling, CANCEL, CLAIM, DISPUTE, EXPIRE, FAIL, JOBS_BY_STATUS, NETWORK_STATS,
    POST_RESULT, RESOLVE, START, SUBMIT,
};
use comqute_contracts::marketplace::{
    self, model_id, MarketConfig, ESCROW, JOB_REGISTRY, WORKER_REGISTRY,
};
use comqute_contracts::qpi::encode;
use comqute_contracts::worker_registry::{
    Capabilities, HEARTBEAT, REGISTER, SET_AVAILABLE, TOP_UP, UNBOND, UPDATE, WITHDRAW,
};
use comqute_contracts::{Amount, ContractIndex, Hash32, Identity};

use super::{ActionModel, Invariant};
use crate::error::LedgerError;
use crate::ledger::Ledger;
use crate::tx::Transaction;

/// Actors: three requesters (0–2), three workers (3–5), the resolver (6), a bystander (7).
pub const ACTORS: usize = 8;
/// The longest job timeout the model asks for.
pub const MAX_TIMEOUT: u32 = 24;
/// What every actor holds at genesis.
pub const START_BALANCE: i64 = 10_000_000;

/// Actor `i`'s identity (`i < ACTORS`; a plain key, never a contract's).
pub fn actor(i: usize) -> Identity {
    Identity([0x40 + (i % ACTORS) as u8; 32])
}

/// One action. `who` fields are actor numbers; `job` fields pick a job id modulo the jobs
/// submitted so far (plus 0 and one past the last).
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MarketAct {
    /// Worker registry: register with a stake near the minimum.
    Register {
        who: u8,
        stake: u16,
        price: u16,
        slots: u8,
        models: u8,
    },
    /// Worker registry: new capabilities.
    Update {
        who: u8,
        price: u16,
        slots: u8,
        models: u8,
    },
    /// Worker registry: heartbeat.
    Heartbeat { who: u8 },
    /// Worker registry: list or unlist.
    SetAvailable { who: u8, on: bool },
    /// Worker registry: more stake.
    TopUp { who: u8, amount: u16 },
    /// Worker registry: start unbonding.
    Unbond { who: u8 },
    /// Worker registry: withdraw after unbonding.
    Withdraw { who: u8 },
    /// Job registry: submit a job (escrow sometimes one short).
    Submit {
        who: u8,
        model: u8,
        max_tokens: u16,
        max_price: u16,
        timeout: u8,
        min_rep: u16,
        extra: u16,
        nonce: u16,
    },
    /// Job registry: claim.
    Claim { who: u8, job: u8 },
    /// Job registry: start.
    Start { who: u8, job: u8 },
    /// Job registry: post a result.
    Post { who: u8, job: u8, tokens: u16 },
    /// Job registry: cancel.
    Cancel { who: u8, job: u8 },
    /// Job registry: give up.
    Fail { who: u8, job: u8 },
    /// Job registry: dispute.
    Dispute { who: u8, job: u8 },
    /// Job registry: resolve a dispute.
    Resolve { who: u8, job: u8, worker_wins: bool },
    /// Job registry: expire an overdue job.
    Expire { who: u8, job: u8 },
    /// The natural next step of a live job (picked by `pick`); with `alt`, that actor calls
    /// instead (mostly a wrong caller).
    Progress {
        pick: u8,
        flavor: u8,
        tokens: u16,
        alt: Option<u8>,
    },
    /// Ticks pass with no call.
    Wait { ticks: u8 },
}

/// The marketplace model: settings with short windows so deadlines come into play.
pub struct MarketModel {
    /// The marketplace settings.
    pub config: MarketConfig,
    /// Ticks per epoch (short by default, so epoch boundaries happen).
    pub epoch_ticks: u32,
    /// Record every run ([`crate::record`]), so a failing run's recording is saved beside
    /// its regression file (default: on).
    pub record: bool,
    base: Mutex<Option<Ledger>>,
}

impl Default for MarketModel {
    fn default() -> Self {
        MarketModel::new(
            MarketConfig {
                min_stake: Amount(1_000),
                slash_amount: Amount(700),
                heartbeat_window: 40,
                unbonding_ticks: 5,
                challenge_window: 3,
                dispute_timeout_ticks: 8,
                max_settlements_per_tick: 3,
                max_matches_per_tick: 2,
                max_timeout_ticks: MAX_TIMEOUT,
                resolver: actor(6),
                ..MarketConfig::default()
            },
            97,
        )
    }
}

fn llama() -> Hash32 {
    model_id("llama3.2:1b")
}
fn mistral() -> Hash32 {
    model_id("mistral:7b")
}

fn models(mask: u8) -> Vec<Hash32> {
    let mut v = Vec::new();
    if mask & 1 != 0 {
        v.push(llama());
    }
    if mask & 2 != 0 {
        v.push(mistral());
    }
    v
}

fn capabilities(price: u16, slots: u8, mask: u8) -> Capabilities {
    Capabilities {
        models: models(mask),
        gpu: "RTX 4090".into(),
        vram_mb: 24_576,
        tokens_per_s: 120,
        price_per_1k: Amount(i64::from(price)),
        max_concurrent: u16::from(slots),
    }
}

/// (actor, contract, procedure, input, amount)
type Call = (usize, ContractIndex, u16, Vec<u8>, i64);

fn job_id(pick: u8, submitted: u64) -> u64 {
    u64::from(pick) % (submitted + 2)
}

fn actor_of(id: &Identity) -> usize {
    (0..ACTORS).find(|i| actor(*i) == *id).unwrap_or(7)
}

/// Mostly a worker, sometimes anyone.
fn worker_actor() -> impl Strategy<Value = u8> {
    prop_oneof![4 => 3u8..6, 1 => 0u8..8]
}
/// Mostly a requester, sometimes anyone.
fn requester_actor() -> impl Strategy<Value = u8> {
    prop_oneof![4 => 0u8..3, 1 => 0u8..8]
}

/// Every blind (state-independent) action.
pub fn blind_act() -> BoxedStrategy<MarketAct> {
    use MarketAct::*;
    let pick = any::<u8>;
    prop_oneof![
        2 => (worker_actor(), 0u16..3_000, 1u16..3_000, 1u8..4, 1u8..4)
            .prop_map(|(who, stake, price, slots, models)| Register { who, stake, price, slots, models }),
        1 => (worker_actor(), 1u16..3_000, 1u8..4, 1u8..4)
            .prop_map(|(who, price, slots, models)| Update { who, price, slots, models }),
        2 => worker_actor().prop_map(|who| Heartbeat { who }),
        3 => (worker_actor(), prop::bool::weighted(0.8)).prop_map(|(who, on)| SetAvailable { who, on }),
        1 => (worker_actor(), 0u16..2_000).prop_map(|(who, amount)| TopUp { who, amount }),
        1 => worker_actor().prop_map(|who| Unbond { who }),
        1 => worker_actor().prop_map(|who| Withdraw { who }),
        5 => (requester_actor(), 0u8..2, 1u16..2_000, 1u16..3_000, 1u8..(MAX_TIMEOUT as u8 + 1),
              prop_oneof![3 => Just(0u16), 1 => 0u16..7_000], 0u16..500, any::<u16>())
            .prop_map(|(who, model, max_tokens, max_price, timeout, min_rep, extra, nonce)| Submit {
                who, model, max_tokens, max_price, timeout, min_rep, extra, nonce
            }),
        2 => (worker_actor(), pick()).prop_map(|(who, job)| Claim { who, job }),
        3 => (worker_actor(), pick()).prop_map(|(who, job)| Start { who, job }),
        3 => (worker_actor(), pick(), 0u16..2_500).prop_map(|(who, job, tokens)| Post { who, job, tokens }),
        1 => (requester_actor(), pick()).prop_map(|(who, job)| Cancel { who, job }),
        1 => (worker_actor(), pick()).prop_map(|(who, job)| Fail { who, job }),
        2 => (requester_actor(), pick()).prop_map(|(who, job)| Dispute { who, job }),
        2 => (prop_oneof![3 => Just(6u8), 1 => 0u8..8], pick(), any::<bool>())
            .prop_map(|(who, job, worker_wins)| Resolve { who, job, worker_wins }),
        1 => (0u8..8, pick()).prop_map(|(who, job)| Expire { who, job }),
    ]
    .boxed()
}

/// Any action: blind ones, state-guided progress, and waits.
pub fn any_act() -> BoxedStrategy<MarketAct> {
    prop_oneof![
        3 => blind_act(),
        5 => (any::<u8>(), any::<u8>(), 0u16..2_500, prop::option::weighted(0.15, 0u8..8))
            .prop_map(|(pick, flavor, tokens, alt)| MarketAct::Progress { pick, flavor, tokens, alt }),
        1 => prop_oneof![3 => 1u8..4, 1 => 5u8..30].prop_map(|ticks| MarketAct::Wait { ticks }),
    ]
    .boxed()
}

/// The natural next step of a live job.
fn progress(pick: u8, flavor: u8, tokens: u16, alt: Option<u8>, live: &[Job]) -> Option<Call> {
    if live.is_empty() {
        return None;
    }
    let job = &live[usize::from(pick) % live.len()];
    let jr = encode(&JobRef { job_id: job.id });
    let worker = job
        .worker
        .map(|w| actor_of(&w))
        .unwrap_or(3 + usize::from(flavor) % 3);
    let requester = actor_of(&job.requester);
    let gives_up = flavor % 6 == 0 || (job.failures > 0 && flavor % 2 == 0);
    let (who, procedure, input) = match job.status {
        JobStatus::Open if flavor % 4 == 0 => (requester, CANCEL, jr),
        JobStatus::Open => (3 + usize::from(flavor) % 3, CLAIM, jr),
        JobStatus::Assigned if gives_up => (worker, FAIL, jr),
        JobStatus::Assigned => (worker, START, jr),
        JobStatus::Running if gives_up => (worker, FAIL, jr),
        JobStatus::Running => {
            let result = JobResult {
                result_hash: Hash32::of(&tokens.to_le_bytes()),
                output_tokens: u32::from(tokens).min(job.spec.max_output_tokens),
                runtime: Hash32::ZERO,
            };
            let post = PostResult {
                job_id: job.id,
                result,
            };
            (worker, POST_RESULT, encode(&post))
        }
        JobStatus::Completed => (requester, DISPUTE, jr),
        JobStatus::Disputed => {
            let r = Resolve {
                job_id: job.id,
                worker_wins: flavor % 2 == 0,
            };
            (6, RESOLVE, encode(&r))
        }
        _ => return None,
    };
    Some((
        alt.map_or(who, usize::from),
        JOB_REGISTRY,
        procedure,
        input,
        0,
    ))
}

impl MarketModel {
    /// A model with these settings.
    pub fn new(config: MarketConfig, epoch_ticks: u32) -> Self {
        MarketModel {
            config,
            epoch_ticks,
            record: true,
            base: Mutex::new(None),
        }
    }

    fn build_base(&self) -> Result<Ledger, LedgerError> {
        let mut b = Ledger::builder().epoch_ticks(self.epoch_ticks);
        if self.record {
            b = b.record();
        }
        for c in marketplace::contracts(self.config.clone()) {
            b = b.contract_arc(c);
        }
        for i in 0..ACTORS {
            b = b.fund(actor(i), Amount(START_BALANCE));
        }
        let mut l = b.build()?;
        // The three workers register (both models, prices 500 / 1,000 / 1,500, two slots),
        // then list themselves.
        for round in 0..2 {
            for w in 0..3u8 {
                let a = match round {
                    0 => MarketAct::Register {
                        who: 3 + w,
                        stake: 700,
                        price: 500 * (u16::from(w) + 1),
                        slots: 2,
                        models: 3,
                    },
                    _ => MarketAct::SetAvailable {
                        who: 3 + w,
                        on: true,
                    },
                };
                self.queue(&mut l, &a, 0, &[])?;
            }
            l.process_tick()?;
        }
        Ok(l)
    }

    /// The call an action stands for.
    fn call_of(&self, a: &MarketAct, submitted: u64, live: &[Job]) -> Option<Call> {
        use MarketAct::*;
        let jr = |job: u8| {
            encode(&JobRef {
                job_id: job_id(job, submitted),
            })
        };
        let w = |who: u8| usize::from(who) % ACTORS;
        Some(match *a {
            Register {
                who,
                stake,
                price,
                slots,
                models,
            } => (
                w(who),
                WORKER_REGISTRY,
                REGISTER,
                encode(&capabilities(price, slots, models)),
                self.config.min_stake.0 - 200 + i64::from(stake),
            ),
            Update {
                who,
                price,
                slots,
                models,
            } => (
                w(who),
                WORKER_REGISTRY,
                UPDATE,
                encode(&capabilities(price, slots, models)),
                0,
            ),
            Heartbeat { who } => (w(who), WORKER_REGISTRY, HEARTBEAT, encode(&()), 0),
            SetAvailable { who, on } => (
                w(who),
                WORKER_REGISTRY,
                SET_AVAILABLE,
                encode(&comqute_contracts::worker_registry::SetAvailable { available: on }),
                0,
            ),
            TopUp { who, amount } => (
                w(who),
                WORKER_REGISTRY,
                TOP_UP,
                encode(&()),
                i64::from(amount),
            ),
            Unbond { who } => (w(who), WORKER_REGISTRY, UNBOND, encode(&()), 0),
            Withdraw { who } => (w(who), WORKER_REGISTRY, WITHDRAW, encode(&()), 0),
            Submit {
                who,
                model,
                max_tokens,
                max_price,
                timeout,
                min_rep,
                extra,
                nonce,
            } => {
                let spec = JobSpec {
                    model: if model == 0 { llama() } else { mistral() },
                    prompt_hash: Hash32::of(&nonce.to_le_bytes()),
                    prompt_size: 100,
                    max_output_tokens: u32::from(max_tokens),
                    max_price_per_1k: Amount(i64::from(max_price)),
                    timeout_ticks: u32::from(timeout),
                    min_reputation: min_rep,
                    sampling: Sampling {
                        seed: u64::from(nonce),
                        temperature_milli: 0,
                    },
                };
                let need = (i64::from(max_tokens) * i64::from(max_price) / 1_000).max(1);
                let escrow = if extra % 10 == 0 {
                    need - 1
                } else {
                    need + i64::from(extra)
                };
                (w(who), JOB_REGISTRY, SUBMIT, encode(&spec), escrow)
            }
            Claim { who, job } => (w(who), JOB_REGISTRY, CLAIM, jr(job), 0),
            Start { who, job } => (w(who), JOB_REGISTRY, START, jr(job), 0),
            Post { who, job, tokens } => {
                let input = PostResult {
                    job_id: job_id(job, submitted),
                    result: JobResult {
                        result_hash: Hash32::of(&tokens.to_le_bytes()),
                        output_tokens: u32::from(tokens),
                        runtime: Hash32::ZERO,
                    },
                };
                (w(who), JOB_REGISTRY, POST_RESULT, encode(&input), 0)
            }
            Cancel { who, job } => (w(who), JOB_REGISTRY, CANCEL, jr(job), 0),
            Fail { who, job } => (w(who), JOB_REGISTRY, FAIL, jr(job), 0),
            Dispute { who, job } => (w(who), JOB_REGISTRY, DISPUTE, jr(job), 0),
            Resolve {
                who,
                job,
                worker_wins,
            } => {
                let r = comqute_contracts::job_registry::Resolve {
                    job_id: job_id(job, submitted),
                    worker_wins,
                };
                (w(who), JOB_REGISTRY, RESOLVE, encode(&r), 0)
            }
            Expire { who, job } => (w(who), JOB_REGISTRY, EXPIRE, jr(job), 0),
            Progress {
                pick,
                flavor,
                tokens,
                alt,
            } => return progress(pick, flavor, tokens, alt, live),
            Wait { .. } => return None,
        })
    }

    /// Queues an action unsigned for the next tick; a refusal at admission (a duplicate, an
    /// unfunded source) is part of the game.
    fn queue(
        &self,
        ledger: &mut Ledger,
        a: &MarketAct,
        submitted: u64,
        live: &[Job],
    ) -> Result<(), LedgerError> {
        let Some((who, contract, procedure, input, amount)) = self.call_of(a, submitted, live)
        else {
            return Ok(());
        };
        let tx = Transaction::call(
            actor(who),
            contract,
            Amount(amount),
            ledger.next_tick(),
            procedure,
            input,
        );
        match ledger.submit_unsigned(tx) {
            Ok(_) => Ok(()),
            Err(LedgerError::Tx(e)) => Err(LedgerError::Tx(e)),
            Err(_) => Ok(()),
        }
    }
}

/// Every job, by id (paged through every status).
pub fn all_jobs(ledger: &Ledger) -> Result<Vec<Job>, String> {
    let mut out = Vec::new();
    for status in JobStatus::ALL {
        let mut cursor = None;
        loop {
            let q = JobsByStatus {
                status,
                cursor,
                limit: 100,
            };
            let p: JobPage = ledger
                .query(JOB_REGISTRY, JOBS_BY_STATUS, &q)
                .map_err(|e| e.to_string())?;
            out.extend(p.jobs);
            match p.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
    }
    out.sort_by_key(|j| j.id);
    Ok(out)
}

/// Money conserved: balances sum to the circulating supply; the vault holds exactly its job
/// escrows plus stakes; the registries hold nothing; registry and vault totals agree.
pub fn money_conserved(ledger: &Ledger) -> Result<(), String> {
    let total: i128 = ledger
        .state()
        .accounts_sorted()
        .iter()
        .map(|(_, a)| i128::from(a.balance))
        .sum();
    let circulating = ledger.supply().circulating();
    if total != circulating {
        return Err(format!(
            "balances sum to {total}, circulating supply is {circulating}"
        ));
    }
    let t: EscrowTotals = ledger
        .query(ESCROW, TOTALS, &())
        .map_err(|e| e.to_string())?;
    let vault = ledger.balance(&Identity::contract(ESCROW)).0;
    if vault != t.jobs_locked.0 + t.stakes.0 {
        return Err(format!(
            "vault holds {vault}, accounts say {} + {}",
            t.jobs_locked, t.stakes
        ));
    }
    for idx in [WORKER_REGISTRY, JOB_REGISTRY] {
        let b = ledger.balance(&Identity::contract(idx)).0;
        if b != 0 {
            return Err(format!("contract {idx} holds {b}"));
        }
    }
    let stats: NetworkStats = ledger
        .query(JOB_REGISTRY, NETWORK_STATS, &())
        .map_err(|e| e.to_string())?;
    if stats.workers.total_staked != t.stakes || stats.jobs.total_escrowed != t.jobs_locked {
        return Err(format!(
            "registries say stakes {} escrow {}, vault says {} {}",
            stats.workers.total_staked, stats.jobs.total_escrowed, t.stakes, t.jobs_locked
        ));
    }
    Ok(())
}

/// Escrow never negative: the vault's totals, every job's escrow, payment and refund.
pub fn escrow_never_negative(ledger: &Ledger) -> Result<(), String> {
    let t: EscrowTotals = ledger
        .query(ESCROW, TOTALS, &())
        .map_err(|e| e.to_string())?;
    if t.jobs_locked.0 < 0 || t.stakes.0 < 0 {
        return Err(format!("vault totals negative: {t:?}"));
    }
    for j in all_jobs(ledger)? {
        if j.escrow.0 < 0 || j.paid.0 < 0 || j.refunded.0 < 0 {
            return Err(format!(
                "job {} escrow {} paid {} refunded {}",
                j.id, j.escrow, j.paid, j.refunded
            ));
        }
    }
    Ok(())
}

/// No job paid over its escrow; a closed job's payment plus refund is its escrow; a live
/// job has been neither paid nor refunded.
pub fn no_job_paid_over_escrow(ledger: &Ledger) -> Result<(), String> {
    for job in all_jobs(ledger)? {
        if job.paid > job.escrow {
            return Err(format!(
                "job {} paid {} over its escrow {}",
                job.id, job.paid, job.escrow
            ));
        }
        if job.status.is_terminal() && job.paid.0 + job.refunded.0 != job.escrow.0 {
            return Err(format!(
                "closed job {} paid {} + refunded {} != {}",
                job.id, job.paid, job.refunded, job.escrow
            ));
        }
        if !job.status.is_terminal() && (job.paid.0 != 0 || job.refunded.0 != 0) {
            return Err(format!("live job {} already paid or refunded", job.id));
        }
    }
    Ok(())
}

/// Every job terminal after its deadline and window: a live job has a deadline, and the
/// ledger is never past it by more than the settlement backlog (live jobs divided by the
/// settlements a tick handles) explains.
pub fn jobs_terminal_after_deadline(ledger: &Ledger) -> Result<(), String> {
    let jobs = all_jobs(ledger)?;
    let live: Vec<&Job> = jobs.iter().filter(|j| !j.status.is_terminal()).collect();
    // The settlement cap of the default model is 3 a tick; a backlog of n live jobs clears
    // within n ticks whatever the cap (at least one a tick).
    let backlog = live.len() as u32 + 1;
    let now = ledger.next_tick().0;
    for j in live {
        let Some(d) = j.deadline else {
            return Err(format!(
                "live job {} ({:?}) has no deadline",
                j.id, j.status
            ));
        };
        if d.0.saturating_add(backlog) < now {
            return Err(format!(
                "job {} still {:?} at tick {now}, deadline {} (backlog {backlog})",
                j.id, j.status, d.0
            ));
        }
    }
    Ok(())
}

/// No hook ever failed.
pub fn no_hook_failures(ledger: &Ledger) -> Result<(), String> {
    match ledger.hook_failures().first() {
        Some(f) => Err(format!("hook failed: {f:?}")),
        None => Ok(()),
    }
}

impl ActionModel for MarketModel {
    type Action = MarketAct;

    fn genesis(&self) -> Result<Ledger, LedgerError> {
        // Invariant: a poisoned lock only means another thread panicked mid-build; the
        // cached value is then rebuilt.
        let mut base = self.base.lock().unwrap_or_else(|p| p.into_inner());
        if base.is_none() {
            *base = Some(self.build_base()?);
        }
        match base.as_mut() {
            Some(l) => Ok(l.fork()),
            None => self.build_base(),
        }
    }

    fn action(&self) -> BoxedStrategy<MarketAct> {
        any_act()
    }

    fn apply(&self, ledger: &mut Ledger, action: &MarketAct) -> Result<u32, LedgerError> {
        match action {
            MarketAct::Wait { ticks } => Ok(u32::from(*ticks).max(1)),
            MarketAct::Progress { .. } => {
                let jobs = all_jobs(ledger).map_err(LedgerError::Config)?;
                let live: Vec<Job> = jobs
                    .into_iter()
                    .filter(|j| !j.status.is_terminal())
                    .collect();
                self.queue(ledger, action, 0, &live)?;
                Ok(1)
            }
            _ => {
                let stats: NetworkStats = ledger
                    .query(JOB_REGISTRY, NETWORK_STATS, &())
                    .map_err(LedgerError::Contract)?;
                self.queue(ledger, action, stats.jobs.submitted, &[])?;
                Ok(1)
            }
        }
    }

    fn invariants(&self) -> Vec<Invariant> {
        vec![
            ("money conserved", money_conserved),
            ("escrow never negative", escrow_never_negative),
            ("no job paid over its escrow", no_job_paid_over_escrow),
            (
                "every job terminal after its deadline and window",
                jobs_terminal_after_deadline,
            ),
            ("no hook fails", no_hook_failures),
        ]
    }
}

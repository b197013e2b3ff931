//! Job-lifecycle workloads of the criterion suite (issue 7): a marketplace ledger with 1,024
//! registered workers and 256 requesters, brought to the state just before a tick of `n`
//! calls of one job-registry procedure, and the calls themselves. Also the large states of
//! the tick-cost comparison (10k against 1M live jobs) and a mixed tick to run on them.
//!
//! Every call is unsigned (harness mode): signature checking costs the same whatever the
//! procedure and is measured by the transfer and verification benches. Job ids are
//! predictable because a fresh registry numbers jobs from 1 in slot order, and slot order is
//! submission order.

use comqute_ledger::{Ledger, LedgerBuilder, Retention, Transaction};
use comqute_market::job_registry::{
    GiveUp, JobRef, JobResult, JobSpec, PostResult, Resolve, Sampling, CANCEL, CHALLENGE, CLAIM,
    DECLINE, EXPIRE, FAIL, FORCE_VERDICT, POST_RESULT, START, SUBMIT,
};
use comqute_market::worker_registry::{Capabilities, REGISTER};
use comqute_market::JobId;
use comqute_market::{model_id, MarketConfig, JOB_REGISTRY, WORKER_REGISTRY};
use comqute_qpi::contract::encode;
use comqute_qpi::{Amount, Hash32, Identity, Tick};

/// Registered workers (none listed as available: jobs are claimed, never auto-matched).
pub const WORKERS: u32 = 1_024;
/// Funded requesters; job `id` belongs to requester `(id - 1) % REQUESTERS`.
pub const REQUESTERS: u32 = 256;
/// The devnet resolver that forces verdicts.
pub const RESOLVER: Identity = Identity([0xEE; 32]);
/// Largest tick of one procedure's calls (the tick capacity).
pub const MAX_TICK: usize = 4_096;

const MODEL: &str = "bench-model";
/// The escrow of every job: 1,000 tokens at most 200 per 1k.
const ESCROW: Amount = Amount(200);

/// The i-th worker.
pub fn worker(i: u32) -> Identity {
    let mut b = [0x57; 32];
    b[..4].copy_from_slice(&i.to_le_bytes());
    Identity(b)
}

/// The i-th requester.
pub fn requester(i: u32) -> Identity {
    let mut b = [0x52; 32];
    b[..4].copy_from_slice(&i.to_le_bytes());
    Identity(b)
}

/// The requester of job `id`.
pub fn requester_of(id: u64) -> Identity {
    requester(((id - 1) % u64::from(REQUESTERS)) as u32)
}

/// The worker that claims job `id`.
pub fn worker_of(id: u64) -> Identity {
    worker(((id - 1) % u64::from(WORKERS)) as u32)
}

/// The marketplace settings: defaults, with long timeouts allowed, workers online for
/// 1,000,000 ticks after registering (loading a million jobs takes 245 ticks, and workers
/// here send no heartbeats), a devnet resolver, no spot checks (every result waits out its
/// window, as the challenge step needs), and `settlements` deadlines handled per END_TICK.
pub fn config(settlements: u32) -> MarketConfig {
    MarketConfig {
        workers: comqute_market::worker_registry::WorkerConfig {
            heartbeat_window: 1_000_000,
            ..MarketConfig::default().workers
        },
        jobs: comqute_market::job_registry::JobConfig {
            max_timeout_ticks: 1_000_000,
            resolver: RESOLVER,
            forced_verdicts: true,
            max_settlements_per_tick: settlements,
            ..MarketConfig::default().jobs
        },
        verification: comqute_market::verification::VerifyConfig {
            spot_checks: false,
            ..MarketConfig::default().verification
        },
        ..MarketConfig::default()
    }
}

/// The builder of [`genesis`] (durable ledgers open from a builder).
pub fn genesis_builder(settlements: u32) -> LedgerBuilder {
    let mut b = Ledger::builder().history(Retention::KeepLast(16));
    for c in comqute_market::contracts(config(settlements)) {
        b = b.contract_arc(c);
    }
    for i in 0..WORKERS {
        b = b.fund(worker(i), Amount(1_000_000_000_000));
    }
    for i in 0..REQUESTERS {
        b = b.fund(requester(i), Amount(1_000_000_000_000));
    }
    // Only funded identities may send transactions, the resolver's included.
    b.fund(RESOLVER, Amount(1_000_000))
}

/// The marketplace at genesis with every worker and requester funded, history kept short.
pub fn genesis(settlements: u32) -> Result<Ledger, String> {
    genesis_builder(settlements)
        .build()
        .map_err(|e| e.to_string())
}

/// The spec of job number `nonce`.
pub fn spec(nonce: u64, timeout_ticks: u32) -> JobSpec {
    JobSpec {
        model: model_id(MODEL),
        prompt_hash: Hash32::of(&nonce.to_le_bytes()),
        prompt_size: 100,
        max_output_tokens: 1_000,
        max_price_per_1k: Amount(200),
        timeout_ticks,
        min_reputation: 0,
        sampling: Sampling {
            seed: nonce,
            temperature_milli: 0,
        },
    }
}

/// Submits `txs` (unsigned), runs the tick and checks every one executed.
pub fn run_tick(l: &mut Ledger, txs: Vec<Transaction>) -> Result<(), String> {
    let mut ids = Vec::with_capacity(txs.len());
    for tx in txs {
        ids.push(l.submit_unsigned(tx).map_err(|e| e.to_string())?);
    }
    l.process_tick().map_err(|e| e.to_string())?;
    for id in &ids {
        match l.receipt(id) {
            Some(r) if r.is_executed() => {}
            Some(r) => return Err(comqute_ledger::check::explain(l, &r)),
            None => return Err(format!("no receipt for {id:?}")),
        }
    }
    Ok(())
}

/// Registers every worker (stake 10,000, one model, price 100 per 1k, 64 slots).
pub fn register_workers(l: &mut Ledger) -> Result<(), String> {
    let txs = registrations(l.next_tick());
    run_tick(l, txs)
}

/// The registrations of every worker, for `tick`.
pub fn registrations(tick: Tick) -> Vec<Transaction> {
    registrations_of((0..WORKERS).map(worker), tick)
}

/// The registration calls of `workers` for `tick` (unsigned): stake 10,000, the bench model,
/// price 100 per 1k, 64 slots. `comqute bench ledger` signs the same calls.
pub fn registrations_of(
    workers: impl IntoIterator<Item = Identity>,
    tick: Tick,
) -> Vec<Transaction> {
    let caps = Capabilities {
        models: vec![MODEL.into()],
        gpu: "bench".into(),
        vram_mb: 24_000,
        tokens_per_s: 100,
        price_per_1k: Amount(100),
        max_concurrent: 64,
    };
    workers
        .into_iter()
        .map(|w| {
            Transaction::call(
                w,
                WORKER_REGISTRY,
                Amount(10_000),
                tick,
                REGISTER.number(),
                encode(&caps),
            )
        })
        .collect()
}

/// One job-registry procedure, as a worker, requester or resolver calls it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proc {
    /// [`SUBMIT`] by the requesters, round-robin.
    Submit,
    /// [`CLAIM`] of open jobs by the workers.
    Claim,
    /// [`START`] of assigned jobs by their workers.
    Start,
    /// [`DECLINE`] of assigned jobs by their workers, with a reason (each job reopens).
    Decline,
    /// [`POST_RESULT`] of running jobs by their workers.
    PostResult,
    /// [`CANCEL`] of open jobs by their requesters.
    Cancel,
    /// [`FAIL`] of running jobs by their workers (the first failure: the job reopens).
    Fail,
    /// [`CHALLENGE`] of completed jobs by their requesters, inside the challenge window,
    /// with a bond (each opens a check and draws its replicas).
    Dispute,
    /// [`FORCE_VERDICT`] of checked jobs by the devnet's resolver; the worker wins every
    /// other one (paid), loses the rest (refund, slash and its split).
    Resolve,
    /// [`EXPIRE`] of open jobs past their deadline, before END_TICK got to them.
    Expire,
}

impl Proc {
    /// Every procedure, in lifecycle order.
    pub const ALL: [Proc; 10] = [
        Proc::Submit,
        Proc::Claim,
        Proc::Start,
        Proc::Decline,
        Proc::PostResult,
        Proc::Cancel,
        Proc::Fail,
        Proc::Dispute,
        Proc::Resolve,
        Proc::Expire,
    ];

    /// The benchmark name.
    pub fn name(self) -> &'static str {
        match self {
            Proc::Submit => "submit",
            Proc::Claim => "claim",
            Proc::Start => "start",
            Proc::Decline => "decline",
            Proc::PostResult => "post_result",
            Proc::Cancel => "cancel",
            Proc::Fail => "fail",
            Proc::Dispute => "challenge",
            Proc::Resolve => "force_verdict",
            Proc::Expire => "expire",
        }
    }

    /// The first job id the calls name (jobs `first_job .. first_job + n`).
    fn first_job(self) -> u64 {
        match self {
            // END_TICK expires one due job per tick (the oldest): two ticks take jobs 1, 2.
            Proc::Expire => 3,
            _ => 1,
        }
    }

    /// How far the jobs must have gone before the calls: 0 none, 1 open, 2 assigned,
    /// 3 running, 4 completed, 5 checked.
    fn depth(self) -> u8 {
        match self {
            Proc::Submit => 0,
            Proc::Claim | Proc::Cancel | Proc::Expire => 1,
            Proc::Start | Proc::Decline => 2,
            Proc::PostResult | Proc::Fail => 3,
            Proc::Dispute => 4,
            Proc::Resolve => 5,
        }
    }

    /// The `n` calls for `tick`.
    pub fn calls(self, n: usize, tick: Tick) -> Vec<Transaction> {
        let first = self.first_job();
        (0..n as u64)
            .map(|k| {
                let id = first + k;
                let jr = || encode(&JobRef { job_id: JobId(id) });
                let give_up = |reason: &str| {
                    encode(&GiveUp {
                        job_id: JobId(id),
                        reason: reason.into(),
                    })
                };
                let (who, ty, amount, input) = match self {
                    Proc::Submit => (
                        requester_of(id),
                        SUBMIT.number(),
                        ESCROW,
                        encode(&spec(id, 1_000_000)),
                    ),
                    Proc::Claim => (worker_of(id), CLAIM.number(), Amount::ZERO, jr()),
                    Proc::Start => (worker_of(id), START.number(), Amount::ZERO, jr()),
                    Proc::PostResult => (
                        worker_of(id),
                        POST_RESULT.number(),
                        Amount::ZERO,
                        encode(&PostResult {
                            job_id: JobId(id),
                            result: JobResult {
                                result_hash: Hash32::of(&id.to_be_bytes()),
                                output_tokens: 500,
                                runtime: Hash32::ZERO,
                            },
                        }),
                    ),
                    Proc::Cancel => (requester_of(id), CANCEL.number(), Amount::ZERO, jr()),
                    Proc::Decline => (
                        worker_of(id),
                        DECLINE.number(),
                        Amount::ZERO,
                        give_up("too slow"),
                    ),
                    Proc::Fail => (
                        worker_of(id),
                        FAIL.number(),
                        Amount::ZERO,
                        give_up("out of memory"),
                    ),
                    // A bond over what any job here needs (three replicas' rewards, at least
                    // the replica bond).
                    Proc::Dispute => (
                        requester_of(id),
                        CHALLENGE.number(),
                        Amount(1_000_000),
                        jr(),
                    ),
                    Proc::Resolve => (
                        RESOLVER,
                        FORCE_VERDICT.number(),
                        Amount::ZERO,
                        encode(&Resolve {
                            job_id: JobId(id),
                            worker_wins: id.is_multiple_of(2),
                        }),
                    ),
                    // Anyone may expire; a worker that never held the job does.
                    Proc::Expire => (worker_of(id), EXPIRE.number(), Amount::ZERO, jr()),
                };
                Transaction::call(who, JOB_REGISTRY, amount, tick, ty, input)
            })
            .collect()
    }

    /// The ledger just before a tick of `n` calls (`n` at most [`MAX_TICK`]): genesis,
    /// registered workers, and jobs brought one tick per step to where the calls apply.
    pub fn prepare(self, n: usize) -> Result<Ledger, String> {
        if n > MAX_TICK {
            return Err(format!("{n} calls do not fit in one tick"));
        }
        let expire = self == Proc::Expire;
        let mut l = genesis(if expire { 1 } else { 64 })?;
        register_workers(&mut l)?;
        let depth = self.depth();
        if depth >= 1 {
            let submit = |l: &Ledger, ids: std::ops::RangeInclusive<u64>, timeout: u32| {
                let tick = l.next_tick();
                ids.map(|id| submission_timing_out(id, tick, timeout))
                    .collect::<Vec<_>>()
            };
            if expire {
                // Jobs 1 and 2 a tick earlier, then the `n` expiring ones: all due at the
                // same tick, whose END_TICK expires job 1 (the oldest); the calls' tick's
                // END_TICK takes job 2, after the calls.
                let early = submit(&l, 1..=2, 2);
                run_tick(&mut l, early)?;
                let due = submit(&l, 3..=n as u64 + 2, 1);
                run_tick(&mut l, due)?;
                l.process_tick().map_err(|e| e.to_string())?;
            } else {
                let open = submit(&l, 1..=n as u64, 1_000_000);
                run_tick(&mut l, open)?;
            }
        }
        let steps = [Proc::Claim, Proc::Start, Proc::PostResult, Proc::Dispute];
        for (i, step) in steps.iter().enumerate() {
            if depth >= i as u8 + 2 {
                let calls = step.calls(n, l.next_tick());
                run_tick(&mut l, calls)?;
            }
        }
        Ok(l)
    }
}

/// The submission of job `id` (timeouts far away), for `tick`.
pub fn submission(id: u64, tick: Tick) -> Transaction {
    submission_timing_out(id, tick, 1_000_000)
}

/// The submission of job `id` for `tick`, timing out `timeout` ticks after it.
pub fn submission_timing_out(id: u64, tick: Tick, timeout: u32) -> Transaction {
    Transaction::call(
        requester_of(id),
        JOB_REGISTRY,
        ESCROW,
        tick,
        SUBMIT.number(),
        encode(&spec(id, timeout)),
    )
}

/// The state of the tick-cost comparison: genesis, registered workers and `jobs` open jobs
/// (4,096 submitted a tick, ids 1..=jobs, timeouts far away).
pub fn live_state(jobs: u64) -> Result<Ledger, String> {
    let mut l = genesis(64)?;
    register_workers(&mut l)?;
    let mut made = 0u64;
    while made < jobs {
        let batch = (jobs - made).min(MAX_TICK as u64);
        let tick = l.next_tick();
        for id in made + 1..=made + batch {
            l.submit_unsigned(submission(id, tick))
                .map_err(|e| e.to_string())?;
        }
        l.process_tick().map_err(|e| e.to_string())?;
        made += batch;
    }
    Ok(l)
}

/// A 4,096-call tick on a [`live_state`] of `jobs` jobs (at least 2,048): 1,024 plain
/// transfers between requesters, 1,024 submissions, 1,024 claims and 1,024 cancellations
/// of live jobs spread evenly over the whole id range.
pub fn mixed_tick(jobs: u64, tick: Tick) -> Vec<Transaction> {
    let mut out = Vec::with_capacity(MAX_TICK);
    for k in 0..1_024u32 {
        let from = requester(k % REQUESTERS);
        let to = requester((k + 1) % REQUESTERS);
        out.push(Transaction::new(
            from,
            to,
            Amount(1 + i64::from(k)),
            tick,
            0,
            vec![],
        ));
    }
    for k in 0..1_024u64 {
        let id = jobs + 1 + k;
        out.push(Transaction::call(
            requester_of(id),
            JOB_REGISTRY,
            ESCROW,
            tick,
            SUBMIT.number(),
            encode(&spec(id, 1_000_000)),
        ));
    }
    let step = (jobs / 2_048).max(1);
    for i in 0..2_048u64 {
        let id = 1 + i * step;
        let jr = encode(&JobRef { job_id: JobId(id) });
        let tx = if i % 2 == 0 {
            Transaction::call(
                worker_of(i / 2 + 1),
                JOB_REGISTRY,
                Amount::ZERO,
                tick,
                CLAIM.number(),
                jr,
            )
        } else {
            Transaction::call(
                requester_of(id),
                JOB_REGISTRY,
                Amount::ZERO,
                tick,
                CANCEL.number(),
                jr,
            )
        };
        out.push(tx);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every procedure's fixture builds, and every call of its tick executes (the benches
    /// time only ticks whose calls all execute).
    #[test]
    fn every_procedure_tick_executes() {
        for p in Proc::ALL {
            let mut l = p.prepare(4).unwrap_or_else(|e| panic!("{}: {e}", p.name()));
            let calls = p.calls(4, l.next_tick());
            run_tick(&mut l, calls).unwrap_or_else(|e| panic!("{}: {e}", p.name()));
        }
    }
}

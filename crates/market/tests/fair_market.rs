//! The fair-deadline rule: a requester cannot take an honest worker's stake.
//!
//! Before the rule, an assignment fixed a deadline the worker never agreed to (`timeout_ticks`
//! from the assignment): a requester could ask for more tokens than any worker can produce in
//! its timeout, wait for the automatic match, and collect half of the worker's slash (and,
//! calling EXPIRE itself, the challenger's fifth too) when the deadline passed. Now an
//! assignment is an offer: the worker starts it (accepting a delivery deadline it can check
//! against its own speed) or declines it for free; an offer left unanswered only costs a
//! little reputation.
//!
//! An honest worker here follows the daemon's rule: it starts an offer only when
//! `ceil(max_output_tokens / speed) + MARGIN <= timeout_ticks` (its speed in tokens per
//! tick), and declines it otherwise, answering in the tick after the offer (or, polling
//! less often, a tick or two later: well within `accept_ticks`); once started, it posts a
//! result of at most `max_output_tokens` tokens `ceil(tokens / speed)` ticks after the
//! start, always within the deadline it checked.
//!
//! - Scenarios: an infeasible job is declined and refunded (and a job every worker declines
//!   fails with a full refund), the worker's stake, balance and reputation untouched; an
//!   unanswered offer costs a little reputation, never stake; a requester's EXPIRE right
//!   after the job's timeout finds nothing to take.
//! - A property: whatever several requesters do (sizes, timeouts, prices, cancellations,
//!   EXPIRE calls as challengers, disputes in the window; the null resolver lets disputes
//!   time out), no honest worker's stake or stake-plus-balance ever goes down, no requester
//!   ever holds more than it started with (at the end: at most its start minus what it paid
//!   for delivered work and its fee), nothing is slashed, no check fails, and money is
//!   conserved. The honest workers also serve the replica seats the chain hands them, as the
//!   daemon does: spot checks and challenges of honest results pass.

mod marketplace_common;

use comqute_market::{JobId, WorkerId};
use std::collections::BTreeMap;

use comqute_ledger::{Ledger, Transaction, TxId};
use comqute_market::harness as invariants;
use comqute_market::job_registry::{
    GiveUp, Job, JobEvent, JobRef, JobResult, JobSpec, JobStatus, PostResult, CANCEL, CHALLENGE,
    DECLINE, EXPIRE, POST_RESULT, START, SUBMIT,
};
use comqute_market::verification::{
    commitment, Check, CheckPhase, CheckStats, Commit, JobRef as VJobRef, Reveal, Seat, SeatState,
    Vote, ASSIGNMENTS, COMMIT, GET_CHECK, REVEAL, STATS,
};
use comqute_market::worker_registry::{Heartbeat, SetAvailable, HEARTBEAT, SET_AVAILABLE};
use comqute_market::{MarketConfig, JOB_REGISTRY, VERIFICATION, WORKER_REGISTRY};
use comqute_qpi::contract::encode;
use comqute_qpi::{Amount, ContractIndex, Hash32, Identity, Tick};
use marketplace_common::*;
use proptest::prelude::*;

/// Ticks of slack the daemon keeps between its own estimate and the timeout.
const MARGIN: u32 = 1;

/// The daemon's rule: the job's `max_output_tokens` at `speed` tokens a tick, plus the
/// margin, fit in its timeout.
fn feasible(spec: &JobSpec, speed: u32) -> bool {
    spec.max_output_tokens.div_ceil(speed) + MARGIN <= spec.timeout_ticks
}

/// Ticks an honest worker at `speed` needs for `tokens` tokens.
fn ticks_for(tokens: u32, speed: u32) -> u32 {
    tokens.div_ceil(speed)
}

fn stake_of(m: &Market, who: &Identity) -> Amount {
    m.try_worker(who).expect("registered").worker.stake
}

/// The worker's stake, balance and reputation.
fn standing(m: &Market, who: &comqute_ledger::Keypair) -> (Amount, i64, u16) {
    let w = m.worker(who).worker;
    (w.stake, m.balance(who), w.reputation)
}

// --- scenarios ------------------------------------------------------------------------------

/// A requester asks for 500 tokens within 3 ticks; the worker, at 100 tokens a tick, needs
/// 5 (plus its margin): it declines. Before the rule it had no way out: the job expired on
/// it and it lost 5,000 of stake, 2,500 of which went to the requester.
#[test]
fn an_infeasible_job_is_declined_for_free_and_the_requester_only_gets_its_escrow_back() {
    let mut m = Market::new(&["alice", "walt", "rex"], "rex");
    let (alice, walt) = (key("alice"), key("walt"));
    let speed = 100;
    m.available_worker(&walt, 1_000, 2);
    let walt_before = standing(&m, &walt);
    let burned = m.ledger.supply().burned;

    let job_spec = spec(llama(), 500, 3_000, 3);
    let id = m.submit(&alice, &job_spec, 1_500);
    let job = m.job(id);
    assert_eq!(
        (job.status, job.worker),
        (JobStatus::Assigned, Some(WorkerId(walt.identity()))),
        "matched at END_TICK: an offer"
    );
    assert!(
        !feasible(&job.spec, speed),
        "500 tokens at 100 a tick need 5 + 1 ticks > 3"
    );
    let r = m.decline(
        &walt,
        id,
        "500 tokens at 100 tokens a tick need 6 ticks, the job gives 3",
    );
    assert_executed(&r);
    // Reopened for other workers; there are none: it expires, refunded, nobody slashed.
    let job = m.job(id);
    assert_eq!(
        (job.status, job.excluded.clone()),
        (JobStatus::Open, vec![WorkerId(walt.identity())])
    );
    m.warp_to(job.deadline.expect("reopened with an expiry").plus(1));
    let job = m.job(id);
    assert_eq!(job.status, JobStatus::Expired);
    assert_eq!(
        (job.refunded, job.paid, job.slashed),
        (Amount(1_500), Amount::ZERO, Amount::ZERO)
    );
    assert!(
        job.reason.as_deref().unwrap_or("").contains("need 6 ticks"),
        "{job:?}"
    );

    assert_eq!(
        standing(&m, &walt),
        walt_before,
        "stake, balance and reputation untouched"
    );
    assert_eq!(m.worker(&walt).worker.jobs_declined, 1);
    assert_eq!(
        m.balance(&alice),
        START_BALANCE,
        "exactly the escrow back, no gain"
    );
    assert_eq!(m.ledger.supply().burned, burned);
    assert_eq!(m.stats().jobs.total_slashed, Amount::ZERO);
    m.assert_money();
}

/// The same infeasible job offered to every worker in turn: each declines, and after the
/// third it ends Failed with a full refund. Nobody loses anything; the requester gains
/// nothing.
#[test]
fn a_job_every_worker_declines_fails_with_a_full_refund_and_costs_no_worker_anything() {
    let names = ["alice", "walt", "wendy", "wes", "rex"];
    let mut m = Market::new(&names, "rex");
    let alice = key("alice");
    let workers = [key("walt"), key("wendy"), key("wes")];
    let speeds = [100u32, 150, 120];
    for (i, w) in workers.iter().enumerate() {
        m.available_worker(w, 1_000 + 100 * i as i64, 1);
    }
    let before: Vec<_> = workers.iter().map(|w| standing(&m, w)).collect();

    let id = m.submit(&alice, &spec(llama(), 500, 3_000, 3), 1_600);
    for _ in 0..3 {
        let job = m.job(id);
        assert_eq!(job.status, JobStatus::Assigned, "{job:?}");
        let i = workers
            .iter()
            .position(|w| Some(w.identity()) == job.worker.map(|w| w.0))
            .expect("offered to one of the workers");
        assert!(!feasible(&job.spec, speeds[i]));
        assert_executed(&m.decline(&workers[i], id, "too slow for this timeout"));
    }
    let job = m.job(id);
    assert_eq!(
        (job.status, job.refunded, job.paid, job.slashed),
        (JobStatus::Failed, Amount(1_600), Amount::ZERO, Amount::ZERO)
    );
    assert_eq!(job.excluded.len(), 3);
    for (w, b) in workers.iter().zip(&before) {
        assert_eq!(standing(&m, w), *b);
    }
    assert_eq!(m.balance(&alice), START_BALANCE);
    m.assert_money();
}

/// A worker whose daemon is down never answers its offer: the offer lapses, the worker
/// loses `reputation_loss_no_answer` and keeps its whole stake (before the rule: slashed
/// 5,000 when the job's timeout passed, 2,500 of it to the requester).
#[test]
fn a_worker_that_never_answers_its_offer_is_not_slashed() {
    let mut m = Market::new(&["alice", "walt", "rex"], "rex");
    let (alice, walt) = (key("alice"), key("walt"));
    m.available_worker(&walt, 1_000, 1);
    let (stake, balance, reputation) = standing(&m, &walt);
    let burned = m.ledger.supply().burned;

    let id = m.submit(&alice, &spec(llama(), 500, 3_000, 3), 1_500);
    assert_eq!(m.job(id).worker, Some(WorkerId(walt.identity())));
    // Long past the job's timeout, the offer's answer deadline and the reopened expiry.
    m.advance(m.config.jobs.accept_ticks + 3 * 3 + 10);
    let job = m.job(id);
    assert_eq!(job.status, JobStatus::Expired, "{job:?}");
    assert_eq!((job.refunded, job.slashed), (Amount(1_500), Amount::ZERO));
    let w = m.worker(&walt).worker;
    assert_eq!(w.stake, stake, "no stake lost for an offer never accepted");
    assert_eq!(m.balance(&walt), balance);
    assert_eq!(
        w.reputation,
        reputation - m.config.workers.reputation_loss_no_answer,
        "only the small no-answer loss"
    );
    assert_eq!((w.jobs_expired, w.total_slashed), (0, Amount::ZERO));
    assert_eq!(
        m.balance(&alice),
        START_BALANCE,
        "the requester gains nothing"
    );
    assert_eq!(m.ledger.supply().burned, burned);
    assert!(job_events(&m.ledger).iter().any(|e| matches!(
        e,
        JobEvent::Declined {
            answered: false,
            ..
        }
    )));
    m.assert_money();
}

/// The requester calls EXPIRE itself, as challenger, right after its job's timeout, before
/// the worker answered: under the old rule the assignment's deadline had passed and the
/// requester took 70 % of the slash; now the offer's answer deadline has not passed.
#[test]
fn a_requester_expiring_an_offer_after_its_timeout_takes_nothing() {
    let cfg = MarketConfig {
        jobs: comqute_market::job_registry::JobConfig {
            accept_ticks: 10,
            ..config(key("rex").identity()).jobs
        },
        ..config(key("rex").identity())
    };
    let mut m = Market::with_config(&["alice", "walt", "rex"], cfg);
    let (alice, walt) = (key("alice"), key("walt"));
    m.available_worker(&walt, 1_000, 1);
    let before = standing(&m, &walt);
    let id = m.submit(&alice, &spec(llama(), 500, 3_000, 2), 1_500);
    let assigned = m.job(id).assigned_at.expect("offered");
    m.warp_to(assigned.plus(3));
    assert_rejected(&m.expire(&alice, id), "DeadlineNotPassed");
    assert_eq!(m.job(id).status, JobStatus::Assigned);
    // The daemon, back, declines; the requester's later EXPIRE calls find an open job
    // whose expiry has not passed, then an expired one.
    assert_executed(&m.decline(&walt, id, "needs 6 ticks"));
    assert_rejected(&m.expire(&alice, id), "DeadlineNotPassed");
    m.advance(5);
    assert_rejected(&m.expire(&alice, id), "WrongStatus");
    assert_eq!(m.job(id).status, JobStatus::Expired);
    assert_eq!(standing(&m, &walt), before);
    assert_eq!(m.balance(&alice), START_BALANCE);
    m.assert_money();
}

fn job_events(l: &Ledger) -> Vec<JobEvent> {
    use borsh::BorshDeserialize;
    l.events()
        .iter()
        .filter(|e| e.contract == JOB_REGISTRY)
        .map(|e| JobEvent::try_from_slice(&e.data).expect("job event"))
        .collect()
}

// --- the property ------------------------------------------------------------------------

const REQUESTERS: [&str; 3] = ["reqa", "reqb", "reqc"];
const WORKERS: [&str; 4] = ["wka", "wkb", "wkc", "wkd"];
const ROGUE: &str = "rogue";
/// Requesters act in ticks `0..ACT_TICKS` after the workers are set up.
const ACT_TICKS: u16 = 120;
/// An honest daemon heartbeats this often (the window is longer).
const HEARTBEAT_EVERY: u32 = 40;

/// What a requester does at a tick.
#[derive(Debug, Clone)]
enum ReqAct {
    /// Submits a job.
    Submit {
        max_tokens: u16,
        timeout: u16,
        max_price: u16,
        extra: u16,
    },
    /// Cancels one of its jobs (refused unless open).
    Cancel { pick: u8 },
    /// EXPIREs one of its jobs, as challenger (refused unless past its deadline).
    Expire { pick: u8 },
    /// Disputes one of its completed jobs, inside the window (the null resolver never
    /// rules: the dispute times out).
    Dispute { pick: u8 },
}

/// An honest worker: speed in tokens per tick, price per 1k, slots, and how many ticks
/// after an offer its daemon answers (1: the next tick).
#[derive(Debug, Clone)]
struct HonestWorker {
    speed: u16,
    price: u16,
    slots: u8,
    answers_after: u8,
}

#[derive(Debug, Clone)]
struct Case {
    workers: Vec<HonestWorker>,
    requesters: usize,
    /// (tick offset, requester, action).
    acts: Vec<(u16, u8, ReqAct)>,
    /// Picks the output sizes.
    output_seed: u64,
    /// A rogue replica: a registered worker that takes no jobs but votes against every
    /// result it is seated to check (a requester's accomplice).
    rogue: bool,
}

fn req_act() -> impl Strategy<Value = ReqAct> {
    prop_oneof![
        // Timeouts often short, so that many jobs do not fit some worker's speed.
        6 => (1u16..2_000, prop_oneof![1u16..20, 1u16..300], 1u16..3_000, 0u16..300).prop_map(
            |(max_tokens, timeout, max_price, extra)| ReqAct::Submit { max_tokens, timeout, max_price, extra }
        ),
        1 => any::<u8>().prop_map(|pick| ReqAct::Cancel { pick }),
        2 => any::<u8>().prop_map(|pick| ReqAct::Expire { pick }),
        2 => any::<u8>().prop_map(|pick| ReqAct::Dispute { pick }),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec(
            (
                1u16..200,
                100u16..1_500,
                1u8..4,
                prop_oneof![3 => Just(1u8), 1 => 2u8..4],
            )
                .prop_map(|(speed, price, slots, answers_after)| HonestWorker {
                    speed,
                    price,
                    slots,
                    answers_after,
                }),
            2..=4,
        ),
        1usize..=3,
        prop::collection::vec((0..ACT_TICKS, 0u8..3, req_act()), 1..40),
        any::<u64>(),
        any::<bool>(),
    )
        .prop_map(|(workers, requesters, acts, output_seed, rogue)| Case {
            workers,
            requesters,
            acts,
            output_seed,
            rogue,
        })
}

/// The market of the property: the default settings (the null resolver: disputes end by
/// timeout), with short challenge and dispute windows so a case settles in a few hundred
/// ticks, and timeouts up to 300.
fn fair_config() -> MarketConfig {
    MarketConfig {
        jobs: comqute_market::job_registry::JobConfig {
            challenge_window: 10,
            check_timeout_ticks: 200,
            max_timeout_ticks: 300,
            ..MarketConfig::default().jobs
        },
        ..MarketConfig::default()
    }
}

/// The run: the ledger, who is who, the honest workers' plans.
struct Run {
    m: Market,
    workers: Vec<(Identity, HonestWorker, u64)>,
    requesters: Vec<Identity>,
    /// job → (tick to post, tokens, worker index).
    posts: BTreeMap<u64, (Tick, u32, usize)>,
    /// Worker index → next heartbeat tick.
    heartbeats: Vec<Tick>,
    /// The honest workers' transactions, each must execute.
    honest_txs: Vec<(TxId, String)>,
    nonce: u64,
    /// The rogue replica, if the case has one.
    rogue: Option<Identity>,
}

impl Run {
    /// Queues a call for the next tick, unsigned (a refusal at admission, such as a
    /// duplicate, is part of a requester's game).
    fn queue(
        &mut self,
        who: Identity,
        contract: ContractIndex,
        procedure: u16,
        input: Vec<u8>,
        amount: i64,
    ) -> Option<TxId> {
        let tick = self.m.ledger.next_tick();
        let tx = Transaction::call(who, contract, Amount(amount), tick, procedure, input);
        self.m.ledger.submit_unsigned(tx).ok()
    }

    /// Queues an honest worker's call; it must be admitted and executed.
    fn honest(
        &mut self,
        who: Identity,
        contract: ContractIndex,
        procedure: u16,
        input: Vec<u8>,
        what: String,
    ) {
        let id = self
            .queue(who, contract, procedure, input, 0)
            .unwrap_or_else(|| panic!("the honest worker's {what} was refused at admission"));
        self.honest_txs.push((id, what));
    }

    /// The honest workers' moves for the next tick: answer offers (start what fits, decline
    /// the rest), post due results, heartbeat.
    fn workers_act(&mut self, output_seed: u64) {
        let now = self.m.ledger.next_tick();
        let offers = self.m.jobs_in(JobStatus::Assigned);
        for job in offers {
            let Some(i) = self
                .workers
                .iter()
                .position(|w| Some(w.0) == job.worker.map(|w| w.0))
            else {
                continue;
            };
            let (who, w, _) = self.workers[i].clone();
            let offered = job.assigned_at.expect("an offer has its tick");
            if now < offered.plus(u32::from(w.answers_after)) {
                continue;
            }
            let speed = u32::from(w.speed);
            if feasible(&job.spec, speed) {
                // Output of at most the maximum, from the case's seed.
                let max = job.spec.max_output_tokens;
                let h = Hash32::of(&[output_seed.to_le_bytes(), job.id.0.to_le_bytes()].concat());
                let tokens = 1 + (u32::from_le_bytes([h.0[0], h.0[1], h.0[2], h.0[3]]) % max);
                let at = now.plus(ticks_for(tokens, speed));
                assert!(
                    at <= now.plus(job.spec.timeout_ticks),
                    "the daemon's plan fits"
                );
                self.posts.insert(job.id.0, (at, tokens, i));
                let input = encode(&JobRef { job_id: job.id });
                self.honest(
                    who,
                    JOB_REGISTRY,
                    START.number(),
                    input,
                    format!("start {}", job.id),
                );
            } else {
                let g = GiveUp {
                    job_id: job.id,
                    reason: format!(
                        "{} tokens at {speed} a tick need {} ticks, the timeout is {}",
                        job.spec.max_output_tokens,
                        ticks_for(job.spec.max_output_tokens, speed) + MARGIN,
                        job.spec.timeout_ticks
                    ),
                };
                self.honest(
                    who,
                    JOB_REGISTRY,
                    DECLINE.number(),
                    encode(&g),
                    format!("decline {}", job.id),
                );
            }
        }
        let due: Vec<(u64, u32, usize)> = self
            .posts
            .iter()
            .filter(|(_, (at, _, _))| *at == now)
            .map(|(id, (_, tokens, i))| (*id, *tokens, *i))
            .collect();
        for (job_id, tokens, i) in due {
            self.posts.remove(&job_id);
            let post = PostResult {
                job_id: JobId(job_id),
                result: JobResult {
                    result_hash: Hash32::of(&job_id.to_le_bytes()),
                    output_tokens: tokens,
                    runtime: Hash32::ZERO,
                },
            };
            let who = self.workers[i].0;
            self.honest(
                who,
                JOB_REGISTRY,
                POST_RESULT.number(),
                encode(&post),
                format!("post {job_id}"),
            );
        }
        // Replica duty, as the daemon does it: re-run the job (here: the honest output's
        // hash, the same for every honest worker), commit with the bond, reveal once reveals
        // open.
        let bond = self.m.config.verification.replica_bond;
        for i in 0..self.workers.len() {
            let who = self.workers[i].0;
            let seats: Vec<Seat> = self
                .m
                .ledger
                .query_fn(ASSIGNMENTS, &WorkerId(who))
                .expect("assignments");
            for seat in seats {
                let vote = Vote::Reproduced {
                    result_hash: Hash32::of(&seat.job_id.0.to_le_bytes()),
                };
                let salt = Hash32::of(&[seat.job_id.0.to_le_bytes(), [i as u8; 8]].concat());
                let what = format!("replica {i} on job {}", seat.job_id);
                match seat.state {
                    SeatState::Assigned => {
                        let c = Commit {
                            job_id: seat.job_id,
                            commitment: commitment(&vote, &salt, &who, seat.job_id),
                        };
                        let id = self
                            .queue(who, VERIFICATION, COMMIT.number(), encode(&c), bond.0)
                            .expect("a commit is admitted");
                        self.honest_txs.push((id, what));
                    }
                    _ => {
                        let check: Check = self
                            .m
                            .ledger
                            .query_fn(
                                GET_CHECK,
                                &VJobRef {
                                    job_id: seat.job_id,
                                },
                            )
                            .expect("check")
                            .expect("a seat's check exists");
                        if check.phase == CheckPhase::Reveal {
                            let r = Reveal {
                                job_id: seat.job_id,
                                vote,
                                salt,
                            };
                            self.honest(who, VERIFICATION, REVEAL.number(), encode(&r), what);
                        }
                    }
                }
            }
        }
        // The rogue replica: a lie on every seat, revealed as soon as reveals open; a
        // heartbeat now and then to stay online (so it is drawn).
        if let Some(rogue) = self.rogue {
            if now.0.is_multiple_of(HEARTBEAT_EVERY) {
                self.queue(
                    rogue,
                    WORKER_REGISTRY,
                    HEARTBEAT.number(),
                    encode(&Heartbeat::default()),
                    0,
                );
            }
            let seats: Vec<Seat> = self
                .m
                .ledger
                .query_fn(ASSIGNMENTS, &WorkerId(rogue))
                .expect("assignments");
            for seat in seats {
                let vote = Vote::Reproduced {
                    result_hash: Hash32::of(b"not what the worker posted"),
                };
                let salt = Hash32::of(&seat.job_id.0.to_le_bytes());
                match seat.state {
                    SeatState::Assigned => {
                        let c = Commit {
                            job_id: seat.job_id,
                            commitment: commitment(&vote, &salt, &rogue, seat.job_id),
                        };
                        self.queue(rogue, VERIFICATION, COMMIT.number(), encode(&c), bond.0);
                    }
                    _ => {
                        let r = Reveal {
                            job_id: seat.job_id,
                            vote,
                            salt,
                        };
                        self.queue(rogue, VERIFICATION, REVEAL.number(), encode(&r), 0);
                    }
                }
            }
        }
        for i in 0..self.workers.len() {
            if self.heartbeats[i] <= now {
                self.heartbeats[i] = now.plus(HEARTBEAT_EVERY);
                let hb = Heartbeat {
                    session: self.workers[i].2,
                    takeover: false,
                };
                let who = self.workers[i].0;
                let what = format!("heartbeat of worker {i}");
                self.honest(who, WORKER_REGISTRY, HEARTBEAT.number(), encode(&hb), what);
            }
        }
    }

    /// A requester's own jobs, by id.
    fn jobs_of(&self, who: &Identity) -> Vec<Job> {
        all_jobs(&self.m.ledger)
            .into_iter()
            .filter(|j| j.requester == *who)
            .collect()
    }

    fn requester_acts(&mut self, who: usize, act: &ReqAct) {
        let id = self.requesters[who];
        let pick = |jobs: &[Job], pick: u8| -> Option<u64> {
            ((!jobs.is_empty()).then(|| jobs[usize::from(pick) % jobs.len()].id)).map(|j| j.0)
        };
        match *act {
            ReqAct::Submit {
                max_tokens,
                timeout,
                max_price,
                extra,
            } => {
                self.nonce += 1;
                let mut s = spec(
                    llama(),
                    u32::from(max_tokens),
                    i64::from(max_price),
                    u32::from(timeout),
                );
                s.sampling.seed = self.nonce;
                let need = (i64::from(max_tokens) * i64::from(max_price) / 1_000).max(1);
                self.queue(
                    id,
                    JOB_REGISTRY,
                    SUBMIT.number(),
                    encode(&s),
                    need + i64::from(extra),
                );
            }
            ReqAct::Cancel { pick: p } => {
                if let Some(job_id) = pick(&self.jobs_of(&id), p) {
                    self.queue(
                        id,
                        JOB_REGISTRY,
                        CANCEL.number(),
                        encode(&JobRef {
                            job_id: JobId(job_id),
                        }),
                        0,
                    );
                }
            }
            ReqAct::Expire { pick: p } => {
                if let Some(job_id) = pick(&self.jobs_of(&id), p) {
                    self.queue(
                        id,
                        JOB_REGISTRY,
                        EXPIRE.number(),
                        encode(&JobRef {
                            job_id: JobId(job_id),
                        }),
                        0,
                    );
                }
            }
            ReqAct::Dispute { pick: p } => {
                let done: Vec<Job> = self
                    .jobs_of(&id)
                    .into_iter()
                    .filter(|j| j.status == JobStatus::Completed)
                    .collect();
                if let Some(job_id) = pick(&done, p) {
                    let job = self.m.job(job_id);
                    let pay = job.result.map_or(Amount::ZERO, |r| {
                        comqute_market::payment(r.output_tokens, job.price_per_1k, job.escrow)
                    });
                    let bond = self.m.config.verification.challenge_bond(pay);
                    self.queue(
                        id,
                        JOB_REGISTRY,
                        CHALLENGE.number(),
                        encode(&JobRef {
                            job_id: JobId(job_id),
                        }),
                        bond.0,
                    );
                }
            }
        }
    }
}

/// Every honest worker's (stake, balance + stake + replica bonds held, reputation).
fn worker_books(run: &Run) -> Vec<(i64, i64, u16)> {
    run.workers
        .iter()
        .map(|(id, _, _)| {
            let w = run.m.try_worker(id).expect("registered").worker;
            let balance = run.m.ledger.balance(id).0;
            (
                w.stake.0,
                balance + w.stake.0 + bonds_held(&run.m, id),
                w.reputation,
            )
        })
        .collect()
}

/// The replica bonds `who` has in checks not settled yet.
fn bonds_held(m: &Market, who: &Identity) -> i64 {
    all_jobs(&m.ledger)
        .iter()
        .filter(|j| j.checked)
        .filter_map(|j| {
            m.ledger
                .query_fn(GET_CHECK, &VJobRef { job_id: j.id })
                .expect("check")
        })
        .filter(|c: &Check| c.phase != CheckPhase::Settled)
        .flat_map(|c| c.seats)
        .filter(|s| s.replica.0 == *who)
        .map(|s| s.bond.0)
        .sum()
}

fn play_case(case: &Case) -> Result<(), TestCaseError> {
    let mut names: Vec<&str> = REQUESTERS[..case.requesters].to_vec();
    names.extend(&WORKERS[..case.workers.len()]);
    names.push(ROGUE);
    let mut m = Market::with_config(&names, fair_config());
    let slowest = case
        .workers
        .iter()
        .map(|w| u32::from(w.answers_after))
        .max();
    prop_assert!(
        slowest <= Some(m.config.jobs.accept_ticks),
        "honest daemons answer in time"
    );
    let mut workers = Vec::new();
    for (i, w) in case.workers.iter().enumerate() {
        let k = key(WORKERS[i]);
        let stake = m.config.workers.min_stake.0;
        m.register(
            &k,
            stake,
            caps(&[LLAMA], i64::from(w.price), u16::from(w.slots)),
        );
        // Each daemon has its own session.
        let session = 1 + i as u64;
        let r = m.send(
            &k,
            WORKER_REGISTRY,
            SET_AVAILABLE.number(),
            &SetAvailable {
                available: true,
                session,
            },
            0,
        );
        assert_executed(&r);
        workers.push((k.identity(), w.clone(), session));
    }
    let requesters: Vec<Identity> = REQUESTERS[..case.requesters]
        .iter()
        .map(|n| key(n).identity())
        .collect();
    let start = m.ledger.next_tick();
    let heartbeats = vec![start.plus(HEARTBEAT_EVERY); workers.len()];
    let mut run = Run {
        m,
        workers,
        requesters,
        posts: BTreeMap::new(),
        heartbeats,
        honest_txs: Vec::new(),
        nonce: 0,
        rogue: None,
    };
    if case.rogue {
        // Never matched (its price is over every requester's ceiling), never available:
        // it only sits in checks, online by its heartbeats.
        let k = key(ROGUE);
        let stake = run.m.config.workers.min_stake.0;
        run.m.register(&k, stake, caps(&[LLAMA], 1_000_000, 1));
        run.rogue = Some(k.identity());
    }
    let burned = run.m.ledger.supply().burned;
    let initial = worker_books(&run);
    let mut books = initial.clone();
    let mut acts: BTreeMap<Tick, Vec<(usize, ReqAct)>> = BTreeMap::new();
    for (at, who, act) in &case.acts {
        acts.entry(start.plus(u32::from(*at)))
            .or_default()
            .push((usize::from(*who) % case.requesters, act.clone()));
    }
    let last_act = start.plus(u32::from(ACT_TICKS));
    // Long enough for any job to settle: the last offers, a 300-tick timeout, the windows.
    let give_up_at = last_act.plus(3 * (run.m.config.jobs.accept_ticks + 300) + 100);
    loop {
        let now = run.m.ledger.next_tick();
        run.workers_act(case.output_seed);
        for (who, act) in acts.remove(&now).unwrap_or_default() {
            run.requester_acts(who, &act);
        }
        run.m.tick();
        for (id, what) in run.honest_txs.drain(..) {
            let r = run.m.ledger.receipt(&id).expect("processed");
            prop_assert!(r.is_executed(), "the honest worker's {what} failed:\n{r}");
        }
        let busy = run.m.ledger.events().last().is_some_and(|e| e.tick == now);
        if busy {
            check_money(&run.m.ledger).map_err(TestCaseError::fail)?;
            invariants::slashes_only_for_accepted_deadlines(&run.m.ledger)
                .map_err(TestCaseError::fail)?;
            let now_books = worker_books(&run);
            for (i, (was, is)) in books.iter().zip(&now_books).enumerate() {
                prop_assert!(
                    is.0 >= was.0,
                    "worker {i}'s stake went down: {was:?} -> {is:?}"
                );
                prop_assert!(
                    is.1 >= was.1,
                    "worker {i}'s balance + stake went down: {was:?} -> {is:?}"
                );
                prop_assert!(
                    is.2 >= was.2,
                    "worker {i}'s reputation went down: {was:?} -> {is:?}"
                );
            }
            books = now_books;
            for r in &run.requesters {
                let b = run.m.ledger.balance(r).0;
                prop_assert!(
                    b <= START_BALANCE,
                    "a requester holds {b}, more than it started with"
                );
            }
        }
        let counts = run.m.stats().jobs;
        let live = JobStatus::ALL
            .iter()
            .any(|s| !s.is_terminal() && counts.count(*s) > 0);
        if now >= last_act && !live {
            break;
        }
        prop_assert!(now < give_up_at, "jobs still live at tick {now}");
    }
    // Settled: every requester paid at least for the work delivered to it (the price with
    // its verification fee; a challenge of an honest result also costs its bond), never a
    // slash share; every worker kept its stake and was paid for its results (and maybe more:
    // replica rewards, a lost challenge's bond); nothing slashed, nothing burned but a
    // split's remainders.
    let jobs = all_jobs(&run.m.ledger);
    for r in &run.requesters {
        let paid: i64 = jobs
            .iter()
            .filter(|j| j.requester == *r)
            .map(|j| j.paid.0 + j.fee.0)
            .sum();
        prop_assert!(run.m.ledger.balance(r).0 <= START_BALANCE - paid);
    }
    for (i, (id, _, _)) in run.workers.iter().enumerate() {
        let earned: i64 = jobs
            .iter()
            .filter(|j| j.worker == Some(WorkerId(*id)))
            .map(|j| j.paid.0)
            .sum();
        let w = run.m.try_worker(id).expect("registered").worker;
        prop_assert_eq!(w.stake.0, initial[i].0, "worker {}'s stake", i);
        prop_assert!(stake_of(&run.m, id).0 + run.m.ledger.balance(id).0 >= initial[i].1 + earned);
        prop_assert_eq!(
            (w.jobs_expired, w.jobs_failed, w.total_slashed),
            (0, 0, Amount::ZERO)
        );
    }
    // No strategy, a rogue replica's included, keeps an honest worker from its pay: every
    // result the honest workers posted ended Finalized, paid.
    for j in &jobs {
        if j.result.is_some() {
            prop_assert_eq!(
                j.status,
                JobStatus::Finalized,
                "an honest result went unpaid: {:?}",
                j
            );
            prop_assert!(j.verdict != Some(comqute_market::verification::VerdictKind::Failed));
        }
    }
    let s = run.m.stats();
    prop_assert_eq!(s.jobs.total_slashed, Amount::ZERO);
    prop_assert_eq!(s.jobs.total_escrowed, Amount::ZERO);
    let checks: CheckStats = run.m.ledger.query_fn(STATS, &()).expect("check stats");
    prop_assert_eq!(
        run.m.ledger.supply().burned,
        burned + i128::from(checks.burned.0)
    );
    prop_assert_eq!(checks.failed, 0);
    check_money(&run.m.ledger).map_err(TestCaseError::fail)?;
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, max_shrink_iters: 200, ..ProptestConfig::default() })]

    /// No requester strategy gains money from a worker that follows the daemon's rules:
    /// honest workers' stakes, stake-plus-balance and reputations never go down; no requester
    /// ever holds more than it started with; money is conserved and nothing is slashed.
    #[test]
    fn no_requester_strategy_gains_money_from_a_worker_that_follows_the_daemons_rules(case in case()) {
        play_case(&case)?;
    }
}

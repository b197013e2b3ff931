//! Every path of the marketplace's job state machine, played with signed transactions on the
//! ledger: happy path (matched and claimed), cancel, expiry with and without a worker (only
//! a started job's worker is slashed), offers declined, left unanswered and turned down by
//! three workers, failure and reopen, disputes won, lost and timed out, wrong callers on
//! every procedure,
//! insufficient escrow, unknown jobs, double results, results after expiry, unbonding with
//! jobs held, withdrawal after unbonding, slashing under the minimum stake, offline workers,
//! bounded END_TICK work that carries over, and the functions.

mod marketplace_common;

use borsh::BorshDeserialize;
use comqute_ledger::Event;
use comqute_market::escrow::{
    self, EscrowEvent, EscrowState, JobEscrow, LockJob, LockStake, RefundJob, ReleaseJob,
    ReturnStake, SlashStake,
};
use comqute_market::job_registry::{
    EscrowQuote, JobEvent, JobPage, JobRef, JobStatus, JobsByRequester, JobsByWorker, PostResult,
    JOBS_BY_REQUESTER, JOBS_BY_WORKER, JOB_ESCROW, MAX_REASON, POST_RESULT, QUOTE, SUBMIT,
};
use comqute_market::worker_registry::{
    self, Assign, Heartbeat, Outcome, Release, SetAvailable, WorkerEvent, WorkerPage, WorkerStatus,
    WorkersByModel, ASSIGN, RELEASE, SET_AVAILABLE, TOP_UP, UNBOND, UPDATE, WITHDRAW,
    WORKERS_BY_MODEL,
};
use comqute_market::{JobId, WorkerId};
use comqute_market::{MarketConfig, ESCROW, JOB_REGISTRY, WORKER_REGISTRY};
use comqute_qpi::{Amount, Hash32, Identity, Tick};
use marketplace_common::*;

const CAST: &[&str] = &[
    "alice", "bob", "walt", "wendy", "rex", "mallory", "rita", "ravi",
];

/// A llama job spec with a distinct sampling seed, so identical submissions in one tick are
/// distinct transactions (there are no nonces).
fn seeded(i: u64, timeout: u32) -> comqute_market::job_registry::JobSpec {
    let mut s = spec(llama(), 1_000, 3_000, timeout);
    s.sampling.seed = i;
    s
}

fn market() -> Market {
    Market::new(CAST, "rex")
}

fn job_events<E: std::borrow::Borrow<Event>>(events: impl IntoIterator<Item = E>) -> Vec<JobEvent> {
    events
        .into_iter()
        .filter(|e| e.borrow().contract == JOB_REGISTRY)
        .map(|e| JobEvent::try_from_slice(&e.borrow().data).expect("job event decodes"))
        .collect()
}

fn events_at(m: &Market, tick: Tick) -> Vec<Event> {
    m.ledger
        .events()
        .iter()
        .filter(|e| e.tick == tick)
        .collect()
}

#[test]
fn happy_path_matched_at_end_tick_then_finalized_after_the_window() {
    let mut m = market();
    let (alice, walt) = (key("alice"), key("walt"));
    m.available_worker(&walt, 2_000, 1);
    let walt_before = m.balance(&walt);

    let id = m.submit(&alice, &spec(llama(), 1_000, 3_000, 20), 3_000);
    let submit_tick = Tick(m.ledger.next_tick().0 - 1);
    // Matched at the END_TICK of the submission tick: an offer to answer within
    // `accept_ticks`.
    let job = m.job(id);
    assert_eq!(job.status, JobStatus::Assigned);
    assert_eq!(job.worker, Some(WorkerId(walt.identity())));
    assert_eq!(job.price_per_1k, Amount(2_000));
    assert_eq!(
        job.deadline,
        Some(submit_tick.plus(m.config.jobs.accept_ticks))
    );
    let evs = job_events(events_at(&m, submit_tick));
    assert!(
        matches!(evs[0], JobEvent::Submitted { job_id, escrow: Amount(3_000), .. } if job_id == id)
    );
    assert!(matches!(evs[1], JobEvent::Assigned { claimed: false, .. }));
    assert_eq!(m.worker(&walt).worker.active_jobs, 1);

    // Starting accepts the delivery deadline: the full timeout from the start.
    let r = m.start(&walt, id);
    assert_executed(&r);
    assert_eq!(m.job(id).status, JobStatus::Running);
    assert_eq!(m.job(id).deadline, Some(r.tick.plus(20)));
    assert_eq!(
        job_events(&r.events),
        vec![JobEvent::Started {
            job_id: JobId(id),
            worker: WorkerId(walt.identity()),
            deadline: r.tick.plus(20)
        }]
    );
    let r = m.post(&walt, id, 600);
    assert_executed(&r);
    let job = m.job(id);
    assert_eq!(job.status, JobStatus::Completed);
    assert_eq!(job.result, Some(result(600)));
    let ends = r.tick.plus(m.config.jobs.challenge_window);
    assert_eq!(job.deadline, Some(ends));
    let w = m.worker(&walt).worker;
    assert_eq!((w.active_jobs, w.settling_jobs), (0, 1));

    // Still in the window at its last tick; finalized by that tick's END_TICK.
    m.warp_to(ends);
    assert_eq!(m.job(id).status, JobStatus::Completed);
    m.tick();
    let job = m.job(id);
    assert_eq!(job.status, JobStatus::Finalized);
    assert_eq!(job.paid, Amount(1_200), "600 tokens × 2,000 / 1,000");
    assert_eq!(job.refunded, Amount(1_800));
    assert_eq!(job.closed_at, Some(ends));
    assert!(job_events(events_at(&m, ends)).iter().any(|e| matches!(
        e,
        JobEvent::Finalized {
            paid: Amount(1_200),
            refunded: Amount(1_800),
            ..
        }
    )));

    assert_eq!(m.balance(&alice), START_BALANCE - 3_000 + 1_800);
    assert_eq!(m.balance(&walt), walt_before + 1_200);
    let w = m.worker(&walt).worker;
    assert_eq!(w.reputation, 5_100);
    assert_eq!(
        (w.active_jobs, w.settling_jobs, w.jobs_completed),
        (0, 0, 1)
    );
    let s = m.stats();
    assert_eq!(s.jobs.count(JobStatus::Finalized), 1);
    assert_eq!(s.jobs.total_paid, Amount(1_200));
    assert_eq!(s.jobs.total_escrowed, Amount::ZERO);
    assert_eq!(s.escrow.total_paid, Amount(1_200));
    assert_eq!(s.workers.online, 1);
    let acct: Option<JobEscrow> = m
        .ledger
        .query_fn(JOB_ESCROW, &JobRef { job_id: JobId(id) })
        .unwrap();
    let acct = acct.unwrap();
    assert_eq!(acct.state, EscrowState::Released);
    assert_eq!(
        (acct.paid, acct.refunded, acct.worker),
        (
            Amount(1_200),
            Amount(1_800),
            Some(WorkerId(walt.identity()))
        )
    );
    m.assert_money();
}

#[test]
fn explicit_claim_and_payment_capped_by_escrow() {
    let mut m = market();
    let (alice, walt) = (key("alice"), key("walt"));
    // Registered but not available: only an explicit claim gives it the job.
    m.register(&walt, 10_000, caps(&[LLAMA, MISTRAL], 1_000, 2));
    let id = m.submit(&alice, &spec(mistral(), 100, 1_000, 10), 100);
    assert_eq!(m.job(id).status, JobStatus::Open);
    let r = m.claim(&walt, id);
    assert_executed(&r);
    assert!(job_events(&r.events)
        .iter()
        .any(|e| matches!(e, JobEvent::Assigned { claimed: true, .. })));
    assert_executed(&m.start(&walt, id));
    // 100 tokens at 1,000 per 1k = 100: exactly the escrow.
    assert_executed(&m.post(&walt, id, 100));
    m.advance(m.config.jobs.challenge_window + 1);
    let job = m.job(id);
    assert_eq!(
        (job.status, job.paid, job.refunded),
        (JobStatus::Finalized, Amount(100), Amount::ZERO)
    );
    m.assert_money();
}

#[test]
fn cancel_by_the_requester_refunds_in_full_and_only_while_open() {
    let mut m = market();
    let (alice, bob, walt) = (key("alice"), key("bob"), key("walt"));
    let id = m.submit(&alice, &spec(llama(), 1_000, 3_000, 20), 5_000);
    assert_eq!(m.balance(&alice), START_BALANCE - 5_000);
    assert_rejected(&m.cancel(&bob, id), "NotRequester");
    let r = m.cancel(&alice, id);
    assert_executed(&r);
    assert_eq!(m.balance(&alice), START_BALANCE);
    assert!(job_events(&r.events).contains(&JobEvent::Cancelled {
        job_id: JobId(id),
        refunded: Amount(5_000)
    }));
    assert_eq!(m.job(id).status, JobStatus::Cancelled);
    assert_rejected(&m.cancel(&alice, id), "WrongStatus");
    // An assigned job cannot be cancelled.
    m.register(&walt, 10_000, caps(&[LLAMA], 1_000, 1));
    let id2 = m.submit(&alice, &spec(llama(), 1_000, 3_000, 20), 3_000);
    assert_executed(&m.claim(&walt, id2));
    assert_rejected(&m.cancel(&alice, id2), "WrongStatus");
    let s = m.stats();
    assert_eq!(s.jobs.count(JobStatus::Cancelled), 1);
    assert_eq!(s.jobs.count(JobStatus::Assigned), 1);
    m.assert_money();
}

#[test]
fn an_open_job_nobody_serves_expires_at_its_deadline_with_a_full_refund() {
    let mut m = market();
    let alice = key("alice");
    let id = m.submit(&alice, &spec(llama(), 1_000, 3_000, 15), 3_000);
    let deadline = m.job(id).deadline.unwrap();
    m.warp_to(deadline);
    assert_eq!(m.job(id).status, JobStatus::Open);
    m.tick();
    let job = m.job(id);
    assert_eq!(job.status, JobStatus::Expired);
    assert_eq!(job.refunded, Amount(3_000));
    assert_eq!(job.deadline, None);
    assert_eq!(m.balance(&alice), START_BALANCE);
    let evs = job_events(events_at(&m, deadline));
    assert_eq!(
        evs,
        vec![JobEvent::Expired {
            job_id: JobId(id),
            worker: None,
            reason: format!("no worker took it before its deadline, tick {deadline}"),
            refunded: Amount(3_000),
            slashed: Amount::ZERO,
            challenger: None
        }]
    );
    m.assert_money();
}

#[test]
fn a_started_job_past_its_delivery_deadline_is_refunded_and_its_worker_slashed() {
    let mut m = market();
    let (alice, walt) = (key("alice"), key("walt"));
    m.register(&walt, 12_000, caps(&[LLAMA], 1_000, 1));
    let id = m.submit(&alice, &spec(llama(), 1_000, 3_000, 10), 3_000);
    let claim = m.claim(&walt, id);
    assert_executed(&claim);
    m.advance(2);
    let start = m.start(&walt, id);
    assert_executed(&start);
    let deadline = m.job(id).deadline.unwrap();
    assert_eq!(
        deadline,
        start.tick.plus(10),
        "the worker gets the full timeout from its start, the deadline it accepted"
    );
    let burned_before = m.ledger.supply().burned;
    m.warp_to(deadline.plus(1));
    let job = m.job(id);
    assert_eq!(job.status, JobStatus::Expired);
    assert_eq!(job.slashed, Amount(5_000));
    // Slash 5,000: 50 % to the requester, the challenger's 20 % burned with the 30 % (no
    // challenger at END_TICK).
    assert_eq!(m.balance(&alice), START_BALANCE + 2_500);
    assert_eq!(m.ledger.supply().burned - burned_before, 2_500);
    let w = m.worker(&walt).worker;
    assert_eq!(
        (w.stake, w.reputation, w.jobs_expired, w.active_jobs),
        (Amount(7_000), 4_000, 1, 0)
    );
    assert_eq!(
        job.reason,
        Some(format!(
            "worker {} started it and did not deliver by its deadline, tick {deadline}",
            walt.identity()
        ))
    );
    let slash = m
        .ledger
        .events()
        .iter()
        .filter(|e| e.contract == ESCROW)
        .filter_map(|e| EscrowEvent::try_from_slice(&e.data).ok())
        .find(|e| matches!(e, EscrowEvent::StakeSlashed { .. }))
        .expect("a slash event");
    match slash {
        EscrowEvent::StakeSlashed {
            outcome,
            challenger,
            ..
        } => {
            assert_eq!(challenger, None);
            assert_eq!(
                (
                    outcome.to_requester,
                    outcome.to_challenger,
                    outcome.burned,
                    outcome.remaining
                ),
                (Amount(2_500), Amount::ZERO, Amount(2_500), Amount(7_000))
            );
        }
        _ => unreachable!(),
    }
    // A result after expiry is refused.
    assert_rejected(&m.post(&walt, id, 10), "WrongStatus");
    m.assert_money();
}

#[test]
fn failure_reopens_once_then_refunds() {
    let mut m = market();
    let (alice, walt, wendy) = (key("alice"), key("walt"), key("wendy"));
    m.register(&walt, 10_000, caps(&[LLAMA], 1_000, 1));
    m.register(&wendy, 10_000, caps(&[LLAMA], 1_000, 1));
    let id = m.submit(&alice, &spec(llama(), 1_000, 3_000, 10), 3_000);
    assert_executed(&m.claim(&walt, id));
    assert_executed(&m.start(&walt, id));
    assert_rejected(&m.fail(&alice, id, "not mine"), "NotAssignedWorker");
    let r = m.fail(&walt, id, "GPU fell off the bus");
    assert_executed(&r);
    assert_eq!(
        job_events(&r.events),
        vec![JobEvent::Failed {
            job_id: JobId(id),
            worker: WorkerId(walt.identity()),
            reason: "GPU fell off the bus".into(),
            reopened: true,
            deadline: Some(r.tick.plus(10)),
            refunded: Amount::ZERO,
        }]
    );
    let job = m.job(id);
    assert_eq!(
        (job.status, job.failures, job.worker, job.excluded.clone()),
        (JobStatus::Open, 1, None, vec![WorkerId(walt.identity())])
    );
    assert_eq!(job.reason.as_deref(), Some("GPU fell off the bus"));
    assert_eq!(
        job.deadline,
        Some(r.tick.plus(10)),
        "a reopened job gets a fresh timeout"
    );
    let w = m.worker(&walt).worker;
    assert_eq!((w.reputation, w.active_jobs, w.jobs_failed), (4_800, 0, 1));
    assert_eq!(w.stake, Amount(10_000), "giving up is not slashed");
    // The worker that gave up never gets it again.
    assert_rejected(&m.claim(&walt, id), "ExcludedWorker");
    assert_executed(&m.claim(&wendy, id));
    assert_executed(&m.start(&wendy, id));
    let r = m.fail(&wendy, id, "out of memory");
    assert_executed(&r);
    assert!(job_events(&r.events).iter().any(|e| matches!(
        e,
        JobEvent::Failed {
            reopened: false,
            refunded: Amount(3_000),
            ..
        }
    )));
    let job = m.job(id);
    assert_eq!(
        (job.status, job.refunded, job.failures),
        (JobStatus::Failed, Amount(3_000), 2)
    );
    assert_eq!(job.reason.as_deref(), Some("out of memory"));
    assert_eq!(m.balance(&alice), START_BALANCE);
    // Both held it: both list it.
    for w in [&walt, &wendy] {
        let p: JobPage = m
            .ledger
            .query_fn(
                JOBS_BY_WORKER,
                &JobsByWorker {
                    worker: WorkerId(w.identity()),
                    cursor: None,
                    limit: 10,
                },
            )
            .unwrap();
        assert_eq!(p.jobs.len(), 1);
    }
    m.assert_money();
}

#[test]
fn a_reopened_job_is_matched_to_another_worker() {
    let mut m = market();
    let (alice, walt, wendy) = (key("alice"), key("walt"), key("wendy"));
    m.available_worker(&walt, 500, 1);
    let id = m.submit(&alice, &spec(llama(), 1_000, 3_000, 10), 3_000);
    assert_eq!(m.job(id).worker, Some(WorkerId(walt.identity())));
    m.available_worker(&wendy, 2_000, 1);
    // walt is cheaper but excluded once it turns the offer down (FAIL on an offer not
    // started declines it, free): wendy gets it at END_TICK.
    let r = m.fail(&walt, id, "busy");
    assert_executed(&r);
    assert!(matches!(
        &job_events(&r.events)[..],
        [JobEvent::Declined {
            answered: true,
            reopened: true,
            ..
        }]
    ));
    // Offered again by the END_TICK of the same tick.
    assert!(matches!(
        job_events(events_at(&m, r.tick)).last(),
        Some(JobEvent::Assigned { claimed: false, worker, .. }) if *worker == wendy.identity()
    ));
    let job = m.job(id);
    assert_eq!(
        (job.status, job.worker),
        (JobStatus::Assigned, Some(WorkerId(wendy.identity())))
    );
    assert_eq!(job.price_per_1k, Amount(2_000));
    assert_eq!(job.failures, 0);
    let w = m.worker(&walt).worker;
    assert_eq!(
        (w.reputation, w.stake, w.jobs_declined, w.jobs_failed),
        (5_000, Amount(10_000), 1, 0)
    );
}

#[test]
fn declining_an_offer_is_free_and_reopens_the_job() {
    let mut m = market();
    let (alice, bob, walt) = (key("alice"), key("bob"), key("walt"));
    m.available_worker(&walt, 1_000, 2);
    let walt_before = (m.balance(&walt), m.worker(&walt).worker);
    let id = m.submit(&alice, &spec(llama(), 500, 3_000, 3), 1_500);
    assert_eq!(m.job(id).worker, Some(WorkerId(walt.identity())));
    // Only its worker declines, with a reason of at most MAX_REASON bytes.
    assert_rejected(&m.decline(&bob, id, "mine now"), "NotAssignedWorker");
    assert_rejected(&m.decline(&alice, id, "no"), "NotAssignedWorker");
    assert_rejected(
        &m.decline(&walt, id, &"x".repeat(MAX_REASON + 1)),
        "ReasonTooLong",
    );
    let why = "500 tokens at 100 tokens a tick do not fit in 3 ticks";
    let r = m.decline(&walt, id, why);
    assert_executed(&r);
    assert_eq!(
        job_events(&r.events),
        vec![JobEvent::Declined {
            job_id: JobId(id),
            worker: WorkerId(walt.identity()),
            answered: true,
            reason: why.into(),
            reopened: true,
            deadline: Some(r.tick.plus(3)),
            refunded: Amount::ZERO,
        }]
    );
    assert!(r.events.iter().any(|e| e.contract == WORKER_REGISTRY
        && matches!(
            WorkerEvent::try_from_slice(&e.data),
            Ok(WorkerEvent::Released {
                outcome: Outcome::Declined,
                slashed: Amount::ZERO,
                ..
            })
        )));
    let job = m.job(id);
    assert_eq!(
        (job.status, job.worker, job.excluded.clone(), job.failures),
        (JobStatus::Open, None, vec![WorkerId(walt.identity())], 0)
    );
    assert_eq!(job.reason.as_deref(), Some(why));
    // Free of charge: stake, reputation, balance as before; the slot is back.
    let w = m.worker(&walt).worker;
    assert_eq!(m.balance(&walt), walt_before.0);
    assert_eq!(
        (w.stake, w.reputation, w.active_jobs, w.jobs_declined),
        (
            walt_before.1.stake,
            walt_before.1.reputation,
            0,
            walt_before.1.jobs_declined + 1
        )
    );
    // Never offered to walt again; nobody else serves it: it expires with a full refund,
    // saying why.
    assert_rejected(&m.claim(&walt, id), "ExcludedWorker");
    assert_rejected(&m.decline(&walt, id, why), "NotAssignedWorker");
    let deadline = m.job(id).deadline.unwrap();
    m.warp_to(deadline.plus(1));
    let job = m.job(id);
    assert_eq!(
        (job.status, job.refunded),
        (JobStatus::Expired, Amount(1_500))
    );
    assert_eq!(
        job.reason,
        Some(format!(
            "no other worker took it before its deadline, tick {deadline} (last: {why})"
        ))
    );
    assert_eq!(m.balance(&alice), START_BALANCE);
    assert_eq!(m.worker(&walt).worker.stake, walt_before.1.stake);
    // A started job is not declined (FAIL gives it up).
    let id2 = m.submit(&alice, &spec(llama(), 100, 3_000, 50), 300);
    assert_eq!(m.job(id2).worker, Some(WorkerId(walt.identity())));
    assert_executed(&m.start(&walt, id2));
    assert_rejected(&m.decline(&walt, id2, "too late"), "WrongStatus");
    m.assert_money();
}

#[test]
fn an_unanswered_offer_reopens_the_job_with_a_small_reputation_loss_and_no_slash() {
    let mut m = market();
    let (alice, walt, wendy, mallory) = (key("alice"), key("walt"), key("wendy"), key("mallory"));
    m.available_worker(&walt, 1_000, 1);
    let walt_balance = m.balance(&walt);
    let id = m.submit(&alice, &spec(llama(), 1_000, 3_000, 30), 3_000);
    let answer_by = m.job(id).deadline.unwrap();
    assert_eq!(m.job(id).status, JobStatus::Assigned);
    m.available_worker(&wendy, 2_000, 1);
    // Not past its answer deadline yet: nobody may force it.
    assert_rejected(&m.expire(&mallory, id), "DeadlineNotPassed");
    m.warp_to(answer_by);
    assert_eq!(
        m.job(id).status,
        JobStatus::Assigned,
        "START is still in time in the deadline's tick"
    );
    m.tick();
    let job = m.job(id);
    // END_TICK of the answer deadline's tick took it back and offered it to wendy.
    assert_eq!(
        (job.status, job.worker, job.excluded.clone()),
        (
            JobStatus::Assigned,
            Some(WorkerId(wendy.identity())),
            vec![WorkerId(walt.identity())]
        )
    );
    let why = format!(
        "worker {} neither started nor declined it by tick {answer_by}",
        walt.identity()
    );
    assert_eq!(job.reason.as_deref(), Some(why.as_str()));
    let evs = job_events(events_at(&m, answer_by));
    assert_eq!(
        evs[0],
        JobEvent::Declined {
            job_id: JobId(id),
            worker: WorkerId(walt.identity()),
            answered: false,
            reason: why,
            reopened: true,
            deadline: Some(answer_by.plus(30)),
            refunded: Amount::ZERO,
        }
    );
    let w = m.worker(&walt).worker;
    assert_eq!(
        (
            w.stake,
            w.reputation,
            w.jobs_declined,
            w.jobs_expired,
            w.active_jobs
        ),
        (
            Amount(10_000),
            5_000 - m.config.workers.reputation_loss_no_answer,
            1,
            0,
            0
        )
    );
    assert_eq!(w.total_slashed, Amount::ZERO);
    assert_eq!(m.balance(&walt), walt_balance);
    // Anyone may take back an offer past its answer deadline before END_TICK does; the
    // caller earns nothing (no slash to share).
    let cfg = MarketConfig {
        jobs: comqute_market::job_registry::JobConfig {
            max_settlements_per_tick: 1,
            ..config(key("rex").identity()).jobs
        },
        ..config(key("rex").identity())
    };
    let mut m = Market::with_config(CAST, cfg);
    m.register(&walt, 10_000, caps(&[LLAMA], 1_000, 2));
    let a = m.submit(&alice, &spec(llama(), 1_000, 3_000, 40), 3_000);
    let b = m.submit(&alice, &spec(llama(), 1_000, 3_000, 41), 3_000);
    m.queue(
        &walt,
        JOB_REGISTRY,
        comqute_market::job_registry::CLAIM.number(),
        &JobRef { job_id: JobId(a) },
        0,
    );
    m.queue(
        &walt,
        JOB_REGISTRY,
        comqute_market::job_registry::CLAIM.number(),
        &JobRef { job_id: JobId(b) },
        0,
    );
    let t = m.tick();
    m.warp_to(t.plus(m.config.jobs.accept_ticks));
    m.tick();
    // One lapsed offer handled by END_TICK (a); b carried over; mallory takes it back.
    assert_eq!(m.job(a).status, JobStatus::Open);
    assert_eq!(m.job(b).status, JobStatus::Assigned);
    let before = m.balance(&mallory);
    let r = m.expire(&mallory, b);
    assert_executed(&r);
    assert!(job_events(&r.events).iter().any(|e| matches!(
        e,
        JobEvent::Declined {
            answered: false,
            reopened: true,
            ..
        }
    )));
    assert_eq!(m.balance(&mallory), before);
    let w = m.worker(&walt).worker;
    assert_eq!(
        (w.stake, w.reputation, w.jobs_declined),
        (
            Amount(10_000),
            5_000 - 2 * m.config.workers.reputation_loss_no_answer,
            2
        )
    );
    m.assert_money();
}

#[test]
fn a_job_turned_down_by_three_workers_fails_with_a_full_refund() {
    let mut m = market();
    let (alice, walt, wendy, bob) = (key("alice"), key("walt"), key("wendy"), key("bob"));
    for w in [&walt, &wendy, &bob] {
        m.register(w, 10_000, caps(&[LLAMA], 1_000, 1));
    }
    let id = m.submit(&alice, &spec(llama(), 1_000, 3_000, 20), 3_000);
    assert_executed(&m.claim(&walt, id));
    assert_executed(&m.decline(&walt, id, "too slow"));
    assert_executed(&m.claim(&wendy, id));
    // A started job given up counts too.
    assert_executed(&m.start(&wendy, id));
    assert_executed(&m.fail(&wendy, id, "crashed"));
    assert_executed(&m.claim(&bob, id));
    let r = m.decline(&bob, id, "model not loaded");
    assert_executed(&r);
    assert_eq!(
        job_events(&r.events),
        vec![JobEvent::Declined {
            job_id: JobId(id),
            worker: WorkerId(bob.identity()),
            answered: true,
            reason: "model not loaded".into(),
            reopened: false,
            deadline: None,
            refunded: Amount(3_000),
        }]
    );
    let job = m.job(id);
    assert_eq!(
        (job.status, job.refunded, job.deadline, job.failures),
        (JobStatus::Failed, Amount(3_000), None, 1)
    );
    assert_eq!(
        job.excluded,
        vec![walt.identity(), wendy.identity(), bob.identity()]
    );
    assert_eq!(job.reason.as_deref(), Some("model not loaded"));
    assert_eq!(m.balance(&alice), START_BALANCE);
    for (w, rep) in [(&walt, 5_000), (&wendy, 4_800), (&bob, 5_000)] {
        let info = m.worker(w).worker;
        assert_eq!((info.stake, info.reputation), (Amount(10_000), rep));
    }
    m.assert_money();
}

fn completed_job(m: &mut Market, tokens: u32) -> u64 {
    let (alice, walt) = (key("alice"), key("walt"));
    if m.try_worker(&walt.identity()).is_none() {
        m.register(&walt, 10_000, caps(&[LLAMA], 1_000, 4));
    }
    let id = m.submit(&alice, &spec(llama(), 1_000, 3_000, 10), 3_000);
    assert_executed(&m.claim(&walt, id));
    assert_executed(&m.start(&walt, id));
    assert_executed(&m.post(&walt, id, tokens));
    id
}

#[test]
fn double_result_and_result_before_start_are_refused() {
    let mut m = market();
    let walt = key("walt");
    let id = completed_job(&mut m, 500);
    assert_rejected(&m.post(&walt, id, 500), "WrongStatus");
    let alice = key("alice");
    let id2 = m.submit(&alice, &spec(llama(), 1_000, 3_000, 10), 3_000);
    assert_executed(&m.claim(&walt, id2));
    assert_rejected(&m.post(&walt, id2, 10), "WrongStatus");
    assert_executed(&m.start(&walt, id2));
    assert_rejected(&m.start(&walt, id2), "WrongStatus");
    // Over the job's token maximum, and a zero hash.
    assert_rejected(&m.post(&walt, id2, 1_001), "InvalidResult");
    let zero = PostResult {
        job_id: JobId(id2),
        result: comqute_market::job_registry::JobResult {
            result_hash: Hash32::ZERO,
            ..result(5)
        },
    };
    assert_rejected(
        &m.send(&walt, JOB_REGISTRY, POST_RESULT.number(), &zero, 0),
        "InvalidResult",
    );
}

#[test]
fn insufficient_escrow_and_bad_specs_are_refused_and_refunded() {
    let mut m = market();
    let alice = key("alice");
    // 1,000 tokens at 3,000 per 1k needs 3,000.
    let r = m.send(
        &alice,
        JOB_REGISTRY,
        SUBMIT.number(),
        &spec(llama(), 1_000, 3_000, 10),
        2_999,
    );
    assert_rejected(&r, "InsufficientEscrow");
    assert_eq!(m.balance(&alice), START_BALANCE);
    let quote: Option<Amount> = m
        .ledger
        .query_fn(
            QUOTE,
            &EscrowQuote {
                max_output_tokens: 1_000,
                max_price_per_1k: Amount(3_000),
            },
        )
        .unwrap();
    assert_eq!(quote, Some(Amount(3_000)));
    for bad in [
        spec(llama(), 0, 3_000, 10),
        spec(llama(), 1_000, 0, 10),
        spec(llama(), 1_000, 3_000, 0),
        spec(llama(), 1_000, 3_000, 1_000_000),
        comqute_market::job_registry::JobSpec {
            min_reputation: 10_001,
            ..spec(llama(), 1, 1, 1)
        },
        comqute_market::job_registry::JobSpec {
            prompt_hash: Hash32::ZERO,
            ..spec(llama(), 1, 1, 1)
        },
        comqute_market::job_registry::JobSpec {
            prompt_size: 0,
            ..spec(llama(), 1, 1, 1)
        },
        comqute_market::job_registry::JobSpec {
            sampling: comqute_market::job_registry::Sampling {
                seed: 1,
                temperature_milli: 2_001,
            },
            ..spec(llama(), 1, 1, 1)
        },
    ] {
        assert_rejected(
            &m.send(&alice, JOB_REGISTRY, SUBMIT.number(), &bad, 1_000_000),
            "InvalidSpec",
        );
    }
    assert_eq!(m.balance(&alice), START_BALANCE);
    assert_eq!(m.stats().jobs.submitted, 0);
}

#[test]
fn unknown_jobs_are_refused_everywhere() {
    let mut m = market();
    let (alice, walt, rex) = (key("alice"), key("walt"), key("rex"));
    m.register(&walt, 10_000, caps(&[LLAMA], 1_000, 1));
    for (who, p) in [
        (&walt, comqute_market::job_registry::CLAIM),
        (&walt, comqute_market::job_registry::START),
        (&alice, comqute_market::job_registry::CANCEL),
        (&alice, comqute_market::job_registry::CHALLENGE),
        (&alice, comqute_market::job_registry::EXPIRE),
    ] {
        assert_rejected(&m.job_call(who, p.number(), 77), "UnknownJob");
    }
    assert_rejected(&m.post(&walt, 77, 1), "UnknownJob");
    assert_rejected(&m.fail(&walt, 77, "gone"), "UnknownJob");
    assert_rejected(&m.decline(&walt, 77, "gone"), "UnknownJob");
    assert_rejected(&m.resolve(&rex, 77, true), "UnknownJob");
    let j: Option<comqute_market::job_registry::Job> = m
        .ledger
        .query_fn(
            comqute_market::job_registry::GET_JOB,
            &JobRef { job_id: JobId(77) },
        )
        .unwrap();
    assert_eq!(j, None);
}

#[test]
fn wrong_callers_are_refused_on_every_procedure_and_change_nothing() {
    // Long windows, so that no deadline falls among the refused calls.
    let cfg = MarketConfig {
        workers: comqute_market::worker_registry::WorkerConfig {
            heartbeat_window: 500,
            ..config(key("rex").identity()).workers
        },
        jobs: comqute_market::job_registry::JobConfig {
            challenge_window: 500,
            accept_ticks: 500,
            check_timeout_ticks: 2_080,
            ..config(key("rex").identity()).jobs
        },
        verification: comqute_market::verification::VerifyConfig {
            commit_ticks: 500,
            ..config(key("rex").identity()).verification
        },
        ..config(key("rex").identity())
    };
    let mut m = Market::with_config(CAST, cfg);
    let (alice, walt, wendy, mallory) = (key("alice"), key("walt"), key("wendy"), key("mallory"));
    m.register(&walt, 10_000, caps(&[LLAMA], 1_000, 2));
    m.register(&wendy, 10_000, caps(&[LLAMA], 1_000, 2));
    // Two more workers, so a challenge has replicas and its check stays open.
    m.register(&key("rita"), 10_000, caps(&[LLAMA], 1_000, 2));
    m.register(&key("ravi"), 10_000, caps(&[LLAMA], 1_000, 2));
    let open = m.submit(&alice, &spec(llama(), 1_000, 3_000, 500), 3_000);
    let held = m.submit(&alice, &spec(llama(), 1_000, 3_000, 500), 3_000);
    assert_executed(&m.claim(&walt, held));
    let done = m.submit(&alice, &spec(llama(), 1_000, 3_000, 500), 3_000);
    assert_executed(&m.claim(&walt, done));
    assert_executed(&m.start(&walt, done));
    assert_executed(&m.post(&walt, done, 10));
    let disputed = m.submit(&alice, &spec(llama(), 1_000, 3_000, 500), 3_000);
    assert_executed(&m.claim(&wendy, disputed));
    assert_executed(&m.start(&wendy, disputed));
    assert_executed(&m.post(&wendy, disputed, 10));
    assert_executed(&m.dispute(&alice, disputed));

    fn refused(m: &mut Market, r: comqute_ledger::Receipt, name: &str) {
        assert_rejected(&r, name);
        m.assert_money();
    }
    let digest = m.ledger.state_digest();
    let r = m.claim(&alice, open);
    refused(&mut m, r, "SelfDealing");
    let r = m.claim(&mallory, open);
    refused(&mut m, r, "NotRegistered");
    let r = m.start(&wendy, held);
    refused(&mut m, r, "NotAssignedWorker");
    let r = m.start(&alice, held);
    refused(&mut m, r, "NotAssignedWorker");
    let r = m.post(&mallory, held, 1);
    refused(&mut m, r, "NotAssignedWorker");
    let r = m.fail(&wendy, held, "not mine");
    refused(&mut m, r, "NotAssignedWorker");
    let r = m.decline(&wendy, held, "not mine");
    refused(&mut m, r, "NotAssignedWorker");
    let r = m.decline(&alice, held, "the requester cannot");
    refused(&mut m, r, "NotAssignedWorker");
    let r = m.decline(&walt, held, &"x".repeat(MAX_REASON + 1));
    refused(&mut m, r, "ReasonTooLong");
    let r = m.fail(&walt, held, &"x".repeat(MAX_REASON + 1));
    refused(&mut m, r, "ReasonTooLong");
    let r = m.decline(&walt, done, "finished already");
    refused(&mut m, r, "WrongStatus");
    let r = m.fail(&walt, done, "finished already");
    refused(&mut m, r, "WrongStatus");
    let r = m.cancel(&walt, open);
    refused(&mut m, r, "NotRequester");
    let r = m.cancel(&mallory, open);
    refused(&mut m, r, "NotRequester");
    let r = m.dispute(&walt, done);
    refused(&mut m, r, "OwnResult");
    let r = m.job_call(
        &mallory,
        comqute_market::job_registry::CHALLENGE.number(),
        done,
    );
    refused(&mut m, r, "BondTooSmall");
    let r = m.resolve(&alice, disputed, false);
    refused(&mut m, r, "NotResolver");
    let r = m.resolve(&wendy, disputed, true);
    refused(&mut m, r, "NotResolver");
    let r = m.expire(&mallory, open);
    refused(&mut m, r, "DeadlineNotPassed");
    let r = m.expire(&mallory, done);
    refused(&mut m, r, "WrongStatus");
    // Money sent to a procedure that takes none goes back.
    let r = m.send(
        &walt,
        JOB_REGISTRY,
        comqute_market::job_registry::START.number(),
        &JobRef {
            job_id: JobId(held),
        },
        5,
    );
    refused(&mut m, r, "UnexpectedPayment");

    // The vault's doors: only the registries may open them.
    let r = m.send(
        &mallory,
        ESCROW,
        escrow::LOCK_JOB.number(),
        &LockJob {
            job_id: JobId(99),
            requester: mallory.identity(),
        },
        10,
    );
    refused(&mut m, r, "NotAuthorized");
    let r = m.send(
        &mallory,
        ESCROW,
        escrow::RELEASE_JOB.number(),
        &ReleaseJob {
            job_id: JobId(open),
            worker: WorkerId(mallory.identity()),
            amount: Amount(3_000),
            fee: Amount::ZERO,
            fee_to: None,
        },
        0,
    );
    refused(&mut m, r, "NotAuthorized");
    let r = m.send(
        &alice,
        ESCROW,
        escrow::REFUND_JOB.number(),
        &RefundJob {
            job_id: JobId(held),
        },
        0,
    );
    refused(&mut m, r, "NotAuthorized");
    let r = m.send(
        &walt,
        ESCROW,
        escrow::LOCK_STAKE.number(),
        &LockStake {
            worker: WorkerId(walt.identity()),
        },
        10,
    );
    refused(&mut m, r, "NotAuthorized");
    let r = m.send(
        &mallory,
        ESCROW,
        escrow::SLASH_STAKE.number(),
        &SlashStake {
            worker: WorkerId(walt.identity()),
            amount: Amount(10_000),
            requester: mallory.identity(),
            challenger: None,
            recipient: Some(mallory.identity()),
        },
        0,
    );
    refused(&mut m, r, "NotAuthorized");
    let r = m.send(
        &walt,
        ESCROW,
        escrow::RETURN_STAKE.number(),
        &ReturnStake {
            worker: WorkerId(walt.identity()),
            amount: Amount(10_000),
        },
        0,
    );
    refused(&mut m, r, "NotAuthorized");
    // The worker registry's job-registry-only doors.
    let assign = Assign {
        worker: WorkerId(walt.identity()),
        job_id: JobId(open),
        model: llama(),
        max_price_per_1k: Amount(5_000),
        min_reputation: 0,
    };
    let r = m.send(&walt, WORKER_REGISTRY, ASSIGN.number(), &assign, 0);
    refused(&mut m, r, "NotAuthorized");
    let release = Release {
        worker: WorkerId(walt.identity()),
        job_id: JobId(held),
        outcome: Outcome::Failed,
        requester: alice.identity(),
        challenger: None,
        earned: Amount::ZERO,
        slash_to: None,
    };
    let r = m.send(&mallory, WORKER_REGISTRY, RELEASE.number(), &release, 0);
    refused(&mut m, r, "NotAuthorized");
    // Worker procedures by someone who never registered.
    let calls: [(u16, Vec<u8>, i64); 6] = [
        (
            UPDATE.number(),
            comqute_qpi::contract::encode(&caps(&[LLAMA], 1, 1)),
            0,
        ),
        (
            worker_registry::HEARTBEAT.number(),
            comqute_qpi::contract::encode(&Heartbeat {
                session: 7,
                takeover: false,
            }),
            0,
        ),
        (
            SET_AVAILABLE.number(),
            comqute_qpi::contract::encode(&SetAvailable {
                available: true,
                session: 7,
            }),
            0,
        ),
        (TOP_UP.number(), comqute_qpi::contract::encode(&()), 100),
        (UNBOND.number(), comqute_qpi::contract::encode(&()), 0),
        (WITHDRAW.number(), comqute_qpi::contract::encode(&()), 0),
    ];
    for (p, input, amount) in calls {
        let r = m.send_raw(&mallory, WORKER_REGISTRY, p, input, amount);
        refused(&mut m, r, "NotRegistered");
    }
    // Nothing changed: no hook had work in those ticks, and every refused call was undone.
    assert_eq!(m.ledger.state_digest(), digest);
    assert_eq!(m.job(open).status, JobStatus::Open);
    assert_eq!(m.job(held).status, JobStatus::Assigned);
    assert_eq!(m.job(done).status, JobStatus::Completed);
    assert_eq!(m.job(disputed).status, JobStatus::Checking);
}

#[test]
fn registration_rules() {
    let mut m = market();
    let walt = key("walt");
    let r = m.send(
        &walt,
        WORKER_REGISTRY,
        worker_registry::REGISTER.number(),
        &caps(&[LLAMA], 1_000, 1),
        9_999,
    );
    assert_rejected(&r, "StakeTooLow");
    for bad in [
        caps(&[], 1_000, 1),
        caps(&["llama 3"], 1_000, 1),
        caps(&[""], 1_000, 1),
        caps(
            &[&"m".repeat(worker_registry::MAX_MODEL_NAME + 1)],
            1_000,
            1,
        ),
        caps(&[LLAMA, LLAMA], 1_000, 1),
    ] {
        let r = m.send(
            &walt,
            WORKER_REGISTRY,
            worker_registry::REGISTER.number(),
            &bad,
            10_000,
        );
        assert_rejected(&r, "InvalidCapabilities");
    }
    m.register(&walt, 10_000, caps(&[LLAMA], 1_000, 1));
    let r = m.send(
        &walt,
        WORKER_REGISTRY,
        worker_registry::REGISTER.number(),
        &caps(&[LLAMA], 1_000, 1),
        10_000,
    );
    assert_rejected(&r, "AlreadyRegistered");
    let info = m.worker(&walt);
    assert_eq!(info.worker.number, 1);
    assert_eq!(info.worker.reputation, 5_000);
    assert!(info.online && info.can_take_jobs);
    // Update: a new model and price.
    assert_executed(&m.send(
        &walt,
        WORKER_REGISTRY,
        UPDATE.number(),
        &caps(&[MISTRAL], 700, 3),
        0,
    ));
    let w = m.worker(&walt).worker;
    assert_eq!(
        (w.capabilities.models.clone(), w.capabilities.price_per_1k),
        (vec![MISTRAL.to_owned()], Amount(700))
    );
    assert_eq!(w.capabilities.model_ids(), vec![mistral()]);
    assert!(w.capabilities.serves(&mistral()) && !w.capabilities.serves(&llama()));
    let page: WorkerPage = m
        .ledger
        .query_fn(
            WORKERS_BY_MODEL,
            &WorkersByModel {
                model: llama(),
                cursor: None,
                limit: 10,
            },
        )
        .unwrap();
    assert!(page.workers.is_empty());
    let page: WorkerPage = m
        .ledger
        .query_fn(
            WORKERS_BY_MODEL,
            &WorkersByModel {
                model: mistral(),
                cursor: None,
                limit: 10,
            },
        )
        .unwrap();
    assert_eq!(page.workers.len(), 1);
    m.assert_money();
}

#[test]
fn unbond_is_refused_while_jobs_are_held_and_withdraw_waits_for_the_period() {
    let mut m = market();
    let (alice, walt) = (key("alice"), key("walt"));
    m.available_worker(&walt, 1_000, 1);
    let after_register = m.balance(&walt);
    let id = m.submit(&alice, &spec(llama(), 1_000, 3_000, 20), 3_000);
    assert_eq!(m.job(id).status, JobStatus::Assigned);
    let unbond = |m: &mut Market| m.send(&key("walt"), WORKER_REGISTRY, UNBOND.number(), &(), 0);
    let withdraw =
        |m: &mut Market| m.send(&key("walt"), WORKER_REGISTRY, WITHDRAW.number(), &(), 0);
    assert_rejected(&unbond(&mut m), "HasJobs");
    assert_executed(&m.start(&walt, id));
    assert_executed(&m.post(&walt, id, 100));
    // Still held while its challenge window runs.
    assert_rejected(&unbond(&mut m), "HasJobs");
    assert_rejected(&withdraw(&mut m), "NotUnbonding");
    m.advance(m.config.jobs.challenge_window + 1);
    assert_eq!(m.job(id).status, JobStatus::Finalized);
    let r = unbond(&mut m);
    assert_executed(&r);
    let until = r.tick.plus(m.config.workers.unbonding_ticks);
    let w = m.worker(&walt).worker;
    assert_eq!(w.status, WorkerStatus::Unbonding { until });
    assert!(!w.available);
    // No new jobs while unbonding, neither matched nor claimed.
    let id2 = m.submit(&alice, &spec(llama(), 1_000, 3_000, 200), 3_000);
    assert_eq!(m.job(id2).status, JobStatus::Open);
    assert_rejected(&m.claim(&walt, id2), "NotActive");
    assert_rejected(&withdraw(&mut m), "StillUnbonding");
    m.warp_to(until);
    let r = withdraw(&mut m);
    assert_executed(&r);
    assert_eq!(m.balance(&walt), after_register + 100 + 10_000);
    let w = m.worker(&walt).worker;
    assert_eq!((w.status, w.stake), (WorkerStatus::Exited, Amount::ZERO));
    assert_rejected(&withdraw(&mut m), "NotUnbonding");
    assert_eq!(m.stats().workers.exited, 1);
    // Registering again keeps the number and the reputation.
    m.register(&walt, 10_000, caps(&[LLAMA], 1_000, 1));
    let w = m.worker(&walt).worker;
    assert_eq!(
        (w.number, w.reputation, w.status),
        (1, 5_100, WorkerStatus::Active)
    );
    m.assert_money();
}

#[test]
fn a_worker_slashed_under_the_minimum_takes_no_jobs_until_it_tops_up() {
    let mut m = market();
    let (alice, walt) = (key("alice"), key("walt"));
    m.available_worker(&walt, 1_000, 1);
    let id = m.submit(&alice, &spec(llama(), 1_000, 3_000, 5), 3_000);
    assert_eq!(m.job(id).worker, Some(WorkerId(walt.identity())));
    // It accepts a 5-tick delivery deadline, and misses it.
    assert_executed(&m.start(&walt, id));
    m.advance(6);
    assert_eq!(m.job(id).status, JobStatus::Expired);
    let w = m.worker(&walt);
    assert_eq!(w.worker.stake, Amount(5_000));
    assert!(!w.can_take_jobs);
    // Neither matched nor allowed to claim.
    let id2 = m.submit(&alice, &spec(llama(), 1_000, 3_000, 100), 3_000);
    assert_eq!(m.job(id2).status, JobStatus::Open);
    assert_rejected(&m.claim(&walt, id2), "StakeBelowMinimum");
    let r = m.send(&walt, WORKER_REGISTRY, TOP_UP.number(), &(), 0);
    assert_rejected(&r, "MissingPayment");
    // The top-up brings it back and the matcher hands it the waiting job at END_TICK.
    let r = m.send(&walt, WORKER_REGISTRY, TOP_UP.number(), &(), 5_000);
    assert_executed(&r);
    assert_eq!(m.worker(&walt).worker.stake, Amount(10_000));
    assert_eq!(m.job(id2).status, JobStatus::Assigned);
    m.assert_money();
}

#[test]
fn offline_workers_get_no_jobs_until_a_heartbeat() {
    let mut m = market();
    let (alice, walt) = (key("alice"), key("walt"));
    m.available_worker(&walt, 1_000, 1);
    m.advance(m.config.workers.heartbeat_window + 1);
    let info = m.worker(&walt);
    assert!(!info.online);
    assert_eq!(m.stats().workers.online, 0);
    let id = m.submit(&alice, &spec(llama(), 1_000, 3_000, 100), 3_000);
    assert_eq!(m.job(id).status, JobStatus::Open);
    assert_rejected(&m.claim(&walt, id), "Offline");
    assert_executed(&m.heartbeat(&walt));
    assert_eq!(
        m.job(id).status,
        JobStatus::Assigned,
        "matched once it is back"
    );
    assert_eq!(m.stats().workers.online, 1);
}

#[test]
fn matching_prefers_price_then_reputation_and_respects_job_limits() {
    let mut m = market();
    let (alice, walt, wendy) = (key("alice"), key("walt"), key("wendy"));
    m.available_worker(&walt, 2_000, 1);
    m.available_worker(&wendy, 1_500, 1);
    // Too cheap for both.
    let cheap = m.submit(&alice, &spec(llama(), 1_000, 1_000, 100), 1_000);
    assert_eq!(m.job(cheap).status, JobStatus::Open);
    // Too demanding on reputation.
    let picky = comqute_market::job_registry::JobSpec {
        min_reputation: 6_000,
        ..spec(llama(), 1_000, 3_000, 100)
    };
    let picky = m.submit(&alice, &picky, 3_000);
    assert_eq!(m.job(picky).status, JobStatus::Open);
    // Wrong model.
    let other = m.submit(&alice, &spec(mistral(), 1_000, 3_000, 100), 3_000);
    assert_eq!(m.job(other).status, JobStatus::Open);
    // The cheaper worker first, then the other.
    let a = m.submit(&alice, &spec(llama(), 1_000, 3_000, 100), 3_000);
    assert_eq!(m.job(a).worker, Some(WorkerId(wendy.identity())));
    let b = m.submit(&alice, &spec(llama(), 1_000, 3_000, 100), 3_000);
    assert_eq!(m.job(b).worker, Some(WorkerId(walt.identity())));
    // Both full: the next waits, and is matched when a slot frees.
    let c = m.submit(&alice, &spec(llama(), 1_000, 3_000, 100), 3_000);
    assert_eq!(m.job(c).status, JobStatus::Open);
    assert_executed(&m.start(&walt, b));
    assert_executed(&m.post(&walt, b, 1));
    assert_eq!(m.job(c).worker, Some(WorkerId(walt.identity())));
    assert_eq!(m.job(cheap).status, JobStatus::Open);
}

#[test]
fn equal_workers_are_drawn_with_the_tick_seed_deterministically() {
    let run = || {
        let mut m = market();
        let alice = key("alice");
        for w in ["walt", "wendy", "bob", "mallory"] {
            m.available_worker(&key(w), 1_000, 1);
        }
        let mut winners = Vec::new();
        for _ in 0..3 {
            let id = m.submit(&alice, &spec(llama(), 1_000, 3_000, 100), 3_000);
            winners.push(m.job(id).worker.unwrap());
        }
        (winners, m.ledger.digest())
    };
    let (a, da) = run();
    let (b, db) = run();
    assert_eq!(a, b);
    assert_eq!(da, db);
    let mut distinct = a.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 3, "one slot each: three different workers");
}

#[test]
fn matching_is_bounded_per_tick_and_carries_over() {
    let cfg = MarketConfig {
        jobs: comqute_market::job_registry::JobConfig {
            max_matches_per_tick: 2,
            ..config(key("rex").identity()).jobs
        },
        ..config(key("rex").identity())
    };
    let mut m = Market::with_config(CAST, cfg);
    let (alice, walt) = (key("alice"), key("walt"));
    m.available_worker(&walt, 1_000, 5);
    for i in 0..5 {
        m.queue(
            &alice,
            JOB_REGISTRY,
            SUBMIT.number(),
            &seeded(i, 100),
            3_000,
        );
    }
    m.tick();
    // Oldest first, two per tick.
    let assigned = |m: &Market| {
        m.jobs_in(JobStatus::Assigned)
            .iter()
            .map(|j| j.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(assigned(&m), vec![1, 2]);
    m.tick();
    assert_eq!(assigned(&m), vec![1, 2, 3, 4]);
    m.tick();
    assert_eq!(assigned(&m), vec![1, 2, 3, 4, 5]);
    assert_eq!(m.worker(&walt).worker.active_jobs, 5);
}

#[test]
fn deadlines_are_bounded_per_tick_carry_over_and_anyone_may_expire_a_late_job() {
    let cfg = MarketConfig {
        jobs: comqute_market::job_registry::JobConfig {
            max_settlements_per_tick: 2,
            ..config(key("rex").identity()).jobs
        },
        ..config(key("rex").identity())
    };
    let mut m = Market::with_config(CAST, cfg);
    let (alice, mallory) = (key("alice"), key("mallory"));
    for i in 0..5 {
        m.queue(&alice, JOB_REGISTRY, SUBMIT.number(), &seeded(i, 10), 3_000);
    }
    let t = m.tick();
    let due = t.plus(10);
    m.warp_to(due);
    m.tick();
    // Two handled in the deadline's tick, three carried over.
    assert_eq!(
        m.jobs_in(JobStatus::Expired)
            .iter()
            .map(|j| j.id)
            .collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert_eq!(m.jobs_in(JobStatus::Open).len(), 3);
    // A bystander expires the last late one in the next tick, before its END_TICK, which
    // handles the other two.
    let r = m.expire(&mallory, 5);
    assert_executed(&r);
    assert!(job_events(&r.events).iter().any(
        |e| matches!(e, JobEvent::Expired { challenger: Some(c), .. } if *c == mallory.identity())
    ));
    assert_eq!(m.jobs_in(JobStatus::Expired).len(), 5);
    assert_eq!(m.balance(&alice), START_BALANCE);
    m.assert_money();
}

#[test]
fn a_bystander_expiring_a_started_job_gets_the_challenger_share() {
    let cfg = MarketConfig {
        jobs: comqute_market::job_registry::JobConfig {
            max_settlements_per_tick: 1,
            ..config(key("rex").identity()).jobs
        },
        ..config(key("rex").identity())
    };
    let mut m = Market::with_config(CAST, cfg);
    let (alice, bob, walt, mallory) = (key("alice"), key("bob"), key("walt"), key("mallory"));
    m.register(&walt, 20_000, caps(&[LLAMA], 1_000, 2));
    m.queue(
        &alice,
        JOB_REGISTRY,
        SUBMIT.number(),
        &spec(llama(), 1_000, 3_000, 10),
        3_000,
    );
    m.queue(
        &bob,
        JOB_REGISTRY,
        SUBMIT.number(),
        &spec(llama(), 1_000, 3_000, 10),
        3_000,
    );
    m.tick();
    m.queue(
        &walt,
        JOB_REGISTRY,
        comqute_market::job_registry::CLAIM.number(),
        &JobRef { job_id: JobId(1) },
        0,
    );
    m.queue(
        &walt,
        JOB_REGISTRY,
        comqute_market::job_registry::CLAIM.number(),
        &JobRef { job_id: JobId(2) },
        0,
    );
    m.tick();
    assert_eq!(m.job(2).status, JobStatus::Assigned);
    // walt starts both: two 10-tick delivery deadlines accepted in one tick.
    m.queue(
        &walt,
        JOB_REGISTRY,
        comqute_market::job_registry::START.number(),
        &JobRef { job_id: JobId(1) },
        0,
    );
    m.queue(
        &walt,
        JOB_REGISTRY,
        comqute_market::job_registry::START.number(),
        &JobRef { job_id: JobId(2) },
        0,
    );
    let t = m.tick();
    assert_eq!(m.job(2).status, JobStatus::Running);
    m.warp_to(t.plus(10));
    m.tick();
    // One handled (job 1); job 2 carried over; mallory expires it first.
    assert_eq!(m.job(1).status, JobStatus::Expired);
    assert_eq!(m.job(2).status, JobStatus::Running);
    let before = m.balance(&mallory);
    let bob_before = m.balance(&bob);
    assert_executed(&m.expire(&mallory, 2));
    assert_eq!(
        m.balance(&mallory),
        before + 1_000,
        "20 % of the 5,000 slash"
    );
    assert_eq!(m.balance(&bob), bob_before + 3_000 + 2_500);
    m.assert_money();
}

#[test]
fn paged_functions_and_stats() {
    let mut m = market();
    let (alice, bob, walt) = (key("alice"), key("bob"), key("walt"));
    m.register(&walt, 10_000, caps(&[LLAMA], 1_000, 8));
    for i in 0..5 {
        m.queue(
            &alice,
            JOB_REGISTRY,
            SUBMIT.number(),
            &seeded(i, 100),
            3_000,
        );
    }
    m.queue(
        &bob,
        JOB_REGISTRY,
        SUBMIT.number(),
        &spec(llama(), 1_000, 3_000, 100),
        3_000,
    );
    m.tick();
    assert_executed(&m.claim(&walt, 2));
    assert_executed(&m.cancel(&alice, 3));
    let page = |m: &Market, cursor| -> JobPage {
        m.ledger
            .query_fn(
                JOBS_BY_REQUESTER,
                &JobsByRequester {
                    requester: key("alice").identity(),
                    cursor,
                    limit: 2,
                },
            )
            .unwrap()
    };
    let p1 = page(&m, None);
    assert_eq!(p1.jobs.iter().map(|j| j.id).collect::<Vec<_>>(), vec![1, 2]);
    let p2 = page(&m, p1.next_cursor);
    assert_eq!(p2.jobs.iter().map(|j| j.id).collect::<Vec<_>>(), vec![3, 4]);
    let p3 = page(&m, p2.next_cursor);
    assert_eq!(p3.jobs.iter().map(|j| j.id).collect::<Vec<_>>(), vec![5]);
    assert_eq!(p3.next_cursor, None);
    assert_eq!(
        m.jobs_in(JobStatus::Open)
            .iter()
            .map(|j| j.id)
            .collect::<Vec<_>>(),
        vec![1, 4, 5, 6]
    );
    assert_eq!(m.jobs_in(JobStatus::Assigned).len(), 1);
    let s = m.stats();
    assert_eq!(s.jobs.submitted, 6);
    assert_eq!(
        (
            s.jobs.count(JobStatus::Open),
            s.jobs.count(JobStatus::Assigned),
            s.jobs.count(JobStatus::Cancelled)
        ),
        (4, 1, 1)
    );
    assert_eq!(s.jobs.total_escrowed, Amount(15_000));
    assert_eq!(s.escrow.jobs_locked, Amount(15_000));
    assert_eq!(s.escrow.stakes, Amount(10_000));
    assert_eq!(
        (s.workers.registered, s.workers.active, s.workers.online),
        (1, 1, 1)
    );
    let acct: Option<JobEscrow> = m
        .ledger
        .query_fn(JOB_ESCROW, &JobRef { job_id: JobId(3) })
        .unwrap();
    assert_eq!(acct.unwrap().state, EscrowState::Refunded);
    let none: Option<JobEscrow> = m
        .ledger
        .query_fn(JOB_ESCROW, &JobRef { job_id: JobId(99) })
        .unwrap();
    assert_eq!(none, None);
    m.assert_money();
}

#[test]
fn every_marketplace_event_has_a_description() {
    let mut m = market();
    let alice = key("alice");
    let _ = completed_job(&mut m, 10);
    let _ = m.submit(&alice, &spec(llama(), 1, 1, 1), 1);
    // An offer declined, one left unanswered, a started job given up.
    let walt = key("walt");
    let d = m.submit(&alice, &spec(llama(), 1_000, 3_000, 10), 3_000);
    assert_executed(&m.claim(&walt, d));
    assert_executed(&m.decline(&walt, d, "no"));
    let f = m.submit(&alice, &spec(llama(), 1_000, 3_000, 10), 3_000);
    assert_executed(&m.claim(&walt, f));
    assert_executed(&m.start(&walt, f));
    assert_executed(&m.fail(&walt, f, "crashed"));
    let u = m.submit(&alice, &spec(llama(), 1_000, 3_000, 10), 3_000);
    assert_executed(&m.claim(&walt, u));
    m.advance(m.config.jobs.accept_ticks + 20);
    let kinds: Vec<JobEvent> = job_events(m.ledger.events());
    assert!(kinds
        .iter()
        .any(|e| matches!(e, JobEvent::Declined { answered: true, .. })));
    assert!(kinds.iter().any(|e| matches!(
        e,
        JobEvent::Declined {
            answered: false,
            ..
        }
    )));
    assert!(kinds.iter().any(|e| matches!(e, JobEvent::Failed { .. })));
    let registry = m.ledger.registry();
    for e in m.ledger.events() {
        let c = registry.get(e.contract).unwrap();
        let text = c.describe_event(&e.data);
        assert!(!text.starts_with("undecodable"), "{text}");
    }
}

#[test]
fn the_null_resolver_cannot_resolve() {
    let cfg = MarketConfig {
        jobs: comqute_market::job_registry::JobConfig {
            resolver: Identity::NULL,
            ..config(Identity::NULL).jobs
        },
        ..config(Identity::NULL)
    };
    let mut m = Market::with_config(CAST, cfg);
    let alice = key("alice");
    let id = completed_job(&mut m, 10);
    assert_executed(&m.dispute(&alice, id));
    assert_rejected(&m.resolve(&key("rex"), id, true), "NotResolver");
}

#[test]
fn a_bad_configuration_does_not_build() {
    let cfg = MarketConfig {
        escrow: comqute_market::escrow::EscrowConfig {
            slash_burn_bps: 0,
            ..MarketConfig::default().escrow
        },
        ..MarketConfig::default()
    };
    assert!(builder(cfg, &[]).build().is_err());
}

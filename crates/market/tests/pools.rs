//! Compute pools (`comqute_market::pools`) on real ledgers with the real contracts: a pool
//! member's job payment is routed through the pools contract and shared to the unit,
//! refusals change nothing, a leaver stays slashable while unbonding, tiers follow verified
//! throughput, and random join/leave/serve/slash schedules conserve money.

mod marketplace_common;

use std::collections::BTreeMap;

use borsh::BorshDeserialize;
use comqute_market::pools::{
    CreatePool, MemberView, PayoutScheme, PoolConfig, PoolEvent, PoolRef, PoolStats, PoolView,
    SettleJob, Tier, TierRule, CLAIM, CLOSE, CREATE, GET_POOL, JOIN, LEAVE, MEMBER_OF, POOL_STATS,
    REFRESH, SETTLE_JOB, WITHDRAW,
};
use comqute_market::{JobId, MarketConfig, WorkerId, POOLS};
use comqute_qpi::{Amount, Identity};
use marketplace_common::*;
use proptest::prelude::*;

fn pool_config(resolver: Identity) -> MarketConfig {
    let mut c = config(resolver);
    c.workers.slash_amount = Amount(100);
    c.pools = PoolConfig {
        create_deposit: Amount(1_000),
        unbonding_ticks: 20,
        slash_amount: Amount(3_000),
        reading_ticks: 10,
        average_weight: 2,
        tiers: vec![
            TierRule {
                min_tokens_per_tick: 20,
                min_stake: Amount(1_000),
            },
            TierRule {
                min_tokens_per_tick: 60,
                min_stake: Amount(1_000),
            },
            TierRule {
                min_tokens_per_tick: 1_000,
                min_stake: Amount(1_000),
            },
            TierRule {
                min_tokens_per_tick: 10_000,
                min_stake: Amount(1_000),
            },
        ],
        ..PoolConfig::default()
    };
    c
}

fn create(m: &mut Market, op: &str, fee_bps: u16, scheme: PayoutScheme) -> u64 {
    let c = CreatePool {
        fee_bps,
        scheme,
        min_member_stake: Amount(1_000),
    };
    let r = m.send(&key(op), POOLS, CREATE.number(), &c, 1_000);
    assert_executed(&r);
    borsh::from_slice(&r.output).expect("pool id")
}

fn join(m: &mut Market, who: &str, pool: u64, stake: i64) -> comqute_ledger::Receipt {
    m.send(&key(who), POOLS, JOIN.number(), &PoolRef { pool }, stake)
}

fn view(m: &Market, pool: u64) -> PoolView {
    let v: Option<PoolView> = m
        .ledger
        .query_fn(GET_POOL, &PoolRef { pool })
        .expect("query");
    v.expect("pool exists")
}

fn member(m: &Market, who: &str) -> Option<MemberView> {
    m.ledger
        .query_fn(MEMBER_OF, &WorkerId(key(who).identity()))
        .expect("query")
}

fn owed(m: &Market, who: &str) -> i64 {
    member(m, who).map_or(0, |v| v.owed.0)
}

/// A worker registered (not available for matching: jobs are claimed by hand).
fn worker(m: &mut Market, who: &str) {
    let stake = m.config.workers.min_stake.0;
    m.register(&key(who), stake, caps(&[LLAMA], 1_000, 4));
}

/// `who` serves one job of `tokens` tokens for alice, finalized after the challenge window.
fn serve(m: &mut Market, who: &str, tokens: u32) -> Option<u64> {
    let id = m.submit(&key("alice"), &spec(llama(), 1_000, 1_000, 500), 1_000);
    if m.claim(&key(who), id).status != comqute_ledger::TxStatus::Executed {
        assert_executed(&m.cancel(&key("alice"), id));
        return None;
    }
    assert_executed(&m.start(&key(who), id));
    assert_executed(&m.post(&key(who), id, tokens));
    m.advance(m.config.jobs.challenge_window + 1);
    Some(id)
}

/// `who` takes a job and lets its delivery deadline pass: slashed.
fn fail_to_deliver(m: &mut Market, who: &str) -> Option<u64> {
    let id = m.submit(&key("alice"), &spec(llama(), 1_000, 1_000, 5), 1_000);
    if m.claim(&key(who), id).status != comqute_ledger::TxStatus::Executed {
        assert_executed(&m.cancel(&key("alice"), id));
        return None;
    }
    assert_executed(&m.start(&key(who), id));
    m.advance(8);
    Some(id)
}

fn pool_stats(m: &Market) -> PoolStats {
    m.ledger.query_fn(POOL_STATS, &()).expect("query")
}

/// The pool invariants: the contract holds its books; per pool, paid + carried == received
/// and the dust is under the member count + 1; no balance negative; the market's money
/// invariants.
fn assert_pools(m: &Market) {
    m.assert_money();
    for (id, a) in m.ledger.state().accounts_sorted() {
        assert!(a.balance >= 0, "{id} has {}", a.balance);
    }
    let held = m.ledger.balance(&Identity::contract(POOLS)).0;
    assert_eq!(
        held,
        pool_stats(m).held.0,
        "the pools contract holds its books"
    );
    let created = pool_stats(m).created;
    let mut stakes = 0;
    for p in 1..=created {
        let v = view(m, p);
        assert_eq!(
            v.paid.0 + v.carried.0,
            v.pool.received.0,
            "pool {p}: paid + carried == received: {v:#?}"
        );
        assert!(
            v.carried.0 <= i64::from(v.pool.members) + 1,
            "pool {p}: dust {} with {} members",
            v.carried,
            v.pool.members
        );
        let s: i64 = v.members.iter().map(|m| m.member.stake.0).sum();
        assert_eq!(s, v.pool.total_stake.0);
        assert!(v
            .members
            .iter()
            .all(|m| m.member.pool == p && m.owed.0 >= 0));
        stakes += s;
        stakes += if v.pool.closed { 0 } else { v.pool.deposit.0 };
        // Received and not transferred yet: owed whole units and carried dust.
        stakes += v.members.iter().map(|m| m.owed.0).sum::<i64>() + v.carried.0;
    }
    assert_eq!(stakes, held, "deposits + stakes + owed + carried == held");
}

/// Every pool event that pays a worker names the pool the worker was a member of then.
fn assert_no_cross_pool_pay(m: &Market) {
    let mut pool_of: BTreeMap<Identity, u64> = BTreeMap::new();
    for e in m.ledger.events().iter().filter(|e| e.contract == POOLS) {
        let ev = PoolEvent::try_from_slice(&e.data).expect("pool event");
        match ev {
            PoolEvent::Joined { pool, worker, .. } => {
                assert!(pool_of.insert(worker.0, pool).is_none(), "joined twice");
            }
            PoolEvent::Claimed { pool, worker, .. }
            | PoolEvent::Left { pool, worker, .. }
            | PoolEvent::JobSettled { pool, worker, .. }
            | PoolEvent::Slashed { pool, worker, .. } => {
                assert_eq!(pool_of.get(&worker.0), Some(&pool), "{ev:?}");
            }
            PoolEvent::Withdrawn { pool, worker, .. } => {
                assert_eq!(pool_of.remove(&worker.0), Some(pool), "{ev:?}");
            }
            _ => {}
        }
    }
}

const CAST: [&str; 8] = [
    "alice", "olga", "oscar", "walt", "wendy", "wade", "will", "rex",
];

fn market() -> Market {
    Market::with_config(&CAST, pool_config(key("rex").identity()))
}

#[test]
fn a_pool_job_pays_the_operator_the_executor_and_the_members_to_the_unit() {
    let mut m = market();
    for w in ["walt", "wendy", "wade"] {
        worker(&mut m, w);
    }
    let pool = create(&mut m, "olga", 1_000, PayoutScheme::ByStake);
    assert_executed(&join(&mut m, "walt", pool, 3_000));
    assert_executed(&join(&mut m, "wendy", pool, 1_000));
    let (olga, walt, wendy, wade) = (
        m.balance(&key("olga")),
        m.balance(&key("walt")),
        m.balance(&key("wendy")),
        m.balance(&key("wade")),
    );
    // 777 tokens at 1,000 per 1k: a payment of 777. Fee 10%: 77; executor 50% of 700: 350;
    // members 350 by stake 3:1: 262.5 and 87.5, floored; 1 carried.
    let id = serve(&mut m, "walt", 777).expect("served");
    let job = m.job(id);
    assert_eq!(job.paid, Amount(777));
    assert_eq!(m.balance(&key("olga")) - olga, 77);
    assert_eq!(m.balance(&key("walt")) - walt, 350);
    assert_eq!((owed(&m, "walt"), owed(&m, "wendy")), (262, 87));
    let v = view(&m, pool);
    assert_eq!(
        (v.pool.received, v.paid, v.carried),
        (Amount(777), Amount(776), Amount(1))
    );
    assert_pools(&m);
    // The worker registry still records the worker's earnings.
    assert_eq!(m.worker(&key("walt")).worker.total_earned, Amount(777));
    // Claims pay to the unit and leave the fraction.
    let r = m.send(&key("walt"), POOLS, CLAIM.number(), &(), 0);
    assert_executed(&r);
    assert_eq!(m.balance(&key("walt")) - walt, 350 + 262);
    // A second job: the carried half units meet.
    serve(&mut m, "wendy", 1_000).expect("served");
    // 1,000: fee 100, executor 450, members 450 + the carried 0.5 × 4,000 units.
    assert_eq!(m.balance(&key("olga")) - olga, 177);
    assert_eq!(m.balance(&key("wendy")) - wendy, 450);
    // walt: 0.5 + 337.5 = 338; wendy: 87.5 + 112.5 = 200.
    assert_eq!((owed(&m, "walt"), owed(&m, "wendy")), (338, 200));
    let v = view(&m, pool);
    assert_eq!((v.paid, v.carried), (Amount(1_777), Amount::ZERO));
    // A worker outside every pool is paid directly, as before.
    serve(&mut m, "wade", 500).expect("served");
    assert_eq!(m.balance(&key("wade")) - wade, 500);
    assert_eq!(view(&m, pool).pool.received, Amount(1_777));
    assert_pools(&m);
    assert_no_cross_pool_pay(&m);
}

#[test]
fn refusals_are_typed_and_change_nothing() {
    let mut m = market();
    worker(&mut m, "walt");
    worker(&mut m, "wendy");
    let pool = create(&mut m, "olga", 500, PayoutScheme::ByWork { last_jobs: 3 });
    let other = create(&mut m, "oscar", 0, PayoutScheme::ByStake);
    assert_executed(&join(&mut m, "walt", pool, 1_000));
    let digest = m.ledger.state_digest();
    let bad = |fee_bps, scheme| CreatePool {
        fee_bps,
        scheme,
        min_member_stake: Amount(1_000),
    };
    let olga = key("olga");
    assert_rejected(
        &m.send(
            &olga,
            POOLS,
            CREATE.number(),
            &bad(2_001, PayoutScheme::ByStake),
            1_000,
        ),
        "FeeTooHigh",
    );
    assert_rejected(
        &m.send(
            &olga,
            POOLS,
            CREATE.number(),
            &bad(100, PayoutScheme::ByStake),
            999,
        ),
        "DepositTooLow",
    );
    assert_rejected(
        &m.send(
            &olga,
            POOLS,
            CREATE.number(),
            &bad(100, PayoutScheme::ByWork { last_jobs: 0 }),
            1_000,
        ),
        "InvalidPool",
    );
    assert_rejected(&join(&mut m, "wade", pool, 1_000), "NotAWorker");
    assert_rejected(&join(&mut m, "wendy", pool, 999), "BelowMinimumStake");
    assert_rejected(&join(&mut m, "walt", other, 1_000), "AlreadyInPool");
    assert_rejected(&join(&mut m, "wendy", 9, 1_000), "UnknownPool");
    assert_rejected(
        &m.send(&key("wendy"), POOLS, LEAVE.number(), &(), 0),
        "NotAMember",
    );
    assert_rejected(
        &m.send(&key("walt"), POOLS, WITHDRAW.number(), &(), 0),
        "NotLeaving",
    );
    assert_rejected(
        &m.send(&key("oscar"), POOLS, CLOSE.number(), &PoolRef { pool }, 0),
        "NotOperator",
    );
    assert_rejected(
        &m.send(&olga, POOLS, CLOSE.number(), &PoolRef { pool }, 0),
        "PoolNotEmpty",
    );
    assert_rejected(
        &m.send(&key("walt"), POOLS, CLAIM.number(), &(), 5),
        "UnexpectedPayment",
    );
    let settle = SettleJob {
        job_id: JobId(1),
        worker: WorkerId(key("walt").identity()),
        amount: Amount(1),
        output_tokens: 1,
        verified: true,
    };
    assert_rejected(
        &m.send(&key("walt"), POOLS, SETTLE_JOB.number(), &settle, 0),
        "NotAuthorized",
    );
    assert_eq!(m.ledger.state_digest(), digest, "refusals change nothing");
    // Leaving: a second leave and an early withdrawal are refused, and change nothing.
    assert_executed(&m.send(&key("walt"), POOLS, LEAVE.number(), &(), 0));
    let digest = m.ledger.state_digest();
    assert_rejected(
        &m.send(&key("walt"), POOLS, LEAVE.number(), &(), 0),
        "AlreadyLeaving",
    );
    assert_rejected(
        &m.send(&key("walt"), POOLS, WITHDRAW.number(), &(), 0),
        "StillUnbonding",
    );
    assert_eq!(m.ledger.state_digest(), digest);
    assert_pools(&m);
}

#[test]
fn a_leaver_waits_out_unbonding_and_a_slash_meanwhile_still_reaches_it() {
    let mut m = market();
    for w in ["walt", "wendy", "wade"] {
        worker(&mut m, w);
    }
    let pool = create(&mut m, "olga", 0, PayoutScheme::ByStake);
    assert_executed(&join(&mut m, "walt", pool, 1_000));
    assert_executed(&join(&mut m, "wendy", pool, 3_000));
    assert_executed(&join(&mut m, "wade", pool, 1_000));
    // wendy leaves: she stops earning, her stake stays slashable.
    let r = m.send(&key("wendy"), POOLS, LEAVE.number(), &(), 0);
    assert_executed(&r);
    let until: comqute_qpi::Tick = borsh::from_slice(&r.output).unwrap();
    let alice = m.balance(&key("alice"));
    // walt fails a job: the pool's slash of 3,000 takes walt's 1,000, then 2,000 from
    // wendy (3,000) and wade (1,000) pro rata: 1,500 and 500. alice is refunded 1,000 and
    // paid the 3,000 (the worker registry's own slash goes by its split).
    let id = fail_to_deliver(&mut m, "walt").expect("taken");
    assert_eq!(
        m.job(id).status,
        comqute_market::job_registry::JobStatus::Expired
    );
    let stakes: Vec<i64> = ["walt", "wendy", "wade"]
        .iter()
        .map(|w| member(&m, w).expect("member").member.stake.0)
        .collect();
    assert_eq!(stakes, vec![0, 1_500, 500]);
    let registry_split = m.config.workers.slash_amount.basis_points(5_000).0;
    assert_eq!(
        m.balance(&key("alice")) - alice,
        3_000 + registry_split,
        "refund, pool slash, requester's share of the registry slash"
    );
    assert_eq!(view(&m, pool).pool.slashed, Amount(3_000));
    assert_pools(&m);
    // The unbonding period: withdrawal only from `until`.
    let wendy = m.balance(&key("wendy"));
    assert!(m.ledger.next_tick() < until);
    assert_rejected(
        &m.send(&key("wendy"), POOLS, WITHDRAW.number(), &(), 0),
        "StillUnbonding",
    );
    m.warp_to(until);
    let r = m.send(&key("wendy"), POOLS, WITHDRAW.number(), &(), 0);
    assert_executed(&r);
    assert_eq!(m.balance(&key("wendy")) - wendy, 1_500);
    assert!(member(&m, "wendy").is_none(), "the member is gone");
    assert_eq!(view(&m, pool).pool.members, 2);
    // The operator closes only once everyone is gone.
    for w in ["walt", "wade"] {
        assert_executed(&m.send(&key(w), POOLS, LEAVE.number(), &(), 0));
    }
    m.advance(21);
    for w in ["walt", "wade"] {
        assert_executed(&m.send(&key(w), POOLS, WITHDRAW.number(), &(), 0));
    }
    let olga = m.balance(&key("olga"));
    let r = m.send(&key("olga"), POOLS, CLOSE.number(), &PoolRef { pool }, 0);
    assert_executed(&r);
    assert_eq!(m.balance(&key("olga")) - olga, 1_000);
    assert_rejected(&join(&mut m, "walt", pool, 1_000), "PoolClosed");
    assert_pools(&m);
    assert_no_cross_pool_pay(&m);
}

#[test]
fn tiers_promote_on_verified_throughput_and_demote_only_after_two_low_readings() {
    let mut m = market();
    worker(&mut m, "walt");
    let pool = create(&mut m, "olga", 0, PayoutScheme::ByWork { last_jobs: 4 });
    assert_executed(&join(&mut m, "walt", pool, 1_000));
    let tier = |m: &Market| view(m, pool).pool.tier;
    let refresh = |m: &mut Market| {
        let r = m.send(&key("olga"), POOLS, REFRESH.number(), &PoolRef { pool }, 0);
        assert_executed(&r);
        Tier::try_from_slice(&r.output).unwrap()
    };
    assert_eq!(tier(&m), Tier::Bronze);
    // Readings every 10 ticks, average weight 2: serving 1,000 verified tokens in a window
    // reads 100 tokens per tick; the average (0 + 100) / 2 = 50 ≥ Silver's 20.
    serve(&mut m, "walt", 1_000).expect("served");
    while refresh(&mut m) == Tier::Bronze {
        assert!(m.ledger.next_tick().0 < 200, "never promoted");
    }
    assert_eq!(tier(&m), Tier::Silver);
    // Another busy window: (50 + 100) / 2 = 75 ≥ Gold's 60.
    let mut promoted = false;
    for _ in 0..3 {
        serve(&mut m, "walt", 1_000).expect("served");
        if refresh(&mut m) == Tier::Gold {
            promoted = true;
            break;
        }
    }
    assert!(promoted, "{:#?}", view(&m, pool).pool);
    // Idle: the first low reading keeps Gold; the second demotes.
    let readings = |m: &Market| {
        m.ledger
            .events()
            .iter()
            .filter(|e| e.contract == POOLS)
            .filter_map(|e| match PoolEvent::try_from_slice(&e.data).ok()? {
                PoolEvent::Reading {
                    tier, low_readings, ..
                } => Some((tier, low_readings)),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    let before = readings(&m).len();
    m.advance(10);
    refresh(&mut m);
    let after = readings(&m);
    let new = &after[before..];
    assert!(!new.is_empty());
    assert_eq!(new[0], (Tier::Gold, 1), "one low reading keeps the tier");
    m.advance(10);
    refresh(&mut m);
    let after = readings(&m);
    let last_gold = after.iter().rposition(|r| r.0 == Tier::Gold).unwrap();
    assert_eq!(after[last_gold].1, 1);
    assert!(after[last_gold + 1].0 < Tier::Gold, "the second demotes");
    assert!(tier(&m) < Tier::Gold);
    // A job that was disputed and not checked does not count: nothing here disputes, so
    // check that unverified tokens are not counted via the events of settled jobs.
    for e in m.ledger.events().iter().filter(|e| e.contract == POOLS) {
        if let Ok(PoolEvent::JobSettled {
            verified_tokens, ..
        }) = PoolEvent::try_from_slice(&e.data)
        {
            assert_eq!(verified_tokens, 1_000);
        }
    }
    assert_pools(&m);
}

#[derive(Debug, Clone)]
enum Step {
    Join(usize, usize, i64),
    Leave(usize),
    Withdraw(usize),
    Serve(usize, u32),
    Slash(usize),
    Claim(usize),
    Wait(u32),
}

const WORKERS: [&str; 4] = ["walt", "wendy", "wade", "will"];

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0..4usize, 0..2usize, 1_000..4_000i64).prop_map(|(w, p, s)| Step::Join(w, p, s)),
        (0..4usize).prop_map(Step::Leave),
        (0..4usize).prop_map(Step::Withdraw),
        (0..4usize, 1..1_000u32).prop_map(|(w, t)| Step::Serve(w, t)),
        (0..4usize, 1..1_000u32).prop_map(|(w, t)| Step::Serve(w, t)),
        (0..4usize).prop_map(Step::Slash),
        (0..4usize).prop_map(Step::Claim),
        (1..25u32).prop_map(Step::Wait),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, max_shrink_iters: 50, ..ProptestConfig::default() })]

    /// Over random join/leave/serve/slash schedules in two pools (one by stake, one by work):
    /// money conserved to the unit, no negative balance, paid + carried == received per
    /// pool, dust bounded by the member count, no member paid out of another pool.
    #[test]
    fn random_pool_schedules_conserve_money(steps in proptest::collection::vec(step(), 1..24)) {
        let mut m = market();
        for w in WORKERS {
            worker(&mut m, w);
        }
        let pools = [
            create(&mut m, "olga", 1_234, PayoutScheme::ByStake),
            create(&mut m, "oscar", 777, PayoutScheme::ByWork { last_jobs: 3 }),
        ];
        for s in &steps {
            match *s {
                Step::Join(w, p, stake) => {
                    join(&mut m, WORKERS[w], pools[p], stake);
                }
                Step::Leave(w) => {
                    m.send(&key(WORKERS[w]), POOLS, LEAVE.number(), &(), 0);
                }
                Step::Withdraw(w) => {
                    m.send(&key(WORKERS[w]), POOLS, WITHDRAW.number(), &(), 0);
                }
                Step::Serve(w, t) => {
                    serve(&mut m, WORKERS[w], t);
                }
                Step::Slash(w) => {
                    fail_to_deliver(&mut m, WORKERS[w]);
                }
                Step::Claim(w) => {
                    m.send(&key(WORKERS[w]), POOLS, CLAIM.number(), &(), 0);
                }
                Step::Wait(n) => m.advance(n),
            }
            assert_pools(&m);
        }
        assert_no_cross_pool_pay(&m);
    }
}

#[test]
fn checked_pool_jobs_pay_and_count_when_passed_and_slash_the_pool_when_failed() {
    let mut m = market();
    // Three replicas besides walt, so that a dispute opens a check the resolver decides.
    for w in ["walt", "wendy", "wade", "will"] {
        worker(&mut m, w);
    }
    let pool = create(&mut m, "olga", 0, PayoutScheme::ByStake);
    assert_executed(&join(&mut m, "walt", pool, 1_000));
    assert_executed(&join(&mut m, "wendy", pool, 1_000));
    let alice = key("alice");
    let disputed = |m: &mut Market| {
        let id = m.submit(&alice, &spec(llama(), 1_000, 1_000, 500), 1_000);
        assert_executed(&m.claim(&key("walt"), id));
        assert_executed(&m.start(&key("walt"), id));
        assert_executed(&m.post(&key("walt"), id, 600));
        assert_executed(&m.dispute(&alice, id));
        assert_eq!(
            m.job(id).status,
            comqute_market::job_registry::JobStatus::Checking
        );
        id
    };
    // A passed check: paid through the pool, the tokens count as verified.
    let id = disputed(&mut m);
    assert_executed(&m.resolve(&key("rex"), id, true));
    assert_eq!(view(&m, pool).pool.received, Amount(600));
    let verified: Vec<u32> = m
        .ledger
        .events()
        .iter()
        .filter(|e| e.contract == POOLS)
        .filter_map(|e| match PoolEvent::try_from_slice(&e.data).ok()? {
            PoolEvent::JobSettled {
                verified_tokens, ..
            } => Some(verified_tokens),
            _ => None,
        })
        .collect();
    assert_eq!(verified, vec![600]);
    // A failed check: nothing paid, the pool's slash taken (1,000 from walt, 1,000 from
    // wendy) and paid to the requester.
    let id = disputed(&mut m);
    let before = m.balance(&alice);
    assert_executed(&m.resolve(&key("rex"), id, false));
    assert_eq!(view(&m, pool).pool.received, Amount(600));
    assert_eq!(view(&m, pool).pool.slashed, Amount(2_000));
    assert_eq!(view(&m, pool).pool.total_stake, Amount::ZERO);
    assert!(m.balance(&alice) - before >= 2_000 + 1_000);
    assert_pools(&m);
    assert_no_cross_pool_pay(&m);
}

//! Large jobs with sealed bids (`comqute_market::job_registry`, issue 19) on real ledgers
//! with the real contracts: reveals must match their commitments, late reveals are refused
//! and their bonds burn, the lowest valid price wins (ties: the higher tier, then the earlier
//! commit), a winning pool's members serve the parts and are paid through the pool to the
//! unit, an auction without a valid bid refunds in full, and refusals change nothing.

mod marketplace_common;

use borsh::BorshDeserialize;
use comqute_market::job_registry::{
    bid_commitment, large_job_escrow, BidOutcome, CommitBid, JobStatus, LargeJobRef, LargeJobSpec,
    LargeJobStats, LargeJobView, LargePart, LargePhase, OpenLargeJobs, RevealBid, Sampling,
    COMMIT_BID, GET_JOB, GET_LARGE_JOB, LARGE_JOB_STATS, OPEN_LARGE_JOBS, POST_LARGE_JOB,
    REVEAL_BID,
};
use comqute_market::pools::{
    CreatePool, MemberView, PayoutScheme, PoolConfig, PoolRef, PoolView, Tier, TierRule, CREATE,
    GET_POOL, JOIN, MEMBER_OF, REFRESH,
};
use comqute_market::{MarketConfig, WorkerId, JOB_REGISTRY, POOLS};
use comqute_qpi::{Amount, Hash32, Identity, Tick};
use marketplace_common::*;

const CAST: [&str; 8] = [
    "alice", "olga", "oscar", "walt", "wendy", "wade", "will", "rex",
];
const BOND: i64 = 100;

fn large_config() -> MarketConfig {
    let mut c = config(key("rex").identity());
    c.workers.slash_amount = Amount(100);
    c.workers.heartbeat_window = 1_000;
    c.jobs.large.bid_bond = Amount(BOND);
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

fn market() -> Market {
    Market::with_config(&CAST, large_config())
}

fn worker(m: &mut Market, who: &str) {
    let stake = m.config.workers.min_stake.0;
    m.register(&key(who), stake, caps(&[LLAMA], 1_000, 4));
}

fn create_pool(m: &mut Market, op: &str, fee_bps: u16) -> u64 {
    let c = CreatePool {
        fee_bps,
        scheme: PayoutScheme::ByStake,
        min_member_stake: Amount(1_000),
    };
    let r = m.send(&key(op), POOLS, CREATE.number(), &c, 1_000);
    assert_executed(&r);
    borsh::from_slice(&r.output).expect("pool id")
}

fn join(m: &mut Market, who: &str, pool: u64, stake: i64) {
    assert_executed(&m.send(&key(who), POOLS, JOIN.number(), &PoolRef { pool }, stake));
}

fn pool_view(m: &Market, pool: u64) -> PoolView {
    let v: Option<PoolView> = m
        .ledger
        .query_fn(GET_POOL, &PoolRef { pool })
        .expect("query");
    v.expect("pool exists")
}

fn owed(m: &Market, who: &str) -> i64 {
    let v: Option<MemberView> = m
        .ledger
        .query_fn(MEMBER_OF, &WorkerId(key(who).identity()))
        .expect("query");
    v.map_or(0, |v| v.owed.0)
}

fn large_spec(tokens: &[u32], max_price: i64, min_tier: Option<Tier>) -> LargeJobSpec {
    LargeJobSpec {
        model: llama(),
        parts: tokens
            .iter()
            .enumerate()
            .map(|(i, t)| LargePart {
                prompt_hash: Hash32::of(format!("chapter {i}").as_bytes()),
                prompt_size: 100,
                max_output_tokens: *t,
            })
            .collect(),
        commit_ticks: 6,
        reveal_ticks: 6,
        delivery_timeout_ticks: 50,
        max_price_per_1k: Amount(max_price),
        min_tier,
        sampling: Sampling {
            seed: 7,
            temperature_milli: 0,
        },
    }
}

fn post(m: &mut Market, spec: &LargeJobSpec) -> u64 {
    let escrow = large_job_escrow(&spec.parts, spec.max_price_per_1k).expect("escrow");
    let r = m.send(
        &key("alice"),
        JOB_REGISTRY,
        POST_LARGE_JOB.number(),
        spec,
        escrow.0,
    );
    assert_executed(&r);
    borsh::from_slice(&r.output).expect("large job id")
}

fn salt(who: &str) -> Hash32 {
    Hash32::of(format!("salt of {who}").as_bytes())
}

fn commit(
    m: &mut Market,
    who: &str,
    id: u64,
    pool: Option<u64>,
    price: i64,
) -> comqute_ledger::Receipt {
    let c = CommitBid {
        large_job_id: id,
        pool,
        commitment: bid_commitment(Amount(price), &salt(who), &key(who).identity()),
    };
    m.send(&key(who), JOB_REGISTRY, COMMIT_BID.number(), &c, BOND)
}

fn reveal_with(
    m: &mut Market,
    who: &str,
    id: u64,
    price: i64,
    s: Hash32,
) -> comqute_ledger::Receipt {
    let r = RevealBid {
        large_job_id: id,
        price_per_1k: Amount(price),
        salt: s,
    };
    m.send(&key(who), JOB_REGISTRY, REVEAL_BID.number(), &r, 0)
}

fn reveal(m: &mut Market, who: &str, id: u64, price: i64) -> comqute_ledger::Receipt {
    reveal_with(m, who, id, price, salt(who))
}

fn large(m: &Market, id: u64) -> LargeJobView {
    let v: Option<LargeJobView> = m
        .ledger
        .query_fn(GET_LARGE_JOB, &LargeJobRef { large_job_id: id })
        .expect("query");
    v.expect("large job exists")
}

fn large_stats(m: &Market) -> LargeJobStats {
    m.ledger.query_fn(LARGE_JOB_STATS, &()).expect("query")
}

fn to_reveal(m: &mut Market, id: u64) {
    let t = large(m, id).commit_ends;
    m.warp_to(Tick(t.0 + 1));
    assert_eq!(large(m, id).phase, LargePhase::Reveal);
}

fn close(m: &mut Market, id: u64) {
    let t = large(m, id).reveal_ends;
    m.warp_to(Tick(t.0 + 1));
}

fn burned(m: &Market) -> i128 {
    m.ledger.supply().burned
}

#[test]
fn a_mismatched_reveal_and_other_bad_calls_are_refused_and_change_nothing() {
    let mut m = market();
    worker(&mut m, "walt");
    worker(&mut m, "wendy");
    let pool = create_pool(&mut m, "olga", 500);
    join(&mut m, "wendy", pool, 1_000);
    let mut spec = large_spec(&[1_000, 500], 1_000, None);
    // Room for every refused commit below.
    spec.commit_ticks = 20;
    spec.reveal_ticks = 20;
    let digest = m.ledger.state_digest();
    // Bad posts.
    let alice = key("alice");
    let mut bad = spec.clone();
    bad.parts.clear();
    assert_rejected(
        &m.send(&alice, JOB_REGISTRY, POST_LARGE_JOB.number(), &bad, 1_500),
        "InvalidLargeJob",
    );
    let mut bad = spec.clone();
    bad.parts = vec![spec.parts[0].clone(); 17];
    assert_rejected(
        &m.send(&alice, JOB_REGISTRY, POST_LARGE_JOB.number(), &bad, 17_000),
        "InvalidLargeJob",
    );
    let mut bad = spec.clone();
    bad.commit_ticks = 0;
    assert_rejected(
        &m.send(&alice, JOB_REGISTRY, POST_LARGE_JOB.number(), &bad, 1_500),
        "InvalidLargeJob",
    );
    assert_rejected(
        &m.send(&alice, JOB_REGISTRY, POST_LARGE_JOB.number(), &spec, 1_499),
        "InsufficientEscrow",
    );
    assert_eq!(
        m.ledger.state_digest(),
        digest,
        "refused posts change nothing"
    );

    let id = post(&mut m, &spec);
    assert_executed(&commit(&mut m, "walt", id, None, 900));
    let digest = m.ledger.state_digest();
    // Bad commits.
    let c = |who: &str, pool| CommitBid {
        large_job_id: id,
        pool,
        commitment: bid_commitment(Amount(800), &salt(who), &key(who).identity()),
    };
    let send = |m: &mut Market, who: &str, c: &CommitBid, bond: i64| {
        m.send(&key(who), JOB_REGISTRY, COMMIT_BID.number(), c, bond)
    };
    assert_rejected(
        &send(&mut m, "wendy", &c("wendy", None), BOND - 1),
        "WrongBond",
    );
    assert_rejected(&send(&mut m, "walt", &c("walt", None), BOND), "AlreadyBid");
    assert_rejected(
        &send(&mut m, "alice", &c("alice", None), BOND),
        "SelfDealing",
    );
    assert_rejected(&send(&mut m, "wade", &c("wade", None), BOND), "NotABidder");
    assert_rejected(
        &send(&mut m, "oscar", &c("oscar", Some(pool)), BOND),
        "NotABidder",
    );
    assert_rejected(
        &send(&mut m, "olga", &c("olga", Some(9)), BOND),
        "NotABidder",
    );
    let mut unknown = c("wendy", None);
    unknown.large_job_id = 9;
    assert_rejected(&send(&mut m, "wendy", &unknown, BOND), "UnknownLargeJob");
    // A reveal before the reveal phase.
    assert_rejected(&reveal(&mut m, "walt", id, 900), "RevealNotOpen");
    assert_eq!(
        m.ledger.state_digest(),
        digest,
        "refused commits change nothing"
    );

    to_reveal(&mut m, id);
    let digest = m.ledger.state_digest();
    // Too late to commit; the wrong price, the wrong salt; no bid; money sent.
    assert_rejected(&commit(&mut m, "wendy", id, None, 800), "CommitClosed");
    assert_rejected(&reveal(&mut m, "walt", id, 901), "RevealMismatch");
    assert_rejected(
        &reveal_with(&mut m, "walt", id, 900, salt("wendy")),
        "RevealMismatch",
    );
    assert_rejected(&reveal(&mut m, "wendy", id, 800), "NoBid");
    let r = RevealBid {
        large_job_id: id,
        price_per_1k: Amount(900),
        salt: salt("walt"),
    };
    assert_rejected(
        &m.send(&key("walt"), JOB_REGISTRY, REVEAL_BID.number(), &r, 5),
        "UnexpectedPayment",
    );
    assert_eq!(
        m.ledger.state_digest(),
        digest,
        "refused reveals change nothing"
    );
    // Prices stay sealed in the view until the reveal deadline.
    assert_executed(&reveal(&mut m, "walt", id, 900));
    assert_rejected(&reveal(&mut m, "walt", id, 900), "AlreadyRevealed");
    let v = large(&m, id);
    assert!(v.bids[0].revealed);
    assert_eq!(v.bids[0].price_per_1k, None);
    close(&mut m, id);
    let v = large(&m, id);
    assert_eq!(v.phase, LargePhase::Awarded);
    assert_eq!(v.bids[0].price_per_1k, Some(Amount(900)));
    m.assert_money();
}

#[test]
fn a_late_reveal_is_refused_and_its_bond_burns() {
    let mut m = market();
    worker(&mut m, "walt");
    worker(&mut m, "wendy");
    let id = post(&mut m, &large_spec(&[1_000], 1_000, None));
    assert_executed(&commit(&mut m, "walt", id, None, 700));
    assert_executed(&commit(&mut m, "wendy", id, None, 900));
    assert_eq!(large_stats(&m).bonds_held, Amount(2 * BOND));
    let (walt, wendy, burned0) = (
        m.balance(&key("walt")),
        m.balance(&key("wendy")),
        burned(&m),
    );
    to_reveal(&mut m, id);
    assert_executed(&reveal(&mut m, "wendy", id, 900));
    close(&mut m, id);
    // walt's cheaper bid was never revealed: its bond burned at the deadline, wendy won.
    let digest = m.ledger.state_digest();
    assert_rejected(&reveal(&mut m, "walt", id, 700), "RevealClosed");
    assert_eq!(m.ledger.state_digest(), digest);
    assert_eq!(m.balance(&key("walt")), walt);
    assert_eq!(m.balance(&key("wendy")), wendy + BOND);
    assert_eq!(burned(&m) - burned0, i128::from(BOND));
    let v = large(&m, id);
    assert_eq!(v.bids[0].outcome, BidOutcome::Burned);
    assert_eq!(v.bids[1].outcome, BidOutcome::Won);
    let w = v.winner.expect("a winner");
    assert_eq!(w.bidder, key("wendy").identity());
    assert_eq!(w.price_per_1k, Amount(900));
    // 10% of 900 × 1,000 tokens / 1,000.
    assert_eq!(w.stake_locked, Amount(90));
    assert_eq!(large_stats(&m).bonds_held, Amount::ZERO);
    assert_eq!(large_stats(&m).bonds_burned, Amount(BOND));
    // The part is a normal job assigned to wendy at her bid, not her listed 1,000.
    let job = m.job(v.parts[0].0 .0);
    assert_eq!(job.status, JobStatus::Assigned);
    assert_eq!(job.worker, Some(WorkerId(key("wendy").identity())));
    assert_eq!(job.price_per_1k, Amount(900));
    m.assert_money();
}

#[test]
fn the_lowest_valid_bid_wins() {
    let mut m = market();
    for w in ["walt", "wendy", "wade", "will"] {
        worker(&mut m, w);
    }
    let id = post(&mut m, &large_spec(&[1_000, 1_000], 1_000, None));
    assert_executed(&commit(&mut m, "walt", id, None, 900));
    assert_executed(&commit(&mut m, "wendy", id, None, 800));
    assert_executed(&commit(&mut m, "wade", id, None, 1_001)); // above the maximum
    assert_executed(&commit(&mut m, "will", id, None, 0)); // not a price
    let before: Vec<i64> = ["walt", "wendy", "wade", "will"]
        .iter()
        .map(|w| m.balance(&key(w)))
        .collect();
    to_reveal(&mut m, id);
    for (w, p) in [("walt", 900), ("wendy", 800), ("wade", 1_001), ("will", 0)] {
        assert_executed(&reveal(&mut m, w, id, p));
    }
    close(&mut m, id);
    let v = large(&m, id);
    assert_eq!(
        v.winner.as_ref().map(|w| w.bidder),
        Some(key("wendy").identity())
    );
    // Every revealed bond went back.
    for (i, w) in ["walt", "wendy", "wade", "will"].iter().enumerate() {
        assert_eq!(m.balance(&key(w)), before[i] + BOND, "{w}");
    }
    // Both parts offered to the single worker.
    for (job, _) in &v.parts {
        let j = m.job(job.0);
        assert_eq!(j.worker, Some(WorkerId(key("wendy").identity())));
        assert_eq!(j.price_per_1k, Amount(800));
    }
    m.assert_money();
}

#[test]
fn a_tie_goes_to_the_earlier_commit_among_equal_tiers() {
    let mut m = market();
    worker(&mut m, "walt");
    worker(&mut m, "wendy");
    let id = post(&mut m, &large_spec(&[1_000], 1_000, None));
    assert_executed(&commit(&mut m, "wendy", id, None, 700));
    assert_executed(&commit(&mut m, "walt", id, None, 700));
    to_reveal(&mut m, id);
    assert_executed(&reveal(&mut m, "walt", id, 700));
    assert_executed(&reveal(&mut m, "wendy", id, 700));
    close(&mut m, id);
    let w = large(&m, id).winner.expect("a winner");
    assert_eq!(w.bidder, key("wendy").identity(), "the earlier commit");
    m.assert_money();
}

/// A pool promoted to Silver by serving one verified job of 1,000 tokens.
fn silver_pool(m: &mut Market, op: &str, members: &[(&str, i64)]) -> u64 {
    let pool = create_pool(m, op, 1_000);
    for (w, stake) in members {
        join(m, w, pool, *stake);
    }
    let server = members[0].0;
    let job = m.submit(&key("alice"), &spec(llama(), 1_000, 1_000, 500), 1_000);
    assert_executed(&m.claim(&key(server), job));
    assert_executed(&m.start(&key(server), job));
    assert_executed(&m.post(&key(server), job, 1_000));
    m.advance(m.config.jobs.challenge_window + 1);
    loop {
        let r = m.send(&key(op), POOLS, REFRESH.number(), &PoolRef { pool }, 0);
        assert_executed(&r);
        if Tier::try_from_slice(&r.output).unwrap() >= Tier::Silver {
            break;
        }
        assert!(m.ledger.next_tick().0 < 200, "never promoted");
    }
    pool
}

#[test]
fn a_tie_goes_to_the_higher_tier_before_the_earlier_commit() {
    let mut m = market();
    worker(&mut m, "walt");
    worker(&mut m, "wendy");
    let pool = silver_pool(&mut m, "olga", &[("walt", 1_000)]);
    // A Silver minimum keeps single workers out.
    let id = post(&mut m, &large_spec(&[1_000], 1_000, Some(Tier::Silver)));
    assert_rejected(&commit(&mut m, "wendy", id, None, 700), "NotABidder");
    let id = post(&mut m, &large_spec(&[1_000], 1_000, None));
    assert_executed(&commit(&mut m, "wendy", id, None, 700));
    assert_executed(&commit(&mut m, "olga", id, Some(pool), 700));
    to_reveal(&mut m, id);
    assert_executed(&reveal(&mut m, "wendy", id, 700));
    assert_executed(&reveal(&mut m, "olga", id, 700));
    close(&mut m, id);
    let v = large(&m, id);
    assert_eq!(v.bids[1].tier, Tier::Silver);
    let w = v.winner.expect("a winner");
    assert_eq!((w.bidder, w.pool), (key("olga").identity(), Some(pool)));
    assert_eq!(
        m.job(v.parts[0].0 .0).worker,
        Some(WorkerId(key("walt").identity()))
    );
    m.assert_money();
}

#[test]
fn a_pool_wins_its_members_serve_the_parts_and_are_paid_to_the_unit() {
    let mut m = market();
    for w in ["walt", "wendy", "wade"] {
        worker(&mut m, w);
    }
    let pool = create_pool(&mut m, "olga", 1_000);
    join(&mut m, "walt", pool, 3_000);
    join(&mut m, "wendy", pool, 1_000);
    let names = ["alice", "olga", "walt", "wendy", "wade"];
    let start: Vec<i64> = names.iter().map(|n| m.balance(&key(n))).collect();
    let id = post(&mut m, &large_spec(&[1_000, 1_000, 500], 1_000, None));
    assert_eq!(large(&m, id).escrow, Amount(2_500));
    let open: comqute_market::job_registry::LargeJobPage = m
        .ledger
        .query_fn(
            OPEN_LARGE_JOBS,
            &OpenLargeJobs {
                cursor: None,
                limit: 10,
            },
        )
        .expect("query");
    assert_eq!(open.jobs.len(), 1);
    assert_executed(&commit(&mut m, "wade", id, None, 900));
    assert_executed(&commit(&mut m, "olga", id, Some(pool), 800));
    to_reveal(&mut m, id);
    assert_executed(&reveal(&mut m, "olga", id, 800));
    assert_executed(&reveal(&mut m, "wade", id, 900));
    close(&mut m, id);
    let v = large(&m, id);
    let w = v.winner.clone().expect("a winner");
    assert_eq!(w.pool, Some(pool));
    // 10% of 800 × 2,500 tokens / 1,000.
    assert_eq!(w.stake_locked, Amount(200));
    let open: comqute_market::job_registry::LargeJobPage = m
        .ledger
        .query_fn(
            OPEN_LARGE_JOBS,
            &OpenLargeJobs {
                cursor: None,
                limit: 10,
            },
        )
        .expect("query");
    assert!(open.jobs.is_empty());
    // The parts go round the active members: both serve, one of them twice.
    let members = [key("walt").identity(), key("wendy").identity()];
    let mut served = [0; 2];
    for (job, _) in &v.parts {
        let j = m.job(job.0);
        assert_eq!(j.status, JobStatus::Assigned);
        assert_eq!(j.price_per_1k, Amount(800));
        let who = j.worker.expect("assigned").0;
        let i = members.iter().position(|x| *x == who).expect("a member");
        served[i] += 1;
    }
    assert!(served[0] >= 1 && served[1] >= 1, "{served:?}");
    // Each member starts and delivers, as its daemon would: 1,000, 700, 250 tokens.
    let delivered = [1_000u32, 700, 250];
    for ((job, _), tokens) in v.parts.iter().zip(delivered) {
        let who = m.job(job.0).worker.expect("assigned").0;
        let k = if who == members[0] {
            key("walt")
        } else {
            key("wendy")
        };
        assert_executed(&m.start(&k, job.0));
        assert_executed(&m.post(&k, job.0, tokens));
    }
    m.advance(m.config.jobs.challenge_window + 1);
    let mut paid = 0i64;
    let mut fees = 0i64;
    for ((job, escrow), tokens) in v.parts.iter().zip(delivered) {
        let j = m.job(job.0);
        assert_eq!(j.status, JobStatus::Finalized);
        let pay = i64::from(tokens) * 800 / 1_000;
        assert_eq!(j.paid, Amount(pay));
        assert_eq!(j.refunded, Amount(escrow.0 - pay));
        paid += pay;
        fees += pay * 1_000 / 10_000;
    }
    assert_eq!(paid, 800 + 560 + 200);
    let now: Vec<i64> = names.iter().map(|n| m.balance(&key(n))).collect();
    let delta = |i: usize| now[i] - start[i];
    // The requester paid exactly the work; the operator got its fee; the members got the
    // rest, paid or owed, with the pool's dust carried: to the unit.
    assert_eq!(delta(0), -paid);
    assert_eq!(delta(1), fees);
    let pv = pool_view(&m, pool);
    assert_eq!(pv.pool.received, Amount(paid));
    assert_eq!(pv.paid.0 + pv.carried.0, paid);
    let members_got = delta(2) + delta(3) + owed(&m, "walt") + owed(&m, "wendy");
    assert_eq!(fees + members_got + pv.carried.0, paid);
    // wade lost the auction and got its bond back.
    assert_eq!(delta(4), 0);
    // Nothing else moved: the whole cast, the contracts and the burn add up.
    let total: i64 =
        names.iter().map(|n| m.balance(&key(n))).sum::<i64>() - start.iter().sum::<i64>();
    assert_eq!(
        total,
        -(pv.carried.0 + owed(&m, "walt") + owed(&m, "wendy"))
    );
    assert_eq!(
        m.ledger.balance(&Identity::contract(JOB_REGISTRY)),
        Amount::ZERO
    );
    m.assert_money();
}

#[test]
fn no_valid_bid_refunds_the_requester_in_full() {
    let mut m = market();
    worker(&mut m, "walt");
    let alice = m.balance(&key("alice"));
    let id = post(&mut m, &large_spec(&[1_000, 300], 1_000, None));
    assert_eq!(m.balance(&key("alice")), alice - 1_300);
    // Nobody bids: refunded in full, no job records.
    close(&mut m, id);
    let v = large(&m, id);
    assert_eq!(v.phase, LargePhase::Unawarded);
    assert_eq!(m.balance(&key("alice")), alice);
    for (job, _) in &v.parts {
        let j: Option<comqute_market::job_registry::Job> = m
            .ledger
            .query_fn(
                GET_JOB,
                &comqute_market::job_registry::JobRef { job_id: *job },
            )
            .expect("query");
        assert!(j.is_none());
    }
    m.assert_money();
    // Only a bid above the maximum: refunded too, and the bond goes back.
    let id = post(&mut m, &large_spec(&[1_000], 500, None));
    assert_executed(&commit(&mut m, "walt", id, None, 600));
    let walt = m.balance(&key("walt"));
    to_reveal(&mut m, id);
    assert_executed(&reveal(&mut m, "walt", id, 600));
    close(&mut m, id);
    assert_eq!(large(&m, id).phase, LargePhase::Unawarded);
    assert_eq!(m.balance(&key("alice")), alice);
    assert_eq!(m.balance(&key("walt")), walt + BOND);
    assert_eq!(large(&m, id).bids[0].outcome, BidOutcome::Returned);
    m.assert_money();
}

#[test]
fn bad_large_job_settings_are_refused_with_a_typed_error() {
    use comqute_market::job_registry::{JobConfigError, LargeJobConfigError};
    let mut c = large_config();
    assert!(c.validate().is_ok());
    c.jobs.large.max_parts = 0;
    assert!(matches!(
        c.jobs.validate(),
        Err(JobConfigError::Large(LargeJobConfigError::OutOfRange {
            field: "maxParts",
            ..
        }))
    ));
    assert!(c.validate().is_err());
    let mut c = large_config();
    c.jobs.large.min_reveal_ticks = 10;
    c.jobs.large.max_reveal_ticks = 9;
    assert_eq!(
        c.jobs.validate(),
        Err(JobConfigError::Large(LargeJobConfigError::PhaseBounds(
            "reveal"
        )))
    );
    let mut c = large_config();
    c.jobs.large.bid_bond = Amount(0);
    assert!(c.jobs.validate().is_err());
}

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config::with_cases(24))]

    /// Any mix of bids — honest reveals, reveals with a wrong salt, no reveal, prices out of
    /// range — moves money only by the rules: an honestly revealed bid gets its whole bond
    /// back, an unrevealed one burns exactly its bond (and a wrong reveal leaves it
    /// unrevealed), nobody ends with more than they started with, the requester's escrow is
    /// all refunded when nobody wins, the winner is the lowest valid price (the earlier commit
    /// on a tie), and money is conserved to the unit.
    #[test]
    fn bids_move_money_only_by_the_rules(
        max_price in 100i64..2_000,
        bids in proptest::collection::vec((0i64..2_500, 0u8..3), 1..5),
    ) {
        let bidders = ["walt", "wendy", "wade", "will"];
        let mut m = market();
        for w in bidders {
            worker(&mut m, w);
        }
        let start: Vec<i64> = bidders.iter().map(|w| m.balance(&key(w))).collect();
        let alice_start = m.balance(&key("alice"));
        let burned_start = burned(&m);
        let id = post(&mut m, &large_spec(&[500, 300], max_price, None));
        for (i, (price, _)) in bids.iter().enumerate() {
            assert_executed(&commit(&mut m, bidders[i], id, None, *price));
        }
        to_reveal(&mut m, id);
        // 0: honest reveal; 1: a wrong salt (refused, so unrevealed); 2: no reveal.
        for (i, (price, how)) in bids.iter().enumerate() {
            match how {
                0 => assert_executed(&reveal(&mut m, bidders[i], id, *price)),
                1 => {
                    let r = reveal_with(&mut m, bidders[i], id, *price, Hash32::of(b"wrong"));
                    proptest::prop_assert!(r.status != comqute_ledger::TxStatus::Executed);
                }
                _ => {}
            }
        }
        close(&mut m, id);
        let v = large(&m, id);
        let mut unrevealed = 0i128;
        for (i, (_, how)) in bids.iter().enumerate() {
            let now = m.balance(&key(bidders[i]));
            if *how == 0 {
                proptest::prop_assert_eq!(now, start[i], "{} revealed: its bond back", bidders[i]);
            } else {
                unrevealed += 1;
                proptest::prop_assert_eq!(now, start[i] - BOND, "{} lost its bond", bidders[i]);
            }
        }
        for (i, w) in bidders.iter().enumerate().skip(bids.len()) {
            proptest::prop_assert_eq!(m.balance(&key(w)), start[i]);
        }
        proptest::prop_assert_eq!(burned(&m) - burned_start, unrevealed * i128::from(BOND));
        let best = bids
            .iter()
            .enumerate()
            .filter(|(_, (p, how))| *how == 0 && (1..=max_price).contains(p))
            .min_by_key(|(i, (p, _))| (*p, *i));
        match best {
            None => {
                proptest::prop_assert_eq!(v.phase, LargePhase::Unawarded);
                proptest::prop_assert_eq!(m.balance(&key("alice")), alice_start);
            }
            Some((i, (p, _))) => {
                proptest::prop_assert_eq!(v.phase, LargePhase::Awarded);
                let w = v.winner.as_ref().expect("a winner");
                proptest::prop_assert_eq!(w.bidder, key(bidders[i]).identity());
                proptest::prop_assert_eq!(w.price_per_1k, Amount(*p));
                // The requester's money is in the parts' escrow, none of it lost yet.
                let locked: i64 = v.parts.iter().map(|(_, e)| e.0).sum();
                proptest::prop_assert_eq!(m.balance(&key("alice")) + locked, alice_start);
            }
        }
        m.assert_money();
    }
}

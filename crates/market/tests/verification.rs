//! Verification by rule (`comqute_market::verification`), on real ledgers with the real
//! contracts: spot checks drawn by the chain, replicas that commit and reveal, verdicts by
//! majority, escalation, silent replicas, challenges, the slash's split, and whole markets
//! (an honest one and one with a cheater) run through thousands of jobs.
//!
//! Figures the market runs print (`cargo test -p comqute-market --test verification --
//! --nocapture`) are quoted in BENCHMARKS.md.

mod marketplace_common;

use std::collections::BTreeMap;

use borsh::BorshDeserialize;
use comqute_ledger::{Keypair, Transaction};
use comqute_market::harness as invariants;
use comqute_market::job_registry::{
    JobEvent, JobRef, JobResult, JobStatus, PostResult, POST_RESULT, START, SUBMIT,
};
use comqute_market::verification::{
    commitment, Check, CheckPhase, CheckRecord, CheckStats, Commit, JobRef as VJobRef, Reveal,
    SeatState, VerdictKind, VerifyConfig, Vote, COMMIT, GET_CHECK, PPM, REVEAL, STATS,
    WORKER_CHECKS,
};
use comqute_market::worker_registry::{Heartbeat, SetAvailable, HEARTBEAT, SET_AVAILABLE};
use comqute_market::WORKER_REGISTRY;
use comqute_market::{payment, JobId, MarketConfig, WorkerId, JOB_REGISTRY, VERIFICATION};
use comqute_qpi::contract::encode;
use comqute_qpi::{Amount, Hash32, Identity, Tick};
use marketplace_common::*;

/// The honest output of a job (what every honest run of it hashes to).
fn honest(job: u64) -> Hash32 {
    Hash32::of(&[b"honest".as_slice(), &job.to_le_bytes()].concat())
}

/// A lie about a job.
fn lie(job: u64) -> Hash32 {
    Hash32::of(&[b"lie".as_slice(), &job.to_le_bytes()].concat())
}

/// Settings for the scenario tests: the defaults (fee, split, windows), spot checks off so
/// that only a challenge opens a check, and a devnet resolver.
fn check_config(resolver: Identity) -> MarketConfig {
    let mut c = config(resolver);
    c.verification = VerifyConfig {
        spot_checks: false,
        ..VerifyConfig::default()
    };
    c
}

const REPLICAS: [&str; 9] = [
    "rana", "rita", "ravi", "rosa", "rudy", "ruth", "rick", "reba", "rolf",
];

/// A market where `walt` posted `posted` for job 1 and alice challenged it; `n` replicas
/// (workers of the model) are registered and online. Returns the market and the job id.
fn challenged(n: usize, posted: fn(u64) -> Hash32, cfg: MarketConfig) -> (Market, u64) {
    let mut cast = vec!["alice", "walt", "rex", "mallory"];
    cast.extend(&REPLICAS[..n]);
    let mut m = Market::with_config(&cast, cfg);
    let (alice, walt) = (key("alice"), key("walt"));
    m.register(&walt, 10_000, caps(&[LLAMA], 1_000, 1));
    for r in &REPLICAS[..n] {
        m.register(&key(r), 10_000, caps(&[LLAMA], 1_000, 1));
    }
    let id = m.submit(&alice, &spec(llama(), 1_000, 3_000, 500), 3_000);
    assert_executed(&m.claim(&walt, id));
    assert_executed(&m.start(&walt, id));
    let post = PostResult {
        job_id: JobId(id),
        result: JobResult {
            result_hash: posted(id),
            output_tokens: 800,
            runtime: Hash32::ZERO,
        },
    };
    assert_executed(&m.send(&walt, JOB_REGISTRY, POST_RESULT.number(), &post, 0));
    assert_eq!(m.job(id).status, JobStatus::Completed);
    assert_executed(&m.dispute(&alice, id));
    (m, id)
}

fn check(m: &Market, id: u64) -> Check {
    let c: Option<Check> = m
        .ledger
        .query_fn(GET_CHECK, &VJobRef { job_id: JobId(id) })
        .expect("check query");
    c.expect("the job has a check")
}

fn stats(m: &Market) -> CheckStats {
    m.ledger.query_fn(STATS, &()).expect("stats")
}

fn record(m: &Market, who: &Identity) -> CheckRecord {
    m.ledger
        .query_fn(WORKER_CHECKS, &WorkerId(*who))
        .expect("record")
}

fn salt(who: &Keypair) -> Hash32 {
    Hash32::of(&who.identity().0)
}

/// The seats of the current round, by name.
fn seated(m: &Market, id: u64) -> Vec<&'static str> {
    let c = check(m, id);
    c.current()
        .map(|s| {
            *REPLICAS
                .iter()
                .find(|n| key(n).identity() == s.replica.0)
                .expect("a replica of the cast")
        })
        .collect()
}

fn commit(m: &mut Market, who: &str, id: u64, vote: Vote) -> comqute_ledger::Receipt {
    let k = key(who);
    let c = Commit {
        job_id: JobId(id),
        commitment: commitment(&vote, &salt(&k), &k.identity(), JobId(id)),
    };
    let bond = m.config.verification.replica_bond.0;
    m.send(&k, VERIFICATION, COMMIT.number(), &c, bond)
}

fn reveal(m: &mut Market, who: &str, id: u64, vote: Vote) -> comqute_ledger::Receipt {
    let k = key(who);
    let r = Reveal {
        job_id: JobId(id),
        vote,
        salt: salt(&k),
    };
    m.send(&k, VERIFICATION, REVEAL.number(), &r, 0)
}

/// Every seat of the current round commits, then reveals, its vote.
fn vote_all(m: &mut Market, id: u64, votes: &[(&str, Vote)]) {
    for (who, v) in votes {
        assert_executed(&commit(m, who, id, *v));
    }
    for (who, v) in votes {
        assert_executed(&reveal(m, who, id, *v));
    }
}

fn found(id: u64) -> Vote {
    Vote::Reproduced {
        result_hash: honest(id),
    }
}

#[test]
fn a_lie_is_caught_by_a_majority_and_the_slash_is_split_by_rule() {
    let (mut m, id) = challenged(3, lie, check_config(key("rex").identity()));
    let (alice, walt) = (key("alice"), key("walt"));
    let seats = seated(&m, id);
    assert_eq!(seats.len(), 3);
    assert_eq!(m.job(id).status, JobStatus::Checking);
    // 800 tokens at 1,000 per 1k: a payment of 800; the bond is three replicas' rewards.
    let bond = m.config.verification.challenge_bond(Amount(800));
    assert_eq!(bond, Amount(2_400));
    assert_eq!(check(&m, id).challenger_bond, bond);
    let alice_before = m.balance(&alice);
    let replicas_before: Vec<i64> = seats.iter().map(|r| m.balance(&key(r))).collect();
    let burned_before = m.ledger.supply().burned;
    let votes: Vec<(&str, Vote)> = seats.iter().map(|r| (*r, found(id))).collect();
    vote_all(&mut m, id, &votes);
    let job = m.job(id);
    assert_eq!(
        (job.status, job.verdict, job.paid, job.refunded, job.slashed),
        (
            JobStatus::Resolved,
            Some(VerdictKind::Failed),
            Amount::ZERO,
            Amount(3_000),
            Amount(5_000)
        )
    );
    let c = check(&m, id);
    assert_eq!(c.phase, CheckPhase::Settled);
    let st = c.settlement.clone().expect("settled");
    // 5,000 slashed: 40% to the three majority replicas (666 each, 2 burned), 20% to the
    // challenger, 20% to the requester (both alice here), 20% burned.
    assert_eq!(st.to_replicas, Amount(1_998));
    assert_eq!(
        (st.to_challenger, st.to_requester),
        (Amount(1_000), Amount(1_000))
    );
    assert_eq!(st.burned, Amount(1_002));
    assert_eq!(m.ledger.supply().burned - burned_before, 1_002);
    // Alice: her escrow back, her bond back, both shares.
    assert_eq!(m.balance(&alice), alice_before + 3_000 + bond.0 + 2_000);
    for (i, r) in seats.iter().enumerate() {
        let rec = record(&m, &key(r).identity());
        assert_eq!((rec.seats, rec.with_majority), (1, 1));
        // Bond back, a reward from the (empty) pool, 666 of the slash.
        assert_eq!(
            m.balance(&key(r)),
            replicas_before[i] + 666 + rec.earned.0 - 666
        );
    }
    let w = m.worker(&walt).worker;
    assert_eq!(
        (w.stake, w.checks_failed, w.reputation),
        (Amount(5_000), 1, 3_000)
    );
    let rec = record(&m, &walt.identity());
    assert_eq!((rec.checked, rec.failed, rec.streak), (1, 1, 0));
    assert_eq!(stats(&m).bonds_held, Amount::ZERO);
    m.assert_money();
    invariants::checks_end_in_one_verdict(&m.ledger).unwrap();
}

#[test]
fn an_honest_result_passes_and_the_challenger_loses_its_bond() {
    let (mut m, id) = challenged(3, honest, check_config(key("rex").identity()));
    let (alice, walt) = (key("alice"), key("walt"));
    let walt_before = m.balance(&walt);
    let alice_before = m.balance(&alice);
    let bond = check(&m, id).challenger_bond;
    let seats = seated(&m, id);
    let votes: Vec<(&str, Vote)> = seats.iter().map(|r| (*r, found(id))).collect();
    vote_all(&mut m, id, &votes);
    let job = m.job(id);
    // Paid less the 10% fee, the rest refunded; finalized by its verdict.
    assert_eq!(
        (job.status, job.verdict, job.paid, job.fee, job.refunded),
        (
            JobStatus::Finalized,
            Some(VerdictKind::Passed),
            Amount(720),
            Amount(80),
            Amount(2_200)
        )
    );
    let st = check(&m, id).settlement.expect("settled");
    // Half the bond to the worker, half to the replicas.
    assert_eq!(st.bond_to_worker, Amount(bond.0 - bond.0 / 2));
    assert_eq!(m.balance(&walt), walt_before + 720 + st.bond_to_worker.0);
    assert_eq!(m.balance(&alice), alice_before + 2_200);
    let rec = record(&m, &walt.identity());
    assert_eq!((rec.passed, rec.streak), (1, 1));
    assert_eq!(m.worker(&walt).worker.reputation, 5_100);
    m.assert_money();
}

#[test]
fn one_colluding_replica_of_three_cannot_flip_a_verdict_two_can() {
    // One colluder votes for the lie; two honest replicas find the real output.
    let (mut m, id) = challenged(3, lie, check_config(key("rex").identity()));
    let seats = seated(&m, id);
    let mut votes: Vec<(&str, Vote)> = seats.iter().map(|r| (*r, found(id))).collect();
    votes[0].1 = Vote::Reproduced {
        result_hash: lie(id),
    };
    vote_all(&mut m, id, &votes);
    assert_eq!(m.job(id).verdict, Some(VerdictKind::Failed));
    // The colluder was outvoted: its bond is gone, its reputation down.
    let colluder = record(&m, &key(votes[0].0).identity());
    assert_eq!((colluder.outvoted, colluder.bonds_lost), (1, Amount(1_000)));
    assert_eq!(m.worker(&key(votes[0].0)).worker.reputation, 4_700);

    // Two colluders of three flip it: that is what `q` prices.
    let (mut m, id) = challenged(3, lie, check_config(key("rex").identity()));
    let seats = seated(&m, id);
    let mut votes: Vec<(&str, Vote)> = seats.iter().map(|r| (*r, found(id))).collect();
    for v in votes.iter_mut().take(2) {
        v.1 = Vote::Reproduced {
            result_hash: lie(id),
        };
    }
    vote_all(&mut m, id, &votes);
    assert_eq!(m.job(id).verdict, Some(VerdictKind::Passed));

    // The rate the chain charges makes a majority of colluders unprofitable: with the
    // default collusion share r = 20%, q = P(2 or 3 of 3 collude) = 10.4%, and the rate p
    // for a job paying P with S at stake satisfies p > P / ((1−q)(P+S)); the largest q
    // at which that p still deters is 1 − P / (p (P+S)).
    let c = VerifyConfig::default();
    let q = c.collusion_majority_ppm(3);
    assert_eq!(q, 104_000);
    for (p_amt, s_amt) in [
        (100i64, 5_000i64),
        (1_000, 5_000),
        (2_400, 5_000),
        (100, 2_000),
    ] {
        let rate = c.rate_ppm(Amount(p_amt), Amount(s_amt), c.trusted_after);
        let q_max =
            1.0 - p_amt as f64 / (f64::from(rate) / f64::from(PPM) * (p_amt + s_amt) as f64);
        eprintln!(
            "P {p_amt}, S {s_amt}: default p = {:.2}%, deters while q < {:.1}% (q at r = 20%: {:.1}%)",
            f64::from(rate) / 1e4,
            q_max * 100.0,
            f64::from(q) / 1e4
        );
        assert!(f64::from(q) / f64::from(PPM) < q_max);
    }
}

#[test]
fn no_majority_escalates_once_to_five_replicas() {
    // Round 1: pass, fail, abstain: no majority of 3.
    let (mut m, id) = challenged(8, honest, check_config(key("rex").identity()));
    let seats = seated(&m, id);
    vote_all(
        &mut m,
        id,
        &[
            (seats[0], found(id)),
            (
                seats[1],
                Vote::Reproduced {
                    result_hash: lie(id),
                },
            ),
            (seats[2], Vote::Unable),
        ],
    );
    let c = check(&m, id);
    assert_eq!(
        (c.round, c.seats_wanted, c.phase),
        (2, 5, CheckPhase::Commit)
    );
    let round2 = seated(&m, id);
    assert_eq!(round2.len(), 5);
    assert!(round2.iter().all(|r| !seats.contains(r)), "fresh replicas");
    // Round 2: 3 of 5 find the posted output: passed.
    let mut votes: Vec<(&str, Vote)> = round2.iter().map(|r| (*r, found(id))).collect();
    votes[3].1 = Vote::Unable;
    votes[4].1 = Vote::Scored { agreement_bps: 10 };
    vote_all(&mut m, id, &votes);
    assert_eq!(m.job(id).verdict, Some(VerdictKind::Passed));
    assert_eq!(stats(&m).escalated, 1);
    m.assert_money();

    // Both rounds split: refunded in full, nobody slashed.
    let (mut m, id) = challenged(8, lie, check_config(key("rex").identity()));
    let walt = key("walt");
    let seats = seated(&m, id);
    let split = |id| {
        [
            found(id),
            Vote::Reproduced {
                result_hash: lie(id),
            },
            Vote::Unable,
            Vote::Unable,
            Vote::Unable,
        ]
    };
    let votes: Vec<(&str, Vote)> = seats.iter().zip(split(id)).map(|(r, v)| (*r, v)).collect();
    vote_all(&mut m, id, &votes);
    let round2 = seated(&m, id);
    let votes: Vec<(&str, Vote)> = round2.iter().zip(split(id)).map(|(r, v)| (*r, v)).collect();
    vote_all(&mut m, id, &votes);
    let job = m.job(id);
    assert_eq!(
        (job.status, job.verdict, job.refunded, job.slashed),
        (
            JobStatus::Resolved,
            Some(VerdictKind::NoMajority),
            Amount(3_000),
            Amount::ZERO
        )
    );
    assert_eq!(m.worker(&walt).worker.stake, Amount(10_000));
    m.assert_money();
}

#[test]
fn a_result_nobody_can_check_is_unverifiable_paid_and_never_slashed() {
    let (mut m, id) = challenged(3, lie, check_config(key("rex").identity()));
    let seats = seated(&m, id);
    let votes: Vec<(&str, Vote)> = seats.iter().map(|r| (*r, Vote::Unable)).collect();
    vote_all(&mut m, id, &votes);
    let job = m.job(id);
    assert_eq!(
        (job.status, job.verdict, job.slashed),
        (
            JobStatus::Finalized,
            Some(VerdictKind::Unverifiable),
            Amount::ZERO
        )
    );
    // Without any replica the challenge is unverifiable at once.
    let (m, id) = challenged(1, lie, check_config(key("rex").identity()));
    let job = m.job(id);
    assert_eq!(
        (job.status, job.verdict),
        (JobStatus::Finalized, Some(VerdictKind::Unverifiable))
    );
    m.assert_money();
}

#[test]
fn a_silent_replica_loses_its_bond_and_is_replaced_once() {
    let (mut m, id) = challenged(4, lie, check_config(key("rex").identity()));
    let seats = seated(&m, id);
    let silent = seats[2];
    for r in &seats {
        assert_executed(&commit(&mut m, r, id, found(id)));
    }
    for r in &seats[..2] {
        assert_executed(&reveal(&mut m, r, id, found(id)));
    }
    // The third never reveals: at its deadline its bond is forfeited and the fourth worker
    // takes a fresh seat.
    let reveal_by = check(&m, id).seats[2].reveal_by;
    m.warp_to(reveal_by);
    // The unseated worker is online (a heartbeat in the deadline's tick).
    let spare = REPLICAS[..4].iter().find(|r| !seats.contains(r)).unwrap();
    assert_executed(&m.send(
        &key(spare),
        WORKER_REGISTRY,
        HEARTBEAT.number(),
        &Heartbeat::default(),
        0,
    ));
    let r = reveal(&mut m, silent, id, found(id));
    assert_rejected(&r, "Late");
    let c = check(&m, id);
    assert_eq!(c.seats[2].state, SeatState::Silent);
    let fresh = c
        .seats
        .iter()
        .find(|s| s.replacement)
        .expect("a replacement");
    assert_eq!(fresh.state, SeatState::Assigned);
    let fresh = *REPLICAS
        .iter()
        .find(|n| key(n).identity() == fresh.replica.0)
        .unwrap();
    assert!(!seats.contains(&fresh));
    vote_all(&mut m, id, &[(fresh, found(id))]);
    assert_eq!(
        m.job(id).verdict,
        Some(VerdictKind::Failed),
        "{:#?}",
        check(&m, id)
    );
    let rec = record(&m, &key(silent).identity());
    assert_eq!((rec.silent, rec.bonds_lost), (1, Amount(1_000)));
    m.assert_money();
}

#[test]
fn refused_calls_get_typed_errors_and_change_nothing() {
    let (mut m, id) = challenged(3, lie, check_config(key("rex").identity()));
    let (walt, mallory) = (key("walt"), key("mallory"));
    let seats = seated(&m, id);
    let digest = m.ledger.state_digest();
    // Not a replica.
    let c = Commit {
        job_id: JobId(id),
        commitment: Hash32::ZERO,
    };
    assert_rejected(
        &m.send(&mallory, VERIFICATION, COMMIT.number(), &c, 1_000),
        "NotReplica",
    );
    // A bond too small.
    assert_rejected(
        &m.send(&key(seats[0]), VERIFICATION, COMMIT.number(), &c, 999),
        "BondTooSmall",
    );
    // A reveal before every replica committed.
    assert_rejected(&reveal(&mut m, seats[0], id, found(id)), "WrongPhase");
    // An unknown check.
    let r = Reveal {
        job_id: JobId(99),
        vote: Vote::Unable,
        salt: Hash32::ZERO,
    };
    assert_rejected(
        &m.send(&mallory, VERIFICATION, REVEAL.number(), &r, 0),
        "UnknownCheck",
    );
    // Only the job registry opens, settles, forces.
    let settle = comqute_market::verification::Settle {
        job_id: JobId(id),
        slashed: Amount::ZERO,
    };
    assert_rejected(
        &m.send(
            &mallory,
            VERIFICATION,
            comqute_market::verification::SETTLE.number(),
            &settle,
            0,
        ),
        "NotAuthorized",
    );
    assert_eq!(m.ledger.state_digest(), digest, "refusals change nothing");
    for r in &seats {
        assert_executed(&commit(&mut m, r, id, found(id)));
    }
    // Twice.
    assert_rejected(&commit(&mut m, seats[0], id, found(id)), "AlreadyDone");
    // A reveal of another vote than committed.
    assert_rejected(
        &reveal(&mut m, seats[0], id, Vote::Unable),
        "CommitMismatch",
    );
    let bad = Vote::Scored {
        agreement_bps: 10_001,
    };
    assert_rejected(&reveal(&mut m, seats[0], id, bad), "InvalidVote");
    // The worker may not challenge its own result, nor anyone a checked one.
    assert_rejected(&m.dispute(&walt, id), "WrongStatus");
    m.assert_money();
}

#[test]
fn a_normal_node_forces_no_verdict_and_a_devnet_marks_the_forced_one() {
    // Forced verdicts off (the default genesis): even the named resolver is refused.
    let mut cfg = check_config(key("rex").identity());
    cfg.jobs.forced_verdicts = false;
    let (mut m, id) = challenged(3, lie, cfg);
    assert_rejected(&m.resolve(&key("rex"), id, false), "NotResolver");
    // A devnet's resolver may, and the receipt says it was forced.
    let (mut m, id) = challenged(3, lie, check_config(key("rex").identity()));
    assert_rejected(&m.resolve(&key("alice"), id, false), "NotResolver");
    let r = m.resolve(&key("rex"), id, false);
    assert_executed(&r);
    assert!(r.events.iter().any(|e| e.contract == JOB_REGISTRY
        && matches!(
            JobEvent::try_from_slice(&e.data),
            Ok(JobEvent::Verified { forced: true, .. })
        )));
    let c = check(&m, id);
    assert!(c.forced);
    assert_eq!(m.job(id).verdict, Some(VerdictKind::Failed));
    m.assert_money();
}

#[test]
fn challenging_ones_own_lie_through_other_identities_loses_money() {
    // walt lies; alice (the requester) and mallory (the challenger) are walt's own other
    // identities: the owner pays the stake and gets back less.
    let cfg = check_config(key("rex").identity());
    let mut cast = vec!["alice", "walt", "rex", "mallory"];
    cast.extend(&REPLICAS[..3]);
    let mut m = Market::with_config(&cast, cfg);
    let (alice, walt, mallory) = (key("alice"), key("walt"), key("mallory"));
    m.register(&walt, 10_000, caps(&[LLAMA], 1_000, 1));
    for r in &REPLICAS[..3] {
        m.register(&key(r), 10_000, caps(&[LLAMA], 1_000, 1));
    }
    let owner = |m: &Market| -> i64 {
        let w = m.worker(&walt).worker.stake.0;
        m.balance(&alice) + m.balance(&walt) + m.balance(&mallory) + w
    };
    let before = owner(&m);
    let id = m.submit(&alice, &spec(llama(), 1_000, 3_000, 500), 3_000);
    assert_executed(&m.claim(&walt, id));
    assert_executed(&m.start(&walt, id));
    let post = PostResult {
        job_id: JobId(id),
        result: JobResult {
            result_hash: lie(id),
            output_tokens: 800,
            runtime: Hash32::ZERO,
        },
    };
    assert_executed(&m.send(&walt, JOB_REGISTRY, POST_RESULT.number(), &post, 0));
    assert_executed(&m.dispute(&mallory, id));
    let seats = seated(&m, id);
    let votes: Vec<(&str, Vote)> = seats.iter().map(|r| (*r, found(id))).collect();
    vote_all(&mut m, id, &votes);
    assert_eq!(m.job(id).verdict, Some(VerdictKind::Failed));
    let after = owner(&m);
    eprintln!("self-challenge: the owner's money went from {before} to {after}");
    // The stake lost (5,000) against the shares got back (challenger 1,000, requester
    // 1,000): 3,000 lost.
    assert_eq!(after - before, -3_000);
    m.assert_money();
}

// --- whole markets ---------------------------------------------------------------------

/// How a simulated worker behaves.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Behaviour {
    /// Posts the honest output, serves its replica seats honestly.
    Honest,
    /// Posts a lie on this share of its jobs (ppm), serves seats honestly.
    Cheater(u32),
}

/// A market of workers and requesters driven tick by tick, unsigned (the ledger checks
/// signatures elsewhere; here speed matters), with the daemon's behaviour: start every
/// offer, post the next tick, commit and reveal every seat.
struct Sim {
    m: Market,
    workers: Vec<(Identity, Behaviour)>,
    requesters: Vec<Identity>,
    /// Jobs to post: job → worker index.
    started: BTreeMap<u64, usize>,
    /// Seats committed, to reveal once reveals open: (job, worker index, vote).
    to_reveal: Vec<(u64, usize, Vote)>,
    submitted: u64,
    last_seen: Tick,
    /// Each worker's balance + stake after registering.
    initial: Vec<i64>,
}

const SIM_WORKERS: [&str; 9] = ["wa", "wb", "wc", "wd", "we", "wf", "wg", "wh", "wi"];
const SIM_REQUESTERS: [&str; 4] = ["qa", "qb", "qc", "qd"];
/// Output tokens of every simulated job, at a price of 1,000 per 1k: a payment of 100.
const SIM_TOKENS: u32 = 100;

impl Sim {
    /// Cheaters ask 900 per 1k, honest workers 1,000: a cheater undercuts to get work.
    fn new(behaviours: &[Behaviour], stake: i64) -> Sim {
        Sim::with(behaviours, stake, |_| {})
    }

    /// The same with settings changed by `tweak`.
    fn with(behaviours: &[Behaviour], stake: i64, tweak: impl FnOnce(&mut MarketConfig)) -> Sim {
        let mut cfg = MarketConfig {
            jobs: comqute_market::job_registry::JobConfig {
                challenge_window: 10,
                max_matches_per_tick: 64,
                max_settlements_per_tick: 256,
                ..MarketConfig::default().jobs
            },
            ..MarketConfig::default()
        };
        tweak(&mut cfg);
        let mut names: Vec<&str> = SIM_WORKERS[..behaviours.len()].to_vec();
        names.extend(SIM_REQUESTERS);
        let mut m = Market::with_config(&names, cfg);
        let mut workers = Vec::new();
        for (i, b) in behaviours.iter().enumerate() {
            let k = key(SIM_WORKERS[i]);
            let price = match b {
                Behaviour::Honest => 1_000,
                Behaviour::Cheater(_) => 900,
            };
            m.register(&k, stake, caps(&[LLAMA], price, 16));
            assert_executed(&m.send(
                &k,
                WORKER_REGISTRY,
                SET_AVAILABLE.number(),
                &SetAvailable {
                    available: true,
                    session: 0,
                },
                0,
            ));
            workers.push((k.identity(), *b));
        }
        let requesters = SIM_REQUESTERS.iter().map(|n| key(n).identity()).collect();
        let initial = workers
            .iter()
            .map(|(w, _)| {
                m.ledger.balance(w).0 + m.try_worker(w).expect("registered").worker.stake.0
            })
            .collect();
        let last_seen = m.ledger.next_tick();
        Sim {
            m,
            workers,
            requesters,
            started: BTreeMap::new(),
            to_reveal: Vec::new(),
            submitted: 0,
            last_seen,
            initial,
        }
    }

    fn call<I: borsh::BorshSerialize>(
        &mut self,
        who: Identity,
        contract: comqute_qpi::ContractIndex,
        procedure: u16,
        input: &I,
        amount: i64,
    ) {
        let tx = Transaction::call(
            who,
            contract,
            Amount(amount),
            self.m.ledger.next_tick(),
            procedure,
            encode(input),
        );
        self.m.ledger.submit_unsigned(tx).expect("admitted");
    }

    fn index_of(&self, id: &Identity) -> Option<usize> {
        self.workers.iter().position(|(w, _)| w == id)
    }

    /// One tick: read what happened in the ticks since the last, act, tick.
    fn step(&mut self, submit: u64, total: u64) {
        let now = self.m.ledger.next_tick();
        let events: Vec<comqute_ledger::Event> = self
            .m
            .ledger
            .events()
            .iter()
            .rev()
            .take_while(|e| e.tick >= self.last_seen)
            .collect();
        self.last_seen = now;
        let bond = self.m.config.verification.replica_bond.0;
        for e in events.iter().rev() {
            if e.contract == JOB_REGISTRY {
                if let Ok(JobEvent::Assigned { job_id, worker, .. }) =
                    JobEvent::try_from_slice(&e.data)
                {
                    if let Some(i) = self.index_of(&worker.0) {
                        self.call(
                            worker.0,
                            JOB_REGISTRY,
                            START.number(),
                            &JobRef { job_id },
                            0,
                        );
                        self.started.insert(job_id.0, i);
                    }
                }
            } else if e.contract == VERIFICATION {
                if let Ok(comqute_market::verification::CheckEvent::ReplicaAssigned {
                    job_id,
                    replica,
                    ..
                }) = comqute_market::verification::CheckEvent::try_from_slice(&e.data)
                {
                    if let Some(i) = self.index_of(&replica.0) {
                        // Every replica here re-runs the job and finds the honest output.
                        let vote = found(job_id.0);
                        let c = Commit {
                            job_id,
                            commitment: commitment(&vote, &Hash32::ZERO, &replica.0, job_id),
                        };
                        self.call(replica.0, VERIFICATION, COMMIT.number(), &c, bond);
                        self.to_reveal.push((job_id.0, i, vote));
                    }
                }
            }
        }
        // Results of the jobs started in the previous tick.
        let due: Vec<(u64, usize)> = self.started.iter().map(|(j, i)| (*j, *i)).collect();
        for (job, i) in due {
            if self.m.job(job).status != JobStatus::Running {
                continue;
            }
            self.started.remove(&job);
            let (who, b) = self.workers[i];
            let lies = match b {
                Behaviour::Honest => false,
                Behaviour::Cheater(ppm) => {
                    let h = Hash32::of(&[b"coin".as_slice(), &job.to_le_bytes()].concat());
                    u32::from_le_bytes([h.0[0], h.0[1], h.0[2], h.0[3]]) % PPM < ppm
                }
            };
            let post = PostResult {
                job_id: JobId(job),
                result: JobResult {
                    result_hash: if lies { lie(job) } else { honest(job) },
                    output_tokens: SIM_TOKENS,
                    runtime: Hash32::ZERO,
                },
            };
            self.call(who, JOB_REGISTRY, POST_RESULT.number(), &post, 0);
        }
        // Reveals once every seat committed.
        let pending = std::mem::take(&mut self.to_reveal);
        for (job, i, vote) in pending {
            let c = check(&self.m, job);
            let open = c
                .current()
                .any(|s| s.replica.0 == self.workers[i].0 && s.state == SeatState::Committed);
            if c.phase == CheckPhase::Reveal && open {
                let r = Reveal {
                    job_id: JobId(job),
                    vote,
                    salt: Hash32::ZERO,
                };
                let who = self.workers[i].0;
                self.call(who, VERIFICATION, REVEAL.number(), &r, 0);
            } else if matches!(c.phase, CheckPhase::Commit | CheckPhase::Reveal) {
                self.to_reveal.push((job, i, vote));
            }
        }
        // Heartbeats, and new jobs.
        if now.0.is_multiple_of(40) {
            for (w, _) in self.workers.clone() {
                self.call(
                    w,
                    WORKER_REGISTRY,
                    HEARTBEAT.number(),
                    &Heartbeat::default(),
                    0,
                );
            }
        }
        for _ in 0..submit.min(total - self.submitted) {
            let r = self.requesters[(self.submitted % 4) as usize];
            let mut s = spec(llama(), SIM_TOKENS, 1_000, 200);
            s.sampling.seed = self.submitted;
            self.call(r, JOB_REGISTRY, SUBMIT.number(), &s, 100);
            self.submitted += 1;
        }
        self.m.tick();
    }

    /// Submits `total` jobs, `per_tick` a tick, and runs until every job is closed.
    fn run(&mut self, total: u64, per_tick: u64) {
        while self.submitted < total {
            self.step(per_tick, total);
        }
        for _ in 0..400 {
            let live = self
                .m
                .stats()
                .jobs
                .by_status
                .iter()
                .any(|(s, n)| !s.is_terminal() && *n > 0);
            if !live {
                return;
            }
            self.step(0, total);
        }
        panic!("jobs still live: {:?}", self.m.stats().jobs.by_status);
    }

    /// Worker i's money (balance + stake) gained since it registered.
    fn worker_net(&self, i: usize) -> i64 {
        let (id, _) = self.workers[i];
        let w = self.m.try_worker(&id).expect("registered").worker;
        self.m.ledger.balance(&id).0 + w.stake.0 - self.initial[i]
    }
}

#[test]
fn an_honest_market_of_2000_jobs_has_spot_checks_that_all_pass() {
    let mut sim = Sim::new(&[Behaviour::Honest; 8], 10_000);
    sim.run(2_000, 25);
    let s = stats(&sim.m);
    let jobs = sim.m.stats().jobs;
    assert_eq!(jobs.submitted, 2_000);
    assert_eq!(
        jobs.count(JobStatus::Finalized),
        2_000,
        "{:?}",
        jobs.by_status
    );
    assert_eq!(jobs.total_slashed, Amount::ZERO);
    assert!(s.spot_checks > 0);
    assert_eq!(
        (s.passed, s.failed, s.no_majority, s.unverifiable),
        (s.spot_checks, 0, 0, 0)
    );
    assert_eq!(s.bonds_held, Amount::ZERO);
    for i in 0..8 {
        let w = sim.m.try_worker(&sim.workers[i].0).unwrap().worker;
        assert_eq!(w.stake, Amount(10_000));
    }
    sim.m.assert_money();
    invariants::checks_end_in_one_verdict(&sim.m.ledger).unwrap();
    let seats = s.seats;
    let fee = jobs.total_fees;
    eprintln!(
        "honest market: 2000 jobs, {} spot checks ({:.1}%), {} replica runs = {:.3} extra \
         inferences per job; fees {} units ({} a job), rewards paid {} units",
        s.spot_checks,
        s.spot_checks as f64 / 20.0,
        seats,
        seats as f64 / 2_000.0,
        fee,
        fee.0 / 2_000,
        s.rewards_paid
    );
}

#[test]
fn a_cheater_is_caught_at_the_predicted_rate_and_ends_below_honest_pay() {
    const JOBS: u64 = 10_000;
    const LIE_PPM: u32 = 500_000;
    let mut behaviours = vec![Behaviour::Honest; 8];
    behaviours[0] = Behaviour::Cheater(LIE_PPM);
    let stake = 2_000_000;
    let mut sim = Sim::new(&behaviours, stake);
    sim.run(JOBS, 25);
    let cheater = sim.workers[0].0;
    // Every result the cheater posted, with the rate the draw used.
    let mut lies = 0u64;
    let mut expected = 0f64;
    let mut variance = 0f64;
    let mut caught = 0u64;
    let mut served = 0u64;
    let mut honest_pay = 0i64;
    for e in sim.m.ledger.events() {
        if e.contract != JOB_REGISTRY {
            continue;
        }
        match JobEvent::try_from_slice(&e.data) {
            Ok(JobEvent::ResultPosted {
                job_id,
                worker,
                result,
                check_rate_ppm,
                ..
            }) if worker.0 == cheater => {
                served += 1;
                let job = sim.m.job(job_id.0);
                let pay = payment(result.output_tokens, job.price_per_1k, job.escrow);
                honest_pay += pay.0 - comqute_market::verification::share(pay, 1_000).0;
                if result.result_hash == lie(job_id.0) {
                    lies += 1;
                    let p = f64::from(check_rate_ppm) / f64::from(PPM);
                    expected += p;
                    variance += p * (1.0 - p);
                }
            }
            Ok(JobEvent::Verified {
                job_id,
                verdict: Some(VerdictKind::Failed),
                ..
            }) => {
                let j = sim.m.job(job_id.0);
                assert_eq!(
                    j.worker.map(|w| w.0),
                    Some(cheater),
                    "only the cheater fails"
                );
                caught += 1;
            }
            _ => {}
        }
    }
    let sigma = variance.sqrt();
    eprintln!(
        "cheater: served {served} of {JOBS} jobs, lied {lies} times, caught {caught} \
         (expected {expected:.1} ± {sigma:.1} from the draw's rates)"
    );
    assert!(lies > 100, "{lies} lies");
    assert!(
        (caught as f64 - expected).abs() <= 4.0 * sigma + 1.0,
        "caught {caught}, expected {expected:.1} ± {sigma:.1}"
    );
    let net = sim.worker_net(0);
    // Honest workers lost nothing and no honest result failed.
    for i in 1..8 {
        let w = sim.m.try_worker(&sim.workers[i].0).unwrap().worker;
        assert_eq!((w.stake, w.checks_failed), (Amount(stake), 0));
    }
    eprintln!(
        "cheater's net {net} units against {honest_pay} had it served the same jobs honestly \
         ({:.0} units a job against {:.0})",
        net as f64 / served as f64,
        honest_pay as f64 / served as f64
    );
    assert!(net < honest_pay, "cheating paid: {net} ≥ {honest_pay}");
    assert!(
        net < 0,
        "a cheater at this rate loses money outright: {net}"
    );
    sim.m.assert_money();
    invariants::checks_end_in_one_verdict(&sim.m.ledger).unwrap();
}

/// A cheater that lies on every job, at spot-check rates p and slash amounts S set by hand:
/// its measured earnings per job beside the formula. Per job a pure cheater (it does no work,
/// so it saves the whole price) expects `(1 − p)(P − fee) − p·S`; honesty (paid `P − fee`
/// for work that costs up to `P`) is worth at least 0. The Proof-of-Sampling rate
/// `P / ((1−q)(P+S))` is where the first turns negative (q = 0 here: no colluders).
#[test]
fn a_cheaters_profit_per_job_follows_the_formula_across_rates_and_stakes() {
    let mut rows = Vec::new();
    for (slash, rates) in [
        (1_000i64, &[0u32, 100_000, 250_000][..]),
        (5_000, &[0, 50_000, 100_000, 250_000][..]),
    ] {
        for &rate in rates {
            let mut behaviours = vec![Behaviour::Honest; 5];
            behaviours[0] = Behaviour::Cheater(PPM);
            let mut sim = Sim::with(&behaviours, 5_000_000, |c| {
                c.workers.slash_amount = Amount(slash);
                c.verification.min_rate_ppm = rate;
                c.verification.newcomer_rate_ppm = rate;
                // The formula's floor below these rates: collusion assumed away and a stake
                // far above the price, so the rate is the one set here.
                c.verification.collusion_ppm = 0;
            });
            sim.run(2_000, 25);
            let cheater = sim.workers[0].0;
            // The rate the draw used on each of the cheater's results: the one set here, or
            // the deterring bound when that is higher (the contract never goes below it).
            let rates: Vec<u32> = sim
                .m
                .ledger
                .events()
                .iter()
                .filter(|e| e.contract == JOB_REGISTRY)
                .filter_map(|e| match JobEvent::try_from_slice(&e.data) {
                    Ok(JobEvent::ResultPosted {
                        worker,
                        check_rate_ppm,
                        ..
                    }) if worker.0 == cheater => Some(check_rate_ppm),
                    _ => None,
                })
                .collect();
            let served = rates.len() as f64;
            // What it earned by its own results: its money, less what it earned as a
            // replica of others' checks.
            let as_replica = record(&sim.m, &cheater).earned.0;
            let net = (sim.worker_net(0) - as_replica) as f64;
            let p = rates.iter().map(|r| f64::from(*r)).sum::<f64>() / served / 1e6;
            let (pay, fee) = (90.0, 9.0);
            let formula = (1.0 - p) * (pay - fee) - p * slash as f64;
            let measured = net / served;
            let bound = pay / (pay + slash as f64);
            rows.push((slash, p, served, measured, formula, bound));
            // Within the binomial noise of the draws: sd of the per-job figure is
            // (P − fee + S)·sqrt(p(1−p)/n).
            let sd = (pay - fee + slash as f64) * (p * (1.0 - p) / served).sqrt();
            assert!(
                (measured - formula).abs() <= 4.0 * sd + 1.0,
                "S {slash}, p {p}: measured {measured:.1} a job, formula {formula:.1} ± {sd:.1}"
            );
        }
    }
    eprintln!("| stake at risk S | rate p (as drawn) | jobs the cheater served | measured units / job | formula (1−p)(P−fee) − p·S | p where cheating stops paying, P/(P+S) |");
    eprintln!("|---|---|---|---|---|---|");
    for (slash, p, served, measured, formula, bound) in rows {
        eprintln!(
            "| {slash} | {:.1}% | {served} | {measured:.1} | {formula:.1} | {:.2}% |",
            p * 100.0,
            bound * 100.0
        );
    }
    let c = VerifyConfig::default();
    eprintln!(
        "default: S = 5,000, P = 90: p = {:.2}% for a trusted worker, {:.0}% for a new one",
        f64::from(c.rate_ppm(Amount(90), Amount(5_000), c.trusted_after)) / 1e4,
        f64::from(c.newcomer_rate_ppm) / 1e4
    );
}

//! The price oracle (`comqute_market::price_oracle`) on real ledgers: a simulated market whose
//! jobs settle through the job registry every epoch, one identity pair trading with itself
//! at an absurd price, estimates before any job settled, a refused caller, and a property
//! test of the per-epoch move over random observation streams (through a stand-in job
//! registry that relays them).

mod marketplace_common;

use std::sync::Arc;

use borsh::BorshDeserialize;
use comqute_ledger::{Ledger, TxStatus};
use comqute_market::job_registry::{JobStatus, SUBMIT};
use comqute_market::price_oracle::{
    Estimate, EstimateQuery, ModelPrice, ModelRef, ModelsPage, ModelsQuery, Observation,
    OracleConfig, OracleEvent, PriceOracle, Recorded, SkipReason, ESTIMATE, MODELS, PRICE, RECORD,
};
use comqute_market::{JobId, MarketConfig, WorkerId, PRICE_ORACLE};
use comqute_qpi::contract::{decode_input, encode, Contract, Ctx, Output, TickWork, View};
use comqute_qpi::error::ContractError;
use comqute_qpi::{Amount, ContractIndex, Identity};
use marketplace_common::*;
use proptest::prelude::*;

/// Ticks per epoch in these markets: a round of jobs (submit, match, start, post, the
/// challenge window, finalization) fits in one.
const EPOCH: u32 = 40;
/// The true price of the simulated market, per 1k tokens.
const TRUE_PRICE: i64 = 1_000;

/// `prefix` and two letters for `i`: distinct lowercase names.
fn name(prefix: &str, i: usize) -> String {
    let a = char::from(b'a' + u8::try_from(i / 26).expect("small"));
    let b = char::from(b'a' + u8::try_from(i % 26).expect("small"));
    format!("{prefix}{a}{b}")
}

/// An honest worker of the simulated market: its name, price and the tokens its jobs
/// produce. 21 workers at `TRUE_PRICE ± 15·k` (k = 0..=10), each pair at ±k producing the
/// same tokens, so the token-weighted median of the market is exactly `TRUE_PRICE`.
fn honest_workers() -> Vec<(String, i64, u32)> {
    let mut w = vec![(name("work", 0), TRUE_PRICE, 400)];
    for k in 1..=10usize {
        let tokens = 400 + 50 * u32::try_from(k).expect("small");
        let d = 15 * i64::try_from(k).expect("small");
        w.push((name("work", 2 * k - 1), TRUE_PRICE - d, tokens));
        w.push((name("work", 2 * k), TRUE_PRICE + d, tokens));
    }
    w
}

fn requesters() -> Vec<String> {
    (0..8).map(|i| name("reqs", i)).collect()
}

/// A market with the honest cast, `extra` names funded too, epochs of [`EPOCH`] ticks.
fn market(cfg: MarketConfig, extra: &[&str]) -> Market {
    let mut names: Vec<String> = honest_workers().into_iter().map(|w| w.0).collect();
    names.extend(requesters());
    names.extend(extra.iter().map(|s| (*s).to_owned()));
    let ids: Vec<Identity> = names.iter().map(|n| key(n).identity()).collect();
    let ledger = builder(cfg.clone(), &ids)
        .epoch_ticks(EPOCH)
        .build()
        .expect("genesis");
    let mut m = Market {
        ledger,
        config: cfg,
    };
    for (w, price, _) in honest_workers() {
        m.available_worker(&key(&w), price, 1);
    }
    next_epoch(&mut m);
    m
}

/// Runs ticks until the next epoch starts (the ending epoch's END_EPOCH has run).
fn next_epoch(m: &mut Market) {
    let e = m.ledger.epoch();
    while m.ledger.epoch() == e {
        m.advance(1);
    }
}

/// Queues `who`'s call of a job procedure on `job` for the next tick.
fn queue_job_call(m: &mut Market, who: &str, p: u16, job: u64) {
    let r = comqute_market::job_registry::JobRef { job_id: JobId(job) };
    m.queue(&key(who), comqute_market::JOB_REGISTRY, p, &r, 0);
}

/// The next job id the registry hands out.
fn next_job_id(m: &Market) -> u64 {
    m.stats().jobs.submitted + 1
}

/// One round of the honest market: every requester submits its share of 21 jobs in one
/// tick, the matcher gives each to a worker (cheapest first, one slot each), and each worker
/// starts and posts its tokens. Returns the jobs' ids, not yet finalized.
fn honest_round(m: &mut Market) -> Vec<u64> {
    for w in honest_workers() {
        m.queue(
            &key(&w.0),
            comqute_market::WORKER_REGISTRY,
            comqute_market::worker_registry::HEARTBEAT.number(),
            &comqute_market::worker_registry::Heartbeat {
                session: 0,
                takeover: false,
            },
            0,
        );
    }
    m.tick();
    let first = next_job_id(m);
    let reqs = requesters();
    let n = honest_workers().len();
    for i in 0..n {
        let mut s = spec(llama(), 1_000, 2 * TRUE_PRICE, 500);
        s.sampling.seed = first + i as u64;
        m.queue(
            &key(&reqs[i % reqs.len()]),
            comqute_market::JOB_REGISTRY,
            SUBMIT.number(),
            &s,
            2 * TRUE_PRICE,
        );
    }
    m.tick();
    (first..first + n as u64).collect()
}

/// Starts and posts every assigned job in `ids`, each worker its own token count.
fn serve(m: &mut Market, ids: &[u64], tokens_of: &dyn Fn(&Identity) -> u32) {
    let names: Vec<String> = honest_workers()
        .into_iter()
        .map(|w| w.0)
        .chain(["sybil".to_owned()])
        .collect();
    let holder = |m: &Market, id: u64| {
        let w = m.job(id).worker.expect("assigned").0;
        names
            .iter()
            .find(|n| key(n).identity() == w)
            .expect("a worker of the cast")
            .clone()
    };
    for &id in ids {
        assert_eq!(m.job(id).status, JobStatus::Assigned, "job {id}");
        let w = holder(m, id);
        queue_job_call(m, &w, comqute_market::job_registry::START.number(), id);
    }
    m.tick();
    for &id in ids {
        let w = holder(m, id);
        let tokens = tokens_of(&key(&w).identity());
        let p = comqute_market::job_registry::PostResult {
            job_id: JobId(id),
            result: result(tokens),
        };
        m.queue(
            &key(&w),
            comqute_market::JOB_REGISTRY,
            comqute_market::job_registry::POST_RESULT.number(),
            &p,
            0,
        );
    }
    m.tick();
    m.advance(m.config.jobs.challenge_window + 2);
    for &id in ids {
        assert_eq!(m.job(id).status, JobStatus::Finalized, "job {id}");
    }
}

fn honest_tokens(w: &Identity) -> u32 {
    honest_workers()
        .into_iter()
        .find(|h| key(&h.0).identity() == *w)
        .map_or(1_000, |h| h.2)
}

fn price(m: &Market) -> Option<ModelPrice> {
    m.ledger
        .query_fn(PRICE, &ModelRef::Name(LLAMA.into()))
        .expect("price")
}

fn median(m: &Market) -> i64 {
    price(m)
        .and_then(|p| p.median_per_1k)
        .expect("a published price")
        .0
}

fn estimate(m: &Market, max_output_tokens: u32) -> Estimate {
    m.ledger
        .query_fn(
            ESTIMATE,
            &EstimateQuery {
                model: ModelRef::Name(LLAMA.into()),
                prompt_tokens: 20,
                max_output_tokens,
            },
        )
        .expect("estimate")
}

fn within(v: i64, target: i64, bps: i64) -> bool {
    (v - target).abs() * 10_000 <= target * bps
}

#[test]
fn converges_to_the_clearing_price_within_two_percent_in_three_epochs() {
    let mut m = market(config(key("rex").identity()), &[]);
    let mut medians = Vec::new();
    for _ in 0..3 {
        let ids = honest_round(&mut m);
        serve(&mut m, &ids, &honest_tokens);
        next_epoch(&mut m);
        medians.push(median(&m));
    }
    let last = *medians.last().expect("three epochs");
    assert!(
        within(last, TRUE_PRICE, 200),
        "published medians {medians:?}, true price {TRUE_PRICE}"
    );
    let p = price(&m).expect("published");
    let (p25, p75) = (p.p25_per_1k.expect("p25").0, p.p75_per_1k.expect("p75").0);
    assert!(p25 < last && last < p75, "band {p25}..{p75} around {last}");
    // 21 samples a round; after three the oldest round weighs a quarter, none dropped.
    assert_eq!(p.published_samples, 63);
    match estimate(&m, 2_000) {
        Estimate::Priced {
            median_per_1k,
            cost_low,
            cost_median,
            cost_high,
            ..
        } => {
            assert_eq!(median_per_1k, Amount(last));
            assert_eq!(cost_median, Amount(2 * last));
            assert_eq!((cost_low, cost_high), (Amount(2 * p25), Amount(2 * p75)));
        }
        e => panic!("expected a price, got {e:?}"),
    }
    m.assert_money();
}

/// The absurd price the pair trades at: 100 times the market's.
const ABSURD: i64 = 100 * TRUE_PRICE;

/// `mallory` submits `jobs` jobs at an absurd price and her own second identity, `sybil` (a
/// registered worker at that price), serves them, 1,000 tokens each.
fn wash_round(m: &mut Market, jobs: u64) {
    let first = next_job_id(m);
    m.queue(
        &key("sybil"),
        comqute_market::WORKER_REGISTRY,
        comqute_market::worker_registry::HEARTBEAT.number(),
        &comqute_market::worker_registry::Heartbeat {
            session: 0,
            takeover: false,
        },
        0,
    );
    for i in 0..jobs {
        let mut s = spec(llama(), 1_000, ABSURD, 500);
        s.sampling.seed = first + i;
        m.queue(
            &key("mallory"),
            comqute_market::JOB_REGISTRY,
            SUBMIT.number(),
            &s,
            ABSURD,
        );
    }
    m.tick();
    let ids: Vec<u64> = (first..first + jobs).collect();
    for &id in &ids {
        assert_eq!(
            m.job(id).worker.map(|w| w.0),
            Some(key("sybil").identity()),
            "the honest workers are busy or too cheap: the sybil gets job {id}"
        );
    }
    serve(m, &ids, &|_| 1_000);
}

fn wash_market(cfg: MarketConfig) -> Market {
    let mut m = market(cfg, &["mallory", "sybil"]);
    let stake = m.config.workers.min_stake.0;
    m.register(&key("sybil"), stake, caps(&[LLAMA], ABSURD, 20));
    let r = m.send(
        &key("sybil"),
        comqute_market::WORKER_REGISTRY,
        comqute_market::worker_registry::SET_AVAILABLE.number(),
        &comqute_market::worker_registry::SetAvailable {
            available: true,
            session: 0,
        },
        0,
    );
    assert_executed(&r);
    next_epoch(&mut m);
    m
}

#[test]
fn one_identity_pair_trading_with_itself_moves_the_median_at_most_the_cap() {
    let mut m = wash_market(config(key("rex").identity()));
    let ids = honest_round(&mut m);
    serve(&mut m, &ids, &honest_tokens);
    next_epoch(&mut m);
    let before = median(&m);
    assert!(within(before, TRUE_PRICE, 200), "{before}");
    // The next epoch: the honest market as usual, and the pair with more volume at 100
    // times the price (20 jobs of 1,000 tokens against the market's 13,900 tokens).
    let ids = honest_round(&mut m);
    wash_round(&mut m, 20);
    serve(&mut m, &ids, &honest_tokens);
    next_epoch(&mut m);
    let p = price(&m).expect("published");
    let after = median(&m);
    let allowed = m.config.oracle.allowed_move(Amount(before));
    assert!(after - before <= allowed, "{before} -> {after}");
    // The per-identity cap bounds it further: the pair's weight is cut to 1/8 of the total
    // as worker and as requester, so the samples' own median stays within 5% of the market.
    let raw = p.raw_median_per_1k.expect("raw").0;
    assert!(within(raw, TRUE_PRICE, 500), "raw median {raw}");
    assert!(within(after, TRUE_PRICE, 500), "published {after}");
    m.assert_money();
}

#[test]
fn with_only_the_pair_trading_the_median_still_moves_at_most_ten_percent_an_epoch() {
    // No memory (weights decay to nothing at each epoch end) and no identity cap: only the
    // per-epoch clamp stands between the pair and the published price.
    let mut cfg = config(key("rex").identity());
    cfg.oracle = OracleConfig {
        decay_bps: 0,
        identity_cap_bps: 10_000,
        ..OracleConfig::default()
    };
    let mut m = wash_market(cfg);
    let ids = honest_round(&mut m);
    serve(&mut m, &ids, &honest_tokens);
    next_epoch(&mut m);
    let mut prev = median(&m);
    // The honest market goes quiet; only the pair trades.
    for (w, _, _) in honest_workers() {
        m.queue(
            &key(&w),
            comqute_market::WORKER_REGISTRY,
            comqute_market::worker_registry::SET_AVAILABLE.number(),
            &comqute_market::worker_registry::SetAvailable {
                available: false,
                session: 0,
            },
            0,
        );
    }
    m.tick();
    for _ in 0..3 {
        wash_round(&mut m, 5);
        next_epoch(&mut m);
        let p = price(&m).expect("published");
        assert_eq!(p.raw_median_per_1k, Some(Amount(ABSURD)));
        let now = median(&m);
        assert_eq!(now, prev + m.config.oracle.allowed_move(Amount(prev)));
        prev = now;
    }
    assert!(prev < TRUE_PRICE * 14 / 10, "{prev}");
}

#[test]
fn estimates_before_any_settled_job_say_there_is_no_data() {
    let mut m = market(config(key("rex").identity()), &[]);
    assert_eq!(
        estimate(&m, 1_000),
        Estimate::NoData {
            model: llama(),
            pending_observations: 0
        }
    );
    assert_eq!(price(&m), None);
    // Jobs settled, the epoch not yet over: still no price, and it says what is pending.
    let ids = honest_round(&mut m);
    serve(&mut m, &ids, &honest_tokens);
    assert_eq!(
        estimate(&m, 1_000),
        Estimate::NoData {
            model: llama(),
            pending_observations: 21
        }
    );
    let p = price(&m).expect("a book");
    assert_eq!((p.median_per_1k, p.samples), (None, 21));
    // A job the requester serves itself is never observed (the registry refuses the claim;
    // the oracle skips it anyway, see the unit tests), and another model stays without data.
    let other: Estimate = m
        .ledger
        .query_fn(
            ESTIMATE,
            &EstimateQuery {
                model: ModelRef::Id(mistral()),
                prompt_tokens: 0,
                max_output_tokens: 10,
            },
        )
        .expect("estimate");
    assert!(matches!(other, Estimate::NoData { .. }));
    next_epoch(&mut m);
    assert!(matches!(estimate(&m, 1_000), Estimate::Priced { .. }));
    let page: ModelsPage = m
        .ledger
        .query_fn(
            MODELS,
            &ModelsQuery {
                cursor: None,
                limit: 10,
            },
        )
        .expect("models");
    assert_eq!(page.models.len(), 1);
    assert_eq!(page.models[0].model, llama());
    assert_eq!(page.next_cursor, None);
}

#[test]
fn record_from_anyone_but_the_job_registry_is_refused_and_changes_nothing() {
    let mut m = market(config(key("rex").identity()), &["mallory"]);
    let digest = m.ledger.state_digest();
    let o = Observation {
        job_id: JobId(1),
        model: llama(),
        worker: WorkerId(key("workaa").identity()),
        requester: key("mallory").identity(),
        price_per_1k: Amount(1_000_000),
        output_tokens: 1_000_000,
    };
    let r = m.send(&key("mallory"), PRICE_ORACLE, RECORD.number(), &o, 0);
    assert_rejected(&r, "NotAuthorized");
    // A worker is refused the same way, with or without money.
    let r = m.send(&key("workaa"), PRICE_ORACLE, RECORD.number(), &o, 5);
    assert_rejected(&r, "NotAuthorized");
    assert_eq!(m.ledger.state_digest(), digest, "refusals change nothing");
    assert_eq!(
        estimate(&m, 1).clone(),
        Estimate::NoData {
            model: llama(),
            pending_observations: 0
        }
    );
}

// --- the oracle alone, fed by a stand-in job registry --------------------------------------

/// Stands in for the job registry (index 6): relays a batch of observations to the oracle,
/// each given as `(job, price, tokens, worker byte, requester byte)` to fit a transaction.
struct Relay;

type Compact = (u64, i64, u32, u8, u8);

impl Contract for Relay {
    fn index(&self) -> ContractIndex {
        comqute_market::JOB_REGISTRY
    }
    fn name(&self) -> &'static str {
        "relay"
    }
    fn procedure(&self, ctx: &mut Ctx<'_>, _input_type: u16, input: &[u8]) -> Output {
        let batch: Vec<Compact> = decode_input(input)?;
        let mut out = Vec::new();
        for &(job, price, tokens, w, r) in &batch {
            let o = obs(job, price, tokens, w, r);
            let r: Recorded = ctx.call(RECORD, &o, Amount::ZERO)?;
            out.push(r);
        }
        Ok(encode(&out))
    }
    fn function(&self, _view: &View<'_>, input_type: u16, _input: &[u8]) -> Output {
        Err(ContractError::UnknownFunction {
            contract: 6,
            input_type,
        })
    }
    fn has_begin_tick(&self) -> bool {
        false
    }
    fn epoch_work(&self, _view: &View<'_>) -> bool {
        false
    }
    fn next_tick_work(&self, _view: &View<'_>) -> TickWork {
        TickWork::Idle
    }
}

const SMALL_EPOCH: u32 = 4;

fn oracle_ledger(config: OracleConfig) -> Ledger {
    let config = OracleConfig {
        record_clients: vec![comqute_market::JOB_REGISTRY],
        ..config
    };
    Ledger::builder()
        .contract_arc(Arc::new(PriceOracle::new(config)))
        .contract_arc(Arc::new(Relay))
        .epoch_ticks(SMALL_EPOCH)
        .fund(Identity([9; 32]), Amount(1_000))
        .build()
        .expect("oracle genesis")
}

fn relay(l: &mut Ledger, batch: &[Compact]) -> Vec<Recorded> {
    let r = l
        .call(
            Identity([9; 32]),
            comqute_market::JOB_REGISTRY,
            1,
            &batch.to_vec(),
            Amount::ZERO,
        )
        .expect("relay runs");
    assert_eq!(r.status, TxStatus::Executed, "{r}");
    Vec::<Recorded>::try_from_slice(&r.output).expect("outputs")
}

fn obs(job: u64, price: i64, tokens: u32, worker: u8, requester: u8) -> Observation {
    Observation {
        job_id: JobId(job),
        model: llama(),
        worker: WorkerId(Identity([worker; 32])),
        requester: Identity([requester; 32]),
        price_per_1k: Amount(price),
        output_tokens: tokens,
    }
}

fn oracle_median(l: &Ledger) -> Option<i64> {
    let p: Option<ModelPrice> = l.query_fn(PRICE, &ModelRef::Id(llama())).expect("price");
    p.and_then(|p| p.median_per_1k).map(|a| a.0)
}

fn to_next_epoch(l: &mut Ledger) {
    let e = l.epoch();
    while l.epoch() == e {
        l.process_tick().expect("tick");
        assert!(l.hook_failures().is_empty(), "{:?}", l.hook_failures());
    }
}

#[test]
fn self_dealing_and_empty_jobs_are_skipped_and_a_full_book_evicts_its_lightest() {
    let mut l = oracle_ledger(OracleConfig {
        max_samples: 3,
        ..OracleConfig::default()
    });
    let out = relay(
        &mut l,
        &[
            (1, 100, 10, 1, 1),
            (2, 100, 0, 1, 2),
            (3, -1, 10, 1, 2),
            (4, 100, 10, 1, 2),
            (5, 200, 20, 3, 2),
            (6, 300, 30, 4, 2),
            (7, 400, 5, 5, 2),
            (8, 500, 40, 6, 2),
        ],
    );
    let skipped = |reason| Recorded::Skipped { reason };
    assert_eq!(
        out,
        vec![
            skipped(SkipReason::SelfDealing),
            skipped(SkipReason::NoTokens),
            skipped(SkipReason::NegativePrice),
            Recorded::Kept { samples: 1 },
            Recorded::Kept { samples: 2 },
            Recorded::Kept { samples: 3 },
            skipped(SkipReason::TooLight),
            Recorded::Kept { samples: 3 },
        ]
    );
    // Job 8 evicted job 4 (the lightest, price 100).
    let evicted: Vec<Option<Amount>> = l
        .events()
        .iter()
        .filter_map(|e| match OracleEvent::try_from_slice(&e.data) {
            Ok(OracleEvent::ObservationRecorded { evicted, .. }) => Some(evicted),
            _ => None,
        })
        .collect();
    assert_eq!(evicted, vec![None, None, None, Some(Amount(100))]);
    to_next_epoch(&mut l);
    // 200 (20), 300 (30), 500 (40); the cap (1/8 of 90) bites every worker alike.
    assert_eq!(oracle_median(&l), Some(300));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Whatever settles, the published median moves at most `max(1, 10%)` of the previous
    /// one per epoch, and the first publication is the first epoch's median.
    #[test]
    fn the_published_median_never_moves_more_than_the_cap_per_epoch(
        epochs in prop::collection::vec(
            prop::collection::vec((1i64..2_000_000, 1u32..5_000, 0u8..6, 6u8..12), 0..12),
            1..8,
        ),
        decay_bps in prop::sample::select(vec![0u16, 5_000, 9_000, 10_000]),
        cap_bps in prop::sample::select(vec![1_250u16, 5_000, 10_000]),
    ) {
        let config = OracleConfig {
            decay_bps,
            identity_cap_bps: cap_bps,
            max_samples: 16,
            ..OracleConfig::default()
        };
        let mut l = oracle_ledger(config.clone());
        let mut prev: Option<i64> = None;
        let mut job = 0u64;
        for batch in &epochs {
            let batch: Vec<Compact> = batch
                .iter()
                .map(|&(p, t, w, r)| {
                    job += 1;
                    (job, p, t, w, r)
                })
                .collect();
            if !batch.is_empty() {
                relay(&mut l, &batch);
            }
            to_next_epoch(&mut l);
            let now = oracle_median(&l);
            match (prev, now) {
                (Some(a), Some(b)) => {
                    prop_assert!((b - a).abs() <= config.allowed_move(Amount(a)), "{a} -> {b}");
                }
                (Some(_), None) => prop_assert!(false, "a published price vanished"),
                _ => {}
            }
            prev = now.or(prev);
        }
    }
}

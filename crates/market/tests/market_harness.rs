//! The ledger's harness powers on the marketplace: a recorded market run replays with a digest
//! check at every tick, the marketplace invariants hold over random action sequences, and the
//! saved regressions (`tests/regressions`) replay.

use std::path::PathBuf;

use comqute_ledger::invariants::{replay_file, ActionModel, InvariantRunner, Verdict};
use comqute_ledger::record::{Input, Recording, ReplayError};
use comqute_market::harness::{MarketAct, MarketModel};
use comqute_qpi::{Amount, Identity};

/// A plain identity with all bytes `n`.
fn sink(n: u8) -> Identity {
    Identity([n; 32])
}

fn market_contracts() -> Vec<std::sync::Arc<dyn comqute_qpi::contract::Contract>> {
    comqute_market::contracts(MarketModel::default().config)
}

#[test]
fn a_recorded_run_replays_with_a_digest_check_at_every_tick() {
    let model = MarketModel::default();
    let mut l = model.genesis().expect("genesis");
    let acts = [
        MarketAct::Submit {
            who: 0,
            model: 0,
            max_tokens: 500,
            max_price: 1_000,
            timeout: 10,
            min_rep: 0,
            extra: 5,
            nonce: 1,
        },
        MarketAct::Progress {
            pick: 0,
            flavor: 1,
            tokens: 0,
            alt: None,
        },
        MarketAct::Progress {
            pick: 0,
            flavor: 1,
            tokens: 300,
            alt: None,
        },
        MarketAct::Wait { ticks: 30 },
    ];
    for a in &acts {
        let n = model.apply(&mut l, a).expect("apply");
        l.advance_ticks(n).expect("ticks");
    }
    l.snapshot("s");
    l.fund(&sink(1), Amount(5)).expect("fund");
    l.restore("s").expect("restore");
    l.fund(&sink(2), Amount(9)).expect("fund");
    l.process_tick().expect("tick");
    let rec = l.recording().expect("the model records").clone();
    assert!(rec.ticks() >= 5);
    assert!(rec.inputs.iter().any(|i| matches!(i, Input::Skip { .. })));
    // The restored-away faucet call is not in the recording.
    assert!(!rec
        .inputs
        .iter()
        .any(|i| matches!(i, Input::Fund { to, .. } if *to == sink(1))));

    let dir = std::env::temp_dir().join(format!("comqute-record-{}", std::process::id()));
    let path = dir.join("run.recording.json");
    rec.save(&path).expect("save");
    let loaded = Recording::load(&path).expect("load");
    assert_eq!(loaded, rec);
    let replayed = loaded.replay(market_contracts()).expect("replays");
    assert_eq!(replayed.digest(), l.digest());
    assert_eq!(replayed.state_digest(), l.state_digest());
    assert_eq!(replayed.next_tick(), l.next_tick());

    // A tampered digest is found, at its tick.
    let mut bad = rec.clone();
    let at = bad
        .inputs
        .iter()
        .position(|i| matches!(i, Input::Tick { .. }))
        .expect("a tick");
    if let Input::Tick { digest, .. } = &mut bad.inputs[at] {
        digest.0[0] ^= 1;
    }
    match bad.replay(market_contracts()) {
        Err(ReplayError::Diverged { index, .. }) => assert_eq!(index, at),
        Err(e) => panic!("expected a divergence at {at}, got {e}"),
        Ok(_) => panic!("expected a divergence at {at}, the replay passed"),
    }
    // Other contracts are refused.
    let wrong = comqute_market::contracts(Default::default())[..2].to_vec();
    assert!(matches!(
        rec.replay(wrong),
        Err(ReplayError::Contracts { .. })
    ));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn marketplace_invariants_hold() {
    let model = MarketModel::default();
    let dir = regressions_dir();
    let stats = InvariantRunner::new(&model, "marketplace")
        .cases(12)
        .min_actions(20)
        .max_actions(50)
        .regressions_dir(&dir)
        .run()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stats.cases, 12);
    assert!(stats.ticks >= stats.actions);
}

/// Under the package directory cargo gives the test at run time (the compiled-in one names
/// whichever checkout built the binary).
fn regressions_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
        .join("tests/regressions")
}

#[test]
fn saved_regressions_replay() {
    let model = MarketModel::default();
    let Ok(entries) = std::fs::read_dir(regressions_dir()) else {
        return;
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            n.ends_with(".json") && !n.ends_with(".recording.json")
        })
        .collect();
    files.sort();
    for path in files {
        let text = std::fs::read_to_string(&path).expect("readable");
        let name = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v["name"].as_str().map(str::to_owned))
            .unwrap_or_default();
        assert_eq!(
            name,
            "marketplace",
            "{}: unknown model {name:?}",
            path.display()
        );
        let replay = replay_file(&model, &path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            replay.verdict,
            Verdict::Passes,
            "{} fails again",
            path.display()
        );
    }
}

/// The model's random runs reach the pools and the oracle, so their invariants are tested
/// on something: jobs settle through pools, members are slashed or claim, pools are
/// created and joined, and epoch ends publish prices (with some moves held back by the
/// clamp). Counted over fixed-seed sequences like the runner's.
#[test]
fn model_runs_settle_through_pools_and_publish_prices() {
    use borsh::BorshDeserialize;
    use comqute_market::pools::PoolEvent;
    use comqute_market::price_oracle::OracleEvent;
    use comqute_market::{POOLS, PRICE_ORACLE};
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

    let model = MarketModel::default();
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[19; 32]),
    );
    let seq = proptest::collection::vec(model.action(), 50);
    let (mut settled, mut joined, mut created, mut published, mut clamped) = (0, 0, 0, 0, 0);
    for _ in 0..12 {
        let acts = seq.new_tree(&mut runner).expect("a sequence").current();
        let mut l = model.genesis().expect("genesis");
        for a in &acts {
            let n = model.apply(&mut l, a).expect("apply");
            l.advance_ticks(n).expect("ticks");
        }
        for (name, check) in model.invariants() {
            check(&l).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        for e in l.events() {
            if e.contract == POOLS {
                match PoolEvent::try_from_slice(&e.data).expect("pool event") {
                    PoolEvent::JobSettled { .. } => settled += 1,
                    PoolEvent::Joined { .. } => joined += 1,
                    PoolEvent::Created { .. } => created += 1,
                    _ => {}
                }
            } else if e.contract == PRICE_ORACLE {
                if let Ok(OracleEvent::PricePublished { clamped: c, .. }) =
                    OracleEvent::try_from_slice(&e.data)
                {
                    published += 1;
                    clamped += usize::from(c);
                }
            }
        }
    }
    eprintln!(
        "pool settlements {settled}, joins {joined}, pools created {created}, \
         publications {published} ({clamped} clamped)"
    );
    assert!(settled > 0 && joined > 0 && created > 0, "pools untouched");
    assert!(
        published > 0 && clamped > 0,
        "the oracle never published or never clamped"
    );
}

/// The model's random runs reach the large jobs' auctions, so their invariants are tested
/// on something: large jobs are posted, bids revealed, an auction awarded whose parts
/// settle (a part paid to its worker), and one unawarded. Counted over fixed-seed
/// sequences like the runner's.
#[test]
fn model_runs_post_bid_award_and_refund_large_jobs() {
    use borsh::BorshDeserialize;
    use comqute_market::job_registry::{Job, JobEvent, JobRef, LargeJobEvent, GET_JOB};
    use comqute_market::JOB_REGISTRY;
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

    let model = MarketModel::default();
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[19; 32]),
    );
    let seq = proptest::collection::vec(comqute_market::harness::large_mix(), 120);
    let (mut posted, mut revealed, mut awarded, mut parts_closed, mut unawarded) = (0, 0, 0, 0, 0);
    for _ in 0..12 {
        let acts = seq.new_tree(&mut runner).expect("a sequence").current();
        let mut l = model.genesis().expect("genesis");
        // Every invariant after every tick, as the property runner checks them.
        for a in &acts {
            let n = model.apply(&mut l, a).expect("apply");
            for _ in 0..n {
                l.advance_ticks(1).expect("a tick");
                for (name, check) in model.invariants() {
                    check(&l).unwrap_or_else(|e| panic!("{name} after {a:?}: {e}"));
                }
            }
        }
        for e in l.events().iter().filter(|e| e.contract == JOB_REGISTRY) {
            let Ok(JobEvent::Large(ev)) = JobEvent::try_from_slice(&e.data) else {
                continue;
            };
            match ev {
                LargeJobEvent::Posted { .. } => posted += 1,
                LargeJobEvent::BidRevealed { .. } => revealed += 1,
                LargeJobEvent::Awarded { assigned, .. } => {
                    awarded += 1;
                    for (job_id, _) in assigned {
                        let j: Option<Job> =
                            l.query_fn(GET_JOB, &JobRef { job_id }).expect("query");
                        // Its money is accounted for by `large_jobs_hold_their_escrow`
                        // whichever way it ended (paid, refunded on expiry or cancel).
                        parts_closed += usize::from(j.is_some_and(|j| j.status.is_terminal()));
                    }
                }
                LargeJobEvent::Unawarded { .. } => unawarded += 1,
                _ => {}
            }
        }
    }
    eprintln!(
        "large jobs posted {posted}, bids revealed {revealed}, awarded {awarded} \
         ({parts_closed} parts became jobs that ended), unawarded {unawarded}"
    );
    assert!(posted > 0, "no large job posted");
    assert!(revealed > 0, "no bid revealed");
    assert!(
        awarded > 0 && parts_closed > 0,
        "no awarded auction's part ran to its end"
    );
    assert!(unawarded > 0, "no auction went unawarded");
}

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config { cases: 12, max_shrink_iters: 50, ..Default::default() })]

    /// The digest policies on the marketplace (issue 22): the same random actions on a
    /// harness ledger that hashes its state only when asked (the model without a
    /// recording) and on one that digests every tick (a recording model) give the same
    /// digests after every action, the same receipts and events, and both equal a
    /// recomputation from scratch. Job records rewritten several times a tick, ordered
    /// sets filled and emptied and failed calls undone are all on the path.
    #[test]
    fn both_digest_policies_agree_on_random_market_runs(
        acts in proptest::collection::vec(comqute_market::harness::any_act(), 10..40),
        ask_every in 1usize..6,
    ) {
        use comqute_ledger::DigestPolicy;
        let mut on_demand = MarketModel::default();
        on_demand.record = false;
        let per_tick = MarketModel::default();
        let mut a = on_demand.genesis().expect("genesis");
        let mut b = per_tick.genesis().expect("genesis");
        proptest::prop_assert_eq!(a.digest_policy(), DigestPolicy::OnDemand);
        proptest::prop_assert_eq!(b.digest_policy(), DigestPolicy::PerTick);
        for (i, act) in acts.iter().enumerate() {
            let n = on_demand.apply(&mut a, act).expect("apply");
            let m = per_tick.apply(&mut b, act).expect("apply");
            proptest::prop_assert_eq!(n, m);
            a.advance_ticks(n).expect("ticks");
            b.advance_ticks(m).expect("ticks");
            if i % ask_every == 0 {
                proptest::prop_assert_eq!(a.digest(), b.digest());
                proptest::prop_assert_eq!(a.state_digest(), b.state_digest());
            }
        }
        proptest::prop_assert_eq!(a.digest(), b.digest());
        proptest::prop_assert_eq!(a.state_digest(), a.state().recompute_digest());
        proptest::prop_assert_eq!(b.state_digest(), b.state().recompute_digest());
        proptest::prop_assert_eq!(a.receipts(), b.receipts());
        proptest::prop_assert_eq!(a.events(), b.events());
    }
}

//! Invariants over random action sequences: money is conserved, failure leaves no trace, a
//! warp equals ticking one by one.

mod common;

use common::*;
use comqute_qpi::examples::*;
use comqute_qpi::{Amount, Tick};
use comqute_ledger::{Keypair, Ledger, Transaction};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Action {
    Transfer {
        from: usize,
        to: usize,
        amount: i64,
    },
    SendMany {
        from: usize,
        to: Vec<(usize, i64)>,
        extra: i64,
    },
    Schedule {
        from: usize,
        to: usize,
        amount: i64,
        delay: u32,
    },
    Burn {
        from: usize,
        amount: i64,
    },
    Fail {
        from: usize,
        amount: i64,
    },
    Succeed {
        from: usize,
        amount: i64,
    },
    Advance(u32),
}

const KEYS: usize = 4;

fn action() -> impl Strategy<Value = Action> {
    let who = 0..KEYS;
    prop_oneof![
        (who.clone(), 0..KEYS + 2, 0i64..500).prop_map(|(from, to, amount)| Action::Transfer {
            from,
            to,
            amount
        }),
        (
            who.clone(),
            prop::collection::vec((0..KEYS + 2, 1i64..200), 1..4),
            -20i64..50
        )
            .prop_map(|(from, to, extra)| Action::SendMany { from, to, extra }),
        (who.clone(), 0..KEYS + 2, 1i64..300, 0u32..40).prop_map(|(from, to, amount, delay)| {
            Action::Schedule {
                from,
                to,
                amount,
                delay,
            }
        }),
        (who.clone(), 0i64..100).prop_map(|(from, amount)| Action::Burn { from, amount }),
        (who.clone(), 0i64..300).prop_map(|(from, amount)| Action::Fail { from, amount }),
        (who, 0i64..300).prop_map(|(from, amount)| Action::Succeed { from, amount }),
        (1u32..30).prop_map(Action::Advance),
    ]
}

fn target(keys: &[Keypair], i: usize) -> comqute_qpi::Identity {
    keys.get(i)
        .map(|k| k.identity())
        .unwrap_or_else(|| sink(i as u8))
}

/// Submits the action's transaction for the next tick (signed); `Advance` warps.
fn apply(l: &mut Ledger, keys: &[Keypair], a: &Action) {
    let t = l.next_tick();
    let tx = match a {
        Action::Transfer { from, to, amount } => Transaction::new(
            keys[*from].identity(),
            target(keys, *to),
            Amount(*amount),
            t,
            0,
            vec![],
        ),
        Action::SendMany { from, to, extra } => {
            let payments: Vec<_> = to
                .iter()
                .map(|(i, x)| (target(keys, *i), Amount(*x)))
                .collect();
            let sum: i64 = to.iter().map(|(_, x)| x).sum::<i64>() + SEND_MANY_FEE.0 + extra;
            let input = borsh::to_vec(&SendToMany { payments }).unwrap();
            Transaction::call(
                keys[*from].identity(),
                SEND_MANY,
                Amount(sum.max(0)),
                t,
                SEND_TO_MANY,
                input,
            )
        }
        Action::Schedule {
            from,
            to,
            amount,
            delay,
        } => {
            let input = borsh::to_vec(&Schedule {
                to: target(keys, *to),
                amount: Amount(*amount),
                at: t.plus(*delay),
            })
            .unwrap();
            Transaction::call(
                keys[*from].identity(),
                SEND_MANY,
                Amount(*amount),
                t,
                SCHEDULE,
                input,
            )
        }
        Action::Burn { from, amount } => Transaction::call(
            keys[*from].identity(),
            SEND_MANY,
            Amount(*amount),
            t,
            BURN_ALL,
            vec![],
        ),
        Action::Fail { from, amount } => Transaction::call(
            keys[*from].identity(),
            FAULTY,
            Amount(*amount),
            t,
            FAULTY_FAIL,
            vec![],
        ),
        Action::Succeed { from, amount } => Transaction::call(
            keys[*from].identity(),
            FAULTY,
            Amount(*amount),
            t,
            FAULTY_SUCCEED,
            vec![],
        ),
        Action::Advance(n) => {
            l.advance_ticks(*n).unwrap();
            return;
        }
    };
    let from = match a {
        Action::Transfer { from, .. }
        | Action::SendMany { from, .. }
        | Action::Schedule { from, .. }
        | Action::Burn { from, .. }
        | Action::Fail { from, .. }
        | Action::Succeed { from, .. } => *from,
        Action::Advance(_) => unreachable!("returned above"),
    };
    // A source that ran dry is refused at submission; that is fine for these properties.
    let _ = l.submit(tx.sign(&keys[from]));
    l.process_tick().unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn money_is_conserved(actions in prop::collection::vec(action(), 1..40)) {
        let (mut l, keys) = example_ledger(KEYS as u32, 2_000);
        let genesis = l.supply().circulating();
        for a in &actions {
            apply(&mut l, &keys, a);
            prop_assert_eq!(total_balances(&l), l.supply().circulating());
            prop_assert_eq!(l.supply().circulating(), genesis - l.supply().burned);
            prop_assert!(l.state().accounts_sorted().iter().all(|(_, a)| a.balance >= 0));
        }
        prop_assert_eq!(l.state_digest(), l.state().recompute_digest());
    }

    #[test]
    fn a_failing_procedure_leaves_no_trace(actions in prop::collection::vec(action(), 0..25), amount in 0i64..500, from in 0..KEYS) {
        let (mut l, keys) = example_ledger(KEYS as u32, 2_000);
        for a in &actions {
            apply(&mut l, &keys, a);
        }
        // Two forks run the same tick, one with a procedure that mutates and then fails.
        let mut with = l.fork();
        let mut without = l.fork();
        let t = l.next_tick();
        let tx = Transaction::call(keys[from].identity(), FAULTY, Amount(amount), t, FAULTY_FAIL, vec![]).sign(&keys[from]);
        let submitted = with.submit(tx);
        with.process_tick().unwrap();
        without.process_tick().unwrap();
        prop_assert_eq!(with.state_digest(), without.state_digest());
        prop_assert_eq!(with.supply(), without.supply());
        let evs = |x: &Ledger| x.events().iter().map(|e| (e.contract, e.data.clone())).collect::<Vec<_>>();
        prop_assert_eq!(evs(&with), evs(&without));
        if let Ok(id) = submitted {
            let r = with.receipt(&id).unwrap();
            prop_assert!(r.error().is_some() || !r.calls.is_empty() || r.status.name() == "dropped");
            prop_assert!(!r.money_flew);
            prop_assert!(r.events.is_empty() && r.transfers.is_empty());
        }
    }

    #[test]
    fn a_warp_equals_ticking_one_by_one(actions in prop::collection::vec(action(), 0..20), span in 1u32..120) {
        let (mut l, keys) = example_ledger(KEYS as u32, 2_000);
        for a in &actions {
            apply(&mut l, &keys, a);
        }
        let mut stepped = l.fork();
        let mut warped = l.fork();
        let target = Tick(l.next_tick().0 + span);
        while stepped.next_tick() < target {
            stepped.process_tick().unwrap();
        }
        warped.warp_to_tick(target).unwrap();
        prop_assert_eq!(stepped.next_tick(), warped.next_tick());
        prop_assert_eq!(stepped.digest(), warped.digest());
        prop_assert_eq!(stepped.state_digest(), warped.state_digest());
        prop_assert_eq!(stepped.events(), warped.events());
        prop_assert_eq!(stepped.tick_summaries(), warped.tick_summaries());
    }
}

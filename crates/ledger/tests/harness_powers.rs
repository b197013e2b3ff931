//! Harness powers of issue 9: fork isolation, bit-for-bit restores after many changes,
//! bounded history that changes no digest. (Record and replay of a market run, the
//! marketplace invariant model and its saved regressions are tested in `comqute-market`.)

mod common;

use common::*;
use comqute_ledger::{Ledger, Retention};
use comqute_qpi::examples::{SendToMany, FAULTY, FAULTY_SUCCEED, SEND_MANY, SEND_TO_MANY};
use comqute_qpi::{Amount, Tick};

fn fingerprint(l: &Ledger) -> (String, String, Tick, usize, usize) {
    (
        l.digest().to_string(),
        l.state_digest().to_string(),
        l.next_tick(),
        l.receipts().len(),
        l.events().len(),
    )
}

fn send(l: &mut Ledger, from: &comqute_ledger::Keypair, to: u8, amount: i64) {
    let r = l
        .call(
            from.identity(),
            SEND_MANY,
            SEND_TO_MANY,
            &SendToMany {
                payments: vec![(sink(to), Amount(amount))],
            },
            Amount(amount + 10),
        )
        .expect("admitted");
    assert!(r.is_executed(), "{r:?}");
}

#[test]
fn a_change_in_a_fork_never_shows_in_its_parent_or_sibling() {
    let (mut parent, keys) = example_ledger(3, 10_000);
    send(&mut parent, &keys[0], 1, 5);
    let before = fingerprint(&parent);
    let sink1 = parent.balance(&sink(1));

    let mut a = parent.fork();
    let mut b = parent.fork();
    let b_before = fingerprint(&b);
    for i in 0..50 {
        send(&mut a, &keys[1], (i % 7) as u8, 3);
        a.fund(&sink(200), Amount(1)).expect("fund");
    }
    a.call(keys[2].identity(), FAULTY, FAULTY_SUCCEED, &(), Amount(0))
        .expect("admitted");
    // Neither the parent nor the sibling sees anything of it.
    assert_eq!(fingerprint(&parent), before);
    assert_eq!(fingerprint(&b), b_before);
    assert_eq!(parent.balance(&sink(1)), sink1);
    assert_eq!(b.balance(&sink(200)), Amount(0));
    assert_eq!(parent.balance(&sink(200)), Amount(0));
    // And the other way round: the sibling and the parent change, the first fork does not.
    let a_after = fingerprint(&a);
    send(&mut b, &keys[0], 9, 11);
    send(&mut parent, &keys[0], 8, 13);
    assert_eq!(fingerprint(&a), a_after);
    assert_eq!(a.balance(&sink(9)), Amount(0));
    assert_eq!(a.balance(&sink(8)), Amount(0));
    assert_eq!(b.balance(&sink(8)), Amount(0));
    for l in [&parent, &a, &b] {
        assert_eq!(l.state_digest(), l.state().recompute_digest());
    }
    // A fork of a fork, and forks taken deeper than the layer limit, stay isolated too.
    let mut chain = vec![a.fork()];
    for i in 0..40u8 {
        let mut next = chain.last_mut().expect("non-empty").fork();
        next.fund(&sink(i), Amount(1)).expect("fund");
        chain.push(next);
    }
    for (i, f) in chain.iter().enumerate().skip(1) {
        let i8 = (i - 1) as u8;
        assert_eq!(f.balance(&sink(i8)).0, a.balance(&sink(i8)).0 + 1);
        assert_eq!(
            f.balance(&sink(39)).0,
            a.balance(&sink(39)).0 + i64::from(i == 40)
        );
        assert_eq!(f.state_digest(), f.state().recompute_digest());
    }
    assert_eq!(fingerprint(&a), a_after);
}

#[test]
fn restore_after_many_changes_equals_the_snapshot_bit_for_bit() {
    let (mut l, keys) = example_ledger(3, 1_000_000);
    send(&mut l, &keys[0], 1, 5);
    l.snapshot("base");
    let base = (fingerprint(&l), l.state().accounts_sorted(), l.supply());
    for round in 0..3 {
        for i in 0..400u32 {
            match i % 3 {
                0 => send(
                    &mut l,
                    &keys[(i % 3) as usize],
                    (i % 200) as u8,
                    1 + i64::from(i % 5),
                ),
                1 => l.fund(&sink((i % 250) as u8), Amount(7)).expect("fund"),
                _ => l.advance_ticks(1 + i % 4).expect("advance"),
            }
        }
        l.snapshot("mid");
        send(&mut l, &keys[2], 77, 100);
        l.restore("mid").expect("mid");
        l.restore("base").expect("base");
        assert_eq!(
            (fingerprint(&l), l.state().accounts_sorted(), l.supply()),
            base,
            "round {round}"
        );
        assert_eq!(l.state_digest(), l.state().recompute_digest());
    }
}

#[test]
fn bounded_history_changes_no_digest() {
    let (mut all, keys) = example_ledger(2, 1_000_000);
    let mut short = all.fork();
    short.set_retention(Retention::KeepLast(8));
    for i in 0..300u32 {
        for l in [&mut all, &mut short] {
            send(l, &keys[(i % 2) as usize], (i % 50) as u8, 2);
            if i % 40 == 0 {
                l.advance_ticks(30).expect("advance");
            }
        }
        assert_eq!(all.digest(), short.digest());
    }
    assert_eq!(all.state_digest(), short.state_digest());
    assert!(short.tick_summaries().len() <= 16 && short.tick_summaries().len() >= 8);
    assert!(short.receipts().len() < all.receipts().len());
    // Event numbers stay global: the last event has the same seq in both.
    assert_eq!(all.events().last(), short.events().last());
    assert_eq!(
        short.events_trimmed() + short.events().len() as u64,
        all.events().len() as u64
    );
    let last = all.receipts().last().expect("receipts").tx_id;
    assert_eq!(short.receipt(&last), all.receipt(&last));
    let first = all.receipts().first().expect("receipts").tx_id;
    assert!(short.receipt(&first).is_none());
    // A snapshot keeps what it may return to.
    short.snapshot("s");
    for _ in 0..40 {
        send(&mut short, &keys[0], 3, 1);
    }
    let n = short.receipts().len();
    assert!(n >= 40);
    short.restore("s").expect("s");
    assert_eq!(short.digest(), all.digest());
}

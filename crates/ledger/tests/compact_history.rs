//! The compact history (issue 22, decision 2) answers every query the slices did: receipts by
//! id and by tick, events by cursor, tick summaries, on a recorded scenario of transfers,
//! contract calls, failures, bad signatures, evictions and warps; the same after a replay of
//! the recording, after a restart of a durable node from its log, under `KeepLast` (the
//! kept suffix of the same answers) and after a restore.

mod durable_support;

use comqute_ledger::durable::{DurableConfig, DurableLedger, TxState};
use comqute_ledger::{
    DigestPolicy, DropReason, Event, Ledger, Receipt, Retention, TickSummary, Transaction,
    TxLookup, TxStatus,
};
use comqute_qpi::{Amount, Tick};
use durable_support::*;

const STEPS: u32 = 60;

/// Receipts, events and summaries, decoded.
fn all(l: &Ledger) -> (Vec<Receipt>, Vec<Event>, Vec<TickSummary>) {
    (
        l.receipts().to_vec(),
        l.events().to_vec(),
        l.tick_summaries().to_vec(),
    )
}

/// Every query agrees with the others and with the receipts' own fields.
fn assert_consistent(l: &Ledger) {
    let (receipts, events, ticks) = all(l);
    let trimmed = l.events_trimmed();
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.seq, trimmed + i as u64, "an event's seq is its position");
    }
    for r in &receipts {
        assert_eq!(l.receipt(&r.tx_id).as_ref(), Some(r), "receipt by id");
        assert!(l.has_receipt(&r.tx_id));
        match l.lookup(&r.tx_id) {
            TxLookup::Done(x) => assert_eq!(&x, r),
            other => panic!("lookup of a kept receipt: {other:?}"),
        }
        let mine: Vec<Event> = events
            .iter()
            .filter(|e| e.tx == Some(r.tx_id))
            .cloned()
            .collect();
        assert_eq!(r.events, mine, "a receipt's events are its transaction's");
        if r.slot == u32::MAX {
            assert!(matches!(r.status, TxStatus::Dropped { .. }));
        }
    }
    let n = events.len() as u64;
    for c in [
        0,
        trimmed,
        trimmed + 1,
        trimmed + n / 2,
        trimmed + n,
        u64::MAX,
    ] {
        let from = c.saturating_sub(trimmed).min(n) as usize;
        assert_eq!(
            l.events_since(c).to_vec(),
            events[from..],
            "events since {c}"
        );
    }
    for s in &ticks {
        let rs = l.receipts_for_tick(s.tick);
        let ids: Vec<_> = rs.iter().map(|r| r.tx_id).collect();
        assert_eq!(ids, s.transactions, "a summary lists its tick's receipts");
        let by_field: Vec<Receipt> = receipts
            .iter()
            .filter(|r| r.tick == s.tick && r.slot != u32::MAX)
            .cloned()
            .collect();
        assert_eq!(rs, by_field, "receipts for a tick");
        for (i, r) in rs.iter().enumerate() {
            assert_eq!(r.slot, i as u32);
        }
        let evs: Vec<&Event> = events.iter().filter(|e| e.tick == s.tick).collect();
        assert_eq!(evs.len() as u64, s.event_count, "tick {} events", s.tick.0);
        if let Some(e) = evs.first() {
            assert_eq!(e.seq, s.first_event);
        }
        assert_eq!(l.tick_summary(s.tick).as_ref(), Some(s));
    }
    // Borrowed events are the same events.
    let refs: Vec<Event> = l.events().refs().map(|e| e.to_event()).collect();
    assert_eq!(refs, events);
    assert!(l
        .events()
        .refs()
        .rev()
        .map(|e| e.seq)
        .eq(events.iter().rev().map(|e| e.seq)));
    // The views behave as slices.
    let v = l.receipts();
    assert_eq!(v.len(), receipts.len());
    assert_eq!(v.last(), receipts.last().cloned());
    assert_eq!(v.first(), receipts.first().cloned());
    let rev: Vec<Receipt> = v.iter().rev().collect();
    assert!(rev.iter().eq(receipts.iter().rev()));
    assert_eq!(
        v.slice(2..5).to_vec(),
        receipts[2.min(v.len())..5.min(v.len())]
    );
    assert_eq!(v.iter().nth(3), receipts.get(3).cloned());
    assert_eq!(v.get(receipts.len()), None);
}

fn run(mut l: Ledger, steps: u32) -> Ledger {
    let keys = keys();
    for _ in 0..steps {
        step(&mut l, &keys);
    }
    l
}

#[test]
fn every_query_agrees_on_a_recorded_scenario_and_its_replay() {
    let rec = run(genesis(&keys()).record().build().expect("genesis"), STEPS);
    let (receipts, events, ticks) = all(&rec);
    assert!(receipts.len() > 400, "{}", receipts.len());
    assert!(events.len() > 100, "{}", events.len());
    assert!(receipts.iter().any(|r| r.error().is_some()));
    assert!(receipts.iter().any(|r| matches!(
        r.status,
        TxStatus::Dropped {
            reason: DropReason::BadSignature
        }
    )));
    assert!(ticks.iter().all(|s| s.digest.is_some()));
    assert_consistent(&rec);

    // The replay answers the same, digests included.
    let recording = rec.recording().expect("recorded").clone();
    let replayed = recording.replay(contracts()).expect("replay");
    assert_eq!(
        all(&replayed),
        (receipts.clone(), events.clone(), ticks.clone())
    );

    // Digests on demand: the same history, summaries without the per-tick digests.
    let lazy = run(genesis(&keys()).build().expect("genesis"), STEPS);
    assert_eq!(lazy.digest_policy(), DigestPolicy::OnDemand);
    assert_consistent(&lazy);
    let (r2, e2, t2) = all(&lazy);
    assert_eq!((r2, e2), (receipts.clone(), events.clone()));
    let strip = |s: &TickSummary| TickSummary {
        state_digest: None,
        digest: None,
        ..s.clone()
    };
    assert_eq!(t2, ticks.iter().map(strip).collect::<Vec<_>>());
}

#[test]
fn a_durable_node_restarted_from_its_log_serves_the_same_history() {
    let dir = temp_dir("compact-history-restart");
    let keys = keys();
    let config = DurableConfig {
        snapshot_every_ticks: 0,
        snapshot_at_epoch_end: false,
        ..DurableConfig::default()
    };
    let (mut node, _) = DurableLedger::open(&dir, genesis(&keys), config.clone()).expect("open");
    for _ in 0..STEPS {
        step(&mut node, &keys);
    }
    let before = all(node.ledger());
    let digest = node.ledger().digest();
    node.flush().expect("flush");
    drop(node);

    let (node, report) = DurableLedger::open(&dir, genesis(&keys), config).expect("reopen");
    assert!(report.replayed_records > 0);
    assert_eq!(node.ledger().digest(), digest);
    assert_eq!(
        all(node.ledger()),
        before,
        "the replayed history is the same"
    );
    assert_consistent(node.ledger());
    for r in &before.0 {
        match node.tx_status(&r.tx_id).expect("status") {
            TxState::Done(x) => assert_eq!(x.tick, r.tick),
            other => panic!("{other:?}"),
        }
    }
    for s in &before.2 {
        let t = node
            .tick_record(s.tick)
            .expect("tick")
            .expect("a busy tick");
        assert_eq!(t.transactions, s.transactions);
    }
    assert_eq!(
        node.events_since(0, usize::MAX).expect("events"),
        before.1,
        "events by cursor"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn keep_last_keeps_the_latest_answers_unchanged() {
    let full = run(genesis(&keys()).build().expect("genesis"), STEPS);
    let (receipts, events, ticks) = all(&full);
    for keep in [1, 3, 8] {
        let short = run(
            genesis(&keys())
                .history(Retention::KeepLast(keep))
                .build()
                .expect("genesis"),
            STEPS,
        );
        assert_eq!(short.digest(), full.digest());
        let (r, e, t) = all(&short);
        assert!(t.len() >= keep as usize && t.len() < 2 * keep as usize);
        assert!(r.len() < receipts.len());
        assert_eq!(r, receipts[receipts.len() - r.len()..], "keep {keep}");
        assert_eq!(e, events[events.len() - e.len()..], "keep {keep}");
        assert_eq!(
            t,
            ticks[ticks.len() - t.len()..],
            "keep {keep}: seeds, events"
        );
        assert_eq!(short.events_trimmed(), (events.len() - e.len()) as u64);
        assert_consistent(&short);
        let first = receipts.first().expect("receipts").tx_id;
        assert!(short.receipt(&first).is_none());
        assert!(!short.has_receipt(&first));
    }
}

#[test]
fn a_restore_brings_back_the_history_of_its_moment() {
    let mut l = run(genesis(&keys()).build().expect("genesis"), 10);
    l.snapshot("s");
    let at_snapshot = all(&l);
    let keys = keys();
    for _ in 0..10 {
        step(&mut l, &keys);
    }
    assert!(all(&l).0.len() > at_snapshot.0.len());
    l.restore("s").expect("restore");
    assert_eq!(all(&l), at_snapshot);
    assert_consistent(&l);
    // And it goes on the same way as the first time.
    let again = run(l, 10);
    let straight = run(genesis(&keys).build().expect("genesis"), 20);
    assert_eq!(all(&again), all(&straight));
}

#[test]
fn evicted_transactions_keep_their_receipts_outside_any_tick() {
    let keys = keys();
    let mut l = genesis(&keys).tick_capacity(2).build().expect("genesis");
    let t = l.next_tick().plus(1);
    let mut ids = Vec::new();
    for (i, k) in keys.iter().take(5).enumerate() {
        // Each richer than the one before: it outranks them and takes a slot.
        l.fund(&k.identity(), Amount(1_000_000_000_000 * (i as i64 + 1)))
            .expect("fund");
        let tx = Transaction::new(k.identity(), sink(i as u32), Amount(1), t, 0, vec![]);
        ids.push(l.submit_unsigned(tx).expect("admitted or evicting"));
    }
    l.advance_ticks(3).expect("ticks");
    let receipts = l.receipts().to_vec();
    let evicted: Vec<&Receipt> = receipts.iter().filter(|r| r.slot == u32::MAX).collect();
    assert!(!evicted.is_empty(), "{receipts:#?}");
    for r in &evicted {
        assert_eq!(r.tick, t);
        assert!(matches!(
            r.status,
            TxStatus::Dropped {
                reason: DropReason::PoolFull { .. }
            }
        ));
    }
    assert_eq!(l.receipts_for_tick(t).len(), 2);
    assert_consistent(&l);
    for id in ids {
        assert!(l.receipt(&id).is_some() || matches!(l.lookup(&id), TxLookup::Pending(_)));
    }
    assert_eq!(l.tick_summary(Tick(t.0 + 100)), None);
}

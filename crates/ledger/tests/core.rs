//! The foundation's behaviour: determinism, replay rules, tampering, the example contract.

mod common;

use borsh::BorshDeserialize;
use common::*;
use comqute_ledger::{
    DigestPolicy, DropReason, EntryPoint, LedgerError, Transaction, TxLookup, TxStatus,
};
use comqute_qpi::examples::*;
use comqute_qpi::{Amount, ContractError, Hash32, Identity, Tick};

fn transfer(k: &comqute_ledger::Keypair, to: Identity, amount: i64, tick: Tick) -> Transaction {
    Transaction::new(k.identity(), to, Amount(amount), tick, 0, Vec::new()).sign(k)
}

fn send_many(k: &comqute_ledger::Keypair, to: &[(Identity, i64)], tick: Tick) -> Transaction {
    let payments: Vec<_> = to.iter().map(|(i, a)| (*i, Amount(*a))).collect();
    let total: i64 = to.iter().map(|(_, a)| a).sum::<i64>() + SEND_MANY_FEE.0;
    let input = borsh::to_vec(&SendToMany { payments }).unwrap();
    Transaction::call(
        k.identity(),
        SEND_MANY,
        Amount(total),
        tick,
        SEND_TO_MANY,
        input,
    )
    .sign(k)
}

/// A fixed workload of transfers and contract calls over 30 ticks.
fn workload(keys: &[comqute_ledger::Keypair], start: Tick) -> Vec<Transaction> {
    let mut out = Vec::new();
    for t in 0..30u32 {
        let tick = start.plus(t);
        for (i, k) in keys.iter().enumerate() {
            let j = (i + t as usize + 1) % keys.len();
            if (i + t as usize).is_multiple_of(3) {
                out.push(send_many(k, &[(keys[j].identity(), 7), (sink(9), 3)], tick));
            } else {
                out.push(transfer(k, keys[j].identity(), 11 + i as i64, tick));
            }
        }
    }
    out
}

#[test]
fn same_inputs_same_digests_at_every_tick() {
    let (mut a, keys) = example_ledger(6, 10_000);
    let (mut b, _) = example_ledger(6, 10_000);
    assert_eq!(a.digest(), b.digest());
    let txs = workload(&keys, a.next_tick());
    for tx in &txs {
        a.submit(tx.clone()).unwrap();
        b.submit(tx.clone()).unwrap();
    }
    for _ in 0..32 {
        a.process_tick().unwrap();
        b.process_tick().unwrap();
        assert_eq!(a.digest(), b.digest());
        assert_eq!(a.state_digest(), b.state_digest());
    }
    assert_eq!(a.tick_summaries(), b.tick_summaries());
    assert_eq!(a.state_digest(), a.state().recompute_digest());
    assert!(
        a.receipts().iter().all(|r| r.is_executed()),
        "{}",
        a.receipts().iter().find(|r| !r.is_executed()).unwrap()
    );
}

#[test]
fn a_different_order_gives_a_different_digest() {
    let (mut a, keys) = example_ledger(4, 10_000);
    let (mut b, _) = example_ledger(4, 10_000);
    let t = a.next_tick();
    let x = transfer(&keys[0], sink(1), 5, t);
    let y = transfer(&keys[1], sink(2), 5, t);
    a.submit(x.clone()).unwrap();
    a.submit(y.clone()).unwrap();
    b.submit(y).unwrap();
    b.submit(x).unwrap();
    a.process_tick().unwrap();
    b.process_tick().unwrap();
    // Same final balances, but the ticks were not the same.
    assert_eq!(a.state_digest(), b.state_digest());
    assert_ne!(a.digest(), b.digest());
}

#[test]
fn the_same_transaction_twice_runs_once() {
    let (mut l, keys) = example_ledger(2, 1_000);
    let tx = transfer(&keys[0], sink(1), 100, l.next_tick().plus(2));
    let id = l.submit(tx.clone()).unwrap();
    assert_eq!(l.submit(tx.clone()), Err(LedgerError::Duplicate(id)));
    assert_eq!(l.lookup(&id), TxLookup::Pending(tx.tick));
    l.advance_ticks(3).unwrap();
    assert!(matches!(l.lookup(&id), TxLookup::Done(r) if r.is_executed()));
    // After its tick, the same bytes are refused: its tick is past.
    assert!(matches!(
        l.submit(tx),
        Err(LedgerError::TickInPast { .. }) | Err(LedgerError::Duplicate(_))
    ));
    assert_eq!(l.balance(&sink(1)), Amount(100));
}

#[test]
fn past_ticks_are_refused_and_future_ones_wait() {
    let (mut l, keys) = example_ledger(1, 1_000);
    l.advance_ticks(5).unwrap();
    let now = l.next_tick();
    let past = transfer(&keys[0], sink(1), 1, Tick(now.0 - 1));
    assert_eq!(
        l.submit(past),
        Err(LedgerError::TickInPast {
            tick: Tick(now.0 - 1),
            next: now
        })
    );
    let far = transfer(
        &keys[0],
        sink(1),
        1,
        now.plus(l.config().max_future_ticks + 1),
    );
    assert!(matches!(l.submit(far), Err(LedgerError::TickTooFar { .. })));
    let later = transfer(&keys[0], sink(1), 1, now.plus(10));
    let id = l.submit(later).unwrap();
    l.advance_ticks(10).unwrap();
    assert_eq!(l.lookup(&id), TxLookup::Pending(now.plus(10)));
    assert_eq!(l.balance(&sink(1)), Amount(0));
    l.process_tick().unwrap();
    assert_eq!(l.balance(&sink(1)), Amount(1));
    assert_eq!(l.receipt(&id).unwrap().tick, now.plus(10));
}

#[test]
fn flipping_any_bit_of_a_signed_transaction_gets_it_refused() {
    let (l0, keys) = example_ledger(1, 1_000);
    let tx = send_many(&keys[0], &[(sink(1), 5)], l0.next_tick());
    let bytes = tx.encode();
    for bit in 0..bytes.len() * 8 {
        let mut b = bytes.clone();
        b[bit / 8] ^= 1 << (bit % 8);
        let Ok(bad) = Transaction::decode(&b) else {
            continue;
        }; // refused at decoding
        assert!(bad.verify().is_err(), "bit {bit} still verifies");
        let (mut l, _) = example_ledger(1, 1_000);
        match l.submit(bad.clone()) {
            Err(_) => {} // refused at submission (wrong tick, unfunded source, …)
            Ok(id) => {
                l.warp_to_tick(bad.tick.plus(1)).unwrap();
                let r = l.receipt(&id).unwrap();
                assert_eq!(
                    r.status,
                    TxStatus::Dropped {
                        reason: DropReason::BadSignature
                    },
                    "bit {bit}"
                );
                assert_eq!(
                    l.balance(&keys[0].identity()),
                    Amount(1_000),
                    "bit {bit} moved money"
                );
                assert_eq!(l.balance(&sink(1)), Amount(0), "bit {bit} moved money");
            }
        }
    }
}

#[test]
fn the_example_contract_uses_the_whole_interface() {
    let (mut l, keys) = example_ledger(3, 1_000);
    let (a, b, c) = (&keys[0], &keys[1], &keys[2]);
    // Send-to-many with an excess that is refunded, and a cross-call into the notary.
    let t = l.next_tick();
    let input = borsh::to_vec(&SendToMany {
        payments: vec![(b.identity(), Amount(100)), (sink(7), Amount(50))],
    })
    .unwrap();
    let tx =
        Transaction::call(a.identity(), SEND_MANY, Amount(200), t, SEND_TO_MANY, input).sign(a);
    let id = l.submit(tx).unwrap();
    l.process_tick().unwrap();
    let r = l.receipt(&id).unwrap().clone();
    assert!(r.is_executed(), "{r}");
    assert!(r.money_flew);
    assert_eq!(r.balance_delta(&a.identity()), -160); // 150 paid + 10 fee, 40 refunded
    assert_eq!(l.balance(&b.identity()), Amount(1_100));
    assert_eq!(r.calls.len(), 2);
    assert_eq!(r.calls[1].contract, NOTARY);
    assert_eq!(r.calls[1].depth, 1);
    assert_eq!(r.calls[1].invocator, Identity::contract(SEND_MANY));
    let evs: Vec<_> = r
        .events
        .iter()
        .filter(|e| e.contract == SEND_MANY)
        .map(|e| SendManyEvent::try_from_slice(&e.data).unwrap())
        .collect();
    assert_eq!(
        evs[0],
        SendManyEvent::Sent {
            originator: a.identity(),
            to: b.identity(),
            amount: Amount(100)
        }
    );
    assert!(r.events.iter().any(|e| e.contract == NOTARY));
    let recorded: Option<Hash32> = l
        .query(NOTARY, NOTARY_LOOKUP, &Identity::contract(SEND_MANY))
        .unwrap();
    assert!(recorded.is_some());

    // A scheduled payment is paid by the END_TICK hook at its tick; warps skip to it.
    let at = l.next_tick().plus(7);
    let r2 = l
        .call(
            c.identity(),
            SEND_MANY,
            SCHEDULE,
            &Schedule {
                to: sink(8),
                amount: Amount(30),
                at,
            },
            Amount(30),
        )
        .unwrap();
    assert!(r2.is_executed(), "{r2}");
    l.warp_to_tick(at).unwrap();
    assert_eq!(l.balance(&sink(8)), Amount(0));
    l.process_tick().unwrap();
    assert_eq!(l.balance(&sink(8)), Amount(30));
    let paid = l.events().iter().rev().find(|e| e.tx.is_none()).unwrap();
    assert_eq!(paid.tick, at);

    // The epoch hook shares out the epoch's fee: half to a payer drawn by the seed, half burned.
    let burned_before = l.supply().burned;
    let epoch = l.epoch();
    l.warp_to_epoch(comqute_qpi::Epoch(epoch.0 + 1)).unwrap();
    let closed = l
        .events()
        .iter()
        .filter_map(|e| {
            SendManyEvent::try_from_slice(&e.data)
                .ok()
                .filter(|_| e.contract == SEND_MANY)
        })
        .find(|e| matches!(e, SendManyEvent::EpochClosed { .. }))
        .expect("end-of-epoch hook ran");
    assert_eq!(
        closed,
        SendManyEvent::EpochClosed {
            epoch,
            winner: Some(a.identity()),
            prize: Amount(5),
            burned: Amount(5)
        }
    );
    assert_eq!(l.supply().burned - burned_before, 5);
    let stats: SendManyStats = l.query(SEND_MANY, STATS, &()).unwrap();
    assert_eq!(
        (stats.calls, stats.epochs_closed, stats.scheduled_pending),
        (1, 1, 0)
    );

    // Functions refuse unknown numbers with a typed error; calls to higher indices are refused.
    assert_eq!(
        l.query_raw(SEND_MANY, 99, &[]),
        Err(ContractError::UnknownFunction {
            contract: SEND_MANY.0,
            input_type: 99
        })
    );
    assert_eq!(
        l.query_raw(comqute_qpi::ContractIndex(77), 1, &[]),
        Err(ContractError::UnknownContract(77))
    );
    let hooks: Vec<_> = l.hook_failures().to_vec();
    assert!(hooks.is_empty(), "{hooks:?}");
    assert!(matches!(
        r.calls[0].entry,
        EntryPoint::Procedure(SEND_TO_MANY)
    ));
}

#[test]
fn a_failed_procedure_leaves_no_trace_and_refunds_the_reward() {
    let (mut l, keys) = example_ledger(1, 1_000);
    let a = keys[0].identity();
    let digest = l.state_digest();
    let events = l.events().len();
    let r = l.call(a, FAULTY, FAULTY_FAIL, &(), Amount(100)).unwrap();
    assert_eq!(
        r.error().and_then(|e| e.rejected_name()),
        Some("Planned"),
        "{r}"
    );
    assert!(!r.money_flew);
    assert!(r.transfers.is_empty() && r.events.is_empty());
    assert_eq!(
        r.calls.len(),
        2,
        "the call tree survives, with the error: {r}"
    );
    assert!(r.calls[0].error.is_some());
    assert_eq!(l.balance(&a), Amount(1_000));
    assert_eq!(l.state_digest(), digest);
    assert_eq!(l.events().len(), events);
    let count: u64 = l.query(FAULTY, FAULTY_COUNT, &()).unwrap();
    assert_eq!(count, 0);
    let n: u64 = l.query(NOTARY, NOTARY_COUNT, &()).unwrap();
    assert_eq!(n, 0);
}

#[test]
fn insufficient_balance_at_execution_is_dropped_with_a_reason() {
    let (mut l, keys) = example_ledger(1, 100);
    let t = l.next_tick();
    let a = l.submit(transfer(&keys[0], sink(1), 80, t)).unwrap();
    let b = l.submit(transfer(&keys[0], sink(2), 80, t)).unwrap();
    l.process_tick().unwrap();
    assert!(l.receipt(&a).unwrap().is_executed());
    assert_eq!(
        l.receipt(&b).unwrap().status,
        TxStatus::Dropped {
            reason: DropReason::InsufficientBalance {
                needed: 80,
                available: 20
            }
        }
    );
}

#[test]
fn a_full_tick_evicts_the_lowest_priority_with_a_receipt() {
    let keys: Vec<_> = (0..4).map(key).collect();
    let mut b = comqute_ledger::Ledger::builder().tick_capacity(2);
    for (i, k) in keys.iter().enumerate() {
        b = b.fund(k.identity(), Amount(100 * (i as i64 + 1)));
    }
    let mut l = b.build().unwrap();
    let t = l.next_tick();
    let low = l.submit(transfer(&keys[0], sink(1), 1, t)).unwrap();
    l.submit(transfer(&keys[1], sink(1), 1, t)).unwrap();
    // Priority = balance × (tick − latest outgoing tick + 1) = balance × 2 here: 600 evicts
    // 200, then a 200 newcomer is refused.
    let high = l.submit(transfer(&keys[2], sink(1), 1, t)).unwrap();
    let r = l.receipt(&low).expect("evicted transactions get a receipt");
    assert_eq!(
        r.status,
        TxStatus::Dropped {
            reason: DropReason::PoolFull {
                priority: "200".into(),
                evicted_by: high
            }
        }
    );
    let again = transfer(&keys[0], sink(1), 2, t);
    assert_eq!(
        l.submit(again),
        Err(LedgerError::TickFull {
            tick: t,
            capacity: 2
        })
    );
    l.process_tick().unwrap();
    assert_eq!(l.balance(&sink(1)), Amount(2));
}

#[test]
fn snapshots_restore_forks_isolate() {
    let (mut l, keys) = example_ledger(2, 1_000);
    let a = keys[0].identity();
    l.snapshot("genesis");
    let d0 = (l.digest(), l.state_digest(), l.next_tick());
    for i in 0..20 {
        l.call(
            a,
            SEND_MANY,
            SEND_TO_MANY,
            &SendToMany {
                payments: vec![(sink(i), Amount(3))],
            },
            Amount(13),
        )
        .unwrap();
    }
    l.snapshot("after");
    let d1 = (l.digest(), l.state_digest(), l.next_tick());
    let mut fork = l.fork();
    fork.call(a, FAULTY, FAULTY_SUCCEED, &(), Amount(0))
        .unwrap();
    assert_ne!(fork.state_digest(), l.state_digest());
    l.restore("genesis").unwrap();
    assert_eq!((l.digest(), l.state_digest(), l.next_tick()), d0);
    assert_eq!(l.state_digest(), l.state().recompute_digest());
    assert!(l.receipts().is_empty());
    assert_eq!(
        l.restore("after"),
        Err(LedgerError::UnknownSnapshot("after".into()))
    );
    // The fork kept its own history and state.
    assert_eq!(fork.balance(&sink(3)), Amount(3));
    assert_eq!(fork.state_digest(), fork.state().recompute_digest());
    let _ = d1;
}

/// A tick big enough for the parallel signature check (it overlaps execution): every slot
/// gets its own verdict, forged ones are dropped, the rest execute in slot order, and the
/// outcome equals the same transactions checked one by one (a tick too small to go parallel).
#[test]
fn a_large_tick_checks_each_signature_in_parallel_and_drops_only_the_forged() {
    let (mut big, keys) = example_ledger(80, 1_000);
    let t = big.next_tick();
    let mut txs = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        let mut tx = transfer(k, sink((i % 7) as u8 + 1), i as i64 + 1, t);
        if i % 5 == 3 {
            tx.signature[10] ^= 0x40; // forged
        }
        txs.push(tx);
    }
    let ids: Vec<_> = txs
        .iter()
        .map(|tx| big.submit(tx.clone()).unwrap())
        .collect();
    big.process_tick().unwrap();
    for (i, id) in ids.iter().enumerate() {
        let r = big.receipt(id).unwrap();
        if i % 5 == 3 {
            assert_eq!(
                r.status,
                TxStatus::Dropped {
                    reason: DropReason::BadSignature
                },
                "slot {i}"
            );
        } else {
            assert_eq!(r.status, TxStatus::Executed, "slot {i}");
        }
    }
    // The same transactions, a few per tick (below the parallel threshold), end in the same
    // balances.
    let (mut small, _) = example_ledger(80, 1_000);
    let mut ids_small = Vec::new();
    for (c, chunk) in txs.chunks(8).enumerate() {
        for (j, tx) in chunk.iter().enumerate() {
            let i = c * 8 + j;
            let k = &keys[i];
            // Signed again for its new tick; the forged ones forged again the same way.
            let mut tx = Transaction::new(
                tx.source,
                tx.destination,
                tx.amount,
                small.next_tick(),
                0,
                Vec::new(),
            )
            .sign(k);
            if i % 5 == 3 {
                tx.signature[10] ^= 0x40;
            }
            ids_small.push(small.submit(tx).unwrap());
        }
        small.process_tick().unwrap();
    }
    for (id, big_id) in ids_small.iter().zip(&ids) {
        assert_eq!(
            small.receipt(id).unwrap().status,
            big.receipt(big_id).unwrap().status
        );
    }
    for i in 0..=7u8 {
        assert_eq!(big.balance(&sink(i)), small.balance(&sink(i)), "sink {i}");
    }
    for k in &keys {
        assert_eq!(big.balance(&k.identity()), small.balance(&k.identity()));
    }
}

/// The digest rules of the crate docs ("Digests"), recomputed here from their formulas: the
/// entry hash of a balance record, the genesis digest, a tick's seed, receipts digest and
/// digest, under both digest policies. A change of rule must change these formulas (and the
/// durable format) on purpose.
#[test]
fn digests_follow_the_documented_rules() {
    for policy in [DigestPolicy::PerTick, DigestPolicy::OnDemand] {
        digests_follow_the_documented_rules_under(policy);
    }
}

fn digests_follow_the_documented_rules_under(policy: DigestPolicy) {
    use comqute_ledger::state::Account;
    use comqute_ledger::Ledger;
    let alice = Identity([7; 32]);
    let bob = Identity([8; 32]);
    let mut l = Ledger::builder()
        .epoch_ticks(50)
        .digests(policy)
        .fund(alice, Amount(500))
        .build()
        .unwrap();
    let record = |a: &Account| {
        let mut b = vec![1u8];
        b.extend_from_slice(&a.balance.to_le_bytes());
        b.extend_from_slice(&a.incoming_amount.to_le_bytes());
        b.extend_from_slice(&a.outgoing_amount.to_le_bytes());
        b.extend_from_slice(&a.number_of_incoming_transfers.to_le_bytes());
        b.extend_from_slice(&a.number_of_outgoing_transfers.to_le_bytes());
        b.extend_from_slice(&a.latest_incoming_transfer_tick.to_le_bytes());
        b.extend_from_slice(&a.latest_outgoing_transfer_tick.to_le_bytes());
        b
    };
    let lanes = |h: &[u8; 32]| -> [u64; 4] {
        std::array::from_fn(|i| u64::from_le_bytes(h[i * 8..i * 8 + 8].try_into().unwrap()))
    };
    let entry =
        |id: &Identity, a: &Account| lanes(blake3::keyed_hash(&id.0, &record(a)).as_bytes());
    let to_hash = |l: [u64; 4]| {
        let mut out = [0u8; 32];
        for (i, w) in l.iter().enumerate() {
            out[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
        }
        Hash32(out)
    };

    // One entry: the state digest is that entry's hash.
    let a0 = l.account(&alice);
    assert_eq!(l.state_digest(), to_hash(entry(&alice, &a0)));
    let mut g = blake3::Hasher::new();
    g.update(b"comqute genesis");
    g.update(&1u32.to_le_bytes()); // genesis tick
    g.update(&1u16.to_le_bytes()); // genesis epoch
    g.update(&50u32.to_le_bytes()); // ticks per epoch
    g.update(&l.state_digest().0);
    let genesis = Hash32(*g.finalize().as_bytes());
    assert_eq!(l.digest(), genesis);
    assert_eq!(
        l.receipts_chain(),
        genesis,
        "the chain starts at the genesis digest"
    );

    // Two transfers' ticks: the second chains the first's receipts digest.
    let mut chain = genesis;
    for amount in [20, 30] {
        let t = l.next_tick();
        let r = l
            .execute(alice, bob, Amount(amount), 0, Vec::new())
            .unwrap();
        let (a1, b1) = (l.account(&alice), l.account(&bob));
        let sum = std::array::from_fn(|i| entry(&alice, &a1)[i].wrapping_add(entry(&bob, &b1)[i]));
        assert_eq!(l.state_digest(), to_hash(sum));

        let s = l.tick_summaries().last().unwrap().clone();
        let mut seed = b"comqute tick seed".to_vec();
        seed.extend_from_slice(&chain.0);
        seed.extend_from_slice(&t.0.to_le_bytes());
        assert_eq!(s.seed, Hash32(*blake3::hash(&seed).as_bytes()));
        let mut receipts = t.0.to_le_bytes().to_vec();
        receipts.extend_from_slice(&r.tx_id.0);
        receipts.extend_from_slice(b"executed");
        receipts.push(1); // money flew
        let receipts_digest = Hash32(*blake3::keyed_hash(&chain.0, &receipts).as_bytes());
        assert_eq!(s.receipts_digest, receipts_digest);
        assert_eq!(l.receipts_chain(), receipts_digest);
        let want = Hash32(*blake3::keyed_hash(&receipts_digest.0, &to_hash(sum).0).as_bytes());
        assert_eq!(l.digest(), want);
        match policy {
            DigestPolicy::PerTick => {
                assert_eq!((s.state_digest, s.digest), (Some(to_hash(sum)), Some(want)))
            }
            DigestPolicy::OnDemand => assert_eq!((s.state_digest, s.digest), (None, None)),
        }
        chain = receipts_digest;
    }
}

/// A far warp costs what an idle warp costs: epoch boundaries stop it only when a contract's
/// epoch hooks have work (here, the send-many fee pot), and the epoch range ends with a
/// typed error before it runs out, instead of a frozen or silently stuck ledger.
#[test]
fn a_far_warp_crosses_idle_epochs_at_no_cost_and_the_epoch_range_ends_with_an_error() {
    let (mut l, keys) = example_ledger(2, 1_000);
    let last = l.last_tick_with_epoch();
    // Every epoch from genesis to the last one: no contract has epoch work, so no tick runs.
    let busy = l.tick_summaries().len();
    let digest = l.digest();
    l.warp_to_tick(Tick(last.0 - 5)).unwrap();
    assert_eq!(l.tick_summaries().len(), busy, "idle epochs leave no trace");
    assert_eq!(l.digest(), digest);
    assert_eq!(l.epoch().0, u16::MAX);

    // A fee paid into send-many gives its end-of-epoch hook work: the warp stops there.
    let (a, b) = (&keys[0], &keys[1]);
    let t = l.next_tick();
    let input = borsh::to_vec(&SendToMany {
        payments: vec![(b.identity(), Amount(10))],
    })
    .unwrap();
    let tx = Transaction::call(a.identity(), SEND_MANY, Amount(20), t, SEND_TO_MANY, input).sign(a);
    l.submit(tx).unwrap();
    l.warp_to_tick(last.next().unwrap()).unwrap();
    assert!(
        l.events().iter().any(|e| e.contract == SEND_MANY
            && matches!(
                SendManyEvent::try_from_slice(&e.data),
                Ok(SendManyEvent::EpochClosed { .. })
            )),
        "the epoch with a fee was closed"
    );

    // Past the last epoch: a typed error, before anything moves.
    let digest = l.digest();
    let e = l.warp_to_tick(Tick(u32::MAX - 1)).unwrap_err();
    assert_eq!(e, LedgerError::EpochOverflow { last_tick: last }, "{e}");
    let e = l.process_tick().unwrap_err();
    assert!(e.to_string().contains("epoch counter exhausted"), "{e}");
    assert_eq!(l.next_tick(), last.next().unwrap());
    assert_eq!(l.digest(), digest);
}

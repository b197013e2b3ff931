//! The two digest policies (issue 22): a harness ledger hashes its state only when a digest
//! is asked for, a node at the end of every busy tick, and a write never hashes. Both must
//! give the same digests for the same run, at any point, and both must equal a
//! recomputation from scratch, through failures, undo, snapshots, restores and forks.

mod common;

use common::*;
use comqute_ledger::state::{State, StoreKey};
use comqute_ledger::{DigestPolicy, Keypair, Ledger, Receipt, TickSummary, Transaction};
use comqute_qpi::examples::*;
use comqute_qpi::{Amount, ContractIndex, Hash32, Identity, Tick};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// The state alone: deferred hashing against settling after every write

#[derive(Debug, Clone)]
enum Op {
    Mint(u8, i64),
    Transfer(u8, u8, i64),
    Burn(u8, i64),
    Put(u8, u8, Vec<u8>),
    Delete(u8, u8),
    Member(u8, u8, bool),
    Mark,
    Undo,
    Settle,
    /// Fork, and go on with the child (`true`, the parent is kept aside and must not
    /// change) or with the parent (the child is dropped).
    Fork(bool),
    Check,
}

fn op() -> impl Strategy<Value = Op> {
    // Few identities and keys, so entries are rewritten, removed and written again.
    let id = 0u8..5;
    let contract = 1u8..3;
    let key = 0u8..6;
    // Values short and long (past the one-buffer limit of 512 bytes), often the same bytes.
    let value = prop_oneof![
        prop::collection::vec(0u8..3, 0..8),
        (0u8..4, 400usize..700).prop_map(|(b, n)| vec![b; n]),
    ];
    prop_oneof![
        (id.clone(), 0i64..1_000).prop_map(|(i, a)| Op::Mint(i, a)),
        (id.clone(), id.clone(), 0i64..600).prop_map(|(a, b, x)| Op::Transfer(a, b, x)),
        (id, 0i64..300).prop_map(|(i, a)| Op::Burn(i, a)),
        (contract.clone(), key.clone(), value).prop_map(|(c, k, v)| Op::Put(c, k, v)),
        (contract.clone(), key.clone()).prop_map(|(c, k)| Op::Delete(c, k)),
        (contract, key, any::<bool>()).prop_map(|(c, k, m)| Op::Member(c, k, m)),
        Just(Op::Mark),
        Just(Op::Undo),
        Just(Op::Settle),
        any::<bool>().prop_map(Op::Fork),
        Just(Op::Check),
    ]
}

fn ident(i: u8) -> Identity {
    Identity([i.wrapping_mul(37).wrapping_add(1); 32])
}

fn skey(c: u8, k: u8) -> StoreKey {
    StoreKey::new(ContractIndex(u32::from(c)), &[k, k ^ 0x5A]).expect("a short key")
}

/// Applies a write to a state (errors are refusals that change nothing).
fn write(s: &mut State, op: &Op) {
    let t = Tick(7);
    match op {
        Op::Mint(i, a) => {
            let _ = s.mint(&ident(*i), Amount(*a), t);
        }
        Op::Transfer(a, b, x) => {
            let _ = s.transfer(&ident(*a), &ident(*b), Amount(*x), t);
        }
        Op::Burn(i, a) => {
            let _ = s.burn(&ident(*i), Amount(*a), t);
        }
        Op::Put(c, k, v) => {
            s.kv_set(skey(*c, *k), Some(v.clone().into_boxed_slice()));
        }
        Op::Delete(c, k) => {
            s.kv_set(skey(*c, *k), None);
        }
        Op::Member(c, k, m) => {
            s.set_put(skey(*c, *k), *m);
        }
        _ => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// A state that defers hashing (settled only at random points), one settled after every
    /// operation and one that hashes every write at once (eager, a node's) agree at every
    /// check, with each other, with a recomputation from scratch, and (through
    /// `changed_since`) with the digest at each live mark; undoing to a mark gives its
    /// digest back; a parent set aside at a fork never changes.
    #[test]
    fn deferred_hashing_gives_the_digest_of_hashing_every_write(
        ops in prop::collection::vec(op(), 1..120)
    ) {
        let mut lazy = State::new();
        let mut eager = State::new();
        let mut hot = State::new();
        hot.set_eager(true);
        let mut marks = Vec::new();
        let mut parked: Vec<(State, Hash32)> = Vec::new();
        for op in &ops {
            match op {
                Op::Mark => marks.push((lazy.mark(), eager.mark(), hot.mark(), lazy.digest())),
                Op::Undo => {
                    if let Some((ml, me, mh, d)) = marks.pop() {
                        lazy.undo_to(ml);
                        eager.undo_to(me);
                        hot.undo_to(mh);
                        prop_assert_eq!(lazy.digest(), d);
                        prop_assert!(!lazy.changed_since(ml));
                    }
                }
                Op::Settle => lazy.settle(),
                Op::Fork(keep_child) => {
                    let child = lazy.fork();
                    let echild = eager.fork();
                    let hchild = hot.fork();
                    if *keep_child {
                        let parent = std::mem::replace(&mut lazy, child);
                        let d = parent.digest();
                        parked.push((parent, d));
                        eager = echild;
                        hot = hchild;
                        // The child's journal starts empty: the parent's marks are not its.
                        marks.clear();
                    }
                }
                Op::Check => {
                    let d = lazy.digest();
                    prop_assert_eq!(d, eager.digest());
                    prop_assert_eq!(d, hot.digest());
                    prop_assert_eq!(d, lazy.recompute_digest());
                    for (ml, _, _, at) in &marks {
                        prop_assert_eq!(lazy.changed_since(*ml), d != *at);
                    }
                }
                write_op => write(&mut lazy, write_op),
            }
            if !matches!(op, Op::Mark | Op::Undo | Op::Settle | Op::Fork(_) | Op::Check) {
                write(&mut eager, op);
                write(&mut hot, op);
            }
            eager.settle();
            prop_assert!(eager.is_settled());
            prop_assert!(hot.is_settled(), "an eager state leaves nothing dirty");
        }
        let d = lazy.digest();
        prop_assert_eq!(d, eager.digest());
        prop_assert_eq!(d, hot.digest());
        prop_assert_eq!(d, lazy.recompute_digest());
        lazy.settle();
        prop_assert!(lazy.is_settled());
        prop_assert_eq!(lazy.digest(), d);
        for (p, at) in &parked {
            prop_assert_eq!(p.digest(), *at);
            prop_assert_eq!(p.recompute_digest(), *at);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Ledgers: the same random schedule under both policies

#[derive(Debug, Clone)]
enum Tx {
    Transfer {
        from: usize,
        to: usize,
        amount: i64,
    },
    SendMany {
        from: usize,
        to: Vec<(usize, i64)>,
    },
    Schedule {
        from: usize,
        to: usize,
        amount: i64,
        delay: u32,
    },
    Fail {
        from: usize,
        amount: i64,
    },
    Succeed {
        from: usize,
        amount: i64,
    },
}

#[derive(Debug, Clone)]
enum Action {
    /// Queue a transaction for the next tick (several make one busy tick).
    Submit(Tx),
    /// Process the next tick.
    Tick,
    /// Warp.
    Advance(u32),
    /// A faucet call between ticks.
    Fund(usize, i64),
    Snapshot(u8),
    Restore(u8),
    /// Go on with a fork.
    Fork,
    /// Compare every digest.
    Check,
}

const KEYS: usize = 4;

fn tx() -> impl Strategy<Value = Tx> {
    let who = 0..KEYS;
    prop_oneof![
        (who.clone(), 0..KEYS + 2, 0i64..500).prop_map(|(from, to, amount)| Tx::Transfer {
            from,
            to,
            amount
        }),
        (
            who.clone(),
            prop::collection::vec((0..KEYS + 2, 1i64..200), 1..4)
        )
            .prop_map(|(from, to)| Tx::SendMany { from, to }),
        (who.clone(), 0..KEYS + 2, 1i64..300, 0u32..6).prop_map(|(from, to, amount, delay)| {
            Tx::Schedule {
                from,
                to,
                amount,
                delay,
            }
        }),
        (who.clone(), 0i64..300).prop_map(|(from, amount)| Tx::Fail { from, amount }),
        (who, 0i64..300).prop_map(|(from, amount)| Tx::Succeed { from, amount }),
    ]
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        6 => tx().prop_map(Action::Submit),
        4 => Just(Action::Tick),
        1 => (1u32..25).prop_map(Action::Advance),
        1 => (0..KEYS + 2, 0i64..1_000).prop_map(|(i, a)| Action::Fund(i, a)),
        1 => (0u8..2).prop_map(Action::Snapshot),
        1 => (0u8..2).prop_map(Action::Restore),
        1 => Just(Action::Fork),
        2 => Just(Action::Check),
    ]
}

fn target(keys: &[Keypair], i: usize) -> Identity {
    keys.get(i)
        .map(|k| k.identity())
        .unwrap_or_else(|| sink(i as u8))
}

fn transaction(keys: &[Keypair], t: Tick, tx: &Tx) -> Transaction {
    match tx {
        Tx::Transfer { from, to, amount } => Transaction::new(
            keys[*from].identity(),
            target(keys, *to),
            Amount(*amount),
            t,
            0,
            vec![],
        ),
        Tx::SendMany { from, to } => {
            let payments: Vec<_> = to
                .iter()
                .map(|(i, x)| (target(keys, *i), Amount(*x)))
                .collect();
            let sum: i64 = to.iter().map(|(_, x)| x).sum::<i64>() + SEND_MANY_FEE.0;
            let input = borsh::to_vec(&SendToMany { payments }).expect("borsh");
            Transaction::call(
                keys[*from].identity(),
                SEND_MANY,
                Amount(sum),
                t,
                SEND_TO_MANY,
                input,
            )
        }
        Tx::Schedule {
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
            .expect("borsh");
            Transaction::call(
                keys[*from].identity(),
                SEND_MANY,
                Amount(*amount),
                t,
                SCHEDULE,
                input,
            )
        }
        Tx::Fail { from, amount } => Transaction::call(
            keys[*from].identity(),
            FAULTY,
            Amount(*amount),
            t,
            FAULTY_FAIL,
            vec![],
        ),
        Tx::Succeed { from, amount } => Transaction::call(
            keys[*from].identity(),
            FAULTY,
            Amount(*amount),
            t,
            FAULTY_SUCCEED,
            vec![],
        ),
    }
}

/// A ledger of the example contracts under `policy`, with `KEYS` funded keys.
fn ledger(policy: DigestPolicy) -> (Ledger, Vec<Keypair>) {
    let keys: Vec<Keypair> = (0..KEYS as u32).map(key).collect();
    let mut b = Ledger::builder()
        .contract(Notary)
        .contract(SendMany)
        .contract(Faulty)
        .epoch_ticks(20)
        .digests(policy);
    for k in &keys {
        b = b.fund(k.identity(), Amount(2_000));
    }
    (b.build().expect("valid genesis"), keys)
}

/// Receipts, events (sequence number and data) and tick summaries.
type History = (Vec<Receipt>, Vec<(u64, Vec<u8>)>, Vec<TickSummary>);

/// What a ledger did, digests of the state aside.
fn history(l: &Ledger) -> History {
    let strip = |s: TickSummary| TickSummary {
        state_digest: None,
        digest: None,
        ..s
    };
    (
        l.receipts().to_vec(),
        l.events().iter().map(|e| (e.seq, e.data)).collect(),
        l.tick_summaries().iter().map(strip).collect(),
    )
}

fn apply(l: &mut Ledger, keys: &[Keypair], a: &Action) {
    match a {
        Action::Submit(tx) => {
            // A source that ran dry is refused: that is fine here.
            let _ = l.submit_unsigned(transaction(keys, l.next_tick(), tx));
        }
        Action::Tick => {
            l.process_tick().expect("a tick");
        }
        Action::Advance(n) => l.advance_ticks(*n).expect("a warp"),
        Action::Fund(i, a) => l
            .fund(&target(keys, *i), Amount(*a))
            .expect("a faucet call"),
        Action::Snapshot(n) => l.snapshot(&format!("s{n}")),
        Action::Restore(n) => {
            // An unknown (or dropped) snapshot is an error that changes nothing.
            let _ = l.restore(&format!("s{n}"));
        }
        Action::Fork => *l = l.fork(),
        Action::Check => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// The same schedule on three ledgers: on demand and asked only at random points, on
    /// demand and asked after every action, and per tick. Their digests, state digests and
    /// receipts chains agree whenever compared, each equals a recomputation from scratch,
    /// and their receipts, events and tick summaries are the same; the per-tick summaries
    /// carry the documented tick digest.
    #[test]
    fn both_policies_give_the_same_digests_on_random_schedules(
        actions in prop::collection::vec(action(), 1..80)
    ) {
        let (mut od, keys) = ledger(DigestPolicy::OnDemand);
        let (mut asked, _) = ledger(DigestPolicy::OnDemand);
        let (mut pt, _) = ledger(DigestPolicy::PerTick);
        prop_assert_eq!(od.digest(), pt.digest());
        for a in &actions {
            apply(&mut od, &keys, a);
            apply(&mut asked, &keys, a);
            apply(&mut pt, &keys, a);
            // Asking every time: each ask hashes only what was written since the last.
            let _ = asked.digest();
            if matches!(a, Action::Check) {
                let d = od.digest();
                prop_assert_eq!(d, pt.digest());
                prop_assert_eq!(d, asked.digest());
                let sd = od.state_digest();
                prop_assert_eq!(sd, pt.state_digest());
                prop_assert_eq!(sd, asked.state_digest());
                prop_assert_eq!(sd, od.state().recompute_digest());
                prop_assert_eq!(pt.state_digest(), pt.state().recompute_digest());
                prop_assert_eq!(od.receipts_chain(), pt.receipts_chain());
            }
        }
        prop_assert_eq!(od.next_tick(), pt.next_tick());
        prop_assert_eq!(od.digest(), pt.digest());
        prop_assert_eq!(asked.digest(), pt.digest());
        prop_assert_eq!(od.state_digest(), od.state().recompute_digest());
        prop_assert_eq!(pt.state_digest(), pt.state().recompute_digest());
        prop_assert_eq!(history(&od), history(&pt));
        prop_assert_eq!(history(&asked), history(&pt));
        for s in od.tick_summaries() {
            prop_assert_eq!((s.state_digest, s.digest), (None, None));
        }
        for s in pt.tick_summaries() {
            let (Some(state), Some(digest)) = (s.state_digest, s.digest) else {
                return Err(TestCaseError::fail("a per-tick summary without digests"));
            };
            let want = Hash32(*blake3::keyed_hash(&s.receipts_digest.0, &state.0).as_bytes());
            prop_assert_eq!(digest, want);
        }
    }
}

/// On demand, a write never hashes: entries written again and again stay listed once, until
/// a digest is asked for. Per tick, every busy tick ends settled.
#[test]
fn the_harness_defers_hashing_and_a_node_settles_every_tick() {
    let (mut od, keys) = ledger(DigestPolicy::OnDemand);
    let (mut pt, _) = ledger(DigestPolicy::PerTick);
    let (a, b) = (keys[0].identity(), keys[1].identity());
    for i in 0..100 {
        let (from, to) = if i % 2 == 0 { (a, b) } else { (b, a) };
        for l in [&mut od, &mut pt] {
            let r = l
                .execute(from, to, Amount(1), 0, Vec::new())
                .expect("a transfer");
            assert!(r.is_executed());
        }
        assert!(pt.state().is_settled());
    }
    // The two accounts, each listed once however often written; nothing hashed yet.
    assert_eq!(od.state().dirty_counts(), (2, 0, 0));
    assert_eq!(od.digest(), pt.digest());
    // The ask hashed without keeping; the next tick keeps the hashes first.
    od.execute(a, b, Amount(1), 0, Vec::new())
        .expect("a transfer");
    pt.execute(a, b, Amount(1), 0, Vec::new())
        .expect("a transfer");
    assert_eq!(od.state().dirty_counts(), (2, 0, 0));
    od.settle_digests();
    assert!(od.state().is_settled());
    assert_eq!(od.digest(), pt.digest());
    assert_eq!(od.state_digest(), od.state().recompute_digest());
    assert_eq!(od.digest_policy(), DigestPolicy::OnDemand);
    assert_eq!(pt.digest_policy(), DigestPolicy::PerTick);
}

/// On demand, the dirty lists stay bounded: past `DIRTY_CAP` entries written since the last
/// digest, the next tick settles (the digest is the same either way).
#[test]
fn a_big_unasked_state_is_settled_at_the_cap() {
    let (mut od, _) = ledger(DigestPolicy::OnDemand);
    let n = comqute_ledger::DIRTY_CAP as u32 + 10;
    for i in 0..n {
        let mut b = [0x77u8; 32];
        b[..4].copy_from_slice(&i.to_le_bytes());
        od.fund(&Identity(b), Amount(1)).expect("a faucet call");
    }
    assert_eq!(od.state().dirty_len(), n as usize);
    let d = od.state().recompute_digest();
    od.process_tick().expect("a tick");
    assert!(od.state().is_settled());
    assert_eq!(od.state_digest(), d);
}

/// A faucet call after a busy tick changes the state outside a tick: the pending tick digest
/// is computed first, so it stays the digest of that tick's state, as per tick.
#[test]
fn a_faucet_call_fixes_the_pending_digest_first() {
    let (mut od, keys) = ledger(DigestPolicy::OnDemand);
    let (mut pt, _) = ledger(DigestPolicy::PerTick);
    for l in [&mut od, &mut pt] {
        l.execute(keys[0].identity(), sink(9), Amount(5), 0, Vec::new())
            .expect("a transfer");
        l.fund(&sink(9), Amount(1_000)).expect("a faucet call");
        // An idle tick: the digest stays the busy tick's.
        l.process_tick().expect("a tick");
    }
    assert_eq!(od.digest(), pt.digest());
    assert_eq!(od.state_digest(), pt.state_digest());
    assert_eq!(
        pt.tick_summaries().last().and_then(|s| s.digest),
        Some(pt.digest())
    );
}

/// A recording ledger digests per tick whatever it was asked, and replays.
#[test]
fn a_recording_digests_per_tick() {
    let keys: Vec<Keypair> = (0..2).map(key).collect();
    let mut l = Ledger::builder()
        .contract(Notary)
        .contract(SendMany)
        .contract(Faulty)
        .digests(DigestPolicy::OnDemand)
        .record()
        .fund(keys[0].identity(), Amount(1_000))
        .build()
        .expect("genesis");
    assert_eq!(l.digest_policy(), DigestPolicy::PerTick);
    l.execute(
        keys[0].identity(),
        keys[1].identity(),
        Amount(5),
        0,
        Vec::new(),
    )
    .expect("a transfer");
    let replayed = l
        .recording()
        .expect("recorded")
        .replay(vec![
            std::sync::Arc::new(Notary),
            std::sync::Arc::new(SendMany),
            std::sync::Arc::new(Faulty),
        ])
        .expect("replays");
    assert_eq!(replayed.digest(), l.digest());
}

//! `comqute demo`: a scripted devnet run on an embedded ledger, printing ticks, receipts and
//! digests. Until the marketplace lands it plays transfers and the example contracts; it
//! ends by itself and exits non-zero if any invariant it checks fails.

use anyhow::{ensure, Result};
use clap::Args;
use comqute_contracts::examples::{
    Faulty, Notary, Schedule, SendMany, SendManyStats, SendToMany, FAULTY, FAULTY_FAIL, SCHEDULE,
    SEND_MANY, SEND_TO_MANY, STATS,
};
use comqute_contracts::{Amount, Epoch, Identity};
use comqute_ledger::{Keypair, Ledger, Receipt, Seed, Transaction, TxStatus};

/// Options of the demo.
#[derive(Args)]
pub struct DemoArgs {
    /// Ticks per epoch of the demo devnet.
    #[arg(long, default_value_t = 10)]
    epoch_ticks: u32,
}

fn who(id: &Identity, names: &[(&str, Identity)]) -> String {
    if let Some((n, _)) = names.iter().find(|(_, i)| i == id) {
        return (*n).to_string();
    }
    match id.contract_index() {
        Some(i) => format!("contract#{i}"),
        None => format!("{}…", &id.to_string()[..8]),
    }
}

fn show(r: &Receipt, names: &[(&str, Identity)]) {
    let status = match &r.status {
        TxStatus::Executed => "executed".to_string(),
        TxStatus::Failed { error } => format!("FAILED, rolled back: {error}"),
        TxStatus::Dropped { reason } => format!("DROPPED: {reason:?}"),
    };
    println!(
        "  slot {} {} → {} amount {} input {}: {status}",
        r.slot,
        who(&r.source, names),
        who(&r.destination, names),
        r.amount,
        r.input_type
    );
    for t in &r.transfers {
        println!(
            "      {:?} {} → {}: {}",
            t.kind,
            who(&t.from, names),
            who(&t.to, names),
            t.amount
        );
    }
    if !r.events.is_empty() {
        println!("      {} event(s)", r.events.len());
    }
}

fn run_tick(l: &mut Ledger, names: &[(&str, Identity)]) -> Result<()> {
    let t = l.process_tick()?;
    let rs: Vec<Receipt> = l.receipts_for_tick(t).into_iter().cloned().collect();
    println!(
        "tick {t} (epoch {}): {} transaction(s)",
        l.epoch_of(t),
        rs.len()
    );
    for r in &rs {
        show(r, names);
    }
    println!("  digest {}  state {}", l.digest(), l.state_digest());
    Ok(())
}

/// Runs the demo.
pub fn run(args: DemoArgs) -> Result<()> {
    let key = |name: &str| -> Result<Keypair> {
        let mut s = name.repeat(55 / name.len() + 1);
        s.truncate(55);
        Ok(Seed::new(&s)?.keypair())
    };
    let (alice, bob, carol) = (key("alice")?, key("bob")?, key("carol")?);
    let names = [
        ("alice", alice.identity()),
        ("bob", bob.identity()),
        ("carol", carol.identity()),
    ];
    let mut l = Ledger::builder()
        .contract(Notary)
        .contract(SendMany)
        .contract(Faulty)
        .epoch_ticks(args.epoch_ticks)
        .fund(alice.identity(), Amount(1_000_000))
        .fund(bob.identity(), Amount(500_000))
        .build()?;
    println!("comqute demo: an embedded devnet with the example contracts");
    println!(
        "  (notary #10, send-many #11, faulty #12; {} ticks per epoch)",
        args.epoch_ticks
    );
    for (n, id) in &names {
        println!("  {n:<6} {id}  balance {}", l.balance(id));
    }
    println!("  genesis digest {}", l.digest());

    // Tick 1: a plain transfer and a send-to-many call, both signed.
    let t = l.next_tick();
    l.submit(
        Transaction::new(
            alice.identity(),
            carol.identity(),
            Amount(25_000),
            t,
            0,
            vec![],
        )
        .sign(&alice),
    )?;
    let payments = SendToMany {
        payments: vec![
            (bob.identity(), Amount(1_000)),
            (carol.identity(), Amount(2_000)),
        ],
    };
    l.submit(
        Transaction::call(
            alice.identity(),
            SEND_MANY,
            Amount(3_500),
            t,
            SEND_TO_MANY,
            borsh::to_vec(&payments)?,
        )
        .sign(&alice),
    )?;
    run_tick(&mut l, &names)?;

    // Tick 2: a call that mutates state and then fails (left no trace), and a payment
    // scheduled three ticks ahead.
    let t = l.next_tick();
    l.submit(
        Transaction::call(bob.identity(), FAULTY, Amount(700), t, FAULTY_FAIL, vec![]).sign(&bob),
    )?;
    let sched = Schedule {
        to: carol.identity(),
        amount: Amount(4_242),
        at: t.plus(3),
    };
    l.submit(
        Transaction::call(
            bob.identity(),
            SEND_MANY,
            Amount(4_242),
            t,
            SCHEDULE,
            borsh::to_vec(&sched)?,
        )
        .sign(&bob),
    )?;
    // A transaction for a tick far ahead waits for it.
    l.submit(
        Transaction::new(
            carol.identity(),
            bob.identity(),
            Amount(1),
            t.plus(3),
            0,
            vec![],
        )
        .sign(&carol),
    )?;
    run_tick(&mut l, &names)?;
    for _ in 0..3 {
        run_tick(&mut l, &names)?;
    }

    // Warp to the next epoch: the end-of-epoch hook shares out the fees.
    let next = Epoch(l.epoch().0 + 1);
    let before = l.next_tick();
    l.warp_to_epoch(next)?;
    println!(
        "warped from tick {before} to tick {} (epoch {next}); digest {}",
        l.next_tick(),
        l.digest()
    );
    for e in l.events().iter().filter(|e| e.tx.is_none()) {
        let c = l
            .registry()
            .get(e.contract)
            .map(|c| c.describe_event(&e.data))
            .unwrap_or_default();
        println!(
            "  hook event at tick {} from contract #{}: {c}",
            e.tick, e.contract
        );
    }
    let stats: SendManyStats = l.query(SEND_MANY, STATS, &())?;
    println!("send-many stats: {stats:?}");

    println!("final balances:");
    for (n, id) in &names {
        println!("  {n:<6} {}", l.balance(id));
    }
    let total: i128 = l
        .state()
        .accounts_sorted()
        .iter()
        .map(|(_, a)| i128::from(a.balance))
        .sum();
    let supply = l.supply();
    println!(
        "supply: minted {} burned {} circulating {} = sum of balances {}",
        supply.minted,
        supply.burned,
        supply.circulating(),
        total
    );
    ensure!(total == supply.circulating(), "money was not conserved");
    ensure!(
        l.balance(&carol.identity()) == Amount(25_000 + 2_000 + 4_242 - 1),
        "carol's balance is off"
    );
    ensure!(
        l.state_digest() == l.state().recompute_digest(),
        "incremental digest drifted"
    );
    println!("checks passed: money conserved, incremental digest equals a full recomputation");
    Ok(())
}

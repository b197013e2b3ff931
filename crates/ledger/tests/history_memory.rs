//! Memory of the compact history (issue 22, decision 2), counted by this test binary's own
//! allocator: a kept transfer costs at most 128 bytes, and under `Retention::KeepLast` the
//! heap stays flat over 10,000,000 transfers. Bounded in count, never timed.

use std::sync::Mutex;

use comqute_ledger::{DigestPolicy, Ledger, Retention, Transaction};
use comqute_qpi::{Amount, Identity};

/// The counting allocator of `comqute bench` (the same file), so both count alike.
#[allow(dead_code)]
#[path = "../../cli/src/alloc.rs"]
mod alloc;

#[global_allocator]
static ALLOC: alloc::Counting = alloc::Counting;

/// The tests count one process-wide figure: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn live() -> i64 {
    alloc::live_bytes() as i64
}

fn who(i: u32) -> Identity {
    let mut b = [0x33; 32];
    b[..4].copy_from_slice(&i.to_le_bytes());
    Identity(b)
}

const ACCOUNTS: u32 = 1_000;

fn ledger(retention: Retention, policy: DigestPolicy) -> Ledger {
    let mut b = Ledger::builder().history(retention).digests(policy);
    for i in 0..ACCOUNTS {
        b = b.fund(who(i), Amount(1_000_000_000_000));
    }
    b.build().expect("genesis")
}

/// Runs `n` transfers among the funded accounts, `per_tick` to a tick; transfer `k` of the
/// run is numbered `from + k`.
fn transfers(l: &mut Ledger, from: u64, n: u64, per_tick: u64) {
    let mut k = from;
    while k < from + n {
        let t = l.next_tick();
        let batch = per_tick.min(from + n - k);
        for j in 0..batch {
            let i = k + j;
            let tx = Transaction::new(
                who((i % u64::from(ACCOUNTS)) as u32),
                who(((i * 7 + 1) % u64::from(ACCOUNTS)) as u32),
                Amount(1 + (i % 5) as i64),
                t,
                0,
                (i as u32).to_le_bytes().to_vec(),
            );
            l.submit_unsigned(tx).expect("a funded transfer");
        }
        l.process_tick().expect("tick");
        k += batch;
    }
}

/// Heap growth per transfer over `n` transfers after a warm-up.
fn bytes_per_transfer(retention: Retention, policy: DigestPolicy, per_tick: u64, n: u64) -> f64 {
    let mut l = ledger(retention, policy);
    transfers(&mut l, 0, 10_000, per_tick);
    let before = live();
    transfers(&mut l, 10_000, n, per_tick);
    // The id index is built when an id is first looked up: count it too.
    let last = l.receipts().last().expect("receipts").tx_id;
    assert!(l.receipt(&last).is_some());
    let after = live();
    assert_eq!(l.receipts().len() as u64, 10_000 + n, "all kept");
    assert!(l.receipts().iter().all(|r| r.is_executed()));
    (after - before) as f64 / n as f64
}

#[test]
fn a_kept_transfer_costs_at_most_128_bytes() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // The harness default (digests on demand), one transfer a tick as `Ledger::execute`
    // runs them, and a node's ticks (per-tick digests, full ticks).
    for (policy, per_tick, limit) in [
        (DigestPolicy::OnDemand, 1, 128.0),
        (DigestPolicy::OnDemand, 1_024, 128.0),
        (DigestPolicy::PerTick, 1_024, 128.0),
        // Per-tick digests are 64 more bytes a busy tick.
        (DigestPolicy::PerTick, 1, 192.0),
    ] {
        let b = bytes_per_transfer(Retention::KeepAll, policy, per_tick, 200_000);
        println!("{policy:?}, {per_tick} a tick: {b:.1} bytes per kept transfer");
        assert!(
            b <= limit,
            "{policy:?}, {per_tick} a tick: {b:.1} bytes per kept transfer (limit {limit})"
        );
    }
}

#[test]
fn keep_last_memory_stays_flat_over_ten_million_transfers() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    const TOTAL: u64 = 10_000_000;
    const STEP: u64 = 500_000;
    let mut l = ledger(Retention::KeepLast(16), DigestPolicy::OnDemand);
    // Past the first trims, the heap's range over each stretch of 500,000 transfers.
    transfers(&mut l, 0, 2 * STEP, 4_096);
    let mut peaks = Vec::new();
    let mut done = 2 * STEP;
    while done < TOTAL {
        let (mut lo, mut hi) = (i64::MAX, i64::MIN);
        let end = done + STEP;
        while done < end {
            transfers(&mut l, done, 4_096 * 4, 4_096);
            done += 4_096 * 4;
            let now = live();
            lo = lo.min(now);
            hi = hi.max(now);
        }
        peaks.push((lo, hi));
    }
    let kept = l.receipts().len();
    assert!(kept <= 32 * 4_096, "{kept} receipts kept");
    println!("heap range per 500,000 transfers: {peaks:?}");
    // Flat: the second half of the run (5,000,000 more transfers) peaks no higher than the
    // first half did, within 64 KiB (the id index settles its size over the first trims).
    let half = peaks.len() / 2;
    let first = peaks[..half].iter().map(|p| p.1).max().unwrap_or(0);
    let second = peaks[half..].iter().map(|p| p.1).max().unwrap_or(0);
    assert!(
        second <= first + (64 << 10),
        "the heap grew from {first} to {second} bytes: {peaks:?}"
    );
    // And it is the size of what is kept, not of what ran: about 100 bytes a kept receipt.
    assert!(second < 40 << 20, "{second} bytes for {kept} kept receipts");
    assert_eq!(
        l.receipts().last().map(|r| r.tick),
        l.tick_summaries().last().map(|s| s.tick)
    );
}

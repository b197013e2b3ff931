//! Crash test: a child process runs the durable ledger under a steady, deterministic load and
//! prints every tick and transaction right after `process_tick` returns (so after the log
//! sync). The parent SIGKILLs it at random moments, starts it again on the same directory,
//! and in the end checks that every reported tick and transaction is there, with the same
//! tick and digest, and that the digests equal a clean in-memory run of the same load.
//!
//! The child is this test binary itself, run again with `COMQUTE_CRASH_DIR` set.
#![cfg(unix)]

mod durable_support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use comqute_ledger::durable::{verify, DurableLedger, TxState};
use comqute_ledger::Ledger;
use comqute_qpi::{Hash32, Tick};
use durable_support::*;

const ROUNDS: u32 = 24;
const CHILD_ENV: &str = "COMQUTE_CRASH_DIR";

/// The child: opens the directory (recovering) and runs the load until killed.
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    // libtest has printed "test crash_child ... " without a line end: end that line first.
    println!();
    let keys = keys();
    let (mut node, report) = match DurableLedger::open(&dir, genesis(&keys), small_config()) {
        Ok(x) => x,
        Err(e) => {
            println!("ERROR open: {e}");
            return;
        }
    };
    for w in &report.warnings {
        println!("WARN {w}");
    }
    println!("START {}", node.ledger().next_tick().0);
    let mut seen_ticks = node.ledger().tick_summaries().len();
    let mut seen_receipts = node.ledger().receipts().len();
    // Bounded, in case the parent never kills us.
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        step(&mut node, &keys);
        let l = node.ledger();
        for s in l.tick_summaries().slice(seen_ticks..) {
            // A durable ledger digests per tick.
            let digest = s
                .digest
                .expect("a durable ledger's summaries carry digests");
            println!("T {} {}", s.tick.0, digest.to_hex());
        }
        for r in l.receipts().slice(seen_receipts..) {
            if r.slot != u32::MAX {
                println!("X {} {} {}", r.tx_id.to_hex(), r.tick.0, r.status.name());
            }
        }
        seen_ticks = l.tick_summaries().len();
        seen_receipts = l.receipts().len();
    }
}

/// A small deterministic generator for the kill delays (no OS randomness needed).
struct SplitMix(u64);
impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Runs the child on `dir`. With `after_start`, the kill timer starts once the child has
/// recovered and begun its load; without, it may land in the middle of recovery.
fn run_child(dir: &Path, kill_after: Duration, after_start: bool) -> Vec<String> {
    let exe = std::env::current_exe().expect("test binary path");
    let mut child = Command::new(exe)
        .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child");
    let out = child.stdout.take().expect("piped stdout");
    let (started_tx, started_rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if line.starts_with("START") || line.starts_with("ERROR") {
                let _ = started_tx.send(());
            }
            lines.push(line);
        }
        lines
    });
    if after_start {
        // Bounded: a child that never starts is reported by the caller.
        let _ = started_rx.recv_timeout(Duration::from_secs(20));
    }
    std::thread::sleep(kill_after);
    // SIGKILL on Unix: no destructor, no flush.
    let _ = child.kill();
    let _ = child.wait();
    reader.join().expect("reader thread")
}

#[test]
fn killed_at_random_points_loses_no_reported_tick() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let started = Instant::now();
    let dir = temp_dir("crash");
    let mut rng = SplitMix(0xC0FFEE);
    let mut ticks: BTreeMap<u32, String> = BTreeMap::new();
    let mut txs: BTreeMap<String, (u32, String)> = BTreeMap::new();
    let mut warnings = 0usize;
    let mut kills_in_recovery = 0u32;
    for round in 0..ROUNDS {
        // Every fourth round the kill may land in recovery; the others during the load.
        let in_recovery = round % 4 == 3;
        let delay = if in_recovery {
            Duration::from_millis(rng.next() % 40)
        } else {
            Duration::from_millis(20 + rng.next() % 250)
        };
        let lines = run_child(&dir, delay, !in_recovery);
        if in_recovery {
            kills_in_recovery += u32::from(!lines.iter().any(|l| l.starts_with("START")));
        } else {
            assert!(
                lines.iter().any(|l| l.starts_with("START")),
                "round {round}: child did not start: {:?}",
                &lines[..lines.len().min(5)]
            );
        }
        for line in lines {
            let parts: Vec<&str> = line.split(' ').collect();
            match parts[0] {
                "ERROR" => panic!("round {round}: {line}"),
                "WARN" => warnings += 1,
                "T" => {
                    let t: u32 = parts[1].parse().expect("tick");
                    let old = ticks.insert(t, parts[2].to_owned());
                    assert!(
                        old.is_none(),
                        "round {round}: tick {t} reported twice: it was lost after being reported"
                    );
                }
                "X" => {
                    let old = txs.insert(
                        parts[1].to_owned(),
                        (parts[2].parse().expect("tick"), parts[3].to_owned()),
                    );
                    assert!(
                        old.is_none(),
                        "round {round}: transaction {} reported twice",
                        parts[1]
                    );
                }
                _ => {}
            }
        }
    }
    assert!(
        ticks.len() > 50,
        "too little progress to mean anything: {} ticks",
        ticks.len()
    );

    // Start once more and check every reported tick and transaction.
    let keys = keys();
    let (mut node, _report) =
        DurableLedger::open(&dir, genesis(&keys), small_config()).expect("recovers");
    for (t, digest) in &ticks {
        let rec = node
            .tick_record(Tick(*t))
            .expect("index")
            .unwrap_or_else(|| panic!("reported tick {t} is missing"));
        assert_eq!(&rec.check.digest.to_hex(), digest, "tick {t}");
    }
    for (id, (tick, status)) in &txs {
        let id = Hash32::from_hex(id).expect("hex id");
        match node.tx_status(&id).expect("index") {
            TxState::Done(r) => {
                assert_eq!(r.tick.0, *tick, "tx {id}");
                assert_eq!(r.outcome.name(), status, "tx {id}");
            }
            other => panic!("reported transaction {id} is {other:?} after restart"),
        }
    }

    // A clean in-memory run of the same load passes through the same ticks and digests.
    let mut clean: Ledger = genesis(&keys)
        .digests(comqute_ledger::DigestPolicy::PerTick)
        .build()
        .expect("genesis");
    while clean.next_tick() < node.ledger().next_tick() {
        step(&mut clean, &keys);
    }
    let by_tick: BTreeMap<u32, String> = clean
        .tick_summaries()
        .iter()
        .filter_map(|s| Some((s.tick.0, s.digest?.to_hex())))
        .collect();
    for (t, digest) in &ticks {
        assert_eq!(
            by_tick.get(t),
            Some(digest),
            "tick {t} differs from the clean run"
        );
    }
    // One more step on both: same position and digests.
    step(&mut node, &keys);
    step(&mut clean, &keys);
    assert_eq!(node.ledger().next_tick(), clean.next_tick());
    assert_eq!(node.ledger().digest(), clean.digest());
    assert_eq!(node.ledger().state_digest(), clean.state_digest());
    let end_digest = node.ledger().digest();
    drop(node);

    // And a full replay from genesis agrees.
    let report = verify(&dir, &contracts()).expect("verify");
    assert!(report.is_clean(), "{:?}", report.to_json());
    assert_eq!(report.digest, end_digest);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        started.elapsed() < Duration::from_secs(120),
        "took {:?}",
        started.elapsed()
    );
    eprintln!(
        "crash test: {ROUNDS} kills ({kills_in_recovery} before recovery finished), {} ticks and {} \
         transactions reported, {warnings} start-up warnings (torn tails cut), {:?}",
        ticks.len(),
        txs.len(),
        started.elapsed()
    );
}

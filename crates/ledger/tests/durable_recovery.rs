//! The durable ledger's recovery rules: damage in the middle of the log stops start-up with
//! the file, offset and tick; a torn last record is cut off; a damaged snapshot is passed over
//! for an older one or genesis; a snapshot restore equals a replay from genesis; a different
//! contract build or setting is refused, never forked from.

mod durable_support;

use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};

use comqute_ledger::durable::{
    export, export_ledger, inspect_log, verify, DurableConfig, DurableError, DurableLedger, TxState,
};
use comqute_ledger::Ledger;
use comqute_qpi::contract::{decode_input, encode, Contract, Ctx, View};
use comqute_qpi::examples::{Faulty, SendMany, NOTARY};
use comqute_qpi::{Amount, ContractError, ContractIndex, Hash32, Identity, Tick};
use durable_support::*;

fn no_snapshots() -> DurableConfig {
    DurableConfig {
        snapshot_every_ticks: 0,
        snapshot_at_epoch_end: false,
        ..DurableConfig::default()
    }
}

/// Runs the load for `steps` steps in a new directory; returns it and the in-memory twin.
fn make_dir(name: &str, steps: u32, config: DurableConfig) -> (PathBuf, Ledger) {
    let dir = temp_dir(name);
    let keys = keys();
    let (mut node, report) = DurableLedger::open(&dir, genesis(&keys), config).expect("create");
    assert!(report.created);
    let mut twin = genesis(&keys).build().expect("genesis");
    for _ in 0..steps {
        step(&mut node, &keys);
        step(&mut twin, &keys);
    }
    assert_eq!(node.ledger().digest(), twin.digest());
    (dir, twin)
}

fn reopen(
    dir: &Path,
    config: DurableConfig,
) -> Result<(DurableLedger, comqute_ledger::durable::OpenReport), DurableError> {
    DurableLedger::open(dir, genesis(&keys()), config)
}

fn flip(path: &Path, at: u64) {
    let mut bytes = fs::read(path).expect("read");
    bytes[at as usize] ^= 0x40;
    fs::write(path, bytes).expect("write");
}

fn snapshots(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir.join("snapshots"))
        .expect("snapshots dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "snap"))
        .collect();
    v.sort();
    v
}

#[test]
fn a_flipped_byte_in_a_middle_record_stops_start_up_naming_file_offset_and_tick() {
    let (dir, _) = make_dir("flip-middle", 30, no_snapshots());
    let (records, torn) = inspect_log(&dir).expect("intact log");
    assert!(torn.is_none());
    let r = &records[records.len() / 2];
    flip(&r.file, r.offset + 30);
    let err = reopen(&dir, no_snapshots()).err().expect("must refuse");
    match &err {
        DurableError::CorruptRecord {
            file,
            offset,
            tick,
            seq,
            ..
        } => {
            assert_eq!(file, &r.file);
            assert_eq!(*offset, r.offset);
            assert_eq!(*seq, r.seq);
            assert_eq!(*tick, Some(r.tick));
        }
        other => panic!("wrong error: {other}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains(&r.file.display().to_string()) && msg.contains(&format!(":{}", r.offset)),
        "{msg}"
    );
    assert!(msg.contains(&format!("tick {}", r.tick)), "{msg}");
    // verify says the same, and nothing was changed by the failed start-up.
    assert!(matches!(
        verify(&dir, &contracts()),
        Err(DurableError::CorruptRecord { .. })
    ));
    assert_eq!(inspect_log(&dir).err().map(|e| e.to_string()), Some(msg));

    // A flipped length field in the middle is damage too, not a torn tail.
    let (dir2, _) = make_dir("flip-length", 20, no_snapshots());
    let (records, _) = inspect_log(&dir2).expect("intact log");
    let r = &records[3];
    flip(&r.file, r.offset + 6);
    assert!(matches!(
        reopen(&dir2, no_snapshots()).err(),
        Some(DurableError::CorruptRecord { .. })
    ));
    let _ = fs::remove_dir_all(&dir);
    let _ = fs::remove_dir_all(&dir2);
}

#[test]
fn a_torn_last_record_is_cut_off_with_a_warning() {
    for damage in ["truncate", "flip", "zeros"] {
        let (dir, _) = make_dir("torn", 20, no_snapshots());
        let (records, _) = inspect_log(&dir).expect("intact log");
        let last = records.last().expect("records").clone();
        let before = &records[records.len() - 2];
        match damage {
            "truncate" => {
                let f = OpenOptions::new()
                    .write(true)
                    .open(&last.file)
                    .expect("open");
                f.set_len(last.offset + last.len - 7).expect("truncate");
            }
            "flip" => flip(&last.file, last.offset + last.len - 40),
            _ => {
                let mut bytes = fs::read(&last.file).expect("read");
                bytes.extend_from_slice(&[0u8; 100]);
                fs::write(&last.file, bytes).expect("write");
            }
        }
        let (mut node, report) = reopen(&dir, no_snapshots()).expect("a torn tail is not fatal");
        let torn = report.torn.clone().expect("torn tail reported");
        assert_eq!(torn.file, last.file);
        assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
        if damage == "zeros" {
            assert_eq!(torn.offset, last.offset + last.len);
            assert_eq!(node.ledger().next_tick(), last.body.next_tick);
        } else {
            assert_eq!(torn.offset, last.offset);
            assert_eq!(node.ledger().next_tick(), before.body.next_tick, "{damage}");
            assert_eq!(node.ledger().digest(), before.body.digest);
        }
        // It goes on, and the log is whole again.
        let keys = keys();
        for _ in 0..5 {
            step(&mut node, &keys);
        }
        let digest = node.ledger().digest();
        drop(node);
        let report = verify(&dir, &contracts()).expect("verify");
        assert!(report.is_clean(), "{damage}: {}", report.to_json());
        assert_eq!(report.digest, digest);
        let _ = fs::remove_dir_all(&dir);
    }
}

#[test]
fn a_damaged_snapshot_falls_back_to_an_older_one_then_to_genesis() {
    let (dir, twin) = make_dir("snap-flip", 40, small_config());
    let snaps = snapshots(&dir);
    assert_eq!(snaps.len(), 3, "kept the newest 3: {snaps:?}");

    flip(&snaps[2], 100);
    let (node, report) = reopen(&dir, small_config()).expect("falls back");
    assert_eq!(report.snapshot.as_ref(), Some(&snaps[1]));
    assert!(
        report.warnings.iter().any(|w| w.contains("rejected")),
        "{:?}",
        report.warnings
    );
    assert_eq!(node.ledger().digest(), twin.digest());
    assert_eq!(node.ledger().state_digest(), twin.state_digest());
    assert_eq!(export_ledger(node.ledger()), export_ledger(&twin));
    drop(node);
    let v = verify(&dir, &contracts()).expect("the log is fine");
    assert!(!v.is_clean());
    assert_eq!(
        v.snapshots.iter().filter(|s| !s.ok).count(),
        1,
        "{}",
        v.to_json()
    );

    for s in &snaps {
        let len = fs::metadata(s).expect("meta").len();
        flip(s, len / 2);
    }
    let (node, report) = reopen(&dir, small_config()).expect("genesis and the whole log");
    assert_eq!(report.snapshot, None);
    assert!(report.warnings.len() >= 3, "{:?}", report.warnings);
    assert_eq!(node.ledger().digest(), twin.digest());
    assert_eq!(export_ledger(node.ledger()), export_ledger(&twin));
    drop(node);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_snapshot_restore_equals_a_replay_from_genesis() {
    let (dir, twin) = make_dir("snap-equals", 45, small_config());
    let (node, report) = reopen(&dir, small_config()).expect("reopen");
    assert!(report.snapshot.is_some(), "started from a snapshot");
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    let from_snapshot = export_ledger(node.ledger());
    assert_eq!(node.ledger().pending_count(), twin.pending_count());
    drop(node);

    let v = verify(&dir, &contracts()).expect("verify");
    assert!(v.is_clean(), "{}", v.to_json());
    assert!(v.snapshots.len() >= 3 && v.snapshots.iter().all(|s| s.ok));
    assert_eq!(v.digest, twin.digest());
    assert_eq!(v.state_digest, twin.state_digest());
    assert_eq!(from_snapshot, export_ledger(&twin));
    assert_eq!(
        export(&dir, &contracts(), None).expect("export"),
        export_ledger(&twin)
    );

    // export --tick N replays up to tick N: equal to the load run to just after tick N.
    let keys = keys();
    let mut partial = genesis(&keys).build().expect("genesis");
    while partial.next_tick() < Tick(21) {
        step(&mut partial, &keys);
    }
    let n = Tick(partial.next_tick().0 - 1);
    let at_n = export(&dir, &contracts(), Some(n)).expect("export at tick");
    assert_eq!(at_n["nextTick"], n.0 + 1);
    assert_eq!(at_n["digest"], partial.digest().to_hex());
    assert_eq!(at_n["stateDigest"], partial.state_digest().to_hex());
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn transaction_status_ticks_and_events_survive_a_restart_from_a_snapshot() {
    let dir = temp_dir("lookups");
    let keys = keys();
    let (mut node, _) = DurableLedger::open(&dir, genesis(&keys), small_config()).expect("create");
    // Per-tick digests, so the twin's summaries carry what the durable index keeps.
    let mut twin = genesis(&keys)
        .digests(comqute_ledger::DigestPolicy::PerTick)
        .build()
        .expect("genesis");
    for _ in 0..30 {
        step(&mut node, &keys);
        step(&mut twin, &keys);
    }
    drop(node);
    let (node, report) = DurableLedger::open(&dir, genesis(&keys), small_config()).expect("reopen");
    assert!(report.snapshot.is_some());
    assert!(
        node.ledger().receipts().len() < twin.receipts().len(),
        "the early history is not in memory"
    );
    for r in twin.receipts() {
        let st = node.tx_status(&r.tx_id).expect("lookup");
        let rec = st
            .record()
            .unwrap_or_else(|| panic!("{} unknown after restart: {st:?}", r.tx_id));
        assert_eq!(
            (rec.tick, rec.slot, rec.outcome.name(), rec.money_flew),
            (r.tick, r.slot, r.status.name(), r.money_flew)
        );
    }
    for s in twin.tick_summaries() {
        let rec = node
            .tick_record(s.tick)
            .expect("lookup")
            .expect("tick known");
        assert_eq!(Some(rec.check.digest), s.digest);
        assert_eq!(Some(rec.check.state_digest), s.state_digest);
        assert_eq!(rec.check.receipts_digest, s.receipts_digest);
        assert_eq!(rec.transactions, s.transactions);
    }
    let events = node.events_since(0, usize::MAX).expect("events");
    assert_eq!(
        events,
        twin.events().to_vec(),
        "global event numbers are stable across restarts"
    );
    assert_eq!(
        node.events_since(5, 3).expect("events"),
        twin.events().slice(5..8).to_vec()
    );
    // Pending transactions for later ticks came back with the snapshot or the log.
    let pending: Vec<_> = twin.receipts().iter().map(|r| r.tx_id).collect();
    assert!(!pending.is_empty());
    assert_eq!(node.ledger().pending_count(), twin.pending_count());
    assert!(matches!(
        node.tx_status(&Hash32([9; 32])).expect("lookup"),
        TxState::Unknown
    ));
    drop(node);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn idle_ticks_warps_and_the_faucet_are_durable() {
    let dir = temp_dir("idle");
    let keys = keys();
    let who = Identity([3; 32]);
    {
        let (mut node, _) =
            DurableLedger::open(&dir, genesis(&keys), no_snapshots()).expect("create");
        node.fund(&who, Amount(77)).expect("faucet");
        for _ in 0..5 {
            node.process_tick().expect("idle tick");
        }
        node.warp_to_tick(Tick(60)).expect("warp over an epoch end");
        node.process_tick().expect("idle");
        node.process_tick().expect("idle");
        // Dropped without flush: the destructor writes the idle ticks.
    }
    let (node, _) = DurableLedger::open(&dir, genesis(&keys), no_snapshots()).expect("reopen");
    assert_eq!(node.ledger().next_tick(), Tick(62));
    assert_eq!(node.ledger().balance(&who), Amount(77));
    let mut twin = genesis(&keys).build().expect("genesis");
    twin.fund(&who, Amount(77)).expect("fund");
    twin.warp_to_tick(Tick(62)).expect("warp");
    assert_eq!(node.ledger().digest(), twin.digest());
    drop(node);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn other_settings_or_contracts_are_refused() {
    let (dir, _) = make_dir("mismatch", 5, no_snapshots());
    let keys = keys();
    let err = DurableLedger::open(
        &dir,
        genesis(&keys).epoch_ticks(EPOCH_TICKS + 1),
        no_snapshots(),
    )
    .err()
    .expect("refused");
    assert!(
        matches!(&err, DurableError::Mismatch { detail } if detail.contains("epoch ticks")),
        "{err}"
    );
    let fewer = Ledger::builder()
        .contract(SendMany)
        .contract(Faulty)
        .epoch_ticks(EPOCH_TICKS);
    let err = DurableLedger::open(&dir, fewer, no_snapshots())
        .err()
        .expect("refused");
    assert!(
        matches!(&err, DurableError::Mismatch { detail } if detail.contains("contracts")),
        "{err}"
    );
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_directory_of_an_older_format_is_refused_with_what_to_do() {
    let (dir, _) = make_dir("old-format", 5, no_snapshots());
    let path = dir.join(comqute_ledger::durable::MANIFEST_FILE);
    let mut m: serde_json::Value =
        serde_json::from_slice(&fs::read(&path).expect("manifest")).expect("JSON");
    let now = m["format"].as_u64().expect("a format number");
    m["format"] = serde_json::json!(now - 1);
    fs::write(&path, serde_json::to_vec(&m).expect("JSON")).expect("write");
    let err = DurableLedger::open(&dir, genesis(&keys()), no_snapshots())
        .err()
        .expect("refused");
    let want = format!(
        "format: the data directory has {}, this ledger has {now}",
        now - 1
    );
    assert!(
        matches!(&err, DurableError::Mismatch { detail }
            if detail.contains(&want) && detail.contains("start a new data directory")),
        "{err}"
    );
    let _ = fs::remove_dir_all(&dir);
}

/// The notary with the same index and name but a changed procedure: a new build of a
/// contract that would replay the log into a fork.
struct ChangedNotary;
impl Contract for ChangedNotary {
    fn index(&self) -> ContractIndex {
        NOTARY
    }
    fn name(&self) -> &'static str {
        "notary"
    }
    fn procedure(
        &self,
        ctx: &mut Ctx<'_>,
        _input_type: u16,
        input: &[u8],
    ) -> Result<Vec<u8>, ContractError> {
        let hash: Hash32 = decode_input(input)?;
        ctx.put(b"changed", &hash)?;
        Ok(encode(&1u64))
    }
    fn function(
        &self,
        _view: &View<'_>,
        _input_type: u16,
        _input: &[u8],
    ) -> Result<Vec<u8>, ContractError> {
        Ok(Vec::new())
    }
}

#[test]
fn a_digest_mismatch_on_replay_stops_start_up_naming_the_tick() {
    let (dir, _) = make_dir("diverge", 12, no_snapshots());
    let keys = keys();
    let mut b = Ledger::builder()
        .contract(ChangedNotary)
        .contract(SendMany)
        .contract(Faulty)
        .epoch_ticks(EPOCH_TICKS);
    for k in &keys {
        b = b.fund(k.identity(), Amount(1_000_000_000_000));
    }
    let err = DurableLedger::open(&dir, b, no_snapshots())
        .err()
        .expect("refused");
    match &err {
        DurableError::Diverged {
            tick, file, detail, ..
        } => {
            assert_eq!(*tick, Tick(1), "{detail}");
            assert!(file.exists());
            assert!(detail.contains("mismatch"), "{detail}");
        }
        other => panic!("wrong error: {other}"),
    }
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_lost_index_is_rebuilt_from_genesis_and_the_log() {
    let (dir, twin) = make_dir("lost-index", 30, small_config());
    fs::remove_file(dir.join("index.redb")).expect("remove the index");
    let (node, report) = reopen(&dir, small_config()).expect("reopen");
    assert_eq!(
        report.snapshot, None,
        "no snapshot is ahead of an empty index"
    );
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("lookup index covers only 0")),
        "{:?}",
        report.warnings
    );
    assert_eq!(node.ledger().digest(), twin.digest());
    drop(node);
    // Rebuilt: the next start uses a snapshot again and still knows every transaction.
    let (node, report) = reopen(&dir, small_config()).expect("reopen");
    assert!(report.snapshot.is_some(), "{:?}", report.warnings);
    for r in twin.receipts() {
        assert!(
            node.tx_status(&r.tx_id).expect("lookup").record().is_some(),
            "{} unknown",
            r.tx_id
        );
    }
    drop(node);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn group_commit_replays_the_same() {
    let config = DurableConfig {
        fsync_every: 16,
        ..small_config()
    };
    let (dir, twin) = make_dir("group", 40, config.clone());
    let (node, report) = reopen(&dir, config).expect("reopen");
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    assert_eq!(node.ledger().digest(), twin.digest());
    drop(node);
    let _ = fs::remove_dir_all(&dir);
}

//! Offline tools on a data directory: `verify` (replay everything from genesis and check every
//! digest and snapshot), `export` (the state as JSON, at the end or after a given tick), and
//! `inspect_log` (the records, for tests and debugging). None of them writes anything.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use comqute_qpi::contract::Contract;
use comqute_qpi::{ContractIndex, Hash32, Tick};
use serde_json::{json, Value};

use crate::ledger::Ledger;

use super::log::{self, LogRecord, TornTail};
use super::manifest::{read_manifest, Manifest};
use super::replay::apply_record;
use super::snapshot::{list_snapshots, read_snapshot, SnapshotBody};
use super::DurableError;

/// One snapshot checked by [`verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotCheck {
    /// The file.
    pub path: PathBuf,
    /// Records it includes.
    pub records: u64,
    /// Whether it equals the replay from genesis at that record, byte for byte.
    pub ok: bool,
    /// What is wrong, if anything.
    pub detail: String,
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Records replayed.
    pub records: u64,
    /// Ticks with effects replayed and checked.
    pub ticks: u64,
    /// Transactions in them.
    pub transactions: u64,
    /// The next tick at the end.
    pub next_tick: Tick,
    /// The ledger digest at the end.
    pub digest: Hash32,
    /// The state digest at the end.
    pub state_digest: Hash32,
    /// Every snapshot, checked against the replay.
    pub snapshots: Vec<SnapshotCheck>,
    /// A torn last record (left in place: verify writes nothing).
    pub torn: Option<TornTail>,
}

impl VerifyReport {
    /// No torn tail and every snapshot equal to the replay. (Damage in the log or a digest
    /// mismatch is an error from [`verify`], not a report.)
    pub fn is_clean(&self) -> bool {
        self.torn.is_none() && self.snapshots.iter().all(|s| s.ok)
    }

    /// The report as JSON, for `comqute ledger verify --json`.
    pub fn to_json(&self) -> Value {
        json!({
            "clean": self.is_clean(),
            "records": self.records,
            "ticks": self.ticks,
            "transactions": self.transactions,
            "nextTick": self.next_tick.0,
            "digest": self.digest.to_hex(),
            "stateDigest": self.state_digest.to_hex(),
            "snapshots": self.snapshots.iter().map(|s| json!({
                "path": s.path.display().to_string(),
                "records": s.records,
                "ok": s.ok,
                "detail": s.detail,
            })).collect::<Vec<_>>(),
            "tornTail": self.torn.as_ref().map(|t| json!({
                "file": t.file.display().to_string(),
                "offset": t.offset,
                "bytes": t.bytes,
                "detail": t.detail,
            })),
        })
    }
}

/// The manifest, and the genesis ledger built from it with `contracts` (refused unless they
/// are the ones the manifest names).
fn genesis_of(
    dir: &Path,
    contracts: &[Arc<dyn Contract>],
) -> Result<(Manifest, Ledger), DurableError> {
    let manifest = read_manifest(dir)?;
    let builder = manifest.builder(contracts)?;
    let (config, funds) = builder.genesis_parts();
    let (config, funds) = (config.clone(), funds.to_vec());
    let genesis = builder.build()?;
    manifest.check(&Manifest::of(&config, &funds, &genesis))?;
    Ok((manifest, genesis))
}

fn compare_snapshot(path: &Path, want: &SnapshotBody, genesis: &Ledger) -> Result<(), String> {
    let got = read_snapshot(path)?;
    let field = |name: &str, same: bool| if same { None } else { Some(name.to_owned()) };
    let diffs: Vec<String> = [
        field("fingerprint", got.fingerprint == want.fingerprint),
        field("events", got.events_total == want.events_total),
        field("next tick", got.next_tick == want.next_tick),
        field("digest", got.digest == want.digest),
        field("state digest", got.state_digest == want.state_digest),
        field(
            "supply",
            got.minted == want.minted && got.burned == want.burned,
        ),
        field("balances", got.accounts == want.accounts),
        field("contract values", got.kv == want.kv),
        field("contract sets", got.sets == want.sets),
        field("pending pool", got.pool == want.pool),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !diffs.is_empty() {
        return Err(format!(
            "differs from the replay from genesis in: {}",
            diffs.join(", ")
        ));
    }
    got.restore(genesis.config().clone(), genesis).map(|_| ())
}

/// `comqute ledger verify DIR`: replays the whole log from genesis, checking every tick
/// digest, and checks every snapshot against the replay. `contracts` are the contracts the
/// directory was made with (the settings and genesis come from its manifest). Read-only.
///
/// Damage before the end of the log or a digest mismatch is an `Err` naming file, offset and
/// tick; a torn tail or a bad snapshot is in the report ([`VerifyReport::is_clean`]).
pub fn verify(
    dir: impl AsRef<Path>,
    contracts: &[Arc<dyn Contract>],
) -> Result<VerifyReport, DurableError> {
    let dir = dir.as_ref();
    let (manifest, genesis) = genesis_of(dir, contracts)?;
    let fingerprint = manifest.fingerprint_hash();
    let snaps = list_snapshots(&dir.join("snapshots"))?;
    let mut checks: Vec<SnapshotCheck> = Vec::new();
    let check_at = |ledger: &Ledger, records: u64, checks: &mut Vec<SnapshotCheck>| {
        for s in snaps.iter().filter(|s| s.records == records) {
            let want =
                SnapshotBody::capture(ledger, fingerprint, records, ledger.events().len() as u64);
            let r = compare_snapshot(&s.path, &want, &genesis);
            checks.push(SnapshotCheck {
                path: s.path.clone(),
                records,
                ok: r.is_ok(),
                detail: r.err().unwrap_or_default(),
            });
        }
    };
    let mut ledger = genesis_of(dir, contracts)?.1;
    check_at(&ledger, 0, &mut checks);
    let (mut ticks, mut transactions) = (0u64, 0u64);
    let end = log::scan(&dir.join("log"), 0, |rec| {
        apply_record(&mut ledger, &rec, None)?;
        ticks += rec.body.ticks.len() as u64;
        transactions += rec
            .body
            .ticks
            .iter()
            .map(|t| u64::from(t.tx_count))
            .sum::<u64>();
        check_at(&ledger, rec.seq + 1, &mut checks);
        Ok(())
    })?;
    for s in snaps.iter().filter(|s| s.records > end.next_seq) {
        checks.push(SnapshotCheck {
            path: s.path.clone(),
            records: s.records,
            ok: false,
            detail: format!(
                "includes {} records, the log has {}",
                s.records, end.next_seq
            ),
        });
    }
    checks.sort_by_key(|c| c.records);
    Ok(VerifyReport {
        records: end.next_seq,
        ticks,
        transactions,
        next_tick: ledger.next_tick(),
        digest: ledger.digest(),
        state_digest: ledger.state_digest(),
        snapshots: checks,
        torn: end.torn,
    })
}

/// `comqute ledger export DIR [--tick N]`: the state as JSON (see [`export_ledger`]), at the
/// end of the log or right after tick `tick` was processed (inputs received after that are
/// left out). Starts from the newest valid snapshot before that point. Read-only.
pub fn export(
    dir: impl AsRef<Path>,
    contracts: &[Arc<dyn Contract>],
    tick: Option<Tick>,
) -> Result<Value, DurableError> {
    let dir = dir.as_ref();
    let (manifest, genesis) = genesis_of(dir, contracts)?;
    let fingerprint = manifest.fingerprint_hash();
    let mut start = None;
    for s in list_snapshots(&dir.join("snapshots"))? {
        let Ok(body) = read_snapshot(&s.path) else {
            continue;
        };
        if body.fingerprint != fingerprint || tick.is_some_and(|t| body.next_tick > t) {
            continue;
        }
        let records = body.records;
        if let Ok(l) = body.restore(genesis.config().clone(), &genesis) {
            start = Some((l, records));
            break;
        }
    }
    let (mut ledger, from) = match start {
        Some((l, r)) => (l, r),
        None => (genesis_of(dir, contracts)?.1, 0),
    };
    let mut done = false;
    let end = log::scan(&dir.join("log"), from, |rec| {
        if !done && !apply_record(&mut ledger, &rec, tick)? {
            done = true;
        }
        Ok(())
    })?;
    if end.next_seq < from {
        return Err(DurableError::Snapshot {
            path: dir.join("snapshots"),
            detail: format!(
                "a snapshot includes {from} records, the log has {}",
                end.next_seq
            ),
        });
    }
    Ok(export_ledger(&ledger))
}

/// A ledger's state as JSON: position and digests, supply, every balance with its counters
/// (sorted by identity), and every contract's map entries and ordered-set keys in hex
/// (sorted by key). Equal states give equal JSON.
pub fn export_ledger(ledger: &Ledger) -> Value {
    let state = ledger.state();
    let supply = state.supply();
    let balances: Vec<Value> = state
        .accounts_sorted()
        .into_iter()
        .map(|(id, a)| {
            let mut v = serde_json::to_value(a).unwrap_or(Value::Null);
            if let Value::Object(m) = &mut v {
                m.insert("identity".into(), Value::String(id.to_string()));
                m.insert("identityHex".into(), Value::String(hex::encode(id.0)));
            }
            v
        })
        .collect();
    let kv = state.kv_entries_sorted();
    let sets = state.set_entries_sorted();
    let mut indices: Vec<ContractIndex> = ledger.registry().indices();
    indices.extend(kv.iter().map(|(k, _)| k.contract()));
    indices.extend(sets.iter().map(|k| k.contract()));
    indices.sort();
    indices.dedup();
    let contracts: Vec<Value> = indices
        .into_iter()
        .map(|c| {
            json!({
                "index": c.0,
                "name": ledger.registry().get(c).map(|x| x.name()),
                "kv": kv.iter().filter(|(k, _)| k.contract() == c)
                    .map(|(k, v)| json!({"key": hex::encode(k.local()), "value": hex::encode(v)}))
                    .collect::<Vec<_>>(),
                "set": sets.iter().filter(|k| k.contract() == c).map(|k| hex::encode(k.local())).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "nextTick": ledger.next_tick().0,
        "epoch": ledger.epoch().0,
        "digest": ledger.digest().to_hex(),
        "stateDigest": ledger.state_digest().to_hex(),
        "supply": {"minted": supply.minted.to_string(), "burned": supply.burned.to_string()},
        "pendingTransactions": ledger.pending_count(),
        "balances": balances,
        "contracts": contracts,
    })
}

/// Every intact record of the log, and a torn tail if there is one. Read-only.
pub fn inspect_log(
    dir: impl AsRef<Path>,
) -> Result<(Vec<LogRecord>, Option<TornTail>), DurableError> {
    let mut out = Vec::new();
    let end = log::scan(&dir.as_ref().join("log"), 0, |r| {
        out.push(r);
        Ok(())
    })?;
    Ok((out, end.torn))
}

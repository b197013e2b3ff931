//! Snapshots: the whole ledger at a record boundary, written atomically.
//!
//! ```text
//! magic "CQSNAP01" | len u64 | body[len] (borsh SnapshotBody) | blake3[32]
//! ```
//! Files live in `DIR/snapshots/`, named after the number of log records they include
//! (`00000000000000000042.snap`: records 0–41 applied; replay goes on at record 42). Entries are
//! sorted, so two ledgers with the same state write the same bytes. A write goes to a `.tmp`
//! file, is synced, renamed into place, and the directory synced; older snapshots beyond the
//! retention count are then deleted.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use borsh::{BorshDeserialize, BorshSerialize};
use comqute_qpi::{ContractIndex, Hash32, Tick};

use crate::ledger::{Ledger, LedgerConfig};
use crate::pool::PendingTx;
use crate::state::{Account, State, StoreKey, Supply};
use crate::tx::Transaction;

use super::{io_err, sync_dir, DurableError};

const SNAP_MAGIC: [u8; 8] = *b"CQSNAP01";

/// One pending transaction in a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub(crate) struct PooledTx {
    pub tx: Vec<u8>,
    pub verified: bool,
    pub priority: u128,
}

/// Everything a ledger needs to go on from a record boundary.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub(crate) struct SnapshotBody {
    /// The data directory's fingerprint (settings, contracts, genesis).
    pub fingerprint: Hash32,
    /// Log records applied.
    pub records: u64,
    /// Events emitted since genesis (the next event's global sequence number).
    pub events_total: u64,
    pub next_tick: Tick,
    /// The receipts digest of the latest busy tick (seeds derive from it).
    pub chain: Hash32,
    pub digest: Hash32,
    pub state_digest: Hash32,
    pub minted: i128,
    pub burned: i128,
    pub accounts: Vec<(comqute_qpi::Identity, Account)>,
    /// (contract, key, value), sorted.
    pub kv: Vec<(u32, Vec<u8>, Vec<u8>)>,
    /// (contract, key), sorted.
    pub sets: Vec<(u32, Vec<u8>)>,
    /// Pending transactions by tick, in slot order.
    pub pool: Vec<PooledTx>,
}

impl SnapshotBody {
    /// Captures a ledger.
    pub fn capture(
        ledger: &Ledger,
        fingerprint: Hash32,
        records: u64,
        events_total: u64,
    ) -> SnapshotBody {
        let state = ledger.state();
        let supply = state.supply();
        SnapshotBody {
            fingerprint,
            records,
            events_total,
            next_tick: ledger.next_tick(),
            chain: ledger.receipts_chain(),
            digest: ledger.digest(),
            state_digest: ledger.state_digest(),
            minted: supply.minted,
            burned: supply.burned,
            accounts: state.accounts_sorted(),
            kv: state
                .kv_entries_sorted()
                .into_iter()
                .map(|(k, v)| (k.contract().0, k.local().to_vec(), v))
                .collect(),
            sets: state
                .set_entries_sorted()
                .into_iter()
                .map(|k| (k.contract().0, k.local().to_vec()))
                .collect(),
            pool: ledger
                .pending_entries()
                .map(|p| PooledTx {
                    tx: p.tx.encode(),
                    verified: p.verified,
                    priority: p.priority,
                })
                .collect(),
        }
    }

    /// Rebuilds the ledger, checking that the rebuilt state has the recorded digest.
    pub fn restore(self, config: LedgerConfig, genesis: &Ledger) -> Result<Ledger, String> {
        let key = |c: u32, k: &[u8]| {
            StoreKey::new(ContractIndex(c), k).map_err(|e| format!("bad key in contract {c}: {e}"))
        };
        let kv = self
            .kv
            .iter()
            .map(|(c, k, v)| Ok((key(*c, k)?, v.clone())))
            .collect::<Result<Vec<_>, String>>()?;
        let sets = self
            .sets
            .iter()
            .map(|(c, k)| key(*c, k))
            .collect::<Result<Vec<_>, String>>()?;
        let state = State::from_entries(
            self.accounts,
            kv,
            sets,
            Supply {
                minted: self.minted,
                burned: self.burned,
            },
        );
        let recomputed = state.recompute_digest();
        if state.digest() != self.state_digest || recomputed != self.state_digest {
            return Err(format!(
                "state digest {} does not match the recorded {}",
                recomputed.to_hex(),
                self.state_digest.to_hex()
            ));
        }
        let mut pending = Vec::with_capacity(self.pool.len());
        for p in self.pool {
            let tx = Transaction::decode(&p.tx).map_err(|e| format!("pending transaction: {e}"))?;
            let id = tx.id_in(config.profile);
            pending.push(PendingTx {
                tx,
                id,
                verified: p.verified,
                priority: p.priority,
            });
        }
        Ok(Ledger::from_parts(
            config,
            genesis.registry_arc(),
            state,
            self.next_tick,
            (self.chain, self.digest),
            pending,
        ))
    }
}

/// A snapshot file and the record count in its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SnapshotFile {
    pub records: u64,
    pub path: PathBuf,
}

pub(crate) fn snapshot_name(records: u64) -> String {
    format!("{records:020}.snap")
}

/// The snapshots of `dir`, newest first. Leftover `.tmp` files are ignored.
pub(crate) fn list_snapshots(dir: &Path) -> Result<Vec<SnapshotFile>, DurableError> {
    let mut out = Vec::new();
    if !dir.exists() {
        return Ok(out);
    }
    for entry in fs::read_dir(dir).map_err(io_err(dir, "list"))? {
        let entry = entry.map_err(io_err(dir, "list"))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(stem) = name.strip_suffix(".snap") else {
            continue;
        };
        if stem.len() != 20 || !stem.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(records) = stem.parse::<u64>() else {
            continue;
        };
        out.push(SnapshotFile {
            records,
            path: entry.path(),
        });
    }
    out.sort_by_key(|s| std::cmp::Reverse(s.records));
    Ok(out)
}

/// Frames a snapshot body.
pub(crate) fn encode_snapshot(body: &SnapshotBody) -> Vec<u8> {
    // Invariant: borsh into a Vec of plain data cannot fail.
    let payload = borsh::to_vec(body).expect("borsh serialization of a snapshot into a Vec");
    let mut out = Vec::with_capacity(8 + 8 + payload.len() + 32);
    out.extend_from_slice(&SNAP_MAGIC);
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&payload);
    let sum = blake3::hash(&out);
    out.extend_from_slice(sum.as_bytes());
    out
}

/// Reads and checks a snapshot file's framing; the caller checks its contents.
pub(crate) fn read_snapshot(path: &Path) -> Result<SnapshotBody, String> {
    let bytes = fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() < 8 + 8 + 32 || bytes[..8] != SNAP_MAGIC {
        return Err("not a snapshot (bad magic or too short)".into());
    }
    let mut len = [0u8; 8];
    len.copy_from_slice(&bytes[8..16]);
    let len = u64::from_le_bytes(len);
    if len != (bytes.len() - 48) as u64 {
        return Err(format!(
            "length field says {len} bytes, the file holds {}",
            bytes.len() - 48
        ));
    }
    let end = bytes.len() - 32;
    if blake3::hash(&bytes[..end]).as_bytes()[..] != bytes[end..] {
        return Err("checksum does not match".into());
    }
    SnapshotBody::try_from_slice(&bytes[16..end]).map_err(|e| format!("body does not decode: {e}"))
}

/// Writes a snapshot atomically and keeps the newest `keep`.
pub(crate) fn write_snapshot(
    dir: &Path,
    body: &SnapshotBody,
    keep: usize,
) -> Result<PathBuf, DurableError> {
    fs::create_dir_all(dir).map_err(io_err(dir, "create"))?;
    let path = dir.join(snapshot_name(body.records));
    let tmp = dir.join(format!("{}.tmp", snapshot_name(body.records)));
    let bytes = encode_snapshot(body);
    {
        let mut f = File::create(&tmp).map_err(io_err(&tmp, "create"))?;
        f.write_all(&bytes).map_err(io_err(&tmp, "write"))?;
        f.sync_all().map_err(io_err(&tmp, "sync"))?;
    }
    fs::rename(&tmp, &path).map_err(io_err(&path, "rename into place"))?;
    sync_dir(dir)?;
    for old in list_snapshots(dir)?.into_iter().skip(keep.max(1)) {
        fs::remove_file(&old.path).map_err(io_err(&old.path, "remove"))?;
    }
    Ok(path)
}

/// Removes `.tmp` files left by a crash in the middle of a snapshot write.
pub(crate) fn remove_leftovers(dir: &Path) -> Result<(), DurableError> {
    if !dir.exists() {
        return Ok(());
    }
    for entry in fs::read_dir(dir).map_err(io_err(dir, "list"))? {
        let entry = entry.map_err(io_err(dir, "list"))?;
        if entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.ends_with(".tmp"))
        {
            let p = entry.path();
            fs::remove_file(&p).map_err(io_err(&p, "remove"))?;
        }
    }
    Ok(())
}

//! The durable ledger: a [`Ledger`] whose every input is logged, so that a process killed at
//! any moment starts again exactly where its last reported tick left it.
//!
//! ## The data directory
//! ```text
//! DIR/manifest.json            settings, contract indices and names, genesis, fingerprint
//! DIR/log/<first seq>.log      the tick log: append-only segments of checksummed records
//! DIR/snapshots/<records>.snap the whole ledger after that many records (newest K kept)
//! DIR/index.redb               lookups: tx status by id, ticks, events by global number
//! ```
//!
//! ## What is logged
//! Every input, in the order the ledger received it ([`record::Op`]): transactions accepted
//! into the pool (packed bytes, and whether the signature is still to be checked), faucet
//! funding, processed ticks, and warps. Logging submissions in arrival order, not just each
//! tick's slot list, is what makes replay exact: admission priority, evictions and the
//! pending pool depend on the state at submission time. Each tick's slot order is still
//! pinned down, because the tick digest chains the transaction ids in slot order.
//!
//! A record is written — and synced, before the call returns — when a tick with effects is
//! processed, on every faucet and warp, and on [`DurableLedger::flush`]. Submissions and idle
//! ticks are buffered into the next record, unless the caller asks for them to be durable
//! now ([`DurableLedger::make_durable`]): a node does before it answers a broadcast, so that a
//! transaction it accepted survives a crash, executes at its tick after the restart, or gets
//! a receipt saying why it was dropped. Concurrent submissions share that record and its
//! sync. Group commit ([`DurableConfig::fsync_every`] > 1) syncs every n records instead, for
//! benchmarks only: receipts reported between syncs may then be lost.
//!
//! ## Start-up
//! The newest snapshot that verifies (checksum, fingerprint, rebuilt state digest, and not
//! ahead of the index) is loaded, then the log after it is replayed with every tick digest
//! checked. A torn last record is cut off and reported as a warning in [`OpenReport`]; damage
//! before the end, or a digest that does not match, stops start-up with a
//! [`DurableError`] naming the file, the byte offset and the tick. Never a silent fork.
//!
//! ```
//! use comqute_qpi::examples::Notary;
//! use comqute_qpi::{Amount, Identity};
//! use comqute_ledger::durable::{DurableConfig, DurableLedger};
//! use comqute_ledger::{Ledger, Transaction};
//!
//! let dir = std::env::temp_dir().join(format!("comqute-doc-durable-{}", std::process::id()));
//! # let _ = std::fs::remove_dir_all(&dir);
//! let alice = Identity([1; 32]);
//! let genesis = || Ledger::builder().contract(Notary).fund(alice, Amount(100));
//! let (mut node, _report) = DurableLedger::open(&dir, genesis(), DurableConfig::default())?;
//! let tx = Transaction::new(alice, Identity([2; 32]), Amount(5), node.ledger().next_tick(), 0, vec![]);
//! let id = node.submit_unsigned(tx)?;
//! node.process_tick()?; // logged and synced before it returns
//! drop(node);
//!
//! let (node, report) = DurableLedger::open(&dir, genesis(), DurableConfig::default())?;
//! assert!(report.warnings.is_empty());
//! assert_eq!(node.tx_status(&id)?.record().map(|r| r.tick), Some(comqute_qpi::Tick(1)));
//! assert_eq!(node.ledger().balance(&Identity([2; 32])), Amount(5));
//! # drop(node); std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod index;
pub mod log;
mod manifest;
pub mod record;
mod replay;
mod snapshot;
mod tools;
mod worker;

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use comqute_qpi::{Amount, Epoch, Identity, Tick};
use thiserror::Error;

use crate::error::LedgerError;
use crate::ledger::{DigestPolicy, Ledger, LedgerBuilder, TxLookup};
use crate::receipt::{DropReason, Event, Receipt, TxStatus};
use crate::tx::{Transaction, TxId, VerifiedTx};

pub use index::{TickRecord, TxOutcome, TxRecord};
pub use log::{LogRecord, TornTail};
pub use manifest::{read_manifest, Manifest, ManifestContract, MANIFEST_FILE};
pub use tools::{export, export_ledger, inspect_log, verify, SnapshotCheck, VerifyReport};

use index::{Index, IndexBatch};

/// Receipts held back from the index before a write even without a snapshot due.
const INDEX_BATCH: usize = 1 << 16;
use log::LogWriter;
use record::{encode_record, Op, RecordBody, TickCheck};
use snapshot::SnapshotBody;
use worker::Worker;

/// Why the durable store refused or stopped.
#[derive(Debug, Error)]
pub enum DurableError {
    /// A file operation failed.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done.
        op: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
    /// A log record before the end of the log is damaged.
    #[error(
        "corrupt log record {seq} at {}:{offset} (tick {} per its header; last good tick {}): {detail}",
        file.display(), opt_tick(tick), opt_tick(last_good_tick)
    )]
    CorruptRecord {
        /// The segment file.
        file: PathBuf,
        /// Byte offset of the damaged record.
        offset: u64,
        /// The record number expected there.
        seq: u64,
        /// The tick its header names, when the header is readable.
        tick: Option<Tick>,
        /// The tick of the last intact record before it.
        last_good_tick: Option<Tick>,
        /// What is wrong.
        detail: String,
    },
    /// A segment file is missing or misnamed.
    #[error("log gap at {}: expected a segment starting at record {expected}, found {found}", file.display())]
    LogGap {
        /// The segment after the gap.
        file: PathBuf,
        /// The record number expected.
        expected: u64,
        /// The record number found.
        found: u64,
    },
    /// Replaying a record did not reproduce what the log says: a different contract build,
    /// or a damaged log whose checksums still match.
    #[error("replay diverged at tick {tick} (record {seq} at {}:{offset}): {detail}", file.display())]
    Diverged {
        /// The segment file.
        file: PathBuf,
        /// Byte offset of the record.
        offset: u64,
        /// Its number.
        seq: u64,
        /// The tick.
        tick: Tick,
        /// What differs.
        detail: String,
    },
    /// The log holds fewer records than a snapshot that was written after them.
    #[error("the log ends at record {log_records} but snapshot {} includes {snapshot_records}: log segments lost", snapshot.display())]
    LogBehindSnapshot {
        /// The snapshot.
        snapshot: PathBuf,
        /// Records it includes.
        snapshot_records: u64,
        /// Records in the log.
        log_records: u64,
    },
    /// The directory was made with other settings, contracts or genesis.
    #[error("data directory mismatch: {detail}")]
    Mismatch {
        /// Every difference.
        detail: String,
    },
    /// The manifest is missing, unreadable, or the directory holds data without one.
    #[error("bad manifest: {detail}")]
    Manifest {
        /// What is wrong.
        detail: String,
    },
    /// A snapshot given to `verify` or `export` is wrong.
    #[error("snapshot {}: {detail}", path.display())]
    Snapshot {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// The lookup index failed.
    #[error("index: {0}")]
    Index(String),
    /// The ledger refused the request; nothing was logged.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// An earlier write failed after the ledger had changed in memory: the memory is ahead
    /// of the log, so this handle refuses everything. Open the directory again.
    #[error("the durable ledger stopped after a failed write ({0}); open the directory again")]
    Poisoned(String),
}

fn opt_tick(t: &Option<Tick>) -> String {
    t.map_or_else(|| "unknown".into(), |t| t.0.to_string())
}

pub(crate) fn io_err(path: &Path, op: &'static str) -> impl FnOnce(std::io::Error) -> DurableError {
    let path = path.to_path_buf();
    move |source| DurableError::Io { path, op, source }
}

/// Syncs a directory, so that a file created or renamed in it survives a crash.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), DurableError> {
    File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(io_err(dir, "sync directory"))
}

/// Settings of the durable store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurableConfig {
    /// Write a snapshot once this many ticks have passed since the last (0: never).
    pub snapshot_every_ticks: u32,
    /// Write a snapshot after the last tick of every epoch.
    pub snapshot_at_epoch_end: bool,
    /// Snapshots kept (at least 1).
    pub keep_snapshots: usize,
    /// Sync the log every this many records. 1 (the default) syncs each record before its
    /// tick's receipts are reported; more is group commit, for benchmarks only.
    pub fsync_every: u32,
    /// Start a new log segment once the current one is this large.
    pub segment_bytes: u64,
    /// Keep the redb lookup index (tx status, ticks, events that survive restarts).
    pub index: bool,
}

impl Default for DurableConfig {
    fn default() -> Self {
        DurableConfig {
            snapshot_every_ticks: 1000,
            snapshot_at_epoch_end: true,
            keep_snapshots: 3,
            fsync_every: 1,
            segment_bytes: 64 << 20,
            index: true,
        }
    }
}

/// What start-up found and did.
#[derive(Debug, Clone, Default)]
pub struct OpenReport {
    /// Whether the directory was created now.
    pub created: bool,
    /// The snapshot started from, if any (else genesis).
    pub snapshot: Option<PathBuf>,
    /// Records replayed after it.
    pub replayed_records: u64,
    /// Ticks with effects replayed.
    pub replayed_ticks: u64,
    /// The torn tail cut off, if any.
    pub torn: Option<TornTail>,
    /// Everything the node should log as a warning: rejected snapshots, a cut tail.
    pub warnings: Vec<String>,
}

/// What is known of a transaction, across restarts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxState {
    /// Waiting for its tick.
    Pending(Tick),
    /// Its tick ran (or it was dropped).
    Done(TxRecord),
    /// Never seen.
    Unknown,
}

impl TxState {
    /// The record, when done.
    pub fn record(&self) -> Option<&TxRecord> {
        match self {
            TxState::Done(r) => Some(r),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Seen {
    ticks: usize,
    receipts: usize,
    events: usize,
}

/// A [`Ledger`] backed by a data directory. Every state-changing call goes through it and is
/// logged; reads go to [`DurableLedger::ledger`] or to the lookups here, which also answer
/// for ticks processed before the last start-up.
///
/// The inner ledger's history (receipts, events, tick summaries) covers only what was
/// processed or replayed since start-up, and its event `seq` numbers count from there: use
/// [`DurableLedger::events_since`], whose numbers are global and stable across restarts.
pub struct DurableLedger {
    dir: PathBuf,
    config: DurableConfig,
    ledger: Ledger,
    fingerprint: comqute_qpi::Hash32,
    log: LogWriter,
    index: Option<Arc<Index>>,
    worker: Worker,
    ops: Vec<Op>,
    records: u64,
    /// Submissions accepted since start-up, and how many of them are in a synced record.
    accepted: u64,
    durable_accepted: Arc<AtomicU64>,
    /// Submissions in records written (synced or not).
    logged_accepted: u64,
    /// What the index has (tick summaries, receipts, events of the in-memory history).
    seen: Seen,
    /// Tick summaries already written to the log.
    logged_ticks: usize,
    event_base: u64,
    snap_tick: Tick,
    snap_epoch: Epoch,
    poisoned: Option<String>,
    warnings: Vec<String>,
}

impl DurableLedger {
    /// Opens the data directory `dir` (creating it if it does not exist) for the ledger that
    /// `builder` describes, recovering from the newest valid snapshot and the log.
    ///
    /// The builder must describe the same settings, contracts and genesis the directory was
    /// created with; anything else is refused with [`DurableError::Mismatch`].
    pub fn open(
        dir: impl AsRef<Path>,
        builder: LedgerBuilder,
        config: DurableConfig,
    ) -> Result<(DurableLedger, OpenReport), DurableError> {
        let dir = dir.as_ref().to_path_buf();
        let mut report = OpenReport::default();
        let (lconfig, funds) = builder.genesis_parts();
        let (lconfig, funds) = (lconfig.clone(), funds.to_vec());
        // A durable ledger logs every tick's digests: it hashes its state per tick.
        let genesis = builder.digests(DigestPolicy::PerTick).build()?;
        let ours = Manifest::of(&lconfig, &funds, &genesis);
        fs::create_dir_all(&dir).map_err(io_err(&dir, "create"))?;
        let log_dir = dir.join("log");
        let snap_dir = dir.join("snapshots");
        match read_manifest(&dir) {
            Ok(m) => m.check(&ours)?,
            Err(DurableError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                if !log::list_segments(&log_dir)?.is_empty()
                    || !snapshot::list_snapshots(&snap_dir)?.is_empty()
                {
                    return Err(DurableError::Manifest {
                        detail: format!(
                            "{} holds a log or snapshots but no {MANIFEST_FILE}",
                            dir.display()
                        ),
                    });
                }
                manifest::write_manifest(&dir, &ours)?;
                report.created = true;
            }
            Err(e) => return Err(e),
        }
        let fingerprint = ours.fingerprint_hash();
        fs::create_dir_all(&snap_dir).map_err(io_err(&snap_dir, "create"))?;
        snapshot::remove_leftovers(&snap_dir)?;

        let index = if config.index {
            Some(Arc::new(Index::open(&dir.join("index.redb"))?))
        } else {
            None
        };
        let indexed = match &index {
            Some(i) => i.records()?,
            None => u64::MAX,
        };

        // The newest snapshot that verifies and that the index has caught up with.
        let mut ledger = None;
        let mut start = 0u64;
        let mut event_base = 0u64;
        for snap in snapshot::list_snapshots(&snap_dir)? {
            if snap.records > indexed {
                report.warnings.push(format!(
                    "snapshot {} not used: the lookup index covers only {indexed} records",
                    snap.path.display()
                ));
                continue;
            }
            match load_snapshot(&snap.path, fingerprint, &genesis) {
                Ok((l, records, events_total)) => {
                    start = records;
                    event_base = events_total;
                    report.snapshot = Some(snap.path.clone());
                    ledger = Some(l);
                    break;
                }
                Err(detail) => {
                    report.warnings.push(format!(
                        "snapshot {} rejected: {detail}",
                        snap.path.display()
                    ));
                }
            }
        }
        let mut ledger = ledger.unwrap_or(genesis);
        let snap_tick = ledger.next_tick();
        let snap_epoch = ledger.epoch();

        // Replay the log after it.
        let mut seen = Seen::default();
        let mut replayed = (0u64, 0u64);
        let end = log::scan(&log_dir, start, |rec| {
            replay::apply_record(&mut ledger, &rec, None)?;
            replayed.0 += 1;
            replayed.1 += rec.body.ticks.len() as u64;
            if rec.seq < indexed {
                // Already in the index (it is ahead of the snapshot): nothing to write.
                seen = Seen {
                    ticks: ledger.tick_summaries().len(),
                    receipts: ledger.receipts().len(),
                    events: ledger.events().len(),
                };
            } else if let Some(ix) = &index {
                if ledger.receipts().len() - seen.receipts >= INDEX_BATCH {
                    ix.write(&batch_since(&ledger, &mut seen, rec.seq + 1, event_base))?;
                }
            }
            Ok(())
        })?;
        if end.next_seq < start {
            return Err(DurableError::LogBehindSnapshot {
                snapshot: report.snapshot.clone().unwrap_or_default(),
                snapshot_records: start,
                log_records: end.next_seq,
            });
        }
        if let Some(t) = &end.torn {
            report.warnings.push(format!(
                "cut off a torn last log record: {} bytes at {}:{} ({})",
                t.bytes,
                t.file.display(),
                t.offset,
                t.detail
            ));
            report.torn = Some(t.clone());
        }
        report.replayed_records = replayed.0;
        report.replayed_ticks = replayed.1;
        let log = LogWriter::open(&log_dir, &end, config.segment_bytes, config.fsync_every)?;
        if let Some(ix) = &index {
            ix.write(&batch_since(&ledger, &mut seen, end.next_seq, event_base))?;
        }
        let logged_ticks = ledger.tick_summaries().len();
        let worker = Worker::start(index.clone(), snap_dir.clone(), config.keep_snapshots);
        let durable = DurableLedger {
            dir,
            config,
            ledger,
            fingerprint,
            log,
            index,
            worker,
            ops: Vec::new(),
            records: end.next_seq,
            accepted: 0,
            durable_accepted: Arc::new(AtomicU64::new(0)),
            logged_accepted: 0,
            logged_ticks,
            seen,
            event_base,
            snap_tick,
            snap_epoch,
            poisoned: None,
            warnings: Vec::new(),
        };
        Ok((durable, report))
    }

    // --- reading ----------------------------------------------------------------------------

    /// The ledger, for reads and queries.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }
    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
    /// Log records written so far (the next record's number).
    pub fn records(&self) -> u64 {
        self.records
    }
    /// Events emitted since genesis (the next event's global number).
    pub fn events_total(&self) -> u64 {
        self.event_base + self.ledger.events().len() as u64
    }
    /// Problems that did not stop the ledger (a snapshot that could not be written), taken.
    pub fn take_warnings(&mut self) -> Vec<String> {
        let mut w = std::mem::take(&mut self.warnings);
        w.extend(self.worker.take_warnings());
        w
    }

    /// What is known of a transaction: pending, done (from memory, or from the index for
    /// ticks before start-up), or unknown.
    pub fn tx_status(&self, id: &TxId) -> Result<TxState, DurableError> {
        match self.ledger.lookup(id) {
            TxLookup::Pending(t) => return Ok(TxState::Pending(t)),
            TxLookup::Done(r) => return Ok(TxState::Done(TxRecord::of(&r))),
            TxLookup::Unknown => {}
        }
        match &self.index {
            Some(ix) => Ok(ix.tx(id)?.map_or(TxState::Unknown, TxState::Done)),
            None => Ok(TxState::Unknown),
        }
    }

    /// A processed tick with effects: its digests and transactions in slot order.
    pub fn tick_record(&self, tick: Tick) -> Result<Option<TickRecord>, DurableError> {
        if let Some(s) = self.ledger.tick_summary(tick) {
            return Ok(Some(TickRecord {
                check: TickCheck::of(&s),
                transactions: s.transactions,
            }));
        }
        match &self.index {
            Some(ix) => ix.tick(tick),
            None => Ok(None),
        }
    }

    /// Up to `limit` events with global number `>= cursor`, numbered globally.
    pub fn events_since(&self, cursor: u64, limit: usize) -> Result<Vec<Event>, DurableError> {
        let mut out = Vec::new();
        if cursor < self.event_base {
            if let Some(ix) = &self.index {
                out = ix.events(cursor, self.event_base, limit)?;
            }
        }
        let local_from =
            usize::try_from(cursor.saturating_sub(self.event_base)).unwrap_or(usize::MAX);
        let mem = self.ledger.events();
        for e in mem
            .iter()
            .skip(local_from)
            .take(limit.saturating_sub(out.len()))
        {
            let mut e = e.clone();
            e.seq += self.event_base;
            out.push(e);
        }
        Ok(out)
    }

    // --- inputs -----------------------------------------------------------------------------

    fn live(&self) -> Result<(), DurableError> {
        match &self.poisoned {
            Some(why) => Err(DurableError::Poisoned(why.clone())),
            None => Ok(()),
        }
    }

    /// Queues a signed transaction; its signature is checked when its tick runs. Logged with
    /// the next record.
    pub fn submit(&mut self, tx: Transaction) -> Result<TxId, DurableError> {
        self.live()?;
        let bytes = tx.encode();
        let id = self.ledger.submit(tx)?;
        self.ops.push(Op::Submit {
            tx: bytes,
            verified: false,
        });
        self.accepted += 1;
        Ok(id)
    }

    /// Queues a transaction whose signature was checked already.
    pub fn submit_verified(&mut self, tx: VerifiedTx) -> Result<TxId, DurableError> {
        self.live()?;
        let bytes = tx.tx().encode();
        let id = self.ledger.submit_verified(tx)?;
        self.ops.push(Op::Submit {
            tx: bytes,
            verified: true,
        });
        self.accepted += 1;
        Ok(id)
    }

    /// **Harness / devnet power**: queues a transaction without a signature check.
    pub fn submit_unsigned(&mut self, tx: Transaction) -> Result<TxId, DurableError> {
        self.live()?;
        let bytes = tx.encode();
        let id = self.ledger.submit_unsigned(tx)?;
        self.ops.push(Op::Submit {
            tx: bytes,
            verified: true,
        });
        self.accepted += 1;
        Ok(id)
    }

    /// **Devnet power**: the faucet. Logged and synced before it returns.
    pub fn fund(&mut self, id: &Identity, amount: Amount) -> Result<(), DurableError> {
        self.live()?;
        self.ledger.fund(id, amount)?;
        self.ops.push(Op::Fund { to: *id, amount });
        self.commit()
    }

    /// Processes the next tick. A tick with effects is logged and synced before this returns,
    /// so its receipts may be reported; an idle tick goes into the next record.
    pub fn process_tick(&mut self) -> Result<Tick, DurableError> {
        self.live()?;
        let before = self.ledger.tick_summaries().len();
        let t = self.ledger.process_tick()?;
        if self.ledger.tick_summaries().len() > before {
            self.ops.push(Op::Tick);
            self.commit()?;
        } else {
            let to = self.ledger.next_tick();
            match self.ops.last_mut() {
                Some(Op::WarpTo(x)) => *x = to,
                _ => self.ops.push(Op::WarpTo(to)),
            }
        }
        Ok(t)
    }

    /// **Harness / devnet power**: submits an unsigned call for the next tick, runs that
    /// tick (logged and synced), and returns the receipt.
    pub fn execute(
        &mut self,
        source: Identity,
        destination: Identity,
        amount: Amount,
        input_type: u16,
        input: Vec<u8>,
    ) -> Result<Receipt, DurableError> {
        let tx = Transaction::new(
            source,
            destination,
            amount,
            self.ledger.next_tick(),
            input_type,
            input,
        );
        let id = self.submit_unsigned(tx)?;
        self.process_tick()?;
        // Invariant: a transaction admitted for the tick just processed has a receipt.
        Ok(self
            .ledger
            .receipt(&id)
            .expect("a transaction of a processed tick has a receipt"))
    }

    /// **Harness / devnet power**: processes every tick before `target` (see
    /// [`Ledger::warp_to_tick`]). Logged and synced before it returns.
    pub fn warp_to_tick(&mut self, target: Tick) -> Result<(), DurableError> {
        self.live()?;
        let from = self.ledger.next_tick();
        let r = self.ledger.warp_to_tick(target);
        if self.ledger.next_tick() != from {
            self.ops.push(Op::WarpTo(self.ledger.next_tick()));
            self.commit()?;
        }
        Ok(r?)
    }

    /// **Harness / devnet power**: processes `n` ticks.
    pub fn advance_ticks(&mut self, n: u32) -> Result<(), DurableError> {
        let target = self
            .ledger
            .next_tick()
            .0
            .checked_add(n)
            .ok_or(LedgerError::TickOverflow)?;
        self.warp_to_tick(Tick(target))
    }

    /// **Harness / devnet power**: warps to the first tick of `epoch`.
    pub fn warp_to_epoch(&mut self, epoch: Epoch) -> Result<(), DurableError> {
        let c = self.ledger.config();
        if epoch.0 <= c.genesis_epoch.0 {
            return Ok(());
        }
        let ticks = u64::from(epoch.0 - c.genesis_epoch.0) * u64::from(c.epoch_ticks)
            + u64::from(c.genesis_tick.0);
        let target = u32::try_from(ticks).map_err(|_| LedgerError::TickOverflow)?;
        self.warp_to_tick(Tick(target))
    }

    /// Writes buffered inputs (submissions, idle ticks) as a record, syncs the log and makes
    /// the index durable. Call it on a clean shutdown.
    pub fn flush(&mut self) -> Result<(), DurableError> {
        self.live()?;
        if !self.ops.is_empty() {
            self.commit()?;
        }
        self.log.sync().map_err(|e| self.poison(e))?;
        self.durable_accepted
            .fetch_max(self.logged_accepted, Ordering::AcqRel);
        self.index_durable();
        self.worker.wait().map_err(DurableError::Index)
    }

    /// Submissions accepted since start-up: a ticket for [`DurableLedger::make_durable`].
    pub fn accepted(&self) -> u64 {
        self.accepted
    }

    /// Makes the first `upto` submissions since start-up durable, in two steps so that the
    /// sync happens outside the caller's lock: this writes buffered inputs as a record
    /// (unless an earlier call did) and returns the sync still owed, if any; the caller
    /// releases its lock and calls [`PendingSync::wait`]. Concurrent submissions share one
    /// record and, mostly, one sync (group commit). A node does this after a broadcast and
    /// before it answers 200. Under [`DurableConfig::fsync_every`] > 1 (benchmarks only)
    /// nothing is owed: the record is synced with its group.
    pub fn make_durable(&mut self, upto: u64) -> Result<Option<PendingSync>, DurableError> {
        self.live()?;
        if self.durable_accepted.load(Ordering::Acquire) >= upto {
            return Ok(None);
        }
        if self.logged_accepted < upto {
            self.commit_with(false)?;
        }
        if self.config.fsync_every > 1 || self.log.synced() {
            return Ok(None);
        }
        Ok(Some(PendingSync {
            file: self.log.file(),
            dir: self.dir.clone(),
            covers: self.logged_accepted,
            durable: Arc::clone(&self.durable_accepted),
        }))
    }

    /// Flushes, then writes a snapshot now.
    pub fn snapshot_now(&mut self) -> Result<PathBuf, DurableError> {
        self.flush()?;
        self.write_snapshot()
    }

    // --- internals --------------------------------------------------------------------------

    fn poison(&mut self, e: DurableError) -> DurableError {
        self.poisoned = Some(e.to_string());
        e
    }

    fn commit(&mut self) -> Result<(), DurableError> {
        self.commit_with(true)
    }

    /// Writes buffered inputs as a record; `sync` as [`DurableConfig::fsync_every`] says, or
    /// not at all (the caller syncs: [`DurableLedger::make_durable`]).
    fn commit_with(&mut self, sync: bool) -> Result<(), DurableError> {
        let mut ops = std::mem::take(&mut self.ops);
        // A signature proven when its tick ran needs no check on replay.
        for op in ops.iter_mut() {
            if let Op::Submit {
                tx,
                verified: verified @ false,
            } = op
            {
                let id = comqute_qpi::Hash32::of(tx);
                if let Some(r) = self.ledger.receipt(&id) {
                    let bad = matches!(
                        r.status,
                        TxStatus::Dropped {
                            reason: DropReason::BadSignature
                        }
                    );
                    if r.slot != u32::MAX && !bad {
                        *verified = true;
                    }
                }
            }
        }
        let ticks = self
            .ledger
            .tick_summaries()
            .slice(self.logged_ticks..)
            .iter()
            .map(|s| TickCheck::of(&s))
            .collect();
        let next = self.ledger.next_tick();
        let body = RecordBody {
            ops,
            ticks,
            next_tick: next,
            digest: self.ledger.digest(),
            state_digest: self.ledger.state_digest(),
        };
        let bytes = encode_record(self.records, Tick(next.0.saturating_sub(1)), &body);
        self.log
            .append(self.records, &bytes, sync)
            .map_err(|e| self.poison(e))?;
        self.records += 1;
        self.logged_accepted = self.accepted;
        if self.log.synced() {
            self.durable_accepted
                .fetch_max(self.logged_accepted, Ordering::AcqRel);
        }
        self.logged_ticks = self.ledger.tick_summaries().len();
        if self.index.is_some() && self.ledger.receipts().len() - self.seen.receipts >= INDEX_BATCH
        {
            self.index_durable();
        }
        self.maybe_snapshot();
        Ok(())
    }

    /// Hands everything not yet indexed to the background writer. The index lags the log;
    /// the lookups cover the gap from memory, and start-up uses only snapshots the index
    /// has caught up with.
    fn index_durable(&mut self) {
        if self.index.is_some() {
            let batch = batch_since(&self.ledger, &mut self.seen, self.records, self.event_base);
            if let Err(e) = self.worker.index(batch) {
                self.warnings.push(format!("lookup index not written: {e}"));
            }
        }
    }

    /// Captures a snapshot now (O(state)) and hands it, after the index batch it needs, to
    /// the background writer. The log is synced first: a snapshot never includes a record
    /// that is not durable.
    fn maybe_snapshot(&mut self) {
        let next = self.ledger.next_tick();
        let every = self.config.snapshot_every_ticks;
        let due = (every > 0 && next.0 >= self.snap_tick.0.saturating_add(every))
            || (self.config.snapshot_at_epoch_end && self.ledger.epoch() != self.snap_epoch);
        if !due {
            return;
        }
        if let Err(e) = self.log.sync() {
            self.warnings
                .push(format!("snapshot at tick {next} not written: {e}"));
            return;
        }
        self.index_durable();
        let body = SnapshotBody::capture(
            &self.ledger,
            self.fingerprint,
            self.records,
            self.events_total(),
        );
        match self.worker.snapshot(body) {
            Ok(()) => {
                self.snap_tick = next;
                self.snap_epoch = self.ledger.epoch();
            }
            Err(e) => self
                .warnings
                .push(format!("snapshot at tick {next} not written: {e}")),
        }
    }

    fn write_snapshot(&mut self) -> Result<PathBuf, DurableError> {
        let body = SnapshotBody::capture(
            &self.ledger,
            self.fingerprint,
            self.records,
            self.events_total(),
        );
        let path = snapshot::write_snapshot(
            &self.dir.join("snapshots"),
            &body,
            self.config.keep_snapshots,
        )?;
        self.snap_tick = self.ledger.next_tick();
        self.snap_epoch = self.ledger.epoch();
        Ok(path)
    }
}

/// A sync owed to make submissions durable ([`DurableLedger::make_durable`]), done outside
/// the ledger's lock.
#[must_use = "the submissions are durable only once the sync is waited for"]
pub struct PendingSync {
    file: Arc<File>,
    dir: PathBuf,
    covers: u64,
    durable: Arc<AtomicU64>,
}

impl PendingSync {
    /// Syncs the log, unless another sync covered these submissions meanwhile.
    pub fn wait(self) -> Result<(), DurableError> {
        if self.durable.load(Ordering::Acquire) >= self.covers {
            return Ok(());
        }
        self.file
            .sync_data()
            .map_err(io_err(&self.dir, "sync the log in"))?;
        self.durable.fetch_max(self.covers, Ordering::AcqRel);
        Ok(())
    }
}

impl Drop for DurableLedger {
    /// Best effort: writes buffered inputs and syncs. Errors cannot be reported here; call
    /// [`DurableLedger::flush`] to see them.
    fn drop(&mut self) {
        if self.poisoned.is_none() {
            let _ = self.flush();
        }
    }
}

/// The index batch for everything the ledger did since `seen`, which it then advances.
fn batch_since(ledger: &Ledger, seen: &mut Seen, records: u64, event_base: u64) -> IndexBatch {
    let summaries = ledger.tick_summaries().slice(seen.ticks..);
    let receipts = ledger.receipts().slice(seen.receipts..);
    let events = ledger.events().slice(seen.events..);
    let batch = IndexBatch {
        records,
        events_total: event_base + ledger.events().len() as u64,
        txs: receipts.iter().map(|r| TxRecord::of(&r)).collect(),
        ticks: summaries
            .iter()
            .map(|s| TickRecord {
                check: TickCheck::of(&s),
                transactions: s.transactions,
            })
            .collect(),
        events: events
            .iter()
            .enumerate()
            .map(|(i, e)| (event_base + (seen.events + i) as u64, e))
            .collect(),
    };
    seen.ticks = ledger.tick_summaries().len();
    seen.receipts = ledger.receipts().len();
    seen.events = ledger.events().len();
    batch
}

/// Loads and checks a snapshot (framing, fingerprint, rebuilt state digest): the ledger, the
/// records it includes and the events emitted before it.
pub(crate) fn load_snapshot(
    path: &Path,
    fingerprint: comqute_qpi::Hash32,
    genesis: &Ledger,
) -> Result<(Ledger, u64, u64), String> {
    let body = snapshot::read_snapshot(path)?;
    if body.fingerprint != fingerprint {
        return Err("made for another data directory (fingerprint differs)".into());
    }
    let (records, events_total) = (body.records, body.events_total);
    let ledger = body.restore(genesis.config().clone(), genesis)?;
    Ok((ledger, records, events_total))
}

//! The append-only tick log: segment files of records, a reader that tells a torn tail from
//! damage in the middle, and a writer that syncs before it returns.
//!
//! Segments live in `DIR/log/`, each named after the sequence number of its first record
//! (`00000000000000000000.log`, 20 digits). The writer starts a new segment once the current
//! one has grown past the configured size. Segments are never deleted: `verify` replays the
//! whole log from genesis.
//!
//! **Torn or corrupt.** Reading stops at the first bytes that are not a valid record. If they
//! are in the last segment and no valid record follows anywhere after them, they are a torn
//! tail (a crash in the middle of an append, or damage to the last record, which cannot be
//! told apart): the writer cuts them off and the start-up report carries a warning. Anything
//! else is damage before the end and stops start-up with [`DurableError::CorruptRecord`].

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use comqute_qpi::Tick;

use super::record::{decode_record, FrameError, RecordBody, RECORD_MAGIC};
use super::{io_err, sync_dir, DurableError};

/// A segment file and the sequence number of its first record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Segment {
    pub first_seq: u64,
    pub path: PathBuf,
}

/// One record read from the log.
#[derive(Debug, Clone)]
pub struct LogRecord {
    /// The segment file.
    pub file: PathBuf,
    /// Byte offset of the record in it.
    pub offset: u64,
    /// Total bytes of the record, framing included.
    pub len: u64,
    /// Its sequence number.
    pub seq: u64,
    /// The tick in its header: the last tick processed when it was written.
    pub tick: Tick,
    /// Its contents.
    pub body: RecordBody,
}

/// A torn tail found (and, when writing, cut off) at the end of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTail {
    /// The segment file.
    pub file: PathBuf,
    /// Where the valid records end.
    pub offset: u64,
    /// Bytes after that offset.
    pub bytes: u64,
    /// What was wrong with them.
    pub detail: String,
}

/// Where a scan of the log ended.
#[derive(Debug, Clone)]
pub(crate) struct ScanEnd {
    /// The sequence number the next record will have.
    pub next_seq: u64,
    /// The last segment and the length of its valid records.
    pub last: Option<(PathBuf, u64)>,
    /// A torn tail, if any.
    pub torn: Option<TornTail>,
    /// The tick of the last valid record.
    pub last_tick: Option<Tick>,
}

pub(crate) fn segment_name(first_seq: u64) -> String {
    format!("{first_seq:020}.log")
}

/// The segments of `log_dir`, by first sequence number. Files that are not segments are
/// ignored.
pub(crate) fn list_segments(log_dir: &Path) -> Result<Vec<Segment>, DurableError> {
    let mut out = Vec::new();
    if !log_dir.exists() {
        return Ok(out);
    }
    for entry in fs::read_dir(log_dir).map_err(io_err(log_dir, "list"))? {
        let entry = entry.map_err(io_err(log_dir, "list"))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(stem) = name.strip_suffix(".log") else {
            continue;
        };
        if stem.len() != 20 || !stem.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        // Invariant: 20 ASCII digits; a value over u64::MAX is simply not one of ours.
        let Ok(first_seq) = stem.parse::<u64>() else {
            continue;
        };
        out.push(Segment {
            first_seq,
            path: entry.path(),
        });
    }
    out.sort_by_key(|s| s.first_seq);
    Ok(out)
}

/// Whether a valid record starts anywhere in `bytes` after position 0.
fn valid_record_after(bytes: &[u8]) -> bool {
    (1..bytes.len())
        .any(|p| bytes[p..].starts_with(&RECORD_MAGIC) && decode_record(&bytes[p..]).is_ok())
}

/// Reads every record with `seq >= from_seq`, in order, handing each to `f`. Segments that
/// end before `from_seq` are not read at all. Damage before the end is an error; a torn tail
/// is reported in the result, not cut (the writer does that).
pub(crate) fn scan(
    log_dir: &Path,
    from_seq: u64,
    mut f: impl FnMut(LogRecord) -> Result<(), DurableError>,
) -> Result<ScanEnd, DurableError> {
    let segments = list_segments(log_dir)?;
    let mut end = ScanEnd {
        next_seq: 0,
        last: None,
        torn: None,
        last_tick: None,
    };
    let Some(first) = segments.first() else {
        return Ok(end);
    };
    if first.first_seq != 0 {
        return Err(DurableError::LogGap {
            file: first.path.clone(),
            expected: 0,
            found: first.first_seq,
        });
    }
    // Start with the last segment whose first record is at or before `from_seq`.
    let start = segments
        .iter()
        .rposition(|s| s.first_seq <= from_seq)
        .unwrap_or(0);
    let mut expected = segments[start].first_seq;
    for (i, seg) in segments.iter().enumerate().skip(start) {
        if seg.first_seq != expected {
            return Err(DurableError::LogGap {
                file: seg.path.clone(),
                expected,
                found: seg.first_seq,
            });
        }
        let is_last = i + 1 == segments.len();
        let bytes = fs::read(&seg.path).map_err(io_err(&seg.path, "read"))?;
        let mut at = 0usize;
        while at < bytes.len() {
            match decode_record(&bytes[at..]) {
                Ok((h, body, n)) => {
                    if h.seq != expected {
                        return Err(DurableError::CorruptRecord {
                            file: seg.path.clone(),
                            offset: at as u64,
                            seq: expected,
                            tick: Some(h.tick),
                            last_good_tick: end.last_tick,
                            detail: format!(
                                "record says it is number {} where {expected} belongs",
                                h.seq
                            ),
                        });
                    }
                    if h.seq >= from_seq {
                        f(LogRecord {
                            file: seg.path.clone(),
                            offset: at as u64,
                            len: n as u64,
                            seq: h.seq,
                            tick: h.tick,
                            body,
                        })?;
                    }
                    end.last_tick = Some(h.tick);
                    expected += 1;
                    at += n;
                }
                Err((header, e)) => {
                    if is_last && !valid_record_after(&bytes[at..]) {
                        end.torn = Some(TornTail {
                            file: seg.path.clone(),
                            offset: at as u64,
                            bytes: (bytes.len() - at) as u64,
                            detail: e.to_string(),
                        });
                        break;
                    }
                    let tick = match (&e, header) {
                        (FrameError::BadMagic, _) | (_, None) => None,
                        (_, Some(h)) => Some(h.tick),
                    };
                    return Err(DurableError::CorruptRecord {
                        file: seg.path.clone(),
                        offset: at as u64,
                        seq: expected,
                        tick,
                        last_good_tick: end.last_tick,
                        detail: e.to_string(),
                    });
                }
            }
        }
        end.last = Some((seg.path.clone(), at as u64));
    }
    end.next_seq = expected;
    Ok(end)
}

/// Appends records to the newest segment, syncing before it returns (or every n records).
pub(crate) struct LogWriter {
    dir: PathBuf,
    file: Arc<File>,
    len: u64,
    segment_bytes: u64,
    fsync_every: u32,
    unsynced: u32,
}

impl LogWriter {
    /// Opens the log for appending after a scan: cuts a torn tail off, or creates the first
    /// segment of an empty log.
    pub fn open(
        log_dir: &Path,
        end: &ScanEnd,
        segment_bytes: u64,
        fsync_every: u32,
    ) -> Result<LogWriter, DurableError> {
        fs::create_dir_all(log_dir).map_err(io_err(log_dir, "create"))?;
        let (path, len, created) = match &end.last {
            Some((p, len)) => (p.clone(), *len, false),
            None => (log_dir.join(segment_name(end.next_seq)), 0, true),
        };
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_err(&path, "open"))?;
        if end.torn.is_some() {
            file.set_len(len).map_err(io_err(&path, "truncate"))?;
            file.sync_all().map_err(io_err(&path, "sync"))?;
        }
        if created {
            sync_dir(log_dir)?;
        }
        let mut w = LogWriter {
            dir: log_dir.to_path_buf(),
            file: Arc::new(file),
            len,
            segment_bytes,
            fsync_every: fsync_every.max(1),
            unsynced: 0,
        };
        w.seek_end(&path)?;
        Ok(w)
    }

    fn seek_end(&mut self, path: &Path) -> Result<(), DurableError> {
        use std::io::{Seek, SeekFrom};
        (&*self.file)
            .seek(SeekFrom::Start(self.len))
            .map_err(io_err(path, "seek"))?;
        Ok(())
    }

    /// Appends one framed record numbered `seq`; syncs unless group commit defers it or
    /// `sync` is false (the caller syncs [`LogWriter::file`] itself).
    pub fn append(&mut self, seq: u64, bytes: &[u8], sync: bool) -> Result<(), DurableError> {
        if self.len > 0 && self.len >= self.segment_bytes {
            self.sync()?;
            let path = self.dir.join(segment_name(seq));
            self.file = Arc::new(
                OpenOptions::new()
                    .create(true)
                    .truncate(true)
                    .write(true)
                    .open(&path)
                    .map_err(io_err(&path, "create"))?,
            );
            self.len = 0;
            sync_dir(&self.dir)?;
        }
        (&*self.file)
            .write_all(bytes)
            .map_err(io_err(&self.dir, "append to the log in"))?;
        self.len += bytes.len() as u64;
        self.unsynced += 1;
        if sync && self.unsynced >= self.fsync_every {
            self.sync()?;
        }
        Ok(())
    }

    /// The segment being appended to, to sync outside the writer.
    pub fn file(&self) -> Arc<File> {
        Arc::clone(&self.file)
    }

    /// Whether every appended record is synced.
    pub fn synced(&self) -> bool {
        self.unsynced == 0
    }

    /// Makes every appended record durable.
    pub fn sync(&mut self) -> Result<(), DurableError> {
        if self.unsynced > 0 {
            self.file
                .sync_data()
                .map_err(io_err(&self.dir, "sync the log in"))?;
            self.unsynced = 0;
        }
        Ok(())
    }
}

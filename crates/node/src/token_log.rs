//! Token streams kept with the node's data (`DATA/streams/<job id>.tok`), so a requester who
//! reconnects after a restart replays the whole stream, and a finished job's stream stays
//! readable as long as its result is.
//!
//! A file is the stream's chunks in order, one record each:
//! `len: u32 LE | seq: u32 LE | done: u8 | text (len bytes, UTF-8) | check: 4 bytes`, where
//! `check` is the first 4 bytes of `blake3` over everything before it in the record. A chunk
//! is written (not synced) before its push is answered: a crashed process loses nothing it
//! acknowledged; a power cut may lose a tail, which the worker pushes again (a push of a
//! number the node no longer has is simply appended). A torn or damaged tail found when the
//! file is loaded is cut off there.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};

const HEAD: usize = 9;
const CHECK: usize = 4;

/// A stream as loaded from its file.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Loaded {
    /// The chunks, numbered from 0.
    pub chunks: Vec<String>,
    /// Whether the worker closed the stream.
    pub done: bool,
    /// Bytes of a damaged or torn tail cut off, if any.
    pub cut: Option<u64>,
}

/// The file of job `job_id`'s stream under `dir`.
pub fn path(dir: &Path, job_id: u64) -> PathBuf {
    dir.join(format!("{job_id}.tok"))
}

fn check(record: &[u8]) -> [u8; CHECK] {
    let h = blake3::hash(record);
    let mut c = [0; CHECK];
    c.copy_from_slice(&h.as_bytes()[..CHECK]);
    c
}

/// One framed record.
pub fn record(seq: u32, text: &str, done: bool) -> Vec<u8> {
    let mut r = Vec::with_capacity(HEAD + text.len() + CHECK);
    // Invariant: a chunk is at most the stream's byte budget, far below 4 GiB (the push
    // checks it first); saturating keeps a bad length detectable on load all the same.
    r.extend_from_slice(&u32::try_from(text.len()).unwrap_or(u32::MAX).to_le_bytes());
    r.extend_from_slice(&seq.to_le_bytes());
    r.push(u8::from(done));
    r.extend_from_slice(text.as_bytes());
    let c = check(&r);
    r.extend_from_slice(&c);
    r
}

/// Opens a stream's file for appending, creating it (and `dir`) when missing.
pub fn open_append(dir: &Path, job_id: u64) -> std::io::Result<File> {
    std::fs::create_dir_all(dir)?;
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path(dir, job_id))
}

/// Appends one chunk.
pub fn append(file: &mut File, seq: u32, text: &str, done: bool) -> std::io::Result<()> {
    file.write_all(&record(seq, text, done))
}

/// Loads a stream's file (`None`: there is none). A tail that is torn, fails its check,
/// is not UTF-8, or numbers its chunk out of order is cut off the file.
pub fn load(dir: &Path, job_id: u64) -> std::io::Result<Option<Loaded>> {
    let p = path(dir, job_id);
    let mut bytes = Vec::new();
    match File::open(&p) {
        Ok(mut f) => f.read_to_end(&mut bytes)?,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut out = Loaded::default();
    let mut at = 0usize;
    while at < bytes.len() && !out.done {
        let Some(head) = bytes.get(at..at + HEAD) else {
            break;
        };
        let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let seq = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
        let done = head[8];
        let end = at.saturating_add(HEAD).saturating_add(len);
        let Some(body) = bytes.get(at..end) else {
            break;
        };
        let Some(c) = bytes.get(end..end + CHECK) else {
            break;
        };
        if c != check(body) || done > 1 || seq as usize != out.chunks.len() {
            break;
        }
        let Ok(text) = std::str::from_utf8(&body[HEAD..]) else {
            break;
        };
        out.chunks.push(text.to_owned());
        out.done = done == 1;
        at = end + CHECK;
    }
    if at < bytes.len() {
        out.cut = Some((bytes.len() - at) as u64);
        OpenOptions::new()
            .write(true)
            .open(&p)?
            .set_len(at as u64)?;
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("comqute-toklog-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn chunks_come_back_in_order_and_a_torn_or_damaged_tail_is_cut_off() {
        let d = dir("torn");
        assert_eq!(load(&d, 7).unwrap(), None);
        let mut f = open_append(&d, 7).unwrap();
        append(&mut f, 0, "Hello", false).unwrap();
        append(&mut f, 1, ", wörld", false).unwrap();
        append(&mut f, 2, "", true).unwrap();
        drop(f);
        let l = load(&d, 7).unwrap().unwrap();
        assert_eq!(l.chunks, ["Hello", ", wörld", ""]);
        assert!(l.done);
        assert_eq!(l.cut, None);

        // A torn last record (a crash mid-write) is cut off; what came before stays.
        let full = std::fs::read(path(&d, 7)).unwrap();
        std::fs::write(path(&d, 7), &full[..full.len() - 2]).unwrap();
        let l = load(&d, 7).unwrap().unwrap();
        assert_eq!(l.chunks, ["Hello", ", wörld"]);
        assert!(!l.done);
        assert_eq!(l.cut, Some(13 - 2));
        let cut_len = std::fs::metadata(path(&d, 7)).unwrap().len();
        assert_eq!(
            load(&d, 7).unwrap().unwrap().cut,
            None,
            "cut once, for good"
        );

        // A flipped byte in the middle: the damaged record and everything after go.
        let mut bytes = std::fs::read(path(&d, 7)).unwrap();
        assert_eq!(bytes.len() as u64, cut_len);
        bytes[HEAD + 5 + CHECK + HEAD + 1] ^= 1;
        std::fs::write(path(&d, 7), &bytes).unwrap();
        let l = load(&d, 7).unwrap().unwrap();
        assert_eq!(l.chunks, ["Hello"]);
        let _ = std::fs::remove_dir_all(&d);
    }
}

//! The background writer: index batches and snapshot files, in the order they were handed
//! over, off the tick's path. Nothing it does is needed for durability (the log is synced on
//! the caller's thread before anything is handed over); it makes restarts fast and lookups
//! complete.
//!
//! Order is the invariant: a snapshot is written only after every index batch before it
//! succeeded, so the index always covers what a snapshot leaves out of memory. After a
//! failed index write the worker writes nothing more (a later batch would paper over the
//! hole); start-up then picks an older snapshot and re-indexes.

use std::path::PathBuf;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::index::{Index, IndexBatch};
use super::snapshot::{write_snapshot, SnapshotBody};

/// Batches and snapshots waiting before the caller blocks (back-pressure).
const QUEUE: usize = 2;

enum Job {
    Index(IndexBatch),
    Snapshot(Box<SnapshotBody>),
    Barrier(SyncSender<()>),
}

/// The handle to the background writer.
pub(crate) struct Worker {
    jobs: Option<SyncSender<Job>>,
    handle: Option<JoinHandle<()>>,
    warnings: Arc<Mutex<Vec<String>>>,
}

impl Worker {
    /// Starts the writer.
    pub fn start(index: Option<Arc<Index>>, snapshot_dir: PathBuf, keep: usize) -> Worker {
        let (tx, rx) = sync_channel(QUEUE);
        let warnings = Arc::new(Mutex::new(Vec::new()));
        let w = warnings.clone();
        let handle = std::thread::Builder::new()
            .name("comqute-durable".into())
            .spawn(move || run(rx, index, snapshot_dir, keep, w))
            .ok();
        Worker {
            jobs: handle.as_ref().map(|_| tx),
            handle,
            warnings,
        }
    }

    fn send(&self, job: Job) -> Result<(), String> {
        match &self.jobs {
            Some(tx) => tx
                .send(job)
                .map_err(|_| "the background writer stopped".to_owned()),
            None => Err("the background writer could not be started".into()),
        }
    }

    /// Hands an index batch over.
    pub fn index(&self, batch: IndexBatch) -> Result<(), String> {
        self.send(Job::Index(batch))
    }

    /// Hands a snapshot over.
    pub fn snapshot(&self, body: SnapshotBody) -> Result<(), String> {
        self.send(Job::Snapshot(Box::new(body)))
    }

    /// Waits until everything handed over so far is written (or has failed).
    pub fn wait(&self) -> Result<(), String> {
        let (tx, rx) = sync_channel(1);
        self.send(Job::Barrier(tx))?;
        rx.recv()
            .map_err(|_| "the background writer stopped".to_owned())
    }

    /// Problems so far, taken.
    pub fn take_warnings(&self) -> Vec<String> {
        self.warnings
            .lock()
            .map(|mut w| std::mem::take(&mut *w))
            .unwrap_or_default()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.jobs = None; // closes the queue: the thread finishes what is queued and ends
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn run(
    rx: Receiver<Job>,
    index: Option<Arc<Index>>,
    dir: PathBuf,
    keep: usize,
    warnings: Arc<Mutex<Vec<String>>>,
) {
    let warn = |m: String| {
        if let Ok(mut w) = warnings.lock() {
            w.push(m);
        }
    };
    let mut failed = false;
    for job in rx {
        match job {
            Job::Index(batch) => {
                if failed {
                    continue;
                }
                if let Some(ix) = &index {
                    if let Err(e) = ix.write(&batch) {
                        failed = true;
                        warn(format!(
                            "lookup index not written ({e}); no more snapshots until restart"
                        ));
                    }
                }
            }
            Job::Snapshot(body) => {
                if failed {
                    continue;
                }
                if let Err(e) = write_snapshot(&dir, &body, keep) {
                    warn(format!(
                        "snapshot at tick {} not written: {e}",
                        body.next_tick
                    ));
                }
            }
            Job::Barrier(done) => {
                let _ = done.send(());
            }
        }
    }
}

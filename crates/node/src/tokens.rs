//! Live token streams: the assigned worker pushes a job's output in numbered chunks while it
//! runs; requesters read what was pushed so far and wait for more. Nothing here is on chain:
//! the result hash the worker posts is what counts; the stream is a preview.
//! [`TokenService`] is the node's face of it: pushes checked against the chain, pages, and
//! live feeds; [`TokenHub`] holds the streams.
//!
//! **Who may push**: [`authorize`] checks an ed25519 signature by the pushing identity over
//! [`crate::wire::token_digest`] and that this identity is the job's assigned worker
//! according to the job registry; anyone else gets `403 forbidden`.
//!
//! **Bounded memory**: a stream holds at most `max_bytes` of text (a push past it gets 413),
//! and the hub at most `max_streams` streams; when full, the oldest closed stream is dropped,
//! else the oldest empty one, else the oldest. Readers already attached keep their copy.
//!
//! **Kept with the data** (a node with a data directory): every chunk is written to the
//! stream's file ([`crate::token_log`]) before its push is answered, and a stream not in
//! memory (after a restart, or dropped from memory) is loaded from its file when asked for.
//! A requester who reconnects after a restart replays the stream from the start or from a
//! cursor, and the worker's pushes carry on where the file ends.

use comqute_market::WorkerId;
use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use comqute_ledger::Ledger;
use comqute_market::job_registry::{Job, JobStatus};
use comqute_qpi::Identity;
use ed25519_dalek::{Signature, VerifyingKey};
use tokio::sync::{mpsc, watch};

use crate::chain::ChainService;
use crate::error::ServiceError;
use crate::wire::{token_digest, TokenChunk, TokenEnd, TokenPage, TokenPush, TokenPushResponse};

/// The streams of every job with tokens pushed or readers waiting.
pub struct TokenHub {
    inner: Mutex<Hub>,
    max_bytes: usize,
    max_streams: usize,
    /// Where streams are kept (`None`: in memory only).
    dir: Option<PathBuf>,
}

#[derive(Default)]
struct Hub {
    streams: BTreeMap<u64, Arc<TokenStream>>,
    order: VecDeque<u64>,
}

/// One job's stream.
pub struct TokenStream {
    state: Mutex<StreamState>,
    /// Chunks pushed so far (and a change when the stream closes).
    changed: watch::Sender<(u32, bool)>,
}

#[derive(Default)]
struct StreamState {
    chunks: Vec<String>,
    bytes: usize,
    done: bool,
    /// The stream's file, opened at its first push since it was loaded.
    file: Option<File>,
}

fn poisoned<T>(_: T) -> ServiceError {
    ServiceError::poisoned("token stream")
}

impl TokenStream {
    fn new(state: StreamState) -> TokenStream {
        let at = (
            u32::try_from(state.chunks.len()).unwrap_or(u32::MAX),
            state.done,
        );
        TokenStream {
            state: Mutex::new(state),
            changed: watch::channel(at).0,
        }
    }

    fn state(&self) -> Result<MutexGuard<'_, StreamState>, ServiceError> {
        self.state.lock().map_err(poisoned)
    }

    /// The chunks numbered `from` on, and whether the stream is closed.
    pub fn read_from(&self, from: u32) -> Result<(Vec<TokenChunk>, bool), ServiceError> {
        let st = self.state()?;
        let chunks = st
            .chunks
            .iter()
            .enumerate()
            .skip(from as usize)
            .map(|(i, text)| TokenChunk {
                // Invariant: chunk numbers are u32 by construction (push refuses more).
                seq: u32::try_from(i).unwrap_or(u32::MAX),
                text: text.clone(),
            })
            .collect();
        Ok((chunks, st.done))
    }

    /// A receiver that changes whenever a chunk is pushed or the stream closes.
    pub fn subscribe(&self) -> watch::Receiver<(u32, bool)> {
        self.changed.subscribe()
    }
}

/// What a push did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pushed {
    /// The next chunk number expected.
    pub next: u32,
    /// Whether the stream is closed.
    pub done: bool,
}

impl TokenHub {
    /// A hub keeping at most `max_bytes` of text per stream and `max_streams` streams.
    pub fn new(max_bytes: usize, max_streams: usize) -> TokenHub {
        TokenHub {
            inner: Mutex::new(Hub::default()),
            max_bytes,
            max_streams: max_streams.max(1),
            dir: None,
        }
    }

    /// Keeps the streams in `dir` too (see the module's notes); `None` keeps them in memory.
    pub fn stored_in(mut self, dir: Option<PathBuf>) -> TokenHub {
        self.dir = dir;
        self
    }

    /// The job's stream, if any (loaded from its file when it is not in memory).
    pub fn get(&self, job_id: u64) -> Result<Option<Arc<TokenStream>>, ServiceError> {
        self.lookup(job_id, false)
    }

    /// The job's stream, loaded from its file or created empty if missing (dropping an old
    /// one from memory when full).
    pub fn get_or_create(&self, job_id: u64) -> Result<Arc<TokenStream>, ServiceError> {
        // Invariant: with `create`, `lookup` returns a stream or an error.
        self.lookup(job_id, true)?
            .ok_or_else(|| ServiceError::Internal("token stream not created".into()))
    }

    fn load(&self, job_id: u64) -> Result<Option<StreamState>, ServiceError> {
        let Some(dir) = &self.dir else {
            return Ok(None);
        };
        let loaded = crate::token_log::load(dir, job_id).map_err(|e| {
            ServiceError::Internal(format!("token stream of job {job_id} unreadable: {e}"))
        })?;
        Ok(loaded.map(|l| {
            if let Some(cut) = l.cut {
                tracing::warn!(job_id, cut, "cut a damaged tail off a stored token stream");
            }
            StreamState {
                bytes: l.chunks.iter().map(String::len).sum(),
                chunks: l.chunks,
                done: l.done,
                file: None,
            }
        }))
    }

    fn lookup(&self, job_id: u64, create: bool) -> Result<Option<Arc<TokenStream>>, ServiceError> {
        let mut hub = self.inner.lock().map_err(poisoned)?;
        if let Some(s) = hub.streams.get(&job_id) {
            return Ok(Some(s.clone()));
        }
        let initial = match self.load(job_id)? {
            Some(st) => st,
            None if create => StreamState::default(),
            None => return Ok(None),
        };
        while hub.streams.len() >= self.max_streams {
            // Closed streams go first, then empty ones (readers waiting on jobs nobody
            // streams yet), then the oldest: a live stream is dropped last.
            let state = |id: &u64| {
                hub.streams
                    .get(id)
                    .and_then(|s| s.state.lock().ok().map(|st| (st.done, st.chunks.len())))
            };
            let victim = hub
                .order
                .iter()
                .position(|id| state(id).is_none_or(|(done, _)| done))
                .or_else(|| {
                    hub.order
                        .iter()
                        .position(|id| state(id).is_some_and(|(_, n)| n == 0))
                })
                .unwrap_or(0);
            match hub.order.remove(victim) {
                Some(id) => {
                    hub.streams.remove(&id);
                }
                None => break,
            }
        }
        let s = Arc::new(TokenStream::new(initial));
        hub.streams.insert(job_id, s.clone());
        hub.order.push_back(job_id);
        Ok(Some(s))
    }

    /// Appends chunk `seq` to the job's stream. The same chunk pushed again is accepted and
    /// changes nothing (a retry); a gap, a different chunk under a used number, or a push
    /// after `done` is a 409; going past the stream's byte budget is a 413.
    pub fn push(
        &self,
        job_id: u64,
        seq: u32,
        text: &str,
        done: bool,
    ) -> Result<Pushed, ServiceError> {
        let stream = self.get_or_create(job_id)?;
        let mut st = stream.state()?;
        let next = u32::try_from(st.chunks.len()).unwrap_or(u32::MAX);
        if seq < next {
            if st.chunks[seq as usize] == text && (!done || st.done) {
                return Ok(Pushed {
                    next,
                    done: st.done,
                });
            }
            return Err(ServiceError::Conflict(format!(
                "chunk {seq} of job {job_id} was already pushed with other content"
            )));
        }
        if st.done {
            return Err(ServiceError::Conflict(format!(
                "the token stream of job {job_id} is closed"
            )));
        }
        if seq > next {
            return Err(ServiceError::Conflict(format!(
                "chunk {seq} of job {job_id} is out of order: expected {next}"
            )));
        }
        if next == u32::MAX {
            return Err(ServiceError::TooLarge {
                size: st.bytes,
                limit: self.max_bytes,
            });
        }
        let size = st.bytes.saturating_add(text.len());
        if size > self.max_bytes {
            return Err(ServiceError::TooLarge {
                size,
                limit: self.max_bytes,
            });
        }
        if let Some(dir) = &self.dir {
            let stored = match &mut st.file {
                Some(f) => crate::token_log::append(f, seq, text, done),
                None => crate::token_log::open_append(dir, job_id).and_then(|mut f| {
                    crate::token_log::append(&mut f, seq, text, done)?;
                    st.file = Some(f);
                    Ok(())
                }),
            };
            if let Err(e) = stored {
                // A partial record is cut off when the file is next loaded; the worker
                // pushes this chunk again.
                st.file = None;
                return Err(ServiceError::Internal(format!(
                    "chunk {seq} of job {job_id} not stored: {e}"
                )));
            }
        }
        st.bytes = size;
        st.chunks.push(text.to_owned());
        st.done = done;
        let pushed = Pushed {
            next: next + 1,
            done,
        };
        drop(st);
        stream.changed.send_replace((pushed.next, done));
        Ok(pushed)
    }
}

/// Whether a job's worker may still push tokens: while it holds the job and just after it
/// posted the result.
pub fn streaming(status: JobStatus) -> bool {
    matches!(
        status,
        JobStatus::Assigned | JobStatus::Running | JobStatus::Completed
    )
}

/// Checks a push: a well-formed identity and signature (400), a known job (404), a
/// signature by that identity over the chunk's digest and that identity being the job's
/// assigned worker (403 `forbidden` otherwise), and a job still running (409).
pub fn authorize(ledger: &Ledger, job_id: u64, push: &TokenPush) -> Result<Identity, ServiceError> {
    let worker = crate::parse::identity(&push.worker)?;
    let sig: [u8; 64] = hex::decode(push.signature.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| ServiceError::BadParam {
            name: "signature",
            detail: "expected 128 hex digits (an ed25519 signature)".into(),
        })?;
    let job: Job = crate::chain::job_record(ledger, job_id)?;
    let digest = token_digest(job_id, push.seq, &push.text, push.done);
    let verified = VerifyingKey::from_bytes(&worker.0).ok().is_some_and(|k| {
        k.verify_strict(&digest.0, &Signature::from_bytes(&sig))
            .is_ok()
    });
    if !verified {
        return Err(ServiceError::Forbidden(format!(
            "the signature does not verify for {worker}"
        )));
    }
    if job.worker != Some(WorkerId(worker)) {
        return Err(ServiceError::Forbidden(format!(
            "only the assigned worker of job {job_id} may push its tokens"
        )));
    }
    if !streaming(job.status) {
        return Err(ServiceError::Conflict(format!(
            "job {job_id} is {}: its token stream is closed",
            job.status.name()
        )));
    }
    Ok(worker)
}

/// What a job's token feed delivers ([`TokenService::follow`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenFeed {
    /// A chunk of output.
    Chunk(TokenChunk),
    /// The end: `status` is `None` when the worker closed the stream, else the terminal
    /// status the job reached first. Nothing follows.
    End(TokenEnd),
}

/// The node's token streams: pushes checked against the chain, pages and live feeds.
pub struct TokenService {
    hub: TokenHub,
    max_bytes: usize,
}

impl TokenService {
    /// At most `max_bytes` of text per stream and `max_streams` streams.
    pub fn new(max_bytes: usize, max_streams: usize) -> TokenService {
        TokenService {
            hub: TokenHub::new(max_bytes, max_streams),
            max_bytes,
        }
    }

    /// Keeps the streams in `dir` as well (`None`: memory only).
    pub fn stored_in(mut self, dir: Option<PathBuf>) -> TokenService {
        self.hub = self.hub.stored_in(dir);
        self
    }

    /// The streams.
    pub fn hub(&self) -> &TokenHub {
        &self.hub
    }

    /// Appends a chunk pushed by the job's assigned worker: its size checked (413), then
    /// [`authorize`] (400, 404, 403, 409), then [`TokenHub::push`]. The signature check is
    /// ~50 µs of curve arithmetic: call it off the async workers.
    pub fn push(
        &self,
        chain: &ChainService,
        job_id: u64,
        push: &TokenPush,
    ) -> Result<TokenPushResponse, ServiceError> {
        if push.text.len() > self.max_bytes {
            return Err(ServiceError::TooLarge {
                size: push.text.len(),
                limit: self.max_bytes,
            });
        }
        chain.read(|l| authorize(l, job_id, push))??;
        let pushed = self.hub.push(job_id, push.seq, &push.text, push.done)?;
        Ok(TokenPushResponse {
            job_id,
            next: pushed.next,
            done: pushed.done,
        })
    }

    /// What was pushed of a job's output so far (404 for a job that does not exist).
    pub fn page(&self, chain: &ChainService, job_id: u64) -> Result<TokenPage, ServiceError> {
        chain.job_record(job_id)?;
        let (chunks, done) = match self.hub.get(job_id)? {
            Some(st) => st.read_from(0)?,
            None => (Vec::new(), false),
        };
        let text = chunks.iter().map(|c| c.text.as_str()).collect();
        Ok(TokenPage {
            job_id,
            chunks,
            done,
            text,
        })
    }

    /// A job's output as it is pushed: every chunk from number `from` on, then live ones,
    /// then the
    /// [`TokenFeed::End`] when the worker closes the stream or the job reaches a terminal
    /// status first (what arrived meanwhile is delivered before). A failure is the last
    /// item. The feed runs on a task of its own (a tokio runtime is needed) until it ends
    /// or the receiver is dropped. 404 now for a job that does not exist.
    pub fn follow(
        &self,
        chain: &Arc<ChainService>,
        job_id: u64,
        from: u32,
        patience: Option<std::time::Duration>,
    ) -> Result<mpsc::Receiver<Result<TokenFeed, ServiceError>>, ServiceError> {
        chain.job_record(job_id)?;
        let stream = self.hub.get_or_create(job_id)?;
        let mut changes = stream.subscribe();
        let mut ticks = chain.subscribe();
        let chain = chain.clone();
        let (tx, rx) = mpsc::channel(64);
        tokio::spawn(async move {
            let mut next = from;
            // Sends what is there from `next` on; `false` when the feed is over.
            let send_from = async |next: &mut u32| -> Option<bool> {
                match stream.read_from(*next) {
                    Ok((chunks, done)) => {
                        for c in chunks {
                            *next = c.seq + 1;
                            // A reader that takes nothing within the patience is dropped.
                            if !crate::limits::send_or_drop(&tx, Ok(TokenFeed::Chunk(c)), patience)
                                .await
                            {
                                return None;
                            }
                        }
                        Some(done)
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e)).await;
                        None
                    }
                }
            };
            loop {
                match send_from(&mut next).await {
                    None => return,
                    Some(true) => break,
                    Some(false) => {}
                }
                tokio::select! {
                    r = changes.changed() => if r.is_err() { return },
                    r = ticks.changed() => {
                        if r.is_err() {
                            return;
                        }
                        let status = chain.job_record(job_id).map(|j| j.status);
                        if let Ok(st) = status {
                            if st.is_terminal() {
                                // Drain what arrived meanwhile, then end.
                                let Some(done) = send_from(&mut next).await else { return };
                                let status = (!done).then(|| st.name().to_string());
                                let end = TokenEnd { chunks: next, status };
                                let _ = tx.send(Ok(TokenFeed::End(end))).await;
                                return;
                            }
                        }
                    }
                }
            }
            let _ = tx
                .send(Ok(TokenFeed::End(TokenEnd {
                    chunks: next,
                    status: None,
                })))
                .await;
        });
        Ok(rx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pushes_are_ordered_idempotent_and_bounded() {
        let hub = TokenHub::new(10, 2);
        assert_eq!(
            hub.push(1, 0, "abc", false).unwrap(),
            Pushed {
                next: 1,
                done: false
            }
        );
        assert_eq!(hub.push(1, 0, "abc", false).unwrap().next, 1, "a retry");
        assert_eq!(hub.push(1, 0, "abd", false).unwrap_err().code(), "conflict");
        assert_eq!(hub.push(1, 2, "x", false).unwrap_err().code(), "conflict");
        assert_eq!(
            hub.push(1, 1, "12345678", false).unwrap_err().code(),
            "body_too_large"
        );
        assert!(hub.push(1, 1, "de", true).unwrap().done);
        assert_eq!(hub.push(1, 2, "", false).unwrap_err().code(), "conflict");
        let (chunks, done) = hub.get(1).unwrap().unwrap().read_from(1).unwrap();
        assert!(done);
        assert_eq!(
            chunks,
            vec![TokenChunk {
                seq: 1,
                text: "de".into()
            }]
        );
        // Two streams at most: the closed one goes first, then an empty one.
        hub.push(2, 0, "x", false).unwrap();
        hub.push(3, 0, "y", false).unwrap();
        assert!(hub.get(1).unwrap().is_none());
        assert!(hub.get(2).unwrap().is_some());
        hub.get_or_create(4).unwrap();
        assert!(
            hub.get(2).unwrap().is_none(),
            "the oldest, as none is closed or empty"
        );
        hub.get_or_create(5).unwrap();
        assert!(
            hub.get(4).unwrap().is_none(),
            "the empty one before the live one"
        );
        assert!(hub.get(3).unwrap().is_some());
    }
}

//! Writes a planned stream with the configured delays, splits and fault.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use tokio::sync::mpsc;

use super::{Fault, Shared, Slot, Split, TestServerConfig};

/// The bytes of one streamed answer.
pub(crate) struct Plan {
    /// One framed line (NDJSON) or event (SSE) per output token.
    pub tokens: Vec<Vec<u8>>,
    /// What follows the tokens: the final chunk(s).
    pub tail: Vec<Vec<u8>>,
    /// What [`Fault::ErrorAfter`] sends.
    pub error: Vec<u8>,
}

type Tx = mpsc::Sender<Result<Bytes, std::io::Error>>;

/// A 200 response streaming `plan`, written by a task that holds `slot` (a generation's
/// concurrency slot) until it ends.
pub(crate) fn respond(
    content_type: &'static str,
    plan: Plan,
    fault: Option<Fault>,
    shared: Arc<Shared>,
    slot: Option<Slot>,
) -> Response {
    let (tx, rx) = mpsc::channel(16);
    let cfg = shared.cfg();
    let seed = shared.random_seed();
    tokio::spawn(write(tx, plan, fault, cfg, shared, slot, seed));
    let body = Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }));
    ([(CONTENT_TYPE, content_type)], body).into_response()
}

struct Writer {
    tx: Tx,
    split: Split,
    carry: Vec<u8>,
    rng: u64,
    writes: u64,
}

impl Writer {
    fn next_rand(&mut self) -> u64 {
        // xorshift64*
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    async fn send(&mut self, b: Vec<u8>) -> bool {
        if b.is_empty() {
            return true;
        }
        self.tx.send(Ok(Bytes::from(b))).await.is_ok()
    }

    /// A cut point in `1..len`: inside a UTF-8 character when there is one (two times in
    /// three), else anywhere.
    fn cut(&mut self) -> usize {
        let len = self.carry.len();
        let inside: Vec<usize> = (1..len).filter(|&i| self.carry[i] & 0xC0 == 0x80).collect();
        let r = self.next_rand();
        if !inside.is_empty() && !r.is_multiple_of(3) {
            inside[(r / 3) as usize % inside.len()]
        } else {
            1 + (r as usize % (len - 1))
        }
    }

    async fn emit(&mut self, bytes: &[u8]) -> bool {
        self.carry.extend_from_slice(bytes);
        match self.split {
            Split::Lines => {
                let b = std::mem::take(&mut self.carry);
                self.send(b).await
            }
            Split::Bytes(n) => {
                let n = n.max(1);
                while self.carry.len() >= n {
                    let rest = self.carry.split_off(n);
                    let head = std::mem::replace(&mut self.carry, rest);
                    if !self.send(head).await {
                        return false;
                    }
                    // Mostly just let the connection write; now and then wait, so that some
                    // writes reach the client as reads of their own.
                    self.writes += 1;
                    if self.writes.is_multiple_of(32) {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    } else {
                        tokio::task::yield_now().await;
                    }
                }
                true
            }
            Split::Awkward => {
                // One or two cuts; the rest is carried into the next write.
                for _ in 0..(1 + self.next_rand() % 2) {
                    if self.carry.len() < 2 {
                        break;
                    }
                    let at = self.cut();
                    let rest = self.carry.split_off(at);
                    let head = std::mem::replace(&mut self.carry, rest);
                    if !self.send(head).await {
                        return false;
                    }
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                true
            }
        }
    }

    async fn flush(&mut self) -> bool {
        let b = std::mem::take(&mut self.carry);
        self.send(b).await
    }
}

async fn write(
    tx: Tx,
    plan: Plan,
    fault: Option<Fault>,
    cfg: TestServerConfig,
    shared: Arc<Shared>,
    _slot: Option<Slot>,
    seed: u64,
) {
    let mut w = Writer {
        tx,
        split: cfg.split,
        carry: Vec::new(),
        rng: seed | 1,
        writes: 0,
    };
    if !cfg.first_token_delay.is_zero() {
        tokio::time::sleep(cfg.first_token_delay).await;
    }
    let n = plan.tokens.len();
    let at = |k: u32| (k as usize).min(n);
    for i in 0..=n {
        match fault {
            Some(Fault::ErrorAfter(k)) if at(k) == i => {
                let _ = w.emit(&plan.error).await && w.flush().await;
                return;
            }
            Some(Fault::StallAfter(k)) if at(k) == i => {
                if w.flush().await {
                    w.tx.closed().await;
                }
                return;
            }
            Some(Fault::TruncateAfter(k)) if at(k) == i => {
                w.flush().await;
                return;
            }
            Some(Fault::ResetAfter(k)) if at(k) == i => {
                if w.flush().await {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    let _ =
                        w.tx.send(Err(std::io::Error::other(
                            "connection reset by the test server",
                        )))
                        .await;
                }
                return;
            }
            Some(Fault::KillAfter(k)) if at(k) == i => {
                w.flush().await;
                // Let the bytes so far reach the client before everything goes.
                tokio::time::sleep(Duration::from_millis(20)).await;
                shared.kill();
                return;
            }
            _ => {}
        }
        if i == n {
            break;
        }
        if i > 0 && !cfg.token_delay.is_zero() {
            tokio::time::sleep(cfg.token_delay).await;
        }
        if !w.emit(&plan.tokens[i]).await {
            return;
        }
    }
    for t in &plan.tail {
        if !w.emit(t).await {
            return;
        }
    }
    w.flush().await;
}

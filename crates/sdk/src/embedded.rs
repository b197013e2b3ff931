//! The embedded transport: a ledger in this process, behind the same rules as a node (the
//! node crate's own checks, blob store and token streams, without HTTP).
//!
//! Ticks run when the caller says so: in [`TickMode::OnDemand`] (the default) a wait that
//! needs time to pass (a receipt, a job's result) processes ticks itself; in
//! [`TickMode::Manual`] waits only watch, and the caller (or another task) drives ticks with
//! [`Embedded::tick`] or [`Embedded::with_ledger`].

use std::sync::Arc;

use comqute_ledger::{Ledger, Transaction, TxId, VerifiedTx};
use comqute_node::chain::Chain;
use comqute_node::wire::{
    EventView, ReceiptView, TickInfo, TokenPage, TokenPush, TokenPushResponse,
};
use comqute_node::{NodeConfig, Shared};
use comqute_qpi::{Amount, ContractIndex, Hash32, Identity, Tick};
use tokio::sync::mpsc;

use crate::client::{Subscription, TokenEvent};
use crate::SdkError;

/// Who makes ticks happen on an embedded ledger.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TickMode {
    /// Waits process ticks as needed (one at a time, until what they wait for happens or
    /// they time out).
    #[default]
    OnDemand,
    /// Nothing ticks unless the caller calls [`Embedded::tick`] (or warps); waits watch.
    Manual,
}

/// An in-process ledger with the node's rules.
#[derive(Clone)]
pub struct Embedded {
    shared: Arc<Shared>,
    mode: TickMode,
}

impl std::fmt::Debug for Embedded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedded")
            .field("mode", &self.mode)
            .finish()
    }
}

impl Embedded {
    /// Wraps `ledger`, ticking on demand.
    pub fn new(ledger: Ledger) -> Embedded {
        Embedded::with_mode(ledger, TickMode::OnDemand)
    }

    /// Wraps `ledger` with the given tick mode.
    pub fn with_mode(ledger: Ledger, mode: TickMode) -> Embedded {
        let config = NodeConfig {
            tick_ms: 0,
            devnet: true,
            ..NodeConfig::test()
        };
        Embedded {
            shared: Shared::new(Chain::Memory(Box::new(ledger)), config),
            mode,
        }
    }

    /// A devnet ledger with the node's default genesis (the marketplace and the example
    /// contracts), ticking on demand.
    pub fn devnet() -> Result<Embedded, SdkError> {
        Ok(Embedded::new(comqute_node::default_genesis().build()?))
    }

    /// The tick mode.
    pub fn mode(&self) -> TickMode {
        self.mode
    }

    /// The node state behind it (ledger, blobs, token streams).
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Processes the next tick now.
    pub fn tick(&self) -> Result<Tick, SdkError> {
        Ok(comqute_node::tick_once(&self.shared)?)
    }

    /// Runs `f` on the ledger (harness powers: fund, warp, snapshot, inspect). Waiters see
    /// any ticks it processed.
    pub fn with_ledger<R>(&self, f: impl FnOnce(&mut Ledger) -> R) -> Result<R, SdkError> {
        let mut c = self.shared.chain()?;
        let out = match &mut *c {
            Chain::Memory(l) => f(l),
            Chain::Durable(_) => {
                return Err(SdkError::Invalid(
                    "the embedded transport holds an in-memory ledger".into(),
                ))
            }
        };
        let last = Tick(c.ledger().next_tick().0.saturating_sub(1));
        drop(c);
        self.shared.tick_tx.send_if_modified(|t| {
            let changed = *t != last;
            *t = last;
            changed
        });
        Ok(out)
    }

    pub(crate) fn tick_info(&self) -> Result<TickInfo, SdkError> {
        let c = self.shared.chain()?;
        let l = c.ledger();
        let tick = l.next_tick().0.saturating_sub(1);
        Ok(TickInfo {
            tick,
            duration: 0,
            epoch: l.epoch_of(Tick(tick)).0,
            initial_tick: l.config().genesis_tick.0,
        })
    }

    pub(crate) fn next_tick(&self) -> Result<Tick, SdkError> {
        Ok(self.shared.chain()?.ledger().next_tick())
    }

    pub(crate) fn balance(&self, id: &Identity) -> Result<Amount, SdkError> {
        Ok(self.shared.chain()?.ledger().balance(id))
    }

    pub(crate) fn broadcast(&self, tx: Transaction) -> Result<TxId, SdkError> {
        let verified = VerifiedTx::verify(tx).map_err(comqute_node::ApiError::from)?;
        Ok(self.shared.chain()?.submit_verified(verified)?)
    }

    pub(crate) fn receipt(&self, id: &TxId) -> Result<Option<ReceiptView>, SdkError> {
        Ok(self.shared.chain()?.receipt(id)?)
    }

    pub(crate) fn query_raw(
        &self,
        contract: ContractIndex,
        input_type: u16,
        input: &[u8],
    ) -> Result<Vec<u8>, SdkError> {
        self.shared
            .chain()?
            .ledger()
            .query_raw(contract, input_type, input)
            .map_err(|e| comqute_node::ApiError::from(e).into())
    }

    pub(crate) fn events(&self, after: u64, limit: usize) -> Result<Vec<EventView>, SdkError> {
        Ok(comqute_node::api::events::event_views(
            &*self.shared.chain()?,
            after,
            limit,
        )?)
    }

    pub(crate) fn contracts(&self) -> Result<Vec<crate::wire::ContractInfo>, SdkError> {
        Ok(comqute_node::contracts::list(
            self.shared.chain()?.ledger().registry(),
        ))
    }

    pub(crate) fn encode_call(
        &self,
        contract: &str,
        req: &crate::wire::EncodeCallRequest,
    ) -> Result<crate::wire::EncodeCallResponse, SdkError> {
        comqute_node::contracts::encode_call(
            self.shared.chain()?.ledger().registry(),
            contract,
            req,
        )
        .map_err(|e| SdkError::from(comqute_node::ApiError::from(e)))
    }

    pub(crate) fn query_json(
        &self,
        contract: &str,
        req: &crate::wire::ContractQueryRequest,
    ) -> Result<crate::wire::ContractQueryResponse, SdkError> {
        comqute_node::contracts::query_json(self.shared.chain()?.ledger(), contract, req)
            .map_err(|e| SdkError::from(comqute_node::ApiError::from(e)))
    }

    pub(crate) fn events_head(&self) -> Result<u64, SdkError> {
        Ok(self.shared.chain()?.events_head())
    }

    pub(crate) fn put_blob(&self, body: &[u8]) -> Result<Hash32, SdkError> {
        let limit = self.shared.config.max_blob_bytes;
        if body.len() > limit {
            return Err(comqute_node::ApiError::TooLarge {
                size: body.len(),
                limit,
            }
            .into());
        }
        Ok(self.shared.blobs.put(body)?)
    }

    pub(crate) fn get_blob(&self, h: &Hash32) -> Result<Option<Vec<u8>>, SdkError> {
        Ok(self.shared.blobs.get(h)?)
    }

    pub(crate) fn faucet(&self, id: &Identity, amount: Amount) -> Result<Amount, SdkError> {
        let mut c = self.shared.chain()?;
        c.fund(id, amount)?;
        Ok(c.ledger().balance(id))
    }

    pub(crate) fn warp_to(&self, target: Tick) -> Result<Tick, SdkError> {
        self.with_ledger(|l| l.warp_to_tick(target))??;
        Ok(Tick(self.next_tick()?.0.saturating_sub(1)))
    }

    pub(crate) fn push_tokens(
        &self,
        job_id: u64,
        push: &TokenPush,
    ) -> Result<TokenPushResponse, SdkError> {
        if push.text.len() > self.shared.config.max_stream_bytes {
            return Err(comqute_node::ApiError::TooLarge {
                size: push.text.len(),
                limit: self.shared.config.max_stream_bytes,
            }
            .into());
        }
        comqute_node::tokens::authorize(self.shared.chain()?.ledger(), job_id, push)?;
        let p = self
            .shared
            .tokens
            .push(job_id, push.seq, &push.text, push.done)?;
        Ok(TokenPushResponse {
            job_id,
            next: p.next,
            done: p.done,
        })
    }

    pub(crate) fn token_page(&self, job_id: u64) -> Result<TokenPage, SdkError> {
        comqute_node::tokens::job(self.shared.chain()?.ledger(), job_id)?;
        let (chunks, done) = match self.shared.tokens.get(job_id)? {
            Some(s) => s.read_from(0)?,
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

    /// Waits until a tick is processed (by someone else), or `OnDemand`: processes one.
    pub(crate) async fn advance(&self, poll: std::time::Duration) -> Result<(), SdkError> {
        match self.mode {
            TickMode::OnDemand => {
                self.tick()?;
                tokio::task::yield_now().await;
            }
            TickMode::Manual => {
                let mut rx = self.shared.tick_tx.subscribe();
                let _ = tokio::time::timeout(poll * 4, rx.changed()).await;
            }
        }
        Ok(())
    }

    /// Events from `after` on, polling the log whenever a tick is processed.
    pub(crate) fn subscribe_events(&self, after: u64) -> Subscription<EventView> {
        let (tx, rx) = mpsc::channel(256);
        let me = self.clone();
        let task = tokio::spawn(async move {
            let mut ticks = me.shared.tick_tx.subscribe();
            let mut cursor = after;
            loop {
                let page = match me.events(cursor, 1000) {
                    Ok(p) => p,
                    Err(e) => {
                        let _ = tx.send(Err(e)).await;
                        return;
                    }
                };
                let full = page.len() == 1000;
                for e in page {
                    cursor = e.seq + 1;
                    if tx.send(Ok(e)).await.is_err() {
                        return;
                    }
                }
                if !full && ticks.changed().await.is_err() {
                    return;
                }
            }
        });
        Subscription::new(rx, task)
    }

    fn open_stream(&self, job_id: u64) -> Result<Arc<comqute_node::tokens::TokenStream>, SdkError> {
        comqute_node::tokens::job(self.shared.chain()?.ledger(), job_id)?;
        Ok(self.shared.tokens.get_or_create(job_id)?)
    }

    /// A job's tokens: what was pushed, then live chunks, then its end.
    pub(crate) fn subscribe_tokens(&self, job_id: u64) -> Subscription<TokenEvent> {
        let (tx, rx) = mpsc::channel(256);
        let me = self.clone();
        let task = tokio::spawn(async move {
            let opened = me.open_stream(job_id);
            let stream = match opened {
                Ok(s) => s,
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                    return;
                }
            };
            let mut changes = stream.subscribe();
            let mut ticks = me.shared.tick_tx.subscribe();
            let mut next = 0u32;
            loop {
                let (chunks, done) = match stream.read_from(next) {
                    Ok(r) => r,
                    Err(e) => {
                        let _ = tx.send(Err(e.into())).await;
                        return;
                    }
                };
                for c in chunks {
                    next = c.seq + 1;
                    if tx.send(Ok(TokenEvent::Chunk(c))).await.is_err() {
                        return;
                    }
                }
                if done {
                    let _ = tx.send(Ok(TokenEvent::Done { chunks: next })).await;
                    return;
                }
                tokio::select! {
                    r = changes.changed() => if r.is_err() { return },
                    r = ticks.changed() => {
                        if r.is_err() {
                            return;
                        }
                        let status = me
                            .shared
                            .chain()
                            .and_then(|c| comqute_node::tokens::job(c.ledger(), job_id))
                            .map(|j| j.status);
                        if let Ok(st) = status {
                            if st.is_terminal() {
                                let (rest, done) = stream.read_from(next).unwrap_or_default();
                                for c in rest {
                                    next = c.seq + 1;
                                    if tx.send(Ok(TokenEvent::Chunk(c))).await.is_err() {
                                        return;
                                    }
                                }
                                let end = if done {
                                    TokenEvent::Done { chunks: next }
                                } else {
                                    TokenEvent::End { chunks: next, status: st.name().to_string() }
                                };
                                let _ = tx.send(Ok(end)).await;
                                return;
                            }
                        }
                    }
                }
            }
        });
        Subscription::new(rx, task)
    }
}

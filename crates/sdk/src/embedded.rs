//! The embedded transport: a ledger in this process behind the node's own services
//! ([`comqute_node::NodeState`]: the chain, blob store and token streams, with the node's
//! rules), called directly, without HTTP. A refusal is [`SdkError::Service`] with the code a
//! remote node answers with.
//!
//! Ticks run when the caller says so: in [`TickMode::OnDemand`] (the default) a wait that
//! needs time to pass (a receipt, a job's result) processes ticks itself; in
//! [`TickMode::Manual`] waits only watch, and the caller (or another task) drives ticks with
//! [`Embedded::tick`] or [`Embedded::with_ledger`].

use std::sync::Arc;

use comqute_ledger::{Ledger, Transaction, TxId};
use comqute_node::chain::{Chain, Warp};
use comqute_node::tokens::TokenFeed;
use comqute_node::wire::{
    EventView, ReceiptView, TickInfo, TokenPage, TokenPush, TokenPushResponse,
};
use comqute_node::{NodeConfig, NodeState, ServiceError};
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
    state: Arc<NodeState>,
    mode: TickMode,
}

impl std::fmt::Debug for Embedded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedded")
            .field("mode", &self.mode)
            .finish()
    }
}

/// A subscription fed by a service's feed, each item converted by `f`.
fn forward<T, U>(
    mut feed: mpsc::Receiver<Result<T, ServiceError>>,
    f: impl Fn(T) -> U + Send + 'static,
) -> Subscription<U>
where
    T: Send + 'static,
    U: Send + 'static,
{
    let (tx, rx) = mpsc::channel(256);
    let task = tokio::spawn(async move {
        while let Some(item) = feed.recv().await {
            if tx.send(item.map(&f).map_err(SdkError::from)).await.is_err() {
                return;
            }
        }
    });
    Subscription::new(rx, task)
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
            state: NodeState::new(Chain::Memory(Box::new(ledger)), config),
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

    /// The node's services behind it (chain, blobs, token streams).
    pub fn state(&self) -> &Arc<NodeState> {
        &self.state
    }

    /// Processes the next tick now.
    pub fn tick(&self) -> Result<Tick, SdkError> {
        Ok(self.state.chain.process_tick()?)
    }

    /// Runs `f` on the ledger (harness powers: fund, warp, snapshot, inspect). Waiters see
    /// any ticks it processed.
    pub fn with_ledger<R>(&self, f: impl FnOnce(&mut Ledger) -> R) -> Result<R, SdkError> {
        self.state.chain.with_chain(|c| match c {
            Chain::Memory(l) => Ok(f(l)),
            Chain::Durable(_) => Err(SdkError::Invalid(
                "the embedded transport holds an in-memory ledger".into(),
            )),
        })?
    }

    pub(crate) fn tick_info(&self) -> Result<TickInfo, SdkError> {
        Ok(self.state.chain.tick_info()?)
    }

    pub(crate) fn next_tick(&self) -> Result<Tick, SdkError> {
        Ok(self.state.chain.next_tick()?)
    }

    pub(crate) fn balance(&self, id: &Identity) -> Result<Amount, SdkError> {
        Ok(Amount(self.state.chain.balance(id)?.balance))
    }

    pub(crate) fn broadcast(&self, tx: Transaction) -> Result<TxId, SdkError> {
        Ok(self.state.chain.broadcast(tx)?)
    }

    pub(crate) fn receipt(&self, id: &TxId) -> Result<Option<ReceiptView>, SdkError> {
        Ok(self.state.chain.receipt(id)?)
    }

    pub(crate) fn query_raw(
        &self,
        contract: ContractIndex,
        input_type: u16,
        input: &[u8],
    ) -> Result<Vec<u8>, SdkError> {
        Ok(self.state.chain.query(contract, input_type, input)?)
    }

    pub(crate) fn events(&self, after: u64, limit: usize) -> Result<Vec<EventView>, SdkError> {
        Ok(self.state.chain.events(after, limit)?)
    }

    pub(crate) fn contracts(&self) -> Result<Vec<crate::wire::ContractView>, SdkError> {
        Ok(self.state.chain.contracts()?)
    }

    pub(crate) fn encode_call(
        &self,
        contract: &str,
        req: &crate::wire::EncodeCallRequest,
    ) -> Result<crate::wire::EncodeCallResponse, SdkError> {
        Ok(self.state.chain.encode_call(contract, req)?)
    }

    pub(crate) fn query_json(
        &self,
        contract: &str,
        req: &crate::wire::ContractQueryRequest,
    ) -> Result<crate::wire::ContractQueryResponse, SdkError> {
        Ok(self.state.chain.query_json(contract, req)?)
    }

    pub(crate) fn events_head(&self) -> Result<u64, SdkError> {
        Ok(self.state.chain.events_head()?)
    }

    pub(crate) fn put_blob(&self, body: &[u8]) -> Result<Hash32, SdkError> {
        Ok(self.state.blobs.put(body)?)
    }

    pub(crate) fn get_blob(&self, h: &Hash32) -> Result<Option<Vec<u8>>, SdkError> {
        Ok(self.state.blobs.get(h)?)
    }

    pub(crate) fn faucet(&self, id: &Identity, amount: Amount) -> Result<Amount, SdkError> {
        Ok(self.state.chain.faucet(id, amount)?)
    }

    pub(crate) fn warp(&self, warp: Warp) -> Result<Tick, SdkError> {
        Ok(self.state.chain.warp(warp)?)
    }

    pub(crate) fn push_tokens(
        &self,
        job_id: u64,
        push: &TokenPush,
    ) -> Result<TokenPushResponse, SdkError> {
        Ok(self.state.tokens.push(&self.state.chain, job_id, push)?)
    }

    pub(crate) fn token_page(&self, job_id: u64) -> Result<TokenPage, SdkError> {
        Ok(self.state.tokens.page(&self.state.chain, job_id)?)
    }

    /// Waits until a tick is processed (by someone else), or `OnDemand`: processes one.
    pub(crate) async fn advance(&self, poll: std::time::Duration) -> Result<(), SdkError> {
        match self.mode {
            TickMode::OnDemand => {
                self.tick()?;
                tokio::task::yield_now().await;
            }
            TickMode::Manual => {
                let mut rx = self.state.chain.subscribe();
                let _ = tokio::time::timeout(poll * 4, rx.changed()).await;
            }
        }
        Ok(())
    }

    /// Events from `after` on, then live ones as ticks are processed.
    pub(crate) fn subscribe_events(&self, after: u64) -> Subscription<EventView> {
        forward(self.state.chain.follow_events(after, None), |e| e)
    }

    /// A job's tokens: what was pushed, then live chunks, then its end.
    pub(crate) fn subscribe_tokens(&self, job_id: u64) -> Subscription<TokenEvent> {
        match self.state.tokens.follow(&self.state.chain, job_id, 0, None) {
            Ok(feed) => forward(feed, |item| match item {
                TokenFeed::Chunk(c) => TokenEvent::Chunk(c),
                TokenFeed::End(end) => match end.status {
                    None => TokenEvent::Done { chunks: end.chunks },
                    Some(status) => TokenEvent::End {
                        chunks: end.chunks,
                        status,
                    },
                },
            }),
            Err(e) => {
                let (tx, rx) = mpsc::channel(1);
                let task = tokio::spawn(async move {
                    let _ = tx.send(Err(SdkError::from(e))).await;
                });
                Subscription::new(rx, task)
            }
        }
    }
}

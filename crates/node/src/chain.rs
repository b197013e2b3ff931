//! The ledger behind the node: [`Chain`], durable (a data directory) or in memory behind one
//! face, and [`ChainService`], the chain behind its lock with everything the node tells and
//! does with it: tick info, balances, broadcasts, transaction status and receipts, contract
//! queries, the marketplace's jobs, workers and statistics, events, ticking, and the devnet
//! powers (faucet, warp, unsigned broadcasts).

use comqute_market::{JobId, WorkerId};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::wire::{
    event_view, ApprovedTx, BalanceInfo, ContractView, EventView, JobEscrowView, JobFilter,
    JobIndex, JobView, JobsPage, NetworkStatsView, ReceiptView, TickInfo, WarpRequest, WorkerView,
    WorkersPage,
};
use comqute_ledger::durable::{DurableLedger, PendingSync, TxOutcome, TxRecord, TxState};
use comqute_ledger::{Event, Ledger, Transaction, TxId, TxLookup, TxStatus, VerifiedTx};
use comqute_market::escrow::JobEscrow;
use comqute_market::job_registry::{
    Job, JobPage, JobRef, JobsByRequester, JobsByStatus, JobsByWorker, NetworkStats, GET_JOB,
    JOBS_BY_REQUESTER, JOBS_BY_STATUS, JOBS_BY_WORKER, JOB_ESCROW, NETWORK_STATS,
};
use comqute_market::worker_registry::{
    WorkerInfo, WorkerPage, WorkerQuery, WorkersByModel, GET_WORKER, MODEL_NAME, WORKERS_BY_MODEL,
};
use comqute_market::JOB_REGISTRY;
use comqute_qpi::{Amount, ContractIndex, Hash32, Identity, Tick};
use tokio::sync::{mpsc, watch};

use crate::error::ServiceError;
use crate::wire::pools::{
    KitJson, LargeJobDetail, LargeJobsPage, PoolDetail, PoolsPage, PriceEstimate, PricesPage,
};

/// A durable or in-memory ledger.
pub enum Chain {
    /// In memory: everything is lost on exit.
    Memory(Box<Ledger>),
    /// Backed by a data directory.
    Durable(Box<DurableLedger>),
}

/// What the node tells about a transaction (the wire type).
pub type TxView = crate::wire::TxStatusView;

impl Chain {
    /// The ledger, for reading.
    pub fn ledger(&self) -> &Ledger {
        match self {
            Chain::Memory(l) => l,
            Chain::Durable(d) => d.ledger(),
        }
    }

    /// Queues a verified transaction.
    pub fn submit_verified(&mut self, tx: VerifiedTx) -> Result<TxId, ServiceError> {
        Ok(match self {
            Chain::Memory(l) => l.submit_verified(tx)?,
            Chain::Durable(d) => d.submit_verified(tx)?,
        })
    }

    /// **Devnet power**: queues a transaction without checking its signature.
    pub fn submit_unsigned(&mut self, tx: Transaction) -> Result<TxId, ServiceError> {
        Ok(match self {
            Chain::Memory(l) => l.submit_unsigned(tx)?,
            Chain::Durable(d) => d.submit_unsigned(tx)?,
        })
    }

    /// Submissions accepted so far: the ticket [`Chain::make_durable`] takes (0 in memory).
    pub fn accepted(&self) -> u64 {
        match self {
            Chain::Memory(_) => 0,
            Chain::Durable(d) => d.accepted(),
        }
    }

    /// Writes the first `upto` submissions to the log; returns the sync still owed, to be
    /// waited for outside the lock (nothing in memory).
    pub fn make_durable(&mut self, upto: u64) -> Result<Option<PendingSync>, ServiceError> {
        Ok(match self {
            Chain::Memory(_) => None,
            Chain::Durable(d) => d.make_durable(upto)?,
        })
    }

    /// Processes the next tick (logging it first when durable).
    pub fn process_tick(&mut self) -> Result<Tick, ServiceError> {
        Ok(match self {
            Chain::Memory(l) => l.process_tick()?,
            Chain::Durable(d) => d.process_tick()?,
        })
    }

    /// Devnet faucet.
    pub fn fund(&mut self, id: &Identity, amount: Amount) -> Result<(), ServiceError> {
        match self {
            Chain::Memory(l) => l.fund(id, amount)?,
            Chain::Durable(d) => d.fund(id, amount)?,
        }
        Ok(())
    }

    /// Devnet warp.
    pub fn warp_to_tick(&mut self, t: Tick) -> Result<(), ServiceError> {
        match self {
            Chain::Memory(l) => l.warp_to_tick(t)?,
            Chain::Durable(d) => d.warp_to_tick(t)?,
        }
        Ok(())
    }

    /// Flushes the log (on shutdown).
    pub fn flush(&mut self) -> Result<(), ServiceError> {
        if let Chain::Durable(d) = self {
            d.flush()?;
        }
        Ok(())
    }

    /// What is known of a transaction, across restarts when durable.
    pub fn tx_status(&self, id: &TxId) -> Result<Option<TxView>, ServiceError> {
        let view =
            |tick: Tick, status: &'static str, money_flew: bool, error: Option<String>| TxView {
                tx_id: id.to_string(),
                money_flew,
                tick_number: tick.0,
                status: status.to_string(),
                error,
            };
        Ok(match self {
            Chain::Memory(l) => match l.lookup(id) {
                TxLookup::Pending(t) => Some(view(t, "pending", false, None)),
                TxLookup::Unknown => None,
                TxLookup::Done(r) => {
                    let error = match &r.status {
                        TxStatus::Executed => None,
                        TxStatus::Failed { error } => Some(error.to_string()),
                        TxStatus::Dropped { reason } => Some(reason.to_string()),
                    };
                    Some(view(r.tick, r.status.name(), r.money_flew, error))
                }
            },
            Chain::Durable(d) => match d.tx_status(id)? {
                TxState::Pending(t) => Some(view(t, "pending", false, None)),
                TxState::Unknown => None,
                TxState::Done(r) => {
                    let error = match &r.outcome {
                        TxOutcome::Executed => None,
                        TxOutcome::Failed { error } => Some(error.to_string()),
                        TxOutcome::Dropped { reason } => Some(reason.clone()),
                    };
                    Some(view(r.tick, r.outcome.name(), r.money_flew, error))
                }
            },
        })
    }

    /// A transaction's receipt: complete (output, events numbered like
    /// [`Chain::events_since`]) for transactions processed since start-up, the outcome alone
    /// for older ones on a durable ledger.
    pub fn receipt(&self, id: &TxId) -> Result<Option<ReceiptView>, ServiceError> {
        let ledger = self.ledger();
        let base = match self {
            Chain::Memory(_) => 0,
            Chain::Durable(d) => d.events_total() - ledger.events().len() as u64,
        };
        let registry = ledger.registry();
        let describe = |c: comqute_qpi::ContractIndex, data: &[u8]| {
            registry
                .get(c)
                .map(|k| crate::wire::described(k.as_ref(), data))
        };
        let error_fields = |e: Option<&comqute_qpi::ContractError>| match e {
            Some(e) => (
                e.code(),
                match e {
                    comqute_qpi::ContractError::Rejected { name, .. } => Some(name.clone()),
                    _ => None,
                },
                Some(hex::encode(borsh::to_vec(e).unwrap_or_default())),
            ),
            None => (None, None, None),
        };
        if let TxLookup::Done(r) = ledger.lookup(id) {
            let (error_code, error_name, error_hex) = error_fields(r.error());
            let error = match &r.status {
                TxStatus::Executed => None,
                TxStatus::Failed { error } => Some(error.to_string()),
                TxStatus::Dropped { reason } => Some(reason.to_string()),
            };
            let (procedure, output) = match crate::contracts::describe_call(
                registry,
                &r.destination,
                r.input_type,
                &r.output,
            ) {
                Some((name, out)) => (Some(name), out.filter(|_| r.error().is_none())),
                None => (None, None),
            };
            return Ok(Some(ReceiptView {
                procedure,
                output,
                tx_id: id.to_string(),
                tick_number: r.tick.0,
                status: r.status.name().to_string(),
                money_flew: r.money_flew,
                error,
                error_code,
                error_name,
                error_hex,
                output_hex: hex::encode(&r.output),
                events: r
                    .events
                    .iter()
                    .map(|e| {
                        let mut e = e.clone();
                        e.seq += base;
                        event_view(&e, describe)
                    })
                    .collect(),
                full: true,
            }));
        }
        let failed = match self {
            Chain::Durable(d) => match d.tx_status(id)? {
                TxState::Done(TxRecord {
                    outcome: TxOutcome::Failed { error },
                    ..
                }) => Some(error),
                _ => None,
            },
            Chain::Memory(_) => None,
        };
        let (error_code, error_name, error_hex) = error_fields(failed.as_ref());
        Ok(self.tx_status(id)?.map(|v| ReceiptView {
            tx_id: v.tx_id,
            tick_number: v.tick_number,
            full: false,
            status: v.status,
            money_flew: v.money_flew,
            error: v.error,
            error_code,
            error_name,
            error_hex,
            output_hex: String::new(),
            procedure: None,
            output: None,
            events: Vec::new(),
        }))
    }

    /// The number the next event will get (events so far, across restarts when durable).
    pub fn events_head(&self) -> u64 {
        match self {
            Chain::Memory(l) => l.events_trimmed() + l.events().len() as u64,
            Chain::Durable(d) => d.events_total(),
        }
    }

    /// Up to `limit` events numbered `>= cursor` (numbers stable across restarts).
    pub fn events_since(&self, cursor: u64, limit: usize) -> Result<Vec<Event>, ServiceError> {
        Ok(match self {
            Chain::Memory(l) => l.events_since(cursor).iter().take(limit).collect(),
            Chain::Durable(d) => d.events_since(cursor, limit)?,
        })
    }

    /// The transaction ids of a processed tick, in slot order (`None`: nothing ran in it or it
    /// is not processed yet).
    pub fn tick_transactions(&self, tick: Tick) -> Result<Option<Vec<TxId>>, ServiceError> {
        Ok(match self {
            Chain::Memory(l) => l.tick_summary(tick).map(|s| s.transactions),
            Chain::Durable(d) => d.tick_record(tick)?.map(|r| r.transactions),
        })
    }
}

impl Chain {
    /// A processed tick's digests and event count (`None`: nothing ran in it, or its
    /// summary is gone from memory and the chain keeps no index).
    pub fn tick_check(&self, tick: Tick) -> Result<Option<TickDigests>, ServiceError> {
        let l = self.ledger();
        if let Some(s) = l.tick_summary(tick) {
            // The node's ledger digests per tick, so its summaries carry both.
            if let (Some(digest), Some(state_digest)) = (s.digest, s.state_digest) {
                return Ok(Some(TickDigests {
                    digest,
                    state_digest,
                    receipts_digest: s.receipts_digest,
                    event_count: s.event_count,
                }));
            }
        }
        Ok(match self {
            Chain::Memory(_) => None,
            Chain::Durable(d) => d.tick_record(tick)?.map(|r| TickDigests {
                digest: r.check.digest,
                state_digest: r.check.state_digest,
                receipts_digest: r.check.receipts_digest,
                event_count: 0,
            }),
        })
    }

    /// A processed transaction briefly: who, what, how it ended (`None`: unknown or pending).
    pub fn tx_brief(
        &self,
        id: &TxId,
    ) -> Result<Option<crate::wire::explorer::TxBrief>, ServiceError> {
        let registry = self.ledger().registry();
        let procedure = |dest: &Identity, input_type: u16| {
            dest.contract_index()
                .and_then(|i| registry.get(i))
                .and_then(|c| {
                    c.meta()
                        .procedure_number(input_type)
                        .map(|e| e.name.to_string())
                })
        };
        let brief = |status: &str, error: Option<String>, r: (Identity, Identity, Amount, u16)| {
            crate::wire::explorer::TxBrief {
                tx_id: id.to_string(),
                status: status.to_string(),
                source: Some(r.0),
                destination: Some(r.1),
                amount: r.2,
                input_type: r.3,
                procedure: procedure(&r.1, r.3),
                error,
            }
        };
        if let TxLookup::Done(r) = self.ledger().lookup(id) {
            let error = match &r.status {
                TxStatus::Executed => None,
                TxStatus::Failed { error } => Some(error.to_string()),
                TxStatus::Dropped { reason } => Some(reason.to_string()),
            };
            let parts = (r.source, r.destination, r.amount, r.input_type);
            return Ok(Some(brief(r.status.name(), error, parts)));
        }
        Ok(match self {
            Chain::Memory(_) => None,
            Chain::Durable(d) => match d.tx_status(id)? {
                TxState::Done(r) => {
                    let error = match &r.outcome {
                        TxOutcome::Executed => None,
                        TxOutcome::Failed { error } => Some(error.to_string()),
                        TxOutcome::Dropped { reason } => Some(reason.clone()),
                    };
                    let parts = (r.source, r.destination, r.amount, r.input_type);
                    Some(brief(r.outcome.name(), error, parts))
                }
                _ => None,
            },
        })
    }
}

/// A processed tick's digests ([`Chain::tick_check`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TickDigests {
    /// The chained tick digest.
    pub digest: Hash32,
    /// The state digest after it.
    pub state_digest: Hash32,
    /// The digest of its receipts and events.
    pub receipts_digest: Hash32,
    /// Events it emitted (0 when only the durable index knows the tick).
    pub event_count: u64,
}

impl Chain {
    /// Events `>= cursor` as the node shows them: raw hex, and rendered by the emitting
    /// contract's own description.
    pub fn event_views(&self, cursor: u64, limit: usize) -> Result<Vec<EventView>, ServiceError> {
        let evs = self.events_since(cursor, limit)?;
        let registry = self.ledger().registry();
        Ok(evs
            .iter()
            .map(|e| {
                event_view(e, |i, data| {
                    registry
                        .get(i)
                        .map(|k| crate::wire::described(k.as_ref(), data))
                })
            })
            .collect())
    }
}

/// The largest page of events one call returns.
pub const MAX_EVENT_PAGE: usize = 1000;

/// How far a devnet warp goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Warp {
    /// Run ticks until this one is next.
    To(Tick),
    /// Run this many ticks.
    By(u32),
}

impl Warp {
    /// From a warp body: exactly one of `tick` or `ticks`.
    pub fn from_request(w: &WarpRequest) -> Result<Warp, ServiceError> {
        match (w.tick, w.ticks) {
            (Some(t), None) => Ok(Warp::To(Tick(t))),
            (None, Some(n)) => Ok(Warp::By(n)),
            _ => Err(ServiceError::BadParam {
                name: "tick",
                detail: "give exactly one of tick or ticks".into(),
            }),
        }
    }

    /// The tick to warp to, given the next tick: at or after `next`, within the tick range.
    pub fn target(self, next: Tick) -> Result<Tick, ServiceError> {
        let target = match self {
            Warp::To(t) => t,
            // Past the last tick is a bad request, not the node's failure (it was a 500
            // `ledger_error` before the `node_json` fuzz check flagged it).
            Warp::By(n) => Tick(
                next.0
                    .checked_add(n)
                    .ok_or_else(|| ServiceError::BadParam {
                        name: "ticks",
                        detail: format!("{n} ticks from tick {next} is past the last tick"),
                    })?,
            ),
        };
        if target < next {
            return Err(ServiceError::BadParam {
                name: "tick",
                detail: format!("tick {} is past; the next tick is {next}", target.0),
            });
        }
        Ok(target)
    }
}

/// The amount a devnet faucet may create at once: 1 to 10^15.
pub fn faucet_amount(n: i64) -> Result<Amount, ServiceError> {
    if n > 0 && n <= comqute_qpi::MAX_AMOUNT {
        Ok(Amount(n))
    } else {
        Err(ServiceError::BadParam {
            name: "amount",
            detail: format!("{n} is not an amount between 1 and 10^15"),
        })
    }
}

/// The chain behind its lock, and what the node tells and does with it. Every method holds
/// the lock for one ledger call; the ones that process ticks tell the tick watchers
/// ([`ChainService::subscribe`]).
pub struct ChainService {
    chain: Mutex<Chain>,
    /// The last processed tick.
    ticks: watch::Sender<Tick>,
    tick_ms: u64,
    devnet: bool,
    /// Why ticking stopped, once it has: transactions are then refused with it.
    halted: Mutex<Option<String>>,
    /// The most transactions one identity may have pending.
    max_pending: usize,
    /// The newest transactions received, for their decoded input.
    kept: crate::explorer::TxKeep,
    /// The ledger's profile: which signatures verify and how ids are made.
    profile: comqute_qpi::Profile,
}

pub(crate) fn last_processed(l: &Ledger) -> Tick {
    Tick(l.next_tick().0.saturating_sub(1))
}

impl ChainService {
    /// The service around an open chain; `tick_ms` is what tick info reports as the tick
    /// length, `devnet` turns the devnet powers on.
    pub fn new(chain: Chain, tick_ms: u64, devnet: bool) -> ChainService {
        let (ticks, _) = watch::channel(last_processed(chain.ledger()));
        let profile = chain.ledger().config().profile;
        ChainService {
            chain: Mutex::new(chain),
            ticks,
            tick_ms,
            devnet,
            halted: Mutex::new(None),
            max_pending: usize::MAX,
            kept: crate::explorer::TxKeep::default(),
            profile,
        }
    }

    /// At most `n` transactions pending per source identity (default: no cap).
    pub fn with_max_pending(mut self, n: usize) -> ChainService {
        self.max_pending = n;
        self
    }

    /// Refuses a transaction whose source already has its share of the pending pool.
    fn check_pending(&self, chain: &Chain, source: &Identity) -> Result<(), ServiceError> {
        let pending = chain.ledger().pending_from(source);
        if pending >= self.max_pending {
            return Err(ServiceError::TooManyPending {
                identity: *source,
                limit: self.max_pending,
            });
        }
        Ok(())
    }

    /// Records that ticking stopped, and why: every broadcast is refused with the reason
    /// from now on ([`ServiceError::Halted`]), instead of being queued for a tick that never
    /// comes.
    pub fn halt(&self, reason: String) {
        if let Ok(mut h) = self.halted.lock() {
            h.get_or_insert(reason);
        }
    }

    /// Why ticking stopped, if it has.
    pub fn halted(&self) -> Option<String> {
        self.halted.lock().ok().and_then(|h| h.clone())
    }

    fn require_ticking(&self) -> Result<(), ServiceError> {
        match self.halted() {
            Some(reason) => Err(ServiceError::Halted(reason)),
            None => Ok(()),
        }
    }

    fn lock(&self) -> Result<MutexGuard<'_, Chain>, ServiceError> {
        self.chain
            .lock()
            .map_err(|_| ServiceError::poisoned("ledger"))
    }

    /// `devnet_only` unless the devnet powers are on (`what` names the power).
    pub fn require_devnet(&self, what: &'static str) -> Result<(), ServiceError> {
        if self.devnet {
            Ok(())
        } else {
            Err(ServiceError::DevnetOnly(what))
        }
    }

    /// Tells the tick watchers the last processed tick, if it changed.
    fn announce(&self, last: Tick) {
        self.ticks.send_if_modified(|t| {
            let changed = *t != last;
            *t = last;
            changed
        });
    }

    /// Whether the devnet powers are on.
    pub fn is_devnet(&self) -> bool {
        self.devnet
    }

    /// A receiver of the last processed tick, changed whenever a tick is processed.
    pub fn subscribe(&self) -> watch::Receiver<Tick> {
        self.ticks.subscribe()
    }

    /// Runs `f` on the ledger, for reading.
    pub fn read<R>(&self, f: impl FnOnce(&Ledger) -> R) -> Result<R, ServiceError> {
        Ok(f(self.lock()?.ledger()))
    }

    /// **Harness power**: runs `f` on the chain itself (fund, warp, snapshot on an embedded
    /// ledger); the tick watchers see any ticks it processed.
    pub fn with_chain<R>(&self, f: impl FnOnce(&mut Chain) -> R) -> Result<R, ServiceError> {
        let mut c = self.lock()?;
        let out = f(&mut c);
        let last = last_processed(c.ledger());
        drop(c);
        self.announce(last);
        Ok(out)
    }

    /// The tick a transaction sent now may name first.
    pub fn next_tick(&self) -> Result<Tick, ServiceError> {
        self.read(|l| l.next_tick())
    }

    /// The last processed tick, its epoch and the tick length.
    pub fn tick_info(&self) -> Result<TickInfo, ServiceError> {
        self.read(|l| {
            let tick = last_processed(l);
            TickInfo {
                tick: tick.0,
                duration: u32::try_from(self.tick_ms).unwrap_or(u32::MAX),
                epoch: l.epoch_of(tick).0,
                initial_tick: l.config().genesis_tick.0,
            }
        })
    }

    /// An identity's balance record.
    pub fn balance(&self, id: &Identity) -> Result<BalanceInfo, ServiceError> {
        self.read(|l| {
            let a = l.account(id);
            BalanceInfo {
                id: id.to_string(),
                balance: a.balance,
                valid_for_tick: last_processed(l).0,
                latest_incoming_transfer_tick: a.latest_incoming_transfer_tick,
                latest_outgoing_transfer_tick: a.latest_outgoing_transfer_tick,
                incoming_amount: a.incoming_amount,
                outgoing_amount: a.outgoing_amount,
                number_of_incoming_transfers: a.number_of_incoming_transfers,
                number_of_outgoing_transfers: a.number_of_outgoing_transfers,
            }
        })
    }

    /// Checks the signature (~50 µs of curve arithmetic, before the lock is taken), queues
    /// the transaction for its tick and, on a durable chain, returns only once it is in the
    /// synced log ([`ChainService::make_durable`]): what was answered for survives a crash.
    pub fn broadcast(&self, tx: Transaction) -> Result<TxId, ServiceError> {
        self.require_ticking()?;
        let verified = VerifiedTx::verify_in(tx, self.profile)?;
        // The copy kept for the explorer is made and stored outside the chain's lock.
        let kept = verified.tx().clone();
        let (id, ticket) = {
            let mut chain = self.lock()?;
            self.check_pending(&chain, &verified.tx().source)?;
            let id = chain.submit_verified(verified)?;
            (id, chain.accepted())
        };
        self.kept.keep(id, kept);
        self.make_durable(ticket)?;
        Ok(id)
    }

    /// **Devnet power**: queues a transaction without checking its signature (durable
    /// before it returns, as [`ChainService::broadcast`]).
    pub fn broadcast_unsigned(&self, tx: Transaction) -> Result<TxId, ServiceError> {
        self.require_devnet("unsigned broadcast")?;
        self.require_ticking()?;
        let kept = tx.clone();
        let (id, ticket) = {
            let mut chain = self.lock()?;
            self.check_pending(&chain, &tx.source)?;
            let id = chain.submit_unsigned(tx)?;
            (id, chain.accepted())
        };
        self.kept.keep(id, kept);
        self.make_durable(ticket)?;
        Ok(id)
    }

    /// Group commit: the lock is released between a submission and this, so the first of
    /// several concurrent broadcasts writes one record for all of them; the sync runs
    /// outside the lock, so ticks and reads do not wait on the disk.
    fn make_durable(&self, ticket: u64) -> Result<(), ServiceError> {
        if ticket == 0 {
            return Ok(());
        }
        let owed = self.lock()?.make_durable(ticket)?;
        if let Some(sync) = owed {
            sync.wait()?;
        }
        Ok(())
    }

    /// The ledger's profile.
    pub fn profile(&self) -> comqute_qpi::Profile {
        self.profile
    }

    /// A transaction this node received, when it is among the newest it keeps.
    pub fn kept(&self, id: &TxId) -> Option<Transaction> {
        self.kept.get(id)
    }

    /// What is known of a transaction (`None`: never seen).
    pub fn tx_status(&self, id: &TxId) -> Result<Option<TxView>, ServiceError> {
        self.lock()?.tx_status(id)
    }

    /// A transaction's receipt (`None`: never seen).
    pub fn receipt(&self, id: &TxId) -> Result<Option<ReceiptView>, ServiceError> {
        self.lock()?.receipt(id)
    }

    /// The transactions of a processed tick, in slot order, in Qubic's shape with their
    /// status (404 for a tick not processed yet).
    pub fn approved_transactions(&self, tick: Tick) -> Result<Vec<ApprovedTx>, ServiceError> {
        let c = self.lock()?;
        if tick >= c.ledger().next_tick() {
            return Err(ServiceError::NotFound(format!(
                "tick {} is not processed yet",
                tick.0
            )));
        }
        let ids = c.tick_transactions(tick)?.unwrap_or_default();
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(t) = crate::qubic_rpc::qubic_tx(&c, &id, self.kept.get(&id))? {
                out.push(t);
            }
        }
        Ok(out)
    }

    /// Runs a contract function against the current state, borsh in and out.
    pub fn query(
        &self,
        contract: ContractIndex,
        function: u16,
        input: &[u8],
    ) -> Result<Vec<u8>, ServiceError> {
        Ok(self.read(|l| l.query_raw(contract, function, input))??)
    }

    /// Every contract as it describes itself, ascending by index.
    pub fn contracts(&self) -> Result<Vec<ContractView>, ServiceError> {
        self.read(|l| {
            l.registry()
                .ascending()
                .map(|c| ContractView::new(c.as_ref()))
                .collect()
        })
    }

    /// Encodes a call of any contract's procedure by name with a JSON input
    /// ([`crate::contracts::encode_call`]).
    pub fn encode_call(
        &self,
        contract: &str,
        req: &crate::wire::EncodeCallRequest,
    ) -> Result<crate::wire::EncodeCallResponse, ServiceError> {
        self.read(|l| crate::contracts::encode_call(l.registry(), contract, req))?
            .map_err(ServiceError::from)
    }

    /// Runs any contract's function by name with a JSON input
    /// ([`crate::contracts::query_json`]).
    pub fn query_json(
        &self,
        contract: &str,
        req: &crate::wire::ContractQueryRequest,
    ) -> Result<crate::wire::ContractQueryResponse, ServiceError> {
        self.read(|l| crate::contracts::query_json(l, contract, req))?
            .map_err(ServiceError::from)
    }

    /// A job's record (404 when there is none).
    pub fn job_record(&self, id: u64) -> Result<Job, ServiceError> {
        self.read(|l| job_record(l, id))?
    }

    /// A job's view, with its model's name.
    pub fn job(&self, id: u64) -> Result<JobView, ServiceError> {
        self.read(|l| job_view(l, &job_record(l, id)?))?
    }

    /// Jobs matching `filter`, ascending by id: the walk of [`JobFilter::index`] (the SDK's
    /// listing walks the same), filtered by [`JobFilter::matches`], so a page may hold fewer
    /// than `limit` jobs when filters combine: follow `nextCursor` until it is null.
    pub fn jobs(
        &self,
        filter: &JobFilter,
        cursor: Option<u64>,
        limit: u16,
    ) -> Result<JobsPage, ServiceError> {
        self.read(|l| {
            let (jobs, next_cursor) = list_jobs(l, filter, cursor, limit)?;
            let jobs = jobs
                .iter()
                .map(|j| job_view(l, j))
                .collect::<Result<_, _>>()?;
            Ok(JobsPage { jobs, next_cursor })
        })?
    }

    /// A job's account in the escrow vault (404 when there is none).
    pub fn job_escrow(&self, id: u64) -> Result<JobEscrowView, ServiceError> {
        let e: Option<JobEscrow> =
            self.read(|l| l.query_fn(JOB_ESCROW, &JobRef { job_id: JobId(id) }))??;
        e.map(|e| JobEscrowView::from(&e))
            .ok_or_else(|| ServiceError::NotFound(format!("no escrow for job {id}")))
    }

    /// The workers serving a model, a page after `cursor`.
    pub fn workers(
        &self,
        model: Hash32,
        cursor: Option<u64>,
        limit: u16,
    ) -> Result<WorkersPage, ServiceError> {
        let page: WorkerPage = self.read(|l| {
            l.query_fn(
                WORKERS_BY_MODEL,
                &WorkersByModel {
                    model,
                    cursor,
                    limit,
                },
            )
        })??;
        Ok(WorkersPage {
            workers: page.workers.iter().map(WorkerView::from).collect(),
            next_cursor: page.next_cursor,
        })
    }

    /// A worker (404 when it never registered).
    pub fn worker(&self, id: &Identity) -> Result<WorkerView, ServiceError> {
        let info: Option<WorkerInfo> = self.read(|l| {
            l.query_fn(
                GET_WORKER,
                &WorkerQuery {
                    worker: WorkerId(*id),
                },
            )
        })??;
        info.map(|i| WorkerView::from(&i))
            .ok_or_else(|| ServiceError::NotFound(format!("no worker {id}")))
    }

    /// A page of pools after `cursor`.
    pub fn pools(&self, cursor: Option<u64>, limit: u16) -> Result<PoolsPage, ServiceError> {
        let page = self.read(|l| {
            l.query_fn(
                comqute_market::pools::POOLS,
                &comqute_market::pools::PoolsQuery { cursor, limit },
            )
        })??;
        Ok(KitJson(page))
    }

    /// One pool with its members (404 when there is none).
    pub fn pool(&self, id: u64) -> Result<PoolDetail, ServiceError> {
        let v: Option<comqute_market::pools::PoolView> = self.read(|l| {
            l.query_fn(
                comqute_market::pools::GET_POOL,
                &comqute_market::pools::PoolRef { pool: id },
            )
        })??;
        v.map(KitJson)
            .ok_or_else(|| ServiceError::NotFound(format!("no pool {id}")))
    }

    /// A page of large jobs still bidding, after `cursor`.
    pub fn large_jobs(
        &self,
        cursor: Option<u64>,
        limit: u16,
    ) -> Result<LargeJobsPage, ServiceError> {
        use comqute_market::job_registry::{OpenLargeJobs, OPEN_LARGE_JOBS};
        let page =
            self.read(|l| l.query_fn(OPEN_LARGE_JOBS, &OpenLargeJobs { cursor, limit }))??;
        Ok(KitJson(page))
    }

    /// One large job (404 when there is none).
    pub fn large_job(&self, id: u64) -> Result<LargeJobDetail, ServiceError> {
        use comqute_market::job_registry::{LargeJobRef, LargeJobView, GET_LARGE_JOB};
        let v: Option<LargeJobView> =
            self.read(|l| l.query_fn(GET_LARGE_JOB, &LargeJobRef { large_job_id: id }))??;
        v.map(KitJson)
            .ok_or_else(|| ServiceError::NotFound(format!("no large job {id}")))
    }

    /// A page of the models the price oracle has observed, after `cursor`.
    pub fn prices(&self, cursor: Option<Hash32>, limit: u16) -> Result<PricesPage, ServiceError> {
        let page = self.read(|l| {
            l.query_fn(
                comqute_market::price_oracle::MODELS,
                &comqute_market::price_oracle::ModelsQuery { cursor, limit },
            )
        })??;
        Ok(KitJson(page))
    }

    /// What a job of `model` would cost at the published prices.
    pub fn estimate(
        &self,
        model: &str,
        prompt_tokens: u32,
        max_output_tokens: u32,
    ) -> Result<PriceEstimate, ServiceError> {
        let e = self.read(|l| {
            l.query_fn(
                comqute_market::price_oracle::ESTIMATE,
                &comqute_market::price_oracle::EstimateQuery {
                    model: comqute_market::price_oracle::ModelRef::Name(model.to_string()),
                    prompt_tokens,
                    max_output_tokens,
                },
            )
        })??;
        Ok(KitJson(e))
    }

    /// Jobs per status, money totals and workers, as of the last processed tick.
    pub fn stats(&self) -> Result<NetworkStatsView, ServiceError> {
        self.read(|l| {
            let st: NetworkStats = l.query_fn(NETWORK_STATS, &())?;
            Ok(NetworkStatsView::new(&st, last_processed(l).0))
        })?
    }

    /// Up to `limit` events (at most [`MAX_EVENT_PAGE`]) numbered `after` or more.
    pub fn events(&self, after: u64, limit: usize) -> Result<Vec<EventView>, ServiceError> {
        self.lock()?
            .event_views(after, limit.clamp(1, MAX_EVENT_PAGE))
    }

    /// Every event numbered `after` or more, then live ones as ticks are processed. A
    /// failure is the last item. The feed runs on a task of its own (a tokio runtime is
    /// needed) until the receiver is dropped.
    /// A subscriber that leaves its next event untaken for `patience` is dropped (`None`:
    /// waited on, for in-process subscribers).
    pub fn follow_events(
        self: &Arc<Self>,
        after: u64,
        patience: Option<std::time::Duration>,
    ) -> mpsc::Receiver<Result<EventView, ServiceError>> {
        let mut ticks = self.subscribe();
        let me = self.clone();
        let (tx, rx) = mpsc::channel(256);
        tokio::spawn(async move {
            let mut cursor = after;
            loop {
                let page = match me.events(cursor, MAX_EVENT_PAGE) {
                    Ok(p) => p,
                    Err(e) => {
                        let _ = tx.send(Err(e)).await;
                        return;
                    }
                };
                let full = page.len() == MAX_EVENT_PAGE;
                for e in page {
                    cursor = e.seq + 1;
                    if !crate::limits::send_or_drop(&tx, Ok(e), patience).await {
                        return;
                    }
                }
                if !full && ticks.changed().await.is_err() {
                    return;
                }
            }
        });
        rx
    }

    /// The number the next event will get.
    pub fn events_head(&self) -> Result<u64, ServiceError> {
        Ok(self.lock()?.events_head())
    }

    /// Up to `limit` events numbered `cursor` on, as the ledger keeps them (undecoded).
    pub fn events_since_raw(&self, cursor: u64, limit: usize) -> Result<Vec<Event>, ServiceError> {
        self.lock()?.events_since(cursor, limit)
    }

    /// Processes the next tick (logged first when durable) and tells the watchers.
    pub fn process_tick(&self) -> Result<Tick, ServiceError> {
        let t = self.lock()?.process_tick()?;
        self.announce(t);
        Ok(t)
    }

    /// **Devnet power**: creates `amount` (1 to 10^15) for `id`; returns the new balance.
    pub fn faucet(&self, id: &Identity, amount: Amount) -> Result<Amount, ServiceError> {
        self.require_devnet("the faucet")?;
        let amount = faucet_amount(amount.0)?;
        let mut c = self.lock()?;
        c.fund(id, amount)?;
        Ok(c.ledger().balance(id))
    }

    /// **Devnet power**: processes ticks now, idle ones skipped; returns the last processed.
    pub fn warp(&self, warp: Warp) -> Result<Tick, ServiceError> {
        self.require_devnet("warp")?;
        let mut c = self.lock()?;
        let target = warp.target(c.ledger().next_tick())?;
        c.warp_to_tick(target)?;
        let last = last_processed(c.ledger());
        drop(c);
        self.announce(last);
        Ok(last)
    }

    /// Flushes the log (on shutdown).
    pub fn flush(&self) -> Result<(), ServiceError> {
        self.lock()?.flush()
    }
}

/// A job's record, or 404.
pub fn job_record(l: &Ledger, id: u64) -> Result<Job, ServiceError> {
    l.query::<JobRef, Option<Job>>(
        JOB_REGISTRY,
        GET_JOB.number(),
        &JobRef { job_id: JobId(id) },
    )?
    .ok_or_else(|| ServiceError::NotFound(format!("no job {id}")))
}

/// A job's view with `modelName`: the name the worker registry knows for its model id, or
/// null when no worker ever declared it.
pub(crate) fn job_view(l: &Ledger, job: &Job) -> Result<JobView, ServiceError> {
    let name: Option<String> = l.query_fn(MODEL_NAME, &job.spec.model)?;
    Ok(JobView::new(job, name))
}

/// One page of the job listing ([`ChainService::jobs`]): the records and the next cursor.
pub(crate) fn list_jobs(
    l: &Ledger,
    filter: &JobFilter,
    cursor: Option<u64>,
    limit: u16,
) -> Result<(Vec<Job>, Option<u64>), ServiceError> {
    let page: JobPage = match filter.index() {
        JobIndex::Requester(r) => l.query_fn(
            JOBS_BY_REQUESTER,
            &JobsByRequester {
                requester: r,
                cursor: cursor.map(JobId),
                limit,
            },
        )?,
        JobIndex::Worker(w) => l.query_fn(
            JOBS_BY_WORKER,
            &JobsByWorker {
                worker: WorkerId(w),
                cursor: cursor.map(JobId),
                limit,
            },
        )?,
        JobIndex::Status(st) => l.query_fn(
            JOBS_BY_STATUS,
            &JobsByStatus {
                status: st,
                cursor: cursor.map(JobId),
                limit,
            },
        )?,
        JobIndex::Ids => {
            let stats: NetworkStats = l.query_fn(NETWORK_STATS, &())?;
            let (ids, next_cursor) = crate::wire::id_page(cursor, limit, stats.jobs.submitted);
            let mut jobs = Vec::new();
            for id in ids {
                if let Some(j) = l.query::<JobRef, Option<Job>>(
                    JOB_REGISTRY,
                    GET_JOB.number(),
                    &JobRef { job_id: JobId(id) },
                )? {
                    jobs.push(j);
                }
            }
            JobPage {
                jobs,
                next_cursor: next_cursor.map(JobId),
            }
        }
    };
    let jobs = page
        .jobs
        .into_iter()
        .filter(|j| filter.matches(j))
        .collect();
    Ok((jobs, page.next_cursor.map(|j| j.0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn service(devnet: bool) -> ChainService {
        let ledger = crate::default_genesis()
            .build()
            .expect("the default genesis builds");
        ChainService::new(Chain::Memory(Box::new(ledger)), 0, devnet)
    }

    #[test]
    fn devnet_powers_are_refused_on_a_node_without_them() {
        let who = Identity([9; 32]);
        let c = service(false);
        let e = c.faucet(&who, Amount(5)).unwrap_err();
        assert_eq!((e.code(), e.kind()), ("devnet_only", ErrorKind::Forbidden));
        assert_eq!(c.warp(Warp::By(3)).unwrap_err().code(), "devnet_only");
        let c = service(true);
        assert_eq!(c.faucet(&who, Amount(5)).unwrap(), Amount(5));
        assert_eq!(
            c.faucet(&who, Amount(0)).unwrap_err().code(),
            "bad_parameter",
            "an amount of 0 is refused"
        );
    }

    #[test]
    fn a_warp_tells_the_tick_watchers_and_refuses_the_past() {
        let c = service(true);
        let mut ticks = c.subscribe();
        let last = c.warp(Warp::By(5)).unwrap();
        assert_eq!(last, Tick(c.next_tick().unwrap().0 - 1));
        assert!(ticks.has_changed().unwrap());
        assert_eq!(*ticks.borrow_and_update(), last);
        let e = c.warp(Warp::To(Tick(1))).unwrap_err();
        assert_eq!((e.code(), e.kind()), ("bad_parameter", ErrorKind::Invalid));
        let e = Warp::By(u32::MAX).target(Tick(2)).unwrap_err();
        assert_eq!(e.code(), "bad_parameter");
        assert_eq!(c.tick_info().unwrap().tick, last.0);
    }

    /// A far warp (issue 21: `{"tick": 4294967294}` froze a devnet node for 85 s and more)
    /// is refused at once when it passes the last epoch, and a warp to the last epoch's end
    /// runs no tick that has nothing to do. When ticking can go no further the node says so: a
    /// broadcast gets `chain_halted` with the reason.
    #[test]
    fn a_far_warp_is_refused_or_instant_and_a_halted_chain_says_so() {
        let c = service(true);
        let e = c.warp(Warp::To(Tick(u32::MAX - 1))).unwrap_err();
        assert_eq!(
            (e.code(), e.kind()),
            ("past_last_epoch", ErrorKind::Invalid),
            "{e}"
        );
        assert!(e.to_string().contains("epoch counter exhausted"), "{e}");
        let last = c.lock().unwrap().ledger().last_tick_with_epoch();
        let busy = c.lock().unwrap().ledger().tick_summaries().len();
        assert_eq!(c.warp(Warp::To(last.next().unwrap())).unwrap(), last);
        // Not a tick of the 65,535 epochs ran: nothing had work in them.
        assert_eq!(c.lock().unwrap().ledger().tick_summaries().len(), busy);
        let e = c.process_tick().unwrap_err();
        assert_eq!(e.code(), "past_last_epoch");
        c.halt(e.to_string());
        let k = comqute_ledger::Seed::new(&"a".repeat(55))
            .unwrap()
            .keypair();
        let tx = Transaction::new(
            k.identity(),
            Identity([1; 32]),
            Amount(1),
            last.next().unwrap(),
            0,
            Vec::new(),
        )
        .sign(&k);
        let e = c.broadcast(tx).unwrap_err();
        assert_eq!(e.code(), "chain_halted");
        assert!(e.to_string().contains("epoch counter exhausted"), "{e}");
    }

    #[test]
    fn lookups_of_what_does_not_exist_are_not_found() {
        let c = service(true);
        assert_eq!(c.job(1).unwrap_err().code(), "not_found");
        assert_eq!(c.job_escrow(1).unwrap_err().code(), "not_found");
        assert_eq!(
            c.worker(&Identity([1; 32])).unwrap_err().code(),
            "not_found"
        );
        assert!(c.receipt(&Hash32([1; 32])).unwrap().is_none());
        assert_eq!(
            c.approved_transactions(c.next_tick().unwrap())
                .unwrap_err()
                .code(),
            "not_found"
        );
        assert_eq!(c.stats().unwrap().jobs.submitted, 0);
    }
}

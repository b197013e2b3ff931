//! The ledger: genesis, submission, tick processing, warps, snapshots, forks and queries.

use std::collections::BTreeMap;
use std::sync::Arc;

use borsh::{BorshDeserialize, BorshSerialize};
use comqute_qpi::contract::{encode, CallInfo, Contract, TickWork};
use comqute_qpi::kit::{Func, Proc};
use comqute_qpi::{Amount, ContractError, ContractIndex, Epoch, Hash32, Identity, Profile, Tick};

use crate::error::LedgerError;
use crate::exec::{invoke, run_function, view_of, Effects};
use crate::history::{tick_seed, Derive, History, HistoryMark, View};
use crate::pool::{Admission, PendingTx, Pool};
use crate::receipt::{
    DropReason, EntryPoint, Event, HookFailure, Receipt, TickSummary, Transfer, TransferKind,
    TxStatus,
};
use crate::record::{Input, Recording};
use crate::registry::Registry;
use crate::state::{Account, Mark, State, Supply};
use crate::tx::{Transaction, TxError, TxId, VerifiedTx};

/// Under [`DigestPolicy::OnDemand`], past this many entries written since the last digest a
/// tick settles the state when it starts: the lists of dirty entries (about 50 bytes an
/// entry) stay bounded instead of growing with a big state nobody asks the digest of. The
/// figures of `bench harness` (transfers, scenarios) stay far below it.
pub const DIRTY_CAP: usize = 1 << 18;

/// Below this many transactions a tick checks signatures on the calling thread.
const PARALLEL_VERIFY_MIN: usize = 32;

/// Events as contracts emit them: the contract and the borsh bytes.
type RawEvents = Vec<(ContractIndex, Vec<u8>)>;

/// Ledger settings. `Default` gives Qubic's figures where they apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerConfig {
    /// The first tick to be processed.
    pub genesis_tick: Tick,
    /// The epoch of the genesis tick.
    pub genesis_epoch: Epoch,
    /// Ticks per epoch.
    pub epoch_ticks: u32,
    /// Transactions a tick holds (Qubic: 4,096).
    pub tick_capacity: usize,
    /// How far ahead of the next tick a transaction may be scheduled.
    pub max_future_ticks: u32,
    /// Whose crypto transaction ids and signatures follow ([`Profile`]).
    pub profile: Profile,
}

impl Default for LedgerConfig {
    fn default() -> Self {
        LedgerConfig {
            genesis_tick: Tick(1),
            genesis_epoch: Epoch(1),
            epoch_ticks: 10_000,
            tick_capacity: 4096,
            max_future_ticks: 100_000,
            profile: Profile::Comqute,
        }
    }
}

/// What is known of a transaction by id.
#[derive(Debug, Clone, PartialEq, Eq)]
// A lookup's answer is returned and matched, never stored in bulk: boxing the receipt would
// cost an allocation per lookup for nothing.
#[allow(clippy::large_enum_variant)]
pub enum TxLookup {
    /// Waiting for its tick.
    Pending(Tick),
    /// Done: executed, failed or dropped.
    Done(Receipt),
    /// Never seen (or seen by a fork's parent before the fork).
    Unknown,
}

/// How much history (receipts, events, tick summaries, hook failures) a ledger keeps.
///
/// Long harness runs and benchmarks would otherwise grow without bound. Trimming never
/// touches state or digests: it only forgets old records (their lookups then answer
/// [`TxLookup::Unknown`]); event sequence numbers stay global.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Retention {
    /// Keep everything (the default; the durable store relies on it).
    #[default]
    KeepAll,
    /// Keep the records of at least the last `n` ticks in which anything happened (at most
    /// `2n`: older ones are dropped in batches). Records a live snapshot may return to are
    /// kept.
    KeepLast(u32),
}

/// When a ledger hashes its state for its digests. Both policies give the same digests for
/// the same run, and the same seeds (which derive from the receipts, never from the state):
/// the choice is only when the hashing is paid, and whether tick summaries carry the
/// per-tick state digest and tick digest.
///
/// On demand a write never hashes: it marks its entry dirty, and each dirty entry is hashed
/// once however often it was written (see [`crate::state`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DigestPolicy {
    /// The harness default: the state is hashed only when a digest is asked for
    /// ([`Ledger::digest`], [`Ledger::state_digest`], a fork, a faucet call after a busy
    /// tick), or, to bound memory, when a tick starts with more than [`DIRTY_CAP`] entries
    /// written since the last digest. Tick summaries carry no state digest or tick digest
    /// (`None`); the latest tick digest is [`Ledger::digest`].
    #[default]
    OnDemand,
    /// A node, a durable ledger and a recording: every tick in which anything happened ends
    /// with the state digest, and its summary carries it and the tick digest. Each write is
    /// hashed as it is made, while its bytes are in cache: a node's ticks write nearly every
    /// entry once, and hashing them at the end of the tick instead (once each) measured
    /// ~10% slower on 4,096-transaction ticks (`bench ledger`), the values read back cold.
    PerTick,
}

/// A named snapshot: a journal mark plus the scalars and the pool.
#[derive(Clone)]
struct Snapshot {
    seq: u64,
    state: Mark,
    next_tick: Tick,
    chain: Hash32,
    digest: Option<Hash32>,
    pool: Pool,
    history: HistoryMark,
    recorded: usize,
}

/// Builds a [`Ledger`]: contracts, genesis balances, settings.
#[derive(Default)]
pub struct LedgerBuilder {
    config: LedgerConfig,
    registry: Registry,
    funds: Vec<(Identity, Amount)>,
    retention: Retention,
    digests: DigestPolicy,
    record: bool,
    error: Option<LedgerError>,
}

impl LedgerBuilder {
    /// A builder with the default settings and no contracts.
    pub fn new() -> Self {
        Self::default()
    }
    /// Uses these settings.
    pub fn config(mut self, config: LedgerConfig) -> Self {
        self.config = config;
        self
    }
    /// Sets the profile transaction ids and signatures follow (default: comqute).
    pub fn profile(mut self, p: Profile) -> Self {
        self.config.profile = p;
        self
    }
    /// Sets ticks per epoch.
    pub fn epoch_ticks(mut self, n: u32) -> Self {
        self.config.epoch_ticks = n;
        self
    }
    /// Sets the transactions a tick holds.
    pub fn tick_capacity(mut self, n: usize) -> Self {
        self.config.tick_capacity = n;
        self
    }
    /// Sets the first tick.
    pub fn genesis_tick(mut self, t: Tick) -> Self {
        self.config.genesis_tick = t;
        self
    }
    /// How much history to keep (default: everything). Not part of the genesis: it changes
    /// no state and no digest.
    pub fn history(mut self, retention: Retention) -> Self {
        self.retention = retention;
        self
    }
    /// When to hash the state for the digests (default: [`DigestPolicy::OnDemand`]). Not
    /// part of the genesis: it changes no digest, only when the hashing is paid. A recording
    /// ledger ([`LedgerBuilder::record`]) digests per tick whatever this says.
    pub fn digests(mut self, policy: DigestPolicy) -> Self {
        self.digests = policy;
        self
    }
    /// Records the run (genesis and every input) for [`crate::record`]; see
    /// [`Ledger::recording`]. Implies [`DigestPolicy::PerTick`]: the recording holds every
    /// tick's digest.
    pub fn record(mut self) -> Self {
        self.record = true;
        self
    }
    /// Adds a contract.
    pub fn contract(mut self, c: impl Contract) -> Self {
        self.add(Arc::new(c));
        self
    }
    /// Adds a shared contract.
    pub fn contract_arc(mut self, c: Arc<dyn Contract>) -> Self {
        self.add(c);
        self
    }
    fn add(&mut self, c: Arc<dyn Contract>) {
        if let Err(e) = self.registry.add(c) {
            self.error.get_or_insert(e);
        }
    }
    /// Funds an identity at genesis.
    pub fn fund(mut self, id: Identity, amount: Amount) -> Self {
        self.funds.push((id, amount));
        self
    }
    /// Creates the ledger: funds the genesis balances, then runs every contract's
    /// `initialize` in ascending index order.
    pub fn build(self) -> Result<Ledger, LedgerError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let c = &self.config;
        if c.epoch_ticks == 0 {
            return Err(LedgerError::Config("epoch_ticks must be at least 1".into()));
        }
        if c.tick_capacity == 0 || c.tick_capacity > u32::MAX as usize {
            return Err(LedgerError::Config(
                "tick_capacity must be between 1 and 2^32-1".into(),
            ));
        }
        let mut state = State::new();
        for (id, amount) in &self.funds {
            state.mint(id, *amount, c.genesis_tick)?;
        }
        let registry = Arc::new(self.registry);
        let genesis_seed = Hash32(*blake3::hash(b"comqute genesis").as_bytes());
        for contract in registry.ascending() {
            let info = CallInfo {
                contract: contract.index(),
                invocator: Identity::NULL,
                originator: Identity::NULL,
                invocation_reward: Amount::ZERO,
                tick: c.genesis_tick,
                epoch: c.genesis_epoch,
                seed: genesis_seed,
            };
            let mut fx = Effects::default();
            invoke(
                &mut state,
                &registry,
                &mut fx,
                info,
                0,
                contract.as_ref(),
                EntryPoint::Initialize,
                &[],
            )?;
        }
        state.clear_journal();
        state.settle();
        // The epoch settings are hashed here once, so tick digests need not repeat the epoch.
        let mut h = blake3::Hasher::new();
        h.update(b"comqute genesis");
        h.update(&c.genesis_tick.0.to_le_bytes());
        h.update(&c.genesis_epoch.0.to_le_bytes());
        h.update(&c.epoch_ticks.to_le_bytes());
        h.update(&state.digest().0);
        let digest = Hash32(*h.finalize().as_bytes());
        let recording = self.record.then(|| {
            let mut names: Vec<(u32, String)> = registry
                .ascending()
                .map(|c| (c.index().0, c.name().to_owned()))
                .collect();
            names.sort();
            Box::new(Recording::new(&self.config, names, &self.funds, digest))
        });
        let digests = if self.record {
            DigestPolicy::PerTick
        } else {
            self.digests
        };
        state.set_eager(digests == DigestPolicy::PerTick);
        let history = History::new(derive(&self.config, digest));
        Ok(Ledger {
            next_tick: c.genesis_tick,
            config: self.config,
            registry,
            state,
            chain: digest,
            digest: Some(digest),
            digests,
            pool: Pool::default(),
            history,
            snapshots: BTreeMap::new(),
            snapshot_seq: 0,
            retention: self.retention,
            recording,
        })
    }

    // --- durable store (used by `crate::durable`) -------------------------------------------

    /// The settings and genesis balances given so far (the durable store records them).
    pub(crate) fn genesis_parts(&self) -> (&LedgerConfig, &[(Identity, Amount)]) {
        (&self.config, &self.funds)
    }
}

/// The deterministic, tick-based ledger emulator. See the crate docs for an example.
pub struct Ledger {
    config: LedgerConfig,
    registry: Arc<Registry>,
    state: State,
    next_tick: Tick,
    /// The receipts digest of the latest tick in which anything happened (the genesis digest
    /// before any): it chains every receipt and event since genesis, and seeds derive from it.
    chain: Hash32,
    /// That tick's digest, `None` while it is pending under [`DigestPolicy::OnDemand`]
    /// (the state is then still the state after that tick: anything that changes it outside
    /// a tick computes the digest first).
    digest: Option<Hash32>,
    digests: DigestPolicy,
    pool: Pool,
    history: History,
    snapshots: BTreeMap<String, Snapshot>,
    snapshot_seq: u64,
    retention: Retention,
    recording: Option<Box<Recording>>,
}

impl Ledger {
    /// A builder.
    pub fn builder() -> LedgerBuilder {
        LedgerBuilder::new()
    }

    // --- reading --------------------------------------------------------------------------

    /// The settings.
    pub fn config(&self) -> &LedgerConfig {
        &self.config
    }
    /// The contracts.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }
    /// Transactions from `source` waiting for their tick (a node caps them per identity).
    pub fn pending_from(&self, source: &Identity) -> usize {
        self.pool.pending_from(source)
    }

    /// The next tick to be processed.
    pub fn next_tick(&self) -> Tick {
        self.next_tick
    }
    /// The last tick that has an epoch (epochs are numbered in a `u16`).
    pub fn last_tick_with_epoch(&self) -> Tick {
        let epochs = u64::from(u16::MAX - self.config.genesis_epoch.0) + 1;
        let last =
            u64::from(self.config.genesis_tick.0) + epochs * u64::from(self.config.epoch_ticks) - 1;
        Tick(u32::try_from(last).unwrap_or(u32::MAX))
    }

    /// Refuses tick `t` when its epoch would be past the last one.
    fn check_epoch_range(&self, t: Tick) -> Result<(), LedgerError> {
        let last = self.last_tick_with_epoch();
        if t > last {
            return Err(LedgerError::EpochOverflow { last_tick: last });
        }
        Ok(())
    }

    /// The epoch of a tick.
    pub fn epoch_of(&self, tick: Tick) -> Epoch {
        let since = tick.0.saturating_sub(self.config.genesis_tick.0) / self.config.epoch_ticks;
        Epoch(u16::try_from(u32::from(self.config.genesis_epoch.0) + since).unwrap_or(u16::MAX))
    }
    /// The epoch of the next tick.
    pub fn epoch(&self) -> Epoch {
        self.epoch_of(self.next_tick)
    }
    /// The digest after the latest tick in which anything happened (or the genesis digest).
    /// Under [`DigestPolicy::OnDemand`] it is computed here when first asked for, hashing
    /// the entries written since the state was last settled.
    pub fn digest(&self) -> Hash32 {
        self.digest
            .unwrap_or_else(|| tick_digest(&self.chain, &self.state.digest()))
    }
    /// The order-independent digest of the state alone (hashing, under
    /// [`DigestPolicy::OnDemand`], the entries written since the state was last settled).
    pub fn state_digest(&self) -> Hash32 {
        self.state.digest()
    }
    /// The receipts digest of the latest tick in which anything happened, or the genesis
    /// digest before any: a chain over every receipt and event since genesis, from which
    /// tick seeds derive (see [`Ledger::process_tick`]).
    pub fn receipts_chain(&self) -> Hash32 {
        self.chain
    }
    /// When this ledger hashes its state ([`LedgerBuilder::digests`]).
    pub fn digest_policy(&self) -> DigestPolicy {
        self.digests
    }
    /// Hashes every entry written since the state was last settled, now (it would be at the
    /// next digest asked for, or, per tick, at the end of the tick). The digests do not
    /// change; a benchmark or a test can choose where the hashing is paid.
    pub fn settle_digests(&mut self) {
        self.state.settle();
    }
    /// The state, for inspection.
    pub fn state(&self) -> &State {
        &self.state
    }
    /// Money created and destroyed so far.
    pub fn supply(&self) -> Supply {
        self.state.supply()
    }
    /// An identity's balance.
    pub fn balance(&self, id: &Identity) -> Amount {
        self.state.balance(id)
    }
    /// An identity's balance record.
    pub fn account(&self, id: &Identity) -> Account {
        self.state.account(id)
    }
    /// What is known of a transaction.
    pub fn lookup(&self, id: &TxId) -> TxLookup {
        if let Some(r) = self.history.receipt(id) {
            return TxLookup::Done(r);
        }
        match self.pool.contains(id) {
            Some(t) => TxLookup::Pending(t),
            None => TxLookup::Unknown,
        }
    }
    /// The receipt of a transaction, once its tick ran (or it was dropped), decoded from the
    /// compact history.
    pub fn receipt(&self, id: &TxId) -> Option<Receipt> {
        self.history.receipt(id)
    }
    /// Whether the history keeps a receipt of `id` (without decoding it).
    pub fn has_receipt(&self, id: &TxId) -> bool {
        self.history.contains(id)
    }
    /// Every receipt kept (see [`Retention`]), in the order they were made: a view that
    /// decodes each when asked.
    pub fn receipts(&self) -> View<'_, Receipt> {
        self.history.receipts_view()
    }
    /// The receipts of one tick's transactions, in slot order (none if the tick was idle or
    /// its records were trimmed).
    pub fn receipts_for_tick(&self, tick: Tick) -> Vec<Receipt> {
        match self.history.tick_index(tick) {
            Some(i) => self
                .history
                .tick_receipts(i)
                .filter_map(|r| self.history.receipt_at(r))
                .collect(),
            None => Vec::new(),
        }
    }
    /// Every event kept, in order. An event's `seq` is its global position: its index here
    /// plus the number of events trimmed ([`Ledger::events_trimmed`], 0 with
    /// [`Retention::KeepAll`]).
    pub fn events(&self) -> View<'_, Event> {
        self.history.events_view()
    }
    /// Events with `seq >= cursor`.
    pub fn events_since(&self, cursor: u64) -> View<'_, Event> {
        let all = self.history.events_view();
        let skip = usize::try_from(cursor)
            .unwrap_or(usize::MAX)
            .saturating_sub(self.history.base().events);
        all.slice(skip..)
    }
    /// Events forgotten by [`Retention::KeepLast`] (the `seq` of the first kept one).
    pub fn events_trimmed(&self) -> u64 {
        self.history.base().events as u64
    }
    /// Summaries of every tick in which anything happened (those kept).
    pub fn tick_summaries(&self) -> View<'_, TickSummary> {
        self.history.ticks_view()
    }
    /// The summary of `tick`, if anything happened in it (and it is kept).
    pub fn tick_summary(&self, tick: Tick) -> Option<TickSummary> {
        self.history
            .tick_index(tick)
            .and_then(|i| self.history.tick_at(i))
    }
    /// Heap bytes the kept history holds (receipts, events, summaries, their indexes).
    pub fn history_bytes(&self) -> usize {
        self.history.heap_bytes()
    }
    /// Hooks that failed (their changes were undone).
    pub fn hook_failures(&self) -> &[HookFailure] {
        self.history.hook_failures()
    }
    /// Number of pending transactions.
    pub fn pending_count(&self) -> usize {
        self.pool.len()
    }

    /// Runs a contract function (read-only) against the current state, raw bytes in and out.
    pub fn query_raw(
        &self,
        contract: ContractIndex,
        input_type: u16,
        input: &[u8],
    ) -> Result<Vec<u8>, ContractError> {
        let info = self.info_for(
            contract,
            Identity::NULL,
            Amount::ZERO,
            self.next_tick,
            self.seed_for(self.next_tick),
        );
        run_function(&self.state, &self.registry, info, 0, input_type, input)
    }

    /// Runs a contract function, typed.
    pub fn query<I: BorshSerialize, O: BorshDeserialize>(
        &self,
        contract: ContractIndex,
        input_type: u16,
        input: &I,
    ) -> Result<O, ContractError> {
        let out = self.query_raw(contract, input_type, &encode(input))?;
        O::try_from_slice(&out)
            .map_err(|e| ContractError::BadInput(format!("function output: {e}")))
    }

    /// Runs a contract function by its descriptor (`comqute_qpi::kit::Func`), typed in and
    /// out.
    pub fn query_fn<I: BorshSerialize, O: BorshDeserialize>(
        &self,
        f: Func<I, O>,
        input: &I,
    ) -> Result<O, ContractError> {
        let out = self.query_raw(f.contract(), f.number(), &encode(input))?;
        f.decode_output(&out)
    }

    // --- submitting ---------------------------------------------------------------------------

    /// Queues a signed transaction for its tick. The signature is checked when the tick runs,
    /// in one parallel batch with the tick's other transactions; a bad one gets a
    /// `Dropped { BadSignature }` receipt. Shape, tick window, duplicates and funding are
    /// checked now.
    pub fn submit(&mut self, tx: Transaction) -> Result<TxId, LedgerError> {
        tx.check_shape()?;
        let id = tx.id_in(self.config.profile);
        self.admit(PendingTx {
            tx,
            id,
            verified: false,
            priority: 0,
        })
    }

    /// Queues a transaction whose signature was already checked.
    pub fn submit_verified(&mut self, tx: VerifiedTx) -> Result<TxId, LedgerError> {
        let id = tx.id();
        self.admit(PendingTx {
            tx: tx.into_tx(),
            id,
            verified: true,
            priority: 0,
        })
    }

    /// **Harness power**: queues a transaction without any signature (execution without
    /// signatures). Never expose this on a public node.
    pub fn submit_unsigned(&mut self, tx: Transaction) -> Result<TxId, LedgerError> {
        let v = VerifiedTx::trusted(tx, self.config.profile)?;
        self.submit_verified(v)
    }

    fn admit(&mut self, mut p: PendingTx) -> Result<TxId, LedgerError> {
        self.check_admission(&mut p, false)?;
        let (tick, id) = (p.tx.tick, p.id);
        match self.pool.admit(p, self.config.tick_capacity) {
            Admission::Added => Ok(id),
            Admission::Full => {
                // Refused: it never happened, so it is not part of the recording either.
                if let Some(r) = self.recording.as_deref_mut() {
                    r.inputs.pop();
                }
                Err(LedgerError::TickFull {
                    tick,
                    capacity: self.config.tick_capacity,
                })
            }
            Admission::Evicted(old) => {
                let old = *old;
                let reason = DropReason::PoolFull {
                    priority: old.priority.to_string(),
                    evicted_by: id,
                };
                let mut r = dropped_receipt(&old.tx, old.id, u32::MAX, reason);
                let events = self.history.mark().events;
                self.history.push_receipt(&mut r, events, 0, false);
                Ok(id)
            }
        }
    }

    /// Every check of [`Ledger::admit`] before the pool (tick window, duplicates, funding),
    /// then the priority and the recording's entry. `fresh`: the caller knows the id cannot
    /// be a duplicate (see [`Ledger::execute`]); the lookups are then skipped.
    fn check_admission(&mut self, p: &mut PendingTx, fresh: bool) -> Result<(), LedgerError> {
        let tick = p.tx.tick;
        if tick < self.next_tick {
            return Err(LedgerError::TickInPast {
                tick,
                next: self.next_tick,
            });
        }
        let max = self.next_tick.plus(self.config.max_future_ticks);
        if tick > max {
            return Err(LedgerError::TickTooFar { tick, max });
        }
        let known = |l: &Ledger| l.pool.contains(&p.id).is_some() || l.history.contains(&p.id);
        if fresh {
            debug_assert!(!known(self), "a fresh transaction is already known");
        } else if known(self) {
            return Err(LedgerError::Duplicate(p.id));
        }
        let acct = self.state.account(&p.tx.source);
        if acct.balance <= 0 {
            return Err(LedgerError::UnfundedSource(p.tx.source));
        }
        let age = u128::from(tick.0.saturating_sub(acct.latest_outgoing_transfer_tick)) + 1;
        p.priority = (acct.balance as u128) * age;
        if self.recording.is_some() {
            let (tx, trusted) = (hex::encode(p.tx.encode()), p.verified);
            self.log(|| Input::Submit { tx, trusted });
        }
        Ok(())
    }

    // --- harness powers -------------------------------------------------------------------------

    /// **Harness power**: creates `amount` for `id` (a faucet). Counted as minted supply.
    pub fn fund(&mut self, id: &Identity, amount: Amount) -> Result<(), LedgerError> {
        self.fix_digest();
        self.state.mint(id, amount, self.next_tick)?;
        self.after_change();
        self.log(|| Input::Fund { to: *id, amount });
        Ok(())
    }

    /// **Harness power**: submits an unsigned call for the next tick, runs that tick, and
    /// returns the receipt.
    pub fn execute(
        &mut self,
        source: Identity,
        destination: Identity,
        amount: Amount,
        input_type: u16,
        input: Vec<u8>,
    ) -> Result<Receipt, LedgerError> {
        let tx = Transaction::new(
            source,
            destination,
            amount,
            self.next_tick,
            input_type,
            input,
        );
        let t = self.next_tick;
        let fast = match t.next() {
            Some(after) if self.pool.next_tick_from(t) != Some(t) => Some(after),
            _ => None,
        };
        let id = if let Some(after) = fast {
            // Alone in its tick: the same checks, receipt and digests as submitting it and
            // processing the tick, without the pool's tick map and id index (it would be
            // the tick's only transaction, in slot 0, with no rival to evict).
            let v = VerifiedTx::trusted(tx, self.config.profile)?;
            let id = v.id();
            let mut p = PendingTx {
                tx: v.into_tx(),
                id,
                verified: true,
                priority: 0,
            };
            // Invariant: nothing is pending for tick t and t is the next tick, so no
            // transaction of tick t was ever admitted since the history last reached here
            // (a receipt of tick t exists only once t ran, which moves the next tick past
            // it, or for a transaction evicted from t's slots by one still pending there;
            // a restore brings back the pool and history of the same moment). An id covers
            // the tick, so this one is neither pending nor in the history.
            self.check_admission(&mut p, true)?;
            let pending = self.pool.single(p);
            self.history.keep_last = true;
            self.run_tick(t, after, pending);
            id
        } else {
            // Others wait for this tick (or it is the last tick): the ordinary way.
            let id = self.submit_unsigned(tx)?;
            self.history.keep_last = true;
            let ran = self.process_tick();
            self.history.keep_last = false;
            ran?;
            id
        };
        self.history.keep_last = false;
        // The receipt as the tick made it, when it was the tick's last (it ran last, or
        // alone); in debug builds, checked against the recorded one.
        if let Some(r) = self.history.last.take().filter(|r| r.tx_id == id) {
            debug_assert_eq!(
                Some(&r),
                self.history
                    .mark()
                    .receipts
                    .checked_sub(1)
                    .and_then(|i| self.history.receipt_at(i))
                    .as_ref(),
                "the receipt execute hands back is the recorded one"
            );
            return Ok(r);
        }
        // The tick's last receipt is this transaction's (it ran last, or alone); the id
        // index is the general way.
        // Invariant: a transaction of a processed tick has a receipt.
        let at = match self.history.mark().receipts.checked_sub(1) {
            Some(i) if self.history.last_receipt_id() == Some(id) => i,
            _ => self
                .history
                .receipt_index(&id)
                .expect("a transaction of a processed tick has a receipt"),
        };
        Ok(self
            .history
            .receipt_at(at)
            .expect("a transaction of a processed tick has a receipt"))
    }

    /// **Harness power**: calls `contract`'s procedure with a typed input (unsigned) in the
    /// next tick, and returns the receipt.
    pub fn call<I: BorshSerialize>(
        &mut self,
        source: Identity,
        contract: ContractIndex,
        input_type: u16,
        input: &I,
        amount: Amount,
    ) -> Result<Receipt, LedgerError> {
        self.execute(
            source,
            Identity::contract(contract),
            amount,
            input_type,
            encode(input),
        )
    }

    /// **Harness power**: calls a procedure by its descriptor (`comqute_qpi::kit::Proc`) with
    /// a typed input (unsigned) in the next tick, and returns the receipt.
    pub fn call_proc<I: BorshSerialize, O>(
        &mut self,
        source: Identity,
        p: Proc<I, O>,
        input: &I,
        amount: Amount,
    ) -> Result<Receipt, LedgerError> {
        self.execute(
            source,
            Identity::contract(p.contract()),
            amount,
            p.number(),
            encode(input),
        )
    }

    /// **Harness power**: names a snapshot of everything (state, tick, pool, history). O(1):
    /// a journal mark. Replaces an older snapshot of the same name.
    pub fn snapshot(&mut self, name: &str) {
        self.snapshot_seq += 1;
        let snap = Snapshot {
            seq: self.snapshot_seq,
            state: self.state.mark(),
            next_tick: self.next_tick,
            chain: self.chain,
            digest: self.digest,
            pool: self.pool.clone(),
            history: self.history.mark(),
            recorded: self.recording.as_ref().map_or(0, |r| r.inputs.len()),
        };
        self.snapshots.insert(name.to_owned(), snap);
    }

    /// **Harness power**: returns to a named snapshot, in time proportional to the changes
    /// since. Snapshots taken after it are dropped (as with anvil's `evm_revert`); it stays
    /// and can be restored again.
    pub fn restore(&mut self, name: &str) -> Result<(), LedgerError> {
        let snap = self
            .snapshots
            .get(name)
            .cloned()
            .ok_or_else(|| LedgerError::UnknownSnapshot(name.to_owned()))?;
        self.state.undo_to(snap.state);
        self.next_tick = snap.next_tick;
        // The state is back to what it was at the snapshot, so a digest pending then is
        // right to compute from it again.
        self.chain = snap.chain;
        self.digest = snap.digest;
        self.pool = snap.pool;
        self.history.truncate(snap.history);
        if let Some(r) = self.recording.as_deref_mut() {
            r.inputs.truncate(snap.recorded);
        }
        self.snapshots.retain(|_, s| s.seq <= snap.seq);
        Ok(())
    }

    /// Names of the live snapshots, oldest first.
    pub fn snapshot_names(&self) -> Vec<String> {
        let mut v: Vec<_> = self
            .snapshots
            .iter()
            .map(|(n, s)| (s.seq, n.clone()))
            .collect();
        v.sort();
        v.into_iter().map(|(_, n)| n).collect()
    }

    /// **Harness power**: a fork that shares all state with this ledger and diverges from
    /// here, in O(1) whatever the state's size. The fork has this ledger's tick, digest and
    /// pending pool, no snapshots, and an empty history (receipts and events start afresh).
    pub fn fork(&mut self) -> Ledger {
        Ledger {
            config: self.config.clone(),
            registry: self.registry.clone(),
            state: self.state.fork(),
            next_tick: self.next_tick,
            chain: self.chain,
            digest: self.digest,
            digests: self.digests,
            pool: self.pool.clone(),
            history: History::new(derive(&self.config, self.chain)),
            snapshots: BTreeMap::new(),
            snapshot_seq: 0,
            retention: self.retention,
            recording: self.recording.clone(),
        }
    }

    /// The recording of this run, when the builder asked for one ([`LedgerBuilder::record`]).
    pub fn recording(&self) -> Option<&Recording> {
        self.recording.as_deref()
    }

    fn log(&mut self, input: impl FnOnce() -> Input) {
        if let Some(r) = self.recording.as_deref_mut() {
            r.inputs.push(input());
        }
    }

    /// How much history this ledger keeps.
    pub fn retention(&self) -> Retention {
        self.retention
    }

    /// Changes how much history is kept from now on (see [`Retention`]).
    pub fn set_retention(&mut self, retention: Retention) {
        self.retention = retention;
    }

    /// Computes the latest busy tick's digest if it is still pending: called before the
    /// state changes outside a tick, which would otherwise change what it is computed from.
    fn fix_digest(&mut self) {
        if self.digest.is_some() {
            return;
        }
        self.state.settle();
        let digest = tick_digest(&self.chain, &self.state.digest());
        self.digest = Some(digest);
        // A snapshot taken since, with nothing written after it, is of this very state:
        // it keeps the digest, so restoring it does not compute the same digest again.
        let (mark, chain) = (self.state.mark(), self.chain);
        for s in self.snapshots.values_mut() {
            if s.digest.is_none() && s.state == mark && s.chain == chain {
                s.digest = Some(digest);
            }
        }
    }

    fn after_change(&mut self) {
        if self.snapshots.is_empty() {
            self.state.clear_journal();
        }
    }

    // --- ticks ------------------------------------------------------------------------------------

    fn seed_for(&self, tick: Tick) -> Hash32 {
        // Not the tick digest: seeds must not wait for the state to be hashed.
        tick_seed(&self.chain, tick)
    }

    /// [`Ledger::seed_for`] `tick`, hashed only if a contract runs or is asked about.
    fn lazy_seed(&self, tick: Tick) -> LazySeed {
        LazySeed {
            chain: self.chain,
            tick,
            seed: std::cell::OnceCell::new(),
        }
    }

    fn info_for(
        &self,
        contract: ContractIndex,
        invocator: Identity,
        reward: Amount,
        tick: Tick,
        seed: Hash32,
    ) -> CallInfo {
        CallInfo {
            contract,
            invocator,
            originator: invocator,
            invocation_reward: reward,
            tick,
            epoch: self.epoch_of(tick),
            seed,
        }
    }

    fn is_first_of_epoch(&self, t: Tick) -> bool {
        t.0 >= self.config.genesis_tick.0
            && (t.0 - self.config.genesis_tick.0).is_multiple_of(self.config.epoch_ticks)
    }
    fn is_last_of_epoch(&self, t: Tick) -> bool {
        t.0 >= self.config.genesis_tick.0
            && (t.0 - self.config.genesis_tick.0 + 1).is_multiple_of(self.config.epoch_ticks)
    }

    /// Whether `c`'s epoch hooks have work at tick `t` ([`Contract::epoch_work`]).
    fn epoch_due(&self, c: &dyn Contract, t: Tick, seed: &LazySeed) -> bool {
        let info = self.info_for(c.index(), Identity::NULL, Amount::ZERO, t, seed.get());
        view_of(&self.state, &self.registry, info, |v| c.epoch_work(v))
    }

    /// Whether any contract's epoch hooks have work, given the state at tick `t`.
    fn any_epoch_work(&self, t: Tick, seed: &LazySeed) -> bool {
        self.registry
            .ascending()
            .any(|c| self.epoch_due(c.as_ref(), t, seed))
    }

    /// Whether `c`'s tick hooks have work at tick `t`.
    fn hook_due(&self, c: &dyn Contract, t: Tick, seed: &LazySeed) -> bool {
        let info = self.info_for(c.index(), Identity::NULL, Amount::ZERO, t, seed.get());
        match view_of(&self.state, &self.registry, info, |v| c.next_tick_work(v)) {
            TickWork::EveryTick => true,
            TickWork::At(x) => x <= t,
            TickWork::Idle => false,
        }
    }

    fn run_hook(
        &mut self,
        c: &Arc<dyn Contract>,
        entry: EntryPoint,
        t: Tick,
        seed: &LazySeed,
        events: &mut RawEvents,
    ) {
        let info = self.info_for(c.index(), Identity::NULL, Amount::ZERO, t, seed.get());
        let mut fx = std::mem::take(&mut self.history.hook_fx);
        fx.clear();
        match invoke(
            &mut self.state,
            &self.registry,
            &mut fx,
            info,
            0,
            c.as_ref(),
            entry,
            &[],
        ) {
            Ok(_) => events.append(&mut fx.events),
            Err(error) => self.history.push_hook_failure(HookFailure {
                tick: t,
                contract: c.index(),
                entry,
                error,
            }),
        }
        self.history.hook_fx = fx;
    }

    /// Processes the next tick: BEGIN_EPOCH (first tick of an epoch) → BEGIN_TICK ascending →
    /// transactions in slot order (signatures checked first, in parallel) → END_TICK
    /// descending → END_EPOCH (last tick of an epoch) → digest. Tick hooks run only when
    /// their contract reports work ([`Contract::next_tick_work`]).
    ///
    /// **Digest rule** (format 4): a tick in which nothing happened (no transaction, no event,
    /// no hook failure, the state unchanged) leaves the ledger's digests as they were and
    /// records no summary; that is what makes a warp over idle ticks equal to running them.
    /// Otherwise the tick's receipts digest is `blake3::keyed_hash(previous receipts digest,
    /// tick ‖ per receipt in slot order: transaction id ‖ status ‖ error ‖ output ‖ money
    /// flew ‖ per event: contract ‖ length ‖ data)`, a chain over every receipt since genesis
    /// (the first tick's previous receipts digest is the genesis digest), and the tick digest
    /// is `blake3::keyed_hash(receipts digest, state digest)`: one compression. A tick's seed
    /// is `blake3("comqute tick seed" ‖ previous receipts digest ‖ tick)`: it follows from the
    /// receipts, not from the state, so it never waits for the state to be hashed (the
    /// [`DigestPolicy`] decides when that is paid) and both policies run the same. The epoch
    /// is not hashed: it follows from the tick and the epoch settings, which the genesis
    /// digest covers; every transaction of the tick has a receipt that carries its id.
    pub fn process_tick(&mut self) -> Result<Tick, LedgerError> {
        let t = self.next_tick;
        let after = t.next().ok_or(LedgerError::TickOverflow)?;
        self.check_epoch_range(t)?;
        let pending = self.pool.take(t);
        self.run_tick(t, after, pending);
        Ok(t)
    }

    /// Runs tick `t` (the next tick; `after` follows it) with its transactions in slot order.
    fn run_tick(&mut self, t: Tick, after: Tick, pending: Vec<PendingTx>) {
        // A digest asked for since the last settle hashed the dirty entries without keeping
        // their hashes: keep them now, so the next one hashes only what this tick writes.
        // Past DIRTY_CAP dirty entries, settle anyway (memory, not speed).
        if self.state.dirty_len() > DIRTY_CAP {
            self.state.settle();
        } else {
            self.state.settle_if_asked();
        }
        let seed = self.lazy_seed(t);
        let state_before = self.state.mark();
        let start = self.history.mark();
        self.history.rbuf.clear();
        self.history.rbuf.extend_from_slice(&t.0.to_le_bytes());
        self.history.ebuf.clear();
        let registry = self.registry.clone();

        // Signatures, checked in parallel while the tick runs (only when there are enough to
        // pay for it; below that each is checked on this thread right before it runs). The
        // transactions still execute one by one in slot order: slot i waits for its own
        // verdict only, so execution overlaps the checking of the slots after it.
        let batch = (pending.len() >= PARALLEL_VERIFY_MIN && pending.iter().any(|p| !p.verified))
            .then(|| Verdicts::new(pending.len()));
        let mut events = Vec::new();
        match &batch {
            // A scope costs an allocation a tick: only ticks that verify in parallel open one.
            Some(verdicts) => std::thread::scope(|scope| {
                let runner = std::thread::current();
                let pending = &pending;
                let profile = self.config.profile;
                scope.spawn(move || {
                    use rayon::prelude::*;
                    pending
                        .par_iter()
                        .enumerate()
                        .with_min_len(16)
                        .for_each(|(i, p)| {
                            verdicts.set(
                                i,
                                if p.verified {
                                    Ok(())
                                } else {
                                    p.tx.verify_in(profile)
                                },
                            );
                            // Wake the tick's thread once per block, not per verdict: each
                            // wake-up is a context switch taken from the verifiers.
                            if Verdicts::block_end(i, pending.len()) {
                                runner.unpark();
                            }
                        });
                });
                self.run_front(t, &seed, &registry, pending, Some(verdicts), &mut events);
            }),
            None => self.run_front(t, &seed, &registry, &pending, None, &mut events),
        }

        for c in registry.ascending().rev() {
            if self.hook_due(c.as_ref(), t, &seed) {
                self.run_hook(c, EntryPoint::EndTick, t, &seed, &mut events);
            }
        }
        if self.is_last_of_epoch(t) {
            for c in registry.ascending() {
                if self.epoch_due(c.as_ref(), t, &seed) {
                    self.run_hook(c, EntryPoint::EndEpoch, t, &seed, &mut events);
                }
            }
        }
        self.push_events(t, None, &mut events);

        let end = self.history.mark();
        let idle = pending.is_empty()
            && end.events == start.events
            && end.hook_failures == start.hook_failures
            && !self.state.changed_since(state_before);
        if !idle {
            // The receipts digest hashes the bytes of the tick's receipts and events,
            // gathered as they were made (the same bytes, in the same order, as feeding
            // them to the hasher one by one).
            // One call over one buffer (the tick, then the receipts' bytes, then the
            // events'): the streaming hasher's bookkeeping cost as much as the hashing.
            let h = &mut self.history;
            if !h.ebuf.is_empty() {
                h.rbuf.extend_from_slice(&h.ebuf);
            }
            let receipts_digest = Hash32(*blake3::keyed_hash(&self.chain.0, &h.rbuf).as_bytes());
            self.chain = receipts_digest;
            let digests = match self.digests {
                DigestPolicy::PerTick => {
                    // Each entry written in the tick, hashed once.
                    self.state.settle();
                    let state_digest = self.state.digest();
                    Some((state_digest, tick_digest(&receipts_digest, &state_digest)))
                }
                DigestPolicy::OnDemand => None,
            };
            self.digest = digests.map(|d| d.1);
            self.history
                .push_tick(t, receipts_digest, digests, start, pending.len());
        }
        for b in [&mut self.history.rbuf, &mut self.history.ebuf] {
            if b.capacity() > 1 << 16 {
                *b = Vec::new();
            }
        }
        self.pool.recycle(pending);
        self.next_tick = after;
        if self.recording.is_some() {
            // A recording ledger digests per tick: this is the digest just computed.
            let digest = self.digest();
            self.log(|| Input::Tick { tick: t, digest });
        }
        self.after_change();
        if let Retention::KeepLast(n) = self.retention {
            let floor = self
                .snapshots
                .values()
                .map(|s| s.history)
                .reduce(HistoryMark::min);
            self.history.trim(n, floor);
        }
    }

    /// The front of tick `t`: BEGIN_EPOCH and BEGIN_TICK hooks, then the transactions in slot
    /// order, each once its signature's verdict is known (from `verdicts` when they are
    /// checked in parallel, else here).
    fn run_front(
        &mut self,
        t: Tick,
        seed: &LazySeed,
        registry: &Registry,
        pending: &[PendingTx],
        verdicts: Option<&Verdicts>,
        events: &mut RawEvents,
    ) {
        // Events get their global sequence numbers as they are made: BEGIN hooks, then the
        // transactions in slot order, then END hooks, which is the order they ran in.
        if self.is_first_of_epoch(t) {
            for c in registry.ascending() {
                if self.epoch_due(c.as_ref(), t, seed) {
                    self.run_hook(c, EntryPoint::BeginEpoch, t, seed, events);
                }
            }
        }
        for c in registry.ascending() {
            if c.has_begin_tick() && self.hook_due(c.as_ref(), t, seed) {
                self.run_hook(c, EntryPoint::BeginTick, t, seed, events);
            }
        }
        self.push_events(t, None, events);

        for (slot, p) in pending.iter().enumerate() {
            let verdict = match verdicts {
                Some(v) => v.wait(slot),
                None if p.verified => Ok(()),
                None => p.tx.verify_in(self.config.profile),
            };
            let (mut r, mut evs) = self.execute_tx(p, slot as u32, verdict, seed);
            let rb = &mut self.history.rbuf;
            rb.extend_from_slice(&r.tx_id.0);
            rb.extend_from_slice(r.status.name().as_bytes());
            if let Some(e) = r.error() {
                use std::io::Write;
                // Invariant: writing to a Vec cannot fail.
                write!(rb, "{e}").expect("writing into memory");
            }
            rb.extend_from_slice(&r.output);
            rb.push(u8::from(r.money_flew));
            let first = self.history.mark();
            self.push_events(t, Some(first.receipts), &mut evs);
            let count = self.history.mark().events - first.events;
            self.history.push_receipt(&mut r, first.events, count, true);
            // Only the tick's last receipt can be `execute`'s: the others are not copied.
            if self.history.keep_last && slot + 1 == pending.len() {
                r.events = (first.events..first.events + count)
                    .filter_map(|i| self.history.event_at(i))
                    .collect();
                self.history.last = Some(r);
            }
        }
    }

    /// Appends `evs` (emptied) to the event log (their sequence numbers are their
    /// positions) and to the bytes of the tick's receipts digest; `receipt` is the absolute
    /// index the receipt of the transaction that caused them will have.
    fn push_events(&mut self, t: Tick, receipt: Option<usize>, evs: &mut RawEvents) {
        for (contract, data) in evs.drain(..) {
            let eb = &mut self.history.ebuf;
            eb.extend_from_slice(&contract.0.to_le_bytes());
            eb.extend_from_slice(&(data.len() as u64).to_le_bytes());
            eb.extend_from_slice(&data);
            self.history.push_event(t, receipt, contract, &data);
        }
    }

    fn execute_tx(
        &mut self,
        p: &PendingTx,
        slot: u32,
        verdict: Result<(), TxError>,
        seed: &LazySeed,
    ) -> (Receipt, RawEvents) {
        let tx = &p.tx;
        if verdict.is_err() {
            return (
                dropped_receipt(tx, p.id, slot, DropReason::BadSignature),
                Vec::new(),
            );
        }
        let available = self.state.balance(&tx.source);
        if available < tx.amount {
            let reason = DropReason::InsufficientBalance {
                needed: tx.amount.0,
                available: available.0,
            };
            return (dropped_receipt(tx, p.id, slot, reason), Vec::new());
        }
        let mut fx = Effects::default();
        let mut output = Vec::new();
        // Whether the source's balance changed, when known without reading it again.
        let mut moved = None;
        let status = match tx.destination.contract_index() {
            Some(index) => match self.registry.get(index).cloned() {
                None => TxStatus::Failed {
                    error: ContractError::UnknownContract(index.0),
                },
                // A plain transfer to a contract: Qubic runs no procedure for input type 0.
                Some(_) if tx.input_type == 0 => {
                    moved = Some(self.plain_transfer(tx, &mut fx));
                    TxStatus::Executed
                }
                Some(c) => {
                    let info = self.info_for(index, tx.source, tx.amount, tx.tick, seed.get());
                    let entry = EntryPoint::Procedure(tx.input_type);
                    match invoke(
                        &mut self.state,
                        &self.registry,
                        &mut fx,
                        info,
                        0,
                        c.as_ref(),
                        entry,
                        &tx.input,
                    ) {
                        Ok(out) => {
                            output = out;
                            TxStatus::Executed
                        }
                        Err(error) => TxStatus::Failed { error },
                    }
                }
            },
            None => {
                moved = Some(self.plain_transfer(tx, &mut fx));
                TxStatus::Executed
            }
        };
        let money_flew = status == TxStatus::Executed
            && moved.unwrap_or_else(|| self.state.balance(&tx.source) != available);
        let receipt = Receipt {
            tx_id: p.id,
            tick: tx.tick,
            slot,
            source: tx.source,
            destination: tx.destination,
            amount: tx.amount,
            input_type: tx.input_type,
            status,
            money_flew,
            output,
            events: Vec::new(),
            transfers: fx.transfers,
            calls: fx.calls,
        };
        (receipt, fx.events)
    }

    /// Moves the amount; whether the source's balance changed.
    fn plain_transfer(&mut self, tx: &Transaction, fx: &mut Effects) -> bool {
        // Balance checked by the caller; a transfer to oneself moves nothing.
        if self
            .state
            .transfer(&tx.source, &tx.destination, tx.amount, tx.tick)
            .is_ok()
            && tx.amount > Amount::ZERO
            && tx.source != tx.destination
        {
            fx.transfers.push(Transfer {
                from: tx.source,
                to: tx.destination,
                amount: tx.amount,
                kind: TransferKind::Transfer,
            });
            return true;
        }
        false
    }

    /// Processes `n` ticks (warping over idle ones).
    pub fn advance_ticks(&mut self, n: u32) -> Result<(), LedgerError> {
        let target = self
            .next_tick
            .0
            .checked_add(n)
            .ok_or(LedgerError::TickOverflow)?;
        self.warp_to_tick(Tick(target))
    }

    /// **Harness power**: processes every tick before `target`, so that `target` is the next
    /// tick. Ticks in which no transaction is due, no tick hook has work and no epoch starts
    /// or ends are skipped at no cost; by the digest rule of [`Ledger::process_tick`] the
    /// result equals running them one by one.
    pub fn warp_to_tick(&mut self, target: Tick) -> Result<(), LedgerError> {
        if target > self.next_tick {
            // Every tick before the target must have an epoch: refuse before moving at all.
            self.check_epoch_range(Tick(target.0 - 1))?;
        }
        while self.next_tick < target {
            let t = self.next_tick;
            match self.skippable_until(t, target) {
                Some(until) => {
                    self.next_tick = until;
                    self.log(|| Input::Skip { to: until });
                }
                None => {
                    self.process_tick()?;
                }
            }
        }
        Ok(())
    }

    /// **Harness power**: warps to the first tick of `epoch`.
    pub fn warp_to_epoch(&mut self, epoch: Epoch) -> Result<(), LedgerError> {
        let g = self.config.genesis_epoch.0;
        if epoch.0 <= g {
            return Ok(());
        }
        let ticks = u64::from(epoch.0 - g) * u64::from(self.config.epoch_ticks)
            + u64::from(self.config.genesis_tick.0);
        let target = u32::try_from(ticks).map_err(|_| LedgerError::TickOverflow)?;
        self.warp_to_tick(Tick(target))
    }

    /// If tick `t` is idle, the first tick after it (at most `target`) that may not be.
    fn skippable_until(&self, t: Tick, target: Tick) -> Option<Tick> {
        if self.pool.next_tick_from(t) == Some(t) {
            return None;
        }
        let seed = self.lazy_seed(t);
        // Epoch boundaries stop a warp only when some contract's epoch hooks have work; the
        // state does not change during the skip, so the answer holds for every boundary in it.
        let epochs = self.any_epoch_work(t, &seed);
        if epochs && (self.is_first_of_epoch(t) || self.is_last_of_epoch(t)) {
            return None;
        }
        let mut until = target;
        if let Some(p) = self.pool.next_tick_from(t) {
            until = until.min(p);
        }
        if epochs {
            // The last tick of t's epoch.
            let since = t.0 - self.config.genesis_tick.0;
            let last = u64::from(t.0)
                + u64::from(self.config.epoch_ticks - 1 - since % self.config.epoch_ticks);
            until = until.min(Tick(u32::try_from(last).unwrap_or(u32::MAX)));
        }
        for c in self.registry.ascending() {
            let info = self.info_for(c.index(), Identity::NULL, Amount::ZERO, t, seed.get());
            match view_of(&self.state, &self.registry, info, |v| c.next_tick_work(v)) {
                TickWork::EveryTick => return None,
                TickWork::At(x) if x <= t => return None,
                TickWork::At(x) => until = until.min(x),
                TickWork::Idle => {}
            }
        }
        Some(until)
    }

    // --- durable store (used by `crate::durable`) -------------------------------------------

    /// Rebuilds a ledger from a durable snapshot's parts: no history, no named snapshots,
    /// digests per tick.
    pub(crate) fn from_parts(
        config: LedgerConfig,
        registry: Arc<Registry>,
        state: State,
        next_tick: Tick,
        (chain, digest): (Hash32, Hash32),
        pending: Vec<PendingTx>,
    ) -> Ledger {
        let mut state = state;
        state.set_eager(true);
        let mut pool = Pool::default();
        for p in pending {
            // Unbounded capacity: every entry is added, in the given (slot) order.
            let _ = pool.admit(p, usize::MAX);
        }
        let history = History::new(derive(&config, chain));
        Ledger {
            config,
            registry,
            state,
            next_tick,
            chain,
            digest: Some(digest),
            digests: DigestPolicy::PerTick,
            pool,
            history,
            snapshots: BTreeMap::new(),
            snapshot_seq: 0,
            retention: Retention::KeepAll,
            recording: None,
        }
    }

    /// The shared contract set.
    pub(crate) fn registry_arc(&self) -> Arc<Registry> {
        self.registry.clone()
    }

    /// Every pending transaction, by tick and then in slot order.
    pub(crate) fn pending_entries(&self) -> impl Iterator<Item = &PendingTx> {
        self.pool.entries()
    }
}

/// What a history derives from the settings and the chain it starts from.
fn derive(c: &LedgerConfig, chain: Hash32) -> Derive {
    Derive {
        chain,
        genesis: c.genesis_tick,
        genesis_epoch: c.genesis_epoch,
        epoch_ticks: c.epoch_ticks,
    }
}

/// A tick's digest: `blake3::keyed_hash(receipts digest, state digest)`.
fn tick_digest(receipts_digest: &Hash32, state_digest: &Hash32) -> Hash32 {
    Hash32(*blake3::keyed_hash(&receipts_digest.0, &state_digest.0).as_bytes())
}

/// A tick's seed, hashed the first time something asks for it: a tick that runs no contract
/// (plain transfers only) never hashes it. The chain it derives from is taken when the tick
/// starts, so asking late gives the same seed as asking early.
struct LazySeed {
    chain: Hash32,
    tick: Tick,
    seed: std::cell::OnceCell<Hash32>,
}

impl LazySeed {
    fn get(&self) -> Hash32 {
        *self.seed.get_or_init(|| tick_seed(&self.chain, self.tick))
    }
}

fn dropped_receipt(tx: &Transaction, id: TxId, slot: u32, reason: DropReason) -> Receipt {
    Receipt {
        tx_id: id,
        tick: tx.tick,
        slot,
        source: tx.source,
        destination: tx.destination,
        amount: tx.amount,
        input_type: tx.input_type,
        status: TxStatus::Dropped { reason },
        money_flew: false,
        output: Vec::new(),
        events: Vec::new(),
        transfers: Vec::new(),
        calls: Vec::new(),
    }
}

/// Verdicts per wake-up of the tick's thread.
const VERDICT_BLOCK: usize = 32;

/// Signature verdicts filled in by the verifying threads while the tick runs, one slot per
/// transaction; the tick's thread waits for each in slot order.
struct Verdicts {
    slots: Vec<std::sync::OnceLock<Result<(), TxError>>>,
}

impl Verdicts {
    fn new(n: usize) -> Verdicts {
        Verdicts {
            slots: (0..n).map(|_| std::sync::OnceLock::new()).collect(),
        }
    }

    fn set(&self, i: usize, v: Result<(), TxError>) {
        // Each slot is set once, by the one verifier that owns index i.
        let _ = self.slots[i].set(v);
    }

    /// Whether slot i ends a block of [`VERDICT_BLOCK`] (or is the last).
    fn block_end(i: usize, n: usize) -> bool {
        i % VERDICT_BLOCK == VERDICT_BLOCK - 1 || i + 1 == n
    }

    /// Slot i's verdict. When it is not there yet, the tick's thread sleeps until the
    /// verifiers wake it at the end of a block, then runs every slot that is ready; the
    /// timeout only guards against a block whose end another verifier is still working on.
    fn wait(&self, i: usize) -> Result<(), TxError> {
        loop {
            if let Some(v) = self.slots[i].get() {
                return v.clone();
            }
            std::thread::park_timeout(std::time::Duration::from_millis(1));
        }
    }
}

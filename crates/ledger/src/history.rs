//! The ledger's history, kept compact: receipts, events and tick summaries as fixed-size
//! records in append-only chunked arenas, their variable parts (outputs, event data, call
//! trees, transfers other than a plain transfer's own) in a chunked byte arena, and the
//! identities of receipts interned. Nothing is decoded until asked for: [`View`] hands out
//! owned [`Receipt`]s, [`Event`]s and [`TickSummary`]s on demand.
//!
//! A kept plain transfer costs one 64-byte record and its id-index entry (5 bytes a slot, at
//! 7/16 to 7/8 load); a busy tick one 48-byte summary (and 64 bytes of digests when they are
//! kept per tick): a transfer run alone in its tick, as `Ledger::execute` does, stays under
//! 128 bytes. Chunks are
//! allocated whole and never moved: the history grows without reallocating or copying, and
//! [`crate::Retention::KeepLast`] frees whole chunks from the front.

use std::collections::VecDeque;
use std::marker::PhantomData;
use std::ops::{Bound, RangeBounds};

use borsh::{BorshDeserialize, BorshSerialize};
use comqute_qpi::{Amount, ContractError, ContractIndex, Epoch, Hash32, Identity, Tick};
use rustc_hash::FxHashMap;

use crate::exec::Effects;
use crate::receipt::{
    CallRecord, DropReason, EntryPoint, Event, HookFailure, Receipt, TickSummary, Transfer,
    TransferKind, TxStatus,
};
use crate::tx::TxId;

/// Records per arena chunk.
const CHUNK: usize = 4096;
/// Bytes per byte-arena chunk (a larger part gets a chunk of its own size).
const BYTE_CHUNK: usize = 1 << 16;

/// Absolute counts (records ever made), so marks survive trimming.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HistoryMark {
    pub receipts: usize,
    pub events: usize,
    pub ticks: usize,
    pub hook_failures: usize,
    /// Bytes ever appended to the byte arena.
    pub bytes: usize,
}

impl HistoryMark {
    /// The smaller of each count.
    pub fn min(self, o: HistoryMark) -> HistoryMark {
        HistoryMark {
            receipts: self.receipts.min(o.receipts),
            events: self.events.min(o.events),
            ticks: self.ticks.min(o.ticks),
            hook_failures: self.hook_failures.min(o.hook_failures),
            bytes: self.bytes.min(o.bytes),
        }
    }
}

/// Fixed-size records by absolute index, in chunks of [`CHUNK`]: every chunk but the last is
/// full. Records below `start` were trimmed (their chunk may linger until it is all trimmed).
#[derive(Debug, Clone)]
struct Arena<T> {
    chunks: VecDeque<Vec<T>>,
    /// Absolute index of `chunks[0][0]`.
    first: usize,
    /// Absolute index of the first kept record.
    start: usize,
    /// Absolute index after the last record.
    end: usize,
}

impl<T> Default for Arena<T> {
    fn default() -> Self {
        Arena {
            chunks: VecDeque::new(),
            first: 0,
            start: 0,
            end: 0,
        }
    }
}

impl<T: Copy> Arena<T> {
    fn push(&mut self, v: T) {
        match self.chunks.back_mut() {
            Some(c) if c.len() < CHUNK => c.push(v),
            _ => {
                let mut c = Vec::with_capacity(CHUNK);
                c.push(v);
                self.chunks.push_back(c);
            }
        }
        self.end += 1;
    }
    fn get(&self, abs: usize) -> Option<&T> {
        if abs < self.start || abs >= self.end {
            return None;
        }
        let r = abs - self.first;
        self.chunks.get(r / CHUNK)?.get(r % CHUNK)
    }
    fn get_mut(&mut self, abs: usize) -> Option<&mut T> {
        if abs < self.start || abs >= self.end {
            return None;
        }
        let r = abs - self.first;
        self.chunks.get_mut(r / CHUNK)?.get_mut(r % CHUNK)
    }
    fn last(&self) -> Option<&T> {
        self.end.checked_sub(1).and_then(|i| self.get(i))
    }
    /// Forgets the records from `abs` on (never below the first kept one).
    fn truncate(&mut self, abs: usize) {
        if abs >= self.end {
            return;
        }
        let abs = abs.max(self.start);
        let r = abs - self.first;
        self.chunks.truncate(r.div_ceil(CHUNK));
        if let Some(c) = self.chunks.back_mut() {
            c.truncate(r - (r.div_ceil(CHUNK) - 1) * CHUNK);
        }
        self.end = abs;
    }
    /// Forgets the records before `abs`, freeing the chunks wholly before it.
    fn trim(&mut self, abs: usize) {
        self.start = self.start.max(abs.min(self.end));
        while self.first + CHUNK <= self.start && !self.chunks.is_empty() {
            self.chunks.pop_front();
            self.first += CHUNK;
        }
    }
    fn len(&self) -> usize {
        self.end - self.start
    }
    /// Absolute index of the first kept record for which `pred` is false, given `pred` is
    /// true for a prefix of the kept records (a binary search).
    fn partition_point(&self, pred: impl Fn(&T) -> bool) -> usize {
        let (mut lo, mut hi) = (self.start, self.end);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            // Invariant: start <= mid < end, so the record exists.
            if pred(self.get(mid).expect("a kept record")) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }
    fn heap_bytes(&self) -> usize {
        self.chunks.len() * CHUNK * std::mem::size_of::<T>()
            + self.chunks.capacity() * std::mem::size_of::<Vec<T>>()
    }
}

/// Variable-length parts, by absolute offset: the concatenation of the chunks' contents. A
/// part never spans two chunks.
#[derive(Debug, Clone, Default)]
struct ByteArena {
    /// (absolute offset of the chunk's first byte, bytes).
    chunks: VecDeque<(usize, Vec<u8>)>,
    end: usize,
}

impl ByteArena {
    /// Appends `b`; its absolute offset.
    fn push(&mut self, b: &[u8]) -> usize {
        let at = self.end;
        if b.is_empty() {
            return at;
        }
        match self.chunks.back_mut() {
            Some((_, c)) if c.capacity() - c.len() >= b.len() => c.extend_from_slice(b),
            _ => {
                let mut c = Vec::with_capacity(BYTE_CHUNK.max(b.len()));
                c.extend_from_slice(b);
                self.chunks.push_back((at, c));
            }
        }
        self.end += b.len();
        at
    }
    fn get(&self, at: usize, len: usize) -> &[u8] {
        if len == 0 {
            return &[];
        }
        let i = self.chunks.partition_point(|(s, _)| *s <= at);
        match i.checked_sub(1).and_then(|i| self.chunks.get(i)) {
            Some((s, c)) => c.get(at - s..at - s + len).unwrap_or(&[]),
            None => &[],
        }
    }
    fn truncate(&mut self, at: usize) {
        while let Some((s, _)) = self.chunks.back() {
            if *s >= at {
                self.chunks.pop_back();
            } else {
                break;
            }
        }
        if let Some((s, c)) = self.chunks.back_mut() {
            c.truncate(at.saturating_sub(*s).min(c.len()));
        }
        self.end = self.end.min(at);
    }
    /// Frees the chunks that end at or before `at` (the last one stays: it is written to).
    fn trim(&mut self, at: usize) {
        while self.chunks.len() > 1 && self.chunks[1].0 <= at {
            self.chunks.pop_front();
        }
    }
    fn heap_bytes(&self) -> usize {
        self.chunks.iter().map(|(_, c)| c.capacity()).sum::<usize>()
            + self.chunks.capacity() * std::mem::size_of::<(usize, Vec<u8>)>()
    }
}

/// Identities of receipts, each stored once and named by its number. Lookups only: the map
/// is never iterated.
#[derive(Debug, Clone, Default)]
struct Idents {
    ids: Vec<Identity>,
    map: FxHashMap<Identity, u32>,
}

impl Idents {
    fn intern(&mut self, id: Identity) -> u32 {
        let n = self.ids.len() as u32;
        *self.map.entry(id).or_insert_with(|| {
            self.ids.push(id);
            n
        })
    }
    fn get(&self, n: u32) -> Identity {
        self.ids.get(n as usize).copied().unwrap_or(Identity::NULL)
    }
}

const EXECUTED: u8 = 0;
const FAILED: u8 = 1;
const DROPPED: u8 = 2;
/// Qubic's moneyFlew.
const MONEY_FLEW: u8 = 1;
/// The transfers are exactly the plain transfer source → destination of the amount.
const PLAIN_TRANSFER: u8 = 2;
/// Made outside a tick (dropped from a full pool): its tick and slot are in its extra part.
/// Every other receipt is its tick's, in slot order: the tick and slot follow from the
/// summary whose receipts it is among.
const OUTSIDE_TICK: u8 = 4;
/// [`TickRec::txs`]'s bit for "carries the per-tick digests".
const DIGESTED: u32 = 1 << 31;

/// The absolute index whose low 32 bits are `low`, given it lies in `from..=from + 2³²`:
/// records store indices this way (a live range never holds 2³² records: that would be
/// 256 GiB of receipts).
fn widen(low: u32, from: usize) -> usize {
    from + low.wrapping_sub(from as u32) as usize
}

/// A receipt's fixed part: 64 bytes.
#[derive(Debug, Clone, Copy)]
struct ReceiptRec {
    tx_id: TxId,
    amount: i64,
    /// Absolute offset of the borsh [`Extra`] in the byte arena (`extra_len` 0: none).
    extra: u64,
    extra_len: u32,
    source: u32,
    destination: u32,
    input_type: u16,
    status: u8,
    flags: u8,
}

/// The parts of a receipt most transfers do not have.
#[derive(Default, BorshSerialize, BorshDeserialize)]
struct Extra {
    first_event: u64,
    event_count: u32,
    error: Option<ContractError>,
    drop: Option<DropReason>,
    output: Vec<u8>,
    transfers: Vec<PackedTransfer>,
    calls: Vec<PackedCall>,
    /// Tick and slot of a receipt made outside a tick.
    outside: Option<(u32, u32)>,
}

/// An identity in a receipt's extra part, said in one byte when it is the receipt's source
/// or destination, five when it is a contract's: a transfer of a contract call is 15 bytes
/// instead of 73, a call record 21 instead of 49.
#[derive(BorshSerialize, BorshDeserialize)]
enum Who {
    Source,
    Destination,
    Null,
    Contract(u32),
    Other(Identity),
}

impl Who {
    fn of(id: Identity, source: &Identity, destination: &Identity) -> Who {
        if id == *source {
            Who::Source
        } else if id == *destination {
            Who::Destination
        } else if id == Identity::NULL {
            Who::Null
        } else {
            match id.contract_index() {
                Some(c) => Who::Contract(c.0),
                None => Who::Other(id),
            }
        }
    }
    fn get(&self, source: &Identity, destination: &Identity) -> Identity {
        match self {
            Who::Source => *source,
            Who::Destination => *destination,
            Who::Null => Identity::NULL,
            Who::Contract(c) => Identity::contract(ContractIndex(*c)),
            Who::Other(id) => *id,
        }
    }
}

#[derive(BorshSerialize, BorshDeserialize)]
struct PackedTransfer {
    from: Who,
    to: Who,
    amount: Amount,
    kind: TransferKind,
}

#[derive(BorshSerialize, BorshDeserialize)]
struct PackedCall {
    depth: u8,
    invocator: Who,
    contract: ContractIndex,
    entry: EntryPoint,
    reward: Amount,
    error: Option<ContractError>,
}

/// An event's fixed part; the data is in the byte arena.
#[derive(Debug, Clone, Copy)]
struct EventRec {
    data: u64,
    /// 1 + the absolute index of the receipt of the transaction that caused it; 0 for hooks.
    receipt: u64,
    tick: u32,
    contract: u32,
    data_len: u32,
}

/// A busy tick's summary: 48 bytes. Its seed follows from the receipts digest before it, its
/// epoch from the tick, its event count from the next summary's first event; the per-tick
/// digests, when kept, are in a parallel arena.
#[derive(Debug, Clone, Copy)]
struct TickRec {
    receipts_digest: Hash32,
    tick: u32,
    /// Number of transactions; [`DIGESTED`] set when the digests arena holds its digests.
    txs: u32,
    /// Low bits of the absolute index of its first receipt (see [`widen`]).
    first_receipt: u32,
    /// Low bits of the absolute index of its first event.
    first_event: u32,
}

/// How a [`History`] derives what its tick records leave out.
#[derive(Debug, Clone, Copy, Default)]
pub struct Derive {
    /// The receipts digest before the first tick (the genesis digest, or the chain at a
    /// fork): seeds chain from it.
    pub chain: Hash32,
    /// The genesis tick, its epoch, and ticks per epoch.
    pub genesis: Tick,
    pub genesis_epoch: Epoch,
    pub epoch_ticks: u32,
}

/// Receipts, events and tick summaries, in order, compact (see the module docs).
#[doc(hidden)]
#[derive(Debug, Default)]
pub struct History {
    receipts: Arena<ReceiptRec>,
    by_id: IdIndex,
    events: Arena<EventRec>,
    ticks: Arena<TickRec>,
    /// (state digest, tick digest) of the ticks whose record says [`DIGESTED`], by the
    /// tick's absolute index.
    digests: Arena<(Hash32, Hash32)>,
    bytes: ByteArena,
    idents: Idents,
    hook_failures: Vec<HookFailure>,
    /// Absolute index of `hook_failures[0]`.
    hook_base: usize,
    derive: Derive,
    /// The receipts digest before the first kept tick.
    chain_base: Hash32,
    /// Reused to encode a receipt's variable part.
    encode_buf: Vec<u8>,
    /// The current tick's receipts and events as its receipts digest hashes them (see
    /// [`crate::Ledger::process_tick`]), gathered as they are made; reused.
    pub(crate) rbuf: Vec<u8>,
    pub(crate) ebuf: Vec<u8>,
    /// Reused by tick and epoch hooks, whose call records and transfers nobody keeps.
    pub(crate) hook_fx: Effects,
    /// Set while `Ledger::execute` runs its tick: the tick's last receipt is then kept here
    /// as made (events included), so `execute` hands it back instead of decoding it.
    pub(crate) keep_last: bool,
    pub(crate) last: Option<Receipt>,
}

impl History {
    /// An empty history whose first tick chains from `derive.chain`.
    pub fn new(derive: Derive) -> History {
        History {
            derive,
            chain_base: derive.chain,
            ..History::default()
        }
    }

    pub fn mark(&self) -> HistoryMark {
        HistoryMark {
            receipts: self.receipts.end,
            events: self.events.end,
            ticks: self.ticks.end,
            hook_failures: self.hook_base + self.hook_failures.len(),
            bytes: self.bytes.end,
        }
    }
    /// The first kept record of each kind.
    pub fn base(&self) -> HistoryMark {
        HistoryMark {
            receipts: self.receipts.start,
            events: self.events.start,
            ticks: self.ticks.start,
            hook_failures: self.hook_base,
            bytes: 0,
        }
    }

    /// Forgets everything made after `m` (a restore).
    pub fn truncate(&mut self, m: HistoryMark) {
        self.by_id.forget_from(m.receipts, &self.receipts);
        self.receipts.truncate(m.receipts);
        self.events.truncate(m.events);
        self.ticks.truncate(m.ticks);
        self.digests.truncate(m.ticks);
        self.bytes.truncate(m.bytes);
        self.hook_failures
            .truncate(m.hook_failures.saturating_sub(self.hook_base));
    }

    /// Appends a receipt. Its events are already in the event log: `event_count` of them
    /// from the absolute index `first_event`, and `r.events` is ignored. `in_tick`: it is
    /// the next receipt of the tick being run, in slot order. `r` is left as it was: its
    /// parts are lent to the encoder and given back.
    pub fn push_receipt(
        &mut self,
        r: &mut Receipt,
        first_event: usize,
        event_count: usize,
        in_tick: bool,
    ) {
        let plain = r.transfers.len() == 1
            && r.transfers[0]
                == (Transfer {
                    from: r.source,
                    to: r.destination,
                    amount: r.amount,
                    kind: TransferKind::Transfer,
                });
        let (status, error, drop) = match &r.status {
            TxStatus::Executed => (EXECUTED, None, None),
            TxStatus::Failed { error } => (FAILED, Some(error.clone()), None),
            TxStatus::Dropped { reason } => (DROPPED, None, Some(reason.clone())),
        };
        let extra = Extra {
            first_event: first_event as u64,
            event_count: event_count as u32,
            error,
            drop,
            output: std::mem::take(&mut r.output),
            transfers: if plain {
                Vec::new()
            } else {
                r.transfers
                    .iter()
                    .map(|t| PackedTransfer {
                        from: Who::of(t.from, &r.source, &r.destination),
                        to: Who::of(t.to, &r.source, &r.destination),
                        amount: t.amount,
                        kind: t.kind,
                    })
                    .collect()
            },
            calls: r
                .calls
                .iter()
                .map(|c| PackedCall {
                    depth: c.depth,
                    invocator: Who::of(c.invocator, &r.source, &r.destination),
                    contract: c.contract,
                    entry: c.entry,
                    reward: c.reward,
                    error: c.error.clone(),
                })
                .collect(),
            outside: (!in_tick).then_some((r.tick.0, r.slot)),
        };
        let needed = event_count > 0
            || extra.error.is_some()
            || extra.drop.is_some()
            || extra.outside.is_some()
            || !extra.output.is_empty()
            || !extra.transfers.is_empty()
            || !extra.calls.is_empty();
        let (off, len) = if needed {
            self.encode_buf.clear();
            // Invariant: borsh writes to a Vec cannot fail.
            borsh::to_writer(&mut self.encode_buf, &extra).expect("encoding into memory");
            let off = self.bytes.push(&self.encode_buf);
            (off as u64, self.encode_buf.len() as u32)
        } else {
            (self.bytes.end as u64, 0)
        };
        // The output was lent to the encoder: give it back.
        r.output = extra.output;
        let rec = ReceiptRec {
            tx_id: r.tx_id,
            amount: r.amount.0,
            extra: off,
            extra_len: len,
            source: self.idents.intern(r.source),
            destination: self.idents.intern(r.destination),
            input_type: r.input_type,
            status,
            flags: (if r.money_flew { MONEY_FLEW } else { 0 })
                | (if plain { PLAIN_TRANSFER } else { 0 })
                | (if in_tick { 0 } else { OUTSIDE_TICK }),
        };
        self.receipts.push(rec);
    }

    /// Appends an event; `receipt` is the absolute index its transaction's receipt will have.
    pub fn push_event(&mut self, tick: Tick, receipt: Option<usize>, c: ContractIndex, d: &[u8]) {
        let data = self.bytes.push(d) as u64;
        self.events.push(EventRec {
            data,
            receipt: receipt.map_or(0, |i| i as u64 + 1),
            tick: tick.0,
            contract: c.0,
            data_len: d.len() as u32,
        });
    }

    /// Appends a busy tick's summary: its transactions are the `tx_count` receipts from
    /// `start`, its events all those since `start`.
    pub fn push_tick(
        &mut self,
        tick: Tick,
        receipts_digest: Hash32,
        digests: Option<(Hash32, Hash32)>,
        start: HistoryMark,
        tx_count: usize,
    ) {
        let abs = self.ticks.end;
        let mut txs = tx_count as u32 & !DIGESTED;
        if let Some(d) = digests {
            // The arena is parallel to the ticks: pad it if earlier ticks had no digests.
            while self.digests.end < abs {
                self.digests.push(Default::default());
            }
            self.digests.push(d);
            txs |= DIGESTED;
        }
        self.ticks.push(TickRec {
            receipts_digest,
            tick: tick.0,
            txs,
            first_receipt: start.receipts as u32,
            first_event: start.events as u32,
        });
    }

    pub fn push_hook_failure(&mut self, f: HookFailure) {
        self.hook_failures.push(f);
    }
    pub fn hook_failures(&self) -> &[HookFailure] {
        &self.hook_failures
    }

    pub fn contains(&self, id: &TxId) -> bool {
        self.receipt_index(id).is_some()
    }
    pub fn receipt_index(&self, id: &TxId) -> Option<usize> {
        self.by_id.get(id, &self.receipts)
    }
    pub fn receipt(&self, id: &TxId) -> Option<Receipt> {
        self.receipt_index(id).and_then(|i| self.receipt_at(i))
    }
    /// The id of the last receipt.
    pub fn last_receipt_id(&self) -> Option<TxId> {
        self.receipts.last().map(|r| r.tx_id)
    }

    fn tick_first_receipt(&self, t: &TickRec) -> usize {
        widen(t.first_receipt, self.receipts.start)
    }
    fn tick_first_event(&self, t: &TickRec) -> usize {
        widen(t.first_event, self.events.start)
    }

    /// The tick and slot of the in-tick receipt at `abs`: from the summary it belongs to.
    fn tick_and_slot(&self, abs: usize) -> Option<(u32, u32)> {
        let in_last = self
            .ticks
            .last()
            .is_some_and(|t| self.tick_first_receipt(t) <= abs);
        // Recent receipts are asked for most (`Ledger::execute` asks for the last one): the
        // last tick first, then a binary search.
        let after = if in_last {
            self.ticks.end
        } else {
            self.ticks
                .partition_point(|t| self.tick_first_receipt(t) <= abs)
        };
        let t = self.ticks.get(after.checked_sub(1)?)?;
        let first = self.tick_first_receipt(t);
        (abs < first + (t.txs & !DIGESTED) as usize).then(|| (t.tick, (abs - first) as u32))
    }

    pub fn receipt_at(&self, abs: usize) -> Option<Receipt> {
        let r = *self.receipts.get(abs)?;
        let mut extra = if r.extra_len > 0 {
            let b = self.bytes.get(r.extra as usize, r.extra_len as usize);
            // Invariant: the bytes were written by `push_receipt` from an `Extra`.
            Extra::try_from_slice(b).expect("a receipt's extra part decodes")
        } else {
            Extra::default()
        };
        let (tick, slot) = match extra.outside {
            Some(ts) => ts,
            // Invariant: a receipt made in a tick is among its tick's, whose summary is
            // pushed when the tick ends (and trimmed with its receipts).
            None => self
                .tick_and_slot(abs)
                .expect("an in-tick receipt has its tick's summary"),
        };
        let source = self.idents.get(r.source);
        let destination = self.idents.get(r.destination);
        let status = match r.status {
            // Invariant: `push_receipt` writes the error of a failed receipt and the reason
            // of a dropped one into its extra part.
            FAILED => TxStatus::Failed {
                error: extra
                    .error
                    .take()
                    .expect("a failed receipt keeps its error"),
            },
            DROPPED => TxStatus::Dropped {
                reason: extra
                    .drop
                    .take()
                    .expect("a dropped receipt keeps its reason"),
            },
            _ => TxStatus::Executed,
        };
        let (s, d) = (&source, &destination);
        let plain = r.flags & PLAIN_TRANSFER != 0;
        // Sized once: a plain transfer's receipt is the common one, and its only transfer
        // is pushed below.
        let mut transfers: Vec<Transfer> =
            Vec::with_capacity(extra.transfers.len() + usize::from(plain));
        transfers.extend(extra.transfers.iter().map(|t| Transfer {
            from: t.from.get(s, d),
            to: t.to.get(s, d),
            amount: t.amount,
            kind: t.kind,
        }));
        let calls = if extra.calls.is_empty() {
            Vec::new()
        } else {
            extra
                .calls
                .into_iter()
                .map(|c| CallRecord {
                    depth: c.depth,
                    invocator: c.invocator.get(s, d),
                    contract: c.contract,
                    entry: c.entry,
                    reward: c.reward,
                    error: c.error,
                })
                .collect()
        };
        if plain {
            transfers.push(Transfer {
                from: source,
                to: destination,
                amount: Amount(r.amount),
                kind: TransferKind::Transfer,
            });
        }
        let first = extra.first_event as usize;
        let events = (first..first + extra.event_count as usize)
            .filter_map(|i| self.event_at(i))
            .collect();
        Some(Receipt {
            tx_id: r.tx_id,
            tick: Tick(tick),
            slot,
            source,
            destination,
            amount: Amount(r.amount),
            input_type: r.input_type,
            status,
            money_flew: r.flags & MONEY_FLEW != 0,
            output: extra.output,
            events,
            transfers,
            calls,
        })
    }
    pub fn event_at(&self, abs: usize) -> Option<Event> {
        self.event_ref(abs).map(|e| e.to_event())
    }
    pub fn event_ref(&self, abs: usize) -> Option<EventRef<'_>> {
        let e = *self.events.get(abs)?;
        let tx = match e.receipt {
            0 => None,
            n => self.receipts.get(n as usize - 1).map(|r| r.tx_id),
        };
        Some(EventRef {
            seq: abs as u64,
            tick: Tick(e.tick),
            tx,
            contract: ContractIndex(e.contract),
            data: self.bytes.get(e.data as usize, e.data_len as usize),
        })
    }
    pub fn tick_at(&self, abs: usize) -> Option<TickSummary> {
        let t = *self.ticks.get(abs)?;
        let first = self.tick_first_receipt(&t);
        let count = (t.txs & !DIGESTED) as usize;
        let transactions = (first..first + count)
            .filter_map(|i| self.receipts.get(i).map(|r| r.tx_id))
            .collect();
        let first_event = self.tick_first_event(&t);
        let next_event = match self.ticks.get(abs + 1) {
            Some(n) => self.tick_first_event(n),
            None => self.events.end,
        };
        let prev_chain = match abs.checked_sub(1).and_then(|p| self.ticks.get(p)) {
            Some(p) => p.receipts_digest,
            None => self.chain_base,
        };
        let (state_digest, digest) = match (t.txs & DIGESTED != 0)
            .then(|| self.digests.get(abs))
            .flatten()
        {
            Some((s, d)) => (Some(*s), Some(*d)),
            None => (None, None),
        };
        Some(TickSummary {
            tick: Tick(t.tick),
            epoch: self.epoch_of(Tick(t.tick)),
            seed: tick_seed(&prev_chain, Tick(t.tick)),
            transactions,
            receipts_digest: t.receipts_digest,
            state_digest,
            digest,
            first_event: first_event as u64,
            event_count: next_event.saturating_sub(first_event) as u64,
        })
    }
    fn epoch_of(&self, t: Tick) -> Epoch {
        let d = self.derive;
        // As `Ledger::epoch_of`.
        let n = t.0.saturating_sub(d.genesis.0) / d.epoch_ticks.max(1);
        Epoch(u16::try_from(u32::from(d.genesis_epoch.0) + n).unwrap_or(u16::MAX))
    }

    /// The absolute indices of the receipts of the transactions of the summary at `abs`.
    pub fn tick_receipts(&self, abs: usize) -> std::ops::Range<usize> {
        match self.ticks.get(abs) {
            Some(t) => {
                let first = self.tick_first_receipt(t);
                first..first + (t.txs & !DIGESTED) as usize
            }
            None => 0..0,
        }
    }
    /// The absolute index of the kept summary of `tick`, if it was busy.
    pub fn tick_index(&self, tick: Tick) -> Option<usize> {
        let i = self.ticks.partition_point(|t| t.tick < tick.0);
        (self.ticks.get(i)?.tick == tick.0).then_some(i)
    }

    /// Drops the records before the start of the `keep`-th latest summarised tick once
    /// there are `2 × keep` of them, never past `floor` (the oldest live snapshot).
    pub fn trim(&mut self, keep: u32, floor: Option<HistoryMark>) {
        let keep = keep.max(1) as usize;
        if self.ticks.len() < 2 * keep {
            return;
        }
        let first_kept = self.ticks.end - keep;
        // Invariant: there are at least 2 × keep ≥ keep kept summaries.
        let t = *self.ticks.get(first_kept).expect("a kept summary");
        let mut cut = HistoryMark {
            receipts: self.tick_first_receipt(&t),
            events: self.tick_first_event(&t),
            ticks: first_kept,
            hook_failures: self.hook_base
                + self.hook_failures.partition_point(|f| f.tick.0 < t.tick),
            bytes: usize::MAX,
        };
        if let Some(f) = floor {
            cut = cut.min(f);
        }
        if let Some(p) = cut.ticks.checked_sub(1).and_then(|p| self.ticks.get(p)) {
            self.chain_base = p.receipts_digest;
        }
        self.by_id.forget_before(cut.receipts, &self.receipts);
        self.receipts.trim(cut.receipts);
        self.events.trim(cut.events);
        self.ticks.trim(cut.ticks);
        self.digests.trim(cut.ticks);
        let kept_bytes = [
            self.receipts
                .get(self.receipts.start)
                .map(|r| r.extra as usize),
            self.events.get(self.events.start).map(|e| e.data as usize),
        ];
        let bytes_floor = kept_bytes
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(self.bytes.end);
        self.bytes.trim(bytes_floor.min(cut.bytes));
        let n = cut
            .hook_failures
            .saturating_sub(self.hook_base)
            .min(self.hook_failures.len());
        self.hook_failures.drain(..n);
        self.hook_base += n;
        self.compact_idents();
    }

    /// Renumbers the interned identities when most of them belong to trimmed receipts only,
    /// so a long run under `KeepLast` with ever new identities stays flat.
    fn compact_idents(&mut self) {
        if self.idents.ids.len() <= 4096 + 4 * self.receipts.len() {
            return;
        }
        let mut fresh = Idents::default();
        for i in self.receipts.start..self.receipts.end {
            let (s, d) = match self.receipts.get(i) {
                Some(r) => (self.idents.get(r.source), self.idents.get(r.destination)),
                None => continue,
            };
            let (s, d) = (fresh.intern(s), fresh.intern(d));
            if let Some(r) = self.receipts.get_mut(i) {
                r.source = s;
                r.destination = d;
            }
        }
        self.idents = fresh;
    }

    /// Heap bytes held by the kept history (chunks allocated, indexes at capacity).
    pub fn heap_bytes(&self) -> usize {
        self.receipts.heap_bytes()
            + self.events.heap_bytes()
            + self.ticks.heap_bytes()
            + self.digests.heap_bytes()
            + self.bytes.heap_bytes()
            + self.idents.ids.capacity() * 32
            + self.idents.map.capacity() * 37
            + self.by_id.heap_bytes()
            + self.hook_failures.capacity() * std::mem::size_of::<HookFailure>()
    }

    pub fn receipts_view(&self) -> View<'_, Receipt> {
        View::new(self, self.receipts.start, self.receipts.end)
    }
    pub fn events_view(&self) -> View<'_, Event> {
        View::new(self, self.events.start, self.events.end)
    }
    pub fn ticks_view(&self) -> View<'_, TickSummary> {
        View::new(self, self.ticks.start, self.ticks.end)
    }
}

/// A tick's seed: `blake3("comqute tick seed" ‖ previous receipts digest ‖ tick)`, hashed in
/// one call from the stack.
pub(crate) fn tick_seed(prev_chain: &Hash32, tick: Tick) -> Hash32 {
    const TAG: &[u8] = b"comqute tick seed";
    let mut buf = [0u8; TAG.len() + 32 + 4];
    buf[..TAG.len()].copy_from_slice(TAG);
    buf[TAG.len()..TAG.len() + 32].copy_from_slice(&prev_chain.0);
    buf[TAG.len() + 32..].copy_from_slice(&tick.0.to_le_bytes());
    Hash32(*blake3::hash(&buf).as_bytes())
}

/// An event as the history keeps it: an [`Event`] whose data is borrowed, not copied
/// ([`View::refs`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventRef<'a> {
    /// Position in the ledger's event log.
    pub seq: u64,
    /// The tick.
    pub tick: Tick,
    /// The transaction that caused it; `None` for tick and epoch hooks.
    pub tx: Option<TxId>,
    /// The emitting contract.
    pub contract: ContractIndex,
    /// The borsh bytes of the contract's event type.
    pub data: &'a [u8],
}

impl EventRef<'_> {
    /// The owned event.
    pub fn to_event(&self) -> Event {
        Event {
            seq: self.seq,
            tick: self.tick,
            tx: self.tx,
            contract: self.contract,
            data: self.data.to_vec(),
        }
    }
}

/// Absolute receipt indices by transaction id, each stored as its low 32 bits (see
/// [`widen`]) in a table hashed by the id's first 8 bytes: about 4.5 bytes a slot, the full
/// id compared against the receipt's. Built on demand: a receipt is indexed when an id is
/// first looked up after it was made (a batch of inserts then), so a run that never asks for
/// a receipt by id never pays the table's cache misses, two a receipt on a big history.
/// Lookups only: the table is never iterated, so its order cannot reach a digest.
#[derive(Default)]
struct IdIndex {
    inner: std::sync::Mutex<IndexInner>,
}

#[derive(Default)]
struct IndexInner {
    table: hashbrown::HashTable<u32>,
    /// Receipts below this absolute index are indexed (those still kept).
    upto: usize,
}

impl std::fmt::Debug for IdIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IdIndex({} ids)", self.lock().table.len())
    }
}

impl IdIndex {
    fn lock(&self) -> std::sync::MutexGuard<'_, IndexInner> {
        // A panic elsewhere while it was held leaves nothing half-done that matters: at
        // worst a receipt indexed twice, which a lookup tolerates.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
    fn hash(id: &TxId) -> u64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&id.0[..8]);
        // One multiply spreads the prefix over the bits the table uses.
        u64::from_le_bytes(b).wrapping_mul(0xf135_7aea_2e62_a9c5)
    }
    fn id_at(receipts: &Arena<ReceiptRec>, low: u32) -> Option<TxId> {
        receipts.get(widen(low, receipts.start)).map(|r| r.tx_id)
    }
    /// Indexes every receipt made since the last lookup.
    fn catch_up(x: &mut IndexInner, receipts: &Arena<ReceiptRec>) {
        let from = x.upto.max(receipts.start);
        if from >= receipts.end {
            x.upto = x.upto.max(receipts.end);
            return;
        }
        x.table.reserve(receipts.end - from, |low| {
            Self::id_at(receipts, *low).map_or(0, |i| Self::hash(&i))
        });
        for at in from..receipts.end {
            // Invariant: `at` is within the kept receipts.
            let id = receipts.get(at).expect("a kept receipt").tx_id;
            let h = Self::hash(&id);
            let rehash = |low: &u32| Self::id_at(receipts, *low).map_or(0, |i| Self::hash(&i));
            match x
                .table
                .find_entry(h, |low| Self::id_at(receipts, *low) == Some(id))
            {
                // The same id again (a restore may bring one back): the later receipt.
                Ok(mut e) => *e.get_mut() = at as u32,
                Err(_) => {
                    x.table.insert_unique(h, at as u32, rehash);
                }
            }
        }
        x.upto = receipts.end;
    }
    fn get(&self, id: &TxId, receipts: &Arena<ReceiptRec>) -> Option<usize> {
        let mut x = self.lock();
        Self::catch_up(&mut x, receipts);
        let low = *x.table.find(Self::hash(id), |low| {
            Self::id_at(receipts, *low) == Some(*id)
        })?;
        Some(widen(low, receipts.start))
    }
    /// Forgets the receipts from `abs` on (before they are truncated).
    fn forget_from(&mut self, abs: usize, receipts: &Arena<ReceiptRec>) {
        let x = self.inner.get_mut().unwrap_or_else(|e| e.into_inner());
        for i in abs.max(receipts.start)..x.upto.min(receipts.end) {
            if let Some(r) = receipts.get(i) {
                Self::remove(x, &r.tx_id, i);
            }
        }
        x.upto = x.upto.min(abs);
    }
    /// Forgets the receipts before `abs` (before they are trimmed).
    fn forget_before(&mut self, abs: usize, receipts: &Arena<ReceiptRec>) {
        let x = self.inner.get_mut().unwrap_or_else(|e| e.into_inner());
        for i in receipts.start..abs.min(x.upto).min(receipts.end) {
            if let Some(r) = receipts.get(i) {
                Self::remove(x, &r.tx_id, i);
            }
        }
        x.upto = x.upto.max(abs);
    }
    fn remove(x: &mut IndexInner, id: &TxId, at: usize) {
        if let Ok(e) = x.table.find_entry(Self::hash(id), |low| *low == at as u32) {
            e.remove();
        }
    }
    fn heap_bytes(&self) -> usize {
        self.lock().table.capacity() * 5
    }
}

mod sealed {
    pub trait Sealed {}
}

/// A kind of history record a [`View`] decodes: [`Receipt`], [`Event`] or [`TickSummary`].
pub trait HistoryRecord: sealed::Sealed + Sized {
    #[doc(hidden)]
    fn decode(h: &History, abs: usize) -> Option<Self>;
}

impl sealed::Sealed for Receipt {}
impl sealed::Sealed for Event {}
impl sealed::Sealed for TickSummary {}
impl HistoryRecord for Receipt {
    fn decode(h: &History, abs: usize) -> Option<Self> {
        h.receipt_at(abs)
    }
}
impl HistoryRecord for Event {
    fn decode(h: &History, abs: usize) -> Option<Self> {
        h.event_at(abs)
    }
}
impl HistoryRecord for TickSummary {
    fn decode(h: &History, abs: usize) -> Option<Self> {
        h.tick_at(abs)
    }
}

/// A range of a ledger's kept receipts, events or tick summaries, decoded on demand: like a
/// slice of them, but [`View::get`] and the iterator hand out owned records. Indices are
/// relative to the view, as in a slice.
pub struct View<'a, T> {
    h: &'a History,
    start: usize,
    end: usize,
    _t: PhantomData<fn() -> T>,
}

impl<T> Clone for View<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for View<'_, T> {}

impl<'a, T: HistoryRecord> View<'a, T> {
    fn new(h: &'a History, start: usize, end: usize) -> Self {
        View {
            h,
            start,
            end,
            _t: PhantomData,
        }
    }
    /// How many records.
    pub fn len(&self) -> usize {
        self.end - self.start
    }
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }
    /// The `i`-th record of the view.
    pub fn get(&self, i: usize) -> Option<T> {
        if i >= self.len() {
            return None;
        }
        T::decode(self.h, self.start + i)
    }
    /// The first record.
    pub fn first(&self) -> Option<T> {
        self.get(0)
    }
    /// The last record.
    pub fn last(&self) -> Option<T> {
        self.len().checked_sub(1).and_then(|i| self.get(i))
    }
    /// A sub-view, like slicing (`range` is clamped to the view).
    pub fn slice(&self, range: impl RangeBounds<usize>) -> View<'a, T> {
        let lo = match range.start_bound() {
            Bound::Included(&i) => i,
            Bound::Excluded(&i) => i.saturating_add(1),
            Bound::Unbounded => 0,
        };
        let hi = match range.end_bound() {
            Bound::Included(&i) => i.saturating_add(1),
            Bound::Excluded(&i) => i,
            Bound::Unbounded => self.len(),
        };
        let hi = hi.min(self.len());
        let lo = lo.min(hi);
        View::new(self.h, self.start + lo, self.start + hi)
    }
    /// The records in order.
    pub fn iter(&self) -> ViewIter<'a, T> {
        ViewIter { v: *self }
    }
    /// All of them, decoded.
    pub fn to_vec(&self) -> Vec<T> {
        self.iter().collect()
    }
}

impl<'a> View<'a, Event> {
    /// The events with their data borrowed from the history (no copy): for scans that
    /// look at many events and keep few.
    pub fn refs(&self) -> EventRefs<'a> {
        EventRefs { v: *self }
    }
}

/// The iterator of [`View::refs`].
pub struct EventRefs<'a> {
    v: View<'a, Event>,
}

impl<'a> Iterator for EventRefs<'a> {
    type Item = EventRef<'a>;
    fn next(&mut self) -> Option<EventRef<'a>> {
        while self.v.start < self.v.end {
            self.v.start += 1;
            if let Some(e) = self.v.h.event_ref(self.v.start - 1) {
                return Some(e);
            }
        }
        None
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.v.len(), Some(self.v.len()))
    }
}

impl DoubleEndedIterator for EventRefs<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        while self.v.start < self.v.end {
            self.v.end -= 1;
            if let Some(e) = self.v.h.event_ref(self.v.end) {
                return Some(e);
            }
        }
        None
    }
}

impl ExactSizeIterator for EventRefs<'_> {}

impl<T: HistoryRecord + std::fmt::Debug> std::fmt::Debug for View<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Two views are equal when they decode to equal records (wherever they are kept).
impl<T: HistoryRecord + PartialEq> PartialEq for View<'_, T> {
    fn eq(&self, o: &Self) -> bool {
        self.len() == o.len() && self.iter().eq(o.iter())
    }
}

impl<'a, T: HistoryRecord> IntoIterator for View<'a, T> {
    type Item = T;
    type IntoIter = ViewIter<'a, T>;
    fn into_iter(self) -> ViewIter<'a, T> {
        self.iter()
    }
}

/// The iterator of a [`View`].
pub struct ViewIter<'a, T> {
    v: View<'a, T>,
}

impl<T: HistoryRecord> Iterator for ViewIter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        while self.v.start < self.v.end {
            self.v.start += 1;
            if let Some(x) = T::decode(self.v.h, self.v.start - 1) {
                return Some(x);
            }
        }
        None
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.v.len(), Some(self.v.len()))
    }
    fn nth(&mut self, n: usize) -> Option<T> {
        self.v.start = self.v.start.saturating_add(n).min(self.v.end);
        self.next()
    }
    fn count(self) -> usize {
        self.v.len()
    }
    fn last(mut self) -> Option<T> {
        self.next_back()
    }
}

impl<T: HistoryRecord> DoubleEndedIterator for ViewIter<'_, T> {
    fn next_back(&mut self) -> Option<T> {
        while self.v.start < self.v.end {
            self.v.end -= 1;
            if let Some(x) = T::decode(self.v.h, self.v.end) {
                return Some(x);
            }
        }
        None
    }
}

impl<T: HistoryRecord> ExactSizeIterator for ViewIter<'_, T> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arena_push_get_truncate_trim() {
        let mut a: Arena<u64> = Arena::default();
        for i in 0..(3 * CHUNK + 5) as u64 {
            a.push(i);
        }
        assert_eq!(a.get(CHUNK + 7), Some(&(CHUNK as u64 + 7)));
        a.truncate(2 * CHUNK);
        assert_eq!(a.chunks.len(), 2);
        assert_eq!(a.get(2 * CHUNK), None);
        a.push(7);
        assert_eq!(a.get(2 * CHUNK), Some(&7));
        a.trim(CHUNK + 1);
        assert_eq!(a.chunks.len(), 2);
        assert_eq!(a.get(CHUNK), None);
        assert_eq!(a.get(CHUNK + 1), Some(&(CHUNK as u64 + 1)));
        assert_eq!(a.len(), CHUNK);
        a.truncate(0);
        assert_eq!(a.len(), 0);
        a.push(9);
        assert_eq!(a.get(CHUNK + 1), Some(&9));
    }

    #[test]
    fn byte_arena_parts_never_span_chunks() {
        let mut b = ByteArena::default();
        let small = vec![1u8; 1000];
        let mut offs = Vec::new();
        for _ in 0..200 {
            offs.push(b.push(&small));
        }
        let big = vec![2u8; 3 * BYTE_CHUNK];
        let at = b.push(&big);
        assert_eq!(b.get(at, big.len()), &big[..]);
        for o in &offs {
            assert_eq!(b.get(*o, 1000), &small[..]);
        }
        b.truncate(offs[100]);
        assert_eq!(b.end, offs[100]);
        assert_eq!(b.get(offs[99], 1000), &small[..]);
        b.trim(offs[90]);
        assert_eq!(b.get(offs[99], 1000), &small[..]);
    }

    use proptest::prelude::*;

    /// The null identity, three others, and a contract's.
    fn ident(n: u8) -> Identity {
        match n {
            4 => Identity::contract(ContractIndex(7)),
            n => Identity([n; 32]),
        }
    }

    /// A receipt of any shape the ledger makes, its events left out (the history fills them
    /// in from the event log).
    fn receipt() -> impl Strategy<Value = (Receipt, Vec<(u32, Vec<u8>)>, bool)> {
        let status = prop_oneof![
            Just(TxStatus::Executed),
            any::<u32>().prop_map(|c| TxStatus::Failed {
                error: ContractError::UnknownContract(c)
            }),
            ".{0,12}".prop_map(|m| TxStatus::Failed {
                error: ContractError::BadInput(m)
            }),
            Just(TxStatus::Dropped {
                reason: DropReason::BadSignature
            }),
            (any::<i64>(), any::<i64>()).prop_map(|(needed, available)| TxStatus::Dropped {
                reason: DropReason::InsufficientBalance { needed, available }
            }),
            (".{0,8}", any::<[u8; 32]>()).prop_map(|(priority, b)| TxStatus::Dropped {
                reason: DropReason::PoolFull {
                    priority,
                    evicted_by: Hash32(b)
                }
            }),
        ];
        let transfer = (0u8..5, 0u8..5, any::<i64>(), 0u8..3).prop_map(|(f, t, a, k)| Transfer {
            from: ident(f),
            to: ident(t),
            amount: Amount(a),
            kind: [
                TransferKind::Transfer,
                TransferKind::Burn,
                TransferKind::Mint,
            ][k as usize],
        });
        let call = (
            any::<u8>(),
            0u8..5,
            any::<u32>(),
            any::<u16>(),
            any::<i64>(),
            any::<bool>(),
        )
            .prop_map(|(depth, who, c, p, reward, failed)| CallRecord {
                depth,
                invocator: ident(who),
                contract: ContractIndex(c),
                entry: EntryPoint::Procedure(p),
                reward: Amount(reward),
                error: failed.then_some(ContractError::InvalidAmount(reward)),
            });
        (
            (
                any::<[u8; 32]>(),
                0u8..4,
                0u8..4,
                any::<i64>(),
                any::<u16>(),
                status,
            ),
            (
                any::<bool>(),
                proptest::collection::vec(any::<u8>(), 0..40),
                any::<bool>(),
                proptest::collection::vec(transfer, 0..3),
                proptest::collection::vec(call, 0..3),
                proptest::collection::vec(
                    (any::<u32>(), proptest::collection::vec(any::<u8>(), 0..20)),
                    0..3,
                ),
                any::<bool>(),
            ),
        )
            .prop_map(
                |(
                    (id, s, d, amount, input, status),
                    (flew, output, plain, tr, calls, evs, outside),
                )| {
                    let (source, destination) = (ident(s), ident(d));
                    let mut transfers = tr;
                    if plain {
                        transfers = vec![Transfer {
                            from: source,
                            to: destination,
                            amount: Amount(amount),
                            kind: TransferKind::Transfer,
                        }];
                    }
                    let r = Receipt {
                        tx_id: Hash32(id),
                        tick: Tick(0),
                        slot: 0,
                        source,
                        destination,
                        amount: Amount(amount),
                        input_type: input,
                        status,
                        money_flew: flew,
                        output,
                        events: Vec::new(),
                        transfers,
                        calls,
                    };
                    (r, evs, outside)
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// Whatever a receipt holds, the compact history gives it back as it was made, with
        /// its events, tick and slot; and the summaries, events and lookups agree with it.
        #[test]
        fn receipts_come_back_as_they_were_made(
            ticks in proptest::collection::vec(proptest::collection::vec(receipt(), 0..5), 1..6),
            keep in proptest::option::of(1u32..3),
        ) {
            let mut h = History::new(Derive { epoch_ticks: 10, ..Derive::default() });
            let mut made: Vec<Receipt> = Vec::new();
            let mut tick_ids = Vec::new();
            for (t, rs) in ticks.into_iter().enumerate() {
                let tick = Tick(t as u32 * 3 + 1);
                let start = h.mark();
                let mut ids = Vec::new();
                let mut outside_now = Vec::new();
                for (mut r, evs, outside) in rs {
                    if h.contains(&r.tx_id) {
                        continue;
                    }
                    if outside {
                        // Dropped from a full pool: made between ticks, before this one.
                        r.tick = tick;
                        r.slot = u32::MAX;
                        r.status = TxStatus::Dropped { reason: DropReason::BadSignature };
                        outside_now.push(r);
                        continue;
                    }
                    r.tick = tick;
                    r.slot = ids.len() as u32;
                    let first = h.mark();
                    for (c, d) in &evs {
                        h.push_event(tick, Some(first.receipts), ContractIndex(*c), d);
                    }
                    r.events = evs
                        .iter()
                        .enumerate()
                        .map(|(i, (c, d))| Event {
                            seq: (first.events + i) as u64,
                            tick,
                            tx: Some(r.tx_id),
                            contract: ContractIndex(*c),
                            data: d.clone(),
                        })
                        .collect();
                    ids.push(r.tx_id);
                    h.push_receipt(&mut r.clone(), first.events, evs.len(), true);
                    made.push(r);
                }
                h.push_event(tick, None, ContractIndex(1), b"end tick");
                h.push_tick(tick, Hash32([t as u8; 32]), None, start, ids.len());
                tick_ids.push((tick, ids));
                for r in outside_now {
                    if h.contains(&r.tx_id) {
                        continue;
                    }
                    let e = h.mark().events;
                    h.push_receipt(&mut r.clone(), e, 0, false);
                    made.push(r);
                }
                if let Some(k) = keep {
                    h.trim(k, None);
                }
            }
            let kept: Vec<Receipt> = h.receipts_view().to_vec();
            // The kept receipts are the latest made, in order, exactly as made.
            prop_assert_eq!(&kept[..], &made[made.len() - kept.len()..]);
            for r in &kept {
                prop_assert_eq!(h.receipt(&r.tx_id), Some(r.clone()));
            }
            for s in h.ticks_view().iter() {
                let (_, ids) = tick_ids.iter().find(|(t, _)| *t == s.tick).expect("a made tick");
                prop_assert_eq!(&s.transactions, ids);
                let evs: Vec<Event> = h
                    .events_view()
                    .iter()
                    .filter(|e| e.tick == s.tick)
                    .collect();
                prop_assert_eq!(evs.len() as u64, s.event_count);
                prop_assert_eq!(evs.first().map(|e| e.seq).unwrap_or(s.first_event), s.first_event);
            }
            if keep.is_none() {
                prop_assert_eq!(kept.len(), made.len());
            }
        }
    }
}

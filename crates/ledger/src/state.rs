//! The ledger's state: balances (the spectrum) and every contract's storage, kept so that
//! the hot path, snapshots and forks are all cheap whatever the state's size.
//!
//! - **Maps** keep their entries densely, once each in a vector, found through a hash
//!   table of 4-byte positions with a fixed hasher (`dense.rs`); they are never
//!   iterated where the order could reach state or digests. Ordered iteration uses ordered
//!   sets beside them.
//! - **Undo journal**: every write records the old value. A [`Mark`] is a journal length plus
//!   the digest at that moment; undoing to it restores values in reverse, in time proportional
//!   to the changes since the mark. This makes failed calls atomic and snapshots O(1).
//! - **Forks**: [`State::fork`] freezes the current live layer into an `Arc`ed, immutable
//!   layer shared by parent and child, each of which then writes into its own empty live
//!   layer (copy on write, per entry). A fork costs O(1); reads walk at most
//!   [`MAX_LAYERS`] layers (deeper chains are flattened on the next fork).
//! - **Digest**: an additive, order-independent hash over all entries (four 64-bit lanes,
//!   each the wrapping sum of the lanes of the entries' hashes: `blake3(tag ‖ key ‖ value)`
//!   for stored values and set members, `blake3::keyed_hash(identity, tag ‖ record)` for
//!   accounts). **Hashing can be deferred**: then a write never hashes. It takes the
//!   replaced entry's known contribution out of the lanes, marks the new entry dirty and
//!   lists its key; [`State::settle`] hashes each listed entry once, however often it was
//!   written, and [`State::digest`] gives the same value without settling. So the lanes
//!   always equal the sum over the entries whose hash is known, and the digest is that
//!   plus the hashes of the dirty ones. An eager state ([`State::set_eager`]) hashes each
//!   write at once instead. The ledger's `DigestPolicy` chooses: deferred, settled when a
//!   digest is asked for, in the harness; eager, a digest at every busy tick, on a node.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::ops::Bound;
use std::sync::Arc;

use borsh::{BorshDeserialize, BorshSerialize};
use comqute_qpi::contract::MAX_KEY_LEN;
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};

use comqute_qpi::{Amount, ContractError, ContractIndex, Hash32, Identity, Tick};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::dense::DenseMap;
use serde::Serialize;

/// The deepest chain of frozen layers before a fork flattens it.
pub const MAX_LAYERS: usize = 16;

/// A balance record, with Qubic's per-identity counters.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize,
)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    /// Current balance.
    pub balance: i64,
    /// Sum of all amounts received.
    pub incoming_amount: u64,
    /// Sum of all amounts sent (and burned).
    pub outgoing_amount: u64,
    /// Number of transfers received.
    pub number_of_incoming_transfers: u32,
    /// Number of transfers sent.
    pub number_of_outgoing_transfers: u32,
    /// Tick of the latest incoming transfer.
    pub latest_incoming_transfer_tick: u32,
    /// Tick of the latest outgoing transfer.
    pub latest_outgoing_transfer_tick: u32,
}

/// A storage key: the contract index (big-endian, so a contract's keys are contiguous in
/// order) followed by the contract's own key of at most [`MAX_KEY_LEN`] bytes, kept inline.
#[derive(Clone, Copy)]
pub struct StoreKey {
    len: u8,
    bytes: [u8; 4 + MAX_KEY_LEN],
}

impl StoreKey {
    /// The key `key` of `contract`.
    pub fn new(contract: ContractIndex, key: &[u8]) -> Result<StoreKey, ContractError> {
        if key.len() > MAX_KEY_LEN {
            return Err(ContractError::KeyTooLong(key.len()));
        }
        let mut bytes = [0u8; 4 + MAX_KEY_LEN];
        bytes[..4].copy_from_slice(&contract.0.to_be_bytes());
        bytes[4..4 + key.len()].copy_from_slice(key);
        Ok(StoreKey {
            len: (4 + key.len()) as u8,
            bytes,
        })
    }
    /// The smallest key of `contract` (inclusive lower bound of its range).
    fn contract_start(contract: ContractIndex) -> StoreKey {
        let mut bytes = [0u8; 4 + MAX_KEY_LEN];
        bytes[..4].copy_from_slice(&contract.0.to_be_bytes());
        StoreKey { len: 4, bytes }
    }
    /// All bytes: contract index then the contract's key.
    pub fn as_slice(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
    /// The contract's own key.
    pub fn local(&self) -> &[u8] {
        &self.bytes[4..usize::from(self.len)]
    }
    /// The contract the key belongs to.
    pub fn contract(&self) -> ContractIndex {
        ContractIndex(u32::from_be_bytes([
            self.bytes[0],
            self.bytes[1],
            self.bytes[2],
            self.bytes[3],
        ]))
    }
}

// Every constructor zeroes the bytes past `len`, so two keys are equal exactly when their
// whole arrays and lengths are, and comparing the zero-padded arrays first, then the
// lengths, orders them as their byte strings: where the arrays first differ, either both
// keys have a byte there, or the shorter one has ended (a 0 against a byte that, being the
// first difference, is not 0); equal arrays mean one key is the other plus zero bytes, and
// the shorter comes first. The arrays are compared as big-endian words, inline: an array
// compare of this size calls into `memcmp`, which cost more than the comparing.
impl StoreKey {
    /// Word `i` of the zero-padded bytes, big-endian: words compare as the bytes they hold.
    /// Word 5 is bytes 39..47: its first byte is word 4's last, so it adds nothing to an
    /// order word 4 has not decided.
    #[inline(always)]
    fn word(&self, i: usize) -> u64 {
        let at = if i < 5 { i * 8 } else { 39 };
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.bytes[at..at + 8]);
        u64::from_be_bytes(b)
    }
}
const _: () = assert!(4 + MAX_KEY_LEN == 47, "StoreKey::word reads 47 bytes");

impl PartialEq for StoreKey {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && (0..6).all(|i| self.word(i) == other.word(i))
    }
}
impl Eq for StoreKey {}
impl Hash for StoreKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write(&self.bytes);
        state.write_u8(self.len);
    }
}
impl PartialOrd for StoreKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for StoreKey {
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        for i in 0..6 {
            let (a, b) = (self.word(i), other.word(i));
            if a != b {
                return a.cmp(&b);
            }
        }
        self.len.cmp(&other.len)
    }
}
impl std::fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "StoreKey({}:{})",
            self.contract().0,
            hex::encode(self.local())
        )
    }
}

// ---------------------------------------------------------------------------------------------
// The additive digest

/// An order-independent multiset hash: four 64-bit lanes, added and subtracted wrapping.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Lanes(pub [u64; 4]);

impl Lanes {
    fn lanes_of(h: &blake3::Hash) -> [u64; 4] {
        let b = h.as_bytes();
        let w = |i: usize| u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
        [w(0), w(1), w(2), w(3)]
    }
    fn add(&mut self, h: &blake3::Hash) {
        self.add_lanes(&Lanes(Self::lanes_of(h)));
    }
    fn sub(&mut self, h: &blake3::Hash) {
        self.sub_lanes(&Lanes(Self::lanes_of(h)));
    }
    fn add_lanes(&mut self, x: &Lanes) {
        for (l, x) in self.0.iter_mut().zip(x.0) {
            *l = l.wrapping_add(x);
        }
    }
    fn sub_lanes(&mut self, x: &Lanes) {
        for (l, x) in self.0.iter_mut().zip(x.0) {
            *l = l.wrapping_sub(x);
        }
    }
    /// The lane-wise wrapping sum.
    fn plus(&self, x: &Lanes) -> Lanes {
        let mut out = *self;
        out.add_lanes(x);
        out
    }
    /// One entry's contribution.
    fn of(h: &blake3::Hash) -> Lanes {
        Lanes(Self::lanes_of(h))
    }
    /// The lanes as 32 bytes.
    pub fn to_hash(&self) -> Hash32 {
        let mut out = [0u8; 32];
        for (i, l) in self.0.iter().enumerate() {
            out[i * 8..i * 8 + 8].copy_from_slice(&l.to_le_bytes());
        }
        Hash32(out)
    }
}

const TAG_ACCOUNT: u8 = 1;
const TAG_KV: u8 = 2;
const TAG_SET: u8 = 3;

/// An account's entry hash: `blake3::keyed_hash(identity, tag ‖ record)`. The identity is
/// the key (it is 32 bytes, a key's size), so the 41 bytes hashed fit one block: one
/// compression per account write instead of two for `blake3(tag ‖ identity ‖ record)`.
fn account_hash(id: &Identity, a: &Account) -> blake3::Hash {
    let mut buf = [0u8; 1 + 40];
    buf[0] = TAG_ACCOUNT;
    buf[1..9].copy_from_slice(&a.balance.to_le_bytes());
    buf[9..17].copy_from_slice(&a.incoming_amount.to_le_bytes());
    buf[17..25].copy_from_slice(&a.outgoing_amount.to_le_bytes());
    buf[25..29].copy_from_slice(&a.number_of_incoming_transfers.to_le_bytes());
    buf[29..33].copy_from_slice(&a.number_of_outgoing_transfers.to_le_bytes());
    buf[33..37].copy_from_slice(&a.latest_incoming_transfer_tick.to_le_bytes());
    buf[37..41].copy_from_slice(&a.latest_outgoing_transfer_tick.to_le_bytes());
    blake3::keyed_hash(&id.0, &buf)
}

/// Entries up to this size are hashed from one stack buffer in one call (the streaming
/// hasher gives the same hash for the same bytes, at a higher fixed cost).
const SMALL_ENTRY: usize = 512;

fn kv_hash(k: &StoreKey, v: &[u8]) -> blake3::Hash {
    let key = k.as_slice();
    let n = 2 + key.len() + v.len();
    if n <= SMALL_ENTRY {
        let mut buf = [0u8; SMALL_ENTRY];
        buf[0] = TAG_KV;
        buf[1] = k.len;
        buf[2..2 + key.len()].copy_from_slice(key);
        buf[2 + key.len()..n].copy_from_slice(v);
        return blake3::hash(&buf[..n]);
    }
    let mut h = blake3::Hasher::new();
    h.update(&[TAG_KV, k.len]);
    h.update(key);
    h.update(v);
    h.finalize()
}

fn set_hash(k: &StoreKey) -> blake3::Hash {
    let key = k.as_slice();
    let mut buf = [0u8; 2 + 4 + MAX_KEY_LEN];
    buf[0] = TAG_SET;
    buf[1] = k.len;
    buf[2..2 + key.len()].copy_from_slice(key);
    blake3::hash(&buf[..2 + key.len()])
}

/// Below this many, a dirty list is never compacted.
const COMPACT_MIN: usize = 4096;
/// A settled dirty list keeps at most this capacity (a big settle frees its buffer).
const KEEP_CAPACITY: usize = 1 << 16;

/// Whether a dirty list is long and at its capacity: compacting it then, before it would
/// grow, costs O(1) amortized per entry.
fn is_full<T>(v: &Vec<T>) -> bool {
    v.len() >= COMPACT_MIN && v.len() == v.capacity()
}

/// An emptied dirty list, its buffer kept unless it grew big.
fn shrunk<T>(mut v: Vec<T>) -> Vec<T> {
    v.clear();
    if v.capacity() > KEEP_CAPACITY {
        v.shrink_to(COMPACT_MIN);
    }
    v
}

/// Keeps each key once, and only the keys `dirty` still says are dirty: a key is listed
/// again when its entry was removed and written again, and a removed one needs no hashing.
/// The list's order does not matter (settling adds hashes, which commute).
fn compact_keys<K: Ord>(keys: &mut Vec<K>, dirty: impl Fn(&K) -> bool) {
    keys.retain(|k| dirty(k));
    keys.sort_unstable();
    keys.dedup();
}

/// Replaces the membership changes by their net effect: per key, its last change when the
/// key flipped an odd number of times (one flip from its settled membership), nothing when
/// even. Bounds the list by the keys changed, however often they were.
fn compact_set_changes(changes: &mut Vec<(StoreKey, bool)>) {
    changes.sort_by_key(|c| c.0);
    let mut net = Vec::with_capacity(changes.len() / 2 + 1);
    {
        let refs: Vec<&(StoreKey, bool)> = changes.iter().collect();
        for_net_set_changes(&refs, |k, member| net.push((*k, member)));
    }
    changes.clear();
    changes.extend(net);
}

/// Calls `f(key, member)` for each key whose membership the changes flip an odd number of
/// times (a net change: `member` is its membership now). `changes` is sorted by key, each
/// key's changes in the order they were made; every change flips its key's membership.
fn for_net_set_changes(changes: &[&(StoreKey, bool)], mut f: impl FnMut(&StoreKey, bool)) {
    for group in changes.chunk_by(|a, b| a.0 == b.0) {
        match group.last() {
            Some(last) if group.len() % 2 == 1 => f(&last.0, last.1),
            _ => {}
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Layered maps and sets

struct MapLayer<K, V> {
    map: DenseMap<K, Option<V>>,
    parent: Option<Arc<MapLayer<K, V>>>,
    depth: usize,
}

/// A hash map with copy-on-write forks: a live layer over a chain of frozen, shared layers.
/// `None` in a layer is a tombstone hiding the value below.
struct LayeredMap<K, V> {
    live: DenseMap<K, Option<V>>,
    frozen: Option<Arc<MapLayer<K, V>>>,
}

impl<K: Hash + Eq + Clone, V: Clone> LayeredMap<K, V> {
    fn new() -> Self {
        LayeredMap {
            live: DenseMap::default(),
            frozen: None,
        }
    }

    fn get(&self, k: &K) -> Option<&V> {
        if let Some(v) = self.live.get(k) {
            return v.as_ref();
        }
        let mut layer = self.frozen.as_deref();
        while let Some(l) = layer {
            if let Some(v) = l.map.get(k) {
                return v.as_ref();
            }
            layer = l.parent.as_deref();
        }
        None
    }

    /// The live layer's value for `k`, when the live layer holds one.
    fn live_mut(&mut self, k: &K) -> Option<&mut V> {
        self.live.get_mut(k).and_then(|v| v.as_mut())
    }

    /// Sets `k` to `v` (or removes it when `None`); returns the old value.
    fn set(&mut self, k: K, v: Option<V>) -> Option<V> {
        if self.frozen.is_none() {
            return match v {
                Some(v) => self.live.insert(k, Some(v)).flatten(),
                None => self.live.remove(&k).flatten(),
            };
        }
        let old = match self.live.get(&k) {
            Some(v) => v.clone(),
            None => self.get(&k).cloned(),
        };
        self.live.insert(k, v);
        old
    }

    fn fork(&mut self) -> Self {
        self.freeze();
        LayeredMap {
            live: DenseMap::default(),
            frozen: self.frozen.clone(),
        }
    }

    fn freeze(&mut self) {
        let depth = self.frozen.as_ref().map_or(0, |l| l.depth);
        if self.live.is_empty() && depth <= MAX_LAYERS {
            return;
        }
        let map = std::mem::take(&mut self.live);
        if depth >= MAX_LAYERS {
            // Flatten: copy every visible entry into one new base layer.
            let mut flat: DenseMap<K, Option<V>> = DenseMap::default();
            let mut chain = Vec::new();
            let mut layer = self.frozen.as_deref();
            while let Some(l) = layer {
                chain.push(l);
                layer = l.parent.as_deref();
            }
            for l in chain.iter().rev() {
                for (k, v) in l.map.iter() {
                    match v {
                        Some(v) => flat.insert(k.clone(), Some(v.clone())),
                        None => flat.remove(k),
                    };
                }
            }
            for (k, v) in map {
                match v {
                    Some(v) => flat.insert(k, Some(v)),
                    None => flat.remove(&k),
                };
            }
            self.frozen = Some(Arc::new(MapLayer {
                map: flat,
                parent: None,
                depth: 1,
            }));
        } else {
            let parent = self.frozen.take();
            self.frozen = Some(Arc::new(MapLayer {
                map,
                parent,
                depth: depth + 1,
            }));
        }
    }

    /// Every visible entry, in no particular order (callers sort).
    fn visible(&self) -> Vec<(&K, &V)> {
        let mut seen: FxHashMap<&K, ()> = FxHashMap::default();
        let mut out = Vec::new();
        let mut layers: Vec<&DenseMap<K, Option<V>>> = vec![&self.live];
        let mut layer = self.frozen.as_deref();
        while let Some(l) = layer {
            layers.push(&l.map);
            layer = l.parent.as_deref();
        }
        for map in layers {
            for (k, v) in map.iter() {
                if seen.insert(k, ()).is_none() {
                    if let Some(v) = v {
                        out.push((k, v));
                    }
                }
            }
        }
        out
    }
}

/// Merges ordered layer iterators (top layer first), passing up to `limit` visible keys to
/// `visit` until it says stop (`false`); the topmost layer holding a key decides whether it
/// is present.
fn merge<'a, K: Ord + Clone + 'a, I: Iterator<Item = (&'a K, &'a bool)>>(
    mut iters: Vec<std::iter::Peekable<I>>,
    limit: usize,
    before: impl Fn(&K, &K) -> bool,
    visit: &mut dyn FnMut(&K) -> bool,
) {
    let mut seen = 0;
    while seen < limit {
        let mut best: Option<&K> = None;
        for it in iters.iter_mut() {
            if let Some((k, _)) = it.peek() {
                if best.is_none_or(|b| before(k, b)) {
                    best = Some(*k);
                }
            }
        }
        let Some(key) = best else { break };
        let key = key.clone();
        let mut present = None;
        for it in iters.iter_mut() {
            if let Some((_, p)) = it.next_if(|(k, _)| **k == key) {
                // Layers are listed top first: the first that holds the key decides.
                present.get_or_insert(*p);
            }
        }
        if present == Some(true) {
            seen += 1;
            if !visit(&key) {
                break;
            }
        }
    }
}

struct SetLayer<K> {
    set: BTreeMap<K, bool>,
    parent: Option<Arc<SetLayer<K>>>,
    depth: usize,
}

/// An ordered set with the same fork structure; `false` is a tombstone.
struct LayeredSet<K> {
    live: BTreeMap<K, bool>,
    frozen: Option<Arc<SetLayer<K>>>,
}

impl<K: Ord + Clone> LayeredSet<K> {
    fn new() -> Self {
        LayeredSet {
            live: BTreeMap::new(),
            frozen: None,
        }
    }

    fn contains(&self, k: &K) -> bool {
        if let Some(&p) = self.live.get(k) {
            return p;
        }
        let mut layer = self.frozen.as_deref();
        while let Some(l) = layer {
            if let Some(&p) = l.set.get(k) {
                return p;
            }
            layer = l.parent.as_deref();
        }
        false
    }

    /// Sets membership; returns the old membership.
    fn set(&mut self, k: K, present: bool) -> bool {
        if self.frozen.is_none() {
            return if present {
                self.live.insert(k, true).is_some()
            } else {
                self.live.remove(&k).is_some()
            };
        }
        let old = self.contains(&k);
        self.live.insert(k, present);
        old
    }

    /// The layers holding anything, top first: an empty layer neither shows nor hides a key.
    fn nonempty_layers(&self) -> impl Iterator<Item = &BTreeMap<K, bool>> {
        std::iter::once(&self.live)
            .chain(
                std::iter::successors(self.frozen.as_deref(), |l| l.parent.as_deref())
                    .map(|l| &l.set),
            )
            .filter(|m| !m.is_empty())
    }

    /// Up to `limit` visible keys within the bounds, merged across layers.
    fn range(&self, lower: Bound<&K>, upper: Bound<&K>, limit: usize, reverse: bool) -> Vec<K> {
        let mut out = Vec::new();
        self.visit(lower, upper, limit, reverse, &mut |k| {
            out.push(k.clone());
            true
        });
        out
    }

    /// Passes up to `limit` visible keys within the bounds to `visit`, in order, until it
    /// says stop (`false`): no vector of keys is made.
    fn visit(
        &self,
        lower: Bound<&K>,
        upper: Bound<&K>,
        limit: usize,
        reverse: bool,
        visit: &mut dyn FnMut(&K) -> bool,
    ) {
        let mut it = self.nonempty_layers();
        match (it.next(), it.next()) {
            (None, _) => return,
            (Some(only), None) => {
                // One layer with entries: no merge; a tombstone in it hides nothing (every
                // layer below is empty), so it is just skipped. The tree is searched for the
                // starting bound only (a two-sided range searches for both ends first); the
                // walk stops at the first key past the other one, usually within a few keys.
                fn present<'a, K>((k, p): (&'a K, &'a bool)) -> Option<&'a K> {
                    p.then_some(k)
                }
                if reverse {
                    let r = only.range::<K, _>((Bound::Unbounded, upper));
                    let within = |(k, _): &(&K, &bool)| match lower {
                        Bound::Included(l) => *k >= l,
                        Bound::Excluded(l) => *k > l,
                        Bound::Unbounded => true,
                    };
                    for k in r.rev().take_while(within).filter_map(present).take(limit) {
                        if !visit(k) {
                            break;
                        }
                    }
                } else {
                    let r = only.range::<K, _>((lower, Bound::Unbounded));
                    let within = |(k, _): &(&K, &bool)| match upper {
                        Bound::Included(u) => *k <= u,
                        Bound::Excluded(u) => *k < u,
                        Bound::Unbounded => true,
                    };
                    for k in r.take_while(within).filter_map(present).take(limit) {
                        if !visit(k) {
                            break;
                        }
                    }
                }
                return;
            }
            _ => {}
        }
        let layers: Vec<&BTreeMap<K, bool>> = self.nonempty_layers().collect();
        if reverse {
            let iters = layers
                .iter()
                .map(|l| l.range::<K, _>((lower, upper)).rev().peekable())
                .collect();
            merge(iters, limit, |a, b| a > b, visit);
        } else {
            let iters = layers
                .iter()
                .map(|l| l.range::<K, _>((lower, upper)).peekable())
                .collect();
            merge(iters, limit, |a, b| a < b, visit);
        }
    }

    fn fork(&mut self) -> Self {
        self.freeze();
        LayeredSet {
            live: BTreeMap::new(),
            frozen: self.frozen.clone(),
        }
    }

    fn freeze(&mut self) {
        let depth = self.frozen.as_ref().map_or(0, |l| l.depth);
        if self.live.is_empty() && depth <= MAX_LAYERS {
            return;
        }
        let set = std::mem::take(&mut self.live);
        if depth >= MAX_LAYERS {
            let tmp = LayeredSet {
                live: set,
                frozen: self.frozen.take(),
            };
            let flat: BTreeMap<K, bool> = tmp
                .range(Bound::Unbounded, Bound::Unbounded, usize::MAX, false)
                .into_iter()
                .map(|k| (k, true))
                .collect();
            self.frozen = Some(Arc::new(SetLayer {
                set: flat,
                parent: None,
                depth: 1,
            }));
        } else {
            let parent = self.frozen.take();
            self.frozen = Some(Arc::new(SetLayer {
                set,
                parent,
                depth: depth + 1,
            }));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The state

/// What an account or stored value contributes to the digest lanes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cache {
    /// Its entry hash, counted in [`State`]'s lanes.
    Hashed(Lanes),
    /// Written since the last [`State::settle`]: not counted yet; its key is on the dirty
    /// list.
    Dirty,
}

#[derive(Clone)]
enum Undo {
    Account(Identity, Option<(Account, Cache)>),
    Kv(StoreKey, Option<(Box<[u8]>, Cache)>),
    Set(StoreKey, bool),
    Supply { minted: i128, burned: i128 },
}

/// A point in the journal to undo to; see [`State::mark`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    journal_len: usize,
}

/// Replaces an entry's contribution to `lanes`: the old entry's known hash leaves the lanes;
/// a new entry's known hash joins them, and a new dirty entry puts its key on `dirty` unless
/// the old one was dirty already (its key is listed then). A dirty entry that is removed
/// leaves its key listed; settling finds nothing there and moves on.
fn replace_cache<K>(
    lanes: &mut Lanes,
    dirty: &mut Vec<K>,
    key: K,
    old: Option<Cache>,
    new: Option<Cache>,
) {
    if let Some(Cache::Hashed(c)) = old {
        lanes.sub_lanes(&c);
    }
    match new {
        Some(Cache::Hashed(h)) => lanes.add_lanes(&h),
        Some(Cache::Dirty) if old != Some(Cache::Dirty) => dirty.push(key),
        _ => {}
    }
}

/// Replaces an entry of `map` (a write or an undo), keeping `lanes` and the `dirty` list
/// right (compacted when it fills); returns the old entry.
fn set_entry<K: Hash + Ord + Clone, V: Clone>(
    map: &mut LayeredMap<K, (V, Cache)>,
    lanes: &mut Lanes,
    dirty: &mut Vec<K>,
    key: K,
    new: Option<(V, Cache)>,
) -> Option<(V, Cache)> {
    let new_cache = new.as_ref().map(|e| e.1);
    let old = map.set(key.clone(), new);
    replace_cache(lanes, dirty, key, old.as_ref().map(|e| e.1), new_cache);
    if is_full(dirty) {
        let map = &*map;
        compact_keys(dirty, |k| matches!(map.get(k), Some((_, Cache::Dirty))));
    }
    old
}

/// Balances and contract storage, journaled and forkable. Every account and stored value
/// carries its contribution to the digest once it is known, so replacing it never hashes the
/// old value again; a written entry is hashed when the state is settled (see the module
/// docs), once however many times it was written.
pub struct State {
    accounts: LayeredMap<Identity, (Account, Cache)>,
    kv: LayeredMap<StoreKey, (Box<[u8]>, Cache)>,
    sets: LayeredSet<StoreKey>,
    journal: Vec<Undo>,
    /// The sum of every known entry hash and of the set members as of the last settle.
    lanes: Lanes,
    /// Accounts written since the last settle (a key may be listed twice).
    dirty_accounts: Vec<Identity>,
    /// Stored values written since the last settle (a key may be listed twice).
    dirty_kv: Vec<StoreKey>,
    /// Ordered-set membership changes since the last settle, in order: (key, member now).
    /// Every entry flips the key's membership.
    dirty_sets: Vec<(StoreKey, bool)>,
    /// Set when [`State::digest`] computed a digest over dirty entries without settling:
    /// the owner may then settle at its next chance ([`State::settle_if_asked`]), so asking
    /// again costs only what was written since.
    asked: AtomicBool,
    /// Every write is hashed at once (no entry is left dirty).
    eager: bool,
    minted: i128,
    burned: i128,
}

impl Default for State {
    fn default() -> Self {
        State::new()
    }
}

/// A state's money totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Supply {
    /// Everything ever created (genesis funding, faucet).
    pub minted: i128,
    /// Everything ever destroyed by burns.
    pub burned: i128,
}

impl Supply {
    /// What the sum of all balances must be.
    pub fn circulating(&self) -> i128 {
        self.minted - self.burned
    }
}

impl State {
    /// An empty state.
    pub fn new() -> Self {
        State {
            accounts: LayeredMap::new(),
            kv: LayeredMap::new(),
            sets: LayeredSet::new(),
            journal: Vec::new(),
            lanes: Lanes::default(),
            dirty_accounts: Vec::new(),
            dirty_kv: Vec::new(),
            dirty_sets: Vec::new(),
            asked: AtomicBool::new(false),
            eager: false,
            minted: 0,
            burned: 0,
        }
    }

    // --- the digest -------------------------------------------------------------------------

    /// The order-independent digest of everything in the state. Entries written since the
    /// last [`State::settle`] are hashed here (once each, not cached: `&self`); the state
    /// remembers it was asked, so its owner can settle at its next chance.
    pub fn digest(&self) -> Hash32 {
        self.lanes().to_hash()
    }

    /// The digest's raw lanes (cheap to compare once settled).
    pub fn lanes(&self) -> Lanes {
        if !self.is_settled() {
            self.asked.store(true, AtomicOrdering::Relaxed);
        }
        self.lanes.plus(&self.pending_lanes())
    }

    /// Whether every entry's hash is known (the digest then costs nothing).
    pub fn is_settled(&self) -> bool {
        self.dirty_accounts.is_empty() && self.dirty_kv.is_empty() && self.dirty_sets.is_empty()
    }

    /// How many entries (accounts, stored values, set changes) are listed dirty.
    pub fn dirty_len(&self) -> usize {
        self.dirty_accounts.len() + self.dirty_kv.len() + self.dirty_sets.len()
    }

    /// Entries written since the last settle: (accounts, stored values, set changes) listed.
    pub fn dirty_counts(&self) -> (usize, usize, usize) {
        (
            self.dirty_accounts.len(),
            self.dirty_kv.len(),
            self.dirty_sets.len(),
        )
    }

    /// What the dirty entries add to the lanes (their hashes, computed, not kept).
    fn pending_lanes(&self) -> Lanes {
        let mut lanes = Lanes::default();
        if self.is_settled() {
            return lanes;
        }
        // A key can be listed twice (written, removed, written again); count it once. The
        // sets only answer membership: they are never iterated.
        let mut seen: FxHashSet<&Identity> = FxHashSet::default();
        for id in &self.dirty_accounts {
            if let Some((a, Cache::Dirty)) = self.accounts.get(id) {
                if seen.insert(id) {
                    lanes.add(&account_hash(id, a));
                }
            }
        }
        let mut seen: FxHashSet<&StoreKey> = FxHashSet::default();
        for k in &self.dirty_kv {
            if let Some((v, Cache::Dirty)) = self.kv.get(k) {
                if seen.insert(k) {
                    lanes.add(&kv_hash(k, v));
                }
            }
        }
        let mut changes: Vec<&(StoreKey, bool)> = self.dirty_sets.iter().collect();
        changes.sort_by_key(|a| a.0);
        for_net_set_changes(&changes, |k, member| {
            if member {
                lanes.add(&set_hash(k));
            } else {
                lanes.sub(&set_hash(k));
            }
        });
        lanes
    }

    /// Hashes every entry written since the last settle, once each, into the lanes. Costs
    /// one hash per distinct entry written (ordered-set members added and removed again in
    /// between cost nothing); O(1) when nothing was written.
    pub fn settle(&mut self) {
        *self.asked.get_mut() = false;
        if self.is_settled() {
            return;
        }
        let mut ids = std::mem::take(&mut self.dirty_accounts);
        for id in ids.drain(..) {
            // Dirty entries live in the live layer: writes go there, and a fork settles first.
            if let Some((a, c @ Cache::Dirty)) = self.accounts.live_mut(&id) {
                let h = Lanes::of(&account_hash(&id, a));
                *c = Cache::Hashed(h);
                self.lanes.add_lanes(&h);
            }
        }
        self.dirty_accounts = shrunk(ids);
        let mut keys = std::mem::take(&mut self.dirty_kv);
        for k in keys.drain(..) {
            if let Some((v, c @ Cache::Dirty)) = self.kv.live_mut(&k) {
                let h = Lanes::of(&kv_hash(&k, v));
                *c = Cache::Hashed(h);
                self.lanes.add_lanes(&h);
            }
        }
        self.dirty_kv = shrunk(keys);
        let mut changes = std::mem::take(&mut self.dirty_sets);
        // Stable: a key's changes stay in the order they were made.
        changes.sort_by_key(|a| a.0);
        let refs: Vec<&(StoreKey, bool)> = changes.iter().collect();
        let lanes = &mut self.lanes;
        for_net_set_changes(&refs, |k, member| {
            if member {
                lanes.add(&set_hash(k));
            } else {
                lanes.sub(&set_hash(k));
            }
        });
        drop(refs);
        changes.clear();
        self.dirty_sets = shrunk(changes);
    }

    /// From now on, hash every write as it is made (`true`; the state is settled first) or
    /// defer the hashing to [`State::settle`] (`false`, the default). The digest is the
    /// same either way; a fork keeps the choice.
    pub fn set_eager(&mut self, eager: bool) {
        self.settle();
        self.eager = eager;
    }

    /// Settles if [`State::digest`] was asked since the last settle (see `asked`).
    pub fn settle_if_asked(&mut self) {
        if *self.asked.get_mut() {
            self.settle();
        }
    }

    /// Money created and destroyed so far.
    pub fn supply(&self) -> Supply {
        Supply {
            minted: self.minted,
            burned: self.burned,
        }
    }

    // --- accounts -------------------------------------------------------------------------

    /// An identity's balance record (all zeros when it never held money).
    pub fn account(&self, id: &Identity) -> Account {
        self.accounts.get(id).map(|a| a.0).unwrap_or_default()
    }

    /// An identity's balance.
    pub fn balance(&self, id: &Identity) -> Amount {
        Amount(self.accounts.get(id).map_or(0, |a| a.0.balance))
    }

    fn put_account(&mut self, id: Identity, new: Account) {
        let cache = if self.eager {
            Cache::Hashed(Lanes::of(&account_hash(&id, &new)))
        } else {
            Cache::Dirty
        };
        let old = self.set_account_entry(id, Some((new, cache)));
        self.journal.push(Undo::Account(id, old));
    }

    /// Replaces an account entry (a write or an undo), keeping the lanes and the dirty list
    /// right; returns the old entry.
    fn set_account_entry(
        &mut self,
        id: Identity,
        new: Option<(Account, Cache)>,
    ) -> Option<(Account, Cache)> {
        set_entry(
            &mut self.accounts,
            &mut self.lanes,
            &mut self.dirty_accounts,
            id,
            new,
        )
    }

    /// Moves `amount` from `from` to `to` at `tick`, updating Qubic's counters.
    pub fn transfer(
        &mut self,
        from: &Identity,
        to: &Identity,
        amount: Amount,
        tick: Tick,
    ) -> Result<(), ContractError> {
        if amount.0 < 0 {
            return Err(ContractError::InvalidAmount(amount.0));
        }
        let mut src = self.account(from);
        if src.balance < amount.0 {
            return Err(ContractError::InsufficientFunds {
                needed: amount.0,
                available: src.balance,
            });
        }
        if from == to {
            return Ok(());
        }
        let mut dst = self.account(to);
        let new_dst = dst
            .balance
            .checked_add(amount.0)
            .ok_or(ContractError::InvalidAmount(amount.0))?;
        src.balance -= amount.0;
        src.outgoing_amount = src.outgoing_amount.wrapping_add(amount.0 as u64);
        src.number_of_outgoing_transfers = src.number_of_outgoing_transfers.wrapping_add(1);
        src.latest_outgoing_transfer_tick = tick.0;
        dst.balance = new_dst;
        dst.incoming_amount = dst.incoming_amount.wrapping_add(amount.0 as u64);
        dst.number_of_incoming_transfers = dst.number_of_incoming_transfers.wrapping_add(1);
        dst.latest_incoming_transfer_tick = tick.0;
        self.put_account(*from, src);
        self.put_account(*to, dst);
        Ok(())
    }

    /// Creates `amount` out of nothing for `to` (genesis funding and the devnet faucet).
    pub fn mint(&mut self, to: &Identity, amount: Amount, tick: Tick) -> Result<(), ContractError> {
        if amount.0 < 0 {
            return Err(ContractError::InvalidAmount(amount.0));
        }
        let mut dst = self.account(to);
        dst.balance = dst
            .balance
            .checked_add(amount.0)
            .ok_or(ContractError::InvalidAmount(amount.0))?;
        dst.incoming_amount = dst.incoming_amount.wrapping_add(amount.0 as u64);
        dst.number_of_incoming_transfers = dst.number_of_incoming_transfers.wrapping_add(1);
        dst.latest_incoming_transfer_tick = tick.0;
        self.journal.push(Undo::Supply {
            minted: self.minted,
            burned: self.burned,
        });
        self.minted += i128::from(amount.0);
        self.put_account(*to, dst);
        Ok(())
    }

    /// Destroys `amount` held by `from`.
    pub fn burn(
        &mut self,
        from: &Identity,
        amount: Amount,
        tick: Tick,
    ) -> Result<(), ContractError> {
        if amount.0 < 0 {
            return Err(ContractError::InvalidAmount(amount.0));
        }
        let mut src = self.account(from);
        if src.balance < amount.0 {
            return Err(ContractError::InsufficientFunds {
                needed: amount.0,
                available: src.balance,
            });
        }
        src.balance -= amount.0;
        src.outgoing_amount = src.outgoing_amount.wrapping_add(amount.0 as u64);
        src.number_of_outgoing_transfers = src.number_of_outgoing_transfers.wrapping_add(1);
        src.latest_outgoing_transfer_tick = tick.0;
        self.journal.push(Undo::Supply {
            minted: self.minted,
            burned: self.burned,
        });
        self.burned += i128::from(amount.0);
        self.put_account(*from, src);
        Ok(())
    }

    // --- contract storage -----------------------------------------------------------------

    /// A contract's stored value.
    pub fn kv_get(&self, key: &StoreKey) -> Option<&[u8]> {
        self.kv.get(key).map(|b| &b.0[..])
    }

    /// Stores (or with `None` removes) a contract's value; returns whether one was there.
    pub fn kv_set(&mut self, key: StoreKey, value: Option<Box<[u8]>>) -> bool {
        if let Some(v) = &value {
            if self.kv.get(&key).is_some_and(|(old, _)| **old == **v) {
                // Rewriting the same bytes changes nothing: no hash, no journal entry.
                return true;
            }
        }
        let eager = self.eager;
        let old = self.set_kv_entry(
            key,
            value.map(|v| {
                let cache = if eager {
                    Cache::Hashed(Lanes::of(&kv_hash(&key, &v)))
                } else {
                    Cache::Dirty
                };
                (v, cache)
            }),
        );
        let had = old.is_some();
        self.journal.push(Undo::Kv(key, old));
        had
    }

    /// Replaces a stored value's entry (a write or an undo), keeping the lanes and the dirty
    /// list right; returns the old entry.
    fn set_kv_entry(
        &mut self,
        key: StoreKey,
        new: Option<(Box<[u8]>, Cache)>,
    ) -> Option<(Box<[u8]>, Cache)> {
        set_entry(&mut self.kv, &mut self.lanes, &mut self.dirty_kv, key, new)
    }

    /// Records a flip of `key`'s membership for the next settle.
    fn note_set_change(&mut self, key: StoreKey, member: bool) {
        if self.eager {
            if member {
                self.lanes.add(&set_hash(&key));
            } else {
                self.lanes.sub(&set_hash(&key));
            }
            return;
        }
        self.dirty_sets.push((key, member));
        if is_full(&self.dirty_sets) {
            compact_set_changes(&mut self.dirty_sets);
        }
    }

    /// Whether a contract's ordered set holds `key`.
    pub fn set_contains(&self, key: &StoreKey) -> bool {
        self.sets.contains(key)
    }

    /// Sets membership in a contract's ordered set; returns the old membership.
    pub fn set_put(&mut self, key: StoreKey, present: bool) -> bool {
        let old = self.sets.set(key, present);
        if old != present {
            self.note_set_change(key, present);
            self.journal.push(Undo::Set(key, old));
        }
        old
    }

    /// Up to `limit` keys of `contract`'s ordered set within the bounds (contract-local keys).
    pub fn set_range(
        &self,
        contract: ContractIndex,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        limit: usize,
        reverse: bool,
    ) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        self.set_visit(contract, lower, upper, limit, reverse, &mut |k| {
            out.push(k.to_vec());
            true
        });
        out
    }

    /// Passes up to `limit` keys of `contract`'s ordered set within the bounds
    /// (contract-local keys), in order, to `visit` until it says stop (`false`): the keys are
    /// lent, never copied into a vector.
    pub fn set_visit(
        &self,
        contract: ContractIndex,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        limit: usize,
        reverse: bool,
        visit: &mut dyn FnMut(&[u8]) -> bool,
    ) {
        let start = StoreKey::contract_start(contract);
        let end = StoreKey::contract_start(ContractIndex(contract.0.wrapping_add(1)));
        let conv = |b: Bound<&[u8]>, is_lower: bool| -> Bound<StoreKey> {
            match b {
                Bound::Included(k) | Bound::Excluded(k) if k.len() > MAX_KEY_LEN => {
                    // A bound longer than any key: compare on its first MAX_KEY_LEN bytes.
                    let cut =
                        StoreKey::new(contract, &k[..MAX_KEY_LEN]).expect("cut to max length");
                    if is_lower {
                        Bound::Excluded(cut)
                    } else {
                        Bound::Included(cut)
                    }
                }
                Bound::Included(k) => {
                    Bound::Included(StoreKey::new(contract, k).expect("length checked"))
                }
                Bound::Excluded(k) => {
                    Bound::Excluded(StoreKey::new(contract, k).expect("length checked"))
                }
                Bound::Unbounded => {
                    if is_lower {
                        Bound::Included(start)
                    } else if contract.0 == u32::MAX {
                        Bound::Unbounded
                    } else {
                        Bound::Excluded(end)
                    }
                }
            }
        };
        let lo = conv(lower, true);
        let hi = conv(upper, false);
        // An inverted range would panic in BTreeMap::range; it is simply empty.
        let empty = match (&lo, &hi) {
            (Bound::Included(a) | Bound::Excluded(a), Bound::Included(b) | Bound::Excluded(b)) => {
                a > b
                    || (a == b
                        && !(matches!(lo, Bound::Included(_)) && matches!(hi, Bound::Included(_))))
            }
            _ => false,
        };
        if empty {
            return;
        }
        self.sets
            .visit(lo.as_ref(), hi.as_ref(), limit, reverse, &mut |k| {
                // Invariant: the bounds are within `contract`'s keys; a key of another
                // contract ends the walk.
                k.contract() == contract && visit(k.local())
            });
    }

    // --- journal ----------------------------------------------------------------------------

    /// The current point of the journal.
    pub fn mark(&self) -> Mark {
        Mark {
            journal_len: self.journal.len(),
        }
    }

    /// Undoes every change made after `mark`, in reverse. Each undo is a write back to the
    /// old entry, which carries its hash when it was known: undoing never hashes, and the
    /// digest stays right whether or not the state was settled in between.
    pub fn undo_to(&mut self, mark: Mark) {
        while self.journal.len() > mark.journal_len {
            let Some(undo) = self.journal.pop() else {
                break;
            };
            match undo {
                Undo::Account(id, old) => {
                    self.set_account_entry(id, old);
                }
                Undo::Kv(k, old) => {
                    self.set_kv_entry(k, old);
                }
                Undo::Set(k, old) => {
                    // The journal recorded a flip, undone in reverse order: this flips back.
                    self.sets.set(k, old);
                    self.note_set_change(k, old);
                }
                Undo::Supply { minted, burned } => {
                    self.minted = minted;
                    self.burned = burned;
                }
            }
        }
    }

    /// Whether any account, stored value or set member differs from what it was at `mark`
    /// (money totals aside: the digest does not cover them). Compares values, hashes
    /// nothing: the same answer as comparing digests, without settling. O(changes since).
    pub fn changed_since(&self, mark: Mark) -> bool {
        let entries = self.journal.get(mark.journal_len..).unwrap_or_default();
        // The first journal entry of a key after the mark holds its value at the mark. The
        // sets only answer membership: they are never iterated.
        let mut accounts: FxHashSet<&Identity> = FxHashSet::default();
        let mut kv: FxHashSet<&StoreKey> = FxHashSet::default();
        let mut sets: FxHashSet<&StoreKey> = FxHashSet::default();
        for u in entries {
            let differs = match u {
                Undo::Account(id, old) => {
                    accounts.insert(id)
                        && old.as_ref().map(|e| &e.0) != self.accounts.get(id).map(|e| &e.0)
                }
                Undo::Kv(k, old) => {
                    kv.insert(k) && old.as_ref().map(|e| &e.0) != self.kv.get(k).map(|e| &e.0)
                }
                Undo::Set(k, old) => sets.insert(k) && *old != self.sets.contains(k),
                Undo::Supply { .. } => false,
            };
            if differs {
                return true;
            }
        }
        false
    }

    /// Forgets the journal before `keep_from` is no longer needed: called when no mark is alive.
    pub fn clear_journal(&mut self) {
        self.journal.clear();
    }

    /// The number of journal entries (for tests and benchmarks).
    pub fn journal_len(&self) -> usize {
        self.journal.len()
    }

    /// A fork: shares everything with `self` and diverges from here on. O(1) once settled:
    /// it settles first (the shared, frozen layers then hold no dirty entry, so each side's
    /// dirty list covers exactly its own writes).
    pub fn fork(&mut self) -> State {
        self.settle();
        State {
            accounts: self.accounts.fork(),
            kv: self.kv.fork(),
            sets: self.sets.fork(),
            journal: Vec::new(),
            lanes: self.lanes,
            dirty_accounts: Vec::new(),
            dirty_kv: Vec::new(),
            dirty_sets: Vec::new(),
            asked: AtomicBool::new(false),
            eager: self.eager,
            minted: self.minted,
            burned: self.burned,
        }
    }

    /// Every funded identity and its record, sorted by identity.
    pub fn accounts_sorted(&self) -> Vec<(Identity, Account)> {
        let mut v: Vec<_> = self
            .accounts
            .visible()
            .into_iter()
            .map(|(k, v)| (*k, v.0))
            .collect();
        v.sort_by_key(|a| a.0);
        v
    }

    /// Every stored value of `contract`, sorted by key.
    pub fn kv_sorted(&self, contract: ContractIndex) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut v: Vec<_> = self
            .kv
            .visible()
            .into_iter()
            .filter(|(k, _)| k.contract() == contract)
            .map(|(k, v)| (k.local().to_vec(), v.0.to_vec()))
            .collect();
        v.sort();
        v
    }

    /// Every key of `contract`'s ordered set, in order.
    pub fn set_sorted(&self, contract: ContractIndex) -> Vec<Vec<u8>> {
        self.set_range(
            contract,
            Bound::Unbounded,
            Bound::Unbounded,
            usize::MAX,
            false,
        )
    }

    /// Recomputes the digest from scratch (O(size)); tests compare it with [`State::digest`].
    pub fn recompute_digest(&self) -> Hash32 {
        let mut lanes = Lanes::default();
        for (id, a) in self.accounts.visible() {
            lanes.add(&account_hash(id, &a.0));
        }
        for (k, v) in self.kv.visible() {
            lanes.add(&kv_hash(k, &v.0));
        }
        for k in self
            .sets
            .range(Bound::Unbounded, Bound::Unbounded, usize::MAX, false)
        {
            lanes.add(&set_hash(&k));
        }
        lanes.to_hash()
    }

    // --- durable snapshots (used by `crate::durable`) ----------------------------------------

    /// Every stored value of every contract, sorted by store key (contract index, then the
    /// contract's key). O(size): for snapshots and exports, never the hot path.
    pub fn kv_entries_sorted(&self) -> Vec<(StoreKey, Vec<u8>)> {
        let mut v: Vec<_> = self
            .kv
            .visible()
            .into_iter()
            .map(|(k, v)| (*k, v.0.to_vec()))
            .collect();
        v.sort_by_key(|a| a.0);
        v
    }

    /// Every key of every contract's ordered set, in order. O(size).
    pub fn set_entries_sorted(&self) -> Vec<StoreKey> {
        self.sets
            .range(Bound::Unbounded, Bound::Unbounded, usize::MAX, false)
    }

    /// Rebuilds a state from its entries, as a durable snapshot holds them: a single live
    /// layer, an empty journal, and the digest computed from the entries. A later entry with
    /// the key of an earlier one replaces it (its hash stays counted, so the digest then no
    /// longer matches [`State::recompute_digest`], which is how a loader notices).
    pub fn from_entries(
        accounts: impl IntoIterator<Item = (Identity, Account)>,
        kv: impl IntoIterator<Item = (StoreKey, Vec<u8>)>,
        sets: impl IntoIterator<Item = StoreKey>,
        supply: Supply,
    ) -> State {
        let mut s = State::new();
        for (id, a) in accounts {
            let lanes = Lanes::of(&account_hash(&id, &a));
            s.lanes.add_lanes(&lanes);
            s.accounts.live.insert(id, Some((a, Cache::Hashed(lanes))));
        }
        for (k, v) in kv {
            let lanes = Lanes::of(&kv_hash(&k, &v));
            s.lanes.add_lanes(&lanes);
            s.kv.live
                .insert(k, Some((v.into_boxed_slice(), Cache::Hashed(lanes))));
        }
        for k in sets {
            s.lanes.add(&set_hash(&k));
            s.sets.live.insert(k, true);
        }
        s.minted = supply.minted;
        s.burned = supply.burned;
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> Identity {
        Identity([n; 32])
    }

    #[test]
    fn undo_restores_values_and_digest() {
        let mut s = State::new();
        s.mint(&id(1), Amount(100), Tick(1)).unwrap();
        let d0 = s.digest();
        let m = s.mark();
        s.transfer(&id(1), &id(2), Amount(40), Tick(2)).unwrap();
        let k = StoreKey::new(ContractIndex(3), b"k").unwrap();
        s.kv_set(k, Some(vec![1, 2, 3].into_boxed_slice()));
        s.set_put(k, true);
        assert_ne!(s.digest(), d0);
        assert_eq!(s.digest(), s.recompute_digest());
        s.undo_to(m);
        assert_eq!(s.digest(), d0);
        assert_eq!(s.digest(), s.recompute_digest());
        assert_eq!(s.balance(&id(1)), Amount(100));
        assert_eq!(s.balance(&id(2)), Amount(0));
        assert!(s.kv_get(&k).is_none());
        assert!(!s.set_contains(&k));
    }

    /// Long runs between settles: entries removed and written again, set members flipping
    /// back and forth, undone failures. The dirty lists are compacted as they fill, so they
    /// stay bounded by the keys touched, and the digest stays the recomputed one.
    #[test]
    fn dirty_lists_stay_bounded_and_right_over_long_churn() {
        let mut s = State::new();
        let key = |n: u64| StoreKey::new(ContractIndex(2), &n.to_le_bytes()).unwrap();
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = |m: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % m
        };
        for i in 0..60_000u64 {
            let k = key(next(50));
            match next(6) {
                0 => {
                    s.kv_set(k, Some(vec![(i % 7) as u8; 1 + (i % 40) as usize].into()));
                }
                1 => {
                    s.kv_set(k, None);
                }
                2 | 3 => {
                    s.set_put(k, next(2) == 0);
                }
                4 => {
                    s.mint(&id((next(20)) as u8), Amount(1), Tick(1)).unwrap();
                }
                _ => {
                    // A failure: writes undone.
                    let m = s.mark();
                    s.kv_set(k, Some(vec![9; 3].into()));
                    s.set_put(k, true);
                    s.set_put(key(next(50)), false);
                    s.undo_to(m);
                }
            }
            assert!(s.dirty_kv.len() <= 2 * COMPACT_MIN, "{}", s.dirty_kv.len());
            assert!(
                s.dirty_sets.len() <= 2 * COMPACT_MIN,
                "{}",
                s.dirty_sets.len()
            );
            assert!(s.dirty_accounts.len() <= 2 * COMPACT_MIN);
            if i % 9_999 == 0 {
                assert_eq!(s.digest(), s.recompute_digest(), "at {i}");
            }
        }
        let d = s.digest();
        assert_eq!(d, s.recompute_digest());
        s.settle();
        assert!(s.is_settled());
        assert_eq!(s.digest(), d);
    }

    #[test]
    fn forks_are_isolated() {
        let mut parent = State::new();
        parent.mint(&id(1), Amount(100), Tick(1)).unwrap();
        let mut a = parent.fork();
        let mut b = parent.fork();
        a.transfer(&id(1), &id(2), Amount(10), Tick(2)).unwrap();
        b.burn(&id(1), Amount(30), Tick(2)).unwrap();
        parent.mint(&id(3), Amount(5), Tick(2)).unwrap();
        assert_eq!(parent.balance(&id(1)), Amount(100));
        assert_eq!(parent.balance(&id(2)), Amount(0));
        assert_eq!(a.balance(&id(1)), Amount(90));
        assert_eq!(a.balance(&id(3)), Amount(0));
        assert_eq!(b.balance(&id(1)), Amount(70));
        for s in [&parent, &a, &b] {
            assert_eq!(s.digest(), s.recompute_digest());
        }
    }

    #[test]
    fn ordered_ranges_merge_layers() {
        let c = ContractIndex(4);
        let key = |n: u8| StoreKey::new(c, &[n]).unwrap();
        let mut s = State::new();
        for n in [1, 3, 5, 7] {
            s.set_put(key(n), true);
        }
        let mut f = s.fork();
        f.set_put(key(3), false);
        f.set_put(key(4), true);
        let mut g = f.fork();
        g.set_put(key(3), true);
        g.set_put(key(7), false);
        let all = |s: &State| {
            s.set_sorted(c)
                .into_iter()
                .map(|k| k[0])
                .collect::<Vec<_>>()
        };
        assert_eq!(all(&s), vec![1, 3, 5, 7]);
        assert_eq!(all(&f), vec![1, 4, 5, 7]);
        assert_eq!(all(&g), vec![1, 3, 4, 5]);
        let rev: Vec<u8> = g
            .set_range(c, Bound::Unbounded, Bound::Excluded(&[5][..]), 2, true)
            .into_iter()
            .map(|k| k[0])
            .collect();
        assert_eq!(rev, vec![4, 3]);
        for st in [&s, &f, &g] {
            assert_eq!(st.digest(), st.recompute_digest());
        }
        // Other contracts' keys never show.
        g.set_put(StoreKey::new(ContractIndex(5), &[0]).unwrap(), true);
        assert_eq!(all(&g), vec![1, 3, 4, 5]);
    }

    proptest::proptest! {
        /// Keys of every length up to the longest and values of many: the state answers
        /// like a plain model (values, membership, ordered ranges with bounds of any length,
        /// longer than a key included), across a fork and an undo, and its digest is the
        /// from-scratch one.
        #[test]
        fn keys_and_values_of_any_length(
            ops in proptest::collection::vec(
                (
                    0u8..4,
                    // A third of the keys are of the longest length.
                    proptest::strategy::Strategy::prop_flat_map(0usize..=MAX_KEY_LEN + 20, |n| {
                        proptest::collection::vec(0u8..2, n.min(MAX_KEY_LEN))
                    }),
                    0usize..60,
                ),
                1..120,
            ),
            // A range bound: one of the keys, cut short or made longer (past the longest
            // key's length too).
            (pick, cut, extra) in (proptest::prelude::any::<usize>(), 0usize..3, proptest::collection::vec(0u8..3, 0..4)),
        ) {
            use std::collections::{BTreeMap, BTreeSet};
            let c = ContractIndex(7);
            let mut s = State::new();
            s.set_put(StoreKey::new(ContractIndex(8), &[0; 30]).unwrap(), true);
            let mut kv: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
            let mut set: BTreeSet<Vec<u8>> = BTreeSet::new();
            let mut bound = ops[pick % ops.len()].1.clone();
            bound.truncate(bound.len().saturating_sub(cut));
            bound.extend(&extra);
            let half = ops.len() / 2;
            let mut mark = None;
            let mut at_mark = (BTreeMap::new(), BTreeSet::new(), Hash32::ZERO);
            for (i, (op, key, n)) in ops.iter().enumerate() {
                if i == half {
                    s = s.fork();
                    mark = Some(s.mark());
                    at_mark = (kv.clone(), set.clone(), s.digest());
                }
                let k = StoreKey::new(c, key).unwrap();
                let value = vec![key.len() as u8 ^ *n as u8; *n];
                match op {
                    0 => {
                        s.kv_set(k, Some(value.clone().into_boxed_slice()));
                        kv.insert(key.clone(), value);
                    }
                    1 => {
                        s.kv_set(k, None);
                        kv.remove(key);
                    }
                    2 => {
                        s.set_put(k, true);
                        set.insert(key.clone());
                    }
                    _ => {
                        s.set_put(k, false);
                        set.remove(key);
                    }
                }
            }
            let check = |s: &State, kv: &BTreeMap<Vec<u8>, Vec<u8>>, set: &BTreeSet<Vec<u8>>| {
                proptest::prop_assert_eq!(&s.kv_sorted(c), &kv.iter().map(|(k, v)| (k.clone(), v.clone())).collect::<Vec<_>>());
                for (k, v) in kv {
                                        proptest::prop_assert_eq!(s.kv_get(&StoreKey::new(c, k).unwrap()), Some(&v[..]));
                }
                for k in set {
                    proptest::prop_assert!(s.set_contains(&StoreKey::new(c, k).unwrap()));
                }
                proptest::prop_assert_eq!(s.set_sorted(c), set.iter().cloned().collect::<Vec<_>>());
                for reverse in [false, true] {
                    let lo = Bound::Included(&bound[..]);
                    let mut want: Vec<Vec<u8>> = set
                        .iter()
                        .filter(|k| k.as_slice() >= &bound[..])
                        .cloned()
                        .collect();
                    if reverse {
                        want.reverse();
                    }
                    want.truncate(5);
                    proptest::prop_assert_eq!(s.set_range(c, lo, Bound::Unbounded, 5, reverse), want);
                    let hi = Bound::Excluded(&bound[..]);
                    let mut want: Vec<Vec<u8>> = set
                        .iter()
                        .filter(|k| k.as_slice() < &bound[..])
                        .cloned()
                        .collect();
                    if reverse {
                        want.reverse();
                    }
                    want.truncate(5);
                    proptest::prop_assert_eq!(s.set_range(c, Bound::Unbounded, hi, 5, reverse), want);
                }
                proptest::prop_assert_eq!(s.digest(), s.recompute_digest());
                Ok(())
            };
            check(&s, &kv, &set)?;
            if let Some(m) = mark {
                s.undo_to(m);
                check(&s, &at_mark.0, &at_mark.1)?;
                proptest::prop_assert_eq!(s.digest(), at_mark.2);
            }
        }
    }

    #[test]
    fn deep_fork_chains_flatten_and_stay_correct() {
        let mut s = State::new();
        let mut forks = Vec::new();
        for n in 0..(3 * MAX_LAYERS as u8) {
            s.mint(&id(n), Amount(i64::from(n) + 1), Tick(1)).unwrap();
            s.set_put(StoreKey::new(ContractIndex(1), &[n]).unwrap(), true);
            forks.push(s.fork());
        }
        for (n, f) in forks.iter().enumerate() {
            assert_eq!(f.balance(&id(n as u8)), Amount(n as i64 + 1));
            assert_eq!(f.balance(&id(n as u8 + 1)), Amount(0));
            assert_eq!(f.set_sorted(ContractIndex(1)).len(), n + 1);
            assert_eq!(f.digest(), f.recompute_digest());
        }
    }
}

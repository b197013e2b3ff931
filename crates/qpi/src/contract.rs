//! The contract interface, shaped after Qubic's QPI.
//!
//! A contract is a stateless Rust value implementing [`Contract`]; its state lives in the
//! ledger's store under the contract's own key space, reached through a [`Ctx`] (procedures
//! and hooks: may change state and move money) or a [`View`] (functions: read-only). The
//! ledger implements [`Host`] and [`HostRead`] behind these; contracts never see the ledger.
//!
//! Storage has two shapes, both private to the contract that writes them:
//! - a **map** from byte keys to byte values ([`Ctx::put`] / [`View::get`], borsh-typed), for
//!   point lookups;
//! - an **ordered set** of byte keys ([`Ctx::insert_key`] / [`View::range`]), for every
//!   iteration: indices by status, by owner, by deadline. Keys compare as bytes, so encode
//!   numbers big-endian ([`KeyBuf`] does).
//!
//! Nothing here reads a clock, the OS or a float. Randomness comes from [`CallInfo::seed`],
//! the tick's seed.

use std::ops::Bound;

use borsh::{BorshDeserialize, BorshSerialize};

use crate::error::ContractError;
use crate::kit::{ContractMeta, Func, Proc};
use crate::primitives::{Amount, ContractIndex, Epoch, Hash32, Identity, Tick};

/// The longest storage key a contract may use, in bytes.
pub const MAX_KEY_LEN: usize = 43;

/// The deepest nesting of cross-contract calls.
pub const MAX_CALL_DEPTH: u8 = 10;

/// What a running contract knows about its invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallInfo {
    /// The contract that is running.
    pub contract: ContractIndex,
    /// Who invoked this call: the transaction's source, or the calling contract's id for a
    /// cross-contract call. [`Identity::NULL`] in tick and epoch hooks.
    pub invocator: Identity,
    /// The transaction's source, whatever the nesting. [`Identity::NULL`] in hooks.
    pub originator: Identity,
    /// The amount moved to this contract before it ran.
    pub invocation_reward: Amount,
    /// The tick being processed.
    pub tick: Tick,
    /// The epoch of that tick.
    pub epoch: Epoch,
    /// The tick's random seed: the same on every machine, unknown before the previous tick.
    pub seed: Hash32,
}

/// Read access the ledger gives a running contract. Keys are the contract's own; the ledger
/// scopes them.
pub trait HostRead {
    /// The call's context.
    fn info(&self) -> &CallInfo;
    /// A stored value.
    fn read(&self, key: &[u8]) -> Option<&[u8]>;
    /// Whether the ordered set holds `key`.
    fn contains_key(&self, key: &[u8]) -> bool;
    /// Passes up to `limit` keys of the ordered set within the bounds, in ascending order
    /// (descending when `reverse`), to `visit` until it returns `false`. The keys are lent:
    /// a walk over a range allocates nothing.
    fn visit_keys(
        &self,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        limit: usize,
        reverse: bool,
        visit: &mut dyn FnMut(&[u8]) -> bool,
    );
    /// Up to `limit` keys of the ordered set within the bounds, in ascending order, or
    /// descending when `reverse`, copied out.
    fn range_keys(
        &self,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        limit: usize,
        reverse: bool,
    ) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        self.visit_keys(lower, upper, limit, reverse, &mut |k| {
            out.push(k.to_vec());
            true
        });
        out
    }
    /// The balance of any identity.
    fn balance(&self, id: &Identity) -> Amount;
    /// Runs a function (read-only) of a contract of lower index.
    fn query(
        &self,
        contract: ContractIndex,
        input_type: u16,
        input: &[u8],
    ) -> Result<Vec<u8>, ContractError>;
}

/// Write access the ledger gives a running procedure or hook. Every change is journaled, so
/// a failing call leaves none of them behind.
pub trait Host: HostRead {
    /// Stores a value.
    fn write(&mut self, key: &[u8], value: Vec<u8>) -> Result<(), ContractError>;
    /// Removes a value; whether it was there.
    fn remove(&mut self, key: &[u8]) -> Result<bool, ContractError>;
    /// Adds a key to the ordered set; whether it was new.
    fn insert_key(&mut self, key: &[u8]) -> Result<bool, ContractError>;
    /// Removes a key from the ordered set; whether it was there.
    fn remove_key(&mut self, key: &[u8]) -> Result<bool, ContractError>;
    /// Moves money from the running contract to `to`.
    fn transfer(&mut self, to: &Identity, amount: Amount) -> Result<(), ContractError>;
    /// Destroys money held by the running contract.
    fn burn(&mut self, amount: Amount) -> Result<(), ContractError>;
    /// Records an event (borsh bytes of the contract's event type).
    fn emit(&mut self, data: Vec<u8>);
    /// Runs a procedure of a contract of lower index, moving `reward` to it first. If it
    /// fails, its changes are undone and the error comes back; the caller decides.
    fn call(
        &mut self,
        contract: ContractIndex,
        input_type: u16,
        input: &[u8],
        reward: Amount,
    ) -> Result<Vec<u8>, ContractError>;
}

fn decode_stored<T: BorshDeserialize>(key: &[u8], bytes: &[u8]) -> Result<T, ContractError> {
    T::try_from_slice(bytes).map_err(|e| ContractError::CorruptState {
        key: key.iter().map(|b| format!("{b:02x}")).collect(),
        detail: e.to_string(),
    })
}

/// Decodes a call's input, with a typed error for malformed bytes.
pub fn decode_input<T: BorshDeserialize>(input: &[u8]) -> Result<T, ContractError> {
    T::try_from_slice(input).map_err(|e| ContractError::BadInput(e.to_string()))
}

/// Encodes an output. Borsh into a `Vec` cannot fail for the types contracts use.
///
/// The buffer is allocated once at its exact size (`borsh::to_vec` starts every value with a
/// 1 KiB buffer, which a stored value then shrinks: two trips to the allocator, and a large
/// one, for every write, event, call and query).
pub fn encode<T: BorshSerialize>(value: &T) -> Vec<u8> {
    // Invariant: writing to a Vec<u8> (or counting bytes) never fails, and contract types
    // have no fallible serializers (no maps with duplicate keys, no lengths over u32).
    let len = borsh::object_length(value).expect("borsh length of a contract type cannot fail");
    let mut out = Vec::with_capacity(len);
    value
        .serialize(&mut out)
        .expect("borsh serialization into a Vec cannot fail");
    out
}

/// Read-only access for functions, typed with borsh.
pub struct View<'a> {
    host: &'a dyn HostRead,
}

impl<'a> View<'a> {
    /// Wraps a host.
    pub fn new(host: &'a dyn HostRead) -> Self {
        View { host }
    }
    /// The call's context.
    pub fn info(&self) -> &CallInfo {
        self.host.info()
    }
    /// The tick being processed (or, in a query, the next one).
    pub fn tick(&self) -> Tick {
        self.host.info().tick
    }
    /// A stored value, decoded.
    pub fn get<T: BorshDeserialize>(&self, key: &[u8]) -> Result<Option<T>, ContractError> {
        match self.host.read(key) {
            Some(bytes) => decode_stored(key, bytes).map(Some),
            None => Ok(None),
        }
    }
    /// Raw stored bytes.
    pub fn get_raw(&self, key: &[u8]) -> Option<&[u8]> {
        self.host.read(key)
    }
    /// Whether the ordered set holds `key`.
    pub fn contains_key(&self, key: &[u8]) -> bool {
        self.host.contains_key(key)
    }
    /// Up to `limit` keys starting with `prefix`, ascending, strictly after `after` when given.
    pub fn keys_with_prefix(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        self.for_each_with_prefix(prefix, after, limit, |k| {
            out.push(k.to_vec());
            true
        });
        out
    }
    /// Passes up to `limit` keys starting with `prefix`, ascending, strictly after `after`
    /// when given, to `f` until it returns `false`; the keys are lent, nothing is allocated.
    pub fn for_each_with_prefix(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
        mut f: impl FnMut(&[u8]) -> bool,
    ) {
        let lower = match after {
            Some(a) => Bound::Excluded(a),
            None => Bound::Included(prefix),
        };
        // The upper bound on the stack for every prefix a key can have; a longer one (a
        // caller's odd choice) takes the allocating path.
        if prefix.len() <= KEY_BUF_CAP {
            let upper = KeyBuf::default().push(prefix).upper_bound();
            let upper = match &upper {
                Some(u) => Bound::Excluded(u.as_slice()),
                None => Bound::Unbounded,
            };
            return self.host.visit_keys(lower, upper, limit, false, &mut f);
        }
        let upper = prefix_upper_bound(prefix);
        let upper = match &upper {
            Some(u) => Bound::Excluded(u.as_slice()),
            None => Bound::Unbounded,
        };
        self.host.visit_keys(lower, upper, limit, false, &mut f)
    }
    /// Up to `limit` keys of the ordered set within the bounds.
    pub fn range(
        &self,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        limit: usize,
        reverse: bool,
    ) -> Vec<Vec<u8>> {
        self.host.range_keys(lower, upper, limit, reverse)
    }
    /// Passes up to `limit` keys of the ordered set within the bounds to `f`, in order, until
    /// it returns `false`; the keys are lent, nothing is allocated.
    pub fn for_each_key(
        &self,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        limit: usize,
        reverse: bool,
        mut f: impl FnMut(&[u8]) -> bool,
    ) {
        self.host.visit_keys(lower, upper, limit, reverse, &mut f)
    }
    /// The first key with `prefix`, if any.
    pub fn first_with_prefix(&self, prefix: &[u8]) -> Option<Vec<u8>> {
        self.first_with_prefix_map(prefix, <[u8]>::to_vec)
    }
    /// `f` of the first key with `prefix`, if any, without copying the key.
    pub fn first_with_prefix_map<T>(&self, prefix: &[u8], f: impl FnOnce(&[u8]) -> T) -> Option<T> {
        let mut f = Some(f);
        let mut out = None;
        self.for_each_with_prefix(prefix, None, 1, |k| {
            out = f.take().map(|f| f(k));
            false
        });
        out
    }
    /// The balance of any identity.
    pub fn balance(&self, id: &Identity) -> Amount {
        self.host.balance(id)
    }
    /// Runs a function of a contract of lower index, typed by its descriptor.
    pub fn query<I: BorshSerialize, O: BorshDeserialize>(
        &self,
        f: Func<I, O>,
        input: &I,
    ) -> Result<O, ContractError> {
        let out = self.host.query(f.contract(), f.number(), &encode(input))?;
        f.decode_output(&out)
    }
    /// Runs function `input_type` of a contract of lower index with raw bytes.
    pub fn query_raw(
        &self,
        contract: ContractIndex,
        input_type: u16,
        input: &[u8],
    ) -> Result<Vec<u8>, ContractError> {
        self.host.query(contract, input_type, input)
    }
}

/// The smallest byte string greater than every string starting with `prefix`, if any.
pub fn prefix_upper_bound(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut up = prefix.to_vec();
    while let Some(last) = up.pop() {
        if last < u8::MAX {
            up.push(last + 1);
            return Some(up);
        }
    }
    None
}

/// Read-write access for procedures and hooks, typed with borsh.
pub struct Ctx<'a> {
    host: &'a mut dyn Host,
}

impl<'a> Ctx<'a> {
    /// Wraps a host.
    pub fn new(host: &'a mut dyn Host) -> Self {
        Ctx { host }
    }
    /// A read-only view of the same state.
    pub fn view(&self) -> View<'_> {
        View { host: &*self.host }
    }
    /// The call's context.
    pub fn info(&self) -> &CallInfo {
        self.host.info()
    }
    /// Who invoked this call.
    pub fn invocator(&self) -> Identity {
        self.host.info().invocator
    }
    /// The transaction's source.
    pub fn originator(&self) -> Identity {
        self.host.info().originator
    }
    /// The amount moved to this contract before it ran.
    pub fn invocation_reward(&self) -> Amount {
        self.host.info().invocation_reward
    }
    /// The tick being processed.
    pub fn tick(&self) -> Tick {
        self.host.info().tick
    }
    /// The epoch of the tick being processed.
    pub fn epoch(&self) -> Epoch {
        self.host.info().epoch
    }
    /// The tick's random seed.
    pub fn seed(&self) -> Hash32 {
        self.host.info().seed
    }
    /// This contract's own identity.
    pub fn self_id(&self) -> Identity {
        Identity::contract(self.host.info().contract)
    }
    /// A stored value, decoded.
    pub fn get<T: BorshDeserialize>(&self, key: &[u8]) -> Result<Option<T>, ContractError> {
        self.view().get(key)
    }
    /// Stores a value.
    pub fn put<T: BorshSerialize>(&mut self, key: &[u8], value: &T) -> Result<(), ContractError> {
        self.host.write(key, encode(value))
    }
    /// Removes a value; whether it was there.
    pub fn delete(&mut self, key: &[u8]) -> Result<bool, ContractError> {
        self.host.remove(key)
    }
    /// Adds a key to the ordered set; whether it was new.
    pub fn insert_key(&mut self, key: &[u8]) -> Result<bool, ContractError> {
        self.host.insert_key(key)
    }
    /// Removes a key from the ordered set; whether it was there.
    pub fn remove_key(&mut self, key: &[u8]) -> Result<bool, ContractError> {
        self.host.remove_key(key)
    }
    /// Moves money from this contract to `to`.
    pub fn transfer(&mut self, to: &Identity, amount: Amount) -> Result<(), ContractError> {
        self.host.transfer(to, amount)
    }
    /// Destroys money held by this contract.
    pub fn burn(&mut self, amount: Amount) -> Result<(), ContractError> {
        self.host.burn(amount)
    }
    /// Records a typed event.
    pub fn emit<E: BorshSerialize>(&mut self, event: &E) {
        self.host.emit(encode(event))
    }
    /// Runs a procedure of a contract of lower index, typed by its descriptor, moving
    /// `reward` to it first.
    pub fn call<I: BorshSerialize, O: BorshDeserialize>(
        &mut self,
        p: Proc<I, O>,
        input: &I,
        reward: Amount,
    ) -> Result<O, ContractError> {
        let out = self
            .host
            .call(p.contract(), p.number(), &encode(input), reward)?;
        p.decode_output(&out)
    }
    /// Runs procedure `input_type` of a contract of lower index with raw bytes.
    pub fn call_raw(
        &mut self,
        contract: ContractIndex,
        input_type: u16,
        input: &[u8],
        reward: Amount,
    ) -> Result<Vec<u8>, ContractError> {
        self.host.call(contract, input_type, input, reward)
    }
}

/// What a procedure or function call returns: its output's borsh bytes, or why it refused.
pub type Output = Result<Vec<u8>, ContractError>;

/// When a contract's tick hooks next have work; lets the ledger skip idle ticks on a warp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TickWork {
    /// The hooks may change state on any tick (the safe default).
    EveryTick,
    /// Nothing to do before this tick.
    At(Tick),
    /// No tick hook work at all until a procedure changes state.
    Idle,
}

/// A contract: numbered procedures and functions over its own state, plus optional hooks.
///
/// Implementations are stateless values (the state is in the ledger) and must be
/// deterministic: the same state, input and [`CallInfo`] give the same result and changes.
pub trait Contract: Send + Sync + 'static {
    /// Its index; its id is `Identity::contract(index)`. By default its
    /// [`ContractMeta::index`] (a contract without a description must say it here; index 0
    /// is refused by the ledger).
    fn index(&self) -> ContractIndex {
        self.meta().index
    }
    /// A short name, for logs and tools. By default its [`ContractMeta::name`].
    fn name(&self) -> &'static str {
        self.meta().name
    }
    /// Runs once at genesis, before any tick.
    fn initialize(&self, _ctx: &mut Ctx<'_>) -> Result<(), ContractError> {
        Ok(())
    }
    /// Runs procedure `input_type`. Returns the borsh-encoded output.
    fn procedure(&self, ctx: &mut Ctx<'_>, input_type: u16, input: &[u8]) -> Output;
    /// Runs function `input_type` (read-only). Returns the borsh-encoded output.
    fn function(&self, view: &View<'_>, input_type: u16, input: &[u8]) -> Output;
    /// Runs at the start of every tick, in ascending contract order.
    fn begin_tick(&self, _ctx: &mut Ctx<'_>) -> Result<(), ContractError> {
        Ok(())
    }
    /// Whether [`Contract::begin_tick`] does anything. A contract that keeps the default,
    /// empty `begin_tick` may answer `false`: the ledger then neither asks
    /// [`Contract::next_tick_work`] before the tick's transactions nor runs the empty hook.
    fn has_begin_tick(&self) -> bool {
        true
    }
    /// Runs at the end of every tick, in descending contract order.
    fn end_tick(&self, _ctx: &mut Ctx<'_>) -> Result<(), ContractError> {
        Ok(())
    }
    /// Runs on the first tick of an epoch, before `begin_tick`.
    fn begin_epoch(&self, _ctx: &mut Ctx<'_>) -> Result<(), ContractError> {
        Ok(())
    }
    /// Runs on the last tick of an epoch, after `end_tick`.
    fn end_epoch(&self, _ctx: &mut Ctx<'_>) -> Result<(), ContractError> {
        Ok(())
    }
    /// Whether `begin_epoch`/`end_epoch` have anything to do at the coming epoch boundaries,
    /// given the state now. The ledger runs a contract's epoch hooks only when it answers
    /// `true`, and a warp crosses epoch boundaries at no cost when every contract answers
    /// `false`. A contract without epoch hooks answers `false`; the default, `true`, is
    /// always right.
    fn epoch_work(&self, _view: &View<'_>) -> bool {
        true
    }
    /// When `begin_tick`/`end_tick` next have work. A contract that overrides either hook must
    /// answer truthfully or keep the default ([`TickWork::EveryTick`]); one that has no tick
    /// hooks answers [`TickWork::Idle`].
    fn next_tick_work(&self, _view: &View<'_>) -> TickWork {
        TickWork::EveryTick
    }
    /// A human-readable rendering of one of its events, for receipts and test failures: by
    /// default its [`ContractMeta::describe_event`], else the byte count.
    fn describe_event(&self, data: &[u8]) -> String {
        (self.meta().describe_event)(data).unwrap_or_else(|| format!("{} bytes", data.len()))
    }
    /// What it says about itself ([`ContractMeta`], usually the `META` of its
    /// [`contract_api!`](crate::contract_api)): entry points with their JSON codecs, events,
    /// error codes. The node, the SDK and the CLI read it. The default says nothing.
    fn meta(&self) -> &'static ContractMeta {
        &ContractMeta::EMPTY
    }
    /// One of its events as JSON, `{"type": variant, ...fields}` by the rule of
    /// [`crate::json`]; `None` when the bytes are not one of its events. By default its
    /// [`ContractMeta::event_json`].
    fn event_json(&self, data: &[u8]) -> Option<serde_json::Value> {
        (self.meta().event_json)(data)
    }
}

/// Room in a [`KeyBuf`]: more than [`MAX_KEY_LEN`], so an overlong key stays overlong (and
/// is refused by the host) instead of being cut to a valid one.
const KEY_BUF_CAP: usize = 64;

/// Builds ordered storage keys: numbers big-endian so byte order is numeric order.
///
/// The bytes live inline (no allocation); a `KeyBuf` dereferences to the key's bytes, so it
/// can be passed wherever a key is expected. Bytes past 64 are dropped: such a key is over
/// [`MAX_KEY_LEN`] either way, and the host refuses it.
#[derive(Clone, Copy)]
pub struct KeyBuf {
    len: u8,
    bytes: [u8; KEY_BUF_CAP],
}

impl Default for KeyBuf {
    fn default() -> Self {
        KeyBuf {
            len: 0,
            bytes: [0; KEY_BUF_CAP],
        }
    }
}

impl std::fmt::Debug for KeyBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("KeyBuf").field(&self.as_slice()).finish()
    }
}

impl PartialEq for KeyBuf {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}
impl Eq for KeyBuf {}

impl std::ops::Deref for KeyBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl AsRef<[u8]> for KeyBuf {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl KeyBuf {
    /// A key starting with a one-byte table tag.
    pub fn table(tag: u8) -> Self {
        KeyBuf::default().push(&[tag])
    }
    fn push(mut self, v: &[u8]) -> Self {
        let at = usize::from(self.len);
        let n = v.len().min(KEY_BUF_CAP - at);
        self.bytes[at..at + n].copy_from_slice(&v[..n]);
        self.len = (at + n) as u8;
        self
    }
    /// Appends a byte.
    pub fn u8(self, v: u8) -> Self {
        self.push(&[v])
    }
    /// Appends a big-endian u16.
    pub fn u16(self, v: u16) -> Self {
        self.push(&v.to_be_bytes())
    }
    /// Appends a big-endian u32.
    pub fn u32(self, v: u32) -> Self {
        self.push(&v.to_be_bytes())
    }
    /// Appends a big-endian u64.
    pub fn u64(self, v: u64) -> Self {
        self.push(&v.to_be_bytes())
    }
    /// Appends 32 bytes.
    pub fn bytes32(self, v: &[u8; 32]) -> Self {
        self.push(v)
    }
    /// The key's bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
    /// [`prefix_upper_bound`] of the key, inline.
    fn upper_bound(mut self) -> Option<KeyBuf> {
        while self.len > 0 {
            let last = usize::from(self.len) - 1;
            if self.bytes[last] < u8::MAX {
                self.bytes[last] += 1;
                return Some(self);
            }
            self.len -= 1;
        }
        None
    }
    /// The key, as an owned vector.
    pub fn build(self) -> Vec<u8> {
        self.as_slice().to_vec()
    }
}

/// Reads a big-endian u64 at `at` of a key built with [`KeyBuf`].
pub fn key_u64(key: &[u8], at: usize) -> Option<u64> {
    key.get(at..at + 8)
        .map(|b| u64::from_be_bytes(b.try_into().expect("slice of 8 bytes")))
}

/// Reads a big-endian u32 at `at` of a key built with [`KeyBuf`].
pub fn key_u32(key: &[u8], at: usize) -> Option<u32> {
    key.get(at..at + 4)
        .map(|b| u32::from_be_bytes(b.try_into().expect("slice of 4 bytes")))
}

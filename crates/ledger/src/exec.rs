//! Running contract code: the [`Host`] the ledger hands to contracts, cross-contract calls,
//! and the one place where the failure policy lives ([`run_atomic`]).

use std::ops::Bound;

use comqute_qpi::contract::{CallInfo, Contract, Ctx, Host, HostRead, View, MAX_CALL_DEPTH};
use comqute_qpi::{Amount, ContractError, ContractIndex, Identity};

use crate::receipt::{CallRecord, EntryPoint, Transfer, TransferKind};
use crate::registry::Registry;
use crate::state::{State, StoreKey};

/// Effects gathered while a transaction or hook runs; moved into its receipt.
#[derive(Debug, Default, Clone)]
pub(crate) struct Effects {
    pub events: Vec<(ContractIndex, Vec<u8>)>,
    pub transfers: Vec<Transfer>,
    pub calls: Vec<CallRecord>,
}

#[derive(Clone, Copy)]
struct FxMark {
    events: usize,
    transfers: usize,
}

impl Effects {
    /// Empties it, keeping the buffers.
    pub(crate) fn clear(&mut self) {
        self.events.clear();
        self.transfers.clear();
        self.calls.clear();
    }
    fn mark(&self) -> FxMark {
        FxMark {
            events: self.events.len(),
            transfers: self.transfers.len(),
        }
    }
    fn undo_to(&mut self, m: FxMark) {
        self.events.truncate(m.events);
        self.transfers.truncate(m.transfers);
    }
}

/// **The failure policy**, in one place. Runs `body` on the state; if it returns an error,
/// every state change, transfer and event it made is undone (the call record stays, with the
/// error, so a failure explains itself) and the error is returned. Unlike Qubic, a failed
/// procedure leaves no trace; its invocation reward was moved inside `body`, so it goes back
/// too.
pub(crate) fn run_atomic<T>(
    state: &mut State,
    fx: &mut Effects,
    call_index: usize,
    body: impl FnOnce(&mut State, &mut Effects) -> Result<T, ContractError>,
) -> Result<T, ContractError> {
    let smark = state.mark();
    let fmark = fx.mark();
    match body(state, fx) {
        Ok(v) => Ok(v),
        Err(e) => {
            state.undo_to(smark);
            fx.undo_to(fmark);
            if let Some(rec) = fx.calls.get_mut(call_index) {
                rec.error = Some(e.clone());
            }
            Err(e)
        }
    }
}

/// Read access for a contract, shared by [`Runner`] and [`Reader`].
fn read_kv<'s>(state: &'s State, contract: ContractIndex, key: &[u8]) -> Option<&'s [u8]> {
    StoreKey::new(contract, key)
        .ok()
        .and_then(|k| state.kv_get(&k))
}

fn contains(state: &State, contract: ContractIndex, key: &[u8]) -> bool {
    StoreKey::new(contract, key).is_ok_and(|k| state.set_contains(&k))
}

fn query_lower(
    state: &State,
    registry: &Registry,
    caller: &CallInfo,
    depth: u8,
    callee: ContractIndex,
    input_type: u16,
    input: &[u8],
) -> Result<Vec<u8>, ContractError> {
    if callee >= caller.contract {
        return Err(ContractError::CallNotAllowed {
            caller: caller.contract.0,
            callee: callee.0,
        });
    }
    if depth >= MAX_CALL_DEPTH {
        return Err(ContractError::CallDepth(MAX_CALL_DEPTH));
    }
    let info = CallInfo {
        contract: callee,
        invocator: Identity::contract(caller.contract),
        ..*caller
    };
    run_function(state, registry, info, depth + 1, input_type, input)
}

/// Runs a function (read-only) of `info.contract`.
pub(crate) fn run_function(
    state: &State,
    registry: &Registry,
    info: CallInfo,
    depth: u8,
    input_type: u16,
    input: &[u8],
) -> Result<Vec<u8>, ContractError> {
    let contract = registry
        .get(info.contract)
        .ok_or(ContractError::UnknownContract(info.contract.0))?;
    let reader = Reader {
        state,
        registry,
        info,
        depth,
    };
    contract.function(&View::new(&reader), input_type, input)
}

/// What a contract asks [`Contract::next_tick_work`] through.
pub(crate) fn view_of<R>(
    state: &State,
    registry: &Registry,
    info: CallInfo,
    f: impl FnOnce(&View<'_>) -> R,
) -> R {
    let reader = Reader {
        state,
        registry,
        info,
        depth: 0,
    };
    f(&View::new(&reader))
}

/// Read-only host for functions.
pub(crate) struct Reader<'a> {
    state: &'a State,
    registry: &'a Registry,
    info: CallInfo,
    depth: u8,
}

impl HostRead for Reader<'_> {
    fn info(&self) -> &CallInfo {
        &self.info
    }
    fn read(&self, key: &[u8]) -> Option<&[u8]> {
        read_kv(self.state, self.info.contract, key)
    }
    fn contains_key(&self, key: &[u8]) -> bool {
        contains(self.state, self.info.contract, key)
    }
    fn visit_keys(
        &self,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        limit: usize,
        reverse: bool,
        visit: &mut dyn FnMut(&[u8]) -> bool,
    ) {
        self.state
            .set_visit(self.info.contract, lower, upper, limit, reverse, visit)
    }
    fn balance(&self, id: &Identity) -> Amount {
        self.state.balance(id)
    }
    fn query(
        &self,
        contract: ContractIndex,
        input_type: u16,
        input: &[u8],
    ) -> Result<Vec<u8>, ContractError> {
        query_lower(
            self.state,
            self.registry,
            &self.info,
            self.depth,
            contract,
            input_type,
            input,
        )
    }
}

/// Read-write host for procedures and hooks.
pub(crate) struct Runner<'a> {
    pub state: &'a mut State,
    pub registry: &'a Registry,
    pub fx: &'a mut Effects,
    pub info: CallInfo,
    pub depth: u8,
}

impl Runner<'_> {
    fn key(&self, key: &[u8]) -> Result<StoreKey, ContractError> {
        StoreKey::new(self.info.contract, key)
    }
}

impl HostRead for Runner<'_> {
    fn info(&self) -> &CallInfo {
        &self.info
    }
    fn read(&self, key: &[u8]) -> Option<&[u8]> {
        read_kv(self.state, self.info.contract, key)
    }
    fn contains_key(&self, key: &[u8]) -> bool {
        contains(self.state, self.info.contract, key)
    }
    fn visit_keys(
        &self,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        limit: usize,
        reverse: bool,
        visit: &mut dyn FnMut(&[u8]) -> bool,
    ) {
        self.state
            .set_visit(self.info.contract, lower, upper, limit, reverse, visit)
    }
    fn balance(&self, id: &Identity) -> Amount {
        self.state.balance(id)
    }
    fn query(
        &self,
        contract: ContractIndex,
        input_type: u16,
        input: &[u8],
    ) -> Result<Vec<u8>, ContractError> {
        query_lower(
            self.state,
            self.registry,
            &self.info,
            self.depth,
            contract,
            input_type,
            input,
        )
    }
}

impl Host for Runner<'_> {
    fn write(&mut self, key: &[u8], value: Vec<u8>) -> Result<(), ContractError> {
        let k = self.key(key)?;
        self.state.kv_set(k, Some(value.into_boxed_slice()));
        Ok(())
    }
    fn remove(&mut self, key: &[u8]) -> Result<bool, ContractError> {
        let k = self.key(key)?;
        if self.state.kv_get(&k).is_none() {
            return Ok(false);
        }
        Ok(self.state.kv_set(k, None))
    }
    fn insert_key(&mut self, key: &[u8]) -> Result<bool, ContractError> {
        let k = self.key(key)?;
        Ok(!self.state.set_put(k, true))
    }
    fn remove_key(&mut self, key: &[u8]) -> Result<bool, ContractError> {
        let k = self.key(key)?;
        Ok(self.state.set_put(k, false))
    }
    fn transfer(&mut self, to: &Identity, amount: Amount) -> Result<(), ContractError> {
        if !amount.is_valid_tx_amount() {
            return Err(ContractError::InvalidAmount(amount.0));
        }
        let from = Identity::contract(self.info.contract);
        self.state.transfer(&from, to, amount, self.info.tick)?;
        if amount > Amount::ZERO {
            self.fx.transfers.push(Transfer {
                from,
                to: *to,
                amount,
                kind: TransferKind::Transfer,
            });
        }
        Ok(())
    }
    fn burn(&mut self, amount: Amount) -> Result<(), ContractError> {
        if !amount.is_valid_tx_amount() {
            return Err(ContractError::InvalidAmount(amount.0));
        }
        let from = Identity::contract(self.info.contract);
        self.state.burn(&from, amount, self.info.tick)?;
        if amount > Amount::ZERO {
            self.fx.transfers.push(Transfer {
                from,
                to: Identity::NULL,
                amount,
                kind: TransferKind::Burn,
            });
        }
        Ok(())
    }
    fn emit(&mut self, data: Vec<u8>) {
        self.fx.events.push((self.info.contract, data));
    }
    fn call(
        &mut self,
        callee: ContractIndex,
        input_type: u16,
        input: &[u8],
        reward: Amount,
    ) -> Result<Vec<u8>, ContractError> {
        if callee >= self.info.contract {
            return Err(ContractError::CallNotAllowed {
                caller: self.info.contract.0,
                callee: callee.0,
            });
        }
        if self.depth >= MAX_CALL_DEPTH {
            return Err(ContractError::CallDepth(MAX_CALL_DEPTH));
        }
        let contract = self
            .registry
            .get(callee)
            .ok_or(ContractError::UnknownContract(callee.0))?;
        let caller = Identity::contract(self.info.contract);
        let info = CallInfo {
            contract: callee,
            invocator: caller,
            invocation_reward: reward,
            ..self.info
        };
        invoke(
            self.state,
            self.registry,
            self.fx,
            info,
            self.depth + 1,
            contract.as_ref(),
            EntryPoint::Procedure(input_type),
            input,
        )
    }
}

/// Moves the invocation reward from the invocator to the contract, then runs the entry
/// point, atomically: on error nothing of it (the reward included) remains.
#[allow(clippy::too_many_arguments)]
pub(crate) fn invoke(
    state: &mut State,
    registry: &Registry,
    fx: &mut Effects,
    info: CallInfo,
    depth: u8,
    contract: &dyn Contract,
    entry: EntryPoint,
    input: &[u8],
) -> Result<Vec<u8>, ContractError> {
    let call_index = fx.calls.len();
    fx.calls.push(CallRecord {
        depth,
        invocator: info.invocator,
        contract: info.contract,
        entry,
        reward: info.invocation_reward,
        error: None,
    });
    run_atomic(state, fx, call_index, |state, fx| {
        let me = Identity::contract(info.contract);
        if info.invocation_reward > Amount::ZERO {
            if !info.invocation_reward.is_valid_tx_amount() {
                return Err(ContractError::InvalidAmount(info.invocation_reward.0));
            }
            state.transfer(&info.invocator, &me, info.invocation_reward, info.tick)?;
            fx.transfers.push(Transfer {
                from: info.invocator,
                to: me,
                amount: info.invocation_reward,
                kind: TransferKind::Transfer,
            });
        }
        let mut runner = Runner {
            state,
            registry,
            fx,
            info,
            depth,
        };
        let mut ctx = Ctx::new(&mut runner);
        match entry {
            EntryPoint::Procedure(t) => contract.procedure(&mut ctx, t, input),
            EntryPoint::BeginTick => contract.begin_tick(&mut ctx).map(|_| Vec::new()),
            EntryPoint::EndTick => contract.end_tick(&mut ctx).map(|_| Vec::new()),
            EntryPoint::BeginEpoch => contract.begin_epoch(&mut ctx).map(|_| Vec::new()),
            EntryPoint::EndEpoch => contract.end_epoch(&mut ctx).map(|_| Vec::new()),
            EntryPoint::Initialize => contract.initialize(&mut ctx).map(|_| Vec::new()),
        }
    })
}

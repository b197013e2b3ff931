//! Example contracts, small but complete, used by the ledger's own tests, the README's devnet
//! run and as a template for contract authors.
//!
//! - [`Notary`] (index 10): records a hash per invocator. No hooks.
//! - [`SendMany`] (index 11): Qubic's send-to-many, extended to show every part of the
//!   interface: the invocation reward, transfers, refunds, burns, typed events, a call into
//!   the lower-index [`Notary`], scheduled payments paid by the `end_tick` hook through a
//!   deadline index (so warps skip idle ticks), and an `end_epoch` hook that gives half of the
//!   epoch's fees to one payer drawn with the tick's seed and burns the rest.
//! - [`Faulty`] (index 12): a test fixture whose procedure 1 writes, transfers and emits, and
//!   then fails. Its changes must leave no trace.

use std::ops::Bound;

use borsh::{BorshDeserialize, BorshSerialize};

use crate::contract::{
    decode_input, encode, key_u32, Contract, Ctx, KeyBuf, Output, TickWork, View,
};
use crate::error::ContractError;
use crate::kit::{dispatch_function, dispatch_procedure};
use crate::primitives::{Amount, ContractIndex, Epoch, Hash32, Identity, Tick};

/// The notary's index.
pub const NOTARY: ContractIndex = notary::INDEX;
/// Send-many's index.
pub const SEND_MANY: ContractIndex = ContractIndex(11);
/// The faulty fixture's index.
pub const FAULTY: ContractIndex = ContractIndex(12);

// ---------------------------------------------------------------------------------------------
// Notary

/// Records one hash per identity.
#[derive(Debug, Default, Clone, Copy)]
pub struct Notary;

/// The notary's interface, declared once with the kit ([`crate::contract_api!`]).
pub mod notary {
    use super::NotaryEvent;
    use crate::primitives::{Hash32, Identity};

    crate::contract_api! {
        index: 10, name: "notary", events: NotaryEvent, errors: &[],
        procedures: {
            /// Record a hash for the invocator. Output: how many records were ever made.
            RECORD = 1 "record": Hash32 => u64,
        },
        functions: {
            /// The hash recorded by an identity.
            LOOKUP = 1 "lookup": Identity => Option<Hash32>,
            /// How many records were ever made.
            COUNT = 2 "count": () => u64,
        },
    }
}

/// Notary procedure 1: record a hash for the invocator.
pub const NOTARY_RECORD: u16 = notary::RECORD.number();
/// Notary function 1: the hash recorded by an identity.
pub const NOTARY_LOOKUP: u16 = notary::LOOKUP.number();
/// Notary function 2: how many records were ever made.
pub const NOTARY_COUNT: u16 = notary::COUNT.number();

/// Notary events.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, serde::Serialize)]
pub enum NotaryEvent {
    /// `who` recorded `hash`.
    Recorded {
        /// The invocator.
        who: Identity,
        /// The hash.
        hash: Hash32,
        /// When.
        tick: Tick,
    },
}

const NOTARY_RECORDS: u8 = 1;
const NOTARY_COUNTER: &[u8] = &[2];

impl Contract for Notary {
    fn meta(&self) -> &'static crate::kit::ContractMeta {
        &notary::META
    }
    fn procedure(&self, ctx: &mut Ctx<'_>, input_type: u16, input: &[u8]) -> Output {
        dispatch_procedure(ctx, input_type, input)
            .on(notary::RECORD, |ctx, hash| {
                let who = ctx.invocator();
                ctx.put(&KeyBuf::table(NOTARY_RECORDS).bytes32(&who.0), &hash)?;
                let count = ctx.get::<u64>(NOTARY_COUNTER)?.unwrap_or(0) + 1;
                ctx.put(NOTARY_COUNTER, &count)?;
                let tick = ctx.tick();
                ctx.emit(&NotaryEvent::Recorded { who, hash, tick });
                Ok(count)
            })
            .done()
    }
    fn function(&self, view: &View<'_>, input_type: u16, input: &[u8]) -> Output {
        dispatch_function(view, input_type, input)
            .on(notary::LOOKUP, |view, who| {
                view.get::<Hash32>(&KeyBuf::table(NOTARY_RECORDS).bytes32(&who.0))
            })
            .on(notary::COUNT, |view, ()| {
                Ok(view.get::<u64>(NOTARY_COUNTER)?.unwrap_or(0))
            })
            .done()
    }
    fn epoch_work(&self, _view: &View<'_>) -> bool {
        false
    }
    fn next_tick_work(&self, _view: &View<'_>) -> TickWork {
        TickWork::Idle
    }
}

// ---------------------------------------------------------------------------------------------
// SendMany

/// Send-to-many with scheduled payments and an epoch fee draw.
#[derive(Debug, Default, Clone, Copy)]
pub struct SendMany;

/// SendMany procedure 1: [`SendToMany`].
pub const SEND_TO_MANY: u16 = 1;
/// SendMany procedure 2: [`Schedule`] a payment for a later tick.
pub const SCHEDULE: u16 = 2;
/// SendMany procedure 3: burn the whole invocation reward.
pub const BURN_ALL: u16 = 3;
/// SendMany function 1: [`SendManyStats`].
pub const STATS: u16 = 1;

/// The fee kept per [`SendToMany`] call.
pub const SEND_MANY_FEE: Amount = Amount(10);
/// The most payments in one call.
pub const MAX_PAYMENTS: usize = 25;
/// The most scheduled payments paid in one tick; the rest carry over.
pub const MAX_DUE_PER_TICK: usize = 64;
/// The most distinct payers an epoch's fee draw considers.
pub const MAX_PAYERS_PER_EPOCH: u64 = 1024;

/// Input of [`SEND_TO_MANY`]: pay each `(to, amount)`; the reward must cover them plus the
/// fee; any excess is refunded.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SendToMany {
    /// Recipients and amounts.
    pub payments: Vec<(Identity, Amount)>,
}

/// Input of [`SCHEDULE`]: pay `amount` to `to` at the end of tick `at`. The reward must be
/// exactly `amount`.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Schedule {
    /// Recipient.
    pub to: Identity,
    /// Amount.
    pub amount: Amount,
    /// The tick at whose end it is paid.
    pub at: Tick,
}

/// Output of [`STATS`].
#[derive(Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SendManyStats {
    /// Sum of all payments made.
    pub total_sent: i64,
    /// Fees collected in the current epoch.
    pub epoch_fees: i64,
    /// Fees burned so far.
    pub burned: i64,
    /// Number of successful send-to-many calls.
    pub calls: u64,
    /// Scheduled payments not yet paid.
    pub scheduled_pending: u64,
    /// Epochs closed by the end-of-epoch hook.
    pub epochs_closed: u32,
}

/// SendMany events.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum SendManyEvent {
    /// One payment of a send-to-many call.
    Sent {
        /// Transaction source.
        originator: Identity,
        /// Recipient.
        to: Identity,
        /// Amount.
        amount: Amount,
    },
    /// A payment was scheduled.
    Scheduled {
        /// Sequence number.
        id: u64,
        /// Recipient.
        to: Identity,
        /// Amount.
        amount: Amount,
        /// Due tick.
        at: Tick,
    },
    /// A scheduled payment was paid.
    Paid {
        /// Sequence number.
        id: u64,
        /// Recipient.
        to: Identity,
        /// Amount.
        amount: Amount,
    },
    /// The epoch's fees were shared out.
    EpochClosed {
        /// The epoch.
        epoch: Epoch,
        /// The payer drawn with the tick's seed, if any.
        winner: Option<Identity>,
        /// What the winner got.
        prize: Amount,
        /// What was burned.
        burned: Amount,
    },
    /// An invocation reward was burned.
    Burned {
        /// Amount.
        amount: Amount,
    },
}

const SM_STATS: &[u8] = &[1];
const SM_SCHEDULED: u8 = 2; // map: id -> (to, amount, at)
const SM_DUE: u8 = 3; // ordered set: (at u32, id u64)
const SM_PAYERS: u8 = 4; // ordered set: (epoch u16, payer)
const SM_PAYER_COUNT: u8 = 5; // map: epoch -> count
const SM_NEXT_ID: &[u8] = &[6];

impl SendMany {
    fn stats(view: &View<'_>) -> Result<SendManyStats, ContractError> {
        Ok(view.get(SM_STATS)?.unwrap_or_default())
    }

    fn pay_due(ctx: &mut Ctx<'_>) -> Result<(), ContractError> {
        let now = ctx.tick();
        let upper = KeyBuf::table(SM_DUE).u32(now.0).u64(u64::MAX).build();
        let due = ctx.view().range(
            Bound::Included(&[SM_DUE][..]),
            Bound::Included(&upper[..]),
            MAX_DUE_PER_TICK,
            false,
        );
        let mut stats = Self::stats(&ctx.view())?;
        for key in due {
            let id =
                crate::contract::key_u64(&key, 5).ok_or_else(|| ContractError::CorruptState {
                    key: format!("{key:?}"),
                    detail: "short due key".into(),
                })?;
            let skey = KeyBuf::table(SM_SCHEDULED).u64(id).build();
            let (to, amount, _at): (Identity, Amount, Tick) =
                ctx.get(&skey)?.ok_or_else(|| ContractError::CorruptState {
                    key: format!("{skey:?}"),
                    detail: "due entry without payment".into(),
                })?;
            ctx.transfer(&to, amount)?;
            ctx.delete(&skey)?;
            ctx.remove_key(&key)?;
            stats.scheduled_pending -= 1;
            stats.total_sent += amount.0;
            ctx.emit(&SendManyEvent::Paid { id, to, amount });
        }
        ctx.put(SM_STATS, &stats)
    }
}

impl Contract for SendMany {
    fn index(&self) -> ContractIndex {
        SEND_MANY
    }
    fn name(&self) -> &'static str {
        "send-many"
    }
    fn procedure(&self, ctx: &mut Ctx<'_>, input_type: u16, input: &[u8]) -> Output {
        match input_type {
            SEND_TO_MANY => {
                let SendToMany { payments } = decode_input(input)?;
                if payments.is_empty() || payments.len() > MAX_PAYMENTS {
                    return Err(ContractError::BadInput(format!(
                        "between 1 and {MAX_PAYMENTS} payments, got {}",
                        payments.len()
                    )));
                }
                let mut total = SEND_MANY_FEE;
                for (_, amount) in &payments {
                    if amount.0 <= 0 {
                        return Err(ContractError::InvalidAmount(amount.0));
                    }
                    total = total
                        .checked_add(*amount)
                        .ok_or(ContractError::InvalidAmount(i64::MAX))?;
                }
                let reward = ctx.invocation_reward();
                if reward < total {
                    return Err(ContractError::InsufficientFunds {
                        needed: total.0,
                        available: reward.0,
                    });
                }
                let originator = ctx.originator();
                for (to, amount) in &payments {
                    ctx.transfer(to, *amount)?;
                    ctx.emit(&SendManyEvent::Sent {
                        originator,
                        to: *to,
                        amount: *amount,
                    });
                }
                let excess = reward.checked_sub(total).unwrap_or(Amount::ZERO);
                if excess > Amount::ZERO {
                    let back = ctx.invocator();
                    ctx.transfer(&back, excess)?;
                }
                // Notarise the payment list with the lower-index notary (a cross-contract call).
                let digest = Hash32::of(&encode(&payments));
                let _count: u64 = ctx.call(notary::RECORD, &digest, Amount::ZERO)?;
                // Remember the payer for the epoch's fee draw.
                let epoch = ctx.epoch();
                let count_key = KeyBuf::table(SM_PAYER_COUNT).u16(epoch.0).build();
                let count = ctx.get::<u64>(&count_key)?.unwrap_or(0);
                if count < MAX_PAYERS_PER_EPOCH
                    && ctx.insert_key(
                        &KeyBuf::table(SM_PAYERS)
                            .u16(epoch.0)
                            .bytes32(&originator.0)
                            .build(),
                    )?
                {
                    ctx.put(&count_key, &(count + 1))?;
                }
                let mut stats = Self::stats(&ctx.view())?;
                stats.total_sent += total.0 - SEND_MANY_FEE.0;
                stats.epoch_fees += SEND_MANY_FEE.0;
                stats.calls += 1;
                ctx.put(SM_STATS, &stats)?;
                Ok(encode(&stats.calls))
            }
            SCHEDULE => {
                let s: Schedule = decode_input(input)?;
                if s.amount.0 <= 0 || ctx.invocation_reward() != s.amount {
                    return Err(ContractError::InvalidAmount(ctx.invocation_reward().0));
                }
                if s.at < ctx.tick() {
                    return Err(ContractError::BadInput(format!("tick {} is past", s.at)));
                }
                let id = ctx.get::<u64>(SM_NEXT_ID)?.unwrap_or(0);
                ctx.put(SM_NEXT_ID, &(id + 1))?;
                ctx.put(
                    &KeyBuf::table(SM_SCHEDULED).u64(id).build(),
                    &(s.to, s.amount, s.at),
                )?;
                ctx.insert_key(&KeyBuf::table(SM_DUE).u32(s.at.0).u64(id).build())?;
                let mut stats = Self::stats(&ctx.view())?;
                stats.scheduled_pending += 1;
                ctx.put(SM_STATS, &stats)?;
                ctx.emit(&SendManyEvent::Scheduled {
                    id,
                    to: s.to,
                    amount: s.amount,
                    at: s.at,
                });
                Ok(encode(&id))
            }
            BURN_ALL => {
                let amount = ctx.invocation_reward();
                ctx.burn(amount)?;
                let mut stats = Self::stats(&ctx.view())?;
                stats.burned += amount.0;
                ctx.put(SM_STATS, &stats)?;
                ctx.emit(&SendManyEvent::Burned { amount });
                Ok(Vec::new())
            }
            other => Err(ContractError::UnknownProcedure {
                contract: SEND_MANY.0,
                input_type: other,
            }),
        }
    }
    fn function(
        &self,
        view: &View<'_>,
        input_type: u16,
        _input: &[u8],
    ) -> Result<Vec<u8>, ContractError> {
        match input_type {
            STATS => Ok(encode(&Self::stats(view)?)),
            other => Err(ContractError::UnknownFunction {
                contract: SEND_MANY.0,
                input_type: other,
            }),
        }
    }
    fn end_tick(&self, ctx: &mut Ctx<'_>) -> Result<(), ContractError> {
        if matches!(self.next_tick_work(&ctx.view()), TickWork::At(t) if t <= ctx.tick()) {
            Self::pay_due(ctx)?;
        }
        Ok(())
    }
    fn end_epoch(&self, ctx: &mut Ctx<'_>) -> Result<(), ContractError> {
        let epoch = ctx.epoch();
        let mut stats = Self::stats(&ctx.view())?;
        let fees = Amount(stats.epoch_fees);
        let count_key = KeyBuf::table(SM_PAYER_COUNT).u16(epoch.0).build();
        let count = ctx.get::<u64>(&count_key)?.unwrap_or(0);
        let mut winner = None;
        let mut prize = Amount::ZERO;
        if count > 0 && fees > Amount::ZERO {
            let seed = ctx.seed();
            let draw = u64::from_le_bytes(seed.0[..8].try_into().expect("8 bytes")) % count;
            let prefix = KeyBuf::table(SM_PAYERS).u16(epoch.0).build();
            let keys = ctx
                .view()
                .keys_with_prefix(&prefix, None, (draw + 1) as usize);
            if let Some(key) = keys.last() {
                let mut id = [0u8; 32];
                id.copy_from_slice(&key[3..35]);
                let who = Identity(id);
                prize = Amount(fees.0 / 2);
                ctx.transfer(&who, prize)?;
                winner = Some(who);
            }
        }
        let burned = Amount(fees.0 - prize.0);
        if burned > Amount::ZERO {
            ctx.burn(burned)?;
        }
        // Forget the epoch's payers (bounded by MAX_PAYERS_PER_EPOCH).
        let prefix = KeyBuf::table(SM_PAYERS).u16(epoch.0).build();
        for key in ctx
            .view()
            .keys_with_prefix(&prefix, None, MAX_PAYERS_PER_EPOCH as usize)
        {
            ctx.remove_key(&key)?;
        }
        ctx.delete(&count_key)?;
        stats.epoch_fees = 0;
        stats.burned += burned.0;
        stats.epochs_closed += 1;
        ctx.put(SM_STATS, &stats)?;
        ctx.emit(&SendManyEvent::EpochClosed {
            epoch,
            winner,
            prize,
            burned,
        });
        Ok(())
    }
    /// Work at an epoch's end when the epoch has fees to share out or payers to forget.
    fn epoch_work(&self, view: &View<'_>) -> bool {
        Self::stats(view).is_ok_and(|s| s.epoch_fees > 0)
            || view.first_with_prefix(&[SM_PAYERS]).is_some()
    }
    fn next_tick_work(&self, view: &View<'_>) -> TickWork {
        match view.first_with_prefix(&[SM_DUE]) {
            Some(key) => match key_u32(&key, 1) {
                Some(at) => TickWork::At(Tick(at)),
                None => TickWork::EveryTick,
            },
            None => TickWork::Idle,
        }
    }
    fn describe_event(&self, data: &[u8]) -> String {
        match SendManyEvent::try_from_slice(data) {
            Ok(e) => format!("{e:?}"),
            Err(_) => format!("undecodable send-many event ({} bytes)", data.len()),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Faulty

/// A fixture that mutates and then fails (procedure 1), or mutates and succeeds (procedure 2).
#[derive(Debug, Default, Clone, Copy)]
pub struct Faulty;

/// Faulty procedure 1: write, transfer half the reward to the invocator, emit, call the
/// notary, then fail.
pub const FAULTY_FAIL: u16 = 1;
/// Faulty procedure 2: the same writes, and succeed.
pub const FAULTY_SUCCEED: u16 = 2;
/// Faulty function 1: how many times procedure 2 succeeded.
pub const FAULTY_COUNT: u16 = 1;

impl Faulty {
    fn mutate(ctx: &mut Ctx<'_>) -> Result<u64, ContractError> {
        let n = ctx.get::<u64>(b"n")?.unwrap_or(0) + 1;
        ctx.put(b"n", &n)?;
        ctx.insert_key(&KeyBuf::table(b'k').u64(n).build())?;
        let half = Amount(ctx.invocation_reward().0 / 2);
        if half > Amount::ZERO {
            let to = ctx.invocator();
            ctx.transfer(&to, half)?;
        }
        ctx.emit(&n);
        let _: u64 = ctx.call(notary::RECORD, &Hash32::of(&n.to_le_bytes()), Amount::ZERO)?;
        Ok(n)
    }
}

impl Contract for Faulty {
    fn index(&self) -> ContractIndex {
        FAULTY
    }
    fn name(&self) -> &'static str {
        "faulty"
    }
    fn procedure(
        &self,
        ctx: &mut Ctx<'_>,
        input_type: u16,
        _input: &[u8],
    ) -> Result<Vec<u8>, ContractError> {
        match input_type {
            FAULTY_FAIL => {
                let n = Self::mutate(ctx)?;
                Err(ContractError::Rejected {
                    code: 1,
                    name: "Planned".into(),
                    detail: format!("failed after write {n}"),
                })
            }
            FAULTY_SUCCEED => Ok(encode(&Self::mutate(ctx)?)),
            other => Err(ContractError::UnknownProcedure {
                contract: FAULTY.0,
                input_type: other,
            }),
        }
    }
    fn function(
        &self,
        view: &View<'_>,
        input_type: u16,
        _input: &[u8],
    ) -> Result<Vec<u8>, ContractError> {
        match input_type {
            FAULTY_COUNT => Ok(encode(&view.get::<u64>(b"n")?.unwrap_or(0))),
            other => Err(ContractError::UnknownFunction {
                contract: FAULTY.0,
                input_type: other,
            }),
        }
    }
    fn epoch_work(&self, _view: &View<'_>) -> bool {
        false
    }
    fn next_tick_work(&self, _view: &View<'_>) -> TickWork {
        TickWork::Idle
    }
}

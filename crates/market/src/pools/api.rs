//! The compute pools' interface: its index, entry points, inputs, outputs, events, errors
//! and genesis settings.

use borsh::{BorshDeserialize, BorshSerialize};
use comqute_qpi::primitives::{Amount, ContractIndex, Identity, Tick, MAX_AMOUNT};
use comqute_qpi::{contract_api, rejected_errors};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::ids::{JobId, WorkerId};

contract_api! {
    index: 3, name: "pools", events: PoolEvent, errors: PoolError::ALL_CODES,
    procedures: {
        /// Open a pool, [`CreatePool`]; the invocation reward is the deposit (at least
        /// [`PoolConfig::create_deposit`]), returned at [`CLOSE`]. Output: the pool's id.
        CREATE = 1 "create": CreatePool => u64,
        /// Join a pool, [`PoolRef`]; the invocation reward is the member's stake (at least the
        /// pool's minimum). The caller must be an active registered worker in no pool.
        JOIN = 2 "join": PoolRef => (),
        /// Start leaving: the member stops earning, is paid what it is owed, and its stake
        /// stays slashable for [`PoolConfig::unbonding_ticks`]. Output: the first tick of
        /// [`WITHDRAW`].
        LEAVE = 3 "leave": () => Tick,
        /// After the unbonding period: the stake and anything owed go back; the member is
        /// gone. Output: the amount paid.
        WITHDRAW = 4 "withdraw": () => Amount,
        /// A member takes what it is owed. Output: the amount paid.
        CLAIM = 5 "claim": () => Amount,
        /// The operator closes an empty pool: the deposit (and any carried dust) goes back.
        CLOSE = 6 "close": PoolRef => Amount,
        /// Anyone: take the pool's due throughput readings now (they are otherwise taken at
        /// its next settled job). Output: the tier.
        REFRESH = 7 "refresh": PoolRef => Tier,
        /// Job registry only: a member's job payment, already transferred to this contract by
        /// the escrow vault, shared out by the pool's rule.
        SETTLE_JOB = 20 "settle_job": SettleJob => PoolSettlement,
        /// Job registry only: a slash on a member's job reaches the pool: the faulty
        /// member's pool stake first, then the other members pro rata.
        SLASH_MEMBER = 21 "slash_member": SlashMember => PoolSlash,
    },
    functions: {
        /// One pool with its members.
        GET_POOL = 1 "get_pool": PoolRef => Option<PoolView>,
        /// Pools by id, a page.
        POOLS = 2 "pools": PoolsQuery => PoolPage,
        /// A worker's pool and what it is owed.
        MEMBER_OF = 3 "member_of": WorkerId => Option<MemberView>,
        /// The genesis settings.
        SETTINGS = 4 "settings": () => PoolConfig,
        /// The contract's totals.
        POOL_STATS = 5 "pool_stats": () => PoolStats,
    },
}

/// The reward-per-unit accumulator's scale: rewards are tracked in units of 10^-18.
pub const SCALE: u128 = 1_000_000_000_000_000_000;

/// A pool's tier, by verified throughput (and a stake floor).
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
pub enum Tier {
    /// Every pool starts here.
    #[default]
    Bronze,
    /// [`PoolConfig::tiers`]`[0]`.
    Silver,
    /// `tiers[1]`.
    Gold,
    /// `tiers[2]`.
    Platinum,
    /// `tiers[3]`.
    Diamond,
}

impl Tier {
    /// Bronze to Diamond.
    pub const ALL: [Tier; 5] = [
        Tier::Bronze,
        Tier::Silver,
        Tier::Gold,
        Tier::Platinum,
        Tier::Diamond,
    ];
}

/// What a tier above Bronze asks for.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TierRule {
    /// The least moving average of verified output tokens per tick.
    pub min_tokens_per_tick: u64,
    /// The least sum of active members' stakes.
    pub min_stake: Amount,
}

/// How the members' part of a payment is shared.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
pub enum PayoutScheme {
    /// By each active member's stake.
    ByStake,
    /// By each active member's verified output tokens over the pool's last `last_jobs`
    /// settled jobs (PPLNS: resists pool hopping).
    ByWork {
        /// N, at least 1, at most [`PoolConfig::max_work_window`].
        last_jobs: u32,
    },
}

/// Input of [`CREATE`].
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatePool {
    /// The operator's fee, basis points of each payment (at most
    /// [`PoolConfig::max_fee_bps`]).
    pub fee_bps: u16,
    /// How members share.
    pub scheme: PayoutScheme,
    /// The least stake a member joins with.
    pub min_member_stake: Amount,
}

/// A pool by id: input of [`JOIN`], [`CLOSE`], [`REFRESH`], [`GET_POOL`].
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct PoolRef {
    /// The pool.
    pub pool: u64,
}

/// Input of [`SETTLE_JOB`].
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct SettleJob {
    /// The job.
    pub job_id: JobId,
    /// The member that served it.
    pub worker: WorkerId,
    /// The payment transferred to this contract (the verification fee already taken).
    pub amount: Amount,
    /// The job's output tokens.
    pub output_tokens: u32,
    /// Undisputed, or a check passed: counts for throughput and work shares.
    pub verified: bool,
}

/// Output of [`SETTLE_JOB`]: where a payment went. `fee + executor + members + carried_in
/// == amount` is not required per job (dust moves between jobs); per pool, paid + carried
/// == received always.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
pub struct PoolSettlement {
    /// The pool.
    pub pool: u64,
    /// To the operator.
    pub fee: Amount,
    /// To the executing member (with the members' part too when no member has units).
    pub executor: Amount,
    /// Into the accumulator for the members.
    pub members: Amount,
}

/// Input of [`SLASH_MEMBER`].
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct SlashMember {
    /// The job.
    pub job_id: JobId,
    /// The faulty member.
    pub worker: WorkerId,
    /// Who receives the slash (the harmed requester).
    pub to: Identity,
}

/// Output of [`SLASH_MEMBER`].
#[derive(
    Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
pub struct PoolSlash {
    /// The pool.
    pub pool: u64,
    /// Taken from the faulty member.
    pub from_worker: Amount,
    /// Taken from the other members, pro rata by stake.
    pub from_members: Amount,
}

/// Input of [`POOLS`].
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct PoolsQuery {
    /// Start after this pool id (`None`: from the first).
    pub cursor: Option<u64>,
    /// At most this many (capped at [`crate::MAX_PAGE`]).
    pub limit: u16,
}

/// A member's standing.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
pub enum MemberStatus {
    /// Earning.
    Active,
    /// Left; the stake is slashable until `until`, then [`WITHDRAW`].
    Unbonding {
        /// The first tick of withdrawal.
        until: Tick,
    },
}

/// A pool's record (stored).
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pool {
    /// Its id (from 1).
    pub id: u64,
    /// Who opened it: takes the fee, may close it.
    pub operator: Identity,
    /// The operator's fee.
    pub fee_bps: u16,
    /// How members share.
    pub scheme: PayoutScheme,
    /// The least stake to join with.
    pub min_member_stake: Amount,
    /// The deposit held until close.
    pub deposit: Amount,
    /// Closed: refuses members; kept for its history.
    pub closed: bool,
    /// The tier.
    pub tier: Tier,
    /// Readings in a row under the tier (demotion at 2).
    pub low_readings: u8,
    /// The moving average, thousandths of a verified output token per tick.
    pub avg_milli_tokens: u64,
    /// The reading window being filled (`tick / reading_ticks`).
    pub window: u64,
    /// Verified output tokens settled in that window.
    pub window_tokens: u64,
    /// Members (active and unbonding).
    pub members: u32,
    /// Sum of all members' stakes (active and unbonding): what a slash can reach.
    pub total_stake: Amount,
    /// Sum of active members' stakes: what the tier's floor counts.
    pub active_stake: Amount,
    /// Sum of active members' units.
    pub total_units: u128,
    /// Reward per unit, scaled by [`SCALE`].
    pub acc: u128,
    /// Scaled remainder not yet credited to anyone (less than `total_units` after each
    /// distribution).
    pub carry_scaled: u128,
    /// Job payments received.
    pub received: Amount,
    /// Of those, fees paid to the operator.
    pub fees_paid: Amount,
    /// Paid straight to executing members.
    pub executor_paid: Amount,
    /// Claimed by (or paid at leave and withdrawal to) members from the accumulator.
    pub members_claimed: Amount,
    /// Whole units of dust paid out (at close, or to a withdrawer when no member earns).
    pub dust_paid: Amount,
    /// Verified jobs recorded (the work ring's next sequence number).
    pub work_seq: u64,
    /// Jobs settled.
    pub jobs_settled: u64,
    /// Ever slashed from members.
    pub slashed: Amount,
    /// When it opened.
    pub created_at: Tick,
}

/// A member's record (stored).
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    /// The worker.
    pub worker: WorkerId,
    /// Its pool.
    pub pool: u64,
    /// Its stake, held by this contract.
    pub stake: Amount,
    /// Its standing.
    pub status: MemberStatus,
    /// Units it earns by now (0 when unbonding).
    pub units: u128,
    /// The accumulator when last credited.
    pub snapshot: u128,
    /// Credited and not yet paid, scaled by [`SCALE`].
    pub owed_scaled: u128,
    /// Paid out of the accumulator so far.
    pub claimed: Amount,
    /// Verified output tokens in the pool's work window (ByWork units).
    pub recent_tokens: u64,
    /// The pool's work sequence number when it joined (older entries are not its).
    pub joined_seq: u64,
    /// When it joined.
    pub joined_at: Tick,
}

/// One member in a [`PoolView`].
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberView {
    /// The record.
    pub member: Member,
    /// What it would be paid by [`CLAIM`] now (whole units).
    pub owed: Amount,
}

/// Output of [`GET_POOL`].
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolView {
    /// The record.
    pub pool: Pool,
    /// The members, by identity.
    pub members: Vec<MemberView>,
    /// Paid or owed in whole units: fees, executors, members' claims and whole owed amounts,
    /// dust paid.
    pub paid: Amount,
    /// Received and not yet anyone's whole unit: `paid + carried == received`.
    pub carried: Amount,
}

/// Output of [`POOLS`].
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolPage {
    /// The pools (records only; [`GET_POOL`] for members).
    pub pools: Vec<Pool>,
    /// Pass as `cursor` for the next page.
    pub next_cursor: Option<u64>,
}

/// Output of [`POOL_STATS`].
#[derive(
    Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub struct PoolStats {
    /// Pools ever created (the last id).
    pub created: u64,
    /// Pools open.
    pub open: u64,
    /// Members now.
    pub members: u64,
    /// What the contract must hold: deposits, stakes, and received money not yet paid out.
    /// Its balance equals it.
    pub held: Amount,
}

/// Pool events.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub enum PoolEvent {
    /// A pool opened.
    Created {
        /// The pool.
        pool: u64,
        /// The operator.
        operator: Identity,
        /// Its fee.
        fee_bps: u16,
        /// Its scheme.
        scheme: PayoutScheme,
        /// Its minimum member stake.
        min_member_stake: Amount,
        /// The deposit.
        deposit: Amount,
    },
    /// A worker joined.
    Joined {
        /// The pool.
        pool: u64,
        /// The worker.
        worker: WorkerId,
        /// Its stake.
        stake: Amount,
    },
    /// A member started leaving.
    Left {
        /// The pool.
        pool: u64,
        /// The worker.
        worker: WorkerId,
        /// Paid what it was owed.
        paid: Amount,
        /// The first tick of withdrawal.
        until: Tick,
    },
    /// A member is gone with its stake.
    Withdrawn {
        /// The pool.
        pool: u64,
        /// The worker.
        worker: WorkerId,
        /// The stake returned.
        stake: Amount,
        /// Owed amounts and dust paid with it.
        paid: Amount,
    },
    /// A member claimed.
    Claimed {
        /// The pool.
        pool: u64,
        /// The worker.
        worker: WorkerId,
        /// Paid.
        amount: Amount,
    },
    /// The operator closed an empty pool.
    Closed {
        /// The pool.
        pool: u64,
        /// Deposit and dust returned.
        returned: Amount,
    },
    /// A member's job payment was shared out.
    JobSettled {
        /// The pool.
        pool: u64,
        /// The job.
        job_id: JobId,
        /// The executing member.
        worker: WorkerId,
        /// Received.
        amount: Amount,
        /// The split.
        split: PoolSettlement,
        /// Output tokens, if verified (0 otherwise).
        verified_tokens: u32,
    },
    /// A slash on a member's job.
    Slashed {
        /// The pool.
        pool: u64,
        /// The job.
        job_id: JobId,
        /// The faulty member.
        worker: WorkerId,
        /// Who received it.
        to: Identity,
        /// The amounts.
        slash: PoolSlash,
    },
    /// A throughput reading.
    Reading {
        /// The pool.
        pool: u64,
        /// The window read.
        window: u64,
        /// Its throughput, thousandths of a token per tick.
        milli_tokens_per_tick: u64,
        /// The moving average after it.
        avg_milli_tokens: u64,
        /// The tier after it.
        tier: Tier,
        /// Low readings in a row after it.
        low_readings: u8,
    },
    /// The tier changed.
    TierChanged {
        /// The pool.
        pool: u64,
        /// Before.
        from: Tier,
        /// Now.
        to: Tier,
    },
}

/// Why the pools contract refused a call. Codes 300–399.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PoolError {
    /// The invocator may not call this procedure.
    #[error("{caller} may not call pools procedure {procedure}")]
    NotAuthorized {
        /// The invocator.
        caller: Identity,
        /// The procedure.
        procedure: u16,
    },
    /// No such pool.
    #[error("no pool {0}")]
    UnknownPool(u64),
    /// The pool is closed.
    #[error("pool {0} is closed")]
    PoolClosed(u64),
    /// The fee is over the genesis maximum.
    #[error("fee {fee_bps} bps is over the maximum {max_bps}")]
    FeeTooHigh {
        /// Asked.
        fee_bps: u16,
        /// The maximum.
        max_bps: u16,
    },
    /// A bad payout scheme or minimum stake.
    #[error("invalid pool settings: {0}")]
    InvalidPool(String),
    /// The deposit is under the genesis figure.
    #[error("deposit {got} is under {needed}")]
    DepositTooLow {
        /// Needed.
        needed: Amount,
        /// Sent.
        got: Amount,
    },
    /// The caller is not an active registered worker.
    #[error("{0} is not an active registered worker")]
    NotAWorker(Identity),
    /// The stake is under the pool's minimum.
    #[error("stake {got} is under the pool's minimum {needed}")]
    BelowMinimumStake {
        /// The minimum.
        needed: Amount,
        /// Sent.
        got: Amount,
    },
    /// The worker is already in a pool (one pool per worker).
    #[error("{worker} is already in pool {pool}")]
    AlreadyInPool {
        /// The worker.
        worker: Identity,
        /// Its pool.
        pool: u64,
    },
    /// The pool has as many members as the genesis allows.
    #[error("pool {pool} has {members} members, the most allowed")]
    PoolFull {
        /// The pool.
        pool: u64,
        /// Its members.
        members: u32,
    },
    /// Not a member of any pool.
    #[error("{0} is not a pool member")]
    NotAMember(Identity),
    /// Leave twice.
    #[error("already leaving; withdraw from tick {until}")]
    AlreadyLeaving {
        /// The first tick of withdrawal.
        until: Tick,
    },
    /// Withdraw without leaving.
    #[error("the member has not left; leave first")]
    NotLeaving,
    /// Withdraw before the unbonding period ended.
    #[error("unbonding until tick {until}")]
    StillUnbonding {
        /// The first tick of withdrawal.
        until: Tick,
    },
    /// Close by someone else.
    #[error("{caller} is not pool {pool}'s operator")]
    NotOperator {
        /// The caller.
        caller: Identity,
        /// The pool.
        pool: u64,
    },
    /// Close with members.
    #[error("pool {pool} still has {members} members")]
    PoolNotEmpty {
        /// The pool.
        pool: u64,
        /// Its members.
        members: u32,
    },
    /// Money sent to a procedure that takes none.
    #[error("procedure takes no payment, got {0}")]
    UnexpectedPayment(Amount),
    /// A settlement for money that did not arrive.
    #[error("settlement of {amount}, but only {unaccounted} arrived unaccounted")]
    Unfunded {
        /// Settled.
        amount: Amount,
        /// What the balance holds beyond the books.
        unaccounted: Amount,
    },
    /// An amount out of range or arithmetic overflow.
    #[error("amount out of range: {0}")]
    Overflow(&'static str),
}

rejected_errors!(PoolError {
    NotAuthorized = 300,
    UnknownPool = 301,
    PoolClosed = 302,
    FeeTooHigh = 303,
    InvalidPool = 304,
    DepositTooLow = 305,
    NotAWorker = 306,
    BelowMinimumStake = 307,
    AlreadyInPool = 308,
    PoolFull = 309,
    NotAMember = 310,
    AlreadyLeaving = 311,
    NotLeaving = 312,
    StillUnbonding = 313,
    NotOperator = 314,
    PoolNotEmpty = 315,
    UnexpectedPayment = 316,
    Unfunded = 317,
    Overflow = 318,
});

/// The pools' genesis settings.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct PoolConfig {
    /// The highest operator fee, basis points (default 2,000: 20%; at most 2,000).
    pub max_fee_bps: u16,
    /// The executing member's share of a payment after the fee, basis points (default
    /// 5,000).
    pub executor_share_bps: u16,
    /// The deposit to open a pool (default 10,000).
    pub create_deposit: Amount,
    /// Ticks a leaving member's stake stays slashable (default 1,000).
    pub unbonding_ticks: u32,
    /// The most members a pool has (default 64; a slash touches each).
    pub max_members: u32,
    /// The longest ByWork window, in jobs (default 1,000).
    pub max_work_window: u32,
    /// What a slash on a pool job takes from the pool's stakes (default 5,000).
    pub slash_amount: Amount,
    /// A throughput reading every this many ticks (default 100).
    pub reading_ticks: u32,
    /// The moving average's weight: `avg = (avg × (w − 1) + reading) / w` (default 4).
    pub average_weight: u32,
    /// Silver, Gold, Platinum, Diamond: each threshold at least the one before (defaults
    /// 10, 50, 200, 1,000 tokens per tick; stake floors 20,000, 100,000, 500,000,
    /// 2,000,000).
    pub tiers: Vec<TierRule>,
    /// The contracts that settle and slash jobs (the job registry). Genesis wiring.
    #[serde(skip)]
    pub job_clients: Vec<ContractIndex>,
    /// The worker registry, asked whether a joiner is a registered worker. Genesis wiring.
    #[serde(skip)]
    pub worker_registry: Option<ContractIndex>,
}

impl Default for PoolConfig {
    fn default() -> Self {
        let rule = |t: u64, s: i64| TierRule {
            min_tokens_per_tick: t,
            min_stake: Amount(s),
        };
        PoolConfig {
            max_fee_bps: 2_000,
            executor_share_bps: 5_000,
            create_deposit: Amount(10_000),
            unbonding_ticks: 1_000,
            max_members: 64,
            max_work_window: 1_000,
            slash_amount: Amount(5_000),
            reading_ticks: 100,
            average_weight: 4,
            tiers: vec![
                rule(10, 20_000),
                rule(50, 100_000),
                rule(200, 500_000),
                rule(1_000, 2_000_000),
            ],
            job_clients: Vec::new(),
            worker_registry: None,
        }
    }
}

/// Why a [`PoolConfig`] is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PoolConfigError {
    /// A basis-point figure over its cap.
    #[error("{field} {value} is over {max}")]
    BpsOverMax {
        /// The setting.
        field: &'static str,
        /// Its value.
        value: u16,
        /// The cap.
        max: u16,
    },
    /// An amount outside `0..=MAX_AMOUNT`.
    #[error("{field} {value} is out of range")]
    AmountOutOfRange {
        /// The setting.
        field: &'static str,
        /// Its value.
        value: Amount,
    },
    /// A count that must be positive is 0.
    #[error("{0} must be at least 1")]
    Zero(&'static str),
    /// Not four tier rules, or not ascending.
    #[error("tiers: {0}")]
    Tiers(String),
}

impl PoolConfig {
    /// Checks the settings.
    pub fn validate(&self) -> Result<(), PoolConfigError> {
        for (field, value, max) in [
            ("maxFeeBps", self.max_fee_bps, 2_000),
            (
                "executorShareBps",
                self.executor_share_bps,
                crate::rules::BPS,
            ),
        ] {
            if value > max {
                return Err(PoolConfigError::BpsOverMax { field, value, max });
            }
        }
        for (field, value) in [
            ("createDeposit", self.create_deposit),
            ("slashAmount", self.slash_amount),
        ] {
            if !(0..=MAX_AMOUNT).contains(&value.0) {
                return Err(PoolConfigError::AmountOutOfRange { field, value });
            }
        }
        for (field, v) in [
            ("maxMembers", self.max_members),
            ("maxWorkWindow", self.max_work_window),
            ("readingTicks", self.reading_ticks),
            ("averageWeight", self.average_weight),
        ] {
            if v == 0 {
                return Err(PoolConfigError::Zero(field));
            }
        }
        if self.tiers.len() != 4 {
            return Err(PoolConfigError::Tiers(format!(
                "four rules (Silver to Diamond), got {}",
                self.tiers.len()
            )));
        }
        for (i, r) in self.tiers.iter().enumerate() {
            if !(0..=MAX_AMOUNT).contains(&r.min_stake.0)
                || r.min_tokens_per_tick > u64::MAX / 1_000
            {
                return Err(PoolConfigError::Tiers(format!("rule {i} out of range")));
            }
            if i > 0 {
                let p = &self.tiers[i - 1];
                if r.min_tokens_per_tick < p.min_tokens_per_tick || r.min_stake < p.min_stake {
                    return Err(PoolConfigError::Tiers(format!(
                        "rule {i} asks less than rule {}",
                        i - 1
                    )));
                }
            }
        }
        Ok(())
    }
}

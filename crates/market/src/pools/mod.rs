//! Compute pools (contract index 3): workers bond a stake to a pool, the pool's job payments
//! are shared by rule, its tier follows its verified throughput, and a slash on a member's
//! job reaches the pool.
//!
//! **Money.** The contract holds the pools' deposits, the members' stakes (a bond of its own,
//! separate from the worker registry's stake) and what it received and has not paid yet.
//! Its balance always equals [`PoolStats::held`].
//!
//! **A member's job payment** is paid by the escrow vault to this contract and shared out by
//! [`SETTLE_JOB`] (the job registry calls it at settlement, after the verification fee):
//! 1. the operator's fee, `amount × fee_bps / 10,000` (floor), pushed to the operator;
//! 2. the executing member's share of the rest, [`PoolConfig::executor_share_bps`], pushed to
//!    it;
//! 3. the rest into a reward-per-unit accumulator: `acc += (rest × SCALE + carry) / units`,
//!    the remainder carried to the next payment. A member's credit is `units × (acc −
//!    snapshot)` (scaled, exact), paid down in whole units with floor division; its
//!    fraction stays with it, and goes back to the pool's carry when it withdraws. So
//!    `paid + carried == received` exactly, and the carried dust (below one unit per member,
//!    plus the pool's remainder, below one unit) is bounded by the member count + 1.
//!
//! **Push and pull.** The fee and the executor's share are one transfer each, pushed at
//! settlement. The members' part is pulled ([`CLAIM`]), and pushed at [`LEAVE`] and
//! [`WITHDRAW`]: pushing it would cost a transfer per member per job (a pool of 64 members
//! would make every settlement 64 transfers inside the job registry's END_TICK); the
//! accumulator makes a settlement O(1) whatever the pool's size.
//!
//! **Units.** [`PayoutScheme::ByStake`]: an active member's stake. [`PayoutScheme::ByWork`]:
//! its verified output tokens among the pool's last N verified jobs (a ring in the state;
//! each settlement adds one entry and drops the oldest, two members re-credited). A member
//! whose units change is credited first, so no one earns on units it did not hold.
//!
//! **Tiers.** A reading every [`PoolConfig::reading_ticks`] ticks (the window `tick /
//! reading_ticks`), taken lazily: at the pool's next settled job, or by anyone with
//! [`REFRESH`]; missed windows are read one by one (each with the tokens settled in it, so
//! idle windows read 0), at most 64 at a time. A reading is `tokens × 1,000 /
//! reading_ticks` (thousandths of a token per tick); the moving average is `avg = (avg ×
//! (w − 1) + reading) / w`. The tier a reading supports is the highest of
//! [`PoolConfig::tiers`] whose throughput and active-stake floor are met. Promotion is at
//! once; demotion only after two readings in a row below the tier.
//!
//! **Slashing.** When the job registry slashes a member's job (an expired delivery, a failed
//! check) it calls [`SLASH_MEMBER`]: [`PoolConfig::slash_amount`] (capped by the pool's
//! stakes) is taken from the faulty member's pool stake first, the rest from the other
//! members (active and unbonding, so a leaver is still reached) pro rata by stake, floor,
//! the rounding remainder one unit each in identity order. It is paid to the harmed
//! requester. This is on top of the worker registry's own slash of the worker's stake.
//!
//! No admin: the operator may only close its own empty pool; settlement and slashing take
//! only the job registry as invocator ([`PoolConfig::job_clients`]).

mod api;

pub use api::*;

use comqute_qpi::contract::{Contract, Ctx, KeyBuf, Output, TickWork, View};
use comqute_qpi::error::ContractError;
use comqute_qpi::kit::{dispatch_function, dispatch_procedure, ContractMeta};
use comqute_qpi::primitives::{Amount, Identity, Tick};

use crate::ids::WorkerId;
use crate::worker_registry::{WorkerInfo, WorkerQuery, WorkerStatus, GET_WORKER};

const T_POOL: u8 = 1; // map: pool id -> Pool
const T_MEMBER: u8 = 2; // map: worker -> Member
const T_POOL_MEMBER: u8 = 3; // set: pool id ‖ worker
const T_WORK: u8 = 4; // map: pool id ‖ work seq -> WorkEntry
const K_STATS: &[u8] = &[5];

/// The most missed readings taken at once; a pool idle longer jumps to the current window.
const MAX_READINGS: u32 = 64;

fn pool_key(id: u64) -> KeyBuf {
    KeyBuf::table(T_POOL).u64(id)
}
fn member_key(w: &Identity) -> KeyBuf {
    KeyBuf::table(T_MEMBER).bytes32(&w.0)
}
fn pool_member_key(pool: u64, w: &Identity) -> KeyBuf {
    KeyBuf::table(T_POOL_MEMBER).u64(pool).bytes32(&w.0)
}
fn work_key(pool: u64, seq: u64) -> KeyBuf {
    KeyBuf::table(T_WORK).u64(pool).u64(seq)
}

/// One verified job in a ByWork pool's ring.
#[derive(Debug, Clone, borsh::BorshSerialize, borsh::BorshDeserialize)]
struct WorkEntry {
    worker: Identity,
    tokens: u64,
}

fn corrupt(key: &[u8], detail: &str) -> ContractError {
    ContractError::CorruptState {
        key: key.iter().map(|b| format!("{b:02x}")).collect(),
        detail: detail.into(),
    }
}
fn overflow(what: &'static str) -> PoolError {
    PoolError::Overflow(what)
}
fn add(a: Amount, b: Amount) -> Result<Amount, PoolError> {
    a.checked_add(b).ok_or(overflow("sum"))
}
fn sub(a: Amount, b: Amount) -> Result<Amount, PoolError> {
    a.checked_sub(b)
        .filter(|v| v.0 >= 0)
        .ok_or(overflow("difference"))
}
/// Whole units of a scaled amount, as an amount.
fn whole(scaled: u128) -> Result<Amount, PoolError> {
    i64::try_from(scaled / SCALE)
        .map(Amount)
        .map_err(|_| overflow("whole units"))
}
fn scaled(a: Amount) -> Result<u128, PoolError> {
    u128::try_from(a.0)
        .map_err(|_| overflow("negative amount"))?
        .checked_mul(SCALE)
        .ok_or(overflow("scaled amount"))
}

/// The units a member earns with now.
fn units_of(pool: &Pool, m: &Member) -> u128 {
    if m.status != MemberStatus::Active {
        return 0;
    }
    match pool.scheme {
        PayoutScheme::ByStake => u128::try_from(m.stake.0.max(0)).unwrap_or(0),
        PayoutScheme::ByWork { .. } => u128::from(m.recent_tokens),
    }
}

/// Credits a member with the accumulator's growth since its snapshot.
fn credit(pool: &Pool, m: &mut Member) -> Result<(), PoolError> {
    let growth = pool
        .acc
        .checked_sub(m.snapshot)
        .ok_or(overflow("snapshot"))?;
    let gain = m.units.checked_mul(growth).ok_or(overflow("credit"))?;
    m.owed_scaled = m.owed_scaled.checked_add(gain).ok_or(overflow("owed"))?;
    m.snapshot = pool.acc;
    Ok(())
}

/// Credits a member, then sets its units to what its record says now.
fn reunit(pool: &mut Pool, m: &mut Member) -> Result<(), PoolError> {
    credit(pool, m)?;
    let new = units_of(pool, m);
    pool.total_units = pool
        .total_units
        .checked_sub(m.units)
        .and_then(|t| t.checked_add(new))
        .ok_or(overflow("units"))?;
    m.units = new;
    Ok(())
}

/// Adds `amount` (scaled) to the members' pot: into the accumulator when anyone earns,
/// otherwise carried.
fn distribute(pool: &mut Pool, amount: u128) -> Result<(), PoolError> {
    let pot = pool
        .carry_scaled
        .checked_add(amount)
        .ok_or(overflow("pot"))?;
    if pool.total_units == 0 {
        pool.carry_scaled = pot;
        return Ok(());
    }
    pool.acc = pool
        .acc
        .checked_add(pot / pool.total_units)
        .ok_or(overflow("accumulator"))?;
    pool.carry_scaled = pot % pool.total_units;
    Ok(())
}

/// What a member is owed now, scaled (credited plus not yet credited).
fn owed_scaled_now(pool: &Pool, m: &Member) -> Result<u128, PoolError> {
    let mut m = m.clone();
    credit(pool, &mut m)?;
    Ok(m.owed_scaled)
}

/// The compute pools contract.
#[derive(Debug, Clone, Default)]
pub struct Pools {
    config: PoolConfig,
}

impl Pools {
    /// The contract with these genesis settings.
    pub fn new(config: PoolConfig) -> Self {
        Pools { config }
    }

    fn stats(view: &View<'_>) -> Result<PoolStats, ContractError> {
        Ok(view.get(K_STATS)?.unwrap_or_default())
    }
    fn load_pool(view: &View<'_>, id: u64) -> Result<Pool, ContractError> {
        Ok(view.get(&pool_key(id))?.ok_or(PoolError::UnknownPool(id))?)
    }
    fn load_member(view: &View<'_>, w: &Identity) -> Result<Member, ContractError> {
        Ok(view.get(&member_key(w))?.ok_or(PoolError::NotAMember(*w))?)
    }
    fn save_pool(ctx: &mut Ctx<'_>, p: &Pool) -> Result<(), ContractError> {
        ctx.put(&pool_key(p.id), p)
    }
    fn save_member(ctx: &mut Ctx<'_>, m: &Member) -> Result<(), ContractError> {
        ctx.put(&member_key(&m.worker.0), m)
    }
    /// Moves `held` by `plus − minus`.
    fn book(ctx: &mut Ctx<'_>, plus: Amount, minus: Amount) -> Result<(), ContractError> {
        let mut s = Self::stats(&ctx.view())?;
        s.held = sub(add(s.held, plus)?, minus)?;
        ctx.put(K_STATS, &s)
    }
    fn pay(ctx: &mut Ctx<'_>, to: &Identity, amount: Amount) -> Result<(), ContractError> {
        if amount > Amount::ZERO {
            ctx.transfer(to, amount)?;
        }
        Ok(())
    }
    fn no_payment(ctx: &Ctx<'_>) -> Result<(), PoolError> {
        let r = ctx.invocation_reward();
        if r != Amount::ZERO {
            return Err(PoolError::UnexpectedPayment(r));
        }
        Ok(())
    }
    fn require_job_client(&self, ctx: &Ctx<'_>, procedure: u16) -> Result<(), PoolError> {
        crate::rules::invoked_by(ctx, &self.config.job_clients)
            .map_err(|caller| PoolError::NotAuthorized { caller, procedure })
    }

    /// The members of a pool, ascending by identity.
    fn members_of(view: &View<'_>, pool: u64) -> Result<Vec<Member>, ContractError> {
        let prefix = KeyBuf::table(T_POOL_MEMBER).u64(pool);
        let mut out = Vec::new();
        for k in view.keys_with_prefix(&prefix, None, usize::MAX) {
            let mut id = [0u8; 32];
            let bytes = k
                .get(9..41)
                .ok_or_else(|| corrupt(&k, "short pool member key"))?;
            id.copy_from_slice(bytes);
            out.push(Self::load_member(view, &Identity(id))?);
        }
        Ok(out)
    }

    // --- tiers ------------------------------------------------------------------------------

    fn supported_tier(&self, pool: &Pool) -> Tier {
        for (i, rule) in self.config.tiers.iter().enumerate().rev() {
            if u128::from(pool.avg_milli_tokens) >= u128::from(rule.min_tokens_per_tick) * 1_000
                && pool.active_stake >= rule.min_stake
            {
                return Tier::ALL[i + 1];
            }
        }
        Tier::Bronze
    }

    /// Takes the readings of every window that ended before `now`.
    fn take_readings(&self, pool: &mut Pool, now: Tick, events: &mut Vec<PoolEvent>) {
        let k = u64::from(self.config.reading_ticks.max(1));
        let w = u128::from(self.config.average_weight.max(1));
        let current = u64::from(now.0) / k;
        let mut n = 0;
        while pool.window < current {
            if n == MAX_READINGS {
                pool.window = current;
                pool.window_tokens = 0;
                break;
            }
            n += 1;
            let reading = u128::from(pool.window_tokens) * 1_000 / u128::from(k);
            let avg = (u128::from(pool.avg_milli_tokens) * (w - 1) + reading) / w;
            pool.avg_milli_tokens = u64::try_from(avg).unwrap_or(u64::MAX);
            let read = pool.window;
            pool.window += 1;
            pool.window_tokens = 0;
            let target = self.supported_tier(pool);
            let before = pool.tier;
            if target > pool.tier {
                pool.tier = target;
                pool.low_readings = 0;
            } else if target < pool.tier {
                pool.low_readings = pool.low_readings.saturating_add(1);
                if pool.low_readings >= 2 {
                    pool.tier = target;
                    pool.low_readings = 0;
                }
            } else {
                pool.low_readings = 0;
            }
            events.push(PoolEvent::Reading {
                pool: pool.id,
                window: read,
                milli_tokens_per_tick: u64::try_from(reading).unwrap_or(u64::MAX),
                avg_milli_tokens: pool.avg_milli_tokens,
                tier: pool.tier,
                low_readings: pool.low_readings,
            });
            if pool.tier != before {
                events.push(PoolEvent::TierChanged {
                    pool: pool.id,
                    from: before,
                    to: pool.tier,
                });
            }
        }
    }

    // --- procedures -------------------------------------------------------------------------

    fn create(&self, ctx: &mut Ctx<'_>, c: CreatePool) -> Result<u64, ContractError> {
        if c.fee_bps > self.config.max_fee_bps {
            return Err(PoolError::FeeTooHigh {
                fee_bps: c.fee_bps,
                max_bps: self.config.max_fee_bps,
            }
            .into());
        }
        if !(0..=comqute_qpi::primitives::MAX_AMOUNT).contains(&c.min_member_stake.0) {
            return Err(PoolError::InvalidPool(format!(
                "minimum member stake {} out of range",
                c.min_member_stake
            ))
            .into());
        }
        if let PayoutScheme::ByWork { last_jobs } = c.scheme {
            if last_jobs == 0 || last_jobs > self.config.max_work_window {
                return Err(PoolError::InvalidPool(format!(
                    "work window of {last_jobs} jobs: 1 to {}",
                    self.config.max_work_window
                ))
                .into());
            }
        }
        let deposit = ctx.invocation_reward();
        if deposit < self.config.create_deposit || deposit <= Amount::ZERO {
            return Err(PoolError::DepositTooLow {
                needed: self.config.create_deposit,
                got: deposit,
            }
            .into());
        }
        let mut s = Self::stats(&ctx.view())?;
        s.created += 1;
        s.open += 1;
        s.held = add(s.held, deposit)?;
        ctx.put(K_STATS, &s)?;
        let operator = ctx.invocator();
        let now = ctx.tick();
        let pool = Pool {
            id: s.created,
            operator,
            fee_bps: c.fee_bps,
            scheme: c.scheme,
            min_member_stake: c.min_member_stake,
            deposit,
            closed: false,
            tier: Tier::Bronze,
            low_readings: 0,
            avg_milli_tokens: 0,
            window: u64::from(now.0) / u64::from(self.config.reading_ticks.max(1)),
            window_tokens: 0,
            members: 0,
            total_stake: Amount::ZERO,
            active_stake: Amount::ZERO,
            total_units: 0,
            acc: 0,
            carry_scaled: 0,
            received: Amount::ZERO,
            fees_paid: Amount::ZERO,
            executor_paid: Amount::ZERO,
            members_claimed: Amount::ZERO,
            dust_paid: Amount::ZERO,
            work_seq: 0,
            jobs_settled: 0,
            slashed: Amount::ZERO,
            created_at: now,
        };
        Self::save_pool(ctx, &pool)?;
        ctx.emit(&PoolEvent::Created {
            pool: pool.id,
            operator,
            fee_bps: c.fee_bps,
            scheme: c.scheme,
            min_member_stake: c.min_member_stake,
            deposit,
        });
        Ok(pool.id)
    }

    fn join(&self, ctx: &mut Ctx<'_>, r: PoolRef) -> Result<(), ContractError> {
        let worker = ctx.invocator();
        let mut pool = Self::load_pool(&ctx.view(), r.pool)?;
        if pool.closed {
            return Err(PoolError::PoolClosed(r.pool).into());
        }
        if let Some(m) = ctx.get::<Member>(&member_key(&worker))? {
            return Err(PoolError::AlreadyInPool {
                worker,
                pool: m.pool,
            }
            .into());
        }
        if let Some(registry) = self.config.worker_registry {
            debug_assert_eq!(registry, GET_WORKER.contract());
            let info: Option<WorkerInfo> = ctx.view().query(
                GET_WORKER,
                &WorkerQuery {
                    worker: WorkerId(worker),
                },
            )?;
            if !info.is_some_and(|i| i.worker.status == WorkerStatus::Active) {
                return Err(PoolError::NotAWorker(worker).into());
            }
        }
        let stake = ctx.invocation_reward();
        if stake < pool.min_member_stake || stake <= Amount::ZERO {
            return Err(PoolError::BelowMinimumStake {
                needed: pool.min_member_stake,
                got: stake,
            }
            .into());
        }
        if pool.members >= self.config.max_members {
            return Err(PoolError::PoolFull {
                pool: pool.id,
                members: pool.members,
            }
            .into());
        }
        let mut m = Member {
            worker: WorkerId(worker),
            pool: pool.id,
            stake,
            status: MemberStatus::Active,
            units: 0,
            snapshot: pool.acc,
            owed_scaled: 0,
            claimed: Amount::ZERO,
            recent_tokens: 0,
            joined_seq: pool.work_seq,
            joined_at: ctx.tick(),
        };
        reunit(&mut pool, &mut m)?;
        pool.members += 1;
        pool.total_stake = add(pool.total_stake, stake)?;
        pool.active_stake = add(pool.active_stake, stake)?;
        Self::save_member(ctx, &m)?;
        ctx.insert_key(&pool_member_key(pool.id, &worker))?;
        Self::save_pool(ctx, &pool)?;
        let mut s = Self::stats(&ctx.view())?;
        s.members += 1;
        s.held = add(s.held, stake)?;
        ctx.put(K_STATS, &s)?;
        ctx.emit(&PoolEvent::Joined {
            pool: pool.id,
            worker: WorkerId(worker),
            stake,
        });
        Ok(())
    }

    /// Pays a member its whole owed units; the fraction stays.
    fn pay_owed(
        ctx: &mut Ctx<'_>,
        pool: &mut Pool,
        m: &mut Member,
    ) -> Result<Amount, ContractError> {
        credit(pool, m)?;
        let paid = whole(m.owed_scaled)?;
        m.owed_scaled %= SCALE;
        m.claimed = add(m.claimed, paid)?;
        pool.members_claimed = add(pool.members_claimed, paid)?;
        Self::pay(ctx, &m.worker.0, paid)?;
        Self::book(ctx, Amount::ZERO, paid)?;
        Ok(paid)
    }

    fn leave(&self, ctx: &mut Ctx<'_>) -> Result<Tick, ContractError> {
        Self::no_payment(ctx)?;
        let worker = ctx.invocator();
        let mut m = Self::load_member(&ctx.view(), &worker)?;
        if let MemberStatus::Unbonding { until } = m.status {
            return Err(PoolError::AlreadyLeaving { until }.into());
        }
        let mut pool = Self::load_pool(&ctx.view(), m.pool)?;
        let until = Tick(ctx.tick().0.saturating_add(self.config.unbonding_ticks));
        credit(&pool, &mut m)?;
        m.status = MemberStatus::Unbonding { until };
        reunit(&mut pool, &mut m)?;
        pool.active_stake = sub(pool.active_stake, m.stake)?;
        let paid = Self::pay_owed(ctx, &mut pool, &mut m)?;
        Self::save_member(ctx, &m)?;
        Self::save_pool(ctx, &pool)?;
        ctx.emit(&PoolEvent::Left {
            pool: pool.id,
            worker: m.worker,
            paid,
            until,
        });
        Ok(until)
    }

    fn withdraw(&self, ctx: &mut Ctx<'_>) -> Result<Amount, ContractError> {
        Self::no_payment(ctx)?;
        let worker = ctx.invocator();
        let mut m = Self::load_member(&ctx.view(), &worker)?;
        let until = match m.status {
            MemberStatus::Active => return Err(PoolError::NotLeaving.into()),
            MemberStatus::Unbonding { until } => until,
        };
        if ctx.tick() < until {
            return Err(PoolError::StillUnbonding { until }.into());
        }
        let mut pool = Self::load_pool(&ctx.view(), m.pool)?;
        credit(&pool, &mut m)?;
        let owed = whole(m.owed_scaled)?;
        let fraction = m.owed_scaled % SCALE;
        // The member's fraction of a unit goes back to the pool.
        let mut dust = Amount::ZERO;
        if pool.total_units > 0 {
            distribute(&mut pool, fraction)?;
        } else {
            // Nobody earns: whole units carried are this withdrawer's (the last to leave).
            pool.carry_scaled = pool
                .carry_scaled
                .checked_add(fraction)
                .ok_or(overflow("carry"))?;
            dust = whole(pool.carry_scaled)?;
            pool.carry_scaled %= SCALE;
        }
        pool.members_claimed = add(pool.members_claimed, owed)?;
        pool.dust_paid = add(pool.dust_paid, dust)?;
        pool.members -= 1;
        pool.total_stake = sub(pool.total_stake, m.stake)?;
        let paid = add(owed, dust)?;
        let total = add(paid, m.stake)?;
        Self::pay(ctx, &worker, total)?;
        ctx.delete(&member_key(&worker))?;
        ctx.remove_key(&pool_member_key(pool.id, &worker))?;
        Self::save_pool(ctx, &pool)?;
        let mut s = Self::stats(&ctx.view())?;
        s.members = s.members.saturating_sub(1);
        s.held = sub(s.held, total)?;
        ctx.put(K_STATS, &s)?;
        ctx.emit(&PoolEvent::Withdrawn {
            pool: pool.id,
            worker: m.worker,
            stake: m.stake,
            paid,
        });
        Ok(total)
    }

    fn claim(&self, ctx: &mut Ctx<'_>) -> Result<Amount, ContractError> {
        Self::no_payment(ctx)?;
        let worker = ctx.invocator();
        let mut m = Self::load_member(&ctx.view(), &worker)?;
        let mut pool = Self::load_pool(&ctx.view(), m.pool)?;
        let paid = Self::pay_owed(ctx, &mut pool, &mut m)?;
        Self::save_member(ctx, &m)?;
        Self::save_pool(ctx, &pool)?;
        ctx.emit(&PoolEvent::Claimed {
            pool: pool.id,
            worker: m.worker,
            amount: paid,
        });
        Ok(paid)
    }

    fn close(&self, ctx: &mut Ctx<'_>, r: PoolRef) -> Result<Amount, ContractError> {
        Self::no_payment(ctx)?;
        let mut pool = Self::load_pool(&ctx.view(), r.pool)?;
        let caller = ctx.invocator();
        if caller != pool.operator {
            return Err(PoolError::NotOperator {
                caller,
                pool: pool.id,
            }
            .into());
        }
        if pool.closed {
            return Err(PoolError::PoolClosed(pool.id).into());
        }
        if pool.members > 0 {
            return Err(PoolError::PoolNotEmpty {
                pool: pool.id,
                members: pool.members,
            }
            .into());
        }
        let dust = whole(pool.carry_scaled)?;
        pool.carry_scaled %= SCALE;
        pool.dust_paid = add(pool.dust_paid, dust)?;
        let returned = add(pool.deposit, dust)?;
        pool.closed = true;
        Self::pay(ctx, &caller, returned)?;
        Self::save_pool(ctx, &pool)?;
        let mut s = Self::stats(&ctx.view())?;
        s.open = s.open.saturating_sub(1);
        s.held = sub(s.held, returned)?;
        ctx.put(K_STATS, &s)?;
        ctx.emit(&PoolEvent::Closed {
            pool: pool.id,
            returned,
        });
        Ok(returned)
    }

    fn refresh(&self, ctx: &mut Ctx<'_>, r: PoolRef) -> Result<Tier, ContractError> {
        Self::no_payment(ctx)?;
        let mut pool = Self::load_pool(&ctx.view(), r.pool)?;
        let mut events = Vec::new();
        self.take_readings(&mut pool, ctx.tick(), &mut events);
        Self::save_pool(ctx, &pool)?;
        for e in &events {
            ctx.emit(e);
        }
        Ok(pool.tier)
    }

    fn settle_job(&self, ctx: &mut Ctx<'_>, s: SettleJob) -> Result<PoolSettlement, ContractError> {
        self.require_job_client(ctx, SETTLE_JOB.number())?;
        Self::no_payment(ctx)?;
        if s.amount.0 < 0 {
            return Err(overflow("negative payment").into());
        }
        let mut m = Self::load_member(&ctx.view(), &s.worker.0)?;
        let mut pool = Self::load_pool(&ctx.view(), m.pool)?;
        // The escrow vault paid this contract first: the money must be here, unbooked.
        let stats = Self::stats(&ctx.view())?;
        let unaccounted = Amount(ctx.view().balance(&ctx.self_id()).0 - stats.held.0);
        if unaccounted < s.amount {
            return Err(PoolError::Unfunded {
                amount: s.amount,
                unaccounted,
            }
            .into());
        }
        let mut events = Vec::new();
        self.take_readings(&mut pool, ctx.tick(), &mut events);
        let fee = s.amount.basis_points(pool.fee_bps);
        let after = sub(s.amount, fee)?;
        let mut executor = after.basis_points(self.config.executor_share_bps);
        let mut members = sub(after, executor)?;
        let mut dust = Amount::ZERO;
        if pool.total_units == 0 {
            // Nobody earns: the executor takes the members' part, and any whole units
            // carried.
            executor = add(executor, members)?;
            members = Amount::ZERO;
            dust = whole(pool.carry_scaled)?;
            pool.carry_scaled %= SCALE;
        } else {
            distribute(&mut pool, scaled(members)?)?;
        }
        pool.received = add(pool.received, s.amount)?;
        pool.fees_paid = add(pool.fees_paid, fee)?;
        pool.executor_paid = add(pool.executor_paid, executor)?;
        pool.dust_paid = add(pool.dust_paid, dust)?;
        pool.jobs_settled += 1;
        let operator = pool.operator;
        Self::pay(ctx, &operator, fee)?;
        let to_executor = add(executor, dust)?;
        Self::pay(ctx, &s.worker.0, to_executor)?;
        Self::book(ctx, s.amount, add(fee, to_executor)?)?;
        let verified_tokens = if s.verified { s.output_tokens } else { 0 };
        pool.window_tokens = pool
            .window_tokens
            .saturating_add(u64::from(verified_tokens));
        // ByWork: the job enters the window, the oldest leaves it.
        if let (PayoutScheme::ByWork { last_jobs }, true) = (pool.scheme, verified_tokens > 0) {
            let tokens = u64::from(verified_tokens);
            m.recent_tokens = m.recent_tokens.saturating_add(tokens);
            reunit(&mut pool, &mut m)?;
            Self::save_member(ctx, &m)?;
            let seq = pool.work_seq;
            ctx.put(
                &work_key(pool.id, seq),
                &WorkEntry {
                    worker: s.worker.0,
                    tokens,
                },
            )?;
            pool.work_seq += 1;
            if pool.work_seq > u64::from(last_jobs) {
                let old = pool.work_seq - u64::from(last_jobs) - 1;
                let key = work_key(pool.id, old);
                if let Some(e) = ctx.get::<WorkEntry>(&key)? {
                    ctx.delete(&key)?;
                    if let Some(mut o) = ctx.get::<Member>(&member_key(&e.worker))? {
                        if o.pool == pool.id && old >= o.joined_seq {
                            o.recent_tokens = o.recent_tokens.saturating_sub(e.tokens);
                            reunit(&mut pool, &mut o)?;
                            Self::save_member(ctx, &o)?;
                        }
                    }
                }
            }
        }
        Self::save_pool(ctx, &pool)?;
        let split = PoolSettlement {
            pool: pool.id,
            fee,
            executor: to_executor,
            members,
        };
        for e in &events {
            ctx.emit(e);
        }
        ctx.emit(&PoolEvent::JobSettled {
            pool: pool.id,
            job_id: s.job_id,
            worker: s.worker,
            amount: s.amount,
            split: split.clone(),
            verified_tokens,
        });
        Ok(split)
    }

    fn slash_member(&self, ctx: &mut Ctx<'_>, s: SlashMember) -> Result<PoolSlash, ContractError> {
        self.require_job_client(ctx, SLASH_MEMBER.number())?;
        Self::no_payment(ctx)?;
        let faulty = Self::load_member(&ctx.view(), &s.worker.0)?;
        let mut pool = Self::load_pool(&ctx.view(), faulty.pool)?;
        let amount = self.config.slash_amount.min(pool.total_stake);
        let from_worker = amount.min(faulty.stake);
        let rest = sub(amount, from_worker)?;
        let mut members = Self::members_of(&ctx.view(), pool.id)?;
        // Pro rata over the others' stakes, floor; the remainder one unit each in order.
        let others: i128 = members
            .iter()
            .filter(|m| m.worker != s.worker)
            .map(|m| i128::from(m.stake.0))
            .sum();
        let mut takes: Vec<i64> = members
            .iter()
            .map(|m| {
                if m.worker == s.worker {
                    from_worker.0
                } else if others > 0 {
                    (i128::from(rest.0) * i128::from(m.stake.0) / others) as i64
                } else {
                    0
                }
            })
            .collect();
        let mut left = rest.0
            - members
                .iter()
                .zip(&takes)
                .filter(|(m, _)| m.worker != s.worker)
                .map(|(_, t)| *t)
                .sum::<i64>();
        for (m, t) in members.iter().zip(takes.iter_mut()) {
            if left == 0 {
                break;
            }
            if m.worker != s.worker && m.stake.0 > *t {
                *t += 1;
                left -= 1;
            }
        }
        if left != 0 {
            return Err(overflow("slash remainder").into());
        }
        for (m, t) in members.iter_mut().zip(&takes) {
            if *t == 0 {
                continue;
            }
            credit(&pool, m)?;
            m.stake = sub(m.stake, Amount(*t))?;
            if m.status == MemberStatus::Active {
                pool.active_stake = sub(pool.active_stake, Amount(*t))?;
            }
            reunit(&mut pool, m)?;
            Self::save_member(ctx, m)?;
        }
        pool.total_stake = sub(pool.total_stake, amount)?;
        pool.slashed = add(pool.slashed, amount)?;
        Self::pay(ctx, &s.to, amount)?;
        Self::book(ctx, Amount::ZERO, amount)?;
        let mut events = Vec::new();
        self.take_readings(&mut pool, ctx.tick(), &mut events);
        Self::save_pool(ctx, &pool)?;
        let out = PoolSlash {
            pool: pool.id,
            from_worker,
            from_members: rest,
        };
        for e in &events {
            ctx.emit(e);
        }
        ctx.emit(&PoolEvent::Slashed {
            pool: pool.id,
            job_id: s.job_id,
            worker: s.worker,
            to: s.to,
            slash: out.clone(),
        });
        Ok(out)
    }

    // --- functions --------------------------------------------------------------------------

    fn member_view(pool: &Pool, m: Member) -> Result<MemberView, ContractError> {
        let owed = whole(owed_scaled_now(pool, &m)?)?;
        Ok(MemberView { member: m, owed })
    }

    /// A pool with its members, and its books: `paid` and `carried` are computed from
    /// different records (the pool's totals and each member's credit), so that their sum
    /// equals `received` is a check, not a definition.
    pub fn pool_view(view: &View<'_>, id: u64) -> Result<Option<PoolView>, ContractError> {
        let Some(pool) = view.get::<Pool>(&pool_key(id))? else {
            return Ok(None);
        };
        let mut paid = [
            pool.fees_paid,
            pool.executor_paid,
            pool.members_claimed,
            pool.dust_paid,
        ]
        .into_iter()
        .try_fold(Amount::ZERO, add)?;
        let mut fractions = pool.carry_scaled;
        let mut members = Vec::new();
        for m in Self::members_of(view, id)? {
            let owed = owed_scaled_now(&pool, &m)?;
            paid = add(paid, whole(owed)?)?;
            fractions = fractions
                .checked_add(owed % SCALE)
                .ok_or(overflow("fractions"))?;
            members.push(Self::member_view(&pool, m)?);
        }
        let carried = whole(fractions)?;
        Ok(Some(PoolView {
            pool,
            members,
            paid,
            carried,
        }))
    }

    /// Pools are numbered 1, 2, … in creation order and never deleted (a closed one is
    /// marked), so a page is a range of ids: no index to keep.
    fn page(view: &View<'_>, q: PoolsQuery) -> Result<PoolPage, ContractError> {
        let limit = u64::from(q.limit.clamp(1, crate::rules::MAX_PAGE));
        let created = Self::stats(view)?.created;
        let first = q.cursor.unwrap_or(0).saturating_add(1);
        let last = first.saturating_add(limit - 1).min(created);
        let mut pools = Vec::new();
        for id in first..=last {
            let k = pool_key(id);
            let p: Pool = view
                .get(&k)?
                .ok_or_else(|| corrupt(&k, "a pool numbered below the count is missing"))?;
            pools.push(p);
        }
        let next_cursor = (last < created).then_some(last);
        Ok(PoolPage { pools, next_cursor })
    }
}

impl Contract for Pools {
    fn meta(&self) -> &'static ContractMeta {
        &META
    }
    fn initialize(&self, _ctx: &mut Ctx<'_>) -> Result<(), ContractError> {
        self.config
            .validate()
            .map_err(crate::genesis::invalid_config)
    }
    fn procedure(&self, ctx: &mut Ctx<'_>, input_type: u16, input: &[u8]) -> Output {
        dispatch_procedure(ctx, input_type, input)
            .on(CREATE, |ctx, c| self.create(ctx, c))
            .on(JOIN, |ctx, r| self.join(ctx, r))
            .on(LEAVE, |ctx, ()| self.leave(ctx))
            .on(WITHDRAW, |ctx, ()| self.withdraw(ctx))
            .on(CLAIM, |ctx, ()| self.claim(ctx))
            .on(CLOSE, |ctx, r| self.close(ctx, r))
            .on(REFRESH, |ctx, r| self.refresh(ctx, r))
            .on(SETTLE_JOB, |ctx, s| self.settle_job(ctx, s))
            .on(SLASH_MEMBER, |ctx, s| self.slash_member(ctx, s))
            .done()
    }
    fn function(&self, view: &View<'_>, input_type: u16, input: &[u8]) -> Output {
        dispatch_function(view, input_type, input)
            .on(GET_POOL, |view, r| Self::pool_view(view, r.pool))
            .on(POOLS, |view, q| Self::page(view, q))
            .on(MEMBER_OF, |view, w| {
                let Some(m) = view.get::<Member>(&member_key(&w.0))? else {
                    return Ok(None);
                };
                let pool = Self::load_pool(view, m.pool)?;
                Self::member_view(&pool, m).map(Some)
            })
            .on(SETTINGS, |_, ()| Ok(self.config.clone()))
            .on(POOL_STATS, |view, ()| Self::stats(view))
            .done()
    }
    fn has_begin_tick(&self) -> bool {
        false
    }
    fn epoch_work(&self, _view: &View<'_>) -> bool {
        false
    }
    fn next_tick_work(&self, _view: &View<'_>) -> TickWork {
        TickWork::Idle
    }
}

//! Large jobs with sealed bids (issue 19): a requester posts a job of several parts, bidders
//! (a pool, through its operator, or a single worker) commit to a price, then reveal it; the
//! lowest valid price wins and every part becomes a normal [`Job`] at that price.
//!
//! - **Post** ([`POST_LARGE_JOB`]): each part's escrow ([`part_escrow`], the surplus of the
//!   invocation reward added to the last part) is locked in the escrow vault under a job id
//!   reserved for the part, as a normal job's is; the job record itself is written when
//!   the auction is awarded.
//! - **Commit** ([`COMMIT_BID`]), up to and including `commit_ends`: the commitment
//!   [`bid_commitment`]`(price, salt, caller)` and a bond of exactly
//!   [`LargeJobConfig::bid_bond`], held by this contract. One bid per identity. A pool's
//!   operator bids for its pool (open, at least the minimum tier, with an active member);
//!   a worker bids for itself (registered, active, serving the model) and counts as Bronze.
//!   The requester may not bid.
//! - **Reveal** ([`REVEAL_BID`]), after `commit_ends` up to and including `reveal_ends`: a
//!   price and salt that do not hash to the commitment are refused
//!   ([`JobError::RevealMismatch`]); a reveal after `reveal_ends` is refused
//!   ([`JobError::RevealClosed`]) and its bond has burned at the deadline.
//! - **Award** (END_TICK of `reveal_ends`, at most [`LargeJobConfig::max_awards_per_tick`]
//!   auctions a tick, the rest carry over): revealed bids priced from 1 to the maximum,
//!   ranked by price, then tier (higher first), then commit order. The first whose stake
//!   covers the lock wins. Unrevealed bonds burn; every revealed bond goes back, the
//!   winner's too. No winner: every part's escrow is refunded in full.
//! - **Stake lock**: the winner must hold
//!   `stake_bps × price × Σ parts' max tokens / 1000 / 10,000`: a pool in its active
//!   members' stakes ([`crate::pools::Pool::active_stake`]), a worker in its own stake.
//!   The amount is checked and recorded ([`LargeWinner::stake_locked`]); it is not moved:
//!   each part's worker already has its stake at risk through the normal slash of a job it
//!   started and failed to deliver, and a pool member's slash reaches the pool's stakes.
//!   A bidder whose stake falls short is passed over (its bond goes back).
//! - **Parts**: each becomes a normal job (same [`Job`] record and lifecycle, its own
//!   escrow), with `max_price_per_1k` the winning price and `timeout_ticks` the delivery
//!   timeout, and is offered at once at the winning price: to the single worker, or to
//!   the pool's active members round-robin in an order drawn from the tick's seed (a member
//!   that cannot take it, e.g. at capacity, passes it to the next). A part no one could
//!   take stays open for the normal matcher, at most at the winning price. Then the usual
//!   rules: START within `accept_ticks`, deliver, challenge window, payment (through the
//!   pool for a member), refunds and slashes.

use super::*;
use crate::pools::{MemberStatus, PoolRef, PoolView, Tier, GET_POOL};
use crate::worker_registry::{WorkerInfo, WorkerQuery, GET_WORKER};

const K_NEXT_LARGE: &[u8] = &[9];
const T_LARGE: u8 = 10; // map: id -> LargeJob
const T_LARGE_OPEN: u8 = 11; // set: id, while bidding
const T_LARGE_CLOSE: u8 = 12; // set: (reveal_ends, id), while bidding
const K_LARGE_STATS: &[u8] = &[13];

fn large_key(id: u64) -> KeyBuf {
    KeyBuf::table(T_LARGE).u64(id)
}
fn open_key(id: u64) -> KeyBuf {
    KeyBuf::table(T_LARGE_OPEN).u64(id)
}
fn close_key(t: Tick, id: u64) -> KeyBuf {
    KeyBuf::table(T_LARGE_CLOSE).u32(t.0).u64(id)
}

fn member_order(seed: &Hash32, large_id: u64, who: &Identity) -> Hash32 {
    const TAG: &[u8] = b"comqute large parts";
    let mut buf = [0u8; TAG.len() + 32 + 8 + 32];
    buf[..TAG.len()].copy_from_slice(TAG);
    buf[TAG.len()..TAG.len() + 32].copy_from_slice(&seed.0);
    buf[TAG.len() + 32..TAG.len() + 40].copy_from_slice(&large_id.to_le_bytes());
    buf[TAG.len() + 40..].copy_from_slice(&who.0);
    Hash32::of(&buf)
}

fn add(a: Amount, b: Amount) -> Amount {
    Amount(a.0.saturating_add(b.0))
}

impl JobRegistry {
    fn large_cfg(&self) -> &LargeJobConfig {
        &self.config.large
    }

    fn load_large(view: &View<'_>, id: u64) -> Result<LargeJob, ContractError> {
        view.get(&large_key(id))?
            .ok_or_else(|| JobError::UnknownLargeJob(id).into())
    }

    fn large_stats(view: &View<'_>) -> Result<LargeJobStats, ContractError> {
        Ok(view.get(K_LARGE_STATS)?.unwrap_or_default())
    }

    pub(super) fn post_large_job(
        &self,
        ctx: &mut Ctx<'_>,
        spec: LargeJobSpec,
    ) -> Result<u64, ContractError> {
        let cfg = self.large_cfg();
        let bad = |m: String| -> ContractError { JobError::InvalidLargeJob(m).into() };
        if spec.parts.is_empty() || spec.parts.len() > cfg.max_parts as usize {
            return Err(bad(format!(
                "1 to {} parts, got {}",
                cfg.max_parts,
                spec.parts.len()
            )));
        }
        if spec.commit_ticks < cfg.min_commit_ticks || spec.commit_ticks > cfg.max_commit_ticks {
            return Err(bad(format!(
                "commit phase between {} and {} ticks, got {}",
                cfg.min_commit_ticks, cfg.max_commit_ticks, spec.commit_ticks
            )));
        }
        if spec.reveal_ticks < cfg.min_reveal_ticks || spec.reveal_ticks > cfg.max_reveal_ticks {
            return Err(bad(format!(
                "reveal phase between {} and {} ticks, got {}",
                cfg.min_reveal_ticks, cfg.max_reveal_ticks, spec.reveal_ticks
            )));
        }
        // Every part must be a valid normal job.
        for (i, _) in spec.parts.iter().enumerate() {
            self.validate_spec(&Self::part_spec(&spec, i, spec.max_price_per_1k))
                .map_err(|e| bad(format!("part {i}: {e}")))?;
        }
        let needed = large_job_escrow(&spec.parts, spec.max_price_per_1k)
            .ok_or_else(|| bad("maximum cost over the largest amount".into()))?;
        let escrow = ctx.invocation_reward();
        if escrow < needed {
            return Err(JobError::InsufficientEscrow {
                needed,
                got: escrow,
            }
            .into());
        }
        let requester = ctx.invocator();
        let first = ctx.get::<u64>(K_NEXT_ID)?.unwrap_or(1);
        let n = spec.parts.len() as u64;
        ctx.put(K_NEXT_ID, &(first + n))?;
        let mut parts = Vec::with_capacity(spec.parts.len());
        let mut locked = Amount::ZERO;
        for (i, p) in spec.parts.iter().enumerate() {
            let mut amount = part_escrow(p.max_output_tokens, spec.max_price_per_1k)
                .ok_or_else(|| bad("maximum cost over the largest amount".into()))?;
            if i + 1 == spec.parts.len() {
                // The surplus rides on the last part and is refunded when it settles.
                amount = Amount(escrow.0 - locked.0);
            }
            locked = add(locked, amount);
            let job_id = JobId(first + i as u64);
            let _: JobEscrow = ctx.call(LOCK_JOB, &LockJob { job_id, requester }, amount)?;
            parts.push((job_id, amount));
        }
        let id = ctx.get::<u64>(K_NEXT_LARGE)?.unwrap_or(1);
        ctx.put(K_NEXT_LARGE, &(id + 1))?;
        let now = ctx.tick();
        let commit_ends = now.plus(spec.commit_ticks);
        let reveal_ends = commit_ends.plus(spec.reveal_ticks);
        let large = LargeJob {
            id,
            requester,
            spec,
            escrow,
            parts: parts.clone(),
            posted_at: now,
            commit_ends,
            reveal_ends,
            status: LargeStatus::Bidding,
            bids: Vec::new(),
            winner: None,
        };
        ctx.put(&large_key(id), &large)?;
        ctx.insert_key(&open_key(id))?;
        ctx.insert_key(&close_key(reveal_ends, id))?;
        let mut s = Self::large_stats(&ctx.view())?;
        s.posted = id;
        s.bidding += 1;
        ctx.put(K_LARGE_STATS, &s)?;
        // The escrow is the registry's to account for, as a normal job's is.
        let mut c = Self::counters(&ctx.view())?;
        c.total_escrowed = add(c.total_escrowed, escrow);
        ctx.put(K_COUNTERS, &c)?;
        ctx.emit(&JobEvent::Large(LargeJobEvent::Posted {
            large_job_id: id,
            requester,
            parts,
            escrow,
            commit_ends,
            reveal_ends,
        }));
        Ok(id)
    }

    /// Part `i` of `large` as a normal job at `max_price`.
    fn part_spec(large: &LargeJobSpec, i: usize, max_price: Amount) -> JobSpec {
        let p = &large.parts[i];
        JobSpec {
            model: large.model,
            prompt_hash: p.prompt_hash,
            prompt_size: p.prompt_size,
            max_output_tokens: p.max_output_tokens,
            max_price_per_1k: max_price,
            timeout_ticks: large.delivery_timeout_ticks,
            min_reputation: 0,
            sampling: large.sampling,
        }
    }

    /// Who may bid: the tier the bid counts with.
    fn bidder_tier(
        ctx: &Ctx<'_>,
        large: &LargeJob,
        caller: Identity,
        pool: Option<u64>,
    ) -> Result<Tier, ContractError> {
        let no = |m: String| -> ContractError { JobError::NotABidder(m).into() };
        if caller == large.requester {
            return Err(JobError::SelfDealing.into());
        }
        let tier = match pool {
            Some(pool) => {
                let v: Option<PoolView> = ctx.view().query(GET_POOL, &PoolRef { pool })?;
                let v = v.ok_or_else(|| no(format!("no pool {pool}")))?;
                if v.pool.operator != caller {
                    return Err(no(format!("only pool {pool}'s operator bids for it")));
                }
                if v.pool.closed {
                    return Err(no(format!("pool {pool} is closed")));
                }
                if !v
                    .members
                    .iter()
                    .any(|m| m.member.status == MemberStatus::Active)
                {
                    return Err(no(format!("pool {pool} has no active member")));
                }
                v.pool.tier
            }
            None => {
                let w: Option<WorkerInfo> = ctx.view().query(
                    GET_WORKER,
                    &WorkerQuery {
                        worker: WorkerId(caller),
                    },
                )?;
                let w = w.ok_or_else(|| no("not a registered worker".into()))?;
                if !w.worker.is_active() {
                    return Err(no("the worker is not active".into()));
                }
                if !w.worker.model_ids.contains(&large.spec.model) {
                    return Err(no("the worker does not serve the model".into()));
                }
                Tier::Bronze
            }
        };
        if let Some(min) = large.spec.min_tier {
            if tier < min {
                return Err(no(format!("tier {tier:?} is below the minimum {min:?}")));
            }
        }
        Ok(tier)
    }

    pub(super) fn commit_bid(&self, ctx: &mut Ctx<'_>, c: CommitBid) -> Result<(), ContractError> {
        let mut large = Self::load_large(&ctx.view(), c.large_job_id)?;
        let now = ctx.tick();
        if large.status != LargeStatus::Bidding || now > large.commit_ends {
            return Err(JobError::CommitClosed {
                large_job_id: large.id,
                ended: large.commit_ends,
            }
            .into());
        }
        let bond = ctx.invocation_reward();
        let needed = self.large_cfg().bid_bond;
        if bond != needed {
            return Err(JobError::WrongBond { needed, got: bond }.into());
        }
        let caller = ctx.invocator();
        if large.bids.iter().any(|b| b.bidder == caller) {
            return Err(JobError::AlreadyBid.into());
        }
        if large.bids.len() >= self.large_cfg().max_bids as usize {
            return Err(JobError::TooManyBids(self.large_cfg().max_bids).into());
        }
        if let Some(pool) = c.pool {
            if large.bids.iter().any(|b| b.pool == Some(pool)) {
                return Err(JobError::AlreadyBid.into());
            }
        }
        let tier = Self::bidder_tier(ctx, &large, caller, c.pool)?;
        large.bids.push(Bid {
            bidder: caller,
            pool: c.pool,
            tier,
            commitment: c.commitment,
            committed_at: now,
            bond,
            price_per_1k: None,
            outcome: BidOutcome::Pending,
        });
        ctx.put(&large_key(large.id), &large)?;
        let mut s = Self::large_stats(&ctx.view())?;
        s.bonds_held = add(s.bonds_held, bond);
        ctx.put(K_LARGE_STATS, &s)?;
        ctx.emit(&JobEvent::Large(LargeJobEvent::BidCommitted {
            large_job_id: large.id,
            bidder: caller,
            pool: c.pool,
            commitment: c.commitment,
            bond,
        }));
        Ok(())
    }

    pub(super) fn reveal_bid(ctx: &mut Ctx<'_>, r: RevealBid) -> Result<(), ContractError> {
        Self::no_payment(ctx)?;
        let mut large = Self::load_large(&ctx.view(), r.large_job_id)?;
        let now = ctx.tick();
        if large.status != LargeStatus::Bidding || now > large.reveal_ends {
            return Err(JobError::RevealClosed {
                large_job_id: large.id,
                ended: large.reveal_ends,
            }
            .into());
        }
        if now <= large.commit_ends {
            return Err(JobError::RevealNotOpen {
                large_job_id: large.id,
                opens_after: large.commit_ends,
            }
            .into());
        }
        let caller = ctx.invocator();
        let bid = large
            .bids
            .iter_mut()
            .find(|b| b.bidder == caller)
            .ok_or(JobError::NoBid)?;
        if bid.price_per_1k.is_some() {
            return Err(JobError::AlreadyRevealed.into());
        }
        if bid_commitment(r.price_per_1k, &r.salt, &caller) != bid.commitment {
            return Err(JobError::RevealMismatch.into());
        }
        bid.price_per_1k = Some(r.price_per_1k);
        ctx.put(&large_key(large.id), &large)?;
        ctx.emit(&JobEvent::Large(LargeJobEvent::BidRevealed {
            large_job_id: large.id,
            bidder: caller,
        }));
        Ok(())
    }

    /// The stake a win at `price` locks.
    fn stake_lock(&self, large: &LargeJob, price: Amount) -> Amount {
        let tokens: i128 = large
            .spec
            .parts
            .iter()
            .map(|p| i128::from(p.max_output_tokens))
            .sum();
        let v = tokens * i128::from(price.0.max(0)) * i128::from(self.large_cfg().stake_bps)
            / TOKENS_PER_PRICE_UNIT
            / 10_000;
        Amount(i64::try_from(v).unwrap_or(MAX_AMOUNT).min(MAX_AMOUNT))
    }

    /// The stake `bid`'s bidder has to cover a lock with, or `None` when it can no longer
    /// serve (a pool closed or emptied, a worker gone).
    fn bidder_stake(view: &View<'_>, bid: &Bid) -> Result<Option<Amount>, ContractError> {
        match bid.pool {
            Some(pool) => {
                let v: Option<PoolView> = view.query(GET_POOL, &PoolRef { pool })?;
                Ok(
                    v.filter(|v| !v.pool.closed && v.pool.operator == bid.bidder)
                        .map(|v| v.pool.active_stake),
                )
            }
            None => {
                let w: Option<WorkerInfo> = view.query(
                    GET_WORKER,
                    &WorkerQuery {
                        worker: WorkerId(bid.bidder),
                    },
                )?;
                Ok(w.filter(|w| w.worker.is_active()).map(|w| w.worker.stake))
            }
        }
    }

    /// Whether an auction's reveal deadline is due at `now`.
    pub(super) fn awards_due(view: &View<'_>, now: Tick) -> bool {
        view.first_with_prefix_map(&[T_LARGE_CLOSE], |k| key_u32(k, 1))
            .flatten()
            .is_some_and(|t| t <= now.0)
    }

    /// The first tick an auction closes at.
    pub(super) fn next_award(view: &View<'_>) -> Option<Tick> {
        view.first_with_prefix_map(&[T_LARGE_CLOSE], |k| key_u32(k, 1))
            .flatten()
            .map(Tick)
    }

    /// END_TICK: closes the auctions whose reveal deadline has come.
    pub(super) fn close_auctions(&self, ctx: &mut Ctx<'_>) -> Result<(), ContractError> {
        let now = ctx.tick();
        let upper = KeyBuf::table(T_LARGE_CLOSE).u32(now.0).u64(u64::MAX);
        let due = ctx.view().range(
            Bound::Included(&[T_LARGE_CLOSE][..]),
            Bound::Included(&upper[..]),
            self.large_cfg().max_awards_per_tick as usize,
            false,
        );
        for key in due {
            let id = key_u64(&key, 5).ok_or_else(|| corrupt(&key, "short auction key"))?;
            ctx.remove_key(&key)?;
            let large = Self::load_large(&ctx.view(), id)?;
            if large.status == LargeStatus::Bidding {
                self.close_auction(ctx, large)?;
            }
        }
        Ok(())
    }

    fn close_auction(&self, ctx: &mut Ctx<'_>, mut large: LargeJob) -> Result<(), ContractError> {
        let max = large.spec.max_price_per_1k;
        // Ranked: price, then the higher tier, then the earlier commit (the bid's place).
        let mut ranked: Vec<(Amount, std::cmp::Reverse<Tier>, usize)> = large
            .bids
            .iter()
            .enumerate()
            .filter_map(|(i, b)| {
                b.price_per_1k
                    .filter(|p| p.0 > 0 && *p <= max)
                    .map(|p| (p, std::cmp::Reverse(b.tier), i))
            })
            .collect();
        ranked.sort();
        let mut winner = None;
        for (price, _, i) in ranked {
            let lock = self.stake_lock(&large, price);
            let stake = Self::bidder_stake(&ctx.view(), &large.bids[i])?;
            if stake.is_some_and(|s| s >= lock) {
                winner = Some((i, price, lock));
                break;
            }
        }
        // Bonds: unrevealed ones burn, revealed ones go back.
        let mut s = Self::large_stats(&ctx.view())?;
        for (i, bid) in large.bids.iter_mut().enumerate() {
            let burned = bid.price_per_1k.is_none();
            if burned {
                ctx.burn(bid.bond)?;
                s.bonds_burned = add(s.bonds_burned, bid.bond);
                bid.outcome = BidOutcome::Burned;
            } else {
                ctx.transfer(&bid.bidder, bid.bond)?;
                bid.outcome = if winner.is_some_and(|(w, _, _)| w == i) {
                    BidOutcome::Won
                } else {
                    BidOutcome::Returned
                };
            }
            s.bonds_held = Amount(s.bonds_held.0 - bid.bond.0);
            ctx.emit(&JobEvent::Large(LargeJobEvent::BondSettled {
                large_job_id: large.id,
                bidder: bid.bidder,
                price_per_1k: bid.price_per_1k,
                bond: bid.bond,
                burned,
            }));
        }
        s.bidding = s.bidding.saturating_sub(1);
        ctx.put(K_LARGE_STATS, &s)?;
        ctx.remove_key(&open_key(large.id))?;
        match winner {
            Some((i, price, lock)) => {
                let bid = large.bids[i].clone();
                let w = LargeWinner {
                    bidder: bid.bidder,
                    pool: bid.pool,
                    price_per_1k: price,
                    stake_locked: lock,
                };
                large.status = LargeStatus::Awarded;
                large.winner = Some(w.clone());
                ctx.put(&large_key(large.id), &large)?;
                let assigned = self.make_parts(ctx, &large, &w)?;
                ctx.emit(&JobEvent::Large(LargeJobEvent::Awarded {
                    large_job_id: large.id,
                    winner: w,
                    assigned,
                }));
            }
            None => {
                for (job_id, _) in &large.parts {
                    let _: JobEscrow =
                        ctx.call(REFUND_JOB, &RefundJob { job_id: *job_id }, Amount::ZERO)?;
                }
                let mut c = Self::counters(&ctx.view())?;
                c.total_escrowed = Amount(c.total_escrowed.0 - large.escrow.0);
                c.total_refunded = add(c.total_refunded, large.escrow);
                ctx.put(K_COUNTERS, &c)?;
                large.status = LargeStatus::Unawarded;
                ctx.put(&large_key(large.id), &large)?;
                ctx.emit(&JobEvent::Large(LargeJobEvent::Unawarded {
                    large_job_id: large.id,
                    refunded: large.escrow,
                }));
            }
        }
        Ok(())
    }

    /// Who serves the parts, in the order they are offered: the worker, or the pool's active
    /// members (not the requester) in the seeded order.
    fn servers(
        ctx: &Ctx<'_>,
        large: &LargeJob,
        w: &LargeWinner,
    ) -> Result<Vec<Identity>, ContractError> {
        let Some(pool) = w.pool else {
            return Ok(vec![w.bidder]);
        };
        let v: Option<PoolView> = ctx.view().query(GET_POOL, &PoolRef { pool })?;
        let seed = ctx.seed();
        let mut members: Vec<(Hash32, Identity)> = v
            .map(|v| v.members)
            .unwrap_or_default()
            .into_iter()
            .filter(|m| m.member.status == MemberStatus::Active)
            .map(|m| m.member.worker.0)
            .filter(|id| *id != large.requester)
            .map(|id| (member_order(&seed, large.id, &id), id))
            .collect();
        members.sort();
        Ok(members.into_iter().map(|(_, id)| id).collect())
    }

    /// Writes every part's job record (Open, as a submitted job) and offers it at the
    /// winning price.
    fn make_parts(
        &self,
        ctx: &mut Ctx<'_>,
        large: &LargeJob,
        w: &LargeWinner,
    ) -> Result<Vec<(JobId, Option<WorkerId>)>, ContractError> {
        let servers = Self::servers(ctx, large, w)?;
        let mut out = Vec::with_capacity(large.parts.len());
        let mut any_open = false;
        for (i, (job_id, escrow)) in large.parts.iter().enumerate() {
            let spec = Self::part_spec(&large.spec, i, w.price_per_1k);
            let mut job = Self::open_job(ctx, *job_id, large.requester, spec, *escrow)?;
            // Round-robin from part i's member; one that cannot take it passes it on.
            let mut taker = None;
            for k in 0..servers.len() {
                let who = servers[(i + k) % servers.len()];
                // A refused offer changes nothing (the call's changes are undone).
                if self
                    .assign(ctx, &mut job, who, false, Some(w.price_per_1k))
                    .is_ok()
                {
                    taker = Some(WorkerId(who));
                    break;
                }
            }
            any_open |= taker.is_none();
            out.push((*job_id, taker));
        }
        if any_open {
            Self::mark_dirty(ctx)?;
        }
        Ok(out)
    }

    // --- functions ---------------------------------------------------------------------------

    fn large_view(view: &View<'_>, l: LargeJob) -> LargeJobView {
        let now = view.tick();
        let phase = match l.status {
            LargeStatus::Awarded => LargePhase::Awarded,
            LargeStatus::Unawarded => LargePhase::Unawarded,
            LargeStatus::Bidding if now <= l.commit_ends => LargePhase::Commit,
            LargeStatus::Bidding if now <= l.reveal_ends => LargePhase::Reveal,
            LargeStatus::Bidding => LargePhase::Closing,
        };
        let sealed = l.status == LargeStatus::Bidding && now <= l.reveal_ends;
        let bids = l
            .bids
            .iter()
            .map(|b| BidView {
                bidder: b.bidder,
                pool: b.pool,
                tier: b.tier,
                commitment: b.commitment,
                committed_at: b.committed_at,
                revealed: b.price_per_1k.is_some(),
                price_per_1k: if sealed { None } else { b.price_per_1k },
                outcome: b.outcome,
            })
            .collect();
        LargeJobView {
            id: l.id,
            requester: l.requester,
            spec: l.spec,
            escrow: l.escrow,
            phase,
            parts: l.parts,
            commit_ends: l.commit_ends,
            reveal_ends: l.reveal_ends,
            bids,
            winner: l.winner,
        }
    }

    pub(super) fn get_large_job(
        view: &View<'_>,
        r: LargeJobRef,
    ) -> Result<Option<LargeJobView>, ContractError> {
        let l: Option<LargeJob> = view.get(&large_key(r.large_job_id))?;
        Ok(l.map(|l| Self::large_view(view, l)))
    }

    pub(super) fn open_large_jobs(
        view: &View<'_>,
        q: OpenLargeJobs,
    ) -> Result<LargeJobPage, ContractError> {
        let limit = usize::from(q.limit.clamp(1, MAX_PAGE));
        let prefix = [T_LARGE_OPEN];
        let after = q.cursor.map(open_key);
        let keys = view.keys_with_prefix(&prefix, after.as_deref(), limit + 1);
        let more = keys.len() > limit;
        let mut jobs = Vec::with_capacity(limit.min(keys.len()));
        for key in keys.iter().take(limit) {
            let id = key_u64(key, 1).ok_or_else(|| corrupt(key, "short open key"))?;
            jobs.push(Self::large_view(view, Self::load_large(view, id)?));
        }
        let next_cursor = if more {
            jobs.last().map(|j| j.id)
        } else {
            None
        };
        Ok(LargeJobPage { jobs, next_cursor })
    }

    pub(super) fn large_job_stats(view: &View<'_>) -> Result<LargeJobStats, ContractError> {
        Self::large_stats(view)
    }
}

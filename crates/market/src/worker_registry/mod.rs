//! The worker registry (contract index 2): workers with their stake, capabilities,
//! heartbeat, reputation and unbonding.
//!
//! A worker registers with a stake of at least [`WorkerConfig::min_stake`] (the invocation
//! reward, locked in the escrow vault) and its [`Capabilities`]: models served (ids, see
//! [`crate::rules::model_id`]), GPU, VRAM, benchmarked tokens/s, price per 1,000
//! output tokens and how many jobs it runs at once.
//!
//! - **Online**: a worker whose last heartbeat is more than
//!   [`WorkerConfig::heartbeat_window`] ticks old is offline and gets no new jobs.
//!   [`HEARTBEAT`], [`REGISTER`], [`UPDATE`], [`SET_AVAILABLE`] and [`TOP_UP`] all count as a
//!   heartbeat. A daemon that stops signs off ([`SET_AVAILABLE`] `false` with its session):
//!   the worker is offline at once, not a heartbeat window later.
//! - **Sessions**: a worker daemon heartbeats with a random session number. While one
//!   session is online, a heartbeat or availability change from another session is refused
//!   ([`WorkerError::SessionInUse`]) unless it asks to take over: two daemons on one key
//!   cannot both serve it. Session 0 is a manual call (the CLI's `worker heartbeat`), never
//!   refused and never recorded.
//! - **Available**: a worker that declares itself available ([`SET_AVAILABLE`]) is *listed*
//!   for its models and the job registry's END_TICK matcher may hand it jobs (auto-claim).
//!   Listed means: active, available, stake at least the minimum, a free job slot.
//! - **Reputation**: `0..=10,000`, starts at [`WorkerConfig::initial_reputation`], rises
//!   with each finalized job and falls with a failure, an expiry or a lost dispute.
//! - **Stake**: a slashed worker below the minimum takes no jobs until it tops up
//!   ([`TOP_UP`]).
//! - **Leaving**: [`UNBOND`] (refused while the worker holds jobs, including jobs in their
//!   challenge window), then [`WITHDRAW`] after [`WorkerConfig::unbonding_ticks`]. The record
//!   stays (status `Exited`) with its reputation, so leaving does not wash a reputation;
//!   registering again reactivates it.
//!
//! [`ASSIGN`] and [`RELEASE`] are for the job registry alone: they take and give back a job
//! slot, move reputation and slash. The registry has no tick hooks; "online" and "unbonded"
//! follow from ticks stored in the record.
//!
//! Workers are numbered in registration order; the numbers key the per-model indices
//! (storage keys are at most 43 bytes, too short for a model id and an identity).
//!
//! Models are declared by name; the registry keys them by id ([`crate::rules::model_id`]
//! of the name) and remembers every name it has seen, so a job's model id can be shown by
//! name ([`MODELS`], [`MODEL_NAME`]).

mod api;

pub use api::*;

use crate::ids::WorkerId;
use std::cmp::Reverse;
use std::ops::Bound;

use crate::escrow::{
    LockStake, ReturnStake, SlashOutcome, SlashStake, LOCK_STAKE, RETURN_STAKE, SLASH_STAKE,
};
use crate::rules::{adjust_reputation, tie_break, MAX_PAGE};
use comqute_qpi::contract::{
    key_u32, key_u64, prefix_upper_bound, Contract, Ctx, KeyBuf, Output, TickWork, View,
};
use comqute_qpi::error::ContractError;
use comqute_qpi::kit::{dispatch_function, dispatch_procedure, ContractMeta};
use comqute_qpi::primitives::{Amount, ContractIndex, Hash32, Identity, Tick};

const T_WORKER: u8 = 1; // map: identity -> Worker
const T_NUMBER: u8 = 2; // map: number -> identity
const T_SERVES: u8 = 3; // set: (model, number) for every non-exited worker
const T_LISTED: u8 = 4; // set: (model, number) for listed workers
const T_HB_COUNT: u8 = 5; // map: tick -> active workers whose last heartbeat it is
const T_HB_TICK: u8 = 6; // set: ticks with a non-zero count
const K_STATS: &[u8] = &[7];
const K_VERSION: &[u8] = &[8];
const T_MODEL_NAME: u8 = 9; // map: model id -> name, and set: model ids

fn worker_key(id: &Identity) -> KeyBuf {
    KeyBuf::table(T_WORKER).bytes32(&id.0)
}
fn number_key(n: u64) -> KeyBuf {
    KeyBuf::table(T_NUMBER).u64(n)
}
fn model_key(table: u8, model: &Hash32, n: u64) -> KeyBuf {
    KeyBuf::table(table).bytes32(&model.0).u64(n)
}

/// How the matcher ranks candidates: lowest price, then highest reputation, then the
/// seed's draw.
type MatchScore = (Amount, Reverse<u16>, u64);

fn corrupt(key: &[u8], detail: &str) -> ContractError {
    ContractError::CorruptState {
        key: key.iter().map(|b| format!("{b:02x}")).collect(),
        detail: detail.into(),
    }
}

/// The worker registry contract.
#[derive(Debug, Clone, Default)]
pub struct WorkerRegistry {
    config: WorkerConfig,
}

impl WorkerRegistry {
    /// The registry with these genesis settings.
    pub fn new(config: WorkerConfig) -> Self {
        WorkerRegistry { config }
    }

    fn listed(&self, w: &Worker) -> bool {
        w.is_active()
            && w.available
            && w.stake >= self.config.min_stake
            && w.active_jobs < w.capabilities.max_concurrent
    }

    fn load(view: &View<'_>, id: &Identity) -> Result<Option<Worker>, ContractError> {
        view.get(&worker_key(id))
    }

    fn load_active(ctx: &Ctx<'_>, id: &Identity) -> Result<Worker, ContractError> {
        let w = Self::load(&ctx.view(), id)?.ok_or(WorkerError::NotRegistered(*id))?;
        if !w.is_active() {
            return Err(WorkerError::NotActive.into());
        }
        Ok(w)
    }

    fn stats(view: &View<'_>) -> Result<WorkerStats, ContractError> {
        Ok(view.get(K_STATS)?.unwrap_or_default())
    }

    fn bump_heartbeat_bucket(
        ctx: &mut Ctx<'_>,
        tick: Tick,
        add: bool,
    ) -> Result<(), ContractError> {
        let key = KeyBuf::table(T_HB_COUNT).u32(tick.0);
        let n = ctx.get::<u32>(&key)?.unwrap_or(0);
        let n = if add { n + 1 } else { n.saturating_sub(1) };
        let set_key = KeyBuf::table(T_HB_TICK).u32(tick.0);
        if n == 0 {
            ctx.delete(&key)?;
            ctx.remove_key(&set_key)?;
        } else {
            ctx.put(&key, &n)?;
            ctx.insert_key(&set_key)?;
        }
        Ok(())
    }

    /// Stores `after` and brings every index, count and the match version in line with the
    /// change from `before`. `wake`: the change may have made the worker a better match.
    fn save(
        &self,
        ctx: &mut Ctx<'_>,
        before: Option<&Worker>,
        after: &Worker,
        wake: bool,
    ) -> Result<(), ContractError> {
        ctx.put(&worker_key(&after.id.0), after)?;
        let n = after.number;
        // Per-model indices, by model id.
        fn ids(w: Option<&Worker>, keep: impl Fn(&Worker) -> bool) -> &[Hash32] {
            match w {
                Some(w) if keep(w) => &w.model_ids,
                _ => &[],
            }
        }
        let serves = |w: &Worker| w.status != WorkerStatus::Exited;
        let new_serves = ids(Some(after), serves);
        Self::sync_models(ctx, T_SERVES, n, ids(before, serves), new_serves)?;
        Self::sync_models(
            ctx,
            T_LISTED,
            n,
            ids(before, |w| self.listed(w)),
            ids(Some(after), |w| self.listed(w)),
        )?;
        // Every model name ever declared, for display.
        let new_names = before.is_none_or(|b| b.capabilities.models != after.capabilities.models);
        if new_names {
            for (name, id) in after.capabilities.models.iter().zip(new_serves) {
                let key = KeyBuf::table(T_MODEL_NAME).bytes32(&id.0);
                if ctx.get::<String>(&key)?.is_none() {
                    // The value holds the name; the set member orders the ids for MODELS.
                    ctx.put(&key, name)?;
                    ctx.insert_key(&key)?;
                }
            }
        }
        // Heartbeat buckets, for the online count.
        let old_hb = before.filter(|b| b.beating()).map(|b| b.last_heartbeat);
        let new_hb = Some(after.last_heartbeat).filter(|_| after.beating());
        if old_hb != new_hb {
            if let Some(t) = old_hb {
                Self::bump_heartbeat_bucket(ctx, t, false)?;
            }
            if let Some(t) = new_hb {
                Self::bump_heartbeat_bucket(ctx, t, true)?;
            }
        }
        // Counts.
        let mut s = Self::stats(&ctx.view())?;
        if let Some(b) = before {
            match b.status {
                WorkerStatus::Active => s.active = s.active.saturating_sub(1),
                WorkerStatus::Unbonding { .. } => s.unbonding = s.unbonding.saturating_sub(1),
                WorkerStatus::Exited => s.exited = s.exited.saturating_sub(1),
            }
            s.total_staked = Amount(s.total_staked.0 - b.stake.0);
        } else {
            s.registered += 1;
        }
        match after.status {
            WorkerStatus::Active => s.active += 1,
            WorkerStatus::Unbonding { .. } => s.unbonding += 1,
            WorkerStatus::Exited => s.exited += 1,
        }
        s.total_staked = Amount(s.total_staked.0 + after.stake.0);
        ctx.put(K_STATS, &s)?;
        if wake && self.listed(after) {
            let v = ctx.get::<u64>(K_VERSION)?.unwrap_or(0);
            ctx.put(K_VERSION, &(v + 1))?;
        }
        Ok(())
    }

    fn sync_models(
        ctx: &mut Ctx<'_>,
        table: u8,
        n: u64,
        old: &[Hash32],
        new: &[Hash32],
    ) -> Result<(), ContractError> {
        for m in old.iter().filter(|m| !new.contains(m)) {
            ctx.remove_key(&model_key(table, m, n))?;
        }
        for m in new.iter().filter(|m| !old.contains(m)) {
            ctx.insert_key(&model_key(table, m, n))?;
        }
        Ok(())
    }

    fn no_payment(ctx: &Ctx<'_>) -> Result<(), WorkerError> {
        let r = ctx.invocation_reward();
        if r != Amount::ZERO {
            return Err(WorkerError::UnexpectedPayment(r));
        }
        Ok(())
    }

    fn require_job_registry(&self, ctx: &Ctx<'_>, procedure: u16) -> Result<(), WorkerError> {
        Self::require_client(&self.config.job_clients, ctx, procedure)
    }

    fn require_client(
        clients: &[ContractIndex],
        ctx: &Ctx<'_>,
        procedure: u16,
    ) -> Result<(), WorkerError> {
        crate::rules::invoked_by(ctx, clients)
            .map_err(|caller| WorkerError::NotAuthorized { caller, procedure })
    }

    /// A verdict moves a replica's reputation (the verification contract only).
    fn repute(&self, ctx: &mut Ctx<'_>, r: Repute) -> Result<u16, ContractError> {
        Self::require_client(&self.config.check_clients, ctx, REPUTE.number())?;
        Self::no_payment(ctx)?;
        let before =
            Self::load(&ctx.view(), &r.worker.0)?.ok_or(WorkerError::NotRegistered(r.worker.0))?;
        let mut w = before.clone();
        w.reputation = adjust_reputation(w.reputation, r.delta);
        if w.reputation != before.reputation {
            self.save(ctx, Some(&before), &w, true)?;
            ctx.emit(&WorkerEvent::Reputed {
                worker: r.worker,
                delta: r.delta,
                reputation: w.reputation,
            });
        }
        Ok(w.reputation)
    }

    /// Whether `w` may take a job with these requirements at `now`.
    fn check_eligible(
        &self,
        w: &Worker,
        now: Tick,
        model: &Hash32,
        max_price: Amount,
        min_reputation: u16,
    ) -> Result<(), WorkerError> {
        if !w.is_active() {
            return Err(WorkerError::NotActive);
        }
        if !w.online_at(now, self.config.heartbeat_window) {
            return Err(WorkerError::Offline {
                last_heartbeat: w.last_heartbeat,
            });
        }
        if w.stake < self.config.min_stake {
            return Err(WorkerError::StakeBelowMinimum {
                stake: w.stake,
                min: self.config.min_stake,
            });
        }
        if !w.model_ids.contains(model) {
            return Err(WorkerError::ModelNotServed(*model));
        }
        if w.capabilities.price_per_1k > max_price {
            return Err(WorkerError::PriceTooHigh {
                price: w.capabilities.price_per_1k,
                max: max_price,
            });
        }
        if w.reputation < min_reputation {
            return Err(WorkerError::ReputationTooLow {
                reputation: w.reputation,
                min: min_reputation,
            });
        }
        if w.active_jobs >= w.capabilities.max_concurrent {
            return Err(WorkerError::AtCapacity {
                active: w.active_jobs,
                max: w.capabilities.max_concurrent,
            });
        }
        Ok(())
    }

    /// Refuses a call from daemon session `session` while another session is online.
    fn check_session(&self, w: &Worker, session: u64, now: Tick) -> Result<(), WorkerError> {
        if session != 0
            && w.session != 0
            && w.session != session
            && w.online_at(now, self.config.heartbeat_window)
        {
            return Err(WorkerError::SessionInUse {
                session: w.session,
                last_heartbeat: w.last_heartbeat,
            });
        }
        Ok(())
    }

    fn info(&self, w: Worker, now: Tick) -> WorkerInfo {
        let online = w.online_at(now, self.config.heartbeat_window);
        let can_take_jobs = w.is_active()
            && online
            && w.stake >= self.config.min_stake
            && w.active_jobs < w.capabilities.max_concurrent;
        WorkerInfo {
            worker: w,
            online,
            can_take_jobs,
        }
    }

    fn register(&self, ctx: &mut Ctx<'_>, caps: Capabilities) -> Result<u64, ContractError> {
        caps.validate()?;
        let id = ctx.invocator();
        let stake = ctx.invocation_reward();
        if stake < self.config.min_stake || stake <= Amount::ZERO {
            return Err(WorkerError::StakeTooLow {
                needed: self.config.min_stake,
                got: stake,
            }
            .into());
        }
        let before = Self::load(&ctx.view(), &id)?;
        if let Some(b) = &before {
            if b.status != WorkerStatus::Exited {
                return Err(WorkerError::AlreadyRegistered(id).into());
            }
        }
        let _: crate::escrow::StakeAccount = ctx.call(
            LOCK_STAKE,
            &LockStake {
                worker: WorkerId(id),
            },
            stake,
        )?;
        let now = ctx.tick();
        let number = match &before {
            Some(b) => b.number,
            None => {
                let n = Self::stats(&ctx.view())?.registered + 1;
                ctx.put(&number_key(n), &id)?;
                n
            }
        };
        let after = Worker {
            id: WorkerId(id),
            number,
            capabilities: caps.clone(),
            stake: before
                .as_ref()
                .map_or(Amount::ZERO, |b| b.stake)
                .checked_add(stake)
                .unwrap_or(stake),
            reputation: before
                .as_ref()
                .map_or(self.config.initial_reputation, |b| b.reputation),
            status: WorkerStatus::Active,
            available: false,
            active_jobs: 0,
            settling_jobs: 0,
            last_heartbeat: now,
            registered_at: now,
            jobs_completed: before.as_ref().map_or(0, |b| b.jobs_completed),
            jobs_failed: before.as_ref().map_or(0, |b| b.jobs_failed),
            jobs_expired: before.as_ref().map_or(0, |b| b.jobs_expired),
            checks_failed: before.as_ref().map_or(0, |b| b.checks_failed),
            jobs_declined: before.as_ref().map_or(0, |b| b.jobs_declined),
            total_slashed: before.as_ref().map_or(Amount::ZERO, |b| b.total_slashed),
            total_earned: before.as_ref().map_or(Amount::ZERO, |b| b.total_earned),
            session: 0,
            signed_off: false,
            model_ids: caps.model_ids(),
        };
        self.save(ctx, before.as_ref(), &after, true)?;
        ctx.emit(&WorkerEvent::Registered {
            worker: WorkerId(id),
            number,
            capabilities: caps,
            stake: after.stake,
            reputation: after.reputation,
        });
        Ok(number)
    }

    fn assign(&self, ctx: &mut Ctx<'_>, a: Assign) -> Result<Assignment, ContractError> {
        self.require_job_registry(ctx, ASSIGN.number())?;
        Self::no_payment(ctx)?;
        let before =
            Self::load(&ctx.view(), &a.worker.0)?.ok_or(WorkerError::NotRegistered(a.worker.0))?;
        self.check_eligible(
            &before,
            ctx.tick(),
            &a.model,
            a.max_price_per_1k,
            a.min_reputation,
        )?;
        let mut after = before.clone();
        after.active_jobs += 1;
        self.save(ctx, Some(&before), &after, false)?;
        ctx.emit(&WorkerEvent::Assigned {
            worker: a.worker,
            job_id: a.job_id,
            price_per_1k: after.capabilities.price_per_1k,
            active_jobs: after.active_jobs,
        });
        Ok(Assignment {
            price_per_1k: after.capabilities.price_per_1k,
            reputation: after.reputation,
        })
    }

    fn release(&self, ctx: &mut Ctx<'_>, r: Release) -> Result<ReleaseOutcome, ContractError> {
        self.require_job_registry(ctx, RELEASE.number())?;
        Self::no_payment(ctx)?;
        let before =
            Self::load(&ctx.view(), &r.worker.0)?.ok_or(WorkerError::NotRegistered(r.worker.0))?;
        let mut w = before.clone();
        let c = &self.config;
        let take_active = |w: &mut Worker| -> Result<(), WorkerError> {
            w.active_jobs = w
                .active_jobs
                .checked_sub(1)
                .ok_or(WorkerError::NoSuchSlot("active"))?;
            Ok(())
        };
        let take_settling = |w: &mut Worker| -> Result<(), WorkerError> {
            w.settling_jobs = w
                .settling_jobs
                .checked_sub(1)
                .ok_or(WorkerError::NoSuchSlot("settling"))?;
            Ok(())
        };
        let mut slash = false;
        match r.outcome {
            Outcome::Delivered => {
                take_active(&mut w)?;
                w.settling_jobs += 1;
            }
            Outcome::Finalized | Outcome::CheckPassed => {
                take_settling(&mut w)?;
                w.reputation = adjust_reputation(w.reputation, i32::from(c.reputation_gain));
                w.jobs_completed += 1;
            }
            Outcome::Unresolved => {
                take_settling(&mut w)?;
                w.jobs_completed += 1;
            }
            Outcome::Declined => {
                take_active(&mut w)?;
                w.jobs_declined += 1;
            }
            Outcome::NoAnswer => {
                take_active(&mut w)?;
                w.reputation =
                    adjust_reputation(w.reputation, -i32::from(c.reputation_loss_no_answer));
                w.jobs_declined += 1;
            }
            Outcome::Failed => {
                take_active(&mut w)?;
                w.reputation =
                    adjust_reputation(w.reputation, -i32::from(c.reputation_loss_failure));
                w.jobs_failed += 1;
            }
            Outcome::Expired => {
                take_active(&mut w)?;
                w.reputation =
                    adjust_reputation(w.reputation, -i32::from(c.reputation_loss_expiry));
                w.jobs_expired += 1;
                slash = true;
            }
            Outcome::CheckFailed => {
                take_settling(&mut w)?;
                w.reputation = adjust_reputation(w.reputation, -i32::from(c.reputation_loss_check));
                w.checks_failed += 1;
                slash = true;
            }
        }
        if r.earned > Amount::ZERO {
            w.total_earned = w
                .total_earned
                .checked_add(r.earned)
                .unwrap_or(w.total_earned);
        }
        let mut outcome = SlashOutcome {
            remaining: w.stake,
            ..SlashOutcome::default()
        };
        if slash {
            let amount = c.slash_amount.min(w.stake);
            if amount > Amount::ZERO {
                let challenger = r.challenger.filter(|ch| *ch != r.worker);
                outcome = ctx.call(
                    SLASH_STAKE,
                    &SlashStake {
                        worker: r.worker,
                        amount,
                        requester: r.requester,
                        challenger,
                        recipient: r.slash_to,
                    },
                    Amount::ZERO,
                )?;
                w.stake = Amount(w.stake.0 - amount.0);
                w.total_slashed = Amount(w.total_slashed.0 + amount.0);
            }
        }
        self.save(ctx, Some(&before), &w, true)?;
        ctx.emit(&WorkerEvent::Released {
            worker: r.worker,
            job_id: r.job_id,
            outcome: r.outcome,
            reputation: w.reputation,
            stake: w.stake,
            slashed: outcome.slashed,
            active_jobs: w.active_jobs,
            settling_jobs: w.settling_jobs,
        });
        Ok(ReleaseOutcome {
            reputation: w.reputation,
            slash: outcome,
            at_risk: c.slash_amount.min(w.stake),
        })
    }

    fn find_worker(
        &self,
        view: &View<'_>,
        q: &FindWorker,
    ) -> Result<Option<Identity>, ContractError> {
        if q.exclude.len() > MAX_EXCLUDE {
            return Err(ContractError::BadInput(format!(
                "at most {MAX_EXCLUDE} excluded identities"
            )));
        }
        let limit = self.config.match_scan_limit as usize;
        let prefix = KeyBuf::table(T_LISTED).bytes32(&q.model.0);
        let upper = prefix_upper_bound(&prefix);
        let upper = match &upper {
            Some(u) => Bound::Excluded(u.as_slice()),
            None => Bound::Unbounded,
        };
        let numbers = Self::stats(view)?.registered;
        let start = if numbers == 0 {
            1
        } else {
            1 + tie_break(&q.tie_seed, b"scan start", 0) % numbers
        };
        let start_key = model_key(T_LISTED, &q.model, start);
        let now = view.tick();
        // The listings are walked in place (no key is copied out): from the start key to the
        // end of the model's listings, then from its first listing up to the start key.
        let mut best: Option<(MatchScore, Identity)> = None;
        let seen = std::cell::Cell::new(0usize);
        let mut failed = None;
        let mut visit = |key: &[u8]| -> bool {
            if failed.is_some() {
                return false;
            }
            seen.set(seen.get() + 1);
            match self.candidate(view, q, now, key) {
                Ok(Some((score, id))) => {
                    if best.as_ref().is_none_or(|(s, _)| score < *s) {
                        best = Some((score, id));
                    }
                    true
                }
                Ok(None) => true,
                Err(e) => {
                    failed = Some(e);
                    false
                }
            }
        };
        view.for_each_key(Bound::Included(&start_key), upper, limit, false, &mut visit);
        // After an error every call of `visit` stops at once.
        let first_part = seen.get();
        if first_part < limit {
            view.for_each_key(
                Bound::Included(&prefix),
                Bound::Excluded(&start_key),
                limit - first_part,
                false,
                &mut visit,
            );
        }
        if let Some(e) = failed {
            return Err(e);
        }
        Ok(best.map(|(_, id)| id))
    }

    /// The score of the worker listed under `key`, if it may take the job `q`.
    fn candidate(
        &self,
        view: &View<'_>,
        q: &FindWorker,
        now: Tick,
        key: &[u8],
    ) -> Result<Option<(MatchScore, Identity)>, ContractError> {
        let n = key_u64(key, 33).ok_or_else(|| corrupt(key, "short listing key"))?;
        let nk = number_key(n);
        let id: Identity = view
            .get(&nk)?
            .ok_or_else(|| corrupt(&nk, "listed number without identity"))?;
        if q.exclude.contains(&id) {
            return Ok(None);
        }
        let w =
            Self::load(view, &id)?.ok_or_else(|| corrupt(&nk, "listed worker without record"))?;
        if self
            .check_eligible(&w, now, &q.model, q.max_price_per_1k, q.min_reputation)
            .is_err()
        {
            return Ok(None);
        }
        let score = (
            w.capabilities.price_per_1k,
            Reverse(w.reputation),
            tie_break(&q.tie_seed, b"worker", n),
        );
        Ok(Some((score, id)))
    }

    fn online_count(&self, view: &View<'_>) -> Result<u64, ContractError> {
        let now = view.tick();
        let from = now.0.saturating_sub(self.config.heartbeat_window);
        let lower = KeyBuf::table(T_HB_TICK).u32(from);
        let upper = [T_HB_TICK + 1];
        let limit = self.config.heartbeat_window as usize + 2;
        let mut total = 0u64;
        for key in view.range(
            Bound::Included(&lower),
            Bound::Excluded(&upper),
            limit,
            false,
        ) {
            let tick = key_u32(&key, 1).ok_or_else(|| corrupt(&key, "short heartbeat key"))?;
            let count = view
                .get::<u32>(&KeyBuf::table(T_HB_COUNT).u32(tick))?
                .unwrap_or(0);
            total += u64::from(count);
        }
        Ok(total)
    }
}

impl Contract for WorkerRegistry {
    fn meta(&self) -> &'static ContractMeta {
        &META
    }
    fn initialize(&self, _ctx: &mut Ctx<'_>) -> Result<(), ContractError> {
        self.config
            .validate()
            .map_err(crate::genesis::invalid_config)
    }
    fn procedure(&self, ctx: &mut Ctx<'_>, input_type: u16, input: &[u8]) -> Output {
        let now = ctx.tick();
        let id = ctx.invocator();
        dispatch_procedure(ctx, input_type, input)
            .on(REGISTER, |ctx, caps| self.register(ctx, caps))
            .on(UPDATE, |ctx, caps| {
                Self::no_payment(ctx)?;
                caps.validate()?;
                let before = Self::load_active(ctx, &id)?;
                let mut after = before.clone();
                after.model_ids = caps.model_ids();
                after.capabilities = caps.clone();
                after.last_heartbeat = now;
                self.save(ctx, Some(&before), &after, true)?;
                ctx.emit(&WorkerEvent::Updated {
                    worker: WorkerId(id),
                    capabilities: caps,
                });
                Ok(())
            })
            .on(HEARTBEAT, |ctx, hb| {
                Self::no_payment(ctx)?;
                let before = Self::load_active(ctx, &id)?;
                if !hb.takeover {
                    self.check_session(&before, hb.session, now)?;
                }
                let was_online = before.online_at(now, self.config.heartbeat_window);
                let mut after = before.clone();
                after.last_heartbeat = now;
                after.signed_off = false;
                if hb.session != 0 {
                    after.session = hb.session;
                }
                self.save(ctx, Some(&before), &after, !was_online)?;
                ctx.emit(&WorkerEvent::Heartbeat {
                    worker: WorkerId(id),
                    session: after.session,
                });
                Ok(())
            })
            .on(SET_AVAILABLE, |ctx, SetAvailable { available, session }| {
                Self::no_payment(ctx)?;
                let before = Self::load_active(ctx, &id)?;
                self.check_session(&before, session, now)?;
                let mut after = before.clone();
                after.available = available;
                if available {
                    after.last_heartbeat = now;
                    after.signed_off = false;
                    if session != 0 {
                        after.session = session;
                    }
                } else if session != 0 && session == before.session {
                    // The daemon signs off: offline now, its session over.
                    after.signed_off = true;
                    after.session = 0;
                } else {
                    after.last_heartbeat = now;
                }
                self.save(ctx, Some(&before), &after, true)?;
                ctx.emit(&WorkerEvent::AvailabilityChanged {
                    worker: WorkerId(id),
                    available,
                    signed_off: after.signed_off,
                    session: after.session,
                });
                Ok(())
            })
            .on(TOP_UP, |ctx, ()| {
                let amount = ctx.invocation_reward();
                if amount <= Amount::ZERO {
                    return Err(WorkerError::MissingPayment.into());
                }
                let before = Self::load_active(ctx, &id)?;
                let _: crate::escrow::StakeAccount = ctx.call(
                    LOCK_STAKE,
                    &LockStake {
                        worker: WorkerId(id),
                    },
                    amount,
                )?;
                let mut after = before.clone();
                after.stake = before
                    .stake
                    .checked_add(amount)
                    .ok_or(ContractError::InvalidAmount(amount.0))?;
                after.last_heartbeat = now;
                self.save(ctx, Some(&before), &after, true)?;
                ctx.emit(&WorkerEvent::ToppedUp {
                    worker: WorkerId(id),
                    amount,
                    stake: after.stake,
                });
                Ok(())
            })
            .on(UNBOND, |ctx, ()| {
                Self::no_payment(ctx)?;
                let before = Self::load_active(ctx, &id)?;
                if before.active_jobs > 0 || before.settling_jobs > 0 {
                    return Err(WorkerError::HasJobs {
                        active: before.active_jobs,
                        settling: before.settling_jobs,
                    }
                    .into());
                }
                let until = now.plus(self.config.unbonding_ticks);
                let mut after = before.clone();
                after.status = WorkerStatus::Unbonding { until };
                after.available = false;
                self.save(ctx, Some(&before), &after, false)?;
                ctx.emit(&WorkerEvent::Unbonding {
                    worker: WorkerId(id),
                    until,
                });
                Ok(())
            })
            .on(WITHDRAW, |ctx, ()| {
                Self::no_payment(ctx)?;
                let before = Self::load(&ctx.view(), &id)?.ok_or(WorkerError::NotRegistered(id))?;
                match before.status {
                    WorkerStatus::Unbonding { until } if now < until => {
                        return Err(WorkerError::StillUnbonding { until }.into())
                    }
                    WorkerStatus::Unbonding { .. } => {}
                    _ => return Err(WorkerError::NotUnbonding.into()),
                }
                let amount = before.stake;
                if amount > Amount::ZERO {
                    let _: crate::escrow::StakeAccount = ctx.call(
                        RETURN_STAKE,
                        &ReturnStake {
                            worker: WorkerId(id),
                            amount,
                        },
                        Amount::ZERO,
                    )?;
                }
                let mut after = before.clone();
                after.stake = Amount::ZERO;
                after.status = WorkerStatus::Exited;
                self.save(ctx, Some(&before), &after, false)?;
                ctx.emit(&WorkerEvent::Withdrawn {
                    worker: WorkerId(id),
                    amount,
                });
                Ok(amount)
            })
            .on(ASSIGN, |ctx, a| self.assign(ctx, a))
            .on(RELEASE, |ctx, r| self.release(ctx, r))
            .on(REPUTE, |ctx, r| self.repute(ctx, r))
            .done()
    }
    fn function(&self, view: &View<'_>, input_type: u16, input: &[u8]) -> Output {
        let now = view.tick();
        dispatch_function(view, input_type, input)
            .on(GET_WORKER, |view, q| {
                Ok(Self::load(view, &q.worker.0)?.map(|w| self.info(w, now)))
            })
            .on(WORKERS_BY_MODEL, |view, q| {
                let limit = usize::from(q.limit.clamp(1, MAX_PAGE));
                let prefix = KeyBuf::table(T_SERVES).bytes32(&q.model.0);
                let after = q.cursor.map(|c| model_key(T_SERVES, &q.model, c));
                let keys = view.keys_with_prefix(&prefix, after.as_deref(), limit + 1);
                let more = keys.len() > limit;
                let mut workers = Vec::with_capacity(limit);
                for key in keys.iter().take(limit) {
                    let n = key_u64(key, 33).ok_or_else(|| corrupt(key, "short index key"))?;
                    let nk = number_key(n);
                    let id: Identity = view
                        .get(&nk)?
                        .ok_or_else(|| corrupt(&nk, "number without identity"))?;
                    let w = Self::load(view, &id)?
                        .ok_or_else(|| corrupt(&nk, "indexed worker without record"))?;
                    workers.push(self.info(w, now));
                }
                let next_cursor = if more {
                    workers.last().map(|w| w.worker.number)
                } else {
                    None
                };
                Ok(WorkerPage {
                    workers,
                    next_cursor,
                })
            })
            .on(FIND_WORKER, |view, q| {
                Ok(self.find_worker(view, &q)?.map(WorkerId))
            })
            .on(MATCH_VERSION, |view, ()| {
                Ok(view.get::<u64>(K_VERSION)?.unwrap_or(0))
            })
            .on(WORKER_STATS, |view, ()| {
                let mut s = Self::stats(view)?;
                s.online = self.online_count(view)?;
                Ok(s)
            })
            .on(MODELS, |view, q| {
                let limit = usize::from(q.limit.clamp(1, MAX_PAGE));
                let prefix = [T_MODEL_NAME];
                let after = q.cursor.map(|c| KeyBuf::table(T_MODEL_NAME).bytes32(&c.0));
                let keys = view.keys_with_prefix(&prefix, after.as_deref(), limit + 1);
                let more = keys.len() > limit;
                let mut models = Vec::with_capacity(limit.min(keys.len()));
                for key in keys.iter().take(limit) {
                    let id: [u8; 32] = key
                        .get(1..33)
                        .and_then(|b| b.try_into().ok())
                        .ok_or_else(|| corrupt(key, "short model key"))?;
                    let name: String = view
                        .get(key)?
                        .ok_or_else(|| corrupt(key, "model key without name"))?;
                    models.push(ModelName {
                        id: Hash32(id),
                        name,
                    });
                }
                let next_cursor = if more {
                    models.last().map(|m| m.id)
                } else {
                    None
                };
                Ok(ModelPage {
                    models,
                    next_cursor,
                })
            })
            .on(MODEL_NAME, |view, id| {
                view.get::<String>(&KeyBuf::table(T_MODEL_NAME).bytes32(&id.0))
            })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn caps() -> Capabilities {
        Capabilities {
            models: vec!["m".into()],
            gpu: "RTX 4090".into(),
            vram_mb: 24_000,
            tokens_per_s: 100,
            price_per_1k: Amount(10),
            max_concurrent: 2,
        }
    }

    #[test]
    fn capabilities_are_checked() {
        assert!(caps().validate().is_ok());
        let mut c = caps();
        c.models.push(c.models[0].clone());
        assert!(matches!(
            c.validate(),
            Err(WorkerError::InvalidCapabilities(_))
        ));
        let c = Capabilities {
            models: vec![],
            ..caps()
        };
        assert!(c.validate().is_err());
        let c = Capabilities {
            max_concurrent: 0,
            ..caps()
        };
        assert!(c.validate().is_err());
        let c = Capabilities {
            price_per_1k: Amount(-1),
            ..caps()
        };
        assert!(c.validate().is_err());
        let c = Capabilities {
            gpu: "x".repeat(MAX_GPU_NAME + 1),
            ..caps()
        };
        assert!(c.validate().is_err());
    }

    #[test]
    fn errors_carry_their_names_and_codes() {
        let e: ContractError = WorkerError::AtCapacity { active: 2, max: 2 }.into();
        assert_eq!(e.rejected_name(), Some("AtCapacity"));
        assert_eq!(e.code(), Some(211));
    }

    #[test]
    fn keys_fit() {
        assert!(
            model_key(T_LISTED, &Hash32::ZERO, u64::MAX).len()
                <= comqute_qpi::contract::MAX_KEY_LEN
        );
        assert!(worker_key(&Identity::NULL).len() <= comqute_qpi::contract::MAX_KEY_LEN);
    }
}

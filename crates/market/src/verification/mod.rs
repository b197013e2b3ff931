//! The verification contract (index 5): spot checks drawn by the chain, replicas that
//! commit and reveal, verdicts by majority, and the split of a slash. No identity decides
//! a verdict on a normal node.
//!
//! ## The rules (integer maths, parameters from genesis, [`VerifyConfig`])
//! 1. **Which results are checked.** When a worker posts a result, the job registry offers it
//!    here ([`OPEN_CHECK`]). It is checked iff
//!    `u64(blake3("comqute check" ‖ tick seed ‖ job id ‖ result hash)[0..8]) mod 10⁶ < p`,
//!    where `p` (ppm) is the least rate at which cheating does not pay,
//!    `p > P / ((1−q)(P+S))` (Proof of Sampling: `P` the job's payment, `S` the stake at
//!    risk, `q` the chance that a majority of the `k` replicas collude, from the genesis
//!    collusion share), never under the genesis floor, and at least the newcomer rate (25%)
//!    until the worker has passed 10 checks in a row ([`VerifyConfig::rate_ppm`]). A
//!    challenge ([`crate::job_registry::CHALLENGE`], anyone, with a bond) checks a result
//!    always.
//! 2. **Replicas.** A check draws `k` replicas (3) with the seed among online, active workers
//!    serving the job's model, never the worker itself, the requester or the challenger.
//!    Each commits `blake3(vote ‖ salt ‖ replica ‖ job)` with a bond ([`COMMIT`]), then
//!    reveals ([`REVEAL`]) once every seat committed or the commit deadline passed. A seat
//!    that misses its commit or reveal deadline is silent (a revealed-late bond is
//!    forfeited) and is replaced once.
//! 3. **Votes.** [`Vote::Reproduced`]: the replica re-ran the job on the same runtime; it
//!    passes iff its hash equals the posted one. [`Vote::Scored`]: it scored the claimed
//!    output on the built-in runtime; it passes iff the agreement reaches the genesis
//!    threshold for the job's temperature. [`Vote::Unable`]: it abstains.
//! 4. **Verdicts.** More than half of the round's seats passing: **Passed**; failing:
//!    **Failed**. Otherwise a second round of 5 fresh replicas; still no majority:
//!    **NoMajority** (refund, nobody slashed). Nobody able to check (no replica available,
//!    every vote an abstention, or too few fresh workers for the second round):
//!    **Unverifiable** (paid, never slashed) — so one replica of the requester's own cannot
//!    split a small check into a free refund.
//! 5. **Money** ([`SETTLE`], after the job registry moved the job's money): a failed check's
//!    slash is split 40% to the majority replicas, 20% to the challenger (to the replicas for
//!    a spot check), 20% to the requester, 20% burned, remainders burned. Replicas that voted
//!    are paid a reward from the fee pool (every job's payment carries a fee,
//!    [`VerifyConfig::fee_bps`]), never more than the pool holds. Outvoted and silent
//!    replicas lose their bond to the pool. A lost challenge's bond goes half to the majority
//!    replicas, half to the worker; a won or inconclusive challenge gets it back.
//!
//! The job registry applies verdicts: it asks [`PENDING_VERDICTS`] and takes them
//! ([`TAKE_VERDICTS`]) at its END_TICK, which runs after this contract's (lower index first),
//! so a verdict reached in a tick is applied in that tick.

mod api;

pub use api::*;

use std::ops::Bound;

use comqute_qpi::contract::{key_u32, key_u64, Contract, Ctx, KeyBuf, Output, TickWork, View};
use comqute_qpi::error::ContractError;
use comqute_qpi::kit::{dispatch_function, dispatch_procedure, ContractMeta};
use comqute_qpi::primitives::{Amount, Hash32, Identity, Tick};

use crate::ids::{JobId, WorkerId};
use crate::worker_registry::{
    Repute, WorkerStatus, WorkersByModel, REPUTE, WORKERS_BY_MODEL, WORKER_STATS,
};

const T_CHECK: u8 = 1; // map: job id -> Check
const T_SEAT: u8 = 2; // set: (replica, job id), open seats
const T_DEADLINE: u8 = 3; // set: (tick, job id)
const T_QUEUE: u8 = 4; // map: seq -> Verdict
const T_RECORD: u8 = 5; // map: worker -> CheckRecord
const K_STATS: &[u8] = &[6];
const K_QUEUE: &[u8] = &[7]; // (head, tail)

fn check_key(id: u64) -> KeyBuf {
    KeyBuf::table(T_CHECK).u64(id)
}
fn seat_key(w: &Identity, id: u64) -> KeyBuf {
    KeyBuf::table(T_SEAT).bytes32(&w.0).u64(id)
}
fn deadline_key(t: Tick, id: u64) -> KeyBuf {
    KeyBuf::table(T_DEADLINE).u32(t.0).u64(id)
}
fn queue_key(seq: u64) -> KeyBuf {
    KeyBuf::table(T_QUEUE).u64(seq)
}
fn record_key(w: &Identity) -> KeyBuf {
    KeyBuf::table(T_RECORD).bytes32(&w.0)
}

fn corrupt(key: &[u8], detail: &str) -> ContractError {
    ContractError::CorruptState {
        key: key.iter().map(|b| format!("{b:02x}")).collect(),
        detail: detail.into(),
    }
}

fn add(a: Amount, b: Amount) -> Amount {
    Amount(a.0.saturating_add(b.0))
}

/// The draw: whether a result is checked at `rate_ppm`.
pub fn drawn(seed: &Hash32, job_id: JobId, result_hash: &Hash32, rate_ppm: u32) -> bool {
    const TAG: &[u8] = b"comqute check";
    let mut buf = [0u8; TAG.len() + 32 + 8 + 32];
    buf[..TAG.len()].copy_from_slice(TAG);
    buf[TAG.len()..TAG.len() + 32].copy_from_slice(&seed.0);
    buf[TAG.len() + 32..TAG.len() + 40].copy_from_slice(&job_id.0.to_le_bytes());
    buf[TAG.len() + 40..].copy_from_slice(&result_hash.0);
    let h = blake3::hash(&buf);
    let mut first = [0u8; 8];
    first.copy_from_slice(&h.as_bytes()[..8]);
    u64::from_le_bytes(first) % u64::from(PPM) < u64::from(rate_ppm)
}

/// The verification contract.
#[derive(Debug, Clone, Default)]
pub struct Verification {
    config: VerifyConfig,
}

impl Verification {
    /// The contract with these genesis settings.
    pub fn new(config: VerifyConfig) -> Self {
        Verification { config }
    }

    fn require_job_client(&self, ctx: &Ctx<'_>, procedure: u16) -> Result<(), CheckError> {
        crate::rules::invoked_by(ctx, &self.config.job_clients)
            .map_err(|caller| CheckError::NotAuthorized { caller, procedure })
    }

    fn no_payment(ctx: &Ctx<'_>) -> Result<(), CheckError> {
        let r = ctx.invocation_reward();
        if r != Amount::ZERO {
            return Err(CheckError::UnexpectedPayment(r));
        }
        Ok(())
    }

    fn load(view: &View<'_>, id: JobId) -> Result<Check, ContractError> {
        view.get(&check_key(id.0))?
            .ok_or_else(|| CheckError::UnknownCheck(id.0).into())
    }

    fn stats(view: &View<'_>) -> Result<CheckStats, ContractError> {
        Ok(view.get(K_STATS)?.unwrap_or_default())
    }

    fn record(view: &View<'_>, w: &Identity) -> Result<CheckRecord, ContractError> {
        Ok(view.get(&record_key(w))?.unwrap_or_default())
    }

    fn queue(view: &View<'_>) -> Result<(u64, u64), ContractError> {
        Ok(view.get(K_QUEUE)?.unwrap_or((0, 0)))
    }

    /// Saves the check and keeps its deadline entry in line with its open seats.
    fn save(
        ctx: &mut Ctx<'_>,
        check: &Check,
        old_deadline: Option<Tick>,
    ) -> Result<(), ContractError> {
        let id = check.job.job_id.0;
        let new = Self::deadline(check);
        if old_deadline != new {
            if let Some(t) = old_deadline {
                ctx.remove_key(&deadline_key(t, id))?;
            }
            if let Some(t) = new {
                ctx.insert_key(&deadline_key(t, id))?;
            }
        }
        ctx.put(&check_key(id), check)
    }

    /// The next tick at which a seat of the current round misses a deadline.
    fn deadline(check: &Check) -> Option<Tick> {
        if !matches!(check.phase, CheckPhase::Commit | CheckPhase::Reveal) {
            return None;
        }
        check
            .current()
            .filter_map(|s| match s.state {
                SeatState::Assigned => Some(s.commit_by),
                SeatState::Committed => Some(s.reveal_by),
                _ => None,
            })
            .min()
    }

    /// Reveals open once no seat of the current round waits for its commit.
    fn phase_of(check: &Check) -> CheckPhase {
        if check.current().any(|s| s.state == SeatState::Assigned) {
            CheckPhase::Commit
        } else {
            CheckPhase::Reveal
        }
    }

    /// Moves a running check to the phase its seats call for, saying when reveals open.
    fn update_phase(ctx: &mut Ctx<'_>, check: &mut Check) {
        let next = Self::phase_of(check);
        if check.phase == CheckPhase::Commit && next == CheckPhase::Reveal {
            ctx.emit(&CheckEvent::RevealsOpen {
                job_id: check.job.job_id,
                round: check.round,
            });
        }
        check.phase = next;
    }

    /// Draws up to `n` replicas for `check`, never the worker, the requester, the challenger
    /// or anyone who held a seat on it before.
    fn draw_replicas(
        &self,
        ctx: &Ctx<'_>,
        check: &Check,
        n: usize,
        salt: u8,
    ) -> Result<Vec<WorkerId>, ContractError> {
        let view = ctx.view();
        let stats = view.query(WORKER_STATS, &())?;
        if stats.registered == 0 || n == 0 {
            return Ok(Vec::new());
        }
        let mut excluded: Vec<Identity> = vec![check.job.worker.0, check.job.requester];
        if let Some(c) = check.job.challenger {
            excluded.push(c);
        }
        excluded.extend(check.seats.iter().map(|s| s.replica.0));
        // A start drawn from the seed, the job and the round, so a check's replicas are not
        // the lowest-numbered workers every time.
        let mut buf = [0u8; 32 + 8 + 2];
        buf[..32].copy_from_slice(&ctx.seed().0);
        buf[32..40].copy_from_slice(&check.job.job_id.0.to_le_bytes());
        buf[40] = check.round;
        buf[41] = salt;
        let h = blake3::hash(&buf);
        let mut first = [0u8; 8];
        first.copy_from_slice(&h.as_bytes()[..8]);
        let start = u64::from_le_bytes(first) % stats.registered;
        let limit = self.config.replica_scan_limit as usize;
        let mut chosen = Vec::new();
        let mut scanned = 0usize;
        // Two passes: from the start to the end, then from the beginning to the start.
        for (from, to) in [(Some(start), u64::MAX), (None, start)] {
            let mut cursor = from;
            loop {
                let page = view.query(
                    WORKERS_BY_MODEL,
                    &WorkersByModel {
                        model: check.job.model,
                        cursor,
                        limit: 64,
                    },
                )?;
                for info in &page.workers {
                    if info.worker.number > to || chosen.len() >= n || scanned >= limit {
                        break;
                    }
                    scanned += 1;
                    let w = &info.worker;
                    if info.online
                        && w.status == WorkerStatus::Active
                        && !excluded.contains(&w.id.0)
                        && !chosen.contains(&w.id)
                    {
                        chosen.push(w.id);
                    }
                }
                let past_end = page.workers.last().is_none_or(|w| w.worker.number >= to);
                match page.next_cursor {
                    Some(c) if !past_end && chosen.len() < n && scanned < limit => cursor = Some(c),
                    _ => break,
                }
            }
            if chosen.len() >= n || scanned >= limit {
                break;
            }
        }
        Ok(chosen)
    }

    fn seat(&self, check: &Check, replica: WorkerId, now: Tick, replacement: bool) -> Seat {
        let commit_by = now.plus(self.config.commit_ticks);
        Seat {
            job_id: check.job.job_id,
            replica,
            round: check.round,
            state: SeatState::Assigned,
            commitment: None,
            bond: Amount::ZERO,
            vote: None,
            passes: None,
            replacement,
            commit_by,
            reveal_by: commit_by.plus(self.config.reveal_ticks),
        }
    }

    /// Adds seats for `replicas` to the current round, indexes them and says so.
    fn add_seats(
        &self,
        ctx: &mut Ctx<'_>,
        check: &mut Check,
        replicas: Vec<WorkerId>,
        replacement: bool,
    ) -> Result<(), ContractError> {
        let now = ctx.tick();
        let mut stats = Self::stats(&ctx.view())?;
        for r in replicas {
            let seat = self.seat(check, r, now, replacement);
            ctx.insert_key(&seat_key(&r.0, check.job.job_id.0))?;
            ctx.emit(&CheckEvent::ReplicaAssigned {
                job_id: check.job.job_id,
                replica: r,
                round: seat.round,
                commit_by: seat.commit_by,
                reveal_by: seat.reveal_by,
                replacement,
            });
            // Seats committed earlier in the round wait for the newcomer's commit: their
            // reveal window moves with it.
            for s in check.seats.iter_mut() {
                if s.round == check.round && s.state == SeatState::Committed {
                    s.reveal_by = s.reveal_by.max(seat.reveal_by);
                }
            }
            check.seats.push(seat);
            stats.seats += 1;
        }
        ctx.put(K_STATS, &stats)
    }

    fn majority(seats: u8) -> u8 {
        seats / 2 + 1
    }

    /// Decides the check if every seat of its round is done; escalates once.
    fn try_decide(&self, ctx: &mut Ctx<'_>, check: &mut Check) -> Result<(), ContractError> {
        if check
            .current()
            .any(|s| matches!(s.state, SeatState::Assigned | SeatState::Committed))
        {
            Self::update_phase(ctx, check);
            return Ok(());
        }
        let passes = check.current().filter(|s| s.passes == Some(true)).count();
        let fails = check.current().filter(|s| s.passes == Some(false)).count();
        let abstained = check
            .current()
            .filter(|s| s.state == SeatState::Revealed && s.passes.is_none())
            .count();
        let need = usize::from(Self::majority(check.seats_wanted));
        let passes8 = u8::try_from(passes).unwrap_or(u8::MAX);
        let fails8 = u8::try_from(fails).unwrap_or(u8::MAX);
        let verdict = if passes >= need {
            Some(VerdictKind::Passed)
        } else if fails >= need {
            Some(VerdictKind::Failed)
        } else if passes == 0 && fails == 0 && abstained > 0 {
            Some(VerdictKind::Unverifiable)
        } else if check.round == 1 {
            // Escalate once: a larger round of fresh replicas.
            let (round, wanted) = (check.round, check.seats_wanted);
            check.round = 2;
            check.seats_wanted = self.config.escalation_replicas;
            let n = usize::from(check.seats_wanted);
            let replicas = self.draw_replicas(ctx, check, n, 0)?;
            if replicas.len() >= usize::from(Self::majority(check.seats_wanted)) {
                let mut stats = Self::stats(&ctx.view())?;
                stats.escalated += 1;
                ctx.put(K_STATS, &stats)?;
                ctx.emit(&CheckEvent::Escalated {
                    job_id: check.job.job_id,
                    seats: check.seats_wanted,
                });
                self.add_seats(ctx, check, replicas, false)?;
                check.phase = CheckPhase::Commit;
                return Ok(());
            }
            // Too few fresh workers for the second round: the rule cannot run, so the
            // result is unverifiable (paid, nobody slashed). A refund here would let a
            // requester with one replica of its own, in a small market, split a check and
            // get honest work for free.
            (check.round, check.seats_wanted) = (round, wanted);
            Some(VerdictKind::Unverifiable)
        } else {
            Some(VerdictKind::NoMajority)
        };
        if let Some(v) = verdict {
            self.decide(ctx, check, v, false, passes8, fails8)?;
        }
        Ok(())
    }

    fn decide(
        &self,
        ctx: &mut Ctx<'_>,
        check: &mut Check,
        verdict: VerdictKind,
        forced: bool,
        passes: u8,
        fails: u8,
    ) -> Result<(), ContractError> {
        check.phase = CheckPhase::Decided;
        check.verdict = Some(verdict);
        check.forced = forced;
        check.decided_at = Some(ctx.tick());
        // Open seats close: nobody commits or reveals any more.
        for s in check.seats.iter() {
            ctx.remove_key(&seat_key(&s.replica.0, s.job_id.0))?;
        }
        let mut stats = Self::stats(&ctx.view())?;
        match verdict {
            VerdictKind::Passed => stats.passed += 1,
            VerdictKind::Failed => stats.failed += 1,
            VerdictKind::NoMajority => stats.no_majority += 1,
            VerdictKind::Unverifiable => stats.unverifiable += 1,
        }
        ctx.put(K_STATS, &stats)?;
        if !forced {
            let (head, tail) = Self::queue(&ctx.view())?;
            ctx.put(
                &queue_key(tail),
                &Verdict {
                    job_id: check.job.job_id,
                    kind: verdict,
                    forced,
                },
            )?;
            ctx.put(K_QUEUE, &(head, tail + 1))?;
        }
        ctx.emit(&CheckEvent::Decided {
            job_id: check.job.job_id,
            verdict,
            passes,
            fails,
            forced,
        });
        Ok(())
    }

    // --- procedures --------------------------------------------------------------------

    fn open_check(&self, ctx: &mut Ctx<'_>, o: OpenCheck) -> Result<CheckOpened, ContractError> {
        self.require_job_client(ctx, OPEN_CHECK.number())?;
        let key = check_key(o.job_id.0);
        if ctx.view().contains_key(&key) {
            return Err(CheckError::AlreadyChecked(o.job_id.0).into());
        }
        let reward = ctx.invocation_reward();
        let rate_ppm = match o.challenger {
            Some(_) => {
                let needed = self.config.challenge_bond(o.payment);
                if reward < needed {
                    return Err(CheckError::BondTooSmall {
                        needed,
                        got: reward,
                    }
                    .into());
                }
                PPM
            }
            None => {
                Self::no_payment(ctx)?;
                if !self.config.spot_checks {
                    return Ok(CheckOpened {
                        checked: false,
                        rate_ppm: 0,
                        verdict: None,
                    });
                }
                let streak = Self::record(&ctx.view(), &o.worker.0)?.streak;
                let rate = self.config.rate_ppm(o.payment, o.stake_at_risk, streak);
                if !drawn(&ctx.seed(), o.job_id, &o.result_hash, rate) {
                    return Ok(CheckOpened {
                        checked: false,
                        rate_ppm: rate,
                        verdict: None,
                    });
                }
                rate
            }
        };
        let now = ctx.tick();
        let mut check = Check {
            job: o.clone(),
            rate_ppm,
            challenger_bond: reward,
            round: 1,
            seats_wanted: self.config.replicas,
            phase: CheckPhase::Commit,
            seats: Vec::new(),
            verdict: None,
            forced: false,
            opened_at: now,
            decided_at: None,
            settlement: None,
        };
        let replicas = self.draw_replicas(ctx, &check, usize::from(check.seats_wanted), 0)?;
        let too_few = replicas.len() < usize::from(Self::majority(check.seats_wanted));
        if too_few && o.challenger.is_none() {
            // Drawn, but too few workers could check it: the result waits out its
            // challenge window as if not drawn (anyone may still challenge it).
            let mut stats = Self::stats(&ctx.view())?;
            stats.spot_checks_without_replicas += 1;
            ctx.put(K_STATS, &stats)?;
            return Ok(CheckOpened {
                checked: false,
                rate_ppm,
                verdict: None,
            });
        }
        let mut stats = Self::stats(&ctx.view())?;
        match o.challenger {
            Some(_) => stats.challenges += 1,
            None => stats.spot_checks += 1,
        }
        stats.bonds_held = add(stats.bonds_held, reward);
        ctx.put(K_STATS, &stats)?;
        let mut rec = Self::record(&ctx.view(), &o.worker.0)?;
        rec.checked += 1;
        ctx.put(&record_key(&o.worker.0), &rec)?;
        ctx.emit(&CheckEvent::Opened {
            job_id: o.job_id,
            worker: o.worker,
            challenger: o.challenger,
            bond: reward,
            rate_ppm,
        });
        let verdict = if too_few {
            // Nobody (or too few) can check it: never slashed, shown as unverifiable.
            self.decide(ctx, &mut check, VerdictKind::Unverifiable, false, 0, 0)?;
            Some(VerdictKind::Unverifiable)
        } else {
            self.add_seats(ctx, &mut check, replicas, false)?;
            None
        };
        Self::save(ctx, &check, None)?;
        Ok(CheckOpened {
            checked: true,
            rate_ppm,
            verdict,
        })
    }

    /// The caller's open seat in the current round.
    fn my_seat(check: &Check, caller: &Identity) -> Result<usize, CheckError> {
        check
            .seats
            .iter()
            .position(|s| {
                s.round == check.round
                    && s.replica.0 == *caller
                    && matches!(
                        s.state,
                        SeatState::Assigned | SeatState::Committed | SeatState::Revealed
                    )
            })
            .ok_or(CheckError::NotReplica(*caller))
    }

    fn commit(&self, ctx: &mut Ctx<'_>, c: Commit) -> Result<(), ContractError> {
        let mut check = Self::load(&ctx.view(), c.job_id)?;
        let old = Self::deadline(&check);
        if !matches!(check.phase, CheckPhase::Commit | CheckPhase::Reveal) {
            return Err(CheckError::WrongPhase {
                job_id: c.job_id,
                phase: check.phase,
                action: "commit",
            }
            .into());
        }
        let caller = ctx.invocator();
        let i = Self::my_seat(&check, &caller)?;
        let now = ctx.tick();
        let seat = &mut check.seats[i];
        if seat.state != SeatState::Assigned {
            return Err(CheckError::AlreadyDone.into());
        }
        if now > seat.commit_by {
            return Err(CheckError::Late {
                deadline: seat.commit_by,
            }
            .into());
        }
        let bond = ctx.invocation_reward();
        if bond < self.config.replica_bond {
            return Err(CheckError::BondTooSmall {
                needed: self.config.replica_bond,
                got: bond,
            }
            .into());
        }
        seat.state = SeatState::Committed;
        seat.commitment = Some(c.commitment);
        seat.bond = bond;
        let replica = seat.replica;
        let mut stats = Self::stats(&ctx.view())?;
        stats.bonds_held = add(stats.bonds_held, bond);
        ctx.put(K_STATS, &stats)?;
        ctx.emit(&CheckEvent::Committed {
            job_id: c.job_id,
            replica,
            bond,
        });
        Self::update_phase(ctx, &mut check);
        Self::save(ctx, &check, old)
    }

    fn reveal(&self, ctx: &mut Ctx<'_>, r: Reveal) -> Result<(), ContractError> {
        Self::no_payment(ctx)?;
        let mut check = Self::load(&ctx.view(), r.job_id)?;
        let old = Self::deadline(&check);
        if check.phase != CheckPhase::Reveal {
            return Err(CheckError::WrongPhase {
                job_id: r.job_id,
                phase: check.phase,
                action: "reveal (reveals open once every replica committed or the commit deadline passed)",
            }
            .into());
        }
        let caller = ctx.invocator();
        let i = Self::my_seat(&check, &caller)?;
        let now = ctx.tick();
        let passes = match r.vote {
            Vote::Reproduced { result_hash } => Some(result_hash == check.job.result_hash),
            Vote::Scored { agreement_bps } => {
                if agreement_bps > crate::rules::BPS {
                    return Err(CheckError::InvalidVote(format!(
                        "agreement {agreement_bps} bps is over 10000"
                    ))
                    .into());
                }
                Some(agreement_bps >= self.config.pass_bps(check.job.temperature_milli))
            }
            Vote::Unable => None,
        };
        let seat = &mut check.seats[i];
        if seat.state != SeatState::Committed {
            return Err(CheckError::AlreadyDone.into());
        }
        if now > seat.reveal_by {
            return Err(CheckError::Late {
                deadline: seat.reveal_by,
            }
            .into());
        }
        if seat.commitment != Some(commitment(&r.vote, &r.salt, &caller, r.job_id)) {
            return Err(CheckError::CommitMismatch.into());
        }
        seat.state = SeatState::Revealed;
        seat.vote = Some(r.vote);
        seat.passes = passes;
        let replica = seat.replica;
        ctx.remove_key(&seat_key(&caller, r.job_id.0))?;
        ctx.emit(&CheckEvent::Revealed {
            job_id: r.job_id,
            replica,
            vote: r.vote,
            passes,
        });
        self.try_decide(ctx, &mut check)?;
        Self::save(ctx, &check, old)
    }

    /// Handles the seats of one check whose deadline passed.
    fn on_deadline(&self, ctx: &mut Ctx<'_>, mut check: Check) -> Result<(), ContractError> {
        let old = Self::deadline(&check);
        let now = ctx.tick();
        let mut replace = 0usize;
        for s in check.seats.iter_mut() {
            if s.round != check.round {
                continue;
            }
            let missed = match s.state {
                SeatState::Assigned if now > s.commit_by => Some(false),
                SeatState::Committed if now > s.reveal_by => Some(true),
                _ => None,
            };
            if let Some(committed) = missed {
                s.state = SeatState::Silent;
                ctx.remove_key(&seat_key(&s.replica.0, s.job_id.0))?;
                ctx.emit(&CheckEvent::ReplicaSilent {
                    job_id: s.job_id,
                    replica: s.replica,
                    bond_lost: s.bond,
                    committed,
                });
                if !s.replacement {
                    replace += 1;
                }
            }
        }
        if replace > 0 {
            let replicas = self.draw_replicas(ctx, &check, replace, 1)?;
            self.add_seats(ctx, &mut check, replicas, true)?;
        }
        self.try_decide(ctx, &mut check)?;
        Self::save(ctx, &check, old)
    }

    fn take_verdicts(&self, ctx: &mut Ctx<'_>, max: u16) -> Result<Vec<Verdict>, ContractError> {
        self.require_job_client(ctx, TAKE_VERDICTS.number())?;
        Self::no_payment(ctx)?;
        let (mut head, tail) = Self::queue(&ctx.view())?;
        let mut out = Vec::new();
        while head < tail && out.len() < usize::from(max) {
            let key = queue_key(head);
            let v: Verdict = ctx
                .view()
                .get(&key)?
                .ok_or_else(|| corrupt(&key, "missing queued verdict"))?;
            ctx.delete(&key)?;
            out.push(v);
            head += 1;
        }
        ctx.put(K_QUEUE, &(head, tail))?;
        Ok(out)
    }

    fn force(&self, ctx: &mut Ctx<'_>, f: Force) -> Result<Verdict, ContractError> {
        self.require_job_client(ctx, FORCE.number())?;
        Self::no_payment(ctx)?;
        let mut check = Self::load(&ctx.view(), f.job_id)?;
        let old = Self::deadline(&check);
        if !matches!(check.phase, CheckPhase::Commit | CheckPhase::Reveal) {
            return Err(CheckError::WrongPhase {
                job_id: f.job_id,
                phase: check.phase,
                action: "force a verdict",
            }
            .into());
        }
        let kind = if f.passed {
            VerdictKind::Passed
        } else {
            VerdictKind::Failed
        };
        self.decide(ctx, &mut check, kind, true, 0, 0)?;
        Self::save(ctx, &check, old)?;
        Ok(Verdict {
            job_id: f.job_id,
            kind,
            forced: true,
        })
    }

    fn pay(ctx: &mut Ctx<'_>, to: &Identity, amount: Amount) -> Result<(), ContractError> {
        if amount > Amount::ZERO {
            ctx.transfer(to, amount)?;
        }
        Ok(())
    }

    fn repute(ctx: &mut Ctx<'_>, worker: WorkerId, delta: i32) -> Result<(), ContractError> {
        if delta != 0 {
            let _: u16 = ctx.call(REPUTE, &Repute { worker, delta }, Amount::ZERO)?;
        }
        Ok(())
    }

    fn settle(&self, ctx: &mut Ctx<'_>, s: Settle) -> Result<Settlement, ContractError> {
        self.require_job_client(ctx, SETTLE.number())?;
        Self::no_payment(ctx)?;
        let mut check = Self::load(&ctx.view(), s.job_id)?;
        if check.phase != CheckPhase::Decided {
            return Err(CheckError::WrongPhase {
                job_id: s.job_id,
                phase: check.phase,
                action: "settle",
            }
            .into());
        }
        let key = check_key(s.job_id.0);
        let verdict = check
            .verdict
            .ok_or_else(|| corrupt(&key, "decided check without verdict"))?;
        let c = &self.config;
        let mut stats = Self::stats(&ctx.view())?;
        let mut out = Settlement::default();
        // The pool: what this contract holds beyond the bonds and the slash just received.
        let balance = ctx.view().balance(&ctx.self_id());
        let mut pool = Amount((balance.0 - stats.bonds_held.0 - s.slashed.0).max(0));
        let decisive = matches!(verdict, VerdictKind::Passed | VerdictKind::Failed);
        let winning = verdict == VerdictKind::Passed;
        let per_reward = share(check.job.payment, c.replica_reward_bps);
        let mut majority: Vec<WorkerId> = Vec::new();
        let mut bonds_back = Amount::ZERO;
        for seat in &check.seats {
            let mut rec = Self::record(&ctx.view(), &seat.replica.0)?;
            rec.seats += 1;
            let in_round = seat.round == check.round;
            let outvoted = decisive && in_round && seat.passes == Some(!winning);
            let with_majority = decisive && in_round && seat.passes == Some(winning);
            let mut rep = 0i32;
            match seat.state {
                SeatState::Silent => {
                    rec.silent += 1;
                    rec.bonds_lost = add(rec.bonds_lost, seat.bond);
                    out.bonds_forfeited = add(out.bonds_forfeited, seat.bond);
                    if !check.forced {
                        rep = -i32::from(c.replica_reputation_loss);
                    }
                }
                SeatState::Revealed if outvoted && !check.forced => {
                    rec.outvoted += 1;
                    rec.bonds_lost = add(rec.bonds_lost, seat.bond);
                    out.bonds_forfeited = add(out.bonds_forfeited, seat.bond);
                    rep = -i32::from(c.replica_reputation_loss);
                }
                _ => {
                    // Revealed with the majority, abstained, an earlier round, or the check
                    // was forced before it could answer: the bond comes back.
                    Self::pay(ctx, &seat.replica.0, seat.bond)?;
                    bonds_back = add(bonds_back, seat.bond);
                    if seat.state == SeatState::Revealed && seat.passes.is_some() && !check.forced {
                        let r = per_reward.min(pool);
                        pool = Amount(pool.0 - r.0);
                        Self::pay(ctx, &seat.replica.0, r)?;
                        out.rewards = add(out.rewards, r);
                        rec.earned = add(rec.earned, r);
                    }
                    if with_majority && !check.forced {
                        rec.with_majority += 1;
                        majority.push(seat.replica);
                        rep = i32::from(c.replica_reputation_gain);
                    }
                }
            }
            ctx.put(&record_key(&seat.replica.0), &rec)?;
            Self::repute(ctx, seat.replica, rep)?;
        }
        let mut burn = Amount::ZERO;
        // Splits `amount` equally among the majority replicas; the remainder burns.
        let split = |ctx: &mut Ctx<'_>,
                     amount: Amount,
                     out_field: &mut Amount,
                     burn: &mut Amount|
         -> Result<(), ContractError> {
            if amount <= Amount::ZERO {
                return Ok(());
            }
            if majority.is_empty() {
                *burn = add(*burn, amount);
                return Ok(());
            }
            let n = i64::try_from(majority.len()).unwrap_or(i64::MAX);
            let each = Amount(amount.0 / n);
            for r in &majority {
                Self::pay(ctx, &r.0, each)?;
                let mut rec = Self::record(&ctx.view(), &r.0)?;
                rec.earned = add(rec.earned, each);
                ctx.put(&record_key(&r.0), &rec)?;
            }
            *out_field = add(*out_field, Amount(each.0 * n));
            *burn = add(*burn, Amount(amount.0 - each.0 * n));
            Ok(())
        };
        if verdict == VerdictKind::Failed && s.slashed > Amount::ZERO {
            stats.slashes_received = add(stats.slashes_received, s.slashed);
            let to_replicas = share(s.slashed, c.slash_replicas_bps);
            let to_challenger = share(s.slashed, c.slash_challenger_bps);
            let to_requester = share(s.slashed, c.slash_requester_bps);
            let mut rest = s.slashed.0 - to_replicas.0 - to_challenger.0 - to_requester.0;
            let mut to_reps = Amount::ZERO;
            split(ctx, to_replicas, &mut to_reps, &mut burn)?;
            match check.job.challenger {
                Some(ch) => {
                    Self::pay(ctx, &ch, to_challenger)?;
                    out.to_challenger = to_challenger;
                }
                None => split(ctx, to_challenger, &mut to_reps, &mut burn)?,
            }
            Self::pay(ctx, &check.job.requester, to_requester)?;
            out.to_requester = to_requester;
            out.to_replicas = to_reps;
            rest = rest.max(0);
            burn = add(burn, Amount(rest));
        }
        // The challenger's bond: lost when the result stood, back otherwise.
        if let Some(ch) = check.job.challenger {
            let bond = check.challenger_bond;
            if verdict == VerdictKind::Passed {
                let half = Amount(bond.0 / 2);
                let mut to_reps = Amount::ZERO;
                split(ctx, half, &mut to_reps, &mut burn)?;
                out.to_replicas = add(out.to_replicas, to_reps);
                let worker_part = Amount(bond.0 - half.0);
                Self::pay(ctx, &check.job.worker.0, worker_part)?;
                out.bond_to_worker = worker_part;
            } else {
                Self::pay(ctx, &ch, bond)?;
            }
        }
        if burn > Amount::ZERO {
            ctx.burn(burn)?;
        }
        out.burned = burn;
        // The checked worker's record.
        let mut rec = Self::record(&ctx.view(), &check.job.worker.0)?;
        match verdict {
            VerdictKind::Passed => {
                rec.passed += 1;
                rec.streak = rec.streak.saturating_add(1);
            }
            VerdictKind::Failed => {
                rec.failed += 1;
                rec.streak = 0;
            }
            _ => rec.inconclusive += 1,
        }
        ctx.put(&record_key(&check.job.worker.0), &rec)?;
        let held_before = stats.bonds_held;
        let released = add(add(bonds_back, out.bonds_forfeited), check.challenger_bond);
        stats.bonds_held = Amount((held_before.0 - released.0).max(0));
        stats.rewards_paid = add(stats.rewards_paid, out.rewards);
        stats.burned = add(stats.burned, burn);
        ctx.put(K_STATS, &stats)?;
        check.phase = CheckPhase::Settled;
        check.settlement = Some(out.clone());
        ctx.put(&key, &check)?;
        ctx.emit(&CheckEvent::Settled {
            job_id: s.job_id,
            verdict,
            settlement: out.clone(),
        });
        Ok(out)
    }

    fn process_deadlines(&self, ctx: &mut Ctx<'_>) -> Result<(), ContractError> {
        let now = ctx.tick();
        let upper = KeyBuf::table(T_DEADLINE).u32(now.0).u64(u64::MAX);
        let due = ctx.view().range(
            Bound::Included(&[T_DEADLINE][..]),
            Bound::Included(&upper[..]),
            self.config.max_deadlines_per_tick as usize,
            false,
        );
        for key in due {
            let id = key_u64(&key, 5).ok_or_else(|| corrupt(&key, "short deadline key"))?;
            let check = Self::load(&ctx.view(), JobId(id))?;
            let tick = key_u32(&key, 1).ok_or_else(|| corrupt(&key, "short deadline key"))?;
            if Self::deadline(&check) != Some(Tick(tick)) {
                // Invariant: a check's deadline entry matches its seats; drop a stray one.
                ctx.remove_key(&key)?;
                continue;
            }
            self.on_deadline(ctx, check)?;
        }
        Ok(())
    }

    fn assignments(view: &View<'_>, w: &WorkerId) -> Result<Vec<Seat>, ContractError> {
        let prefix = KeyBuf::table(T_SEAT).bytes32(&w.0 .0);
        let mut out = Vec::new();
        for key in view.keys_with_prefix(&prefix, None, usize::from(crate::rules::MAX_PAGE)) {
            let id = key_u64(&key, 33).ok_or_else(|| corrupt(&key, "short seat key"))?;
            let check = Self::load(view, JobId(id))?;
            if let Some(s) = check.seats.iter().find(|s| {
                s.round == check.round
                    && s.replica == *w
                    && matches!(s.state, SeatState::Assigned | SeatState::Committed)
            }) {
                out.push(s.clone());
            }
        }
        Ok(out)
    }
}

impl Contract for Verification {
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
            .on(OPEN_CHECK, |ctx, o| self.open_check(ctx, o))
            .on(COMMIT, |ctx, c| self.commit(ctx, c))
            .on(REVEAL, |ctx, r| self.reveal(ctx, r))
            .on(TAKE_VERDICTS, |ctx, n| self.take_verdicts(ctx, n))
            .on(SETTLE, |ctx, s| self.settle(ctx, s))
            .on(FORCE, |ctx, f| self.force(ctx, f))
            .done()
    }
    fn function(&self, view: &View<'_>, input_type: u16, input: &[u8]) -> Output {
        dispatch_function(view, input_type, input)
            .on(GET_CHECK, |view, r| {
                view.get::<Check>(&check_key(r.job_id.0))
            })
            .on(WORKER_CHECKS, |view, w| Self::record(view, &w.0))
            .on(ASSIGNMENTS, |view, w| Self::assignments(view, &w))
            .on(RATE, |view, q| {
                let streak = Self::record(view, &q.worker.0)?.streak;
                Ok(self.config.rate_ppm(q.payment, q.stake_at_risk, streak))
            })
            .on(STATS, |view, ()| Self::stats(view))
            .on(CHALLENGE_BOND, |_, p| Ok(self.config.challenge_bond(p)))
            .on(SETTINGS, |_, ()| Ok(self.config.clone()))
            .on(PENDING_VERDICTS, |view, ()| {
                let (head, tail) = Self::queue(view)?;
                Ok(tail - head)
            })
            .done()
    }
    fn end_tick(&self, ctx: &mut Ctx<'_>) -> Result<(), ContractError> {
        let now = ctx.tick();
        let first_due = ctx
            .view()
            .first_with_prefix_map(&[T_DEADLINE], |k| key_u32(k, 1))
            .flatten();
        if first_due.is_some_and(|t| t <= now.0) {
            self.process_deadlines(ctx)?;
        }
        Ok(())
    }
    fn has_begin_tick(&self) -> bool {
        false
    }
    fn epoch_work(&self, _view: &View<'_>) -> bool {
        false
    }
    fn next_tick_work(&self, view: &View<'_>) -> TickWork {
        match view
            .first_with_prefix_map(&[T_DEADLINE], |k| key_u32(k, 1))
            .flatten()
        {
            Some(t) => TickWork::At(Tick(t)),
            None => TickWork::Idle,
        }
    }
}

/// The contract's id, for the escrow's fee payments.
pub fn id() -> Identity {
    Identity::contract(INDEX)
}

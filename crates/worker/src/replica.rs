//! The daemon's replica seats: when the verification contract seats this worker on a check
//! of another worker's result, the daemon works out a vote, commits to it with the genesis
//! bond, and reveals it once the check's reveals open. Nobody has to run anything by hand.
//!
//! ## One seat, start to end
//! 1. **Noticed.** The seats still to commit or reveal are read from the chain
//!    (`ASSIGNMENTS`) every [`WorkerConfig::scan_interval`](crate::WorkerConfig::scan_interval),
//!    and at once when the event feed says `ReplicaAssigned` for this worker. Polling means a
//!    restarted daemon finds its seats again.
//! 2. **The vote.** The job, its prompt (checked against its hash) and its posted result are
//!    read. The request is the one the serving path builds
//!    ([`comqute_inference::job::request_for_job`]: same model name, max tokens, seed,
//!    temperature). When the backend replays exactly and the runtime it would run the request
//!    on ([`Backend::replay_runtime`]) has the posted fingerprint, the job is re-run and the
//!    vote is [`Vote::Reproduced`] with blake3 of the output's bytes (the hash the serving
//!    path posts: [`Hash32::of`], what the node's blob store computes). Otherwise, with a
//!    [`Scorer`], the claimed output is fetched (hash-checked) and scored:
//!    [`Vote::Scored`]. Without a scorer, or when the job cannot be read or re-run:
//!    [`Vote::Unable`] (an abstention: better than a guess, and better than silence, which
//!    costs the bond and reputation).
//! 3. **Commit** with the genesis `replica_bond` (read once from `SETTINGS`), then **reveal**
//!    once the check's phase is `Reveal` and the seat is still `Committed`. Both are retried
//!    while the node does not answer ([`SdkError::is_transient`]) and read back after a
//!    failure, so an operation whose answer was lost is not taken for a failure.
//!
//! ## The salt and the vote across a restart
//! The salt is derived, not random: `blake3("comqute replica salt" ‖ the key's secret ‖ job
//! id)`, so a restarted daemon can still open its commitment. The vote is kept in memory and
//! written, before the commit is sent, to a votes file next to the daemon's lock file
//! (`KEYFILE.votes` for `KEYFILE.lock`; one `JOB VOTE` line per seat, dropped once revealed).
//! A daemon without a lock file, or whose votes file is gone, works the vote out again (the
//! re-run is deterministic) and reveals it only if it opens the commitment on chain.
//!
//! ## Replica runs and paid jobs
//! A re-run or a scoring is work like a job: it takes one of the daemon's
//! [`WorkerConfig::concurrency`](crate::WorkerConfig::concurrency) slots, shared with the
//! jobs it serves, so the backend never runs more than `max_concurrent` things at once (what
//! the worker declared on chain). A seat waits for a free slot; it never preempts a paid job,
//! and a paid job offered while every slot is busy is picked up by the next scan once one
//! frees (at most one replica run later). Commits, reveals and chain reads take no slot.
//!
//! ## Stopping
//! At a drain the daemon signs off (the chain draws no new seats for an offline worker) and
//! keeps serving the seats it holds until they are revealed or the grace period ends.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use comqute_inference::{Backend, TokenSink};
use comqute_sdk::contracts::job_registry::Job;
use comqute_sdk::contracts::verification::{
    commitment, CheckEvent, CheckPhase, Seat, SeatState, VerdictKind, Vote,
};
use comqute_sdk::contracts::JobId;
use comqute_sdk::{Amount, Hash32, Keypair, SdkError};
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;
use tracing::{debug, info, warn};

use crate::daemon::{backoff_for, retry_sdk, Shared, Stop};
use crate::WorkerError;

/// Teacher-forced scoring of a claimed output (the built-in runtime's `BuiltinModel::score`
/// behind [`BuiltinScorer`]): the share of the claimed output's tokens inside the scoring
/// model's top `top_k`, in basis points (0..=10,000). Called on a blocking thread.
pub trait Scorer: Send + Sync {
    /// Scores `claimed` as the answer to `req` (the request the serving path builds for the
    /// job: its model, prompt and sampling). `None` when this scorer has no model for
    /// `req.model` (the replica then abstains).
    fn score(
        &self,
        req: &comqute_inference::backend::GenerateRequest,
        claimed: &str,
        top_k: u32,
    ) -> Result<Option<u16>, WorkerError>;
}

/// The built-in runtime's scorer: the model the built-in runtime knows by the job's model
/// name (Gemma 3 270M), loaded from its installed file on first use (a worker on Ollama
/// pays the memory only once it scores). A claim the model cannot take (too long for its
/// context, token ids outside its vocabulary) scores 0; only a failure of the scorer itself
/// is an error.
#[derive(Debug, Default)]
pub struct BuiltinScorer {
    gguf: Option<std::path::PathBuf>,
    threads: Option<usize>,
    model: std::sync::OnceLock<Result<Arc<comqute_inference::builtin::BuiltinModel>, String>>,
}

impl BuiltinScorer {
    /// A scorer loading the installed model (or `gguf`) with `threads` on first use.
    pub fn new(gguf: Option<std::path::PathBuf>, threads: Option<usize>) -> Self {
        BuiltinScorer {
            gguf,
            threads,
            model: std::sync::OnceLock::new(),
        }
    }

    /// Whether the built-in model for `model` is installed on this machine (so scoring can
    /// run without a download).
    pub fn available_for(model: &str) -> bool {
        comqute_inference::install::find_model(model)
            .ok()
            .and_then(comqute_inference::install::installed_path)
            .is_some()
    }
}

impl Scorer for BuiltinScorer {
    fn score(
        &self,
        req: &comqute_inference::backend::GenerateRequest,
        claimed: &str,
        top_k: u32,
    ) -> Result<Option<u16>, WorkerError> {
        use comqute_inference::builtin::score::ScoreRequest;
        let Ok(spec) = comqute_inference::install::find_model(&req.model) else {
            return Ok(None);
        };
        let model = self.model.get_or_init(|| {
            crate::backend::load_builtin(spec.name, self.gguf.as_deref(), self.threads)
                .map(Arc::new)
                .map_err(|e| e.describe())
        });
        let model = model
            .as_ref()
            .map_err(|e| WorkerError::Scoring(e.clone()))?;
        let mut sr = ScoreRequest::for_backend_request(req, claimed);
        sr.top_k = top_k.max(1);
        match model.score(&sr) {
            Ok(r) => Ok(Some(r.agreement_bps)),
            Err(e) if e.is_claim_fault() => Ok(Some(0)),
            Err(e) => Err(WorkerError::Scoring(e.to_string())),
        }
    }
}

impl std::fmt::Debug for dyn Scorer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Scorer")
    }
}

/// What the replica side of a daemon keeps between scans and events.
pub(crate) struct ReplicaState {
    /// Votes worked out and not revealed yet, by job.
    votes: Mutex<BTreeMap<u64, Vote>>,
    /// The votes file (see the module docs).
    file: Option<PathBuf>,
    /// What this worker's revealed votes meant (pass, fail, abstain), until the verdict.
    revealed: Mutex<BTreeMap<u64, Option<bool>>>,
    /// Woken when the event feed seats this worker.
    wake: Notify,
}

impl ReplicaState {
    /// The state, with the votes a previous daemon left in `file`.
    pub(crate) fn new(file: Option<PathBuf>) -> ReplicaState {
        let votes = file.as_deref().map(read_votes).unwrap_or_default();
        if !votes.is_empty() {
            info!(
                seats = votes.len(),
                "replica votes from the last run, to reveal"
            );
        }
        ReplicaState {
            votes: Mutex::new(votes),
            file,
            revealed: Mutex::new(BTreeMap::new()),
            wake: Notify::new(),
        }
    }

    fn vote(&self, job: u64) -> Option<Vote> {
        self.votes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&job)
            .copied()
    }

    fn remembered(&self) -> Vec<u64> {
        let v = self.votes.lock().unwrap_or_else(|p| p.into_inner());
        v.keys().copied().collect()
    }

    /// Remembers `vote` for `job`, in memory and in the votes file.
    fn remember(&self, job: u64, vote: Vote) {
        let mut v = self.votes.lock().unwrap_or_else(|p| p.into_inner());
        v.insert(job, vote);
        self.save(&v);
    }

    /// Forgets the vote for `job` (revealed, or the seat is gone).
    fn forget(&self, job: u64) {
        let mut v = self.votes.lock().unwrap_or_else(|p| p.into_inner());
        if v.remove(&job).is_some() {
            self.save(&v);
        }
    }

    fn save(&self, votes: &BTreeMap<u64, Vote>) {
        let Some(path) = &self.file else { return };
        let text: String = votes
            .iter()
            .map(|(job, v)| format!("{job} {}\n", encode_vote(v)))
            .collect();
        // Written whole and renamed, so a crash leaves the old file or the new one.
        let tmp = path.with_extension("votes.tmp");
        let r = std::fs::write(&tmp, text).and_then(|()| std::fs::rename(&tmp, path));
        if let Err(e) = r {
            warn!(path = %path.display(), %e, "could not save the replica votes (a restart works them out again)");
        }
    }
}

/// The votes file beside a lock file: `KEYFILE.votes` for `KEYFILE.lock`.
pub(crate) fn votes_file(lock: &Path) -> PathBuf {
    lock.with_extension("votes")
}

fn read_votes(path: &Path) -> BTreeMap<u64, Vote> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return BTreeMap::new();
    };
    text.lines()
        .filter_map(|l| {
            let (job, vote) = l.trim().split_once(' ')?;
            Some((job.parse().ok()?, decode_vote(vote)?))
        })
        .collect()
}

/// A vote on one line: `reproduced:HASH`, `scored:BPS` or `unable`.
fn encode_vote(v: &Vote) -> String {
    match v {
        Vote::Reproduced { result_hash } => format!("reproduced:{result_hash}"),
        Vote::Scored { agreement_bps } => format!("scored:{agreement_bps}"),
        Vote::Unable => "unable".into(),
    }
}

fn decode_vote(s: &str) -> Option<Vote> {
    match s.trim().split_once(':') {
        Some(("reproduced", h)) => Some(Vote::Reproduced {
            result_hash: h.parse().ok()?,
        }),
        Some(("scored", b)) => Some(Vote::Scored {
            agreement_bps: b.parse().ok()?,
        }),
        None if s.trim() == "unable" => Some(Vote::Unable),
        _ => None,
    }
}

/// The salt of this worker's commitment on `job`: derived from the key's secret, so a
/// restarted daemon can open its commitment. Never logged.
pub(crate) fn salt(key: &Keypair, job: u64) -> Hash32 {
    const TAG: &[u8] = b"comqute replica salt";
    let mut buf = [0u8; TAG.len() + 32 + 8];
    buf[..TAG.len()].copy_from_slice(TAG);
    buf[TAG.len()..TAG.len() + 32].copy_from_slice(&key.secret_bytes());
    buf[TAG.len() + 32..].copy_from_slice(&job.to_le_bytes());
    let h = Hash32::of(&buf);
    buf.fill(0);
    h
}

/// How a vote was reached, for the log.
fn mode(v: &Vote) -> &'static str {
    match v {
        Vote::Reproduced { .. } => "re-run on the same runtime",
        Vote::Scored { .. } => "scored (teacher forcing)",
        Vote::Unable => "abstained",
    }
}

/// What the daemon's event listener hands over: logs what happened to this worker's seats
/// and wakes the seat task when a new one is drawn.
pub(crate) fn on_event(sh: &Shared, ev: &CheckEvent) {
    let me = sh.me;
    let st = &sh.replica;
    match ev {
        CheckEvent::ReplicaAssigned { replica, .. } if replica.0 == me => st.wake.notify_one(),
        // Reveals opened on a check this worker voted on: reveal now.
        CheckEvent::RevealsOpen { job_id, .. } if st.vote(job_id.0).is_some() => {
            st.wake.notify_one()
        }
        CheckEvent::Revealed {
            job_id,
            replica,
            passes,
            ..
        } if replica.0 == me => {
            st.revealed
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(job_id.0, *passes);
        }
        CheckEvent::ReplicaSilent {
            job_id,
            replica,
            bond_lost,
            committed,
        } if replica.0 == me => {
            let missed = if *committed { "reveal" } else { "commit" };
            warn!(job = %job_id, %bond_lost, "replica seat went SILENT: missed its {missed} deadline (bond and reputation lost)");
        }
        CheckEvent::Decided {
            job_id,
            verdict,
            passes,
            fails,
            ..
        } => {
            let mine = st
                .revealed
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&job_id.0);
            let Some(voted) = mine else { return };
            let outvoted = matches!(
                (verdict, voted),
                (VerdictKind::Passed, Some(false)) | (VerdictKind::Failed, Some(true))
            );
            if outvoted {
                warn!(job = %job_id, verdict = verdict.name(), passes, fails, "replica OUTVOTED: the majority found otherwise (bond and reputation lost)");
            } else {
                info!(job = %job_id, verdict = verdict.name(), passes, fails, "check decided");
            }
        }
        _ => {}
    }
}

/// Serves this worker's replica seats until `stop` says to stop and no seat is left to
/// commit or reveal (the daemon bounds that by its grace period), or at [`Stop::Abort`].
pub(crate) async fn serve_seats(
    sh: Arc<Shared>,
    scorer: Option<Arc<dyn Scorer>>,
    scan: Duration,
    mut stop: watch::Receiver<Stop>,
) {
    // Each task ends with its job, round and whether the seat is worth another try.
    let mut working: JoinSet<(u64, u8, bool)> = JoinSet::new();
    let mut busy: BTreeSet<u64> = BTreeSet::new();
    // Seats refused for good (a late commit, a vote that does not open the commitment):
    // not tried again; the chain marks them silent.
    let mut given_up: BTreeSet<(u64, u8)> = BTreeSet::new();
    let mut taken: BTreeSet<(u64, u8)> = BTreeSet::new();
    let mut bond: Option<Amount> = None;
    let mut every = tokio::time::interval(scan);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut stop_open = true;
    loop {
        let state = *stop.borrow();
        if state == Stop::Abort {
            working.abort_all();
            return;
        }
        let verification = sh.client.verification();
        match verification.assignments(&sh.me).await {
            Ok(seats) => {
                if state == Stop::Drain && seats.is_empty() && working.is_empty() {
                    return;
                }
                // Votes of seats that are gone (revealed, silent, decided) are not needed.
                for job in sh.replica.remembered() {
                    if !busy.contains(&job) && !seats.iter().any(|s| s.job_id.0 == job) {
                        sh.replica.forget(job);
                    }
                }
                for seat in seats {
                    let (id, round) = (seat.job_id.0, seat.round);
                    if busy.contains(&id) || given_up.contains(&(id, seat.round)) {
                        continue;
                    }
                    match seat.state {
                        SeatState::Assigned => {
                            if taken.insert((id, seat.round)) {
                                info!(
                                    job = id,
                                    round = seat.round,
                                    commit_by = seat.commit_by.0,
                                    reveal_by = seat.reveal_by.0,
                                    "replica seat taken"
                                );
                            }
                            let b = match bond {
                                Some(b) => b,
                                None => match verification.settings().await {
                                    Ok(s) => *bond.insert(s.replica_bond),
                                    Err(e) => {
                                        debug!(%e, "reading the replica bond");
                                        continue;
                                    }
                                },
                            };
                            busy.insert(id);
                            let (sh, scorer) = (sh.clone(), scorer.clone());
                            working.spawn(async move {
                                let again = commit_seat(&sh, scorer, &seat, b).await;
                                (id, round, again)
                            });
                        }
                        SeatState::Committed => {
                            busy.insert(id);
                            let (sh, scorer) = (sh.clone(), scorer.clone());
                            working.spawn(async move {
                                let again = reveal_seat(&sh, scorer, &seat).await;
                                (id, round, again)
                            });
                        }
                        SeatState::Revealed | SeatState::Silent => {}
                    }
                }
            }
            Err(e) => debug!(%e, "reading the replica seats"),
        }
        tokio::select! {
            _ = every.tick() => {}
            _ = sh.replica.wake.notified() => {}
            Some(r) = working.join_next() => finished(r, &mut busy, &mut given_up),
            r = stop.changed(), if stop_open => {
                if r.is_err() { stop_open = false; }
            }
        }
        while let Some(r) = working.try_join_next() {
            finished(r, &mut busy, &mut given_up);
        }
    }
}

/// Books a finished seat task: its job is free again, or its seat given up for good.
fn finished(
    r: Result<(u64, u8, bool), tokio::task::JoinError>,
    busy: &mut BTreeSet<u64>,
    given_up: &mut BTreeSet<(u64, u8)>,
) {
    match r {
        Ok((id, round, again)) => {
            busy.remove(&id);
            if !again {
                given_up.insert((id, round));
            }
        }
        Err(e) => warn!("a replica seat task ended abnormally: {e}"),
    }
}

/// Works the vote out (or takes the one remembered), remembers it, and commits to it.
/// `false`: the commit was refused for good (the seat is not tried again).
async fn commit_seat(
    sh: &Shared,
    scorer: Option<Arc<dyn Scorer>>,
    seat: &Seat,
    bond: Amount,
) -> bool {
    let id = seat.job_id.0;
    let vote = match sh.replica.vote(id) {
        Some(v) => v,
        None => {
            let v = work_out_vote(sh, scorer, id).await;
            info!(job = id, vote = %encode_vote(&v), mode = mode(&v), "replica vote");
            v
        }
    };
    // Remembered before the commit goes out: a crash after it can still reveal.
    sh.replica.remember(id, vote);
    let s = salt(&sh.key, id);
    let verification = sh.client.verification();
    let r = retry_sdk("replica commit", sh.patience, sh.backoff, || {
        verification.commit(&sh.key, id, &vote, &s, bond)
    })
    .await;
    match r {
        Ok(_) => info!(job = id, %bond, "replica committed"),
        Err(e) => match my_seat(sh, id).await {
            Some(seat) if seat.state != SeatState::Assigned => {
                info!(job = id, %bond, "replica committed (the answer was lost)")
            }
            _ if e.is_transient() => {
                warn!(job = id, %e, "replica commit: the node does not answer; trying again");
            }
            _ => {
                warn!(job = id, %e, "replica commit refused; the seat will go silent");
                return false;
            }
        },
    }
    true
}

/// Reveals the vote committed to, once the check's reveals are open. `false`: it cannot be
/// revealed (the seat is not tried again).
async fn reveal_seat(sh: &Shared, scorer: Option<Arc<dyn Scorer>>, seat: &Seat) -> bool {
    let id = seat.job_id.0;
    let verification = sh.client.verification();
    match verification.check(id).await {
        Ok(Some(c)) if c.phase == CheckPhase::Reveal => {}
        Ok(_) => return true,
        Err(e) => {
            debug!(job = id, %e, "reading the check");
            return true;
        }
    }
    let s = salt(&sh.key, id);
    let opens = |v: &Vote| seat.commitment == Some(commitment(v, &s, &sh.me, JobId(id)));
    let vote = match sh.replica.vote(id).filter(opens) {
        Some(v) => v,
        None => {
            // Restarted without the votes file: the same work gives the same vote.
            info!(
                job = id,
                "working the committed vote out again (not remembered)"
            );
            let v = work_out_vote(sh, scorer, id).await;
            if !opens(&v) {
                warn!(job = id, "the vote worked out again does not open the commitment: the seat cannot reveal and will go silent");
                return false;
            }
            sh.replica.remember(id, v);
            v
        }
    };
    let r = retry_sdk("replica reveal", sh.patience, sh.backoff, || {
        verification.reveal(&sh.key, id, vote, s)
    })
    .await;
    match r {
        Ok(_) => {}
        Err(e) => match my_seat(sh, id).await {
            Some(seat) if seat.state == SeatState::Revealed => {}
            _ if e.is_transient() => {
                warn!(job = id, %e, "replica reveal: the node does not answer; trying again");
                return true;
            }
            _ => {
                warn!(job = id, %e, "replica reveal refused; the seat will go silent");
                return false;
            }
        },
    }
    info!(job = id, vote = %encode_vote(&vote), mode = mode(&vote), "replica revealed");
    sh.replica.forget(id);
    true
}

/// This worker's seat in the current round of job `id`'s check.
async fn my_seat(sh: &Shared, id: u64) -> Option<Seat> {
    let c = sh.client.verification().check(id).await.ok()??;
    let round = c.round;
    c.seats
        .into_iter()
        .find(|s| s.round == round && s.replica.0 == sh.me)
}

/// The vote on job `id`'s posted result (see the module docs); [`Vote::Unable`] when the
/// job, its prompt or its output cannot be had, or nothing here can check it.
async fn work_out_vote(sh: &Shared, scorer: Option<Arc<dyn Scorer>>, id: u64) -> Vote {
    match try_vote(sh, scorer, id).await {
        Ok(v) => v,
        Err(why) => {
            warn!(
                job = id,
                "replica cannot check the result: {why}; abstaining"
            );
            Vote::Unable
        }
    }
}

async fn try_vote(sh: &Shared, scorer: Option<Arc<dyn Scorer>>, id: u64) -> Result<Vote, String> {
    let job: Job = sh
        .job(id)
        .await
        .map_err(|e| format!("reading the job: {e}"))?
        .ok_or("no such job")?;
    let posted = job.result.ok_or("the job has no result")?;
    let model = sh
        .model_name(&job.spec.model)
        .ok_or_else(|| format!("model {} is not served here", job.spec.model))?;
    let prompt = fetch(sh, &job.spec.prompt_hash, "the prompt").await?;
    let req = comqute_inference::job::request_for_job(&job.spec, &model, &prompt)
        .map_err(|e| e.to_string())?;
    let exact = sh
        .backend
        .replay_runtime(&req)
        .is_some_and(|rt| rt.exact_replay && rt.fingerprint == posted.runtime);
    if exact {
        let _slot = sh
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| "the daemon is stopping")?;
        let g = generate(sh.backend.as_ref(), &req, sh.attempts, sh.backoff).await?;
        // The runtime that really ran must be the posted one (it was predicted to be).
        if g.runtime.fingerprint == posted.runtime {
            // The serving path posts the blob store's hash of these bytes: blake3.
            return Ok(Vote::Reproduced {
                result_hash: Hash32::of(g.text.as_bytes()),
            });
        }
        debug!(
            job = id,
            "the re-run reported another runtime than predicted"
        );
    }
    let Some(scorer) = scorer else {
        return Ok(Vote::Unable);
    };
    let claimed = fetch(sh, &posted.result_hash, "the claimed output").await?;
    std::str::from_utf8(&prompt).map_err(|_| "the prompt is not UTF-8")?;
    let Ok(claimed) = String::from_utf8(claimed) else {
        // Not text: no model produced it.
        return Ok(Vote::Scored { agreement_bps: 0 });
    };
    let _slot = sh
        .slots
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| "the daemon is stopping")?;
    let top_k = match sh.client.verification().settings().await {
        Ok(s) => s.score_top_k,
        Err(e) => return Err(format!("reading the scoring settings: {e}")),
    };
    let bps = tokio::task::spawn_blocking(move || scorer.score(&req, &claimed, top_k))
        .await
        .map_err(|e| format!("the scoring thread: {e}"))?
        .map_err(|e| format!("scoring: {}", e.describe()))?;
    Ok(match bps {
        Some(bps) => Vote::Scored {
            agreement_bps: bps.min(10_000),
        },
        None => Vote::Unable,
    })
}

/// A blob by hash (checked against it), retried while the node does not answer or does not
/// have it yet.
async fn fetch(sh: &Shared, hash: &Hash32, what: &str) -> Result<Vec<u8>, String> {
    let started = tokio::time::Instant::now();
    let mut attempt = 0;
    loop {
        match sh.client.get_blob(hash).await {
            Ok(b) => return Ok(b),
            Err(e)
                if (e.is_transient() || matches!(e, SdkError::NotFound(_)))
                    && started.elapsed() < sh.patience =>
            {
                tokio::time::sleep(backoff_for(sh.backoff, attempt)).await;
                attempt += 1;
            }
            Err(e) => return Err(format!("fetching {what}: {e}")),
        }
    }
}

/// Runs `req`, retrying transient backend failures `attempts` times in all.
async fn generate(
    backend: &dyn Backend,
    req: &comqute_inference::GenerateRequest,
    attempts: u32,
    backoff: Duration,
) -> Result<comqute_inference::Generation, String> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match backend.generate(req, TokenSink::discard()).await {
            Ok(g) => return Ok(g),
            Err(e) if e.is_transient() && attempt < attempts => {
                tokio::time::sleep(backoff_for(backoff, attempt - 1)).await;
            }
            Err(e) => return Err(format!("the re-run failed: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn votes_survive_their_file_format() {
        for v in [
            Vote::Reproduced {
                result_hash: Hash32::of(b"out"),
            },
            Vote::Scored {
                agreement_bps: 9_321,
            },
            Vote::Unable,
        ] {
            assert_eq!(decode_vote(&encode_vote(&v)), Some(v));
        }
        assert_eq!(decode_vote("scored:x"), None);
        assert_eq!(decode_vote("maybe"), None);
    }

    #[test]
    fn the_votes_file_is_kept_and_read_back() {
        let dir = std::env::temp_dir().join(format!("comqute-votes-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = votes_file(&dir.join("walt.json.lock"));
        assert_eq!(file, dir.join("walt.json.votes"));
        let st = ReplicaState::new(Some(file.clone()));
        st.remember(7, Vote::Unable);
        st.remember(9, Vote::Scored { agreement_bps: 1 });
        st.forget(7);
        let again = ReplicaState::new(Some(file));
        assert_eq!(again.vote(7), None);
        assert_eq!(again.vote(9), Some(Vote::Scored { agreement_bps: 1 }));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_salt_is_per_key_and_per_job() {
        let a = comqute_sdk::Seed::new(&"a".repeat(55)).unwrap().keypair();
        let b = comqute_sdk::Seed::new(&"b".repeat(55)).unwrap().keypair();
        assert_eq!(salt(&a, 1), salt(&a, 1));
        assert_ne!(salt(&a, 1), salt(&a, 2));
        assert_ne!(salt(&a, 1), salt(&b, 1));
    }
}

//! Invariant runs: random sequences of contract actions, invariants checked after every
//! tick, a failure shrunk to a minimal sequence and saved as a regression file that a plain
//! `cargo test` replays.
//!
//! Describe the system under test with an [`ActionModel`]: a genesis, a proptest strategy
//! for one action, how to apply an action (submit transactions for the next tick), and the
//! invariants. [`InvariantRunner::run`] plays `cases` random sequences of up to
//! `max_actions` actions; after each action it runs the ticks the action asks for, one by
//! one, checking every invariant after each. On a failure proptest shrinks the sequence;
//! the minimal one is written to `<dir>/<name>-<hash>.json` and its path is in the error.
//! [`replay_file`] plays a saved file again (the digests of every tick are recorded in it
//! and checked, so a replay that diverges says where).

use std::fmt::{self, Debug};
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::LedgerError;
use crate::ledger::Ledger;

/// An invariant: a name and a check that says what is wrong.
pub type Invariant = (&'static str, fn(&Ledger) -> Result<(), String>);

/// The system under test, as random actions.
pub trait ActionModel {
    /// One action (a contract call, a transfer, time passing…). Serialisable so a failing
    /// sequence can be saved.
    type Action: Clone + Debug + Serialize + DeserializeOwned + 'static;
    /// A fresh ledger at genesis.
    fn genesis(&self) -> Result<Ledger, LedgerError>;
    /// A strategy for one action.
    fn action(&self) -> BoxedStrategy<Self::Action>;
    /// Submits the action's transactions for the next tick; returns how many ticks to run
    /// after it (at least 1 is usual). Refusals by the ledger are part of the game: return
    /// `Ok` for them; return `Err` only when the model itself is broken.
    fn apply(&self, ledger: &mut Ledger, action: &Self::Action) -> Result<u32, LedgerError>;
    /// The invariants, checked after every tick.
    fn invariants(&self) -> Vec<Invariant>;
}

/// A failing sequence, as saved.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Regression<A> {
    /// The run's name.
    pub name: String,
    /// The invariant that failed and why.
    pub failure: String,
    /// The minimal sequence of actions.
    pub actions: Vec<A>,
    /// The tick digest after each processed tick, for a replay check.
    pub digests: Vec<String>,
}

/// Why an invariant run stopped.
#[derive(Debug)]
pub enum InvariantFailure {
    /// An invariant failed; the minimal sequence was saved (if a directory was set).
    Violated {
        /// The invariant and what it said.
        failure: String,
        /// The minimal sequence, rendered.
        minimal: String,
        /// Where it was saved.
        saved: Option<PathBuf>,
        /// Where the recording of the minimal run was saved (genesis and every input, see
        /// [`crate::record`]), when the model's genesis records.
        recording: Option<PathBuf>,
    },
    /// The model or the ledger refused to run at all.
    Setup(String),
}

impl fmt::Display for InvariantFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InvariantFailure::Violated {
                failure,
                minimal,
                saved,
                recording,
            } => {
                writeln!(f, "invariant violated: {failure}")?;
                writeln!(f, "minimal sequence: {minimal}")?;
                match saved {
                    Some(p) => write!(
                        f,
                        "saved to {} (a plain `cargo test` replays it)",
                        p.display()
                    ),
                    None => write!(f, "not saved (no regression directory set)"),
                }?;
                if let Some(p) = recording {
                    write!(
                        f,
                        "\nrecording of the run: {} (replay with `Recording::load(..)?.replay(contracts)`)",
                        p.display()
                    )?;
                }
                Ok(())
            }
            InvariantFailure::Setup(e) => write!(f, "invariant run could not start: {e}"),
        }
    }
}

impl std::error::Error for InvariantFailure {}

/// What a run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunStats {
    /// Sequences played.
    pub cases: u32,
    /// Actions applied in all.
    pub actions: u64,
    /// Ticks processed in all.
    pub ticks: u64,
}

/// Plays random action sequences against a model.
pub struct InvariantRunner<'m, M: ActionModel> {
    model: &'m M,
    name: String,
    cases: u32,
    min_actions: usize,
    max_actions: usize,
    dir: Option<PathBuf>,
    seed: Option<[u8; 32]>,
}

/// Plays `actions` from genesis; returns the digests after each tick, or the first
/// invariant failure with the digests so far.
fn play<M: ActionModel>(
    model: &M,
    actions: &[M::Action],
    stats: &mut RunStats,
) -> Result<Vec<String>, (String, Vec<String>)> {
    let mut ledger = model
        .genesis()
        .map_err(|e| (format!("genesis: {e}"), Vec::new()))?;
    play_on(&mut ledger, model, actions, stats)
}

fn play_on<M: ActionModel>(
    ledger: &mut Ledger,
    model: &M,
    actions: &[M::Action],
    stats: &mut RunStats,
) -> Result<Vec<String>, (String, Vec<String>)> {
    let ledger = &mut *ledger;
    let invariants = model.invariants();
    let mut digests = Vec::new();
    for (i, a) in actions.iter().enumerate() {
        let ticks = model
            .apply(ledger, a)
            .map_err(|e| (format!("action {i} ({a:?}): {e}"), digests.clone()))?;
        stats.actions += 1;
        for _ in 0..ticks {
            let t = ledger
                .process_tick()
                .map_err(|e| (format!("tick after action {i}: {e}"), digests.clone()))?;
            stats.ticks += 1;
            digests.push(ledger.digest().to_string());
            for (name, check) in &invariants {
                if let Err(why) = check(ledger) {
                    return Err((
                        format!("{name} at tick {t} after action {i} ({a:?}): {why}"),
                        digests,
                    ));
                }
            }
        }
    }
    Ok(digests)
}

impl<'m, M: ActionModel> InvariantRunner<'m, M> {
    /// A runner named `name` (the regression files' prefix): 256 cases of up to 50 actions.
    pub fn new(model: &'m M, name: &str) -> Self {
        InvariantRunner {
            model,
            name: name.to_owned(),
            cases: 256,
            min_actions: 1,
            max_actions: 50,
            dir: None,
            seed: None,
        }
    }
    /// How many sequences to play.
    pub fn cases(mut self, n: u32) -> Self {
        self.cases = n;
        self
    }
    /// The longest sequence.
    pub fn max_actions(mut self, n: usize) -> Self {
        self.max_actions = n.max(1);
        self
    }
    /// The shortest sequence (default 1; at most the longest).
    pub fn min_actions(mut self, n: usize) -> Self {
        self.min_actions = n.max(1);
        self
    }
    /// Where to save a failing sequence.
    pub fn regressions_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = Some(dir.into());
        self
    }
    /// A fixed seed for the random sequences (the default is proptest's, which honours
    /// `PROPTEST_RNG_SEED`).
    pub fn seed(mut self, seed: [u8; 32]) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Runs; `Ok` with statistics if every invariant held in every case.
    pub fn run(&self) -> Result<RunStats, InvariantFailure> {
        let config = Config {
            cases: self.cases,
            failure_persistence: None,
            ..Config::default()
        };
        let mut runner = match self.seed {
            Some(s) => TestRunner::new_with_rng(
                config,
                proptest::test_runner::TestRng::from_seed(
                    proptest::test_runner::RngAlgorithm::ChaCha,
                    &s,
                ),
            ),
            None => TestRunner::new(config),
        };
        let strategy = prop::collection::vec(
            self.model.action(),
            self.min_actions.min(self.max_actions)..=self.max_actions,
        );
        let stats = std::cell::Cell::new(RunStats {
            cases: 0,
            actions: 0,
            ticks: 0,
        });
        let result = runner.run(&strategy, |actions| {
            let mut s = stats.get();
            s.cases += 1;
            let r = play(self.model, &actions, &mut s);
            stats.set(s);
            r.map(|_| ()).map_err(|(why, _)| TestCaseError::fail(why))
        });
        match result {
            Ok(()) => Ok(stats.get()),
            Err(TestError::Abort(why)) => Err(InvariantFailure::Setup(why.to_string())),
            Err(TestError::Fail(_, minimal)) => {
                let mut s = stats.get();
                let mut ledger = self
                    .model
                    .genesis()
                    .map_err(|e| InvariantFailure::Setup(e.to_string()))?;
                let (failure, digests) = match play_on(&mut ledger, self.model, &minimal, &mut s) {
                    Err(f) => f,
                    Ok(d) => (
                        "the failure did not reproduce on replay (a non-deterministic model?)"
                            .into(),
                        d,
                    ),
                };
                let saved = self.save(&minimal, &failure, digests);
                let recording = match (&saved, ledger.recording()) {
                    (Some(p), Some(r)) => {
                        let path = p.with_extension("recording.json");
                        r.save(&path).ok().map(|_| path)
                    }
                    _ => None,
                };
                Err(InvariantFailure::Violated {
                    failure,
                    minimal: format!("{minimal:?}"),
                    saved,
                    recording,
                })
            }
        }
    }

    fn save(&self, actions: &[M::Action], failure: &str, digests: Vec<String>) -> Option<PathBuf> {
        let dir = self.dir.as_ref()?;
        let reg = Regression {
            name: self.name.clone(),
            failure: failure.to_owned(),
            actions: actions.to_vec(),
            digests,
        };
        let json = serde_json::to_string_pretty(&reg).ok()?;
        let tag = &blake3::hash(json.as_bytes()).to_hex()[..12];
        let path = dir.join(format!("{}-{tag}.json", self.name));
        std::fs::create_dir_all(dir).ok()?;
        std::fs::write(&path, json).ok()?;
        Some(path)
    }
}

/// What replaying a saved sequence found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every invariant held: the bug it recorded is fixed.
    Passes,
    /// It still fails, with this message.
    StillFails(String),
}

/// The outcome of a replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replay {
    /// Whether the invariants hold now.
    pub verdict: Verdict,
    /// The first tick (index into the recorded digests) whose digest differs from the
    /// recording: `None` when the run is bit-for-bit the recorded one. A fix usually makes
    /// it diverge; a divergence while it still fails means the code changed behaviour.
    pub diverged_at: Option<usize>,
}

/// Replays a saved regression file against the model, checking every tick's digest.
pub fn replay_file<M: ActionModel>(model: &M, path: &Path) -> Result<Replay, InvariantFailure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| InvariantFailure::Setup(format!("{}: {e}", path.display())))?;
    let reg: Regression<M::Action> = serde_json::from_str(&text)
        .map_err(|e| InvariantFailure::Setup(format!("{}: {e}", path.display())))?;
    let mut stats = RunStats {
        cases: 1,
        actions: 0,
        ticks: 0,
    };
    let (verdict, digests) = match play(model, &reg.actions, &mut stats) {
        Ok(d) => (Verdict::Passes, d),
        Err((why, d)) => (Verdict::StillFails(why), d),
    };
    let diverged_at = reg
        .digests
        .iter()
        .zip(&digests)
        .position(|(a, b)| a != b)
        .or_else(|| {
            (reg.digests.len() != digests.len()).then_some(reg.digests.len().min(digests.len()))
        });
    Ok(Replay {
        verdict,
        diverged_at,
    })
}

//! Record and replay: a harness run (its genesis and every input) in one file, replayed with
//! the ledger digest checked after every processed tick.
//!
//! Turn it on with [`crate::LedgerBuilder::record`]; the ledger then logs, in order, every
//! accepted submission (the packed transaction and whether its signature was trusted), every
//! faucet call, every processed tick with the digest after it, and every skip of a warp.
//! Snapshots and restores are honoured (a restore forgets the inputs after its snapshot), and
//! a fork inherits the log so far, so a run on a fork of a recorded genesis is a complete
//! recording too. [`Recording::save`] writes it as one JSON file; [`Recording::replay`] builds
//! the same genesis with the contracts you pass (code is not in the file: their indices and
//! names are, and must match), feeds the inputs again and stops at the first tick whose
//! digest differs, naming it.
//!
//! **Why a single file and not the durable tick log** ([`crate::durable`]): the tick log is a
//! directory with an fsync per tick, a redb index and snapshots, built for a node that must
//! survive crashes. A recording is for a bug report: one small, readable file a test can
//! attach and a colleague can replay without a data directory, holding the harness powers
//! too (faucet calls, unsigned submissions, warps), which the node's log never sees.

use std::path::Path;
use std::sync::Arc;

use comqute_qpi::contract::Contract;
use comqute_qpi::{Amount, Epoch, Hash32, Identity, Tick};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::error::LedgerError;
use crate::ledger::{Ledger, LedgerConfig};
use crate::tx::Transaction;

/// The file format version. 2: the digest rules of ledger format 2 (account entries keyed by
/// identity, one-compression tick digests), so a format-1 recording's digests cannot match.
/// 3: the marketplace inputs and records of the fair-deadline rule (a format-2 recording of a
/// market replays differently). 4: the digest rules of ledger format 4 (seeds and receipts
/// digests chained over the receipts, tick digests over the receipts digest and the state
/// digest), so a format-3 recording replays with other seeds and digests.
pub const FORMAT: u32 = 4;

/// One recorded input or checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Input {
    /// An accepted submission: the packed transaction in hex; `trusted` when it was
    /// submitted without a signature check (harness mode or already verified).
    Submit {
        /// The packed bytes, hex.
        tx: String,
        /// Submitted as verified (no check at its tick).
        trusted: bool,
    },
    /// A faucet call ([`Ledger::fund`]).
    Fund {
        /// Who.
        to: Identity,
        /// How much.
        amount: Amount,
    },
    /// A processed tick and the ledger digest after it.
    Tick {
        /// The tick.
        tick: Tick,
        /// The digest after it.
        digest: Hash32,
    },
    /// A warp skipped idle ticks up to (not including) this one.
    Skip {
        /// The next tick after the skip.
        to: Tick,
    },
}

/// A recorded run: genesis and inputs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recording {
    /// [`FORMAT`].
    pub format: u32,
    /// The contracts at genesis: index and name.
    pub contracts: Vec<(u32, String)>,
    /// The first tick.
    pub genesis_tick: Tick,
    /// The genesis epoch.
    pub genesis_epoch: Epoch,
    /// Ticks per epoch.
    pub epoch_ticks: u32,
    /// Transactions a tick holds.
    pub tick_capacity: usize,
    /// How far ahead a transaction may be scheduled.
    pub max_future_ticks: u32,
    /// [`crate::LedgerConfig::profile`] (absent in recordings made before profiles).
    #[serde(default)]
    pub profile: comqute_qpi::Profile,
    /// Genesis balances, in order.
    pub funds: Vec<(Identity, Amount)>,
    /// The digest right after genesis.
    pub genesis_digest: Hash32,
    /// Everything that happened since, in order.
    pub inputs: Vec<Input>,
}

/// Why a recording could not be saved, loaded or replayed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// Reading or writing the file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// The file is not a recording.
    #[error("{path}: not a recording: {reason}")]
    Format {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The contracts passed are not the recorded ones.
    #[error("contracts differ: recorded {recorded:?}, given {given:?}")]
    Contracts {
        /// In the file.
        recorded: Vec<(u32, String)>,
        /// Passed to replay.
        given: Vec<(u32, String)>,
    },
    /// The ledger refused an input the recording had accepted.
    #[error("input {index}: {error}")]
    Ledger {
        /// The input's position.
        index: usize,
        /// The ledger's error.
        error: LedgerError,
    },
    /// A digest differs: the code no longer does what it did when recorded.
    #[error(
        "diverged at input {index}, tick {tick}: recorded digest {recorded}, replayed {replayed}"
    )]
    Diverged {
        /// The input's position (`usize::MAX` for the genesis digest).
        index: usize,
        /// The tick.
        tick: Tick,
        /// The digest in the file.
        recorded: Hash32,
        /// The digest now.
        replayed: Hash32,
    },
}

fn names(contracts: &[Arc<dyn Contract>]) -> Vec<(u32, String)> {
    let mut v: Vec<_> = contracts
        .iter()
        .map(|c| (c.index().0, c.name().to_owned()))
        .collect();
    v.sort();
    v
}

impl Recording {
    /// A recording of a genesis, no inputs yet (the builder calls this).
    pub(crate) fn new(
        config: &LedgerConfig,
        contracts: Vec<(u32, String)>,
        funds: &[(Identity, Amount)],
        genesis_digest: Hash32,
    ) -> Recording {
        Recording {
            format: FORMAT,
            contracts,
            genesis_tick: config.genesis_tick,
            genesis_epoch: config.genesis_epoch,
            epoch_ticks: config.epoch_ticks,
            tick_capacity: config.tick_capacity,
            max_future_ticks: config.max_future_ticks,
            profile: config.profile,
            funds: funds.to_vec(),
            genesis_digest,
            inputs: Vec::new(),
        }
    }

    /// Number of processed ticks recorded.
    pub fn ticks(&self) -> usize {
        self.inputs
            .iter()
            .filter(|i| matches!(i, Input::Tick { .. }))
            .count()
    }

    /// Writes the recording as JSON.
    pub fn save(&self, path: &Path) -> Result<(), ReplayError> {
        let io = |source| ReplayError::Io {
            path: path.display().to_string(),
            source,
        };
        let json = serde_json::to_string_pretty(self).map_err(|e| ReplayError::Format {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        std::fs::write(path, json).map_err(io)
    }

    /// Reads a recording.
    pub fn load(path: &Path) -> Result<Recording, ReplayError> {
        let text = std::fs::read_to_string(path).map_err(|source| ReplayError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let r: Recording = serde_json::from_str(&text).map_err(|e| ReplayError::Format {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        if r.format != FORMAT {
            return Err(ReplayError::Format {
                path: path.display().to_string(),
                reason: format!("format {} (this build reads {FORMAT})", r.format),
            });
        }
        Ok(r)
    }

    /// Replays on a fresh genesis with `contracts`, checking the digest after genesis and
    /// after every processed tick. Returns the ledger at the end (itself recording).
    pub fn replay(&self, contracts: Vec<Arc<dyn Contract>>) -> Result<Ledger, ReplayError> {
        let given = names(&contracts);
        if given != self.contracts {
            return Err(ReplayError::Contracts {
                recorded: self.contracts.clone(),
                given,
            });
        }
        let mut b = Ledger::builder()
            .config(LedgerConfig {
                genesis_tick: self.genesis_tick,
                genesis_epoch: self.genesis_epoch,
                epoch_ticks: self.epoch_ticks,
                tick_capacity: self.tick_capacity,
                max_future_ticks: self.max_future_ticks,
                profile: self.profile,
            })
            .record();
        for c in contracts {
            b = b.contract_arc(c);
        }
        for (id, amount) in &self.funds {
            b = b.fund(*id, *amount);
        }
        let mut l = b.build().map_err(|error| ReplayError::Ledger {
            index: usize::MAX,
            error,
        })?;
        if l.digest() != self.genesis_digest {
            return Err(ReplayError::Diverged {
                index: usize::MAX,
                tick: self.genesis_tick,
                recorded: self.genesis_digest,
                replayed: l.digest(),
            });
        }
        for (index, input) in self.inputs.iter().enumerate() {
            let err = |error| ReplayError::Ledger { index, error };
            match input {
                Input::Submit { tx, trusted } => {
                    let bytes = hex::decode(tx).map_err(|e| ReplayError::Format {
                        path: format!("input {index}"),
                        reason: e.to_string(),
                    })?;
                    let tx = Transaction::decode(&bytes).map_err(|e| err(LedgerError::Tx(e)))?;
                    if *trusted {
                        l.submit_unsigned(tx).map_err(err)?;
                    } else {
                        l.submit(tx).map_err(err)?;
                    }
                }
                Input::Fund { to, amount } => l.fund(to, *amount).map_err(err)?,
                Input::Tick { tick, digest } => {
                    let t = l.process_tick().map_err(err)?;
                    if t != *tick || l.digest() != *digest {
                        return Err(ReplayError::Diverged {
                            index,
                            tick: t,
                            recorded: *digest,
                            replayed: l.digest(),
                        });
                    }
                }
                Input::Skip { to } => l.warp_to_tick(*to).map_err(err)?,
            }
        }
        Ok(l)
    }
}

//! Genesis recording: a data directory remembers the marketplace settings its genesis was
//! built with ([`MARKET_FILE`]), because the directory stores no code and a node restarted
//! on it must build the same genesis. [`GenesisRecord::settle`] gives the settings a node on
//! a directory runs with: those recorded there (settings asked for that differ are
//! refused), else the ones asked for over the defaults, recorded for the next start. The
//! offline ledger tools read the same record ([`GenesisRecord::read`]).

use std::path::{Path, PathBuf};

use comqute_market::{ConfigError, MarketConfig};
use comqute_qpi::Identity;

/// The file in a data directory that records its marketplace settings.
pub const MARKET_FILE: &str = "market.json";

/// Why the genesis settings could not be read, recorded or agreed on.
#[derive(Debug, thiserror::Error)]
pub enum GenesisError {
    /// The record could not be read or written.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// `reading`, `writing` or `creating`.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The record is not the settings' JSON.
    #[error("reading {}: {detail}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// The parser's complaint.
        detail: String,
    },
    /// The settings break a rule of the marketplace (`path`: the record they were read
    /// from, if they were).
    #[error("{}marketplace settings: {detail}", path.as_ref().map(|p| format!("{}: ", p.display())).unwrap_or_default())]
    Invalid {
        /// The record, when the settings came from one.
        path: Option<PathBuf>,
        /// The section and the rule broken.
        detail: ConfigError,
    },
    /// The directory was created with other settings than those asked for.
    #[error(
        "{} was created with other marketplace settings ({}); a node on it must use them: \
         drop the marketplace flags",
        dir.display(),
        record.display()
    )]
    Mismatch {
        /// The data directory.
        dir: PathBuf,
        /// Its record.
        record: PathBuf,
    },
}

/// Marketplace settings asked for when starting a node (`None`: not asked, the default or
/// the recorded value holds).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MarketOverrides {
    /// A devnet's resolver (forces check verdicts when `forced_verdicts`).
    pub resolver: Option<Identity>,
    /// Whether the resolver may force verdicts (a `--devnet` node).
    pub forced_verdicts: Option<bool>,
    /// Ticks after a result during which anyone may challenge it.
    pub challenge_window: Option<u32>,
    /// Ticks a replica has to commit.
    pub commit_ticks: Option<u32>,
    /// Ticks a replica has to reveal.
    pub reveal_ticks: Option<u32>,
    /// Ticks without a heartbeat after which a worker is offline.
    pub heartbeat_window: Option<u32>,
    /// Ticks between unbonding and withdrawal.
    pub unbonding_ticks: Option<u32>,
    /// Ticks an assigned worker has to start or decline a job.
    pub accept_ticks: Option<u32>,
    /// Whether results are spot-checked at the chain's rates (challenges are checked
    /// regardless).
    pub spot_checks: Option<bool>,
}

impl MarketOverrides {
    /// Whether nothing is asked for.
    pub fn is_empty(&self) -> bool {
        *self == MarketOverrides::default()
    }

    /// `base` with what is asked for, checked ([`MarketConfig::validate`]).
    pub fn apply(&self, base: MarketConfig) -> Result<MarketConfig, GenesisError> {
        let c = MarketConfig {
            workers: comqute_market::worker_registry::WorkerConfig {
                heartbeat_window: self
                    .heartbeat_window
                    .unwrap_or(base.workers.heartbeat_window),
                unbonding_ticks: self.unbonding_ticks.unwrap_or(base.workers.unbonding_ticks),
                ..base.workers
            },
            jobs: comqute_market::job_registry::JobConfig {
                resolver: self.resolver.unwrap_or(base.jobs.resolver),
                forced_verdicts: self.forced_verdicts.unwrap_or(base.jobs.forced_verdicts),
                challenge_window: self.challenge_window.unwrap_or(base.jobs.challenge_window),
                accept_ticks: self.accept_ticks.unwrap_or(base.jobs.accept_ticks),
                ..base.jobs
            },
            verification: comqute_market::verification::VerifyConfig {
                commit_ticks: self.commit_ticks.unwrap_or(base.verification.commit_ticks),
                reveal_ticks: self.reveal_ticks.unwrap_or(base.verification.reveal_ticks),
                spot_checks: self.spot_checks.unwrap_or(base.verification.spot_checks),
                ..base.verification
            },
            ..base
        };
        c.validate()
            .map_err(|detail| GenesisError::Invalid { path: None, detail })?;
        Ok(c)
    }
}

/// A record written before the settings had a section per contract (format 3 and older:
/// `{"minStake": …, "challengeWindow": …}`) is named as such, with what to do.
fn flat_hint(bytes: &[u8], detail: String) -> String {
    let flat = serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(bytes)
        .is_ok_and(|m| {
            m.keys()
                .any(|k| !matches!(k.as_str(), "escrow" | "workers" | "jobs"))
        });
    if flat {
        format!(
            "{detail}; this record has the settings of an older comqute, before they had a \
             section per contract (\"escrow\", \"workers\", \"jobs\"): this data \
             directory's format is older than this node's, start it on a new one"
        )
    } else {
        detail
    }
}

/// The record of a data directory's marketplace settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenesisRecord {
    dir: PathBuf,
}

impl GenesisRecord {
    /// The record of the data directory `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> GenesisRecord {
        GenesisRecord { dir: dir.into() }
    }

    /// The record's file.
    pub fn path(&self) -> PathBuf {
        self.dir.join(MARKET_FILE)
    }

    /// The settings recorded, if any, checked.
    pub fn read(&self) -> Result<Option<MarketConfig>, GenesisError> {
        let path = self.path();
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(GenesisError::Io {
                    action: "reading",
                    path,
                    source,
                })
            }
        };
        let c: MarketConfig =
            serde_json::from_slice(&bytes).map_err(|e| GenesisError::Malformed {
                path: path.clone(),
                detail: flat_hint(&bytes, e.to_string()),
            })?;
        c.validate().map_err(|detail| GenesisError::Invalid {
            path: Some(path),
            detail,
        })?;
        Ok(Some(c))
    }

    /// Records `c`, atomically (a temporary file renamed over the record).
    pub fn write(&self, c: &MarketConfig) -> Result<(), GenesisError> {
        let io = |action, path: &Path| {
            let path = path.to_path_buf();
            move |source| GenesisError::Io {
                action,
                path,
                source,
            }
        };
        std::fs::create_dir_all(&self.dir).map_err(io("creating", &self.dir))?;
        let path = self.path();
        let tmp = self.dir.join(format!("{MARKET_FILE}.tmp"));
        let json = serde_json::to_vec_pretty(c).map_err(|e| GenesisError::Malformed {
            path: path.clone(),
            detail: e.to_string(),
        })?;
        std::fs::write(&tmp, json).map_err(io("writing", &tmp))?;
        std::fs::rename(&tmp, &path).map_err(io("writing", &path))?;
        Ok(())
    }

    /// The settings a node on this directory runs with: the recorded ones (refused with
    /// [`GenesisError::Mismatch`] when `asked` differs from them), else `asked` over the
    /// defaults, recorded for the next start.
    pub fn settle(&self, asked: &MarketOverrides) -> Result<MarketConfig, GenesisError> {
        match self.read()? {
            Some(stored) => {
                if !asked.is_empty() && asked.apply(stored.clone())? != stored {
                    return Err(GenesisError::Mismatch {
                        dir: self.dir.clone(),
                        record: self.path(),
                    });
                }
                Ok(stored)
            }
            None => {
                let c = asked.apply(MarketConfig::default())?;
                self.write(&c)?;
                Ok(c)
            }
        }
    }
}

/// The marketplace settings of a node on `data_dir` ([`GenesisRecord::settle`]), or, in
/// memory, `asked` over the defaults.
pub fn market_settings(
    data_dir: Option<&Path>,
    asked: &MarketOverrides,
) -> Result<MarketConfig, GenesisError> {
    match data_dir {
        Some(dir) => GenesisRecord::new(dir).settle(asked),
        None => asked.apply(MarketConfig::default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_keeps_the_settings_it_was_created_with() {
        let dir = std::env::temp_dir().join(format!("comqute-genesis-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let record = GenesisRecord::new(&dir);
        assert_eq!(record.read().unwrap(), None);
        let asked = MarketOverrides {
            challenge_window: Some(7),
            ..MarketOverrides::default()
        };
        let c = market_settings(Some(&dir), &asked).unwrap();
        assert_eq!(c.jobs.challenge_window, 7);
        assert_eq!(record.read().unwrap(), Some(c.clone()));
        // Restarted without flags, or with the same ones: the recorded settings.
        assert_eq!(record.settle(&MarketOverrides::default()).unwrap(), c);
        assert_eq!(record.settle(&asked).unwrap(), c);
        // Other settings are refused, naming the record.
        let other = MarketOverrides {
            challenge_window: Some(9),
            ..MarketOverrides::default()
        };
        let e = record.settle(&other).unwrap_err();
        assert!(matches!(e, GenesisError::Mismatch { .. }), "{e}");
        assert!(e.to_string().contains("other marketplace settings"), "{e}");
        assert!(e.to_string().contains(MARKET_FILE), "{e}");
        // A damaged record is named.
        std::fs::write(record.path(), b"{").unwrap();
        let e = record.read().unwrap_err();
        assert!(matches!(e, GenesisError::Malformed { .. }), "{e}");
        assert!(e.to_string().contains(MARKET_FILE), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn settings_that_break_a_rule_are_refused_before_anything_is_written() {
        let dir = std::env::temp_dir().join(format!("comqute-genesis-bad-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let bad = MarketOverrides {
            heartbeat_window: Some(0),
            ..MarketOverrides::default()
        };
        match market_settings(Some(&dir), &bad) {
            Err(GenesisError::Invalid { path: None, .. }) => {}
            other => panic!("expected Invalid, got {other:?}"),
        }
        assert!(!GenesisRecord::new(&dir).path().exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}

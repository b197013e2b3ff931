//! The data directory's manifest: the settings, contracts and genesis it was created with.
//!
//! Contracts are code, so the directory does not hold them; it holds their indices and
//! names, the settings and the genesis balances, and a fingerprint over all of it and the
//! genesis digest. Opening a directory with anything else is refused with the differences
//! spelled out, instead of replaying into a fork.

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use comqute_qpi::contract::Contract;
use comqute_qpi::{Amount, Epoch, Hash32, Identity, Tick};
use serde::{Deserialize, Serialize};

use crate::ledger::{Ledger, LedgerBuilder, LedgerConfig};

use super::{io_err, sync_dir, DurableError};

/// The manifest file's name in the data directory.
pub const MANIFEST_FILE: &str = "manifest.json";
/// 2: account entries hashed with the identity as the key, one-compression tick digests and
/// the epoch settings in the genesis digest (a format-1 directory no longer verifies).
/// 3: the marketplace's job and worker records and procedure inputs of the fair-deadline
/// rule (offers, reasons, model names, daemon sessions): a format-2 log replays differently.
/// 4: seeds and receipts digests chained over the receipts, tick digests over the receipts
/// digest and the state digest (so the harness can hash its state on demand), and the
/// receipts chain in snapshots: a format-3 log replays with other seeds and digests.
const FORMAT: u32 = 4;

/// A contract as the manifest names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestContract {
    /// Its index.
    pub index: u32,
    /// Its name.
    pub name: String,
}

/// What a data directory was created with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// The on-disk format version.
    pub format: u32,
    /// blake3 over everything below, hex.
    pub fingerprint: String,
    /// [`LedgerConfig::genesis_tick`].
    pub genesis_tick: u32,
    /// [`LedgerConfig::genesis_epoch`].
    pub genesis_epoch: u16,
    /// [`LedgerConfig::epoch_ticks`].
    pub epoch_ticks: u32,
    /// [`LedgerConfig::tick_capacity`].
    pub tick_capacity: u64,
    /// [`LedgerConfig::max_future_ticks`].
    pub max_future_ticks: u32,
    /// The contracts, ascending by index.
    pub contracts: Vec<ManifestContract>,
    /// Genesis balances in the order given: (identity in hex, amount).
    pub genesis_funds: Vec<(String, i64)>,
    /// The ledger digest right after genesis, hex.
    pub genesis_digest: String,
    /// [`LedgerConfig::profile`] (absent in a directory made before profiles: comqute).
    #[serde(default)]
    pub profile: comqute_qpi::Profile,
}

impl Manifest {
    /// The manifest of a builder and the genesis ledger it built.
    pub(crate) fn of(
        config: &LedgerConfig,
        funds: &[(Identity, Amount)],
        genesis: &Ledger,
    ) -> Manifest {
        let mut m = Manifest {
            format: FORMAT,
            fingerprint: String::new(),
            genesis_tick: config.genesis_tick.0,
            genesis_epoch: config.genesis_epoch.0,
            epoch_ticks: config.epoch_ticks,
            tick_capacity: config.tick_capacity as u64,
            max_future_ticks: config.max_future_ticks,
            contracts: genesis
                .registry()
                .ascending()
                .map(|c| ManifestContract {
                    index: c.index().0,
                    name: c.name().to_owned(),
                })
                .collect(),
            genesis_funds: funds
                .iter()
                .map(|(id, a)| (hex::encode(id.0), a.0))
                .collect(),
            genesis_digest: genesis.digest().to_hex(),
            profile: config.profile,
        };
        m.fingerprint = m.compute_fingerprint().to_hex();
        m
    }

    fn compute_fingerprint(&self) -> Hash32 {
        let mut h = blake3::Hasher::new();
        h.update(b"comqute data dir v1");
        h.update(&self.format.to_le_bytes());
        h.update(&self.genesis_tick.to_le_bytes());
        h.update(&self.genesis_epoch.to_le_bytes());
        h.update(&self.epoch_ticks.to_le_bytes());
        h.update(&self.tick_capacity.to_le_bytes());
        h.update(&self.max_future_ticks.to_le_bytes());
        h.update(&(self.contracts.len() as u64).to_le_bytes());
        for c in &self.contracts {
            h.update(&c.index.to_le_bytes());
            h.update(&(c.name.len() as u64).to_le_bytes());
            h.update(c.name.as_bytes());
        }
        h.update(&(self.genesis_funds.len() as u64).to_le_bytes());
        for (id, a) in &self.genesis_funds {
            h.update(id.as_bytes());
            h.update(&a.to_le_bytes());
        }
        h.update(self.genesis_digest.as_bytes());
        // The comqute profile adds nothing, so directories made before profiles keep their
        // fingerprint.
        if self.profile != comqute_qpi::Profile::Comqute {
            h.update(b"profile ");
            h.update(self.profile.name().as_bytes());
        }
        Hash32(*h.finalize().as_bytes())
    }

    /// The fingerprint as a hash.
    pub fn fingerprint_hash(&self) -> Hash32 {
        Hash32::from_hex(&self.fingerprint).unwrap_or(Hash32::ZERO)
    }

    /// The settings recorded.
    pub fn config(&self) -> LedgerConfig {
        LedgerConfig {
            genesis_tick: Tick(self.genesis_tick),
            genesis_epoch: Epoch(self.genesis_epoch),
            epoch_ticks: self.epoch_ticks,
            tick_capacity: usize::try_from(self.tick_capacity).unwrap_or(usize::MAX),
            max_future_ticks: self.max_future_ticks,
            profile: self.profile,
        }
    }

    /// A builder for this directory's genesis with the given contracts (which must be the
    /// ones the manifest names; [`Manifest::check`] tells).
    pub fn builder(&self, contracts: &[Arc<dyn Contract>]) -> Result<LedgerBuilder, DurableError> {
        // The tools replay and check every tick's digests: per-tick digests.
        let mut b = LedgerBuilder::new()
            .config(self.config())
            .digests(crate::ledger::DigestPolicy::PerTick);
        for c in contracts {
            b = b.contract_arc(c.clone());
        }
        for (id, amount) in &self.genesis_funds {
            let mut bytes = [0u8; 32];
            hex::decode_to_slice(id, &mut bytes).map_err(|e| DurableError::Manifest {
                detail: format!("genesis identity {id:?}: {e}"),
            })?;
            b = b.fund(Identity(bytes), Amount(*amount));
        }
        Ok(b)
    }

    /// Refuses `other` (what the caller would run) unless it matches this manifest, naming
    /// each difference.
    pub fn check(&self, other: &Manifest) -> Result<(), DurableError> {
        let mut diffs = Vec::new();
        if self.format != other.format {
            let why = if self.format < other.format {
                "written by an older comqute whose digest rules differ; start a new data directory"
            } else {
                "written by a newer comqute; use that version"
            };
            diffs.push(format!(
                "format: the data directory has {}, this ledger has {} ({why})",
                self.format, other.format
            ));
        }
        let mut cmp = |what: &str, ours: String, theirs: String| {
            if ours != theirs {
                diffs.push(format!(
                    "{what}: the data directory has {ours}, this ledger has {theirs}"
                ));
            }
        };
        cmp(
            "genesis tick",
            self.genesis_tick.to_string(),
            other.genesis_tick.to_string(),
        );
        cmp(
            "genesis epoch",
            self.genesis_epoch.to_string(),
            other.genesis_epoch.to_string(),
        );
        cmp(
            "epoch ticks",
            self.epoch_ticks.to_string(),
            other.epoch_ticks.to_string(),
        );
        cmp(
            "tick capacity",
            self.tick_capacity.to_string(),
            other.tick_capacity.to_string(),
        );
        cmp(
            "profile",
            self.profile.to_string(),
            other.profile.to_string(),
        );
        cmp(
            "max future ticks",
            self.max_future_ticks.to_string(),
            other.max_future_ticks.to_string(),
        );
        let names = |m: &Manifest| {
            m.contracts
                .iter()
                .map(|c| format!("{}:{}", c.index, c.name))
                .collect::<Vec<_>>()
                .join(", ")
        };
        cmp(
            "contracts",
            format!("[{}]", names(self)),
            format!("[{}]", names(other)),
        );
        cmp(
            "genesis balances",
            format!("{} entries", self.genesis_funds.len()),
            format!("{} entries", other.genesis_funds.len()),
        );
        if diffs.is_empty() && self.genesis_funds != other.genesis_funds {
            diffs.push("genesis balances differ".into());
        }
        if diffs.is_empty() && self.genesis_digest != other.genesis_digest {
            diffs.push(format!(
                "genesis digest: the data directory has {}, this ledger has {} (a contract's initialize changed?)",
                self.genesis_digest, other.genesis_digest
            ));
        }
        if diffs.is_empty() && self.compute_fingerprint().to_hex() != self.fingerprint {
            diffs.push(
                "the manifest's fingerprint does not match its contents (edited by hand?)".into(),
            );
        }
        if diffs.is_empty() {
            Ok(())
        } else {
            Err(DurableError::Mismatch {
                detail: diffs.join("; "),
            })
        }
    }
}

/// Reads a data directory's manifest.
pub fn read_manifest(dir: &Path) -> Result<Manifest, DurableError> {
    let path = dir.join(MANIFEST_FILE);
    let bytes = fs::read(&path).map_err(io_err(&path, "read"))?;
    serde_json::from_slice(&bytes).map_err(|e| DurableError::Manifest {
        detail: format!("{}: {e}", path.display()),
    })
}

/// Writes the manifest atomically.
pub(crate) fn write_manifest(dir: &Path, m: &Manifest) -> Result<(), DurableError> {
    let path = dir.join(MANIFEST_FILE);
    let tmp = dir.join(format!("{MANIFEST_FILE}.tmp"));
    // Invariant: the manifest is strings and integers; its JSON cannot fail.
    let bytes = serde_json::to_vec_pretty(m).expect("a manifest serializes to JSON");
    {
        let mut f = File::create(&tmp).map_err(io_err(&tmp, "create"))?;
        f.write_all(&bytes).map_err(io_err(&tmp, "write"))?;
        f.sync_all().map_err(io_err(&tmp, "sync"))?;
    }
    fs::rename(&tmp, &path).map_err(io_err(&path, "rename into place"))?;
    sync_dir(dir)
}

//! Profiles: which crypto identities, transaction ids, signatures and the 60-letter codec
//! follow. `comqute` (the default) uses blake3 and ed25519; `qubic` uses Qubic's own K12 and
//! SchnorrQ on FourQ (the `comqute-qubic` crate), byte-exact with Qubic's wallets.
//!
//! A ledger takes its profile at genesis ([`crate::Profile`] in its configuration): it
//! decides transaction ids and which signatures verify. The 60-letter *display* of an
//! identity or hash (its checksum) is the process's: a node or the CLI sets it once at start
//! with [`set_display`], from its `--profile`; library code never changes it. The default is
//! `comqute`, so nothing changes for a process that never sets it.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU8, Ordering};

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

/// A crypto and wire profile.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// blake3 digests and ids, ed25519 signatures, blake3 identity checksums.
    #[default]
    Comqute,
    /// Qubic's: K12 digests and ids, SchnorrQ on FourQ, K12 identity checksums.
    Qubic,
}

impl Profile {
    /// Its name: `comqute` or `qubic`.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Comqute => "comqute",
            Profile::Qubic => "qubic",
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A profile name that is neither `comqute` nor `qubic`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown profile {0:?}: expected comqute or qubic")]
pub struct UnknownProfile(pub String);

impl FromStr for Profile {
    type Err = UnknownProfile;
    fn from_str(s: &str) -> Result<Self, UnknownProfile> {
        match s.trim().to_ascii_lowercase().as_str() {
            "comqute" => Ok(Profile::Comqute),
            "qubic" => Ok(Profile::Qubic),
            other => Err(UnknownProfile(other.to_string())),
        }
    }
}

static DISPLAY: AtomicU8 = AtomicU8::new(0);

/// Sets the process's display profile (the checksum of the 60-letter codec). Called once at
/// start by a binary (`comqute node --profile qubic`, the CLI's `--profile`).
pub fn set_display(p: Profile) {
    DISPLAY.store(p as u8, Ordering::Relaxed);
}

/// The process's display profile.
pub fn display() -> Profile {
    match DISPLAY.load(Ordering::Relaxed) {
        1 => Profile::Qubic,
        _ => Profile::Comqute,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_read_by_name_and_default_to_comqute() {
        assert_eq!("qubic".parse::<Profile>().unwrap(), Profile::Qubic);
        assert_eq!(" Comqute ".parse::<Profile>().unwrap(), Profile::Comqute);
        assert!("ethereum".parse::<Profile>().is_err());
        assert_eq!(Profile::default(), Profile::Comqute);
        assert_eq!(display(), Profile::Comqute, "a process that never sets it");
    }
}

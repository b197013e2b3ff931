//! Keys: fresh seeds, seeds from text, and key files.
//!
//! A key file is JSON, `{"seed": "<55 lowercase letters>", "identity": "<60 letters>"}`,
//! written with mode 0600 (owner read/write only) and never overwritten. Reading checks
//! that the identity matches the seed, so a damaged file is refused rather than signing
//! with an unexpected key.
//!
//! ```
//! let dir = std::env::temp_dir().join(format!("comqute-sdk-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let path = dir.join("alice.json");
//! # let _ = std::fs::remove_file(&path);
//! let seed = comqute_sdk::keys::new_seed()?;
//! let id = comqute_sdk::keys::write_key_file(&path, &seed)?;
//! let key = comqute_sdk::keys::read_key_file(&path)?;
//! assert_eq!(key.identity(), id);
//! # std::fs::remove_dir_all(&dir).unwrap();
//! # Ok::<(), comqute_sdk::SdkError>(())
//! ```

use std::io::Write;
use std::path::Path;

use comqute_ledger::{Keypair, QubicKeypair, Seed, Signer};
use comqute_qpi::{Identity, Profile};
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};

use crate::SdkError;

/// What a key file holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyFile {
    /// The 55-letter seed (secret).
    pub seed: String,
    /// The identity it derives, for reading by eye and for the consistency check.
    pub identity: String,
    /// The profile the seed derives its key in (absent: comqute).
    #[serde(default, skip_serializing_if = "is_comqute")]
    pub profile: Profile,
}

fn is_comqute(p: &Profile) -> bool {
    *p == Profile::Comqute
}

/// A key in either profile: ed25519 (comqute) or Qubic's SchnorrQ on FourQ.
#[derive(Debug, Clone)]
pub enum AnyKey {
    /// The comqute profile's key.
    Comqute(Keypair),
    /// Qubic's key of the same kind of seed.
    Qubic(QubicKeypair),
}

impl Signer for AnyKey {
    fn identity(&self) -> Identity {
        match self {
            AnyKey::Comqute(k) => k.identity(),
            AnyKey::Qubic(k) => Signer::identity(k),
        }
    }
    fn profile(&self) -> Profile {
        match self {
            AnyKey::Comqute(_) => Profile::Comqute,
            AnyKey::Qubic(_) => Profile::Qubic,
        }
    }
    fn sign_tx(&self, tx: comqute_ledger::Transaction) -> comqute_ledger::Transaction {
        match self {
            AnyKey::Comqute(k) => k.sign_tx(tx),
            AnyKey::Qubic(k) => k.sign_tx(tx),
        }
    }
}

/// The key a 55-letter seed derives in `profile`.
pub fn key_from_seed(seed: &str, profile: Profile) -> Result<AnyKey, SdkError> {
    Ok(match profile {
        Profile::Comqute => AnyKey::Comqute(keypair_from_seed(seed)?),
        Profile::Qubic => AnyKey::Qubic(QubicKeypair::from_seed(seed.trim())?),
    })
}

/// A fresh random seed from the operating system's randomness.
pub fn new_seed() -> Result<Seed, SdkError> {
    let mut bytes = [0u8; comqute_ledger::keys::SEED_LEN];
    // Rejection sampling keeps the 26 letters uniform: bytes ≥ 234 (9 × 26) are redrawn.
    let mut filled = 0;
    let mut buf = [0u8; 64];
    while filled < bytes.len() {
        OsRng
            .try_fill_bytes(&mut buf)
            .map_err(|e| SdkError::Entropy(e.to_string()))?;
        for b in buf {
            if b < 234 && filled < bytes.len() {
                bytes[filled] = b;
                filled += 1;
            }
        }
    }
    Ok(Seed::from_entropy(&bytes))
}

/// The key pair of a 55-letter seed.
pub fn keypair_from_seed(seed: &str) -> Result<Keypair, SdkError> {
    Ok(Seed::new(seed.trim())?.keypair())
}

/// Writes a new key file (mode 0600); refuses to overwrite an existing file. Returns the
/// identity.
pub fn write_key_file(path: &Path, seed: &Seed) -> Result<Identity, SdkError> {
    write_key_file_in(path, seed, Profile::Comqute)
}

/// [`write_key_file`] for a key in `profile` (the file records the profile; its identity is
/// written with the process's display codec).
pub fn write_key_file_in(path: &Path, seed: &Seed, profile: Profile) -> Result<Identity, SdkError> {
    let err = |detail: String| SdkError::KeyFile {
        path: path.to_owned(),
        detail,
    };
    let identity = key_from_seed(seed.as_str(), profile)?.identity();
    let body = serde_json::to_string_pretty(&KeyFile {
        seed: seed.as_str().to_owned(),
        identity: identity.to_string(),
        profile,
    })
    .map_err(|e| err(e.to_string()))?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            err("already exists; not overwriting a key".into())
        } else {
            err(e.to_string())
        }
    })?;
    f.write_all(body.as_bytes())
        .and_then(|()| f.write_all(b"\n"))
        .and_then(|()| f.sync_all())
        .map_err(|e| err(e.to_string()))?;
    Ok(identity)
}

/// Reads a key file and checks that its identity matches its seed.
pub fn read_key_file(path: &Path) -> Result<Keypair, SdkError> {
    match read_key_in(path, Profile::Comqute)? {
        AnyKey::Comqute(k) => Ok(k),
        // read_key_in derives the key in the profile it is asked for: never taken.
        AnyKey::Qubic(_) => Err(SdkError::KeyFile {
            path: path.to_owned(),
            detail: "a key of the qubic profile".into(),
        }),
    }
}

/// Reads a key file of `profile` and checks that its identity matches its seed.
pub fn read_key_in(path: &Path, profile: Profile) -> Result<AnyKey, SdkError> {
    let err = |detail: String| SdkError::KeyFile {
        path: path.to_owned(),
        detail,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    let kf: KeyFile = serde_json::from_str(&text)
        .map_err(|e| err(format!("not a key file ({{\"seed\", \"identity\"}}): {e}")))?;
    if kf.profile != profile {
        return Err(err(format!(
            "a key of the {} profile, not {profile} (--profile {} signs with it; --profile \
             {profile} keys new makes one for this profile)",
            kf.profile, kf.profile
        )));
    }
    let key = key_from_seed(&kf.seed, profile).map_err(|e| err(e.to_string()))?;
    if key.identity().to_string() != kf.identity.trim() {
        return Err(err(format!(
            "its identity {} is not the one its seed derives ({})",
            kf.identity,
            key.identity()
        )));
    }
    Ok(key)
}

/// The permission bits of a key file that lets its group or others in (any of read, write,
/// run: the check ssh makes of a private key), or `None` when only its owner may use it.
/// Always `None` off unix, which has no such bits.
pub fn key_file_exposure(path: &Path) -> Result<Option<u32>, SdkError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path).map_err(|e| SdkError::KeyFile {
            path: path.to_owned(),
            detail: e.to_string(),
        })?;
        let mode = meta.permissions().mode() & 0o777;
        Ok((mode & 0o077 != 0).then_some(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_key_file_others_can_use_is_exposed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("comqute-exposure-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("k.json");
        let _ = std::fs::remove_file(&path);
        write_key_file(&path, &new_seed().unwrap()).unwrap();
        assert_eq!(key_file_exposure(&path).unwrap(), None, "written 0600");
        for (mode, exposed) in [
            (0o644, Some(0o644)),
            (0o640, Some(0o640)),
            (0o604, Some(0o604)),
            (0o620, Some(0o620)),
            (0o400, None),
            (0o600, None),
        ] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            assert_eq!(key_file_exposure(&path).unwrap(), exposed, "mode {mode:o}");
        }
        assert!(matches!(
            key_file_exposure(&dir.join("missing.json")),
            Err(SdkError::KeyFile { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn key_files_are_private_and_never_overwritten() {
        let dir = std::env::temp_dir().join(format!("comqute-keys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("k.json");
        let _ = std::fs::remove_file(&path);
        let seed = new_seed().unwrap();
        let id = write_key_file(&path, &seed).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(write_key_file(&path, &seed).is_err());
        assert_eq!(read_key_file(&path).unwrap().identity(), id);
        let other = new_seed().unwrap();
        std::fs::write(
            &path,
            format!(r#"{{"seed": "{}", "identity": "{id}"}}"#, other.as_str()),
        )
        .unwrap();
        assert!(
            read_key_file(&path).is_err(),
            "identity does not match the seed"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

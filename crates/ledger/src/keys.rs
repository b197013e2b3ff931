//! Seeds and key pairs.
//!
//! A seed is 55 lowercase letters (Qubic's form). The ed25519 secret key is
//! `blake3::derive_key("comqute v1 seed", seed as ASCII bytes)`; the identity is the public
//! key shown with the 60-letter codec. These rules are fixed so identities are portable
//! between implementations; `testdata/vectors.json` holds test vectors.

use std::fmt;
use std::str::FromStr;

use comqute_qpi::{Hash32, Identity};
use ed25519_dalek::{Signer as _, SigningKey};

use crate::error::LedgerError;

/// The number of letters in a seed.
pub const SEED_LEN: usize = 55;

/// The key-derivation context string.
pub const SEED_CONTEXT: &str = "comqute v1 seed";

/// A 55-letter lowercase seed. Its `Debug` form hides the letters.
#[derive(Clone, PartialEq, Eq)]
pub struct Seed(String);

impl Seed {
    /// Parses a seed: exactly 55 letters `a`–`z`.
    pub fn new(s: &str) -> Result<Seed, LedgerError> {
        if s.len() != SEED_LEN {
            return Err(LedgerError::BadSeed(format!(
                "expected {SEED_LEN} letters, found {}",
                s.len()
            )));
        }
        if let Some((i, c)) = s.char_indices().find(|(_, c)| !c.is_ascii_lowercase()) {
            return Err(LedgerError::BadSeed(format!(
                "character {i} is {c:?}, not a lowercase letter"
            )));
        }
        Ok(Seed(s.to_owned()))
    }

    /// A seed from 55 bytes of randomness (each reduced modulo 26).
    pub fn from_entropy(bytes: &[u8; SEED_LEN]) -> Seed {
        Seed(bytes.iter().map(|b| char::from(b'a' + b % 26)).collect())
    }

    /// The letters.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key pair this seed derives.
    pub fn keypair(&self) -> Keypair {
        Keypair::from_secret(blake3::derive_key(SEED_CONTEXT, self.0.as_bytes()))
    }
}

impl fmt::Debug for Seed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Seed(…)")
    }
}

impl FromStr for Seed {
    type Err = LedgerError;
    fn from_str(s: &str) -> Result<Self, LedgerError> {
        Seed::new(s)
    }
}

/// An ed25519 key pair and its identity.
#[derive(Clone)]
pub struct Keypair {
    signing: SigningKey,
    identity: Identity,
}

impl Keypair {
    /// The key pair of a 32-byte ed25519 secret key.
    pub fn from_secret(secret: [u8; 32]) -> Keypair {
        let signing = SigningKey::from_bytes(&secret);
        let identity = Identity(signing.verifying_key().to_bytes());
        Keypair { signing, identity }
    }

    /// The identity (public key).
    pub fn identity(&self) -> Identity {
        self.identity
    }

    /// The 32-byte secret key.
    pub fn secret_bytes(&self) -> [u8; 32] {
        self.signing.to_bytes()
    }

    /// Signs a 32-byte digest.
    pub fn sign_digest(&self, digest: &Hash32) -> [u8; 64] {
        self.signing.sign(&digest.0).to_bytes()
    }
}

impl fmt::Debug for Keypair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Keypair({})", self.identity)
    }
}

/// What signs a transaction: its source identity and a signature in a profile. An ed25519
/// [`Keypair`] signs in the comqute profile, a [`QubicKeypair`] in Qubic's.
pub trait Signer {
    /// The identity that signs (the transaction's source).
    fn identity(&self) -> Identity;
    /// The profile its signatures verify in.
    fn profile(&self) -> comqute_qpi::Profile;
    /// `tx` with its signature set (its source should be [`Signer::identity`]).
    fn sign_tx(&self, tx: crate::Transaction) -> crate::Transaction;
}

impl Signer for Keypair {
    fn identity(&self) -> Identity {
        self.identity
    }
    fn profile(&self) -> comqute_qpi::Profile {
        comqute_qpi::Profile::Comqute
    }
    fn sign_tx(&self, tx: crate::Transaction) -> crate::Transaction {
        tx.sign(self)
    }
}

/// A key in Qubic's profile: the seed's subseed, private key and FourQ public key, derived
/// exactly as Qubic's wallets do ([`comqute_qubic`]). Its `Debug` form hides the secret.
#[derive(Clone)]
pub struct QubicKeypair {
    key: comqute_qubic::Keypair,
    identity: Identity,
}

impl QubicKeypair {
    /// The key of a 55-letter seed, by Qubic's rules.
    pub fn from_seed(seed: &str) -> Result<QubicKeypair, LedgerError> {
        let seed =
            comqute_qubic::Seed::new(seed).map_err(|e| LedgerError::BadSeed(e.to_string()))?;
        let key = seed.keypair();
        let identity = Identity(key.public_key().0);
        Ok(QubicKeypair { key, identity })
    }

    /// The identity as a Qubic wallet shows it (K12 checksum).
    pub fn qubic_identity(&self) -> String {
        self.key.identity()
    }

    /// Signs a 32-byte digest (SchnorrQ, deterministic).
    pub fn sign_digest(&self, digest: &Hash32) -> [u8; 64] {
        self.key.sign_digest(&digest.0)
    }
}

impl fmt::Debug for QubicKeypair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "QubicKeypair({})", self.key.identity())
    }
}

impl Signer for QubicKeypair {
    fn identity(&self) -> Identity {
        self.identity
    }
    fn profile(&self) -> comqute_qpi::Profile {
        comqute_qpi::Profile::Qubic
    }
    fn sign_tx(&self, mut tx: crate::Transaction) -> crate::Transaction {
        tx.signature = self.sign_digest(&tx.digest_in(comqute_qpi::Profile::Qubic));
        tx
    }
}

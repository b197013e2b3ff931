//! Seeds and keys, derived as Qubic derives them (`four_q.h`: `getSubseed`,
//! `getPrivateKey`, `getPublicKey`):
//!
//! ```text
//! seed      55 letters a–z
//! subseed   = K12(seed letters mapped to the bytes 0–25)
//! private   = K12(subseed)
//! public    = encode(private · G)      (FourQ, private read as a 256-bit little-endian integer)
//! identity  = the public key in the 60-letter codec, uppercase
//! ```
//!
//! Secrets (seed, subseed, private key) are wiped when dropped and never printed: their
//! `Debug` forms hide them, and they have no `Display`.

use std::fmt;
use std::str::FromStr;

use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::curve::Point;
use crate::error::QubicError;
use crate::identity::{self, Case};
use crate::k12::k12;
use crate::scalar;
use crate::schnorrq;

/// Letters in a seed.
pub const SEED_LEN: usize = 55;

/// A seed: 55 lowercase letters.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct Seed([u8; SEED_LEN]);

impl Seed {
    /// Checks Qubic's rule: exactly 55 characters, each `a`–`z`.
    pub fn new(s: &str) -> Result<Seed, QubicError> {
        let raw = s.as_bytes();
        if raw.len() != SEED_LEN {
            return Err(QubicError::SeedLength { found: raw.len() });
        }
        if let Some(position) = raw.iter().position(|c| !c.is_ascii_lowercase()) {
            return Err(QubicError::SeedLetter { position });
        }
        let mut out = [0u8; SEED_LEN];
        out.copy_from_slice(raw);
        Ok(Seed(out))
    }

    /// A seed from 55 bytes of randomness (each reduced modulo 26, as Qubic's wallets do).
    pub fn from_entropy(bytes: &[u8; SEED_LEN]) -> Seed {
        Seed(std::array::from_fn(|i| b'a' + bytes[i] % 26))
    }

    /// The letters.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("a seed is ASCII")
    }

    /// The subseed: K12 of the letters mapped to 0–25 (`getSubseed`).
    pub fn subseed(&self) -> Subseed {
        let mut digits = [0u8; SEED_LEN];
        for (d, c) in digits.iter_mut().zip(self.0.iter()) {
            *d = c - b'a';
        }
        let sub = Subseed(k12(&digits));
        digits.zeroize();
        sub
    }

    /// The key pair of this seed.
    pub fn keypair(&self) -> Keypair {
        Keypair::from_subseed(self.subseed())
    }
}

impl fmt::Debug for Seed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Seed(…)")
    }
}

impl FromStr for Seed {
    type Err = QubicError;
    fn from_str(s: &str) -> Result<Seed, QubicError> {
        Seed::new(s)
    }
}

/// The 32-byte subseed: what Qubic's `sign` takes.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct Subseed(pub [u8; 32]);

impl Subseed {
    /// The private key: K12 of the subseed (`getPrivateKey`).
    pub fn private_key(&self) -> PrivateKey {
        PrivateKey(k12(&self.0))
    }
}

impl fmt::Debug for Subseed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Subseed(…)")
    }
}

/// The 32-byte private key, a scalar read little-endian.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct PrivateKey(pub [u8; 32]);

impl PrivateKey {
    /// The public key: FourQ's generator times the key, encoded (`getPublicKey`). Constant
    /// time in the key.
    pub fn public_key(&self) -> PublicKey {
        let mut k = scalar::reduce(&self.0);
        let p = Point::mul_base(&k).encode();
        k.zeroize();
        PublicKey(p)
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PrivateKey(…)")
    }
}

/// A 32-byte public key (an encoded FourQ point). Shown and parsed as a 60-letter uppercase
/// identity.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct PublicKey(pub [u8; 32]);

impl PublicKey {
    /// The identity: 60 uppercase letters (`getIdentity(key, id, false)`).
    pub fn identity(&self) -> String {
        identity::encode(&self.0, Case::Upper)
    }

    /// Parses an uppercase identity, checking its checksum. The result is 32 bytes; whether
    /// they are a point on the curve is [`PublicKey::is_valid_point`]'s question.
    pub fn from_identity(s: &str) -> Result<PublicKey, QubicError> {
        identity::decode(s, Case::Upper).map(PublicKey)
    }

    /// Whether the bytes decode to a point of the prime-order subgroup that
    /// [`crate::verify`] accepts as a key (every key a wallet derives from a seed is one).
    pub fn is_valid_point(&self) -> bool {
        schnorrq::decode_key(&self.0).is_some()
    }

    /// The raw bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.identity())
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.identity())
    }
}

impl FromStr for PublicKey {
    type Err = QubicError;
    fn from_str(s: &str) -> Result<PublicKey, QubicError> {
        PublicKey::from_identity(s)
    }
}

/// A subseed and its public key: everything needed to sign.
#[derive(Clone)]
pub struct Keypair {
    subseed: Subseed,
    public: PublicKey,
}

impl Keypair {
    /// The key pair of a subseed.
    pub fn from_subseed(subseed: Subseed) -> Keypair {
        let public = subseed.private_key().public_key();
        Keypair { subseed, public }
    }

    /// The public key.
    pub fn public_key(&self) -> PublicKey {
        self.public
    }

    /// The identity: 60 uppercase letters.
    pub fn identity(&self) -> String {
        self.public.identity()
    }

    /// The subseed (a secret).
    pub fn subseed(&self) -> &Subseed {
        &self.subseed
    }

    /// Signs a 32-byte digest: Qubic's `sign(subseed, publicKey, digest)`, deterministic.
    pub fn sign_digest(&self, digest: &[u8; 32]) -> [u8; 64] {
        schnorrq::sign(&self.subseed.0, &self.public.0, digest)
    }
}

impl fmt::Debug for Keypair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Keypair({})", self.public.identity())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_rules() {
        assert_eq!(Seed::new("abc"), Err(QubicError::SeedLength { found: 3 }));
        let mut s = "a".repeat(55);
        s.replace_range(7..8, "A");
        assert_eq!(Seed::new(&s), Err(QubicError::SeedLetter { position: 7 }));
        let ok = Seed::new(&"z".repeat(55)).unwrap();
        assert_eq!(format!("{ok:?}"), "Seed(…)");
        assert_eq!(
            Seed::from_entropy(&[27; 55]).as_str(),
            "b".repeat(55).as_str()
        );
    }

    #[test]
    fn the_seed_of_55_as() {
        // From issue 23, and Qubic's own key tests.
        let kp = Seed::new(&"a".repeat(55)).unwrap().keypair();
        assert_eq!(
            kp.identity(),
            "BZBQFLLBNCXEMGLOBHUVFTLUPLVCPQUASSILFABOFFBCADQSSUPNWLZBQEXK"
        );
        assert!(kp.public_key().is_valid_point());
        assert_eq!(kp.identity().parse::<PublicKey>(), Ok(kp.public_key()));
        assert_eq!(format!("{:?}", kp.subseed()), "Subseed(…)");
    }
}

//! Newtypes shared by every crate: identities, hashes, amounts, ticks and epochs, and the
//! 60-letter identity codec.
//!
//! # The identity codec
//! A 32-byte value (an ed25519 public key, a hash, a transaction id) is shown as 60 letters:
//! the value read as four little-endian `u64` words, each written as 14 base-26 digits
//! (`A`=0 … `Z`=25), least significant digit first; then a 4-letter checksum: the first three
//! bytes of `blake3(value)` read as a little-endian integer, masked with `0x3FFFF`, written as
//! 4 base-26 digits, least significant first. Identities use uppercase, hashes and
//! transaction ids lowercase. This is Qubic's codec with blake3 in place of K12.

use std::fmt;
use std::str::FromStr;

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::CodecError;

/// Number of letters in an encoded identity or hash.
pub const IDENTITY_LEN: usize = 60;
const WORD_DIGITS: usize = 14;
const CHECKSUM_DIGITS: usize = 4;

/// The largest amount a transaction may carry (Qubic's `MAX_AMOUNT`).
pub const MAX_AMOUNT: i64 = 1_000_000_000_000_000;

/// The checksum of the 60-letter form, by the process's display profile
/// ([`crate::profile::display`]): blake3 (comqute) or K12 (Qubic) of the 32 bytes.
fn checksum(bytes: &[u8; 32]) -> u32 {
    let b: [u8; 3] = match crate::profile::display() {
        crate::Profile::Comqute => {
            let h = blake3::hash(bytes);
            let h = h.as_bytes();
            [h[0], h[1], h[2]]
        }
        crate::Profile::Qubic => {
            use k12::{ExtendableOutput, Update};
            let mut h = k12::Kt128::default();
            h.update(bytes);
            let mut out = [0u8; 3];
            h.finalize_xof_into(&mut out);
            out
        }
    };
    (u32::from(b[0]) | (u32::from(b[1]) << 8) | (u32::from(b[2]) << 16)) & 0x3FFFF
}

/// Writes `bytes` with the 60-letter codec; `base` is `b'A'` or `b'a'`.
fn encode60(bytes: &[u8; 32], base: u8) -> String {
    let mut out = String::with_capacity(IDENTITY_LEN);
    for chunk in bytes.chunks_exact(8) {
        let mut word =
            u64::from_le_bytes(chunk.try_into().expect("chunks_exact(8) yields 8 bytes"));
        for _ in 0..WORD_DIGITS {
            out.push(char::from(base + (word % 26) as u8));
            word /= 26;
        }
    }
    let mut sum = checksum(bytes);
    for _ in 0..CHECKSUM_DIGITS {
        out.push(char::from(base + (sum % 26) as u8));
        sum /= 26;
    }
    out
}

/// Reads the 60-letter codec; `base` is `b'A'` or `b'a'`.
fn decode60(s: &str, base: u8) -> Result<[u8; 32], CodecError> {
    let raw = s.as_bytes();
    if raw.len() != IDENTITY_LEN {
        return Err(CodecError::Length {
            expected: IDENTITY_LEN,
            found: raw.len(),
        });
    }
    // Every character is checked, first to last, before any is decoded: the words are read
    // last digit first, so checking while decoding reported a later bad character (13 for
    // an all-lowercase identity) when an earlier one was already wrong.
    if let Some(i) = raw.iter().position(|&c| c < base || c >= base + 26) {
        return Err(CodecError::Letter {
            position: i,
            found: char::from(raw[i]),
            case: if base == b'A' {
                "uppercase"
            } else {
                "lowercase"
            },
        });
    }
    let digit = |i: usize| u64::from(raw[i] - base);
    let mut bytes = [0u8; 32];
    for w in 0..4 {
        let mut word: u128 = 0;
        for d in (0..WORD_DIGITS).rev() {
            word = word * 26 + u128::from(digit(w * WORD_DIGITS + d));
        }
        let word = u64::try_from(word).map_err(|_| CodecError::Overflow { word: w })?;
        bytes[w * 8..w * 8 + 8].copy_from_slice(&word.to_le_bytes());
    }
    let mut sum: u32 = 0;
    for d in (0..CHECKSUM_DIGITS).rev() {
        sum = sum * 26 + digit(4 * WORD_DIGITS + d) as u32;
    }
    if sum != checksum(&bytes) {
        return Err(CodecError::Checksum);
    }
    Ok(bytes)
}

macro_rules! serde_via_string {
    ($t:ty) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_string())
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <String as Deserialize>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

/// An identity: an ed25519 public key, or a contract's id `(index, 0, 0, 0)`.
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, BorshSerialize, BorshDeserialize,
)]
pub struct Identity(pub [u8; 32]);

impl Identity {
    /// The null identity (all zeros), `AAAA…AFXIB`.
    pub const NULL: Identity = Identity([0; 32]);

    /// The id of the contract with this index: the key `(index, 0, 0, 0)` as four u64 words.
    pub const fn contract(index: ContractIndex) -> Identity {
        let mut b = [0u8; 32];
        let le = (index.0 as u64).to_le_bytes();
        let mut i = 0;
        while i < 8 {
            b[i] = le[i];
            i += 1;
        }
        Identity(b)
    }

    /// The contract index this identity stands for, if it is a contract id.
    pub fn contract_index(&self) -> Option<ContractIndex> {
        if self.0[8..].iter().any(|&b| b != 0) {
            return None;
        }
        let word = u64::from_le_bytes(self.0[..8].try_into().expect("slice of 8 bytes"));
        if word == 0 || word > u64::from(u32::MAX) {
            return None;
        }
        Some(ContractIndex(word as u32))
    }

    /// The raw 32 bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&encode60(&self.0, b'A'))
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.contract_index() {
            Some(i) => write!(f, "Identity(contract {})", i.0),
            None => write!(f, "Identity({})", self),
        }
    }
}

impl FromStr for Identity {
    type Err = CodecError;
    fn from_str(s: &str) -> Result<Self, CodecError> {
        decode60(s, b'A').map(Identity)
    }
}
serde_via_string!(Identity);

/// A 32-byte blake3 digest: a transaction id, a state digest, a blob's hash. Shown with the
/// identity codec in lowercase.
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, BorshSerialize, BorshDeserialize,
)]
pub struct Hash32(pub [u8; 32]);

impl Hash32 {
    /// The zero hash.
    pub const ZERO: Hash32 = Hash32([0; 32]);

    /// blake3 of `data`.
    pub fn of(data: &[u8]) -> Hash32 {
        Hash32(*blake3::hash(data).as_bytes())
    }

    /// The raw 32 bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lowercase hexadecimal, 64 characters.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Parses 64 hexadecimal characters.
    pub fn from_hex(s: &str) -> Result<Hash32, CodecError> {
        let raw = s.as_bytes();
        if raw.len() != 64 {
            return Err(CodecError::Length {
                expected: 64,
                found: raw.len(),
            });
        }
        let mut out = [0u8; 32];
        for (i, pair) in raw.chunks_exact(2).enumerate() {
            let hi = hex_val(pair[0]).ok_or(CodecError::Hex { position: 2 * i })?;
            let lo = hex_val(pair[1]).ok_or(CodecError::Hex {
                position: 2 * i + 1,
            })?;
            out[i] = hi << 4 | lo;
        }
        Ok(Hash32(out))
    }
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

impl fmt::Display for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&encode60(&self.0, b'a'))
    }
}

impl fmt::Debug for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash32({})", self)
    }
}

impl FromStr for Hash32 {
    type Err = CodecError;
    /// Accepts the 60-letter lowercase form or 64 hex characters.
    fn from_str(s: &str) -> Result<Self, CodecError> {
        if s.len() == 64 {
            Hash32::from_hex(s)
        } else {
            decode60(s, b'a').map(Hash32)
        }
    }
}
serde_via_string!(Hash32);

/// The index of a contract (Qubic's contract index); contract ids are `(index, 0, 0, 0)`.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Debug,
    Default,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
pub struct ContractIndex(pub u32);

impl fmt::Display for ContractIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A tick number.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Debug,
    Default,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
pub struct Tick(pub u32);

impl Tick {
    /// The tick `n` ticks later, saturating at `u32::MAX`.
    pub const fn plus(self, n: u32) -> Tick {
        Tick(self.0.saturating_add(n))
    }
    /// The next tick, or `None` at `u32::MAX`.
    pub fn next(self) -> Option<Tick> {
        self.0.checked_add(1).map(Tick)
    }
}

impl fmt::Display for Tick {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An epoch number.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Debug,
    Default,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
pub struct Epoch(pub u16);

impl fmt::Display for Epoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An amount of money (Qubic units). Non-negative in every balance; arithmetic is checked.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Debug,
    Default,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
pub struct Amount(pub i64);

impl Amount {
    /// Zero.
    pub const ZERO: Amount = Amount(0);

    /// `self + other`, or `None` on overflow.
    pub fn checked_add(self, other: Amount) -> Option<Amount> {
        self.0.checked_add(other.0).map(Amount)
    }
    /// `self - other`, or `None` on overflow.
    pub fn checked_sub(self, other: Amount) -> Option<Amount> {
        self.0.checked_sub(other.0).map(Amount)
    }
    /// `self * n`, or `None` on overflow.
    pub fn checked_mul(self, n: i64) -> Option<Amount> {
        self.0.checked_mul(n).map(Amount)
    }
    /// Whether the amount is a valid transaction amount: `0 ≤ amount ≤ 10^15`.
    pub fn is_valid_tx_amount(self) -> bool {
        (0..=MAX_AMOUNT).contains(&self.0)
    }
    /// `self × bps / 10,000`, rounded down, computed without overflow.
    pub fn basis_points(self, bps: u16) -> Amount {
        Amount(((i128::from(self.0) * i128::from(bps)) / 10_000) as i64)
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_identity_matches_qubic_shape() {
        let s = Identity::NULL.to_string();
        assert_eq!(s.len(), 60);
        assert!(s.starts_with(&"A".repeat(56)));
        assert_eq!(s.parse::<Identity>().unwrap(), Identity::NULL);
    }

    #[test]
    fn contract_ids_round_trip() {
        let id = Identity::contract(ContractIndex(4));
        assert_eq!(id.contract_index(), Some(ContractIndex(4)));
        assert_eq!(id.to_string().parse::<Identity>().unwrap(), id);
        assert_eq!(&id.to_string()[..1], "E");
    }

    #[test]
    fn refuses_bad_text() {
        let good = Identity([7; 32]).to_string();
        assert!(matches!(
            good[..59].parse::<Identity>(),
            Err(CodecError::Length { .. })
        ));
        let mut lower = good.clone();
        lower.replace_range(3..4, "a");
        assert!(matches!(
            lower.parse::<Identity>(),
            Err(CodecError::Letter { position: 3, .. })
        ));
        let mut bad_sum = good.clone().into_bytes();
        bad_sum[59] = if bad_sum[59] == b'A' { b'B' } else { b'A' };
        let bad_sum = String::from_utf8(bad_sum).unwrap();
        assert_eq!(bad_sum.parse::<Identity>(), Err(CodecError::Checksum));
        // Fourteen Z's exceed a u64.
        let mut over = good.into_bytes();
        over[..14].copy_from_slice(b"ZZZZZZZZZZZZZZ");
        let over = String::from_utf8(over).unwrap();
        assert_eq!(
            over.parse::<Identity>(),
            Err(CodecError::Overflow { word: 0 })
        );
    }

    #[test]
    fn the_first_bad_character_is_reported() {
        let good = Identity([7; 32]).to_string();
        // All lowercase: character 0 is the first wrong one (it said 13, the last digit of
        // the first word, which is read first).
        assert_eq!(
            good.to_lowercase().parse::<Identity>(),
            Err(CodecError::Letter {
                position: 0,
                found: good.chars().next().unwrap().to_ascii_lowercase(),
                case: "uppercase",
            })
        );
        assert_eq!(
            good.to_lowercase()
                .parse::<Identity>()
                .unwrap_err()
                .to_string(),
            format!(
                "character 0 is {:?}, not an uppercase letter",
                good.chars().next().unwrap().to_ascii_lowercase()
            )
        );
        // Two bad characters, in the second word and in the checksum: the earlier one.
        let mut two = good.into_bytes();
        two[20] = b'7';
        two[58] = b'x';
        let two = String::from_utf8(two).unwrap();
        assert_eq!(
            two.parse::<Identity>(),
            Err(CodecError::Letter {
                position: 20,
                found: '7',
                case: "uppercase",
            })
        );
        // The same for the lowercase form of hashes.
        let h = Hash32::of(b"abc").to_string().to_uppercase();
        assert!(matches!(
            h.parse::<Hash32>(),
            Err(CodecError::Letter { position: 0, .. })
        ));
    }

    #[test]
    fn hashes_use_lowercase() {
        let h = Hash32::of(b"abc");
        let s = h.to_string();
        assert!(s.bytes().all(|c| c.is_ascii_lowercase()));
        assert_eq!(s.parse::<Hash32>().unwrap(), h);
        assert_eq!(h.to_hex().parse::<Hash32>().unwrap(), h);
        assert!(s.to_uppercase().parse::<Hash32>().is_err());
    }
}

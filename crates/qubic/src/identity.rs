//! Qubic's 60-letter codec for 32-byte values (`getIdentity` in Qubic's `four_q.h`): the
//! value as four little-endian `u64` words, each written as 14 base-26 digits (`A` = 0 …
//! `Z` = 25), least significant digit first; then a 4-letter checksum: the first three bytes
//! of `K12(value)` read as a little-endian integer, masked with `0x3FFFF`, as 4 base-26
//! digits, least significant first. Public keys are shown in uppercase (identities), hashes
//! and transaction ids in lowercase.
//!
//! comqute's own profile uses the same codec with blake3 in place of K12
//! (`comqute_qpi::Identity`); the two checksums differ, so an identity of one profile does
//! not parse in the other.

use crate::error::QubicError;
use crate::k12::k12;

/// Letters in an encoded value.
pub const IDENTITY_LEN: usize = 60;
const WORD_DIGITS: usize = 14;

/// Upper- or lowercase letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    /// `A`–`Z`: identities (public keys).
    Upper,
    /// `a`–`z`: hashes and transaction ids.
    Lower,
}

impl Case {
    fn base(self) -> u8 {
        match self {
            Case::Upper => b'A',
            Case::Lower => b'a',
        }
    }
    fn name(self) -> &'static str {
        match self {
            Case::Upper => "uppercase",
            Case::Lower => "lowercase",
        }
    }
}

fn checksum(bytes: &[u8; 32]) -> u32 {
    let h = k12(bytes);
    (u32::from(h[0]) | (u32::from(h[1]) << 8) | (u32::from(h[2]) << 16)) & 0x3FFFF
}

/// Writes 32 bytes as 60 letters of `case`: Qubic's `getIdentity(bytes, id, isLowerCase)`.
pub fn encode(bytes: &[u8; 32], case: Case) -> String {
    let base = case.base();
    let mut out = String::with_capacity(IDENTITY_LEN);
    for chunk in bytes.chunks_exact(8) {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        let mut word = u64::from_le_bytes(w);
        for _ in 0..WORD_DIGITS {
            out.push(char::from(base + (word % 26) as u8));
            word /= 26;
        }
    }
    let mut sum = checksum(bytes);
    for _ in 0..4 {
        out.push(char::from(base + (sum % 26) as u8));
        sum /= 26;
    }
    out
}

/// Reads 60 letters of `case` back into 32 bytes, checking the checksum. Qubic's
/// `getPublicKeyFromIdentity` reads the same letters; its wallets check the checksum apart.
pub fn decode(s: &str, case: Case) -> Result<[u8; 32], QubicError> {
    let raw = s.as_bytes();
    if raw.len() != IDENTITY_LEN {
        return Err(QubicError::IdentityLength { found: raw.len() });
    }
    let base = case.base();
    if let Some(i) = raw.iter().position(|&c| c < base || c >= base + 26) {
        return Err(QubicError::IdentityLetter {
            position: i,
            found: s[i..].chars().next().unwrap_or('?'),
            case: case.name(),
        });
    }
    let mut bytes = [0u8; 32];
    for w in 0..4 {
        let mut word: u128 = 0;
        for d in (0..WORD_DIGITS).rev() {
            word = word * 26 + u128::from(raw[w * WORD_DIGITS + d] - base);
        }
        let word = u64::try_from(word).map_err(|_| QubicError::IdentityOverflow { word: w })?;
        bytes[w * 8..w * 8 + 8].copy_from_slice(&word.to_le_bytes());
    }
    let mut sum: u32 = 0;
    for d in (0..4).rev() {
        sum = sum * 26 + u32::from(raw[4 * WORD_DIGITS + d] - base);
    }
    if sum != checksum(&bytes) {
        return Err(QubicError::IdentityChecksum);
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses() {
        let v: [u8; 32] = std::array::from_fn(|i| (i * 37 + 11) as u8);
        let up = encode(&v, Case::Upper);
        let low = encode(&v, Case::Lower);
        assert_eq!(up.to_lowercase(), low);
        assert_eq!(decode(&up, Case::Upper), Ok(v));
        assert_eq!(decode(&low, Case::Lower), Ok(v));
        assert!(matches!(
            decode(&low, Case::Upper),
            Err(QubicError::IdentityLetter { position: 0, .. })
        ));
        assert_eq!(
            decode(&up[..59], Case::Upper),
            Err(QubicError::IdentityLength { found: 59 })
        );
        let mut bad = up.into_bytes();
        bad[59] = if bad[59] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            decode(std::str::from_utf8(&bad).unwrap(), Case::Upper),
            Err(QubicError::IdentityChecksum)
        );
        // 14 Zs are more than 64 bits.
        let over = format!("{}{}", "Z".repeat(14), "A".repeat(46));
        assert_eq!(
            decode(&over, Case::Upper),
            Err(QubicError::IdentityOverflow { word: 0 })
        );
        // A multi-byte character is reported whole, not as a broken byte.
        let utf = format!("{}é{}", "A".repeat(10), "A".repeat(48));
        assert!(matches!(
            decode(&utf, Case::Upper),
            Err(QubicError::IdentityLetter {
                position: 10,
                found: 'é',
                ..
            })
        ));
    }

    #[test]
    fn null_id() {
        // Qubic's NULL_ID.
        assert_eq!(
            encode(&[0; 32], Case::Upper),
            format!("{}FXIB", "A".repeat(56))
        );
    }
}

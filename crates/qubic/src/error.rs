//! The crate's error type.

use thiserror::Error;

/// Why an input is refused. No variant carries a secret: a bad seed is described by its
/// length or a position, never by its letters.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum QubicError {
    /// A seed is not 55 characters long.
    #[error("a seed has 55 letters, found {found} characters")]
    SeedLength {
        /// How many bytes were given.
        found: usize,
    },
    /// A seed has a character other than `a`–`z`.
    #[error("character {position} of the seed is not a lowercase letter a-z")]
    SeedLetter {
        /// Zero-based position of the first bad character.
        position: usize,
    },
    /// An identity or hash is not 60 characters long.
    #[error("expected 60 letters, found {found} characters")]
    IdentityLength {
        /// How many bytes were given.
        found: usize,
    },
    /// An identity or hash has a character that is not a letter of the expected case.
    #[error("character {position} is {found:?}, not {} {case} letter", if case.starts_with('u') { "an" } else { "a" })]
    IdentityLetter {
        /// Zero-based position.
        position: usize,
        /// The character found.
        found: char,
        /// "uppercase" or "lowercase".
        case: &'static str,
    },
    /// A 14-letter group is larger than a u64.
    #[error("letters {} to {} are larger than 64 bits", word * 14, word * 14 + 13)]
    IdentityOverflow {
        /// Which of the four groups (0–3).
        word: usize,
    },
    /// The 4-letter checksum does not match.
    #[error("checksum does not match")]
    IdentityChecksum,
    /// A packed transaction is shorter than 144 bytes.
    #[error("a transaction has at least 144 bytes, found {found}")]
    TxTooShort {
        /// How many bytes were given.
        found: usize,
    },
    /// A packed transaction's `inputSize` does not match its length.
    #[error("inputSize says {declared} bytes of input but {actual} follow the header")]
    TxInputSize {
        /// `inputSize` from the header.
        declared: usize,
        /// Bytes between header and signature.
        actual: usize,
    },
    /// An unsigned transaction is shorter than its 80-byte header.
    #[error("an unsigned transaction has at least 80 bytes, found {found}")]
    UnsignedTooShort {
        /// How many bytes were given.
        found: usize,
    },
    /// The key pair signing a transaction is not its source.
    #[error("the signing key is not the transaction's source")]
    SourceMismatch,
    /// A signature does not verify.
    #[error("signature does not verify")]
    BadSignature,
}

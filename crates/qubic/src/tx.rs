//! Transactions in the Qubic profile: the packed layout is the same as comqute's
//!
//! ```text
//! source 32 | destination 32 | amount i64 LE | tick u32 LE | inputType u16 LE |
//! inputSize u16 LE | input | signature 64
//! ```
//!
//! but the digest that is signed is `K12(everything before the signature)`, the signature is
//! SchnorrQ ([`crate::sign`]) and the id is `K12(all the bytes)`, shown in lowercase with the
//! 60-letter codec (Qubic's `processBroadcastTransaction`, and qubic-cli's
//! `getTxHashFromDigest`, which is `getIdentity(digest, id, isLowerCase = true)`).
//!
//! These functions take packed bytes so that the ledger's `Transaction` type can stay where it
//! is; they check the layout's lengths, not amounts or ticks (the ledger's rules).

use crate::error::QubicError;
use crate::identity::{self, Case};
use crate::k12::k12;
use crate::keys::Keypair;
use crate::schnorrq;

/// Bytes before the input.
pub const HEADER_LEN: usize = 80;
/// Bytes of a signature.
pub const SIGNATURE_LEN: usize = 64;

/// The signed digest: K12 of the unsigned bytes (header and input).
pub fn digest(unsigned: &[u8]) -> [u8; 32] {
    k12(unsigned)
}

/// The transaction id: K12 of the signed bytes.
pub fn id(signed: &[u8]) -> [u8; 32] {
    k12(signed)
}

/// The transaction id as Qubic shows it: 60 lowercase letters.
pub fn id_string(signed: &[u8]) -> String {
    identity::encode(&id(signed), Case::Lower)
}

fn check_layout(bytes: &[u8], signed: bool) -> Result<(), QubicError> {
    let min = HEADER_LEN + if signed { SIGNATURE_LEN } else { 0 };
    if bytes.len() < min {
        return Err(if signed {
            QubicError::TxTooShort { found: bytes.len() }
        } else {
            QubicError::UnsignedTooShort { found: bytes.len() }
        });
    }
    let declared = usize::from(u16::from_le_bytes([bytes[78], bytes[79]]));
    let actual = bytes.len() - min;
    if declared != actual {
        return Err(QubicError::TxInputSize { declared, actual });
    }
    Ok(())
}

/// Signs unsigned packed bytes (header and input) with `key`, which must be the source:
/// returns the signed bytes.
pub fn sign(unsigned: &[u8], key: &Keypair) -> Result<Vec<u8>, QubicError> {
    check_layout(unsigned, false)?;
    if unsigned[..32] != key.public_key().0 {
        return Err(QubicError::SourceMismatch);
    }
    let sig = key.sign_digest(&digest(unsigned));
    let mut out = Vec::with_capacity(unsigned.len() + SIGNATURE_LEN);
    out.extend_from_slice(unsigned);
    out.extend_from_slice(&sig);
    Ok(out)
}

/// Checks a signed transaction's layout and its signature by its source; returns its id.
pub fn verify(signed: &[u8]) -> Result<[u8; 32], QubicError> {
    check_layout(signed, true)?;
    let body = signed.len() - SIGNATURE_LEN;
    let mut source = [0u8; 32];
    source.copy_from_slice(&signed[..32]);
    let mut sig = [0u8; 64];
    sig.copy_from_slice(&signed[body..]);
    if !schnorrq::verify(&source, &digest(&signed[..body]), &sig) {
        return Err(QubicError::BadSignature);
    }
    Ok(id(signed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Seed;

    fn unsigned(source: [u8; 32], input: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&source);
        b.extend_from_slice(&[0u8; 32]);
        b.extend_from_slice(&1000i64.to_le_bytes());
        b.extend_from_slice(&42u32.to_le_bytes());
        b.extend_from_slice(&0u16.to_le_bytes());
        b.extend_from_slice(&(input.len() as u16).to_le_bytes());
        b.extend_from_slice(input);
        b
    }

    #[test]
    fn signs_verifies_and_refuses() {
        let kp = Seed::new(&"a".repeat(55)).unwrap().keypair();
        let other = Seed::new(&"b".repeat(55)).unwrap().keypair();
        let u = unsigned(kp.public_key().0, &[1, 2, 3]);
        let signed = sign(&u, &kp).unwrap();
        assert_eq!(signed.len(), 147);
        assert_eq!(verify(&signed), Ok(id(&signed)));
        assert_eq!(id_string(&signed).len(), 60);
        assert_eq!(sign(&u, &other), Err(QubicError::SourceMismatch));
        assert_eq!(
            verify(&signed[..100]),
            Err(QubicError::TxTooShort { found: 100 })
        );
        let mut bad = signed.clone();
        bad[78] = 9;
        assert_eq!(
            verify(&bad),
            Err(QubicError::TxInputSize {
                declared: 9,
                actual: 3
            })
        );
        let mut bad = signed;
        bad[64] ^= 1; // the amount
        assert_eq!(verify(&bad), Err(QubicError::BadSignature));
    }
}

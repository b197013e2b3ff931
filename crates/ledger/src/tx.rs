//! The transaction: Qubic's packed layout, signed with ed25519 over a blake3 digest.
//!
//! ```text
//! source[32] | destination[32] | amount i64 | tick u32 | input_type u16 | input_size u16 |
//! input[input_size ≤ 1024] | signature[64]
//! ```
//! Little-endian, no padding: 144 + `input_size` bytes. The signature is ed25519 (strict
//! verification) over `blake3(everything before the signature)`. The id is `blake3(all
//! bytes)`, shown in lowercase with the identity codec.

use comqute_qpi::{Amount, ContractIndex, Hash32, Identity, Profile, Tick, MAX_AMOUNT};
use ed25519_dalek::{Signature, VerifyingKey};
use serde::Serialize;
use thiserror::Error;

use crate::keys::Keypair;

/// Bytes before the input.
pub const HEADER_LEN: usize = 80;
/// Bytes of the signature.
pub const SIGNATURE_LEN: usize = 64;
/// The largest input.
pub const MAX_INPUT_SIZE: usize = 1024;
/// The smallest transaction (no input).
pub const MIN_TX_LEN: usize = HEADER_LEN + SIGNATURE_LEN;
/// The largest transaction.
pub const MAX_TX_LEN: usize = MIN_TX_LEN + MAX_INPUT_SIZE;
/// Inputs up to this size are packed for hashing in a smaller stack buffer.
const SMALL_INPUT: usize = 128;

/// A transaction id: blake3 of the signed bytes.
pub type TxId = Hash32;

/// Why bytes are not a valid transaction.
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum TxError {
    /// Fewer bytes than a transaction without input.
    #[error("transaction of {0} bytes is shorter than the minimum of 144")]
    TooShort(usize),
    /// More bytes than the largest transaction.
    #[error("transaction of {0} bytes is longer than the maximum of 1168")]
    TooLong(usize),
    /// `input_size` is over 1024.
    #[error("input size {0} is over the maximum of 1024")]
    InputTooLarge(usize),
    /// The byte count does not match `input_size`.
    #[error("input size says {declared} bytes of input but {actual} follow the header")]
    LengthMismatch {
        /// `input_size` from the header.
        declared: usize,
        /// Bytes actually present between header and signature.
        actual: usize,
    },
    /// A negative amount.
    #[error("amount {0} is negative")]
    NegativeAmount(i64),
    /// An amount over 10^15.
    #[error("amount {0} is over the maximum of 10^15")]
    AmountTooLarge(i64),
    /// The source is not a valid ed25519 public key.
    #[error("source is not a valid public key")]
    InvalidSourceKey,
    /// The signature does not verify.
    #[error("signature does not verify")]
    BadSignature,
    /// The source is a contract id; contracts do not sign.
    #[error("source is a contract id")]
    SourceIsContract,
}

/// A transaction, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    /// Who pays and signs.
    pub source: Identity,
    /// Who receives `amount`: an identity, or a contract id to invoke it.
    pub destination: Identity,
    /// Amount moved before the contract runs (the invocation reward).
    pub amount: Amount,
    /// The only tick in which it may run.
    pub tick: Tick,
    /// The procedure number (0 = a plain transfer).
    pub input_type: u16,
    /// The procedure's input (borsh), at most 1024 bytes.
    pub input: Vec<u8>,
    /// ed25519 signature over [`Transaction::digest`].
    pub signature: [u8; 64],
}

impl Transaction {
    /// An unsigned transaction (signature all zeros); sign it with [`Transaction::sign`].
    pub fn new(
        source: Identity,
        destination: Identity,
        amount: Amount,
        tick: Tick,
        input_type: u16,
        input: Vec<u8>,
    ) -> Transaction {
        Transaction {
            source,
            destination,
            amount,
            tick,
            input_type,
            input,
            signature: [0; 64],
        }
    }

    /// A call of `contract`'s procedure `input_type`.
    pub fn call(
        source: Identity,
        contract: ContractIndex,
        amount: Amount,
        tick: Tick,
        input_type: u16,
        input: Vec<u8>,
    ) -> Transaction {
        Transaction::new(
            source,
            Identity::contract(contract),
            amount,
            tick,
            input_type,
            input,
        )
    }

    /// Checks what can be checked without the signature: sizes and amount.
    pub fn check_shape(&self) -> Result<(), TxError> {
        if self.input.len() > MAX_INPUT_SIZE {
            return Err(TxError::InputTooLarge(self.input.len()));
        }
        if self.amount.0 < 0 {
            return Err(TxError::NegativeAmount(self.amount.0));
        }
        if self.amount.0 > MAX_AMOUNT {
            return Err(TxError::AmountTooLarge(self.amount.0));
        }
        if self.source.contract_index().is_some() {
            return Err(TxError::SourceIsContract);
        }
        Ok(())
    }

    fn write_unsigned(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.source.0);
        out.extend_from_slice(&self.destination.0);
        out.extend_from_slice(&self.amount.0.to_le_bytes());
        out.extend_from_slice(&self.tick.0.to_le_bytes());
        out.extend_from_slice(&self.input_type.to_le_bytes());
        out.extend_from_slice(&(self.input.len() as u16).to_le_bytes());
        out.extend_from_slice(&self.input);
    }

    /// The signed digest: blake3 of everything before the signature.
    pub fn digest(&self) -> Hash32 {
        let mut buf = Vec::with_capacity(HEADER_LEN + self.input.len());
        self.write_unsigned(&mut buf);
        Hash32::of(&buf)
    }

    /// The packed bytes. An input over 1024 bytes is written as is; [`Transaction::decode`]
    /// refuses it.
    pub fn encode(&self) -> Vec<u8> {
        let mut buf = Vec::with_capacity(MIN_TX_LEN + self.input.len());
        self.write_unsigned(&mut buf);
        buf.extend_from_slice(&self.signature);
        buf
    }

    /// The id: blake3 of the packed bytes.
    pub fn id(&self) -> TxId {
        // The same bytes as `encode`, packed on the stack (no allocation) when the input
        // fits the wire limit; an oversized one (refused later) takes the slow path.
        if self.input.len() > MAX_INPUT_SIZE {
            return Hash32::of(&self.encode());
        }
        // Most inputs are small: a buffer sized for them is cheaper to clear (the largest
        // one is 1,168 bytes, and clearing it cost a twentieth of the hashing).
        if self.input.len() <= SMALL_INPUT {
            return self.id_packed::<{ MIN_TX_LEN + SMALL_INPUT }>();
        }
        self.id_packed::<MAX_TX_LEN>()
    }

    /// [`Transaction::id`] packed into an `N`-byte buffer on the stack.
    fn id_packed<const N: usize>(&self) -> TxId {
        // Invariant: both callers pick N >= MIN_TX_LEN + the input's length, so every slice
        // below is in bounds.
        let mut buf = [0u8; N];
        buf[0..32].copy_from_slice(&self.source.0);
        buf[32..64].copy_from_slice(&self.destination.0);
        buf[64..72].copy_from_slice(&self.amount.0.to_le_bytes());
        buf[72..76].copy_from_slice(&self.tick.0.to_le_bytes());
        buf[76..78].copy_from_slice(&self.input_type.to_le_bytes());
        buf[78..80].copy_from_slice(&(self.input.len() as u16).to_le_bytes());
        let end = HEADER_LEN + self.input.len();
        buf[HEADER_LEN..end].copy_from_slice(&self.input);
        buf[end..end + 64].copy_from_slice(&self.signature);
        Hash32::of(&buf[..end + 64])
    }

    /// Signs with `key` (which should be the source's).
    pub fn sign(mut self, key: &Keypair) -> Transaction {
        self.signature = key.sign_digest(&self.digest());
        self
    }

    /// Verifies the signature against the source (strict ed25519).
    pub fn verify(&self) -> Result<(), TxError> {
        self.check_shape()?;
        let key =
            VerifyingKey::from_bytes(&self.source.0).map_err(|_| TxError::InvalidSourceKey)?;
        let sig = Signature::from_bytes(&self.signature);
        key.verify_strict(&self.digest().0, &sig)
            .map_err(|_| TxError::BadSignature)
    }

    /// The signed digest in `profile`: blake3 ([`Transaction::digest`]) or, in Qubic's,
    /// K12 of the same unsigned bytes.
    pub fn digest_in(&self, profile: Profile) -> Hash32 {
        match profile {
            Profile::Comqute => self.digest(),
            Profile::Qubic => {
                let mut buf = Vec::with_capacity(HEADER_LEN + self.input.len());
                self.write_unsigned(&mut buf);
                Hash32(comqute_qubic::tx::digest(&buf))
            }
        }
    }

    /// The id in `profile`: blake3 ([`Transaction::id`]) or K12 of the packed bytes.
    pub fn id_in(&self, profile: Profile) -> TxId {
        match profile {
            Profile::Comqute => self.id(),
            Profile::Qubic => Hash32(comqute_qubic::tx::id(&self.encode())),
        }
    }

    /// Verifies the signature in `profile`: ed25519 ([`Transaction::verify`]) or Qubic's
    /// SchnorrQ over the K12 digest.
    pub fn verify_in(&self, profile: Profile) -> Result<(), TxError> {
        match profile {
            Profile::Comqute => self.verify(),
            Profile::Qubic => {
                self.check_shape()?;
                let digest = self.digest_in(Profile::Qubic);
                if comqute_qubic::verify(&self.source.0, &digest.0, &self.signature) {
                    Ok(())
                } else {
                    Err(TxError::BadSignature)
                }
            }
        }
    }

    /// Signs with any [`crate::keys::Signer`] (an ed25519 key, or a Qubic key in that
    /// profile).
    pub fn sign_with(self, key: &(impl crate::keys::Signer + ?Sized)) -> Transaction {
        key.sign_tx(self)
    }

    /// Decodes packed bytes, refusing every malformed string with a typed error. The
    /// signature is not checked here; see [`Transaction::verify`].
    pub fn decode(bytes: &[u8]) -> Result<Transaction, TxError> {
        if bytes.len() < MIN_TX_LEN {
            return Err(TxError::TooShort(bytes.len()));
        }
        if bytes.len() > MAX_TX_LEN {
            return Err(TxError::TooLong(bytes.len()));
        }
        let arr32 =
            |at: usize| -> [u8; 32] { bytes[at..at + 32].try_into().expect("length checked") };
        let amount = i64::from_le_bytes(bytes[64..72].try_into().expect("length checked"));
        let tick = u32::from_le_bytes(bytes[72..76].try_into().expect("length checked"));
        let input_type = u16::from_le_bytes(bytes[76..78].try_into().expect("length checked"));
        let input_size = usize::from(u16::from_le_bytes(
            bytes[78..80].try_into().expect("length checked"),
        ));
        if input_size > MAX_INPUT_SIZE {
            return Err(TxError::InputTooLarge(input_size));
        }
        let actual = bytes.len() - MIN_TX_LEN;
        if actual != input_size {
            return Err(TxError::LengthMismatch {
                declared: input_size,
                actual,
            });
        }
        let tx = Transaction {
            source: Identity(arr32(0)),
            destination: Identity(arr32(32)),
            amount: Amount(amount),
            tick: Tick(tick),
            input_type,
            input: bytes[HEADER_LEN..HEADER_LEN + input_size].to_vec(),
            signature: bytes[HEADER_LEN + input_size..]
                .try_into()
                .expect("length checked"),
        };
        tx.check_shape()?;
        Ok(tx)
    }
}

/// A transaction whose signature has been checked (or, in harness mode, deliberately not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedTx {
    tx: Transaction,
    id: TxId,
}

impl VerifiedTx {
    /// Verifies `tx`.
    pub fn verify(tx: Transaction) -> Result<VerifiedTx, TxError> {
        tx.verify()?;
        let id = tx.id();
        Ok(VerifiedTx { tx, id })
    }
    /// Verifies `tx` in `profile` ([`Transaction::verify_in`]); its id is the profile's.
    pub fn verify_in(tx: Transaction, profile: Profile) -> Result<VerifiedTx, TxError> {
        tx.verify_in(profile)?;
        let id = tx.id_in(profile);
        Ok(VerifiedTx { tx, id })
    }
    /// Trusts `tx` without a signature check: only for harness mode and devnet powers.
    pub(crate) fn trusted(tx: Transaction, profile: Profile) -> Result<VerifiedTx, TxError> {
        tx.check_shape()?;
        let id = tx.id_in(profile);
        Ok(VerifiedTx { tx, id })
    }
    /// The transaction.
    pub fn tx(&self) -> &Transaction {
        &self.tx
    }
    /// The transaction, by value.
    pub fn into_tx(self) -> Transaction {
        self.tx
    }
    /// Its id.
    pub fn id(&self) -> TxId {
        self.id
    }
}

/// Verifies many transactions across all cores (rayon); one result per input, in order.
pub fn verify_all(txs: &[Transaction]) -> Vec<Result<(), TxError>> {
    use rayon::prelude::*;
    txs.par_iter()
        .with_min_len(64)
        .map(|t| t.verify())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Seed;

    fn signed() -> Transaction {
        let k = Seed::new(&"a".repeat(55)).unwrap().keypair();
        Transaction::new(
            k.identity(),
            Identity::contract(ContractIndex(1)),
            Amount(5),
            Tick(9),
            2,
            vec![1, 2, 3],
        )
        .sign(&k)
    }

    /// The id packed on the stack is blake3 of the wire bytes at every input length, on
    /// both sides of each buffer's limit and past the wire limit.
    #[test]
    fn the_id_hashes_the_packed_bytes_at_every_size() {
        let base = signed();
        for len in [0, 1, 63, 64, 127, 128, 129, 400, 1023, 1024, 1025, 2000] {
            let tx = Transaction {
                input: (0..len).map(|i| (i * 7 + 3) as u8).collect(),
                ..base.clone()
            };
            assert_eq!(tx.id(), Hash32::of(&tx.encode()), "input of {len} bytes");
        }
    }

    #[test]
    fn round_trips_and_verifies() {
        let tx = signed();
        let bytes = tx.encode();
        assert_eq!(bytes.len(), 147);
        let back = Transaction::decode(&bytes).unwrap();
        assert_eq!(back, tx);
        back.verify().unwrap();
    }

    #[test]
    fn refuses_malformed() {
        let bytes = signed().encode();
        assert_eq!(
            Transaction::decode(&bytes[..100]),
            Err(TxError::TooShort(100))
        );
        assert_eq!(
            Transaction::decode(&vec![0; 2000]),
            Err(TxError::TooLong(2000))
        );
        let mut b = bytes.clone();
        b[78] = 4; // input_size 4, only 3 present
        assert_eq!(
            Transaction::decode(&b),
            Err(TxError::LengthMismatch {
                declared: 4,
                actual: 3
            })
        );
        let mut b = bytes.clone();
        b[79] = 0x08; // 2051
        assert_eq!(Transaction::decode(&b), Err(TxError::InputTooLarge(2051)));
        let mut b = bytes.clone();
        b[71] = 0x80; // negative amount
        assert!(matches!(
            Transaction::decode(&b),
            Err(TxError::NegativeAmount(_))
        ));
        let mut b = bytes;
        b[70] = 0x7f; // huge amount
        assert!(matches!(
            Transaction::decode(&b),
            Err(TxError::AmountTooLarge(_))
        ));
    }
}

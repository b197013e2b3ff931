//! SchnorrQ on FourQ as Qubic computes it (`sign` and `verify` in Qubic's `four_q.h`).
//!
//! Qubic's variant of SchnorrQ hashes with K12 (64-byte output) where Microsoft's uses
//! SHA-512, and derives the nonce from the subseed and the digest:
//!
//! ```text
//! k      = K12(subseed), 64 bytes     k[0..32] is the private key (K12 is an XOF: the
//!                                     32-byte private key is this output's prefix)
//! r      = K12(k[32..64] ‖ digest)[0..32] mod N
//! R      = encode(r·G)
//! h      = K12(R ‖ publicKey ‖ digest)[0..32] mod N
//! S      = (r − k[0..32]·h) mod N
//! sig    = R ‖ S (S in 32 little-endian bytes)
//! ```
//!
//! so signing is deterministic: the same subseed, key and digest give the same 64 bytes.
//!
//! Verification follows Qubic's current `verify` (qubic/core, after its 2026 security patches):
//! bit 127 of the key and of R must be clear; S must be below N (no malleable twin S + N);
//! the keys whose 2nd to 4th words are zero, but for the sign bit, are refused (the neutral
//! point among them); the key must decode; then `encode(S·G + h·A) == R`.
//!
//! Two deliberate differences, both refusals. Qubic refuses the keys of small order
//! (`[392]·A` neutral); this crate refuses every key outside the prime-order subgroup
//! (`[N]·A` not neutral), a superset. And it refuses a key whose y has a half written as p
//! (the second form of zero), where Qubic's point check compares representations rather
//! than values; no key derived from a seed is written so. For a key in the subgroup — every key derived from a seed — the two computations
//! agree exactly. For a crafted key with a small-order component, Qubic's result depends on
//! its endomorphism-based multiplication (`h·A` is not a function of `h mod N` there), so
//! matching it would mean copying that algorithm; this crate refuses such keys instead and so
//! never accepts a signature Qubic refuses.

use zeroize::Zeroize;

use crate::curve::Point;
use crate::k12::k12_64;
use crate::scalar::{self, Limbs};

/// Signs a 32-byte digest: Qubic's `sign(subseed, publicKey, messageDigest, signature)`.
///
/// `public_key` is only hashed, as in Qubic: passing a key that is not the subseed's gives a
/// signature that does not verify. Constant time in the secrets.
pub fn sign(subseed: &[u8; 32], public_key: &[u8; 32], digest: &[u8; 32]) -> [u8; 64] {
    let mut k = k12_64(subseed);
    let mut nonce_input = [0u8; 64];
    nonce_input[..32].copy_from_slice(&k[32..]);
    nonce_input[32..].copy_from_slice(digest);
    let mut r_hash = k12_64(&nonce_input);
    let mut first = [0u8; 32];
    first.copy_from_slice(&r_hash[..32]);
    let mut r = scalar::reduce(&first);
    let big_r = Point::mul_base(&r).encode();

    let mut h_input = [0u8; 96];
    h_input[..32].copy_from_slice(&big_r);
    h_input[32..64].copy_from_slice(public_key);
    h_input[64..].copy_from_slice(digest);
    let h_hash = k12_64(&h_input);
    let mut h_bytes = [0u8; 32];
    h_bytes.copy_from_slice(&h_hash[..32]);
    let h = scalar::reduce(&h_bytes);

    let mut secret_bytes = [0u8; 32];
    secret_bytes.copy_from_slice(&k[..32]);
    let mut secret = scalar::reduce(&secret_bytes);
    let mut kh = scalar::mul_mod(&secret, &h);
    let s = scalar::sub_mod(&r, &kh);

    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(&big_r);
    sig[32..].copy_from_slice(&scalar::to_le_bytes(&s));

    k.zeroize();
    nonce_input.zeroize();
    r_hash.zeroize();
    first.zeroize();
    r.zeroize();
    secret_bytes.zeroize();
    secret.zeroize();
    kh.zeroize();
    sig
}

/// The point of a public key if [`verify`] accepts it as a key (see the module doc): bit 127
/// clear, not one of the keys Qubic's fast path refuses, both halves of y below p, on the
/// curve, in the prime-order subgroup.
pub(crate) fn decode_key(public_key: &[u8; 32]) -> Option<Point> {
    if public_key[15] & 0x80 != 0 {
        return None;
    }
    let w = scalar::from_le_bytes(public_key);
    // y's halves written as p, the second form of zero: Qubic's point check compares
    // representations there and may refuse what a canonical check accepts; refuse them all.
    const P_LO: u64 = u64::MAX;
    const P_HI: u64 = 0x7FFF_FFFF_FFFF_FFFF;
    if (w[0] == P_LO && w[1] == P_HI) || (w[2] == P_LO && w[3] & P_HI == P_HI) {
        return None;
    }
    // Qubic's fast path for the neutral point: words 1–3 zero, the sign bit aside.
    if w[1] == 0 && w[2] == 0 && w[3] & 0x7FFF_FFFF_FFFF_FFFF == 0 {
        return None;
    }
    let a = Point::decode(public_key)?;
    if !a.in_prime_subgroup() {
        return None;
    }
    Some(a)
}

/// Verifies a signature on a 32-byte digest: Qubic's `verify(publicKey, messageDigest,
/// signature)` (see the module doc for the one, stricter, difference).
pub fn verify(public_key: &[u8; 32], digest: &[u8; 32], signature: &[u8; 64]) -> bool {
    if public_key[15] & 0x80 != 0 || signature[15] & 0x80 != 0 {
        return false;
    }
    let mut s_bytes = [0u8; 32];
    s_bytes.copy_from_slice(&signature[32..]);
    if !scalar::is_canonical(&s_bytes) {
        return false;
    }
    let Some(a) = decode_key(public_key) else {
        return false;
    };
    let mut h_input = [0u8; 96];
    h_input[..32].copy_from_slice(&signature[..32]);
    h_input[32..64].copy_from_slice(public_key);
    h_input[64..].copy_from_slice(digest);
    let h_hash = k12_64(&h_input);
    let mut h_bytes = [0u8; 32];
    h_bytes.copy_from_slice(&h_hash[..32]);
    // A is in the prime-order subgroup, so h·A only depends on h mod N.
    let h: Limbs = scalar::from_le_bytes(&h_bytes);
    let s: Limbs = scalar::from_le_bytes(&s_bytes);
    let r = Point::double_mul_base_vartime(&s, &h, &a).encode();
    r[..] == signature[..32]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Seed;

    #[test]
    fn signs_and_verifies_deterministically() {
        let kp = Seed::new(&"a".repeat(55)).unwrap().keypair();
        let pk = kp.public_key().0;
        for i in 0u8..8 {
            let d = crate::k12::k12(&[i]);
            let sig = kp.sign_digest(&d);
            assert_eq!(sig, kp.sign_digest(&d));
            assert!(verify(&pk, &d, &sig));
            let mut other = d;
            other[0] ^= 1;
            assert!(!verify(&pk, &other, &sig));
            let mut bad = sig;
            bad[32] ^= 1;
            assert!(!verify(&pk, &d, &bad));
            let mut bad = sig;
            bad[0] ^= 1;
            assert!(!verify(&pk, &d, &bad));
        }
    }

    #[test]
    fn refuses_the_malleable_twin() {
        let kp = Seed::new(&"b".repeat(55)).unwrap().keypair();
        let d = [7u8; 32];
        let sig = kp.sign_digest(&d);
        let mut s_bytes = [0u8; 32];
        s_bytes.copy_from_slice(&sig[32..]);
        let s = scalar::from_le_bytes(&s_bytes);
        let mut twin = [0u64; 4];
        let mut carry = 0u64;
        for i in 0..4 {
            let (x, c1) = s[i].overflowing_add(scalar::N[i]);
            let (x, c2) = x.overflowing_add(carry);
            twin[i] = x;
            carry = u64::from(c1 | c2);
        }
        let mut bad = sig;
        bad[32..].copy_from_slice(&scalar::to_le_bytes(&twin));
        assert!(verify(&kp.public_key().0, &d, &sig));
        assert!(!verify(&kp.public_key().0, &d, &bad));
    }

    #[test]
    fn refuses_the_neutral_point_forgery() {
        // With A = (0, 1), S·G + h·A = S·G for every message: the forgery Qubic's fast path
        // stops. Key bytes 01 00 … 00.
        let mut neutral = [0u8; 32];
        neutral[0] = 1;
        let s = [7u64, 0, 0, 0];
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(&Point::mul_base(&s).encode());
        sig[32..].copy_from_slice(&scalar::to_le_bytes(&s));
        for d in [[0u8; 32], [0xAB; 32]] {
            assert!(!verify(&neutral, &d, &sig));
        }
        // Small-order keys: NULL_ID (i, 0), (−i, 0) and (0, −1).
        let mut minus_one = [0xFFu8; 32];
        minus_one[0] = 0xFE;
        minus_one[15] = 0x7F;
        minus_one[16..].fill(0);
        let mut minus_i = [0u8; 32];
        minus_i[31] = 0x80;
        for key in [[0u8; 32], minus_i, minus_one] {
            assert!(Point::decode(&key).is_some());
            assert!(decode_key(&key).is_none());
            assert!(!verify(&key, &[0x5A; 32], &sig));
        }
        // The same points with a half of y written as p instead of 0.
        let mut alias = [0u8; 32];
        alias[..16].fill(0xFF);
        alias[15] = 0x7F;
        assert!(Point::decode(&alias).is_some());
        assert!(decode_key(&alias).is_none());
    }
}

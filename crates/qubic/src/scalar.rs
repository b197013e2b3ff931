//! Integers modulo N, the prime order of FourQ's main subgroup (246 bits), as four
//! little-endian `u64` limbs. Reduction, products and differences run in constant time.

use subtle::{Choice, ConditionallySelectable};

/// N, the order of the generator.
pub(crate) const N: [u64; 4] = [
    0x2FB2_540E_C776_8CE7,
    0xDFBD_004D_FE0F_7999,
    0xF053_9782_9CBC_14E5,
    0x0029_CBC1_4E5E_0A72,
];

/// A value below N (or, for the raw 256-bit scalars given to a point multiplication, any
/// 256-bit integer: see [`crate::curve`]).
pub(crate) type Limbs = [u64; 4];

fn sub_borrow(a: &Limbs, b: &Limbs) -> (Limbs, Choice) {
    let mut out = [0u64; 4];
    let mut borrow = 0u64;
    for i in 0..4 {
        let (d, b1) = a[i].overflowing_sub(b[i]);
        let (d, b2) = d.overflowing_sub(borrow);
        out[i] = d;
        borrow = u64::from(b1) | u64::from(b2);
    }
    (out, Choice::from(borrow as u8))
}

fn add_limbs(a: &Limbs, b: &Limbs) -> Limbs {
    let mut out = [0u64; 4];
    let mut carry = 0u64;
    for i in 0..4 {
        let (s, c1) = a[i].overflowing_add(b[i]);
        let (s, c2) = s.overflowing_add(carry);
        out[i] = s;
        carry = u64::from(c1) | u64::from(c2);
    }
    out
}

fn select(a: &Limbs, b: &Limbs, choice: Choice) -> Limbs {
    let mut out = [0u64; 4];
    for i in 0..4 {
        out[i] = u64::conditional_select(&a[i], &b[i], choice);
    }
    out
}

/// `x mod N` for an integer given as little-endian limbs of any length: one bit at a time,
/// from the top, with a masked subtraction of N after each step.
fn reduce_limbs(x: &[u64]) -> Limbs {
    let mut r = [0u64; 4];
    for i in (0..x.len() * 64).rev() {
        let bit = (x[i / 64] >> (i % 64)) & 1;
        // r < N < 2^246, so 2r + 1 fits in 256 bits.
        r = [
            (r[0] << 1) | bit,
            (r[1] << 1) | (r[0] >> 63),
            (r[2] << 1) | (r[1] >> 63),
            (r[3] << 1) | (r[2] >> 63),
        ];
        let (d, borrow) = sub_borrow(&r, &N);
        r = select(&d, &r, borrow);
    }
    r
}

/// Reads 32 little-endian bytes as an integer.
pub(crate) fn from_le_bytes(b: &[u8; 32]) -> Limbs {
    let mut out = [0u64; 4];
    for (i, chunk) in b.chunks_exact(8).enumerate() {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        out[i] = u64::from_le_bytes(w);
    }
    out
}

/// Writes an integer as 32 little-endian bytes.
pub(crate) fn to_le_bytes(x: &Limbs) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, w) in x.iter().enumerate() {
        out[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
    }
    out
}

/// 32 little-endian bytes reduced modulo N.
pub(crate) fn reduce(b: &[u8; 32]) -> Limbs {
    reduce_limbs(&from_le_bytes(b))
}

/// `a·b mod N`.
pub(crate) fn mul_mod(a: &Limbs, b: &Limbs) -> Limbs {
    let mut wide = [0u64; 8];
    for i in 0..4 {
        let mut carry: u128 = 0;
        for j in 0..4 {
            let t = u128::from(a[i]) * u128::from(b[j]) + u128::from(wide[i + j]) + carry;
            wide[i + j] = t as u64;
            carry = t >> 64;
        }
        wide[i + 4] = carry as u64;
    }
    reduce_limbs(&wide)
}

/// `a − b mod N` for `a, b < N`.
pub(crate) fn sub_mod(a: &Limbs, b: &Limbs) -> Limbs {
    let (d, borrow) = sub_borrow(a, b);
    select(&d, &add_limbs(&d, &N), borrow)
}

/// Whether 32 little-endian bytes are an integer below N (not secret: a signature's S).
pub(crate) fn is_canonical(b: &[u8; 32]) -> bool {
    let x = from_le_bytes(b);
    for i in (0..4).rev() {
        if x[i] != N[i] {
            return x[i] < N[i];
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Reference `x mod N`: binary long division on a growable integer (variable time, plain).
    fn mod_ref(x: &[u64]) -> Limbs {
        let mut r: Vec<u64> = x.to_vec();
        r.push(0);
        let ge = |a: &[u64], b: &[u64]| {
            for k in (0..a.len()).rev() {
                if a[k] != b[k] {
                    return a[k] > b[k];
                }
            }
            true
        };
        for shift in (0..=(x.len() * 64 - 246)).rev() {
            // m = N << shift, as many limbs as r
            let mut m = vec![0u64; r.len()];
            for (i, w) in N.iter().enumerate() {
                let (q, s) = (shift / 64, shift % 64);
                m[i + q] |= w << s;
                if s > 0 {
                    m[i + q + 1] |= w >> (64 - s);
                }
            }
            if ge(&r, &m) {
                let mut borrow = false;
                for k in 0..r.len() {
                    let (d, b1) = r[k].overflowing_sub(m[k]);
                    let (d, b2) = d.overflowing_sub(u64::from(borrow));
                    r[k] = d;
                    borrow = b1 || b2;
                }
            }
        }
        [r[0], r[1], r[2], r[3]]
    }

    proptest! {
        #[test]
        fn reduction_matches_long_division(x in any::<[u64; 4]>(), y in any::<[u64; 4]>()) {
            prop_assert_eq!(reduce_limbs(&x), mod_ref(&x));
            let (a, b) = (reduce_limbs(&x), reduce_limbs(&y));
            let mut wide = [0u64; 8];
            // a·b by the reference path: reduce the schoolbook product.
            for i in 0..4 {
                let mut carry: u128 = 0;
                for j in 0..4 {
                    let t = u128::from(a[i]) * u128::from(b[j]) + u128::from(wide[i + j]) + carry;
                    wide[i + j] = t as u64;
                    carry = t >> 64;
                }
                wide[i + 4] = carry as u64;
            }
            prop_assert_eq!(mul_mod(&a, &b), mod_ref(&wide));
            let back = reduce_limbs(&add_limbs(&sub_mod(&a, &b), &b));
            prop_assert_eq!(back, a);
        }
    }

    #[test]
    fn canonical_bound() {
        let n = to_le_bytes(&N);
        assert!(!is_canonical(&n));
        let mut below = N;
        below[0] -= 1;
        assert!(is_canonical(&to_le_bytes(&below)));
        assert_eq!(reduce(&n), [0; 4]);
    }
}

//! The fields of FourQ: GF(p) with the Mersenne prime p = 2^127 − 1, and GF(p²) = GF(p)(i)
//! with i² = −1.
//!
//! Every operation runs in constant time: no branch and no memory access depends on a value
//! (`u128` products compile to `mul`, carries to `adc`/`setc`, choices to masks).
//!
//! An element of GF(p) is kept below 2^127, so both `0` and `p` stand for zero; only
//! [`Fp::canonical`] (and what is built on it: equality, encoding) tells them apart.

use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};

/// p = 2^127 − 1.
const P: u128 = (1 << 127) - 1;

/// Folds bit 127 back in (2^127 ≡ 1): the result is below 2^127 for every input below
/// 2^128 − 1, which is all the sums and products here produce.
#[inline(always)]
const fn fold(x: u128) -> u128 {
    (x & P) + (x >> 127)
}

#[inline(always)]
fn mask128(c: Choice) -> u128 {
    0u128.wrapping_sub(u128::from(c.unwrap_u8()))
}

/// An element of GF(2^127 − 1), below 2^127.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Fp(u128);

impl Fp {
    pub(crate) const ZERO: Fp = Fp(0);
    pub(crate) const ONE: Fp = Fp(1);

    /// The element whose representative is the low 127 bits of `x` (`p` is a second form of
    /// zero).
    pub(crate) const fn from_u127(x: u128) -> Fp {
        Fp(x & P)
    }

    /// The value in `[0, p)`.
    pub(crate) fn canonical(self) -> u128 {
        // self.0 == p exactly when self.0 + 1 has bit 127 set.
        let is_p = Choice::from(((self.0.wrapping_add(1)) >> 127) as u8);
        self.0 & !mask128(is_p)
    }

    pub(crate) fn add(self, b: Fp) -> Fp {
        Fp(fold(self.0 + b.0))
    }

    pub(crate) fn neg(self) -> Fp {
        Fp(P - self.0)
    }

    pub(crate) fn sub(self, b: Fp) -> Fp {
        self.add(b.neg())
    }

    pub(crate) fn mul(self, b: Fp) -> Fp {
        let (a0, a1) = (self.0 & u128::from(u64::MAX), self.0 >> 64);
        let (b0, b1) = (b.0 & u128::from(u64::MAX), b.0 >> 64);
        let lo = a0 * b0; // < 2^128
        let mid = a0 * b1 + a1 * b0; // each < 2^127
        let hi = a1 * b1; // < 2^126
        let (lo, carry) = lo.overflowing_add(mid << 64);
        let hi = hi + (mid >> 64) + u128::from(carry); // the product is < 2^254: hi < 2^126
                                                       // product = hi·2^128 + lo ≡ 2·hi + lo (mod p), as 2^128 ≡ 2.
        Fp(fold(fold(lo) + (hi << 1)))
    }

    pub(crate) fn square(self) -> Fp {
        self.mul(self)
    }

    /// Halves: `x/2 mod p`.
    pub(crate) fn half(self) -> Fp {
        // An odd x becomes x + p (even, below 2^128), then shifts right.
        let odd = Choice::from((self.0 & 1) as u8);
        Fp((self.0 + (P & mask128(odd))) >> 1)
    }

    /// `self^(2^125 − 1)`, by a fixed chain of squarings and products.
    pub(crate) fn pow_2_125_minus_1(self) -> Fp {
        let mut t = self;
        for _ in 1..125 {
            t = t.square().mul(self);
        }
        t
    }

    /// `self^(2^k)`.
    pub(crate) fn square_n(self, k: u32) -> Fp {
        let mut t = self;
        for _ in 0..k {
            t = t.square();
        }
        t
    }

    /// The inverse (`0` for `0`): `self^(p − 2)` with p − 2 = 4·(2^125 − 1) + 1.
    pub(crate) fn invert(self) -> Fp {
        self.pow_2_125_minus_1().square_n(2).mul(self)
    }

    pub(crate) fn is_zero(self) -> Choice {
        self.canonical().ct_eq(&0)
    }

    /// Bit 126 of the canonical value (the sign bit of FourQ's encoding).
    pub(crate) fn bit126(self) -> u8 {
        ((self.canonical() >> 126) & 1) as u8
    }
}

impl ConditionallySelectable for Fp {
    fn conditional_select(a: &Fp, b: &Fp, choice: Choice) -> Fp {
        let m = mask128(choice);
        Fp((a.0 & !m) | (b.0 & m))
    }
}

impl ConstantTimeEq for Fp {
    fn ct_eq(&self, other: &Fp) -> Choice {
        self.canonical().ct_eq(&other.canonical())
    }
}

/// An element `re + im·i` of GF(p²).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Fp2 {
    pub(crate) re: Fp,
    pub(crate) im: Fp,
}

impl Fp2 {
    pub(crate) const ZERO: Fp2 = Fp2 {
        re: Fp::ZERO,
        im: Fp::ZERO,
    };
    pub(crate) const ONE: Fp2 = Fp2 {
        re: Fp::ONE,
        im: Fp::ZERO,
    };

    pub(crate) const fn new(re: u128, im: u128) -> Fp2 {
        Fp2 {
            re: Fp::from_u127(re),
            im: Fp::from_u127(im),
        }
    }

    pub(crate) fn add(self, b: Fp2) -> Fp2 {
        Fp2 {
            re: self.re.add(b.re),
            im: self.im.add(b.im),
        }
    }

    pub(crate) fn sub(self, b: Fp2) -> Fp2 {
        Fp2 {
            re: self.re.sub(b.re),
            im: self.im.sub(b.im),
        }
    }

    pub(crate) fn neg(self) -> Fp2 {
        Fp2 {
            re: self.re.neg(),
            im: self.im.neg(),
        }
    }

    pub(crate) fn double(self) -> Fp2 {
        self.add(self)
    }

    pub(crate) fn mul(self, b: Fp2) -> Fp2 {
        let t0 = self.re.mul(b.re);
        let t1 = self.im.mul(b.im);
        let t2 = self.re.add(self.im).mul(b.re.add(b.im));
        Fp2 {
            re: t0.sub(t1),
            im: t2.sub(t0).sub(t1),
        }
    }

    pub(crate) fn square(self) -> Fp2 {
        Fp2 {
            re: self.re.add(self.im).mul(self.re.sub(self.im)),
            im: self.re.mul(self.im).add(self.re.mul(self.im)),
        }
    }

    /// The inverse (`0` for `0`).
    pub(crate) fn invert(self) -> Fp2 {
        let n = self.re.square().add(self.im.square()).invert();
        Fp2 {
            re: self.re.mul(n),
            im: self.im.neg().mul(n),
        }
    }

    pub(crate) fn is_zero(self) -> Choice {
        self.re.is_zero() & self.im.is_zero()
    }
}

impl ConditionallySelectable for Fp2 {
    fn conditional_select(a: &Fp2, b: &Fp2, choice: Choice) -> Fp2 {
        Fp2 {
            re: Fp::conditional_select(&a.re, &b.re, choice),
            im: Fp::conditional_select(&a.im, &b.im, choice),
        }
    }
}

impl ConstantTimeEq for Fp2 {
    fn ct_eq(&self, other: &Fp2) -> Choice {
        self.re.ct_eq(&other.re) & self.im.ct_eq(&other.im)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Reference arithmetic on canonical values with a slow but obvious 256-bit product.
    fn mulmod_ref(a: u128, b: u128) -> u128 {
        // Double-and-add over b's bits: every intermediate stays below 2^128.
        let (a, b) = (a % P, b % P);
        let mut acc: u128 = 0;
        for i in (0..127).rev() {
            acc = (acc << 1) % P;
            if (b >> i) & 1 == 1 {
                acc = (acc + a) % P;
            }
        }
        acc
    }

    fn fp() -> impl Strategy<Value = u128> {
        prop_oneof![
            any::<u128>().prop_map(|x| x & P),
            Just(0),
            Just(P),
            Just(P - 1),
            Just(1)
        ]
    }

    proptest! {
        #[test]
        fn matches_reference(a in fp(), b in fp()) {
            let (x, y) = (Fp::from_u127(a), Fp::from_u127(b));
            prop_assert_eq!(x.mul(y).canonical(), mulmod_ref(a, b));
            prop_assert_eq!(x.add(y).canonical(), (a % P + b % P) % P);
            prop_assert_eq!(x.sub(y).canonical(), (a % P + P - b % P) % P);
            prop_assert_eq!(x.half().add(x.half()).canonical(), a % P);
            if a % P != 0 {
                prop_assert_eq!(x.mul(x.invert()).canonical(), 1);
            }
        }

        #[test]
        fn fp2_inverse(a in fp(), b in fp()) {
            let x = Fp2::new(a, b);
            let one = x.mul(x.invert());
            if a % P != 0 || b % P != 0 {
                prop_assert!(bool::from(one.ct_eq(&Fp2::ONE)));
            }
            prop_assert!(bool::from(x.square().ct_eq(&x.mul(x))));
        }
    }

    #[test]
    fn zero_has_two_forms() {
        assert!(bool::from(Fp::from_u127(P).is_zero()));
        assert!(bool::from(Fp::from_u127(P).ct_eq(&Fp::ZERO)));
        assert_eq!(Fp::from_u127(P).canonical(), 0);
    }
}

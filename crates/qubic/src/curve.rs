//! FourQ: the twisted Edwards curve −x² + y² = 1 + d·x²·y² over GF(p²), p = 2^127 − 1
//! (Costello and Longa, "FourQ: four-dimensional decompositions on a Q-curve over the
//! Mersenne prime", ASIACRYPT 2015; the parameters below are those of the paper and of
//! Microsoft's FourQlib).
//!
//! Points are kept in extended coordinates (X : Y : Z : T) with x = X/Z, y = Y/Z, T = X·Y/Z,
//! and added with the formulas of Hisil, Wong, Carter and Dawson (2008) for a = −1. Since −1
//! is a square and d is not in GF(p²), those formulas are complete: they hold for every pair
//! of points, the neutral point and points of small order included, so no input takes a
//! special path.
//!
//! Scalar multiplication uses 4-bit windows with a constant-time table lookup: the same
//! doublings, additions and memory accesses for every scalar. The endomorphisms that make
//! FourQlib fast are not used; they change the speed, not the result: for a point of the
//! prime-order subgroup every correct method gives the same multiple.

use std::sync::OnceLock;

use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};

use crate::field::Fp2;
use crate::scalar::{Limbs, N};

/// The curve constant d.
const D: Fp2 = Fp2::new(
    0x0000_0000_0000_00E4_0000_0000_0000_0142,
    0x5E47_2F84_6657_E0FC_B382_1488_F1FC_0C8D,
);

/// The generator G, of prime order N.
const GX: Fp2 = Fp2::new(
    0x1A34_7223_7C2F_B305_2865_92AD_7B38_33AA,
    0x1E1F_553F_2878_AA9C_9686_9FB3_60AC_77F6,
);
const GY: Fp2 = Fp2::new(
    0x0E3F_EE9B_A120_785A_B924_A246_2BCB_B287,
    0x6E1C_4AF8_630E_0242_49A7_C344_844C_8B5C,
);

/// A point in extended twisted Edwards coordinates.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Point {
    x: Fp2,
    y: Fp2,
    z: Fp2,
    t: Fp2,
}

/// A point prepared for addition: (Y + X, Y − X, 2Z, 2d·T).
#[derive(Clone, Copy, Debug, Default)]
struct Cached {
    ypx: Fp2,
    ymx: Fp2,
    z2: Fp2,
    t2d: Fp2,
}

impl ConditionallySelectable for Cached {
    fn conditional_select(a: &Cached, b: &Cached, c: Choice) -> Cached {
        Cached {
            ypx: Fp2::conditional_select(&a.ypx, &b.ypx, c),
            ymx: Fp2::conditional_select(&a.ymx, &b.ymx, c),
            z2: Fp2::conditional_select(&a.z2, &b.z2, c),
            t2d: Fp2::conditional_select(&a.t2d, &b.t2d, c),
        }
    }
}

/// The multiples 0·P … 15·P, for 4-bit windows.
type Table = [Cached; 16];

/// Whether (x, y) satisfies −x² + y² = 1 + d·x²·y².
fn on_curve(x: Fp2, y: Fp2) -> bool {
    let (x2, y2) = (x.square(), y.square());
    let lhs = y2.sub(x2);
    let rhs = Fp2::ONE.add(D.mul(x2).mul(y2));
    bool::from(lhs.ct_eq(&rhs))
}

impl Point {
    pub(crate) const IDENTITY: Point = Point {
        x: Fp2::ZERO,
        y: Fp2::ONE,
        z: Fp2::ONE,
        t: Fp2::ZERO,
    };

    fn from_affine(x: Fp2, y: Fp2) -> Point {
        Point {
            x,
            y,
            z: Fp2::ONE,
            t: x.mul(y),
        }
    }

    pub(crate) fn generator() -> Point {
        Point::from_affine(GX, GY)
    }

    fn cached(&self) -> Cached {
        Cached {
            ypx: self.y.add(self.x),
            ymx: self.y.sub(self.x),
            z2: self.z.double(),
            t2d: D.mul(self.t).double(),
        }
    }

    /// 2·self (dbl-2008-hwcd with a = −1).
    pub(crate) fn double(&self) -> Point {
        let a = self.x.square();
        let b = self.y.square();
        let c = self.z.square().double();
        let e = self.x.add(self.y).square().sub(a).sub(b);
        let g = b.sub(a);
        let f = g.sub(c);
        let h = a.add(b).neg();
        Point {
            x: e.mul(f),
            y: g.mul(h),
            z: f.mul(g),
            t: e.mul(h),
        }
    }

    /// self + q (add-2008-hwcd-3 with a = −1, k = 2d).
    fn add_cached(&self, q: &Cached) -> Point {
        let a = self.y.sub(self.x).mul(q.ymx);
        let b = self.y.add(self.x).mul(q.ypx);
        let c = self.t.mul(q.t2d);
        let d = self.z.mul(q.z2);
        let (e, f, g, h) = (b.sub(a), d.sub(c), d.add(c), b.add(a));
        Point {
            x: e.mul(f),
            y: g.mul(h),
            z: f.mul(g),
            t: e.mul(h),
        }
    }

    pub(crate) fn add(&self, q: &Point) -> Point {
        self.add_cached(&q.cached())
    }

    /// Whether this is the neutral point (0, 1).
    pub(crate) fn is_identity(&self) -> bool {
        bool::from(self.x.is_zero() & self.y.ct_eq(&self.z))
    }

    fn table(&self) -> Table {
        let mut t = [Point::IDENTITY.cached(); 16];
        let mut acc = Point::IDENTITY;
        for entry in t.iter_mut().skip(1) {
            acc = acc.add(self);
            *entry = acc.cached();
        }
        t
    }

    /// k·self for a 256-bit integer `k` (not reduced), in constant time.
    pub(crate) fn mul(&self, k: &Limbs) -> Point {
        mul_with_table(&self.table(), k)
    }

    /// k·G for a 256-bit integer `k`, in constant time.
    pub(crate) fn mul_base(k: &Limbs) -> Point {
        mul_with_table(base_table(), k)
    }

    /// s·G + h·self, for public scalars (verification).
    pub(crate) fn double_mul_base_vartime(s: &Limbs, h: &Limbs, a: &Point) -> Point {
        let (tg, ta) = (base_table(), a.table());
        let mut q = Point::IDENTITY;
        for w in (0..64).rev() {
            for _ in 0..4 {
                q = q.double();
            }
            q = q.add_cached(&tg[nibble(s, w) as usize]);
            q = q.add_cached(&ta[nibble(h, w) as usize]);
        }
        q
    }

    /// Whether N·self is the neutral point, i.e. the point lies in the prime-order subgroup.
    pub(crate) fn in_prime_subgroup(&self) -> bool {
        self.mul(&N).is_identity()
    }

    /// The affine coordinates.
    fn to_affine(self) -> (Fp2, Fp2) {
        let zi = self.z.invert();
        (self.x.mul(zi), self.y.mul(zi))
    }

    /// FourQ's 32-byte encoding: y (real part, then imaginary part, 16 bytes each,
    /// little-endian), and in the top bit the sign of x: bit 126 of x's real part, or of its
    /// imaginary part when the real part is zero.
    pub(crate) fn encode(&self) -> [u8; 32] {
        let (x, y) = self.to_affine();
        let mut out = [0u8; 32];
        out[..16].copy_from_slice(&y.re.canonical().to_le_bytes());
        out[16..].copy_from_slice(&y.im.canonical().to_le_bytes());
        let sign = u8::conditional_select(&x.re.bit126(), &x.im.bit126(), x.re.is_zero());
        out[31] |= sign << 7;
        out
    }

    /// Decodes 32 bytes the way Qubic's `decode` does (FourQlib's point decompression): the
    /// same square root, the same choice of root, the same retry with the imaginary part of
    /// x negated, the same refusal when neither lies on the curve. The representative of y
    /// may be `p` (a second form of zero), as in Qubic. Bit 127 must be clear (Qubic's
    /// `verify` refuses a key with it set before decoding).
    pub(crate) fn decode(bytes: &[u8; 32]) -> Option<Point> {
        let mut lo = [0u8; 16];
        let mut hi = [0u8; 16];
        lo.copy_from_slice(&bytes[..16]);
        hi.copy_from_slice(&bytes[16..]);
        let (lo, hi) = (u128::from_le_bytes(lo), u128::from_le_bytes(hi));
        if lo >> 127 != 0 {
            return None;
        }
        let sign = bytes[31] >> 7;
        let y = Fp2::new(lo, hi); // `new` drops bit 127 of the imaginary part: the sign
        let y2 = y.square();
        let u = y2.sub(Fp2::ONE);
        let v = D.mul(y2).add(Fp2::ONE);

        // x² = u/v = (t1 + t2·i)/t0 with t0 = |v|², t1 + t2·i = u·conj(v).
        let t0 = v.re.square().add(v.im.square());
        let t1 = u.re.mul(v.re).add(u.im.mul(v.im));
        let t2 = u.im.mul(v.re).sub(u.re.mul(v.im));
        let t3 = t1.square().add(t2.square()).square_n(125); // √(t1² + t2²), as p ≡ 3 mod 4
        let mut t = t1.add(t3);
        if bool::from(t.is_zero()) {
            t = t1.sub(t3);
        }
        let t = t.add(t);
        let r = t0.square().mul(t0).mul(t).pow_2_125_minus_1();
        let t3 = t0.mul(r);
        let x0 = t.mul(t3);
        let check = t0.mul(x0.square());
        let (mut x0, mut x1) = (x0.half(), t2.mul(t3));
        if !bool::from(t.sub(check).is_zero()) {
            std::mem::swap(&mut x0, &mut x1);
        }
        let mut x = Fp2 { re: x0, im: x1 };
        let computed = if bool::from(x.re.is_zero()) {
            x.im.bit126()
        } else {
            x.re.bit126()
        };
        if computed != sign {
            x = x.neg();
        }
        if !on_curve(x, y) {
            x.im = x.im.neg();
            if !on_curve(x, y) {
                return None;
            }
        }
        Some(Point::from_affine(x, y))
    }
}

fn nibble(k: &Limbs, w: usize) -> u64 {
    (k[w / 16] >> ((w % 16) * 4)) & 0xF
}

fn mul_with_table(table: &Table, k: &Limbs) -> Point {
    let mut q = Point::IDENTITY;
    for w in (0..64).rev() {
        for _ in 0..4 {
            q = q.double();
        }
        let digit = nibble(k, w);
        let mut entry = table[0];
        for (j, candidate) in table.iter().enumerate().skip(1) {
            entry.conditional_assign(candidate, (j as u64).ct_eq(&digit));
        }
        q = q.add_cached(&entry);
    }
    q
}

fn base_table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| Point::generator().table())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scalar;

    #[test]
    fn generator_is_on_the_curve_and_has_order_n() {
        assert!(on_curve(GX, GY));
        assert!(Point::generator().in_prime_subgroup());
        assert!(!Point::generator().is_identity());
        let mut n_minus_1 = N;
        n_minus_1[0] -= 1;
        // (N − 1)·G = −G: same y, opposite x.
        let (x, y) = Point::mul_base(&n_minus_1).to_affine();
        assert!(bool::from(y.ct_eq(&GY)));
        assert!(bool::from(x.ct_eq(&GX.neg())));
    }

    #[test]
    fn encode_decode_round_trip() {
        for k in 1u64..40 {
            let p = Point::mul_base(&[k.wrapping_mul(0x9E37_79B9_7F4A_7C15), k, 0, 0]);
            let e = p.encode();
            let q = Point::decode(&e).expect("a point decodes");
            assert_eq!(q.encode(), e);
        }
    }

    #[test]
    fn multiplication_agrees_with_addition() {
        let g = Point::generator();
        let mut acc = Point::IDENTITY;
        for k in 0u64..20 {
            assert_eq!(Point::mul_base(&[k, 0, 0, 0]).encode(), acc.encode());
            assert_eq!(g.mul(&[k, 0, 0, 0]).encode(), acc.encode());
            acc = acc.add(&g);
        }
        // (a + b)·G = a·G + b·G, reduced or not.
        let a = [u64::MAX, 7, u64::MAX, u64::MAX];
        let ra = scalar::reduce(&scalar::to_le_bytes(&a));
        assert_eq!(Point::mul_base(&a).encode(), Point::mul_base(&ra).encode());
        let s = Point::double_mul_base_vartime(&[5, 0, 0, 0], &[3, 0, 0, 0], &g);
        assert_eq!(s.encode(), Point::mul_base(&[8, 0, 0, 0]).encode());
    }

    #[test]
    fn small_order_points_are_outside_the_subgroup() {
        // (0, −1) has order 2.
        let p = Point::from_affine(Fp2::ZERO, Fp2::ONE.neg());
        assert!(on_curve(Fp2::ZERO, Fp2::ONE.neg()));
        assert!(!p.in_prime_subgroup());
        assert!(p.double().is_identity());
        // G + (0, −1) is on the curve but not in the subgroup.
        assert!(!Point::generator().add(&p).in_prime_subgroup());
    }
}

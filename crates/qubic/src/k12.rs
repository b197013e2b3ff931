//! KangarooTwelve (KT128, RFC 9861) with an empty customization string, as Qubic uses it:
//! from RustCrypto's `k12` crate.

use k12::{ExtendableOutput, Kt128, Update};

/// KangarooTwelve of `data` with a 32-byte output: Qubic's `KangarooTwelve(data, len, out, 32)`.
pub fn k12(data: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    k12_into(data, &mut out);
    out
}

/// KangarooTwelve of `data`, filling `out` (any length: the function is an XOF, so a shorter
/// output is a prefix of a longer one).
pub fn k12_into(data: &[u8], out: &mut [u8]) {
    let mut h = Kt128::default();
    h.update(data);
    h.finalize_xof_into(out);
}

/// KangarooTwelve of `data` with a 64-byte output (SchnorrQ's hash in Qubic).
pub(crate) fn k12_64(data: &[u8]) -> [u8; 64] {
    let mut out = [0u8; 64];
    k12_into(data, &mut out);
    out
}

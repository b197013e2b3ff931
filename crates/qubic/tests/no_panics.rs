//! Any input gets an answer, never a panic: identities, seeds, keys, signatures and packed
//! transactions from arbitrary bytes.

use comqute_qubic::{decode_identity, tx, verify, Case, PublicKey, Seed};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn text_inputs(s in ".{0,70}", letters in "[A-Za-z]{60}") {
        let _ = decode_identity(&s, Case::Upper);
        let _ = decode_identity(&s, Case::Lower);
        let _ = decode_identity(&letters, Case::Upper);
        let _ = s.parse::<PublicKey>();
        let _ = Seed::new(&s);
    }

    #[test]
    fn keys_and_signatures(key in any::<[u8; 32]>(), digest in any::<[u8; 32]>(),
                           r in any::<[u8; 32]>(), s in any::<[u8; 32]>(), top in 0u8..0x2A) {
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(&r);
        sig[32..].copy_from_slice(&s);
        prop_assert!(!verify(&key, &digest, &sig));
        // S below N often, so the curve code runs, not just the early refusals.
        sig[63] = top;
        sig[15] &= 0x7F;
        let mut k = key;
        k[15] &= 0x7F;
        let _ = verify(&k, &digest, &sig);
        let _ = PublicKey(k).is_valid_point();
    }

    #[test]
    fn packed_transactions(bytes in proptest::collection::vec(any::<u8>(), 0..1300)) {
        prop_assert!(tx::verify(&bytes).is_err());
    }
}

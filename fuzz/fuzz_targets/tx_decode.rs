//! See `comqute_ledger::fuzz::tx_decode`: decoding never panics, and whatever decodes
//! re-encodes to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| comqute_ledger::fuzz::tx_decode(data));

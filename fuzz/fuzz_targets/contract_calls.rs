//! See `comqute_market::harness::fuzz_contract_calls` for what is checked.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| comqute_market::harness::fuzz_contract_calls(data));

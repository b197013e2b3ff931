//! See `comqute_ledger::fuzz::tick_log` for what is checked.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| comqute_ledger::fuzz::tick_log(data));

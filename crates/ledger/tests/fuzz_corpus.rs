//! Replays the committed fuzz corpora (`fuzz/corpus/*`) through the fuzz targets' own checks
//! (`comqute_ledger::fuzz`), so CI checks every saved input without running a fuzzer.

use comqute_fuzzkit::replay;

#[test]
fn tx_decode_corpus() {
    replay("tx_decode", 8, comqute_ledger::fuzz::tx_decode).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn tick_log_corpus() {
    replay("tick_log", 2, comqute_ledger::fuzz::tick_log).unwrap_or_else(|e| panic!("{e}"));
}

//! Replays the committed `contract_calls` fuzz corpus (`fuzz/corpus/contract_calls`) through
//! the fuzz target's own check (`comqute_market::harness::fuzz_contract_calls`), so CI checks
//! every saved input without running a fuzzer.

use comqute_fuzzkit::replay;

#[test]
fn contract_calls_corpus() {
    replay(
        "contract_calls",
        2,
        comqute_market::harness::fuzz_contract_calls,
    )
    .unwrap_or_else(|e| panic!("{e}"));
}

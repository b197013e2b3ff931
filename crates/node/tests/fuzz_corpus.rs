//! Replays the committed fuzz corpus (`fuzz/corpus/node_json`) through the fuzz target's own
//! check (`comqute_node::fuzz::node_json`), so CI checks every saved input, the regressions
//! among them, without running a fuzzer.

#[test]
fn node_json_corpus() {
    comqute_fuzzkit::replay("node_json", 10, comqute_node::fuzz::node_json)
        .unwrap_or_else(|e| panic!("{e}"));
}

//! Replays the committed fuzz corpus (`fuzz/corpus/ollama_ndjson`) through the fuzz target's
//! own check (`comqute_inference::fuzz::ollama_ndjson`), so CI checks every saved input, the
//! regressions among them, without running a fuzzer.

#[test]
fn ollama_ndjson_corpus() {
    comqute_fuzzkit::replay("ollama_ndjson", 10, comqute_inference::fuzz::ollama_ndjson)
        .unwrap_or_else(|e| panic!("{e}"));
}

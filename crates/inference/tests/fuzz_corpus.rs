//! Replays the committed fuzz corpus (`fuzz/corpus/ollama_ndjson`) through the fuzz target's own
//! check (`comqute_inference::fuzz::ollama_ndjson`), so CI checks every saved input, the regressions among
//! them, without running a fuzzer.

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = format!("{}/../../fuzz/corpus/{target}", env!("CARGO_MANIFEST_DIR"));
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.is_file())
        .map(|p| {
            (
                p.display().to_string(),
                std::fs::read(&p).expect("readable"),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn ollama_ndjson_corpus() {
    let inputs = corpus("ollama_ndjson");
    assert!(inputs.len() >= 10, "{} inputs", inputs.len());
    for (name, data) in inputs {
        let r = std::panic::catch_unwind(|| comqute_inference::fuzz::ollama_ndjson(&data));
        assert!(r.is_ok(), "{name} fails the ollama_ndjson check");
    }
}

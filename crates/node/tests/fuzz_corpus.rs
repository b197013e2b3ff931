//! Replays the committed fuzz corpus (`fuzz/corpus/node_json`) through the fuzz target's own
//! check (`comqute_node::fuzz::node_json`), so CI checks every saved input, the regressions among
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
fn node_json_corpus() {
    let inputs = corpus("node_json");
    assert!(inputs.len() >= 10, "{} inputs", inputs.len());
    for (name, data) in inputs {
        let r = std::panic::catch_unwind(|| comqute_node::fuzz::node_json(&data));
        assert!(r.is_ok(), "{name} fails the node_json check");
    }
}

//! Replays the committed fuzz corpora (`fuzz/corpus/*`) through the fuzz targets' own checks
//! (`comqute_ledger::fuzz`), so CI checks every saved input without running a fuzzer.

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

fn replay(target: &str, min: usize, check: fn(&[u8])) {
    let inputs = corpus(target);
    assert!(inputs.len() >= min, "{target}: {} inputs", inputs.len());
    for (name, data) in inputs {
        let r = std::panic::catch_unwind(|| check(&data));
        assert!(r.is_ok(), "{name} fails the {target} check");
    }
}

#[test]
fn tx_decode_corpus() {
    replay("tx_decode", 8, comqute_ledger::fuzz::tx_decode);
}

#[test]
fn tick_log_corpus() {
    replay("tick_log", 2, comqute_ledger::fuzz::tick_log);
}

#[test]
fn contract_calls_corpus() {
    replay("contract_calls", 2, comqute_ledger::fuzz::contract_calls);
}

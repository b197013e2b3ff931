//! Replays the committed fuzz corpora (`fuzz/corpus/*`) with the fuzz targets' assertions,
//! so CI checks every saved input without running a fuzzer.

use comqute_ledger::Transaction;

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
fn tx_decode_corpus() {
    let inputs = corpus("tx_decode");
    assert!(inputs.len() >= 8);
    let mut decoded = 0;
    for (name, data) in inputs {
        if let Ok(tx) = Transaction::decode(&data) {
            assert_eq!(tx.encode(), data, "{name}");
            assert_eq!(
                Transaction::decode(&tx.encode()).as_ref(),
                Ok(&tx),
                "{name}"
            );
            let _ = tx.verify();
            decoded += 1;
        }
    }
    assert!(decoded >= 3, "the corpus keeps some valid transactions");
}

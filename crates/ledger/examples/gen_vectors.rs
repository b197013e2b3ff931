//! Writes `testdata/vectors.json`: seeds → identities, contract ids, hashes, and transaction
//! bytes → ids. `cargo run -p comqute-ledger --example gen_vectors > testdata/vectors.json`.
//! The test `tests/vectors.rs` checks the committed file against the code, so the rules
//! cannot drift silently.

use comqute_qpi::{Amount, ContractIndex, Hash32, Identity, Tick};
use comqute_ledger::{Seed, Transaction};
use serde_json::json;

fn main() {
    let seeds = [
        "a".repeat(55),
        "z".repeat(55),
        "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabc".to_string(),
        "comqutecomqutecomqutecomqutecomqutecomqutecomqutecomqu".to_string() + "t",
    ];
    let identities: Vec<_> = seeds
        .iter()
        .map(|s| {
            let k = Seed::new(s).expect("valid seed").keypair();
            json!({
                "seed": s,
                "secretKeyHex": hex::encode(k.secret_bytes()),
                "publicKeyHex": hex::encode(k.identity().0),
                "identity": k.identity().to_string(),
            })
        })
        .collect();
    let contracts: Vec<_> = [0u32, 1, 2, 3, 4, 5, 255, 65_536]
        .iter()
        .map(|i| json!({"index": i, "identity": Identity::contract(ContractIndex(*i)).to_string()}))
        .collect();
    let hashes: Vec<_> = ["", "abc", "comqute"]
        .iter()
        .map(|d| {
            let h = Hash32::of(d.as_bytes());
            json!({"dataUtf8": d, "blake3Hex": h.to_hex(), "lowercase": h.to_string()})
        })
        .collect();
    let a = Seed::new(&seeds[0]).expect("valid").keypair();
    let b = Seed::new(&seeds[1]).expect("valid").keypair();
    let txs = [
        Transaction::new(
            a.identity(),
            b.identity(),
            Amount(1_000),
            Tick(10),
            0,
            vec![],
        )
        .sign(&a),
        Transaction::call(
            b.identity(),
            ContractIndex(4),
            Amount(5_000),
            Tick(123_456),
            1,
            (0u8..40).collect(),
        )
        .sign(&b),
        Transaction::call(
            a.identity(),
            ContractIndex(2),
            Amount(0),
            Tick(u32::MAX),
            7,
            vec![0xff; 1024],
        )
        .sign(&a),
    ];
    let mut tampered = txs[0].clone();
    tampered.amount = Amount(1_001);
    let mut transactions: Vec<_> = txs.iter().map(|t| tx_json(t, true)).collect();
    transactions.push(tx_json(&tampered, false));
    let out = json!({
        "about": "comqute v1 test vectors: see DESIGN.md §2 and crates/ledger/src/{keys,tx}.rs",
        "identities": identities,
        "contracts": contracts,
        "hashes": hashes,
        "transactions": transactions,
    });
    println!("{}", serde_json::to_string_pretty(&out).expect("json"));
}

fn tx_json(t: &Transaction, valid: bool) -> serde_json::Value {
    assert_eq!(t.verify().is_ok(), valid);
    json!({
        "hex": hex::encode(t.encode()),
        "source": t.source.to_string(),
        "destination": t.destination.to_string(),
        "amount": t.amount.0,
        "tick": t.tick.0,
        "inputType": t.input_type,
        "inputSize": t.input.len(),
        "digest": t.digest().to_string(),
        "id": t.id().to_string(),
        "signatureValid": valid,
    })
}

//! The committed test vectors (`testdata/vectors.json`) match the code: seeds → identities,
//! contract ids, hashes, transaction bytes → fields, digest, id and signature validity.

use comqute_qpi::{ContractIndex, Hash32, Identity};
use comqute_ledger::{Seed, Transaction};
use serde_json::Value;

fn vectors() -> Value {
    // Compiled in, so the test binary and the vectors it checks always come together.
    serde_json::from_str(include_str!("../../../testdata/vectors.json")).expect("valid json")
}

fn s(v: &Value) -> &str {
    v.as_str().expect("string")
}

#[test]
fn seeds_give_the_committed_identities() {
    let v = vectors();
    let ids = v["identities"].as_array().unwrap();
    assert!(ids.len() >= 4);
    for e in ids {
        let k = Seed::new(s(&e["seed"])).unwrap().keypair();
        assert_eq!(hex::encode(k.secret_bytes()), s(&e["secretKeyHex"]));
        assert_eq!(hex::encode(k.identity().0), s(&e["publicKeyHex"]));
        assert_eq!(k.identity().to_string(), s(&e["identity"]));
        assert_eq!(s(&e["identity"]).parse::<Identity>().unwrap(), k.identity());
    }
}

#[test]
fn contract_ids_and_hashes_match() {
    let v = vectors();
    for e in v["contracts"].as_array().unwrap() {
        let i = e["index"].as_u64().unwrap() as u32;
        assert_eq!(
            Identity::contract(ContractIndex(i)).to_string(),
            s(&e["identity"])
        );
    }
    for e in v["hashes"].as_array().unwrap() {
        let h = Hash32::of(s(&e["dataUtf8"]).as_bytes());
        assert_eq!(h.to_hex(), s(&e["blake3Hex"]));
        assert_eq!(h.to_string(), s(&e["lowercase"]));
        assert_eq!(s(&e["lowercase"]).parse::<Hash32>().unwrap(), h);
    }
}

#[test]
fn transaction_bytes_give_the_committed_ids() {
    let v = vectors();
    let txs = v["transactions"].as_array().unwrap();
    assert!(txs.iter().any(|t| t["signatureValid"] == false));
    for e in txs {
        let bytes = hex::decode(s(&e["hex"])).unwrap();
        let tx = Transaction::decode(&bytes).unwrap();
        assert_eq!(tx.encode(), bytes);
        assert_eq!(tx.source.to_string(), s(&e["source"]));
        assert_eq!(tx.destination.to_string(), s(&e["destination"]));
        assert_eq!(tx.amount.0, e["amount"].as_i64().unwrap());
        assert_eq!(u64::from(tx.tick.0), e["tick"].as_u64().unwrap());
        assert_eq!(u64::from(tx.input_type), e["inputType"].as_u64().unwrap());
        assert_eq!(tx.input.len() as u64, e["inputSize"].as_u64().unwrap());
        assert_eq!(tx.digest().to_string(), s(&e["digest"]));
        assert_eq!(tx.id().to_string(), s(&e["id"]));
        assert_eq!(tx.verify().is_ok(), e["signatureValid"].as_bool().unwrap());
    }
}

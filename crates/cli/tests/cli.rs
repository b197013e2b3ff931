//! The `comqute` binary as a user runs it.

mod support;

use std::process::Output;

use base64::Engine;
use serde_json::Value;
use support::comqute;

fn vectors() -> Value {
    // Compiled in, so the test binary and the vectors it checks always come together.
    serde_json::from_str(include_str!("../../../testdata/vectors.json")).expect("valid json")
}

fn json_out(o: &Output) -> Value {
    assert!(
        o.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).expect("one JSON document")
}

fn one_line_error(o: &Output) -> String {
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("error: "), "{err}");
    err
}

#[test]
fn keys_from_seed_prints_the_vector_identity() {
    for e in vectors()["identities"].as_array().unwrap() {
        let o = comqute(&["keys", "from-seed", e["seed"].as_str().unwrap(), "--json"]);
        assert_eq!(json_out(&o)["identity"], e["identity"]);
        let plain = comqute(&["keys", "from-seed", e["seed"].as_str().unwrap()]);
        assert_eq!(
            String::from_utf8_lossy(&plain.stdout).trim(),
            e["identity"].as_str().unwrap()
        );
    }
    let err = one_line_error(&comqute(&["keys", "from-seed", "tooshort"]));
    assert!(err.contains("55"), "{err}");
    one_line_error(&comqute(&["keys", "from-seed", &"A".repeat(55)]));
}

#[test]
fn keys_new_makes_distinct_valid_seeds() {
    let a = json_out(&comqute(&["keys", "new", "--json"]));
    let b = json_out(&comqute(&["keys", "new", "--json"]));
    assert_ne!(a["seed"], b["seed"]);
    let again = json_out(&comqute(&[
        "keys",
        "from-seed",
        a["seed"].as_str().unwrap(),
        "--json",
    ]));
    assert_eq!(again["identity"], a["identity"]);
}

#[test]
fn tx_decode_reads_hex_and_base64() {
    for e in vectors()["transactions"].as_array().unwrap() {
        let hex = e["hex"].as_str().unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode(hex::decode(hex).unwrap());
        for form in [hex.to_string(), format!("0x{hex}"), b64] {
            let v = json_out(&comqute(&["tx", "decode", &form, "--json"]));
            assert_eq!(v["id"], e["id"]);
            assert_eq!(v["signatureValid"], e["signatureValid"]);
            assert_eq!(v["source"], e["source"]);
            assert_eq!(v["amount"], e["amount"]);
            assert_eq!(v["tick"], e["tick"]);
        }
    }
}

#[test]
fn tx_decode_refuses_malformed_input_with_one_line() {
    let v = vectors();
    let hex = v["transactions"][0]["hex"].as_str().unwrap();
    let err = one_line_error(&comqute(&["tx", "decode", &hex[..hex.len() - 2]]));
    assert!(err.contains("143 bytes"), "{err}");
    one_line_error(&comqute(&["tx", "decode", "not a transaction!"]));
    one_line_error(&comqute(&["tx", "decode", ""]));
    // input_size says 1 byte but none follow
    let mut b = hex::decode(hex).unwrap();
    b[78] = 1;
    let err = one_line_error(&comqute(&["tx", "decode", &hex::encode(b)]));
    assert!(err.contains("input size"), "{err}");
}

#[test]
fn the_demo_runs_the_market_on_the_labelled_stand_in_and_checks_itself() {
    let o = comqute(&[
        "demo",
        "--backend",
        "stand-in",
        "--jobs",
        "2",
        "--tick-ms",
        "20",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("STAND-IN"), "the backend is labelled: {out}");
    assert_eq!(out.matches("finalized [stand-in]").count(), 2, "{out}");
    assert!(out.contains("2 delivered, 0 failed"), "{out}");
    assert!(out.contains("checks passed"), "{out}");
}

#[test]
fn the_demo_says_plainly_when_the_backend_asked_for_is_missing() {
    // Nothing listens on port 9 of loopback.
    let o = comqute(&[
        "demo",
        "--backend",
        "ollama",
        "--ollama",
        "http://127.0.0.1:9",
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("no Ollama answers at http://127.0.0.1:9"),
        "{err}"
    );
}

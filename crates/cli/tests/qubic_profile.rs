//! The Qubic profile through the CLI (issue 23):
//! - `keys from-seed SEED --profile qubic --json` prints what a Qubic wallet shows for every
//!   seed of the external vectors (qubipy 0.4.1, `crates/qubic/testdata/vectors.json`);
//! - `comqute --profile qubic node --devnet` takes a transfer signed by `comqute --profile
//!   qubic transfer`, names it by Qubic's id and moves the money; the comqute profile refuses
//!   Qubic's identities (their checksum is K12's);
//! - aimed at a server that answers like Qubic's RPC (a recorded `tick-info`), `transfer`
//!   sends exactly the bytes Qubic's own wallet code built for the same transfer.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use support::NodeProc;

fn vectors() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../qubic/testdata/vectors.json"
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn comqute(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_comqute"))
        .env_remove("COMQUTE_KEY")
        .env_remove("COMQUTE_NODE")
        .env_remove("COMQUTE_PROFILE")
        .args(args)
        .output()
        .expect("the CLI runs")
}

fn json(o: &Output) -> Value {
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn keys_from_seed_print_what_a_qubic_wallet_shows() {
    let v = vectors();
    let keys = v["keys"].as_array().expect("the vectors' keys");
    assert!(keys.len() >= 10);
    for k in keys {
        let seed = k["seed"].as_str().unwrap();
        let out = json(&comqute(&[
            "keys",
            "from-seed",
            seed,
            "--profile",
            "qubic",
            "--json",
        ]));
        assert_eq!(out["identity"], k["identity"], "{seed}");
    }
    let a = "a".repeat(55);
    let out = json(&comqute(&[
        "--profile",
        "qubic",
        "keys",
        "from-seed",
        &a,
        "--json",
    ]));
    assert_eq!(
        out["identity"],
        "BZBQFLLBNCXEMGLOBHUVFTLUPLVCPQUASSILFABOFFBCADQSSUPNWLZBQEXK"
    );
    // The default profile derives another key from the same letters.
    let out = json(&comqute(&["keys", "from-seed", &a, "--json"]));
    assert_ne!(
        out["identity"],
        "BZBQFLLBNCXEMGLOBHUVFTLUPLVCPQUASSILFABOFFBCADQSSUPNWLZBQEXK"
    );
    let bad = comqute(&["--profile", "ethereum", "keys", "from-seed", &a]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("expected comqute or qubic"));
}

#[test]
fn a_qubic_profile_node_runs_a_transfer_signed_by_the_cli() {
    let node = NodeProc::start_with("qubic-profile", &["--profile", "qubic"]);
    let dir = std::env::temp_dir().join(format!("comqute-qubic-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let key = dir.join("payer.json");
    let key = key.to_str().unwrap();
    let q = |args: &[&str]| -> Output {
        let mut all = vec!["--profile", "qubic", "--node", node.url.as_str()];
        all.extend_from_slice(args);
        comqute(&all)
    };
    let me = json(&q(&["keys", "new", "--out", key, "--json"]))["identity"]
        .as_str()
        .unwrap()
        .to_string();
    json(&q(&["faucet", &me, "1000", "--json"]));
    let to = "BZBQFLLBNCXEMGLOBHUVFTLUPLVCPQUASSILFABOFFBCADQSSUPNWLZBQEXK";
    let sent = json(&q(&["--key", key, "transfer", to, "250", "--json"]));
    assert_eq!(sent["status"], "executed", "{sent}");
    let bal = json(&q(&["balance", to, "--json"]));
    assert_eq!(bal["balance"], "250", "{bal}");
    // The id is Qubic's: K12 of the packed transaction, as `tx decode` computes it too.
    let id = sent["txId"].as_str().unwrap();
    let r = reqwest::blocking::get(format!("{}/live/v1/tx-status/{id}", node.url)).unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    // The comqute profile does not read Qubic's identities, and a comqute key does not sign
    // for this node.
    let plain = comqute(&["--node", &node.url, "balance", to]);
    assert!(!plain.status.success());
    assert!(String::from_utf8_lossy(&plain.stderr).contains("checksum"));
    let other = dir.join("plain.json");
    json(&comqute(&[
        "keys",
        "new",
        "--out",
        other.to_str().unwrap(),
        "--json",
    ]));
    let refused = q(&["--key", other.to_str().unwrap(), "transfer", to, "1"]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("profile"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}

/// A server that answers `GET /v1/tick-info` with a recorded Qubic answer and keeps the body
/// of every `POST /v1/broadcast-transaction`.
fn recorded_rpc(tick: u32) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let kept = seen.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let mut length = 0usize;
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
                    break;
                }
                if let Some((k, v)) = h.split_once(':') {
                    if k.eq_ignore_ascii_case("content-length") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let (status, answer) = if line.starts_with("GET /v1/tick-info") {
                // Qubic's gateway shape (rpc.qubic.org/v1/tick-info).
                (
                    "200 OK",
                    format!(
                        r#"{{"tickInfo":{{"tick":{tick},"duration":1,"epoch":150,"initialTick":16990000}}}}"#
                    ),
                )
            } else if line.starts_with("POST /v1/broadcast-transaction") {
                let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let enc = v["encodedTransaction"].as_str().unwrap_or("").to_string();
                kept.lock().unwrap().push(enc.clone());
                let bytes = base64_decode(&enc);
                let id = comqute_qubic::tx::id_string(&bytes);
                (
                    "200 OK",
                    format!(
                        r#"{{"peersBroadcasted":24,"encodedTransaction":"{enc}","transactionId":"{id}"}}"#
                    ),
                )
            } else {
                (
                    "404 Not Found",
                    r#"{"code":5,"message":"Not Found"}"#.to_string(),
                )
            };
            let _ = write!(
                conn,
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    (url, seen)
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .unwrap_or_default()
}

#[test]
fn transfer_sends_the_bytes_qubic_s_wallet_code_builds() {
    let v = vectors();
    let dir = std::env::temp_dir().join(format!("comqute-qubic-rpc-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut checked = 0;
    for (n, t) in v["transactions"].as_array().unwrap().iter().enumerate() {
        let signed = hex::decode(t["signed"].as_str().unwrap()).unwrap();
        let tx = comqute_sdk::Transaction::decode(&signed).unwrap();
        if tx.input_type != 0 || tx.amount.0 == 0 {
            continue;
        }
        // The CLI aims 4 ticks past the one the network reports (the SDK's default).
        let (url, seen) = recorded_rpc(tx.tick.0 - 4);
        let key = dir.join(format!("k{n}.json"));
        std::fs::write(
            &key,
            format!(
                r#"{{"seed":"{}","identity":"{}","profile":"qubic"}}"#,
                t["seed"].as_str().unwrap(),
                comqute_qubic::encode_identity(&tx.source.0, comqute_qubic::Case::Upper)
            ),
        )
        .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let to = comqute_qubic::encode_identity(&tx.destination.0, comqute_qubic::Case::Upper);
        let out = json(&comqute(&[
            "--profile",
            "qubic",
            "--node",
            &url,
            "--key",
            key.to_str().unwrap(),
            "transfer",
            &to,
            &tx.amount.0.to_string(),
            "--no-wait",
            "--json",
        ]));
        assert_eq!(out["status"], "broadcast");
        assert_eq!(out["txId"], t["id_string"], "{out}");
        let sent = seen.lock().unwrap().clone();
        assert_eq!(sent.len(), 1);
        assert_eq!(
            hex::encode(base64_decode(&sent[0])),
            t["signed"].as_str().unwrap(),
            "the bytes Qubic's wallet code built ({})",
            t["source"]
        );
        checked += 1;
    }
    assert!(checked >= 2, "the vectors hold signed transfers");
}

//! `comqute ledger verify` and `export` on a data directory written by a real node.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use comqute_qpi::Identity;
use serde_json::{json, Value};

mod support;

use support::comqute;

#[test]
fn verify_and_export_a_node_data_directory() {
    let dir = std::env::temp_dir().join(format!("comqute-ledger-tools-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let d = dir.to_str().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_comqute"))
        .args([
            "node",
            "--listen",
            "127.0.0.1:0",
            "--tick-ms",
            "20",
            "--devnet",
            "--data-dir",
            d,
            // Not the default: verify and export must rebuild this genesis from the
            // directory.
            "--challenge-window",
            "7",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url =
        support::listening_url(&mut child).unwrap_or_else(|line| panic!("first line: {line:?}"));
    let c = reqwest::blocking::Client::new();
    let who = Identity([5; 32]);
    let r = c
        .post(format!("{url}/v1/devnet/faucet"))
        .json(&json!({"identity": who.to_string(), "amount": 777}))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let deadline = Instant::now() + Duration::from_secs(5);
    while c
        .get(format!("{url}/v1/tick-info"))
        .send()
        .unwrap()
        .json::<Value>()
        .unwrap()["tickInfo"]["tick"]
        .as_u64()
        .unwrap()
        < 20
    {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(20));
    }
    // SIGTERM: a clean shutdown flushes the log.
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().unwrap();
    assert!(status.success(), "clean exit on SIGTERM: {status:?}");

    let o = comqute(&["ledger", "verify", d, "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["clean"], true, "{v}");

    let market: Value =
        serde_json::from_slice(&std::fs::read(dir.join("market.json")).unwrap()).unwrap();
    assert_eq!(market["challengeWindow"], 7, "{market}");
    // A node on the directory with other settings is refused before it touches anything.
    let o = comqute(&[
        "node",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        d,
        "--challenge-window",
        "9",
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("other marketplace settings"), "{err}");

    let o = comqute(&["ledger", "export", d]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains(&who.to_string()), "{text}");
    assert!(text.contains("777"), "{text}");

    // Damage a byte in the middle of the first log segment: verify must fail, naming it.
    let log = std::fs::read_dir(dir.join("log"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .min()
        .unwrap();
    let mut bytes = std::fs::read(&log).unwrap();
    assert!(bytes.len() > 200);
    let mid = bytes.len() / 3;
    bytes[mid] ^= 0xff;
    std::fs::write(&log, bytes).unwrap();
    let o = comqute(&["ledger", "verify", d]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("log"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

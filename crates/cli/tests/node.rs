//! The real `comqute node` binary on a free loopback port, driven over HTTP.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use comqute_ledger::{Keypair, Seed, Transaction};
use comqute_qpi::{Amount, ContractIndex, Identity, Tick};
use reqwest::blocking::Client;
use serde_json::{json, Value};

mod support;

struct NodeProc {
    child: Child,
    url: String,
}

impl NodeProc {
    fn start(extra: &[&str]) -> NodeProc {
        let mut child = Command::new(env!("CARGO_BIN_EXE_comqute"))
            .args(["node", "--listen", "127.0.0.1:0", "--tick-ms", "40"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node starts");
        let url = support::listening_url(&mut child)
            .unwrap_or_else(|line| panic!("first line: {line:?}"));
        NodeProc { child, url }
    }
    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for NodeProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn key(name: &str) -> Keypair {
    let mut s = name.repeat(55);
    s.truncate(55);
    Seed::new(&s).unwrap().keypair()
}

fn get(c: &Client, url: &str) -> (u16, Value) {
    let r = c.get(url).send().unwrap();
    let status = r.status().as_u16();
    (status, r.json().unwrap_or(Value::Null))
}

fn post(c: &Client, url: &str, body: &Value) -> (u16, Value) {
    let r = c.post(url).json(body).send().unwrap();
    let status = r.status().as_u16();
    (status, r.json().unwrap_or(Value::Null))
}

fn tick(c: &Client, base: &str) -> u32 {
    get(c, &format!("{base}/v1/tick-info")).1["tickInfo"]["tick"]
        .as_u64()
        .unwrap() as u32
}

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn wait_status(c: &Client, base: &str, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (code, v) = get(c, &format!("{base}/v1/tx-status/{id}"));
        assert_eq!(code, 200, "{v}");
        if v["transactionStatus"]["status"] != "pending" {
            return v["transactionStatus"].clone();
        }
        assert!(Instant::now() < deadline, "still pending: {v}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn broadcast(c: &Client, base: &str, tx: &Transaction) -> (u16, Value) {
    post(
        c,
        &format!("{base}/live/v1/broadcast-transaction"),
        &json!({ "encodedTransaction": b64(&tx.encode()) }),
    )
}

#[test]
fn ticks_transfers_and_reports_like_qubic() {
    let node = NodeProc::start(&["--devnet"]);
    let c = Client::new();
    let base = &node.url;
    let t0 = tick(&c, base);
    std::thread::sleep(Duration::from_millis(200));
    assert!(tick(&c, base) > t0, "the node ticks by itself");
    let alice = key("alice");
    let bob = Identity([2; 32]);
    let (code, v) = post(
        &c,
        &format!("{base}/v1/devnet/faucet"),
        &json!({"identity": alice.identity().to_string(), "amount": "5000"}),
    );
    assert_eq!(code, 200, "{v}");
    let (code, v) = get(&c, &format!("{base}/live/v1/balances/{}", alice.identity()));
    assert_eq!(code, 200);
    assert_eq!(v["balance"]["balance"], "5000");
    let t = Tick(tick(&c, base) + 5);
    let tx = Transaction::new(alice.identity(), bob, Amount(1234), t, 0, vec![]).sign(&alice);
    let (code, v) = broadcast(&c, base, &tx);
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["transactionId"], tx.id().to_string());
    assert_eq!(v["peersBroadcasted"], 1);
    let st = wait_status(&c, base, &tx.id().to_string());
    assert_eq!(st["status"], "executed");
    assert_eq!(st["moneyFlew"], true);
    assert_eq!(st["tickNumber"], t.0);
    let (_, v) = get(&c, &format!("{base}/v1/balances/{bob}"));
    assert_eq!(v["balance"]["balance"], "1234");
    assert_eq!(v["balance"]["numberOfIncomingTransfers"], 1);
    let (code, v) = get(
        &c,
        &format!("{base}/v1/ticks/{}/approved-transactions", t.0),
    );
    assert_eq!(code, 200);
    assert_eq!(v["approvedTransactions"][0]["txId"], tx.id().to_string());
    // A contract function through querySmartContract (notary count, index 10, function 2).
    let (code, v) = post(
        &c,
        &format!("{base}/v1/querySmartContract"),
        &json!({"contractIndex": 10, "inputType": 2, "inputSize": 0, "requestData": ""}),
    );
    assert_eq!(code, 200, "{v}");
    let out = base64::engine::general_purpose::STANDARD
        .decode(v["responseData"].as_str().unwrap())
        .unwrap();
    assert_eq!(out, 0u64.to_le_bytes());
    // Devnet warp.
    let before = tick(&c, base);
    let (code, v) = post(
        &c,
        &format!("{base}/v1/devnet/warp"),
        &json!({"ticks": 500}),
    );
    assert_eq!(code, 200, "{v}");
    assert!(tick(&c, base) >= before + 500);
}

#[test]
fn bad_input_gets_a_typed_4xx_and_the_node_keeps_serving() {
    let node = NodeProc::start(&["--devnet"]);
    let c = Client::new();
    let base = &node.url;
    let alice = key("alice");
    post(
        &c,
        &format!("{base}/v1/devnet/faucet"),
        &json!({"identity": alice.identity().to_string(), "amount": 100}),
    );
    let now = tick(&c, base);
    let good = Transaction::new(
        alice.identity(),
        Identity([3; 32]),
        Amount(1),
        Tick(now + 20),
        0,
        vec![],
    )
    .sign(&alice);
    let url = format!("{base}/v1/broadcast-transaction");
    let raw = |body: &str| {
        let r = c
            .post(&url)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .unwrap();
        (r.status().as_u16(), r.json::<Value>().unwrap())
    };
    let cases: Vec<(&str, (u16, Value), u16, &str)> = vec![
        ("malformed json", raw("{not json"), 400, "bad_json"),
        (
            "bad base64",
            raw(r#"{"encodedTransaction": "!!!"}"#),
            400,
            "bad_base64",
        ),
        (
            "truncated",
            broadcast_bytes(&c, base, &good.encode()[..100]),
            400,
            "malformed_transaction",
        ),
        (
            "bad signature",
            {
                let mut b = good.encode();
                let n = b.len();
                b[n - 1] ^= 1;
                broadcast_bytes(&c, base, &b)
            },
            400,
            "bad_signature",
        ),
        (
            "past tick",
            broadcast(
                &c,
                base,
                &Transaction::new(
                    alice.identity(),
                    Identity([3; 32]),
                    Amount(1),
                    Tick(1),
                    0,
                    vec![],
                )
                .sign(&alice),
            ),
            400,
            "tick_in_past",
        ),
        (
            "far tick",
            broadcast(
                &c,
                base,
                &Transaction::new(
                    alice.identity(),
                    Identity([3; 32]),
                    Amount(1),
                    Tick(now + 10_000_000),
                    0,
                    vec![],
                )
                .sign(&alice),
            ),
            400,
            "tick_too_far",
        ),
        (
            "bad checksum",
            get(
                &c,
                &format!("{base}/v1/balances/{}", {
                    let mut s = alice.identity().to_string();
                    s.replace_range(59..60, if s.ends_with('A') { "B" } else { "A" });
                    s
                }),
            ),
            400,
            "bad_identity",
        ),
        (
            "unknown contract",
            post(
                &c,
                &format!("{base}/v1/querySmartContract"),
                &json!({"contractIndex": 77, "inputType": 1, "requestData": ""}),
            ),
            404,
            "unknown_contract",
        ),
        (
            "unknown tx",
            get(
                &c,
                &format!("{base}/v1/tx-status/{}", comqute_qpi::Hash32([9; 32])),
            ),
            404,
            "not_found",
        ),
        (
            "too large",
            raw(&format!(
                r#"{{"encodedTransaction": "{}"}}"#,
                "A".repeat(200_000)
            )),
            413,
            "body_too_large",
        ),
        (
            "unknown field",
            raw(r#"{"encodedTransaction": "", "x": 1}"#),
            400,
            "bad_json",
        ),
    ];
    for (what, (code, body), want_code, want) in cases {
        assert_eq!(code, want_code, "{what}: {body}");
        assert_eq!(body["code"], want, "{what}: {body}");
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{what}: {body}"
        );
    }
    // Still serving, and the good transaction still goes through.
    let (code, v) = broadcast(&c, base, &good);
    assert_eq!(code, 200, "{v}");
    let (code, v) = broadcast(&c, base, &good);
    assert_eq!(
        (code, v["code"].as_str()),
        (409, Some("duplicate_transaction"))
    );
}

fn broadcast_bytes(c: &Client, base: &str, b: &[u8]) -> (u16, Value) {
    post(
        c,
        &format!("{base}/v1/broadcast-transaction"),
        &json!({ "encodedTransaction": b64(b) }),
    )
}

#[test]
fn devnet_powers_are_refused_without_devnet() {
    let node = NodeProc::start(&[]);
    let c = Client::new();
    let (code, v) = post(
        &c,
        &format!("{}/v1/devnet/faucet", node.url),
        &json!({"identity": Identity([1; 32]).to_string(), "amount": 5}),
    );
    assert_eq!((code, v["code"].as_str()), (403, Some("devnet_only")));
    let (code, v) = post(
        &c,
        &format!("{}/v1/devnet/warp", node.url),
        &json!({"ticks": 5}),
    );
    assert_eq!((code, v["code"].as_str()), (403, Some("devnet_only")));
}

#[test]
fn blobs_are_content_addressed() {
    let node = NodeProc::start(&["--devnet"]);
    let c = Client::new();
    let body = b"Why is the sky blue?".to_vec();
    let put = |b: Vec<u8>| {
        let r = c
            .put(format!("{}/v1/blobs", node.url))
            .body(b)
            .send()
            .unwrap();
        (r.status().as_u16(), r.json::<Value>().unwrap())
    };
    let (code, v) = put(body.clone());
    assert_eq!(code, 200, "{v}");
    let h = comqute_qpi::Hash32::of(&body);
    assert_eq!(v["hash"], h.to_string());
    assert_eq!(put(body.clone()).1["hash"], h.to_string(), "idempotent");
    let got = c
        .get(format!("{}/v1/blobs/{h}", node.url))
        .send()
        .unwrap()
        .bytes()
        .unwrap();
    assert_eq!(&got[..], &body[..]);
    let got = c
        .get(format!("{}/v1/blobs/{}", node.url, h.to_hex()))
        .send()
        .unwrap();
    assert_eq!(got.status().as_u16(), 200);
    let (code, v) = get(
        &c,
        &format!("{}/v1/blobs/{}", node.url, comqute_qpi::Hash32::of(b"nope")),
    );
    assert_eq!((code, v["code"].as_str()), (404, Some("not_found")));
    let (code, v) = put(vec![0u8; 9 << 20]);
    assert_eq!(
        (code, v["code"].as_str()),
        (413, Some("body_too_large")),
        "{v}"
    );
}

#[test]
fn a_killed_node_restarts_with_every_reported_transaction() {
    let dir = std::env::temp_dir().join(format!("comqute-node-restart-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let d = dir.to_str().unwrap();
    let node = NodeProc::start(&["--devnet", "--data-dir", d]);
    let c = Client::new();
    let base = node.url.clone();
    let alice = key("alice");
    post(
        &c,
        &format!("{base}/v1/devnet/faucet"),
        &json!({"identity": alice.identity().to_string(), "amount": 100_000}),
    );
    let mut reported = Vec::new();
    for i in 0..6u8 {
        let t = Tick(tick(&c, &base) + 3);
        let tx = Transaction::new(
            alice.identity(),
            Identity([10 + i; 32]),
            Amount(100 + i64::from(i)),
            t,
            0,
            vec![],
        )
        .sign(&alice);
        assert_eq!(broadcast(&c, &base, &tx).0, 200);
        let st = wait_status(&c, &base, &tx.id().to_string());
        assert_eq!(st["status"], "executed");
        reported.push((tx.id().to_string(), st["tickNumber"].clone()));
    }
    // What the node serves from its history: each tick's digests and transactions, and the
    // event log by cursor. A restart replays the log into the compact history: the same.
    let served = |url: &str| {
        let ticks: Vec<serde_json::Value> = reported
            .iter()
            .map(|(_, t)| {
                let mut v = get(&c, &format!("{url}/v1/ticks/{t}")).1;
                // The node's latest tick, not the tick's.
                v["lastProcessed"] = serde_json::Value::Null;
                v
            })
            .collect();
        let events = get(&c, &format!("{url}/v1/events?after=0&limit=1000")).1;
        (ticks, events)
    };
    let before = served(&base);
    assert!(
        before.0.iter().all(|t| t["digest"].is_string()),
        "each reported tick ran and has its digests: {:?}",
        before.0
    );
    node.kill(); // SIGKILL
    let node = NodeProc::start(&["--devnet", "--data-dir", d]);
    assert_eq!(
        served(&node.url),
        before,
        "served the same history after the restart"
    );
    for (id, t) in &reported {
        let (code, v) = get(&c, &format!("{}/v1/tx-status/{id}", node.url));
        assert_eq!(code, 200, "{id}: {v}");
        assert_eq!(v["transactionStatus"]["status"], "executed");
        assert_eq!(&v["transactionStatus"]["tickNumber"], t);
    }
    let (_, v) = get(
        &c,
        &format!("{}/v1/balances/{}", node.url, Identity([15; 32])),
    );
    assert_eq!(v["balance"]["balance"], "105");
    drop(node);
    let _ = std::fs::remove_dir_all(&dir);
    let _ = ContractIndex(0);
}

/// One identity cannot fill the pending pool (issue 21: 20,000 future transactions from one
/// identity were all taken): past its cap it gets 429 `too_many_pending` with `Retry-After`,
/// what it has pending still runs, and another identity is not affected.
#[test]
fn one_identity_cannot_fill_the_pending_pool() {
    let node = NodeProc::start(&["--devnet", "--max-pending-per-identity", "3"]);
    let c = Client::new();
    let base = &node.url;
    let (flooder, other) = (key("flooder"), key("other"));
    for k in [&flooder, &other] {
        let (code, v) = post(
            &c,
            &format!("{base}/v1/devnet/faucet"),
            &json!({"identity": k.identity().to_string(), "amount": "1000"}),
        );
        assert_eq!(code, 200, "{v}");
    }
    let far = Tick(tick(&c, base) + 400);
    let tx = |k: &Keypair, n: u32| {
        Transaction::new(
            k.identity(),
            Identity([7; 32]),
            Amount(1),
            Tick(far.0 + n),
            0,
            Vec::new(),
        )
        .sign(k)
    };
    for n in 0..3 {
        let (code, v) = broadcast(&c, base, &tx(&flooder, n));
        assert_eq!(code, 200, "{v}");
    }
    let r = c
        .post(format!("{base}/live/v1/broadcast-transaction"))
        .json(&json!({ "encodedTransaction": b64(&tx(&flooder, 3).encode()) }))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 429);
    assert_eq!(
        r.headers().get("retry-after").and_then(|v| v.to_str().ok()),
        Some("1")
    );
    let v: Value = r.json().unwrap();
    assert_eq!(v["code"], "too_many_pending", "{v}");
    assert!(
        v["message"].as_str().unwrap().contains("3 transactions"),
        "{v}"
    );
    let (code, v) = broadcast(&c, base, &tx(&other, 0));
    assert_eq!(code, 200, "another identity is not held back: {v}");
}

/// Live subscriptions are capped per address (issue 21: 500 clients that never read stalled
/// the API): past the cap, 429 `too_many_subscriptions` with `Retry-After`; a closed stream
/// frees its place; the rest of the API keeps answering.
#[test]
fn live_subscriptions_are_capped_per_address_and_freed_when_closed() {
    let node = NodeProc::start(&["--devnet", "--max-subscribers-per-address", "2"]);
    let base = &node.url;
    let c = Client::builder().timeout(None).build().unwrap();
    let open = || {
        c.get(format!("{base}/v1/events/stream?after=0"))
            .send()
            .unwrap()
    };
    let first = open();
    let second = open();
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (200, 200)
    );
    let third = open();
    assert_eq!(third.status().as_u16(), 429);
    assert_eq!(
        third
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    let v: Value = third.json().unwrap();
    assert_eq!(v["code"], "too_many_subscriptions", "{v}");
    assert!(
        v["message"].as_str().unwrap().contains("one address"),
        "{v}"
    );
    // The rest of the API answers meanwhile.
    let quick = Client::new();
    assert!(tick(&quick, base) > 0);
    // Closing a stream frees its place (the server notices the closed connection on its
    // next write: the keep-alive or the next event, within seconds).
    drop(first);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let again = open();
        if again.status().as_u16() == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the closed stream's place never came back"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(second);
}

/// Writes and live streams are rate-limited per client address (token buckets): past the
/// burst, 429 `rate_limited` with `Retry-After`; reads are not counted.
#[test]
fn writes_past_the_rate_get_429_with_retry_after_and_reads_are_free() {
    let node = NodeProc::start(&["--devnet", "--rate-per-address", "1", "--rate-burst", "2"]);
    let c = Client::new();
    let base = &node.url;
    let who = key("limited").identity().to_string();
    let faucet = || {
        c.post(format!("{base}/v1/devnet/faucet"))
            .json(&json!({"identity": who, "amount": "10"}))
            .send()
            .unwrap()
    };
    assert_eq!(faucet().status().as_u16(), 200);
    assert_eq!(faucet().status().as_u16(), 200);
    let r = faucet();
    assert_eq!(r.status().as_u16(), 429);
    let after: u64 = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("a Retry-After in seconds");
    assert!((1..=2).contains(&after), "{after}");
    let v: Value = r.json().unwrap();
    assert_eq!(v["code"], "rate_limited", "{v}");
    // Reads go on.
    for _ in 0..5 {
        assert!(tick(&c, base) > 0);
    }
    // After the wait, a write is taken again.
    std::thread::sleep(Duration::from_secs(after));
    assert_eq!(faucet().status().as_u16(), 200);
    // The SDK (here through the CLI) waits out `Retry-After` and sends again: five faucet
    // calls in a row past the burst all land.
    for n in 0..5 {
        let o = Command::new(env!("CARGO_BIN_EXE_comqute"))
            .env("COMQUTE_NODE", base)
            .args(["faucet", &who, "10", "--json"])
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "call {n}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

/// Blob quotas (issue 21: 1 GB from one client in 7 s, no identity): unsigned uploads count
/// against the client address, uploads signed by an identity the chain knows against that
/// identity; past either, 429 `blob_quota` with `Retry-After`. A blob already stored costs
/// nothing (until its uploader is refused once); a signature that does not verify is 403.
#[test]
fn blob_uploads_count_against_the_uploader_and_stop_at_its_quota() {
    let node = NodeProc::start(&[
        "--devnet",
        "--anonymous-blob-quota",
        "1",
        "--blob-quota",
        "2",
    ]);
    let c = Client::new();
    let base = &node.url;
    let put = |body: Vec<u8>, signer: Option<&Keypair>| {
        let mut r = c.put(format!("{base}/v1/blobs")).body(body.clone());
        if let Some(k) = signer {
            let digest = comqute_node::wire::blob_upload_digest(&comqute_qpi::Hash32::of(&body));
            r = r
                .header("x-comqute-uploader", k.identity().to_string())
                .header("x-comqute-signature", hex::encode(k.sign_digest(&digest)));
        }
        let r = r.send().unwrap();
        let status = r.status().as_u16();
        let retry = r
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_string());
        let v: Value = r.json().unwrap();
        (status, v, retry)
    };
    let body = |fill: u8, kib: usize| vec![fill; kib << 10];

    // Unsigned: 1 MiB an hour for this address.
    assert_eq!(put(body(1, 700), None).0, 200);
    assert_eq!(put(body(1, 700), None).0, 200, "stored already: free");
    let (code, v, retry) = put(body(2, 700), None);
    assert_eq!(code, 429, "{v}");
    assert_eq!(v["code"], "blob_quota", "{v}");
    assert!(v["message"].as_str().unwrap().contains("address"), "{v}");
    assert!(retry.unwrap().parse::<u64>().unwrap() >= 1);
    // Refused lately: refused before the body is read until the bucket refills, even for a
    // blob stored already.
    let (code, v, _) = put(body(1, 700), None);
    assert_eq!((code, v["code"].as_str()), (429, Some("blob_quota")), "{v}");

    // Signed by a funded identity: its own 2 MiB.
    let (alice, bob, stranger) = (key("alice"), key("bob"), key("stranger"));
    for k in [&alice, &bob] {
        let (code, v) = post(
            &c,
            &format!("{base}/v1/devnet/faucet"),
            &json!({"identity": k.identity().to_string(), "amount": "1000"}),
        );
        assert_eq!(code, 200, "{v}");
    }
    assert_eq!(put(body(3, 1500), Some(&alice)).0, 200);
    let (code, v, _) = put(body(4, 1000), Some(&alice));
    assert_eq!((code, v["code"].as_str()), (429, Some("blob_quota")), "{v}");
    assert!(v["message"].as_str().unwrap().contains("identity"), "{v}");
    assert_eq!(put(body(4, 1000), Some(&bob)).0, 200, "bob has his own");
    // An identity the chain does not know counts as its address (used up above).
    let (code, v, _) = put(body(5, 400), Some(&stranger));
    assert_eq!((code, v["code"].as_str()), (429, Some("blob_quota")), "{v}");
    // A forged signature is refused, whoever it names.
    let r = c
        .put(format!("{base}/v1/blobs"))
        .header("x-comqute-uploader", bob.identity().to_string())
        .header("x-comqute-signature", "00".repeat(64))
        .body(body(6, 1))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let v: Value = r.json().unwrap();
    assert_eq!(v["code"], "forbidden", "{v}");
}

/// Parses the Prometheus (OpenMetrics) text format: every line a comment or
/// `name{labels} value`, ending with `# EOF`; returns the samples.
fn prometheus(text: &str) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("not a sample: {line:?}"));
        let name = series.split('{').next().unwrap();
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "bad metric name in {line:?}"
        );
        if let Some(labels) = series.strip_prefix(name) {
            assert!(
                labels.is_empty() || (labels.starts_with('{') && labels.ends_with('}')),
                "bad labels in {line:?}"
            );
        }
        let v: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v
                .parse()
                .unwrap_or_else(|_| panic!("bad value in {line:?}")),
        };
        out.push((series.to_string(), v));
    }
    assert!(text.ends_with("# EOF\n"), "OpenMetrics end marker");
    out
}

fn sample(samples: &[(String, f64)], series: &str) -> f64 {
    samples
        .iter()
        .find(|(s, _)| s == series)
        .map_or(0.0, |(_, v)| *v)
}

/// `/metrics` parses as Prometheus (OpenMetrics) text and its counters move after a job; `/health` says
/// ready once the node ticks (issue 20).
#[test]
fn metrics_parse_and_move_after_a_job_and_health_says_ready() {
    use comqute_sdk::contracts::worker_registry::Capabilities;
    let node = NodeProc::start(&["--devnet", "--challenge-window", "3", "--no-spot-checks"]);
    let base = node.url.clone();
    let c = Client::new();
    let (code, h) = get(&c, &format!("{base}/health"));
    assert_eq!(code, 200, "{h}");
    assert_eq!(h["status"], "ready", "{h}");
    let scrape = || {
        let r = c.get(format!("{base}/metrics")).send().unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let ct = r.headers()["content-type"].to_str().unwrap().to_string();
        assert!(ct.starts_with("application/openmetrics-text"), "{ct}");
        prometheus(&r.text().unwrap())
    };
    let before = scrape();
    assert!(sample(&before, "comqute_ticks_total") >= 1.0, "{before:?}");
    for name in [
        "comqute_tick_duration_seconds_count",
        "comqute_pending_transactions",
        "comqute_last_tick",
        "comqute_tokens_served_total",
        "comqute_sse_subscribers",
    ] {
        assert!(
            before.iter().any(|(s, _)| s == name),
            "{name} missing: {before:?}"
        );
    }
    assert_eq!(sample(&before, "comqute_tokens_served_total"), 0.0);

    // A job served through the SDK: 77 output tokens.
    let (alice, walt) = (key("alice"), key("walt"));
    let sdk = comqute_sdk::Client::remote(&base).unwrap();
    let rt = support::runtime();
    let id = rt.block_on(async {
        for k in [&alice, &walt] {
            sdk.faucet(&k.identity(), Amount(100_000)).await.unwrap();
        }
        let caps = Capabilities {
            models: vec!["m".into()],
            gpu: String::new(),
            vram_mb: 0,
            tokens_per_s: 1,
            price_per_1k: Amount(1_000),
            max_concurrent: 1,
        };
        sdk.workers()
            .register(&walt, &caps, Amount(20_000))
            .await
            .unwrap();
        let req = comqute_sdk::JobRequest::new("m", b"hi".to_vec(), 100, Amount(1_000));
        let h = sdk.jobs().request(&alice, &req).await.unwrap();
        let jobs = sdk.jobs();
        jobs.claim(&walt, h.id()).await.unwrap();
        jobs.start(&walt, h.id()).await.unwrap();
        jobs.deliver(&walt, h.id(), b"out", 77, comqute_sdk::Hash32::ZERO)
            .await
            .unwrap();
        h.wait_final(Duration::from_secs(30)).await.unwrap();
        h.id()
    });
    let after = scrape();
    assert_eq!(
        sample(&after, "comqute_tokens_served_total"),
        77.0,
        "{after:?}"
    );
    assert!(sample(&after, "comqute_ticks_total") > sample(&before, "comqute_ticks_total"));
    assert_eq!(
        sample(&after, "comqute_jobs{status=\"Finalized\"}"),
        1.0,
        "{after:?}"
    );
    let broadcasts = sample(
        &after,
        "comqute_http_requests_total{route=\"/v1/broadcast-transaction\",method=\"POST\",status=\"200\"}",
    );
    assert!(broadcasts >= 5.0, "{after:?}");
    let _ = id;
}

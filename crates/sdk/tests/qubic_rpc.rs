//! `QubicRpc` against recorded answers of Qubic's RPC (`tests/fixtures/qubic-rpc`, where
//! each came from is in its README), against networks that are down, slow or answer
//! garbage, and against a comqute node in this process.
//!
//! The recorded answers and the broken networks are served by a small HTTP/1.1 server on
//! loopback written here (tokio only), so any bytes can be sent, or none.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use comqute_sdk::qubic_rpc::{QubicRpc, QubicRpcError};
use comqute_sdk::{Amount, Hash32, Identity, Seed, Tick, Transaction};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// What the server does with a request.
#[derive(Clone)]
enum Reply {
    /// Answers with this status and body (JSON content type).
    Answer(u16, Vec<u8>),
    /// Writes these bytes as they are, then closes.
    Raw(Vec<u8>),
    /// Waits this long, then answers.
    Slow(Duration, u16, Vec<u8>),
}

fn fixture(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/qubic-rpc")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn http(status: u16, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

/// Serves `routes` ("METHOD /path" → reply; anything else is a 404) on a free loopback port;
/// returns `http://127.0.0.1:PORT`.
async fn serve(routes: HashMap<String, Reply>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let routes = Arc::new(routes);
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let routes = routes.clone();
            tokio::spawn(async move {
                // The head, then as much body as it says (broadcasts have one).
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let head_end = loop {
                    let Ok(n) = sock.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                let length: usize = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse().ok())?
                    })
                    .unwrap_or(0);
                while buf.len() < head_end + length {
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let mut words = head.split_whitespace();
                let key = format!(
                    "{} {}",
                    words.next().unwrap_or(""),
                    words.next().unwrap_or("")
                );
                let bytes = match routes.get(&key) {
                    Some(Reply::Answer(status, body)) => http(*status, body),
                    Some(Reply::Raw(bytes)) => bytes.clone(),
                    Some(Reply::Slow(wait, status, body)) => {
                        tokio::time::sleep(*wait).await;
                        http(*status, body)
                    }
                    None => http(404, br#"{"code":5,"message":"Not Found","details":[]}"#),
                };
                let _ = sock.write_all(&bytes).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    format!("http://{addr}")
}

fn routes(list: &[(&str, Reply)]) -> HashMap<String, Reply> {
    list.iter()
        .map(|(k, v)| ((*k).to_string(), v.clone()))
        .collect()
}

const TX: &str = "bmtmtgbuxzriledlwttgaatvgwdfqxhgjoltvsjvrfcphthdezdaidcaemih";
const WALLET: &str = "EGOCTGJSNPNEJFSSCTOKAEBKMEEDGLXXVFFHUWHBFEHZOGLMEMAUQZOAVKAN";

#[tokio::test]
async fn recorded_answers_of_qubic_s_rpc_read_into_their_types() {
    let ok = |f: &str| Reply::Answer(200, fixture(f));
    let url = serve(routes(&[
        ("GET /v1/tick-info", ok("tick-info.json")),
        (&format!("GET /v1/balances/{WALLET}"), ok("balance.json")),
        (
            "POST /v1/broadcast-transaction",
            ok("broadcast-transaction.json"),
        ),
        (&format!("GET /v1/tx-status/{TX}"), ok("tx-status.json")),
        (
            &format!("GET /v1/transactions/{TX}"),
            ok("transaction.json"),
        ),
        (
            "GET /v1/ticks/17056942/approved-transactions",
            ok("approved-transactions.json"),
        ),
        (
            "GET /v1/transactions/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            Reply::Answer(404, fixture("not-found.json")),
        ),
    ]))
    .await;
    let rpc = QubicRpc::new(&format!("{url}/v1")).unwrap();

    let t = rpc.tick_info().await.unwrap();
    assert_eq!(
        (t.tick, t.duration, t.epoch, t.initial_tick),
        (13692242, 7, 107, 13680000)
    );

    // Lowercase in, uppercase on the wire (the server knows the uppercase path only).
    let b = rpc.balance(&WALLET.to_ascii_lowercase()).await.unwrap();
    assert_eq!(b.id, WALLET);
    assert_eq!(b.balance, 20_000_000);
    assert_eq!(b.valid_for_tick, 17088186);
    assert_eq!(
        (b.incoming_amount, b.outgoing_amount),
        (20783623007, 20763623007)
    );
    assert_eq!(
        (
            b.number_of_incoming_transfers,
            b.number_of_outgoing_transfers
        ),
        (2844, 11882)
    );

    let sent = rpc.broadcast(&[1u8; 144]).await.unwrap();
    assert_eq!(sent.peers_broadcasted, 3);
    assert_eq!(
        sent.transaction_id,
        "oxmqdbynwbisqcjgphyaexhlknmaanipiyxpulatkdjxpdqsqtiovjhcxqkd"
    );

    let st = rpc
        .transaction_status(&TX.to_ascii_uppercase())
        .await
        .unwrap();
    assert_eq!(st.tx_id, TX);
    assert!(st.money_flew);
    assert_eq!(
        (st.tick_number, st.status),
        (None, None),
        "Qubic says no more"
    );

    let tx = rpc.transaction(TX).await.unwrap();
    assert_eq!(
        tx.source_id,
        "PCQRHZBMMMTCDAROMBXXLDSPAVJCGKUYMZILJCUHRDGSACXMUAGSEPVAXUCG"
    );
    assert_eq!(tx.amount, 1_000_000);
    assert_eq!(
        (tx.tick_number, tx.input_type, tx.input_size),
        (17110120, 2, 64)
    );
    assert_eq!(tx.input_hex.len(), 128);
    assert_eq!(tx.signature_hex.len(), 128);
    assert_eq!(tx.money_flew, None, "not part of Qubic's transaction");

    let approved = rpc.approved_transactions(17056942).await.unwrap();
    assert_eq!(approved.len(), 1);
    assert_eq!(approved[0].amount, 47_472_785);
    assert_eq!(
        approved[0].tx_id,
        "ywgbsjnvpjavjgsdbbwhrrjgctmcnanxybugdroubhijserehrnkurgexuue"
    );

    match rpc.transaction(&"a".repeat(60)).await {
        Err(QubicRpcError::NotFound { message, .. }) => {
            assert_eq!(message, "transaction not found")
        }
        other => panic!("expected NotFound, got {other:?}"),
    }
    assert!(matches!(
        rpc.approved_transactions(1).await,
        Err(QubicRpcError::NotFound { .. })
    ));
    assert!(matches!(
        rpc.balance("NOT-AN-IDENTITY").await,
        Err(QubicRpcError::Invalid(_))
    ));
    assert!(matches!(
        rpc.broadcast(&[]).await,
        Err(QubicRpcError::Invalid(_))
    ));
}

#[tokio::test]
async fn the_archive_can_live_at_another_url() {
    let live = serve(routes(&[(
        "GET /live/v1/tick-info",
        Reply::Answer(200, fixture("tick-info.json")),
    )]))
    .await;
    let archive = serve(routes(&[(
        &format!("GET /v1/tx-status/{TX}"),
        Reply::Answer(200, fixture("tx-status.json")),
    )]))
    .await;
    let rpc = QubicRpc::new(&format!("{live}/live/v1"))
        .unwrap()
        .with_archive(&format!("{archive}/v1"))
        .unwrap();
    assert_eq!(rpc.tick_info().await.unwrap().epoch, 107);
    assert!(rpc.transaction_status(TX).await.unwrap().money_flew);
}

#[tokio::test]
async fn a_network_that_is_down_is_down() {
    // A port nothing listens on: bound, then closed.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let rpc = QubicRpc::new(&format!("http://127.0.0.1:{port}/v1")).unwrap();
    let started = std::time::Instant::now();
    match rpc.tick_info().await {
        Err(QubicRpcError::Down { url, detail }) => {
            assert!(url.ends_with("/v1/tick-info"), "{url}");
            assert!(!detail.is_empty());
        }
        other => panic!("expected Down, got {other:?}"),
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "a refused connection is not waited out"
    );
    // A server that accepts and hangs up without a word.
    let url = serve(routes(&[("GET /v1/tick-info", Reply::Raw(Vec::new()))])).await;
    let rpc = QubicRpc::new(&format!("{url}/v1")).unwrap();
    assert!(
        matches!(rpc.tick_info().await, Err(QubicRpcError::Down { .. })),
        "no answer at all"
    );
}

#[tokio::test]
async fn a_slow_network_times_out_at_the_timeout_set() {
    let url = serve(routes(&[(
        "GET /v1/tick-info",
        Reply::Slow(Duration::from_secs(5), 200, fixture("tick-info.json")),
    )]))
    .await;
    let timeout = Duration::from_millis(300);
    let rpc = QubicRpc::with_timeout(&format!("{url}/v1"), timeout).unwrap();
    let started = std::time::Instant::now();
    match rpc.tick_info().await {
        Err(QubicRpcError::Timeout { after, .. }) => assert_eq!(after, timeout),
        other => panic!("expected Timeout, got {other:?}"),
    }
    let took = started.elapsed();
    assert!(
        took >= timeout && took < Duration::from_secs(3),
        "gave up after {took:?}"
    );
}

#[tokio::test]
async fn garbage_is_told_apart_from_an_answer() {
    let html = b"<html><body><h1>502 Bad Gateway</h1></body></html>".to_vec();
    let truncated = br#"{"tickInfo": {"tick": 13692242, "duration": 7, "ep"#.to_vec();
    // Says 100 bytes, sends 20, hangs up.
    let mut cut =
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n"
            .to_vec();
    cut.extend_from_slice(br#"{"tickInfo": {"tick""#);
    let url = serve(routes(&[
        ("GET /html/tick-info", Reply::Answer(200, html.clone())),
        ("GET /truncated/tick-info", Reply::Answer(200, truncated)),
        ("GET /cut/tick-info", Reply::Raw(cut)),
        (
            "GET /shape/tick-info",
            Reply::Answer(200, br#"{"tickInfo": {"tick": "soon"}}"#.to_vec()),
        ),
        (
            // A balance where a tick info belongs.
            "GET /other/tick-info",
            Reply::Answer(200, fixture("balance.json")),
        ),
        ("GET /5xx/tick-info", Reply::Answer(502, html)),
        (
            "GET /5xx-json/tick-info",
            Reply::Answer(
                500,
                br#"{"code":13,"message":"getting pool connection"}"#.to_vec(),
            ),
        ),
        (
            "POST /refused/broadcast-transaction",
            Reply::Answer(
                400,
                br#"{"code":3,"message":"target tick is in the past","details":[]}"#.to_vec(),
            ),
        ),
    ]))
    .await;
    let rpc = |prefix: &str| QubicRpc::new(&format!("{url}/{prefix}")).unwrap();

    match rpc("html").tick_info().await {
        Err(QubicRpcError::NotJson { start, .. }) => assert!(start.starts_with("<html>")),
        other => panic!("html: expected NotJson, got {other:?}"),
    }
    assert!(
        matches!(
            rpc("truncated").tick_info().await,
            Err(QubicRpcError::NotJson { .. })
        ),
        "truncated JSON"
    );
    match rpc("cut").tick_info().await {
        Err(QubicRpcError::NotJson { detail, .. }) => assert!(detail.contains("broke off")),
        other => panic!("cut: expected NotJson, got {other:?}"),
    }
    match rpc("shape").tick_info().await {
        Err(QubicRpcError::WrongShape { detail, .. }) => assert!(!detail.is_empty()),
        other => panic!("shape: expected WrongShape, got {other:?}"),
    }
    assert!(matches!(
        rpc("other").tick_info().await,
        Err(QubicRpcError::WrongShape { .. })
    ));
    match rpc("5xx").tick_info().await {
        Err(QubicRpcError::Server { status, body, .. }) => {
            assert_eq!(status, 502);
            assert!(body.contains("Bad Gateway"));
        }
        other => panic!("5xx: expected Server, got {other:?}"),
    }
    assert!(matches!(
        rpc("5xx-json").tick_info().await,
        Err(QubicRpcError::Server { status: 500, .. })
    ));
    match rpc("refused").broadcast(&[1; 144]).await {
        Err(QubicRpcError::Refused {
            status, message, ..
        }) => assert_eq!(
            (status, message.as_str()),
            (400, "target tick is in the past")
        ),
        other => panic!("refused: expected Refused, got {other:?}"),
    }
}

/// The same client against a comqute node's `/live/v1`: a transfer broadcast, its status,
/// the transaction, its tick's approved transactions, and the node's refusals typed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_comqute_node_answers_as_qubic_s_rpc_does() {
    let alice = Seed::new(&"a".repeat(55)).unwrap().keypair();
    let bob = Identity([5; 32]);
    let node = comqute_node::Node::start(comqute_node::NodeConfig {
        genesis: comqute_node::genesis_with_funds(vec![(alice.identity(), Amount(1_000_000))]),
        tick_ms: 20,
        ..comqute_node::NodeConfig::test()
    })
    .await
    .unwrap();
    let rpc = QubicRpc::new(&format!("http://{}/live/v1", node.addr())).unwrap();

    let info = rpc.tick_info().await.unwrap();
    assert_eq!((info.duration, info.epoch, info.initial_tick), (20, 1, 1));
    let b = rpc.balance(&alice.identity().to_string()).await.unwrap();
    assert_eq!(b.balance, 1_000_000);

    let tick = Tick(info.tick + 10);
    let tx = Transaction::new(alice.identity(), bob, Amount(500), tick, 0, vec![]).sign(&alice);
    let id = tx.id().to_string();
    let sent = rpc.broadcast(&tx.encode()).await.unwrap();
    assert_eq!(
        (sent.transaction_id.as_str(), sent.peers_broadcasted),
        (id.as_str(), 1)
    );

    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let st = loop {
        let st = rpc.transaction_status(&id).await.unwrap();
        if st.status.as_deref() != Some("pending") {
            break st;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still pending: {st:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(st.status.as_deref(), Some("executed"));
    assert!(st.money_flew);
    assert_eq!(st.tick_number, Some(tick.0));

    let got = rpc.transaction(&id).await.unwrap();
    assert_eq!(got.source_id, alice.identity().to_string());
    assert_eq!(got.dest_id, bob.to_string());
    assert_eq!((got.amount, got.tick_number), (500, tick.0));
    assert_eq!(got.signature_hex, hex::encode(tx.signature));
    let approved = rpc.approved_transactions(tick.0).await.unwrap();
    assert_eq!(approved.iter().map(|t| &t.tx_id).collect::<Vec<_>>(), [&id]);
    assert_eq!(rpc.balance(&bob.to_string()).await.unwrap().balance, 500);

    // The node's refusals, typed.
    assert!(matches!(
        rpc.transaction(&Hash32([9; 32]).to_string()).await,
        Err(QubicRpcError::NotFound { .. })
    ));
    assert!(matches!(
        rpc.approved_transactions(u32::MAX - 1).await,
        Err(QubicRpcError::NotFound { .. })
    ));
    let mut forged = Transaction::new(
        alice.identity(),
        bob,
        Amount(1),
        Tick(tick.0 + 500),
        0,
        vec![],
    )
    .sign(&alice);
    forged.amount = Amount(2);
    match rpc.broadcast(&forged.encode()).await {
        Err(QubicRpcError::Refused {
            status, message, ..
        }) => {
            assert_eq!(status, 400, "{message}");
        }
        other => panic!("a bad signature: expected Refused, got {other:?}"),
    }
    node.shutdown().await.unwrap();
}

//! Qubic's own Python client, qubipy 0.4.1 (`QubiPy_RPC`), pointed at a `comqute node
//! --devnet` under `/live/v1`: every RPC method it has that means something on comqute gets
//! an answer in Qubic's shape, and the answers are checked, not only their status.
//!
//! The transfers are made two ways: `comqute transfer` (the CLI), and transactions signed
//! here (comqute's default profile) that qubipy broadcasts. A node in `--profile qubic`
//! takes a transfer built and signed by qubipy's own wallet code, and the SDK's Qubic RPC
//! client reads it back by Qubic's id.
//!
//! Finding qubipy: `crates/qubic/tests/support/qubipy_env.rs`, shared with the profile's
//! cross-checks.

#[path = "../../qubic/tests/support/qubipy_env.rs"]
mod qubipy_env;
mod support;

use std::io::Write;
use std::process::{Command, Stdio};

use comqute_sdk::{Amount, ContractIndex, Hash32, Identity, Tick, Transaction};
use serde_json::{json, Value};
use support::{key, NodeProc};

/// Reads one JSON request on stdin; calls every method through `QubiPy_RPC`; prints one
/// JSON object: each method's answer, or `{"raised": ...}` when it raised.
const SCRIPT: &str = r#"
import json, sys, time
from importlib.metadata import version
from qubipy.rpc.rpc_client import QubiPy_RPC

req = json.load(sys.stdin)
rpc = QubiPy_RPC(rpc_url=req["url"])
out = {"version": version("qubipy")}

def call(name, f, *args):
    try:
        out[name] = f(*args)
    except Exception as e:
        out[name] = {"raised": "%s: %s" % (type(e).__name__, e)}
    return out[name]

call("tick_info", rpc.get_tick_info)
call("latest_tick", rpc.get_latest_tick)
call("balance", rpc.get_balance, req["alice"])
for i, tx in enumerate(req["txs"]):
    call("broadcast_%d" % i, rpc.broadcast_transaction, bytes.fromhex(tx))

# Wait until the transactions' tick is processed.
target = req["target"]
deadline = time.time() + 60
while time.time() < deadline and rpc.get_tick_info().get("tick", 0) < target:
    time.sleep(0.05)

for i, tx_id in enumerate(req["ids"]):
    call("tx_status_%d" % i, rpc.get_transaction_status, tx_id)
    call("transaction_%d" % i, rpc.get_transaction, tx_id)
call("unknown_transaction", rpc.get_transaction, req["unknown"])
call("approved", rpc.get_approved_transaction_for_tick, target)
call("tick_data", rpc.get_tick_data, target)
call("chain_hash", rpc.get_chain_hash, target)
call("store_hash", rpc.get_store_hash, target)
call("transfers", rpc.get_transfer_transactions_per_tick, req["alice"], req["first"], target)
call("computors", rpc.get_computors, 1)
call("status", rpc.get_rpc_status)
call("health", rpc.get_health_check)
call("stats", rpc.get_latest_stats)
# As qubipy's own tests call it: numbers as strings, the input as text.
call("query", rpc.query_smart_contract, "10", "2", "0", "")
call("block_height", rpc.get_block_height)
call("balance_after", rpc.get_balance, req["alice"])
json.dump(out, sys.stdout)
"#;

fn python() -> Option<&'static str> {
    qubipy_env::python("qubipy.rpc.rpc_client", "the qubipy RPC test")
}

fn run(python: &str, request: &Value) -> Value {
    qubipy_env::run_script(python, SCRIPT, request)
}

/// `v[name]`, failing with qubipy's error when the call raised.
fn answer<'a>(v: &'a Value, name: &str) -> &'a Value {
    let a = &v[name];
    assert!(
        a.get("raised").is_none(),
        "qubipy's {name} raised: {}",
        a["raised"]
    );
    a
}

fn get(url: &str) -> Value {
    reqwest::blocking::get(url)
        .and_then(|r| r.json())
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
}

#[test]
fn qubipy_gets_an_answer_in_qubic_s_shape_from_every_method() {
    let Some(py) = python() else { return };
    let node = NodeProc::start("qubic-rpc");
    let (alice_key, alice) = node.funded_key("alice", 1_000_000);
    let bob = key("bob").identity();

    // A transfer with the CLI.
    let sent = node.cli_json(
        Some(&alice_key),
        &["transfer", &bob.to_string(), "1234", "--json"],
    );
    assert_eq!(sent["status"], "executed", "{sent}");
    let cli_id = sent["txId"].as_str().unwrap().to_string();
    let first: u32 = support::num(&sent["tick"]).try_into().unwrap();

    // Two transactions signed here for qubipy to broadcast: a transfer and a notary record
    // (contract 10, procedure 1, a 32-byte input, no amount).
    let now: u32 = get(&format!("{}/live/v1/tick-info", node.url))["tickInfo"]["tick"]
        .as_u64()
        .unwrap()
        .try_into()
        .unwrap();
    // Far enough ahead for python to start and broadcast (5 s at 25 ms ticks).
    let target = Tick(now + 200);
    let pay = Transaction::new(alice.identity(), bob, Amount(77), target, 0, vec![]).sign(&alice);
    let record = Transaction::new(
        alice.identity(),
        Identity::contract(ContractIndex(10)),
        Amount(0),
        target,
        1,
        vec![7; 32],
    )
    .sign(&alice);
    let txs = [&pay, &record];
    let ids: Vec<String> = txs.iter().map(|t| t.id().to_string()).collect();
    let mut all_ids = ids.clone();
    all_ids.push(cli_id.clone());

    let v = run(
        py,
        &json!({
            "url": format!("{}/live/v1", node.url),
            "alice": alice.identity().to_string(),
            "txs": txs.iter().map(|t| hex::encode(t.encode())).collect::<Vec<_>>(),
            "ids": all_ids,
            "unknown": Hash32([9; 32]).to_string(),
            "target": target.0,
            "first": first,
        }),
    );

    // The five that answered before.
    let info = answer(&v, "tick_info");
    assert_eq!(
        (info["epoch"].clone(), info["initialTick"].clone()),
        (json!(1), json!(1))
    );
    assert_eq!(info["duration"], 25, "the test node ticks every 25 ms");
    let balance = answer(&v, "balance");
    assert_eq!(balance["id"], alice.identity().to_string());
    assert_eq!(balance["balance"], (1_000_000 - 1234).to_string());
    assert_eq!(balance["numberOfOutgoingTransfers"], 1);
    for (i, t) in txs.iter().enumerate() {
        let b = answer(&v, &format!("broadcast_{i}"));
        assert_eq!(b["transactionId"], t.id().to_string());
        assert_eq!(b["peersBroadcasted"], 1);
        let st = answer(&v, &format!("tx_status_{i}"));
        assert_eq!(st["txId"], t.id().to_string());
        assert_eq!(st["status"], "executed", "{st}");
        assert_eq!(
            st["moneyFlew"],
            i == 0,
            "only the transfer moves money: {st}"
        );
    }
    let approved = answer(&v, "approved").as_array().unwrap();
    let approved_ids: Vec<&str> = approved
        .iter()
        .map(|t| t["txId"].as_str().unwrap())
        .collect();
    assert_eq!(approved_ids, ids, "both, in slot order");
    assert_eq!(approved[0]["sourceId"], alice.identity().to_string());
    assert_eq!(approved[0]["destId"], bob.to_string());
    assert_eq!(approved[0]["amount"], "77");
    assert_eq!(approved[0]["signatureHex"], hex::encode(pay.signature));

    // The eleven that did not.
    let latest = answer(&v, "latest_tick").as_u64().unwrap();
    assert!(latest >= info["tick"].as_u64().unwrap());
    for (i, t) in txs.iter().enumerate() {
        let tx = answer(&v, &format!("transaction_{i}"));
        assert_eq!(tx["txId"], t.id().to_string());
        assert_eq!(tx["sourceId"], alice.identity().to_string());
        assert_eq!(tx["destId"], t.destination.to_string());
        assert_eq!(tx["amount"], t.amount.0.to_string());
        assert_eq!(tx["tickNumber"], target.0);
        assert_eq!(tx["inputType"], t.input_type);
        assert_eq!(tx["inputSize"], t.input.len());
        assert_eq!(tx["inputHex"], hex::encode(&t.input));
        assert_eq!(tx["signatureHex"], hex::encode(t.signature));
    }
    let by_cli = answer(&v, "transaction_2");
    assert_eq!(by_cli["amount"], "1234");
    assert_eq!(by_cli["destId"], bob.to_string());
    assert_eq!(by_cli["tickNumber"], first);
    let unknown = v["unknown_transaction"]["raised"]
        .as_str()
        .unwrap_or_default();
    assert!(unknown.contains("404"), "an unknown id is a 404: {unknown}");

    let td = answer(&v, "tick_data");
    assert_eq!(td["tickNumber"], target.0);
    assert_eq!(
        (td["epoch"].clone(), td["computorIndex"].clone()),
        (json!(1), json!(0))
    );
    assert_eq!(td["transactionIds"], json!(ids));
    assert!(td["timestamp"].as_str().unwrap().parse::<u64>().unwrap() > 0);

    // The digests are the explorer's for that tick.
    let tick = get(&format!("{}/v1/ticks/{}", node.url, target.0));
    let hex_of = |v: &Value| v.as_str().unwrap().parse::<Hash32>().unwrap().to_hex();
    assert_eq!(answer(&v, "chain_hash"), &json!(hex_of(&tick["digest"])));
    assert_eq!(
        answer(&v, "store_hash")["hexDigest"],
        hex_of(&tick["stateDigest"])
    );

    // Alice's transfers from the CLI's tick to the target: the two with an amount, not the
    // notary record (Qubic's archive lists non-zero amounts only).
    let per_tick = answer(&v, "transfers")["transferTransactionsPerTick"]
        .as_array()
        .unwrap();
    let listed: Vec<(u64, &str)> = per_tick
        .iter()
        .flat_map(|t| {
            assert_eq!(t["identity"], alice.identity().to_string());
            t["transactions"].as_array().unwrap().iter().map(|x| {
                (
                    t["tickNumber"].as_u64().unwrap(),
                    x["txId"].as_str().unwrap(),
                )
            })
        })
        .collect();
    assert_eq!(
        listed,
        vec![
            (u64::from(first), cli_id.as_str()),
            (u64::from(target.0), ids[0].as_str())
        ]
    );

    let comp = answer(&v, "computors");
    assert_eq!(comp["epoch"], 1);
    assert_eq!(comp["identities"], json!([Identity([0; 32]).to_string()]));

    let status = answer(&v, "status");
    assert!(status["lastProcessedTick"]["tickNumber"].as_u64().unwrap() >= u64::from(target.0));
    assert_eq!(status["processedTickIntervalsPerEpoch"][0]["epoch"], 1);
    assert_eq!(
        status["processedTickIntervalsPerEpoch"][0]["intervals"][0]["initialProcessedTick"],
        1
    );
    assert_eq!(status["skippedTicks"], json!([]));
    assert_eq!(answer(&v, "health"), &json!({"status": true}));

    let stats = answer(&v, "stats");
    assert_eq!(stats["circulatingSupply"], "1000000", "the faucet's only");
    assert_eq!(stats["activeAddresses"], 2, "alice and bob: {stats}");
    assert_eq!(stats["epoch"], 1);
    assert_eq!(stats["burnedQus"], "0");

    // The notary's count function (contract 10, function 2) ran: one record.
    assert_eq!(answer(&v, "query"), "AQAAAAAAAAA=");
    assert_eq!(answer(&v, "block_height")["epoch"], 1);
    assert_eq!(
        answer(&v, "balance_after")["balance"],
        (1_000_000 - 1234 - 77).to_string()
    );
}

fn status_and_json(url: &str) -> (u16, Value) {
    let r = reqwest::blocking::get(url).unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let code = r.status().as_u16();
    (code, r.json().unwrap_or(Value::Null))
}

/// Without qubipy: the new endpoints under both prefixes, and their refusals typed (a bad
/// tick, id, identity or epoch is a 400; what does not exist, a 404; a range past the bound,
/// a 400 that says so).
#[test]
fn the_archive_endpoints_answer_under_both_prefixes_and_refuse_with_typed_errors() {
    let node = NodeProc::start("qubic-rpc-errors");
    let (key_file, alice) = node.funded_key("alice", 10_000);
    let bob = key("bob").identity();
    let sent = node.cli_json(
        Some(&key_file),
        &["transfer", &bob.to_string(), "5", "--json"],
    );
    let id = sent["txId"].as_str().unwrap();
    let tick = support::num(&sent["tick"]);
    let alice_id = alice.identity().to_string();
    let base = &node.url;

    for prefix in ["/live/v1", "/v1"] {
        let (code, v) = status_and_json(&format!("{base}{prefix}/latestTick"));
        assert_eq!(code, 200);
        assert!(v["latestTick"].as_u64().unwrap() >= tick as u64);
        let (code, v) = status_and_json(&format!("{base}{prefix}/ticks/{tick}/tick-data"));
        assert_eq!(code, 200);
        assert_eq!(v["tickData"]["transactionIds"], json!([id]));
        // Qubic's transaction object, as `transaction` under both prefixes (under /v1 in
        // the explorer's view).
        let (code, v) = status_and_json(&format!("{base}{prefix}/transactions/{id}"));
        assert_eq!(code, 200, "{v}");
        assert_eq!(v["transaction"]["amount"], "5");
        assert_eq!(v["transaction"]["sourceId"], alice_id);
        let (code, v) = status_and_json(&format!(
            "{base}{prefix}/identities/{bob}/transfer-transactions?startTick={tick}&endTick={tick}"
        ));
        assert_eq!(code, 200);
        assert_eq!(
            v["transferTransactionsPerTick"][0]["transactions"][0]["txId"],
            id
        );
    }
    assert!(
        status_and_json(&format!("{base}/v1/transactions/{id}")).1["receipt"].is_object(),
        "under /v1 the explorer's view keeps its fields"
    );

    let refused = |path: &str, status: u16, code: &str| {
        let (got, v) = status_and_json(&format!("{base}/live/v1{path}"));
        assert_eq!(
            (got, v["code"].as_str().unwrap_or("")),
            (status, code),
            "{path}: {v}"
        );
        v["message"].as_str().unwrap().to_string()
    };
    refused("/ticks/soon/tick-data", 400, "bad_parameter");
    refused("/ticks/-1/chain-hash", 400, "bad_parameter");
    refused("/ticks/4000000000/store-hash", 404, "not_found");
    refused("/ticks/4000000000/tick-data", 404, "not_found");
    // Tick 1 ran nothing (the faucet is not a transaction): no digest is recorded for it.
    let m = refused("/ticks/1/chain-hash", 404, "not_found");
    assert!(m.contains("changed nothing"), "{m}");
    refused("/transactions/nope", 400, "bad_identity");
    refused(
        &format!("/transactions/{}", Hash32([4; 32])),
        404,
        "not_found",
    );
    refused("/epochs/x/computors", 400, "bad_parameter");
    refused("/epochs/99/computors", 404, "not_found");
    refused("/epochs/0/computors", 404, "not_found");
    let tt = |q: &str| format!("/identities/{alice_id}/transfer-transactions{q}");
    refused(&tt("?startTick=1"), 400, "bad_parameter");
    refused(&tt("?startTick=9&endTick=3"), 400, "bad_parameter");
    refused(&tt("?startTick=1&endTick=x"), 400, "bad_parameter");
    refused(&tt("?startTick=1&endTick=1&page=2"), 400, "bad_parameter");
    let m = refused(&tt("?startTick=1&endTick=1001"), 400, "bad_parameter");
    assert!(m.contains("at most 1000"), "{m}");
    refused(
        "/identities/NOTANIDENTITY/transfer-transactions?startTick=1&endTick=2",
        400,
        "bad_identity",
    );
}

/// Builds a transfer with qubipy's wallet code (`Tx_Builder`, Qubic's key utilities) for a
/// tick, broadcasts it with `QubiPy_RPC`, and prints `{"id", "identity", "dest"}`.
const QUBIC_WALLET: &str = r#"
import json, sys
from qubipy.crypto import utils as q
from qubipy.rpc.rpc_client import QubiPy_RPC
from qubipy.tx.builder import Tx_Builder

req = json.load(sys.stdin)
rpc = QubiPy_RPC(rpc_url=req["url"])
def pub_of(seed):
    return q.get_public_key_from_private_key(q.get_private_key_from_subseed(q.get_subseed_from_seed(seed.encode())))
src, dst = pub_of(req["seed"]), pub_of(req["dest_seed"])
tx = Tx_Builder()
tx.set_source_public_key(src)
tx.set_destination_public_key(dst)
tx.set_amount(req["amount"])
tx.set_target_tick(rpc.get_tick_info()["tick"] + 5)
tx.set_input_type(0)
tx.set_input_size(0)
unsigned, signed, sig, tx_hash = tx.build(req["seed"])
rpc.broadcast_transaction(bytes(signed))
json.dump({"id": tx_hash, "identity": q.get_identity_from_public_key(src, False),
           "dest": q.get_identity_from_public_key(dst, False), "signed": bytes(signed).hex()},
          sys.stdout)
"#;

/// A node in `--profile qubic` takes a transfer that Qubic's own wallet code built and signed
/// (qubipy's `Tx_Builder`), broadcast by Qubic's own client; the SDK's Qubic RPC client reads
/// it back by Qubic's id; a comqute-signed transaction is refused there.
#[test]
fn a_qubic_profile_node_takes_a_transfer_from_qubic_s_own_wallet_code() {
    let Some(py) = python() else { return };
    let node = NodeProc::start_with("qubic-rpc-profile", &["--profile", "qubic"]);
    let seed = &"qubicwalletseed".repeat(4)[..55];
    let dest_seed = &"destinationseed".repeat(4)[..55];
    let payer = comqute_qubic::Seed::new(seed).unwrap().keypair().identity();
    let funded = node.cli_json(
        None,
        &["--profile", "qubic", "faucet", &payer, "5000", "--json"],
    );
    assert_eq!(funded["balance"], "5000", "{funded}");
    let mut child = Command::new(py)
        .args(["-c", QUBIC_WALLET])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let req = json!({"url": format!("{}/live/v1", node.url), "seed": seed, "dest_seed": dest_seed, "amount": 777});
    child
        .stdin
        .take()
        .unwrap()
        .write_all(req.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sent: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        sent["identity"],
        payer.as_str(),
        "the same identity both sides"
    );

    let rt = support::runtime();
    rt.block_on(async {
        let rpc = comqute_sdk::QubicRpc::new(&format!("{}/live/v1", node.url)).unwrap();
        let id = sent["id"].as_str().unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let status = loop {
            if let Ok(s) = rpc.transaction_status(id).await {
                if s.status.as_deref().is_some_and(|s| s != "pending") {
                    break s;
                }
            }
            assert!(std::time::Instant::now() < deadline, "never processed");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        };
        assert_eq!(status.status.as_deref(), Some("executed"), "{status:?}");
        assert!(status.money_flew);
        let b = rpc.balance(sent["dest"].as_str().unwrap()).await.unwrap();
        assert_eq!(b.balance, 777);
        let tx = rpc.transaction(id).await.unwrap();
        assert_eq!(tx.amount, 777);
        assert_eq!(tx.source_id, payer);
        let approved = rpc.approved_transactions(tx.tick_number).await.unwrap();
        assert!(approved.iter().any(|t| t.tx_id == id), "{approved:?}");
        // The SDK's client broadcasts too: a transfer signed by comqute in the Qubic profile.
        let key = comqute_sdk::QubicKeypair::from_seed(seed).unwrap();
        let tick = rpc.tick_info().await.unwrap().tick + 5;
        let to: Identity = comqute_sdk::Signer::identity(
            &comqute_sdk::QubicKeypair::from_seed(dest_seed).unwrap(),
        );
        let tx = Transaction::new(
            comqute_sdk::Signer::identity(&key),
            to,
            Amount(23),
            Tick(tick),
            0,
            vec![],
        )
        .sign_with(&key);
        let r = rpc.broadcast(&tx.encode()).await.unwrap();
        assert_eq!(
            r.transaction_id,
            comqute_qubic::tx::id_string(&tx.encode()),
            "Qubic's id"
        );
        // A comqute-profile signature is refused by this node.
        let ed = key_plain();
        let bad = Transaction::new(ed.identity(), to, Amount(1), Tick(tick), 0, vec![]).sign(&ed);
        let e = rpc.broadcast(&bad.encode()).await.unwrap_err();
        assert!(e.to_string().contains("signature"), "{e}");
    });
}

fn key_plain() -> comqute_sdk::Keypair {
    key("plain")
}

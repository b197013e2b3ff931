//! Pools and prices end to end (issue 19): the real node binary, two `comqute worker run`
//! daemons on an Ollama-compatible test server, both joined to one pool through the CLI.
//! Jobs submitted through the CLI are served by the pool's members and settle through the
//! pool: the operator's fee, the executing member's share and the members' shares add up to
//! the unit; a member claims what it is owed. The price oracle says "no data" until a job
//! has settled and an epoch has ended, then prices the model, and `job submit --price auto`
//! uses that price.

mod support;

use std::time::{Duration, Instant};

use comqute_inference::testserver::{TestServer, TestServerConfig};
use serde_json::{json, Value};
use support::{num, runtime, NodeProc, WorkerDaemon};

const MODEL: &str = "comqute-test:tiny";
const PRICE: i64 = 2_000;
const FEE_BPS: i64 = 1_000;

fn daemon(node: &NodeProc, key: &std::path::Path, ollama: &str) -> WorkerDaemon {
    let args = [
        "--ollama",
        ollama,
        "--model",
        MODEL,
        "--stake",
        "20000",
        "--price-per-1k",
        &PRICE.to_string(),
        "--heartbeat-ticks",
        "40",
        "--no-benchmark",
    ];
    WorkerDaemon::start(node, key, &args, key.with_extension("log"))
}

fn submit(node: &NodeProc, key: &std::path::Path, prompt: &str, price: &str) -> String {
    let v = node.cli_json(
        Some(key),
        &[
            "job",
            "submit",
            "--model",
            MODEL,
            "--prompt",
            prompt,
            "--price",
            price,
            "--max-tokens",
            "24",
            "--json",
        ],
    );
    v["id"].as_str().expect("a job id").to_string()
}

fn wait_final(node: &NodeProc, id: &str, workers: &[&WorkerDaemon]) -> Value {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let v = node.job(id);
        if v["status"] == "Finalized" {
            return v;
        }
        let logs: Vec<String> = workers.iter().map(|w| w.log()).collect();
        assert!(
            Instant::now() < deadline,
            "job {id} not finalized: {v}\n{}",
            logs.join("\n----\n")
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn two_daemons_in_one_pool_are_paid_through_it_and_the_oracle_prices_what_settled() {
    let rt = runtime();
    let server = rt
        .block_on(TestServer::start(TestServerConfig {
            models: vec![MODEL.to_string()],
            ..TestServerConfig::default()
        }))
        .unwrap();
    let node = NodeProc::start_with("pools-e2e", &["--epoch-ticks", "400", "--no-spot-checks"]);
    let (op_key, op) = node.funded_key("operator", 100_000);
    let (walt_key, walt) = node.funded_key("walt", 100_000);
    let (wanda_key, wanda) = node.funded_key("wanda", 100_000);
    let (alice_key, alice) = node.funded_key("alice", 1_000_000);

    // Before anything settled, the oracle says so instead of guessing.
    let e = node.cli_json(
        None,
        &[
            "job",
            "estimate",
            "--model",
            MODEL,
            "--max-tokens",
            "24",
            "--json",
        ],
    );
    assert!(e.get("noData").is_some(), "{e}");
    let o = node.cli(
        Some(&alice_key),
        &[
            "job",
            "submit",
            "--model",
            MODEL,
            "--prompt",
            "x",
            "--price",
            "auto",
            "--max-tokens",
            "24",
        ],
    );
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("no price published"), "{err}");

    let created = node.cli_json(
        Some(&op_key),
        &[
            "pool",
            "create",
            "--fee-bps",
            &FEE_BPS.to_string(),
            "--json",
        ],
    );
    let pool = created["pool"].as_str().unwrap().to_string();
    let w1 = daemon(&node, &walt_key, &server.url());
    let w2 = daemon(&node, &wanda_key, &server.url());
    node.wait_worker_ready(&walt_key, &w1, 60);
    node.wait_worker_ready(&wanda_key, &w2, 60);
    for k in [&walt_key, &wanda_key] {
        let v = node.cli_json(
            Some(k),
            &["pool", "join", &pool, "--stake", "5000", "--json"],
        );
        assert_eq!(v["pool"], pool.as_str(), "{v}");
    }
    let list = node.cli_json(None, &["pool", "list", "--json"]);
    assert_eq!(list["pools"][0]["id"], pool.as_str(), "{list}");
    assert_eq!(list["pools"][0]["members"], 2, "{list}");
    let op_before = node.balance(&op.identity());

    let ids: Vec<String> = (0..4)
        .map(|i| submit(&node, &alice_key, &format!("Pool job {i}."), "3000"))
        .collect();
    let mut paid = 0i64;
    let mut fees = 0i64;
    for id in &ids {
        let v = wait_final(&node, id, &[&w1, &w2]);
        let p = num(&v["paid"]);
        assert!(p > 0, "{v}");
        paid += p;
        fees += p * FEE_BPS / 10_000;
    }
    // The operator got its fee on every job, to the unit.
    assert_eq!(node.balance(&op.identity()) - op_before, fees);
    let show = node.cli_json(None, &["pool", "show", &pool, "--json"]);
    let p = &show["pool"];
    assert_eq!(num(&p["received"]), paid, "{show}");
    assert_eq!(num(&p["feesPaid"]), fees, "{show}");
    assert_eq!(num(&p["jobsSettled"]), 4, "{show}");
    assert_eq!(
        num(&show["paid"]) + num(&show["carried"]),
        paid,
        "paid + carried == received: {show}"
    );
    let members = show["members"].as_array().unwrap();
    assert_eq!(members.len(), 2, "{show}");
    // A member claims exactly what the pool says it is owed.
    let walt_view = members
        .iter()
        .find(|m| m["member"]["worker"] == walt.identity().to_string())
        .expect("walt is a member");
    let owed = num(&walt_view["owed"]);
    assert!(owed > 0, "{show}");
    let before = node.balance(&walt.identity());
    let c = node.cli_json(Some(&walt_key), &["pool", "claim", "--json"]);
    assert_eq!(num(&c["paid"]), owed, "{c}");
    // Heartbeats move no money: the balance grew by the claim alone (or, if a job paid
    // walt's executor share meanwhile, by more; none is running).
    assert_eq!(node.balance(&walt.identity()) - before, owed);

    // A large job, bid for with sealed bids: the pool's operator wins it for the pool, the
    // members serve its parts through the normal daemons, and the pool is paid for them.
    let posted = node.cli_json(
        Some(&alice_key),
        &[
            "job",
            "post-large",
            "--model",
            MODEL,
            "--prompt",
            "Part one.",
            "--prompt",
            "Part two.",
            "--max-tokens",
            "24",
            "--max-price-per-1k",
            "3000",
            "--commit-ticks",
            "20",
            "--reveal-ticks",
            "20",
            "--json",
        ],
    );
    let large = posted["largeJob"].as_str().unwrap().to_string();
    let received_before =
        num(&node.cli_json(None, &["pool", "show", &pool, "--json"])["pool"]["received"]);
    let op_before = node.balance(&op.identity());
    let bid = node.cli_json(
        Some(&op_key),
        &[
            "job", "bid", &large, "--price", "2500", "--pool", &pool, "--json",
        ],
    );
    assert!(
        bid["revealed"].as_u64().unwrap() > bid["committed"].as_u64().unwrap(),
        "{bid}"
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let view = loop {
        let v = node.cli_json(None, &["job", "large", &large, "--json"]);
        if v["phase"] == "Awarded" {
            break v;
        }
        assert!(v["phase"] != "Unawarded", "{v}");
        assert!(Instant::now() < deadline, "not awarded: {v}");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(view["winner"]["pool"], pool.as_str(), "{view}");
    assert_eq!(num(&view["winner"]["pricePer1k"]), 2500, "{view}");
    let parts: Vec<String> = view["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[0].as_str().unwrap().to_string())
        .collect();
    assert_eq!(parts.len(), 2, "{view}");
    let (mut large_paid, mut large_fees) = (0, 0);
    for id in &parts {
        let v = wait_final(&node, id, &[&w1, &w2]);
        assert_eq!(
            num(&v["pricePer1k"]),
            2500,
            "served at the winning price: {v}"
        );
        let p = num(&v["paid"]);
        large_paid += p;
        large_fees += p * FEE_BPS / 10_000;
    }
    let show = node.cli_json(None, &["pool", "show", &pool, "--json"]);
    assert_eq!(
        num(&show["pool"]["received"]) - received_before,
        large_paid,
        "{show}"
    );
    assert_eq!(node.balance(&op.identity()) - op_before, large_fees);

    // The epoch ends: the oracle publishes the price the jobs settled at.
    let c = reqwest::blocking::Client::new();
    let r = c
        .post(format!("{}/v1/devnet/warp", node.url))
        .json(&json!({"ticks": 450}))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let e = node.cli_json(
        None,
        &[
            "job",
            "estimate",
            "--model",
            MODEL,
            "--max-tokens",
            "1000",
            "--json",
        ],
    );
    let priced = &e["priced"];
    assert_eq!(num(&priced["medianPer1k"]), PRICE, "{e}");
    assert_eq!(num(&priced["costMedian"]), PRICE, "{e}");
    // The warp outran the daemons' heartbeats: they come back online with the next one.
    node.wait_worker_ready(&walt_key, &w1, 60);
    node.wait_worker_ready(&wanda_key, &w2, 60);
    // `--price auto` escrows at the p75 and is served.
    let id = submit(&node, &alice_key, "Priced by the market.", "auto");
    let v = wait_final(&node, &id, &[&w1, &w2]);
    assert_eq!(
        num(&v["spec"]["maxPricePer1k"]),
        num(&priced["p75Per1k"]),
        "{v}"
    );

    // The node's JSON views say the same.
    let get = |path: &str| {
        let r = c.get(format!("{}{path}", node.url)).send().unwrap();
        (r.status().as_u16(), r.json::<Value>().unwrap())
    };
    let (code, v) = get("/v1/pools");
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["pools"][0]["id"], pool.as_str(), "{v}");
    let (code, v) = get(&format!("/v1/pools/{pool}"));
    assert_eq!(code, 200, "{v}");
    assert!(
        num(&v["pool"]["received"]) > paid,
        "the auto-priced job too: {v}"
    );
    assert_eq!(v["members"].as_array().map(Vec::len), Some(2), "{v}");
    assert_eq!(get("/v1/pools/99").0, 404);
    assert_eq!(get("/v1/pools/x").0, 400);
    let (code, v) = get(&format!("/v1/prices/{MODEL}?maxTokens=500"));
    assert_eq!(code, 200, "{v}");
    assert_eq!(num(&v["priced"]["costMedian"]), PRICE / 2, "{v}");
    let (code, v) = get("/v1/prices/unknown-model");
    assert_eq!((code, v.get("noData").is_some()), (200, true), "{v}");
    let (code, v) = get("/v1/prices");
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["models"].as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(get("/v1/prices/x?maxTokens=lots").0, 400);
    let (code, v) = get(&format!("/v1/large-jobs/{large}"));
    assert_eq!((code, &v["phase"]), (200, &Value::from("Awarded")), "{v}");
    assert_eq!(v["parts"].as_array().map(Vec::len), Some(2), "{v}");
    assert_eq!(get("/v1/large-jobs/77").0, 404);
    let (code, v) = get("/v1/large-jobs");
    assert_eq!(code, 200, "{v}");
    assert_eq!(
        v["jobs"].as_array().map(Vec::len),
        Some(0),
        "none still bidding: {v}"
    );

    // The pool's operator buying from its own members is one party: not observed.
    let own = submit(&node, &op_key, "From the pool's operator.", "3000");
    wait_final(&node, &own, &[&w1, &w2]);
    let (_, ev) = get("/v1/events?limit=1000");
    let skipped: Vec<&Value> = ev["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["decoded"]["type"] == "ObservationSkipped")
        .collect();
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert_eq!(skipped[0]["decoded"]["jobId"], own.as_str());
    assert_eq!(skipped[0]["decoded"]["reason"], "SelfDealing");

    // History as CSV: the same rows as the API's jobs of alice.
    let o = node.cli(Some(&alice_key), &["job", "history", "--csv"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let csv = String::from_utf8(o.stdout).unwrap();
    let mut lines = csv.lines();
    assert!(
        lines.next().unwrap().starts_with("id,status,model,"),
        "{csv}"
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let (_, api) = get(&format!(
        "/v1/jobs?requester={}&limit=100",
        alice.identity()
    ));
    let api_jobs = api["jobs"].as_array().unwrap();
    assert_eq!(rows.len(), api_jobs.len(), "{csv}\n{api}");
    for r in &rows {
        let j = api_jobs
            .iter()
            .find(|j| j["id"] == r[0])
            .expect("a row per job");
        assert_eq!(r[1], j["status"].as_str().unwrap());
        assert_eq!(r[2], MODEL);
        assert_eq!(r[9], j["paid"].as_str().unwrap(), "{csv}");
    }
    // Earnings: walt's paid jobs with a running total equal to their payments.
    let e = node.cli_json(
        None,
        &["worker", "earnings", &walt.identity().to_string(), "--json"],
    );
    let series = e["jobs"].as_array().unwrap();
    assert!(!series.is_empty(), "{e}");
    let sum: i64 = series.iter().map(|j| num(&j["paid"])).sum();
    assert_eq!(num(&e["earned"]), sum, "{e}");
    assert_eq!(num(&series.last().unwrap()["total"]), sum, "{e}");

    // Leaving waits out the unbonding period.
    let v = node.cli_json(Some(&wanda_key), &["pool", "leave", "--json"]);
    assert!(v["withdrawFrom"].as_u64().unwrap() > 0, "{v}");
    let o = node.cli(Some(&wanda_key), &["pool", "withdraw"]);
    assert!(
        !o.status.success(),
        "a withdrawal before the unbonding period ends"
    );
    let _ = wanda;
}

//! The marketplace JSON API and token streaming on the real node binary: shapes, filters and
//! paging, live and late token subscribers, and a typed 4xx for every bad input (the node
//! keeps serving).

mod support;

use std::time::Duration;

use comqute_sdk::contracts::model_id;
use comqute_sdk::contracts::worker_registry::Capabilities;
use comqute_sdk::wire::token_digest;
use comqute_sdk::{Amount, Client, Hash32, Identity, JobRequest, TokenEvent};
use reqwest::blocking::Client as Http;
use serde_json::{json, Value};
use support::{key, runtime, NodeProc};

fn get(c: &Http, url: &str) -> (u16, Value) {
    let r = c.get(url).send().unwrap();
    let status = r.status().as_u16();
    (status, r.json().unwrap_or(Value::Null))
}

fn post(c: &Http, url: &str, body: &Value) -> (u16, Value) {
    let r = c.post(url).json(body).send().unwrap();
    let status = r.status().as_u16();
    (status, r.json().unwrap_or(Value::Null))
}

fn push_body(who: &comqute_sdk::Keypair, job: u64, seq: u32, text: &str, done: bool) -> Value {
    let sig = who.sign_digest(&token_digest(job, seq, text, done));
    json!({
        "worker": who.identity().to_string(),
        "seq": seq,
        "text": text,
        "done": done,
        "signature": hex::encode(sig),
    })
}

#[test]
fn jobs_workers_stats_events_and_tokens_over_http() {
    let node = NodeProc::start("api");
    let base = node.url.clone();
    let http = Http::new();
    let rt = runtime();
    let (alice, walt, mallory) = (key("alice"), key("walt"), key("mallory"));
    let sdk = Client::remote(&base).unwrap();

    // Three jobs by Alice; Walt registers and claims the first.
    let ids: Vec<u64> = rt.block_on(async {
        for k in [&alice, &walt, &mallory] {
            sdk.faucet(&k.identity(), Amount(1_000_000)).await.unwrap();
        }
        let caps = Capabilities {
            models: vec!["llama3.2:1b".into()],
            gpu: "RTX 4090".into(),
            vram_mb: 24_576,
            tokens_per_s: 120,
            price_per_1k: Amount(1_000),
            max_concurrent: 2,
        };
        sdk.workers()
            .register(&walt, &caps, Amount(10_000))
            .await
            .unwrap();
        let mut ids = Vec::new();
        for i in 0..3 {
            let req = JobRequest::new("llama3.2:1b", format!("prompt {i}"), 100, Amount(2_000));
            ids.push(sdk.jobs().request(&alice, &req).await.unwrap().id());
        }
        sdk.jobs().claim(&walt, ids[0]).await.unwrap();
        ids
    });
    assert_eq!(ids, vec![1, 2, 3]);

    // One job, by id.
    let (code, j) = get(&http, &format!("{base}/v1/jobs/1"));
    assert_eq!(code, 200, "{j}");
    assert_eq!(j["id"], "1");
    assert_eq!(j["status"], "Assigned");
    assert_eq!(j["worker"], walt.identity().to_string());
    assert_eq!(j["escrow"], "200");
    assert_eq!(j["spec"]["model"], model_id("llama3.2:1b").to_string());
    assert!(j.get("resultHash").is_none(), "no result yet");
    let (code, e) = get(&http, &format!("{base}/v1/jobs/1/escrow"));
    assert_eq!((code, &e["locked"]), (200, &json!("200")), "{e}");

    // Filters and paging.
    let (_, p) = get(&http, &format!("{base}/v1/jobs?limit=2"));
    assert_eq!(p["jobs"].as_array().unwrap().len(), 2);
    assert_eq!(p["nextCursor"], "2");
    let (_, p) = get(&http, &format!("{base}/v1/jobs?limit=2&cursor=2"));
    assert_eq!(p["jobs"][0]["id"], "3");
    assert_eq!(p["nextCursor"], Value::Null);
    let (_, p) = get(&http, &format!("{base}/v1/jobs?status=open"));
    let open: Vec<&Value> = p["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| &j["id"])
        .collect();
    assert_eq!(open, vec!["2", "3"]);
    let (_, p) = get(
        &http,
        &format!(
            "{base}/v1/jobs?requester={}&status=Assigned",
            alice.identity()
        ),
    );
    assert_eq!(p["jobs"].as_array().unwrap().len(), 1);
    let (_, p) = get(&http, &format!("{base}/v1/jobs?worker={}", walt.identity()));
    assert_eq!(p["jobs"][0]["id"], "1");

    // The contracts, as they describe themselves (issue 17): the job registry last.
    let (code, c) = get(&http, &format!("{base}/v1/contracts"));
    assert_eq!(code, 200, "{c}");
    let list = c["contracts"].as_array().unwrap();
    let names: Vec<(&Value, &Value)> = list.iter().map(|c| (&c["index"], &c["name"])).collect();
    assert_eq!(
        names[..6],
        [
            (&Value::from(1), &Value::from("escrow")),
            (&Value::from(2), &Value::from("worker-registry")),
            (&Value::from(3), &Value::from("pools")),
            (&Value::from(4), &Value::from("price-oracle")),
            (&Value::from(5), &Value::from("verification")),
            (&Value::from(6), &Value::from("job-registry")),
        ],
        "the marketplace, then the devnet's example contracts: {names:?}"
    );
    assert!(names.contains(&(&Value::from(10), &Value::from("notary"))));
    let jobs = list.iter().find(|c| c["name"] == "job-registry").unwrap();
    assert!(jobs["procedures"].as_array().unwrap().contains(
        &serde_json::json!({"number": 10, "name": "decline", "input": "GiveUp", "output": "()"})
    ));
    assert!(jobs["errors"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!({"number": 401, "name": "WrongStatus"})));

    // Workers by model, one worker, statistics.
    let (code, p) = get(&http, &format!("{base}/v1/workers?model=llama3.2:1b"));
    assert_eq!(code, 200, "{p}");
    assert_eq!(p["workers"][0]["id"], walt.identity().to_string());
    assert_eq!(p["workers"][0]["activeJobs"], 1);
    let (_, p2) = get(
        &http,
        &format!("{base}/v1/workers?modelId={}", model_id("llama3.2:1b")),
    );
    assert_eq!(p2["workers"], p["workers"]);
    let (code, w) = get(&http, &format!("{base}/v1/workers/{}", walt.identity()));
    assert_eq!(code, 200);
    assert_eq!(w["status"], "Active");
    assert_eq!(w["stake"], "10000");
    assert_eq!(w["capabilities"]["gpu"], "RTX 4090");
    assert!(w["online"].is_boolean() && w["canTakeJobs"].is_boolean());
    let (_, s) = get(&http, &format!("{base}/v1/stats"));
    assert_eq!(s["jobs"]["submitted"], "3");
    assert_eq!(s["jobs"]["byStatus"]["Open"], "2");
    assert_eq!(s["jobs"]["byStatus"]["Assigned"], "1");
    assert_eq!(s["jobs"]["totalEscrowed"], "600");
    assert_eq!(s["workers"]["registered"], "1");
    assert!(s["tick"].as_u64().is_some());

    // Events, decoded, with the raw hex kept.
    let (_, ev) = get(&http, &format!("{base}/v1/events?limit=1000"));
    let submitted: Vec<&Value> = ev["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["decoded"]["type"] == "Submitted")
        .collect();
    assert_eq!(submitted.len(), 3);
    assert_eq!(submitted[0]["decoded"]["contract"], "job-registry");
    assert_eq!(submitted[0]["decoded"]["jobId"], "1");
    assert_eq!(submitted[0]["decoded"]["escrow"], "200");
    assert_eq!(
        submitted[0]["contract"], 6,
        "the job registry is contract 6"
    );
    assert!(!submitted[0]["dataHex"].as_str().unwrap().is_empty());
    assert!(ev["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["decoded"]["type"] == "StakeLocked" && e["decoded"]["contract"] == "escrow"));

    // Tokens: a subscriber before the first push, the worker pushing, a late subscriber.
    rt.block_on(async {
        let mut early = sdk.subscribe_tokens(1);
        sdk.jobs().start(&walt, 1).await.unwrap();
        let mut w = sdk.jobs().token_writer(&walt, 1);
        w.write("Hello").await.unwrap();
        w.write(", ").await.unwrap();
        let mut late = sdk.subscribe_tokens(1);
        w.finish("world").await.unwrap();
        for sub in [&mut early, &mut late] {
            let mut text = String::new();
            loop {
                match sub
                    .next_within(Duration::from_secs(10))
                    .await
                    .unwrap()
                    .unwrap()
                {
                    TokenEvent::Chunk(c) => text.push_str(&c.text),
                    TokenEvent::Done { chunks } => {
                        assert_eq!(chunks, 3);
                        break;
                    }
                    other => panic!("{other:?}"),
                }
            }
            assert_eq!(text, "Hello, world");
        }
        // The stream is closed: one more push is a conflict.
        let e = sdk
            .push_tokens(&walt, 1, 3, "more", false)
            .await
            .unwrap_err();
        assert_eq!(e.code(), Some("conflict"), "{e}");
    });
    let (code, t) = get(&http, &format!("{base}/v1/jobs/1/tokens"));
    assert_eq!(code, 200);
    assert_eq!(t["text"], "Hello, world");
    assert_eq!(t["done"], true);
    assert_eq!(t["chunks"][2]["seq"], 2);

    // A receipt with its output and events.
    let tx_id = rt.block_on(async {
        let p = sdk
            .submit(
                &walt,
                Identity::contract(comqute_sdk::contracts::JOB_REGISTRY),
                Amount::ZERO,
                comqute_sdk::contracts::job_registry::START.number(),
                borsh::to_vec(&comqute_sdk::contracts::job_registry::JobRef {
                    job_id: comqute_sdk::contracts::JobId(1),
                })
                .unwrap(),
            )
            .await
            .unwrap();
        let r = sdk.wait(&p).await.unwrap();
        let err = r.clone().into_result().unwrap_err();
        assert!(
            matches!(
                err.contract_error(),
                Some(comqute_sdk::qpi::ContractError::Rejected { code: 401, .. })
            ),
            "starting twice: {err}"
        );
        p.tx_id
    });
    let (code, v) = get(&http, &format!("{base}/v1/receipts/{tx_id}"));
    assert_eq!(code, 200);
    assert_eq!(v["receipt"]["status"], "failed");
    assert_eq!(v["receipt"]["errorName"], "WrongStatus");
    assert_eq!(v["receipt"]["errorCode"], 401);
}

#[test]
fn bad_input_to_the_marketplace_api_gets_a_typed_4xx() {
    let node = NodeProc::start("api-bad");
    let base = node.url.clone();
    let http = Http::new();
    let rt = runtime();
    let (alice, walt, mallory) = (key("alice"), key("walt"), key("mallory"));
    let sdk = Client::remote(&base).unwrap();
    rt.block_on(async {
        for k in [&alice, &walt] {
            sdk.faucet(&k.identity(), Amount(1_000_000)).await.unwrap();
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
            .register(&walt, &caps, Amount(10_000))
            .await
            .unwrap();
        let job = sdk
            .jobs()
            .request(&alice, &JobRequest::new("m", "p", 100, Amount(1_000)))
            .await
            .unwrap();
        sdk.jobs().claim(&walt, job.id()).await.unwrap();
    });
    let bad_id = {
        let mut s = alice.identity().to_string();
        s.replace_range(59..60, if s.ends_with('A') { "B" } else { "A" });
        s
    };
    let unknown = Identity([7; 32]);
    let tokens = format!("{base}/v1/jobs/1/tokens");
    let cases: Vec<(&str, (u16, Value), u16, &str)> = vec![
        (
            "unknown job",
            get(&http, &format!("{base}/v1/jobs/999")),
            404,
            "not_found",
        ),
        (
            "job id not a number",
            get(&http, &format!("{base}/v1/jobs/abc")),
            400,
            "bad_parameter",
        ),
        (
            "job id zero",
            get(&http, &format!("{base}/v1/jobs/0")),
            400,
            "bad_parameter",
        ),
        (
            "unknown job escrow",
            get(&http, &format!("{base}/v1/jobs/999/escrow")),
            404,
            "not_found",
        ),
        (
            "bad status",
            get(&http, &format!("{base}/v1/jobs?status=Done")),
            400,
            "bad_parameter",
        ),
        (
            "bad requester",
            get(&http, &format!("{base}/v1/jobs?requester={bad_id}")),
            400,
            "bad_identity",
        ),
        (
            "bad worker",
            get(&http, &format!("{base}/v1/jobs?worker=XYZ")),
            400,
            "bad_identity",
        ),
        (
            "limit zero",
            get(&http, &format!("{base}/v1/jobs?limit=0")),
            400,
            "bad_parameter",
        ),
        (
            "limit too big",
            get(&http, &format!("{base}/v1/jobs?limit=101")),
            400,
            "bad_parameter",
        ),
        (
            "limit not a number",
            get(&http, &format!("{base}/v1/jobs?limit=ten")),
            400,
            "bad_parameter",
        ),
        (
            "bad cursor",
            get(&http, &format!("{base}/v1/jobs?cursor=-1")),
            400,
            "bad_parameter",
        ),
        (
            "unknown parameter",
            get(&http, &format!("{base}/v1/jobs?stauts=Open")),
            400,
            "bad_parameter",
        ),
        (
            "workers without a model",
            get(&http, &format!("{base}/v1/workers")),
            400,
            "bad_parameter",
        ),
        (
            "workers by a bad model id",
            get(&http, &format!("{base}/v1/workers?modelId=zz")),
            400,
            "bad_identity",
        ),
        (
            "workers by both",
            get(
                &http,
                &format!("{base}/v1/workers?model=m&modelId={}", Hash32::of(b"m")),
            ),
            400,
            "bad_parameter",
        ),
        (
            "bad worker identity",
            get(&http, &format!("{base}/v1/workers/{bad_id}")),
            400,
            "bad_identity",
        ),
        (
            "unknown worker",
            get(&http, &format!("{base}/v1/workers/{unknown}")),
            404,
            "not_found",
        ),
        (
            "bad receipt id",
            get(&http, &format!("{base}/v1/receipts/nothex")),
            400,
            "bad_identity",
        ),
        (
            "unknown receipt",
            get(&http, &format!("{base}/v1/receipts/{}", Hash32([9; 32]))),
            404,
            "not_found",
        ),
        (
            "bad event cursor",
            get(&http, &format!("{base}/v1/events?after=abc")),
            400,
            "bad_parameter",
        ),
        (
            "tokens of an unknown job",
            get(&http, &format!("{base}/v1/jobs/999/tokens")),
            404,
            "not_found",
        ),
        (
            "token stream of an unknown job",
            get(&http, &format!("{base}/v1/jobs/999/tokens/stream")),
            404,
            "not_found",
        ),
        (
            "push to an unknown job",
            post(
                &http,
                &format!("{base}/v1/jobs/999/tokens"),
                &push_body(&walt, 999, 0, "x", false),
            ),
            404,
            "not_found",
        ),
        (
            "push, malformed JSON",
            {
                let r = http
                    .post(&tokens)
                    .header("content-type", "application/json")
                    .body("{nope")
                    .send()
                    .unwrap();
                (r.status().as_u16(), r.json().unwrap())
            },
            400,
            "bad_json",
        ),
        (
            "push, unknown field",
            post(&http, &tokens, &{
                let mut b = push_body(&walt, 1, 0, "x", false);
                b["extra"] = json!(1);
                b
            }),
            400,
            "bad_json",
        ),
        (
            "push, signature not hex",
            post(&http, &tokens, &{
                let mut b = push_body(&walt, 1, 0, "x", false);
                b["signature"] = json!("xyz");
                b
            }),
            400,
            "bad_parameter",
        ),
        (
            "push, bad worker identity",
            post(&http, &tokens, &{
                let mut b = push_body(&walt, 1, 0, "x", false);
                b["worker"] = json!(bad_id);
                b
            }),
            400,
            "bad_identity",
        ),
        (
            "push by the requester",
            post(&http, &tokens, &push_body(&alice, 1, 0, "x", false)),
            403,
            "forbidden",
        ),
        (
            "push by a stranger",
            post(&http, &tokens, &push_body(&mallory, 1, 0, "x", false)),
            403,
            "forbidden",
        ),
        (
            "push claiming to be the worker, signed by another",
            post(&http, &tokens, &{
                let mut b = push_body(&mallory, 1, 0, "x", false);
                b["worker"] = json!(walt.identity().to_string());
                b
            }),
            403,
            "forbidden",
        ),
        (
            "push with a signature over other text",
            post(&http, &tokens, &{
                let mut b = push_body(&walt, 1, 0, "x", false);
                b["text"] = json!("y");
                b
            }),
            403,
            "forbidden",
        ),
        (
            "push out of order",
            post(&http, &tokens, &push_body(&walt, 1, 5, "x", false)),
            409,
            "conflict",
        ),
        (
            "push over the body limit",
            post(
                &http,
                &tokens,
                &push_body(&walt, 1, 0, &"x".repeat(70_000), false),
            ),
            413,
            "body_too_large",
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
    // Nothing was pushed by the refused requests; the worker still can, up to the stream's
    // budget (1 MiB): then 413, and what was accepted stays.
    let (code, t) = get(&http, &tokens);
    assert_eq!((code, t["chunks"].as_array().unwrap().len()), (200, 0));
    let chunk = "y".repeat(60_000);
    let mut accepted = 0;
    let last = loop {
        let (code, v) = post(
            &http,
            &tokens,
            &push_body(&walt, 1, accepted, &chunk, false),
        );
        if code != 200 {
            break (code, v);
        }
        accepted += 1;
        assert!(accepted < 100, "the stream has a budget");
    };
    assert_eq!(accepted, 17, "17 × 60,000 bytes fit in 1 MiB");
    assert_eq!(last.0, 413, "{}", last.1);
    assert_eq!(last.1["code"], "body_too_large");
    let (_, t) = get(&http, &tokens);
    assert_eq!(t["chunks"].as_array().unwrap().len(), 17);
    // The node kept serving throughout.
    let (code, _) = get(&http, &format!("{base}/v1/stats"));
    assert_eq!(code, 200);
}

/// Every error is the documented JSON error: a known route with another method answers 405
/// `method_not_allowed` (not an empty body), and a path segment that is not UTF-8 once
/// decoded answers 400 `bad_parameter` (not axum's plain-text "Invalid URL").
#[test]
fn wrong_methods_and_undecodable_paths_get_json_errors() {
    let node = NodeProc::start("api-json-errors");
    let base = node.url.clone();
    let http = Http::new();
    for (method, path) in [
        ("GET", "/live/v1/broadcast-transaction"),
        ("DELETE", "/v1/jobs"),
        ("PUT", "/v1/tick-info"),
    ] {
        let r = http
            .request(method.parse().unwrap(), format!("{base}{path}"))
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 405, "{method} {path}");
        let v: Value = r.json().unwrap_or(Value::Null);
        assert_eq!(v["code"], "method_not_allowed", "{method} {path}: {v}");
        assert!(
            v["message"].as_str().unwrap().contains(path),
            "{method} {path}: {v}"
        );
    }
    for path in ["/v1/jobs/%FF", "/v1/blobs/%FF%FE", "/v1/receipts/%C3%28"] {
        let (code, v) = get(&http, &format!("{base}{path}"));
        assert_eq!(code, 400, "{path}: {v}");
        assert_eq!(v["code"], "bad_parameter", "{path}: {v}");
    }
    // The node keeps serving.
    let (code, _) = get(&http, &format!("{base}/v1/tick-info"));
    assert_eq!(code, 200);
}

//! The web app in a real browser (issue 20): headless Chromium over WebDriver against the
//! real node binary, with a `comqute worker run` daemon on the Ollama-compatible test server.
//!
//! - A requester creates a wallet in the page, takes devnet funds, submits a job from the
//!   form, sees its tokens arrive live, sees it finalize and its balance fall by exactly the
//!   payout, finds the job with the search box, and exports a CSV whose rows equal the API's.
//! - Every page loads with no console error and no failed request; an unknown id gets a
//!   clear "not found" page. Screenshots of each page at desktop and phone width go to
//!   `$COMQUTE_SCREENSHOTS` (default: the test's temp dir).
//! - A transaction built and signed by the page's wallet is byte-identical to the SDK's.
//!
//! Without chromedriver the tests say so and pass; with `CI=true` they fail (`.ci/run`
//! installs Chromium).

#[path = "support/browser.rs"]
mod browser;
mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use browser::Browser;
use comqute_inference::testserver::{TestServer, TestServerConfig};
use comqute_sdk::wire::explorer::{job_csv_row, JOBS_CSV_HEADER};
use comqute_sdk::wire::JobsPage;
use comqute_sdk::{Amount, Identity, Seed, Tick, Transaction};
use fantoccini::Locator;
use serde_json::{json, Value};
use support::{NodeProc, WorkerDaemon};

const MODEL: &str = "comqute-test:tiny";
const PRICE: i64 = 2_000;
const WAIT: Duration = Duration::from_secs(60);

fn shots_dir() -> PathBuf {
    std::env::var_os("COMQUTE_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots"))
}

/// A desktop and a phone screenshot of the current page; the phone one must not scroll
/// sideways (pages work at 375 px).
async fn shoot(b: &Browser, name: &str) {
    let dir = shots_dir();
    b.set_size(browser::DESKTOP.0, browser::DESKTOP.1).await;
    b.screenshot(dir.join(format!("{name}.png"))).await;
    b.set_size(browser::PHONE.0, browser::PHONE.1).await;
    let overflow = b
        .client()
        .execute(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        overflow.as_i64().unwrap_or(0) <= 1,
        "{name} scrolls sideways at 375 px by {overflow} px"
    );
    b.screenshot(dir.join(format!("{name}-phone.png"))).await;
    b.set_size(browser::DESKTOP.0, browser::DESKTOP.1).await;
}

async fn click(b: &Browser, sel: &str) {
    b.wait_css(sel, WAIT)
        .await
        .click()
        .await
        .unwrap_or_else(|e| {
            panic!("clicking {sel}: {e}");
        });
}

async fn text_of(b: &Browser, sel: &str) -> String {
    b.client()
        .find(Locator::Css(sel))
        .await
        .unwrap_or_else(|e| panic!("{sel}: {e}"))
        .text()
        .await
        .unwrap()
}

async fn attr(b: &Browser, sel: &str, name: &str) -> Option<String> {
    b.client()
        .find(Locator::Css(sel))
        .await
        .unwrap_or_else(|e| panic!("{sel}: {e}"))
        .attr(name)
        .await
        .unwrap()
}

/// Waits until `js` (an expression) is truthy in the page.
async fn wait_js(b: &Browser, js: &str, what: &str, timeout: Duration) -> Value {
    let deadline = Instant::now() + timeout;
    loop {
        let v = b
            .client()
            .execute(&format!("return ({js});"), vec![])
            .await
            .unwrap_or(Value::Null);
        let truthy = match &v {
            Value::Null | Value::Bool(false) => false,
            Value::String(s) => !s.is_empty(),
            Value::Number(n) => n.as_f64() != Some(0.0),
            _ => true,
        };
        if truthy {
            return v;
        }
        if Instant::now() > deadline {
            let steps = b
                .client()
                .execute(
                    "return [document.querySelector('#submit-steps')?.innerText, document.querySelector('#submit-error')?.innerText, document.querySelector('#wallet-error')?.innerText]",
                    vec![],
                )
                .await
                .unwrap_or(Value::Null);
            panic!(
                "{what}: not true after {timeout:?} at {} ({steps})",
                b.url().await
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn api(node: &NodeProc, path: &str) -> Value {
    let r = reqwest::get(format!("{}{path}", node.url)).await.unwrap();
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.unwrap()
}

async fn text(node: &NodeProc, path: &str) -> (u16, String) {
    let r = reqwest::get(format!("{}{path}", node.url)).await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[test]
fn a_requester_uses_the_web_app_from_wallet_to_csv_and_every_page_loads_clean() {
    let rt = support::runtime();
    let ollama = rt
        .block_on(TestServer::start(TestServerConfig {
            models: vec![MODEL.to_string()],
            // Slow enough that the page sees the tokens arrive one by one.
            first_token_delay: Duration::from_millis(300),
            token_delay: Duration::from_millis(120),
            ..TestServerConfig::default()
        }))
        .unwrap();
    let node = NodeProc::start_with("web-e2e", &["--no-spot-checks"]);
    let (wkey, worker) = node.funded_key("worker", 100_000);
    let args = [
        "--ollama",
        &ollama.url(),
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
    let daemon = WorkerDaemon::start(&node, &wkey, &args, wkey.with_extension("log"));
    node.wait_worker_ready(&wkey, &daemon, 60);

    rt.block_on(async {
        let Some(b) = Browser::start().await else {
            return;
        };
        let base = node.url.clone();

        // --- a wallet, devnet funds ---------------------------------------------------
        b.goto(&format!("{base}/submit")).await;
        b.wait_css("#submit-form", WAIT).await;
        wait_js(
            &b,
            "document.documentElement.dataset.app === 'ready'",
            "app.js ran",
            WAIT,
        )
        .await;
        click(&b, "#wallet-button").await;
        click(&b, "#wallet-create").await;
        let me = wait_js(
            &b,
            "document.querySelector('#wallet-identity').textContent",
            "a wallet",
            WAIT,
        )
        .await
        .as_str()
        .unwrap()
        .to_string();
        let me: Identity = me.parse().expect("the page shows a valid identity");
        shoot(&b, "wallet").await;
        click(&b, "#wallet-faucet").await;
        wait_js(
            &b,
            "document.querySelector('#wallet-balance').textContent === '1,000,000'",
            "the faucet's money",
            WAIT,
        )
        .await;
        assert_eq!(
            node.balance(&me),
            1_000_000,
            "the chain agrees with the page"
        );
        click(&b, "#wallet-dialog [data-close]").await;

        // --- a job from the form, tokens live, settled -------------------------------
        let prompt = b.wait_css("#submit-prompt", WAIT).await;
        prompt.send_keys("Say hello to the web app").await.unwrap();
        let max = b.wait_css("#submit-max-tokens", WAIT).await;
        max.clear().await.unwrap();
        max.send_keys("12").await.unwrap();
        let price = b
            .client()
            .execute(
                "return document.querySelector('#submit-price').value",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(
            price,
            json!(PRICE.to_string()),
            "the price is the online worker's"
        );
        wait_js(
            &b,
            "document.querySelector('[data-escrow]')?.dataset.escrow === '24'",
            "the estimate",
            WAIT,
        )
        .await;
        shoot(&b, "submit").await;
        click(&b, "#submit-go").await;
        let job_id = wait_js(
            &b,
            "document.querySelector('#submit-progress').dataset.job",
            "a job id",
            WAIT,
        )
        .await
        .as_str()
        .unwrap()
        .to_string();
        // Live: text appears while the job is still streaming, and grows.
        let first = wait_js(
            &b,
            "document.querySelector('#submit-tokens').textContent",
            "first tokens",
            WAIT,
        )
        .await
        .as_str()
        .unwrap()
        .to_string();
        let status_then = node.job(&job_id)["status"].as_str().unwrap().to_string();
        assert!(
            ["Assigned", "Running"].contains(&status_then.as_str()),
            "tokens were shown before the result was posted (status {status_then})"
        );
        wait_js(
            &b,
            &format!(
                "document.querySelector('#submit-tokens').textContent.length > {}",
                first.len()
            ),
            "more tokens",
            WAIT,
        )
        .await;
        wait_js(
            &b,
            "document.querySelector('#submit-outcome').dataset.paid",
            "the settlement",
            Duration::from_secs(120),
        )
        .await;
        let job = node.job(&job_id);
        assert_eq!(job["status"], "Finalized", "{job}");
        let n = |k: &str| -> i64 { job[k].as_str().unwrap().parse().unwrap() };
        // The payout: the worker's pay and the verification fee; the rest of the escrow
        // came back.
        let payout = n("paid") + n("fee");
        assert!(n("paid") > 0, "{job}");
        assert_eq!(payout + n("refunded"), n("escrow"), "{job}");
        let shown_paid = attr(&b, "#submit-outcome", "data-paid").await.unwrap();
        let shown_charged = attr(&b, "#submit-outcome", "data-charged").await.unwrap();
        let shown_spent = attr(&b, "#submit-outcome", "data-spent").await.unwrap();
        assert_eq!(node.balance(&me), 1_000_000 - payout, "the chain: {job}");
        assert_eq!(shown_paid, n("paid").to_string());
        assert_eq!(shown_charged, payout.to_string());
        assert_eq!(
            shown_spent,
            payout.to_string(),
            "the balance fell by exactly the payout"
        );
        let tokens = text_of(&b, "#submit-tokens").await;
        let page = api(&node, &format!("/v1/jobs/{job_id}/tokens")).await;
        assert_eq!(
            tokens,
            page["text"].as_str().unwrap(),
            "the page showed every token"
        );
        shoot(&b, "submit-done").await;
        b.assert_clean("submit").await;

        // --- the search box finds the job --------------------------------------------
        b.goto(&format!("{base}/")).await;
        let search = b.wait_css("#search", WAIT).await;
        search.send_keys(&job_id).await.unwrap();
        search.send_keys("\u{E007}").await.unwrap(); // Enter
        b.wait_text("h1", &format!("Job #{job_id}"), WAIT).await;
        assert!(b.url().await.ends_with(&format!("/jobs/{job_id}")));
        assert_eq!(
            attr(&b, "[data-blob=result] + p", "data-hash-check")
                .await
                .as_deref(),
            Some("ok")
        );
        assert_eq!(
            attr(&b, "[data-blob=prompt] + p", "data-hash-check")
                .await
                .as_deref(),
            Some("ok")
        );
        b.assert_clean("job").await;
        shoot(&b, "job").await;

        // --- the CSV export equals the API's rows --------------------------------------
        b.goto(&format!("{base}/identities/{me}")).await;
        let href = b
            .wait_css("#export-csv", WAIT)
            .await
            .attr("href")
            .await
            .unwrap()
            .unwrap();
        let (status, csv) = text(&node, &href).await;
        assert_eq!(status, 200, "{csv}");
        let jobs: JobsPage =
            serde_json::from_value(api(&node, &format!("/v1/jobs?requester={me}")).await).unwrap();
        let mut want = format!("{JOBS_CSV_HEADER}\n");
        for j in &jobs.jobs {
            want.push_str(&job_csv_row(j));
            want.push('\n');
        }
        assert_eq!(csv, want);
        assert_eq!(csv.lines().count(), 2, "a header and our one job");
        b.assert_clean("account").await;
        shoot(&b, "account").await;

        // --- the CLI's CSVs are the node's ----------------------------------------------
        let (_, earnings_csv) = text(
            &node,
            &format!("/v1/workers/{}/earnings?format=csv", worker.identity()),
        )
        .await;
        let o = node.cli(Some(&wkey), &["worker", "earnings", "--csv"]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(String::from_utf8_lossy(&o.stdout), earnings_csv);
        assert_eq!(earnings_csv.lines().count(), 2, "{earnings_csv}");
        let o = node.cli(
            None,
            &["job", "history", "--requester", &me.to_string(), "--csv"],
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(
            String::from_utf8_lossy(&o.stdout),
            csv,
            "job history --csv is the export"
        );

        // --- a second requester (by the CLI) and a pool, so the pages have a market -------
        let (rkey, _) = node.funded_key("requester2", 100_000);
        let v = node.cli_json(
            Some(&rkey),
            &[
                "job",
                "submit",
                "--model",
                MODEL,
                "--prompt",
                "a second job",
                "--price",
                &PRICE.to_string(),
                "--max-tokens",
                "8",
                "--json",
            ],
        );
        let second = v["id"].as_str().unwrap().to_string();
        let (okey, _) = node.funded_key("operator", 100_000);
        let created = node.cli_json(
            Some(&okey),
            &["pool", "create", "--fee-bps", "500", "--json"],
        );
        let pool = created["pool"].as_str().unwrap().to_string();
        node.wait_job_status(&second, "Finalized", 120);

        // --- the explorer's JSON refuses bad input with the documented error ---------------
        for (path, status) in [
            ("/v1/jobs?fromTick=soon", 400),
            ("/v1/jobs?fromTick=9&toTick=3", 400),
            ("/v1/jobs?model=a&modelId=b", 400),
            ("/v1/jobs?colour=red", 400),
            ("/v1/jobs/export?status=Sleeping", 400),
            ("/v1/stats/history?limit=0", 400),
            ("/v1/network?jobs=100000", 400),
            ("/v1/ticks/soon", 400),
            ("/v1/ticks/4000000000", 404),
            ("/v1/transactions/abc", 400),
            ("/v1/identities/abc", 400),
            (
                "/v1/workers/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAYLJO/earnings",
                404,
            ),
            ("/v1/workers/{w}/earnings?format=xml", 400),
        ] {
            let path = path.replace("{w}", &worker.identity().to_string());
            let r = reqwest::get(format!("{base}{path}")).await.unwrap();
            assert_eq!(r.status().as_u16(), status, "{path}");
            let body: Value = r.json().await.unwrap();
            assert!(
                body["code"].is_string() && body["message"].is_string(),
                "{path}: {body}"
            );
        }
        let found = api(&node, &format!("/v1/search?q={}", worker.identity())).await;
        assert_eq!(found["hits"][0]["kind"], "worker", "{found}");
        let found = api(&node, &format!("/v1/search?q=tick%20{tick}", tick = 3)).await;
        assert_eq!(found["hits"][0]["kind"], "tick", "{found}");
        let result_hash = job["resultHash"].as_str().unwrap();
        let found = api(&node, &format!("/v1/search?q={result_hash}")).await;
        assert_eq!(found["hits"][0]["kind"], "result", "{found}");
        assert_eq!(
            found["hits"][0]["page"],
            format!("/jobs/{job_id}"),
            "{found}"
        );
        let found = api(&node, &format!("/v1/search?q={MODEL}")).await;
        assert_eq!(found["hits"][0]["kind"], "model", "{found}");
        let models = api(&node, "/v1/models").await;
        assert_eq!(models["models"][0]["model"], MODEL, "{models}");
        assert_eq!(models["models"][0]["jobsServed"], "2", "{models}");
        assert!(
            models["models"][0]["ttftMs"]["samples"].as_u64().unwrap() >= 1,
            "{models}"
        );
        let graph = api(&node, "/v1/network").await;
        assert_eq!(
            graph["nodes"].as_array().unwrap().len(),
            3,
            "one worker, two requesters: {graph}"
        );

        // --- every page loads clean ------------------------------------------------------
        let w = worker.identity();
        let tx = attr(&b, "body", "data-devnet").await; // a page is loaded
        assert_eq!(tx.as_deref(), Some("true"));
        let receipt_tx = api(&node, &format!("/v1/jobs/{job_id}")).await;
        let tick = receipt_tx["submittedAt"].as_u64().unwrap();
        let tick_page = api(&node, &format!("/v1/ticks/{tick}")).await;
        let tx_id = tick_page["transactions"][0]["txId"]
            .as_str()
            .unwrap()
            .to_string();
        let pages = [
            ("home", "/".to_string(), "Network explorer"),
            ("models", "/models".to_string(), MODEL),
            ("network", "/network".to_string(), "Network"),
            ("pools", "/pools".to_string(), "Pools"),
            ("pool", format!("/pools/{pool}"), "Pool"),
            ("worker", format!("/workers/{w}"), "Worker #1"),
            (
                "worker-dashboard",
                "/worker".to_string(),
                "Worker dashboard",
            ),
            ("history", "/history".to_string(), "My jobs"),
            ("tick", format!("/ticks/{tick}"), "Tick"),
            ("transaction", format!("/tx/{tx_id}"), "Transaction"),
        ];
        for (name, path, expect) in &pages {
            b.goto(&format!("{base}{path}")).await;
            b.wait_text("main", expect, WAIT).await;
            // Let live parts (htmx polls, SSE, charts, the graph) run once.
            tokio::time::sleep(Duration::from_millis(1200)).await;
            b.assert_clean(name).await;
            shoot(&b, name).await;
        }
        // The decoded input of the job's transaction, from the node's kept bytes.
        b.goto(&format!("{base}/tx/{tx_id}")).await;
        b.wait_text("main", "maxOutputTokens", WAIT).await;
        // The feed and the cards are live.
        b.goto(&format!("{base}/")).await;
        wait_js(
            &b,
            "document.querySelectorAll('#feed [data-event]').length > 0",
            "the activity feed",
            WAIT,
        )
        .await;
        wait_js(
            &b,
            "document.querySelector('#chart-jobs canvas')",
            "a history chart",
            WAIT,
        )
        .await;
        b.goto(&format!("{base}/network")).await;
        wait_js(
            &b,
            "Number(document.querySelector('#network').dataset.nodes) >= 2",
            "the graph's nodes",
            WAIT,
        )
        .await;

        // --- unknown ids: a clear "not found" ------------------------------------------------
        let nobody = Seed::new(&"z".repeat(55)).unwrap().keypair().identity();
        let missing_tx = comqute_sdk::Hash32::of(b"no such transaction");
        for path in [
            "/jobs/987654".to_string(),
            format!("/workers/{nobody}"),
            format!("/tx/{missing_tx}"),
            "/ticks/4000000000".to_string(),
            "/pools/4242".to_string(),
            "/no/such/page".to_string(),
        ] {
            b.goto(&format!("{base}{path}")).await;
            b.wait_css("[data-error-page]", WAIT).await;
            let h1 = text_of(&b, "h1").await;
            assert_eq!(h1, "Not found", "{path}");
            b.assert_clean_except(&path, &[path.as_str()]).await;
        }
        b.goto(&format!("{base}/search?q=nothing-like-this")).await;
        b.wait_css("[data-not-found]", WAIT).await;
        b.goto(&format!("{base}/jobs/987654")).await;
        shoot(&b, "not-found").await;
        b.close().await;
    });
    drop(daemon);
}

#[test]
fn a_transaction_signed_by_the_page_is_byte_identical_to_the_sdk_s() {
    let rt = support::runtime();
    let node = NodeProc::start("web-wallet");
    rt.block_on(async {
        let Some(b) = Browser::start().await else {
            return;
        };
        b.goto(&format!("{}/", node.url)).await;
        b.wait_css("main", WAIT).await;
        let seed = "thequickbrownfoxjumpsoverthelazydogandkeepsonrunningfar";
        assert_eq!(seed.len(), 55);
        let key = Seed::new(seed).unwrap().keypair();
        let dest = Seed::new(&"b".repeat(55)).unwrap().keypair().identity();
        // A plain transfer, and a job registry call whose input the node encoded.
        let call = reqwest::Client::new()
            .post(format!("{}/v1/contracts/job-registry/encode", node.url))
            .json(&json!({"procedure": "cancel", "input": {"jobId": "42"}}))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap();
        let input = base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            call["input"].as_str().unwrap(),
        )
        .unwrap();
        let cases = [
            (dest, 1_234_567i64, 77u32, 0u16, Vec::new()),
            (
                call["destination"].as_str().unwrap().parse().unwrap(),
                0,
                4_000_000_000,
                call["inputType"].as_u64().unwrap() as u16,
                input,
            ),
        ];
        for (to, amount, tick, input_type, input) in cases {
            let sdk = Transaction::new(key.identity(), to, Amount(amount), Tick(tick), input_type, input.clone())
                .sign(&key);
            let page = b
                .client()
                .execute_async(
                    r#"const [seed, to, amount, tick, inputType, inputHex, done] = arguments;
                    import('/assets/js/wallet.js').then(async (W) => {
                        const k = await W.keyFromSeed(seed);
                        const tx = await W.buildSignedTransaction(k.secret, {
                            destination: to, amount, tick, inputType, input: W.fromHex(inputHex) });
                        done({ hex: W.hex(tx.bytes), id: tx.id, identity: k.identity });
                    }).catch((e) => done({ error: String(e) }));"#,
                    vec![
                        json!(seed),
                        json!(to.to_string()),
                        json!(amount.to_string()),
                        json!(tick),
                        json!(input_type),
                        json!(hex::encode(&input)),
                    ],
                )
                .await
                .unwrap();
            assert_eq!(page["error"], Value::Null, "{page}");
            assert_eq!(page["identity"], json!(key.identity().to_string()));
            assert_eq!(page["hex"], json!(hex::encode(sdk.encode())), "the bytes");
            assert_eq!(page["id"], json!(sdk.id().to_string()), "the id");
            // The node takes the page's bytes as they are.
            sdk.verify().unwrap();
        }
        // The seed is kept only encrypted, and a wrong passphrase is a clear error.
        let v = b
            .client()
            .execute_async(
                r#"const [seed, done] = arguments;
                import('/assets/js/wallet.js').then(async (W) => {
                    const rec = await W.encryptSeed(seed, 'correct horse');
                    const back = await W.decryptSeed(rec, 'correct horse');
                    let wrong = null;
                    try { await W.decryptSeed(rec, 'wrong horse'); } catch (e) { wrong = e.message; }
                    done({ back, wrong, stored: JSON.stringify(rec).includes(seed) });
                });"#,
                vec![json!(seed)],
            )
            .await
            .unwrap();
        assert_eq!(v["back"], json!(seed));
        assert_eq!(v["wrong"], json!("wrong passphrase"));
        assert_eq!(v["stored"], json!(false), "the record does not hold the seed in clear");
        b.assert_clean("wallet checks").await;

        // The template library: a built-in template's variables fill the prompt.
        b.goto(&format!("{}/submit", node.url)).await;
        wait_js(&b, "document.documentElement.dataset.app === 'ready'", "app.js ran", WAIT).await;
        let n = b
            .client()
            .execute("return document.querySelectorAll('#submit-template option').length", vec![])
            .await
            .unwrap();
        assert_eq!(n, json!(11), "none and the ten built-in templates");
        b.client()
            .execute(
                "const s = document.querySelector('#submit-template'); s.value = '1'; s.dispatchEvent(new Event('change'));",
                vec![],
            )
            .await
            .unwrap();
        let lang = b.wait_css("#template-vars input[name=language]", WAIT).await;
        lang.send_keys("French").await.unwrap();
        let text = b.wait_css("#template-vars input[name=text]", WAIT).await;
        text.send_keys("good morning").await.unwrap();
        let prompt = wait_js(&b, "document.querySelector('#submit-prompt').value", "the prompt", WAIT).await;
        assert_eq!(
            prompt,
            json!("Translate into French. Keep the formatting; answer with the translation only.\n\ngood morning")
        );
        // Submitting without a wallet or a model says why, and sends nothing.
        click(&b, "#submit-go").await;
        b.wait_text("#submit-error", "pick a model that a worker serves", WAIT)
            .await;
        b.assert_clean("submit without a worker").await;
        b.close().await;
    });
}

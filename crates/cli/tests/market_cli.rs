//! The job flows of issue 3, from the command line against a real node: `job submit` locks
//! the escrow; `job cancel` by anyone but the requester fails and changes nothing; by the
//! requester it refunds in full; a job nobody serves expires and is refunded.

mod support;

use support::{one_line_error, NodeProc};

const FUNDS: i64 = 1_000_000;

fn submit(node: &NodeProc, key: &std::path::Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "job",
        "submit",
        "--model",
        "llama3.2:1b",
        "--prompt",
        "Why is the sky blue?",
        "--max-price-per-1k",
        "3000",
        "--max-tokens",
        "500",
        // No worker serves it: these tests are about the escrow and expiry.
        "--force",
        "--json",
    ];
    args.extend_from_slice(extra);
    node.cli_json(Some(key), &args)
}

#[test]
fn submit_locks_the_escrow_and_only_the_requester_cancels_with_a_full_refund() {
    let node = NodeProc::start("cli-cancel");
    let (alice_file, alice) = node.funded_key("alice", FUNDS);
    let (bob_file, bob) = node.funded_key("bob", FUNDS);

    let job = submit(&node, &alice_file, &[]);
    let id = job["id"].as_str().expect("the id is a string").to_string();
    assert_eq!(job["status"], "Open");
    assert_eq!(job["escrow"], "1500", "500 tokens × 3,000 per 1k");
    assert_eq!(job["requester"], alice.identity().to_string());
    assert_eq!(node.balance(&alice.identity()), FUNDS - 1_500);
    let stats = node.cli_json(None, &["stats", "--json"]);
    assert_eq!(stats["jobs"]["totalEscrowed"], "1500");
    assert_eq!(stats["jobs"]["byStatus"]["Open"], "1");
    assert_eq!(stats["escrow"]["jobsLocked"], "1500");

    // Bob may not cancel Alice's job: one line, non-zero, nothing changes.
    let err = one_line_error(&node.cli(Some(&bob_file), &["job", "cancel", &id, "--json"]));
    assert!(err.contains("NotRequester"), "{err}");
    assert_eq!(node.job(&id)["status"], "Open");
    assert_eq!(node.balance(&alice.identity()), FUNDS - 1_500);
    assert_eq!(node.balance(&bob.identity()), FUNDS);
    // Nor may anyone without a key.
    one_line_error(&node.cli(None, &["job", "cancel", &id]));

    let job = node.cli_json(Some(&alice_file), &["job", "cancel", &id, "--json"]);
    assert_eq!(job["status"], "Cancelled");
    assert_eq!(job["refunded"], "1500");
    assert_eq!(node.balance(&alice.identity()), FUNDS, "refunded in full");
    let stats = node.cli_json(None, &["stats", "--json"]);
    assert_eq!(stats["jobs"]["totalEscrowed"], "0");
    assert_eq!(stats["jobs"]["byStatus"]["Cancelled"], "1");

    // Cancelling twice fails and changes nothing.
    one_line_error(&node.cli(Some(&alice_file), &["job", "cancel", &id]));
    assert_eq!(node.balance(&alice.identity()), FUNDS);

    // A plain transfer, signed with --key.
    let t = node.cli_json(
        Some(&alice_file),
        &["transfer", &bob.identity().to_string(), "250", "--json"],
    );
    assert_eq!(t["status"], "executed");
    assert_eq!(t["amount"], "250");
    assert_eq!(node.balance(&alice.identity()), FUNDS - 250);
    assert_eq!(node.balance(&bob.identity()), FUNDS + 250);
    one_line_error(&node.cli(
        Some(&alice_file),
        &["transfer", &bob.identity().to_string(), "0"],
    ));

    // The listing finds it.
    let mine = node.cli_json(Some(&alice_file), &["job", "list", "--mine", "--json"]);
    assert_eq!(mine["jobs"][0]["id"], id.as_str());
    assert_eq!(mine["nextCursor"], serde_json::Value::Null);
    let open = node.cli_json(None, &["job", "list", "--status", "open", "--json"]);
    assert_eq!(open["jobs"].as_array().unwrap().len(), 0);
}

#[test]
fn a_job_nobody_serves_expires_and_is_refunded() {
    let node = NodeProc::start("cli-expire");
    let (alice_file, alice) = node.funded_key("alice", FUNDS);
    let job = submit(&node, &alice_file, &["--timeout-ticks", "4"]);
    let id = job["id"].as_str().unwrap().to_string();
    assert_eq!(node.balance(&alice.identity()), FUNDS - 1_500);
    let job = node.wait_job_status(&id, "Expired", 20);
    assert_eq!(job["refunded"], "1500");
    assert_eq!(job["worker"], serde_json::Value::Null);
    assert_eq!(node.balance(&alice.identity()), FUNDS, "refunded in full");
    // `--wait` on a job nobody serves returns once it expired, non-zero, saying why.
    let o = node.cli(
        Some(&alice_file),
        &[
            "job",
            "submit",
            "--model",
            "llama3.2:1b",
            "--prompt",
            "Why?",
            "--max-price-per-1k",
            "3000",
            "--max-tokens",
            "500",
            "--force",
            "--json",
            "--timeout-ticks",
            "3",
            "--wait",
        ],
    );
    assert!(!o.status.success());
    let job: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(job["status"], "Expired");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("no worker took it before its deadline"),
        "{err}"
    );
    assert_eq!(node.balance(&alice.identity()), FUNDS);
}

#[test]
fn bad_cli_input_is_one_line_and_non_zero() {
    let node = NodeProc::start("cli-bad");
    let (alice_file, _) = node.funded_key("alice", 1_000);
    for args in [
        vec!["balance", "NOTANIDENTITY"],
        vec!["job", "status", "abc"],
        vec!["job", "status", "999"],
        vec!["faucet", "NOTANIDENTITY", "5"],
        vec!["job", "result", "1"],
    ] {
        one_line_error(&node.cli(None, &args));
    }
    // Too poor for the escrow: the contract refuses, nothing is locked.
    let err = one_line_error(&node.cli(
        Some(&alice_file),
        &[
            "job",
            "submit",
            "--model",
            "m",
            "--prompt",
            "p",
            "--max-price-per-1k",
            "3000",
            "--max-tokens",
            "5000",
        ],
    ));
    // Said before signing, with the figures (issue 16, item 9).
    assert!(
        err.contains("the job locks 15000 units of escrow (5000 tokens at 3000 per 1k)")
            && err.contains("has 1000 units"),
        "{err}"
    );
    // A transfer over the balance is dropped by the chain: one plain line with the
    // numbers, no Rust debug names (issue 16, item 8).
    let err = one_line_error(&node.cli(
        Some(&alice_file),
        &[
            "transfer",
            &support::key("x").identity().to_string(),
            "5000",
        ],
    ));
    assert!(
        err.contains("insufficient balance: it needs 5000 units, the source had 1000"),
        "{err}"
    );
    assert!(!err.contains('{'), "{err}");
    // Signing without a key.
    let err = one_line_error(&node.cli(
        None,
        &["transfer", &support::key("x").identity().to_string(), "5"],
    ));
    assert!(err.contains("--key"), "{err}");
    // A node that is not there.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_comqute"))
        .args(["--node", "http://127.0.0.1:9", "tick"])
        .output()
        .unwrap();
    one_line_error(&o);
    // A key file is written 0600 and never overwritten.
    let again = node.cli(
        None,
        &["keys", "new", "--out", alice_file.to_str().unwrap()],
    );
    one_line_error(&again);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&alice_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let shown = node.cli_json(Some(&alice_file), &["keys", "show", "--json"]);
    assert_eq!(
        shown["identity"],
        comqute_sdk::keys::read_key_file(&alice_file)
            .unwrap()
            .identity()
            .to_string()
    );
    let t = node.cli_json(None, &["tick", "--json"]);
    assert!(t["tick"].as_u64().is_some(), "{t}");
}

#[test]
fn a_worker_registers_updates_unbonds_and_withdraws_from_the_command_line() {
    let node = NodeProc::start_with("cli-worker", &["--unbonding-ticks", "3"]);
    let (walt_file, walt) = node.funded_key("walt", 100_000);
    let err = one_line_error(&node.cli(
        Some(&walt_file),
        &[
            "worker",
            "register",
            "--stake",
            "5",
            "--model",
            "m",
            "--price-per-1k",
            "1",
        ],
    ));
    assert!(err.contains("StakeTooLow"), "{err}");
    assert_eq!(node.balance(&walt.identity()), 100_000, "nothing locked");

    let w = node.cli_json(
        Some(&walt_file),
        &[
            "worker",
            "register",
            "--stake",
            "20000",
            "--model",
            "llama3.2:1b",
            "--model",
            "mistral:7b",
            "--price-per-1k",
            "1500",
            "--gpu",
            "RTX 4090",
            "--vram-mb",
            "24576",
            "--tokens-per-s",
            "90",
            "--max-concurrent",
            "2",
            "--available",
            "--json",
        ],
    );
    assert_eq!(w["id"], walt.identity().to_string());
    assert_eq!(w["status"], "Active");
    assert_eq!(w["stake"], "20000");
    assert_eq!(w["available"], true);
    assert_eq!(w["capabilities"]["models"].as_array().unwrap().len(), 2);
    assert_eq!(w["capabilities"]["pricePer1k"], "1500");
    assert_eq!(w["capabilities"]["maxConcurrent"], 2);
    assert_eq!(node.balance(&walt.identity()), 80_000);

    let w = node.cli_json(
        Some(&walt_file),
        &["worker", "update", "--price-per-1k", "1200", "--json"],
    );
    assert_eq!(w["capabilities"]["pricePer1k"], "1200");
    assert_eq!(w["capabilities"]["gpu"], "RTX 4090", "the rest stays");
    let w = node.cli_json(Some(&walt_file), &["worker", "status", "--json"]);
    assert_eq!(w["capabilities"]["pricePer1k"], "1200");

    let w = node.cli_json(Some(&walt_file), &["worker", "unbond", "--json"]);
    assert_eq!(w["status"], "Unbonding");
    assert!(w["unbondingUntil"].as_u64().is_some(), "{w}");
    assert_eq!(w["available"], false);
    let w = node.cli_json(Some(&walt_file), &["worker", "withdraw", "--json"]);
    assert_eq!(w["withdrawn"], "20000");
    assert_eq!(w["status"], "Exited");
    assert_eq!(node.balance(&walt.identity()), 100_000);
    // Another identity has no worker record.
    let (other, _) = node.funded_key("other", 0);
    one_line_error(&node.cli(Some(&other), &["worker", "status"]));
}

#[test]
fn a_challenged_result_is_checked_and_a_devnet_resolver_may_force_the_verdict() {
    use comqute_sdk::contracts::worker_registry::Capabilities;
    use comqute_sdk::{Amount, Client, Hash32};

    let resolver = support::key("resolver");
    let node = NodeProc::start_with(
        "cli-dispute",
        &[
            "--resolver",
            &resolver.identity().to_string(),
            "--challenge-window",
            "400",
            // The result must stay unchecked until alice challenges it (a newcomer's is
            // otherwise spot-checked one time in four, by the tick's seed).
            "--no-spot-checks",
        ],
    );
    let (alice_file, alice) = node.funded_key("alice", FUNDS);
    let walt = support::key("walt");
    let sdk = Client::remote(&node.url).unwrap();
    let rt = support::runtime();
    let head = rt.block_on(async {
        sdk.faucet(&walt.identity(), Amount(100_000)).await.unwrap();
        sdk.faucet(&resolver.identity(), Amount(10)).await.unwrap();
        let caps = Capabilities {
            models: vec!["llama3.2:1b".into()],
            gpu: String::new(),
            vram_mb: 0,
            tokens_per_s: 1,
            price_per_1k: Amount(2_000),
            max_concurrent: 1,
        };
        sdk.workers()
            .register(&walt, &caps, Amount(20_000))
            .await
            .unwrap();
        // Two more workers of the model: a challenge gets replicas, so its check stays open
        // for the resolver.
        for name in ["rita", "ravi"] {
            let k = support::key(name);
            sdk.faucet(&k.identity(), Amount(100_000)).await.unwrap();
            sdk.workers()
                .register(&k, &caps, Amount(20_000))
                .await
                .unwrap();
        }
        sdk.event_head().await.unwrap()
    });
    let job = submit(&node, &alice_file, &[]);
    let id: u64 = job["id"].as_str().unwrap().parse().unwrap();
    rt.block_on(async {
        // Only what happened after `head`: the submission, first.
        let mut events = sdk.subscribe(head);
        let first = events
            .next_within(std::time::Duration::from_secs(10))
            .await
            .unwrap()
            .unwrap();
        assert!(first.seq >= head);
        assert!(
            first.escrow().is_some() || first.job().is_some(),
            "{first:?}"
        );
        let jobs = sdk.jobs();
        jobs.claim(&walt, id).await.unwrap();
        jobs.start(&walt, id).await.unwrap();
        jobs.deliver(&walt, id, b"made up", 100, Hash32::ZERO)
            .await
            .unwrap();
    });
    let job = node.cli_json(
        Some(&alice_file),
        &["job", "challenge", &id.to_string(), "--json"],
    );
    assert_eq!(job["status"], "Checking");
    assert_eq!(job["resultHash"], Hash32::of(b"made up").to_string());
    let check = node.cli_json(None, &["job", "verify", &id.to_string(), "--json"]);
    assert_eq!(check["verdict"], "pending");
    assert_eq!(check["seats"].as_array().map(Vec::len), Some(2), "{check}");
    // On this devnet the resolver may force the verdict; nobody else may.
    rt.block_on(async {
        let e = sdk
            .jobs()
            .force_verdict(&alice, id, false)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("NotResolver"), "{e}");
        sdk.jobs()
            .force_verdict(&resolver, id, false)
            .await
            .unwrap();
    });
    let check = node.cli_json(None, &["job", "verify", &id.to_string(), "--json"]);
    assert_eq!(check["verdict"], "failed");
    assert_eq!(check["forced"], true);
    let job = node.job(&id.to_string());
    assert_eq!(job["status"], "Resolved");
    assert_eq!(job["verdict"], "Failed");
    assert_eq!(job["refunded"], "1500", "the escrow back in full");
    assert_eq!(job["slashed"], "5000");
    assert!(
        node.balance(&alice.identity()) > FUNDS,
        "refund plus a share of the slash"
    );
    let w = node.cli_json(
        None,
        &["worker", "status", &walt.identity().to_string(), "--json"],
    );
    assert_eq!(w["stake"], "15000");
    assert_eq!(w["checksFailed"], "1");
}

#[test]
fn ledger_refusals_keep_their_codes_on_a_durable_node() {
    // A transaction from an identity with no money: `unfunded_source` (400), not a storage
    // error, although the node runs on a data directory.
    let node = NodeProc::start("cli-codes");
    let sdk = comqute_sdk::Client::remote(&node.url).unwrap();
    let nobody = support::key("nobody");
    let e = support::runtime()
        .block_on(sdk.transfer(
            &nobody,
            support::key("x").identity(),
            comqute_sdk::Amount(1),
        ))
        .unwrap_err();
    assert_eq!(e.code(), Some("unfunded_source"), "{e}");
    assert!(
        matches!(e, comqute_sdk::SdkError::Node { status: 400, .. }),
        "{e}"
    );
}

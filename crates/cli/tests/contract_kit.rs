//! The contract kit's proof (issue 17): a fourth contract that exists only in this test is
//! added to a node's genesis with one line, and then, with no change in the node, SDK or CLI
//! crates, it is listed by `comqute contracts`, called with `comqute call` (its output and
//! events as JSON), queried with `comqute query`, and its events show as JSON on the node's
//! server-sent event stream. Bad names and bad inputs get one clear line each.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use borsh::{BorshDeserialize, BorshSerialize};
use comqute_qpi::contract::{Contract, Ctx, KeyBuf, Output, TickWork, View};
use comqute_qpi::kit::{dispatch_function, dispatch_procedure, ContractMeta};
use comqute_qpi::{ContractIndex, Identity};
use serde::{Deserialize, Serialize};
use support::{comqute, json_out, one_line_error};

/// A tally anyone can add to, and read per identity.
mod tally {
    use super::*;

    /// Input of `add`.
    #[derive(Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
    pub struct Add {
        /// How much (at most 1,000 a call).
        pub by: u64,
        /// A note kept in the event.
        pub note: String,
    }

    /// Input of `total_of`.
    #[derive(Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
    pub struct Who {
        /// The identity.
        pub who: Identity,
    }

    /// Output of `total_of`.
    #[derive(Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
    pub struct Total {
        /// Its sum.
        pub total: u64,
        /// How many adds.
        pub adds: u32,
    }

    /// Its events.
    #[derive(Debug, BorshSerialize, BorshDeserialize, Serialize)]
    pub enum TallyEvent {
        /// Someone added.
        Added {
            /// Who.
            who: Identity,
            /// How much.
            by: u64,
            /// Their total now.
            total: u64,
            /// Their note.
            note: String,
        },
    }

    /// Its refusals.
    #[derive(Debug, thiserror::Error)]
    pub enum TallyError {
        /// More than 1,000 at once.
        #[error("at most 1000 at once, got {0}")]
        TooMuch(u64),
    }
    comqute_qpi::rejected_errors!(TallyError { TooMuch = 9_001 });

    comqute_qpi::contract_api! {
        index: 7, name: "tally", events: TallyEvent, errors: TallyError::ALL_CODES,
        procedures: {
            /// Adds to the caller's tally; returns the new total.
            ADD = 1 "add": Add => u64,
        },
        functions: {
            /// An identity's tally.
            TOTAL_OF = 1 "total_of": Who => Total,
        },
    }

    /// The contract.
    pub struct Tally;

    impl Contract for Tally {
        fn meta(&self) -> &'static ContractMeta {
            &META
        }
        fn procedure(&self, ctx: &mut Ctx<'_>, n: u16, input: &[u8]) -> Output {
            dispatch_procedure(ctx, n, input)
                .on(ADD, |ctx, a| {
                    if a.by > 1_000 {
                        return Err(TallyError::TooMuch(a.by).into());
                    }
                    let who = ctx.invocator();
                    let key = KeyBuf::table(1).bytes32(&who.0);
                    let mut t = ctx
                        .get::<Total>(&key)?
                        .unwrap_or(Total { total: 0, adds: 0 });
                    t.total += a.by;
                    t.adds += 1;
                    ctx.put(&key, &t)?;
                    ctx.emit(&TallyEvent::Added {
                        who,
                        by: a.by,
                        total: t.total,
                        note: a.note,
                    });
                    Ok(t.total)
                })
                .done()
        }
        fn function(&self, view: &View<'_>, n: u16, input: &[u8]) -> Output {
            dispatch_function(view, n, input)
                .on(TOTAL_OF, |view, w| {
                    Ok(view
                        .get::<Total>(&KeyBuf::table(1).bytes32(&w.who.0))?
                        .unwrap_or(Total { total: 0, adds: 0 }))
                })
                .done()
        }
        fn has_begin_tick(&self) -> bool {
            false
        }
        fn next_tick_work(&self, _view: &View<'_>) -> TickWork {
            TickWork::Idle
        }
    }
}

#[test]
fn a_test_only_contract_is_listed_called_queried_and_streamed_through_the_cli() {
    let rt = support::runtime();
    let mut config = comqute_node::NodeConfig::test();
    // The one genesis line.
    config.genesis = Arc::new(|| comqute_node::default_genesis().contract(tally::Tally));
    let node = rt
        .block_on(comqute_node::Node::start(config))
        .expect("node");
    let url = format!("http://{}", node.addr());
    let dir = std::env::temp_dir().join(format!("comqute-kit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = dir.join("alice.key");
    let o = comqute(&["keys", "new", "--out", key.to_str().unwrap(), "--json"]);
    let alice = json_out(&o, &["keys", "new"])["identity"]
        .as_str()
        .unwrap()
        .to_string();
    let k = key.to_str().unwrap();
    let o = comqute(&["--node", &url, "faucet", &alice, "1000"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    // Listed, with its entry points and types.
    let list = json_out(
        &comqute(&["--node", &url, "contracts", "--json"]),
        &["contracts"],
    );
    let t = list["contracts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "tally")
        .expect("tally is listed")
        .clone();
    assert_eq!(t["index"], 7);
    assert_eq!(
        t["identity"],
        Identity::contract(ContractIndex(7)).to_string()
    );
    assert_eq!(t["procedures"][0]["name"], "add");
    assert_eq!(t["procedures"][0]["input"], "Add");
    assert_eq!(t["functions"][0]["output"], "Total");
    assert_eq!(t["errors"][0]["name"], "TooMuch");

    // Called: the output and the event come back as JSON (64-bit numbers as strings).
    let o = comqute(&[
        "--node",
        &url,
        "--key",
        k,
        "call",
        "tally",
        "add",
        "--input",
        r#"{"by": 5, "note": "first"}"#,
        "--json",
    ]);
    let r = json_out(&o, &["call"]);
    assert_eq!(r["procedure"], "add");
    assert_eq!(r["output"], "5");
    let ev = &r["events"][0];
    assert_eq!(ev["type"], "Added");
    assert_eq!(ev["who"], alice.as_str());
    assert_eq!(ev["total"], "5");
    assert_eq!(ev["note"], "first");
    // By index and number too, and the human form.
    let o = comqute(&[
        "--node",
        &url,
        "--key",
        k,
        "call",
        "7",
        "1",
        "-i",
        r#"{"by": "37", "note": "x"}"#,
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("output: \"42\""), "{text}");

    // Queried.
    let q = json_out(
        &comqute(&[
            "--node",
            &url,
            "query",
            "tally",
            "total_of",
            "--input",
            &format!(r#"{{"who": "{alice}"}}"#),
        ]),
        &["query"],
    );
    assert_eq!(q, serde_json::json!({"total": "42", "adds": 2}));

    // The event stream carries its events as JSON.
    let body = rt.block_on(async {
        let mut resp = reqwest::get(format!("{url}/v1/events/stream?after=0"))
            .await
            .expect("stream");
        let mut seen = String::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline && !seen.contains("\"note\":\"x\"") {
            match tokio::time::timeout(Duration::from_secs(5), resp.chunk()).await {
                Ok(Ok(Some(c))) => seen.push_str(&String::from_utf8_lossy(&c)),
                _ => break,
            }
        }
        seen
    });
    let line = body
        .lines()
        .find(|l| l.contains("\"note\":\"x\""))
        .unwrap_or_else(|| panic!("no tally event on the stream: {body}"));
    let v: serde_json::Value =
        serde_json::from_str(line.trim_start_matches("data:").trim()).expect("JSON event");
    let decoded = v.get("decoded").unwrap_or(&v);
    assert_eq!(decoded["type"], "Added", "{v}");
    assert_eq!(decoded["total"], "42", "{v}");

    // Refusals: its own typed error, unknown names, wrong inputs: one line each, nothing
    // changes.
    let e = one_line_error(&comqute(&[
        "--node",
        &url,
        "--key",
        k,
        "call",
        "tally",
        "add",
        "-i",
        r#"{"by": 5000, "note": ""}"#,
    ]));
    assert!(e.contains("TooMuch") && e.contains("at most 1000"), "{e}");
    let e = one_line_error(&comqute(&["--node", &url, "query", "tallies", "total_of"]));
    assert!(
        e.contains("no contract \"tallies\"") && e.contains("tally (7)"),
        "{e}"
    );
    let e = one_line_error(&comqute(&[
        "--node", &url, "--key", k, "call", "tally", "subtract", "-i", "{}",
    ]));
    assert!(
        e.contains("no procedure \"subtract\"") && e.contains("add (1)"),
        "{e}"
    );
    let e = one_line_error(&comqute(&[
        "--node",
        &url,
        "--key",
        k,
        "call",
        "tally",
        "add",
        "-i",
        r#"{"by": -1, "note": ""}"#,
    ]));
    assert!(e.contains("input") && e.contains("-1"), "{e}");
    let e = one_line_error(&comqute(&[
        "--node", &url, "--key", k, "call", "tally", "add", "-i", "{by: 1}",
    ]));
    assert!(e.contains("--input is not JSON"), "{e}");
    let q = json_out(
        &comqute(&[
            "--node",
            &url,
            "query",
            "tally",
            "total_of",
            "-i",
            &format!(r#"{{"who": "{alice}"}}"#),
        ]),
        &["query"],
    );
    assert_eq!(q["total"], "42");
    rt.block_on(node.shutdown()).expect("shutdown");
    let _ = std::fs::remove_dir_all(&dir);
}

//! `comqute bench node`: a short bounded run against the in-process node, and the loopback
//! guard.

mod support;

use serde_json::Value;
use support::comqute;

#[test]
fn a_short_run_reports_both_phases() {
    let o = comqute(&[
        "bench",
        "node",
        "--txs",
        "200",
        "--seconds",
        "60",
        "--concurrency",
        "4",
        "--senders",
        "8",
        "--json",
    ]);
    assert!(
        o.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let r: Value = serde_json::from_slice(&o.stdout).expect("one JSON document");
    assert_eq!(r["in_process"], true);
    assert!(r["url"].as_str().unwrap().starts_with("http://127.0.0.1:"));
    assert_eq!(r["txs"], 200);
    for (phase, endpoint) in [
        ("signed", "/v1/broadcast-transaction"),
        ("unsigned", "/v1/devnet/broadcast-unsigned"),
    ] {
        let p = &r[phase];
        assert_eq!(p["endpoint"], endpoint, "{r}");
        // Everything sent is accepted: funded senders, fresh ticks, valid signatures.
        assert_eq!(p["sent"], 200, "{phase}: {p}");
        assert_eq!(p["accepted"], 200, "{phase}: {p}");
        assert_eq!(p["rejected"], serde_json::json!({}), "{phase}: {p}");
        assert_eq!(p["transport_errors"], 0, "{phase}: {p}");
        let tps = p["tps"].as_f64().unwrap();
        let (p50, p99, max) = (
            p["p50_ms"].as_f64().unwrap(),
            p["p99_ms"].as_f64().unwrap(),
            p["max_ms"].as_f64().unwrap(),
        );
        assert!(tps > 0.0, "{phase}: {p}");
        assert!(0.0 < p50 && p50 <= p99 && p99 <= max, "{phase}: {p}");
        assert!(p["elapsed_s"].as_f64().unwrap() > 0.0, "{phase}: {p}");
    }
    assert!(r["unsigned_over_signed"].as_f64().unwrap() > 0.0, "{r}");
}

#[test]
fn only_loopback_nodes_are_loaded() {
    for url in [
        "http://10.1.2.3:8080",
        "http://example.com",
        "https://[2001:db8::1]:8080",
    ] {
        let o = comqute(&["bench", "node", "--url", url, "--txs", "10", "--json"]);
        assert!(!o.status.success(), "{url}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("loopback"), "{url}: {err}");
        assert!(o.stdout.is_empty(), "{url}");
    }
}

/// `comqute bench abuse` (issue 21), short: the flooder is refused by the limits (rates,
/// blob quotas) while the honest requester's jobs all end paid. Latency ratios are the
/// benchmark's to report (BENCHMARKS.md), not this test's to time.
#[test]
fn under_a_flood_the_honest_jobs_all_end_paid_and_the_flooder_is_refused() {
    let o = comqute(&["bench", "abuse", "--jobs", "4", "--seconds", "90", "--json"]);
    assert!(
        o.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let r: Value = serde_json::from_slice(&o.stdout).expect("one JSON document");
    assert_eq!(r["jobs"], 8, "{r}");
    assert_eq!(r["dropped"], 0, "{r}");
    assert_eq!(r["job_ends"]["Finalized"], 8, "{r}");
    let answers = &r["flooder"]["answers"];
    assert!(answers["429 rate_limited"].as_u64().unwrap_or(0) > 0, "{r}");
    assert!(answers["429 blob_quota"].as_u64().unwrap_or(0) > 0, "{r}");
    for phase in ["idle", "flood"] {
        for k in ["reads", "uploads", "submit", "first_token", "result"] {
            assert!(r[phase][k]["n"].as_u64().unwrap() > 0, "{phase} {k}: {r}");
        }
    }
}

//! `comqute bench ledger`: a small run reports every figure, with the mix and the timed
//! ticks executing (a failed transaction would mean the workload measures refusals).

mod support;

use serde_json::Value;
use support::comqute;

#[test]
fn a_small_run_reports_every_figure_with_nothing_failed() {
    let o = comqute(&[
        "bench", "ledger", "--txs", "4096", "--jobs", "12000", "--trials", "2", "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).expect("one JSON object");
    for key in [
        "raw_verify_per_s",
        "signed_tps",
        "unsigned_tps",
        "tick_ns_10k_jobs",
        "tick_ns_live_jobs",
        "bytes_per_live_job",
        "replay_tps",
    ] {
        assert!(
            v[key].as_f64().is_some_and(|x| x > 0.0),
            "{key} not a positive number in {v}"
        );
    }
    // Four ticks at least, 4,096 transactions each less the lagging kinds of the first ticks.
    assert_eq!(v["ticks"], 4);
    assert_eq!(v["failed_in_mix"], 0, "{v}");
    assert_eq!(v["failed_in_tick_cost"], 0, "{v}");
    assert_eq!(v["live_jobs"], 12000);
    // The reported ratio is the median of the trials' ratios.
    let trials: Vec<f64> = v["signed_vs_raw_verify_trials"]
        .as_array()
        .expect("the trials' ratios")
        .iter()
        .map(|x| x.as_f64().expect("a ratio"))
        .collect();
    assert_eq!(trials.len(), 2);
    let mut sorted = trials.clone();
    sorted.sort_by(f64::total_cmp);
    assert_eq!(v["signed_vs_raw_verify"].as_f64(), Some(sorted[1]));
    assert!(trials.iter().all(|r| *r > 0.0));
    // A live job's values, their keys and a digest cache per value are a floor under the
    // heap bytes it costs (the maps keep each value whole); the set members are counted at
    // full length, which a layout sharing prefixes could undercut, so they stay out of it.
    let stored = &v["stored_per_live_job"];
    let num = |k: &str| {
        stored[k]
            .as_f64()
            .unwrap_or_else(|| panic!("{k} in {stored}"))
    };
    assert!(num("values") >= 1.0 && num("set_keys") >= 1.0, "{stored}");
    let parts = num("value_bytes") + num("value_key_bytes") + num("set_key_bytes");
    assert!(
        (num("total") - parts - num("digest_cache_bytes")).abs() < 0.5,
        "{stored}"
    );
    let heap = v["bytes_per_live_job"].as_f64().expect("bytes per job");
    let floor = num("value_bytes") + num("value_key_bytes") + num("digest_cache_bytes");
    assert!(parts > 0.0 && floor <= heap, "{stored} vs {heap}");
    let ratio = v["tick_cost_ratio_1m_vs_10k"].as_f64().expect("a ratio");
    assert!(ratio > 0.0, "{v}");
}

#[test]
fn trials_out_of_range_are_refused() {
    let o = comqute(&["bench", "ledger", "--trials", "0"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--trials"));
}

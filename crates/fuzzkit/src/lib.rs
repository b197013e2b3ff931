//! # comqute-fuzzkit
//!
//! The pieces the fuzz checks of `comqute-inference` and `comqute-node` (and the corpus
//! replays of every crate with a fuzz target) would otherwise each write again:
//!
//! - [`json_same`]: JSON equality with floats compared within a few ulps, for round-trip
//!   checks;
//! - [`corpus`] and [`replay`]: the committed corpus of a target (`fuzz/corpus/<target>`),
//!   run through the target's check in a plain `cargo test`, so CI checks every saved input
//!   (the regressions among them) without running a fuzzer.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// Equal JSON values, floats within a few ulps: serde_json's default float parsing is
/// best-effort (its `float_roundtrip` feature is off), so a float written back may read back
/// one ulp away.
pub fn json_same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_f64() || y.is_f64() => {
            match (x.as_f64(), y.as_f64()) {
                (Some(x), Some(y)) => {
                    x == y || (x - y).abs() <= 4.0 * f64::EPSILON * x.abs().max(y.abs())
                }
                _ => false,
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_same(v, w)))
        }
        _ => a == b,
    }
}

/// The committed corpus directory of a fuzz target: `fuzz/corpus/<target>` of this
/// workspace.
///
/// Found from the package directory cargo gives the running test at run time (any crate of
/// the workspace), not the one compiled in: a target directory shared between checkouts
/// can run a test binary that another checkout built, whose compiled-in path is that
/// checkout's.
pub fn corpus_dir(target: &str) -> PathBuf {
    let start = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    let root = start
        .ancestors()
        .find(|d| d.join("fuzz/corpus").is_dir())
        .map_or_else(|| start.join("../.."), Path::to_path_buf);
    root.join("fuzz/corpus").join(target)
}

/// Every file of `target`'s corpus as (path, bytes), sorted by path.
pub fn corpus(target: &str) -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let dir = corpus_dir(target);
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir)? {
        let path = entry?.path();
        if path.is_file() {
            let bytes = std::fs::read(&path)?;
            out.push((path.display().to_string(), bytes));
        }
    }
    out.sort();
    Ok(out)
}

/// Runs every input of `target`'s corpus through `check` (which panics on a finding, as a
/// fuzz target does). Returns how many ran, or what went wrong: an unreadable corpus, fewer
/// than `min` inputs (a corpus that went missing would otherwise pass), or the first input
/// that fails.
pub fn replay(target: &str, min: usize, check: fn(&[u8])) -> Result<usize, String> {
    let inputs = corpus(target).map_err(|e| format!("{}: {e}", corpus_dir(target).display()))?;
    if inputs.len() < min {
        return Err(format!(
            "{target}: {} inputs, expected at least {min}",
            inputs.len()
        ));
    }
    for (name, data) in &inputs {
        if std::panic::catch_unwind(|| check(data)).is_err() {
            return Err(format!("{name} fails the {target} check"));
        }
    }
    Ok(inputs.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn floats_one_ulp_apart_are_the_same_but_other_values_are_not() {
        let x = 0.1f64 + 0.2;
        let y = f64::from_bits(x.to_bits() + 1);
        assert!(json_same(&json!({"a": [x]}), &json!({"a": [y]})));
        assert!(!json_same(&json!({"a": [x]}), &json!({"a": [x + 1e-9]})));
        assert!(!json_same(&json!({"a": 1}), &json!({"a": 1, "b": 2})));
        assert!(!json_same(&json!(["1"]), &json!([1])));
    }

    #[test]
    fn a_missing_corpus_or_a_failing_input_is_an_error() {
        let e = replay("no-such-target", 0, |_| {}).expect_err("no corpus");
        assert!(e.contains("no-such-target"), "{e}");
        let e = replay("tx_decode", 1_000_000, |_| {}).expect_err("too few");
        assert!(e.contains("expected at least"), "{e}");
        let e = replay("tx_decode", 1, |_| panic!("planted")).expect_err("a failing check");
        assert!(e.contains("fails the tx_decode check"), "{e}");
        assert!(replay("tx_decode", 1, |_| {}).expect("replays") >= 1);
    }
}

//! Finding qubipy 0.4.1 for the cross-implementation tests, shared by
//! `crates/qubic/tests/qubipy.rs` and `crates/cli/tests/qubic_rpc.rs` (included with
//! `#[path]`: two crates' tests, no shared test crate).
//!
//! `$QUBIPY_PYTHON` if set, else `python3` if it imports qubipy, else a venv made before
//! under the including crate's target dir. When none has it: with `CI=true` qubipy 0.4.1 is
//! installed from the Python package registry into that venv (or, without `venv`, with
//! `pip install --user`) and the test fails if it cannot; otherwise the test skips with a
//! message saying how to run it.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde_json::Value;

/// The qubipy the tests are written for.
pub const QUBIPY: &str = "qubipy==0.4.1";

/// Whether `python` imports `module` (a qubipy module).
fn imports(python: &str, module: &str) -> bool {
    Command::new(python)
        .args(["-c", &format!("import {module}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn venv_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("qubipy-venv")
}

fn install(module: &str) -> Result<String, String> {
    let venv = venv_dir();
    let python = venv.join("bin/python").display().to_string();
    let made = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .is_ok_and(|s| s.success());
    if made {
        let ok = Command::new(&python)
            .args(["-m", "pip", "install", "-q", QUBIPY])
            .status()
            .is_ok_and(|s| s.success());
        if ok && imports(&python, module) {
            return Ok(python);
        }
    }
    let ok = Command::new("python3")
        .args(["-m", "pip", "install", "-q", "--user", QUBIPY])
        .status()
        .is_ok_and(|s| s.success());
    if ok && imports("python3", module) {
        return Ok("python3".into());
    }
    Err(format!(
        "could not install {QUBIPY} (venv at {}, then pip --user)",
        venv.display()
    ))
}

/// The Python that imports `module`, or `None` to skip (after saying so on stderr, naming
/// `what` is skipped). Found once per test binary.
pub fn python(module: &str, what: &str) -> Option<&'static str> {
    static PYTHON: OnceLock<Option<String>> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            if let Ok(p) = std::env::var("QUBIPY_PYTHON") {
                assert!(
                    imports(&p, module),
                    "QUBIPY_PYTHON={p} does not import {module}"
                );
                return Some(p);
            }
            if imports("python3", module) {
                return Some("python3".into());
            }
            let venv_python = venv_dir().join("bin/python").display().to_string();
            if imports(&venv_python, module) {
                return Some(venv_python);
            }
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                return Some(install(module).unwrap_or_else(|e| panic!("{e}")));
            }
            // Straight to stderr: the test harness captures `eprintln!`, and a skip must show.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {what}: qubipy is not importable. Run with CI=true to install \
                 {QUBIPY} into {}, or set QUBIPY_PYTHON to a python that has it.",
                venv_dir().display()
            );
            None
        })
        .as_deref()
}

/// Runs `script` (reading one JSON request on stdin, printing one JSON object with qubipy's
/// `version`) under `python`; its answer, checked to come from qubipy 0.4.1.
pub fn run_script(python: &str, script: &str, request: &Value) -> Value {
    let mut child = Command::new(python)
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python starts");
    child
        .stdin
        .take()
        .expect("a piped stdin")
        .write_all(request.to_string().as_bytes())
        .expect("the request is written");
    let out = child.wait_with_output().expect("the script ends");
    assert!(
        out.status.success(),
        "the qubipy script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("the script prints JSON");
    assert_eq!(
        v["version"], "0.4.1",
        "these tests are written for qubipy 0.4.1"
    );
    v
}

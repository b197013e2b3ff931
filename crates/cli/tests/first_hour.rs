//! What a new user hits in the first twenty minutes, through the real `comqute` binary: a
//! pipe closed early, a key file others can read, a node that is not running, colours in
//! redirected logs, `ledger` taking `--data-dir` like `node`, amounts out of range, money
//! printed with its unit, and the help naming what exists.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::{one_line_error, NodeProc};

mod support;

/// The binary, with none of the environment a developer's shell may set for it.
fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_comqute"));
    for var in [
        "COMQUTE_NODE",
        "COMQUTE_KEY",
        "COMQUTE_STRICT",
        "NO_COLOR",
        "RUST_LOG",
    ] {
        c.env_remove(var);
    }
    c
}

fn run(c: &mut Command) -> Output {
    c.output().expect("the comqute binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A scratch directory of this test process.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("comqute-first-hour-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The write end of a pipe whose only reader has already exited: the first write to it
/// fails with a broken pipe.
#[cfg(unix)]
fn closed_pipe() -> Stdio {
    let mut reader = Command::new("true")
        .stdin(Stdio::piped())
        .spawn()
        .expect("`true` runs");
    let write_end = reader.stdin.take().expect("stdin is piped");
    reader.wait().unwrap();
    Stdio::from(write_end)
}

/// Asserts that a command whose stdout reader went away ended without a panic.
#[cfg(unix)]
fn assert_quiet_end(o: &Output, what: &[&str]) {
    let err = stderr(o);
    assert!(!err.contains("panicked"), "{what:?} panicked: {err}");
    assert_ne!(o.status.code(), Some(101), "{what:?}: {err}");
}

#[cfg(unix)]
#[test]
fn a_reader_that_goes_away_ends_the_command_quietly() {
    // Offline commands.
    for args in [&["keys", "new", "--json"][..], &["keys", "new"]] {
        let o = run(bin().args(args).stdout(closed_pipe()));
        assert_quiet_end(&o, args);
    }
    // Against a node, as in `comqute job list | true`.
    let node = NodeProc::start("first-hour-pipe");
    for args in [&["tick"][..], &["job", "list"], &["stats", "--json"]] {
        let o = run(bin()
            .arg("--node")
            .arg(&node.url)
            .args(args)
            .stdout(closed_pipe()));
        assert_quiet_end(&o, args);
    }
}

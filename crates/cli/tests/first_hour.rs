//! What a new user hits in the first twenty minutes, through the real `comqute` binary: a
//! pipe closed early, a key file others can read, a node that is not running, colours in
//! redirected logs, `ledger` taking `--data-dir` like `node`, amounts out of range, money
//! printed with its unit, and the help naming what exists.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
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
    let dir =
        std::env::temp_dir().join(format!("comqute-first-hour-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `comqute node --devnet` on a free port (plus `extra`) with its stderr in a file
/// under `dir`, lets it tick a little, stops it with SIGTERM (a clean shutdown) and returns
/// what it logged.
#[cfg(unix)]
fn run_node_briefly(dir: &Path, extra: &[&str]) -> String {
    let log = dir.join("node.log");
    let mut child = bin()
        .args([
            "node",
            "--devnet",
            "--listen",
            "127.0.0.1:0",
            "--tick-ms",
            "25",
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("the node starts");
    if let Err(line) = support::listening_url(&mut child) {
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "first line {line:?}; log: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }
    std::thread::sleep(Duration::from_millis(300));
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(term.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "the node stopped with {status}");
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the node did not stop on SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    std::fs::read_to_string(&log).unwrap()
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

#[test]
fn a_node_that_is_not_running_is_named_with_what_to_do() {
    // Port 1 on the loopback: nothing listens there.
    let o = run(bin().args(["--node", "http://127.0.0.1:1", "tick"]));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "error: the node at http://127.0.0.1:1 is not answering (connection refused); start \
         one with `comqute node --devnet`, or pass --node URL / set COMQUTE_NODE\n"
    );
    // The same through COMQUTE_NODE, for a command that signs nothing but reads a balance.
    let id = support::key("nobody").identity().to_string();
    let o = run(bin()
        .env("COMQUTE_NODE", "http://127.0.0.1:1")
        .args(["balance", &id]));
    let err = one_line_error(&o);
    assert!(
        err.starts_with("error: the node at http://127.0.0.1:1 is not answering"),
        "{err}"
    );
}

#[test]
fn an_amount_out_of_range_says_which_way() {
    let id = support::key("payee").identity().to_string();
    for (amount, why) in [
        ("99999999999999999999", "too large, at most 10^15"),
        ("1000000000000001", "too large, at most 10^15"),
        ("-5", "must be positive"),
        ("0", "must be positive"),
        ("1.5", "expected a whole number"),
    ] {
        // Parsed before any node is asked: none needs to run.
        let o = run(bin().args(["--node", "http://127.0.0.1:1", "faucet", &id, amount]));
        assert_eq!(
            one_line_error(&o),
            format!("error: bad amount {amount:?}: {why}\n")
        );
    }
}

#[test]
fn money_is_printed_with_its_unit() {
    let node = NodeProc::start("first-hour-units");
    let (alice_file, alice) = node.funded_key("alice", 0);
    let alice_id = alice.identity().to_string();
    let bob_id = support::key("bob").identity().to_string();

    let o = node.cli(None, &["faucet", &alice_id, "1000"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), format!("{alice_id} now has 1000 units\n"));

    let o = node.cli(Some(&alice_file), &["transfer", &bob_id, "250"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.starts_with(&format!("sent 250 units to {bob_id} in tick ")),
        "{out}"
    );

    let o = node.cli(Some(&alice_file), &["balance"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "750 units\n");

    // --json keeps the bare numbers.
    let v = node.cli_json(None, &["balance", &alice_id, "--json"]);
    assert_eq!(v["balance"], "750");
    let v = node.cli_json(None, &["faucet", &bob_id, "5", "--json"]);
    assert_eq!(v["balance"], "255");
}

#[test]
fn the_help_names_what_exists() {
    let o = run(bin().arg("--help"));
    assert!(o.status.success());
    let help = stdout(&o);
    let about = help.lines().next().unwrap_or_default();
    assert!(!help.contains("later"), "{about}");
    for what in ["node", "jobs", "workers", "ledger", "demo"] {
        assert!(about.contains(what), "{what} missing from {about:?}");
    }
}

#[cfg(unix)]
#[test]
fn a_log_redirected_to_a_file_has_no_colour_codes() {
    let dir = scratch("ansi");
    let log = run_node_briefly(&dir, &[]);
    assert!(log.contains("shutting down"), "it logged: {log}");
    assert!(!log.contains("\x1b["), "colour codes in a file: {log:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[cfg(unix)]
#[test]
fn ledger_tools_take_the_data_dir_as_the_node_does() {
    let dir = scratch("ledger");
    let data = dir.join("data");
    let d = data.to_str().unwrap();
    run_node_briefly(&dir, &["--data-dir", d]);
    let verify = |args: &[&str]| {
        let o = run(bin().args(["ledger", "verify"]).args(args).arg("--json"));
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["clean"], true, "{v}");
        v
    };
    // As `comqute node --data-dir DIR` took it, and positionally as before: the same report.
    assert_eq!(verify(&["--data-dir", d]), verify(&[d]));
    let o = run(bin().args(["ledger", "export", "--data-dir", d]));
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(bin().args(["ledger", "export", d]));
    assert!(o.status.success(), "{}", stderr(&o));
    // Both at once, or neither, is refused.
    let o = run(bin().args(["ledger", "verify", d, "--data-dir", d]));
    assert!(!o.status.success());
    let o = run(bin().args(["ledger", "verify"]));
    assert!(!o.status.success());
    // And the help says so.
    for tool in ["verify", "export"] {
        let o = run(bin().args(["ledger", tool, "--help"]));
        assert!(stdout(&o).contains("--data-dir <DIR>"), "{}", stdout(&o));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[cfg(unix)]
#[test]
fn a_key_file_others_can_read_is_warned_about_and_refused_under_strict() {
    use std::os::unix::fs::PermissionsExt;
    let node = NodeProc::start("first-hour-key");
    let (file, key) = node.funded_key("alice", 1_000);
    let f = file.to_str().unwrap();
    let balance = |extra: &[&str], env: Option<&str>| {
        let mut c = bin();
        c.arg("--node").arg(&node.url).arg("--key").arg(&file);
        if let Some(v) = env {
            c.env("COMQUTE_STRICT", v);
        }
        run(c.args(extra).args(["balance", "--json"]))
    };
    // Written 0600: no word about it, strict or not.
    for o in [balance(&[], None), balance(&["--strict"], None)] {
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(stderr(&o), "");
    }

    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let warning =
        format!("warning: key file {f} is readable by others (mode 0644); run chmod 600 {f}\n");
    // Without --strict: the warning, and the command goes on.
    for o in [balance(&[], None), balance(&[], Some("0"))] {
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(stderr(&o), warning);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["identity"], key.identity().to_string());
        assert_eq!(v["balance"], "1000");
    }
    // With --strict or COMQUTE_STRICT: refused, one line, nothing on stdout.
    for o in [balance(&["--strict"], None), balance(&[], Some("1"))] {
        let err = one_line_error(&o);
        assert!(
            err.starts_with(&format!(
                "error: key file {f} is readable by others (mode 0644); run chmod 600 {f}"
            )),
            "{err}"
        );
        assert!(o.stdout.is_empty());
    }
}

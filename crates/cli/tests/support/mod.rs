//! Shared by the CLI's tests: the `comqute` binary run once, the real `comqute node` binary
//! on a free loopback port with a temporary data directory, the `comqute` CLI run against
//! it, key files, and bounded waits.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use comqute_sdk::{Keypair, Seed};
use serde_json::Value;

/// The tick length the tests run nodes at.
pub const TICK_MS: &str = "25";
/// The challenge window the tests run nodes with (ticks).
pub const CHALLENGE_WINDOW: u32 = 5;
/// Ticks a worker has to accept an offer on the tests' nodes.
pub const ACCEPT_TICKS: &str = "200";

/// A running node process (killed on drop) and its temporary directory.
pub struct NodeProc {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// Scratch space: the data directory and key files live under it.
    pub dir: PathBuf,
    extra: Vec<String>,
}

/// Runs the `comqute` binary with `args` and waits for it.
pub fn comqute(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_comqute"))
        .args(args)
        .output()
        .expect("the comqute binary runs")
}

/// The URL a server process (started with a piped stdout) prints as its first line,
/// `listening on URL`; otherwise the line it printed instead.
pub fn listening_url(child: &mut Child) -> Result<String, String> {
    let out = child.stdout.take().ok_or("stdout is not piped")?;
    let mut line = String::new();
    BufReader::new(out)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    match line.trim().strip_prefix("listening on ") {
        Some(url) => Ok(url.to_string()),
        None => Err(line),
    }
}

/// Starts `comqute node --devnet` on `listen` with its data under `dir`; returns the process
/// and its URL (read from its first line).
fn spawn_node(dir: &Path, listen: &str, extra: &[String]) -> (Child, String) {
    let data = dir.join("data");
    let window = CHALLENGE_WINDOW.to_string();
    let default_window: &[&str] = if extra.iter().any(|e| e == "--challenge-window") {
        &[]
    } else {
        &["--challenge-window", &window]
    };
    // Five seconds at 25 ms ticks for a worker to accept an offer on a loaded machine.
    let default_accept: &[&str] = if extra.iter().any(|e| e == "--accept-ticks") {
        &[]
    } else {
        &["--accept-ticks", ACCEPT_TICKS]
    };
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("node.log"))
        .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_comqute"))
        .args(["node", "--listen", listen, "--tick-ms", TICK_MS, "--devnet"])
        .args(default_window)
        .args(default_accept)
        .arg("--data-dir")
        .arg(&data)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .expect("node starts");
    let url = listening_url(&mut child).unwrap_or_else(|line| {
        let log = std::fs::read_to_string(dir.join("node.log")).unwrap_or_default();
        panic!("first line: {line:?}; node log: {log}")
    });
    (child, url)
}

impl NodeProc {
    /// Starts `comqute node --devnet` on a free port with a temporary data directory and a
    /// short challenge window ([`CHALLENGE_WINDOW`] unless `extra` sets one).
    pub fn start(name: &str) -> NodeProc {
        NodeProc::start_with(name, &[])
    }

    /// The same with extra arguments.
    pub fn start_with(name: &str, extra: &[&str]) -> NodeProc {
        let dir = std::env::temp_dir().join(format!("comqute-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        let (child, url) = spawn_node(&dir, "127.0.0.1:0", &extra);
        NodeProc {
            child,
            url,
            dir,
            extra,
        }
    }

    /// Kills the node like a crash (SIGKILL) and starts it again on the same address and
    /// data directory.
    pub fn crash_and_restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let addr = self.url.trim_start_matches("http://").to_string();
        let deadline = Instant::now() + Duration::from_secs(10);
        // The port is free once the killed process is reaped; retry briefly all the same.
        loop {
            if std::net::TcpListener::bind(&addr).is_ok() {
                break;
            }
            assert!(Instant::now() < deadline, "port {addr} stays busy");
            std::thread::sleep(Duration::from_millis(20));
        }
        let (child, url) = spawn_node(&self.dir, &addr, &self.extra);
        assert_eq!(url, self.url, "the node came back on the same address");
        self.child = child;
    }

    /// Runs the CLI against this node, signing with `key` when given.
    pub fn cli(&self, key: Option<&Path>, args: &[&str]) -> Output {
        let mut c = Command::new(env!("CARGO_BIN_EXE_comqute"));
        c.env_remove("COMQUTE_KEY").env("COMQUTE_NODE", &self.url);
        if let Some(k) = key {
            c.arg("--key").arg(k);
        }
        c.args(args).output().expect("the CLI runs")
    }

    /// Runs the CLI and parses its one JSON document (asserting success).
    pub fn cli_json(&self, key: Option<&Path>, args: &[&str]) -> Value {
        json_out(&self.cli(key, args), args)
    }

    /// Makes a key file with `comqute keys new --out` and funds it from the faucet.
    pub fn funded_key(&self, name: &str, amount: i64) -> (PathBuf, Keypair) {
        let path = self.dir.join(format!("{name}.json"));
        let v = self.cli_json(
            None,
            &["keys", "new", "--out", path.to_str().unwrap(), "--json"],
        );
        let key = comqute_sdk::keys::read_key_file(&path).unwrap();
        assert_eq!(v["identity"], key.identity().to_string());
        if amount > 0 {
            let id = key.identity().to_string();
            let v = self.cli_json(None, &["faucet", &id, &amount.to_string(), "--json"]);
            assert_eq!(v["balance"], amount.to_string());
        }
        (path, key)
    }

    /// A balance through the CLI.
    pub fn balance(&self, id: &comqute_sdk::Identity) -> i64 {
        let v = self.cli_json(None, &["balance", &id.to_string(), "--json"]);
        v["balance"].as_str().unwrap().parse().unwrap()
    }

    /// A job through `comqute job status --json`.
    pub fn job(&self, id: &str) -> Value {
        self.cli_json(None, &["job", "status", id, "--json"])
    }

    /// Polls `job status --json` until `status`, failing after `secs` seconds.
    /// Waits until the key's worker is online and available for matching, for at most
    /// `secs` seconds (the daemon's log in the failure).
    pub fn wait_worker_ready(&self, key: &Path, d: &WorkerDaemon, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let o = self.cli(Some(key), &["worker", "status", "--json"]);
            if o.status.success() {
                let v: Value = serde_json::from_slice(&o.stdout).unwrap();
                if v["available"] == true && v["online"] == true {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "the worker never became ready: {}",
                d.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn wait_job_status(&self, id: &str, status: &str, secs: u64) -> Value {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let v = self.job(id);
            if v["status"] == status {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "job {id} not {status} after {secs} s: {v}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for NodeProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The one JSON document a successful command printed.
pub fn json_out(o: &Output, what: &[&str]) -> Value {
    assert!(
        o.status.success(),
        "{what:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "{what:?}: not one JSON document ({e}): {}",
            String::from_utf8_lossy(&o.stdout)
        )
    })
}

/// Asserts a failed command printed one `error: …` line; returns it.
pub fn one_line_error(o: &Output) -> String {
    assert!(!o.status.success(), "expected a failure");
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("error: "), "{err}");
    err
}

/// A `comqute worker run` process with its log file; killed on drop.
pub struct WorkerDaemon {
    /// The process.
    pub child: Child,
    /// Its stderr (`RUST_LOG=info`).
    pub log: PathBuf,
}

impl WorkerDaemon {
    /// Starts `comqute --key KEY worker run ARGS…` against `node`, logging to `log`.
    pub fn start(node: &NodeProc, key: &Path, args: &[&str], log: PathBuf) -> WorkerDaemon {
        let child = Command::new(env!("CARGO_BIN_EXE_comqute"))
            .env("COMQUTE_NODE", &node.url)
            .env("RUST_LOG", "info")
            .arg("--key")
            .arg(key)
            .args(["worker", "run"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("the worker starts");
        WorkerDaemon { child, log }
    }

    /// What it logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits for the process to exit by itself within `secs`; its status and log.
    pub fn exit_within(mut self, secs: u64) -> (std::process::ExitStatus, String) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return (st, self.log());
            }
            assert!(
                Instant::now() < deadline,
                "the daemon did not exit: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends it SIGINT (Ctrl-C).
    pub fn interrupt(&self) {
        assert!(Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap()
            .success());
    }
}

impl Drop for WorkerDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A JSON number the API renders as a decimal string (64-bit) or a number.
pub fn num(v: &Value) -> i64 {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .or_else(|| v.as_i64())
        .unwrap_or_else(|| panic!("not a number: {v}"))
}

/// A deterministic key pair from a name.
pub fn key(name: &str) -> Keypair {
    let mut s = name.repeat(55);
    s.truncate(55);
    Seed::new(&s).unwrap().keypair()
}

/// A multi-threaded runtime for SDK calls in a test.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

//! `comqute worker setup` end to end (issue 21): the real node binary on a devnet, the
//! Ollama-compatible test server as the backend.
//!
//! - Non-interactive (`--yes`): a key made with mode 0600, funded by the devnet faucet,
//!   registered with the stake and price asked for, a config file written; then `comqute
//!   worker run --config FILE` alone serves a job to the end.
//! - Interactive, in a real pseudo-terminal (rexpect), keys sent as a person would: the happy
//!   path, and "backend down", "not funded" and "key exists", each leaving nothing on chain.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use comqute_inference::testserver::{TestServer, TestServerConfig};
use rexpect::process::WaitStatus;
use rexpect::session::PtySession;
use serde_json::Value;
use support::{num, runtime, NodeProc, WorkerDaemon};

const MODEL: &str = "comqute-test:tiny";
const PULLABLE: &str = "comqute-test:pullable";

/// A test server with one model (and one it can pull), on `rt`.
fn backend(rt: &tokio::runtime::Runtime) -> TestServer {
    rt.block_on(TestServer::start(TestServerConfig {
        models: vec![MODEL.to_string()],
        token_delay: Duration::from_millis(1),
        ..TestServerConfig::default()
    }))
    .expect("the test server starts")
}

/// `comqute` with none of the user's environment that would change what it does.
fn comqute_cmd(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_comqute"));
    c.env_remove("COMQUTE_KEY")
        .env_remove("COMQUTE_NODE")
        .env_remove("OPENAI_API_KEY")
        .env("OLLAMA_URL", closed_url())
        .env("XDG_CACHE_HOME", dir.join("cache"))
        .current_dir(dir);
    c
}

/// A loopback URL nothing listens on.
fn closed_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    format!("http://127.0.0.1:{port}")
}

/// The failure of a non-interactive run: its progress lines, then exactly one `error: …`
/// line, the last; returns that line.
fn failure(o: &std::process::Output) -> String {
    assert!(!o.status.success(), "expected a failure");
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    let errors: Vec<&str> = err.lines().filter(|l| l.contains("error")).collect();
    assert_eq!(errors.len(), 1, "one error line: {err}");
    assert!(
        err.trim_end()
            .lines()
            .last()
            .unwrap()
            .starts_with("error: "),
        "{err}"
    );
    errors[0].to_string()
}

/// The worker record on chain, or `None` when the identity is not a worker.
fn worker(node: &NodeProc, id: &str) -> Option<Value> {
    let o = node.cli(None, &["worker", "status", id, "--json"]);
    if o.status.success() {
        return Some(serde_json::from_slice(&o.stdout).unwrap());
    }
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("is not a registered worker"), "{err}");
    None
}

fn identity_of(key: &Path) -> String {
    comqute_sdk::keys::read_key_file(key)
        .unwrap()
        .identity()
        .to_string()
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn non_interactive_setup_registers_and_its_config_alone_serves_a_job() {
    let rt = runtime();
    let server = backend(&rt);
    let node = NodeProc::start("setup-yes");
    let key = node.dir.join("keys/worker.json");
    let config = node.dir.join("worker.toml");
    let out = comqute_cmd(&node.dir)
        .args([
            "worker",
            "setup",
            "--yes",
            "--backend",
            "ollama",
            "--ollama-url",
        ])
        .arg(server.url())
        // Not on the server yet: setup pulls it.
        .args(["--model", PULLABLE, "--stake", "20000", "--price", "1500"])
        .arg("--config")
        .arg(&config)
        .arg("--key")
        .arg(&key)
        .args(["--node", &node.url])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "setup failed: {stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.trim(),
        format!("comqute worker run --config {}", config.display()),
        "{stderr}"
    );

    // The key: new, private.
    #[cfg(unix)]
    assert_eq!(mode(&key), 0o600);
    let id = identity_of(&key);
    // On chain: registered with the stake and price asked for, the model pulled, a measured
    // speed; the faucet gave the stake, now locked, and 100 units to sign with.
    let w = worker(&node, &id).expect("registered");
    assert_eq!(num(&w["stake"]), 20_000, "{w}");
    assert_eq!(num(&w["capabilities"]["pricePer1k"]), 1_500, "{w}");
    assert_eq!(w["capabilities"]["models"], serde_json::json!([PULLABLE]));
    assert!(num(&w["capabilities"]["tokensPerS"]) > 0, "{w}");
    assert_eq!(w["status"], "Active", "{w}");
    assert_eq!(node.balance(&id.parse().unwrap()), 100);
    // The config: the key by path, never the seed.
    let text = std::fs::read_to_string(&config).unwrap();
    let seed = std::fs::read_to_string(&key).unwrap();
    let seed: Value = serde_json::from_str(&seed).unwrap();
    assert!(!text.contains(seed["seed"].as_str().unwrap()), "{text}");
    for line in [
        format!("node = \"{}\"", node.url),
        format!("key = \"{}\"", key.display()),
        "backend = \"ollama\"".to_string(),
        format!("models = [\"{PULLABLE}\"]"),
        "stake = 20000".to_string(),
        "price-per-1k = 1500".to_string(),
    ] {
        assert!(text.lines().any(|l| l == line), "{line:?} in {text}");
    }

    // A second setup with the same config path is refused, and changes nothing.
    let again = comqute_cmd(&node.dir)
        .args(["worker", "setup", "--yes", "--ollama"])
        .arg(server.url())
        .arg("--config")
        .arg(&config)
        .args(["--node", &node.url])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = failure(&again);
    assert!(err.contains("exists; pass another --config FILE"), "{err}");
    assert_eq!(std::fs::read_to_string(&config).unwrap(), text);

    // `worker run --config FILE` and nothing else serves a job.
    let log = node.dir.join("daemon.log");
    let child = comqute_cmd(&node.dir)
        .env("RUST_LOG", "info")
        .args(["worker", "run", "--config"])
        .arg(&config)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let daemon = WorkerDaemon { child, log };
    node.wait_worker_ready(&key, &daemon, 40);
    let (req_key, _) = node.funded_key("requester", 1_000_000);
    let job = node.cli_json(
        Some(&req_key),
        &[
            "job",
            "submit",
            "--model",
            PULLABLE,
            "--prompt",
            "Why is the sky blue?",
            "--max-price-per-1k",
            "5000",
            "--max-tokens",
            "16",
            "--timeout-ticks",
            "400",
            "--json",
        ],
    );
    let job_id = job["id"].as_str().expect("a job id").to_string();
    let v = node.wait_job_status(&job_id, "Finalized", 40);
    assert_eq!(v["worker"], id, "{v}\n{}", daemon.log());
    let r = node.cli_json(None, &["job", "result", &job_id, "--json"]);
    assert!(!r["text"].as_str().unwrap_or("").is_empty(), "{r}");
}

#[test]
fn run_config_refuses_an_unknown_key_by_name() {
    let dir = std::env::temp_dir().join(format!("comqute-setup-badcfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("w.toml");
    std::fs::write(&cfg, "node = \"http://127.0.0.1:1\"\nprice = 5\n").unwrap();
    let o = comqute_cmd(&dir)
        .args(["worker", "run", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    let err = support::one_line_error(&o);
    assert!(err.contains("line 2: unknown field `price`"), "{err}");
    assert!(err.contains(&cfg.display().to_string()), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `comqute worker setup ARGS…` in a pseudo-terminal.
fn spawn_setup(dir: &Path, node: &NodeProc, args: &[&str]) -> PtySession {
    let mut c = comqute_cmd(dir);
    c.env("TERM", "xterm")
        .args(["worker", "setup", "--node", &node.url])
        .args(args);
    rexpect::session::spawn_command(c, Some(30_000)).expect("a pty")
}

/// Waits for `text` on the terminal (the screen so far in the failure).
fn expect(p: &mut PtySession, text: &str) {
    if let Err(e) = p.exp_string(text) {
        panic!("waiting for {text:?}: {e}");
    }
}

/// Sends keys (no newline added).
fn keys(p: &mut PtySession, s: &str) {
    p.send(s).unwrap();
    p.flush().unwrap();
}

/// The rest of the output and the exit code.
fn finish(mut p: PtySession) -> (String, i32) {
    let rest = p.exp_eof().unwrap_or_default();
    let code = match p.process().wait().unwrap() {
        WaitStatus::Exited(_, c) => c,
        other => panic!("{other:?}: {rest}"),
    };
    (rest, code)
}

/// The one `error: …` line printed.
fn error_line(screen: &str) -> String {
    let lines: Vec<&str> = screen
        .lines()
        .map(|l| l.trim_matches(|c: char| c == '\r' || c.is_whitespace()))
        .filter(|l| l.contains("error: "))
        .collect();
    assert_eq!(lines.len(), 1, "one error line in: {screen}");
    lines[0].to_string()
}

struct Scene {
    _rt: tokio::runtime::Runtime,
    server: TestServer,
    node: NodeProc,
    work: PathBuf,
}

fn scene(name: &str) -> Scene {
    let rt = runtime();
    let server = backend(&rt);
    let node = NodeProc::start(name);
    let work = node.dir.join("work");
    std::fs::create_dir_all(&work).unwrap();
    Scene {
        _rt: rt,
        server,
        node,
        work,
    }
}

#[test]
fn interactive_happy_path_in_a_terminal() {
    let s = scene("setup-tty");
    let config = s.work.join("worker.toml");
    let url = s.server.url();
    let mut p = spawn_setup(
        &s.work,
        &s.node,
        &["--ollama", &url, "--config", config.to_str().unwrap()],
    );
    expect(&mut p, "This machine:");
    expect(&mut p, "Which model will this worker serve?");
    // The first model (the only one the server has).
    keys(&mut p, "\r");
    expect(&mut p, "Benchmark:");
    expect(&mut p, "Key file (created when missing)");
    keys(&mut p, "\r");
    expect(&mut p, "Create a new key in");
    keys(&mut p, "y");
    expect(&mut p, "Stake to lock");
    keys(&mut p, "15000\r");
    expect(&mut p, "no price oracle yet");
    keys(&mut p, "1200\r");
    expect(&mut p, "Ask the node's devnet faucet for 15100?");
    keys(&mut p, "y");
    expect(&mut p, "Register ");
    keys(&mut p, "y");
    expect(&mut p, "Start the worker now?");
    keys(&mut p, "n");
    expect(&mut p, "comqute worker run --config");
    let (rest, code) = finish(p);
    assert_eq!(code, 0, "{rest}");

    let key = s.work.join("comqute-worker-key.json");
    #[cfg(unix)]
    assert_eq!(mode(&key), 0o600);
    let id = identity_of(&key);
    let w = worker(&s.node, &id).expect("registered");
    assert_eq!(num(&w["stake"]), 15_000, "{w}");
    assert_eq!(num(&w["capabilities"]["pricePer1k"]), 1_200, "{w}");
    assert_eq!(w["capabilities"]["models"], serde_json::json!([MODEL]));
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("price-per-1k = 1200"), "{text}");
    assert!(
        text.contains(&format!("key = \"{}\"", key.display())),
        "{text}"
    );
}

#[test]
fn interactive_backend_down_says_so_and_registers_nothing() {
    let s = scene("setup-down");
    let (key, kp) = s.node.funded_key("down", 50_000);
    let config = s.work.join("worker.toml");
    let down = closed_url();
    let mut p = spawn_setup(
        &s.work,
        &s.node,
        &[
            "--ollama",
            &down,
            "--key",
            key.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ],
    );
    expect(&mut p, "This machine:");
    let (rest, code) = finish(p);
    assert_ne!(code, 0, "{rest}");
    let err = error_line(&rest);
    assert!(
        err.contains(&format!("no Ollama answers at {down}")),
        "{err}"
    );
    assert!(err.contains("ollama serve"), "{err}");
    assert!(worker(&s.node, &kp.identity().to_string()).is_none());
    assert_eq!(s.node.balance(&kp.identity()), 50_000);
    assert!(!config.exists());
}

#[test]
fn interactive_not_funded_says_how_much_and_registers_nothing() {
    let s = scene("setup-poor");
    let config = s.work.join("worker.toml");
    let key = s.work.join("new-key.json");
    let url = s.server.url();
    let mut p = spawn_setup(
        &s.work,
        &s.node,
        &[
            "--ollama",
            &url,
            "--model",
            MODEL,
            "--stake",
            "12000",
            "--price",
            "900",
            "--key",
            key.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ],
    );
    expect(&mut p, "Create a new key in");
    keys(&mut p, "y");
    expect(&mut p, "Ask the node's devnet faucet for 12100?");
    keys(&mut p, "n");
    let (rest, code) = finish(p);
    assert_ne!(code, 0, "{rest}");
    let err = error_line(&rest);
    let id = identity_of(&key);
    assert!(
        err.contains(&format!(
            "{id} has 0 units and needs 12100 (the stake 12000"
        )),
        "{err}"
    );
    assert!(err.contains(&format!("comqute faucet {id} 12100")), "{err}");
    assert!(worker(&s.node, &id).is_none());
    assert_eq!(s.node.balance(&id.parse().unwrap()), 0);
    assert!(!config.exists());
}

#[test]
fn an_existing_key_is_never_overwritten_without_a_yes() {
    let s = scene("setup-keyexists");
    let config = s.work.join("worker.toml");
    // Where setup puts a new key by default: beside the config.
    let key = s.work.join("comqute-worker-key.json");
    let seed = comqute_sdk::new_seed().unwrap();
    comqute_sdk::keys::write_key_file(&key, &seed).unwrap();
    let before = std::fs::read(&key).unwrap();
    let id = seed.keypair().identity().to_string();
    let url = s.server.url();

    // Non-interactive, the key not named with --key: refused.
    let o = comqute_cmd(&s.work)
        .args([
            "worker", "setup", "--yes", "--ollama", &url, "--model", MODEL,
        ])
        .arg("--config")
        .arg(&config)
        .args(["--node", &s.node.url])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = failure(&o);
    assert!(err.contains("exists; pass --key"), "{err}");
    assert_eq!(std::fs::read(&key).unwrap(), before);

    // In a terminal: asked; no and no keep it byte for byte.
    let mut p = spawn_setup(
        &s.work,
        &s.node,
        &[
            "--ollama",
            &url,
            "--model",
            MODEL,
            "--config",
            config.to_str().unwrap(),
        ],
    );
    expect(&mut p, "Key file (created when missing)");
    keys(&mut p, "\r");
    expect(&mut p, "Use this key?");
    keys(&mut p, "n");
    expect(&mut p, "Replace ");
    keys(&mut p, "n");
    let (rest, code) = finish(p);
    assert_ne!(code, 0, "{rest}");
    let err = error_line(&rest);
    assert!(err.contains("as it was"), "{err}");
    assert_eq!(std::fs::read(&key).unwrap(), before);
    assert!(worker(&s.node, &id).is_none());
    assert!(!config.exists());
}

#[test]
fn interactive_defaults_find_the_ollama_and_start_the_worker_when_asked() {
    let s = scene("setup-defaults");
    let url = s.server.url();
    // No flags but the node: the Ollama at OLLAMA_URL is found and offered first.
    let mut c = comqute_cmd(&s.work);
    c.env("TERM", "xterm")
        .env("OLLAMA_URL", &url)
        .env("RUST_LOG", "info")
        .args(["worker", "setup", "--node", &s.node.url]);
    let mut p = rexpect::session::spawn_command(c, Some(30_000)).expect("a pty");
    expect(&mut p, "Config file to write");
    keys(&mut p, "\r");
    expect(&mut p, "Which backend runs the model?");
    expect(&mut p, &format!("Ollama at {url} (1 model)"));
    keys(&mut p, "\r");
    expect(&mut p, "Which model will this worker serve?");
    keys(&mut p, "\r");
    expect(&mut p, "Key file (created when missing)");
    keys(&mut p, "\r");
    expect(&mut p, "Create a new key in");
    keys(&mut p, "y");
    expect(&mut p, "Stake to lock");
    keys(&mut p, "\r");
    expect(&mut p, "no price oracle yet");
    keys(&mut p, "\r");
    expect(&mut p, "Ask the node's devnet faucet for 10100?");
    keys(&mut p, "y");
    expect(&mut p, "Register ");
    keys(&mut p, "y");
    expect(&mut p, "Start the worker now?");
    keys(&mut p, "y");
    expect(&mut p, "Starting: comqute worker run --config");

    let key = s.work.join("comqute-worker-key.json");
    let config = s.work.join("comqute-worker.toml");
    let id = identity_of(&key);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let w = worker(&s.node, &id).expect("registered");
        if w["online"] == true && w["available"] == true {
            assert_eq!(num(&w["stake"]), 10_000, "{w}");
            assert_eq!(num(&w["capabilities"]["pricePer1k"]), 1_000, "{w}");
            assert_eq!(w["capabilities"]["models"], serde_json::json!([MODEL]));
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the worker started by setup never came online: {w}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains(&format!("ollama = \"{url}\"")), "{text}");
    // Ctrl-C stops it as it stops `worker run`.
    p.send_control('c').unwrap();
    expect(&mut p, "worker stopped");
    let (rest, code) = finish(p);
    assert_eq!(code, 0, "{rest}");
}

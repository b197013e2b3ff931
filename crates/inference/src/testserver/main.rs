//! The Ollama-compatible test server as a process (feature `test-server`), for tests that need
//! to kill a backend process and for trying clients by hand:
//!
//! ```text
//! cargo run -p comqute-inference --features test-server --bin comqute-ollama-testserver -- \
//!     [--listen 127.0.0.1:0] [--model NAME]… [--pullable NAME]… [--token-delay-ms N] \
//!     [--first-token-delay-ms N] [--split lines|awkward|BYTES] [--max-concurrent N]
//! ```
//!
//! The first line on stdout is `listening on http://ADDR`. It runs until killed.

use std::time::Duration;

use comqute_inference::testserver::{Split, TestServer, TestServerConfig};

fn usage(msg: &str) -> ! {
    eprintln!("error: {msg}");
    eprintln!(
        "usage: comqute-ollama-testserver [--listen ADDR] [--model NAME]… [--pullable NAME]… \
         [--token-delay-ms N] [--first-token-delay-ms N] [--split lines|awkward|BYTES] \
         [--max-concurrent N]"
    );
    std::process::exit(2)
}

fn number(flag: &str, v: Option<String>) -> u64 {
    v.and_then(|v| v.parse().ok())
        .unwrap_or_else(|| usage(&format!("{flag} needs a number")))
}

fn main() {
    let mut cfg = TestServerConfig::default();
    let mut listen = "127.0.0.1:0".to_string();
    let mut models = Vec::new();
    let mut pullable = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--listen" => listen = args.next().unwrap_or_else(|| usage("--listen needs ADDR")),
            "--model" => models.push(args.next().unwrap_or_else(|| usage("--model needs NAME"))),
            "--pullable" => pullable.push(
                args.next()
                    .unwrap_or_else(|| usage("--pullable needs NAME")),
            ),
            "--token-delay-ms" => cfg.token_delay = Duration::from_millis(number(&a, args.next())),
            "--first-token-delay-ms" => {
                cfg.first_token_delay = Duration::from_millis(number(&a, args.next()))
            }
            "--max-concurrent" => {
                cfg.max_concurrent = usize::try_from(number(&a, args.next()))
                    .unwrap_or_else(|_| usage("--max-concurrent is too large"))
            }
            "--split" => {
                cfg.split = match args.next().as_deref() {
                    Some("lines") => Split::Lines,
                    Some("awkward") => Split::Awkward,
                    Some(n) => Split::Bytes(
                        n.parse()
                            .unwrap_or_else(|_| usage("--split takes lines, awkward or a number")),
                    ),
                    None => usage("--split needs a value"),
                }
            }
            "-h" | "--help" => usage("help"),
            other => usage(&format!("unknown argument {other:?}")),
        }
    }
    if !models.is_empty() {
        cfg.models = models;
    }
    if !pullable.is_empty() {
        cfg.pullable = pullable;
    }
    let addr = listen
        .parse()
        .unwrap_or_else(|_| usage(&format!("--listen {listen:?} is not an address")));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| usage(&format!("cannot start the runtime: {e}")));
    rt.block_on(async move {
        let server = TestServer::start_on(addr, cfg)
            .await
            .unwrap_or_else(|e| usage(&format!("cannot listen on {addr}: {e}")));
        println!("listening on {}", server.url());
        std::future::pending::<()>().await;
    });
}

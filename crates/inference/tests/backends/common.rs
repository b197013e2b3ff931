//! Helpers shared by the backend tests.

use std::time::Duration;

use comqute_inference::testserver::{TestServer, TestServerConfig};
use comqute_inference::{HttpOptions, OllamaBackend, OpenAiBackend};
use tokio::sync::mpsc::UnboundedReceiver;

/// A model every default test server has.
pub const TINY: &str = "comqute-test:tiny";

/// A test server with the default settings.
pub async fn server() -> TestServer {
    server_with(TestServerConfig::default()).await
}

/// A test server with the given settings.
pub async fn server_with(cfg: TestServerConfig) -> TestServer {
    TestServer::start(cfg)
        .await
        .expect("the test server starts")
}

/// Short timeouts and fast retries.
pub fn fast() -> HttpOptions {
    HttpOptions::fast()
}

/// Options with the given first-token and idle timeouts.
pub fn timeouts(first_token_ms: u64, idle_ms: u64) -> HttpOptions {
    HttpOptions {
        first_token_timeout: Duration::from_millis(first_token_ms),
        idle_timeout: Duration::from_millis(idle_ms),
        ..HttpOptions::fast()
    }
}

/// An Ollama backend on the server.
pub fn ollama(s: &TestServer) -> OllamaBackend {
    OllamaBackend::with_options(&s.url(), fast()).expect("a valid URL")
}

/// An OpenAI-compatible backend on the server.
pub fn openai(s: &TestServer) -> OpenAiBackend {
    OpenAiBackend::with_options(&s.url(), fast()).expect("a valid URL")
}

/// Every piece a sink received so far.
pub fn drain(rx: &mut UnboundedReceiver<String>) -> Vec<String> {
    let mut out = Vec::new();
    while let Ok(p) = rx.try_recv() {
        out.push(p);
    }
    out
}

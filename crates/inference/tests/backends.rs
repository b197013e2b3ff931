//! The HTTP backends against the Ollama-compatible test server (every behaviour: streaming
//! reassembly under awkward splits, mid-stream errors, 404, 503 and retries, timeouts, garbage,
//! pull progress, tags/show/version, OpenAI SSE), and against a real Ollama when `OLLAMA_URL`
//! is set. One test binary, a module per topic. Loopback only; every test is bounded by short
//! timeouts. Needs the `test-server` feature (on in tests through the crate's dev-dependency on
//! itself).
#![cfg(feature = "test-server")]

mod backends {
    pub mod common;
    mod ollama;
    mod openai;
    mod real_ollama;
    mod server;
}

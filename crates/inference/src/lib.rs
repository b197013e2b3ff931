//! # comqute-inference
//!
//! The off-chain half of a worker: inference backends behind one trait (Ollama over its
//! NDJSON API, any OpenAI-compatible server, a built-in GGUF runtime) and the worker agent
//! that watches the node, claims jobs, runs them, streams tokens and posts result hashes.
//! The backends and the agent arrive with the inference issue; what is fixed already is
//! **what a result hash is**, because contracts, node and verifiers must agree on it.
//!
//! ## What it must never do
//! Touch ledger state directly (it goes through the SDK like any app), or post a hash for
//! output it did not produce.

use comqute_contracts::Hash32;

/// The result hash of a job: blake3 of the UTF-8 bytes of the output text exactly as the
/// backend produced it (no trimming, no normalisation).
pub fn result_hash(output: &str) -> Hash32 {
    Hash32::of(output.as_bytes())
}

#[cfg(test)]
mod tests {
    #[test]
    fn hashes_the_exact_bytes() {
        assert_ne!(super::result_hash("hi"), super::result_hash("hi "));
        assert_eq!(
            super::result_hash("hi"),
            comqute_contracts::Hash32::of(b"hi")
        );
    }
}

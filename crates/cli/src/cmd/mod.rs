//! One module per command.

#[cfg(feature = "bench")]
pub mod bench;
#[cfg(feature = "bench")]
pub mod bench_abuse;
#[cfg(feature = "bench")]
pub mod bench_harness;
#[cfg(feature = "bench")]
pub mod bench_ledger;
#[cfg(feature = "bench")]
pub mod bench_node;
pub mod chain;
pub mod contract;
pub mod demo;
pub mod global;
pub mod history;
pub mod infer;
pub mod job;
pub mod job_replay;
pub mod keys;
pub mod ledger;
pub mod models;
pub mod models_install;
pub mod node;
pub mod pool;
pub mod tx;
pub mod worker;
pub mod worker_config;
pub mod worker_run;
pub mod worker_setup;

/// Prints a JSON value on one line.
pub fn print_json(v: &serde_json::Value) {
    println!("{v}");
}

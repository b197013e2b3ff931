//! One module per command.

pub mod demo;
pub mod keys;
pub mod ledger;
pub mod node;
pub mod tx;

/// Prints a JSON value on one line.
pub fn print_json(v: &serde_json::Value) {
    println!("{v}");
}

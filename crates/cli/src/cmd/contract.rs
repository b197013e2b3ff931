//! `comqute contracts | call | query`: any contract of the node's genesis, by name, with JSON
//! inputs (like `cast call` / `cast send`). The node encodes and decodes with each contract's
//! own description, so a contract added to the genesis needs nothing here.

use anyhow::{anyhow, Context, Result};
use clap::Args;
use serde_json::{json, Value};

use super::global::{amount, block_on, Global};
use super::print_json;

/// `comqute contracts`.
#[derive(Args)]
pub struct ContractsArgs {
    /// Print `{"contracts": [{"index", "name", "identity", "procedures", "functions",
    /// "errors"}]}`.
    #[arg(long)]
    json: bool,
}

/// `comqute call CONTRACT PROCEDURE`, signed with `--key`.
#[derive(Args)]
pub struct CallArgs {
    /// The contract: its name (`job-registry`), index (`6`) or identity.
    contract: String,
    /// The procedure: its name (`submit`) or number.
    procedure: String,
    /// The input as JSON (camelCase fields; 64-bit numbers as strings or numbers). Omit it for
    /// a procedure that takes none.
    #[arg(long, short = 'i')]
    input: Option<String>,
    /// The invocation reward moved to the contract with the call (default: none).
    #[arg(long, allow_negative_numbers = true)]
    amount: Option<String>,
    /// Print `{"txId", "tick", "contract", "procedure", "status", "output", "events"}`.
    #[arg(long)]
    json: bool,
}

/// `comqute query CONTRACT FUNCTION`.
#[derive(Args)]
pub struct QueryArgs {
    /// The contract: its name, index or identity.
    contract: String,
    /// The function: its name or number.
    function: String,
    /// The input as JSON. Omit it for a function that takes none.
    #[arg(long, short = 'i')]
    input: Option<String>,
    /// Print `{"contract", "function", "tick", "output"}` instead of the output alone.
    #[arg(long)]
    json: bool,
}

fn parse_input(input: Option<&str>) -> Result<Value> {
    match input {
        None => Ok(Value::Null),
        Some(text) => {
            serde_json::from_str(text).map_err(|e| anyhow!("--input is not JSON ({e}): {text:?}"))
        }
    }
}

/// Lists the contracts of the node's genesis with their entry points.
pub fn contracts(g: &Global, a: ContractsArgs) -> Result<()> {
    let client = g.client()?;
    let list = block_on(client.contracts())??;
    if a.json {
        print_json(&json!({ "contracts": list }));
        return Ok(());
    }
    for c in list {
        println!("{} (index {}, {})", c.name, c.index, c.identity);
        for (kind, entries) in [("procedure", &c.procedures), ("function", &c.functions)] {
            for e in entries {
                println!(
                    "  {kind:9} {:>3} {:<20} {} -> {}",
                    e.number, e.name, e.input, e.output
                );
            }
        }
    }
    Ok(())
}

/// Calls a procedure by name with a JSON input and prints the receipt's decoded output.
pub fn call(g: &Global, a: CallArgs) -> Result<()> {
    let input = parse_input(a.input.as_deref())?;
    let amt = match &a.amount {
        Some(s) => amount(s)?,
        None => comqute_sdk::Amount::ZERO,
    };
    let key = g.keypair()?;
    let client = g.client()?;
    let r = block_on(client.call_json(&key, &a.contract, &a.procedure, input, amt))?
        .with_context(|| format!("{} {}", a.contract, a.procedure))?;
    let procedure = r.procedure.clone().unwrap_or_else(|| a.procedure.clone());
    if a.json {
        let events: Vec<Value> = r
            .events
            .iter()
            .map(|e| e.json.clone().unwrap_or(Value::Null))
            .collect();
        print_json(&json!({
            "txId": r.tx_id.to_string(),
            "tick": r.tick.0,
            "contract": a.contract,
            "procedure": procedure,
            "status": "executed",
            "output": r.output_json,
            "events": events,
        }));
    } else {
        println!(
            "{} {procedure}: executed in tick {} (tx {})",
            a.contract, r.tick, r.tx_id
        );
        if let Some(out) = r.output_json.as_ref().filter(|v| !v.is_null()) {
            println!("output: {out}");
        }
        for e in r.events.iter().filter_map(|e| e.json.as_ref()) {
            println!("event: {e}");
        }
    }
    Ok(())
}

/// Runs a function by name with a JSON input and prints its output as JSON.
pub fn query(g: &Global, a: QueryArgs) -> Result<()> {
    let input = parse_input(a.input.as_deref())?;
    let client = g.client()?;
    let r = block_on(client.query_json(&a.contract, &a.function, input))?
        .with_context(|| format!("{} {}", a.contract, a.function))?;
    if a.json {
        print_json(&serde_json::to_value(&r)?);
    } else {
        print_json(&r.output);
    }
    Ok(())
}

//! `comqute tx …`

use std::io::Read;

use anyhow::{bail, Context, Result};
use base64::Engine;
use clap::Subcommand;
use comqute_ledger::Transaction;
use serde_json::json;

/// Transaction commands.
#[derive(Subcommand)]
pub enum TxCommand {
    /// Decodes a transaction given in base64 or hex (`-` reads standard input) and prints its
    /// fields, its id and whether its signature is valid.
    Decode {
        /// The packed transaction, base64 or hex (optionally 0x-prefixed), or `-`.
        tx: String,
        /// Print JSON (`"signatureValid": true|false` among the fields).
        #[arg(long)]
        json: bool,
    },
}

/// Runs a transaction command.
pub fn run(c: TxCommand) -> Result<()> {
    match c {
        TxCommand::Decode { tx, json } => decode(&tx, json),
    }
}

/// Reads base64 or hex text into bytes.
pub fn parse_bytes(text: &str) -> Result<Vec<u8>> {
    let t = text.trim();
    let t = t.strip_prefix("0x").unwrap_or(t);
    if t.is_empty() {
        bail!("empty transaction");
    }
    if t.len().is_multiple_of(2) && t.bytes().all(|b| b.is_ascii_hexdigit()) {
        return hex::decode(t).context("decoding hex");
    }
    base64::engine::general_purpose::STANDARD
        .decode(t)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(t))
        .context("the transaction is neither hex nor base64")
}

fn decode(arg: &str, as_json: bool) -> Result<()> {
    let text = if arg == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("reading standard input")?;
        s
    } else {
        arg.to_owned()
    };
    let bytes = parse_bytes(&text)?;
    let tx = Transaction::decode(&bytes).context("malformed transaction")?;
    // The profile (`--profile`, set as the display profile at start) decides the digest,
    // the id and which signature is valid.
    let profile = comqute_qpi::profile::display();
    let verdict = tx.verify_in(profile);
    if as_json {
        super::print_json(&json!({
            "source": tx.source.to_string(),
            "destination": tx.destination.to_string(),
            "amount": tx.amount.0,
            "tick": tx.tick.0,
            "inputType": tx.input_type,
            "inputSize": tx.input.len(),
            "inputHex": hex::encode(&tx.input),
            "signatureHex": hex::encode(tx.signature),
            "digest": tx.digest_in(profile).to_string(),
            "id": tx.id_in(profile).to_string(),
            "profile": profile.name(),
            "signatureValid": verdict.is_ok(),
        }));
    } else {
        println!("id:          {}", tx.id_in(profile));
        println!("source:      {}", tx.source);
        println!("destination: {}", tx.destination);
        if let Some(i) = tx.destination.contract_index() {
            println!("             (contract {i})");
        }
        println!("amount:      {}", tx.amount);
        println!("tick:        {}", tx.tick);
        println!("input type:  {}", tx.input_type);
        println!(
            "input:       {} bytes {}",
            tx.input.len(),
            hex::encode(&tx.input)
        );
        match verdict {
            Ok(()) => println!("signature:   valid"),
            Err(e) => println!("signature:   INVALID ({e})"),
        }
    }
    Ok(())
}

//! `comqute keys …`

use anyhow::{Context, Result};
use clap::Subcommand;
use comqute_ledger::Seed;
use serde_json::json;

/// Key commands.
#[derive(Subcommand)]
pub enum KeysCommand {
    /// Prints the identity a 55-letter seed derives.
    FromSeed {
        /// The seed: 55 lowercase letters.
        seed: String,
        /// Print `{"identity": …}`.
        #[arg(long)]
        json: bool,
    },
    /// Makes a new random seed and prints it with its identity (keep the seed secret).
    New {
        /// Print `{"seed": …, "identity": …}`.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a key command.
pub fn run(c: KeysCommand) -> Result<()> {
    match c {
        KeysCommand::FromSeed { seed, json } => {
            let seed = Seed::new(seed.trim()).context("reading the seed")?;
            let id = seed.keypair().identity();
            if json {
                super::print_json(&json!({ "identity": id.to_string() }));
            } else {
                println!("{id}");
            }
        }
        KeysCommand::New { json } => {
            let seed = comqute_sdk::new_seed()?;
            let id = seed.keypair().identity();
            if json {
                super::print_json(&json!({ "seed": seed.as_str(), "identity": id.to_string() }));
            } else {
                println!("seed:     {}\nidentity: {id}", seed.as_str());
            }
        }
    }
    Ok(())
}

//! `comqute keys …`

use std::path::PathBuf;

use anyhow::{anyhow, Context, Result};
use clap::Subcommand;
use comqute_ledger::{Seed, Signer};
use serde_json::json;

use super::global::Global;

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
    /// Makes a new random seed. With `--out`, writes it to a key file (mode 0600, never
    /// overwritten) and prints only the identity; without, prints the seed and its identity
    /// (keep the seed secret).
    New {
        /// The key file to write.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Print `{"identity": …}` (with `--out`) or `{"seed": …, "identity": …}`.
        #[arg(long)]
        json: bool,
    },
    /// Prints the identity of a key file (default: `--key`).
    Show {
        /// The key file.
        file: Option<PathBuf>,
        /// Print `{"identity": …}`.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a key command.
pub fn run(g: &Global, c: KeysCommand) -> Result<()> {
    match c {
        KeysCommand::FromSeed { seed, json } => {
            let seed = Seed::new(seed.trim()).context("reading the seed")?;
            let id = comqute_sdk::keys::key_from_seed(seed.as_str(), g.profile)?.identity();
            if json {
                super::print_json(&json!({ "identity": id.to_string() }));
            } else {
                println!("{id}");
            }
        }
        KeysCommand::New {
            out: Some(path),
            json,
        } => {
            let seed = comqute_sdk::new_seed()?;
            let id = comqute_sdk::keys::write_key_file_in(&path, &seed, g.profile)?;
            if json {
                super::print_json(&json!({ "identity": id.to_string() }));
            } else {
                println!("{id}\n(key written to {})", path.display());
            }
        }
        KeysCommand::Show { file, json } => {
            let path = file
                .or_else(|| g.key.clone())
                .ok_or_else(|| anyhow!("give a key file, --key FILE or COMQUTE_KEY"))?;
            let id = comqute_sdk::keys::read_key_in(&path, g.profile)?.identity();
            if json {
                super::print_json(&json!({ "identity": id.to_string() }));
            } else {
                println!("{id}");
            }
        }
        KeysCommand::New { out: None, json } => {
            let seed = comqute_sdk::new_seed()?;
            let id = comqute_sdk::keys::key_from_seed(seed.as_str(), g.profile)?.identity();
            if json {
                super::print_json(&json!({ "seed": seed.as_str(), "identity": id.to_string() }));
            } else {
                println!("seed:     {}\nidentity: {id}", seed.as_str());
            }
        }
    }
    Ok(())
}

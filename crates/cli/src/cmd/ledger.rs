//! `comqute ledger verify DIR` and `comqute ledger export DIR [--tick N]`: offline tools on a
//! node's data directory, also given as `--data-dir DIR` as `comqute node` takes it. The directory stores no code, so they use the contracts of the
//! node's genesis: the marketplace with the settings the node recorded in the directory
//! (`market.json`, defaults when absent) and the example contracts. A directory made with
//! other contracts is refused with the mismatch named.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use comqute_ledger::durable;
use comqute_qpi::contract::Contract;
use comqute_qpi::Tick;

/// Ledger tools.
#[derive(Subcommand)]
pub enum LedgerCommand {
    /// Replays the whole log from genesis, checks every tick's digest and every snapshot;
    /// exits non-zero on any mismatch, damage, torn tail or bad snapshot.
    Verify {
        #[command(flatten)]
        dir: DataDir,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Prints the state as JSON: balances with their counters and every contract's state.
    Export {
        #[command(flatten)]
        dir: DataDir,
        /// The state after this tick (replays up to it); default: the latest.
        #[arg(long)]
        tick: Option<u32>,
    },
}

/// The node's data directory, given either way.
#[derive(Args)]
#[group(required = true, multiple = false)]
pub struct DataDir {
    /// The node's data directory (or give it as --data-dir DIR, as to `comqute node`).
    #[arg(value_name = "DIR")]
    dir: Option<PathBuf>,
    /// The node's data directory, as `comqute node --data-dir DIR` was given it.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

impl DataDir {
    fn path(self) -> Result<PathBuf> {
        self.dir
            .or(self.data_dir)
            .context("give the node's data directory: DIR or --data-dir DIR")
    }
}

fn contracts(dir: &std::path::Path) -> Result<Vec<Arc<dyn Contract>>> {
    let market = comqute_node::genesis::GenesisRecord::new(dir)
        .read()?
        .unwrap_or_default();
    let genesis = comqute_node::market_genesis(&market)
        .build()
        .context("building the node's genesis")?;
    Ok(genesis.registry().ascending().cloned().collect())
}

/// Runs a ledger tool.
pub fn run(c: LedgerCommand) -> Result<()> {
    match c {
        LedgerCommand::Verify { dir, json } => {
            let dir = dir.path()?;
            let report = durable::verify(&dir, &contracts(&dir)?)
                .with_context(|| format!("verifying {}", dir.display()))?;
            let v = report.to_json();
            if json {
                super::print_json(&v);
            } else {
                println!("{}", serde_json::to_string_pretty(&v)?);
            }
            if !report.is_clean() {
                bail!("{} is not clean: see the report above", dir.display());
            }
            Ok(())
        }
        LedgerCommand::Export { dir, tick } => {
            let dir = dir.path()?;
            let v = durable::export(&dir, &contracts(&dir)?, tick.map(Tick))
                .with_context(|| format!("exporting {}", dir.display()))?;
            println!("{}", serde_json::to_string_pretty(&v)?);
            Ok(())
        }
    }
}

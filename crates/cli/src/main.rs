//! `comqute`: the command line of comqute. Each subcommand lives in its own module under
//! `cmd/`; clap arguments are turned into a validated request there, then run. Errors print
//! as one line on stderr and exit non-zero.

mod cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// comqute: a Qubic-style ledger emulator and marketplace for LLM inference.
#[derive(Parser)]
#[command(name = "comqute", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Seeds, key files and identities.
    #[command(subcommand)]
    Keys(cmd::keys::KeysCommand),
    /// Transactions on the wire.
    #[command(subcommand)]
    Tx(cmd::tx::TxCommand),
    /// Offline tools on a node's data directory.
    #[command(subcommand)]
    Ledger(cmd::ledger::LedgerCommand),
    /// Runs a node: the ledger ticking in real time behind the HTTP API.
    Node(cmd::node::NodeArgs),
    /// A scripted devnet run on an embedded ledger: transfers, an example contract, ticks,
    /// receipts and digests. Ends by itself.
    Demo(cmd::demo::DemoArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Keys(c) => cmd::keys::run(c),
        Command::Tx(c) => cmd::tx::run(c),
        Command::Demo(a) => cmd::demo::run(a),
        Command::Node(a) => cmd::node::run(a),
        Command::Ledger(c) => cmd::ledger::run(c),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", format!("{e:#}").replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}

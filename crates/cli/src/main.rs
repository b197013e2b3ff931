//! `comqute`: the command line of comqute. Each subcommand lives in its own module under
//! `cmd/`; clap arguments are turned into a validated request there, then run. Errors print
//! as one line on stderr and exit non-zero.

#[cfg(feature = "bench")]
mod alloc;
mod cmd;

/// Counts live heap bytes for `comqute bench ledger` (feature `bench`; without it the
/// binary uses the system allocator as is, with nothing added per allocation).
#[cfg(feature = "bench")]
#[global_allocator]
static ALLOC: alloc::Counting = alloc::Counting;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

/// comqute: a Qubic-style ledger emulator and marketplace for LLM inference.
#[derive(Parser)]
#[command(name = "comqute", version, about, propagate_version = true)]
struct Cli {
    #[command(flatten)]
    global: cmd::global::Global,
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
    /// Models on an inference backend: list, pull.
    #[command(subcommand)]
    Models(cmd::models::ModelsCommand),
    /// The marketplace end to end on this machine: an embedded node, a worker on Ollama, the
    /// built-in model or a labelled stand-in, requesters, streamed tokens, payouts. Ends by
    /// itself.
    Demo(cmd::demo::DemoArgs),
    /// The node's last processed tick.
    Tick(cmd::chain::TickArgs),
    /// Marketplace statistics: jobs per status, money, workers.
    Stats(cmd::chain::StatsArgs),
    /// The models the market serves, from the chain: workers, price range, speed.
    Market(cmd::chain::MarketArgs),
    /// An identity's balance.
    Balance(cmd::chain::BalanceArgs),
    /// Creates money for an identity (devnet nodes only).
    Faucet(cmd::chain::FaucetArgs),
    /// Sends money, signed with `--key`.
    Transfer(cmd::chain::TransferArgs),
    /// A worker's registration, capabilities and stake.
    #[command(subcommand)]
    Worker(cmd::worker::WorkerCommand),
    /// One local generation on the built-in model, streamed to stdout.
    Infer(cmd::infer::InferArgs),
    /// Benchmarks measured in one run on this machine.
    #[cfg(feature = "bench")]
    #[command(subcommand)]
    Bench(cmd::bench::BenchCommand),
    /// Inference jobs: submit, follow, fetch results.
    #[command(subcommand)]
    Job(cmd::job::JobCommand),
    /// Compute pools: create, join, leave, claim, list, show.
    #[command(subcommand)]
    Pool(cmd::pool::PoolCommand),
    /// The contracts of the node's genesis: procedures, functions, input and output types.
    Contracts(cmd::contract::ContractsArgs),
    /// Calls any contract's procedure by name with a JSON input, signed with `--key`.
    Call(cmd::contract::CallArgs),
    /// Runs any contract's function by name with a JSON input; prints the output as JSON.
    Query(cmd::contract::QueryArgs),
}

/// Lets a closed stdout end a command quietly, as it ends any unix filter. The Rust runtime
/// ignores SIGPIPE, so a write to a pipe whose reader has gone (`comqute job list | head -1`)
/// fails instead, and `println!` panics on the failure (exit 101, "failed printing to
/// stdout"); with the default disposition the process ends on SIGPIPE, whatever prints.
///
/// The processes that keep running and hold HTTP connections keep SIGPIPE ignored: `node`,
/// `demo` (a node in the process), `bench node`, `bench abuse`, `worker run` and `worker setup`. hyper writes responses and
/// requests with `writev`, which raises SIGPIPE on Linux when the peer has hung up, so with
/// the default a client that disconnects mid-answer (or a node restarting under a worker)
/// would kill the process instead of failing one request.
#[cfg(unix)]
#[allow(unsafe_code)]
fn restore_sigpipe(m: &clap::ArgMatches) {
    let long_running = match m.subcommand() {
        Some(("node" | "demo", _)) => true,
        #[cfg(feature = "bench")]
        Some(("bench", b)) => matches!(b.subcommand_name(), Some("node" | "abuse")),
        // `worker setup` may end by running the daemon in this process.
        Some(("worker", w)) => matches!(w.subcommand_name(), Some("run" | "setup")),
        _ => false,
    };
    if long_running {
        return;
    }
    // SAFETY: called from `main` before any other thread exists (argument parsing starts
    // none); it sets one signal's disposition to the default, with no handler of ours.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    #[cfg(unix)]
    restore_sigpipe(&matches);
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    // Which settings the command line gave: a worker config file gives way to them.
    let on_command_line =
        |id: &str| matches.value_source(id) == Some(clap::parser::ValueSource::CommandLine);
    cli.global.node_given = on_command_line("node");
    cli.global.key_given = on_command_line("key");
    // Identities and ids print and parse with the profile's checksum from here on.
    comqute_qpi::profile::set_display(cli.global.profile);
    if let Command::Worker(cmd::worker::WorkerCommand::Run(a)) = &mut cli.command {
        if let Some(run) = matches
            .subcommand_matches("worker")
            .and_then(|w| w.subcommand_matches("run"))
        {
            a.given = cmd::worker_config::given_on_command_line(run);
        }
    }
    let talks_to_node = matches!(
        cli.command,
        Command::Tick(_)
            | Command::Stats(_)
            | Command::Balance(_)
            | Command::Faucet(_)
            | Command::Transfer(_)
            | Command::Worker(_)
            | Command::Job(_)
            | Command::Pool(_)
            | Command::Contracts(_)
            | Command::Call(_)
            | Command::Query(_)
    );
    let result = match cli.command {
        Command::Keys(c) => cmd::keys::run(&cli.global, c),
        Command::Tx(c) => cmd::tx::run(c),
        Command::Demo(a) => cmd::demo::run(a),
        Command::Node(a) => cmd::node::run(a),
        Command::Ledger(c) => cmd::ledger::run(c),
        Command::Models(c) => cmd::models::run(c),
        Command::Tick(a) => cmd::chain::tick(&cli.global, a),
        Command::Stats(a) => cmd::chain::stats(&cli.global, a),
        Command::Market(a) => cmd::chain::market(&cli.global, a),
        Command::Balance(a) => cmd::chain::balance(&cli.global, a),
        Command::Faucet(a) => cmd::chain::faucet(&cli.global, a),
        Command::Transfer(a) => cmd::chain::transfer(&cli.global, a),
        Command::Worker(c) => cmd::worker::run(&cli.global, c),
        Command::Job(c) => cmd::job::run(&cli.global, c),
        Command::Pool(c) => cmd::pool::run(&cli.global, c),
        Command::Contracts(a) => cmd::contract::contracts(&cli.global, a),
        Command::Call(a) => cmd::contract::call(&cli.global, a),
        Command::Query(a) => cmd::contract::query(&cli.global, a),
        #[cfg(feature = "bench")]
        Command::Bench(c) => cmd::bench::run(c),
        Command::Infer(a) => cmd::infer::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let unreachable = talks_to_node.then(|| node_not_answering(&e)).flatten();
            match unreachable {
                Some(detail) => eprintln!(
                    "error: the node at {} is not answering ({detail}); start one with \
                     `comqute node --devnet`, or pass --node URL / set COMQUTE_NODE",
                    cli.global.node
                ),
                None => eprintln!("error: {}", format!("{e:#}").replace('\n', " ")),
            }
            ExitCode::FAILURE
        }
    }
}

/// Why `--node` gave no answer, when an error comes down to that: the SDK's transport error
/// anywhere in the chain (its text is the short reason, "connection refused").
fn node_not_answering(e: &anyhow::Error) -> Option<String> {
    e.chain()
        .find_map(|c| match c.downcast_ref::<comqute_sdk::SdkError>() {
            Some(comqute_sdk::SdkError::Http(detail)) => Some(detail.clone()),
            _ => None,
        })
}

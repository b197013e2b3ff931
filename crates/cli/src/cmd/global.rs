//! The options every command shares (`--node`, `--key`) and the helpers built on them: the
//! SDK client, the signing key, a runtime for the async SDK.

use std::future::Future;
use std::path::PathBuf;

use anyhow::{anyhow, Context, Result};
use clap::Args;
use comqute_sdk::{Client, Identity, Keypair};

/// Options shared by every command.
#[derive(Args, Clone, Debug)]
pub struct Global {
    /// The node to talk to.
    #[arg(
        long,
        global = true,
        env = "COMQUTE_NODE",
        default_value = "http://127.0.0.1:8080",
        value_name = "URL"
    )]
    pub node: String,
    /// The key file to sign with (`comqute keys new --out FILE` makes one).
    #[arg(long, global = true, env = "COMQUTE_KEY", value_name = "FILE")]
    pub key: Option<PathBuf>,
}

impl Global {
    /// A client of `--node`.
    pub fn client(&self) -> Result<Client> {
        Client::remote(&self.node).with_context(|| format!("node {}", self.node))
    }

    /// The key of `--key`.
    pub fn keypair(&self) -> Result<Keypair> {
        let path = self.key.as_ref().ok_or_else(|| {
            anyhow!("this command signs a transaction: pass --key FILE or set COMQUTE_KEY")
        })?;
        Ok(comqute_sdk::keys::read_key_file(path)?)
    }
}

/// Runs an async SDK call to completion on a small runtime of its own.
pub fn block_on<F: Future>(f: F) -> Result<F::Output> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    Ok(rt.block_on(f))
}

/// Parses an identity argument.
pub fn identity(s: &str) -> Result<Identity> {
    s.trim()
        .parse()
        .map_err(|e| anyhow!("bad identity {s:?}: {e}"))
}

/// Parses an amount argument (a whole number between 1 and 10^15).
pub fn amount(s: &str) -> Result<comqute_sdk::Amount> {
    let n: i64 = s
        .trim()
        .parse()
        .map_err(|_| anyhow!("bad amount {s:?}: expected a whole number"))?;
    if !(1..=comqute_sdk::contracts::MAX_AMOUNT).contains(&n) {
        return Err(anyhow!("bad amount {s:?}: must be between 1 and 10^15"));
    }
    Ok(comqute_sdk::Amount(n))
}

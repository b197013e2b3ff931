//! The options every command shares (`--node`, `--key`) and the helpers built on them: the
//! SDK client, the signing key, a runtime for the async SDK.

use std::future::Future;
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};
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
    /// Refuse a key file that others can read (without it: a warning).
    #[arg(
        long,
        global = true,
        env = "COMQUTE_STRICT",
        value_parser = clap::builder::FalseyValueParser::new()
    )]
    pub strict: bool,
    /// The crypto and wire profile: `comqute` (blake3, ed25519) or `qubic` (Qubic's own K12
    /// and SchnorrQ on FourQ: identities, signatures and transaction ids as Qubic's wallets
    /// make them). A node keeps the profile its data directory was made with.
    #[arg(
        long,
        global = true,
        env = "COMQUTE_PROFILE",
        default_value = "comqute",
        value_name = "PROFILE"
    )]
    pub profile: comqute_qpi::Profile,
    /// Whether `--node` was on the command line (a config file's `node` gives way to it,
    /// and wins over `COMQUTE_NODE` and the default). Set by `main`.
    #[arg(skip)]
    pub node_given: bool,
    /// Whether `--key` was on the command line (the same for a config file's `key`).
    #[arg(skip)]
    pub key_given: bool,
}

impl Global {
    /// A client of `--node`.
    pub fn client(&self) -> Result<Client> {
        Client::remote(&self.node).with_context(|| format!("node {}", self.node))
    }

    /// The key of `--key`. A file that others can read is warned about on stderr, as ssh
    /// does, and refused under `--strict`.
    pub fn keypair(&self) -> Result<Keypair> {
        if self.profile != comqute_qpi::Profile::Comqute {
            bail!(
                "this command signs in the comqute profile only; with --profile {} the CLI \
                 runs keys, tx decode, transfer, balance, faucet and tick",
                self.profile
            );
        }
        let path = self.key_path()?;
        Ok(comqute_sdk::keys::read_key_file(path)?)
    }

    /// The key of `--key` in `--profile` (what `transfer` signs with).
    pub fn signer(&self) -> Result<comqute_sdk::keys::AnyKey> {
        let path = self.key_path()?;
        Ok(comqute_sdk::keys::read_key_in(path, self.profile)?)
    }

    /// `--key`'s path, its permissions checked.
    fn key_path(&self) -> Result<&std::path::Path> {
        let path = self.key.as_ref().ok_or_else(|| {
            anyhow!("this command signs a transaction: pass --key FILE or set COMQUTE_KEY")
        })?;
        if let Some(mode) = comqute_sdk::keys::key_file_exposure(path)? {
            let p = path.display();
            let what = format!("key file {p} is readable by others (mode {mode:04o})");
            if self.strict {
                bail!("{what}; run chmod 600 {p} (refused under --strict / COMQUTE_STRICT)");
            }
            eprintln!("warning: {what}; run chmod 600 {p}");
        }
        Ok(path)
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
    let t = s.trim();
    let (negative, digits) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(anyhow!("bad amount {s:?}: expected a whole number"));
    }
    if negative || digits.bytes().all(|b| b == b'0') {
        return Err(anyhow!("bad amount {s:?}: must be positive"));
    }
    // Digits only: a number too long for an i64 is far above the maximum too.
    match digits.parse::<i64>() {
        Ok(n) if n <= comqute_sdk::qpi::MAX_AMOUNT => Ok(comqute_sdk::Amount(n)),
        _ => Err(anyhow!("bad amount {s:?}: too large, at most 10^15")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_out_of_range_say_which_way() {
        let err = |s: &str| amount(s).unwrap_err().to_string();
        assert_eq!(
            err("99999999999999999999"),
            r#"bad amount "99999999999999999999": too large, at most 10^15"#
        );
        assert_eq!(
            err("1000000000000001"),
            r#"bad amount "1000000000000001": too large, at most 10^15"#
        );
        assert_eq!(err("-5"), r#"bad amount "-5": must be positive"#);
        assert_eq!(
            err("-99999999999999999999"),
            r#"bad amount "-99999999999999999999": must be positive"#
        );
        assert_eq!(err("0"), r#"bad amount "0": must be positive"#);
        assert_eq!(err("1.5"), r#"bad amount "1.5": expected a whole number"#);
        assert_eq!(err("ten"), r#"bad amount "ten": expected a whole number"#);
        assert_eq!(err("-"), r#"bad amount "-": expected a whole number"#);
        assert_eq!(amount(" 250 ").unwrap().0, 250);
        assert_eq!(amount("+7").unwrap().0, 7);
        assert_eq!(
            amount("1000000000000000").unwrap().0,
            comqute_sdk::qpi::MAX_AMOUNT
        );
    }
}

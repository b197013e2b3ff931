//! The backend factory: what a worker runs on, built from a [`BackendSpec`] (`comqute worker
//! run`), or the first of several candidates that works ([`pick_first`], the demo), and the
//! built-in model loaded from its installed file or a GGUF path ([`load_builtin`], also used
//! by `comqute infer`, `comqute bench inference` and the replay verifier).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use comqute_inference::builtin::{BuiltinBackend, BuiltinModel, LoadOptions};
use comqute_inference::install::{self, InstallEvent};
use comqute_inference::{
    Backend, HttpOptions, InferenceError, OllamaBackend, OpenAiBackend, StandInBackend,
};
use tracing::{info, warn};

use crate::WorkerError;

/// The kinds of backend a worker can run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum BackendKind {
    /// An Ollama server (`--ollama URL`).
    Ollama,
    /// An OpenAI-compatible server: llama.cpp's server, vLLM (`--openai URL`).
    Openai,
    /// The built-in Gemma 3 runtime, in this process (`comqute models install gemma3:270m`).
    Builtin,
    /// A deterministic stand-in that is NOT a language model (for tests and demos).
    StandIn,
}

/// Where the model runs.
#[derive(Clone, Debug, Default)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
pub struct BackendSpec {
    /// The backend (default: ollama, or what `--ollama`/`--openai` imply).
    #[cfg_attr(feature = "clap", arg(long, value_enum))]
    pub backend: Option<BackendKind>,
    /// An Ollama server's URL.
    #[cfg_attr(
        feature = "clap",
        arg(
            long,
            value_name = "URL",
            conflicts_with = "openai",
            alias = "ollama-url"
        )
    )]
    pub ollama: Option<String>,
    /// An OpenAI-compatible server's base URL (`http://127.0.0.1:8081`).
    #[cfg_attr(feature = "clap", arg(long, value_name = "URL", alias = "openai-url"))]
    pub openai: Option<String>,
    /// Bearer key for the OpenAI-compatible server.
    #[cfg_attr(
        feature = "clap",
        arg(long, env = "OPENAI_API_KEY", hide_env_values = true)
    )]
    pub api_key: Option<String>,
    /// The built-in runtime's GGUF file (default: the installed model).
    #[cfg_attr(feature = "clap", arg(long, value_name = "FILE"))]
    pub gguf: Option<PathBuf>,
    /// Threads for the built-in runtime's kernels (output is the same for any count).
    #[cfg_attr(feature = "clap", arg(long))]
    pub threads: Option<usize>,
}

impl BackendSpec {
    /// The kind of backend meant: `backend` if given (it must agree with a URL given), else
    /// what the URL given implies, else Ollama.
    pub fn kind(&self) -> Result<BackendKind, WorkerError> {
        let implied = match (&self.ollama, &self.openai) {
            (Some(_), _) => Some(BackendKind::Ollama),
            (_, Some(_)) => Some(BackendKind::Openai),
            _ => None,
        };
        match (self.backend, implied) {
            (Some(b), Some(i)) if b != i => Err(WorkerError::BackendContradiction { kind: b }),
            (Some(b), _) => Ok(b),
            (None, Some(i)) => Ok(i),
            (None, None) => Ok(BackendKind::Ollama),
        }
    }

    /// Builds the backend. `models` are the names asked for (the built-in runtime serves
    /// one, `gemma3:270m` by default; the stand-in serves exactly these). The built-in model
    /// is loaded here (seconds); an HTTP backend is not contacted yet.
    pub fn build(&self, models: &[String]) -> Result<Arc<dyn Backend>, WorkerError> {
        Ok(match self.kind()? {
            BackendKind::Ollama => {
                let url = self
                    .ollama
                    .clone()
                    .unwrap_or_else(comqute_inference::ollama::ollama_url_from_env);
                Arc::new(OllamaBackend::new(&url)?)
            }
            BackendKind::Openai => {
                let Some(url) = &self.openai else {
                    return Err(WorkerError::NoOpenAiUrl);
                };
                let mut b = OpenAiBackend::new(url)?;
                if let Some(k) = &self.api_key {
                    b = b.with_api_key(k.clone());
                }
                Arc::new(b)
            }
            BackendKind::Builtin => {
                let name = match models {
                    [] => "gemma3:270m",
                    [one] => one.as_str(),
                    _ => return Err(WorkerError::BuiltinServesOne),
                };
                let spec = install::find_model(name)?;
                let model = load_builtin(spec.name, self.gguf.as_deref(), self.threads)?;
                Arc::new(BuiltinBackend::new(spec.name, model))
            }
            BackendKind::StandIn => {
                let names = if models.is_empty() {
                    vec![comqute_inference::standin::MODEL.to_string()]
                } else {
                    models.to_vec()
                };
                let b = StandInBackend::new(names)?;
                warn!("running on the stand-in: a deterministic hash, NOT a language model");
                Arc::new(b)
            }
        })
    }
}

/// Loads the built-in model `model` (a name the built-in runtime knows) from `gguf`, or from
/// its installed file when `gguf` is `None` (not installing it: `comqute models install`
/// does), with `threads` for its kernels. Blocking: seconds of reading and repacking.
pub fn load_builtin(
    model: &str,
    gguf: Option<&Path>,
    threads: Option<usize>,
) -> Result<BuiltinModel, WorkerError> {
    let path = install::resolve_model(model, gguf, false, &mut |_| {})?;
    info!(path = %path.display(), "loading the built-in model");
    let m = BuiltinModel::load_with(&path, &LoadOptions { threads }).map_err(|source| {
        WorkerError::LoadModel {
            path,
            source: Box::new(source),
        }
    })?;
    info!(load = ?m.load_duration(), "built-in model loaded");
    Ok(m)
}

/// [`load_builtin`] on a blocking thread, for async callers.
pub(crate) async fn load_builtin_blocking(
    model: &'static str,
    gguf: Option<PathBuf>,
    threads: Option<usize>,
) -> Result<BuiltinModel, WorkerError> {
    tokio::task::spawn_blocking(move || load_builtin(model, gguf.as_deref(), threads))
        .await
        .map_err(|source| WorkerError::Thread {
            what: "loading",
            source,
        })?
}

/// A backend picked by [`pick_first`], with the model to serve on it and how to name it
/// wherever it shows.
pub struct Picked {
    /// The backend.
    pub backend: Arc<dyn Backend>,
    /// The model to serve, by the backend's name.
    pub model: String,
    /// One line for people: what it is and where.
    pub label: String,
    /// Whether it is the stand-in (not a language model): everything it produces must say so.
    pub stand_in: bool,
}

/// A backend [`pick_first`] may try.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Candidate {
    /// An Ollama at this URL that answers (within seconds) with a model that can generate:
    /// the smallest one is served.
    Ollama(String),
    /// The built-in Gemma 3 270M, installed first when it is missing and pip is there.
    Builtin,
    /// The stand-in, serving `stand-in:demo` with a delay per token so that it streams.
    StandIn,
}

/// What [`pick_first`] reports as it goes.
#[derive(Debug)]
pub enum PickEvent<'a> {
    /// A candidate does not work; the next one (if any) is tried.
    Unavailable {
        /// The candidate.
        candidate: &'a Candidate,
        /// Why not.
        error: &'a WorkerError,
    },
    /// The built-in model is being installed with pip.
    Installing {
        /// The model.
        model: &'static str,
        /// Its size in bytes.
        size: u64,
    },
    /// Progress of that installation.
    Install(&'a InstallEvent),
}

/// The first of `candidates` that works, telling `on` what happens; the last candidate's
/// error when none does.
pub async fn pick_first<F>(candidates: &[Candidate], on: F) -> Result<Picked, WorkerError>
where
    F: FnMut(PickEvent<'_>) + Send + 'static,
{
    let on = Reporter(Arc::new(std::sync::Mutex::new(on)));
    let mut last = WorkerError::NothingToPick;
    for c in candidates {
        let tried = match c {
            Candidate::Ollama(url) => try_ollama(url).await,
            Candidate::Builtin => try_builtin(&on).await,
            Candidate::StandIn => stand_in(),
        };
        match tried {
            Ok(p) => return Ok(p),
            Err(error) => {
                on.report(PickEvent::Unavailable {
                    candidate: c,
                    error: &error,
                });
                last = error;
            }
        }
    }
    Err(last)
}

/// [`pick_first`]'s callback, shared with the thread that installs the built-in model.
struct Reporter<F>(Arc<std::sync::Mutex<F>>);

impl<F: FnMut(PickEvent<'_>)> Reporter<F> {
    fn report(&self, ev: PickEvent<'_>) {
        // A poisoned lock only means the callback panicked before; it is called as is.
        let mut f = self.0.lock().unwrap_or_else(|p| p.into_inner());
        f(ev);
    }
}

/// An Ollama that answers with a model that can generate (not an embedding model); the
/// smallest is picked.
async fn try_ollama(url: &str) -> Result<Picked, WorkerError> {
    let opts = HttpOptions {
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(5),
        retries: 0,
        ..HttpOptions::default()
    };
    let o = OllamaBackend::with_options(url, opts)?;
    let mut models = o.tags().await.map_err(|e| match e {
        InferenceError::Unreachable { .. } => WorkerError::NoOllama { url: url.into() },
        detail => WorkerError::OllamaBadAnswer {
            url: url.into(),
            detail: Box::new(detail),
        },
    })?;
    models.retain(|m| !m.name.contains("embed"));
    models.sort_by_key(|m| m.size.unwrap_or(u64::MAX));
    let Some(m) = models.first() else {
        return Err(WorkerError::OllamaHasNoModel { url: url.into() });
    };
    let version = o.version().await.unwrap_or_else(|_| "?".into());
    Ok(Picked {
        model: m.name.clone(),
        label: format!("Ollama {version} at {url}, model {}", m.name),
        backend: Arc::new(o),
        stand_in: false,
    })
}

/// The built-in model, installed first when missing (and pip is there).
async fn try_builtin<F>(on: &Reporter<F>) -> Result<Picked, WorkerError>
where
    F: FnMut(PickEvent<'_>) + Send + 'static,
{
    let spec = install::find_model("gemma3:270m")?;
    if install::installed_path(spec).is_none() {
        install::check_pip()?;
        on.report(PickEvent::Installing {
            model: spec.name,
            size: spec.size,
        });
        let progress = Reporter(on.0.clone());
        tokio::task::spawn_blocking(move || {
            install::install(spec, &mut |ev| progress.report(PickEvent::Install(&ev)))
        })
        .await
        .map_err(|source| WorkerError::Thread {
            what: "installing",
            source,
        })??;
    }
    let model = load_builtin_blocking(spec.name, None, None).await?;
    let label = format!(
        "built-in Gemma 3 270M on candle, in this process (loaded in {:.1} s)",
        model.load_duration().as_secs_f64()
    );
    Ok(Picked {
        backend: Arc::new(BuiltinBackend::new(spec.name, model)),
        model: spec.name.to_string(),
        label,
        stand_in: false,
    })
}

/// The stand-in, labelled as such, streaming a piece every 15 ms.
fn stand_in() -> Result<Picked, WorkerError> {
    let model = "stand-in:demo".to_string();
    Ok(Picked {
        backend: Arc::new(
            StandInBackend::new(vec![model.clone()])?.with_token_delay(Duration::from_millis(15)),
        ),
        model,
        label: "STAND-IN: a deterministic hash that is NOT a language model".into(),
        stand_in: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(
        backend: Option<BackendKind>,
        ollama: Option<&str>,
        openai: Option<&str>,
    ) -> BackendSpec {
        BackendSpec {
            backend,
            ollama: ollama.map(str::to_string),
            openai: openai.map(str::to_string),
            ..BackendSpec::default()
        }
    }

    #[test]
    fn the_kind_is_asked_for_or_implied_by_the_url_or_ollama() {
        let url = Some("http://127.0.0.1:1");
        assert_eq!(
            spec(None, None, None).kind().ok(),
            Some(BackendKind::Ollama)
        );
        assert_eq!(spec(None, None, url).kind().ok(), Some(BackendKind::Openai));
        assert_eq!(spec(None, url, None).kind().ok(), Some(BackendKind::Ollama));
        let b = Some(BackendKind::StandIn);
        assert_eq!(spec(b, None, None).kind().ok(), Some(BackendKind::StandIn));
        let e = spec(b, None, url).kind().unwrap_err();
        assert!(
            e.to_string().contains("--backend StandIn contradicts"),
            "{e}"
        );
    }

    #[test]
    fn what_cannot_be_built_says_why() {
        let openai = spec(Some(BackendKind::Openai), None, None);
        assert!(matches!(openai.build(&[]), Err(WorkerError::NoOpenAiUrl)));
        let builtin = spec(Some(BackendKind::Builtin), None, None);
        let two = ["a".to_string(), "b".to_string()];
        assert!(matches!(
            builtin.build(&two),
            Err(WorkerError::BuiltinServesOne)
        ));
        let stand_in = spec(Some(BackendKind::StandIn), None, None);
        match stand_in.build(&["gemma3:270m".into()]) {
            Err(e) => assert!(e.to_string().contains("not a language model"), "{e}"),
            Ok(_) => panic!("the stand-in took a real model's name"),
        }
        let b = stand_in.build(&[]).expect("the stand-in");
        assert_eq!(b.name(), "stand-in");
    }
}

//! The replay verifier: reruns a finished job on the built-in runtime and compares the
//! output's hash with the one its worker posted. Exact replay applies only when the posted
//! runtime fingerprint is the one this machine's runtime computes for the job's settings;
//! otherwise [`Replay::verdict`] says so instead of guessing.

use std::path::PathBuf;

use comqute_inference::builtin::BuiltinBackend;
use comqute_inference::{install, Backend, TokenSink};
use comqute_sdk::contracts::model_id;
use comqute_sdk::{Client, Hash32};

use crate::backend::load_builtin_blocking;
use crate::WorkerError;

/// How to run a replay.
#[derive(Clone, Debug, Default)]
pub struct ReplayOptions {
    /// Use this GGUF file instead of the installed model.
    pub gguf: Option<PathBuf>,
    /// Threads for the matrix kernels (output is the same for any count).
    pub threads: Option<usize>,
}

/// The rerun of a job, when exact replay applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rerun {
    /// The hash of the rerun's output.
    pub result_hash: Hash32,
    /// Its output tokens.
    pub output_tokens: u32,
}

/// What a replay found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replay {
    /// The job.
    pub job: u64,
    /// The built-in model it names.
    pub model: &'static str,
    /// The result hash its worker posted.
    pub posted_hash: Hash32,
    /// The runtime fingerprint its worker posted.
    pub posted_runtime: Hash32,
    /// The output tokens its worker posted.
    pub posted_output_tokens: u32,
    /// This machine's runtime fingerprint for the job's settings.
    pub runtime: Hash32,
    /// The rerun; `None` when exact replay does not apply (the fingerprints differ).
    pub rerun: Option<Rerun>,
}

impl Replay {
    /// Whether exact replay applies: the posted fingerprint is this machine's.
    pub fn exact(&self) -> bool {
        self.runtime == self.posted_runtime
    }

    /// Whether the rerun hashes to the posted result.
    pub fn matches(&self) -> bool {
        self.rerun
            .is_some_and(|r| r.result_hash == self.posted_hash)
    }

    /// `Ok` when the rerun reproduced the posted result; otherwise why not: another runtime
    /// ([`WorkerError::OtherRuntime`]) or another output ([`WorkerError::Mismatch`]).
    pub fn verdict(&self) -> Result<(), WorkerError> {
        match self.rerun {
            None => Err(WorkerError::OtherRuntime {
                job: self.job,
                posted: self.posted_runtime,
                here: self.runtime,
            }),
            Some(r) if r.result_hash != self.posted_hash => Err(WorkerError::Mismatch {
                job: self.job,
                replayed: r.result_hash,
                posted: self.posted_hash,
            }),
            Some(_) => Ok(()),
        }
    }
}

/// Replays job `id`: finds the built-in model it names, fetches its prompt, loads the model
/// and, when its runtime fingerprint is the posted one, reruns the job. Errors for what
/// stops the replay (no result yet, a model the built-in runtime does not have, a prompt or
/// model that cannot be had); a replay that ran but does not reproduce the result is an
/// `Ok` whose [`Replay::verdict`] says so.
pub async fn replay(client: &Client, id: u64, opts: &ReplayOptions) -> Result<Replay, WorkerError> {
    let job = client
        .jobs()
        .job(id)
        .await
        .map_err(WorkerError::chain("reading the job"))?;
    let posted = job.result.ok_or(WorkerError::NoResult {
        job: id,
        status: job.status.name(),
    })?;
    let spec = install::KNOWN_MODELS
        .iter()
        .find(|m| {
            model_id(m.name) == job.spec.model
                || m.aliases.iter().any(|al| model_id(al) == job.spec.model)
        })
        .ok_or_else(|| WorkerError::NotReplayable {
            job: id,
            model: job.spec.model,
            known: install::KNOWN_MODELS
                .iter()
                .map(|m| m.name)
                .collect::<Vec<_>>()
                .join(", "),
        })?;
    let prompt = client
        .get_blob(&job.spec.prompt_hash)
        .await
        .map_err(WorkerError::chain("fetching the job's prompt"))?;
    let model = load_builtin_blocking(spec.name, opts.gguf.clone(), opts.threads).await?;
    let backend = BuiltinBackend::new(spec.name, model);
    let req = comqute_inference::job::request_for_job(&job.spec, spec.name, &prompt)?;
    let runtime = backend.runtime(&req).fingerprint;
    let mut replay = Replay {
        job: id,
        model: spec.name,
        posted_hash: posted.result_hash,
        posted_runtime: posted.runtime,
        posted_output_tokens: posted.output_tokens,
        runtime,
        rerun: None,
    };
    if replay.exact() {
        let out = backend.generate(&req, TokenSink::discard()).await?;
        replay.rerun = Some(Rerun {
            result_hash: out.result_hash(),
            output_tokens: out.output_tokens,
        });
    }
    Ok(replay)
}

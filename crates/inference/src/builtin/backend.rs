//! The built-in model behind the [`Backend`] trait, so a worker serves it like Ollama: one
//! generation at a time on a blocking thread, pieces streamed to the sink as they become
//! certain, cancelled when the caller drops the future.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use comqute_qpi::Hash32;
use tokio::sync::Semaphore;

use super::{BuiltinModel, GenerateRequest as BuiltinRequest, ENGINE};
use crate::backend::{
    Backend, DoneReason, GenerateRequest, Generation, ModelInfo, RuntimeInfo, Timings, TokenCount,
    TokenSink,
};
use crate::InferenceError;

/// A loaded built-in model served under a name (`gemma3:270m`).
///
/// Generations run one at a time: the model already uses every core for one, so running two
/// together only makes both slower. Chat requests are flattened into a completion prompt
/// (the 270M model is a base model without a chat template).
#[derive(Clone)]
pub struct BuiltinBackend {
    name: String,
    model: Arc<BuiltinModel>,
    gate: Arc<Semaphore>,
}

impl std::fmt::Debug for BuiltinBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuiltinBackend")
            .field("name", &self.name)
            .field("model", &self.model)
            .finish()
    }
}

/// Sets a flag when dropped: the generation thread checks it after each piece.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

impl BuiltinBackend {
    /// Serves `model` under `name`.
    pub fn new(name: impl Into<String>, model: BuiltinModel) -> BuiltinBackend {
        BuiltinBackend {
            name: name.into(),
            model: Arc::new(model),
            gate: Arc::new(Semaphore::new(1)),
        }
    }

    /// The model.
    pub fn model(&self) -> &BuiltinModel {
        &self.model
    }

    /// The built-in request a backend request maps to.
    pub fn builtin_request(req: &GenerateRequest) -> BuiltinRequest {
        let prompt = match &req.messages {
            Some(m) => {
                crate::standin::chat_prompt(m.iter().map(|m| (m.role.as_str(), m.content.as_str())))
            }
            None => req.prompt.clone(),
        };
        BuiltinRequest {
            prompt,
            max_tokens: req.max_tokens,
            seed: req.seed,
            temperature_milli: req.temperature_milli,
            top_k: req.top_k,
            top_p_milli: req.top_p_milli,
            stop: req.stop.clone(),
        }
    }

    /// The runtime a request runs on: the engine's own fingerprint (model sha256, sampling
    /// settings, numerics revision, hardware class), with exact replay.
    pub fn runtime(&self, req: &GenerateRequest) -> RuntimeInfo {
        let b = Self::builtin_request(req);
        let d = self.model.runtime_description(b.sampling());
        RuntimeInfo {
            engine: ENGINE.to_string(),
            engine_version: d.engine_version.clone(),
            model: req.model.clone(),
            model_digest: format!("sha256:{}", hex::encode(self.model.sha256())),
            exact_replay: true,
            fingerprint: Hash32(self.model.fingerprint(b.sampling()).0),
        }
    }
}

#[async_trait]
impl Backend for BuiltinBackend {
    fn name(&self) -> &str {
        "builtin"
    }

    fn endpoint(&self) -> String {
        format!("in-process ({})", self.model.path().display())
    }

    async fn models(&self) -> Result<Vec<ModelInfo>, InferenceError> {
        let size = std::fs::metadata(self.model.path()).ok().map(|m| m.len());
        Ok(vec![ModelInfo {
            name: self.name.clone(),
            digest: Some(format!("sha256:{}", hex::encode(self.model.sha256()))),
            size,
            family: Some("gemma3".into()),
            parameter_size: None,
            quantization: None,
        }])
    }

    fn replay_runtime(&self, req: &GenerateRequest) -> Option<RuntimeInfo> {
        Some(self.runtime(req))
    }

    async fn generate(
        &self,
        req: &GenerateRequest,
        sink: TokenSink,
    ) -> Result<Generation, InferenceError> {
        req.validate()?;
        if req.model != self.name {
            return Err(InferenceError::UnknownModel {
                name: req.model.clone(),
                known: self.name.clone(),
            });
        }
        let started = Instant::now();
        // The semaphore is never closed, so acquiring only waits.
        let _turn = self
            .gate
            .acquire()
            .await
            .map_err(|_| InferenceError::Cancelled)?;
        let breq = Self::builtin_request(req);
        let runtime = self.runtime(req);
        let cancel = Arc::new(AtomicBool::new(false));
        let _guard = CancelOnDrop(cancel.clone());
        let model = self.model.clone();
        let first = Arc::new(std::sync::Mutex::new(None));
        let first_w = first.clone();
        let out = tokio::task::spawn_blocking(move || {
            model.generate(&breq, |piece| {
                if let Ok(mut f) = first_w.lock() {
                    f.get_or_insert_with(|| started.elapsed());
                }
                sink.send(piece);
                !cancel.load(Ordering::Relaxed)
            })
        })
        .await
        .map_err(|e| {
            InferenceError::InvalidRequest(format!("the generation thread died: {e}"))
        })??;
        let first_token = first.lock().ok().and_then(|f| *f);
        Ok(Generation {
            text: out.text,
            output_tokens: out.output_tokens,
            token_count: TokenCount::Reported,
            prompt_tokens: Some(out.prompt_tokens),
            done_reason: match out.done_reason {
                super::DoneReason::Stop => DoneReason::Stop,
                super::DoneReason::Length => DoneReason::Length,
            },
            timings: Timings {
                wall: started.elapsed(),
                first_token,
                total: None,
                load: None,
                prompt_eval: Some(out.prompt_duration),
                eval: Some(out.generation_duration),
            },
            runtime,
        })
    }
}

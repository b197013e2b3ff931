//! The Ollama backend: its native API over HTTP (`/api/generate`, `/api/chat`, `/api/tags`,
//! `/api/pull`, `/api/show`, `/api/version`), with the traps of
//! `shared/reference/inference.md` §3 handled:
//!
//! - sampling options go **inside** `options` (options outside it are silently ignored, and
//!   the seed with them), with `top_k` and `top_p` always sent so Ollama's defaults (40, 0.9)
//!   never apply;
//! - the stream is NDJSON whose chunks may end anywhere, even inside a UTF-8 character
//!   ([`crate::ndjson`]);
//! - zero metrics are omitted (`eval_count` absent means 0), `done_reason` may be missing on
//!   old servers;
//! - an `{"error": …}` line can arrive mid-stream under HTTP 200: a typed
//!   [`InferenceError::Stream`], never output;
//! - a model that is not pulled is a 404 (`model "x" not found, try pulling it first`):
//!   [`InferenceError::ModelNotFound`];
//! - 503 (queue full) and connection errors are retried with backoff, a bounded number of
//!   times, but only before any output arrived.
//!
//! Thinking models are asked not to think (`"think": false`); thinking text that arrives anyway
//! is not part of the output and is not hashed.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::time::Instant;

use crate::backend::{
    Backend, DoneReason, GenerateRequest, Generation, ModelInfo, RuntimeInfo, Timings, TokenCount,
    TokenSink,
};
use crate::http::{json_error_message, Http, HttpOptions, TimeoutPhase};
use crate::ndjson::{excerpt, NdjsonDecoder};
use crate::InferenceError;

/// Where Ollama listens by default.
pub const DEFAULT_OLLAMA_URL: &str = "http://localhost:11434";

/// The Ollama URL to use: `OLLAMA_URL` when set and not empty, else [`DEFAULT_OLLAMA_URL`].
pub fn ollama_url_from_env() -> String {
    std::env::var("OLLAMA_URL")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_OLLAMA_URL.to_string())
}

const BACKEND: &str = "ollama";
/// How long the engine version and model digests are cached for runtime fingerprints.
const RUNTIME_CACHE: Duration = Duration::from_secs(60);

/// One line of `/api/pull` progress.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PullProgress {
    /// `pulling manifest`, `pulling 6a0746a1ec1a`, `verifying sha256 digest`,
    /// `writing manifest`, `success`.
    pub status: String,
    /// The layer being downloaded (`sha256:…`).
    pub digest: Option<String>,
    /// The layer's size in bytes.
    pub total: Option<u64>,
    /// Bytes of the layer downloaded so far (absent while 0).
    pub completed: Option<u64>,
}

/// What `/api/show` says about a model.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ShowInfo {
    /// Family, parameter size and quantization (name and digest are not in `/api/show`).
    pub details: ModelInfo,
    /// The model's file format (`gguf`).
    pub format: Option<String>,
    /// `completion`, `tools`, `thinking`, `vision`, …
    pub capabilities: Vec<String>,
    /// The prompt template.
    pub template: Option<String>,
    /// The Modelfile parameters, one per line.
    pub parameters: Option<String>,
    /// The GGUF metadata (`general.architecture`, `…context_length`, …), as sent.
    pub model_info: Value,
}

#[derive(Default)]
struct RuntimeCache {
    version: Option<(Instant, String)>,
    digests: Option<(Instant, HashMap<String, String>)>,
}

/// The Ollama backend. Cheap to share behind an `Arc`; one connection pool per backend.
pub struct OllamaBackend {
    http: Http,
    cache: Mutex<RuntimeCache>,
}

impl std::fmt::Debug for OllamaBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OllamaBackend")
            .field("url", &self.http.base)
            .field("options", &self.http.opts)
            .finish()
    }
}

/// `name` with `:latest` added when it has no tag, as Ollama resolves it.
fn canonical_name(name: &str) -> String {
    let last = name.rsplit('/').next().unwrap_or(name);
    if last.contains(':') {
        name.to_string()
    } else {
        format!("{name}:latest")
    }
}

fn protocol(detail: impl Into<String>) -> InferenceError {
    InferenceError::Protocol {
        backend: BACKEND,
        detail: detail.into(),
    }
}

fn opt_str(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn model_info_from(v: &Value) -> Result<ModelInfo, InferenceError> {
    let name = v
        .get("name")
        .or_else(|| v.get("model"))
        .and_then(Value::as_str)
        .ok_or_else(|| {
            protocol(format!(
                "a model without a name: {}",
                excerpt(&v.to_string(), 200)
            ))
        })?;
    let details = v.get("details").cloned().unwrap_or(Value::Null);
    Ok(ModelInfo {
        name: name.to_string(),
        digest: opt_str(v, "digest"),
        size: v.get("size").and_then(Value::as_u64),
        family: opt_str(&details, "family"),
        parameter_size: opt_str(&details, "parameter_size"),
        quantization: opt_str(&details, "quantization_level"),
    })
}

/// One chunk of `/api/generate` or `/api/chat`. Every field but `done` may be missing: Ollama
/// omits zero metrics and empty reasons.
#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    response: Option<String>,
    #[serde(default)]
    message: Option<ChunkMessage>,
    done: bool,
    #[serde(default)]
    done_reason: Option<String>,
    #[serde(default)]
    total_duration: Option<u64>,
    #[serde(default)]
    load_duration: Option<u64>,
    #[serde(default)]
    prompt_eval_count: Option<u64>,
    #[serde(default)]
    prompt_eval_duration: Option<u64>,
    #[serde(default)]
    eval_count: Option<u64>,
    #[serde(default)]
    eval_duration: Option<u64>,
}

#[derive(Deserialize)]
struct ChunkMessage {
    #[serde(default)]
    content: Option<String>,
}

fn nanos(n: Option<u64>) -> Option<Duration> {
    n.filter(|&n| n > 0).map(Duration::from_nanos)
}

fn saturate(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl OllamaBackend {
    /// A backend for the Ollama at `url` (`http://host:11434`, or `host:port`), with the
    /// default [`HttpOptions`].
    pub fn new(url: &str) -> Result<OllamaBackend, InferenceError> {
        OllamaBackend::with_options(url, HttpOptions::default())
    }

    /// A backend with its own timeouts and retries.
    pub fn with_options(url: &str, opts: HttpOptions) -> Result<OllamaBackend, InferenceError> {
        Ok(OllamaBackend {
            http: Http::new(BACKEND, url, opts)?,
            cache: Mutex::new(RuntimeCache::default()),
        })
    }

    /// The base URL, normalised.
    pub fn url(&self) -> &str {
        &self.http.base
    }

    async fn get_json(&self, path: &str) -> Result<Value, InferenceError> {
        let url = self.http.url(path);
        match self.http.json(|| self.http.client.get(&url)).await? {
            Ok(v) => Ok(v),
            Err((status, message)) => Err(InferenceError::Http {
                backend: BACKEND,
                status: status.as_u16(),
                message,
            }),
        }
    }

    /// `GET /api/version`: the server's version.
    pub async fn version(&self) -> Result<String, InferenceError> {
        let v = self.get_json("/api/version").await?;
        let version = v
            .get("version")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                protocol(format!(
                    "/api/version without a version: {}",
                    excerpt(&v.to_string(), 200)
                ))
            })?
            .to_string();
        if let Ok(mut c) = self.cache.lock() {
            c.version = Some((Instant::now(), version.clone()));
        }
        Ok(version)
    }

    /// `GET /api/tags`: the models pulled on the server.
    pub async fn tags(&self) -> Result<Vec<ModelInfo>, InferenceError> {
        let v = self.get_json("/api/tags").await?;
        let list = v.get("models").and_then(Value::as_array).ok_or_else(|| {
            protocol(format!(
                "/api/tags without a models list: {}",
                excerpt(&v.to_string(), 200)
            ))
        })?;
        let models = list
            .iter()
            .map(model_info_from)
            .collect::<Result<Vec<_>, _>>()?;
        let digests = models
            .iter()
            .filter_map(|m| Some((canonical_name(&m.name), m.digest.clone()?)))
            .collect();
        if let Ok(mut c) = self.cache.lock() {
            c.digests = Some((Instant::now(), digests));
        }
        Ok(models)
    }

    /// `POST /api/show`: details of one model.
    pub async fn show(&self, model: &str) -> Result<ShowInfo, InferenceError> {
        let url = self.http.url("/api/show");
        let body = json!({ "model": model });
        let v = match self
            .http
            .json(|| self.http.client.post(&url).json(&body))
            .await?
        {
            Ok(v) => v,
            Err((status, message)) => return Err(self.status_error(status, message, model)),
        };
        if !v.is_object() {
            return Err(protocol(format!(
                "/api/show answered a non-object: {}",
                excerpt(&v.to_string(), 200)
            )));
        }
        let d = v.get("details").cloned().unwrap_or(Value::Null);
        Ok(ShowInfo {
            details: ModelInfo {
                name: model.to_string(),
                digest: None,
                size: None,
                family: opt_str(&d, "family"),
                parameter_size: opt_str(&d, "parameter_size"),
                quantization: opt_str(&d, "quantization_level"),
            },
            format: opt_str(&d, "format"),
            capabilities: v
                .get("capabilities")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
            template: opt_str(&v, "template"),
            parameters: opt_str(&v, "parameters"),
            model_info: v.get("model_info").cloned().unwrap_or(Value::Null),
        })
    }

    /// `POST /api/pull`: downloads a model, calling `on_progress` with every progress line.
    /// Succeeds only when the server says `success`.
    pub async fn pull(
        &self,
        model: &str,
        mut on_progress: impl FnMut(&PullProgress) + Send,
    ) -> Result<(), InferenceError> {
        if model.trim().is_empty() {
            return Err(InferenceError::InvalidRequest(
                "the model name is empty".into(),
            ));
        }
        let url = self.http.url("/api/pull");
        let body = json!({ "model": model, "stream": true });
        let started = Instant::now();
        let opts = &self.http.opts;
        let resp = self
            .http
            .send(
                || self.http.client.post(&url).json(&body),
                started + opts.first_token_timeout,
                TimeoutPhase::FirstToken,
                opts.first_token_timeout,
            )
            .await?;
        let status = resp.status();
        if !status.is_success() {
            let message = self.http.error_message(resp).await;
            return Err(InferenceError::Http {
                backend: BACKEND,
                status: status.as_u16(),
                message,
            });
        }
        let mut reader = self.http.body(resp, started);
        let mut dec = NdjsonDecoder::new(opts.max_line);
        let mut lines = 0u32;
        loop {
            let chunk = reader.next(0).await?;
            let values = match &chunk {
                Some(c) => dec.push(c),
                None => dec.finish().map(|v| v.into_iter().collect()),
            }
            .map_err(|e| protocol(e.to_string()))?;
            for v in values {
                reader.output_started();
                lines += 1;
                if let Some(message) = json_error_message(&v) {
                    return Err(InferenceError::Stream {
                        backend: BACKEND,
                        pieces: 0,
                        message,
                    });
                }
                let status = v.get("status").and_then(Value::as_str).ok_or_else(|| {
                    protocol(format!(
                        "a pull line without a status: {}",
                        excerpt(&v.to_string(), 200)
                    ))
                })?;
                let p = PullProgress {
                    status: status.to_string(),
                    digest: opt_str(&v, "digest"),
                    total: v.get("total").and_then(Value::as_u64),
                    completed: v.get("completed").and_then(Value::as_u64),
                };
                on_progress(&p);
                if p.status == "success" {
                    if let Ok(mut c) = self.cache.lock() {
                        c.digests = None;
                    }
                    return Ok(());
                }
            }
            if chunk.is_none() {
                return Err(InferenceError::Truncated {
                    backend: BACKEND,
                    pieces: lines,
                    detail: Some("the pull ended without `success`".into()),
                });
            }
        }
    }

    /// The error for a non-success answer about `model`.
    fn status_error(
        &self,
        status: reqwest::StatusCode,
        message: String,
        model: &str,
    ) -> InferenceError {
        // Ollama's 404 for a model is JSON with an `error` string; a 404 for the path itself
        // (not an Ollama server, e.g. llama.cpp's llama-server) is not.
        if status == reqwest::StatusCode::NOT_FOUND && message.to_lowercase().contains("model") {
            return InferenceError::ModelNotFound {
                backend: BACKEND,
                url: self.http.base.clone(),
                model: model.to_string(),
                message,
            };
        }
        let message = if status == reqwest::StatusCode::NOT_FOUND {
            format!("{message} (is {} an Ollama server?)", self.http.base)
        } else {
            message
        };
        InferenceError::Http {
            backend: BACKEND,
            status: status.as_u16(),
            message,
        }
    }

    /// Engine version and model digest for a fingerprint: cached for a minute, best effort
    /// (an unknown value is left empty, it never fails a generation).
    async fn runtime_for(&self, req: &GenerateRequest) -> RuntimeInfo {
        let now = Instant::now();
        let fresh = |t: Instant| now.duration_since(t) < RUNTIME_CACHE;
        let (mut version, mut digest) = (None, None);
        if let Ok(c) = self.cache.lock() {
            version = c
                .version
                .as_ref()
                .filter(|(t, _)| fresh(*t))
                .map(|(_, v)| v.clone());
            digest = c
                .digests
                .as_ref()
                .filter(|(t, _)| fresh(*t))
                .map(|(_, d)| d.get(&canonical_name(&req.model)).cloned());
        }
        let version = match version {
            Some(v) => v,
            None => self.version().await.unwrap_or_else(|e| {
                tracing::debug!(error = %e, "ollama version unknown");
                String::new()
            }),
        };
        let digest = match digest {
            Some(d) => d,
            None => match self.tags().await {
                Ok(models) => {
                    let want = canonical_name(&req.model);
                    models
                        .into_iter()
                        .find(|m| canonical_name(&m.name) == want)
                        .and_then(|m| m.digest)
                }
                Err(e) => {
                    tracing::debug!(error = %e, "ollama model digests unknown");
                    None
                }
            },
        };
        RuntimeInfo::describe(
            "ollama",
            &version,
            digest.as_deref().unwrap_or(""),
            false,
            req,
        )
    }

    /// The endpoint and JSON body of a generation.
    fn request_body(req: &GenerateRequest) -> (&'static str, Value) {
        let mut options = json!({
            "seed": req.backend_seed(),
            "temperature": req.temperature(),
            "num_predict": req.max_tokens,
            "top_k": req.top_k,
            "top_p": req.top_p(),
        });
        if !req.stop.is_empty() {
            options["stop"] = json!(req.stop);
        }
        match &req.messages {
            Some(messages) => {
                let messages: Vec<Value> = messages
                    .iter()
                    .map(|m| json!({ "role": m.role, "content": m.content }))
                    .collect();
                (
                    "/api/chat",
                    json!({
                        "model": req.model,
                        "messages": messages,
                        "stream": true,
                        "think": false,
                        "options": options,
                    }),
                )
            }
            None => (
                "/api/generate",
                json!({
                    "model": req.model,
                    "prompt": req.prompt,
                    "raw": req.raw,
                    "stream": true,
                    "think": false,
                    "options": options,
                }),
            ),
        }
    }
}

/// What a generation stream has delivered so far.
struct StreamState {
    chat: bool,
    text: String,
    pieces: u32,
    first_token: Option<Duration>,
    started: Instant,
}

impl StreamState {
    /// Handles one chunk; `Some(final chunk)` when it is the last.
    fn handle(&mut self, v: Value, sink: &TokenSink) -> Result<Option<Chunk>, InferenceError> {
        if let Some(message) = json_error_message(&v) {
            return Err(InferenceError::Stream {
                backend: BACKEND,
                pieces: self.pieces,
                message,
            });
        }
        let chunk: Chunk = serde_json::from_value(v.clone()).map_err(|e| {
            protocol(format!(
                "unexpected chunk ({e}): {}",
                excerpt(&v.to_string(), 200)
            ))
        })?;
        let piece = if self.chat {
            chunk.message.as_ref().and_then(|m| m.content.as_deref())
        } else {
            chunk.response.as_deref()
        }
        .unwrap_or("");
        if !piece.is_empty() {
            if self.first_token.is_none() {
                self.first_token = Some(self.started.elapsed());
            }
            self.pieces += 1;
            self.text.push_str(piece);
            sink.send(piece);
        }
        Ok(chunk.done.then_some(chunk))
    }
}

#[async_trait]
impl Backend for OllamaBackend {
    fn name(&self) -> &str {
        BACKEND
    }

    fn endpoint(&self) -> String {
        self.http.base.clone()
    }

    async fn models(&self) -> Result<Vec<ModelInfo>, InferenceError> {
        self.tags().await
    }

    async fn generate(
        &self,
        req: &GenerateRequest,
        sink: TokenSink,
    ) -> Result<Generation, InferenceError> {
        req.validate()?;
        let runtime = self.runtime_for(req).await;
        let (path, body) = OllamaBackend::request_body(req);
        let url = self.http.url(path);
        let opts = &self.http.opts;
        let started = Instant::now();
        let resp = self
            .http
            .send(
                || self.http.client.post(&url).json(&body),
                started + opts.first_token_timeout,
                TimeoutPhase::FirstToken,
                opts.first_token_timeout,
            )
            .await?;
        let status = resp.status();
        if !status.is_success() {
            let message = self.http.error_message(resp).await;
            return Err(self.status_error(status, message, &req.model));
        }
        let mut reader = self.http.body(resp, started);
        let mut dec = NdjsonDecoder::new(opts.max_line);
        let mut st = StreamState {
            chat: req.messages.is_some(),
            text: String::new(),
            pieces: 0,
            first_token: None,
            started,
        };
        let last = 'read: loop {
            let chunk = reader.next(st.pieces).await?;
            let values = match &chunk {
                Some(c) => dec.push(c),
                None => dec.finish().map(|v| v.into_iter().collect()),
            }
            .map_err(|e| protocol(e.to_string()))?;
            for v in values {
                if let Some(last) = st.handle(v, &sink)? {
                    break 'read last;
                }
            }
            if st.pieces > 0 {
                reader.output_started();
            }
            if chunk.is_none() {
                return Err(InferenceError::Truncated {
                    backend: BACKEND,
                    pieces: st.pieces,
                    detail: None,
                });
            }
        };
        let wall = started.elapsed();
        let (output_tokens, token_count) = match last.eval_count {
            Some(n) => (saturate(n), TokenCount::Reported),
            None if st.pieces == 0 => (0, TokenCount::Reported),
            None => (st.pieces, TokenCount::StreamedPieces),
        };
        let done_reason = match last.done_reason.as_deref() {
            Some(r) if !r.is_empty() => DoneReason::parse(r),
            _ if output_tokens >= req.max_tokens => DoneReason::Length,
            _ => DoneReason::Stop,
        };
        Ok(Generation {
            text: st.text,
            output_tokens,
            token_count,
            prompt_tokens: Some(saturate(last.prompt_eval_count.unwrap_or(0))),
            done_reason,
            timings: Timings {
                wall,
                first_token: st.first_token,
                total: nanos(last.total_duration),
                load: nanos(last.load_duration),
                prompt_eval: nanos(last.prompt_eval_duration),
                eval: nanos(last.eval_duration),
            },
            runtime,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::ChatMessage;

    #[test]
    fn options_go_inside_options() {
        let mut r = GenerateRequest::new("m", "hi", 7)
            .with_seed(42)
            .with_temperature_milli(700)
            .with_stop(vec!["\n\n".into()]);
        r.top_k = 20;
        r.top_p_milli = 900;
        let (path, body) = OllamaBackend::request_body(&r);
        assert_eq!(path, "/api/generate");
        assert_eq!(body["prompt"], "hi");
        assert_eq!(body["stream"], true);
        let o = &body["options"];
        assert_eq!(o["seed"], 42);
        assert_eq!(o["temperature"], 0.7);
        assert_eq!(o["num_predict"], 7);
        assert_eq!(o["top_k"], 20);
        assert_eq!(o["top_p"], 0.9);
        assert_eq!(o["stop"], json!(["\n\n"]));
        for k in [
            "seed",
            "temperature",
            "num_predict",
            "top_k",
            "top_p",
            "stop",
        ] {
            assert!(
                body.get(k).is_none(),
                "{k} outside options is ignored by Ollama"
            );
        }
        let (path, body) =
            OllamaBackend::request_body(&r.with_messages(vec![ChatMessage::user("yo")]));
        assert_eq!(path, "/api/chat");
        assert_eq!(body["messages"], json!([{"role": "user", "content": "yo"}]));
    }

    #[test]
    fn greedy_defaults_are_explicit() {
        let (_, body) = OllamaBackend::request_body(&GenerateRequest::new("m", "p", 1));
        assert_eq!(body["options"]["temperature"], 0.0);
        assert_eq!(body["options"]["top_k"], 0);
        assert_eq!(body["options"]["top_p"], 1.0);
        assert!(body["options"].get("stop").is_none());
    }

    #[test]
    fn names_resolve_like_ollama() {
        assert_eq!(canonical_name("llama3.2"), "llama3.2:latest");
        assert_eq!(canonical_name("llama3.2:1b"), "llama3.2:1b");
        assert_eq!(
            canonical_name("registry.local:5000/x/y"),
            "registry.local:5000/x/y:latest"
        );
    }
}

//! The OpenAI-compatible backend, for llama.cpp's `llama-server` and vLLM (and Ollama's `/v1`):
//! `POST /v1/chat/completions` (or `/v1/completions` for a raw prompt) streamed as server-sent
//! events ending with `data: [DONE]`, and `GET /v1/models`.
//!
//! - Output pieces are `choices[0].delta.content` (chat) or `choices[0].text` (completions).
//! - The token count is `usage.completion_tokens` (asked for with
//!   `stream_options.include_usage`; vLLM sends it in a last chunk with no choices, llama.cpp
//!   on the finishing chunk), else llama.cpp's `timings.predicted_n`, else the number of
//!   streamed pieces ([`TokenCount::StreamedPieces`]).
//! - Errors: an error status with `{"error": {"message": …}}`; mid-stream, llama.cpp's bare
//!   `error: {…}` event or a `data: {"error": …}` chunk → [`InferenceError::Stream`].
//! - `top_k` is sent as `-1` for "no limit" (what both llama.cpp and vLLM read as off);
//!   `seed` is the 32-bit [`GenerateRequest::backend_seed`].
//! - A stream that has delivered its `finish_reason` and then stalls or drops before
//!   `[DONE]` still counts as finished (some servers never send `[DONE]`).

use std::time::Duration;

use async_trait::async_trait;
use serde_json::{json, Value};
use tokio::time::Instant;

use crate::backend::{
    Backend, DoneReason, GenerateRequest, Generation, ModelInfo, RuntimeInfo, Timings, TokenCount,
    TokenSink,
};
use crate::http::{json_error_message, Http, HttpOptions, TimeoutPhase};
use crate::ndjson::{excerpt, SseDecoder};
use crate::InferenceError;

const BACKEND: &str = "openai";

/// An OpenAI-compatible server.
pub struct OpenAiBackend {
    http: Http,
    api_key: Option<String>,
}

impl std::fmt::Debug for OpenAiBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiBackend")
            .field("url", &self.http.base)
            .field("api_key", &self.api_key.as_ref().map(|_| "…"))
            .finish()
    }
}

fn protocol(detail: impl Into<String>) -> InferenceError {
    InferenceError::Protocol {
        backend: BACKEND,
        detail: detail.into(),
    }
}

fn ms(v: Option<&Value>) -> Option<Duration> {
    v.and_then(Value::as_f64)
        .filter(|m| m.is_finite() && *m > 0.0)
        .map(|m| Duration::from_secs_f64(m / 1000.0))
}

fn count(v: Option<&Value>) -> Option<u32> {
    v.and_then(Value::as_u64)
        .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
}

impl OpenAiBackend {
    /// A backend for the server at `url` (`http://127.0.0.1:8080`, with or without `/v1`).
    pub fn new(url: &str) -> Result<OpenAiBackend, InferenceError> {
        OpenAiBackend::with_options(url, HttpOptions::default())
    }

    /// A backend with its own timeouts and retries.
    pub fn with_options(url: &str, opts: HttpOptions) -> Result<OpenAiBackend, InferenceError> {
        let trimmed = url.trim().trim_end_matches('/');
        let base = trimmed.strip_suffix("/v1").unwrap_or(trimmed);
        Ok(OpenAiBackend {
            http: Http::new(BACKEND, base, opts)?,
            api_key: None,
        })
    }

    /// Sends `Authorization: Bearer KEY` with every request.
    pub fn with_api_key(mut self, key: impl Into<String>) -> OpenAiBackend {
        self.api_key = Some(key.into());
        self
    }

    /// The base URL, without `/v1`.
    pub fn url(&self) -> &str {
        &self.http.base
    }

    fn auth(&self, b: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.api_key {
            Some(k) => b.bearer_auth(k),
            None => b,
        }
    }

    fn status_error(
        &self,
        status: reqwest::StatusCode,
        message: String,
        model: &str,
    ) -> InferenceError {
        if status == reqwest::StatusCode::NOT_FOUND && message.to_lowercase().contains("model") {
            return InferenceError::ModelNotFound {
                backend: BACKEND,
                url: self.http.base.clone(),
                model: model.to_string(),
                message,
            };
        }
        InferenceError::Http {
            backend: BACKEND,
            status: status.as_u16(),
            message,
        }
    }

    /// The endpoint and JSON body of a generation.
    fn request_body(req: &GenerateRequest) -> (&'static str, Value) {
        let top_k = if req.top_k == 0 {
            -1
        } else {
            i64::from(req.top_k)
        };
        let mut body = json!({
            "model": req.model,
            "stream": true,
            "stream_options": { "include_usage": true },
            "max_tokens": req.max_tokens,
            "seed": req.backend_seed(),
            "temperature": req.temperature(),
            "top_p": req.top_p(),
            "top_k": top_k,
        });
        if !req.stop.is_empty() {
            body["stop"] = json!(req.stop);
        }
        match (&req.messages, req.raw) {
            (Some(messages), _) => {
                body["messages"] = messages
                    .iter()
                    .map(|m| json!({ "role": m.role, "content": m.content }))
                    .collect();
                ("/v1/chat/completions", body)
            }
            (None, false) => {
                body["messages"] = json!([{ "role": "user", "content": req.prompt }]);
                ("/v1/chat/completions", body)
            }
            (None, true) => {
                body["prompt"] = json!(req.prompt);
                ("/v1/completions", body)
            }
        }
    }
}

/// What a stream has delivered so far.
#[derive(Default)]
struct SseState {
    text: String,
    pieces: u32,
    first_token: Option<Duration>,
    finish_reason: Option<String>,
    completion_tokens: Option<u32>,
    prompt_tokens: Option<u32>,
    predicted_n: Option<u32>,
    prompt_eval: Option<Duration>,
    eval: Option<Duration>,
    system_fingerprint: Option<String>,
    done: bool,
}

impl SseState {
    fn handle(
        &mut self,
        event: Option<&str>,
        data: &str,
        sink: &TokenSink,
        started: Instant,
    ) -> Result<(), InferenceError> {
        let data = data.trim();
        if event == Some("error") {
            let message = serde_json::from_str::<Value>(data)
                .ok()
                .and_then(|v| {
                    json_error_message(&v)
                        .or_else(|| v.get("message").and_then(Value::as_str).map(str::to_string))
                })
                .unwrap_or_else(|| excerpt(data, 200));
            return Err(InferenceError::Stream {
                backend: BACKEND,
                pieces: self.pieces,
                message,
            });
        }
        if data == "[DONE]" {
            self.done = true;
            return Ok(());
        }
        if data.is_empty() {
            return Ok(());
        }
        let v: Value = serde_json::from_str(data).map_err(|e| {
            protocol(format!(
                "an event is not JSON ({e}): {}",
                excerpt(data, 200)
            ))
        })?;
        if let Some(message) = json_error_message(&v) {
            return Err(InferenceError::Stream {
                backend: BACKEND,
                pieces: self.pieces,
                message,
            });
        }
        let choices = v
            .get("choices")
            .and_then(Value::as_array)
            .ok_or_else(|| protocol(format!("a chunk without choices: {}", excerpt(data, 200))))?;
        if let Some(fp) = v.get("system_fingerprint").and_then(Value::as_str) {
            self.system_fingerprint = Some(fp.to_string());
        }
        if let Some(u) = v.get("usage").filter(|u| u.is_object()) {
            self.completion_tokens = count(u.get("completion_tokens")).or(self.completion_tokens);
            self.prompt_tokens = count(u.get("prompt_tokens")).or(self.prompt_tokens);
        }
        if let Some(t) = v.get("timings").filter(|t| t.is_object()) {
            self.predicted_n = count(t.get("predicted_n")).or(self.predicted_n);
            self.prompt_eval = ms(t.get("prompt_ms")).or(self.prompt_eval);
            self.eval = ms(t.get("predicted_ms")).or(self.eval);
        }
        for choice in choices {
            if choice.get("index").and_then(Value::as_u64).unwrap_or(0) != 0 {
                continue;
            }
            let piece = choice
                .get("delta")
                .and_then(|d| d.get("content"))
                .or_else(|| choice.get("text"));
            match piece {
                None | Some(Value::Null) => {}
                Some(Value::String(p)) => {
                    if !p.is_empty() {
                        if self.first_token.is_none() {
                            self.first_token = Some(started.elapsed());
                        }
                        self.pieces += 1;
                        self.text.push_str(p);
                        sink.send(p);
                    }
                }
                Some(other) => {
                    return Err(protocol(format!(
                        "output that is not a string: {}",
                        excerpt(&other.to_string(), 200)
                    )))
                }
            }
            if let Some(r) = choice.get("finish_reason").and_then(Value::as_str) {
                self.finish_reason = Some(r.to_string());
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Backend for OpenAiBackend {
    fn name(&self) -> &str {
        BACKEND
    }

    fn endpoint(&self) -> String {
        self.http.base.clone()
    }

    async fn models(&self) -> Result<Vec<ModelInfo>, InferenceError> {
        let url = self.http.url("/v1/models");
        let v = match self
            .http
            .json(|| self.auth(self.http.client.get(&url)))
            .await?
        {
            Ok(v) => v,
            Err((status, message)) => {
                return Err(InferenceError::Http {
                    backend: BACKEND,
                    status: status.as_u16(),
                    message,
                })
            }
        };
        let data = v.get("data").and_then(Value::as_array).ok_or_else(|| {
            protocol(format!(
                "/v1/models without data: {}",
                excerpt(&v.to_string(), 200)
            ))
        })?;
        data.iter()
            .map(|m| {
                let id = m.get("id").and_then(Value::as_str).ok_or_else(|| {
                    protocol(format!(
                        "a model without an id: {}",
                        excerpt(&m.to_string(), 200)
                    ))
                })?;
                Ok(ModelInfo {
                    name: id.to_string(),
                    ..ModelInfo::default()
                })
            })
            .collect()
    }

    async fn generate(
        &self,
        req: &GenerateRequest,
        sink: TokenSink,
    ) -> Result<Generation, InferenceError> {
        req.validate()?;
        let (path, body) = OpenAiBackend::request_body(req);
        let url = self.http.url(path);
        let opts = &self.http.opts;
        let started = Instant::now();
        let resp = self
            .http
            .send(
                || self.auth(self.http.client.post(&url).json(&body)),
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
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        if !content_type.is_empty() && !content_type.starts_with("text/event-stream") {
            let body = self.http.error_message(resp).await;
            return Err(protocol(format!(
                "expected an event stream, got {content_type}: {body}"
            )));
        }
        let mut reader = self.http.body(resp, started);
        let mut dec = SseDecoder::new(opts.max_line);
        let mut st = SseState::default();
        while !st.done {
            let chunk = match reader.next(st.pieces).await {
                Ok(c) => c,
                // Finished but the server never closed the stream properly: keep what it said.
                Err(InferenceError::Timeout { .. } | InferenceError::Truncated { .. })
                    if st.finish_reason.is_some() =>
                {
                    break
                }
                Err(e) => return Err(e),
            };
            let events = match &chunk {
                Some(c) => dec.push(c),
                None => dec.finish().map(|e| e.into_iter().collect()),
            }
            .map_err(|e| protocol(e.to_string()))?;
            for ev in events {
                st.handle(ev.event.as_deref(), &ev.data, &sink, started)?;
                if st.done {
                    break;
                }
            }
            if st.pieces > 0 {
                reader.output_started();
            }
            if chunk.is_none() {
                if st.finish_reason.is_some() {
                    break;
                }
                if !st.done {
                    return Err(InferenceError::Truncated {
                        backend: BACKEND,
                        pieces: st.pieces,
                        detail: None,
                    });
                }
            }
        }
        let wall = started.elapsed();
        let (output_tokens, token_count) = match st.completion_tokens.or(st.predicted_n) {
            Some(n) => (n, TokenCount::Reported),
            None => (st.pieces, TokenCount::StreamedPieces),
        };
        let done_reason = match st.finish_reason.as_deref() {
            Some(r) => DoneReason::parse(r),
            None if output_tokens >= req.max_tokens => DoneReason::Length,
            None => DoneReason::Stop,
        };
        let runtime = RuntimeInfo::describe(
            "openai-compatible",
            st.system_fingerprint.as_deref().unwrap_or(""),
            "",
            false,
            req,
        );
        Ok(Generation {
            text: st.text,
            output_tokens,
            token_count,
            prompt_tokens: st.prompt_tokens,
            done_reason,
            timings: Timings {
                wall,
                first_token: st.first_token,
                total: None,
                load: None,
                prompt_eval: st.prompt_eval,
                eval: st.eval,
            },
            runtime,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_for_chat_and_raw() {
        let r = GenerateRequest::new("g", "hi", 9).with_seed(7);
        let (path, body) = OpenAiBackend::request_body(&r);
        assert_eq!(path, "/v1/chat/completions");
        assert_eq!(body["messages"], json!([{"role": "user", "content": "hi"}]));
        assert_eq!(body["max_tokens"], 9);
        assert_eq!(body["seed"], 7);
        assert_eq!(body["top_k"], -1);
        assert_eq!(body["top_p"], 1.0);
        assert_eq!(body["stream_options"]["include_usage"], true);
        let (path, body) = OpenAiBackend::request_body(&r.with_raw(true));
        assert_eq!(path, "/v1/completions");
        assert_eq!(body["prompt"], "hi");
        assert!(body.get("messages").is_none());
    }

    #[test]
    fn llama_cpp_final_chunk_counts() {
        let mut st = SseState::default();
        let sink = TokenSink::discard();
        let t = Instant::now();
        st.handle(None, r#"{"choices":[{"finish_reason":null,"index":0,"delta":{"role":"assistant","content":null}}],"object":"chat.completion.chunk"}"#, &sink, t).unwrap();
        st.handle(
            None,
            r#"{"choices":[{"finish_reason":null,"index":0,"delta":{"content":"Hé"}}]}"#,
            &sink,
            t,
        )
        .unwrap();
        st.handle(None, r#"{"choices":[{"finish_reason":"stop","index":0,"delta":{}}],"system_fingerprint":"b6097-9515c613","usage":{"completion_tokens":2,"prompt_tokens":5,"total_tokens":7},"timings":{"prompt_n":5,"prompt_ms":20.5,"predicted_n":2,"predicted_ms":40.0}}"#, &sink, t).unwrap();
        st.handle(None, "[DONE]", &sink, t).unwrap();
        assert!(st.done);
        assert_eq!(st.text, "Hé");
        assert_eq!(st.completion_tokens, Some(2));
        assert_eq!(st.eval, Some(Duration::from_millis(40)));
        assert_eq!(st.system_fingerprint.as_deref(), Some("b6097-9515c613"));
    }

    #[test]
    fn errors_in_both_spellings() {
        let sink = TokenSink::discard();
        let t = Instant::now();
        let e = SseState::default()
            .handle(
                Some("error"),
                r#"{"code":500,"message":"slot died","type":"server_error"}"#,
                &sink,
                t,
            )
            .unwrap_err();
        assert!(
            matches!(&e, InferenceError::Stream { message, .. } if message == "slot died"),
            "{e}"
        );
        let e = SseState::default()
            .handle(
                None,
                r#"{"error":{"message":"oom","type":"internal"}}"#,
                &sink,
                t,
            )
            .unwrap_err();
        assert!(
            matches!(&e, InferenceError::Stream { message, .. } if message == "oom"),
            "{e}"
        );
        let e = SseState::default()
            .handle(None, r#"{"foo":1}"#, &sink, t)
            .unwrap_err();
        assert!(matches!(e, InferenceError::Protocol { .. }));
        let e = SseState::default()
            .handle(None, "nope", &sink, t)
            .unwrap_err();
        assert!(matches!(e, InferenceError::Protocol { .. }));
    }
}

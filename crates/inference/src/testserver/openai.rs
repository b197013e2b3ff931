//! OpenAI-compatible routes in llama.cpp's dialect: SSE `data: {chunk}` events, a role-only
//! first delta, the finishing chunk with `usage` and `timings`, `data: [DONE]`, and errors as a
//! bare `error: {…}` event mid-stream.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::ollama::{garbage, parse, DEFAULT_MAX_TOKENS};
use super::stream::{self, Plan};
use super::{Fault, Shared};
use crate::standin::{chat_prompt, script};

const FINGERPRINT: &str = "b0000-comqute-test";
const CREATED: u64 = 1_750_000_000;

fn error(status: StatusCode, message: impl Into<String>, kind: &str) -> Response {
    (
        status,
        Json(json!({ "error": { "code": status.as_u16(), "message": message.into(), "type": kind } })),
    )
        .into_response()
}

fn sse(v: &Value) -> Vec<u8> {
    format!("data: {v}\n\n").into_bytes()
}

/// `GET /v1/models`.
pub(crate) async fn models(State(s): State<Arc<Shared>>) -> Response {
    let data: Vec<Value> = s
        .models()
        .iter()
        .map(|m| json!({ "id": m, "object": "model", "created": CREATED, "owned_by": "comqute-test" }))
        .collect();
    Json(json!({ "object": "list", "data": data })).into_response()
}

/// `POST /v1/chat/completions`.
pub(crate) async fn chat_completions(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let v = match parse(&body) {
        Ok(v) => v,
        Err(e) => return error(StatusCode::BAD_REQUEST, e, "invalid_request_error"),
    };
    s.record("/v1/chat/completions", &v);
    let Some(messages) = v.get("messages").and_then(Value::as_array) else {
        return error(
            StatusCode::BAD_REQUEST,
            "'messages' is required",
            "invalid_request_error",
        );
    };
    let prompt = chat_prompt(messages.iter().map(|m| {
        (
            m.get("role").and_then(Value::as_str).unwrap_or(""),
            m.get("content").and_then(Value::as_str).unwrap_or(""),
        )
    }));
    run(s, v, prompt, true).await
}

/// `POST /v1/completions`.
pub(crate) async fn completions(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let v = match parse(&body) {
        Ok(v) => v,
        Err(e) => return error(StatusCode::BAD_REQUEST, e, "invalid_request_error"),
    };
    s.record("/v1/completions", &v);
    let Some(prompt) = v.get("prompt").and_then(Value::as_str).map(str::to_string) else {
        return error(
            StatusCode::BAD_REQUEST,
            "\"prompt\" is required",
            "invalid_request_error",
        );
    };
    run(s, v, prompt, false).await
}

async fn run(s: Arc<Shared>, v: Value, prompt: String, chat: bool) -> Response {
    let model = v
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if !s.has_model(&model) {
        return error(
            StatusCode::NOT_FOUND,
            format!("The model `{model}` does not exist."),
            "NotFoundError",
        );
    }
    let fault = s.next_fault();
    if fault == Some(Fault::Busy) {
        s.count_busy();
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "Loading model",
            "unavailable_error",
        );
    }
    let Some(slot) = s.try_slot() else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "Loading model",
            "unavailable_error",
        );
    };
    if fault == Some(Fault::Hang) {
        let _slot = slot;
        return std::future::pending::<Response>().await;
    }
    if let Some(r) = match fault {
        Some(Fault::NotJson) => garbage(fault, "text/event-stream"),
        Some(Fault::WrongShape) => Some(
            (
                [(axum::http::header::CONTENT_TYPE, "text/event-stream")],
                "data: {\"unexpected\":true}\n\n",
            )
                .into_response(),
        ),
        Some(Fault::InvalidUtf8) => Some(
            (
                [(axum::http::header::CONTENT_TYPE, "text/event-stream")],
                &b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\xff\"}}]}\n\n"[..],
            )
                .into_response(),
        ),
        _ => None,
    } {
        return r;
    }
    let seed = match v.get("seed").and_then(Value::as_u64) {
        Some(n) => n,
        None => s.random_seed(),
    };
    let max_tokens = v
        .get("max_tokens")
        .or_else(|| v.get("max_completion_tokens"))
        .or_else(|| v.get("n_predict"))
        .and_then(Value::as_i64)
        .filter(|&n| n > 0)
        .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
        .unwrap_or(DEFAULT_MAX_TOKENS);
    let stop: Vec<String> = match v.get("stop") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    };
    let sc = script(&model, &prompt, seed, max_tokens, &stop);
    let prompt_n = prompt.chars().count() as u64 / 4 + 1;
    let n = u64::from(sc.tokens);
    let usage =
        json!({ "completion_tokens": n, "prompt_tokens": prompt_n, "total_tokens": n + prompt_n });
    let cfg = s.cfg();
    let predicted_ms = cfg.token_delay.as_secs_f64() * 1000.0 * n as f64;
    let timings = json!({
        "prompt_n": prompt_n, "prompt_ms": 1.5,
        "predicted_n": n, "predicted_ms": predicted_ms,
    });
    let (object, id) = if chat {
        ("chat.completion.chunk", "chatcmpl-comqute-test")
    } else {
        ("text_completion", "cmpl-comqute-test")
    };
    let chunk = |choice: Value| {
        json!({
            "choices": [choice], "created": CREATED, "id": id, "model": model,
            "system_fingerprint": FINGERPRINT, "object": object,
        })
    };
    let piece = |p: &str| {
        if chat {
            chunk(json!({ "finish_reason": null, "index": 0, "delta": { "content": p } }))
        } else {
            chunk(json!({ "text": p, "index": 0, "logprobs": null, "finish_reason": null }))
        }
    };
    let reason = sc.done_reason.as_str().to_string();
    if v.get("stream").and_then(Value::as_bool) != Some(true) {
        let text = sc.text();
        let choice = if chat {
            json!({ "index": 0, "message": { "role": "assistant", "content": text }, "finish_reason": reason })
        } else {
            json!({ "index": 0, "text": text, "finish_reason": reason })
        };
        return Json(json!({
            "choices": [choice], "created": CREATED, "id": id, "model": model,
            "object": if chat { "chat.completion" } else { "text_completion" },
            "system_fingerprint": FINGERPRINT, "usage": usage, "timings": timings,
        }))
        .into_response();
    }
    let mut tokens: Vec<Vec<u8>> = sc.pieces.iter().map(|p| sse(&piece(p))).collect();
    let mut tail = Vec::new();
    if chat {
        let role = sse(&chunk(json!({
            "finish_reason": null, "index": 0, "delta": { "role": "assistant", "content": null }
        })));
        match tokens.first_mut() {
            Some(first) => {
                let mut b = role;
                b.extend_from_slice(first);
                *first = b;
            }
            None => tail.push(role),
        }
    }
    let mut last = if chat {
        chunk(json!({ "finish_reason": reason, "index": 0, "delta": {} }))
    } else {
        chunk(json!({ "text": "", "index": 0, "logprobs": null, "finish_reason": reason }))
    };
    last["usage"] = usage;
    last["timings"] = timings;
    tail.push(sse(&last));
    tail.push(b"data: [DONE]\n\n".to_vec());
    let plan = Plan {
        tokens,
        tail,
        error: format!(
            "error: {}\n\n",
            json!({ "code": 500, "message": "slot crashed while decoding", "type": "server_error" })
        )
        .into_bytes(),
    };
    stream::respond("text/event-stream", plan, fault, s, Some(slot))
}

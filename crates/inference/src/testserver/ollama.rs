//! Ollama's native routes, in its wire format (`api/types.go`, `server/routes.go`): NDJSON
//! chunks, zero metrics omitted, `{"error": …}` bodies and mid-stream lines.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use super::stream::{self, Plan};
use super::{canonical, Fault, Shared};
use crate::standin::{chat_prompt, script, Script};

/// Ollama's answer when its queue is full.
pub(crate) const BUSY: &str = "server busy, please try again.  maximum pending requests exceeded";
pub(crate) const CREATED_AT: &str = "2025-06-01T12:00:00.000000000Z";
/// What the stand-in generates when a request sets no limit.
pub(crate) const DEFAULT_MAX_TOKENS: u32 = 128;

pub(crate) fn error(status: StatusCode, msg: impl Into<String>) -> Response {
    (status, Json(json!({ "error": msg.into() }))).into_response()
}

/// The body as JSON, or the message of Ollama's 400.
pub(crate) fn parse(body: &Bytes) -> Result<Value, String> {
    if body.is_empty() {
        return Err("missing request body".into());
    }
    serde_json::from_slice(body).map_err(|e| e.to_string())
}

/// The digest `/api/tags` shows for a model: 64 hex digits, no `sha256:` prefix.
pub(crate) fn digest_of(model: &str) -> String {
    blake3::hash(canonical(model).as_bytes())
        .to_hex()
        .to_string()
}

fn ndjson(v: &Value) -> Vec<u8> {
    let mut b = v.to_string().into_bytes();
    b.push(b'\n');
    b
}

/// Puts `v` in `m` unless it is zero: Ollama's `omitempty` on every metric.
fn put_nonzero(m: &mut Map<String, Value>, key: &str, v: u64) {
    if v != 0 {
        m.insert(key.to_string(), json!(v));
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Sampling options as Ollama reads them: only from `options`; the seed goes through a JSON
/// number (a float), like Go's `map[string]any`; a negative or missing seed is random.
struct Params {
    seed: u64,
    max_tokens: u32,
    stop: Vec<String>,
}

fn params(s: &Shared, v: &Value) -> Params {
    let o = v.get("options").cloned().unwrap_or(Value::Null);
    let seed = match o.get("seed").and_then(Value::as_f64) {
        Some(f) if f >= 0.0 => f as u64,
        _ => s.random_seed(),
    };
    let max_tokens = match o.get("num_predict").and_then(Value::as_f64) {
        Some(n) if n > 0.0 => n.min(f64::from(u32::MAX)) as u32,
        _ => DEFAULT_MAX_TOKENS,
    };
    let stop = o
        .get("stop")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    Params {
        seed,
        max_tokens,
        stop,
    }
}

/// Writes answers to faults that replace the whole body; `None` for a normal stream.
pub(crate) fn garbage(fault: Option<Fault>, content_type: &'static str) -> Option<Response> {
    let body: &'static [u8] = match fault? {
        Fault::NotJson => {
            return Some(
                (
                    [(CONTENT_TYPE, "text/html")],
                    "<html><body><h1>502 Bad Gateway</h1></body></html>\n",
                )
                    .into_response(),
            )
        }
        Fault::WrongShape => b"{\"unexpected\":true,\"tokens\":[1,2,3]}\n",
        Fault::InvalidUtf8 => b"{\"response\":\"\xff\xfe\",\"done\":false}\n",
        _ => return None,
    };
    Some(([(CONTENT_TYPE, content_type)], body).into_response())
}

async fn run(s: Arc<Shared>, v: Value, model: String, prompt: String, chat: bool) -> Response {
    let fault = s.next_fault();
    if fault == Some(Fault::Busy) {
        s.count_busy();
        return error(StatusCode::SERVICE_UNAVAILABLE, BUSY);
    }
    let Some(slot) = s.try_slot() else {
        return error(StatusCode::SERVICE_UNAVAILABLE, BUSY);
    };
    if fault == Some(Fault::Hang) {
        let _slot = slot;
        return std::future::pending::<Response>().await;
    }
    if let Some(r) = garbage(fault, "application/x-ndjson") {
        return r;
    }
    let p = params(&s, &v);
    let sc = script(&model, &prompt, p.seed, p.max_tokens, &p.stop);
    let cfg = s.cfg();
    let loaded_now = s.first_load(&model);
    let piece_chunk = |piece: &str, done: bool| -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("model".into(), json!(model));
        m.insert("created_at".into(), json!(CREATED_AT));
        if chat {
            m.insert(
                "message".into(),
                json!({ "role": "assistant", "content": piece }),
            );
        } else {
            m.insert("response".into(), json!(piece));
        }
        m.insert("done".into(), json!(done));
        m
    };
    let final_chunk = |sc: &Script, text: &str| -> Value {
        let mut m = piece_chunk(text, true);
        m.insert("done_reason".into(), json!(sc.done_reason.as_str()));
        if !chat && v.get("raw").and_then(Value::as_bool) != Some(true) {
            m.insert("context".into(), json!([1, 2, 3]));
        }
        let n = u32::try_from(sc.pieces.len()).unwrap_or(u32::MAX);
        let eval = cfg.token_delay.saturating_mul(n);
        let load = if loaded_now {
            Duration::from_millis(250)
        } else {
            Duration::ZERO
        };
        let prompt_tokens = prompt.chars().count() as u64 / 4 + 1;
        put_nonzero(
            &mut m,
            "total_duration",
            nanos(cfg.first_token_delay + eval + load) + 1_000_000,
        );
        put_nonzero(&mut m, "load_duration", nanos(load));
        put_nonzero(&mut m, "prompt_eval_count", prompt_tokens);
        put_nonzero(&mut m, "prompt_eval_duration", prompt_tokens * 100_000);
        put_nonzero(&mut m, "eval_count", u64::from(sc.tokens));
        put_nonzero(&mut m, "eval_duration", nanos(eval));
        Value::Object(m)
    };
    if v.get("stream").and_then(Value::as_bool) == Some(false) {
        return Json(final_chunk(&sc, &sc.text())).into_response();
    }
    let plan = Plan {
        tokens: sc
            .pieces
            .iter()
            .map(|p| ndjson(&Value::Object(piece_chunk(p, false))))
            .collect(),
        tail: vec![ndjson(&final_chunk(&sc, ""))],
        error: ndjson(&json!({
            "error": "an error was encountered while running the model: unexpected EOF"
        })),
    };
    stream::respond("application/x-ndjson", plan, fault, s, Some(slot))
}

fn not_found(model: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        format!("model {model:?} not found, try pulling it first"),
    )
}

/// `POST /api/generate`.
pub(crate) async fn generate(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let v = match parse(&body) {
        Ok(v) => v,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    s.record("/api/generate", &v);
    let model = v
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if !s.has_model(&model) {
        return not_found(&model);
    }
    let prompt = v
        .get("prompt")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if prompt.is_empty() {
        s.first_load(&model);
        return Json(json!({
            "model": model, "created_at": CREATED_AT, "response": "",
            "done": true, "done_reason": "load",
        }))
        .into_response();
    }
    run(s, v, model, prompt, false).await
}

/// `POST /api/chat`.
pub(crate) async fn chat(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let v = match parse(&body) {
        Ok(v) => v,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    s.record("/api/chat", &v);
    let model = v
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if !s.has_model(&model) {
        return not_found(&model);
    }
    let Some(messages) = v.get("messages").and_then(Value::as_array) else {
        return error(StatusCode::BAD_REQUEST, "messages are required");
    };
    let prompt = chat_prompt(messages.iter().map(|m| {
        (
            m.get("role").and_then(Value::as_str).unwrap_or(""),
            m.get("content").and_then(Value::as_str).unwrap_or(""),
        )
    }));
    run(s, v, model, prompt, true).await
}

fn details() -> Value {
    json!({
        "parent_model": "", "format": "gguf", "family": "stand-in", "families": ["stand-in"],
        "parameter_size": "1M", "quantization_level": "Q4_K_M",
    })
}

/// `GET /api/version`.
pub(crate) async fn version(State(s): State<Arc<Shared>>) -> Response {
    Json(json!({ "version": s.cfg().version })).into_response()
}

/// `GET /api/tags`.
pub(crate) async fn tags(State(s): State<Arc<Shared>>) -> Response {
    let models: Vec<Value> = s
        .models()
        .iter()
        .map(|m| {
            let name = canonical(m);
            json!({
                "name": name, "model": name, "modified_at": CREATED_AT,
                "size": 1_000_000 + name.len() as u64, "digest": digest_of(&name),
                "details": details(),
            })
        })
        .collect();
    Json(json!({ "models": models })).into_response()
}

/// `POST /api/show`.
pub(crate) async fn show(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let v = match parse(&body) {
        Ok(v) => v,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    s.record("/api/show", &v);
    let model = v
        .get("model")
        .or_else(|| v.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("");
    if model.is_empty() {
        return error(StatusCode::BAD_REQUEST, "model is required");
    }
    if !s.has_model(model) {
        return error(StatusCode::NOT_FOUND, format!("model '{model}' not found"));
    }
    Json(json!({
        "license": "MIT",
        "modelfile": format!("FROM {model}\n"),
        "parameters": "stop                           \"<eos>\"",
        "template": "{{ .Prompt }}",
        "details": details(),
        "model_info": {
            "general.architecture": "stand-in",
            "general.parameter_count": 1_000_000,
            "stand-in.context_length": 2048,
        },
        "capabilities": ["completion"],
        "modified_at": CREATED_AT,
    }))
    .into_response()
}

/// `POST /api/pull`: progress lines per layer, then `success`; for an unknown model the
/// manifest line, then an error line under HTTP 200, as Ollama does.
pub(crate) async fn pull(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let v = match parse(&body) {
        Ok(v) => v,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    s.record("/api/pull", &v);
    let model = v
        .get("model")
        .or_else(|| v.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if model.trim().is_empty() {
        return error(StatusCode::BAD_REQUEST, "invalid model name");
    }
    let pullable = s
        .cfg()
        .pullable
        .iter()
        .any(|p| canonical(p) == canonical(&model))
        || s.has_model(&model);
    let stream = v.get("stream").and_then(Value::as_bool) != Some(false);
    if !pullable {
        if !stream {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "pull model manifest: file does not exist",
            );
        }
        let plan = Plan {
            tokens: vec![
                ndjson(&json!({ "status": "pulling manifest" })),
                ndjson(&json!({ "error": "pull model manifest: file does not exist" })),
            ],
            tail: vec![],
            error: vec![],
        };
        return stream::respond("application/x-ndjson", plan, None, s, None);
    }
    let mut lines = vec![ndjson(&json!({ "status": "pulling manifest" }))];
    for (layer, total) in [("weights", 3_000_000u64), ("license", 1_200)] {
        let digest = format!(
            "sha256:{}",
            blake3::hash(format!("{model}/{layer}").as_bytes()).to_hex()
        );
        let status = format!("pulling {}", &digest[7..19]);
        lines.push(ndjson(
            &json!({ "status": status, "digest": digest, "total": total }),
        ));
        for part in 1..=3u64 {
            lines.push(ndjson(&json!({
                "status": status, "digest": digest, "total": total, "completed": total * part / 3,
            })));
        }
    }
    for status in ["verifying sha256 digest", "writing manifest", "success"] {
        lines.push(ndjson(&json!({ "status": status })));
    }
    s.add_model(&model);
    if !stream {
        return Json(json!({ "status": "success" })).into_response();
    }
    let plan = Plan {
        tokens: lines,
        tail: vec![],
        error: vec![],
    };
    stream::respond("application/x-ndjson", plan, None, s, None)
}

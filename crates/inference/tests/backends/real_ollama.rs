//! Against a real Ollama, only when `OLLAMA_URL` is set (otherwise each test prints a note and
//! passes). `OLLAMA_TEST_MODEL` picks the model; else the smallest one pulled.

use std::time::Duration;

use comqute_inference::{
    Backend, ChatMessage, GenerateRequest, HttpOptions, InferenceError, OllamaBackend, TokenSink,
};

fn real() -> Option<OllamaBackend> {
    let url = std::env::var("OLLAMA_URL")
        .ok()
        .filter(|u| !u.trim().is_empty());
    let Some(url) = url else {
        eprintln!("note: OLLAMA_URL is not set; skipping the real-Ollama test");
        return None;
    };
    let opts = HttpOptions {
        first_token_timeout: Duration::from_secs(300),
        ..HttpOptions::default()
    };
    Some(OllamaBackend::with_options(&url, opts).expect("OLLAMA_URL is a URL"))
}

async fn model(b: &OllamaBackend) -> Option<String> {
    if let Ok(m) = std::env::var("OLLAMA_TEST_MODEL") {
        return Some(m);
    }
    let mut tags = b.tags().await.expect("/api/tags answers");
    tags.sort_by_key(|m| m.size.unwrap_or(u64::MAX));
    let m = tags.into_iter().next().map(|m| m.name);
    if m.is_none() {
        eprintln!(
            "note: the Ollama at {} has no model; pull one (or set OLLAMA_TEST_MODEL)",
            b.url()
        );
    }
    m
}

#[tokio::test]
async fn real_ollama_answers_version_tags_and_404() {
    let Some(b) = real() else { return };
    let v = b.version().await.expect("/api/version answers");
    assert!(!v.is_empty());
    b.tags().await.expect("/api/tags answers");
    let e = b
        .generate(
            &GenerateRequest::new("comqute-no-such-model:0b", "p", 4),
            TokenSink::discard(),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, InferenceError::ModelNotFound { .. }), "{e:?}");
    let e = b.show("comqute-no-such-model:0b").await.unwrap_err();
    assert!(matches!(e, InferenceError::ModelNotFound { .. }), "{e:?}");
}

#[tokio::test]
async fn real_ollama_generates_streams_and_replays_greedy() {
    let Some(b) = real() else { return };
    let Some(m) = model(&b).await else { return };
    let req = GenerateRequest::new(&m, "Count from one to five:", 16).with_seed(7);
    let (sink, mut rx) = TokenSink::channel();
    let g = b.generate(&req, sink).await.expect("a generation");
    let mut streamed = String::new();
    while let Ok(p) = rx.try_recv() {
        streamed.push_str(&p);
    }
    assert_eq!(streamed, g.text);
    assert!(g.output_tokens > 0 && g.output_tokens <= 16, "{g:?}");
    assert!(!g.runtime.engine_version.is_empty());
    assert!(!g.runtime.model_digest.is_empty());
    // Greedy, same seed, one request at a time: the same bytes.
    let again = b.generate(&req, TokenSink::discard()).await.unwrap();
    assert_eq!(again.text, g.text);
    let chat = b
        .generate(
            &req.clone()
                .with_messages(vec![ChatMessage::user("Say hi.")]),
            TokenSink::discard(),
        )
        .await
        .expect("a chat generation");
    assert!(chat.output_tokens > 0);
    let show = b.show(&m).await.expect("/api/show answers");
    assert!(!show.capabilities.is_empty() || show.details.family.is_some());
}

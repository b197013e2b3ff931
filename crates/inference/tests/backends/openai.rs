//! The OpenAI-compatible backend against the test server's llama.cpp-style SSE routes.

use std::time::Duration;

use comqute_inference::standin::{chat_prompt, script};
use comqute_inference::testserver::{Fault, Split, TestServerConfig};
use comqute_inference::{
    Backend, ChatMessage, DoneReason, GenerateRequest, InferenceError, OpenAiBackend, TimeoutPhase,
    TokenCount, TokenSink,
};
use serde_json::json;

use super::common::{drain, fast, openai, server, server_with, timeouts, TINY};

#[tokio::test]
async fn chat_completions_stream_with_usage() {
    let s = server().await;
    let b = openai(&s);
    let (sink, mut rx) = TokenSink::channel();
    let req = GenerateRequest::new(TINY, "Why is the sky blue?", 100).with_seed(42);
    let g = b.generate(&req, sink).await.unwrap();
    let want = script(
        TINY,
        &chat_prompt([("user", "Why is the sky blue?")]),
        42,
        100,
        &[],
    );
    assert_eq!(g.text, want.text());
    assert_eq!(drain(&mut rx), want.pieces);
    assert_eq!(g.output_tokens, want.tokens);
    assert_eq!(g.token_count, TokenCount::Reported);
    assert_eq!(g.done_reason, DoneReason::Stop);
    assert!(g.prompt_tokens.unwrap() > 0);
    assert_eq!(g.runtime.engine, "openai-compatible");
    assert_eq!(g.runtime.engine_version, "b0000-comqute-test");
    let body = s.requests().pop().unwrap();
    assert_eq!(body.path, "/v1/chat/completions");
    assert_eq!(body.body["seed"], json!(42));
    assert_eq!(body.body["max_tokens"], json!(100));
    assert_eq!(body.body["top_k"], json!(-1));
    assert_eq!(body.body["stream"], json!(true));
    assert_eq!(body.body["stream_options"]["include_usage"], json!(true));
}

#[tokio::test]
async fn raw_prompts_use_completions() {
    let s = server().await;
    let b = openai(&s);
    let req = GenerateRequest::new(TINY, "Once upon a time", 5)
        .with_seed(1)
        .with_raw(true);
    let g = b.generate(&req, TokenSink::discard()).await.unwrap();
    assert_eq!(g.text, script(TINY, "Once upon a time", 1, 5, &[]).text());
    assert_eq!(g.output_tokens, 5);
    assert_eq!(g.done_reason, DoneReason::Length);
    assert_eq!(s.requests().pop().unwrap().path, "/v1/completions");
}

#[tokio::test]
async fn awkward_splits_reassemble() {
    for split in [Split::Awkward, Split::Bytes(1), Split::Bytes(5)] {
        let s = server_with(TestServerConfig {
            split,
            token_delay: Duration::from_millis(1),
            ..TestServerConfig::default()
        })
        .await;
        let b = openai(&s);
        for seed in 0..4u64 {
            let msgs = vec![ChatMessage::user("naïve 日本")];
            let req = GenerateRequest::new(TINY, "", 40)
                .with_seed(seed)
                .with_messages(msgs);
            let (sink, mut rx) = TokenSink::channel();
            let g = b.generate(&req, sink).await.unwrap();
            let want = script(TINY, &chat_prompt([("user", "naïve 日本")]), seed, 40, &[]);
            assert_eq!(g.text, want.text(), "{split:?} seed {seed}");
            assert_eq!(drain(&mut rx).concat(), g.text);
        }
    }
}

#[tokio::test]
async fn error_event_mid_stream() {
    let s = server().await;
    let b = openai(&s);
    s.push_fault(Fault::ErrorAfter(2));
    let e = b
        .generate(&GenerateRequest::new(TINY, "p", 50), TokenSink::discard())
        .await
        .unwrap_err();
    match e {
        InferenceError::Stream {
            pieces, message, ..
        } => {
            assert_eq!(pieces, 2);
            assert_eq!(message, "slot crashed while decoding");
        }
        other => panic!("expected a stream error, got {other:?}"),
    }
}

#[tokio::test]
async fn unknown_model_busy_and_retry() {
    let s = server().await;
    let b = openai(&s);
    let e = b
        .generate(&GenerateRequest::new("gpt-9", "p", 5), TokenSink::discard())
        .await
        .unwrap_err();
    assert!(
        matches!(&e, InferenceError::ModelNotFound { message, .. } if message.contains("does not exist")),
        "{e:?}"
    );
    s.push_fault(Fault::Busy);
    s.push_fault(Fault::Busy);
    b.generate(&GenerateRequest::new(TINY, "p", 5), TokenSink::discard())
        .await
        .unwrap();
    assert_eq!(s.busy_answers(), 2);
}

#[tokio::test]
async fn garbage_and_cut_streams() {
    let s = server().await;
    let b = openai(&s);
    for f in [Fault::NotJson, Fault::WrongShape, Fault::InvalidUtf8] {
        s.push_fault(f);
        let e = b
            .generate(&GenerateRequest::new(TINY, "p", 50), TokenSink::discard())
            .await
            .unwrap_err();
        assert!(matches!(e, InferenceError::Protocol { .. }), "{f:?}: {e:?}");
    }
    s.push_fault(Fault::TruncateAfter(1));
    let e = b
        .generate(&GenerateRequest::new(TINY, "p", 50), TokenSink::discard())
        .await
        .unwrap_err();
    assert!(
        matches!(e, InferenceError::Truncated { pieces: 1, .. }),
        "{e:?}"
    );
}

#[tokio::test]
async fn first_token_and_idle_timeouts() {
    let s = server().await;
    let b = OpenAiBackend::with_options(&s.url(), timeouts(300, 300)).unwrap();
    s.push_fault(Fault::Hang);
    let e = b
        .generate(&GenerateRequest::new(TINY, "p", 50), TokenSink::discard())
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            InferenceError::Timeout {
                phase: TimeoutPhase::FirstToken,
                ..
            }
        ),
        "{e:?}"
    );
    s.push_fault(Fault::StallAfter(1));
    let e = b
        .generate(&GenerateRequest::new(TINY, "p", 50), TokenSink::discard())
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            InferenceError::Timeout {
                phase: TimeoutPhase::Idle,
                ..
            }
        ),
        "{e:?}"
    );
}

#[tokio::test]
async fn models_and_base_urls_with_v1() {
    let s = server().await;
    let b = OpenAiBackend::with_options(&format!("{}/v1/", s.url()), fast()).unwrap();
    assert_eq!(b.url(), s.url());
    let names: Vec<_> = b
        .models()
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.name)
        .collect();
    assert_eq!(names, ["comqute-test:tiny", "comqute-test:small"]);
}

//! The Ollama backend against the test server.

use std::sync::Arc;
use std::time::Duration;

use comqute_inference::standin::{chat_prompt, script};
use comqute_inference::testserver::{Fault, Split, TestServerConfig};
use comqute_inference::{
    Backend, ChatMessage, DoneReason, GenerateRequest, HttpOptions, InferenceError, OllamaBackend,
    TimeoutPhase, TokenCount, TokenSink,
};
use serde_json::json;

use super::common::{drain, fast, ollama, server, server_with, timeouts, TINY};

#[tokio::test]
async fn generate_streams_the_exact_text_and_the_backends_count() {
    let s = server().await;
    let b: Arc<dyn Backend> = Arc::new(ollama(&s));
    let (sink, mut rx) = TokenSink::channel();
    let req = GenerateRequest::new(TINY, "Why is the sky blue?", 100).with_seed(42);
    let g = b.generate(&req, sink).await.unwrap();
    let want = script(TINY, "Why is the sky blue?", 42, 100, &[]);
    assert_eq!(g.text, want.text());
    let pieces = drain(&mut rx);
    assert_eq!(pieces, want.pieces, "every piece streamed, in order");
    assert_eq!(pieces.concat(), g.text);
    assert_eq!(g.output_tokens, want.tokens);
    assert_eq!(g.token_count, TokenCount::Reported);
    assert_eq!(g.done_reason, DoneReason::Stop);
    assert_eq!(
        g.result_hash(),
        comqute_inference::result_hash(&want.text())
    );
    assert!(g.prompt_tokens.unwrap() > 0);
    assert!(g.timings.first_token.is_some());
    // The first request loads the model: a load duration; no token delay: eval omitted.
    assert!(g.timings.load.is_some());
    assert_eq!(g.timings.eval, None);
    assert_eq!(g.runtime.engine, "ollama");
    assert_eq!(g.runtime.engine_version, "0.12.0-comqute-test");
    assert_eq!(g.runtime.model_digest.len(), 64);
    assert!(!g.runtime.exact_replay);
    // The second has no load duration (omitted as zero).
    let g2 = b.generate(&req, TokenSink::discard()).await.unwrap();
    assert_eq!(g2.timings.load, None);
    assert_eq!(g2.text, g.text);
    assert_eq!(g2.runtime.fingerprint, g.runtime.fingerprint);
}

#[tokio::test]
async fn sampling_options_travel_inside_options() {
    let s = server().await;
    let b = ollama(&s);
    let mut req = GenerateRequest::new(TINY, "p", 50)
        .with_seed(0x1_0000_0005)
        .with_temperature_milli(700)
        .with_stop(vec!["\n\n".into()]);
    req.top_k = 20;
    req.top_p_milli = 900;
    b.generate(&req, TokenSink::discard()).await.unwrap();
    let body = s
        .requests()
        .into_iter()
        .rfind(|r| r.path == "/api/generate")
        .unwrap()
        .body;
    assert_eq!(body["options"]["seed"], json!(req.backend_seed()));
    assert_eq!(body["options"]["temperature"], json!(0.7));
    assert_eq!(body["options"]["num_predict"], json!(50));
    assert_eq!(body["options"]["top_k"], json!(20));
    assert_eq!(body["options"]["top_p"], json!(0.9));
    assert_eq!(body["options"]["stop"], json!(["\n\n"]));
    assert!(body.get("seed").is_none());
    assert_eq!(body["stream"], json!(true));
}

#[tokio::test]
async fn same_seed_same_bytes_other_seed_other_bytes() {
    let s = server().await;
    let b = ollama(&s);
    let run = |seed| {
        let b = &b;
        async move {
            b.generate(
                &GenerateRequest::new(TINY, "same prompt", 64).with_seed(seed),
                TokenSink::discard(),
            )
            .await
            .unwrap()
            .text
        }
    };
    assert_eq!(run(7).await, run(7).await);
    assert_ne!(run(7).await, run(8).await);
}

#[tokio::test]
async fn awkward_splits_reassemble_to_the_same_text() {
    for split in [Split::Awkward, Split::Bytes(1), Split::Bytes(7)] {
        let s = server_with(TestServerConfig {
            split,
            token_delay: Duration::from_millis(1),
            ..TestServerConfig::default()
        })
        .await;
        let b = ollama(&s);
        // Several seeds, so multi-byte characters are split too.
        for seed in 0..6u64 {
            let req = GenerateRequest::new(TINY, "split me", 40).with_seed(seed);
            let (sink, mut rx) = TokenSink::channel();
            let g = b.generate(&req, sink).await.unwrap();
            let want = script(TINY, "split me", seed, 40, &[]);
            assert_eq!(g.text, want.text(), "{split:?} seed {seed}");
            assert_eq!(drain(&mut rx).concat(), g.text);
            assert_eq!(g.output_tokens, want.tokens);
        }
        // Chat too.
        let msgs = vec![
            ChatMessage::system("be brief"),
            ChatMessage::user("héllo 🦀"),
        ];
        let g = b
            .generate(
                &GenerateRequest::new(TINY, "", 40)
                    .with_seed(3)
                    .with_messages(msgs),
                TokenSink::discard(),
            )
            .await
            .unwrap();
        let prompt = chat_prompt([("system", "be brief"), ("user", "héllo 🦀")]);
        assert_eq!(
            g.text,
            script(TINY, &prompt, 3, 40, &[]).text(),
            "{split:?}"
        );
    }
}

#[tokio::test]
async fn chat_uses_api_chat() {
    let s = server().await;
    let b = ollama(&s);
    let req = GenerateRequest::new(TINY, "ignored", 30)
        .with_seed(5)
        .with_messages(vec![ChatMessage::user("hi")]);
    let g = b.generate(&req, TokenSink::discard()).await.unwrap();
    assert_eq!(
        g.text,
        script(TINY, &chat_prompt([("user", "hi")]), 5, 30, &[]).text()
    );
    let last = s.requests().pop().unwrap();
    assert_eq!(last.path, "/api/chat");
    assert_eq!(
        last.body["messages"],
        json!([{"role": "user", "content": "hi"}])
    );
    assert_eq!(last.body["options"]["seed"], json!(5));
}

#[tokio::test]
async fn max_tokens_and_stop_strings() {
    let s = server().await;
    let b = ollama(&s);
    let g = b
        .generate(
            &GenerateRequest::new(TINY, "long", 3).with_seed(1),
            TokenSink::discard(),
        )
        .await
        .unwrap();
    assert_eq!(g.output_tokens, 3);
    assert_eq!(g.done_reason, DoneReason::Length);
    let full = script(TINY, "long", 1, 100, &[]);
    let stop = full.pieces[2].clone();
    let g = b
        .generate(
            &GenerateRequest::new(TINY, "long", 100)
                .with_seed(1)
                .with_stop(vec![stop.clone()]),
            TokenSink::discard(),
        )
        .await
        .unwrap();
    assert_eq!(g.text, full.text()[..full.text().find(&stop).unwrap()]);
    assert_eq!(g.done_reason, DoneReason::Stop);
}

#[tokio::test]
async fn an_error_line_mid_stream_is_a_typed_error_not_output() {
    let s = server().await;
    let b = ollama(&s);
    s.push_fault(Fault::ErrorAfter(3));
    let (sink, mut rx) = TokenSink::channel();
    let e = b
        .generate(&GenerateRequest::new(TINY, "p", 100).with_seed(9), sink)
        .await
        .unwrap_err();
    match &e {
        InferenceError::Stream {
            pieces, message, ..
        } => {
            assert_eq!(*pieces, 3);
            assert!(message.contains("unexpected EOF"), "{message}");
        }
        other => panic!("expected a stream error, got {other:?}"),
    }
    assert!(e.is_transient());
    assert_eq!(drain(&mut rx).len(), 3);
    // The next request is fine again.
    b.generate(&GenerateRequest::new(TINY, "p", 100), TokenSink::discard())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_model_that_is_not_pulled_is_a_clear_404() {
    let s = server().await;
    let b = ollama(&s);
    let e = b
        .generate(
            &GenerateRequest::new("llama9:70b", "p", 10),
            TokenSink::discard(),
        )
        .await
        .unwrap_err();
    match &e {
        InferenceError::ModelNotFound { model, message, .. } => {
            assert_eq!(model, "llama9:70b");
            assert_eq!(
                message,
                "model \"llama9:70b\" not found, try pulling it first"
            );
        }
        other => panic!("expected ModelNotFound, got {other:?}"),
    }
    assert!(!e.is_transient());
    assert!(e.to_string().contains("comqute models pull llama9:70b"));
    // Not retried.
    assert_eq!(
        s.requests()
            .iter()
            .filter(|r| r.path == "/api/generate")
            .count(),
        1
    );
}

#[tokio::test]
async fn busy_is_retried_with_backoff_then_succeeds() {
    let s = server().await;
    let b = ollama(&s);
    s.push_fault(Fault::Busy);
    s.push_fault(Fault::Busy);
    let g = b
        .generate(&GenerateRequest::new(TINY, "p", 10), TokenSink::discard())
        .await
        .unwrap();
    assert!(!g.text.is_empty());
    assert_eq!(s.busy_answers(), 2);
    assert_eq!(
        s.requests()
            .iter()
            .filter(|r| r.path == "/api/generate")
            .count(),
        3
    );
}

#[tokio::test]
async fn busy_for_ever_gives_up_after_the_retries() {
    let s = server().await;
    let opts = HttpOptions {
        retries: 2,
        ..fast()
    };
    let b = OllamaBackend::with_options(&s.url(), opts).unwrap();
    for _ in 0..5 {
        s.push_fault(Fault::Busy);
    }
    let e = b
        .generate(&GenerateRequest::new(TINY, "p", 10), TokenSink::discard())
        .await
        .unwrap_err();
    match e {
        InferenceError::Busy {
            attempts, message, ..
        } => {
            assert_eq!(attempts, 3);
            assert!(message.contains("server busy"), "{message}");
        }
        other => panic!("expected Busy, got {other:?}"),
    }
}

#[tokio::test]
async fn the_concurrency_limit_answers_503() {
    let s = server_with(TestServerConfig {
        max_concurrent: 1,
        token_delay: Duration::from_millis(40),
        ..TestServerConfig::default()
    })
    .await;
    let no_retry = OllamaBackend::with_options(
        &s.url(),
        HttpOptions {
            retries: 0,
            ..fast()
        },
    )
    .unwrap();
    let patient = OllamaBackend::with_options(
        &s.url(),
        HttpOptions {
            retries: 8,
            backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(500),
            ..fast()
        },
    )
    .unwrap();
    let slow = GenerateRequest::new(TINY, "p", 8).with_seed(1);
    let first = no_retry.generate(&slow, TokenSink::discard());
    let second = async {
        tokio::time::sleep(Duration::from_millis(60)).await;
        let e = no_retry
            .generate(&slow, TokenSink::discard())
            .await
            .unwrap_err();
        assert!(
            matches!(e, InferenceError::Busy { attempts: 1, .. }),
            "{e:?}"
        );
        // A backend that retries long enough gets through once the first is done.
        patient.generate(&slow, TokenSink::discard()).await
    };
    let (a, b) = tokio::join!(first, second);
    assert_eq!(a.unwrap().text, b.unwrap().text);
    assert!(s.busy_answers() >= 1);
}

#[tokio::test]
async fn first_token_timeout() {
    let s = server_with(TestServerConfig {
        first_token_delay: Duration::from_secs(5),
        ..TestServerConfig::default()
    })
    .await;
    let b = OllamaBackend::with_options(&s.url(), timeouts(300, 5_000)).unwrap();
    let t = std::time::Instant::now();
    let e = b
        .generate(&GenerateRequest::new(TINY, "p", 10), TokenSink::discard())
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
    assert!(t.elapsed() < Duration::from_secs(3));
    // A server that never even sends headers.
    s.set_delays(Duration::ZERO, Duration::ZERO);
    s.push_fault(Fault::Hang);
    let e = b
        .generate(&GenerateRequest::new(TINY, "p", 10), TokenSink::discard())
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
}

#[tokio::test]
async fn idle_timeout_once_output_started() {
    let s = server().await;
    let b = OllamaBackend::with_options(&s.url(), timeouts(5_000, 300)).unwrap();
    s.push_fault(Fault::StallAfter(2));
    let (sink, mut rx) = TokenSink::channel();
    let e = b
        .generate(&GenerateRequest::new(TINY, "p", 50), sink)
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
    assert_eq!(drain(&mut rx).len(), 2);
}

#[tokio::test]
async fn cut_streams_are_truncated_errors() {
    let s = server().await;
    let b = ollama(&s);
    s.push_fault(Fault::TruncateAfter(2));
    let e = b
        .generate(&GenerateRequest::new(TINY, "p", 50), TokenSink::discard())
        .await
        .unwrap_err();
    assert!(
        matches!(e, InferenceError::Truncated { pieces: 2, .. }),
        "{e:?}"
    );
    s.push_fault(Fault::ResetAfter(2));
    let e = b
        .generate(&GenerateRequest::new(TINY, "p", 50), TokenSink::discard())
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            InferenceError::Truncated {
                pieces: 2,
                detail: Some(_),
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.is_transient());
}

#[tokio::test]
async fn garbage_answers_are_protocol_errors() {
    let s = server().await;
    let b = ollama(&s);
    for f in [Fault::NotJson, Fault::WrongShape, Fault::InvalidUtf8] {
        s.push_fault(f);
        let e = b
            .generate(&GenerateRequest::new(TINY, "p", 50), TokenSink::discard())
            .await
            .unwrap_err();
        assert!(matches!(e, InferenceError::Protocol { .. }), "{f:?}: {e:?}");
        assert!(!e.is_transient());
    }
}

#[tokio::test]
async fn a_killed_server_mid_job_then_refused_then_back() {
    let s = server_with(TestServerConfig {
        token_delay: Duration::from_millis(5),
        ..TestServerConfig::default()
    })
    .await;
    let b = ollama(&s);
    s.push_fault(Fault::KillAfter(2));
    let e = b
        .generate(&GenerateRequest::new(TINY, "p", 50), TokenSink::discard())
        .await
        .unwrap_err();
    assert!(
        matches!(e, InferenceError::Truncated { pieces: 2, .. }),
        "{e:?}"
    );
    assert!(!s.is_running());
    let e = b
        .generate(&GenerateRequest::new(TINY, "p", 50), TokenSink::discard())
        .await
        .unwrap_err();
    assert!(matches!(e, InferenceError::Unreachable { .. }), "{e:?}");
    assert!(e.is_transient());
    s.restart().await.unwrap();
    let g = b
        .generate(
            &GenerateRequest::new(TINY, "p", 50).with_seed(4),
            TokenSink::discard(),
        )
        .await
        .unwrap();
    assert_eq!(g.text, script(TINY, "p", 4, 50, &[]).text());
}

#[tokio::test]
async fn a_server_that_is_not_ollama() {
    let s = server().await;
    // Every /nowhere/api/* path is an axum 404 with an empty body.
    let b = OllamaBackend::with_options(&format!("{}/nowhere", s.url()), fast()).unwrap();
    let e = b
        .generate(&GenerateRequest::new(TINY, "p", 5), TokenSink::discard())
        .await
        .unwrap_err();
    match e {
        InferenceError::Http {
            status: 404,
            message,
            ..
        } => assert!(message.contains("an Ollama server?"), "{message}"),
        other => panic!("expected Http 404, got {other:?}"),
    }
    assert!(matches!(
        b.version().await,
        Err(InferenceError::Http { status: 404, .. })
    ));
}

#[tokio::test]
async fn invalid_requests_are_refused_before_sending() {
    let s = server().await;
    let b = ollama(&s);
    for req in [
        GenerateRequest::new("", "p", 5),
        GenerateRequest::new(TINY, "p", 0),
    ] {
        let e = b.generate(&req, TokenSink::discard()).await.unwrap_err();
        assert!(matches!(e, InferenceError::InvalidRequest(_)), "{e:?}");
    }
    assert!(s.requests().is_empty());
}

#[tokio::test]
async fn tags_show_version() {
    let s = server().await;
    let b = ollama(&s);
    assert_eq!(b.version().await.unwrap(), "0.12.0-comqute-test");
    let tags = b.tags().await.unwrap();
    let names: Vec<_> = tags.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["comqute-test:tiny", "comqute-test:small"]);
    assert_eq!(tags[0].family.as_deref(), Some("stand-in"));
    assert_eq!(tags[0].quantization.as_deref(), Some("Q4_K_M"));
    assert_eq!(tags[0].digest.as_ref().map(String::len), Some(64));
    assert!(tags[0].size.unwrap() > 0);
    assert_eq!(b.models().await.unwrap(), tags);
    let show = b.show(TINY).await.unwrap();
    assert_eq!(show.capabilities, ["completion"]);
    assert_eq!(show.format.as_deref(), Some("gguf"));
    assert_eq!(show.model_info["stand-in.context_length"], json!(2048));
    let e = b.show("nope:1b").await.unwrap_err();
    assert!(matches!(e, InferenceError::ModelNotFound { .. }), "{e:?}");
}

#[tokio::test]
async fn pull_reports_progress_then_the_model_is_served() {
    let s = server().await;
    let b = ollama(&s);
    let model = "comqute-test:pullable";
    assert!(matches!(
        b.generate(&GenerateRequest::new(model, "p", 5), TokenSink::discard())
            .await,
        Err(InferenceError::ModelNotFound { .. })
    ));
    let mut lines = Vec::new();
    b.pull(model, |p| lines.push(p.clone())).await.unwrap();
    assert_eq!(lines.first().unwrap().status, "pulling manifest");
    assert_eq!(lines.last().unwrap().status, "success");
    assert!(lines.iter().any(|p| p.status == "verifying sha256 digest"));
    let layer: Vec<_> = lines.iter().filter(|p| p.digest.is_some()).collect();
    assert!(layer.len() >= 4);
    assert!(layer[0].digest.as_ref().unwrap().starts_with("sha256:"));
    // Completed is absent while zero, then grows to the total.
    assert_eq!(layer[0].completed, None);
    assert_eq!(layer[3].completed, layer[3].total);
    assert!(b.tags().await.unwrap().iter().any(|m| m.name == model));
    b.generate(&GenerateRequest::new(model, "p", 5), TokenSink::discard())
        .await
        .unwrap();
}

#[tokio::test]
async fn pulling_an_unknown_model_fails_with_the_servers_words() {
    let s = server().await;
    let b = ollama(&s);
    let mut lines = Vec::new();
    let e = b
        .pull("does-not:exist", |p| lines.push(p.status.clone()))
        .await
        .unwrap_err();
    assert_eq!(lines, ["pulling manifest"]);
    match e {
        InferenceError::Stream { message, .. } => {
            assert_eq!(message, "pull model manifest: file does not exist")
        }
        other => panic!("expected a stream error, got {other:?}"),
    }
}

#[tokio::test]
async fn dropping_the_future_frees_the_server() {
    let s = server_with(TestServerConfig {
        token_delay: Duration::from_millis(50),
        ..TestServerConfig::default()
    })
    .await;
    let b = ollama(&s);
    let req = GenerateRequest::new(TINY, "p", 100);
    let run = b.generate(&req, TokenSink::discard());
    assert!(tokio::time::timeout(Duration::from_millis(120), run)
        .await
        .is_err());
    // The server notices the closed connection and frees its slot.
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    while s.active() > 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(s.active(), 0);
}

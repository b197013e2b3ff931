//! See `comqute_inference::fuzz::ollama_ndjson`: the stream decoders never panic, give the
//! same items and errors however the bytes are split, and valid lines round-trip.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| comqute_inference::fuzz::ollama_ndjson(data));

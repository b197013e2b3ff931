//! The check behind the `ollama_ndjson` fuzz target in `fuzz/`, kept here so that `cargo
//! test` replays the committed corpus (`fuzz/corpus/ollama_ndjson`) through exactly the same
//! code (`tests/fuzz_corpus.rs`) without a fuzzer. It panics only when an invariant breaks:
//! that is what a fuzzer reports.

use serde_json::Value;

use crate::ndjson::{excerpt, DecodeError, LineDecoder, NdjsonDecoder, SseDecoder, Utf8Decoder};

/// Line limits the first input byte chooses from: small ones reach `LineTooLong`.
const LIMITS: [usize; 4] = [1 << 20, 7, 40, 300];

/// What a decoder delivered: everything before its first error, and that error.
#[derive(Debug, PartialEq)]
struct Outcome<T> {
    items: Vec<T>,
    error: Option<DecodeError>,
}

/// The common face of the stream decoders.
trait Decoder {
    type Item;
    fn push(&mut self, chunk: &[u8]) -> Result<Vec<Self::Item>, DecodeError>;
    fn finish(&mut self) -> Result<Vec<Self::Item>, DecodeError>;
}

impl Decoder for NdjsonDecoder {
    type Item = Value;
    fn push(&mut self, chunk: &[u8]) -> Result<Vec<Value>, DecodeError> {
        NdjsonDecoder::push(self, chunk)
    }
    fn finish(&mut self) -> Result<Vec<Value>, DecodeError> {
        NdjsonDecoder::finish(self).map(|v| v.into_iter().collect())
    }
}

impl Decoder for LineDecoder {
    type Item = String;
    fn push(&mut self, chunk: &[u8]) -> Result<Vec<String>, DecodeError> {
        LineDecoder::push(self, chunk)
    }
    fn finish(&mut self) -> Result<Vec<String>, DecodeError> {
        LineDecoder::finish(self).map(|v| v.into_iter().collect())
    }
}

impl Decoder for SseDecoder {
    type Item = crate::ndjson::SseEvent;
    fn push(&mut self, chunk: &[u8]) -> Result<Vec<Self::Item>, DecodeError> {
        SseDecoder::push(self, chunk)
    }
    fn finish(&mut self) -> Result<Vec<Self::Item>, DecodeError> {
        SseDecoder::finish(self).map(|v| v.into_iter().collect())
    }
}

/// Text comes out one `String` per push; joined, it is compared as one item.
impl Decoder for Utf8Decoder {
    type Item = String;
    fn push(&mut self, chunk: &[u8]) -> Result<Vec<String>, DecodeError> {
        Utf8Decoder::push(self, chunk).map(|s| vec![s])
    }
    fn finish(&mut self) -> Result<Vec<String>, DecodeError> {
        Utf8Decoder::finish(self).map(|()| Vec::new())
    }
}

/// Feeds `chunks` then ends the stream, stopping at the first error. After an error the
/// decoder keeps answering with it.
fn run<D: Decoder>(mut d: D, chunks: &[&[u8]]) -> Outcome<D::Item> {
    let mut items = Vec::new();
    let mut error = None;
    for c in chunks {
        match d.push(c) {
            Ok(v) => items.extend(v),
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    if error.is_none() {
        match d.finish() {
            Ok(v) => items.extend(v),
            Err(e) => error = Some(e),
        }
    }
    if let Some(e) = &error {
        assert_eq!(d.push(b"{}\n").as_ref().err(), Some(e), "the error sticks");
        assert_eq!(d.finish().as_ref().err(), Some(e), "the error sticks");
    }
    Outcome { items, error }
}

/// `bytes` cut at `cuts` (taken modulo its length + 1, sorted).
fn split<'a>(bytes: &'a [u8], cuts: &[u8]) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = cuts
        .iter()
        .map(|&c| usize::from(c) % (bytes.len() + 1))
        .collect();
    cuts.sort_unstable();
    let mut out = Vec::with_capacity(cuts.len() + 1);
    let mut prev = 0;
    for c in cuts {
        out.push(&bytes[prev..c]);
        prev = c;
    }
    out.push(&bytes[prev..]);
    out
}

/// What NDJSON decoding of `stream` must give, computed line by line from the whole
/// stream: each `\n`-terminated line and the unterminated rest, in order; a line longer
/// than the limit, not UTF-8 or not JSON is the error; blank lines are skipped.
fn reference(stream: &[u8], max_line: usize) -> Outcome<Value> {
    let mut items = Vec::new();
    let mut pieces: Vec<&[u8]> = stream.split(|&b| b == b'\n').collect();
    // The piece after the last `\n` is the unterminated rest (empty: none).
    let rest = pieces.pop().unwrap_or_default();
    let mut lines: Vec<&[u8]> = pieces;
    if !rest.is_empty() {
        lines.push(rest);
    }
    for (line_no, line) in (1u64..).zip(lines) {
        let error = |e| Outcome {
            items: items.clone(),
            error: Some(e),
        };
        if line.len() > max_line {
            return error(DecodeError::LineTooLong { limit: max_line });
        }
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Ok(text) = std::str::from_utf8(line) else {
            return error(DecodeError::NotUtf8 { line: line_no });
        };
        if text.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Value>(text) {
            Ok(v) => items.push(v),
            Err(e) => {
                return error(DecodeError::NotJson {
                    line: line_no,
                    detail: e.to_string(),
                    excerpt: excerpt(text, 120),
                })
            }
        }
    }
    Outcome { items, error: None }
}

/// The Ollama NDJSON stream decoder (and the line, SSE and UTF-8 decoders beside it) on
/// arbitrary bytes split at arbitrary points. The first byte picks the line limit, the next
/// three the cut points, the rest is the stream. Nothing panics; the stream whole, cut at
/// the chosen points and fed one byte at a time gives the same items and the same first
/// error, and that is what decoding it line by line gives; after an error every call
/// repeats it; every value delivered, written back as a line, decodes to itself.
pub fn ollama_ndjson(data: &[u8]) {
    let (head, stream) = data.split_at(data.len().min(4));
    let max_line = LIMITS[usize::from(head.first().copied().unwrap_or(0) & 3)];
    let cuts = head.get(1..).unwrap_or_default();
    let whole: &[&[u8]] = &[stream];
    let pieces = split(stream, cuts);
    let bytes: Vec<&[u8]> = stream.chunks(1).collect();

    let nd = run(NdjsonDecoder::new(max_line), whole);
    assert_eq!(nd, reference(stream, max_line), "NDJSON vs line by line");
    assert_eq!(
        run(NdjsonDecoder::new(max_line), &pieces),
        nd,
        "NDJSON split"
    );
    assert_eq!(
        run(NdjsonDecoder::new(max_line), &bytes),
        nd,
        "NDJSON bytes"
    );
    for v in &nd.items {
        let mut line = serde_json::to_vec(v).expect("a JSON value serializes");
        line.push(b'\n');
        let back = run(NdjsonDecoder::new(line.len()), &[line.as_slice()]);
        assert_eq!(back.error, None, "value round trip: {v}");
        assert_eq!(back.items.len(), 1, "value round trip: {v}");
        assert!(
            comqute_fuzzkit::json_same(&back.items[0], v),
            "value round trip: {v}"
        );
    }

    let lines = run(LineDecoder::new(max_line), whole);
    assert_eq!(
        run(LineDecoder::new(max_line), &pieces),
        lines,
        "lines split"
    );
    assert_eq!(
        run(LineDecoder::new(max_line), &bytes),
        lines,
        "lines bytes"
    );

    let sse = run(SseDecoder::new(max_line), whole);
    assert_eq!(run(SseDecoder::new(max_line), &pieces), sse, "SSE split");
    assert_eq!(run(SseDecoder::new(max_line), &bytes), sse, "SSE bytes");

    let text = |o: Outcome<String>| (o.items.concat(), o.error);
    let utf8 = text(run(Utf8Decoder::new(), whole));
    assert_eq!(text(run(Utf8Decoder::new(), &pieces)), utf8, "UTF-8 split");
    assert_eq!(text(run(Utf8Decoder::new(), &bytes)), utf8, "UTF-8 bytes");
    // The text before the first byte that is not UTF-8 (or before a character cut off by
    // the end of the stream), then the error there.
    let valid = match std::str::from_utf8(stream) {
        Ok(s) => (s.to_string(), None),
        Err(e) => (
            String::from_utf8_lossy(&stream[..e.valid_up_to()]).into_owned(),
            Some(DecodeError::InvalidUtf8 {
                offset: e.valid_up_to() as u64,
            }),
        ),
    };
    assert_eq!(utf8, valid, "UTF-8 vs std");
}

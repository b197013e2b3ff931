//! Incremental decoders for streamed HTTP bodies: bytes arrive in chunks that may end anywhere,
//! in the middle of a line or of a UTF-8 character.
//!
//! - [`LineDecoder`]: bytes → complete lines as `String`s. A line is decoded only once its
//!   `\n` has arrived, and `\n` never occurs inside a multi-byte UTF-8 sequence, so a character
//!   split across chunks is put back together before it is checked.
//! - [`NdjsonDecoder`]: lines → JSON values (Ollama's `application/x-ndjson`).
//! - [`SseDecoder`]: lines → server-sent events (OpenAI-compatible `text/event-stream`).
//! - [`Utf8Decoder`]: bytes → text for streams that are not line based: it holds back an
//!   incomplete character at the end of a chunk until the rest arrives.
//!
//! Every decoder gives the same output however the input is split (a property test splits
//! streams at every byte, the `ollama_ndjson` fuzz target at arbitrary points), bounds its
//! buffer, and reports malformed input as a [`DecodeError`], never a panic. That includes
//! errors: a push delivers everything completed before the first error and the error comes
//! from the next call (a push of its own if nothing came before it), and every call after
//! it repeats it. So a stream that ends with a `done` line and then garbage is a complete
//! stream however it was chunked, and the items before a bad line are never lost.

use std::fmt;

/// What went wrong while decoding a stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// A line is not valid UTF-8.
    NotUtf8 {
        /// 1-based line number.
        line: u64,
    },
    /// A line is not JSON.
    NotJson {
        /// 1-based line number.
        line: u64,
        /// serde_json's message.
        detail: String,
        /// The start of the line.
        excerpt: String,
    },
    /// A line grew beyond the limit without a newline.
    LineTooLong {
        /// The limit in bytes.
        limit: usize,
    },
    /// Bytes that can never be UTF-8 in a raw text stream.
    InvalidUtf8 {
        /// Offset of the bad byte in the stream.
        offset: u64,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::NotUtf8 { line } => write!(f, "line {line} is not valid UTF-8"),
            DecodeError::NotJson {
                line,
                detail,
                excerpt,
            } => write!(f, "line {line} is not JSON ({detail}): {excerpt:?}"),
            DecodeError::LineTooLong { limit } => {
                write!(f, "a line is longer than {limit} bytes")
            }
            DecodeError::InvalidUtf8 { offset } => {
                write!(f, "invalid UTF-8 at byte {offset}")
            }
        }
    }
}

impl std::error::Error for DecodeError {}

/// The start of `s`, at most `max` bytes, cut on a character boundary.
pub(crate) fn excerpt(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// Splits a byte stream into lines. `\n` ends a line; a `\r` before it is dropped. Lines are
/// returned without their terminator, empty lines included.
#[derive(Debug)]
pub struct LineDecoder {
    buf: Vec<u8>,
    /// Bytes of `buf` already searched for `\n`.
    scanned: usize,
    max_line: usize,
    line_no: u64,
    /// The first error; every call after it repeats it.
    error: Option<DecodeError>,
}

impl LineDecoder {
    /// A decoder that refuses lines longer than `max_line` bytes.
    pub fn new(max_line: usize) -> LineDecoder {
        LineDecoder {
            buf: Vec::new(),
            scanned: 0,
            max_line,
            line_no: 0,
            error: None,
        }
    }

    /// Feeds a chunk and returns the lines it completed before the first error, if any; the
    /// error comes from the next call (now, when no line came before it).
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<String>, DecodeError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        self.buf.extend_from_slice(chunk);
        let mut lines = Vec::new();
        let mut start = 0;
        let mut i = self.scanned;
        while let Some(pos) = self.buf[i..].iter().position(|&b| b == b'\n') {
            let end = i + pos;
            match self.decode(start, end) {
                Ok(line) => lines.push(line),
                Err(e) => {
                    self.error = Some(e);
                    break;
                }
            }
            start = end + 1;
            i = start;
        }
        if self.error.is_none() {
            self.buf.drain(..start);
            self.scanned = self.buf.len();
            if self.buf.len() > self.max_line {
                self.error = Some(DecodeError::LineTooLong {
                    limit: self.max_line,
                });
            }
        }
        match &self.error {
            Some(e) => {
                self.buf = Vec::new();
                self.scanned = 0;
                if lines.is_empty() {
                    Err(e.clone())
                } else {
                    Ok(lines)
                }
            }
            None => Ok(lines),
        }
    }

    /// Ends the stream: the last line if it had no newline (`None` when nothing is left).
    pub fn finish(&mut self) -> Result<Option<String>, DecodeError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        if self.buf.is_empty() {
            return Ok(None);
        }
        let end = self.buf.len();
        let line = self
            .decode(0, end)
            .inspect_err(|e| self.error = Some(e.clone()))?;
        self.buf.clear();
        self.scanned = 0;
        Ok(Some(line))
    }

    /// Lines completed so far.
    pub fn lines_seen(&self) -> u64 {
        self.line_no
    }

    fn decode(&mut self, start: usize, mut end: usize) -> Result<String, DecodeError> {
        self.line_no += 1;
        if end - start > self.max_line {
            return Err(DecodeError::LineTooLong {
                limit: self.max_line,
            });
        }
        if end > start && self.buf[end - 1] == b'\r' {
            end -= 1;
        }
        String::from_utf8(self.buf[start..end].to_vec())
            .map_err(|_| DecodeError::NotUtf8 { line: self.line_no })
    }
}

/// Newline-delimited JSON: one value per line, blank lines skipped.
#[derive(Debug)]
pub struct NdjsonDecoder {
    lines: LineDecoder,
    /// The first error; every call after it repeats it.
    error: Option<DecodeError>,
}

impl NdjsonDecoder {
    /// A decoder that refuses lines longer than `max_line` bytes.
    pub fn new(max_line: usize) -> NdjsonDecoder {
        NdjsonDecoder {
            lines: LineDecoder::new(max_line),
            error: None,
        }
    }

    /// Feeds a chunk and returns the values it completed before the first error, if any;
    /// the error comes from the next call (now, when no value came before it).
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<serde_json::Value>, DecodeError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        let first = self.lines.lines_seen();
        let lines = self
            .lines
            .push(chunk)
            .inspect_err(|e| self.error = Some(e.clone()))?;
        let mut out = Vec::with_capacity(lines.len());
        for (i, line) in lines.iter().enumerate() {
            match parse_line(line, first + i as u64 + 1) {
                Ok(Some(v)) => out.push(v),
                Ok(None) => {}
                Err(e) => {
                    self.error = Some(e.clone());
                    if out.is_empty() {
                        return Err(e);
                    }
                    break;
                }
            }
        }
        Ok(out)
    }

    /// Ends the stream: a last value without a newline, if any.
    pub fn finish(&mut self) -> Result<Option<serde_json::Value>, DecodeError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        let r = match self.lines.finish() {
            Ok(Some(line)) => parse_line(&line, self.lines.lines_seen()),
            Ok(None) => Ok(None),
            Err(e) => Err(e),
        };
        r.inspect_err(|e| self.error = Some(e.clone()))
    }
}

fn parse_line(line: &str, line_no: u64) -> Result<Option<serde_json::Value>, DecodeError> {
    if line.trim().is_empty() {
        return Ok(None);
    }
    serde_json::from_str(line)
        .map(Some)
        .map_err(|e| DecodeError::NotJson {
            line: line_no,
            detail: e.to_string(),
            excerpt: excerpt(line, 120),
        })
}

/// One server-sent event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field, if any. llama.cpp's server sends errors as a bare `error: {…}`
    /// field; that arrives here as event `error` with the JSON as its data.
    pub event: Option<String>,
    /// The `data:` fields joined with `\n`.
    pub data: String,
}

/// Server-sent events (`text/event-stream`): `field: value` lines, events separated by a blank
/// line, `:` comments ignored.
#[derive(Debug)]
pub struct SseDecoder {
    lines: LineDecoder,
    event: Option<String>,
    data: Option<String>,
}

impl SseDecoder {
    /// A decoder that refuses lines longer than `max_line` bytes.
    pub fn new(max_line: usize) -> SseDecoder {
        SseDecoder {
            lines: LineDecoder::new(max_line),
            event: None,
            data: None,
        }
    }

    /// Feeds a chunk and returns the events it completed.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<SseEvent>, DecodeError> {
        let mut out = Vec::new();
        for line in self.lines.push(chunk)? {
            self.line(line, &mut out);
        }
        Ok(out)
    }

    /// Ends the stream: an event whose blank line never came is still delivered.
    pub fn finish(&mut self) -> Result<Option<SseEvent>, DecodeError> {
        let mut out = Vec::new();
        if let Some(line) = self.lines.finish()? {
            self.line(line, &mut out);
        }
        self.dispatch(&mut out);
        Ok(out.pop())
    }

    fn dispatch(&mut self, out: &mut Vec<SseEvent>) {
        let event = self.event.take();
        if let Some(data) = self.data.take() {
            out.push(SseEvent { event, data });
        }
    }

    fn line(&mut self, line: String, out: &mut Vec<SseEvent>) {
        if line.is_empty() {
            self.dispatch(out);
            return;
        }
        if line.starts_with(':') {
            return;
        }
        let (field, value) = match line.find(':') {
            Some(i) => {
                let v = &line[i + 1..];
                (&line[..i], v.strip_prefix(' ').unwrap_or(v))
            }
            None => (line.as_str(), ""),
        };
        match field {
            "data" => match &mut self.data {
                Some(d) => {
                    d.push('\n');
                    d.push_str(value);
                }
                None => self.data = Some(value.to_string()),
            },
            "event" => self.event = Some(value.to_string()),
            "error" => {
                self.event = Some("error".to_string());
                self.data = Some(value.to_string());
            }
            _ => {}
        }
    }
}

/// Decodes a raw byte stream as UTF-8, holding back an incomplete character at the end of a
/// chunk until the rest arrives.
#[derive(Debug, Default)]
pub struct Utf8Decoder {
    pending: Vec<u8>,
    offset: u64,
    /// The first error; every call after it repeats it.
    error: Option<DecodeError>,
}

impl Utf8Decoder {
    /// A decoder at the start of a stream.
    pub fn new() -> Utf8Decoder {
        Utf8Decoder::default()
    }

    /// Feeds a chunk and returns the text it completed (possibly empty) before the first
    /// byte that can never be UTF-8, if any; the error comes from the next call (now, when
    /// no text came before it).
    pub fn push(&mut self, chunk: &[u8]) -> Result<String, DecodeError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        self.pending.extend_from_slice(chunk);
        let (valid, bad) = match std::str::from_utf8(&self.pending) {
            Ok(_) => (self.pending.len(), false),
            // An incomplete character at the end (`error_len` None) waits for the next chunk.
            Err(e) => (e.valid_up_to(), e.error_len().is_some()),
        };
        let rest = self.pending.split_off(valid);
        let text = String::from_utf8(std::mem::replace(&mut self.pending, rest))
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        self.offset += valid as u64;
        if bad {
            let e = DecodeError::InvalidUtf8 {
                offset: self.offset,
            };
            self.error = Some(e.clone());
            self.pending = Vec::new();
            if text.is_empty() {
                return Err(e);
            }
        }
        Ok(text)
    }

    /// Ends the stream; an incomplete character left over is an error.
    pub fn finish(&mut self) -> Result<(), DecodeError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        if self.pending.is_empty() {
            Ok(())
        } else {
            let e = DecodeError::InvalidUtf8 {
                offset: self.offset,
            };
            self.error = Some(e.clone());
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    /// Feeds `bytes` split at the given cut points.
    fn split_at<'a>(bytes: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
        cuts.sort_unstable();
        let mut out = Vec::new();
        let mut prev = 0;
        for c in cuts {
            out.push(&bytes[prev..c]);
            prev = c;
        }
        out.push(&bytes[prev..]);
        out
    }

    fn ndjson_all(chunks: &[&[u8]]) -> Result<Vec<serde_json::Value>, DecodeError> {
        let mut d = NdjsonDecoder::new(1 << 20);
        let mut out = Vec::new();
        for c in chunks {
            out.extend(d.push(c)?);
        }
        out.extend(d.finish()?);
        Ok(out)
    }

    fn sse_all(chunks: &[&[u8]]) -> Result<Vec<SseEvent>, DecodeError> {
        let mut d = SseDecoder::new(1 << 20);
        let mut out = Vec::new();
        for c in chunks {
            out.extend(d.push(c)?);
        }
        out.extend(d.finish()?);
        Ok(out)
    }

    const OLLAMA: &str = concat!(
        "{\"model\":\"m\",\"created_at\":\"2025-01-01T00:00:00Z\",\"response\":\"Hé\",\"done\":false}\n",
        "{\"model\":\"m\",\"response\":\"日本\",\"done\":false}\r\n",
        "\n",
        "{\"model\":\"m\",\"response\":\" 🦀\",\"done\":false}\n",
        "{\"model\":\"m\",\"response\":\"\",\"done\":true,\"done_reason\":\"stop\",\"eval_count\":3}\n",
    );

    #[test]
    fn ndjson_whole_stream() {
        let v = ndjson_all(&[OLLAMA.as_bytes()]).unwrap();
        assert_eq!(v.len(), 4);
        assert_eq!(v[1]["response"], json!("日本"));
        assert_eq!(v[3]["eval_count"], json!(3));
    }

    #[test]
    fn ndjson_split_at_every_byte_pair() {
        let bytes = OLLAMA.as_bytes();
        let whole = ndjson_all(&[bytes]).unwrap();
        for a in 0..=bytes.len() {
            for b in a..=bytes.len() {
                let got = ndjson_all(&[&bytes[..a], &bytes[a..b], &bytes[b..]]).unwrap();
                assert_eq!(got, whole, "cut at {a},{b}");
            }
        }
        // One byte at a time.
        let singles: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(ndjson_all(&singles).unwrap(), whole);
    }

    #[test]
    fn ndjson_last_line_without_newline() {
        let v = ndjson_all(&[b"{\"a\":1}\n{\"b\":", b"2}"]).unwrap();
        assert_eq!(v, vec![json!({"a":1}), json!({"b":2})]);
    }

    #[test]
    fn ndjson_garbage_is_an_error_not_a_panic() {
        let e = ndjson_all(&[b"<html>oops</html>\n"]).unwrap_err();
        assert!(matches!(e, DecodeError::NotJson { line: 1, .. }), "{e}");
        let e = ndjson_all(&[b"{\"a\":1}\n\xff\xfe\n"]).unwrap_err();
        assert_eq!(e, DecodeError::NotUtf8 { line: 2 });
        let mut d = NdjsonDecoder::new(16);
        assert_eq!(
            d.push(&[b'x'; 17]).unwrap_err(),
            DecodeError::LineTooLong { limit: 16 }
        );
        let mut d = NdjsonDecoder::new(16);
        assert!(d.push(b"{\"a\":\"0123456789abcdef\"}\n").is_err());
    }

    /// Regression (fuzz target `ollama_ndjson`): values in the same chunk as a later bad
    /// line were dropped with the error, and complete lines with a too-long rest after
    /// them, so a stream's outcome depended on how it was chunked: `done` then garbage was
    /// a finished generation in two chunks and a protocol error in one.
    #[test]
    fn what_comes_before_an_error_is_delivered_first() {
        let s = b"{\"response\":\"hi\",\"done\":false}\n{\"done\":true}\ngarbage\n";
        let mut d = NdjsonDecoder::new(1 << 20);
        assert_eq!(
            d.push(s).unwrap(),
            vec![
                json!({"response": "hi", "done": false}),
                json!({"done": true})
            ]
        );
        let e = d.push(b"").unwrap_err();
        assert!(matches!(e, DecodeError::NotJson { line: 3, .. }), "{e}");
        assert_eq!(d.finish().unwrap_err(), e);
        let mut l = LineDecoder::new(4);
        assert_eq!(l.push(b"ab\ncdefgh").unwrap(), vec!["ab".to_string()]);
        assert_eq!(
            l.push(b"").unwrap_err(),
            DecodeError::LineTooLong { limit: 4 }
        );
        assert_eq!(
            l.finish().unwrap_err(),
            DecodeError::LineTooLong { limit: 4 }
        );
        for cut in 0..=s.len() {
            assert_eq!(
                ndjson_all(&[&s[..cut], &s[cut..]]).unwrap_err(),
                e,
                "cut {cut}"
            );
        }
    }

    #[test]
    fn sse_llama_cpp_stream() {
        let s = concat!(
            "data: {\"choices\":[{\"delta\":{\"content\":\"é\"}}]}\n\n",
            ": keep-alive comment\n\n",
            "data:{\"x\":1}\r\n\r\n",
            "event: ping\ndata: a\ndata: b\n\n",
            "error: {\"code\":500,\"message\":\"boom\"}\n\n",
            "data: [DONE]\n\n",
        );
        let ev = sse_all(&[s.as_bytes()]).unwrap();
        assert_eq!(ev.len(), 5);
        assert_eq!(
            ev[0].data,
            "{\"choices\":[{\"delta\":{\"content\":\"é\"}}]}"
        );
        assert_eq!(ev[1].data, "{\"x\":1}");
        assert_eq!(ev[2].event.as_deref(), Some("ping"));
        assert_eq!(ev[2].data, "a\nb");
        assert_eq!(ev[3].event.as_deref(), Some("error"));
        assert_eq!(ev[3].data, "{\"code\":500,\"message\":\"boom\"}");
        assert_eq!(ev[4].data, "[DONE]");
        for cut in 0..=s.len() {
            let b = s.as_bytes();
            assert_eq!(sse_all(&[&b[..cut], &b[cut..]]).unwrap(), ev, "cut {cut}");
        }
    }

    #[test]
    fn sse_event_without_final_blank_line() {
        let ev = sse_all(&[b"data: x"]).unwrap();
        assert_eq!(
            ev,
            vec![SseEvent {
                event: None,
                data: "x".into()
            }]
        );
    }

    #[test]
    fn utf8_holds_back_partial_characters() {
        let mut d = Utf8Decoder::new();
        let crab = "🦀".as_bytes();
        assert_eq!(d.push(&crab[..1]).unwrap(), "");
        assert_eq!(d.push(&crab[1..3]).unwrap(), "");
        assert_eq!(d.push(&[crab[3], b'a']).unwrap(), "🦀a");
        d.finish().unwrap();
        assert_eq!(d.push(&crab[..2]).unwrap(), "");
        assert!(d.finish().is_err());
        // The text before a bad byte comes first, then the error, which sticks.
        let mut d = Utf8Decoder::new();
        assert_eq!(d.push(b"ab\xffcd").unwrap(), "ab");
        assert_eq!(
            d.push(b"ef").unwrap_err(),
            DecodeError::InvalidUtf8 { offset: 2 }
        );
        assert_eq!(
            d.finish().unwrap_err(),
            DecodeError::InvalidUtf8 { offset: 2 }
        );
    }

    #[test]
    fn excerpt_cuts_on_a_character_boundary() {
        assert_eq!(excerpt("héllo", 2), "h…");
        assert_eq!(excerpt("abc", 5), "abc");
    }

    fn text_strategy() -> impl Strategy<Value = Vec<String>> {
        prop::collection::vec(
            prop::sample::select(vec![
                "a",
                "é",
                "日本",
                "🦀",
                " ",
                "\\",
                "\"",
                "\u{7f}",
                "ü̈",
                "\u{10FFFF}",
            ])
            .prop_map(str::to_string),
            0..12,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Any NDJSON stream, split at every single byte position and at random points,
        /// decodes to the same values.
        #[test]
        fn ndjson_any_split(pieces in text_strategy(), cuts in prop::collection::vec(0usize..10_000, 0..8)) {
            let mut stream = String::new();
            for (i, p) in pieces.iter().enumerate() {
                stream.push_str(&serde_json::to_string(&json!({"response": p, "i": i, "done": false})).unwrap());
                stream.push('\n');
            }
            stream.push_str("{\"done\":true}");
            let bytes = stream.as_bytes();
            let whole = ndjson_all(&[bytes]).unwrap();
            prop_assert_eq!(whole.len(), pieces.len() + 1);
            for (i, p) in pieces.iter().enumerate() {
                prop_assert_eq!(whole[i]["response"].as_str().unwrap(), p.as_str());
            }
            for cut in 0..=bytes.len() {
                prop_assert_eq!(&ndjson_all(&[&bytes[..cut], &bytes[cut..]]).unwrap(), &whole);
            }
            prop_assert_eq!(&ndjson_all(&split_at(bytes, &cuts)).unwrap(), &whole);
        }

        /// Raw UTF-8 split anywhere comes back whole.
        #[test]
        fn utf8_any_split(pieces in text_strategy(), cuts in prop::collection::vec(0usize..10_000, 0..8)) {
            let text: String = pieces.concat();
            let bytes = text.as_bytes();
            for cut in 0..=bytes.len() {
                let mut d = Utf8Decoder::new();
                let mut got = d.push(&bytes[..cut]).unwrap();
                got.push_str(&d.push(&bytes[cut..]).unwrap());
                d.finish().unwrap();
                prop_assert_eq!(&got, &text);
            }
            let mut d = Utf8Decoder::new();
            let mut got = String::new();
            for c in split_at(bytes, &cuts) {
                got.push_str(&d.push(c).unwrap());
            }
            d.finish().unwrap();
            prop_assert_eq!(got, text);
        }

        /// SSE split anywhere gives the same events.
        #[test]
        fn sse_any_split(pieces in text_strategy()) {
            let mut stream = String::new();
            for p in &pieces {
                let chunk = json!({"choices": [{"delta": {"content": p}}]});
                stream.push_str(&format!("data: {chunk}\n\n"));
            }
            stream.push_str("data: [DONE]\n\n");
            let bytes = stream.as_bytes();
            let whole = sse_all(&[bytes]).unwrap();
            prop_assert_eq!(whole.len(), pieces.len() + 1);
            for cut in 0..=bytes.len() {
                prop_assert_eq!(&sse_all(&[&bytes[..cut], &bytes[cut..]]).unwrap(), &whole);
            }
        }
    }
}

//! A SentencePiece-style tokenizer read from GGUF metadata (`tokenizer.ggml.model = llama`)
//! that reproduces llama.cpp's ids.
//!
//! The algorithm is llama.cpp's `llm_tokenizer_spm_session` (`src/llama-vocab.cpp`):
//! 1. **Specials first.** Control, user-defined and unknown tokens are cut out of the text
//!    before anything else, longest text first (ties by id), each one splitting every text
//!    fragment at every occurrence, left to right. Control and unknown tokens are only
//!    recognised when specials are parsed; user-defined ones (runs of newlines, spaces, tabs,
//!    some HTML tags in Gemma's vocabulary) always are.
//! 2. **Spaces become `▁`** (U+2581) in each remaining fragment (and a space is put in front
//!    when the vocabulary asks for a space prefix; Gemma's does not).
//! 3. **Greedy bigram merge.** The fragment starts as one symbol per UTF-8 character; every
//!    adjacent pair whose concatenation is a vocabulary piece is queued with that piece's
//!    score; the highest score (then the leftmost) is merged, new neighbours are queued, stale
//!    entries are skipped, until nothing merges. The scores are merge priorities, not
//!    probabilities, which is why a Unigram model built from them gives other ids.
//! 4. **Byte fallback.** A final symbol that is not a piece is emitted as `<0xXX>` tokens, one
//!    per byte.
//!
//! BOS is added in front when the vocabulary says so (`tokenizer.ggml.add_bos_token`).

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};

use candle_core::quantized::gguf_file::{Content, Value};

/// What kind of token an id is (GGUF `tokenizer.ggml.token_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// An ordinary piece; `▁` stands for a space.
    Normal,
    /// The unknown token.
    Unknown,
    /// A control token (`<bos>`, `<eos>`, `<start_of_turn>`, …): no text of its own.
    Control,
    /// A user-defined token, matched literally in text and shown as its text.
    UserDefined,
    /// A piece marked unused.
    Unused,
    /// A byte-fallback token `<0xXX>`.
    Byte,
    /// Anything else.
    Undefined,
}

impl TokenKind {
    fn from_gguf(v: i64) -> TokenKind {
        match v {
            1 => TokenKind::Normal,
            2 => TokenKind::Unknown,
            3 => TokenKind::Control,
            4 => TokenKind::UserDefined,
            5 => TokenKind::Unused,
            6 => TokenKind::Byte,
            _ => TokenKind::Undefined,
        }
    }
}

/// The tokenizer. Cheap to share by reference; tokenizing does not mutate it.
#[derive(Debug)]
pub struct Tokenizer {
    pieces: Vec<String>,
    scores: Vec<f32>,
    kinds: Vec<TokenKind>,
    piece_to_id: HashMap<String, u32>,
    /// Special tokens in matching order: longest text first, then lowest id.
    specials: Vec<u32>,
    byte_ids: [u32; 256],
    bos: u32,
    eos: u32,
    eot: Option<u32>,
    /// Tokens that end a generation, sorted.
    eog: Vec<u32>,
    add_bos: bool,
    add_space_prefix: bool,
}

/// Why the tokenizer metadata could not be used.
pub(crate) type MetaError = String;

fn md<'a>(ct: &'a Content, key: &str) -> Result<&'a Value, MetaError> {
    ct.metadata
        .get(key)
        .ok_or_else(|| format!("metadata key {key} is missing"))
}

fn md_u32(ct: &Content, key: &str) -> Result<u32, MetaError> {
    md(ct, key)?
        .to_u32()
        .map_err(|e| format!("metadata key {key}: {e}"))
}

fn md_bool_or(ct: &Content, key: &str, default: bool) -> Result<bool, MetaError> {
    match ct.metadata.get(key) {
        None => Ok(default),
        Some(v) => v.to_bool().map_err(|e| format!("metadata key {key}: {e}")),
    }
}

fn value_as_i64(v: &Value) -> Option<i64> {
    match v {
        Value::U8(x) => Some(i64::from(*x)),
        Value::I8(x) => Some(i64::from(*x)),
        Value::U16(x) => Some(i64::from(*x)),
        Value::I16(x) => Some(i64::from(*x)),
        Value::U32(x) => Some(i64::from(*x)),
        Value::I32(x) => Some(i64::from(*x)),
        Value::I64(x) => Some(*x),
        Value::U64(x) => i64::try_from(*x).ok(),
        _ => None,
    }
}

impl Tokenizer {
    /// Reads only the tokenizer of a GGUF file (its metadata, not the weights).
    pub fn load(path: &std::path::Path) -> Result<Tokenizer, crate::InferenceError> {
        let f = std::fs::File::open(path)
            .map_err(|e| crate::InferenceError::io(format!("opening {}", path.display()), e))?;
        let mut r = std::io::BufReader::new(f);
        let ct = Content::read(&mut r).map_err(|e| {
            crate::InferenceError::bad_model(path, format!("not a readable GGUF file: {e}"))
        })?;
        Tokenizer::from_gguf(&ct).map_err(|reason| crate::InferenceError::bad_model(path, reason))
    }

    /// Builds the tokenizer from a GGUF file's metadata.
    pub(crate) fn from_gguf(ct: &Content) -> Result<Tokenizer, MetaError> {
        let model = md(ct, "tokenizer.ggml.model")?
            .to_string()
            .map_err(|e| format!("tokenizer.ggml.model: {e}"))?;
        if model != "llama" {
            return Err(format!(
                "tokenizer.ggml.model is {model:?}; the built-in tokenizer handles only \
                 SentencePiece-style (\"llama\") vocabularies"
            ));
        }
        let tokens = md(ct, "tokenizer.ggml.tokens")?
            .to_vec()
            .map_err(|e| format!("tokenizer.ggml.tokens: {e}"))?;
        let n = tokens.len();
        if n == 0 || n > u32::MAX as usize {
            return Err(format!("tokenizer.ggml.tokens has {n} entries"));
        }
        let mut pieces = Vec::with_capacity(n);
        for (i, t) in tokens.iter().enumerate() {
            match t {
                Value::String(s) => pieces.push(s.clone()),
                _ => return Err(format!("tokenizer.ggml.tokens[{i}] is not a string")),
            }
        }
        let scores: Vec<f32> = match ct.metadata.get("tokenizer.ggml.scores") {
            None => vec![0.0; n],
            Some(v) => {
                let v = v
                    .to_vec()
                    .map_err(|e| format!("tokenizer.ggml.scores: {e}"))?;
                if v.len() != n {
                    return Err(format!(
                        "tokenizer.ggml.scores has {} entries for {n} tokens",
                        v.len()
                    ));
                }
                v.iter()
                    .enumerate()
                    .map(|(i, s)| match s {
                        Value::F32(x) => Ok(*x),
                        Value::F64(x) => Ok(*x as f32),
                        _ => Err(format!("tokenizer.ggml.scores[{i}] is not a float")),
                    })
                    .collect::<Result<_, _>>()?
            }
        };
        let kinds: Vec<TokenKind> = match ct.metadata.get("tokenizer.ggml.token_type") {
            None => vec![TokenKind::Normal; n],
            Some(v) => {
                let v = v
                    .to_vec()
                    .map_err(|e| format!("tokenizer.ggml.token_type: {e}"))?;
                if v.len() != n {
                    return Err(format!(
                        "tokenizer.ggml.token_type has {} entries for {n} tokens",
                        v.len()
                    ));
                }
                v.iter()
                    .enumerate()
                    .map(|(i, t)| {
                        value_as_i64(t).map(TokenKind::from_gguf).ok_or_else(|| {
                            format!("tokenizer.ggml.token_type[{i}] is not an integer")
                        })
                    })
                    .collect::<Result<_, _>>()?
            }
        };
        let n_u32 = n as u32; // checked above: n <= u32::MAX
        let id_in_range = |key: &str, id: u32| {
            if id < n_u32 {
                Ok(id)
            } else {
                Err(format!("{key} = {id} is outside the vocabulary of {n}"))
            }
        };
        let bos = id_in_range(
            "tokenizer.ggml.bos_token_id",
            md_u32(ct, "tokenizer.ggml.bos_token_id")?,
        )?;
        let eos = id_in_range(
            "tokenizer.ggml.eos_token_id",
            md_u32(ct, "tokenizer.ggml.eos_token_id")?,
        )?;
        let add_bos = md_bool_or(ct, "tokenizer.ggml.add_bos_token", true)?;
        let add_space_prefix = md_bool_or(ct, "tokenizer.ggml.add_space_prefix", true)?;

        let mut piece_to_id = HashMap::with_capacity(n);
        for (i, p) in pieces.iter().enumerate() {
            // Later duplicates win, as in llama.cpp's `token_to_id[word] = i`.
            piece_to_id.insert(p.clone(), i as u32);
        }
        let mut byte_ids = [0u32; 256];
        for (b, slot) in byte_ids.iter_mut().enumerate() {
            let text = format!("<0x{b:02X}>");
            *slot = match piece_to_id.get(&text) {
                Some(&id) => id,
                None => {
                    // llama.cpp falls back to the one-byte piece itself.
                    let raw = [b as u8];
                    match std::str::from_utf8(&raw)
                        .ok()
                        .and_then(|s| piece_to_id.get(s))
                    {
                        Some(&id) => id,
                        None => return Err(format!("the vocabulary has no byte token {text}")),
                    }
                }
            };
        }
        let eot = EOT_NAMES.iter().find_map(|n| piece_to_id.get(*n).copied());
        let mut kinds = kinds;
        // llama.cpp's end-of-generation set: the tokens it knows by name, plus EOS and EOT.
        // It forces each to be a control token (Gemma's `</s>`, a user-defined HTML tag, so
        // stops generation, renders as nothing and is not cut out of unparsed text).
        let mut eog: Vec<u32> = EOG_NAMES
            .iter()
            .filter_map(|n| piece_to_id.get(*n).copied())
            .collect();
        let has = |n: &str| piece_to_id.contains_key(n);
        if (has("<|return|>") && has("<|call|>") || has("<|calls|>") && has("<|flush|>"))
            && has("<|end|>")
        {
            eog.retain(|&id| pieces[id as usize] != "<|end|>");
        }
        if has("<|tool_response>") || has("<|plamo:eos|>") {
            if let Some(&s) = piece_to_id.get("</s>") {
                eog.retain(|&id| id != s);
                kinds[s as usize] = TokenKind::Normal;
            }
        }
        for &id in &eog {
            kinds[id as usize] = TokenKind::Control;
        }
        if let Some(eot) = eot {
            kinds[eot as usize] = TokenKind::Control;
            eog.push(eot);
        }
        eog.push(eos);
        eog.sort_unstable();
        eog.dedup();
        let mut specials: Vec<u32> = (0..n_u32)
            .filter(|&id| {
                matches!(
                    kinds[id as usize],
                    TokenKind::Control | TokenKind::UserDefined | TokenKind::Unknown
                ) && !pieces[id as usize].is_empty()
            })
            .collect();
        specials.sort_by(|&a, &b| {
            pieces[b as usize]
                .len()
                .cmp(&pieces[a as usize].len())
                .then(a.cmp(&b))
        });
        Ok(Tokenizer {
            pieces,
            scores,
            kinds,
            piece_to_id,
            specials,
            byte_ids,
            bos,
            eos,
            eot,
            eog,
            add_bos,
            add_space_prefix,
        })
    }

    /// Number of tokens in the vocabulary.
    pub fn vocab_size(&self) -> usize {
        self.pieces.len()
    }

    /// The beginning-of-sequence token.
    pub fn bos(&self) -> u32 {
        self.bos
    }

    /// The end-of-sequence token.
    pub fn eos(&self) -> u32 {
        self.eos
    }

    /// The end-of-turn token (`<end_of_turn>`), when the vocabulary has one.
    pub fn eot(&self) -> Option<u32> {
        self.eot
    }

    /// Whether generation ends at this token: llama.cpp's end-of-generation set (EOS, end of
    /// turn, and the end markers it knows by name; for Gemma 3: `<eos>`, `<end_of_turn>`,
    /// `</s>`).
    pub fn is_end_of_generation(&self, id: u32) -> bool {
        self.eog.binary_search(&id).is_ok()
    }

    /// The end-of-generation tokens, sorted.
    pub fn end_of_generation(&self) -> &[u32] {
        &self.eog
    }

    /// The piece text of a token as stored in the vocabulary (`▁` for spaces, `<0x0A>` for a
    /// byte token), or `None` for an id outside the vocabulary.
    pub fn piece(&self, id: u32) -> Option<&str> {
        self.pieces.get(id as usize).map(String::as_str)
    }

    /// The kind of a token, or `None` for an id outside the vocabulary.
    pub fn kind(&self, id: u32) -> Option<TokenKind> {
        self.kinds.get(id as usize).copied()
    }

    /// The id of a piece text, when the vocabulary has it.
    pub fn id_of(&self, piece: &str) -> Option<u32> {
        self.piece_to_id.get(piece).copied()
    }

    /// Tokenizes `text` like llama.cpp's `llama_tokenize(text, add_special, parse_special)`:
    /// BOS in front when `add_special` and the vocabulary adds one; control tokens written in
    /// the text (`<start_of_turn>`) become their ids when `parse_special`.
    pub fn encode(&self, text: &str, add_special: bool, parse_special: bool) -> Vec<u32> {
        let mut out = Vec::with_capacity(text.len() / 3 + 2);
        if add_special && self.add_bos {
            out.push(self.bos);
        }
        if text.is_empty() {
            return out;
        }
        let fragments = self.partition(text, parse_special);
        let mut prev_special = true;
        for f in fragments {
            match f {
                Fragment::Text(start, end) => {
                    let mut piece = String::with_capacity(end - start + 3);
                    if self.add_space_prefix && prev_special {
                        piece.push(' ');
                    }
                    piece.push_str(&text[start..end]);
                    let escaped = piece.replace(' ', "\u{2581}");
                    self.spm(&escaped, &mut out);
                    prev_special = false;
                }
                Fragment::Token(id) => {
                    out.push(id);
                    prev_special = true;
                }
            }
        }
        out
    }

    /// Splits the text at special tokens (llama.cpp's `tokenizer_st_partition`).
    fn partition(&self, text: &str, parse_special: bool) -> Vec<Fragment> {
        let mut frags = vec![Fragment::Text(0, text.len())];
        for &id in &self.specials {
            let kind = self.kinds[id as usize];
            if !parse_special && matches!(kind, TokenKind::Control | TokenKind::Unknown) {
                continue;
            }
            let needle = self.pieces[id as usize].as_str();
            if !frags.iter().any(|f| match *f {
                Fragment::Text(s, e) => text[s..e].contains(needle),
                Fragment::Token(_) => false,
            }) {
                continue;
            }
            let mut next = Vec::with_capacity(frags.len() + 4);
            for f in frags {
                match f {
                    Fragment::Token(_) => next.push(f),
                    Fragment::Text(mut s, e) => {
                        while let Some(pos) = text[s..e].find(needle) {
                            let m = s + pos;
                            if m > s {
                                next.push(Fragment::Text(s, m));
                            }
                            next.push(Fragment::Token(id));
                            s = m + needle.len();
                        }
                        if s < e {
                            next.push(Fragment::Text(s, e));
                        }
                    }
                }
            }
            frags = next;
        }
        frags
    }

    /// The SentencePiece bigram merge over one escaped fragment.
    fn spm(&self, text: &str, out: &mut Vec<u32>) {
        let mut syms: Vec<Symbol> = Vec::with_capacity(text.len());
        for (i, (start, ch)) in text.char_indices().enumerate() {
            syms.push(Symbol {
                start,
                len: ch.len_utf8(),
                prev: i as isize - 1,
                next: i as isize + 1,
            });
        }
        if let Some(last) = syms.last_mut() {
            last.next = -1;
        }
        let mut queue = BinaryHeap::new();
        let mut rev_merge: HashMap<&str, (usize, usize)> = HashMap::new();
        for i in 1..syms.len() {
            self.try_add_bigram(
                text,
                &syms,
                i as isize - 1,
                i as isize,
                &mut queue,
                &mut rev_merge,
            );
        }
        while let Some(b) = queue.pop() {
            let (l, r) = (b.left, b.right);
            if syms[l].len == 0 || syms[r].len == 0 || syms[l].len + syms[r].len != b.size {
                continue;
            }
            syms[l].len += syms[r].len;
            syms[r].len = 0;
            syms[l].next = syms[r].next;
            let after = syms[r].next;
            if after >= 0 {
                syms[after as usize].prev = l as isize;
            }
            let (prev, next) = (syms[l].prev, syms[l].next);
            self.try_add_bigram(text, &syms, prev, l as isize, &mut queue, &mut rev_merge);
            self.try_add_bigram(text, &syms, l as isize, next, &mut queue, &mut rev_merge);
        }
        let mut i: isize = if syms.is_empty() { -1 } else { 0 };
        while i >= 0 {
            self.resegment(text, &syms, i as usize, &rev_merge, out);
            i = syms[i as usize].next;
        }
    }

    fn try_add_bigram<'t>(
        &self,
        text: &'t str,
        syms: &[Symbol],
        left: isize,
        right: isize,
        queue: &mut BinaryHeap<Bigram>,
        rev_merge: &mut HashMap<&'t str, (usize, usize)>,
    ) {
        if left < 0 || right < 0 {
            return;
        }
        let (l, r) = (left as usize, right as usize);
        let start = syms[l].start;
        let size = syms[l].len + syms[r].len;
        let piece = &text[start..start + size];
        let Some(&id) = self.piece_to_id.get(piece) else {
            return;
        };
        queue.push(Bigram {
            left: l,
            right: r,
            score: self.scores[id as usize],
            size,
        });
        rev_merge.insert(piece, (l, r));
    }

    fn resegment(
        &self,
        text: &str,
        syms: &[Symbol],
        sym: usize,
        rev_merge: &HashMap<&str, (usize, usize)>,
        out: &mut Vec<u32>,
    ) {
        // An explicit stack in place of llama.cpp's recursion, same order.
        let mut stack = vec![(syms[sym].start, syms[sym].len)];
        while let Some((start, len)) = stack.pop() {
            let piece = &text[start..start + len];
            if let Some(&id) = self.piece_to_id.get(piece) {
                out.push(id);
                continue;
            }
            match rev_merge.get(piece) {
                Some(&(l, r)) => {
                    // The right half goes on the stack first so the left half comes out first.
                    stack.push((syms[r].start, syms[r].len));
                    stack.push((syms[l].start, syms[l].len));
                }
                None => out.extend(piece.bytes().map(|b| self.byte_ids[b as usize])),
            }
        }
    }

    /// The bytes a token stands for in output text, as llama.cpp renders it without specials:
    /// control and unknown tokens are empty, user-defined tokens are their text, normal pieces
    /// have `▁` turned back into spaces, byte tokens are their byte.
    pub fn token_bytes(&self, id: u32) -> Vec<u8> {
        let Some(piece) = self.pieces.get(id as usize) else {
            return Vec::new();
        };
        match self.kinds[id as usize] {
            TokenKind::Control | TokenKind::Unknown | TokenKind::Unused | TokenKind::Undefined => {
                Vec::new()
            }
            TokenKind::UserDefined => piece.as_bytes().to_vec(),
            TokenKind::Normal => piece.replace('\u{2581}', " ").into_bytes(),
            TokenKind::Byte => parse_byte_piece(piece).map(|b| vec![b]).unwrap_or_default(),
        }
    }

    /// Decodes ids to text (invalid UTF-8 from byte tokens becomes U+FFFD).
    pub fn decode(&self, ids: &[u32]) -> String {
        let bytes: Vec<u8> = ids.iter().flat_map(|&id| self.token_bytes(id)).collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

/// Tokens llama.cpp takes as end of turn (the first present is its EOT).
const EOT_NAMES: &[&str] = &[
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "<|end_of_text|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "<\u{ff5c}end\u{2581}of\u{2581}sentence\u{ff5c}>",
    "<end_of_utterance>",
];

/// Tokens llama.cpp (`llama-vocab.cpp`, `special_eog_ids`) ends generation at, by text.
const EOG_NAMES: &[&str] = &[
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<|return|>",
    "<|call|>",
    "<|flush|>",
    "<|calls|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "</s>",
    "<|eom_id|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "[EOS]",
    "<|end_of_text|>",
    "<end_of_utterance>",
    "<eos>",
    "<turn|>",
    "<|tool_response>",
    "<\u{ff5c}end\u{2581}of\u{2581}sentence\u{ff5c}>",
    "[e~[",
];

fn parse_byte_piece(piece: &str) -> Option<u8> {
    let hex = piece.strip_prefix("<0x")?.strip_suffix('>')?;
    u8::from_str_radix(hex, 16).ok()
}

enum Fragment {
    /// A byte range of the input text.
    Text(usize, usize),
    /// A special token cut out of the text.
    Token(u32),
}

#[derive(Clone, Copy)]
struct Symbol {
    start: usize,
    len: usize,
    prev: isize,
    next: isize,
}

struct Bigram {
    left: usize,
    right: usize,
    score: f32,
    size: usize,
}

impl PartialEq for Bigram {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Bigram {}
impl PartialOrd for Bigram {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Bigram {
    /// The heap's greatest element is merged first: the highest score, then the leftmost.
    fn cmp(&self, other: &Self) -> Ordering {
        self.score
            .total_cmp(&other.score)
            .then_with(|| other.left.cmp(&self.left))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_pieces_parse() {
        assert_eq!(parse_byte_piece("<0x0A>"), Some(10));
        assert_eq!(parse_byte_piece("<0xff>"), Some(255));
        assert_eq!(parse_byte_piece("0x0A"), None);
    }

    #[test]
    fn merge_order_is_score_then_leftmost() {
        let a = Bigram {
            left: 3,
            right: 4,
            score: -1.0,
            size: 2,
        };
        let b = Bigram {
            left: 1,
            right: 2,
            score: -1.0,
            size: 2,
        };
        let c = Bigram {
            left: 0,
            right: 1,
            score: -2.0,
            size: 2,
        };
        let mut h = BinaryHeap::from(vec![a, b, c]);
        assert_eq!(h.pop().map(|x| x.left), Some(1));
        assert_eq!(h.pop().map(|x| x.left), Some(3));
        assert_eq!(h.pop().map(|x| x.left), Some(0));
    }
}

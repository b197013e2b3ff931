//! The Gemma 3 forward pass on candle's quantized matrix products.
//!
//! candle does the weight matrix products (`QMatMul` over the GGUF's Q4_K/Q5_0/Q6_K/Q8_0
//! blocks); everything else (embedding scale, RMSNorm, RoPE, attention, GELU, residuals) is
//! plain scalar Rust here, with `libm` for `exp`/`tanh`/`sin`/`cos`, so the numbers do not
//! depend on the platform's C library or on how many threads run. candle's kernels give each
//! output element to exactly one thread, summing over the inner dimension in a fixed order,
//! so the whole pass is thread-count independent (tested with 1 and 2 threads).
//!
//! It follows llama.cpp's `src/models/gemma3.cpp`, and fixes three faults of candle 0.11.1's
//! `quantized_gemma3`:
//! - the feed-forward activation is **GELU (tanh form)**, not SiLU;
//! - the **sliding window** hides a key when `query_pos - key_pos >= window` (llama.cpp's
//!   `is_masked_swa`), during prompt processing and generation alike;
//! - **RoPE tables** are sized to the context a generation actually uses and shared by all
//!   layers (one table per base: 10k for local layers, 1M for global ones), not 131,072
//!   positions built in every layer.
//!
//! Q5_0 weights (most of this model's layer weights) are widened to Q8_0 at load, exactly
//! (same scales, same integers), because candle 0.11.1 has a SIMD dot product for Q8_0 on
//! x86 but only a scalar one for Q5_0: that alone doubled generation speed.
//!
//! Other details worth knowing: embeddings are scaled by `sqrt(n_embd)`; the GGUF's norm
//! weights already hold Gemma's `1 + w`, so RMSNorm multiplies by them directly; queries and
//! keys get their own per-head RMSNorm before RoPE (NeoX layout: halves, not pairs); queries
//! are scaled by `1/sqrt(head_dim)`; layer `il` is local (sliding) unless `il % 6 == 5`; each
//! sub-block has a post-norm before its residual add.

use std::io::{Read, Seek};
use std::path::Path;
use std::sync::Arc;

use candle_core::quantized::gguf_file::{Content, Value};
use candle_core::quantized::{GgmlDType, QMatMul, QStorage, QTensor};
use candle_core::{Device, Module, Tensor};

use crate::InferenceError;

/// Prompt tokens are run through the model in chunks of at most this many, always the same
/// split whatever the machine, so prompt processing is reproducible and its scratch memory
/// bounded.
pub(crate) const PROMPT_CHUNK: usize = 256;

/// [`Gemma3::forward_each`] applies the output head to this many positions at a time: a
/// matrix product wide enough for candle's row tiles (16 rows) to reuse each weight block,
/// and `HEAD_ROWS × vocab` floats (32 MiB for Gemma 3's 262,144 tokens) of logits at most.
pub(crate) const HEAD_ROWS: usize = 32;

/// Model shape read from the GGUF metadata.
#[derive(Clone, Debug)]
pub struct Gemma3Config {
    /// Hidden size.
    pub n_embd: usize,
    /// Number of transformer blocks.
    pub n_layer: usize,
    /// Query heads.
    pub n_head: usize,
    /// Key/value heads.
    pub n_kv_head: usize,
    /// Size of one head.
    pub head_dim: usize,
    /// Feed-forward width.
    pub n_ff: usize,
    /// Vocabulary size (rows of the embedding table).
    pub vocab: usize,
    /// RMSNorm epsilon.
    pub eps: f32,
    /// Sliding-window size of the local layers.
    pub sliding_window: usize,
    /// Which layers are local (sliding-window) ones.
    pub is_sliding: Vec<bool>,
    /// RoPE base of the global layers.
    pub rope_base_global: f32,
    /// RoPE base of the local layers.
    pub rope_base_local: f32,
    /// Query scale before attention.
    pub attn_scale: f32,
    /// Context length the model was trained for.
    pub context_length: usize,
    /// Final logit soft-capping (0 = none).
    pub final_logit_softcap: f32,
}

struct Layer {
    wq: QMatMul,
    wk: QMatMul,
    wv: QMatMul,
    wo: QMatMul,
    gate: QMatMul,
    up: QMatMul,
    down: QMatMul,
    attn_norm: Vec<f32>,
    q_norm: Vec<f32>,
    k_norm: Vec<f32>,
    post_attn_norm: Vec<f32>,
    ffn_norm: Vec<f32>,
    post_ffn_norm: Vec<f32>,
}

/// The loaded weights.
pub(crate) struct Gemma3 {
    cfg: Gemma3Config,
    embed: Arc<QTensor>,
    output: QMatMul,
    output_norm: Vec<f32>,
    layers: Vec<Layer>,
    embed_scale: f32,
}

fn meta<'a>(ct: &'a Content, path: &Path, key: &str) -> Result<&'a Value, InferenceError> {
    ct.metadata
        .get(key)
        .ok_or_else(|| InferenceError::bad_model(path, format!("metadata key {key} is missing")))
}

fn meta_usize(ct: &Content, path: &Path, key: &str) -> Result<usize, InferenceError> {
    let v = meta(ct, path, key)?;
    let n = match v {
        Value::U32(x) => u64::from(*x),
        Value::U64(x) => *x,
        Value::I32(x) if *x >= 0 => *x as u64,
        Value::I64(x) if *x >= 0 => *x as u64,
        Value::U16(x) => u64::from(*x),
        Value::U8(x) => u64::from(*x),
        _ => {
            return Err(InferenceError::bad_model(
                path,
                format!("metadata key {key} is not a non-negative integer"),
            ))
        }
    };
    usize::try_from(n)
        .map_err(|_| InferenceError::bad_model(path, format!("metadata key {key} is too large")))
}

fn meta_f32_or(ct: &Content, path: &Path, key: &str, default: f32) -> Result<f32, InferenceError> {
    match ct.metadata.get(key) {
        None => Ok(default),
        Some(Value::F32(x)) => Ok(*x),
        Some(Value::F64(x)) => Ok(*x as f32),
        Some(_) => Err(InferenceError::bad_model(
            path,
            format!("metadata key {key} is not a float"),
        )),
    }
}

struct Loader<'a, R> {
    ct: &'a Content,
    reader: &'a mut R,
    path: &'a Path,
}

impl<R: Read + Seek> Loader<'_, R> {
    fn qtensor(&mut self, name: &str, dims: &[usize]) -> Result<QTensor, InferenceError> {
        let info = self.ct.tensor_infos.get(name).ok_or_else(|| {
            InferenceError::bad_model(self.path, format!("tensor {name} is missing"))
        })?;
        if info.shape.dims() != dims {
            return Err(InferenceError::bad_model(
                self.path,
                format!(
                    "tensor {name} has shape {:?}, expected {dims:?}",
                    info.shape.dims()
                ),
            ));
        }
        self.ct
            .tensor(self.reader, name, &Device::Cpu)
            .map_err(|e| InferenceError::bad_model(self.path, format!("tensor {name}: {e}")))
    }

    fn matmul(&mut self, name: &str, dims: &[usize]) -> Result<QMatMul, InferenceError> {
        let mut t = self.qtensor(name, dims)?;
        if t.dtype() == GgmlDType::Q5_0 {
            t = q5_0_to_q8_0(&t)
                .map_err(|e| InferenceError::bad_model(self.path, format!("tensor {name}: {e}")))?;
        }
        QMatMul::from_qtensor(t)
            .map_err(|e| InferenceError::bad_model(self.path, format!("tensor {name}: {e}")))
    }

    fn vector(&mut self, name: &str, len: usize) -> Result<Vec<f32>, InferenceError> {
        let t = self.qtensor(name, &[len])?;
        let v = t
            .dequantize(&Device::Cpu)
            .and_then(|t| t.to_vec1::<f32>())
            .map_err(|e| InferenceError::bad_model(self.path, format!("tensor {name}: {e}")))?;
        if v.iter().any(|x| !x.is_finite()) {
            return Err(InferenceError::bad_model(
                self.path,
                format!("tensor {name} holds non-finite values"),
            ));
        }
        Ok(v)
    }
}

impl Gemma3 {
    /// Reads the configuration and weights. `ct` must come from the same reader.
    pub(crate) fn load<R: Read + Seek>(
        ct: &Content,
        reader: &mut R,
        path: &Path,
    ) -> Result<Gemma3, InferenceError> {
        let arch = meta(ct, path, "general.architecture")?
            .to_string()
            .map_err(|e| InferenceError::bad_model(path, format!("general.architecture: {e}")))?;
        if arch != "gemma3" {
            return Err(InferenceError::bad_model(
                path,
                format!("architecture is {arch:?}; the built-in runtime runs only \"gemma3\""),
            ));
        }
        let n_embd = meta_usize(ct, path, "gemma3.embedding_length")?;
        let n_layer = meta_usize(ct, path, "gemma3.block_count")?;
        let n_head = meta_usize(ct, path, "gemma3.attention.head_count")?;
        let n_kv_head = meta_usize(ct, path, "gemma3.attention.head_count_kv")?;
        let head_dim = meta_usize(ct, path, "gemma3.attention.key_length")?;
        let v_dim = meta_usize(ct, path, "gemma3.attention.value_length")?;
        let n_ff = meta_usize(ct, path, "gemma3.feed_forward_length")?;
        let context_length = meta_usize(ct, path, "gemma3.context_length")?;
        let sliding_window = match ct.metadata.get("gemma3.attention.sliding_window") {
            Some(_) => meta_usize(ct, path, "gemma3.attention.sliding_window")?,
            None => 0,
        };
        let pattern = match ct.metadata.get("gemma3.attention.sliding_window_pattern") {
            Some(Value::Array(_)) => {
                return Err(InferenceError::bad_model(
                    path,
                    "per-layer sliding_window_pattern arrays are not supported",
                ))
            }
            Some(_) => meta_usize(ct, path, "gemma3.attention.sliding_window_pattern")?,
            None => 6,
        };
        let eps = meta_f32_or(ct, path, "gemma3.attention.layer_norm_rms_epsilon", 1e-6)?;
        let rope_base_global = meta_f32_or(ct, path, "gemma3.rope.freq_base", 1_000_000.0)?;
        let rope_base_local = meta_f32_or(ct, path, "gemma3.rope.freq_base_swa", 10_000.0)?;
        let final_logit_softcap = meta_f32_or(ct, path, "gemma3.final_logit_softcapping", 0.0)?;
        let sane = |x: usize| x > 0 && x <= 1 << 20;
        if ![n_embd, n_layer, n_head, n_kv_head, head_dim, n_ff]
            .into_iter()
            .all(sane)
            || n_head % n_kv_head != 0
            || head_dim % 2 != 0
            || v_dim != head_dim
        {
            return Err(InferenceError::bad_model(
                path,
                format!(
                    "unsupported shape: embd {n_embd}, layers {n_layer}, heads {n_head}/{n_kv_head}, \
                     head dim {head_dim}/{v_dim}, ffn {n_ff}"
                ),
            ));
        }
        let is_sliding: Vec<bool> = (0..n_layer)
            .map(|il| sliding_window > 0 && (pattern == 0 || il % pattern < pattern - 1))
            .collect();
        // llama.cpp: 1/sqrt(head_dim), except Gemma 3 27B (62 layers): 1/sqrt(n_embd/n_head).
        let attn_scale = if n_layer == 62 {
            1.0 / ((n_embd / n_head) as f32).sqrt()
        } else {
            1.0 / (head_dim as f32).sqrt()
        };

        let embd_info = ct.tensor_infos.get("token_embd.weight").ok_or_else(|| {
            InferenceError::bad_model(path, "tensor token_embd.weight is missing")
        })?;
        let vocab = match embd_info.shape.dims() {
            [v, e] if *e == n_embd => *v,
            d => {
                return Err(InferenceError::bad_model(
                    path,
                    format!("token_embd.weight has shape {d:?}, expected [vocab, {n_embd}]"),
                ))
            }
        };
        let cfg = Gemma3Config {
            n_embd,
            n_layer,
            n_head,
            n_kv_head,
            head_dim,
            n_ff,
            vocab,
            eps,
            sliding_window,
            is_sliding,
            rope_base_global,
            rope_base_local,
            attn_scale,
            context_length,
            final_logit_softcap,
        };

        let mut ld = Loader { ct, reader, path };
        let embed = Arc::new(ld.qtensor("token_embd.weight", &[vocab, n_embd])?);
        let output = if ct.tensor_infos.contains_key("output.weight") {
            ld.matmul("output.weight", &[vocab, n_embd])?
        } else {
            // Tied embeddings: the output head shares the embedding's memory.
            QMatMul::from_arc(embed.clone())
                .map_err(|e| InferenceError::bad_model(path, format!("token_embd.weight: {e}")))?
        };
        let output_norm = ld.vector("output_norm.weight", n_embd)?;
        let q_dim = n_head * head_dim;
        let kv_dim = n_kv_head * head_dim;
        let mut layers = Vec::with_capacity(n_layer);
        for il in 0..n_layer {
            let p = |s: &str| format!("blk.{il}.{s}.weight");
            layers.push(Layer {
                wq: ld.matmul(&p("attn_q"), &[q_dim, n_embd])?,
                wk: ld.matmul(&p("attn_k"), &[kv_dim, n_embd])?,
                wv: ld.matmul(&p("attn_v"), &[kv_dim, n_embd])?,
                wo: ld.matmul(&p("attn_output"), &[n_embd, q_dim])?,
                gate: ld.matmul(&p("ffn_gate"), &[n_ff, n_embd])?,
                up: ld.matmul(&p("ffn_up"), &[n_ff, n_embd])?,
                down: ld.matmul(&p("ffn_down"), &[n_embd, n_ff])?,
                attn_norm: ld.vector(&p("attn_norm"), n_embd)?,
                q_norm: ld.vector(&p("attn_q_norm"), head_dim)?,
                k_norm: ld.vector(&p("attn_k_norm"), head_dim)?,
                post_attn_norm: ld.vector(&p("post_attention_norm"), n_embd)?,
                ffn_norm: ld.vector(&p("ffn_norm"), n_embd)?,
                post_ffn_norm: ld.vector(&p("post_ffw_norm"), n_embd)?,
            });
        }
        let embed_scale = (n_embd as f32).sqrt();
        Ok(Gemma3 {
            cfg,
            embed,
            output,
            output_norm,
            layers,
            embed_scale,
        })
    }

    /// The model's shape.
    pub(crate) fn config(&self) -> &Gemma3Config {
        &self.cfg
    }

    /// Fresh per-generation state (KV cache, RoPE tables) for up to `ctx` positions.
    pub(crate) fn new_state(&self, ctx: usize) -> State {
        let c = &self.cfg;
        let kv_dim = c.n_kv_head * c.head_dim;
        let caches = c
            .is_sliding
            .iter()
            .map(|&s| {
                let cap = if s {
                    ctx.min(c.sliding_window + PROMPT_CHUNK)
                } else {
                    ctx
                };
                KvCache {
                    cap,
                    k: vec![0.0; cap * kv_dim],
                    v: vec![0.0; cap * kv_dim],
                }
            })
            .collect();
        let any_local = c.is_sliding.iter().any(|&s| s);
        let any_global = c.is_sliding.iter().any(|&s| !s);
        State {
            ctx,
            pos: 0,
            caches,
            rope_local: any_local.then(|| RopeTable::new(c.head_dim, c.rope_base_local, ctx)),
            rope_global: any_global.then(|| RopeTable::new(c.head_dim, c.rope_base_global, ctx)),
        }
    }

    /// Runs `tokens` (at most [`PROMPT_CHUNK`]) at the state's next positions and returns
    /// the logits of the last one.
    pub(crate) fn forward(
        &self,
        state: &mut State,
        tokens: &[u32],
    ) -> Result<Vec<f32>, InferenceError> {
        let n = self.cfg.n_embd;
        let m = tokens.len();
        let x = self.blocks(state, tokens)?;
        self.head(&x[(m - 1) * n..m * n], 1)
    }

    /// [`forward`](Self::forward), with the logits of every position from row `from` of the
    /// chunk on (not only the last) handed to `each(row, logits)` in order: the batched pass a
    /// teacher-forced scorer needs. The output head runs over [`HEAD_ROWS`] rows at a time
    /// (matrix × matrix), so at most that many vocabulary-wide rows exist at once. Rows
    /// before `from` still update the state; with `from >= tokens.len()` nothing is called.
    pub(crate) fn forward_each(
        &self,
        state: &mut State,
        tokens: &[u32],
        from: usize,
        mut each: impl FnMut(usize, &[f32]) -> Result<(), InferenceError>,
    ) -> Result<(), InferenceError> {
        let n = self.cfg.n_embd;
        let m = tokens.len();
        let x = self.blocks(state, tokens)?;
        let mut start = from;
        while start < m {
            let end = m.min(start + HEAD_ROWS);
            let logits = self.head(&x[start * n..end * n], end - start)?;
            for (r, row) in logits.chunks_exact(self.cfg.vocab).enumerate() {
                each(start + r, row)?;
            }
            start = end;
        }
        Ok(())
    }

    /// Final norm, output head (tied embeddings) and soft-capping over `rows` rows of hidden
    /// state: `rows × vocab` logits.
    fn head(&self, hidden: &[f32], rows: usize) -> Result<Vec<f32>, InferenceError> {
        let c = &self.cfg;
        let mut h = hidden.to_vec();
        rms_norm_rows_in_place(&mut h, &self.output_norm, c.eps, c.n_embd);
        let mut logits = matmul(&self.output, &h, rows, c.n_embd)?;
        if c.final_logit_softcap > 0.0 {
            let cap = c.final_logit_softcap;
            for l in &mut logits {
                *l = libm::tanhf(*l / cap) * cap;
            }
        }
        Ok(logits)
    }

    /// The transformer blocks over `tokens` (at most [`PROMPT_CHUNK`]) at the state's next
    /// positions: the `tokens.len() × n_embd` hidden state before the final norm.
    fn blocks(&self, state: &mut State, tokens: &[u32]) -> Result<Vec<f32>, InferenceError> {
        let c = &self.cfg;
        let m = tokens.len();
        if m == 0 || m > PROMPT_CHUNK {
            return Err(InferenceError::InvalidRequest(format!(
                "forward over {m} tokens (1..={PROMPT_CHUNK} allowed)"
            )));
        }
        if state.pos + m > state.ctx {
            return Err(InferenceError::InvalidRequest(format!(
                "context of {} positions exceeded",
                state.ctx
            )));
        }
        if let Some(&bad) = tokens.iter().find(|&&t| t as usize >= c.vocab) {
            return Err(InferenceError::InvalidRequest(format!(
                "token id {bad} outside the vocabulary of {}",
                c.vocab
            )));
        }
        let n = c.n_embd;
        let hd = c.head_dim;
        let q_dim = c.n_head * hd;
        let kv_dim = c.n_kv_head * hd;
        let pos0 = state.pos;

        let ids = Tensor::from_slice(tokens, m, &Device::Cpu)?;
        let mut x = self
            .embed
            .embedding(&ids)?
            .flatten_all()?
            .to_vec1::<f32>()?;
        for v in &mut x {
            *v *= self.embed_scale;
        }
        let mut h = vec![0.0f32; m * n];
        let mut attn = vec![0.0f32; m * q_dim];
        let mut scores = Vec::new();

        for (il, layer) in self.layers.iter().enumerate() {
            let sliding = c.is_sliding[il];
            rms_norm_rows(&x, &layer.attn_norm, c.eps, &mut h);
            let mut q = matmul(&layer.wq, &h, m, n)?;
            let mut k = matmul(&layer.wk, &h, m, n)?;
            let v = matmul(&layer.wv, &h, m, n)?;
            // Per-head norms, then RoPE, then the query scale.
            let rope = if sliding {
                state.rope_local.as_ref()
            } else {
                state.rope_global.as_ref()
            };
            let Some(rope) = rope else {
                // new_state builds a table for every kind of layer present.
                return Err(InferenceError::InvalidRequest("missing RoPE table".into()));
            };
            for i in 0..m {
                let p = pos0 + i;
                for head in q[i * q_dim..(i + 1) * q_dim].chunks_exact_mut(hd) {
                    rms_norm_in_place(head, &layer.q_norm, c.eps);
                    rope.apply(head, p);
                    for e in head.iter_mut() {
                        *e *= c.attn_scale;
                    }
                }
                for head in k[i * kv_dim..(i + 1) * kv_dim].chunks_exact_mut(hd) {
                    rms_norm_in_place(head, &layer.k_norm, c.eps);
                    rope.apply(head, p);
                }
            }
            let cache = &mut state.caches[il];
            for i in 0..m {
                let slot = (pos0 + i) % cache.cap;
                cache.k[slot * kv_dim..(slot + 1) * kv_dim]
                    .copy_from_slice(&k[i * kv_dim..(i + 1) * kv_dim]);
                cache.v[slot * kv_dim..(slot + 1) * kv_dim]
                    .copy_from_slice(&v[i * kv_dim..(i + 1) * kv_dim]);
            }
            let group = c.n_head / c.n_kv_head;
            for i in 0..m {
                let p = pos0 + i;
                // Keys visible to the query at p: all earlier positions, or for a local layer
                // those with p - key < window.
                let first = if sliding {
                    (p + 1).saturating_sub(c.sliding_window)
                } else {
                    0
                };
                for head in 0..c.n_head {
                    let kvh = head / group;
                    let qv = &q[i * q_dim + head * hd..i * q_dim + (head + 1) * hd];
                    scores.clear();
                    let mut max = f32::NEG_INFINITY;
                    for j in first..=p {
                        let slot = j % cache.cap;
                        let kv = &cache.k[slot * kv_dim + kvh * hd..slot * kv_dim + (kvh + 1) * hd];
                        let s = dot(qv, kv);
                        max = max.max(s);
                        scores.push(s);
                    }
                    let mut sum = 0.0f32;
                    for s in scores.iter_mut() {
                        *s = libm::expf(*s - max);
                        sum += *s;
                    }
                    let inv = 1.0 / sum;
                    let out = &mut attn[i * q_dim + head * hd..i * q_dim + (head + 1) * hd];
                    out.fill(0.0);
                    for (jj, j) in (first..=p).enumerate() {
                        let slot = j % cache.cap;
                        let vv = &cache.v[slot * kv_dim + kvh * hd..slot * kv_dim + (kvh + 1) * hd];
                        let w = scores[jj] * inv;
                        for (o, &e) in out.iter_mut().zip(vv) {
                            *o += w * e;
                        }
                    }
                }
            }
            let mut o = matmul(&layer.wo, &attn, m, q_dim)?;
            rms_norm_rows_in_place(&mut o, &layer.post_attn_norm, c.eps, n);
            for (xe, oe) in x.iter_mut().zip(&o) {
                *xe += *oe;
            }
            rms_norm_rows(&x, &layer.ffn_norm, c.eps, &mut h);
            let g = matmul(&layer.gate, &h, m, n)?;
            let mut u = matmul(&layer.up, &h, m, n)?;
            for (ue, &ge) in u.iter_mut().zip(&g) {
                *ue *= gelu_tanh(ge);
            }
            let mut d = matmul(&layer.down, &u, m, c.n_ff)?;
            rms_norm_rows_in_place(&mut d, &layer.post_ffn_norm, c.eps, n);
            for (xe, de) in x.iter_mut().zip(&d) {
                *xe += *de;
            }
        }
        state.pos += m;
        Ok(x)
    }
}

/// One generation's mutable state.
pub(crate) struct State {
    ctx: usize,
    pos: usize,
    caches: Vec<KvCache>,
    rope_local: Option<RopeTable>,
    rope_global: Option<RopeTable>,
}

/// Keys and values of one layer: a ring of `cap` positions (the whole context for global
/// layers, window + one prompt chunk for local ones), `n_kv_head * head_dim` floats each.
struct KvCache {
    cap: usize,
    k: Vec<f32>,
    v: Vec<f32>,
}

/// cos/sin for every position of the context and every rotated pair, NeoX layout.
struct RopeTable {
    half: usize,
    cos: Vec<f32>,
    sin: Vec<f32>,
}

impl RopeTable {
    fn new(head_dim: usize, base: f32, positions: usize) -> RopeTable {
        let half = head_dim / 2;
        let mut cos = Vec::with_capacity(positions * half);
        let mut sin = Vec::with_capacity(positions * half);
        let inv_freq: Vec<f64> = (0..half)
            .map(|i| libm::pow(f64::from(base), -2.0 * i as f64 / head_dim as f64))
            .collect();
        for p in 0..positions {
            for &f in &inv_freq {
                let theta = p as f64 * f;
                cos.push(libm::cos(theta) as f32);
                sin.push(libm::sin(theta) as f32);
            }
        }
        RopeTable { half, cos, sin }
    }

    fn apply(&self, x: &mut [f32], pos: usize) {
        let h = self.half;
        let cos = &self.cos[pos * h..(pos + 1) * h];
        let sin = &self.sin[pos * h..(pos + 1) * h];
        let (a, b) = x.split_at_mut(h);
        for i in 0..h {
            let (x0, x1) = (a[i], b[i]);
            a[i] = x0 * cos[i] - x1 * sin[i];
            b[i] = x0 * sin[i] + x1 * cos[i];
        }
    }
}

/// Rewrites a Q5_0 tensor as Q8_0, exactly: both use blocks of 32 weights with one f16 scale,
/// and every 5-bit value `q - 16` (−16..=15) fits the 8-bit one unchanged. Done because
/// candle 0.11.1 has no SIMD dot product for Q5_0 on x86 (its scalar one made Q5_0, most of
/// this model's layer weights, the bottleneck), while Q8_0's is vectorised; activations are
/// quantized to Q8_0 for both, so the integer sums are the same.
fn q5_0_to_q8_0(t: &QTensor) -> candle_core::Result<QTensor> {
    const Q5: usize = 22;
    const Q8: usize = 34;
    let src = t.data()?;
    if src.len() % Q5 != 0 {
        candle_core::bail!("Q5_0 data of {} bytes is not whole blocks", src.len());
    }
    let mut out = Vec::with_capacity(src.len() / Q5 * Q8);
    for b in src.chunks_exact(Q5) {
        let (d, rest) = b.split_at(2);
        let (qh, qs) = rest.split_at(4);
        let qh = u32::from_le_bytes([qh[0], qh[1], qh[2], qh[3]]);
        out.extend_from_slice(d);
        let mut hi = [0u8; 16];
        for j in 0..16 {
            let lo_bit = (((qh >> j) & 1) << 4) as u8;
            let hi_bit = (((qh >> (j + 16)) & 1) << 4) as u8;
            out.push((((qs[j] & 0x0F) | lo_bit) as i8 - 16) as u8);
            hi[j] = (((qs[j] >> 4) | hi_bit) as i8 - 16) as u8;
        }
        out.extend_from_slice(&hi);
    }
    let storage = QStorage::from_data(std::borrow::Cow::Owned(out), &Device::Cpu, GgmlDType::Q8_0)?;
    QTensor::new(storage, t.shape().clone())
}

/// `rows × k` activations times a quantized `n × k` weight → `rows × n`.
fn matmul(w: &QMatMul, x: &[f32], rows: usize, k: usize) -> Result<Vec<f32>, InferenceError> {
    let t = Tensor::from_slice(x, (rows, k), &Device::Cpu)?;
    Ok(w.forward(&t)?.flatten_all()?.to_vec1::<f32>()?)
}

/// Dot product with eight running sums in a fixed order (vectorises, same result every run).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let ca = a.chunks_exact(8);
    let cb = b.chunks_exact(8);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    let mut s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (x, y) in ra.iter().zip(rb) {
        s += x * y;
    }
    s
}

/// llama.cpp's RMSNorm: the mean square summed in f64, then `x / sqrt(mean + eps) * w`.
fn rms_norm_in_place(x: &mut [f32], w: &[f32], eps: f32) {
    let sum: f64 = x.iter().map(|&v| f64::from(v * v)).sum();
    let mean = (sum / x.len() as f64) as f32;
    let scale = 1.0 / (mean + eps).sqrt();
    for (e, &wi) in x.iter_mut().zip(w) {
        *e = *e * scale * wi;
    }
}

fn rms_norm_rows(x: &[f32], w: &[f32], eps: f32, out: &mut [f32]) {
    out.copy_from_slice(x);
    rms_norm_rows_in_place(out, w, eps, w.len());
}

fn rms_norm_rows_in_place(x: &mut [f32], w: &[f32], eps: f32, n: usize) {
    for row in x.chunks_exact_mut(n) {
        rms_norm_in_place(row, w, eps);
    }
}

/// GELU, tanh form: `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`.
fn gelu_tanh(x: f32) -> f32 {
    const SQRT_2_OVER_PI: f32 = 0.797_884_6;
    0.5 * x * (1.0 + libm::tanhf(SQRT_2_OVER_PI * x * (1.0 + 0.044_715 * x * x)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gelu_is_the_tanh_form_not_silu() {
        assert!((gelu_tanh(1.0) - 0.841_192).abs() < 1e-5);
        assert!((gelu_tanh(-1.0) + 0.158_808).abs() < 1e-5);
        // SiLU(1) = 0.731: a SiLU here would be caught.
        assert!((gelu_tanh(1.0) - 0.731_058_6).abs() > 0.1);
    }

    #[test]
    fn q5_0_widens_to_q8_0_exactly() {
        let v: Vec<f32> = (0..64 * 4)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0)
            .collect();
        let t = Tensor::from_vec(v, (4, 64), &Device::Cpu).expect("tensor");
        let q5 = QTensor::quantize(&t, GgmlDType::Q5_0).expect("q5_0");
        let q8 = q5_0_to_q8_0(&q5).expect("widen");
        assert_eq!(q8.dtype(), GgmlDType::Q8_0);
        let a = q5
            .dequantize(&Device::Cpu)
            .and_then(|t| t.flatten_all()?.to_vec1::<f32>());
        let b = q8
            .dequantize(&Device::Cpu)
            .and_then(|t| t.flatten_all()?.to_vec1::<f32>());
        assert_eq!(a.expect("q5 values"), b.expect("q8 values"));
    }

    #[test]
    fn rope_rotates_halves() {
        let t = RopeTable::new(4, 10_000.0, 3);
        let mut x = [1.0, 0.0, 0.0, 0.0];
        t.apply(&mut x, 0);
        assert_eq!(x, [1.0, 0.0, 0.0, 0.0]);
        let mut x = [1.0, 0.0, 0.0, 0.0];
        t.apply(&mut x, 1);
        assert!((x[0] - 1f32.cos()).abs() < 1e-6 && (x[2] - 1f32.sin()).abs() < 1e-6);
    }

    #[test]
    fn dot_matches_naive_sum_closely() {
        let a: Vec<f32> = (0..19).map(|i| i as f32 * 0.5).collect();
        let b: Vec<f32> = (0..19).map(|i| 1.0 - i as f32 * 0.1).collect();
        let naive: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - naive).abs() < 1e-3);
    }
}

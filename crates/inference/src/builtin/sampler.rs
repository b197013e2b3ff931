//! Seeded token sampling with fixed rules, so a seed replays exactly.
//!
//! The rules, in order (all arithmetic below the logits is f64 with `libm`, the draw is
//! integer):
//! 1. **Temperature 0** (in thousandths): greedy, the highest logit, lowest id on a tie. No
//!    random number is drawn.
//! 2. Candidates ordered by logit (highest first, lowest id on a tie); **top-k** keeps the
//!    first `k` (0 keeps all).
//! 3. Softmax of `logit · 1000 / temperature_milli` over the kept candidates.
//! 4. **Top-p** (in thousandths, 1000 = off) keeps the shortest prefix whose probabilities
//!    sum to at least `p` (always at least one candidate).
//! 5. The kept probabilities become integer weights out of 2^40 (each at least 1), and one
//!    `u64` from the generator picks a token by those weights (rejection sampling, no
//!    modulo bias).
//!
//! The generator is **xoshiro256\*\*** seeded through **SplitMix64** from the request's
//! 64-bit seed; no operating-system randomness is involved.

/// xoshiro256** (Blackman & Vigna), seeded with SplitMix64.
#[derive(Clone, Debug)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// A generator from a 64-bit seed.
    pub fn new(seed: u64) -> Rng {
        let mut sm = seed;
        let mut next = || {
            sm = sm.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = sm;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        Rng {
            s: [next(), next(), next(), next()],
        }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// A uniform integer in `0..bound` (`bound > 0`), by rejection.
    pub fn below(&mut self, bound: u64) -> u64 {
        debug_assert!(bound > 0);
        let zone = u64::MAX - (u64::MAX - bound + 1) % bound;
        loop {
            let r = self.next_u64();
            if r <= zone {
                return r % bound;
            }
        }
    }
}

/// Sampling settings, in integers so they hash and compare exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SamplingParams {
    /// Temperature in thousandths (800 = 0.8); 0 = greedy.
    pub temperature_milli: u32,
    /// Keep the `k` most likely tokens; 0 = no limit.
    pub top_k: u32,
    /// Nucleus threshold in thousandths; 1000 (or more) = off.
    pub top_p_milli: u32,
}

/// Why sampling failed.
#[derive(Debug, PartialEq, Eq)]
pub enum SampleError {
    /// The logits held a NaN or were empty.
    BadLogits,
}

const WEIGHT_ONE: f64 = (1u64 << 40) as f64;

/// Picks the next token from `logits` under `params`, drawing from `rng` unless greedy.
pub fn sample(logits: &[f32], params: &SamplingParams, rng: &mut Rng) -> Result<u32, SampleError> {
    if logits.is_empty() || logits.iter().any(|l| l.is_nan()) {
        return Err(SampleError::BadLogits);
    }
    if params.temperature_milli == 0 {
        let mut best = 0usize;
        for (i, &l) in logits.iter().enumerate() {
            if l > logits[best] {
                best = i;
            }
        }
        return Ok(best as u32);
    }
    let order = |a: &u32, b: &u32| {
        logits[*b as usize]
            .total_cmp(&logits[*a as usize])
            .then(a.cmp(b))
    };
    let mut ids: Vec<u32> = (0..logits.len() as u32).collect();
    let k = params.top_k as usize;
    if k > 0 && k < ids.len() {
        ids.select_nth_unstable_by(k - 1, order);
        ids.truncate(k);
    }
    ids.sort_unstable_by(order);

    let scale = 1000.0 / f64::from(params.temperature_milli);
    let max = f64::from(logits[ids[0] as usize]) * scale;
    let mut probs: Vec<f64> = ids
        .iter()
        .map(|&i| libm::exp(f64::from(logits[i as usize]) * scale - max))
        .collect();
    let sum: f64 = probs.iter().sum();
    for p in &mut probs {
        *p /= sum;
    }
    if params.top_p_milli < 1000 {
        let p = f64::from(params.top_p_milli) / 1000.0;
        let mut cum = 0.0;
        let mut keep = probs.len();
        for (i, &q) in probs.iter().enumerate() {
            cum += q;
            if cum >= p {
                keep = i + 1;
                break;
            }
        }
        probs.truncate(keep.max(1));
        ids.truncate(keep.max(1));
    }
    let kept: f64 = probs.iter().sum();
    let weights: Vec<u64> = probs
        .iter()
        .map(|&q| ((q / kept * WEIGHT_ONE) as u64).max(1))
        .collect();
    let total: u64 = weights.iter().sum();
    let mut r = rng.below(total);
    for (i, &w) in weights.iter().enumerate() {
        if r < w {
            return Ok(ids[i]);
        }
        r -= w;
    }
    // The weights sum to `total` and r < total, so the loop always returns.
    Ok(ids[ids.len() - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xoshiro_reference_vector() {
        // First outputs of xoshiro256** from state [1, 2, 3, 4] (the reference C code).
        let mut r = Rng { s: [1, 2, 3, 4] };
        assert_eq!(r.next_u64(), 11520);
        assert_eq!(r.next_u64(), 0);
        assert_eq!(r.next_u64(), 1509978240);
        assert_eq!(r.next_u64(), 1215971899390074240);
    }

    #[test]
    fn greedy_takes_the_lowest_id_on_a_tie() {
        let p = SamplingParams {
            temperature_milli: 0,
            top_k: 0,
            top_p_milli: 1000,
        };
        let mut rng = Rng::new(1);
        assert_eq!(sample(&[0.5, 2.0, 2.0, 1.0], &p, &mut rng), Ok(1));
    }

    #[test]
    fn same_seed_same_tokens_and_top_k_one_is_greedy() {
        let logits: Vec<f32> = (0..1000)
            .map(|i| ((i * 7919) % 1000) as f32 / 100.0)
            .collect();
        let p = SamplingParams {
            temperature_milli: 1000,
            top_k: 50,
            top_p_milli: 900,
        };
        let draw = |seed| {
            let mut rng = Rng::new(seed);
            (0..20)
                .map(|_| sample(&logits, &p, &mut rng).unwrap_or(u32::MAX))
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
        let one = SamplingParams { top_k: 1, ..p };
        let mut rng = Rng::new(3);
        let greedy = sample(
            &logits,
            &SamplingParams {
                temperature_milli: 0,
                ..p
            },
            &mut rng,
        );
        assert_eq!(sample(&logits, &one, &mut rng), greedy);
    }

    #[test]
    fn nan_is_an_error() {
        let p = SamplingParams {
            temperature_milli: 0,
            top_k: 0,
            top_p_milli: 1000,
        };
        assert_eq!(
            sample(&[1.0, f32::NAN], &p, &mut Rng::new(0)),
            Err(SampleError::BadLogits)
        );
    }
}

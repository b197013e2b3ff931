//! The marketplace's shared rules: units, prices, reputation arithmetic and seeded tie
//! breaks. Integer maths only.

use comqute_qpi::primitives::{Amount, Hash32, MAX_AMOUNT};

/// The highest reputation; reputations are integers in `0..=MAX_REPUTATION`.
pub const MAX_REPUTATION: u16 = 10_000;
/// Basis points in a whole.
pub const BPS: u16 = 10_000;
/// Prices are per this many output tokens.
pub const TOKENS_PER_PRICE_UNIT: i128 = 1_000;
/// The highest sampling temperature, in thousandths (2.0).
pub const MAX_TEMPERATURE_MILLI: u16 = 2_000;
/// The most items one paged function returns.
pub const MAX_PAGE: u16 = 100;

/// Whether the invocator is one of `clients` (contracts wired at genesis: the only callers
/// of a contract's inter-contract procedures); `Err` with the caller when it is not.
pub fn invoked_by(
    ctx: &comqute_qpi::contract::Ctx<'_>,
    clients: &[comqute_qpi::primitives::ContractIndex],
) -> Result<(), comqute_qpi::primitives::Identity> {
    let caller = ctx.invocator();
    if clients
        .iter()
        .any(|c| comqute_qpi::primitives::Identity::contract(*c) == caller)
    {
        Ok(())
    } else {
        Err(caller)
    }
}

/// A model's id: blake3 of its name (`"llama3.2:1b"`).
pub fn model_id(name: &str) -> Hash32 {
    Hash32::of(name.as_bytes())
}

/// What a job asking for `max_output_tokens` at `max_price_per_1k` must lock:
/// `max_output_tokens × max_price_per_1k / 1000`, rounded down (payments round down too,
/// so this always covers them). `None` if it is over the transaction maximum or the price
/// is negative.
pub fn required_escrow(max_output_tokens: u32, max_price_per_1k: Amount) -> Option<Amount> {
    if max_price_per_1k.0 < 0 {
        return None;
    }
    let v = i128::from(max_output_tokens) * i128::from(max_price_per_1k.0) / TOKENS_PER_PRICE_UNIT;
    i64::try_from(v)
        .ok()
        .filter(|v| *v <= MAX_AMOUNT)
        .map(Amount)
}

/// What `output_tokens` cost at `price_per_1k`, capped by `escrow`:
/// `min(output_tokens × price_per_1k / 1000, escrow)`, rounded down.
pub fn payment(output_tokens: u32, price_per_1k: Amount, escrow: Amount) -> Amount {
    let v = i128::from(output_tokens) * i128::from(price_per_1k.0.max(0)) / TOKENS_PER_PRICE_UNIT;
    // Invariant: capped by a non-negative i64, so the cast is exact.
    Amount(v.min(i128::from(escrow.0.max(0))) as i64)
}

/// A reputation moved by `delta`, clamped to `0..=MAX_REPUTATION`.
pub fn adjust_reputation(reputation: u16, delta: i32) -> u16 {
    (i32::from(reputation) + delta).clamp(0, i32::from(MAX_REPUTATION)) as u16
}

/// A 64-bit draw from the tick's seed for one purpose and one item: ties are broken by it.
pub fn tie_break(seed: &Hash32, purpose: &[u8], item: u64) -> u64 {
    const TAG: &[u8] = b"comqute tie-break";
    // The same bytes hashed in one call from the stack when they fit (they always do for
    // the registry's purposes); the streaming hasher otherwise.
    let mut buf = [0u8; 128];
    let n = TAG.len() + 32 + purpose.len() + 8;
    let out = if n <= buf.len() {
        buf[..TAG.len()].copy_from_slice(TAG);
        buf[TAG.len()..TAG.len() + 32].copy_from_slice(&seed.0);
        let at = TAG.len() + 32;
        buf[at..at + purpose.len()].copy_from_slice(purpose);
        buf[at + purpose.len()..n].copy_from_slice(&item.to_le_bytes());
        blake3::hash(&buf[..n])
    } else {
        let mut h = blake3::Hasher::new();
        h.update(TAG);
        h.update(&seed.0);
        h.update(purpose);
        h.update(&item.to_le_bytes());
        h.finalize()
    };
    // Invariant: a blake3 digest has 32 bytes, so its first 8 exist.
    u64::from_le_bytes(
        out.as_bytes()[..8]
            .try_into()
            .expect("blake3 digest has 32 bytes"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escrow_covers_every_payment() {
        let need = required_escrow(1_000, Amount(7)).unwrap();
        assert_eq!(need, Amount(7));
        assert_eq!(payment(999, Amount(7), need), Amount(6));
        assert_eq!(payment(1_000, Amount(7), need), Amount(7));
        assert_eq!(payment(5_000, Amount(7), need), Amount(7));
        assert_eq!(required_escrow(u32::MAX, Amount(MAX_AMOUNT)), None);
        assert_eq!(required_escrow(1, Amount(-1)), None);
    }

    #[test]
    fn reputation_is_clamped() {
        assert_eq!(adjust_reputation(9_950, 100), MAX_REPUTATION);
        assert_eq!(adjust_reputation(50, -100), 0);
        assert_eq!(adjust_reputation(5_000, -200), 4_800);
    }

    #[test]
    fn model_ids_are_blake3_of_names() {
        assert_eq!(model_id("llama3.2:1b"), Hash32::of(b"llama3.2:1b"));
        assert_ne!(model_id("a"), model_id("b"));
    }
}

//! The AI-inference marketplace: its genesis configuration, the contract indices, and the
//! assembly of its contracts.
//!
//! A contract may only call contracts of lower index (Qubic's rule, enforced by the ledger),
//! and the job registry matches and settles at END_TICK, so it must be able to call every
//! contract it settles with: it comes last.
//!
//! | index | contract | module | calls |
//! |---|---|---|---|
//! | 1 | escrow vault: job payments and worker stakes | [`crate::escrow`] | — |
//! | 2 | worker registry: stake, capabilities, heartbeat, reputation | [`crate::worker_registry`] | escrow |
//! | 3 | reserved: compute pools | | escrow, worker registry |
//! | 4 | reserved: price oracle | | (reads the job registry's settled jobs through calls it receives) |
//! | 5 | reserved: verification (spot checks, replicas, challenges) | | escrow, worker registry, pools |
//! | 6 | job registry: the job lifecycle, matching, deadlines | [`crate::job_registry`] | all of the above |
//!
//! Money only ever rests in the escrow vault. The job registry moves a job's payment there
//! on submission and releases or refunds it; the worker registry moves stakes there and
//! slashes or returns them. The vault refuses every other invocator, so a job's money can
//! only leave through the job lifecycle and a stake only through the worker registry's rules.
//!
//! ```
//! use comqute_market::{contracts, MarketConfig, ESCROW, JOB_REGISTRY, WORKER_REGISTRY};
//!
//! let config = MarketConfig::default();
//! assert!(config.validate().is_ok());
//! let set = contracts(config);
//! let indices: Vec<u32> = set.iter().map(|c| c.index().0).collect();
//! assert_eq!(indices, vec![ESCROW.0, WORKER_REGISTRY.0, JOB_REGISTRY.0]);
//! ```

use std::sync::Arc;

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::error::ContractError;
use crate::escrow::Escrow;
use crate::job_registry::JobRegistry;
use crate::primitives::{Amount, ContractIndex, Hash32, Identity, MAX_AMOUNT};
use crate::qpi::Contract;
use crate::worker_registry::WorkerRegistry;

/// The escrow vault's contract index.
pub const ESCROW: ContractIndex = ContractIndex(1);
/// The worker registry's contract index.
pub const WORKER_REGISTRY: ContractIndex = ContractIndex(2);
/// Kept for compute pools (a later issue).
pub const POOLS: ContractIndex = ContractIndex(3);
/// Kept for the price oracle (a later issue).
pub const PRICE_ORACLE: ContractIndex = ContractIndex(4);
/// Kept for the verification contract (a later issue).
pub const VERIFICATION: ContractIndex = ContractIndex(5);
/// The job registry's contract index: last, so it can call every contract it settles with.
pub const JOB_REGISTRY: ContractIndex = ContractIndex(6);

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

/// The marketplace's genesis settings, shared by its three contracts. `Default` gives sane
/// figures for a devnet; [`MarketConfig::validate`] checks a custom one (each contract's
/// `initialize` runs it, so a ledger with a bad configuration does not build).
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MarketConfig {
    /// The least stake a worker needs to register and to take jobs (default 10,000).
    pub min_stake: Amount,
    /// A worker without a heartbeat for more than this many ticks is offline (default 100).
    pub heartbeat_window: u32,
    /// Ticks between `unbond` and the earliest `withdraw` (default 1,000).
    pub unbonding_ticks: u32,
    /// Ticks after a result during which the requester may dispute (default 20).
    pub challenge_window: u32,
    /// Ticks a dispute may wait for the resolver; after that the posted result stands and
    /// the worker is paid, with no reputation change (default 1,000).
    pub dispute_timeout_ticks: u32,
    /// The most deadlines (expiries, finalizations, dispute timeouts) handled in one
    /// END_TICK; the rest carry over to the next tick (default 64).
    pub max_settlements_per_tick: u32,
    /// The most open jobs the matcher examines in one END_TICK; each may get one worker; the
    /// pass carries over (default 32).
    pub max_matches_per_tick: u32,
    /// The most listed workers the matcher looks at for one job (default 64).
    pub match_scan_limit: u32,
    /// What one slash takes from a worker's stake (capped by the stake; default 5,000).
    pub slash_amount: Amount,
    /// Share of a slash paid to the harmed requester, in basis points (default 5,000).
    pub slash_requester_bps: u16,
    /// Share of a slash paid to the challenger (the disputing requester, or whoever
    /// triggered an expiry); burned when there is none (default 2,000).
    pub slash_challenger_bps: u16,
    /// Share of a slash burned (default 3,000). The three shares sum to 10,000.
    pub slash_burn_bps: u16,
    /// The identity that resolves disputes (a later issue replaces it with replicated
    /// verification). The default, the null identity, can sign nothing: disputes then end by
    /// timeout.
    pub resolver: Identity,
    /// A new worker's reputation (default 5,000).
    pub initial_reputation: u16,
    /// Reputation gained per finalized job (default 100).
    pub reputation_gain: u16,
    /// Reputation lost when the worker gives a job up (default 200).
    pub reputation_loss_failure: u16,
    /// Reputation lost when a held job expires (default 1,000).
    pub reputation_loss_expiry: u16,
    /// Reputation lost with a dispute (default 2,000).
    pub reputation_loss_dispute: u16,
    /// Reputation lost when an assigned worker neither starts nor declines within
    /// `accept_ticks` (default 50). Declining is free.
    pub reputation_loss_no_answer: u16,
    /// Ticks an assigned worker has to START (accepting the delivery deadline) or DECLINE the
    /// job; after that the job reopens without it (default 20).
    pub accept_ticks: u32,
    /// The shortest job timeout, in ticks (default 1).
    pub min_timeout_ticks: u32,
    /// The longest job timeout, in ticks (default 100,000).
    pub max_timeout_ticks: u32,
    /// The most output tokens a job may ask for (default 1,000,000).
    pub max_output_tokens: u32,
    /// The largest prompt, in bytes (default 8 MiB, the node's largest blob).
    pub max_prompt_bytes: u32,
}

impl Default for MarketConfig {
    fn default() -> Self {
        MarketConfig {
            min_stake: Amount(10_000),
            heartbeat_window: 100,
            unbonding_ticks: 1_000,
            challenge_window: 20,
            dispute_timeout_ticks: 1_000,
            max_settlements_per_tick: 64,
            max_matches_per_tick: 32,
            match_scan_limit: 64,
            slash_amount: Amount(5_000),
            slash_requester_bps: 5_000,
            slash_challenger_bps: 2_000,
            slash_burn_bps: 3_000,
            resolver: Identity::NULL,
            initial_reputation: 5_000,
            reputation_gain: 100,
            reputation_loss_failure: 200,
            reputation_loss_expiry: 1_000,
            reputation_loss_dispute: 2_000,
            reputation_loss_no_answer: 50,
            accept_ticks: 20,
            min_timeout_ticks: 1,
            max_timeout_ticks: 100_000,
            max_output_tokens: 1_000_000,
            max_prompt_bytes: 8 << 20,
        }
    }
}

impl MarketConfig {
    /// Checks the settings: shares summing to 10,000, reputations in range, positive
    /// bounds, amounts within the transaction maximum.
    pub fn validate(&self) -> Result<(), String> {
        let shares = u32::from(self.slash_requester_bps)
            + u32::from(self.slash_challenger_bps)
            + u32::from(self.slash_burn_bps);
        if shares != u32::from(BPS) {
            return Err(format!(
                "slash shares sum to {shares} basis points, not {BPS}"
            ));
        }
        if !(0..=MAX_AMOUNT).contains(&self.min_stake.0) {
            return Err(format!("min_stake {} out of range", self.min_stake));
        }
        if !(0..=MAX_AMOUNT).contains(&self.slash_amount.0) {
            return Err(format!("slash_amount {} out of range", self.slash_amount));
        }
        for (name, v) in [
            ("initial_reputation", self.initial_reputation),
            ("reputation_gain", self.reputation_gain),
            ("reputation_loss_failure", self.reputation_loss_failure),
            ("reputation_loss_expiry", self.reputation_loss_expiry),
            ("reputation_loss_dispute", self.reputation_loss_dispute),
            ("reputation_loss_no_answer", self.reputation_loss_no_answer),
        ] {
            if v > MAX_REPUTATION {
                return Err(format!("{name} {v} is over {MAX_REPUTATION}"));
            }
        }
        for (name, v) in [
            ("heartbeat_window", self.heartbeat_window),
            ("accept_ticks", self.accept_ticks),
            ("max_settlements_per_tick", self.max_settlements_per_tick),
            ("max_matches_per_tick", self.max_matches_per_tick),
            ("match_scan_limit", self.match_scan_limit),
            ("min_timeout_ticks", self.min_timeout_ticks),
            ("dispute_timeout_ticks", self.dispute_timeout_ticks),
            ("max_output_tokens", self.max_output_tokens),
            ("max_prompt_bytes", self.max_prompt_bytes),
        ] {
            if v == 0 {
                return Err(format!("{name} must be at least 1"));
            }
        }
        if self.max_timeout_ticks < self.min_timeout_ticks {
            return Err("max_timeout_ticks is below min_timeout_ticks".into());
        }
        Ok(())
    }

    pub(crate) fn check(&self) -> Result<(), ContractError> {
        self.validate().map_err(|detail| ContractError::Rejected {
            code: 1,
            name: "InvalidConfig".into(),
            detail,
        })
    }
}

/// The marketplace contracts, ascending by index, ready for
/// `LedgerBuilder::contract_arc`.
pub fn contracts(config: MarketConfig) -> Vec<Arc<dyn Contract>> {
    vec![
        Arc::new(Escrow::new(config.clone())),
        Arc::new(WorkerRegistry::new(config.clone())),
        Arc::new(JobRegistry::new(config)),
    ]
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

/// Implements `code()`, `name()` and the conversion into
/// [`ContractError::Rejected`] for a contract's error enum: one line per variant with its
/// stable code.
macro_rules! rejected_errors {
    ($ty:ident { $($variant:ident = $code:expr),* $(,)? }) => {
        impl $ty {
            /// The stable error code, unique across the marketplace contracts.
            pub fn code(&self) -> u16 {
                match self {
                    $( $ty::$variant { .. } => $code, )*
                }
            }
            /// The variant's name, as carried by [`ContractError::Rejected`].
            pub fn name(&self) -> &'static str {
                match self {
                    $( $ty::$variant { .. } => stringify!($variant), )*
                }
            }
            /// Every code with its name, for [`crate::qpi::ContractMeta::errors`].
            pub const ALL_CODES: &'static [$crate::qpi::Entry] =
                &[ $( $crate::qpi::Entry::new($code, stringify!($variant)), )* ];
        }
        impl From<$ty> for $crate::error::ContractError {
            fn from(e: $ty) -> Self {
                $crate::error::ContractError::Rejected {
                    code: e.code(),
                    name: e.name().to_string(),
                    detail: e.to_string(),
                }
            }
        }
    };
}
pub(crate) use rejected_errors;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_config_is_valid() {
        assert_eq!(MarketConfig::default().validate(), Ok(()));
        let bad = MarketConfig {
            slash_burn_bps: 1,
            ..MarketConfig::default()
        };
        assert!(bad.validate().is_err());
        let bad = MarketConfig {
            max_timeout_ticks: 0,
            ..MarketConfig::default()
        };
        assert!(bad.validate().is_err());
    }

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

    /// Error codes are unique across the marketplace, and every contract names its entry
    /// points and codes once, without repeats.
    #[test]
    fn the_contracts_describe_themselves_without_clashes() {
        let mut codes = std::collections::BTreeMap::new();
        for c in contracts(MarketConfig::default()) {
            let m = c.meta();
            assert!(
                !m.procedures.is_empty() && !m.errors.is_empty(),
                "{}",
                c.name()
            );
            for list in [m.procedures, m.functions] {
                let mut numbers: Vec<u16> = list.iter().map(|e| e.number).collect();
                numbers.sort_unstable();
                numbers.dedup();
                assert_eq!(
                    numbers.len(),
                    list.len(),
                    "{}: an input type twice",
                    c.name()
                );
            }
            for e in m.errors {
                if let Some(other) = codes.insert(e.number, (c.name(), e.name)) {
                    panic!(
                        "code {} is {other:?} and {}::{}",
                        e.number,
                        c.name(),
                        e.name
                    );
                }
            }
        }
        assert!(codes.len() > 40);
    }

    #[test]
    fn model_ids_are_blake3_of_names() {
        assert_eq!(model_id("llama3.2:1b"), Hash32::of(b"llama3.2:1b"));
        assert_ne!(model_id("a"), model_id("b"));
    }
}

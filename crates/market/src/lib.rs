//! # comqute-market
//!
//! The AI-inference marketplace's contracts, written on the `comqute-qpi` kit: the
//! [`escrow`] vault (index 1, where all job payments and stakes rest), the
//! [`worker_registry`] (index 2), [`verification`] (index 5: spot checks drawn by the chain,
//! replicas that commit and reveal, verdicts by majority, the slash's split) and the
//! [`job_registry`] (index 6, the job lifecycle with END_TICK matching, deadlines and
//! settlement), [`pools`] (index 3: compute pools, profit sharing, tiers) and the
//! [`price_oracle`] (index 4: a per-model market price from settled jobs, for estimates). A
//! contract calls only lower indices, so the job registry comes last. [`genesis`] alone
//! knows the whole set; [`rules`] holds the shared arithmetic.
//!
//! Each contract is one module: `api` (its [`comqute_qpi::contract_api!`] declaration —
//! index, typed procedure and function descriptors — inputs, outputs, events, errors and
//! genesis settings) and its implementation.
//!
//! With the `harness` feature, [`harness`] is the marketplace as a random-action model for
//! the ledger's invariant runner (property tests, `comqute bench harness`, fuzzing).

pub mod escrow;
pub mod genesis;
#[cfg(feature = "harness")]
pub mod harness;
pub mod ids;
pub mod job_registry;
pub mod pools;
pub mod price_oracle;
pub mod rules;
pub mod verification;
pub mod worker_registry;

pub use genesis::{
    contracts, invalid_config, ConfigError, MarketConfig, ESCROW, INVALID_CONFIG, JOB_REGISTRY,
    POOLS, PRICE_ORACLE, VERIFICATION, WORKER_REGISTRY,
};
pub use ids::{JobId, WorkerId};
pub use rules::{
    adjust_reputation, model_id, payment, required_escrow, tie_break, BPS, MAX_PAGE,
    MAX_REPUTATION, MAX_TEMPERATURE_MILLI, TOKENS_PER_PRICE_UNIT,
};

//! The marketplace's genesis: the only module that knows the whole set of contracts, their
//! indices and their settings.
//!
//! A contract may only call contracts of lower index (Qubic's rule, enforced by the ledger),
//! and the job registry matches and settles at END_TICK, so it must be able to call every
//! contract it settles with: it comes last.
//!
//! | index | contract | module | calls |
//! |---|---|---|---|
//! | 1 | escrow vault: job payments and worker stakes | [`crate::escrow`] | — |
//! | 2 | worker registry: stake, capabilities, heartbeat, reputation | [`crate::worker_registry`] | escrow |
//! | 3 | compute pools: member stakes, profit sharing, tiers, pool slashes | [`crate::pools`] | worker registry (is a joiner a registered worker) |
//! | 4 | price oracle: per-model weighted median of settled unit prices, for estimates | [`crate::price_oracle`] | — (the job registry calls it when a job settles) |
//! | 5 | verification: spot checks, replicas, verdicts, the slash's split | [`crate::verification`] | worker registry (replica lists, reputation) |
//! | 6 | job registry: the job lifecycle, matching, deadlines | [`crate::job_registry`] | all of the above (pools: a member's payment and slash at settlement) |
//!
//! Job payments and stakes rest in the escrow vault. The job registry moves a job's payment
//! there on submission and releases or refunds it; the worker registry moves stakes there and
//! slashes or returns them. The vault refuses every other invocator (its clients are set
//! here, [`contracts`]), so a job's money can only leave through the job lifecycle and a
//! stake only through the worker registry's rules. The pools contract holds its pools'
//! deposits, members' pool stakes and pool job payments not yet paid out (the escrow vault
//! pays a pool member's job to it; it shares the payment out). The verification contract holds only
//! what checks need: replicas' and challengers' bonds, the fee pool (a share of every
//! payment) and, for the moment of its split, a failed check's slash.
//!
//! Adding a contract: its own module (an `api` with [`comqute_qpi::contract_api!`] and its
//! implementation), its settings section in [`MarketConfig`] if it has settings, and one line
//! in [`contracts`].
//!
//! ```
//! use comqute_market::{
//!     contracts, MarketConfig, ESCROW, JOB_REGISTRY, POOLS, PRICE_ORACLE, VERIFICATION,
//!     WORKER_REGISTRY,
//! };
//!
//! let config = MarketConfig::default();
//! assert!(config.validate().is_ok());
//! let set = contracts(config);
//! let indices: Vec<u32> = set.iter().map(|c| c.index().0).collect();
//! assert_eq!(
//!     indices,
//!     vec![ESCROW.0, WORKER_REGISTRY.0, POOLS.0, PRICE_ORACLE.0, VERIFICATION.0, JOB_REGISTRY.0]
//! );
//! ```

use std::sync::Arc;

use borsh::{BorshDeserialize, BorshSerialize};
use comqute_qpi::contract::Contract;
use comqute_qpi::error::ContractError;
use comqute_qpi::primitives::ContractIndex;
use serde::{Deserialize, Serialize};

use crate::escrow::{self, Escrow, EscrowConfig, EscrowConfigError};
use crate::job_registry::{self, JobConfig, JobConfigError, JobRegistry};
use crate::pools::{self, PoolConfig, PoolConfigError, Pools};
use crate::price_oracle::{self, OracleConfig, OracleConfigError, PriceOracle};
use crate::verification::{self, Verification, VerifyConfig, VerifyConfigError};
use crate::worker_registry::{self, WorkerConfig, WorkerConfigError, WorkerRegistry};

/// The escrow vault's contract index.
pub const ESCROW: ContractIndex = escrow::INDEX;
/// The worker registry's contract index.
pub const WORKER_REGISTRY: ContractIndex = worker_registry::INDEX;
/// The compute pools' contract index.
pub const POOLS: ContractIndex = pools::INDEX;
/// The price oracle's contract index.
pub const PRICE_ORACLE: ContractIndex = price_oracle::INDEX;
/// The verification contract's index.
pub const VERIFICATION: ContractIndex = verification::INDEX;
/// The job registry's contract index: last, so it can call every contract it settles with.
pub const JOB_REGISTRY: ContractIndex = job_registry::INDEX;

/// The marketplace's genesis settings: one section per contract. `Default` gives sane
/// figures for a devnet; [`MarketConfig::validate`] checks a custom one (each contract's
/// `initialize` checks its own section, so a ledger with a bad configuration does not build).
///
/// As JSON (a node's `market.json`): `{"escrow": {...}, "workers": {...}, "jobs": {...},
/// "verification": {...}, "pools": {...}, "oracle": {...}}`,
/// camelCase fields, any of them left out taking its default.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct MarketConfig {
    /// The escrow vault's settings.
    pub escrow: EscrowConfig,
    /// The worker registry's settings.
    pub workers: WorkerConfig,
    /// The job registry's settings.
    pub jobs: JobConfig,
    /// The verification contract's settings.
    pub verification: VerifyConfig,
    /// The compute pools' settings.
    pub pools: PoolConfig,
    /// The price oracle's settings.
    pub oracle: OracleConfig,
}

/// Why a [`MarketConfig`] is refused: the section and what is wrong in it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// In the escrow section.
    #[error("escrow settings: {0}")]
    Escrow(#[from] EscrowConfigError),
    /// In the worker registry's section.
    #[error("worker settings: {0}")]
    Workers(#[from] WorkerConfigError),
    /// In the job registry's section.
    #[error("job settings: {0}")]
    Jobs(#[from] JobConfigError),
    /// In the verification section.
    #[error("verification settings: {0}")]
    Verification(#[from] VerifyConfigError),
    /// In the pools section.
    #[error("pool settings: {0}")]
    Pools(#[from] PoolConfigError),
    /// In the price oracle's section.
    #[error("oracle settings: {0}")]
    Oracle(#[from] OracleConfigError),
    /// The job registry would stop waiting for a check before its replicas are done.
    #[error(
        "jobs.checkTimeoutTicks {timeout} is shorter than a check can take: at least \
         {needed} (4 × (verification.commitTicks + verification.revealTicks): two rounds, \
         each with a replacement)"
    )]
    CheckTimeout {
        /// The job registry's check timeout.
        timeout: u32,
        /// The least it must be.
        needed: u32,
    },
}

impl MarketConfig {
    /// Checks every section.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.escrow.validate()?;
        self.workers.validate()?;
        self.jobs.validate()?;
        self.verification.validate()?;
        self.pools.validate()?;
        self.oracle.validate()?;
        let needed = self.verification.longest_check_ticks();
        if self.jobs.check_timeout_ticks < needed {
            return Err(ConfigError::CheckTimeout {
                timeout: self.jobs.check_timeout_ticks,
                needed,
            });
        }
        Ok(())
    }
}

/// The error code of a refused genesis setting, shared by every contract's `initialize`.
pub const INVALID_CONFIG: u16 = 1;

/// A contract's refused settings as the ledger reports them (code [`INVALID_CONFIG`]).
pub fn invalid_config(e: impl std::fmt::Display) -> ContractError {
    ContractError::Rejected {
        code: INVALID_CONFIG,
        name: "InvalidConfig".into(),
        detail: e.to_string(),
    }
}

/// The marketplace contracts, ascending by index, ready for
/// `LedgerBuilder::contract_arc`. One line per contract.
pub fn contracts(config: MarketConfig) -> Vec<Arc<dyn Contract>> {
    let MarketConfig {
        mut escrow,
        mut workers,
        mut jobs,
        mut verification,
        mut pools,
        mut oracle,
    } = config;
    // Who may move money in the vault and take worker slots: the set's own wiring, not a
    // setting.
    escrow.job_clients = vec![JOB_REGISTRY];
    escrow.stake_clients = vec![WORKER_REGISTRY];
    workers.job_clients = vec![JOB_REGISTRY];
    workers.check_clients = vec![VERIFICATION];
    verification.job_clients = vec![JOB_REGISTRY];
    jobs.verification = Some(VERIFICATION);
    pools.job_clients = vec![JOB_REGISTRY];
    pools.worker_registry = Some(WORKER_REGISTRY);
    jobs.fee_bps = verification.fee_bps;
    jobs.check_min_ticks = verification.longest_check_ticks();
    jobs.price_oracle = Some(PRICE_ORACLE);
    oracle.record_clients = vec![JOB_REGISTRY];
    oracle.pools = Some(POOLS);
    vec![
        Arc::new(Escrow::new(escrow)),
        Arc::new(WorkerRegistry::new(workers)),
        Arc::new(Pools::new(pools)),
        Arc::new(PriceOracle::new(oracle)),
        Arc::new(Verification::new(verification)),
        Arc::new(JobRegistry::new(jobs)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_config_is_valid() {
        assert_eq!(MarketConfig::default().validate(), Ok(()));
        let mut bad = MarketConfig::default();
        bad.escrow.slash_burn_bps = 1;
        assert!(matches!(bad.validate(), Err(ConfigError::Escrow(_))));
        let mut bad = MarketConfig::default();
        bad.jobs.max_timeout_ticks = 0;
        assert!(matches!(bad.validate(), Err(ConfigError::Jobs(_))));
        let mut bad = MarketConfig::default();
        bad.pools.max_fee_bps = 2_001;
        assert!(matches!(bad.validate(), Err(ConfigError::Pools(_))));
        let mut bad = MarketConfig::default();
        bad.pools.tiers.swap(0, 3);
        assert!(matches!(bad.validate(), Err(ConfigError::Pools(_))));
        let mut bad = MarketConfig::default();
        bad.oracle.max_samples = 0;
        assert!(matches!(bad.validate(), Err(ConfigError::Oracle(_))));
        let mut bad = MarketConfig::default();
        bad.workers.heartbeat_window = 0;
        let e = bad.validate().unwrap_err();
        assert_eq!(
            e.to_string(),
            "worker settings: heartbeatWindow must be at least 1"
        );
    }

    #[test]
    fn config_json_has_a_section_per_contract() {
        let v: MarketConfig = serde_json::from_value(serde_json::json!({
            "jobs": {"challengeWindow": 7}, "workers": {"minStake": 5}
        }))
        .unwrap();
        assert_eq!(v.jobs.challenge_window, 7);
        assert_eq!(v.workers.min_stake.0, 5);
        assert_eq!(v.escrow, EscrowConfig::default());
        // A flat (format 3) file is refused with the field it does not know.
        let e =
            serde_json::from_value::<MarketConfig>(serde_json::json!({"minStake": 5})).unwrap_err();
        assert!(e.to_string().contains("minStake"), "{e}");
    }

    /// Error codes are unique across the marketplace, and every contract names its entry
    /// points and codes once, without repeats.
    #[test]
    fn the_contracts_describe_themselves_without_clashes() {
        let mut codes = std::collections::BTreeMap::new();
        for c in contracts(MarketConfig::default()) {
            let m = c.meta();
            assert_eq!((m.index, m.name), (c.index(), c.name()));
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
                assert_ne!(e.number, INVALID_CONFIG);
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
}

//! The price oracle's interface: its index, entry points, inputs, outputs, events, errors and
//! genesis settings.

use borsh::{BorshDeserialize, BorshSerialize};
use comqute_qpi::primitives::{Amount, ContractIndex, Epoch, Hash32, Identity};
use comqute_qpi::{contract_api, rejected_errors};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::ids::{JobId, WorkerId};

contract_api! {
    index: 4, name: "price-oracle", events: OracleEvent, errors: OracleError::ALL_CODES,
    procedures: {
        /// Job registry only: a job settled and paid its worker (undisputed, or after a
        /// passed check); its unit price becomes an observation of its model's market.
        RECORD = 1 "record": Observation => Recorded,
    },
    functions: {
        /// What a job of this model and size would cost: the published median and the
        /// p25–p75 band per 1,000 output tokens and the cost range for the maximum output;
        /// [`Estimate::NoData`] when no price was published yet (never an invented price).
        ESTIMATE = 1 "estimate": EstimateQuery => Estimate,
        /// A model's published price, if any.
        PRICE = 2 "price": ModelRef => Option<ModelPrice>,
        /// Every model with observations, by id, a page at a time (at most
        /// [`crate::rules::MAX_PAGE`]).
        MODELS = 3 "models": ModelsQuery => ModelsPage,
        /// The genesis settings (decay, identity cap, move clamp, bounds).
        SETTINGS = 4 "settings": () => OracleConfig,
    },
}

/// Input of [`RECORD`]: one settled job as the job registry saw it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub struct Observation {
    /// The job.
    pub job_id: JobId,
    /// Its model id ([`crate::rules::model_id`]).
    pub model: Hash32,
    /// The worker the market assigned and paid.
    pub worker: WorkerId,
    /// Who paid.
    pub requester: Identity,
    /// The unit price charged: the worker's price per 1,000 output tokens, fixed at
    /// assignment.
    pub price_per_1k: Amount,
    /// Output tokens paid for: the observation's weight.
    pub output_tokens: u32,
}

/// Why an observation was not kept.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
pub enum SkipReason {
    /// The requester is the worker (or, with pools, the worker's pool): a trade with
    /// oneself says nothing about the market.
    SelfDealing,
    /// No output tokens, so no weight.
    NoTokens,
    /// A negative price.
    NegativePrice,
    /// The model is new and the oracle already tracks its genesis maximum of models.
    TooManyModels,
    /// The job's weight is lighter than every kept sample of a full list.
    TooLight,
}

/// Output of [`RECORD`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub enum Recorded {
    /// Kept as a sample; folded into the price at the end of the epoch.
    Kept {
        /// Samples the model holds now.
        samples: u16,
    },
    /// Not kept, and why (not an error: the job's settlement goes on).
    Skipped {
        /// Why.
        reason: SkipReason,
    },
}

/// A model by name or by id. Input of [`PRICE`] and part of [`EstimateQuery`].
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ModelRef {
    /// Its name (`"llama3.2:1b"`); the id is [`crate::rules::model_id`] of it.
    Name(String),
    /// Its id.
    Id(Hash32),
}

impl ModelRef {
    /// The model id.
    pub fn id(&self) -> Hash32 {
        match self {
            ModelRef::Name(n) => crate::rules::model_id(n),
            ModelRef::Id(h) => *h,
        }
    }
}

/// Input of [`ESTIMATE`].
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EstimateQuery {
    /// The model.
    pub model: ModelRef,
    /// The prompt's tokens. The market charges output tokens only
    /// ([`crate::rules::payment`]), so they do not change the cost; echoed back.
    pub prompt_tokens: u32,
    /// The most output tokens the job may produce.
    pub max_output_tokens: u32,
}

/// Output of [`ESTIMATE`].
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Estimate {
    /// No price was published for the model: no job of it has settled with a worker the
    /// market assigned, or the epoch in which the first did has not ended. The oracle does
    /// not guess.
    NoData {
        /// The model id.
        model: Hash32,
        /// Observations recorded and waiting for the epoch's end (0: none at all).
        pending_observations: u32,
    },
    /// The published price and what the job would cost at it.
    Priced {
        /// The model id.
        model: Hash32,
        /// The published (clamped) median per 1,000 output tokens.
        median_per_1k: Amount,
        /// The 25th weighted percentile per 1k (never above the median).
        p25_per_1k: Amount,
        /// The 75th weighted percentile per 1k (never below the median).
        p75_per_1k: Amount,
        /// Prompt tokens, echoed (not charged).
        prompt_tokens: u32,
        /// Output tokens the range is for.
        max_output_tokens: u32,
        /// `max_output_tokens × p25 / 1000`, rounded down.
        cost_low: Amount,
        /// `max_output_tokens × median / 1000`, rounded down.
        cost_median: Amount,
        /// `max_output_tokens × p75 / 1000`, rounded down: the escrow that covers the job
        /// at a p75 worker (`job submit --price auto`).
        cost_high: Amount,
        /// Samples behind the published figures.
        observations: u32,
        /// The epoch whose end published them.
        epoch: Epoch,
    },
}

/// A model's published price. Output of [`PRICE`], items of [`MODELS`].
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelPrice {
    /// The model id.
    pub model: Hash32,
    /// The published median per 1k; `None` until the first epoch with observations ends.
    pub median_per_1k: Option<Amount>,
    /// The 25th weighted percentile per 1k at the last publication.
    pub p25_per_1k: Option<Amount>,
    /// The 75th weighted percentile per 1k at the last publication.
    pub p75_per_1k: Option<Amount>,
    /// The raw weighted median of the samples at the last publication (before the clamp).
    pub raw_median_per_1k: Option<Amount>,
    /// The epoch of the last publication.
    pub published_epoch: Option<Epoch>,
    /// Samples kept now.
    pub samples: u16,
    /// Samples behind the last publication (weight left after decay).
    pub published_samples: u32,
    /// Observations recorded since the last publication.
    pub pending_observations: u32,
    /// Observations ever kept.
    pub observations: u64,
}

/// Input of [`MODELS`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub struct ModelsQuery {
    /// Start after this model id.
    pub cursor: Option<Hash32>,
    /// At most this many (1 to [`crate::rules::MAX_PAGE`]).
    pub limit: u16,
}

/// Output of [`MODELS`].
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelsPage {
    /// The models, ascending by id.
    pub models: Vec<ModelPrice>,
    /// The cursor of the next page, if there is one.
    pub next_cursor: Option<Hash32>,
}

/// Price oracle events.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub enum OracleEvent {
    /// A settled job's unit price was kept as a sample.
    ObservationRecorded {
        /// The job.
        job_id: JobId,
        /// Its model.
        model: Hash32,
        /// The unit price per 1k.
        price_per_1k: Amount,
        /// Its weight (output tokens).
        weight: u32,
        /// A lighter sample evicted to make room (its price), if the list was full.
        evicted: Option<Amount>,
    },
    /// A settled job's price was not kept.
    ObservationSkipped {
        /// The job.
        job_id: JobId,
        /// Its model.
        model: Hash32,
        /// Why.
        reason: SkipReason,
    },
    /// An epoch's end published a model's price.
    PricePublished {
        /// The model.
        model: Hash32,
        /// The epoch that ended.
        epoch: Epoch,
        /// The previous published median (`None`: the first publication).
        old: Option<Amount>,
        /// The published median.
        new: Amount,
        /// The samples' weighted median before the clamp.
        raw: Amount,
        /// Whether the per-epoch move limit held the median back.
        clamped: bool,
        /// The published band.
        p25: Amount,
        /// See `p25`.
        p75: Amount,
        /// Samples behind it.
        samples: u32,
    },
}

/// Why the price oracle refused a call. Codes 600–699.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OracleError {
    /// The invocator may not call this procedure.
    #[error("{caller} may not call price oracle procedure {procedure}")]
    NotAuthorized {
        /// The invocator.
        caller: Identity,
        /// The procedure.
        procedure: u16,
    },
    /// Money sent to a procedure that takes none.
    #[error("procedure takes no payment, got {0}")]
    UnexpectedPayment(Amount),
}

rejected_errors!(OracleError {
    NotAuthorized = 600,
    UnexpectedPayment = 601,
});

/// The most samples a model may keep ([`OracleConfig::max_samples`]).
pub const MAX_SAMPLES: u16 = 1_024;

/// The price oracle's genesis settings. Every share is in basis points.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct OracleConfig {
    /// What a sample's weight keeps at each epoch end, bps (default 5,000: weights halve
    /// every epoch). 0: only the current epoch's jobs count; 10,000: no decay.
    pub decay_bps: u16,
    /// The most of the total weight one identity may carry as worker, and one as requester,
    /// bps (default 1,250 = 1/8).
    pub identity_cap_bps: u16,
    /// The most the published median moves per epoch, bps of the previous value (default
    /// 1,000 = ±10%; a move of 1 unit is always allowed, so a tiny price is not frozen).
    pub max_move_bps: u16,
    /// Samples kept per model (default 256, at most [`MAX_SAMPLES`]): a full list evicts
    /// its lightest (decayed) sample, the oldest among equals, for a heavier one.
    pub max_samples: u16,
    /// Models tracked at most (default 1,024); a job of a model beyond it is not recorded.
    pub max_models: u32,
    /// The contracts that may record observations (the job registry). Genesis wiring, not
    /// a setting.
    #[serde(skip)]
    pub record_clients: Vec<ContractIndex>,
    /// The compute pools, asked whether a job's requester and worker are one party through
    /// a pool (genesis wiring, not a setting; `None`: not asked).
    #[serde(skip)]
    pub pools: Option<ContractIndex>,
}

impl Default for OracleConfig {
    fn default() -> Self {
        OracleConfig {
            decay_bps: 5_000,
            identity_cap_bps: 1_250,
            max_move_bps: 1_000,
            max_samples: 256,
            max_models: 1_024,
            record_clients: Vec::new(),
            pools: None,
        }
    }
}

/// Why an [`OracleConfig`] is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OracleConfigError {
    /// A share over 10,000 bps.
    #[error("{field} is {got} basis points, over 10000")]
    OverWhole {
        /// The setting.
        field: &'static str,
        /// Its value.
        got: u16,
    },
    /// A setting that must be at least 1.
    #[error("{0} must be at least 1")]
    Zero(&'static str),
    /// Too many samples per model.
    #[error("maxSamples is {0}, over {MAX_SAMPLES}")]
    TooManySamples(u16),
}

impl OracleConfig {
    /// Checks the settings.
    pub fn validate(&self) -> Result<(), OracleConfigError> {
        for (field, got) in [
            ("decayBps", self.decay_bps),
            ("identityCapBps", self.identity_cap_bps),
            ("maxMoveBps", self.max_move_bps),
        ] {
            if got > crate::rules::BPS {
                return Err(OracleConfigError::OverWhole { field, got });
            }
        }
        for (field, v) in [
            ("identityCapBps", u32::from(self.identity_cap_bps)),
            ("maxMoveBps", u32::from(self.max_move_bps)),
            ("maxSamples", u32::from(self.max_samples)),
            ("maxModels", self.max_models),
        ] {
            if v == 0 {
                return Err(OracleConfigError::Zero(field));
            }
        }
        if self.max_samples > MAX_SAMPLES {
            return Err(OracleConfigError::TooManySamples(self.max_samples));
        }
        Ok(())
    }

    /// The most the median may move from `previous` in one epoch:
    /// `max(1, previous × max_move_bps / 10,000)`.
    pub fn allowed_move(&self, previous: Amount) -> i64 {
        let v = i128::from(previous.0.max(0)) * i128::from(self.max_move_bps)
            / i128::from(crate::rules::BPS);
        i64::try_from(v).unwrap_or(i64::MAX).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked() {
        assert_eq!(OracleConfig::default().validate(), Ok(()));
        let bad = OracleConfig {
            identity_cap_bps: 10_001,
            ..OracleConfig::default()
        };
        assert_eq!(
            bad.validate(),
            Err(OracleConfigError::OverWhole {
                field: "identityCapBps",
                got: 10_001
            })
        );
        let bad = OracleConfig {
            max_samples: 0,
            ..OracleConfig::default()
        };
        assert_eq!(bad.validate(), Err(OracleConfigError::Zero("maxSamples")));
        let bad = OracleConfig {
            max_samples: MAX_SAMPLES + 1,
            ..OracleConfig::default()
        };
        assert!(matches!(
            bad.validate(),
            Err(OracleConfigError::TooManySamples(_))
        ));
    }

    #[test]
    fn the_move_allowance_is_ten_percent_and_at_least_one() {
        let c = OracleConfig::default();
        assert_eq!(c.allowed_move(Amount(1_000)), 100);
        assert_eq!(c.allowed_move(Amount(5)), 1);
        assert_eq!(c.allowed_move(Amount(0)), 1);
    }
}

//! The price oracle (contract index 4): per model, a robust market price from the jobs that
//! settled, for estimates and defaults — never for payouts. It calls no contract; the job
//! registry (index 6) calls it ([`RECORD`]) when a job settles and pays its worker.
//!
//! ## The rules (integer maths, parameters from genesis, [`OracleConfig`])
//! 1. **What is observed.** A job that settled and paid its worker undisputed (its challenge
//!    window passed) or after a passed check, never one refunded or left unverified. Its unit
//!    price is the worker's price per 1,000 output tokens fixed at assignment (what the
//!    market charged); its weight is the output tokens paid for. A job whose requester is its
//!    worker is skipped ([`same_party`]: the hook where a later pools contract also skips a
//!    requester paying its own pool); so are jobs without tokens or at a negative price.
//! 2. **Decay.** A sample recorded in epoch `e` weighs, at the end of epoch `E`,
//!    `tokens × (decay_bps / 10⁴)^(E − e)`, rounded down at each step ([`decayed`]; by
//!    default it halves every epoch). Computed when needed from the sample's epoch, so no
//!    stored weight is rewritten; a sample whose weight reached 0 is dropped.
//! 3. **Per-identity cap.** Of the total decayed weight `W`, no worker identity and no
//!    requester identity carries more than `W × identity_cap_bps / 10⁴` (1/8 by default):
//!    an identity over it has all its samples scaled down pro rata, first by worker, then by
//!    requester ([`capped`]).
//! 4. **Published figures.** The weighted p25, median and p75 of the capped samples
//!    ([`quantile`]: the lowest price at which the cumulative weight reaches the share). At
//!    each epoch end with new samples (or a median still held back), the new median is the
//!    samples' median clamped to `previous ± max(1, previous × max_move_bps / 10⁴)` (±10%
//!    by default); the first publication is the first epoch's median, unclamped. The band
//!    is widened to contain the published median. A model whose published median was held
//!    back stays due and moves on at the next epoch ends until it reaches its samples.
//! 5. **Bounded storage.** Per model, at most `max_samples` (256) samples in one list; a
//!    full list evicts its lightest (decayed) sample, the oldest among equals, for a
//!    heavier new one, and refuses a lighter one. At most `max_models` (1,024) models. An
//!    epoch end folds each due model once: `O(models × samples × log samples)`.
//!
//! ## Why it is hard to move
//! - Wash trading costs money: every job pays the market's verification fee
//!   ([`crate::verification::VerifyConfig::fee_bps`], 10% by default, paid to the
//!   verification pool, not back to the trader), so fake volume `V` costs `fee × V`, and it
//!   needs a worker identity with a stake the market assigns jobs to.
//! - One identity pair trading with itself carries at most 1/8 of the weight as worker and
//!   as requester, which shifts the median by a bounded quantile, and whatever it does the
//!   published median moves at most ±10% per epoch. The oracle feeds estimates and defaults
//!   (`job estimate`, `--price auto`), never a payment, so moving it buys nothing directly.

mod api;

pub use api::*;

use std::collections::BTreeMap;

use borsh::{BorshDeserialize, BorshSerialize};
use comqute_qpi::contract::{Contract, Ctx, KeyBuf, Output, TickWork, View};
use comqute_qpi::error::ContractError;
use comqute_qpi::kit::{dispatch_function, dispatch_procedure, ContractMeta};
use comqute_qpi::primitives::{Amount, Epoch, Hash32, Identity, MAX_AMOUNT};

use crate::rules::{required_escrow, BPS, MAX_PAGE};

const T_BOOK: u8 = 1; // map: model id -> Book
const T_DUE: u8 = 2; // set: model ids to fold at the epoch's end
const K_MODELS: &[u8] = &[3]; // u32: books kept
const T_MODEL: u8 = 4; // set: model ids with a book (the index MODELS pages over)

fn book_key(model: &Hash32) -> KeyBuf {
    KeyBuf::table(T_BOOK).bytes32(&model.0)
}
fn due_key(model: &Hash32) -> KeyBuf {
    KeyBuf::table(T_DUE).bytes32(&model.0)
}
fn model_key(model: &Hash32) -> KeyBuf {
    KeyBuf::table(T_MODEL).bytes32(&model.0)
}

fn corrupt(key: &[u8], detail: &str) -> ContractError {
    ContractError::CorruptState {
        key: key.iter().map(|b| format!("{b:02x}")).collect(),
        detail: detail.into(),
    }
}

/// One kept observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Sample {
    /// Its order of arrival in the model's book (older first among equal weights).
    pub seq: u64,
    /// The epoch it was recorded in.
    pub epoch: Epoch,
    /// Unit price per 1k.
    pub price: i64,
    /// Output tokens: its weight before decay.
    pub tokens: u32,
    /// The worker paid.
    pub worker: Identity,
    /// The requester who paid.
    pub requester: Identity,
}

/// What was published for a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Published {
    /// The published (clamped) median.
    pub median: i64,
    /// The band, containing the median.
    pub p25: i64,
    /// See `p25`.
    pub p75: i64,
    /// The samples' median before the clamp.
    pub raw: i64,
    /// The epoch whose end published it.
    pub epoch: Epoch,
    /// Samples with weight behind it.
    pub samples: u32,
}

/// A model's book: its samples and its published price.
#[derive(Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
struct Book {
    samples: Vec<Sample>,
    next_seq: u64,
    published: Option<Published>,
    pending: u32,
    observations: u64,
}

/// The figures of a set of samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Weighted 25th percentile.
    pub p25: i64,
    /// Weighted median.
    pub median: i64,
    /// Weighted 75th percentile.
    pub p75: i64,
    /// Samples with weight after the caps.
    pub samples: u32,
}

/// The requester and worker are one party: the requester itself. Such a job is not
/// observed ([`PriceOracle`] also skips one whose requester shares the worker's pool or
/// operates it: `same_pool`).
pub fn same_party(o: &Observation) -> bool {
    o.requester == o.worker.0
}

/// Whether the requester is in the worker's pool, or operates it (the pools contract asked:
/// a function call into a lower index). A pool trading with itself is one party.
fn same_pool(
    ctx: &Ctx<'_>,
    pools: comqute_qpi::primitives::ContractIndex,
    o: &Observation,
) -> Result<bool, ContractError> {
    use crate::pools::{MemberView, PoolRef, PoolView, GET_POOL, MEMBER_OF};
    debug_assert_eq!(pools, MEMBER_OF.contract());
    let view = ctx.view();
    let Some(w) = view.query::<_, Option<MemberView>>(MEMBER_OF, &o.worker)? else {
        return Ok(false);
    };
    let pool = w.member.pool;
    let r: Option<MemberView> = view.query(MEMBER_OF, &crate::ids::WorkerId(o.requester))?;
    if r.is_some_and(|r| r.member.pool == pool) {
        return Ok(true);
    }
    let p: Option<PoolView> = view.query(GET_POOL, &PoolRef { pool })?;
    Ok(p.is_some_and(|p| p.pool.operator == o.requester))
}

/// `tokens` decayed over `age` epochs at `decay_bps` per epoch, rounded down at each step.
pub fn decayed(tokens: u32, age: u32, decay_bps: u16) -> u64 {
    let mut w = u64::from(tokens);
    for _ in 0..age {
        if w == 0 {
            break;
        }
        w = w * u64::from(decay_bps) / u64::from(BPS);
    }
    w
}

/// Scales each identity's weight down to at most `cap_bps` of the total weight `W` (the
/// total before capping): first by worker, then by requester. Input and output are
/// `(price, weight)` in the samples' order.
pub fn capped(samples: &[(i64, u128, Identity, Identity)], cap_bps: u16) -> Vec<(i64, u128)> {
    let total: u128 = samples.iter().map(|s| s.1).sum();
    let cap = (total * u128::from(cap_bps) / u128::from(BPS)).max(1);
    let mut w: Vec<u128> = samples.iter().map(|s| s.1).collect();
    for by_worker in [true, false] {
        let who = |s: &(i64, u128, Identity, Identity)| if by_worker { s.2 } else { s.3 };
        let mut sums: BTreeMap<Identity, u128> = BTreeMap::new();
        for (s, wi) in samples.iter().zip(&w) {
            *sums.entry(who(s)).or_default() += *wi;
        }
        for (s, wi) in samples.iter().zip(w.iter_mut()) {
            let sum = sums.get(&who(s)).copied().unwrap_or(0);
            if sum > cap {
                *wi = *wi * cap / sum;
            }
        }
    }
    samples.iter().zip(w).map(|(s, wi)| (s.0, wi)).collect()
}

/// The lowest price at which the cumulative weight of `sorted` (ascending by price) reaches
/// `q_bps` of the total; `None` when the total is 0.
pub fn quantile(sorted: &[(i64, u128)], q_bps: u16) -> Option<i64> {
    let total: u128 = sorted.iter().map(|s| s.1).sum();
    if total == 0 {
        return None;
    }
    let need = total * u128::from(q_bps);
    let mut cum = 0u128;
    for (price, w) in sorted {
        cum += w;
        if cum * u128::from(BPS) >= need && *w > 0 {
            return Some(*price);
        }
    }
    sorted.last().map(|s| s.0)
}

/// The figures of `samples` at the end of epoch `now`, or `None` when no weight is left.
pub fn summarize(samples: &[Sample], now: Epoch, config: &OracleConfig) -> Option<Summary> {
    let weighed: Vec<(i64, u128, Identity, Identity)> = samples
        .iter()
        .map(|s| {
            let age = u32::from(now.0.saturating_sub(s.epoch.0));
            let w = decayed(s.tokens, age, config.decay_bps);
            (s.price, u128::from(w), s.worker, s.requester)
        })
        .filter(|s| s.1 > 0)
        .collect();
    let mut sorted = capped(&weighed, config.identity_cap_bps);
    sorted.retain(|s| s.1 > 0);
    sorted.sort_unstable();
    Some(Summary {
        p25: quantile(&sorted, 2_500)?,
        median: quantile(&sorted, 5_000)?,
        p75: quantile(&sorted, 7_500)?,
        samples: u32::try_from(sorted.len()).unwrap_or(u32::MAX),
    })
}

/// The median to publish after `previous` when the samples say `raw`: `raw` clamped to the
/// per-epoch move ([`OracleConfig::allowed_move`]); the first publication is `raw`. Returns
/// it and whether the clamp held it back.
pub fn clamp_move(previous: Option<i64>, raw: i64, config: &OracleConfig) -> (i64, bool) {
    match previous {
        None => (raw, false),
        Some(p) => {
            let d = config.allowed_move(Amount(p));
            let lo = p.saturating_sub(d).max(0);
            let hi = p.saturating_add(d).min(MAX_AMOUNT);
            let v = raw.clamp(lo, hi);
            (v, v != raw)
        }
    }
}

/// The price oracle contract.
#[derive(Debug, Clone, Default)]
pub struct PriceOracle {
    config: OracleConfig,
}

impl PriceOracle {
    /// The contract with these genesis settings.
    pub fn new(config: OracleConfig) -> Self {
        PriceOracle { config }
    }

    fn require_client(&self, ctx: &Ctx<'_>, procedure: u16) -> Result<(), OracleError> {
        crate::rules::invoked_by(ctx, &self.config.record_clients)
            .map_err(|caller| OracleError::NotAuthorized { caller, procedure })
    }

    fn book(view: &View<'_>, model: &Hash32) -> Result<Option<Book>, ContractError> {
        view.get(&book_key(model))
    }

    fn skip(ctx: &mut Ctx<'_>, o: &Observation, reason: SkipReason) -> Recorded {
        ctx.emit(&OracleEvent::ObservationSkipped {
            job_id: o.job_id,
            model: o.model,
            reason,
        });
        Recorded::Skipped { reason }
    }

    fn record(&self, ctx: &mut Ctx<'_>, o: Observation) -> Result<Recorded, ContractError> {
        self.require_client(ctx, RECORD.number())?;
        let reward = ctx.invocation_reward();
        if reward != Amount::ZERO {
            return Err(OracleError::UnexpectedPayment(reward).into());
        }
        let pooled = match self.config.pools {
            Some(pools) => same_pool(ctx, pools, &o)?,
            None => false,
        };
        let reason = if same_party(&o) || pooled {
            Some(SkipReason::SelfDealing)
        } else if o.output_tokens == 0 {
            Some(SkipReason::NoTokens)
        } else if o.price_per_1k.0 < 0 {
            Some(SkipReason::NegativePrice)
        } else {
            None
        };
        if let Some(r) = reason {
            return Ok(Self::skip(ctx, &o, r));
        }
        let now = ctx.epoch();
        let mut book = match Self::book(&ctx.view(), &o.model)? {
            Some(b) => b,
            None => {
                let models: u32 = ctx.get(K_MODELS)?.unwrap_or(0);
                if models >= self.config.max_models {
                    return Ok(Self::skip(ctx, &o, SkipReason::TooManyModels));
                }
                ctx.put(K_MODELS, &(models + 1))?;
                ctx.insert_key(&model_key(&o.model))?;
                Book::default()
            }
        };
        let weight = |s: &Sample| {
            let age = u32::from(now.0.saturating_sub(s.epoch.0));
            decayed(s.tokens, age, self.config.decay_bps)
        };
        book.samples.retain(|s| weight(s) > 0);
        let mut evicted = None;
        if book.samples.len() >= usize::from(self.config.max_samples) {
            // The lightest, the oldest among equals.
            let lightest = book
                .samples
                .iter()
                .enumerate()
                .min_by_key(|(_, s)| (weight(s), s.seq))
                .map(|(i, s)| (i, weight(s)));
            match lightest {
                Some((i, w)) if w <= u64::from(o.output_tokens) => {
                    evicted = Some(Amount(book.samples.remove(i).price));
                }
                _ => {
                    ctx.put(&book_key(&o.model), &book)?;
                    return Ok(Self::skip(ctx, &o, SkipReason::TooLight));
                }
            }
        }
        book.samples.push(Sample {
            seq: book.next_seq,
            epoch: now,
            price: o.price_per_1k.0,
            tokens: o.output_tokens,
            worker: o.worker.0,
            requester: o.requester,
        });
        book.next_seq += 1;
        book.pending = book.pending.saturating_add(1);
        book.observations += 1;
        let samples = u16::try_from(book.samples.len()).unwrap_or(u16::MAX);
        ctx.put(&book_key(&o.model), &book)?;
        ctx.insert_key(&due_key(&o.model))?;
        ctx.emit(&OracleEvent::ObservationRecorded {
            job_id: o.job_id,
            model: o.model,
            price_per_1k: o.price_per_1k,
            weight: o.output_tokens,
            evicted,
        });
        Ok(Recorded::Kept { samples })
    }

    /// Publishes the price of every due model (END_EPOCH).
    fn fold(&self, ctx: &mut Ctx<'_>) -> Result<(), ContractError> {
        let now = ctx.epoch();
        let limit = usize::try_from(self.config.max_models).unwrap_or(usize::MAX);
        let due = ctx.view().keys_with_prefix(&[T_DUE], None, limit);
        for key in due {
            let model = key
                .get(1..33)
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .map(Hash32)
                .ok_or_else(|| corrupt(&key, "short due key"))?;
            let bkey = book_key(&model);
            let mut book = Self::book(&ctx.view(), &model)?
                .ok_or_else(|| corrupt(&bkey, "a due model without a book"))?;
            let decay = self.config.decay_bps;
            book.samples.retain(|s| {
                decayed(s.tokens, u32::from(now.0.saturating_sub(s.epoch.0)), decay) > 0
            });
            let mut still_due = false;
            if let Some(sum) = summarize(&book.samples, now, &self.config) {
                let old = book.published.map(|p| p.median);
                let (median, clamped) = clamp_move(old, sum.median, &self.config);
                let p = Published {
                    median,
                    p25: sum.p25.min(median),
                    p75: sum.p75.max(median),
                    raw: sum.median,
                    epoch: now,
                    samples: sum.samples,
                };
                book.published = Some(p);
                still_due = clamped;
                ctx.emit(&OracleEvent::PricePublished {
                    model,
                    epoch: now,
                    old: old.map(Amount),
                    new: Amount(median),
                    raw: Amount(sum.median),
                    clamped,
                    p25: Amount(p.p25),
                    p75: Amount(p.p75),
                    samples: p.samples,
                });
            }
            book.pending = 0;
            if !still_due {
                ctx.remove_key(&key)?;
            }
            ctx.put(&bkey, &book)?;
        }
        Ok(())
    }

    fn model_price(model: Hash32, book: &Book) -> ModelPrice {
        let p = book.published;
        ModelPrice {
            model,
            median_per_1k: p.map(|p| Amount(p.median)),
            p25_per_1k: p.map(|p| Amount(p.p25)),
            p75_per_1k: p.map(|p| Amount(p.p75)),
            raw_median_per_1k: p.map(|p| Amount(p.raw)),
            published_epoch: p.map(|p| p.epoch),
            samples: u16::try_from(book.samples.len()).unwrap_or(u16::MAX),
            published_samples: p.map_or(0, |p| p.samples),
            pending_observations: book.pending,
            observations: book.observations,
        }
    }

    fn price(view: &View<'_>, model: &ModelRef) -> Result<Option<ModelPrice>, ContractError> {
        let id = model.id();
        Ok(Self::book(view, &id)?.map(|b| Self::model_price(id, &b)))
    }

    fn estimate(view: &View<'_>, q: &EstimateQuery) -> Result<Estimate, ContractError> {
        let model = q.model.id();
        let book = Self::book(view, &model)?.unwrap_or_default();
        let Some(p) = book.published else {
            return Ok(Estimate::NoData {
                model,
                pending_observations: book.pending,
            });
        };
        let cost = |price: i64| {
            required_escrow(q.max_output_tokens, Amount(price)).unwrap_or(Amount(MAX_AMOUNT))
        };
        Ok(Estimate::Priced {
            model,
            median_per_1k: Amount(p.median),
            p25_per_1k: Amount(p.p25),
            p75_per_1k: Amount(p.p75),
            prompt_tokens: q.prompt_tokens,
            max_output_tokens: q.max_output_tokens,
            cost_low: cost(p.p25),
            cost_median: cost(p.median),
            cost_high: cost(p.p75),
            observations: p.samples,
            epoch: p.epoch,
        })
    }

    fn models(view: &View<'_>, q: ModelsQuery) -> Result<ModelsPage, ContractError> {
        let limit = usize::from(q.limit.clamp(1, MAX_PAGE));
        let after = q.cursor.map(|c| model_key(&c));
        let keys = view.keys_with_prefix(&[T_MODEL], after.as_deref(), limit + 1);
        let more = keys.len() > limit;
        let mut models = Vec::with_capacity(limit.min(keys.len()));
        for key in keys.iter().take(limit) {
            let model = key
                .get(1..33)
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .map(Hash32)
                .ok_or_else(|| corrupt(key, "short book key"))?;
            let book =
                Self::book(view, &model)?.ok_or_else(|| corrupt(key, "listed book missing"))?;
            models.push(Self::model_price(model, &book));
        }
        let next_cursor = if more {
            models.last().map(|m| m.model)
        } else {
            None
        };
        Ok(ModelsPage {
            models,
            next_cursor,
        })
    }
}

impl Contract for PriceOracle {
    fn meta(&self) -> &'static ContractMeta {
        &META
    }
    fn initialize(&self, _ctx: &mut Ctx<'_>) -> Result<(), ContractError> {
        self.config
            .validate()
            .map_err(crate::genesis::invalid_config)
    }
    fn procedure(&self, ctx: &mut Ctx<'_>, input_type: u16, input: &[u8]) -> Output {
        dispatch_procedure(ctx, input_type, input)
            .on(RECORD, |ctx, o| self.record(ctx, o))
            .done()
    }
    fn function(&self, view: &View<'_>, input_type: u16, input: &[u8]) -> Output {
        dispatch_function(view, input_type, input)
            .on(ESTIMATE, |view, q| Self::estimate(view, &q))
            .on(PRICE, |view, m| Self::price(view, &m))
            .on(MODELS, |view, q| Self::models(view, q))
            .on(SETTINGS, |_, ()| Ok(self.config.clone()))
            .done()
    }
    fn end_epoch(&self, ctx: &mut Ctx<'_>) -> Result<(), ContractError> {
        self.fold(ctx)
    }
    fn has_begin_tick(&self) -> bool {
        false
    }
    fn epoch_work(&self, view: &View<'_>) -> bool {
        view.first_with_prefix_map(&[T_DUE], |_| ()).is_some()
    }
    fn next_tick_work(&self, _view: &View<'_>) -> TickWork {
        TickWork::Idle
    }
}

/// The contract's id.
pub fn id() -> Identity {
    Identity::contract(INDEX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(n: u8) -> Identity {
        Identity([n; 32])
    }

    fn sample(seq: u64, epoch: u16, price: i64, tokens: u32, w: u8, r: u8) -> Sample {
        Sample {
            seq,
            epoch: Epoch(epoch),
            price,
            tokens,
            worker: who(w),
            requester: who(r),
        }
    }

    #[test]
    fn weights_halve_each_epoch_in_integers() {
        assert_eq!(decayed(1_000, 0, 5_000), 1_000);
        assert_eq!(decayed(1_000, 1, 5_000), 500);
        assert_eq!(decayed(1_000, 3, 5_000), 125);
        assert_eq!(decayed(1, 1, 5_000), 0);
        assert_eq!(decayed(1_000, 500, 10_000), 1_000);
        assert_eq!(decayed(1_000, 1, 0), 0);
    }

    #[test]
    fn the_weighted_median_follows_the_weight() {
        let sorted = [(10, 1u128), (20, 1), (30, 5)];
        assert_eq!(quantile(&sorted, 5_000), Some(30));
        assert_eq!(quantile(&sorted, 2_500), Some(20));
        assert_eq!(quantile(&sorted, 1_000), Some(10));
        let even = [(10, 1u128), (20, 1), (30, 1), (40, 1)];
        assert_eq!(quantile(&even, 5_000), Some(20));
        assert_eq!(quantile(&even, 7_500), Some(30));
        assert_eq!(quantile(&[], 5_000), None);
        assert_eq!(quantile(&[(5, 0)], 5_000), None);
    }

    #[test]
    fn one_identity_is_capped_at_its_share() {
        // Eight honest workers at 100 (weight 1,000 each) and one at 10,000 with weight 8,000.
        let mut s: Vec<(i64, u128, Identity, Identity)> = (1..=8)
            .map(|i| (100, 1_000, who(i), who(100 + i)))
            .collect();
        s.push((10_000, 8_000, who(50), who(150)));
        let c = capped(&s, 1_250);
        // W = 16,000; the cap is 2,000.
        assert_eq!(c[8], (10_000, 2_000));
        assert!(c[..8].iter().all(|x| x.1 == 1_000));
        // Capped by requester too: two workers, one requester paying both.
        let s = vec![
            (100, 1_000, who(1), who(9)),
            (200, 1_000, who(2), who(9)),
            (300, 6_000, who(3), who(8)),
        ];
        let c = capped(&s, 5_000);
        // W = 8,000, cap 4,000: worker 3 down to 4,000; requester 9 holds 2,000, fine.
        assert_eq!(c, vec![(100, 1_000), (200, 1_000), (300, 4_000)]);
    }

    #[test]
    fn summaries_decay_cap_and_band() {
        let c = OracleConfig::default();
        let samples: Vec<Sample> = (0..10u8)
            .map(|i| sample(u64::from(i), 3, 100 + i64::from(i), 1_000, i, 50 + i))
            .collect();
        let s = summarize(&samples, Epoch(3), &c).unwrap();
        assert_eq!((s.p25, s.median, s.p75, s.samples), (102, 104, 107, 10));
        // Decayed to nothing: no figures.
        let old = [sample(0, 0, 100, 1, 1, 2)];
        assert_eq!(summarize(&old, Epoch(1), &c), None);
        // Newer samples outweigh older ones.
        let mixed: Vec<Sample> = (0..8u8)
            .map(|i| sample(u64::from(i), 0, 100, 1_000, i, 50 + i))
            .chain((0..8u8).map(|i| sample(8 + u64::from(i), 2, 200, 1_000, 20 + i, 70 + i)))
            .collect();
        let s = summarize(&mixed, Epoch(2), &c).unwrap();
        assert_eq!(s.median, 200);
    }

    #[test]
    fn the_clamp_limits_each_move() {
        let c = OracleConfig::default();
        assert_eq!(clamp_move(None, 5_000, &c), (5_000, false));
        assert_eq!(clamp_move(Some(1_000), 5_000, &c), (1_100, true));
        assert_eq!(clamp_move(Some(1_000), 1, &c), (900, true));
        assert_eq!(clamp_move(Some(1_000), 1_050, &c), (1_050, false));
        assert_eq!(clamp_move(Some(3), 100, &c), (4, true));
        assert_eq!(clamp_move(Some(0), 100, &c), (1, true));
    }
}

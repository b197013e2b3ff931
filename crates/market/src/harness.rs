//! The marketplace as an [`ActionModel`]: random calls of every procedure of the escrow
//! vault's clients (the worker registry and the job registry; the vault itself refuses every
//! invocator but them), time passing, and the shipped invariants.
//!
//! - **Actions** ([`MarketAct`]): every worker-registry procedure (register, update,
//!   heartbeat and availability, with daemon sessions, top-up, unbond, withdraw), every
//!   job-registry procedure (submit, claim, start, decline, post result, cancel, fail,
//!   challenge, force a verdict, expire; reasons short, long and too long), replicas'
//!   commits and reveals on running checks (honest, wrong, abstaining, with bad bonds and
//!   salts), a state-guided "next
//!   natural step of a live job" (an offer is started, declined, given up or left
//!   unanswered), and waits. Actor and job fields are picked modulo what exists, so a
//!   sequence stays meaningful whatever came before; wrong callers and unknown jobs are part
//!   of it. The pools' procedures (create, join, leave, withdraw, claim, close, refresh)
//!   with random fees, schemes and stakes; a progress step with nothing live submits a
//!   fresh job; an epoch end (the oracle publishes).
//! - **Invariants** ([`MarketModel::invariants`]): money conserved (balances sum to the
//!   circulating supply, the vault holds exactly its escrows and stakes, the registries hold
//!   nothing); escrow never negative; no job paid over its escrow (and a closed job's payment
//!   plus refund is its escrow); every job terminal after its deadline and window (a live
//!   job always has the deadline its status calls for: an open job its expiry, an offer its
//!   answer deadline, a running job the delivery deadline its worker accepted by starting,
//!   exactly `timeout_ticks` after the start; and it is never overdue by more than the
//!   settlement backlog allows); no slash but for a started job's missed delivery deadline
//!   or a failed check (the fair-deadline rule); every checked job ends in exactly one
//!   verdict, and its payout never leaves escrow before it; no hook ever fails; no balance
//!   negative; the pools contract holds its books to the unit and paid + carried ==
//!   received per pool; no member paid out of another pool; the oracle's published median
//!   moves within its per-epoch cap.
//!
//! The genesis has two pools: workers 3 and 4 serve jobs as members of pool 1.
//!
//! The genesis (the marketplace, eight funded actors, three listed workers) is built once
//! and every sequence runs on a fork of it, in O(1).

use crate::ids::JobId;
use std::sync::Mutex;

use proptest::prelude::*;
use serde::{Deserialize, Serialize};

use crate::escrow::{
    EscrowEvent, EscrowState, EscrowTotals, JobEscrow, JobEscrowQuery, GET_JOB_ESCROW, TOTALS,
};
use crate::job_registry::{
    bid_commitment, large_job_escrow, BidOutcome, BidView, CommitBid, JobEvent, LargeJobConfig,
    LargeJobEvent, LargeJobRef, LargeJobSpec, LargeJobStats, LargeJobView, LargePart, LargePhase,
    RevealBid, COMMIT_BID, GET_LARGE_JOB, LARGE_JOB_STATS, POST_LARGE_JOB, REVEAL_BID,
};
use crate::job_registry::{
    GiveUp, Job, JobPage, JobRef, JobResult, JobSpec, JobStatus, JobsByStatus, NetworkStats,
    PostResult, Resolve, Sampling, CANCEL, CHALLENGE, CLAIM, DECLINE, EXPIRE, FAIL, FORCE_VERDICT,
    GET_JOB, JOBS_BY_STATUS, MAX_REASON, NETWORK_STATS, POST_RESULT, START, SUBMIT,
};
use crate::pools::{
    CreatePool, PayoutScheme, PoolConfig, PoolEvent, PoolRef, PoolStats, PoolView, TierRule,
    CLAIM as P_CLAIM, CLOSE as P_CLOSE, CREATE as P_CREATE, GET_POOL, JOIN as P_JOIN,
    LEAVE as P_LEAVE, POOL_STATS, REFRESH as P_REFRESH, WITHDRAW as P_WITHDRAW,
};
use crate::price_oracle::{
    ModelPrice, ModelRef, OracleConfig, OracleEvent, PRICE, SETTINGS as ORACLE_SETTINGS,
};
use crate::verification::{
    commitment, Check, CheckPhase, CheckStats, Commit, Reveal, Seat, SeatState, VerdictKind, Vote,
    COMMIT, GET_CHECK, REVEAL, STATS,
};
use crate::worker_registry::{
    Capabilities, Outcome, WorkerEvent, HEARTBEAT, REGISTER, SET_AVAILABLE, TOP_UP, UNBOND, UPDATE,
    WITHDRAW,
};
use crate::{
    MarketConfig, ESCROW, JOB_REGISTRY, POOLS, PRICE_ORACLE, VERIFICATION, WORKER_REGISTRY,
};
use borsh::BorshDeserialize;
use comqute_qpi::contract::encode;
use comqute_qpi::{Amount, ContractIndex, Hash32, Identity, Tick};

use comqute_ledger::invariants::{ActionModel, Invariant};
use comqute_ledger::{Ledger, LedgerError, Transaction};

/// Actors: three requesters (0–2), three workers (3–5), the resolver (6), a bystander (7).
pub const ACTORS: usize = 8;
/// The longest job timeout the model asks for.
pub const MAX_TIMEOUT: u32 = 24;
/// What every actor holds at genesis.
pub const START_BALANCE: i64 = 10_000_000;

/// Actor `i`'s identity (`i < ACTORS`; a plain key, never a contract's).
pub fn actor(i: usize) -> Identity {
    Identity([0x40 + (i % ACTORS) as u8; 32])
}

/// One action. `who` fields are actor numbers; `job` fields pick a job id modulo the jobs
/// submitted so far (plus 0 and one past the last).
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MarketAct {
    /// Worker registry: register with a stake near the minimum.
    Register {
        who: u8,
        stake: u16,
        price: u16,
        slots: u8,
        models: u8,
    },
    /// Worker registry: new capabilities.
    Update {
        who: u8,
        price: u16,
        slots: u8,
        models: u8,
    },
    /// Worker registry: heartbeat from daemon session `session` (0: a manual one), taking
    /// over another online session if `takeover`.
    Heartbeat {
        who: u8,
        #[serde(default)]
        session: u8,
        #[serde(default)]
        takeover: bool,
    },
    /// Worker registry: list or unlist (unlisting from the recorded session signs off).
    SetAvailable {
        who: u8,
        on: bool,
        #[serde(default)]
        session: u8,
    },
    /// Worker registry: more stake.
    TopUp { who: u8, amount: u16 },
    /// Worker registry: start unbonding.
    Unbond { who: u8 },
    /// Worker registry: withdraw after unbonding.
    Withdraw { who: u8 },
    /// Job registry: submit a job (escrow sometimes one short).
    Submit {
        who: u8,
        model: u8,
        max_tokens: u16,
        max_price: u16,
        timeout: u8,
        min_rep: u16,
        extra: u16,
        nonce: u16,
    },
    /// Job registry: claim.
    Claim { who: u8, job: u8 },
    /// Job registry: start.
    Start { who: u8, job: u8 },
    /// Job registry: decline an offer, with a reason (see [`reason`]).
    Decline { who: u8, job: u8, reason: u8 },
    /// Job registry: post a result.
    Post { who: u8, job: u8, tokens: u16 },
    /// Job registry: cancel.
    Cancel { who: u8, job: u8 },
    /// Job registry: give up, with a reason (see [`reason`]).
    Fail {
        who: u8,
        job: u8,
        #[serde(default)]
        reason: u8,
    },
    /// Job registry: challenge a result, with a bond of `bond` (0: the least bond).
    #[serde(alias = "Dispute")]
    Challenge {
        who: u8,
        job: u8,
        #[serde(default)]
        bond: u16,
    },
    /// Job registry: force a check's verdict (only the devnet's resolver may).
    #[serde(alias = "Resolve")]
    ForceVerdict { who: u8, job: u8, worker_wins: bool },
    /// Job registry: expire an overdue job.
    Expire { who: u8, job: u8 },
    /// The natural next step of a live job (picked by `pick`); with `alt`, that actor calls
    /// instead (mostly a wrong caller).
    Progress {
        pick: u8,
        flavor: u8,
        tokens: u16,
        alt: Option<u8>,
    },
    /// Ticks pass with no call.
    Wait { ticks: u8 },
    /// Ticks pass until the next epoch begins (its END_EPOCH ran: the oracle publishes).
    EpochEnd,
    /// Pools: open a pool with a fee (now and then over the cap), a scheme (`scheme % 6`:
    /// 0 by stake, else by work over the last `scheme % 6 - 1` jobs, 0 refused), a minimum
    /// member stake, and a deposit (`short`: one under the genesis deposit).
    PoolCreate {
        who: u8,
        fee_bps: u16,
        scheme: u8,
        min_stake: u16,
        short: bool,
    },
    /// Pools: join pool `pool` (picked modulo the pools created, plus 0 and one past the
    /// last) with a stake.
    PoolJoin { who: u8, pool: u8, stake: u16 },
    /// Pools: start leaving.
    PoolLeave { who: u8 },
    /// Pools: withdraw after unbonding.
    PoolWithdraw { who: u8 },
    /// Pools: claim what is owed (with `pay`, a payment the procedure refuses).
    PoolClaim { who: u8, pay: bool },
    /// Pools: close a pool (only its operator, only empty).
    PoolClose { who: u8, pool: u8 },
    /// Pools: take a pool's due throughput readings.
    PoolRefresh { who: u8, pool: u8 },
    /// Large jobs: a requester posts one of `parts % 3 + 1` parts of up to `tokens` output
    /// tokens each, at most `max_price` per 1,000, with short commit and reveal phases
    /// (`commit`, `reveal` ticks), so auctions close within a run. `flaw % 16`: 0 an
    /// invalid spec (no parts, or a zero-tick phase), 1 a payment one unit short, else
    /// valid with the least escrow.
    LargePost {
        who: u8,
        parts: u8,
        tokens: u16,
        max_price: u16,
        commit: u8,
        reveal: u8,
        flaw: u8,
    },
    /// Large jobs: a sealed bid on the open large job `large` picks (one in its commit
    /// phase when there is one): with `pool`, the operator of pool `pool % created + 1`
    /// bids for it, else worker `3 + who % 3` bids for itself, at `price` (picked in
    /// 1..=the maximum). The model keeps the price and salt ([`MarketModel::secret`]).
    /// `flaw % 16`: 0 a bond one off, 1 a wrong caller, 2 an unknown large job, 3 a second
    /// bid from an identity that bid already, 4 a price over the maximum, 5 a price of 0.
    BidCommit {
        large: u8,
        pool: Option<u8>,
        who: u8,
        price: u16,
        flaw: u8,
    },
    /// Large jobs: bid `bid` of the large job `large` picks (one in its reveal phase when
    /// there is one) is revealed by its bidder, with the price and salt the model
    /// committed. `flaw % 16`: 0 any large job, whatever its phase (too early, too late), 1
    /// a wrong price, 2 a wrong salt.
    BidReveal { large: u8, bid: u8, flaw: u8 },
}

/// The marketplace model: settings with short windows so deadlines come into play.
pub struct MarketModel {
    /// The marketplace settings.
    pub config: MarketConfig,
    /// Ticks per epoch (short by default, so epoch boundaries happen).
    pub epoch_ticks: u32,
    /// Record every run ([`comqute_ledger::record`]), so a failing run's recording is saved beside
    /// its regression file (default: on).
    pub record: bool,
    base: Mutex<Option<Ledger>>,
    /// The price and salt behind every commitment the model made, by commitment: what a
    /// bidder keeps to reveal honestly. Keyed by the commitment (a hash of the price, the
    /// salt and the bidder), so forks, shrinking and replays share it safely.
    secrets: Mutex<std::collections::BTreeMap<Hash32, (Amount, Hash32)>>,
}

impl Default for MarketModel {
    fn default() -> Self {
        MarketModel::new(
            MarketConfig {
                workers: crate::worker_registry::WorkerConfig {
                    min_stake: Amount(1_000),
                    slash_amount: Amount(700),
                    heartbeat_window: 40,
                    unbonding_ticks: 5,
                    ..MarketConfig::default().workers
                },
                jobs: crate::job_registry::JobConfig {
                    challenge_window: 3,
                    check_timeout_ticks: 80,
                    forced_verdicts: true,
                    max_settlements_per_tick: 3,
                    max_matches_per_tick: 2,
                    max_timeout_ticks: MAX_TIMEOUT,
                    resolver: actor(6),
                    // Offers lapse within a few actions, so unanswered ones come into play.
                    accept_ticks: 5,
                    ..MarketConfig::default().jobs
                },
                verification: crate::verification::VerifyConfig {
                    commit_ticks: 10,
                    reveal_ticks: 8,
                    replica_bond: Amount(50),
                    max_deadlines_per_tick: 3,
                    ..MarketConfig::default().verification
                },
                // Short unbonding and reading windows, a slash a member's stake does not
                // cover, and room for three members, so leaving, withdrawing, tiers, slashes
                // shared with the other members and full pools all come into play.
                pools: PoolConfig {
                    create_deposit: Amount(1_000),
                    unbonding_ticks: 6,
                    slash_amount: Amount(2_500),
                    reading_ticks: 10,
                    average_weight: 2,
                    max_members: 3,
                    max_work_window: 8,
                    tiers: [(20, 1_000), (60, 2_000), (300, 3_000), (3_000, 4_000)]
                        .into_iter()
                        .map(|(t, s)| TierRule {
                            min_tokens_per_tick: t,
                            min_stake: Amount(s),
                        })
                        .collect(),
                    ..PoolConfig::default()
                },
                ..MarketConfig::default()
            },
            // Short epochs, so runs see the oracle publish and move.
            20,
        )
    }
}

const LLAMA: &str = "llama3.2:1b";
const MISTRAL: &str = "mistral:7b";

fn llama() -> Hash32 {
    crate::model_id(LLAMA)
}
fn mistral() -> Hash32 {
    crate::model_id(MISTRAL)
}

fn models(mask: u8) -> Vec<String> {
    let mut v = Vec::new();
    if mask & 1 != 0 {
        v.push(LLAMA.to_owned());
    }
    if mask & 2 != 0 {
        v.push(MISTRAL.to_owned());
    }
    v
}

/// The reason a worker gives for DECLINE or FAIL, from a pick: none, a short one, the
/// longest allowed, or one byte too long (refused).
pub fn reason(pick: u8) -> String {
    match pick % 8 {
        0 => String::new(),
        1..=4 => "too slow: 500 tokens do not fit in 3 ticks".to_owned(),
        5 | 6 => {
            let mut r = "é".repeat(MAX_REASON / 2);
            r.push_str(&"x".repeat(MAX_REASON % 2));
            r
        }
        _ => "x".repeat(MAX_REASON + 1),
    }
}

/// A daemon session number from a pick (0: a manual call).
fn session(pick: u8) -> u64 {
    u64::from(pick % 3)
}

fn capabilities(price: u16, slots: u8, mask: u8) -> Capabilities {
    Capabilities {
        models: models(mask),
        gpu: "RTX 4090".into(),
        vram_mb: 24_576,
        tokens_per_s: 120,
        price_per_1k: Amount(i64::from(price)),
        max_concurrent: u16::from(slots),
    }
}

/// A call an action stands for: (actor, contract, procedure, input, amount).
pub type Call = (usize, ContractIndex, u16, Vec<u8>, i64);

fn job_id(pick: u8, submitted: u64) -> u64 {
    u64::from(pick) % (submitted + 2)
}

fn actor_of(id: &Identity) -> usize {
    (0..ACTORS).find(|i| actor(*i) == *id).unwrap_or(7)
}

/// Mostly a worker, sometimes anyone.
fn worker_actor() -> impl Strategy<Value = u8> {
    prop_oneof![4 => 3u8..6, 1 => 0u8..8]
}
/// Mostly a requester, sometimes anyone.
fn requester_actor() -> impl Strategy<Value = u8> {
    prop_oneof![4 => 0u8..3, 1 => 0u8..8]
}

/// Every blind (state-independent) action.
pub fn blind_act() -> BoxedStrategy<MarketAct> {
    use MarketAct::*;
    let pick = any::<u8>;
    prop_oneof![
        2 => (worker_actor(), 0u16..3_000, 1u16..3_000, 1u8..4, 1u8..4)
            .prop_map(|(who, stake, price, slots, models)| Register { who, stake, price, slots, models }),
        1 => (worker_actor(), 1u16..3_000, 1u8..4, 1u8..4)
            .prop_map(|(who, price, slots, models)| Update { who, price, slots, models }),
        2 => (worker_actor(), prop_oneof![3 => Just(0u8), 1 => 1u8..3], prop::bool::weighted(0.2))
            .prop_map(|(who, session, takeover)| Heartbeat { who, session, takeover }),
        3 => (worker_actor(), prop::bool::weighted(0.8), prop_oneof![3 => Just(0u8), 1 => 1u8..3])
            .prop_map(|(who, on, session)| SetAvailable { who, on, session }),
        1 => (worker_actor(), 0u16..2_000).prop_map(|(who, amount)| TopUp { who, amount }),
        1 => worker_actor().prop_map(|who| Unbond { who }),
        1 => worker_actor().prop_map(|who| Withdraw { who }),
        5 => (requester_actor(), 0u8..2, 1u16..2_000, 1u16..3_000, 1u8..(MAX_TIMEOUT as u8 + 1),
              prop_oneof![3 => Just(0u16), 1 => 0u16..7_000], 0u16..500, any::<u16>())
            .prop_map(|(who, model, max_tokens, max_price, timeout, min_rep, extra, nonce)| Submit {
                who, model, max_tokens, max_price, timeout, min_rep, extra, nonce
            }),
        2 => (worker_actor(), pick()).prop_map(|(who, job)| Claim { who, job }),
        3 => (worker_actor(), pick()).prop_map(|(who, job)| Start { who, job }),
        2 => (worker_actor(), pick(), any::<u8>()).prop_map(|(who, job, reason)| Decline { who, job, reason }),
        3 => (worker_actor(), pick(), 0u16..2_500).prop_map(|(who, job, tokens)| Post { who, job, tokens }),
        1 => (requester_actor(), pick()).prop_map(|(who, job)| Cancel { who, job }),
        1 => (worker_actor(), pick(), any::<u8>()).prop_map(|(who, job, reason)| Fail { who, job, reason }),
        2 => (prop_oneof![3 => 0u8..3, 1 => 0u8..8], pick(), prop_oneof![3 => Just(0u16), 1 => 1u16..2_000])
            .prop_map(|(who, job, bond)| Challenge { who, job, bond }),
        1 => (prop_oneof![3 => Just(6u8), 1 => 0u8..8], pick(), any::<bool>())
            .prop_map(|(who, job, worker_wins)| ForceVerdict { who, job, worker_wins }),
        1 => (0u8..8, pick()).prop_map(|(who, job)| Expire { who, job }),
        8 => pool_act(),
    ]
    .boxed()
}

/// The large jobs' actions: posts (now and then invalid or underpaid), sealed bids and
/// their reveals (mostly honest and in their phase).
pub fn large_act() -> BoxedStrategy<MarketAct> {
    use MarketAct::*;
    let pick = any::<u8>;
    prop_oneof![
        1 => (requester_actor(), pick(), 100u16..1_500, 200u16..2_500, 2u8..9, 2u8..9, pick())
            .prop_map(|(who, parts, tokens, max_price, commit, reveal, flaw)| LargePost {
                who, parts, tokens, max_price, commit, reveal, flaw
            }),
        3 => (pick(), prop::option::weighted(0.5, pick()), pick(), any::<u16>(), pick())
            .prop_map(|(large, pool, who, price, flaw)| BidCommit { large, pool, who, price, flaw }),
        3 => (pick(), pick(), pick()).prop_map(|(large, bid, flaw)| BidReveal { large, bid, flaw }),
    ]
    .boxed()
}

/// The pools' actions: mostly workers joining, leaving, withdrawing and claiming, anyone
/// opening, closing and refreshing pools (wrong callers and unknown pools included).
pub fn pool_act() -> BoxedStrategy<MarketAct> {
    use MarketAct::*;
    let pick = any::<u8>;
    prop_oneof![
        1 => (0u8..8, prop_oneof![4 => 0u16..2_001, 1 => 2_001u16..3_000], any::<u8>(),
              prop_oneof![3 => 0u16..1_000, 1 => 1_000u16..5_000], prop::bool::weighted(0.1))
            .prop_map(|(who, fee_bps, scheme, min_stake, short)| PoolCreate {
                who, fee_bps, scheme, min_stake, short
            }),
        3 => (worker_actor(), pick(), 0u16..3_000)
            .prop_map(|(who, pool, stake)| PoolJoin { who, pool, stake }),
        1 => worker_actor().prop_map(|who| PoolLeave { who }),
        1 => worker_actor().prop_map(|who| PoolWithdraw { who }),
        2 => (worker_actor(), prop::bool::weighted(0.1)).prop_map(|(who, pay)| PoolClaim { who, pay }),
        1 => (0u8..8, pick()).prop_map(|(who, pool)| PoolClose { who, pool }),
        1 => (0u8..8, pick()).prop_map(|(who, pool)| PoolRefresh { who, pool }),
    ]
    .boxed()
}

/// Any action: blind ones, state-guided progress, and waits.
pub fn any_act() -> BoxedStrategy<MarketAct> {
    prop_oneof![
        3 => blind_act(),
        5 => progress_act(),
        1 => wait_act(),
    ]
    .boxed()
}

/// The next natural step of a live job (or of an open auction).
fn progress_act() -> BoxedStrategy<MarketAct> {
    (
        any::<u8>(),
        any::<u8>(),
        0u16..2_500,
        prop::option::weighted(0.15, 0u8..8),
    )
        .prop_map(|(pick, flavor, tokens, alt)| MarketAct::Progress {
            pick,
            flavor,
            tokens,
            alt,
        })
        .boxed()
}

/// Time passing: a few ticks, many, or to the next epoch.
fn wait_act() -> BoxedStrategy<MarketAct> {
    prop_oneof![
        4 => prop_oneof![3 => 1u8..4, 1 => 5u8..30].prop_map(|ticks| MarketAct::Wait { ticks }),
        1 => Just(MarketAct::EpochEnd),
    ]
    .boxed()
}

/// A market with large jobs: their posts, bids and reveals beside the usual progress and
/// waits (an open auction's honest commits and reveals come through progress too). Kept
/// apart from [`any_act`], whose fixed-seed draws other reach tests rely on.
pub fn large_mix() -> BoxedStrategy<MarketAct> {
    prop_oneof![
        2 => large_act(),
        5 => progress_act(),
        1 => wait_act(),
    ]
    .boxed()
}

/// The natural next step of a live job.
fn progress(pick: u8, flavor: u8, tokens: u16, alt: Option<u8>, live: &[Job]) -> Option<Call> {
    if live.is_empty() {
        return Some(fresh_job(pick, flavor, tokens, alt));
    }
    let job = &live[usize::from(pick) % live.len()];
    let jr = encode(&JobRef { job_id: job.id });
    let worker = job
        .worker
        .map(|w| actor_of(&w.0))
        .unwrap_or(3 + usize::from(flavor) % 3);
    let requester = actor_of(&job.requester);
    // A worker gives up now and then, more readily on a job given up or turned down before.
    let gives_up =
        flavor.is_multiple_of(4) || (!job.excluded.is_empty() && flavor.is_multiple_of(2));
    // The worker's words, mostly an acceptable reason.
    let give_up = |procedure| {
        let g = GiveUp {
            job_id: job.id,
            reason: reason(flavor / 8 % 7),
        };
        (worker, procedure, encode(&g))
    };
    let (who, procedure, input) = match job.status {
        JobStatus::Open if flavor.is_multiple_of(4) => (requester, CANCEL.number(), jr),
        JobStatus::Open => (3 + usize::from(flavor) % 3, CLAIM.number(), jr),
        // An offer: declined (now and then by FAIL, which declines it too) or started; one
        // left alone lapses at its answer deadline.
        JobStatus::Assigned if flavor.is_multiple_of(8) => give_up(DECLINE.number()),
        JobStatus::Assigned if flavor % 8 == 1 => give_up(FAIL.number()),
        JobStatus::Assigned => (worker, START.number(), jr),
        JobStatus::Running if gives_up => give_up(FAIL.number()),
        JobStatus::Running => {
            let result = JobResult {
                result_hash: Hash32::of(&tokens.to_le_bytes()),
                output_tokens: u32::from(tokens).min(job.spec.max_output_tokens),
                runtime: Hash32::ZERO,
            };
            let post = PostResult {
                job_id: job.id,
                result,
            };
            (worker, POST_RESULT.number(), encode(&post))
        }
        // A challenge with the bond a result of up to 2,500 tokens at 1,500 needs at most
        // (3 replicas × the payment).
        JobStatus::Completed if flavor.is_multiple_of(3) => {
            return Some((
                alt.map_or(7, usize::from),
                JOB_REGISTRY,
                CHALLENGE.number(),
                jr,
                12_000,
            ))
        }
        JobStatus::Checking if flavor.is_multiple_of(16) => {
            let r = Resolve {
                job_id: job.id,
                worker_wins: flavor.is_multiple_of(32),
            };
            (6, FORCE_VERDICT.number(), encode(&r))
        }
        _ => return None,
    };
    Some((
        alt.map_or(who, usize::from),
        JOB_REGISTRY,
        procedure,
        input,
        0,
    ))
}

/// With no live job, the natural next step is a new one: a requester (or `alt`) submits a
/// plain job any listed worker takes (no reputation floor, a price ceiling over every
/// genesis worker's price, the exact escrow), so runs keep jobs flowing to settlement —
/// through the pools and into the oracle.
fn fresh_job(pick: u8, flavor: u8, tokens: u16, alt: Option<u8>) -> Call {
    let max_tokens = u32::from(tokens % 1_500) + 100;
    let max_price = 1_600 + i64::from(pick) * 4;
    let spec = JobSpec {
        model: if flavor.is_multiple_of(2) {
            llama()
        } else {
            mistral()
        },
        prompt_hash: Hash32::of(&[pick, flavor]),
        prompt_size: 100,
        max_output_tokens: max_tokens,
        max_price_per_1k: Amount(max_price),
        timeout_ticks: 8 + u32::from(flavor) % (MAX_TIMEOUT - 8),
        min_reputation: 0,
        sampling: Sampling {
            seed: u64::from(pick),
            temperature_milli: 0,
        },
    };
    let escrow = (i64::from(max_tokens) * max_price / 1_000).max(1);
    (
        alt.map_or(usize::from(flavor) % 3, usize::from),
        JOB_REGISTRY,
        SUBMIT.number(),
        encode(&spec),
        escrow,
    )
}

/// The salt a model replica commits with.
fn replica_salt(job: JobId, replica: &Identity) -> Hash32 {
    let mut b = job.0.to_le_bytes().to_vec();
    b.extend_from_slice(&replica.0);
    Hash32::of(&b)
}

/// What a model replica finds for a job: mostly the posted hash, sometimes another one,
/// sometimes nothing (fixed per job and replica, so its commit and reveal agree).
pub fn replica_vote(check: &Check, replica: &Identity) -> Vote {
    let h = replica_salt(check.job.job_id, replica);
    match h.0[0] % 8 {
        0 | 1 => Vote::Reproduced {
            result_hash: Hash32::of(&h.0),
        },
        2 => Vote::Unable,
        3 => Vote::Scored {
            agreement_bps: u16::from(h.0[1]) * 39,
        },
        _ => Vote::Reproduced {
            result_hash: check.job.result_hash,
        },
    }
}

/// When `a` is a [`MarketAct::Progress`] that picks a job under check (and is not the
/// resolver's turn, see [`MarketAct::ForceVerdict`]): `Some` of a replica's commit or reveal
/// ([`check_call`]), or `Some(None)` when no seat has one. `None` for any other action.
pub fn check_progress(
    ledger: &Ledger,
    a: &MarketAct,
    live: &[Job],
    bond: Amount,
) -> Option<Result<Call, LedgerError>> {
    let MarketAct::Progress {
        pick, flavor, alt, ..
    } = *a
    else {
        return None;
    };
    // Checks get most of the turns: a check needs every replica to commit and reveal in its
    // windows.
    let checking: Vec<&Job> = live
        .iter()
        .filter(|j| j.status == JobStatus::Checking)
        .collect();
    let job = match checking.len() {
        n if n > 0 && !flavor.is_multiple_of(3) => checking[usize::from(pick) % n],
        _ => live.get(usize::from(pick) % live.len().max(1))?,
    };
    if job.status != JobStatus::Checking || flavor.is_multiple_of(16) || alt.is_some() {
        return None;
    }
    let check: Option<Check> =
        match ledger.query_fn(GET_CHECK, &crate::verification::JobRef { job_id: job.id }) {
            Ok(c) => c,
            Err(e) => return Some(Err(LedgerError::Contract(e))),
        };
    check
        .as_ref()
        .and_then(|c| check_call(c, flavor, bond))
        .map(Ok)
}

/// A replica's next step on a running check: a commit (with the bond, now and then one too
/// small) or a reveal (now and then with the wrong salt); `None` when no seat has one.
pub fn check_call(check: &Check, flavor: u8, bond: Amount) -> Option<Call> {
    let open: Vec<&Seat> = check
        .current()
        .filter(|s| matches!(s.state, SeatState::Assigned | SeatState::Committed))
        .collect();
    let seat = open.get(usize::from(flavor) % open.len().max(1))?;
    let who = actor_of(&seat.replica.0);
    let vote = replica_vote(check, &seat.replica.0);
    let salt = replica_salt(seat.job_id, &seat.replica.0);
    Some(match seat.state {
        SeatState::Assigned => {
            let c = Commit {
                job_id: seat.job_id,
                commitment: commitment(&vote, &salt, &seat.replica.0, seat.job_id),
            };
            let amount = if flavor.is_multiple_of(11) {
                bond.0 - 1
            } else {
                bond.0
            };
            (who, VERIFICATION, COMMIT.number(), encode(&c), amount)
        }
        _ => {
            let r = Reveal {
                job_id: seat.job_id,
                vote,
                salt: if flavor.is_multiple_of(13) {
                    Hash32::ZERO
                } else {
                    salt
                },
            };
            (who, VERIFICATION, REVEAL.number(), encode(&r), 0)
        }
    })
}

impl MarketModel {
    /// A model with these settings.
    pub fn new(config: MarketConfig, epoch_ticks: u32) -> Self {
        MarketModel {
            config,
            epoch_ticks,
            record: true,
            base: Mutex::new(None),
            secrets: Mutex::new(Default::default()),
        }
    }

    fn build_base(&self) -> Result<Ledger, LedgerError> {
        let mut b = Ledger::builder().epoch_ticks(self.epoch_ticks);
        if self.record {
            b = b.record();
        }
        for c in crate::contracts(self.config.clone()) {
            b = b.contract_arc(c);
        }
        for i in 0..ACTORS {
            b = b.fund(actor(i), Amount(START_BALANCE));
        }
        let mut l = b.build()?;
        // The three workers register (both models, prices 500 / 1,000 / 1,500, two slots),
        // then list themselves. The bystander opens pool 1 (by stake, 5% fee) and the first
        // requester pool 2 (by work over the last 4 jobs, 10%); workers 3 and 4 join pool 1,
        // so jobs settle through a pool from the start; worker 5 serves alone.
        for round in 0..2 {
            let mut acts: Vec<MarketAct> = (0..3u8)
                .map(|w| match round {
                    0 => MarketAct::Register {
                        who: 3 + w,
                        stake: 700,
                        price: 500 * (u16::from(w) + 1),
                        slots: 2,
                        models: 3,
                    },
                    _ => MarketAct::SetAvailable {
                        who: 3 + w,
                        on: true,
                        session: 0,
                    },
                })
                .collect();
            match round {
                0 => acts.push(MarketAct::PoolCreate {
                    who: 7,
                    fee_bps: 500,
                    scheme: 0,
                    min_stake: 500,
                    short: false,
                }),
                _ => acts.extend([
                    MarketAct::PoolCreate {
                        who: 0,
                        fee_bps: 1_000,
                        scheme: 5,
                        min_stake: 500,
                        short: false,
                    },
                    MarketAct::PoolJoin {
                        who: 3,
                        pool: 1,
                        stake: 2_000,
                    },
                    MarketAct::PoolJoin {
                        who: 4,
                        pool: 1,
                        stake: 1_500,
                    },
                ]),
            }
            for a in &acts {
                self.queue(&mut l, a, 0, &[])?;
            }
            l.process_tick()?;
        }
        Ok(l)
    }

    /// The call an action stands for, given how many jobs were submitted and the live jobs
    /// (for [`MarketAct::Progress`]); `None` for a wait or a progress with nothing live.
    /// Actors are [`actor`]`(who)`.
    pub fn call_of(&self, a: &MarketAct, submitted: u64, live: &[Job]) -> Option<Call> {
        self.call_with_pools(a, submitted, 0, live)
    }

    /// [`MarketModel::call_of`], with pool fields picked modulo `pools`, the pools created
    /// so far (plus 0 and one past the last).
    pub fn call_with_pools(
        &self,
        a: &MarketAct,
        submitted: u64,
        pools: u64,
        live: &[Job],
    ) -> Option<Call> {
        use MarketAct::*;
        let pr = |pool: u8| {
            encode(&PoolRef {
                pool: u64::from(pool) % (pools + 2),
            })
        };
        let jr = |job: u8| {
            encode(&JobRef {
                job_id: JobId(job_id(job, submitted)),
            })
        };
        let gu = |job: u8, r: u8| {
            encode(&GiveUp {
                job_id: JobId(job_id(job, submitted)),
                reason: reason(r),
            })
        };
        let w = |who: u8| usize::from(who) % ACTORS;
        Some(match *a {
            Register {
                who,
                stake,
                price,
                slots,
                models,
            } => (
                w(who),
                WORKER_REGISTRY,
                REGISTER.number(),
                encode(&capabilities(price, slots, models)),
                self.config.workers.min_stake.0 - 200 + i64::from(stake),
            ),
            Update {
                who,
                price,
                slots,
                models,
            } => (
                w(who),
                WORKER_REGISTRY,
                UPDATE.number(),
                encode(&capabilities(price, slots, models)),
                0,
            ),
            Heartbeat {
                who,
                session: s,
                takeover,
            } => (
                w(who),
                WORKER_REGISTRY,
                HEARTBEAT.number(),
                encode(&crate::worker_registry::Heartbeat {
                    session: session(s),
                    takeover,
                }),
                0,
            ),
            SetAvailable {
                who,
                on,
                session: s,
            } => (
                w(who),
                WORKER_REGISTRY,
                SET_AVAILABLE.number(),
                encode(&crate::worker_registry::SetAvailable {
                    available: on,
                    session: session(s),
                }),
                0,
            ),
            TopUp { who, amount } => (
                w(who),
                WORKER_REGISTRY,
                TOP_UP.number(),
                encode(&()),
                i64::from(amount),
            ),
            Unbond { who } => (w(who), WORKER_REGISTRY, UNBOND.number(), encode(&()), 0),
            Withdraw { who } => (w(who), WORKER_REGISTRY, WITHDRAW.number(), encode(&()), 0),
            Submit {
                who,
                model,
                max_tokens,
                max_price,
                timeout,
                min_rep,
                extra,
                nonce,
            } => {
                let spec = JobSpec {
                    model: if model == 0 { llama() } else { mistral() },
                    prompt_hash: Hash32::of(&nonce.to_le_bytes()),
                    prompt_size: 100,
                    max_output_tokens: u32::from(max_tokens),
                    max_price_per_1k: Amount(i64::from(max_price)),
                    timeout_ticks: u32::from(timeout),
                    min_reputation: min_rep,
                    sampling: Sampling {
                        seed: u64::from(nonce),
                        temperature_milli: 0,
                    },
                };
                let need = (i64::from(max_tokens) * i64::from(max_price) / 1_000).max(1);
                let escrow = if extra.is_multiple_of(10) {
                    need - 1
                } else {
                    need + i64::from(extra)
                };
                (w(who), JOB_REGISTRY, SUBMIT.number(), encode(&spec), escrow)
            }
            Claim { who, job } => (w(who), JOB_REGISTRY, CLAIM.number(), jr(job), 0),
            Start { who, job } => (w(who), JOB_REGISTRY, START.number(), jr(job), 0),
            Decline {
                who,
                job,
                reason: r,
            } => (w(who), JOB_REGISTRY, DECLINE.number(), gu(job, r), 0),
            Post { who, job, tokens } => {
                let input = PostResult {
                    job_id: JobId(job_id(job, submitted)),
                    result: JobResult {
                        result_hash: Hash32::of(&tokens.to_le_bytes()),
                        output_tokens: u32::from(tokens),
                        runtime: Hash32::ZERO,
                    },
                };
                (
                    w(who),
                    JOB_REGISTRY,
                    POST_RESULT.number(),
                    encode(&input),
                    0,
                )
            }
            Cancel { who, job } => (w(who), JOB_REGISTRY, CANCEL.number(), jr(job), 0),
            Fail {
                who,
                job,
                reason: r,
            } => (w(who), JOB_REGISTRY, FAIL.number(), gu(job, r), 0),
            Challenge { who, job, bond } => (
                w(who),
                JOB_REGISTRY,
                CHALLENGE.number(),
                jr(job),
                if bond == 0 { 12_000 } else { i64::from(bond) },
            ),
            ForceVerdict {
                who,
                job,
                worker_wins,
            } => {
                let r = crate::job_registry::Resolve {
                    job_id: JobId(job_id(job, submitted)),
                    worker_wins,
                };
                (w(who), JOB_REGISTRY, FORCE_VERDICT.number(), encode(&r), 0)
            }
            Expire { who, job } => (w(who), JOB_REGISTRY, EXPIRE.number(), jr(job), 0),
            Progress {
                pick,
                flavor,
                tokens,
                alt,
            } => return progress(pick, flavor, tokens, alt, live),
            Wait { .. } | EpochEnd | LargePost { .. } | BidCommit { .. } | BidReveal { .. } => {
                return None
            }
            PoolCreate {
                who,
                fee_bps,
                scheme,
                min_stake,
                short,
            } => {
                let c = CreatePool {
                    fee_bps,
                    scheme: match scheme % 6 {
                        0 => PayoutScheme::ByStake,
                        n => PayoutScheme::ByWork {
                            last_jobs: u32::from(n - 1),
                        },
                    },
                    min_member_stake: Amount(i64::from(min_stake)),
                };
                let deposit = self.config.pools.create_deposit.0 - i64::from(short);
                (w(who), POOLS, P_CREATE.number(), encode(&c), deposit)
            }
            PoolJoin { who, pool, stake } => {
                (w(who), POOLS, P_JOIN.number(), pr(pool), i64::from(stake))
            }
            PoolLeave { who } => (w(who), POOLS, P_LEAVE.number(), encode(&()), 0),
            PoolWithdraw { who } => (w(who), POOLS, P_WITHDRAW.number(), encode(&()), 0),
            PoolClaim { who, pay } => {
                (w(who), POOLS, P_CLAIM.number(), encode(&()), i64::from(pay))
            }
            PoolClose { who, pool } => (w(who), POOLS, P_CLOSE.number(), pr(pool), 0),
            PoolRefresh { who, pool } => (w(who), POOLS, P_REFRESH.number(), pr(pool), 0),
        })
    }

    /// Queues an action unsigned for the next tick; a refusal at admission (a duplicate, an
    /// unfunded source) is part of the game.
    fn queue(
        &self,
        ledger: &mut Ledger,
        a: &MarketAct,
        submitted: u64,
        live: &[Job],
    ) -> Result<(), LedgerError> {
        let pools: PoolStats = ledger
            .query_fn(POOL_STATS, &())
            .map_err(LedgerError::Contract)?;
        let Some(call) = self.call_with_pools(a, submitted, pools.created, live) else {
            return Ok(());
        };
        self.submit_call(ledger, call)
    }

    fn submit_call(&self, ledger: &mut Ledger, call: Call) -> Result<(), LedgerError> {
        let (who, contract, procedure, input, amount) = call;
        let tx = Transaction::call(
            actor(who),
            contract,
            Amount(amount),
            ledger.next_tick(),
            procedure,
            input,
        );
        match ledger.submit_unsigned(tx) {
            Ok(_) => Ok(()),
            Err(LedgerError::Tx(e)) => Err(LedgerError::Tx(e)),
            Err(_) => Ok(()),
        }
    }
}

/// Ticks to run so that the current epoch ends (its END_EPOCH runs) and the next begins.
pub fn ticks_to_next_epoch(ledger: &Ledger) -> u32 {
    let now = ledger.next_tick();
    let epoch = ledger.epoch_of(now);
    let mut n = 1u32;
    // An epoch is at most `epoch_ticks` long; the cap only guards the last epoch.
    while n < 100_000 && ledger.epoch_of(Tick(now.0.saturating_add(n))) == epoch {
        n += 1;
    }
    n
}

/// Every job, by id (paged through every status).
pub fn all_jobs(ledger: &Ledger) -> Result<Vec<Job>, String> {
    let mut out = Vec::new();
    for status in JobStatus::ALL {
        let mut cursor = None;
        loop {
            let q = JobsByStatus {
                status,
                cursor,
                limit: 100,
            };
            let p: JobPage = ledger
                .query_fn(JOBS_BY_STATUS, &q)
                .map_err(|e| e.to_string())?;
            out.extend(p.jobs);
            match p.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
    }
    out.sort_by_key(|j| j.id);
    Ok(out)
}

/// Money conserved: balances sum to the circulating supply; the vault holds exactly its job
/// escrows plus stakes; the registries hold nothing; registry and vault totals agree.
pub fn money_conserved(ledger: &Ledger) -> Result<(), String> {
    let total: i128 = ledger
        .state()
        .accounts_sorted()
        .iter()
        .map(|(_, a)| i128::from(a.balance))
        .sum();
    let circulating = ledger.supply().circulating();
    if total != circulating {
        return Err(format!(
            "balances sum to {total}, circulating supply is {circulating}"
        ));
    }
    let t: EscrowTotals = ledger.query_fn(TOTALS, &()).map_err(|e| e.to_string())?;
    let vault = ledger.balance(&Identity::contract(ESCROW)).0;
    if vault != t.jobs_locked.0 + t.stakes.0 {
        return Err(format!(
            "vault holds {vault}, accounts say {} + {}",
            t.jobs_locked, t.stakes
        ));
    }
    for idx in [WORKER_REGISTRY, PRICE_ORACLE] {
        let b = ledger.balance(&Identity::contract(idx)).0;
        if b != 0 {
            return Err(format!("contract {idx} holds {b}"));
        }
    }
    // The job registry holds only the bonds of sealed bids on large jobs.
    let ls: crate::job_registry::LargeJobStats = ledger
        .query_fn(crate::job_registry::LARGE_JOB_STATS, &())
        .map_err(|e| e.to_string())?;
    let jr = ledger.balance(&Identity::contract(JOB_REGISTRY)).0;
    if jr != ls.bonds_held.0 {
        return Err(format!(
            "contract {JOB_REGISTRY} holds {jr}, its bid bonds are {}",
            ls.bonds_held
        ));
    }
    // The verification contract holds the bonds of its open checks, and a fee pool.
    let cs: CheckStats = ledger.query_fn(STATS, &()).map_err(|e| e.to_string())?;
    let held = ledger.balance(&Identity::contract(VERIFICATION)).0;
    if held < cs.bonds_held.0 {
        return Err(format!(
            "verification holds {held}, less than its bonds {}",
            cs.bonds_held
        ));
    }
    let mut bonds = 0i64;
    for j in all_jobs(ledger)?.iter().filter(|j| j.checked) {
        let c: Option<Check> = ledger
            .query_fn(GET_CHECK, &crate::verification::JobRef { job_id: j.id })
            .map_err(|e| e.to_string())?;
        let c = c.ok_or_else(|| format!("checked job {} has no check", j.id))?;
        if c.phase != CheckPhase::Settled {
            bonds += c.challenger_bond.0 + c.seats.iter().map(|s| s.bond.0).sum::<i64>();
        }
    }
    if bonds != cs.bonds_held.0 {
        return Err(format!(
            "open checks hold bonds of {bonds}, the contract says {}",
            cs.bonds_held
        ));
    }
    let stats: NetworkStats = ledger
        .query_fn(NETWORK_STATS, &())
        .map_err(|e| e.to_string())?;
    if stats.workers.total_staked != t.stakes || stats.jobs.total_escrowed != t.jobs_locked {
        return Err(format!(
            "registries say stakes {} escrow {}, vault says {} {}",
            stats.workers.total_staked, stats.jobs.total_escrowed, t.stakes, t.jobs_locked
        ));
    }
    Ok(())
}

/// Escrow never negative: the vault's totals, every job's escrow, payment and refund.
pub fn escrow_never_negative(ledger: &Ledger) -> Result<(), String> {
    let t: EscrowTotals = ledger.query_fn(TOTALS, &()).map_err(|e| e.to_string())?;
    if t.jobs_locked.0 < 0 || t.stakes.0 < 0 {
        return Err(format!("vault totals negative: {t:?}"));
    }
    for j in all_jobs(ledger)? {
        if j.escrow.0 < 0 || j.paid.0 < 0 || j.refunded.0 < 0 {
            return Err(format!(
                "job {} escrow {} paid {} refunded {}",
                j.id, j.escrow, j.paid, j.refunded
            ));
        }
    }
    Ok(())
}

/// No job paid over its escrow; a closed job's payment plus refund is its escrow; a live
/// job has been neither paid nor refunded.
pub fn no_job_paid_over_escrow(ledger: &Ledger) -> Result<(), String> {
    for job in all_jobs(ledger)? {
        if job.paid > job.escrow {
            return Err(format!(
                "job {} paid {} over its escrow {}",
                job.id, job.paid, job.escrow
            ));
        }
        if job.status.is_terminal() && job.paid.0 + job.fee.0 + job.refunded.0 != job.escrow.0 {
            return Err(format!(
                "closed job {} paid {} + fee {} + refunded {} != {}",
                job.id, job.paid, job.fee, job.refunded, job.escrow
            ));
        }
        if !job.status.is_terminal() && (job.paid.0 != 0 || job.refunded.0 != 0 || job.fee.0 != 0) {
            return Err(format!("live job {} already paid or refunded", job.id));
        }
    }
    Ok(())
}

/// Every job terminal after its deadline and window: a live job has the deadline its status
/// calls for, and the ledger is never past it by more than the settlement backlog (live jobs
/// divided by the settlements a tick handles) explains.
///
/// The deadlines: an open job's expiry, at most `timeout_ticks` after now (it opened or
/// reopened at the latest in the last tick); an offer's answer deadline, after its
/// assignment (an offer never expires: it lapses and the job reopens); a running job's
/// delivery deadline, exactly `timeout_ticks` after its start (the deadline its worker
/// accepted by starting, the only one a worker is slashed for); a completed job's end of
/// challenge window, from its result on; a disputed job's resolution timeout.
pub fn jobs_terminal_after_deadline(ledger: &Ledger) -> Result<(), String> {
    let jobs = all_jobs(ledger)?;
    let live: Vec<&Job> = jobs.iter().filter(|j| !j.status.is_terminal()).collect();
    // The settlement cap of the default model is 3 a tick; a backlog of n live jobs clears
    // within n ticks whatever the cap (at least one a tick).
    let backlog = live.len() as u32 + 1;
    let now = ledger.next_tick().0;
    let last = Tick(now.saturating_sub(1));
    for j in live {
        let Some(d) = j.deadline else {
            return Err(format!(
                "live job {} ({:?}) has no deadline",
                j.id, j.status
            ));
        };
        let shape = match j.status {
            JobStatus::Open => {
                j.worker.is_none() && j.started_at.is_none() && d <= last.plus(j.spec.timeout_ticks)
            }
            JobStatus::Assigned => {
                j.worker.is_some() && j.started_at.is_none() && j.assigned_at.is_some_and(|a| a < d)
            }
            JobStatus::Running => {
                j.worker.is_some()
                    && j.assigned_at.is_some()
                    && j.started_at.map(|s| s.plus(j.spec.timeout_ticks)) == Some(d)
            }
            JobStatus::Completed => j.result.is_some() && j.completed_at.is_some_and(|c| c <= d),
            JobStatus::Checking => j.result.is_some() && j.worker.is_some() && j.checked,
            _ => true,
        };
        if !shape {
            return Err(format!(
                "job {} is {:?} with deadline {d} (assigned {:?}, started {:?}, completed {:?}, timeout {})",
                j.id, j.status, j.assigned_at, j.started_at, j.completed_at, j.spec.timeout_ticks
            ));
        }
        if d.0.saturating_add(backlog) < now {
            return Err(format!(
                "job {} still {:?} at tick {now}, deadline {} (backlog {backlog})",
                j.id, j.status, d.0
            ));
        }
    }
    Ok(())
}

/// The fair-deadline rule, over the events of the last tick: every stake slashed is a
/// worker's release for a job it started and did not deliver by the delivery deadline it
/// accepted (the job Expired, at or after `started_at + timeout_ticks`), or for a dispute it
/// lost (the job Resolved, nothing paid); a declined, unanswered or given-up offer never
/// costs stake; and the vault slashed exactly what the registry's releases say.
pub fn slashes_only_for_accepted_deadlines(ledger: &Ledger) -> Result<(), String> {
    let last = Tick(ledger.next_tick().0.saturating_sub(1));
    let mut vault_slashed = 0i128;
    let mut released_slashed = 0i128;
    let recent = ledger.events().refs().rev().take_while(|e| e.tick == last);
    for e in recent {
        if e.contract == ESCROW {
            if let Ok(EscrowEvent::StakeSlashed { outcome, .. }) =
                EscrowEvent::try_from_slice(e.data)
            {
                vault_slashed += i128::from(outcome.slashed.0);
            }
            continue;
        }
        if e.contract != WORKER_REGISTRY {
            continue;
        }
        let Ok(WorkerEvent::Released {
            job_id,
            outcome,
            slashed,
            ..
        }) = WorkerEvent::try_from_slice(e.data)
        else {
            continue;
        };
        released_slashed += i128::from(slashed.0);
        let job = || -> Result<Job, String> {
            let j: Option<Job> = ledger
                .query_fn(GET_JOB, &JobRef { job_id })
                .map_err(|e| e.to_string())?;
            j.ok_or_else(|| format!("released for unknown job {job_id}"))
        };
        match outcome {
            Outcome::Expired => {
                let j = job()?;
                let accepted = j.started_at.map(|s| s.plus(j.spec.timeout_ticks));
                let ok = j.status == JobStatus::Expired
                    && accepted.is_some_and(|a| j.closed_at.is_some_and(|c| c >= a));
                if !ok {
                    return Err(format!(
                        "job {job_id} expired on its worker (slashed {slashed}) though it was not \
                         started or its delivery deadline had not passed: {:?}, started {:?}, \
                         closed {:?}, timeout {}",
                        j.status, j.started_at, j.closed_at, j.spec.timeout_ticks
                    ));
                }
            }
            Outcome::CheckFailed => {
                let j = job()?;
                if j.status != JobStatus::Resolved
                    || j.paid != Amount::ZERO
                    || j.verdict != Some(VerdictKind::Failed)
                {
                    return Err(format!(
                        "job {job_id}: slashed {slashed} for a failed check but it is {:?}, \
                         verdict {:?}, paid {}",
                        j.status, j.verdict, j.paid
                    ));
                }
            }
            _ if slashed != Amount::ZERO => {
                return Err(format!(
                    "job {job_id}: {outcome:?} slashed {slashed}; only a missed accepted \
                     deadline or a failed check may"
                ));
            }
            _ => {}
        }
    }
    if vault_slashed != released_slashed {
        return Err(format!(
            "tick {last}: the vault slashed {vault_slashed}, the registry's releases say \
             {released_slashed}"
        ));
    }
    Ok(())
}

/// Every checked job ends in exactly one verdict: a checked job has a check; while it is
/// Checking the check is not settled; once Resolved by a verdict, the check was settled
/// with that same verdict; a job's payout never leaves escrow before (live jobs are
/// neither paid nor refunded: [`no_job_paid_over_escrow`]).
pub fn checks_end_in_one_verdict(ledger: &Ledger) -> Result<(), String> {
    for j in all_jobs(ledger)? {
        let c: Option<Check> = ledger
            .query_fn(GET_CHECK, &crate::verification::JobRef { job_id: j.id })
            .map_err(|e| e.to_string())?;
        match (j.checked, c) {
            (false, None) => {}
            (false, Some(_)) => return Err(format!("job {} has a check but is not checked", j.id)),
            (true, None) => return Err(format!("checked job {} has no check", j.id)),
            (true, Some(c)) => match (j.status, j.verdict) {
                (JobStatus::Checking, None) if c.phase != CheckPhase::Settled => {}
                (JobStatus::Resolved | JobStatus::Finalized, Some(v))
                    if c.verdict == Some(v)
                        && c.phase == CheckPhase::Settled
                        && (j.status == JobStatus::Finalized) == v.pays_worker() => {}
                // The check outlived its timeout: the job was paid unverified.
                (JobStatus::Finalized, None) => {}
                (s, v) => {
                    return Err(format!(
                        "job {} is {s:?} with verdict {v:?}, its check is {:?} with {:?}",
                        j.id, c.phase, c.verdict
                    ))
                }
            },
        }
    }
    Ok(())
}

/// Every pool, by id, with its members and books.
pub fn all_pools(ledger: &Ledger) -> Result<(PoolStats, Vec<PoolView>), String> {
    let stats: PoolStats = ledger
        .query_fn(POOL_STATS, &())
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for pool in 1..=stats.created {
        let v: Option<PoolView> = ledger
            .query_fn(GET_POOL, &PoolRef { pool })
            .map_err(|e| e.to_string())?;
        out.push(v.ok_or_else(|| format!("pool {pool} of {} is missing", stats.created))?);
    }
    Ok((stats, out))
}

/// The pools contract holds its books, to the unit: its balance is
/// [`PoolStats::held`], which is every open pool's deposit, every member's stake, what
/// members are owed in whole units and the carried dust; per pool, paid + carried ==
/// received (two records, see [`crate::pools::Pools::pool_view`]), the dust is under the
/// member count + 1, the members' stakes sum to the pool's, and the counts agree.
pub fn pools_hold_their_books(ledger: &Ledger) -> Result<(), String> {
    let (stats, pools) = all_pools(ledger)?;
    let balance = ledger.balance(&Identity::contract(POOLS)).0;
    if balance != stats.held.0 {
        return Err(format!(
            "the pools contract holds {balance}, its books say {}",
            stats.held
        ));
    }
    let (mut books, mut members, mut open) = (0i128, 0u64, 0u64);
    for v in &pools {
        let p = &v.pool;
        if v.paid.0 < 0
            || v.carried.0 < 0
            || i128::from(v.paid.0) + i128::from(v.carried.0) != i128::from(p.received.0)
        {
            return Err(format!(
                "pool {}: paid {} + carried {} != received {}",
                p.id, v.paid, v.carried, p.received
            ));
        }
        if v.carried.0 > i64::from(p.members) + 1 {
            return Err(format!(
                "pool {}: dust {} with {} members",
                p.id, v.carried, p.members
            ));
        }
        if v.members.len() != p.members as usize {
            return Err(format!(
                "pool {} counts {} members, lists {}",
                p.id,
                p.members,
                v.members.len()
            ));
        }
        let mut stake = 0i128;
        for m in &v.members {
            if m.member.pool != p.id || m.owed.0 < 0 || m.member.stake.0 < 0 {
                return Err(format!("pool {} lists {:?}", p.id, m));
            }
            stake += i128::from(m.member.stake.0);
            books += i128::from(m.member.stake.0) + i128::from(m.owed.0);
        }
        if stake != i128::from(p.total_stake.0) {
            return Err(format!(
                "pool {}: members' stakes {stake}, the pool says {}",
                p.id, p.total_stake
            ));
        }
        if !p.closed {
            books += i128::from(p.deposit.0);
            open += 1;
        } else if p.members > 0 {
            return Err(format!("closed pool {} has {} members", p.id, p.members));
        }
        books += i128::from(v.carried.0);
        members += u64::from(p.members);
    }
    if books != i128::from(stats.held.0) {
        return Err(format!(
            "deposits + stakes + owed + carried = {books}, held {}",
            stats.held
        ));
    }
    if (members, open) != (stats.members, stats.open) {
        return Err(format!(
            "pools count {members} members and {open} open pools, the stats {} and {}",
            stats.members, stats.open
        ));
    }
    Ok(())
}

/// No member paid out of another pool: every pool event that pays a worker (a settlement,
/// a claim, a leave, a withdrawal) or slashes one names the pool the worker was a member
/// of then, and no worker is in two pools at once.
///
/// A fork starts with no history, so the membership is followed backwards from today's
/// (the pools' member lists): before a withdrawal the worker was in that pool, before a
/// join it was in none.
pub fn no_cross_pool_pay(ledger: &Ledger) -> Result<(), String> {
    let (_, pools) = all_pools(ledger)?;
    let mut pool_of: std::collections::BTreeMap<Identity, u64> = Default::default();
    for v in &pools {
        for m in &v.members {
            if let Some(other) = pool_of.insert(m.member.worker.0, v.pool.id) {
                return Err(format!(
                    "{} is a member of pools {other} and {}",
                    m.member.worker.0, v.pool.id
                ));
            }
        }
    }
    for e in ledger.events().refs().rev().filter(|e| e.contract == POOLS) {
        let ev = PoolEvent::try_from_slice(e.data)
            .map_err(|err| format!("an unreadable pool event: {err}"))?;
        let bad = match &ev {
            PoolEvent::Joined { pool, worker, .. } => pool_of.remove(&worker.0) != Some(*pool),
            PoolEvent::Withdrawn { pool, worker, .. } => pool_of.insert(worker.0, *pool).is_some(),
            PoolEvent::Claimed { pool, worker, .. }
            | PoolEvent::Left { pool, worker, .. }
            | PoolEvent::JobSettled { pool, worker, .. }
            | PoolEvent::Slashed { pool, worker, .. } => pool_of.get(&worker.0) != Some(pool),
            _ => false,
        };
        if bad {
            return Err(format!(
                "tick {}: {ev:?} does not match the worker's membership then",
                e.tick
            ));
        }
    }
    Ok(())
}

/// No account ever holds a negative balance.
pub fn no_negative_balance(ledger: &Ledger) -> Result<(), String> {
    match ledger
        .state()
        .accounts_sorted()
        .iter()
        .find(|(_, a)| a.balance < 0)
    {
        Some((id, a)) => Err(format!("{id} holds {}", a.balance)),
        None => Ok(()),
    }
}

/// The oracle's published median of every model never moves more than its per-epoch cap
/// ([`OracleConfig::allowed_move`]: `max(1, previous × max_move_bps / 10⁴)`) from one
/// publication to the next: each publication names the previous one as its `old`, comes
/// from a later epoch, is clamped exactly when it differs from its raw median, lies in
/// its band; and the price view shows the last one.
pub fn median_within_epoch_bound(ledger: &Ledger) -> Result<(), String> {
    if ledger.events_trimmed() > 0 {
        return Ok(());
    }
    let config: OracleConfig = ledger
        .query_fn(ORACLE_SETTINGS, &())
        .map_err(|e| e.to_string())?;
    let mut last: std::collections::BTreeMap<Hash32, (comqute_qpi::Epoch, Amount)> =
        Default::default();
    for e in ledger
        .events()
        .refs()
        .filter(|e| e.contract == PRICE_ORACLE)
    {
        let Ok(OracleEvent::PricePublished {
            model,
            epoch,
            old,
            new,
            raw,
            clamped,
            p25,
            p75,
            ..
        }) = OracleEvent::try_from_slice(e.data)
        else {
            continue;
        };
        // A fork's history starts after genesis: a model's first publication seen here
        // may follow one that is not, and is checked against the `old` it names.
        let before = last.get(&model).copied();
        if before.is_some() && old != before.map(|b| b.1) {
            return Err(format!(
                "model {model}: epoch {epoch:?} published from {old:?}, the last was {before:?}"
            ));
        }
        if let Some((was, _)) = before {
            if epoch <= was {
                return Err(format!(
                    "model {model}: published in epoch {epoch:?} after epoch {was:?}"
                ));
            }
        }
        if let Some(prev) = old {
            let allowed = config.allowed_move(prev);
            if (i128::from(new.0) - i128::from(prev.0)).abs() > i128::from(allowed) {
                return Err(format!(
                    "model {model}: the median moved from {prev} to {new} in epoch {epoch:?}, \
                     more than {allowed}"
                ));
            }
        }
        if clamped != (new != raw) || !(p25 <= new && new <= p75) || new.0 < 0 {
            return Err(format!(
                "model {model}: published {new} (raw {raw}, clamped {clamped}, band {p25}..{p75})"
            ));
        }
        last.insert(model, (epoch, new));
    }
    for (model, (epoch, median)) in last {
        let p: Option<ModelPrice> = ledger
            .query_fn(PRICE, &ModelRef::Id(model))
            .map_err(|e| e.to_string())?;
        let shown = p
            .as_ref()
            .and_then(|p| p.median_per_1k.zip(p.published_epoch));
        if shown != Some((median, epoch)) {
            return Err(format!(
                "model {model}: the last publication is {median} in {epoch:?}, the view shows \
                 {shown:?}"
            ));
        }
    }
    Ok(())
}

/// No hook ever failed.
pub fn no_hook_failures(ledger: &Ledger) -> Result<(), String> {
    match ledger.hook_failures().first() {
        Some(f) => Err(format!("hook failed: {f:?}")),
        None => Ok(()),
    }
}

impl ActionModel for MarketModel {
    type Action = MarketAct;

    fn genesis(&self) -> Result<Ledger, LedgerError> {
        // Invariant: a poisoned lock only means another thread panicked mid-build; the
        // cached value is then rebuilt.
        let mut base = self.base.lock().unwrap_or_else(|p| p.into_inner());
        if base.is_none() {
            *base = Some(self.build_base()?);
        }
        match base.as_mut() {
            Some(l) => Ok(l.fork()),
            None => self.build_base(),
        }
    }

    fn action(&self) -> BoxedStrategy<MarketAct> {
        any_act()
    }

    fn apply(&self, ledger: &mut Ledger, action: &MarketAct) -> Result<u32, LedgerError> {
        match action {
            MarketAct::Wait { ticks } => Ok(u32::from(*ticks).max(1)),
            MarketAct::EpochEnd => Ok(ticks_to_next_epoch(ledger)),
            MarketAct::Progress { .. } => {
                let jobs = all_jobs(ledger).map_err(LedgerError::Config)?;
                let live: Vec<Job> = jobs
                    .into_iter()
                    .filter(|j| !j.status.is_terminal())
                    .collect();
                // An auction in progress: now and then an honest commit or reveal.
                if let MarketAct::Progress {
                    pick,
                    flavor,
                    tokens,
                    alt: None,
                } = *action
                {
                    // On: only an open auction (large_mix posts them) takes this branch.
                    let on = PROGRESS_DRIVES_AUCTIONS;
                    let commit = on && flavor % 2 == 1 && auction_open(ledger, true)?;
                    if commit || (on && auction_open(ledger, false)?) {
                        let large = if commit {
                            MarketAct::BidCommit {
                                large: pick,
                                pool: (flavor / 8 % 2 == 0).then_some(flavor / 16),
                                who: pick / 4,
                                price: tokens,
                                flaw: 6,
                            }
                        } else {
                            MarketAct::BidReveal {
                                large: pick,
                                bid: flavor / 8,
                                flaw: 6,
                            }
                        };
                        if let Some(call) = self
                            .large_call(ledger, &large)
                            .map_err(LedgerError::Config)?
                        {
                            self.submit_call(ledger, call)?;
                            return Ok(1);
                        }
                    }
                }
                // A check in progress: mostly a replica's commit or reveal.
                if let Some(call) =
                    check_progress(ledger, action, &live, self.config.verification.replica_bond)
                {
                    self.submit_call(ledger, call?)?;
                    return Ok(1);
                }
                self.queue(ledger, action, 0, &live)?;
                Ok(1)
            }
            MarketAct::LargePost { .. }
            | MarketAct::BidCommit { .. }
            | MarketAct::BidReveal { .. } => {
                if let Some(call) = self
                    .large_call(ledger, action)
                    .map_err(LedgerError::Config)?
                {
                    self.submit_call(ledger, call)?;
                }
                Ok(1)
            }
            _ => {
                let stats: NetworkStats = ledger
                    .query_fn(NETWORK_STATS, &())
                    .map_err(LedgerError::Contract)?;
                self.queue(ledger, action, stats.jobs.submitted, &[])?;
                Ok(1)
            }
        }
    }

    fn invariants(&self) -> Vec<Invariant> {
        vec![
            ("money conserved", money_conserved),
            ("escrow never negative", escrow_never_negative),
            ("no job paid over its escrow", no_job_paid_over_escrow),
            (
                "every job terminal after its deadline and window",
                jobs_terminal_after_deadline,
            ),
            (
                "no slash but for an accepted deadline missed or a failed check",
                slashes_only_for_accepted_deadlines,
            ),
            (
                "every checked job ends in exactly one verdict",
                checks_end_in_one_verdict,
            ),
            ("no hook fails", no_hook_failures),
            ("no negative balance", no_negative_balance),
            ("the pools hold their books", pools_hold_their_books),
            ("no member paid out of another pool", no_cross_pool_pay),
            (
                "the median moves within its per-epoch bound",
                median_within_epoch_bound,
            ),
            (
                "a large job's parts hold what was posted less what settled",
                large_jobs_hold_their_escrow,
            ),
            (
                "an auction awards the best revealed bid",
                auctions_award_the_best_bid,
            ),
            (
                "sealed prices stay sealed until the reveal deadline",
                sealed_prices_stay_sealed,
            ),
            (
                "burned bonds are the unrevealed bids' bonds",
                burned_bonds_are_unrevealed_bids,
            ),
        ]
    }
}

fn fuzz_genesis() -> Ledger {
    let mut b = Ledger::builder().epoch_ticks(16);
    for c in crate::contracts(MarketConfig::default()) {
        b = b.contract_arc(c);
    }
    for i in 1..=4u8 {
        b = b.fund(Identity([i; 32]), Amount(1_000_000));
    }
    b = b
        .contract(comqute_qpi::examples::Notary)
        .contract(comqute_qpi::examples::SendMany)
        .contract(comqute_qpi::examples::Faulty);
    // Invariant: the default market config and the example contracts form a valid genesis.
    b.build().expect("valid fuzz genesis")
}

/// The check behind the `contract_calls` fuzz target (`fuzz/`), kept here so that `cargo test`
/// replays its committed corpus (`tests/fuzz_corpus.rs`). Contract calls with arbitrary
/// inputs: the data is a sequence of calls, each
/// `[contract selector][input type u16][amount u16][source][len][input…]`, and a tick after
/// each. Nothing panics, money is conserved after every tick, the incremental digest equals
/// a full recomputation, and every function answers (or refuses) any input.
pub fn fuzz_contract_calls(data: &[u8]) {
    use comqute_qpi::examples::{FAULTY, NOTARY, SEND_MANY};
    // Selectors 0..5, as the committed seeds use them.
    const CONTRACTS: [u32; 7] = [
        ESCROW.0,
        WORKER_REGISTRY.0,
        JOB_REGISTRY.0,
        NOTARY.0,
        SEND_MANY.0,
        FAULTY.0,
        VERIFICATION.0,
    ];
    let mut l = fuzz_genesis();
    let mut rest = data;
    let mut calls = 0;
    while rest.len() >= 7 && calls < 16 {
        let contract = ContractIndex(CONTRACTS[usize::from(rest[0]) % CONTRACTS.len()]);
        let input_type = u16::from_le_bytes([rest[1], rest[2]]);
        let amount = i64::from(u16::from_le_bytes([rest[3], rest[4]])) * 100;
        let source = Identity([1 + rest[5] % 4; 32]);
        let len = usize::from(rest[6]).min(rest.len() - 7);
        let input = rest[7..7 + len].to_vec();
        rest = &rest[7 + len..];
        calls += 1;
        let _ = l.query_raw(contract, input_type, &input);
        let _ = l.execute(
            source,
            Identity::contract(contract),
            Amount(amount),
            input_type,
            input,
        );
        if calls % 4 == 0 {
            let _ = l.advance_ticks(u32::from(input_type % 40));
        }
        let sum: i128 = l
            .state()
            .accounts_sorted()
            .iter()
            .map(|(_, a)| i128::from(a.balance))
            .sum();
        assert_eq!(sum, l.supply().circulating(), "money conserved");
        assert!(
            l.hook_failures().is_empty(),
            "hook failed: {:?}",
            l.hook_failures()
        );
    }
    assert_eq!(
        l.state_digest(),
        l.state().recompute_digest(),
        "incremental digest"
    );
}

// --- large jobs with sealed bids (issue 19) -------------------------------------------------

/// Every large job, by id, with the contract's counts.
pub fn all_large_jobs(ledger: &Ledger) -> Result<(LargeJobStats, Vec<LargeJobView>), String> {
    let stats: LargeJobStats = ledger
        .query_fn(LARGE_JOB_STATS, &())
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for large_job_id in 1..=stats.posted {
        let v: Option<LargeJobView> = ledger
            .query_fn(GET_LARGE_JOB, &LargeJobRef { large_job_id })
            .map_err(|e| e.to_string())?;
        out.push(
            v.ok_or_else(|| format!("large job {large_job_id} of {} is missing", stats.posted))?,
        );
    }
    Ok((stats, out))
}

fn bidding(v: &LargeJobView) -> bool {
    matches!(
        v.phase,
        LargePhase::Commit | LargePhase::Reveal | LargePhase::Closing
    )
}

/// The salt the model commits a bid with (kept beside the price, see [`MarketModel::secret`]).
fn bid_salt(large_job_id: u64, bidder: &Identity, price: Amount) -> Hash32 {
    let mut b = b"model bid".to_vec();
    b.extend_from_slice(&large_job_id.to_le_bytes());
    b.extend_from_slice(&bidder.0);
    b.extend_from_slice(&price.0.to_le_bytes());
    Hash32::of(&b)
}

/// Whether [`MarketAct::Progress`] also commits and reveals bids honestly (off: turning it
/// on shifts what the fixed-seed reach tests reach; see `tests/market_harness.rs`).
const PROGRESS_DRIVES_AUCTIONS: bool = true;

/// Whether some large job takes commits (`commit`) or has an unrevealed bid in its reveal
/// phase, as of the next tick.
fn auction_open(ledger: &Ledger, commit: bool) -> Result<bool, LedgerError> {
    let (_, larges) = all_large_jobs(ledger).map_err(LedgerError::Config)?;
    let now = ledger.next_tick();
    Ok(larges.iter().any(|v| {
        bidding(v)
            && if commit {
                now <= v.commit_ends
            } else {
                now > v.commit_ends && now <= v.reveal_ends && v.bids.iter().any(|b| !b.revealed)
            }
    }))
}

impl MarketModel {
    /// The price and salt the model committed to `commitment` with, if it made it.
    pub fn secret(&self, commitment: &Hash32) -> Option<(Amount, Hash32)> {
        let s = self.secrets.lock().unwrap_or_else(|p| p.into_inner());
        s.get(commitment).copied()
    }

    fn keep_secret(&self, commitment: Hash32, price: Amount, salt: Hash32) {
        let mut s = self.secrets.lock().unwrap_or_else(|p| p.into_inner());
        s.insert(commitment, (price, salt));
    }

    /// The call a large-job action stands for, given the ledger (the open large jobs, the
    /// pools' operators, the model's secrets); `None` when there is nothing to call.
    pub fn large_call(&self, ledger: &Ledger, a: &MarketAct) -> Result<Option<Call>, String> {
        let w = |who: u8| usize::from(who) % ACTORS;
        let (stats, larges) = all_large_jobs(ledger)?;
        let now = ledger.next_tick();
        // The large job a pick names: mostly one in `want`'s phase (as of the next tick).
        let choose = |pick: u8, want: fn(&LargeJobView, Tick) -> bool| -> Option<&LargeJobView> {
            let fit: Vec<&LargeJobView> = larges.iter().filter(|v| want(v, now)).collect();
            if !fit.is_empty() {
                return Some(fit[usize::from(pick) % fit.len()]);
            }
            let open: Vec<&LargeJobView> = larges.iter().filter(|v| bidding(v)).collect();
            match open.len() {
                0 => larges.get(usize::from(pick) % larges.len().max(1)),
                n => Some(open[usize::from(pick) % n]),
            }
        };
        Ok(match *a {
            MarketAct::LargePost {
                who,
                parts,
                tokens,
                max_price,
                commit,
                reveal,
                flaw,
            } => {
                let n = usize::from(parts % 3) + 1;
                let mut spec = LargeJobSpec {
                    model: if parts.is_multiple_of(2) {
                        llama()
                    } else {
                        mistral()
                    },
                    parts: (0..n)
                        .map(|i| LargePart {
                            prompt_hash: Hash32::of(&[parts, flaw, i as u8, commit]),
                            prompt_size: 100,
                            max_output_tokens: u32::from(tokens) - (i as u32) * 30,
                        })
                        .collect(),
                    commit_ticks: u32::from(commit),
                    reveal_ticks: u32::from(reveal),
                    delivery_timeout_ticks: 8 + u32::from(flaw) % (MAX_TIMEOUT - 8),
                    max_price_per_1k: Amount(i64::from(max_price)),
                    min_tier: None,
                    sampling: Sampling {
                        seed: u64::from(flaw),
                        temperature_milli: 0,
                    },
                };
                let need = large_job_escrow(&spec.parts, spec.max_price_per_1k).map_or(1, |a| a.0);
                let mut pay = need;
                match flaw % 16 {
                    0 if commit.is_multiple_of(2) => spec.parts.clear(),
                    0 => spec.reveal_ticks = 0,
                    1 => pay = need - 1,
                    _ => {}
                }
                Some((
                    w(who),
                    JOB_REGISTRY,
                    POST_LARGE_JOB.number(),
                    encode(&spec),
                    pay,
                ))
            }
            MarketAct::BidCommit {
                large,
                pool,
                who,
                price,
                flaw,
            } => {
                let Some(v) = choose(large, |v, now| {
                    v.phase == LargePhase::Commit && now <= v.commit_ends
                }) else {
                    return Ok(None);
                };
                let flaw = flaw % 16;
                let large_job_id = if flaw == 2 { stats.posted + 1 } else { v.id };
                let (pool_id, mut bidder) = match pool {
                    Some(p) => {
                        let pools: PoolStats = ledger
                            .query_fn(POOL_STATS, &())
                            .map_err(|e| e.to_string())?;
                        let id = u64::from(p) % pools.created.max(1) + 1;
                        let pv: Option<PoolView> = ledger
                            .query_fn(GET_POOL, &PoolRef { pool: id })
                            .map_err(|e| e.to_string())?;
                        (Some(id), pv.map_or(7, |pv| actor_of(&pv.pool.operator)))
                    }
                    None => (None, 3 + usize::from(who) % 3),
                };
                if flaw == 1 {
                    // Not the operator (for a pool), not a worker (for itself).
                    bidder = if pool_id.is_some() {
                        (bidder + 1 + usize::from(who) % (ACTORS - 1)) % ACTORS
                    } else {
                        usize::from(who) % 3
                    };
                }
                let mut pool_id = pool_id;
                if flaw == 3 {
                    if let Some(b) = v.bids.get(usize::from(who) % v.bids.len().max(1)) {
                        bidder = actor_of(&b.bidder);
                        pool_id = b.pool;
                    }
                }
                let max = v.spec.max_price_per_1k.0.max(1);
                let price = Amount(match flaw {
                    4 => max + 1 + i64::from(price % 100),
                    5 => 0,
                    _ => 1 + i64::from(price) % max,
                });
                let id = actor(bidder);
                let salt = bid_salt(large_job_id, &id, price);
                let commitment = bid_commitment(price, &salt, &id);
                self.keep_secret(commitment, price, salt);
                let c = CommitBid {
                    large_job_id,
                    pool: pool_id,
                    commitment,
                };
                let bond = LargeJobConfig::default().bid_bond.0;
                let bond = match flaw {
                    0 if price.0 % 2 == 0 => bond + 1,
                    0 => bond - 1,
                    _ => bond,
                };
                Some((bidder, JOB_REGISTRY, COMMIT_BID.number(), encode(&c), bond))
            }
            MarketAct::BidReveal { large, bid, flaw } => {
                let flaw = flaw % 16;
                let v = if flaw == 0 {
                    larges.get(usize::from(large) % larges.len().max(1))
                } else {
                    choose(large, |v, now| {
                        v.phase != LargePhase::Awarded
                            && v.phase != LargePhase::Unawarded
                            && now > v.commit_ends
                            && now <= v.reveal_ends
                    })
                };
                let Some(v) = v else {
                    return Ok(None);
                };
                let unrevealed: Vec<_> = v.bids.iter().filter(|b| !b.revealed).collect();
                let Some(b) = unrevealed
                    .get(usize::from(bid) % unrevealed.len().max(1))
                    .copied()
                    .or_else(|| v.bids.get(usize::from(bid) % v.bids.len().max(1)))
                else {
                    return Ok(None);
                };
                let (mut price, mut salt) = self
                    .secret(&b.commitment)
                    .unwrap_or((Amount(1), Hash32::ZERO));
                match flaw {
                    1 => price = Amount(price.0 + 1),
                    2 => salt = Hash32::of(&salt.0),
                    _ => {}
                }
                let r = RevealBid {
                    large_job_id: v.id,
                    price_per_1k: price,
                    salt,
                };
                Some((
                    actor_of(&b.bidder),
                    JOB_REGISTRY,
                    REVEAL_BID.number(),
                    encode(&r),
                    0,
                ))
            }
            _ => None,
        })
    }
}

/// Each part of a large job is locked in the escrow vault under its reserved job id, for
/// what the post assigned it (the parts sum to the escrow posted); while bidding no part
/// is a job and every part is locked; an unawarded large job refunded every part in full
/// and made no job; an awarded one made every part a job with that escrow, locked while
/// the job is live and paid + fee + refunded to the unit once it closed. So what the
/// vault holds for a large job is what was posted less what has settled or been refunded.
pub fn large_jobs_hold_their_escrow(ledger: &Ledger) -> Result<(), String> {
    let (_, larges) = all_large_jobs(ledger)?;
    for v in &larges {
        let posted: i128 = v.parts.iter().map(|(_, a)| i128::from(a.0)).sum();
        if v.parts.len() != v.spec.parts.len() || posted != i128::from(v.escrow.0) {
            return Err(format!(
                "large job {}: {} parts locking {posted}, spec has {} parts, escrow {}",
                v.id,
                v.parts.len(),
                v.spec.parts.len(),
                v.escrow
            ));
        }
        let (mut held, mut closed) = (0i128, 0i128);
        for (job_id, amount) in &v.parts {
            let e: Option<JobEscrow> = ledger
                .query_fn(GET_JOB_ESCROW, &JobEscrowQuery { job_id: *job_id })
                .map_err(|e| e.to_string())?;
            let e = e.ok_or_else(|| format!("large job {}: part {job_id} has no escrow", v.id))?;
            let job: Option<Job> = ledger
                .query_fn(GET_JOB, &JobRef { job_id: *job_id })
                .map_err(|e| e.to_string())?;
            let settled = i128::from(e.paid.0) + i128::from(e.fee.0) + i128::from(e.refunded.0);
            let ok = e.locked == *amount
                && e.requester == v.requester
                && match (v.phase, &job) {
                    (_, _) if bidding(v) => job.is_none() && e.state == EscrowState::Locked,
                    (LargePhase::Unawarded, None) => {
                        e.state == EscrowState::Refunded && e.refunded == *amount
                    }
                    (LargePhase::Awarded, Some(j)) => {
                        j.escrow == *amount
                            && j.requester == v.requester
                            && if j.status.is_terminal() {
                                e.state != EscrowState::Locked && settled == i128::from(amount.0)
                            } else {
                                e.state == EscrowState::Locked && settled == 0
                            }
                    }
                    _ => false,
                };
            if !ok {
                return Err(format!(
                    "large job {} ({:?}): part {job_id} of {amount} has escrow {e:?}, job {:?}",
                    v.id,
                    v.phase,
                    job.map(|j| (j.status, j.escrow))
                ));
            }
            held += i128::from(e.held().0);
            if e.state != EscrowState::Locked {
                closed += settled;
            }
        }
        if held != i128::from(v.escrow.0) - closed {
            return Err(format!(
                "large job {}: the vault holds {held} for its parts, posted {} less settled {closed}",
                v.id, v.escrow
            ));
        }
    }
    Ok(())
}

/// The stake a win at `price` locks for `v` (the default [`LargeJobConfig::stake_bps`],
/// which the model keeps).
fn stake_lock(v: &LargeJobView, price: Amount) -> i128 {
    let tokens: i128 = v
        .spec
        .parts
        .iter()
        .map(|p| i128::from(p.max_output_tokens))
        .sum();
    tokens * i128::from(price.0.max(0)) * i128::from(LargeJobConfig::default().stake_bps)
        / crate::rules::TOKENS_PER_PRICE_UNIT
        / 10_000
}

/// The stake a bidder could cover a lock with now, `None` when it can no longer serve.
fn bidder_stake(ledger: &Ledger, b: &BidView) -> Result<Option<i128>, String> {
    Ok(match b.pool {
        Some(pool) => {
            let v: Option<PoolView> = ledger
                .query_fn(GET_POOL, &PoolRef { pool })
                .map_err(|e| e.to_string())?;
            v.filter(|v| !v.pool.closed && v.pool.operator == b.bidder)
                .map(|v| i128::from(v.pool.active_stake.0))
        }
        None => {
            let w: Option<crate::worker_registry::WorkerInfo> = ledger
                .query_fn(
                    crate::worker_registry::GET_WORKER,
                    &crate::worker_registry::WorkerQuery {
                        worker: crate::WorkerId(b.bidder),
                    },
                )
                .map_err(|e| e.to_string())?;
            w.filter(|w| w.worker.is_active())
                .map(|w| i128::from(w.worker.stake.0))
        }
    })
}

/// The large jobs whose auction closed in the last tick, from its events.
fn closed_last_tick(ledger: &Ledger) -> Vec<u64> {
    let last = Tick(ledger.next_tick().0.saturating_sub(1));
    ledger
        .events()
        .refs()
        .rev()
        .take_while(|e| e.tick == last)
        .filter(|e| e.contract == JOB_REGISTRY)
        .filter_map(|e| match JobEvent::try_from_slice(e.data).ok()? {
            JobEvent::Large(
                LargeJobEvent::Awarded { large_job_id, .. }
                | LargeJobEvent::Unawarded { large_job_id, .. },
            ) => Some(large_job_id),
            _ => None,
        })
        .collect()
}

/// An auction awards the best revealed bid: recomputed from the view's bids after the
/// deadline, the revealed prices from 1 to the maximum ranked by price, then the higher
/// tier, then the earlier commit. The winner is a revealed valid bid, the only one marked
/// Won, at its revealed price, locking what its price calls for; in the tick the auction
/// closed, every bid ranked ahead of it could not cover its lock (its pool closed or its
/// active stake short, its worker gone or its stake short), and an unawarded auction had
/// no revealed valid bid that could.
pub fn auctions_award_the_best_bid(ledger: &Ledger) -> Result<(), String> {
    let (_, larges) = all_large_jobs(ledger)?;
    let just_closed = closed_last_tick(ledger);
    for v in larges.iter().filter(|v| !bidding(v)) {
        let max = v.spec.max_price_per_1k;
        let mut ranked: Vec<(Amount, std::cmp::Reverse<crate::pools::Tier>, usize)> = v
            .bids
            .iter()
            .enumerate()
            .filter_map(|(i, b)| {
                b.price_per_1k
                    .filter(|p| p.0 > 0 && *p <= max)
                    .map(|p| (p, std::cmp::Reverse(b.tier), i))
            })
            .collect();
        ranked.sort();
        let won: Vec<usize> = (0..v.bids.len())
            .filter(|i| v.bids[*i].outcome == BidOutcome::Won)
            .collect();
        let ahead = match (&v.winner, v.phase) {
            (Some(w), LargePhase::Awarded) => {
                let at = ranked
                    .iter()
                    .position(|(_, _, i)| {
                        let b = &v.bids[*i];
                        b.bidder == w.bidder && b.pool == w.pool
                    })
                    .ok_or_else(|| {
                        format!("large job {}: winner {w:?} has no revealed valid bid", v.id)
                    })?;
                let (price, _, i) = ranked[at];
                if won != [i]
                    || price != w.price_per_1k
                    || i128::from(w.stake_locked.0) != stake_lock(v, price)
                {
                    return Err(format!(
                        "large job {}: winner {w:?}, bid {i} at {price}, bids marked won {won:?}",
                        v.id
                    ));
                }
                &ranked[..at]
            }
            (None, LargePhase::Unawarded) if won.is_empty() => &ranked[..],
            (w, phase) => {
                return Err(format!(
                    "large job {}: {phase:?} with winner {w:?}, bids marked won {won:?}",
                    v.id
                ))
            }
        };
        if !just_closed.contains(&v.id) {
            continue;
        }
        for (price, _, i) in ahead {
            let b = &v.bids[*i];
            let lock = stake_lock(v, *price);
            if let Some(stake) = bidder_stake(ledger, b)? {
                if stake >= lock {
                    return Err(format!(
                        "large job {} ({:?}): bid {i} by {} at {price} ranks ahead of the \
                         winner {:?} and its stake {stake} covers the lock {lock}",
                        v.id, v.phase, b.bidder, v.winner
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Sealed prices never show before the reveal deadline: while an auction takes commits or
/// reveals, no bid's price is in its view; once it closed, a bid shows its price exactly
/// when it was revealed; and no bond settles (the only event that names a price) before
/// the large job's reveal deadline (the award runs at the end of its last tick).
pub fn sealed_prices_stay_sealed(ledger: &Ledger) -> Result<(), String> {
    let (_, larges) = all_large_jobs(ledger)?;
    for v in &larges {
        let sealed = matches!(v.phase, LargePhase::Commit | LargePhase::Reveal);
        for b in &v.bids {
            let shown = b.price_per_1k.is_some();
            let ok = if sealed { !shown } else { shown == b.revealed };
            if !ok || (v.phase == LargePhase::Commit && b.revealed) {
                return Err(format!(
                    "large job {} ({:?}, reveals until {}): bid by {} shows {:?} (revealed {})",
                    v.id, v.phase, v.reveal_ends, b.bidder, b.price_per_1k, b.revealed
                ));
            }
        }
    }
    for e in ledger
        .events()
        .refs()
        .filter(|e| e.contract == JOB_REGISTRY)
    {
        if let Ok(JobEvent::Large(LargeJobEvent::BondSettled { large_job_id, .. })) =
            JobEvent::try_from_slice(e.data)
        {
            let v = larges
                .iter()
                .find(|v| v.id == large_job_id)
                .ok_or_else(|| format!("a bond settled for unknown large job {large_job_id}"))?;
            // The award runs in the END_TICK of `reveal_ends`, after its last reveals.
            if e.tick < v.reveal_ends {
                return Err(format!(
                    "large job {large_job_id}: a bond settled at tick {}, reveals ran until {}",
                    e.tick, v.reveal_ends
                ));
            }
        }
    }
    Ok(())
}

/// Bond accounting: an open auction's bids are pending and their bonds are what the
/// contract holds ([`LargeJobStats::bonds_held`], its balance by [`money_conserved`]); a
/// closed auction's bid burned exactly when it was not revealed, else went back (won or
/// returned); the bonds ever burned ([`LargeJobStats::bonds_burned`]) are the unrevealed
/// bids' bonds; the counts agree.
pub fn burned_bonds_are_unrevealed_bids(ledger: &Ledger) -> Result<(), String> {
    let (stats, larges) = all_large_jobs(ledger)?;
    let bond = i128::from(LargeJobConfig::default().bid_bond.0);
    let (mut held, mut burned, mut open) = (0i128, 0i128, 0u64);
    for v in &larges {
        for b in &v.bids {
            let ok = match (bidding(v), b.outcome) {
                (true, BidOutcome::Pending) => {
                    held += bond;
                    true
                }
                (false, BidOutcome::Burned) => {
                    burned += bond;
                    !b.revealed
                }
                (false, BidOutcome::Won | BidOutcome::Returned) => b.revealed,
                _ => false,
            };
            if !ok {
                return Err(format!(
                    "large job {} ({:?}): bid by {} is {:?}, revealed {}",
                    v.id, v.phase, b.bidder, b.outcome, b.revealed
                ));
            }
        }
        open += u64::from(bidding(v));
    }
    if held != i128::from(stats.bonds_held.0)
        || burned != i128::from(stats.bonds_burned.0)
        || open != stats.bidding
    {
        return Err(format!(
            "open bids' bonds {held}, unrevealed closed bids' bonds {burned}, {open} bidding; \
             the contract says held {}, burned {}, {} bidding",
            stats.bonds_held, stats.bonds_burned, stats.bidding
        ));
    }
    Ok(())
}

//! Shared helpers for the marketplace tests: a ledger with the three marketplace contracts,
//! named key pairs, signed calls, typed queries and the money checks.

#![allow(dead_code)]

use borsh::BorshSerialize;
use comqute_ledger::{Keypair, Ledger, LedgerBuilder, Receipt, Seed, Transaction, TxId, TxStatus};
use comqute_market::escrow::{EscrowTotals, TOTALS};
use comqute_market::harness as marketplace_invariants;
use comqute_market::job_registry::{
    GiveUp, Job, JobPage, JobRef, JobSpec, JobStatus, JobsByStatus, NetworkStats, PostResult,
    Resolve, Sampling, CANCEL, CHALLENGE, CLAIM, DECLINE, EXPIRE, FAIL, FORCE_VERDICT, GET_JOB,
    JOBS_BY_STATUS, NETWORK_STATS, POST_RESULT, START, SUBMIT,
};
use comqute_market::worker_registry::{
    Capabilities, Heartbeat, SetAvailable, WorkerInfo, WorkerQuery, GET_WORKER, HEARTBEAT,
    REGISTER, SET_AVAILABLE,
};
use comqute_market::{self, model_id, MarketConfig, JOB_REGISTRY, WORKER_REGISTRY};
use comqute_market::{JobId, WorkerId};
use comqute_qpi::contract::encode;
use comqute_qpi::{Amount, ContractIndex, Hash32, Identity, Tick};

/// Money every named actor starts with.
pub const START_BALANCE: i64 = 10_000_000;

/// A deterministic key pair from a short lowercase name.
pub fn key(name: &str) -> Keypair {
    assert!(name.bytes().all(|b| b.is_ascii_lowercase()) && name.len() <= 55);
    let mut s = name.to_owned();
    while s.len() < 55 {
        s.push('q');
    }
    Seed::new(&s).expect("55 lowercase letters").keypair()
}

/// The name of the model the tests use.
pub const LLAMA: &str = "llama3.2:1b";
/// The name of another model.
pub const MISTRAL: &str = "mistral:7b";

/// The model the tests use, by id.
pub fn llama() -> Hash32 {
    model_id(LLAMA)
}

/// Another model, by id.
pub fn mistral() -> Hash32 {
    model_id(MISTRAL)
}

/// Capabilities serving the models named `models` at `price` per 1k tokens, `slots` jobs at
/// once.
pub fn caps(models: &[&str], price: i64, slots: u16) -> Capabilities {
    Capabilities {
        models: models.iter().map(|m| (*m).to_owned()).collect(),
        gpu: "RTX 4090".into(),
        vram_mb: 24_576,
        tokens_per_s: 120,
        price_per_1k: Amount(price),
        max_concurrent: slots,
    }
}

/// A job spec for `model`: `max_tokens` at most `max_price` per 1k, `timeout` ticks.
pub fn spec(model: Hash32, max_tokens: u32, max_price: i64, timeout: u32) -> JobSpec {
    JobSpec {
        model,
        prompt_hash: Hash32::of(b"Why is the sky blue?"),
        prompt_size: 20,
        max_output_tokens: max_tokens,
        max_price_per_1k: Amount(max_price),
        timeout_ticks: timeout,
        min_reputation: 0,
        sampling: Sampling {
            seed: 42,
            temperature_milli: 0,
        },
    }
}

/// A test configuration with a devnet resolver (forced verdicts on), short windows, no
/// spot checks and no verification fee, so a result waits out its window untouched and a
/// worker is paid its whole price (the verification tests turn them on).
pub fn config(resolver: Identity) -> MarketConfig {
    MarketConfig {
        workers: comqute_market::worker_registry::WorkerConfig {
            heartbeat_window: 50,
            unbonding_ticks: 30,
            ..MarketConfig::default().workers
        },
        jobs: comqute_market::job_registry::JobConfig {
            resolver,
            forced_verdicts: true,
            challenge_window: 5,
            check_timeout_ticks: 400,
            ..MarketConfig::default().jobs
        },
        verification: comqute_market::verification::VerifyConfig {
            spot_checks: false,
            fee_bps: 0,
            ..MarketConfig::default().verification
        },
        ..MarketConfig::default()
    }
}

/// A builder with the marketplace contracts and `funded` identities.
pub fn builder(config: MarketConfig, funded: &[Identity]) -> LedgerBuilder {
    let mut b = Ledger::builder();
    for c in comqute_market::contracts(config) {
        b = b.contract_arc(c);
    }
    for id in funded {
        b = b.fund(*id, Amount(START_BALANCE));
    }
    b
}

/// A ledger with the marketplace and its test cast.
pub struct Market {
    /// The ledger.
    pub ledger: Ledger,
    /// The genesis settings.
    pub config: MarketConfig,
}

impl Market {
    /// A marketplace where the named actors are funded; `resolver` resolves disputes.
    pub fn new(names: &[&str], resolver: &str) -> Market {
        Self::with_config(names, config(key(resolver).identity()))
    }

    /// The same with a custom configuration.
    pub fn with_config(names: &[&str], config: MarketConfig) -> Market {
        let ids: Vec<Identity> = names.iter().map(|n| key(n).identity()).collect();
        let ledger = builder(config.clone(), &ids)
            .build()
            .expect("marketplace genesis");
        Market { ledger, config }
    }

    /// Queues a signed call for the next tick.
    pub fn queue<I: BorshSerialize>(
        &mut self,
        who: &Keypair,
        contract: ContractIndex,
        input_type: u16,
        input: &I,
        amount: i64,
    ) -> TxId {
        let tx = Transaction::call(
            who.identity(),
            contract,
            Amount(amount),
            self.ledger.next_tick(),
            input_type,
            encode(input),
        )
        .sign(who);
        self.ledger.submit(tx).expect("admitted")
    }

    /// Runs the next tick.
    pub fn tick(&mut self) -> Tick {
        let t = self.ledger.process_tick().expect("tick runs");
        assert!(
            self.ledger.hook_failures().is_empty(),
            "hook failed: {:?}",
            self.ledger.hook_failures()
        );
        t
    }

    /// Signs a call, runs its tick, returns the receipt.
    pub fn send<I: BorshSerialize>(
        &mut self,
        who: &Keypair,
        contract: ContractIndex,
        input_type: u16,
        input: &I,
        amount: i64,
    ) -> Receipt {
        let id = self.queue(who, contract, input_type, input, amount);
        self.tick();
        self.ledger
            .receipt(&id)
            .expect("receipt of a processed tick")
    }

    /// Signs a call with raw input bytes, runs its tick, returns the receipt.
    pub fn send_raw(
        &mut self,
        who: &Keypair,
        contract: ContractIndex,
        input_type: u16,
        input: Vec<u8>,
        amount: i64,
    ) -> Receipt {
        let tx = Transaction::call(
            who.identity(),
            contract,
            Amount(amount),
            self.ledger.next_tick(),
            input_type,
            input,
        )
        .sign(who);
        let id = self.ledger.submit(tx).expect("admitted");
        self.tick();
        self.ledger
            .receipt(&id)
            .expect("receipt of a processed tick")
    }

    /// Runs `n` ticks (warping over idle ones).
    pub fn advance(&mut self, n: u32) {
        self.ledger.advance_ticks(n).expect("advance");
        assert!(
            self.ledger.hook_failures().is_empty(),
            "hook failed: {:?}",
            self.ledger.hook_failures()
        );
    }

    /// Runs ticks until `t` is the next tick.
    pub fn warp_to(&mut self, t: Tick) {
        self.ledger.warp_to_tick(t).expect("warp");
        assert!(
            self.ledger.hook_failures().is_empty(),
            "hook failed: {:?}",
            self.ledger.hook_failures()
        );
    }

    // --- worker helpers ---------------------------------------------------------------------

    /// Registers `who` with `stake` and `caps`; asserts success.
    pub fn register(&mut self, who: &Keypair, stake: i64, caps: Capabilities) {
        let r = self.send(who, WORKER_REGISTRY, REGISTER.number(), &caps, stake);
        assert_executed(&r);
    }

    /// Registers at the minimum stake for llama at `price`, and declares availability.
    pub fn available_worker(&mut self, who: &Keypair, price: i64, slots: u16) {
        let stake = self.config.workers.min_stake.0;
        self.register(who, stake, caps(&[LLAMA], price, slots));
        let r = self.send(
            who,
            WORKER_REGISTRY,
            SET_AVAILABLE.number(),
            &SetAvailable {
                available: true,
                session: 0,
            },
            0,
        );
        assert_executed(&r);
    }

    /// A manual heartbeat (session 0).
    pub fn heartbeat(&mut self, who: &Keypair) -> Receipt {
        let hb = Heartbeat {
            session: 0,
            takeover: false,
        };
        self.send(who, WORKER_REGISTRY, HEARTBEAT.number(), &hb, 0)
    }

    /// The worker's record.
    pub fn worker(&self, who: &Keypair) -> WorkerInfo {
        self.try_worker(&who.identity()).expect("registered worker")
    }

    /// A worker's record, if any.
    pub fn try_worker(&self, id: &Identity) -> Option<WorkerInfo> {
        self.ledger
            .query_fn(
                GET_WORKER,
                &WorkerQuery {
                    worker: WorkerId(*id),
                },
            )
            .expect("query")
    }

    // --- job helpers ---------------------------------------------------------------------------

    /// Submits a job; asserts success; returns its id.
    pub fn submit(&mut self, who: &Keypair, spec: &JobSpec, escrow: i64) -> u64 {
        let r = self.send(who, JOB_REGISTRY, SUBMIT.number(), spec, escrow);
        assert_executed(&r);
        borsh::from_slice(&r.output).expect("job id output")
    }

    /// Calls a job procedure that takes a [`JobRef`].
    pub fn job_call(&mut self, who: &Keypair, procedure: u16, job_id: u64) -> Receipt {
        self.send(
            who,
            JOB_REGISTRY,
            procedure,
            &JobRef {
                job_id: JobId(job_id),
            },
            0,
        )
    }

    /// Claims.
    pub fn claim(&mut self, who: &Keypair, job_id: u64) -> Receipt {
        self.job_call(who, CLAIM.number(), job_id)
    }
    /// Starts.
    pub fn start(&mut self, who: &Keypair, job_id: u64) -> Receipt {
        self.job_call(who, START.number(), job_id)
    }
    /// Posts a result of `tokens` output tokens.
    pub fn post(&mut self, who: &Keypair, job_id: u64, tokens: u32) -> Receipt {
        let input = PostResult {
            job_id: JobId(job_id),
            result: result(tokens),
        };
        self.send(who, JOB_REGISTRY, POST_RESULT.number(), &input, 0)
    }
    /// Cancels.
    pub fn cancel(&mut self, who: &Keypair, job_id: u64) -> Receipt {
        self.job_call(who, CANCEL.number(), job_id)
    }
    /// Gives up, saying why (on a job not started yet this declines it).
    pub fn fail(&mut self, who: &Keypair, job_id: u64, reason: &str) -> Receipt {
        let g = GiveUp {
            job_id: JobId(job_id),
            reason: reason.to_owned(),
        };
        self.send(who, JOB_REGISTRY, FAIL.number(), &g, 0)
    }
    /// Declines an offer, saying why.
    pub fn decline(&mut self, who: &Keypair, job_id: u64, reason: &str) -> Receipt {
        let g = GiveUp {
            job_id: JobId(job_id),
            reason: reason.to_owned(),
        };
        self.send(who, JOB_REGISTRY, DECLINE.number(), &g, 0)
    }
    /// Disputes.
    pub fn dispute(&mut self, who: &Keypair, job_id: u64) -> Receipt {
        let job = self.job(job_id);
        let pay = job.result.map_or(Amount::ZERO, |r| {
            comqute_market::payment(r.output_tokens, job.price_per_1k, job.escrow)
        });
        let bond = self.config.verification.challenge_bond(pay);
        self.send(
            who,
            JOB_REGISTRY,
            CHALLENGE.number(),
            &JobRef {
                job_id: JobId(job_id),
            },
            bond.0,
        )
    }
    /// Expires.
    pub fn expire(&mut self, who: &Keypair, job_id: u64) -> Receipt {
        self.job_call(who, EXPIRE.number(), job_id)
    }
    /// Resolves.
    pub fn resolve(&mut self, who: &Keypair, job_id: u64, worker_wins: bool) -> Receipt {
        self.send(
            who,
            JOB_REGISTRY,
            FORCE_VERDICT.number(),
            &Resolve {
                job_id: JobId(job_id),
                worker_wins,
            },
            0,
        )
    }

    /// A job's record.
    pub fn job(&self, id: u64) -> Job {
        let j: Option<Job> = self
            .ledger
            .query_fn(GET_JOB, &JobRef { job_id: JobId(id) })
            .expect("query");
        j.expect("job exists")
    }

    /// Jobs in a status (first page of 100).
    pub fn jobs_in(&self, status: JobStatus) -> Vec<Job> {
        let p: JobPage = self
            .ledger
            .query_fn(
                JOBS_BY_STATUS,
                &JobsByStatus {
                    status,
                    cursor: None,
                    limit: 100,
                },
            )
            .expect("query");
        p.jobs
    }

    /// Network stats.
    pub fn stats(&self) -> NetworkStats {
        self.ledger.query_fn(NETWORK_STATS, &()).expect("query")
    }

    /// The vault's totals.
    pub fn escrow_totals(&self) -> EscrowTotals {
        self.ledger.query_fn(TOTALS, &()).expect("query")
    }

    /// A balance.
    pub fn balance(&self, who: &Keypair) -> i64 {
        self.ledger.balance(&who.identity()).0
    }

    /// Every money invariant of the marketplace; panics with the first broken one.
    pub fn assert_money(&self) {
        if let Err(e) = check_money(&self.ledger) {
            panic!("{e}");
        }
    }
}

/// The result every test posts: a fixed hash, `tokens` tokens, a runtime fingerprint.
pub fn result(tokens: u32) -> comqute_market::job_registry::JobResult {
    comqute_market::job_registry::JobResult {
        result_hash: Hash32::of(b"Rayleigh scattering."),
        output_tokens: tokens,
        runtime: Hash32::of(b"ollama 0.5 q4_K_M"),
    }
}

/// Asserts the receipt executed, printing it if not.
pub fn assert_executed(r: &Receipt) {
    assert_eq!(r.status, TxStatus::Executed, "expected success:\n{r}");
}

/// Asserts the receipt failed with the contract error `name`, leaving no event and no
/// transfer behind.
pub fn assert_rejected(r: &Receipt, name: &str) {
    let got = r.error().and_then(|e| e.rejected_name());
    assert_eq!(got, Some(name), "expected {name}:\n{r}");
    assert!(r.events.is_empty(), "a failed call left events:\n{r}");
    assert!(r.transfers.is_empty(), "a failed call left transfers:\n{r}");
    assert!(!r.money_flew, "a failed call moved money:\n{r}");
}

/// The money invariants:
/// - the sum of all balances equals the circulating supply (minted − burned);
/// - the vault holds exactly its job escrows plus its stakes; the registries hold nothing;
/// - no job is paid more than its escrow, and a closed job's payment and refund add up to it;
/// - the registry's stakes match the vault's.
pub fn check_money(ledger: &Ledger) -> Result<(), String> {
    // The same checks the invariant runner ships (one definition of each).
    marketplace_invariants::money_conserved(ledger)?;
    marketplace_invariants::no_job_paid_over_escrow(ledger)
}

/// Every job, by id.
pub fn all_jobs(ledger: &Ledger) -> Vec<Job> {
    marketplace_invariants::all_jobs(ledger).unwrap_or_else(|e| panic!("listing jobs: {e}"))
}

//! # comqute-sdk
//!
//! What app developers import: keys, transactions and typed contract calls, over one
//! [`Client`] that talks either to an embedded ledger (in-process, for tests and apps) or to
//! a running `comqute node` over HTTP. The two transports apply the same rules (the node
//! crate's own checks, blob store and token streams), so a scenario gives the same statuses,
//! payouts and balances on both.
//!
//! - [`keys`]: fresh seeds, seeds from text, key files (JSON, mode 0600).
//! - [`Client`]: build, sign, submit, wait for the receipt at its tick ([`TxReceipt`]);
//!   typed queries; blobs; devnet faucet and warp; events ([`Client::subscribe`]) and token
//!   streams.
//! - Typed clients of the marketplace contracts: [`Client::escrow`], [`Client::workers`],
//!   [`Client::jobs`], every procedure and function.
//! - [`QubicRpc`]: a client of Qubic's public RPC (tick info, balances, broadcasts,
//!   transaction status, approved transactions), for Qubic's network or a comqute node's
//!   `/live/v1`, with typed errors for a network that is down, slow or answers garbage.
//! - [`JobHandle`]: wait for a job's result, fetch the result blob with its hash checked
//!   against the chain, stream its tokens.
//! - Wire types are not defined here: the contract types are re-exported from
//!   [`contracts`], the ledger's from [`ledger`], the node's JSON shapes from [`wire`].
//!
//! The API is async (tokio). On the embedded transport, waits process ticks on demand.
//!
//! ## A job from submission to a verified result, in-process
//! ```
//! use std::time::Duration;
//! use comqute_sdk::contracts::model_id;
//! use comqute_sdk::contracts::worker_registry::Capabilities;
//! use comqute_sdk::{keys, Amount, Client, Hash32, JobRequest};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), comqute_sdk::SdkError> {
//! let client = Client::embedded_devnet()?;
//! let (alice, walt) = (keys::keypair_from_seed(&"a".repeat(55))?, keys::keypair_from_seed(&"w".repeat(55))?);
//! client.faucet(&alice.identity(), Amount(100_000)).await?;
//! client.faucet(&walt.identity(), Amount(100_000)).await?;
//!
//! // A worker serving one model at 2,000 per 1k tokens.
//! let caps = Capabilities {
//!     models: vec!["llama3.2:1b".into()],
//!     gpu: "none".into(), vram_mb: 0, tokens_per_s: 20,
//!     price_per_1k: Amount(2_000), max_concurrent: 1,
//! };
//! client.workers().register(&walt, &caps, Amount(10_000)).await?;
//!
//! // The requester uploads a prompt and submits; the escrow is what the contract quotes.
//! let req = JobRequest::new("llama3.2:1b", "Why is the sky blue?", 100, Amount(3_000));
//! let job = client.jobs().request(&alice, &req).await?;
//! assert_eq!(client.balance(&alice.identity()).await?, Amount(100_000 - 300));
//!
//! // The worker claims, starts, streams, and delivers.
//! let jobs = client.jobs();
//! jobs.claim(&walt, job.id()).await?;
//! jobs.start(&walt, job.id()).await?;
//! let mut w = jobs.token_writer(&walt, job.id());
//! w.write("Rayleigh ").await?;
//! w.finish("scattering.").await?;
//! jobs.deliver(&walt, job.id(), b"Rayleigh scattering.", 50, Hash32::ZERO).await?;
//!
//! // The requester waits out the challenge window and checks the result against the chain.
//! let done = job.wait_final(Duration::from_secs(10)).await?;
//! assert_eq!(done.status.name(), "Finalized");
//! // 50 tokens at 2,000 per 1k: 100, of which the 10% verification fee.
//! assert_eq!((done.paid, done.fee), (Amount(90), Amount(10)));
//! assert_eq!(job.result().await?, b"Rayleigh scattering.");
//! assert_eq!(client.tokens(job.id()).await?.text, "Rayleigh scattering.");
//! # Ok(()) }
//! ```
//!
//! Against a node, only the constructor changes: `Client::remote("http://127.0.0.1:8080")?`.
//! See `examples/requester.rs`.
//!
//! ## What it must never do
//! Define a second copy of a wire type, sign with a key it was not given, or hand back a
//! result whose bytes do not hash to the hash posted on chain.

pub mod client;
#[cfg(feature = "embedded")]
pub mod embedded;
pub mod error;
pub mod job;
pub mod keys;
pub mod market;
pub mod pools;
pub mod qubic_rpc;
pub mod remote;

pub use comqute_ledger::{
    self as ledger, Keypair, Ledger, LedgerError, QubicKeypair, Receipt, Seed, Signer, Transaction,
    TxError, TxId, TxStatus,
};
/// The marketplace's contracts: their typed descriptors, inputs, outputs, events and errors.
pub use comqute_market as contracts;
/// The contract kit: primitives, the contract interface, descriptors, the JSON rule.
pub use comqute_qpi as qpi;
pub use comqute_qpi::{Amount, ContractIndex, Epoch, Hash32, Identity, Tick};
pub use comqute_wire as wire;

pub use client::{
    Client, ClientOptions, ContractEvent, Outcome, PendingTx, Subscription, TokenEvent, Transport,
    TxReceipt,
};
#[cfg(feature = "embedded")]
pub use embedded::{Embedded, TickMode};
pub use error::SdkError;
pub use job::JobHandle;
pub use keys::new_seed;
pub use market::{
    EscrowClient, JobClient, JobFilter, JobRequest, ModelMarket, RequestError, TokenWriter,
    VerificationClient, WorkerClient,
};
pub use pools::{LargeJobClient, LargeJobRequest, OracleClient, PoolClient};
pub use qubic_rpc::{QubicRpc, QubicRpcError};
pub use remote::Remote;

//! # comqute-market
//!
//! The lowest crate of comqute: the shared newtypes ([`Identity`], [`Hash32`], [`Amount`],
//! [`Tick`], [`Epoch`], [`ContractIndex`]) with the 60-letter identity codec, the QPI-style
//! contract interface ([`qpi`]), and the contracts themselves.
//!
//! ## What it must never do
//! Contracts are pure state machines. Nothing in this crate performs I/O, reads a clock, asks
//! the OS for randomness, uses floating point, or iterates a `HashMap`: a contract's output
//! depends only on its state, its input and the [`qpi::CallInfo`] the ledger hands it (tick,
//! epoch, the tick's seed). That is what lets two ledgers fed the same transactions reach
//! the same state digest on any machine.
//!
//! ## Writing a contract
//! Implement [`qpi::Contract`]: numbered procedures (may change state and receive the
//! invocation reward), numbered functions (read-only), optional tick and epoch hooks. Inputs
//! and outputs are borsh. A procedure that returns an error leaves no trace: the ledger undoes
//! its writes, transfers and events and gives the invocation reward back. See
//! [`examples`] for a complete contract that uses every part of the interface.
//!
//! ## The marketplace
//! [`marketplace`] holds the genesis settings ([`marketplace::MarketConfig`]) and assembles
//! the three marketplace contracts: the [`escrow`] vault (index 1, where all job payments
//! and stakes rest), the [`worker_registry`] (index 2) and the [`job_registry`] (index 6,
//! the job lifecycle with END_TICK matching, deadlines and settlement). Indices 3, 4 and 5
//! are kept for pools, the price oracle and verification: a contract calls only lower
//! indices, so the job registry comes last.

pub mod error;
pub mod escrow;
pub mod examples;
pub mod job_registry;
pub mod json;
pub mod marketplace;
pub mod primitives;
pub mod qpi;
pub mod worker_registry;

pub use error::{CodecError, ContractError};
pub use primitives::{Amount, ContractIndex, Epoch, Hash32, Identity, Tick, MAX_AMOUNT};

//! # comqute-qpi
//!
//! The lowest crate of comqute, and the kit every contract is written with: the shared
//! newtypes ([`Identity`], [`Hash32`], [`Amount`], [`Tick`], [`Epoch`], [`ContractIndex`])
//! with the 60-letter identity codec, the QPI-style contract interface ([`contract`]), the
//! typed entry-point descriptors and dispatch ([`kit`]), and the one JSON rule for contract
//! types ([`json`]). The ledger runs contracts through this interface and nothing else; the
//! marketplace's contracts live in `comqute-market`.
//!
//! ## What it must never do
//! Contracts are pure state machines. Nothing in this crate performs I/O, reads a clock, asks
//! the OS for randomness, uses floating point, or iterates a `HashMap`: a contract's output
//! depends only on its state, its input and the [`contract::CallInfo`] the ledger hands it
//! (tick, epoch, the tick's seed). That is what lets two ledgers fed the same transactions
//! reach the same state digest on any machine.
//!
//! ## Writing a contract
//! Implement [`contract::Contract`]: numbered procedures (may change state and receive the
//! invocation reward), numbered functions (read-only), optional tick and epoch hooks. Inputs
//! and outputs are borsh. A procedure that returns an error leaves no trace: the ledger undoes
//! its writes, transfers and events and gives the invocation reward back. See [`examples`]
//! for complete contracts that use every part of the interface.

pub mod contract;
pub mod error;
pub mod examples;
pub mod json;
pub mod kit;
pub mod primitives;
pub mod profile;

pub use error::{CodecError, ContractError};
pub use primitives::{Amount, ContractIndex, Epoch, Hash32, Identity, Tick, MAX_AMOUNT};
pub use profile::Profile;

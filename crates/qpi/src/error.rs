//! The crate's errors: [`CodecError`] for text and byte codecs, [`ContractError`] for
//! everything a contract call can fail with.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::Serialize;
use thiserror::Error;

/// A value could not be parsed from its text form.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CodecError {
    /// The text has the wrong number of characters.
    #[error("expected {expected} characters, found {found}")]
    Length {
        /// How many characters the form has.
        expected: usize,
        /// How many were given.
        found: usize,
    },
    /// A character is not a letter of the expected case.
    #[error("character {position} is {found:?}, not {} {case} letter", if case.starts_with('u') { "an" } else { "a" })]
    Letter {
        /// Zero-based position.
        position: usize,
        /// The character found.
        found: char,
        /// "uppercase" or "lowercase".
        case: &'static str,
    },
    /// A 14-letter word is larger than a u64.
    #[error("word {word} is larger than 64 bits")]
    Overflow {
        /// Which of the four words.
        word: usize,
    },
    /// The 4-letter checksum does not match.
    #[error("checksum does not match")]
    Checksum,
    /// A character is not hexadecimal.
    #[error("character {position} is not hexadecimal")]
    Hex {
        /// Zero-based position.
        position: usize,
    },
}

/// Why a contract call (procedure, function or hook) failed. A failed procedure leaves no
/// trace: the ledger undoes its state changes, transfers and events, and the invocation
/// reward goes back to the invocator. The error is recorded in the receipt.
#[derive(Debug, Clone, PartialEq, Eq, Error, BorshSerialize, BorshDeserialize, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum ContractError {
    /// No contract has this index.
    #[error("unknown contract {0}")]
    UnknownContract(u32),
    /// The contract has no procedure with this input type.
    #[error("contract {contract} has no procedure {input_type}")]
    UnknownProcedure {
        /// Contract index.
        contract: u32,
        /// The input type asked for.
        input_type: u16,
    },
    /// The contract has no function with this input type.
    #[error("contract {contract} has no function {input_type}")]
    UnknownFunction {
        /// Contract index.
        contract: u32,
        /// The input type asked for.
        input_type: u16,
    },
    /// The input bytes do not decode to the procedure's input type.
    #[error("malformed input: {0}")]
    BadInput(String),
    /// A transfer or burn needs more than the payer holds.
    #[error("insufficient funds: needs {needed}, has {available}")]
    InsufficientFunds {
        /// Amount asked for.
        needed: i64,
        /// Amount held.
        available: i64,
    },
    /// A negative amount or one over the maximum.
    #[error("invalid amount {0}")]
    InvalidAmount(i64),
    /// A contract may call only contracts of lower index.
    #[error("contract {caller} may not call contract {callee}: only lower indices")]
    CallNotAllowed {
        /// The calling contract.
        caller: u32,
        /// The contract it tried to call.
        callee: u32,
    },
    /// Cross-contract calls nested too deep.
    #[error("cross-contract calls nested deeper than {0}")]
    CallDepth(u8),
    /// A storage key is longer than [`crate::contract::MAX_KEY_LEN`].
    #[error("storage key of {0} bytes is longer than the maximum")]
    KeyTooLong(usize),
    /// A stored value does not decode: a contract bug, never the caller's.
    #[error("stored value under key {key} does not decode: {detail}")]
    CorruptState {
        /// Hex of the key.
        key: String,
        /// The decoder's message.
        detail: String,
    },
    /// The contract refused the call with one of its own errors.
    #[error("{name}: {detail}")]
    Rejected {
        /// The contract-specific error code.
        code: u16,
        /// The error's name (its enum variant).
        name: String,
        /// Human-readable detail.
        detail: String,
    },
}

impl ContractError {
    /// The contract-specific code of a [`ContractError::Rejected`].
    pub fn code(&self) -> Option<u16> {
        match self {
            ContractError::Rejected { code, .. } => Some(*code),
            _ => None,
        }
    }
    /// The name of a [`ContractError::Rejected`] (its variant in the contract's own enum).
    pub fn rejected_name(&self) -> Option<&str> {
        match self {
            ContractError::Rejected { name, .. } => Some(name),
            _ => None,
        }
    }
}

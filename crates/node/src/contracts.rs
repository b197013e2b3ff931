//! Calls and queries by name with JSON inputs, for any contract of the genesis: the node reads
//! each contract's own description ([`comqute_qpi::kit::ContractMeta`]) to find the entry
//! point and to encode its input and decode its output, so a contract added to the genesis
//! is callable (`comqute call`) and queryable (`comqute query`) with no change here.

use base64::Engine;
use comqute_ledger::registry::Registry;
use comqute_ledger::Ledger;
use comqute_qpi::contract::Contract;
use comqute_qpi::kit::{CodecJsonError, EntryPoint};
use comqute_qpi::{ContractError, Identity};
use serde_json::Value;

use crate::wire::{
    ContractQueryRequest, ContractQueryResponse, EncodeCallRequest, EncodeCallResponse,
};

/// Why a call or query by name could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ContractCallError {
    /// No contract of the genesis has that name, index or identity.
    #[error("no contract {key:?}; the contracts are {known}")]
    UnknownContract {
        /// What was asked for.
        key: String,
        /// The names there are.
        known: String,
    },
    /// The contract has no procedure or function by that name or number.
    #[error("{contract} has no {kind} {key:?}; its {kind}s are {known}")]
    UnknownEntry {
        /// The contract.
        contract: String,
        /// "procedure" or "function".
        kind: &'static str,
        /// What was asked for.
        key: String,
        /// The names it has.
        known: String,
    },
    /// The JSON input is not the entry point's input type.
    #[error("{0}")]
    Input(CodecJsonError),
    /// The function ran and refused, or its output does not decode.
    #[error("{0}")]
    Contract(#[from] ContractError),
}

impl From<ContractCallError> for crate::error::ServiceError {
    fn from(e: ContractCallError) -> Self {
        use crate::error::ServiceError;
        match e {
            ContractCallError::UnknownContract { .. } | ContractCallError::UnknownEntry { .. } => {
                ServiceError::NotFound(e.to_string())
            }
            ContractCallError::Input(e) => ServiceError::BadParam {
                name: "input",
                detail: e.to_string(),
            },
            ContractCallError::Contract(e) => ServiceError::Contract(e),
        }
    }
}

fn names(list: &[EntryPoint]) -> String {
    if list.is_empty() {
        return "none".into();
    }
    list.iter()
        .map(|e| format!("{} ({})", e.name, e.number))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The contract a user names (name, index or identity).
pub fn find<'r>(
    registry: &'r Registry,
    key: &str,
) -> Result<&'r std::sync::Arc<dyn Contract>, ContractCallError> {
    registry
        .find(key)
        .ok_or_else(|| ContractCallError::UnknownContract {
            key: key.to_string(),
            known: registry
                .ascending()
                .map(|c| format!("{} ({})", c.name(), c.index().0))
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// Encodes a procedure call given as JSON: the destination, input type and input bytes of
/// the transaction that makes it.
pub fn encode_call(
    registry: &Registry,
    contract: &str,
    req: &EncodeCallRequest,
) -> Result<EncodeCallResponse, ContractCallError> {
    let c = find(registry, contract)?;
    let meta = c.meta();
    let entry = meta
        .procedure(&req.procedure)
        .ok_or_else(|| ContractCallError::UnknownEntry {
            contract: c.name().to_string(),
            kind: "procedure",
            key: req.procedure.clone(),
            known: names(meta.procedures),
        })?;
    let bytes = (entry.input_from_json)(&req.input).map_err(ContractCallError::Input)?;
    Ok(EncodeCallResponse {
        contract_index: c.index().0,
        destination: Identity::contract(c.index()).to_string(),
        input_type: entry.number,
        procedure: entry.name.to_string(),
        input: base64::engine::general_purpose::STANDARD.encode(bytes),
    })
}

/// Runs a function given as JSON against the current state and renders its output.
pub fn query_json(
    ledger: &Ledger,
    contract: &str,
    req: &ContractQueryRequest,
) -> Result<ContractQueryResponse, ContractCallError> {
    let c = find(ledger.registry(), contract)?;
    let meta = c.meta();
    let entry = meta
        .function(&req.function)
        .ok_or_else(|| ContractCallError::UnknownEntry {
            contract: c.name().to_string(),
            kind: "function",
            key: req.function.clone(),
            known: names(meta.functions),
        })?;
    let input = (entry.input_from_json)(&req.input).map_err(ContractCallError::Input)?;
    let out = ledger.query_raw(c.index(), entry.number, &input)?;
    let output = (entry.output_to_json)(&out)
        .map_err(|e| ContractCallError::Contract(ContractError::BadInput(e.to_string())))?;
    Ok(ContractQueryResponse {
        contract: c.name().to_string(),
        function: entry.name.to_string(),
        tick: ledger.next_tick().0,
        output,
    })
}

/// A transaction's procedure by name and its output as JSON, when its destination is a
/// contract that describes that procedure.
pub fn describe_call(
    registry: &Registry,
    destination: &Identity,
    input_type: u16,
    output: &[u8],
) -> Option<(String, Option<Value>)> {
    let c = registry.get(destination.contract_index()?)?;
    let entry = c.meta().procedure_number(input_type)?;
    Some((entry.name.to_string(), (entry.output_to_json)(output).ok()))
}

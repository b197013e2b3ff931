//! Calls and queries by name with JSON inputs ([`crate::contracts`]).
//!
//! | route | what |
//! |---|---|
//! | `POST /v1/contracts/{contract}/encode` | `{"procedure", "input"}` → the transaction's destination, input type and base64 input |
//! | `POST /v1/contracts/{contract}/query` | `{"function", "input"}` → the function's output as JSON |

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;

use crate::contracts::{self, ContractCallError};
use crate::error::ApiError;
use crate::wire::{
    ContractQueryRequest, ContractQueryResponse, EncodeCallRequest, EncodeCallResponse,
};
use crate::Shared;

impl From<ContractCallError> for ApiError {
    fn from(e: ContractCallError) -> Self {
        match e {
            ContractCallError::UnknownContract { .. } | ContractCallError::UnknownEntry { .. } => {
                ApiError::NotFound(e.to_string())
            }
            ContractCallError::Input(e) => ApiError::BadParam {
                name: "input",
                detail: e.to_string(),
            },
            ContractCallError::Contract(e) => ApiError::Contract(e),
        }
    }
}

/// `POST /v1/contracts/{contract}/encode`.
pub async fn encode(
    State(s): State<Arc<Shared>>,
    Path(contract): Path<String>,
    body: super::JsonBody<EncodeCallRequest>,
) -> Result<Json<EncodeCallResponse>, ApiError> {
    let chain = s.chain()?;
    Ok(Json(contracts::encode_call(
        chain.ledger().registry(),
        &contract,
        &body.0,
    )?))
}

/// `POST /v1/contracts/{contract}/query`.
pub async fn query(
    State(s): State<Arc<Shared>>,
    Path(contract): Path<String>,
    body: super::JsonBody<ContractQueryRequest>,
) -> Result<Json<ContractQueryResponse>, ApiError> {
    let chain = s.chain()?;
    Ok(Json(contracts::query_json(
        chain.ledger(),
        &contract,
        &body.0,
    )?))
}

//! Calls and queries of any contract by name with JSON inputs ([`crate::contracts`]).
//!
//! | route | what |
//! |---|---|
//! | `POST /v1/contracts/{contract}/encode` | `{"procedure", "input"}` → the transaction's destination, input type and base64 input |
//! | `POST /v1/contracts/{contract}/query` | `{"function", "input"}` → the function's output as JSON |

use std::sync::Arc;

use axum::extract::State;
use axum::routing::post;
use axum::Json;

use super::{AreaRouter, JsonBody, PathParam};
use crate::error::ServiceError;
use crate::wire::{
    routes, ContractQueryRequest, ContractQueryResponse, EncodeCallRequest, EncodeCallResponse,
};
use crate::NodeState;

/// The area's routes.
pub fn router() -> AreaRouter {
    AreaRouter::new()
        .route(routes::CONTRACT_ENCODE, post(encode))
        .route(routes::CONTRACT_QUERY, post(query))
}

/// `POST /v1/contracts/{contract}/encode`.
async fn encode(
    State(s): State<Arc<NodeState>>,
    PathParam(contract): PathParam<String>,
    JsonBody(req): JsonBody<EncodeCallRequest>,
) -> Result<Json<EncodeCallResponse>, ServiceError> {
    Ok(Json(s.chain.encode_call(&contract, &req)?))
}

/// `POST /v1/contracts/{contract}/query`.
async fn query(
    State(s): State<Arc<NodeState>>,
    PathParam(contract): PathParam<String>,
    JsonBody(req): JsonBody<ContractQueryRequest>,
) -> Result<Json<ContractQueryResponse>, ServiceError> {
    Ok(Json(s.chain.query_json(&contract, &req)?))
}

//! Verified node names (spec/names.md §2, §4): the name proof this node
//! serves at `/.well-known/accord/node`, and what it knows of nodes' names.

use super::ApiError;
use crate::core::Core;
use crate::core::names;
use crate::http::reply::Reply;
use accord_api::ErrorCode;
use accord_api::names::NodeNameStatus;
use accord_proto::NodeId;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// `GET /.well-known/accord/node`: this node's name proof, signed now
/// (`404 not_found` when `node.name` is not a DNS name).
pub async fn well_known(State(state): State<Arc<Core>>) -> Result<Response, ApiError> {
    let addrs = state.network.listen_addrs().iter().map(|a| format!("{a}/p2p/{}", state.node_id())).collect();
    let proof = names::own_proof(&state, addrs).map_err(|e| match e {
        names::OwnProofError::NotDns(_) => ApiError::new(ErrorCode::NotFound, e.to_string()),
        names::OwnProofError::Sign(_) => ApiError::internal(e),
    })?;
    let body = serde_json::to_vec(proof.raw()).map_err(ApiError::internal)?;
    Ok(([(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "max-age=3600")], body).into_response())
}

/// `GET /v1/nodes/{node}/name`: the name the node claims and whether it
/// verified, checked now if the last check is due (`404 not_found` when it
/// claims none).
pub async fn node_name(
    State(state): State<Arc<Core>>,
    Path(node): Path<String>,
) -> Result<Reply<NodeNameStatus>, ApiError> {
    let node: NodeId = node.parse().map_err(|e| ApiError::bad_request(format!("node: {e}")))?;
    names::current(&state, &node)
        .await
        .map(Reply)
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "this node knows no name claimed by that node"))
}

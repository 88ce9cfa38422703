//! The operator's firewall of federation peers (spec/federation.md §9):
//! `/admin/peers/block` refuses and drops every connection to a node until
//! `/admin/peers/unblock`. Behind the same loopback-and-token guard as the
//! rest of `/admin`.

use crate::core::Core;
use crate::http::ApiError;
use crate::http::extract::Json;
use crate::http::reply::Reply;
use crate::network;
use accord_api::admin::{PeerRequest, PeersResponse};
use accord_proto::NodeId;
use axum::extract::State;
use std::sync::Arc;

/// `POST /admin/peers/block`: refuse and drop connections to a node.
pub async fn block(
    State(state): State<Arc<Core>>,
    Json(req): Json<PeerRequest>,
) -> Result<Reply<PeersResponse>, ApiError> {
    state.store.put_operator_block(&req.node).await?;
    state.network.block(network::peer_id(&req.node)).await.map_err(ApiError::internal)?;
    tracing::warn!("the operator blocked node {}", req.node);
    blocked(State(state)).await
}

/// `POST /admin/peers/unblock`: accept a node again and dial it.
pub async fn unblock(
    State(state): State<Arc<Core>>,
    Json(req): Json<PeerRequest>,
) -> Result<Reply<PeersResponse>, ApiError> {
    state.store.delete_operator_block(&req.node).await?;
    state.network.unblock(network::peer_id(&req.node)).await.map_err(ApiError::internal)?;
    tracing::warn!("the operator unblocked node {}", req.node);
    blocked(State(state)).await
}

/// `GET /admin/peers`: the nodes connected and the nodes the operator
/// blocked.
pub async fn blocked(State(state): State<Arc<Core>>) -> Result<Reply<PeersResponse>, ApiError> {
    let mut blocked: Vec<NodeId> =
        state.network.blocked().await.map_err(ApiError::internal)?.iter().filter_map(network::node_id).collect();
    blocked.sort();
    let mut connected: Vec<NodeId> = state.network.peers().iter().filter_map(network::node_id).collect();
    connected.sort();
    Ok(Reply(PeersResponse { connected, blocked }))
}

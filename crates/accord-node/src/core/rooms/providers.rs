//! Rooms in the DHT (spec/federation.md §1.4): a node announces itself as
//! a Kademlia provider of each public room it hosts, under a key derived
//! from the room id, and a node asked to join a room it does not hold,
//! given no node to ask, looks the room's providers up and joins through
//! one of them. Invite-only rooms are never announced: their invitees'
//! nodes learn where the room is from the invitation.

use crate::core::Core;
use crate::network;
use accord_proto::event::JoinRule;
use accord_proto::federation::room_provider_key;
use accord_proto::{NodeId, RoomId};
use std::sync::Arc;
use std::time::Duration;

/// How long a lookup of a room's providers may take.
pub const LOOKUP_TIMEOUT: Duration = Duration::from_secs(10);
/// Most providers a join asks, in turn (as many as a join's `via` names).
pub const MAX_PROVIDERS_ASKED: usize = super::append::MAX_VIA;

/// Whether this node announces `room`: a public room it hosts (one of its
/// accounts is a member or a pending invitee).
async fn announced(state: &Core, room: &RoomId) -> bool {
    let Some(handle) = state.rooms.get(room) else { return false };
    let rt = handle.lock().await;
    rt.state.join_rule() == JoinRule::Public && rt.hosts().contains(&state.node_id)
}

/// Announces `room` in the DHT if this node should (see [`announced`]),
/// or stops announcing it if it should not any more.
pub(crate) async fn announce(state: &Core, room: RoomId) {
    let key = room_provider_key(&room).0;
    if announced(state, &room).await {
        state.network.provide(&key).await;
    } else {
        state.network.stop_providing(&key).await;
    }
}

/// Announces every room held that this node should, at start.
pub(crate) fn announce_all(state: &Arc<Core>) {
    let state = state.clone();
    state.tasks.clone().spawn(async move {
        for room in state.rooms.ids() {
            announce(&state, room).await;
        }
    });
}

/// Why no node to join a room through was found.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    /// No node announces the room, or the lookup did not end in time.
    #[error("no node announces room {0} in the DHT")]
    NoProvider(RoomId),
    /// The network has stopped.
    #[error(transparent)]
    Network(#[from] network::NetworkError),
}

impl LookupError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            LookupError::NoProvider(_) => "no_provider",
            LookupError::Network(_) => "internal",
        }
    }
}

/// The nodes that announce `room` in the DHT, looked up for at most
/// [`LOOKUP_TIMEOUT`]; refused `no_provider` when there is none.
pub(crate) async fn find(state: &Core, room: &RoomId) -> Result<Vec<NodeId>, LookupError> {
    let key = room_provider_key(room).0;
    let found = match tokio::time::timeout(LOOKUP_TIMEOUT, state.network.find_providers(&key)).await {
        Ok(found) => found?,
        Err(_) => Vec::new(),
    };
    let nodes: Vec<NodeId> =
        found.iter().filter_map(network::node_id).filter(|n| *n != state.node_id).take(MAX_PROVIDERS_ASKED).collect();
    if nodes.is_empty() {
        return Err(LookupError::NoProvider(*room));
    }
    tracing::debug!("room {room}: providers {nodes:?}");
    Ok(nodes)
}

//! Sending events (spec/client-api.md §4).

use accord_proto::event::UnverifiedEvent;
use accord_proto::{EventId, RoomId, SignedBytes};
use serde::{Deserialize, Serialize};

crate::endpoint! {
    /// `POST /v1/events` (spec/client-api.md §4).
    SendEvent = Post "/v1/events", Session, SendEventRequest => SendEventResponse
}

/// `POST /v1/events` body (spec/client-api.md §4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendEventRequest {
    /// The `EventBody`, signed by the session's account.
    pub event: SignedBytes,
    /// Nodes that hold the room, for an event (a join) in a room the node
    /// does not hold yet: node ids, or p2p addresses ending in
    /// `/p2p/NODE_ID` (at most 8).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub via: Vec<String>,
}

/// `POST /v1/events` answer (spec/client-api.md §4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendEventResponse {
    /// The event's id.
    pub event_id: EventId,
    /// Its room (for `create`, the new room's id).
    pub room: RoomId,
    /// Its position in the node's timeline of the room.
    pub cursor: u64,
    /// The event as stored: the author's envelope and the node's stamp.
    pub event: UnverifiedEvent,
}

//! The JSON bodies of the client API (`spec/client-api.md`), apart
//! from the code that sends them. Responses accept unknown fields so that a
//! newer node stays readable; everything signed stays in its signed form
//! ([`Unverified`], [`UnverifiedEvent`]) until verified.

use accord_proto::event::{JoinRule, Role, UnverifiedEvent};
use accord_proto::identity::{Attestation, IdentityDocument, NodeName};
use accord_proto::{AccountId, EventId, NodeId, RoomId, Sha256Hash, SignedBytes, Unverified};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A node's registration policy (client API §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RegistrationPolicy {
    /// Anyone may register.
    Open,
    /// Registration needs a one-use invite code from the operator.
    Invite,
    /// Nobody may register.
    Closed,
}

/// What a node says about itself: `GET /v1/node` (client API §3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NodeInfo {
    /// The node's id (its key).
    pub node: NodeId,
    /// The node's name: the part after `@` in its users' handles.
    pub name: NodeName,
    /// The node software's version.
    pub version: String,
    /// Who may register.
    pub registration: RegistrationPolicy,
}

/// One of the rooms the account is a member of: `GET /v1/rooms` (client
/// API §4). As reported by the node; not verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RoomSummary {
    /// The room.
    pub room: RoomId,
    /// Its display name.
    pub name: String,
    /// The account's role in it.
    pub role: Role,
    /// How many members it has.
    pub members: u64,
}

/// A room's current state: `GET /v1/rooms/{room}` (client API §4).
///
/// This is the node's view, as the node reports it: the SDK does not
/// recompute it from the room's events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RoomStateView {
    /// The room.
    pub room: RoomId,
    /// Its display name.
    pub name: String,
    /// Who may join.
    pub join_rule: JoinRule,
    /// The account that created it.
    pub creator: AccountId,
    /// Current members.
    pub members: Vec<AccountId>,
    /// Roles above member.
    #[serde(default)]
    pub roles: BTreeMap<AccountId, Role>,
    /// Banned accounts.
    #[serde(default)]
    pub bans: Vec<AccountId>,
    /// Pending invites.
    #[serde(default)]
    pub invites: Vec<AccountId>,
    /// The history hash over the accepted events in the room's order.
    pub history_hash: Sha256Hash,
    /// How many events were accepted.
    pub accepted: u64,
    /// The greatest cursor of the room on this node.
    pub latest_cursor: u64,
}

/// Error body of every failed request (client API §1).
#[derive(Debug, Deserialize)]
pub(crate) struct ErrorBody {
    pub(crate) error: ErrorDetail,
}

/// The `error` object.
#[derive(Debug, Deserialize)]
pub(crate) struct ErrorDetail {
    pub(crate) code: String,
    #[serde(default)]
    pub(crate) message: String,
    #[serde(default)]
    pub(crate) retry_after_ms: Option<u64>,
}

#[derive(Debug, Serialize)]
pub(crate) struct ChallengeRequest<'a> {
    pub(crate) account: &'a AccountId,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ChallengeResponse {
    pub(crate) challenge: String,
    pub(crate) node: NodeId,
}

#[derive(Debug, Serialize)]
pub(crate) struct LoginRequest<'a> {
    pub(crate) response: &'a SignedBytes,
}

#[derive(Debug, Deserialize)]
pub(crate) struct LoginResponse {
    pub(crate) token: String,
    pub(crate) account: AccountId,
    pub(crate) expires: u64,
}

#[derive(Debug, Serialize)]
pub(crate) struct RegisterRequest<'a> {
    pub(crate) identity: &'a SignedBytes,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) invite: Option<&'a str>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RegisterResponse {
    pub(crate) attestation: Unverified<Attestation>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct IdentityResponse {
    pub(crate) identity: Unverified<IdentityDocument>,
    pub(crate) attestation: Unverified<Attestation>,
}

#[derive(Debug, Serialize)]
pub(crate) struct SendEventRequest<'a> {
    pub(crate) event: &'a SignedBytes,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub(crate) via: &'a [String],
}

#[derive(Debug, Deserialize)]
pub(crate) struct SendEventResponse {
    pub(crate) event_id: EventId,
    pub(crate) room: RoomId,
    pub(crate) cursor: u64,
    pub(crate) event: UnverifiedEvent,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RoomsResponse {
    pub(crate) rooms: Vec<RoomSummary>,
}

/// `TIMELINE_ITEM` before verification (client API §5).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct RawTimelineItem {
    pub(crate) cursor: u64,
    pub(crate) event: UnverifiedEvent,
    #[serde(default)]
    pub(crate) accepted: bool,
    #[serde(default)]
    pub(crate) redacted: bool,
}

#[derive(Debug, Deserialize)]
pub(crate) struct HistoryResponse {
    pub(crate) events: Vec<RawTimelineItem>,
    #[serde(default)]
    pub(crate) more: bool,
}

/// Client → node frames on `/v1/stream` (client API §6).
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum ClientFrame {
    Subscribe { room: RoomId, after: u64 },
}

/// Node → client frames on `/v1/stream` (client API §6). Frame types this
/// SDK does not know are read as [`ServerFrame::Unknown`] and skipped.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum ServerFrame {
    Event {
        room: RoomId,
        item: Box<RawTimelineItem>,
    },
    Lagged {
        room: RoomId,
        resume_from: u64,
    },
    Error {
        error: ErrorDetail,
    },
    #[serde(other)]
    Unknown,
}

#[cfg(test)]
mod tests {
    use super::*;
    use accord_proto::SecretKey;

    #[test]
    fn subscribe_frame_shape() {
        let room = RoomId::from_bytes([3; 32]);
        let json = serde_json::to_value(ClientFrame::Subscribe { room, after: 7 }).expect("encode");
        assert_eq!(json, serde_json::json!({"type": "subscribe", "room": room.to_string(), "after": 7}));
    }

    #[test]
    fn server_frames_decode() {
        let room = RoomId::from_bytes([3; 32]);
        let lagged: ServerFrame =
            serde_json::from_str(&format!(r#"{{"type":"lagged","room":"{room}","resume_from":41}}"#)).expect("lagged");
        assert!(matches!(lagged, ServerFrame::Lagged { resume_from: 41, .. }));

        let error: ServerFrame =
            serde_json::from_str(r#"{"type":"error","error":{"code":"not_member","message":"no"}}"#).expect("error");
        match error {
            ServerFrame::Error { error } => {
                assert_eq!(error.code, "not_member");
                assert_eq!(error.retry_after_ms, None);
            }
            other => panic!("unexpected {other:?}"),
        }

        let unknown: ServerFrame = serde_json::from_str(r#"{"type":"typing","room":"x"}"#).expect("unknown");
        assert!(matches!(unknown, ServerFrame::Unknown));
    }

    #[test]
    fn room_state_decodes_the_documented_example() {
        let owner = SecretKey::from_seed([1; 32]).account_id();
        let room = RoomId::from_bytes([9; 32]);
        let json = format!(
            r#"{{"room": "{room}", "name": "general", "join_rule": "public", "creator": "{owner}",
                "members": ["{owner}"], "roles": {{"{owner}": "owner"}}, "bans": [], "invites": [],
                "history_hash": "{hash}", "accepted": 12, "latest_cursor": 12}}"#,
            hash = "ab".repeat(32)
        );
        let state: RoomStateView = serde_json::from_str(&json).expect("decode");
        assert_eq!(state.room, room);
        assert_eq!(state.join_rule, JoinRule::Public);
        assert_eq!(state.roles.get(&owner), Some(&Role::Owner));
        assert_eq!(state.members, vec![owner]);
        assert_eq!(state.latest_cursor, 12);
    }

    #[test]
    fn node_info_and_rooms_decode() {
        let node = NodeId::from(SecretKey::from_seed([2; 32]).public());
        let info: NodeInfo = serde_json::from_str(&format!(
            r#"{{"node":"{node}","name":"example.org","version":"0.1.0","registration":"invite","extra":1}}"#
        ))
        .expect("node info");
        assert_eq!(info.node, node);
        assert_eq!(info.name.as_str(), "example.org");
        assert_eq!(info.registration, RegistrationPolicy::Invite);

        let room = RoomId::from_bytes([5; 32]);
        let rooms: RoomsResponse = serde_json::from_str(&format!(
            r#"{{"rooms":[{{"room":"{room}","name":"general","role":"moderator","members":3}}]}}"#
        ))
        .expect("rooms");
        assert_eq!(rooms.rooms[0].role, Role::Moderator);
        assert_eq!(rooms.rooms[0].members, 3);
    }
}

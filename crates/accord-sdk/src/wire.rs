//! The JSON bodies of the client API (`spec/client-api.md`), apart
//! from the code that sends them. Responses accept unknown fields so that a
//! newer node stays readable; everything signed stays in its signed form
//! ([`Unverified`], [`UnverifiedEvent`]) until verified.

use crate::provenance::Provenance;
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
    /// For `blocked`: the blocklist entry behind the refusal. One that does
    /// not parse is dropped, so that the code and message stay readable.
    #[serde(default, deserialize_with = "lenient_provenance")]
    pub(crate) provenance: Option<Box<Provenance>>,
}

fn lenient_provenance<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Box<Provenance>>, D::Error> {
    let value = Option::<serde_json::Value>::deserialize(d)?;
    Ok(value.and_then(|v| match serde_json::from_value(v) {
        Ok(provenance) => Some(Box::new(provenance)),
        Err(err) => {
            tracing::debug!(error = %err, "ignoring an error provenance that does not parse");
            None
        }
    }))
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
    /// The trust signals (spec/reports.md §13), kept as JSON: one that does
    /// not parse is dropped, not the identity.
    #[serde(default)]
    pub(crate) trust: Option<serde_json::Value>,
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

#[derive(Debug, Serialize)]
pub(crate) struct ReportRequest<'a> {
    pub(crate) report: &'a SignedBytes,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ReportsResponse {
    pub(crate) reports: Vec<crate::report::ReportStatus>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct CasesResponse {
    pub(crate) cases: Vec<crate::moderation::CaseSummary>,
}

/// `GET /v1/mod/cases/{case}` before verification.
#[derive(Debug, Deserialize)]
pub(crate) struct CaseResponse {
    pub(crate) case: crate::moderation::CaseSummary,
    #[serde(default)]
    pub(crate) reports: Vec<RawCaseReport>,
    #[serde(default)]
    pub(crate) evidence: Vec<UnverifiedEvent>,
    #[serde(default)]
    pub(crate) context: Vec<UnverifiedEvent>,
}

/// One report of a case, before verification.
#[derive(Debug, Deserialize)]
pub(crate) struct RawCaseReport {
    pub(crate) id: Sha256Hash,
    pub(crate) from: crate::moderation::ReportSource,
    pub(crate) report: Unverified<accord_proto::report::ReportBody>,
}

#[derive(Debug, Serialize)]
pub(crate) struct ModActionRequest<'a> {
    pub(crate) action: &'a SignedBytes,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ModActionResponse {
    pub(crate) index: u64,
    #[serde(default)]
    pub(crate) entries: Vec<crate::moderation::WrittenEntry>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RoomsResponse {
    pub(crate) rooms: Vec<RoomSummary>,
}

/// `TIMELINE_ITEM` before verification (client API §5): a visible item
/// with its event, or a hidden one with the blocklist entry that hides it.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "TimelineItemFields")]
pub(crate) struct RawTimelineItem {
    pub(crate) cursor: u64,
    pub(crate) body: RawItemBody,
    pub(crate) accepted: bool,
    pub(crate) redacted: bool,
}

/// What a [`RawTimelineItem`] holds at its cursor.
#[derive(Debug, Clone)]
pub(crate) enum RawItemBody {
    /// A visible item: the event, not yet verified.
    Event(Box<UnverifiedEvent>),
    /// A hidden item: no event, the blocklist entry instead.
    Hidden(Box<Provenance>),
}

/// The fields of `TIMELINE_ITEM` as they come. An item with `hidden` is
/// hidden whether or not it also carries an event (the node asks for it
/// not to be shown); an item with neither does not parse.
#[derive(Deserialize)]
struct TimelineItemFields {
    cursor: u64,
    #[serde(default)]
    event: Option<UnverifiedEvent>,
    #[serde(default)]
    hidden: Option<Provenance>,
    #[serde(default)]
    accepted: bool,
    #[serde(default)]
    redacted: bool,
}

impl TryFrom<TimelineItemFields> for RawTimelineItem {
    type Error = String;

    fn try_from(fields: TimelineItemFields) -> Result<Self, Self::Error> {
        let TimelineItemFields { cursor, event, hidden, accepted, redacted } = fields;
        let body = match (hidden, event) {
            (Some(provenance), _) => RawItemBody::Hidden(Box::new(provenance)),
            (None, Some(event)) => RawItemBody::Event(Box::new(event)),
            (None, None) => return Err(format!("timeline item at cursor {cursor} has neither `event` nor `hidden`")),
        };
        Ok(Self { cursor, body, accepted, redacted })
    }
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
    fn timeline_items_are_visible_or_hidden() {
        let list = crate::provenance::tests::list();
        let hidden = serde_json::json!({"list": list, "entry": 3, "category": "spam", "action": "reject"});
        let item: RawTimelineItem = serde_json::from_value(
            serde_json::json!({"cursor": 7, "accepted": true, "redacted": false, "hidden": hidden}),
        )
        .expect("hidden item");
        assert_eq!(item.cursor, 7);
        match item.body {
            RawItemBody::Hidden(p) => {
                assert_eq!(p.list, list);
                assert_eq!(p.entry, 3);
            }
            RawItemBody::Event(_) => panic!("expected a hidden item"),
        }

        let err = serde_json::from_value::<RawTimelineItem>(serde_json::json!({"cursor": 7, "accepted": true}))
            .expect_err("neither event nor hidden");
        assert!(err.to_string().contains("neither"), "{err}");

        let room = RoomId::from_bytes([3; 32]);
        let frame = serde_json::json!({
            "type": "event", "room": room,
            "item": {"cursor": 8, "accepted": true, "redacted": false, "hidden": hidden},
        });
        match serde_json::from_value::<ServerFrame>(frame).expect("frame") {
            ServerFrame::Event { item, .. } => assert!(matches!(item.body, RawItemBody::Hidden(_))),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn error_frames_carry_the_provenance() {
        let list = crate::provenance::tests::list();
        let frame = serde_json::json!({
            "type": "error",
            "error": {"code": "blocked", "message": "the room is blocked",
                      "provenance": {"list": list, "entry": 1, "category": "violence", "action": "reject"}},
        });
        match serde_json::from_value::<ServerFrame>(frame).expect("frame") {
            ServerFrame::Error { error } => {
                assert_eq!(error.code, "blocked");
                assert_eq!(error.provenance.expect("provenance").entry, 1);
            }
            other => panic!("unexpected {other:?}"),
        }
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

//! Rooms and their history (spec/client-api.md §4, §5).

use crate::provenance::Provenance;
use accord_proto::event::{JoinRule, Role, UnverifiedEvent};
use accord_proto::{AccountId, RoomId, Sha256Hash};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize, Serializer};
use std::collections::BTreeMap;

crate::endpoint! {
    /// `GET /v1/rooms`: the rooms the session's account is a member of
    /// (spec/client-api.md §4).
    ListRooms = Get "/v1/rooms", Session, () => RoomsResponse
}

crate::endpoint! {
    /// `GET /v1/rooms/{room}`: a room's state (spec/client-api.md §4).
    GetRoom = Get "/v1/rooms/{room}", Session, () => RoomState
}

crate::endpoint! {
    /// `GET /v1/rooms/{room}/join`: where a join through other nodes
    /// stands (spec/client-api.md §4.1).
    GetJoin = Get "/v1/rooms/{room}/join", Session, () => JoinStatus
}

crate::endpoint! {
    /// `GET /v1/rooms/{room}/events`: a page of history (spec/client-api.md §5).
    History = Get "/v1/rooms/{room}/events", Session, HistoryQuery => HistoryResponse
}

/// `GET /v1/rooms` answer (spec/client-api.md §4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomsResponse {
    /// The rooms.
    pub rooms: Vec<RoomSummary>,
}

/// One room of `GET /v1/rooms` (spec/client-api.md §4), as the node
/// reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

/// `ROOM_STATE`, the answer of `GET /v1/rooms/{room}` (spec/client-api.md
/// §4): the node's view of the room, as the node reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomState {
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

/// Where a join through other nodes stands (spec/client-api.md §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum JoinState {
    /// The node is fetching the room's history from other nodes; the
    /// event that asked for the join is sent once it holds the room.
    Fetching,
    /// The node holds the room: the join's fetch is over.
    Held,
    /// The fetch failed: no node named let the account join; `error`
    /// says why.
    Failed,
    /// A state this crate does not know (from a newer node).
    #[serde(other)]
    Unknown,
}

/// `JOIN_STATUS`, the answer of `GET /v1/rooms/{room}/join` and the `join`
/// of a `join_in_progress` error (spec/client-api.md §4.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinStatus {
    /// The room.
    pub room: RoomId,
    /// Where the join stands.
    pub state: JoinState,
    /// Events fetched, checked and stored so far by the join's fetch.
    #[serde(default)]
    pub events_fetched: u64,
    /// Pages of events received so far.
    #[serde(default)]
    pub pages: u64,
    /// Events waiting for the fetch, each sent once the room is held
    /// (the joins of this node's accounts asked meanwhile).
    #[serde(default)]
    pub waiting: u64,
    /// Milliseconds since the fetch started (its whole length once over).
    #[serde(default)]
    pub elapsed_ms: u64,
    /// Whether the session's account is a member of the room here.
    #[serde(default)]
    pub member: bool,
    /// For `failed`: the code and message the join was refused with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Box<crate::ErrorDetail>>,
}

/// `GET /v1/rooms/{room}/events` query (spec/client-api.md §5): `after`
/// pages forward, `before` backward, not both; `limit` 1–500, default 100.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    /// Items with a cursor greater than this, ascending (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<u64>,
    /// Items with a cursor smaller than this, descending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<u64>,
    /// How many items at most.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}

/// `GET /v1/rooms/{room}/events` answer (spec/client-api.md §5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryResponse {
    /// The items, in the query's order.
    pub events: Vec<TimelineItem>,
    /// Whether there are more items in that direction.
    #[serde(default)]
    pub more: bool,
}

/// `TIMELINE_ITEM` (spec/client-api.md §5): one cursor of a room's
/// timeline, with its event or, when a blocklist entry hides it, the
/// entry's provenance.
///
/// On the wire: `{"cursor", "event"?, "accepted", "redacted", "hidden"?}`.
/// An item with `hidden` is hidden whether or not it also carries an
/// `event`; an item with neither does not parse.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "ItemFields")]
pub struct TimelineItem {
    /// Position in the node's timeline of the room.
    pub cursor: u64,
    /// The event, or why it is hidden.
    pub content: ItemContent,
    /// The room rules' verdict at the event's place in the room's order.
    pub accepted: bool,
    /// Whether a redaction hides the event's content.
    pub redacted: bool,
}

/// What a [`TimelineItem`] holds at its cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemContent {
    /// A visible item: the event, both envelopes, not yet verified.
    Event(Box<UnverifiedEvent>),
    /// A hidden item: no event, the blocklist entry that hides it.
    Hidden(Box<Provenance>),
}

impl TimelineItem {
    /// The event, for a visible item.
    pub fn event(&self) -> Option<&UnverifiedEvent> {
        match &self.content {
            ItemContent::Event(event) => Some(event),
            ItemContent::Hidden(_) => None,
        }
    }

    /// Why the item is hidden, for a hidden one.
    pub fn hidden(&self) -> Option<&Provenance> {
        match &self.content {
            ItemContent::Event(_) => None,
            ItemContent::Hidden(provenance) => Some(provenance),
        }
    }
}

impl Serialize for TimelineItem {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut item = s.serialize_struct("TimelineItem", 4)?;
        item.serialize_field("cursor", &self.cursor)?;
        match &self.content {
            ItemContent::Event(event) => item.serialize_field("event", event)?,
            ItemContent::Hidden(_) => item.skip_field("event")?,
        }
        item.serialize_field("accepted", &self.accepted)?;
        item.serialize_field("redacted", &self.redacted)?;
        match &self.content {
            ItemContent::Event(_) => item.skip_field("hidden")?,
            ItemContent::Hidden(provenance) => item.serialize_field("hidden", provenance)?,
        }
        item.end()
    }
}

/// The fields of `TIMELINE_ITEM` as they come.
#[derive(Deserialize)]
struct ItemFields {
    cursor: u64,
    #[serde(default)]
    event: Option<UnverifiedEvent>,
    #[serde(default)]
    accepted: bool,
    #[serde(default)]
    redacted: bool,
    #[serde(default)]
    hidden: Option<Provenance>,
}

impl TryFrom<ItemFields> for TimelineItem {
    type Error = String;

    fn try_from(fields: ItemFields) -> Result<Self, Self::Error> {
        let ItemFields { cursor, event, accepted, redacted, hidden } = fields;
        let content = match (hidden, event) {
            (Some(provenance), _) => ItemContent::Hidden(Box::new(provenance)),
            (None, Some(event)) => ItemContent::Event(Box::new(event)),
            (None, None) => return Err(format!("timeline item at cursor {cursor} has neither `event` nor `hidden`")),
        };
        Ok(TimelineItem { cursor, content, accepted, redacted })
    }
}

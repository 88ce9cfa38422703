//! A room's timeline as the SDK hands it out: verified items, items the
//! node hides because of a blocklist entry (with their [`Provenance`]),
//! the receipt of a sent event, and which part of the history to read
//! (client API §1.2, §4, §5). Types only: below the client and the rooms
//! that produce them.

use crate::error::{Result, SdkError};
use accord_api::Provenance;
use accord_proto::event::{Event, EventContent};
use accord_proto::{AccountId, EventId, RoomId, Timestamp};

/// A timeline item the node hides because of a blocklist entry: the cursor
/// exists, its event is not served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HiddenItem {
    /// Position in the node's timeline of the room: hidden items take up
    /// cursors like visible ones.
    pub cursor: u64,
    /// Why the item is hidden.
    pub provenance: Provenance,
}

/// One cursor of a room's live timeline, as [`Subscription::next_entry`]
/// yields it: a verified item, or a hidden one.
///
/// [`Subscription::next_entry`]: crate::Subscription::next_entry
#[derive(Debug, Clone)]
#[non_exhaustive]
// An item holds its event (about 1.4 KiB) inline, as everywhere else in
// this API (`Result<TimelineItem>`); entries are handed out one at a time.
#[allow(clippy::large_enum_variant)]
pub enum TimelineEntry {
    /// A visible item, verified.
    Item(TimelineItem),
    /// An item the node hides.
    Hidden(HiddenItem),
}

impl TimelineEntry {
    /// The entry's cursor.
    pub fn cursor(&self) -> u64 {
        match self {
            TimelineEntry::Item(item) => item.cursor,
            TimelineEntry::Hidden(hidden) => hidden.cursor,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use accord_proto::{IssuerId, ListId, ListName, SecretKey};

    pub(crate) fn list() -> ListId {
        let issuer = IssuerId::from(SecretKey::from_seed([7; 32]).public());
        ListId { issuer, name: "spam".parse::<ListName>().expect("name") }
    }
}

/// An event of a room's timeline on this node, verified.
///
/// `cursor` is the event's position in the node's timeline of the room
/// (client API §5); `accepted` and `redacted` are the node's verdicts.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TimelineItem {
    /// Position in the node's timeline of the room, from 1, without gaps.
    pub cursor: u64,
    /// The event: both signatures verified, origin checked against the
    /// author's home node.
    pub event: Event,
    /// Whether the room rules accepted the event at its place in the room's order.
    pub accepted: bool,
    /// Whether the event was redacted.
    pub redacted: bool,
}

impl TimelineItem {
    /// The event id.
    pub fn id(&self) -> EventId {
        self.event.id()
    }

    /// The author.
    pub fn author(&self) -> AccountId {
        self.event.author()
    }

    /// When the author made the event (the author's clock).
    pub fn ts(&self) -> Timestamp {
        self.event.body().ts
    }

    /// What the event does.
    pub fn content(&self) -> &EventContent {
        self.event.content()
    }

    /// The text of a message that is neither redacted nor refused by the
    /// room rules; `None` otherwise (the signed content stays available
    /// through [`content`](Self::content)).
    pub fn text(&self) -> Option<&str> {
        match self.event.content() {
            EventContent::Message { text, .. } if self.accepted && !self.redacted => Some(text.as_str()),
            _ => None,
        }
    }

    /// For a reply, the message it answers.
    pub fn reply_to(&self) -> Option<EventId> {
        match self.event.content() {
            EventContent::Message { reply_to, .. } => *reply_to,
            _ => None,
        }
    }
}

/// The largest page of history the node serves (client API §5).
pub(crate) const MAX_HISTORY_LIMIT: u32 = 500;

/// What the node answered for a sent event, verified: the node stored
/// exactly the signed bytes, stamped as the account's home node.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SendReceipt {
    /// The event's id (SHA-256 of the signed body).
    pub event_id: EventId,
    /// The room (for a `create` event, the new room).
    pub room: RoomId,
    /// The event's position in the node's timeline of the room.
    pub cursor: u64,
    /// The event with the node's stamp.
    pub event: Event,
}

/// Which part of a room's history to read: [`HistoryQuery::after`] pages
/// forward (ascending cursors), [`HistoryQuery::before`] backward
/// (descending cursors). The node's default page size is 100; at most 500.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct HistoryQuery {
    position: Position,
    limit: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Position {
    After(u64),
    Before(u64),
}

impl HistoryQuery {
    /// Events with a cursor greater than `cursor`, oldest first. `after(0)`
    /// starts at the beginning.
    pub fn after(cursor: u64) -> Self {
        Self { position: Position::After(cursor), limit: None }
    }

    /// Events with a cursor less than `cursor`, newest first. To read the
    /// latest events, pass one more than the room's latest cursor
    /// ([`RoomStateView::latest_cursor`](crate::RoomStateView::latest_cursor)).
    pub fn before(cursor: u64) -> Self {
        Self { position: Position::Before(cursor), limit: None }
    }

    /// At most `limit` events (1 to 500).
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Whether this query pages forward.
    pub fn is_forward(&self) -> bool {
        matches!(self.position, Position::After(_))
    }

    /// The query string parameters.
    pub(crate) fn params(&self) -> Result<Vec<(&'static str, String)>> {
        let mut params = match self.position {
            Position::After(c) => vec![("after", c.to_string())],
            Position::Before(c) => vec![("before", c.to_string())],
        };
        if let Some(limit) = self.limit {
            if !(1..=MAX_HISTORY_LIMIT).contains(&limit) {
                return Err(SdkError::InvalidInput(format!("history limit {limit} is not between 1 and 500")));
            }
            params.push(("limit", limit.to_string()));
        }
        Ok(params)
    }

    /// Checks that `cursors` are in this query's order and range.
    pub(crate) fn check_order(&self, cursors: impl Iterator<Item = u64>) -> Result<()> {
        let mut bound = self.position;
        for cursor in cursors {
            let ok = match bound {
                Position::After(after) => cursor > after,
                Position::Before(before) => cursor < before && cursor > 0,
            };
            if !ok {
                return Err(SdkError::Protocol(format!(
                    "history cursor {cursor} out of order for {:?}",
                    self.position
                )));
            }
            bound = match bound {
                Position::After(_) => Position::After(cursor),
                Position::Before(_) => Position::Before(cursor),
            };
        }
        Ok(())
    }

    /// The query for the page after one that ended at `cursor`.
    pub(crate) fn continue_from(&self, cursor: u64) -> Self {
        let position = match self.position {
            Position::After(_) => Position::After(cursor),
            Position::Before(_) => Position::Before(cursor),
        };
        Self { position, limit: self.limit }
    }
}

impl Default for HistoryQuery {
    /// From the beginning, with the node's default page size.
    fn default() -> Self {
        Self::after(0)
    }
}

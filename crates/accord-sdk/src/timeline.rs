//! One cursor of a room's timeline as the SDK hands it out: a verified
//! item, or one the node hides because of a blocklist entry, with its
//! [`Provenance`] (client API §1.2, §5).

use crate::verify::TimelineItem;
use accord_api::Provenance;

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

//! Blocklist provenance: which entry of which list made the node hide a
//! timeline item or refuse a request (client API §1.1, §5).

use crate::verify::TimelineItem;
use accord_proto::ListId;
use accord_proto::blocklist::{Action, Category};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The blocklist entry behind a hidden timeline item or a `blocked` error:
/// the `PROVENANCE` object of the client API (§1.1).
///
/// It is the node's account of why; the SDK does not check it against the
/// list's log. Its [`Display`](fmt::Display) form is
/// `ISSUER/NAME #ENTRY (CATEGORY): REASON`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Provenance {
    /// The list (`ISSUER/NAME`).
    pub list: ListId,
    /// The entry's index in the list's log.
    pub entry: u64,
    /// The kind of harm the entry is about.
    pub category: Category,
    /// What the node does with what the entry matches: refuse it, or hold
    /// it for a moderator's review.
    pub action: Action,
    /// Why, in the issuer's words, if the entry says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl fmt::Display for Provenance {
    /// `ISSUER/NAME #ENTRY (CATEGORY)`, with `, quarantined` inside the
    /// parentheses for a quarantine entry, and `: REASON` when there is one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} #{} ({}", self.list, self.entry, self.category)?;
        if self.action == Action::Quarantine {
            f.write_str(", quarantined")?;
        }
        f.write_str(")")?;
        match &self.reason {
            Some(reason) => write!(f, ": {reason}"),
            None => Ok(()),
        }
    }
}

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
    use super::*;
    use accord_proto::SecretKey;
    use accord_proto::{IssuerId, ListName};

    pub(crate) fn list() -> ListId {
        let issuer = IssuerId::from(SecretKey::from_seed([7; 32]).public());
        ListId { issuer, name: "spam".parse::<ListName>().expect("name") }
    }

    #[test]
    fn decodes_the_documented_shape() {
        let list = list();
        let json = format!(r#"{{"list":"{list}","entry":3,"category":"spam","action":"reject","reason":"bulk ads"}}"#);
        let p: Provenance = serde_json::from_str(&json).expect("decodes");
        assert_eq!(p.list, list);
        assert_eq!(p.entry, 3);
        assert_eq!(p.category, Category::Spam);
        assert_eq!(p.action, Action::Reject);
        assert_eq!(p.reason.as_deref(), Some("bulk ads"));
        assert_eq!(p.to_string(), format!("{list} #3 (spam): bulk ads"));
        let back = serde_json::to_value(&p).expect("encodes");
        assert_eq!(back, serde_json::from_str::<serde_json::Value>(&json).expect("json"));

        let json = format!(r#"{{"list":"{list}","entry":0,"category":"grooming","action":"quarantine"}}"#);
        let p: Provenance = serde_json::from_str(&json).expect("decodes without reason");
        assert_eq!(p.reason, None);
        assert_eq!(p.to_string(), format!("{list} #0 (grooming, quarantined)"));
    }

    #[test]
    fn unknown_vocabulary_is_refused() {
        let list = list();
        for bad in [
            format!(r#"{{"list":"{list}","entry":1,"category":"gossip","action":"reject"}}"#),
            format!(r#"{{"list":"{list}","entry":1,"category":"spam","action":"shrug"}}"#),
            r#"{"list":"not a list","entry":1,"category":"spam","action":"reject"}"#.to_owned(),
            format!(r#"{{"list":"{list}","entry":-1,"category":"spam","action":"reject"}}"#),
        ] {
            assert!(serde_json::from_str::<Provenance>(&bad).is_err(), "{bad}");
        }
    }
}

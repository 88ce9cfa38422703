//! Blocklist provenance: which entry of which list made the node refuse a
//! request or hide a timeline item (spec/client-api.md §1.2).

use accord_proto::ListId;
use accord_proto::blocklist::{Action, Category};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The `PROVENANCE` object (spec/client-api.md §1.2): the blocklist entry
/// behind a `blocked` error, a hidden timeline item, a quarantine flag.
///
/// It is the node's account of why; a client does not check it against the
/// list's log. Its [`Display`](fmt::Display) form is
/// `ISSUER/NAME #ENTRY (CATEGORY): REASON`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

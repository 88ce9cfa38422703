//! Blocklist provenance: which entry of which list made the node refuse a
//! request or hide a timeline item (spec/client-api.md §1.2).

use accord_proto::blocklist::{Action, Category};
use accord_proto::{ListId, Timestamp};
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
    /// The operator's decision that makes the entry apply here, if it
    /// applies by one: a suggestion approved, or an entry kept after its
    /// issuer removed it (spec/blocklists.md §11.7, §11.8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<LocalDecision>,
    /// The priority of the entry's list, when lists of other priorities
    /// disagreed about the same target (spec/blocklists.md §11.9).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
    /// The entries of lower-priority lists about the same target that this
    /// one outranked (spec/blocklists.md §11.9).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outranked: Vec<Outranked>,
}

impl Provenance {
    /// The provenance of an entry that applies as its list says: no local
    /// decision, nothing outranked.
    pub fn of_entry(list: ListId, entry: u64, category: Category, action: Action, reason: Option<String>) -> Self {
        Provenance { list, entry, category, action, reason, decision: None, priority: None, outranked: Vec::new() }
    }
}

/// Which operator decision makes an entry apply (spec/blocklists.md §11.7, §11.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    /// A suggestion the operator approved.
    Approved,
    /// An entry kept after its issuer removed it.
    Kept,
}

/// An operator's decision about one entry, as provenance shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalDecision {
    /// `approved` or `kept`.
    pub kind: DecisionKind,
    /// Who decided (`operator`, or the name the decision was made under;
    /// for `kept`, the subscription's setting: `operator`).
    pub by: String,
    /// When.
    pub at: Timestamp,
    /// Why: the approver's reason, or `kept after removal by ISSUER/NAME
    /// at TIME`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What an outranked list said about the target (spec/blocklists.md §11.9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Refuse it.
    Reject,
    /// Hold it for review.
    Quarantine,
    /// Let it through: the entry has a local exception.
    Excepted,
}

/// An entry of a lower-priority list that disagreed and was outranked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outranked {
    /// The list.
    pub list: ListId,
    /// The entry.
    pub entry: u64,
    /// Its list's priority.
    pub priority: i64,
    /// What it said.
    pub verdict: Verdict,
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

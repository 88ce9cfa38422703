//! Blocklist entries: the leaves of a list's Merkle log
//! (spec/blocklists.md §1–§2).

use crate::hash::Sha256Hash;
use crate::ids::{AccountId, ContentHash, NodeId, RoomId};
use crate::limits::MAX_LIST_ENTRY;
use crate::names::DomainPattern;
use crate::pdq::PdqHash;
use crate::text::Reason;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The kind of harm an entry is about. The vocabulary is fixed so that
/// subscribers can set an action per category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Child sexual abuse material or activity.
    ChildSexualAbuse,
    /// Grooming of minors.
    Grooming,
    /// Sex trafficking and pimping.
    SexTrafficking,
    /// Sale of drugs.
    Drugs,
    /// Violence, including ambushes set up through chat.
    Violence,
    /// Harassment and hate.
    Harassment,
    /// Impersonation and fake personas.
    Impersonation,
    /// Spam and floods.
    Spam,
    /// Anything else (the reason says what).
    Other,
}

impl Category {
    /// Every category, most severe first (the order moderation queues use).
    pub const ALL: [Category; 9] = [
        Category::ChildSexualAbuse,
        Category::Grooming,
        Category::SexTrafficking,
        Category::Violence,
        Category::Drugs,
        Category::Harassment,
        Category::Impersonation,
        Category::Spam,
        Category::Other,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::ChildSexualAbuse => "child_sexual_abuse",
            Category::Grooming => "grooming",
            Category::SexTrafficking => "sex_trafficking",
            Category::Drugs => "drugs",
            Category::Violence => "violence",
            Category::Harassment => "harassment",
            Category::Impersonation => "impersonation",
            Category::Spam => "spam",
            Category::Other => "other",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Category {
    type Err = EntryError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Category::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| EntryError::Invalid(format!("unknown category `{s}`")))
    }
}

/// What the issuer recommends subscribers do with matching content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Refuse it.
    Reject,
    /// Hold it for a moderator's review instead of delivering it.
    Quarantine,
}

/// The kind of thing an entry targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// An account.
    Account,
    /// A node.
    Node,
    /// A room.
    Room,
    /// A piece of content, by SHA-256.
    Content,
    /// An image, by PDQ perceptual hash: matched within a Hamming distance,
    /// not exactly (spec/blocklists.md §2.1).
    Pdq,
    /// Nodes by their verified DNS name: one name, or a name and every
    /// name under it (spec/blocklists.md §2.2).
    Domain,
}

impl TargetKind {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Account => "account",
            TargetKind::Node => "node",
            TargetKind::Room => "room",
            TargetKind::Content => "content",
            TargetKind::Pdq => "pdq",
            TargetKind::Domain => "domain",
        }
    }
}

/// What an entry matches. JSON: `{"type": KIND, "id": TEXT}` for a plain
/// target, `{"type": "hashed", "kind": KIND, "hash": HEX}` for a target
/// given only by [`target_hash`], so a public list is not an address book,
/// and `{"type": "pdq", "hash": HEX}` for images whose PDQ hash is within
/// the subscriber's distance threshold of `hash` (it has no hashed form).
///
/// Read field by field (`entry_de`), not by serde's derive.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Target {
    /// An account.
    Account {
        /// The account.
        id: AccountId,
    },
    /// A node.
    Node {
        /// The node.
        id: NodeId,
    },
    /// A room.
    Room {
        /// The room.
        id: RoomId,
    },
    /// Content with this SHA-256.
    Content {
        /// The content hash.
        id: ContentHash,
    },
    /// Images whose PDQ hash is within the subscriber's threshold of this
    /// one (spec/blocklists.md §2.1).
    Pdq {
        /// The PDQ hash.
        hash: PdqHash,
    },
    /// Nodes whose verified name falls under this pattern
    /// (spec/blocklists.md §2.2).
    Domain {
        /// `example.org` (that name) or `*.example.org` (it and every
        /// name under it).
        name: DomainPattern,
    },
    /// A target named only by its hash.
    Hashed {
        /// What kind of target.
        kind: TargetKind,
        /// [`target_hash`] of the target.
        hash: Sha256Hash,
    },
}

/// The index key of content with SHA-256 `hash`: [`target_hash`] of
/// `content` and the hash's hex text, without allocating the text.
pub fn content_target_hash(hash: &Sha256Hash) -> Sha256Hash {
    let mut hex = [0u8; 64];
    // 32 bytes always fit 64 hex digits.
    let _ = hex::encode_to_slice(hash.0, &mut hex);
    Sha256Hash::digest_parts(&[TargetKind::Content.as_str().as_bytes(), b":", &hex])
}

/// The hash that names a target in a hashed entry, and the key every entry
/// is indexed by: `SHA-256(kind ‖ ":" ‖ text form)`, e.g.
/// `SHA-256("account:acct1…")`.
pub fn target_hash(kind: TargetKind, text: &str) -> Sha256Hash {
    Sha256Hash::digest_parts(&[kind.as_str().as_bytes(), b":", text.as_bytes()])
}

impl Target {
    /// The kind of target.
    pub fn kind(&self) -> TargetKind {
        match self {
            Target::Account { .. } => TargetKind::Account,
            Target::Node { .. } => TargetKind::Node,
            Target::Room { .. } => TargetKind::Room,
            Target::Content { .. } => TargetKind::Content,
            Target::Pdq { .. } => TargetKind::Pdq,
            Target::Domain { .. } => TargetKind::Domain,
            Target::Hashed { kind, .. } => *kind,
        }
    }

    /// The index key: `(kind, target_hash)`, the same for the plain and the
    /// hashed form of one target.
    pub fn index_key(&self) -> (TargetKind, Sha256Hash) {
        let kind = self.kind();
        let hash = match self {
            Target::Account { id } => target_hash(kind, &id.to_string()),
            Target::Node { id } => target_hash(kind, &id.to_string()),
            Target::Room { id } => target_hash(kind, &id.to_string()),
            Target::Content { id } => content_target_hash(&id.0),
            Target::Pdq { hash } => target_hash(kind, &hash.to_string()),
            Target::Domain { name } => target_hash(kind, &name.to_string()),
            Target::Hashed { hash, .. } => *hash,
        };
        (kind, hash)
    }

    /// The hashed form of this target. A PDQ target is matched by distance,
    /// so it has no hashed form and is returned unchanged.
    pub fn to_hashed(&self) -> Target {
        if matches!(self, Target::Pdq { .. }) {
            return self.clone();
        }
        let (kind, hash) = self.index_key();
        Target::Hashed { kind, hash }
    }
}

/// One leaf of a list's log. JSON: an object with `op` = `add` or
/// `remove`; the leaf's bytes are the entry's JSON exactly as the issuer
/// logged it.
///
/// Read field by field (`entry_de`), not by serde's derive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
#[allow(clippy::large_enum_variant, reason = "entries are parsed one at a time, never stored in bulk as this enum")]
pub enum ListEntry {
    /// Blocks a target.
    Add {
        /// When the issuer made the entry.
        created: Timestamp,
        /// What is blocked.
        target: Target,
        /// Which harm.
        category: Category,
        /// The recommended action.
        action: Action,
        /// Why, for operators and for the provenance shown to users.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<Reason>,
        /// SHA-256 of the evidence (e.g. a signed report's body).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        evidence: Option<Sha256Hash>,
        /// When the entry stops applying.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expires: Option<Timestamp>,
    },
    /// Retracts the `add` entry at log index `entry`.
    Remove {
        /// When the issuer made the entry.
        created: Timestamp,
        /// The index of the retracted entry in this list's log.
        entry: u64,
        /// Why.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<Reason>,
    },
}

/// Why bytes are not a valid entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EntryError {
    /// Larger than an entry may be.
    #[error("entry is {len} bytes, the limit is {max}")]
    TooLarge {
        /// Bytes given.
        len: usize,
        /// Bytes allowed.
        max: usize,
    },
    /// Not a valid entry (see the message).
    #[error("invalid entry: {0}")]
    Invalid(String),
}

impl EntryError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            EntryError::TooLarge { .. } => "too_large",
            EntryError::Invalid(_) => "invalid_entry",
        }
    }
}

impl ListEntry {
    /// Parses leaf bytes (after their inclusion in a signed root has been
    /// checked).
    pub fn parse(bytes: &[u8]) -> Result<ListEntry, EntryError> {
        if bytes.len() > MAX_LIST_ENTRY {
            return Err(EntryError::TooLarge { len: bytes.len(), max: MAX_LIST_ENTRY });
        }
        let entry: ListEntry = serde_json::from_slice(bytes).map_err(|e| EntryError::Invalid(e.to_string()))?;
        if !crate::envelope::is_canonical(&entry, bytes) {
            return Err(EntryError::Invalid("entry is not in canonical form".into()));
        }
        if let ListEntry::Add { target: Target::Hashed { kind: TargetKind::Pdq, .. }, .. } = &entry {
            return Err(EntryError::Invalid("a pdq target has no hashed form".into()));
        }
        if let ListEntry::Add { expires: Some(expires), created, .. } = &entry
            && expires <= created
        {
            return Err(EntryError::Invalid("expires before it was created".into()));
        }
        Ok(entry)
    }

    /// When the issuer made the entry.
    pub fn created(&self) -> Timestamp {
        match self {
            ListEntry::Add { created, .. } | ListEntry::Remove { created, .. } => *created,
        }
    }

    /// Encodes the entry as leaf bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>, EntryError> {
        let bytes = serde_json::to_vec(self).map_err(|e| EntryError::Invalid(e.to_string()))?;
        if bytes.len() > MAX_LIST_ENTRY {
            return Err(EntryError::TooLarge { len: bytes.len(), max: MAX_LIST_ENTRY });
        }
        Ok(bytes)
    }
}

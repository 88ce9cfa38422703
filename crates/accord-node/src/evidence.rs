//! Checking evidence that a peer relayed what a list it declares blocks
//! (spec/federation.md §7.4) as a third party: from the evidence alone,
//! with no node and no trust in the node that recorded it. The peer's own
//! signatures (its stamp on the event, its policy manifest) and the
//! issuer's (the checkpoint the entry is proved against) are what convince.

use accord_api::admin::Evidence;
use accord_proto::blocklist::entry::{ListEntry, TargetKind, content_target_hash, target_hash};
use accord_proto::blocklist::merkle::{leaf_hash, verify_inclusion};
use accord_proto::event::EventContent;
use accord_proto::policy::PolicyManifest;
use accord_proto::{EventId, ListId, NodeId, Sha256Hash, Unverified};

/// What verified evidence shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The peer that relayed the event.
    pub peer: NodeId,
    /// The event it relayed.
    pub event: EventId,
    /// The list it declares, and the blocking entry's index in it.
    pub list: ListId,
    /// The entry's index.
    pub entry: u64,
    /// How many entries of the list the peer declared it held.
    pub declared: u64,
}

/// Why evidence does not show what it claims; each with a stable code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EvidenceError {
    /// The event's signatures do not verify.
    #[error("the event does not verify: {0}")]
    BadEvent(String),
    /// The event was not stamped by the peer accused of relaying it.
    #[error("the event was not stamped by the accused peer: {0}")]
    NotThePeers(String),
    /// The manifest does not verify, or is not the peer's.
    #[error("the policy manifest does not verify as the peer's: {0}")]
    BadManifest(String),
    /// The peer's manifest does not declare the list with the entry.
    #[error("the peer's manifest does not declare the list with the entry: {0}")]
    NotDeclared(String),
    /// The checkpoint does not verify as the issuer's, for the list.
    #[error("the checkpoint does not verify: {0}")]
    BadCheckpoint(String),
    /// The entry is not leaf `provenance.entry` of the checkpoint's tree.
    #[error("the entry is not leaf {0} of the checkpoint's tree")]
    NotIncluded(u64),
    /// The entry does not block that event (another target, a removal, or
    /// other category or action than the provenance says).
    #[error("the entry does not block this event: {0}")]
    EntryMismatch(String),
}

impl EvidenceError {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            EvidenceError::BadEvent(_) => "bad_event",
            EvidenceError::NotThePeers(_) => "not_the_peers",
            EvidenceError::BadManifest(_) => "bad_manifest",
            EvidenceError::NotDeclared(_) => "not_declared",
            EvidenceError::BadCheckpoint(_) => "bad_checkpoint",
            EvidenceError::NotIncluded(_) => "not_included",
            EvidenceError::EntryMismatch(_) => "entry_mismatch",
        }
    }
}

/// Checks `evidence`, in this order: the event verifies and the peer
/// stamped it; the peer's manifest verifies and declares the list with more
/// entries than the blocking entry's index; the issuer's checkpoint of the
/// list verifies and includes the entry at that index; the entry blocks
/// the event (its author, its origin, its room or its text), with the
/// category and action the provenance gives.
pub fn verify(evidence: &Evidence) -> Result<Verified, EvidenceError> {
    let event = evidence.event.verify().map_err(|e| EvidenceError::BadEvent(e.to_string()))?;
    let origin = event.stamp_part().origin;
    if origin != evidence.peer {
        return Err(EvidenceError::NotThePeers(format!("stamped by {origin}, not by {}", evidence.peer)));
    }
    let manifest = Unverified::<PolicyManifest>::from_raw(evidence.manifest.clone())
        .verify()
        .map_err(|e| EvidenceError::BadManifest(e.to_string()))?;
    if manifest.node != evidence.peer {
        return Err(EvidenceError::BadManifest(format!("the manifest is {}'s", manifest.node)));
    }
    let (list, entry) = (&evidence.provenance.list, evidence.provenance.entry);
    let declared = manifest.declared(list);
    let Some(declared) = declared.filter(|size| *size > entry) else {
        let declared = declared.map_or_else(|| "not declared".to_owned(), |size| format!("declared size {size}"));
        return Err(EvidenceError::NotDeclared(format!("{list} entry {entry}: {declared}")));
    };
    let checkpoint =
        evidence.checkpoint.verify(list).map_err(|e| EvidenceError::BadCheckpoint(e.to_string()))?.checkpoint;
    let leaf = evidence.entry.as_bytes();
    verify_inclusion(&leaf_hash(leaf), entry, checkpoint.size, &evidence.inclusion, &checkpoint.root)
        .map_err(|_| EvidenceError::NotIncluded(entry))?;
    let parsed = ListEntry::parse(leaf).map_err(|e| EvidenceError::EntryMismatch(e.to_string()))?;
    let ListEntry::Add { target, category, action, .. } = parsed else {
        return Err(EvidenceError::EntryMismatch("the entry is a removal".into()));
    };
    if category != evidence.provenance.category || action != evidence.provenance.action {
        return Err(EvidenceError::EntryMismatch("its category or action is not the provenance's".into()));
    }
    let mut keys: Vec<(TargetKind, Sha256Hash)> = vec![
        (TargetKind::Account, target_hash(TargetKind::Account, &event.author().to_string())),
        (TargetKind::Node, target_hash(TargetKind::Node, &origin.to_string())),
        (TargetKind::Room, target_hash(TargetKind::Room, &event.room().to_string())),
    ];
    if let EventContent::Message { text, .. } = event.content() {
        keys.push((TargetKind::Content, content_target_hash(&Sha256Hash::digest(text.as_str().as_bytes()))));
    }
    if !keys.contains(&target.index_key()) {
        return Err(EvidenceError::EntryMismatch(format!("it names another {}", target.kind().as_str())));
    }
    Ok(Verified { peer: evidence.peer, event: event.id(), list: list.clone(), entry, declared })
}

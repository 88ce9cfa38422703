//! Messages nodes exchange over libp2p request-response
//! (spec/federation.md §3).
//!
//! One protocol, `/accord/federation/1`, carries a tagged request and a
//! tagged response as JSON. Every signed object inside is verified by the
//! receiver exactly as if a client had sent it.

use crate::event::UnverifiedEvent;
use crate::identity::{Attestation, IdentityDocument};
use crate::ids::{AccountId, EventId, NodeId, RoomId};
use crate::{SignedBytes, Unverified, Verified};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The request-response protocol name.
pub const PROTOCOL: &str = "/accord/federation/1";
/// The push stream's protocol name: one long-lived stream per peer that
/// carries requests and their answers as length-prefixed frames
/// (spec/federation.md §1.2a).
pub const PUSH_STREAM_PROTOCOL: &str = "/accord/push/1";
/// Most accounts one identity fetch may name.
pub const MAX_FETCH_IDENTITIES: usize = 64;
/// Most events in one push.
pub const MAX_PUSH_EVENTS: usize = 64;
/// Most event ids in one event fetch.
pub const MAX_FETCH_EVENTS: usize = 64;
/// Most events in one answer to a sync, join or event fetch.
pub const MAX_EVENTS_PER_RESPONSE: usize = 256;
/// Most identity pairs carried beside the events of one message.
pub const MAX_IDENTITIES_PER_MESSAGE: usize = 256;
/// Most origins one sync request may name.
pub const MAX_SYNC_ORIGINS: usize = 1024;
/// Most report ids one report outcome may name.
pub const MAX_OUTCOME_REPORTS: usize = 256;
/// The gossipsub topic of blocklist checkpoint announcements.
pub const LISTS_TOPIC: &str = "accord/lists/1";
/// The gossipsub topic of nodes' signed policy manifests.
pub const MANIFESTS_TOPIC: &str = "accord/manifests/1";
/// The gossipsub topic of accounts' signed deletions (spec/identities.md §5).
pub const DELETIONS_TOPIC: &str = "accord/deletions/1";
/// The gossipsub topic of equivocation proofs against list issuers.
pub const EQUIVOCATION_TOPIC: &str = "accord/equivocation/1";
/// Most list entries in one answer.
pub const MAX_LIST_ENTRIES_PER_RESPONSE: usize = 4096;
/// Largest gossipsub message, in bytes.
pub const MAX_GOSSIP_BYTES: usize = 64 * 1024;
/// Largest request, in bytes.
pub const MAX_REQUEST_BYTES: u64 = 2 * 1024 * 1024;
/// Largest response, in bytes.
pub const MAX_RESPONSE_BYTES: u64 = 8 * 1024 * 1024;
/// Most lists one `lists` answer carries (spec/federation.md §3.12).
pub const MAX_ISSUED_LISTS: usize = 1024;
/// Most witnesses named for one list of a `lists` answer.
pub const MAX_LIST_WITNESSES: usize = 32;
/// Longest description of a list, in bytes of UTF-8 (spec/blocklists.md §12.2).
pub const MAX_LIST_DESCRIPTION: usize = 1024;
/// The domain of a room's provider key in the DHT (spec/federation.md §1.4).
pub const ROOM_PROVIDER_DOMAIN: &str = "accord/v1/room-provider";

/// A request or answer as one frame of the push stream
/// (spec/federation.md §1.2a): its length as 4 bytes, big-endian, then its
/// bytes. `None` for an empty message or one over [`MAX_RESPONSE_BYTES`].
pub fn push_stream_frame(bytes: &[u8]) -> Option<Vec<u8>> {
    let length = u32::try_from(bytes.len()).ok().filter(|n| *n > 0 && u64::from(*n) <= MAX_RESPONSE_BYTES)?;
    let mut frame = Vec::with_capacity(4 + bytes.len());
    frame.extend_from_slice(&length.to_be_bytes());
    frame.extend_from_slice(bytes);
    Some(frame)
}

/// Why a push stream frame's length is refused (spec/federation.md §1.2a).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FrameLengthError {
    /// A length of 0.
    #[error("an empty frame")]
    Empty,
    /// A length over the reader's limit.
    #[error("a frame of {0} bytes, over the limit")]
    TooLarge(u32),
}

impl FrameLengthError {
    /// The code the frame is answered with: `bad_request` or `too_large`.
    pub fn code(&self) -> &'static str {
        match self {
            FrameLengthError::Empty => "bad_request",
            FrameLengthError::TooLarge(_) => "too_large",
        }
    }
}

/// The length of the message a push stream frame announces in its first 4
/// bytes, if it is at least 1 and at most `limit`
/// ([`MAX_REQUEST_BYTES`] for a request, [`MAX_RESPONSE_BYTES`] for an
/// answer).
pub fn push_stream_frame_length(prefix: [u8; 4], limit: u64) -> Result<usize, FrameLengthError> {
    let length = u32::from_be_bytes(prefix);
    if length == 0 {
        return Err(FrameLengthError::Empty);
    }
    if u64::from(length) > limit {
        return Err(FrameLengthError::TooLarge(length));
    }
    usize::try_from(length).map_err(|_| FrameLengthError::TooLarge(length))
}

/// The Kademlia key under which the nodes hosting `room` announce
/// themselves as providers (spec/federation.md §1.4): SHA-256 of
/// [`ROOM_PROVIDER_DOMAIN`], a zero byte and the room id's 32 bytes.
pub fn room_provider_key(room: &RoomId) -> crate::Sha256Hash {
    crate::Sha256Hash::digest_parts(&[ROOM_PROVIDER_DOMAIN.as_bytes(), &[0], &room.0.0])
}

/// A request from one node to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum FedRequest {
    /// The identity documents and attestations of accounts homed at the
    /// receiving node.
    Identities {
        /// The accounts (at most [`MAX_FETCH_IDENTITIES`]).
        accounts: Vec<AccountId>,
    },
    /// New events of one room, all originated by the sender, oldest first.
    Push {
        /// The room.
        room: RoomId,
        /// The events (at most [`MAX_PUSH_EVENTS`]).
        events: Vec<UnverifiedEvent>,
        /// Identity pairs of the events' authors, so that the receiver can
        /// check each author's home node without asking.
        identities: Vec<IdentityPair>,
    },
    /// "For this room, here is the highest sequence number I hold without
    /// gaps from each origin; send me what I lack."
    Sync {
        /// The room.
        room: RoomId,
        /// Origin node → highest sequence number held with no gap below it.
        /// Origins not named count as 0.
        held: BTreeMap<NodeId, u64>,
    },
    /// Events of a room by id (missing causal references).
    Events {
        /// The room.
        room: RoomId,
        /// The event ids (at most [`MAX_FETCH_EVENTS`]).
        ids: Vec<EventId>,
    },
    /// Entries of a blocklist the answering node holds (issues or mirrors),
    /// from log index `from`.
    ListEntries {
        /// The list.
        list: crate::ListId,
        /// The first index wanted.
        from: u64,
        /// Most entries wanted (at most [`MAX_LIST_ENTRIES_PER_RESPONSE`]).
        limit: u64,
    },
    /// The answering node's signed policy manifest.
    Manifest {},
    /// A node that does not hold the room yet asks for its events so that
    /// one of its accounts can join.
    Join {
        /// The room.
        room: RoomId,
        /// The joining account's identity, homed at the requester.
        joiner: Box<IdentityPair>,
        /// Continue after this position of the answering node's timeline
        /// (0 for the first page).
        after: u64,
    },
    /// A report a user of the sending node made, forwarded to the home node
    /// of an accused account or to a node that accepts reports
    /// (spec/reports.md §5). The receiver verifies it as the reporter's
    /// home node did.
    Report {
        /// The report ([`crate::report::ReportBody`], signed by the reporter).
        report: Box<SignedBytes>,
    },
    /// What became of reports the receiver forwarded: the moderator's
    /// signed action on the case that holds them.
    ReportOutcome {
        /// The action ([`crate::audit::ModAction`], signed by its
        /// moderator), naming the sender as its node.
        action: Box<SignedBytes>,
        /// The ids of the receiver's reports it settles.
        reports: Vec<crate::Sha256Hash>,
    },
    /// An accused account's appeal of a decision the receiver took,
    /// forwarded by the account's home node (spec/reports.md §15). The
    /// receiver verifies it as the home node did.
    Appeal {
        /// The appeal ([`crate::appeal::AppealBody`], signed by the account).
        appeal: Box<SignedBytes>,
    },
    /// What became of an appeal the receiver forwarded: the sender's
    /// moderator's signed `uphold` or `overturn`, naming the appeal.
    AppealOutcome {
        /// The action ([`crate::audit::ModAction`]), naming the sender as its node.
        action: Box<SignedBytes>,
    },
    /// A C2SP tlog-witness `add-checkpoint` request to the receiver's
    /// witness (spec/blocklists.md §13.2): the request body as HTTP would
    /// carry it (old size, proof lines, blank line, signed checkpoint).
    AddCheckpoint {
        /// The request body.
        body: String,
    },
    /// The lists the receiving node issues, for an operator choosing what
    /// to subscribe to (spec/federation.md §3.12).
    Lists {},
}

/// A node's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum FedResponse {
    /// The identities the node holds as home node, in request order;
    /// accounts it does not home are left out.
    Identities {
        /// Document and attestation pairs.
        identities: Vec<IdentityPair>,
    },
    /// One outcome per pushed event, in push order.
    Pushed {
        /// The outcomes.
        outcomes: Vec<PushOutcome>,
    },
    /// Events answering a sync, join or event fetch, with the identity
    /// pairs of their authors.
    Events {
        /// The events (at most [`MAX_EVENTS_PER_RESPONSE`]), in an order in
        /// which every event's causal references come before it.
        events: Vec<UnverifiedEvent>,
        /// Identity pairs of the events' authors.
        identities: Vec<IdentityPair>,
        /// Whether more events are waiting: ask again (sync with the new
        /// sequence numbers, join with `after` = `next`).
        more: bool,
        /// For join: the timeline position to continue after.
        next: u64,
    },
    /// Entries of a list: its latest signed checkpoint held by the
    /// answering node and the leaves from `from` (each the entry's exact
    /// JSON text).
    ListEntries {
        /// The checkpoint.
        checkpoint: crate::blocklist::checkpoint::SignedCheckpoint,
        /// The leaves, in log order from `from`.
        entries: Vec<String>,
    },
    /// The node's signed policy manifest ([`crate::policy::PolicyManifest`]).
    Manifest {
        /// The manifest.
        manifest: Box<SignedBytes>,
    },
    /// A forwarded report was verified and queued for the receiver's
    /// moderators (also when it was already held).
    ReportQueued {
        /// The report id.
        id: crate::Sha256Hash,
    },
    /// A report outcome was taken into account.
    Noted {},
    /// A forwarded appeal was verified and recorded in the receiver's audit
    /// log (also when it was already held).
    AppealQueued {
        /// The appeal id.
        id: crate::Sha256Hash,
    },
    /// The witness's answer to `add_checkpoint`, as HTTP would carry it:
    /// the status (200, 400, 403, 404, 409, 422 or 500) and the body
    /// (cosignature lines for 200, the witness's size for 409).
    Witness {
        /// The HTTP status.
        status: u16,
        /// The body.
        body: String,
    },
    /// The lists the answering node issues (at most
    /// [`MAX_ISSUED_LISTS`]), in ascending order of list id.
    Lists {
        /// The lists.
        lists: Vec<IssuedList>,
    },
    /// The request was refused.
    Error {
        /// A stable code (e.g. `too_many`, `busy`).
        code: String,
        /// A human-readable message.
        message: String,
    },
}

/// Why a federation message read from a stream was refused
/// (spec/federation.md §1.2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// The message is over its size limit (given in bytes).
    #[error("messages of this kind are limited to {0} bytes")]
    TooLarge(u64),
    /// The bytes are not JSON of a request or response of this protocol (an
    /// unknown `type`, a field missing or extra, bad JSON).
    #[error("does not decode: {0}")]
    Malformed(String),
    /// The stream ended before its first byte: the sender gave up on the
    /// exchange (yamux reads a reset stream as ended), which is no fault.
    #[error("the stream ended before any byte was sent")]
    Abandoned,
}

impl WireError {
    /// A stable machine-readable code: `too_large`, `bad_request` or
    /// `abandoned`.
    pub fn code(&self) -> &'static str {
        match self {
            WireError::TooLarge(_) => "too_large",
            WireError::Malformed(_) => "bad_request",
            WireError::Abandoned => "abandoned",
        }
    }

    /// Whether the message counts against the peer that sent it: an
    /// abandoned exchange does not (spec/federation.md §1.2).
    pub fn is_fault(&self) -> bool {
        !matches!(self, WireError::Abandoned)
    }
}

/// Decodes bytes of at most `limit` bytes as a `T`.
fn decode_bounded<T: serde::de::DeserializeOwned>(bytes: &[u8], limit: u64) -> Result<T, WireError> {
    if bytes.len() as u64 > limit {
        return Err(WireError::TooLarge(limit));
    }
    if bytes.is_empty() {
        return Err(WireError::Abandoned);
    }
    serde_json::from_slice(bytes).map_err(|e| WireError::Malformed(e.to_string()))
}

impl FedRequest {
    /// Decodes a request as read from its stream: the whole half of the
    /// stream, of which a reader need take no more than
    /// [`MAX_REQUEST_BYTES`] + 1 bytes to see that it is too large.
    pub fn decode(bytes: &[u8]) -> Result<FedRequest, WireError> {
        decode_bounded(bytes, MAX_REQUEST_BYTES)
    }
}

impl FedResponse {
    /// Decodes a response as read from its stream (at most
    /// [`MAX_RESPONSE_BYTES`]; see [`FedRequest::decode`]).
    pub fn decode(bytes: &[u8]) -> Result<FedResponse, WireError> {
        decode_bounded(bytes, MAX_RESPONSE_BYTES)
    }
}

/// A list's latest signed checkpoint, announced on [`LISTS_TOPIC`] so that
/// subscribers learn of new entries within seconds (spec/federation.md §1.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListAnnouncement {
    /// The list.
    pub list: crate::ListId,
    /// Its checkpoint, signed by the list's issuer.
    pub checkpoint: crate::blocklist::checkpoint::SignedCheckpoint,
}

impl ListAnnouncement {
    /// Parses a gossip message and verifies the checkpoint's signature by
    /// the list's issuer.
    pub fn verify(
        bytes: &[u8],
    ) -> Result<(ListAnnouncement, crate::blocklist::checkpoint::VerifiedCheckpoint), String> {
        if bytes.len() > MAX_GOSSIP_BYTES {
            return Err("announcement too large".into());
        }
        let announcement: ListAnnouncement = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        let verified = announcement.checkpoint.verify(&announcement.list).map_err(|e| e.code().to_string())?;
        Ok((announcement, verified))
    }
}

/// One list a node issues, as it describes it in a `lists` answer
/// (spec/federation.md §3.12).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuedList {
    /// The list (its issuer is the answering node's key).
    pub list: crate::ListId,
    /// What the list is for, in the issuer's words (at most
    /// [`MAX_LIST_DESCRIPTION`] bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The C2SP verifier keys of the witnesses the issuer asks to cosign
    /// its checkpoints (at most [`MAX_LIST_WITNESSES`]).
    pub witnesses: Vec<String>,
    /// The issuer's latest signed checkpoint of the list: its size and
    /// time.
    pub checkpoint: crate::blocklist::checkpoint::SignedCheckpoint,
}

/// Why an [`IssuedList`] of a peer's answer was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IssuedListError {
    /// The list is not issued by the node that answered.
    #[error("the list is not issued by the answering node")]
    NotIssuer,
    /// The description or the witnesses are over their limits.
    #[error("a description or witness list over its limit")]
    TooLarge,
    /// The checkpoint does not verify for the list.
    #[error(transparent)]
    Checkpoint(#[from] crate::blocklist::checkpoint::CheckpointError),
}

impl IssuedListError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            IssuedListError::NotIssuer => "not_issuer",
            IssuedListError::TooLarge => "too_large",
            IssuedListError::Checkpoint(e) => e.code(),
        }
    }
}

impl IssuedList {
    /// Checks a list of `node`'s answer: issued by `node`, within the
    /// limits, its checkpoint signed by the issuer for this list.
    pub fn verify(&self, node: &NodeId) -> Result<crate::blocklist::checkpoint::VerifiedCheckpoint, IssuedListError> {
        if self.list.issuer.public_key() != node.public_key() {
            return Err(IssuedListError::NotIssuer);
        }
        if self.description.as_ref().is_some_and(|d| d.len() > MAX_LIST_DESCRIPTION)
            || self.witnesses.len() > MAX_LIST_WITNESSES
        {
            return Err(IssuedListError::TooLarge);
        }
        Ok(self.checkpoint.verify(&self.list)?)
    }
}

/// What became of one pushed event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case", deny_unknown_fields)]
pub enum PushOutcome {
    /// Verified and stored.
    Accepted {
        /// The event.
        event: EventId,
    },
    /// Already held.
    Duplicate {
        /// The event.
        event: EventId,
    },
    /// Not stored for now; the sender should try again later (e.g.
    /// `missing_prev` until the receiver has synced, `busy`).
    Retry {
        /// The event.
        event: EventId,
        /// Why.
        code: String,
    },
    /// Refused for good: the sender must not send it again.
    Refused {
        /// The event.
        event: EventId,
        /// Why (a stable code).
        code: String,
    },
}

impl PushOutcome {
    /// The event the outcome is about.
    pub fn event(&self) -> EventId {
        match self {
            PushOutcome::Accepted { event }
            | PushOutcome::Duplicate { event }
            | PushOutcome::Retry { event, .. }
            | PushOutcome::Refused { event, .. } => *event,
        }
    }

    /// Whether the sender is done with the event (anything but `retry`).
    pub fn is_final(&self) -> bool {
        !matches!(self, PushOutcome::Retry { .. })
    }
}

/// An identity document with its home node's attestation, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityPair {
    /// The account-signed identity document.
    pub identity: SignedBytes,
    /// The home node's attestation.
    pub attestation: SignedBytes,
}

/// Why an identity pair was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PairError {
    /// The document does not verify.
    #[error("identity document: {0}")]
    Identity(crate::EnvelopeError),
    /// The attestation does not verify.
    #[error("attestation: {0}")]
    Attestation(crate::EnvelopeError),
    /// They do not belong together (spec/identities.md §3): another
    /// account, another document, or not signed by the document's home.
    #[error("attestation does not attest this document by its home node")]
    Mismatch,
}

impl PairError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            PairError::Identity(e) | PairError::Attestation(e) => e.code(),
            PairError::Mismatch => "attestation_mismatch",
        }
    }
}

impl IdentityPair {
    /// SHA-256 of the identity document's body (its identity hash), computed
    /// without verifying.
    pub fn identity_hash(&self) -> crate::Sha256Hash {
        crate::Sha256Hash::digest_parts(&[&self.identity.body])
    }

    /// Verifies both signatures and that the attestation names this
    /// account, this document (by body hash) and the document's home node.
    pub fn verify(&self) -> Result<(Verified<IdentityDocument>, Verified<Attestation>), PairError> {
        let doc =
            Unverified::<IdentityDocument>::from_raw(self.identity.clone()).verify().map_err(PairError::Identity)?;
        let att =
            Unverified::<Attestation>::from_raw(self.attestation.clone()).verify().map_err(PairError::Attestation)?;
        if att.account != doc.account || att.identity != doc.body_hash() || att.node != doc.home {
            return Err(PairError::Mismatch);
        }
        Ok((doc, att))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blocklist::checkpoint::Checkpoint;
    use crate::blocklist::merkle::MerkleLog;
    use crate::{IssuerId, ListId, SecretKey, Timestamp};

    #[test]
    fn a_request_that_ends_before_its_first_byte_is_abandoned_not_malformed() {
        let empty = FedRequest::decode(b"").unwrap_err();
        assert_eq!(empty, WireError::Abandoned);
        assert_eq!(empty.code(), "abandoned");
        assert!(!empty.is_fault());
        // A byte is enough to be the sender's fault.
        let cut = FedRequest::decode(b"{").unwrap_err();
        assert_eq!(cut.code(), "bad_request");
        assert!(cut.is_fault());
    }

    #[test]
    fn a_rooms_provider_key_is_the_domain_separated_hash_of_its_id() {
        // The room of spec/vectors/room.json (spec/federation.md §1.4).
        let room: RoomId = "room1av2eh7s4ar6tepj2wlm5kwdkdhpvfuq25thylpesgn5a0f5akz4qp7xecv".parse().unwrap();
        assert_eq!(
            room_provider_key(&room).to_string(),
            "3074b73dfee9bb2d82e49f96da1eb2fc8d370067bca0d83aa63780b409c48cea"
        );
    }

    fn issued(key: &SecretKey, description: Option<String>) -> IssuedList {
        let list = ListId { issuer: IssuerId::from(key.public()), name: "spam".parse().unwrap() };
        let log = MerkleLog::new();
        let checkpoint = Checkpoint { list: list.clone(), size: 0, root: log.root(), time: Timestamp::from_millis(1) };
        IssuedList { checkpoint: checkpoint.sign(key).unwrap(), list, description, witnesses: vec![] }
    }

    #[test]
    fn an_issued_list_is_taken_only_from_its_issuer_and_within_its_limits() {
        let (peer, other) = (SecretKey::generate().unwrap(), SecretKey::generate().unwrap());
        let node = NodeId::from(peer.public());
        assert!(issued(&peer, Some("spam accounts".into())).verify(&node).is_ok());
        assert_eq!(issued(&other, None).verify(&node).unwrap_err().code(), "not_issuer");
        let long = "x".repeat(MAX_LIST_DESCRIPTION + 1);
        assert_eq!(issued(&peer, Some(long)).verify(&node).unwrap_err().code(), "too_large");
        let mut forged = issued(&peer, None);
        forged.checkpoint = issued(&other, None).checkpoint;
        assert!(forged.verify(&node).is_err(), "a checkpoint by another key is refused");
    }
}

//! Room events: the author-signed body and the origin node's stamp
//! (spec/events.md §1–§3).
//!
//! An event travels as two signed envelopes: the author's body (domain
//! `accord/v1/event`) and the origin node's stamp (domain
//! `accord/v1/event-origin`), which names the event by id and adds what
//! only the node can know: the per-(room, origin) sequence number, the
//! causal references and the depth (a Lamport clock).

use crate::envelope::Domain;
use crate::envelope::{EnvelopeError, Payload, Unverified, Verified};
use crate::hash::Sha256Hash;
use crate::ids::{AccountId, EventId, NodeId, RoomId};
use crate::keys::{PublicKey, SecretKey, verify_batch};
use crate::limits::{MAX_EVENT_BODY, MAX_MESSAGE_TEXT, MAX_PREV, MAX_REASON, MAX_ROOM_NAME, MAX_STAMP_BODY};
use crate::media::Attachment;
use crate::text::BoundedText;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// A room's display name.
pub type RoomName = BoundedText<MAX_ROOM_NAME>;
/// A message's text.
pub type MessageText = BoundedText<MAX_MESSAGE_TEXT>;
/// A reason given for a kick, ban or redaction.
pub type Reason = BoundedText<MAX_REASON>;

/// Who may join a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JoinRule {
    /// Anyone not banned.
    Public,
    /// Only accounts with a pending invite.
    Invite,
}

/// A member's role in a room. Power: owner 100, moderator 50, member 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// An ordinary member.
    Member,
    /// May kick, ban, unban, redact others' messages and set roles below moderator.
    Moderator,
    /// May do everything, including naming owners.
    Owner,
}

impl Role {
    /// The role's power level.
    pub fn power(self) -> u8 {
        match self {
            Role::Member => 0,
            Role::Moderator => 50,
            Role::Owner => 100,
        }
    }
}

/// What an event does. JSON: an object with a `type` field naming the kind
/// and the kind's fields beside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum EventContent {
    /// Creates a room; its event id is the room id.
    Create {
        /// Display name.
        name: RoomName,
        /// Who may join.
        join_rule: JoinRule,
    },
    /// The author joins.
    Join {},
    /// The author leaves.
    Leave {},
    /// The author invites `target`.
    Invite {
        /// The account invited.
        target: AccountId,
    },
    /// The author removes `target` from the room (it may join again).
    Kick {
        /// The account removed.
        target: AccountId,
        /// Why.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<Reason>,
    },
    /// A message: text, attachments or both.
    Message {
        /// The text (non-empty unless the message has attachments).
        text: MessageText,
        /// The message this one answers.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply_to: Option<EventId>,
        /// The files the message carries (spec/events.md §2.3); omitted
        /// when empty.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        attachments: Vec<Attachment>,
    },
    /// Hides the content of `target`.
    Redact {
        /// The event redacted.
        target: EventId,
        /// Why.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<Reason>,
    },
    /// Gives `target` a role.
    SetRole {
        /// The member whose role changes.
        target: AccountId,
        /// The new role.
        role: Role,
    },
    /// Removes `target` and keeps it out until unbanned.
    Ban {
        /// The account banned.
        target: AccountId,
        /// Why.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<Reason>,
    },
    /// Lifts a ban.
    Unban {
        /// The account unbanned.
        target: AccountId,
    },
}

impl EventContent {
    /// The kind's name, as in the JSON `type` field.
    pub fn kind(&self) -> &'static str {
        match self {
            EventContent::Create { .. } => "create",
            EventContent::Join {} => "join",
            EventContent::Leave {} => "leave",
            EventContent::Invite { .. } => "invite",
            EventContent::Kick { .. } => "kick",
            EventContent::Message { .. } => "message",
            EventContent::Redact { .. } => "redact",
            EventContent::SetRole { .. } => "set_role",
            EventContent::Ban { .. } => "ban",
            EventContent::Unban { .. } => "unban",
        }
    }
}

/// The author-signed part of an event (domain `accord/v1/event`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventBody {
    /// The room; absent exactly for `create`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<RoomId>,
    /// The author.
    pub author: AccountId,
    /// When the author made it (author's clock).
    pub ts: Timestamp,
    /// What it does.
    pub content: EventContent,
}

impl Payload for EventBody {
    const DOMAIN: Domain = Domain::Event;
    const MAX_BODY: usize = MAX_EVENT_BODY;
    fn expected_signer(&self) -> PublicKey {
        *self.author.public_key()
    }
    fn validate(&self) -> Result<(), String> {
        let is_create = matches!(self.content, EventContent::Create { .. });
        match (is_create, self.room.is_some()) {
            (true, true) => return Err("a create event names no room".into()),
            (false, false) => return Err("event names no room".into()),
            _ => {}
        }
        if let EventContent::Message { text, attachments, .. } = &self.content {
            if text.as_str().is_empty() && attachments.is_empty() {
                return Err("message text is empty".into());
            }
            crate::media::validate_attachments(attachments)?;
        }
        Ok(())
    }
}

/// The origin node's countersignature on an event (domain
/// `accord/v1/event-origin`, signed by `origin`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OriginStamp {
    /// The event stamped: SHA-256 of the author-signed body bytes.
    pub event: EventId,
    /// The room (for `create`, the event's own id).
    pub room: RoomId,
    /// The stamping node, which must be the author's home node.
    pub origin: NodeId,
    /// Position among this origin's events in this room, from 1, no gaps.
    pub seq: u64,
    /// Lamport clock: 0 for `create`, otherwise 1 + the greatest depth
    /// among `prev`.
    pub depth: u64,
    /// The room's latest events the origin held (causal references); empty
    /// exactly for `create`.
    pub prev: Vec<EventId>,
    /// When the origin accepted the event (origin's clock).
    pub received: Timestamp,
}

impl Payload for OriginStamp {
    const DOMAIN: Domain = Domain::EventOrigin;
    const MAX_BODY: usize = MAX_STAMP_BODY;
    fn expected_signer(&self) -> PublicKey {
        *self.origin.public_key()
    }
    fn validate(&self) -> Result<(), String> {
        if self.seq == 0 {
            return Err("sequence numbers start at 1".into());
        }
        if self.prev.len() > MAX_PREV {
            return Err(format!("more than {MAX_PREV} prev references"));
        }
        let unique: BTreeSet<&EventId> = self.prev.iter().collect();
        if unique.len() != self.prev.len() {
            return Err("duplicate prev reference".into());
        }
        if self.prev.contains(&self.event) {
            return Err("an event cannot reference itself".into());
        }
        Ok(())
    }
}

/// An event as it travels: the author's envelope and the origin's stamp.
///
/// JSON: `{"author": SignedBytes, "origin": SignedBytes}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnverifiedEvent {
    /// The author-signed body.
    pub author: Unverified<EventBody>,
    /// The origin node's stamp.
    pub origin: Unverified<OriginStamp>,
}

/// Why an event was refused before room rules were applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EventError {
    /// The author's envelope was refused.
    #[error("author envelope: {0}")]
    Author(EnvelopeError),
    /// The origin stamp was refused.
    #[error("origin stamp: {0}")]
    Origin(EnvelopeError),
    /// The stamp and the body do not belong together, or break a structural
    /// rule (see the message).
    #[error("inconsistent event: {0}")]
    Inconsistent(String),
}

impl EventError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            EventError::Author(e) | EventError::Origin(e) => e.code(),
            EventError::Inconsistent(_) => "inconsistent_event",
        }
    }
}

impl UnverifiedEvent {
    /// Verifies both signatures and the structural rules of spec/events.md §3.
    pub fn verify(&self) -> Result<Event, EventError> {
        let author = self.author.verify().map_err(EventError::Author)?;
        let origin = self.origin.verify().map_err(EventError::Origin)?;
        Event::assemble(author, origin)
    }

    /// Verifies the stamp of an event whose author envelope is `author`,
    /// already verified: the author who signed it needs no second check
    /// when the node hands back the same envelope (a send receipt). The
    /// author envelope given must equal this event's, bytes and signature,
    /// or the event is refused as inconsistent.
    pub fn verify_stamp_of(&self, author: &Verified<EventBody>) -> Result<Event, EventError> {
        if self.author.raw() != author.raw() {
            return Err(EventError::Inconsistent("the author envelope is not the one given".into()));
        }
        let origin = self.origin.verify().map_err(EventError::Origin)?;
        Event::assemble(author.clone(), origin)
    }

    /// Verifies many events with one batch signature check.
    pub fn verify_many(events: &[UnverifiedEvent]) -> Vec<Result<Event, EventError>> {
        // Fast path: both signatures of every event in one batch; on any
        // failure each event is verified alone for an exact diagnosis.
        let inputs: Vec<(PublicKey, Vec<u8>, crate::keys::Signature)> = events
            .iter()
            .flat_map(|e| {
                [
                    (e.author.raw().signer, Domain::Event.signing_input(&e.author.raw().body), e.author.raw().sig),
                    (
                        e.origin.raw().signer,
                        Domain::EventOrigin.signing_input(&e.origin.raw().body),
                        e.origin.raw().sig,
                    ),
                ]
            })
            .collect();
        let all_sized = events
            .iter()
            .all(|e| e.author.raw().body.len() <= MAX_EVENT_BODY && e.origin.raw().body.len() <= MAX_STAMP_BODY);
        let batch: Vec<(PublicKey, &[u8], crate::keys::Signature)> =
            inputs.iter().map(|(k, m, s)| (*k, m.as_slice(), *s)).collect();
        if all_sized && !batch.is_empty() && verify_batch(&batch).iter().all(|ok| *ok) {
            return events.iter().map(|e| e.parse_after_batch()).collect();
        }
        events.iter().map(UnverifiedEvent::verify).collect()
    }

    /// Parses an event whose two signatures a batch has verified.
    fn parse_after_batch(&self) -> Result<Event, EventError> {
        let author = self.author.parse_signature_checked().map_err(EventError::Author)?;
        let origin = self.origin.parse_signature_checked().map_err(EventError::Origin)?;
        Event::assemble(author, origin)
    }

    /// Parses an event that this node verified before it stored it,
    /// without checking its two signatures again: for a node reading its
    /// own store (a room derived anew, a restart), never for anything a
    /// client or a peer sent. Sizes, encodings and the structural rules
    /// are still checked.
    pub fn from_own_store(&self) -> Result<Event, EventError> {
        self.parse_after_batch()
    }

    /// The event id (SHA-256 of the author body), computed without verifying.
    pub fn claimed_id(&self) -> EventId {
        EventId(self.author.body_hash())
    }
}

/// A verified event: both signatures hold, the stamp names this body, and
/// the structural rules hold. Room rules are applied separately
/// ([`crate::room`]).
#[derive(Debug, Clone)]
pub struct Event {
    author: Verified<EventBody>,
    origin: Verified<OriginStamp>,
    id: EventId,
    /// The blocklist index key of a message's content, made once here:
    /// every enforcement check of the event reads it.
    content_key: Option<Sha256Hash>,
}

impl Event {
    /// Joins a verified body and stamp, checking that they belong together.
    pub fn assemble(author: Verified<EventBody>, origin: Verified<OriginStamp>) -> Result<Event, EventError> {
        let id = EventId(author.body_hash());
        let bad = |m: &str| Err(EventError::Inconsistent(m.to_string()));
        if origin.event != id {
            return bad("the stamp names another event");
        }
        let is_create = matches!(author.content, EventContent::Create { .. });
        if is_create {
            if origin.room != RoomId::from(id) {
                return bad("a create event's room is its own id");
            }
            if origin.depth != 0 || !origin.prev.is_empty() || origin.seq != 1 {
                return bad("a create event has depth 0, no prev and seq 1");
            }
        } else {
            if author.room != Some(origin.room) {
                return bad("the stamp names another room than the body");
            }
            if origin.depth == 0 || origin.prev.is_empty() {
                return bad("only a create event has depth 0 or no prev");
            }
        }
        let content_key = match &author.content {
            EventContent::Message { text, .. } => {
                Some(crate::blocklist::entry::content_target_hash(&Sha256Hash::digest(text.as_str().as_bytes())))
            }
            _ => None,
        };
        Ok(Event { author, origin, id, content_key })
    }

    /// Stamps an author-signed body as its origin node.
    pub fn stamp(
        author: Verified<EventBody>,
        node_key: &SecretKey,
        seq: u64,
        prev: Vec<EventId>,
        depth: u64,
        received: Timestamp,
    ) -> Result<Event, EventError> {
        let id = EventId(author.body_hash());
        let room = author.room.unwrap_or(RoomId::from(id));
        let stamp =
            OriginStamp { event: id, room, origin: NodeId::from(node_key.public()), seq, depth, prev, received };
        let origin = Verified::sign(stamp, node_key).map_err(EventError::Origin)?;
        Event::assemble(author, origin)
    }

    /// The event id.
    pub fn id(&self) -> EventId {
        self.id
    }

    /// The room.
    pub fn room(&self) -> RoomId {
        self.origin.room
    }

    /// The author.
    pub fn author(&self) -> AccountId {
        self.author.author
    }

    /// The origin node.
    pub fn origin(&self) -> NodeId {
        self.origin.origin
    }

    /// The author-signed body.
    pub fn body(&self) -> &Verified<EventBody> {
        &self.author
    }

    /// The origin stamp.
    pub fn stamp_part(&self) -> &Verified<OriginStamp> {
        &self.origin
    }

    /// The content.
    pub fn content(&self) -> &EventContent {
        &self.author.content
    }

    /// The position of this event in the room's total order
    /// (spec/events.md §4): `(depth, id)`, compared as integers then bytes.
    pub fn order_key(&self) -> (u64, EventId) {
        (self.origin.depth, self.id)
    }

    /// The wire form.
    pub fn to_unverified(&self) -> UnverifiedEvent {
        UnverifiedEvent { author: self.author.to_unverified(), origin: self.origin.to_unverified() }
    }

    /// The blocklist index key of the message's content
    /// (`SHA-256("content:" ‖ hex(SHA-256(text)))`, spec/blocklists.md §2),
    /// made when the event was assembled; `None` for events that carry no
    /// text.
    pub fn content_key(&self) -> Option<Sha256Hash> {
        self.content_key
    }

    /// The attachments of a message (empty for other events).
    pub fn attachments(&self) -> &[Attachment] {
        match &self.author.content {
            EventContent::Message { attachments, .. } => attachments,
            _ => &[],
        }
    }

    /// SHA-256 of the message text, for content-hash enforcement; `None`
    /// for events that carry no text.
    pub fn content_hash(&self) -> Option<Sha256Hash> {
        match &self.author.content {
            EventContent::Message { text, .. } => Some(Sha256Hash::digest(text.as_str().as_bytes())),
            _ => None,
        }
    }
}

impl Serialize for Event {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_unverified().serialize(s)
    }
}

impl PartialEq for Event {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id && self.origin.raw() == other.origin.raw()
    }
}

impl Eq for Event {}

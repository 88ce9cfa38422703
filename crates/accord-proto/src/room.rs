//! Room rules: the total order over a room's events, the authorization
//! rule applied at each event's place in it, and the derived state
//! (spec/events.md §4–§6).
//!
//! The order sorts events by `(depth, event id)`. It depends only on the
//! events themselves, so every node holding the same set derives the same
//! order, the same state and the same history hash, whatever the arrival
//! order was. An event that the rules refuse at its place stays in the set
//! (it may be referenced) but changes nothing and is not part of the
//! history hash.

use crate::event::{Event, EventContent, JoinRule, Role, RoomName};
use crate::hash::Sha256Hash;
use crate::ids::{AccountId, EventId, RoomId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Why the room rules refuse an event at its place in the order. Each
/// variant has a stable [`code`](Self::code).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The event belongs to another room.
    #[error("event belongs to another room")]
    WrongRoom,
    /// A `create` event other than the room's own.
    #[error("a room has exactly one create event")]
    ExtraCreate,
    /// The author is banned from the room.
    #[error("author is banned from this room")]
    Banned,
    /// The author is not a member.
    #[error("author is not a member of this room")]
    NotMember,
    /// The author is already a member.
    #[error("author is already a member")]
    AlreadyMember,
    /// The room is invite-only and the author has no invite.
    #[error("room is invite-only and author has no invite")]
    NotInvited,
    /// The author's role is too low for this action on this target.
    #[error("author's role does not allow this")]
    Forbidden,
    /// The target of the action is not in the required state.
    #[error("target {0}")]
    Target(&'static str),
}

impl AuthError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::WrongRoom => "wrong_room",
            AuthError::ExtraCreate => "extra_create",
            AuthError::Banned => "banned",
            AuthError::NotMember => "not_member",
            AuthError::AlreadyMember => "already_member",
            AuthError::NotInvited => "not_invited",
            AuthError::Forbidden => "forbidden",
            AuthError::Target(_) => "bad_target",
        }
    }
}

/// Who wrote the messages accepted before a place in a room's order: what
/// the rules need to judge a redaction (an author may redact their own
/// messages). The state does not hold them, so that its size does not grow
/// with the room's history: a node with a long history looks them up in its
/// store, and [`MessageIndex`] holds them in memory.
pub trait MessageAuthors {
    /// The author of `message` if it is a message accepted before the
    /// place being judged.
    fn author_of(&self, message: &EventId) -> Option<AccountId>;
}

/// The authors of accepted messages, held in memory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageIndex(BTreeMap<EventId, AccountId>);

impl MessageIndex {
    /// Remembers the author of `event` if it is a message.
    pub fn record(&mut self, event: &Event) {
        if matches!(event.content(), EventContent::Message { .. }) {
            self.0.insert(event.id(), event.author());
        }
    }
}

impl MessageAuthors for MessageIndex {
    fn author_of(&self, message: &EventId) -> Option<AccountId> {
        self.0.get(message).copied()
    }
}

/// The state of a room after applying a prefix of its ordered events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomState {
    room: RoomId,
    name: RoomName,
    join_rule: JoinRule,
    creator: AccountId,
    members: BTreeSet<AccountId>,
    roles: BTreeMap<AccountId, Role>,
    bans: BTreeSet<AccountId>,
    invites: BTreeSet<AccountId>,
    redacted: BTreeSet<EventId>,
    history: Sha256Hash,
    accepted: u64,
    last: (u64, EventId),
}

/// The first link of a room's history hash chain:
/// `SHA-256("accord/v1/history" ‖ 0x00 ‖ room id bytes)`.
pub fn history_seed(room: RoomId) -> Sha256Hash {
    Sha256Hash::digest_parts(&[b"accord/v1/history\0", room.as_bytes()])
}

/// The next link of a room's history hash chain: the chain `history`
/// extended with the accepted event `id` (`SHA-256(history ‖ id)`,
/// spec/events.md §6.3).
pub fn chain_history(history: Sha256Hash, id: &EventId) -> Sha256Hash {
    Sha256Hash::digest_parts(&[history.as_bytes(), id.as_bytes()])
}

impl RoomState {
    /// The state right after the room's `create` event.
    pub fn from_create(create: &Event) -> Result<RoomState, AuthError> {
        let EventContent::Create { name, join_rule } = create.content() else {
            return Err(AuthError::WrongRoom);
        };
        let room = RoomId::from(create.id());
        if create.room() != room {
            return Err(AuthError::WrongRoom);
        }
        let creator = create.author();
        let mut state = RoomState {
            room,
            name: name.clone(),
            join_rule: *join_rule,
            creator,
            members: BTreeSet::from([creator]),
            roles: BTreeMap::from([(creator, Role::Owner)]),
            bans: BTreeSet::new(),
            invites: BTreeSet::new(),
            redacted: BTreeSet::new(),
            history: history_seed(room),
            accepted: 0,
            last: create.order_key(),
        };
        state.extend_history(create.id());
        Ok(state)
    }

    /// The room.
    pub fn room(&self) -> RoomId {
        self.room
    }

    /// The display name.
    pub fn name(&self) -> &RoomName {
        &self.name
    }

    /// Who may join.
    pub fn join_rule(&self) -> JoinRule {
        self.join_rule
    }

    /// The account that created the room.
    pub fn creator(&self) -> AccountId {
        self.creator
    }

    /// Current members.
    pub fn members(&self) -> &BTreeSet<AccountId> {
        &self.members
    }

    /// Whether `account` is a member.
    pub fn is_member(&self, account: &AccountId) -> bool {
        self.members.contains(account)
    }

    /// Banned accounts.
    pub fn bans(&self) -> &BTreeSet<AccountId> {
        &self.bans
    }

    /// Pending invites.
    pub fn invites(&self) -> &BTreeSet<AccountId> {
        &self.invites
    }

    /// Redacted events.
    pub fn redacted(&self) -> &BTreeSet<EventId> {
        &self.redacted
    }

    /// The role of `account` (members without an explicit role are members).
    pub fn role(&self, account: &AccountId) -> Role {
        self.roles.get(account).copied().unwrap_or(Role::Member)
    }

    /// Accounts with a role above member.
    pub fn roles(&self) -> &BTreeMap<AccountId, Role> {
        &self.roles
    }

    /// The history hash: the chain over every accepted event id in order.
    pub fn history_hash(&self) -> Sha256Hash {
        self.history
    }

    /// How many events were accepted (including `create`).
    pub fn accepted(&self) -> u64 {
        self.accepted
    }

    /// The order key of the last event applied.
    pub fn last_key(&self) -> (u64, EventId) {
        self.last
    }

    fn extend_history(&mut self, id: EventId) {
        self.history = chain_history(self.history, &id);
        self.accepted += 1;
    }

    /// Takes in a message whose place in the order is before events
    /// already applied, when every event applied after that place is a
    /// message too: then the state at its place is this state but for the
    /// history, so the rules judge it here, and no later verdict changes.
    /// If accepted, `history`
    /// becomes the history hash: the caller's chain recomputed over the
    /// accepted events in their new order (with [`chain_history`]). The
    /// result equals applying every event again from `create`, without
    /// the cost of doing so for each message that arrives out of order.
    /// `None` (and nothing changed) when the event is not a message.
    pub fn insert_message(&mut self, event: &Event, history: Sha256Hash) -> Option<Result<(), AuthError>> {
        if !matches!(event.content(), EventContent::Message { .. }) {
            return None;
        }
        // A message's authorization looks up no earlier message.
        if let Err(e) = self.authorize(event, &MessageIndex::default()) {
            return Some(Err(e));
        }
        self.history = history;
        self.accepted += 1;
        self.last = self.last.max(event.order_key());
        Some(Ok(()))
    }

    fn power(&self, account: &AccountId) -> u8 {
        self.role(account).power()
    }

    /// Whether the rules allow `event` as the next event in the order;
    /// `messages` names the authors of the messages accepted before it.
    pub fn authorize(&self, event: &Event, messages: &dyn MessageAuthors) -> Result<(), AuthError> {
        if event.room() != self.room {
            return Err(AuthError::WrongRoom);
        }
        let author = event.author();
        if self.bans.contains(&author) {
            return Err(AuthError::Banned);
        }
        let is_member = self.members.contains(&author);
        let need_member = || if is_member { Ok(()) } else { Err(AuthError::NotMember) };
        let my_power = self.power(&author);
        match event.content() {
            EventContent::Create { .. } => Err(AuthError::ExtraCreate),
            EventContent::Join {} => {
                if is_member {
                    return Err(AuthError::AlreadyMember);
                }
                if self.join_rule == JoinRule::Invite && !self.invites.contains(&author) {
                    return Err(AuthError::NotInvited);
                }
                Ok(())
            }
            EventContent::Leave {} | EventContent::Message { .. } => need_member(),
            EventContent::Invite { target } => {
                need_member()?;
                if self.bans.contains(target) {
                    return Err(AuthError::Target("is banned"));
                }
                if self.members.contains(target) {
                    return Err(AuthError::Target("is already a member"));
                }
                Ok(())
            }
            EventContent::Kick { target, .. } => {
                need_member()?;
                if !self.members.contains(target) {
                    return Err(AuthError::Target("is not a member"));
                }
                if my_power < Role::Moderator.power() || my_power <= self.power(target) {
                    return Err(AuthError::Forbidden);
                }
                Ok(())
            }
            EventContent::Ban { target, .. } => {
                need_member()?;
                if my_power < Role::Moderator.power() || my_power <= self.power(target) {
                    return Err(AuthError::Forbidden);
                }
                if self.bans.contains(target) {
                    return Err(AuthError::Target("is already banned"));
                }
                Ok(())
            }
            EventContent::Unban { target } => {
                need_member()?;
                if my_power < Role::Moderator.power() {
                    return Err(AuthError::Forbidden);
                }
                if !self.bans.contains(target) {
                    return Err(AuthError::Target("is not banned"));
                }
                Ok(())
            }
            EventContent::Redact { target, .. } => {
                need_member()?;
                let own = messages.author_of(target) == Some(author);
                if own || my_power >= Role::Moderator.power() { Ok(()) } else { Err(AuthError::Forbidden) }
            }
            EventContent::SetRole { target, role } => {
                need_member()?;
                if !self.members.contains(target) {
                    return Err(AuthError::Target("is not a member"));
                }
                // Self-demotion is always allowed; otherwise the author must
                // be a moderator above the target, and may grant only roles
                // below its own, except that owners may name owners.
                let self_demotion = *target == author && role.power() <= my_power;
                let allowed = my_power >= Role::Moderator.power()
                    && my_power > self.power(target)
                    && (role.power() < my_power || my_power == Role::Owner.power());
                if self_demotion || allowed { Ok(()) } else { Err(AuthError::Forbidden) }
            }
        }
    }

    /// Applies `event` as the next event in the order if the rules allow it;
    /// otherwise leaves the state unchanged and says why. `messages` names
    /// the authors of the messages accepted before it; recording `event`'s
    /// own author, if it is an accepted message, is the caller's part (see
    /// [`RoomState::apply_indexed`]).
    pub fn apply(&mut self, event: &Event, messages: &dyn MessageAuthors) -> Result<(), AuthError> {
        self.authorize(event, messages)?;
        let author = event.author();
        match event.content() {
            EventContent::Create { .. } => return Err(AuthError::ExtraCreate),
            EventContent::Join {} => {
                self.invites.remove(&author);
                self.members.insert(author);
            }
            EventContent::Leave {} => {
                self.members.remove(&author);
            }
            EventContent::Invite { target } => {
                self.invites.insert(*target);
            }
            EventContent::Kick { target, .. } => {
                self.members.remove(target);
                self.invites.remove(target);
                self.roles.remove(target);
            }
            EventContent::Message { .. } => {}
            EventContent::Redact { target, .. } => {
                self.redacted.insert(*target);
            }
            EventContent::SetRole { target, role } => {
                if *role == Role::Member {
                    self.roles.remove(target);
                } else {
                    self.roles.insert(*target, *role);
                }
            }
            EventContent::Ban { target, .. } => {
                self.members.remove(target);
                self.invites.remove(target);
                self.roles.remove(target);
                self.bans.insert(*target);
            }
            EventContent::Unban { target } => {
                self.bans.remove(target);
            }
        }
        self.last = event.order_key();
        self.extend_history(event.id());
        Ok(())
    }
}

impl RoomState {
    /// Applies `event` as [`RoomState::apply`] does, judging redactions by
    /// `index` and recording the event in it if it is an accepted message.
    pub fn apply_indexed(&mut self, event: &Event, index: &mut MessageIndex) -> Result<(), AuthError> {
        self.apply(event, index)?;
        index.record(event);
        Ok(())
    }
}

/// A room's events in their total order, each with the rules' verdict.
#[derive(Debug, Clone)]
pub struct Timeline {
    /// Event ids in order, with `Ok` for accepted and the reason otherwise.
    pub order: Vec<(EventId, Result<(), AuthError>)>,
    /// The state after all accepted events.
    pub state: RoomState,
}

/// Why a set of events cannot be resolved into a timeline.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    /// The set does not contain the room's `create` event.
    #[error("the room's create event is missing")]
    MissingCreate,
}

impl ResolveError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ResolveError::MissingCreate => "missing_create",
        }
    }
}

/// Orders a room's events and applies the rules to each in turn.
///
/// Events of other rooms and duplicates (same id) are ignored; the result
/// depends only on the set of events given, not on their order.
pub fn resolve(room: RoomId, events: &[Event]) -> Result<Timeline, ResolveError> {
    let mut sorted: Vec<&Event> = events.iter().filter(|e| e.room() == room).collect();
    sorted.sort_by_key(|e| e.order_key());
    // One event (id) counts once, at its first place in the order, even if
    // it arrived with several stamps.
    let mut seen = BTreeSet::new();
    sorted.retain(|e| seen.insert(e.id()));
    let create_pos = sorted.iter().position(|e| e.id() == EventId(room.0)).ok_or(ResolveError::MissingCreate)?;
    let create = sorted[create_pos];
    let mut state = RoomState::from_create(create).map_err(|_| ResolveError::MissingCreate)?;
    let mut order = Vec::with_capacity(sorted.len());
    let mut messages = MessageIndex::default();
    for event in sorted {
        if event.id() == create.id() {
            order.push((event.id(), Ok(())));
            continue;
        }
        let verdict = state.apply_indexed(event, &mut messages);
        order.push((event.id(), verdict));
    }
    Ok(Timeline { order, state })
}

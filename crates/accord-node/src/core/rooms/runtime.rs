//! One room's runtime: its events in their total order, the state and
//! verdicts derived from them, the per-origin sequence numbers, the room's
//! hosts, and the live feed of its timeline.

use accord_proto::event::{Event, EventContent, Role, UnverifiedEvent};
use accord_proto::room::{AuthError, RoomState, chain_history, history_seed};
use accord_proto::{AccountId, EventId, NodeId, Sha256Hash};
use accord_store::{MembershipChange, TimelineEntry};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;
use std::sync::Arc;
use tokio::sync::broadcast;

/// Capacity of each room's live feed; a subscriber further behind is told
/// it lagged and continues from the store.
pub const LIVE_FEED: usize = 1024;

/// One entry of a room's timeline as served to clients.
#[derive(Debug, Clone, Serialize)]
pub struct TimelineItem {
    /// Position in this node's timeline of the room.
    pub cursor: u64,
    /// The event, both envelopes; absent when a blocklist entry hides it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<UnverifiedEvent>,
    /// The room rules' verdict at the event's place in the order.
    pub accepted: bool,
    /// Whether a redaction hides its content.
    pub redacted: bool,
    /// The blocklist entry that hides the event here, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hidden: Option<crate::core::lists::Provenance>,
}

impl TimelineItem {
    /// A stored item as served to clients: without its event when an
    /// enforced blocklist entry matches it (retroactively, at read time);
    /// redacted when its author deleted the account (spec/identities.md
    /// §5).
    pub fn served(mut self, core: &crate::core::Core) -> TimelineItem {
        if let Some(event) = &self.event {
            if let Some(provenance) = core.lists.check_wire(&core.store, event) {
                self.event = None;
                self.hidden = Some(provenance);
            } else if core.accounts.is_deleted(&AccountId::from(event.author.raw().signer)) {
                self.redacted = true;
            }
        }
        self
    }
}

/// A stored item as the live feed carries it, with the account (if any)
/// that the event removed from the room, so that its streams end at once.
#[derive(Debug, Clone)]
pub struct LiveItem {
    /// The item.
    pub item: TimelineItem,
    /// The account the event made a non-member (leave, kick, ban).
    pub removed: Option<AccountId>,
}

impl LiveItem {
    /// The live form of a stored event.
    pub fn new(item: TimelineItem, event: &Event) -> LiveItem {
        let removed = match event.content() {
            _ if !item.accepted => None,
            EventContent::Leave {} => Some(event.author()),
            EventContent::Kick { target, .. } | EventContent::Ban { target, .. } => Some(*target),
            _ => None,
        };
        LiveItem { item, removed }
    }
}

/// One origin's events in a room, by sequence number.
#[derive(Default)]
struct OriginSeqs {
    /// Sequence number → event id, for events held (or remembered as seen).
    ids: BTreeMap<u64, EventId>,
    /// Highest sequence number with nothing missing below it.
    contiguous: u64,
}

impl OriginSeqs {
    fn add(&mut self, seq: u64, id: EventId) {
        self.ids.insert(seq, id);
        while self.ids.contains_key(&(self.contiguous + 1)) {
            self.contiguous += 1;
        }
    }
}

/// What adding an event to a room's runtime did.
#[derive(Debug)]
pub struct Added {
    /// The room rules' verdict at the event's place in the order.
    pub verdict: Result<(), AuthError>,
    /// Membership rows that changed (to write with the event).
    pub memberships: Vec<MembershipChange>,
    /// Whether the state was derived anew because the event's place is
    /// before events already held.
    pub rederived: bool,
}

/// The mutable runtime of one room: every event held, in the room's total
/// order, and what derives from them.
pub struct RoomRuntime {
    /// Derived state after every accepted event.
    pub state: RoomState,
    /// Every event held, by order key.
    events: BTreeMap<(u64, EventId), Event>,
    /// Depth of every event held, by id.
    depths: HashMap<EventId, u64>,
    /// Events the rules refuse at their place, with the reason.
    refused: HashMap<EventId, AuthError>,
    /// The history hash after each accepted event, by order key: where a
    /// message that arrives out of order re-chains from.
    chain: BTreeMap<(u64, EventId), Sha256Hash>,
    /// The order key of the last event held that is not a message (the
    /// `create` at least): messages placed after it change no verdict.
    structural: (u64, EventId),
    /// Per origin node: its events by sequence number.
    origins: HashMap<NodeId, OriginSeqs>,
    /// Home nodes of members and pending invitees (the room's hosts).
    hosts: BTreeSet<NodeId>,
    /// This node: the origin whose sequence `next_seq` counts.
    me: NodeId,
    /// Next sequence number of this node's events in the room.
    pub next_seq: u64,
    /// Highest cursor stored.
    pub cursor: u64,
    /// Live feed of newly stored timeline items, made on first subscribe
    /// (a room nobody follows costs no buffer).
    live: Option<broadcast::Sender<Arc<LiveItem>>>,
}

/// The membership rows that differ between two states of a room.
fn membership_diff(old: &RoomState, new: &RoomState) -> Vec<MembershipChange> {
    let accounts: BTreeSet<&AccountId> = old.members().iter().chain(new.members()).collect();
    let row = |s: &RoomState, a: &AccountId| s.is_member(a).then(|| s.role(a));
    accounts
        .into_iter()
        .filter(|a| row(old, a) != row(new, a))
        .map(|a| MembershipChange { account: *a, role: row(new, a) })
        .collect()
}

impl RoomRuntime {
    /// A new room from its create event (cursor 1), held by node `me`.
    pub fn from_create(create: &Event, me: NodeId) -> Option<RoomRuntime> {
        let state = RoomState::from_create(create).ok()?;
        let mut rt = RoomRuntime {
            chain: BTreeMap::from([(create.order_key(), state.history_hash())]),
            structural: create.order_key(),
            state,
            events: BTreeMap::new(),
            depths: HashMap::new(),
            refused: HashMap::new(),
            origins: HashMap::new(),
            hosts: BTreeSet::from([create.origin()]),
            me,
            next_seq: 1,
            cursor: 1,
            live: None,
        };
        rt.index(create.clone());
        Some(rt)
    }

    pub(super) fn index(&mut self, event: Event) {
        let stamp = event.stamp_part();
        if stamp.origin == self.me {
            self.next_seq = self.next_seq.max(stamp.seq + 1);
        }
        self.depths.insert(event.id(), stamp.depth);
        self.origins.entry(stamp.origin).or_default().add(stamp.seq, event.id());
        if !matches!(event.content(), EventContent::Message { .. }) {
            self.structural = self.structural.max(event.order_key());
        }
        self.events.insert(event.order_key(), event);
    }

    /// The latest event held (the `prev` of the next local event).
    pub fn head(&self) -> (u64, EventId) {
        self.events.keys().next_back().copied().unwrap_or((0, EventId(self.state.room().0)))
    }

    /// Whether the room holds the event.
    pub fn contains(&self, id: &EventId) -> bool {
        self.depths.contains_key(id)
    }

    /// The depth of a held event.
    pub fn depth_of(&self, id: &EventId) -> Option<u64> {
        self.depths.get(id).copied()
    }

    /// The event an origin numbered `seq` in this room, if held or seen.
    pub fn at_seq(&self, origin: &NodeId, seq: u64) -> Option<EventId> {
        self.origins.get(origin).and_then(|o| o.ids.get(&seq)).copied()
    }

    /// Per origin, the highest sequence number held with no gap below it.
    pub fn held(&self) -> BTreeMap<NodeId, u64> {
        self.origins.iter().map(|(o, s)| (*o, s.contiguous)).collect()
    }

    /// Remembers that an origin's event was seen and refused, so that sync
    /// does not ask for it again (until restart).
    pub fn remember_refused(&mut self, origin: NodeId, seq: u64, id: EventId) {
        self.origins.entry(origin).or_default().add(seq, id);
    }

    /// Remembers an event refused by a blocklist as seen, with its depth,
    /// so that later events may name it as a causal reference (and a copy
    /// of it is a duplicate) although it is not stored (until restart).
    pub fn remember_blocked(&mut self, origin: NodeId, seq: u64, id: EventId, depth: u64) {
        self.depths.insert(id, depth);
        self.remember_refused(origin, seq, id);
    }

    /// The home nodes of the room's members and pending invitees.
    pub fn hosts(&self) -> &BTreeSet<NodeId> {
        &self.hosts
    }

    /// Recomputes the hosts from the state, with `home` giving an
    /// account's home node where known.
    pub fn refresh_hosts(&mut self, home: impl Fn(&AccountId) -> Option<NodeId>) {
        let s = &self.state;
        self.hosts = s.members().iter().chain(s.invites()).filter_map(home).collect();
    }

    /// This node's `create` and `join` events of accounts that are members
    /// now: what tells another node that this node is a host of the room.
    pub fn own_memberships(&self) -> Vec<UnverifiedEvent> {
        self.events
            .values()
            .filter(|e| e.origin() == self.me && self.state.is_member(&e.author()))
            .filter(|e| matches!(e.content(), EventContent::Create { .. } | EventContent::Join {}))
            .map(Event::to_unverified)
            .collect()
    }

    /// Whether the rules accept the held event at its place.
    pub fn is_accepted(&self, id: &EventId) -> bool {
        !self.refused.contains_key(id)
    }

    /// Adds a verified event whose `prev` are all held. The rules judge it
    /// at its place in the order. When that place is before events already
    /// held, a message followed only by messages is judged by the current
    /// state and re-chains the history from its place; any other event
    /// derives the state and every verdict anew from `create`.
    pub fn add(&mut self, event: Event) -> Added {
        let key = event.order_key();
        if key > self.head() {
            let memberships =
                if self.state.authorize(&event).is_ok() { self.membership_changes(&event) } else { vec![] };
            let verdict = self.state.apply(&event);
            match &verdict {
                Ok(()) => {
                    self.chain.insert(key, self.state.history_hash());
                }
                Err(e) => {
                    self.refused.insert(event.id(), e.clone());
                }
            }
            self.index(event);
            return Added { verdict, memberships, rederived: false };
        }
        if key > self.structural && matches!(event.content(), EventContent::Message { .. }) {
            let verdict = self.state.authorize(&event).and_then(|()| {
                let history = self.rechain(key);
                // A message (checked above) is always taken in.
                self.state.insert_message(&event, history).unwrap_or(Ok(()))
            });
            if let Err(e) = &verdict {
                self.refused.insert(event.id(), e.clone());
            }
            self.index(event);
            return Added { verdict, memberships: vec![], rederived: false };
        }
        let id = event.id();
        self.index(event);
        let old = self.state.clone();
        self.rederive();
        let verdict = match self.refused.get(&id) {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        };
        Added { verdict, memberships: membership_diff(&old, &self.state), rederived: true }
    }

    /// Replaces the runtime with one loaded from the store, keeping the
    /// live feed and its subscribers.
    pub fn replace_keeping_live(&mut self, fresh: RoomRuntime) {
        let live = self.live.take();
        *self = fresh;
        self.live = live;
    }

    /// Puts an accepted event's place into the history chain and chains
    /// every accepted event after it again; the history hash after the
    /// last of them.
    fn rechain(&mut self, key: (u64, EventId)) -> Sha256Hash {
        let before = self.chain.range(..key).next_back().map(|(_, h)| *h);
        let mut history = chain_history(before.unwrap_or_else(|| history_seed(self.state.room())), &key.1);
        self.chain.insert(key, history);
        for (later, link) in self.chain.range_mut((Bound::Excluded(key), Bound::Unbounded)) {
            history = chain_history(history, &later.1);
            *link = history;
        }
        history
    }

    /// Derives the state and every verdict anew from the events held.
    pub(super) fn rederive(&mut self) {
        self.refused.clear();
        self.chain.clear();
        let mut events = self.events.values();
        let Some(create) = events.next() else { return };
        let Ok(mut state) = RoomState::from_create(create) else { return };
        self.chain.insert(create.order_key(), state.history_hash());
        for event in events {
            match state.apply(event) {
                Ok(()) => {
                    self.chain.insert(event.order_key(), state.history_hash());
                }
                Err(e) => {
                    self.refused.insert(event.id(), e);
                }
            }
        }
        self.state = state;
    }

    /// Stored timeline entries as served to clients, with the rules'
    /// verdict and whether a redaction hides them.
    pub fn items(&self, entries: Vec<TimelineEntry>) -> Vec<TimelineItem> {
        let redacted = self.state.redacted();
        entries
            .into_iter()
            .map(|e| {
                let id = e.event.claimed_id();
                TimelineItem {
                    cursor: e.cursor,
                    accepted: self.is_accepted(&id),
                    redacted: redacted.contains(&id),
                    event: Some(e.event),
                    hidden: None,
                }
            })
            .collect()
    }

    /// A receiver of the room's live feed. Items are shared, not copied:
    /// the feed's buffer is [`LIVE_FEED`] pointers, allocated whole when
    /// the first follower subscribes, and each follower's receive is a
    /// reference count.
    pub fn subscribe(&mut self) -> broadcast::Receiver<Arc<LiveItem>> {
        self.live.get_or_insert_with(|| broadcast::channel(LIVE_FEED).0).subscribe()
    }

    /// Publishes a stored item to live subscribers, if any.
    pub fn publish(&mut self, item: LiveItem) {
        if let Some(live) = &self.live
            && live.send(Arc::new(item)).is_err()
        {
            // Nobody is listening any more: free the buffer.
            self.live = None;
        }
    }

    /// The membership rows `event` will change once applied, computed
    /// before applying it (the event must be authorized).
    fn membership_changes(&self, event: &Event) -> Vec<MembershipChange> {
        let s = &self.state;
        let author = event.author();
        let row = |account, role| MembershipChange { account, role };
        match event.content() {
            EventContent::Create { .. } => vec![row(author, Some(Role::Owner))],
            EventContent::Join {} => vec![row(author, Some(s.role(&author)))],
            EventContent::Leave {} => vec![row(author, None)],
            EventContent::Kick { target, .. } | EventContent::Ban { target, .. } => vec![row(*target, None)],
            EventContent::SetRole { target, role } => vec![row(*target, Some(*role))],
            EventContent::Invite { .. }
            | EventContent::Message { .. }
            | EventContent::Redact { .. }
            | EventContent::Unban { .. } => vec![],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use accord_proto::event::{EventBody, JoinRule};
    use accord_proto::room::resolve;
    use accord_proto::{RoomId, SecretKey, Timestamp, Verified};
    use proptest::prelude::*;

    fn key(byte: u8) -> SecretKey {
        SecretKey::from_seed([byte; 32])
    }

    /// `content` by account `author` in `room`, stamped by one node with
    /// sequence number `seq` at `depth`.
    fn event(author: u8, room: Option<RoomId>, content: EventContent, seq: u64, depth: u64) -> Event {
        let author = key(author);
        let body = EventBody { room, author: author.account_id(), ts: Timestamp::from_millis(1_000 + seq), content };
        let signed = Verified::sign(body, &author).expect("sign");
        let prev = room.map(|r| vec![EventId(r.0)]).unwrap_or_default();
        Event::stamp(signed, &key(200), seq, prev, depth, Timestamp::from_millis(2_000 + seq)).expect("stamp")
    }

    /// What each generated step does: (kind, author, depth).
    fn arb_step() -> impl Strategy<Value = (u8, u8, u64)> {
        (0u8..10, 1u8..4, 1u64..6)
    }

    fn content(kind: u8, target: AccountId, earlier: Option<EventId>) -> EventContent {
        match (kind, earlier) {
            (0, _) => EventContent::Join {},
            (1, _) => EventContent::Leave {},
            (2, _) => EventContent::Ban { target, reason: None },
            (3, Some(target)) => EventContent::Redact { target, reason: None },
            (n, _) => EventContent::Message {
                text: format!("message {n}").try_into().expect("text"),
                reply_to: None,
                attachments: vec![],
            },
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Messages that arrive out of order are judged and chained in
        /// place rather than by deriving the room anew: after every arrival
        /// the runtime agrees with resolving the events held from scratch.
        #[test]
        fn a_runtime_fed_in_any_order_agrees_with_resolving_from_scratch(
            steps in proptest::collection::vec(arb_step(), 1..40),
            arrival in any::<proptest::sample::Index>(),
        ) {
            let create = event(
                1,
                None,
                EventContent::Create { name: "room".to_string().try_into().expect("name"), join_rule: JoinRule::Public },
                1,
                0,
            );
            let room = RoomId::from(create.id());
            let mut events = Vec::new();
            let mut last_message = None;
            for (i, (kind, author, depth)) in steps.into_iter().enumerate() {
                let target = key(author % 3 + 1).account_id();
                let e = event(author, Some(room), content(kind, target, last_message), i as u64 + 2, depth);
                if matches!(e.content(), EventContent::Message { .. }) {
                    last_message = Some(e.id());
                }
                events.push(e);
            }
            // A deterministic shuffle of the arrival order.
            let n = events.len();
            let offset = arrival.index(n);
            let arrivals: Vec<Event> = (0..n).map(|i| events[(i * 7 + offset) % n].clone()).collect();
            let mut seen = BTreeSet::new();
            let arrivals: Vec<Event> = arrivals.into_iter().filter(|e| seen.insert(e.id())).collect();

            let mut rt = RoomRuntime::from_create(&create, NodeId::from(key(200).public())).expect("runtime");
            let mut held = vec![create.clone()];
            for e in arrivals {
                held.push(e.clone());
                let added = rt.add(e.clone());
                let expected = resolve(room, &held).expect("resolve");
                prop_assert_eq!(&rt.state, &expected.state);
                for (id, verdict) in &expected.order {
                    prop_assert_eq!(rt.is_accepted(id), verdict.is_ok());
                }
                let own = expected.order.iter().find(|(id, _)| *id == e.id()).map(|(_, v)| v.clone());
                prop_assert_eq!(Some(added.verdict), own);
            }
        }
    }
}

//! One room's runtime: the state and verdicts derived from its events in
//! their total order, a window of its most recent events, the per-origin
//! sequence numbers, the room's hosts, and the live feed of its timeline.
//!
//! Memory does not grow with the room's history. What ordering and
//! authorization need is held here: the state, the head, the events
//! refused at their place, the last links of the history chain and a window
//! of recent events. Anything older is read from the store through
//! [`History`] when an event refers to it. A [`Snapshot`] of the runtime,
//! written with the room's events every [`SNAPSHOT_EVERY`] events or more,
//! lets a restart take the room up from it instead of deriving it from
//! `create`.

use super::window::{Chain, Recent, RecentEvents};
use accord_proto::event::{Event, EventContent, Role, UnverifiedEvent};
use accord_proto::room::{AuthError, MessageAuthors, MessageIndex, RoomState, chain_history, history_seed};
use accord_proto::{AccountId, EventId, NodeId, Sha256Hash};
use accord_store::{MembershipChange, StoreError, TimelineEntry};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
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
    /// The item as its followers are sent it, encoded by the first of them
    /// and shared by the rest (`None`: not sent). What a follower is sent
    /// does not depend on who it is.
    pub encoded: OnceLock<Option<Arc<str>>>,
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
        LiveItem { item, removed, encoded: OnceLock::new() }
    }
}

/// Recent events held by id once the room has settled (their depth, and
/// the author of messages): the causal references and redaction targets
/// that new events name are nearly always among them.
const RECENT_EVENTS: usize = if cfg!(test) { 3 } else { 64 };

/// Links of the history chain held at least once the room has settled: a
/// message that arrives placed before all of them derives the room anew
/// from the store instead of re-chaining in place. A snapshot keeps this
/// many.
const CHAIN_LINKS: usize = if cfg!(test) { 3 } else { 64 };

/// A busy room keeps, beyond [`CHAIN_LINKS`], as many links as events
/// arrived in this span: with many origins sending at once, messages
/// arrive placed before events a network delay's worth of traffic later,
/// and deriving the room anew for each (reading its whole history) would
/// make a delay feed itself.
const CHAIN_KEEP: Duration = Duration::from_secs(10);

/// The most links a room's chain holds however fast its events arrive.
const CHAIN_LINKS_MAX: usize = if cfg!(test) { 8 } else { 8192 };

/// Sequence numbers held per origin below its contiguous mark.
const ORIGIN_SEQS: u64 = if cfg!(test) { 2 } else { 16 };

/// How many events a room takes at least between two snapshots of its
/// runtime (a room with more members than this waits as many events as it
/// has members, so that writing its snapshots stays a small share of its
/// writes): what a restart after a crash replays.
pub const SNAPSHOT_EVERY: u64 = 64;

/// The format of [`Snapshot`]; another format is ignored (the room is
/// derived from its events instead).
const SNAPSHOT_FORMAT: u32 = 1;

/// What a room's runtime reads from the room's stored events, for what it
/// does not hold in memory. Only events this node verified are stored, so
/// what is read is parsed without checking signatures again.
pub trait History {
    /// A stored event of the room.
    fn event(&self, id: &EventId) -> Result<Option<Event>, StoreError>;
    /// Whether the event is stored (or was stored and purged).
    fn holds(&self, id: &EventId) -> Result<bool, StoreError>;
    /// The stored event `origin` numbered `seq` in the room.
    fn at_seq(&self, origin: &NodeId, seq: u64) -> Result<Option<EventId>, StoreError>;
    /// Every stored event of the room up to cursor `upto`.
    fn events(&self, upto: u64) -> Result<Vec<Event>, StoreError>;
}

/// One origin's events in a room, by sequence number.
#[derive(Default, Serialize, Deserialize)]
struct OriginSeqs {
    /// Sequence number → event id, above the contiguous mark and the last
    /// few below it.
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

    /// Forgets the numbers well below the contiguous mark (they are in the
    /// store).
    fn prune(&mut self) {
        let keep = self.contiguous.saturating_sub(ORIGIN_SEQS);
        self.ids = self.ids.split_off(&keep);
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

/// A room's runtime as written to the store: what a restart takes up
/// instead of deriving the room from its events. Trusted like the events
/// beside it; a snapshot that does not decode, is of another format or
/// claims more than the store holds is ignored.
#[derive(Serialize, Deserialize)]
pub struct Snapshot {
    format: u32,
    /// The cursor of the last event it includes.
    cursor: u64,
    state: RoomState,
    head: (u64, EventId),
    structural: (u64, EventId),
    refused: Vec<EventId>,
    chain: Vec<((u64, EventId), Sha256Hash)>,
    origins: Vec<(NodeId, OriginSeqs)>,
    own: Vec<EventId>,
    next_seq: u64,
}

impl Snapshot {
    /// The snapshot's bytes (JSON).
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// A stored snapshot, if it decodes and is of this format.
    pub fn decode(bytes: &[u8]) -> Option<Snapshot> {
        serde_json::from_slice::<Snapshot>(bytes).ok().filter(|s| s.format == SNAPSHOT_FORMAT)
    }

    /// The cursor of the last event it includes.
    pub fn cursor(&self) -> u64 {
        self.cursor
    }
}

/// The mutable runtime of one room: the state derived from its events in
/// the room's total order, and what ordering and authorization need next.
pub struct RoomRuntime {
    /// Derived state after every accepted event.
    pub state: RoomState,
    /// The latest event in the order (the `prev` of the next local event).
    head: (u64, EventId),
    /// The order key of the last event held that is not a message (the
    /// `create` at least): messages placed after it change no verdict.
    structural: (u64, EventId),
    /// Recent events by id, in arrival order (`window.rs`).
    recent: RecentEvents,
    /// Events added since the room last settled: not in the store yet.
    unsettled: Vec<Event>,
    /// Events the rules refuse at their place.
    refused: HashSet<EventId>,
    /// Events refused by a blocklist, not stored, with their depth: later
    /// events may name them (until restart).
    blocked: HashMap<EventId, u64>,
    /// Events refused and not stored, by origin and sequence number, so
    /// that sync does not ask for them again (until restart).
    remembered: HashMap<(NodeId, u64), EventId>,
    /// The history hash after each of the latest accepted events, by order
    /// key: where a message that arrives out of order re-chains from.
    chain: Chain,
    /// When each of the events of the last [`CHAIN_KEEP`] arrived: how
    /// many links the chain keeps past [`CHAIN_LINKS`].
    arrivals: VecDeque<Instant>,
    /// Per origin node: its events by sequence number.
    origins: HashMap<NodeId, OriginSeqs>,
    /// This node's `create` and `join` events in the room.
    own: Vec<Event>,
    /// Home nodes of members and pending invitees (the room's hosts).
    hosts: BTreeSet<NodeId>,
    /// This node: the origin whose sequence `next_seq` counts.
    me: NodeId,
    /// Next sequence number of this node's events in the room.
    pub next_seq: u64,
    /// Highest cursor stored.
    pub cursor: u64,
    /// The cursor of the last snapshot written.
    snapshot_cursor: u64,
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

/// The authors of the messages accepted before `before`, from the recent
/// window or the store; a store failure is kept for the caller.
struct Lookup<'a> {
    recent: &'a RecentEvents,
    refused: &'a HashSet<EventId>,
    history: &'a dyn History,
    room: accord_proto::RoomId,
    before: (u64, EventId),
    failed: RefCell<Option<StoreError>>,
}

impl MessageAuthors for Lookup<'_> {
    fn author_of(&self, message: &EventId) -> Option<AccountId> {
        if self.refused.contains(message) {
            return None;
        }
        let (depth, author) = match self.recent.get(message) {
            Some(r) => (r.depth, r.author?),
            None => match self.history.event(message) {
                Ok(Some(e)) if e.room() == self.room && matches!(e.content(), EventContent::Message { .. }) => {
                    (e.stamp_part().depth, e.author())
                }
                Ok(_) => return None,
                Err(err) => {
                    self.failed.borrow_mut().get_or_insert(err);
                    return None;
                }
            },
        };
        ((depth, *message) < self.before).then_some(author)
    }
}

impl<'a> Lookup<'a> {
    fn new(
        recent: &'a RecentEvents,
        refused: &'a HashSet<EventId>,
        history: &'a dyn History,
        room: accord_proto::RoomId,
        before: (u64, EventId),
    ) -> Lookup<'a> {
        Lookup { recent, refused, history, room, before, failed: RefCell::new(None) }
    }

    /// `value`, unless a lookup failed to read the store.
    fn finish<T>(self, value: T) -> Result<T, StoreError> {
        match self.failed.into_inner() {
            Some(e) => Err(e),
            None => Ok(value),
        }
    }
}

impl RoomRuntime {
    /// A new room from its create event (cursor 1), held by node `me`.
    pub fn from_create(create: &Event, me: NodeId) -> Option<RoomRuntime> {
        let state = RoomState::from_create(create).ok()?;
        let mut rt = RoomRuntime {
            chain: Chain::from_links(vec![(create.order_key(), state.history_hash())]),
            arrivals: VecDeque::new(),
            head: create.order_key(),
            structural: create.order_key(),
            state,
            recent: RecentEvents::default(),
            unsettled: Vec::new(),
            refused: HashSet::new(),
            blocked: HashMap::new(),
            remembered: HashMap::new(),
            origins: HashMap::new(),
            own: Vec::new(),
            hosts: BTreeSet::from([create.origin()]),
            me,
            next_seq: 1,
            cursor: 1,
            snapshot_cursor: 0,
            live: None,
        };
        rt.index(create.clone());
        Some(rt)
    }

    /// A room's runtime derived from all its events (in any order); `None`
    /// without a valid `create` among them. The caller sets the cursor and
    /// settles it once they are known to be stored.
    pub fn from_events(mut events: Vec<Event>, me: NodeId) -> Option<RoomRuntime> {
        events.sort_by_key(Event::order_key);
        let mut events = events.into_iter();
        let create = events.next()?;
        if !matches!(create.content(), EventContent::Create { .. }) || create.id() != EventId(create.room().0) {
            return None;
        }
        let mut rt = RoomRuntime::from_create(&create, me)?;
        let mut seen = HashSet::from([create.id()]);
        for event in events {
            if seen.insert(event.id()) {
                rt.index(event);
            }
        }
        // Taken up, not arrived: a busy room's chain grows with new events.
        rt.arrivals.clear();
        let all = rt.unsettled.clone();
        rt.derive(all, create.id()).ok()?;
        Some(rt)
    }

    /// The runtime a snapshot describes, with this node's own membership
    /// events read from `history`; `None` if one of them is not stored.
    pub fn from_snapshot(
        snapshot: Snapshot,
        me: NodeId,
        history: &dyn History,
    ) -> Result<Option<RoomRuntime>, StoreError> {
        let mut own = Vec::with_capacity(snapshot.own.len());
        for id in &snapshot.own {
            match history.event(id)? {
                Some(event) => own.push(event),
                None => return Ok(None),
            }
        }
        Ok(Some(RoomRuntime {
            hosts: BTreeSet::new(),
            state: snapshot.state,
            head: snapshot.head,
            structural: snapshot.structural,
            recent: RecentEvents::default(),
            unsettled: Vec::new(),
            refused: snapshot.refused.into_iter().collect(),
            blocked: HashMap::new(),
            remembered: HashMap::new(),
            chain: Chain::from_links(snapshot.chain),
            arrivals: VecDeque::new(),
            origins: snapshot.origins.into_iter().collect(),
            own,
            me,
            next_seq: snapshot.next_seq,
            cursor: snapshot.cursor,
            snapshot_cursor: snapshot.cursor,
            live: None,
        }))
    }

    /// The runtime as a snapshot at `cursor` (the cursor of the last event
    /// added), to write with the events up to it.
    pub fn snapshot(&self, cursor: u64) -> Snapshot {
        Snapshot {
            format: SNAPSHOT_FORMAT,
            cursor,
            state: self.state.clone(),
            head: self.head,
            structural: self.structural,
            refused: self.refused.iter().copied().collect(),
            chain: self.chain.iter().skip(self.chain.len().saturating_sub(CHAIN_LINKS)).copied().collect(),
            origins: self
                .origins
                .iter()
                .map(|(o, s)| (*o, OriginSeqs { ids: s.ids.clone(), contiguous: s.contiguous }))
                .collect(),
            own: self.own.iter().map(Event::id).collect(),
            next_seq: self.next_seq,
        }
    }

    /// Whether the events up to `cursor` should be written with a snapshot.
    pub fn snapshot_due(&self, cursor: u64) -> bool {
        cursor >= self.snapshot_cursor + SNAPSHOT_EVERY.max(self.state.members().len() as u64)
    }

    /// Whether events were stored since the last snapshot.
    pub fn snapshot_stale(&self) -> bool {
        self.cursor > self.snapshot_cursor
    }

    /// The room's events up to the runtime's cursor are stored (with a
    /// snapshot at `snapshot`, if one was written): memory goes back to
    /// the window of recent events.
    pub fn settle(&mut self, snapshot: Option<u64>) {
        if let Some(cursor) = snapshot {
            self.snapshot_cursor = cursor;
        }
        // Freed, not kept at capacity: an event is several hundred bytes
        // inline, and room for 64 of them was 44 KB in every room held.
        self.unsettled = Vec::new();
        // This node's create and join events are kept whole: no spare room.
        if self.own.capacity() > self.own.len() {
            self.own.shrink_to_fit();
        }
        self.recent.keep_latest(RECENT_EVENTS);
        self.prune_chain();
        for seqs in self.origins.values_mut() {
            seqs.prune();
        }
    }

    /// Drops the chain's oldest links beyond what [`CHAIN_LINKS`] and the
    /// events of the last [`CHAIN_KEEP`] ask for.
    fn prune_chain(&mut self) {
        let now = Instant::now();
        while self.arrivals.front().is_some_and(|at| now.duration_since(*at) > CHAIN_KEEP)
            || self.arrivals.len() > CHAIN_LINKS_MAX
        {
            self.arrivals.pop_front();
        }
        if self.arrivals.capacity() > 4 * self.arrivals.len().max(RECENT_EVENTS) {
            self.arrivals.shrink_to_fit();
        }
        let keep = self.arrivals.len().clamp(CHAIN_LINKS, CHAIN_LINKS_MAX);
        self.chain.keep_latest(keep, CHAIN_LINKS);
    }

    fn index(&mut self, event: Event) {
        self.arrivals.push_back(Instant::now());
        let stamp = event.stamp_part();
        if stamp.origin == self.me {
            self.next_seq = self.next_seq.max(stamp.seq + 1);
        }
        let id = event.id();
        let is_message = matches!(event.content(), EventContent::Message { .. });
        self.recent.push(id, Recent { depth: stamp.depth, author: is_message.then(|| event.author()) });
        self.origins.entry(stamp.origin).or_default().add(stamp.seq, id);
        if !is_message {
            self.structural = self.structural.max(event.order_key());
        }
        if stamp.origin == self.me && matches!(event.content(), EventContent::Create { .. } | EventContent::Join {}) {
            self.own.push(event.clone());
        }
        self.head = self.head.max(event.order_key());
        self.unsettled.push(event);
    }

    /// The latest event held (the `prev` of the next local event).
    pub fn head(&self) -> (u64, EventId) {
        self.head
    }

    /// Whether the room holds the event (or saw it refused by a blocklist).
    pub fn contains(&self, id: &EventId, history: &dyn History) -> Result<bool, StoreError> {
        if self.recent.contains(id) || self.blocked.contains_key(id) {
            return Ok(true);
        }
        history.holds(id)
    }

    /// The depth of a held event.
    pub fn depth_of(&self, id: &EventId, history: &dyn History) -> Result<Option<u64>, StoreError> {
        if let Some(depth) = self.recent.get(id).map(|r| r.depth).or_else(|| self.blocked.get(id).copied()) {
            return Ok(Some(depth));
        }
        let room = self.state.room();
        Ok(history.event(id)?.filter(|e| e.room() == room).map(|e| e.stamp_part().depth))
    }

    /// The event an origin numbered `seq` in this room, if held or seen.
    pub fn at_seq(&self, origin: &NodeId, seq: u64, history: &dyn History) -> Result<Option<EventId>, StoreError> {
        if let Some(id) =
            self.origins.get(origin).and_then(|o| o.ids.get(&seq)).or_else(|| self.remembered.get(&(*origin, seq)))
        {
            return Ok(Some(*id));
        }
        history.at_seq(origin, seq)
    }

    /// Per origin, the highest sequence number held with no gap below it.
    pub fn held(&self) -> BTreeMap<NodeId, u64> {
        self.origins.iter().map(|(o, s)| (*o, s.contiguous)).collect()
    }

    /// Remembers that an origin's event was seen and refused, so that sync
    /// does not ask for it again (until restart).
    pub fn remember_refused(&mut self, origin: NodeId, seq: u64, id: EventId) {
        self.origins.entry(origin).or_default().add(seq, id);
        self.remembered.insert((origin, seq), id);
    }

    /// Remembers an event refused by a blocklist as seen, with its depth,
    /// so that later events may name it as a causal reference (and a copy
    /// of it is a duplicate) although it is not stored (until restart).
    pub fn remember_blocked(&mut self, origin: NodeId, seq: u64, id: EventId, depth: u64) {
        self.blocked.insert(id, depth);
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
        self.own.iter().filter(|e| self.state.is_member(&e.author())).map(Event::to_unverified).collect()
    }

    /// Whether the rules accept the held event at its place.
    pub fn is_accepted(&self, id: &EventId) -> bool {
        !self.refused.contains(id)
    }

    /// Whether the rules allow `event` as the next event in the order.
    pub fn authorize(&self, event: &Event, history: &dyn History) -> Result<Result<(), AuthError>, StoreError> {
        let lookup = Lookup::new(&self.recent, &self.refused, history, self.state.room(), event.order_key());
        let verdict = self.state.authorize(event, &lookup);
        lookup.finish(verdict)
    }

    /// Adds a verified event whose `prev` are all held. The rules judge it
    /// at its place in the order. When that place is before events already
    /// held, a message followed only by messages is judged by the current
    /// state and re-chains the history from its place (when the chain held
    /// reaches back that far); any other event derives the state and every
    /// verdict anew from `create`, reading the room's events from
    /// `history`.
    pub fn add(&mut self, event: Event, history: &dyn History) -> Result<Added, StoreError> {
        let key = event.order_key();
        let is_message = matches!(event.content(), EventContent::Message { .. });
        if key > self.head {
            let lookup = Lookup::new(&self.recent, &self.refused, history, self.state.room(), key);
            let authorized = self.state.authorize(&event, &lookup);
            let memberships = if authorized.is_ok() { self.membership_changes(&event) } else { vec![] };
            let verdict = authorized.and_then(|()| self.state.apply(&event, &lookup));
            let verdict = lookup.finish(verdict)?;
            match &verdict {
                Ok(()) => {
                    self.chain.insert(key, self.state.history_hash());
                }
                Err(_) => {
                    self.refused.insert(event.id());
                }
            }
            self.index(event);
            return Ok(Added { verdict, memberships, rederived: false });
        }
        let chained = self.chain.first_key().is_some_and(|first| first < key);
        if key > self.structural && is_message && chained {
            // A message's authorization names no earlier message.
            let verdict = self.state.authorize(&event, &MessageIndex::default()).and_then(|()| {
                let history = self.rechain(key);
                self.state.insert_message(&event, history).unwrap_or(Ok(()))
            });
            if verdict.is_err() {
                self.refused.insert(event.id());
            }
            self.index(event);
            return Ok(Added { verdict, memberships: vec![], rederived: false });
        }
        let id = event.id();
        self.index(event);
        let old = self.state.clone();
        let verdict = self.rederive(history, id)?;
        Ok(Added { verdict, memberships: membership_diff(&old, &self.state), rederived: true })
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
        let before = self.chain.before(key);
        let mut history = chain_history(before.unwrap_or_else(|| history_seed(self.state.room())), &key.1);
        self.chain.insert(key, history);
        for (later, link) in self.chain.after_mut(key) {
            history = chain_history(history, &later.1);
            *link = history;
        }
        history
    }

    /// Derives the state and every verdict anew from the room's stored
    /// events and those added since it last settled; the verdict on `want`.
    fn rederive(&mut self, history: &dyn History, want: EventId) -> Result<Result<(), AuthError>, StoreError> {
        let mut events = history.events(self.cursor)?;
        let stored: HashSet<EventId> = events.iter().map(Event::id).collect();
        events.extend(self.unsettled.iter().filter(|e| !stored.contains(&e.id())).cloned());
        Ok(self.derive(events, want))
    }

    /// Derives the state and every verdict from `events` (the room's whole
    /// set, in any order); the verdict on `want`.
    fn derive(&mut self, mut events: Vec<Event>, want: EventId) -> Result<(), AuthError> {
        events.sort_by_key(Event::order_key);
        let mut seen = HashSet::with_capacity(events.len());
        events.retain(|e| seen.insert(e.id()));
        let mut events = events.iter();
        let Some(create) = events.next() else { return Ok(()) };
        let Ok(mut state) = RoomState::from_create(create) else { return Ok(()) };
        self.refused.clear();
        self.chain.clear();
        self.chain.insert(create.order_key(), state.history_hash());
        let mut messages = MessageIndex::default();
        let mut verdict = Ok(());
        for event in events {
            match state.apply_indexed(event, &mut messages) {
                Ok(()) => {
                    self.chain.insert(event.order_key(), state.history_hash());
                }
                Err(e) => {
                    self.refused.insert(event.id());
                    if event.id() == want {
                        verdict = Err(e);
                    }
                }
            }
            self.head = self.head.max(event.order_key());
            if !matches!(event.content(), EventContent::Message { .. }) {
                self.structural = self.structural.max(event.order_key());
            }
        }
        self.prune_chain();
        self.state = state;
        verdict
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

    /// Frees what the room holds for traffic that has passed: the live
    /// feed's buffer if nobody follows the room any more, and the history
    /// chain's links kept for the events of the last [`CHAIN_KEEP`].
    pub fn release_idle(&mut self) {
        if self.live.as_ref().is_some_and(|live| live.receiver_count() == 0) {
            self.live = None;
        }
        self.prune_chain();
    }

    /// Whether the room has a live feed (someone followed it since it was
    /// last released).
    pub fn has_feed(&self) -> bool {
        self.live.is_some()
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

    /// A room's stored events, in the order they were stored (cursor =
    /// position + 1).
    #[derive(Default)]
    struct Stored(Vec<Event>);

    impl History for Stored {
        fn event(&self, id: &EventId) -> Result<Option<Event>, StoreError> {
            Ok(self.0.iter().find(|e| e.id() == *id).cloned())
        }
        fn holds(&self, id: &EventId) -> Result<bool, StoreError> {
            Ok(self.0.iter().any(|e| e.id() == *id))
        }
        fn at_seq(&self, origin: &NodeId, seq: u64) -> Result<Option<EventId>, StoreError> {
            Ok(self.0.iter().find(|e| e.origin() == *origin && e.stamp_part().seq == seq).map(Event::id))
        }
        fn events(&self, upto: u64) -> Result<Vec<Event>, StoreError> {
            Ok(self.0.iter().take(upto as usize).cloned().collect())
        }
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

    #[test]
    fn a_live_feed_is_freed_once_nobody_follows_the_room_and_kept_while_someone_does() {
        let create = event(
            1,
            None,
            EventContent::Create { name: "room".to_string().try_into().expect("name"), join_rule: JoinRule::Public },
            1,
            0,
        );
        let mut rt = RoomRuntime::from_create(&create, NodeId::from(key(200).public())).expect("runtime");
        assert!(!rt.has_feed(), "a room nobody followed has no feed");
        let first = rt.subscribe();
        let second = rt.subscribe();
        drop(first);
        rt.release_idle();
        assert!(rt.has_feed(), "one follower is left");
        drop(second);
        rt.release_idle();
        assert!(!rt.has_feed(), "the last follower left");
    }

    #[test]
    fn a_late_message_in_a_busy_room_rechains_in_place_within_the_recent_links_and_derives_anew_beyond() {
        let create = event(
            1,
            None,
            EventContent::Create { name: "room".to_string().try_into().expect("name"), join_rule: JoinRule::Public },
            1,
            0,
        );
        let room = RoomId::from(create.id());
        let me = NodeId::from(key(200).public());
        let mut rt = RoomRuntime::from_create(&create, me).expect("runtime");
        let mut stored = Stored(vec![create]);
        let message = |n: u64, depth: u64| {
            let text = format!("message {n}").try_into().expect("text");
            event(1, Some(room), EventContent::Message { text, reply_to: None, attachments: vec![] }, n, depth)
        };
        let mut add = |rt: &mut RoomRuntime, e: Event| {
            let added = rt.add(e.clone(), &stored).expect("add");
            stored.0.push(e);
            rt.cursor += 1;
            rt.settle(None);
            let expected = resolve(room, &stored.0).expect("resolve");
            assert_eq!(rt.state, expected.state, "the runtime agrees with resolving from scratch");
            assert!(added.verdict.is_ok(), "{:?}", added.verdict);
            added.rederived
        };
        for n in 1..=10 {
            assert!(!add(&mut rt, message(n + 1, n * 10)), "in order");
        }
        assert_eq!(rt.chain.len(), CHAIN_LINKS_MAX, "a busy room keeps the links of its recent events");
        assert!(!add(&mut rt, message(12, 45)), "placed within the recent links: re-chained in place");
        assert!(add(&mut rt, message(13, 5)), "placed before every link held: derived anew");
        assert_eq!(rt.snapshot(rt.cursor).chain.len(), CHAIN_LINKS, "a snapshot keeps the fewest links");
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
        /// place rather than by deriving the room anew, with only a window
        /// of recent events in memory and the rest read from the store, and
        /// a room taken up from its snapshot carries on as before: after
        /// every arrival the runtime agrees with resolving the events held
        /// from scratch.
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

            let me = NodeId::from(key(200).public());
            let mut rt = RoomRuntime::from_create(&create, me).expect("runtime");
            let mut stored = Stored(vec![create.clone()]);
            rt.settle(None);
            for (n, e) in arrivals.into_iter().enumerate() {
                let added = rt.add(e.clone(), &stored).expect("add");
                stored.0.push(e.clone());
                rt.cursor += 1;
                // Every few events a snapshot is taken and the room taken
                // up from it, as a restart does.
                if n % 5 == 4 {
                    let bytes = rt.snapshot(rt.cursor).encode();
                    let snapshot = Snapshot::decode(&bytes).expect("decodes");
                    rt = RoomRuntime::from_snapshot(snapshot, me, &stored).expect("read").expect("own events");
                }
                rt.settle(None);
                let expected = resolve(room, &stored.0).expect("resolve");
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

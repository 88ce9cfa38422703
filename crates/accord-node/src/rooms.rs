//! Rooms held by this node: each room's derived state, its latest events,
//! its sequence counter and the live feed of its timeline.
//!
//! A room's runtime is behind its own async mutex: events of one room are
//! stamped, stored and published one at a time, in cursor order; events of
//! different rooms proceed in parallel and share group commits.

use accord_proto::event::{Event, EventContent, Role, UnverifiedEvent};
use accord_proto::room::{RoomState, resolve};
use accord_proto::{AccountId, EventId, NodeId, RoomId};
use accord_store::{MembershipChange, Store, StoreError, TimelineEntry};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

/// Capacity of each room's live feed; a subscriber further behind is told
/// it lagged and continues from the store.
pub const LIVE_FEED: usize = 1024;

/// One entry of a room's timeline as served to clients.
#[derive(Debug, Clone, Serialize)]
pub struct TimelineItem {
    /// Position in this node's timeline of the room.
    pub cursor: u64,
    /// The event, both envelopes.
    pub event: UnverifiedEvent,
    /// The room rules' verdict at the event's place in the order.
    pub accepted: bool,
    /// Whether a redaction hides its content.
    pub redacted: bool,
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
            EventContent::Leave {} => Some(event.author()),
            EventContent::Kick { target, .. } | EventContent::Ban { target, .. } => Some(*target),
            _ => None,
        };
        LiveItem { item, removed }
    }
}

/// The mutable runtime of one room.
pub struct RoomRuntime {
    /// Derived state after every accepted event.
    pub state: RoomState,
    /// The latest accepted event (the `prev` of the next local event).
    pub head: (u64, EventId),
    /// Next sequence number of this node's events in the room.
    pub next_seq: u64,
    /// Highest cursor stored.
    pub cursor: u64,
    /// Live feed of newly stored timeline items, made on first subscribe
    /// (a room nobody follows costs no buffer).
    live: Option<broadcast::Sender<LiveItem>>,
}

impl RoomRuntime {
    /// A new room from its create event (cursor 1).
    pub fn from_create(create: &Event) -> Option<RoomRuntime> {
        let state = RoomState::from_create(create).ok()?;
        Some(RoomRuntime { state, head: create.order_key(), next_seq: 2, cursor: 1, live: None })
    }

    /// Stored timeline entries as served to clients, marked redacted where a
    /// redaction hides them.
    pub fn items(&self, entries: Vec<TimelineEntry>) -> Vec<TimelineItem> {
        let redacted = self.state.redacted();
        entries
            .into_iter()
            .map(|e| {
                let hidden = redacted.contains(&e.event.claimed_id());
                TimelineItem { cursor: e.cursor, event: e.event, accepted: true, redacted: hidden }
            })
            .collect()
    }

    /// A receiver of the room's live feed.
    pub fn subscribe(&mut self) -> broadcast::Receiver<LiveItem> {
        self.live.get_or_insert_with(|| broadcast::channel(LIVE_FEED).0).subscribe()
    }

    /// Publishes a stored item to live subscribers, if any.
    pub fn publish(&mut self, item: LiveItem) {
        if let Some(live) = &self.live
            && live.send(item).is_err()
        {
            // Nobody is listening any more: free the buffer.
            self.live = None;
        }
    }

    /// The membership rows `event` will change once applied, computed
    /// before applying it (the event must be authorized), so that the
    /// store is written first and memory changes only after it succeeded.
    pub fn membership_changes(&self, event: &Event) -> Vec<MembershipChange> {
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

/// Why a room could not be loaded from the store.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored event no longer verifies or the room has no create event.
    #[error("room {room}: {detail}")]
    Damaged {
        /// The room.
        room: RoomId,
        /// What is wrong.
        detail: String,
    },
}

/// Every room of the node.
#[derive(Default)]
pub struct Rooms {
    rooms: Mutex<HashMap<RoomId, Arc<tokio::sync::Mutex<RoomRuntime>>>>,
}

/// Verifies a room's stored events and derives its runtime.
fn load_room(store: &Store, me: &NodeId, room: RoomId) -> Result<RoomRuntime, LoadError> {
    let damaged = |detail: String| LoadError::Damaged { room, detail };
    let entries = store.timeline(&room, None, None, usize::MAX)?;
    let wire: Vec<UnverifiedEvent> = entries.iter().map(|e| e.event.clone()).collect();
    let mut events = Vec::with_capacity(wire.len());
    for result in UnverifiedEvent::verify_many(&wire) {
        events.push(result.map_err(|e| damaged(e.to_string()))?);
    }
    let timeline = resolve(room, &events).map_err(|e| damaged(e.to_string()))?;
    let head = events.iter().map(Event::order_key).max().ok_or_else(|| damaged("no events".into()))?;
    let mine = events.iter().filter(|e| e.origin() == *me).count() as u64;
    let cursor = entries.last().map(|e| e.cursor).unwrap_or(0);
    Ok(RoomRuntime { state: timeline.state, head, next_seq: mine + 1, cursor, live: None })
}

impl Rooms {
    /// Rebuilds every room from the store: verifies its events and derives
    /// its state.
    pub fn load(store: &Store, me: &NodeId) -> Result<Rooms, LoadError> {
        let rooms = Rooms::default();
        for record in store.rooms()? {
            rooms.insert(record.room, load_room(store, me, record.room)?);
        }
        Ok(rooms)
    }

    /// The room's runtime, if this node holds the room.
    pub fn get(&self, room: &RoomId) -> Option<Arc<tokio::sync::Mutex<RoomRuntime>>> {
        self.lock().get(room).cloned()
    }

    /// Adds a room.
    pub fn insert(&self, room: RoomId, runtime: RoomRuntime) -> Arc<tokio::sync::Mutex<RoomRuntime>> {
        let handle = Arc::new(tokio::sync::Mutex::new(runtime));
        self.lock().insert(room, handle.clone());
        handle
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<RoomId, Arc<tokio::sync::Mutex<RoomRuntime>>>> {
        self.rooms.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Whether `account` may read a room's history and follow it live: its
/// members. (Room state is also shown to accounts with a pending invite;
/// see `api::handlers::room_state`.)
pub fn may_read(state: &RoomState, account: &AccountId) -> bool {
    state.is_member(account)
}

//! Rooms held by this node, and what is done with them: local appends
//! ([`append`]), events from peers ([`ingest`]), catching up and joining
//! ([`sync`]).
//!
//! A room's runtime ([`RoomRuntime`]) is behind its own async mutex:
//! events of one room are stamped, stored and published one at a time, in
//! cursor order; events of different rooms proceed in parallel and share
//! group commits.

pub mod append;
pub(crate) mod ingest;
pub mod providers;
mod runtime;
pub(crate) mod sync;

pub use runtime::{Added, LIVE_FEED, LiveItem, RoomRuntime, TimelineItem};

use accord_proto::event::{Event, UnverifiedEvent};
use accord_proto::federation::IdentityPair;
use accord_proto::room::RoomState;
use accord_proto::{AccountId, EventId, NodeId, RoomId};
use accord_store::{Store, StoreError};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

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

/// How far the loading of the stored rooms has got, at start: read by
/// `/readyz` while the node loads (spec/client-api.md §11).
#[derive(Debug, Default)]
pub struct LoadProgress {
    /// Rooms in the store.
    total: AtomicUsize,
    /// Rooms loaded so far.
    loaded: AtomicUsize,
}

impl LoadProgress {
    /// `(loaded, total)` rooms so far.
    pub fn counts(&self) -> (usize, usize) {
        (self.loaded.load(Ordering::Acquire), self.total.load(Ordering::Acquire))
    }
}

/// Every room of the node, and the work under way on them.
#[derive(Default)]
pub struct Rooms {
    rooms: Mutex<HashMap<RoomId, Arc<tokio::sync::Mutex<RoomRuntime>>>>,
    /// Serialises room creations.
    creation: tokio::sync::Mutex<()>,
    /// Local events waiting for their room's next store write.
    appends: Mutex<HashMap<RoomId, Vec<append::PendingAppend>>>,
    /// Syncs running, by peer and room.
    syncing: Mutex<HashSet<(NodeId, RoomId)>>,
    /// After a restore from a backup: the rooms not yet synced with a peer,
    /// where this node stamps nothing (see `core::backup`).
    catching_up: Mutex<HashSet<RoomId>>,
}

/// Verifies a room's stored events and derives its runtime.
pub fn load_room(store: &Store, me: NodeId, room: RoomId) -> Result<RoomRuntime, LoadError> {
    let damaged = |detail: String| LoadError::Damaged { room, detail };
    let entries = store.timeline(&room, None, None, usize::MAX)?;
    let wire: Vec<UnverifiedEvent> = entries.iter().map(|e| e.event.clone()).collect();
    let mut events = Vec::with_capacity(wire.len());
    for result in UnverifiedEvent::verify_many(&wire) {
        events.push(result.map_err(|e| damaged(e.to_string()))?);
    }
    events.sort_by_key(Event::order_key);
    let mut events = events.into_iter();
    let create = events.next().ok_or_else(|| damaged("no events".into()))?;
    if create.id() != EventId(room.0) {
        return Err(damaged("the first event in the order is not the room's create event".into()));
    }
    let mut rt = RoomRuntime::from_create(&create, me).ok_or_else(|| damaged("create event refused".into()))?;
    for event in events {
        rt.index(event);
    }
    rt.rederive();
    rt.cursor = entries.last().map(|e| e.cursor).unwrap_or(0);
    Ok(rt)
}

impl Rooms {
    /// Rebuilds every room from the store: verifies its events and derives
    /// its state, counting the rooms done in `progress`. `pause` is waited
    /// before each room (only tests set it: `[testing]`).
    pub fn load(store: &Store, me: NodeId, progress: &LoadProgress, pause: Duration) -> Result<Rooms, LoadError> {
        let rooms = Rooms::default();
        let records = store.rooms()?;
        progress.total.store(records.len(), Ordering::Release);
        for record in records {
            if !pause.is_zero() {
                std::thread::sleep(pause);
            }
            rooms.insert(record.room, load_room(store, me, record.room)?);
            progress.loaded.fetch_add(1, Ordering::AcqRel);
        }
        Ok(rooms)
    }

    /// Every room held here.
    pub fn ids(&self) -> Vec<RoomId> {
        self.lock().keys().copied().collect()
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

    /// Queues a local event for its room's next store write.
    fn queue_append(&self, room: RoomId, pending: append::PendingAppend) {
        self.appends.lock().unwrap_or_else(|p| p.into_inner()).entry(room).or_default().push(pending);
    }

    /// Takes the local events queued for `room`.
    fn take_appends(&self, room: &RoomId) -> Vec<append::PendingAppend> {
        self.appends.lock().unwrap_or_else(|p| p.into_inner()).remove(room).unwrap_or_default()
    }

    /// Marks a sync of `room` with `peer` as running; false if one is.
    fn start_sync(&self, peer: NodeId, room: RoomId) -> bool {
        self.syncing.lock().unwrap_or_else(|p| p.into_inner()).insert((peer, room))
    }

    /// Marks a sync of `room` with `peer` as ended.
    fn end_sync(&self, peer: NodeId, room: RoomId) {
        self.syncing.lock().unwrap_or_else(|p| p.into_inner()).remove(&(peer, room));
    }

    /// Whether this node must not stamp events in `room` yet: it was
    /// restored from a backup and has not synced the room with a peer.
    pub fn is_catching_up(&self, room: &RoomId) -> bool {
        self.catching_up.lock().unwrap_or_else(|p| p.into_inner()).contains(room)
    }

    /// How many rooms wait for their first sync after a restore.
    pub fn catching_up(&self) -> usize {
        self.catching_up.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Marks `rooms` as waiting for their first sync after a restore.
    pub(crate) fn begin_catch_up(&self, rooms: impl IntoIterator<Item = RoomId>) {
        self.catching_up.lock().unwrap_or_else(|p| p.into_inner()).extend(rooms);
    }

    /// Marks `room` as synced after a restore; true if it was the last one
    /// waiting.
    pub(crate) fn caught_up(&self, room: &RoomId) -> bool {
        let mut waiting = self.catching_up.lock().unwrap_or_else(|p| p.into_inner());
        waiting.remove(room) && waiting.is_empty()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<RoomId, Arc<tokio::sync::Mutex<RoomRuntime>>>> {
        self.rooms.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The identity pairs of the authors of `events`, as stored here.
pub(crate) fn author_identities(store: &Store, events: &[UnverifiedEvent]) -> Result<Vec<IdentityPair>, StoreError> {
    // The author envelope's signer is the author's key (checked when the
    // event was stored).
    let authors: BTreeSet<AccountId> = events.iter().map(|e| e.author.raw().signer.account_id()).collect();
    let mut pairs = Vec::with_capacity(authors.len());
    for account in authors {
        if let Some((identity, attestation)) = store.identity(&account)? {
            pairs.push(IdentityPair { identity, attestation });
        }
    }
    Ok(pairs)
}

/// Whether `account` may read a room's history and follow it live: its
/// members. (Room state is also shown to accounts with a pending invite;
/// see the client API's room state.)
pub fn may_read(state: &RoomState, account: &AccountId) -> bool {
    state.is_member(account)
}

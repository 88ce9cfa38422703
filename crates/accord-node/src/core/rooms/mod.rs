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
pub mod joins;
pub mod providers;
mod runtime;
pub(crate) mod sync;
mod window;

pub use runtime::{Added, History, LIVE_FEED, LiveItem, RoomRuntime, SNAPSHOT_EVERY, Snapshot, TimelineItem};

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
    /// Rooms loaded from a snapshot so far.
    from_snapshot: AtomicUsize,
}

impl LoadProgress {
    /// `(loaded, total)` rooms so far.
    pub fn counts(&self) -> (usize, usize) {
        (self.loaded.load(Ordering::Acquire), self.total.load(Ordering::Acquire))
    }

    /// How many of the rooms loaded were taken up from a snapshot.
    pub fn from_snapshot(&self) -> usize {
        self.from_snapshot.load(Ordering::Acquire)
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
    /// Joins through other nodes under way.
    pub(crate) joins: joins::Joins,
}

/// A room's stored events as its runtime reads them ([`History`]).
pub struct StoredRoom<'a> {
    store: &'a Store,
    room: RoomId,
}

impl<'a> StoredRoom<'a> {
    /// The stored events of `room`.
    pub fn new(store: &'a Store, room: RoomId) -> StoredRoom<'a> {
        StoredRoom { store, room }
    }
}

/// A stored event that no longer parses: the store is damaged.
fn damaged_event(id: &EventId, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt { cf: "events", detail: format!("{id}: {e}") }
}

impl History for StoredRoom<'_> {
    fn event(&self, id: &EventId) -> Result<Option<Event>, StoreError> {
        let Some(wire) = self.store.event(id)? else { return Ok(None) };
        let event = wire.from_own_store().map_err(|e| damaged_event(id, e))?;
        Ok((event.room() == self.room).then_some(event))
    }

    fn holds(&self, id: &EventId) -> Result<bool, StoreError> {
        Ok(self.store.has_event(id)? || self.store.is_purged(id)?)
    }

    fn at_seq(&self, origin: &NodeId, seq: u64) -> Result<Option<EventId>, StoreError> {
        self.store.event_at_seq(&self.room, origin, seq)
    }

    fn events(&self, upto: u64) -> Result<Vec<Event>, StoreError> {
        let entries = self.store.timeline(&self.room, None, None, usize::MAX)?;
        entries
            .iter()
            .filter(|e| e.cursor <= upto)
            .map(|e| e.event.from_own_store().map_err(|err| damaged_event(&e.event.claimed_id(), err)))
            .collect()
    }
}

/// Verifies a room's stored events and derives its runtime from them all.
pub fn load_room_verified(store: &Store, me: NodeId, room: RoomId) -> Result<RoomRuntime, LoadError> {
    let damaged = |detail: String| LoadError::Damaged { room, detail };
    let entries = store.timeline(&room, None, None, usize::MAX)?;
    let wire: Vec<UnverifiedEvent> = entries.iter().map(|e| e.event.clone()).collect();
    let mut events = Vec::with_capacity(wire.len());
    for result in UnverifiedEvent::verify_many(&wire) {
        events.push(result.map_err(|e| damaged(e.to_string()))?);
    }
    if events.iter().min_by_key(|e| e.order_key()).map(Event::id) != Some(EventId(room.0)) {
        return Err(damaged("the first event in the order is not the room's create event".into()));
    }
    let mut rt = RoomRuntime::from_events(events, me).ok_or_else(|| damaged("create event refused".into()))?;
    rt.cursor = entries.last().map(|e| e.cursor).unwrap_or(0);
    rt.settle(None);
    Ok(rt)
}

/// Takes a room up from its latest snapshot and the events stored after
/// it (added in the order they were stored, as they were live), or,
/// without a usable snapshot, derives it from all its events. The events
/// are read as this node verified and stored them, not verified again
/// ([`load_room_verified`] does that, for a backup's copy).
pub fn load_room(store: &Store, me: NodeId, room: RoomId) -> Result<RoomRuntime, LoadError> {
    take_up(store, me, room).map(|(rt, _)| rt)
}

/// [`load_room`], and whether the room was taken up from its snapshot.
fn take_up(store: &Store, me: NodeId, room: RoomId) -> Result<(RoomRuntime, bool), LoadError> {
    let history = StoredRoom::new(store, room);
    let latest = store.latest_cursor(&room)?;
    let snapshot = store.room_snapshot(&room)?.and_then(|b| Snapshot::decode(&b)).filter(|s| s.cursor() <= latest);
    let taken = match snapshot {
        Some(snapshot) => RoomRuntime::from_snapshot(snapshot, me, &history)?,
        None => None,
    };
    let Some(mut rt) = taken else {
        let mut rt = RoomRuntime::from_events(history.events(latest)?, me)
            .ok_or_else(|| LoadError::Damaged { room, detail: "no valid create event".into() })?;
        rt.cursor = latest;
        rt.settle(None);
        return Ok((rt, false));
    };
    let after = rt.cursor;
    loop {
        let entries = store.timeline(&room, Some(rt.cursor), None, SNAPSHOT_EVERY as usize)?;
        if entries.is_empty() {
            break;
        }
        for entry in entries {
            let event = entry.event.from_own_store().map_err(|e| damaged_event(&entry.event.claimed_id(), e))?;
            rt.cursor = entry.cursor;
            rt.add(event, &history)?;
        }
        rt.settle(None);
    }
    tracing::debug!(%room, snapshot = after, cursor = rt.cursor, "room taken up from its snapshot");
    Ok((rt, true))
}

impl Rooms {
    /// Takes every room up from the store ([`load_room`]), counting the rooms done in `progress`. `pause` is waited
    /// before each room (only tests set it: `[testing]`).
    pub fn load(store: &Store, me: NodeId, progress: &LoadProgress, pause: Duration) -> Result<Rooms, LoadError> {
        let rooms = Rooms::default();
        let records = store.rooms()?;
        progress.total.store(records.len(), Ordering::Release);
        for record in records {
            if !pause.is_zero() {
                std::thread::sleep(pause);
            }
            let (rt, from_snapshot) = take_up(store, me, record.room)?;
            rooms.insert(record.room, rt);
            if from_snapshot {
                progress.from_snapshot.fetch_add(1, Ordering::AcqRel);
            }
            progress.loaded.fetch_add(1, Ordering::AcqRel);
        }
        Ok(rooms)
    }

    /// Writes a snapshot of every room that stored events since its last
    /// one (at shutdown, once nothing else writes).
    pub async fn snapshot_all(&self, store: &Store) -> Result<(), StoreError> {
        let handles: Vec<_> = self.lock().values().cloned().collect();
        let mut snapshots = Vec::new();
        for handle in &handles {
            let rt = handle.lock().await;
            if rt.snapshot_stale() {
                snapshots.push((rt.state.room(), rt.snapshot(rt.cursor).encode()));
            }
        }
        store.put_room_snapshots(snapshots).await
    }

    /// Frees in every room what traffic that has passed left behind
    /// ([`RoomRuntime::release_idle`]), which a room otherwise keeps until
    /// its next event. A room busy at the moment is looked at the next
    /// time.
    pub fn release_idle(&self) {
        let handles: Vec<_> = self.lock().values().cloned().collect();
        for handle in handles {
            if let Ok(mut rt) = handle.try_lock() {
                rt.release_idle();
            }
        }
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
    identities_of(store, events.iter().map(author_of))
}

/// The identity pairs of `accounts` (each once), as stored here.
pub(crate) fn identities_of(
    store: &Store,
    accounts: impl IntoIterator<Item = AccountId>,
) -> Result<Vec<IdentityPair>, StoreError> {
    let accounts: BTreeSet<AccountId> = accounts.into_iter().collect();
    let mut pairs = Vec::with_capacity(accounts.len());
    for account in accounts {
        if let Some((identity, attestation)) = store.identity(&account)? {
            pairs.push(IdentityPair { identity, attestation });
        }
    }
    Ok(pairs)
}

/// The author of a stored event: the author envelope's signer (checked
/// when the event was stored).
pub(crate) fn author_of(event: &UnverifiedEvent) -> AccountId {
    event.author.raw().signer.account_id()
}

/// Whether `account` may read a room's history and follow it live: its
/// members. (Room state is also shown to accounts with a pending invite;
/// see the client API's room state.)
pub fn may_read(state: &RoomState, account: &AccountId) -> bool {
    state.is_member(account)
}

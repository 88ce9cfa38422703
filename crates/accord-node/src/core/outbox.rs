//! Delivery of this node's events to the other hosts of their rooms
//! (spec/federation.md §2).
//!
//! Each event is written to the outbox of every peer that must receive it
//! in the same atomic write as the event itself, so nothing acknowledged
//! to a client can be lost before it is delivered. One worker per peer
//! pushes its entries oldest first, up to a push's worth of one room at a
//! time, and removes them when the peer's answer is final; failures and
//! `retry` answers back off exponentially. Workers resume at start from
//! what the store holds.
//!
//! A push carries the identity pairs of its events' authors, except those
//! the peer is known to hold: an author with an event the peer answered
//! `accepted` or `duplicate` since the worker last (re)connected to it
//! (spec/federation.md §3.2). They were half of the federation's bytes.

use crate::core::Core;
use crate::network;
use accord_proto::federation::{FedRequest, FedResponse, MAX_PUSH_EVENTS, PushOutcome};
use accord_proto::{AccountId, NodeId, RoomId};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// First delay after a failed push.
const BACKOFF_MIN: Duration = Duration::from_secs(1);
/// Longest delay between attempts.
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// Shortest delay between failed attempts, even when a connection to the
/// peer comes and goes quickly.
const RETRY_FLOOR: Duration = Duration::from_millis(200);
/// The most authors whose pairs a worker remembers its peer holds; past
/// it, it forgets them all and sends their pairs again.
const MAX_HELD_PAIRS: usize = 65_536;

/// Wakes a peer's worker.
#[derive(Default)]
struct Signals {
    /// New entries were written.
    work: Notify,
    /// The rooms of the entries written since the worker last looked.
    rooms: Mutex<BTreeSet<RoomId>>,
    /// The peer (re)connected: retry at once.
    connected: Notify,
    /// The peer (re)connected: forget which pairs it holds.
    reconnected: AtomicBool,
}

impl Signals {
    /// Tells the worker that `rooms` have new entries.
    fn announce(&self, rooms: impl IntoIterator<Item = RoomId>) {
        self.rooms.lock().unwrap_or_else(|p| p.into_inner()).extend(rooms);
        self.work.notify_one();
    }
}

/// The outbox workers, one per peer with something to deliver.
#[derive(Default)]
pub(crate) struct Outbox {
    workers: Mutex<HashMap<NodeId, Arc<Signals>>>,
}

impl Outbox {
    fn signals(&self, state: &Arc<Core>, peer: NodeId) -> Arc<Signals> {
        let mut workers = self.workers.lock().unwrap_or_else(|p| p.into_inner());
        workers
            .entry(peer)
            .or_insert_with(|| {
                let signals = Arc::new(Signals::default());
                state.tasks.clone().spawn(worker(state.clone(), peer, signals.clone()));
                signals
            })
            .clone()
    }

    /// Tells the workers of `peers` that new entries of `room` are
    /// waiting.
    pub(crate) fn wake(&self, state: &Arc<Core>, room: RoomId, peers: impl IntoIterator<Item = NodeId>) {
        for peer in peers {
            self.signals(state, peer).announce([room]);
        }
    }

    /// Tells the worker of `peer`, if any, to retry at once.
    pub(crate) fn connected(&self, _state: &Arc<Core>, peer: NodeId) {
        let signals = self.workers.lock().unwrap_or_else(|p| p.into_inner()).get(&peer).cloned();
        if let Some(signals) = signals {
            signals.reconnected.store(true, Ordering::Release);
            signals.connected.notify_one();
        }
    }

    /// Starts a worker for every peer with entries in the store.
    pub(crate) fn resume(&self, state: &Arc<Core>) -> Result<(), accord_store::StoreError> {
        for peer in state.store.outbox_peers()? {
            let rooms = state.store.outbox_rooms(&peer)?;
            self.signals(state, peer).announce(rooms);
        }
        Ok(())
    }
}

/// Where a worker stands: the rooms with entries that may be waiting, each
/// with the lowest cursor not known to be delivered, and the room pushed
/// last (rooms take turns).
#[derive(Default)]
struct Queue {
    rooms: BTreeMap<RoomId, u64>,
    last: Option<RoomId>,
}

impl Queue {
    /// Takes in the rooms announced since the last look.
    fn take_announced(&mut self, signals: &Signals) {
        let announced = std::mem::take(&mut *signals.rooms.lock().unwrap_or_else(|p| p.into_inner()));
        for room in announced {
            self.rooms.entry(room).or_insert(0);
        }
    }

    /// The rooms in turn, starting after the one pushed last.
    fn turn(&self) -> Vec<RoomId> {
        let (after, rest): (Vec<RoomId>, Vec<RoomId>) = self.rooms.keys().copied().partition(|r| Some(*r) > self.last);
        after.into_iter().chain(rest).collect()
    }
}

/// Pushes `peer`'s entries until the node shuts down.
async fn worker(state: Arc<Core>, peer: NodeId, signals: Arc<Signals>) {
    let mut backoff = BACKOFF_MIN;
    let mut queue = Queue::default();
    let mut held = HashSet::new();
    loop {
        if state.tasks.shutdown().is_cancelled() {
            break;
        }
        queue.take_announced(&signals);
        if signals.reconnected.swap(false, Ordering::AcqRel) || held.len() > MAX_HELD_PAIRS {
            held.clear();
        }
        match push_once(&state, peer, &mut queue, &mut held).await {
            Ok(Delivery::Empty) => {
                tokio::select! {
                    () = signals.work.notified() => {}
                    () = signals.connected.notified() => {}
                    () = state.tasks.shutdown().cancelled() => break,
                }
            }
            Ok(Delivery::Done) => backoff = BACKOFF_MIN,
            Ok(Delivery::Retry) | Err(()) => {
                state.metrics.fed_push_retries.inc();
                tokio::select! {
                    () = tokio::time::sleep(RETRY_FLOOR) => {}
                    () = state.tasks.shutdown().cancelled() => break,
                }
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    () = signals.connected.notified() => {}
                    () = state.tasks.shutdown().cancelled() => break,
                }
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
        }
    }
}

/// What one push achieved.
enum Delivery {
    /// Nothing was waiting.
    Empty,
    /// Every entry sent reached a final outcome.
    Done,
    /// Some entries must be sent again later.
    Retry,
}

/// Sends the oldest entries of the next room with entries waiting to
/// `peer` and removes those with a final outcome. `held`: the authors
/// whose identity pairs the peer holds, which the push leaves out.
async fn push_once(
    state: &Arc<Core>,
    peer: NodeId,
    queue: &mut Queue,
    held: &mut HashSet<AccountId>,
) -> Result<Delivery, ()> {
    let log = |e: &dyn std::fmt::Display| tracing::error!("outbox of {peer}: {e}");
    if let Err(why) = crate::core::policy::meets(state, &peer).await {
        // Not federated with until it meets this node's policy; kept.
        tracing::debug!("not pushing to {peer}: {why}");
        return Ok(Delivery::Retry);
    }
    let mut found = None;
    for room in queue.turn() {
        let from = queue.rooms.get(&room).copied().unwrap_or(0);
        let entries = state.store.outbox_in(&peer, &room, from, MAX_PUSH_EVENTS).map_err(|e| log(&e))?;
        if entries.is_empty() {
            // Nothing left; a later write announces the room again.
            queue.rooms.remove(&room);
        } else {
            found = Some((room, entries));
            break;
        }
    }
    let Some((room, entries)) = found else { return Ok(Delivery::Empty) };
    queue.last = Some(room);
    // Past every entry scanned, unless one stays (below).
    let past = entries.last().map_or(0, |e| e.cursor.saturating_add(1));
    let mut events = Vec::with_capacity(entries.len());
    let mut gone = Vec::new();
    let mut sending = Vec::with_capacity(entries.len());
    for entry in entries {
        match state.store.event(&entry.event).map_err(|e| log(&e))? {
            // Nothing blocked here leaves here.
            Some(event) if state.lists.check_wire(&state.store, &event).is_some() => gone.push(entry.key.clone()),
            Some(event) => {
                events.push(event);
                sending.push(entry);
            }
            None => gone.push(entry.key.clone()),
        }
    }
    let entries = sending;
    if events.is_empty() {
        state.store.outbox_remove(gone).await.map_err(|e| log(&e))?;
        queue.rooms.insert(room, past);
        return Ok(Delivery::Done);
    }
    let authors: Vec<AccountId> = events.iter().map(super::rooms::author_of).collect();
    let left_out: HashSet<AccountId> = authors.iter().filter(|a| held.contains(*a)).copied().collect();
    let wanted = authors.iter().filter(|a| !held.contains(*a)).copied();
    let identities = super::rooms::identities_of(&state.store, wanted).map_err(|e| log(&e))?;
    state.metrics.fed_push_pairs_left_out.inc_by(left_out.len() as u64);
    tracing::debug!("pushing {} events of {room} to {peer}", events.len());
    let request = FedRequest::Push { room, events, identities };
    let response = state.network.push(network::peer_id(&peer), request).await.map_err(|e| {
        tracing::debug!("push to {peer} failed: {e}");
    })?;
    let outcomes = match response {
        FedResponse::Pushed { outcomes } => outcomes,
        FedResponse::Error { code, message } => {
            tracing::debug!("push to {peer} refused: {code}: {message}");
            return Ok(Delivery::Retry);
        }
        other => {
            tracing::warn!("push to {peer}: unexpected answer {other:?}");
            return Ok(Delivery::Retry);
        }
    };
    let by_event: HashMap<_, _> = outcomes.iter().map(|o| (o.event(), o)).collect();
    let mut stays: Option<u64> = None;
    let mut later = false;
    for (entry, author) in entries.iter().zip(authors) {
        match by_event.get(&entry.event) {
            Some(PushOutcome::Refused { code, .. }) if code == "unknown_author" && left_out.contains(&author) => {
                // The peer no longer holds the pair (restored from a
                // backup): sent again at once, with it.
                held.remove(&author);
            }
            Some(outcome) if outcome.is_final() => {
                if matches!(outcome, PushOutcome::Accepted { .. } | PushOutcome::Duplicate { .. }) {
                    held.insert(author);
                }
                if let PushOutcome::Refused { code, .. } = outcome {
                    tracing::warn!("{peer} refused event {}: {code}", entry.event);
                }
                gone.push(entry.key.clone());
                continue;
            }
            Some(PushOutcome::Retry { code, .. }) => {
                tracing::debug!("{peer} asks to push event {} again later: {code}", entry.event);
                later = true;
            }
            _ => later = true,
        }
        stays = Some(stays.map_or(entry.cursor, |c| c.min(entry.cursor)));
    }
    for outcome in &outcomes {
        let label = match outcome {
            PushOutcome::Accepted { .. } => "accepted",
            PushOutcome::Duplicate { .. } => "duplicate",
            PushOutcome::Retry { .. } => "retry",
            PushOutcome::Refused { .. } => "refused",
        };
        state.metrics.fed_push(label);
    }
    state.store.outbox_remove(gone).await.map_err(|e| log(&e))?;
    queue.rooms.insert(room, stays.unwrap_or(past));
    Ok(if later { Delivery::Retry } else { Delivery::Done })
}

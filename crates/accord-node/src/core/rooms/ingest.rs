//! Checks and stores events received from peers (spec/federation.md §4).
//!
//! Every event a peer sends, whatever message carried it, passes the same
//! checks before it is stored: signatures (singly), room, the author's
//! home is the origin, duplicates, per-origin sequence numbers, causal
//! references and depth, and that the origin is one of the room's hosts.
//! Once those hold, the event is stored whatever the room rules say at its
//! place in the order; the verdict decides whether it counts.

use crate::core::Core;
use crate::core::rooms::{LiveItem, RoomRuntime, StoredRoom, TimelineItem};
use accord_proto::event::{Event, EventContent, EventError, UnverifiedEvent};
use accord_proto::federation::{IdentityPair, MAX_IDENTITIES_PER_MESSAGE, PushOutcome};
use accord_proto::{AccountId, EventId, NodeId, RoomId};
use accord_store::{EventRecord, RoomRecord, StoreError};
use std::collections::HashMap;
use std::sync::Arc;

/// How the events reached this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Via {
    /// Pushed by their origin.
    Push,
    /// In the answer to this node's sync request.
    Sync,
    /// In the answer to this node's join request (may create the room).
    Join,
}

/// What became of a batch of events.
#[derive(Debug, Default)]
pub(crate) struct Ingested {
    /// One outcome per event, in the order given.
    pub outcomes: Vec<PushOutcome>,
    /// How many were stored.
    pub stored: usize,
    /// Codes to count against the sending peer.
    pub penalties: Vec<&'static str>,
    /// The causal references not held of the events answered
    /// `missing_prev`, each once.
    pub missing: Vec<EventId>,
}

impl Ingested {
    /// Whether some event lacked a causal reference.
    pub(crate) fn missing_prev(&self) -> bool {
        (0..self.outcomes.len()).any(|i| self.is_missing_prev(i))
    }

    /// Whether the `i`th event lacked a causal reference.
    pub(crate) fn is_missing_prev(&self, i: usize) -> bool {
        matches!(self.outcomes.get(i), Some(PushOutcome::Retry { code, .. }) if code == "missing_prev")
    }
}

/// A check an event failed, or why it is not stored.
enum Skip {
    Duplicate,
    /// The causal references not held.
    MissingPrev(Vec<EventId>),
    /// Refused; `tombstone` when the origin really stamped it (so sync
    /// need not ask again).
    Refused {
        code: &'static str,
        tombstone: Option<Box<(NodeId, u64)>>,
    },
    /// Refused by a blocklist: remembered as seen, with its depth, so
    /// that what descends from it can still be placed.
    Blocked(Box<(NodeId, u64, u64, crate::core::lists::Provenance)>),
    /// The store could not be read: the room is taken up from it again.
    Store(StoreError),
}

impl From<StoreError> for Skip {
    fn from(e: StoreError) -> Skip {
        Skip::Store(e)
    }
}

/// Identities carried in a message, verified but not stored: they are
/// kept only for authors whose events are stored.
#[derive(Default)]
pub(crate) struct Carried {
    docs: HashMap<AccountId, (NodeId, IdentityPair)>,
}

impl Carried {
    /// Verifies the pairs of a message (those not known yet); returns the
    /// codes of pairs that failed with the verified ones.
    pub(crate) fn verify(state: &Core, pairs: &[IdentityPair]) -> (Carried, Vec<&'static str>) {
        let mut carried = Carried::default();
        let mut failures = Vec::new();
        for pair in pairs.iter().take(MAX_IDENTITIES_PER_MESSAGE) {
            let known = state.accounts.knows(&pair.identity_hash());
            if known {
                continue;
            }
            match pair.verify() {
                // Moving an account to another home is not part of version
                // 1: the first home learnt stays.
                Ok((doc, _)) if state.home_of(&doc.account).is_none() => {
                    carried.docs.insert(doc.account, (doc.home, pair.clone()));
                }
                Ok(_) => {}
                Err(e) => failures.push(e.code()),
            }
        }
        (carried, failures)
    }

    /// The home of `account`, known or carried.
    fn home(&self, state: &Core, account: &AccountId) -> Option<NodeId> {
        state.home_of(account).or_else(|| self.docs.get(account).map(|(home, _)| *home))
    }

    /// Stores the carried identity of `account`, if any.
    async fn keep(&self, state: &Core, account: &AccountId) -> Result<(), StoreError> {
        let Some((home, pair)) = self.docs.get(account) else { return Ok(()) };
        if state.home_of(account).is_some() || state.accounts.is_deleted(account) {
            return Ok(());
        }
        state.store.put_identity(account, &pair.identity, &pair.attestation, None).await?;
        state.accounts.learn(*account, *home, pair.identity_hash());
        Ok(())
    }
}

/// Checks `events` (all claiming to belong to `room`) from `peer` and
/// stores those that pass. For answers, events whose causal references
/// come later in the batch are retried until no more can be placed.
pub(crate) async fn ingest(
    state: &Arc<Core>,
    peer: NodeId,
    via: Via,
    room: RoomId,
    events: &[UnverifiedEvent],
    carried: &Carried,
) -> Result<Ingested, StoreError> {
    let mut result = Ingested::default();
    let mut outcomes: Vec<Option<PushOutcome>> = vec![None; events.len()];
    // Before the room is locked: the images the events carry are fetched
    // and checked, so that one a list matches is refused at the door.
    crate::core::media::fetch::prefetch(state, room, events).await;
    let Some(handle) = room_for(state, via, room, events, carried).await? else {
        let outcomes = events
            .iter()
            .map(|e| PushOutcome::Refused { event: e.claimed_id(), code: "unknown_room".into() })
            .collect();
        return Ok(Ingested { outcomes, ..Ingested::default() });
    };
    // Also before: every event's signatures, on all cores. They are most of
    // the work of a sync or join page and need nothing of the room.
    let verified = verify_all(events).await;
    let mut rt = handle.lock().await;
    let hosts_before = rt.hosts().clone();
    let mut records: Vec<(Event, u64, Vec<accord_store::MembershipChange>)> = Vec::new();
    let mut pending: Vec<usize> = (0..events.len()).collect();
    let mut relayed = Vec::new();
    let history = StoredRoom::new(&state.store, room);
    let mut failed = None;
    let mut missing: HashMap<usize, Vec<EventId>> = HashMap::new();
    'passes: loop {
        let mut progress = false;
        let mut again = Vec::new();
        for i in std::mem::take(&mut pending) {
            let wire = &events[i];
            let id = wire.claimed_id();
            let checked = match check(state, carried, &rt, &history, peer, via, wire, &verified[i]) {
                Ok(event) if !event.attachments().is_empty() => {
                    match crate::core::media::fetch::check_ingress(state, &event).await {
                        Ok(()) => Ok(event),
                        // Quarantined: stored, and hidden where served.
                        Err(p) if p.action != accord_proto::blocklist::entry::Action::Reject => Ok(event),
                        Err(p) => {
                            let stamp = event.stamp_part();
                            Err(Skip::Blocked(Box::new((stamp.origin, stamp.seq, stamp.depth, *p))))
                        }
                    }
                }
                other => other,
            };
            match checked {
                Ok(event) => {
                    let membership_kind = changes_hosts(event.content());
                    let added = match rt.add(event.clone(), &history) {
                        Ok(added) => added,
                        Err(e) => {
                            failed = Some(e);
                            break 'passes;
                        }
                    };
                    rt.cursor += 1;
                    if membership_kind || added.rederived {
                        rt.refresh_hosts(|a| carried.home(state, a));
                    }
                    records.push((event, rt.cursor, added.memberships));
                    outcomes[i] = Some(PushOutcome::Accepted { event: id });
                    progress = true;
                }
                Err(Skip::Duplicate) => outcomes[i] = Some(PushOutcome::Duplicate { event: id }),
                Err(Skip::MissingPrev(ids)) => {
                    missing.insert(i, ids);
                    again.push(i);
                }
                Err(Skip::Blocked(seen)) => {
                    rt.remember_blocked(seen.0, seen.1, id, seen.2);
                    if via == Via::Push {
                        relayed.push((wire.clone(), seen.3));
                    }
                    outcomes[i] = Some(PushOutcome::Refused { event: id, code: "blocked".into() });
                    progress = true;
                }
                Err(Skip::Store(e)) => {
                    failed = Some(e);
                    break 'passes;
                }
                Err(Skip::Refused { code, tombstone }) => {
                    if let Some(seen) = tombstone {
                        rt.remember_refused(seen.0, seen.1, id);
                    }
                    state.metrics.fed_reject(code);
                    if via == Via::Push || forged(code) {
                        result.penalties.push(code);
                    }
                    outcomes[i] = Some(PushOutcome::Refused { event: id, code: code.into() });
                }
            }
        }
        pending = again;
        if via == Via::Push || !progress || pending.is_empty() {
            break;
        }
    }
    if let Some(e) = failed {
        // Memory may have run ahead of the store: take the room up from
        // the store again; the sender retries.
        super::append::reload(state, room, &mut rt);
        return Err(e);
    }
    for i in pending {
        outcomes[i] = Some(PushOutcome::Retry { event: events[i].claimed_id(), code: "missing_prev".into() });
        for id in missing.remove(&i).unwrap_or_default() {
            if !result.missing.contains(&id) {
                result.missing.push(id);
            }
        }
    }
    if !records.is_empty() {
        for (event, _, _) in &records {
            carried.keep(state, &event.author()).await?;
        }
        let snapshot = rt.snapshot_due(rt.cursor).then(|| rt.snapshot(rt.cursor).encode());
        let snapshot_at = snapshot.as_ref().map(|_| rt.cursor);
        let mut store_records: Vec<EventRecord<'_>> = records
            .iter()
            .map(|(event, cursor, memberships)| EventRecord {
                event,
                cursor: *cursor,
                memberships: memberships.clone(),
                room: None,
                outbox: vec![],
                snapshot: None,
            })
            .collect();
        if let Some(last) = store_records.last_mut() {
            last.snapshot = snapshot;
        }
        if let Err(e) = state.store.append_received_events(store_records).await {
            // Memory ran ahead of the store: derive the room from what is
            // stored again.
            super::append::reload(state, room, &mut rt);
            return Err(e);
        }
        rt.settle(snapshot_at);
        result.stored = records.len();
        let events: Vec<Event> = records.iter().map(|(event, _, _)| event.clone()).collect();
        crate::core::media::fetch::fetch_attachments(state, &events);
        state.metrics.fed_events_received.inc_by(records.len() as u64);
        for (event, cursor, _) in &records {
            let item = TimelineItem {
                cursor: *cursor,
                event: Some(event.to_unverified()),
                accepted: rt.is_accepted(&event.id()),
                redacted: false,
                hidden: None,
            };
            rt.publish(LiveItem::new(item, event));
        }
    }
    let new_hosts: Vec<NodeId> = rt.hosts().difference(&hosts_before).copied().collect();
    let me = state.node_id;
    let hosting_changed = hosts_before.contains(&me) != rt.hosts().contains(&me);
    drop(rt);
    if hosting_changed {
        // A member here was kicked or banned (or invited): announce the
        // room in the DHT, or stop.
        super::providers::announce(state, room).await;
    }
    for (wire, provenance) in &relayed {
        crate::core::policy::relayed_blocked(state, peer, wire, provenance).await;
    }
    if !new_hosts.is_empty() && via != Via::Join {
        super::sync::introduce(state, room, new_hosts);
    }
    result.outcomes = outcomes
        .into_iter()
        .zip(events)
        .map(|(o, e)| o.unwrap_or(PushOutcome::Retry { event: e.claimed_id(), code: "missing_prev".into() }))
        .collect();
    Ok(result)
}

/// Codes that show the sender passed on something forged (counted even
/// against a peer that only relays).
fn forged(code: &str) -> bool {
    matches!(
        code,
        "bad_signature" | "malformed" | "signer_mismatch" | "invalid" | "non_canonical" | "inconsistent_event"
    )
}

/// Whether an event of this kind can change the room's hosts.
pub(super) fn changes_hosts(content: &EventContent) -> bool {
    matches!(
        content,
        EventContent::Join {}
            | EventContent::Leave {}
            | EventContent::Invite { .. }
            | EventContent::Kick { .. }
            | EventContent::Ban { .. }
    )
}

/// The room's runtime; for a join answer whose batch holds the room's
/// create event, the room is created from it first.
async fn room_for(
    state: &Arc<Core>,
    via: Via,
    room: RoomId,
    events: &[UnverifiedEvent],
    carried: &Carried,
) -> Result<Option<Arc<tokio::sync::Mutex<RoomRuntime>>>, StoreError> {
    if let Some(handle) = state.rooms.get(&room) {
        return Ok(Some(handle));
    }
    if via != Via::Join {
        return Ok(None);
    }
    let Some(create) = events.iter().find(|e| e.claimed_id() == EventId(room.0)) else { return Ok(None) };
    let Ok(create) = create.verify() else { return Ok(None) };
    let EventContent::Create { .. } = create.content() else { return Ok(None) };
    if carried.home(state, &create.author()) != Some(create.origin()) {
        return Ok(None);
    }
    let _guard = state.rooms.creation.lock().await;
    if let Some(handle) = state.rooms.get(&room) {
        return Ok(Some(handle));
    }
    let Some(mut runtime) = RoomRuntime::from_create(&create, state.node_id) else { return Ok(None) };
    carried.keep(state, &create.author()).await?;
    runtime.refresh_hosts(|a| state.home_of(a));
    let record = EventRecord {
        event: &create,
        cursor: 1,
        memberships: vec![],
        room: Some(RoomRecord { room, name: runtime.state.name().to_string() }),
        outbox: vec![],
        snapshot: None,
    };
    state.store.append_event(record).await?;
    runtime.settle(None);
    Ok(Some(state.rooms.insert(room, runtime)))
}

/// Events in a batch below which their signatures are verified in place.
const VERIFY_IN_PLACE: usize = 8;

/// Both signatures of every event (each event singly, spec/federation.md
/// §4 check 1), in order: spread over the blocking threads, one share per
/// core, for a batch of [`VERIFY_IN_PLACE`] events or more.
async fn verify_all(events: &[UnverifiedEvent]) -> Vec<Result<Event, EventError>> {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    if events.len() < VERIFY_IN_PLACE || cores == 1 {
        return events.iter().map(UnverifiedEvent::verify).collect();
    }
    let share = events.len().div_ceil(cores);
    let tasks: Vec<_> = events
        .chunks(share)
        .map(|chunk| {
            let chunk = chunk.to_vec();
            tokio::task::spawn_blocking(move || chunk.iter().map(UnverifiedEvent::verify).collect::<Vec<_>>())
        })
        .collect();
    let mut verified = Vec::with_capacity(events.len());
    for (task, chunk) in tasks.into_iter().zip(events.chunks(share)) {
        match task.await {
            Ok(done) => verified.extend(done),
            // The task was cancelled (the runtime is shutting down): verify
            // its share here.
            Err(_) => verified.extend(chunk.iter().map(UnverifiedEvent::verify)),
        }
    }
    verified
}

/// The checks of spec/federation.md §4 against the room as held now;
/// `verified` is the outcome of verifying `wire`'s signatures.
#[allow(clippy::too_many_arguments, reason = "the checks' whole context, passed once")]
fn check(
    state: &Core,
    carried: &Carried,
    rt: &RoomRuntime,
    history: &StoredRoom<'_>,
    peer: NodeId,
    via: Via,
    wire: &UnverifiedEvent,
    verified: &Result<Event, EventError>,
) -> Result<Event, Skip> {
    let refused = |code| Skip::Refused { code, tombstone: None };
    let room = rt.state.room();
    if rt.contains(&wire.claimed_id(), history)? {
        return Err(Skip::Duplicate);
    }
    // Singly: the sender composed this set, so a batch would let it make
    // honest events look bad or bad ones look good.
    let event = verified.as_ref().map_err(|e| refused(e.code()))?.clone();
    if event.room() != room || matches!(event.content(), EventContent::Create { .. }) {
        return Err(refused("wrong_room"));
    }
    let stamp = event.stamp_part();
    let origin = stamp.origin;
    if via == Via::Push && origin != peer {
        return Err(refused("not_origin"));
    }
    if via == Via::Push {
        state.clocks.observe(origin, stamp.received);
    }
    match carried.home(state, &event.author()) {
        None => return Err(refused("unknown_author")),
        Some(home) if home != origin => return Err(refused("not_home")),
        Some(_) => {}
    }
    // Blocklists apply at the door: a rejected author, origin node, room or
    // content is not stored (quarantined content is, and stays hidden).
    if let Some(p) = state.lists.check_event(&state.store, &event)
        && p.action == accord_proto::blocklist::entry::Action::Reject
    {
        state.metrics.blocked.get_or_create(&crate::metrics::CodeLabel { code: p.category.as_str().into() }).inc();
        return Err(Skip::Blocked(Box::new((stamp.origin, stamp.seq, stamp.depth, p))));
    }
    if rt.at_seq(&origin, stamp.seq, history)?.is_some_and(|other| other != event.id()) {
        return Err(refused("equivocation"));
    }
    let mut max_depth = None;
    let mut missing = Vec::new();
    for prev in &stamp.prev {
        match rt.depth_of(prev, history)? {
            Some(depth) => max_depth = max_depth.max(Some(depth)),
            None => missing.push(*prev),
        }
    }
    if !missing.is_empty() {
        return Err(Skip::MissingPrev(missing));
    }
    if max_depth.map(|d| d + 1) != Some(stamp.depth) {
        return Err(refused("bad_depth"));
    }
    if !rt.hosts().contains(&origin) {
        let joins = matches!(event.content(), EventContent::Join {}) && rt.authorize(&event, history)?.is_ok();
        if !joins {
            return Err(Skip::Refused { code: "not_in_room", tombstone: Some(Box::new((origin, stamp.seq))) });
        }
    }
    Ok(event)
}

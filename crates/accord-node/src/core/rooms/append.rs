//! Local events: a member's signed event is checked, stamped by this node
//! as its origin, stored with its outbox entries in one write, published
//! to the room's live feed and handed to the outbox (spec/client-api.md §5,
//! spec/events.md).

use super::{LiveItem, RoomRuntime, StoredRoom, TimelineItem, load_room};
use crate::core::Core;
use crate::core::lists::Provenance;
use crate::network;
use accord_proto::blocklist::entry::Action;
use accord_proto::event::{Event, EventBody, EventContent, Role};
use accord_proto::room::AuthError;
use accord_proto::{AccountId, EnvelopeError, EventId, NodeId, RoomId, SignedBytes, Timestamp, Unverified, Verified};
use accord_store::{EventRecord, MembershipChange, RoomRecord, StoreError};
use std::collections::BTreeSet;
use std::sync::Arc;
use tokio::sync::oneshot;

/// How far ahead of the node's clock an event's timestamp may be.
const MAX_FUTURE_MS: u64 = 5 * 60 * 1000;
/// How far behind the node's clock an event's timestamp may be.
const MAX_PAST_MS: u64 = 24 * 3600 * 1000;
/// Most `via` entries of one submission.
pub const MAX_VIA: usize = 8;

/// Why a local event was refused.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum SubmitError {
    /// The event's envelope does not verify.
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    /// A message over the node's size limit.
    #[error("messages on this node are limited to {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The event is signed by another account than the submitter.
    #[error("the event is signed by another account than this session's")]
    NotSubmitter,
    /// The event's timestamp is too far from the node's clock.
    #[error("event timestamp is too far from the node's clock")]
    BadTimestamp,
    /// A blocklist this node enforces rejects the event.
    #[error("blocked by {} entry {} ({})", .0.list, .0.entry, .0.category.as_str())]
    Blocked(Box<Provenance>),
    /// The event, or the room it creates, is stored already.
    #[error("event {0} is already stored")]
    Duplicate(EventId),
    /// The event names no room.
    #[error("event names no room")]
    NoRoom,
    /// This node does not hold the room.
    #[error("no such room on this node")]
    UnknownRoom,
    /// None of the nodes named lets the account join the room.
    #[error("no node named lets this account join: {0}")]
    JoinRefused(String),
    /// The node, or the account, has as many joins' fetches under way as
    /// it may; nothing was started.
    #[error(transparent)]
    TooManyJoins(#[from] super::joins::StartError),
    /// The room's history is still being fetched for a join: the fetch
    /// and the event carry on without the caller (spec/client-api.md §4.1).
    #[error("the room's history is still being fetched ({} events so far); the event is sent once the room is held", .0.events_fetched)]
    JoinInProgress(Box<accord_api::rooms::JoinStatus>),
    /// A join names no node, and no node announces the room in the DHT
    /// (spec/federation.md §1.4).
    #[error("no node announces this room; name one that holds it (via)")]
    NoProvider,
    /// A `via` entry is neither a node id nor an address ending in one, or
    /// there are too many.
    #[error("via: {0}")]
    BadVia(String),
    /// The room's rules refuse the event.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// An attachment is not held here as described, or is blocked.
    #[error(transparent)]
    Attachment(#[from] crate::core::media::AttachmentError),
    /// The store failed; nothing was stored.
    #[error("store: {0}")]
    Store(String),
    /// The disk is full; nothing was stored.
    #[error("the node's storage is full; nothing was stored")]
    StorageFull,
    /// The node was restored from a backup and has not yet synced the room
    /// with a peer; it stamps nothing there until it has.
    #[error("restored from a backup, this node has not yet synced the room with a peer; try again later")]
    CatchingUp,
    /// The node failed; nothing was stored.
    #[error("{0}")]
    Internal(String),
}

impl From<StoreError> for SubmitError {
    fn from(e: StoreError) -> Self {
        if e.is_no_space() {
            tracing::warn!("a submission refused: {e}");
            return SubmitError::StorageFull;
        }
        SubmitError::Store(e.to_string())
    }
}

impl SubmitError {
    /// The stable error code (spec/client-api.md §1.1).
    pub fn code(&self) -> &'static str {
        match self {
            SubmitError::Envelope(e) => e.code(),
            SubmitError::TooLarge { .. } => "too_large",
            SubmitError::NotSubmitter => "not_session_account",
            SubmitError::BadTimestamp => "bad_timestamp",
            SubmitError::Blocked(_) => "blocked",
            SubmitError::Duplicate(_) => "duplicate_event",
            SubmitError::NoRoom | SubmitError::BadVia(_) => "bad_request",
            SubmitError::UnknownRoom | SubmitError::JoinRefused(_) => "unknown_room",
            SubmitError::NoProvider => "no_provider",
            SubmitError::JoinInProgress(_) => "join_in_progress",
            SubmitError::TooManyJoins(_) => "rate_limited",
            SubmitError::Auth(e) => e.code(),
            SubmitError::Attachment(e) => e.code(),
            SubmitError::StorageFull => "storage_full",
            SubmitError::CatchingUp => "catching_up",
            SubmitError::Store(_) | SubmitError::Internal(_) => "internal",
        }
    }
}

/// What the node did with a local event.
#[derive(Debug, Clone)]
pub struct Submitted {
    /// The event's id.
    pub event_id: EventId,
    /// Its room.
    pub room: RoomId,
    /// Its timeline item here (cursor and stamped event).
    pub item: TimelineItem,
}

/// Takes a signed event from `account`, homed here: checks it, fetches
/// its room from the nodes in `via` if this node does not hold it yet (a
/// join), then stamps, stores and publishes it. The store write and what
/// follows it run to completion even if the caller goes away, and so do a
/// join's fetch and the event waiting for it ([`super::joins`]): past
/// `api.join_wait_secs` the caller is answered
/// [`SubmitError::JoinInProgress`] and both carry on.
pub async fn submit(
    core: &Arc<Core>,
    account: AccountId,
    event: SignedBytes,
    via: &[String],
) -> Result<Submitted, SubmitError> {
    let body = Unverified::<EventBody>::from_raw(event).verify()?;
    let limit = core.config.limits.max_message_bytes;
    if let EventContent::Message { text, .. } = &body.content
        && text.as_str().len() > limit
    {
        return Err(SubmitError::TooLarge { limit });
    }
    if body.author != account {
        return Err(SubmitError::NotSubmitter);
    }
    let now = Timestamp::now();
    if body.ts > now.plus_millis(MAX_FUTURE_MS) || body.ts.plus_millis(MAX_PAST_MS) < now {
        return Err(SubmitError::BadTimestamp);
    }
    let id = EventId(body.body_hash());
    let room = body.room.unwrap_or(RoomId::from(id));
    if core.rooms.is_catching_up(&room) {
        return Err(SubmitError::CatchingUp);
    }
    if let Some(p) = core.lists.check_body(&core.store, &body, room)
        && p.action == Action::Reject
    {
        return Err(SubmitError::Blocked(Box::new(p)));
    }
    let is_create = matches!(body.content, EventContent::Create { .. });
    let attachments = match &body.content {
        EventContent::Message { attachments, .. } => attachments.as_slice(),
        _ => &[],
    };
    // A duplicate is refused under the room's lock (`append_group`); it is
    // looked for here first only where other work would come before that
    // (a room's creation, a join's fetch, the attachments' check), so that
    // a new event costs one store read, not two.
    let held = core.rooms.get(&room).is_some();
    if (is_create || !held || !attachments.is_empty()) && core.store.has_event(&id)? {
        return Err(SubmitError::Duplicate(id));
    }
    if !attachments.is_empty() {
        crate::core::media::check_send(core, attachments).await?;
    }
    // Events that may begin or end this node's hosting of the room.
    let membership = matches!(
        body.content,
        EventContent::Create { .. }
            | EventContent::Join {}
            | EventContent::Leave {}
            | EventContent::Kick { .. }
            | EventContent::Ban { .. }
    );
    if !is_create {
        let run = match core.rooms.joins.running(&room) {
            // A fetch of the room is under way (it may hold part of the
            // room already): wait for it, never join on part of the history.
            Some(run) => Some(run),
            None if core.rooms.get(&room).is_none() => {
                let nodes = if !via.is_empty() {
                    Some(via_nodes(core, via).await?)
                } else if matches!(body.content, EventContent::Join {}) {
                    // No node named: the DHT says who hosts the room.
                    Some(super::providers::find(core, &room).await.map_err(|e| match e {
                        super::providers::LookupError::NoProvider(_) => SubmitError::NoProvider,
                        e => SubmitError::Internal(e.to_string()),
                    })?)
                } else {
                    None
                };
                nodes.map(|nodes| super::joins::Joins::start(core, room, nodes, account)).transpose()?
            }
            None => None,
        };
        if let Some(run) = run {
            return after_fetch(core, run, body, id, membership).await;
        }
    }
    finish(core, body, id, is_create, membership).await
}

/// Stamps, stores and publishes a checked event (run to completion even if
/// the caller goes away), then announces the room if hosting it may have
/// begun or ended here.
async fn finish(
    core: &Arc<Core>,
    body: Verified<EventBody>,
    id: EventId,
    is_create: bool,
    membership: bool,
) -> Result<Submitted, SubmitError> {
    let room = body.room.unwrap_or(RoomId::from(id));
    let task_core = core.clone();
    let item = core
        .tasks
        .spawn_to_completion(async move {
            if is_create { create_room(&task_core, body, id).await } else { append(&task_core, body).await }
        })
        .await
        .map_err(|e| SubmitError::Internal(e.to_string()))??;
    if membership {
        // Hosting the room may have begun or ended here.
        super::providers::announce(core, room).await;
    }
    Ok(Submitted { event_id: id, room, item })
}

/// Sends an event once the fetch of its room is over, from a task of the
/// core: the caller waits for it at most `api.join_wait_secs`, then is
/// answered `join_in_progress` with the fetch's progress, and the fetch
/// and the event carry on without it.
async fn after_fetch(
    core: &Arc<Core>,
    run: Arc<super::joins::JoinRun>,
    body: Verified<EventBody>,
    id: EventId,
    membership: bool,
) -> Result<Submitted, SubmitError> {
    let waiting = run.wait(body.author);
    let (done, outcome) = oneshot::channel();
    let (task_core, task_run) = (core.clone(), run.clone());
    core.tasks.spawn(async move {
        let _waiting = waiting;
        let sent = match task_run.outcome().await {
            Ok(()) => finish(&task_core, body, id, false, membership).await,
            Err(e) => Err(e),
        };
        if let Err(e) = &sent
            && done.is_closed()
        {
            tracing::debug!(event = %id, "an event that waited for its room's fetch was refused: {e}");
        }
        let _ = done.send(sent);
    });
    match tokio::time::timeout(core.config.api.join_wait(), outcome).await {
        Ok(Ok(sent)) => sent,
        Ok(Err(_)) => Err(SubmitError::Internal("the node is shutting down".into())),
        Err(_) => Err(SubmitError::JoinInProgress(Box::new(run.progress(false)))),
    }
}

async fn create_room(core: &Core, body: Verified<EventBody>, id: EventId) -> Result<TimelineItem, SubmitError> {
    let _guard = core.rooms.creation.lock().await;
    let room = RoomId::from(id);
    if core.rooms.get(&room).is_some() {
        return Err(SubmitError::Duplicate(id));
    }
    let event = Event::stamp(body, &core.node_key, 1, vec![], 0, Timestamp::now())
        .map_err(|e| SubmitError::Internal(e.to_string()))?;
    let mut runtime = RoomRuntime::from_create(&event, core.node_id)
        .ok_or_else(|| SubmitError::Internal("create event refused".into()))?;
    runtime.refresh_hosts(|a| core.home_of(a));
    let record = EventRecord {
        event: &event,
        cursor: 1,
        memberships: vec![MembershipChange { account: event.author(), role: Some(Role::Owner) }],
        room: Some(RoomRecord { room, name: runtime.state.name().to_string() }),
        outbox: vec![],
        snapshot: None,
    };
    core.store.append_event(record).await?;
    runtime.settle(None);
    core.rooms.insert(room, runtime);
    Ok(TimelineItem { cursor: 1, event: Some(event.to_unverified()), accepted: true, redacted: false, hidden: None })
}

/// The peers a local event must be pushed to: the room's hosts before it,
/// and the home of the account it targets (an invitee learns of the room),
/// except this node.
fn push_targets(core: &Core, rt: &RoomRuntime, event: &Event) -> Vec<NodeId> {
    let mut targets: BTreeSet<NodeId> = rt.hosts().clone();
    let target = match event.content() {
        EventContent::Invite { target }
        | EventContent::Kick { target, .. }
        | EventContent::Ban { target, .. }
        | EventContent::Unban { target }
        | EventContent::SetRole { target, .. } => Some(*target),
        _ => None,
    };
    targets.extend(target.and_then(|t| core.home_of(&t)));
    targets.remove(&core.node_id);
    targets.into_iter().collect()
}

/// The nodes named in `via`: node ids, or p2p addresses ending in
/// `/p2p/NODE_ID` (dialled first).
async fn via_nodes(core: &Arc<Core>, via: &[String]) -> Result<Vec<NodeId>, SubmitError> {
    if via.len() > MAX_VIA {
        return Err(SubmitError::BadVia(format!("at most {MAX_VIA} entries")));
    }
    let mut nodes = Vec::with_capacity(via.len());
    for text in via {
        if let Ok(node) = text.parse::<NodeId>() {
            nodes.push(node);
            continue;
        }
        let addr: network::Address =
            text.parse().map_err(|_| SubmitError::BadVia(format!("{text} is neither a node id nor an address")))?;
        let node = network::peer_of(&addr)
            .and_then(|p| network::node_id(&p))
            .ok_or_else(|| SubmitError::BadVia(format!("{text} must end with /p2p/NODE_ID")))?;
        core.network.dial(addr).await.map_err(|e| SubmitError::Internal(e.to_string()))?;
        nodes.push(node);
    }
    Ok(nodes)
}

/// A local event waiting for its room's next store write, and where its
/// outcome goes.
pub(crate) type PendingAppend = (Verified<EventBody>, oneshot::Sender<Result<TimelineItem, SubmitError>>);

/// Appends a local event to its room. Concurrent senders to one room share
/// one store write (and one fsync): each queues its event, then takes the
/// room's lock, and whoever holds it writes every event queued by then.
/// The room's memory still never runs ahead of the store: the events are
/// applied, written and published under the lock, in cursor order.
async fn append(core: &Arc<Core>, body: Verified<EventBody>) -> Result<TimelineItem, SubmitError> {
    let room = body.room.ok_or(SubmitError::NoRoom)?;
    let handle = core.rooms.get(&room).ok_or(SubmitError::UnknownRoom)?;
    let (done, outcome) = oneshot::channel();
    core.rooms.queue_append(room, (body, done));
    {
        let mut rt = handle.lock().await;
        // Empty when an earlier holder of the lock wrote this event.
        let queued = core.rooms.take_appends(&room);
        if !queued.is_empty() {
            append_group(core, room, &mut rt, queued).await;
        }
    }
    outcome.await.map_err(|e| SubmitError::Internal(e.to_string()))?
}

/// Takes a room up from the store again after its memory may have run
/// ahead of it (a failed write or read), keeping its live feed.
pub(super) fn reload(core: &Core, room: RoomId, rt: &mut RoomRuntime) {
    match load_room(&core.store, core.node_id, room) {
        Ok(fresh) => {
            rt.replace_keeping_live(fresh);
            rt.refresh_hosts(|a| core.home_of(a));
        }
        Err(e) => tracing::error!(%room, error = %e, "the room could not be taken up from the store again"),
    }
}

/// An event stamped and applied, waiting for the group's write.
struct Staged {
    event: Event,
    cursor: u64,
    memberships: Vec<MembershipChange>,
    targets: Vec<NodeId>,
    done: oneshot::Sender<Result<TimelineItem, SubmitError>>,
}

/// Stamps, authorizes and applies each queued event in turn, writes all
/// that passed in one store write, then publishes them and answers each
/// sender. Runs under the room's lock.
async fn append_group(core: &Arc<Core>, room: RoomId, rt: &mut RoomRuntime, queued: Vec<PendingAppend>) {
    let mut staged: Vec<Staged> = Vec::with_capacity(queued.len());
    let mut ids = BTreeSet::new();
    let mut new_hosts: BTreeSet<NodeId> = BTreeSet::new();
    let history = StoredRoom::new(&core.store, room);
    for (body, done) in queued {
        let id = EventId(body.body_hash());
        // Checked again under the room's lock (and within the group): two
        // copies of one event sent at once must not both be stored.
        match core.store.has_event(&id) {
            Ok(false) if ids.insert(id) => {}
            Ok(_) => {
                let _ = done.send(Err(SubmitError::Duplicate(id)));
                continue;
            }
            Err(e) => {
                let _ = done.send(Err(e.into()));
                continue;
            }
        }
        let (depth, head) = rt.head();
        let stamped = Event::stamp(body, &core.node_key, rt.next_seq, vec![head], depth + 1, Timestamp::now())
            .map_err(|e| SubmitError::Internal(e.to_string()));
        let authorized = stamped.and_then(|event| match rt.authorize(&event, &history) {
            Ok(verdict) => verdict.map(|()| event).map_err(Into::into),
            Err(e) => Err(e.into()),
        });
        let event = match authorized {
            Ok(event) => event,
            Err(e) => {
                let _ = done.send(Err(e));
                continue;
            }
        };
        let targets = push_targets(core, rt, &event);
        let added = match rt.add(event.clone(), &history) {
            Ok(added) => added,
            Err(e) => {
                // Memory may have run ahead of the store: take the room up
                // from the store again.
                reload(core, room, rt);
                let _ = done.send(Err(e.into()));
                for s in staged {
                    let _ = s.done.send(Err(SubmitError::Internal("the room was reloaded".into())));
                }
                return;
            }
        };
        // Only membership events change the hosts (a message's author is a
        // member, and local: its home is this node).
        if super::ingest::changes_hosts(event.content()) || added.rederived {
            let hosts_before = rt.hosts().clone();
            rt.refresh_hosts(|a| core.home_of(a));
            new_hosts.extend(rt.hosts().difference(&hosts_before).copied());
        }
        let cursor = rt.cursor + 1 + staged.len() as u64;
        staged.push(Staged { event, cursor, memberships: added.memberships, targets, done });
    }
    if staged.is_empty() {
        return;
    }
    // Authorize, change memory, store; a failed write reloads the room
    // from the store, so memory never runs ahead of it.
    let last = rt.cursor + staged.len() as u64;
    let snapshot = rt.snapshot_due(last).then(|| rt.snapshot(last).encode());
    let snapshot_at = snapshot.as_ref().map(|_| last);
    let mut records: Vec<EventRecord<'_>> = staged
        .iter()
        .map(|s| EventRecord {
            event: &s.event,
            cursor: s.cursor,
            memberships: s.memberships.clone(),
            room: None,
            outbox: s.targets.clone(),
            snapshot: None,
        })
        .collect();
    if let Some(last) = records.last_mut() {
        last.snapshot = snapshot;
    }
    if let Err(e) = core.store.append_events(records).await {
        reload(core, room, rt);
        let error = SubmitError::from(e);
        for s in staged {
            let _ = s.done.send(Err(error.clone()));
        }
        return;
    }
    rt.cursor += staged.len() as u64;
    rt.settle(snapshot_at);
    let targets: BTreeSet<NodeId> = staged.iter().flat_map(|s| s.targets.iter().copied()).collect();
    core.outbox.wake(core, room, targets);
    if staged.iter().any(|s| matches!(s.event.content(), EventContent::Join {})) {
        // A join of ours: introduce this node to every host it now knows.
        super::sync::introduce(core, room, rt.hosts().iter().copied().collect());
    } else if !new_hosts.is_empty() {
        super::sync::introduce(core, room, new_hosts.into_iter().collect());
    }
    for s in staged {
        let item = TimelineItem {
            cursor: s.cursor,
            event: Some(s.event.to_unverified()),
            accepted: true,
            redacted: false,
            hidden: None,
        };
        rt.publish(LiveItem::new(item.clone(), &s.event));
        let _ = s.done.send(Ok(item));
    }
}

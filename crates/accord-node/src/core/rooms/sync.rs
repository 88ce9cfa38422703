//! Catching up: sync (what each origin's events I lack), event fetch and
//! join (a room's events for a node that does not hold it yet), both the
//! asking side and the answering side.

use super::author_identities;
use super::ingest::{self, Via};
use crate::core::Core;
use crate::network;
use accord_proto::event::{JoinRule, UnverifiedEvent};
use accord_proto::federation::{FedRequest, FedResponse, IdentityPair, MAX_EVENTS_PER_RESPONSE, PushOutcome};
use accord_proto::{AccountId, EventId, NodeId, RoomId};
use accord_store::StoreError;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Most sync rounds in a row with one peer for one room.
const MAX_ROUNDS: usize = 256;
/// Most join pages fetched for one room.
const MAX_JOIN_PAGES: usize = 4096;

/// Why a join through other nodes failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum JoinError {
    /// No node named holds the room or lets this account join it.
    #[error("{0}")]
    Refused(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a peer's sync, event fetch or join request is refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AnswerError {
    /// This node does not hold the room.
    #[error("no such room here")]
    UnknownRoom,
    /// The requester is not a host of the room.
    #[error("the requester is not a host of this room")]
    NotHost,
    /// The joiner's identity does not verify.
    #[error("joiner identity: {message}")]
    Joiner {
        /// The verification failure's code.
        code: &'static str,
        /// What failed.
        message: String,
    },
    /// The joiner is not homed at the requester.
    #[error("the joiner is not homed at the requesting node")]
    NotHome,
    /// The joiner may not join the room.
    #[error("this account may not join the room")]
    MayNotJoin,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl AnswerError {
    /// The stable code of the refusal (spec/federation.md).
    pub(crate) fn code(&self) -> &'static str {
        match self {
            AnswerError::UnknownRoom => "unknown_room",
            AnswerError::NotHost | AnswerError::MayNotJoin => "forbidden",
            AnswerError::Joiner { code, .. } => code,
            AnswerError::NotHome => "not_home",
            AnswerError::Store(_) => "internal",
        }
    }
}

/// Answers a sync request: the events of every origin above what the
/// requester holds, at most [`MAX_EVENTS_PER_RESPONSE`], in causal order.
pub(crate) async fn answer(
    state: &Core,
    peer: NodeId,
    room: RoomId,
    held: &BTreeMap<NodeId, u64>,
) -> Result<FedResponse, AnswerError> {
    let handle = state.rooms.get(&room).ok_or(AnswerError::UnknownRoom)?;
    let origins = {
        let rt = handle.lock().await;
        if !rt.hosts().contains(&peer) {
            return Err(AnswerError::NotHost);
        }
        rt.held()
    };
    let mut events = Vec::new();
    let mut more = false;
    for origin in origins.keys() {
        let remaining = MAX_EVENTS_PER_RESPONSE - events.len();
        let after = held.get(origin).copied().unwrap_or(0);
        let mut batch = state.store.origin_events(&room, origin, after, remaining + 1)?;
        if batch.len() > remaining {
            batch.truncate(remaining);
            more = true;
        }
        events.extend(batch);
        if more {
            break;
        }
    }
    causal_order(&mut events);
    let identities = author_identities(&state.store, &events)?;
    Ok(FedResponse::Events { events, identities, more, next: 0 })
}

/// Sorts stored events so that causal references come first (by the
/// depth in their stamps; one that does not parse goes last).
fn causal_order(events: &mut [UnverifiedEvent]) {
    events.sort_by_cached_key(|e| {
        let depth = e.from_own_store().map_or(u64::MAX, |e| e.stamp_part().depth);
        (depth, e.claimed_id())
    });
}

/// Answers an event fetch: the events named that are held here.
pub(crate) async fn answer_fetch(
    state: &Core,
    peer: NodeId,
    room: RoomId,
    ids: &[EventId],
) -> Result<FedResponse, AnswerError> {
    let handle = state.rooms.get(&room).ok_or(AnswerError::UnknownRoom)?;
    if !handle.lock().await.hosts().contains(&peer) {
        return Err(AnswerError::NotHost);
    }
    let mut events = Vec::with_capacity(ids.len());
    for id in ids {
        // Only the room's own events (an id names one event of one room).
        if let Some(event) = state.store.event(id)?
            && event.from_own_store().is_ok_and(|e| e.room() == room)
        {
            events.push(event);
        }
    }
    causal_order(&mut events);
    let identities = author_identities(&state.store, &events)?;
    Ok(FedResponse::Events { events, identities, more: false, next: 0 })
}

/// Answers a join request: the room's timeline here after `after`, if the
/// joiner, homed at the requester, may join.
pub(crate) async fn answer_join(
    state: &Core,
    peer: NodeId,
    room: RoomId,
    joiner: &IdentityPair,
    after: u64,
) -> Result<FedResponse, AnswerError> {
    let handle = state.rooms.get(&room).ok_or(AnswerError::UnknownRoom)?;
    let doc = match joiner.verify() {
        Ok((doc, _)) => doc,
        Err(e) => return Err(AnswerError::Joiner { code: e.code(), message: e.to_string() }),
    };
    if doc.home != peer {
        return Err(AnswerError::NotHome);
    }
    {
        let rt = handle.lock().await;
        let s = &rt.state;
        let may = s.join_rule() == JoinRule::Public || s.invites().contains(&doc.account) || s.is_member(&doc.account);
        if !may || s.bans().contains(&doc.account) {
            return Err(AnswerError::MayNotJoin);
        }
    }
    let mut entries = state.store.timeline(&room, Some(after), None, MAX_EVENTS_PER_RESPONSE + 1)?;
    let more = entries.len() > MAX_EVENTS_PER_RESPONSE;
    entries.truncate(MAX_EVENTS_PER_RESPONSE);
    let next = entries.last().map_or(after, |e| e.cursor);
    let events: Vec<UnverifiedEvent> = entries.into_iter().map(|e| e.event).collect();
    let mut identities = author_identities(&state.store, &events)?;
    if let Some((identity, attestation)) = state.store.identity(&doc.account)? {
        identities.push(IdentityPair { identity, attestation });
    } else {
        identities.push(joiner.clone());
    }
    Ok(FedResponse::Events { events, identities, more, next })
}

/// Introduces this node to hosts of `room` it has just learnt of: pushes
/// them its own membership events (so they count it as a host and push to
/// it from now on), then syncs with them (to get what they stamped before
/// they knew it). Each side does this when it learns of the other, so two
/// hosts that joined concurrently through a third still find each other.
pub(crate) fn introduce(state: &Arc<Core>, room: RoomId, hosts: Vec<NodeId>) {
    for host in hosts.into_iter().filter(|h| *h != state.node_id) {
        let state = state.clone();
        state.tasks.clone().spawn(async move {
            let Some(handle) = state.rooms.get(&room) else { return };
            let events = handle.lock().await.own_memberships();
            for chunk in events.chunks(accord_proto::federation::MAX_PUSH_EVENTS) {
                let identities = super::author_identities(&state.store, chunk).unwrap_or_default();
                let push = FedRequest::Push { room, events: chunk.to_vec(), identities };
                if let Err(e) = state.network.request(network::peer_id(&host), push).await {
                    tracing::debug!("introducing to {host} in {room}: {e}");
                    break;
                }
            }
            sync_room(&state, host, room).await;
        });
    }
}

/// Syncs `room` with `peer` until nothing is missing (or nothing more can
/// be placed). At most one sync per peer and room runs at a time.
pub(crate) async fn sync_room(state: &Arc<Core>, peer: NodeId, room: RoomId) {
    if crate::core::policy::meets(state, &peer).await.is_err() {
        return;
    }
    if !state.rooms.start_sync(peer, room) {
        return;
    }
    let libp2p_peer = network::peer_id(&peer);
    let mut refusals = 0;
    for _ in 0..MAX_ROUNDS {
        let Some(handle) = state.rooms.get(&room) else { break };
        let held = handle.lock().await.held();
        state.metrics.fed_syncs.inc();
        let response = match state.network.request(libp2p_peer, FedRequest::Sync { room, held }).await {
            Ok(response) => response,
            Err(e) => {
                tracing::debug!("sync of {room} with {peer} failed: {e}");
                break;
            }
        };
        let (events, identities, more) = match response {
            FedResponse::Events { events, identities, more, .. } => (events, identities, more),
            // The peer may not know yet that this node is a host (its join
            // is on the way): ask again shortly.
            FedResponse::Error { code, .. } if code == "forbidden" && refusals < 5 => {
                refusals += 1;
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                continue;
            }
            _ => break,
        };
        let stored = match receive(state, peer, Via::Sync, room, events, &identities).await {
            Ok(stored) => stored,
            Err(e) => {
                tracing::error!("storing synced events failed: {e}");
                break;
            }
        };
        if !more || stored == 0 {
            crate::core::backup::room_synced(state, &room).await;
            break;
        }
    }
    state.rooms.end_sync(peer, room);
}

/// Learns the identities and ingests the events of an answer; counts what
/// was forged against the peer. Returns how many events were stored.
async fn receive(
    state: &Arc<Core>,
    peer: NodeId,
    via: Via,
    room: RoomId,
    events: Vec<UnverifiedEvent>,
    identities: &[IdentityPair],
) -> Result<usize, StoreError> {
    Ok(receive_all(state, peer, via, room, events, identities).await?.stored)
}

/// As [`receive`], with what became of each event.
async fn receive_all(
    state: &Arc<Core>,
    peer: NodeId,
    via: Via,
    room: RoomId,
    mut events: Vec<UnverifiedEvent>,
    identities: &[IdentityPair],
) -> Result<ingest::Ingested, StoreError> {
    let libp2p_peer = network::peer_id(&peer);
    let (carried, failures) = ingest::Carried::verify(state, identities);
    for code in failures {
        state.metrics.fed_reject(code);
        state.network.penalize(libp2p_peer, code).await;
    }
    events.truncate(MAX_EVENTS_PER_RESPONSE);
    let result = ingest::ingest(state, peer, via, room, &events, &carried).await?;
    for code in &result.penalties {
        state.network.penalize(libp2p_peer, code).await;
    }
    Ok(result)
}

/// Rounds of fetching the causal references a push lacks before it is
/// answered.
const FETCH_ROUNDS: usize = 4;

/// Completes a push from `peer` whose `events` lacked causal references
/// (`result` is what their ingest gave): fetches those from the pusher by
/// id, which holds them since its events name them, along with any they
/// lack in turn, for up to [`FETCH_ROUNDS`] rounds, and places the pushed
/// events again. Without this the push is answered `missing_prev`, and its
/// sender waits at least a second before it pushes again. What is still
/// missing after it is left to a sync with the pusher
/// (spec/federation.md §3.2).
pub(crate) async fn complete_push(
    state: &Arc<Core>,
    peer: NodeId,
    room: RoomId,
    events: &[UnverifiedEvent],
    carried: &ingest::Carried,
    result: &mut ingest::Ingested,
) -> Result<(), StoreError> {
    let mut asked = std::collections::HashSet::new();
    let mut wanted = std::mem::take(&mut result.missing);
    for _ in 0..FETCH_ROUNDS {
        wanted.retain(|id| asked.insert(*id));
        if wanted.is_empty() {
            break;
        }
        let Some(fetched) = fetch_events(state, peer, room, std::mem::take(&mut wanted)).await? else { break };
        wanted = fetched.missing;
        // Also when the fetched events were all duplicates: another push
        // or a sync may have brought them while they were fetched.
        let placed_some =
            fetched.outcomes.iter().any(|o| matches!(o, PushOutcome::Accepted { .. } | PushOutcome::Duplicate { .. }));
        if placed_some {
            let again: Vec<usize> = (0..events.len()).filter(|&i| result.is_missing_prev(i)).collect();
            let retry: Vec<UnverifiedEvent> = again.iter().map(|&i| events[i].clone()).collect();
            let placed = ingest::ingest(state, peer, Via::Push, room, &retry, carried).await?;
            for (i, outcome) in again.into_iter().zip(placed.outcomes) {
                result.outcomes[i] = outcome;
            }
            result.stored += placed.stored;
            result.penalties.extend(placed.penalties);
            wanted.extend(placed.missing);
        }
        if !result.missing_prev() {
            break;
        }
    }
    if result.missing_prev() {
        sync_room_later(state, peer, room);
    }
    Ok(())
}

/// Fetches the events of `room` named in `ids` from `peer` (spec/federation.md
/// §3.4) and stores those that pass, as a sync answer's; `None` when the
/// peer did not answer with events.
async fn fetch_events(
    state: &Arc<Core>,
    peer: NodeId,
    room: RoomId,
    mut ids: Vec<EventId>,
) -> Result<Option<ingest::Ingested>, StoreError> {
    ids.truncate(accord_proto::federation::MAX_FETCH_EVENTS);
    let request = FedRequest::Events { room, ids };
    match state.network.request(network::peer_id(&peer), request).await {
        Ok(FedResponse::Events { events, identities, .. }) => {
            receive_all(state, peer, Via::Sync, room, events, &identities).await.map(Some)
        }
        Ok(other) => {
            tracing::debug!("fetch of {room} events from {peer}: answered {other:?}");
            Ok(None)
        }
        Err(e) => {
            tracing::debug!("fetch of {room} events from {peer} failed: {e}");
            Ok(None)
        }
    }
}

/// Starts a sync of `room` with `peer` in the background.
pub(crate) fn sync_room_later(state: &Arc<Core>, peer: NodeId, room: RoomId) {
    let state = state.clone();
    state.tasks.clone().spawn(async move { sync_room(&state, peer, room).await });
}

/// Syncs every room `peer` hosts with it.
pub(crate) fn sync_with(state: &Arc<Core>, peer: NodeId) {
    let state = state.clone();
    state.tasks.clone().spawn(async move {
        for room in state.rooms.ids() {
            let Some(handle) = state.rooms.get(&room) else { continue };
            let hosts = handle.lock().await.hosts().contains(&peer);
            if hosts {
                sync_room(&state, peer, room).await;
            }
        }
    });
}

/// Fetches a room from the nodes in `via` so that `joiner` (homed here)
/// can join it: pages of the room's events, checked and stored as if
/// pushed, each counted in `run`. Runs as a task of the core
/// ([`super::joins`]), never as part of a client's request.
pub(crate) async fn join_via(
    state: &Arc<Core>,
    room: RoomId,
    via: &[NodeId],
    joiner: AccountId,
    run: &super::joins::JoinRun,
) -> Result<(), JoinError> {
    let (identity, attestation) =
        state.store.identity(&joiner)?.ok_or_else(|| JoinError::Refused("unknown joiner".into()))?;
    let pair = IdentityPair { identity, attestation };
    let mut last = String::from("no node to ask");
    for peer in via.iter().filter(|p| **p != state.node_id) {
        let ask = |after| {
            let request = FedRequest::Join { room, joiner: Box::new(pair.clone()), after };
            state.network.request(network::peer_id(peer), request)
        };
        let mut after = 0;
        let mut answer = ask(after).await;
        for _ in 0..MAX_JOIN_PAGES {
            let response = match answer {
                Ok(response) => response,
                Err(e) => {
                    last = e.to_string();
                    break;
                }
            };
            match response {
                FedResponse::Events { events, identities, more, next } => {
                    // The next page is asked for while this one is checked
                    // and stored, so that neither side waits for the other.
                    let follows = more && next > after;
                    let (stored, following) =
                        tokio::join!(receive(state, *peer, Via::Join, room, events, &identities), async {
                            if follows { Some(ask(next).await) } else { None }
                        });
                    run.page(stored?);
                    let Some(following) = following else { break };
                    answer = following;
                    after = next;
                }
                FedResponse::Error { code, message } => {
                    last = format!("{peer}: {code}: {message}");
                    break;
                }
                other => {
                    last = format!("{peer}: unexpected answer {other:?}");
                    break;
                }
            }
        }
        if state.rooms.get(&room).is_some() {
            return Ok(());
        }
    }
    Err(JoinError::Refused(last))
}

/// Fetches a room from `peer` in the background for a local account
/// invited to it (or attaches the account to the fetch under way).
pub(crate) fn spawn_join(state: &Arc<Core>, room: RoomId, peer: NodeId, joiner: AccountId) {
    if let Err(e) = super::joins::Joins::start(state, room, vec![peer], joiner) {
        tracing::info!(%room, "not fetching a room for invited {joiner}: {e}");
    }
}

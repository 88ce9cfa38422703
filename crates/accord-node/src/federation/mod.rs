//! The federation door: answers peers' requests and checks their gossip
//! (spec/federation.md). What a request asks for is done by the core
//! (ingest, sync and join answers, list entries, reports); this module
//! paces peers, turns core refusals into error responses and penalises
//! what counts against a peer.
//!
//! One task takes [`NetEvent`]s from the network in order: each request is
//! answered in its own task (at most [`CONCURRENT_REQUESTS`] at once, so a
//! flood fills the network's queue and is answered `busy`); a new
//! connection to a host of a room starts a sync of that room and wakes the
//! outbox for that peer.

use crate::core::Core;
use crate::core::lists::distribution as lists;
use crate::core::media;
use crate::core::policy;
use crate::core::rooms::ingest::{self, Via};
use crate::core::rooms::sync::{self, AnswerError};
use crate::network::{self, Inbound, NetEvent};
use accord_proto::blocklist::equivocation::EquivocationProof;
use accord_proto::event::{EventContent, UnverifiedEvent};
use accord_proto::federation::{
    DELETIONS_TOPIC, EQUIVOCATION_TOPIC, FedRequest, FedResponse, IdentityPair, LISTS_TOPIC, ListAnnouncement,
    MANIFESTS_TOPIC, MAX_FETCH_EVENTS, MAX_FETCH_IDENTITIES, MAX_PUSH_EVENTS, MAX_SYNC_ORIGINS,
};
use accord_proto::list_page::ListPageResponse;
use accord_proto::media::MediaResponse;
use accord_proto::{AccountId, NodeId};
use accord_store::StoreError;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc};

/// Peer requests answered at once.
pub(crate) const CONCURRENT_REQUESTS: usize = 16;

/// Serves the network's events until the node shuts down.
pub(crate) async fn serve(state: Arc<Core>, mut events: mpsc::Receiver<NetEvent>) {
    let permits = Arc::new(Semaphore::new(CONCURRENT_REQUESTS));
    // The core's round of upkeep (a few hosts of each room synced, a few
    // peers' manifests asked, every followed list caught up) runs each
    // `p2p.sync_interval_secs` (0: only on connection), the first at a
    // random point of the first period, so that nodes started together do
    // not all sync at once.
    let every = state.config.p2p.sync_interval_secs;
    let period = Duration::from_secs(every.max(1));
    let first = tokio::time::Instant::now() + period.mul_f64(1.0 - fastrand::f64());
    let mut sync_tick = tokio::time::interval_at(first, period);
    loop {
        let event = tokio::select! {
            event = events.recv() => event,
            _ = sync_tick.tick(), if every > 0 => {
                crate::core::upkeep::round(&state);
                continue;
            }
            () = state.tasks.shutdown().cancelled() => None,
        };
        let Some(event) = event else { break };
        match event {
            NetEvent::Request(Inbound { peer, request, channel }) => {
                // A flood is answered `busy` before anything else is done
                // with it; a peer that keeps flooding is cut off.
                // A push of events is paced by the per-peer event rate
                // instead (check 1): a busy origin pushes small batches
                // often, and that is no flood.
                let counted = !matches!(&request, FedRequest::Push { events, .. } if !events.is_empty());
                if counted
                    && let Some(node) = network::node_id(&peer)
                    && !state.limits.peer_request(&node)
                {
                    state.metrics.fed_reject("flood");
                    let state = state.clone();
                    state.tasks.clone().spawn(async move {
                        state.network.respond(channel, error("busy", "too many requests; slow down")).await;
                        state.network.penalize(peer, "flood").await;
                    });
                    continue;
                }
                let Ok(permit) = permits.clone().acquire_owned().await else { break };
                let state = state.clone();
                state.tasks.clone().spawn(async move {
                    let mut penalties = Vec::new();
                    let response = match network::node_id(&peer) {
                        Some(node) => answer(&state, node, request, &mut penalties).await,
                        None => error("forbidden", "only ed25519 node ids federate"),
                    };
                    if let FedResponse::Error { code, .. } = &response {
                        tracing::debug!("refused a request from {peer}: {code}");
                        state.metrics.fed_reject(code);
                        penalties.push(code.clone());
                    }
                    // Answer first: a peer about to be cut off still learns why.
                    state.network.respond(channel, response).await;
                    for code in penalties {
                        state.network.penalize(peer, &code).await;
                    }
                    drop(permit);
                });
            }
            NetEvent::Connected(peer) => {
                if let Some(node) = network::node_id(&peer) {
                    state.reports.peer_connected(node);
                    let state = state.clone();
                    state.tasks.clone().spawn(async move {
                        policy::refresh(&state, node).await;
                        state.outbox.connected(&state, node);
                        sync::sync_with(&state, node);
                        lists::sync_with(&state, peer);
                    });
                }
            }
            NetEvent::Media(network::MediaInbound { peer, request, channel }) => {
                // Answered at once, off this loop: reads of the store only.
                let state = state.clone();
                state.tasks.clone().spawn(async move {
                    let response = match (request, network::node_id(&peer)) {
                        (Ok(request), Some(node)) => media::serve::answer(&state, &node, &request),
                        (Err(e), _) => {
                            state.metrics.fed_reject(e.code());
                            // A request the peer gave up on before writing
                            // it is no fault of the peer.
                            if e.is_fault() {
                                state.network.penalize(peer, e.code()).await;
                            }
                            MediaResponse::BadRequest
                        }
                        (Ok(_), None) => MediaResponse::BadRequest,
                    };
                    state.network.respond_media(channel, response).await;
                });
            }
            NetEvent::Page(network::PageInbound { peer, request, channel }) => {
                // Paced and refused like any request (flood, blocked nodes);
                // answered in its own task under the same permits.
                let node = network::node_id(&peer);
                if let Some(node) = node
                    && !state.limits.peer_request(&node)
                {
                    state.metrics.fed_reject("flood");
                    let state = state.clone();
                    state.tasks.clone().spawn(async move {
                        let busy = ListPageResponse::error("busy", "too many requests; slow down");
                        state.network.respond_page(channel, busy).await;
                        state.network.penalize(peer, "flood").await;
                    });
                    continue;
                }
                let Ok(permit) = permits.clone().acquire_owned().await else { break };
                let state = state.clone();
                state.tasks.clone().spawn(async move {
                    let (response, penalty) = match (request, node) {
                        // A request the peer gave up on before writing it
                        // is no fault of the peer.
                        (Err(e), _) => (
                            ListPageResponse::error(e.code(), &e.to_string()),
                            e.is_fault().then(|| e.code().to_owned()),
                        ),
                        (Ok(_), None) => (ListPageResponse::error("forbidden", "only ed25519 node ids federate"), None),
                        (Ok(request), Some(node)) => match blocked(&state, &node) {
                            Some(why) => (ListPageResponse::error("blocked", &why), Some("blocked_node".to_owned())),
                            None => (lists::answer_page(&state, node, &request).await, None),
                        },
                    };
                    if let ListPageResponse::Error { code, .. } = &response {
                        tracing::debug!("refused a list page request from {peer}: {code}");
                        state.metrics.fed_reject(code);
                    }
                    state.network.respond_page(channel, response).await;
                    if let Some(code) = penalty {
                        state.network.penalize(peer, &code).await;
                    }
                    drop(permit);
                });
            }
            NetEvent::Disconnected(_) => {}
            NetEvent::Banned(peer) => {
                if let Some(node) = network::node_id(&peer) {
                    let state = state.clone();
                    let until = accord_proto::Timestamp::from_millis(
                        accord_proto::Timestamp::now().as_millis() + crate::reputation::BLOCK_FOR.as_millis() as u64,
                    );
                    state.tasks.clone().spawn_to_completion(async move {
                        if let Err(e) = state.store.put_peer_ban(&node, until).await {
                            tracing::error!("keeping the block of {node}: {e}");
                        }
                    });
                }
            }
            NetEvent::Gossip(gossip) => {
                let valid = match gossip.topic.as_str() {
                    LISTS_TOPIC => match ListAnnouncement::verify(&gossip.data) {
                        Ok((_, verified)) => {
                            let (state, source) = (state.clone(), gossip.source);
                            state
                                .tasks
                                .clone()
                                .spawn(async move { lists::on_announcement(&state, source, verified).await });
                            true
                        }
                        Err(_) => false,
                    },
                    MANIFESTS_TOPIC => match serde_json::from_slice(&gossip.data)
                        .ok()
                        .and_then(|signed| policy::accept(&state, signed))
                    {
                        Some(node) => {
                            crate::core::names::on_claim(&state, node);
                            true
                        }
                        None => false,
                    },
                    DELETIONS_TOPIC => crate::core::deletion::on_gossip(&state, &gossip.data),
                    EQUIVOCATION_TOPIC => match serde_json::from_slice::<EquivocationProof>(&gossip.data) {
                        Ok(proof) if proof.verify().is_ok() => {
                            let state = state.clone();
                            state.tasks.clone().spawn(async move { lists::on_proof(&state, proof, false).await });
                            true
                        }
                        _ => false,
                    },
                    _ => false,
                };
                if valid {
                    state.metrics.fed_gossip_accepted.inc();
                } else {
                    tracing::debug!("invalid gossip from {}", gossip.source);
                    state.metrics.fed_reject("bad_gossip");
                }
                state.network.validate(&gossip, valid).await;
            }
        }
    }
}

fn error(code: &str, message: impl Into<String>) -> FedResponse {
    FedResponse::Error { code: code.into(), message: message.into() }
}

fn internal(e: StoreError) -> FedResponse {
    tracing::error!("answering a peer failed: {e}");
    error("internal", "the node failed")
}

/// A core answer, or its refusal as an error response.
fn answered(result: Result<FedResponse, AnswerError>) -> Result<FedResponse, StoreError> {
    match result {
        Ok(response) => Ok(response),
        Err(AnswerError::Store(e)) => Err(e),
        Err(e) => Ok(error(e.code(), e.to_string())),
    }
}

/// Why every request of `peer` is refused `blocked`, if a list blocks it
/// (a node-level entry, or a `domain` entry over its verified name); the
/// refusal counts `blocked_node` against the peer.
fn blocked(state: &Arc<Core>, peer: &NodeId) -> Option<String> {
    if let Some(p) = state.lists.check_node(&state.store, peer) {
        return Some(format!("this node is blocked by {} entry {}", p.list, p.entry));
    }
    if let Some(p) = crate::core::names::blocked(state, peer) {
        return Some(format!("this node's name is blocked by {} entry {}", p.list, p.entry));
    }
    None
}

/// Answers one request; what the peer sent that counts against it is added
/// to `penalties`.
async fn answer(state: &Arc<Core>, peer: NodeId, request: FedRequest, penalties: &mut Vec<String>) -> FedResponse {
    if let Some(why) = blocked(state, &peer) {
        penalties.push("blocked_node".into());
        return error("blocked", why);
    }
    // Rooms are shared only with nodes that meet this node's policy.
    if matches!(
        request,
        FedRequest::Push { .. } | FedRequest::Sync { .. } | FedRequest::Events { .. } | FedRequest::Join { .. }
    ) {
        if state.policy.get(&peer).is_none() {
            policy::refresh(state, peer).await;
        }
        if let Err(why) = policy::meets(state, &peer).await {
            if why.code() == "blocked" {
                penalties.push("blocked_node".into());
            }
            return error(why.code(), why.to_string());
        }
    }
    let result = match request {
        FedRequest::Manifest {} => Ok(match policy::own(state).await {
            Some(signed) => FedResponse::Manifest { manifest: Box::new(signed.raw().clone()) },
            None => error("internal", "the node failed"),
        }),
        FedRequest::Identities { accounts } => identities(state, accounts),
        FedRequest::Push { room, events, identities } => push(state, peer, room, events, identities, penalties).await,
        FedRequest::Sync { room, held } => {
            if held.len() > MAX_SYNC_ORIGINS {
                return error("too_many", format!("at most {MAX_SYNC_ORIGINS} origins"));
            }
            answered(sync::answer(state, peer, room, &held).await)
        }
        FedRequest::Events { room, ids } => {
            if ids.len() > MAX_FETCH_EVENTS {
                return error("too_many", format!("at most {MAX_FETCH_EVENTS} events per request"));
            }
            answered(sync::answer_fetch(state, peer, room, &ids).await)
        }
        FedRequest::Join { room, joiner, after } => {
            answered(sync::answer_join(state, peer, room, &joiner, after).await)
        }
        FedRequest::ListEntries { list, from, limit } => Ok(lists::answer(state, peer, &list, from, limit).await),
        FedRequest::Report { report } => Ok(match crate::core::reports::receive(state, peer, *report).await {
            Ok(id) => FedResponse::ReportQueued { id },
            // The refusal code is the penalty: a report that does not
            // verify weighs like a bad signature (reputation.rs).
            Err(e) => error(e.code(), e.to_string()),
        }),
        FedRequest::ReportOutcome { action, reports } => {
            if reports.len() > accord_proto::federation::MAX_OUTCOME_REPORTS {
                return error("too_many", "too many reports in one outcome");
            }
            Ok(match crate::core::reports::actions::on_outcome(state, peer, *action, &reports).await {
                Ok(()) => FedResponse::Noted {},
                Err(e) => error(e.code(), e.to_string()),
            })
        }
        FedRequest::Appeal { appeal } => Ok(match crate::core::reports::appeals::receive(state, peer, *appeal).await {
            Ok(id) => FedResponse::AppealQueued { id },
            Err(e) => error(e.code(), e.to_string()),
        }),
        FedRequest::AppealOutcome { action } => {
            Ok(match crate::core::reports::appeals::on_outcome(state, peer, *action).await {
                Ok(()) => FedResponse::Noted {},
                Err(e) => error(e.code(), e.to_string()),
            })
        }
        FedRequest::Lists {} => Ok(crate::core::lists::discovery::answer(state).await),
        FedRequest::AddCheckpoint { body } => {
            let (status, body) = lists::witness(state, body.as_bytes()).await;
            Ok(FedResponse::Witness { status, body })
        }
        _ => Ok(error("unsupported", "this node does not serve that request")),
    };
    result.unwrap_or_else(internal)
}

fn identities(state: &Core, accounts: Vec<AccountId>) -> Result<FedResponse, StoreError> {
    if accounts.len() > MAX_FETCH_IDENTITIES {
        return Ok(error("too_many", format!("at most {MAX_FETCH_IDENTITIES} accounts per request")));
    }
    let mut identities = Vec::with_capacity(accounts.len());
    for account in accounts {
        // Only accounts this node is home to: it attests them. (`homes` is
        // built from verified documents only.)
        if state.home_of(&account) != Some(state.node_id) {
            continue;
        }
        if let Some((identity, attestation)) = state.store.identity(&account)? {
            identities.push(IdentityPair { identity, attestation });
        }
    }
    Ok(FedResponse::Identities { identities })
}

async fn push(
    state: &Arc<Core>,
    peer: NodeId,
    room: accord_proto::RoomId,
    events: Vec<UnverifiedEvent>,
    identities: Vec<IdentityPair>,
    penalties: &mut Vec<String>,
) -> Result<FedResponse, StoreError> {
    if events.len() > MAX_PUSH_EVENTS {
        return Ok(error("too_many", format!("at most {MAX_PUSH_EVENTS} events per push")));
    }
    if !state.limits.peer_events(&peer, events.len()) {
        state.metrics.fed_reject("busy");
        let outcomes = events
            .iter()
            .map(|e| accord_proto::federation::PushOutcome::Retry { event: e.claimed_id(), code: "busy".into() })
            .collect();
        return Ok(FedResponse::Pushed { outcomes });
    }
    let (carried, failures) = ingest::Carried::verify(state, &identities);
    for code in failures {
        state.metrics.fed_reject(code);
        penalties.push(code.into());
    }
    if state.rooms.get(&room).is_none()
        && let Some(invitee) = invited_here(state, peer, &events)
    {
        // An account here was invited to a room this node does not hold
        // yet: fetch it from the inviting node.
        sync::spawn_join(state, room, peer, invitee);
    }
    let mut result = ingest::ingest(state, peer, Via::Push, room, &events, &carried).await?;
    if result.missing_prev() {
        sync::complete_push(state, peer, room, &events, &carried, &mut result).await?;
    }
    tracing::debug!("push of {room} from {peer}: {} stored, outcomes {:?}", result.stored, result.outcomes);
    penalties.extend(result.penalties.iter().map(|c| c.to_string()));
    Ok(FedResponse::Pushed { outcomes: result.outcomes })
}

/// An account homed here that one of the peer's own events invites.
fn invited_here(state: &Core, peer: NodeId, events: &[UnverifiedEvent]) -> Option<AccountId> {
    events.iter().filter_map(|e| e.verify().ok()).filter(|e| e.origin() == peer).find_map(|e| match e.content() {
        EventContent::Invite { target } if state.home_of(target) == Some(state.node_id) => Some(*target),
        _ => None,
    })
}

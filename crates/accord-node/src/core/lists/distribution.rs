//! Blocklist distribution (spec/blocklists.md): announcing checkpoints,
//! fetching and verifying missing ranges from peers, and spreading
//! equivocation proofs.

use crate::core::Core;
use crate::core::lists::{Indexed, ListError, Observation};
use crate::network::{NetworkError, PeerId};
use accord_proto::blocklist::checkpoint::{SignedCheckpoint, VerifiedCheckpoint};
use accord_proto::blocklist::equivocation::EquivocationProof;
use accord_proto::blocklist::range::{RangeError, Received};
use accord_proto::blocklist::witness::{AddCheckpoint, WitnessError, WitnessKey, cosignatures_in_answer};
use accord_proto::federation::{
    EQUIVOCATION_TOPIC, FedRequest, FedResponse, LISTS_TOPIC, ListAnnouncement, MAX_LIST_ENTRIES_PER_RESPONSE,
};
use accord_proto::list_page::{ListPage, ListPageRequest, ListPageResponse, MAX_PAGE_LEAVES};
use accord_proto::{ListId, NodeId};
use std::sync::Arc;

/// Most entries a subscriber takes in one range (the import limit).
const MAX_FETCH: u64 = 2_000_000;
/// How long an issuer waits for a witness's answer.
const WITNESS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// Bytes of leaves in one answer (escaping at most doubles them; the
/// response limit is 8 MiB).
const ANSWER_BUDGET: usize = 3 * 1024 * 1024;

/// Announces a list's latest checkpoint to the network; for an own list,
/// after asking the configured witnesses to cosign it (§13.4).
pub(crate) async fn announce(state: &Core, list: &ListId) {
    let Some(record) = state.lists.record(list).await else { return };
    let Some(mut checkpoint) = record.checkpoint else { return };
    if record.own && !state.config.lists.witnesses.is_empty() {
        checkpoint = cosigned(state, list, record.size, checkpoint).await;
    }
    let announcement = ListAnnouncement { list: list.clone(), checkpoint };
    if let Ok(bytes) = serde_json::to_vec(&announcement) {
        let _ = state.network.publish(LISTS_TOPIC, bytes).await;
    }
}

/// Asks every configured witness to cosign the own list's checkpoint of
/// `size` entries, and keeps their cosignatures on the held checkpoint.
/// Returns the checkpoint with the cosignatures obtained.
async fn cosigned(state: &Core, list: &ListId, size: u64, checkpoint: SignedCheckpoint) -> SignedCheckpoint {
    let asks = state.config.lists.witnesses.iter().map(|w| ask_witness(state, list, size, &checkpoint, w));
    let lines: Vec<String> = futures::future::join_all(asks).await.into_iter().flatten().collect();
    match state.lists.add_cosignatures(&state.store, list, size, &lines).await {
        Ok(cosigned) => cosigned,
        Err(e) => {
            tracing::warn!("list {list}: keeping the cosignatures: {e}");
            checkpoint
        }
    }
}

/// One witness's cosignature lines on `checkpoint`: asks with the old size
/// it last cosigned (as far as this node knows), and once more with the
/// size a `409` names.
async fn ask_witness(
    state: &Core,
    list: &ListId,
    size: u64,
    checkpoint: &SignedCheckpoint,
    witness: &WitnessKey,
) -> Vec<String> {
    let Some(node) = witness.node() else { return Vec::new() };
    let mut old = state.lists.witnessed_size(list, witness).min(size);
    for _ in 0..2 {
        let Some(proof) = state.lists.consistency_proof(list, old, size).await else { return Vec::new() };
        let body = AddCheckpoint { old_size: old, proof, checkpoint: checkpoint.clone() }.to_body();
        let answer = tokio::time::timeout(
            WITNESS_TIMEOUT,
            state.network.request(crate::network::peer_id(&node), FedRequest::AddCheckpoint { body }),
        )
        .await;
        let Ok(Ok(FedResponse::Witness { status, body })) = answer else {
            tracing::info!("list {list}: witness {} did not answer", witness.name());
            return Vec::new();
        };
        if status == 200 {
            state.lists.set_witnessed_size(list, witness, size);
            return cosignatures_in_answer(checkpoint, &body, witness);
        }
        match WitnessError::from_answer(status, &body) {
            Some(WitnessError::Conflict { size: theirs }) if theirs != old && theirs <= size => old = theirs,
            refused => {
                tracing::warn!("list {list}: witness {} refused size {size}: {refused:?}", witness.name());
                return Vec::new();
            }
        }
    }
    Vec::new()
}

/// Answers an `add-checkpoint` request to this node's witness (over HTTP
/// or `/accord/federation/1`) with the status and body of C2SP
/// tlog-witness. A checkpoint whose issuer signature verified is also
/// observed against the list held, and proof of a fork is handled as any
/// equivocation (§10.6).
pub(crate) async fn witness(state: &Arc<Core>, body: &[u8]) -> (u16, String) {
    let witnessed = state.witness.add_checkpoint(&state.lists, &state.store, body).await;
    if let Err(e) = &witnessed.answer {
        state.metrics.fed_reject(e.code());
    }
    if let Some(proof) = witnessed.evidence {
        on_proof(state, proof, true).await;
    } else if let Some(verified) = witnessed.verified
        && let Observation::Equivocation(proof) = state.lists.observe(&verified).await
    {
        on_proof(state, *proof, true).await;
    }
    match witnessed.answer {
        Ok(lines) => (200, lines),
        Err(e) => (e.status(), e.body()),
    }
}

/// A valid announcement arrived from `source`.
pub(crate) async fn on_announcement(state: &Arc<Core>, source: PeerId, verified: VerifiedCheckpoint) {
    match state.lists.observe(&verified).await {
        Observation::Behind(_) => {
            if let Err(e) = fetch(state, &verified.checkpoint.list, Some(source)).await {
                tracing::debug!("fetching {}: {e}", verified.checkpoint.list);
            }
        }
        Observation::Equivocation(proof) => on_proof(state, *proof, true).await,
        Observation::Known | Observation::NotHeld | Observation::Distrusted => {}
    }
}

/// Brings a held list up to the newest checkpoint a peer has: `first`,
/// then every connected peer, until one serves a range that verifies.
/// Returns how many entries were applied.
pub(crate) async fn fetch(state: &Arc<Core>, list: &ListId, first: Option<PeerId>) -> Result<usize, ListError> {
    let mut peers: Vec<PeerId> = first.into_iter().collect();
    peers.extend(state.network.peers().into_iter().filter(|p| Some(*p) != first));
    let mut last = ListError::UnknownList;
    let mut applied = None;
    for peer in peers {
        match fetch_from(state, list, peer).await {
            Ok(0) => applied = applied.or(Some(0)),
            Ok(n) => return Ok(n),
            Err(e) => last = e,
        }
    }
    applied.ok_or(last)
}

/// How pages of leaves are asked of a peer: binary pages on
/// `/accord/list-pages/1`, or `list_entries` on `/accord/federation/1` for
/// a peer that does not speak the former (spec/federation.md §3.13).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PageForm {
    Binary,
    Json,
}

/// One page of `list`'s leaves from `from`, asked of `peer` in `form`
/// (which becomes [`PageForm::Json`] if the peer does not speak binary
/// pages). A page that does not decode is counted against the peer.
async fn page(
    state: &Core,
    peer: PeerId,
    list: &ListId,
    from: u64,
    form: &mut PageForm,
) -> Result<(SignedCheckpoint, Vec<Vec<u8>>), ListError> {
    if *form == PageForm::Binary {
        let request = ListPageRequest { list: list.clone(), from, limit: MAX_PAGE_LEAVES as u32 };
        match state.network.fetch_page(peer, request).await {
            Ok(bytes) => {
                return match ListPageResponse::decode(&bytes) {
                    Ok(ListPageResponse::Page(page)) => Ok((page.checkpoint, page.leaves)),
                    Ok(ListPageResponse::Error { .. }) => Err(ListError::UnknownList),
                    Err(e) => {
                        state.metrics.fed_reject(e.code());
                        state.network.penalize(peer, e.code()).await;
                        Err(ListError::BadPage(e))
                    }
                };
            }
            Err(NetworkError::Unsupported { .. }) => *form = PageForm::Json,
            Err(_) => return Err(ListError::UnknownList),
        }
    }
    let request = FedRequest::ListEntries { list: list.clone(), from, limit: MAX_LIST_ENTRIES_PER_RESPONSE as u64 };
    let response = state.network.request(peer, request).await.map_err(|_| ListError::UnknownList)?;
    let FedResponse::ListEntries { checkpoint, entries } = response else { return Err(ListError::UnknownList) };
    Ok((checkpoint, entries.into_iter().map(String::into_bytes).collect()))
}

/// The leaves received so far and the result of checking the last page
/// added to them, which runs beside the fetch of the next.
type Checked = (Received<Indexed>, Result<(), RangeError>);

/// Waits for the check of the last page added to `received`.
async fn checked(check: tokio::task::JoinHandle<Checked>) -> Result<Received<Indexed>, ListError> {
    let (received, result) = check.await.map_err(|e| ListError::Interrupted(e.to_string()))?;
    result.map_err(|e| ListError::BadEntry(e.to_string()))?;
    Ok(received)
}

async fn fetch_from(state: &Arc<Core>, list: &ListId, peer: PeerId) -> Result<usize, ListError> {
    let held = state.lists.record(list).await.ok_or(ListError::UnknownList)?;
    let from = held.size;
    let mut target: Option<VerifiedCheckpoint> = None;
    let mut fetched = 0u64;
    let mut form = PageForm::Binary;
    // Each page is parsed, read for the index and hashed on a blocking
    // thread while the next one is fetched.
    let mut idle = Some(Received::new(from));
    let mut check: Option<tokio::task::JoinHandle<Checked>> = None;
    loop {
        let (checkpoint, mut entries) = page(state, peer, list, from + fetched, &mut form).await?;
        let verified = checkpoint.verify(list).map_err(|e| {
            state.metrics.fed_reject(e.code());
            ListError::BadCheckpoint(e.to_string())
        })?;
        let goal = match &target {
            Some(t) => t.checkpoint.size,
            None => {
                match state.lists.observe(&verified).await {
                    Observation::Behind(_) => {}
                    Observation::Equivocation(proof) => {
                        on_proof(state, *proof, true).await;
                        return Err(ListError::Distrusted("equivocation".into()));
                    }
                    Observation::Distrusted => return Err(ListError::Distrusted("equivocation".into())),
                    Observation::Known | Observation::NotHeld => return Ok(0),
                }
                if let Err(e) = state.lists.check_cosigned(list, &verified.signed) {
                    // Not applied without the witnesses the subscription
                    // requires (§13.5); nothing is downloaded.
                    state.metrics.fed_reject(e.code());
                    return Err(e);
                }
                if verified.checkpoint.size - from > MAX_FETCH {
                    return Err(ListError::BadRange);
                }
                target = Some(verified.clone());
                verified.checkpoint.size
            }
        };
        if entries.is_empty() {
            return Err(ListError::BadRange);
        }
        // Leaves past the target are not asked for again and not applied.
        entries.truncate((goal - from - fetched).min(entries.len() as u64) as usize);
        fetched += entries.len() as u64;
        let mut received = match check.take() {
            Some(previous) => checked(previous).await?,
            None => idle.take().ok_or(ListError::Interrupted("no range to add to".into()))?,
        };
        check = Some(tokio::task::spawn_blocking(move || {
            let result = received.add(entries, Indexed::of);
            (received, result)
        }));
        if from + fetched >= goal {
            break;
        }
    }
    let received = match check {
        Some(last) => checked(last).await?,
        None => return Ok(0),
    };
    let Some(target) = target else { return Ok(0) };
    match state.lists.apply_received(&state.store, &target, received).await {
        Ok(applied) => {
            let n = applied.leaves;
            tracing::info!(
                suggested = applied.suggested,
                noted = applied.noted,
                kept = applied.kept,
                "list {list}: {n} entries applied (size {})",
                target.checkpoint.size
            );
            state.metrics.list_entries_applied.inc_by(n as u64);
            state.metrics.list_entries_suggested.inc_by(applied.suggested as u64);
            state.metrics.list_entries_noted.inc_by(applied.noted as u64);
            purge_later(state);
            Ok(n)
        }
        Err(ListError::BadRange) => {
            // The peer served entries that do not make the signed root.
            state.metrics.fed_reject("bad_range");
            state.network.penalize(peer, "bad_range").await;
            Err(ListError::BadRange)
        }
        Err(e) => Err(e),
    }
}

/// A verified (or to be verified) equivocation proof: distrust the
/// issuer, keep the proof and tell the network.
pub(crate) async fn on_proof(state: &Core, proof: EquivocationProof, publish: bool) {
    if let Err(e) = proof.verify() {
        state.metrics.fed_reject(e.code());
        return;
    }
    let issuer = proof.list.issuer;
    let Ok(bytes) = serde_json::to_vec(&proof) else { return };
    match state.lists.distrust(&state.store, &issuer, "the issuer signed two incompatible checkpoints").await {
        Ok(lists) if !lists.is_empty() => {
            tracing::warn!("issuer {issuer} equivocated on {}: its lists are distrusted", proof.list);
            state.metrics.equivocations.inc();
        }
        Ok(_) => {}
        Err(e) => tracing::error!("distrusting {issuer}: {e}"),
    }
    if let Err(e) = state.store.put_equivocation(&proof.list, &bytes).await {
        tracing::error!("keeping an equivocation proof: {e}");
    }
    if publish {
        let _ = state.network.publish(EQUIVOCATION_TOPIC, bytes).await;
    }
}

/// Checks every held list against connected peers (catch-up when gossip
/// was missed).
pub(crate) fn sync_all(state: &Arc<Core>) {
    let state = state.clone();
    state.tasks.clone().spawn(async move {
        for record in state.lists.records().await {
            if !record.own && record.subscribed && record.distrusted.is_none() {
                let _ = fetch(&state, &record.list, None).await;
            }
        }
    });
}

/// Checks every held list against one newly connected peer (catch-up
/// after an outage or a partition heals).
pub(crate) fn sync_with(state: &Arc<Core>, peer: PeerId) {
    let state = state.clone();
    state.tasks.clone().spawn(async move {
        for record in state.lists.records().await {
            if !record.own && record.subscribed && record.distrusted.is_none() {
                let _ = fetch_from(&state, &record.list, peer).await;
            }
        }
    });
}

/// Answers a peer's request for a binary page of a list's leaves
/// (`/accord/list-pages/1`); the peer counts as one of the list's
/// followers for a while.
pub(crate) async fn answer_page(state: &Core, peer: NodeId, request: &ListPageRequest) -> ListPageResponse {
    let list = &request.list;
    match state.lists.leaves(&state.store, list, request.from, request.served()).await {
        Ok(Some((checkpoint, leaves))) => {
            state.lists.activity.fetched_by(list, peer, std::time::Instant::now());
            ListPageResponse::Page(ListPage::filled(checkpoint, leaves))
        }
        Ok(None) => ListPageResponse::error("unknown_list", "this node does not hold that list"),
        Err(e) => ListPageResponse::error(e.code(), &e.to_string()),
    }
}

/// Answers a peer's request for a list's entries; the peer counts as one
/// of the list's followers for a while.
pub(crate) async fn answer(state: &Core, peer: NodeId, list: &ListId, from: u64, limit: u64) -> FedResponse {
    let limit = limit.min(MAX_LIST_ENTRIES_PER_RESPONSE as u64) as usize;
    match state.lists.leaves(&state.store, list, from, limit).await {
        Ok(Some((checkpoint, leaves))) => {
            state.lists.activity.fetched_by(list, peer, std::time::Instant::now());
            // Whole leaves up to a budget that keeps the answer, escaped as
            // JSON strings, well under the response limit.
            let mut budget = ANSWER_BUDGET;
            let entries = leaves
                .into_iter()
                .filter_map(|l| String::from_utf8(l).ok())
                .take_while(|l| {
                    let cost = l.len() * 2 + 8;
                    let fits = cost <= budget;
                    budget = budget.saturating_sub(cost);
                    fits
                })
                .collect();
            FedResponse::ListEntries { checkpoint, entries }
        }
        Ok(None) => {
            FedResponse::Error { code: "unknown_list".into(), message: "this node does not hold that list".into() }
        }
        Err(e) => FedResponse::Error { code: e.code().into(), message: e.to_string() },
    }
}

/// Deletes, in the background, stored messages that a `reject` entry of a
/// category configured to purge (`[lists] purge`) matches; the rooms
/// holding them are derived again from what remains. Runs after each
/// change to the lists.
pub(crate) fn purge_later(state: &Arc<Core>) {
    if state.config.lists.purge.is_empty() {
        return;
    }
    let state = state.clone();
    state.tasks.clone().spawn(async move {
        if let Err(e) = purge(&state).await {
            tracing::error!("purging blocked content: {e}");
        }
    });
}

async fn purge(state: &Arc<Core>) -> Result<(), accord_store::StoreError> {
    let purge = &state.config.lists.purge;
    for room in state.rooms.ids() {
        let mut doomed = Vec::new();
        let mut after = 0;
        loop {
            let page = state.store.timeline(&room, Some(after), None, 1000)?;
            let Some(last) = page.last().map(|e| e.cursor) else { break };
            for entry in page {
                let is_message =
                    serde_json::from_slice::<accord_proto::event::EventBody>(&entry.event.author.raw().body)
                        .is_ok_and(|b| matches!(b.content, accord_proto::event::EventContent::Message { .. }));
                if !is_message {
                    continue;
                }
                if let Some(p) = state.lists.check_wire(&state.store, &entry.event)
                    && p.action == accord_proto::blocklist::entry::Action::Reject
                    && purge.contains(&p.category)
                {
                    let why = serde_json::to_vec(&p).unwrap_or_default();
                    doomed.push((entry.event.claimed_id(), why));
                }
            }
            after = last;
        }
        if doomed.is_empty() {
            continue;
        }
        state.store.purge_events(&doomed).await?;
        state.metrics.purged.inc_by(doomed.len() as u64);
        tracing::warn!("room {room}: {} messages purged by blocklist entries", doomed.len());
        if let Some(handle) = state.rooms.get(&room) {
            let mut rt = handle.lock().await;
            if let Ok(fresh) = crate::core::rooms::load_room(&state.store, state.node_id, room) {
                rt.replace_keeping_live(fresh);
                rt.refresh_hosts(|a| state.home_of(a));
            }
        }
    }
    Ok(())
}

//! Lists at the admin endpoint (spec/blocklists.md §12): issuing lists,
//! bulk imports, subscriptions, local exceptions, evidence and quarantine.

use super::AdminState;
use crate::core::Core;
use crate::core::lists::{ListError, Settings, target_of};
use crate::core::lists::{discovery, distribution};
use crate::http::ApiError;
use crate::http::extract::Json;
use crate::http::reply::Reply;
use accord_api::ErrorCode;
use accord_api::admin::{
    AddEntryRequest, Appended, CreateListRequest, DiscoverResponse, DiscoveredList, EntriesResponse,
    EquivocationsResponse, EvidenceResponse, ExceptionRequest, ExceptionSet, ExportQuery, Held, ImportRequest,
    ImportResponse, ListCreated, ListStatus, ListsResponse, Parsed, PdqMatch, PdqMatchRequest, PdqMatchResponse,
    QuarantineResponse, ReleaseRequest, Released, RemoveEntryRequest, ShowQuery, ShownEntry, Skipped, StageRequest,
    Staged, SubscribeRequest, Subscribed, TrustRequest, Trusted, UnsubscribeRequest, Unsubscribed,
};
use accord_formats::{self as formats, Format};
use accord_proto::blocklist::checkpoint::verifier_key;
use accord_proto::blocklist::entry::{Action, Category, ListEntry, Target};
use accord_proto::blocklist::equivocation::EquivocationProof;
use accord_proto::text::Reason;
use accord_proto::{ListId, ListName, Timestamp};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use std::collections::BTreeMap;
use std::sync::Arc;

impl From<ListError> for ApiError {
    fn from(e: ListError) -> Self {
        match &e {
            ListError::Store(_) | ListError::Interrupted(_) => ApiError::internal(e),
            _ => ApiError::new(e.code(), e.to_string()),
        }
    }
}

/// Largest admin request body (a bulk import).
pub const MAX_IMPORT_BODY: usize = 80 * 1024 * 1024;

fn own(state: &Core, name: &str) -> Result<ListId, ApiError> {
    let name: ListName = name.parse().map_err(|e| ApiError::bad_request(format!("list name: {e}")))?;
    Ok(state.lists.own_list(name))
}

/// `POST /admin/lists`: a new list issued by this node.
pub async fn create(
    State(state): State<Arc<Core>>,
    Json(req): Json<CreateListRequest>,
) -> Result<Reply<ListCreated>, ApiError> {
    let name: ListName = req.name.parse().map_err(|e| ApiError::bad_request(format!("list name: {e}")))?;
    let limit = accord_proto::federation::MAX_LIST_DESCRIPTION;
    if req.description.as_ref().is_some_and(|d| d.len() > limit) {
        return Err(ApiError::bad_request(format!("a description is at most {limit} bytes")));
    }
    let record = state.lists.create(&state.store, name, req.description).await?;
    distribution::announce(&state, &record.list).await;
    Ok(Reply(ListCreated { list: record.list, size: record.size, checkpoint: record.checkpoint }))
}

/// `GET /admin/discover/{peer}`: the lists a peer issues, asked of it over
/// libp2p. `peer` is a node id, or a p2p address ending in `/p2p/NODE_ID`
/// (dialled first).
pub async fn discover(
    State(state): State<Arc<Core>>,
    Path(peer): Path<String>,
) -> Result<Reply<DiscoverResponse>, ApiError> {
    let node = match peer.parse::<accord_proto::NodeId>() {
        Ok(node) => node,
        Err(_) => {
            let addr: crate::network::Address = peer
                .parse()
                .map_err(|_| ApiError::bad_request(format!("{peer} is neither a node id nor an address")))?;
            let node = crate::network::peer_of(&addr)
                .and_then(|p| crate::network::node_id(&p))
                .ok_or_else(|| ApiError::bad_request(format!("{peer} must end with /p2p/NODE_ID")))?;
            state.network.dial(addr).await.map_err(ApiError::internal)?;
            node
        }
    };
    if node == state.node_id {
        return Err(ApiError::bad_request("that is this node: GET /admin/lists shows its lists"));
    }
    let found = discovery::discover(&state, node).await.map_err(|e| ApiError::new(e.code(), e.to_string()))?;
    let lists = found
        .into_iter()
        .map(|(listed, verified)| DiscoveredList {
            list: listed.list,
            size: verified.checkpoint.size,
            description: listed.description,
            witnesses: listed.witnesses,
            checkpoint_time: verified.checkpoint.time,
            checkpoint: listed.checkpoint,
        })
        .collect();
    Ok(Reply(DiscoverResponse { node, lists }))
}

/// `GET /admin/lists`: every list held, with its status.
pub async fn status(State(state): State<Arc<Core>>) -> Reply<ListsResponse> {
    let now = std::time::Instant::now();
    let lists = state
        .lists
        .records()
        .await
        .into_iter()
        .map(|r| ListStatus {
            followers: state.lists.activity.followers(&r.list, now),
            vkey: verifier_key(&r.list.issuer.to_string(), r.list.issuer.public_key()),
            description: r.description,
            list: r.list,
            own: r.own,
            subscribed: r.subscribed,
            size: r.size,
            actions: r.actions,
            pdq_threshold: r.pdq_threshold.unwrap_or(accord_proto::pdq::DEFAULT_PDQ_THRESHOLD),
            distrusted: r.distrusted,
            checkpoint: r.checkpoint,
            mode: r.mode,
            on_removal: r.on_removal,
            priority: r.priority,
        })
        .collect();
    let issuer = state.lists.issuer();
    Reply(ListsResponse {
        lists,
        indexed: state.lists.indexed() as u64,
        issuer_vkey: verifier_key(&issuer.to_string(), issuer.public_key()),
        witness_vkey: state.witness.id().vkey(),
    })
}

/// An optional reason from a request body, checked (`bad_request` if not).
pub(crate) fn reason(text: Option<String>) -> Result<Option<Reason>, ApiError> {
    text.map(|t| Reason::new(t).map_err(|e| ApiError::bad_request(format!("reason: {e}")))).transpose()
}

/// `POST /admin/lists/{name}/entries`
pub async fn add(
    State(state): State<Arc<Core>>,
    Path(name): Path<String>,
    Json(req): Json<AddEntryRequest>,
) -> Result<Reply<Appended>, ApiError> {
    let list = own(&state, &name)?;
    let mut target = target_of(req.kind, &req.id).map_err(ApiError::bad_request)?;
    if req.hashed {
        if matches!(target, Target::Pdq { .. }) {
            return Err(ApiError::bad_request("a pdq target has no hashed form"));
        }
        target = target.to_hashed();
    }
    let created = Timestamp::now();
    let expires = req.expires_in.map(|s| created.plus_millis(s.saturating_mul(1000)));
    let entry = ListEntry::Add {
        created,
        target,
        category: req.category,
        action: req.action,
        reason: reason(req.reason)?,
        evidence: req.evidence,
        expires,
    };
    Ok(Reply(append(&state, &list, vec![entry]).await?))
}

/// `POST /admin/lists/{name}/remove`: retracts an entry.
pub async fn remove(
    State(state): State<Arc<Core>>,
    Path(name): Path<String>,
    Json(req): Json<RemoveEntryRequest>,
) -> Result<Reply<Appended>, ApiError> {
    let list = own(&state, &name)?;
    let entry = ListEntry::Remove { created: Timestamp::now(), entry: req.entry, reason: reason(req.reason)? };
    Ok(Reply(append(&state, &list, vec![entry]).await?))
}

/// `add` entries, made now, for imported targets.
fn add_entries(imported: Vec<accord_formats::Imported>) -> Vec<ListEntry> {
    let created = Timestamp::now();
    imported
        .into_iter()
        .map(|i| ListEntry::Add {
            created,
            target: i.target,
            category: i.category,
            action: i.action,
            reason: i.reason,
            evidence: None,
            expires: None,
        })
        .collect()
}

async fn append(state: &Arc<Core>, list: &ListId, entries: Vec<ListEntry>) -> Result<Appended, ApiError> {
    let count = entries.len();
    let (first, checkpoint) = state.lists.append_own(&state.store, list, &entries).await?;
    distribution::announce(state, list).await;
    distribution::purge_later(state);
    tracing::info!("list {list}: {count} entries from {first}");
    Ok(Appended { list: list.clone(), first: Some(first), count: count as u64, checkpoint: Some(checkpoint) })
}

/// `GET /admin/lists/{name}/entries`: the entries, parsed, with indexes
/// (`name` `-` with `?list=ISSUER/NAME` for a subscribed list).
pub async fn show(
    State(state): State<Arc<Core>>,
    Path(name): Path<String>,
    Query(q): Query<ShowQuery>,
) -> Result<Reply<EntriesResponse>, ApiError> {
    let list = match q.list {
        Some(list) => list,
        None => own(&state, &name)?,
    };
    let record = state.lists.record(&list).await.ok_or(ListError::UnknownList)?;
    let limit = q.limit.unwrap_or(1000).min(100_000);
    let leaves = state.store.list_leaves(&list, q.from..record.size, limit)?;
    let entries = leaves
        .iter()
        .enumerate()
        .map(|(i, leaf)| {
            let index = q.from + i as u64;
            match ListEntry::parse(leaf) {
                Ok(entry) => ShownEntry { index, entry: Some(entry), error: None },
                Err(e) => ShownEntry { index, entry: None, error: Some(e.to_string()) },
            }
        })
        .collect();
    Ok(Reply(EntriesResponse { list, size: record.size, checkpoint: record.checkpoint, entries }))
}

/// `POST /admin/lists/{name}/import`: many entries, one checkpoint.
pub async fn import(
    State(state): State<Arc<Core>>,
    Path(name): Path<String>,
    Json(req): Json<ImportRequest>,
) -> Result<Reply<ImportResponse>, ApiError> {
    let list = own(&state, &name)?;
    let (imported, skipped) = read(&req)?;
    let entries = add_entries(imported);
    let appended = if entries.is_empty() {
        Appended { list, first: None, count: 0, checkpoint: None }
    } else {
        append(&state, &list, entries).await?
    };
    Ok(Reply(ImportResponse { appended, skipped }))
}

/// Reads an import's document: the entries and the rows skipped.
fn read(req: &ImportRequest) -> Result<(Vec<accord_formats::Imported>, Vec<Skipped>), ApiError> {
    let imported = formats::import(format(&req.format)?, &req.text, req.category)
        .map_err(|e| ApiError::with_status(StatusCode::BAD_REQUEST, e.code(), e.to_string()))?;
    let skipped = imported
        .skipped
        .into_iter()
        .map(|s| Skipped { line: s.line as u64, text: s.text, why: s.why.to_string() })
        .collect();
    Ok((imported.entries, skipped))
}

/// `POST /admin/import/parse`: the entries a document holds, logged
/// nowhere (the dashboard stages them in parts to show its progress).
pub async fn parse(Json(req): Json<ImportRequest>) -> Result<Reply<Parsed>, ApiError> {
    let (entries, skipped) = read(&req)?;
    Ok(Reply(Parsed { entries, skipped }))
}

fn format(text: &str) -> Result<Format, ApiError> {
    text.parse()
        .map_err(|e: formats::FormatError| ApiError::with_status(StatusCode::BAD_REQUEST, e.code(), e.to_string()))
}

/// `GET /admin/lists/{name}/export`: the list's active entries in a
/// format other systems read.
pub async fn export(
    State(state): State<Arc<Core>>,
    Path(name): Path<String>,
    Query(q): Query<ExportQuery>,
) -> Result<String, ApiError> {
    let list = own(&state, &name)?;
    let record = state.lists.record(&list).await.ok_or(ListError::UnknownList)?;
    let mut active: BTreeMap<u64, (Target, Category, Action, Option<Reason>)> = BTreeMap::new();
    let mut at = 0;
    while at < record.size {
        let leaves = state.store.list_leaves(&list, at..record.size, 65_536)?;
        if leaves.is_empty() {
            break;
        }
        for leaf in leaves {
            match ListEntry::parse(&leaf) {
                Ok(ListEntry::Add { target, category, action, reason, .. }) => {
                    active.insert(at, (target, category, action, reason));
                }
                Ok(ListEntry::Remove { entry, .. }) => {
                    active.remove(&entry);
                }
                Err(_) => {}
            }
            at += 1;
        }
    }
    let entries: Vec<_> = active.into_values().collect();
    Ok(formats::export(format(&q.format)?, &entries))
}

/// `POST /admin/subscriptions`: enforce a list here (fetched from peers).
pub async fn subscribe(
    State(state): State<Arc<Core>>,
    Json(req): Json<SubscribeRequest>,
) -> Result<Reply<Subscribed>, ApiError> {
    let held = state.lists.record(&req.list).await;
    let known = held.is_some();
    let settings = Settings {
        actions: req.actions,
        pdq_threshold: req.pdq_threshold,
        mode: req.mode.or(held.as_ref().map(|r| r.mode)).unwrap_or_default(),
        on_removal: req.on_removal.or(held.as_ref().map(|r| r.on_removal)).unwrap_or_default(),
        priority: req.priority.or(held.as_ref().map(|r| r.priority)).unwrap_or_default(),
    };
    let mut record = state.lists.subscribe(&state.store, &req.list, settings).await?;
    // An issuer once caught equivocating stays distrusted (a list already
    // held keeps the operator's decision, see `trust`).
    let caught = !known
        && state.store.equivocations()?.iter().any(|bytes| {
            serde_json::from_slice::<EquivocationProof>(bytes).is_ok_and(|p| p.list.issuer == req.list.issuer)
        });
    if caught {
        state.lists.distrust(&state.store, &req.list.issuer, "the issuer signed two incompatible checkpoints").await?;
        record = state.lists.record(&req.list).await.ok_or(ListError::UnknownList)?;
    }
    let (task_state, list) = (state.clone(), req.list.clone());
    state.tasks().spawn(async move {
        if let Err(e) = distribution::fetch(&task_state, &list, None).await {
            tracing::info!("list {list}: not fetched yet ({e}); will retry");
        }
    });
    Ok(Reply(Subscribed {
        list: record.list,
        subscribed: true,
        size: record.size,
        actions: record.actions,
        pdq_threshold: record.pdq_threshold.unwrap_or(accord_proto::pdq::DEFAULT_PDQ_THRESHOLD),
        distrusted: record.distrusted,
        mode: record.mode,
        on_removal: record.on_removal,
        priority: record.priority,
    }))
}

/// `POST /admin/pdq/match`: the PDQ entries an image hash matches here.
pub async fn match_pdq(
    State(state): State<Arc<Core>>,
    Json(req): Json<PdqMatchRequest>,
) -> Result<Reply<PdqMatchResponse>, ApiError> {
    let matches = state
        .lists
        .match_pdq(&state.store, &req.hash)
        .into_iter()
        .map(|(provenance, distance)| PdqMatch { distance, provenance })
        .collect();
    Ok(Reply(PdqMatchResponse { matches }))
}

/// `POST /admin/subscriptions/remove`
pub async fn unsubscribe(
    State(state): State<Arc<Core>>,
    Json(req): Json<UnsubscribeRequest>,
) -> Result<Reply<Unsubscribed>, ApiError> {
    state.lists.unsubscribe(&state.store, &req.list).await?;
    Ok(Reply(Unsubscribed { list: req.list, subscribed: false }))
}

/// `POST /admin/exceptions`: overrides (or stops overriding) one entry.
pub async fn exception(
    State(state): State<Arc<Core>>,
    Json(req): Json<ExceptionRequest>,
) -> Result<Reply<ExceptionSet>, ApiError> {
    let why = if req.lift { None } else { Some(req.reason.unwrap_or_else(|| "local exception".into())) };
    state.lists.set_exception(&state.store, &req.list, req.entry, why.as_deref()).await?;
    Ok(Reply(ExceptionSet { list: req.list, entry: req.entry, excepted: !req.lift }))
}

/// `GET /admin/evidence`: what peers relayed although the lists they
/// declare block it, with the signed proof.
pub async fn evidence(State(state): State<Arc<Core>>) -> Result<Reply<EvidenceResponse>, ApiError> {
    let evidence =
        state.store.evidence(10_000)?.iter().filter_map(|bytes| serde_json::from_slice(bytes).ok()).collect();
    Ok(Reply(EvidenceResponse { evidence }))
}

/// `GET /admin/quarantine`: events held for review (a `quarantine` entry
/// matches them), with the event for the moderator to judge.
pub async fn quarantine(State(state): State<Arc<Core>>) -> Result<Reply<QuarantineResponse>, ApiError> {
    let mut held = Vec::new();
    'rooms: for room in state.rooms.ids() {
        let mut after = 0;
        loop {
            let page = state.store.timeline(&room, Some(after), None, 1000)?;
            let Some(last) = page.last().map(|e| e.cursor) else { break };
            for entry in page {
                if let Some(p) = state.lists.check_wire(&state.store, &entry.event)
                    && p.action == Action::Quarantine
                {
                    let event_id = entry.event.claimed_id();
                    held.push(Held { room, cursor: entry.cursor, event_id, event: entry.event, provenance: p });
                    if held.len() >= 1000 {
                        break 'rooms;
                    }
                }
            }
            after = last;
        }
    }
    Ok(Reply(QuarantineResponse { quarantine: held }))
}

/// `POST /admin/quarantine/release`: a moderator lets a held event through.
pub async fn release(
    State(state): State<Arc<Core>>,
    Json(req): Json<ReleaseRequest>,
) -> Result<Reply<Released>, ApiError> {
    let reason = req.reason.unwrap_or_else(|| "released by a moderator".into());
    state.lists.release(&state.store, req.event, &reason).await?;
    tracing::info!("quarantined event {} released: {reason}", req.event);
    Ok(Reply(Released { event: req.event, released: true }))
}

/// Most entries staged for one list.
const MAX_STAGED: usize = 2_000_000;

/// `POST /admin/lists/{name}/stage`
pub async fn stage(
    State(admin): State<AdminState>,
    Path(name): Path<String>,
    Json(req): Json<StageRequest>,
) -> Result<Reply<Staged>, ApiError> {
    let list = own(&admin.core, &name)?;
    let mut staged = admin.staged.lock().unwrap_or_else(|p| p.into_inner());
    let held = staged.entry(list.clone()).or_default();
    if held.len() + req.entries.len() > MAX_STAGED {
        return Err(ApiError::new(ErrorCode::TooLarge, "at most 2,000,000 entries per import"));
    }
    held.extend(req.entries);
    Ok(Reply(Staged { list, staged: held.len() as u64 }))
}

/// `POST /admin/lists/{name}/commit`: appends everything staged, one
/// checkpoint.
pub async fn commit(State(admin): State<AdminState>, Path(name): Path<String>) -> Result<Reply<Appended>, ApiError> {
    let state = &admin.core;
    let list = own(state, &name)?;
    let staged = admin.staged.lock().unwrap_or_else(|p| p.into_inner()).remove(&list).unwrap_or_default();
    if staged.is_empty() {
        return Ok(Reply(Appended { list, first: None, count: 0, checkpoint: None }));
    }
    Ok(Reply(append(state, &list, add_entries(staged)).await?))
}

/// `GET /admin/equivocations`: the proofs that made issuers distrusted.
pub async fn equivocations(State(state): State<Arc<Core>>) -> Result<Reply<EquivocationsResponse>, ApiError> {
    let proofs = state.store.equivocations()?.iter().filter_map(|bytes| serde_json::from_slice(bytes).ok()).collect();
    Ok(Reply(EquivocationsResponse { proofs }))
}

/// `POST /admin/trust`: the operator trusts an issuer again after an
/// equivocation (its proof stays stored).
pub async fn trust(State(state): State<Arc<Core>>, Json(req): Json<TrustRequest>) -> Result<Reply<Trusted>, ApiError> {
    let lists = state.lists.trust(&state.store, &req.issuer).await?;
    tracing::warn!("issuer {} trusted again by the operator ({} lists)", req.issuer, lists.len());
    for list in &lists {
        let (task_state, list) = (state.clone(), list.clone());
        state.tasks().spawn(async move {
            let _ = distribution::fetch(&task_state, &list, None).await;
        });
    }
    Ok(Reply(Trusted { issuer: req.issuer, lists }))
}

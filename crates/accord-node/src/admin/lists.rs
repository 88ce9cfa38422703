//! Lists at the admin endpoint (spec/blocklists.md §12): issuing lists,
//! bulk imports, subscriptions, local exceptions, evidence and quarantine.

use super::AdminState;
use crate::api::ApiError;
use crate::api::extract::Json;
use crate::core::Core;
use crate::core::lists::distribution;
use crate::core::lists::{ListError, target_of};
use accord_api::ErrorCode;
use accord_formats::{self as formats, Format};
use accord_proto::blocklist::entry::{Action, Category, ListEntry, Target, TargetKind};
use accord_proto::blocklist::equivocation::EquivocationProof;
use accord_proto::text::Reason;
use accord_proto::{ListId, ListName, Sha256Hash, Timestamp};
use accord_store::Enforce;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

impl From<ListError> for ApiError {
    fn from(e: ListError) -> Self {
        match &e {
            ListError::Store(_) => ApiError::internal(e),
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

/// `POST /admin/lists` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateRequest {
    name: String,
}

/// `POST /admin/lists`: a new list issued by this node.
pub async fn create(
    State(state): State<Arc<Core>>,
    Json(req): Json<CreateRequest>,
) -> Result<axum::Json<Value>, ApiError> {
    let name: ListName = req.name.parse().map_err(|e| ApiError::bad_request(format!("list name: {e}")))?;
    let record = state.lists.create(&state.store, name).await?;
    distribution::announce(&state, &record.list).await;
    Ok(axum::Json(json!({"list": record.list, "size": record.size, "checkpoint": record.checkpoint})))
}

/// `GET /admin/lists`: every list held, with its status.
pub async fn status(State(state): State<Arc<Core>>) -> axum::Json<Value> {
    let lists: Vec<Value> = state
        .lists
        .records()
        .await
        .into_iter()
        .map(|r| {
            json!({
                "list": r.list, "own": r.own, "subscribed": r.subscribed, "size": r.size,
                "actions": r.actions, "distrusted": r.distrusted, "checkpoint": r.checkpoint,
            })
        })
        .collect();
    axum::Json(json!({"lists": lists, "indexed": state.lists.indexed()}))
}

/// `POST /admin/lists/{name}/entries` body: one entry to add.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddRequest {
    kind: TargetKind,
    id: String,
    #[serde(default)]
    hashed: bool,
    category: Category,
    #[serde(default = "reject")]
    action: Action,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    evidence: Option<Sha256Hash>,
    /// Seconds from now.
    #[serde(default)]
    expires_in: Option<u64>,
}

fn reject() -> Action {
    Action::Reject
}

/// An optional reason from a request body, checked (`bad_request` if not).
pub(crate) fn reason(text: Option<String>) -> Result<Option<Reason>, ApiError> {
    text.map(|t| Reason::new(t).map_err(|e| ApiError::bad_request(format!("reason: {e}")))).transpose()
}

/// `POST /admin/lists/{name}/entries`
pub async fn add(
    State(state): State<Arc<Core>>,
    Path(name): Path<String>,
    Json(req): Json<AddRequest>,
) -> Result<axum::Json<Value>, ApiError> {
    let list = own(&state, &name)?;
    let mut target = target_of(req.kind, &req.id).map_err(ApiError::bad_request)?;
    if req.hashed {
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
    append(&state, &list, vec![entry]).await
}

/// `POST /admin/lists/{name}/remove` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoveRequest {
    entry: u64,
    #[serde(default)]
    reason: Option<String>,
}

/// `POST /admin/lists/{name}/remove`: retracts an entry.
pub async fn remove(
    State(state): State<Arc<Core>>,
    Path(name): Path<String>,
    Json(req): Json<RemoveRequest>,
) -> Result<axum::Json<Value>, ApiError> {
    let list = own(&state, &name)?;
    let entry = ListEntry::Remove { created: Timestamp::now(), entry: req.entry, reason: reason(req.reason)? };
    append(&state, &list, vec![entry]).await
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

async fn append(state: &Arc<Core>, list: &ListId, entries: Vec<ListEntry>) -> Result<axum::Json<Value>, ApiError> {
    let count = entries.len();
    let (first, checkpoint) = state.lists.append_own(&state.store, list, &entries).await?;
    distribution::announce(state, list).await;
    distribution::purge_later(state);
    tracing::info!("list {list}: {count} entries from {first}");
    Ok(axum::Json(json!({"list": list, "first": first, "count": count, "checkpoint": checkpoint})))
}

/// `GET /admin/lists/{name}/entries` query.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShowQuery {
    #[serde(default)]
    list: Option<ListId>,
    #[serde(default)]
    from: u64,
    #[serde(default)]
    limit: Option<usize>,
}

/// `GET /admin/lists/{name}/entries`: the entries, parsed, with indexes
/// (`name` `-` with `?list=ISSUER/NAME` for a subscribed list).
pub async fn show(
    State(state): State<Arc<Core>>,
    Path(name): Path<String>,
    Query(q): Query<ShowQuery>,
) -> Result<axum::Json<Value>, ApiError> {
    let list = match q.list {
        Some(list) => list,
        None => own(&state, &name)?,
    };
    let record = state.lists.record(&list).await.ok_or(ListError::UnknownList)?;
    let limit = q.limit.unwrap_or(1000).min(100_000);
    let leaves = state.store.list_leaves(&list, q.from, limit)?;
    let entries: Vec<Value> = leaves
        .iter()
        .enumerate()
        .map(|(i, leaf)| match ListEntry::parse(leaf) {
            Ok(entry) => json!({"index": q.from + i as u64, "entry": entry}),
            Err(e) => json!({"index": q.from + i as u64, "error": e.to_string()}),
        })
        .collect();
    Ok(axum::Json(json!({"list": list, "size": record.size, "checkpoint": record.checkpoint, "entries": entries})))
}

/// `POST /admin/lists/{name}/import` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportRequest {
    format: String,
    text: String,
    #[serde(default = "other")]
    category: Category,
}

fn other() -> Category {
    Category::Other
}

/// `POST /admin/lists/{name}/import`: many entries, one checkpoint.
pub async fn import(
    State(state): State<Arc<Core>>,
    Path(name): Path<String>,
    Json(req): Json<ImportRequest>,
) -> Result<axum::Json<Value>, ApiError> {
    let list = own(&state, &name)?;
    let imported = formats::import(format(&req.format)?, &req.text, req.category)
        .map_err(|e| ApiError::with_status(StatusCode::BAD_REQUEST, e.code(), e.to_string()))?;
    let entries = add_entries(imported.entries);
    let skipped: Vec<Value> =
        imported.skipped.iter().map(|s| json!({"line": s.line, "text": s.text, "why": s.why})).collect();
    if entries.is_empty() {
        return Ok(axum::Json(json!({"list": list, "count": 0, "skipped": skipped})));
    }
    let axum::Json(mut out) = append(&state, &list, entries).await?;
    out["skipped"] = json!(skipped);
    Ok(axum::Json(out))
}

/// `GET /admin/lists/{name}/export` query.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    format: String,
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
        let leaves = state.store.list_leaves(&list, at, 65_536)?;
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

/// `POST /admin/subscriptions` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscribeRequest {
    list: ListId,
    #[serde(default)]
    actions: BTreeMap<Category, Enforce>,
}

/// `POST /admin/subscriptions`: enforce a list here (fetched from peers).
pub async fn subscribe(
    State(state): State<Arc<Core>>,
    Json(req): Json<SubscribeRequest>,
) -> Result<axum::Json<Value>, ApiError> {
    let known = state.lists.record(&req.list).await.is_some();
    let mut record = state.lists.subscribe(&state.store, &req.list, req.actions).await?;
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
    Ok(axum::Json(json!({
        "list": record.list, "subscribed": true, "size": record.size, "actions": record.actions,
        "distrusted": record.distrusted,
    })))
}

/// `POST /admin/subscriptions/remove` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnsubscribeRequest {
    list: ListId,
}

/// `POST /admin/subscriptions/remove`
pub async fn unsubscribe(
    State(state): State<Arc<Core>>,
    Json(req): Json<UnsubscribeRequest>,
) -> Result<axum::Json<Value>, ApiError> {
    state.lists.unsubscribe(&state.store, &req.list).await?;
    Ok(axum::Json(json!({"list": req.list, "subscribed": false})))
}

/// `POST /admin/exceptions` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExceptionRequest {
    list: ListId,
    entry: u64,
    /// Why (to set an exception); absent with `lift` to remove it.
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    lift: bool,
}

/// `POST /admin/exceptions`: overrides (or stops overriding) one entry.
pub async fn exception(
    State(state): State<Arc<Core>>,
    Json(req): Json<ExceptionRequest>,
) -> Result<axum::Json<Value>, ApiError> {
    let why = if req.lift { None } else { Some(req.reason.unwrap_or_else(|| "local exception".into())) };
    state.lists.set_exception(&state.store, &req.list, req.entry, why.as_deref()).await?;
    Ok(axum::Json(json!({"list": req.list, "entry": req.entry, "excepted": !req.lift})))
}

/// `GET /admin/evidence`: what peers relayed although the lists they
/// declare block it, with the signed proof.
pub async fn evidence(State(state): State<Arc<Core>>) -> Result<axum::Json<Value>, ApiError> {
    let items: Vec<Value> =
        state.store.evidence(10_000)?.iter().filter_map(|bytes| serde_json::from_slice(bytes).ok()).collect();
    Ok(axum::Json(json!({ "evidence": items })))
}

/// `GET /admin/quarantine`: events held for review (a `quarantine` entry
/// matches them), with the event for the moderator to judge.
pub async fn quarantine(State(state): State<Arc<Core>>) -> Result<axum::Json<Value>, ApiError> {
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
                    held.push(json!({
                        "room": room, "cursor": entry.cursor, "event_id": entry.event.claimed_id(),
                        "event": entry.event, "provenance": p,
                    }));
                    if held.len() >= 1000 {
                        break 'rooms;
                    }
                }
            }
            after = last;
        }
    }
    Ok(axum::Json(json!({ "quarantine": held })))
}

/// `POST /admin/quarantine/release` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseRequest {
    event: accord_proto::EventId,
    #[serde(default)]
    reason: Option<String>,
}

/// `POST /admin/quarantine/release`: a moderator lets a held event through.
pub async fn release(
    State(state): State<Arc<Core>>,
    Json(req): Json<ReleaseRequest>,
) -> Result<axum::Json<Value>, ApiError> {
    let reason = req.reason.unwrap_or_else(|| "released by a moderator".into());
    state.lists.release(&state.store, req.event, &reason).await?;
    tracing::info!("quarantined event {} released: {reason}", req.event);
    Ok(axum::Json(json!({"event": req.event, "released": true})))
}

/// `POST /admin/lists/{name}/stage` body: a part of a bulk import, parsed
/// by the command line (so that it can show progress); nothing is logged
/// until `commit`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageRequest {
    entries: Vec<accord_formats::Imported>,
}

/// Most entries staged for one list.
const MAX_STAGED: usize = 2_000_000;

/// `POST /admin/lists/{name}/stage`
pub async fn stage(
    State(admin): State<AdminState>,
    Path(name): Path<String>,
    Json(req): Json<StageRequest>,
) -> Result<axum::Json<Value>, ApiError> {
    let list = own(&admin.core, &name)?;
    let mut staged = admin.staged.lock().unwrap_or_else(|p| p.into_inner());
    let held = staged.entry(list.clone()).or_default();
    if held.len() + req.entries.len() > MAX_STAGED {
        return Err(ApiError::new(ErrorCode::TooLarge, "at most 2,000,000 entries per import"));
    }
    held.extend(req.entries);
    Ok(axum::Json(json!({"list": list, "staged": held.len()})))
}

/// `POST /admin/lists/{name}/commit`: appends everything staged, one
/// checkpoint.
pub async fn commit(State(admin): State<AdminState>, Path(name): Path<String>) -> Result<axum::Json<Value>, ApiError> {
    let state = &admin.core;
    let list = own(state, &name)?;
    let staged = admin.staged.lock().unwrap_or_else(|p| p.into_inner()).remove(&list).unwrap_or_default();
    if staged.is_empty() {
        return Ok(axum::Json(json!({"list": list, "count": 0})));
    }
    append(state, &list, add_entries(staged)).await
}

/// `POST /admin/trust` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustRequest {
    issuer: accord_proto::IssuerId,
}

/// `POST /admin/trust`: the operator trusts an issuer again after an
/// equivocation (its proof stays stored).
pub async fn trust(
    State(state): State<Arc<Core>>,
    Json(req): Json<TrustRequest>,
) -> Result<axum::Json<Value>, ApiError> {
    let lists = state.lists.trust(&state.store, &req.issuer).await?;
    tracing::warn!("issuer {} trusted again by the operator ({} lists)", req.issuer, lists.len());
    for list in &lists {
        let (task_state, list) = (state.clone(), list.clone());
        state.tasks().spawn(async move {
            let _ = distribution::fetch(&task_state, &list, None).await;
        });
    }
    Ok(axum::Json(json!({"issuer": req.issuer, "lists": lists})))
}

//! Moderator actions: checking them, writing the list entries they call
//! for, appending them to the audit log (spec/reports.md §9–§10).

use super::{Book, ModeratorView, ReportsError, case_events, in_scope};
use crate::core::Core;
use crate::core::lists::distribution;
use accord_proto::audit::{AuditHead, ModAction, Moderator, Verdict};
use accord_proto::blocklist::entry::{Action, ListEntry, Target};
use accord_proto::blocklist::merkle::MerkleLog;
use accord_proto::event::Event;
use accord_proto::text::Reason;
use accord_proto::{ContentHash, ListId, ListName, NodeId, Sha256Hash, SignedBytes, Timestamp};
use accord_proto::{Unverified, Verified};
use accord_store::{AuditWork, ReportSource, Resolution};
use std::collections::BTreeMap;
use std::sync::Arc;

pub use accord_api::moderation::{ActionReceipt, WrittenEntry};

/// Signs the audit head over `tree`.
pub(crate) fn sign_head(state: &Core, tree: &MerkleLog) -> Result<Verified<AuditHead>, ReportsError> {
    let head = AuditHead { node: state.node_id, size: tree.size(), root: tree.root(), ts: Timestamp::now() };
    Verified::sign(head, &state.node_key).map_err(ReportsError::Action)
}

/// Takes an action signed by a moderator account (`POST /v1/mod/actions`).
pub async fn resolve(state: &Arc<Core>, raw: SignedBytes) -> Result<ActionReceipt, ReportsError> {
    let action = Unverified::<ModAction>::from_raw(raw).verify().map_err(ReportsError::Action)?;
    let mut book = state.reports.book.lock().await;
    apply(state, &mut book, action).await
}

/// The operator resolves a case through the admin endpoint: the node signs
/// the action as its own moderator.
pub async fn resolve_as_node(
    state: &Arc<Core>,
    case: Sha256Hash,
    verdict: Verdict,
    list: Option<ListName>,
    reason: Option<Reason>,
    days: Option<u64>,
) -> Result<ActionReceipt, ReportsError> {
    if !verdict.is_decision() {
        return Err(ReportsError::Invalid(format!("`{verdict}` does not resolve a case")));
    }
    let ts = Timestamp::now();
    let expires =
        (verdict == Verdict::Suspend).then(|| ts.plus_millis(days.unwrap_or(7).max(1).saturating_mul(86_400_000)));
    let action = ModAction {
        list: list.map(|name| state.lists.own_list(name)),
        expires,
        ts,
        ..node_action(state, case, verdict, reason)
    };
    let action = Verified::sign(action, &state.node_key).map_err(ReportsError::Action)?;
    let mut book = state.reports.book.lock().await;
    apply(state, &mut book, action).await
}

/// The list entries an action calls for (spec/reports.md §9).
fn entries_for(
    action: &ModAction,
    book: &Book,
    case: &accord_store::CaseRecord,
) -> Result<Vec<ListEntry>, ReportsError> {
    let (evidence, _, _) = case_events(book, case);
    let add = |target: Target, what: Action, expires: Option<Timestamp>| ListEntry::Add {
        created: action.ts,
        target,
        category: case.category,
        action: what,
        reason: action.reason.clone(),
        evidence: Some(case.id),
        expires,
    };
    let contents = || {
        let mut hashes: Vec<Sha256Hash> = evidence.iter().filter_map(Event::content_hash).collect();
        hashes.sort();
        hashes.dedup();
        hashes
    };
    let entries: Vec<ListEntry> = match action.action {
        Verdict::Hide | Verdict::Quarantine => {
            let what = if action.action == Verdict::Hide { Action::Reject } else { Action::Quarantine };
            contents().into_iter().map(|h| add(Target::Content { id: ContentHash(h) }, what, None)).collect()
        }
        Verdict::Suspend | Verdict::Block => {
            case.accused.iter().map(|a| add(Target::Account { id: *a }, Action::Reject, action.expires)).collect()
        }
        // `dismiss`, and the work actions, which never reach here.
        _ => vec![],
    };
    if action.action.needs_list() && entries.is_empty() {
        return Err(ReportsError::Invalid(format!("the case has nothing to {}", action.action)));
    }
    Ok(entries)
}

/// Appends an action that is not a case's decision to the audit log, with
/// what it changes (`work`), in one store write; the caller then updates
/// the book. Answers the action's index.
pub(crate) async fn append_work(
    state: &Core,
    book: &mut Book,
    action: &Verified<ModAction>,
    work: AuditWork<'_>,
) -> Result<u64, ReportsError> {
    if let Some(e) = &book.broken {
        return Err(ReportsError::AuditTampered(e.clone()));
    }
    let index = book.tree.size();
    let mut tree = book.tree.clone();
    tree.push(&action.raw().body);
    let head = sign_head(state, &tree)?;
    state.store.append_audit_work(index, action.raw(), head.raw(), work).await?;
    tracing::info!(case = %action.case, action = %action.action, moderator = %action.moderator, index, "moderation action");
    state.metrics.mod_action(action.action.as_str());
    book.tree = tree;
    book.actions.push(action.raw().clone());
    Ok(index)
}

/// Who signed an action: the node (`None`), or one of its moderator
/// accounts with its role and scope.
pub(crate) fn signer(state: &Core, action: &ModAction) -> Result<Option<ModeratorView>, ReportsError> {
    if action.node != state.node_id {
        return Err(ReportsError::Invalid("the action names another node".into()));
    }
    match action.moderator {
        Moderator::Node(node) if node == state.node_id => Ok(None),
        Moderator::Account(account) => state.reports.moderator(&account).map(Some).ok_or(ReportsError::NotModerator),
        Moderator::Node(_) => Err(ReportsError::NotModerator),
    }
}

/// Checks an action and carries it out: list entries first, then the audit
/// log, the case and its reports in one store write. Assignments, mutes
/// and appeals' resolutions go to their own modules.
pub(crate) async fn apply(
    state: &Arc<Core>,
    book: &mut Book,
    action: Verified<ModAction>,
) -> Result<ActionReceipt, ReportsError> {
    if let Some(e) = &book.broken {
        return Err(ReportsError::AuditTampered(e.clone()));
    }
    let mover = signer(state, &action)?;
    match action.action {
        Verdict::Assign | Verdict::Mute | Verdict::Unmute => {
            return super::teams::apply(state, book, action, mover.as_ref()).await;
        }
        Verdict::Uphold | Verdict::Overturn => {
            return super::appeals::resolve(state, book, action, mover.as_ref()).await;
        }
        Verdict::Appeal => {
            return Err(ReportsError::Invalid("the node records appeals when it receives them".into()));
        }
        _ => {}
    }
    let mut case = book.cases.get(&action.case).cloned().ok_or(ReportsError::UnknownCase)?;
    if !in_scope(book, &case, mover.as_ref()) {
        return Err(ReportsError::OutOfScope);
    }
    if case.resolution.is_some() {
        return Err(ReportsError::Resolved);
    }
    if action.action == Verdict::Quarantine && !case.quarantine.is_empty() {
        return Err(ReportsError::Invalid("the case is quarantined already".into()));
    }
    if let Some(list) = &action.list
        && !state.lists.record(list).await.is_some_and(|r| r.own)
    {
        return Err(ReportsError::UnknownList);
    }
    let entries = entries_for(&action, book, &case)?;
    let mut written = Vec::new();
    if let Some(list) = &action.list {
        let (first, _) = state.lists.append_own(&state.store, list, &entries).await?;
        distribution::announce(state, list).await;
        distribution::purge_later(state);
        written.extend((first..first + entries.len() as u64).map(|index| WrittenEntry { list: list.clone(), index }));
    }
    if action.action == Verdict::Dismiss {
        // Dismissing lifts the quarantine pending review.
        written.extend(remove_entries(state, &case.quarantine, &action).await?);
    }
    let index = book.tree.size();
    let mut tree = book.tree.clone();
    tree.push(&action.raw().body);
    let head = sign_head(state, &tree)?;
    let mut reports = Vec::new();
    if action.action == Verdict::Quarantine {
        case.quarantine = written.iter().map(|e| (e.list.clone(), e.index)).collect();
    } else {
        let entries = written.iter().map(|e| (e.list.clone(), e.index)).collect();
        case.resolution = Some(Resolution { index, action: action.action, entries, overturned: None });
        for id in &case.reports {
            if let Some(record) = book.reports.get(id) {
                let mut record = record.clone();
                if record.outcome.is_none() {
                    record.outcome = Some(action.raw().clone());
                }
                reports.push(record);
            }
        }
    }
    let report_refs: Vec<_> = reports.iter().collect();
    state.store.append_audit(index, action.raw(), head.raw(), &case, &report_refs).await?;
    tracing::info!(case = %case.id, action = %action.action, moderator = %action.moderator, index, "moderation action");
    state.metrics.mod_action(action.action.as_str());
    book.tree = tree;
    book.actions.push(action.raw().clone());
    for record in reports {
        book.reports.insert(record.id, record);
    }
    book.cases.insert(case.id, case);
    state.reports.wake.notify_one();
    Ok(ActionReceipt { index, entries: written })
}

/// When enough trusted reporters reported a case, the node quarantines its
/// content pending review (spec/reports.md §7.2). Never blocks an account.
pub(crate) async fn quarantine_if_trusted(state: &Arc<Core>, book: &mut Book, case: Sha256Hash) {
    let config = &state.config.reports;
    let Some(record) = book.cases.get(&case) else { return };
    let trusted = record.reporters.iter().filter(|r| config.trusted_reporters.contains(r)).count();
    if config.quarantine_after == 0
        || trusted < config.quarantine_after as usize
        || record.resolution.is_some()
        || !record.quarantine.is_empty()
    {
        return;
    }
    let name = config.quarantine_list.clone();
    let list = state.lists.own_list(name.clone());
    if state.lists.record(&list).await.is_none()
        && let Err(e) = state.lists.create(&state.store, name, None).await
    {
        tracing::error!("creating the quarantine list {list}: {e}");
        return;
    }
    let reason = Reason::new(format!("{trusted} trusted reporters; pending review")).ok();
    let action = ModAction { list: Some(list), ..node_action(state, case, Verdict::Quarantine, reason) };
    let result = match Verified::sign(action, &state.node_key) {
        Ok(action) => apply(state, book, action).await.map(|_| ()),
        Err(e) => Err(ReportsError::Action(e)),
    };
    match result {
        Ok(()) => tracing::info!(%case, trusted, "case content quarantined pending review"),
        Err(e) => tracing::warn!(%case, "could not quarantine: {e}"),
    }
}

/// A peer tells this node what became of reports it forwarded there.
pub async fn on_outcome(
    state: &Core,
    peer: NodeId,
    raw: SignedBytes,
    reports: &[Sha256Hash],
) -> Result<(), ReportsError> {
    let action = Unverified::<ModAction>::from_raw(raw).verify().map_err(ReportsError::Action)?;
    if action.node != peer {
        return Err(ReportsError::Invalid("the action names another node than the sender".into()));
    }
    let mut book = state.reports.book.lock().await;
    let mut changed = Vec::new();
    for id in reports {
        let Some(record) = book.reports.get(id) else { continue };
        let forwarded_there = record.forwards.iter().any(|f| f.node == peer);
        if forwarded_there && record.outcome.is_none() && record.from == ReportSource::Local {
            let mut record = record.clone();
            record.outcome = Some(action.raw().clone());
            changed.push(record);
        }
    }
    state.store.put_reports(&changed.iter().collect::<Vec<_>>(), &[]).await?;
    for record in changed {
        tracing::info!(report = %record.id, %peer, action = %action.action, "report outcome received");
        book.reports.insert(record.id, record);
    }
    Ok(())
}

/// Removes `entries` of this node's lists, in one checkpoint per list, as
/// part of `action` (a dismissal lifting a quarantine, an overturned
/// decision); the removal entries written.
pub(crate) async fn remove_entries(
    state: &Arc<Core>,
    entries: &[(ListId, u64)],
    action: &ModAction,
) -> Result<Vec<WrittenEntry>, ReportsError> {
    let mut by_list: BTreeMap<ListId, Vec<ListEntry>> = BTreeMap::new();
    for (list, entry) in entries {
        by_list.entry(list.clone()).or_default().push(ListEntry::Remove {
            created: action.ts,
            entry: *entry,
            reason: action.reason.clone(),
        });
    }
    let mut written = Vec::new();
    for (list, removals) in by_list {
        let (first, _) = state.lists.append_own(&state.store, &list, &removals).await?;
        distribution::announce(state, &list).await;
        written.extend((first..first + removals.len() as u64).map(|index| WrittenEntry { list: list.clone(), index }));
    }
    Ok(written)
}

/// An action signed by the node itself (for its operator, or one of its
/// automatic measures): on `case`, with nothing but its verdict and reason.
pub(crate) fn node_action(state: &Core, case: Sha256Hash, verdict: Verdict, reason: Option<Reason>) -> ModAction {
    ModAction::new(state.node_id, Moderator::Node(state.node_id), case, verdict, reason)
}

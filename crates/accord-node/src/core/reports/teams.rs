//! The work of a moderation team (spec/reports.md §9.1, §12.1): cases
//! assigned to moderators, internal notes on cases, and muted reporters.
//!
//! Assignments and mutes are signed actions in the audit log; notes are
//! private to the node's moderators and operator: kept in their own column
//! family, never in the audit log, a report's status or outcome, or
//! anything sent to another node.

use super::actions::{append_work, node_action};
use super::{Book, ModeratorView, ReportsError, in_scope};
use crate::core::Core;
use accord_api::admin::ModeratorRole;
use accord_api::moderation::{ActionReceipt, CaseNote};
use accord_api::teams::MuteEntry;
use accord_proto::audit::{ModAction, Moderator, Verdict};
use accord_proto::limits::MAX_CASE_NOTE;
use accord_proto::text::Reason;
use accord_proto::{AccountId, Sha256Hash, Timestamp, Verified};
use accord_store::{AuditWork, CaseRecord, MuteRecord, NoteRecord};
use std::sync::Arc;

/// A case's internal notes, oldest first.
pub(crate) fn notes(state: &Core, case: &Sha256Hash) -> Result<Vec<CaseNote>, ReportsError> {
    Ok(state
        .store
        .case_notes(case)?
        .into_iter()
        .map(|n| CaseNote { author: n.author, text: n.text, ts: n.ts })
        .collect())
}

/// Adds an internal note to a case, by a moderator account whose categories
/// cover it (`viewer`) or by the operator (`None`, written as the node).
pub async fn add_note(
    state: &Core,
    case: Sha256Hash,
    viewer: Option<&ModeratorView>,
    text: String,
) -> Result<Vec<CaseNote>, ReportsError> {
    if text.trim().is_empty() || text.len() > MAX_CASE_NOTE {
        return Err(ReportsError::Invalid(format!("a note is 1 to {MAX_CASE_NOTE} bytes of text")));
    }
    if text.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(ReportsError::Invalid("a note holds no control characters but line feeds and tabs".into()));
    }
    // The book's lock is held until the note is written, so that notes
    // are stored one at a time and each is later than the one before it
    // (they are kept in order of time).
    let book = state.reports.book.lock().await;
    let record = book.cases.get(&case).ok_or(ReportsError::UnknownCase)?;
    if !in_scope(&book, record, viewer) {
        return Err(ReportsError::OutOfScope);
    }
    let after = state.store.case_notes(&case)?.last().map(|n| n.ts.plus_millis(1));
    let ts = after.map_or_else(Timestamp::now, |after| after.max(Timestamp::now()));
    let author = viewer.map_or(Moderator::Node(state.node_id), |m| Moderator::Account(m.account));
    state.store.put_case_note(&NoteRecord { case, author, text, ts }).await?;
    drop(book);
    tracing::info!(%case, %author, "note added to a case");
    notes(state, &case)
}

/// Carries out an `assign`, `mute` or `unmute` action (signed by `mover`,
/// or by the node when `None`).
pub(crate) async fn apply(
    state: &Arc<Core>,
    book: &mut Book,
    action: Verified<ModAction>,
    mover: Option<&ModeratorView>,
) -> Result<ActionReceipt, ReportsError> {
    let mut case = book.cases.get(&action.case).cloned().ok_or(ReportsError::UnknownCase)?;
    if !in_scope(book, &case, mover) {
        return Err(ReportsError::OutOfScope);
    }
    let index = match action.action {
        Verdict::Assign => {
            if let Some(assignee) = &action.assignee {
                let Some(target) = state.reports.moderator(assignee) else {
                    return Err(ReportsError::Invalid("the assignee is not a moderator of this node".into()));
                };
                if !in_scope(book, &case, Some(&target)) {
                    return Err(ReportsError::OutOfScope);
                }
            }
            let to_self = action.assignee.is_some_and(|a| mover.is_some_and(|m| m.account == a));
            if mover.is_some_and(|m| m.role != ModeratorRole::Admin) && !to_self && action.assignee.is_some() {
                return Err(ReportsError::Invalid(
                    "a moderator assigns cases to itself; an admin assigns them to anyone".into(),
                ));
            }
            case.assigned = action.assignee;
            let index =
                append_work(state, book, &action, AuditWork { case: Some(&case), ..Default::default() }).await?;
            book.cases.insert(case.id, case);
            index
        }
        Verdict::Mute => {
            let reporter = reporter_of(book, &case, action.report)?;
            if book.mutes.contains_key(&reporter) {
                return Err(ReportsError::Invalid("that reporter is muted already".into()));
            }
            let mute = MuteRecord {
                account: reporter,
                case: case.id,
                reason: action.reason.as_ref().map(|r| r.as_str().to_owned()),
                by: action.moderator,
                since: action.ts,
                index: book.tree.size(),
                kept_out: 0,
            };
            let index =
                append_work(state, book, &action, AuditWork { mute: Some(Ok(&mute)), ..Default::default() }).await?;
            book.mutes.insert(reporter, mute);
            index
        }
        Verdict::Unmute => {
            let reporter = reporter_of(book, &case, action.report)?;
            let Some(mute) = book.mutes.get(&reporter) else { return Err(ReportsError::NotMuted) };
            if mute.case != case.id {
                return Err(ReportsError::Invalid(format!("the mute was decided on case {}: name it", mute.case)));
            }
            let index =
                append_work(state, book, &action, AuditWork { mute: Some(Err(&reporter)), ..Default::default() })
                    .await?;
            book.mutes.remove(&reporter);
            index
        }
        other => return Err(ReportsError::Invalid(format!("`{other}` is not a team action"))),
    };
    Ok(ActionReceipt { index, entries: vec![] })
}

/// Who filed `report` (a mute's or unmute's), which must be a report of
/// `case`. The action names the report, not the reporter, because the
/// audit log is public and reporters are not.
fn reporter_of(book: &Book, case: &CaseRecord, report: Option<Sha256Hash>) -> Result<AccountId, ReportsError> {
    let Some(report) = report else { return Err(ReportsError::Invalid("no report named".into())) };
    match book.reports.get(&report) {
        Some(record) if record.case == case.id => Ok(record.reporter),
        _ => Err(ReportsError::Invalid("the report named is not one of this case".into())),
    }
}

/// A report `reporter` filed in `case`, the one a mute or unmute names.
fn report_by(book: &Book, reporter: &AccountId, case: Sha256Hash) -> Result<Sha256Hash, ReportsError> {
    book.reports
        .values()
        .filter(|r| r.case == case && r.reporter == *reporter)
        .map(|r| r.id)
        .min()
        .ok_or_else(|| ReportsError::Invalid("the account reported nothing in this case".into()))
}

/// The operator assigns a case (to nobody with `None`); the node signs it.
pub async fn assign_as_node(
    state: &Arc<Core>,
    case: Sha256Hash,
    assignee: Option<AccountId>,
) -> Result<ActionReceipt, ReportsError> {
    let action = ModAction { assignee, ..node_action(state, case, Verdict::Assign, None) };
    let action = Verified::sign(action, &state.node_key).map_err(ReportsError::Action)?;
    let mut book = state.reports.book.lock().await;
    apply(state, &mut book, action, None).await
}

/// The operator mutes a reporter of `case`; the node signs it.
pub async fn mute_as_node(
    state: &Arc<Core>,
    reporter: AccountId,
    case: Sha256Hash,
    reason: Option<Reason>,
) -> Result<Vec<MuteEntry>, ReportsError> {
    let mut book = state.reports.book.lock().await;
    let report = report_by(&book, &reporter, case)?;
    let action = ModAction { report: Some(report), ..node_action(state, case, Verdict::Mute, reason) };
    let action = Verified::sign(action, &state.node_key).map_err(ReportsError::Action)?;
    apply(state, &mut book, action, None).await?;
    Ok(entries(&book))
}

/// The operator lifts a reporter's mute; the node signs it.
pub async fn unmute_as_node(
    state: &Arc<Core>,
    reporter: AccountId,
    reason: Option<Reason>,
) -> Result<Vec<MuteEntry>, ReportsError> {
    let mut book = state.reports.book.lock().await;
    let case = book.mutes.get(&reporter).map(|m| m.case).ok_or(ReportsError::NotMuted)?;
    let report = report_by(&book, &reporter, case)?;
    let action = ModAction { report: Some(report), ..node_action(state, case, Verdict::Unmute, reason) };
    let action = Verified::sign(action, &state.node_key).map_err(ReportsError::Action)?;
    apply(state, &mut book, action, None).await?;
    Ok(entries(&book))
}

fn entries(book: &Book) -> Vec<MuteEntry> {
    let mut muted: Vec<MuteEntry> = book
        .mutes
        .values()
        .map(|m| MuteEntry {
            account: m.account,
            case: m.case,
            reason: m.reason.clone(),
            by: m.by,
            since: m.since,
            index: m.index,
            kept_out: m.kept_out,
        })
        .collect();
    muted.sort_by(|a, b| a.since.cmp(&b.since).then(a.account.cmp(&b.account)));
    muted
}

/// The muted reporters, longest muted first.
pub async fn muted(state: &Core) -> Vec<MuteEntry> {
    entries(&*state.reports.book.lock().await)
}

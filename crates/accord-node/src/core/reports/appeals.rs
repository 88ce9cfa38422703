//! Appeals (spec/reports.md §15): the accused answers a decision with a
//! signed appeal through its home node, which forwards it to the deciding
//! node when that is another; the deciding node records it in its audit
//! log, and a moderator other than the one who decided upholds or
//! overturns the decision. Overturning removes the list entries the
//! decision wrote.

use super::actions::{append_work, node_action, signer};
use super::{Book, ModeratorView, ReportsError, action_view, in_scope};
use crate::core::Core;
use accord_api::moderation::ActionReceipt;
use accord_api::reports::Outcome;
use accord_api::teams::{AppealFilter, AppealState, AppealStatus};
use accord_proto::appeal::AppealBody;
use accord_proto::audit::{ModAction, Verdict};
use accord_proto::text::Reason;
use accord_proto::{AccountId, NodeId, Sha256Hash, SignedBytes, Timestamp, Unverified, Verified};
use accord_store::{AppealRecord, AuditWork, Forward, ForwardState, ReportSource};
use std::sync::Arc;

fn verify(raw: SignedBytes) -> Result<Verified<AppealBody>, ReportsError> {
    Unverified::<AppealBody>::from_raw(raw).verify().map_err(ReportsError::Action)
}

/// An account of this node appeals a decision against it
/// (`POST /v1/appeals`): taken here when this node decided, else kept and
/// forwarded to the deciding node. The appeal's signature authenticates
/// it, so that an account blocked here (which has no session) can appeal.
pub async fn file(state: &Arc<Core>, raw: SignedBytes) -> Result<AppealStatus, ReportsError> {
    // The limit comes first, on the account the body names: verifying
    // costs a signature check.
    let claimed = serde_json::from_slice::<AppealBody>(&raw.body).map(|a| a.account).ok();
    if let Some(account) = claimed {
        state.limits.report(&account).map_err(ReportsError::RateLimited)?;
    }
    let appeal = verify(raw)?;
    let account = appeal.account;
    if state.home_of(&account) != Some(state.node_id) {
        return Err(ReportsError::NotHome);
    }
    if appeal.node == state.node_id {
        let id = take(state, appeal, ReportSource::Local).await?;
        return status(state, &id).await.ok_or(ReportsError::UnknownAppeal);
    }
    let id = appeal.body_hash();
    let mut book = state.reports.book.lock().await;
    if let Some(record) = book.appeals.get(&id) {
        return Ok(view(&book, record));
    }
    let record = AppealRecord {
        id,
        appeal: appeal.raw().clone(),
        account,
        node: appeal.node,
        case: appeal.case,
        decision: appeal.decision,
        received: Timestamp::now(),
        from: ReportSource::Local,
        forward: Some(Forward { node: appeal.node, state: ForwardState::Pending, code: None }),
        state: AppealState::Open,
        decided: None,
        resolution: None,
        outcome: None,
        outcome_sent: false,
    };
    state.store.put_appeal(&record).await?;
    tracing::info!(appeal = %id, node = %appeal.node, "appeal queued for the deciding node");
    let answer = view(&book, &record);
    book.appeals.insert(id, record);
    drop(book);
    state.reports.wake.notify_one();
    Ok(answer)
}

/// Takes an appeal a peer forwarded (the appellant's home node).
pub async fn receive(state: &Arc<Core>, peer: NodeId, raw: SignedBytes) -> Result<Sha256Hash, ReportsError> {
    if state.config.reports.refuse_from.contains(&peer) {
        return Err(ReportsError::Refused("refused", "this node does not take appeals from yours".into()));
    }
    if !state.limits.peer_report(&peer) {
        return Err(ReportsError::Refused("busy", "too many appeals from your node; retry later".into()));
    }
    let appeal = verify(raw)?;
    take(state, appeal, ReportSource::Peer(peer)).await
}

/// Checks an appeal of one of this node's decisions and records it in the
/// audit log (an `appeal` action signed by the node).
async fn take(state: &Arc<Core>, appeal: Verified<AppealBody>, from: ReportSource) -> Result<Sha256Hash, ReportsError> {
    let id = appeal.body_hash();
    if appeal.node != state.node_id {
        return Err(ReportsError::Invalid("the appeal names another node".into()));
    }
    let mut book = state.reports.book.lock().await;
    if book.appeals.get(&id).is_some_and(|a| a.decided.is_some()) {
        return Ok(id);
    }
    let case = book.cases.get(&appeal.case).cloned().ok_or(ReportsError::UnknownCase)?;
    let resolution =
        case.resolution.clone().ok_or_else(|| ReportsError::UnknownDecision("the case is not decided".into()))?;
    let decision = usize::try_from(resolution.index).ok().and_then(|i| book.actions.get(i)).and_then(|raw| {
        serde_json::from_slice::<ModAction>(&raw.body).ok().map(|a| (Sha256Hash::digest(&raw.body), a))
    });
    let Some((hash, decision)) = decision else {
        return Err(ReportsError::UnknownDecision("the decision is not in the audit log".into()));
    };
    if hash != appeal.decision {
        return Err(ReportsError::UnknownDecision("the case was decided by another action".into()));
    }
    if !decision.action.is_appealable() {
        return Err(ReportsError::UnknownDecision(format!("a `{}` is not against the accused", decision.action)));
    }
    if !case.accused.contains(&appeal.account) {
        return Err(ReportsError::NotAccused);
    }
    if let Some(other) = book.appeals.values().find(|a| a.decided.is_some() && a.decision == appeal.decision) {
        return Err(ReportsError::AppealResolved(format!("this decision was appealed already (appeal {})", other.id)));
    }
    let action = ModAction { appeal: Some(id), ..node_action(state, case.id, Verdict::Appeal, None) };
    let action = Verified::sign(action, &state.node_key).map_err(ReportsError::Action)?;
    let record = AppealRecord {
        id,
        appeal: appeal.raw().clone(),
        account: appeal.account,
        node: appeal.node,
        case: case.id,
        decision: appeal.decision,
        received: Timestamp::now(),
        from,
        forward: None,
        state: AppealState::Open,
        decided: Some((resolution.index, decision.moderator)),
        resolution: None,
        outcome: None,
        outcome_sent: false,
    };
    append_work(state, &mut book, &action, AuditWork { appeal: Some(&record), ..Default::default() }).await?;
    tracing::info!(appeal = %id, case = %case.id, "appeal received");
    book.appeals.insert(id, record);
    Ok(id)
}

/// Carries out an `uphold` or `overturn` of an appeal held here, signed by
/// `mover` (or by the node when `None`), who did not take the decision.
pub(crate) async fn resolve(
    state: &Arc<Core>,
    book: &mut Book,
    action: Verified<ModAction>,
    mover: Option<&ModeratorView>,
) -> Result<ActionReceipt, ReportsError> {
    let id = action.appeal.ok_or(ReportsError::UnknownAppeal)?;
    let mut record =
        book.appeals.get(&id).filter(|a| a.decided.is_some()).cloned().ok_or(ReportsError::UnknownAppeal)?;
    if record.case != action.case {
        return Err(ReportsError::Invalid("the appeal is about another case".into()));
    }
    if record.state != AppealState::Open {
        return Err(ReportsError::AppealResolved("the appeal is resolved already".into()));
    }
    let Some((_, decider)) = record.decided else { return Err(ReportsError::UnknownAppeal) };
    if action.moderator == decider {
        return Err(ReportsError::SameModerator);
    }
    let mut case = book.cases.get(&record.case).cloned().ok_or(ReportsError::UnknownCase)?;
    if !in_scope(book, &case, mover) {
        return Err(ReportsError::OutOfScope);
    }
    let mut written = Vec::new();
    if action.action == Verdict::Overturn {
        let Some(resolution) = case.resolution.as_mut() else { return Err(ReportsError::UnknownCase) };
        written.extend(super::actions::remove_entries(state, &resolution.entries, &action).await?);
        resolution.overturned = Some(book.tree.size());
        record.state = AppealState::Overturned;
    } else {
        record.state = AppealState::Upheld;
    }
    record.resolution = Some(book.tree.size());
    record.outcome = Some(action.raw().clone());
    let work = AuditWork { case: Some(&case), appeal: Some(&record), ..Default::default() };
    let index = append_work(state, book, &action, work).await?;
    tracing::info!(appeal = %id, case = %case.id, action = %action.action, "appeal resolved");
    book.cases.insert(case.id, case);
    book.appeals.insert(id, record);
    // The forwarder tells the home node that forwarded it.
    state.reports.wake.notify_one();
    Ok(ActionReceipt { index, entries: written })
}

/// The operator upholds or overturns an appealed decision; the node signs
/// it (refused with `same_moderator` when the operator took the decision).
pub async fn resolve_as_node(
    state: &Arc<Core>,
    appeal: Sha256Hash,
    verdict: Verdict,
    reason: Option<Reason>,
) -> Result<ActionReceipt, ReportsError> {
    if !matches!(verdict, Verdict::Uphold | Verdict::Overturn) {
        return Err(ReportsError::Invalid("an appeal is resolved with `uphold` or `overturn`".into()));
    }
    let mut book = state.reports.book.lock().await;
    let case = book.appeals.get(&appeal).map(|a| a.case).ok_or(ReportsError::UnknownAppeal)?;
    let action = ModAction { appeal: Some(appeal), ..node_action(state, case, verdict, reason) };
    let action = Verified::sign(action, &state.node_key).map_err(ReportsError::Action)?;
    let mover = signer(state, &action)?;
    resolve(state, &mut book, action, mover.as_ref()).await
}

fn view(book: &Book, record: &AppealRecord) -> AppealStatus {
    let reason = serde_json::from_slice::<AppealBody>(&record.appeal.body)
        .map(|a| a.reason.as_str().to_owned())
        .unwrap_or_default();
    AppealStatus {
        id: record.id,
        account: record.account,
        node: record.node,
        case: record.case,
        decision: record.decision,
        reason,
        received: record.received,
        from: match record.from {
            ReportSource::Local => accord_api::moderation::ReportSource::Local,
            ReportSource::Peer(node) => accord_api::moderation::ReportSource::Node(node),
        },
        forward: record.forward.clone(),
        state: record.state,
        decided_by: record.decided.map(|(_, by)| by),
        resolution: record.resolution.and_then(|i| action_view(book, i)),
        // Outcomes are verified before they are stored: read, not verified again.
        outcome: record.outcome.as_ref().and_then(|raw| {
            let action: ModAction = serde_json::from_slice(&raw.body).ok()?;
            Some(Outcome::describe(&action, raw.clone()))
        }),
        appeal: record.appeal.clone(),
    }
}

/// The deciding node tells this node what became of an appeal it forwarded there.
pub async fn on_outcome(state: &Core, peer: NodeId, raw: SignedBytes) -> Result<(), ReportsError> {
    let action = Unverified::<ModAction>::from_raw(raw).verify().map_err(ReportsError::Action)?;
    if action.node != peer {
        return Err(ReportsError::Invalid("the action names another node than the sender".into()));
    }
    let state_after = match action.action {
        Verdict::Uphold => AppealState::Upheld,
        Verdict::Overturn => AppealState::Overturned,
        other => return Err(ReportsError::Invalid(format!("`{other}` does not resolve an appeal"))),
    };
    let id = action.appeal.ok_or(ReportsError::UnknownAppeal)?;
    let mut book = state.reports.book.lock().await;
    let Some(record) = book.appeals.get(&id).filter(|a| a.node == peer && a.forward.is_some()) else {
        return Err(ReportsError::UnknownAppeal);
    };
    if record.outcome.is_some() {
        return Ok(());
    }
    let mut record = record.clone();
    record.state = state_after;
    record.outcome = Some(action.raw().clone());
    state.store.put_appeal(&record).await?;
    tracing::info!(appeal = %id, %peer, action = %action.action, "appeal outcome received");
    book.appeals.insert(id, record);
    Ok(())
}

/// One appeal held here.
pub async fn status(state: &Core, id: &Sha256Hash) -> Option<AppealStatus> {
    let book = state.reports.book.lock().await;
    book.appeals.get(id).map(|r| view(&book, r))
}

/// The appeals of `account` filed at this node, oldest first.
pub async fn mine(state: &Core, account: &AccountId) -> Vec<AppealStatus> {
    let book = state.reports.book.lock().await;
    let mut out: Vec<_> = book
        .appeals
        .values()
        .filter(|a| a.account == *account && a.from == ReportSource::Local)
        .map(|a| view(&book, a))
        .collect();
    out.sort_by(|a, b| a.received.cmp(&b.received).then(a.id.cmp(&b.id)));
    out
}

/// The appeals of this node's decisions, oldest first, within `viewer`'s
/// categories (all for the operator, `None`).
pub async fn queue(state: &Core, filter: AppealFilter, viewer: Option<&ModeratorView>) -> Vec<AppealStatus> {
    let book = state.reports.book.lock().await;
    let mut out: Vec<_> = book
        .appeals
        .values()
        .filter(|a| a.decided.is_some())
        .filter(|a| filter == AppealFilter::All || a.state == AppealState::Open)
        .filter(|a| book.cases.get(&a.case).is_some_and(|c| in_scope(&book, c, viewer)))
        .map(|a| view(&book, a))
        .collect();
    out.sort_by(|a, b| a.received.cmp(&b.received).then(a.id.cmp(&b.id)));
    out
}

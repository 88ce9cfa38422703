//! Delivery of reports (and appeals) to other nodes, and of outcomes back to the nodes
//! that forwarded reports here (spec/reports.md §7). Both are read from the
//! store's records, so they resume after a restart; each (report, node)
//! pair backs off from 1 s to 60 s while it fails.

use crate::core::Core;
use crate::network;
use accord_proto::federation::{FedRequest, FedResponse, MAX_OUTCOME_REPORTS};
use accord_proto::{NodeId, Sha256Hash, SignedBytes};
use accord_store::{ForwardState, ReportSource};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often pending deliveries are looked at without a wake-up.
const TICK: Duration = Duration::from_secs(2);
/// Longest pause between two attempts of one delivery.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Codes after which a delivery is tried again.
fn is_transient(code: &str) -> bool {
    matches!(code, "busy" | "internal" | "unreachable")
}

/// One delivery to make.
enum Work {
    Report { id: Sha256Hash, node: NodeId, report: SignedBytes },
    Appeal { id: Sha256Hash, node: NodeId, appeal: SignedBytes },
    AppealOutcome { id: Sha256Hash, node: NodeId, action: SignedBytes },
    Outcome { node: NodeId, action: SignedBytes, reports: Vec<Sha256Hash> },
}

impl Work {
    fn key(&self) -> (NodeId, Sha256Hash) {
        match self {
            Work::Report { id, node, .. } | Work::Appeal { id, node, .. } | Work::AppealOutcome { id, node, .. } => {
                (*node, *id)
            }
            Work::Outcome { node, reports, .. } => (*node, reports.first().copied().unwrap_or(Sha256Hash([0; 32]))),
        }
    }
}

/// Runs deliveries until the node shuts down.
pub(crate) fn spawn(state: Arc<Core>) {
    state.tasks.clone().spawn(async move {
        let mut backoff: HashMap<(NodeId, Sha256Hash), (Duration, Instant)> = HashMap::new();
        loop {
            tokio::select! {
                () = state.reports.wake.notified() => {}
                () = tokio::time::sleep(TICK) => {}
                () = state.tasks.shutdown().cancelled() => break,
            }
            let reconnected = std::mem::take(&mut *state.reports.connected.lock().unwrap_or_else(|p| p.into_inner()));
            backoff.retain(|(node, _), _| !reconnected.contains(node));
            let now = Instant::now();
            let work: Vec<Work> = pending(&state)
                .await
                .into_iter()
                .filter(|w| backoff.get(&w.key()).is_none_or(|(_, at)| *at <= now))
                .collect();
            let mut tasks = tokio::task::JoinSet::new();
            for work in work {
                let state = state.clone();
                tasks.spawn(async move {
                    let key = work.key();
                    (key, deliver(&state, work).await)
                });
            }
            while let Some(Ok((key, delivered))) = tasks.join_next().await {
                if delivered {
                    backoff.remove(&key);
                } else {
                    let pause = backoff.get(&key).map_or(Duration::from_secs(1), |(p, _)| (*p * 2).min(MAX_BACKOFF));
                    backoff.insert(key, (pause, Instant::now() + pause));
                }
            }
        }
    });
}

/// Deliveries not made yet.
async fn pending(state: &Core) -> Vec<Work> {
    let book = state.reports.book.lock().await;
    let mut work = Vec::new();
    let mut outcomes: BTreeMap<(NodeId, Sha256Hash), (SignedBytes, Vec<Sha256Hash>)> = BTreeMap::new();
    for record in book.reports.values() {
        for forward in record.forwards.iter().filter(|f| f.state == ForwardState::Pending) {
            work.push(Work::Report { id: record.id, node: forward.node, report: record.report.clone() });
        }
        if let (ReportSource::Peer(node), Some(action), false) = (record.from, &record.outcome, record.outcome_sent) {
            let group =
                outcomes.entry((node, Sha256Hash::digest(&action.body))).or_insert_with(|| (action.clone(), vec![]));
            group.1.push(record.id);
        }
    }
    for appeal in book.appeals.values() {
        if let Some(forward) = appeal.forward.as_ref().filter(|f| f.state == ForwardState::Pending) {
            work.push(Work::Appeal { id: appeal.id, node: forward.node, appeal: appeal.appeal.clone() });
        }
        if let (ReportSource::Peer(node), Some(action), false) = (appeal.from, &appeal.outcome, appeal.outcome_sent) {
            work.push(Work::AppealOutcome { id: appeal.id, node, action: action.clone() });
        }
    }
    for ((node, _), (action, mut reports)) in outcomes {
        reports.sort();
        for chunk in reports.chunks(MAX_OUTCOME_REPORTS) {
            work.push(Work::Outcome { node, action: action.clone(), reports: chunk.to_vec() });
        }
    }
    work
}

/// Sends `request` to `node`; what became of the forward (`queued` tells
/// the answer that takes it) and the refusal's code.
async fn hand_over(
    state: &Core,
    node: NodeId,
    request: FedRequest,
    queued: fn(&FedResponse) -> bool,
) -> (ForwardState, Option<String>) {
    match state.network.request(network::peer_id(&node), request).await {
        Ok(answer) if queued(&answer) => (ForwardState::Delivered, None),
        Ok(FedResponse::Error { code, .. }) if is_transient(&code) => (ForwardState::Pending, Some(code)),
        Ok(FedResponse::Error { code, .. }) => (ForwardState::Refused, Some(code)),
        Ok(_) => (ForwardState::Refused, Some("unexpected_answer".to_string())),
        Err(_) => (ForwardState::Pending, Some("unreachable".to_string())),
    }
}

/// Sends an outcome to `node`; true when it needs no resending (noted, or
/// refused for good).
async fn tell(state: &Core, node: NodeId, request: FedRequest) -> bool {
    match state.network.request(network::peer_id(&node), request).await {
        Ok(FedResponse::Error { code, .. }) => !is_transient(&code),
        Ok(_) => true,
        Err(_) => false,
    }
}

/// Makes one delivery and records its result; true when done for good.
async fn deliver(state: &Core, work: Work) -> bool {
    match work {
        Work::Report { id, node, report } => {
            let request = FedRequest::Report { report: Box::new(report) };
            let (next, code) = hand_over(state, node, request, |r| matches!(r, FedResponse::ReportQueued { .. })).await;
            tracing::debug!(report = %id, %node, ?next, ?code, "report forward");
            let mut book = state.reports.book.lock().await;
            let Some(record) = book.reports.get(&id) else { return true };
            let mut record = record.clone();
            for forward in record.forwards.iter_mut().filter(|f| f.node == node) {
                forward.state = next;
                forward.code = code.clone();
            }
            if let Err(e) = state.store.put_reports(&[&record], &[]).await {
                tracing::error!("recording a report forward: {e}");
                return false;
            }
            book.reports.insert(id, record);
            next != ForwardState::Pending
        }
        Work::Appeal { id, node, appeal } => {
            let request = FedRequest::Appeal { appeal: Box::new(appeal) };
            let (next, code) = hand_over(state, node, request, |r| matches!(r, FedResponse::AppealQueued { .. })).await;
            tracing::debug!(appeal = %id, %node, ?next, ?code, "appeal forward");
            let mut book = state.reports.book.lock().await;
            let Some(record) = book.appeals.get(&id) else { return true };
            let mut record = record.clone();
            record.forward = Some(accord_store::Forward { node, state: next, code });
            if let Err(e) = state.store.put_appeal(&record).await {
                tracing::error!("recording an appeal forward: {e}");
                return false;
            }
            book.appeals.insert(id, record);
            next != ForwardState::Pending
        }
        Work::AppealOutcome { id, node, action } => {
            let request = FedRequest::AppealOutcome { action: Box::new(action) };
            if !tell(state, node, request).await {
                return false;
            }
            let mut book = state.reports.book.lock().await;
            let Some(record) = book.appeals.get(&id) else { return true };
            let mut record = record.clone();
            record.outcome_sent = true;
            if let Err(e) = state.store.put_appeal(&record).await {
                tracing::error!("recording an appeal outcome delivery: {e}");
                return false;
            }
            book.appeals.insert(id, record);
            true
        }
        Work::Outcome { node, action, reports } => {
            let request = FedRequest::ReportOutcome { action: Box::new(action), reports: reports.clone() };
            if !tell(state, node, request).await {
                return false;
            }
            let mut book = state.reports.book.lock().await;
            let changed: Vec<_> = reports
                .iter()
                .filter_map(|id| book.reports.get(id).cloned())
                .map(|mut r| {
                    r.outcome_sent = true;
                    r
                })
                .collect();
            if let Err(e) = state.store.put_reports(&changed.iter().collect::<Vec<_>>(), &[]).await {
                tracing::error!("recording a report outcome delivery: {e}");
                return false;
            }
            for record in changed {
                book.reports.insert(record.id, record);
            }
            true
        }
    }
}

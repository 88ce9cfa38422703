//! Reports and moderation (spec/reports.md §7–§13): users' signed reports,
//! the cases they merge into, the moderator queue, moderators' signed
//! actions and the audit log that holds them.
//!
//! Every report is verified before it is stored, whoever gave it to this
//! node; every action is signed by the moderator who took it (or by the
//! node, for its operator and its automatic measures) and is appended to
//! the audit log in the same store write as the case it settles. Blocking
//! only ever follows from an action: reports alone write no `reject` entry.
//! All reports and cases are held in memory behind one lock (they are few
//! next to messages) and written through to the store.

pub mod actions;
pub mod appeals;
pub(crate) mod forward;
pub mod teams;

use crate::config::ReportsSection;
use crate::core::Core;
use crate::core::lists::ListError;
use accord_proto::audit::{AuditError, AuditHead, AuditLog, ModAction, audit_tree};
use accord_proto::blocklist::entry::Category;
use accord_proto::blocklist::merkle::MerkleLog;
use accord_proto::event::Event;
use accord_proto::report::{Report, ReportBody, ReportError};
use accord_proto::{AccountId, EnvelopeError, EventId, NodeId, Sha256Hash, SignedBytes, Timestamp};
use accord_proto::{Unverified, Verified};
use accord_store::{
    AppealRecord, CaseRecord, Forward, ForwardState, ModeratorRecord, ModeratorRole, MuteRecord, ReportRecord,
    ReportSource, Store, StoreError,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, RwLock};

/// Why a report or a moderation request was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportsError {
    /// The report does not verify (spec/reports.md §5).
    #[error("{0}")]
    Report(#[from] ReportError),
    /// The session's account is not the report's reporter.
    #[error("the report is signed by another account than the session's")]
    NotReporter,
    /// The reporter has filed too many reports; retry after the delay (ms).
    #[error("too many reports")]
    RateLimited(u64),
    /// The account is not a moderator of this node.
    #[error("only moderators of this node may do that")]
    NotModerator,
    /// The case is outside the moderator's categories.
    #[error("this case is outside your categories")]
    OutOfScope,
    /// The moderator who took a decision tried to resolve its appeal.
    #[error("the moderator who took the decision may not resolve its appeal")]
    SameModerator,
    /// The appealing account is not accused in the case.
    #[error("the appealing account is not accused in this case")]
    NotAccused,
    /// The appealing account is not registered on this node (its home).
    #[error("appeals are filed at the account's home node")]
    NotHome,
    /// No such appeal.
    #[error("no such appeal")]
    UnknownAppeal,
    /// The appeal names no appealable decision of this node.
    #[error("no such decision against the account in this case: {0}")]
    UnknownDecision(String),
    /// The appeal is resolved already, or the decision appealed already.
    #[error("{0}")]
    AppealResolved(String),
    /// The reporter is not muted.
    #[error("that reporter is not muted")]
    NotMuted,
    /// No such case.
    #[error("no such case")]
    UnknownCase,
    /// The case is resolved already.
    #[error("the case is already resolved")]
    Resolved,
    /// The action names a list this node does not issue.
    #[error("no such list issued by this node")]
    UnknownList,
    /// The request is not valid (see the message).
    #[error("{0}")]
    Invalid(String),
    /// The action's envelope was refused.
    #[error("action: {0}")]
    Action(EnvelopeError),
    /// The stored audit log does not verify: nothing more is appended.
    #[error("the audit log does not verify: {0}")]
    AuditTampered(AuditError),
    /// A forwarded report was refused by this node's policy (`refused`) or
    /// rate (`busy`).
    #[error("{1}")]
    Refused(&'static str, String),
    /// Writing list entries failed.
    #[error(transparent)]
    List(#[from] ListError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ReportsError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ReportsError::Report(e) => e.code(),
            ReportsError::NotReporter => "not_reporter",
            ReportsError::RateLimited(_) => "rate_limited",
            ReportsError::NotModerator => "not_moderator",
            ReportsError::OutOfScope => "out_of_scope",
            ReportsError::SameModerator => "same_moderator",
            ReportsError::NotAccused => "not_accused",
            ReportsError::NotHome => "not_registered",
            ReportsError::UnknownAppeal => "unknown_appeal",
            ReportsError::UnknownDecision(_) => "unknown_decision",
            ReportsError::AppealResolved(_) => "appeal_resolved",
            ReportsError::NotMuted => "not_muted",
            ReportsError::UnknownCase => "unknown_case",
            ReportsError::Resolved => "resolved",
            ReportsError::UnknownList => "unknown_list",
            ReportsError::Invalid(_) => "invalid",
            ReportsError::Action(e) => e.code(),
            ReportsError::AuditTampered(_) => "audit_tampered",
            ReportsError::Refused(code, _) => code,
            ReportsError::List(e) => e.code(),
            ReportsError::Store(_) => "internal",
        }
    }
}

pub use accord_api::moderation::{CaseFilter, CaseSource, SourceFilter};

pub use accord_api::moderation::{CaseDetail, CaseReport, CaseSummary, Resolution};
pub use accord_api::reports::{CaseState, Outcome, ReportStatus};

pub use accord_api::admin::{ModeratorEntry as ModeratorView, ModeratorSource};

/// Reports, cases and the audit log, in memory and written through.
pub(crate) struct Book {
    pub(crate) reports: HashMap<Sha256Hash, ReportRecord>,
    pub(crate) cases: HashMap<Sha256Hash, CaseRecord>,
    /// The audit log's actions, in order.
    pub(crate) actions: Vec<SignedBytes>,
    pub(crate) tree: MerkleLog,
    /// Why the stored log does not verify, if it does not.
    pub(crate) broken: Option<AuditError>,
    /// Muted reporters.
    pub(crate) mutes: HashMap<AccountId, MuteRecord>,
    /// Appeals: received here, or forwarded by this node to a deciding node.
    pub(crate) appeals: HashMap<Sha256Hash, AppealRecord>,
}

/// This node's reports service.
pub struct Reports {
    pub(crate) book: tokio::sync::Mutex<Book>,
    moderators: RwLock<BTreeMap<AccountId, ModeratorView>>,
    /// Wakes the forwarder.
    pub(crate) wake: tokio::sync::Notify,
    /// Peers connected since the forwarder last looked: their deliveries
    /// are tried again at once.
    pub(crate) connected: std::sync::Mutex<Vec<NodeId>>,
}

/// Severity rank of a category: 0 is the most severe.
pub(crate) fn severity(category: Category) -> usize {
    Category::ALL.iter().position(|c| *c == category).unwrap_or(Category::ALL.len())
}

/// Verifies a stored audit log against its stored head.
fn check_log(head: Option<&SignedBytes>, actions: &[SignedBytes]) -> Result<(), AuditError> {
    match head {
        Some(head) => AuditLog { head: head.clone(), actions: actions.to_vec() }.verify().map(|_| ()),
        None if actions.is_empty() => Ok(()),
        None => Err(AuditError::Head(EnvelopeError::Malformed("the audit head is missing".into()))),
    }
}

impl Reports {
    /// Loads reports, cases, the audit log and moderators from the store,
    /// and checks the audit log against its signed head.
    pub fn load(store: &Store, config: &ReportsSection) -> Result<Reports, StoreError> {
        let reports = store.reports()?.into_iter().map(|r| (r.id, r)).collect();
        let cases = store.cases()?.into_iter().map(|c| (c.id, c)).collect();
        let (actions, broken) = match store.audit_actions() {
            Ok(actions) => {
                let broken = check_log(store.audit_head()?.as_ref(), &actions).err();
                (actions, broken)
            }
            Err(e) => (vec![], Some(AuditError::Head(EnvelopeError::Malformed(e.to_string())))),
        };
        if let Some(e) = &broken {
            tracing::error!("the stored audit log does not verify ({e}): moderation actions are refused");
        }
        let tree = audit_tree(&actions);
        let now = Timestamp::now();
        let mut moderators: BTreeMap<_, _> = config
            .moderators
            .iter()
            .map(|a| {
                let view = ModeratorView {
                    account: *a,
                    since: now,
                    source: ModeratorSource::Config,
                    role: ModeratorRole::Moderator,
                    categories: vec![],
                };
                (*a, view)
            })
            .collect();
        for ModeratorRecord { account, since, role, categories } in store.moderators()? {
            // A configured moderator keeps its source; the operator may
            // have given it a role and scope.
            let view = moderators.entry(account).or_insert(ModeratorView {
                account,
                since,
                source: ModeratorSource::Admin,
                role,
                categories: vec![],
            });
            view.role = role;
            view.categories = categories;
        }
        let mutes = store.mutes()?.into_iter().map(|m| (m.account, m)).collect();
        let appeals = store.appeals()?.into_iter().map(|a| (a.id, a)).collect();
        Ok(Reports {
            book: tokio::sync::Mutex::new(Book { reports, cases, actions, tree, broken, mutes, appeals }),
            moderators: RwLock::new(moderators),
            wake: tokio::sync::Notify::new(),
            connected: std::sync::Mutex::default(),
        })
    }

    /// Whether an account moderates this node.
    pub fn is_moderator(&self, account: &AccountId) -> bool {
        self.moderators.read().unwrap_or_else(|p| p.into_inner()).contains_key(account)
    }

    /// A moderator account with its role and scope.
    pub fn moderator(&self, account: &AccountId) -> Option<ModeratorView> {
        self.moderators.read().unwrap_or_else(|p| p.into_inner()).get(account).cloned()
    }

    /// The moderator accounts.
    pub fn moderators(&self) -> Vec<ModeratorView> {
        self.moderators.read().unwrap_or_else(|p| p.into_inner()).values().cloned().collect()
    }

    /// Adds a moderator account, or gives one its new role and scope (an
    /// admin is never scoped).
    pub async fn add_moderator(
        &self,
        store: &Store,
        account: AccountId,
        role: ModeratorRole,
        mut categories: Vec<Category>,
    ) -> Result<(), StoreError> {
        if role == ModeratorRole::Admin {
            categories.clear();
        }
        categories.sort_by_key(|c| severity(*c));
        categories.dedup();
        let current = self.moderator(&account);
        let since = current.as_ref().map_or_else(Timestamp::now, |m| m.since);
        store.put_moderator(&ModeratorRecord { account, since, role, categories: categories.clone() }).await?;
        let source = current.map_or(ModeratorSource::Admin, |m| m.source);
        self.moderators
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(account, ModeratorView { account, since, source, role, categories });
        Ok(())
    }

    /// Removes a moderator account added through the admin endpoint.
    pub async fn remove_moderator(&self, store: &Store, account: &AccountId) -> Result<bool, ReportsError> {
        let source = self.moderators.read().unwrap_or_else(|p| p.into_inner()).get(account).map(|m| m.source);
        match source {
            None => Ok(false),
            Some(ModeratorSource::Config) => Err(ReportsError::Invalid(
                "this moderator is in the configuration (reports.moderators): remove it there".into(),
            )),
            Some(ModeratorSource::Admin) => {
                store.delete_moderator(account).await?;
                self.moderators.write().unwrap_or_else(|p| p.into_inner()).remove(account);
                Ok(true)
            }
        }
    }

    /// A peer connected: deliveries to it waiting out a backoff are tried
    /// now.
    pub fn peer_connected(&self, node: NodeId) {
        self.connected.lock().unwrap_or_else(|p| p.into_inner()).push(node);
        self.wake.notify_one();
    }

    /// What this node keeps about `account` when it is deleted: the
    /// reports it filed, the open cases accusing it (with their
    /// evidence), and the audit actions that resolved cases accusing it.
    pub async fn kept_about(&self, account: &AccountId) -> (u64, u64, u64) {
        let book = self.book.lock().await;
        let filed = book.reports.values().filter(|r| r.reporter == *account).count() as u64;
        let accusing = book.cases.values().filter(|c| c.accused.contains(account));
        let (open, resolved) = accusing.fold((0, 0), |(o, r), c| match c.resolution {
            None => (o + 1, r),
            Some(_) => (o, r + 1),
        });
        (filed, open, resolved)
    }

    /// Open cases at this node that accuse an account.
    pub async fn open_cases_accusing(&self, account: &AccountId) -> usize {
        let book = self.book.lock().await;
        book.cases.values().filter(|c| c.resolution.is_none() && c.accused.contains(account)).count()
    }
}

/// The nodes a report filed here goes to (spec/reports.md §7).
fn forward_targets(state: &Core, report: &Report) -> Vec<NodeId> {
    let config = &state.config.reports;
    let mut nodes = BTreeSet::new();
    for accused in report.accused() {
        // A node stamps only its own accounts' events: the origin of an
        // evidence event is its author's home.
        let home = report.evidence().iter().find(|e| e.author() == accused).map(Event::origin);
        if let Some(home) = home.or_else(|| state.home_of(&accused)) {
            nodes.insert(home);
        }
    }
    nodes.extend(config.forward_to.iter().copied());
    nodes.into_iter().filter(|n| *n != state.node_id && !config.never_forward_to.contains(n)).collect()
}

/// Files a report made by `reporter`, an account of this node.
pub async fn file(state: &Arc<Core>, reporter: AccountId, raw: SignedBytes) -> Result<ReportStatus, ReportsError> {
    // The limit comes first: verifying a report costs two signature checks
    // per embedded event.
    state.limits.report(&reporter).map_err(ReportsError::RateLimited)?;
    let report = Report::verify(&Unverified::<ReportBody>::from_raw(raw))?;
    if report.body().reporter != reporter {
        return Err(ReportsError::NotReporter);
    }
    let forwards = forward_targets(state, &report)
        .into_iter()
        .map(|node| Forward { node, state: ForwardState::Pending, code: None })
        .collect();
    let id = take(state, report, ReportSource::Local, forwards).await?;
    state.reports.wake.notify_one();
    status(state, &id).await.ok_or(ReportsError::UnknownCase)
}

/// Takes a report forwarded by a peer node.
pub async fn receive(state: &Arc<Core>, peer: NodeId, raw: SignedBytes) -> Result<Sha256Hash, ReportsError> {
    if state.config.reports.refuse_from.contains(&peer) {
        return Err(ReportsError::Refused("refused", "this node does not take reports from yours".into()));
    }
    if !state.limits.peer_report(&peer) {
        return Err(ReportsError::Refused("busy", "too many reports from your node; retry later".into()));
    }
    let report = Report::verify(&Unverified::<ReportBody>::from_raw(raw))?;
    take(state, report, ReportSource::Peer(peer), vec![]).await
}

/// Stores a verified report and puts it in a case; quarantines the case's
/// content when enough trusted reporters reported it.
async fn take(
    state: &Arc<Core>,
    report: Report,
    from: ReportSource,
    forwards: Vec<Forward>,
) -> Result<Sha256Hash, ReportsError> {
    let id = report.id();
    let mut book = state.reports.book.lock().await;
    if book.reports.contains_key(&id) {
        return Ok(id);
    }
    let evidence: BTreeSet<EventId> = report.evidence().iter().map(Event::id).collect();
    let accused: BTreeSet<AccountId> = report.accused().into_iter().collect();
    let body = report.body();
    if let Some(mute) = book.mutes.get(&body.reporter) {
        // A muted reporter's report is kept, counted, and put in no case.
        let mut mute = mute.clone();
        mute.kept_out += 1;
        let record = ReportRecord {
            id,
            case: id,
            report: body.raw().clone(),
            reporter: body.reporter,
            category: body.category,
            accused: accused.into_iter().collect(),
            received: Timestamp::now(),
            from,
            forwards: vec![],
            outcome: None,
            outcome_sent: false,
            muted: true,
        };
        state.store.put_muted_report(&record, &mute).await?;
        tracing::info!(report = %id, reporter = %body.reporter, "report of a muted reporter kept out of the queue");
        book.reports.insert(id, record);
        book.mutes.insert(mute.account, mute);
        return Ok(id);
    }
    let automated = state.config.reports.automated_reporters.contains(&body.reporter);
    let joined = book
        .cases
        .values()
        .filter(|c| c.resolution.is_none() && c.automated == automated)
        .find(|c| {
            if evidence.is_empty() {
                c.evidence.is_empty() && c.accused == accused
            } else {
                !c.evidence.is_disjoint(&evidence)
            }
        })
        .map(|c| c.id);
    let mut case = match joined.and_then(|c| book.cases.get(&c)) {
        Some(case) => case.clone(),
        None => CaseRecord {
            id,
            category: body.category,
            opened: Timestamp::now(),
            reports: vec![],
            reporters: BTreeSet::new(),
            accused: BTreeSet::new(),
            evidence: BTreeSet::new(),
            quarantine: vec![],
            resolution: None,
            automated,
            assigned: None,
        },
    };
    case.reports.push(id);
    case.reporters.insert(body.reporter);
    case.accused.extend(accused.iter().copied());
    case.evidence.extend(evidence);
    if severity(body.category) < severity(case.category) {
        case.category = body.category;
    }
    let record = ReportRecord {
        id,
        case: case.id,
        report: body.raw().clone(),
        reporter: body.reporter,
        category: body.category,
        accused: accused.into_iter().collect(),
        received: Timestamp::now(),
        from,
        forwards,
        outcome: None,
        outcome_sent: false,
        muted: false,
    };
    state.store.put_reports(&[&record], &[&case]).await?;
    tracing::info!(report = %id, case = %case.id, category = %body.category, "report queued");
    state.metrics.reports.inc();
    let case_id = case.id;
    book.reports.insert(id, record);
    book.cases.insert(case_id, case);
    actions::quarantine_if_trusted(state, &mut book, case_id).await;
    Ok(id)
}

fn outcome_view(raw: &SignedBytes) -> Option<Outcome> {
    // Outcomes are verified before they are stored: read, not verified again.
    let action: ModAction = serde_json::from_slice(&raw.body).ok()?;
    Some(Outcome::describe(&action, raw.clone()))
}

fn case_state(resolved: bool) -> CaseState {
    if resolved { CaseState::Resolved } else { CaseState::Open }
}

fn status_of(record: &ReportRecord, case: Option<&CaseRecord>) -> ReportStatus {
    let resolved = record.outcome.is_some() || case.is_some_and(|c| c.resolution.is_some());
    ReportStatus {
        id: record.id,
        case: record.case,
        category: record.category,
        accused: record.accused.clone(),
        received: record.received,
        state: case_state(resolved),
        forwards: record.forwards.clone(),
        outcome: record.outcome.as_ref().and_then(outcome_view),
    }
}

/// One report's status.
pub async fn status(state: &Core, id: &Sha256Hash) -> Option<ReportStatus> {
    let book = state.reports.book.lock().await;
    let record = book.reports.get(id)?;
    Some(status_of(record, book.cases.get(&record.case)))
}

/// For a member's export: the reports `account` filed here, as it signed
/// them, with their status (newest first); and the signed actions that
/// resolved cases accusing it, in audit order.
pub async fn about(state: &Core, account: &AccountId) -> (Vec<(SignedBytes, ReportStatus)>, Vec<SignedBytes>) {
    let book = state.reports.book.lock().await;
    let mut filed: Vec<_> = book
        .reports
        .values()
        .filter(|r| r.reporter == *account && r.from == ReportSource::Local)
        .map(|r| (r.report.clone(), status_of(r, book.cases.get(&r.case))))
        .collect();
    filed.sort_by(|(_, a), (_, b)| b.received.cmp(&a.received).then(a.id.cmp(&b.id)));
    let mut indexes: Vec<u64> = book
        .cases
        .values()
        .filter(|c| c.accused.contains(account))
        .filter_map(|c| c.resolution.as_ref().map(|r| r.index))
        .collect();
    indexes.sort_unstable();
    let decisions = indexes.into_iter().filter_map(|i| book.actions.get(usize::try_from(i).ok()?).cloned()).collect();
    (filed, decisions)
}

/// The reports an account of this node filed, newest first.
pub async fn statuses(state: &Core, reporter: &AccountId) -> Vec<ReportStatus> {
    let book = state.reports.book.lock().await;
    let mut out: Vec<_> = book
        .reports
        .values()
        .filter(|r| r.reporter == *reporter && r.from == ReportSource::Local)
        .map(|r| status_of(r, book.cases.get(&r.case)))
        .collect();
    out.sort_by(|a, b| b.received.cmp(&a.received).then(a.id.cmp(&b.id)));
    out
}

pub(crate) fn action_view(book: &Book, index: u64) -> Option<Resolution> {
    let raw = book.actions.get(usize::try_from(index).ok()?)?;
    let action: ModAction = serde_json::from_slice(&raw.body).ok()?;
    Some(Resolution::describe(index, &action))
}

/// The categories of a case's reports (its own, the most severe, first).
pub(crate) fn case_categories(book: &Book, case: &CaseRecord) -> Vec<Category> {
    let mut categories = vec![case.category];
    for record in case.reports.iter().filter_map(|id| book.reports.get(id)) {
        if !categories.contains(&record.category) {
            categories.push(record.category);
        }
    }
    categories
}

/// Whether `viewer` (a moderator account, or the operator when `None`) may
/// see and act on the case.
pub(crate) fn in_scope(book: &Book, case: &CaseRecord, viewer: Option<&ModeratorView>) -> bool {
    viewer.is_none_or(|m| m.covers(&case_categories(book, case)))
}

fn summary(book: &Book, case: &CaseRecord) -> CaseSummary {
    CaseSummary {
        id: case.id,
        category: case.category,
        state: case_state(case.resolution.is_some()),
        opened: case.opened,
        reports: case.reports.len() as u64,
        reporters: case.reporters.len() as u64,
        accused: case.accused.iter().copied().collect(),
        evidence: case.evidence.iter().copied().collect(),
        quarantined: !case.quarantine.is_empty(),
        resolution: case.resolution.as_ref().and_then(|r| {
            action_view(book, r.index).map(|view| Resolution { overturned: r.overturned.is_some(), ..view })
        }),
        source: if case.automated { CaseSource::Automated } else { CaseSource::People },
        assigned: case.assigned,
    }
}

/// The moderator queue: most severe category first, then oldest first;
/// people's or automated reports' cases, those within `viewer`'s
/// categories (every case for the operator, `None`).
pub async fn queue(
    state: &Core,
    filter: CaseFilter,
    source: SourceFilter,
    viewer: Option<&ModeratorView>,
) -> Vec<CaseSummary> {
    let book = state.reports.book.lock().await;
    let mut cases: Vec<&CaseRecord> = book
        .cases
        .values()
        .filter(|c| match filter {
            CaseFilter::Open => c.resolution.is_none(),
            CaseFilter::Resolved => c.resolution.is_some(),
            // `All`, and any filter a newer client names.
            _ => true,
        })
        .filter(|c| source.admits(if c.automated { CaseSource::Automated } else { CaseSource::People }))
        .filter(|c| in_scope(&book, c, viewer))
        .collect();
    cases.sort_by_key(|c| (severity(c.category), c.opened, c.id));
    cases.into_iter().map(|c| summary(&book, c)).collect()
}

/// The verified events of a case's reports: evidence and context, each
/// without duplicates, in report order.
pub(crate) fn case_events(book: &Book, case: &CaseRecord) -> (Vec<Event>, Vec<Event>, Vec<CaseReport>) {
    let (mut evidence, mut context, mut reports) = (Vec::new(), Vec::new(), Vec::new());
    let mut seen = BTreeSet::new();
    for id in &case.reports {
        let Some(record) = book.reports.get(id) else { continue };
        // Verified when received; verified again here so that nothing read
        // back from disk is shown to a moderator unchecked.
        let Ok(report) = Report::verify(&Unverified::<ReportBody>::from_raw(record.report.clone())) else {
            tracing::error!(report = %id, "a stored report does not verify any more");
            continue;
        };
        for e in report.evidence() {
            if seen.insert(e.id()) {
                evidence.push(e.clone());
            }
        }
        for e in report.context() {
            if seen.insert(e.id()) {
                context.push(e.clone());
            }
        }
        let body = report.body();
        reports.push(CaseReport {
            id: *id,
            reporter: body.reporter,
            category: body.category,
            comment: body.comment.as_ref().map(|c| c.as_str().to_string()),
            ts: body.ts,
            from: match record.from {
                ReportSource::Local => accord_api::moderation::ReportSource::Local,
                ReportSource::Peer(node) => accord_api::moderation::ReportSource::Node(node),
            },
            report: Unverified::from_raw(record.report.clone()),
        });
    }
    (evidence, context, reports)
}

/// One case with its reports, events and internal notes, for a moderator
/// whose categories cover it (`viewer`) or the operator (`None`).
pub async fn case_detail(
    state: &Core,
    id: &Sha256Hash,
    viewer: Option<&ModeratorView>,
) -> Result<CaseDetail, ReportsError> {
    let book = state.reports.book.lock().await;
    let case = book.cases.get(id).ok_or(ReportsError::UnknownCase)?;
    if !in_scope(&book, case, viewer) {
        return Err(ReportsError::OutOfScope);
    }
    let (evidence, context, reports) = case_events(&book, case);
    let (evidence, context) =
        (evidence.iter().map(Event::to_unverified).collect(), context.iter().map(Event::to_unverified).collect());
    let notes = teams::notes(state, id)?;
    Ok(CaseDetail { case: summary(&book, case), reports, evidence, context, notes })
}

/// The audit log as exported (spec/reports.md §10).
pub async fn export_audit(state: &Core) -> Result<AuditLog, ReportsError> {
    let book = state.reports.book.lock().await;
    let head = match state.store.audit_head()? {
        Some(head) => head,
        None => actions::sign_head(state, &book.tree)?.raw().clone(),
    };
    Ok(AuditLog { head, actions: book.actions.clone() })
}

/// Verifies the audit log as stored now (re-read from disk).
pub async fn verify_audit(state: &Core) -> Result<Verified<AuditHead>, AuditError> {
    let _book = state.reports.book.lock().await;
    let actions = state.store.audit_actions().map_err(|e| AuditError::Head(EnvelopeError::Malformed(e.to_string())))?;
    let head = state.store.audit_head().map_err(|e| AuditError::Head(EnvelopeError::Malformed(e.to_string())))?;
    match head {
        Some(head) => AuditLog { head, actions }.verify().map(|(head, _)| head),
        None => {
            check_log(None, &actions)?;
            let tree = audit_tree(&actions);
            actions::sign_head(state, &tree).map_err(|e| AuditError::Head(EnvelopeError::Malformed(e.to_string())))
        }
    }
}

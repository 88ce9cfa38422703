//! The moderator's side of reports (spec/reports.md §8–§11): the queue of
//! cases, one case with its verified evidence, signed actions that resolve
//! cases, and the node's audit log, which anyone can verify.

// `VerificationError` holds typed account and node ids and is returned
// only on failures; see `verify.rs`.
#![allow(clippy::result_large_err)]

use crate::client::Client;
use crate::error::{Result, SdkError, VerificationError};
use accord_api::moderation::{
    ActionReceipt as ModActionResponse, ActionRequest, CaseDetail as CaseResponse, CaseFilter,
    CaseReport as RawCaseReport, CaseSummary, CasesResponse, ReportSource, SourceFilter, WrittenEntry,
};
use accord_proto::audit::{AuditHead, AuditLog, ModAction, Moderator, Verdict};
use accord_proto::blocklist::Category;
use accord_proto::event::{Event, Reason};
use accord_proto::report::Report;
use accord_proto::{AccountId, IssuerId, ListId, ListName, NodeId, Sha256Hash, Timestamp, Verified};
use reqwest::Method;
use std::time::Duration;

/// One report of a case, verified: the reporter's signature and every
/// evidence and context event it carries.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CaseReport {
    /// Where the node got it.
    pub from: ReportSource,
    /// The verified report: reporter, category, comment and timestamp are
    /// read from its signed body.
    pub report: Report,
}

impl CaseReport {
    /// The report id.
    pub fn id(&self) -> Sha256Hash {
        self.report.id()
    }

    /// Who reported.
    pub fn reporter(&self) -> AccountId {
        self.report.body().reporter
    }

    /// The harm reported.
    pub fn category(&self) -> Category {
        self.report.body().category
    }

    /// What the reporter said.
    pub fn comment(&self) -> Option<&str> {
        self.report.body().comment.as_ref().map(|c| c.as_str())
    }

    /// When the report was made (the reporter's clock).
    pub fn ts(&self) -> Timestamp {
        self.report.body().ts
    }
}

/// One case with everything a moderator needs to decide: [`Client::mod_case`].
#[derive(Debug)]
#[non_exhaustive]
pub struct CaseDetail {
    /// The case as the queue lists it.
    pub case: CaseSummary,
    /// Its reports, each verified.
    pub reports: Vec<CaseReport>,
    /// The evidence events of all its reports, without duplicates, each
    /// verified (both signatures).
    pub evidence: Vec<Event>,
    /// The context events of all its reports, without duplicates. An
    /// event that does not verify is an [`SdkError::Verification`] in its
    /// place.
    pub context: Vec<Result<Event, SdkError>>,
    /// The moderators' internal notes on the case, oldest first.
    pub notes: Vec<accord_api::moderation::CaseNote>,
}

/// What the node answered for an accepted action: [`Client::mod_resolve`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ActionReceipt {
    /// The action, as signed.
    pub action: Verified<ModAction>,
    /// Its index in the node's audit log.
    pub index: u64,
    /// The list entries it wrote.
    pub entries: Vec<WrittenEntry>,
}

/// A node's audit log, verified (spec/reports.md §10): the head signed by
/// the node, and every action signed by its moderator, whose Merkle root
/// and count are the head's.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct VerifiedAuditLog {
    /// The signed head.
    pub head: Verified<AuditHead>,
    /// The actions, in log order (index 0 first).
    pub actions: Vec<Verified<ModAction>>,
}

impl Client {
    /// The private notes the node's operators and moderators keep on the
    /// entries of list `list` (one entry's, with `entry`) (`GET
    /// /v1/mod/list-notes`). Needs a moderator account of the node.
    pub async fn mod_list_notes(&self, list: &ListId, entry: Option<u64>) -> Result<Vec<accord_api::curation::Note>> {
        let mut url = self.inner.http.url(&["v1", "mod", "list-notes"]);
        url.query_pairs_mut().append_pair("list", &list.to_string());
        if let Some(entry) = entry {
            url.query_pairs_mut().append_pair("entry", &entry.to_string());
        }
        let resp: accord_api::curation::NotesResponse = self.authed::<(), _>(Method::GET, url, None).await?;
        Ok(resp.notes)
    }

    /// Keeps a private note on entry `entry` of list `list`, under this
    /// account (`POST /v1/mod/list-notes`); the node never publishes it.
    pub async fn mod_add_list_note(&self, list: &ListId, entry: u64, text: &str) -> Result<accord_api::curation::Note> {
        let url = self.inner.http.url(&["v1", "mod", "list-notes"]);
        let body = accord_api::curation::ModNoteRequest { list: list.clone(), entry, text: text.to_owned() };
        self.authed(Method::POST, url, Some(&body)).await
    }

    /// The cases of the node's moderator queue, most severe first, then
    /// oldest first (`GET /v1/mod/cases`). Needs a moderator account of
    /// the node (else `not_moderator`).
    pub async fn mod_cases(&self, filter: CaseFilter) -> Result<Vec<CaseSummary>> {
        self.mod_queue(filter, SourceFilter::People).await
    }

    /// The cases of one queue: people's reports, automated reporters', or
    /// both (`GET /v1/mod/cases?source=`), within the moderator's categories.
    pub async fn mod_queue(&self, filter: CaseFilter, source: SourceFilter) -> Result<Vec<CaseSummary>> {
        let mut url = self.inner.http.url(&["v1", "mod", "cases"]);
        url.query_pairs_mut().append_pair("state", filter.as_str()).append_pair("source", source.as_str());
        let resp: CasesResponse = self.authed::<(), _>(Method::GET, url, None).await?;
        Ok(resp.cases)
    }

    /// One case, its reports and its evidence and context events (`GET
    /// /v1/mod/cases/{case}`), all verified here: every report's signature
    /// and the events it carries (spec/reports.md §3), and every evidence
    /// event the node lists. A report or evidence event that does not
    /// verify fails the call with [`SdkError::Verification`].
    pub async fn mod_case(&self, case: Sha256Hash) -> Result<CaseDetail> {
        let url = self.inner.http.url(&["v1", "mod", "cases", &case.to_string()]);
        let resp: CaseResponse = self.authed::<(), _>(Method::GET, url, None).await?;
        verify_case(case, resp)
    }

    /// Resolves a case with a signed [`ModAction`] (`POST
    /// /v1/mod/actions`): `verdict` on the node's list `list` (required
    /// for every verdict but `dismiss`, which takes none), with a reason,
    /// and for `suspend` (only) the suspension's length.
    ///
    /// The action names the node (from [`Client::node_info`]) and a list
    /// issued by it (the node's list issuer key is its node key), and is
    /// signed with the account's key. The node's refusals carry its codes:
    /// `not_moderator`, `unknown_list`, `unknown_case`, `resolved`, ….
    pub async fn mod_resolve(
        &self,
        case: Sha256Hash,
        verdict: Verdict,
        list: Option<ListName>,
        reason: Option<&str>,
        suspend_for: Option<Duration>,
    ) -> Result<ActionReceipt> {
        let node = self.node_info().await?.node;
        let action = build_action(self.account(), node, case, verdict, list, reason, suspend_for, Timestamp::now())?;
        let signed = self.sign(action)?;
        let url = self.inner.http.url(&["v1", "mod", "actions"]);
        let resp: ModActionResponse =
            self.authed(Method::POST, url, Some(&ActionRequest { action: signed.raw().clone() })).await?;
        Ok(ActionReceipt { action: signed, index: resp.index, entries: resp.entries })
    }

    /// The node's audit log (`GET /v1/audit`, no session needed), verified:
    /// the node's signature on the head, every action's signature, and
    /// that the actions are exactly the ones the head covers. Also checks
    /// that the log is this node's.
    pub async fn audit(&self) -> Result<VerifiedAuditLog> {
        let node = self.node_info().await?.node;
        let http = &self.inner.http;
        let log: AuditLog = http.send(http.request::<()>(Method::GET, http.url(&["v1", "audit"]), None, None)).await?;
        verify_audit(node, &log)
    }
}

/// The action a moderator account signs to resolve a case.
#[allow(clippy::too_many_arguments)]
fn build_action(
    moderator: AccountId,
    node: NodeId,
    case: Sha256Hash,
    verdict: Verdict,
    list: Option<ListName>,
    reason: Option<&str>,
    suspend_for: Option<Duration>,
    ts: Timestamp,
) -> Result<ModAction> {
    let invalid = |text: String| Err(SdkError::InvalidInput(text));
    if !verdict.is_decision() {
        return invalid(format!("`{verdict}` does not resolve a case (see mod_assign, mod_mute, mod_resolve_appeal)"));
    }
    let list = match (list, verdict.needs_list()) {
        (Some(name), true) => Some(ListId { issuer: IssuerId::from(*node.public_key()), name }),
        (None, false) => None,
        (None, true) => return invalid(format!("`{verdict}` writes list entries: name the node's list")),
        (Some(_), false) => return invalid(format!("`{verdict}` writes no list entries: name no list")),
    };
    let expires = match (verdict, suspend_for) {
        (Verdict::Suspend, Some(length)) if !length.is_zero() => {
            Some(ts.plus_millis(u64::try_from(length.as_millis()).unwrap_or(u64::MAX)))
        }
        (Verdict::Suspend, _) => return invalid("`suspend` needs a length".into()),
        (_, Some(_)) => return invalid(format!("only `suspend` has a length, not `{verdict}`")),
        (_, None) => None,
    };
    let reason =
        reason.map(|r| Reason::new(r).map_err(|e| SdkError::InvalidInput(format!("reason: {e}")))).transpose()?;
    Ok(ModAction { list, expires, ts, ..ModAction::new(node, Moderator::Account(moderator), case, verdict, reason) })
}

fn verify_case(case: Sha256Hash, resp: CaseResponse) -> Result<CaseDetail> {
    if resp.case.id != case {
        return Err(SdkError::Protocol(format!("asked for case {case}, the node described {}", resp.case.id)));
    }
    let reports = resp.reports.into_iter().map(verify_case_report).collect::<Result<Vec<_>>>()?;
    let mut evidence = Vec::with_capacity(resp.evidence.len());
    for raw in &resp.evidence {
        let event = raw
            .verify()
            .map_err(|e| SdkError::verification(None, Some(raw.claimed_id()), VerificationError::Event(e)))?;
        evidence.push(event);
    }
    let context = resp
        .context
        .iter()
        .map(|raw| {
            raw.verify().map_err(|e| SdkError::verification(None, Some(raw.claimed_id()), VerificationError::Event(e)))
        })
        .collect();
    Ok(CaseDetail { case: resp.case, reports, evidence, context, notes: resp.notes })
}

fn verify_case_report(raw: RawCaseReport) -> Result<CaseReport> {
    let fail = |reason| SdkError::verification(None, None, reason);
    let report = Report::verify(&raw.report).map_err(|e| fail(VerificationError::Report(e)))?;
    if report.id() != raw.id {
        return Err(fail(VerificationError::Inconsistent(format!(
            "the node names report {} by id {}",
            report.id(),
            raw.id
        ))));
    }
    Ok(CaseReport { from: raw.from, report })
}

fn verify_audit(node: NodeId, log: &AuditLog) -> Result<VerifiedAuditLog> {
    let fail = |reason| SdkError::verification(None, None, reason);
    let (head, actions) = log.verify().map_err(|e| fail(VerificationError::Audit(e)))?;
    if head.node != node {
        return Err(fail(VerificationError::Inconsistent(format!(
            "asked node {node} for its audit log, got the log of {}",
            head.node
        ))));
    }
    Ok(VerifiedAuditLog { head, actions })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::tests::{create, key, message};
    use accord_api::reports::CaseState;
    use accord_proto::SecretKey;
    use accord_proto::audit::audit_tree;
    use accord_proto::report::ReportBody;

    const TS: u64 = 1_764_000_000_000;

    fn node_id(node: &SecretKey) -> NodeId {
        NodeId::from(node.public())
    }

    fn abuse() -> ListName {
        "abuse".parse().expect("name")
    }

    fn action(verdict: Verdict, list: Option<ListName>, days: Option<u64>) -> Result<ModAction> {
        let suspend_for = days.map(|d| Duration::from_secs(d * 86_400));
        let case = Sha256Hash::digest(b"case");
        build_action(
            key(6).account_id(),
            node_id(&key(5)),
            case,
            verdict,
            list,
            Some("r"),
            suspend_for,
            Timestamp::from_millis(TS),
        )
    }

    #[test]
    fn actions_name_a_list_of_the_node_exactly_when_they_write_entries() {
        let block = action(Verdict::Block, Some(abuse()), None).expect("block");
        let list = block.list.clone().expect("list");
        assert_eq!(list.issuer, IssuerId::from(key(5).public()));
        assert_eq!(list.name, abuse());
        assert_eq!(block.moderator, Moderator::Account(key(6).account_id()));
        assert_eq!(block.reason.as_ref().map(|r| r.as_str()), Some("r"));
        assert!(Verified::sign(block, &key(6)).is_ok());
        assert!(action(Verdict::Dismiss, None, None).is_ok());
        assert!(matches!(action(Verdict::Block, None, None), Err(SdkError::InvalidInput(_))));
        assert!(matches!(action(Verdict::Dismiss, Some(abuse()), None), Err(SdkError::InvalidInput(_))));
        assert!(matches!(action(Verdict::Assign, None, None), Err(SdkError::InvalidInput(_))), "not a decision");
    }

    #[test]
    fn a_suspension_ends_after_its_length() {
        let suspend = action(Verdict::Suspend, Some(abuse()), Some(7)).expect("suspend");
        assert_eq!(suspend.expires, Some(Timestamp::from_millis(TS + 7 * 86_400_000)));
        assert!(Verified::sign(suspend, &key(6)).is_ok());
        assert!(matches!(action(Verdict::Suspend, Some(abuse()), None), Err(SdkError::InvalidInput(_))));
        assert!(matches!(action(Verdict::Suspend, Some(abuse()), Some(0)), Err(SdkError::InvalidInput(_))));
        assert!(matches!(action(Verdict::Block, Some(abuse()), Some(7)), Err(SdkError::InvalidInput(_))));
    }

    /// A signed report by `reporter` of one message, with one context event.
    fn report(reporter: &SecretKey) -> (Verified<ReportBody>, Event, Event) {
        let (carol, node) = (key(3), key(200));
        let create = create(reporter, &node);
        let hello = message(reporter, &node, &create, 2, "hello, room");
        let pills = message(&carol, &node, &create, 3, "buy pills here");
        let body = ReportBody {
            reporter: reporter.account_id(),
            category: Category::Drugs,
            subject: None,
            evidence: vec![pills.to_unverified()],
            context: vec![hello.to_unverified()],
            comment: Some("selling drugs to members".to_string().try_into().expect("comment")),
            ts: Timestamp::from_millis(TS),
        };
        (Verified::sign(body, reporter).expect("sign"), pills, hello)
    }

    fn case_json(report: &Verified<ReportBody>, pills: &Event, hello: &Event, id: Sha256Hash) -> serde_json::Value {
        serde_json::json!({
            "case": {
                "id": report.body_hash(), "category": "drugs", "state": "open", "opened": TS,
                "reports": 1, "reporters": 1, "accused": [pills.author()], "evidence": [pills.id()],
                "quarantined": false,
            },
            "reports": [{
                "id": id, "reporter": report.reporter, "category": "drugs", "comment": "selling drugs to members",
                "ts": TS, "from": "local", "report": report.raw(),
            }],
            "evidence": [pills], "context": [hello],
        })
    }

    #[test]
    fn a_case_verifies_its_reports_and_evidence() {
        let alice = key(1);
        let (signed, pills, hello) = report(&alice);
        let resp: CaseResponse =
            serde_json::from_value(case_json(&signed, &pills, &hello, signed.body_hash())).expect("case decodes");
        let detail = verify_case(signed.body_hash(), resp).expect("verifies");
        assert_eq!(detail.case.state, CaseState::Open);
        assert_eq!(detail.reports.len(), 1);
        let r = &detail.reports[0];
        assert_eq!((r.id(), r.reporter(), r.category()), (signed.body_hash(), alice.account_id(), Category::Drugs));
        assert_eq!(r.comment(), Some("selling drugs to members"));
        assert_eq!(r.from, ReportSource::Local);
        assert_eq!(r.report.accused(), vec![pills.author()]);
        assert_eq!(detail.evidence.iter().map(Event::id).collect::<Vec<_>>(), vec![pills.id()]);
        assert_eq!(detail.context.len(), 1);
        assert!(detail.context[0].is_ok());
    }

    #[test]
    fn a_case_with_forged_evidence_fails() {
        let (signed, pills, hello) = report(&key(1));
        let mut json = case_json(&signed, &pills, &hello, signed.body_hash());
        json["evidence"][0]["author"]["sig"] = json["evidence"][0]["origin"]["sig"].clone();
        let resp: CaseResponse = serde_json::from_value(json).expect("decodes");
        let err = verify_case(signed.body_hash(), resp).unwrap_err();
        assert!(
            matches!(&err, SdkError::Verification { reason, .. } if matches!(**reason, VerificationError::Event(_))),
            "{err:?}"
        );
    }

    #[test]
    fn a_case_whose_report_is_altered_or_misnamed_fails() {
        let (signed, pills, hello) = report(&key(1));
        let mut json = case_json(&signed, &pills, &hello, signed.body_hash());
        json["reports"][0]["report"]["sig"] = serde_json::to_value(pills.body().raw().sig).expect("sig");
        let resp: CaseResponse = serde_json::from_value(json).expect("decodes");
        let err = verify_case(signed.body_hash(), resp).unwrap_err();
        assert!(
            matches!(&err, SdkError::Verification { reason, .. } if matches!(**reason, VerificationError::Report(_))),
            "{err:?}"
        );

        let json = case_json(&signed, &pills, &hello, Sha256Hash::digest(b"other"));
        let resp: CaseResponse = serde_json::from_value(json).expect("decodes");
        let err = verify_case(signed.body_hash(), resp).unwrap_err();
        assert!(
            matches!(&err, SdkError::Verification { reason, .. } if matches!(**reason, VerificationError::Inconsistent(_))),
            "{err:?}"
        );

        let resp: CaseResponse =
            serde_json::from_value(case_json(&signed, &pills, &hello, signed.body_hash())).expect("decodes");
        assert!(matches!(verify_case(Sha256Hash::digest(b"x"), resp), Err(SdkError::Protocol(_))));
    }

    #[test]
    fn report_sources_read_back_from_text() {
        let node = ReportSource::Node(node_id(&key(5)));
        for source in [ReportSource::Local, node] {
            let json = serde_json::to_value(source).expect("encodes");
            assert_eq!(serde_json::from_value::<ReportSource>(json).expect("decodes"), source);
        }
        assert!(serde_json::from_value::<ReportSource>(serde_json::json!("elsewhere")).is_err());
    }

    fn audit_log(node: &SecretKey, actions: Vec<accord_proto::SignedBytes>) -> AuditLog {
        let tree = audit_tree(&actions);
        let head =
            AuditHead { node: node_id(node), size: tree.size(), root: tree.root(), ts: Timestamp::from_millis(TS) };
        AuditLog { head: Verified::sign(head, node).expect("sign head").raw().clone(), actions }
    }

    #[test]
    fn an_audit_log_verifies_and_must_be_the_nodes() {
        let node = key(5);
        let block = Verified::sign(action(Verdict::Block, Some(abuse()), None).expect("a"), &key(6)).expect("sign");
        let dismiss = Verified::sign(action(Verdict::Dismiss, None, None).expect("a"), &key(6)).expect("sign");
        let log = audit_log(&node, vec![block.raw().clone(), dismiss.raw().clone()]);
        let verified = verify_audit(node_id(&node), &log).expect("verifies");
        assert_eq!(verified.head.size, 2);
        assert_eq!(verified.actions[1].action, Verdict::Dismiss);

        let err = verify_audit(node_id(&key(7)), &log).unwrap_err();
        assert!(
            matches!(&err, SdkError::Verification { reason, .. } if matches!(**reason, VerificationError::Inconsistent(_)))
        );

        let mut swapped = log;
        swapped.actions.swap(0, 1);
        let err = verify_audit(node_id(&node), &swapped).unwrap_err();
        assert!(
            matches!(&err, SdkError::Verification { reason, .. } if matches!(&**reason, VerificationError::Audit(e) if e.code() == "root_mismatch"))
        );
    }

    #[test]
    fn case_summaries_decode_with_and_without_resolution() {
        let node = node_id(&key(5));
        let json = serde_json::json!({
            "id": "ab".repeat(32), "category": "spam", "state": "resolved", "opened": TS,
            "reports": 2, "reporters": 1, "accused": [], "evidence": [], "quarantined": true,
            "resolution": {"index": 4, "action": "dismiss", "moderator": node, "ts": TS + 1},
        });
        let summary: CaseSummary = serde_json::from_value(json).expect("decodes");
        let resolution = summary.resolution.expect("resolution");
        assert_eq!(resolution.moderator, Moderator::Node(node));
        assert_eq!(resolution.action, Verdict::Dismiss);
        assert!(summary.quarantined);
        assert_eq!(CaseFilter::default().as_str(), "open");
    }
}

//! Users' reports and their status (spec/reports.md §7, §11).

use accord_proto::audit::{ModAction, Moderator, Verdict};
use accord_proto::blocklist::Category;
use accord_proto::{AccountId, EnvelopeError, ListId, NodeId, Sha256Hash, SignedBytes, Timestamp};
use accord_proto::{Unverified, Verified};
use serde::{Deserialize, Serialize};

crate::endpoint! {
    /// `POST /v1/reports`: files a report (spec/reports.md §11).
    FileReport = Post "/v1/reports", Session, ReportRequest => ReportStatus
}

crate::endpoint! {
    /// `GET /v1/reports`: the session account's reports, newest first
    /// (spec/reports.md §11).
    MyReports = Get "/v1/reports", Session, () => ReportsResponse
}

/// `POST /v1/reports` body (spec/reports.md §11).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportRequest {
    /// The `ReportBody`, signed by the session's account.
    pub report: SignedBytes,
}

/// `GET /v1/reports` answer (spec/reports.md §11).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportsResponse {
    /// The reports' status, newest first.
    pub reports: Vec<ReportStatus>,
}

/// Whether a case (and the reports in it) is still open or was resolved
/// (spec/reports.md §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CaseState {
    /// Waiting for a moderator.
    Open,
    /// A moderator's action resolved it.
    Resolved,
}

impl CaseState {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            CaseState::Open => "open",
            CaseState::Resolved => "resolved",
        }
    }
}

/// Where the home node is with forwarding a report to another node
/// (spec/reports.md §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ForwardState {
    /// Not delivered yet; retried with backoff.
    Pending,
    /// The receiver queued the report.
    Delivered,
    /// The receiver refused it for good (see [`Forward::code`]).
    Refused,
}

/// One node a report is forwarded to (spec/reports.md §7, §11).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Forward {
    /// The receiving node.
    pub node: NodeId,
    /// How far forwarding got.
    pub state: ForwardState,
    /// For a refusal, the receiver's federation error code
    /// (spec/federation.md); for a pending forward, the last failure
    /// (`busy`, `internal`, `unreachable`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// The moderator's action that resolved a report's case, at the home node
/// or at a node the report was forwarded to (spec/reports.md §11): as the
/// node describes it, and signed ([`Outcome::verify`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// The node whose moderator acted.
    pub node: NodeId,
    /// Who acted: a moderator account, or the node itself.
    pub moderator: Moderator,
    /// What was decided.
    pub action: Verdict,
    /// The list the action wrote entries to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list: Option<ListId>,
    /// Why, in the moderator's words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When the action was taken.
    pub ts: Timestamp,
    /// The signed action.
    pub signed: SignedBytes,
}

/// Why an [`Outcome`] does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OutcomeError {
    /// The signed action does not verify.
    #[error("the signed action does not verify: {0}")]
    Signature(#[source] EnvelopeError),
    /// A field of the description is not the signed action's.
    #[error("the outcome's `{0}` is not the signed action's")]
    Mismatch(&'static str),
}

impl Outcome {
    /// The description of a signed action (the node: `action` is read
    /// from `signed`, which it verified when it stored it).
    pub fn describe(action: &ModAction, signed: SignedBytes) -> Outcome {
        Outcome {
            node: action.node,
            moderator: action.moderator,
            action: action.action,
            list: action.list.clone(),
            reason: action.reason.as_ref().map(|r| r.as_str().to_owned()),
            ts: action.ts,
            signed,
        }
    }

    /// Verifies the signed action (signature in `accord/v1/mod-action`,
    /// canonical form, rules) and checks that it is the action the other
    /// fields describe.
    pub fn verify(&self) -> Result<Verified<ModAction>, OutcomeError> {
        let action =
            Unverified::<ModAction>::from_raw(self.signed.clone()).verify().map_err(OutcomeError::Signature)?;
        let described = Outcome::describe(&action, self.signed.clone());
        let mismatch = [
            ("node", described.node == self.node),
            ("moderator", described.moderator == self.moderator),
            ("action", described.action == self.action),
            ("list", described.list == self.list),
            ("reason", described.reason == self.reason),
            ("ts", described.ts == self.ts),
        ]
        .into_iter()
        .find(|(_, same)| !same);
        match mismatch {
            Some((field, _)) => Err(OutcomeError::Mismatch(field)),
            None => Ok(action),
        }
    }
}

/// A *report status* (spec/reports.md §11): a report as its home node
/// keeps it for the reporter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportStatus {
    /// The report id: SHA-256 of the signed report body.
    pub id: Sha256Hash,
    /// The case the report joined at the home node.
    pub case: Sha256Hash,
    /// The harm reported.
    pub category: Category,
    /// The accounts the report accuses.
    #[serde(default)]
    pub accused: Vec<AccountId>,
    /// When the home node received it.
    pub received: Timestamp,
    /// Whether its case is open or resolved.
    pub state: CaseState,
    /// The nodes it is forwarded to.
    #[serde(default)]
    pub forwards: Vec<Forward>,
    /// The action that resolved its case, once there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
}

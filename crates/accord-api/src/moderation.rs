//! The moderator queue, cases and moderators' signed actions
//! (spec/reports.md §8, §9, §11).

use crate::reports::CaseState;
use accord_proto::audit::{ModAction, Moderator, Verdict};
use accord_proto::blocklist::Category;
use accord_proto::event::UnverifiedEvent;
use accord_proto::report::ReportBody;
use accord_proto::{AccountId, EventId, ListId, NodeId, Sha256Hash, SignedBytes, Timestamp, Unverified};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

crate::endpoint! {
    /// `GET /v1/mod/cases?state=`: the queue (spec/reports.md §11).
    ListCases = Get "/v1/mod/cases", Moderator, CasesQuery => CasesResponse
}

crate::endpoint! {
    /// `GET /v1/mod/cases/{case}`: one case (spec/reports.md §11).
    GetCase = Get "/v1/mod/cases/{case}", Moderator, () => CaseDetail
}

crate::endpoint! {
    /// `POST /v1/mod/actions`: a moderator's signed action (spec/reports.md §9, §11).
    Act = Post "/v1/mod/actions", Moderator, ActionRequest => ActionReceipt
}

/// Which cases a queue listing shows (spec/reports.md §11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CaseFilter {
    /// Cases waiting for a moderator (the queue).
    #[default]
    Open,
    /// Cases already resolved.
    Resolved,
    /// Both.
    All,
}

impl CaseFilter {
    /// The value of the `state` query parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            CaseFilter::Open => "open",
            CaseFilter::Resolved => "resolved",
            CaseFilter::All => "all",
        }
    }
}

/// `?state=&source=` of queue listings (spec/reports.md §11, §12).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CasesQuery {
    /// Which cases (default `open`).
    #[serde(default)]
    pub state: CaseFilter,
    /// Whose reports (default `people`): people's and automated reports
    /// are two queues.
    #[serde(default)]
    pub source: SourceFilter,
}

/// Who made a case's reports: people, or automated reporters (the node's
/// `reports.automated_reporters`: bots, hash matchers) (spec/reports.md §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseSource {
    /// Reports made by people.
    #[default]
    People,
    /// Reports made by automated reporters.
    Automated,
}

/// Which queue a listing shows (spec/reports.md §11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SourceFilter {
    /// Cases of people's reports (the queue).
    #[default]
    People,
    /// Cases of automated reports.
    Automated,
    /// Both.
    All,
}

impl SourceFilter {
    /// The value of the `source` query parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceFilter::People => "people",
            SourceFilter::Automated => "automated",
            SourceFilter::All => "all",
        }
    }

    /// Whether a case of `source` is listed.
    pub fn admits(self, source: CaseSource) -> bool {
        match self {
            SourceFilter::People => source == CaseSource::People,
            SourceFilter::Automated => source == CaseSource::Automated,
            SourceFilter::All => true,
        }
    }
}

/// `GET /v1/mod/cases` answer (spec/reports.md §11).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CasesResponse {
    /// The cases in queue order: most severe category first, then oldest.
    pub cases: Vec<CaseSummary>,
}

/// How a resolved case was resolved: the `resolution` of a case summary
/// (spec/reports.md §11), the audit log entry of its action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolution {
    /// The action's index in the node's audit log.
    pub index: u64,
    /// What was decided.
    pub action: Verdict,
    /// Who decided.
    pub moderator: Moderator,
    /// The list written to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list: Option<ListId>,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When.
    pub ts: Timestamp,
    /// Whether an appeal overturned it (its entries removed).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub overturned: bool,
}

impl Resolution {
    /// The resolution by the action at `index` of the audit log.
    pub fn describe(index: u64, action: &ModAction) -> Resolution {
        Resolution {
            index,
            action: action.action,
            moderator: action.moderator,
            list: action.list.clone(),
            reason: action.reason.as_ref().map(|r| r.as_str().to_owned()),
            ts: action.ts,
            overturned: false,
        }
    }
}

/// A *case summary* (spec/reports.md §8, §11): the reports about one harm,
/// merged, as the node reports them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseSummary {
    /// The case id (the id of its first report).
    pub id: Sha256Hash,
    /// The most severe category of its reports.
    pub category: Category,
    /// Open or resolved.
    pub state: CaseState,
    /// When the case was opened.
    pub opened: Timestamp,
    /// How many reports it holds.
    pub reports: u64,
    /// How many distinct accounts reported it.
    pub reporters: u64,
    /// The accounts its reports accuse.
    #[serde(default)]
    pub accused: Vec<AccountId>,
    /// Its evidence events.
    #[serde(default)]
    pub evidence: Vec<EventId>,
    /// Whether its content is held in quarantine pending review.
    #[serde(default)]
    pub quarantined: bool,
    /// For a resolved case: the action that resolved it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<Resolution>,
    /// Whose reports it holds: people's or automated ones.
    #[serde(default)]
    pub source: CaseSource,
    /// The moderator account it is assigned to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned: Option<AccountId>,
}

/// Where a node got a report from: one of its own accounts, or another
/// node that forwarded it. On the wire: `local`, or the node id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReportSource {
    /// Filed by one of the node's accounts.
    Local,
    /// Forwarded by this node.
    Node(NodeId),
}

impl fmt::Display for ReportSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReportSource::Local => f.write_str("local"),
            ReportSource::Node(node) => node.fmt(f),
        }
    }
}

impl FromStr for ReportSource {
    type Err = accord_proto::ParseIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "local" { Ok(ReportSource::Local) } else { s.parse().map(ReportSource::Node) }
    }
}

impl Serialize for ReportSource {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ReportSource {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// One report of a case (spec/reports.md §11). `reporter`, `category`,
/// `comment` and `ts` restate the signed report, which a client verifies
/// instead of trusting them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseReport {
    /// The report id.
    pub id: Sha256Hash,
    /// Who reported.
    pub reporter: AccountId,
    /// The harm reported.
    pub category: Category,
    /// The reporter's comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// When the reporter made it.
    pub ts: Timestamp,
    /// Where the node got it.
    pub from: ReportSource,
    /// The signed report.
    pub report: Unverified<ReportBody>,
}

/// `GET /v1/mod/cases/{case}` answer (spec/reports.md §11): a case with
/// its reports and their events, each event once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseDetail {
    /// The case.
    pub case: CaseSummary,
    /// Its reports.
    #[serde(default)]
    pub reports: Vec<CaseReport>,
    /// The evidence events of all its reports, without duplicates.
    #[serde(default)]
    pub evidence: Vec<UnverifiedEvent>,
    /// The context events of all its reports, without duplicates.
    #[serde(default)]
    pub context: Vec<UnverifiedEvent>,
    /// The moderators' internal notes on it, oldest first: private to the
    /// node's moderators and operator (spec/reports.md §9.1).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<CaseNote>,
}

/// A moderator's internal note on a case (spec/reports.md §9.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseNote {
    /// Who wrote it (a moderator account, or the node for its operator).
    pub author: Moderator,
    /// The note.
    pub text: String,
    /// When.
    pub ts: Timestamp,
}

/// `POST /v1/mod/actions` body (spec/reports.md §11).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionRequest {
    /// The `ModAction`, signed by the moderator's account.
    pub action: SignedBytes,
}

/// `POST /v1/mod/actions` answer, also of the admin endpoint's resolve
/// (spec/reports.md §11, §12): where the accepted action went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionReceipt {
    /// The action's index in the audit log.
    pub index: u64,
    /// The list entries it wrote.
    #[serde(default)]
    pub entries: Vec<WrittenEntry>,
}

/// A list entry a moderator's action wrote (spec/reports.md §9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrittenEntry {
    /// The list.
    pub list: ListId,
    /// The entry's index in the list's log.
    pub index: u64,
}

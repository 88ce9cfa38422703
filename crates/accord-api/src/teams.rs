//! Moderation teams and appeals (spec/reports.md §9.1, §12.1, §15):
//! moderators' internal notes on cases, assignments, muted reporters, and
//! the accused's appeals of decisions.

use crate::admin::{ModeratorRequest, ModeratorsResponse};
use crate::moderation::{ActionReceipt, ReportSource, Resolution};
use crate::reports::{Forward, Outcome};
use accord_proto::audit::{Moderator, Verdict};
use accord_proto::{AccountId, NodeId, Sha256Hash, SignedBytes, Timestamp};
use serde::{Deserialize, Serialize};

pub use crate::moderation::CaseNote;

crate::endpoint! {
    /// `POST /v1/mod/cases/{case}/notes`: a moderator's internal note on a
    /// case (spec/reports.md §9.1).
    AddNote = Post "/v1/mod/cases/{case}/notes", Moderator, NoteRequest => NotesResponse
}
crate::endpoint! {
    /// `GET /v1/mod/appeals?state=`: appeals of this node's decisions (spec/reports.md §15).
    ModAppeals = Get "/v1/mod/appeals", Moderator, AppealsQuery => AppealsResponse
}
crate::endpoint! {
    /// `GET /v1/mod/moderators`: the node's moderators, roles and scopes
    /// (spec/reports.md §12.1).
    ModModerators = Get "/v1/mod/moderators", Moderator, () => ModeratorsResponse
}
crate::endpoint! {
    /// `POST /v1/mod/moderators`: an `admin` moderator adds a moderator or
    /// sets its role and categories, as `POST /admin/moderators`; other
    /// moderators: `403 forbidden` (spec/reports.md §12.1).
    ModAddModerator = Post "/v1/mod/moderators", Moderator, ModeratorRequest => ModeratorsResponse
}
crate::endpoint! {
    /// `POST /v1/mod/moderators/remove`: an `admin` moderator removes one, as
    /// `POST /admin/moderators/remove` (spec/reports.md §12.1).
    ModRemoveModerator = Post "/v1/mod/moderators/remove", Moderator, ModeratorRequest => ModeratorsResponse
}
crate::endpoint! {
    /// `POST /v1/appeals`: an account of the node appeals a decision against
    /// it; the signed appeal authenticates it, no session is needed (a
    /// blocked account has none) (spec/reports.md §15).
    FileAppeal = Post "/v1/appeals", Public, AppealRequest => AppealStatus
}
crate::endpoint! {
    /// `GET /v1/appeals`: the session account's appeals (spec/reports.md §15).
    MyAppeals = Get "/v1/appeals", Session, () => AppealsResponse
}
crate::endpoint! {
    /// `POST /admin/reports/{case}/notes`: the operator's internal note
    /// (spec/reports.md §12.1).
    AdminAddNote = Post "/admin/reports/{case}/notes", Admin, NoteRequest => NotesResponse
}
crate::endpoint! {
    /// `POST /admin/reports/{case}/assign`: assigns a case to a moderator,
    /// signed by the node (spec/reports.md §12.1).
    AdminAssign = Post "/admin/reports/{case}/assign", Admin, AssignRequest => ActionReceipt
}
crate::endpoint! {
    /// `GET /admin/reporters/muted`: muted reporters (spec/reports.md §12.1).
    MutedReporters = Get "/admin/reporters/muted", Admin, () => MutedResponse
}
crate::endpoint! {
    /// `POST /admin/reporters/mute`: mutes a reporter, signed by the node
    /// (spec/reports.md §12.1).
    MuteReporter = Post "/admin/reporters/mute", Admin, MuteRequest => MutedResponse
}
crate::endpoint! {
    /// `POST /admin/reporters/unmute`: lifts a reporter's mute (spec/reports.md §12.1).
    UnmuteReporter = Post "/admin/reporters/unmute", Admin, UnmuteRequest => MutedResponse
}
crate::endpoint! {
    /// `GET /admin/appeals?state=`: appeals, as `GET /v1/mod/appeals` (spec/reports.md §12.1).
    AdminAppeals = Get "/admin/appeals", Admin, AppealsQuery => AppealsResponse
}
crate::endpoint! {
    /// `POST /admin/appeals/{appeal}/resolve`: the operator upholds or
    /// overturns a decision appealed, signed by the node (spec/reports.md §12.1).
    AdminResolveAppeal = Post "/admin/appeals/{appeal}/resolve", Admin, AppealResolveRequest => ActionReceipt
}

/// A note's body (spec/reports.md §9.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoteRequest {
    /// The note, at most 4096 bytes.
    pub text: String,
}

/// A case's notes, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotesResponse {
    /// The notes.
    pub notes: Vec<CaseNote>,
}

/// `POST /admin/reports/{case}/assign` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    /// The moderator account; absent, the case is unassigned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<AccountId>,
}

/// `POST /admin/reporters/mute` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MuteRequest {
    /// The reporter.
    pub account: AccountId,
    /// A case it reported, where the abuse shows.
    pub case: Sha256Hash,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `POST /admin/reporters/unmute` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnmuteRequest {
    /// The reporter.
    pub account: AccountId,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A muted reporter (spec/reports.md §9.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MuteEntry {
    /// The reporter.
    pub account: AccountId,
    /// The case the mute was decided on.
    pub case: Sha256Hash,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Who muted it.
    pub by: Moderator,
    /// Since when.
    pub since: Timestamp,
    /// The mute's index in the audit log.
    pub index: u64,
    /// Its reports kept out of the queue since.
    pub kept_out: u64,
}

/// The muted reporters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MutedResponse {
    /// Every muted reporter.
    pub muted: Vec<MuteEntry>,
}

/// `POST /v1/appeals` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppealRequest {
    /// The appeal ([`accord_proto::appeal::AppealBody`]), signed by an account of the node.
    pub appeal: SignedBytes,
}

/// Where an appeal stands (spec/reports.md §15).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AppealState {
    /// Waiting for a moderator (or, at the home node, for the deciding
    /// node's answer).
    Open,
    /// The decision stands.
    Upheld,
    /// The decision was overturned.
    Overturned,
}

/// Which appeals a listing shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AppealFilter {
    /// Appeals waiting for a moderator.
    #[default]
    Open,
    /// Every appeal.
    All,
}

impl AppealFilter {
    /// The value of the `state` query parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            AppealFilter::Open => "open",
            AppealFilter::All => "all",
        }
    }
}

/// `?state=` of appeal listings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppealsQuery {
    /// Which appeals (default `open`).
    #[serde(default)]
    pub state: AppealFilter,
}

/// An appeal as a node holds it (spec/reports.md §15).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppealStatus {
    /// The appeal id: SHA-256 of its body.
    pub id: Sha256Hash,
    /// The accused account that appeals.
    pub account: AccountId,
    /// The node that decided.
    pub node: NodeId,
    /// The case.
    pub case: Sha256Hash,
    /// The decision appealed (SHA-256 of its action's body).
    pub decision: Sha256Hash,
    /// What the accused says.
    pub reason: String,
    /// When this node received it.
    pub received: Timestamp,
    /// Where this node got it: its own account, or the home node that forwarded it.
    pub from: ReportSource,
    /// At the home node, when another node decided: the forward there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forward: Option<Forward>,
    /// Where it stands.
    pub state: AppealState,
    /// At the deciding node: who took the decision (who may not resolve the appeal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<Moderator>,
    /// At the deciding node, once resolved: the action that resolved it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<Resolution>,
    /// Once resolved: the signed action that resolved it (at the home node,
    /// as the deciding node sent it), for the client to verify.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// The appeal as signed.
    pub appeal: SignedBytes,
}

/// Appeals, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppealsResponse {
    /// The appeals.
    pub appeals: Vec<AppealStatus>,
}

/// `POST /admin/appeals/{appeal}/resolve` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppealResolveRequest {
    /// `uphold` or `overturn`.
    pub action: Verdict,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

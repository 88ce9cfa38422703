//! A member's own data: the export of everything the node holds about the
//! account, and the account's deletion (spec/client-api.md §3.1,
//! spec/identities.md §5).

use crate::reports::ReportStatus;
use accord_proto::event::{Role, UnverifiedEvent};
use accord_proto::{AccountId, NodeId, RoomId, SignedBytes, Timestamp};
use serde::{Deserialize, Serialize};

crate::endpoint! {
    /// `GET /v1/account/export`: everything this node holds about the
    /// session's account (spec/client-api.md §3.1).
    ExportAccount = Get "/v1/account/export", Session, () => AccountExport
}

crate::endpoint! {
    /// `POST /v1/account/delete`: deletes the session's account
    /// (spec/client-api.md §3.1).
    DeleteAccount = Post "/v1/account/delete", Session, DeleteAccountRequest => DeleteAccountResponse
}

crate::endpoint! {
    /// `GET /v1/deletions/{account}`: the signed deletion of an account
    /// that deleted itself (spec/client-api.md §3.1).
    GetDeletion = Get "/v1/deletions/{account}", Public, () => DeletionResponse
}

/// `GET /v1/deletions/{account}` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletionResponse {
    /// The `AccountDeletion`, as the account signed it.
    pub deletion: SignedBytes,
}

/// `GET /v1/account/export` answer: every signed object keeps its
/// signature, so that the export can be checked by anyone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountExport {
    /// The node that made the export.
    pub node: NodeId,
    /// When it was made.
    pub exported: Timestamp,
    /// The account's identity document, as the account signed it.
    pub identity: SignedBytes,
    /// The node's attestation of it.
    pub attestation: SignedBytes,
    /// The rooms the account is a member of, with its role.
    pub rooms: Vec<ExportedRoom>,
    /// Every event the account wrote that this node holds, both
    /// envelopes, by room then in this node's order.
    pub events: Vec<UnverifiedEvent>,
    /// The reports the account filed here, as it signed them, with their
    /// status.
    pub reports: Vec<ExportedReport>,
    /// The moderators' signed actions that resolved cases accusing the
    /// account (`accord/v1/mod-action` envelopes).
    pub decisions: Vec<SignedBytes>,
}

/// A room of an [`AccountExport`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportedRoom {
    /// The room.
    pub room: RoomId,
    /// Its name at creation.
    pub name: String,
    /// The account's role in it.
    pub role: Role,
}

/// A report of an [`AccountExport`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportedReport {
    /// The report as the account signed it (`accord/v1/report`).
    pub report: SignedBytes,
    /// What became of it.
    pub status: ReportStatus,
}

/// `POST /v1/account/delete` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteAccountRequest {
    /// The `AccountDeletion`, signed by the session's account
    /// (spec/identities.md §5).
    pub deletion: SignedBytes,
}

/// `POST /v1/account/delete` answer: what was done, and what is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteAccountResponse {
    /// The account deleted.
    pub account: AccountId,
    /// How many of its messages this node now shows as redacted.
    pub redacted: u64,
    /// What the node keeps about the account, and why.
    pub kept: Vec<Kept>,
}

/// Something a node keeps about a deleted account, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kept {
    /// What is kept: `events`, `reports`, `evidence` or `audit`.
    pub what: String,
    /// How many.
    pub count: u64,
    /// Why, in words.
    pub why: String,
}

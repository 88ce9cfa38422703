//! Reports, the cases they form, the moderation audit log and the node's
//! moderator accounts (spec/reports.md §7–§10).

use crate::{Batch, Cf, Store, StoreError};
use accord_proto::Sha256Hash;
use accord_proto::audit::{Moderator, Verdict};
use accord_proto::blocklist::entry::Category;
use accord_proto::{AccountId, EventId, ListId, NodeId, SignedBytes, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// `meta` key of the audit log's latest signed head.
const META_AUDIT_HEAD: &[u8] = b"audit_head";

/// Where a report came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportSource {
    /// Filed by an account of this node.
    Local,
    /// Forwarded by a peer node.
    Peer(NodeId),
}

/// The forward of a report to one node, and how far it got: stored as
/// the wire shows it (spec/reports.md §7).
pub use accord_api::reports::{Forward, ForwardState};

/// What the store keeps about one report (verified when received).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportRecord {
    /// The report id.
    pub id: Sha256Hash,
    /// The case it belongs to.
    pub case: Sha256Hash,
    /// The report as the reporter signed it.
    pub report: SignedBytes,
    /// The reporter.
    pub reporter: AccountId,
    /// The harm reported.
    pub category: Category,
    /// The accounts reported.
    pub accused: Vec<AccountId>,
    /// When this node received it.
    pub received: Timestamp,
    /// Who gave it to this node.
    pub from: ReportSource,
    /// Its forwards to other nodes.
    #[serde(default)]
    pub forwards: Vec<Forward>,
    /// The action that settled it (here, or at a node it was forwarded to).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<SignedBytes>,
    /// For a forwarded report settled here: whether the outcome reached the
    /// node that forwarded it.
    #[serde(default)]
    pub outcome_sent: bool,
    /// Whether its reporter was muted when it arrived: it is kept, in no
    /// case and out of the queue.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub muted: bool,
}

/// How a case was resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolution {
    /// The action's index in the audit log.
    pub index: u64,
    /// The decision.
    pub action: Verdict,
    /// The list entries it wrote.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entries: Vec<(ListId, u64)>,
    /// The audit index of the action that overturned it on appeal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overturned: Option<u64>,
}

/// Reports about the same thing, seen by moderators as one item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseRecord {
    /// The case id: its first report's id.
    pub id: Sha256Hash,
    /// The most severe category of its reports.
    pub category: Category,
    /// When it was opened.
    pub opened: Timestamp,
    /// Its reports, in arrival order.
    pub reports: Vec<Sha256Hash>,
    /// The distinct reporters.
    pub reporters: BTreeSet<AccountId>,
    /// The accounts reported.
    pub accused: BTreeSet<AccountId>,
    /// The evidence events.
    pub evidence: BTreeSet<EventId>,
    /// Quarantine entries written for it, pending review.
    #[serde(default)]
    pub quarantine: Vec<(ListId, u64)>,
    /// The action that resolved it, once resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<Resolution>,
    /// Whether its reports come from automated reporters (kept apart from
    /// people's).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub automated: bool,
    /// The moderator account it is assigned to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned: Option<AccountId>,
}

/// A moderator account of this node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModeratorRecord {
    /// The account.
    pub account: AccountId,
    /// Since when.
    pub since: Timestamp,
    /// Its role.
    #[serde(default)]
    pub role: ModeratorRole,
    /// The categories it acts on (empty: all).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<Category>,
}

pub use accord_api::admin::ModeratorRole;
pub use accord_api::teams::AppealState;

/// A moderator's internal note on a case: private to the node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoteRecord {
    /// The case.
    pub case: Sha256Hash,
    /// Who wrote it.
    pub author: Moderator,
    /// The note.
    pub text: String,
    /// When.
    pub ts: Timestamp,
}

/// A muted reporter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MuteRecord {
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
    /// Reports kept out of the queue since.
    pub kept_out: u64,
}

/// An appeal: at the deciding node, or at the appellant's home node that
/// forwards it there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppealRecord {
    /// The appeal id.
    pub id: Sha256Hash,
    /// The appeal as the account signed it.
    pub appeal: SignedBytes,
    /// The appealing account.
    pub account: AccountId,
    /// The deciding node.
    pub node: NodeId,
    /// The case.
    pub case: Sha256Hash,
    /// The decision appealed.
    pub decision: Sha256Hash,
    /// When this node received it.
    pub received: Timestamp,
    /// Who gave it to this node.
    pub from: ReportSource,
    /// Its forward to the deciding node, when that is another node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forward: Option<Forward>,
    /// Where it stands.
    pub state: AppealState,
    /// At the deciding node: the decision's audit index and who took it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided: Option<(u64, Moderator)>,
    /// At the deciding node: the audit index of the resolving action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<u64>,
    /// The signed action that resolved it (at the home node, as the
    /// deciding node sent it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<SignedBytes>,
    /// At the deciding node, for an appeal a peer forwarded: whether the
    /// outcome reached that peer.
    #[serde(default)]
    pub outcome_sent: bool,
}

/// What an audit action that is not a case's decision changes, written
/// with it ([`Store::append_audit_work`]).
#[derive(Debug, Default)]
pub struct AuditWork<'a> {
    /// The case it changed.
    pub case: Option<&'a CaseRecord>,
    /// A mute put (`Ok`) or lifted (`Err`, the reporter).
    pub mute: Option<Result<&'a MuteRecord, &'a AccountId>>,
    /// The appeal it recorded or resolved.
    pub appeal: Option<&'a AppealRecord>,
}

fn json<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

fn decode<T: serde::de::DeserializeOwned>(cf: Cf, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt { cf: cf.name(), detail: e.to_string() })
}

impl Store {
    /// Writes reports and cases together (a new report and the case it
    /// opened or joined; a forward's progress; an outcome).
    pub async fn put_reports(&self, reports: &[&ReportRecord], cases: &[&CaseRecord]) -> Result<(), StoreError> {
        let mut b = Batch::new();
        for r in reports {
            b.put(Cf::Reports, r.id.0.to_vec(), json(r));
        }
        for c in cases {
            b.put(Cf::Cases, c.id.0.to_vec(), json(c));
        }
        self.write(b).await
    }

    /// Every report.
    pub fn reports(&self) -> Result<Vec<ReportRecord>, StoreError> {
        self.scan(Cf::Reports, b"", b"", true, usize::MAX)?.iter().map(|(_, v)| decode(Cf::Reports, v)).collect()
    }

    /// Every case.
    pub fn cases(&self) -> Result<Vec<CaseRecord>, StoreError> {
        self.scan(Cf::Cases, b"", b"", true, usize::MAX)?.iter().map(|(_, v)| decode(Cf::Cases, v)).collect()
    }

    /// Appends an action to the audit log at `index` with the new signed
    /// head, and writes the case (and reports) it changed, atomically.
    pub async fn append_audit(
        &self,
        index: u64,
        action: &SignedBytes,
        head: &SignedBytes,
        case: &CaseRecord,
        reports: &[&ReportRecord],
    ) -> Result<(), StoreError> {
        let mut b = Batch::new();
        b.put(Cf::Audit, index.to_be_bytes().to_vec(), json(action));
        b.put(Cf::Meta, META_AUDIT_HEAD.to_vec(), json(head));
        b.put(Cf::Cases, case.id.0.to_vec(), json(case));
        for r in reports {
            b.put(Cf::Reports, r.id.0.to_vec(), json(r));
        }
        self.write(b).await
    }

    /// The audit log's actions, in order. An entry that does not read
    /// back (corrupted on disk) is an error naming the column family.
    pub fn audit_actions(&self) -> Result<Vec<SignedBytes>, StoreError> {
        self.scan(Cf::Audit, b"", b"", true, usize::MAX)?.iter().map(|(_, v)| decode(Cf::Audit, v)).collect()
    }

    /// The audit log's latest signed head.
    pub fn audit_head(&self) -> Result<Option<SignedBytes>, StoreError> {
        self.get(Cf::Meta, META_AUDIT_HEAD)?.map(|v| decode(Cf::Meta, &v)).transpose()
    }

    /// Overwrites one stored audit action, bypassing every check: for tests
    /// that show tampering is detected.
    #[doc(hidden)]
    pub async fn overwrite_audit_action(&self, index: u64, action: &SignedBytes) -> Result<(), StoreError> {
        let mut b = Batch::new();
        b.put(Cf::Audit, index.to_be_bytes().to_vec(), json(action));
        self.write(b).await
    }

    /// Adds a moderator account.
    pub async fn put_moderator(&self, record: &ModeratorRecord) -> Result<(), StoreError> {
        let mut b = Batch::new();
        b.put(Cf::Moderators, record.account.as_bytes().to_vec(), json(record));
        self.write(b).await
    }

    /// Removes a moderator account.
    pub async fn delete_moderator(&self, account: &AccountId) -> Result<(), StoreError> {
        let mut b = Batch::new();
        b.delete(Cf::Moderators, account.as_bytes().to_vec());
        self.write(b).await
    }

    /// Adds an internal note to a case.
    pub async fn put_case_note(&self, note: &NoteRecord) -> Result<(), StoreError> {
        let mut key = note.case.0.to_vec();
        key.extend_from_slice(&note.ts.as_millis().to_be_bytes());
        let tag = Sha256Hash::digest(format!("{}\0{}", note.author, note.text).as_bytes());
        key.extend_from_slice(&tag.0[..8]);
        let mut b = Batch::new();
        b.put(Cf::CaseNotes, key, json(note));
        self.write(b).await
    }

    /// A case's internal notes, oldest first.
    pub fn case_notes(&self, case: &Sha256Hash) -> Result<Vec<NoteRecord>, StoreError> {
        self.scan(Cf::CaseNotes, &case.0, &case.0, true, usize::MAX)?
            .iter()
            .map(|(_, v)| decode(Cf::CaseNotes, v))
            .collect()
    }

    /// Every muted reporter.
    pub fn mutes(&self) -> Result<Vec<MuteRecord>, StoreError> {
        self.scan(Cf::MutedReporters, b"", b"", true, usize::MAX)?
            .iter()
            .map(|(_, v)| decode(Cf::MutedReporters, v))
            .collect()
    }

    /// Stores a muted reporter's report with its mute's new count.
    pub async fn put_muted_report(&self, report: &ReportRecord, mute: &MuteRecord) -> Result<(), StoreError> {
        let mut b = Batch::new();
        b.put(Cf::Reports, report.id.0.to_vec(), json(report));
        b.put(Cf::MutedReporters, mute.account.as_bytes().to_vec(), json(mute));
        self.write(b).await
    }

    /// Appends an action that is not a case's decision to the audit log, with
    /// what it changed, atomically: the case (an assignment), a mute put or
    /// lifted, an appeal and the case it changed.
    pub async fn append_audit_work(
        &self,
        index: u64,
        action: &SignedBytes,
        head: &SignedBytes,
        work: AuditWork<'_>,
    ) -> Result<(), StoreError> {
        let mut b = Batch::new();
        b.put(Cf::Audit, index.to_be_bytes().to_vec(), json(action));
        b.put(Cf::Meta, META_AUDIT_HEAD.to_vec(), json(head));
        if let Some(case) = work.case {
            b.put(Cf::Cases, case.id.0.to_vec(), json(case));
        }
        match work.mute {
            Some(Ok(mute)) => b.put(Cf::MutedReporters, mute.account.as_bytes().to_vec(), json(mute)),
            Some(Err(account)) => b.delete(Cf::MutedReporters, account.as_bytes().to_vec()),
            None => {}
        }
        if let Some(appeal) = work.appeal {
            b.put(Cf::Appeals, appeal.id.0.to_vec(), json(appeal));
        }
        self.write(b).await
    }

    /// Writes an appeal record (one received, or its forward's progress).
    pub async fn put_appeal(&self, appeal: &AppealRecord) -> Result<(), StoreError> {
        let mut b = Batch::new();
        b.put(Cf::Appeals, appeal.id.0.to_vec(), json(appeal));
        self.write(b).await
    }

    /// Every appeal.
    pub fn appeals(&self) -> Result<Vec<AppealRecord>, StoreError> {
        self.scan(Cf::Appeals, b"", b"", true, usize::MAX)?.iter().map(|(_, v)| decode(Cf::Appeals, v)).collect()
    }

    /// The moderator accounts added through the admin endpoint.
    pub fn moderators(&self) -> Result<Vec<ModeratorRecord>, StoreError> {
        self.scan(Cf::Moderators, b"", b"", true, usize::MAX)?.iter().map(|(_, v)| decode(Cf::Moderators, v)).collect()
    }
}

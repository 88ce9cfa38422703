//! The operator's admin endpoint under `/admin` (loopback, bearer token):
//! blocklists, subscriptions, exceptions, evidence, trust and quarantine
//! (spec/blocklists.md §12), reports, moderators and the audit log
//! (spec/reports.md §12), and the federation firewall (spec/federation.md
//! §9).

use crate::curation::{OnRemoval, SubscriptionMode};
use crate::moderation::{ActionReceipt, CaseDetail, CasesQuery, CasesResponse};
use crate::provenance::Provenance;
use accord_formats::Imported;
use accord_proto::audit::{AuditLog, Verdict};
use accord_proto::blocklist::checkpoint::SignedCheckpoint;
use accord_proto::blocklist::equivocation::EquivocationProof;
use accord_proto::blocklist::{Action, Category, ListEntry, TargetKind};
use accord_proto::event::UnverifiedEvent;
use accord_proto::{
    AccountId, EventId, IssuerId, ListId, ListName, NodeId, PdqHash, RoomId, Sha256Hash, SignedBytes, Timestamp,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

crate::endpoint! {
    /// `POST /admin/lists`: a new list issued by the node (spec/blocklists.md §12.2).
    CreateList = Post "/admin/lists", Admin, CreateListRequest => ListCreated
}
crate::endpoint! {
    /// `GET /admin/discover/{peer}`: the lists a peer issues, asked of it
    /// over libp2p (spec/blocklists.md §12.2c). `peer` is a node id or a
    /// p2p address ending in `/p2p/NODE_ID` (its slashes percent-encoded).
    Discover = Get "/admin/discover/{peer}", Admin, () => DiscoverResponse
}
crate::endpoint! {
    /// `GET /admin/lists`: every list held (spec/blocklists.md §12.2).
    ListStatuses = Get "/admin/lists", Admin, () => ListsResponse
}
crate::endpoint! {
    /// `POST /admin/lists/{name}/entries`: logs one `add` entry (spec/blocklists.md §12.2).
    AddEntry = Post "/admin/lists/{name}/entries", Admin, AddEntryRequest => Appended
}
crate::endpoint! {
    /// `GET /admin/lists/{name}/entries`: a list's entries, parsed (spec/blocklists.md §12.2).
    ShowEntries = Get "/admin/lists/{name}/entries", Admin, ShowQuery => EntriesResponse
}
crate::endpoint! {
    /// `POST /admin/lists/{name}/remove`: retracts an entry (spec/blocklists.md §12.2).
    RemoveEntry = Post "/admin/lists/{name}/remove", Admin, RemoveEntryRequest => Appended
}
crate::endpoint! {
    /// `POST /admin/lists/{name}/import`: many entries, one checkpoint (spec/blocklists.md §12.2).
    Import = Post "/admin/lists/{name}/import", Admin, ImportRequest => ImportResponse
}
crate::endpoint! {
    /// `POST /admin/import/parse`: reads a document in a format as an
    /// import would, and answers the entries without logging them, to be
    /// staged (spec/blocklists.md §12.2a).
    ParseImport = Post "/admin/import/parse", Admin, ImportRequest => Parsed
}
crate::endpoint! {
    /// `POST /admin/lists/{name}/stage`: part of a bulk import (spec/blocklists.md §12.2a).
    Stage = Post "/admin/lists/{name}/stage", Admin, StageRequest => Staged
}
crate::endpoint! {
    /// `POST /admin/lists/{name}/commit`: appends everything staged, one
    /// checkpoint (spec/blocklists.md §12.2a).
    Commit = Post "/admin/lists/{name}/commit", Admin, () => Appended
}
crate::endpoint! {
    /// `GET /admin/lists/{name}/export?format=`: the list's active entries
    /// as `text/plain` (spec/blocklists.md §12.2).
    Export = Get "/admin/lists/{name}/export", Admin, ExportQuery => String
}
crate::endpoint! {
    /// `POST /admin/pdq/match`: which PDQ entries an image hash matches
    /// here, each within its list's threshold (spec/blocklists.md §12.2).
    MatchPdq = Post "/admin/pdq/match", Admin, PdqMatchRequest => PdqMatchResponse
}
crate::endpoint! {
    /// `POST /admin/subscriptions` (spec/blocklists.md §12.2).
    Subscribe = Post "/admin/subscriptions", Admin, SubscribeRequest => Subscribed
}
crate::endpoint! {
    /// `POST /admin/subscriptions/remove` (spec/blocklists.md §12.2).
    Unsubscribe = Post "/admin/subscriptions/remove", Admin, UnsubscribeRequest => Unsubscribed
}
crate::endpoint! {
    /// `POST /admin/exceptions`: sets or lifts a local exception (spec/blocklists.md §12.2).
    SetException = Post "/admin/exceptions", Admin, ExceptionRequest => ExceptionSet
}
crate::endpoint! {
    /// `GET /admin/evidence` (spec/blocklists.md §12.2).
    ListEvidence = Get "/admin/evidence", Admin, () => EvidenceResponse
}
crate::endpoint! {
    /// `GET /admin/equivocations`: the equivocation proofs stored (spec/blocklists.md §12.2a).
    ListEquivocations = Get "/admin/equivocations", Admin, () => EquivocationsResponse
}
crate::endpoint! {
    /// `POST /admin/trust`: trusts an equivocating issuer again (spec/blocklists.md §12.2a).
    Trust = Post "/admin/trust", Admin, TrustRequest => Trusted
}
crate::endpoint! {
    /// `GET /admin/quarantine`: events held for review (spec/blocklists.md §12.2a).
    ListQuarantine = Get "/admin/quarantine", Admin, () => QuarantineResponse
}
crate::endpoint! {
    /// `POST /admin/quarantine/release` (spec/blocklists.md §12.2a).
    Release = Post "/admin/quarantine/release", Admin, ReleaseRequest => Released
}
crate::endpoint! {
    /// `GET /admin/reports?state=`: the queue (spec/reports.md §12).
    AdminCases = Get "/admin/reports", Admin, CasesQuery => CasesResponse
}
crate::endpoint! {
    /// `GET /admin/reports/{case}`: one case (spec/reports.md §12).
    AdminCase = Get "/admin/reports/{case}", Admin, () => CaseDetail
}
crate::endpoint! {
    /// `POST /admin/reports/{case}/resolve`: the node signs the action (spec/reports.md §12).
    Resolve = Post "/admin/reports/{case}/resolve", Admin, ResolveRequest => ActionReceipt
}
crate::endpoint! {
    /// `GET /admin/moderators` (spec/reports.md §12).
    ListModerators = Get "/admin/moderators", Admin, () => ModeratorsResponse
}
crate::endpoint! {
    /// `POST /admin/moderators`: adds a moderator account (spec/reports.md §12).
    AddModerator = Post "/admin/moderators", Admin, ModeratorRequest => ModeratorsResponse
}
crate::endpoint! {
    /// `POST /admin/moderators/remove` (spec/reports.md §12); `404
    /// unknown_moderator` for an account that is not one.
    RemoveModerator = Post "/admin/moderators/remove", Admin, ModeratorRequest => ModeratorsResponse
}
crate::endpoint! {
    /// `GET /admin/audit`: the audit log export (spec/reports.md §12).
    AdminAudit = Get "/admin/audit", Admin, () => AuditLog
}
crate::endpoint! {
    /// `GET /admin/audit/verify` (spec/reports.md §12); `409
    /// audit_tampered` when the stored log does not verify.
    VerifyAudit = Get "/admin/audit/verify", Admin, () => AuditVerified
}
crate::endpoint! {
    /// `POST /admin/session`: trades the admin token for a dashboard session
    /// cookie (spec/blocklists.md §12.1a).
    OpenAdminSession = Post "/admin/session", Admin, AdminSessionRequest => AdminSession
}
crate::endpoint! {
    /// `POST /admin/session/logout`: ends the dashboard session of the
    /// request's cookie (spec/blocklists.md §12.1a).
    CloseAdminSession = Post "/admin/session/logout", Admin, () => AdminSessionClosed
}
crate::endpoint! {
    /// `GET /admin/status`: the node at a glance, for the dashboard
    /// (spec/blocklists.md §12.2b).
    NodeStatus = Get "/admin/status", Admin, () => StatusResponse
}
crate::endpoint! {
    /// `GET /admin/peers`: connected and blocked nodes (spec/federation.md §9).
    ListPeers = Get "/admin/peers", Admin, () => PeersResponse
}
crate::endpoint! {
    /// `POST /admin/peers/block`: refuses and drops a node (spec/federation.md §9).
    BlockPeer = Post "/admin/peers/block", Admin, PeerRequest => PeersResponse
}
crate::endpoint! {
    /// `POST /admin/peers/unblock`: accepts a node again (spec/federation.md §9).
    UnblockPeer = Post "/admin/peers/unblock", Admin, PeerRequest => PeersResponse
}

/// What a subscriber does with a category's entries (spec/blocklists.md §11.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Enforce {
    /// Refuse matching content.
    Reject,
    /// Hold matching content for review instead of delivering it.
    Quarantine,
    /// Do nothing.
    Ignore,
}

/// `POST /admin/lists` body (spec/blocklists.md §12.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateListRequest {
    /// The list name (`400 bad_request` if it is not one).
    pub name: String,
    /// What the list is for, shown to peers that discover the node's lists
    /// (at most 1024 bytes, `400 bad_request` otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// `POST /admin/lists` answer (spec/blocklists.md §12.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListCreated {
    /// The new list's id.
    pub list: ListId,
    /// Its size, 0.
    pub size: u64,
    /// Its first checkpoint.
    pub checkpoint: Option<SignedCheckpoint>,
}

/// `GET /admin/discover/{peer}` answer (spec/blocklists.md §12.2c).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscoverResponse {
    /// The peer asked.
    pub node: accord_proto::NodeId,
    /// The lists it issues whose checkpoints verify, by list id.
    pub lists: Vec<DiscoveredList>,
}

/// One list a peer issues, as `GET /admin/discover/{peer}` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscoveredList {
    /// The list id (`ISSUER/NAME`): subscribe with it.
    pub list: ListId,
    /// Its size by the issuer's latest checkpoint.
    pub size: u64,
    /// What the list is for, if the issuer says.
    #[serde(default)]
    pub description: Option<String>,
    /// The C2SP verifier keys of the witnesses the issuer asks to cosign.
    #[serde(default)]
    pub witnesses: Vec<String>,
    /// When the issuer signed that checkpoint (milliseconds since the epoch).
    pub checkpoint_time: Timestamp,
    /// The checkpoint, as the issuer signed it.
    pub checkpoint: SignedCheckpoint,
}

/// `GET /admin/lists` answer (spec/blocklists.md §12.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListsResponse {
    /// Every list held, by list id.
    pub lists: Vec<ListStatus>,
    /// `add` entries indexed that no `remove` retracted, over all lists.
    pub indexed: u64,
    /// The C2SP verifier key of this node's lists' issuer key
    /// (spec/blocklists.md §4.2).
    #[serde(default)]
    pub issuer_vkey: String,
    /// The C2SP verifier key of this node's witness (spec/blocklists.md §13.3).
    #[serde(default)]
    pub witness_vkey: String,
}

/// `STATUS`, one list of `GET /admin/lists` (spec/blocklists.md §12.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListStatus {
    /// The list.
    pub list: ListId,
    /// Issued by this node.
    pub own: bool,
    /// Subscribed (`true` for own lists).
    pub subscribed: bool,
    /// The held size.
    pub size: u64,
    /// Per-category choices (§11.1).
    #[serde(default)]
    pub actions: BTreeMap<Category, Enforce>,
    /// The PDQ distance threshold of the list's image entries (§11.1).
    #[serde(default = "default_pdq_threshold")]
    pub pdq_threshold: u16,
    /// Why the issuer is distrusted, or `null`.
    pub distrusted: Option<String>,
    /// The held checkpoint, or `null`.
    pub checkpoint: Option<SignedCheckpoint>,
    /// How many peers fetched the list from this node in the last ten
    /// minutes: the nodes an append reaches first (spec/blocklists.md §12.2b).
    #[serde(default)]
    pub followers: u64,
    /// The C2SP verifier key of the list's issuer (spec/blocklists.md §4.2).
    #[serde(default)]
    pub vkey: String,
    /// The subscription's mode (spec/blocklists.md §11.7).
    #[serde(default)]
    pub mode: SubscriptionMode,
    /// What an issuer's removal does here (spec/blocklists.md §11.8).
    #[serde(default)]
    pub on_removal: OnRemoval,
    /// The list's priority (spec/blocklists.md §11.9).
    #[serde(default)]
    pub priority: i64,
    /// What an own list is for, as given at its creation (absent if none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

fn reject() -> Action {
    Action::Reject
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// `ADD`, the `POST /admin/lists/{name}/entries` body (spec/blocklists.md §12.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddEntryRequest {
    /// What kind of target.
    pub kind: TargetKind,
    /// The target's text form (64 hex digits for `content`).
    pub id: String,
    /// Log the hashed form of the target.
    #[serde(default, skip_serializing_if = "is_false")]
    pub hashed: bool,
    /// The harm.
    pub category: Category,
    /// The recommended action (default `reject`).
    #[serde(default = "reject")]
    pub action: Action,
    /// Why (at most 1024 bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A hash of the evidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Sha256Hash>,
    /// Seconds from now until the entry expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
}

/// `APPENDED` (spec/blocklists.md §12.2): what an append logged. An empty
/// `commit` logs nothing and answers only `list` and `count` (0).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Appended {
    /// The list.
    pub list: ListId,
    /// The index of the first entry logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first: Option<u64>,
    /// How many entries were logged.
    pub count: u64,
    /// The new checkpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<SignedCheckpoint>,
}

/// `POST /admin/lists/{name}/remove` body (spec/blocklists.md §12.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoveEntryRequest {
    /// The index of the `add` entry to retract.
    pub entry: u64,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `GET /admin/lists/{name}/entries` query (spec/blocklists.md §12.2).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShowQuery {
    /// Any list held, instead of the own list `{name}` (then `-`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list: Option<ListId>,
    /// The first index (default 0).
    #[serde(default)]
    pub from: u64,
    /// How many at most (default 1000, at most 100000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}

/// `ENTRIES`, the `GET /admin/lists/{name}/entries` answer (spec/blocklists.md §12.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntriesResponse {
    /// The list.
    pub list: ListId,
    /// Its held size.
    pub size: u64,
    /// Its held checkpoint, or `null`.
    pub checkpoint: Option<SignedCheckpoint>,
    /// One element per leaf from `from`.
    pub entries: Vec<ShownEntry>,
}

/// One leaf of [`EntriesResponse`]: the entry parsed, or why it does not parse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShownEntry {
    /// The leaf's index.
    pub index: u64,
    /// The entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry: Option<ListEntry>,
    /// For a leaf that does not parse: why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

fn other() -> Category {
    Category::Other
}

/// `POST /admin/lists/{name}/import` body (spec/blocklists.md §12.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportRequest {
    /// `plain`, `mastodon-csv` or `matrix-policy` (§9).
    pub format: String,
    /// The document.
    pub text: String,
    /// The category of rows that name none (default `other`).
    #[serde(default = "other")]
    pub category: Category,
}

/// `POST /admin/lists/{name}/import` answer: `APPENDED` with `skipped`
/// (spec/blocklists.md §12.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportResponse {
    /// What was logged.
    #[serde(flatten)]
    pub appended: Appended,
    /// The rows not imported.
    #[serde(default)]
    pub skipped: Vec<Skipped>,
}

/// A row an import could not map, and why (spec/blocklists.md §9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    /// The line the row starts on, from 1.
    pub line: u64,
    /// The row.
    pub text: String,
    /// Why it was not imported.
    pub why: String,
}

/// `GET /admin/lists/{name}/export` query (spec/blocklists.md §12.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// The format (§9).
    pub format: String,
}

/// `POST /admin/import/parse` answer (spec/blocklists.md §12.2a).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parsed {
    /// The entries read, in the order of the document, as `stage` takes them.
    pub entries: Vec<Imported>,
    /// The rows not read, and why.
    #[serde(default)]
    pub skipped: Vec<Skipped>,
}

/// `POST /admin/lists/{name}/stage` body (spec/blocklists.md §12.2a).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageRequest {
    /// Entries parsed by the caller.
    pub entries: Vec<Imported>,
}

/// `POST /admin/lists/{name}/stage` answer (spec/blocklists.md §12.2a).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Staged {
    /// The list.
    pub list: ListId,
    /// How many entries are staged now.
    pub staged: u64,
}

/// `POST /admin/subscriptions` body (spec/blocklists.md §12.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscribeRequest {
    /// The list.
    pub list: ListId,
    /// Per-category choices (default none).
    #[serde(default)]
    pub actions: BTreeMap<Category, Enforce>,
    /// The largest PDQ distance at which an image matches one of the
    /// list's PDQ entries, 0 to 63 (default 31, spec/blocklists.md §11.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pdq_threshold: Option<u16>,
    /// `apply`, `suggest` or `notify` (spec/blocklists.md §11.7); left
    /// out: as held, `apply` for a new subscription.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<SubscriptionMode>,
    /// `undo` or `keep` (spec/blocklists.md §11.8); left out: as held,
    /// `undo` for a new subscription.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_removal: Option<OnRemoval>,
    /// Higher wins where lists disagree (spec/blocklists.md §11.9); left
    /// out: as held, 0 for a new subscription.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
}

fn default_pdq_threshold() -> u16 {
    accord_proto::pdq::DEFAULT_PDQ_THRESHOLD
}

/// `POST /admin/pdq/match` body: the PDQ hash of an image (spec/blocklists.md §12.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PdqMatchRequest {
    /// The hash.
    pub hash: PdqHash,
}

/// `POST /admin/pdq/match` answer: every PDQ entry that applies here and
/// whose hash is within its list's threshold, nearest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PdqMatchResponse {
    /// The matches.
    pub matches: Vec<PdqMatch>,
}

/// One PDQ match: the entry's provenance and the distance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PdqMatch {
    /// Hamming distance between the hash asked about and the entry's.
    pub distance: u32,
    /// The entry, as provenance (list, entry, category, action taken here, reason).
    pub provenance: Provenance,
}

/// `POST /admin/subscriptions` answer (spec/blocklists.md §12.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscribed {
    /// The list.
    pub list: ListId,
    /// `true`.
    pub subscribed: bool,
    /// The size held now (entries are fetched in the background).
    pub size: u64,
    /// The per-category choices recorded.
    #[serde(default)]
    pub actions: BTreeMap<Category, Enforce>,
    /// The PDQ distance threshold recorded.
    #[serde(default = "default_pdq_threshold")]
    pub pdq_threshold: u16,
    /// Why the issuer is distrusted, or `null`.
    #[serde(default)]
    pub distrusted: Option<String>,
    /// The subscription's mode (spec/blocklists.md §11.7).
    #[serde(default)]
    pub mode: SubscriptionMode,
    /// What an issuer's removal does here (spec/blocklists.md §11.8).
    #[serde(default)]
    pub on_removal: OnRemoval,
    /// The list's priority (spec/blocklists.md §11.9).
    #[serde(default)]
    pub priority: i64,
}

/// `POST /admin/subscriptions/remove` body (spec/blocklists.md §12.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnsubscribeRequest {
    /// The list.
    pub list: ListId,
}

/// `POST /admin/subscriptions/remove` answer (spec/blocklists.md §12.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unsubscribed {
    /// The list.
    pub list: ListId,
    /// `false`.
    pub subscribed: bool,
}

/// `POST /admin/exceptions` body (spec/blocklists.md §12.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExceptionRequest {
    /// The list.
    pub list: ListId,
    /// The entry overridden.
    pub entry: u64,
    /// Why (default `local exception`); not used with `lift`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Lift the exception instead of setting it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub lift: bool,
}

/// `POST /admin/exceptions` answer (spec/blocklists.md §12.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExceptionSet {
    /// The list.
    pub list: ListId,
    /// The entry.
    pub entry: u64,
    /// Whether an exception applies now.
    pub excepted: bool,
}

/// `GET /admin/evidence` answer (spec/blocklists.md §12.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceResponse {
    /// At most 10,000 records, by peer, then event id.
    pub evidence: Vec<Evidence>,
}

/// `EVIDENCE` (spec/federation.md §7.4): a peer relayed an event that a
/// list it declares blocks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// The peer.
    pub peer: NodeId,
    /// The event as the peer pushed it.
    pub event: UnverifiedEvent,
    /// The entry that blocks it.
    pub provenance: Provenance,
    /// The peer's signed policy manifest declaring the list.
    pub manifest: SignedBytes,
    /// The blocking entry's leaf: its exact JSON text in the list's log.
    pub entry: String,
    /// The issuer's signed checkpoint the entry is proved against.
    pub checkpoint: accord_proto::blocklist::SignedCheckpoint,
    /// The inclusion proof of leaf `provenance.entry` in the checkpoint's
    /// tree (spec/blocklists.md §5.1).
    pub inclusion: Vec<accord_proto::Sha256Hash>,
    /// When the node recorded it.
    pub recorded: Timestamp,
}

/// `GET /admin/equivocations` answer (spec/blocklists.md §12.2a).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EquivocationsResponse {
    /// Every proof stored (spec/blocklists.md §6.1), by list id.
    pub proofs: Vec<EquivocationProof>,
}

/// `POST /admin/trust` body (spec/blocklists.md §12.2a).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustRequest {
    /// The issuer trusted again.
    pub issuer: IssuerId,
}

/// `POST /admin/trust` answer (spec/blocklists.md §12.2a).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trusted {
    /// The issuer.
    pub issuer: IssuerId,
    /// Its lists held, enforced again.
    pub lists: Vec<ListId>,
}

/// `GET /admin/quarantine` answer (spec/blocklists.md §12.2a).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarantineResponse {
    /// At most 1000 events held.
    pub quarantine: Vec<Held>,
}

/// One event held for review (spec/blocklists.md §12.2a).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Held {
    /// Its room.
    pub room: RoomId,
    /// Its cursor there.
    pub cursor: u64,
    /// Its id.
    pub event_id: EventId,
    /// The event.
    pub event: UnverifiedEvent,
    /// The `quarantine` entry that holds it.
    pub provenance: Provenance,
}

/// `POST /admin/quarantine/release` body (spec/blocklists.md §12.2a).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseRequest {
    /// The event let through.
    pub event: EventId,
    /// Why (default `released by a moderator`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `POST /admin/quarantine/release` answer (spec/blocklists.md §12.2a).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Released {
    /// The event.
    pub event: EventId,
    /// `true`.
    pub released: bool,
}

/// `POST /admin/reports/{case}/resolve` body (spec/reports.md §12).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResolveRequest {
    /// The decision.
    pub action: Verdict,
    /// The own list written to, for actions that write entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list: Option<ListName>,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// How long a `suspend` lasts (default 7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<u64>,
}

/// `POST /admin/moderators` and `/admin/moderators/remove` body (spec/reports.md §12).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModeratorRequest {
    /// The account.
    pub account: AccountId,
    /// For `POST /admin/moderators`: its role (default `moderator`); an
    /// account that moderates already takes the new role and scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<ModeratorRole>,
    /// For `POST /admin/moderators`: the categories a `moderator` acts on
    /// (empty: every category). An `admin` is never scoped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<accord_proto::blocklist::Category>,
}

impl ModeratorRequest {
    /// A request naming only the account (a remove, or an add as `moderator`
    /// of every category).
    pub fn account(account: AccountId) -> ModeratorRequest {
        ModeratorRequest { account, role: None, categories: vec![] }
    }
}

/// A moderator account's role (spec/reports.md §12.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModeratorRole {
    /// Manages the other moderators' work (assigns cases to anyone) and acts
    /// on every case.
    Admin,
    /// Acts on the cases within its categories (every case when it has none).
    #[default]
    Moderator,
}

impl ModeratorRole {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ModeratorRole::Admin => "admin",
            ModeratorRole::Moderator => "moderator",
        }
    }
}

impl std::str::FromStr for ModeratorRole {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "admin" => Ok(ModeratorRole::Admin),
            "moderator" => Ok(ModeratorRole::Moderator),
            other => Err(format!("unknown role `{other}` (admin, moderator)")),
        }
    }
}

/// The moderators answer (spec/reports.md §12).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModeratorsResponse {
    /// Every moderator account.
    pub moderators: Vec<ModeratorEntry>,
}

/// Where a moderator account comes from (spec/reports.md §12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModeratorSource {
    /// The configuration's `reports.moderators`.
    Config,
    /// Added through the admin endpoint.
    Admin,
}

/// One moderator account (spec/reports.md §12).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModeratorEntry {
    /// The account.
    pub account: AccountId,
    /// Since when (for configured ones: since the node started).
    pub since: Timestamp,
    /// Where it comes from.
    pub source: ModeratorSource,
    /// Its role.
    #[serde(default)]
    pub role: ModeratorRole,
    /// The categories it acts on; empty for every category.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<accord_proto::blocklist::Category>,
}

impl ModeratorEntry {
    /// Whether the moderator may act on a case whose reports have these
    /// categories: an admin, an unscoped moderator, or one whose scope holds
    /// every one of them.
    pub fn covers(&self, categories: &[accord_proto::blocklist::Category]) -> bool {
        self.role == ModeratorRole::Admin
            || self.categories.is_empty()
            || categories.iter().all(|c| self.categories.contains(c))
    }
}

/// `GET /admin/audit/verify` answer for a log that verifies (spec/reports.md §12).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditVerified {
    /// `true`.
    pub ok: bool,
    /// Number of actions.
    pub size: u64,
    /// Their Merkle root.
    pub root: Sha256Hash,
}

/// `POST /admin/peers/block` and `/admin/peers/unblock` body (spec/federation.md §9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerRequest {
    /// The node.
    pub node: NodeId,
}

/// The peers answer (spec/federation.md §9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeersResponse {
    /// The nodes connected now, sorted.
    pub connected: Vec<NodeId>,
    /// The nodes the operator blocked, sorted.
    pub blocked: Vec<NodeId>,
}

/// The header a dashboard request sends with its session cookie: a
/// custom header cannot be sent cross-site without a CORS preflight, which
/// the node never grants (spec/blocklists.md §12.1a).
pub const DASHBOARD_HEADER: &str = "x-accord-dashboard";

/// The name of the dashboard's session cookie (spec/blocklists.md §12.1a).
pub const SESSION_COOKIE: &str = "accord_admin";

/// `POST /admin/session` body (spec/blocklists.md §12.1a).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminSessionRequest {
    /// The admin token (`admin.token` in the data directory).
    pub token: String,
}

/// `POST /admin/session` answer; the session id travels only in the
/// `Set-Cookie` header (spec/blocklists.md §12.1a).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminSession {
    /// When the session ends.
    pub expires: Timestamp,
}

/// `POST /admin/session/logout` answer (spec/blocklists.md §12.1a).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminSessionClosed {
    /// Whether a live session was ended.
    pub ended: bool,
}

/// `GET /admin/status` answer (spec/blocklists.md §12.2b).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusResponse {
    /// The node's id.
    pub node: NodeId,
    /// The node's name.
    pub name: String,
    /// The node software's version.
    pub version: String,
    /// The client API's address.
    pub api: String,
    /// The libp2p listen addresses, each ending in `/p2p/NODE_ID`.
    pub p2p: Vec<String>,
    /// Since when the node runs.
    pub started: Timestamp,
    /// The peers connected now, and those blocked, with their reputation.
    pub peers: Vec<PeerStatus>,
    /// Every list held, with how far behind it is.
    pub lists: Vec<ListLag>,
    /// Key counters.
    pub metrics: KeyMetrics,
}

/// One peer of [`StatusResponse`] (spec/blocklists.md §12.2b).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeerStatus {
    /// The node.
    pub node: NodeId,
    /// A connection is open now.
    pub connected: bool,
    /// Its misbehaviour score now (spec/federation.md §4; cut off at 100).
    pub score: f64,
    /// Cut off for misbehaving, for a while.
    pub penalized: bool,
    /// Blocked by the operator (spec/federation.md §9).
    pub blocked: bool,
    /// The name it claims and whether it verified (spec/names.md §4);
    /// `null` when it claims none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<crate::names::NodeNameStatus>,
    /// Its clock's offset from this node's in milliseconds (positive:
    /// ahead), estimated from the stamps of the events it pushed; absent
    /// when it pushed none since this node started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_offset_ms: Option<i64>,
}

/// One list of [`StatusResponse`]: what is held and what is known to exist
/// (spec/blocklists.md §12.2b).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListLag {
    /// The list.
    pub list: ListId,
    /// Issued by this node.
    pub own: bool,
    /// The held size.
    pub size: u64,
    /// The largest size of a verified checkpoint seen for it (announced or
    /// fetched), at least `size`.
    pub latest: u64,
    /// `latest - size`: entries known to exist but not applied yet.
    pub behind: u64,
    /// When the issuer signed the held checkpoint.
    pub signed: Option<Timestamp>,
    /// When the node last saw a verified checkpoint of the list.
    pub seen: Option<Timestamp>,
    /// Peers that fetched it from this node in the last ten minutes.
    pub followers: u64,
    /// Why the issuer is distrusted, or `null`.
    pub distrusted: Option<String>,
}

/// Key counters of [`StatusResponse`], as `/metrics` has them
/// (spec/blocklists.md §12.2b).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct KeyMetrics {
    /// Accounts registered here.
    pub accounts: u64,
    /// Rooms held.
    pub rooms: u64,
    /// Open live streams.
    pub streams: u64,
    /// Events accepted from local clients since the start.
    pub events_accepted: u64,
    /// Events received from peers and stored since the start.
    pub events_received: u64,
    /// List entries received, verified and applied since the start.
    pub list_entries_applied: u64,
    /// `add` entries indexed that no `remove` retracted.
    pub indexed: u64,
    /// Open report cases.
    pub open_cases: u64,
    /// Evidence recorded against peers since the start.
    pub evidence: u64,
}

/// `POST /admin/backup`: a consistent copy of the running node's store
/// (spec/blocklists.md §12.1, docs/operating.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupRequest {
    /// The absolute path, on the node's machine, of the directory the copy
    /// is made in; it must not exist (its parent must).
    pub to: String,
}

/// What a backup holds: `POST /admin/backup` answers it, and
/// `accord-node backup` keeps it as `backup.json` beside the copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupManifest {
    /// The node whose store it is.
    pub node: NodeId,
    /// The store's schema version.
    pub schema: u32,
    /// When the copy was made.
    pub taken: Timestamp,
    /// Every room in the copy, by id.
    pub rooms: Vec<BackupRoom>,
}

/// One room as a backup holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupRoom {
    /// The room.
    pub room: RoomId,
    /// The last cursor of the node's timeline of the room in the copy.
    pub last_cursor: u64,
    /// How many events the room's order accepts.
    pub accepted: u64,
    /// The room's history hash over them (spec/events.md).
    pub history_hash: Sha256Hash,
}

//! How an operator curates what subscribed lists do on the node
//! (spec/blocklists.md §11.7–§11.10): a subscription's mode (`apply`,
//! `suggest`, `notify`), what an issuer's removal does (`undo`, `keep`),
//! its priority, the suggestions waiting for approval, the entries kept
//! after their removal, and the operators' private notes on entries.

use accord_proto::blocklist::{Action, Category, TargetKind};
use accord_proto::{ListId, Sha256Hash, Timestamp};
use serde::{Deserialize, Serialize};

crate::endpoint! {
    /// `GET /admin/suggestions`: suggested and noted entries (spec/blocklists.md §12.2d).
    ListSuggestions = Get "/admin/suggestions", Admin, SuggestionsQuery => SuggestionsResponse
}
crate::endpoint! {
    /// `POST /admin/suggestions/approve`: pending suggestions start to
    /// apply, at once (spec/blocklists.md §12.2d).
    ApproveSuggestions = Post "/admin/suggestions/approve", Admin, DecideRequest => DecideResponse
}
crate::endpoint! {
    /// `POST /admin/suggestions/decline`: pending suggestions are declined
    /// for good (spec/blocklists.md §12.2d).
    DeclineSuggestions = Post "/admin/suggestions/decline", Admin, DecideRequest => DecideResponse
}
crate::endpoint! {
    /// `GET /admin/kept`: entries kept after their issuer removed them
    /// (spec/blocklists.md §12.2d).
    ListKept = Get "/admin/kept", Admin, KeptQuery => KeptResponse
}
crate::endpoint! {
    /// `GET /admin/notes`: private notes on list entries (spec/blocklists.md §12.2d).
    ListNotes = Get "/admin/notes", Admin, NotesQuery => NotesResponse
}
crate::endpoint! {
    /// `POST /admin/notes`: adds a private note to a list entry (spec/blocklists.md §12.2d).
    AddNote = Post "/admin/notes", Admin, NoteRequest => Note
}

crate::endpoint! {
    /// `GET /v1/mod/list-notes`: a moderator reads the private notes on a
    /// list's entries (spec/blocklists.md §11.10).
    ModListNotes = Get "/v1/mod/list-notes", Moderator, NotesQuery => NotesResponse
}
crate::endpoint! {
    /// `POST /v1/mod/list-notes`: a moderator adds a private note, under
    /// their account id (spec/blocklists.md §11.10).
    ModAddListNote = Post "/v1/mod/list-notes", Moderator, ModNoteRequest => Note
}

/// What a subscription does with the entries that arrive (spec/blocklists.md §11.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionMode {
    /// Entries apply as they arrive.
    #[default]
    Apply,
    /// Entries are suggestions: each applies once an operator approves it.
    Suggest,
    /// Entries are recorded and shown, never applied.
    Notify,
}

impl SubscriptionMode {
    /// Whether this is the default, `apply` (left out of records).
    pub fn is_apply(&self) -> bool {
        *self == SubscriptionMode::Apply
    }
}

/// What an issuer's `remove` entry does here (spec/blocklists.md §11.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnRemoval {
    /// The entry stops applying.
    #[default]
    Undo,
    /// The entry keeps applying, as the operator's own decision.
    Keep,
}

impl OnRemoval {
    /// Whether this is the default, `undo` (left out of records).
    pub fn is_undo(&self) -> bool {
        *self == OnRemoval::Undo
    }
}

/// Where a suggested or noted entry stands (spec/blocklists.md §11.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuggestionState {
    /// Waiting for an operator (`suggest`).
    Pending,
    /// Approved: it applies.
    Approved,
    /// Declined: it does not apply, and its target is not suggested again
    /// by the same list.
    Declined,
    /// Recorded by a `notify` subscription: never applies.
    Noted,
    /// The issuer removed it before anyone decided.
    Withdrawn,
}

/// Who decided about an entry, when and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// Who: `operator` unless the request named someone.
    pub by: String,
    /// When.
    pub at: Timestamp,
    /// Why, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `SUGGESTION`: an entry of a `suggest` or `notify` subscription
/// (spec/blocklists.md §12.2d).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suggestion {
    /// The list.
    pub list: ListId,
    /// The entry's index in the list's log.
    pub entry: u64,
    /// Where it stands.
    pub state: SuggestionState,
    /// The kind of its target.
    pub kind: TargetKind,
    /// Its target hash (spec/blocklists.md §2): what a declined
    /// suggestion is remembered by.
    pub target: Sha256Hash,
    /// The entry's category.
    pub category: Category,
    /// The entry's recommended action.
    pub action: Action,
    /// The entry's reason, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When it arrived here.
    pub arrived: Timestamp,
    /// The approval or refusal, once decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
}

/// `GET /admin/suggestions` query (spec/blocklists.md §12.2d).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuggestionsQuery {
    /// Only this list's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list: Option<ListId>,
    /// Only those in this state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<SuggestionState>,
}

/// `GET /admin/suggestions` answer (spec/blocklists.md §12.2d).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuggestionsResponse {
    /// By list id, then entry; at most 10,000.
    pub suggestions: Vec<Suggestion>,
}

/// `POST /admin/suggestions/approve` and `…/decline` body: the pending
/// suggestions of one list decided, by index, by category, or all
/// (spec/blocklists.md §12.2d).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecideRequest {
    /// The list.
    pub list: ListId,
    /// These entries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entries: Vec<u64>,
    /// Every pending suggestion of this category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<Category>,
    /// Every pending suggestion of the list.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub all: bool,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Who decides (default `operator`), at most 128 bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}

/// `POST /admin/suggestions/approve` and `…/decline` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecideResponse {
    /// The list.
    pub list: ListId,
    /// The entries decided now, in order.
    pub entries: Vec<u64>,
    /// Their new state.
    pub state: SuggestionState,
}

/// `KEPT`: an entry whose issuer removed it, kept here (spec/blocklists.md §11.8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kept {
    /// The list.
    pub list: ListId,
    /// The entry kept.
    pub entry: u64,
    /// The issuer's `remove` entry.
    pub removed_by: u64,
    /// When the removal was applied here.
    pub at: Timestamp,
    /// `kept after removal by ISSUER/NAME at TIME`.
    pub reason: String,
}

/// `GET /admin/kept` query.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeptQuery {
    /// Only this list's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list: Option<ListId>,
}

/// `GET /admin/kept` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeptResponse {
    /// By list id, then entry.
    pub kept: Vec<Kept>,
}

/// `NOTE`: an operator's private note on a list entry, never published
/// (spec/blocklists.md §11.10).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    /// The list.
    pub list: ListId,
    /// The entry.
    pub entry: u64,
    /// Who wrote it.
    pub by: String,
    /// When.
    pub at: Timestamp,
    /// The note, at most 4096 bytes.
    pub text: String,
}

/// `POST /admin/notes` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoteRequest {
    /// The list.
    pub list: ListId,
    /// The entry.
    pub entry: u64,
    /// The note (1 to 4096 bytes).
    pub text: String,
    /// Who writes it (default `operator`), at most 128 bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}

/// `POST /v1/mod/list-notes` body: the note is the session's moderator's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModNoteRequest {
    /// The list.
    pub list: ListId,
    /// The entry.
    pub entry: u64,
    /// The note (1 to 4096 bytes).
    pub text: String,
}

/// `GET /admin/notes` query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotesQuery {
    /// The list.
    pub list: ListId,
    /// Only this entry's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry: Option<u64>,
}

/// `GET /admin/notes` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotesResponse {
    /// By entry, then time.
    pub notes: Vec<Note>,
}

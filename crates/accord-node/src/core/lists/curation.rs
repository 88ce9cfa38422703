//! What an operator decides about subscribed lists beyond their actions
//! (spec/blocklists.md §11.7–§11.10): entries that arrive as suggestions
//! (`suggest`) or notices (`notify`), approvals and refusals, entries kept
//! after their issuer removed them (`on_removal = "keep"`), and private
//! notes on entries, which are kept in the store and never published.

use super::{ListError, Lists};
use accord_api::curation::{Decision, SuggestionState};
use accord_api::provenance::{DecisionKind, LocalDecision};
use accord_proto::blocklist::entry::{Category, ListEntry, TargetKind};
use accord_proto::{ListId, Sha256Hash, Timestamp};
use accord_store::{
    Arrivals, Enforce, Kept, ListRecord, Note, OnRemoval, Store, StoreError, SubscriptionMode, Suggestion,
};
use std::collections::{BTreeMap, HashMap};

/// Longest private note, in bytes.
pub const MAX_NOTE: usize = 4096;
/// Longest name of who decides or writes a note, in bytes.
pub const MAX_BY: usize = 128;
/// Most suggestions one listing answers.
pub const MAX_LISTED: usize = 10_000;

/// How a subscription is followed (spec/blocklists.md §11.1, §11.7–§11.9).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// Per-category choices.
    pub actions: BTreeMap<Category, Enforce>,
    /// The PDQ distance threshold (default 31).
    pub pdq_threshold: Option<u16>,
    /// `apply`, `suggest` or `notify` (own lists are always `apply`).
    pub mode: SubscriptionMode,
    /// What an issuer's removal does here (own lists: `undo`).
    pub on_removal: OnRemoval,
    /// Higher wins where lists disagree.
    pub priority: i64,
}

/// What applying a range did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Applied {
    /// Leaves applied.
    pub leaves: usize,
    /// Entries that arrived as suggestions (`suggest`), pending.
    pub suggested: usize,
    /// Entries recorded as notices (`notify`).
    pub noted: usize,
    /// Entries kept after the issuer removed them.
    pub kept: usize,
}

pub(super) fn applied(leaves: usize, arrivals: &Arrivals) -> Applied {
    let count = |state| arrivals.suggestions.iter().filter(|s| s.state == state).count();
    Applied {
        leaves,
        suggested: count(SuggestionState::Pending),
        noted: count(SuggestionState::Noted),
        kept: arrivals.kept.len(),
    }
}

/// Which pending suggestions of a list a decision takes: those named,
/// those of a category, or all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// These entries.
    pub entries: Vec<u64>,
    /// Every pending suggestion of this category.
    pub category: Option<Category>,
    /// Every pending suggestion.
    pub all: bool,
}

impl Selection {
    fn takes(&self, s: &Suggestion) -> bool {
        self.all || self.entries.contains(&s.entry) || self.category == Some(s.category)
    }

    fn is_empty(&self) -> bool {
        !self.all && self.entries.is_empty() && self.category.is_none()
    }
}

/// `kept after removal by ISSUER/NAME at TIME` (TIME in RFC 3339, UTC).
fn kept_reason(list: &ListId, at: Timestamp) -> String {
    let time = chrono::DateTime::from_timestamp_millis(at.as_millis() as i64)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| at.to_string());
    format!("kept after removal by {list} at {time}")
}

/// The declined suggestions of a list, by target: a target declined once
/// is not suggested again by the same list.
fn declined(store: &Store, list: &ListId) -> Result<HashMap<(TargetKind, Sha256Hash), Suggestion>, StoreError> {
    Ok(store
        .suggestions(list)?
        .into_iter()
        .filter(|s| s.state == SuggestionState::Declined)
        .map(|s| ((s.kind, s.target), s))
        .collect())
}

/// The suggestion (or notice) an `add` entry makes under `record`'s mode;
/// none in `apply` mode.
fn suggest(
    record: &ListRecord,
    entry: u64,
    leaf: &ListEntry,
    declined: &HashMap<(TargetKind, Sha256Hash), Suggestion>,
    now: Timestamp,
) -> Option<Suggestion> {
    let ListEntry::Add { target, category, action, reason, .. } = leaf else { return None };
    let state = match record.mode {
        SubscriptionMode::Apply => return None,
        SubscriptionMode::Suggest => SuggestionState::Pending,
        SubscriptionMode::Notify => SuggestionState::Noted,
    };
    let (kind, target) = target.index_key();
    let mut s = Suggestion {
        list: record.list.clone(),
        entry,
        state,
        kind,
        target,
        category: *category,
        action: *action,
        reason: reason.as_ref().map(|r| r.as_str().to_owned()),
        arrived: now,
        decision: None,
    };
    if let (SuggestionState::Pending, Some(before)) = (state, declined.get(&(kind, target))) {
        s.state = SuggestionState::Declined;
        s.decision = Some(Decision {
            by: before.decision.as_ref().map_or_else(|| "operator".into(), |d| d.by.clone()),
            at: now,
            reason: Some(format!("declined before as entry {}", before.entry)),
        });
    }
    Some(s)
}

/// What a range of leaves `from..` brings besides itself, under the
/// subscription `record` (before the range): suggestions or notices for
/// its `add` entries; for its `remove` entries, suggestions withdrawn and
/// entries kept (`keep`) that applied here.
pub(super) fn arrivals(
    store: &Store,
    record: &ListRecord,
    from: u64,
    leaves: &[Vec<u8>],
) -> Result<Arrivals, StoreError> {
    let list = &record.list;
    let mut out = Arrivals::default();
    if record.own || (record.mode == SubscriptionMode::Apply && record.on_removal == OnRemoval::Undo) {
        return Ok(out);
    }
    let now = Timestamp::now();
    let declined = if record.mode == SubscriptionMode::Suggest { declined(store, list)? } else { HashMap::new() };
    let mut fresh: BTreeMap<u64, Suggestion> = BTreeMap::new();
    let parsed: Vec<Option<ListEntry>> = leaves.iter().map(|l| ListEntry::parse(l).ok()).collect();
    for (i, leaf) in parsed.iter().enumerate() {
        let at = from + i as u64;
        match leaf {
            Some(add @ ListEntry::Add { .. }) => {
                if let Some(s) = suggest(record, at, add, &declined, now) {
                    fresh.insert(at, s);
                }
            }
            Some(ListEntry::Remove { entry, .. }) if *entry < at => {
                let is_add = match entry.checked_sub(from) {
                    Some(k) => matches!(parsed.get(k as usize), Some(Some(ListEntry::Add { .. }))),
                    None => store
                        .list_leaf(list, *entry)?
                        .is_some_and(|l| matches!(ListEntry::parse(&l), Ok(ListEntry::Add { .. }))),
                };
                if !is_add {
                    continue;
                }
                let suggestion = match fresh.get(entry) {
                    Some(s) => Some(s.clone()),
                    None => store.suggestion(list, *entry)?,
                };
                let applied = match record.mode {
                    SubscriptionMode::Apply => true,
                    SubscriptionMode::Suggest => {
                        suggestion.as_ref().is_some_and(|s| s.state == SuggestionState::Approved)
                    }
                    SubscriptionMode::Notify => false,
                };
                if let Some(mut s) = suggestion
                    && matches!(s.state, SuggestionState::Pending | SuggestionState::Noted)
                {
                    s.state = SuggestionState::Withdrawn;
                    fresh.insert(*entry, s);
                }
                let already = out.kept.iter().any(|k| k.entry == *entry) || store.kept_entry(list, *entry)?.is_some();
                if applied && record.on_removal == OnRemoval::Keep && !already {
                    out.kept.push(Kept {
                        list: list.clone(),
                        entry: *entry,
                        removed_by: at,
                        at: now,
                        reason: kept_reason(list, now),
                    });
                }
            }
            _ => {}
        }
    }
    out.suggestions = fresh.into_values().collect();
    Ok(out)
}

/// The suggestions (or notices) the active entries of a list held make
/// when its subscription switches to `suggest` or `notify`: each active
/// `add` without a record gets one, and a notice becomes a pending
/// suggestion under `suggest`.
pub(super) fn held_arrivals(store: &Store, record: &ListRecord) -> Result<Arrivals, StoreError> {
    let list = &record.list;
    let kept: std::collections::HashSet<u64> = store.kept(list)?.into_iter().map(|k| k.entry).collect();
    let mut active: BTreeMap<u64, ListEntry> = BTreeMap::new();
    let mut at = 0;
    while at < record.size {
        let leaves = store.list_leaves(list, at..record.size, 65_536)?;
        if leaves.is_empty() {
            break;
        }
        for leaf in &leaves {
            match ListEntry::parse(leaf) {
                Ok(add @ ListEntry::Add { .. }) => {
                    active.insert(at, add);
                }
                Ok(ListEntry::Remove { entry, .. }) if !kept.contains(&entry) => {
                    active.remove(&entry);
                }
                _ => {}
            }
            at += 1;
        }
    }
    let existing: HashMap<u64, Suggestion> = store.suggestions(list)?.into_iter().map(|s| (s.entry, s)).collect();
    let declined = if record.mode == SubscriptionMode::Suggest { declined(store, list)? } else { HashMap::new() };
    let now = Timestamp::now();
    let mut out = Arrivals::default();
    for (entry, add) in &active {
        match existing.get(entry) {
            None => out.suggestions.extend(suggest(record, *entry, add, &declined, now)),
            Some(s) if s.state == SuggestionState::Noted && record.mode == SubscriptionMode::Suggest => {
                out.suggestions.push(Suggestion { state: SuggestionState::Pending, ..s.clone() });
            }
            Some(_) => {}
        }
    }
    Ok(out)
}

/// The operator's decision that makes entry `entry` of `list` apply here,
/// if one does: kept after its removal, or approved under `suggest`.
pub(super) fn decision(
    store: &Store,
    list: &ListId,
    entry: u64,
    mode: SubscriptionMode,
    kept: bool,
) -> Option<LocalDecision> {
    if kept && let Some(k) = store.kept_entry(list, entry).ok().flatten() {
        return Some(LocalDecision {
            kind: DecisionKind::Kept,
            by: "operator".into(),
            at: k.at,
            reason: Some(k.reason),
        });
    }
    if mode != SubscriptionMode::Suggest {
        return None;
    }
    let s = store.suggestion(list, entry).ok().flatten()?;
    let d = s.decision.filter(|_| s.state == SuggestionState::Approved)?;
    Some(LocalDecision { kind: DecisionKind::Approved, by: d.by, at: d.at, reason: d.reason })
}

fn by(name: Option<String>) -> Result<String, ListError> {
    let name = name.unwrap_or_else(|| "operator".into());
    if name.is_empty() || name.len() > MAX_BY || name.chars().any(char::is_control) {
        return Err(ListError::BadEntry(format!("`by` is 1 to {MAX_BY} bytes of text")));
    }
    Ok(name)
}

impl Lists {
    /// Approves (`approve`) or declines pending suggestions of a `suggest`
    /// subscription. Approved entries apply at once: the index is changed
    /// before this returns. Returns the entries decided.
    pub async fn decide(
        &self,
        store: &Store,
        list: &ListId,
        selection: &Selection,
        approve: bool,
        who: Option<String>,
        reason: Option<String>,
    ) -> Result<Vec<u64>, ListError> {
        let who = by(who)?;
        if selection.is_empty() {
            return Err(ListError::BadEntry("name entries, a category, or all".into()));
        }
        let logs = self.logs.lock().await;
        let held = logs.get(list).ok_or(ListError::UnknownList)?;
        if held.record.mode != SubscriptionMode::Suggest {
            return Err(ListError::NotSuggest);
        }
        let (state, now) =
            (if approve { SuggestionState::Approved } else { SuggestionState::Declined }, Timestamp::now());
        let decided: Vec<Suggestion> = store
            .suggestions(list)?
            .into_iter()
            .filter(|s| s.state == SuggestionState::Pending && selection.takes(s))
            .map(|s| Suggestion {
                state,
                decision: Some(Decision { by: who.clone(), at: now, reason: reason.clone() }),
                ..s
            })
            .collect();
        store.put_arrivals(&Arrivals { suggestions: decided.clone(), kept: Vec::new() }).await?;
        if approve && !decided.is_empty() {
            let mut index = self.index();
            for s in &decided {
                index.approve(list, s.entry);
            }
        }
        drop(logs);
        tracing::info!(list = %list, count = decided.len(), approve, by = %who, "suggestions decided");
        Ok(decided.into_iter().map(|s| s.entry).collect())
    }

    /// The suggestions and notices recorded, of one list or all, in one
    /// state or all, by list id then entry (at most [`MAX_LISTED`]).
    pub async fn suggestions(
        &self,
        store: &Store,
        list: Option<&ListId>,
        state: Option<SuggestionState>,
    ) -> Result<Vec<Suggestion>, ListError> {
        let lists = self.lists_named(list).await?;
        let mut out = Vec::new();
        for l in &lists {
            out.extend(store.suggestions(l)?.into_iter().filter(|s| state.is_none_or(|st| s.state == st)));
            if out.len() >= MAX_LISTED {
                out.truncate(MAX_LISTED);
                break;
            }
        }
        Ok(out)
    }

    /// The entries kept after their removal, of one list or all.
    pub async fn kept(&self, store: &Store, list: Option<&ListId>) -> Result<Vec<Kept>, ListError> {
        let mut out = Vec::new();
        for l in &self.lists_named(list).await? {
            out.extend(store.kept(l)?);
        }
        Ok(out)
    }

    async fn lists_named(&self, list: Option<&ListId>) -> Result<Vec<ListId>, ListError> {
        let logs = self.logs.lock().await;
        let mut lists: Vec<ListId> = match list {
            Some(l) if logs.contains_key(l) => vec![l.clone()],
            Some(_) => return Err(ListError::UnknownList),
            None => logs.keys().cloned().collect(),
        };
        lists.sort();
        Ok(lists)
    }

    /// Keeps a private note on entry `entry` of a list held (below its
    /// held size). Notes are stored apart from the list and never sent.
    pub async fn add_note(
        &self,
        store: &Store,
        list: &ListId,
        entry: u64,
        text: String,
        who: Option<String>,
    ) -> Result<Note, ListError> {
        let who = by(who)?;
        if text.trim().is_empty() || text.len() > MAX_NOTE {
            return Err(ListError::BadEntry(format!("a note is 1 to {MAX_NOTE} bytes")));
        }
        // Held until the note is written: an entry's notes are stored one at
        // a time, each later than the one before (they are kept by time).
        let logs = self.logs.lock().await;
        let held = logs.get(list).ok_or(ListError::UnknownList)?;
        if entry >= held.record.size {
            return Err(ListError::BadEntry(format!("the list has no entry {entry}")));
        }
        let after = store.notes(list, Some(entry))?.last().map(|n| n.at.plus_millis(1));
        let at = after.map_or_else(Timestamp::now, |after| after.max(Timestamp::now()));
        let note = Note { list: list.clone(), entry, by: who, at, text };
        store.put_note(&note).await?;
        drop(logs);
        Ok(note)
    }

    /// The private notes on a list's entries (one entry's, with `entry`).
    pub async fn notes(&self, store: &Store, list: &ListId, entry: Option<u64>) -> Result<Vec<Note>, ListError> {
        self.lists_named(Some(list)).await?;
        Ok(store.notes(list, entry)?)
    }
}

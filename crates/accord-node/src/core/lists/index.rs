//! The enforcement index: every active `add` entry of every enforced list,
//! keyed by `(target kind, target hash)` (spec/blocklists.md §2), so that
//! checking an event is a few hash-map probes, not a scan.

use accord_pdq::{PdqHash, PdqIndex};
use accord_proto::blocklist::entry::{Action, Category, TargetKind};
use accord_proto::{ListId, Sha256Hash, Timestamp};
use accord_store::{Enforce, SubscriptionMode};
use std::collections::{BTreeMap, HashMap, HashSet};

pub use accord_api::Provenance;
pub use accord_api::provenance::Verdict;

/// One active entry: 16 bytes, so that a million-entry list stays small.
#[derive(Debug, Clone, Copy)]
struct Hit {
    entry: u64,
    list: u32,
    kind: TargetKind,
    category: Category,
    action: Action,
    /// Whether the entry has an expiry time (in `Index::expiry`).
    expires: bool,
}

/// How a list is enforced here.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Enforced at all (own lists and subscriptions, not distrusted).
    pub enforced: bool,
    /// Per-category choices.
    pub actions: BTreeMap<Category, Enforce>,
    /// The PDQ distance within which an image matches the list's PDQ
    /// entries.
    pub pdq_threshold: u16,
    /// `apply`: every entry applies; `suggest`: approved entries only;
    /// `notify`: none (spec/blocklists.md §11.7).
    pub mode: SubscriptionMode,
    /// Where lists disagree about a target, the highest priority decides
    /// (spec/blocklists.md §11.9).
    pub priority: i64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            enforced: false,
            actions: BTreeMap::new(),
            pdq_threshold: accord_proto::pdq::DEFAULT_PDQ_THRESHOLD,
            mode: SubscriptionMode::Apply,
            priority: 0,
        }
    }
}

/// The tables' hasher: the keys are SHA-256 outputs, so a fast hash with a
/// random per-process seed keeps flooding resistance at a fraction of
/// SipHash's cost.
type Keyed = foldhash::fast::RandomState;

/// The index.
///
/// Laid out for millions of entries: the table maps a target hash (which
/// already names the kind of target) to a 4-byte slot in an arena of
/// 16-byte hits, about 90 bytes an entry with the table's free space. The
/// rare second hit of one target (several lists name it) is kept apart.
#[derive(Debug, Default)]
pub struct Index {
    lists: Vec<ListId>,
    /// Looked up for every entry indexed.
    slots: HashMap<ListId, u32, Keyed>,
    /// The slot of the list last added to (a range's entries are all of
    /// one list): a slot never changes once given.
    last_slot: Option<(u32, ListId)>,
    policies: Vec<Policy>,
    /// The first hit of each target hash: a slot in `arena`.
    first: HashMap<Sha256Hash, u32, Keyed>,
    /// Hits of a target hash after the first one.
    more: HashMap<Sha256Hash, Vec<Hit>, Keyed>,
    arena: Vec<Hit>,
    /// Arena slots free for reuse.
    free: Vec<u32>,
    /// Expiry times, by `(list, entry)`, of the entries that have one.
    expiry: HashMap<(u32, u64), Timestamp>,
    exceptions: HashSet<(u32, u64)>,
    /// Suggestions an operator approved (they apply in `suggest` mode).
    approved: HashSet<(u32, u64)>,
    /// Entries kept after their issuer removed them.
    kept: HashSet<(u32, u64)>,
    len: usize,
    /// The PDQ entries (also in the tables above, under their target
    /// hash): matched by distance, through a multi-index.
    pdq: PdqIndex<(u32, u64)>,
    /// Category and recommended action of each PDQ entry.
    pdq_entries: HashMap<(u32, u64), (Category, Action)>,
    /// Whether a `domain` entry was ever indexed (since the node started):
    /// peers' names are checked only when one may match.
    any_domain: bool,
}

/// A match: the entry and the action this node takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Match {
    /// The list.
    pub list: u32,
    /// The entry index.
    pub entry: u64,
    /// The entry's category.
    pub category: Category,
    /// The action taken here.
    pub action: Action,
    /// Whether lists of lower priority also spoke about the target and
    /// were outranked (see [`Index::votes`]).
    pub outranked: bool,
}

/// What one entry says about a target here, with its list's priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vote {
    /// The list's slot.
    pub list: u32,
    /// The entry.
    pub entry: u64,
    /// The list's priority.
    pub priority: i64,
    /// The entry's category.
    pub category: Category,
    /// Refuse, hold, or let through (an excepted entry).
    pub verdict: Verdict,
}

impl Index {
    /// Makes room for `additional` more target hashes (a range about to
    /// be indexed), so that the table is not grown step by step.
    pub fn reserve(&mut self, additional: usize) {
        self.first.reserve(additional);
        self.arena.reserve(additional.saturating_sub(self.free.len()));
    }

    /// The slot of a list, made on first use.
    pub fn slot(&mut self, list: &ListId) -> u32 {
        if let Some(slot) = self.slots.get(list) {
            return *slot;
        }
        let slot = self.lists.len() as u32;
        self.lists.push(list.clone());
        self.policies.push(Policy::default());
        self.slots.insert(list.clone(), slot);
        slot
    }

    /// The list in a slot.
    pub fn list(&self, slot: u32) -> Option<&ListId> {
        self.lists.get(slot as usize)
    }

    /// Sets how a list is enforced.
    pub fn set_policy(&mut self, list: &ListId, policy: Policy) {
        let slot = self.slot(list);
        self.policies[slot as usize] = policy;
    }

    /// Adds an active entry.
    pub fn add(
        &mut self,
        list: &ListId,
        entry: u64,
        key: (TargetKind, Sha256Hash),
        category: Category,
        action: Action,
        expires: Option<Timestamp>,
    ) {
        let slot = match self.last_slot {
            Some((at, ref last)) if last == list => at,
            _ => {
                let slot = self.slot(list);
                self.last_slot = Some((slot, list.clone()));
                slot
            }
        };
        self.any_domain |= key.0 == TargetKind::Domain;
        let hit = Hit { entry, list: slot, kind: key.0, category, action, expires: expires.is_some() };
        if let Some(at) = expires {
            self.expiry.insert((slot, entry), at);
        }
        self.len += 1;
        match self.first.entry(key.1) {
            std::collections::hash_map::Entry::Occupied(_) => self.more.entry(key.1).or_default().push(hit),
            std::collections::hash_map::Entry::Vacant(vacant) => {
                let at = match self.free.pop() {
                    Some(at) => {
                        self.arena[at as usize] = hit;
                        at
                    }
                    None => {
                        self.arena.push(hit);
                        (self.arena.len() - 1) as u32
                    }
                };
                vacant.insert(at);
            }
        }
    }

    /// Adds an active PDQ entry (besides [`Index::add`], which keeps its
    /// expiry and exact key).
    pub fn add_pdq(&mut self, list: &ListId, entry: u64, hash: PdqHash, category: Category, action: Action) {
        let slot = self.slot(list);
        self.pdq.insert(hash, (slot, entry));
        self.pdq_entries.insert((slot, entry), (category, action));
    }

    /// Retracts a PDQ entry.
    pub fn remove_pdq(&mut self, list: &ListId, entry: u64) {
        let slot = self.slot(list);
        self.pdq.remove(&(slot, entry));
        self.pdq_entries.remove(&(slot, entry));
    }

    /// Builds the PDQ multi-index over every PDQ entry (after loading).
    pub fn build_pdq(&mut self) {
        self.pdq.rebuild();
    }

    /// Number of PDQ entries indexed.
    pub fn pdq_len(&self) -> usize {
        self.pdq.len()
    }

    /// Every PDQ entry that applies to an image whose hash is `hash`, each
    /// within its list's threshold, with the action taken here and the
    /// distance, nearest first.
    pub fn lookup_pdq(&self, hash: &PdqHash, now: Timestamp) -> Vec<(Match, u32)> {
        let widest = self.policies.iter().filter(|p| p.enforced).map(|p| p.pdq_threshold).max();
        let Some(widest) = widest else { return Vec::new() };
        let mut out = Vec::new();
        for found in self.pdq.query(hash, u32::from(widest)) {
            let (list, entry) = found.value;
            let Some(policy) = self.policies.get(list as usize) else { continue };
            if found.distance > u32::from(policy.pdq_threshold) {
                continue;
            }
            let Some(&(category, recommended)) = self.pdq_entries.get(&(list, entry)) else { continue };
            let action = match self.vote(list, entry, category, recommended, true, now) {
                Some(Vote { verdict: Verdict::Reject, .. }) => Action::Reject,
                Some(Vote { verdict: Verdict::Quarantine, .. }) => Action::Quarantine,
                _ => continue,
            };
            out.push((Match { list, entry, category, action, outranked: false }, found.distance));
        }
        out.sort_by_key(|(m, d)| (*d, m.action != Action::Reject, m.list, m.entry));
        out
    }

    /// Retracts entry `entry` of a list (a `remove` entry); `key` is the
    /// retracted entry's target.
    pub fn remove(&mut self, list: &ListId, entry: u64, key: (TargetKind, Sha256Hash)) {
        let slot = self.slot(list);
        let is_it = |h: &Hit| h.list == slot && h.entry == entry;
        self.expiry.remove(&(slot, entry));
        if let Some(more) = self.more.get_mut(&key.1) {
            let before = more.len();
            more.retain(|h| !is_it(h));
            self.len -= before - more.len();
        }
        if let Some(&at) = self.first.get(&key.1)
            && is_it(&self.arena[at as usize])
        {
            self.len -= 1;
            self.promote_or_free(key.1, at);
        }
        if self.more.get(&key.1).is_some_and(Vec::is_empty) {
            self.more.remove(&key.1);
        }
    }

    /// The first hit of `hash`, in arena slot `at`, is gone: the next hit
    /// of the hash takes its slot, or the slot is freed.
    fn promote_or_free(&mut self, hash: Sha256Hash, at: u32) {
        match self.more.get_mut(&hash).and_then(Vec::pop) {
            Some(next) => self.arena[at as usize] = next,
            None => {
                self.first.remove(&hash);
                self.free.push(at);
            }
        }
    }

    /// Forgets every entry of a list (before it is indexed anew).
    pub fn clear_list(&mut self, list: &ListId) {
        let slot = self.slot(list);
        self.more.retain(|_, hits| {
            hits.retain(|h| h.list != slot);
            !hits.is_empty()
        });
        let (arena, more, free) = (&mut self.arena, &mut self.more, &mut self.free);
        self.first.retain(|hash, at| {
            if arena[*at as usize].list != slot {
                return true;
            }
            match more.get_mut(hash).and_then(Vec::pop) {
                Some(next) => {
                    arena[*at as usize] = next;
                    if more.get(hash).is_some_and(Vec::is_empty) {
                        more.remove(hash);
                    }
                    true
                }
                None => {
                    free.push(*at);
                    false
                }
            }
        });
        self.len = self.first.len() + self.more.values().map(Vec::len).sum::<usize>();
        self.expiry.retain(|(s, _), _| *s != slot);
        self.exceptions.retain(|(s, _)| *s != slot);
        self.approved.retain(|(s, _)| *s != slot);
        self.kept.retain(|(s, _)| *s != slot);
        self.pdq.retain(|(s, _)| *s != slot);
        self.pdq_entries.retain(|(s, _), _| *s != slot);
    }

    /// Sets or lifts a local exception to one entry.
    pub fn set_exception(&mut self, list: &ListId, entry: u64, on: bool) {
        let slot = self.slot(list);
        if on {
            self.exceptions.insert((slot, entry));
        } else {
            self.exceptions.remove(&(slot, entry));
        }
    }

    /// Marks a suggestion approved (it applies from now on in `suggest` mode).
    pub fn approve(&mut self, list: &ListId, entry: u64) {
        let slot = self.slot(list);
        self.approved.insert((slot, entry));
    }

    /// Marks an entry kept after its issuer removed it.
    pub fn keep(&mut self, list: &ListId, entry: u64) {
        let slot = self.slot(list);
        self.kept.insert((slot, entry));
    }

    /// Whether an entry was kept after its removal.
    pub fn is_kept(&self, list: u32, entry: u64) -> bool {
        self.kept.contains(&(list, entry))
    }

    /// How a list is enforced, by slot.
    pub fn policy(&self, list: u32) -> Option<&Policy> {
        self.policies.get(list as usize)
    }

    /// What an active entry says here at time `now`: nothing when it does
    /// not apply (list not enforced, `notify`, a suggestion not approved,
    /// expired, its category ignored); "let through" when it has a local
    /// exception; else the action taken.
    fn vote(
        &self,
        list: u32,
        entry: u64,
        category: Category,
        recommended: Action,
        expires: bool,
        now: Timestamp,
    ) -> Option<Vote> {
        let policy = self.policies.get(list as usize)?;
        if !policy.enforced {
            return None;
        }
        match policy.mode {
            SubscriptionMode::Apply => {}
            SubscriptionMode::Suggest if self.approved.contains(&(list, entry)) => {}
            SubscriptionMode::Suggest | SubscriptionMode::Notify => return None,
        }
        if expires && self.expiry.get(&(list, entry)).is_some_and(|e| *e <= now) {
            return None;
        }
        let action = match policy.actions.get(&category) {
            Some(Enforce::Ignore) => return None,
            Some(Enforce::Reject) => Action::Reject,
            Some(Enforce::Quarantine) => Action::Quarantine,
            None => recommended,
        };
        let verdict = if !self.exceptions.is_empty() && self.exceptions.contains(&(list, entry)) {
            Verdict::Excepted
        } else if action == Action::Reject {
            Verdict::Reject
        } else {
            Verdict::Quarantine
        };
        Some(Vote { list, entry, priority: policy.priority, category, verdict })
    }

    /// Every vote about a target (see [`Index::lookup`]), in index order.
    pub fn votes(&self, kind: TargetKind, hash: &Sha256Hash, now: Timestamp) -> Vec<Vote> {
        let Some(first) = self.first.get(hash).and_then(|at| self.arena.get(*at as usize)) else {
            return Vec::new();
        };
        let more = self.more.get(hash).map(Vec::as_slice).unwrap_or_default();
        std::iter::once(first)
            .chain(more)
            .filter(|h| h.kind == kind)
            .filter_map(|h| self.vote(h.list, h.entry, h.category, h.action, h.expires, now))
            .collect()
    }

    /// The action that applies to a target; none when nothing applies.
    /// The votes of the highest priority decide (spec/blocklists.md
    /// §11.9): among them reject before quarantine, and a let-through
    /// (an excepted entry) only when none of them acts.
    pub fn lookup(&self, kind: TargetKind, hash: &Sha256Hash, now: Timestamp) -> Option<Match> {
        let first = self.arena.get(*self.first.get(hash)? as usize);
        let more = self.more.get(hash).map(Vec::as_slice).unwrap_or_default();
        let mut top: Option<i64> = None;
        let mut lower = false;
        let mut best: Option<Match> = None;
        for h in first.into_iter().chain(more) {
            if h.kind != kind {
                continue;
            }
            let Some(vote) = self.vote(h.list, h.entry, h.category, h.action, h.expires, now) else { continue };
            match top {
                Some(t) if vote.priority < t => {
                    lower = true;
                    continue;
                }
                Some(t) if vote.priority > t => {
                    lower = true;
                    best = None;
                    top = Some(vote.priority);
                }
                None => top = Some(vote.priority),
                _ => {}
            }
            let action = match vote.verdict {
                Verdict::Reject => Action::Reject,
                Verdict::Quarantine => Action::Quarantine,
                Verdict::Excepted => continue,
            };
            let candidate = Match { list: h.list, entry: h.entry, category: h.category, action, outranked: false };
            best = match best {
                Some(b) if b.action == Action::Reject => Some(b),
                _ if action == Action::Reject => Some(candidate),
                None => Some(candidate),
                keep => keep,
            };
        }
        best.map(|m| Match { outranked: lower, ..m })
    }

    /// Number of active entries indexed.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether a `domain` entry was ever indexed since the node started.
    pub fn any_domain(&self) -> bool {
        self.any_domain
    }

    /// Whether no entry is indexed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether any active entry has an expiry (lookups need the time).
    pub fn has_expiring(&self) -> bool {
        !self.expiry.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use accord_proto::SecretKey;
    use accord_proto::blocklist::entry::target_hash;

    fn list(name: &str) -> ListId {
        let issuer = accord_proto::IssuerId::from(SecretKey::from_seed([7; 32]).public());
        ListId { issuer, name: name.parse().unwrap() }
    }

    #[test]
    fn an_entry_matches_until_removed_excepted_ignored_or_expired() {
        let (mut index, l, now) = (Index::default(), list("spam"), Timestamp::from_millis(1_000));
        let key = (TargetKind::Account, target_hash(TargetKind::Account, "acct1x"));
        index.set_policy(&l, Policy { enforced: true, actions: BTreeMap::new(), ..Default::default() });
        index.add(&l, 0, key, Category::Spam, Action::Reject, None);
        assert_eq!(index.lookup(key.0, &key.1, now).map(|m| m.entry), Some(0));

        index.set_exception(&l, 0, true);
        assert!(index.lookup(key.0, &key.1, now).is_none(), "a local exception lifts it");
        index.set_exception(&l, 0, false);

        let mut actions = BTreeMap::new();
        actions.insert(Category::Spam, Enforce::Ignore);
        index.set_policy(&l, Policy { enforced: true, actions, ..Default::default() });
        assert!(index.lookup(key.0, &key.1, now).is_none(), "the subscriber ignores the category");
        index.set_policy(&l, Policy { enforced: true, actions: BTreeMap::new(), ..Default::default() });

        index.remove(&l, 0, key);
        assert!(index.lookup(key.0, &key.1, now).is_none(), "a remove entry retracts it");

        index.add(&l, 2, key, Category::Spam, Action::Quarantine, Some(Timestamp::from_millis(500)));
        assert!(index.lookup(key.0, &key.1, now).is_none(), "an expired entry does not apply");
    }

    #[test]
    fn reject_wins_over_quarantine_and_unenforced_lists_do_not_count() {
        let (mut index, a, b, now) = (Index::default(), list("a"), list("b"), Timestamp::from_millis(1));
        let key = (TargetKind::Content, target_hash(TargetKind::Content, "00"));
        index.set_policy(&a, Policy { enforced: true, actions: BTreeMap::new(), ..Default::default() });
        index.add(&a, 0, key, Category::Spam, Action::Quarantine, None);
        index.add(&b, 0, key, Category::Spam, Action::Reject, None);
        assert_eq!(index.lookup(key.0, &key.1, now).map(|m| m.action), Some(Action::Quarantine));
        index.set_policy(&b, Policy { enforced: true, actions: BTreeMap::new(), ..Default::default() });
        assert_eq!(index.lookup(key.0, &key.1, now).map(|m| m.action), Some(Action::Reject));
    }

    #[test]
    fn a_shared_target_keeps_its_other_hits_when_one_is_removed_or_its_list_cleared() {
        let (mut index, a, b, now) = (Index::default(), list("a"), list("b"), Timestamp::from_millis(1));
        let key = (TargetKind::Account, target_hash(TargetKind::Account, "acct1x"));
        let other = (TargetKind::Account, target_hash(TargetKind::Account, "acct1y"));
        for l in [&a, &b] {
            index.set_policy(l, Policy { enforced: true, actions: BTreeMap::new(), ..Default::default() });
        }
        index.add(&a, 0, key, Category::Spam, Action::Reject, None);
        index.add(&b, 5, key, Category::Spam, Action::Quarantine, None);
        index.add(&a, 1, other, Category::Spam, Action::Reject, None);
        assert_eq!(index.len(), 3);
        assert!(index.lookup(TargetKind::Room, &key.1, now).is_none(), "the kind must match too");

        index.remove(&a, 0, key);
        assert_eq!(index.lookup(key.0, &key.1, now).map(|m| (m.entry, m.action)), Some((5, Action::Quarantine)));
        index.add(&a, 2, key, Category::Spam, Action::Reject, None);
        index.clear_list(&b);
        assert_eq!(index.lookup(key.0, &key.1, now).map(|m| m.entry), Some(2));
        assert_eq!(index.len(), 2);
        index.clear_list(&a);
        assert!(index.is_empty());
        assert!(index.lookup(key.0, &key.1, now).is_none() && index.lookup(other.0, &other.1, now).is_none());
    }

    fn with(priority: i64, mode: SubscriptionMode) -> Policy {
        Policy { enforced: true, priority, mode, ..Default::default() }
    }

    #[test]
    fn the_highest_priority_decides_and_an_exception_there_lets_the_target_through() {
        let (mut index, low, high, now) = (Index::default(), list("low"), list("high"), Timestamp::from_millis(1));
        let key = (TargetKind::Content, target_hash(TargetKind::Content, "00"));
        index.set_policy(&low, with(0, SubscriptionMode::Apply));
        index.set_policy(&high, with(10, SubscriptionMode::Apply));
        index.add(&low, 0, key, Category::Spam, Action::Reject, None);
        index.add(&high, 3, key, Category::Spam, Action::Quarantine, None);
        let m = index.lookup(key.0, &key.1, now).expect("a match");
        assert_eq!((m.entry, m.action, m.outranked), (3, Action::Quarantine, true), "the higher list decides");

        index.set_exception(&high, 3, true);
        assert!(index.lookup(key.0, &key.1, now).is_none(), "the higher list's exception lets it through");
        let votes = index.votes(key.0, &key.1, now);
        assert_eq!(votes.iter().map(|v| v.verdict).collect::<Vec<_>>(), vec![Verdict::Reject, Verdict::Excepted]);

        index.set_policy(&low, with(20, SubscriptionMode::Apply));
        let m = index.lookup(key.0, &key.1, now).expect("a match");
        assert_eq!((m.entry, m.action), (0, Action::Reject), "raised above, the other list decides");
        index.set_policy(&low, with(10, SubscriptionMode::Apply));
        let m = index.lookup(key.0, &key.1, now).expect("a match");
        assert_eq!((m.entry, m.outranked), (0, false), "at equal priority an exception lifts its own entry only");
    }

    #[test]
    fn suggested_entries_apply_once_approved_and_notices_never() {
        let (mut index, l, now) = (Index::default(), list("s"), Timestamp::from_millis(1));
        let key = (TargetKind::Account, target_hash(TargetKind::Account, "acct1x"));
        index.set_policy(&l, with(0, SubscriptionMode::Suggest));
        index.add(&l, 0, key, Category::Spam, Action::Reject, None);
        assert!(index.lookup(key.0, &key.1, now).is_none(), "pending");
        index.approve(&l, 0);
        assert_eq!(index.lookup(key.0, &key.1, now).map(|m| m.entry), Some(0), "approved");
        index.set_policy(&l, with(0, SubscriptionMode::Notify));
        assert!(index.lookup(key.0, &key.1, now).is_none(), "a notify subscription never applies");
    }
}

//! The enforcement index: every active `add` entry of every enforced list,
//! keyed by `(target kind, target hash)` (spec/blocklists.md §2), so that
//! checking an event is a few hash-map probes, not a scan.

use accord_pdq::{PdqHash, PdqIndex};
use accord_proto::blocklist::entry::{Action, Category, TargetKind};
use accord_proto::{ListId, Sha256Hash, Timestamp};
use accord_store::Enforce;
use std::collections::{BTreeMap, HashMap, HashSet};

pub use accord_api::Provenance;

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
}

impl Default for Policy {
    fn default() -> Self {
        Policy { enforced: false, actions: BTreeMap::new(), pdq_threshold: accord_proto::pdq::DEFAULT_PDQ_THRESHOLD }
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
    slots: HashMap<ListId, u32>,
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
}

impl Index {
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
        let slot = self.slot(list);
        self.any_domain |= key.0 == TargetKind::Domain;
        let hit = Hit { entry, list: slot, kind: key.0, category, action, expires: expires.is_some() };
        if let Some(at) = expires {
            self.expiry.insert((slot, entry), at);
        }
        self.len += 1;
        if self.first.contains_key(&key.1) {
            self.more.entry(key.1).or_default().push(hit);
            return;
        }
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
        self.first.insert(key.1, at);
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
            if !policy.enforced || found.distance > u32::from(policy.pdq_threshold) {
                continue;
            }
            if self.exceptions.contains(&(list, entry)) || self.expiry.get(&(list, entry)).is_some_and(|e| *e <= now) {
                continue;
            }
            let Some(&(category, recommended)) = self.pdq_entries.get(&(list, entry)) else { continue };
            let action = match policy.actions.get(&category) {
                Some(Enforce::Ignore) => continue,
                Some(Enforce::Reject) => Action::Reject,
                Some(Enforce::Quarantine) => Action::Quarantine,
                None => recommended,
            };
            out.push((Match { list, entry, category, action }, found.distance));
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

    /// The strongest action that applies to a target: reject before
    /// quarantine; none when nothing applies.
    pub fn lookup(&self, kind: TargetKind, hash: &Sha256Hash, now: Timestamp) -> Option<Match> {
        let first = self.arena.get(*self.first.get(hash)? as usize);
        let more = self.more.get(hash).map(Vec::as_slice).unwrap_or_default();
        let mut best: Option<Match> = None;
        for h in first.into_iter().chain(more) {
            if h.kind != kind {
                continue;
            }
            let Some(policy) = self.policies.get(h.list as usize) else { continue };
            if !policy.enforced || (!self.exceptions.is_empty() && self.exceptions.contains(&(h.list, h.entry))) {
                continue;
            }
            if h.expires && self.expiry.get(&(h.list, h.entry)).is_some_and(|e| *e <= now) {
                continue;
            }
            let action = match policy.actions.get(&h.category) {
                Some(Enforce::Ignore) => continue,
                Some(Enforce::Reject) => Action::Reject,
                Some(Enforce::Quarantine) => Action::Quarantine,
                None => h.action,
            };
            let candidate = Match { list: h.list, entry: h.entry, category: h.category, action };
            best = match best {
                Some(b) if b.action == Action::Reject => Some(b),
                _ if action == Action::Reject => Some(candidate),
                None => Some(candidate),
                keep => keep,
            };
        }
        best
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
}

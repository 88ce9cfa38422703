//! The enforcement index: every active `add` entry of every enforced list,
//! keyed by `(target kind, target hash)` (spec/blocklists.md §2), so that
//! checking an event is a few hash-map probes, not a scan.

use accord_proto::blocklist::entry::{Action, Category, TargetKind};
use accord_proto::{ListId, Sha256Hash, Timestamp};
use accord_store::Enforce;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Why something is refused or hidden: which list, which entry, what for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Provenance {
    /// The list.
    pub list: ListId,
    /// The entry's index in the list's log.
    pub entry: u64,
    /// The entry's category.
    pub category: Category,
    /// What this node does about it.
    pub action: Action,
    /// The issuer's reason, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One active entry.
#[derive(Debug, Clone, Copy)]
struct Hit {
    list: u32,
    entry: u64,
    category: Category,
    action: Action,
    expires: Option<Timestamp>,
}

/// How a list is enforced here.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// Enforced at all (own lists and subscriptions, not distrusted).
    pub enforced: bool,
    /// Per-category choices.
    pub actions: BTreeMap<Category, Enforce>,
}

/// The index.
#[derive(Debug, Default)]
pub struct Index {
    lists: Vec<ListId>,
    slots: HashMap<ListId, u32>,
    policies: Vec<Policy>,
    hits: HashMap<(TargetKind, Sha256Hash), Vec<Hit>>,
    keys_of: HashMap<(u32, u64), (TargetKind, Sha256Hash)>,
    exceptions: HashSet<(u32, u64)>,
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
        self.hits.entry(key).or_default().push(Hit { list: slot, entry, category, action, expires });
        self.keys_of.insert((slot, entry), key);
    }

    /// Retracts an entry (a `remove` entry).
    pub fn remove(&mut self, list: &ListId, entry: u64) {
        let slot = self.slot(list);
        if let Some(key) = self.keys_of.remove(&(slot, entry))
            && let Some(hits) = self.hits.get_mut(&key)
        {
            hits.retain(|h| !(h.list == slot && h.entry == entry));
            if hits.is_empty() {
                self.hits.remove(&key);
            }
        }
    }

    /// Forgets every entry of a list (before it is indexed anew).
    pub fn clear_list(&mut self, list: &ListId) {
        let slot = self.slot(list);
        self.keys_of.retain(|(s, _), _| *s != slot);
        self.hits.retain(|_, hits| {
            hits.retain(|h| h.list != slot);
            !hits.is_empty()
        });
        self.exceptions.retain(|(s, _)| *s != slot);
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
        let hits = self.hits.get(&(kind, *hash))?;
        let mut best: Option<Match> = None;
        for h in hits {
            let Some(policy) = self.policies.get(h.list as usize) else { continue };
            if !policy.enforced || self.exceptions.contains(&(h.list, h.entry)) {
                continue;
            }
            if h.expires.is_some_and(|e| e <= now) {
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
        self.keys_of.len()
    }

    /// Whether nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.keys_of.is_empty()
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
        index.set_policy(&l, Policy { enforced: true, actions: BTreeMap::new() });
        index.add(&l, 0, key, Category::Spam, Action::Reject, None);
        assert_eq!(index.lookup(key.0, &key.1, now).map(|m| m.entry), Some(0));

        index.set_exception(&l, 0, true);
        assert!(index.lookup(key.0, &key.1, now).is_none(), "a local exception lifts it");
        index.set_exception(&l, 0, false);

        let mut actions = BTreeMap::new();
        actions.insert(Category::Spam, Enforce::Ignore);
        index.set_policy(&l, Policy { enforced: true, actions });
        assert!(index.lookup(key.0, &key.1, now).is_none(), "the subscriber ignores the category");
        index.set_policy(&l, Policy { enforced: true, actions: BTreeMap::new() });

        index.remove(&l, 0);
        assert!(index.lookup(key.0, &key.1, now).is_none(), "a remove entry retracts it");

        index.add(&l, 2, key, Category::Spam, Action::Quarantine, Some(Timestamp::from_millis(500)));
        assert!(index.lookup(key.0, &key.1, now).is_none(), "an expired entry does not apply");
    }

    #[test]
    fn reject_wins_over_quarantine_and_unenforced_lists_do_not_count() {
        let (mut index, a, b, now) = (Index::default(), list("a"), list("b"), Timestamp::from_millis(1));
        let key = (TargetKind::Content, target_hash(TargetKind::Content, "00"));
        index.set_policy(&a, Policy { enforced: true, actions: BTreeMap::new() });
        index.add(&a, 0, key, Category::Spam, Action::Quarantine, None);
        index.add(&b, 0, key, Category::Spam, Action::Reject, None);
        assert_eq!(index.lookup(key.0, &key.1, now).map(|m| m.action), Some(Action::Quarantine));
        index.set_policy(&b, Policy { enforced: true, actions: BTreeMap::new() });
        assert_eq!(index.lookup(key.0, &key.1, now).map(|m| m.action), Some(Action::Reject));
    }
}

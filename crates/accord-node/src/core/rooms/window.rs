//! A room runtime's windows on its latest events, held as flat arrays.
//!
//! A node holds a runtime for every room, busy or quiet, so what each
//! keeps of its latest events is multiplied by the rooms held. Both
//! windows are short (64 entries once a room has settled): as B-trees,
//! with their nodes' spare room and the arrival order kept beside them,
//! they took about 22 KB a room; as arrays they take what their entries
//! fill. Looking an event up scans the recent events from the newest, which
//! at this length costs less than a tree's pointer chasing; the chain is
//! kept sorted and searched by halves.

use accord_proto::{AccountId, EventId, Sha256Hash};
use std::collections::VecDeque;

/// What the runtime holds of a recent event.
#[derive(Clone, Copy)]
pub(super) struct Recent {
    /// Its depth.
    pub(super) depth: u64,
    /// The author, for a message.
    pub(super) author: Option<AccountId>,
}

/// The latest events added to a room, by id, oldest first.
#[derive(Default)]
pub(super) struct RecentEvents {
    events: VecDeque<(EventId, Recent)>,
}

impl RecentEvents {
    /// What is held of event `id`.
    pub(super) fn get(&self, id: &EventId) -> Option<&Recent> {
        self.events.iter().rev().find(|(held, _)| held == id).map(|(_, recent)| recent)
    }

    /// Whether event `id` is held.
    pub(super) fn contains(&self, id: &EventId) -> bool {
        self.get(id).is_some()
    }

    /// Holds a newly added event (the caller adds an event once).
    pub(super) fn push(&mut self, id: EventId, recent: Recent) {
        self.events.push_back((id, recent));
    }

    /// Keeps the latest `n` events, and little more room than that.
    pub(super) fn keep_latest(&mut self, n: usize) {
        let excess = self.events.len().saturating_sub(n);
        self.events.drain(..excess);
        shrink(&mut self.events, n);
    }

    /// How many events are held.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.events.len()
    }
}

/// A link of the history chain: an accepted event's order key, and the
/// history hash after it.
pub(super) type Link = ((u64, EventId), Sha256Hash);

/// The history hash after each of the latest accepted events, in order.
#[derive(Default)]
pub(super) struct Chain {
    links: VecDeque<Link>,
}

impl Chain {
    /// A chain of `links`, in any order (a later duplicate key wins).
    pub(super) fn from_links(mut links: Vec<Link>) -> Chain {
        links.sort_by_key(|(key, _)| *key);
        links.reverse();
        links.dedup_by_key(|(key, _)| *key);
        links.reverse();
        Chain { links: links.into() }
    }

    /// The order key of the oldest link.
    pub(super) fn first_key(&self) -> Option<(u64, EventId)> {
        self.links.front().map(|(key, _)| *key)
    }

    /// Sets the history hash after the event at `key`.
    pub(super) fn insert(&mut self, key: (u64, EventId), history: Sha256Hash) {
        if self.links.back().is_none_or(|(last, _)| *last < key) {
            self.links.push_back((key, history));
            return;
        }
        match self.links.binary_search_by_key(&key, |(k, _)| *k) {
            Ok(i) => self.links[i].1 = history,
            Err(i) => self.links.insert(i, (key, history)),
        }
    }

    /// The history hash after the latest event ordered before `key`.
    pub(super) fn before(&self, key: (u64, EventId)) -> Option<Sha256Hash> {
        let i = self.links.partition_point(|(k, _)| *k < key);
        i.checked_sub(1).map(|i| self.links[i].1)
    }

    /// The links of the events ordered after `key`, oldest first.
    pub(super) fn after_mut(&mut self, key: (u64, EventId)) -> impl Iterator<Item = &mut Link> {
        let i = self.links.partition_point(|(k, _)| *k <= key);
        self.links.range_mut(i..)
    }

    /// Keeps the latest `n` links, and little more room than `floor` or
    /// what is kept.
    pub(super) fn keep_latest(&mut self, n: usize, floor: usize) {
        let excess = self.links.len().saturating_sub(n);
        self.links.drain(..excess);
        shrink(&mut self.links, floor);
    }

    /// Drops every link.
    pub(super) fn clear(&mut self) {
        self.links.clear();
    }

    /// How many links are held.
    pub(super) fn len(&self) -> usize {
        self.links.len()
    }

    /// The links, oldest first.
    pub(super) fn iter(&self) -> impl Iterator<Item = &Link> {
        self.links.iter()
    }
}

/// Frees a deque's room beyond what it holds (or `floor`) and an eighth
/// more, once it is more than a quarter over. A window grows past its
/// length between two settles of a busy room (and its deque doubles);
/// kept at the doubled size, the spare half was 9–10 KB in every room
/// held. The eighth lets a room that takes one event at a time grow and
/// settle without reallocating.
fn shrink<T>(deque: &mut VecDeque<T>, floor: usize) {
    let want = deque.len().max(floor);
    if deque.capacity() > want + want / 4 {
        deque.shrink_to(want + want / 8);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(depth: u64, b: u8) -> (u64, EventId) {
        (depth, EventId(Sha256Hash([b; 32])))
    }

    fn hash(b: u8) -> Sha256Hash {
        Sha256Hash([b; 32])
    }

    #[test]
    fn a_chain_keeps_its_links_in_order_whatever_order_they_come_in() {
        let mut chain = Chain::default();
        for (d, b) in [(5, 1), (2, 2), (9, 3), (2, 1), (7, 7)] {
            chain.insert(key(d, b), hash(b));
        }
        let keys: Vec<(u64, EventId)> = chain.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, vec![key(2, 1), key(2, 2), key(5, 1), key(7, 7), key(9, 3)]);
        chain.insert(key(5, 1), hash(42));
        assert_eq!(chain.len(), 5, "a key already held is updated, not added");
        assert_eq!(chain.before(key(7, 7)), Some(hash(42)));
        assert_eq!(chain.before(key(6, 0)), Some(hash(42)));
        assert_eq!(chain.before(key(2, 1)), None);
        let after: Vec<(u64, EventId)> = chain.after_mut(key(5, 1)).map(|(k, _)| *k).collect();
        assert_eq!(after, vec![key(7, 7), key(9, 3)]);
        chain.keep_latest(2, 2);
        assert_eq!(chain.first_key(), Some(key(7, 7)));
        let restored = Chain::from_links(vec![(key(9, 3), hash(1)), (key(1, 1), hash(2)), (key(9, 3), hash(3))]);
        let links: Vec<Link> = restored.iter().copied().collect();
        assert_eq!(links, vec![(key(1, 1), hash(2)), (key(9, 3), hash(3))]);
    }

    #[test]
    fn the_recent_window_keeps_the_latest_events_and_frees_the_room_of_a_burst() {
        let mut recent = RecentEvents::default();
        for b in 0..200u8 {
            recent.push(EventId(Sha256Hash([b; 32])), Recent { depth: u64::from(b), author: None });
        }
        recent.keep_latest(64);
        assert_eq!(recent.len(), 64);
        assert!(!recent.contains(&EventId(Sha256Hash([135; 32]))), "older events are dropped");
        assert_eq!(recent.get(&EventId(Sha256Hash([136; 32]))).map(|r| r.depth), Some(136));
        assert!(recent.events.capacity() <= 80, "the burst's room is freed: {}", recent.events.capacity());
        recent.push(EventId(Sha256Hash([200; 32])), Recent { depth: 200, author: None });
        recent.keep_latest(64);
        assert!(
            recent.events.capacity() <= 80,
            "a window one over its length settles back: {}",
            recent.events.capacity()
        );
    }
}

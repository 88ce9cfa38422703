//! What the node sees of the lists it holds besides their logs
//! (spec/blocklists.md §12.2b): which peers fetched each list from it
//! lately — the nodes an append reaches first — and the largest verified
//! checkpoint seen of each, to tell how far behind a subscription is.

use accord_proto::{ListId, NodeId, Timestamp};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A peer that fetched a list within this long counts as following it
/// (catch-up asks every 30 s, spec/blocklists.md §10.5).
pub const FOLLOW_WINDOW: Duration = Duration::from_secs(600);

/// Most followers remembered per list.
const MAX_FOLLOWERS: usize = 4096;

/// Followers and newest checkpoints seen, by list; in memory only.
#[derive(Debug, Default)]
pub struct Activity {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    followers: HashMap<ListId, HashMap<NodeId, Instant>>,
    seen: HashMap<ListId, (u64, Timestamp)>,
}

impl Activity {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records that `peer` fetched `list` from this node at `now`.
    pub fn fetched_by(&self, list: &ListId, peer: NodeId, now: Instant) {
        let mut inner = self.lock();
        let peers = inner.followers.entry(list.clone()).or_default();
        peers.retain(|_, at| now.saturating_duration_since(*at) < FOLLOW_WINDOW);
        if peers.len() < MAX_FOLLOWERS || peers.contains_key(&peer) {
            peers.insert(peer, now);
        }
    }

    /// How many peers fetched `list` within [`FOLLOW_WINDOW`] before `now`.
    pub fn followers(&self, list: &ListId, now: Instant) -> u64 {
        self.lock().followers.get(list).map_or(0, |peers| {
            peers.values().filter(|at| now.saturating_duration_since(**at) < FOLLOW_WINDOW).count() as u64
        })
    }

    /// Records a verified checkpoint of `list` of `size` entries, seen at `at`.
    pub fn saw(&self, list: &ListId, size: u64, at: Timestamp) {
        let mut inner = self.lock();
        let seen = inner.seen.entry(list.clone()).or_insert((size, at));
        seen.0 = seen.0.max(size);
        seen.1 = at;
    }

    /// The largest size seen of `list`, and when a checkpoint was last seen.
    pub fn seen(&self, list: &ListId) -> Option<(u64, Timestamp)> {
        self.lock().seen.get(list).copied()
    }

    /// Forgets a list (unsubscribed).
    pub fn forget(&self, list: &ListId) {
        let mut inner = self.lock();
        inner.followers.remove(list);
        inner.seen.remove(list);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use accord_proto::SecretKey;

    fn list() -> ListId {
        "iss1l5tjgwz65rr4ke8m0rxkqtapmxglm6lhdvfutrkhqt4vsd0f7cvq58rac3/abuse".parse().expect("list id")
    }

    fn node() -> NodeId {
        NodeId::from(SecretKey::generate().expect("key").public())
    }

    #[test]
    fn a_peer_follows_a_list_for_ten_minutes_after_its_last_fetch() {
        let (activity, now, (a, b)) = (Activity::default(), Instant::now(), (node(), node()));
        activity.fetched_by(&list(), a, now);
        activity.fetched_by(&list(), a, now + Duration::from_secs(30));
        activity.fetched_by(&list(), b, now + Duration::from_secs(60));
        assert_eq!(activity.followers(&list(), now + Duration::from_secs(61)), 2, "a peer counts once");
        assert_eq!(activity.followers(&list(), now + FOLLOW_WINDOW + Duration::from_secs(45)), 1);
        assert_eq!(activity.followers(&list(), now + FOLLOW_WINDOW + Duration::from_secs(61)), 0);
    }

    #[test]
    fn the_largest_size_seen_is_kept_and_forgotten_with_the_list() {
        let activity = Activity::default();
        let t = |ms: u64| Timestamp::try_from(ms).expect("timestamp");
        activity.saw(&list(), 7, t(1));
        activity.saw(&list(), 3, t(2));
        assert_eq!(activity.seen(&list()), Some((7, t(2))));
        activity.forget(&list());
        assert_eq!(activity.seen(&list()), None);
    }
}

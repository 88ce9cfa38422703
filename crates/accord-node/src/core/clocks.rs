//! Peers' clocks, as far as this node can tell: each event a peer pushes as
//! its origin carries the time the peer stamped it (`received`, by the
//! peer's clock, spec/events.md), and arrives a little later by this
//! node's. The difference is the peer's clock offset minus the delay of
//! the push, so the largest difference among a peer's recent pushes is
//! the best estimate of its offset (the push that waited least); a push
//! that waited in the peer's outbox for hours lowers nothing. `accord-node
//! doctor` reads the estimates from the admin endpoint's status and warns
//! when this node's clock and its peers' disagree.

use accord_proto::{NodeId, Timestamp};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// Pushes remembered per peer.
const SAMPLES: usize = 32;
/// Peers whose clocks are tracked; pushes from more are not counted.
const MAX_PEERS: usize = 4096;

/// One peer's recent differences between its stamps and this node's
/// clock at arrival, in milliseconds (positive: its clock is ahead).
#[derive(Debug, Default, Clone)]
pub struct Samples {
    recent: VecDeque<i64>,
}

impl Samples {
    /// Counts a push stamped at `stamped` (peer's clock) that arrived at
    /// `arrived` (this node's clock), forgetting the oldest beyond
    /// [`SAMPLES`].
    pub fn observe(&mut self, stamped: Timestamp, arrived: Timestamp) {
        let difference = i128::from(stamped.as_millis()) - i128::from(arrived.as_millis());
        let difference = difference.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
        if self.recent.len() == SAMPLES {
            self.recent.pop_front();
        }
        self.recent.push_back(difference);
    }

    /// The estimated offset of the peer's clock from this node's, in
    /// milliseconds: the largest recent difference.
    pub fn offset_ms(&self) -> Option<i64> {
        self.recent.iter().copied().max()
    }

    /// How many pushes the estimate rests on.
    pub fn len(&self) -> usize {
        self.recent.len()
    }

    /// Whether no push was counted.
    pub fn is_empty(&self) -> bool {
        self.recent.is_empty()
    }
}

/// Every tracked peer's clock estimate.
#[derive(Debug, Default)]
pub struct PeerClocks {
    peers: Mutex<HashMap<NodeId, Samples>>,
}

impl PeerClocks {
    /// Counts a verified event `peer` pushed as its origin, stamped at
    /// `stamped` by its clock, arriving now.
    pub fn observe(&self, peer: NodeId, stamped: Timestamp) {
        let arrived = Timestamp::now();
        let mut peers = self.peers.lock().unwrap_or_else(|p| p.into_inner());
        if peers.len() >= MAX_PEERS && !peers.contains_key(&peer) {
            return;
        }
        peers.entry(peer).or_default().observe(stamped, arrived);
    }

    /// The estimated offset of `peer`'s clock from this node's, in
    /// milliseconds (positive: ahead), if it has pushed anything.
    pub fn offset_ms(&self, peer: &NodeId) -> Option<i64> {
        self.peers.lock().unwrap_or_else(|p| p.into_inner()).get(peer).and_then(Samples::offset_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> Timestamp {
        Timestamp::from_millis(ms)
    }

    #[test]
    fn a_peer_ahead_is_estimated_by_its_quickest_push() {
        let mut samples = Samples::default();
        let offset = 40_000;
        for (i, delay) in [250u64, 5, 900, 40].into_iter().enumerate() {
            let sent = 1_000_000 + i as u64 * 10_000;
            samples.observe(at(sent + offset), at(sent + delay));
        }
        assert_eq!(samples.offset_ms(), Some(40_000 - 5));
    }

    #[test]
    fn a_push_that_waited_in_the_outbox_does_not_make_a_peer_look_behind() {
        let mut samples = Samples::default();
        samples.observe(at(1_000_000), at(1_000_020));
        samples.observe(at(1_000_000), at(1_000_000 + 3_600_000));
        assert_eq!(samples.offset_ms(), Some(-20));
    }

    #[test]
    fn a_peer_behind_shows_a_negative_offset() {
        let mut samples = Samples::default();
        samples.observe(at(10_000_000 - 120_000), at(10_000_000 + 10));
        assert_eq!(samples.offset_ms(), Some(-120_010));
    }

    #[test]
    fn only_the_recent_pushes_count() {
        let mut samples = Samples::default();
        samples.observe(at(2_000_000 + 90_000), at(2_000_000));
        for i in 0..SAMPLES as u64 {
            samples.observe(at(3_000_000 + i), at(3_000_000 + i));
        }
        assert_eq!(samples.len(), SAMPLES);
        assert_eq!(samples.offset_ms(), Some(0), "the old 90 s sample is forgotten");
        assert_eq!(Samples::default().offset_ms(), None);
    }
}

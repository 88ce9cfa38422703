//! Local reputation of peers (spec/federation.md §4): what a peer sent
//! that failed a check counts against it; past a threshold the peer is
//! disconnected and refused for a while. Scores halve every minute, so an
//! honest peer that tripped over a race now and then is never cut off.

use libp2p::PeerId;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Score at which a peer is disconnected and blocked.
pub const THRESHOLD: f64 = 100.0;
/// How long a blocked peer stays blocked.
pub const BLOCK_FOR: Duration = Duration::from_secs(600);
/// Half-life of a score.
const HALF_LIFE: Duration = Duration::from_secs(60);

/// How much a refusal with `code` counts against the peer that caused it
/// (0 for codes an honest peer can cause: duplicates, missing causal
/// references, rooms this node does not hold, being busy).
pub fn weight(code: &str) -> f64 {
    match code {
        "equivocation" | "blocked_node" | "relayed_blocked" | "media_mismatch" => 100.0,
        "bad_signature"
        | "malformed"
        | "signer_mismatch"
        | "invalid"
        | "non_canonical"
        | "inconsistent_event"
        | "not_home"
        | "not_origin"
        | "attestation_mismatch"
        | "forged_evidence"
        | "subject_mismatch"
        | "too_large"
        | "bad_media" => 50.0,
        "not_in_room" | "bad_depth" | "unknown_author" | "bad_frame" | "wrong_room" | "bad_gossip" | "bad_range" => {
            25.0
        }
        // A list page (or its request) that does not decode (spec/federation.md §3.13).
        "page_too_large"
        | "page_truncated"
        | "page_trailing_bytes"
        | "page_bad_length"
        | "page_bad_status"
        | "page_bad_text" => 25.0,
        "bad_request" | "too_many" | "bad_media_frame" => 20.0,
        "flood" => 10.0,
        _ => 0.0,
    }
}

/// Scores and blocks of peers.
#[derive(Debug, Default)]
pub struct Reputation {
    scores: HashMap<PeerId, (f64, Instant)>,
    blocked: HashMap<PeerId, Instant>,
}

impl Reputation {
    /// Counts `weight` against `peer`; returns true when this crosses the
    /// threshold and the peer must be blocked now.
    pub fn penalize(&mut self, peer: PeerId, weight: f64, now: Instant) -> bool {
        if weight <= 0.0 || self.blocked.contains_key(&peer) {
            return false;
        }
        let (score, at) = self.scores.entry(peer).or_insert((0.0, now));
        let halvings = now.saturating_duration_since(*at).as_secs_f64() / HALF_LIFE.as_secs_f64();
        *score = *score * 0.5f64.powf(halvings) + weight;
        *at = now;
        if *score >= THRESHOLD {
            self.scores.remove(&peer);
            self.blocked.insert(peer, now + BLOCK_FOR);
            return true;
        }
        false
    }

    /// The current score of `peer`.
    pub fn score(&self, peer: &PeerId, now: Instant) -> f64 {
        self.scores.get(peer).map_or(0.0, |(score, at)| {
            score * 0.5f64.powf(now.saturating_duration_since(*at).as_secs_f64() / HALF_LIFE.as_secs_f64())
        })
    }

    /// Blocks `peer` until `until`: a block earned before a restart.
    pub fn restore(&mut self, peer: PeerId, until: Instant) {
        self.scores.remove(&peer);
        self.blocked.insert(peer, until);
    }

    /// Whether `peer` is blocked.
    pub fn is_blocked(&self, peer: &PeerId) -> bool {
        self.blocked.contains_key(peer)
    }

    /// Peers whose block has expired (forgotten here; unblock them), and
    /// scores that decayed to nothing are dropped.
    pub fn expire(&mut self, now: Instant) -> Vec<PeerId> {
        let done: Vec<PeerId> = self.blocked.iter().filter(|(_, until)| **until <= now).map(|(p, _)| *p).collect();
        for peer in &done {
            self.blocked.remove(peer);
        }
        self.scores.retain(|_, (score, at)| {
            *score * 0.5f64.powf(now.saturating_duration_since(*at).as_secs_f64() / HALF_LIFE.as_secs_f64()) >= 1.0
        });
        done
    }

    /// Every peer with a score or a block.
    pub fn known(&self) -> impl Iterator<Item = PeerId> + '_ {
        self.scores.keys().chain(self.blocked.keys()).copied()
    }

    /// Number of peers blocked now.
    pub fn blocked_count(&self) -> usize {
        self.blocked.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_peer_is_blocked_once_its_score_reaches_the_threshold() {
        let (mut r, peer, now) = (Reputation::default(), PeerId::random(), Instant::now());
        assert!(!r.penalize(peer, weight("bad_signature"), now));
        assert!(r.penalize(peer, weight("not_home"), now));
        assert!(r.is_blocked(&peer));
        assert!(!r.penalize(peer, 50.0, now), "a blocked peer is not blocked twice");
    }

    #[test]
    fn harmless_codes_never_count() {
        let (mut r, peer, now) = (Reputation::default(), PeerId::random(), Instant::now());
        for code in ["duplicate", "missing_prev", "unknown_room", "busy"] {
            for _ in 0..100 {
                assert!(!r.penalize(peer, weight(code), now));
            }
        }
        assert_eq!(r.score(&peer, now), 0.0);
    }

    #[test]
    fn scores_halve_every_minute_and_blocks_expire() {
        let (mut r, peer, now) = (Reputation::default(), PeerId::random(), Instant::now());
        r.penalize(peer, 80.0, now);
        assert!((r.score(&peer, now + HALF_LIFE) - 40.0).abs() < 1e-6);
        assert!(!r.penalize(peer, 50.0, now + HALF_LIFE), "40 + 50 stays under the threshold");
        assert!(r.penalize(peer, 10.0, now + HALF_LIFE));
        assert!(r.expire(now + HALF_LIFE).is_empty());
        assert_eq!(r.expire(now + HALF_LIFE + BLOCK_FOR), vec![peer]);
        assert!(!r.is_blocked(&peer));
    }
}

//! Applying a list's entry ranges (spec/blocklists.md §10.4), under
//! proptest: any split of a log into ranges, applied in order, gives the
//! log applied whole; a range that is not exactly the missing one
//! (overlapping, repeated, out of order, short or long) or whose leaves are
//! not the signed ones is refused, and the log held is then still extended
//! by the right range.

use crate::fixtures::key;
use accord_proto::blocklist::Checkpoint;
use accord_proto::blocklist::entry::{Action, Category, ListEntry, Target, TargetKind};
use accord_proto::blocklist::merkle::MerkleLog;
use accord_proto::blocklist::range::{RangeError, Received, apply_range};
use accord_proto::{ListId, Sha256Hash, Timestamp};
use proptest::prelude::*;
use proptest::sample::Index;

/// The list the ranges are of.
fn list() -> ListId {
    ListId { issuer: key(9).public().into(), name: "ranges".parse().unwrap() }
}

/// `n` valid, distinct leaves: adds of hashed targets and removes of them.
fn leaves(n: usize, seed: u64) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let created = Timestamp::from_millis(1_700_000_000_000 + seed % 1_000_000 + i as u64);
            let entry = if i % 3 == 2 {
                ListEntry::Remove { created, entry: i as u64 - 1, reason: None }
            } else {
                let mut hash = [0u8; 32];
                hash[..8].copy_from_slice(&seed.to_le_bytes());
                hash[8..16].copy_from_slice(&(i as u64).to_le_bytes());
                ListEntry::Add {
                    created,
                    target: Target::Hashed { kind: TargetKind::Account, hash: Sha256Hash(hash) },
                    category: Category::Spam,
                    action: Action::Reject,
                    reason: None,
                    evidence: None,
                    expires: None,
                }
            };
            entry.to_bytes().unwrap()
        })
        .collect()
}

/// The log of `leaves`.
fn log_of(leaves: &[Vec<u8>]) -> MerkleLog {
    let mut log = MerkleLog::new();
    for leaf in leaves {
        log.push(leaf);
    }
    log
}

/// The issuer's checkpoint of the first `size` leaves.
fn checkpoint(leaves: &[Vec<u8>], size: usize) -> Checkpoint {
    Checkpoint {
        list: list(),
        size: size as u64,
        root: log_of(&leaves[..size]).root(),
        time: Timestamp::from_millis(1),
    }
}

/// Cut points `0 = c0 ≤ c1 ≤ … ≤ ck = n` from arbitrary indexes.
fn cuts(n: usize, at: &[Index]) -> Vec<usize> {
    let mut cuts: Vec<usize> = at.iter().map(|i| i.index(n + 1)).collect();
    cuts.extend([0, n]);
    cuts.sort_unstable();
    cuts
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn any_split_of_a_log_applied_in_order_gives_the_log_applied_whole(
        n in 0usize..48,
        at in proptest::collection::vec(any::<Index>(), 0..8),
        seed in any::<u64>(),
    ) {
        let all = leaves(n, seed);
        let whole = apply_range(&MerkleLog::new(), &checkpoint(&all, n), 0, &all).unwrap();
        prop_assert_eq!(whole.size(), n as u64);
        prop_assert_eq!(whole.root(), log_of(&all).root());
        let cuts = cuts(n, &at);
        let mut log = MerkleLog::new();
        for pair in cuts.windows(2) {
            let (from, to) = (pair[0], pair[1]);
            log = apply_range(&log, &checkpoint(&all, to), from as u64, &all[from..to]).unwrap();
            prop_assert_eq!(log.size(), to as u64);
            prop_assert_eq!(log.root(), log_of(&all[..to]).root());
        }
        prop_assert_eq!(log.size(), whole.size());
        prop_assert_eq!(log.root(), whole.root());
        for i in 0..n as u64 {
            prop_assert_eq!(log.inclusion_proof(i, n as u64).unwrap(), whole.inclusion_proof(i, n as u64).unwrap());
        }
    }

    #[test]
    fn a_range_that_is_not_exactly_the_missing_one_is_refused(
        n in 1usize..40,
        held in any::<Index>(),
        from in any::<Index>(),
        to in any::<Index>(),
        seed in any::<u64>(),
    ) {
        let all = leaves(n, seed);
        let h = held.index(n + 1);
        let (from, to) = (from.index(n + 1), to.index(n + 1));
        let (from, to) = (from.min(to), from.max(to));
        let log = log_of(&all[..h]);
        let result = apply_range(&log, &checkpoint(&all, to), from as u64, &all[from..to]);
        if from == h {
            prop_assert_eq!(result.unwrap().root(), log_of(&all[..to]).root());
        } else {
            // Overlapping what is held, repeating it, or leaving a gap.
            prop_assert_eq!(result.unwrap_err().code(), "bad_range");
        }
        // Leaves claimed for the right start but short of, or beyond, the
        // checkpoint.
        if h < to {
            let short = apply_range(&log, &checkpoint(&all, to), h as u64, &all[h..to - 1]);
            prop_assert_eq!(short.unwrap_err().code(), "bad_range");
        }
        if to < n && h <= to {
            let long = apply_range(&log, &checkpoint(&all, to), h as u64, &all[h..to + 1]);
            prop_assert_eq!(long.unwrap_err().code(), "bad_range");
        }
        // The log held still takes the missing range.
        let caught_up = apply_range(&log, &checkpoint(&all, n), h as u64, &all[h..]).unwrap();
        prop_assert_eq!(caught_up.root(), log_of(&all).root());
    }

    #[test]
    fn ranges_applied_out_of_order_or_twice_are_refused(
        n in 2usize..40,
        at in any::<Index>(),
        seed in any::<u64>(),
    ) {
        let all = leaves(n, seed);
        let cut = 1 + at.index(n - 1);
        let empty = MerkleLog::new();
        // The second range before the first.
        let early = apply_range(&empty, &checkpoint(&all, n), cut as u64, &all[cut..]);
        prop_assert_eq!(early.unwrap_err().code(), "bad_range");
        let first = apply_range(&empty, &checkpoint(&all, cut), 0, &all[..cut]).unwrap();
        // The first again, once applied.
        let again = apply_range(&first, &checkpoint(&all, cut), 0, &all[..cut]);
        prop_assert_eq!(again.unwrap_err().code(), "bad_range");
        let both = apply_range(&first, &checkpoint(&all, n), cut as u64, &all[cut..]).unwrap();
        // The second again, once applied.
        let again = apply_range(&both, &checkpoint(&all, n), cut as u64, &all[cut..]);
        prop_assert_eq!(again.unwrap_err().code(), "bad_range");
        prop_assert_eq!(both.root(), log_of(&all).root());
    }

    #[test]
    fn a_range_with_a_leaf_changed_swapped_or_invalid_is_refused(
        n in 1usize..32,
        held in any::<Index>(),
        which in any::<Index>(),
        at in any::<Index>(),
        delta in 1u8..=255,
        seed in any::<u64>(),
    ) {
        let all = leaves(n, seed);
        let h = held.index(n);
        let log = log_of(&all[..h]);
        let target = checkpoint(&all, n);
        let mut got = all[h..].to_vec();
        let i = which.index(got.len());
        let j = at.index(got[i].len());
        got[i][j] = got[i][j].wrapping_add(delta);
        let code = apply_range(&log, &target, h as u64, &got).unwrap_err().code();
        prop_assert!(code == "bad_range" || code == "invalid_entry", "{code}");
        // A leaf that is not an entry, even one the issuer signed.
        let mut signed = all.clone();
        signed[h + i] = b"not an entry".to_vec();
        let result = apply_range(&log, &checkpoint(&signed, n), h as u64, &signed[h..]);
        prop_assert_eq!(result.unwrap_err(), RangeError::InvalidEntry {
            index: (h + i) as u64,
            error: ListEntry::parse(b"not an entry").unwrap_err(),
        });
        // Two leaves in each other's place.
        if got.len() >= 2 {
            let mut swapped = all[h..].to_vec();
            swapped.swap(0, got.len() - 1);
            let result = apply_range(&log, &target, h as u64, &swapped);
            prop_assert_eq!(result.unwrap_err().code(), "bad_range");
        }
    }

    #[test]
    fn a_range_received_in_any_pages_is_the_range_received_whole_and_a_bad_page_adds_nothing(
        n in 1usize..48,
        held in any::<Index>(),
        at in proptest::collection::vec(any::<Index>(), 0..8),
        which in any::<Index>(),
        seed in any::<u64>(),
    ) {
        let all = leaves(n, seed);
        let h = held.index(n);
        let log = log_of(&all[..h]);
        let target = checkpoint(&all, n);
        let cuts: Vec<usize> = cuts(n - h, &at).into_iter().map(|c| h + c).collect();
        let bad = which.index(cuts.len() - 1);
        let mut received = Received::new(h as u64);
        for (k, pair) in cuts.windows(2).enumerate() {
            let page = all[pair[0]..pair[1]].to_vec();
            if k == bad && !page.is_empty() {
                // The same page with its last leaf not an entry: refused whole.
                let mut broken = page.clone();
                *broken.last_mut().unwrap() = b"{}".to_vec();
                let before = received.len();
                let refused = received.add(broken, |e| e.created());
                prop_assert_eq!(refused.unwrap_err().code(), "invalid_entry");
                prop_assert_eq!(received.len(), before);
            }
            received.add(page, |e| e.created()).unwrap();
        }
        let range = received.apply(&log, &target).unwrap();
        prop_assert_eq!(range.log.root(), log_of(&all).root());
        prop_assert_eq!(&range.leaves[..], &all[h..]);
        let created: Vec<Timestamp> = all[h..].iter().map(|l| ListEntry::parse(l).unwrap().created()).collect();
        prop_assert_eq!(range.read, created);
        // One leaf short of the checkpoint: refused.
        let mut short = Received::new(h as u64);
        short.add(all[h..].to_vec(), |_| ()).unwrap();
        short.truncate(n - h - 1);
        prop_assert_eq!(short.apply(&log, &target).unwrap_err().code(), "bad_range");
    }
}

//! The multi-index answers exactly what comparing the query with every
//! stored hash answers, whatever the hashes, thresholds and edits.

use accord_pdq::index::FLAT_BELOW;
use accord_pdq::{PdqHash, PdqIndex};
use proptest::prelude::*;

/// `hash` with `bits` distinct bits flipped, chosen by `rng`.
fn near(hash: &PdqHash, bits: u32, rng: &mut fastrand::Rng) -> PdqHash {
    let mut out = *hash;
    let mut flipped = std::collections::HashSet::new();
    while flipped.len() < bits as usize {
        let bit = rng.usize(0..256);
        if flipped.insert(bit) {
            out.0[bit / 8] ^= 1 << (bit % 8);
        }
    }
    out
}

fn random(rng: &mut fastrand::Rng) -> PdqHash {
    PdqHash(std::array::from_fn(|_| rng.u8(..)))
}

fn sorted(mut found: Vec<accord_pdq::Found<u32>>) -> Vec<accord_pdq::Found<u32>> {
    found.sort();
    found
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Stored: random hashes and clusters of near copies of a few of them
    /// (so that matches exist at every distance); queries: near copies at
    /// distances around the threshold, and random hashes.
    #[test]
    fn the_index_finds_exactly_what_a_flat_scan_finds(
        seed in any::<u64>(),
        stored in (FLAT_BELOW + 1)..(3 * FLAT_BELOW),
        threshold in prop_oneof![Just(31u32), 0u32..=70],
        removed in 0usize..500,
    ) {
        let mut rng = fastrand::Rng::with_seed(seed);
        let centres: Vec<PdqHash> = (0..20).map(|_| random(&mut rng)).collect();
        let mut items = Vec::new();
        for i in 0..stored as u32 {
            let hash = if i % 3 == 0 {
                let c = &centres[rng.usize(0..centres.len())];
                near(c, rng.u32(0..=72), &mut rng)
            } else {
                random(&mut rng)
            };
            items.push((hash, i));
        }
        let mut index = PdqIndex::from_items(items.clone());
        // Edits after the build: some removed, some added (scanned until
        // the next build), some replaced.
        for _ in 0..removed {
            index.remove(&rng.u32(0..stored as u32));
        }
        for i in 0..300u32 {
            let c = &centres[rng.usize(0..centres.len())];
            index.insert(near(c, rng.u32(0..=40), &mut rng), stored as u32 + i);
            index.insert(near(c, rng.u32(0..=40), &mut rng), rng.u32(0..stored as u32));
        }
        for q in 0..40 {
            let query = if q % 4 == 3 {
                random(&mut rng)
            } else {
                near(&centres[rng.usize(0..centres.len())], rng.u32(0..=64), &mut rng)
            };
            let fast = sorted(index.query(&query, threshold));
            let flat = sorted(index.flat(&query, threshold));
            prop_assert_eq!(&fast, &flat);
            let mut dedup = fast.clone();
            dedup.dedup_by_key(|f| f.value);
            prop_assert_eq!(dedup.len(), fast.len(), "each stored hash is reported once");
        }
    }
}

#[test]
fn a_query_at_the_default_threshold_uses_the_tables_and_still_finds_the_farthest_match() {
    let mut rng = fastrand::Rng::with_seed(7);
    let target = random(&mut rng);
    let mut items: Vec<(PdqHash, u32)> = (0..50_000).map(|i| (random(&mut rng), i)).collect();
    // 31 bits off, spread so that every chunk but one is 2 bits off: only
    // the neighbour probes of one table can find it.
    let mut far = target;
    for chunk in 0..15 {
        far.0[2 * chunk] ^= 0b11;
    }
    far.0[30] ^= 0b1;
    assert_eq!(target.distance(&far), 31);
    items.push((far, 99_999));
    let index = PdqIndex::from_items(items);
    let found = index.query(&target, 31);
    assert_eq!(found.iter().map(|f| (f.value, f.distance)).collect::<Vec<_>>(), vec![(99_999, 31)]);
    assert!(index.query(&target, 30).is_empty());
}

#[test]
fn removed_and_replaced_hashes_are_not_found() {
    let mut rng = fastrand::Rng::with_seed(8);
    let items: Vec<(PdqHash, u32)> = (0..10_000).map(|i| (random(&mut rng), i)).collect();
    let (hash, value) = items[42];
    let mut index = PdqIndex::from_items(items);
    assert_eq!(index.query(&hash, 31).len(), 1);
    index.remove(&value);
    assert!(index.query(&hash, 31).is_empty());
    assert_eq!(index.len(), 9_999);
    index.insert(hash, 123_456);
    index.insert(random(&mut rng), 123_456);
    assert!(index.query(&hash, 31).is_empty(), "replaced: the value now names another hash");
    index.rebuild();
    assert!(index.query(&hash, 31).is_empty());
    assert_eq!(index.len(), 10_000);
}

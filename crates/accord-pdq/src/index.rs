//! Finding every stored hash within a distance of a query, without a full
//! scan: multi-index hashing (Norouzi, Punjani and Fleet, "Fast Search in
//! Hamming Space with Multi-Index Hashing", CVPR 2012), as Meta's PDQ
//! tools and faiss's `IndexBinaryMultiHash` do it.
//!
//! Each 256-bit hash is cut into 16 chunks of 16 bits, and each chunk
//! position has a table from chunk value to the hashes having it.
//!
//! **Why it finds everything.** If two hashes are at distance `d ≤ t`,
//! their 16 chunk distances `d₀ … d₁₅` add up to `d`, so the smallest is at
//! most `⌊d/16⌋ ≤ ⌊t/16⌋ = r` (pigeonhole: were every chunk more than `r`
//! apart, `d ≥ 16(r + 1) > t`). Probing, in every table, every chunk value
//! within distance `r` of the query's chunk therefore reaches every match.
//! For the default threshold 31, `r = 1`: 17 values a table (the chunk and
//! its 16 one-bit neighbours), 272 buckets a query. Each candidate is
//! checked at full distance, and reported only from the first table in
//! which it is within `r`, so once.
//!
//! **When it scans instead.** For few hashes, or a threshold whose radius
//! `r` would make the probes more than the hashes (`r ≥ 3`, i.e. `t ≥ 48`,
//! 697 values a table), the index compares the query with every hash
//! (`flat`): the answer is the same. Hashes added since the tables were
//! last built are scanned too, and the tables are built again once those
//! exceed an eighth of the total, so adding is cheap and queries stay fast.

use accord_proto::PdqHash;
use std::collections::HashMap;
use std::hash::Hash;

/// Chunks in a hash (tables of the index).
pub const CHUNKS: usize = 16;

/// Below this many hashes a query is a flat scan (measured by
/// `accord-bench pdq`: the tables cost more than they save below it).
pub const FLAT_BELOW: usize = 2048;

/// The largest per-chunk radius the tables are probed with; beyond it a
/// query scans.
const MAX_RADIUS: u32 = 2;

/// One match: the stored value and its distance to the query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Found<V> {
    /// The distance, 0 to 256.
    pub distance: u32,
    /// The value stored with the hash.
    pub value: V,
}

/// An index of PDQ hashes, each stored with a value `V` (e.g. the list
/// entry it comes from) that identifies it.
#[derive(Debug, Clone)]
pub struct PdqIndex<V> {
    tables: Tables,
    values: Vec<V>,
    /// Where each live value is in the tables' slots.
    at: HashMap<V, u32>,
}

/// The hashes and their tables, by slot: not generic, so that the loops
/// are compiled (and optimised) here whatever `V` is.
#[derive(Debug, Clone, Default)]
struct Tables {
    hashes: Vec<PdqHash>,
    live: Vec<bool>,
    dead: usize,
    /// How many of the first `hashes` the tables cover.
    built: usize,
    /// Per table: `offsets[c]..offsets[c + 1]` of `members` are the slots
    /// whose chunk is `c`.
    offsets: Vec<Vec<u32>>,
    members: Vec<Vec<u32>>,
}

impl<V> Default for PdqIndex<V> {
    fn default() -> Self {
        PdqIndex { tables: Tables::default(), values: Vec::new(), at: HashMap::new() }
    }
}

impl<V: Copy + Eq + Hash> PdqIndex<V> {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// An index of `items`, its tables built.
    pub fn from_items(items: impl IntoIterator<Item = (PdqHash, V)>) -> Self {
        let mut index = Self::new();
        for (hash, value) in items {
            index.push(hash, value);
        }
        index.rebuild();
        index
    }

    /// The number of hashes stored.
    pub fn len(&self) -> usize {
        self.at.len()
    }

    /// Whether no hash is stored.
    pub fn is_empty(&self) -> bool {
        self.at.is_empty()
    }

    /// Stores `hash` with `value`, replacing what `value` had.
    pub fn insert(&mut self, hash: PdqHash, value: V) {
        self.remove(&value);
        self.push(hash, value);
        let t = &self.tables;
        let pending = t.hashes.len() - t.built;
        if pending > FLAT_BELOW && pending > t.hashes.len() / 8 {
            self.rebuild();
        }
    }

    fn push(&mut self, hash: PdqHash, value: V) {
        if let Some(old) = self.at.insert(value, self.tables.hashes.len() as u32) {
            self.tables.kill(old as usize);
        }
        self.tables.hashes.push(hash);
        self.tables.live.push(true);
        self.values.push(value);
    }

    /// Forgets the hash stored with `value`; whether there was one.
    pub fn remove(&mut self, value: &V) -> bool {
        let Some(slot) = self.at.remove(value) else { return false };
        self.tables.kill(slot as usize);
        if self.tables.dead > FLAT_BELOW && self.tables.dead > self.tables.hashes.len() / 4 {
            self.rebuild();
        }
        true
    }

    /// Forgets every hash whose value fails `keep`.
    pub fn retain(&mut self, mut keep: impl FnMut(&V) -> bool) {
        let gone: Vec<V> = self.at.keys().filter(|v| !keep(v)).copied().collect();
        for value in gone {
            self.remove(&value);
        }
    }

    /// Every stored hash and its value.
    pub fn iter(&self) -> impl Iterator<Item = (PdqHash, V)> + '_ {
        let t = &self.tables;
        (0..t.hashes.len()).filter(|&s| t.live[s]).map(|s| (t.hashes[s], self.values[s]))
    }

    /// Drops forgotten hashes and builds the tables over everything stored.
    pub fn rebuild(&mut self) {
        if let Some(kept) = self.tables.compact() {
            self.values = kept.iter().map(|&s| self.values[s]).collect();
            self.at = self.values.iter().enumerate().map(|(s, v)| (*v, s as u32)).collect();
        }
        self.tables.build();
    }

    /// Every stored hash within `threshold` of `query`, with its distance,
    /// in no particular order; through the tables when they help, by a
    /// scan otherwise (the answer is the same).
    pub fn query(&self, query: &PdqHash, threshold: u32) -> Vec<Found<V>> {
        self.found(self.tables.query(query, threshold))
    }

    /// Every stored hash within `threshold` of `query`, by comparing it
    /// with each (what [`query`](Self::query) must answer).
    pub fn flat(&self, query: &PdqHash, threshold: u32) -> Vec<Found<V>> {
        let mut slots = Vec::new();
        self.tables.scan(0..self.tables.hashes.len(), query, threshold, &mut slots);
        self.found(slots)
    }

    fn found(&self, slots: Vec<(u32, u32)>) -> Vec<Found<V>> {
        slots.into_iter().map(|(slot, distance)| Found { distance, value: self.values[slot as usize] }).collect()
    }
}

impl Tables {
    fn kill(&mut self, slot: usize) {
        self.live[slot] = false;
        self.dead += 1;
    }

    /// Drops dead slots; the old slot of each kept one, if any was dropped.
    fn compact(&mut self) -> Option<Vec<usize>> {
        if self.dead == 0 {
            return None;
        }
        let kept: Vec<usize> = (0..self.hashes.len()).filter(|&s| self.live[s]).collect();
        self.hashes = kept.iter().map(|&s| self.hashes[s]).collect();
        self.live = vec![true; kept.len()];
        self.dead = 0;
        Some(kept)
    }

    fn build(&mut self) {
        let n = self.hashes.len();
        if n < FLAT_BELOW {
            // Scanned, not looked up (`query`): no tables, which take
            // 4 MiB even when empty.
            self.offsets = Vec::new();
            self.members = Vec::new();
            self.built = n;
            return;
        }
        self.offsets = Vec::with_capacity(CHUNKS);
        self.members = Vec::with_capacity(CHUNKS);
        for table in 0..CHUNKS {
            // A counting sort of the slots by chunk value.
            let mut offsets = vec![0u32; 65_537];
            for hash in &self.hashes {
                offsets[hash.chunk(table) as usize + 1] += 1;
            }
            for c in 0..65_536 {
                offsets[c + 1] += offsets[c];
            }
            let mut next = offsets.clone();
            let mut members = vec![0u32; n];
            for (slot, hash) in self.hashes.iter().enumerate() {
                let c = hash.chunk(table) as usize;
                members[next[c] as usize] = slot as u32;
                next[c] += 1;
            }
            self.offsets.push(offsets);
            self.members.push(members);
        }
        self.built = n;
    }

    /// `(slot, distance)` of every live hash within `threshold`.
    fn query(&self, query: &PdqHash, threshold: u32) -> Vec<(u32, u32)> {
        let radius = threshold / CHUNKS as u32;
        let mut found = Vec::new();
        if self.built < FLAT_BELOW || radius > MAX_RADIUS {
            self.scan(0..self.hashes.len(), query, threshold, &mut found);
            return found;
        }
        let chunks: [u16; CHUNKS] = std::array::from_fn(|i| query.chunk(i));
        let mut probes = Vec::with_capacity(137);
        for (table, &chunk) in chunks.iter().enumerate() {
            probes.clear();
            neighbours(chunk, radius, &mut probes);
            let (offsets, members) = (&self.offsets[table], &self.members[table]);
            for &value in &probes {
                let bucket = offsets[value as usize] as usize..offsets[value as usize + 1] as usize;
                for &slot in &members[bucket] {
                    let s = slot as usize;
                    if !self.live[s] {
                        continue;
                    }
                    let hash = &self.hashes[s];
                    // Reported from the first table it is near in only.
                    if (0..table).any(|t| (hash.chunk(t) ^ chunks[t]).count_ones() <= radius) {
                        continue;
                    }
                    let distance = hash.distance(query);
                    if distance <= threshold {
                        found.push((slot, distance));
                    }
                }
            }
        }
        self.scan(self.built..self.hashes.len(), query, threshold, &mut found);
        found
    }

    fn scan(&self, slots: std::ops::Range<usize>, query: &PdqHash, threshold: u32, found: &mut Vec<(u32, u32)>) {
        let q = query.words();
        for slot in slots {
            let w = self.hashes[slot].words();
            let distance = (0..4).map(|i| (w[i] ^ q[i]).count_ones()).sum::<u32>();
            if distance <= threshold && self.live[slot] {
                found.push((slot as u32, distance));
            }
        }
    }
}

/// Pushes every 16-bit value within Hamming distance `radius` (at most 2)
/// of `chunk`.
fn neighbours(chunk: u16, radius: u32, out: &mut Vec<u16>) {
    out.push(chunk);
    if radius >= 1 {
        for i in 0..16 {
            out.push(chunk ^ (1 << i));
        }
    }
    if radius >= 2 {
        for i in 0..16 {
            for j in i + 1..16 {
                out.push(chunk ^ (1 << i) ^ (1 << j));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbours_are_every_value_within_the_radius_once() {
        for radius in 0..=MAX_RADIUS {
            let mut got = Vec::new();
            neighbours(0xa5c3, radius, &mut got);
            let mut want: Vec<u16> = (0..=u16::MAX).filter(|v| (v ^ 0xa5c3).count_ones() <= radius).collect();
            got.sort_unstable();
            want.sort_unstable();
            assert_eq!(got, want, "radius {radius}");
        }
    }

    #[test]
    fn a_small_index_holds_no_tables_and_a_large_one_does_and_both_find_the_same() {
        let hash = |i: u64| {
            let mut bits = [0u8; 32];
            for (k, b) in bits.iter_mut().enumerate() {
                *b = (i.wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(k as u32 * 7) >> 8) as u8;
            }
            PdqHash(bits)
        };
        let small = PdqIndex::from_items((0..10u64).map(|i| (hash(i), i)));
        assert!(small.tables.offsets.is_empty() && small.tables.members.is_empty(), "no tables below FLAT_BELOW");
        let large = PdqIndex::from_items((0..FLAT_BELOW as u64 + 10).map(|i| (hash(i), i)));
        assert_eq!(large.tables.offsets.len(), CHUNKS, "tables at FLAT_BELOW and above");
        for index in [&small, &large] {
            let mut found: Vec<u64> = index.query(&hash(3), 0).into_iter().map(|f| f.value).collect();
            found.sort_unstable();
            assert_eq!(found, vec![3]);
        }
    }
}

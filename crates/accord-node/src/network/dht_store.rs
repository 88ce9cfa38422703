//! The node's Kademlia record store: libp2p's in-memory store's rules, in
//! a fraction of its memory.
//!
//! A node announces every room it holds as a provider record. libp2p's
//! `MemoryStore` keeps each key's providers in a vector with room for
//! twenty records inline (about 3 KB), and a second copy of every record
//! this node provides: about 6 KB for each room a node holds, most of it
//! empty. Here this node's own record of a key is held once, apart from
//! the other peers' records of it, which take only the room they fill.
//! The limits and what is kept when they are reached are `MemoryStore`'s.

use libp2p::PeerId;
use libp2p::kad::store::{Error, RecordStore, Result};
use libp2p::kad::{K_VALUE, ProviderRecord, Record, RecordKey};
use std::borrow::Cow;
use std::collections::{HashMap, hash_map};

/// Records and provider records, in memory.
pub struct DhtStore {
    /// This node.
    me: PeerId,
    /// At most this many (value) records.
    max_records: usize,
    /// At most this many keys with providers (counted once in each of
    /// `provided` and `others`).
    max_provider_keys: usize,
    /// A record's value is shorter than this.
    max_value_bytes: usize,
    /// The (value) records.
    records: HashMap<RecordKey, Record>,
    /// The keys this node provides, with its record of each.
    provided: HashMap<RecordKey, ProviderRecord>,
    /// Other peers' provider records, by key.
    others: HashMap<RecordKey, Vec<ProviderRecord>>,
}

impl DhtStore {
    /// An empty store for node `me`, holding at most `max_records` records
    /// and providers of at most `max_provider_keys` keys.
    pub fn new(me: PeerId, max_records: usize, max_provider_keys: usize) -> DhtStore {
        DhtStore {
            me,
            max_records,
            max_provider_keys,
            max_value_bytes: 65 * 1024,
            records: HashMap::new(),
            provided: HashMap::new(),
            others: HashMap::new(),
        }
    }

    /// How many providers of `key` are held.
    fn provider_count(&self, key: &RecordKey) -> usize {
        usize::from(self.provided.contains_key(key)) + self.others.get(key).map_or(0, Vec::len)
    }

    /// Whether a provider of a key not held yet would go over the limit.
    fn keys_full(&self, key: &RecordKey) -> bool {
        let held = self.provided.contains_key(key) || self.others.contains_key(key);
        !held && self.provided.len() + self.others.len() >= self.max_provider_keys
    }
}

impl RecordStore for DhtStore {
    type RecordsIter<'a> = std::iter::Map<hash_map::Values<'a, RecordKey, Record>, fn(&'a Record) -> Cow<'a, Record>>;
    type ProvidedIter<'a> = std::iter::Map<
        hash_map::Values<'a, RecordKey, ProviderRecord>,
        fn(&'a ProviderRecord) -> Cow<'a, ProviderRecord>,
    >;

    fn get(&self, k: &RecordKey) -> Option<Cow<'_, Record>> {
        self.records.get(k).map(Cow::Borrowed)
    }

    fn put(&mut self, r: Record) -> Result<()> {
        if r.value.len() >= self.max_value_bytes {
            return Err(Error::ValueTooLarge);
        }
        let count = self.records.len();
        match self.records.entry(r.key.clone()) {
            hash_map::Entry::Occupied(mut e) => {
                e.insert(r);
            }
            hash_map::Entry::Vacant(e) => {
                if count >= self.max_records {
                    return Err(Error::MaxRecords);
                }
                e.insert(r);
            }
        }
        Ok(())
    }

    fn remove(&mut self, k: &RecordKey) {
        self.records.remove(k);
    }

    fn records(&self) -> Self::RecordsIter<'_> {
        self.records.values().map(Cow::Borrowed)
    }

    fn add_provider(&mut self, record: ProviderRecord) -> Result<()> {
        if self.keys_full(&record.key) {
            return Err(Error::MaxProvidedKeys);
        }
        if record.provider == self.me {
            // It replaces the node's record, or joins while fewer than
            // K_VALUE providers are held.
            if self.provided.contains_key(&record.key) || self.provider_count(&record.key) < K_VALUE.get() {
                self.provided.insert(record.key.clone(), record);
            }
            return Ok(());
        }
        let count = self.provider_count(&record.key);
        let others = self.others.entry(record.key.clone()).or_default();
        if let Some(held) = others.iter_mut().find(|p| p.provider == record.provider) {
            *held = record;
        } else if count < K_VALUE.get() {
            // (Never leaves an empty list: a key with fewer than two
            // providers is below K_VALUE.)
            others.push(record);
        }
        Ok(())
    }

    fn providers(&self, key: &RecordKey) -> Vec<ProviderRecord> {
        self.provided.get(key).into_iter().chain(self.others.get(key).into_iter().flatten()).cloned().collect()
    }

    fn provided(&self) -> Self::ProvidedIter<'_> {
        self.provided.values().map(Cow::Borrowed)
    }

    fn remove_provider(&mut self, key: &RecordKey, provider: &PeerId) {
        if *provider == self.me {
            self.provided.remove(key);
            return;
        }
        if let hash_map::Entry::Occupied(mut e) = self.others.entry(key.clone()) {
            e.get_mut().retain(|p| p.provider != *provider);
            if e.get().is_empty() {
                e.remove();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(key: &RecordKey, provider: PeerId) -> ProviderRecord {
        ProviderRecord::new(key.clone(), provider, Vec::new())
    }

    #[test]
    fn the_nodes_own_records_are_the_ones_it_provides_and_are_listed_first() {
        let me = PeerId::random();
        let mut store = DhtStore::new(me, 16, 16);
        let key = RecordKey::new(&b"room".to_vec());
        let other = PeerId::random();
        store.add_provider(record(&key, other)).unwrap();
        store.add_provider(record(&key, me)).unwrap();
        let providers: Vec<PeerId> = store.providers(&key).iter().map(|p| p.provider).collect();
        assert_eq!(providers, vec![me, other]);
        let provided: Vec<RecordKey> = store.provided().map(|p| p.key.clone()).collect();
        assert_eq!(provided, vec![key.clone()]);
        store.remove_provider(&key, &me);
        assert_eq!(store.provided().count(), 0);
        assert_eq!(store.providers(&key).len(), 1);
        store.remove_provider(&key, &other);
        assert!(store.providers(&key).is_empty());
        assert!(store.others.is_empty(), "a key with no providers left is dropped");
    }

    #[test]
    fn a_key_holds_at_most_k_providers_and_an_update_replaces_in_place() {
        let mut store = DhtStore::new(PeerId::random(), 16, 16);
        let key = RecordKey::new(&b"busy".to_vec());
        let peers: Vec<PeerId> = (0..K_VALUE.get() + 5).map(|_| PeerId::random()).collect();
        for peer in &peers {
            store.add_provider(record(&key, *peer)).unwrap();
        }
        assert_eq!(store.providers(&key).len(), K_VALUE.get(), "the first K are kept, later ones ignored");
        let addr: libp2p::Multiaddr = "/ip4/127.0.0.1/tcp/1".parse().unwrap();
        store.add_provider(ProviderRecord::new(key.clone(), peers[0], vec![addr.clone()])).unwrap();
        let providers = store.providers(&key);
        assert_eq!(providers.len(), K_VALUE.get());
        assert_eq!(providers.iter().find(|p| p.provider == peers[0]).unwrap().addresses, vec![addr]);
    }

    #[test]
    fn providers_of_new_keys_are_refused_past_the_limit_and_records_past_theirs() {
        let me = PeerId::random();
        let mut store = DhtStore::new(me, 2, 2);
        let keys: Vec<RecordKey> = (0..3u8).map(|i| RecordKey::new(&vec![i])).collect();
        store.add_provider(record(&keys[0], me)).unwrap();
        store.add_provider(record(&keys[1], PeerId::random())).unwrap();
        assert!(matches!(store.add_provider(record(&keys[2], me)), Err(Error::MaxProvidedKeys)));
        assert!(matches!(store.add_provider(record(&keys[2], PeerId::random())), Err(Error::MaxProvidedKeys)));
        store.add_provider(record(&keys[1], me)).unwrap();
        assert_eq!(store.provided().count(), 2, "a key already held takes more providers");

        for key in &keys[..2] {
            store.put(Record::new(key.clone(), b"value".to_vec())).unwrap();
        }
        assert!(matches!(store.put(Record::new(keys[2].clone(), Vec::new())), Err(Error::MaxRecords)));
        store.put(Record::new(keys[0].clone(), b"new".to_vec())).unwrap();
        assert_eq!(store.get(&keys[0]).unwrap().value, b"new");
        assert!(matches!(store.put(Record::new(keys[2].clone(), vec![0; 65 * 1024])), Err(Error::ValueTooLarge)));
        store.remove(&keys[0]);
        assert!(store.get(&keys[0]).is_none());
        assert_eq!(store.records().count(), 1);
    }
}

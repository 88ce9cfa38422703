//! Micro-benchmarks of the enforcement index: a lookup that misses and
//! one that hits with 1,000,000 entries indexed, and the target hash every
//! lookup of a plain id starts with.
//!
//! ```sh
//! cargo bench -p accord-bench --bench lookup
//! ```

use accord_node::lists::{Index, Policy};
use accord_proto::blocklist::entry::{Action, Category, TargetKind, target_hash};
use accord_proto::{IssuerId, ListId, SecretKey, Sha256Hash, Timestamp};
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn content_key(i: u64) -> Sha256Hash {
    target_hash(TargetKind::Content, &Sha256Hash::digest(&i.to_be_bytes()).to_string())
}

fn index(c: &mut Criterion) {
    let list = ListId {
        issuer: IssuerId::from(SecretKey::from_seed([7; 32]).public()),
        name: "bench".parse().expect("list name"),
    };
    let mut index = Index::default();
    index.set_policy(&list, Policy { enforced: true, actions: Default::default(), ..Default::default() });
    for i in 0..1_000_000 {
        index.add(&list, i, (TargetKind::Content, content_key(i)), Category::Spam, Action::Reject, None);
    }
    let (hit, miss, now) = (content_key(500_000), content_key(2_000_000), Timestamp::now());
    c.bench_function("index_1m_lookup_miss", |b| b.iter(|| index.lookup(TargetKind::Content, black_box(&miss), now)));
    c.bench_function("index_1m_lookup_hit", |b| b.iter(|| index.lookup(TargetKind::Content, black_box(&hit), now)));
    let account = SecretKey::from_seed([9; 32]).account_id().to_string();
    c.bench_function("target_hash_account", |b| b.iter(|| target_hash(TargetKind::Account, black_box(&account))));
}

criterion_group!(benches, index);
criterion_main!(benches);

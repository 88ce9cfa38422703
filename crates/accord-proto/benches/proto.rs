//! Micro-benchmarks of the protocol core: signatures, envelopes, Merkle log.
//!
//! ```sh
//! cargo bench -p accord-proto --bench proto
//! ```

use accord_proto::blocklist::merkle::{MerkleLog, verify_consistency};
use accord_proto::envelope::Payload;
use accord_proto::event::{EventBody, EventContent};
use accord_proto::keys::verify_batch;
use accord_proto::{Domain, EventId, RoomId, SecretKey, Sha256Hash, Timestamp, Unverified, Verified};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

fn message_body(key: &SecretKey, i: usize) -> EventBody {
    EventBody {
        room: Some(RoomId::from(EventId(Sha256Hash::digest(b"bench room")))),
        author: key.account_id(),
        ts: Timestamp::from_millis(1_764_000_000_000 + i as u64),
        content: EventContent::Message {
            text: format!("benchmark message number {i} with a typical length of text").try_into().expect("text"),
            reply_to: None,
            attachments: vec![],
        },
    }
}

fn envelopes(n: usize) -> Vec<Unverified<EventBody>> {
    (0..n)
        .map(|i| {
            let key = SecretKey::from_seed([(i % 251) as u8 + 1; 32]);
            Verified::sign(message_body(&key, i), &key).expect("sign").to_unverified()
        })
        .collect()
}

fn signatures(c: &mut Criterion) {
    let key = SecretKey::from_seed([1; 32]);
    let env = envelopes(1).remove(0);
    let input = Domain::Event.signing_input(&env.raw().body);
    c.bench_function("sign", |b| b.iter(|| key.sign_raw(black_box(&input))));
    c.bench_function("verify", |b| b.iter(|| env.raw().signer.verify(black_box(&input), &env.raw().sig)));
    for n in [64usize, 1024] {
        let envs = envelopes(n);
        let inputs: Vec<Vec<u8>> = envs.iter().map(|e| Domain::Event.signing_input(&e.raw().body)).collect();
        let items: Vec<_> =
            envs.iter().zip(&inputs).map(|(e, i)| (e.raw().signer, i.as_slice(), e.raw().sig)).collect();
        let mut g = c.benchmark_group(format!("batch_verify_{n}"));
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function("batch", |b| b.iter(|| verify_batch(black_box(&items))));
        g.bench_function("one_by_one", |b| b.iter(|| items.iter().all(|(k, m, s)| k.verify(m, s))));
        g.finish();
    }
}

fn envelope_parse(c: &mut Criterion) {
    let env = envelopes(1).remove(0);
    let json = serde_json::to_vec(&env).expect("json");
    let mut g = c.benchmark_group("envelope");
    g.throughput(Throughput::Bytes(json.len() as u64));
    g.bench_function("parse_and_verify", |b| {
        b.iter(|| {
            let u: Unverified<EventBody> = serde_json::from_slice(black_box(&json)).expect("parse");
            u.verify().expect("verify")
        })
    });
    g.finish();
    let _ = <EventBody as Payload>::MAX_BODY;
}

fn merkle(c: &mut Criterion) {
    let leaves: Vec<[u8; 8]> = (0u64..1_000_000).map(|i| i.to_le_bytes()).collect();
    let mut g = c.benchmark_group("merkle");
    g.sample_size(10);
    g.throughput(Throughput::Elements(leaves.len() as u64));
    g.bench_function("root_of_1m_leaves", |b| {
        b.iter_batched(
            MerkleLog::new,
            |mut log| {
                for leaf in &leaves {
                    log.push(leaf);
                }
                log.root()
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();

    let mut log = MerkleLog::new();
    for leaf in &leaves[..100_000] {
        log.push(leaf);
    }
    let (m, n) = (40_000u64, 100_000u64);
    let (old, new) = (log.root_at(m).expect("root"), log.root_at(n).expect("root"));
    let proof = log.consistency_proof(m, n).expect("proof");
    c.bench_function("consistency_proof_verify_40k_100k", |b| {
        b.iter(|| verify_consistency(m, n, &old, &new, black_box(&proof)).expect("verify"))
    });
}

criterion_group!(benches, signatures, envelope_parse, merkle);
criterion_main!(benches);

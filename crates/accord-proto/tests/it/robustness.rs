//! Robustness: every decoder of untrusted input, fed arbitrary bytes and
//! mutations of valid objects (the spec's test vectors), never panics and
//! refuses with typed errors. The decoders are those the `cargo fuzz`
//! targets call (`fuzz/src/protocol.rs`, included here), so CI runs the same
//! harness the fuzzer does. `PROPTEST_CASES` runs more cases. (The
//! blocklist import formats have their own: `accord-formats`'
//! `tests/it/robustness.rs`.)

#[path = "../../../../fuzz/src/protocol.rs"]
#[allow(unreachable_pub, dead_code)]
mod decoders;

use proptest::prelude::*;
use std::sync::OnceLock;

/// Valid inputs: every object and string in `spec/vectors/*.json`, the
/// bodies given in hex, and each file whole.
fn seeds() -> &'static [Vec<u8>] {
    static SEEDS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let root = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_string());
        let dir = std::path::Path::new(&root).join("../../spec/vectors");
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&dir).expect("spec/vectors") {
            let bytes = std::fs::read(entry.expect("entry").path()).expect("vector file");
            let value: serde_json::Value = serde_json::from_slice(&bytes).expect("vectors are JSON");
            collect(&value, &mut out);
            out.push(bytes);
        }
        out.retain(|s| s.len() <= 64 * 1024);
        out.sort();
        out.dedup();
        out
    })
}

fn collect(value: &serde_json::Value, out: &mut Vec<Vec<u8>>) {
    match value {
        serde_json::Value::Object(map) => {
            out.push(serde_json::to_vec(value).expect("re-encode"));
            for (key, v) in map {
                if key.ends_with("_hex")
                    && let Some(bytes) = v.as_str().and_then(|h| hex::decode(h).ok())
                {
                    out.push(bytes);
                }
                collect(v, out);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect(v, out)),
        serde_json::Value::String(s) => out.push(s.as_bytes().to_vec()),
        _ => {}
    }
}

/// One way of damaging a valid input.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(prop::sample::Index, u8),
    Insert(prop::sample::Index, u8),
    Delete(prop::sample::Index),
    Truncate(prop::sample::Index),
    Duplicate(prop::sample::Index, prop::sample::Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<prop::sample::Index>(), 0u8..8).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<prop::sample::Index>().prop_map(Mutation::Delete),
        any::<prop::sample::Index>().prop_map(Mutation::Truncate),
        (any::<prop::sample::Index>(), any::<prop::sample::Index>()).prop_map(|(a, b)| Mutation::Duplicate(a, b)),
    ]
}

fn apply(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        if bytes.is_empty() {
            bytes.push(b'{');
        }
        let len = bytes.len();
        match m {
            Mutation::Flip(i, bit) => bytes[i.index(len)] ^= 1 << bit,
            Mutation::Insert(i, b) => bytes.insert(i.index(len + 1), *b),
            Mutation::Delete(i) => {
                bytes.remove(i.index(len));
            }
            Mutation::Truncate(i) => bytes.truncate(i.index(len + 1)),
            Mutation::Duplicate(a, b) => {
                let (a, b) = (a.index(len), b.index(len));
                let (from, to) = (a.min(b), a.max(b));
                let copy = bytes[from..to].to_vec();
                bytes.splice(to..to, copy);
            }
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic_any_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        decoders::all(&bytes);
    }

    #[test]
    fn arbitrary_text_never_panics_any_decoder(text in "\\PC{0,512}") {
        decoders::all(text.as_bytes());
    }

    #[test]
    fn mutated_valid_inputs_never_panic_any_decoder(
        seed in any::<prop::sample::Index>(),
        mutations in proptest::collection::vec(mutation(), 1..6),
    ) {
        let seeds = seeds();
        let bytes = apply(seeds[seed.index(seeds.len())].clone(), &mutations);
        decoders::all(&bytes);
    }
}

#[test]
fn every_valid_input_passes_every_decoder_without_panic() {
    let seeds = seeds();
    assert!(seeds.len() > 100, "the vectors give many seeds ({})", seeds.len());
    for seed in seeds {
        decoders::all(seed);
    }
}

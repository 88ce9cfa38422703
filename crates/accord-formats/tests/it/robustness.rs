//! Robustness: every import format, fed arbitrary bytes and damaged valid
//! documents, never panics, refuses with typed errors, and what it imports
//! comes back unchanged through export and import. The checks are those the
//! `cargo fuzz` targets `plain`, `mastodon_csv` and `matrix_policy` run
//! (`fuzz/src/formats.rs`, included here), so CI runs the same harness the
//! fuzzer does. `PROPTEST_CASES` runs more cases.

#[path = "../../../../fuzz/src/formats.rs"]
#[allow(unreachable_pub, dead_code)]
mod harness;

use crate::fixtures::sample_documents;
use accord_formats::{Format, import};
use accord_proto::blocklist::Category;
use proptest::prelude::*;

/// Bytes that matter to the formats' syntax, and some that are not UTF-8.
const ALPHABET: &[u8] = b"[]{},:\"\\\n\r\t #*?.@!1aAz09e-\xc3\xa9\xe2\x80\xa6\xff\x00";

/// One way of damaging a valid document.
#[derive(Debug, Clone)]
enum Mutation {
    Replace(prop::sample::Index, u8),
    Insert(prop::sample::Index, u8),
    Delete(prop::sample::Index),
    Truncate(prop::sample::Index),
}

fn syntax_byte() -> impl Strategy<Value = u8> {
    prop_oneof![prop::sample::select(ALPHABET), any::<u8>()]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<prop::sample::Index>(), syntax_byte()).prop_map(|(i, b)| Mutation::Replace(i, b)),
        (any::<prop::sample::Index>(), syntax_byte()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<prop::sample::Index>().prop_map(Mutation::Delete),
        any::<prop::sample::Index>().prop_map(Mutation::Truncate),
    ]
}

fn apply(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let len = bytes.len();
        match m {
            Mutation::Replace(i, b) if len > 0 => bytes[i.index(len)] = *b,
            Mutation::Insert(i, b) => bytes.insert(i.index(len + 1), *b),
            Mutation::Delete(i) if len > 0 => {
                bytes.remove(i.index(len));
            }
            Mutation::Truncate(i) => bytes.truncate(i.index(len + 1)),
            _ => {}
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic_any_format(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        harness::all_formats(&bytes);
    }

    #[test]
    fn syntax_soup_never_panics_any_format(bytes in proptest::collection::vec(syntax_byte(), 0..512)) {
        harness::all_formats(&bytes);
    }

    #[test]
    fn arbitrary_text_never_panics_any_format(text in "\\PC{0,512}") {
        harness::all_formats(text.as_bytes());
    }

    #[test]
    fn damaged_valid_documents_never_panic_and_round_trip(
        document in any::<prop::sample::Index>(),
        mutations in proptest::collection::vec(mutation(), 1..6),
    ) {
        let documents = sample_documents();
        let (format, text) = &documents[document.index(documents.len())];
        let bytes = apply(text.clone().into_bytes(), &mutations);
        match format {
            Format::Plain => harness::plain(&bytes),
            Format::MastodonCsv => harness::mastodon_csv(&bytes),
            Format::MatrixPolicy => harness::matrix_policy(&bytes),
            Format::PdqHex => harness::pdq_hex(&bytes),
            Format::ThreatExchangeCsv => harness::threatexchange_csv(&bytes),
        }
        harness::all_formats(&bytes);
    }
}

#[test]
fn every_sample_document_passes_the_harness_of_every_format() {
    for (_, text) in sample_documents() {
        harness::all_formats(text.as_bytes());
    }
}

/// xorshift64*: a small deterministic generator.
struct XorShift(u64);

impl XorShift {
    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// The damaged documents the proptests feed reach the row mappers, not only
/// the readers: many still import entries.
#[test]
fn random_and_damaged_documents_never_panic_and_reach_the_row_mappers() {
    let samples: Vec<String> = sample_documents().into_iter().map(|(_, text)| text).collect();
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut imported = 0usize;
    for round in 0..4000 {
        let bytes: Vec<u8> = if round % 2 == 0 {
            // Random bytes, half of them from the syntax alphabet.
            let len = rng.below(300);
            (0..len)
                .map(|_| if rng.below(2) == 0 { ALPHABET[rng.below(ALPHABET.len())] } else { rng.next_u64() as u8 })
                .collect()
        } else {
            // A valid document with a few bytes changed, inserted or cut.
            let mut b = samples[rng.below(samples.len())].clone().into_bytes();
            for _ in 0..1 + rng.below(6) {
                let at = rng.below(b.len() + 1);
                match rng.below(3) {
                    0 if at < b.len() => b[at] = ALPHABET[rng.below(ALPHABET.len())],
                    1 => b.insert(at, ALPHABET[rng.below(ALPHABET.len())]),
                    _ => b.truncate(at),
                }
            }
            b
        };
        harness::all_formats(&bytes);
        let text = String::from_utf8_lossy(&bytes);
        for format in Format::ALL {
            if let Ok(got) = import(format, &text, Category::Other) {
                imported += got.entries.len();
            }
        }
    }
    assert!(imported > 1000, "{imported}");
}

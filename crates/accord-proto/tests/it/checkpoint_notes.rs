//! Checkpoint notes under proptest (spec/blocklists.md §4): any checkpoint
//! signed by its list's issuer round-trips through its note text (and the
//! note's JSON form) to the same checkpoint, and a note with any one byte
//! changed, removed or added is refused.

use crate::fixtures::key;
use accord_proto::blocklist::merkle::empty_root;
use accord_proto::blocklist::{Checkpoint, SignedCheckpoint};
use accord_proto::{ListId, Sha256Hash, Timestamp};
use proptest::prelude::*;
use proptest::sample::Index;

/// Arbitrary checkpoints of lists of arbitrary issuers and names.
fn checkpoints() -> impl Strategy<Value = (u8, Checkpoint)> {
    (any::<u8>(), "[a-z][a-z0-9-]{0,24}", any::<u64>(), any::<[u8; 32]>(), 0..=Timestamp::MAX.as_millis())
        .prop_filter_map("a valid list name", |(seed, name, size, root, time)| {
            let list = ListId { issuer: key(seed).public().into(), name: name.parse().ok()? };
            let root = if size == 0 { empty_root() } else { Sha256Hash(root) };
            Some((seed, Checkpoint { list, size, root, time: Timestamp::from_millis(time) }))
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn a_signed_checkpoint_round_trips_through_its_note((seed, checkpoint) in checkpoints()) {
        let signed = checkpoint.sign(&key(seed)).unwrap();
        let read = SignedCheckpoint::from_note(signed.note().to_string()).verify(&checkpoint.list).unwrap();
        prop_assert_eq!(&read.checkpoint, &checkpoint);
        prop_assert_eq!(&read.signed, &signed);
        let json = serde_json::to_string(&signed).unwrap();
        let from_json: SignedCheckpoint = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(from_json.verify(&checkpoint.list).unwrap().checkpoint, checkpoint);
    }

    #[test]
    fn a_note_with_any_one_byte_changed_removed_or_added_is_refused(
        (seed, checkpoint) in checkpoints(),
        at in any::<Index>(),
        delta in 1u8..=255,
        byte in any::<u8>(),
    ) {
        let note = checkpoint.sign(&key(seed)).unwrap().note().as_bytes().to_vec();
        let i = at.index(note.len());
        let mut changed = note.clone();
        changed[i] = changed[i].wrapping_add(delta);
        let mut removed = note.clone();
        removed.remove(i);
        let mut added = note.clone();
        added.insert(at.index(note.len() + 1), byte);
        for (how, bytes) in [("changed", changed), ("removed", removed), ("added", added)] {
            // A note travels as a JSON string: bytes that are not UTF-8
            // never reach the verifier.
            if let Ok(text) = String::from_utf8(bytes) {
                let result = SignedCheckpoint::from_note(text.clone()).verify(&checkpoint.list);
                prop_assert!(result.is_err(), "byte {i} {how}: {text:?} verifies");
            }
        }
    }
}

//! Identifiers: text forms round-trip, typos are caught, kinds don't mix.

use crate::fixtures::key;
use accord_proto::{AccountId, ContentHash, EventId, IssuerId, ListId, NodeId, ParseIdError, RoomId, Sha256Hash};
use proptest::prelude::*;

#[test]
fn account_id_round_trips_through_text() {
    let id = key(1).account_id();
    let text = id.to_string();
    assert!(text.starts_with("acct1"));
    assert_eq!(text.parse::<AccountId>().unwrap(), id);
}

#[test]
fn a_mistyped_account_id_is_rejected_not_misread() {
    let text = key(1).account_id().to_string();
    for pos in 5..text.len() {
        let mut chars: Vec<char> = text.chars().collect();
        chars[pos] = if chars[pos] == 'q' { 'p' } else { 'q' };
        let typo: String = chars.into_iter().collect();
        assert!(typo.parse::<AccountId>().is_err(), "typo at {pos} accepted");
    }
}

#[test]
fn ids_of_one_kind_do_not_parse_as_another() {
    let text = key(1).account_id().to_string();
    let err = text.parse::<IssuerId>().unwrap_err();
    assert!(matches!(err, ParseIdError::WrongPrefix { .. }), "{err:?}");
    let ev = EventId(Sha256Hash::digest(b"x")).to_string();
    assert!(ev.parse::<RoomId>().is_err());
}

#[test]
fn uppercase_ids_are_refused() {
    let text = key(1).account_id().to_string().to_uppercase();
    assert!(text.parse::<AccountId>().is_err());
}

#[test]
fn node_id_is_the_libp2p_peer_id_text() {
    let node = NodeId::from(key(1).public());
    let text = node.to_string();
    assert!(text.starts_with("12D3KooW"), "{text}");
    assert_eq!(text.parse::<NodeId>().unwrap(), node);
    let bytes = node.to_peer_id_bytes();
    assert_eq!(NodeId::from_peer_id_bytes(&bytes).unwrap(), node);
    let mut wrong = bytes;
    wrong[3] = 0x02; // a secp256k1 key type: not a node id
    assert!(NodeId::from_peer_id_bytes(&wrong).is_err());
}

#[test]
fn list_id_is_issuer_slash_name() {
    let id: ListId = format!("{}/csam-hashes", IssuerId::from(key(3).public())).parse().unwrap();
    assert_eq!(id.name.as_str(), "csam-hashes");
    assert!(id.origin().starts_with("accord/v1/list/iss1"));
    assert!(format!("{}/Bad Name", id.issuer).parse::<ListId>().is_err());
}

#[test]
fn content_hash_is_sha256sum_hex() {
    let h = ContentHash::of(b"abc");
    assert_eq!(h.to_string(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert!(h.to_string().to_uppercase().parse::<ContentHash>().is_err());
}

#[test]
fn account_and_node_ids_take_their_32_key_bytes_in_memory() {
    // A node holds many of them (members, hosts, origins, recent events):
    // not the decoded curve point, six times the size.
    assert_eq!(std::mem::size_of::<AccountId>(), 32);
    assert_eq!(std::mem::size_of::<NodeId>(), 32);
    let id = key(1).account_id();
    let msg = b"checked against the key its bytes name";
    let sig = key(1).sign_raw(msg);
    assert!(id.public_key().verify(msg, &sig), "a key held as bytes still verifies");
    assert!(!key(2).account_id().public_key().verify(msg, &sig));
}

#[test]
fn weak_keys_are_not_accounts() {
    // The identity point (0, 1) encodes as 01 00 … 00: small order.
    let mut bytes = [0u8; 32];
    bytes[0] = 1;
    assert!(accord_proto::PublicKey::from_bytes(&bytes).is_err());
}

#[test]
fn secret_keys_never_print() {
    let k = key(7);
    let seed_hex = hex::encode(*k.to_seed());
    let shown = format!("{k:?}");
    assert!(!shown.contains(&seed_hex));
    assert!(shown.contains("redacted"));
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics_the_id_parsers(s in ".{0,120}") {
        let _ = s.parse::<AccountId>();
        let _ = s.parse::<NodeId>();
        let _ = s.parse::<RoomId>();
        let _ = s.parse::<ListId>();
        let _ = s.parse::<ContentHash>();
        let _ = s.parse::<accord_proto::identity::Handle>();
    }

    #[test]
    fn every_key_round_trips(seed in any::<[u8; 32]>()) {
        let public = accord_proto::SecretKey::from_seed(seed).public();
        let acct = public.account_id();
        prop_assert_eq!(acct.to_string().parse::<AccountId>().unwrap(), acct);
        let node = NodeId::from(public);
        prop_assert_eq!(node.to_string().parse::<NodeId>().unwrap(), node);
    }
}

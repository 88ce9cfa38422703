//! Signed envelopes: verify, then parse; any change to the bytes fails.

use crate::fixtures::{create, event, key, message, node};
use accord_proto::event::{EventBody, EventContent, UnverifiedEvent};
use accord_proto::identity::{Handle, IdentityDocument, KeyRotation, SignedRotation};
use accord_proto::{Domain, EnvelopeError, NodeId, SignedBytes, Timestamp, Unverified, Verified};
use proptest::prelude::*;

fn identity(seed: u8) -> Verified<IdentityDocument> {
    let k = key(seed);
    Verified::sign(
        IdentityDocument {
            account: k.account_id(),
            handle: Handle::parse("alice@example.org").unwrap(),
            home: NodeId::from(node().public()),
            created: Timestamp::from_millis(5),
        },
        &k,
    )
    .unwrap()
}

#[test]
fn a_signature_made_for_one_domain_does_not_verify_in_another() {
    let doc = identity(1);
    let raw = doc.raw().clone();
    assert!(raw.verify(Domain::Identity));
    assert!(!raw.verify(Domain::Event));
    assert!(!raw.verify(Domain::Report));
}

#[test]
fn signing_as_someone_else_is_refused() {
    let doc = identity(1).payload().clone();
    let err = Verified::sign(doc, &key(2)).unwrap_err();
    assert_eq!(err.code(), "signer_mismatch");
}

#[test]
fn a_body_signed_by_another_key_than_it_names_is_refused() {
    let doc = identity(1);
    // Mallory re-signs Alice's document bytes with her own key.
    let forged = SignedBytes::sign(Domain::Identity, doc.raw().body.clone(), &key(66));
    let err = Unverified::<IdentityDocument>::from_raw(forged).verify().unwrap_err();
    assert!(matches!(err, EnvelopeError::SignerMismatch { .. }), "{err:?}");
}

#[test]
fn oversized_bodies_are_refused_before_verification() {
    let k = key(1);
    let body = vec![b' '; 64 * 1024];
    let raw = SignedBytes::sign(Domain::Identity, body, &k);
    let err = Unverified::<IdentityDocument>::from_raw(raw).verify().unwrap_err();
    assert_eq!(err.code(), "too_large");
}

#[test]
fn unknown_fields_are_refused() {
    let k = key(1);
    let body = format!(
        r#"{{"account":"{}","handle":"a@b.c","home":"{}","created":1,"admin":true}}"#,
        k.account_id(),
        NodeId::from(node().public())
    );
    let raw = SignedBytes::sign(Domain::Identity, body.into_bytes(), &k);
    let err = Unverified::<IdentityDocument>::from_raw(raw).verify().unwrap_err();
    assert_eq!(err.code(), "malformed");
}

#[test]
fn a_create_event_must_not_name_a_room_and_others_must() {
    let k = key(1);
    let room = create(&k).room();
    let bad = EventBody { room: None, author: k.account_id(), ts: Timestamp::from_millis(1), content: message("hi") };
    assert_eq!(Verified::sign(bad, &k).unwrap_err().code(), "invalid");
    let good =
        EventBody { room: Some(room), author: k.account_id(), ts: Timestamp::from_millis(1), content: message("hi") };
    assert!(Verified::sign(good, &k).is_ok());
}

#[test]
fn a_stamp_for_another_event_does_not_fit() {
    let k = key(1);
    let c = create(&k);
    let a = event(&k, Some(c.room()), message("one"), 2, vec![c.id()], 1);
    let b = event(&k, Some(c.room()), message("two"), 3, vec![c.id()], 1);
    let mixed = UnverifiedEvent { author: a.to_unverified().author, origin: b.to_unverified().origin };
    assert_eq!(mixed.verify().unwrap_err().code(), "inconsistent_event");
}

#[test]
fn a_receipt_checks_the_stamp_of_the_author_envelope_it_was_given() {
    let k = key(1);
    let c = create(&k);
    let body = EventBody {
        room: Some(c.room()),
        author: k.account_id(),
        ts: Timestamp::from_millis(5),
        content: message("mine"),
    };
    let signed = Verified::sign(body, &k).unwrap();
    let stamped =
        accord_proto::event::Event::stamp(signed.clone(), &node(), 2, vec![c.id()], 1, Timestamp::from_millis(6))
            .unwrap()
            .to_unverified();
    assert_eq!(stamped.verify_stamp_of(&signed).unwrap().id(), stamped.verify().unwrap().id());

    let other = event(&k, Some(c.room()), message("not mine"), 3, vec![c.id()], 1).to_unverified();
    assert_eq!(other.verify_stamp_of(&signed).unwrap_err().code(), "inconsistent_event");

    let mut forged = stamped.clone();
    let mut raw = forged.origin.raw().clone();
    raw.sig = other.origin.raw().sig;
    forged.origin = Unverified::from_raw(raw);
    assert!(matches!(forged.verify_stamp_of(&signed), Err(accord_proto::event::EventError::Origin(_))));
}

#[test]
fn batch_verification_pinpoints_the_bad_event() {
    let k = key(1);
    let c = create(&k);
    let mut wire: Vec<UnverifiedEvent> = (0..10)
        .map(|i| event(&k, Some(c.room()), message(&format!("m{i}")), i + 2, vec![c.id()], 1).to_unverified())
        .collect();
    let mut raw = wire[4].author.raw().clone();
    raw.body[20] ^= 1;
    wire[4].author = Unverified::from_raw(raw);
    let results = UnverifiedEvent::verify_many(&wire);
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r.is_ok(), i != 4, "event {i}: {r:?}");
    }
}

#[test]
fn rotation_needs_both_signatures() {
    let (old, new) = (key(1), key(2));
    let rotation = KeyRotation { old: old.account_id(), new: new.account_id(), ts: Timestamp::from_millis(9) };
    let signed = SignedRotation::sign(&rotation, &old, &new).unwrap();
    assert_eq!(signed.verify().unwrap(), rotation);
    let mut only_old = signed.clone();
    only_old.new_sig = old.sign_raw(&Domain::Rotation.signing_input(&signed.body));
    assert_eq!(only_old.verify().unwrap_err().code(), "bad_signature");
}

fn arb_text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 àéü漢字!?.,\n]{1,200}"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn envelope_round_trips_through_json(text in arb_text(), seed in 1u8..255) {
        let k = key(seed);
        let room = create(&key(1)).room();
        let body = EventBody { room: Some(room), author: k.account_id(), ts: Timestamp::from_millis(42), content: message(&text) };
        let signed = Verified::sign(body.clone(), &k).unwrap();
        let json = serde_json::to_string(&signed).unwrap();
        let back: Unverified<EventBody> = serde_json::from_str(&json).unwrap();
        let verified = back.verify().unwrap();
        prop_assert_eq!(verified.payload(), &body);
        prop_assert_eq!(verified.raw(), signed.raw());
        let EventContent::Message { text: got, .. } = &verified.content else { panic!("not a message") };
        prop_assert_eq!(got.as_str(), text.as_str());
    }

    #[test]
    fn flipping_any_bit_of_body_or_signature_fails(text in arb_text(), pos in any::<prop::sample::Index>(), bit in 0u8..8) {
        let k = key(3);
        let room = create(&key(1)).room();
        let body = EventBody { room: Some(room), author: k.account_id(), ts: Timestamp::from_millis(42), content: message(&text) };
        let raw = Verified::sign(body, &k).unwrap().raw().clone();
        let total = raw.body.len() + 64;
        let at = pos.index(total);
        let mut tampered = raw.clone();
        if at < raw.body.len() {
            tampered.body[at] ^= 1 << bit;
        } else {
            let mut sig = raw.sig.to_bytes();
            sig[at - raw.body.len()] ^= 1 << bit;
            tampered.sig = accord_proto::Signature::from_bytes(&sig);
        }
        let result = Unverified::<EventBody>::from_raw(tampered.clone()).verify();
        prop_assert_eq!(result.unwrap_err(), EnvelopeError::BadSignature);
        let batch = Unverified::<EventBody>::verify_many(&[Unverified::from_raw(raw), Unverified::from_raw(tampered)]);
        prop_assert!(batch[0].is_ok());
        prop_assert!(batch[1].is_err());
    }

    #[test]
    fn garbage_never_panics_the_decoders(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let k = key(1);
        let raw = SignedBytes::sign(Domain::Event, bytes.clone(), &k);
        let _ = Unverified::<EventBody>::from_raw(raw).verify();
        let _ = serde_json::from_slice::<UnverifiedEvent>(&bytes);
        let _ = accord_proto::blocklist::ListEntry::parse(&bytes);
        let _ = serde_json::from_slice::<SignedRotation>(&bytes);
    }
}

#[test]
fn only_the_canonical_encoding_of_a_body_is_accepted() {
    let k = key(1);
    let doc = identity(1);
    let canonical = String::from_utf8(doc.raw().body.clone()).unwrap();
    let home = NodeId::from(node().public()).to_string();
    let variants = [
        canonical.replace(",\"", ", \""),                                       // whitespace
        canonical.replacen("{\"account\"", "{ \"account\"", 1),                 // whitespace
        format!("[\"{}\",\"alice@example.org\",\"{home}\",5]", k.account_id()), // positional array
        canonical.replacen("\"created\":5", "\"created\":5.0", 1),              // number form
        canonical.replacen("alice", "\\u0061lice", 1),                          // needless escape
    ];
    for body in variants {
        assert_ne!(body, canonical);
        let raw = SignedBytes::sign(Domain::Identity, body.clone().into_bytes(), &k);
        let err = Unverified::<IdentityDocument>::from_raw(raw).verify().unwrap_err();
        assert!(matches!(err.code(), "non_canonical" | "malformed"), "{body}: {err:?}");
    }
}

#[test]
fn a_positional_array_body_is_not_canonical() {
    let k = key(1);
    let home = NodeId::from(node().public()).to_string();
    let body = format!("[\"{}\",\"alice@example.org\",\"{home}\",5]", k.account_id());
    let raw = SignedBytes::sign(Domain::Identity, body.into_bytes(), &k);
    let err = Unverified::<IdentityDocument>::from_raw(raw).verify().unwrap_err();
    assert_eq!(err.code(), "non_canonical");
}

#[test]
fn non_canonical_key_encodings_are_refused() {
    // y = p + 1 encodes the same point as y = 1 … but 1 is small order; use
    // a valid key and add p to its y coordinate when it still fits.
    let p_minus = |bytes: [u8; 32]| {
        // y >= p cannot be produced by compress(); pick bytes with y = p + 3
        let mut b = bytes;
        b[0] = 0xf0; // (2^255 - 19) + 3 = ...fff0 in little endian low byte
        b[1..31].fill(0xff);
        b[31] = 0x7f | (bytes[31] & 0x80);
        b
    };
    let candidate = p_minus([0u8; 32]);
    match accord_proto::PublicKey::from_bytes(&candidate) {
        Ok(_) => panic!("non-canonical y accepted"),
        Err(e) => assert!(
            matches!(
                e,
                accord_proto::KeyError::NonCanonical
                    | accord_proto::KeyError::NotOnCurve
                    | accord_proto::KeyError::WeakKey
            ),
            "{e:?}"
        ),
    }
}

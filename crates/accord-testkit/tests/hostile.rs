//! The hostile peer harness against a real node: typed requests are
//! answered, garbage and oversized bodies are refused without harming the node,
//! and the crafting helpers make what they promise.

use accord_proto::federation::{FedRequest, FedResponse, MAX_REQUEST_BYTES};
use accord_proto::{RoomId, SecretKey};
use accord_testkit::TestNode;
use accord_testkit::hostile::{self, HostilePeer};
use std::time::Duration;

fn identities() -> FedRequest {
    FedRequest::Identities { accounts: vec![] }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_answers_typed_requests_and_survives_garbage_and_oversized_bodies() {
    let node = TestNode::start().await.unwrap();
    let addr = node.node().info().p2p[0].clone();
    let peer = HostilePeer::start(None).await.unwrap();
    let target = peer.connect(&addr).await.unwrap();
    assert_eq!(target.to_string(), node.node().node_id().to_string());
    assert!(peer.is_connected(&target));

    // A well-formed request gets a well-formed answer.
    let answer = peer.request(target, &identities()).await.unwrap();
    assert_eq!(answer, FedResponse::Identities { identities: vec![] });

    // The same request as raw bytes: the raw codec's framing is the JSON
    // codec's, so the node sees the same body.
    let raw = peer.request_raw(target, serde_json::to_vec(&identities()).unwrap()).await.unwrap();
    assert_eq!(serde_json::from_slice::<FedResponse>(&raw).unwrap(), answer);

    // Garbage, and well-formed JSON of the wrong shape: the node answers
    // `bad_request` (and counts it against the peer).
    for body in [b"\xff\x00not json".to_vec(), br#"{"type":"no_such_request"}"#.to_vec()] {
        let answer = peer.request_raw(target, body).await.expect("an unreadable request is answered");
        let refusal: FedResponse = serde_json::from_slice(&answer).unwrap();
        assert!(matches!(&refusal, FedResponse::Error { code, .. } if code == "bad_request"), "{refusal:?}");
    }

    // The node still serves: over the same connection when it kept it,
    // otherwise from a fresh peer.
    let again = if peer.is_connected(&target) {
        peer.request(target, &identities()).await.unwrap()
    } else {
        let fresh = HostilePeer::start(None).await.unwrap();
        let target = fresh.connect(&addr).await.unwrap();
        fresh.request(target, &identities()).await.unwrap()
    };
    assert_eq!(again, FedResponse::Identities { identities: vec![] });

    // A body over the node's request limit is refused: the node
    // stops reading at the limit and answers `too_large`, or the stream
    // fails when the node drops it.
    let big = vec![b'x'; MAX_REQUEST_BYTES as usize + 1024];
    assert!(big.len() as u64 > MAX_REQUEST_BYTES);
    // The attacker, still writing, may never read the answer: that is its
    // problem, so the test does not wait for it.
    if let Ok(Ok(answer)) = tokio::time::timeout(Duration::from_secs(2), peer.request_raw(target, big)).await {
        let refusal: FedResponse = serde_json::from_slice(&answer).unwrap();
        assert!(matches!(&refusal, FedResponse::Error { code, .. } if code == "too_large"), "{refusal:?}");
    }

    // And the node still answers after that.
    let fresh = HostilePeer::start(None).await.unwrap();
    let target2 = fresh.connect(&addr).await.unwrap();
    let after = fresh.request(target2, &identities()).await.unwrap();
    assert_eq!(after, FedResponse::Identities { identities: vec![] });

    // Stopping the node closes the connections.
    node.stop().await.unwrap();
    assert!(fresh.wait_disconnected(&target2, Duration::from_secs(10)).await);
    assert!(!fresh.is_connected(&target2));
}

#[tokio::test]
async fn connecting_to_a_dead_address_fails_within_the_timeout() {
    let peer = HostilePeer::start(None).await.unwrap();
    let port = accord_testkit::free_port().unwrap();
    let other = HostilePeer::start(None).await.unwrap();
    let addr = format!("/ip4/127.0.0.1/tcp/{port}/p2p/{}", other.peer_id().unwrap());
    assert!(peer.connect(&addr).await.is_err());
    assert!(peer.connect("/ip4/127.0.0.1/tcp/1").await.is_err(), "an address without /p2p/ is refused");
}

#[tokio::test]
async fn a_peer_started_with_a_key_has_that_identity() {
    let key = SecretKey::generate().unwrap();
    let peer = HostilePeer::start(Some(key.clone())).await.unwrap();
    assert_eq!(peer.node_id(), accord_proto::NodeId::from(key.public()));
    assert_eq!(peer.key().public(), key.public());
    assert_eq!(peer.peer_id().unwrap().to_string(), peer.node_id().to_string());
    assert!(!peer.listen_addrs().is_empty());
}

#[test]
fn crafted_identities_and_events_verify_and_forgeries_do_not() {
    let (account, home) = (SecretKey::generate().unwrap(), SecretKey::generate().unwrap());
    let pair = hostile::identity_pair(&account, &home, "mallory@evil.example").unwrap();
    let (doc, attestation) = pair.verify().unwrap();
    assert_eq!(doc.account, account.account_id());
    assert_eq!(doc.home, accord_proto::NodeId::from(home.public()));
    assert_eq!(attestation.node, doc.home);

    let create = hostile::create_event(&account, &home, "lair").unwrap();
    let create = create.verify().unwrap();
    let room = RoomId::from(create.id());
    assert_eq!(create.room(), room);

    let message = hostile::message_event(&account, &home, room, 2, vec![create.id()], 1, "hello").unwrap();
    let verified = message.verify().unwrap();
    assert_eq!(verified.room(), room);
    assert_eq!(verified.origin(), accord_proto::NodeId::from(home.public()));

    let forged = hostile::forge_signature(&message);
    assert_eq!(forged.claimed_id(), message.claimed_id());
    assert_eq!(forged.verify().unwrap_err().code(), "bad_signature");
    assert_eq!(hostile::forge_stamp_signature(&message).verify().unwrap_err().code(), "bad_signature");

    // Structurally broken but correctly signed: depth 0 without prev.
    let odd = hostile::message_event(&account, &home, room, 3, vec![], 0, "odd").unwrap();
    assert_eq!(odd.verify().unwrap_err().code(), "inconsistent_event");
}

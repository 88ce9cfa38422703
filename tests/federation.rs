//! Nodes talk to each other over real libp2p on loopback. (Federation is
//! being built; these tests grow with it. See spec/federation.md.)

use accord_node::network::{Address, PeerId};
use accord_proto::federation::{FedRequest, FedResponse, MAX_FETCH_IDENTITIES};
use accord_proto::{NodeId, SecretKey};
use accord_testkit::TestNode;
use std::time::Duration;

/// Connects `from` to `to` over TCP and waits until the connection is up.
async fn connect(from: &TestNode, to: &TestNode) -> PeerId {
    let addr: Address = to.node().info().p2p[0].parse().expect("p2p address");
    from.node().network().dial(addr).await.expect("dial");
    for _ in 0..100 {
        if from.node().network().peer_count() > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    PeerId::from_bytes(&to.node().node_id().to_peer_id_bytes()).expect("an ed25519 node id is a peer id")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_fetches_a_remote_accounts_identity_over_libp2p_and_verifies_it() {
    let (a, b) = (TestNode::start().await.unwrap(), TestNode::start().await.unwrap());
    let alice = a.user("alice").await.unwrap();
    let peer = connect(&b, &a).await;
    // The node id's PeerId conversion agrees with libp2p's own.
    assert_eq!(peer.to_string(), a.node().node_id().to_string());
    assert_eq!(NodeId::from_peer_id_bytes(&peer.to_bytes()).unwrap(), a.node().node_id());

    let stranger = SecretKey::generate().unwrap().account_id();
    let response = b
        .node()
        .network()
        .request(peer, FedRequest::Identities { accounts: vec![alice.account(), stranger] })
        .await
        .unwrap();
    let FedResponse::Identities { identities } = response else { panic!("unexpected {response:?}") };
    assert_eq!(identities.len(), 1, "only accounts homed at the peer come back");
    let (doc, att) = identities[0].verify().unwrap();
    assert_eq!(doc.account, alice.account());
    assert_eq!(doc.handle.to_string(), "alice@test.local");
    assert_eq!(doc.home, a.node().node_id());
    assert_eq!(att.node, a.node().node_id());

    // A tampered pair does not verify.
    let mut forged = identities[0].clone();
    forged.attestation = identities[0].identity.clone();
    assert!(forged.verify().is_err());
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_identity_request_is_refused_with_a_code() {
    let (a, b) = (TestNode::start().await.unwrap(), TestNode::start().await.unwrap());
    let peer = connect(&b, &a).await;
    let accounts = (0..=MAX_FETCH_IDENTITIES).map(|_| SecretKey::generate().unwrap().account_id()).collect();
    let response = b.node().network().request(peer, FedRequest::Identities { accounts }).await.unwrap();
    assert!(matches!(&response, FedResponse::Error { code, .. } if code == "too_many"), "{response:?}");
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_to_an_unreachable_peer_fails_instead_of_hanging() {
    let a = TestNode::start().await.unwrap();
    let nobody = PeerId::from_bytes(&NodeId::from(SecretKey::generate().unwrap().public()).to_peer_id_bytes()).unwrap();
    let result = a.node().network().request(nobody, FedRequest::Identities { accounts: vec![] }).await;
    assert!(result.is_err(), "{result:?}");
    a.stop().await.unwrap();
}

//! Hostile peers flooding a node over the federation protocol — valid but
//! useless requests, garbage, forged events, oversized frames — while
//! honest users chat: the node answers the flooders of valid requests
//! `busy` and then cuts them off, cuts off the peers that send bad data,
//! stores nothing of theirs, and keeps serving honest clients
//! (spec/federation.md §4). How fast honest users are served meanwhile is
//! a figure, measured by `accord-bench flood`, not asserted here.

use accord_node::network::PeerId;
use accord_proto::SecretKey;
use accord_proto::federation::{FedRequest, FedResponse};
use accord_sdk::JoinRule;
use accord_testkit::hostile::{self, HostilePeer};
use accord_testkit::observe::{converged, texts};
use accord_testkit::{TestNet, TestNode};
use std::collections::BTreeMap;
use std::time::Duration;

/// How long the network may take to converge.
const PATIENCE: Duration = Duration::from_secs(60);
/// How long an attacker may go on before the node must have cut it off.
const CUT_OFF_WITHIN: Duration = Duration::from_secs(30);
/// The per-peer request rate of the attacked node in this test: low, so
/// that a flooder sending one request after another surely exceeds it.
const PEER_REQUESTS_PER_SECOND: u32 = 20;

/// What one attacker saw: the count of each answer, and whether the node
/// cut it off.
#[derive(Debug, Default)]
struct Seen {
    answers: BTreeMap<String, usize>,
    cut_off: bool,
}

/// The code of an answer: `answered` for a useful answer, the error code
/// otherwise.
fn code(answer: anyhow::Result<FedResponse>) -> String {
    match answer {
        Ok(FedResponse::Error { code, .. }) => code,
        Ok(_) => "answered".to_owned(),
        Err(_) => "failed".to_owned(),
    }
}

/// One attacker of `kind` sends until the node cuts it off, or until
/// [`CUT_OFF_WITHIN`] has passed.
async fn attack(peer: &HostilePeer, node: PeerId, kind: usize, room: accord_proto::RoomId) -> Seen {
    // Made once: the attacker's own work is not what is tested.
    let mallory = SecretKey::generate().unwrap();
    let strangers: Vec<_> = (0..50).map(|_| SecretKey::generate().unwrap().account_id()).collect();
    let forged =
        hostile::forge_signature(&hostile::message_event(&mallory, peer.key(), room, 1, vec![], 1, "forged").unwrap());
    let mut seen = Seen::default();
    let deadline = tokio::time::Instant::now() + CUT_OFF_WITHIN;
    let mut n = 0usize;
    while tokio::time::Instant::now() < deadline {
        n += 1;
        let outcome = match kind {
            // Valid but useless: identities of unknown accounts, syncs of
            // rooms the peer is not in.
            0 => code(peer.request(node, &FedRequest::Identities { accounts: strangers.clone() }).await),
            1 => code(peer.request(node, &FedRequest::Sync { room, held: BTreeMap::new() }).await),
            // Garbage, then oversized frames.
            2 => code(
                peer.request_raw(node, vec![0xff; 1000 + n % 1000])
                    .await
                    .and_then(|b| serde_json::from_slice(&b).map_err(anyhow::Error::from)),
            ),
            3 => {
                // Three at once: the node stops reading each at its limit.
                let frames = (0..3).map(|_| {
                    tokio::time::timeout(Duration::from_secs(2), peer.request_raw(node, vec![b'['; 2 * 1024 * 1024]))
                });
                let answers = futures::future::join_all(frames).await;
                format!("{} answered", answers.iter().filter(|a| matches!(a, Ok(Ok(_)))).count())
            }
            // Forged events.
            _ => code(
                peer.request(node, &FedRequest::Push { room, events: vec![forged.clone()], identities: vec![] }).await,
            ),
        };
        *seen.answers.entry(outcome).or_insert(0) += 1;
        if !peer.is_connected(&node) {
            seen.cut_off = true;
            break;
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_flooded_by_hostile_peers_keeps_serving_honest_users_and_cuts_off_bad_peers() {
    let _machine = crate::shared().await;
    // Arrange: two honest nodes with a room between them.
    let net = TestNet::start_with(2, |_, _, c| {
        c.limits.events_per_second = 10_000;
        c.limits.burst = 10_000;
        c.limits.peer_requests_per_second = PEER_REQUESTS_PER_SECOND;
        c.limits.peer_request_burst = 2 * PEER_REQUESTS_PER_SECOND;
    })
    .await
    .unwrap();
    let (a, b) = (&net.nodes[0], &net.nodes[1]);
    let alice = a.user("alice").await.unwrap();
    let bob = b.user("bob").await.unwrap();
    let room = alice.create_room("under attack", JoinRule::Public).await.unwrap();
    bob.room(room.id()).join_via(&[a.node_id()]).await.unwrap();

    // Act: five attackers, one per kind, flood node A while alice sends.
    let mut attackers = Vec::new();
    for kind in 0..5 {
        let peer = HostilePeer::start(None).await.unwrap();
        let node = peer.connect(&a.p2p_addr()).await.unwrap();
        attackers.push((peer, node, kind));
    }
    let attacks =
        futures::future::join_all(attackers.iter().map(|(peer, node, kind)| attack(peer, *node, *kind, room.id())));
    let honest = async {
        for i in 0..200 {
            room.send_text(&format!("under attack {i}")).await.expect("an honest send is served during the flood");
        }
    };
    let (seen, ()) = futures::join!(attacks, honest);

    // Assert: the flooders of valid requests were answered `busy` before
    // being cut off; every attacker was cut off, and stays so when it
    // comes back.
    for ((peer, node, kind), seen) in attackers.iter().zip(&seen) {
        assert!(seen.cut_off, "the attacker of kind {kind} is cut off within {CUT_OFF_WITHIN:?}: {seen:?}");
        if *kind < 2 {
            assert!(
                seen.answers.get("busy").copied().unwrap_or(0) > 0,
                "the flooder of kind {kind} is answered busy first: {seen:?}"
            );
        }
        let back = peer.connect(&a.p2p_addr()).await;
        assert!(
            back.is_err() || peer.wait_disconnected(node, Duration::from_secs(10)).await,
            "the attacker of kind {kind} stays cut off"
        );
    }
    // … nothing of theirs is stored, and every honest message reached both
    // nodes, which agree on the room.
    let rooms = [room.clone(), bob.room(room.id())];
    let accepted = room.state().await.unwrap().accepted;
    assert_eq!(accepted, 1 + 1 + 200, "create, join and every honest message; nothing forged");
    converged(&rooms, accepted, PATIENCE).await.unwrap();
    let on_b = texts(&rooms[1]).await.unwrap();
    assert!(!on_b.iter().any(|t| t.contains("forged")));
    assert!(on_b.contains("under attack 199"));
    alive(a).await;
    net.stop().await.unwrap();
}

/// The node answers its API.
async fn alive(node: &TestNode) {
    let info: serde_json::Value =
        reqwest::get(format!("{}/v1/node", node.url())).await.unwrap().json().await.expect("the node is up");
    assert!(info["node"].is_string());
}

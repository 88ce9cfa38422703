//! Hostile peers flooding a node over the federation protocol — valid but
//! useless requests, garbage, forged events, oversized frames, bad list
//! ranges — while honest users chat: the node stays up, cuts off the peers
//! that send bad data, stores nothing of theirs, and keeps serving honest
//! clients. Their acknowledgement latency, quiet and under attack, is
//! printed for the benchmark report (spec/federation.md §4).

use accord_node::network::PeerId;
use accord_proto::SecretKey;
use accord_proto::federation::{FedRequest, FedResponse};
use accord_sdk::JoinRule;
use accord_testkit::hostile::{self, HostilePeer};
use accord_testkit::observe::{converged, send_latencies, texts};
use accord_testkit::{TestNet, TestNode};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long the network may take to converge.
const PATIENCE: Duration = Duration::from_secs(60);

/// What one attacker keeps sending until told to stop; the outcomes seen.
async fn attack(
    peer: Arc<HostilePeer>,
    (node, addr): (PeerId, String),
    kind: usize,
    room: accord_proto::RoomId,
    stop: Arc<std::sync::atomic::AtomicBool>,
    seen: Arc<Mutex<BTreeMap<String, usize>>>,
) {
    // Made once: the attacker's own work is not what is measured.
    let mallory = SecretKey::generate().unwrap();
    let strangers: Vec<_> = (0..50).map(|_| SecretKey::generate().unwrap().account_id()).collect();
    let forged =
        hostile::forge_signature(&hostile::message_event(&mallory, peer.key(), room, 1, vec![], 1, "forged").unwrap());
    let mut n = 0u64;
    // Peers that send bad data go on until they have been cut off once
    // (at most 20 more rounds), whatever the honest measurement needs.
    let mut cut_off = false;
    let bad = kind >= 2;
    while !stop.load(std::sync::atomic::Ordering::Relaxed) || (bad && !cut_off && n < 20) {
        n += 1;
        let outcome = match kind {
            // Valid but useless: identities of unknown accounts, syncs of
            // rooms the peer is not in.
            0 => {
                let request = FedRequest::Identities { accounts: strangers.clone() };
                peer.request(node, &request).await.map(|_| "answered".to_owned())
            }
            1 => {
                let request = FedRequest::Sync { room, held: BTreeMap::new() };
                peer.request(node, &request).await.map(|r| match r {
                    FedResponse::Error { code, .. } => code,
                    _ => "answered".to_owned(),
                })
            }
            // Garbage, then oversized frames.
            2 => peer.request_raw(node, vec![0xff; 1000 + n as usize % 1000]).await.map(|_| "answered".to_owned()),
            3 => {
                // Three at once: the node stops reading each at its limit.
                let frames = (0..3).map(|_| {
                    tokio::time::timeout(Duration::from_secs(2), peer.request_raw(node, vec![b'['; 2 * 1024 * 1024]))
                });
                let answers = futures::future::join_all(frames).await;
                Ok(format!("{} answered", answers.iter().filter(|a| matches!(a, Ok(Ok(_)))).count()))
            }
            // Forged events.
            _ => {
                let request = FedRequest::Push { room, events: vec![forged.clone()], identities: vec![] };
                peer.request(node, &request).await.map(|_| "answered".to_owned())
            }
        };
        let key = match outcome {
            Ok(o) => format!("kind {kind}: {o}"),
            Err(_) => format!("kind {kind}: failed"),
        };
        *seen.lock().unwrap().entry(key).or_insert(0) += 1;
        if !peer.is_connected(&node) {
            cut_off = true;
            // Cut off: try to come back, as an attacker would.
            if peer.connect(&addr).await.is_err() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_flooded_by_hostile_peers_keeps_serving_honest_users_and_cuts_off_bad_peers() {
    let _machine = crate::shared().await;
    // Arrange: two honest nodes with a room between them.
    let net = TestNet::start_with(2, |_, _, c| {
        c.limits.events_per_second = 10_000;
        c.limits.burst = 10_000;
    })
    .await
    .unwrap();
    let (a, b) = (&net.nodes[0], &net.nodes[1]);
    let alice = a.user("alice").await.unwrap();
    let bob = b.user("bob").await.unwrap();
    let room = alice.create_room("under attack", JoinRule::Public).await.unwrap();
    bob.room(room.id()).join_via(&[a.node_id()]).await.unwrap();
    send_latencies(&room, "warm up", 20).await;
    let quiet = send_latencies(&room, "quiet", 200).await;

    // Act: five attackers, one per kind, flood node A while alice sends.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(BTreeMap::new()));
    let mut attackers = Vec::new();
    let mut tasks = Vec::new();
    for kind in 0..5 {
        let peer = Arc::new(HostilePeer::start(None).await.unwrap());
        let node = peer.connect(&a.p2p_addr()).await.unwrap();
        tasks.push(tokio::spawn(attack(
            peer.clone(),
            (node, a.p2p_addr()),
            kind,
            room.id(),
            stop.clone(),
            seen.clone(),
        )));
        attackers.push((peer, node, kind));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let loud = send_latencies(&room, "under attack", 200).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    let seen = seen.lock().unwrap().clone();
    eprintln!("attack outcomes: {seen:?}");
    eprintln!(
        "honest send latency quiet p50 {:?} p99 {:?}; under attack p50 {:?} p99 {:?}; p99 ratio {:.2}",
        quiet.0,
        quiet.1,
        loud.0,
        loud.1,
        loud.1.as_secs_f64() / quiet.1.as_secs_f64()
    );

    // Assert: the peers that sent bad data are cut off …
    for (peer, node, kind) in &attackers {
        if *kind >= 2 {
            assert!(
                peer.wait_disconnected(node, Duration::from_secs(10)).await,
                "the attacker of kind {kind} is cut off"
            );
        }
    }
    assert!(seen.keys().any(|k| k.starts_with("kind 0: answered")), "valid requests were still answered");
    // … nothing of theirs is stored, and every honest message reached both
    // nodes, which agree on the room.
    let rooms = [room.clone(), bob.room(room.id())];
    let accepted = room.state().await.unwrap().accepted;
    converged(&rooms, accepted, PATIENCE).await.unwrap();
    assert_eq!(accepted, 1 + 1 + 20 + 200 + 200, "create, join and every honest message; nothing forged");
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

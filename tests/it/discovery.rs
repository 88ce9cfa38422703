//! Discovery (spec/federation.md §1.4, §3.12): an operator sees the lists
//! a peer issues and subscribes by the name shown; a member joins a room
//! held elsewhere by its id alone, the node finding a host through the
//! Kademlia provider records of the rooms nodes host.

use crate::hostile_lists::record;
use accord_api::admin::{Discover, DiscoverResponse};
use accord_proto::blocklist::checkpoint::Checkpoint;
use accord_proto::blocklist::merkle::MerkleLog;
use accord_proto::federation::{FedRequest, FedResponse, IssuedList};
use accord_proto::{IssuerId, ListId, RoomId, SecretKey, Sha256Hash, Timestamp};
use accord_sdk::JoinRule;
use accord_testkit::hostile::HostilePeer;
use accord_testkit::observe::{eventually, texts};
use accord_testkit::{TestNet, TestNode};
use serde_json::json;
use std::time::{Duration, Instant};

/// How long a test waits for the network.
const PATIENCE: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn discover_shows_a_peers_lists_with_their_witnesses_and_subscribing_by_the_name_shown_syncs_the_list() {
    let _machine = crate::shared().await;
    // Node 1 issues a list whose checkpoints node 0's witness cosigns.
    let mut net = TestNet::start_with(2, |i, started, c| {
        if i == 1 {
            c.lists.witnesses = vec![started[0].node().witness_key()];
        }
    })
    .await
    .unwrap();
    let (subscriber, issuer) = (&net.nodes[0], &net.nodes[1]);
    let description = "spam accounts seen on n1.test";
    issuer.admin("POST", "/lists", Some(json!({"name": "spam", "description": description}))).await.unwrap();
    issuer.admin("POST", "/lists", Some(json!({"name": "quiet"}))).await.unwrap();
    for n in 0..2 {
        let target = accord_proto::SecretKey::generate().unwrap().account_id().to_string();
        let entry = json!({"kind": "account", "id": target, "category": "spam", "action": "reject",
            "reason": format!("entry {n}")});
        issuer.admin("POST", "/lists/spam/entries", Some(entry)).await.unwrap();
    }

    // Discovered by node id.
    let before = accord_proto::Timestamp::now().as_millis();
    let found: DiscoverResponse = subscriber.admin_call::<Discover>(&[&issuer.node_id()], &()).await.unwrap();
    assert_eq!(found.node, issuer.node().node_id());
    let names: Vec<String> = found.lists.iter().map(|l| l.list.name.to_string()).collect();
    assert_eq!(names, ["quiet", "spam"], "every list the peer issues, by list id");
    let spam = &found.lists[1];
    let issuer_id = IssuerId::from(*issuer.node().node_id().public_key());
    assert_eq!(spam.list.issuer, issuer_id, "issued with the peer's node key");
    assert_eq!(spam.size, 2);
    assert_eq!(spam.description.as_deref(), Some(description));
    assert_eq!(found.lists[0].description, None);
    assert_eq!(spam.witnesses, vec![subscriber.node().witness_key().vkey()]);
    assert!(spam.checkpoint_time.as_millis() > before - 60_000 && spam.checkpoint_time.as_millis() <= before);
    let verified = spam.checkpoint.verify(&spam.list).expect("the issuer's checkpoint verifies");
    assert_eq!(verified.checkpoint.size, 2);

    // Discovered by p2p address too (its slashes percent-encoded).
    let by_addr =
        subscriber.admin("GET", &format!("/discover/{}", issuer.p2p_addr().replace('/', "%2F")), None).await.unwrap();
    assert_eq!(by_addr["lists"][1]["list"], spam.list.to_string());
    assert_eq!(by_addr["lists"][1]["size"], 2);

    // The description is kept with the list.
    net.nodes[1].restart().await.unwrap();
    net.wait_connected(PATIENCE).await.unwrap();
    let (subscriber, issuer) = (&net.nodes[0], &net.nodes[1]);
    let again: DiscoverResponse = subscriber.admin_call::<Discover>(&[&issuer.node_id()], &()).await.unwrap();
    assert_eq!(again.lists[1].description.as_deref(), Some(description), "the description survives a restart");
    let own = issuer.admin("GET", "/lists", None).await.unwrap();
    let shown: Vec<&str> = own["lists"].as_array().unwrap().iter().filter_map(|l| l["description"].as_str()).collect();
    assert_eq!(shown, [description], "the issuer's operator sees it too");

    // Subscribing by the name shown fetches the entries.
    let shown = spam.list.to_string();
    subscriber.admin("POST", "/subscriptions", Some(json!({"list": shown}))).await.unwrap();
    eventually("the subscription syncs", PATIENCE, || async {
        record(subscriber, &shown).await.is_some_and(|r| r["size"] == 2)
    })
    .await
    .unwrap();
    net.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_room_hosted_on_a_node_never_named_is_joined_by_its_id_alone_and_messages_flow_both_ways() {
    let _machine = crate::shared().await;
    // Nodes 1 (B) and 2 (C) are each given node 0 (A) only.
    let net = TestNet::start(3).await.unwrap();
    let bob = net.nodes[1].user("bob").await.unwrap();
    let carol = net.nodes[2].user("carol").await.unwrap();
    let room = bob.create_room("found", JoinRule::Public).await.unwrap();

    // The announcement reaches the DHT a moment after the room is made.
    let joined = carol.room(room.id());
    let deadline = Instant::now() + PATIENCE;
    loop {
        match joined.join().await {
            Ok(_) => break,
            Err(e) if e.code() == "no_provider" && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => panic!("joining by the room id alone failed: {e}"),
        }
    }

    room.send_text("from bob on B").await.unwrap();
    joined.send_text("from carol on C").await.unwrap();
    let both: std::collections::BTreeSet<String> =
        ["from bob on B", "from carol on C"].into_iter().map(String::from).collect();
    for (who, side) in [("B", &room), ("C", &joined)] {
        eventually(&format!("{who} holds both messages"), PATIENCE, || async {
            texts(side).await.is_ok_and(|t| t == both)
        })
        .await
        .unwrap();
    }
    net.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_room_nobody_announces_is_refused_no_provider_within_the_lookup_bound() {
    let _machine = crate::shared().await;
    let net = TestNet::start(3).await.unwrap();
    let bob = net.nodes[1].user("bob").await.unwrap();
    let carol = net.nodes[2].user("carol").await.unwrap();
    // An invite-only room is never announced; a made-up id is hosted by
    // nobody.
    let hidden = bob.create_room("hidden", JoinRule::Invite).await.unwrap();
    let public = bob.create_room("public", JoinRule::Public).await.unwrap();
    let nowhere = RoomId::from(accord_proto::EventId(Sha256Hash::digest(b"a room nobody hosts")));
    // The public room becomes findable, so the DHT works for this network.
    let deadline = Instant::now() + PATIENCE;
    while let Err(e) = carol.room(public.id()).join().await {
        assert_eq!(e.code(), "no_provider", "{e}");
        assert!(Instant::now() < deadline, "the public room was never found");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    for room in [hidden.id(), nowhere] {
        let started = Instant::now();
        let refused = carol.room(room).join().await.expect_err("nobody announces the room");
        let took = started.elapsed();
        assert_eq!(refused.code(), "no_provider", "{refused}");
        let bound = accord_node::core::rooms::providers::LOOKUP_TIMEOUT + Duration::from_secs(2);
        assert!(took < bound, "answered after {took:?}, over the bound {bound:?}");
    }
    net.stop().await.unwrap();
}

/// A list `name` of `issuer` at size 0, as a `lists` answer describes it.
fn issued(issuer: &SecretKey, name: &str, description: Option<String>) -> IssuedList {
    let list = ListId { issuer: IssuerId::from(issuer.public()), name: name.parse().unwrap() };
    let checkpoint = Checkpoint { list: list.clone(), size: 0, root: MerkleLog::new().root(), time: Timestamp::now() };
    IssuedList { checkpoint: checkpoint.sign(issuer).unwrap(), list, description, witnesses: vec![] }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn discover_keeps_only_the_lists_a_peer_issues_itself_with_checkpoints_that_verify() {
    let _machine = crate::shared().await;
    let node = TestNode::start().await.unwrap();
    let peer = HostilePeer::start(None).await.unwrap();
    let (own, stranger) = (peer.key().clone(), SecretKey::generate().unwrap());
    let mut forged = issued(&own, "forged", None);
    forged.checkpoint = issued(&stranger, "forged", None).checkpoint;
    let answer = vec![
        issued(&own, "genuine", Some("the peer's own list".into())),
        issued(&stranger, "borrowed", None),
        forged,
        issued(&own, "verbose", Some("x".repeat(accord_proto::federation::MAX_LIST_DESCRIPTION + 1))),
    ];
    peer.serve(move |request| match serde_json::from_slice::<FedRequest>(request).ok()? {
        FedRequest::Lists {} => serde_json::to_vec(&FedResponse::Lists { lists: answer.clone() }).ok(),
        _ => None,
    })
    .await
    .unwrap();
    let addr = format!("{}/p2p/{}", peer.listen_addrs()[0], peer.node_id());

    let found = node.admin("GET", &format!("/discover/{}", addr.replace('/', "%2F")), None).await.unwrap();

    let names: Vec<&str> = found["lists"].as_array().unwrap().iter().filter_map(|l| l["list"].as_str()).collect();
    assert_eq!(names, [format!("{}/genuine", IssuerId::from(own.public()))]);
    assert_eq!(found["lists"][0]["description"], "the peer's own list");
    // A node id that nobody answers for is unreachable.
    let nobody = accord_proto::NodeId::from(SecretKey::generate().unwrap().public());
    let refused = node.admin("GET", &format!("/discover/{nobody}"), None).await.unwrap_err().to_string();
    assert!(refused.contains("502") && refused.contains("peer_unreachable"), "{refused}");
    node.stop().await.unwrap();
}

//! A hostile peer speaking the federation protocol with crafted data is
//! refused, stores nothing, gets disconnected, and honest traffic keeps
//! flowing (spec/federation.md §4).

use accord_node::network::PeerId;
use accord_proto::event::UnverifiedEvent;
use accord_proto::federation::{FedRequest, FedResponse, PushOutcome};
use accord_proto::{EventId, RoomId, SecretKey};
use accord_sdk::{Client, EventContent, HistoryQuery, JoinRule, Room};
use accord_testkit::hostile::{self, HostilePeer};
use accord_testkit::{TestNet, TestNode};
use std::time::Duration;

/// The texts and the last event (id, depth) of a room as a client sees it.
async fn history(room: &Room) -> (Vec<String>, EventId, u64) {
    let page = room.history(HistoryQuery::after(0).limit(500)).await.expect("history");
    let items: Vec<_> = page.items.into_iter().map(|i| i.expect("verified")).collect();
    let texts = items
        .iter()
        .filter_map(|i| match i.event.content() {
            EventContent::Message { text, .. } => Some(text.as_str().to_owned()),
            _ => None,
        })
        .collect();
    let last = items.iter().max_by_key(|i| i.event.order_key()).expect("a room has events");
    (texts, last.event.id(), last.event.stamp_part().depth)
}

/// The raw wire form of the room's first message, as a replay.
async fn first_message(room: &Room) -> UnverifiedEvent {
    let page = room.history(HistoryQuery::after(0)).await.expect("history");
    page.items
        .into_iter()
        .map(|i| i.expect("verified"))
        .find(|i| matches!(i.event.content(), EventContent::Message { .. }))
        .expect("a message")
        .event
        .to_unverified()
}

/// Pushes `events` and returns the single outcome's status and code.
async fn push_one(peer: &HostilePeer, node: PeerId, request: FedRequest) -> (String, String) {
    match peer.request(node, &request).await.expect("the node answers a well-formed push") {
        FedResponse::Pushed { outcomes } => match outcomes.as_slice() {
            [PushOutcome::Accepted { .. }] => ("accepted".into(), String::new()),
            [PushOutcome::Duplicate { .. }] => ("duplicate".into(), String::new()),
            [PushOutcome::Retry { code, .. }] => ("retry".into(), code.clone()),
            [PushOutcome::Refused { code, .. }] => ("refused".into(), code.clone()),
            other => panic!("one outcome expected, got {other:?}"),
        },
        other => panic!("unexpected answer {other:?}"),
    }
}

fn push(
    room: RoomId,
    events: Vec<UnverifiedEvent>,
    identities: Vec<accord_proto::federation::IdentityPair>,
) -> FedRequest {
    FedRequest::Push { room, events, identities }
}

/// Whether the node's metrics have a non-zero sample starting with `needle`.
async fn metric(node: &TestNode, needle: &str) -> bool {
    let body = reqwest::get(format!("{}/metrics", node.url())).await.expect("metrics").text().await.expect("text");
    body.lines().any(|l| l.starts_with(needle) && !l.ends_with(" 0"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hostile_peer_is_refused_stores_nothing_is_disconnected_and_honest_traffic_flows() {
    let _machine = crate::shared().await;
    // Arrange: two honest nodes with a room between them; bob's key is
    // known to the test so that the attacker can use it as a stolen key.
    let net = TestNet::start(2).await.unwrap();
    let (a, b) = (&net.nodes[0], &net.nodes[1]);
    let alice = a.user("alice").await.unwrap();
    let bob_key = SecretKey::generate().unwrap();
    let bob: Client = b.client(bob_key.clone()).unwrap();
    bob.register("bob", None).await.unwrap();
    let room = alice.create_room("honest", JoinRule::Invite).await.unwrap();
    room.invite(bob.account()).await.unwrap();
    bob.room(room.id()).join_via(&[a.node_id()]).await.unwrap();
    room.send_text("honest 1").await.unwrap();
    let (_, last, depth) = history(&room).await;

    // Attacker 1: garbage, a room it is not in, a replay, an unknown room,
    // an event by an account homed elsewhere.
    let h1 = HostilePeer::start(None).await.unwrap();
    let node_a = h1.connect(&a.p2p_addr()).await.unwrap();
    let garbage = h1.request_raw(node_a, b"\xff\x00 not json".to_vec()).await.unwrap();
    assert!(
        matches!(serde_json::from_slice(&garbage), Ok(FedResponse::Error { code, .. }) if code == "bad_request"),
        "garbage is answered with bad_request"
    );

    let mallory = SecretKey::generate().unwrap();
    let mallory_pair = hostile::identity_pair(&mallory, h1.key(), "mallory@evil.test").unwrap();
    let intruder = hostile::message_event(&mallory, h1.key(), room.id(), 1, vec![last], depth + 1, "intruder").unwrap();
    let outcome = push_one(&h1, node_a, push(room.id(), vec![intruder], vec![mallory_pair.clone()])).await;
    assert_eq!(outcome, ("refused".into(), "not_in_room".into()));

    let replay = first_message(&room).await;
    let outcome = push_one(&h1, node_a, push(room.id(), vec![replay], vec![])).await;
    assert_eq!(outcome.0, "duplicate", "a replay is recognised and not stored again");

    let nowhere = RoomId::from(EventId(accord_proto::Sha256Hash::digest_parts(&[b"no such room"])));
    let stray = hostile::message_event(&mallory, h1.key(), nowhere, 2, vec![last], depth + 1, "stray").unwrap();
    let outcome = push_one(&h1, node_a, push(nowhere, vec![stray], vec![mallory_pair.clone()])).await;
    assert_eq!(outcome, ("refused".into(), "unknown_room".into()));

    let stolen = hostile::message_event(&bob_key, h1.key(), room.id(), 3, vec![last], depth + 1, "stolen key").unwrap();
    let outcome = push_one(&h1, node_a, push(room.id(), vec![stolen], vec![])).await;
    assert_eq!(outcome, ("refused".into(), "not_home".into()), "bob is homed at node B, not at the attacker");
    let forged = hostile::forge_signature(
        &hostile::message_event(&mallory, h1.key(), room.id(), 4, vec![last], depth + 1, "x").unwrap(),
    );
    // The answer may or may not arrive: the node cuts the peer off as soon
    // as its score passes the threshold.
    let _ = h1.request(node_a, &push(room.id(), vec![forged], vec![mallory_pair.clone()])).await;
    assert!(h1.wait_disconnected(&node_a, Duration::from_secs(10)).await, "the attacker is cut off");
    let back = h1.connect(&a.p2p_addr()).await;
    if back.is_ok() {
        assert!(h1.wait_disconnected(&node_a, Duration::from_secs(10)).await, "and stays cut off");
    }

    // Attacker 2: forged signatures and an oversized frame.
    let h2 = HostilePeer::start(None).await.unwrap();
    let node_b = h2.connect(&b.p2p_addr()).await.unwrap();
    let trudy = SecretKey::generate().unwrap();
    let trudy_pair = hostile::identity_pair(&trudy, h2.key(), "trudy@evil.test").unwrap();
    let oversized = vec![b'x'; accord_proto::federation::MAX_REQUEST_BYTES as usize + 1024];
    // The node stops reading at the limit and answers `too_large`. The
    // few bytes over it fit in the stream's window, so the attacker
    // finishes writing and reads the answer: a missing answer is a failure.
    let answer = tokio::time::timeout(Duration::from_secs(10), h2.request_raw(node_b, oversized))
        .await
        .expect("the node answers an oversized frame in time")
        .expect("the node answers an oversized frame");
    assert!(
        matches!(serde_json::from_slice(&answer), Ok(FedResponse::Error { code, .. }) if code == "too_large"),
        "an oversized frame is refused with too_large: {}",
        String::from_utf8_lossy(&answer)
    );
    let forged = hostile::forge_signature(
        &hostile::message_event(&trudy, h2.key(), room.id(), 1, vec![last], depth + 1, "forged").unwrap(),
    );
    let outcome = push_one(&h2, node_b, push(room.id(), vec![forged], vec![trudy_pair.clone()])).await;
    assert_eq!(outcome, ("refused".into(), "bad_signature".into()));
    let forged_stamp = hostile::forge_stamp_signature(
        &hostile::message_event(&trudy, h2.key(), room.id(), 1, vec![last], depth + 1, "forged stamp").unwrap(),
    );
    // This one takes the peer over the threshold. The node answers it
    // before cutting the peer off (after a grace, so that the answer is
    // delivered): a missing answer is a failure.
    let outcome = push_one(&h2, node_b, push(room.id(), vec![forged_stamp], vec![trudy_pair])).await;
    assert_eq!(outcome, ("refused".into(), "bad_signature".into()), "a forged stamp signature is refused");
    assert!(h2.wait_disconnected(&node_b, Duration::from_secs(10)).await, "and the peer is then cut off");

    // Honest traffic keeps flowing both ways.
    room.send_text("honest 2").await.unwrap();
    bob.room(room.id()).send_text("honest 3").await.unwrap();
    let want = vec!["honest 1".to_owned(), "honest 2".into(), "honest 3".into()];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (on_a, _, _) = history(&room).await;
        let (on_b, _, _) = history(&bob.room(room.id())).await;
        let mut on_a_sorted = on_a.clone();
        on_a_sorted.sort();
        let mut on_b_sorted = on_b.clone();
        on_b_sorted.sort();
        if on_a_sorted == want && on_b_sorted == want {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "honest traffic stalled: A {on_a:?}, B {on_b:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Nothing the attackers sent was stored or forwarded: no crafted text
    // above, and neither node keeps their identities.
    for node in [a, b] {
        let probe = node.client(SecretKey::generate().unwrap()).unwrap();
        assert!(probe.identity(&mallory.account_id()).await.is_err(), "mallory's identity was not kept");
        assert!(probe.identity(&trudy.account_id()).await.is_err(), "trudy's identity was not kept");
    }
    // The refusals are counted with their codes.
    for code in ["not_in_room", "not_home", "bad_signature", "bad_request"] {
        let on_a = metric(a, &format!("accord_fed_rejections_total{{code=\"{code}\"}}")).await;
        let on_b = metric(b, &format!("accord_fed_rejections_total{{code=\"{code}\"}}")).await;
        assert!(on_a || on_b, "refusals with code {code} are counted");
    }
    assert!(metric(a, "accord_fed_blocked_peers ").await, "node A counts the peer it blocked");
    assert!(metric(b, "accord_fed_blocked_peers ").await, "node B counts the peer it blocked");
    net.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_peer_stamping_two_events_with_one_sequence_number_is_refused_and_cut_off() {
    let _machine = crate::shared().await;
    // Arrange: a public room on node A, which a hostile node joins
    // honestly through its own account (so that it is a host of the room).
    let a = TestNode::start().await.unwrap();
    let alice = a.user("alice").await.unwrap();
    let room = alice.create_room("open", JoinRule::Public).await.unwrap();
    room.send_text("before").await.unwrap();
    let (_, last, depth) = history(&room).await;
    let h = HostilePeer::start(None).await.unwrap();
    let node = h.connect(&a.p2p_addr()).await.unwrap();
    let mallory = SecretKey::generate().unwrap();
    let pair = hostile::identity_pair(&mallory, h.key(), "mallory@evil.test").unwrap();
    let join = hostile::join_event(&mallory, h.key(), room.id(), 1, vec![last], depth + 1).unwrap();
    let join_id = join.claimed_id();
    let outcome = push_one(&h, node, push(room.id(), vec![join], vec![pair])).await;
    assert_eq!(outcome.0, "accepted", "the join is a valid event: {outcome:?}");
    let first = hostile::message_event(&mallory, h.key(), room.id(), 2, vec![join_id], depth + 2, "first").unwrap();
    assert_eq!(push_one(&h, node, push(room.id(), vec![first], vec![])).await.0, "accepted");

    // Act: the peer stamps another event with the sequence number it
    // already used.
    let second = hostile::message_event(&mallory, h.key(), room.id(), 2, vec![join_id], depth + 2, "second").unwrap();
    let outcome = push_one(&h, node, push(room.id(), vec![second], vec![])).await;

    // Assert: refused as an equivocation, and the peer is cut off at once.
    assert_eq!(outcome, ("refused".into(), "equivocation".into()));
    assert!(h.wait_disconnected(&node, Duration::from_secs(10)).await, "an equivocating peer is cut off");
    let (texts, _, _) = history(&room).await;
    assert_eq!(texts, vec!["before".to_owned(), "first".into()], "only the first event of that number is kept");
    assert!(metric(&a, "accord_fed_rejections_total{code=\"equivocation\"}").await);
    a.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_operators_peer_blocks_and_those_earned_by_misconduct_survive_a_restart() {
    let _machine = crate::shared().await;
    // Arrange: A's operator blocks B; a hostile peer earns a block on A
    // by sending garbage until A cuts it off.
    let mut net = TestNet::start(2).await.unwrap();
    net.nodes[0].block_peer(&net.nodes[1]).await.unwrap();
    let h = HostilePeer::start(None).await.unwrap();
    let node_a = h.connect(&net.nodes[0].p2p_addr()).await.unwrap();
    for _ in 0..10 {
        let _ = h.request_raw(node_a, b"\xff garbage".to_vec()).await;
        if h.wait_disconnected(&node_a, Duration::from_secs(1)).await {
            break;
        }
    }
    assert!(h.wait_disconnected(&node_a, Duration::from_secs(5)).await, "the hostile peer earned a block");

    // Act: A restarts.
    net.nodes[0].restart().await.unwrap();
    let (a, b) = (&net.nodes[0], &net.nodes[1]);

    // Assert: B is still the operator's block, and stays apart from A past
    // B's redial of A (its bootstrap peer, every 5 s); the hostile peer is
    // still refused.
    let peers = a.admin("GET", "/peers", None).await.unwrap();
    assert_eq!(peers["blocked"], serde_json::json!([b.node_id()]), "the operator's block is kept: {peers}");
    assert!(metric(a, "accord_fed_blocked_peers ").await, "the earned block is kept");
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert!(!a.is_connected_to(b), "A and B stay apart");
    let back = h.connect(&a.p2p_addr()).await;
    assert!(
        back.is_err() || h.wait_disconnected(&node_a, Duration::from_secs(5)).await,
        "the hostile peer is still refused after the restart"
    );
    // Lifting the operator's block still works after the restart.
    a.unblock_peer(b).await.unwrap();
    accord_testkit::observe::eventually("A and B federate again", Duration::from_secs(30), || async {
        a.is_connected_to(b)
    })
    .await
    .unwrap();
    net.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_streams_a_peer_gave_up_on_before_writing_count_nothing_against_it() {
    let _machine = crate::shared().await;
    let node = TestNode::start().await.unwrap();
    let peer = HostilePeer::start(None).await.unwrap();
    let target = peer.connect(&node.p2p_addr()).await.unwrap();

    // Act: request streams that end before their first byte, as a peer's
    // timed-out requests read (yamux reads a reset stream as ended); more
    // than the malformed requests that cut a peer off.
    for _ in 0..8 {
        let answer = peer.request_raw(target, Vec::new()).await.unwrap();
        let refusal: FedResponse = serde_json::from_slice(&answer).unwrap();
        assert!(matches!(&refusal, FedResponse::Error { code, .. } if code == "abandoned"), "{refusal:?}");
    }

    // Assert: the peer is still connected, and served.
    assert!(peer.is_connected(&target));
    let answer = peer.request(target, &FedRequest::Identities { accounts: vec![] }).await.unwrap();
    assert_eq!(answer, FedResponse::Identities { identities: vec![] });
    assert!(metric(&node, "accord_fed_rejections_total{code=\"abandoned\"} 8").await);
    node.stop().await.unwrap();
}

/// `bytes` as one push stream frame (spec/federation.md §1.2a).
fn frame(bytes: &[u8]) -> Vec<u8> {
    accord_proto::federation::push_stream_frame(bytes).expect("a frame")
}

/// The code of an `error` answer frame.
fn refusal_code(answer: &[u8]) -> String {
    match FedResponse::decode(answer).expect("an answer") {
        FedResponse::Error { code, .. } => code,
        other => panic!("an error expected, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn push_stream_frames_of_a_bad_length_or_bad_json_are_refused_with_codes_and_a_peer_that_keeps_sending_them_is_cut_off()
 {
    let _machine = crate::shared().await;
    let node = TestNode::start().await.unwrap();
    let peer = HostilePeer::start_with_push_stream(None).await.unwrap();
    let id = peer.connect(&node.p2p_addr()).await.unwrap();
    let fetch = serde_json::to_vec(&FedRequest::Identities { accounts: vec![] }).unwrap();

    // A frame that does not decode is answered, and the stream goes on:
    // the well-formed request after it is answered too.
    let mut bytes = frame(b"\xff not json");
    bytes.extend(frame(&fetch));
    let read = peer.push_stream_raw(id, bytes, 2).await.unwrap();
    assert_eq!(read.answers.len(), 2, "both frames answered");
    assert_eq!(refusal_code(&read.answers[0]), "bad_request");
    assert!(matches!(FedResponse::decode(&read.answers[1]).unwrap(), FedResponse::Identities { .. }));
    assert!(!read.closed, "the stream goes on after a frame that does not decode");

    // A length over the limit: `too_large`, and the stream is closed (the
    // next frame cannot be found). Nothing of the announced 4 GiB is
    // awaited or allocated.
    let read = peer.push_stream_raw(id, vec![0xff, 0xff, 0xff, 0xff, b'{'], 1).await.unwrap();
    assert_eq!(read.answers.iter().map(|a| refusal_code(a)).collect::<Vec<_>>(), ["too_large"]);
    assert!(read.closed, "the stream ends after a bad length");
    // A length of 0: `bad_request`, closed.
    let read = peer.push_stream_raw(id, vec![0, 0, 0, 0], 1).await.unwrap();
    assert_eq!(read.answers.iter().map(|a| refusal_code(a)).collect::<Vec<_>>(), ["bad_request"]);
    assert!(read.closed);
    assert!(metric(&node, "accord_fed_rejections_total{code=\"too_large\"}").await);

    // Each counted against the peer (25 of the threshold's 100, halving
    // over time): a peer that keeps sending them is cut off.
    for _ in 0..4 {
        if !peer.is_connected(&id) {
            break;
        }
        let _ = peer.push_stream_raw(id, vec![0, 0, 0, 0], 1).await;
    }
    assert!(peer.wait_disconnected(&id, Duration::from_secs(10)).await, "the peer is cut off");
    // The node itself carries on.
    let alice = node.user("alice").await.unwrap();
    alice.create_room("after", JoinRule::Public).await.unwrap();
}

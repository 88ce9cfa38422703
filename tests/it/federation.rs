//! Nodes federate over real libp2p (TCP on 127.0.0.1), each with its own
//! RocksDB directory: rooms that span nodes, live delivery, catch-up after
//! outages, and convergence of every node's history (spec/federation.md).

use accord_node::network::{Address, PeerId};
use accord_proto::federation::{FedRequest, FedResponse, MAX_FETCH_IDENTITIES, PushOutcome};
use accord_proto::{NodeId, SecretKey};
use accord_sdk::{Client, EventContent, HistoryQuery, JoinRule, Room, Subscription};
use accord_testkit::hostile;
use accord_testkit::observe::{converged, send_from_each, texts};
use accord_testkit::{TestNet, TestNode};
use futures::StreamExt;
use std::collections::BTreeSet;
use std::time::Duration;

/// How long a test waits for the network to deliver or converge.
const PATIENCE: Duration = Duration::from_secs(60);

/// Reads a subscription until it has yielded every text in `want`.
async fn receive_all(sub: &mut Subscription, want: &BTreeSet<String>) {
    let mut got = BTreeSet::new();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !want.is_subset(&got) {
        let item = tokio::time::timeout_at(deadline, sub.next())
            .await
            .unwrap_or_else(|_| panic!("live delivery stalled: missing {:?}", want.difference(&got)))
            .expect("the stream stays open")
            .expect("every live event verifies");
        if let EventContent::Message { text, .. } = item.event.content() {
            got.insert(text.as_str().to_owned());
        }
    }
}

/// One user per node; the first creates a public room and the others
/// join it through the first node.
pub(crate) async fn room_across(net: &TestNet) -> (Vec<Client>, Vec<Room>) {
    let mut clients = Vec::new();
    for (i, node) in net.nodes.iter().enumerate() {
        clients.push(node.user(&format!("user{i}")).await.expect("register"));
    }
    let room = clients[0].create_room("across", JoinRule::Public).await.expect("create");
    let via = vec![net.nodes[0].node_id()];
    let mut rooms = vec![room.clone()];
    for client in &clients[1..] {
        let joined = client.room(room.id());
        joined.join_via(&via).await.expect("join through the first node");
        rooms.push(joined);
    }
    (clients, rooms)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_nodes_deliver_every_message_live_and_converge_to_one_history() {
    let _machine = crate::shared().await;
    let net = TestNet::start(3).await.unwrap();
    let (_clients, rooms) = room_across(&net).await;
    let mut subs: Vec<Subscription> = rooms.iter().map(|r| r.subscribe(0)).collect();

    let sent = send_from_each(&rooms, "hello", 5).await;

    for sub in &mut subs {
        receive_all(sub, &sent).await;
    }
    // create + 2 joins + 15 messages, in the same order everywhere.
    converged(&rooms, 18, PATIENCE).await.unwrap();
    for room in &rooms {
        assert_eq!(texts(room).await.unwrap(), sent, "every node serves every message");
    }
    // Operators see it: pushes by outcome, syncs, peers, libp2p's own.
    for node in &net.nodes {
        assert!(metric(node, "accord_fed_pushes_total").await >= 5.0, "each node pushed its users' events");
        assert!(metric(node, "accord_fed_events_received_total").await >= 10.0);
        assert_eq!(metric(node, "accord_fed_peers ").await, 2.0);
        assert!(metric(node, "accord_libp2p_swarm_connections_established_total").await >= 1.0);
    }
    net.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_that_was_down_catches_up_and_its_users_messages_reach_peers_that_were_down() {
    let _machine = crate::shared().await;
    let mut net = TestNet::start(3).await.unwrap();
    let (_clients, rooms) = room_across(&net).await;

    // Node 2 is down while nodes 0 and 1 chat.
    net.nodes[2].pause().await.unwrap();
    let mut sent = send_from_each(&rooms[..2], "while 2 was down", 4).await;
    net.nodes[2].resume().await.unwrap();
    converged(&rooms, 1 + 2 + 8, PATIENCE).await.unwrap();

    // Node 0 (everyone's bootstrap peer) is down while 1 and 2 chat: their
    // outboxes keep the messages for it.
    net.nodes[0].pause().await.unwrap();
    sent.extend(send_from_each(&rooms[1..], "while 0 was down", 4).await);
    net.nodes[0].resume().await.unwrap();

    converged(&rooms, 1 + 2 + 16, PATIENCE).await.unwrap();
    for room in &rooms {
        assert_eq!(texts(room).await.unwrap(), sent, "nothing lost on any side");
    }
    net.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_outbox_of_several_rooms_is_found_again_after_a_restart_and_delivers_every_room() {
    let _machine = crate::shared().await;
    let mut net = TestNet::start(2).await.unwrap();
    let alice = net.nodes[0].user("alice").await.unwrap();
    let bob = net.nodes[1].user("bob").await.unwrap();
    let via = vec![net.nodes[0].node_id()];
    let mut pairs = Vec::new();
    for name in ["one", "two", "three"] {
        let ours = alice.create_room(name, JoinRule::Public).await.unwrap();
        let theirs = bob.room(ours.id());
        theirs.join_via(&via).await.unwrap();
        pairs.push((ours, theirs));
    }
    converged(&[pairs[2].0.clone(), pairs[2].1.clone()], 2, PATIENCE).await.unwrap();

    // Node 1 is down: node 0's outbox keeps every room's messages for it,
    // and node 0 restarts with them waiting in its store.
    net.nodes[1].pause().await.unwrap();
    for (ours, _) in &pairs {
        send_from_each(std::slice::from_ref(ours), "while 1 was down", 3).await;
    }
    net.nodes[0].pause().await.unwrap();
    net.nodes[0].resume().await.unwrap();
    net.nodes[1].resume().await.unwrap();

    for (ours, theirs) in &pairs {
        converged(&[ours.clone(), theirs.clone()], 2 + 3, PATIENCE).await.unwrap();
        assert_eq!(texts(theirs).await.unwrap(), texts(ours).await.unwrap(), "every room's messages arrive");
    }
    // Pushed since the restart, accepted or (where a sync was first)
    // duplicate: the outbox delivered every entry it found again.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while metric(&net.nodes[0], "accord_fed_pushes_total").await < 9.0 {
        assert!(tokio::time::Instant::now() < deadline, "the outbox did not push all nine messages");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    net.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_room_spanning_ten_nodes_converges() {
    let _machine = crate::shared().await;
    let net = TestNet::start(10).await.unwrap();
    let (_clients, rooms) = room_across(&net).await;
    let sent = send_from_each(&rooms, "ten", 3).await;
    // create + 9 joins + 30 messages.
    let hash = converged(&rooms, 1 + 9 + 30, PATIENCE).await.unwrap();
    for (i, room) in rooms.iter().enumerate() {
        assert_eq!(texts(room).await.unwrap(), sent);
        // The hash every node reports is the one the room rules give for
        // the events that node serves, verified by the client.
        assert_eq!(recomputed_history_hash(room).await, hash, "node {i}'s history hash is that of its events");
    }
    net.stop().await.unwrap();
}

/// The history hash of the room as the client recomputes it
/// (spec/events.md §6) from every event its node serves, each verified.
async fn recomputed_history_hash(room: &Room) -> String {
    let mut events = Vec::new();
    let mut query = Some(accord_sdk::HistoryQuery::after(0).limit(500));
    while let Some(q) = query {
        let page = room.history(q).await.expect("history");
        events.extend(page.items.into_iter().map(|i| i.expect("every event verifies").event));
        query = page.next;
    }
    let timeline = accord_proto::room::resolve(room.id(), &events).expect("the room's create event is served");
    timeline.state.history_hash().to_string()
}

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
    let _machine = crate::shared().await;
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
    let _machine = crate::shared().await;
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
    let _machine = crate::shared().await;
    let a = TestNode::start().await.unwrap();
    let nobody = PeerId::from_bytes(&NodeId::from(SecretKey::generate().unwrap().public()).to_peer_id_bytes()).unwrap();
    let result = a.node().network().request(nobody, FedRequest::Identities { accounts: vec![] }).await;
    assert!(result.is_err(), "{result:?}");
    a.stop().await.unwrap();
}

/// The sum of the node's metric samples whose line starts with `prefix`.
async fn metric(node: &TestNode, prefix: &str) -> f64 {
    let body = reqwest::get(format!("{}/metrics", node.url())).await.expect("metrics").text().await.expect("text");
    body.lines()
        .filter(|l| l.starts_with(prefix))
        .filter_map(|l| l.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()))
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pushes_to_a_peer_travel_on_one_long_lived_push_stream() {
    let _machine = crate::shared().await;
    let net = TestNet::start(2).await.unwrap();
    let (_clients, rooms) = room_across(&net).await;
    let mut sub = rooms[1].subscribe(0);
    // Each message is received before the next is sent: each is a push
    // of its own.
    for i in 0..5 {
        let text = format!("one at a time #{i}");
        rooms[0].send_text(&text).await.unwrap();
        receive_all(&mut sub, &BTreeSet::from([text])).await;
    }
    // One event a push, every one of them on the stream. A counts a push
    // once its answer is back, which may be after B delivered it; the
    // first message may reach B by the sync that follows its join.
    let a = &net.nodes[0];
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let streamed = metric(a, "accord_fed_pushes_streamed_total").await;
        let pushed = metric(a, "accord_fed_pushes_total").await;
        if pushed >= 4.0 && streamed == pushed {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "every push went on the stream: {streamed} of {pushed}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(metric(a, "accord_fed_push_streams_opened_total").await, 1.0, "one stream to the one peer");
    net.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gossip_announcements_are_checked_before_they_are_accepted() {
    let _machine = crate::shared().await;
    use accord_proto::blocklist::checkpoint::{Checkpoint, SignedCheckpoint};
    use accord_proto::federation::{LISTS_TOPIC, ListAnnouncement};
    use accord_proto::{IssuerId, ListId, Timestamp};

    let net = TestNet::start(2).await.unwrap();
    let (a, b) = (&net.nodes[0], &net.nodes[1]);
    let issuer = SecretKey::generate().unwrap();
    let list = ListId { issuer: IssuerId::from(issuer.public()), name: "spam".parse().unwrap() };
    let checkpoint = Checkpoint {
        list: list.clone(),
        size: 0,
        root: accord_proto::blocklist::merkle::empty_root(),
        time: Timestamp::now(),
    };
    let good = ListAnnouncement { list: list.clone(), checkpoint: checkpoint.sign(&issuer).unwrap() };
    let forged_note = good.checkpoint.note().replacen("\n0\n", "\n1\n", 1);
    let bad = ListAnnouncement { list, checkpoint: SignedCheckpoint::from_note(forged_note) };

    // Gossip needs the peers' subscriptions first: publish until it lands.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while metric(b, "accord_fed_gossip_accepted_total").await < 1.0 {
        assert!(tokio::time::Instant::now() < deadline, "a valid announcement never arrived");
        a.node().network().publish(LISTS_TOPIC, serde_json::to_vec(&good).unwrap()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    a.node().network().publish(LISTS_TOPIC, serde_json::to_vec(&bad).unwrap()).await.unwrap();
    while metric(b, "accord_fed_rejections_total{code=\"bad_gossip\"}").await < 1.0 {
        assert!(tokio::time::Instant::now() < deadline, "a forged announcement was not refused");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(metric(b, "accord_fed_gossip_accepted_total").await, 1.0, "the forged one was not accepted");
    net.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_push_lacking_causal_references_is_completed_by_fetching_them_from_its_sender() {
    let _machine = crate::shared().await;
    // Arrange: a room of A with a scripted peer as a host, which answers
    // nothing A asks, and two messages the peer stamps: the second names
    // the first, which A has not seen.
    let ScriptedHost { a, room, peer, node, mallory, pair, join: join_id, depth, .. } =
        ScriptedHost::start(|_| None).await;
    let pushed = |events| FedRequest::Push { room: room.id(), events, identities: vec![pair.clone()] };
    let first = hostile::message_event(&mallory, peer.key(), room.id(), 2, vec![join_id], depth + 1, "first").unwrap();
    let second =
        hostile::message_event(&mallory, peer.key(), room.id(), 3, vec![first.claimed_id()], depth + 2, "second")
            .unwrap();

    // Act 1: the second is pushed while the peer answers nothing A asks.
    let unanswered = outcome(&peer, node, pushed(vec![second.clone()])).await;

    // Act 2: the same push while the peer answers a fetch by id with the
    // first message (and every sync with nothing).
    let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let noted = asked.clone();
    let held = first.clone();
    peer.serve(move |bytes| {
        let answer = match serde_json::from_slice::<FedRequest>(bytes).ok()? {
            FedRequest::Events { ids, .. } => {
                noted.lock().unwrap().extend(ids.clone());
                let events = if ids.contains(&held.claimed_id()) { vec![held.clone()] } else { vec![] };
                FedResponse::Events { events, identities: vec![], more: false, next: 0 }
            }
            _ => FedResponse::Events { events: vec![], identities: vec![], more: false, next: 0 },
        };
        serde_json::to_vec(&answer).ok()
    })
    .await
    .unwrap();
    let completed = outcome(&peer, node, pushed(vec![second])).await;

    // Assert: without an answer the push waits for a later try; with one,
    // A fetched exactly the missing message and accepted the push, and
    // both messages are in the room in order.
    assert_eq!(unanswered, "retry missing_prev");
    assert_eq!(completed, "accepted");
    assert_eq!(*asked.lock().unwrap(), vec![first.claimed_id()]);
    let texts: Vec<String> = room
        .history(HistoryQuery::after(0))
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|i| match i.unwrap().event.content() {
            EventContent::Message { text, .. } => Some(text.as_str().to_owned()),
            _ => None,
        })
        .collect();
    assert_eq!(texts, ["first", "second"]);
    a.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_push_leaves_out_the_identity_pairs_its_receiver_holds_and_sends_them_again_when_it_lost_them() {
    let _machine = crate::shared().await;
    // Arrange: a public room on node A, joined by an account of a scripted
    // peer, which A then pushes alice's messages to. The peer notes each
    // push (its events, and whether alice's pair came with it) and accepts
    // it, except that it answers the first push lacking the pair
    // `unknown_author`, as a peer restored from an older backup would.
    let pushes = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let noted = pushes.clone();
    let refused_once = std::sync::atomic::AtomicBool::new(false);
    let host = ScriptedHost::start(move |bytes| {
        let answer = match serde_json::from_slice::<FedRequest>(bytes).ok()? {
            FedRequest::Push { events, identities, .. } => {
                // A pushes the peer alice's messages only: a pair is hers.
                let with_pair = !identities.is_empty();
                let refuse = !with_pair && !refused_once.swap(true, std::sync::atomic::Ordering::SeqCst);
                let ids = events.iter().map(|e| e.claimed_id()).collect::<Vec<_>>();
                noted.lock().unwrap().push(Noted { ids, with_pair, accepted: !refuse });
                let outcomes = events
                    .iter()
                    .map(|e| match refuse {
                        true => PushOutcome::Refused { event: e.claimed_id(), code: "unknown_author".into() },
                        false => PushOutcome::Accepted { event: e.claimed_id() },
                    })
                    .collect();
                FedResponse::Pushed { outcomes }
            }
            _ => FedResponse::Events { events: vec![], identities: vec![], more: false, next: 0 },
        };
        serde_json::to_vec(&answer).ok()
    })
    .await;
    let (a, room) = (host.a, host.room);

    // Act: alice sends four messages, each once the peer accepted the one
    // before.
    let mut sent = Vec::new();
    for text in ["one", "two", "three", "four"] {
        let id = room.send_text(text).await.unwrap().event_id;
        sent.push(id);
        accord_testkit::observe::eventually("the peer accepts the message", PATIENCE, || async {
            pushes.lock().unwrap().iter().any(|p| p.accepted && p.ids.contains(&id))
        })
        .await
        .unwrap();
    }

    // Assert: alice's pair came with A's first push; the first push that
    // left it out (A had it accepted by then) was refused `unknown_author`
    // and the same events came again at once with the pair; the last two
    // messages, after that, came without it. A counts what it left out.
    let pushes = pushes.lock().unwrap().clone();
    assert!(pushes[0].with_pair, "{pushes:?}");
    let first_without = pushes.iter().position(|p| !p.with_pair).expect("a push left the pair out");
    assert!(!pushes[first_without].accepted, "{pushes:?}");
    let again = &pushes[first_without + 1];
    assert_eq!((&again.ids, again.with_pair), (&pushes[first_without].ids, true), "{pushes:?}");
    for message in &sent[2..] {
        let carried: Vec<bool> = pushes.iter().filter(|p| p.ids.contains(message)).map(|p| p.with_pair).collect();
        assert_eq!(carried, [false], "{pushes:?}");
    }
    let left_out = pushes.iter().filter(|p| !p.with_pair).count();
    assert_eq!(metric(&a, "accord_fed_push_pairs_left_out_total").await, left_out as f64);
    a.stop().await.unwrap();
}

/// A public room of alice's on a new node A, joined honestly by the
/// account mallory of a scripted peer, which is then one of its hosts.
struct ScriptedHost {
    a: TestNode,
    room: Room,
    peer: hostile::HostilePeer,
    node: PeerId,
    mallory: SecretKey,
    pair: accord_proto::federation::IdentityPair,
    /// Mallory's join, pushed by the peer and accepted.
    join: accord_proto::EventId,
    /// The join's depth.
    depth: u64,
}

impl ScriptedHost {
    /// Arranges it; the peer answers what A asks with `responder` from
    /// before the join.
    async fn start(responder: impl Fn(&[u8]) -> Option<Vec<u8>> + Send + Sync + 'static) -> ScriptedHost {
        let a = TestNode::start().await.unwrap();
        let alice = a.user("alice").await.unwrap();
        let room = alice.create_room("open", JoinRule::Public).await.unwrap();
        let peer = hostile::HostilePeer::start(None).await.unwrap();
        let node = peer.connect(&a.p2p_addr()).await.unwrap();
        peer.serve(responder).await.unwrap();
        let last = room.history(HistoryQuery::after(0)).await.unwrap().items.pop().unwrap().unwrap().event;
        let depth = last.stamp_part().depth + 1;
        let mallory = SecretKey::generate().unwrap();
        let pair = hostile::identity_pair(&mallory, peer.key(), "mallory@peer.test").unwrap();
        let join = hostile::join_event(&mallory, peer.key(), room.id(), 1, vec![last.id()], depth).unwrap();
        let push = FedRequest::Push { room: room.id(), events: vec![join.clone()], identities: vec![pair.clone()] };
        assert_eq!(outcome(&peer, node, push).await, "accepted");
        ScriptedHost { a, room, peer, node, mallory, pair, join: join.claimed_id(), depth }
    }
}

/// What a scripted peer noted of a push it was sent.
#[derive(Debug, Clone)]
struct Noted {
    ids: Vec<accord_proto::EventId>,
    with_pair: bool,
    accepted: bool,
}

/// The single outcome of a push: its status, and its code if it has one.
async fn outcome(peer: &hostile::HostilePeer, node: PeerId, push: FedRequest) -> String {
    match peer.request(node, &push).await.expect("the node answers a well-formed push") {
        FedResponse::Pushed { outcomes } => match outcomes.as_slice() {
            [PushOutcome::Accepted { .. }] => "accepted".into(),
            [PushOutcome::Duplicate { .. }] => "duplicate".into(),
            [PushOutcome::Retry { code, .. }] => format!("retry {code}"),
            [PushOutcome::Refused { code, .. }] => format!("refused {code}"),
            other => panic!("one outcome expected, got {other:?}"),
        },
        other => panic!("unexpected answer {other:?}"),
    }
}

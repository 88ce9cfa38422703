//! A join through other nodes whose fetch of the room's history outlasts
//! its request (spec/client-api.md §4.1): the fetch is the node's, not the
//! request's. A client that gives up cancels nothing, a second join of the
//! room attaches to the fetch under way, and a join longer than the node's
//! wait is answered `202 join_in_progress` with its progress.
//!
//! The first node the joiner's node asks is a hostile peer that holds its
//! answer for as long as the test needs (then closes the stream); the node
//! then fetches the room from its real host. So the fetch is under way, for
//! certain, while the test acts, without relying on how long it takes.

use accord_api::ErrorBody;
use accord_api::rooms::{JoinState, JoinStatus};
use accord_proto::auth::AuthResponse;
use accord_proto::event::{EventBody, EventContent};
use accord_proto::federation::FedRequest;
use accord_proto::{EventId, NodeId, SecretKey, Timestamp, Verified};
use accord_sdk::{Client, HistoryQuery, JoinRule, Room};
use accord_testkit::hostile::HostilePeer;
use accord_testkit::{TestNet, TestNode};
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(60);
/// Messages in the room: three join pages of 256 events.
const HISTORY: usize = 600;

/// A room with a long history on node 0, node 1 where its joiners live,
/// and a hostile peer that holds the join requests it is asked until
/// released, counting them.
struct Setup {
    net: TestNet,
    owner: Client,
    room: Room,
    hostile: HostilePeer,
    joins_asked: Arc<AtomicUsize>,
    via: Vec<String>,
}

async fn setup(join_wait_secs: u64) -> Setup {
    let net = TestNet::start_with(2, |i, _, c| {
        accord_testkit::lift_rate_limits(c);
        if i == 1 {
            c.api.join_wait_secs = join_wait_secs;
        }
    })
    .await
    .unwrap();
    net.wait_connected(PATIENCE).await.unwrap();
    let owner = net.nodes[0].user("owner").await.unwrap();
    let room = owner.create_room("long history", JoinRule::Public).await.unwrap();
    let sender = owner.stream_sender();
    let sends = (0..HISTORY).map(|k| {
        let (sender, id) = (sender.clone(), room.id());
        async move { sender.send_text(id, &format!("history message {k}")).await }
    });
    futures::future::try_join_all(sends).await.unwrap();

    let hostile = HostilePeer::start(None).await.unwrap();
    let joins_asked = Arc::new(AtomicUsize::new(0));
    let counted = joins_asked.clone();
    hostile
        .serve(move |bytes| {
            if matches!(serde_json::from_slice(bytes), Ok(FedRequest::Join { .. })) {
                counted.fetch_add(1, Ordering::SeqCst);
            }
            // The stream is closed unanswered: the node asks its next node.
            None
        })
        .await
        .unwrap();
    hostile.hold().await.unwrap();
    let hostile_addr = format!("{}/p2p/{}", hostile.listen_addrs()[0], hostile.node_id());
    let via = vec![hostile_addr, net.nodes[0].node_id()];
    Setup { net, owner, room, hostile, joins_asked, via }
}

/// Polls `room.join_status()` until `done` holds for it (errors, such as
/// `unknown_room` before the request reached the node, count as not yet).
async fn join_status_until(room: &Room, what: &str, done: impl Fn(&JoinStatus) -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let status = room.join_status().await;
        if let Ok(status) = &status
            && done(status)
        {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "{what}: still {status:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every event id of a room as a member of it sees it on its node.
async fn event_ids(room: &Room) -> BTreeSet<EventId> {
    let mut ids = BTreeSet::new();
    let mut query = Some(HistoryQuery::after(0).limit(500));
    while let Some(q) = query.take() {
        let page = room.history(q).await.unwrap();
        ids.extend(page.items.into_iter().map(|item| item.expect("every event verifies").id()));
        query = page.next;
    }
    ids
}

/// Waits until the room's origin and the joiner's node agree on the room
/// (accepted events and history hash), then checks that they hold the
/// same events, every one of the history among them.
async fn same_room(origin: &Room, joined: &Room) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let (at_origin, at_joiner) = (origin.state().await.unwrap(), joined.state().await.unwrap());
        if at_origin.accepted == at_joiner.accepted && at_origin.history_hash == at_joiner.history_hash {
            assert!(at_joiner.accepted as usize > HISTORY, "the whole history: {} accepted", at_joiner.accepted);
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the nodes disagree: {} accepted ({}) at the origin, {} ({}) at the joiner's node",
            at_origin.accepted,
            at_origin.history_hash,
            at_joiner.accepted,
            at_joiner.history_hash
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (at_origin, at_joiner) = (event_ids(origin).await, event_ids(joined).await);
    assert!(at_joiner.len() > HISTORY);
    assert_eq!(at_origin, at_joiner, "the same events on both nodes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_join_whose_client_gives_up_still_completes_and_holds_the_whole_history() {
    let _machine = crate::shared().await;
    let s = setup(20).await;
    let joiner = s.net.nodes[1].user("joiner").await.unwrap();
    let joined = joiner.room(s.room.id());

    // The client asks, and gives up (its future dropped, its connection
    // closed) while the node's fetch is under way.
    let asking = tokio::spawn({
        let (joined, via) = (joined.clone(), s.via.clone());
        async move { joined.join_via(&via).await }
    });
    join_status_until(&joined, "the join's fetch under way", |j| j.state == JoinState::Fetching && j.waiting == 1)
        .await;
    asking.abort();
    assert!(asking.await.unwrap_err().is_cancelled(), "the client gave up before the join was done");

    // The first node asked answers at last (by closing the stream): the
    // node goes on to the room's host, fetches every page and sends the
    // join it was asked for.
    s.hostile.release().await.unwrap();
    join_status_until(&joined, "the room held and the account a member", |j| j.state == JoinState::Held && j.member)
        .await;
    let status = joined.join_status().await.unwrap();
    assert!(status.events_fetched as usize >= HISTORY, "every message counted: {status:?}");
    assert!(status.pages >= 3, "{status:?}");
    same_room(&s.room, &joined).await;
    assert_eq!(s.joins_asked.load(Ordering::SeqCst), 1, "one fetch, which asked the first node once");
    s.net.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_second_join_while_the_first_is_fetching_attaches_to_it_and_both_complete() {
    let _machine = crate::shared().await;
    let s = setup(20).await;
    let first = s.net.nodes[1].user("first").await.unwrap();
    let second = s.net.nodes[1].user("second").await.unwrap();
    let (first_room, second_room) = (first.room(s.room.id()), second.room(s.room.id()));

    let join = |room: &Room| {
        let (room, via) = (room.clone(), s.via.clone());
        tokio::spawn(async move { room.join_via(&via).await })
    };
    let first_join = join(&first_room);
    join_status_until(&first_room, "the first join's fetch", |j| j.state == JoinState::Fetching).await;
    let second_join = join(&second_room);
    // The second join waits for the same fetch: both are counted in it.
    join_status_until(&second_room, "the second join attached", |j| j.state == JoinState::Fetching && j.waiting == 2)
        .await;

    s.hostile.release().await.unwrap();
    for task in [first_join, second_join] {
        let receipt = tokio::time::timeout(PATIENCE, task).await.expect("the join completes").unwrap();
        assert!(matches!(receipt.expect("joined").event.content(), EventContent::Join {}));
    }
    assert_eq!(s.joins_asked.load(Ordering::SeqCst), 1, "one fetch for both joins");
    let members = first_room.state().await.unwrap().members;
    assert!(members.contains(&first.account()) && members.contains(&second.account()), "{members:?}");
    same_room(&s.room, &second_room).await;
    s.net.stop().await.unwrap();
}

/// Logs `key` in by hand; the session token.
async fn login(http: &reqwest::Client, node: &TestNode, key: &SecretKey) -> String {
    let post = |path: &str, body: serde_json::Value| http.post(format!("{}{path}", node.url())).json(&body).send();
    let challenge: serde_json::Value =
        post("/v1/auth/challenge", json!({"account": key.account_id()})).await.unwrap().json().await.unwrap();
    let node_id: NodeId = challenge["node"].as_str().unwrap().parse().unwrap();
    let challenge = challenge["challenge"].as_str().unwrap().into();
    let answer =
        Verified::sign(AuthResponse { account: key.account_id(), node: node_id, challenge, ts: Timestamp::now() }, key)
            .unwrap();
    let login: serde_json::Value =
        post("/v1/auth/login", json!({"response": answer})).await.unwrap().json().await.unwrap();
    login["token"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_join_longer_than_the_nodes_wait_is_answered_join_in_progress_and_the_node_sends_it_itself() {
    let _machine = crate::shared().await;
    let s = setup(0).await;
    let key = SecretKey::generate().unwrap();
    let joiner: Client = s.net.nodes[1].client(key.clone()).unwrap();
    joiner.register("joiner", None).await.unwrap();
    let joined = joiner.room(s.room.id());
    let http = reqwest::Client::new();
    let token = login(&http, &s.net.nodes[1], &key).await;
    let join = Verified::sign(
        EventBody {
            room: Some(s.room.id()),
            author: key.account_id(),
            ts: Timestamp::now(),
            content: EventContent::Join {},
        },
        &key,
    )
    .unwrap();
    let send = || {
        http.post(format!("{}/v1/events", s.net.nodes[1].url()))
            .bearer_auth(&token)
            .json(&json!({"event": join.raw(), "via": s.via}))
            .send()
    };

    // Answered at once (the node's wait is 0): accepted, not done, with
    // the join's progress in a typed body.
    let answer = send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 202);
    let body: ErrorBody = answer.json().await.unwrap();
    assert_eq!(body.error.code, "join_in_progress");
    let progress = body.error.join.expect("the join's progress");
    assert_eq!((progress.room, progress.state, progress.waiting), (s.room.id(), JoinState::Fetching, 1));
    assert!(!progress.member);

    // The SDK, answered the same, follows the fetch and returns the
    // join's receipt once the node holds the room.
    let other = s.net.nodes[1].user("other").await.unwrap();
    let following = tokio::spawn({
        let (room, via) = (other.room(s.room.id()), s.via.clone());
        async move { room.join_via(&via).await }
    });
    join_status_until(&other.room(s.room.id()), "the SDK's join attached", |j| j.waiting == 2).await;

    // Nobody asks again: the node sends the join itself once it holds the
    // room, and the same event sent again is a duplicate.
    s.hostile.release().await.unwrap();
    let receipt = tokio::time::timeout(PATIENCE, following).await.expect("the SDK's join completes").unwrap();
    assert!(matches!(receipt.expect("joined").event.content(), EventContent::Join {}));
    join_status_until(&joined, "the join sent by the node", |j| j.state == JoinState::Held && j.member).await;
    let again = send().await.unwrap();
    assert_eq!(again.status().as_u16(), 409);
    let body: ErrorBody = again.json().await.unwrap();
    assert_eq!(body.error.code, "duplicate_event");
    same_room(&s.room, &joined).await;
    s.net.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_account_starts_at_most_four_fetches_at_once_and_a_fifth_join_is_rate_limited_and_starts_nothing() {
    let _machine = crate::shared().await;
    let s = setup(0).await;
    let mut rooms = vec![s.room.id()];
    for name in ["two", "three", "four", "five"] {
        rooms.push(s.owner.create_room(name, JoinRule::Public).await.unwrap().id());
    }
    let key = SecretKey::generate().unwrap();
    let joiner: Client = s.net.nodes[1].client(key.clone()).unwrap();
    joiner.register("joiner", None).await.unwrap();
    let http = reqwest::Client::new();
    let token = login(&http, &s.net.nodes[1], &key).await;
    let send = |room| {
        let join = Verified::sign(
            EventBody {
                room: Some(room),
                author: key.account_id(),
                ts: Timestamp::now(),
                content: EventContent::Join {},
            },
            &key,
        )
        .unwrap();
        http.post(format!("{}/v1/events", s.net.nodes[1].url()))
            .bearer_auth(&token)
            .json(&json!({"event": join.raw(), "via": s.via}))
            .send()
    };

    // Four joins of four rooms: four fetches under way (held by the first
    // node they ask).
    for room in &rooms[..4] {
        assert_eq!(send(*room).await.unwrap().status().as_u16(), 202);
    }
    // The fifth is refused before anything starts.
    let refused = send(rooms[4]).await.unwrap();
    assert_eq!(refused.status().as_u16(), 429);
    let body: ErrorBody = refused.json().await.unwrap();
    assert_eq!(body.error.code, "rate_limited");
    assert!(body.error.retry_after_ms.is_some_and(|ms| ms > 0));
    assert!(joiner.room(rooms[4]).join_status().await.is_err(), "no join of the fifth room under way");

    // Once the fetches are over, the fifth join goes through.
    s.hostile.release().await.unwrap();
    for room in &rooms[..4] {
        join_status_until(&joiner.room(*room), "a join sent by the node", |j| j.state == JoinState::Held && j.member)
            .await;
    }
    assert_eq!(send(rooms[4]).await.unwrap().status().as_u16(), 202, "started (the node's wait is 0)");
    join_status_until(&joiner.room(rooms[4]), "the fifth join", |j| j.state == JoinState::Held && j.member).await;
    s.net.stop().await.unwrap();
}

//! Two users chat through one node; everything survives a restart.

use accord_proto::event::JoinRule;
use accord_sdk::HistoryQuery;
use accord_testkit::TestNode;
use futures::StreamExt;
use std::time::Duration;

async fn next_text(sub: &mut accord_sdk::Subscription) -> String {
    loop {
        let item = tokio::time::timeout(Duration::from_secs(10), sub.next())
            .await
            .expect("an event within 10 s")
            .expect("stream open")
            .expect("event verifies");
        if let Some(text) = item.text() {
            return text.to_string();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_users_exchange_messages_live_and_in_history_across_a_restart() {
    let mut node = TestNode::start().await.unwrap();
    let alice = node.user("alice").await.unwrap();
    let bob = node.user("bob").await.unwrap();

    let room = alice.create_room("general", JoinRule::Public).await.unwrap();
    bob.room(room.id()).join().await.unwrap();
    let mut alice_feed = room.subscribe(0);
    let mut bob_feed = bob.room(room.id()).subscribe(0);

    room.send_text("hi bob").await.unwrap();
    assert_eq!(next_text(&mut bob_feed).await, "hi bob");
    bob.room(room.id()).send_text("hi alice").await.unwrap();
    assert_eq!(next_text(&mut alice_feed).await, "hi bob");
    assert_eq!(next_text(&mut alice_feed).await, "hi alice");

    let before = room.state().await.unwrap();
    assert_eq!(before.members.len(), 2);
    drop((alice_feed, bob_feed));

    node.restart().await.unwrap();

    // New sessions (tokens live in memory), same keys and data.
    let page = bob.room(room.id()).history(HistoryQuery::after(0)).await.unwrap();
    let texts: Vec<String> =
        page.items.iter().filter_map(|i| i.as_ref().ok()).filter_map(|i| i.text().map(str::to_string)).collect();
    assert_eq!(texts, ["hi bob", "hi alice"]);
    let after = room.state().await.unwrap();
    assert_eq!(after.members, before.members);
    assert_eq!(after.history_hash, before.history_hash);
    let rooms = bob.rooms().await.unwrap();
    assert_eq!(rooms.len(), 1);
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_resumes_from_its_cursor_without_gaps_or_repeats() {
    let node = TestNode::start().await.unwrap();
    let alice = node.user("alice").await.unwrap();
    let room = alice.create_room("busy", JoinRule::Public).await.unwrap();
    for i in 0..30 {
        room.send_text(&format!("m{i}")).await.unwrap();
    }
    // Start from cursor 10: the create event is cursor 1, m0 is cursor 2.
    let mut feed = room.subscribe(10);
    for i in 9..30 {
        assert_eq!(next_text(&mut feed).await, format!("m{i}"));
    }
    room.send_text("live").await.unwrap();
    assert_eq!(next_text(&mut feed).await, "live");
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invite_only_rooms_admit_invited_accounts_only() {
    let node = TestNode::start().await.unwrap();
    let alice = node.user("alice").await.unwrap();
    let bob = node.user("bob").await.unwrap();
    let carol = node.user("carol").await.unwrap();
    let room = alice.create_room("private", JoinRule::Invite).await.unwrap();
    let err = carol.room(room.id()).join().await.unwrap_err();
    assert_eq!(err.code(), "not_invited");
    room.invite(bob.account()).await.unwrap();
    bob.room(room.id()).join().await.unwrap();
    assert_eq!(room.state().await.unwrap().members.len(), 2);
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_banned_member_stops_receiving_the_room_live() {
    let node = TestNode::start().await.unwrap();
    let alice = node.user("alice").await.unwrap();
    let mallory = node.user("mallory").await.unwrap();
    let room = alice.create_room("general", JoinRule::Public).await.unwrap();
    mallory.room(room.id()).join().await.unwrap();
    let mut feed = mallory.room(room.id()).subscribe(0);
    room.send_text("before the ban").await.unwrap();
    assert_eq!(next_text(&mut feed).await, "before the ban");

    room.ban(mallory.account(), Some("harassment")).await.unwrap();
    room.send_text("after the ban").await.unwrap();
    // Mallory sees the ban itself, then an error, and nothing after it.
    let mut saw_error = false;
    while let Ok(Some(item)) = tokio::time::timeout(Duration::from_secs(5), feed.next()).await {
        match item {
            Ok(item) => assert_ne!(item.text(), Some("after the ban"), "a banned member received a message"),
            Err(e) => {
                assert_eq!(e.code(), "not_member");
                saw_error = true;
                break;
            }
        }
    }
    assert!(saw_error, "the stream said why it ended");
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_senders_in_one_room_get_consecutive_cursors_served_in_order_live_and_in_history() {
    let node = TestNode::start_with(|c| c.limits.events_per_second = 1_000).await.unwrap();
    let owner = node.user("owner").await.unwrap();
    let room = owner.create_room("busy", JoinRule::Public).await.unwrap();
    let mut senders = Vec::new();
    for i in 0..8 {
        let user = node.user(&format!("sender{i}")).await.unwrap();
        let joined = user.room(room.id());
        joined.join().await.unwrap();
        senders.push(joined);
    }
    let start = room.state().await.unwrap().accepted;
    let mut live = room.subscribe(start);
    // Every sender sends at once, many times: the room's writes are grouped.
    let sends = senders
        .iter()
        .enumerate()
        .flat_map(|(i, r)| (0..10).map(move |k| async move { r.send_text(&format!("{i}/{k}")).await.unwrap().cursor }));
    let mut cursors: Vec<u64> = futures::future::join_all(sends).await;
    cursors.sort_unstable();
    let expected: Vec<u64> = (start + 1..=start + 80).collect();
    assert_eq!(cursors, expected, "one cursor each, no gap, no repeat");

    let mut seen = Vec::new();
    while seen.len() < 80 {
        let item = tokio::time::timeout(Duration::from_secs(10), live.next())
            .await
            .expect("live within 10 s")
            .expect("stream open")
            .expect("event verifies");
        seen.push(item.cursor);
    }
    assert_eq!(seen, expected, "live in cursor order");
    let page = room.history(HistoryQuery::after(start).limit(100)).await.unwrap();
    assert_eq!(page.items.iter().map(|i| i.as_ref().expect("verifies").cursor).collect::<Vec<_>>(), expected);
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_survives_a_restart_of_its_node() {
    let mut node = accord_testkit::TestNode::start().await.unwrap();
    let key = accord_proto::SecretKey::generate().unwrap();
    node.client(key.clone()).unwrap().register("alice", None).await.unwrap();
    let token = crate::raw::Raw::new(&node).login(&key).await;
    let rooms = |node: &accord_testkit::TestNode, token: String| {
        let url = format!("{}/v1/rooms", node.url());
        async move { reqwest::Client::new().get(url).bearer_auth(token).send().await.unwrap().status().as_u16() }
    };
    assert_eq!(rooms(&node, token.clone()).await, 200);

    node.restart().await.unwrap();

    assert_eq!(rooms(&node, token.clone()).await, 200, "the token opened before the restart still works");
    assert_eq!(rooms(&node, format!("{token}0")).await, 401, "and another does not");
    node.stop().await.unwrap();
}

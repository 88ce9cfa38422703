//! SDK tests against a typed stand-in for the node's client API
//! ([`mock::MockNode`]): login and re-login, registration, sending and
//! history with local verification, the live stream's losslessness
//! when the connection drops, skips or repeats cursors, and items hidden or
//! requests refused because of blocklist entries. [`reports`], [`retry`]
//! and [`tls`] run against real nodes ([`accord_testkit::TestNode`]).

mod mock;
mod reports;
mod retry;
mod stream_sender;
mod tls;

use accord_proto::blocklist::{Action, Category};
use accord_proto::event::EventContent;
use accord_proto::identity::{Attestation, IdentityDocument, VerificationLevel};
use accord_proto::{NodeId, SecretKey, Timestamp, Verified};
use accord_sdk::{
    Client, HistoryQuery, JoinRule, ReconnectPolicy, Room, SdkError, TimelineEntry, TimelineItem, VerificationError,
};
use futures::StreamExt as _;
use mock::{MockNode, StreamFault};
use std::time::Duration;

fn client(node: &MockNode, seed: u8) -> Client {
    Client::builder()
        .node_url(&node.url)
        .key(SecretKey::from_seed([seed; 32]))
        .reconnect_policy(ReconnectPolicy::new(Duration::from_millis(5), Duration::from_millis(20), 5))
        .build()
        .expect("client")
}

/// A registered client with a fresh room.
async fn setup(node: &MockNode) -> (Client, Room) {
    let alice = client(node, 1);
    alice.register("alice", None).await.expect("register");
    let room = alice.create_room("general", JoinRule::Public).await.expect("create");
    (alice, room)
}

/// Takes `n` items from a subscription, failing the test after 10 s.
async fn take(sub: &mut accord_sdk::Subscription, n: usize) -> Vec<Result<TimelineItem, SdkError>> {
    let mut out = Vec::new();
    while out.len() < n {
        match tokio::time::timeout(Duration::from_secs(10), sub.next()).await {
            Ok(Some(item)) => out.push(item),
            Ok(None) => panic!("stream ended after {} items: {out:?}", out.len()),
            Err(_) => panic!("timed out after {} items: {out:?}", out.len()),
        }
    }
    out
}

fn cursors(items: &[Result<TimelineItem, SdkError>]) -> Vec<u64> {
    items
        .iter()
        .map(|item| match item {
            Ok(item) => item.cursor,
            Err(SdkError::Verification { cursor: Some(c), .. }) => *c,
            Err(other) => panic!("unexpected error item {other:?}"),
        })
        .collect()
}

#[tokio::test]
async fn register_verifies_the_attestation_and_identity_lookups_verify() {
    let node = MockNode::start().await;
    let alice = client(&node, 1);
    let me = alice.register("alice", None).await.expect("register");
    assert_eq!(me.handle().to_string(), format!("alice@{}", mock::NODE_NAME));
    assert_eq!(me.home(), node.node_id());
    assert_eq!(me.level(), VerificationLevel::Open);

    let bob = client(&node, 2);
    bob.register(&format!("bob@{}", mock::NODE_NAME), None).await.expect("register bob");
    let seen = alice.identity(&bob.account()).await.expect("lookup");
    assert_eq!(seen.handle().name(), "bob");

    let err = alice.register("alice", None).await.unwrap_err();
    assert!(matches!(&err, SdkError::Api { status: 409, code, .. } if code == "already_registered"), "{err:?}");
    let err = client(&node, 3).identity(&SecretKey::from_seed([9; 32]).account_id()).await.unwrap_err();
    assert!(matches!(&err, SdkError::Api { status: 404, code, .. } if code == "unknown_account"), "{err:?}");
}

#[tokio::test]
async fn send_and_history_are_verified() {
    let node = MockNode::start().await;
    let (alice, room) = setup(&node).await;
    let first = room.send_text("one").await.expect("send");
    assert_eq!(first.cursor, 2);
    let second = room.send_reply("two", first.event_id).await.expect("reply");
    assert_eq!(second.cursor, 3);
    room.send_text("three").await.expect("send");

    let page = room.history(HistoryQuery::after(0).limit(2)).await.expect("history");
    assert!(page.more);
    assert_eq!(cursors(&page.items), vec![1, 2]);
    let page = room.history(page.next.expect("next page")).await.expect("page 2");
    assert_eq!(cursors(&page.items), vec![3, 4]);
    let reply = page.items[0].as_ref().expect("verified");
    assert_eq!(reply.text(), Some("two"));
    assert_eq!(reply.reply_to(), Some(first.event_id));
    assert!(!page.more);

    let back = room.history(HistoryQuery::before(5).limit(3)).await.expect("backward");
    assert_eq!(cursors(&back.items), vec![4, 3, 2]);

    let state = room.state().await.expect("state");
    assert_eq!(state.latest_cursor, 4);
    assert_eq!(state.name, "general");
    assert_eq!(state.creator, alice.account());
    let rooms = alice.rooms().await.expect("rooms");
    assert_eq!(rooms.len(), 1);
    assert_eq!(rooms[0].room, room.id());
}

#[tokio::test]
async fn same_text_twice_gets_two_ids() {
    let node = MockNode::start().await;
    let (_alice, room) = setup(&node).await;
    let a = room.send_text("same").await.expect("send");
    let b = room.send_text("same").await.expect("send again");
    assert_ne!(a.event_id, b.event_id);
}

#[tokio::test]
async fn logs_in_again_after_the_node_forgets_the_session() {
    let node = MockNode::start().await;
    let (_alice, room) = setup(&node).await;
    assert_eq!(node.logins(), 1);
    node.forget_sessions();
    room.send_text("after restart").await.expect("send after re-login");
    assert_eq!(node.logins(), 2);
}

#[tokio::test]
async fn unregistered_accounts_get_the_node_code() {
    let node = MockNode::start().await;
    let stranger = client(&node, 4);
    let err = stranger.rooms().await.unwrap_err();
    assert!(matches!(&err, SdkError::Api { status: 403, code, .. } if code == "not_registered"), "{err:?}");
}

#[tokio::test]
async fn a_tampered_event_is_an_error_item_not_a_gap() {
    let node = MockNode::start().await;
    let (_alice, room) = setup(&node).await;
    for text in ["a", "b", "c"] {
        room.send_text(text).await.expect("send");
    }
    node.tamper(3);
    let page = room.history(HistoryQuery::after(0)).await.expect("history");
    assert_eq!(cursors(&page.items), vec![1, 2, 3, 4]);
    assert!(matches!(&page.items[2], Err(SdkError::Verification { cursor: Some(3), .. })));

    let mut live = room.subscribe(1);
    let items = take(&mut live, 3).await;
    assert_eq!(cursors(&items), vec![2, 3, 4]);
    match &items[1] {
        Err(SdkError::Verification { reason, .. }) => assert!(matches!(**reason, VerificationError::Event(_))),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(items[2].as_ref().expect("ok").text(), Some("c"));
}

#[tokio::test]
async fn an_event_stamped_by_a_foreign_node_is_refused() {
    let node = MockNode::start().await;
    let (_alice, room) = setup(&node).await;
    // Bob lives on another node, but this node stamps his event.
    let bob = SecretKey::from_seed([2; 32]);
    let bob_home = SecretKey::from_seed([251; 32]);
    let doc = IdentityDocument {
        account: bob.account_id(),
        handle: "bob@other.node".parse().expect("handle"),
        home: NodeId::from(bob_home.public()),
        created: Timestamp::now(),
    };
    let doc = Verified::sign(doc, &bob).expect("sign");
    let att = Attestation {
        account: bob.account_id(),
        identity: doc.body_hash(),
        node: NodeId::from(bob_home.public()),
        registered: Timestamp::now(),
        level: VerificationLevel::Open,
    };
    let att = Verified::sign(att, &bob_home).expect("attest");
    node.add_identity(&doc, &att);
    let text = "forged".to_string().try_into().expect("text");
    let cursor =
        node.inject(room.id(), &bob, &node.key, EventContent::Message { text, reply_to: None, attachments: vec![] });

    let page = room.history(HistoryQuery::after(cursor - 1)).await.expect("history");
    match &page.items[0] {
        Err(SdkError::Verification { cursor: Some(c), reason, .. }) => {
            assert_eq!(*c, cursor);
            assert!(matches!(**reason, VerificationError::WrongOrigin { .. }), "{reason}");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn the_stream_is_lossless_across_drops_skips_and_repeats() {
    let node = MockNode::start().await;
    let (_alice, room) = setup(&node).await;
    node.plan_streams(vec![
        vec![StreamFault::CloseAfter(2)],
        vec![StreamFault::Skip(5), StreamFault::Repeat, StreamFault::CloseAfter(3)],
        vec![StreamFault::Repeat],
    ]);
    for i in 0..6 {
        room.send_text(&format!("before {i}")).await.expect("send");
    }
    let mut live = room.subscribe(0);
    let mut items = take(&mut live, 7).await;
    // Cursor 5 never came live: it was fetched from history.
    assert_eq!(node.history_requests(), 1);
    for i in 0..6 {
        room.send_text(&format!("live {i}")).await.expect("send");
    }
    items.extend(take(&mut live, 6).await);
    assert_eq!(cursors(&items), (1..=13).collect::<Vec<u64>>());
    assert!(items.iter().all(Result::is_ok));
    assert_eq!(live.last_cursor(), 13);
    assert!(node.stream_connections() >= 3, "reconnected {} times", node.stream_connections());
    let texts: Vec<&str> = items.iter().filter_map(|i| i.as_ref().ok().and_then(TimelineItem::text)).collect();
    assert_eq!(texts[0], "before 0");
    assert_eq!(texts[11], "live 5");
}

#[tokio::test]
async fn the_stream_logs_in_again_when_its_token_is_refused() {
    let node = MockNode::start().await;
    let (_alice, room) = setup(&node).await;
    assert_eq!(node.logins(), 1);
    // The client still holds the token the node forgot: the WebSocket
    // upgrade is refused with 401, and the stream logs in again.
    node.forget_sessions();
    let mut live = room.subscribe(0);
    assert_eq!(cursors(&take(&mut live, 1).await), vec![1]);
    assert_eq!(node.logins(), 2);
}

#[tokio::test]
async fn a_refused_subscription_ends_the_stream_with_the_code() {
    let node = MockNode::start().await;
    let (_alice, room) = setup(&node).await;
    node.plan_streams(vec![vec![StreamFault::Refuse("not_member")]]);
    let mut live = room.subscribe(0);
    match tokio::time::timeout(Duration::from_secs(10), live.next()).await.expect("in time") {
        Some(Err(SdkError::Api { status: 403, code, .. })) => assert_eq!(code, "not_member"),
        other => panic!("unexpected {other:?}"),
    }
    assert!(live.next().await.is_none());
}

#[tokio::test]
async fn a_hidden_item_in_history_is_set_apart_with_its_provenance() {
    let node = MockNode::start().await;
    let (_alice, room) = setup(&node).await;
    for text in ["a", "spam", "c"] {
        room.send_text(text).await.expect("send");
    }
    node.hide(3, mock::provenance(3, Some("bulk ads")));

    let page = room.history(HistoryQuery::after(0)).await.expect("history");
    assert_eq!(cursors(&page.items), vec![1, 2, 4]);
    assert_eq!(page.hidden.len(), 1);
    let hidden = &page.hidden[0];
    assert_eq!(hidden.cursor, 3);
    assert_eq!(hidden.provenance.list, mock::spam_list());
    assert_eq!(hidden.provenance.entry, 3);
    assert_eq!(hidden.provenance.category, Category::Spam);
    assert_eq!(hidden.provenance.action, Action::Reject);
    assert_eq!(hidden.provenance.reason.as_deref(), Some("bulk ads"));
    let texts: Vec<&str> = page.items.iter().filter_map(|i| i.as_ref().ok().and_then(TimelineItem::text)).collect();
    assert_eq!(texts, vec!["a", "c"]);

    // A page that ends on a hidden item continues after it.
    let page = room.history(HistoryQuery::after(0).limit(3)).await.expect("page 1");
    assert_eq!(cursors(&page.items), vec![1, 2]);
    assert_eq!(page.hidden.iter().map(|h| h.cursor).collect::<Vec<_>>(), vec![3]);
    let page = room.history(page.next.expect("next page")).await.expect("page 2");
    assert_eq!(cursors(&page.items), vec![4]);
    assert!(page.hidden.is_empty());

    let back = room.history(HistoryQuery::before(5)).await.expect("backward");
    assert_eq!(cursors(&back.items), vec![4, 2, 1]);
    assert_eq!(back.hidden[0].cursor, 3);
}

#[tokio::test]
async fn the_stream_passes_over_hidden_items_without_a_gap() {
    let node = MockNode::start().await;
    let (_alice, room) = setup(&node).await;
    room.send_text("spam").await.expect("send");
    room.send_text("fine").await.expect("send");
    node.hide(2, mock::provenance(7, None));

    // A hidden frame, then a visible one: only the visible one is yielded,
    // and nothing is fetched from history.
    let mut live = room.subscribe(1);
    let items = take(&mut live, 1).await;
    assert_eq!(cursors(&items), vec![3]);
    assert_eq!(items[0].as_ref().expect("ok").text(), Some("fine"));
    assert_eq!(live.last_cursor(), 3);
    assert_eq!(node.history_requests(), 0);
    assert_eq!(node.stream_connections(), 1);

    // Read as entries, the hidden item is there with its provenance.
    let mut live = room.subscribe(0);
    let mut entries = Vec::new();
    for _ in 0..3 {
        let entry = tokio::time::timeout(Duration::from_secs(10), live.next_entry()).await.expect("in time");
        entries.push(entry.expect("not ended").expect("ok"));
    }
    assert_eq!(entries.iter().map(TimelineEntry::cursor).collect::<Vec<_>>(), vec![1, 2, 3]);
    match &entries[1] {
        TimelineEntry::Hidden(hidden) => {
            assert_eq!(hidden.provenance.entry, 7);
            assert_eq!(hidden.provenance.reason, None);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(matches!(&entries[2], TimelineEntry::Item(item) if item.text() == Some("fine")));
    assert_eq!(live.last_cursor(), 3);
    assert_eq!(node.history_requests(), 0);
}

#[tokio::test]
async fn a_hidden_item_missed_live_is_filled_from_history() {
    let node = MockNode::start().await;
    let (_alice, room) = setup(&node).await;
    for text in ["a", "spam", "c"] {
        room.send_text(text).await.expect("send");
    }
    node.hide(3, mock::provenance(3, None));
    node.plan_streams(vec![vec![StreamFault::Skip(3)]]);
    let mut live = room.subscribe(0);
    let items = take(&mut live, 3).await;
    // Cursor 3 was skipped live; history served it hidden: no error, no repeat.
    assert_eq!(cursors(&items), vec![1, 2, 4]);
    assert_eq!(node.history_requests(), 1);
    assert_eq!(live.last_cursor(), 4);
}

#[tokio::test]
async fn a_blocked_request_exposes_the_provenance() {
    let node = MockNode::start().await;
    let (_alice, room) = setup(&node).await;
    node.block_sends(mock::provenance(12, Some("known spammer")));
    let err = room.send_text("buy now").await.unwrap_err();
    assert!(matches!(&err, SdkError::Api { status: 403, code, .. } if code == "blocked"), "{err:?}");
    assert!(!err.is_transient());
    let provenance = err.provenance().expect("provenance");
    assert_eq!(provenance.list, mock::spam_list());
    assert_eq!(provenance.entry, 12);
    assert_eq!(provenance.reason.as_deref(), Some("known spammer"));
    assert!(err.to_string().contains(&format!("{}/spam #12 (spam): known spammer", mock::spam_list().issuer)), "{err}");

    // Other errors name no entry.
    let err = client(&node, 4).rooms().await.unwrap_err();
    assert_eq!(err.provenance(), None);
}

#[tokio::test]
async fn a_blocked_subscription_ends_the_stream_with_the_provenance() {
    let node = MockNode::start().await;
    let (_alice, room) = setup(&node).await;
    node.plan_streams(vec![vec![StreamFault::RefuseBlocked(Box::new(mock::provenance(5, None)))]]);
    let mut live = room.subscribe(0);
    match tokio::time::timeout(Duration::from_secs(10), live.next()).await.expect("in time") {
        Some(Err(err)) => {
            assert!(matches!(&err, SdkError::Api { status: 403, code, .. } if code == "blocked"), "{err:?}");
            assert_eq!(err.provenance().expect("provenance").entry, 5);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(live.next().await.is_none());
}

#[tokio::test]
async fn an_author_whose_identity_is_blocked_fails_only_their_events() {
    let node = MockNode::start().await;
    let (alice, room) = setup(&node).await;
    let bob = client(&node, 2);
    bob.register("bob", None).await.expect("register bob");
    bob.room(room.id()).send_text("from bob").await.expect("bob sends");
    room.send_text("from alice").await.expect("alice sends");
    node.block_identity(bob.account(), mock::provenance(9, None));

    let err = alice.identity(&bob.account()).await.unwrap_err();
    assert_eq!(err.code(), "blocked");
    assert_eq!(err.provenance().expect("provenance").entry, 9);

    let page = room.history(HistoryQuery::after(0)).await.expect("the page still loads");
    assert_eq!(cursors(&page.items), vec![1, 2, 3]);
    match &page.items[1] {
        Err(SdkError::Verification { reason, .. }) => {
            assert!(
                matches!(&**reason, VerificationError::UnknownAuthor { code, .. } if code == "blocked"),
                "{reason}"
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(page.items[2].as_ref().expect("alice verified").text(), Some("from alice"));
}

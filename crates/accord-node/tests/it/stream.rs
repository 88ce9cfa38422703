//! The live stream's own limits: streams per account, frames per second,
//! and logins only for local accounts; and sends over the stream.

use crate::raw::Raw;
use accord_proto::event::{EventBody, EventContent, JoinRule, UnverifiedEvent};
use accord_proto::{RoomId, SecretKey, Timestamp, Verified};
use accord_testkit::TestNode;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

async fn token(node: &TestNode, key: &SecretKey) -> String {
    Raw::new(node).login(key).await
}

fn ws_url(node: &TestNode, token: &str) -> String {
    format!("{}/v1/stream?token={token}", node.url().replacen("http", "ws", 1))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_holds_at_most_its_configured_number_of_streams() {
    let node = TestNode::start_with(|c| c.limits.streams_per_account = 1).await.unwrap();
    let key = SecretKey::generate().unwrap();
    node.client(key.clone()).unwrap().register("alice", None).await.unwrap();
    let token = token(&node, &key).await;
    let (first, _) = tokio_tungstenite::connect_async(ws_url(&node, &token)).await.unwrap();
    match tokio_tungstenite::connect_async(ws_url(&node, &token)).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => assert_eq!(resp.status().as_u16(), 429),
        other => panic!("second stream was not refused: {:?}", other.map(|_| ())),
    }
    // Closing the first gives the slot back.
    drop(first);
    let mut reopened = None;
    for _ in 0..50 {
        if let Ok((ws, _)) = tokio_tungstenite::connect_async(ws_url(&node, &token)).await {
            reopened = Some(ws);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(reopened.is_some(), "the slot came back after the first stream closed");
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_flooding_frames_is_told_to_slow_down() {
    let node = TestNode::start().await.unwrap();
    let key = SecretKey::generate().unwrap();
    let alice = node.client(key.clone()).unwrap();
    alice.register("alice", None).await.unwrap();
    let room = alice.create_room("r", JoinRule::Public).await.unwrap();
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url(&node, &token(&node, &key).await)).await.unwrap();
    let frame = json!({"type": "subscribe", "room": room.id(), "after": 0}).to_string();
    for _ in 0..100 {
        ws.send(Message::Text(frame.clone().into())).await.unwrap();
    }
    let mut limited = false;
    while let Ok(Some(Ok(msg))) = tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
        if let Message::Text(text) = msg {
            let v: Value = serde_json::from_str(&text).unwrap();
            if v["type"] == "error" && v["error"]["code"] == "rate_limited" {
                limited = true;
                break;
            }
        }
    }
    assert!(limited, "the flood was answered with rate_limited");
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn challenges_are_only_issued_to_local_accounts() {
    let node = TestNode::start().await.unwrap();
    let stranger = SecretKey::generate().unwrap();
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/auth/challenge", node.url()))
        .json(&json!({"account": stranger.account_id()}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["code"], "not_registered");
    let wrong_method = reqwest::get(format!("{}/v1/events", node.url())).await.unwrap();
    assert_eq!(wrong_method.status().as_u16(), 405);
    let v: Value = wrong_method.json().await.unwrap();
    assert_eq!(v["error"]["code"], "method_not_allowed");
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_does_not_hold_up_the_others() {
    let node = TestNode::start_with(|c| {
        c.limits.events_per_second = 100_000;
        c.limits.burst = 100_000;
        c.limits.requests_per_second_per_ip = 100_000;
        c.limits.ip_burst = 100_000;
    })
    .await
    .unwrap();
    let key = SecretKey::generate().unwrap();
    let alice = node.client(key.clone()).unwrap();
    alice.register("alice", None).await.unwrap();
    let bob = node.user("bob").await.unwrap();
    let room = alice.create_room("busy", JoinRule::Public).await.unwrap();
    bob.room(room.id()).join().await.unwrap();

    // A subscriber that never reads a frame.
    let (mut stuck, _) = tokio_tungstenite::connect_async(ws_url(&node, &token(&node, &key).await)).await.unwrap();
    stuck
        .send(Message::Text(json!({"type": "subscribe", "room": room.id(), "after": 0}).to_string().into()))
        .await
        .unwrap();

    let mut feed = bob.room(room.id()).subscribe(2);
    const N: usize = 1500;
    let text = "x".repeat(2000);
    let sender = {
        let room = room.clone();
        tokio::spawn(async move {
            for i in 0..N {
                room.send_text(&format!("{i} {text}")).await.unwrap();
            }
        })
    };
    for i in 0..N {
        let item = tokio::time::timeout(Duration::from_secs(30), feed.next())
            .await
            .expect("bob keeps receiving")
            .expect("stream open")
            .expect("verifies");
        assert!(item.text().unwrap().starts_with(&format!("{i} ")), "message {i} in order");
    }
    sender.await.unwrap();
    drop(stuck);
    node.stop().await.unwrap();
}

/// A message of `key` in `room`, signed, with a distinct timestamp.
fn message(key: &SecretKey, room: RoomId, k: u64) -> Verified<EventBody> {
    let body = EventBody {
        room: Some(room),
        author: key.account_id(),
        ts: Timestamp::from_millis(Timestamp::now().as_millis() + k),
        content: EventContent::Message {
            text: format!("sent over the stream {k}").try_into().unwrap(),
            reply_to: None,
            attachments: vec![],
        },
    };
    Verified::sign(body, key).unwrap()
}

/// The `send` frame of `event`, numbered `id`.
fn send_frame(id: u64, event: &Verified<EventBody>) -> Message {
    Message::Text(json!({"type": "send", "id": id, "event": event.raw()}).to_string().into())
}

/// Reads answers to sends (`sent` and `not_sent` frames) until `n` have
/// arrived; by send id.
async fn answers<S>(ws: &mut S, n: usize) -> HashMap<u64, Value>
where
    S: futures::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    let mut got = HashMap::new();
    while got.len() < n {
        let msg = tokio::time::timeout(Duration::from_secs(20), ws.next())
            .await
            .expect("an answer within 20 s")
            .expect("the stream is open")
            .unwrap();
        if let Message::Text(text) = msg {
            let v: Value = serde_json::from_str(&text).unwrap();
            if v["type"] == "sent" || v["type"] == "not_sent" {
                let id = v["id"].as_u64().unwrap();
                assert!(got.insert(id, v).is_none(), "send {id} answered twice");
            }
        }
    }
    got
}

/// How many messages the room's history holds (of `author` only, if given).
async fn messages_by(room: &accord_sdk::Room, author: Option<accord_proto::AccountId>) -> usize {
    let history = room.history(accord_sdk::HistoryQuery::after(0).limit(500)).await.unwrap();
    history
        .items
        .into_iter()
        .map(Result::unwrap)
        .filter(|i| matches!(i.event.content(), EventContent::Message { .. }))
        .filter(|i| author.is_none_or(|a| i.event.author() == a))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_sent_over_the_stream_are_stored_and_each_answered_with_its_receipt() {
    // More sends than the frame rate allows other frames: sends are limited
    // by the event rate, as POST /v1/events is.
    let node = TestNode::start_with(|c| {
        c.limits.events_per_second = 1000;
        c.limits.burst = 1000;
    })
    .await
    .unwrap();
    let key = SecretKey::generate().unwrap();
    let alice = node.client(key.clone()).unwrap();
    alice.register("alice", None).await.unwrap();
    let room = alice.create_room("r", JoinRule::Public).await.unwrap();
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url(&node, &token(&node, &key).await)).await.unwrap();

    // Act: 100 sends written back to back, none waiting for its answer.
    let events: Vec<_> = (0..100).map(|k| message(&key, room.id(), k)).collect();
    for (k, event) in events.iter().enumerate() {
        ws.send(send_frame(1000 + k as u64, event)).await.unwrap();
    }
    let got = answers(&mut ws, events.len()).await;

    // Assert: each answer is the receipt of its own event, stamped by the
    // node, and the room holds all of them at the cursors the receipts name.
    let mut cursors = Vec::new();
    for (k, event) in events.iter().enumerate() {
        let answer = &got[&(1000 + k as u64)];
        assert_eq!(answer["type"], "sent", "{answer}");
        let receipt = &answer["receipt"];
        let stored: UnverifiedEvent = serde_json::from_value(receipt["event"].clone()).unwrap();
        let verified = stored.verify_stamp_of(event).unwrap();
        assert_eq!(receipt["event_id"].as_str().unwrap(), verified.id().to_string());
        cursors.push(receipt["cursor"].as_u64().unwrap());
    }
    cursors.sort_unstable();
    cursors.dedup();
    assert_eq!(cursors.len(), events.len(), "every send has its own cursor");
    assert_eq!(messages_by(&room, None).await, events.len());
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_send_is_answered_with_its_code_and_stores_nothing() {
    let node = TestNode::start_with(|c| {
        c.limits.events_per_second = 1;
        c.limits.burst = 3;
    })
    .await
    .unwrap();
    let key = SecretKey::generate().unwrap();
    let alice = node.client(key.clone()).unwrap();
    alice.register("alice", None).await.unwrap();
    let room = alice.create_room("r", JoinRule::Public).await.unwrap();
    let stranger = SecretKey::generate().unwrap();
    node.client(stranger.clone()).unwrap().register("mallory", None).await.unwrap();
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url(&node, &token(&node, &stranger).await)).await.unwrap();

    // Another account's event; the session's own event in a room it is not
    // in; a signature that does not verify.
    ws.send(send_frame(1, &message(&key, room.id(), 0))).await.unwrap();
    ws.send(send_frame(2, &message(&stranger, room.id(), 1))).await.unwrap();
    // The signature of another event on this one's body.
    let mut forged = serde_json::to_value(message(&stranger, room.id(), 2).raw()).unwrap();
    forged["sig"] = serde_json::to_value(message(&stranger, room.id(), 3).raw()).unwrap()["sig"].clone();
    ws.send(Message::Text(json!({"type": "send", "id": 3, "event": forged}).to_string().into())).await.unwrap();
    let got = answers(&mut ws, 3).await;
    let code = |id: u64| {
        (got[&id]["type"].as_str().unwrap().to_owned(), got[&id]["error"]["code"].as_str().unwrap_or("").to_owned())
    };
    assert_eq!(code(1), ("not_sent".into(), "not_session_account".into()), "{}", got[&1]);
    assert_eq!(code(2), ("not_sent".into(), "not_member".into()), "{}", got[&2]);
    assert_eq!(code(3), ("not_sent".into(), "bad_signature".into()), "{}", got[&3]);

    // Past the account's event rate: rate_limited with when to retry.
    node.client(stranger.clone()).unwrap().room(room.id()).join().await.unwrap();
    for k in 0..10 {
        ws.send(send_frame(10 + k, &message(&stranger, room.id(), 10 + k))).await.unwrap();
    }
    let got = answers(&mut ws, 10).await;
    let limited: Vec<_> = got.values().filter(|v| v["error"]["code"] == "rate_limited").collect();
    assert!(!limited.is_empty(), "some of ten sends past a burst of three are refused: {got:?}");
    assert!(limited.iter().all(|v| v["error"]["retry_after_ms"].as_u64().is_some()), "{limited:?}");
    let stored = messages_by(&room, Some(stranger.account_id())).await;
    assert_eq!(stored, 10 - limited.len(), "what was refused is not stored");
    node.stop().await.unwrap();
}

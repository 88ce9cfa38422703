//! The live stream's own limits: streams per account, frames per second,
//! and logins only for local accounts.

use crate::raw::Raw;
use accord_proto::SecretKey;
use accord_proto::event::JoinRule;
use accord_testkit::TestNode;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
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

//! A flooding client is slowed down with a clear error; others are not.

use accord_proto::event::JoinRule;
use accord_testkit::TestNode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_account_is_rate_limited_while_another_still_sends() {
    let node = TestNode::start_with(|c| {
        c.limits.events_per_second = 5;
        c.limits.burst = 5;
    })
    .await
    .unwrap();
    // The SDK waits out rate limits by default; this flooder does not.
    let flooder = accord_sdk::Client::builder()
        .node_url(node.url())
        .key(accord_proto::SecretKey::generate().unwrap())
        .retry_policy(accord_sdk::RetryPolicy::never())
        .build()
        .unwrap();
    flooder.register("flooder", None).await.unwrap();
    let calm = node.user("calm").await.unwrap();
    let room = flooder.create_room("flood", JoinRule::Public).await.unwrap();
    calm.room(room.id()).join().await.unwrap();

    let mut limited = None;
    for i in 0..40 {
        if let Err(e) = room.send_text(&format!("flood {i}")).await {
            limited = Some(e);
            break;
        }
    }
    let err = limited.expect("the flood hit the limit");
    assert_eq!(err.code(), "rate_limited");
    match err {
        accord_sdk::SdkError::Api { retry_after_ms, status, .. } => {
            assert_eq!(status, 429);
            assert!(retry_after_ms.unwrap_or(0) > 0);
        }
        other => panic!("unexpected error {other:?}"),
    }
    calm.room(room.id()).send_text("I can still talk").await.unwrap();
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_may_set_a_lower_message_size_limit() {
    let node = TestNode::start_with(|c| c.limits.max_message_bytes = 100).await.unwrap();
    let alice = node.user("alice").await.unwrap();
    let room = alice.create_room("short", JoinRule::Public).await.unwrap();
    room.send_text(&"x".repeat(100)).await.unwrap();
    let err = room.send_text(&"x".repeat(101)).await.unwrap_err();
    assert_eq!(err.code(), "too_large");
    node.stop().await.unwrap();
}

//! Sending over the live stream's WebSocket with a `StreamSender`: many
//! sends at once on one connection, each receipt verified; refusals keep
//! the node's code.

use accord_sdk::{EventContent, HistoryQuery, JoinRule};
use accord_testkit::TestNode;
use futures::StreamExt as _;
use std::collections::BTreeSet;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sends_over_one_connection_each_get_their_own_verified_receipt() -> anyhow::Result<()> {
    let node = TestNode::start_with(|c| {
        c.limits.events_per_second = 10_000;
        c.limits.burst = 10_000;
    })
    .await?;
    let alice = node.user("alice").await?;
    let room = alice.create_room("fast", JoinRule::Public).await?;
    let mut live = room.subscribe(0);
    let sender = alice.stream_sender();

    let sends = (0..200).map(|i| {
        let sender = sender.clone();
        let room = room.id();
        async move { sender.send_text(room, &format!("message {i}")).await }
    });
    let receipts = futures::future::join_all(sends).await;

    let mut cursors = BTreeSet::new();
    for (i, receipt) in receipts.into_iter().enumerate() {
        let receipt = receipt?;
        match receipt.event.content() {
            EventContent::Message { text, .. } => assert_eq!(text.as_str(), format!("message {i}")),
            other => panic!("receipt {i} holds {other:?}"),
        }
        assert!(cursors.insert(receipt.cursor), "cursor {} given twice", receipt.cursor);
    }
    // The room's live timeline and its history hold every one of them.
    let mut seen = 0;
    while seen < 200 {
        let item = tokio::time::timeout(Duration::from_secs(20), live.next()).await?.expect("the stream goes on")?;
        if matches!(item.event.content(), EventContent::Message { .. }) {
            seen += 1;
        }
    }
    let page = room.history(HistoryQuery::after(0).limit(500)).await?;
    let stored: BTreeSet<u64> = page.items.into_iter().map(|i| i.map(|i| i.cursor)).collect::<Result<_, _>>()?;
    assert!(cursors.is_subset(&stored), "every receipt's cursor is in the history");
    node.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_comes_back_as_the_nodes_error_code() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let alice = node.user("alice").await?;
    let bob = node.user("bob").await?;
    let room = alice.create_room("private", JoinRule::Invite).await?;
    match bob.stream_sender().send_text(room.id(), "let me in").await {
        Err(err) => assert_eq!(err.code(), "not_member", "{err}"),
        Ok(receipt) => panic!("a non-member's message was stored at cursor {}", receipt.cursor),
    }
    node.stop().await?;
    Ok(())
}

//! The SDK over TLS against real nodes: behind a TLS-terminating proxy and
//! on the node's own TLS listener, live stream over `wss://` included, and
//! refused with a typed error when it does not trust the node's CA.

use accord_proto::SecretKey;
use accord_sdk::{BuildError, Client, HistoryQuery, JoinRule, SdkError};
use accord_testkit::TestNode;
use accord_testkit::tls::{TestCa, TlsProxy};
use futures::StreamExt as _;
use std::time::Duration;
use tokio::io::AsyncWriteExt as _;

/// Registers two accounts at `url` (trusting `ca`), sends, reads the
/// history back and receives a live event over `wss://`.
async fn chat_over(url: &str, ca: &TestCa) -> anyhow::Result<()> {
    let client = |seed: u8| {
        Client::builder()
            .node_url(url)
            .key(SecretKey::from_seed([seed; 32]))
            .add_root_certificate_pem(ca.cert_pem())
            .build()
    };
    let (alice, bob) = (client(1)?, client(2)?);
    alice.register("alice", None).await?;
    bob.register("bob", None).await?;
    let room = alice.create_room("secure", JoinRule::Public).await?;
    let hello = room.send_text("hello over tls").await?;

    let bobs_room = bob.room(room.id());
    bobs_room.join().await?;
    let page = bobs_room.history(HistoryQuery::after(0)).await?;
    let texts: Vec<_> = page.items.iter().filter_map(|i| i.as_ref().ok()?.text().map(str::to_owned)).collect();
    assert_eq!(texts, ["hello over tls"]);

    let mut live = bobs_room.subscribe(hello.cursor);
    // Bob's own join follows hello; then alice's reply arrives live.
    let reply = room.send_text("live over wss").await?;
    let mut seen = Vec::new();
    while seen.last() != Some(&reply.cursor) {
        let item = tokio::time::timeout(Duration::from_secs(10), live.next())
            .await
            .map_err(|_| anyhow::anyhow!("no live event within 10 s; saw cursors {seen:?}"))?
            .ok_or_else(|| anyhow::anyhow!("the stream ended"))??;
        seen.push(item.cursor);
    }
    assert_eq!(live.last_cursor(), reply.cursor);
    Ok(())
}

#[tokio::test]
async fn the_sdk_chats_through_a_tls_terminating_proxy() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let ca = TestCa::new()?;
    let proxy = TlsProxy::start(node.api_addr(), &ca.issue_loopback()?).await?;
    assert!(proxy.url().starts_with("https://127.0.0.1:"));
    chat_over(&proxy.url(), &ca).await?;
    node.stop().await
}

#[tokio::test]
async fn the_sdk_chats_with_a_node_serving_tls_itself() -> anyhow::Result<()> {
    let ca = TestCa::new()?;
    let node = TestNode::start_tls(&ca, |_| {}).await?;
    assert!(node.node().info().api_url.starts_with("https://"), "{}", node.node().info().api_url);
    // Connections that never finish a handshake, or send garbage, hold up
    // nobody and do not stop the listener.
    let _stalled = tokio::net::TcpStream::connect(node.api_addr()).await?;
    let mut garbage = tokio::net::TcpStream::connect(node.api_addr()).await?;
    garbage.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await?;
    let mut plain = tokio::net::TcpStream::connect(node.api_addr()).await?;
    plain.write_all(&[0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5]).await?;
    chat_over(&node.url(), &ca).await?;
    // Plain HTTP to the TLS listener is not served.
    let refused = Client::builder()
        .node_url(format!("http://{}", node.api_addr()))
        .key(SecretKey::from_seed([3; 32]))
        .request_timeout(Duration::from_secs(5))
        .build()?
        .node_info()
        .await;
    assert!(matches!(refused, Err(SdkError::Transport { .. })), "{refused:?}");
    node.stop().await
}

#[tokio::test]
async fn a_client_that_does_not_trust_the_ca_is_refused_with_a_tls_error() -> anyhow::Result<()> {
    let ca = TestCa::new()?;
    let node = TestNode::start_tls(&ca, |_| {}).await?;
    let stranger = Client::builder().node_url(node.url()).key(SecretKey::from_seed([4; 32])).build()?;
    let err = tokio::time::timeout(Duration::from_secs(10), stranger.register("eve", None))
        .await
        .map_err(|_| anyhow::anyhow!("registration hung"))?
        .unwrap_err();
    assert!(matches!(&err, SdkError::Tls { .. }), "{err:?}");
    assert_eq!(err.code(), "tls");
    assert!(!err.is_transient());
    assert!(err.to_string().contains("not trusted"), "{err}");

    // Another CA is no better; the live stream ends with the same error
    // instead of reconnecting.
    let other = TestCa::new()?;
    let stranger = Client::builder()
        .node_url(node.url())
        .key(SecretKey::from_seed([4; 32]))
        .add_root_certificate_pem(other.cert_pem())
        .build()?;
    let mut live = stranger
        .room(accord_proto::RoomId::from(accord_proto::EventId(accord_proto::Sha256Hash([7; 32]))))
        .subscribe(0);
    let first = tokio::time::timeout(Duration::from_secs(10), live.next()).await?;
    assert!(matches!(first, Some(Err(SdkError::Tls { .. }))), "{first:?}");
    assert!(tokio::time::timeout(Duration::from_secs(10), live.next()).await?.is_none(), "the stream ends");
    node.stop().await
}

#[test]
fn a_root_certificate_that_does_not_parse_is_refused_at_build() {
    let built = Client::builder()
        .node_url("https://127.0.0.1:1")
        .key(SecretKey::from_seed([5; 32]))
        .add_root_certificate_pem("no certificate here")
        .build();
    assert!(matches!(built, Err(BuildError::Certificate(_))), "{built:?}");
}

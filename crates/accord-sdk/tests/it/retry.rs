//! Retrying `rate_limited` refusals against real nodes with tight limits,
//! and a repeated submission that finds its event already stored.

use accord_proto::SecretKey;
use accord_sdk::{Client, HistoryQuery, JoinRule, RetryPolicy};
use accord_testkit::TestNode;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// A node allowing each account 10 events a second after a burst of 3.
async fn tight_node() -> anyhow::Result<TestNode> {
    TestNode::start_with(|c| {
        c.limits.events_per_second = 10;
        c.limits.burst = 3;
    })
    .await
}

#[tokio::test]
async fn a_burst_of_sends_succeeds_by_waiting_as_the_node_says() -> anyhow::Result<()> {
    let node = tight_node().await?;
    let alice = node.user("alice").await?;
    let room = alice.create_room("burst", JoinRule::Public).await?;
    for i in 0..30 {
        room.send_text(&format!("message {i}")).await?;
    }
    let page = alice.room(room.id()).history(HistoryQuery::after(0).limit(100)).await?;
    assert_eq!(page.items.len(), 31, "the create event and every message, once");
    node.stop().await
}

#[tokio::test]
async fn without_retries_the_same_burst_is_refused() -> anyhow::Result<()> {
    let node = tight_node().await?;
    let bob = Client::builder()
        .node_url(node.url())
        .key(SecretKey::generate()?)
        .retry_policy(RetryPolicy::never())
        .build()?;
    bob.register("bob", None).await?;
    let room = bob.create_room("burst", JoinRule::Public).await?;
    let mut limited = 0;
    for i in 0..30 {
        match room.send_text(&format!("message {i}")).await {
            Ok(_) => {}
            Err(err) if err.code() == "rate_limited" => {
                assert!(err.retry_after().is_some(), "{err:?}");
                limited += 1;
            }
            Err(err) => return Err(err.into()),
        }
    }
    assert!(limited > 0, "a burst of 30 at 10 a second was never refused");
    node.stop().await
}

/// Forwards every request to the node at `upstream`, but answers the first
/// `lose` event submissions the node accepts with `429 rate_limited`, as if
/// their answers had been lost.
async fn lossy_front(upstream: SocketAddr, lose: usize) -> anyhow::Result<SocketAddr> {
    let accepted = Arc::new(AtomicUsize::new(0));
    let http = reqwest::Client::new();
    let app = axum::Router::new().fallback(move |request: Request| {
        let (accepted, http) = (accepted.clone(), http.clone());
        async move { forward(&http, upstream, request, &accepted, lose).await.unwrap_or_else(|e| e) }
    });
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(addr)
}

async fn forward(
    http: &reqwest::Client,
    upstream: SocketAddr,
    request: Request,
    accepted: &AtomicUsize,
    lose: usize,
) -> Result<Response, Response> {
    let failed = |e: &dyn std::fmt::Display| (StatusCode::BAD_GATEWAY, e.to_string()).into_response();
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20).await.map_err(|e| failed(&e))?;
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut out = http.request(parts.method.clone(), format!("http://{upstream}{path}")).body(body);
    for name in [header::AUTHORIZATION, header::CONTENT_TYPE] {
        if let Some(value) = parts.headers.get(&name) {
            out = out.header(name, value);
        }
    }
    let answer = out.send().await.map_err(|e| failed(&e))?;
    let is_submission = parts.method == axum::http::Method::POST && parts.uri.path() == "/v1/events";
    if is_submission && answer.status().is_success() && accepted.fetch_add(1, Ordering::SeqCst) < lose {
        let refusal = r#"{"error": {"code": "rate_limited", "message": "lost answer", "retry_after_ms": 1}}"#;
        return Ok(
            (StatusCode::TOO_MANY_REQUESTS, [(header::CONTENT_TYPE, "application/json")], refusal).into_response()
        );
    }
    let status = StatusCode::from_u16(answer.status().as_u16()).map_err(|e| failed(&e))?;
    let bytes = answer.bytes().await.map_err(|e| failed(&e))?;
    Ok((status, [(header::CONTENT_TYPE, "application/json")], bytes).into_response())
}

#[tokio::test]
async fn a_retried_send_that_was_already_stored_returns_its_receipt() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    // The room's creation and the first message are stored, but their
    // answers are replaced by rate_limited: the retries meet duplicate_event.
    let front = lossy_front(node.api_addr(), 2).await?;
    let alice = Client::builder()
        .node_url(format!("http://{front}"))
        .key(SecretKey::generate()?)
        .request_timeout(Duration::from_secs(10))
        .build()?;
    alice.register("alice", None).await?;
    let room = alice.create_room("lossy", JoinRule::Public).await?;
    let hello = room.send_text("hello once").await?;
    assert_eq!(hello.cursor, 2);
    assert_eq!(hello.event.id(), hello.event_id);
    let again = room.send_text("and again").await?;
    assert_eq!(again.cursor, 3);

    let page = room.history(HistoryQuery::after(0)).await?;
    let texts: Vec<_> = page.items.iter().filter_map(|i| i.as_ref().ok()?.text().map(str::to_owned)).collect();
    assert_eq!(texts, ["hello once", "and again"], "each message stored once");
    node.stop().await
}

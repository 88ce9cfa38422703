//! The tampering proxy against a real node: it alters exactly the chosen
//! bytes in history pages, passes every other answer unchanged, and the
//! SDK, which verifies what it is served, sees the alteration as a
//! verification failure of that one event.

use accord_sdk::{HistoryQuery, JoinRule, SdkError};
use accord_testkit::TestNode;
use accord_testkit::tamper::{Rewrite, TamperProxy};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxy_alters_history_pages_and_nothing_else() {
    let node = TestNode::start().await.unwrap();
    let alice = node.user("alice").await.unwrap();
    let room = alice.create_room("ledger", JoinRule::Public).await.unwrap();
    room.send_text("an honest message").await.unwrap();
    let receipt = room.send_text("alice owes bob 10 coins").await.unwrap();

    let body = receipt.event.body().raw().body.clone();
    let altered = String::from_utf8(body.clone()).unwrap().replace("10 coins", "99 coins").into_bytes();
    let b64 = |bytes: &[u8]| -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(bytes)
    };
    let proxy = TamperProxy::start(node.api_addr(), Rewrite::history(b64(&body), b64(&altered))).await.unwrap();

    // Other answers pass unchanged: the node's description, and the
    // identity lookups the SDK makes.
    let direct: serde_json::Value =
        reqwest::get(format!("{}/v1/node", node.url())).await.unwrap().json().await.unwrap();
    let through: serde_json::Value =
        reqwest::get(format!("{}/v1/node", proxy.url())).await.unwrap().json().await.unwrap();
    assert_eq!(direct, through);
    assert_eq!(proxy.rewrites(), 0);

    // Bob's client, pointed at the proxy, registers, joins and reads the
    // room through it: the altered event fails verification, the others pass.
    let through = accord_sdk::Client::builder()
        .node_url(proxy.url())
        .key(accord_sdk::SecretKey::generate().unwrap())
        .build()
        .unwrap();
    through.register("bob", None).await.unwrap();
    let bobs = through.room(room.id());
    bobs.join().await.unwrap();
    let page = bobs.history(HistoryQuery::after(0).limit(50)).await.unwrap();
    assert_eq!(proxy.rewrites(), 1, "the one altered event, once");
    let failed: Vec<_> = page.items.iter().filter_map(|item| item.as_ref().err()).collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(matches!(failed[0], SdkError::Verification { .. }), "{:?}", failed[0]);
    let texts: Vec<_> = page.items.iter().filter_map(|i| i.as_ref().ok()).filter_map(|i| i.text()).collect();
    assert!(texts.contains(&"an honest message"), "{texts:?}");
    assert!(!texts.iter().any(|t| t.contains("coins")), "{texts:?}");
    node.stop().await.unwrap();
}

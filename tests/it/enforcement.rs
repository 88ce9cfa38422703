//! Blocklist entries enforced by a node other than the issuer's, for each
//! kind of target and at each entry point: registration and identity
//! lookups, a node named by an entry, a room, and content arriving over
//! federation from a node that does not subscribe (spec/blocklists.md §8,
//! spec/federation.md §4 check 3a).

use accord_proto::SecretKey;
use accord_proto::federation::{FedRequest, FedResponse};
use accord_sdk::{EventContent, HistoryQuery, JoinRule, Room, SdkError};
use accord_testkit::{TestNet, TestNode};
use serde_json::json;
use std::collections::BTreeSet;
use std::time::Duration;

/// How long enforcement may take to reach a subscriber.
const WITHIN: Duration = Duration::from_secs(10);

/// Visible message texts of a room on a client's node, and the lists that
/// hide the hidden ones.
async fn view(room: &Room) -> (BTreeSet<String>, Vec<String>) {
    let page = room.history(HistoryQuery::after(0).limit(500)).await.expect("history");
    let texts = page
        .items
        .into_iter()
        .filter_map(|i| match i.expect("verified").event.content() {
            EventContent::Message { text, .. } => Some(text.as_str().to_owned()),
            _ => None,
        })
        .collect();
    (texts, page.hidden.iter().map(|h| h.provenance.list.to_string()).collect())
}

async fn eventually<F: FnMut() -> Fut, Fut: std::future::Future<Output = bool>>(what: &str, check: F) {
    accord_testkit::observe::eventually(what, WITHIN, check).await.unwrap();
}

/// The list `name` issued by `issuer`, and its id.
async fn new_list(issuer: &TestNode, name: &str) -> String {
    let created = issuer.admin("POST", "/lists", Some(json!({"name": name}))).await.unwrap();
    created["list"].as_str().unwrap().to_owned()
}

/// Adds an entry to `issuer`'s list `name`.
async fn add(issuer: &TestNode, name: &str, kind: &str, id: &str) {
    issuer
        .admin("POST", &format!("/lists/{name}/entries"), Some(json!({"kind": kind, "id": id, "category": "spam"})))
        .await
        .unwrap();
}

/// Subscribes `node` to `list` and waits until it holds `size` entries.
async fn follow(node: &TestNode, list: &str, size: u64) {
    node.admin("POST", "/subscriptions", Some(json!({"list": list}))).await.unwrap();
    eventually("the subscriber holds the list", || async {
        let status = node.admin("GET", "/lists", None).await.unwrap();
        status["lists"].as_array().unwrap().iter().any(|l| l["list"] == list && l["size"].as_u64() == Some(size))
    })
    .await;
}

/// Whether `e` is a refusal citing `list`.
fn blocked_by(e: &SdkError, list: &str) -> bool {
    e.provenance().is_some_and(|p| p.list.to_string() == list)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_blocked_account_cannot_register_on_or_be_looked_up_through_a_subscribing_node() {
    let _machine = crate::shared().await;
    // A issues; B subscribes. X lives on A, where the list is issued, and
    // shares a room with a user of B, so B holds X's identity. Y has no
    // account yet.
    let net = TestNet::start(2).await.unwrap();
    let (a, b) = (&net.nodes[0], &net.nodes[1]);
    let x = a.user("x").await.unwrap();
    let room = x.create_room("meet", JoinRule::Public).await.unwrap();
    let bea = b.user("bea").await.unwrap();
    bea.room(room.id()).join_via(&[a.node_id()]).await.unwrap();
    let looker = || b.client(SecretKey::generate().unwrap()).unwrap();
    looker().identity(&x.account()).await.expect("B serves X's identity before the entry");
    let y_key = SecretKey::generate().unwrap();
    let list = new_list(a, "abuse").await;
    follow(b, &list, 0).await;

    // Act: the issuer blocks both accounts.
    add(a, "abuse", "account", &x.account().to_string()).await;
    add(a, "abuse", "account", &y_key.account_id().to_string()).await;
    follow(b, &list, 2).await;

    // Assert: B refuses Y's registration and X's identity, citing the list.
    let refused = b.client(y_key.clone()).unwrap().register("y", None).await.expect_err("Y may not register on B");
    assert!(blocked_by(&refused, &list), "refused by the list: {refused}");
    let refused = looker().identity(&x.account()).await.expect_err("B no longer serves X's identity");
    assert!(blocked_by(&refused, &list), "refused by the list: {refused}");
    // Anyone else still registers and is looked up there.
    let other = b.user("other").await.expect("an account not on the list registers");
    looker().identity(&other.account()).await.expect("and is looked up");
    net.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn node_and_room_entries_are_enforced_by_a_subscriber() {
    let _machine = crate::shared().await;
    // A issues; B subscribes; C is named by a node entry; B hosts a room
    // named by a room entry.
    let net = TestNet::start(3).await.unwrap();
    let (a, b, c) = (&net.nodes[0], &net.nodes[1], &net.nodes[2]);
    let bea = b.user("bea").await.unwrap();
    let doomed = bea.create_room("doomed", JoinRule::Public).await.unwrap();
    let fine = bea.create_room("fine", JoinRule::Public).await.unwrap();
    doomed.send_text("before the entry").await.unwrap();
    let list = new_list(a, "abuse").await;
    follow(b, &list, 0).await;

    add(a, "abuse", "node", &c.node_id()).await;
    add(a, "abuse", "room", &doomed.id().to_string()).await;
    follow(b, &list, 2).await;

    // The room: B refuses sends to it, citing the list; other rooms go on.
    let refused = doomed.send_text("after the entry").await.expect_err("the room is blocked on B");
    assert!(blocked_by(&refused, &list), "refused by the list: {refused}");
    fine.send_text("elsewhere").await.expect("another room is untouched");

    // The node: C's next request to B is answered `blocked`, then B cuts
    // C off and keeps it off.
    let c_on_b = accord_node::network::peer_id(&c.node().node_id());
    let answer = c
        .node()
        .network()
        .request(accord_node::network::peer_id(&b.node().node_id()), FedRequest::Identities { accounts: vec![] })
        .await
        .expect("B answers C, with the reason");
    assert!(matches!(&answer, FedResponse::Error { code, .. } if code == "blocked"), "{answer:?}");
    eventually("B cuts C off", || async { !b.node().network().is_connected(&c_on_b) }).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(!b.node().network().is_connected(&c_on_b), "C stays cut off from B");
    // A, the issuer, does not subscribe to its own list's consequences for
    // B: B and A still federate.
    assert!(b.is_connected_to(a), "B keeps its other peers");
    net.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn content_blocked_on_a_subscriber_is_refused_at_its_federation_ingress_and_hidden_retroactively() {
    let _machine = crate::shared().await;
    // A issues; B subscribes; C does not. A room of C's user, joined by a
    // user of B.
    let net = TestNet::start(3).await.unwrap();
    let (a, b, c) = (&net.nodes[0], &net.nodes[1], &net.nodes[2]);
    let carl = c.user("carl").await.unwrap();
    let room = carl.create_room("mixed", JoinRule::Public).await.unwrap();
    let bea = b.user("bea").await.unwrap();
    let on_b = bea.room(room.id());
    on_b.join_via(&[c.node_id()]).await.unwrap();
    let spam = "the blocked words";
    room.send_text(spam).await.unwrap();
    eventually("the message reaches B", || async { view(&on_b).await.0.contains(spam) }).await;
    let list = new_list(a, "spam").await;
    follow(b, &list, 0).await;

    // Act: the issuer lists the text's hash.
    let hash = accord_proto::Sha256Hash::digest(spam.as_bytes()).to_string();
    add(a, "spam", "content", &hash).await;
    follow(b, &list, 1).await;

    // Assert: the copy B stored before is hidden there, citing the list,
    // and still shown on C, which does not subscribe.
    eventually("B hides its earlier copy", || async {
        let (texts, hidden) = view(&on_b).await;
        !texts.contains(spam) && hidden.contains(&list)
    })
    .await;
    assert!(view(&room).await.0.contains(spam), "C does not enforce the list");
    // C accepts the same text again and pushes it; B refuses it at its
    // door, while what C sends next arrives.
    room.send_text(spam).await.expect("C, not subscribing, accepts the text");
    room.send_text("after the blocked words").await.unwrap();
    eventually("the next message reaches B", || async { view(&on_b).await.0.contains("after the blocked words") })
        .await;
    let (texts, hidden) = view(&on_b).await;
    assert!(!texts.contains(spam), "B never shows the text");
    assert!(hidden.iter().all(|l| *l == list), "whatever B hides, it hides by the list: {hidden:?}");
    // B did not store the new copy: it holds one event fewer than C.
    let (held_on_c, held_on_b) = (room.state().await.unwrap().accepted, on_b.state().await.unwrap().accepted);
    assert_eq!(held_on_b, held_on_c - 1, "the copy pushed after the entry was refused at B's door");
    net.stop().await.unwrap();
}

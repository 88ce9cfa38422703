//! Image entries across real nodes: an issuer lists the PDQ hash of an
//! image; subscribers fetch the entry and match altered copies of the
//! image within their own distance threshold, with provenance; the index
//! is rebuilt from the store after a restart; a `remove` stops the match;
//! a new entry hides the messages already carrying a matching image and
//! purges its bytes, and a peer's later copy is refused at ingress
//! (spec/blocklists.md §2.1, §11; spec/federation.md §10.4).

use crate::federation::room_across;
use crate::media::{PATIENCE, fetch_when_held};
use accord_api::admin::{ListsResponse, PdqMatchResponse};
use accord_pdq::{PdqHash, hash_bytes};
use accord_proto::{EventId, Sha256Hash};
use accord_sdk::{Client, HistoryQuery, JoinRule, Provenance, Room};
use accord_testkit::images::{cropped, jpeg, resized, synthetic};
use accord_testkit::{TestNet, TestNode};
use serde_json::json;
use std::path::Path;
use std::time::Duration;

const WITHIN: Duration = Duration::from_secs(10);

/// Adds the PDQ hash of a known abuse image to `issuer`'s list `images`.
pub(crate) async fn list_abuse_image(issuer: &TestNode, hash: &PdqHash) -> serde_json::Value {
    issuer
        .admin(
            "POST",
            "/lists/images/entries",
            Some(json!({"kind": "pdq", "id": hash.to_string(), "category": "child_sexual_abuse",
                "reason": "known abuse image"})),
        )
        .await
        .expect("the issuer lists the image")
}

async fn matches(node: &TestNode, hash: &PdqHash) -> PdqMatchResponse {
    let v = node.admin("POST", "/pdq/match", Some(json!({"hash": hash.to_string()}))).await.expect("match");
    serde_json::from_value(v).expect("a PdqMatchResponse")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_listed_image_matches_its_reencoded_resized_cropped_copy_on_subscribers_within_their_threshold() {
    let _machine = crate::shared().await;
    // Arrange: an image, and a copy re-encoded at JPEG quality 40, scaled
    // to 70 % and cropped by 3 %.
    let original = synthetic(0x1a6e, 800, 600);
    let listed = hash_bytes(&jpeg(&original, 95)).unwrap();
    let copy = hash_bytes(&jpeg(&cropped(&resized(&original, 0.7), 0.03), 40)).unwrap();
    let unrelated = hash_bytes(&jpeg(&synthetic(0xbeef, 800, 600), 95)).unwrap();
    let apart = listed.hash.distance(&copy.hash);
    assert!((1..=31).contains(&apart), "the altered copy is {apart} bits from the original");

    let mut net = TestNet::start(3).await.unwrap();
    let (a, b, c) = (&net.nodes[0], &net.nodes[1], &net.nodes[2]);
    let created = a.admin("POST", "/lists", Some(json!({"name": "images"}))).await.unwrap();
    let list = created["list"].as_str().unwrap().to_owned();
    // B keeps the default threshold (31); C matches only exact hashes.
    b.admin("POST", "/subscriptions", Some(json!({"list": list}))).await.unwrap();
    let subscribed = c.admin("POST", "/subscriptions", Some(json!({"list": list, "pdq_threshold": 0}))).await.unwrap();
    assert_eq!(subscribed["pdq_threshold"], 0);
    let refused = c.admin("POST", "/subscriptions", Some(json!({"list": list, "pdq_threshold": 64}))).await;
    assert!(refused.is_err(), "a threshold above 63 is refused");

    // Act: the issuer lists the image's hash.
    let added = list_abuse_image(a, &listed.hash).await;
    assert_eq!(added["first"], 0);
    let hashed = a
        .admin(
            "POST",
            "/lists/images/entries",
            Some(json!({"kind": "pdq", "id": listed.hash.to_string(), "hashed": true, "category": "other"})),
        )
        .await;
    assert!(hashed.is_err(), "a pdq target has no hashed form");

    // Assert: B matches the altered copy, with provenance and distance.
    let started = std::time::Instant::now();
    let found = loop {
        let found = matches(b, &copy.hash).await;
        if !found.matches.is_empty() || started.elapsed() > WITHIN {
            break found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(found.matches.len(), 1, "B: {found:?}");
    let m = &found.matches[0];
    assert_eq!((m.distance, m.provenance.list.to_string(), m.provenance.entry), (apart, list.clone(), 0));
    assert_eq!(m.provenance.reason.as_deref(), Some("known abuse image"));
    assert!(matches(b, &unrelated.hash).await.matches.is_empty(), "an unrelated image matches nothing");
    assert!(matches(a, &copy.hash).await.matches.len() == 1, "the issuer enforces its own list");

    // C holds the entry too, but its threshold 0 matches only the hash itself.
    let started = std::time::Instant::now();
    while matches(c, &listed.hash).await.matches.is_empty() && started.elapsed() < WITHIN {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(matches(c, &listed.hash).await.matches.len(), 1, "C: the listed hash itself");
    assert!(matches(c, &copy.hash).await.matches.is_empty(), "C: the copy is beyond threshold 0");
    let status: ListsResponse = serde_json::from_value(c.admin("GET", "/lists", None).await.unwrap()).unwrap();
    let held = status.lists.iter().find(|l| l.list.to_string() == list).unwrap();
    assert_eq!((held.size, held.pdq_threshold), (1, 0));

    // The index is rebuilt from the store at start.
    net.nodes[1].restart().await.unwrap();
    assert_eq!(matches(&net.nodes[1], &copy.hash).await.matches.len(), 1, "B after a restart");

    // A `remove` stops the match.
    net.nodes[0].admin("POST", "/lists/images/remove", Some(json!({"entry": 0}))).await.unwrap();
    let started = std::time::Instant::now();
    while !matches(&net.nodes[1], &copy.hash).await.matches.is_empty() && started.elapsed() < WITHIN {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(matches(&net.nodes[1], &copy.hash).await.matches.is_empty(), "B after the remove");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_altered_copy_of_a_listed_image_is_refused_at_upload_on_a_subscribing_node() {
    let _machine = crate::shared().await;
    // Arrange: A lists an image's PDQ hash; B follows A's list.
    let original = synthetic(0x51de, 800, 600);
    let listed = hash_bytes(&jpeg(&original, 95)).unwrap();
    let copy = jpeg(&cropped(&resized(&original, 0.8), 0.02), 50);
    let net = TestNet::start(2).await.unwrap();
    let (a, b) = (&net.nodes[0], &net.nodes[1]);
    let created = a.admin("POST", "/lists", Some(json!({"name": "images"}))).await.unwrap();
    let list = created["list"].as_str().unwrap().to_owned();
    b.admin("POST", "/subscriptions", Some(json!({"list": list}))).await.unwrap();
    list_abuse_image(a, &listed.hash).await;
    let started = std::time::Instant::now();
    while matches(b, &listed.hash).await.matches.is_empty() {
        assert!(started.elapsed() < WITHIN, "B never applied the pdq entry");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Act: a member of B uploads the altered copy, and an unrelated image.
    let member = b.user("uploader").await.unwrap();
    let refused = member.upload_media(copy).await.expect_err("the altered copy is refused");
    let unrelated = member.upload_media(jpeg(&synthetic(0x0ddba11, 800, 600), 90)).await;

    // Assert: refused with the entry's provenance; the unrelated one passes.
    let provenance = refused.provenance().expect("a blocklist refusal names its entry");
    assert_eq!((provenance.list.to_string(), provenance.entry), (list, 0));
    assert_eq!(provenance.category.as_str(), "child_sexual_abuse");
    assert!(unrelated.is_ok(), "an unrelated image is stored: {unrelated:?}");
    net.stop().await.unwrap();
}

/// Whether any file under `dir` holds `needle`.
fn on_disk(dir: &Path, needle: &[u8]) -> bool {
    std::fs::read_dir(dir).expect("a data directory").any(|entry| {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            return on_disk(&path, needle);
        }
        std::fs::read(&path).is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
    })
}

/// A slice from the middle of a blob: found on disk only where its bytes are.
fn needle(bytes: &[u8]) -> Vec<u8> {
    bytes[bytes.len() / 2..bytes.len() / 2 + 64].to_vec()
}

/// Whether `room` shows event `id` (held, and not hidden).
async fn shows(room: &Room, id: EventId) -> bool {
    let page = room.history(HistoryQuery::after(0).limit(200)).await.expect("history");
    page.items.iter().any(|i| i.as_ref().expect("verified").event.id() == id)
}

/// Waits until `room` hides event `id`, the only item it may hide, and
/// returns the provenance.
async fn hidden(room: &Room, id: EventId, what: &str) -> Provenance {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let page = room.history(HistoryQuery::after(0).limit(200)).await.expect("history");
        let shown = page.items.iter().any(|i| i.as_ref().expect("verified").event.id() == id);
        match page.hidden.first() {
            Some(h) if !shown && page.hidden.len() == 1 => return h.provenance.clone(),
            _ if tokio::time::Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(100)).await,
            _ => panic!("{what}: the message is not hidden (shown: {shown}, hidden: {:?})", page.hidden),
        }
    }
}

/// Waits until `client`'s node no longer serves `hash`.
async fn not_served(client: &Client, hash: &Sha256Hash) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        match client.fetch_media(hash).await {
            Err(e) if e.code() == "unknown_media" => return,
            _ if tokio::time::Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(100)).await,
            other => panic!("{} still serves {hash}: {:?}", client.node_url(), other.map(|b| b.len())),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_new_pdq_entry_hides_earlier_messages_with_the_image_and_purges_its_bytes_on_every_subscribing_node() {
    let _machine = crate::shared().await;
    // Arrange: four nodes share a room. A issues a list that B and C
    // follow; D follows nothing. A member of D sends a photo, and every
    // node fetches it and keeps its bytes.
    let net = TestNet::start(4).await.unwrap();
    let (clients, rooms) = room_across(&net).await;
    let (a, b, c) = (&net.nodes[0], &net.nodes[1], &net.nodes[2]);
    let created = a.admin("POST", "/lists", Some(json!({"name": "images"}))).await.unwrap();
    let list = created["list"].as_str().unwrap().to_owned();
    for node in [b, c] {
        node.admin("POST", "/subscriptions", Some(json!({"list": list}))).await.unwrap();
    }
    let original = synthetic(0x7e57, 800, 600);
    let uploaded = clients[3].upload_media(jpeg(&original, 90)).await.unwrap();
    let sent = rooms[3].send_with_attachments("look at this", vec![uploaded.attachment()]).await.unwrap();
    let bytes = clients[3].fetch_media(&uploaded.hash).await.unwrap();
    for (i, client) in clients.iter().enumerate() {
        assert_eq!(fetch_when_held(client, &uploaded.hash).await, bytes);
        assert!(on_disk(&net.nodes[i].data_dir(), &needle(&bytes)), "node {i} holds the bytes on disk");
    }

    // Act: A lists the PDQ hash of an altered copy (scaled to 75 %,
    // cropped by 3 %, re-encoded at JPEG quality 60).
    let listed = hash_bytes(&jpeg(&cropped(&resized(&original, 0.75), 0.03), 60)).unwrap();
    list_abuse_image(a, &listed.hash).await;

    // Assert: on A, B and C the earlier message is hidden with the entry's
    // provenance, and its image is served no more and is in no file.
    for i in 0..3 {
        let provenance = hidden(&rooms[i], sent.event_id, &format!("node {i}")).await;
        assert_eq!((provenance.list.to_string(), provenance.entry), (list.clone(), 0), "node {i}");
        assert_eq!(provenance.reason.as_deref(), Some("known abuse image"));
        not_served(&clients[i], &uploaded.hash).await;
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while on_disk(&net.nodes[i].data_dir(), &needle(&bytes)) {
            assert!(tokio::time::Instant::now() < deadline, "node {i} still holds the bytes on disk");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    // D enforces nothing: it still serves the message and the image.
    assert!(shows(&rooms[3], sent.event_id).await, "D shows the message");
    assert_eq!(clients[3].fetch_media(&uploaded.hash).await.unwrap(), bytes, "D serves the image");

    // Act: the member of D sends another altered copy (scaled to 90 %).
    let again = clients[3].upload_media(jpeg(&resized(&original, 0.9), 80)).await.unwrap();
    assert_ne!(again.hash, uploaded.hash);
    let resent = rooms[3].send_with_attachments("and again", vec![again.attachment()]).await.unwrap();
    let again_bytes = clients[3].fetch_media(&again.hash).await.unwrap();

    let after = rooms[3].send_text("said after it").await.unwrap();

    // Assert: B and C refuse it at ingress: the message that follows it
    // arrives, it never does, and its bytes are never stored; D delivers it.
    for i in 1..3 {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while !shows(&rooms[i], after.event_id).await {
            assert!(tokio::time::Instant::now() < deadline, "node {i} never delivered the message after the copy");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let page = rooms[i].history(HistoryQuery::after(0).limit(200)).await.unwrap();
        let ids: Vec<EventId> = page.items.iter().map(|it| it.as_ref().expect("verified").event.id()).collect();
        assert!(!ids.contains(&resent.event_id), "node {i} never stores the second copy");
        assert_eq!(page.hidden.len(), 1, "node {i}: only the first message is hidden, the second was never stored");
        let refused = clients[i].fetch_media(&again.hash).await.expect_err("never stored");
        assert_eq!(refused.code(), "unknown_media");
        assert!(!on_disk(&net.nodes[i].data_dir(), &needle(&again_bytes)), "node {i} never wrote the bytes");
    }
    assert!(shows(&rooms[3], resent.event_id).await, "D shows the second message");
    net.stop().await.unwrap();
}

/// The value of the node's `accord_media_purged` counter, as `/metrics`
/// shows it to an operator.
async fn media_purged(node: &TestNode) -> u64 {
    let body = reqwest::get(format!("{}/metrics", node.url())).await.expect("metrics").text().await.expect("text");
    let line = body.lines().find(|l| l.starts_with("accord_media_purged_total ")).expect("the counter is exported");
    line.rsplit(' ').next().and_then(|v| v.parse().ok()).expect("a count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_listed_after_it_was_stored_is_refused_at_send_with_provenance_and_its_bytes_are_purged() {
    let _machine = crate::shared().await;
    // Arrange: a member uploads a photo while no entry matches it.
    let node = TestNode::start().await.unwrap();
    let member = node.user("member").await.unwrap();
    let room = member.create_room("photos", JoinRule::Public).await.unwrap();
    let original = synthetic(0x5e2d, 800, 600);
    let uploaded = member.upload_media(jpeg(&original, 90)).await.unwrap();
    let bytes = member.fetch_media(&uploaded.hash).await.unwrap();
    assert!(on_disk(&node.data_dir(), &needle(&bytes)), "the upload is on disk");
    assert_eq!(media_purged(&node).await, 0);

    // Act: the node's own list gains the PDQ hash of an altered copy
    // (scaled to 80 %, re-encoded at quality 60); then the member sends it.
    let listed = hash_bytes(&jpeg(&resized(&original, 0.8), 60)).unwrap();
    let created = node.admin("POST", "/lists", Some(json!({"name": "images"}))).await.unwrap();
    let list = created["list"].as_str().unwrap().to_owned();
    list_abuse_image(&node, &listed.hash).await;
    let refused = room.send_with_attachments("look", vec![uploaded.attachment()]).await.expect_err("refused at send");

    // Assert: refused `blocked` with the entry's provenance; the sweep
    // purges the upload's bytes (served no more, in no file) and counts it.
    assert_eq!(refused.code(), "blocked", "{refused}");
    let provenance = refused.provenance().expect("a blocked send names its entry");
    assert_eq!((provenance.list.to_string(), provenance.entry), (list.clone(), 0));
    assert_eq!(provenance.reason.as_deref(), Some("known abuse image"));
    not_served(&member, &uploaded.hash).await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while on_disk(&node.data_dir(), &needle(&bytes)) {
        assert!(tokio::time::Instant::now() < deadline, "the purged bytes are still on disk");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(media_purged(&node).await, 1, "the operator sees one image purged");

    // Once purged, a send is still refused `blocked` with the provenance.
    let again = room.send_with_attachments("again", vec![uploaded.attachment()]).await.expect_err("refused");
    assert_eq!(again.code(), "blocked", "{again}");
    assert_eq!(again.provenance().map(|p| (p.list.to_string(), p.entry)), Some((list, 0)));
    let page = room.history(HistoryQuery::after(0).limit(100)).await.unwrap();
    assert!(
        page.items.iter().flatten().all(|i| !matches!(i.event.content(), accord_sdk::EventContent::Message { .. })),
        "no message was stamped"
    );
    node.stop().await.unwrap();
}

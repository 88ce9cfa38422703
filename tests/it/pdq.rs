//! Image entries across real nodes: an issuer lists the PDQ hash of an
//! image; subscribers fetch the entry and match altered copies of the
//! image within their own distance threshold, with provenance; the index
//! is rebuilt from the store after a restart; a `remove` stops the match
//! (spec/blocklists.md §2.1, §11).

use accord_api::admin::{ListsResponse, PdqMatchResponse};
use accord_pdq::{PdqHash, hash_bytes};
use accord_testkit::images::{cropped, jpeg, resized, synthetic};
use accord_testkit::{TestNet, TestNode};
use serde_json::json;
use std::time::Duration;

const WITHIN: Duration = Duration::from_secs(10);

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
    let added = a
        .admin(
            "POST",
            "/lists/images/entries",
            Some(json!({"kind": "pdq", "id": listed.hash.to_string(), "category": "child_sexual_abuse",
                "reason": "known abuse image"})),
        )
        .await
        .unwrap();
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
    a.admin(
        "POST",
        "/lists/images/entries",
        Some(json!({"kind": "pdq", "id": listed.hash.to_string(), "category": "child_sexual_abuse",
            "reason": "known abuse image"})),
    )
    .await
    .unwrap();
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

//! `accord-node list add LIST --pdq HEX` and `--image FILE`, run as the
//! real binary against a running node through its admin listener: the
//! entry is added to the node's own list, and then matches (in
//! `/admin/pdq/match` and at upload); `--image` hashes the file on the
//! operator's machine and sends only the hash (spec/blocklists.md §2.1).

use accord_testkit::TestNode;
use accord_testkit::images::{cropped, jpeg, png, resized, synthetic};
use serde_json::{Value, json};

async fn accord_node(args: &[&str]) -> std::process::Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_accord-node")).args(args).output().await.unwrap()
}

/// The entries of `/admin/pdq/match` for `hash`: (list, entry, distance).
async fn matches(node: &TestNode, hash: &accord_pdq::PdqHash) -> Vec<(String, u64, u64)> {
    let v = node.admin("POST", "/pdq/match", Some(json!({"hash": hash.to_string()}))).await.expect("match");
    v["matches"]
        .as_array()
        .expect("a list of matches")
        .iter()
        .map(|m| {
            let p = &m["provenance"];
            (p["list"].as_str().unwrap().to_owned(), p["entry"].as_u64().unwrap(), m["distance"].as_u64().unwrap())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_add_with_pdq_or_image_adds_an_entry_the_running_node_then_matches_and_enforces() {
    let node = TestNode::start().await.unwrap();
    let dir = node.data_dir();
    let d = dir.to_str().unwrap();
    let files = tempfile::tempdir().unwrap();
    let created = accord_node(&["list", "create", "images", "--data-dir", d, "--json"]).await;
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let list = serde_json::from_slice::<Value>(&created.stdout).unwrap()["list"].as_str().unwrap().to_owned();

    // Act 1: `--pdq HEX`, the hash of one image.
    let first = synthetic(0xc11a, 800, 600);
    let first_hash = accord_pdq::hash_bytes(&jpeg(&first, 95)).unwrap().hash;
    let hex = first_hash.to_string();
    let added = accord_node(&[
        "list",
        "add",
        "images",
        "--pdq",
        &hex,
        "--category",
        "child_sexual_abuse",
        "--reason",
        "known image",
        "--data-dir",
        d,
        "--json",
    ])
    .await;
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    assert_eq!(serde_json::from_slice::<Value>(&added.stdout).unwrap()["first"], 0);

    // Act 2: `--image FILE`, another image, hashed by the command.
    let second = synthetic(0x2b0a, 800, 600);
    let path = files.path().join("known.png");
    std::fs::write(&path, png(&second)).unwrap();
    let second_hash = accord_pdq::hash_bytes(&png(&second)).unwrap().hash;
    let added = accord_node(&[
        "list",
        "add",
        "images",
        "--image",
        path.to_str().unwrap(),
        "--category",
        "child_sexual_abuse",
        "--data-dir",
        d,
        "--json",
    ])
    .await;
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    assert_eq!(serde_json::from_slice::<Value>(&added.stdout).unwrap()["first"], 1);

    // A featureless image has no hash worth acting on: refused, nothing added.
    let flat = files.path().join("flat.png");
    std::fs::write(&flat, png(&accord_pdq::image::RgbImage::from_pixel(400, 300, [128, 128, 128].into()))).unwrap();
    let weak = accord_node(&[
        "list",
        "add",
        "images",
        "--image",
        flat.to_str().unwrap(),
        "--category",
        "other",
        "--data-dir",
        d,
    ])
    .await;
    assert!(!weak.status.success(), "a featureless image is refused");
    assert!(String::from_utf8_lossy(&weak.stderr).contains("too weak"), "{}", String::from_utf8_lossy(&weak.stderr));

    // Assert: the node holds exactly the two entries, the second naming the
    // image's hash (only the hash travelled).
    let shown = accord_node(&["list", "show", "images", "--data-dir", d, "--json"]).await;
    assert!(shown.status.success(), "{}", String::from_utf8_lossy(&shown.stderr));
    let shown: Value = serde_json::from_slice(&shown.stdout).unwrap();
    let entries = shown["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 2, "{shown}");
    let targets: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| (e["entry"]["target"]["type"].as_str().unwrap(), e["entry"]["target"]["hash"].as_str().unwrap()))
        .collect();
    assert_eq!(targets, vec![("pdq", hex.as_str()), ("pdq", second_hash.to_string().as_str())]);

    // The entries match altered copies of both images, with provenance.
    let first_copy = accord_pdq::hash_bytes(&jpeg(&cropped(&resized(&first, 0.85), 0.02), 70)).unwrap().hash;
    let second_copy = accord_pdq::hash_bytes(&jpeg(&resized(&second, 0.8), 70)).unwrap().hash;
    for (listed, copy) in [(first_hash, first_copy), (second_hash, second_copy)] {
        let apart = listed.distance(&copy);
        assert!((1..=31).contains(&apart), "the altered copy is {apart} bits from the listed image");
    }
    let found = matches(&node, &first_copy).await;
    assert_eq!(found.iter().map(|m| (m.0.as_str(), m.1)).collect::<Vec<_>>(), vec![(list.as_str(), 0)], "{found:?}");
    assert!(found[0].2 <= 31);
    let found = matches(&node, &second_copy).await;
    assert_eq!(found.iter().map(|m| (m.0.as_str(), m.1)).collect::<Vec<_>>(), vec![(list.as_str(), 1)], "{found:?}");
    let unrelated = accord_pdq::hash_bytes(&jpeg(&synthetic(0x0123, 800, 600), 90)).unwrap().hash;
    assert!(matches(&node, &unrelated).await.is_empty(), "an unrelated image matches nothing");

    // And a member's upload of the second image's copy is refused there.
    let member = node.user("member").await.unwrap();
    let refused = member.upload_media(jpeg(&resized(&second, 0.8), 70)).await.expect_err("refused at upload");
    assert_eq!(refused.code(), "blocked");
    let provenance = refused.provenance().expect("provenance");
    assert_eq!((provenance.list.to_string(), provenance.entry), (list, 1));
    node.stop().await.unwrap();
}

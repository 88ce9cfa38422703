//! Shared blocklists across real nodes: an issuer publishes, subscribers
//! verify and enforce within seconds, retroactively, with provenance;
//! removals and local exceptions bring content back (spec/blocklists.md).

use accord_sdk::{Client, EventContent, HistoryQuery, JoinRule, Room, SdkError};
use accord_testkit::{TestNet, TestNode};
use serde_json::json;
use std::collections::BTreeSet;
use std::time::Duration;

/// How long enforcement may take to reach every node.
const WITHIN: Duration = Duration::from_secs(5);

/// Visible message texts and hidden cursors of a room on a client's node
/// (nothing while the client itself is refused).
async fn view(room: &Room) -> (BTreeSet<String>, Vec<(u64, String)>) {
    let Ok(page) = room.history(HistoryQuery::after(0).limit(500)).await else { return Default::default() };
    let texts = page
        .items
        .into_iter()
        .filter_map(|i| match i.expect("verified").event.content() {
            EventContent::Message { text, .. } => Some(text.as_str().to_owned()),
            _ => None,
        })
        .collect();
    let hidden = page.hidden.iter().map(|h| (h.cursor, h.provenance.list.to_string())).collect();
    (texts, hidden)
}

/// Waits until `check` holds (polling), or fails with `what`.
async fn eventually<F: FnMut() -> Fut, Fut: std::future::Future<Output = bool>>(what: &str, check: F) {
    accord_testkit::observe::eventually(what, WITHIN, check).await.unwrap();
}

fn is_blocked(e: &SdkError) -> bool {
    e.provenance().is_some()
}

async fn subscribe(node: &TestNode, list: &str) {
    node.admin("POST", "/subscriptions", Some(json!({"list": list}))).await.expect("subscribe");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_account_blocked_by_an_issuer_is_refused_and_hidden_everywhere_until_the_entry_is_removed() {
    let _machine = crate::shared().await;
    // Arrange: A issues a list; X lives on B; a room spans A, B and C.
    let mut net = TestNet::start(3).await.unwrap();
    let (a, b, c) = (&net.nodes[0], &net.nodes[1], &net.nodes[2]);
    let alice = a.user("alice").await.unwrap();
    let x_key = accord_proto::SecretKey::generate().unwrap();
    let x: Client = b.client(x_key.clone()).unwrap();
    x.register("x", None).await.unwrap();
    let carol = c.user("carol").await.unwrap();
    let bystander = b.user("bystander").await.unwrap();
    let room = alice.create_room("town square", JoinRule::Public).await.unwrap();
    let via = [a.node_id()];
    x.room(room.id()).join_via(&via).await.unwrap();
    carol.room(room.id()).join_via(&via).await.unwrap();
    bystander.room(room.id()).join_via(&via).await.unwrap();
    // One reader per node: A, B, C.
    let rooms = [room.clone(), bystander.room(room.id()), carol.room(room.id())];
    x.room(room.id()).send_text("x before the block").await.unwrap();
    for r in &rooms {
        eventually("x's message everywhere", || async { view(r).await.0.contains("x before the block") }).await;
    }
    assert!(!view(&x.room(room.id())).await.0.is_empty());

    let mut x_live = x.room(room.id()).subscribe(0);
    let created = a.admin("POST", "/lists", Some(json!({"name": "abuse"}))).await.unwrap();
    let list = created["list"].as_str().unwrap().to_owned();
    subscribe(c, &list).await;

    // Act: the issuer blocks X.
    let added = a
        .admin(
            "POST",
            "/lists/abuse/entries",
            Some(json!({"kind": "account", "id": x.account().to_string(), "category": "harassment", "reason": "threats"})),
        )
        .await
        .unwrap();
    let entry = added["first"].as_u64().unwrap();

    // B does not enforce yet: X can still send there, but A and C refuse
    // what B pushes, and hide what they held, with provenance.
    x.room(room.id()).send_text("x after the block").await.unwrap();
    for r in [&rooms[0], &rooms[2]] {
        eventually("x's earlier message hidden on A and C", || async {
            let (texts, hidden) = view(r).await;
            !texts.contains("x before the block") && hidden.iter().any(|(_, l)| *l == list)
        })
        .await;
        assert!(!view(r).await.0.contains("x after the block"), "A and C refused x's new message");
    }
    // What follows a refused event in the room still flows.
    rooms[1].send_text("bystander after x").await.unwrap();
    for r in [&rooms[0], &rooms[2]] {
        eventually("later messages are not stalled", || async { view(r).await.0.contains("bystander after x") }).await;
        assert!(!view(r).await.0.contains("x after the block"));
    }

    // B subscribes: within seconds X can neither send nor log in there.
    subscribe(b, &list).await;
    eventually("x refused on its home node", || async {
        matches!(x.room(room.id()).send_text("x again").await, Err(e) if is_blocked(&e))
    })
    .await;
    // X's open live stream ends with the reason at the next event.
    alice.room(room.id()).send_text("while x is blocked").await.unwrap();
    let ended = tokio::time::timeout(WITHIN, async {
        use futures::StreamExt;
        loop {
            match x_live.next().await {
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Some(e),
                None => return None,
            }
        }
    })
    .await
    .expect("x's stream ends");
    assert!(ended.is_some_and(|e| is_blocked(&e)), "with the blocklist's provenance");
    let relog = b.client(x_key.clone()).unwrap();
    let err = relog.login().await.expect_err("a blocked account cannot log in");
    let p = err.provenance().expect("with provenance");
    assert_eq!(p.list.to_string(), list);
    assert_eq!(p.entry, entry);
    assert_eq!(p.reason.as_deref(), Some("threats"));
    eventually("hidden on B too", || async {
        let (texts, hidden) = view(&rooms[1]).await;
        !texts.contains("x before the block") && !hidden.is_empty()
    })
    .await;

    // A local exception on C restores X's messages on C only.
    c.admin("POST", "/exceptions", Some(json!({"list": list, "entry": entry, "reason": "we know x"}))).await.unwrap();
    assert!(view(&rooms[2]).await.0.contains("x before the block"), "restored on C");
    assert!(!view(&rooms[0]).await.0.contains("x before the block"), "still hidden on A");

    // Restarts keep lists, subscriptions, exceptions, the index and so what
    // is hidden.
    net.nodes[1].restart().await.unwrap();
    net.nodes[2].restart().await.unwrap();
    net.wait_connected(Duration::from_secs(30)).await.unwrap();
    let (a, b) = (&net.nodes[0], &net.nodes[1]);
    let (texts, hidden) = view(&rooms[1]).await;
    assert!(!texts.contains("x before the block") && !hidden.is_empty(), "still hidden on B after restart");
    assert!(view(&rooms[2]).await.0.contains("x before the block"), "the exception on C survives restart");
    assert!(matches!(b.client(x_key.clone()).unwrap().login().await, Err(e) if is_blocked(&e)));

    // Removing the entry restores them everywhere.
    a.admin("POST", "/lists/abuse/remove", Some(json!({"entry": entry, "reason": "appeal granted"}))).await.unwrap();
    for (i, r) in rooms.iter().enumerate() {
        eventually(&format!("restored after removal on node {i}"), || async {
            view(r).await.0.contains("x before the block")
        })
        .await;
    }
    x.room(room.id()).send_text("x is back").await.unwrap();
    net.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_content_hash_entry_stops_that_message_everywhere_and_lists_survive_restart() {
    let _machine = crate::shared().await;
    let mut net = TestNet::start(3).await.unwrap();
    let alice = net.nodes[0].user("alice").await.unwrap();
    let bob = net.nodes[1].user("bob").await.unwrap();
    let room = alice.create_room("market", JoinRule::Public).await.unwrap();
    bob.room(room.id()).join_via(&[net.nodes[0].node_id()]).await.unwrap();
    let spam = "buy pills at example dot com";
    let hash = accord_proto::Sha256Hash::digest(spam.as_bytes()).to_string();

    let list = net.nodes[0].admin("POST", "/lists", Some(json!({"name": "spam"}))).await.unwrap()["list"]
        .as_str()
        .unwrap()
        .to_owned();
    for node in &net.nodes[1..] {
        subscribe(node, &list).await;
    }
    net.nodes[0]
        .admin("POST", "/lists/spam/entries", Some(json!({"kind": "content", "id": hash, "category": "spam"})))
        .await
        .unwrap();

    for client in [&alice, &bob] {
        eventually("the content is refused", || async {
            matches!(client.room(room.id()).send_text(spam).await, Err(e) if is_blocked(&e))
        })
        .await;
    }
    bob.room(room.id()).send_text("something else").await.unwrap();

    // Restart keeps the subscription and the index.
    net.nodes[1].restart().await.unwrap();
    net.wait_connected(Duration::from_secs(30)).await.unwrap();
    let status = net.nodes[1].admin("GET", "/lists", None).await.unwrap();
    assert_eq!(status["lists"][0]["list"].as_str(), Some(list.as_str()));
    assert_eq!(status["lists"][0]["size"].as_u64(), Some(1));
    let err = bob.room(room.id()).send_text(spam).await.expect_err("still enforced after restart");
    assert!(is_blocked(&err));
    net.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_equivocating_issuer_is_detected_on_every_node_and_distrusted() {
    let _machine = crate::shared().await;
    use accord_proto::blocklist::checkpoint::Checkpoint;
    use accord_proto::blocklist::merkle::MerkleLog;
    use accord_proto::federation::{LISTS_TOPIC, ListAnnouncement};

    let net = TestNet::start(3).await.unwrap();
    let (a, b, c) = (&net.nodes[0], &net.nodes[1], &net.nodes[2]);
    let bob = b.user("bob").await.unwrap();
    let list =
        a.admin("POST", "/lists", Some(json!({"name": "l"}))).await.unwrap()["list"].as_str().unwrap().to_owned();
    for node in [b, c] {
        subscribe(node, &list).await;
    }
    a.admin(
        "POST",
        "/lists/l/entries",
        Some(json!({"kind": "account", "id": bob.account().to_string(), "category": "spam"})),
    )
    .await
    .unwrap();
    eventually("bob blocked on his home node", || async { matches!(bob.login().await, Err(e) if is_blocked(&e)) })
        .await;

    // The issuer's key signs a second checkpoint of the same size with
    // another root: a fork.
    let key = accord_node::keyfile::read(&accord_node::DataDir::new(a.data_dir()).key()).unwrap();
    let mut other = MerkleLog::new();
    other.push(br#"{"op":"add","created":1,"target":{"type":"node","id":"x"}}"#);
    let forged =
        Checkpoint { list: list.parse().unwrap(), size: 1, root: other.root(), time: accord_proto::Timestamp::now() }
            .sign(&key)
            .unwrap();
    let announcement = ListAnnouncement { list: list.parse().unwrap(), checkpoint: forged };
    let bytes = serde_json::to_vec(&announcement).unwrap();

    async fn distrusted(node: &TestNode) -> bool {
        node.admin("GET", "/lists", None).await.map(|s| s["lists"][0]["distrusted"].is_string()).unwrap_or(false)
    }
    let deadline = tokio::time::Instant::now() + WITHIN;
    while !(distrusted(b).await && distrusted(c).await) {
        assert!(tokio::time::Instant::now() < deadline, "the equivocation was not detected everywhere");
        a.node().network().publish(LISTS_TOPIC, bytes.clone()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Its entries stop applying: bob may log in again.
    bob.login().await.expect("a distrusted issuer's entries are not enforced");
    let status = c.admin("GET", "/lists", None).await.unwrap();
    assert!(status["lists"][0]["distrusted"].is_string(), "operators see it");

    // Until the operator decides to trust the issuer again.
    let issuer = list.split('/').next().unwrap().to_owned();
    b.admin("POST", "/trust", Some(json!({"issuer": issuer}))).await.unwrap();
    assert!(matches!(bob.login().await, Err(e) if is_blocked(&e)), "enforced again on B");
    net.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_level_entry_cuts_the_node_off() {
    let _machine = crate::shared().await;
    let net = TestNet::start(3).await.unwrap();
    let (a, c) = (&net.nodes[0], &net.nodes[2]);
    let list =
        a.admin("POST", "/lists", Some(json!({"name": "nodes"}))).await.unwrap()["list"].as_str().unwrap().to_owned();
    let _ = list;
    a.admin("POST", "/lists/nodes/entries", Some(json!({"kind": "node", "id": c.node_id(), "category": "spam"})))
        .await
        .unwrap();
    let c_peer = accord_node::network::peer_id(&c.node().node_id());
    let a_peer = accord_node::network::peer_id(&a.node().node_id());
    // C's next request to A is answered `blocked` (A issued the entry, so
    // it applies at once) …
    let answer = c
        .node()
        .network()
        .request(a_peer, accord_proto::federation::FedRequest::Identities { accounts: vec![] })
        .await
        .expect("A answers C's request, with the reason it is cut off");
    assert!(
        matches!(&answer, accord_proto::federation::FedResponse::Error { code, .. } if code == "blocked"),
        "a node named by a node entry is refused with `blocked`: {answer:?}"
    );
    // … then A cuts C off, and keeps it off.
    let deadline = tokio::time::Instant::now() + WITHIN;
    while a.node().network().is_connected(&c_peer) {
        assert!(tokio::time::Instant::now() < deadline, "node C still connected to A");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let kept_off = tokio::time::Instant::now() + Duration::from_secs(3);
    while tokio::time::Instant::now() < kept_off {
        assert!(!a.node().network().is_connected(&c_peer), "node C came back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    net.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_thousand_entry_list_syncs_to_a_fresh_subscriber_and_is_enforced() {
    let _machine = crate::alone().await;
    let net = TestNet::start(2).await.unwrap();
    let (a, b) = (&net.nodes[0], &net.nodes[1]);
    let list =
        a.admin("POST", "/lists", Some(json!({"name": "big"}))).await.unwrap()["list"].as_str().unwrap().to_owned();
    let needle = "the needle message";
    let mut text = String::with_capacity(100_000 * 70);
    text.push_str(&accord_proto::Sha256Hash::digest(needle.as_bytes()).to_string());
    text.push_str(" spam\n");
    for i in 1..100_000u64 {
        text.push_str(&accord_proto::Sha256Hash::digest(&i.to_be_bytes()).to_string());
        text.push_str(" spam\n");
    }
    let imported = a.admin("POST", "/lists/big/import", Some(json!({"format": "plain", "text": text}))).await.unwrap();
    assert_eq!(imported["count"].as_u64(), Some(100_000), "one import, one checkpoint");

    let started = std::time::Instant::now();
    subscribe(b, &list).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let status = b.admin("GET", "/lists", None).await.unwrap();
        if status["lists"][0]["size"].as_u64() == Some(100_000) {
            assert_eq!(status["indexed"].as_u64(), Some(100_000));
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "not synced: {status}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("100,000 entries synced, verified and indexed in {:?}", started.elapsed());
    let bob = b.user("bob").await.unwrap();
    let room = bob.create_room("r", JoinRule::Public).await.unwrap();
    let err = room.send_text(needle).await.expect_err("the needle's hash is on the list");
    assert!(is_blocked(&err));
    room.send_text("anything else").await.unwrap();
    net.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mastodon_and_matrix_lists_import_and_export_round_trips() {
    let _machine = crate::shared().await;
    let node = TestNode::start().await.unwrap();
    node.admin("POST", "/lists", Some(json!({"name": "imported"}))).await.unwrap();
    let peer = accord_proto::NodeId::from(accord_proto::SecretKey::generate().unwrap().public()).to_string();
    let other = accord_proto::NodeId::from(accord_proto::SecretKey::generate().unwrap().public()).to_string();
    let csv = format!(
        "#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\n\
         {peer},suspend,false,false,\"spam, lots of it\",false\n\
         evil.example,suspend,false,false,blocks the nodes that prove this name,false\n"
    );
    let headerless = format!("{other},silence,false,false,noisy,false\n");
    let matrix = json!([
        {"type": "m.policy.rule.user", "content": {"entity": accord_proto::SecretKey::generate().unwrap().account_id().to_string(), "reason": "abuse", "recommendation": "m.ban"}},
        {"type": "m.policy.rule.user", "content": {"entity": "@spammer:matrix.org", "reason": "x", "recommendation": "m.ban"}}
    ])
    .to_string();
    let mut total = 0;
    for (format, text, entries) in
        [("mastodon-csv", csv, 2), ("mastodon-csv", headerless, 1), ("matrix-policy", matrix, 1)]
    {
        let out =
            node.admin("POST", "/lists/imported/import", Some(json!({"format": format, "text": text}))).await.unwrap();
        assert_eq!(out["count"].as_u64(), Some(entries), "{format}: {out}");
        total += entries;
        assert!(out["skipped"].as_array().is_some());
    }
    let status = node.admin("GET", "/lists", None).await.unwrap();
    assert_eq!(status["lists"][0]["size"].as_u64(), Some(total));

    // Export and import again: the same entries come back.
    let exported = reqwest::Client::new()
        .get(format!("{}/admin/lists/imported/export?format=mastodon-csv", node.admin_url().unwrap()))
        .bearer_auth(std::fs::read_to_string(accord_node::DataDir::new(node.data_dir()).admin_token()).unwrap().trim())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        exported.contains(&peer) && exported.contains(&other) && exported.contains("\nevil.example,"),
        "{exported}"
    );
    node.admin("POST", "/lists", Some(json!({"name": "again"}))).await.unwrap();
    let again = node
        .admin("POST", "/lists/again/import", Some(json!({"format": "mastodon-csv", "text": exported})))
        .await
        .unwrap();
    assert_eq!(again["count"].as_u64(), Some(3));
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_that_does_not_enforce_a_required_list_is_refused_federation() {
    let _machine = crate::shared().await;
    // Node 2 requires peers to enforce node 0's list "required".
    let net = TestNet::start_with(3, |i, started, config| {
        if i == 2 {
            let issuer = accord_proto::IssuerId::from(*started[0].node().node_id().public_key());
            let list = accord_proto::ListId { issuer, name: "required".parse().unwrap() };
            config.p2p.require_lists = vec![accord_node::config::RequiredList { list, max_lag: 0 }];
        }
    })
    .await
    .unwrap();
    let (a, b, c) = (&net.nodes[0], &net.nodes[1], &net.nodes[2]);
    let list = a.admin("POST", "/lists", Some(json!({"name": "required"}))).await.unwrap()["list"]
        .as_str()
        .unwrap()
        .to_owned();
    subscribe(c, &list).await;
    let ask = |from: &TestNode, to: &TestNode| {
        let request = accord_proto::federation::FedRequest::Sync {
            room: accord_proto::RoomId::from(accord_proto::EventId(accord_proto::Sha256Hash::digest(b"r"))),
            held: Default::default(),
        };
        let (network, peer) = (from.node().network().clone(), accord_node::network::peer_id(&to.node().node_id()));
        async move { network.request(peer, request).await }
    };
    // A enforces its own list; B does not: C refuses B and tells it why.
    eventually("B refused by C for policy", || async {
        matches!(ask(b, c).await, Ok(accord_proto::federation::FedResponse::Error { code, message }) if code == "policy" && message.contains("required"))
    })
    .await;
    eventually("A federates with C", || async {
        matches!(ask(a, c).await, Ok(accord_proto::federation::FedResponse::Error { code, .. }) if code == "unknown_room")
    })
    .await;
    // Once B subscribes (and says so in its manifest), C federates with it.
    subscribe(b, &list).await;
    eventually("B accepted once it enforces the list", || async {
        matches!(ask(b, c).await, Ok(accord_proto::federation::FedResponse::Error { code, .. }) if code == "unknown_room")
    })
    .await;
    net.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_that_relays_what_its_declared_list_blocks_leaves_signed_evidence() {
    let _machine = crate::shared().await;
    let net = TestNet::start(2).await.unwrap();
    let (a, b) = (&net.nodes[0], &net.nodes[1]);
    let alice = a.user("alice").await.unwrap();
    let spammer = b.user("spammer").await.unwrap();
    let room = alice.create_room("r", JoinRule::Public).await.unwrap();
    spammer.room(room.id()).join_via(&[a.node_id()]).await.unwrap();
    let list =
        a.admin("POST", "/lists", Some(json!({"name": "spam"}))).await.unwrap()["list"].as_str().unwrap().to_owned();
    // B subscribes (so it declares the list) but ignores the spam category.
    b.admin("POST", "/subscriptions", Some(json!({"list": list, "actions": {"spam": "ignore"}}))).await.unwrap();
    a.admin(
        "POST",
        "/lists/spam/entries",
        Some(json!({"kind": "account", "id": spammer.account().to_string(), "category": "spam"})),
    )
    .await
    .unwrap();
    eventually("B holds the entry and declares it", || async {
        b.admin("GET", "/lists", None).await.map(|s| s["lists"][0]["size"].as_u64() == Some(1)).unwrap_or(false)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(2500)).await; // B's manifest announcement
    spammer.room(room.id()).send_text("spam relayed by b").await.unwrap();
    eventually("evidence against B recorded on A", || async {
        a.admin("GET", "/evidence", None)
            .await
            .map(|e| e["evidence"].as_array().is_some_and(|v| !v.is_empty()))
            .unwrap_or(false)
    })
    .await;
    let evidence = a.admin("GET", "/evidence", None).await.unwrap();
    let item = &evidence["evidence"][0];
    assert_eq!(item["peer"].as_str(), Some(b.node_id().as_str()));
    assert_eq!(item["provenance"]["list"].as_str(), Some(list.as_str()));
    assert!(item["manifest"]["sig"].is_string(), "the peer's own signed manifest is part of the evidence");
    assert!(!view(&room).await.0.contains("spam relayed by b"), "and the event was refused");

    // A third party checks it from the file alone, with the command line.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("evidence.json");
    std::fs::write(&file, serde_json::to_vec(&evidence).unwrap()).unwrap();
    let checked = evidence_verify(&file);
    assert!(checked.status.success(), "the evidence verifies: {}", String::from_utf8_lossy(&checked.stdout));
    assert!(String::from_utf8_lossy(&checked.stdout).contains(&format!("verified: {} relayed", b.node_id())));
    // Every tampering is caught, each with its code.
    let record: accord_api::admin::Evidence = serde_json::from_value(item.clone()).unwrap();
    assert_eq!(accord_node::evidence::verify(&record).map(|v| v.entry), Ok(0));
    let mut another_peer = record.clone();
    another_peer.peer = a.node().node_id();
    let mut another_entry = record.clone();
    another_entry.provenance.entry = 1;
    let mut another_target = record.clone();
    another_target.entry = another_target.entry.replace(&spammer.account().to_string(), &alice.account().to_string());
    let mut another_category = record.clone();
    another_category.provenance.category = accord_proto::blocklist::entry::Category::Violence;
    let mut another_body = record.clone();
    let mut raw = another_body.manifest.clone();
    raw.body = String::from_utf8(raw.body).unwrap().replace("\"size\":1", "\"size\":2").into_bytes();
    another_body.manifest = raw;
    for (tampered, code) in [
        (&another_peer, "not_the_peers"),
        (&another_entry, "not_declared"),
        (&another_target, "not_included"),
        (&another_category, "entry_mismatch"),
        (&another_body, "bad_manifest"),
    ] {
        let refused = accord_node::evidence::verify(tampered).expect_err("tampered evidence does not verify");
        assert_eq!(refused.code(), code, "{refused}");
    }
    std::fs::write(&file, serde_json::to_vec(&another_target).unwrap()).unwrap();
    let checked = evidence_verify(&file);
    assert!(!checked.status.success(), "a tampered file fails the command");
    assert!(String::from_utf8_lossy(&checked.stdout).contains("refused (not_included)"));
    net.stop().await.unwrap();
}

/// Runs `accord-node evidence verify FILE` (the binary built beside this
/// test's, in the same target directory).
fn evidence_verify(file: &std::path::Path) -> std::process::Output {
    let exe = std::env::current_exe().unwrap();
    let binary = exe.parent().and_then(|deps| deps.parent()).unwrap().join("accord-node");
    assert!(binary.exists(), "{} is built with the workspace's tests", binary.display());
    std::process::Command::new(binary).args(["evidence", "verify"]).arg(file).output().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quarantined_content_is_held_for_a_moderator_who_can_release_it() {
    let _machine = crate::shared().await;
    let node = TestNode::start().await.unwrap();
    let alice = node.user("alice").await.unwrap();
    let suspect = node.user("suspect").await.unwrap();
    let room = alice.create_room("r", JoinRule::Public).await.unwrap();
    suspect.room(room.id()).join().await.unwrap();
    node.admin("POST", "/lists", Some(json!({"name": "watch"}))).await.unwrap();
    node.admin(
        "POST",
        "/lists/watch/entries",
        Some(json!({"kind": "account", "id": suspect.account().to_string(), "category": "grooming", "action": "quarantine"})),
    )
    .await
    .unwrap();

    // Accepted from the sender, but not delivered: held for review.
    let sent = suspect.room(room.id()).send_text("held for review").await.expect("a quarantined account may send");
    let (texts, hidden) = view(&room).await;
    assert!(!texts.contains("held for review"));
    assert_eq!(hidden.len(), 2, "the suspect's join and message are held");
    let queue = node.admin("GET", "/quarantine", None).await.unwrap();
    let held = queue["quarantine"].as_array().unwrap().clone();
    let message = held
        .iter()
        .find(|q| q["event_id"].as_str() == Some(sent.event_id.to_string().as_str()))
        .expect("the message is in the review queue");
    assert_eq!(message["provenance"]["category"].as_str(), Some("grooming"));

    // The moderator releases it: delivered from now on.
    node.admin("POST", "/quarantine/release", Some(json!({"event": sent.event_id.to_string(), "reason": "fine"})))
        .await
        .unwrap();
    assert!(view(&room).await.0.contains("held for review"));
    assert_eq!(node.admin("GET", "/quarantine", None).await.unwrap()["quarantine"].as_array().unwrap().len(), 1);
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_of_a_purge_category_are_deleted_not_only_hidden() {
    use accord_proto::blocklist::entry::Category;
    let _machine = crate::shared().await;
    let mut node = TestNode::start_with(|c| c.lists.purge = vec![Category::ChildSexualAbuse]).await.unwrap();
    let alice = node.user("alice").await.unwrap();
    let abuser = node.user("abuser").await.unwrap();
    let room = alice.create_room("r", JoinRule::Public).await.unwrap();
    abuser.room(room.id()).join().await.unwrap();
    abuser.room(room.id()).send_text("abusive material").await.unwrap();
    alice.room(room.id()).send_text("an innocent reply").await.unwrap();
    node.admin("POST", "/lists", Some(json!({"name": "csam"}))).await.unwrap();
    let entry = node
        .admin(
            "POST",
            "/lists/csam/entries",
            Some(json!({"kind": "account", "id": abuser.account().to_string(), "category": "child_sexual_abuse"})),
        )
        .await
        .unwrap()["first"]
        .as_u64()
        .unwrap();
    eventually("purged", || async {
        reqwest::get(format!("{}/metrics", node.url()))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .contains("accord_purged_total 1")
    })
    .await;
    let (texts, hidden) = view(&room).await;
    assert!(!texts.contains("abusive material") && texts.contains("an innocent reply"));
    assert!(hidden.len() >= 2, "the abuser's join (hidden) and the purged message keep their cursors: {hidden:?}");

    // Retracting the entry brings back what was hidden, not what was deleted.
    node.admin("POST", "/lists/csam/remove", Some(json!({"entry": entry}))).await.unwrap();
    node.restart().await.unwrap();
    let (texts, hidden) = view(&room).await;
    assert!(!texts.contains("abusive material"), "deleted for good");
    assert_eq!(hidden.len(), 1, "the purged message's cursor, with why");
    assert!(texts.contains("an innocent reply"));
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_subscription_in_the_configuration_is_followed_from_start() {
    let _machine = crate::shared().await;
    let net = TestNet::start_with(2, |i, started, config| {
        if i == 1 {
            let issuer = accord_proto::IssuerId::from(*started[0].node().node_id().public_key());
            let list = accord_proto::ListId { issuer, name: "configured".parse().unwrap() };
            config.lists.subscribe = vec![accord_node::config::Subscription {
                list,
                actions: Default::default(),
                pdq_threshold: None,
                witnesses: vec![],
                witnesses_required: None,
                mode: Default::default(),
                on_removal: Default::default(),
                priority: 0,
            }];
        }
    })
    .await
    .unwrap();
    let (a, b) = (&net.nodes[0], &net.nodes[1]);
    a.admin("POST", "/lists", Some(json!({"name": "configured"}))).await.unwrap();
    let hash = accord_proto::Sha256Hash::digest(b"configured spam").to_string();
    a.admin("POST", "/lists/configured/entries", Some(json!({"kind": "content", "id": hash, "category": "spam"})))
        .await
        .unwrap();
    eventually("the configured subscription is enforced", || async {
        b.admin("GET", "/lists", None).await.map(|s| s["lists"][0]["size"].as_u64() == Some(1)).unwrap_or(false)
    })
    .await;
    let bob = b.user("bob").await.unwrap();
    let room = bob.create_room("r", JoinRule::Public).await.unwrap();
    assert!(matches!(room.send_text("configured spam").await, Err(e) if is_blocked(&e)));
    net.stop().await.unwrap();
}

/// A node holding `entries` entries of its own list "required", which it
/// requires its peers to hold at most `max_lag` entries behind; the list.
async fn node_requiring_its_list(entries: usize, max_lag: u64) -> (TestNode, accord_proto::ListId) {
    let mut c = TestNode::start().await.unwrap();
    let list = c.admin("POST", "/lists", Some(json!({"name": "required"}))).await.unwrap()["list"]
        .as_str()
        .unwrap()
        .parse::<accord_proto::ListId>()
        .unwrap();
    for _ in 0..entries {
        let id = accord_proto::SecretKey::generate().unwrap().account_id().to_string();
        c.admin("POST", "/lists/required/entries", Some(json!({"kind": "account", "id": id, "category": "spam"})))
            .await
            .unwrap();
    }
    let path = accord_node::DataDir::new(c.data_dir()).config();
    let mut config = accord_node::Config::load(&path).unwrap();
    config.p2p.require_lists = vec![accord_node::config::RequiredList { list: list.clone(), max_lag }];
    config.save(&path).unwrap();
    c.restart().await.unwrap();
    (c, list)
}

/// A sync request for a room nobody holds: served, it is answered
/// `unknown_room`; refused for policy, `policy`.
fn sync_of_an_unknown_room() -> accord_proto::federation::FedRequest {
    accord_proto::federation::FedRequest::Sync {
        room: accord_proto::RoomId::from(accord_proto::EventId(accord_proto::Sha256Hash::digest(b"r"))),
        held: Default::default(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_further_behind_on_a_required_list_than_max_lag_is_refused() {
    use accord_proto::federation::{FedRequest, FedResponse};
    use accord_proto::policy::{DeclaredList, PolicyManifest};
    use accord_testkit::hostile::HostilePeer;
    let _machine = crate::shared().await;
    // Arrange: node C holds two entries of its own list "required", and
    // requires its peers to enforce it at most one entry behind.
    let (c, list) = node_requiring_its_list(2, 1).await;
    // Two peers declare the list in their signed manifests: one holding
    // its first entry (one behind), one holding none (two behind).
    let peer_declaring = |size: u64| {
        let list = list.clone();
        async move {
            let peer = HostilePeer::start(None).await.unwrap();
            let manifest = PolicyManifest {
                node: peer.node_id(),
                name: None,
                lists: vec![DeclaredList { list, size }],
                time: accord_proto::Timestamp::now(),
            };
            let signed = accord_proto::Verified::sign(manifest, peer.key()).unwrap().raw().clone();
            let answer = serde_json::to_vec(&FedResponse::Manifest { manifest: Box::new(signed) }).unwrap();
            peer.serve(move |request| {
                matches!(serde_json::from_slice(request), Ok(FedRequest::Manifest {})).then(|| answer.clone())
            })
            .await
            .unwrap();
            peer
        }
    };
    let sync = sync_of_an_unknown_room();
    let within = peer_declaring(1).await;
    let behind = peer_declaring(0).await;

    // Act: each asks C to sync a room.
    let node = within.connect(&c.p2p_addr()).await.unwrap();
    let answered_within = within.request(node, &sync).await.unwrap();
    let node = behind.connect(&c.p2p_addr()).await.unwrap();
    let answered_behind = behind.request(node, &sync).await.unwrap();

    // Assert: the peer within the lag is served (the room is unknown);
    // the one further behind is refused for policy, and told by how much.
    assert!(
        matches!(&answered_within, FedResponse::Error { code, .. } if code == "unknown_room"),
        "{answered_within:?}"
    );
    assert!(
        matches!(&answered_behind, FedResponse::Error { code, message } if code == "policy" && message.contains("2 entries behind")),
        "{answered_behind:?}"
    );
    c.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_found_behind_with_an_old_manifest_is_asked_again_and_federates_once_caught_up() {
    use accord_proto::federation::{FedRequest, FedResponse};
    use accord_proto::policy::{DeclaredList, PolicyManifest};
    use accord_testkit::hostile::HostilePeer;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    let _machine = crate::shared().await;
    // Arrange: node C holds one entry of its own list "required" and
    // requires its peers to hold all of it.
    let (c, list) = node_requiring_its_list(1, 0).await;
    // A peer that answers every manifest request with a manifest signed
    // then, declaring the size it holds at that moment: none of the list
    // at first. It never gossips its manifest.
    let seed = accord_proto::SecretKey::generate().unwrap().to_seed();
    let peer = HostilePeer::start(Some(accord_proto::SecretKey::from_seed(*seed))).await.unwrap();
    let signer = accord_proto::SecretKey::from_seed(*seed);
    let held = Arc::new(AtomicU64::new(0));
    let declared = held.clone();
    let node = peer.node_id();
    peer.serve(move |request| {
        matches!(serde_json::from_slice(request), Ok(FedRequest::Manifest {})).then(|| {
            let manifest = PolicyManifest {
                node,
                name: None,
                lists: vec![DeclaredList { list: list.clone(), size: declared.load(Ordering::SeqCst) }],
                time: accord_proto::Timestamp::now(),
            };
            let signed = accord_proto::Verified::sign(manifest, &signer).unwrap().raw().clone();
            serde_json::to_vec(&FedResponse::Manifest { manifest: Box::new(signed) }).unwrap()
        })
    })
    .await
    .unwrap();
    let sync = sync_of_an_unknown_room();
    let c_peer = peer.connect(&c.p2p_addr()).await.unwrap();
    let refused = peer.request(c_peer, &sync).await.unwrap();
    assert!(matches!(&refused, FedResponse::Error { code, .. } if code == "policy"), "{refused:?}");

    // Act: the peer catches up; its manifest held by C grows old (C's
    // periodic round is 30 s away and picks peers at random).
    held.store(1, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(6)).await;
    let answered = peer.request(c_peer, &sync).await.unwrap();

    // Assert: C asked for a newer manifest before judging, and serves it.
    assert!(matches!(&answered, FedResponse::Error { code, .. } if code == "unknown_room"), "{answered:?}");
    c.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_block_relaying_nodes_a_node_relaying_what_its_declared_list_blocks_is_cut_off() {
    let _machine = crate::shared().await;
    // A cuts off relaying nodes; B declares A's list but ignores spam.
    let net = TestNet::start_with(2, |i, _, c| c.p2p.block_relaying_nodes = i == 0).await.unwrap();
    let (a, b) = (&net.nodes[0], &net.nodes[1]);
    let alice = a.user("alice").await.unwrap();
    let spammer = b.user("spammer").await.unwrap();
    let room = alice.create_room("r", JoinRule::Public).await.unwrap();
    spammer.room(room.id()).join_via(&[a.node_id()]).await.unwrap();
    let list =
        a.admin("POST", "/lists", Some(json!({"name": "spam"}))).await.unwrap()["list"].as_str().unwrap().to_owned();
    b.admin("POST", "/subscriptions", Some(json!({"list": list, "actions": {"spam": "ignore"}}))).await.unwrap();
    a.admin(
        "POST",
        "/lists/spam/entries",
        Some(json!({"kind": "account", "id": spammer.account().to_string(), "category": "spam"})),
    )
    .await
    .unwrap();
    eventually("B holds the entry", || async {
        b.admin("GET", "/lists", None).await.map(|s| s["lists"][0]["size"].as_u64() == Some(1)).unwrap_or(false)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(2500)).await; // B's manifest announcement
    assert!(a.is_connected_to(b), "A and B federate before the relay");

    // Act: B relays the listed account's message.
    spammer.room(room.id()).send_text("spam relayed by b").await.unwrap();

    // Assert: A keeps the evidence and cuts B off, and keeps it off.
    let b_on_a = accord_node::network::peer_id(&b.node().node_id());
    eventually("A cuts B off", || async { !a.node().network().is_connected(&b_on_a) }).await;
    let evidence = a.admin("GET", "/evidence", None).await.unwrap();
    assert_eq!(evidence["evidence"][0]["peer"].as_str(), Some(b.node_id().as_str()));
    tokio::time::sleep(Duration::from_secs(6)).await; // past B's redial of its bootstrap peer
    assert!(!a.node().network().is_connected(&b_on_a), "B stays cut off");
    assert!(!view(&room).await.0.contains("spam relayed by b"));
    net.stop().await.unwrap();
}

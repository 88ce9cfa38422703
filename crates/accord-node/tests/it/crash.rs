//! Acknowledged messages survive `kill -9` of the node process: after
//! every restart each acknowledged message is there exactly once, the
//! store opens, the outbox resumes pushing to peers, and list state is
//! intact.

use accord_proto::SecretKey;
use accord_proto::event::JoinRule;
use accord_sdk::{Client, HistoryQuery, Room};
use accord_testkit::observe::{converged, eventually};
use accord_testkit::{NodeProcess, TestNode, admin_request};
use serde_json::json;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a (re)started node may take to answer.
pub(crate) const START: Duration = Duration::from_secs(30);

/// How long the peer may take to receive what the outbox holds.
const PATIENCE: Duration = Duration::from_secs(60);

/// A node process with rate limits raised (these tests measure durability,
/// not limits), bootstrapping from `bootstrap` if given.
pub(crate) fn crash_node(name: &str, bootstrap: Option<String>) -> NodeProcess {
    NodeProcess::init(Path::new(env!("CARGO_BIN_EXE_accord-node")), name, |config| {
        config.limits.events_per_second = 10_000;
        config.limits.burst = 10_000;
        config.p2p.bootstrap = bootstrap.into_iter().collect();
    })
    .expect("accord-node init")
}

/// How many times each event id of the room appears in its history.
async fn occurrences(room: &Room) -> HashMap<accord_proto::EventId, usize> {
    let mut seen = HashMap::new();
    let mut query = Some(HistoryQuery::after(0).limit(500));
    while let Some(q) = query {
        let page = room.history(q).await.expect("history after restart");
        for item in &page.items {
            *seen.entry(item.as_ref().expect("every stored event verifies").id()).or_insert(0) += 1;
        }
        query = page.next;
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_messages_survive_sigkill() {
    let mut node = crash_node("crash.local", None);
    node.start(START).await.unwrap();
    let client = Client::builder().node_url(node.url()).key(SecretKey::generate().unwrap()).build().unwrap();
    client.register("writer", None).await.unwrap();
    let room = client.create_room("durable", JoinRule::Public).await.unwrap();
    const N: usize = 120;
    let mut acked = Vec::new();
    for i in 0..N {
        let receipt = room.send_text(&format!("durable {i}")).await.unwrap();
        acked.push(receipt.event_id);
    }
    node.kill().unwrap();

    node.start(START).await.unwrap();
    let seen = occurrences(&room).await;
    for id in &acked {
        assert_eq!(seen.get(id), Some(&1), "acknowledged event {id} present exactly once");
    }
}

/// Rounds of the kill-under-load test: 20, or `ACCORD_SOAK_ROUNDS`, or 200
/// with `ACCORD_SOAK=1`.
fn rounds() -> usize {
    let soak = std::env::var("ACCORD_SOAK").is_ok_and(|v| v == "1");
    std::env::var("ACCORD_SOAK_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(if soak { 200 } else { 20 })
}

/// The seed of the kill moments: `ACCORD_CRASH_SEED` replays a run.
fn seed() -> u64 {
    std::env::var("ACCORD_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| fastrand::u64(..))
}

/// Size and checkpoint of `list` in a node's list status (`GET
/// /admin/lists`), if it holds the list.
fn list_state(status: &serde_json::Value, list: &str) -> Option<(u64, serde_json::Value)> {
    let record = status["lists"].as_array()?.iter().find(|r| r["list"] == list)?;
    Some((record["size"].as_u64()?, record["checkpoint"].clone()))
}

/// Size and checkpoint of `list` on the node under test.
async fn held(node: &NodeProcess, list: &str) -> Option<(u64, serde_json::Value)> {
    list_state(&node.admin("GET", "/lists", None).await.expect("list status"), list)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_messages_survive_repeated_sigkill_under_load() {
    // Arrange: a peer node (in this process) and the node under test (its
    // own process, killed again and again). A room spans both; the node
    // under test follows a list of the peer's and issues one of its own.
    let mut peer = TestNode::start().await.unwrap();
    let mut node = crash_node("soak.local", Some(peer.p2p_addr()));
    node.start(START).await.unwrap();
    let node_id = node.node_id().await.unwrap();
    let writers: Vec<Client> = (0..3)
        .map(|_| Client::builder().node_url(node.url()).key(SecretKey::generate().unwrap()).build().unwrap())
        .collect();
    for (i, w) in writers.iter().enumerate() {
        w.register(&format!("writer{i}"), None).await.unwrap();
    }
    let room = writers[0].create_room("soak", JoinRule::Public).await.unwrap();
    for w in &writers[1..] {
        w.room(room.id()).join().await.unwrap();
    }
    let reader = peer.user("reader").await.unwrap();
    reader.room(room.id()).join_via(&[node_id]).await.unwrap();

    let shared = peer.admin("POST", "/lists", Some(json!({"name": "shared"}))).await.unwrap();
    let shared = shared["list"].as_str().unwrap().to_owned();
    for i in 0..3 {
        let account = SecretKey::generate().unwrap().account_id().to_string();
        peer.admin(
            "POST",
            "/lists/shared/entries",
            Some(json!({"kind": "account", "id": account, "category": "spam", "reason": format!("spam {i}")})),
        )
        .await
        .unwrap();
    }
    node.admin("POST", "/subscriptions", Some(json!({"list": shared}))).await.unwrap();
    let shared_state = list_state(&peer.admin("GET", "/lists", None).await.unwrap(), &shared).unwrap();
    eventually("the node follows the peer's list", PATIENCE, || async {
        held(&node, &shared).await.is_some_and(|s| s.0 == shared_state.0)
    })
    .await
    .unwrap();
    let shared_state = held(&node, &shared).await.unwrap();
    let own = node.admin("POST", "/lists", Some(json!({"name": "local"}))).await.unwrap();
    let own = own["list"].as_str().unwrap().to_owned();

    let seed = seed();
    let mut rng = fastrand::Rng::with_seed(seed);
    eprintln!("kill moments from ACCORD_CRASH_SEED={seed}");
    let acked = Arc::new(Mutex::new(Vec::new()));
    let entries_acked = Arc::new(Mutex::new(0u64));
    let started = Instant::now();
    for round in 0..rounds() {
        if round + 3 == rounds() {
            // The last rounds run while the peer is down: the outbox holds
            // what the node owes it across the kills.
            peer.pause().await.unwrap();
        }
        // Several clients send as fast as the node acknowledges, and the
        // operator appends to its list …
        let mut tasks: Vec<_> = writers
            .iter()
            .enumerate()
            .map(|(w, client)| {
                let (room, acked) = (client.room(room.id()), acked.clone());
                tokio::spawn(async move {
                    for i in 0.. {
                        match room.send_text(&format!("r{round} w{w} m{i}")).await {
                            Ok(receipt) => acked.lock().unwrap().push(receipt.event_id),
                            Err(_) => break, // the node died under us
                        }
                    }
                })
            })
            .collect();
        let (dir, entries) = (node.data_dir().to_path_buf(), entries_acked.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let account = SecretKey::generate().unwrap().account_id().to_string();
                let entry = json!({"kind": "account", "id": account, "category": "spam"});
                match admin_request(&dir, "POST", "/lists/local/entries", Some(entry)).await {
                    Ok(_) => *entries.lock().unwrap() += 1,
                    Err(_) => break, // the node died under us
                }
            }
        }));
        // … until the node is killed at a random moment.
        tokio::time::sleep(Duration::from_millis(rng.u64(50..600))).await;
        node.kill().unwrap();
        for t in tasks {
            t.await.unwrap();
        }

        // The store opens and serves every acknowledged message once; the
        // lists are as acknowledged.
        node.start(START).await.unwrap();
        let seen = occurrences(&writers[0].room(room.id())).await;
        for id in acked.lock().unwrap().iter() {
            assert_eq!(seen.get(id), Some(&1), "round {round}: acknowledged event {id} present exactly once");
        }
        assert!(seen.values().all(|n| *n == 1), "round {round}: no event appears twice");
        let (size, checkpoint) = held(&node, &own).await.expect("the own list is held");
        let entries = *entries_acked.lock().unwrap();
        assert!(
            size == entries || size == entries + 1,
            "round {round}: the own list holds every acknowledged entry ({size} held, {entries} acknowledged)"
        );
        // A signed note: origin line, then the size.
        let note_size = checkpoint.as_str().and_then(|n| n.lines().nth(1)).and_then(|l| l.parse().ok());
        assert_eq!(note_size, Some(size), "round {round}: its checkpoint covers it");
        *entries_acked.lock().unwrap() = size;
        assert_eq!(
            held(&node, &shared).await,
            Some(shared_state.clone()),
            "round {round}: the followed list is intact"
        );
        assert!(node.is_running(), "round {round}: the node runs after restart");
    }
    let acked = acked.lock().unwrap().clone();
    eprintln!(
        "{} messages and {} list entries acknowledged across {} kills in {:.1?}; all present once",
        acked.len(),
        entries_acked.lock().unwrap(),
        rounds(),
        started.elapsed()
    );
    assert!(acked.len() > rounds(), "load was applied ({} acknowledged)", acked.len());

    // The outbox resumes: the peer, back, ends up with the same history.
    peer.resume().await.unwrap();
    let rooms = [writers[0].room(room.id()), reader.room(room.id())];
    let accepted = writers[0].room(room.id()).state().await.unwrap().accepted;
    converged(&rooms, accepted, PATIENCE).await.unwrap();
    let on_peer = occurrences(&rooms[1]).await;
    for id in &acked {
        assert_eq!(on_peer.get(id), Some(&1), "acknowledged event {id} reached the peer once");
    }
    node.kill().unwrap();
    peer.stop().await.unwrap();
}

/// A room with more events than a node holds of it in memory: after
/// `kill -9` it is taken up from its snapshot rather than derived from
/// every event, every acknowledged message is there once, and the rules
/// still know its oldest messages: another member may not redact the first
/// one, its author may.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_room_restarts_from_its_snapshot_and_still_judges_redactions_of_its_oldest_messages() {
    let mut node = crash_node("snapshot.local", None);
    node.start(START).await.unwrap();
    let writer = Client::builder().node_url(node.url()).key(SecretKey::generate().unwrap()).build().unwrap();
    writer.register("writer", None).await.unwrap();
    let other = Client::builder().node_url(node.url()).key(SecretKey::generate().unwrap()).build().unwrap();
    other.register("other", None).await.unwrap();
    let room = writer.create_room("long", JoinRule::Public).await.unwrap();
    other.room(room.id()).join().await.unwrap();
    // Snapshots every 64 events, then a tail that only the events
    // themselves hold.
    const N: usize = 600;
    let mut acked = Vec::with_capacity(N);
    for i in 0..N {
        acked.push(room.send_text(&format!("long {i}")).await.unwrap().event_id);
    }
    node.kill().unwrap();

    node.start(START).await.unwrap();
    let metrics = reqwest::get(format!("{}/metrics", node.url())).await.unwrap().text().await.unwrap();
    assert!(metrics.lines().any(|l| l == "accord_rooms_from_snapshot 1"), "taken up from its snapshot:\n{metrics}");
    assert!(metrics.lines().any(|l| l == "accord_rooms_derived 0"), "no room derived from all its events");
    let seen = occurrences(&room).await;
    for id in &acked {
        assert_eq!(seen.get(id), Some(&1), "acknowledged event {id} present exactly once");
    }
    let first = acked[0];
    let refused = other.room(room.id()).redact(first, None).await.expect_err("another member's redaction");
    assert_eq!(refused.code(), "forbidden");
    room.redact(first, None).await.expect("the author redacts their own oldest message");
    let page = room.history(HistoryQuery::after(0).limit(10)).await.unwrap();
    let item = page.items.iter().flatten().find(|i| i.id() == first).expect("first message");
    assert!(item.redacted, "the first message shows as redacted");
    room.send_text("after the restart").await.expect("the room takes new messages");
}

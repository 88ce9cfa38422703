//! Backups (docs/operating.md, spec/federation.md §11): a backup taken by
//! `accord-node backup` while the node is under load restores, with
//! `accord-node restore`, to a node whose rooms are exactly as they were at
//! the moment of the copy; the restored node stamps nothing in a shared
//! room until it has synced it with a peer, then catches up and speaks
//! again without reusing a sequence number.

use crate::crash::{START, crash_node};
use accord_api::admin::BackupManifest;
use accord_proto::SecretKey;
use accord_proto::event::JoinRule;
use accord_proto::room::{chain_history, history_seed};
use accord_sdk::{Client, HistoryQuery, Room, TimelineItem};
use accord_testkit::observe::eventually;
use accord_testkit::{NodeProcess, TestNode};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(60);
const BINARY: &str = env!("CARGO_BIN_EXE_accord-node");

/// Every item of a room's timeline on one node, in cursor order.
async fn timeline(room: &Room) -> Vec<TimelineItem> {
    let mut items = Vec::new();
    let mut query = Some(HistoryQuery::after(0).limit(500));
    while let Some(q) = query {
        let page = room.history(q).await.expect("history");
        items.extend(page.items.into_iter().map(|i| i.expect("every event verifies")));
        query = page.next;
    }
    items
}

/// The history hash of the events among `items` that the room's order
/// accepts, computed here from the events themselves (spec/events.md).
fn history_of(room: &Room, items: &[&TimelineItem]) -> accord_proto::Sha256Hash {
    let mut accepted: Vec<_> = items.iter().filter(|i| i.accepted).map(|i| i.event.order_key()).collect();
    accepted.sort();
    accepted.iter().fold(history_seed(room.id()), |h, (_, id)| chain_history(h, id))
}

/// Sends a message from `room` every few milliseconds until `stop`,
/// recording what was acknowledged.
fn writer(
    room: Room,
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<Vec<accord_proto::EventId>>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut i = 0;
        while !stop.load(Ordering::Relaxed) {
            let receipt = room.send_text(&format!("under load {i}")).await.expect("a send under load");
            acked.lock().unwrap().push(receipt.event_id);
            i += 1;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
}

async fn backup(data_dir: &Path, to: &Path) {
    let status = tokio::process::Command::new(BINARY)
        .arg("backup")
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--to")
        .arg(to)
        .status()
        .await
        .expect("accord-node backup runs");
    assert!(status.success(), "accord-node backup: {status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_under_load_restores_to_the_rooms_at_backup_time_and_the_node_catches_up_before_it_speaks() {
    // Arrange: node A (its own process) and its peer B share a room; a
    // member of each writes without pause.
    let mut peer = TestNode::start().await.unwrap();
    let mut a = crash_node("a.local", Some(peer.p2p_addr()));
    a.start(START).await.unwrap();
    let a_id = a.node_id().await.unwrap().parse().unwrap();
    let key = SecretKey::generate().unwrap();
    let alice = Client::builder().node_url(a.url()).key(key.clone()).build().unwrap();
    alice.register("alice", None).await.unwrap();
    let room = alice.create_room("kept", JoinRule::Public).await.unwrap();
    let bob = peer.user("bob").await.unwrap();
    let bobs_room = bob.room(room.id());
    bobs_room.join_via(&[a_id]).await.unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let (on_a, on_b) = (Arc::new(Mutex::new(Vec::new())), Arc::new(Mutex::new(Vec::new())));
    let writers =
        [writer(room.clone(), stop.clone(), on_a.clone()), writer(bobs_room.clone(), stop.clone(), on_b.clone())];
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Act: back A up while both write.
    let before: Vec<_> = on_a.lock().unwrap().clone();
    let place = tempfile::tempdir().unwrap();
    let to = place.path().join("backup");
    backup(a.data_dir(), &to).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    let after = on_a.lock().unwrap().len();
    assert!(after > before.len(), "A kept writing after the backup ({after} messages in all)");
    eventually("A and B converge", PATIENCE, || async {
        room.state().await.unwrap().history_hash == bobs_room.state().await.unwrap().history_hash
    })
    .await
    .unwrap();
    let final_hash = bobs_room.state().await.unwrap().history_hash;
    let original = timeline(&room).await;

    // Assert: the backup describes the room as A held it at one moment:
    // the history hash of A's own timeline up to the copy's last cursor.
    let manifest: BackupManifest =
        serde_json::from_slice(&std::fs::read(to.join("backup.json")).unwrap()).expect("backup.json");
    assert_eq!(manifest.node.to_string(), a.node_id().await.unwrap());
    let [kept] = manifest.rooms.as_slice() else { panic!("one room: {:?}", manifest.rooms) };
    assert_eq!(kept.room, room.id());
    let prefix: Vec<&TimelineItem> = original.iter().filter(|i| i.cursor <= kept.last_cursor).collect();
    assert_eq!(kept.history_hash, history_of(&room, &prefix), "the copy is A's room at one moment");
    assert!(kept.history_hash != final_hash, "the copy was taken under load, before the end");
    let ids: Vec<_> = prefix.iter().map(|i| i.id()).collect();
    assert!(before.iter().all(|id| ids.contains(id)), "the copy holds what A acknowledged before it");

    // Act: A is lost, and B is away; A is restored from the backup.
    peer.pause().await.unwrap();
    a.kill().unwrap();
    let mut restored = NodeProcess::restore(Path::new(BINARY), &to).unwrap();
    restored.start(START).await.unwrap();

    // Assert: the restored node holds the room as the backup describes it,
    // and stamps nothing there until it has synced with a peer.
    let alice = Client::builder().node_url(restored.url()).key(key).build().unwrap();
    let room = alice.room(room.id());
    let state = room.state().await.unwrap();
    assert_eq!(state.history_hash, kept.history_hash, "restored: the room at backup time");
    let refused = room.send_text("too early").await.expect_err("no stamping before the catch-up");
    assert_eq!(refused.code(), "catching_up");
    let ready = reqwest::get(format!("{}/readyz", restored.url())).await.unwrap();
    assert_eq!(ready.status().as_u16(), 503, "not ready while catching up");
    let ready: accord_api::health::ReadyResponse = ready.json().await.unwrap();
    assert!(ready.checks.iter().any(|c| c.name == "caught_up" && !c.ok), "{ready:?}");

    // Act: B comes back.
    peer.resume().await.unwrap();

    // Assert: the restored node catches up with everything, its own
    // messages stamped after the backup included, then speaks again, and
    // both nodes agree.
    eventually("the restored node catches up", PATIENCE, || async {
        room.state().await.unwrap().history_hash == final_hash
    })
    .await
    .unwrap();
    let sent = loop {
        match room.send_text("back again").await {
            Ok(receipt) => break receipt,
            Err(e) if e.code() == "catching_up" => tokio::time::sleep(Duration::from_millis(100)).await,
            Err(e) => panic!("a send after the catch-up: {e}"),
        }
    };
    let bobs_room = peer.user("carol").await.unwrap().room(room.id());
    bobs_room.join().await.unwrap();
    eventually("B receives the restored node's new message", PATIENCE, || async {
        timeline(&bobs_room).await.iter().any(|i| i.id() == sent.event_id)
    })
    .await
    .unwrap();
    eventually("both nodes agree", PATIENCE, || async {
        room.state().await.unwrap().history_hash == bobs_room.state().await.unwrap().history_hash
    })
    .await
    .unwrap();
    let ready = reqwest::get(format!("{}/readyz", restored.url())).await.unwrap();
    assert_eq!(ready.status().as_u16(), 200, "ready once caught up");
    peer.stop().await.unwrap();
}

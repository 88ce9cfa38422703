//! Acknowledged messages survive a power cut, not only `kill -9`.
//!
//! `SIGKILL` leaves the page cache to reach the disk, so the crash tests
//! cannot tell an fsync from none. Here the node's data directory is on
//! the testkit's lossy filesystem: the node is killed, then the power is
//! cut (every write not fsynced is discarded), then the node restarts on
//! what a disk would hold. With the default sync policy every
//! acknowledged message is there once; with `storage.sync = "wal"` (no
//! fsync) acknowledged messages are lost, which shows the harness bites.

use accord_proto::SecretKey;
use accord_proto::event::JoinRule;
use accord_sdk::{Client, HistoryQuery, Room};
use accord_store::SyncPolicy;
use accord_testkit::NodeProcess;
use accord_testkit::lossy_fs::{Discarded, LossyFs};
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

/// How long a (re)started node may take to answer.
const START: Duration = Duration::from_secs(60);

/// Messages sent by each of the writers before the cut.
const PER_WRITER: usize = 40;

/// Writers sending at once (their batches share group commits).
const WRITERS: usize = 3;

/// How many times each event id of the room appears in its history.
async fn occurrences(room: &Room) -> HashMap<accord_proto::EventId, usize> {
    let mut seen = HashMap::new();
    let mut query = Some(HistoryQuery::after(0).limit(500));
    while let Some(q) = query {
        let page = room.history(q).await.expect("history after the power cut");
        for item in &page.items {
            *seen.entry(item.as_ref().expect("every stored event verifies").id()).or_insert(0) += 1;
        }
        query = page.next;
    }
    seen
}

/// What one run gives: the acknowledged messages, how often each is in
/// the history after the cut and the restart, and what the cut discarded.
struct Outcome {
    acked: Vec<accord_proto::EventId>,
    seen: HashMap<accord_proto::EventId, usize>,
    discarded: Discarded,
}

/// A node under `sync` on a lossy filesystem: accounts and a room are set
/// up (and, with `writeback`, reach the disk as the kernel's periodic
/// writeback would take them there), then writers send messages and
/// collect the acknowledgements; the node is killed, the power cut, the
/// node started again on what is left.
async fn send_kill_cut_restart(sync: SyncPolicy, writeback: bool) -> Outcome {
    let mut fs = LossyFs::mount().expect("the power-loss tests need the lossy FUSE filesystem");
    let binary = Path::new(env!("CARGO_BIN_EXE_accord-node"));
    let mut node = NodeProcess::init_in(binary, fs.path(), "power.local", |config| {
        config.limits.events_per_second = 10_000;
        config.limits.burst = 10_000;
        config.storage.sync = sync;
    })
    .expect("accord-node init on the lossy filesystem");
    // The machine was set up, and its disk synced, before the test.
    fs.sync_all();

    node.start(START).await.unwrap();
    let writers: Vec<Client> = (0..WRITERS)
        .map(|_| Client::builder().node_url(node.url()).key(SecretKey::generate().unwrap()).build().unwrap())
        .collect();
    for (i, w) in writers.iter().enumerate() {
        w.register(&format!("writer{i}"), None).await.unwrap();
    }
    let room = writers[0].create_room("power", JoinRule::Public).await.unwrap();
    for w in &writers[1..] {
        w.room(room.id()).join().await.unwrap();
    }
    if writeback {
        fs.sync_all();
    }

    let sends = writers.iter().enumerate().map(|(w, client)| {
        let room = client.room(room.id());
        async move {
            let mut acked = Vec::new();
            for i in 0..PER_WRITER {
                acked.push(room.send_text(&format!("w{w} m{i}")).await.expect("send acknowledged").event_id);
            }
            acked
        }
    });
    let acked: Vec<_> = futures::future::join_all(sends).await.into_iter().flatten().collect();

    node.kill().unwrap();
    let discarded = fs.power_cut().expect("power cut");
    node.start(START).await.expect("the node starts after the power cut: its store opens");
    let seen = occurrences(&writers[0].room(room.id())).await;
    node.kill().unwrap();
    drop(node);
    Outcome { acked, seen, discarded }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_messages_survive_a_power_cut_with_the_default_fsync_policy() {
    let outcome = send_kill_cut_restart(SyncPolicy::default(), false).await;

    assert_eq!(outcome.acked.len(), WRITERS * PER_WRITER);
    for id in &outcome.acked {
        assert_eq!(outcome.seen.get(id), Some(&1), "acknowledged event {id} present exactly once after the cut");
    }
    assert!(outcome.seen.values().all(|n| *n == 1), "no event appears twice");
    eprintln!("with fsync: all {} acknowledged messages kept; {:?}", outcome.acked.len(), outcome.discarded);
    // The cut did discard something (the node's unsynced log, at least):
    // what survived, survived by being fsynced.
    assert!(outcome.discarded.files > 0, "the power cut discarded unsynced writes: {:?}", outcome.discarded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_fsync_acknowledged_messages_are_lost_in_a_power_cut() {
    // The accounts and the room reach the disk first, so that what is
    // lost is the messages, and the history can still be asked for.
    let outcome = send_kill_cut_restart(SyncPolicy::Wal, true).await;

    let lost = outcome.acked.iter().filter(|id| !outcome.seen.contains_key(*id)).count();
    eprintln!("without fsync: {lost} of {} acknowledged messages lost; {:?}", outcome.acked.len(), outcome.discarded);
    assert!(
        lost > 0,
        "with storage.sync = \"wal\" a power cut loses acknowledged messages ({} acknowledged, all kept: the \
         harness does not bite)",
        outcome.acked.len()
    );
    assert!(outcome.discarded.bytes_cut > 0, "the cut discarded the unsynced WAL: {:?}", outcome.discarded);
}

/// Entries in the list imported before the cut: more than a store's bulk
/// range, so the leaves are written as a table file and ingested.
const LIST_ENTRIES: usize = accord_store::BULK_LEAVES + 1_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acknowledged_bulk_list_import_survives_a_power_cut_whole() {
    let mut fs = LossyFs::mount().expect("the power-loss tests need the lossy FUSE filesystem");
    let binary = Path::new(env!("CARGO_BIN_EXE_accord-node"));
    let mut node = NodeProcess::init_in(binary, fs.path(), "power.local", |_| {}).expect("accord-node init");
    fs.sync_all();
    node.start(START).await.unwrap();
    node.admin("POST", "/lists", Some(serde_json::json!({"name": "big"}))).await.unwrap();
    let text: String = (0..LIST_ENTRIES)
        .map(|i| format!("{} spam\n", accord_proto::Sha256Hash::digest(&(i as u64).to_be_bytes())))
        .collect();
    let imported = node
        .admin("POST", "/lists/big/import", Some(serde_json::json!({"format": "plain", "text": text})))
        .await
        .unwrap();
    assert_eq!(imported["count"].as_u64(), Some(LIST_ENTRIES as u64), "{imported}");

    node.kill().unwrap();
    let discarded = fs.power_cut().expect("power cut");
    node.start(START).await.expect("the node starts after the power cut");
    let lists = node.admin("GET", "/lists", None).await.unwrap();
    assert_eq!(lists["lists"][0]["size"].as_u64(), Some(LIST_ENTRIES as u64), "{lists}");
    assert_eq!(lists["indexed"].as_u64(), Some(LIST_ENTRIES as u64), "every leaf is read back: {lists}");
    let last = node.admin("GET", &format!("/lists/big/entries?from={}&limit=5", LIST_ENTRIES - 1), None).await.unwrap();
    assert_eq!(last["entries"].as_array().map(Vec::len), Some(1), "no leaf past the list's size: {last}");
    assert!(last["entries"][0]["entry"].is_object(), "the last leaf parses: {last}");
    eprintln!("bulk list import kept whole; {discarded:?}");
    node.kill().unwrap();
}

//! A full disk: the node's data directory is on a small tmpfs that the
//! test fills. Clients get the typed `507 storage_full` (no panic, no
//! hang), nothing acknowledged is lost, reads go on, and once space
//! returns the same process accepts writes again: RocksDB recovers from
//! its no-space error by itself, checking every 5 seconds, once as much
//! space is free as a memtable takes (its 64 MiB write buffer).

use accord_proto::SecretKey;
use accord_proto::event::JoinRule;
use accord_sdk::{Client, HistoryQuery, Room};
use accord_testkit::NodeProcess;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// How long a (re)started node may take to answer.
const START: Duration = Duration::from_secs(60);

/// The size of the small filesystem: room for RocksDB's preallocated
/// WAL (1.1 × its 64 MiB write buffer) and for a filler larger than the
/// 64 MiB that RocksDB waits for before it resumes writing.
const SIZE: &str = "176m";

/// The size of each upload that fills the node's WAL past its
/// preallocated part once the disk is full.
const UPLOAD: usize = 8 << 20;

/// An answer must arrive within this, full disk or not.
const ANSWER: Duration = Duration::from_secs(30);

/// How long the node may take to accept writes once space is back (its
/// recovery is checked every 5 s).
const RECOVERY: Duration = Duration::from_secs(60);

/// A tmpfs of [`SIZE`] mounted on a temporary directory, unmounted when
/// dropped (on every path, a failing test's too).
struct SmallFs {
    dir: tempfile::TempDir,
}

impl SmallFs {
    fn mount() -> SmallFs {
        let dir = tempfile::Builder::new().prefix("accord-small-fs").tempdir().unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={SIZE}"), "accord-small-fs"])
            .arg(dir.path())
            .status();
        assert!(
            status.as_ref().is_ok_and(|s| s.success()),
            "the disk-full test mounts a tmpfs and needs root (CAP_SYS_ADMIN): mount said {status:?}"
        );
        SmallFs { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.dir.path()).status();
    }
}

/// Writes `path` until the filesystem refuses (ENOSPC), in 1 MiB writes,
/// then in 4 KiB ones, then in single bytes: nothing is left free.
fn fill(path: &Path) -> u64 {
    let mut file = std::fs::File::create(path).unwrap();
    let mut written = 0u64;
    for chunk in [1 << 20, 4096, 1] {
        let bytes = vec![0x5a; chunk];
        loop {
            match file.write(&bytes) {
                Ok(0) => break,
                Ok(n) => written += n as u64,
                Err(e) if e.kind() == std::io::ErrorKind::StorageFull => break,
                Err(e) => panic!("filling the disk: {e}"),
            }
        }
    }
    let _ = file.sync_all();
    written
}

/// How many times each event id of the room appears in its history.
async fn occurrences(room: &Room) -> HashMap<accord_proto::EventId, usize> {
    let mut seen = HashMap::new();
    let mut query = Some(HistoryQuery::after(0).limit(500));
    while let Some(q) = query {
        let page = tokio::time::timeout(ANSWER, room.history(q)).await.expect("history answers").expect("history");
        for item in &page.items {
            *seen.entry(item.as_ref().expect("every stored event verifies").id()).or_insert(0) += 1;
        }
        query = page.next;
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_gives_typed_errors_loses_nothing_and_the_node_resumes_when_space_returns() {
    let small = SmallFs::mount();
    let binary = Path::new(env!("CARGO_BIN_EXE_accord-node"));
    let mut node = NodeProcess::init_in(binary, small.path(), "full.local", |config| {
        config.limits.events_per_second = 10_000;
        config.limits.burst = 10_000;
    })
    .expect("accord-node init on the small filesystem");
    node.start(START).await.unwrap();
    let client = Client::builder().node_url(node.url()).key(SecretKey::generate().unwrap()).build().unwrap();
    client.register("writer", None).await.unwrap();
    let room = client.create_room("full", JoinRule::Public).await.unwrap();
    let mut acked = Vec::new();
    for i in 0..20 {
        acked.push(room.send_text(&format!("before {i}")).await.unwrap().event_id);
    }

    // The disk fills up (another program's file, say).
    let filler: PathBuf = small.path().join("filler");
    let filled = fill(&filler);

    // Uploads (large writes) fill the WAL past what RocksDB preallocated;
    // each is answered, and once the disk refuses the node's writes,
    // refused with the typed code. Nothing hangs.
    let full = |e: &accord_sdk::SdkError| {
        e.code() == "storage_full" && matches!(e, accord_sdk::SdkError::Api { status: 507, .. })
    };
    let mut uploads = Vec::new();
    let mut rng = fastrand::Rng::with_seed(16);
    let refused = loop {
        assert!(uploads.len() < 40, "{} uploads of {UPLOAD} bytes acknowledged on a full disk", uploads.len());
        let bytes: Vec<u8> = std::iter::repeat_with(|| rng.u8(..)).take(UPLOAD).collect();
        let sent = tokio::time::timeout(ANSWER, client.upload_media(bytes)).await;
        match sent.expect("an upload on a full disk is answered, not left hanging") {
            Ok(uploaded) => uploads.push(uploaded.hash),
            Err(e) => break e,
        }
    };
    assert!(full(&refused), "a full disk is refused with 507 storage_full: {refused:?}");
    // Messages too, until space returns.
    for i in 0..3 {
        let sent = tokio::time::timeout(ANSWER, room.send_text(&format!("during {i}"))).await;
        match sent.expect("a send on a full disk is answered, not left hanging") {
            Ok(receipt) => panic!("a message was acknowledged while the store refuses writes: {}", receipt.event_id),
            Err(e) => assert!(full(&e), "a send on a full disk is refused with 507 storage_full: {e:?}"),
        }
    }
    assert!(node.is_running(), "the node did not exit on a full disk");
    // Reads go on, and hold everything acknowledged.
    let seen = occurrences(&room).await;
    for id in &acked {
        assert_eq!(seen.get(id), Some(&1), "acknowledged event {id} readable while the disk is full");
    }

    // Space returns: the same process accepts writes again, by itself.
    std::fs::remove_file(&filler).unwrap();
    let freed = Instant::now();
    let resumed = loop {
        match tokio::time::timeout(ANSWER, room.send_text("after")).await.expect("a send is answered") {
            Ok(receipt) => break receipt.event_id,
            Err(e) => {
                assert_eq!(e.code(), "storage_full", "until it recovers, the node refuses with storage_full: {e}");
                assert!(
                    freed.elapsed() < RECOVERY,
                    "the node did not accept writes within {RECOVERY:?} of space returning"
                );
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    };
    let recovery = freed.elapsed();
    acked.push(resumed);
    for i in 0..20 {
        acked.push(room.send_text(&format!("after {i}")).await.unwrap().event_id);
    }
    assert!(node.is_running(), "the same process recovered (no restart)");
    eprintln!(
        "filled {} MiB; {} uploads of {} MiB acknowledged, then storage_full; {} messages acknowledged; \
         writes accepted again {recovery:.1?} after space returned",
        filled >> 20,
        uploads.len(),
        UPLOAD >> 20,
        acked.len()
    );

    // Nothing acknowledged is lost or doubled, now and after a restart.
    let seen = occurrences(&room).await;
    for id in &acked {
        assert_eq!(seen.get(id), Some(&1), "acknowledged event {id} present exactly once");
    }
    node.kill().unwrap();
    node.start(START).await.expect("the store opens after the full disk");
    let seen = occurrences(&room).await;
    for id in &acked {
        assert_eq!(seen.get(id), Some(&1), "acknowledged event {id} present exactly once after a restart");
    }
    assert!(seen.values().all(|n| *n == 1), "no event appears twice");
    for hash in &uploads {
        // fetch_media checks that the bytes hash to what was acknowledged.
        client.fetch_media(hash).await.expect("an acknowledged upload is served whole after a restart");
    }
    node.kill().unwrap();
    drop(node);
}

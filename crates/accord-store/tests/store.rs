//! The store: typed records, atomic batches, group commit, schema version.

use accord_proto::event::{Event, EventBody, EventContent, JoinRule, Role};
use accord_proto::{IssuerId, ListId, NodeId, SecretKey, Timestamp, Verified};
use accord_store::{
    BULK_LEAVES, Batch, Cf, EventRecord, ListRecord, MembershipChange, Migrate, RoomRecord, SCHEMA_VERSION, Store,
    StoreConfig, StoreError, SyncPolicy,
};

fn open(dir: &std::path::Path) -> Store {
    Store::open(&StoreConfig::new(dir.to_path_buf()).sync(SyncPolicy::Fsync).migrate(Migrate::Apply)).unwrap()
}

fn room_events(n: usize) -> Vec<Event> {
    let (author, node) = (SecretKey::from_seed([1; 32]), SecretKey::from_seed([2; 32]));
    let body = |room, content| EventBody { room, author: author.account_id(), ts: Timestamp::from_millis(5), content };
    let create = Event::stamp(
        Verified::sign(
            body(None, EventContent::Create { name: "r".to_string().try_into().unwrap(), join_rule: JoinRule::Public }),
            &author,
        )
        .unwrap(),
        &node,
        1,
        vec![],
        0,
        Timestamp::from_millis(6),
    )
    .unwrap();
    let mut out = vec![create.clone()];
    for i in 0..n {
        let text =
            EventContent::Message { text: format!("m{i}").try_into().unwrap(), reply_to: None, attachments: vec![] };
        let signed = Verified::sign(body(Some(create.room()), text), &author).unwrap();
        let prev = out.last().unwrap().id();
        out.push(
            Event::stamp(signed, &node, i as u64 + 2, vec![prev], i as u64 + 1, Timestamp::from_millis(7)).unwrap(),
        );
    }
    out
}

#[tokio::test]
async fn events_page_forward_and_backward_and_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let events = room_events(25);
    let room = events[0].room();
    {
        let store = open(dir.path());
        for (i, e) in events.iter().enumerate() {
            let rec = EventRecord {
                event: e,
                cursor: i as u64 + 1,
                memberships: vec![MembershipChange { account: e.author(), role: Some(Role::Owner) }],
                room: (i == 0).then(|| RoomRecord { room, name: "r".into() }),
                outbox: vec![],
                snapshot: None,
            };
            store.append_event(rec).await.unwrap();
        }
        store.close().unwrap();
    }
    let store = open(dir.path());
    assert_eq!(store.latest_cursor(&room).unwrap(), 26);
    let first = store.timeline(&room, Some(0), None, 10).unwrap();
    assert_eq!(first.iter().map(|e| e.cursor).collect::<Vec<_>>(), (1..=10).collect::<Vec<_>>());
    let back = store.timeline(&room, None, Some(26), 3).unwrap();
    assert_eq!(back.iter().map(|e| e.cursor).collect::<Vec<_>>(), [25, 24, 23]);
    assert_eq!(back[0].event.claimed_id(), events[24].id());
    assert!(store.timeline(&room, Some(26), None, 10).unwrap().is_empty());
    assert_eq!(store.rooms_of(&events[0].author()).unwrap(), vec![(room, Role::Owner)]);
    assert_eq!(store.rooms().unwrap().len(), 1);
}

/// Writers committing at once land and share fsyncs: 400 acknowledged
/// batches, written as they arrive, are all readable, take on average at
/// least ten to an fsync, and the store's counts add up. (How far apart
/// fsynced groups are spaced is a matter of timing, measured by
/// `accord-bench`, not asserted here.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_all_land_through_group_commit_sharing_fsyncs_and_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let before = store.commits();
    let tasks: Vec<_> = (0..400u32)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut b = Batch::new();
                b.put(Cf::Meta, format!("k{i}").into_bytes(), i.to_be_bytes().to_vec());
                b.put(Cf::Rooms, format!("r{i}").into_bytes(), b"{}".to_vec());
                store.write(b).await
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    for i in 0..400u32 {
        assert_eq!(store.get(Cf::Meta, format!("k{i}").as_bytes()).unwrap(), Some(i.to_be_bytes().to_vec()));
    }
    let after = store.commits();
    assert_eq!(after.batches - before.batches, 400);
    let fsyncs = after.fsyncs - before.fsyncs;
    assert!(fsyncs >= 1, "acknowledged fsynced writes were never fsynced");
    assert!(fsyncs * 10 <= 400, "400 concurrent writes took {fsyncs} fsyncs");
    assert_eq!(after.commits - before.commits, fsyncs, "every group held an fsynced batch");
    let mut recoverable = Batch::new().recoverable();
    recoverable.put(Cf::Meta, b"relaxed".to_vec(), b"1".to_vec());
    store.write(recoverable).await.unwrap();
    let last = store.commits();
    assert_eq!((last.commits, last.fsyncs, last.batches), (after.commits + 1, after.fsyncs, after.batches + 1));
}

fn files_of(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| !e.file_name().to_string_lossy().starts_with("LOG"))
        .map(|e| (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap()))
        .collect();
    files.sort();
    files
}

fn set_schema(dir: &std::path::Path, version: u32) {
    let db = rocksdb::DB::open_cf(&rocksdb::Options::default(), dir, Cf::ALL.map(|c| c.name())).unwrap();
    db.put_cf(db.cf_handle("meta").unwrap(), b"schema_version", version.to_be_bytes()).unwrap();
    db.flush_cf(db.cf_handle("meta").unwrap()).unwrap();
}

#[test]
fn a_database_of_a_newer_schema_is_refused_without_being_written() {
    let dir = tempfile::tempdir().unwrap();
    open(dir.path()).close().unwrap();
    set_schema(dir.path(), SCHEMA_VERSION + 1);
    let before = files_of(dir.path());
    for migrate in [Migrate::Apply, Migrate::Refuse] {
        match Store::open(&StoreConfig::new(dir.path().to_path_buf()).sync(SyncPolicy::Wal).migrate(migrate)) {
            Err(e @ StoreError::TooNew { .. }) => {
                assert!(
                    matches!(e, StoreError::TooNew { found, supported } if found == SCHEMA_VERSION + 1 && supported == SCHEMA_VERSION)
                );
                assert!(e.to_string().contains("newer accord-node"), "{e}");
            }
            other => panic!("expected a refusal of a newer store, got {other:?}"),
        }
    }
    assert!(before == files_of(dir.path()), "refusing a newer store changed its files");
}

#[test]
fn a_database_of_an_older_schema_is_refused_unchanged_when_migrations_are_not_allowed() {
    let dir = tempfile::tempdir().unwrap();
    open(dir.path()).close().unwrap();
    set_schema(dir.path(), 1);
    let before = files_of(dir.path());
    match Store::open(&StoreConfig::new(dir.path().to_path_buf()).sync(SyncPolicy::Wal).migrate(Migrate::Refuse)) {
        Err(StoreError::NeedsMigration { found: 1, expected: SCHEMA_VERSION }) => {}
        other => panic!("expected a refusal of an older store, got {other:?}"),
    }
    assert!(before == files_of(dir.path()), "refusing an older store changed its files");
    assert_eq!(accord_store::migrate::schema_version(dir.path()).unwrap(), Some(1));
}

#[tokio::test]
async fn outbox_entries_are_written_with_their_event_kept_per_peer_in_order_and_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let events = room_events(4);
    let room = events[0].room();
    let (p1, p2): (NodeId, NodeId) =
        (SecretKey::generate().unwrap().public().into(), SecretKey::generate().unwrap().public().into());
    {
        let store = open(dir.path());
        let records = events
            .iter()
            .enumerate()
            .map(|(i, e)| EventRecord {
                event: e,
                cursor: i as u64 + 1,
                memberships: vec![],
                room: (i == 0).then(|| RoomRecord { room, name: "r".into() }),
                outbox: if i % 2 == 0 { vec![p1, p2] } else { vec![p1] },
                snapshot: None,
            })
            .collect();
        store.append_events(records).await.unwrap();
        store.close().unwrap();
    }
    let store = open(dir.path());
    let mut peers = store.outbox_peers().unwrap();
    peers.sort();
    let mut want = vec![p1, p2];
    want.sort();
    assert_eq!(peers, want);
    let first = store.outbox_in(&p1, &room, 0, 100).unwrap();
    assert_eq!(first.iter().map(|e| e.cursor).collect::<Vec<_>>(), vec![1, 2, 3, 4, 5]);
    assert_eq!(first.iter().map(|e| e.event).collect::<Vec<_>>(), events.iter().map(|e| e.id()).collect::<Vec<_>>());
    assert_eq!(store.outbox_in(&p2, &room, 0, 100).unwrap().len(), 3);

    assert_eq!(store.outbox_rooms(&p1).unwrap(), vec![room]);
    let from_three = store.outbox_in(&p1, &room, 3, 2).unwrap();
    assert_eq!(
        from_three.iter().map(|e| e.cursor).collect::<Vec<_>>(),
        vec![3, 4],
        "a room's entries from a cursor on"
    );

    store.outbox_remove(first.iter().take(4).map(|e| e.key.clone()).collect()).await.unwrap();
    let rest = store.outbox_in(&p1, &room, 0, 100).unwrap();
    assert_eq!(rest.iter().map(|e| e.cursor).collect::<Vec<_>>(), vec![5]);
    store.outbox_remove(rest.into_iter().map(|e| e.key).collect()).await.unwrap();
    assert_eq!(store.outbox_peers().unwrap(), vec![p2], "a peer with nothing left is not listed");
}

#[tokio::test]
async fn origin_events_page_one_origins_events_by_sequence_number() {
    let dir = tempfile::tempdir().unwrap();
    let events = room_events(5);
    let room = events[0].room();
    let origin = events[0].origin();
    let store = open(dir.path());
    for (i, e) in events.iter().enumerate() {
        let rec = EventRecord {
            event: e,
            cursor: i as u64 + 1,
            memberships: vec![],
            room: (i == 0).then(|| RoomRecord { room, name: "r".into() }),
            outbox: vec![],
            snapshot: None,
        };
        store.append_event(rec).await.unwrap();
    }
    let seqs = |after, limit| {
        store
            .origin_events(&room, &origin, after, limit)
            .unwrap()
            .iter()
            .map(|e| e.verify().unwrap().stamp_part().seq)
            .collect::<Vec<_>>()
    };
    assert_eq!(seqs(0, 100), vec![1, 2, 3, 4, 5, 6]);
    assert_eq!(seqs(4, 100), vec![5, 6]);
    assert_eq!(seqs(1, 2), vec![2, 3]);
    let stranger: NodeId = SecretKey::generate().unwrap().public().into();
    assert!(store.origin_events(&room, &stranger, 0, 10).unwrap().is_empty());
}

#[tokio::test]
async fn a_store_keeps_its_memtables_and_block_cache_within_its_memory_budget_and_reports_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = StoreConfig::new(dir.path().to_path_buf()).sync(SyncPolicy::Wal);
    config.memory_mb = 8;
    let half = 4u64 << 20;
    let store = Store::open(&config).unwrap();
    // 24 MiB of records, six times what the memtables may hold.
    let value = vec![7u8; 1024];
    for chunk in 0..96u32 {
        let mut b = Batch::new();
        for i in 0..256u32 {
            b.put(Cf::Meta, format!("k{chunk:03}-{i:03}").into_bytes(), value.clone());
        }
        store.write(b).await.unwrap();
    }
    let written = store.memory().unwrap();
    assert!(written.memtables > 0, "what was written is in a memtable: {written:?}");
    assert!(written.memtables <= 2 * half, "memtables are flushed at their half of the budget: {written:?}");
    // Reading everything back goes through the block cache.
    for chunk in 0..96u32 {
        for i in (0..256u32).step_by(16) {
            assert!(store.get(Cf::Meta, format!("k{chunk:03}-{i:03}").as_bytes()).unwrap().is_some());
        }
    }
    let read = store.memory().unwrap();
    assert!(read.block_cache > 0, "reads filled the block cache: {read:?}");
    assert!(read.block_cache <= half + (half / 4), "the block cache keeps to its half of the budget: {read:?}");
}

fn list_record(size: u64) -> ListRecord {
    ListRecord {
        list: ListId { issuer: IssuerId::from(SecretKey::from_seed([3; 32]).public()), name: "big".parse().unwrap() },
        own: false,
        subscribed: true,
        actions: Default::default(),
        pdq_threshold: None,
        size,
        checkpoint: None,
        distrusted: None,
        mode: Default::default(),
        on_removal: Default::default(),
        priority: 0,
        description: None,
    }
}

fn leaves(range: std::ops::Range<u64>, tag: &str) -> Vec<Vec<u8>> {
    // 100 bytes and more: a bulk range is more than the memtable check's 4 MiB.
    range.map(|i| format!("{tag}{i}{:.>100}", "").into_bytes()).collect()
}

#[tokio::test]
async fn a_bulk_range_of_leaves_is_written_as_one_table_and_survives_reopening_with_no_build_files_left() {
    let dir = tempfile::tempdir().unwrap();
    let n = BULK_LEAVES as u64 + 10;
    {
        let store = open(dir.path());
        store.append_list(&list_record(3), 0, leaves(0..3, "a")).await.unwrap();
        store.append_list(&list_record(n), 3, leaves(3..n, "b")).await.unwrap();
        let record = list_record(n);
        assert_eq!(store.lists().unwrap(), vec![record.clone()]);
        let got = store.list_leaves(&record.list, 0..n, usize::MAX).unwrap();
        assert_eq!(got.len() as u64, n);
        assert_eq!(got[..3], leaves(0..3, "a"));
        assert_eq!(got[3..], leaves(3..n, "b"));
        let memtables = store.memory().unwrap().memtables;
        assert!(memtables < 4 << 20, "the bulk range did not pass through a memtable: {memtables} bytes");
        drop(store);
    }
    let ingest = dir.path().join("ingest");
    assert!(!ingest.exists() || std::fs::read_dir(&ingest).unwrap().next().is_none(), "no table file is left to build");
    // A table file left half-built by a crash is cleared when the store opens.
    std::fs::create_dir_all(&ingest).unwrap();
    std::fs::write(ingest.join("list_entries-1-0.sst"), b"half a table").unwrap();
    let store = open(dir.path());
    assert!(!ingest.exists(), "the leftover build directory is removed at open");
    let record = list_record(n);
    let got = store.list_leaves(&record.list, n - 2..n, 10).unwrap();
    assert_eq!(got, leaves(n - 2..n, "b"));
    // A later write of the same indexes replaces the ingested leaves.
    store.append_list(&list_record(n), n - 1, leaves(n - 1..n, "c")).await.unwrap();
    assert_eq!(
        store.list_leaves(&record.list, n - 2..n, 10).unwrap(),
        [leaves(n - 2..n - 1, "b"), leaves(n - 1..n, "c")].concat()
    );
}

//! The store: typed records, atomic batches, group commit, schema version.

use accord_proto::event::{Event, EventBody, EventContent, JoinRule, Role};
use accord_proto::{SecretKey, Timestamp, Verified};
use accord_store::{Batch, Cf, EventRecord, MembershipChange, RoomRecord, Store, StoreConfig, StoreError, SyncPolicy};

fn open(dir: &std::path::Path) -> Store {
    Store::open(&StoreConfig { path: dir.to_path_buf(), sync: SyncPolicy::Fsync }).unwrap()
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
        let text = EventContent::Message { text: format!("m{i}").try_into().unwrap(), reply_to: None };
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_all_land_through_group_commit() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
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
}

#[test]
fn a_database_of_another_schema_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path());
        store.close().unwrap();
    }
    {
        let db = rocksdb::DB::open_cf(&rocksdb::Options::default(), dir.path(), Cf::ALL.map(|c| c.name())).unwrap();
        db.put_cf(db.cf_handle("meta").unwrap(), b"schema_version", 99u32.to_be_bytes()).unwrap();
    }
    match Store::open(&StoreConfig { path: dir.path().to_path_buf(), sync: SyncPolicy::Wal }) {
        Err(StoreError::SchemaMismatch { found: 99, expected: 1 }) => {}
        other => panic!("expected a schema mismatch, got {other:?}"),
    }
}

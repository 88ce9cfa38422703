//! A subscriber's view of a list over a real RocksDB directory: ranges are
//! applied only when they make the issuer's signed root, forged checkpoints
//! are refused, and everything applied survives reopening.

use accord_node::lists::Lists;
use accord_proto::blocklist::checkpoint::Checkpoint;
use accord_proto::blocklist::entry::{Action, Category, ListEntry, Target, TargetKind};
use accord_proto::blocklist::merkle::MerkleLog;
use accord_proto::{ContentHash, IssuerId, ListId, SecretKey, Timestamp};
use accord_store::{Store, StoreConfig, SyncPolicy};
use std::collections::BTreeMap;

fn open(dir: &std::path::Path) -> Store {
    Store::open(&StoreConfig { path: dir.to_path_buf(), sync: SyncPolicy::Fsync }).unwrap()
}

fn entry(i: u8) -> Vec<u8> {
    ListEntry::Add {
        created: Timestamp::from_millis(1_000),
        target: Target::Content { id: ContentHash::of(&[i]) },
        category: Category::Spam,
        action: Action::Reject,
        reason: None,
        evidence: None,
        expires: None,
    }
    .to_bytes()
    .unwrap()
}

#[tokio::test]
async fn a_range_is_applied_only_if_it_makes_the_signed_root_and_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let node_key = SecretKey::generate().unwrap();
    let issuer = SecretKey::generate().unwrap();
    let list = ListId { issuer: IssuerId::from(issuer.public()), name: "spam".parse().unwrap() };
    let leaves: Vec<Vec<u8>> = (0..3).map(entry).collect();
    let mut log = MerkleLog::new();
    for leaf in &leaves {
        log.push(leaf);
    }
    let checkpoint = Checkpoint { list: list.clone(), size: 3, root: log.root(), time: Timestamp::now() };
    let verified = checkpoint.sign(&issuer).unwrap().verify(&list).unwrap();
    let probe = ContentHash::of(&[1]).to_string();
    {
        let store = open(dir.path());
        let lists = Lists::load(&store, &node_key).unwrap();
        lists.subscribe(&store, &list, BTreeMap::new(), None).await.unwrap();

        // A tampered leaf: refused, nothing applied.
        let mut tampered = leaves.clone();
        tampered[1] = entry(9);
        let err = lists.apply_range(&store, &verified, 0, &tampered).await.unwrap_err();
        assert_eq!(err.code(), "bad_range");
        assert_eq!(lists.record(&list).await.unwrap().size, 0);
        assert!(lists.lookup(TargetKind::Content, &probe).is_none());

        // A short range: refused as well.
        assert_eq!(lists.apply_range(&store, &verified, 0, &leaves[..2]).await.unwrap_err().code(), "bad_range");

        // A checkpoint signed by someone else does not verify.
        let forged = checkpoint.sign(&issuer).unwrap().note().replace("\n3\n", "\n4\n");
        let forged = accord_proto::blocklist::checkpoint::SignedCheckpoint::from_note(forged);
        assert!(forged.verify(&list).is_err());
        let impostor = SecretKey::generate().unwrap();
        assert!(checkpoint.sign(&impostor).is_err(), "only the issuer's key signs the list");

        // The honest range applies.
        assert_eq!(lists.apply_range(&store, &verified, 0, &leaves).await.unwrap(), 3);
        assert_eq!(lists.lookup(TargetKind::Content, &probe).map(|m| m.entry), Some(1));
        lists.set_exception(&store, &list, 1, Some("ours")).await.unwrap();
        assert!(lists.lookup(TargetKind::Content, &probe).is_none());
        store.close().unwrap();
    }
    let store = open(dir.path());
    let lists = Lists::load(&store, &node_key).unwrap();
    assert_eq!(lists.record(&list).await.unwrap().size, 3, "the list survives reopening");
    assert_eq!(lists.indexed(), 3);
    assert!(lists.lookup(TargetKind::Content, &probe).is_none(), "and so does the exception");
    assert!(lists.lookup(TargetKind::Content, &ContentHash::of(&[2]).to_string()).is_some());
}

//! A subscriber's view of a list over a real RocksDB directory: ranges are
//! applied only when they make the issuer's signed root and every leaf is
//! an entry, forged checkpoints are refused, and everything applied survives reopening.

use accord_node::lists::Lists;
use accord_proto::blocklist::checkpoint::Checkpoint;
use accord_proto::blocklist::entry::{Action, Category, ListEntry, Target, TargetKind};
use accord_proto::blocklist::merkle::MerkleLog;
use accord_proto::{ContentHash, IssuerId, ListId, SecretKey, Timestamp};
use accord_store::{Migrate, Store, StoreConfig, SyncPolicy};

fn open(dir: &std::path::Path) -> Store {
    Store::open(&StoreConfig::new(dir.to_path_buf()).sync(SyncPolicy::Fsync).migrate(Migrate::Apply)).unwrap()
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
        lists.subscribe(&store, &list, Default::default()).await.unwrap();

        // A tampered leaf: refused, nothing applied.
        let mut tampered = leaves.clone();
        tampered[1] = entry(9);
        let err = lists.apply_range(&store, &verified, 0, &tampered).await.unwrap_err();
        assert_eq!(err.code(), "bad_range");
        assert_eq!(lists.record(&list).await.unwrap().size, 0);
        assert!(lists.lookup(TargetKind::Content, &probe).is_none());

        // A short range: refused as well.
        assert_eq!(lists.apply_range(&store, &verified, 0, &leaves[..2]).await.unwrap_err().code(), "bad_range");

        // A leaf that is not an entry, though the issuer signed it
        // (spec/blocklists.md §10.4 step 3): refused, nothing applied.
        let mut invalid = leaves.clone();
        invalid[2] = b"not an entry".to_vec();
        let mut invalid_log = MerkleLog::new();
        for leaf in &invalid {
            invalid_log.push(leaf);
        }
        let signed = Checkpoint { list: list.clone(), size: 3, root: invalid_log.root(), time: Timestamp::now() }
            .sign(&issuer)
            .unwrap()
            .verify(&list)
            .unwrap();
        assert_eq!(lists.apply_range(&store, &signed, 0, &invalid).await.unwrap_err().code(), "invalid_entry");
        assert_eq!(lists.record(&list).await.unwrap().size, 0);

        // An altered checkpoint does not verify.
        let forged = checkpoint.sign(&issuer).unwrap().note().replace("\n3\n", "\n4\n");
        let forged = accord_proto::blocklist::checkpoint::SignedCheckpoint::from_note(forged);
        assert_eq!(forged.verify(&list).unwrap_err().code(), "bad_signature");
        // Nor does one an impostor signed under the issuer's name and key
        // id, written exactly as the issuer's own line; the same note
        // signed by the issuer's key verifies, so only the key differs.
        let note_signed_by = |key: &SecretKey| {
            use base64::Engine as _;
            let text = checkpoint.to_text();
            let name = list.issuer.to_string();
            let mut blob = accord_proto::blocklist::checkpoint::key_id(&name, &issuer.public()).to_vec();
            blob.extend_from_slice(&key.sign_raw(text.as_bytes()).to_bytes());
            let line = base64::engine::general_purpose::STANDARD.encode(blob);
            accord_proto::blocklist::checkpoint::SignedCheckpoint::from_note(format!(
                "{text}\n\u{2014} {name} {line}\n"
            ))
        };
        let impostor = SecretKey::generate().unwrap();
        let err = note_signed_by(&impostor).verify(&list).unwrap_err();
        assert_eq!(err.code(), "bad_signature", "an impostor's signature is refused");
        assert_eq!(note_signed_by(&issuer).verify(&list).unwrap(), verified);
        assert!(checkpoint.sign(&impostor).is_err(), "and the node never signs a list with another key");

        // The honest range applies.
        assert_eq!(lists.apply_range(&store, &verified, 0, &leaves).await.unwrap().leaves, 3);
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

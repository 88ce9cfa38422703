//! The core's operations called directly, as a door would call them: a
//! real store in a temporary directory and a real (unconnected) network,
//! no HTTP server and no peer.

use super::accounts::{self, Accounts, RegisterError};
use super::lists::Lists;
use super::reports::Reports;
use super::rooms::Rooms;
use super::rooms::append::{self, SubmitError};
use super::{Core, Parts, Tasks};
use crate::config::{Config, RegistrationPolicy};
use crate::metrics::Metrics;
use crate::network::{Network, Transports};
use accord_proto::event::{EventBody, EventContent, JoinRule, MessageText, RoomName};
use accord_proto::identity::{Handle, IdentityDocument};
use accord_proto::{AccountId, NodeId, RoomId, SecretKey, SignedBytes, Timestamp, Verified};
use accord_store::{Migrate, Store, StoreConfig};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// A core on a temporary directory; stopped when the test ends.
struct TestCore {
    core: Arc<Core>,
    _dir: tempfile::TempDir,
    _events: tokio::sync::mpsc::Receiver<crate::network::NetEvent>,
}

impl TestCore {
    async fn start(adjust: impl FnOnce(&mut Config)) -> TestCore {
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut config = Config::default();
        config.p2p.listen = vec!["/ip4/127.0.0.1/tcp/0".into()];
        config.p2p.bootstrap = vec![];
        adjust(&mut config);
        let node_key = SecretKey::generate().expect("key");
        let node_id = NodeId::from(node_key.public());
        let store =
            Store::open(&StoreConfig::new(dir.path().join("db")).sync(config.storage.sync).migrate(Migrate::Apply))
                .expect("store");
        let metrics = Arc::new(Metrics::new());
        let (tx, events) = tokio::sync::mpsc::channel(16);
        let network = Network::start(
            &node_key,
            &config.p2p.listen,
            &[],
            Transports::Sockets,
            config.p2p.max_incoming,
            tx,
            metrics.clone(),
        )
        .await
        .expect("network");
        let parts = Parts {
            accounts: Accounts::load(&store, node_id).expect("accounts"),
            rooms: Rooms::load(&store, node_id, &Default::default(), std::time::Duration::ZERO).expect("rooms"),
            limits: Arc::new(crate::core::limits::Limits::new(&config.limits, &config.registration, &config.reports)),
            tasks: crate::core::Tasks::default(),
            lists: Lists::load(&store, &node_key).expect("lists"),
            witness: crate::core::lists::witness::Witness::new(&node_id, SecretKey::generate().expect("key")),
            reports: Reports::load(&store, &config.reports).expect("reports"),
            media: crate::core::media::Media::load(&store, &config.media).expect("media"),
            names: crate::core::names::Names::new(&config.names, dir.path()).expect("names"),
            node_key,
            config,
            store,
            network,
            metrics,
        };
        TestCore { core: Arc::new(Core::new(parts)), _dir: dir, _events: events }
    }

    async fn stop(self) {
        self.core.tasks().stop().await;
        self.core.network.shutdown().await;
    }

    /// A signed identity document of a new account named `name` here.
    fn identity(&self, key: &SecretKey, name: &str) -> SignedBytes {
        let handle: Handle = format!("{name}@{}", self.core.config.node.name).parse().expect("handle");
        let doc = IdentityDocument {
            account: AccountId::from(key.public()),
            handle,
            home: self.core.node_id,
            created: Timestamp::now(),
        };
        Verified::sign(doc, key).expect("sign").raw().clone()
    }

    /// Registers a new account named `name`.
    async fn member(&self, name: &str) -> SecretKey {
        let key = SecretKey::generate().expect("key");
        accounts::register(&self.core, self.identity(&key, name), None).await.expect("registered");
        key
    }
}

fn event(key: &SecretKey, room: Option<RoomId>, content: EventContent) -> SignedBytes {
    let body = EventBody { room, author: AccountId::from(key.public()), ts: Timestamp::now(), content };
    Verified::sign(body, key).expect("sign").raw().clone()
}

fn create(key: &SecretKey, name: &str) -> SignedBytes {
    let content = EventContent::Create { name: RoomName::non_empty(name).expect("name"), join_rule: JoinRule::Public };
    event(key, None, content)
}

fn message(key: &SecretKey, room: RoomId, text: &str) -> SignedBytes {
    let text = MessageText::non_empty(text).expect("text");
    event(key, Some(room), EventContent::Message { text, reply_to: None, attachments: vec![] })
}

fn account(key: &SecretKey) -> AccountId {
    AccountId::from(key.public())
}

#[tokio::test]
async fn registration_attests_an_account_homed_here_once() {
    let node = TestCore::start(|_| {}).await;
    let key = SecretKey::generate().expect("key");
    let attestation = accounts::register(&node.core, node.identity(&key, "alice"), None).await.expect("registered");
    assert_eq!(attestation.account, account(&key));
    assert_eq!(attestation.node, node.core.node_id);
    assert_eq!(node.core.home_of(&account(&key)), Some(node.core.node_id));
    let again = accounts::register(&node.core, node.identity(&key, "alice2"), None).await;
    assert!(matches!(again, Err(RegisterError::AlreadyRegistered)), "{again:?}");
    let found = accounts::lookup(&node.core, &account(&key)).await.expect("looked up");
    assert_eq!(found.trust.expect("trust signals").home, node.core.node_id);
    node.stop().await;
}

#[tokio::test]
async fn a_handle_belongs_to_one_account() {
    let node = TestCore::start(|_| {}).await;
    node.member("alice").await;
    let other = SecretKey::generate().expect("key");
    let taken = accounts::register(&node.core, node.identity(&other, "alice"), None).await;
    assert!(matches!(taken, Err(RegisterError::HandleTaken)), "{taken:?}");
    assert_eq!(node.core.home_of(&account(&other)), None);
    node.stop().await;
}

#[tokio::test]
async fn invites_are_required_and_used_once_on_an_invite_only_node() {
    let node = TestCore::start(|c| {
        c.registration.policy = RegistrationPolicy::Invite;
        c.registration.invites = vec!["let-me-in".into()];
    })
    .await;
    let (a, b) = (SecretKey::generate().expect("key"), SecretKey::generate().expect("key"));
    let none = accounts::register(&node.core, node.identity(&a, "a"), None).await;
    assert!(matches!(none, Err(RegisterError::InviteRequired)), "{none:?}");
    let wrong = accounts::register(&node.core, node.identity(&a, "a"), Some("guess".into())).await;
    assert!(matches!(wrong, Err(RegisterError::BadInvite)), "{wrong:?}");
    accounts::register(&node.core, node.identity(&a, "a"), Some("let-me-in".into())).await.expect("invited");
    let reused = accounts::register(&node.core, node.identity(&b, "b"), Some("let-me-in".into())).await;
    assert!(matches!(reused, Err(RegisterError::BadInvite)), "{reused:?}");
    node.stop().await;
}

#[tokio::test]
async fn a_closed_node_registers_nobody() {
    let node = TestCore::start(|c| c.registration.policy = RegistrationPolicy::Closed).await;
    let key = SecretKey::generate().expect("key");
    let refused = accounts::register(&node.core, node.identity(&key, "alice"), None).await;
    assert!(matches!(refused, Err(RegisterError::Closed)), "{refused:?}");
    node.stop().await;
}

#[tokio::test]
async fn a_member_creates_a_room_and_posts_in_it_in_cursor_order() {
    let node = TestCore::start(|_| {}).await;
    let alice = node.member("alice").await;
    let created = append::submit(&node.core, account(&alice), create(&alice, "general"), &[]).await.expect("created");
    assert_eq!(created.room.0, created.event_id.0, "a room's id is its create event's id");
    assert_eq!(created.item.cursor, 1);
    let first = message(&alice, created.room, "hello");
    let posted = append::submit(&node.core, account(&alice), first.clone(), &[]).await.expect("posted");
    assert_eq!(posted.item.cursor, 2);
    let again = append::submit(&node.core, account(&alice), first, &[]).await;
    assert!(matches!(again, Err(SubmitError::Duplicate(id)) if id == posted.event_id), "{again:?}");
    node.stop().await;
}

#[tokio::test]
async fn events_are_refused_for_the_wrong_submitter_room_or_membership() {
    let node = TestCore::start(|c| c.limits.max_message_bytes = 16).await;
    let (alice, bob) = (node.member("alice").await, node.member("bob").await);
    let room = append::submit(&node.core, account(&alice), create(&alice, "general"), &[]).await.expect("room").room;
    let as_bob = append::submit(&node.core, account(&bob), message(&alice, room, "hi"), &[]).await;
    assert!(matches!(as_bob, Err(SubmitError::NotSubmitter)), "{as_bob:?}");
    let outsider = append::submit(&node.core, account(&bob), message(&bob, room, "hi"), &[]).await;
    assert_eq!(outsider.as_ref().map_err(SubmitError::code).err(), Some("not_member"), "{outsider:?}");
    let nowhere = RoomId(accord_proto::Sha256Hash::digest(b"no such room"));
    let unknown = append::submit(&node.core, account(&alice), message(&alice, nowhere, "hi"), &[]).await;
    assert!(matches!(unknown, Err(SubmitError::UnknownRoom)), "{unknown:?}");
    let long = append::submit(&node.core, account(&alice), message(&alice, room, "seventeen bytes!!"), &[]).await;
    assert!(matches!(long, Err(SubmitError::TooLarge { limit: 16 })), "{long:?}");
    node.stop().await;
}

#[tokio::test]
async fn stopping_waits_for_work_that_must_finish_and_cancels_the_rest() {
    let tasks = Tasks::default();
    let finished = Arc::new(AtomicBool::new(false));
    let flag = finished.clone();
    // Its handle is dropped at once: the tracker, not the caller, owns it.
    drop(tasks.spawn_to_completion(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        flag.store(true, Ordering::SeqCst);
    }));
    tasks.spawn(std::future::pending());
    tokio::time::timeout(Duration::from_secs(10), tasks.stop()).await.expect("stop ends despite a pending task");
    assert!(finished.load(Ordering::SeqCst), "work spawned to completion ran to its end before stop returned");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_witness_checks_and_records_each_list_atomically_under_concurrent_requests() {
    use crate::core::lists::witness::AddCheckpointError;
    use accord_proto::blocklist::checkpoint::Checkpoint;
    use accord_proto::blocklist::merkle::MerkleLog;
    use accord_proto::blocklist::witness::{AddCheckpoint, WitnessError};

    let node = TestCore::start(|_| {}).await;
    let issuer = SecretKey::generate().expect("key");
    let list = accord_proto::ListId { issuer: issuer.public().into(), name: "watched".parse().expect("name") };
    let mut log = MerkleLog::new();
    for i in 0..8 {
        log.push(format!("leaf {i}").as_bytes());
    }
    let body = |size: u64| {
        let root = log.root_at(size).expect("root");
        let checkpoint =
            Checkpoint { list: list.clone(), size, root, time: Timestamp::now() }.sign(&issuer).expect("signed");
        AddCheckpoint { old_size: 0, proof: vec![], checkpoint }.to_body()
    };
    // A list not held is an unknown origin.
    let unknown = node.core.witness.add_checkpoint(&node.core.lists, &node.core.store, body(1).as_bytes()).await;
    assert!(matches!(unknown.answer, Err(AddCheckpointError::Refused(WitnessError::UnknownOrigin))));
    node.core.lists.subscribe(&node.core.store, &list, Default::default()).await.expect("subscribed");

    // Eight requests from size 0 at once: one is cosigned, the others see
    // its size.
    let requests = (1..=8u64).map(|size| {
        let (core, body) = (node.core.clone(), body(size));
        tokio::spawn(async move { core.witness.add_checkpoint(&core.lists, &core.store, body.as_bytes()).await })
    });
    let answers: Vec<_> = futures::future::join_all(requests).await.into_iter().map(|r| r.expect("ran")).collect();
    let stored = node.core.store.witness_state(&list).expect("read").expect("recorded");
    let cosigned: Vec<_> = answers.iter().filter(|a| a.answer.is_ok()).collect();
    assert_eq!(cosigned.len(), 1, "exactly one request is cosigned");
    assert_eq!(cosigned[0].verified.as_ref().map(|v| v.checkpoint.size), Some(stored.size));
    for refused in answers.iter().filter(|a| a.answer.is_err()) {
        assert!(
            matches!(&refused.answer, Err(AddCheckpointError::Refused(WitnessError::Conflict { size })) if *size == stored.size),
            "{:?}",
            refused.answer
        );
    }
    node.stop().await;
}

//! Members' own data (spec/client-api.md §3.1, spec/identities.md §5): a
//! member exports everything its node holds about it, every signature
//! checkable; a member deletes its account, and on every node of the
//! federation the account can no longer be looked up, log in or be
//! registered again under the same key, and its messages are shown as
//! redacted, while what must be kept is kept and said to be.

use accord_proto::SecretKey;
use accord_sdk::{Category, EventContent, HistoryQuery, JoinRule, Room};
use accord_testkit::TestNet;
use accord_testkit::observe::{converged, eventually};
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(60);

/// Whether every message `author` wrote in `room`, as one node serves it,
/// is marked redacted; and how many there are.
async fn redacted_messages_of(room: &Room, author: accord_proto::AccountId) -> (usize, bool) {
    let page = room.history(HistoryQuery::after(0).limit(100)).await.expect("history");
    let mine: Vec<_> = page
        .items
        .into_iter()
        .map(|i| i.expect("every event verifies"))
        .filter(|i| i.author() == author && matches!(i.content(), EventContent::Message { .. }))
        .collect();
    (mine.len(), mine.iter().all(|i| i.redacted))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_deleted_account_is_gone_on_every_node_after_an_export_that_verifies() {
    let _machine = crate::shared().await;
    let net = TestNet::start(3).await.unwrap();
    let alice_key = SecretKey::generate().unwrap();
    let alice = net.nodes[0].client(alice_key.clone()).unwrap();
    alice.register("alice", None).await.unwrap();
    let dave = net.nodes[0].user("dave").await.unwrap();
    let bob = net.nodes[1].user("bob").await.unwrap();
    let carol = net.nodes[2].user("carol").await.unwrap();
    let room = alice.create_room("lobby", JoinRule::Public).await.unwrap();
    let via = vec![net.nodes[0].node_id()];
    // The room as each node serves it to a member other than alice.
    let rooms = [dave.room(room.id()), bob.room(room.id()), carol.room(room.id())];
    for r in &rooms {
        r.join_via(&via).await.unwrap();
    }
    room.send_text("alice one").await.unwrap();
    room.send_text("alice two").await.unwrap();
    let bobs = rooms[1].send_text("bob one").await.unwrap();
    converged(&rooms, 7, PATIENCE).await.unwrap();
    for client in [&bob, &carol] {
        client.refresh_identity(&alice.account()).await.expect("every node knows alice before");
    }
    alice.report(Category::Spam).event_in(room.id(), bobs.event_id).comment("ads").send().await.unwrap();

    // The export: everything, every signature checked by the SDK.
    let export = alice.export_account().await.unwrap();
    assert_eq!(export.identity.account(), alice.account());
    assert_eq!(export.export.rooms.len(), 1);
    assert_eq!(export.events.len(), 3, "create and two messages");
    assert_eq!(export.reports.len(), 1);
    let mut forged = export.export.clone();
    let mut raw = forged.events[1].author.raw().clone();
    raw.body[12] ^= 1;
    forged.events[1].author = accord_proto::Unverified::from_raw(raw);
    assert!(alice.verify_export(forged).is_err(), "a changed signature in an export is caught");

    // The deletion, and what is kept.
    let answer = alice.delete_account().await.unwrap();
    assert_eq!(answer.account, alice.account());
    assert_eq!(answer.redacted, 2);
    let kept = |what: &str| answer.kept.iter().find(|k| k.what == what).map(|k| k.count);
    assert_eq!(kept("events"), Some(3));
    assert_eq!(kept("reports"), Some(1));

    // On every node: no lookup, no registration under the same key, and
    // alice's messages redacted.
    let lookers = [dave, bob.clone(), carol];
    for (i, looker) in lookers.iter().enumerate() {
        eventually(&format!("node {i} refuses lookups of alice"), PATIENCE, || async {
            looker.refresh_identity(&alice.account()).await.is_err_and(|e| e.code() == "account_deleted")
        })
        .await
        .unwrap();
        let again = net.nodes[i].client(alice_key.clone()).unwrap().register("alice", None).await;
        assert_eq!(again.err().map(|e| e.code().to_owned()).as_deref(), Some("account_deleted"), "node {i}");
        let (n, all_redacted) = redacted_messages_of(&rooms[i], alice.account()).await;
        assert_eq!((n, all_redacted), (2, true), "node {i} shows alice's two messages redacted");
    }
    let (n, redacted) = redacted_messages_of(&rooms[1], bob.account()).await;
    assert_eq!((n, redacted), (1, false), "other members' messages are untouched");

    // At home: the old session is gone, and a new login is refused.
    let login = net.nodes[0].client(alice_key.clone()).unwrap().login().await;
    assert_eq!(login.err().map(|e| e.code().to_owned()).as_deref(), Some("account_deleted"));
    let after = alice.rooms().await;
    assert!(after.is_err_and(|e| e.code() == "account_deleted"), "the deleted account's client is logged out");
    net.stop().await.unwrap();
}

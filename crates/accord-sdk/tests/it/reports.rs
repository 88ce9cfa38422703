//! Reports and moderation against a real node (spec/reports.md §7–§13):
//! filing a report with its signed evidence, the reporter's view of it,
//! the moderator's queue, verified evidence and signed action, the
//! outcome coming back to the reporter, the public audit log, trust
//! signals on identity lookups, and room moderation.

use accord_proto::event::{EventContent, Role};
use accord_proto::{IssuerId, NodeId, SecretKey};
use accord_sdk::{
    CaseFilter, CaseState, Category, Client, HistoryQuery, JoinRule, Moderator, ReportSource, Room, SdkError, Verdict,
};
use accord_testkit::TestNode;
use serde_json::json;
use std::time::Duration;

/// A node whose configuration names one moderator account; the
/// moderator's client, registered.
async fn node_with_moderator() -> (TestNode, Client) {
    let key = SecretKey::generate().expect("key");
    let account = key.account_id();
    let node = TestNode::start_with(|config| config.reports.moderators = vec![account]).await.expect("node");
    let moderator = node.client(key).expect("client");
    moderator.register("mod", None).await.expect("register the moderator");
    (node, moderator)
}

/// Alice's room, where carol (the offender) says a few things after alice.
async fn room_with_offence(node: &TestNode) -> (Client, Client, Room, accord_proto::EventId) {
    let alice = node.user("alice").await.expect("alice");
    let carol = node.user("carol").await.expect("carol");
    let room = alice.create_room("town square", JoinRule::Public).await.expect("room");
    carol.room(room.id()).join().await.expect("carol joins");
    room.send_text("hello, room").await.expect("alice says hello");
    let offence = carol.room(room.id()).send_text("buy pills here").await.expect("carol offends");
    (alice, carol, room, offence.event_id)
}

fn status_code(err: &SdkError) -> &str {
    err.code()
}

#[tokio::test]
async fn a_reported_message_is_listed_with_its_status() {
    // Arrange
    let (node, _moderator) = node_with_moderator().await;
    let (alice, carol, _room, offence) = room_with_offence(&node).await;

    // Act: the event is found in alice's rooms, without naming the room.
    let status = alice.report(Category::Drugs).event(offence).context(5).comment("selling drugs").await.expect("filed");

    // Assert
    assert_eq!(status.category, Category::Drugs);
    assert_eq!(status.accused, vec![carol.account()]);
    assert_eq!(status.state, CaseState::Open);
    assert_eq!(status.case, status.id, "the first report opens its own case");
    assert!(status.forwards.is_empty(), "the accused lives here: nothing to forward");
    assert!(status.outcome.is_none());
    let mine = alice.my_reports().await.expect("my reports");
    assert_eq!(mine, vec![status]);
    assert!(carol.my_reports().await.expect("carol's reports").is_empty());
}

#[tokio::test]
async fn a_moderator_blocks_the_accused_and_the_reporter_sees_the_signed_outcome() {
    // Arrange
    let (node, moderator) = node_with_moderator().await;
    node.admin("POST", "/lists", Some(json!({"name": "abuse"}))).await.expect("list");
    let (alice, carol, room, offence) = room_with_offence(&node).await;
    let status =
        alice.report(Category::Drugs).event_in(room.id(), offence).comment("selling drugs").await.expect("filed");

    // Act: the moderator reads the queue and the case, and blocks.
    let queue = moderator.mod_cases(CaseFilter::Open).await.expect("queue");
    let detail = moderator.mod_case(status.case).await.expect("case with verified evidence");
    let receipt = moderator
        .mod_resolve(status.case, Verdict::Block, Some("abuse".parse().expect("name")), Some("drug sales"), None)
        .await
        .expect("resolved");

    // Assert: the case as the moderator saw it.
    assert_eq!(queue.len(), 1);
    assert_eq!(queue[0].id, status.case);
    assert_eq!(queue[0].accused, vec![carol.account()]);
    assert_eq!(queue[0].evidence, vec![offence]);
    assert_eq!(detail.reports.len(), 1);
    assert_eq!(detail.reports[0].reporter(), alice.account());
    assert_eq!(detail.reports[0].comment(), Some("selling drugs"));
    assert_eq!(detail.reports[0].from, ReportSource::Local);
    assert_eq!(detail.evidence.len(), 1);
    assert_eq!(detail.evidence[0].id(), offence);
    assert_eq!(detail.evidence[0].author(), carol.account());
    let context: Vec<_> = detail.context.iter().map(|c| c.as_ref().expect("context verifies").id()).collect();
    assert!(!context.is_empty() && !context.contains(&offence), "context: {context:?}");

    // The action: on the node's own list, first in the audit log.
    let node_id: NodeId = node.node_id().parse().expect("node id");
    assert_eq!(receipt.index, 0);
    assert_eq!(receipt.action.node, node_id);
    assert!(!receipt.entries.is_empty());
    assert!(receipt.entries.iter().all(|e| e.list.issuer == IssuerId::from(*node_id.public_key())));

    // The reporter sees the outcome, and can check its signature.
    let mine = alice.my_reports().await.expect("my reports");
    assert_eq!(mine[0].state, CaseState::Resolved);
    let outcome = mine[0].outcome.as_ref().expect("outcome");
    let action = outcome.verify().expect("the outcome verifies");
    assert_eq!(action.action, Verdict::Block);
    assert_eq!(action.moderator, Moderator::Account(moderator.account()));
    assert_eq!(action.case, status.case);

    // The queue is empty; the resolved case keeps its resolution.
    assert!(moderator.mod_cases(CaseFilter::Open).await.expect("queue").is_empty());
    let all = moderator.mod_cases(CaseFilter::All).await.expect("all cases");
    assert_eq!(all[0].state, CaseState::Resolved);
    assert_eq!(all[0].resolution.as_ref().expect("resolution").action, Verdict::Block);

    // Anyone can verify the audit log: here, carol.
    let log = carol.audit().await.expect("the audit log verifies");
    assert_eq!(log.head.size, 1);
    assert_eq!(log.actions[0].raw(), receipt.action.raw());

    // A resolved case cannot be resolved again.
    let err = moderator.mod_resolve(status.case, Verdict::Dismiss, None, None, None).await.unwrap_err();
    assert_eq!(status_code(&err), "resolved");
}

#[tokio::test]
async fn only_moderators_see_the_queue_and_act() {
    let (node, _moderator) = node_with_moderator().await;
    let (alice, _carol, _room, offence) = room_with_offence(&node).await;
    let status = alice.report(Category::Spam).event(offence).await.expect("filed");

    let err = alice.mod_cases(CaseFilter::Open).await.unwrap_err();
    assert_eq!(status_code(&err), "not_moderator");
    let err = alice.mod_case(status.case).await.unwrap_err();
    assert_eq!(status_code(&err), "not_moderator");
    let err = alice.mod_resolve(status.case, Verdict::Dismiss, None, None, None).await.unwrap_err();
    assert_eq!(status_code(&err), "not_moderator");
}

#[tokio::test]
async fn a_dismissed_case_writes_no_entries_and_a_suspension_needs_a_list_of_the_node() {
    let (node, moderator) = node_with_moderator().await;
    let (alice, carol, _room, offence) = room_with_offence(&node).await;
    let first = alice.report(Category::Harassment).event(offence).await.expect("filed");
    let second = alice.report_account(carol.account(), Category::Impersonation).await.expect("filed");
    assert_ne!(first.case, second.case, "a report without evidence opens a case about its subject");
    assert_eq!(second.accused, vec![carol.account()]);

    let err = moderator
        .mod_resolve(
            second.case,
            Verdict::Suspend,
            Some("nosuchlist".parse().expect("name")),
            None,
            Some(Duration::from_secs(86_400)),
        )
        .await
        .unwrap_err();
    assert_eq!(status_code(&err), "unknown_list");

    let receipt =
        moderator.mod_resolve(first.case, Verdict::Dismiss, None, Some("banter"), None).await.expect("dismissed");
    assert!(receipt.entries.is_empty());
    assert_eq!(moderator.audit().await.expect("audit").actions.len(), 1);
}

#[tokio::test]
async fn identity_lookups_carry_trust_signals() {
    let (node, _moderator) = node_with_moderator().await;
    let (alice, carol, _room, offence) = room_with_offence(&node).await;

    let before = alice.refresh_identity(&carol.account()).await.expect("carol");
    let trust = before.trust().expect("the node gives trust signals");
    assert_eq!(trust.home, before.home());
    assert!(trust.is_younger_than(Duration::from_secs(7 * 86_400)), "carol registered just now");
    assert!(!trust.is_flagged());
    assert_eq!(trust.reports, 0);

    alice.report(Category::Drugs).event(offence).await.expect("filed");
    let after = alice.refresh_identity(&carol.account()).await.expect("carol");
    assert_eq!(after.trust().expect("trust").reports, 1, "one open case accuses carol");
}

#[tokio::test]
async fn room_moderators_kick_ban_unban_redact_and_promote() {
    let node = TestNode::start().await.expect("node");
    let alice = node.user("alice").await.expect("alice");
    let bob = node.user("bob").await.expect("bob");
    let room = alice.create_room("moderated", JoinRule::Public).await.expect("room");
    let bobs = bob.room(room.id());
    bobs.join().await.expect("bob joins");
    let spam = bobs.send_text("spam spam spam").await.expect("bob sends");

    room.redact(spam.event_id, Some("spam")).await.expect("redact");
    room.kick(bob.account(), Some("flooding")).await.expect("kick");
    assert!(!room.state().await.expect("state").members.contains(&bob.account()));
    bobs.join().await.expect("a kicked member may join again");
    room.ban(bob.account(), Some("again")).await.expect("ban");
    assert!(room.state().await.expect("state").bans.contains(&bob.account()));
    let err = bobs.join().await.unwrap_err();
    assert_eq!(err.code(), "banned");
    room.unban(bob.account()).await.expect("unban");
    bobs.join().await.expect("joins after the unban");
    room.set_role(bob.account(), Role::Moderator).await.expect("promote");
    assert_eq!(room.state().await.expect("state").roles.get(&bob.account()), Some(&Role::Moderator));

    let page = room.history(HistoryQuery::after(0)).await.expect("history");
    let redacted = page
        .items
        .iter()
        .filter_map(|i| i.as_ref().ok())
        .find(|i| i.id() == spam.event_id)
        .expect("the spam is still in the history");
    assert!(redacted.redacted);
    assert_eq!(redacted.text(), None);
    assert!(matches!(redacted.content(), EventContent::Message { .. }));
}

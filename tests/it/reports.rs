//! Reports and moderation across real nodes (spec/reports.md): a victim's
//! signed report travels to the offender's home node, a moderator there
//! blocks the offender with a list entry citing the report, and every
//! subscriber enforces it; forged evidence is refused everywhere; the audit
//! log is verifiable; reporting is rate limited and never blocks by itself.

use accord_proto::audit::{AuditLog, Verdict};
use accord_proto::blocklist::entry::Category;
use accord_proto::event::UnverifiedEvent;
use accord_proto::federation::{FedRequest, FedResponse};
use accord_proto::report::ReportBody;
use accord_proto::{EventId, SecretKey, SignedBytes, Timestamp, Unverified};
use accord_sdk::{CaseFilter, Client, EventContent, HistoryQuery, JoinRule, Room};
use accord_testkit::hostile::HostilePeer;
use accord_testkit::{TestNet, TestNode};
use serde_json::json;
use std::collections::BTreeSet;
use std::time::Duration;

/// How long anything that crosses the network may take.
const WITHIN: Duration = Duration::from_secs(10);

/// Waits until `check` holds (polling), or fails with `what`.
async fn eventually<F: FnMut() -> Fut, Fut: std::future::Future<Output = bool>>(what: &str, check: F) {
    accord_testkit::observe::eventually(what, WITHIN, check).await.unwrap();
}

/// Visible message texts of a room and the lists that hide the rest.
async fn view(room: &Room) -> (BTreeSet<String>, BTreeSet<String>) {
    let Ok(page) = room.history(HistoryQuery::after(0).limit(500)).await else { return Default::default() };
    let texts = page
        .items
        .into_iter()
        .filter_map(|i| match i.ok()?.event.content() {
            EventContent::Message { text, .. } => Some(text.as_str().to_owned()),
            _ => None,
        })
        .collect();
    let hiding = page.hidden.iter().map(|h| h.provenance.list.to_string()).collect();
    (texts, hiding)
}

/// The wire form of the message `text` in a room, as a reader got it.
async fn wire_of(room: &Room, text: &str) -> UnverifiedEvent {
    let page = room.history(HistoryQuery::after(0).limit(500)).await.expect("history");
    page.items
        .into_iter()
        .filter_map(Result::ok)
        .find(|i| matches!(i.event.content(), EventContent::Message { text: t, .. } if t.as_str() == text))
        .map(|i| i.event.to_unverified())
        .expect("the message is in the history")
}

/// A report of `evidence` signed by `reporter`, with no checks.
fn signed_report(reporter: &SecretKey, evidence: Vec<UnverifiedEvent>) -> Unverified<ReportBody> {
    let body = ReportBody {
        reporter: reporter.account_id(),
        category: Category::Drugs,
        subject: None,
        evidence,
        context: vec![],
        comment: None,
        ts: Timestamp::now(),
    };
    accord_testkit::hostile::sign_unchecked(&body, reporter).expect("sign")
}

/// `evidence` with its text changed after its author signed it.
fn altered(event: &UnverifiedEvent) -> UnverifiedEvent {
    let mut raw = event.author.raw().clone();
    let text = String::from_utf8(raw.body.clone()).expect("utf-8 body");
    raw.body = text.replace("buy pills here", "buy cakes here").into_bytes();
    UnverifiedEvent { author: Unverified::from_raw(raw), origin: event.origin.clone() }
}

async fn queue_len(node: &TestNode) -> usize {
    let v = node.admin("GET", "/reports?state=all", None).await.expect("queue");
    v["cases"].as_array().map_or(0, Vec::len)
}

/// Alice (on `host`), carol and dave in one room made by alice; carol
/// sells drugs. Returns the three room handles (A, B, C) and the message id.
async fn room_with_offender(host: &TestNode, alice: &Client, carol: &Client, dave: &Client) -> ([Room; 3], EventId) {
    let room = alice.create_room("town square", JoinRule::Public).await.unwrap();
    let via = [host.node_id()];
    carol.room(room.id()).join_via(&via).await.unwrap();
    dave.room(room.id()).join_via(&via).await.unwrap();
    alice.room(room.id()).send_text("hello, room").await.unwrap();
    let sent = carol.room(room.id()).send_text("buy pills here").await.unwrap();
    let rooms = [room.clone(), carol.room(room.id()), dave.room(room.id())];
    for r in &rooms {
        eventually("carol's message everywhere", || async { view(r).await.0.contains("buy pills here") }).await;
    }
    (rooms, sent.event.id())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_report_on_one_node_ends_in_a_block_enforced_across_the_network() {
    let _machine = crate::shared().await;
    // Arrange: A, B, C; B's moderator is an account configured on B.
    let moderator_key = SecretKey::generate().unwrap();
    let moderator_account = moderator_key.account_id();
    let net = TestNet::start_with(3, |i, _, config| {
        if i == 1 {
            config.reports.moderators = vec![moderator_account];
        }
    })
    .await
    .unwrap();
    let (a, b, c) = (&net.nodes[0], &net.nodes[1], &net.nodes[2]);
    let alice = a.user("alice").await.unwrap();
    let carol = b.user("carol").await.unwrap();
    let dave = c.user("dave").await.unwrap();
    let moderator = b.client(moderator_key).unwrap();
    moderator.register("mod", None).await.unwrap();
    let created = b.admin("POST", "/lists", Some(json!({"name": "abuse"}))).await.unwrap();
    let list = created["list"].as_str().unwrap().to_owned();
    for node in [a, c] {
        node.admin("POST", "/subscriptions", Some(json!({"list": list}))).await.unwrap();
    }
    let (rooms, offending) = room_with_offender(&net.nodes[0], &alice, &carol, &dave).await;

    // Act 1: alice reports carol's message on A, with context.
    let filed = alice.report(Category::Drugs).event(offending).context(2).comment("selling drugs").await.unwrap();
    assert_eq!(filed.accused, vec![carol.account()]);

    // Assert 1: B's moderator sees the case with verified evidence.
    eventually("the report reaches B's queue", || async {
        moderator.mod_cases(CaseFilter::Open).await.is_ok_and(|cases| cases.iter().any(|c| c.id == filed.case))
    })
    .await;
    let case = moderator.mod_case(filed.case).await.unwrap();
    assert_eq!(case.case.category, Category::Drugs);
    assert_eq!(case.case.accused, vec![carol.account()]);
    assert_eq!(case.reports.len(), 1);
    assert_eq!(case.reports[0].report.body().reporter, alice.account());
    let evidence: Vec<EventId> = case.evidence.iter().map(|e| e.id()).collect();
    assert_eq!(evidence, vec![offending]);
    assert!(
        matches!(case.evidence[0].content(), EventContent::Message { text, .. } if text.as_str() == "buy pills here")
    );
    assert!(!case.context.is_empty(), "the context travelled with the report");

    // Act 2: the moderator blocks carol on B's list.
    let receipt = moderator
        .mod_resolve(filed.case, Verdict::Block, Some("abuse".parse().unwrap()), Some("sells drugs to members"), None)
        .await
        .unwrap();

    // Assert 2: the entry cites the report's case; A and C enforce it.
    assert_eq!(receipt.entries.len(), 1);
    assert_eq!(receipt.entries[0].list.to_string(), list);
    let shown = b.admin("GET", "/lists/abuse/entries", None).await.unwrap();
    let entry = &shown["entries"][receipt.entries[0].index as usize];
    assert_eq!(entry["entry"]["evidence"].as_str(), Some(filed.case.to_string().as_str()), "{shown}");
    assert_eq!(entry["entry"]["target"]["id"].as_str(), Some(carol.account().to_string().as_str()));
    let started = std::time::Instant::now();
    for r in [&rooms[0], &rooms[2]] {
        eventually("carol's message hidden on A and C", || async {
            let (texts, hiding) = view(r).await;
            !texts.contains("buy pills here") && hiding.contains(&list)
        })
        .await;
    }
    println!("report → network-wide block enforced on A and C in {:?}", started.elapsed());
    let refused = carol.room(rooms[1].id()).send_text("more pills").await.expect_err("carol is blocked at home");
    assert_eq!(refused.provenance().map(|p| p.list.to_string()), Some(list.clone()));

    // The reporter sees where the report went and what became of it.
    eventually("alice sees the outcome", || async {
        alice.my_reports().await.is_ok_and(|r| r.first().is_some_and(|s| s.outcome.is_some()))
    })
    .await;
    let status = alice.my_reports().await.unwrap().remove(0);
    assert_eq!(status.id, filed.id);
    assert!(status.forwards.iter().any(|f| f.node.to_string() == b.node_id()));
    let outcome = status.outcome.unwrap();
    assert_eq!(outcome.action, Verdict::Block);
    assert_eq!(outcome.node.to_string(), b.node_id());
    outcome.verify().expect("the outcome is the moderator's signed action");

    // The audit log of B holds the action, signed by the moderator.
    let audit = moderator.audit().await.unwrap();
    assert_eq!(audit.actions.len(), 1);
    assert_eq!(audit.actions[0].moderator.to_string(), moderator_account.to_string());
    net.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_report_with_altered_or_forged_evidence_is_refused_at_every_node() {
    let _machine = crate::shared().await;
    // Arrange: a reporter on each node, and carol's message as they got it.
    let net = TestNet::start(3).await.unwrap();
    let alice = net.nodes[0].user("alice").await.unwrap();
    let carol = net.nodes[1].user("carol").await.unwrap();
    let dave = net.nodes[2].user("dave").await.unwrap();
    let (rooms, _) = room_with_offender(&net.nodes[0], &alice, &carol, &dave).await;
    let genuine = wire_of(&rooms[0], "buy pills here").await;
    let impostor = SecretKey::generate().unwrap();
    let forged = accord_testkit::hostile::forge_signature(&genuine);
    let attacker = HostilePeer::start(Some(impostor)).await.unwrap();

    for (i, node) in net.nodes.iter().enumerate() {
        let key = SecretKey::generate().unwrap();
        let reporter = node.client(key.clone()).unwrap();
        reporter.register(&format!("reporter{i}"), None).await.unwrap();
        for (what, evidence) in [("altered", altered(&genuine)), ("forged", forged.clone())] {
            // Act: a user files it; a peer forwards it.
            let report = signed_report(&key, vec![evidence]);
            let by_user = reporter.file_report(report.clone()).await.expect_err(what);
            let peer = attacker.connect(&node.p2p_addr()).await.unwrap();
            let by_peer =
                attacker.request(peer, &FedRequest::Report { report: Box::new(report.into_raw()) }).await.unwrap();

            // Assert: both refused as forged evidence.
            assert_eq!(by_user.code(), "forged_evidence", "{what} evidence at node {i}: {by_user}");
            assert!(
                matches!(&by_peer, FedResponse::Error { code, .. } if code == "forged_evidence"),
                "{what} evidence forwarded to node {i}: {by_peer:?}"
            );
        }
        assert_eq!(queue_len(node).await, 0, "node {i} stored no forged report");
    }
    // The genuine event still makes a valid report.
    let key = SecretKey::generate().unwrap();
    let honest = net.nodes[2].client(key.clone()).unwrap();
    honest.register("honest", None).await.unwrap();
    honest.file_report(signed_report(&key, vec![genuine])).await.expect("an unaltered report is accepted");
    net.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_audit_log_verifies_end_to_end_and_tampering_with_a_stored_action_is_detected() {
    let _machine = crate::shared().await;
    // Arrange: a node with a moderator, a list and three reported messages.
    let moderator_key = SecretKey::generate().unwrap();
    let moderator_account = moderator_key.account_id();
    let mut node = TestNode::start_with(|c| c.reports.moderators = vec![moderator_account]).await.unwrap();
    let moderator = node.client(moderator_key).unwrap();
    moderator.register("mod", None).await.unwrap();
    node.admin("POST", "/lists", Some(json!({"name": "abuse"}))).await.unwrap();
    let reporter = node.user("reporter").await.unwrap();
    let offender = node.user("offender").await.unwrap();
    let room = reporter.create_room("room", JoinRule::Public).await.unwrap();
    offender.room(room.id()).join().await.unwrap();
    let mut cases = Vec::new();
    for text in ["spam one", "spam two", "spam three"] {
        let sent = offender.room(room.id()).send_text(text).await.unwrap();
        cases.push(reporter.report(Category::Spam).event(sent.event.id()).await.unwrap().case);
    }

    // Act: a moderator and the operator act; the log is exported.
    moderator.mod_resolve(cases[0], Verdict::Dismiss, None, Some("not spam"), None).await.unwrap();
    moderator.mod_resolve(cases[1], Verdict::Hide, Some("abuse".parse().unwrap()), Some("spam"), None).await.unwrap();
    let resolved = node
        .admin(
            "POST",
            &format!("/reports/{}/resolve", cases[2]),
            Some(json!({"action": "suspend", "list": "abuse", "days": 3})),
        )
        .await
        .unwrap();
    assert_eq!(resolved["index"], 2);

    // Assert: the export verifies, by the SDK and by the protocol crate.
    let verified = reporter.audit().await.unwrap();
    assert_eq!(verified.actions.len(), 3);
    let export: AuditLog = serde_json::from_value(node.admin("GET", "/audit", None).await.unwrap()).unwrap();
    let (head, actions) = export.verify().unwrap();
    assert_eq!((head.size, actions[2].action), (3, Verdict::Suspend));
    assert_eq!(node.admin("GET", "/audit/verify", None).await.unwrap()["size"], 3);
    // An altered export does not verify.
    let mut altered_export = export.clone();
    altered_export.actions[1].body = String::from_utf8(altered_export.actions[1].body.clone())
        .unwrap()
        .replace("\"hide\"", "\"dismiss\"")
        .into_bytes();
    assert_eq!(altered_export.verify().unwrap_err().code(), "bad_action");

    // Act: someone with disk access rewrites action 0's reason, keeping
    // the moderator's signature.
    node.pause().await.unwrap();
    {
        let store = accord_store::Store::open(&accord_store::StoreConfig::new(node.data_dir().join("db"))).unwrap();
        let mut action: SignedBytes = store.audit_actions().unwrap().remove(0);
        action.body = String::from_utf8(action.body).unwrap().replace("not spam", "was spam").into_bytes();
        store.overwrite_audit_action(0, &action).await.unwrap();
        store.close().unwrap();
    }
    node.resume().await.unwrap();

    // Assert: the node reports it, clients refuse the log, no more actions.
    let verify = node.admin("GET", "/audit/verify", None).await.expect_err("tampered");
    assert!(verify.to_string().contains("audit_tampered"), "{verify}");
    assert!(reporter.audit().await.is_err(), "the SDK refuses a tampered log");
    let newcomer = node.user("newcomer").await.unwrap();
    newcomer.room(room.id()).join().await.unwrap();
    let another = newcomer.room(room.id()).send_text("spam four").await.unwrap();
    let case = reporter.report(Category::Spam).event(another.event.id()).await.unwrap().case;
    let refused = moderator.mod_resolve(case, Verdict::Dismiss, None, None, None).await.expect_err("log is broken");
    assert_eq!(refused.code(), "audit_tampered");
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reports_are_rate_limited_per_reporter_and_never_block_by_themselves() {
    let _machine = crate::shared().await;
    // Arrange: 3 reports an hour per reporter; two trusted reporters
    // quarantine content pending review.
    let (trusted_1, trusted_2) = (SecretKey::generate().unwrap(), SecretKey::generate().unwrap());
    let trusted = vec![trusted_1.account_id(), trusted_2.account_id()];
    let node = TestNode::start_with(|c| {
        c.reports.per_reporter_per_hour = 3;
        c.reports.per_reporter_burst = 3;
        c.reports.trusted_reporters = trusted.clone();
        c.reports.quarantine_after = 2;
    })
    .await
    .unwrap();
    let offender = node.user("offender").await.unwrap();
    let room = offender.create_room("room", JoinRule::Public).await.unwrap();
    let angry = node.user("angry").await.unwrap();
    angry.room(room.id()).join().await.unwrap();
    let mut sent = Vec::new();
    for i in 0..5 {
        sent.push(offender.room(room.id()).send_text(&format!("message {i}")).await.unwrap().event.id());
    }

    // Act + assert: the fourth report of one reporter is refused.
    for event in &sent[..3] {
        angry.report(Category::Harassment).event(*event).await.unwrap();
    }
    let limited = angry.report(Category::Harassment).event(sent[3]).await.expect_err("over the limit");
    assert_eq!(limited.code(), "rate_limited");
    assert!(limited.retry_after().is_some());

    // Reports alone block nobody: the offender still sends and is seen.
    offender.room(room.id()).send_text("still here").await.unwrap();
    let (texts, hiding) = view(&angry.room(room.id())).await;
    assert!(texts.contains("message 0") && texts.contains("still here") && hiding.is_empty());

    // Two trusted reporters: the message is held for review, the account
    // is not blocked.
    let mut filed = None;
    for (i, key) in [trusted_1, trusted_2].into_iter().enumerate() {
        let reporter = node.client(key).unwrap();
        reporter.register(&format!("trusted{i}"), None).await.unwrap();
        reporter.room(room.id()).join().await.unwrap();
        filed = Some(reporter.report(Category::Harassment).event(sent[4]).await.unwrap());
    }
    let case = filed.unwrap().case;
    let quarantined = node.admin("GET", &format!("/reports/{case}"), None).await.unwrap();
    assert_eq!(quarantined["case"]["quarantined"], true, "{quarantined}");
    assert_eq!(quarantined["case"]["reporters"], 2);
    let (texts, hiding) = view(&angry.room(room.id())).await;
    assert!(!texts.contains("message 4"), "held for review");
    assert!(hiding.iter().any(|l| l.ends_with("/reports")));
    offender.room(room.id()).send_text("not blocked").await.expect("quarantine never blocks the account");

    // A moderator dismisses the case: the message is delivered again.
    node.admin("POST", &format!("/reports/{case}/resolve"), Some(json!({"action": "dismiss"}))).await.unwrap();
    let room_of_angry = angry.room(room.id());
    eventually("the dismissed message is back", || async { view(&room_of_angry).await.0.contains("message 4") }).await;
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn identity_lookups_give_the_trust_signals_of_a_remote_account() {
    let _machine = crate::shared().await;
    // Arrange: carol on B shares a room with alice on A.
    let net = TestNet::start(2).await.unwrap();
    let (a, b) = (&net.nodes[0], &net.nodes[1]);
    let alice = a.user("alice").await.unwrap();
    let carol = b.user("carol").await.unwrap();
    let room = alice.create_room("room", JoinRule::Public).await.unwrap();
    carol.room(room.id()).join_via(&[a.node_id()]).await.unwrap();
    carol.room(room.id()).send_text("hi alice").await.unwrap();
    eventually("carol's message reaches A", || async { view(&room).await.0.contains("hi alice") }).await;

    // Act: alice looks carol up on her own node.
    let identity = alice.identity(&carol.account()).await.unwrap();

    // Assert: home, level, age, flags and reports are given.
    let trust = identity.trust().expect("trust signals");
    assert_eq!(trust.home.to_string(), b.node_id());
    assert_eq!(trust.level, accord_proto::identity::VerificationLevel::Open);
    assert!(trust.age < Duration::from_secs(600), "a new account: {:?}", trust.age);
    assert!(trust.flags.is_empty());
    assert_eq!(trust.reports, 0);
    net.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn operators_choose_where_reports_go_and_whose_they_take() {
    let _machine = crate::shared().await;
    // Arrange: C issues a list and takes reports; A forwards every report
    // to C as well; B, the offender's home, refuses reports from A.
    let net = TestNet::start_with(3, |i, started, config| {
        if i == 1 {
            config.reports.forward_to = vec![started[0].node_id().parse().unwrap()];
        }
        if i == 2 {
            config.reports.refuse_from = vec![started[1].node_id().parse().unwrap()];
        }
    })
    .await
    .unwrap();
    let (c, a, b) = (&net.nodes[0], &net.nodes[1], &net.nodes[2]);
    let alice = a.user("alice").await.unwrap();
    let carol = b.user("carol").await.unwrap();
    let dave = c.user("dave").await.unwrap();
    let (_, offending) = room_with_offender(a, &alice, &carol, &dave).await;

    // Act: alice reports carol.
    let filed = alice.report(Category::Drugs).event(offending).await.unwrap();

    // Assert: C queued it, B refused it, and alice sees both.
    let forward_to = |node: &TestNode| {
        let id = node.node_id();
        let alice = alice.clone();
        async move {
            let reports = alice.my_reports().await.unwrap_or_default();
            reports.into_iter().find(|s| s.id == filed.id)?.forwards.into_iter().find(|f| f.node.to_string() == id)
        }
    };
    eventually("C takes the report", || async {
        forward_to(c).await.is_some_and(|f| f.state == accord_sdk::ForwardState::Delivered)
    })
    .await;
    eventually("B refuses the report", || async {
        forward_to(b)
            .await
            .is_some_and(|f| f.state == accord_sdk::ForwardState::Refused && f.code.as_deref() == Some("refused"))
    })
    .await;
    assert_eq!(queue_len(c).await, 1, "C's moderators see the case");
    assert_eq!(queue_len(b).await, 0, "B took nothing from A");
    net.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_queue_merges_reports_of_the_same_events_and_puts_the_most_severe_first() {
    let _machine = crate::shared().await;
    // Arrange: three messages, reported as spam, grooming and harassment;
    // the spam message by two reporters.
    let node = TestNode::start().await.unwrap();
    let offender = node.user("offender").await.unwrap();
    let room = offender.create_room("room", JoinRule::Public).await.unwrap();
    let (first, second) = (node.user("first").await.unwrap(), node.user("second").await.unwrap());
    for r in [&first, &second] {
        r.room(room.id()).join().await.unwrap();
    }
    let mut ids = Vec::new();
    for text in ["cheap watches", "how old are you, send pics", "you are worthless"] {
        ids.push(offender.room(room.id()).send_text(text).await.unwrap().event.id());
    }

    // Act
    let spam = first.report(Category::Spam).event(ids[0]).await.unwrap();
    let again = second.report(Category::Spam).event(ids[0]).comment("me too").await.unwrap();
    let grooming = first.report(Category::Grooming).event(ids[1]).await.unwrap();
    let harassment = second.report(Category::Harassment).event(ids[2]).await.unwrap();

    // Assert: one case per harm, most severe first, then oldest.
    assert_eq!(again.case, spam.case, "a second report of the same message joins its case");
    let queue = node.admin("GET", "/reports", None).await.unwrap();
    let order: Vec<(String, u64)> = queue["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["id"].as_str().unwrap().to_owned(), c["reports"].as_u64().unwrap()))
        .collect();
    let expected = vec![(grooming.case.to_string(), 1), (harassment.case.to_string(), 1), (spam.case.to_string(), 2)];
    assert_eq!(order, expected);
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_reporters_on_several_nodes_never_block_or_hide_an_innocent_account_and_the_peer_report_rate_holds() {
    let _machine = crate::shared().await;
    // Arrange: an innocent account on A, which takes at most 3 forwarded
    // reports a minute from each peer; five reporters on each of B and C
    // in its room.
    const PER_PEER: usize = 3;
    let net = TestNet::start_with(3, |i, _, c| {
        if i == 0 {
            c.reports.peer_per_minute = PER_PEER as u32;
        }
    })
    .await
    .unwrap();
    let (a, b, c) = (&net.nodes[0], &net.nodes[1], &net.nodes[2]);
    let innocent = a.user("innocent").await.unwrap();
    let room = innocent.create_room("square", JoinRule::Public).await.unwrap();
    let remark = innocent.room(room.id()).send_text("an innocent remark").await.unwrap().event.id();
    let mut reporters = Vec::new();
    for (n, node) in [b, c].into_iter().enumerate() {
        for i in 0..5 {
            let reporter = node.user(&format!("mob{n}x{i}")).await.unwrap();
            reporter.room(room.id()).join_via(&[a.node_id()]).await.unwrap();
            reporters.push(reporter);
        }
    }
    for r in &reporters {
        let seen = r.room(room.id());
        eventually("the remark reaches every reporter", || async {
            view(&seen).await.0.contains("an innocent remark")
        })
        .await;
    }

    // Act: all ten report the remark.
    for reporter in &reporters {
        reporter.report(Category::Harassment).event(remark).await.expect("each report is accepted by its home");
    }

    // Assert: A takes exactly its per-peer rate from each node within the
    // minute, the rest waiting at the reporters' nodes …
    let reports_on_a = || async {
        let queue = a.admin("GET", "/reports?state=all", None).await.unwrap();
        queue["cases"].as_array().unwrap().iter().map(|c| c["reports"].as_u64().unwrap_or(0)).sum::<u64>()
    };
    eventually("A takes its per-peer share of the reports", || async { reports_on_a().await == 2 * PER_PEER as u64 })
        .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(reports_on_a().await, 2 * PER_PEER as u64, "no more than the per-peer rate within the minute");
    // … and nothing is blocked or hidden anywhere without a moderator.
    innocent.room(room.id()).send_text("still talking").await.expect("the innocent account still sends");
    innocent.login().await.expect("and logs in");
    let readers = [room.clone(), reporters[0].room(room.id()), reporters[5].room(room.id())];
    for (i, r) in readers.iter().enumerate() {
        eventually("the new message everywhere", || async { view(r).await.0.contains("still talking") }).await;
        let (texts, hiding) = view(r).await;
        assert!(texts.contains("an innocent remark"), "node {i} shows the remark");
        assert!(hiding.is_empty(), "node {i} hides nothing: {hiding:?}");
    }
    for node in [a, b, c] {
        let audit = node.admin("GET", "/audit", None).await.unwrap();
        assert_eq!(audit["actions"].as_array().expect("the audit log's actions").len(), 0, "no action: {audit}");
    }
    net.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_report_on_a_message_with_an_image_carries_the_signed_event_and_never_the_image_to_another_node() {
    let _machine = crate::shared().await;
    // Arrange: A hosts a room of alice and carol and forwards every report
    // to C, which takes reports and is not in the room.
    let moderator_key = SecretKey::generate().unwrap();
    let moderator_account = moderator_key.account_id();
    let mut net = TestNet::start_with(2, |i, started, config| {
        if i == 0 {
            config.reports.moderators = vec![moderator_account];
        } else {
            config.reports.forward_to = vec![started[0].node_id().parse().unwrap()];
        }
    })
    .await
    .unwrap();
    let (c, a) = (&net.nodes[0], &net.nodes[1]);
    let alice = a.user("alice").await.unwrap();
    let carol = a.user("carol").await.unwrap();
    let dave = c.user("dave").await.unwrap();
    let moderator = c.client(moderator_key).unwrap();
    moderator.register("mod", None).await.unwrap();
    let room = alice.create_room("photos", JoinRule::Public).await.unwrap();
    carol.room(room.id()).join().await.unwrap();
    let image = accord_testkit::images::jpeg(&accord_testkit::images::synthetic(0x4e90, 640, 480), 85);
    let uploaded = carol.upload_media(image).await.unwrap();
    let sent = carol.room(room.id()).send_with_attachments("look", vec![uploaded.attachment()]).await.unwrap();
    let bytes = alice.fetch_media(&uploaded.hash).await.expect("A serves the image to its members");

    // Act: alice reports carol's message.
    let filed = alice.report(Category::Harassment).event(sent.event.id()).await.unwrap();

    // Assert: C takes the report; its moderator sees the signed event,
    // which names the attachment by hash.
    eventually("the report reaches C's queue", || async {
        moderator.mod_cases(CaseFilter::Open).await.is_ok_and(|cases| cases.iter().any(|c| c.id == filed.case))
    })
    .await;
    let case = moderator.mod_case(filed.case).await.unwrap();
    assert_eq!(case.evidence.len(), 1);
    assert_eq!(case.evidence[0].id(), sent.event.id(), "the signed event itself");
    match case.evidence[0].content() {
        EventContent::Message { attachments, .. } => assert_eq!(attachments, &vec![uploaded.attachment()]),
        other => panic!("the evidence is not the message: {other:?}"),
    }
    let reported = &case.reports[0].report.body().evidence;
    assert_eq!(reported.len(), 1, "the report carries the event");

    // C never fetches the image: it serves `unknown_media` for it (also a
    // while after the report arrived), and after it stops its store holds
    // no record of the blob and no file its bytes.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let refused = dave.fetch_media(&uploaded.hash).await.expect_err("C never holds the image");
    assert_eq!(refused.code(), "unknown_media");
    let thumb = dave.fetch_thumbnail(&uploaded.hash).await.expect_err("nor its thumbnail");
    assert_eq!(thumb.code(), "unknown_media");
    net.nodes[0].pause().await.unwrap();
    let dir = net.nodes[0].data_dir();
    {
        let store = accord_store::Store::open(&accord_store::StoreConfig::new(dir.join("db"))).unwrap();
        assert!(store.blob_record(&uploaded.hash).unwrap().is_none(), "C has no record of the blob");
        assert!(store.blob_records().unwrap().is_empty(), "C holds no blob at all");
    }
    let needle = &bytes[bytes.len() / 2..bytes.len() / 2 + 64];
    assert!(!on_disk(&dir, needle), "no file of C holds the image's bytes");
    net.nodes[0].resume().await.unwrap();
    net.stop().await.unwrap();
}

/// Whether any file under `dir` holds `needle`.
fn on_disk(dir: &std::path::Path, needle: &[u8]) -> bool {
    std::fs::read_dir(dir).expect("a data directory").any(|entry| {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            return on_disk(&path, needle);
        }
        std::fs::read(&path).is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
    })
}

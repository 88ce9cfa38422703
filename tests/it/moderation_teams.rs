//! Moderation teams and appeals across real nodes (spec/reports.md §9.1,
//! §12.1, §15): moderators scoped to categories, cases assigned and noted
//! privately, muted reporters, automated reports apart from people's, and
//! an accused account's appeal that travels from its home node to the
//! deciding node, where only another moderator may resolve it.

use accord_proto::audit::{AuditLog, ModAction, Verdict};
use accord_proto::blocklist::entry::Category;
use accord_sdk::{AppealFilter, AppealState, CaseFilter, Client, EventContent, EventId, HistoryQuery, JoinRule};
use accord_sdk::{ForwardState, ModeratorRole, Room, SourceFilter};
use accord_testkit::{TestNet, TestNode};
use serde_json::{Value, json};
use std::time::Duration;

/// How long anything that crosses the network may take.
const WITHIN: Duration = Duration::from_secs(10);

/// Waits until `check` holds (polling), or fails with `what`.
async fn eventually<F: FnMut() -> Fut, Fut: std::future::Future<Output = bool>>(what: &str, check: F) {
    accord_testkit::observe::eventually(what, WITHIN, check).await.unwrap();
}

/// Whether the message `text` is shown (not hidden) in a room's history.
async fn shows(room: &Room, text: &str) -> bool {
    let Ok(page) = room.history(HistoryQuery::after(0).limit(500)).await else { return false };
    page.items
        .into_iter()
        .filter_map(Result::ok)
        .any(|i| matches!(i.event.content(), EventContent::Message { text: t, .. } if t.as_str() == text))
}

/// A room made by `owner` (on `host`) that `others` join; each of
/// `messages` is sent by `author` and seen by the owner. Returns the
/// owner's room and the messages' ids.
async fn room_with(
    host: &TestNode,
    owner: &Client,
    others: &[&Client],
    author: &Client,
    messages: &[&str],
) -> (Room, Vec<EventId>) {
    let room = owner.create_room("moderated", JoinRule::Public).await.unwrap();
    for other in others {
        other.room(room.id()).join_via(&[host.node_id()]).await.unwrap();
    }
    let mut ids = Vec::new();
    for text in messages {
        ids.push(author.room(room.id()).send_text(text).await.unwrap().event.id());
        eventually("the message reaches the room's owner", || async { shows(&room, text).await }).await;
    }
    (room, ids)
}

/// The actions of a node's audit log, after checking the log verifies
/// (`/admin/audit/verify` and the export's own check).
async fn verified_audit(node: &TestNode) -> Vec<ModAction> {
    let verified = node.admin("GET", "/audit/verify", None).await.expect("the audit log verifies");
    assert_eq!(verified["ok"], json!(true));
    let log: AuditLog = serde_json::from_value(node.admin("GET", "/audit", None).await.unwrap()).unwrap();
    let (head, actions) = log.verify().expect("the export verifies");
    assert_eq!(head.size, actions.len() as u64);
    assert_eq!(verified["size"], json!(head.size));
    actions.into_iter().map(|a| (*a).clone()).collect()
}

fn case_ids(v: &Value) -> Vec<String> {
    v["cases"].as_array().into_iter().flatten().filter_map(|c| c["id"].as_str().map(str::to_owned)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_category_scoped_moderator_acts_only_inside_its_categories() {
    let _machine = crate::shared().await;
    // Arrange: a moderator scoped to spam; a spam case and a drugs case.
    let node = TestNode::start().await.unwrap();
    let alice = node.user("alice").await.unwrap();
    let carol = node.user("carol").await.unwrap();
    let spam_mod = node.user("spammod").await.unwrap();
    let added = node
        .admin(
            "POST",
            "/moderators",
            Some(json!({"account": spam_mod.account(), "role": "moderator", "categories": ["spam"]})),
        )
        .await
        .unwrap();
    let entry = added["moderators"].as_array().unwrap().iter().find(|m| m["account"] == json!(spam_mod.account()));
    assert_eq!(entry.map(|m| (&m["role"], &m["categories"])), Some((&json!("moderator"), &json!(["spam"]))));
    let (_room, ids) = room_with(&node, &alice, &[&carol], &carol, &["cheap watches", "buy pills here"]).await;
    let spam = alice.report(Category::Spam).event(ids[0]).await.unwrap().case;
    let drugs = alice.report(Category::Drugs).event(ids[1]).await.unwrap().case;

    // Assert: its queue holds the spam case only; the operator sees both.
    let queue: Vec<_> = spam_mod.mod_cases(CaseFilter::Open).await.unwrap().into_iter().map(|c| c.id).collect();
    assert_eq!(queue, vec![spam]);
    let all = case_ids(&node.admin("GET", "/reports", None).await.unwrap());
    assert!(all.contains(&spam.to_string()) && all.contains(&drugs.to_string()), "{all:?}");

    // Act + assert: outside its categories, every act is `out_of_scope`.
    assert_eq!(spam_mod.mod_case(drugs).await.unwrap_err().code(), "out_of_scope");
    let refused = spam_mod.mod_resolve(drugs, Verdict::Dismiss, None, Some("not mine"), None).await.unwrap_err();
    assert_eq!(refused.code(), "out_of_scope");
    assert_eq!(spam_mod.mod_note(drugs, "looks bad").await.unwrap_err().code(), "out_of_scope");
    assert_eq!(spam_mod.mod_assign(drugs, Some(spam_mod.account())).await.unwrap_err().code(), "out_of_scope");
    let still_open = node.admin("GET", &format!("/reports/{drugs}"), None).await.unwrap();
    assert_eq!(still_open["case"]["state"], json!("open"));

    // Inside them, it acts.
    assert_eq!(spam_mod.mod_case(spam).await.unwrap().case.id, spam);
    let receipt = spam_mod.mod_resolve(spam, Verdict::Dismiss, None, Some("ads, harmless"), None).await.unwrap();
    let actions = verified_audit(&node).await;
    assert_eq!(actions[receipt.index as usize].case, spam);
    assert_eq!(actions[receipt.index as usize].action, Verdict::Dismiss);

    // The operator widens its scope: now the drugs case is its to act on.
    node.admin(
        "POST",
        "/moderators",
        Some(json!({"account": spam_mod.account(), "role": "moderator", "categories": ["spam", "drugs"]})),
    )
    .await
    .unwrap();
    assert_eq!(spam_mod.mod_case(drugs).await.unwrap().case.id, drugs);

    // An admin moderator manages the team; a moderator may not.
    let lead = node.user("lead").await.unwrap();
    node.admin("POST", "/moderators", Some(json!({"account": lead.account(), "role": "admin"}))).await.unwrap();
    let newcomer = node.user("newcomer").await.unwrap();
    let refused = spam_mod.mod_add_moderator(newcomer.account(), ModeratorRole::Moderator, vec![]).await.unwrap_err();
    assert_eq!(refused.code(), "forbidden");
    let team =
        lead.mod_add_moderator(newcomer.account(), ModeratorRole::Moderator, vec![Category::Spam]).await.unwrap();
    let added = team.iter().find(|m| m.account == newcomer.account()).expect("added");
    assert_eq!((added.role, added.categories.clone()), (ModeratorRole::Moderator, vec![Category::Spam]));
    assert_eq!(newcomer.mod_case(drugs).await.unwrap_err().code(), "out_of_scope");
    lead.mod_remove_moderator(newcomer.account()).await.unwrap();
    assert_eq!(newcomer.mod_cases(CaseFilter::Open).await.unwrap_err().code(), "not_moderator");
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn assignments_are_audited_and_internal_notes_reach_no_reporter_accused_or_other_node() {
    let _machine = crate::shared().await;
    // Arrange: alice on A reports carol's message; A forwards it to carol's
    // home B, whose team (an admin and a moderator) works the case.
    let net = TestNet::start(2).await.unwrap();
    let (a, b) = (&net.nodes[0], &net.nodes[1]);
    let alice = a.user("alice").await.unwrap();
    let carol = b.user("carol").await.unwrap();
    let lead = b.user("lead").await.unwrap();
    let helper = b.user("helper").await.unwrap();
    b.admin("POST", "/moderators", Some(json!({"account": lead.account(), "role": "admin"}))).await.unwrap();
    b.admin("POST", "/moderators", Some(json!({"account": helper.account()}))).await.unwrap();
    let (_room, ids) = room_with(a, &alice, &[&carol], &carol, &["buy pills here"]).await;
    let case = alice.report(Category::Drugs).event(ids[0]).comment("selling drugs").await.unwrap().case;
    eventually("the report reaches B's queue", || async {
        lead.mod_cases(CaseFilter::Open).await.is_ok_and(|c| c.iter().any(|c| c.id == case))
    })
    .await;

    // Act: the admin assigns the case to the helper; the helper may not
    // hand it to anyone else, but may take it; notes from both and the operator.
    lead.mod_assign(case, Some(helper.account())).await.unwrap();
    let refused = helper.mod_assign(case, Some(lead.account())).await.unwrap_err();
    assert_eq!(refused.code(), "invalid");
    helper.mod_assign(case, Some(helper.account())).await.unwrap();
    const SECRET: &str = "INTERNAL-NOTE-4f2a: reporter is carol's ex";
    helper.mod_note(case, SECRET).await.unwrap();
    b.admin("POST", &format!("/reports/{case}/notes"), Some(json!({"text": "OPERATOR-NOTE-77b1"}))).await.unwrap();
    // (A dismissal, so that the accused can still export what B holds.)
    let receipt = helper.mod_resolve(case, Verdict::Dismiss, None, Some("a quote, not an offer"), None).await.unwrap();

    // Assert: the case shows its assignee and its notes to B's team.
    let detail = lead.mod_case(case).await.unwrap();
    assert_eq!(detail.case.assigned, Some(helper.account()));
    let notes: Vec<&str> = detail.notes.iter().map(|n| n.text.as_str()).collect();
    assert_eq!(notes, vec![SECRET, "OPERATOR-NOTE-77b1"]);
    assert_eq!(detail.notes[0].author.to_string(), helper.account().to_string());
    // The assignments are in B's audit log, which verifies.
    let actions = verified_audit(b).await;
    let assigned: Vec<_> = actions.iter().filter(|a| a.action == Verdict::Assign).map(|a| a.assignee).collect();
    assert_eq!(assigned, vec![Some(helper.account()), Some(helper.account())]);
    assert_eq!(actions[receipt.index as usize].action, Verdict::Dismiss);

    // The notes are nowhere else: not in the reporter's status (with the
    // outcome), the accused's export, the public audit log, or node A.
    eventually("alice sees the outcome", || async {
        alice.my_reports().await.is_ok_and(|r| r.iter().any(|s| s.case == case && s.outcome.is_some()))
    })
    .await;
    let reporter_view = serde_json::to_string(&alice.my_reports().await.unwrap()).unwrap();
    let export = carol.export_account().await.unwrap();
    assert!(export.decisions.iter().any(|d| d.case == case), "the accused's export holds the decision");
    let accused_view = serde_json::to_string(&export.export).unwrap();
    let public_audit = serde_json::to_string(&b.admin("GET", "/audit", None).await.unwrap()).unwrap();
    let other_node = serde_json::to_string(&a.admin("GET", &format!("/reports/{case}"), None).await.unwrap()).unwrap();
    for (who, seen) in
        [("reporter", reporter_view), ("accused", accused_view), ("audit", public_audit), ("node A", other_node)]
    {
        assert!(
            !seen.contains("INTERNAL-NOTE-4f2a") && !seen.contains("OPERATOR-NOTE-77b1"),
            "{who} sees a note: {seen}"
        );
    }
    net.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_muted_reporters_reports_stay_out_of_the_queue_and_automated_reports_are_apart() {
    let _machine = crate::shared().await;
    // Arrange: a bot that reports automatically, a reporter who abuses
    // reports, an offender posting three messages.
    let bot_key = accord_proto::SecretKey::generate().unwrap();
    let bot_account = bot_key.account_id();
    let node = TestNode::start_with(|config| config.reports.automated_reporters = vec![bot_account]).await.unwrap();
    let alice = node.user("alice").await.unwrap();
    let mallory = node.user("mallory").await.unwrap();
    let carol = node.user("carol").await.unwrap();
    let bot = node.client(bot_key).unwrap();
    bot.register("hashbot", None).await.unwrap();
    let moderator = node.user("moderator").await.unwrap();
    node.admin("POST", "/moderators", Some(json!({"account": moderator.account()}))).await.unwrap();
    let (_room, ids) = room_with(
        &node,
        &alice,
        &[&mallory, &carol, &bot],
        &carol,
        &["good morning", "nice weather", "matched image caption"],
    )
    .await;

    // Act 1: mallory reports a harmless message; the operator mutes her.
    let first_report = mallory.report(Category::Harassment).event(ids[0]).await.unwrap();
    let first = first_report.case;
    let muted = node
        .admin(
            "POST",
            "/reporters/mute",
            Some(json!({"account": mallory.account(), "case": first, "reason": "reports everyone"})),
        )
        .await
        .unwrap();
    assert_eq!(muted["muted"][0]["account"], json!(mallory.account()));

    // Act 2: her next report is accepted but kept out of the queue.
    let second = mallory.report(Category::Harassment).event(ids[1]).await.unwrap();
    let queue = node.admin("GET", "/reports?state=all&source=all", None).await.unwrap();
    assert!(!case_ids(&queue).contains(&second.case.to_string()), "{queue}");
    assert!(
        !queue["cases"].as_array().unwrap().iter().any(|c| c["evidence"].as_array().unwrap().contains(&json!(ids[1]))),
        "no case holds the muted report's evidence: {queue}"
    );
    assert!(mallory.my_reports().await.unwrap().iter().any(|r| r.id == second.id), "she sees her report");
    let list = node.admin("GET", "/reporters/muted", None).await.unwrap();
    let entry = &list["muted"][0];
    assert_eq!(
        (&entry["account"], &entry["kept_out"], &entry["reason"], &entry["by"]),
        (&json!(mallory.account()), &json!(1), &json!("reports everyone"), &json!(node.node_id()))
    );

    // Act 3: unmuted, her reports reach the queue again.
    let unmuted = node.admin("POST", "/reporters/unmute", Some(json!({"account": mallory.account()}))).await.unwrap();
    assert_eq!(unmuted["muted"], json!([]));
    let third = mallory.report(Category::Harassment).event(ids[1]).await.unwrap();
    assert!(case_ids(&node.admin("GET", "/reports", None).await.unwrap()).contains(&third.case.to_string()));
    // The public audit log names the report the mute was decided on, never
    // the reporter: nobody reading it learns who reported the case.
    let logged = verified_audit(&node).await;
    let verbs: Vec<_> = logged.iter().map(|a| (a.action, a.report)).collect();
    assert_eq!(verbs, vec![(Verdict::Mute, Some(first_report.id)), (Verdict::Unmute, Some(first_report.id))]);
    let bodies = serde_json::to_string(&logged).unwrap();
    assert!(!bodies.contains(&mallory.account().to_string()), "the log names no reporter: {bodies}");

    // Act 4: the bot and alice report the same message.
    let automated = bot.report(Category::Spam).event(ids[2]).await.unwrap().case;
    let by_person = alice.report(Category::Spam).event(ids[2]).await.unwrap().case;

    // Assert: two cases, one per queue.
    assert_ne!(automated, by_person, "automated reports do not merge into people's cases");
    let people = case_ids(&node.admin("GET", "/reports", None).await.unwrap());
    let bots = case_ids(&node.admin("GET", "/reports?source=automated", None).await.unwrap());
    assert!(people.contains(&by_person.to_string()) && !people.contains(&automated.to_string()), "{people:?}");
    assert_eq!(bots, vec![automated.to_string()]);
    let seen: Vec<_> = moderator
        .mod_queue(CaseFilter::Open, SourceFilter::Automated)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(seen, vec![automated]);
    assert!(!moderator.mod_cases(CaseFilter::Open).await.unwrap().iter().any(|c| c.id == automated));
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_appeal_from_the_accused_home_node_is_overturned_by_a_second_moderator_and_the_block_lifted() {
    let _machine = crate::shared().await;
    // Arrange: A has two moderators and a list; carol, on B, sells drugs in
    // a room of A; alice reports it on A and the first moderator blocks carol.
    let net = TestNet::start(2).await.unwrap();
    let (a, b) = (&net.nodes[0], &net.nodes[1]);
    let alice = a.user("alice").await.unwrap();
    let first = a.user("first").await.unwrap();
    let second = a.user("second").await.unwrap();
    for m in [&first, &second] {
        a.admin("POST", "/moderators", Some(json!({"account": m.account()}))).await.unwrap();
    }
    a.admin("POST", "/lists", Some(json!({"name": "abuse"}))).await.unwrap();
    let carol = b.user("carol").await.unwrap();
    let (room, ids) = room_with(a, &alice, &[&carol], &carol, &["buy pills here"]).await;
    let case = alice.report(Category::Drugs).event(ids[0]).await.unwrap().case;
    let decision = first
        .mod_resolve(case, Verdict::Block, Some("abuse".parse().unwrap()), Some("drug sales"), None)
        .await
        .unwrap();
    eventually("the block hides carol's message on A", || async { !shows(&room, "buy pills here").await }).await;

    // Act 1: carol appeals through her home node B.
    let filed = carol
        .appeal(a.node().node_id(), case, decision.action.body_hash(), "I was quoting a spammer to warn the room")
        .await
        .unwrap();
    assert_eq!(filed.forward.as_ref().map(|f| f.node.to_string()), Some(a.node_id()));

    // Assert 1: the appeal reaches A, which knows who decided.
    eventually("the appeal reaches A", || async {
        first.mod_appeals(AppealFilter::Open).await.is_ok_and(|appeals| appeals.iter().any(|x| x.id == filed.id))
    })
    .await;
    let held = a.admin("GET", "/appeals", None).await.unwrap();
    assert_eq!(held["appeals"][0]["decided_by"], json!(first.account()));
    assert_eq!(held["appeals"][0]["from"], json!(b.node_id()));
    eventually("B records the delivery", || async {
        carol.my_appeals().await.is_ok_and(|x| {
            x.iter().any(|x| x.id == filed.id && x.forward.as_ref().is_some_and(|f| f.state == ForwardState::Delivered))
        })
    })
    .await;

    // Act 2: the deciding moderator may not resolve it; the second overturns it.
    let refused = first.mod_resolve_appeal(case, filed.id, Verdict::Overturn, Some("on reflection")).await.unwrap_err();
    assert_eq!(refused.code(), "same_moderator");
    let overturned =
        second.mod_resolve_appeal(case, filed.id, Verdict::Overturn, Some("a warning, not an offer")).await.unwrap();
    assert_eq!(overturned.entries.len(), decision.entries.len(), "one removal per entry the block wrote");

    // Assert 2: the block is lifted; the appeal is overturned; the audit
    // log holds the decision, the appeal and its resolution, and verifies.
    eventually("carol's message shown again on A", || async { shows(&room, "buy pills here").await }).await;
    let entries = a.admin("GET", "/lists/abuse/entries", None).await.unwrap();
    let removal = &entries["entries"][overturned.entries[0].index as usize]["entry"];
    assert_eq!((&removal["op"], &removal["entry"]), (&json!("remove"), &json!(decision.entries[0].index)), "{entries}");
    let after = second.mod_appeals(AppealFilter::All).await.unwrap();
    assert_eq!(after.iter().find(|x| x.id == filed.id).map(|x| x.state), Some(AppealState::Overturned));
    assert!(second.mod_case(case).await.unwrap().case.resolution.is_some_and(|r| r.overturned));
    let actions = verified_audit(a).await;
    let trail: Vec<_> = actions.iter().map(|x| (x.action, x.appeal)).collect();
    assert_eq!(
        trail,
        vec![(Verdict::Block, None), (Verdict::Appeal, Some(filed.id)), (Verdict::Overturn, Some(filed.id))]
    );
    assert_eq!(actions[2].moderator.to_string(), second.account().to_string());
    // Carol's home node learns the outcome, signed by the second moderator.
    eventually("B receives the appeal's outcome", || async {
        carol.my_appeals().await.is_ok_and(|x| x.iter().any(|x| x.id == filed.id && x.outcome.is_some()))
    })
    .await;
    let at_home = carol.my_appeals().await.unwrap().into_iter().find(|x| x.id == filed.id).unwrap();
    assert_eq!(at_home.state, AppealState::Overturned);
    let outcome = at_home.outcome.unwrap();
    assert_eq!((outcome.action, outcome.moderator.to_string()), (Verdict::Overturn, second.account().to_string()));
    outcome.verify().expect("the outcome is the second moderator's signed action");
    net.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_dashboard_shows_the_automated_queue_takes_notes_and_overturns_an_appeal() {
    use crate::web_dashboard::{choose, click, operator_signs_in, type_into, until};
    let _machine = crate::shared().await;
    // Arrange: a bot's report and a person's; a moderator blocks carol on
    // the person's report; carol appeals.
    let bot_key = accord_proto::SecretKey::generate().unwrap();
    let bot_account = bot_key.account_id();
    let node = TestNode::start_with(|config| config.reports.automated_reporters = vec![bot_account]).await.unwrap();
    let alice = node.user("alice").await.unwrap();
    let carol = node.user("carol").await.unwrap();
    let bot = node.client(bot_key).unwrap();
    bot.register("hashbot", None).await.unwrap();
    let first = node.user("first").await.unwrap();
    node.admin("POST", "/moderators", Some(json!({"account": first.account()}))).await.unwrap();
    node.admin("POST", "/lists", Some(json!({"name": "abuse"}))).await.unwrap();
    let (_room, ids) = room_with(&node, &alice, &[&carol, &bot], &carol, &["buy pills here", "spam link"]).await;
    let automated = bot.report(Category::Spam).event(ids[1]).await.unwrap().case;
    let case = alice.report(Category::Drugs).event(ids[0]).await.unwrap().case;
    let decision = first
        .mod_resolve(case, Verdict::Block, Some("abuse".parse().unwrap()), Some("drug sales"), None)
        .await
        .unwrap();
    // Blocked at home, carol has no session; her signed appeal is enough.
    assert_eq!(carol.my_reports().await.unwrap_err().code(), "blocked");
    let appeal = carol.appeal(node.node().node_id(), case, decision.action.body_hash(), "a quote").await.unwrap();

    // Act 1: the operator opens the automated queue.
    let operator = accord_testkit::browser::Browser::start().await.unwrap();
    operator_signs_in(&operator, &node).await.unwrap();
    click(&operator, "#nav-reports").await.unwrap();
    choose(&operator, "#filter-source", "automated").await.unwrap();
    click(&operator, "#filter-apply").await.unwrap();
    let listed =
        until(&operator, "the automated queue", "document.querySelector('#cases button[data-case]')?.dataset.case")
            .await
            .unwrap();
    assert_eq!(listed, json!(automated.to_string()));

    // Act 2: in the case, a note.
    click(&operator, "#cases button[data-case]").await.unwrap();
    type_into(&operator, "#note-text", "bot matched a known spam hash").await.unwrap();
    click(&operator, "#note-submit").await.unwrap();
    let shown =
        until(&operator, "the note", "document.querySelector('#case-notes .note-text')?.textContent").await.unwrap();
    assert_eq!(shown, json!("bot matched a known spam hash"));
    let stored = node.admin("GET", &format!("/reports/{automated}"), None).await.unwrap();
    assert_eq!(stored["notes"][0]["text"], json!("bot matched a known spam hash"));

    // Act 3: the appeal, overturned from the dashboard (the node signs:
    // a moderator account decided).
    let button = format!("button[data-appeal='{}'][data-verdict='overturn']", appeal.id);
    click(&operator, &button).await.unwrap();
    until(&operator, "the confirmation", "document.getElementById('confirm-dialog').open").await.unwrap();
    click(&operator, "#confirm-ok").await.unwrap();
    until(&operator, "the appeal leaves the list", "document.getElementById('appeals-empty')").await.unwrap();
    operator.screenshot("web-dashboard-appeal-overturned").await.unwrap();

    // Assert: overturned, signed by the node, in a log that verifies.
    let actions = verified_audit(&node).await;
    let last = actions.last().unwrap();
    assert_eq!((last.action, last.appeal), (Verdict::Overturn, Some(appeal.id)));
    assert_eq!(last.moderator.to_string(), node.node_id());
    operator.close().await.unwrap();
    node.stop().await.unwrap();
}

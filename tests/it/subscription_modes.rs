//! Subscriptions the operator controls, across real nodes
//! (spec/blocklists.md §11.7–§11.10): entries that wait for approval
//! (`suggest`) or are only recorded (`notify`), what an issuer's removal
//! does (`undo`, `keep`), which list decides where lists disagree
//! (`priority`), and private notes that never leave the node, kept by
//! operators (admin endpoint, dashboard) and moderators (client API).

use crate::hostile_lists::metric;
use accord_api::Provenance;
use accord_api::curation::Suggestion;
use accord_api::curation::{
    AddNote, ApproveSuggestions, DecideRequest, DeclineSuggestions, KeptQuery, ListKept, ListNotes, ListSuggestions,
    NoteRequest, NotesQuery, SuggestionState, SuggestionsQuery,
};
use accord_api::provenance::{DecisionKind, Verdict};
use accord_proto::ListId;
use accord_proto::blocklist::{Action, Category};
use accord_proto::federation::{FedRequest, FedResponse};
use accord_sdk::{HistoryQuery, JoinRule, Room};
use accord_testkit::hostile::HostilePeer;
use accord_testkit::{TestNet, TestNode};
use serde_json::json;
use std::time::{Duration, Instant};

/// How long the network may take to carry a checkpoint: a subscriber that
/// missed the issuer's gossip announcement catches up at its next round of
/// upkeep, up to one period (`p2p.sync_interval_secs`, 30 s) later, and the
/// fetch comes on top of that.
const PATIENCE: Duration = Duration::from_secs(60);

/// How soon an approval must be enforced after the call returns.
const APPROVAL_DEADLINE: Duration = Duration::from_secs(1);

/// An issuer A with a list, and a subscriber B with a member in a room.
struct Setup {
    net: TestNet,
    room: Room,
}

impl Setup {
    async fn start() -> Setup {
        let net = TestNet::start(2).await.unwrap();
        let bob = net.nodes[1].user("bob").await.unwrap();
        let room = bob.create_room("curated", JoinRule::Public).await.unwrap();
        Setup { net, room }
    }

    fn issuer(&self) -> &TestNode {
        &self.net.nodes[0]
    }

    fn subscriber(&self) -> &TestNode {
        &self.net.nodes[1]
    }

    /// A creates list `name`; B subscribes to it with `settings` (mode,
    /// on_removal, priority…). Returns the list id.
    async fn list(&self, name: &str, settings: serde_json::Value) -> ListId {
        let created = self.issuer().admin("POST", "/lists", Some(json!({"name": name}))).await.unwrap();
        let list = created["list"].as_str().unwrap().to_owned();
        let mut body = settings;
        body["list"] = json!(list);
        self.subscriber().admin("POST", "/subscriptions", Some(body)).await.unwrap();
        list.parse().unwrap()
    }

    /// A blocks the message text `text` in its list `name`; the entry's index.
    async fn block(&self, name: &str, text: &str, category: &str, action: &str) -> u64 {
        let body = json!({"kind": "content", "id": content(text), "category": category, "action": action,
                          "reason": format!("no {text}")});
        let added = self.issuer().admin("POST", &format!("/lists/{name}/entries"), Some(body)).await.unwrap();
        added["first"].as_u64().unwrap()
    }

    /// A retracts entry `entry` of its list `name`.
    async fn unblock(&self, name: &str, entry: u64) {
        let body = json!({"entry": entry, "reason": "settled"});
        self.issuer().admin("POST", &format!("/lists/{name}/remove"), Some(body)).await.unwrap();
    }

    /// Waits until B holds `size` entries of `list`.
    async fn held(&self, list: &ListId, size: u64) {
        let list = list.to_string();
        accord_testkit::observe::eventually("B holds the new entries", PATIENCE, || async {
            crate::hostile_lists::record(self.subscriber(), &list).await.is_some_and(|r| r["size"] == size)
        })
        .await
        .unwrap();
    }

    /// Sends `text` in B's room: `Ok` when B took it, the blocking
    /// provenance when it refused it.
    async fn send(&self, text: &str) -> Result<(), Provenance> {
        match self.room.send_text(text).await {
            Ok(_) => Ok(()),
            Err(e) => Err(e.provenance().cloned().unwrap_or_else(|| panic!("{text}: refused for another reason: {e}"))),
        }
    }

    async fn suggestions(&self, list: &ListId, state: Option<SuggestionState>) -> Vec<Suggestion> {
        let query = SuggestionsQuery { list: Some(list.clone()), state };
        self.subscriber().admin_call::<ListSuggestions>(&[], &query).await.unwrap().suggestions
    }

    async fn decide<E>(&self, request: DecideRequest) -> Vec<u64>
    where
        E: accord_api::Endpoint<Request = DecideRequest, Response = accord_api::curation::DecideResponse>,
    {
        self.subscriber().admin_call::<E>(&[], &request).await.unwrap().entries
    }
}

/// The content target of a message text: the SHA-256 of the text, in hex.
fn content(text: &str) -> String {
    accord_proto::Sha256Hash::digest(text.as_bytes()).to_string()
}

fn select(list: &ListId) -> DecideRequest {
    DecideRequest { list: list.clone(), entries: vec![], category: None, all: false, reason: None, by: None }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn suggested_entries_apply_only_once_approved_and_within_a_second_of_the_approval() {
    let _machine = crate::shared().await;
    let s = Setup::start().await;
    let list = s.list("curated", json!({"mode": "suggest"})).await;
    let texts = ["buy pills", "cheap watches", "you are worthless", "nobody likes you"];
    let mut entries = Vec::new();
    for (text, category) in texts.iter().zip(["spam", "spam", "harassment", "harassment"]) {
        entries.push(s.block("curated", text, category, "reject").await);
    }
    s.held(&list, 4).await;

    // Nothing of a suggest subscription applies before approval: every
    // targeted message still gets through, and each entry waits.
    let pending = s.suggestions(&list, Some(SuggestionState::Pending)).await;
    assert_eq!(pending.iter().map(|p| p.entry).collect::<Vec<_>>(), entries);
    assert_eq!(pending[2].category, Category::Harassment);
    assert_eq!(pending[0].reason.as_deref(), Some("no buy pills"));
    for text in texts {
        assert_eq!(s.send(text).await, Ok(()), "{text} is not enforced before approval");
    }
    assert!(metric(s.subscriber(), "accord_list_entries_suggested_total").await >= 4.0);

    // Approving one: enforced within a second of the call returning.
    let approve = DecideRequest {
        entries: vec![entries[0]],
        reason: Some("we have seen the pills".into()),
        by: Some("ops-alice".into()),
        ..select(&list)
    };
    assert_eq!(s.decide::<ApproveSuggestions>(approve).await, vec![entries[0]]);
    let approved = Instant::now();
    let provenance = loop {
        if let Err(p) = s.send("buy pills").await {
            break p;
        }
        assert!(approved.elapsed() < APPROVAL_DEADLINE, "the approved entry is enforced within {APPROVAL_DEADLINE:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let took = approved.elapsed();
    assert!(took < APPROVAL_DEADLINE, "enforced {took:?} after the approval");
    eprintln!("approval to enforcement: {took:?}");
    assert_eq!((provenance.list.clone(), provenance.entry), (list.clone(), entries[0]));
    let decision = provenance.decision.expect("provenance records the approval");
    assert_eq!(decision.kind, DecisionKind::Approved);
    assert_eq!(decision.by, "ops-alice");
    assert_eq!(decision.reason.as_deref(), Some("we have seen the pills"));
    // Control: the entries not approved still do not apply.
    assert_eq!(s.send("cheap watches").await, Ok(()), "an unapproved suggestion is not enforced");

    // Bulk approval by category: both harassment entries apply at once.
    let by_category = DecideRequest { category: Some(Category::Harassment), ..select(&list) };
    assert_eq!(s.decide::<ApproveSuggestions>(by_category).await, vec![entries[2], entries[3]]);
    for text in &texts[2..] {
        assert!(s.send(text).await.is_err(), "{text} is enforced after the bulk approval");
    }

    // A declined suggestion is remembered: the same target listed again
    // arrives declined, not pending.
    let decline = DecideRequest { entries: vec![entries[1]], ..select(&list) };
    assert_eq!(s.decide::<DeclineSuggestions>(decline).await, vec![entries[1]]);
    let again = s.block("curated", "cheap watches", "spam", "reject").await;
    let fresh = s.block("curated", "fake lottery", "spam", "reject").await;
    s.held(&list, 6).await;
    let all = s.suggestions(&list, None).await;
    let state = |entry: u64| all.iter().find(|x| x.entry == entry).map(|x| x.state);
    assert_eq!(state(again), Some(SuggestionState::Declined), "not suggested again");
    assert_eq!(state(fresh), Some(SuggestionState::Pending));
    assert_eq!(s.send("cheap watches").await, Ok(()));

    // Bulk approval of everything pending.
    let everything = DecideRequest { all: true, ..select(&list) };
    assert_eq!(s.decide::<ApproveSuggestions>(everything).await, vec![fresh]);
    assert!(s.send("fake lottery").await.is_err());
    assert!(s.suggestions(&list, Some(SuggestionState::Pending)).await.is_empty());
    s.net.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn notify_mode_records_and_counts_entries_but_never_enforces_them() {
    let _machine = crate::shared().await;
    let s = Setup::start().await;
    let list = s.list("watch", json!({"mode": "notify"})).await;
    let entry = s.block("watch", "rumour mill", "other", "reject").await;
    s.held(&list, 1).await;

    let noted = s.suggestions(&list, None).await;
    assert_eq!(noted.len(), 1);
    assert_eq!((noted[0].entry, noted[0].state), (entry, SuggestionState::Noted));
    assert!(metric(s.subscriber(), "accord_list_entries_noted_total").await >= 1.0);
    assert_eq!(s.send("rumour mill").await, Ok(()), "a notice is never enforced");
    // A notice cannot be approved into force.
    let all = json!({"list": list, "all": true});
    let refused = s.subscriber().admin("POST", "/suggestions/approve", Some(all)).await.unwrap_err();
    assert!(refused.to_string().contains("409") && refused.to_string().contains("not_suggest_mode"), "{refused}");
    assert_eq!(s.send("rumour mill").await, Ok(()));
    let status = crate::hostile_lists::record(s.subscriber(), &list.to_string()).await.unwrap();
    assert_eq!(status["mode"], "notify");
    // Enforcing nothing of it, B does not declare it in its policy manifest.
    let peer = HostilePeer::start(None).await.unwrap();
    let b = peer.connect(&s.subscriber().p2p_addr()).await.unwrap();
    let FedResponse::Manifest { manifest } = peer.request(b, &FedRequest::Manifest {}).await.unwrap() else {
        panic!("B answers its manifest")
    };
    let manifest =
        accord_proto::Unverified::<accord_proto::policy::PolicyManifest>::from_raw(*manifest).verify().unwrap();
    assert!(manifest.lists.is_empty(), "a notify list is not declared: {:?}", manifest.lists);
    s.net.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_issuers_removal_undoes_the_entry_or_is_kept_as_the_operators_own_decision() {
    let _machine = crate::shared().await;
    let s = Setup::start().await;
    let undo = s.list("undo", json!({})).await;
    let keep = s.list("keep", json!({"on_removal": "keep"})).await;
    let (u, k) =
        (s.block("undo", "flyer one", "spam", "reject").await, s.block("keep", "flyer two", "spam", "reject").await);
    s.held(&undo, 1).await;
    s.held(&keep, 1).await;
    assert!(s.send("flyer one").await.is_err() && s.send("flyer two").await.is_err(), "both enforced");

    s.unblock("undo", u).await;
    s.unblock("keep", k).await;
    s.held(&undo, 2).await;
    s.held(&keep, 2).await;

    assert_eq!(s.send("flyer one").await, Ok(()), "with undo, the removal lifts the entry");
    let kept = s.send("flyer two").await.expect_err("with keep, the entry still applies");
    assert_eq!((kept.list.clone(), kept.entry), (keep.clone(), k));
    let decision = kept.decision.expect("provenance says it is kept");
    assert_eq!(decision.kind, DecisionKind::Kept);
    let reason = decision.reason.unwrap();
    assert!(reason.starts_with(&format!("kept after removal by {keep} at 20")), "{reason}");
    let listed = s.subscriber().admin_call::<ListKept>(&[], &KeptQuery { list: None }).await.unwrap().kept;
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].list.clone(), listed[0].entry, listed[0].removed_by), (keep.clone(), k, 1));
    assert_eq!(listed[0].reason, reason);
    let status = crate::hostile_lists::record(s.subscriber(), &keep.to_string()).await.unwrap();
    assert_eq!(status["on_removal"], "keep");

    // Kept across a restart.
    let mut net = s.net;
    net.nodes[1].restart().await.unwrap();
    let bob = net.nodes[1].user("bob2").await.unwrap();
    let room = bob.create_room("after restart", JoinRule::Public).await.unwrap();
    let err = room.send_text("flyer two").await.expect_err("still kept after a restart");
    assert_eq!(err.provenance().map(|p| p.entry), Some(k));
    room.send_text("flyer one").await.expect("still undone after a restart");
    net.stop().await.unwrap();
}

/// The provenance of the hidden item of `room`'s history whose cursor is
/// the last one.
async fn last_hidden(room: &Room) -> Option<Provenance> {
    let page = room.history(HistoryQuery::after(0).limit(500)).await.unwrap();
    page.hidden.last().map(|h| h.provenance.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn where_lists_disagree_the_highest_priority_decides_and_provenance_names_the_outranked() {
    let _machine = crate::shared().await;
    let s = Setup::start().await;
    let low = s.list("low", json!({"priority": 0})).await;
    let high = s.list("high", json!({"priority": 10})).await;
    let l = s.block("low", "contested", "spam", "reject").await;
    let h = s.block("high", "contested", "spam", "quarantine").await;
    s.held(&low, 1).await;
    s.held(&high, 1).await;

    // The higher list says quarantine, the lower reject: the message is
    // taken and held, by the higher list.
    assert_eq!(s.send("contested").await, Ok(()), "quarantine, not reject: the higher priority decides");
    let held = last_hidden(&s.room).await.expect("held for review");
    assert_eq!((held.list.clone(), held.entry, held.action), (high.clone(), h, Action::Quarantine));
    assert_eq!(held.priority, Some(10));
    assert_eq!(held.outranked.len(), 1);
    assert_eq!((held.outranked[0].list.clone(), held.outranked[0].entry), (low.clone(), l));
    assert_eq!((held.outranked[0].priority, held.outranked[0].verdict), (0, Verdict::Reject));

    // Raising the other list above it turns the decision over.
    s.subscriber().admin("POST", "/subscriptions", Some(json!({"list": low, "priority": 20}))).await.unwrap();
    let refused = s.send("contested").await.expect_err("now the reject list decides");
    assert_eq!((refused.list.clone(), refused.action, refused.priority), (low.clone(), Action::Reject, Some(20)));
    assert_eq!(refused.outranked[0].list, high);
    assert_eq!(refused.outranked[0].verdict, Verdict::Quarantine);

    // An exception wins over its entry, and the excepted list, being the
    // highest, lets the target through over the lower one.
    let except = json!({"list": low, "entry": l, "reason": "we allow it"});
    s.subscriber().admin("POST", "/exceptions", Some(except)).await.unwrap();
    let before = s.room.history(HistoryQuery::after(0).limit(500)).await.unwrap().hidden.len();
    assert_eq!(s.send("contested").await, Ok(()));
    let page = s.room.history(HistoryQuery::after(0).limit(500)).await.unwrap();
    assert!(page.hidden.len() < before + 1, "the new message is neither refused nor held");
    s.net.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn private_notes_are_never_published_and_survive_a_restart() {
    let _machine = crate::shared().await;
    let mut s = Setup::start().await;
    let list = s.list("annotated", json!({})).await;
    let entry = s.block("annotated", "doxxing link", "harassment", "reject").await;
    s.held(&list, 1).await;
    let (issuer_note, subscriber_note) =
        ("ISSUER-PRIVATE-7f3a: source is a victim", "SUBSCRIBER-PRIVATE-c41d: verified");
    let note = |text: &str| NoteRequest { list: list.clone(), entry, text: text.into(), by: Some("mod-kim".into()) };
    let added = s.issuer().admin_call::<AddNote>(&[], &note(issuer_note)).await.unwrap();
    assert_eq!((added.by.as_str(), added.entry), ("mod-kim", entry));
    s.subscriber().admin_call::<AddNote>(&[], &note(subscriber_note)).await.unwrap();
    // A moderator of the issuer's node keeps one too, through the client API.
    let moderator = s.issuer().user("kim").await.unwrap();
    let body = json!({"account": moderator.account().to_string()});
    s.issuer().admin("POST", "/moderators", Some(body)).await.unwrap();
    let by_moderator = moderator.mod_add_list_note(&list, entry, "MODERATOR-PRIVATE-19be").await.unwrap();
    assert_eq!(by_moderator.by, moderator.account().to_string());
    let outsider = s.issuer().user("outsider").await.unwrap();
    let refused = outsider.mod_list_notes(&list, None).await.expect_err("notes are for moderators only");
    assert_eq!(refused.code(), "not_moderator");
    // A new checkpoint after the notes were written.
    s.block("annotated", "another link", "harassment", "reject").await;
    s.held(&list, 2).await;

    // Neither the issuer nor the subscriber serves a note to peers: not in
    // the leaves, not in the checkpoint.
    let peer = HostilePeer::start(None).await.unwrap();
    for node in [s.issuer(), s.subscriber()] {
        let id = peer.connect(&node.p2p_addr()).await.unwrap();
        let answer =
            peer.request(id, &FedRequest::ListEntries { list: list.clone(), from: 0, limit: 100 }).await.unwrap();
        let FedResponse::ListEntries { checkpoint, entries } = &answer else {
            panic!("the list is served: {answer:?}")
        };
        assert_eq!(entries.len(), 2, "the whole list was served");
        let served = format!("{}\n{}", serde_json::to_string(&answer).unwrap(), checkpoint.note());
        for secret in ["ISSUER-PRIVATE", "SUBSCRIBER-PRIVATE", "MODERATOR-PRIVATE", "mod-kim"] {
            assert!(!served.contains(secret), "{secret} leaked into what a node serves");
        }
    }
    let shown = s.issuer().admin("GET", "/lists/annotated/entries", None).await.unwrap().to_string();
    assert!(shown.contains("doxxing") && !shown.contains("ISSUER-PRIVATE"), "the entries shown carry no note");

    // Kept in the store: there after a restart.
    s.net.nodes[0].restart().await.unwrap();
    let query = NotesQuery { list: list.clone(), entry: Some(entry) };
    let notes = s.net.nodes[0].admin_call::<ListNotes>(&[], &query).await.unwrap().notes;
    let texts: Vec<_> = notes.iter().map(|n| n.text.as_str()).collect();
    assert!(texts.len() == 2 && texts.contains(&issuer_note) && texts.contains(&"MODERATOR-PRIVATE-19be"), "{texts:?}");
    let notes = s.subscriber().admin_call::<ListNotes>(&[], &query).await.unwrap().notes;
    assert_eq!(notes.iter().map(|n| n.text.as_str()).collect::<Vec<_>>(), vec![subscriber_note]);
    let seen = moderator.mod_list_notes(&list, Some(entry)).await.unwrap();
    assert_eq!(seen.len(), 2, "the moderator reads the notes after the restart: {seen:?}");
    s.net.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_operator_keeps_a_private_note_on_an_entry_in_the_dashboards_lists_view() {
    use crate::web_dashboard::{click, operator_signs_in, type_into, until};
    let _machine = crate::shared().await;
    let node = TestNode::start().await.unwrap();
    node.admin("POST", "/lists", Some(json!({"name": "abuse"}))).await.unwrap();
    let entry = json!({"kind": "content", "id": content("spam"), "category": "spam"});
    node.admin("POST", "/lists/abuse/entries", Some(entry)).await.unwrap();

    let browser = accord_testkit::browser::Browser::start().await.unwrap();
    operator_signs_in(&browser, &node).await.unwrap();
    click(&browser, "#nav-lists").await.unwrap();
    type_into(&browser, "#note-entry", "0").await.unwrap();
    type_into(&browser, "#note-text", "the reporter asked us not to name them").await.unwrap();
    click(&browser, "#note-submit").await.unwrap();
    until(
        &browser,
        "the note is listed",
        "[...document.querySelectorAll('#notes td')].some(td => td.textContent === 'the reporter asked us not to name them')",
    )
    .await
    .unwrap();
    browser.screenshot("dashboard-list-notes").await.unwrap();

    let list = node.admin("GET", "/lists", None).await.unwrap()["lists"][0]["list"].as_str().unwrap().to_owned();
    let notes = node.admin("GET", &format!("/notes?list={list}"), None).await.unwrap();
    assert_eq!(notes["notes"][0]["text"], "the reporter asked us not to name them");
    assert_eq!((notes["notes"][0]["entry"].clone(), notes["notes"][0]["by"].clone()), (json!(0), json!("operator")));
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn switching_a_subscription_to_suggest_holds_its_entries_back_until_approved() {
    let _machine = crate::shared().await;
    let s = Setup::start().await;
    let list = s.list("switch", json!({})).await;
    let kept_back = s.block("switch", "loud ads", "spam", "reject").await;
    let withdrawn = s.block("switch", "quiet ads", "spam", "reject").await;
    s.held(&list, 2).await;
    assert!(s.send("loud ads").await.is_err(), "applied as it arrived");

    // Switched to suggest: what applied waits for approval.
    s.subscriber().admin("POST", "/subscriptions", Some(json!({"list": list, "mode": "suggest"}))).await.unwrap();
    assert_eq!(s.send("loud ads").await, Ok(()), "not enforced until approved");
    let pending = s.suggestions(&list, Some(SuggestionState::Pending)).await;
    assert_eq!(pending.iter().map(|p| p.entry).collect::<Vec<_>>(), vec![kept_back, withdrawn]);

    // The issuer removes one before anyone decided: it is withdrawn.
    s.unblock("switch", withdrawn).await;
    s.held(&list, 3).await;
    let all = s.suggestions(&list, None).await;
    assert_eq!(all.iter().find(|x| x.entry == withdrawn).map(|x| x.state), Some(SuggestionState::Withdrawn));

    let approve = DecideRequest { entries: vec![kept_back, withdrawn], ..select(&list) };
    assert_eq!(s.decide::<ApproveSuggestions>(approve).await, vec![kept_back], "only pending ones are decided");
    assert!(s.send("loud ads").await.is_err());
    assert_eq!(s.send("quiet ads").await, Ok(()));

    // Back to apply: every active entry applies again, as before.
    s.subscriber().admin("POST", "/subscriptions", Some(json!({"list": list, "mode": "apply"}))).await.unwrap();
    assert!(s.send("loud ads").await.is_err());
    assert_eq!(s.send("quiet ads").await, Ok(()), "the removed entry stays removed");
    s.net.stop().await.unwrap();
}

//! The operator's dashboard in a real browser (issue 14), on real nodes:
//! the operator signs in with the admin token, imports a Mastodon CSV and
//! watches its progress reach 100 %, and the imported entries are enforced;
//! the operator adds an entry with a category and a reason after the
//! dashboard said how many nodes follow the list, and the follower applies
//! it. Screenshots go to `target/screenshots/`.

use accord_proto::audit::{AuditLog, Moderator, Verdict};
use accord_sdk::{Client, EventContent, HistoryQuery, JoinRule, Room};
use accord_testkit::browser::Browser;
use accord_testkit::{TestNet, TestNode};
use serde_json::{Value, json};
use std::time::Duration;

/// How long the page may take to show what a test waits for.
const PATIENCE: Duration = Duration::from_secs(30);

/// Polls the JavaScript expression `expr` in the page until it is truthy;
/// its last value.
pub(crate) async fn until(browser: &Browser, what: &str, expr: &str) -> anyhow::Result<Value> {
    browser.until(what, expr, PATIENCE).await
}

pub(crate) async fn css(browser: &Browser, selector: &str) -> anyhow::Result<accord_testkit::browser::Element> {
    browser.wait_for(selector, PATIENCE).await?;
    browser.find(selector).await
}

pub(crate) async fn type_into(browser: &Browser, selector: &str, text: &str) -> anyhow::Result<()> {
    let field = css(browser, selector).await?;
    field.clear().await?;
    field.send_keys(text).await?;
    Ok(())
}

pub(crate) async fn click(browser: &Browser, selector: &str) -> anyhow::Result<()> {
    css(browser, selector).await?.click().await?;
    Ok(())
}

/// Chooses `value` in the `<select>` `selector`, as a user's choice does.
pub(crate) async fn choose(browser: &Browser, selector: &str, value: &str) -> anyhow::Result<()> {
    css(browser, selector).await?;
    let chosen = browser
        .eval(
            "const s = document.querySelector(arguments[0]); s.value = arguments[1];
             s.dispatchEvent(new Event('change', {bubbles: true})); return s.value;",
            vec![json!(selector), json!(value)],
        )
        .await?;
    anyhow::ensure!(chosen == json!(value), "{selector} has no option {value}");
    Ok(())
}

/// Opens the node's dashboard and signs in with its admin token, typed into
/// the page as an operator would.
pub(crate) async fn operator_signs_in(browser: &Browser, node: &TestNode) -> anyhow::Result<()> {
    browser.open(&format!("{}/dashboard", node.admin_url()?)).await?;
    until(browser, "the dashboard starts", "document.body.dataset.ready === '1'").await?;
    let token = std::fs::read_to_string(node.data_dir().join("admin.token"))?;
    type_into(browser, "#login-token", token.trim()).await?;
    click(browser, "#login-submit").await?;
    until(browser, "the node section shows", "document.querySelector('#status-node')?.textContent").await?;
    let stored = browser
        .eval(
            "return JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage), document.cookie]);",
            vec![],
        )
        .await?;
    assert_eq!(stored, json!("[[],[],\"\"]"), "the token and the session cookie stay out of the page's reach");
    Ok(())
}

/// Texts of the visible messages and the lists that hide items, in a room.
async fn view(room: &Room) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let page = room.history(HistoryQuery::after(0).limit(500)).await?;
    let texts = page
        .items
        .into_iter()
        .filter_map(|i| match i.ok()?.event.content() {
            EventContent::Message { text, .. } => Some(text.as_str().to_owned()),
            _ => None,
        })
        .collect();
    Ok((texts, page.hidden.iter().map(|h| h.provenance.list.to_string()).collect()))
}

/// A Mastodon domain-block export naming `blocked` (suspended, with a
/// public comment), `filler` more node ids, and two rows Accord cannot map.
fn mastodon_csv(blocked: &str, filler: usize) -> anyhow::Result<String> {
    let mut csv = String::from("#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\n");
    csv.push_str(&format!("{blocked},suspend,false,false,\"spam relay, reported twice\",false\n"));
    for _ in 0..filler {
        let node = accord_proto::NodeId::from(accord_proto::SecretKey::generate()?.public());
        csv.push_str(&format!("{node},silence,false,false,,false\n"));
    }
    csv.push_str("spam.example,suspend,true,true,a DNS domain,false\n");
    csv.push_str(&format!("{},suspend,false,false,,false\n", blocked.to_lowercase()));
    Ok(csv)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_operator_imports_a_mastodon_csv_watches_it_reach_100_percent_and_its_entries_are_enforced() {
    let _machine = crate::shared().await;
    // Arrange: carol's node C shares a room with alice's node A.
    let net = TestNet::start(2).await.unwrap();
    net.wait_connected(Duration::from_secs(10)).await.unwrap();
    let (a, c) = (&net.nodes[0], &net.nodes[1]);
    let alice: Client = a.user("alice").await.unwrap();
    let carol: Client = c.user("carol").await.unwrap();
    let room = alice.create_room("lobby", JoinRule::Public).await.unwrap();
    let carol_room = carol.room(room.id());
    carol_room.join_via(&[a.node_id()]).await.unwrap();
    carol_room.send_text("hello from another node").await.unwrap();
    accord_testkit::observe::eventually("carol's message reaches A", PATIENCE, || async {
        view(&room).await.is_ok_and(|(texts, _)| texts.iter().any(|t| t == "hello from another node"))
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("domain_blocks.csv");
    std::fs::write(&file, mastodon_csv(&c.node_id(), 12_000).unwrap()).unwrap();

    // Act: the operator creates a list and imports the file in the dashboard.
    let browser = Browser::start().await.unwrap();
    operator_signs_in(&browser, a).await.unwrap();
    browser.screenshot("dashboard-status").await.unwrap();
    click(&browser, "#nav-lists").await.unwrap();
    type_into(&browser, "#create-name", "imported").await.unwrap();
    click(&browser, "#create-submit").await.unwrap();
    css(&browser, "#import-file").await.unwrap().send_keys(&file.display().to_string()).await.unwrap();
    choose(&browser, "#import-format", "mastodon-csv").await.unwrap();
    choose(&browser, "#import-category", "spam").await.unwrap();
    // Every value the progress bar takes, as the page sets it.
    browser
        .eval(
            "const bar = document.getElementById('import-progress'); window.steps = [];
             new MutationObserver(() => window.steps.push(bar.value)).observe(bar, {attributes: true});",
            vec![],
        )
        .await
        .unwrap();
    click(&browser, "#import-start").await.unwrap();
    let question = until(
        &browser,
        "the import asks first",
        "document.getElementById('confirm-dialog').open && document.getElementById('confirm-title').textContent",
    )
    .await
    .unwrap();
    assert_eq!(question, json!("Import 12002 entries into imported?"));
    click(&browser, "#confirm-ok").await.unwrap();
    until(&browser, "the import ends", "document.getElementById('import').dataset.state === 'done'").await.unwrap();
    browser.screenshot("dashboard-import").await.unwrap();

    // Assert: the bar went up in steps to 100 %, the rows Accord cannot map
    // are listed, and the node enforces what was imported.
    let steps = browser.eval("return window.steps;", vec![]).await.unwrap();
    let steps: Vec<f64> = serde_json::from_value(steps).unwrap();
    assert_eq!(steps.last().copied(), Some(100.0), "{steps:?}");
    assert!(steps.windows(2).all(|w| w[0] <= w[1]), "the bar never goes back: {steps:?}");
    assert!(steps.iter().filter(|s| **s > 5.0 && **s < 95.0).count() >= 2, "staged in parts: {steps:?}");
    assert_eq!(css(&browser, "#import-percent").await.unwrap().text().await.unwrap(), "100%");
    let summary = css(&browser, "#import-summary").await.unwrap().text().await.unwrap();
    // The DNS domain is a domain entry now; the repeat of the node in
    // lower case is the one row skipped.
    assert!(summary.starts_with("12002 entries logged from index 0; 1 row skipped"), "{summary}");
    let list = a.admin("GET", "/lists", None).await.unwrap()["lists"][0]["list"].as_str().unwrap().to_owned();
    let shown = a.admin("GET", "/lists/imported/entries?limit=1", None).await.unwrap();
    assert_eq!(shown["size"], 12_002);
    assert_eq!(shown["entries"][0]["entry"]["target"], json!({"type": "node", "id": c.node_id()}));
    assert_eq!(shown["entries"][0]["entry"]["reason"], "spam relay, reported twice");
    accord_testkit::observe::eventually("A hides what C's member sent, naming the imported list", PATIENCE, || async {
        view(&room)
            .await
            .is_ok_and(|(texts, hidden)| texts.is_empty() && !hidden.is_empty() && hidden.iter().all(|l| *l == list))
    })
    .await
    .unwrap();
    net.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_operator_adds_an_entry_after_the_dashboard_says_how_many_nodes_follow_the_list() {
    let _machine = crate::shared().await;
    // Arrange: B follows A's list; mallory is a member of A.
    let net = TestNet::start(2).await.unwrap();
    net.wait_connected(Duration::from_secs(10)).await.unwrap();
    let (a, b) = (&net.nodes[0], &net.nodes[1]);
    let list =
        a.admin("POST", "/lists", Some(json!({"name": "abuse"}))).await.unwrap()["list"].as_str().unwrap().to_owned();
    b.admin("POST", "/subscriptions", Some(json!({"list": list}))).await.unwrap();
    accord_testkit::observe::eventually("A counts B as a follower", PATIENCE, || async {
        a.admin("GET", "/lists", None).await.is_ok_and(|l| l["lists"][0]["followers"] == 1)
    })
    .await
    .unwrap();
    let mallory: Client = a.user("mallory").await.unwrap();
    mallory.rooms().await.unwrap();

    // Act: the operator adds an entry for mallory in the dashboard.
    let browser = Browser::start().await.unwrap();
    operator_signs_in(&browser, a).await.unwrap();
    click(&browser, "#nav-lists").await.unwrap();
    choose(&browser, "#entry-kind", "account").await.unwrap();
    type_into(&browser, "#entry-id", &mallory.account().to_string()).await.unwrap();
    choose(&browser, "#entry-category", "harassment").await.unwrap();
    type_into(&browser, "#entry-reason", "threats against members").await.unwrap();
    click(&browser, "#entry-submit").await.unwrap();
    let warning = until(
        &browser,
        "the dashboard asks first",
        "document.getElementById('confirm-dialog').open && document.getElementById('confirm-details').textContent",
    )
    .await
    .unwrap();
    browser.screenshot("dashboard-confirm-followers").await.unwrap();
    let warning = warning.as_str().unwrap_or_default().to_owned();
    assert!(warning.starts_with("1 node follows this list"), "{warning}");
    click(&browser, "#confirm-ok").await.unwrap();
    until(
        &browser,
        "the entry is listed",
        "[...document.querySelectorAll('#entries td')].some(td => td.textContent === 'threats against members')",
    )
    .await
    .unwrap();

    // Assert: logged with category and reason, enforced here, applied by B.
    let shown = a.admin("GET", "/lists/abuse/entries", None).await.unwrap();
    let entry = &shown["entries"][0]["entry"];
    assert_eq!(
        (entry["category"].clone(), entry["reason"].clone()),
        (json!("harassment"), json!("threats against members"))
    );
    let refused = mallory.rooms().await.expect_err("mallory is blocked on A");
    assert_eq!(refused.provenance().map(|p| p.list.to_string()), Some(list.clone()));
    accord_testkit::observe::eventually("B applies the entry", PATIENCE, || async {
        b.admin("GET", "/lists", None).await.is_ok_and(|l| l["lists"][0]["size"] == 1)
    })
    .await
    .unwrap();

    // The dashboard on a 360-pixel-wide phone: nothing wider than the screen.
    browser.client().set_window_size(360, 780).await.unwrap();
    click(&browser, "#nav-status").await.unwrap();
    until(&browser, "the node section shows", "document.querySelector('#status-node')?.textContent").await.unwrap();
    let widths =
        browser.eval("return [window.innerWidth, document.documentElement.scrollWidth];", vec![]).await.unwrap();
    let widths: (u64, u64) = serde_json::from_value(widths).unwrap();
    assert!(widths.0 <= 360, "the window is {} px wide", widths.0);
    assert!(widths.1 <= widths.0, "the page ({} px) is wider than the screen ({} px)", widths.1, widths.0);
    browser.screenshot("dashboard-phone").await.unwrap();
    net.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_operator_resolves_a_report_with_a_block_and_the_browser_verifies_the_audit_log() {
    let _machine = crate::shared().await;
    // Arrange: alice reports carol's message on their node.
    let node = TestNode::start().await.unwrap();
    node.admin("POST", "/lists", Some(json!({"name": "abuse"}))).await.unwrap();
    let alice: Client = node.user("alice").await.unwrap();
    let carol: Client = node.user("carol").await.unwrap();
    let room = alice.create_room("market", JoinRule::Public).await.unwrap();
    let carol_room = carol.room(room.id());
    carol_room.join().await.unwrap();
    let offending = carol_room.send_text("buy pills here").await.unwrap().event_id;
    let filed = alice.report(accord_sdk::Category::Drugs).event(offending).comment("selling drugs").await.unwrap();

    // Act: the operator opens the case, sees its evidence verified, blocks.
    let browser = Browser::start().await.unwrap();
    operator_signs_in(&browser, &node).await.unwrap();
    click(&browser, "#nav-reports").await.unwrap();
    click(&browser, &format!("button[data-case='{}']", filed.case)).await.unwrap();
    let shown = until(
        &browser,
        "the evidence is verified in the page",
        "document.querySelector('#case-evidence li[data-verified=\"true\"] .event-text')?.textContent",
    )
    .await
    .unwrap();
    assert_eq!(shown, json!("buy pills here"));
    browser.screenshot("dashboard-case").await.unwrap();
    choose(&browser, "#resolve-action", "block").await.unwrap();
    choose(&browser, "#resolve-list", "abuse").await.unwrap();
    type_into(&browser, "#resolve-reason", "sells drugs in the room").await.unwrap();
    click(&browser, "#resolve-submit").await.unwrap();
    let warning = until(
        &browser,
        "the dashboard asks first",
        "document.getElementById('confirm-dialog').open && document.getElementById('confirm-details').textContent",
    )
    .await
    .unwrap();
    assert!(
        warning.as_str().unwrap_or_default().starts_with("Refuses the accounts on list abuse, which 0 nodes follow"),
        "{warning}"
    );
    click(&browser, "#confirm-ok").await.unwrap();
    until(&browser, "the case leaves the open queue", "document.getElementById('cases-empty')").await.unwrap();

    // Assert: carol is refused with the list's provenance; the audit log,
    // verified in the browser, holds the signed block.
    let refused = carol.rooms().await.expect_err("carol is blocked");
    assert_eq!(refused.provenance().map(|p| p.category.as_str()), Some("drugs"));
    click(&browser, "#nav-audit").await.unwrap();
    until(
        &browser,
        "the audit log verifies in the browser",
        "document.getElementById('audit-verdict')?.dataset.ok === 'true'",
    )
    .await
    .unwrap();
    let row = css(&browser, "#audit tbody tr").await.unwrap().text().await.unwrap();
    assert!(row.contains("block") && row.contains("sells drugs in the room"), "{row}");
    browser.screenshot("dashboard-audit").await.unwrap();
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_moderator_signs_in_with_their_key_file_and_resolves_a_case_with_a_signed_action() {
    let _machine = crate::shared().await;
    // Arrange: the node's moderator is an account whose key file the
    // moderator holds, as the CLI writes it.
    let moderator_key = accord_proto::SecretKey::generate().unwrap();
    let moderator_account = moderator_key.account_id();
    let node = TestNode::start_with(|config| config.reports.moderators = vec![moderator_account]).await.unwrap();
    node.admin("POST", "/lists", Some(json!({"name": "abuse"}))).await.unwrap();
    node.client(moderator_key.clone()).unwrap().register("mod", None).await.unwrap();
    let alice: Client = node.user("alice").await.unwrap();
    let carol: Client = node.user("carol").await.unwrap();
    let room = alice.create_room("market", JoinRule::Public).await.unwrap();
    let carol_room = carol.room(room.id());
    carol_room.join().await.unwrap();
    let offending = carol_room.send_text("spam spam spam").await.unwrap().event_id;
    let filed = alice.report(accord_sdk::Category::Spam).event(offending).await.unwrap();
    let key_file: String = moderator_key.to_seed().iter().map(|b| format!("{b:02x}")).collect();

    // Act: the moderator signs in with the key and hides the message.
    let browser = Browser::start().await.unwrap();
    browser.open(&format!("{}/dashboard", node.admin_url().unwrap())).await.unwrap();
    until(&browser, "the dashboard starts", "document.body.dataset.ready === '1'").await.unwrap();
    // The dashboard has an origin of its own (the admin listener): the
    // moderator gives it the key file, as the CLI wrote it.
    let key_dir = tempfile::tempdir().unwrap();
    let key_path = key_dir.path().join("mod.key");
    std::fs::write(&key_path, format!("{key_file}\n")).unwrap();
    css(&browser, "#login-moderator-keyfile").await.unwrap().send_keys(key_path.to_str().unwrap()).await.unwrap();
    click(&browser, "#login-moderator-submit").await.unwrap();
    until(
        &browser,
        "the moderator sees the queue",
        &format!("document.querySelector(\"button[data-case='{}']\")", filed.case),
    )
    .await
    .unwrap();
    let tabs = browser
        .eval("return [...document.querySelectorAll('#nav .tab')].filter(t => !t.hidden).map(t => t.id);", vec![])
        .await
        .unwrap();
    assert_eq!(tabs, json!(["nav-reports", "nav-audit"]), "a moderator gets the queue and the audit log only");
    click(&browser, &format!("button[data-case='{}']", filed.case)).await.unwrap();
    until(&browser, "the evidence is verified", "document.querySelector('#case-evidence li[data-verified=\"true\"]')")
        .await
        .unwrap();
    choose(&browser, "#resolve-action", "hide").await.unwrap();
    type_into(&browser, "#resolve-list", "abuse").await.unwrap();
    type_into(&browser, "#resolve-reason", "flooding the room").await.unwrap();
    click(&browser, "#resolve-submit").await.unwrap();
    until(&browser, "the dashboard asks first", "document.getElementById('confirm-dialog').open").await.unwrap();
    click(&browser, "#confirm-ok").await.unwrap();
    until(&browser, "the case leaves the open queue", "document.getElementById('cases-empty')").await.unwrap();

    // Assert: the audit log holds the moderator's own signed action, and
    // the message is hidden by the list entry it wrote.
    let export: AuditLog = serde_json::from_value(node.admin("GET", "/audit", None).await.unwrap()).unwrap();
    let (_, actions) = export.verify().unwrap();
    assert_eq!(actions.len(), 1);
    assert_eq!((actions[0].moderator, actions[0].action), (Moderator::Account(moderator_account), Verdict::Hide));
    assert_eq!(actions[0].reason.as_ref().map(|r| r.as_str()), Some("flooding the room"));
    accord_testkit::observe::eventually("the message is hidden", PATIENCE, || async {
        view(&room)
            .await
            .is_ok_and(|(texts, hidden)| !texts.iter().any(|t| t == "spam spam spam") && !hidden.is_empty())
    })
    .await
    .unwrap();
    node.stop().await.unwrap();
}

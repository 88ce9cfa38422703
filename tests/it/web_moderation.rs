//! The web client and the dashboard together, as a community uses them: a
//! member reports a message in the chat client; the operator of the node
//! resolves the case in the dashboard with a block on a shared list; a
//! third node that follows the list hides the author's messages, and a
//! member on that node sees, in their browser, which list hid them and why.

use crate::web_chat::{create_room, join_room, register, shows_message, wait_for};
use crate::web_dashboard::{choose, operator_signs_in, type_into, until};
use accord_testkit::TestNet;
use accord_testkit::browser::Browser;
use serde_json::json;
use std::time::Duration;

/// How long the third node may take to apply the new entry and hide.
const WITHIN_SECONDS: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_report_filed_in_the_browser_and_resolved_in_the_dashboard_hides_the_messages_on_a_following_node() {
    let _machine = crate::shared().await;
    // Node 0 issues the list and hosts the room; node 2 follows the list.
    let net = TestNet::start(3).await.unwrap();
    net.wait_connected(Duration::from_secs(30)).await.unwrap();
    let (home, follower) = (&net.nodes[0], &net.nodes[2]);
    let list = home.admin("POST", "/lists", Some(json!({"name": "abuse"}))).await.unwrap()["list"]
        .as_str()
        .unwrap()
        .to_owned();
    follower.admin("POST", "/subscriptions", Some(json!({"list": list}))).await.unwrap();

    // Alice (browser, node 0) opens a room; dave (browser, node 2) joins it
    // through node 0; carol (SDK, node 0) posts an advert in it.
    let (alice, dave, operator) =
        (Browser::start().await.unwrap(), Browser::start().await.unwrap(), Browser::start().await.unwrap());
    register(&alice, &home.url(), "alice").await.unwrap();
    register(&dave, &follower.url(), "dave").await.unwrap();
    let room = create_room(&alice, "market").await.unwrap();
    join_room(&dave, &room, &home.node_id()).await.unwrap();
    let carol = home.user("carol").await.unwrap();
    let carol_room = carol.room(room.parse().unwrap());
    carol_room.join().await.unwrap();
    let advert = "pills, no prescription, DM me";
    carol_room.send_text(advert).await.unwrap();
    wait_for(&alice, "carol's advert at alice", &shows_message(advert)).await.unwrap();
    wait_for(&dave, "carol's advert at dave", &shows_message(advert)).await.unwrap();

    // Alice reports it from the message's own Report button.
    alice
        .eval(
            "const li = [...document.querySelectorAll('#timeline-list li.event-message')]
               .find(li => li.querySelector('.event-text').textContent === arguments[0]);
             li.querySelector('button.action-report').click();",
            vec![json!(advert)],
        )
        .await
        .unwrap();
    choose(&alice, "#report-category", "drugs").await.unwrap();
    type_into(&alice, "#report-comment", "selling drugs to members").await.unwrap();
    alice.eval("document.getElementById('report-form').requestSubmit();", vec![]).await.unwrap();
    let report =
        wait_for(&alice, "the report to be filed", "document.getElementById('report-result').dataset.reportId")
            .await
            .unwrap();
    alice.screenshot("web-report-filed").await.unwrap();

    // The operator opens the case in the dashboard and blocks carol on the list.
    operator_signs_in(&operator, home).await.unwrap();
    crate::web_dashboard::click(&operator, "#nav-reports").await.unwrap();
    crate::web_dashboard::click(&operator, "button[data-case]").await.unwrap();
    let evidence = until(
        &operator,
        "the reported message, verified in the page",
        "document.querySelector('#case-evidence li[data-verified=\"true\"] .event-text')?.textContent",
    )
    .await
    .unwrap();
    assert_eq!(evidence, json!(advert), "the case carries alice's report {report}");
    choose(&operator, "#resolve-action", "block").await.unwrap();
    choose(&operator, "#resolve-list", "abuse").await.unwrap();
    type_into(&operator, "#resolve-reason", "drug adverts").await.unwrap();
    crate::web_dashboard::click(&operator, "#resolve-submit").await.unwrap();
    let warning = until(
        &operator,
        "the dashboard says who the block reaches",
        "document.getElementById('confirm-dialog').open && document.getElementById('confirm-details').textContent",
    )
    .await
    .unwrap();
    assert!(warning.as_str().unwrap_or_default().contains("which 1 node follows"), "{warning}");
    operator.screenshot("web-dashboard-block-warning").await.unwrap();
    crate::web_dashboard::click(&operator, "#confirm-ok").await.unwrap();
    until(&operator, "the case leaves the open queue", "document.getElementById('cases-empty')").await.unwrap();

    // Dave's node hides carol's message; dave's browser, opening the room,
    // shows the hidden item with the list, its category and reason.
    let started = tokio::time::Instant::now();
    let hidden = "document.querySelector('#timeline-list li.event-hidden')";
    loop {
        dave.open(&follower.url()).await.unwrap();
        wait_for(&dave, "dave's rooms", "document.querySelector('#room-list button.room-item')").await.unwrap();
        dave.eval("document.querySelector('#room-list button.room-item').click();", vec![]).await.unwrap();
        wait_for(&dave, "the room's timeline", "document.querySelector('#timeline-list li.event')").await.unwrap();
        if dave.eval(&format!("return !!{hidden};"), vec![]).await.unwrap() == json!(true) {
            break;
        }
        assert!(
            started.elapsed() < WITHIN_SECONDS,
            "the following node did not hide the advert within {WITHIN_SECONDS:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let provenance = dave
        .eval(&format!("const li = {hidden}; return [li.dataset.list, li.dataset.category, li.textContent];"), vec![])
        .await
        .unwrap();
    assert_eq!(provenance[0], json!(list), "the hidden item names the list");
    assert_eq!(provenance[1], json!("drugs"), "and the category");
    assert!(provenance[2].as_str().unwrap_or_default().contains("drug adverts"), "and the reason: {provenance}");
    let shown = dave.eval(&format!("return {};", shows_message(advert)), vec![]).await.unwrap();
    assert_eq!(shown, json!(false), "the advert is no longer shown as a message");
    dave.screenshot("web-chat-hidden-provenance").await.unwrap();
    for browser in [alice, dave, operator] {
        browser.close().await.unwrap();
    }
    net.stop().await.unwrap();
}

//! The operator's moderation-team commands (spec/reports.md §12, §12.1) run
//! as the real `accord-node` binary against a running node: roles and
//! categories, notes, assignments, muted reporters and appeals.

use accord_proto::blocklist::Category;
use accord_testkit::TestNode;
use serde_json::{Value, json};

async fn accord_node(args: &[&str]) -> Value {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_accord-node")).args(args).output().await.unwrap();
    assert!(out.status.success(), "accord-node {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("accord-node {}: {e}", args.join(" ")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_operator_runs_the_team_from_the_command_line() {
    // Arrange: a node, a member with a room, a report of a message.
    let node = TestNode::start().await.unwrap();
    let d = node.data_dir().to_str().unwrap().to_owned();
    let alice = node.user("alice").await.unwrap();
    let carol = node.user("carol").await.unwrap();
    let helper = node.user("helper").await.unwrap();
    let room = alice.create_room("cli", accord_sdk::JoinRule::Public).await.unwrap();
    carol.room(room.id()).join().await.unwrap();
    let sent = carol.room(room.id()).send_text("cheap watches").await.unwrap();
    let case = alice.report(Category::Spam).event(sent.event.id()).await.unwrap().case.to_string();
    let helper_id = helper.account().to_string();
    let alice_id = alice.account().to_string();

    // Act + assert: a scoped moderator, seen with its role and categories.
    let team = accord_node(&[
        "moderators",
        "add",
        &helper_id,
        "--role",
        "moderator",
        "--categories",
        "spam,harassment",
        "--data-dir",
        &d,
        "--json",
    ])
    .await;
    let entry = team["moderators"].as_array().unwrap().iter().find(|m| m["account"] == json!(helper_id)).cloned();
    assert_eq!(
        entry.map(|m| (m["role"].clone(), m["categories"].clone())),
        Some((json!("moderator"), json!(["harassment", "spam"])))
    );

    // A note and an assignment; the case shows both.
    accord_node(&["reports", "note", &case, "--text", "seen before", "--data-dir", &d, "--json"]).await;
    let assigned = accord_node(&["reports", "assign", &case, "--to", &helper_id, "--data-dir", &d, "--json"]).await;
    assert_eq!(assigned["index"], json!(0));
    let shown = accord_node(&["reports", "show", &case, "--data-dir", &d, "--json"]).await;
    assert_eq!((&shown["case"]["assigned"], &shown["notes"][0]["text"]), (&json!(helper_id), &json!("seen before")));

    // A mute, listed, then lifted; appeals, none yet.
    let muted =
        accord_node(&["reports", "mute", &alice_id, "--case", &case, "--reason", "test", "--data-dir", &d, "--json"])
            .await;
    assert_eq!(muted["muted"][0]["account"], json!(alice_id));
    assert_eq!(
        accord_node(&["reports", "muted", "--data-dir", &d, "--json"]).await["muted"][0]["reason"],
        json!("test")
    );
    let unmuted = accord_node(&["reports", "unmute", &alice_id, "--data-dir", &d, "--json"]).await;
    assert_eq!(unmuted["muted"], json!([]));
    assert_eq!(accord_node(&["reports", "appeals", "--all", "--data-dir", &d, "--json"]).await["appeals"], json!([]));
    let automated = accord_node(&["reports", "list", "--source", "automated", "--data-dir", &d, "--json"]).await;
    assert_eq!(automated["cases"], json!([]));
    let people = accord_node(&["reports", "list", "--data-dir", &d, "--json"]).await;
    assert_eq!(people["cases"][0]["id"], json!(case));
    node.stop().await.unwrap();
}

//! `SIGHUP` (docs/operating.md): a running node takes its rate limits and
//! the lists it follows from its configuration file again, without a
//! restart; a configuration that does not load changes nothing.

use crate::crash::{START, crash_node};
use accord_node::config::Subscription;
use accord_node::{Config, DataDir};
use accord_proto::event::JoinRule;
use accord_proto::{IssuerId, ListId, SecretKey};
use accord_sdk::{Client, RetryPolicy};
use accord_testkit::observe::eventually;
use std::time::Duration;

fn hangup(pid: u32) {
    let status = std::process::Command::new("kill").args(["-HUP", &pid.to_string()]).status().expect("kill runs");
    assert!(status.success(), "kill -HUP {pid}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_applies_new_rate_limits_and_lists_followed_without_a_restart() {
    let mut node = crash_node("reload.local", None);
    node.start(START).await.unwrap();
    let pid = node.pid().expect("running");
    let client = Client::builder()
        .node_url(node.url())
        .key(SecretKey::generate().unwrap())
        .retry_policy(RetryPolicy::never())
        .build()
        .unwrap();
    client.register("alice", None).await.unwrap();
    let room = client.create_room("reloaded", JoinRule::Public).await.unwrap();
    for i in 0..20 {
        room.send_text(&format!("generous {i}")).await.expect("the configured limit is generous");
    }

    // A configuration that does not load changes nothing.
    let path = DataDir::new(node.data_dir()).config();
    let good = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, "[limits]\nevents_per_second = \"many\"\n").unwrap();
    hangup(pid);
    tokio::time::sleep(Duration::from_millis(500)).await;
    for i in 0..10 {
        room.send_text(&format!("still generous {i}")).await.expect("a broken configuration changed nothing");
    }
    std::fs::write(&path, good).unwrap();

    // Act: a member's rate of 1 event a second (burst 2), and a list to follow.
    let list =
        ListId { issuer: IssuerId::from(SecretKey::generate().unwrap().public()), name: "shared".parse().unwrap() };
    let mut config = Config::load(&path).unwrap();
    config.limits.events_per_second = 1;
    config.limits.burst = 2;
    config.lists.subscribe = vec![Subscription {
        list: list.clone(),
        actions: Default::default(),
        pdq_threshold: None,
        witnesses: vec![],
        witnesses_required: None,
        mode: Default::default(),
        on_removal: Default::default(),
        priority: 0,
    }];
    config.save(&path).unwrap();
    hangup(pid);

    // Assert: the list is followed, and the member is held to the new rate.
    let shown = list.to_string();
    eventually("the node follows the configured list", START, || async {
        let lists = node.admin("GET", "/lists", None).await.unwrap();
        lists["lists"].as_array().unwrap().iter().any(|l| l["list"] == shown.as_str() && l["subscribed"] == true)
    })
    .await
    .unwrap();
    let mut refused = None;
    for i in 0..5 {
        if let Err(e) = room.send_text(&format!("held {i}")).await {
            refused = Some(e.code().to_owned());
            break;
        }
    }
    assert_eq!(refused.as_deref(), Some("rate_limited"), "the new rate holds within five sends");
    assert!(node.is_running() && node.pid() == Some(pid), "the same process: no restart");
}

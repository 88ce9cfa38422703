//! `accord-node doctor` (docs/operating.md): run as the real binary on a
//! data directory, it says in words what is wrong, and fails when
//! something would stop the node.

use crate::crash::{START, crash_node};
use accord_proto::SecretKey;
use accord_proto::event::JoinRule;
use accord_sdk::{Client, HistoryQuery};
use accord_testkit::TestNode;
use accord_testkit::observe::eventually;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::time::Duration;

const BINARY: &str = env!("CARGO_BIN_EXE_accord-node");

/// Runs `accord-node doctor`: whether it passed, and what it printed.
fn doctor(data_dir: &Path) -> (bool, String) {
    doctor_with_path(data_dir, None)
}

/// Runs `accord-node doctor` with `path` as its `PATH` if given (where it
/// finds `timedatectl`).
fn doctor_with_path(data_dir: &Path, path: Option<&Path>) -> (bool, String) {
    let mut command = std::process::Command::new(BINARY);
    command.args(["doctor", "--data-dir"]).arg(data_dir);
    if let Some(path) = path {
        command.env("PATH", path);
    }
    let out = command.output().expect("accord-node doctor runs");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A `timedatectl` in `dir` that answers `show` with `answer`, as
/// systemd's does for `--property=NTPSynchronized --value`.
fn fake_timedatectl(dir: &Path, answer: &str) {
    let path = dir.join("timedatectl");
    let script =
        format!("#!/bin/sh\n[ \"$1 $2 $3\" = 'show --property=NTPSynchronized --value' ] || exit 1\necho {answer}\n");
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_passes_a_healthy_stopped_node_and_fails_a_taken_port_and_an_exposed_key() {
    let node = crash_node("doctor.local", None);
    let api = node.url().trim_start_matches("http://").to_owned();

    let (passed, text) = doctor(node.data_dir());
    assert!(passed, "a fresh data directory passes:\n{text}");
    assert!(text.contains("ok    node: not running"), "{text}");
    assert!(text.contains(&format!("ok    client API: {api} is free")), "{text}");
    assert!(text.contains("ok    disk space:"), "{text}");

    // Another process holds the API's port, and the key is readable by all.
    let squatter = std::net::TcpListener::bind(&api).unwrap();
    let key = node.data_dir().join("node.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (passed, text) = doctor(node.data_dir());
    assert!(!passed, "a taken port fails the check:\n{text}");
    assert!(text.contains(&format!("FAIL  client API: {api} is taken by another process")), "{text}");
    assert!(text.contains("FAIL  node key:") && text.contains("(mode 644)"), "a key others can read:\n{text}");
    drop(squatter);

    let (passed, text) = doctor(&node.data_dir().join("missing"));
    assert!(!passed && text.contains("FAIL  data directory:"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_reports_a_running_node_and_its_readiness() {
    let mut node = crash_node("doctor-run.local", None);
    node.start(START).await.unwrap();
    let (passed, text) = tokio::task::spawn_blocking({
        let dir = node.data_dir().to_path_buf();
        move || doctor(&dir)
    })
    .await
    .unwrap();
    assert!(passed, "{text}");
    assert!(text.contains("ok    node: running; its admin endpoint answers at"), "{text}");
    for check in ["store", "rooms", "peers", "caught_up"] {
        assert!(text.contains(&format!("ok    readiness: {check}:")), "{check}:\n{text}");
    }
    assert!(!text.contains("client API:"), "the running node's ports are not probed:\n{text}");
    assert!(
        text.contains("ok    clock: no peer has pushed an event since the node started: no clock to compare"),
        "{text}"
    );
}

#[test]
fn doctor_warns_when_the_kernel_says_the_clock_is_not_synchronised() {
    let node = crash_node("doctor-clock.local", None);
    let bin = tempfile::tempdir().unwrap();

    fake_timedatectl(bin.path(), "no");
    let (passed, text) = doctor_with_path(node.data_dir(), Some(bin.path()));
    assert!(passed, "a warning fails nothing:\n{text}");
    assert!(text.contains("warn  clock: clock not synchronised (NTP):"), "{text}");

    fake_timedatectl(bin.path(), "yes");
    let (_, text) = doctor_with_path(node.data_dir(), Some(bin.path()));
    assert!(text.contains("ok    clock: synchronised (NTP)"), "{text}");

    let nothing = tempfile::tempdir().unwrap();
    let (_, text) = doctor_with_path(node.data_dir(), Some(nothing.path()));
    assert!(text.contains("warn  clock: cannot tell whether the clock is synchronised (NTP): timedatectl:"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_compares_the_running_nodes_clock_with_the_peers_that_pushed_to_it() {
    // Arrange: node A (its own process) and a peer share a room, and the
    // peer's member writes there: the peer pushes its events to A.
    let peer = TestNode::start().await.unwrap();
    let mut a = crash_node("doctor-peers.local", Some(peer.p2p_addr()));
    a.start(START).await.unwrap();
    let a_id = a.node_id().await.unwrap().parse().unwrap();
    let alice = Client::builder().node_url(a.url()).key(SecretKey::generate().unwrap()).build().unwrap();
    alice.register("alice", None).await.unwrap();
    let room = alice.create_room("clocks", JoinRule::Public).await.unwrap();
    let bob = peer.user("bob").await.unwrap();
    let bobs_room = bob.room(room.id());
    bobs_room.join_via(&[a_id]).await.unwrap();
    bobs_room.send_text("pushed to A").await.unwrap();
    eventually("A holds the peer's message", Duration::from_secs(30), || async {
        room.history(HistoryQuery::after(0))
            .await
            .is_ok_and(|page| page.items.iter().flatten().any(|item| item.text() == Some("pushed to A")))
    })
    .await
    .unwrap();

    // Act
    let (passed, text) = tokio::task::spawn_blocking({
        let dir = a.data_dir().to_path_buf();
        move || doctor(&dir)
    })
    .await
    .unwrap();

    // Assert: one peer's clock is known, and it is this machine's.
    assert!(passed, "{text}");
    assert!(
        text.contains("ok    clock: 1 peers' clocks agree with this node's within 30 s (largest offset "),
        "{text}"
    );
    peer.stop().await.unwrap();
}

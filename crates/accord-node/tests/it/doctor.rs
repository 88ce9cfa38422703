//! `accord-node doctor` (docs/operating.md): run as the real binary on a
//! data directory, it says in words what is wrong, and fails when
//! something would stop the node.

use crate::crash::{START, crash_node};
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

const BINARY: &str = env!("CARGO_BIN_EXE_accord-node");

/// Runs `accord-node doctor`: whether it passed, and what it printed.
fn doctor(data_dir: &Path) -> (bool, String) {
    let out = std::process::Command::new(BINARY)
        .args(["doctor", "--data-dir"])
        .arg(data_dir)
        .output()
        .expect("accord-node doctor runs");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned())
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
}

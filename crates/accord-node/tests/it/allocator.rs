//! A node process runs with the node's allocator settings
//! (`accord_node::allocator`), in place of the process started, unless the
//! operator set their own. (glibc on Linux: elsewhere it does nothing.)

#![cfg(all(target_os = "linux", target_env = "gnu"))]

use crate::crash::{START, crash_node};
use accord_node::allocator::{NODE_TUNABLES, TUNABLES_VAR};

/// The value of `name` in the environment of process `pid`.
fn environment_of(pid: u32, name: &str) -> Option<String> {
    let environ = std::fs::read(format!("/proc/{pid}/environ")).expect("the process's environment is readable");
    environ.split(|b| *b == 0).find_map(|entry| {
        let entry = String::from_utf8_lossy(entry);
        entry.strip_prefix(name).and_then(|rest| rest.strip_prefix('=')).map(str::to_owned)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_process_runs_with_the_nodes_allocator_settings_under_the_process_id_it_was_started_with() {
    let mut node = crash_node("allocator.local", None);
    node.env(TUNABLES_VAR, None);
    node.start(START).await.unwrap();
    let pid = node.pid().expect("the node runs");
    // glibc 2.36 cuts the process's first copy of the variable, which
    // /proc shows, at the first setting once it has read them all; the
    // copy the process itself reads is whole.
    let seen = environment_of(pid, TUNABLES_VAR).expect("the node runs with allocator settings");
    assert!(!seen.is_empty() && NODE_TUNABLES.starts_with(&seen), "{seen} is not the node's settings");
    assert!(node.is_running(), "the process started is the node that answers");
    node.kill().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operators_own_allocator_settings_are_kept() {
    let mut node = crash_node("allocator-own.local", None);
    node.env(TUNABLES_VAR, Some("glibc.malloc.arena_max=4"));
    node.start(START).await.unwrap();
    let pid = node.pid().expect("the node runs");
    assert_eq!(environment_of(pid, TUNABLES_VAR).as_deref(), Some("glibc.malloc.arena_max=4"));
    node.kill().unwrap();
}

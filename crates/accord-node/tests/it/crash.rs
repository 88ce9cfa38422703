//! Acknowledged messages survive `kill -9` of the node process.

use accord_proto::SecretKey;
use accord_proto::event::JoinRule;
use accord_sdk::{Client, HistoryQuery};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const NODE: &str = env!("CARGO_BIN_EXE_accord-node");

fn spawn(dir: &std::path::Path) -> Child {
    Command::new(NODE)
        .args(["run", "--data-dir"])
        .arg(dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start accord-node")
}

async fn wait_ready(url: &str) {
    for _ in 0..200 {
        if let Ok(r) = reqwest::get(format!("{url}/v1/node")).await
            && r.status().is_success()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("node did not come up at {url}");
}

/// A data directory made by `accord-node init` for a node named `name` on a
/// free loopback port, with rate limits raised (these tests measure
/// durability, not limits). Returns the directory and the API URL.
fn init_data_dir(name: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let port = accord_testkit::free_port().unwrap();
    let status = Command::new(NODE)
        .args(["init", "--data-dir"])
        .arg(dir.path())
        .args(["--name", name, "--api", &format!("127.0.0.1:{port}"), "--p2p", "/ip4/127.0.0.1/tcp/0"])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let config_path = dir.path().join("accord.toml");
    let mut config = accord_node::Config::load(&config_path).unwrap();
    config.limits.events_per_second = 10_000;
    config.limits.burst = 10_000;
    config.save(&config_path).unwrap();
    (dir, format!("http://127.0.0.1:{port}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_messages_survive_sigkill() {
    let (dir, url) = init_data_dir("crash.local");

    let mut child = spawn(dir.path());
    wait_ready(&url).await;
    let client = Client::builder().node_url(&url).key(SecretKey::generate().unwrap()).build().unwrap();
    client.register("writer", None).await.unwrap();
    let room = client.create_room("durable", JoinRule::Public).await.unwrap();
    const N: usize = 120;
    let mut acked = Vec::new();
    for i in 0..N {
        let receipt = room.send_text(&format!("durable {i}")).await.unwrap();
        acked.push(receipt.event_id);
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let mut child = spawn(dir.path());
    wait_ready(&url).await;
    let mut seen = Vec::new();
    let mut query = Some(HistoryQuery::after(0).limit(500));
    while let Some(q) = query {
        let page = room.history(q).await.unwrap();
        for item in &page.items {
            seen.push(item.as_ref().unwrap().id());
        }
        query = page.next;
    }
    for id in &acked {
        assert_eq!(seen.iter().filter(|s| *s == id).count(), 1, "acknowledged event {id} present exactly once");
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Rounds of the kill-under-load test; `ACCORD_SOAK_ROUNDS` runs more.
fn rounds() -> usize {
    std::env::var("ACCORD_SOAK_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(20)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_messages_survive_repeated_sigkill_under_load() {
    let (dir, url) = init_data_dir("soak.local");

    let mut child = spawn(dir.path());
    wait_ready(&url).await;
    let writers: Vec<Client> =
        (0..3).map(|_| Client::builder().node_url(&url).key(SecretKey::generate().unwrap()).build().unwrap()).collect();
    for (i, w) in writers.iter().enumerate() {
        w.register(&format!("writer{i}"), None).await.unwrap();
    }
    let room = writers[0].create_room("soak", JoinRule::Public).await.unwrap();
    for w in &writers[1..] {
        w.room(room.id()).join().await.unwrap();
    }

    let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    for round in 0..rounds() {
        // Several clients send as fast as the node acknowledges …
        let tasks: Vec<_> = writers
            .iter()
            .enumerate()
            .map(|(w, client)| {
                let (room, acked) = (client.room(room.id()), acked.clone());
                tokio::spawn(async move {
                    for i in 0.. {
                        match room.send_text(&format!("r{round} w{w} m{i}")).await {
                            Ok(receipt) => acked.lock().unwrap().push(receipt.event_id),
                            Err(_) => break, // the node died under us
                        }
                    }
                })
            })
            .collect();
        // … until the node is killed at a moment that varies per round.
        tokio::time::sleep(Duration::from_millis(150 + (round as u64 * 37) % 400)).await;
        child.kill().unwrap();
        child.wait().unwrap();
        for t in tasks {
            t.await.unwrap();
        }
        child = spawn(dir.path());
        wait_ready(&url).await;
    }

    // Every acknowledged message is there exactly once.
    let mut seen = std::collections::HashMap::new();
    let mut query = Some(HistoryQuery::after(0).limit(500));
    while let Some(q) = query {
        let page = writers[0].room(room.id()).history(q).await.unwrap();
        for item in &page.items {
            *seen.entry(item.as_ref().unwrap().id()).or_insert(0) += 1;
        }
        query = page.next;
    }
    let acked = acked.lock().unwrap().clone();
    eprintln!("{} messages acknowledged across {} kills; all present once", acked.len(), rounds());
    assert!(acked.len() > rounds(), "load was applied ({} acknowledged)", acked.len());
    for id in &acked {
        assert_eq!(seen.get(id), Some(&1), "acknowledged event {id} present exactly once");
    }
    assert!(seen.values().all(|n| *n == 1), "no event appears twice");
    child.kill().unwrap();
    child.wait().unwrap();
}

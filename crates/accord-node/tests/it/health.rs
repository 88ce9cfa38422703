//! Health endpoints (spec/client-api.md §11): `/healthz` answers while the
//! node's API does; `/readyz` says ready only when the store answers, the
//! rooms are loaded and, if the configuration names bootstrap peers, some
//! peer is connected.

use crate::crash::{START, crash_node};
use accord_api::ErrorBody;
use accord_api::health::{HealthResponse, ReadyResponse};
use accord_node::{Config, DataDir};
use accord_proto::SecretKey;
use accord_proto::event::JoinRule;
use accord_sdk::{Client, HistoryQuery};
use accord_testkit::TestNode;
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(30);

async fn readyz(node: &TestNode) -> (u16, ReadyResponse) {
    let resp = reqwest::get(format!("{}/readyz", node.url())).await.expect("readyz answers");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("a ReadyResponse"))
}

/// Polls `/readyz` until its status is `want`.
async fn until_status(node: &TestNode, want: u16) -> ReadyResponse {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let (status, body) = readyz(node).await;
        if status == want {
            return body;
        }
        assert!(tokio::time::Instant::now() < deadline, "readyz stayed {status}, wanted {want}: {body:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_is_alive_and_ready_with_its_store_and_rooms_and_no_peers_configured() {
    let node = TestNode::start().await.unwrap();
    let alive = reqwest::get(format!("{}/healthz", node.url())).await.unwrap();
    assert_eq!(alive.status().as_u16(), 200);
    assert_eq!(alive.json::<HealthResponse>().await.unwrap().status, "alive");

    let (status, ready) = readyz(&node).await;
    assert_eq!(status, 200, "{ready:?}");
    assert!(ready.ready);
    let names: Vec<&str> = ready.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["store", "rooms", "peers", "caught_up"]);
    assert!(ready.checks.iter().all(|c| c.ok), "{ready:?}");
    node.stop().await.unwrap();
}

/// The value of the metrics line starting with `name`, if there is one.
fn metric(body: &str, name: &str) -> Option<f64> {
    body.lines().find(|l| l.starts_with(name)).and_then(|l| l.rsplit(' ').next()).and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metrics_say_where_the_memory_goes_and_rocksdb_keeps_to_its_budget() {
    let node = TestNode::start().await.unwrap();
    let client = node.user("remembers").await.unwrap();
    let room = client.create_room("memory", JoinRule::Public).await.unwrap();
    for i in 0..20 {
        room.send_text(&format!("message {i}")).await.unwrap();
    }
    let body = reqwest::get(format!("{}/metrics", node.url())).await.unwrap().text().await.unwrap();
    let budget = (accord_store::DEFAULT_MEMORY_MB << 20) as f64;
    let memtables = metric(&body, "accord_store_memory_bytes{part=\"memtables\"}").expect("memtables reported");
    let cache = metric(&body, "accord_store_memory_bytes{part=\"block_cache\"}").expect("block cache reported");
    metric(&body, "accord_store_memory_bytes{part=\"table_readers\"}").expect("table readers reported");
    assert!(memtables > 0.0, "the messages are in a memtable: {memtables}");
    assert!(memtables + cache <= budget, "RocksDB keeps to its budget: {memtables} + {cache}");
    let resident = metric(&body, "accord_resident_bytes").expect("resident memory reported");
    assert!(resident > memtables, "the process holds at least the memtables: {resident}");
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metrics_count_the_stores_group_commits_and_the_fsyncs_the_acknowledged_sends_took() {
    let node = TestNode::start().await.unwrap();
    let client = node.user("commits").await.unwrap();
    let room = client.create_room("commits", JoinRule::Public).await.unwrap();
    let read = |body: &str| {
        let count = |name| metric(body, name).unwrap_or_else(|| panic!("{name} reported"));
        (
            count("accord_store_commits_total"),
            count("accord_store_fsyncs_total"),
            count("accord_store_committed_batches_total"),
        )
    };
    let url = format!("{}/metrics", node.url());
    let before = read(&reqwest::get(&url).await.unwrap().text().await.unwrap());
    for i in 0..10 {
        room.send_text(&format!("counted {i}")).await.unwrap();
    }
    let after = read(&reqwest::get(&url).await.unwrap().text().await.unwrap());
    // Each send was acknowledged after its own fsynced write (one at a
    // time): at least ten more of each.
    assert!(after.1 - before.1 >= 10.0, "fsyncs: {before:?} -> {after:?}");
    assert!(after.0 - before.0 >= after.1 - before.1, "every fsync is a commit: {before:?} -> {after:?}");
    assert!(after.2 - before.2 >= after.0 - before.0, "every commit carries a batch: {before:?} -> {after:?}");
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_with_bootstrap_peers_is_ready_only_while_one_is_connected() {
    let a = TestNode::start().await.unwrap();
    let addr = a.p2p_addr();
    let b = TestNode::start_with(|config| config.p2p.bootstrap = vec![addr]).await.unwrap();

    let ready = until_status(&b, 200).await;
    assert!(ready.ready && ready.checks.iter().all(|c| c.ok), "{ready:?}");

    // The only peer goes away: B is alive but not ready.
    a.stop().await.unwrap();
    let unready = until_status(&b, 503).await;
    assert!(!unready.ready);
    let peers = unready.checks.iter().find(|c| c.name == "peers").expect("a peers check");
    assert!(!peers.ok, "{unready:?}");
    assert!(unready.checks.iter().filter(|c| c.name != "peers").all(|c| c.ok), "only the peers check fails");
    let alive = reqwest::get(format!("{}/healthz", b.url())).await.unwrap();
    assert_eq!(alive.status().as_u16(), 200, "still alive");
    b.stop().await.unwrap();
}

/// What one look at a starting node saw, asked in this order.
struct Look {
    node_info: u16,
    node_info_code: Option<String>,
    alive: u16,
    ready: (u16, ReadyResponse),
}

/// `/v1/node`, `/healthz`, then `/readyz`; `None` while nothing listens.
async fn look(url: &str) -> Option<Look> {
    let info = reqwest::get(format!("{url}/v1/node")).await.ok()?;
    let node_info = info.status().as_u16();
    let node_info_code =
        if node_info == 200 { None } else { Some(info.json::<ErrorBody>().await.ok()?.error.code.to_string()) };
    let alive = reqwest::get(format!("{url}/healthz")).await.ok()?.status().as_u16();
    let ready = reqwest::get(format!("{url}/readyz")).await.ok()?;
    let status = ready.status().as_u16();
    Some(Look { node_info, node_info_code, alive, ready: (status, ready.json().await.ok()?) })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_starting_node_is_alive_but_not_ready_until_its_rooms_are_loaded() {
    // Arrange: a node holding rooms, stopped, then started again with a
    // pause before each room it loads (the test-only `[testing]` knob).
    const ROOMS: usize = 4;
    let mut node = crash_node("loading.local", None);
    node.start(START).await.unwrap();
    let client = Client::builder().node_url(node.url()).key(SecretKey::generate().unwrap()).build().unwrap();
    client.register("keeper", None).await.unwrap();
    let mut rooms = Vec::new();
    for i in 0..ROOMS {
        let room = client.create_room(&format!("kept {i}"), JoinRule::Public).await.unwrap();
        room.send_text(&format!("kept message {i}")).await.unwrap();
        rooms.push(room);
    }
    node.kill().unwrap();
    let path = DataDir::new(node.data_dir()).config();
    let mut config = Config::load(&path).unwrap();
    config.testing.room_load_delay_ms = 400;
    config.save(&path).unwrap();

    // Act: start it, and look at it until it is ready.
    node.spawn().unwrap();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let mut loading_seen = 0;
    let ready = loop {
        assert!(tokio::time::Instant::now() < deadline, "the node was not ready within {PATIENCE:?}");
        assert!(node.is_running(), "the node exited while starting");
        let Some(look) = look(&node.url()).await else {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        let (status, ready) = look.ready;
        if status == 200 {
            break ready;
        }
        // Assert, while loading: alive, not ready for the rooms' sake only,
        // and every other request answered `503 starting`.
        assert_eq!(status, 503, "{ready:?}");
        let rooms_check = ready.checks.iter().find(|c| c.name == "rooms").expect("a rooms check");
        assert!(!ready.ready && !rooms_check.ok, "{ready:?}");
        assert!(rooms_check.detail.starts_with("loading rooms: "), "{ready:?}");
        assert!(rooms_check.detail.ends_with(&format!(" of {ROOMS}")), "{ready:?}");
        assert!(ready.checks.iter().filter(|c| c.name != "rooms").all(|c| c.ok), "only the rooms fail: {ready:?}");
        assert_eq!(look.alive, 200, "alive while loading");
        assert_eq!(look.node_info, 503, "asked before /readyz said loading");
        assert_eq!(look.node_info_code.as_deref(), Some("starting"));
        loading_seen += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    // Assert: loading was seen, and once ready every room is served.
    assert!(loading_seen > 0, "/readyz never said the rooms were loading");
    assert!(ready.ready && ready.checks.iter().all(|c| c.ok), "{ready:?}");
    let rooms_check = ready.checks.iter().find(|c| c.name == "rooms").expect("a rooms check");
    assert_eq!(rooms_check.detail, format!("{ROOMS} rooms loaded"));
    for (i, room) in rooms.iter().enumerate() {
        let page = room.history(HistoryQuery::after(0)).await.unwrap();
        assert!(!page.items.is_empty(), "room {i} is served");
    }
}

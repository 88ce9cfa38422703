//! Health endpoints (spec/client-api.md §11): `/healthz` answers while the
//! node's API does; `/readyz` says ready only when the store answers and,
//! if the configuration names bootstrap peers, some peer is connected.

use accord_api::health::{HealthResponse, ReadyResponse};
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

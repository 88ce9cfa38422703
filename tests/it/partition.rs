//! A network split in two keeps chatting on both sides; once healed, every
//! node holds the same room history and the same list checkpoints, and a
//! list entry published on one side during the split is enforced on the
//! other (spec/federation.md §9, spec/blocklists.md §10.5), caught up
//! when the connections open again: the periodic sync rounds are off.

use accord_proto::SecretKey;
use accord_sdk::{Client, JoinRule, Room};
use accord_testkit::observe::{converged, eventually, send_from_each, texts};
use accord_testkit::{TestNet, TestNode};
use serde_json::{Value, json};
use std::time::Duration;

/// How long a test waits for the network to split, heal or converge.
const PATIENCE: Duration = Duration::from_secs(60);

/// The node's record of `list` (`GET /admin/lists`): size and checkpoint.
async fn list_status(node: &TestNode, list: &str) -> Option<(u64, Value)> {
    let status = node.admin("GET", "/lists", None).await.ok()?;
    let record = status["lists"].as_array()?.iter().find(|r| r["list"] == list)?.clone();
    Some((record["size"].as_u64()?, record["checkpoint"].clone()))
}

/// An account homed on `node` (not in the shared room) and its key.
async fn bystander(node: &TestNode, name: &str) -> (Client, SecretKey) {
    let key = SecretKey::generate().unwrap();
    let client = node.client(key.clone()).unwrap();
    client.register(name, None).await.unwrap();
    (client, key)
}

/// Whether `key`'s account is refused login on `node` because of an entry
/// of `list`.
async fn refused_by(node: &TestNode, key: &SecretKey, list: &str) -> bool {
    match node.client(key.clone()).unwrap().login().await {
        Err(e) => e.provenance().is_some_and(|p| p.list.to_string() == list),
        Ok(_) => false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn both_sides_of_a_partition_keep_chatting_and_converge_with_the_lists_enforced_after_healing() {
    let _machine = crate::shared().await;
    // Arrange: four nodes, a room spanning all of them, and two lists: one
    // issued by node 0 (west side), one by node 3 (east side), each
    // followed by every other node.
    // The periodic sync rounds are off: whatever crosses the healed split
    // is caught up because a connection opened, not because a round came.
    let net = TestNet::start_with(4, |_, _, c| c.p2p.sync_interval_secs = 0).await.unwrap();
    let mut clients = Vec::new();
    for (i, node) in net.nodes.iter().enumerate() {
        clients.push(node.user(&format!("user{i}")).await.unwrap());
    }
    let room = clients[0].create_room("split", JoinRule::Public).await.unwrap();
    let via = [net.nodes[0].node_id()];
    for c in &clients[1..] {
        c.room(room.id()).join_via(&via).await.unwrap();
    }
    let rooms: Vec<Room> = clients.iter().map(|c| c.room(room.id())).collect();
    let west = net.nodes[0].admin("POST", "/lists", Some(json!({"name": "west"}))).await.unwrap();
    let east = net.nodes[3].admin("POST", "/lists", Some(json!({"name": "east"}))).await.unwrap();
    let (west, east) = (west["list"].as_str().unwrap().to_owned(), east["list"].as_str().unwrap().to_owned());
    for (i, node) in net.nodes.iter().enumerate() {
        for (issuer, list) in [(0, &west), (3, &east)] {
            if i != issuer {
                node.admin("POST", "/subscriptions", Some(json!({"list": list}))).await.unwrap();
            }
        }
    }
    // x lives in the east and will be blocked by the west's list; y lives
    // in the west and will be blocked by the east's.
    let (_x, x_key) = bystander(&net.nodes[2], "x").await;
    let (_y, y_key) = bystander(&net.nodes[1], "y").await;
    let mut sent = send_from_each(&rooms, "before", 2).await;
    converged(&rooms, 1 + 3 + 8, PATIENCE).await.unwrap();

    // Act: split {0, 1} | {2, 3}; both sides chat and each issuer blocks
    // an account of the other side.
    net.partition(&[&[0, 1], &[2, 3]], PATIENCE).await.unwrap();
    let both = futures::join!(
        send_from_each(&rooms[..2], "west during the split", 5),
        send_from_each(&rooms[2..], "east during the split", 5),
    );
    sent.extend(both.0);
    sent.extend(both.1);
    let block = |id: String| json!({"kind": "account", "id": id, "category": "harassment", "reason": "split"});
    net.nodes[0].admin("POST", "/lists/west/entries", Some(block(x_key.account_id().to_string()))).await.unwrap();
    net.nodes[3].admin("POST", "/lists/east/entries", Some(block(y_key.account_id().to_string()))).await.unwrap();
    // Each side's subscriber follows its own side's issuer …
    eventually("node 1 follows the west list", PATIENCE, || async {
        list_status(&net.nodes[1], &west).await.is_some_and(|s| s.0 == 1)
    })
    .await
    .unwrap();
    eventually("node 2 follows the east list", PATIENCE, || async {
        list_status(&net.nodes[2], &east).await.is_some_and(|s| s.0 == 1)
    })
    .await
    .unwrap();
    // … while the split holds: neither side sees the other's new messages
    // or entries.
    for (node, room, other_list, other_label) in
        [(&net.nodes[1], &rooms[1], &east, "east"), (&net.nodes[2], &rooms[2], &west, "west")]
    {
        assert_eq!(list_status(node, other_list).await.map(|s| s.0), Some(0), "no entry crossed the split");
        let seen = texts(room).await.unwrap();
        assert!(!seen.iter().any(|t| t.starts_with(other_label)), "no message crossed the split");
    }
    assert!(!refused_by(&net.nodes[1], &y_key, &east).await, "y is not refused before the heal");

    // Heal.
    net.heal(PATIENCE).await.unwrap();

    // Assert: one history everywhere, holding every message once …
    let hash = converged(&rooms, 1 + 3 + 8 + 20, PATIENCE).await.unwrap();
    for (i, room) in rooms.iter().enumerate() {
        assert_eq!(texts(room).await.unwrap(), sent, "node {i} serves every message of both sides");
    }
    eprintln!("healed: 4 nodes converged on history {hash}");
    // … the same checkpoints of both lists on every node …
    for list in [&west, &east] {
        eventually(&format!("every node holds {list} at one checkpoint"), PATIENCE, || async {
            let mut statuses = Vec::new();
            for node in &net.nodes {
                statuses.push(list_status(node, list).await);
            }
            statuses.iter().all(|s| s.as_ref().is_some_and(|s| s.0 == 1) && *s == statuses[0])
        })
        .await
        .unwrap();
    }
    // … and the entries published during the split enforced across it.
    eventually("x refused on its (east) home by the west's entry", PATIENCE, || async {
        refused_by(&net.nodes[2], &x_key, &west).await
    })
    .await
    .unwrap();
    eventually("y refused on its (west) home by the east's entry", PATIENCE, || async {
        refused_by(&net.nodes[1], &y_key, &east).await
    })
    .await
    .unwrap();
    // The healed network keeps working.
    rooms[3].send_text("after the heal").await.unwrap();
    let mut accepted = 1 + 3 + 8 + 20 + 1;
    converged(&rooms, accepted, PATIENCE).await.unwrap();

    // Soak (`ACCORD_SOAK=1`): more splits along every line, each healed.
    let splits: [[&[usize]; 2]; 3] = [[&[0], &[1, 2, 3]], [&[0, 2], &[1, 3]], [&[0, 3], &[1, 2]]];
    for cycle in 0..soak_cycles() {
        let groups = splits[cycle % splits.len()];
        net.partition(&groups, PATIENCE).await.unwrap();
        let sides = groups.map(|g| g.iter().map(|i| rooms[*i].clone()).collect::<Vec<_>>());
        let labels = [format!("cycle {cycle} side 0"), format!("cycle {cycle} side 1")];
        let (one, other) =
            futures::join!(send_from_each(&sides[0], &labels[0], 3), send_from_each(&sides[1], &labels[1], 3));
        accepted += (one.len() + other.len()) as u64;
        net.heal(PATIENCE).await.unwrap();
        converged(&rooms, accepted, PATIENCE).await.unwrap();
    }
    net.stop().await.unwrap();
}

/// Extra split-and-heal cycles: none, or 30 with `ACCORD_SOAK=1`.
fn soak_cycles() -> usize {
    if std::env::var("ACCORD_SOAK").is_ok_and(|v| v == "1") { 30 } else { 0 }
}

//! `accord-node list create --description`, `list discover PEER` and
//! `subscribe NODE_ID/NAME`, run as the real binary against running nodes
//! through their admin listeners (spec/blocklists.md §12.2d, §12.3).

use accord_proto::IssuerId;
use accord_testkit::TestNode;
use accord_testkit::observe::eventually;
use std::time::Duration;

async fn accord_node(args: &[&str]) -> std::process::Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_accord-node")).args(args).output().await.unwrap()
}

/// Runs the binary and requires it to succeed: its standard output.
async fn ok(args: &[&str]) -> String {
    let out = accord_node(args).await;
    assert!(out.status.success(), "accord-node {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_discovers_a_peers_described_list_and_subscribes_by_its_node_id_and_name() {
    let subscriber = TestNode::start().await.unwrap();
    let seed = subscriber.p2p_addr();
    let issuer = TestNode::start_with(|c| c.p2p.bootstrap = vec![seed]).await.unwrap();
    let (sub_dir, iss_dir) = (subscriber.data_dir(), issuer.data_dir());
    let (sub_dir, iss_dir) = (sub_dir.to_str().unwrap(), iss_dir.to_str().unwrap());
    ok(&["list", "create", "spam", "--description", "spam accounts seen here", "--data-dir", iss_dir]).await;
    let target = accord_proto::SecretKey::generate().unwrap().account_id().to_string();
    ok(&["list", "add", "spam", "--account", &target, "--category", "spam", "--data-dir", iss_dir]).await;
    let list = format!("{}/spam", IssuerId::from(*issuer.node().node_id().public_key()));

    // By p2p address, as an operator pastes it.
    let shown = ok(&["list", "discover", &issuer.p2p_addr(), "--data-dir", sub_dir]).await;
    assert!(shown.contains(&format!("{list}  size 1  last checkpoint 20")), "{shown}");
    assert!(shown.contains("spam accounts seen here"), "{shown}");
    let json: serde_json::Value =
        serde_json::from_str(&ok(&["list", "discover", &issuer.node_id(), "--json", "--data-dir", sub_dir]).await)
            .unwrap();
    assert_eq!(json["lists"][0]["list"], list);

    // A peer that answers nothing is refused with its code.
    let nobody = accord_proto::NodeId::from(accord_proto::SecretKey::generate().unwrap().public()).to_string();
    let refused = accord_node(&["list", "discover", &nobody, "--data-dir", sub_dir]).await;
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("peer_unreachable"));

    ok(&["subscribe", &format!("{}/spam", issuer.node_id()), "--data-dir", sub_dir]).await;
    eventually("the subscription fetches the entry", Duration::from_secs(30), || async {
        let lists = subscriber.admin("GET", "/lists", None).await.unwrap();
        lists["lists"].as_array().unwrap().iter().any(|l| l["list"] == list && l["size"] == 1)
    })
    .await
    .unwrap();
    issuer.stop().await.unwrap();
    subscriber.stop().await.unwrap();
}

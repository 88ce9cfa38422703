//! A node serving its API over TLS itself (`[api.tls]`): the operator's
//! commands on its machine still reach it, and say `https://`.

use accord_testkit::TestNode;
use accord_testkit::tls::TestCa;

async fn accord_node(args: &[&str]) -> std::process::Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_accord-node")).args(args).output().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn info_and_admin_commands_reach_a_node_serving_tls() {
    let ca = TestCa::new().unwrap();
    let node = TestNode::start_tls(&ca, |_| {}).await.unwrap();
    let dir = node.data_dir();
    let dir = dir.to_str().unwrap();

    let info = accord_node(&["info", "--data-dir", dir, "--json"]).await;
    assert!(info.status.success(), "{}", String::from_utf8_lossy(&info.stderr));
    let info: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
    assert_eq!(info["api_url"], format!("https://{}", node.api_addr()));
    assert_eq!(info["running"], true, "info asked the running node over TLS: {info}");

    let created = accord_node(&["list", "create", "spam", "--data-dir", dir]).await;
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let listed = accord_node(&["list", "status", "--data-dir", dir, "--json"]).await;
    assert!(listed.status.success(), "{}", String::from_utf8_lossy(&listed.stderr));
    assert!(String::from_utf8_lossy(&listed.stdout).contains("spam"));
    let lists = node.admin("GET", "/lists", None).await.unwrap();
    assert!(lists.to_string().contains("spam"), "{lists}");
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_whose_certificate_cannot_be_read_does_not_start() {
    let ca = TestCa::new().unwrap();
    let started = TestNode::start_tls(&ca, |c| {
        if let Some(tls) = c.api.tls.as_mut() {
            tls.key = "missing-key.pem".into();
        }
    })
    .await;
    let err = started.err().expect("no key, no node");
    assert!(err.to_string().contains("api.tls") && err.to_string().contains("missing-key.pem"), "{err}");
}

//! Propagation: an entry published on the issuer's list until it is
//! enforced on every node (each node's enforcement index holds it), on 3
//! and on 10 nodes that all subscribe to the list.

use crate::net::start_net;
use crate::report::Report;
use crate::stats::Samples;
use accord_proto::SecretKey;
use accord_testkit::TestNode;
use serde_json::json;
use std::time::{Duration, Instant};

/// How long one entry may take to reach every node before the scenario
/// counts it as broken.
const PATIENCE: Duration = Duration::from_secs(30);

async fn indexed(node: &TestNode) -> anyhow::Result<u64> {
    Ok(node.admin("GET", "/lists", None).await?["indexed"].as_u64().unwrap_or(0))
}

/// List `abuse`, made on the first of `nodes` and followed by every other.
pub(crate) async fn one_list(nodes: &[TestNode]) -> anyhow::Result<()> {
    let issuer = nodes.first().ok_or_else(|| anyhow::anyhow!("a list needs a node"))?;
    let created = issuer.admin("POST", "/lists", Some(json!({"name": "abuse"}))).await?;
    let list = created["list"].as_str().unwrap_or_default().to_owned();
    for node in &nodes[1..] {
        node.admin("POST", "/subscriptions", Some(json!({"list": list}))).await?;
    }
    Ok(())
}

/// Adds one account entry to list `abuse` on `issuer`.
pub(crate) async fn publish(issuer: &TestNode) -> anyhow::Result<()> {
    let account = SecretKey::generate()?.account_id().to_string();
    issuer
        .admin("POST", "/lists/abuse/entries", Some(json!({"kind": "account", "id": account, "category": "spam"})))
        .await?;
    Ok(())
}

/// Per node, the time until it indexes `want` entries.
async fn until_everywhere(nodes: &[TestNode], want: u64, started: Instant) -> anyhow::Result<Vec<Duration>> {
    let mut at: Vec<Option<Duration>> = vec![None; nodes.len()];
    while at.iter().any(Option::is_none) {
        for (i, node) in nodes.iter().enumerate() {
            if at[i].is_none() && indexed(node).await? >= want {
                at[i] = Some(started.elapsed());
            }
        }
        anyhow::ensure!(started.elapsed() < PATIENCE, "entry {want} not enforced everywhere: {at:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(at.into_iter().flatten().collect())
}

pub(crate) async fn run(quick: bool, report: &mut Report) -> anyhow::Result<()> {
    let runs: &[(usize, u64)] = if quick { &[(3, 3)] } else { &[(3, 30), (10, 30)] };
    for &(size, entries) in runs {
        let net = start_net(size).await?;
        let issuer = &net.nodes[0];
        one_list(&net.nodes).await?;
        // A first entry, not timed: every subscriber has fetched the list.
        publish(issuer).await?;
        until_everywhere(&net.nodes, 1, Instant::now()).await?;
        let mut everywhere = Samples::default();
        for k in 0..entries {
            let started = Instant::now();
            publish(issuer).await?;
            let per_node = until_everywhere(&net.nodes, k + 2, started).await?;
            everywhere.push(per_node.into_iter().max().unwrap_or_default());
        }
        report.figure(&format!("propagation_{size}_nodes_p50"), everywhere.percentile_ms(50.0), "ms", None);
        report.figure(&format!("propagation_{size}_nodes_p99"), everywhere.percentile_ms(99.0), "ms", None);
        net.stop().await?;
    }
    Ok(())
}

//! Several nodes federating on loopback.

use crate::TestNode;
use accord_node::Config;
use std::time::Duration;

/// A network of test nodes: node 0 first, every other node given node 0
/// as its bootstrap peer, so the rest is found through Kademlia.
pub struct TestNet {
    /// The nodes, in start order.
    pub nodes: Vec<TestNode>,
}

impl TestNet {
    /// Starts `n` nodes (named `n0.test` … ) and waits until each is
    /// connected to every other one.
    pub async fn start(n: usize) -> anyhow::Result<TestNet> {
        Self::start_with(n, |_, _, _| {}).await
    }

    /// Like [`TestNet::start`], with `edit(i, nodes started so far,
    /// config)` applied to node `i`'s configuration.
    pub async fn start_with(n: usize, edit: impl Fn(usize, &[TestNode], &mut Config)) -> anyhow::Result<TestNet> {
        let mut nodes: Vec<TestNode> = Vec::new();
        for i in 0..n {
            let seed = nodes.first().map(TestNode::p2p_addr);
            let started = &nodes;
            let node = TestNode::start_with(|c| {
                c.node.name = format!("n{i}.test").parse().unwrap_or_else(|_| c.node.name.clone());
                c.p2p.bootstrap = seed.into_iter().collect();
                edit(i, started, c);
            })
            .await?;
            nodes.push(node);
        }
        let net = TestNet { nodes };
        // Kademlia refreshes at 1, 2, 4, 8 and 16 s, then every 30 s: a
        // rare start that misses the early rounds is caught by the 46 s one
        // (it took more than 30 s once in many runs on a loaded machine).
        net.wait_connected(Duration::from_secs(60)).await?;
        Ok(net)
    }

    /// Waits until every node is connected to every other node.
    pub async fn wait_connected(&self, timeout: Duration) -> anyhow::Result<()> {
        let want = self.nodes.len().saturating_sub(1);
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let counts: Vec<usize> = self.nodes.iter().map(|n| n.node().network().peer_count()).collect();
            if counts.iter().all(|c| *c >= want) {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                anyhow::bail!("nodes not fully connected after {timeout:?}: peer counts {counts:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Splits the network into `groups` (indices into [`TestNet::nodes`]):
    /// every node blocks every node of the other groups with its own
    /// firewall, and this waits until no connection crosses a group.
    pub async fn partition(&self, groups: &[&[usize]], timeout: Duration) -> anyhow::Result<()> {
        let crossing = |i: usize, j: usize| {
            let group = |k: usize| groups.iter().position(|g| g.contains(&k));
            group(i) != group(j)
        };
        for (i, a) in self.nodes.iter().enumerate() {
            for (j, b) in self.nodes.iter().enumerate() {
                if crossing(i, j) {
                    a.block_peer(b).await?;
                }
            }
        }
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let open: Vec<(usize, usize)> = (0..self.nodes.len())
                .flat_map(|i| (0..self.nodes.len()).map(move |j| (i, j)))
                .filter(|&(i, j)| crossing(i, j) && self.nodes[i].is_connected_to(&self.nodes[j]))
                .collect();
            if open.is_empty() {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                anyhow::bail!("connections still cross the partition after {timeout:?}: {open:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Lifts every block [`TestNet::partition`] set and waits until every
    /// node is connected to every other one again.
    pub async fn heal(&self, timeout: Duration) -> anyhow::Result<()> {
        for a in &self.nodes {
            for b in &self.nodes {
                if a.node_id() != b.node_id() {
                    a.unblock_peer(b).await?;
                }
            }
        }
        self.wait_connected(timeout).await
    }

    /// Stops every node.
    pub async fn stop(self) -> anyhow::Result<()> {
        for node in self.nodes {
            node.stop().await?;
        }
        Ok(())
    }
}

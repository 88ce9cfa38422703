//! Join: a member of node B joins a room that holds a long history on
//! node A, as a user does (through the SDK, by room id with `via` node A),
//! and B fetches the whole history from A (its join pages,
//! spec/federation.md §3.5).
//!
//! Node A runs in this process; node B runs in a process of its own (this
//! binary, re-run with the hidden `--node-process DIR`, as in the growth
//! scenario), so that its resident memory is its own. The scenario times
//! the join's acknowledgement and the moment B's view of the room matches
//! A's (same accepted events, same history hash), reads B's memory before
//! and after, and what the federation counters of both nodes grew by. The
//! ceiling is the strict verification of the same number of signatures on
//! all cores, which B cannot avoid: every event carries its author's
//! signature and its origin's stamp.

use crate::ceiling::Ceilings;
use crate::growth::NodeChild;
use crate::net::{metrics, unlimited};
use crate::report::Report;
use accord_node::DataDir;
use accord_sdk::{Client, JoinRule};
use accord_testkit::TestNode;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Accounts on A that send the history.
const SENDERS: usize = 8;
/// Sends in flight per sender over its WebSocket.
const DEPTH: usize = 32;
/// How long B's view may stay unchanged before the join counts as broken.
const STALL: Duration = Duration::from_secs(120);

const MB: f64 = 1024.0 * 1024.0;

pub(crate) async fn run(quick: bool, ceilings: &mut Ceilings, report: &mut Report) -> anyhow::Result<()> {
    let events = if quick { 2_000 } else { 100_000 };
    let a = TestNode::start_with(|c| {
        unlimited(c);
        c.node.name = "a.test".parse().unwrap_or_else(|_| c.node.name.clone());
    })
    .await?;

    // The history, sent by several accounts over their WebSockets.
    let owner = a.user("owner").await?;
    let room = owner.create_room("history", JoinRule::Public).await?;
    let mut senders = vec![owner.clone()];
    for i in 1..SENDERS {
        let client = a.user(&format!("sender{i}")).await?;
        client.room(room.id()).join().await?;
        senders.push(client);
    }
    eprintln!("join: sending {events} messages into one room on A");
    let loading = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for client in &senders {
        let sender = client.stream_sender();
        for _ in 0..DEPTH {
            let (sender, next, id) = (sender.clone(), next.clone(), room.id());
            tasks.push(tokio::spawn(async move {
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    if k >= events {
                        return anyhow::Ok(());
                    }
                    sender.send_text(id, &format!("history message {k}, of a typical length for a chat")).await?;
                }
            }));
        }
    }
    for task in futures::future::join_all(tasks).await {
        task??;
    }
    let load_secs = loading.elapsed().as_secs_f64();
    report.figure("join_history_load_rate", events as f64 / load_secs, "msg/s", None);
    let before_join = room.state().await?;
    eprintln!("join: A holds {} accepted events after {load_secs:.1} s", before_join.accepted);

    // B, in a process of its own, with A as its bootstrap peer.
    let dir = tempfile::tempdir()?;
    let config = accord_testkit::test_config(|c| {
        unlimited(c);
        c.node.name = "b.test".parse().unwrap_or_else(|_| c.node.name.clone());
        c.p2p.bootstrap = vec![a.p2p_addr()];
    })?;
    let b_url = format!("http://{}", config.api.listen);
    DataDir::new(dir.path()).init(Some(&config))?;
    let (b, _) = NodeChild::start(dir.path(), &b_url).await?;
    let joiner = Client::builder()
        .node_url(&b_url)
        .key(accord_proto::SecretKey::generate()?)
        .request_timeout(Duration::from_secs(3600))
        .build()?;
    joiner.register("joiner", None).await?;
    let rss_before = crate::growth::settled_rss(&b).await?;
    let counted_before = (fed_counters(&a.url()).await?, fed_counters(&b_url).await?);

    // The join, and B's view until it matches A's.
    let started = Instant::now();
    let joined = joiner.room(room.id());
    joined.join_via(&[a.node_id()]).await?;
    let acknowledged = started.elapsed();
    let held = loop {
        let seen = joined.state().await?;
        if seen.accepted > before_join.accepted {
            break started.elapsed();
        }
        anyhow::ensure!(
            started.elapsed() < acknowledged + STALL,
            "B holds {} of A's {} accepted events",
            seen.accepted,
            before_join.accepted
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    report.figure("join_acknowledged", acknowledged.as_secs_f64(), "s", None);
    let verify_secs = events as f64 / ceilings.verify_single(quick, report)?;
    // Two strict verifications per event: the author's signature and the
    // origin's stamp.
    report.figure("join_whole_history_held", held.as_secs_f64(), "s", Some(2.0 * verify_secs));
    report.figure("join_events_per_second", events as f64 / held.as_secs_f64(), "ev/s", None);

    // The same history on both sides: once A has B's join, both hold the
    // same accepted events in the same order.
    let deadline = Instant::now() + STALL;
    loop {
        let (at_a, at_b) = (room.state().await?, joined.state().await?);
        if at_a.accepted == at_b.accepted && at_a.history_hash == at_b.history_hash {
            break;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "A and B disagree on the room: {} accepted ({}) at A, {} ({}) at B",
            at_a.accepted,
            at_a.history_hash,
            at_b.accepted,
            at_b.history_hash
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let rss_after = crate::growth::settled_rss(&b).await?;
    report.figure("join_b_rss_growth", (rss_after - rss_before) / MB, "MB", None);
    report.figure("join_b_rss_growth_per_event", (rss_after - rss_before) / events as f64, "B", None);
    let counted_after = (fed_counters(&a.url()).await?, fed_counters(&b_url).await?);
    for (side, before, after) in
        [("a", &counted_before.0, &counted_after.0), ("b", &counted_before.1, &counted_after.1)]
    {
        for (series, value) in after {
            let grown = value - before.get(series).copied().unwrap_or(0.0);
            if grown > 0.0 {
                let name: String = series
                    .trim_start_matches("accord_fed_")
                    .replace("_total", "")
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                    .collect();
                let unit = if name.contains("bytes") { "B" } else { "count" };
                report.figure(&format!("join_{side}_fed_{}", name.trim_end_matches('_')), grown, unit, None);
            }
        }
    }
    b.kill()?;
    a.stop().await?;
    Ok(())
}

/// A node's federation counters (`accord_fed_*_total`, from its
/// `/metrics`), by series.
async fn fed_counters(url: &str) -> anyhow::Result<BTreeMap<String, f64>> {
    let mut counters = metrics(url).await?;
    counters.retain(|series, _| series.starts_with("accord_fed_") && series.contains("_total"));
    Ok(counters)
}

//! Scale: many nodes on one machine, one room spanning all of them, a user
//! on every node sending in turn at an offered rate, a live subscription
//! on every node: the share of messages every node delivered, and the
//! send-to-receive latency, through the SDK and node only.

use crate::net::{Collector, Tally, drain, offer, room_across, unlimited};
use crate::presigned::{self, Follower, Load};
use crate::report::Report;
use accord_store::SyncPolicy;
use accord_testkit::TestNet;
use std::time::Duration;

/// The scenario; each network runs for `settle` before its load.
pub(crate) async fn run(quick: bool, settle: Duration, report: &mut Report) -> anyhow::Result<()> {
    measure("scale", SyncPolicy::Fsync, quick, settle, report).await?;
    if !quick {
        // Diagnosis, not a figure of the default setup: the twenty nodes
        // share one disk here, each with its own fsyncs; the same run
        // with writes acknowledged once in the WAL shows what that costs.
        measure("scale_wal", SyncPolicy::Wal, quick, settle, report).await?;
    }
    node_only(quick, settle, report).await
}

/// The nodes, the offered rate and for how long: 20 nodes at 100 msg/s
/// for 20 s, or 5 at 20 msg/s for 2 s in the smoke run.
fn shape(quick: bool) -> (usize, f64, Duration) {
    if quick { (5, 20.0, Duration::from_secs(2)) } else { (20, 100.0, Duration::from_secs(20)) }
}

/// The same network and load with the clients of [`crate::presigned`]:
/// each node's sender writes events signed before the run, and each
/// node's follower is a plain WebSocket, verified after the run. Twenty
/// SDKs' signing and verifying would otherwise share the two cores with
/// the twenty nodes. Figures `scale_node_only_{size}_…`.
async fn node_only(quick: bool, settle: Duration, report: &mut Report) -> anyhow::Result<()> {
    let (size, rate, span) = shape(quick);
    let started = std::time::Instant::now();
    let net = TestNet::start_with(size, |_, _, c| unlimited(c)).await?;
    let (_clients, rooms) = room_across(&net.nodes).await?;
    let room = rooms[0].id();
    let http = reqwest::Client::new();
    let mut senders = Vec::new();
    let mut followers = Vec::new();
    for (i, node) in net.nodes.iter().enumerate() {
        let key = presigned::member(node, &format!("presender{i}"), room, &net.nodes[0]).await?;
        followers.push(Follower::start(&http, node, &key, room).await?);
        senders.push((node, key));
    }
    eprintln!("scale node only: {size} nodes up and in one room in {:.1} s", started.elapsed().as_secs_f64());
    tokio::time::sleep(settle).await;
    let load = Load { tag: "scalenodeonly", rate, span, idle: Duration::from_secs(15) };
    let run = presigned::offer(&http, &senders, &followers, room, &load).await?;
    let (delivered, expected) = (run.delivered.delivered, run.expected);
    eprintln!(
        "scale node only: {} sent ({:.0}/s), {} refused, {delivered}/{expected} delivered",
        run.sent, run.carried, run.refused
    );
    crate::net::federation_counters(&net).await?;
    let name = format!("scale_node_only_{size}_nodes_{}", rate as u32);
    report.figure(&format!("{name}_delivered"), run.share() * 100.0, "%", Some(100.0));
    report.figure(&format!("{name}_p50"), run.delivered.samples.percentile_ms(50.0), "ms", None);
    report.figure(&format!("{name}_p99"), run.delivered.samples.percentile_ms(99.0), "ms", None);
    drop(followers);
    net.stop().await?;
    if quick {
        anyhow::ensure!(run.lossless(), "messages lost: {delivered}/{expected} delivered, {} refused", run.refused);
    }
    Ok(())
}

/// One network with durability `sync`; figures named `{name}_{size}_…`.
async fn measure(
    name: &str,
    sync: SyncPolicy,
    quick: bool,
    settle: Duration,
    report: &mut Report,
) -> anyhow::Result<()> {
    let (size, rate, span) = shape(quick);
    let started = std::time::Instant::now();
    let net = TestNet::start_with(size, |_, _, c| {
        unlimited(c);
        c.storage.sync = sync;
    })
    .await?;
    let (clients, rooms) = room_across(&net.nodes).await?;
    eprintln!("{name}: {size} nodes up and in one room in {:.1} s", started.elapsed().as_secs_f64());
    tokio::time::sleep(settle).await;
    let collectors: Vec<Collector> = rooms.iter().map(|r| Collector::spawn(r.subscribe(0))).collect();
    let tag = name;
    let offered = offer(&rooms, tag, rate, span, quick).await;
    drain(&collectors, tag, offered.accepted, Duration::from_secs(15)).await?;
    let tally = Tally::of(&collectors, tag, offered.accepted);
    let share = tally.share();
    let Tally { samples, delivered, expected } = tally;
    eprintln!(
        "{name}: {} accepted ({:.0}/s), {} not sent, {} failed{}, {delivered}/{expected} delivered",
        offered.accepted,
        offered.rate,
        offered.unsent,
        offered.failed,
        offered.first_error.as_ref().map(|e| format!(" (first: {e})")).unwrap_or_default()
    );
    let r = rate as u32;
    report.figure(&format!("{name}_{size}_nodes_{r}_delivered"), share * 100.0, "%", Some(100.0));
    report.figure(&format!("{name}_{size}_nodes_{r}_p50"), samples.percentile_ms(50.0), "ms", None);
    report.figure(&format!("{name}_{size}_nodes_{r}_p99"), samples.percentile_ms(99.0), "ms", None);
    drop(collectors);
    drop(clients);
    net.stop().await?;
    // In the smoke run's small network a lost message is a bug; at full
    // size it is the figure above.
    if quick {
        anyhow::ensure!(offered.failed == 0, "sends failed: {:?}", offered.first_error);
        anyhow::ensure!(offered.unsent == 0, "{} messages could not be sent in time", offered.unsent);
        anyhow::ensure!(delivered == expected, "messages lost: {delivered}/{expected} delivered");
    }
    Ok(())
}

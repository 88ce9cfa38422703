//! Scale: many nodes on one machine, one room spanning all of them, a user
//! on every node sending in turn at an offered rate, a live subscription
//! on every node: the share of messages every node delivered, and the
//! send-to-receive latency.

use crate::net::{Collector, Tally, drain, offer, room_across, unlimited};
use crate::report::Report;
use accord_store::SyncPolicy;
use accord_testkit::TestNet;
use std::time::Duration;

pub(crate) async fn run(quick: bool, report: &mut Report) -> anyhow::Result<()> {
    measure("scale", SyncPolicy::Fsync, quick, report).await?;
    if !quick {
        // Diagnosis, not a figure of the default setup: the twenty nodes
        // share one disk here, each with its own fsyncs; the same run
        // with writes acknowledged once in the WAL shows what that costs.
        measure("scale_wal", SyncPolicy::Wal, quick, report).await?;
    }
    Ok(())
}

/// One network with durability `sync`; figures named `{name}_{size}_…`.
async fn measure(name: &str, sync: SyncPolicy, quick: bool, report: &mut Report) -> anyhow::Result<()> {
    let (size, rate, span) =
        if quick { (5, 20.0, Duration::from_secs(2)) } else { (20, 100.0, Duration::from_secs(20)) };
    let started = std::time::Instant::now();
    let net = TestNet::start_with(size, |_, _, c| {
        unlimited(c);
        c.storage.sync = sync;
    })
    .await?;
    let (clients, rooms) = room_across(&net.nodes).await?;
    eprintln!("{name}: {size} nodes up and in one room in {:.1} s", started.elapsed().as_secs_f64());
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

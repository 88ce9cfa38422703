//! Fan-out latency: three nodes; senders on A, one live subscription on B
//! and one on C. For each offered rate, the send-to-receive latency (from
//! the moment a message was due to be sent until the receiver's SDK has
//! verified it) at p50/p95/p99, and the share delivered; then the highest
//! offered rate that every receiver got without loss.

use crate::net::{Collector, Tally, drain, offer, room_across, unlimited};
use crate::report::Report;
use accord_store::SyncPolicy;
use accord_testkit::TestNet;
use std::time::Duration;

pub(crate) async fn run(quick: bool, report: &mut Report) -> anyhow::Result<()> {
    let (rates, span, senders): (&[u32], _, usize) = if quick {
        (&[20, 100], Duration::from_secs(1), 2)
    } else {
        (&[100, 1_000, 2_000, 3_000, 5_000], Duration::from_secs(5), 8)
    };
    if !quick {
        // Diagnosis, not a figure of the default setup: the same at
        // 1,000 msg/s with writes acknowledged once in the WAL (no fsync)
        // shows what the per-room fsync costs. It runs first: after the
        // rates the machine cannot carry, the backlog's leftovers (store
        // compactions, freed memory) would weigh on it.
        measure("fanout_wal", SyncPolicy::Wal, &[1_000], span, senders, quick, report).await?;
    }
    measure("fanout", SyncPolicy::Fsync, rates, span, senders, quick, report).await?;
    crate::fanout_node::run(quick, report).await
}

/// One network of three nodes with durability `sync`, the offered rates
/// in turn; figures named `{name}_{rate}_…`.
async fn measure(
    name: &str,
    sync: SyncPolicy,
    rates: &[u32],
    span: Duration,
    senders: usize,
    quick: bool,
    report: &mut Report,
) -> anyhow::Result<()> {
    let net = TestNet::start_with(3, |_, _, c| {
        unlimited(c);
        c.storage.sync = sync;
    })
    .await?;
    let (clients, rooms) = room_across(&net.nodes).await?;
    let mut sending = vec![rooms[0].clone()];
    for i in 1..senders {
        let client = net.nodes[0].user(&format!("sender{i}")).await?;
        let room = client.room(rooms[0].id());
        room.join().await?;
        sending.push(room);
    }
    let collectors = [Collector::spawn(rooms[1].subscribe(0)), Collector::spawn(rooms[2].subscribe(0))];
    let mut best = 0;
    for &rate in rates {
        let tag = format!("{name}{rate}");
        let offered = offer(&sending, &tag, f64::from(rate), span, quick).await;
        drain(&collectors, &tag, offered.accepted, Duration::from_secs(10)).await?;
        let tally = Tally::of(&collectors, &tag, offered.accepted);
        let share = tally.share();
        let Tally { samples, delivered, expected } = tally;
        eprintln!(
            "{name} {rate}/s: {} accepted ({:.0}/s), {} not sent, {} failed{}, {delivered}/{expected} delivered",
            offered.accepted,
            offered.rate,
            offered.unsent,
            offered.failed,
            offered.first_error.as_deref().map(|e| format!(" (first: {e})")).unwrap_or_default(),
        );
        report.figure(&format!("{name}_{rate}_p50"), samples.percentile_ms(50.0), "ms", None);
        report.figure(&format!("{name}_{rate}_p95"), samples.percentile_ms(95.0), "ms", None);
        report.figure(&format!("{name}_{rate}_p99"), samples.percentile_ms(99.0), "ms", None);
        report.figure(&format!("{name}_{rate}_delivered"), share * 100.0, "%", Some(100.0));
        report.figure(&format!("{name}_{rate}_sent_rate"), offered.rate, "msg/s", Some(f64::from(rate)));
        let lossless = offered.failed == 0 && offered.unsent == 0 && delivered == expected;
        if lossless && offered.rate >= 0.95 * f64::from(rate) {
            best = best.max(rate);
        }
        // At a rate this machine cannot carry, a lost message is a
        // measurement; at the smoke test's low rates it is a bug.
        if quick && !lossless {
            anyhow::bail!(
                "{name} at {rate}/s lost messages: {delivered}/{expected} delivered, {} failed",
                offered.failed
            );
        }
    }
    report.figure(&format!("{name}_max_rate_without_loss"), f64::from(best), "msg/s", None);
    drop(collectors);
    drop(clients);
    net.stop().await
}

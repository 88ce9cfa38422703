//! Ingest: one node, K concurrent SDK clients each sending signed messages
//! into its own room as fast as the node acknowledges them. Every message
//! is verified by the node, stamped, written with the node's durability
//! setting (`fsync` by default, group-committed across rooms) and its
//! receipt verified by the SDK before the next one is sent.

use crate::ceiling::Ceilings;
use crate::net::unlimited;
use crate::report::Report;
use crate::stats::Samples;
use accord_sdk::JoinRule;
use accord_testkit::TestNode;
use std::time::{Duration, Instant};

pub(crate) async fn run(quick: bool, ceilings: &mut Ceilings, report: &mut Report) -> anyhow::Result<()> {
    let ceiling = ceilings.verify_single(quick, report)?;
    let (clients, span) = if quick { (4, Duration::from_secs(2)) } else { (32, Duration::from_secs(20)) };
    let node = TestNode::start_with(unlimited).await?;
    let mut rooms = Vec::new();
    for i in 0..clients {
        let client = node.user(&format!("sender{i}")).await?;
        rooms.push(client.create_room(&format!("ingest {i}"), JoinRule::Public).await?);
    }
    eprintln!("ingest: {clients} clients, {} s", span.as_secs());
    let started = Instant::now();
    let senders = rooms.into_iter().enumerate().map(|(i, room)| {
        tokio::spawn(async move {
            let mut acks = Samples::default();
            let mut k = 0u64;
            while started.elapsed() < span {
                let t = Instant::now();
                room.send_text(&format!("ingest message {k} from client {i}, of a typical length")).await?;
                acks.push(t.elapsed());
                k += 1;
            }
            anyhow::Ok(acks)
        })
    });
    let mut acks = Samples::default();
    for sender in futures::future::join_all(senders).await {
        acks.extend(&sender??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    node.stop().await?;
    let rate = acks.len() as f64 / elapsed;
    report.figure("ingest_msgs_per_s", rate, "msg/s", Some(ceiling));
    report.figure("ingest_ack_p50", acks.percentile_ms(50.0), "ms", None);
    report.figure("ingest_ack_p99", acks.percentile_ms(99.0), "ms", None);
    Ok(())
}

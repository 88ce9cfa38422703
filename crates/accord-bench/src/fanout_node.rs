//! Fan-out, node only: the same three nodes, room and offered rates as
//! [`crate::fanout`], with the clients of [`crate::presigned`] (events
//! signed before the run, plain WebSocket followers) on A, B and C. What
//! the figure leaves out is what the SDKs do on the same two cores: about
//! half the signature work of the end-to-end figure.

use crate::net::{room_across, unlimited};
use crate::presigned::{Follower, Load, member, offer};
use crate::report::Report;
use accord_testkit::TestNet;
use std::time::Duration;

/// The node-only fan-out at each offered rate; figures
/// `fanout_node_only_{rate}_…`.
pub(crate) async fn run(quick: bool, report: &mut Report) -> anyhow::Result<()> {
    let (rates, span, senders_count): (&[u32], _, usize) = if quick {
        (&[20, 100], Duration::from_secs(1), 2)
    } else {
        (&[1_000, 2_000, 3_000, 5_000], Duration::from_secs(5), 8)
    };
    let net = TestNet::start_with(3, |_, _, c| unlimited(c)).await?;
    let (_clients, rooms) = room_across(&net.nodes).await?;
    let room = rooms[0].id();
    let http = reqwest::Client::new();
    let mut senders = Vec::new();
    for i in 0..senders_count {
        senders.push((&net.nodes[0], member(&net.nodes[0], &format!("presender{i}"), room, &net.nodes[0]).await?));
    }
    let mut followers = Vec::new();
    for (i, node) in net.nodes[1..].iter().enumerate() {
        let key = member(node, &format!("follower{i}"), room, &net.nodes[0]).await?;
        followers.push(Follower::start(&http, node, &key, room).await?);
    }
    let mut best = 0;
    for &rate in rates {
        let tag = format!("nodeonly{rate}");
        let load = Load { tag: &tag, rate: f64::from(rate), span, idle: Duration::from_secs(5) };
        let run = offer(&http, &senders, &followers, room, &load).await?;
        let (sent, refused, carried) = (run.sent, run.refused, run.carried);
        let (delivered, expected) = (run.delivered.delivered, run.expected);
        eprintln!(
            "fanout node only {rate}/s: {sent} sent ({carried:.0}/s), {refused} refused, {delivered}/{expected} delivered"
        );
        let name = format!("fanout_node_only_{rate}");
        if !quick {
            crate::net::federation_counters(&net).await?;
        }
        report.figure(&format!("{name}_p50"), run.delivered.samples.percentile_ms(50.0), "ms", None);
        report.figure(&format!("{name}_p99"), run.delivered.samples.percentile_ms(99.0), "ms", None);
        report.figure(&format!("{name}_delivered"), run.share() * 100.0, "%", Some(100.0));
        report.figure(&format!("{name}_sent_rate"), carried, "msg/s", Some(f64::from(rate)));
        if run.lossless() && carried >= 0.95 * f64::from(rate) {
            best = best.max(rate);
        }
        if quick && !run.lossless() {
            anyhow::bail!(
                "fanout node only at {rate}/s lost messages: {delivered}/{expected} delivered, {refused} refused"
            );
        }
    }
    report.figure("fanout_node_only_max_rate_without_loss", f64::from(best), "msg/s", None);
    drop(followers);
    net.stop().await
}

//! Flood: an honest client's acknowledgement time on node A, quiet and
//! while hostile federation peers flood A (valid but useless identity and
//! sync requests, garbage, forged events), each coming back as soon as it
//! is cut off. Every attacker runs in this process, on the same cores as
//! both nodes and the client. `tests/it/hostile_flood.rs` asserts what the
//! node does to the attackers; this scenario measures what the honest
//! user pays meanwhile.

use crate::net::room_across;
use crate::report::Report;
use crate::stats::Samples;
use accord_proto::SecretKey;
use accord_proto::federation::FedRequest;
use accord_sdk::Room;
use accord_testkit::TestNet;
use accord_testkit::hostile::{self, HostilePeer};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The acknowledgement times of `n` sends, one after the other.
async fn acks(room: &Room, label: &str, n: usize) -> anyhow::Result<Samples> {
    let mut samples = Samples::default();
    for i in 0..n {
        let t = Instant::now();
        room.send_text(&format!("{label} {i}")).await?;
        samples.push(t.elapsed());
    }
    Ok(samples)
}

/// One attacker of `kind` sends until `stop`, reconnecting whenever it is
/// cut off; the number of requests it made.
async fn attack(addr: String, kind: usize, room: accord_proto::RoomId, stop: Arc<AtomicBool>) -> anyhow::Result<u64> {
    let peer = HostilePeer::start(None).await?;
    let node = peer.connect(&addr).await?;
    let mallory = SecretKey::generate()?;
    let strangers: Vec<_> = (0..50).map(|_| SecretKey::generate().map(|k| k.account_id())).collect::<Result<_, _>>()?;
    let forged = hostile::forge_signature(&hostile::message_event(&mallory, peer.key(), room, 1, vec![], 1, "forged")?);
    let mut sent = 0;
    while !stop.load(Ordering::Relaxed) {
        sent += 1;
        // Refusals are what the attacker expects: only the cost counts.
        let _ = match kind {
            0 => peer.request(node, &FedRequest::Identities { accounts: strangers.clone() }).await.map(drop),
            1 => peer.request(node, &FedRequest::Sync { room, held: BTreeMap::new() }).await.map(drop),
            2 => peer.request_raw(node, vec![0xff; 1000]).await.map(drop),
            _ => peer
                .request(node, &FedRequest::Push { room, events: vec![forged.clone()], identities: vec![] })
                .await
                .map(drop),
        };
        if !peer.is_connected(&node) && peer.connect(&addr).await.is_err() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    Ok(sent)
}

pub(crate) async fn run(quick: bool, report: &mut Report) -> anyhow::Result<()> {
    let sends = if quick { 50 } else { 200 };
    let net = TestNet::start_with(2, |_, _, c| {
        c.limits.events_per_second = 1_000_000;
        c.limits.burst = 1_000_000;
    })
    .await?;
    let (_clients, rooms) = room_across(&net.nodes).await?;
    let room = &rooms[0];
    acks(room, "warm up", 20).await?;
    let quiet = acks(room, "quiet", sends).await?;
    let stop = Arc::new(AtomicBool::new(false));
    let attackers: Vec<_> =
        (0..4).map(|kind| tokio::spawn(attack(net.nodes[0].p2p_addr(), kind, room.id(), stop.clone()))).collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let loud = acks(room, "under attack", sends).await?;
    stop.store(true, Ordering::Relaxed);
    let mut requests = 0;
    for attacker in attackers {
        requests += attacker.await??;
    }
    eprintln!("flood: {requests} hostile requests during {sends} honest sends");
    net.stop().await?;
    let (quiet_p99, loud_p99) = (quiet.percentile_ms(99.0), loud.percentile_ms(99.0));
    report.figure("flood_quiet_ack_p50", quiet.percentile_ms(50.0), "ms", None);
    report.figure("flood_quiet_ack_p99", quiet_p99, "ms", None);
    report.figure("flood_attack_ack_p50", loud.percentile_ms(50.0), "ms", None);
    // The quiet p99 is the ceiling: the ratio is what the flood costs.
    report.figure("flood_attack_ack_p99", loud_p99, "ms", Some(quiet_p99));
    Ok(())
}

//! Discovery: a member joins a public room held on another node by the
//! room id alone, its node finding a host among the room's DHT providers
//! (spec/federation.md §1.4), beside a join through a named node (`via`)
//! on the same network; and how soon a room nobody announces is refused
//! `no_provider`.

use crate::net::start_net;
use crate::report::Report;
use crate::stats::Samples;
use accord_proto::{EventId, RoomId, Sha256Hash};
use accord_sdk::JoinRule;
use std::time::{Duration, Instant};

/// How long the first join waits for the room's announcement to spread.
const PATIENCE: Duration = Duration::from_secs(30);

pub(crate) async fn run(quick: bool, report: &mut Report) -> anyhow::Result<()> {
    let runs: &[(usize, usize)] = if quick { &[(3, 3)] } else { &[(5, 20), (10, 20)] };
    for &(size, rooms) in runs {
        let net = start_net(size).await?;
        let host = net.nodes[1].user("host").await?;
        let (mut by_id, mut by_via, mut misses) = (Samples::default(), Samples::default(), Samples::default());
        for r in 0..rooms {
            let room = host.create_room(&format!("r{r}"), JoinRule::Public).await?;
            // Two members on two other nodes than the host's.
            let (a, b) = (2 + r % (size - 2), 2 + (r + 1) % (size - 2));
            let finder = net.nodes[a].user(&format!("id{r}")).await?;
            let named = net.nodes[if a == b { 0 } else { b }].user(&format!("via{r}")).await?;
            let deadline = Instant::now() + PATIENCE;
            let took = loop {
                let started = Instant::now();
                match finder.room(room.id()).join().await {
                    Ok(_) => break started.elapsed(),
                    Err(e) if e.code() == "no_provider" && Instant::now() < deadline => {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    Err(e) => anyhow::bail!("joining room {r} by its id: {e}"),
                }
            };
            by_id.push(took);
            let started = Instant::now();
            named.room(room.id()).join_via(&[net.nodes[1].node_id()]).await?;
            by_via.push(started.elapsed());
            let nowhere = RoomId::from(EventId(Sha256Hash::digest(format!("nowhere {size} {r}").as_bytes())));
            let started = Instant::now();
            let refused = finder.room(nowhere).join().await.err();
            anyhow::ensure!(
                refused.as_ref().map(|e| e.code()) == Some("no_provider"),
                "a room nobody hosts: {refused:?}"
            );
            misses.push(started.elapsed());
        }
        for (name, samples) in [("join_by_id", &by_id), ("join_via", &by_via), ("no_provider", &misses)] {
            report.figure(&format!("discovery_{size}_nodes_{name}_p50"), samples.percentile_ms(50.0), "ms", None);
            report.figure(&format!("discovery_{size}_nodes_{name}_p99"), samples.percentile_ms(99.0), "ms", None);
        }
        net.stop().await?;
    }
    Ok(())
}

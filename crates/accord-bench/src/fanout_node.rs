//! Fan-out, node only: the same three nodes, room and offered rates as
//! [`crate::fanout`], without the SDK's crypto in the timed path. Senders
//! write `send` frames of events signed before the run on WebSockets to
//! A; followers on B and C are plain WebSockets that note when each frame
//! arrives. Every delivered event is parsed and verified after the run,
//! and its latency is its arrival time minus the time it was due to be
//! sent. What the figure leaves out is what the SDKs do on the same two
//! cores (signing each message, verifying each receipt and each delivered
//! event): about half the signature work of the end-to-end figure.

use crate::ingest::{login, ws_config};
use crate::net::{room_across, unlimited};
use crate::report::Report;
use crate::stats::Samples;
use accord_api::rooms::ItemContent;
use accord_api::stream::{ClientFrame, ServerFrame};
use accord_proto::event::UnverifiedEvent;
use accord_proto::event::{EventBody, EventContent};
use accord_proto::{EventId, RoomId, SecretKey, Timestamp, Verified};
use accord_testkit::{TestNet, TestNode};
use futures::{SinkExt as _, StreamExt as _};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

/// A WebSocket to a node's client API.
type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The events a follower received (not yet verified), with the instant
/// each frame arrived.
type Arrivals = Arc<Mutex<Vec<(Instant, UnverifiedEvent)>>>;

/// The events of a run by id: their sequence numbers.
type RunIds = HashMap<EventId, u64>;

/// Opens the live stream of `key`'s account on `node`.
async fn stream(http: &reqwest::Client, node: &TestNode, key: &SecretKey) -> anyhow::Result<Socket> {
    let url = node.url();
    let token = login(http, &url, key).await?;
    let ws_url = format!("{}/v1/stream?token={token}", url.replacen("http", "ws", 1));
    // Without Nagle's algorithm, as the SDK connects: a frame written
    // right after another does not wait for the peer's delayed ACK.
    Ok(tokio_tungstenite::connect_async_with_config(ws_url, Some(ws_config()), true).await?.0)
}

/// A follower of `room`: every event frame, timed on arrival (parsed, not
/// verified: that waits until after the run).
async fn follow(mut ws: Socket, room: RoomId) -> anyhow::Result<(Arrivals, tokio::task::JoinHandle<()>)> {
    let subscribe = serde_json::to_string(&ClientFrame::Subscribe { room, after: 0 })?;
    ws.send(Message::Text(subscribe.into())).await?;
    let arrivals: Arrivals = Arc::default();
    let noted = arrivals.clone();
    let task = tokio::spawn(async move {
        while let Some(Ok(message)) = ws.next().await {
            let Message::Text(text) = message else { continue };
            let now = Instant::now();
            let Ok(ServerFrame::Event { item, .. }) = serde_json::from_str::<ServerFrame>(text.as_str()) else {
                continue;
            };
            if let ItemContent::Event(event) = item.content {
                noted.lock().unwrap_or_else(|p| p.into_inner()).push((now, *event));
            }
        }
    });
    Ok((arrivals, task))
}

/// What one offered rate delivered, checked after the run.
struct Delivered {
    samples: Samples,
    /// Distinct messages of the run per follower, summed.
    delivered: usize,
}

/// How many of the run's events the followers received, together.
fn received(arrivals: &[Arrivals], ids: &RunIds) -> usize {
    arrivals
        .iter()
        .map(|a| {
            a.lock()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .filter(|(_, e)| ids.contains_key(&e.claimed_id()))
                .count()
        })
        .sum()
}

/// Verifies every event of the run the followers received; the latency of
/// each message at each follower (its first arrival).
fn check(arrivals: &[Arrivals], ids: &RunIds, start: Instant, rate: f64) -> anyhow::Result<Delivered> {
    let mut samples = Samples::default();
    let mut delivered = 0;
    for follower in arrivals {
        let events = std::mem::take(&mut *follower.lock().unwrap_or_else(|p| p.into_inner()));
        let mut seen: BTreeMap<u64, Duration> = BTreeMap::new();
        for (at, event) in events {
            let Some(&seq) = ids.get(&event.claimed_id()) else { continue };
            let event = event.verify()?;
            anyhow::ensure!(ids.get(&event.id()) == Some(&seq), "a delivered event is not the one sent");
            let due = start + Duration::from_secs_f64(seq as f64 / rate);
            seen.entry(seq).or_insert(at.saturating_duration_since(due));
        }
        delivered += seen.len();
        for latency in seen.into_values() {
            samples.push(latency);
        }
    }
    Ok(Delivered { samples, delivered })
}

/// One sender's events of a run, signed in advance, as `send` frames;
/// their ids go into `ids`.
fn frames(
    key: &SecretKey,
    room: RoomId,
    tag: &str,
    seqs: impl Iterator<Item = u64>,
    ids: &mut RunIds,
) -> anyhow::Result<Vec<(u64, String)>> {
    let base = Timestamp::now().as_millis();
    let mut out = Vec::new();
    for seq in seqs {
        let body = EventBody {
            room: Some(room),
            author: key.account_id(),
            ts: Timestamp::from_millis(base + seq),
            content: EventContent::Message {
                text: format!("{tag} {seq} fan-out message of a typical length").try_into()?,
                reply_to: None,
                attachments: vec![],
            },
        };
        let event = Verified::sign(body, key)?;
        ids.insert(EventId(event.body_hash()), seq);
        let frame = ClientFrame::Send { id: seq, event: Box::new(event.raw().clone()), via: vec![] };
        out.push((seq, serde_json::to_string(&frame)?));
    }
    Ok(out)
}

/// Writes each frame at its due time (open loop) while reading the
/// answers; how many the node acknowledged and how many it refused.
async fn send_all(ws: Socket, frames: Vec<(u64, String)>, start: Instant, rate: f64) -> anyhow::Result<(usize, usize)> {
    let (mut sink, mut source) = ws.split();
    let expected = frames.len();
    let writer = tokio::spawn(async move {
        for (seq, frame) in frames {
            tokio::time::sleep_until((start + Duration::from_secs_f64(seq as f64 / rate)).into()).await;
            sink.send(Message::Text(frame.into())).await?;
        }
        anyhow::Ok(sink)
    });
    let (mut sent, mut refused) = (0, 0);
    while sent + refused < expected {
        let Some(message) = source.next().await else { anyhow::bail!("the node closed the stream") };
        let Message::Text(text) = message? else { continue };
        match serde_json::from_str::<ServerFrame>(text.as_str())? {
            ServerFrame::Sent { .. } => sent += 1,
            ServerFrame::NotSent { .. } => refused += 1,
            _ => {}
        }
    }
    let _sink = writer.await??;
    Ok((sent, refused))
}

/// The node-only fan-out at each offered rate; figures
/// `fanout_node_only_{rate}_…`.
pub(crate) async fn run(quick: bool, report: &mut Report) -> anyhow::Result<()> {
    let (rates, span, senders): (&[u32], _, usize) = if quick {
        (&[20, 100], Duration::from_secs(1), 2)
    } else {
        (&[1_000, 2_000, 5_000], Duration::from_secs(5), 8)
    };
    let net = TestNet::start_with(3, |_, _, c| unlimited(c)).await?;
    let (_clients, rooms) = room_across(&net.nodes).await?;
    let room = rooms[0].id();
    let http = reqwest::Client::new();
    let mut keys = Vec::new();
    for i in 0..senders {
        let key = SecretKey::generate()?;
        let client = net.nodes[0].client(key.clone())?;
        client.register(&format!("presender{i}"), None).await?;
        client.room(room).join().await?;
        keys.push(key);
    }
    let mut arrivals = Vec::new();
    let mut followers = Vec::new();
    for node in &net.nodes[1..] {
        let key = SecretKey::generate()?;
        let client = node.client(key.clone())?;
        client.register(&format!("follower{}", followers.len()), None).await?;
        client.room(room).join_via(&[net.nodes[0].node_id()]).await?;
        let (seen, task) = follow(stream(&http, node, &key).await?, room).await?;
        arrivals.push(seen);
        followers.push(task);
    }
    let mut best = 0;
    for &rate in rates {
        let tag = format!("nodeonly{rate}");
        let total = (f64::from(rate) * span.as_secs_f64()).round() as u64;
        let mut plans = Vec::new();
        let mut ids = RunIds::new();
        for (i, key) in keys.iter().enumerate() {
            let seqs = (i as u64..total).step_by(senders);
            plans.push((stream(&http, &net.nodes[0], key).await?, frames(key, room, &tag, seqs, &mut ids)?));
        }
        let start = Instant::now() + Duration::from_millis(100);
        let tasks: Vec<_> =
            plans.into_iter().map(|(ws, f)| tokio::spawn(send_all(ws, f, start, f64::from(rate)))).collect();
        let (mut sent, mut refused) = (0, 0);
        for task in futures::future::join_all(tasks).await {
            let (s, r) = task??;
            sent += s;
            refused += r;
        }
        let carried = sent as f64 / start.elapsed().as_secs_f64();
        // Until both followers have every message, or nothing arrived for
        // a few seconds.
        let expected = sent * arrivals.len();
        let mut last = (0, Instant::now());
        loop {
            let count = received(&arrivals, &ids);
            if count >= expected || last.1.elapsed() > Duration::from_secs(5) {
                break;
            }
            if count > last.0 {
                last = (count, Instant::now());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let Delivered { samples, delivered } = check(&arrivals, &ids, start, f64::from(rate))?;
        eprintln!(
            "fanout node only {rate}/s: {sent} sent ({carried:.0}/s), {refused} refused, {delivered}/{expected} delivered"
        );
        let name = format!("fanout_node_only_{rate}");
        report.figure(&format!("{name}_p50"), samples.percentile_ms(50.0), "ms", None);
        report.figure(&format!("{name}_p99"), samples.percentile_ms(99.0), "ms", None);
        let share = if expected == 0 { 0.0 } else { delivered as f64 / expected as f64 };
        report.figure(&format!("{name}_delivered"), share * 100.0, "%", Some(100.0));
        report.figure(&format!("{name}_sent_rate"), carried, "msg/s", Some(f64::from(rate)));
        let lossless = refused == 0 && sent as u64 == total && delivered == expected;
        if lossless && carried >= 0.95 * f64::from(rate) {
            best = best.max(rate);
        }
        if quick && !lossless {
            anyhow::bail!(
                "fanout node only at {rate}/s lost messages: {delivered}/{expected} delivered, {refused} refused"
            );
        }
    }
    report.figure("fanout_node_only_max_rate_without_loss", f64::from(best), "msg/s", None);
    for task in followers {
        task.abort();
    }
    net.stop().await
}

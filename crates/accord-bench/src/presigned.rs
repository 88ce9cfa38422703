//! Clients that leave the node alone in the timed path, for the "node
//! only" figures: senders write `send` frames of events signed before the
//! run on WebSockets, and followers are plain WebSockets that note when
//! each frame arrives. Every delivered event is parsed and verified after
//! the run, and its latency is its arrival time minus the time it was due
//! to be sent. What such a figure leaves out is what the SDKs would do on
//! the same cores: signing each message, verifying each receipt and each
//! delivered event.

use crate::ingest::{login, ws_config};
use crate::stats::Samples;
use accord_api::rooms::ItemContent;
use accord_api::stream::{ClientFrame, ServerFrame};
use accord_proto::event::UnverifiedEvent;
use accord_proto::event::{EventBody, EventContent};
use accord_proto::{EventId, RoomId, SecretKey, Timestamp, Verified};
use accord_testkit::TestNode;
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
pub(crate) struct Delivered {
    /// The latency of each message at each follower.
    pub(crate) samples: Samples,
    /// Distinct messages of the run per follower, summed.
    pub(crate) delivered: usize,
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

/// A new account on `node`, registered as `name` and joined to `room`
/// (through `home`, the node that holds it, unless `node` is that node):
/// the account's key.
pub(crate) async fn member(node: &TestNode, name: &str, room: RoomId, home: &TestNode) -> anyhow::Result<SecretKey> {
    let key = SecretKey::generate()?;
    let client = node.client(key.clone())?;
    client.register(name, None).await?;
    if node.node_id() == home.node_id() {
        client.room(room).join().await?;
    } else {
        client.room(room).join_via(&[home.node_id()]).await?;
    }
    Ok(key)
}

/// A follower of a room on one node: the events it received, with the
/// instant each arrived. Its reading task stops when it is dropped.
pub(crate) struct Follower {
    arrivals: Arrivals,
    task: tokio::task::JoinHandle<()>,
}

impl Follower {
    /// Follows `room` on `node` as `key`'s account (which has joined it).
    pub(crate) async fn start(
        http: &reqwest::Client,
        node: &TestNode,
        key: &SecretKey,
        room: RoomId,
    ) -> anyhow::Result<Follower> {
        let (arrivals, task) = follow(stream(http, node, key).await?, room).await?;
        Ok(Follower { arrivals, task })
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What one offered rate achieved, every delivered event verified.
pub(crate) struct Offered {
    /// Messages offered.
    pub(crate) total: u64,
    /// Messages the nodes acknowledged.
    pub(crate) sent: usize,
    /// Messages the nodes refused.
    pub(crate) refused: usize,
    /// Acknowledged messages per second, from the first one's due time.
    pub(crate) carried: f64,
    /// Messages the followers should have received, together.
    pub(crate) expected: usize,
    /// What they did receive, and when.
    pub(crate) delivered: Delivered,
}

impl Offered {
    /// The share of the expected messages the followers received.
    pub(crate) fn share(&self) -> f64 {
        if self.expected == 0 { 0.0 } else { self.delivered.delivered as f64 / self.expected as f64 }
    }

    /// Whether every message offered was acknowledged and delivered to
    /// every follower.
    pub(crate) fn lossless(&self) -> bool {
        self.refused == 0 && self.sent as u64 == self.total && self.delivered.delivered == self.expected
    }
}

/// An offered load.
#[derive(Clone, Copy)]
pub(crate) struct Load<'a> {
    /// The run's tag, in every message's text.
    pub(crate) tag: &'a str,
    /// Messages per second.
    pub(crate) rate: f64,
    /// For how long.
    pub(crate) span: Duration,
    /// How long the followers may receive nothing before what they have
    /// is taken as all they will get.
    pub(crate) idle: Duration,
}

/// Offers `load` into `room`, open loop, the `senders` (a node and an
/// account on it that joined the room) taking turns; waits until every
/// follower has every acknowledged message or none arrived for the load's
/// idle time, then verifies what arrived.
pub(crate) async fn offer(
    http: &reqwest::Client,
    senders: &[(&TestNode, SecretKey)],
    followers: &[Follower],
    room: RoomId,
    load: &Load<'_>,
) -> anyhow::Result<Offered> {
    let Load { tag, rate, span, idle } = *load;
    let total = (rate * span.as_secs_f64()).round().max(1.0) as u64;
    let mut plans = Vec::new();
    let mut ids = RunIds::new();
    for (i, (node, key)) in senders.iter().enumerate() {
        let seqs = (i as u64..total).step_by(senders.len());
        plans.push((stream(http, node, key).await?, frames(key, room, tag, seqs, &mut ids)?));
    }
    let start = Instant::now() + Duration::from_millis(100);
    let tasks: Vec<_> = plans.into_iter().map(|(ws, f)| tokio::spawn(send_all(ws, f, start, rate))).collect();
    let (mut sent, mut refused) = (0, 0);
    for task in futures::future::join_all(tasks).await {
        let (s, r) = task??;
        sent += s;
        refused += r;
    }
    let carried = sent as f64 / start.elapsed().as_secs_f64();
    let arrivals: Vec<Arrivals> = followers.iter().map(|f| f.arrivals.clone()).collect();
    let expected = sent * arrivals.len();
    let mut last = (0, Instant::now());
    loop {
        let count = received(&arrivals, &ids);
        if count >= expected || last.1.elapsed() > idle {
            break;
        }
        if count > last.0 {
            last = (count, Instant::now());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let delivered = check(&arrivals, &ids, start, rate)?;
    Ok(Offered { total, sent, refused, carried, expected, delivered })
}

//! Ingest, two ways.
//!
//! - **End to end**: one node, K concurrent SDK clients each sending signed
//!   messages into its own room as fast as the node acknowledges them. Every
//!   message is signed by the SDK, verified by the node, stamped, written
//!   with the node's durability setting (`fsync` by default, group-committed
//!   across rooms) and its receipt verified by the SDK before the next one
//!   is sent: the clients' crypto shares the cores with the node's.
//! - **Node only**: every event is signed and encoded before the timed
//!   window and every receipt checked after it, so the window holds the
//!   node's own work (HTTP, verification, ordering, the stamp, the group
//!   commit) and the load generator's sockets. Its ceiling is the node's own
//!   crypto per message: one strict verification and one signature.

use crate::ceiling::Ceilings;
use crate::net::unlimited;
use crate::report::Report;
use crate::stats::Samples;
use accord_api::auth::{ChallengeRequest, ChallengeResponse, LoginRequest, LoginResponse};
use accord_api::events::{SendEventRequest, SendEventResponse};
use accord_api::stream::{ClientFrame, ServerFrame};
use accord_proto::auth::AuthResponse;
use accord_proto::event::{EventBody, EventContent};
use accord_proto::{SecretKey, Timestamp, Verified};
use accord_sdk::JoinRule;
use accord_testkit::TestNode;
use futures::{SinkExt as _, StreamExt as _};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::{Error as WsError, Message, Utf8Bytes};

pub(crate) async fn run(quick: bool, ceilings: &mut Ceilings, report: &mut Report) -> anyhow::Result<()> {
    end_to_end(quick, ceilings, report).await?;
    end_to_end_stream(quick, ceilings, report).await?;
    node_only(quick, Transport::Http, ceilings, report).await?;
    node_only(quick, Transport::Stream, ceilings, report).await
}

/// How the node-only load generator submits events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    /// One `POST /v1/events` per event, on kept-alive connections.
    Http,
    /// `send` frames on one WebSocket per room (client API §6).
    Stream,
}

/// End to end over the WebSocket: K SDK clients, each sending into its own
/// room through a `StreamSender` with several sends in flight.
async fn end_to_end_stream(quick: bool, ceilings: &mut Ceilings, report: &mut Report) -> anyhow::Result<()> {
    let ceiling = ceilings.verify_single(quick, report)?;
    let (clients, depth, span) = if quick { (4, 4, Duration::from_secs(2)) } else { (32, 4, Duration::from_secs(20)) };
    let node = TestNode::start_with(unlimited).await?;
    let mut rooms = Vec::new();
    for i in 0..clients {
        let client = node.user(&format!("streamer{i}")).await?;
        let room = client.create_room(&format!("stream ingest {i}"), JoinRule::Public).await?.id();
        rooms.push((client.stream_sender(), room));
    }
    eprintln!("ingest over the WebSocket: {clients} clients × {depth} in flight, {} s", span.as_secs());
    let started = Instant::now();
    let mut senders = Vec::new();
    for (i, (sender, room)) in rooms.into_iter().enumerate() {
        for lane in 0..depth {
            let sender = sender.clone();
            senders.push(tokio::spawn(until(started + span, move |k| {
                let sender = sender.clone();
                async move {
                    sender
                        .send_text(room, &format!("ingest message {k}.{lane} from client {i}, of a typical length"))
                        .await
                }
            })));
        }
    }
    let (acks, elapsed) = gather(senders, started).await?;
    node.stop().await?;
    report.figure("ingest_stream_msgs_per_s", acks.len() as f64 / elapsed, "msg/s", Some(ceiling));
    report.figure("ingest_stream_ack_p50", acks.percentile_ms(50.0), "ms", None);
    report.figure("ingest_stream_ack_p99", acks.percentile_ms(99.0), "ms", None);
    Ok(())
}

async fn end_to_end(quick: bool, ceilings: &mut Ceilings, report: &mut Report) -> anyhow::Result<()> {
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
        tokio::spawn(until(started + span, move |k| {
            let room = room.clone();
            async move { room.send_text(&format!("ingest message {k} from client {i}, of a typical length")).await }
        }))
    });
    let (acks, elapsed) = gather(senders, started).await?;
    node.stop().await?;
    let rate = acks.len() as f64 / elapsed;
    report.figure("ingest_msgs_per_s", rate, "msg/s", Some(ceiling));
    report.figure("ingest_ack_p50", acks.percentile_ms(50.0), "ms", None);
    report.figure("ingest_ack_p99", acks.percentile_ms(99.0), "ms", None);
    Ok(())
}

/// Sends with `send(k)` for k = 0, 1, … until `deadline`, one at a time;
/// each send's acknowledgement time.
async fn until<F, Fut, T>(deadline: Instant, send: F) -> anyhow::Result<Samples>
where
    F: Fn(u64) -> Fut,
    Fut: std::future::Future<Output = accord_sdk::Result<T>>,
{
    let mut acks = Samples::default();
    let mut k = 0u64;
    while Instant::now() < deadline {
        let t = Instant::now();
        send(k).await?;
        acks.push(t.elapsed());
        k += 1;
    }
    Ok(acks)
}

/// The senders' acknowledgement times together, and the seconds since
/// `started` when the last one ended.
async fn gather(
    senders: impl IntoIterator<Item = tokio::task::JoinHandle<anyhow::Result<Samples>>>,
    started: Instant,
) -> anyhow::Result<(Samples, f64)> {
    let mut acks = Samples::default();
    for sender in futures::future::join_all(senders).await {
        acks.extend(&sender??);
    }
    Ok((acks, started.elapsed().as_secs_f64()))
}

/// One room's pre-signed events and the session that sends them.
struct Plan {
    token: String,
    signed: Vec<Verified<EventBody>>,
    bodies: Vec<Vec<u8>>,
}

/// The load generator's WebSocket settings: a read buffer of 8 KiB
/// instead of tungstenite's 128 KiB, which it zeroes before every read (on
/// the harness's share of the cores, a few per cent of the node-only run's
/// CPU; what the node reads with is its own).
pub(crate) fn ws_config() -> tokio_tungstenite::tungstenite::protocol::WebSocketConfig {
    tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default().read_buffer_size(8 * 1024)
}

/// Logs `key` in on the node at `url` (spec/client-api.md §2); the token.
pub(crate) async fn login(http: &reqwest::Client, url: &str, key: &SecretKey) -> anyhow::Result<String> {
    let account = key.account_id();
    let challenge: ChallengeResponse = http
        .post(format!("{url}/v1/auth/challenge"))
        .json(&ChallengeRequest { account })
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let answer = AuthResponse { account, node: challenge.node, challenge: challenge.challenge, ts: Timestamp::now() };
    let signed = Verified::sign(answer, key)?;
    let login: LoginResponse = http
        .post(format!("{url}/v1/auth/login"))
        .json(&LoginRequest { response: signed.raw().clone() })
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(login.token)
}

/// Node-only ingest: `rooms` rooms, each with its own account and
/// `per_room` events signed and encoded in advance; over HTTP sent `depth`
/// at a time per room on keep-alive connections, over the WebSocket all
/// written at once on one connection per room (the node keeps 32 in
/// flight). Receipts are checked after the window, and every one must
/// verify.
async fn node_only(
    quick: bool,
    transport: Transport,
    ceilings: &mut Ceilings,
    report: &mut Report,
) -> anyhow::Result<()> {
    let ceiling = ceilings.node_crypto(quick, report)?;
    let (rooms, per_room, depth) = if quick { (4, 200, 4) } else { (32, 2_500, 4) };
    let node = TestNode::start_with(unlimited).await?;
    let url = node.url();
    let http = reqwest::Client::builder().pool_max_idle_per_host(rooms * depth).build()?;
    let mut plans = Vec::new();
    for i in 0..rooms {
        let key = SecretKey::generate()?;
        let client = node.client(key.clone())?;
        client.register(&format!("presigned{i}"), None).await?;
        let room = client.create_room(&format!("node-only ingest {i}"), JoinRule::Public).await?.id();
        let token = login(&http, &url, &key).await?;
        // Timestamps a millisecond apart from a second ahead: well inside
        // the node's five minutes of allowed skew, and distinct.
        let base = Timestamp::now().as_millis() + 1_000;
        let mut signed = Vec::with_capacity(per_room);
        let mut bodies = Vec::with_capacity(per_room);
        for k in 0..per_room {
            let body = EventBody {
                room: Some(room),
                author: key.account_id(),
                ts: Timestamp::from_millis(base + k as u64),
                content: EventContent::Message {
                    text: format!("ingest message {k} from client {i}, of a typical length").try_into()?,
                    reply_to: None,
                    attachments: vec![],
                },
            };
            let event = Verified::sign(body, &key)?;
            bodies.push(match transport {
                Transport::Http => serde_json::to_vec(&SendEventRequest { event: event.raw().clone(), via: vec![] })?,
                Transport::Stream => serde_json::to_vec(&ClientFrame::Send {
                    id: k as u64,
                    event: Box::new(event.raw().clone()),
                    via: vec![],
                })?,
            });
            signed.push(event);
        }
        plans.push(Arc::new(Plan { token, signed, bodies }));
    }
    let total = rooms * per_room;
    eprintln!("ingest (node only, {transport:?}): {rooms} rooms × {per_room} pre-signed events");
    let mut sockets = Vec::new();
    if transport == Transport::Stream {
        for plan in &plans {
            let ws_url = format!("{}/v1/stream?token={}", url.replacen("http", "ws", 1), plan.token);
            sockets.push(tokio_tungstenite::connect_async_with_config(ws_url, Some(ws_config()), true).await?.0);
        }
    }
    let started = Instant::now();
    let mut senders = Vec::new();
    match transport {
        Transport::Http => {
            for plan in &plans {
                let next = Arc::new(AtomicUsize::new(0));
                for _ in 0..depth {
                    let (plan, next, http, url) = (plan.clone(), next.clone(), http.clone(), url.clone());
                    senders.push(tokio::spawn(async move { post_all(plan, next, http, url).await }));
                }
            }
        }
        Transport::Stream => {
            for (plan, ws) in plans.iter().zip(sockets) {
                senders.push(tokio::spawn(stream_all(plan.clone(), ws)));
            }
        }
    }
    let mut answered = Vec::new();
    for sender in futures::future::join_all(senders).await {
        answered.push(sender??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut receipts = 0;
    for (plan, answers) in answered {
        for answer in answers {
            let (k, resp): (usize, SendEventResponse) = match answer {
                Answer::Body(k, bytes) => (k, serde_json::from_slice(&bytes)?),
                Answer::Frame(text) => match serde_json::from_str::<ServerFrame>(text.as_str())? {
                    ServerFrame::Sent { id, receipt } => (id as usize, *receipt),
                    ServerFrame::NotSent { id, error } => {
                        anyhow::bail!("event {id}: {}: {}", error.code, error.message)
                    }
                    other => anyhow::bail!("an unexpected frame among the answers: {other:?}"),
                },
            };
            let event = resp.event.verify_stamp_of(&plan.signed[k])?;
            anyhow::ensure!(event.id() == resp.event_id, "event {k}: the receipt names another event");
            receipts += 1;
        }
    }
    node.stop().await?;
    anyhow::ensure!(receipts == total, "{receipts} of {total} receipts");
    let name = match transport {
        Transport::Http => "ingest_node_only_msgs_per_s",
        Transport::Stream => "ingest_node_only_stream_msgs_per_s",
    };
    report.figure(name, total as f64 / elapsed, "msg/s", Some(ceiling));
    Ok(())
}

/// Answers of one room's sends.
type Answers = (Arc<Plan>, Vec<Answer>);

/// One send's answer as it came, decoded only after the timed window.
enum Answer {
    /// A `POST /v1/events` answer: the event's index and the body.
    Body(usize, Vec<u8>),
    /// A frame of the WebSocket, expected to be the `sent` frame of one of
    /// the sends (anything else fails the run when it is decoded).
    Frame(Utf8Bytes),
}

/// Posts the plan's events, the next one not yet taken each time.
async fn post_all(
    plan: Arc<Plan>,
    next: Arc<AtomicUsize>,
    http: reqwest::Client,
    url: String,
) -> anyhow::Result<Answers> {
    let mut answers = Vec::new();
    loop {
        let k = next.fetch_add(1, Ordering::Relaxed);
        let Some(body) = plan.bodies.get(k) else { break };
        let resp = http
            .post(format!("{url}/v1/events"))
            .bearer_auth(&plan.token)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.clone())
            .send()
            .await?;
        let status = resp.status();
        let bytes = resp.bytes().await?;
        anyhow::ensure!(status.is_success(), "event {k}: {status}: {}", String::from_utf8_lossy(&bytes));
        answers.push(Answer::Body(k, bytes.to_vec()));
    }
    Ok((plan, answers))
}

/// Writes every `send` frame of the plan on `ws` while reading the
/// answers; the answers' frames, undecoded.
async fn stream_all<S>(plan: Arc<Plan>, ws: S) -> anyhow::Result<Answers>
where
    S: futures::Sink<Message, Error = WsError> + futures::Stream<Item = Result<Message, WsError>> + Send + 'static,
{
    let (mut sink, mut source) = ws.split();
    let frames = plan.clone();
    let writer = tokio::spawn(async move {
        for frame in &frames.bodies {
            sink.send(Message::Text(String::from_utf8(frame.clone())?.into())).await?;
        }
        anyhow::Ok(sink)
    });
    // One text frame per send (the connection subscribes to nothing), kept
    // as it came: decoding and checking them is not the node's work.
    let mut answers = Vec::with_capacity(plan.bodies.len());
    while answers.len() < plan.bodies.len() {
        let Some(message) = source.next().await else { anyhow::bail!("the node closed the stream") };
        if let Message::Text(text) = message? {
            answers.push(Answer::Frame(text));
        }
    }
    let _sink = writer.await??;
    Ok((plan, answers))
}

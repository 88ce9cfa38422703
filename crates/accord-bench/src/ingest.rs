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
use accord_proto::auth::AuthResponse;
use accord_proto::event::{EventBody, EventContent};
use accord_proto::{SecretKey, Timestamp, Verified};
use accord_sdk::JoinRule;
use accord_testkit::TestNode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub(crate) async fn run(quick: bool, ceilings: &mut Ceilings, report: &mut Report) -> anyhow::Result<()> {
    end_to_end(quick, ceilings, report).await?;
    node_only(quick, ceilings, report).await
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

/// One room's pre-signed events and the session that sends them.
struct Plan {
    token: String,
    signed: Vec<Verified<EventBody>>,
    bodies: Vec<Vec<u8>>,
}

/// Logs `key` in on the node at `url` (spec/client-api.md §2); the token.
async fn login(http: &reqwest::Client, url: &str, key: &SecretKey) -> anyhow::Result<String> {
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
/// `per_room` events signed and encoded in advance, sent `depth` at a time
/// per room over keep-alive connections; receipts are checked after the
/// window, and every one must verify.
async fn node_only(quick: bool, ceilings: &mut Ceilings, report: &mut Report) -> anyhow::Result<()> {
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
            bodies.push(serde_json::to_vec(&SendEventRequest { event: event.raw().clone(), via: vec![] })?);
            signed.push(event);
        }
        plans.push(Arc::new(Plan { token, signed, bodies }));
    }
    let total = rooms * per_room;
    eprintln!("ingest (node only): {rooms} rooms × {per_room} pre-signed events, {depth} in flight per room");
    let started = Instant::now();
    let mut senders = Vec::new();
    for plan in &plans {
        let next = Arc::new(AtomicUsize::new(0));
        for _ in 0..depth {
            let (plan, next, http, url) = (plan.clone(), next.clone(), http.clone(), url.clone());
            senders.push(tokio::spawn(async move {
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
                    answers.push((k, bytes));
                }
                anyhow::Ok((plan, answers))
            }));
        }
    }
    let mut answered = Vec::new();
    for sender in futures::future::join_all(senders).await {
        answered.push(sender??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut receipts = 0;
    for (plan, answers) in answered {
        for (k, bytes) in answers {
            let resp: SendEventResponse = serde_json::from_slice(&bytes)?;
            let event = resp.event.verify_stamp_of(&plan.signed[k])?;
            anyhow::ensure!(event.id() == resp.event_id, "event {k}: the receipt names another event");
            receipts += 1;
        }
    }
    node.stop().await?;
    anyhow::ensure!(receipts == total, "{receipts} of {total} receipts");
    report.figure("ingest_node_only_msgs_per_s", total as f64 / elapsed, "msg/s", Some(ceiling));
    Ok(())
}

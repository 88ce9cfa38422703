//! Hostile media: truncated, oversized, polyglot and decompression-bomb
//! uploads get typed errors and store nothing; a message naming a file the
//! node does not hold is not stamped; downloads never let a browser run
//! what they serve; quotas hold; a peer that serves bytes which do not
//! match the hash is penalised (spec/client-api.md §10, spec/federation.md
//! §10).

use crate::media::{PATIENCE, jpeg};
use accord_media::image::codecs::png::PngEncoder;
use accord_media::image::{GrayImage, ImageBuffer, Luma};
use accord_node::network::PeerId;
use accord_proto::auth::AuthResponse;
use accord_proto::event::{EventContent, MessageText};
use accord_proto::federation::{FedRequest, FedResponse, PushOutcome};
use accord_proto::media::{Attachment, MediaRequest, MediaResponse, MediaType};
use accord_proto::{NodeId, SecretKey, Sha256Hash, Timestamp, Verified};
use accord_sdk::{Client, HistoryQuery, JoinRule, SdkError};
use accord_testkit::TestNode;
use accord_testkit::hostile::{self, HostilePeer};
use serde_json::{Value, json};
use std::time::Duration;

/// A small PNG made here.
fn png(width: u32, height: u32) -> Vec<u8> {
    let img: GrayImage = ImageBuffer::from_fn(width, height, |x, y| Luma([((x * 7 + y * 13) % 256) as u8]));
    let mut out = Vec::new();
    img.write_with_encoder(PngEncoder::new(&mut out)).expect("encode");
    out
}

/// A real decompression bomb: 7000×7000 black pixels (49 megapixels, 49 MB
/// decoded) in a PNG of a few tens of kilobytes.
fn png_bomb() -> Vec<u8> {
    let img: GrayImage = ImageBuffer::new(7000, 7000);
    let mut out = Vec::new();
    img.write_with_encoder(PngEncoder::new(&mut out)).expect("encode");
    out
}

/// The PNG with bytes of its first `IDAT` chunk's data overwritten: its
/// structure is whole, its pixel data does not decode.
fn corrupt_pixels(png: &[u8]) -> Vec<u8> {
    let at = png.windows(4).position(|w| w == b"IDAT").expect("an IDAT chunk") + 4;
    let mut out = png.to_vec();
    for b in &mut out[at..at + 16] {
        *b ^= 0x5A;
    }
    out
}

/// The status and code of a refused upload.
async fn refused(client: &Client, bytes: Vec<u8>) -> (u16, String) {
    match client.upload_media(bytes).await {
        Err(SdkError::Api { status, code, .. }) => (status, code.as_str().to_owned()),
        other => panic!("the upload was not refused: {other:?}"),
    }
}

/// A session token for `key`, the way any HTTP client logs in.
async fn token(node: &TestNode, key: &SecretKey) -> String {
    let http = reqwest::Client::new();
    let c: Value = http
        .post(format!("{}/v1/auth/challenge", node.url()))
        .json(&json!({"account": key.account_id()}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let answer = Verified::sign(
        AuthResponse {
            account: key.account_id(),
            node: c["node"].as_str().unwrap().parse::<NodeId>().unwrap(),
            challenge: c["challenge"].as_str().unwrap().into(),
            ts: Timestamp::now(),
        },
        key,
    )
    .unwrap();
    let v: Value = http
        .post(format!("{}/v1/auth/login", node.url()))
        .json(&json!({"response": answer}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["token"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_oversized_polyglot_and_bomb_uploads_get_typed_errors_and_store_nothing() {
    let _machine = crate::shared().await;
    let node = TestNode::start_with(|c| c.media.max_upload_bytes = 1024 * 1024).await.unwrap();
    let alice = node.user("alice").await.unwrap();
    let photo = jpeg(320, 240);
    let picture = png(64, 64);

    let cases: Vec<(&str, Vec<u8>, (u16, &str))> = vec![
        ("a truncated JPEG", photo[..photo.len() / 2].to_vec(), (400, "truncated_media")),
        ("a truncated PNG", picture[..picture.len() - 20].to_vec(), (400, "truncated_media")),
        ("one byte over the limit", vec![0x42; 1024 * 1024 + 1], (413, "too_large")),
        (
            "a PNG followed by a ZIP archive",
            [picture.clone(), b"PK\x03\x04\x14\0\0\0zip".to_vec()].concat(),
            (400, "polyglot_media"),
        ),
        (
            "a JPEG followed by a script",
            [photo.clone(), b"<script>alert(1)</script>".to_vec()].concat(),
            (400, "polyglot_media"),
        ),
        ("a 49-megapixel PNG bomb", png_bomb(), (400, "too_many_pixels")),
        ("an HTML page", b"<!DOCTYPE html><script>alert(1)</script>".to_vec(), (415, "unsupported_media_type")),
        (
            "an SVG image",
            b"  <svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>".to_vec(),
            (415, "unsupported_media_type"),
        ),
        ("an empty file", vec![], (400, "undecodable_media")),
        ("a PNG whose pixel data is corrupt", corrupt_pixels(&picture), (400, "undecodable_media")),
    ];
    for (what, bytes, (status, code)) in cases {
        let hash = Sha256Hash::digest(&bytes);
        assert_eq!(refused(&alice, bytes).await, (status, code.to_owned()), "{what}");
        match alice.fetch_media(&hash).await {
            Err(e) => assert_eq!(e.code(), "unknown_media", "{what}: nothing is stored"),
            Ok(_) => panic!("{what} was stored"),
        }
    }
    // The same node still takes an honest photo.
    let ok = alice.upload_media(photo).await.unwrap();
    assert_eq!(ok.media_type, MediaType::Jpeg);
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_naming_a_file_the_node_does_not_hold_as_described_is_not_stamped() {
    let _machine = crate::shared().await;
    let node = TestNode::start().await.unwrap();
    let alice = node.user("alice").await.unwrap();
    let room = alice.create_room("r", JoinRule::Public).await.unwrap();
    let uploaded = alice.upload_media(png(40, 30)).await.unwrap();
    let unknown = Attachment { hash: Sha256Hash::digest(b"never uploaded"), ..uploaded.attachment() };
    let resized = Attachment { width: Some(80), ..uploaded.attachment() };
    let as_pdf = Attachment { media_type: MediaType::Pdf, width: None, height: None, ..uploaded.attachment() };
    for (what, attachment, code) in [
        ("an unknown hash", unknown, "missing_attachment"),
        ("other dimensions", resized, "attachment_mismatch"),
        ("another type", as_pdf, "attachment_mismatch"),
    ] {
        match room.send_with_attachments("look", vec![attachment]).await {
            Err(e) => assert_eq!(e.code(), code, "{what}"),
            Ok(r) => panic!("{what}: stamped as {}", r.event_id),
        }
    }
    let sent = room.send_with_attachments("", vec![uploaded.attachment()]).await.expect("a message of a file alone");
    let page = room.history(HistoryQuery::after(0)).await.unwrap();
    assert!(page.items.iter().flatten().any(|i| i.event.id() == sent.event_id), "the described file is sent");
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloads_carry_the_sniffed_type_nosniff_a_sandbox_policy_and_attachment_disposition() {
    let _machine = crate::shared().await;
    let node = TestNode::start().await.unwrap();
    let key = SecretKey::generate().unwrap();
    node.client(key.clone()).unwrap().register("alice", None).await.unwrap();
    let token = token(&node, &key).await;
    let http = reqwest::Client::new();
    let upload = |bytes: Vec<u8>, claimed: &'static str| {
        http.post(format!("{}/v1/media", node.url()))
            .bearer_auth(&token)
            .header("content-type", claimed)
            .body(bytes)
            .send()
    };
    // Text that claims to be HTML is stored and served as text.
    let answer: Value = upload(b"hello <b>there</b>\n".to_vec(), "text/html").await.unwrap().json().await.unwrap();
    assert_eq!(answer["type"], "text/plain", "{answer}");
    let text = http
        .get(format!("{}/v1/media/{}", node.url(), answer["hash"].as_str().unwrap()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let h = text.headers().clone();
    assert_eq!(h["content-type"], "text/plain; charset=utf-8");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["content-security-policy"], "default-src 'none'; sandbox");
    assert!(h["content-disposition"].to_str().unwrap().starts_with("attachment;"));
    assert_eq!(text.bytes().await.unwrap().as_ref(), b"hello <b>there</b>\n");
    // An image claimed as text is an image, served inline.
    let answer: Value = upload(png(10, 10), "text/plain").await.unwrap().json().await.unwrap();
    assert_eq!((answer["type"].as_str(), answer["width"].as_u64()), (Some("image/png"), Some(10)));
    let image = http
        .get(format!("{}/v1/media/{}", node.url(), answer["hash"].as_str().unwrap()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(image.headers()["content-type"], "image/png");
    assert_eq!(image.headers()["content-disposition"], "inline");
    assert_eq!(image.headers()["x-content-type-options"], "nosniff");
    // Without a session nothing is served.
    let anonymous = http.get(format!("{}/v1/media/{}", node.url(), answer["hash"].as_str().unwrap())).send().await;
    assert_eq!(anonymous.unwrap().status().as_u16(), 401);
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_past_the_account_or_the_node_quota_are_refused_with_quota_exceeded() {
    let _machine = crate::shared().await;
    let node = TestNode::start_with(|c| {
        c.media.account_quota_bytes = 100_000;
        c.media.node_quota_bytes = 150_000;
    })
    .await
    .unwrap();
    let (alice, bob) = (node.user("alice").await.unwrap(), node.user("bob").await.unwrap());
    let file =
        |seed: u8| -> Vec<u8> { (0..60_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8 ^ seed).collect() };
    alice.upload_media(file(1)).await.unwrap();
    assert_eq!(refused(&alice, file(2)).await, (413, "quota_exceeded".into()), "alice's quota");
    alice.upload_media(file(1)).await.expect("a file held already costs nothing more");
    bob.upload_media(file(3)).await.unwrap();
    assert_eq!(refused(&bob, file(4)).await, (413, "quota_exceeded".into()), "the node's quota");
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_peer_serving_bytes_that_do_not_match_the_hash_is_penalised_and_nothing_is_stored() {
    let _machine = crate::shared().await;
    let node = TestNode::start().await.unwrap();
    let alice = node.user("alice").await.unwrap();
    let room = alice.create_room("open", JoinRule::Public).await.unwrap();
    let page = room.history(HistoryQuery::after(0)).await.unwrap();
    let last = page.items.iter().flatten().max_by_key(|i| i.event.order_key()).unwrap().event.clone();

    // The attacker homes mallory, joins her to the room and sends a
    // message naming a real PNG; asked for it, it serves other bytes.
    let peer = HostilePeer::start(None).await.unwrap();
    let real = png(32, 32);
    let attachment = Attachment {
        hash: Sha256Hash::digest(&real),
        size: real.len() as u64,
        media_type: MediaType::Png,
        width: Some(32),
        height: Some(32),
    };
    let asked = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = asked.clone();
    peer.serve_media(move |request| {
        let request = MediaRequest::decode(request).ok()?;
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let forged = vec![0xAB; request.length as usize];
        Some(MediaResponse::Chunk { total: real.len() as u64, bytes: forged }.encode())
    })
    .await
    .unwrap();
    let node_peer: PeerId = peer.connect(&node.p2p_addr()).await.unwrap();
    let mallory = SecretKey::generate().unwrap();
    let pair = hostile::identity_pair(&mallory, peer.key(), "mallory@evil.test").unwrap();
    let depth = last.stamp_part().depth;
    let join = hostile::join_event(&mallory, peer.key(), room.id(), 1, vec![last.id()], depth + 1).unwrap();
    let content = EventContent::Message {
        text: MessageText::new("look").unwrap(),
        reply_to: None,
        attachments: vec![attachment],
    };
    let message =
        hostile::event(&mallory, peer.key(), Some(room.id()), content, 2, vec![join.claimed_id()], depth + 2).unwrap();
    let push = FedRequest::Push { room: room.id(), events: vec![join, message], identities: vec![pair] };
    // The node may fetch the bytes, find them forged and cut the peer off
    // before its answer to the push is written; the history below shows
    // that the events were stored either way.
    match peer.request(node_peer, &push).await {
        Ok(FedResponse::Pushed { outcomes }) => {
            assert!(outcomes.iter().all(|o| matches!(o, PushOutcome::Accepted { .. })), "{outcomes:?}")
        }
        Ok(other) => panic!("unexpected answer {other:?}"),
        Err(closed) => assert!(closed.to_string().contains("closed"), "{closed}"),
    }

    // The node asks for the bytes, finds they do not hash to the
    // attachment, and cuts the peer off; it serves no file.
    assert!(peer.wait_disconnected(&node_peer, PATIENCE).await, "the peer that served other bytes is cut off");
    assert!(asked.load(std::sync::atomic::Ordering::SeqCst) >= 1, "the node asked the origin for the bytes");
    tokio::time::sleep(Duration::from_millis(200)).await;
    match alice.fetch_media(&attachment.hash).await {
        Err(e) => assert_eq!(e.code(), "unknown_media"),
        Ok(_) => panic!("mismatching bytes were stored"),
    }
    let page = room.history(HistoryQuery::after(0)).await.unwrap();
    assert!(
        page.items
            .iter()
            .flatten()
            .any(|i| matches!(i.event.content(), EventContent::Message { attachments, .. } if attachments.len() == 1)),
        "the event itself stays stored: its origin stamped it"
    );
    node.stop().await.unwrap();
}

/// What a node answered a chunk request: the status byte, and for a chunk
/// the total size and the bytes.
fn chunk_answer(raw: &[u8]) -> MediaResponse {
    MediaResponse::decode(raw).expect("a media response that decodes")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_asking_for_chunks_faster_than_its_rate_is_answered_rate_limited_beyond_it() {
    let _machine = crate::shared().await;
    // Arrange: a node that serves 4 chunks per second to one peer, holding
    // a file; two peers connect to it.
    const RATE: u32 = 4;
    let node = TestNode::start_with(|c| c.media.peer_chunks_per_second = RATE).await.unwrap();
    let alice = node.user("alice").await.unwrap();
    let uploaded = alice.upload_media(png(64, 64)).await.unwrap();
    let file = alice.fetch_media(&uploaded.hash).await.unwrap();
    let request = MediaRequest { hash: uploaded.hash, offset: 0, length: 1024 }.encode().to_vec();
    let greedy = HostilePeer::start(None).await.unwrap();
    let polite = HostilePeer::start(None).await.unwrap();
    let node_peer: PeerId = greedy.connect(&node.p2p_addr()).await.unwrap();
    let polite_peer: PeerId = polite.connect(&node.p2p_addr()).await.unwrap();

    // Act: the greedy peer asks for 24 chunks at once.
    const ASKED: usize = 24;
    let started = std::time::Instant::now();
    let answers =
        futures::future::join_all((0..ASKED).map(|_| greedy.request_media_raw(node_peer, request.clone()))).await;
    let elapsed = started.elapsed();

    // Assert: every request is answered; no more than its rate (the burst
    // plus what the elapsed time allows) are chunks of the file, the rest
    // status 2, rate limited.
    let raw: Vec<Vec<u8>> = answers.into_iter().map(|a| a.expect("every request is answered")).collect();
    let answers: Vec<MediaResponse> = raw.iter().map(|a| chunk_answer(a)).collect();
    let served = answers.iter().filter(|a| matches!(a, MediaResponse::Chunk { .. })).count();
    let limited = answers.iter().filter(|a| matches!(a, MediaResponse::RateLimited)).count();
    let allowed = RATE as usize + (elapsed.as_secs_f64() * f64::from(RATE)).ceil() as usize;
    assert_eq!(served + limited, ASKED, "only chunks and status 2: {answers:?}");
    assert!((1..=allowed).contains(&served), "{served} chunks served in {elapsed:?}, at most {allowed} allowed");
    assert!(limited >= ASKED - allowed, "{limited} of {ASKED} answered rate limited");
    for answer in &answers {
        if let MediaResponse::Chunk { total, bytes } = answer {
            assert_eq!(total, &(file.len() as u64), "the file's size");
            assert_eq!(bytes.as_slice(), &file[..1024.min(file.len())], "its first KiB");
        }
    }
    assert!(raw.iter().any(|a| a.as_slice() == [2]), "status 2 is one byte on the wire");

    // The limit is per peer: another peer is served meanwhile; and it is a
    // rate, not a ban: after a second the greedy peer is served again.
    let other = chunk_answer(&polite.request_media_raw(polite_peer, request.clone()).await.expect("answered"));
    assert!(matches!(other, MediaResponse::Chunk { .. }), "another peer is served: {other:?}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let later = chunk_answer(&greedy.request_media_raw(node_peer, request).await.expect("answered"));
    assert!(matches!(later, MediaResponse::Chunk { .. }), "served again after a pause: {later:?}");
    assert!(greedy.is_connected(&node_peer), "asking fast is not misbehaviour: the peer stays connected");
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_request_streams_a_peer_gave_up_on_before_writing_count_nothing_against_it() {
    let _machine = crate::shared().await;
    let node = TestNode::start().await.unwrap();
    let peer = HostilePeer::start(None).await.unwrap();
    let target = peer.connect(&node.p2p_addr()).await.unwrap();

    // Act: media request streams that end before their first byte, as a
    // peer's timed-out requests read (yamux reads a reset stream as ended);
    // more than the bad frames that cut a peer off (5 of weight 20).
    for _ in 0..8 {
        let answer = peer.request_media_raw(target, Vec::new()).await.unwrap();
        assert_eq!(MediaResponse::decode(&answer), Ok(MediaResponse::BadRequest));
    }

    // Assert: the peer is still connected, and served; nothing counted as
    // a bad frame.
    assert!(peer.is_connected(&target));
    let request = MediaRequest { hash: Sha256Hash::digest(b"not held here"), offset: 0, length: 16 };
    let answer = peer.request_media_raw(target, request.encode().to_vec()).await.unwrap();
    assert_eq!(MediaResponse::decode(&answer), Ok(MediaResponse::NotFound));
    assert_eq!(crate::hostile_lists::metric(&node, "accord_fed_rejections_total{code=\"abandoned\"}").await, 8.0);
    assert_eq!(crate::hostile_lists::metric(&node, "accord_fed_rejections_total{code=\"bad_media_frame\"}").await, 0.0);

    // A single byte that does not decode still is a bad frame.
    let answer = peer.request_media_raw(target, vec![0]).await.unwrap();
    assert_eq!(MediaResponse::decode(&answer), Ok(MediaResponse::BadRequest));
    assert_eq!(crate::hostile_lists::metric(&node, "accord_fed_rejections_total{code=\"bad_media_frame\"}").await, 1.0);
    node.stop().await.unwrap();
}

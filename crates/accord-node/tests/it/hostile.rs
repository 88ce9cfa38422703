//! Hostile client input is refused with a typed error, and nothing of it
//! is stored.

use crate::raw::Raw;
use accord_proto::event::{EventBody, EventContent, JoinRule};
use accord_proto::{Domain, RoomId, SecretKey, SignedBytes, Timestamp, Verified};
use accord_sdk::HistoryQuery;
use accord_testkit::TestNode;
use serde_json::Value;

fn message(key: &SecretKey, room: RoomId, text: &str, ts: Timestamp) -> Verified<EventBody> {
    Verified::sign(
        EventBody {
            room: Some(room),
            author: key.account_id(),
            ts,
            content: EventContent::Message {
                text: text.to_string().try_into().unwrap(),
                reply_to: None,
                attachments: vec![],
            },
        },
        key,
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_events_are_refused_with_typed_errors_and_nothing_is_stored() {
    let node = TestNode::start().await.unwrap();
    let (alice_key, mallory_key) = (SecretKey::generate().unwrap(), SecretKey::generate().unwrap());
    let alice = node.client(alice_key.clone()).unwrap();
    alice.register("alice", None).await.unwrap();
    let mallory = node.client(mallory_key.clone()).unwrap();
    mallory.register("mallory", None).await.unwrap();
    let room = alice.create_room("general", JoinRule::Public).await.unwrap();
    let raw = Raw::new(&node);
    let alice_token = raw.login(&alice_key).await;
    let mallory_token = raw.login(&mallory_key).await;
    let stored = || async { alice.room(room.id()).history(HistoryQuery::after(0)).await.unwrap().items.len() };
    let baseline = stored().await;

    // Forged author signature: alice's body, signature bytes altered.
    let mut forged = message(&alice_key, room.id(), "forged", Timestamp::now()).raw().clone();
    let mut sig = forged.sig.to_bytes();
    sig[0] ^= 1;
    forged.sig = accord_proto::Signature::from_bytes(&sig);
    assert_eq!(raw.send(Some(&alice_token), &forged).await, (400, "bad_signature".into()));

    // A body naming alice, signed by mallory.
    let body = message(&alice_key, room.id(), "impostor", Timestamp::now()).raw().body.clone();
    let impostor = SignedBytes::sign(Domain::Event, body, &mallory_key);
    assert_eq!(raw.send(Some(&mallory_token), &impostor).await, (400, "signer_mismatch".into()));

    // Alice's genuine event sent on mallory's session.
    let genuine = message(&alice_key, room.id(), "relayed", Timestamp::now());
    assert_eq!(raw.send(Some(&mallory_token), genuine.raw()).await, (403, "not_session_account".into()));

    // Mallory is not in the room.
    let outsider = message(&mallory_key, room.id(), "let me in", Timestamp::now());
    assert_eq!(raw.send(Some(&mallory_token), outsider.raw()).await, (403, "not_member".into()));

    // Replay of an accepted event.
    let once = message(&alice_key, room.id(), "once", Timestamp::now());
    assert_eq!(raw.send(Some(&alice_token), once.raw()).await.0, 200);
    assert_eq!(raw.send(Some(&alice_token), once.raw()).await, (409, "duplicate_event".into()));

    // Timestamp a day in the future.
    let future = message(&alice_key, room.id(), "from the future", Timestamp::now().plus_millis(86_400_000));
    assert_eq!(raw.send(Some(&alice_token), future.raw()).await, (400, "bad_timestamp".into()));

    // Unauthenticated.
    let anon = message(&alice_key, room.id(), "anon", Timestamp::now());
    assert_eq!(raw.send(None, anon.raw()).await, (401, "unauthenticated".into()));
    assert_eq!(raw.send(Some("not-a-token"), anon.raw()).await, (401, "unauthenticated".into()));

    // Malformed JSON, wrong shape, oversized body.
    let (s, v) = raw.post("/v1/events", Some(&alice_token), b"{\"event\": {".to_vec()).await;
    assert_eq!((s, v["error"]["code"].as_str()), (400, Some("malformed")));
    let (s, v) = raw.post("/v1/events", Some(&alice_token), b"[1,2,3]".to_vec()).await;
    assert_eq!((s, v["error"]["code"].as_str()), (400, Some("malformed")));
    // Over the 64 KiB request limit. The node may answer before it has read
    // the whole body and close the connection; then the client sees a
    // broken pipe instead of the answer, so try a few times.
    let mut answer = None;
    for _ in 0..5 {
        let req = raw
            .http
            .post(format!("{}/v1/events", raw.url))
            .bearer_auth(&alice_token)
            .header("content-type", "application/json")
            .body(vec![b' '; 80 * 1024]);
        if let Ok(resp) = req.send().await {
            let status = resp.status().as_u16();
            answer = Some((status, resp.json::<Value>().await.unwrap()));
            break;
        }
    }
    let (s, v) = answer.expect("an answer to an oversized body");
    assert_eq!((s, v["error"]["code"].as_str()), (413, Some("too_large")));
    let big_body = SignedBytes::sign(Domain::Event, vec![b'x'; 40 * 1024], &alice_key);
    assert_eq!(raw.send(Some(&alice_token), &big_body).await, (413, "too_large".into()));

    // A banned member.
    mallory.room(room.id()).join().await.unwrap();
    room.ban(mallory.account(), Some("spam")).await.unwrap();
    let banned = message(&mallory_key, room.id(), "still here?", Timestamp::now());
    assert_eq!(raw.send(Some(&mallory_token), banned.raw()).await, (403, "banned".into()));

    // Only "once", mallory's join and the ban were stored.
    assert_eq!(stored().await, baseline + 3);
    let texts: Vec<String> = alice
        .room(room.id())
        .history(HistoryQuery::after(0))
        .await
        .unwrap()
        .items
        .iter()
        .filter_map(|i| i.as_ref().ok().and_then(|i| i.text().map(str::to_string)))
        .collect();
    assert_eq!(texts, ["once"]);
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_refuses_foreign_homes_and_closed_policy() {
    let node = TestNode::start_with(|c| c.registration.policy = accord_node::config::RegistrationPolicy::Invite)
        .await
        .unwrap();
    let key = SecretKey::generate().unwrap();
    let err = node.client(key).unwrap().register("eve", None).await.unwrap_err();
    assert_eq!(err.code(), "bad_invite");

    let closed = TestNode::start_with(|c| c.registration.policy = accord_node::config::RegistrationPolicy::Closed)
        .await
        .unwrap();
    let err = closed.client(SecretKey::generate().unwrap()).unwrap().register("eve", None).await.unwrap_err();
    assert_eq!(err.code(), "registration_closed");

    let invited = TestNode::start_with(|c| {
        c.registration.policy = accord_node::config::RegistrationPolicy::Invite;
        c.registration.invites = vec!["welcome-1".into()];
    })
    .await
    .unwrap();
    invited.client(SecretKey::generate().unwrap()).unwrap().register("first", Some("welcome-1")).await.unwrap();
    let err = invited
        .client(SecretKey::generate().unwrap())
        .unwrap()
        .register("second", Some("welcome-1"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "bad_invite");
    for n in [node, closed, invited] {
        n.stop().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_event_sent_many_times_at_once_is_stored_once() {
    let node = TestNode::start().await.unwrap();
    let key = SecretKey::generate().unwrap();
    let alice = node.client(key.clone()).unwrap();
    alice.register("alice", None).await.unwrap();
    let room = alice.create_room("race", JoinRule::Public).await.unwrap();
    let raw = Raw::new(&node);
    let token = raw.login(&key).await;
    let event = message(&key, room.id(), "only once", Timestamp::now());
    let sends = (0..16).map(|_| raw.send(Some(&token), event.raw()));
    let results = futures::future::join_all(sends).await;
    assert_eq!(results.iter().filter(|(s, _)| *s == 200).count(), 1, "{results:?}");
    assert!(results.iter().filter(|(s, _)| *s != 200).all(|(s, c)| *s == 409 && c == "duplicate_event"));
    let page = alice.room(room.id()).history(HistoryQuery::after(0)).await.unwrap();
    assert_eq!(page.items.len(), 2, "create + one message");
    node.stop().await.unwrap();
}

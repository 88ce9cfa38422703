//! Robustness of the client API's request decoding: arbitrary bytes and
//! mutations of valid requests, posted to every endpoint of a real node,
//! are answered with a client error carrying a typed code (or accepted),
//! never a server error or a dropped connection; and the node keeps
//! serving. `PROPTEST_CASES` runs more cases.

use crate::raw::Raw;
use accord_proto::event::{EventBody, EventContent, JoinRule};
use accord_proto::{SecretKey, Timestamp, Verified};
use accord_testkit::TestNode;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};

/// The endpoints that take a JSON body.
const ENDPOINTS: [&str; 4] = ["/v1/register", "/v1/auth/challenge", "/v1/auth/login", "/v1/events"];

/// Damages `bytes` at the positions given.
fn mutate(mut bytes: Vec<u8>, edits: &[(prop::sample::Index, u8, u8)]) -> Vec<u8> {
    for (at, kind, byte) in edits {
        if bytes.is_empty() {
            bytes.push(*byte);
            continue;
        }
        let i = at.index(bytes.len());
        match kind % 4 {
            0 => bytes[i] = *byte,
            1 => bytes.insert(i, *byte),
            2 => {
                bytes.remove(i);
            }
            _ => bytes.truncate(i),
        }
    }
    bytes
}

/// A valid registration body for a fresh account.
fn registration(node: &TestNode, rt: &tokio::runtime::Runtime) -> Vec<u8> {
    let info: Value =
        rt.block_on(async { reqwest::get(format!("{}/v1/node", node.url())).await?.json().await }).unwrap();
    let key = SecretKey::generate().unwrap();
    let doc = accord_proto::identity::IdentityDocument {
        account: key.account_id(),
        handle: format!("seed@{}", info["name"].as_str().unwrap()).parse().unwrap(),
        home: info["node"].as_str().unwrap().parse().unwrap(),
        created: Timestamp::now(),
    };
    json!({"identity": Verified::sign(doc, &key).unwrap().raw()}).to_string().into_bytes()
}

#[test]
fn arbitrary_and_mutated_request_bodies_get_typed_answers_on_every_endpoint() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let node = rt
        .block_on(TestNode::start_with(|c| {
            c.limits.requests_per_second_per_ip = 100_000;
            c.limits.ip_burst = 100_000;
        }))
        .unwrap();
    let key = SecretKey::generate().unwrap();
    let alice = node.client(key.clone()).unwrap();
    rt.block_on(alice.register("alice", None)).unwrap();
    let room = rt.block_on(alice.create_room("fuzzed", JoinRule::Public)).unwrap();
    let raw = Raw::new(&node);
    let token = rt.block_on(raw.login(&key));
    // Valid bodies to start from, one per endpoint.
    let message = EventBody {
        room: Some(room.id()),
        author: key.account_id(),
        ts: Timestamp::now(),
        content: EventContent::Message {
            text: "seed".to_string().try_into().unwrap(),
            reply_to: None,
            attachments: vec![],
        },
    };
    let event = Verified::sign(message, &key).unwrap();
    let valid: Vec<Vec<u8>> = vec![
        registration(&node, &rt),
        json!({"account": key.account_id()}).to_string().into_bytes(),
        json!({"response": event.raw()}).to_string().into_bytes(),
        json!({"event": event.raw()}).to_string().into_bytes(),
    ];

    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(256);
    let mut runner = TestRunner::new(Config { failure_persistence: None, ..Config::with_cases(cases) });
    let strategy = (
        0..ENDPOINTS.len(),
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..4096).prop_map(|b| (None, b)),
            (0..valid.len(), proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), any::<u8>()), 1..3))
                .prop_map(|(seed, edits)| (Some((seed, edits)), Vec::new())),
        ],
    );
    let answers = std::sync::Mutex::new(std::collections::BTreeMap::new());
    runner
        .run(&strategy, |(endpoint, (mutation, arbitrary))| {
            let body = match mutation {
                Some((seed, edits)) => mutate(valid[seed].clone(), &edits),
                None => arbitrary,
            };
            let (status, value) = rt.block_on(raw.post(ENDPOINTS[endpoint], Some(&token), body));
            prop_assert!(status < 500, "{}: server error {status}: {value}", ENDPOINTS[endpoint]);
            if status >= 400 {
                let code = value["error"]["code"].as_str().unwrap_or("");
                prop_assert!(!code.is_empty(), "{}: untyped refusal {status}: {value}", ENDPOINTS[endpoint]);
                *answers.lock().unwrap().entry(format!("{status} {code}")).or_insert(0) += 1;
            } else {
                *answers.lock().unwrap().entry(status.to_string()).or_insert(0) += 1;
            }
            Ok(())
        })
        .unwrap();
    eprintln!("client API answers to fuzzed bodies: {:?}", answers.lock().unwrap());
    // The node still serves its user.
    rt.block_on(room.send_text("still serving")).unwrap();
    let info: Value =
        rt.block_on(async { reqwest::get(format!("{}/v1/node", node.url())).await?.json().await }).unwrap();
    assert!(info["node"].is_string());
    rt.block_on(node.stop()).unwrap();
}

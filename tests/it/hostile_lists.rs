//! Hostile peers serving blocklists: a range that does not make the signed
//! root is refused and counted against the peer, and two checkpoints of
//! one size with different roots make the node distrust the issuer; the
//! node keeps the genuine list and enforces it (spec/blocklists.md §10).
//! A list page that does not decode (truncated, over its size limit) is
//! refused with its code and nothing of it is stored (spec/federation.md
//! §3.13); a peer that does not speak list pages is asked by
//! `list_entries` (the hostile peers of the other tests speak only that).

use accord_proto::blocklist::checkpoint::Checkpoint;
use accord_proto::blocklist::merkle::MerkleLog;
use accord_proto::federation::{FedRequest, FedResponse};
use accord_proto::list_page::{ListPage, ListPageRequest, ListPageResponse, MAX_PAGE_BYTES};
use accord_proto::{IssuerId, ListId, SecretKey, Timestamp};
use accord_testkit::hostile::HostilePeer;
use accord_testkit::observe::eventually;
use accord_testkit::{TestNet, TestNode};
use serde_json::{Value, json};
use std::time::Duration;

/// How long a test waits for the network.
const PATIENCE: Duration = Duration::from_secs(30);

/// The node's record of `list`, if it holds it.
pub(crate) async fn record(node: &TestNode, list: &str) -> Option<Value> {
    let status = node.admin("GET", "/lists", None).await.ok()?;
    status["lists"].as_array()?.iter().find(|r| r["list"] == list).cloned()
}

/// The number in the node's metrics line starting with `needle`.
pub(crate) async fn metric(node: &TestNode, needle: &str) -> f64 {
    let body = reqwest::get(format!("{}/metrics", node.url())).await.unwrap().text().await.unwrap();
    body.lines()
        .find(|l| l.starts_with(needle))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// Whether `key`'s account may log in on `node`.
async fn logs_in(node: &TestNode, key: &SecretKey) -> bool {
    node.client(key.clone()).unwrap().login().await.is_ok()
}

/// A registered account on `node`.
/// An account entry of list `l` (category spam).
fn entry(k: &SecretKey) -> Value {
    json!({"kind": "account", "id": k.account_id().to_string(), "category": "spam"})
}

/// List `l`, issued on A with one entry and followed by B once B holds
/// that entry; its id.
async fn followed_list(a: &TestNode, b: &TestNode) -> String {
    let list =
        a.admin("POST", "/lists", Some(json!({"name": "l"}))).await.unwrap()["list"].as_str().unwrap().to_owned();
    b.admin("POST", "/subscriptions", Some(json!({"list": list}))).await.unwrap();
    a.admin("POST", "/lists/l/entries", Some(entry(&SecretKey::generate().unwrap()))).await.unwrap();
    eventually("B follows the list", PATIENCE, || async { record(b, &list).await.is_some_and(|r| r["size"] == 1) })
        .await
        .unwrap();
    list
}

/// B, cut off from A until now, reaches A again: A's two entries arrive
/// and `y`, named by the second, can no longer log in on B.
async fn catches_up_and_blocks(a: &TestNode, b: &TestNode, list: &str, y: &SecretKey) {
    b.unblock_peer(a).await.unwrap();
    eventually("B catches up with A", PATIENCE, || async { record(b, list).await.is_some_and(|r| r["size"] == 2) })
        .await
        .unwrap();
    eventually("y is blocked on B", PATIENCE, || async { !logs_in(b, y).await }).await.unwrap();
}

async fn account(node: &TestNode, name: &str) -> SecretKey {
    let key = SecretKey::generate().unwrap();
    node.client(key.clone()).unwrap().register(name, None).await.unwrap();
    key
}

/// The answer a peer makes to a `list_entries` request of `list`: the
/// checkpoint and `entries` from the requested index on.
fn answer(
    request: &[u8],
    list: &ListId,
    checkpoint: &accord_proto::blocklist::SignedCheckpoint,
    entries: &[String],
) -> Option<Vec<u8>> {
    match serde_json::from_slice::<FedRequest>(request).ok()? {
        FedRequest::ListEntries { list: asked, from, .. } if asked == *list => {
            let entries = entries.iter().skip(from as usize).cloned().collect();
            serde_json::to_vec(&FedResponse::ListEntries { checkpoint: checkpoint.clone(), entries }).ok()
        }
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_peer_serving_a_forged_range_is_refused_and_the_genuine_list_still_arrives() {
    let _machine = crate::shared().await;
    // Arrange: A issues a list that B follows; y and z live on B.
    let net = TestNet::start(2).await.unwrap();
    let (a, b) = (&net.nodes[0], &net.nodes[1]);
    let (y, z) = (account(b, "y").await, account(b, "z").await);
    let list = followed_list(a, b).await;

    // B is cut off from A while A blocks y.
    b.block_peer(a).await.unwrap();
    eventually("B is cut off from A", PATIENCE, || async { !b.is_connected_to(a) }).await.unwrap();
    a.admin("POST", "/lists/l/entries", Some(entry(&y))).await.unwrap();

    // Act: a hostile peer fetches the genuine checkpoint from A and serves
    // it to B with the new entry naming z instead of y.
    let hostile = HostilePeer::start(None).await.unwrap();
    let node_a = hostile.connect(&a.p2p_addr()).await.unwrap();
    let list_id: ListId = list.parse().unwrap();
    let genuine =
        hostile.request(node_a, &FedRequest::ListEntries { list: list_id.clone(), from: 0, limit: 100 }).await.unwrap();
    let FedResponse::ListEntries { checkpoint, mut entries } = genuine else { panic!("A serves its list") };
    assert_eq!(entries.len(), 2);
    entries[1] = entries[1].replace(&y.account_id().to_string(), &z.account_id().to_string());
    hostile.serve(move |request| answer(request, &list_id, &checkpoint, &entries)).await.unwrap();
    hostile.connect(&b.p2p_addr()).await.unwrap();

    // Assert: B refuses the range and counts it; nothing of it applies.
    eventually("B refuses the forged range", PATIENCE, || async {
        metric(b, "accord_fed_rejections_total{code=\"bad_range\"}").await >= 1.0
    })
    .await
    .unwrap();
    assert_eq!(record(b, &list).await.unwrap()["size"], 1, "the forged range was not applied");
    assert!(logs_in(b, &z).await, "z, named only by the forgery, is not blocked");

    // Once B reaches A again, the genuine entry arrives and is enforced.
    catches_up_and_blocks(a, b, &list, &y).await;
    assert!(logs_in(b, &z).await, "z is still not blocked");
    net.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_truncated_or_oversized_list_page_is_refused_with_its_code_and_nothing_of_it_is_stored() {
    let _machine = crate::shared().await;
    // Arrange: A issues a list that B follows; y lives on B. B is cut off
    // from A while A blocks y.
    let net = TestNet::start(2).await.unwrap();
    let (a, b) = (&net.nodes[0], &net.nodes[1]);
    let y = account(b, "y").await;
    let list = followed_list(a, b).await;
    b.block_peer(a).await.unwrap();
    eventually("B is cut off from A", PATIENCE, || async { !b.is_connected_to(a) }).await.unwrap();
    a.admin("POST", "/lists/l/entries", Some(entry(&y))).await.unwrap();

    // A serves its leaves as binary pages, and refuses a request that does
    // not decode with the decoder's code.
    let list_id: ListId = list.parse().unwrap();
    let fetcher = HostilePeer::start_with_list_pages(None).await.unwrap();
    let node_a = fetcher.connect(&a.p2p_addr()).await.unwrap();
    let asked = ListPageRequest { list: list_id.clone(), from: 1, limit: 100 };
    let genuine = fetcher.request_page_raw(node_a, asked.encode()).await.unwrap();
    let ListPageResponse::Page(page) = ListPageResponse::decode(&genuine).unwrap() else { panic!("A serves a page") };
    assert_eq!(page.leaves.len(), 1, "the leaf from index 1");
    let refused = fetcher.request_page_raw(node_a, vec![0]).await.unwrap();
    assert!(
        matches!(ListPageResponse::decode(&refused), Ok(ListPageResponse::Error { code, .. }) if code == "page_bad_length"),
        "{refused:?}"
    );
    let genuine = ListPageResponse::Page(ListPage { checkpoint: page.checkpoint, leaves: page.leaves }).encode();

    // Act: one peer serves B the genuine page cut one byte short, another
    // the genuine page padded past the 4 MiB limit.
    let truncated = genuine[..genuine.len() - 1].to_vec();
    let oversized = [&genuine[..], &vec![0; MAX_PAGE_BYTES][..]].concat();
    let short = HostilePeer::start_with_list_pages(None).await.unwrap();
    short.serve_pages(move |_| Some(truncated.clone())).await.unwrap();
    short.connect(&b.p2p_addr()).await.unwrap();
    let long = HostilePeer::start_with_list_pages(None).await.unwrap();
    long.serve_pages(move |_| Some(oversized.clone())).await.unwrap();
    long.connect(&b.p2p_addr()).await.unwrap();

    // Assert: each page is refused with its code; nothing of it applies.
    for code in ["page_truncated", "page_too_large"] {
        eventually(code, PATIENCE, || async {
            metric(b, &format!("accord_fed_rejections_total{{code=\"{code}\"}}")).await >= 1.0
        })
        .await
        .unwrap();
    }
    assert_eq!(record(b, &list).await.unwrap()["size"], 1, "nothing of the refused pages is stored");
    assert!(logs_in(b, &y).await, "y is not blocked by a refused page");

    // Once B reaches A again, the genuine page arrives and is enforced.
    catches_up_and_blocks(a, b, &list, &y).await;
    net.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn checkpoints_of_one_size_with_different_roots_make_the_node_distrust_the_issuer() {
    let _machine = crate::shared().await;
    // Arrange: an issuer whose key the attackers hold; two hostile peers
    // serve its list, each with its own one-entry log.
    let net = TestNet::start(1).await.unwrap();
    let b = &net.nodes[0];
    let (victim, other) = (account(b, "victim").await, account(b, "other").await);
    let issuer = SecretKey::generate().unwrap();
    let list = ListId { issuer: IssuerId::from(issuer.public()), name: "forked".parse().unwrap() };
    let leaf = |k: &SecretKey| {
        format!(
            r#"{{"op":"add","created":{},"target":{{"type":"account","id":"{}"}},"category":"spam","action":"reject"}}"#,
            Timestamp::now().as_millis(),
            k.account_id()
        )
    };
    let fork = |leaf: String| {
        let mut log = MerkleLog::new();
        log.push(leaf.as_bytes());
        let checkpoint = Checkpoint { list: list.clone(), size: 1, root: log.root(), time: Timestamp::now() };
        (checkpoint.sign(&issuer).unwrap(), vec![leaf])
    };
    let (first, second) = (fork(leaf(&victim)), fork(leaf(&other)));
    let h1 = HostilePeer::start(None).await.unwrap();
    let h2 = HostilePeer::start(None).await.unwrap();
    let served = list.clone();
    h1.serve(move |request| answer(request, &served, &first.0, &first.1)).await.unwrap();
    let served = list.clone();
    h2.serve(move |request| answer(request, &served, &second.0, &second.1)).await.unwrap();

    // Act: B follows the list through the first peer …
    h1.connect(&b.p2p_addr()).await.unwrap();
    b.admin("POST", "/subscriptions", Some(json!({"list": list.to_string()}))).await.unwrap();
    eventually("B applies the first log", PATIENCE, || async {
        record(b, &list.to_string()).await.is_some_and(|r| r["size"] == 1)
    })
    .await
    .unwrap();
    eventually("the victim is blocked", PATIENCE, || async { !logs_in(b, &victim).await }).await.unwrap();
    // … then the second peer shows it the other log.
    h2.connect(&b.p2p_addr()).await.unwrap();

    // Assert: the issuer is distrusted and its entries stop applying.
    eventually("B distrusts the issuer", PATIENCE, || async {
        record(b, &list.to_string()).await.is_some_and(|r| r["distrusted"].is_string())
    })
    .await
    .unwrap();
    assert!(logs_in(b, &victim).await, "a distrusted issuer's entries are not enforced");
    assert!(logs_in(b, &other).await);
    net.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_peer_named_by_a_node_entry_is_refused_and_cut_off_at_its_first_request() {
    let _machine = crate::shared().await;
    // Arrange: a hostile peer, and a list of its issuer node naming it.
    let net = TestNet::start(1).await.unwrap();
    let a = &net.nodes[0];
    let hostile = HostilePeer::start(None).await.unwrap();
    a.admin("POST", "/lists", Some(json!({"name": "nodes"}))).await.unwrap();
    let entry = json!({"kind": "node", "id": hostile.node_id().to_string(), "category": "spam", "reason": "rogue"});
    a.admin("POST", "/lists/nodes/entries", Some(entry)).await.unwrap();

    // Act: the peer connects and asks something harmless.
    let node = hostile.connect(&a.p2p_addr()).await.unwrap();
    let answer = hostile.request(node, &FedRequest::Identities { accounts: vec![] }).await;

    // Assert: refused as blocked (the answer is sent before the cut), then
    // disconnected, and kept out.
    let answer = answer.expect("the refusal reaches the peer before it is cut off");
    assert!(matches!(&answer, FedResponse::Error { code, .. } if code == "blocked"), "{answer:?}");
    assert!(hostile.wait_disconnected(&node, PATIENCE).await, "the blocked peer is cut off");
    if hostile.connect(&a.p2p_addr()).await.is_ok() {
        assert!(hostile.wait_disconnected(&node, PATIENCE).await, "and stays cut off");
    }
    net.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_equivocation_proof_reaches_a_node_that_never_saw_the_fork_and_distrust_survives_a_restart() {
    let _machine = crate::shared().await;
    // Arrange: nodes B and C follow a list whose issuer's key the
    // attackers hold; the two hostile peers, each with its own log of one
    // entry, reach B only.
    let mut net = TestNet::start(2).await.unwrap();
    let issuer = SecretKey::generate().unwrap();
    let list = ListId { issuer: IssuerId::from(issuer.public()), name: "forked".parse().unwrap() };
    let fork = |target: &SecretKey| {
        let leaf = format!(
            r#"{{"op":"add","created":{},"target":{{"type":"account","id":"{}"}},"category":"spam","action":"reject"}}"#,
            Timestamp::now().as_millis(),
            target.account_id()
        );
        let mut log = MerkleLog::new();
        log.push(leaf.as_bytes());
        let checkpoint = Checkpoint { list: list.clone(), size: 1, root: log.root(), time: Timestamp::now() };
        (checkpoint.sign(&issuer).unwrap(), vec![leaf])
    };
    let (first, second) = (fork(&SecretKey::generate().unwrap()), fork(&SecretKey::generate().unwrap()));
    let h1 = HostilePeer::start(None).await.unwrap();
    let h2 = HostilePeer::start(None).await.unwrap();
    let served = list.clone();
    h1.serve(move |request| answer(request, &served, &first.0, &first.1)).await.unwrap();
    let served = list.clone();
    h2.serve(move |request| answer(request, &served, &second.0, &second.1)).await.unwrap();
    let (b, c) = (&net.nodes[0], &net.nodes[1]);
    h1.connect(&b.p2p_addr()).await.unwrap();
    // B first, from the first peer; then C, from B.
    for node in [b, c] {
        node.admin("POST", "/subscriptions", Some(json!({"list": list.to_string()}))).await.unwrap();
        eventually("B, then C, hold the first log", PATIENCE, || async {
            record(node, &list.to_string()).await.is_some_and(|r| r["size"] == 1)
        })
        .await
        .unwrap();
    }

    // Act: the second peer shows B the other log.
    h2.connect(&b.p2p_addr()).await.unwrap();

    // Assert: B detects the fork; C, which never saw the second log (no
    // hostile peer reaches it), learns of it from B's proof, by gossip.
    for (node, name) in [(b, "B"), (c, "C")] {
        eventually(&format!("{name} distrusts the issuer"), PATIENCE, || async {
            record(node, &list.to_string()).await.is_some_and(|r| r["distrusted"].is_string())
        })
        .await
        .unwrap();
    }
    assert!(!h1.is_connected(&accord_node::network::peer_id(&c.node().node_id())), "C never met the attackers");
    assert!(!h2.is_connected(&accord_node::network::peer_id(&c.node().node_id())));

    // A restart keeps the distrust, and the proof: another list of the same
    // issuer is distrusted as soon as C subscribes to it.
    net.nodes[1].restart().await.unwrap();
    let c = &net.nodes[1];
    let kept = record(c, &list.to_string()).await.expect("C still holds the list");
    assert!(kept["distrusted"].is_string(), "distrust survives the restart: {kept}");
    let sibling = ListId { issuer: list.issuer, name: "sibling".parse().unwrap() };
    let subscribed =
        c.admin("POST", "/subscriptions", Some(json!({"list": sibling.to_string()}))).await.expect("subscribe");
    assert!(subscribed["distrusted"].is_string(), "the kept proof distrusts the issuer's other lists: {subscribed}");
    net.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_page_request_streams_a_peer_gave_up_on_before_writing_count_nothing_against_it() {
    let _machine = crate::shared().await;
    let node = TestNode::start().await.unwrap();
    let peer = HostilePeer::start_with_list_pages(None).await.unwrap();
    let target = peer.connect(&node.p2p_addr()).await.unwrap();
    let refused_with = |answer: &[u8]| match ListPageResponse::decode(answer) {
        Ok(ListPageResponse::Error { code, .. }) => code,
        other => panic!("an error answer expected, got {other:?}"),
    };

    // Act: list page request streams that end before their first byte, as
    // a peer's timed-out requests read (yamux reads a reset stream as
    // ended); more than the bad pages that cut a peer off (4 of weight 25).
    for _ in 0..8 {
        let answer = peer.request_page_raw(target, Vec::new()).await.unwrap();
        assert_eq!(refused_with(&answer), "abandoned");
    }

    // Assert: the peer is still connected, and served.
    assert!(peer.is_connected(&target));
    let list = ListId { issuer: IssuerId::from(SecretKey::generate().unwrap().public()), name: "l".parse().unwrap() };
    let asked = ListPageRequest { list, from: 0, limit: 10 };
    let answer = peer.request_page_raw(target, asked.encode()).await.unwrap();
    assert_eq!(refused_with(&answer), "unknown_list");
    assert_eq!(metric(&node, "accord_fed_rejections_total{code=\"abandoned\"}").await, 8.0);

    // A single byte that does not decode still counts against the peer.
    let answer = peer.request_page_raw(target, vec![0]).await.unwrap();
    assert_eq!(refused_with(&answer), "page_bad_length");
    assert_eq!(metric(&node, "accord_fed_rejections_total{code=\"page_bad_length\"}").await, 1.0);
    node.stop().await.unwrap();
}

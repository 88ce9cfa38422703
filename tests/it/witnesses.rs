//! Witnesses against a split view (spec/blocklists.md §13): an issuer
//! shows two groups of subscribers that never talk to each other two
//! different checkpoints of one list. The subscribers require two of
//! three witnesses' cosignatures; honest witnesses cosign only one of the
//! two views, refuse the other with their size (409), and the refusal
//! turns into an equivocation proof that reaches every node.

use crate::hostile_lists::{metric, record};
use accord_proto::blocklist::checkpoint::{Checkpoint, SignedCheckpoint};
use accord_proto::blocklist::merkle::MerkleLog;
use accord_proto::blocklist::witness::{AddCheckpoint, add_cosignatures, cosignatures_in_answer};
use accord_proto::federation::{FedRequest, FedResponse};
use accord_proto::{IssuerId, ListId, SecretKey, Sha256Hash, Timestamp};
use accord_testkit::hostile::HostilePeer;
use accord_testkit::observe::eventually;
use accord_testkit::{TestNet, TestNode};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a test waits for the network.
const PATIENCE: Duration = Duration::from_secs(45);

/// One view of the list: a one-entry log and its checkpoint as served.
struct View {
    leaf: String,
    root: Sha256Hash,
    served: Arc<Mutex<SignedCheckpoint>>,
}

fn view(list: &ListId, issuer: &SecretKey, target: &SecretKey) -> View {
    let leaf = format!(
        r#"{{"op":"add","created":{},"target":{{"type":"account","id":"{}"}},"category":"spam","action":"reject"}}"#,
        Timestamp::now().as_millis(),
        target.account_id()
    );
    let mut log = MerkleLog::new();
    log.push(leaf.as_bytes());
    let checkpoint = Checkpoint { list: list.clone(), size: 1, root: log.root(), time: Timestamp::now() };
    View { leaf, root: log.root(), served: Arc::new(Mutex::new(checkpoint.sign(issuer).unwrap())) }
}

/// Serves `view` to whoever asks `peer` for the list's entries.
async fn serve(peer: &HostilePeer, list: &ListId, view: &View) {
    let (list, leaf, served) = (list.clone(), view.leaf.clone(), view.served.clone());
    peer.serve(move |request| match serde_json::from_slice::<FedRequest>(request).ok()? {
        FedRequest::ListEntries { list: asked, from, .. } if asked == list => {
            let checkpoint = served.lock().unwrap().clone();
            let entries = if from == 0 { vec![leaf.clone()] } else { vec![] };
            serde_json::to_vec(&FedResponse::ListEntries { checkpoint, entries }).ok()
        }
        _ => None,
    })
    .await
    .unwrap();
}

/// The issuer asks `witness` to cosign `view`'s checkpoint from `old`:
/// the witness's status and body.
async fn submit(issuer: &HostilePeer, witness: &TestNode, view: &View, old: u64) -> (u16, String) {
    let peer = accord_node::network::peer_id(&witness.node().node_id());
    let checkpoint = view.served.lock().unwrap().clone();
    let body = AddCheckpoint { old_size: old, proof: vec![], checkpoint }.to_body();
    match issuer.request(peer, &FedRequest::AddCheckpoint { body }).await.unwrap() {
        FedResponse::Witness { status, body } => (status, body),
        other => panic!("not a witness's answer: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_split_view_gets_no_quorum_and_the_witnesses_refusals_prove_the_fork_to_every_node() {
    let _machine = crate::shared().await;
    // Arrange: nodes 0-2 are witnesses; nodes 3 and 4, the two groups,
    // require 2 of their 3 cosignatures on the list of an issuer whose
    // key the attackers hold.
    let issuer_key = SecretKey::generate().unwrap();
    let list = ListId { issuer: IssuerId::from(issuer_key.public()), name: "split".parse().unwrap() };
    let configured = list.clone();
    let net = TestNet::start_with(5, move |i, started, c| {
        c.p2p.sync_interval_secs = 2;
        if i >= 3 {
            c.lists.subscribe = vec![accord_node::config::Subscription {
                list: configured.clone(),
                actions: Default::default(),
                pdq_threshold: None,
                witnesses: started[..3].iter().map(|w| w.node().witness_key()).collect(),
                witnesses_required: Some(2),
                mode: Default::default(),
                on_removal: Default::default(),
                priority: 0,
            }];
        }
    })
    .await
    .unwrap();
    let nodes = &net.nodes;
    for witness in &nodes[..3] {
        witness.admin("POST", "/subscriptions", Some(json!({"list": list.to_string()}))).await.unwrap();
    }
    // The two groups never talk to each other.
    nodes[3].block_peer(&nodes[4]).await.unwrap();
    nodes[4].block_peer(&nodes[3]).await.unwrap();
    eventually("the groups are apart", PATIENCE, || async { !nodes[3].is_connected_to(&nodes[4]) }).await.unwrap();

    // The issuer serves view A to group 3 and view B to group 4.
    let (a, b) = (
        view(&list, &issuer_key, &SecretKey::generate().unwrap()),
        view(&list, &issuer_key, &SecretKey::generate().unwrap()),
    );
    assert_ne!(a.root, b.root);
    let (h1, h2) = (HostilePeer::start(None).await.unwrap(), HostilePeer::start(None).await.unwrap());
    serve(&h1, &list, &a).await;
    serve(&h2, &list, &b).await;
    h1.connect(&nodes[3].p2p_addr()).await.unwrap();
    h2.connect(&nodes[4].p2p_addr()).await.unwrap();

    // Neither view is applied without cosignatures.
    for node in &nodes[3..] {
        eventually("the uncosigned view is refused", PATIENCE, || async {
            metric(node, "accord_fed_rejections_total{code=\"missing_cosignatures\"}").await >= 1.0
        })
        .await
        .unwrap();
        assert_eq!(record(node, &list.to_string()).await.unwrap()["size"], 0, "nothing applied");
    }

    // Act: the issuer asks each witness to cosign, trying both views.
    let issuer = HostilePeer::start(None).await.unwrap();
    for witness in &nodes[..3] {
        issuer.connect(&witness.p2p_addr()).await.unwrap();
    }
    let mut lines_a = Vec::new();
    let mut lines_b = Vec::new();
    for (w, first) in [(0, true), (1, false), (2, true)] {
        let view = if first { &a } else { &b };
        let (status, body) = submit(&issuer, &nodes[w], view, 0).await;
        assert_eq!(status, 200, "witness {w} cosigns the first view it sees: {body}");
        let checkpoint = view.served.lock().unwrap().clone();
        let lines = cosignatures_in_answer(&checkpoint, &body, &nodes[w].node().witness_key());
        if first { lines_a.extend(lines) } else { lines_b.extend(lines) }
    }
    // The other view: each witness answers with the size it cosigned, and
    // refuses it at that size too.
    for (w, view) in [(2, &b), (0, &b), (1, &a)] {
        assert_eq!(submit(&issuer, &nodes[w], view, 0).await, (409, "1\n".into()), "witness {w} shows its size");
        assert_eq!(submit(&issuer, &nodes[w], view, 1).await.0, 422, "witness {w} refuses the other root");
    }
    assert_eq!((lines_a.len(), lines_b.len()), (2, 1));
    let cosigned_a = add_cosignatures(&a.served.lock().unwrap(), &lines_a).unwrap();
    let cosigned_b = add_cosignatures(&b.served.lock().unwrap(), &lines_b).unwrap();
    *a.served.lock().unwrap() = cosigned_a;
    *b.served.lock().unwrap() = cosigned_b;

    // Assert: the split is proved to every node, whichever group it is in.
    for (i, node) in nodes.iter().enumerate() {
        eventually(&format!("node {i} distrusts the issuer"), PATIENCE, || async {
            record(node, &list.to_string()).await.is_some_and(|r| r["distrusted"].is_string())
        })
        .await
        .unwrap();
        let proofs = node.admin("GET", "/equivocations", None).await.unwrap();
        assert!(
            proofs["proofs"].as_array().is_some_and(|p| p.iter().any(|p| p["list"] == list.to_string())),
            "node {i} keeps the equivocation proof: {proofs}"
        );
    }
    // View B, one cosignature short, was applied nowhere.
    for (i, node) in nodes.iter().enumerate() {
        let held = record(node, &list.to_string()).await.unwrap();
        let root = held["checkpoint"]
            .as_str()
            .map(|note| SignedCheckpoint::from_note(note).verify(&list).unwrap().checkpoint.root);
        assert_ne!(root, Some(b.root), "node {i} never applied view B");
    }
    net.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_issuer_collects_its_witness_cosignature_and_only_subscribers_whose_witnesses_cosigned_apply() {
    let _machine = crate::shared().await;
    // Arrange: node 0 is a witness; node 1 issues list `l` and asks node
    // 0 to cosign; node 2 requires node 0's cosignature, node 3 that of a
    // witness nobody asks.
    let stranger = accord_proto::blocklist::witness::WitnessKey::of_node(
        &accord_proto::NodeId::from(SecretKey::generate().unwrap().public()),
        SecretKey::generate().unwrap().public(),
    );
    let net = TestNet::start_with(4, move |i, started, c| {
        c.p2p.sync_interval_secs = 2;
        if i == 1 {
            c.lists.witnesses = vec![started[0].node().witness_key()];
        }
        if i >= 2 {
            let issuer = IssuerId::from(*started[1].node().node_id().public_key());
            let witness = if i == 2 { started[0].node().witness_key() } else { stranger.clone() };
            c.lists.subscribe = vec![accord_node::config::Subscription {
                list: ListId { issuer, name: "l".parse().unwrap() },
                actions: Default::default(),
                pdq_threshold: None,
                witnesses: vec![witness],
                witnesses_required: None,
                mode: Default::default(),
                on_removal: Default::default(),
                priority: 0,
            }];
        }
    })
    .await
    .unwrap();
    let nodes = &net.nodes;
    let list = nodes[1].admin("POST", "/lists", Some(json!({"name": "l"}))).await.unwrap()["list"]
        .as_str()
        .unwrap()
        .to_owned();
    nodes[0].admin("POST", "/subscriptions", Some(json!({"list": list}))).await.unwrap();

    // Act: the issuer appends an entry.
    let entry =
        json!({"kind": "account", "id": SecretKey::generate().unwrap().account_id().to_string(), "category": "spam"});
    nodes[1].admin("POST", "/lists/l/entries", Some(entry)).await.unwrap();

    // Assert: the subscriber that requires node 0 applies the cosigned
    // checkpoint; the one that requires another witness applies nothing.
    eventually("node 2 applies the cosigned checkpoint", PATIENCE, || async {
        record(&nodes[2], &list).await.is_some_and(|r| r["size"] == 1)
    })
    .await
    .unwrap();
    let held = record(&nodes[2], &list).await.unwrap();
    let note = SignedCheckpoint::from_note(held["checkpoint"].as_str().unwrap());
    let witness = nodes[0].node().witness_key();
    assert_eq!(
        accord_proto::blocklist::witness::check_quorum(&note, std::slice::from_ref(&witness), 1),
        Ok(1),
        "the applied checkpoint carries the witness's cosignature"
    );
    eventually("node 3 refuses it", PATIENCE, || async {
        metric(&nodes[3], "accord_fed_rejections_total{code=\"missing_cosignatures\"}").await >= 1.0
    })
    .await
    .unwrap();
    assert_eq!(record(&nodes[3], &list).await.unwrap()["size"], 0, "nothing applied without its witness");
    net.stop().await.unwrap();
}

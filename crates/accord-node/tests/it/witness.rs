//! The node's witness over HTTP (spec/blocklists.md §13): C2SP
//! tlog-witness `POST /witness/add-checkpoint` answers each of its codes,
//! and the witness's state survives `kill -9`.

use accord_proto::blocklist::checkpoint::{Checkpoint, SignedCheckpoint};
use accord_proto::blocklist::merkle::MerkleLog;
use accord_proto::blocklist::witness::{AddCheckpoint, WitnessKey, add_cosignatures, check_quorum};
use accord_proto::{IssuerId, ListId, SecretKey, Timestamp};
use accord_testkit::{TestNode, admin_request};
use serde_json::json;

/// An issuer whose key the test holds, and a log of `leaves` entries.
struct Issuer {
    key: SecretKey,
    list: ListId,
    log: MerkleLog,
}

impl Issuer {
    fn new(name: &str) -> Issuer {
        let key = SecretKey::generate().unwrap();
        let list = ListId { issuer: IssuerId::from(key.public()), name: name.parse().unwrap() };
        Issuer { key, list, log: MerkleLog::new() }
    }

    fn push(&mut self, text: &str) {
        self.log.push(text.as_bytes());
    }

    fn checkpoint(&self, size: u64) -> SignedCheckpoint {
        let root = self.log.root_at(size).unwrap();
        Checkpoint { list: self.list.clone(), size, root, time: Timestamp::now() }.sign(&self.key).unwrap()
    }

    /// The `add-checkpoint` body from `old` to `size`.
    fn request(&self, old: u64, size: u64) -> String {
        let proof = if old == 0 || old == size { vec![] } else { self.log.consistency_proof(old, size).unwrap() };
        AddCheckpoint { old_size: old, proof, checkpoint: self.checkpoint(size) }.to_body()
    }
}

/// Posts `body` to `url`'s witness: status, content type and body.
async fn add_checkpoint(url: &str, body: String) -> (u16, String, String) {
    let answer = reqwest::Client::new().post(format!("{url}/witness/add-checkpoint")).body(body).send().await.unwrap();
    let status = answer.status().as_u16();
    let content_type =
        answer.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    (status, content_type, answer.text().await.unwrap())
}

/// The witness key the node's admin endpoint prints.
fn witness_key(status: &serde_json::Value) -> WitnessKey {
    WitnessKey::parse_vkey(status["witness_vkey"].as_str().expect("GET /admin/lists names the witness key")).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_witness_answers_every_tlog_witness_code_over_http() {
    let node = TestNode::start().await.unwrap();
    let mut issuer = Issuer::new("watched");
    for leaf in ["a", "b", "c", "d"] {
        issuer.push(leaf);
    }
    // 404: a list the node does not hold is an unknown origin.
    let (status, _, _) = add_checkpoint(&node.url(), issuer.request(0, 2)).await;
    assert_eq!(status, 404);
    node.admin("POST", "/subscriptions", Some(json!({"list": issuer.list.to_string()}))).await.unwrap();
    let witness = witness_key(&node.admin("GET", "/lists", None).await.unwrap());
    assert_eq!(witness.node().map(|n| n.to_string()), Some(node.node_id()), "named after its node");

    // 400: not a request; an old size above the checkpoint's.
    assert_eq!(add_checkpoint(&node.url(), "old x\n\n".into()).await.0, 400);
    assert_eq!(add_checkpoint(&node.url(), issuer.request(0, 2).replacen("old 0", "old 3", 1)).await.0, 400);
    // 403: no signature by the issuer; a signature that does not verify
    // (the text changed under it).
    let body = issuer.request(0, 2);
    let (head, note) = body.split_at(body.find("\n\n").unwrap() + 2);
    let (text, _) = note.split_at(note.rfind("\n\n").unwrap() + 2);
    assert_eq!(add_checkpoint(&node.url(), format!("{head}{text}\u{2014} someone AAAAAAAA\n")).await.0, 403);
    let other_root = format!("\n{}\n", "A".repeat(43) + "=");
    let root_line = format!("\n{}\n", note.lines().nth(2).unwrap());
    assert_eq!(add_checkpoint(&node.url(), body.replacen(&root_line, &other_root, 1)).await.0, 403);

    // 200: cosigned, and the cosignature verifies under the printed key.
    let (status, _, lines) = add_checkpoint(&node.url(), body.clone()).await;
    assert_eq!(status, 200, "{lines}");
    let note = SignedCheckpoint::from_note(body.split_at(body.find("\n\n").unwrap() + 2).1);
    let cosigned = add_cosignatures(&note, std::slice::from_ref(&lines)).unwrap();
    assert_eq!(check_quorum(&cosigned, std::slice::from_ref(&witness), 1), Ok(1));

    // 409: a stale old size, answered with the witness's size.
    let (status, content_type, body) = add_checkpoint(&node.url(), issuer.request(0, 3)).await;
    assert_eq!((status, content_type.as_str(), body.as_str()), (409, "text/x.tlog.size", "2\n"));
    // 422: a proof that does not lead from the witness's root.
    let mut fork = Issuer { key: issuer.key.clone(), list: issuer.list.clone(), log: MerkleLog::new() };
    for leaf in ["a", "x", "c", "d"] {
        fork.push(leaf);
    }
    assert_eq!(add_checkpoint(&node.url(), fork.request(2, 4)).await.0, 422);
    // And the honest extension is cosigned.
    assert_eq!(add_checkpoint(&node.url(), issuer.request(2, 4)).await.0, 200);
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_witness_state_survives_sigkill() {
    let mut node = crate::crash::crash_node("witness.local", None);
    node.start(crate::crash::START).await.unwrap();
    let mut issuer = Issuer::new("durable");
    admin_request(node.data_dir(), "POST", "/subscriptions", Some(json!({"list": issuer.list.to_string()})))
        .await
        .unwrap();
    for round in 1..=5u64 {
        issuer.push(&format!("leaf {round}"));
        let (status, _, body) = add_checkpoint(&node.url(), issuer.request(round - 1, round)).await;
        assert_eq!(status, 200, "round {round}: {body}");
        // Killed right after the answer: what was answered was stored.
        node.kill().unwrap();
        node.start(crate::crash::START).await.unwrap();
        let (status, _, body) = add_checkpoint(&node.url(), issuer.request(round - 1, round)).await;
        assert_eq!((status, body.as_str()), (409, format!("{round}\n").as_str()), "round {round}: the size survived");
    }
    node.kill().unwrap();
}

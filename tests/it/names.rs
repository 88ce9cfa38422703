//! Verified node names across real nodes (spec/names.md): a node proves
//! its name by serving its signed name proof over HTTPS at that name; peers
//! check it (a test CA and a resolver override: nothing leaves the
//! machine), show it, refuse unproved names under
//! `p2p.require_verified_names`, and cut off nodes whose verified name a
//! `domain` entry matches — under any key.

use accord_proto::federation::{FedRequest, FedResponse};
use accord_proto::policy::PolicyManifest;
use accord_testkit::hostile::HostilePeer;
use accord_testkit::tls::{Forward, TestCa};
use accord_testkit::{TestNode, observe};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

/// How long a check or an entry may take to take effect.
const WITHIN: Duration = Duration::from_secs(10);

/// A port nothing listens on: a name that resolves there is unreachable.
fn closed() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// A sync request for a room nobody holds: a peer that is federated with
/// is answered `unknown_room`; a refused one, its refusal.
fn sync() -> FedRequest {
    FedRequest::Sync {
        room: accord_proto::RoomId::from(accord_proto::EventId(accord_proto::Sha256Hash::digest(b"r"))),
        held: Default::default(),
    }
}

/// What `to` answers `from`'s sync request: its error code and message.
async fn ask(from: &TestNode, to: &TestNode) -> Option<(String, String)> {
    let peer = accord_node::network::peer_id(&to.node().node_id());
    match from.node().network().request(peer, sync()).await {
        Ok(FedResponse::Error { code, message }) => Some((code, message)),
        _ => None,
    }
}

/// Waits until `to` answers `from` with `code` (and a message containing
/// `needle`).
async fn until_answered(from: &TestNode, to: &TestNode, code: &str, needle: &str) {
    observe::eventually(&format!("answered {code} ({needle})"), WITHIN, || async {
        matches!(ask(from, to).await, Some((c, m)) if c == code && m.contains(needle))
    })
    .await
    .unwrap();
}

/// `GET /v1/nodes/{node}/name` on `at` (plain HTTP).
async fn name_of(at: &TestNode, node: &str) -> Value {
    reqwest::get(format!("{}/v1/nodes/{node}/name", at.url())).await.unwrap().json().await.unwrap()
}

/// A node that checks peers' names: it trusts `ca` and reaches each name
/// at the given address.
async fn checker(
    ca_pem: &Path,
    resolve: &[(&str, SocketAddr)],
    require: bool,
    bootstrap: Vec<String>,
) -> anyhow::Result<TestNode> {
    TestNode::start_with(|c| {
        c.p2p.require_verified_names = require;
        c.p2p.bootstrap = bootstrap;
        c.names.extra_roots = vec![ca_pem.to_path_buf()];
        c.names.resolve = resolve.iter().map(|(n, a)| ((*n).to_owned(), *a)).collect();
    })
    .await
}

/// The export of `node`'s list `imported` in `format`.
async fn export(node: &TestNode, format: &str) -> String {
    reqwest::Client::new()
        .get(format!("{}/admin/lists/imported/export?format={format}", node.admin_url().unwrap()))
        .bearer_auth(std::fs::read_to_string(accord_node::DataDir::new(node.data_dir()).admin_token()).unwrap().trim())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn connected(a: &TestNode, b: &TestNode) {
    observe::eventually("connected", Duration::from_secs(60), || async { a.is_connected_to(b) }).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_proved_name_federates_and_shows_verified_and_unproved_claims_are_refused_under_require_verified_names() {
    let _machine = crate::shared().await;
    // Arrange: a test CA; B requires verified names and reaches a.test and
    // b.test through forwarders, unproved.example nowhere.
    let ca = TestCa::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca_pem = ca.write_cert(dir.path()).unwrap();
    let a_name = Forward::start().await.unwrap();
    let b = checker(
        &ca_pem,
        &[("a.test", a_name.addr()), ("impostor.test", a_name.addr()), ("unproved.example", closed())],
        true,
        vec![],
    )
    .await
    .unwrap();
    // A serves its name proof for a.test itself, on its HTTPS API.
    let a = TestNode::start_named(&ca, "a.test", |c| c.p2p.bootstrap = vec![b.p2p_addr()]).await.unwrap();
    a_name.point_at(a.api_addr());
    // C claims a name it cannot prove (its HTTPS server is unreachable).
    let c = TestNode::start_with(|c| {
        c.node.name = "unproved.example".parse().unwrap();
        c.p2p.bootstrap = vec![b.p2p_addr()];
    })
    .await
    .unwrap();
    connected(&a, &b).await;
    connected(&c, &b).await;

    // Act and assert: A federates with B; C is refused with a typed
    // reason that names the check's code.
    until_answered(&a, &b, "unknown_room", "").await;
    until_answered(&c, &b, "unverified_name", "unreachable").await;

    // B shows A's name as verified and C's as not, with why.
    let shown = name_of(&b, &a.node_id()).await;
    assert_eq!((shown["name"].as_str(), shown["verified"].as_bool()), (Some("a.test"), Some(true)), "{shown}");
    let shown = name_of(&b, &c.node_id()).await;
    assert_eq!(shown["verified"], false, "{shown}");
    assert_eq!(shown["code"], "unreachable", "{shown}");
    // The document A serves is its signed proof, verifiable by anyone.
    let document = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ca.cert_pem().as_bytes()).unwrap())
        .resolve("a.test", a.api_addr())
        .build()
        .unwrap()
        .get(format!("https://a.test:{}/.well-known/accord/node", a.api_addr().port()))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let name: accord_proto::names::DomainName = "a.test".parse().unwrap();
    let proof =
        accord_proto::names::check_name_proof(&document, &a.node().node_id(), &name, accord_proto::Timestamp::now())
            .unwrap();
    assert_eq!(proof.node, a.node().node_id());

    // A peer that claims A's name under its own key is refused: the proof
    // at a.test names A, not it.
    let impostor = HostilePeer::start(None).await.unwrap();
    let manifest = PolicyManifest {
        node: impostor.node_id(),
        name: Some(name.clone()),
        lists: vec![],
        time: accord_proto::Timestamp::now(),
    };
    let signed = accord_proto::Verified::sign(manifest, impostor.key()).unwrap().raw().clone();
    let answer = serde_json::to_vec(&FedResponse::Manifest { manifest: Box::new(signed) }).unwrap();
    impostor
        .serve(move |request| {
            matches!(serde_json::from_slice(request), Ok(FedRequest::Manifest {})).then(|| answer.clone())
        })
        .await
        .unwrap();
    let node = impostor.connect(&b.p2p_addr()).await.unwrap();
    let answered = impostor.request(node, &sync()).await.unwrap();
    assert!(
        matches!(&answered, FedResponse::Error { code, message } if code == "unverified_name" && message.contains("wrong_node")),
        "{answered:?}"
    );
    let shown = name_of(&b, &impostor.node_id().to_string()).await;
    assert_eq!((shown["verified"].as_bool(), shown["code"].as_str()), (Some(false), Some("wrong_node")), "{shown}");

    for node in [a, c, b] {
        node.stop().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_domain_entry_cuts_off_the_node_whose_verified_name_it_matches_and_a_new_key_under_that_name() {
    let _machine = crate::shared().await;
    // Arrange: issuer I; subscriber B, which checks names only because of
    // the domain entry (no require_verified_names); A proves a.test.
    let ca = TestCa::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca_pem = ca.write_cert(dir.path()).unwrap();
    let a_name = Forward::start().await.unwrap();
    let issuer = TestNode::start().await.unwrap();
    let b = checker(&ca_pem, &[("a.test", a_name.addr())], false, vec![issuer.p2p_addr()]).await.unwrap();
    let a = TestNode::start_named(&ca, "a.test", |c| c.p2p.bootstrap = vec![b.p2p_addr()]).await.unwrap();
    a_name.point_at(a.api_addr());
    connected(&a, &b).await;
    connected(&issuer, &b).await;
    let list = issuer.admin("POST", "/lists", Some(json!({"name": "names"}))).await.unwrap()["list"]
        .as_str()
        .unwrap()
        .to_owned();
    b.admin("POST", "/subscriptions", Some(json!({"list": list}))).await.unwrap();
    until_answered(&a, &b, "unknown_room", "").await;

    // Act: the issuer blocks everything under a.test.
    issuer
        .admin(
            "POST",
            "/lists/names/entries",
            Some(json!({"kind": "domain", "id": "*.a.test", "category": "harassment", "reason": "raids"})),
        )
        .await
        .unwrap();

    // Assert: A is cut off, with the entry named; the issuer is not.
    until_answered(&a, &b, "blocked", &list).await;
    assert_eq!(ask(&issuer, &b).await.map(|(c, _)| c).as_deref(), Some("unknown_room"));
    let shown = name_of(&b, &a.node_id()).await;
    assert_eq!(shown["verified"], true, "{shown}");

    // The operator of a.test comes back under a new key, with a proof for
    // the same name (the name now points at the new node): refused too.
    let again = TestNode::start_named(&ca, "a.test", |c| c.p2p.bootstrap = vec![b.p2p_addr()]).await.unwrap();
    a_name.point_at(again.api_addr());
    connected(&again, &b).await;
    assert_ne!(again.node_id(), a.node_id());
    until_answered(&again, &b, "blocked", &list).await;
    let shown = name_of(&b, &again.node_id()).await;
    assert_eq!((shown["name"].as_str(), shown["verified"].as_bool()), (Some("a.test"), Some(true)), "{shown}");

    for node in [again, a, b, issuer] {
        node.stop().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mastodon_and_matrix_server_blocks_import_as_enforced_domain_entries_and_export_back() {
    let _machine = crate::shared().await;
    let ca = TestCa::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca_pem = ca.write_cert(dir.path()).unwrap();
    let (a_name, m_name) = (Forward::start().await.unwrap(), Forward::start().await.unwrap());
    let b = checker(
        &ca_pem,
        &[("chat.badplace.example", a_name.addr()), ("matrix.example.net", m_name.addr())],
        false,
        vec![],
    )
    .await
    .unwrap();
    let a =
        TestNode::start_named(&ca, "chat.badplace.example", |c| c.p2p.bootstrap = vec![b.p2p_addr()]).await.unwrap();
    a_name.point_at(a.api_addr());
    let m = TestNode::start_named(&ca, "matrix.example.net", |c| c.p2p.bootstrap = vec![b.p2p_addr()]).await.unwrap();
    m_name.point_at(m.api_addr());
    connected(&a, &b).await;
    connected(&m, &b).await;
    b.admin("POST", "/lists", Some(json!({"name": "imported"}))).await.unwrap();
    until_answered(&a, &b, "unknown_room", "").await;
    until_answered(&m, &b, "unknown_room", "").await;

    // Act: B's operator imports a Mastodon domain-block export and a
    // Matrix policy list with server rules into its own list.
    let mastodon = "#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\n\
                    badplace.example,suspend,false,false,harassment campaigns,false\n\
                    quiet.example,noop,true,false,,false\n\
                    b*d.example,suspend,false,false,,true\n";
    let imported = b
        .admin("POST", "/lists/imported/import", Some(json!({"format": "mastodon-csv", "text": mastodon})))
        .await
        .unwrap();
    let matrix = r#"[
      {"type": "m.policy.rule.server", "content": {"entity": "*.example.net", "reason": "spam", "recommendation": "m.ban"}},
      {"type": "m.policy.rule.server", "content": {"entity": "evil*.org", "reason": "", "recommendation": "m.ban"}}
    ]"#;
    let imported_matrix = b
        .admin("POST", "/lists/imported/import", Some(json!({"format": "matrix-policy", "text": matrix})))
        .await
        .unwrap();

    // Assert: the counts (entries appended, rows skipped and why) ...
    assert_eq!(imported["count"], 1, "{imported}");
    let whys: Vec<&str> = imported["skipped"].as_array().unwrap().iter().map(|s| s["why"].as_str().unwrap()).collect();
    assert_eq!(whys.len(), 2, "{imported}");
    assert!(whys[0].starts_with("severity noop") && whys[1].starts_with("obfuscated"), "{whys:?}");
    assert_eq!(imported_matrix["count"], 1, "{imported_matrix}");
    assert_eq!(imported_matrix["skipped"].as_array().unwrap().len(), 1, "{imported_matrix}");
    // ... the entries are enforced on the nodes whose verified names they match ...
    until_answered(&a, &b, "blocked", "imported").await;
    until_answered(&m, &b, "blocked", "imported").await;
    // ... and export writes them back in each format, which imports again
    // to the same entries.
    let exported = export(&b, "mastodon-csv").await;
    assert!(exported.contains("\nbadplace.example,suspend,false,false,harassment campaigns,false\n"), "{exported}");
    assert!(exported.contains("\nexample.net,suspend,false,false,spam,false\n"), "{exported}");
    let back = accord_formats::import(
        accord_formats::Format::MastodonCsv,
        &exported,
        accord_proto::blocklist::Category::Other,
    )
    .unwrap();
    let targets: Vec<String> = back.entries.iter().map(|e| serde_json::to_string(&e.target).unwrap()).collect();
    assert_eq!(
        targets,
        [r#"{"type":"domain","name":"*.badplace.example"}"#, r#"{"type":"domain","name":"*.example.net"}"#]
    );
    let rules: Value = serde_json::from_str(&export(&b, "matrix-policy").await).unwrap();
    let entities: Vec<&str> =
        rules.as_array().unwrap().iter().map(|r| r["content"]["entity"].as_str().unwrap()).collect();
    assert_eq!(entities, ["*.badplace.example", "*.example.net"]);

    for node in [a, m, b] {
        node.stop().await.unwrap();
    }
}

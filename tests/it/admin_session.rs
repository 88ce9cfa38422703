//! The dashboard's door to the admin endpoint (spec/blocklists.md §12.1a,
//! §12.2b): the admin token traded once for an HttpOnly session cookie,
//! refused without the dashboard header, unknown or after logout; the
//! node's status with its peers and how many nodes follow its lists.

use accord_testkit::{TestNet, TestNode};
use reqwest::StatusCode;
use reqwest::header::{COOKIE, SET_COOKIE};
use serde_json::{Value, json};
use std::time::Duration;

/// Opens a dashboard session with `token`: the status, the `Set-Cookie`
/// header and the body.
async fn open_session(node: &TestNode, token: &str) -> (StatusCode, Option<String>, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/admin/session", node.admin_url().unwrap()))
        .json(&json!({ "token": token }))
        .send()
        .await
        .expect("request");
    let status = response.status();
    let cookie = response.headers().get(SET_COOKIE).map(|v| v.to_str().expect("ascii").to_owned());
    (status, cookie, response.json().await.expect("JSON body"))
}

fn token(node: &TestNode) -> String {
    std::fs::read_to_string(node.data_dir().join("admin.token")).expect("admin.token").trim().to_owned()
}

/// `accord_admin=ID` from a `Set-Cookie` header.
fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().expect("a pair").trim().to_owned()
}

/// GET `path` under `/admin` with a cookie and, if `header`, the dashboard
/// header: the status and the JSON body.
async fn with_cookie(node: &TestNode, path: &str, cookie: &str, header: bool) -> (StatusCode, Value) {
    let mut request =
        reqwest::Client::new().get(format!("{}/admin{path}", node.admin_url().unwrap())).header(COOKIE, cookie);
    if header {
        request = request.header("X-Accord-Dashboard", "1");
    }
    let response = request.send().await.expect("request");
    (response.status(), response.json().await.expect("JSON body"))
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_token_opens_an_http_only_session_that_needs_the_dashboard_header() {
    let _machine = crate::shared().await;
    let node = TestNode::start().await.unwrap();

    let (status, set_cookie, body) = open_session(&node, &token(&node)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let set_cookie = set_cookie.expect("a Set-Cookie header");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/admin", "Max-Age=43200"] {
        assert!(set_cookie.contains(attribute), "{attribute} missing from {set_cookie}");
    }
    assert!(!set_cookie.contains("Secure"), "plain HTTP: no Secure attribute");
    let cookie = cookie_pair(&set_cookie);
    let id = cookie.strip_prefix("accord_admin=").expect("the accord_admin cookie");
    assert_eq!(id.len(), 64);
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    assert!(body["expires"].as_u64().is_some(), "{body}");

    let (status, status_body) = with_cookie(&node, "/status", &cookie, true).await;
    assert_eq!(status, StatusCode::OK, "{status_body}");
    assert_eq!(status_body["node"], node.node_id());

    let (status, refused) = with_cookie(&node, "/status", &cookie, false).await;
    assert_eq!((status, code(&refused)), (StatusCode::FORBIDDEN, "dashboard_header_required"), "{refused}");
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_token_an_unknown_cookie_and_a_closed_session_are_refused() {
    let _machine = crate::shared().await;
    let node = TestNode::start().await.unwrap();

    let (status, set_cookie, body) = open_session(&node, "not the token").await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "forbidden"), "{body}");
    assert!(set_cookie.is_none(), "no session for a wrong token");

    let forged = format!("accord_admin={}", "ab".repeat(32));
    let (status, body) = with_cookie(&node, "/lists", &forged, true).await;
    assert_eq!((status, code(&body)), (StatusCode::UNAUTHORIZED, "bad_admin_session"), "{body}");

    let (_, set_cookie, _) = open_session(&node, &format!("  {}\n", token(&node))).await;
    let cookie = cookie_pair(&set_cookie.expect("a session"));
    let logout = reqwest::Client::new()
        .post(format!("{}/admin/session/logout", node.admin_url().unwrap()))
        .header(COOKIE, &cookie)
        .header("X-Accord-Dashboard", "1")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::OK);
    let cleared = logout.headers().get(SET_COOKIE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert!(cleared.starts_with("accord_admin=;") && cleared.contains("Max-Age=0"), "{cleared}");
    assert_eq!(logout.json::<Value>().await.unwrap()["ended"], true);

    let (status, body) = with_cookie(&node, "/lists", &cookie, true).await;
    assert_eq!((status, code(&body)), (StatusCode::UNAUTHORIZED, "bad_admin_session"), "{body}");

    // Without any credential the door stays shut, as before.
    let (status, body) = with_cookie(&node, "/lists", "theme=dark", true).await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "forbidden"), "{body}");
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_status_names_the_peers_and_counts_the_nodes_that_follow_a_list() {
    let _machine = crate::shared().await;
    let net = TestNet::start(2).await.unwrap();
    net.wait_connected(Duration::from_secs(10)).await.unwrap();
    let (issuer, follower) = (&net.nodes[0], &net.nodes[1]);
    let made = issuer.admin("POST", "/lists", Some(json!({"name": "abuse"}))).await.unwrap();
    let list = made["list"].as_str().unwrap().to_owned();
    let before = issuer.admin("GET", "/lists", None).await.unwrap();
    assert_eq!(before["lists"][0]["followers"], 0, "{before}");

    follower.admin("POST", "/subscriptions", Some(json!({"list": list}))).await.unwrap();

    accord_testkit::observe::eventually(
        "the issuer counts the subscriber as a follower",
        Duration::from_secs(10),
        || async {
            let lists = issuer.admin("GET", "/lists", None).await.unwrap();
            lists["lists"][0]["followers"] == 1
        },
    )
    .await
    .unwrap();
    let status = issuer.admin("GET", "/status", None).await.unwrap();
    assert_eq!(status["node"], issuer.node_id());
    assert_eq!(status["lists"][0]["list"], list.as_str());
    assert_eq!(status["lists"][0]["followers"], 1, "{status}");
    let peer = status["peers"].as_array().unwrap().iter().find(|p| p["node"] == follower.node_id()).cloned();
    let peer = peer.unwrap_or_else(|| panic!("the follower is not among the peers: {status}"));
    assert_eq!((peer["connected"].clone(), peer["blocked"].clone()), (json!(true), json!(false)), "{peer}");
    assert!(status["p2p"][0].as_str().unwrap().ends_with(&issuer.node_id()), "{status}");

    let sub = follower.admin("GET", "/status", None).await.unwrap();
    assert_eq!(sub["lists"][0]["own"], false, "{sub}");
    assert_eq!(sub["lists"][0]["behind"], 0, "{sub}");
    net.stop().await.unwrap();
}

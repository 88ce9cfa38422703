//! The admin endpoint and the dashboard on a listener of their own
//! (`[admin] listen`, spec/blocklists.md §12.1): the client API's port never
//! serves them, whatever the request carries; the admin listener still
//! wants the token; on a Unix socket only its owner can open it, and the
//! operator's commands find it through the data directory.

use accord_node::config::AdminListen;
use accord_testkit::TestNode;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::os::unix::fs::{FileTypeExt as _, PermissionsExt as _};

async fn accord_node(args: &[&str]) -> std::process::Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_accord-node")).args(args).output().await.unwrap()
}

fn token(node: &TestNode) -> String {
    std::fs::read_to_string(node.data_dir().join("admin.token")).unwrap().trim().to_owned()
}

/// Sends `method path` to `base` with `bearer` (if any) and `body` (if
/// any): the status and the body (JSON, or the text as a JSON string).
async fn send(
    http: &reqwest::Client,
    base: &str,
    method: reqwest::Method,
    path: &str,
    bearer: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = http.request(method, format!("{base}{path}"));
    if let Some(bearer) = bearer {
        request = request.bearer_auth(bearer);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("an answer");
    let status = response.status();
    let text = response.text().await.expect("a body");
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_default()
}

/// What the operator's endpoint and the dashboard answer on: each route
/// with what a genuine operator would send.
fn operator_requests(token: &str) -> Vec<(reqwest::Method, &'static str, Option<Value>)> {
    use reqwest::Method;
    vec![
        (Method::GET, "/admin/status", None),
        (Method::GET, "/admin/lists", None),
        (Method::POST, "/admin/lists", Some(json!({"name": "abuse"}))),
        (Method::GET, "/admin/reports", None),
        (Method::GET, "/admin/peers", None),
        (Method::POST, "/admin/session", Some(json!({"token": token}))),
        (Method::GET, "/dashboard", None),
        (Method::GET, "/web/dashboard/app.js", None),
        (Method::GET, "/web/dashboard/admin-api.js", None),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_port_never_serves_the_admin_endpoint_or_the_dashboard_even_with_the_token() {
    let node = TestNode::start().await.unwrap();
    let (token, http) = (token(&node), reqwest::Client::new());
    let admin = node.admin_url().unwrap();
    assert_ne!(admin, node.url(), "a listener of its own");

    for (method, path, body) in operator_requests(&token) {
        let (status, answer) = send(&http, &node.url(), method.clone(), path, Some(&token), body.clone()).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "public {method} {path}: {answer}");
        if path != "/web/dashboard/app.js" && path != "/web/dashboard/admin-api.js" {
            assert_eq!(code(&answer), "not_found", "public {method} {path}: {answer}");
        }
    }
    // With a session cookie and the dashboard header, as a browser would.
    let (status, _) =
        send(&http, &admin, reqwest::Method::POST, "/admin/session", None, Some(json!({"token": token}))).await;
    assert_eq!(status, StatusCode::OK);
    let refused = http
        .get(format!("{}/admin/status", node.url()))
        .header("cookie", format!("accord_admin={}", "ab".repeat(32)))
        .header("x-accord-dashboard", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);

    // The same requests are served on the admin listener (the list made
    // there exists; the public port's attempt made none).
    for (method, path, body) in operator_requests(&token) {
        let (status, answer) = send(&http, &admin, method.clone(), path, Some(&token), body).await;
        assert_eq!(status, StatusCode::OK, "admin {method} {path}: {answer}");
    }
    let lists = node.admin("GET", "/lists", None).await.unwrap();
    assert_eq!(lists["lists"].as_array().map(Vec::len), Some(1), "{lists}");
    // The chat client stays on the public port.
    let (status, _) = send(&http, &node.url(), reqwest::Method::GET, "/", None, None).await;
    assert_eq!(status, StatusCode::OK);
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_listener_refuses_a_missing_or_wrong_token() {
    let node = TestNode::start().await.unwrap();
    let (token, http, admin) = (token(&node), reqwest::Client::new(), node.admin_url().unwrap());
    let wrong = "0".repeat(64);
    for (method, path, body) in operator_requests(&token).into_iter().filter(|(_, p, _)| p.starts_with("/admin")) {
        let body = if path == "/admin/session" { Some(json!({"token": wrong})) } else { body };
        for bearer in [None, Some(wrong.as_str()), Some(&token[..63])] {
            let (status, answer) = send(&http, &admin, method.clone(), path, bearer, body.clone()).await;
            assert_eq!((status, code(&answer)), (StatusCode::FORBIDDEN, "forbidden"), "{method} {path}: {answer}");
        }
    }
    let lists = node.admin("GET", "/lists", None).await.unwrap();
    assert_eq!(lists["lists"], json!([]), "no refused request made a list: {lists}");
    node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_listener_off_loopback_is_refused_at_start() {
    for listen in ["0.0.0.0:0", "[::]:0"] {
        let started = TestNode::start_with(|c| c.admin.listen = listen.parse().unwrap()).await;
        let err = started.err().unwrap_or_else(|| panic!("admin.listen = {listen} must not start"));
        assert!(err.to_string().contains("admin.listen") && err.to_string().contains("loopback"), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unix_socket_admin_listener_is_owner_only_and_the_operators_commands_use_it() {
    let mut node = TestNode::start_with(|c| c.admin.listen = "unix:admin.sock".parse().unwrap()).await.unwrap();
    let dir = node.data_dir();
    let socket = dir.join("admin.sock");
    let meta = std::fs::symlink_metadata(&socket).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600, "owner only");
    assert_eq!(node.admin_endpoint(), AdminListen::Unix(socket.clone()));
    let recorded = std::fs::read_to_string(dir.join("admin.addr")).unwrap();
    assert_eq!(recorded.trim(), format!("unix:{}", socket.display()));
    assert!(node.admin_url().is_err(), "no TCP address to open in a browser");

    // The operator's commands reach the node through the socket.
    let d = dir.to_str().unwrap();
    let created = accord_node(&["list", "create", "spam", "--data-dir", d]).await;
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let listed = accord_node(&["list", "status", "--data-dir", d, "--json"]).await;
    assert!(listed.status.success(), "{}", String::from_utf8_lossy(&listed.stderr));
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert!(listed["lists"][0]["list"].as_str().unwrap().ends_with("/spam"), "{listed}");
    let reports = accord_node(&["reports", "list", "--data-dir", d, "--json"]).await;
    assert!(reports.status.success(), "{}", String::from_utf8_lossy(&reports.stderr));

    // The token is still wanted on the socket.
    let over_socket = reqwest::Client::builder().unix_socket(socket.clone()).build().unwrap();
    let (token, wrong) = (token(&node), "0".repeat(64));
    for bearer in [None, Some(wrong.as_str())] {
        let (status, answer) =
            send(&over_socket, "http://localhost", reqwest::Method::GET, "/admin/lists", bearer, None).await;
        assert_eq!((status, code(&answer)), (StatusCode::FORBIDDEN, "forbidden"), "{answer}");
    }
    let (status, answer) =
        send(&over_socket, "http://localhost", reqwest::Method::GET, "/admin/lists", Some(&token), None).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    // And the public port does not serve it.
    let (status, _) =
        send(&reqwest::Client::new(), &node.url(), reqwest::Method::GET, "/admin/lists", Some(&token), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A restart binds the socket again, owner only; a clean stop removes
    // it and the record.
    node.restart().await.unwrap();
    assert_eq!(std::fs::metadata(&socket).unwrap().permissions().mode() & 0o777, 0o600);
    let shown = accord_node(&["list", "show", "spam", "--data-dir", d, "--json"]).await;
    assert!(shown.status.success(), "{}", String::from_utf8_lossy(&shown.stderr));
    node.stop().await.unwrap();
    assert!(!socket.exists() && !dir.join("admin.addr").exists(), "the socket and admin.addr are removed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_left_by_a_killed_node_is_replaced_and_a_live_one_is_not_taken_over() {
    let first = TestNode::start_with(|c| c.admin.listen = "unix:admin.sock".parse().unwrap()).await.unwrap();
    let socket = first.data_dir().join("admin.sock");
    // A second node told to use the same socket while the first answers
    // on it does not start.
    let path = socket.display().to_string();
    let second = TestNode::start_with(|c| c.admin.listen = format!("unix:{path}").parse().unwrap()).await;
    let err = second.err().expect("a live socket is not taken over");
    assert!(err.to_string().contains("admin.listen"), "{err}");
    assert!(first.admin("GET", "/lists", None).await.is_ok(), "the first node still answers");

    // A socket file nobody answers on (a node killed without its
    // shutdown) is replaced.
    let stale = tempfile::tempdir().unwrap();
    let stale_path = stale.path().join("admin.sock");
    drop(std::os::unix::net::UnixListener::bind(&stale_path).unwrap());
    assert!(stale_path.exists());
    let path = stale_path.display().to_string();
    let third = TestNode::start_with(|c| c.admin.listen = format!("unix:{path}").parse().unwrap()).await.unwrap();
    assert_eq!(std::fs::metadata(&stale_path).unwrap().permissions().mode() & 0o777, 0o600);
    assert!(third.admin("GET", "/lists", None).await.is_ok());
    third.stop().await.unwrap();
    first.stop().await.unwrap();
}

//! The web door: every node serves its chat client (on the client API's
//! listener) and its dashboard (on the admin listener) from files embedded
//! in its binary, under a Content-Security-Policy that lets only the node's
//! own scripts run, and a real browser runs them.

use accord_testkit::TestNode;
use accord_testkit::browser::Browser;
use std::time::Duration;

/// The policy's directives a page depends on for its safety.
const REQUIRED_DIRECTIVES: [&str; 5] =
    ["default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'", "base-uri 'none'"];

#[tokio::test]
async fn pages_and_their_files_are_served_with_a_strict_policy() {
    let _machine = crate::shared().await;
    let node = TestNode::start().await.expect("node");
    let (public, admin) = (node.url(), node.admin_url().expect("a loopback admin listener"));
    let http = reqwest::Client::new();
    for (base, path, kind) in [
        (&public, "/", "text/html"),
        (&admin, "/dashboard", "text/html"),
        (&public, "/web/chat/app.js", "text/javascript"),
        (&public, "/web/common/verify.js", "text/javascript"),
        (&admin, "/web/dashboard/app.js", "text/javascript"),
        (&admin, "/web/common/verify.js", "text/javascript"),
    ] {
        let response = http.get(format!("{base}{path}")).send().await.expect("GET");
        assert_eq!(response.status(), 200, "{path}");
        let header =
            |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        assert!(header("content-type").starts_with(kind), "{path}: content type {}", header("content-type"));
        let policy = header("content-security-policy");
        for directive in REQUIRED_DIRECTIVES {
            assert!(policy.contains(directive), "{path}: policy {policy:?} lacks {directive:?}");
        }
        assert!(!policy.contains("unsafe-inline") && !policy.contains("unsafe-eval"), "{path}: {policy}");
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
        let etag = header("etag");
        let again = http.get(format!("{base}{path}")).header("if-none-match", &etag).send().await.expect("GET");
        assert_eq!(again.status(), 304, "{path}: revalidation by ETag {etag}");
    }
    for base in [&public, &admin] {
        for path in ["/web/nothing.js", "/web/../Cargo.toml", "/web/chat/../../build.rs"] {
            let response = http.get(format!("{base}{path}")).send().await.expect("GET");
            assert_eq!(response.status(), 404, "{base}{path}");
        }
    }
    // Each listener serves its own page's files and no other's.
    for (base, path) in [(&public, "/web/dashboard/app.js"), (&admin, "/"), (&admin, "/web/chat/app.js")] {
        let response = http.get(format!("{base}{path}")).send().await.expect("GET");
        assert_eq!(response.status(), 404, "{base}{path}");
    }
}

#[tokio::test]
async fn a_browser_runs_the_pages_scripts_under_the_policy() {
    let _machine = crate::shared().await;
    let node = TestNode::start().await.expect("node");
    let browser = Browser::start().await.expect("browser");
    let admin = node.admin_url().expect("a loopback admin listener");
    for (base, path) in [(&node.url(), "/"), (&admin, "/dashboard")] {
        browser.open(&format!("{base}{path}")).await.expect("open");
        let ready = browser.wait_for("body[data-ready='1']", Duration::from_secs(10)).await;
        assert!(ready.is_ok(), "{path}: the page's module script did not run under the policy");
        let secure = browser.eval("return window.isSecureContext && !!crypto.subtle", vec![]).await.expect("eval");
        assert_eq!(secure, serde_json::Value::Bool(true), "{path}: a loopback page is a secure context");
    }
    browser.close().await.expect("close");
}

//! Requests made by hand, without the SDK.

use accord_proto::auth::AuthResponse;
use accord_proto::{NodeId, SecretKey, SignedBytes, Timestamp, Verified};
use accord_testkit::TestNode;
use serde_json::{Value, json};

/// A client speaking the API by hand, to send what the SDK never would.
pub(crate) struct Raw {
    pub(crate) http: reqwest::Client,
    pub(crate) url: String,
}

impl Raw {
    pub(crate) fn new(node: &TestNode) -> Raw {
        Raw { http: reqwest::Client::new(), url: node.url() }
    }

    pub(crate) async fn post(&self, path: &str, token: Option<&str>, body: Vec<u8>) -> (u16, Value) {
        let mut req =
            self.http.post(format!("{}{path}", self.url)).header("content-type", "application/json").body(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// Logs in by signing the node's challenge; returns the token.
    pub(crate) async fn login(&self, key: &SecretKey) -> String {
        let (_, c) =
            self.post("/v1/auth/challenge", None, json!({"account": key.account_id()}).to_string().into_bytes()).await;
        let node: NodeId = c["node"].as_str().unwrap().parse().unwrap();
        let answer = Verified::sign(
            AuthResponse {
                account: key.account_id(),
                node,
                challenge: c["challenge"].as_str().unwrap().into(),
                ts: Timestamp::now(),
            },
            key,
        )
        .unwrap();
        let (status, v) = self.post("/v1/auth/login", None, json!({"response": answer}).to_string().into_bytes()).await;
        assert_eq!(status, 200, "{v}");
        v["token"].as_str().unwrap().to_string()
    }

    pub(crate) async fn send(&self, token: Option<&str>, event: &SignedBytes) -> (u16, String) {
        let (status, v) = self.post("/v1/events", token, json!({"event": event}).to_string().into_bytes()).await;
        (status, v["error"]["code"].as_str().unwrap_or("").to_string())
    }
}

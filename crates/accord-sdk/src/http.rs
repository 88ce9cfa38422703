//! HTTP plumbing: URL building, sending (over TLS for `https://` nodes,
//! retrying `rate_limited` refusals of requests that are safe to repeat),
//! and turning answers into typed bodies or [`SdkError::Api`]. The reqwest
//! types stay in this module.

use crate::error::{BuildError, Result, SdkError};
use crate::policy::RetryPolicy;
use accord_api::{ErrorBody, ErrorCode};
use reqwest::header::{AUTHORIZATION, RETRY_AFTER};
use reqwest::{Method, RequestBuilder, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::time::Duration;
use tokio_tungstenite::Connector;

/// The largest response body read. A history page of 500 events of the
/// largest size is about 20 MiB of JSON.
const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// The node's HTTP API at one base URL.
#[derive(Debug, Clone)]
pub(crate) struct Http {
    client: reqwest::Client,
    base: Url,
    /// The TLS configuration, shared with the live stream's connections.
    tls: Arc<rustls::ClientConfig>,
    retry: RetryPolicy,
}

/// How long an idle connection to the node is kept for the next request:
/// less than a node's shortest idle allowance.
const IDLE_CONNECTION: Duration = Duration::from_secs(5);

impl Http {
    pub(crate) fn new(
        base: Url,
        timeout: Duration,
        tls: Arc<rustls::ClientConfig>,
        retry: RetryPolicy,
    ) -> Result<Self, BuildError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            // A node closes a kept-alive connection that sends no request
            // within its `header_timeout_secs` (10 s by default): a client
            // that kept it longer could send a request just as it closes
            // ("connection closed before message completed").
            .pool_idle_timeout(IDLE_CONNECTION)
            .user_agent(concat!("accord-sdk/", env!("CARGO_PKG_VERSION")))
            .tls_backend_preconfigured(rustls::ClientConfig::clone(&tls))
            .build()
            .map_err(|e| BuildError::Http(error_chain(&e)))?;
        Ok(Self { client, base, tls, retry })
    }

    /// The base URL.
    pub(crate) fn base(&self) -> &Url {
        &self.base
    }

    /// `base/seg1/seg2/…`, each segment percent-encoded.
    pub(crate) fn url(&self, segments: &[&str]) -> Url {
        join(&self.base, segments)
    }

    /// The WebSocket URL of the live stream: `ws://…/v1/stream`, or
    /// `wss://…` for an `https://` node.
    pub(crate) fn stream_url(&self) -> Url {
        let mut url = self.base.clone();
        // The base is checked to be http:// or https:// at build time; ws
        // and wss are their counterparts and all four are "special" schemes,
        // so this cannot fail.
        let _ = url.set_scheme(if self.base.scheme() == "https" { "wss" } else { "ws" });
        join(&url, &["v1", "stream"])
    }

    /// The live stream's TLS connector (used for `wss://` only).
    pub(crate) fn ws_connector(&self) -> Connector {
        Connector::Rustls(self.tls.clone())
    }

    /// A request to `url`, with a JSON body if given and a bearer token if given.
    pub(crate) fn request<B: Serialize + ?Sized>(
        &self,
        method: Method,
        url: Url,
        token: Option<&str>,
        body: Option<&B>,
    ) -> RequestBuilder {
        let mut req = self.client.request(method, url);
        if let Some(token) = token {
            req = req.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        req
    }

    /// Sends a request and decodes a success body as `T`, or the error body
    /// as [`SdkError::Api`]. A `GET` refused with `rate_limited` is sent
    /// again as the [`RetryPolicy`] allows; other methods are sent once.
    pub(crate) async fn send<T: DeserializeOwned>(&self, req: RequestBuilder) -> Result<T> {
        let read_only = req.try_clone().and_then(|r| r.build().ok()).is_some_and(|r| *r.method() == Method::GET);
        self.send_as(req, read_only).await
    }

    /// Sends a request; if `repeatable` (the request is safe to repeat
    /// whatever its method), it is sent again after each `rate_limited`
    /// refusal, as the [`RetryPolicy`] allows.
    pub(crate) async fn send_as<T: DeserializeOwned>(&self, mut req: RequestBuilder, repeatable: bool) -> Result<T> {
        let mut retried = 0;
        loop {
            let spare = if repeatable { req.try_clone() } else { None };
            let result = self.send_once(req).await;
            let (Err(err), Some(next)) = (&result, spare) else { return result };
            let Some(wait) = self.retry.wait(err, retried) else { return result };
            tracing::debug!(?wait, retried, "rate limited by the node; sending again");
            tokio::time::sleep(wait).await;
            retried += 1;
            req = next;
        }
    }

    /// Sends a request once and returns a success body's bytes as they
    /// are (at most `limit`), or the error body as [`SdkError::Api`].
    pub(crate) async fn send_raw(&self, req: RequestBuilder, limit: usize) -> Result<Vec<u8>> {
        let mut resp = req.send().await.map_err(|e| transport(&e))?;
        let status = resp.status().as_u16();
        let retry_after = resp.headers().get(RETRY_AFTER).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| transport(&e))? {
            if body.len() + chunk.len() > limit {
                return Err(SdkError::Protocol(format!("response larger than {limit} bytes")));
            }
            body.extend_from_slice(&chunk);
        }
        if (200..300).contains(&status) && !is_pending(status, &body) {
            Ok(body)
        } else {
            Err(decode_error(status, retry_after.as_deref(), &body))
        }
    }

    /// Sends a request once.
    async fn send_once<T: DeserializeOwned>(&self, req: RequestBuilder) -> Result<T> {
        let mut resp = req.send().await.map_err(|e| transport(&e))?;
        let status = resp.status().as_u16();
        let retry_after = resp.headers().get(RETRY_AFTER).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| transport(&e))? {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(SdkError::Protocol(format!("response larger than {MAX_RESPONSE_BYTES} bytes")));
            }
            body.extend_from_slice(&chunk);
        }
        if (200..300).contains(&status) && !is_pending(status, &body) {
            decode_body(&body)
        } else {
            Err(decode_error(status, retry_after.as_deref(), &body))
        }
    }
}

/// Checks and normalises a node base URL: `http[s]://host[:port][/prefix]`.
pub(crate) fn parse_base_url(text: &str) -> Result<Url, BuildError> {
    let invalid = |reason: &str| BuildError::InvalidUrl { url: text.to_owned(), reason: reason.to_owned() };
    let url = Url::parse(text).map_err(|e| invalid(&e.to_string()))?;
    match url.scheme() {
        "http" | "https" => {}
        other => return Err(invalid(&format!("scheme `{other}` is neither http nor https"))),
    }
    if url.cannot_be_a_base() || url.host().is_none() {
        return Err(invalid("not a base URL with a host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("a node URL has no query or fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("a node URL has no user name or password"));
    }
    Ok(url)
}

fn join(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(segments);
    }
    url
}

/// Whether an answer is `202 Accepted` with an error body: a request the
/// node carries on without the client (`join_in_progress`, client API
/// §4.1), read as an [`SdkError::Api`] with that code.
fn is_pending(status: u16, body: &[u8]) -> bool {
    status == 202 && serde_json::from_slice::<ErrorBody>(body).is_ok()
}

/// Parses a success body.
pub(crate) fn decode_body<T: DeserializeOwned>(body: &[u8]) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| SdkError::Protocol(format!("response body does not parse: {e}")))
}

/// Turns a failed answer into [`SdkError::Api`]. A body in the client API's
/// error shape gives the code and message; anything else (a proxy's HTML
/// page, say) gives the code `unexpected_response` and the body's start.
/// `retry_after_ms` comes from the body, else from the `Retry-After` header;
/// `provenance` (for `blocked`) from the body.
pub(crate) fn decode_error(status: u16, retry_after_header: Option<&str>, body: &[u8]) -> SdkError {
    let header_ms = retry_after_header.and_then(|v| v.trim().parse::<u64>().ok()).map(|secs| secs.saturating_mul(1000));
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(ErrorBody { mut error }) => {
            error.retry_after_ms = error.retry_after_ms.or(header_ms);
            SdkError::api(Some(status), error)
        }
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            let mut message: String = text.trim().chars().take(200).collect();
            if message.is_empty() {
                message = format!("HTTP status {status} without an error body");
            }
            SdkError::Api {
                status,
                code: ErrorCode::from_code("unexpected_response"),
                message,
                retry_after_ms: header_ms,
                provenance: None,
            }
        }
    }
}

/// A transport error from a dependency's error and its sources
/// ([`SdkError::Tls`] if a TLS failure is among them).
pub(crate) fn transport(err: &(dyn std::error::Error + 'static)) -> SdkError {
    match crate::tls::tls_failure(err) {
        Some(message) => SdkError::Tls { message },
        None => SdkError::Transport { message: error_chain(err) },
    }
}

/// An error and its sources on one line (`a: b: c`), for messages.
pub(crate) fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(base: &str) -> Http {
        let tls = crate::tls::client_config(&[]).expect("tls");
        Http::new(parse_base_url(base).expect("url"), Duration::from_secs(5), tls, RetryPolicy::default())
            .expect("client")
    }

    #[test]
    fn urls_join_under_the_base() {
        let h = http("http://127.0.0.1:8080");
        assert_eq!(h.url(&["v1", "node"]).as_str(), "http://127.0.0.1:8080/v1/node");
        let h = http("http://127.0.0.1:8080/");
        assert_eq!(h.url(&["v1", "node"]).as_str(), "http://127.0.0.1:8080/v1/node");
        let h = http("http://example.org/accord/");
        assert_eq!(
            h.url(&["v1", "rooms", "room1abc", "events"]).as_str(),
            "http://example.org/accord/v1/rooms/room1abc/events"
        );
        let h = http("http://example.org/accord");
        assert_eq!(h.url(&["v1", "node"]).as_str(), "http://example.org/accord/v1/node");
    }

    #[test]
    fn segments_are_escaped() {
        let h = http("http://localhost:1");
        assert_eq!(h.url(&["v1", "identities", "a/b?c"]).as_str(), "http://localhost:1/v1/identities/a%2Fb%3Fc");
    }

    #[test]
    fn stream_url_is_websocket() {
        assert_eq!(http("http://127.0.0.1:8080").stream_url().as_str(), "ws://127.0.0.1:8080/v1/stream");
        assert_eq!(http("http://example.org/accord/").stream_url().as_str(), "ws://example.org/accord/v1/stream");
        assert_eq!(http("https://example.org:8443").stream_url().as_str(), "wss://example.org:8443/v1/stream");
        assert_eq!(http("https://example.org/accord/").stream_url().as_str(), "wss://example.org/accord/v1/stream");
    }

    #[test]
    fn bad_base_urls_are_refused() {
        for bad in [
            "not a url",
            "ftp://example.org",
            "ws://example.org",
            "http://example.org/?x=1",
            "mailto:a@b",
            "http://u:p@example.org",
        ] {
            assert!(matches!(parse_base_url(bad), Err(BuildError::InvalidUrl { .. })), "{bad}");
        }
    }

    #[test]
    fn a_202_with_an_error_body_is_a_request_the_node_carries_on_not_a_success() {
        let body =
            br#"{"error": {"code": "join_in_progress", "message": "still fetching", "join": {"state": "fetching"}}}"#;
        assert!(is_pending(202, body));
        assert!(!is_pending(200, body));
        assert!(!is_pending(202, br#"{"event_id": "ev1x"}"#));
        let err = decode_error(202, None, body);
        assert!(matches!(&err, SdkError::Api { status: 202, .. }), "{err:?}");
        assert_eq!(err.code(), "join_in_progress");
        assert!(!err.is_transient());
    }

    #[test]
    fn error_bodies_decode_to_api_errors() {
        let body = br#"{"error": {"code": "not_member", "message": "author is not a member of this room"}}"#;
        match decode_error(403, None, body) {
            SdkError::Api { status, code, message, retry_after_ms, provenance } => {
                assert_eq!(status, 403);
                assert_eq!(code, "not_member");
                assert_eq!(message, "author is not a member of this room");
                assert_eq!(retry_after_ms, None);
                assert_eq!(provenance, None);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn blocked_errors_carry_the_provenance() {
        let list = crate::timeline::tests::list();
        let body = format!(
            r#"{{"error": {{"code": "blocked", "message": "the room is blocked",
                "provenance": {{"list": "{list}", "entry": 3, "category": "spam", "action": "reject"}}}}}}"#
        );
        let err = decode_error(403, None, body.as_bytes());
        assert_eq!(err.code(), "blocked");
        let provenance = err.provenance().expect("provenance");
        assert_eq!(provenance.list, list);
        assert_eq!(provenance.entry, 3);
        assert_eq!(provenance.reason, None);
        // A provenance that does not parse is dropped; the code stays.
        let body = br#"{"error": {"code": "blocked", "message": "x", "provenance": {"list": 1}}}"#;
        let err = decode_error(403, None, body);
        assert_eq!(err.code(), "blocked");
        assert_eq!(err.provenance(), None);
    }

    #[test]
    fn rate_limits_carry_the_delay() {
        let body = br#"{"error": {"code": "rate_limited", "message": "slow down", "retry_after_ms": 1500}}"#;
        assert!(matches!(decode_error(429, Some("2"), body), SdkError::Api { retry_after_ms: Some(1500), .. }));
        // Without the body field, the header (seconds) is used.
        let body = br#"{"error": {"code": "rate_limited", "message": "slow down"}}"#;
        assert!(matches!(decode_error(429, Some("2"), body), SdkError::Api { retry_after_ms: Some(2000), .. }));
    }

    #[test]
    fn foreign_error_bodies_are_kept_readable() {
        match decode_error(502, None, b"<html>Bad Gateway</html>") {
            SdkError::Api { status: 502, code, message, .. } => {
                assert_eq!(code, "unexpected_response");
                assert!(message.contains("Bad Gateway"));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(decode_error(500, None, b""), SdkError::Api { status: 500, .. }));
    }

    #[test]
    fn success_bodies_that_do_not_parse_are_protocol_errors() {
        let r: Result<accord_api::rooms::RoomsResponse> = decode_body(b"{\"rooms\": 3}");
        assert!(matches!(r, Err(SdkError::Protocol(_))));
    }
}

//! The few W3C WebDriver commands the browser tests use, over reqwest.
//!
//! The WebDriver crates were tried and left: `fantoccini` brings a second
//! ICU and `syn` feature set into the build, which recompiles RocksDB;
//! `thirtyfour` turns on `serde_json/preserve_order` for the whole
//! workspace, so tests would see JSON objects in another key order than the
//! node does in production. The protocol itself is small: JSON over HTTP,
//! one session per browser.

use anyhow::Context as _;
use base64::Engine as _;
use serde_json::{Value, json};

/// The W3C name of an element reference in a JSON answer.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A WebDriver session.
#[derive(Clone)]
pub struct Session {
    http: reqwest::Client,
    base: String,
}

/// An element of the page, as the session knows it.
#[derive(Clone)]
pub struct Element {
    session: Session,
    id: String,
}

impl Session {
    /// Opens a session on the WebDriver server at `server` with
    /// `capabilities` (the `alwaysMatch` object).
    pub async fn new(server: &str, capabilities: Value) -> anyhow::Result<Session> {
        let http = reqwest::Client::new();
        let body = json!({ "capabilities": { "alwaysMatch": capabilities } });
        let answer = call(http.post(format!("{server}/session")).json(&body)).await?;
        let id = answer["sessionId"].as_str().context("a new session's id")?;
        Ok(Session { http, base: format!("{server}/session/{id}") })
    }

    async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        call(self.http.post(format!("{}{path}", self.base)).json(&body)).await
    }

    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        call(self.http.get(format!("{}{path}", self.base))).await
    }

    /// Navigates to `url` and waits for it to load.
    pub async fn goto(&self, url: &str) -> anyhow::Result<()> {
        self.post("/url", json!({ "url": url })).await.map(drop)
    }

    /// The first element matching the CSS `selector`.
    pub async fn find(&self, selector: &str) -> anyhow::Result<Element> {
        let found = self.post("/element", json!({ "using": "css selector", "value": selector })).await?;
        self.element(&found)
    }

    /// Every element matching the CSS `selector`.
    pub async fn find_all(&self, selector: &str) -> anyhow::Result<Vec<Element>> {
        let found = self.post("/elements", json!({ "using": "css selector", "value": selector })).await?;
        found.as_array().context("a list of elements")?.iter().map(|e| self.element(e)).collect()
    }

    fn element(&self, reference: &Value) -> anyhow::Result<Element> {
        let id = reference[ELEMENT].as_str().context("an element reference")?;
        Ok(Element { session: self.clone(), id: id.to_owned() })
    }

    /// Runs `script` (a function body; `arguments` are `args`) and answers
    /// what it returns.
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> anyhow::Result<Value> {
        self.post("/execute/sync", json!({ "script": script, "args": args })).await
    }

    /// Runs `script`, which calls its last argument with its answer.
    pub async fn execute_async(&self, script: &str, args: Vec<Value>) -> anyhow::Result<Value> {
        self.post("/execute/async", json!({ "script": script, "args": args })).await
    }

    /// A PNG of the viewport.
    pub async fn screenshot(&self) -> anyhow::Result<Vec<u8>> {
        let png = self.get("/screenshot").await?;
        Ok(base64::engine::general_purpose::STANDARD.decode(png.as_str().context("base64 PNG")?)?)
    }

    /// Resizes the window to `width` × `height` CSS pixels.
    pub async fn set_window_size(&self, width: u32, height: u32) -> anyhow::Result<()> {
        self.post("/window/rect", json!({ "x": 0, "y": 0, "width": width, "height": height })).await.map(drop)
    }

    /// Ends the session; the browser quits.
    pub async fn quit(&self) -> anyhow::Result<()> {
        call(self.http.delete(&self.base)).await.map(drop)
    }
}

impl Element {
    /// The element's rendered text.
    pub async fn text(&self) -> anyhow::Result<String> {
        let text = self.session.get(&format!("/element/{}/text", self.id)).await?;
        Ok(text.as_str().unwrap_or_default().to_owned())
    }

    /// Clicks it, as a pointer would.
    pub async fn click(&self) -> anyhow::Result<()> {
        self.session.post(&format!("/element/{}/click", self.id), json!({})).await.map(drop)
    }

    /// Empties an input or text area.
    pub async fn clear(&self) -> anyhow::Result<()> {
        self.session.post(&format!("/element/{}/clear", self.id), json!({})).await.map(drop)
    }

    /// Types `text` into it (WebDriver key codes, such as U+E007 for Enter,
    /// included); a file input takes a path.
    pub async fn send_keys(&self, text: &str) -> anyhow::Result<()> {
        self.session.post(&format!("/element/{}/value", self.id), json!({ "text": text })).await.map(drop)
    }
}

/// Sends a command and answers its `value`, or the WebDriver error.
async fn call(request: reqwest::RequestBuilder) -> anyhow::Result<Value> {
    let response = request.send().await?;
    let status = response.status();
    let mut body: Value = response.json().await.context("a WebDriver answer")?;
    let value = body.get_mut("value").map(Value::take).unwrap_or(Value::Null);
    if !status.is_success() {
        anyhow::bail!("WebDriver {status}: {} ({})", value["error"], value["message"]);
    }
    Ok(value)
}

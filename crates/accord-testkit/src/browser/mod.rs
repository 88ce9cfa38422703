//! Real browsers for tests: headless Chromium driven through chromedriver
//! (WebDriver, [`webdriver`]). Each [`Browser`] is its own chromedriver
//! process and its own Chromium profile, so two browsers in one test are two
//! members who share nothing — not cookies, not IndexedDB, not keys.
//!
//! The binaries are Debian's `chromium` and `chromium-driver`, which
//! `scripts/install-deps.sh` installs; `ACCORD_CHROMIUM` and
//! `ACCORD_CHROMEDRIVER` name others.

pub mod webdriver;

use crate::free_port;
use anyhow::Context as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
pub use webdriver::{Element, Session};

/// A headless Chromium session with a profile of its own.
pub struct Browser {
    session: Session,
    driver: Child,
    _profile: tempfile::TempDir,
}

/// The Chromium flags for a test machine: headless, no sandbox (tests run as
/// root), nothing that reaches the internet on its own.
const FLAGS: [&str; 11] = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--window-size=1280,900",
];

impl Browser {
    /// Starts chromedriver on a free loopback port and opens a Chromium
    /// session with a fresh profile.
    pub async fn start() -> anyhow::Result<Browser> {
        let chromium = std::env::var("ACCORD_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let chromedriver = std::env::var("ACCORD_CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
        anyhow::ensure!(
            std::path::Path::new(&chromium).exists(),
            "{chromium} not found: run scripts/install-deps.sh (installs Debian's chromium and chromium-driver)"
        );
        let port = free_port()?;
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {chromedriver}: run scripts/install-deps.sh"))?;
        let profile = tempfile::tempdir()?;
        let mut args: Vec<String> = FLAGS.iter().map(|f| f.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let capabilities = serde_json::json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": chromium, "args": args },
        });
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut driver = driver;
        let client = loop {
            match Session::new(&url, capabilities.clone()).await {
                Ok(client) => break client,
                Err(e) if Instant::now() < deadline => {
                    if let Some(status) = driver.try_wait()? {
                        anyhow::bail!("{chromedriver} exited ({status}) before a session opened: {e}");
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => {
                    let _ = driver.kill();
                    return Err(e).context("no Chromium session through chromedriver within 20 s");
                }
            }
        };
        Ok(Browser { session: client, driver, _profile: profile })
    }

    /// The WebDriver session, for everything this type does not wrap.
    pub fn client(&self) -> &Session {
        &self.session
    }

    /// The first element matching the CSS `selector`, now.
    pub async fn find(&self, selector: &str) -> anyhow::Result<Element> {
        self.session.find(selector).await.with_context(|| format!("no element `{selector}`"))
    }

    /// Runs `script`, which calls its last argument with its answer, and
    /// answers that.
    pub async fn eval_async(&self, script: &str, args: Vec<serde_json::Value>) -> anyhow::Result<serde_json::Value> {
        self.session.execute_async(script, args).await
    }

    /// Navigates to `url` and waits for the page to load.
    pub async fn open(&self, url: &str) -> anyhow::Result<()> {
        self.client().goto(url).await.with_context(|| format!("opening {url}"))
    }

    /// Waits until an element matching the CSS `selector` exists (at most
    /// `timeout`), and returns its text.
    pub async fn wait_for(&self, selector: &str, timeout: Duration) -> anyhow::Result<String> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.session.find(selector).await {
                Ok(element) => return element.text().await,
                Err(_) if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(100)).await,
                Err(e) => return Err(e).with_context(|| format!("no element `{selector}` within {timeout:?}")),
            }
        }
    }

    /// Waits until the text of some element matching `selector` contains
    /// `needle` (at most `timeout`); fails the test otherwise, naming what
    /// the page showed instead.
    pub async fn wait_for_text(&self, selector: &str, needle: &str, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let texts = self.texts(selector).await?;
            if texts.iter().any(|t| t.contains(needle)) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                anyhow::bail!("no `{selector}` containing {needle:?} within {timeout:?}; found {texts:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Polls the JavaScript expression `expr` in the page until it is
    /// truthy and answers its value; fails after `patience`, naming `what`
    /// and quoting what the page shows.
    pub async fn until(&self, what: &str, expr: &str, patience: Duration) -> anyhow::Result<serde_json::Value> {
        let script = format!("return ({expr}) || null;");
        let deadline = Instant::now() + patience;
        loop {
            let value = self.eval(&script, vec![]).await?;
            if !value.is_null() {
                return Ok(value);
            }
            if Instant::now() >= deadline {
                let page = self.eval("return document.body.innerText.slice(0, 3000);", vec![]).await?;
                anyhow::bail!("not within {patience:?}: {what} ({expr}); the page shows:\n{page}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The texts of every element matching the CSS `selector`.
    pub async fn texts(&self, selector: &str) -> anyhow::Result<Vec<String>> {
        let mut texts = Vec::new();
        for element in self.session.find_all(selector).await? {
            texts.push(element.text().await?);
        }
        Ok(texts)
    }

    /// Runs `script` in the page (its `arguments` are `args`) and returns
    /// what it returns.
    pub async fn eval(&self, script: &str, args: Vec<serde_json::Value>) -> anyhow::Result<serde_json::Value> {
        self.session.execute(script, args).await
    }

    /// Saves a PNG of the viewport as `screenshots/NAME.png` under the
    /// target directory, and returns its path.
    pub async fn screenshot(&self, name: &str) -> anyhow::Result<PathBuf> {
        let png = self.session.screenshot().await?;
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png)?;
        Ok(path)
    }

    /// Ends the session (Chromium quits) and stops chromedriver.
    pub async fn close(mut self) -> anyhow::Result<()> {
        self.session.quit().await?;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        Ok(())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // A test that failed before `close`: ask chromedriver to end
        // gracefully (it quits its Chromium), then make sure it is gone.
        if let Ok(None) = self.driver.try_wait() {
            let _ = Command::new("kill").arg("-TERM").arg(self.driver.id().to_string()).status();
            std::thread::sleep(Duration::from_millis(200));
            let _ = self.driver.kill();
            let _ = self.driver.wait();
        }
    }
}

/// `$CARGO_TARGET_DIR/screenshots`, or `target/screenshots` at the
/// workspace root.
pub fn screenshot_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir).join("screenshots"),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots"),
    }
}

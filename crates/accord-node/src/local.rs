//! How the operator's tools on the node's machine (the `accord-node`
//! commands, the test kit) reach the running node's admin endpoint: at the
//! address the node recorded in its data directory (`admin.addr`), over
//! TCP on loopback or the Unix socket, with the token of `admin.token`.
//! Never through the client API's address, which does not serve it.

use crate::config::{AdminListen, Config, ConfigError};
use crate::node::DataDir;
use std::time::Duration;

/// Why the admin endpoint cannot be reached from here.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The configuration could not be read.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// `admin.token` could not be read.
    #[error("reading {path} (has the node run once?): {source}")]
    Token {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// The HTTP client could not be built.
    #[error("the HTTP client: {0}")]
    Client(String),
}

/// A client of the running node's admin endpoint.
#[derive(Debug, Clone)]
pub struct AdminLink {
    http: reqwest::Client,
    base: String,
    token: String,
    endpoint: AdminListen,
}

impl AdminLink {
    /// The admin endpoint of the node whose data directory is `dir`; each
    /// request bounded by `timeout` if given.
    pub fn open(dir: &DataDir, timeout: Option<Duration>) -> Result<AdminLink, LinkError> {
        let config = Config::load(&dir.config())?;
        let path = dir.admin_token();
        let token = std::fs::read_to_string(&path)
            .map_err(|source| LinkError::Token { path: path.display().to_string(), source })?;
        Self::to(dir.admin_endpoint(&config), token.trim().to_owned(), timeout)
    }

    /// The admin endpoint at `endpoint`, opened with `token`.
    pub fn to(endpoint: AdminListen, token: String, timeout: Option<Duration>) -> Result<AdminLink, LinkError> {
        let mut builder = reqwest::Client::builder();
        if let Some(timeout) = timeout {
            builder = builder.timeout(timeout);
        }
        let base = match &endpoint {
            AdminListen::Tcp(addr) => format!("http://{addr}"),
            AdminListen::Unix(path) => {
                builder = builder.unix_socket(path.clone());
                "http://localhost".to_owned()
            }
        };
        let http = builder.build().map_err(|e| LinkError::Client(e.to_string()))?;
        Ok(AdminLink { http, base, token, endpoint })
    }

    /// Where the admin endpoint is.
    pub fn endpoint(&self) -> &AdminListen {
        &self.endpoint
    }

    /// The URL of `path` on the admin listener (`/admin/…`, `/dashboard`).
    /// Over a Unix socket the host is `localhost` and the socket carries
    /// the request.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request to `path` on the admin listener, bearing the token.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, self.url(path)).bearer_auth(&self.token)
    }

    /// A request to `url` (from [`AdminLink::url`]), bearing the token.
    pub fn request_url(&self, method: reqwest::Method, url: reqwest::Url) -> reqwest::RequestBuilder {
        self.http.request(method, url).bearer_auth(&self.token)
    }
}

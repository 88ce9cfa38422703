//! The web door: the member's chat client (at `/`, on the client API's
//! listener) and the operator's and moderators' dashboard (at
//! `/dashboard`, on the admin listener only), served from files embedded in
//! the node binary at build time (`crates/accord-node/web/`). Each listener
//! serves the files of its own page and the shared library (`common/`),
//! and no other.
//!
//! The pages are static: they talk to the node only through the client
//! API (`/v1/…`) and the operator's endpoint (`/admin/…`), like any other
//! client, and verify what those serve. This door holds no state and calls
//! nothing in the core. Every answer carries a Content-Security-Policy that
//! allows only the node's own scripts, styles and connections, so a
//! message's text can never run as code in a member's browser.

mod assets;

use axum::Router;
use axum::routing::get;

pub use assets::{Asset, CONTENT_SECURITY_POLICY};

/// The chat client's routes, for the client API's listener. Stateless, so
/// it fits any router's state.
pub fn chat<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/", get(assets::chat)).route("/web/{*path}", get(assets::chat_file))
}

/// The dashboard's routes, for the admin listener. Stateless.
pub fn dashboard<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/dashboard", get(assets::dashboard)).route("/web/{*path}", get(assets::dashboard_file))
}

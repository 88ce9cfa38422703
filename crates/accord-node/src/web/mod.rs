//! The web door: the member's chat client (at `/`) and the operator's and
//! moderators' dashboard (at `/dashboard`), served from files embedded in
//! the node binary at build time (`crates/accord-node/web/`).
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

/// The web door's routes. Stateless, so it fits any router's state.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(assets::chat))
        .route("/dashboard", get(assets::dashboard))
        .route("/web/{*path}", get(assets::file))
}

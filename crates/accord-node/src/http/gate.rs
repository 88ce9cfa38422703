//! A listener that serves one set of routes while the node starts and
//! another once it has started: it binds before the rooms are loaded, so
//! that `/healthz` and `/readyz` answer meanwhile (spec/client-api.md §11).

use axum::Router;
use axum::extract::Request;
use std::sync::{Arc, OnceLock};
use tower::ServiceExt as _;

/// Switches a listener's routes, once, from the starting ones to the
/// started node's; cheap to clone.
#[derive(Clone, Default)]
pub struct Gate {
    started: Arc<OnceLock<Router>>,
}

impl Gate {
    /// The routes to serve: `starting` until [`Gate::open`], then the
    /// routes it was given.
    pub fn router(&self, starting: Router) -> Router {
        let started = self.started.clone();
        Router::new().fallback(move |request: Request| {
            let routes = started.get().cloned().unwrap_or_else(|| starting.clone());
            async move { routes.oneshot(request).await }
        })
    }

    /// Serves `routes` from now on (a second call changes nothing).
    pub fn open(&self, routes: Router) {
        if self.started.set(routes).is_err() {
            tracing::error!("a listener's routes were opened twice; keeping the first");
        }
    }
}

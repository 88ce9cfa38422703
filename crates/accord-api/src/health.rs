//! Health endpoints for load balancers and orchestrators
//! (spec/client-api.md §11): `GET /healthz` (the process answers) and
//! `GET /readyz` (the node can do its work).

use serde::{Deserialize, Serialize};

/// `GET /healthz`: always `{"status":"alive"}` with status 200 while the
/// node's API answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthResponse {
    /// `alive`.
    pub status: String,
}

/// `GET /readyz`: status 200 when every check passes, 503 otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadyResponse {
    /// Whether every check passed.
    pub ready: bool,
    /// The checks, in a fixed order: `store`, `rooms`, `peers`.
    pub checks: Vec<ReadyCheck>,
}

/// One readiness check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadyCheck {
    /// What was checked: `store`, `rooms` or `peers`.
    pub name: String,
    /// Whether it passed.
    pub ok: bool,
    /// What was found, in words.
    pub detail: String,
}

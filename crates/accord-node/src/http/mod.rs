//! What the HTTP doors (the client API and the admin endpoint) share, and
//! neither owns: the error answer with its stable code, extractors whose
//! rejections are such answers, typed replies, path parameters, the
//! server loop (plain or TLS) and the gate that switches a listener from
//! its starting routes to the started node's. Not a door itself, and not part of the core.

pub mod deadline;
mod error;
pub mod extract;
pub mod forwarded;
pub mod gate;
pub mod reply;
pub mod serve;
pub mod sorted;

pub use error::ApiError;

use accord_proto::Sha256Hash;

/// A case id from a path (64 hex digits): `400 bad_request` otherwise.
pub fn case_id(text: &str) -> Result<Sha256Hash, ApiError> {
    text.parse().map_err(|_| ApiError::bad_request("a case id is 64 hex digits"))
}

//! Registration (spec/client-api.md §3).

use accord_proto::identity::Attestation;
use accord_proto::{SignedBytes, Unverified};
use serde::{Deserialize, Serialize};

crate::endpoint! {
    /// `POST /v1/register` (spec/client-api.md §3).
    Register = Post "/v1/register", Public, RegisterRequest => RegisterResponse
}

/// `POST /v1/register` body (spec/client-api.md §3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// The `IdentityDocument`, signed by the account.
    pub identity: SignedBytes,
    /// The operator's one-use invite code, for a node whose policy is `invite`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invite: Option<String>,
}

/// `POST /v1/register` answer (spec/client-api.md §3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterResponse {
    /// The node's `Attestation` of the identity document.
    pub attestation: Unverified<Attestation>,
}

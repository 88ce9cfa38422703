//! Login by signed challenge (spec/client-api.md §2).

use accord_proto::{AccountId, NodeId, SignedBytes, Timestamp};
use serde::{Deserialize, Serialize};

crate::endpoint! {
    /// `POST /v1/auth/challenge` (spec/client-api.md §2).
    Challenge = Post "/v1/auth/challenge", Public, ChallengeRequest => ChallengeResponse
}

crate::endpoint! {
    /// `POST /v1/auth/login` (spec/client-api.md §2).
    Login = Post "/v1/auth/login", Public, LoginRequest => LoginResponse
}

/// `POST /v1/auth/challenge` body (spec/client-api.md §2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChallengeRequest {
    /// The account that logs in; it must be registered on the node.
    pub account: AccountId,
}

/// `POST /v1/auth/challenge` answer (spec/client-api.md §2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChallengeResponse {
    /// 32 random bytes in base64, usable once.
    pub challenge: String,
    /// The node the answer must name.
    pub node: NodeId,
    /// When the challenge expires (60 seconds after it was issued).
    pub expires: Timestamp,
}

/// `POST /v1/auth/login` body (spec/client-api.md §2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// An `AuthResponse` signed by the account in domain `accord/v1/auth`.
    pub response: SignedBytes,
}

/// `POST /v1/auth/login` answer (spec/client-api.md §2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginResponse {
    /// The session's bearer token.
    pub token: String,
    /// The account logged in.
    pub account: AccountId,
    /// When the session expires (24 hours after login).
    pub expires: Timestamp,
}

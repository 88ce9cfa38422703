//! Client login: the answer a client signs to a node's challenge
//! (spec/client-api.md §2).

use crate::envelope::{Domain, Payload};
use crate::ids::{AccountId, NodeId};
use crate::keys::PublicKey;
use crate::limits::MAX_AUTH_BODY;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// A client's signed answer to a login challenge (domain `accord/v1/auth`,
/// signed by the account). Naming the node stops a challenge answered for
/// one node from being replayed to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthResponse {
    /// The account logging in.
    pub account: AccountId,
    /// The node being logged in to.
    pub node: NodeId,
    /// The challenge the node issued, as it issued it (base64 text).
    pub challenge: String,
    /// When the client signed.
    pub ts: Timestamp,
}

impl Payload for AuthResponse {
    const DOMAIN: Domain = Domain::AuthChallenge;
    const MAX_BODY: usize = MAX_AUTH_BODY;
    fn expected_signer(&self) -> PublicKey {
        *self.account.public_key()
    }
    fn validate(&self) -> Result<(), String> {
        if self.challenge.is_empty() || self.challenge.len() > 128 {
            return Err("challenge must be 1 to 128 characters".into());
        }
        Ok(())
    }
}

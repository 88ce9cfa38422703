//! Appeals: an accused account's signed answer to a moderator's decision
//! (spec/reports.md §15).
//!
//! The account a decision was against signs an appeal naming the node that
//! decided, the case and the decision (the SHA-256 of the decision's
//! signed action body, as held in that node's audit log), with its reason.
//! The appeal travels from the account's home node to the deciding node,
//! which records it in its audit log and has it resolved (upheld or
//! overturned) by a moderator other than the one who decided.

use crate::envelope::{Domain, Payload};
use crate::hash::Sha256Hash;
use crate::ids::{AccountId, NodeId};
use crate::keys::PublicKey;
use crate::limits::{MAX_APPEAL_BODY, MAX_APPEAL_REASON};
use crate::text::BoundedText;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// The text of an appeal: what the accused says.
pub type AppealReason = BoundedText<MAX_APPEAL_REASON>;

/// An appeal (domain `accord/v1/appeal`, signed by the accused account).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppealBody {
    /// The accused account that appeals; the signer.
    pub account: AccountId,
    /// The node whose moderator decided (whose audit log holds the decision).
    pub node: NodeId,
    /// The case decided.
    pub case: Sha256Hash,
    /// The decision: SHA-256 of the decision's `ModAction` body bytes.
    pub decision: Sha256Hash,
    /// Why the decision is wrong.
    pub reason: AppealReason,
    /// When the appeal was made.
    pub ts: Timestamp,
}

impl Payload for AppealBody {
    const DOMAIN: Domain = Domain::Appeal;
    const MAX_BODY: usize = MAX_APPEAL_BODY;
    fn expected_signer(&self) -> PublicKey {
        *self.account.public_key()
    }
    fn validate(&self) -> Result<(), String> {
        if self.reason.as_str().trim().is_empty() {
            return Err("an appeal needs a reason".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SecretKey, Unverified, Verified};

    fn appeal(reason: &str) -> AppealBody {
        AppealBody {
            account: SecretKey::from_seed([3; 32]).account_id(),
            node: NodeId::from(SecretKey::from_seed([5; 32]).public()),
            case: Sha256Hash::digest(b"case"),
            decision: Sha256Hash::digest(b"decision"),
            reason: reason.to_string().try_into().unwrap(),
            ts: Timestamp::from_millis(1_764_000_000_000),
        }
    }

    #[test]
    fn an_appeal_verifies_only_as_signed_by_its_account() {
        let carol = SecretKey::from_seed([3; 32]);
        let signed = Verified::sign(appeal("I was quoting the spammer"), &carol).unwrap();
        let back = Unverified::<AppealBody>::from_raw(signed.raw().clone()).verify().unwrap();
        assert_eq!(back.reason.as_str(), "I was quoting the spammer");
        let other = SecretKey::from_seed([4; 32]);
        assert!(Verified::sign(appeal("not mine"), &other).is_err());
    }

    #[test]
    fn an_appeal_needs_a_reason() {
        let carol = SecretKey::from_seed([3; 32]);
        assert!(Verified::sign(appeal("  "), &carol).is_err());
    }
}

//! Deleted accounts (spec/identities.md §5): each account's signed
//! deletion, written with the removal of its identity and sessions.

use crate::{Batch, Cf, Store, StoreError};
use accord_proto::{AccountId, Sha256Hash, SignedBytes};

impl Store {
    /// Records the deletion of `account` and forgets, in the same write,
    /// its identity document, attestation and the sessions whose token
    /// hashes are `sessions`.
    pub async fn delete_account(
        &self,
        account: &AccountId,
        deletion: &SignedBytes,
        sessions: &[Sha256Hash],
    ) -> Result<(), StoreError> {
        let mut b = Batch::new();
        let key = account.as_bytes().to_vec();
        b.put(Cf::DeletedAccounts, key.clone(), serde_json::to_vec(deletion).unwrap_or_default());
        b.delete(Cf::Identities, key.clone());
        b.delete(Cf::Attestations, key);
        for s in sessions {
            b.delete(Cf::Sessions, s.0.to_vec());
        }
        self.write(b).await
    }

    /// The recorded deletion of `account`, if it deleted itself.
    pub fn account_deletion(&self, account: &AccountId) -> Result<Option<SignedBytes>, StoreError> {
        self.get(Cf::DeletedAccounts, account.as_bytes())?
            .map(|v| {
                serde_json::from_slice(&v)
                    .map_err(|e| StoreError::Corrupt { cf: Cf::DeletedAccounts.name(), detail: e.to_string() })
            })
            .transpose()
    }

    /// Every recorded deletion.
    pub fn account_deletions(&self) -> Result<Vec<SignedBytes>, StoreError> {
        self.scan(Cf::DeletedAccounts, b"", b"", true, usize::MAX)?
            .iter()
            .map(|(_, v)| {
                serde_json::from_slice(v)
                    .map_err(|e| StoreError::Corrupt { cf: Cf::DeletedAccounts.name(), detail: e.to_string() })
            })
            .collect()
    }
}

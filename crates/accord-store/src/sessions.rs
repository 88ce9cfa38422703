//! Client sessions, kept across restarts: the SHA-256 of each session
//! token (never the token itself), its account and when it ends.

use crate::{Batch, Cf, Store, StoreError};
use accord_proto::{AccountId, Sha256Hash, Timestamp};
use serde::{Deserialize, Serialize};

/// A session as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Session {
    account: AccountId,
    expires: Timestamp,
}

impl Store {
    /// Keeps the session whose token hashes to `token`, and forgets the
    /// sessions whose tokens hash to `ended`, in one write.
    pub async fn put_session(
        &self,
        token: &Sha256Hash,
        account: &AccountId,
        expires: Timestamp,
        ended: &[Sha256Hash],
    ) -> Result<(), StoreError> {
        let mut b = Batch::new();
        for old in ended {
            b.delete(Cf::Sessions, old.0.to_vec());
        }
        let value = serde_json::to_vec(&Session { account: *account, expires }).unwrap_or_default();
        b.put(Cf::Sessions, token.0.to_vec(), value);
        self.write(b).await
    }

    /// Every session kept: the token's hash, the account, when it ends.
    pub fn sessions(&self) -> Result<Vec<(Sha256Hash, AccountId, Timestamp)>, StoreError> {
        self.scan(Cf::Sessions, b"", b"", true, usize::MAX)?
            .iter()
            .map(|(k, v)| {
                let corrupt = |detail: String| StoreError::Corrupt { cf: Cf::Sessions.name(), detail };
                let hash: [u8; 32] = k.as_slice().try_into().map_err(|_| corrupt("key is not 32 bytes".into()))?;
                let session: Session = serde_json::from_slice(v).map_err(|e| corrupt(e.to_string()))?;
                Ok((Sha256Hash(hash), session.account, session.expires))
            })
            .collect()
    }
}

//! Accounts that delete themselves (spec/identities.md §5,
//! spec/federation.md §1.3): the member's signed deletion is applied
//! here, published on gossip, and applied alike by every node that
//! receives it. From then on no node serves the account's identity,
//! registers its key or logs it in, and every node shows the messages it
//! wrote as redacted. What must be kept (the signed events in room
//! histories, reports and their evidence, the audit log) is kept, and the
//! answer says so.

use crate::core::Core;
use accord_api::account::{DeleteAccountResponse, Kept};
use accord_proto::event::EventContent;
use accord_proto::federation::DELETIONS_TOPIC;
use accord_proto::identity::AccountDeletion;
use accord_proto::{AccountId, EnvelopeError, EventId, RoomId, SignedBytes, Timestamp, Unverified, Verified};
use accord_store::StoreError;
use std::sync::Arc;
use std::time::Duration;

/// Why a deletion was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeleteError {
    /// The deletion does not verify.
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    /// The deletion is signed by another account than the session's.
    #[error("the deletion is signed by another account than the session's")]
    NotSessionAccount,
    /// The deletion names another home node, or is dated too far from now.
    #[error("{0}")]
    Invalid(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl DeleteError {
    /// The stable error code (spec/client-api.md §1.1).
    pub fn code(&self) -> &'static str {
        match self {
            DeleteError::Envelope(e) => e.code(),
            DeleteError::NotSessionAccount => "not_session_account",
            DeleteError::Invalid(_) => "invalid",
            DeleteError::Store(e) if e.is_no_space() => "storage_full",
            DeleteError::Store(_) => "internal",
        }
    }
}

/// How far a deletion's `ts` may be from the home node's clock (the
/// bound on events' timestamps, spec/client-api.md §1.1 `bad_timestamp`).
const MAX_SKEW_MS: u64 = 5 * 60 * 1000;

/// How long a home node keeps publishing a deletion again, for peers
/// that missed it (gossip is best effort).
const REPUBLISH_FOR: Duration = Duration::from_secs(30 * 24 * 3600);
/// How often it does.
const REPUBLISH_EVERY: Duration = Duration::from_secs(600);

/// Deletes `session`'s account, homed here, at its own signed request.
pub async fn delete(
    core: &Arc<Core>,
    session: AccountId,
    raw: SignedBytes,
) -> Result<DeleteAccountResponse, DeleteError> {
    let deletion = Unverified::<AccountDeletion>::from_raw(raw).verify()?;
    if deletion.account != session {
        return Err(DeleteError::NotSessionAccount);
    }
    if deletion.home != core.node_id {
        return Err(DeleteError::Invalid("the deletion names another home node".into()));
    }
    if deletion.ts.as_millis().abs_diff(Timestamp::now().as_millis()) > MAX_SKEW_MS {
        return Err(DeleteError::Invalid("the deletion's ts is more than 5 minutes from the node's clock".into()));
    }
    apply(core, &deletion).await?;
    publish(core, deletion.raw().clone()).await;
    tracing::info!(account = %deletion.account, "account deleted at its request");
    let authored = core.store.authored(&session)?;
    Ok(DeleteAccountResponse {
        account: deletion.account,
        redacted: messages_among(core, &authored)?,
        kept: kept(core, &session, authored.len() as u64).await,
    })
}

/// Applies a verified deletion received on gossip; returns whether it is
/// valid (to forward it).
pub(crate) fn on_gossip(core: &Arc<Core>, data: &[u8]) -> bool {
    let Ok(raw) = serde_json::from_slice::<SignedBytes>(data) else { return false };
    let Ok(deletion) = Unverified::<AccountDeletion>::from_raw(raw).verify() else { return false };
    if !core.accounts.is_deleted(&deletion.account) {
        let core = core.clone();
        core.tasks.clone().spawn_to_completion(async move {
            match apply(&core, &deletion).await {
                Ok(()) => {
                    tracing::info!(account = %deletion.account, home = %deletion.home, "a peer's account deleted")
                }
                Err(e) => tracing::error!("applying the deletion of {}: {e}", deletion.account),
            }
        });
    }
    true
}

/// Stores the deletion and forgets the account's identity and sessions,
/// in one write.
async fn apply(core: &Core, deletion: &Verified<AccountDeletion>) -> Result<(), StoreError> {
    let sessions: Vec<_> = core
        .store
        .sessions()?
        .into_iter()
        .filter(|(_, account, _)| *account == deletion.account)
        .map(|(hash, _, _)| hash)
        .collect();
    core.store.delete_account(&deletion.account, deletion.raw(), &sessions).await?;
    core.accounts.forget(&deletion.account);
    Ok(())
}

async fn publish(core: &Core, raw: SignedBytes) {
    if let Ok(bytes) = serde_json::to_vec(&raw)
        && let Err(e) = core.network.publish(DELETIONS_TOPIC, bytes).await
    {
        tracing::debug!("publishing a deletion: {e}");
    }
}

/// Publishes again, every ten minutes, the deletions of this node's
/// accounts made in the last 30 days, so that a peer that was away when
/// one was first published still learns it.
pub(crate) fn republish(core: &Arc<Core>) {
    let core = core.clone();
    core.tasks.clone().spawn(async move {
        let mut tick = tokio::time::interval(REPUBLISH_EVERY);
        loop {
            tick.tick().await;
            let Ok(deletions) = core.store.account_deletions() else { continue };
            let now = Timestamp::now().as_millis();
            for raw in deletions {
                let Ok(d) = Unverified::<AccountDeletion>::from_raw(raw).verify() else { continue };
                if d.home == core.node_id && now.saturating_sub(d.ts.as_millis()) < REPUBLISH_FOR.as_millis() as u64 {
                    publish(&core, d.raw().clone()).await;
                }
            }
        }
    });
}

/// How many of the account's events `authored` are messages (all shown
/// redacted).
fn messages_among(core: &Core, authored: &[(RoomId, u64, EventId)]) -> Result<u64, StoreError> {
    let mut n = 0;
    for (_, _, id) in authored {
        if let Some(event) = core.store.event(id)?
            && let Ok(body) = serde_json::from_slice::<accord_proto::event::EventBody>(&event.author.raw().body)
            && matches!(body.content, EventContent::Message { .. })
        {
            n += 1;
        }
    }
    Ok(n)
}

/// What the node keeps about a deleted account, and why.
async fn kept(core: &Core, account: &AccountId, events: u64) -> Vec<Kept> {
    let (reports, evidence, audit) = core.reports.kept_about(account).await;
    let row = |what: &str, count: u64, why: &str| Kept { what: what.into(), count, why: why.into() };
    vec![
        row(
            "events",
            events,
            "signed events stay in the rooms' histories, whose hashes every member node checks; every node shows \
             the account's messages as redacted",
        ),
        row("reports", reports, "reports the account filed stay with their cases: moderators decide on them"),
        row(
            "evidence",
            evidence,
            "signed evidence naming the account in open cases is kept until each case is resolved",
        ),
        row("audit", audit, "moderators' signed actions about the account stay in the append-only audit log"),
    ]
}

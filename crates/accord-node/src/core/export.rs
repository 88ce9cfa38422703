//! A member's export of everything this node holds about its account
//! (spec/client-api.md §3.1): identity, rooms, the events it wrote,
//! the reports it filed and the decisions about it, each signed object
//! with its signature so that anyone can check the export.

use crate::core::{Core, reports};
use accord_api::account::{AccountExport, ExportedReport, ExportedRoom};
use accord_proto::{AccountId, Timestamp};
use accord_store::StoreError;

/// Why an export could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// The account is not registered here.
    #[error("the account is not registered on this node")]
    NotRegistered,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ExportError {
    /// The stable error code (spec/client-api.md §1.1).
    pub fn code(&self) -> &'static str {
        match self {
            ExportError::NotRegistered => "not_registered",
            ExportError::Store(_) => "internal",
        }
    }
}

/// Everything this node holds about `account`, an account of this node.
pub async fn export(core: &Core, account: &AccountId) -> Result<AccountExport, ExportError> {
    let (identity, attestation) = core.store.identity(account)?.ok_or(ExportError::NotRegistered)?;
    let names: std::collections::HashMap<_, _> = core.store.rooms()?.into_iter().map(|r| (r.room, r.name)).collect();
    let rooms = core
        .store
        .rooms_of(account)?
        .into_iter()
        .map(|(room, role)| ExportedRoom { room, name: names.get(&room).cloned().unwrap_or_default(), role })
        .collect();
    let mut events = Vec::new();
    for (_, _, id) in core.store.authored(account)? {
        // A purged event's bytes are gone: there is nothing to export.
        if let Some(event) = core.store.event(&id)? {
            events.push(event);
        }
    }
    let (filed, decisions) = reports::about(core, account).await;
    let reports = filed.into_iter().map(|(report, status)| ExportedReport { report, status }).collect();
    Ok(AccountExport {
        node: core.node_id,
        exported: Timestamp::now(),
        identity,
        attestation,
        rooms,
        events,
        reports,
        decisions,
    })
}

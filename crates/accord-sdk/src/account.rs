//! A member's own data (client API §3.1): the export of everything the
//! node holds about the account, every signature checked here, and the
//! account's deletion.

use crate::client::Client;
use crate::error::{Result, SdkError, VerificationError};
use crate::identity::VerifiedIdentity;
use accord_api::account::{AccountExport, DeleteAccountRequest, DeleteAccountResponse, DeletionResponse};
use accord_proto::audit::ModAction;
use accord_proto::event::Event;
use accord_proto::identity::{AccountDeletion, Attestation, IdentityDocument};
use accord_proto::report::{Report, ReportBody};
use accord_proto::{AccountId, NodeId, Timestamp, Unverified, Verified};
use reqwest::Method;

/// An account export whose every signed object was verified: the
/// identity pair belongs together and names this account, every event
/// verifies (author and origin signatures) and was written by the
/// account, every report was signed by it, every decision is a valid
/// moderator action.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct VerifiedExport {
    /// The export as the node sent it (to keep, e.g. as a file).
    pub export: AccountExport,
    /// The account's identity, verified.
    pub identity: VerifiedIdentity,
    /// The events the account wrote, verified.
    pub events: Vec<Event>,
    /// The reports it filed, verified.
    pub reports: Vec<Report>,
    /// The decisions about it, verified.
    pub decisions: Vec<Verified<ModAction>>,
}

impl Client {
    /// Everything the node holds about this account
    /// (`GET /v1/account/export`), every signature checked.
    pub async fn export_account(&self) -> Result<VerifiedExport> {
        let url = self.inner.http.url(&["v1", "account", "export"]);
        let export: AccountExport = self.authed::<(), _>(Method::GET, url, None).await?;
        self.verify_export(export)
    }

    /// Checks every signed object of an export of this account.
    pub fn verify_export(&self, export: AccountExport) -> Result<VerifiedExport> {
        let me = self.account();
        let bad = |reason: VerificationError| SdkError::verification(None, None, reason);
        let document = Unverified::<IdentityDocument>::from_raw(export.identity.clone())
            .verify()
            .map_err(|e| bad(VerificationError::IdentityDocument(e)))?;
        let attestation = Unverified::<Attestation>::from_raw(export.attestation.clone())
            .verify()
            .map_err(|e| bad(VerificationError::Attestation(e)))?;
        if document.account != me {
            return Err(bad(VerificationError::Inconsistent("the export's identity is another account's".into())));
        }
        let identity = VerifiedIdentity::from_verified(document, attestation).map_err(bad)?;
        let mut events = Vec::with_capacity(export.events.len());
        for raw in &export.events {
            let event = raw.verify().map_err(|e| bad(VerificationError::Event(e)))?;
            if event.author() != me {
                return Err(bad(VerificationError::Inconsistent(format!("event {} is another account's", event.id()))));
            }
            events.push(event);
        }
        let mut reports = Vec::with_capacity(export.reports.len());
        for r in &export.reports {
            let report = Report::verify(&Unverified::<ReportBody>::from_raw(r.report.clone()))
                .map_err(|e| bad(VerificationError::Report(e)))?;
            if report.body().reporter != me || report.id() != r.status.id {
                return Err(bad(VerificationError::Inconsistent(
                    "a report is not the account's, or not its status's".into(),
                )));
            }
            reports.push(report);
        }
        let decisions = export
            .decisions
            .iter()
            .map(|d| {
                Unverified::<ModAction>::from_raw(d.clone()).verify().map_err(|e| bad(VerificationError::ModAction(e)))
            })
            .collect::<Result<_>>()?;
        Ok(VerifiedExport { export, identity, events, reports, decisions })
    }

    /// The home node of a deleted account, from its signed deletion
    /// (`GET /v1/deletions/{account}`), checked and cached.
    pub(crate) async fn deleted_home(&self, account: &AccountId) -> Result<NodeId> {
        let http = &self.inner.http;
        let url = http.url(&["v1", "deletions", &account.to_string()]);
        let resp: DeletionResponse = http.send(http.request::<()>(Method::GET, url, None, None)).await?;
        let bad = |reason: String| {
            SdkError::verification(None, None, VerificationError::IdentityMismatch { account: *account, reason })
        };
        let deletion =
            Unverified::<AccountDeletion>::from_raw(resp.deletion).verify().map_err(|e| bad(e.to_string()))?;
        if deletion.account != *account {
            return Err(bad("the deletion is another account's".into()));
        }
        self.inner.deleted.lock().unwrap_or_else(|p| p.into_inner()).insert(*account, deletion.home);
        Ok(deletion.home)
    }

    /// Deletes this account (`POST /v1/account/delete`): signs the
    /// deletion (spec/identities.md §5) with the node as home. From then
    /// on no node serves the account's identity, registers its key or
    /// logs it in, and its messages are shown as redacted everywhere; the
    /// answer says what the node keeps, and why. Take an export first.
    pub async fn delete_account(&self) -> Result<DeleteAccountResponse> {
        let info = self.node_info().await?;
        let deletion = AccountDeletion { account: self.account(), home: info.node, ts: Timestamp::now() };
        let deletion = Verified::sign(deletion, self.key()).map_err(|e| SdkError::InvalidInput(e.to_string()))?;
        let url = self.inner.http.url(&["v1", "account", "delete"]);
        let body = DeleteAccountRequest { deletion: deletion.raw().clone() };
        self.authed(Method::POST, url, Some(&body)).await
    }
}

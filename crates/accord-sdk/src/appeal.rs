//! Appeals and the moderation team's work (spec/reports.md §9.1, §15): an
//! accused account appeals a decision against it through its home node;
//! moderators write internal notes, take or assign cases, mute reporters
//! and resolve appeals with signed actions.

// `VerificationError` holds typed account and node ids and is returned
// only on failures; see `verify.rs`.
#![allow(clippy::result_large_err)]

use crate::client::Client;
use crate::error::{Result, SdkError};
use crate::moderation::ActionReceipt;
use accord_api::admin::{ModeratorEntry, ModeratorRequest, ModeratorRole, ModeratorsResponse};
use accord_api::moderation::{ActionReceipt as ModActionResponse, ActionRequest, CaseNote};
use accord_api::teams::{AppealFilter, AppealRequest, AppealStatus, AppealsResponse, NoteRequest, NotesResponse};
use accord_proto::appeal::AppealBody;
use accord_proto::audit::{ModAction, Moderator, Verdict};
use accord_proto::blocklist::Category;
use accord_proto::event::Reason;
use accord_proto::{AccountId, NodeId, Sha256Hash, Timestamp};
use reqwest::Method;

impl Client {
    /// Appeals a decision against this account (`POST /v1/appeals`): the
    /// node that decided, the case, the decision (SHA-256 of its signed
    /// action's body, as the node's audit log holds it) and why. Signed
    /// here with the account's key, which authenticates it: no session is
    /// used, so that an account blocked at its home node can appeal. The
    /// home node forwards it to the deciding node when that is another
    /// node. Refusals carry the codes `unknown_case`, `unknown_decision`,
    /// `not_accused`, `appeal_resolved`.
    pub async fn appeal(
        &self,
        node: NodeId,
        case: Sha256Hash,
        decision: Sha256Hash,
        reason: &str,
    ) -> Result<AppealStatus> {
        let reason = reason.to_string().try_into().map_err(|e| SdkError::InvalidInput(format!("reason: {e}")))?;
        let body = AppealBody { account: self.account(), node, case, decision, reason, ts: Timestamp::now() };
        let signed = self.sign(body)?;
        let http = &self.inner.http;
        let body = AppealRequest { appeal: signed.raw().clone() };
        http.send(http.request(Method::POST, http.url(&["v1", "appeals"]), None, Some(&body))).await
    }

    /// This account's appeals and where they stand (`GET /v1/appeals`).
    pub async fn my_appeals(&self) -> Result<Vec<AppealStatus>> {
        let url = self.inner.http.url(&["v1", "appeals"]);
        let resp: AppealsResponse = self.authed::<(), _>(Method::GET, url, None).await?;
        Ok(resp.appeals)
    }

    /// Appeals of the node's decisions, for its moderators (`GET /v1/mod/appeals`).
    pub async fn mod_appeals(&self, filter: AppealFilter) -> Result<Vec<AppealStatus>> {
        let mut url = self.inner.http.url(&["v1", "mod", "appeals"]);
        url.query_pairs_mut().append_pair("state", filter.as_str());
        let resp: AppealsResponse = self.authed::<(), _>(Method::GET, url, None).await?;
        Ok(resp.appeals)
    }

    /// The node's moderators with their roles and categories (`GET /v1/mod/moderators`).
    pub async fn mod_moderators(&self) -> Result<Vec<ModeratorEntry>> {
        let url = self.inner.http.url(&["v1", "mod", "moderators"]);
        let resp: ModeratorsResponse = self.authed::<(), _>(Method::GET, url, None).await?;
        Ok(resp.moderators)
    }

    /// As an `admin` moderator, adds a moderator or sets its role and
    /// categories (empty: every category) (`POST /v1/mod/moderators`);
    /// other moderators are refused with `forbidden`.
    pub async fn mod_add_moderator(
        &self,
        account: AccountId,
        role: ModeratorRole,
        categories: Vec<Category>,
    ) -> Result<Vec<ModeratorEntry>> {
        let url = self.inner.http.url(&["v1", "mod", "moderators"]);
        let body = ModeratorRequest { account, role: Some(role), categories };
        let resp: ModeratorsResponse = self.authed(Method::POST, url, Some(&body)).await?;
        Ok(resp.moderators)
    }

    /// As an `admin` moderator, removes a moderator (`POST /v1/mod/moderators/remove`).
    pub async fn mod_remove_moderator(&self, account: AccountId) -> Result<Vec<ModeratorEntry>> {
        let url = self.inner.http.url(&["v1", "mod", "moderators", "remove"]);
        let resp: ModeratorsResponse =
            self.authed(Method::POST, url, Some(&ModeratorRequest::account(account))).await?;
        Ok(resp.moderators)
    }

    /// Adds an internal note to a case (`POST /v1/mod/cases/{case}/notes`):
    /// seen only by the node's moderators and operator. Answers the case's notes.
    pub async fn mod_note(&self, case: Sha256Hash, text: &str) -> Result<Vec<CaseNote>> {
        let url = self.inner.http.url(&["v1", "mod", "cases", &case.to_string(), "notes"]);
        let resp: NotesResponse = self.authed(Method::POST, url, Some(&NoteRequest { text: text.to_owned() })).await?;
        Ok(resp.notes)
    }

    /// Assigns a case (to nobody with `None`) with a signed `assign` action.
    /// A `moderator` may assign cases to itself; an `admin` to anyone.
    pub async fn mod_assign(&self, case: Sha256Hash, assignee: Option<AccountId>) -> Result<ActionReceipt> {
        self.mod_work(case, Verdict::Assign, None, |a| a.assignee = assignee).await
    }

    /// Mutes a reporter of a case (`mute`): its further reports are kept out
    /// of the queue. The signed action names one of the reporter's reports
    /// in the case, never the reporter: the audit log is public.
    pub async fn mod_mute(&self, case: Sha256Hash, reporter: AccountId, reason: Option<&str>) -> Result<ActionReceipt> {
        let report = self.report_in(case, reporter).await?;
        self.mod_work(case, Verdict::Mute, reason, |a| a.report = Some(report)).await
    }

    /// Lifts a reporter's mute (`unmute`), naming the case it was decided on.
    pub async fn mod_unmute(
        &self,
        case: Sha256Hash,
        reporter: AccountId,
        reason: Option<&str>,
    ) -> Result<ActionReceipt> {
        let report = self.report_in(case, reporter).await?;
        self.mod_work(case, Verdict::Unmute, reason, |a| a.report = Some(report)).await
    }

    /// The id of a report `reporter` filed in `case` (the first by id, as
    /// the node picks for its operator).
    async fn report_in(&self, case: Sha256Hash, reporter: AccountId) -> Result<Sha256Hash> {
        let detail = self.mod_case(case).await?;
        detail
            .reports
            .iter()
            .filter(|r| r.reporter() == reporter)
            .map(|r| r.id())
            .min()
            .ok_or_else(|| SdkError::InvalidInput(format!("{reporter} filed no report in case {case}")))
    }

    /// Resolves an appeal of case `case`: `uphold` or `overturn` (which
    /// removes the list entries the decision wrote). Refused with
    /// `same_moderator` for the moderator who took the decision.
    pub async fn mod_resolve_appeal(
        &self,
        case: Sha256Hash,
        appeal: Sha256Hash,
        verdict: Verdict,
        reason: Option<&str>,
    ) -> Result<ActionReceipt> {
        if !matches!(verdict, Verdict::Uphold | Verdict::Overturn) {
            return Err(SdkError::InvalidInput(format!("an appeal is upheld or overturned, not `{verdict}`")));
        }
        self.mod_work(case, verdict, reason, |a| a.appeal = Some(appeal)).await
    }

    /// Signs and sends a work action of this moderator account.
    async fn mod_work(
        &self,
        case: Sha256Hash,
        verdict: Verdict,
        reason: Option<&str>,
        fill: impl FnOnce(&mut ModAction),
    ) -> Result<ActionReceipt> {
        let node = self.node_info().await?.node;
        let reason =
            reason.map(|r| Reason::new(r).map_err(|e| SdkError::InvalidInput(format!("reason: {e}")))).transpose()?;
        let mut action = ModAction::new(node, Moderator::Account(self.account()), case, verdict, reason);
        fill(&mut action);
        let signed = self.sign(action)?;
        let url = self.inner.http.url(&["v1", "mod", "actions"]);
        let resp: ModActionResponse =
            self.authed(Method::POST, url, Some(&ActionRequest { action: signed.raw().clone() })).await?;
        Ok(ActionReceipt { action: signed, index: resp.index, entries: resp.entries })
    }
}

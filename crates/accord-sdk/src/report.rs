//! Reports (spec/reports.md §2, §7, §11): a signed statement that carries
//! the offending signed events themselves as evidence, filed with the home
//! node, and the status the node keeps of it (where it was forwarded, how
//! it was resolved).

// `VerificationError` holds typed account and node ids and is returned
// only on failures; see `verify.rs`.
#![allow(clippy::result_large_err)]

use crate::client::Client;
use crate::error::{Result, SdkError, VerificationError};
use crate::timeline::{HistoryQuery, MAX_HISTORY_LIMIT};
use accord_api::reports::{ReportRequest, ReportStatus, ReportsResponse};
use accord_api::rooms::ItemContent as RawItemBody;
use accord_proto::blocklist::Category;
use accord_proto::event::{Event, UnverifiedEvent};
use accord_proto::limits::{MAX_REPORT_CONTEXT, MAX_REPORT_EVIDENCE};
use accord_proto::report::{Comment, ReportBody};
use accord_proto::{AccountId, EventId, RoomId, Timestamp, Unverified, Verified};
use futures::future::{BoxFuture, FutureExt as _};
use reqwest::Method;
use std::collections::{BTreeMap, BTreeSet};
use std::future::IntoFuture;

/// How many context events a report carries unless told otherwise.
pub const DEFAULT_REPORT_CONTEXT: usize = 5;

/// How far back in a room's history an evidence event is looked for: the
/// latest this many items of each room searched.
const MAX_SEARCH_DEPTH: usize = 10_000;

/// Builds and files a report: [`Client::report`], [`Client::report_account`].
///
/// Evidence events are named by id and looked up in the room's history on
/// the home node, which hands them over in their signed wire form; the
/// report carries exactly those bytes. Give the room when it is known
/// ([`event_in`](Self::event_in)); otherwise the rooms the account is a
/// member of are searched ([`event`](Self::event)), the latest 10,000
/// items of each.
///
/// Up to [`context`](Self::context) events (default 5, at most 16) that
/// came right before the earliest evidence event of the first evidence
/// event's room are added as context.
///
/// The builder can be awaited directly, or sent with [`send`](Self::send).
#[derive(Debug)]
#[must_use = "a report is filed only when sent or awaited"]
pub struct ReportBuilder {
    client: Client,
    category: Category,
    subject: Option<AccountId>,
    events: Vec<(Option<RoomId>, EventId)>,
    context: usize,
    comment: Option<String>,
}

impl ReportBuilder {
    fn new(client: Client, category: Category) -> Self {
        Self { client, category, subject: None, events: Vec::new(), context: DEFAULT_REPORT_CONTEXT, comment: None }
    }

    /// Adds an evidence event, looked for in the rooms the account is a
    /// member of.
    pub fn event(mut self, event: EventId) -> Self {
        self.events.push((None, event));
        self
    }

    /// Adds an evidence event of a known room.
    pub fn event_in(mut self, room: RoomId, event: EventId) -> Self {
        self.events.push((Some(room), event));
        self
    }

    /// Names the account reported. With evidence, the account must have
    /// authored one of the evidence events (the node refuses the report
    /// with `subject_mismatch` otherwise).
    pub fn subject(mut self, account: AccountId) -> Self {
        self.subject = Some(account);
        self
    }

    /// How many events before the evidence to add as context (default 5,
    /// at most 16; 0 adds none).
    pub fn context(mut self, events: usize) -> Self {
        self.context = events;
        self
    }

    /// What the reporter says (at most 4096 bytes).
    pub fn comment(mut self, text: impl Into<String>) -> Self {
        self.comment = Some(text.into());
        self
    }

    /// Looks up the evidence and context, signs the report with the
    /// account's key and files it with the home node (`POST /v1/reports`).
    ///
    /// Invalid input (no evidence and no subject, too many events, a
    /// comment too long, an event not found) fails with
    /// [`SdkError::InvalidInput`] before anything is sent. The node's
    /// refusals carry its codes: `not_reporter`, `rate_limited` (with
    /// `retry_after_ms`), `forged_evidence`, `subject_mismatch`, ….
    /// Filing the same signed report twice is answered with its status.
    pub async fn send(self) -> Result<ReportStatus> {
        let ReportBuilder { client, category, subject, events, context, comment } = self;
        let comment = comment
            .map(|c| Comment::new(c).map_err(|e| SdkError::InvalidInput(format!("report comment: {e}"))))
            .transpose()?;
        check_counts(subject.as_ref(), events.len(), context)?;
        let (evidence, context) = client.gather(&events, context).await?;
        let body = ReportBody {
            reporter: client.account(),
            category,
            subject,
            evidence: evidence.iter().map(Event::to_unverified).collect(),
            context: context.iter().map(Event::to_unverified).collect(),
            comment,
            ts: Timestamp::now(),
        };
        let signed = client.sign(body)?;
        client.file_report(signed.to_unverified()).await
    }
}

impl IntoFuture for ReportBuilder {
    type Output = Result<ReportStatus>;
    type IntoFuture = BoxFuture<'static, Result<ReportStatus>>;

    fn into_future(self) -> Self::IntoFuture {
        self.send().boxed()
    }
}

/// The rules of spec/reports.md §2 that can be checked before looking
/// anything up.
fn check_counts(subject: Option<&AccountId>, evidence: usize, context: usize) -> Result<()> {
    if evidence == 0 && subject.is_none() {
        return Err(SdkError::InvalidInput("a report needs evidence events or a subject account".into()));
    }
    if evidence > MAX_REPORT_EVIDENCE {
        return Err(SdkError::InvalidInput(format!(
            "{evidence} evidence events: a report carries at most {MAX_REPORT_EVIDENCE}"
        )));
    }
    if context > MAX_REPORT_CONTEXT {
        return Err(SdkError::InvalidInput(format!(
            "{context} context events: a report carries at most {MAX_REPORT_CONTEXT}"
        )));
    }
    Ok(())
}

/// An evidence event found in a room's history.
struct Found {
    room: RoomId,
    cursor: u64,
    event: Event,
}

impl Client {
    /// Starts a report of harm `category`; add evidence events
    /// ([`ReportBuilder::event`]) and send it.
    ///
    /// ```no_run
    /// # use accord_sdk::{Client, EventId, proto::blocklist::Category};
    /// # async fn run(client: Client, id: EventId) -> accord_sdk::Result<()> {
    /// let status = client.report(Category::Drugs).event(id).context(5).comment("selling drugs").await?;
    /// println!("report {} joined case {}", status.id, status.case);
    /// # Ok(())
    /// # }
    /// ```
    pub fn report(&self, category: Category) -> ReportBuilder {
        ReportBuilder::new(self.clone(), category)
    }

    /// Starts a report about an account as a whole, without evidence
    /// events (it may still get some through [`ReportBuilder::event`]).
    pub fn report_account(&self, account: AccountId, category: Category) -> ReportBuilder {
        ReportBuilder::new(self.clone(), category).subject(account)
    }

    /// Files a report signed elsewhere, exactly as it is (`POST
    /// /v1/reports`): no local checks, for reports made by other tools (and
    /// for testing a node's checks). [`Client::report`] makes and signs
    /// one. The node's refusals carry its codes (spec/reports.md §5, §11).
    pub async fn file_report(&self, report: Unverified<ReportBody>) -> Result<ReportStatus> {
        let url = self.inner.http.url(&["v1", "reports"]);
        let status: ReportStatus =
            self.authed(Method::POST, url, Some(&ReportRequest { report: report.raw().clone() })).await?;
        if status.id != report.body_hash() {
            return Err(SdkError::Protocol(format!(
                "filed report {}, the node answered the status of {}",
                report.body_hash(),
                status.id
            )));
        }
        Ok(status)
    }

    /// The account's reports and their status, newest first (`GET
    /// /v1/reports`).
    pub async fn my_reports(&self) -> Result<Vec<ReportStatus>> {
        let url = self.inner.http.url(&["v1", "reports"]);
        let resp: ReportsResponse = self.authed::<(), _>(Method::GET, url, None).await?;
        Ok(resp.reports)
    }

    /// Signs a payload with the account key; a payload that breaks its
    /// rules is invalid input.
    pub(crate) fn sign<T: accord_proto::envelope::Payload>(&self, payload: T) -> Result<Verified<T>> {
        Verified::sign(payload, self.key()).map_err(|e| SdkError::InvalidInput(e.to_string()))
    }

    /// The evidence events in the order given, and up to `context` events
    /// before the earliest evidence event of the first one's room, oldest
    /// first.
    async fn gather(&self, wanted: &[(Option<RoomId>, EventId)], context: usize) -> Result<(Vec<Event>, Vec<Event>)> {
        let mut found: BTreeMap<EventId, Found> = BTreeMap::new();
        // Rooms named by the caller first, then the account's rooms for the rest.
        let mut by_room: BTreeMap<RoomId, BTreeSet<EventId>> = BTreeMap::new();
        for (room, id) in wanted {
            if let Some(room) = room {
                by_room.entry(*room).or_default().insert(*id);
            }
        }
        for (room, ids) in &by_room {
            self.search_room(*room, ids, &mut found).await?;
        }
        let missing = |found: &BTreeMap<EventId, Found>| -> BTreeSet<EventId> {
            wanted.iter().filter(|(room, id)| room.is_none() && !found.contains_key(id)).map(|(_, id)| *id).collect()
        };
        if !missing(&found).is_empty() {
            for summary in self.rooms().await? {
                let ids = missing(&found);
                if ids.is_empty() {
                    break;
                }
                self.search_room(summary.room, &ids, &mut found).await?;
            }
        }
        let mut evidence = Vec::with_capacity(wanted.len());
        let mut seen = BTreeSet::new();
        for (room, id) in wanted {
            let Some(hit) = found.get(id).filter(|hit| room.is_none_or(|r| r == hit.room)) else {
                let place = room.map_or_else(|| "the rooms of the account".to_owned(), |r| format!("room {r}"));
                return Err(SdkError::InvalidInput(format!("event {id} not found in {place}")));
            };
            if seen.insert(*id) {
                evidence.push(hit);
            }
        }
        let Some(first) = evidence.first() else { return Ok((Vec::new(), Vec::new())) };
        let room = first.room;
        let earliest =
            evidence.iter().filter(|hit| hit.room == room).map(|hit| hit.cursor).min().unwrap_or(first.cursor);
        let context = self.context_before(room, earliest, context, &seen).await?;
        Ok((evidence.into_iter().map(|hit| hit.event.clone()).collect(), context))
    }

    /// Pages back through a room's history (the latest 10,000 items) until
    /// every id of `ids` is in `found`. Events are checked with their
    /// signatures (what a report's receiver checks, spec/reports.md §3),
    /// not against their authors' identities.
    async fn search_room(
        &self,
        room: RoomId,
        ids: &BTreeSet<EventId>,
        found: &mut BTreeMap<EventId, Found>,
    ) -> Result<()> {
        let handle = self.room(room);
        let latest = handle.state().await?.latest_cursor;
        let mut query = Some(HistoryQuery::before(latest.saturating_add(1)).limit(MAX_HISTORY_LIMIT));
        let mut searched = 0;
        while let Some(q) = query {
            if ids.iter().all(|id| found.contains_key(id)) || searched >= MAX_SEARCH_DEPTH {
                break;
            }
            let page = handle.fetch_history(q).await?;
            searched += page.events.len();
            query = page
                .events
                .last()
                .filter(|_| page.more)
                .map(|last| HistoryQuery::before(last.cursor).limit(MAX_HISTORY_LIMIT));
            for item in page.events {
                let RawItemBody::Event(raw) = item.content else { continue };
                if !ids.contains(&raw.claimed_id()) {
                    continue;
                }
                let event = verify_evidence(&raw, room, Some(item.cursor))?;
                found.insert(event.id(), Found { room, cursor: item.cursor, event });
            }
        }
        Ok(())
    }

    /// Up to `count` events right before `cursor` in `room`, oldest first,
    /// without the evidence events. Hidden items and items that do not
    /// verify are left out: context is optional, and an event that does
    /// not verify would make the node refuse the whole report.
    async fn context_before(
        &self,
        room: RoomId,
        cursor: u64,
        count: usize,
        evidence: &BTreeSet<EventId>,
    ) -> Result<Vec<Event>> {
        let Some(limit) = u32::try_from(count).ok().filter(|c| *c > 0) else { return Ok(Vec::new()) };
        if cursor <= 1 {
            return Ok(Vec::new());
        }
        let page = self.room(room).fetch_history(HistoryQuery::before(cursor).limit(limit)).await?;
        let mut context = Vec::with_capacity(count);
        for item in page.events {
            let RawItemBody::Event(raw) = item.content else { continue };
            match verify_evidence(&raw, room, Some(item.cursor)) {
                Ok(event) if !evidence.contains(&event.id()) => context.push(event),
                Ok(_) => {}
                Err(err) => tracing::debug!(error = %err, "leaving an event that does not verify out of the context"),
            }
        }
        context.reverse();
        Ok(context)
    }
}

/// Verifies an event as a report's receiver does (both signatures, the
/// bodies, the structure) and checks its room.
pub(crate) fn verify_evidence(raw: &UnverifiedEvent, room: RoomId, cursor: Option<u64>) -> Result<Event> {
    let event = raw
        .verify()
        .map_err(|e| SdkError::verification(cursor, Some(raw.claimed_id()), VerificationError::Event(e)))?;
    if event.room() != room {
        let reason = VerificationError::WrongRoom { expected: room, found: event.room() };
        return Err(SdkError::verification(cursor, Some(event.id()), reason));
    }
    Ok(event)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::tests::offline_client;
    use crate::verify::tests::{create, key, message};
    use accord_api::reports::{CaseState, ForwardState, Outcome, OutcomeError};
    use accord_proto::audit::{ModAction, Moderator, Verdict};
    use accord_proto::{IssuerId, ListId, NodeId, Sha256Hash};

    fn outcome(node: &accord_proto::SecretKey, moderator: &accord_proto::SecretKey) -> (Outcome, Verified<ModAction>) {
        let node_id = NodeId::from(node.public());
        let list = ListId { issuer: IssuerId::from(node.public()), name: "abuse".parse().expect("name") };
        let action = ModAction {
            node: node_id,
            moderator: Moderator::Account(moderator.account_id()),
            case: Sha256Hash::digest(b"case"),
            action: Verdict::Block,
            list: Some(list.clone()),
            reason: Some("drug sales".to_string().try_into().expect("reason")),
            expires: None,
            assignee: None,
            report: None,
            appeal: None,
            ts: Timestamp::from_millis(1_764_000_000_000),
        };
        let signed = Verified::sign(action, moderator).expect("sign");
        let json = serde_json::json!({
            "node": node_id, "moderator": moderator.account_id(), "action": "block", "list": list,
            "reason": "drug sales", "ts": 1_764_000_000_000u64, "signed": signed.raw(),
        });
        (serde_json::from_value(json).expect("outcome decodes"), signed)
    }

    #[test]
    fn a_report_status_decodes_the_documented_shape() {
        let (node, moderator) = (key(200), key(6));
        let (outcome, _) = outcome(&node, &moderator);
        let accused = key(3).account_id();
        let json = serde_json::json!({
            "id": "08ca9a579b790c2eae96b54c536449466f5cc316776a0737c835f306eb972692",
            "case": "08ca9a579b790c2eae96b54c536449466f5cc316776a0737c835f306eb972692",
            "category": "drugs", "accused": [accused], "received": 1_764_000_007_000u64, "state": "resolved",
            "forwards": [
                {"node": NodeId::from(node.public()), "state": "delivered"},
                {"node": NodeId::from(key(201).public()), "state": "refused", "code": "refused"},
            ],
            "outcome": outcome,
        });
        let status: ReportStatus = serde_json::from_value(json).expect("status decodes");
        assert_eq!(status.category, Category::Drugs);
        assert_eq!(status.state, CaseState::Resolved);
        assert_eq!(status.accused, vec![accused]);
        assert_eq!(status.forwards[0].state, ForwardState::Delivered);
        assert_eq!(status.forwards[1].code.as_deref(), Some("refused"));
        let action = status.outcome.expect("outcome").verify().expect("the outcome verifies");
        assert_eq!(action.action, Verdict::Block);
    }

    #[test]
    fn an_open_report_has_no_outcome_or_forwards() {
        let json = serde_json::json!({
            "id": "ab".repeat(32), "case": "ab".repeat(32), "category": "spam",
            "received": 1u64, "state": "open",
        });
        let status: ReportStatus = serde_json::from_value(json).expect("status decodes");
        assert_eq!(status.state, CaseState::Open);
        assert!(status.forwards.is_empty() && status.outcome.is_none() && status.accused.is_empty());
    }

    #[test]
    fn an_outcome_that_misdescribes_its_action_does_not_verify() {
        let (node, moderator) = (key(200), key(6));
        let (good, _) = outcome(&node, &moderator);
        let mut wrong = good.clone();
        wrong.action = Verdict::Dismiss;
        assert!(matches!(wrong.verify(), Err(OutcomeError::Mismatch(_))));
        let mut wrong = good.clone();
        wrong.reason = Some("something else".into());
        assert!(matches!(wrong.verify(), Err(OutcomeError::Mismatch(_))));
        let mut forged = good;
        forged.signed.body[5] ^= 1;
        assert!(matches!(forged.verify(), Err(OutcomeError::Signature(_))));
    }

    #[test]
    fn counts_are_checked_before_anything_is_sent() {
        let subject = key(3).account_id();
        assert!(check_counts(None, 0, 5).is_err());
        assert!(check_counts(Some(&subject), 0, 5).is_ok());
        assert!(check_counts(None, 1, 16).is_ok());
        assert!(check_counts(None, 1, 17).is_err());
        assert!(check_counts(None, 32, 0).is_ok());
        assert!(check_counts(None, 33, 0).is_err());
    }

    #[tokio::test]
    async fn invalid_reports_are_refused_locally() {
        let client = offline_client(key(1));
        let id = EventId::from_bytes([9; 32]);
        let err = client.report(Category::Spam).await.unwrap_err();
        assert!(matches!(err, SdkError::InvalidInput(_)), "{err:?}");
        let err = client.report(Category::Spam).event(id).context(17).await.unwrap_err();
        assert!(matches!(err, SdkError::InvalidInput(_)), "{err:?}");
        let err = client.report(Category::Spam).event(id).comment("x".repeat(4097)).await.unwrap_err();
        assert!(matches!(err, SdkError::InvalidInput(_)), "{err:?}");
        let err = client.report(Category::Spam).event(id).comment("bell\u{7}").await.unwrap_err();
        assert!(matches!(err, SdkError::InvalidInput(_)), "{err:?}");
    }

    #[tokio::test]
    async fn an_account_report_needs_no_evidence_but_reaches_the_node() {
        let client = offline_client(key(1));
        // Nothing to look up: the first request is the filing, which fails to connect.
        let err =
            client.report_account(key(3).account_id(), Category::Impersonation).comment("fake").await.unwrap_err();
        assert!(matches!(err, SdkError::Transport { .. }), "{err:?}");
    }

    #[test]
    fn evidence_is_checked_for_its_room_and_signatures() {
        let (alice, node) = (key(1), key(200));
        let create = create(&alice, &node);
        let msg = message(&alice, &node, &create, 2, "buy pills here");
        let event = verify_evidence(&msg.to_unverified(), create.room(), Some(2)).expect("verifies");
        assert_eq!(event.id(), msg.id());
        let other = RoomId::from_bytes([1; 32]);
        let err = verify_evidence(&msg.to_unverified(), other, Some(2)).unwrap_err();
        assert!(
            matches!(&err, SdkError::Verification { reason, .. } if matches!(**reason, VerificationError::WrongRoom { .. }))
        );
        let mut json = serde_json::to_value(&msg).expect("encode");
        json["author"]["sig"] = json["origin"]["sig"].clone();
        let forged: UnverifiedEvent = serde_json::from_value(json).expect("decodes");
        assert!(matches!(verify_evidence(&forged, create.room(), None), Err(SdkError::Verification { .. })));
    }
}

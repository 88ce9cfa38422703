//! A real node (accord-testkit), asked over HTTP at each endpoint's
//! [`Metadata`](accord_api::Metadata) path and method: every answer reads
//! as the endpoint's accord-api type and, written back through
//! `serde_json::Value` as the node writes its answers, gives exactly the
//! node's bytes; every refusal is an [`ErrorBody`] whose code's
//! [`status`](ErrorCode::status) is the status the node answered with.

use accord_api::admin::{
    AddEntryRequest, AddModerator, AdminCase, AdminCases, Appended, AuditVerified, CreateList, CreateListRequest,
    ExceptionRequest, ListEvidence, ListModerators, ListPeers, ListQuarantine, ListStatuses, ModeratorRequest,
    RemoveModerator, Resolve, ResolveRequest, SetException, ShowEntries, ShowQuery, VerifyAudit,
};
use accord_api::audit::GetAudit;
use accord_api::auth::{Challenge, ChallengeRequest, Login, LoginRequest};
use accord_api::events::{SendEvent, SendEventRequest};
use accord_api::identities::GetIdentity;
use accord_api::moderation::{CaseFilter, CasesQuery, GetCase, ListCases};
use accord_api::node::GetNode;
use accord_api::reports::{CaseState, MyReports};
use accord_api::rooms::{GetRoom, History, HistoryQuery, ListRooms};
use accord_api::{Access, Endpoint, ErrorBody, ErrorCode, Method};
use accord_proto::audit::Verdict;
use accord_proto::auth::AuthResponse;
use accord_proto::blocklist::{Action, Category, TargetKind};
use accord_proto::event::JoinRule;
use accord_proto::{SecretKey, Timestamp, Verified};
use accord_testkit::TestNode;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Reads `body` as a `T`; `T` written back as the node writes its answers
/// must give exactly `body`.
fn exact<T: Serialize + DeserializeOwned>(path: &str, body: &[u8]) -> anyhow::Result<T> {
    let typed: T =
        serde_json::from_slice(body).map_err(|e| anyhow::anyhow!("{path}: {e}: {}", String::from_utf8_lossy(body)))?;
    let again = serde_json::to_vec(&serde_json::to_value(&typed)?)?;
    anyhow::ensure!(
        again == body,
        "{path}: the node sent\n{}\nthe type writes\n{}",
        String::from_utf8_lossy(body),
        String::from_utf8_lossy(&again)
    );
    Ok(typed)
}

/// The node's client API and admin endpoint, called by endpoint type:
/// admin endpoints on the admin listener, the others on the client API's.
struct Api {
    http: reqwest::Client,
    url: String,
    admin_url: String,
    session: Option<String>,
    admin: String,
}

impl Api {
    async fn call<E: Endpoint>(&self, params: &[&str], request: &E::Request) -> anyhow::Result<(u16, Vec<u8>)>
    where
        E::Request: Serialize,
    {
        let metadata = E::METADATA;
        let base = if metadata.access == Access::Admin { &self.admin_url } else { &self.url };
        let mut url = reqwest::Url::parse(base)?;
        url.path_segments_mut()
            .map_err(|()| anyhow::anyhow!("not a base URL"))?
            .pop_if_empty()
            .extend(metadata.segments(params));
        let mut req = match metadata.method {
            Method::Post => self.http.post(url).json(request),
            Method::Get => {
                if let serde_json::Value::Object(fields) = serde_json::to_value(request)? {
                    let mut query = url.query_pairs_mut();
                    for (name, value) in fields {
                        match value {
                            serde_json::Value::String(text) => query.append_pair(&name, &text),
                            other => query.append_pair(&name, &other.to_string()),
                        };
                    }
                }
                self.http.get(url)
            }
        };
        match metadata.access {
            Access::Public => {}
            Access::Session | Access::Moderator => {
                if let Some(token) = &self.session {
                    req = req.bearer_auth(token);
                }
            }
            Access::Admin => req = req.bearer_auth(&self.admin),
        }
        let response = req.send().await?;
        Ok((response.status().as_u16(), response.bytes().await?.to_vec()))
    }

    /// A `200` answer, read exactly.
    async fn ok<E: Endpoint>(&self, params: &[&str], request: &E::Request) -> anyhow::Result<E::Response>
    where
        E::Request: Serialize,
        E::Response: Serialize + DeserializeOwned,
    {
        let (status, body) = self.call::<E>(params, request).await?;
        let path = E::METADATA.path;
        anyhow::ensure!(status == 200, "{path}: {status}: {}", String::from_utf8_lossy(&body));
        exact(path, &body)
    }

    /// A refusal with `code`, at the code's status, read exactly.
    async fn refused<E: Endpoint>(&self, params: &[&str], request: &E::Request, code: ErrorCode) -> anyhow::Result<()>
    where
        E::Request: Serialize,
    {
        let (status, body) = self.call::<E>(params, request).await?;
        let error: ErrorBody = exact(E::METADATA.path, &body)?;
        assert_eq!(error.error.code, code, "{}", E::METADATA.path);
        assert_eq!(status, code.status(), "{}: {code}", E::METADATA.path);
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_answers_exactly_what_the_types_hold() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let key = SecretKey::from_seed([1; 32]);
    let alice = node.client(key.clone())?;
    alice.register("alice", None).await?;
    let room = alice.create_room("general", JoinRule::Public).await?;
    let sent = room.send_text("buy pills here").await?;
    let admin = std::fs::read_to_string(node.data_dir().join("admin.token"))?.trim().to_owned();
    let mut api =
        Api { http: reqwest::Client::new(), url: node.url(), admin_url: node.admin_url()?, session: None, admin };

    // Public endpoints, and a session opened by hand.
    let info = api.ok::<GetNode>(&[], &()).await?;
    let challenge = api.ok::<Challenge>(&[], &ChallengeRequest { account: key.account_id() }).await?;
    let answer = AuthResponse {
        account: key.account_id(),
        node: info.node,
        challenge: challenge.challenge,
        ts: Timestamp::now(),
    };
    let signed = Verified::sign(answer, &key)?;
    let login = api.ok::<Login>(&[], &LoginRequest { response: signed.raw().clone() }).await?;
    assert_eq!(login.account, key.account_id());
    api.session = Some(login.token);
    let account = key.account_id().to_string();
    let identity = api.ok::<GetIdentity>(&[&account], &()).await?;
    assert!(identity.trust.is_some());

    // Rooms and history.
    let room_id = room.id().to_string();
    let rooms = api.ok::<ListRooms>(&[], &()).await?;
    assert_eq!(rooms.rooms[0].room, room.id());
    let state = api.ok::<GetRoom>(&[&room_id], &()).await?;
    assert_eq!(state.latest_cursor, 2);
    let page = api.ok::<History>(&[&room_id], &HistoryQuery { after: Some(0), before: None, limit: Some(10) }).await?;
    assert_eq!(page.events.len(), 2);
    assert_eq!(page.events[1].event().map(|e| e.claimed_id()), Some(sent.event_id));

    // Refusals: each code at its status.
    api.refused::<GetRoom>(&["room1nothing"], &(), ErrorCode::BadRequest).await?;
    let unknown = accord_proto::RoomId::from_bytes([9; 32]).to_string();
    api.refused::<GetRoom>(&[&unknown], &(), ErrorCode::UnknownRoom).await?;
    let replay = SendEventRequest { event: sent.event.to_unverified().author.raw().clone(), via: vec![] };
    api.refused::<SendEvent>(&[], &replay, ErrorCode::DuplicateEvent).await?;
    let outsider = Api {
        http: api.http.clone(),
        url: api.url.clone(),
        admin_url: api.admin_url.clone(),
        session: None,
        admin: String::new(),
    };
    outsider.refused::<ListRooms>(&[], &(), ErrorCode::Unauthenticated).await?;
    outsider.refused::<ListStatuses>(&[], &(), ErrorCode::Forbidden).await?;

    // Reports, the moderator queue and the audit log.
    alice.report(Category::Drugs).event_in(room.id(), sent.event_id).context(1).await?;
    let mine = api.ok::<MyReports>(&[], &()).await?;
    let case = mine.reports[0].case;
    api.refused::<ListCases>(&[], &CasesQuery::default(), ErrorCode::NotModerator).await?;
    api.ok::<AddModerator>(&[], &ModeratorRequest::account(key.account_id())).await?;
    let queue = api.ok::<ListCases>(&[], &CasesQuery { state: CaseFilter::Open, ..CasesQuery::default() }).await?;
    assert_eq!(queue.cases[0].id, case);
    let detail = api.ok::<GetCase>(&[&case.to_string()], &()).await?;
    assert_eq!(detail.evidence[0].claimed_id(), sent.event_id);

    // The operator's side.
    let created = api.ok::<CreateList>(&[], &CreateListRequest { name: "abuse".into(), description: None }).await?;
    api.refused::<CreateList>(
        &[],
        &CreateListRequest { name: "abuse".into(), description: None },
        ErrorCode::ListExists,
    )
    .await?;
    let add = AddEntryRequest {
        kind: TargetKind::Account,
        id: "acct1nobody".into(),
        hashed: false,
        category: Category::Spam,
        action: Action::Quarantine,
        reason: Some("bulk ads".into()),
        evidence: None,
        expires_in: None,
    };
    api.refused::<accord_api::admin::AddEntry>(&["abuse"], &add, ErrorCode::BadRequest).await?;
    let add = AddEntryRequest { id: accord_proto::SecretKey::from_seed([3; 32]).account_id().to_string(), ..add };
    let appended: Appended = api.ok::<accord_api::admin::AddEntry>(&["abuse"], &add).await?;
    assert_eq!((appended.first, appended.count), (Some(0), 1));
    api.ok::<ShowEntries>(&["abuse"], &ShowQuery::default()).await?;
    api.ok::<ShowEntries>(&["-"], &ShowQuery { list: Some(created.list.clone()), from: 0, limit: Some(5) }).await?;
    let lists = api.ok::<ListStatuses>(&[], &()).await?;
    assert_eq!(lists.lists[0].list, created.list);
    let exception = ExceptionRequest { list: created.list.clone(), entry: 0, reason: None, lift: false };
    assert!(api.ok::<SetException>(&[], &exception).await?.excepted);
    api.ok::<ListEvidence>(&[], &()).await?;
    api.ok::<ListQuarantine>(&[], &()).await?;
    api.ok::<ListPeers>(&[], &()).await?;
    api.ok::<ListModerators>(&[], &()).await?;
    let stranger = ModeratorRequest::account(SecretKey::from_seed([4; 32]).account_id());
    api.refused::<RemoveModerator>(&[], &stranger, ErrorCode::UnknownModerator).await?;
    api.ok::<AdminCases>(&[], &CasesQuery { state: CaseFilter::All, ..CasesQuery::default() }).await?;
    api.ok::<AdminCase>(&[&case.to_string()], &()).await?;
    let dismiss = ResolveRequest { action: Verdict::Dismiss, list: None, reason: Some("not ours".into()), days: None };
    let receipt = api.ok::<Resolve>(&[&case.to_string()], &dismiss).await?;
    assert_eq!(receipt.index, 0);
    api.refused::<Resolve>(&[&case.to_string()], &dismiss, ErrorCode::Resolved).await?;
    let mine = api.ok::<MyReports>(&[], &()).await?;
    assert_eq!(mine.reports[0].state, CaseState::Resolved);
    let log = api.ok::<GetAudit>(&[], &()).await?;
    assert_eq!(log.actions.len(), 1);
    let verified: AuditVerified = api.ok::<VerifyAudit>(&[], &()).await?;
    assert_eq!(verified.size, 1);
    Ok(())
}

//! The client: one account on one node, its session, its identity cache.

use crate::clock::EventClock;
use crate::error::{BuildError, Result, SdkError, VerificationError};
use crate::http::{Http, parse_base_url};
use crate::identity::VerifiedIdentity;
use crate::policy::{ReconnectPolicy, RetryPolicy};
use crate::timeline::SendReceipt;
use accord_api::auth::{ChallengeRequest, ChallengeResponse, LoginRequest, LoginResponse};
use accord_api::events::{SendEventRequest, SendEventResponse};
use accord_api::identities::IdentityResponse;
use accord_api::node::NodeInfo;
use accord_api::register::{RegisterRequest, RegisterResponse};
use accord_api::rooms::{RoomSummary, RoomsResponse};
use accord_proto::auth::AuthResponse;
use accord_proto::event::{EventBody, EventContent};
use accord_proto::identity::{Handle, IdentityDocument, NodeName};
use accord_proto::{AccountId, RoomId, SecretKey, Timestamp, Verified};
use reqwest::{Method, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How many verified identities a client keeps.
const IDENTITY_CACHE_CAPACITY: usize = 4096;
/// How many times one submission waits for a join's fetch and is sent
/// again (a fetch that ends with the room held needs one).
const MAX_JOIN_WAITS: usize = 3;
/// A session is renewed this long before the node said it expires.
const SESSION_MARGIN: Duration = Duration::from_secs(60);
/// Used when the node's expiry time makes no sense against the local clock
/// (clock skew): renew after this long, or on the first `401`.
const SESSION_FALLBACK_LIFETIME: Duration = Duration::from_secs(600);

/// Builds a [`Client`]: [`Client::builder`].
#[derive(Debug)]
#[must_use]
pub struct ClientBuilder {
    node_url: Option<String>,
    key: Option<SecretKey>,
    request_timeout: Duration,
    reconnect: ReconnectPolicy,
    retry: RetryPolicy,
    /// CA certificates (PEM) trusted besides the webpki roots.
    roots: Vec<Vec<u8>>,
}

impl ClientBuilder {
    /// The node's base URL, e.g. `http://127.0.0.1:8080` or
    /// `https://chat.example.org`. A path prefix is kept
    /// (`http://host/accord/` serves `http://host/accord/v1/…`). An
    /// `https://` node is reached over TLS and its live stream over `wss://`.
    pub fn node_url(mut self, url: impl Into<String>) -> Self {
        self.node_url = Some(url.into());
        self
    }

    /// The account's secret key. It signs locally and is never sent.
    pub fn key(mut self, key: SecretKey) -> Self {
        self.key = Some(key);
        self
    }

    /// How long one HTTP request may take in all (default 30 s).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// How live streams reconnect (default: [`ReconnectPolicy::default`]).
    pub fn reconnect_policy(mut self, policy: ReconnectPolicy) -> Self {
        self.reconnect = policy;
        self
    }

    /// How requests refused with `rate_limited` are retried (default:
    /// [`RetryPolicy::default`]; [`RetryPolicy::never`] turns retries off).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Trusts the CA certificate(s) in `pem` for `https://` nodes, besides
    /// the webpki roots (Mozilla's root program): for a node whose
    /// certificate a private CA signed. Checked by [`build`](Self::build).
    pub fn add_root_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.roots.push(pem.into());
        self
    }

    /// Checks the settings and builds the client. Nothing is sent yet: the
    /// client logs in on its first authenticated request.
    pub fn build(self) -> Result<Client, BuildError> {
        let url = self.node_url.ok_or(BuildError::MissingNodeUrl)?;
        let key = self.key.ok_or(BuildError::MissingKey)?;
        let tls = crate::tls::client_config(&self.roots)?;
        let http = Http::new(parse_base_url(&url)?, self.request_timeout, tls, self.retry)?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                account: key.account_id(),
                key,
                node: tokio::sync::OnceCell::new(),
                session: tokio::sync::Mutex::new(SessionState::default()),
                identities: Mutex::new(HashMap::new()),
                deleted: Mutex::new(HashMap::new()),
                clock: EventClock::default(),
                reconnect: self.reconnect,
            }),
        })
    }
}

/// A client of one node, acting as one account.
///
/// Cheap to clone: clones share the session, the node information and the
/// identity cache. All methods take `&self` and may run concurrently.
///
/// The client logs in lazily, on the first request that needs a session
/// (challenge → signed [`AuthResponse`] → token), renews the session before
/// it expires, and logs in again once by itself when the node answers
/// `401 unauthenticated` (e.g. after a node restart).
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) http: Http,
    key: SecretKey,
    account: AccountId,
    node: tokio::sync::OnceCell<NodeInfo>,
    session: tokio::sync::Mutex<SessionState>,
    identities: Mutex<HashMap<AccountId, VerifiedIdentity>>,
    /// The home nodes of deleted accounts, from their verified deletions.
    pub(crate) deleted: Mutex<HashMap<AccountId, accord_proto::NodeId>>,
    clock: EventClock,
    pub(crate) reconnect: ReconnectPolicy,
}

#[derive(Default)]
struct SessionState {
    current: Option<Session>,
    /// Counts logins, so that a request that failed with an old token does
    /// not throw away a newer one.
    generation: u64,
}

struct Session {
    token: String,
    renew_at: Instant,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("node_url", &self.inner.http.base().as_str())
            .field("account", &self.inner.account)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Starts building a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder {
            node_url: None,
            key: None,
            request_timeout: Duration::from_secs(30),
            reconnect: ReconnectPolicy::default(),
            retry: RetryPolicy::default(),
            roots: Vec::new(),
        }
    }

    /// The account this client acts as.
    pub fn account(&self) -> AccountId {
        self.inner.account
    }

    /// The account key, for signing.
    pub(crate) fn key(&self) -> &SecretKey {
        &self.inner.key
    }

    /// The node's base URL.
    pub fn node_url(&self) -> &str {
        self.inner.http.base().as_str()
    }

    /// What the node says about itself (`GET /v1/node`); asked once, then cached.
    pub async fn node_info(&self) -> Result<NodeInfo> {
        self.inner
            .node
            .get_or_try_init(|| async {
                let http = &self.inner.http;
                http.send(http.request::<()>(Method::GET, http.url(&["v1", "node"]), None, None)).await
            })
            .await
            .cloned()
    }

    /// Logs in now, replacing any current session. Not needed in normal
    /// use (the client logs in when it has to), but a quick way to check
    /// that the account is registered on the node.
    pub async fn login(&self) -> Result<()> {
        let mut state = self.inner.session.lock().await;
        let session = self.login_now().await?;
        state.current = Some(session);
        state.generation += 1;
        Ok(())
    }

    /// Registers the account on the node: makes and signs an identity
    /// document binding the key to `handle` with the node as home, posts it
    /// (`POST /v1/register`, with the invite code if the node needs one) and
    /// verifies the node's attestation of it.
    ///
    /// `handle` is the name part (`alice`) or the full handle
    /// (`alice@node.example`), whose node part must be the node's name.
    pub async fn register(&self, handle: &str, invite: Option<&str>) -> Result<VerifiedIdentity> {
        let info = self.node_info().await?;
        let handle = full_handle(handle, &info.name)?;
        let doc = IdentityDocument { account: self.inner.account, handle, home: info.node, created: Timestamp::now() };
        let doc = Verified::sign(doc, &self.inner.key).map_err(|e| SdkError::InvalidInput(e.to_string()))?;
        let http = &self.inner.http;
        let body = RegisterRequest { identity: doc.raw().clone(), invite: invite.map(str::to_owned) };
        let resp: RegisterResponse =
            http.send(http.request(Method::POST, http.url(&["v1", "register"]), None, Some(&body))).await?;
        let attestation = resp
            .attestation
            .verify()
            .map_err(|e| SdkError::verification(None, None, VerificationError::Attestation(e)))?;
        let identity = VerifiedIdentity::from_verified(doc, attestation)
            .map_err(|reason| SdkError::verification(None, None, reason))?;
        self.cache_identity(identity.clone());
        Ok(identity)
    }

    /// The verified identity of `account`: its identity document and its
    /// home node's attestation, both signatures checked and checked to
    /// belong together (`GET /v1/identities/{account}`). Cached.
    pub async fn identity(&self, account: &AccountId) -> Result<VerifiedIdentity> {
        if let Some(found) = self.cached_identity(account) {
            return Ok(found);
        }
        let identity = self.fetch_identity(account).await?;
        self.cache_identity(identity.clone());
        Ok(identity)
    }

    /// Like [`Client::identity`], but asks the node even when the identity
    /// is cached, for fresh [`TrustSignals`](crate::TrustSignals)
    /// ([`VerifiedIdentity::trust`]); the answer replaces the cached one.
    pub async fn refresh_identity(&self, account: &AccountId) -> Result<VerifiedIdentity> {
        let identity = self.fetch_identity(account).await?;
        self.cache_identity(identity.clone());
        Ok(identity)
    }

    /// The rooms the account is a member of (`GET /v1/rooms`), as the node
    /// reports them.
    pub async fn rooms(&self) -> Result<Vec<RoomSummary>> {
        let url = self.inner.http.url(&["v1", "rooms"]);
        let resp: RoomsResponse = self.authed::<(), _>(Method::GET, url, None).await?;
        Ok(resp.rooms)
    }

    /// Signs an event with the account key and posts it; verifies what the
    /// node returns.
    pub(crate) async fn send_event(&self, room: Option<RoomId>, content: EventContent) -> Result<SendReceipt> {
        self.send_event_via(room, content, &[]).await
    }

    /// Like [`Client::send_event`], naming nodes that hold the room in case
    /// the home node does not hold it yet.
    ///
    /// The submission is safe to repeat, so a `rate_limited` refusal is
    /// retried; a `duplicate_event` answer means an earlier attempt of this
    /// very event was stored (its id is the hash of what was signed here),
    /// and the stored event is returned as the receipt.
    pub(crate) async fn send_event_via(
        &self,
        room: Option<RoomId>,
        content: EventContent,
        via: &[String],
    ) -> Result<SendReceipt> {
        let signed = self.sign_event(room, content)?;
        let mut waited = 0;
        loop {
            match self.post_event(&signed, via).await {
                Ok(resp) => return self.verify_receipt(&signed, resp).await,
                Err(err) if err.code() == "duplicate_event" => return self.stored_receipt(&signed, err).await,
                // The node fetches the room's history and sends the event
                // once it holds the room: wait for the fetch, then send the
                // same event again (answered with it, or `duplicate_event`
                // if the node sent it meanwhile).
                Err(err) if err.code() == "join_in_progress" && waited < MAX_JOIN_WAITS => {
                    let Some(room) = room else { return Err(err) };
                    self.wait_for_join(room, err).await?;
                    waited += 1;
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// Posts a signed event once (`POST /v1/events`), retried after
    /// `rate_limited`.
    pub(crate) async fn post_event(&self, signed: &Verified<EventBody>, via: &[String]) -> Result<SendEventResponse> {
        let url = self.inner.http.url(&["v1", "events"]);
        let request = SendEventRequest { event: signed.raw().clone(), via: via.to_vec() };
        self.authed_with(Method::POST, url, Some(&request), true).await
    }

    /// Signs an event of this account with the client's clock.
    pub(crate) fn sign_event(&self, room: Option<RoomId>, content: EventContent) -> Result<Verified<EventBody>> {
        let body = EventBody { room, author: self.inner.account, ts: self.inner.clock.next(), content };
        Verified::sign(body, &self.inner.key).map_err(|e| SdkError::InvalidInput(e.to_string()))
    }

    /// Sends an authenticated request; on `401 unauthenticated` logs in
    /// again once and repeats it. A `GET` is retried after `rate_limited`.
    pub(crate) async fn authed<B, T>(&self, method: Method, url: Url, body: Option<&B>) -> Result<T>
    where
        B: Serialize + ?Sized,
        T: DeserializeOwned,
    {
        self.authed_with(method, url, body, false).await
    }

    /// [`Client::authed`]; `repeatable` says that the request is safe to
    /// repeat whatever its method, so that `rate_limited` is retried.
    async fn authed_with<B, T>(&self, method: Method, url: Url, body: Option<&B>, repeatable: bool) -> Result<T>
    where
        B: Serialize + ?Sized,
        T: DeserializeOwned,
    {
        let http = &self.inner.http;
        let repeatable = repeatable || method == Method::GET;
        let (token, generation) = self.session_token().await?;
        let first = http.send_as(http.request(method.clone(), url.clone(), Some(&token), body), repeatable).await;
        match first {
            Err(SdkError::Api { status: 401, code, .. }) if code == "unauthenticated" => {
                tracing::debug!("session refused by the node; logging in again");
                self.invalidate_session(generation).await;
                let (token, _) = self.session_token().await?;
                http.send_as(http.request(method, url, Some(&token), body), repeatable).await
            }
            other => other,
        }
    }

    /// A valid session token and its login generation, logging in if needed.
    pub(crate) async fn session_token(&self) -> Result<(String, u64)> {
        let mut state = self.inner.session.lock().await;
        if let Some(session) = &state.current
            && Instant::now() < session.renew_at
        {
            return Ok((session.token.clone(), state.generation));
        }
        let session = self.login_now().await?;
        let token = session.token.clone();
        state.current = Some(session);
        state.generation += 1;
        Ok((token, state.generation))
    }

    /// Forgets the session of login `generation`, if it is still the current one.
    pub(crate) async fn invalidate_session(&self, generation: u64) {
        let mut state = self.inner.session.lock().await;
        if state.generation == generation {
            state.current = None;
        }
    }

    /// Challenge, signed answer, token (client API §2).
    async fn login_now(&self) -> Result<Session> {
        let node = self.node_info().await?.node;
        let http = &self.inner.http;
        let account = self.inner.account;
        // A refused challenge or login was not acted on: both are repeatable.
        let challenge: ChallengeResponse = http
            .send_as(
                http.request(
                    Method::POST,
                    http.url(&["v1", "auth", "challenge"]),
                    None,
                    Some(&ChallengeRequest { account }),
                ),
                true,
            )
            .await?;
        if challenge.node != node {
            return Err(SdkError::Protocol(format!(
                "the login challenge names node {}, but the node is {node}",
                challenge.node
            )));
        }
        let answer = AuthResponse { account, node, challenge: challenge.challenge, ts: Timestamp::now() };
        let signed = Verified::sign(answer, &self.inner.key)
            .map_err(|e| SdkError::Protocol(format!("cannot answer the login challenge: {e}")))?;
        let login: LoginResponse = http
            .send_as(
                http.request(
                    Method::POST,
                    http.url(&["v1", "auth", "login"]),
                    None,
                    Some(&LoginRequest { response: signed.raw().clone() }),
                ),
                true,
            )
            .await?;
        if login.account != account {
            return Err(SdkError::Protocol(format!("logged in as {account}, but the node says {}", login.account)));
        }
        let lifetime = Duration::from_millis(login.expires.as_millis().saturating_sub(Timestamp::now().as_millis()));
        let lifetime =
            if lifetime > 2 * SESSION_MARGIN { lifetime - SESSION_MARGIN } else { SESSION_FALLBACK_LIFETIME };
        tracing::debug!(%account, "logged in");
        Ok(Session { token: login.token, renew_at: Instant::now() + lifetime })
    }

    /// Fetches and verifies an identity, bypassing the cache.
    pub(crate) async fn fetch_identity(&self, account: &AccountId) -> Result<VerifiedIdentity> {
        let http = &self.inner.http;
        let url = http.url(&["v1", "identities", &account.to_string()]);
        let resp: IdentityResponse = http.send(http.request::<()>(Method::GET, url, None, None)).await?;
        let identity = VerifiedIdentity::verify(&resp.identity, &resp.attestation)
            .map_err(|reason| SdkError::verification(None, None, reason))?;
        let identity = identity.expect_account(account).map_err(|reason| SdkError::verification(None, None, reason))?;
        Ok(match resp.trust {
            Some(trust) => identity.with_trust(trust),
            None => identity,
        })
    }

    fn cached_identity(&self, account: &AccountId) -> Option<VerifiedIdentity> {
        let cache = self.inner.identities.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        cache.get(account).cloned()
    }

    pub(crate) fn cache_identity(&self, identity: VerifiedIdentity) {
        let mut cache = self.inner.identities.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if cache.len() >= IDENTITY_CACHE_CAPACITY
            && !cache.contains_key(&identity.account())
            && let Some(evict) = cache.keys().next().copied()
        {
            cache.remove(&evict);
        }
        cache.insert(identity.account(), identity);
    }
}

/// The full handle for `given` (`name` or `name@node`) on the node `node`.
fn full_handle(given: &str, node: &NodeName) -> Result<Handle> {
    let text = if given.contains('@') { given.to_owned() } else { format!("{given}@{node}") };
    let handle = Handle::parse(&text).map_err(|e| SdkError::InvalidInput(format!("handle `{given}`: {e}")))?;
    if handle.node() != node {
        return Err(SdkError::InvalidInput(format!(
            "handle `{given}` names node `{}`, but this node is `{node}`",
            handle.node()
        )));
    }
    Ok(handle)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use accord_proto::event::JoinRule;

    /// A client for `key` that is never connected anywhere.
    pub(crate) fn offline_client(key: SecretKey) -> Client {
        Client::builder().node_url("http://127.0.0.1:9").key(key).build().expect("client")
    }

    #[test]
    fn builder_needs_url_and_key() {
        assert!(matches!(Client::builder().build(), Err(BuildError::MissingNodeUrl)));
        assert!(matches!(Client::builder().node_url("http://localhost:1").build(), Err(BuildError::MissingKey)));
        assert!(matches!(
            Client::builder().node_url("ftp://example.org").key(SecretKey::from_seed([1; 32])).build(),
            Err(BuildError::InvalidUrl { .. })
        ));
        assert!(Client::builder().node_url("https://example.org").key(SecretKey::from_seed([1; 32])).build().is_ok());
        let client = offline_client(SecretKey::from_seed([1; 32]));
        assert_eq!(client.account(), SecretKey::from_seed([1; 32]).account_id());
        assert_eq!(client.node_url(), "http://127.0.0.1:9/");
    }

    #[test]
    fn debug_shows_no_secret() {
        let key = SecretKey::from_seed([7; 32]);
        let seed_hex: String = key.to_seed().iter().map(|b| format!("{b:02x}")).collect();
        let text = format!("{:?} {:?}", offline_client(key.clone()), Client::builder().key(key));
        assert!(!text.contains(&seed_hex));
        assert!(!text.contains("0707070707"));
    }

    #[test]
    fn handles_are_completed_and_checked() {
        let node = NodeName::parse("example.org").expect("name");
        assert_eq!(full_handle("alice", &node).expect("short").to_string(), "alice@example.org");
        assert_eq!(full_handle("alice@example.org", &node).expect("full").to_string(), "alice@example.org");
        assert!(matches!(full_handle("alice@other.org", &node), Err(SdkError::InvalidInput(_))));
        assert!(matches!(full_handle("Alice", &node), Err(SdkError::InvalidInput(_))));
        assert!(matches!(full_handle("", &node), Err(SdkError::InvalidInput(_))));
    }

    #[test]
    fn identity_cache_is_bounded() {
        let client = offline_client(SecretKey::from_seed([1; 32]));
        let node = SecretKey::from_seed([200; 32]);
        for i in 0..(IDENTITY_CACHE_CAPACITY + 10) {
            let mut seed = [0u8; 32];
            seed[..8].copy_from_slice(&(i as u64).to_le_bytes());
            seed[31] = 1;
            let account = SecretKey::from_seed(seed);
            client.cache_identity(crate::identity::tests::identity(&account, &node, "x@example.org"));
        }
        let len = client.inner.identities.lock().expect("lock").len();
        assert_eq!(len, IDENTITY_CACHE_CAPACITY);
    }

    #[tokio::test]
    async fn cached_identities_need_no_node() {
        let alice = SecretKey::from_seed([1; 32]);
        let node = SecretKey::from_seed([200; 32]);
        let client = offline_client(alice.clone());
        client.cache_identity(crate::identity::tests::identity(&alice, &node, "alice@example.org"));
        let found = client.identity(&alice.account_id()).await.expect("from cache");
        assert_eq!(found.handle().to_string(), "alice@example.org");
    }

    #[tokio::test]
    async fn invalid_input_is_refused_before_sending() {
        let client = offline_client(SecretKey::from_seed([1; 32]));
        assert!(matches!(client.create_room("", JoinRule::Public).await, Err(SdkError::InvalidInput(_))));
        assert!(matches!(client.create_room(&"x".repeat(200), JoinRule::Public).await, Err(SdkError::InvalidInput(_))));
    }

    #[tokio::test]
    async fn unreachable_node_is_a_transport_error() {
        let client = offline_client(SecretKey::from_seed([1; 32]));
        let err = client.rooms().await.unwrap_err();
        assert!(matches!(err, SdkError::Transport { .. }), "{err:?}");
        assert!(err.is_transient());
    }
}

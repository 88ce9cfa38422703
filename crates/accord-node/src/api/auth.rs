//! Login by signed challenge, and sessions (spec/client-api.md §2).

use super::{ApiError, ApiState};
use crate::http::extract::Json;
use crate::http::reply::Reply;
use accord_api::ErrorCode;
use accord_api::auth::{ChallengeRequest, ChallengeResponse, LoginRequest, LoginResponse};
use accord_proto::auth::AuthResponse;
use accord_proto::{AccountId, Sha256Hash, Timestamp, Unverified};
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use base64::Engine as _;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;

/// How long a challenge may be answered.
const CHALLENGE_MS: u64 = 60_000;
/// How long a session lasts.
const SESSION_MS: u64 = 24 * 3600 * 1000;
/// Most outstanding challenges in all.
const MAX_CHALLENGES: usize = 100_000;
/// Most outstanding challenges per account and client address (per
/// address, so that others cannot lock an account's owner out by asking
/// for its challenges).
const MAX_CHALLENGES_PER_ACCOUNT: usize = 8;
/// Most open sessions per account (the oldest is closed first).
const MAX_SESSIONS_PER_ACCOUNT: usize = 16;

/// Outstanding challenges (in memory) and open sessions: by the SHA-256
/// of their token, kept in the store too, so that a restart ends none.
#[derive(Default)]
pub struct Sessions {
    challenges: Mutex<HashMap<String, (AccountId, Timestamp, IpAddr)>>,
    tokens: Mutex<HashMap<Sha256Hash, (AccountId, Timestamp)>>,
}

/// The key a session is held and stored under: its token's SHA-256.
fn token_key(token: &str) -> Sha256Hash {
    Sha256Hash::digest(token.as_bytes())
}

fn random_b64() -> Result<String, ApiError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(ApiError::internal)?;
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}

impl Sessions {
    /// The sessions kept in `store` that have not ended.
    pub fn load(store: &accord_store::Store) -> Result<Self, accord_store::StoreError> {
        let now = Timestamp::now();
        let tokens = store
            .sessions()?
            .into_iter()
            .filter(|(_, _, expires)| *expires > now)
            .map(|(key, account, expires)| (key, (account, expires)))
            .collect();
        Ok(Self { challenges: Mutex::default(), tokens: Mutex::new(tokens) })
    }

    fn issue_challenge(&self, account: AccountId, client: IpAddr) -> Result<(String, Timestamp), ApiError> {
        let now = Timestamp::now();
        let expires = now.plus_millis(CHALLENGE_MS);
        let challenge = random_b64()?;
        let mut map = self.challenges.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_CHALLENGES {
            map.retain(|_, (_, exp, _)| *exp > now);
            if map.len() >= MAX_CHALLENGES {
                return Err(ApiError::rate_limited(CHALLENGE_MS));
            }
        }
        let outstanding = map.values().filter(|(a, exp, ip)| *a == account && *ip == client && *exp > now).count();
        if outstanding >= MAX_CHALLENGES_PER_ACCOUNT {
            return Err(ApiError::rate_limited(CHALLENGE_MS));
        }
        map.insert(challenge.clone(), (account, expires, client));
        Ok((challenge, expires))
    }

    fn take_challenge(&self, challenge: &str, account: &AccountId) -> bool {
        let mut map = self.challenges.lock().unwrap_or_else(|p| p.into_inner());
        match map.remove(challenge) {
            Some((owner, expires, _)) => owner == *account && expires > Timestamp::now(),
            None => false,
        }
    }

    /// Opens a session: its token, when it ends, and the keys of the
    /// sessions it ends (expired, or the account's oldest beyond its cap).
    fn open(&self, account: AccountId) -> Result<(String, Timestamp, Vec<Sha256Hash>), ApiError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(ApiError::internal)?;
        let token = hex::encode(bytes);
        let expires = Timestamp::now().plus_millis(SESSION_MS);
        let mut map = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        let now = Timestamp::now();
        let mut ended: Vec<Sha256Hash> = map.iter().filter(|(_, (_, exp))| *exp <= now).map(|(k, _)| *k).collect();
        map.retain(|_, (_, exp)| *exp > now);
        let mut mine: Vec<(Sha256Hash, Timestamp)> =
            map.iter().filter(|(_, (a, _))| *a == account).map(|(k, (_, exp))| (*k, *exp)).collect();
        if mine.len() >= MAX_SESSIONS_PER_ACCOUNT {
            mine.sort_by_key(|(_, exp)| *exp);
            for (old, _) in mine.iter().take(mine.len() + 1 - MAX_SESSIONS_PER_ACCOUNT) {
                map.remove(old);
                ended.push(*old);
            }
        }
        map.insert(token_key(&token), (account, expires));
        Ok((token, expires, ended))
    }

    /// Ends every session of `account` (it was deleted).
    pub fn end_all(&self, account: &AccountId) {
        self.tokens.lock().unwrap_or_else(|p| p.into_inner()).retain(|_, (a, _)| a != account);
    }

    /// The account of a valid session token.
    pub fn account(&self, token: &str) -> Option<AccountId> {
        let map = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&token_key(token)).filter(|(_, exp)| *exp > Timestamp::now()).map(|(a, _)| *a)
    }
}

/// The authenticated account of a request (bearer token, or `?token=` for
/// WebSocket clients that cannot set headers).
#[derive(Debug, Clone, Copy)]
pub struct Session(pub AccountId);

impl FromRequestParts<ApiState> for Session {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, api: &ApiState) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::to_owned);
        // `?token=` only for the live stream, whose clients may not be able
        // to set headers (spec/client-api.md §6).
        let query = (parts.uri.path() == "/v1/stream")
            .then(|| parts.uri.query())
            .flatten()
            .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("token=")).map(str::to_owned));
        let token = header.or(query).ok_or_else(ApiError::unauthenticated)?;
        let state = &api.core;
        let account = api.sessions.account(&token).ok_or_else(|| {
            state.metrics.reject("unauthenticated");
            ApiError::unauthenticated()
        })?;
        // A session of an account deleted since it logged in ends here
        // (its sessions are gone from the store too).
        if state.accounts.is_deleted(&account) {
            return Err(ApiError::unauthenticated());
        }
        // A session of an account blocked since it logged in ends here.
        if let Some(p) = state.lists.check_account(&state.store, &account) {
            state.metrics.reject("blocked");
            return Err(ApiError::blocked(&p));
        }
        Ok(Session(account))
    }
}

/// `POST /v1/auth/challenge`
pub async fn challenge(
    State(api): State<ApiState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    Json(req): Json<ChallengeRequest>,
) -> Result<Reply<ChallengeResponse>, ApiError> {
    let state = &api.core;
    if state.accounts.is_deleted(&req.account) {
        state.metrics.reject("account_deleted");
        return Err(ApiError::new(ErrorCode::AccountDeleted, "this account was deleted"));
    }
    if state.store.identity(&req.account)?.is_none() {
        state.metrics.reject("not_registered");
        return Err(ApiError::new(ErrorCode::NotRegistered, "account is not registered on this node"));
    }
    let (challenge, expires) = api.sessions.issue_challenge(req.account, client.ip())?;
    Ok(Reply(ChallengeResponse { challenge, node: state.node_id, expires }))
}

/// `POST /v1/auth/login`
pub async fn login(
    State(api): State<ApiState>,
    Json(req): Json<LoginRequest>,
) -> Result<Reply<LoginResponse>, ApiError> {
    let state = &api.core;
    let answer =
        Unverified::<AuthResponse>::from_raw(req.response).verify().inspect_err(|e| state.metrics.reject(e.code()))?;
    let bad = || {
        state.metrics.reject("bad_challenge");
        ApiError::new(ErrorCode::BadChallenge, "challenge unknown, expired, used, or for another node")
    };
    if answer.node != state.node_id {
        return Err(bad());
    }
    if !api.sessions.take_challenge(&answer.challenge, &answer.account) {
        return Err(bad());
    }
    if let Some(p) = state.lists.check_account(&state.store, &answer.account) {
        return Err(ApiError::blocked(&p));
    }
    if state.accounts.is_deleted(&answer.account) {
        state.metrics.reject("account_deleted");
        return Err(ApiError::new(ErrorCode::AccountDeleted, "this account was deleted"));
    }
    if state.store.identity(&answer.account)?.is_none() {
        state.metrics.reject("not_registered");
        return Err(ApiError::new(ErrorCode::NotRegistered, "account is not registered on this node"));
    }
    let (token, expires, ended) = api.sessions.open(answer.account)?;
    state.store.put_session(&token_key(&token), &answer.account, expires, &ended).await?;
    Ok(Reply(LoginResponse { token, account: answer.account, expires }))
}

//! Dashboard sessions (spec/blocklists.md §12.1a): the operator's browser
//! trades the admin token once for an `HttpOnly` cookie, so that the token
//! never sits in the page's storage; every request made with the cookie
//! must also carry `X-Accord-Dashboard: 1`, a header no other site can
//! make a browser send without a CORS preflight, which the node never
//! grants. Sessions live in memory and end after [`SESSION_TTL`], at
//! logout, or when the node stops.

use super::AdminState;
use crate::http::ApiError;
use crate::http::extract::Json;
use crate::http::reply::Reply;
use accord_api::ErrorCode;
use accord_api::admin::{AdminSession, AdminSessionClosed, AdminSessionRequest, DASHBOARD_HEADER, SESSION_COOKIE};
use accord_proto::Timestamp;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq as _;

/// How long a dashboard session lasts.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);

/// Most sessions held at once; opening one more ends the oldest.
const MAX_SESSIONS: usize = 64;

/// The live dashboard sessions: each a random 256-bit id (64 hex digits)
/// and when it ends.
#[derive(Debug, Default)]
pub struct Sessions {
    live: Mutex<Vec<(String, Instant)>>,
}

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(String, Instant)>> {
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Opens a session at `now`; its id.
    pub fn open(&self, now: Instant) -> Result<String, getrandom::Error> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)?;
        let id = hex::encode(bytes);
        let mut live = self.lock();
        live.retain(|(_, until)| *until > now);
        if live.len() >= MAX_SESSIONS {
            live.remove(0);
        }
        live.push((id.clone(), now + SESSION_TTL));
        Ok(id)
    }

    /// Whether `id` is a session live at `now` (compared in constant time).
    pub fn is_live(&self, id: &str, now: Instant) -> bool {
        self.lock().iter().any(|(held, until)| bool::from(held.as_bytes().ct_eq(id.as_bytes())) && *until > now)
    }

    /// Ends the session `id`; whether it was live.
    pub fn close(&self, id: &str, now: Instant) -> bool {
        let mut live = self.lock();
        let before = live.iter().filter(|(_, until)| *until > now).count();
        live.retain(|(held, until)| !bool::from(held.as_bytes().ct_eq(id.as_bytes())) && *until > now);
        live.len() < before
    }
}

/// Why the admin door refuses a request (spec/blocklists.md §12.1, §12.1a).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The client is not on a loopback address.
    #[error("the admin endpoint takes local requests only")]
    NotLoopback,
    /// Neither the token nor a session cookie.
    #[error("the admin endpoint takes local requests with the admin token")]
    NoCredentials,
    /// A bearer token that is not the admin token.
    #[error("the admin endpoint takes local requests with the admin token")]
    BadToken,
    /// The session cookie without `X-Accord-Dashboard: 1`.
    #[error("a dashboard request needs the header X-Accord-Dashboard: 1")]
    MissingHeader,
    /// A session cookie that names no live session.
    #[error("the dashboard session is unknown or expired; log in again")]
    BadSession,
}

impl Refusal {
    /// The stable code it is answered with.
    pub fn code(self) -> ErrorCode {
        match self {
            Refusal::NotLoopback | Refusal::NoCredentials | Refusal::BadToken => ErrorCode::Forbidden,
            Refusal::MissingHeader => ErrorCode::DashboardHeaderRequired,
            Refusal::BadSession => ErrorCode::BadAdminSession,
        }
    }
}

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> Self {
        ApiError::new(r.code(), r.to_string())
    }
}

/// The value of the session cookie among the request's cookies.
pub fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(SESSION_COOKIE)?.strip_prefix('='))
}

/// Whether the request carries `X-Accord-Dashboard: 1`.
fn has_dashboard_header(headers: &HeaderMap) -> bool {
    headers.get(DASHBOARD_HEADER).is_some_and(|v| v.as_bytes() == b"1")
}

/// Decides whether a request may use the admin door: from loopback, with
/// either the bearer token or a live session cookie and the dashboard
/// header. A bearer token, when present, decides alone.
pub fn authorize(
    client: IpAddr,
    headers: &HeaderMap,
    token: &str,
    sessions: &Sessions,
    now: Instant,
) -> Result<(), Refusal> {
    if !client.is_loopback() {
        return Err(Refusal::NotLoopback);
    }
    let bearer =
        headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    if let Some(bearer) = bearer {
        return if bool::from(bearer.as_bytes().ct_eq(token.as_bytes())) { Ok(()) } else { Err(Refusal::BadToken) };
    }
    let Some(cookie) = session_cookie(headers) else { return Err(Refusal::NoCredentials) };
    if !has_dashboard_header(headers) {
        return Err(Refusal::MissingHeader);
    }
    if !sessions.is_live(cookie, now) {
        return Err(Refusal::BadSession);
    }
    Ok(())
}

/// The session cookie. Without `Secure`: the admin listener is plain HTTP
/// on loopback or a Unix socket (an SSH tunnel from elsewhere), never TLS.
fn set_cookie(value: &str, max_age: u64) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/admin; Max-Age={max_age}"
    ))
    .ok()
}

/// `POST /admin/session`: a loopback client that presents the admin token
/// gets a session cookie.
pub async fn open(
    State(admin): State<AdminState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Json(req): Json<AdminSessionRequest>,
) -> Result<Response, ApiError> {
    if !addr.ip().is_loopback() {
        admin.core.metrics.reject("forbidden");
        return Err(Refusal::NotLoopback.into());
    }
    if !bool::from(req.token.trim().as_bytes().ct_eq(admin.token.as_bytes())) {
        admin.core.metrics.reject("forbidden");
        return Err(Refusal::BadToken.into());
    }
    let id = admin.sessions.open(Instant::now()).map_err(ApiError::internal)?;
    let cookie = set_cookie(&id, SESSION_TTL.as_secs()).ok_or_else(|| ApiError::internal("session cookie"))?;
    let expires = Timestamp::now().plus_millis(SESSION_TTL.as_millis() as u64);
    tracing::info!("dashboard session opened from {addr}");
    let mut response = Reply(AdminSession { expires }).into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(response)
}

/// `POST /admin/session/logout`: ends the request's session and clears
/// its cookie. Behind the guard, so only a live session (with the header)
/// or the token gets here.
pub async fn close(State(admin): State<AdminState>, headers: HeaderMap) -> Response {
    let ended = session_cookie(&headers).is_some_and(|id| admin.sessions.close(id, Instant::now()));
    let mut response = Reply(AdminSessionClosed { ended }).into_response();
    if let Some(cookie) = set_cookie("", 0) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const TOKEN: &str = "5c0f5c0f5c0f5c0f5c0f5c0f5c0f5c0f5c0f5c0f5c0f5c0f5c0f5c0f5c0f5c0f";
    const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                header::HeaderName::from_bytes(name.as_bytes()).expect("name"),
                HeaderValue::from_str(value).expect("value"),
            );
        }
        map
    }

    #[test]
    fn a_live_session_cookie_with_the_dashboard_header_is_let_through() {
        let (sessions, now) = (Sessions::default(), Instant::now());
        let id = sessions.open(now).expect("random");
        let cookie = format!("theme=dark; {SESSION_COOKIE}={id}");
        let h = headers(&[("cookie", &cookie), ("x-accord-dashboard", "1")]);
        assert_eq!(authorize(LOCAL, &h, TOKEN, &sessions, now), Ok(()));
    }

    #[test]
    fn a_session_cookie_without_the_dashboard_header_is_refused() {
        let (sessions, now) = (Sessions::default(), Instant::now());
        let id = sessions.open(now).expect("random");
        let h = headers(&[("cookie", &format!("{SESSION_COOKIE}={id}"))]);
        let refusal = authorize(LOCAL, &h, TOKEN, &sessions, now).expect_err("refused");
        assert_eq!((refusal, refusal.code()), (Refusal::MissingHeader, ErrorCode::DashboardHeaderRequired));
        let h = headers(&[("cookie", &format!("{SESSION_COOKIE}={id}")), ("x-accord-dashboard", "yes")]);
        assert_eq!(authorize(LOCAL, &h, TOKEN, &sessions, now), Err(Refusal::MissingHeader));
    }

    #[test]
    fn an_unknown_or_expired_session_is_refused() {
        let (sessions, now) = (Sessions::default(), Instant::now());
        let id = sessions.open(now).expect("random");
        let wrong =
            headers(&[("cookie", &format!("{SESSION_COOKIE}={}", "0".repeat(64))), ("x-accord-dashboard", "1")]);
        let refusal = authorize(LOCAL, &wrong, TOKEN, &sessions, now).expect_err("refused");
        assert_eq!((refusal, refusal.code()), (Refusal::BadSession, ErrorCode::BadAdminSession));
        let good = headers(&[("cookie", &format!("{SESSION_COOKIE}={id}")), ("x-accord-dashboard", "1")]);
        assert_eq!(authorize(LOCAL, &good, TOKEN, &sessions, now + SESSION_TTL - Duration::from_secs(1)), Ok(()));
        assert_eq!(authorize(LOCAL, &good, TOKEN, &sessions, now + SESSION_TTL), Err(Refusal::BadSession));
    }

    #[test]
    fn a_closed_session_is_refused() {
        let (sessions, now) = (Sessions::default(), Instant::now());
        let id = sessions.open(now).expect("random");
        assert!(sessions.close(&id, now));
        assert!(!sessions.close(&id, now), "closed once");
        let h = headers(&[("cookie", &format!("{SESSION_COOKIE}={id}")), ("x-accord-dashboard", "1")]);
        assert_eq!(authorize(LOCAL, &h, TOKEN, &sessions, now), Err(Refusal::BadSession));
    }

    #[test]
    fn a_client_that_is_not_on_loopback_is_refused_whatever_it_holds() {
        let (sessions, now) = (Sessions::default(), Instant::now());
        let id = sessions.open(now).expect("random");
        let remote = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7));
        let with_session = headers(&[("cookie", &format!("{SESSION_COOKIE}={id}")), ("x-accord-dashboard", "1")]);
        let with_token = headers(&[("authorization", &format!("Bearer {TOKEN}"))]);
        for h in [with_session, with_token] {
            let refusal = authorize(remote, &h, TOKEN, &sessions, now).expect_err("refused");
            assert_eq!((refusal, refusal.code()), (Refusal::NotLoopback, ErrorCode::Forbidden));
        }
    }

    #[test]
    fn the_bearer_token_still_opens_the_door_and_a_wrong_one_does_not() {
        let sessions = Sessions::default();
        let ok = headers(&[("authorization", &format!("Bearer {TOKEN}"))]);
        assert_eq!(authorize(LOCAL, &ok, TOKEN, &sessions, Instant::now()), Ok(()));
        let bad = headers(&[("authorization", "Bearer nope")]);
        assert_eq!(authorize(LOCAL, &bad, TOKEN, &sessions, Instant::now()), Err(Refusal::BadToken));
        assert_eq!(authorize(LOCAL, &HeaderMap::new(), TOKEN, &sessions, Instant::now()), Err(Refusal::NoCredentials));
    }

    #[test]
    fn the_cookie_is_http_only_and_strict_for_admin_paths() {
        let cookie = set_cookie("ab", 43200).expect("a header value");
        assert_eq!(cookie, "accord_admin=ab; HttpOnly; SameSite=Strict; Path=/admin; Max-Age=43200");
    }

    #[test]
    fn session_ids_are_256_random_bits_in_hex() {
        let (sessions, now) = (Sessions::default(), Instant::now());
        let (a, b) = (sessions.open(now).expect("random"), sessions.open(now).expect("random"));
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}

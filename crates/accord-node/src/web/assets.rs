//! The embedded files and the headers every one of them is served with.

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

/// The files under `crates/accord-node/web/`, embedded at build time (in
/// debug builds too, so tests serve exactly what a release serves).
#[derive(RustEmbed)]
#[folder = "web/"]
pub struct Asset;

/// The policy on every page: the node's own scripts (ES modules, no inline
/// script, no `eval`), styles and images; connections (fetch, WebSocket)
/// to the node only; no plugins, frames, forms posted elsewhere or `<base>`.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' blob: data:; connect-src 'self'; font-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// `GET /`: the chat client.
pub(super) async fn chat(headers: HeaderMap) -> Response {
    serve("chat/index.html", &headers)
}

/// `GET /dashboard`: the dashboard.
pub(super) async fn dashboard(headers: HeaderMap) -> Response {
    serve("dashboard/index.html", &headers)
}

/// The folders the chat client's listener serves files from.
const CHAT_FILES: [&str; 2] = ["chat/", "common/"];

/// The folders the admin listener serves files from.
const DASHBOARD_FILES: [&str; 2] = ["dashboard/", "common/"];

/// `GET /web/{path}` on the client API's listener: the chat client's files.
pub(super) async fn chat_file(Path(path): Path<String>, headers: HeaderMap) -> Response {
    serve_from(&CHAT_FILES, &path, &headers)
}

/// `GET /web/{path}` on the admin listener: the dashboard's files.
pub(super) async fn dashboard_file(Path(path): Path<String>, headers: HeaderMap) -> Response {
    serve_from(&DASHBOARD_FILES, &path, &headers)
}

/// Answers with the embedded file at `path` if it lies in one of
/// `folders`, or 404.
fn serve_from(folders: &[&str], path: &str, request: &HeaderMap) -> Response {
    if path.split('/').any(|part| part == "..") || !folders.iter().any(|folder| path.starts_with(folder)) {
        return with_policy((StatusCode::NOT_FOUND, "no such file").into_response());
    }
    serve(path, request)
}

/// Answers with the embedded file at `path`, revalidated by its SHA-256
/// (`ETag`), or 404.
fn serve(path: &str, request: &HeaderMap) -> Response {
    let Some(file) = Asset::get(path) else {
        return with_policy((StatusCode::NOT_FOUND, "no such file").into_response());
    };
    let etag = format!("\"{}\"", hex::encode(file.metadata.sha256_hash()));
    let fresh = request.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).is_some_and(|v| v == etag);
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mime = file.metadata.mimetype();
        let textual = mime.starts_with("text/") || mime.ends_with("javascript") || mime.ends_with("json");
        let content_type = if textual { format!("{mime}; charset=utf-8") } else { mime.to_owned() };
        let mut response = file.data.into_owned().into_response();
        if let Ok(value) = HeaderValue::from_str(&content_type) {
            response.headers_mut().insert(header::CONTENT_TYPE, value);
        }
        response
    };
    if let Ok(value) = HeaderValue::from_str(&etag) {
        response.headers_mut().insert(header::ETAG, value);
    }
    with_policy(response)
}

/// Adds the security headers every web answer carries.
fn with_policy(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

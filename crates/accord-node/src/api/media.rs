//! Media: uploads and downloads (spec/client-api.md §10).
//!
//! An upload is read as a stream and refused with `413 too_large` as soon
//! as it passes the limit (or at once when its `Content-Length` says it
//! will). Downloads answer with the stored type, never a type guessed by
//! the browser (`X-Content-Type-Options: nosniff`), a content security
//! policy that runs nothing, and `Content-Disposition: attachment` for
//! everything but images.

use super::ApiError;
use super::auth::Session;
use crate::core::Core;
use crate::core::media;
use crate::http::reply::Reply;
use accord_api::ErrorCode;
use accord_api::media::MediaUploaded;
use accord_proto::Sha256Hash;
use accord_proto::media::MediaType;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use std::sync::Arc;

/// The content security policy of every download: nothing runs, nothing
/// loads, the document is sandboxed.
pub const MEDIA_CSP: &str = "default-src 'none'; sandbox";

fn too_large(limit: u64) -> ApiError {
    ApiError::new(ErrorCode::TooLarge, format!("files are limited to {limit} bytes"))
}

/// `POST /v1/media`
pub async fn upload(
    State(state): State<Arc<Core>>,
    Session(account): Session,
    headers: HeaderMap,
    body: Body,
) -> Result<Reply<MediaUploaded>, ApiError> {
    let result = receive(&state, account, &headers, body).await;
    if let Err(e) = &result {
        state.metrics.reject(e.code().as_str());
    }
    result.map(Reply)
}

async fn receive(
    state: &Arc<Core>,
    account: accord_proto::AccountId,
    headers: &HeaderMap,
    body: Body,
) -> Result<MediaUploaded, ApiError> {
    state.limits.event(&account).map_err(ApiError::rate_limited)?;
    let limit = state.media.limits.max_bytes;
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large(limit));
    }
    let mut bytes = Vec::with_capacity(declared.unwrap_or(0).min(limit) as usize);
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request(format!("upload: {e}")))?;
        if bytes.len() as u64 + chunk.len() as u64 > limit {
            return Err(too_large(limit));
        }
        bytes.extend_from_slice(&chunk);
    }
    let core = state.clone();
    let uploaded = state
        .tasks()
        .spawn_to_completion(async move { media::upload(&core, account, bytes).await })
        .await
        .map_err(ApiError::internal)??;
    let a = uploaded.attachment;
    Ok(MediaUploaded {
        hash: a.hash,
        size: a.size,
        media_type: a.media_type,
        width: a.width,
        height: a.height,
        thumbnail: uploaded.thumbnail,
    })
}

fn parse_hash(text: &str) -> Result<Sha256Hash, ApiError> {
    let hash: Sha256Hash = text.parse().map_err(|e| ApiError::bad_request(format!("hash: {e}")))?;
    if hash.to_string() != text {
        return Err(ApiError::bad_request("hash: 64 lowercase hex digits"));
    }
    Ok(hash)
}

/// `GET /v1/media/{hash}`
pub async fn download(
    State(state): State<Arc<Core>>,
    Session(_): Session,
    Path(hash): Path<String>,
) -> Result<Response, ApiError> {
    let hash = parse_hash(&hash)?;
    serve(&state, &hash)
}

/// `GET /v1/media/{hash}/thumbnail`
pub async fn thumbnail(
    State(state): State<Arc<Core>>,
    Session(_): Session,
    Path(hash): Path<String>,
) -> Result<Response, ApiError> {
    let hash = parse_hash(&hash)?;
    let record = state.store.blob_record(&hash)?.ok_or_else(|| unknown(&hash))?;
    let thumb = record.thumbnail.ok_or_else(|| ApiError::new(ErrorCode::UnknownMedia, "no thumbnail"))?;
    serve(&state, &thumb)
}

fn unknown(hash: &Sha256Hash) -> ApiError {
    ApiError::new(ErrorCode::UnknownMedia, format!("this node holds no file {hash}"))
}

fn serve(state: &Core, hash: &Sha256Hash) -> Result<Response, ApiError> {
    let (record, bytes) = media::blob(state, hash)?.ok_or_else(|| unknown(hash))?;
    let content_type = match record.media_type {
        MediaType::Text => "text/plain; charset=utf-8",
        other => other.as_str(),
    };
    let disposition = match record.media_type {
        t if t.is_image() => "inline".to_string(),
        MediaType::Pdf => format!("attachment; filename=\"{hash}.pdf\""),
        MediaType::Text => format!("attachment; filename=\"{hash}.txt\""),
        _ => format!("attachment; filename=\"{hash}.bin\""),
    };
    let mut response = bytes.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(MEDIA_CSP));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=31536000, immutable"));
    h.insert("cross-origin-resource-policy", HeaderValue::from_static("same-origin"));
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

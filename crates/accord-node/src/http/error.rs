//! API errors: an HTTP status and accord-api's error body, a stable
//! machine code and a human message (spec/client-api.md §1, §1.1).

use crate::core::accounts::{LookupError, RegisterError};
use crate::core::lists::Provenance;
use crate::core::rooms::append::SubmitError;
use accord_api::{ErrorBody, ErrorCode, ErrorDetail};
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// When to try a join again after `rate_limited` for too many joins under
/// way (spec/client-api.md §4.1).
const JOINS_RETRY_AFTER_MS: u64 = 5_000;

/// A refused request.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    detail: ErrorDetail,
}

impl ApiError {
    /// An error with the code's status (`ErrorCode::status`).
    pub fn new(code: impl Into<ErrorCode>, message: impl Into<String>) -> Self {
        let code = code.into();
        let status = StatusCode::from_u16(code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        Self { status, detail: ErrorDetail::new(code, message) }
    }

    /// An error answered with another status than its code's (the two
    /// documented exceptions of `ErrorCode::status`).
    pub fn with_status(status: StatusCode, code: impl Into<ErrorCode>, message: impl Into<String>) -> Self {
        Self { status, detail: ErrorDetail::new(code.into(), message) }
    }

    /// The stable code.
    pub fn code(&self) -> &ErrorCode {
        &self.detail.code
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// `400 bad_request`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, message)
    }

    /// `401 unauthenticated`.
    pub fn unauthenticated() -> Self {
        Self::new(ErrorCode::Unauthenticated, "log in first (POST /v1/auth/challenge, /v1/auth/login)")
    }

    /// `429 rate_limited`.
    pub fn rate_limited(retry_after_ms: u64) -> Self {
        let mut error = Self::new(ErrorCode::RateLimited, "too many requests");
        error.detail = error.detail.with_retry_after_ms(retry_after_ms.max(1));
        error
    }

    /// `403 blocked`, with the list entry that blocks it.
    pub fn blocked(provenance: &Provenance) -> Self {
        tracing::info!(
            list = %provenance.list,
            entry = provenance.entry,
            category = provenance.category.as_str(),
            "request refused by a blocklist"
        );
        let message =
            format!("blocked by {} entry {} ({})", provenance.list, provenance.entry, provenance.category.as_str());
        let mut error = Self::new(ErrorCode::Blocked, message);
        error.detail = error.detail.with_provenance(provenance.clone());
        error
    }

    /// `500 internal`; the detail goes to the log, not to the client.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!("internal error: {detail}");
        Self::new(ErrorCode::Internal, "the node failed; nothing was stored")
    }

    /// `507 storage_full`: the disk is full; the detail goes to the log.
    pub fn storage_full(detail: impl std::fmt::Display) -> Self {
        tracing::warn!("refused, the disk is full: {detail}");
        Self::new(ErrorCode::StorageFull, "the node's storage is full; nothing was stored")
    }

    /// What went wrong, as the body's `error` carries it.
    pub fn detail(&self) -> &ErrorDetail {
        &self.detail
    }

    /// The error body (`{"error": …}`).
    pub fn body(&self) -> ErrorBody {
        ErrorBody::from(self.detail.clone())
    }
}

impl From<accord_proto::EnvelopeError> for ApiError {
    fn from(e: accord_proto::EnvelopeError) -> Self {
        Self::new(e.code(), e.to_string())
    }
}

impl From<accord_store::StoreError> for ApiError {
    fn from(e: accord_store::StoreError) -> Self {
        if e.is_no_space() { Self::storage_full(e) } else { Self::internal(e) }
    }
}

impl From<accord_proto::room::AuthError> for ApiError {
    fn from(e: accord_proto::room::AuthError) -> Self {
        Self::new(e.code(), e.to_string())
    }
}

impl From<RegisterError> for ApiError {
    fn from(e: RegisterError) -> Self {
        match &e {
            RegisterError::Identity(e) => e.clone().into(),
            RegisterError::Blocked(p) => Self::blocked(p),
            RegisterError::RateLimited(ms) => Self::rate_limited(*ms),
            RegisterError::Store(s) if s.is_no_space() => Self::storage_full(s),
            RegisterError::Sign(_) | RegisterError::Store(_) => Self::internal(e),
            _ => Self::new(e.code(), e.to_string()),
        }
    }
}

impl From<LookupError> for ApiError {
    fn from(e: LookupError) -> Self {
        match &e {
            LookupError::Blocked(p) => Self::blocked(p),
            LookupError::Store(_) => Self::internal(e),
            _ => Self::new(e.code(), e.to_string()),
        }
    }
}

impl From<SubmitError> for ApiError {
    fn from(e: SubmitError) -> Self {
        match &e {
            SubmitError::Envelope(e) => e.clone().into(),
            SubmitError::Blocked(p) => Self::blocked(p),
            SubmitError::Attachment(crate::core::media::AttachmentError::Blocked(_, p)) => Self::blocked(p),
            SubmitError::Store(_) | SubmitError::Internal(_) => Self::internal(e),
            SubmitError::TooManyJoins(_) => {
                let mut error = Self::rate_limited(JOINS_RETRY_AFTER_MS);
                error.detail.message = e.to_string();
                error
            }
            SubmitError::JoinInProgress(status) => {
                let mut error = Self::new(ErrorCode::JoinInProgress, e.to_string());
                error.detail = error.detail.with_join((**status).clone());
                error
            }
            _ => Self::new(e.code(), e.to_string()),
        }
    }
}

impl From<crate::core::media::UploadError> for ApiError {
    fn from(e: crate::core::media::UploadError) -> Self {
        use crate::core::media::UploadError;
        match &e {
            UploadError::Blocked(p) => Self::blocked(p),
            UploadError::Store(_) => Self::internal(e),
            _ => Self::new(e.code(), e.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry_after = self.detail.retry_after_ms;
        let mut response = (self.status, Json(self.body())).into_response();
        if let Some(ms) = retry_after
            && let Ok(v) = HeaderValue::from_str(&ms.div_ceil(1000).to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}

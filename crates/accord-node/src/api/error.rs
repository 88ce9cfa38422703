//! API errors: an HTTP status, a stable machine code and a human message
//! (spec/client-api.md §1.1).

use crate::core::accounts::{LookupError, RegisterError};
use crate::core::lists::Provenance;
use crate::core::rooms::append::SubmitError;
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// A refused request.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code.
    pub code: &'static str,
    /// Human-readable message.
    pub message: String,
    /// For `rate_limited`: when to retry.
    pub retry_after_ms: Option<u64>,
    /// For `blocked`: the list entry that blocks it.
    pub provenance: Option<serde_json::Value>,
}

impl ApiError {
    /// An error with the given status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), retry_after_ms: None, provenance: None }
    }

    /// `400 bad_request`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// `401 unauthenticated`.
    pub fn unauthenticated() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", "log in first (POST /v1/auth/challenge, /v1/auth/login)")
    }

    /// `429 rate_limited`.
    pub fn rate_limited(retry_after_ms: u64) -> Self {
        Self {
            retry_after_ms: Some(retry_after_ms.max(1)),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "too many requests")
        }
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
        Self {
            provenance: serde_json::to_value(provenance).ok(),
            ..Self::new(StatusCode::FORBIDDEN, "blocked", message)
        }
    }

    /// `500 internal`; the detail goes to the log, not to the client.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!("internal error: {detail}");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the node failed; nothing was stored")
    }

    /// The JSON body.
    pub fn body(&self) -> serde_json::Value {
        let mut error = json!({"code": self.code, "message": self.message});
        if let Some(ms) = self.retry_after_ms {
            error["retry_after_ms"] = json!(ms);
        }
        if let Some(provenance) = &self.provenance {
            error["provenance"] = provenance.clone();
        }
        json!({ "error": error })
    }
}

impl From<accord_proto::EnvelopeError> for ApiError {
    fn from(e: accord_proto::EnvelopeError) -> Self {
        let status = if e.code() == "too_large" { StatusCode::PAYLOAD_TOO_LARGE } else { StatusCode::BAD_REQUEST };
        Self::new(status, e.code(), e.to_string())
    }
}

impl From<accord_store::StoreError> for ApiError {
    fn from(e: accord_store::StoreError) -> Self {
        Self::internal(e)
    }
}

impl From<accord_proto::room::AuthError> for ApiError {
    fn from(e: accord_proto::room::AuthError) -> Self {
        Self::new(StatusCode::FORBIDDEN, e.code(), e.to_string())
    }
}

impl From<RegisterError> for ApiError {
    fn from(e: RegisterError) -> Self {
        let status = match &e {
            RegisterError::Identity(e) => return e.clone().into(),
            RegisterError::Blocked(p) => return Self::blocked(p),
            RegisterError::Sign(_) | RegisterError::Store(_) => return Self::internal(e),
            RegisterError::AlreadyRegistered | RegisterError::HandleTaken => StatusCode::CONFLICT,
            _ => StatusCode::FORBIDDEN,
        };
        Self::new(status, e.code(), e.to_string())
    }
}

impl From<LookupError> for ApiError {
    fn from(e: LookupError) -> Self {
        match &e {
            LookupError::Blocked(p) => Self::blocked(p),
            LookupError::Unknown => Self::new(StatusCode::NOT_FOUND, e.code(), e.to_string()),
            _ => Self::internal(e),
        }
    }
}

impl From<SubmitError> for ApiError {
    fn from(e: SubmitError) -> Self {
        let status = match &e {
            SubmitError::Envelope(e) => return e.clone().into(),
            SubmitError::Blocked(p) => return Self::blocked(p),
            SubmitError::Store(_) | SubmitError::Internal(_) => return Self::internal(e),
            SubmitError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            SubmitError::NotSubmitter | SubmitError::Auth(_) => StatusCode::FORBIDDEN,
            SubmitError::Duplicate(_) => StatusCode::CONFLICT,
            SubmitError::UnknownRoom | SubmitError::JoinRefused(_) => StatusCode::NOT_FOUND,
            _ => StatusCode::BAD_REQUEST,
        };
        Self::new(status, e.code(), e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body())).into_response();
        if let Some(ms) = self.retry_after_ms
            && let Ok(v) = HeaderValue::from_str(&ms.div_ceil(1000).to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}

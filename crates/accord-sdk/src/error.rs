//! Errors, one enum per area: building a client, key files, verification,
//! and everything a client operation can run into.

use accord_api::reports::OutcomeError;
use accord_api::{ErrorCode, ErrorDetail, Provenance};
use accord_proto::audit::AuditError;
use accord_proto::event::EventError;
use accord_proto::report::ReportError;
use accord_proto::{AccountId, EnvelopeError, EventId, NodeId, RoomId};

/// The result of a client operation.
pub type Result<T, E = SdkError> = std::result::Result<T, E>;

/// Why a [`Client`](crate::Client) could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// [`ClientBuilder::node_url`](crate::ClientBuilder::node_url) was not called.
    #[error("no node URL given")]
    MissingNodeUrl,
    /// [`ClientBuilder::key`](crate::ClientBuilder::key) was not called.
    #[error("no account key given")]
    MissingKey,
    /// The node URL does not parse, or is not an `http://` or `https://` base URL.
    #[error("invalid node URL `{url}`: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The HTTP client could not be set up.
    #[error("cannot set up the HTTP client: {0}")]
    Http(String),
    /// A CA certificate given with
    /// [`ClientBuilder::add_root_certificate_pem`](crate::ClientBuilder::add_root_certificate_pem)
    /// cannot be used.
    #[error("invalid CA certificate: {0}")]
    Certificate(String),
}

pub use accord_keyfile::KeyFileError;

/// Why an object the node handed over was refused by local verification.
///
/// It names accounts and nodes by their typed ids, which hold decoded
/// curve points (about 200 bytes each); [`SdkError`] carries it boxed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
#[allow(clippy::large_enum_variant)]
pub enum VerificationError {
    /// An event's signatures or structure do not verify.
    #[error("event does not verify: {0}")]
    Event(#[source] EventError),
    /// An identity document does not verify.
    #[error("identity document does not verify: {0}")]
    IdentityDocument(#[source] EnvelopeError),
    /// A home node's attestation does not verify.
    #[error("attestation does not verify: {0}")]
    Attestation(#[source] EnvelopeError),
    /// An identity document and its attestation do not belong together, or
    /// do not name the account or node asked for.
    #[error("identity of {account} is inconsistent: {reason}")]
    IdentityMismatch {
        /// The account whose identity was checked.
        account: AccountId,
        /// What does not match.
        reason: String,
    },
    /// The author's identity could not be found, so its home node is unknown.
    #[error("identity of author {author} is unknown ({code}): cannot check the event's origin")]
    UnknownAuthor {
        /// The event's author.
        author: AccountId,
        /// The node's error code for the lookup.
        code: String,
    },
    /// The author's identity does not verify.
    #[error("identity of author {author} does not verify: {reason}")]
    AuthorIdentity {
        /// The event's author.
        author: AccountId,
        /// Why the identity was refused.
        reason: Box<VerificationError>,
    },
    /// The event was stamped by another node than the author's home node.
    #[error("event stamped by {origin}, but its author {author} lives on {home}")]
    WrongOrigin {
        /// The event's author.
        author: AccountId,
        /// The node that stamped the event.
        origin: NodeId,
        /// The author's home node, according to the author's identity.
        home: NodeId,
    },
    /// The event belongs to another room than the one asked about.
    #[error("event belongs to room {found}, expected {expected}")]
    WrongRoom {
        /// The room asked about.
        expected: RoomId,
        /// The room the event names.
        found: RoomId,
    },
    /// What the node returned for a sent event is not the event that was sent.
    #[error("receipt does not match the event sent: {0}")]
    ReceiptMismatch(String),
    /// A report the node handed over (in a moderator's case) does not
    /// verify (spec/reports.md §3).
    #[error("report does not verify: {0}")]
    Report(#[source] ReportError),
    /// A moderator's signed action (a report's outcome) does not verify.
    #[error("moderation action does not verify: {0}")]
    ModAction(#[source] EnvelopeError),
    /// A node's audit log does not verify (spec/reports.md §10).
    #[error("audit log does not verify: {0}")]
    Audit(#[source] AuditError),
    /// What the node says about a signed object does not match the object
    /// (an outcome's fields, a report's id, an audit log's node).
    #[error("the node's description does not match the signed object: {0}")]
    Inconsistent(String),
}

/// An error from a client operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SdkError {
    /// The node refused the request with one of its stable error codes
    /// (client API §1.1), e.g. `not_member` or `rate_limited`.
    ///
    /// For errors reported on the live stream, which carry no HTTP status,
    /// `status` is the one the node answers the code with
    /// ([`ErrorCode::status`]).
    ///
    /// A refusal because of a blocklist entry has the code `blocked` and
    /// names the entry in `provenance` (also [`SdkError::provenance`]).
    #[error("{code}: {message}{}", blocked_by(.provenance.as_deref()))]
    Api {
        /// The HTTP status.
        status: u16,
        /// The node's stable, machine-readable error code.
        code: ErrorCode,
        /// The node's human-readable message.
        message: String,
        /// For `rate_limited`: how long to wait before trying again.
        retry_after_ms: Option<u64>,
        /// For `blocked`: the blocklist entry behind the refusal, as the
        /// node names it.
        provenance: Option<Box<Provenance>>,
    },
    /// The node could not be reached, or the connection failed.
    #[error("{message}")]
    Transport {
        /// What failed, with the underlying errors' messages.
        message: String,
    },
    /// The TLS handshake with an `https://` node failed, most often because
    /// its certificate is not signed by a trusted CA. Not transient: the
    /// same connection fails the same way until the trust is configured.
    #[error("{message}")]
    Tls {
        /// What failed and, for an untrusted certificate, what to do.
        message: String,
    },
    /// The node answered something the client API does not allow (a body
    /// that does not parse, cursors out of order, …).
    #[error("unexpected answer from the node: {0}")]
    Protocol(String),
    /// An object the node handed over failed local verification. On a
    /// stream or in a history page this is one item: the others are fine.
    #[error("{}", verification_display(*.cursor, .event.as_ref(), .reason))]
    Verification {
        /// The item's cursor, for timeline items.
        cursor: Option<u64>,
        /// The event's id as claimed (hash of the author body), if any.
        event: Option<EventId>,
        /// What failed.
        #[source]
        reason: Box<VerificationError>,
    },
    /// The caller's input is not valid; nothing was sent.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The node skipped cursors on a live stream and could not serve them
    /// from history either. The stream continues after `to`.
    #[error("node cannot serve cursors {from} to {to} of room {room}")]
    MissingCursors {
        /// The room.
        room: RoomId,
        /// First missing cursor.
        from: u64,
        /// Last missing cursor.
        to: u64,
    },
    /// A live stream gave up reconnecting; it ends after this item.
    #[error("gave up reconnecting after {attempts} attempts: {last}")]
    ReconnectFailed {
        /// Consecutive attempts made.
        attempts: u32,
        /// The last attempt's error.
        #[source]
        last: Box<SdkError>,
    },
}

fn blocked_by(provenance: Option<&Provenance>) -> String {
    provenance.map(|p| format!(" (blocked by {p})")).unwrap_or_default()
}

fn verification_display(cursor: Option<u64>, event: Option<&EventId>, reason: &VerificationError) -> String {
    match (cursor, event) {
        (Some(c), Some(e)) => format!("verification failed for event {e} at cursor {c}: {reason}"),
        (Some(c), None) => format!("verification failed at cursor {c}: {reason}"),
        (None, Some(e)) => format!("verification failed for event {e}: {reason}"),
        (None, None) => format!("verification failed: {reason}"),
    }
}

impl SdkError {
    /// The stable error code: the node's for [`SdkError::Api`], a fixed
    /// client-side code otherwise (`transport`, `tls`, `protocol`, `verification`,
    /// `invalid_input`, `missing_cursors`, `reconnect_failed`).
    pub fn code(&self) -> &str {
        match self {
            SdkError::Api { code, .. } => code.as_str(),
            SdkError::Transport { .. } => "transport",
            SdkError::Tls { .. } => "tls",
            SdkError::Protocol(_) => "protocol",
            SdkError::Verification { .. } => "verification",
            SdkError::InvalidInput(_) => "invalid_input",
            SdkError::MissingCursors { .. } => "missing_cursors",
            SdkError::ReconnectFailed { .. } => "reconnect_failed",
        }
    }

    /// The blocklist entry that made the node refuse the request: set for
    /// [`SdkError::Api`] errors with the code `blocked` when the node names
    /// it, `None` otherwise.
    pub fn provenance(&self) -> Option<&Provenance> {
        match self {
            SdkError::Api { provenance, .. } => provenance.as_deref(),
            _ => None,
        }
    }

    /// For a `rate_limited` refusal (or another that says): how long to
    /// wait before trying again.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            SdkError::Api { retry_after_ms: Some(ms), .. } => Some(std::time::Duration::from_millis(*ms)),
            _ => None,
        }
    }

    /// Whether trying again later may succeed: transport failures, rate
    /// limits, expired sessions or login challenges, and server-side failures.
    pub fn is_transient(&self) -> bool {
        match self {
            SdkError::Transport { .. } => true,
            SdkError::Api { status, code, .. } => *status >= 500 || code.is_transient(),
            _ => false,
        }
    }

    pub(crate) fn verification(cursor: Option<u64>, event: Option<EventId>, reason: VerificationError) -> Self {
        SdkError::Verification { cursor, event, reason: Box::new(reason) }
    }

    /// An [`SdkError::Api`] from the node's error object; without an HTTP
    /// status (on the live stream) the status is the code's.
    pub(crate) fn api(status: Option<u16>, detail: ErrorDetail) -> Self {
        let ErrorDetail { code, message, retry_after_ms, provenance, .. } = detail;
        let status = status.unwrap_or_else(|| code.status());
        SdkError::Api { status, code, message, retry_after_ms, provenance }
    }
}

impl From<OutcomeError> for VerificationError {
    fn from(e: OutcomeError) -> Self {
        match e {
            OutcomeError::Signature(e) => VerificationError::ModAction(e),
            other => VerificationError::Inconsistent(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_errors_take_the_status_of_their_code() {
        let detail = |code: &str| ErrorDetail::new(ErrorCode::from_code(code), "x");
        assert!(matches!(SdkError::api(None, detail("not_member")), SdkError::Api { status: 403, .. }));
        assert!(matches!(SdkError::api(None, detail("rate_limited")), SdkError::Api { status: 429, .. }));
        assert!(matches!(SdkError::api(None, detail("something_new")), SdkError::Api { status: 500, .. }));
        assert!(matches!(SdkError::api(Some(418), detail("not_member")), SdkError::Api { status: 418, .. }));
    }

    #[test]
    fn transient_errors() {
        let api = |status, code: &str| SdkError::Api {
            status,
            code: code.into(),
            message: String::new(),
            retry_after_ms: None,
            provenance: None,
        };
        assert!(api(429, "rate_limited").is_transient());
        assert!(api(500, "internal").is_transient());
        assert!(api(401, "unauthenticated").is_transient());
        assert!(!api(403, "not_member").is_transient());
        assert!(!SdkError::InvalidInput("x".into()).is_transient());
        assert_eq!(api(403, "not_member").code(), "not_member");
        assert_eq!(api(429, "rate_limited").retry_after(), None);
        let limited = SdkError::Api {
            status: 429,
            code: "rate_limited".into(),
            message: String::new(),
            retry_after_ms: Some(1500),
            provenance: None,
        };
        assert_eq!(limited.retry_after(), Some(std::time::Duration::from_millis(1500)));
        assert_eq!(SdkError::Protocol("x".into()).code(), "protocol");
    }

    #[test]
    fn blocked_errors_name_the_entry() {
        let provenance = Provenance::of_entry(
            accord_proto::ListId {
                issuer: accord_proto::IssuerId::from(accord_proto::SecretKey::from_seed([7; 32]).public()),
                name: "spam".parse().expect("name"),
            },
            3,
            accord_proto::blocklist::Category::Spam,
            accord_proto::blocklist::Action::Reject,
            Some("bulk ads".into()),
        );
        let err = SdkError::Api {
            status: 403,
            code: "blocked".into(),
            message: "the account is blocked".into(),
            retry_after_ms: None,
            provenance: Some(Box::new(provenance.clone())),
        };
        assert_eq!(err.provenance(), Some(&provenance));
        assert!(!err.is_transient());
        assert_eq!(err.to_string(), format!("blocked: the account is blocked (blocked by {provenance})"));
        assert_eq!(SdkError::Protocol("x".into()).provenance(), None);
    }
}

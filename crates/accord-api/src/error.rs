//! Errors: every refusal is one JSON body with a stable machine code and
//! a human message (spec/client-api.md §1, §1.1; spec/reports.md §5, §11;
//! spec/blocklists.md §12.1).

use crate::provenance::Provenance;
use crate::rooms::JoinStatus;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::convert::Infallible;
use std::fmt;
use std::str::FromStr;

/// Declares [`ErrorCode`]: each variant, its wire name and its HTTP status.
macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident = $text:literal, $status:literal;)*) => {
        /// A stable, machine-readable error code (spec/client-api.md §1.1,
        /// spec/reports.md §5 and §11, spec/blocklists.md §12.1), on the
        /// wire as its snake_case name.
        ///
        /// A code this crate does not know (from a newer node) is kept as
        /// [`ErrorCode::Unknown`]; [`ErrorCode::from_code`] and
        /// deserialization never put a known code there.
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)*
            /// A code this crate does not know.
            Unknown(UnknownCode),
        }

        impl ErrorCode {
            /// Every code this crate knows, in the order of the tables.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The code's wire name, e.g. `not_member`.
            pub fn as_str(&self) -> &str {
                match self {
                    $(ErrorCode::$variant => $text,)*
                    ErrorCode::Unknown(code) => code.as_str(),
                }
            }

            /// The HTTP status the node answers the code with. Two
            /// exceptions keep their documented statuses: the admin
            /// endpoint's import answers `400 too_large` for a text over
            /// the import limit (spec/blocklists.md §12.1), and a
            /// moderator's action whose list entries fail answers the
            /// list's code (`unknown_list`, `list_exists`, …) with `400`.
            /// An unknown code gives `500`.
            pub fn status(&self) -> u16 {
                match self {
                    $(ErrorCode::$variant => $status,)*
                    ErrorCode::Unknown(_) => 500,
                }
            }

            /// The code of a wire name: a known variant, or
            /// [`ErrorCode::Unknown`].
            pub fn from_code(text: &str) -> ErrorCode {
                match text {
                    $($text => ErrorCode::$variant,)*
                    other => ErrorCode::Unknown(UnknownCode(other.to_owned())),
                }
            }
        }
    };
}

error_codes! {
    /// The body is not valid JSON of the expected shape, or a signed body
    /// does not parse.
    Malformed = "malformed", 400;
    /// A parameter is missing or invalid (path id, query, admin field).
    BadRequest = "bad_request", 400;
    /// A signed object breaks a field rule; a moderation request is invalid.
    Invalid = "invalid", 400;
    /// A signature does not verify.
    BadSignature = "bad_signature", 400;
    /// A body names another key than the one that signed it.
    SignerMismatch = "signer_mismatch", 400;
    /// A signed body parses but is not in canonical form.
    NonCanonical = "non_canonical", 400;
    /// An event's `ts` is too far from the node's clock.
    BadTimestamp = "bad_timestamp", 400;
    /// A report's evidence event does not verify (spec/reports.md §5).
    ForgedEvidence = "forged_evidence", 400;
    /// A report's subject authored none of its evidence (spec/reports.md §5).
    SubjectMismatch = "subject_mismatch", 400;
    /// A list entry is invalid (spec/blocklists.md §7).
    InvalidEntry = "invalid_entry", 400;
    /// Only the list's issuer may do that (spec/blocklists.md §7).
    NotIssuer = "not_issuer", 400;
    /// A checkpoint does not verify or does not match (spec/blocklists.md §7).
    BadCheckpoint = "bad_checkpoint", 400;
    /// A range of leaves does not lead to the signed root (spec/blocklists.md §7).
    BadRange = "bad_range", 400;
    /// The list's issuer is distrusted (spec/blocklists.md §10.6).
    Distrusted = "distrusted", 400;
    /// Suggestions are decided only for a subscription in `suggest` mode
    /// (spec/blocklists.md §12.2d).
    NotSuggestMode = "not_suggest_mode", 409;
    /// A checkpoint lacks the witness cosignatures its subscription
    /// requires (spec/blocklists.md §13.5).
    MissingCosignatures = "missing_cosignatures", 400;
    /// A required witness's cosignature does not verify (spec/blocklists.md §13.5).
    BadCosignature = "bad_cosignature", 400;
    /// An import or export names an unknown format (spec/blocklists.md §9.4).
    UnknownFormat = "unknown_format", 400;
    /// An import has too many rows (spec/blocklists.md §9.4).
    TooManyRows = "too_many_rows", 400;
    /// An import's CSV does not parse (spec/blocklists.md §9.4).
    BadCsv = "bad_csv", 400;
    /// An import's JSON does not parse (spec/blocklists.md §9.4).
    BadJson = "bad_json", 400;
    /// An uploaded file ends before its format says it does.
    TruncatedMedia = "truncated_media", 400;
    /// Bytes follow the end of an uploaded image (a polyglot file).
    PolyglotMedia = "polyglot_media", 400;
    /// An uploaded image has more pixels than the node decodes (a
    /// decompression bomb, or too big).
    TooManyPixels = "too_many_pixels", 400;
    /// An uploaded image does not decode (or is empty).
    UndecodableMedia = "undecodable_media", 400;
    /// A message names an attachment this node does not hold.
    MissingAttachment = "missing_attachment", 400;
    /// A message's attachment differs from the file held (size, type,
    /// dimensions).
    AttachmentMismatch = "attachment_mismatch", 400;
    /// No valid session token.
    Unauthenticated = "unauthenticated", 401;
    /// The login challenge is unknown, expired or already used.
    BadChallenge = "bad_challenge", 401;
    /// The admin dashboard's session cookie is unknown or expired
    /// (spec/blocklists.md §12.1a).
    BadAdminSession = "bad_admin_session", 401;
    /// An event or report is signed by another account than the session's.
    NotSessionAccount = "not_session_account", 403;
    /// The account is not registered on this node.
    NotRegistered = "not_registered", 403;
    /// The account deleted itself (spec/identities.md §5): its identity
    /// is not served, its key is not registered or logged in again.
    AccountDeleted = "account_deleted", 410;
    /// The node's registration policy is `closed`.
    RegistrationClosed = "registration_closed", 403;
    /// The invite code is missing, unknown or used.
    BadInvite = "bad_invite", 403;
    /// The identity document names another home node or node name.
    WrongHome = "wrong_home", 403;
    /// Room rules: the author is not a member of the room.
    NotMember = "not_member", 403;
    /// Room rules: the author is banned.
    Banned = "banned", 403;
    /// Room rules: the room is invite-only and the author is not invited.
    NotInvited = "not_invited", 403;
    /// Room rules: the author's role does not allow it; the admin endpoint
    /// refuses the client.
    Forbidden = "forbidden", 403;
    /// Room rules: the author is a member already.
    AlreadyMember = "already_member", 403;
    /// Room rules: the event's target is not valid for it.
    BadTarget = "bad_target", 403;
    /// Room rules: a second `create`.
    ExtraCreate = "extra_create", 403;
    /// Room rules: the event names another room.
    WrongRoom = "wrong_room", 403;
    /// A blocklist entry the node applies covers the request; the error
    /// carries its provenance.
    Blocked = "blocked", 403;
    /// The report is signed by another account than the session's.
    NotReporter = "not_reporter", 403;
    /// Only moderators of this node may do that.
    NotModerator = "not_moderator", 403;
    /// The case is outside the moderator's categories (spec/reports.md §12.1).
    OutOfScope = "out_of_scope", 403;
    /// The moderator who took a decision may not resolve its appeal
    /// (spec/reports.md §15).
    SameModerator = "same_moderator", 403;
    /// The appealing account is not accused in the case (spec/reports.md §15).
    NotAccused = "not_accused", 403;
    /// A request with the admin session cookie lacks the header
    /// `X-Accord-Dashboard: 1` (spec/blocklists.md §12.1a).
    DashboardHeaderRequired = "dashboard_header_required", 403;
    /// A join through other nodes is still fetching the room's history:
    /// the node carries it on by itself and sends the event once the room
    /// is held; the error carries the join's progress (spec/client-api.md
    /// §4.1). Answered `202 Accepted`: nothing failed.
    JoinInProgress = "join_in_progress", 202;
    /// No such room on this node.
    UnknownRoom = "unknown_room", 404;
    /// A join names no node and no node announces the room in the DHT
    /// (spec/federation.md §1.4).
    NoProvider = "no_provider", 404;
    /// No such identity on this node.
    UnknownAccount = "unknown_account", 404;
    /// No such endpoint.
    NotFound = "not_found", 404;
    /// No such report case.
    UnknownCase = "unknown_case", 404;
    /// No such list on this node.
    UnknownList = "unknown_list", 404;
    /// The account is not a moderator of this node.
    UnknownModerator = "unknown_moderator", 404;
    /// No such appeal (spec/reports.md §15).
    UnknownAppeal = "unknown_appeal", 404;
    /// The appeal names no appealable decision of the node's audit log
    /// (spec/reports.md §15).
    UnknownDecision = "unknown_decision", 404;
    /// The reporter is not muted (spec/reports.md §12.1).
    NotMuted = "not_muted", 404;
    /// The node holds no file with that hash.
    UnknownMedia = "unknown_media", 404;
    /// The endpoint does not take this HTTP method.
    MethodNotAllowed = "method_not_allowed", 405;
    /// The request's body did not arrive within its deadline; the
    /// connection is closed.
    RequestTimeout = "request_timeout", 408;
    /// An event with this id is already stored.
    DuplicateEvent = "duplicate_event", 409;
    /// The account is already registered.
    AlreadyRegistered = "already_registered", 409;
    /// Another account holds this handle.
    HandleTaken = "handle_taken", 409;
    /// The case is already resolved.
    Resolved = "resolved", 409;
    /// The appeal is already resolved, or the decision already appealed
    /// (spec/reports.md §15).
    AppealResolved = "appeal_resolved", 409;
    /// The stored audit log does not verify.
    AuditTampered = "audit_tampered", 409;
    /// This node already issues a list of that name.
    ListExists = "list_exists", 409;
    /// The request body or a signed body is over its limit.
    TooLarge = "too_large", 413;
    /// Storing an upload would pass the account's or the node's quota.
    QuotaExceeded = "quota_exceeded", 413;
    /// The type of an uploaded file is one the node never stores (HTML,
    /// SVG, XML; GIF and WebP from peers).
    UnsupportedMediaType = "unsupported_media_type", 415;
    /// Too many requests; retry after `retry_after_ms`.
    RateLimited = "rate_limited", 429;
    /// The node failed; nothing was stored.
    Internal = "internal", 500;
    /// The peer the admin asked about did not answer over libp2p
    /// (spec/blocklists.md §12.2c).
    PeerUnreachable = "peer_unreachable", 502;
    /// The node's disk is full: nothing was stored; the same request may
    /// succeed later, once the operator has freed space.
    StorageFull = "storage_full", 507;
    /// The node was restored from a backup and has not yet synced this
    /// room with a peer: it stamps nothing there until it has (so that it
    /// never reuses a sequence number it used after the backup).
    CatchingUp = "catching_up", 503;
    /// The node is starting: it answers its health endpoints, and
    /// everything else once its rooms are loaded.
    Starting = "starting", 503;
}

/// An error code this crate does not know, as the node sent it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UnknownCode(String);

impl UnknownCode {
    /// The code as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl ErrorCode {
    /// Whether trying again later may succeed: rate limits, expired
    /// sessions or login challenges, and the node's failures (status 500
    /// and above, unknown codes included).
    pub fn is_transient(&self) -> bool {
        matches!(self, ErrorCode::RateLimited | ErrorCode::Unauthenticated | ErrorCode::BadChallenge)
            || self.status() >= 500
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ErrorCode {
    type Err = Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(ErrorCode::from_code(s))
    }
}

impl From<&str> for ErrorCode {
    fn from(text: &str) -> Self {
        ErrorCode::from_code(text)
    }
}

impl PartialEq<str> for ErrorCode {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Ok(ErrorCode::from_code(&text))
    }
}

/// The body of every refusal: `{"error": {…}}` (spec/client-api.md §1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

impl From<ErrorDetail> for ErrorBody {
    fn from(error: ErrorDetail) -> Self {
        ErrorBody { error }
    }
}

/// The `error` object of a refusal (spec/client-api.md §1), also the
/// `error` of a live stream's error frame (§6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ErrorDetail {
    /// The stable machine code.
    pub code: ErrorCode,
    /// The human message.
    #[serde(default)]
    pub message: String,
    /// For `rate_limited`: when to retry, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
    /// For `blocked`: the blocklist entry that blocks the request
    /// (spec/client-api.md §1.2). Read leniently: one that does not parse
    /// is dropped, so that the code and message stay readable.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "crate::lenient::option")]
    pub provenance: Option<Box<Provenance>>,
    /// For `join_in_progress`: how far the join has got
    /// (spec/client-api.md §4.1). Read leniently, as `provenance` is.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "crate::lenient::option")]
    pub join: Option<Box<JoinStatus>>,
}

impl ErrorDetail {
    /// An error with a code and a message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ErrorDetail { code, message: message.into(), retry_after_ms: None, provenance: None, join: None }
    }

    /// With `retry_after_ms`.
    pub fn with_retry_after_ms(mut self, ms: u64) -> Self {
        self.retry_after_ms = Some(ms);
        self
    }

    /// With a join's progress (for `join_in_progress`).
    pub fn with_join(mut self, join: JoinStatus) -> Self {
        self.join = Some(Box::new(join));
        self
    }

    /// With the blocklist entry that blocks the request.
    pub fn with_provenance(mut self, provenance: Provenance) -> Self {
        self.provenance = Some(Box::new(provenance));
        self
    }
}

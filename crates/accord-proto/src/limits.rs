//! Size limits on every signed object and field (spec/encoding.md §6).
//!
//! Receivers check the byte length of a body before verifying or parsing
//! it, so an oversized object costs nothing but the read.

/// Largest author-signed event body.
pub const MAX_EVENT_BODY: usize = 24 * 1024;
/// Largest origin stamp body.
pub const MAX_STAMP_BODY: usize = 4 * 1024;
/// Largest message text, in UTF-8 bytes.
pub const MAX_MESSAGE_TEXT: usize = 16 * 1024;
/// Largest room name, in UTF-8 bytes.
pub const MAX_ROOM_NAME: usize = 128;
/// Largest reason or comment attached to an action, in UTF-8 bytes.
pub const MAX_REASON: usize = 1024;
/// Most causal references (`prev`) one event may carry.
pub const MAX_PREV: usize = 16;
/// Largest identity document, attestation or rotation body.
pub const MAX_IDENTITY_BODY: usize = 2 * 1024;
/// Largest report body (it embeds the evidence events).
pub const MAX_REPORT_BODY: usize = 1024 * 1024;
/// Most evidence events in one report.
pub const MAX_REPORT_EVIDENCE: usize = 32;
/// Most context events in one report.
pub const MAX_REPORT_CONTEXT: usize = 16;
/// Largest report comment, in UTF-8 bytes.
pub const MAX_REPORT_COMMENT: usize = 4 * 1024;
/// Largest blocklist entry (a Merkle leaf).
pub const MAX_LIST_ENTRY: usize = 4 * 1024;
/// Largest signed checkpoint note.
pub const MAX_CHECKPOINT_NOTE: usize = 8 * 1024;
/// Most signature lines read from one signed note.
pub const MAX_NOTE_SIGNATURES: usize = 32;
/// Most hashes in one inclusion or consistency proof (trees up to 2^63).
pub const MAX_PROOF_HASHES: usize = 64;
/// Largest signed authentication challenge response.
pub const MAX_AUTH_BODY: usize = 1024;
/// Largest moderator action body.
pub const MAX_MOD_ACTION_BODY: usize = 4 * 1024;
/// Largest appeal body.
pub const MAX_APPEAL_BODY: usize = 4 * 1024;
/// Largest appeal reason, in UTF-8 bytes.
pub const MAX_APPEAL_REASON: usize = 2 * 1024;
/// Largest internal note on a case, in UTF-8 bytes.
pub const MAX_CASE_NOTE: usize = 4 * 1024;
/// Largest audit head body.
pub const MAX_AUDIT_HEAD_BODY: usize = 1024;

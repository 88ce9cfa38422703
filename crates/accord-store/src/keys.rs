//! Key encoding for every column family, in one place. Integers are
//! big-endian so that byte order is numeric order.

use accord_proto::{AccountId, EventId, NodeId, RoomId};

/// `meta` key of the schema version.
pub const META_SCHEMA: &[u8] = b"schema_version";

/// `timeline`: room ‖ cursor.
pub fn timeline(room: &RoomId, cursor: u64) -> [u8; 40] {
    let mut k = [0u8; 40];
    k[..32].copy_from_slice(room.as_bytes());
    k[32..].copy_from_slice(&cursor.to_be_bytes());
    k
}

/// Splits a `timeline` key into its cursor.
pub fn timeline_cursor(key: &[u8]) -> Option<u64> {
    key.get(32..40).and_then(|b| b.try_into().ok()).map(u64::from_be_bytes)
}

/// `origin_seq`: room ‖ origin ‖ sequence.
pub fn origin_seq(room: &RoomId, origin: &NodeId, seq: u64) -> [u8; 72] {
    let mut k = [0u8; 72];
    k[..32].copy_from_slice(room.as_bytes());
    k[32..64].copy_from_slice(origin.as_bytes());
    k[64..].copy_from_slice(&seq.to_be_bytes());
    k
}

/// `members`: account ‖ room.
pub fn member(account: &AccountId, room: &RoomId) -> [u8; 64] {
    let mut k = [0u8; 64];
    k[..32].copy_from_slice(account.as_bytes());
    k[32..].copy_from_slice(room.as_bytes());
    k
}

/// `events`: the event id bytes.
pub fn event(id: &EventId) -> [u8; 32] {
    *id.as_bytes()
}

/// `outbox`: peer node ‖ room ‖ cursor.
pub fn outbox(peer: &NodeId, room: &RoomId, cursor: u64) -> [u8; 72] {
    let mut k = [0u8; 72];
    k[..32].copy_from_slice(peer.as_bytes());
    k[32..64].copy_from_slice(room.as_bytes());
    k[64..].copy_from_slice(&cursor.to_be_bytes());
    k
}

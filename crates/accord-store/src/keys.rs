//! Key encoding for every column family, in one place. Integers are
//! big-endian so that byte order is numeric order.

use accord_proto::{AccountId, EventId, ListId, NodeId, RoomId, Sha256Hash};

/// `meta` key of the schema version.
pub const META_SCHEMA: &[u8] = b"schema_version";

/// `meta` key of the time a store was restored from a backup (absent once
/// the node has caught up with its peers).
pub const META_RESTORED: &[u8] = b"restored";

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

/// The 32-byte key of a list: SHA-256 of its id's text form.
pub fn list(list: &ListId) -> [u8; 32] {
    Sha256Hash::digest(list.to_string().as_bytes()).0
}

/// `list_entries` and `list_exceptions`: list key ‖ index.
pub fn list_entry(list: &ListId, index: u64) -> [u8; 40] {
    list_entry_at(&self::list(list), index)
}

/// [`list_entry`] from the list's key, for loops over many entries (making
/// the list key prints and hashes the list id).
pub fn list_entry_at(list_key: &[u8; 32], index: u64) -> [u8; 40] {
    let mut k = [0u8; 40];
    k[..32].copy_from_slice(list_key);
    k[32..].copy_from_slice(&index.to_be_bytes());
    k
}

/// `blob_owners`: account ‖ blob hash.
pub fn blob_owner(account: &AccountId, hash: &Sha256Hash) -> [u8; 64] {
    let mut k = [0u8; 64];
    k[..32].copy_from_slice(account.as_bytes());
    k[32..].copy_from_slice(hash.as_bytes());
    k
}

/// `blob_refs`: blob hash ‖ id of an event that carries it.
pub fn blob_ref(hash: &Sha256Hash, event: &EventId) -> [u8; 64] {
    let mut k = [0u8; 64];
    k[..32].copy_from_slice(hash.as_bytes());
    k[32..].copy_from_slice(event.as_bytes());
    k
}

/// `authored`: author ‖ room ‖ cursor.
pub fn authored(author: &AccountId, room: &RoomId, cursor: u64) -> [u8; 72] {
    let mut k = [0u8; 72];
    k[..32].copy_from_slice(author.as_bytes());
    k[32..64].copy_from_slice(room.as_bytes());
    k[64..].copy_from_slice(&cursor.to_be_bytes());
    k
}

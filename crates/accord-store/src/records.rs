//! Typed records: what the node reads and writes, encoded here.

use crate::{Batch, Cf, Store, StoreError, keys};
use accord_proto::event::{Event, Role, UnverifiedEvent};
use accord_proto::{AccountId, EventId, NodeId, RoomId, SignedBytes};
use serde::{Deserialize, Serialize};

fn corrupt(cf: Cf, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt { cf: cf.name(), detail: e.to_string() }
}

fn json<T: Serialize>(value: &T) -> Vec<u8> {
    // Serialising these plain data types cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

fn decode<T: for<'de> Deserialize<'de>>(cf: Cf, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| corrupt(cf, e))
}

/// What the store keeps about a room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomRecord {
    /// The room.
    pub room: RoomId,
    /// Its display name at creation.
    pub name: String,
}

/// A membership row to set (`Some(role)`) or clear (`None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipChange {
    /// The account.
    pub account: AccountId,
    /// Its role if it is a member after the event.
    pub role: Option<Role>,
}

/// An event to append to a room's timeline, with the rows it changes.
#[derive(Debug)]
pub struct EventRecord<'a> {
    /// The verified event.
    pub event: &'a Event,
    /// Its cursor in this node's timeline of the room.
    pub cursor: u64,
    /// Membership rows changed by it.
    pub memberships: Vec<MembershipChange>,
    /// The room record, for the first event of a room held here.
    pub room: Option<RoomRecord>,
    /// Peers the event must be pushed to (outbox entries written with it).
    pub outbox: Vec<NodeId>,
    /// The snapshot of the room's runtime as of this event, if one is due
    /// (replaces the room's previous one).
    pub snapshot: Option<Vec<u8>>,
}

/// One event waiting in the outbox for a peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    /// The row's key (give it back to [`Store::outbox_remove`]).
    pub key: Vec<u8>,
    /// The room.
    pub room: RoomId,
    /// The event's cursor in this node's timeline of the room.
    pub cursor: u64,
    /// The event.
    pub event: EventId,
}

/// One entry of a room's timeline as stored.
#[derive(Debug, Clone)]
pub struct TimelineEntry {
    /// Position in this node's timeline.
    pub cursor: u64,
    /// The event as stored (verified when it was written).
    pub event: UnverifiedEvent,
}

impl Store {
    /// Registers an identity: document, attestation and (if used) the
    /// invite code's consumption, in one atomic write.
    pub async fn put_identity(
        &self,
        account: &AccountId,
        identity: &SignedBytes,
        attestation: &SignedBytes,
        used_invite: Option<&str>,
    ) -> Result<(), StoreError> {
        let mut b = Batch::new();
        b.put(Cf::Identities, account.as_bytes().to_vec(), json(identity));
        b.put(Cf::Attestations, account.as_bytes().to_vec(), json(attestation));
        if let Some(code) = used_invite {
            b.put(Cf::Invites, code.as_bytes().to_vec(), account.as_bytes().to_vec());
        }
        self.write(b).await
    }

    /// An account's identity document and attestation, if registered here.
    pub fn identity(&self, account: &AccountId) -> Result<Option<(SignedBytes, SignedBytes)>, StoreError> {
        let Some(doc) = self.get(Cf::Identities, account.as_bytes())? else { return Ok(None) };
        let Some(att) = self.get(Cf::Attestations, account.as_bytes())? else {
            return Err(corrupt(Cf::Attestations, "identity without attestation"));
        };
        Ok(Some((decode(Cf::Identities, &doc)?, decode(Cf::Attestations, &att)?)))
    }

    /// Whether an invite code has been used (codes themselves come from
    /// the node's configuration).
    pub fn invite_used(&self, code: &str) -> Result<bool, StoreError> {
        Ok(self.get(Cf::Invites, code.as_bytes())?.is_some())
    }

    /// Every registered identity document (for rebuilding indexes at start).
    pub fn identities(&self) -> Result<Vec<SignedBytes>, StoreError> {
        self.scan(Cf::Identities, b"", b"", true, usize::MAX)?.iter().map(|(_, v)| decode(Cf::Identities, v)).collect()
    }

    /// Appends an event to its room: the event, its timeline and sequence
    /// index rows, membership rows, the room record and outbox rows, in
    /// one write.
    pub async fn append_event(&self, rec: EventRecord<'_>) -> Result<(), StoreError> {
        self.append_events(vec![rec]).await
    }

    /// Appends several events in one atomic write (see [`Store::append_event`]).
    pub async fn append_events(&self, records: Vec<EventRecord<'_>>) -> Result<(), StoreError> {
        self.write(events_batch(records)).await
    }

    /// Writes events received from peers like [`Store::append_events`],
    /// without waiting for an fsync: their origin still holds them, and a
    /// node that loses them in a machine crash fetches them again by sync
    /// ([`Batch::recoverable`]).
    pub async fn append_received_events(&self, records: Vec<EventRecord<'_>>) -> Result<(), StoreError> {
        self.write(events_batch(records).recoverable()).await
    }

    /// Sets or clears membership rows (after a room's state was derived
    /// anew).
    pub async fn set_memberships(&self, room: &RoomId, changes: Vec<MembershipChange>) -> Result<(), StoreError> {
        let mut b = Batch::new();
        for m in changes {
            let key = keys::member(&m.account, room).to_vec();
            match m.role {
                Some(role) => b.put(Cf::Members, key, json(&role)),
                None => b.delete(Cf::Members, key),
            }
        }
        if b.is_empty() { Ok(()) } else { self.write(b).await }
    }

    /// Events of `room` stamped by `origin` with a sequence number above
    /// `after`, ascending, at most `limit`.
    pub fn origin_events(
        &self,
        room: &RoomId,
        origin: &NodeId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<UnverifiedEvent>, StoreError> {
        let prefix = &keys::origin_seq(room, origin, 0)[..64];
        let start = keys::origin_seq(room, origin, after.saturating_add(1));
        let rows = self.scan(Cf::OriginSeq, prefix, &start, true, limit)?;
        let mut out = Vec::with_capacity(rows.len());
        for (_, v) in rows {
            let id = EventId::from_bytes(v.as_slice().try_into().map_err(|_| corrupt(Cf::OriginSeq, "bad id"))?);
            match self.event(&id)? {
                Some(event) => out.push(event),
                None if self.is_purged(&id)? => {}
                None => return Err(corrupt(Cf::Events, format!("origin index names missing {id}"))),
            }
        }
        Ok(out)
    }

    /// The id of the event `origin` numbered `seq` in `room`, if stored.
    pub fn event_at_seq(&self, room: &RoomId, origin: &NodeId, seq: u64) -> Result<Option<EventId>, StoreError> {
        self.get(Cf::OriginSeq, &keys::origin_seq(room, origin, seq))?
            .map(|v| v.as_slice().try_into().map(EventId::from_bytes).map_err(|_| corrupt(Cf::OriginSeq, "bad id")))
            .transpose()
    }

    /// The latest snapshot of a room's runtime (see [`EventRecord::snapshot`]).
    pub fn room_snapshot(&self, room: &RoomId) -> Result<Option<Vec<u8>>, StoreError> {
        self.get(Cf::RoomSnapshots, room.as_bytes())
    }

    /// Writes snapshots of rooms' runtimes whose events are all stored (at
    /// shutdown), each replacing its room's previous one, in one write.
    pub async fn put_room_snapshots(&self, snapshots: Vec<(RoomId, Vec<u8>)>) -> Result<(), StoreError> {
        let mut b = Batch::new();
        for (room, snapshot) in snapshots {
            b.put(Cf::RoomSnapshots, room.as_bytes().to_vec(), snapshot);
        }
        if b.is_empty() { Ok(()) } else { self.write(b).await }
    }

    /// The peers that have events waiting in the outbox.
    pub fn outbox_peers(&self) -> Result<Vec<NodeId>, StoreError> {
        let mut peers = Vec::new();
        let mut start = Vec::new();
        // One seek per peer: jump past every row of the peer just found.
        while let Some((k, _)) = self.scan(Cf::Outbox, b"", &start, true, 1)?.into_iter().next() {
            let bytes: [u8; 32] =
                k.get(..32).and_then(|p| p.try_into().ok()).ok_or_else(|| corrupt(Cf::Outbox, "short key"))?;
            let peer =
                accord_proto::PublicKey::from_slice(&bytes).map(NodeId::from).map_err(|e| corrupt(Cf::Outbox, e))?;
            peers.push(peer);
            start = keys::outbox(&peer, &RoomId::from_bytes([0xff; 32]), u64::MAX).to_vec();
            start.push(0);
        }
        Ok(peers)
    }

    /// The rooms with entries waiting in the outbox of `peer`.
    pub fn outbox_rooms(&self, peer: &NodeId) -> Result<Vec<RoomId>, StoreError> {
        let mut rooms = Vec::new();
        let mut start = peer.as_bytes().to_vec();
        // One seek per room: jump past every row of the room just found.
        while let Some((k, _)) = self.scan(Cf::Outbox, peer.as_bytes(), &start, true, 1)?.into_iter().next() {
            let room: [u8; 32] =
                k.get(32..64).and_then(|r| r.try_into().ok()).ok_or_else(|| corrupt(Cf::Outbox, "short key"))?;
            let room = RoomId::from_bytes(room);
            rooms.push(room);
            start = keys::outbox(peer, &room, u64::MAX).to_vec();
            start.push(0);
        }
        Ok(rooms)
    }

    /// Up to `limit` outbox entries of `peer` in `room` from cursor `from`
    /// on, oldest first. Starting past the entries already removed skips
    /// their tombstones, which a scan from the room's start would step
    /// over one by one until compaction.
    pub fn outbox_in(
        &self,
        peer: &NodeId,
        room: &RoomId,
        from: u64,
        limit: usize,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        let start = keys::outbox(peer, room, from);
        let rows = self.scan(Cf::Outbox, &start[..64], &start, true, limit)?;
        rows.into_iter()
            .map(|(key, v)| {
                let room: [u8; 32] =
                    key.get(32..64).and_then(|r| r.try_into().ok()).ok_or_else(|| corrupt(Cf::Outbox, "short key"))?;
                let cursor = key
                    .get(64..72)
                    .and_then(|c| c.try_into().ok())
                    .map(u64::from_be_bytes)
                    .ok_or_else(|| corrupt(Cf::Outbox, "short key"))?;
                let event = EventId::from_bytes(v.as_slice().try_into().map_err(|_| corrupt(Cf::Outbox, "bad id"))?);
                Ok(OutboxEntry { key, room: RoomId::from_bytes(room), cursor, event })
            })
            .collect()
    }

    /// Removes delivered outbox entries. The removal does not wait for an
    /// fsync: an entry a machine crash brings back is pushed again and
    /// answered `duplicate` (spec/federation.md §2), so the next push to
    /// the peer need not wait for the disk.
    pub async fn outbox_remove(&self, keys: Vec<Vec<u8>>) -> Result<(), StoreError> {
        let mut b = Batch::new();
        for key in keys {
            b.delete(Cf::Outbox, key);
        }
        if b.is_empty() { Ok(()) } else { self.write(b.recoverable()).await }
    }

    /// Deletes stored events' content for good, keeping why (JSON) in
    /// their place; their timeline and sequence rows stay, and readers skip
    /// them.
    pub async fn purge_events(&self, events: &[(EventId, Vec<u8>)]) -> Result<(), StoreError> {
        let mut b = Batch::new();
        for (id, why) in events {
            b.delete(Cf::Events, keys::event(id).to_vec());
            b.put(Cf::Purged, keys::event(id).to_vec(), why.clone());
        }
        if b.is_empty() { Ok(()) } else { self.write(b).await }
    }

    /// Why the event at `cursor` of a room was purged (JSON), if it was.
    pub fn purged_at(&self, room: &RoomId, cursor: u64) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(id) = self.get(Cf::Timeline, &keys::timeline(room, cursor))? else { return Ok(None) };
        self.get(Cf::Purged, &id)
    }

    /// Whether an event's content was purged.
    pub fn is_purged(&self, id: &EventId) -> Result<bool, StoreError> {
        Ok(self.get(Cf::Purged, id.as_bytes())?.is_some())
    }

    /// Whether an event is stored.
    pub fn has_event(&self, id: &EventId) -> Result<bool, StoreError> {
        Ok(self.get(Cf::Events, id.as_bytes())?.is_some())
    }

    /// A stored event.
    pub fn event(&self, id: &EventId) -> Result<Option<UnverifiedEvent>, StoreError> {
        self.get(Cf::Events, id.as_bytes())?.map(|v| decode(Cf::Events, &v)).transpose()
    }

    /// Timeline entries of `room` after `after` (ascending) or before
    /// `before` (descending), at most `limit`.
    pub fn timeline(
        &self,
        room: &RoomId,
        after: Option<u64>,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<TimelineEntry>, StoreError> {
        let (start, forward) = match (after, before) {
            (_, Some(b)) => (keys::timeline(room, b.saturating_sub(1)), false),
            (a, None) => (keys::timeline(room, a.unwrap_or(0).saturating_add(1)), true),
        };
        if before == Some(0) {
            return Ok(Vec::new());
        }
        let rows = self.scan(Cf::Timeline, room.as_bytes(), &start, forward, limit)?;
        let mut out = Vec::with_capacity(rows.len());
        for (k, v) in rows {
            let cursor = keys::timeline_cursor(&k).ok_or_else(|| corrupt(Cf::Timeline, "short key"))?;
            let id = EventId::from_bytes(v.as_slice().try_into().map_err(|_| corrupt(Cf::Timeline, "bad id"))?);
            match self.event(&id)? {
                Some(event) => out.push(TimelineEntry { cursor, event }),
                None if self.is_purged(&id)? => {}
                None => return Err(corrupt(Cf::Events, format!("timeline names missing {id}"))),
            }
        }
        Ok(out)
    }

    /// The highest cursor of `room` (0 if empty).
    pub fn latest_cursor(&self, room: &RoomId) -> Result<u64, StoreError> {
        let rows = self.scan(Cf::Timeline, room.as_bytes(), &keys::timeline(room, u64::MAX), false, 1)?;
        Ok(rows.first().and_then(|(k, _)| keys::timeline_cursor(k)).unwrap_or(0))
    }

    /// The events `author` wrote, as this node stored them: room, cursor
    /// and event id, by room then cursor (the `authored` index).
    pub fn authored(&self, author: &AccountId) -> Result<Vec<(RoomId, u64, EventId)>, StoreError> {
        self.scan(Cf::Authored, author.as_bytes(), author.as_bytes(), true, usize::MAX)?
            .into_iter()
            .map(|(k, v)| {
                let room: [u8; 32] =
                    k.get(32..64).and_then(|r| r.try_into().ok()).ok_or_else(|| corrupt(Cf::Authored, "short key"))?;
                let cursor = keys::timeline_cursor(&k[32..]).ok_or_else(|| corrupt(Cf::Authored, "short key"))?;
                let id = EventId::from_bytes(v.as_slice().try_into().map_err(|_| corrupt(Cf::Authored, "bad id"))?);
                Ok((RoomId::from_bytes(room), cursor, id))
            })
            .collect()
    }

    /// Every room stored here.
    pub fn rooms(&self) -> Result<Vec<RoomRecord>, StoreError> {
        self.scan(Cf::Rooms, b"", b"", true, usize::MAX)?.iter().map(|(_, v)| decode(Cf::Rooms, v)).collect()
    }

    /// The rooms `account` is a member of, with its role.
    pub fn rooms_of(&self, account: &AccountId) -> Result<Vec<(RoomId, Role)>, StoreError> {
        let rows = self.scan(Cf::Members, account.as_bytes(), account.as_bytes(), true, usize::MAX)?;
        rows.iter()
            .map(|(k, v)| {
                let room: [u8; 32] =
                    k.get(32..64).and_then(|r| r.try_into().ok()).ok_or_else(|| corrupt(Cf::Members, "short key"))?;
                Ok((RoomId::from_bytes(room), decode(Cf::Members, v)?))
            })
            .collect()
    }
}

/// The rows of stored events: event, timeline, origin sequence,
/// memberships, room record and outbox rows.
fn events_batch(records: Vec<EventRecord<'_>>) -> Batch {
    let mut b = Batch::new();
    for rec in records {
        let e = rec.event;
        let room = e.room();
        let stamp = e.stamp_part();
        let id = e.id().as_bytes().to_vec();
        b.put(Cf::Events, keys::event(&e.id()).to_vec(), json(&e.to_unverified()));
        b.put(Cf::Timeline, keys::timeline(&room, rec.cursor).to_vec(), id.clone());
        b.put(Cf::OriginSeq, keys::origin_seq(&room, &e.origin(), stamp.seq).to_vec(), id.clone());
        b.put(Cf::Authored, keys::authored(&e.author(), &room, rec.cursor).to_vec(), id.clone());
        for m in rec.memberships {
            let key = keys::member(&m.account, &room).to_vec();
            match m.role {
                Some(role) => b.put(Cf::Members, key, json(&role)),
                None => b.delete(Cf::Members, key),
            }
        }
        if let Some(r) = rec.room {
            b.put(Cf::Rooms, room.as_bytes().to_vec(), json(&r));
        }
        for peer in rec.outbox {
            b.put(Cf::Outbox, keys::outbox(&peer, &room, rec.cursor).to_vec(), id.clone());
        }
        for a in e.attachments() {
            b.put(Cf::BlobRefs, keys::blob_ref(&a.hash, &e.id()).to_vec(), Vec::new());
        }
        if let Some(snapshot) = rec.snapshot {
            b.put(Cf::RoomSnapshots, room.as_bytes().to_vec(), snapshot);
        }
    }
    b
}

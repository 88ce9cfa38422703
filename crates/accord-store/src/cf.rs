//! The column families: one per kind of record.

/// A column family. The name is what RocksDB stores; never rename one
/// without a schema migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cf {
    /// Node metadata: schema version.
    Meta,
    /// Account → identity document (`SignedBytes` JSON).
    Identities,
    /// Account → home-node attestation (`SignedBytes` JSON).
    Attestations,
    /// Invite code → the account that used it.
    Invites,
    /// Event id → event (wire JSON, both envelopes).
    Events,
    /// Room ‖ cursor → event id: this node's timeline of each room.
    Timeline,
    /// Room ‖ origin node ‖ sequence → event id.
    OriginSeq,
    /// Account ‖ room → role: current memberships.
    Members,
    /// Room → room record (create event id, name).
    Rooms,
    /// Peer node ‖ room ‖ cursor → event id: events this node must still
    /// push to that peer.
    Outbox,
    /// List key → list record (issued here or subscribed, checkpoint held).
    Lists,
    /// List key ‖ index → leaf bytes of the list's log.
    ListEntries,
    /// List key ‖ index → a local exception to that entry.
    ListExceptions,
    /// List key ‖ proof hash → equivocation proof (JSON).
    Equivocations,
    /// Peer node ‖ event id → evidence that the peer relayed an event its
    /// own declared lists block (JSON).
    Evidence,
    /// Event id → a moderator's release of a quarantined event (JSON).
    Released,
    /// Event id → why the event's content was purged (JSON); the event
    /// itself is deleted, its timeline and sequence rows stay.
    Purged,
    /// Report id → report record (JSON): the signed report and its forwards.
    Reports,
    /// Case id → case record (JSON): reports about the same thing.
    Cases,
    /// Index (u64 BE) → moderator action (`SignedBytes` JSON): the audit log.
    Audit,
    /// Account → moderator record (JSON): moderators added by the operator.
    Moderators,
    /// Blob hash → the file's bytes (content-addressed; RocksDB's BlobDB
    /// keeps the values in blob files, out of the LSM tree).
    Blobs,
    /// Blob hash → blob record (JSON): size, type, dimensions, thumbnail,
    /// who uploaded it or which node it came from.
    BlobMeta,
    /// Account ‖ blob hash → size (u64 BE): what counts against an
    /// account's quota.
    BlobOwners,
    /// Blob hash ‖ event id → nothing: the stored events that carry a
    /// blob (its references).
    BlobRefs,
    /// Peer node → the operator's block of it (JSON), until lifted.
    OperatorBlocks,
    /// Peer node → a block it earned by misbehaving (JSON), until it ends.
    PeerBans,
    /// SHA-256 of a session token → its account and end (JSON).
    Sessions,
    /// Peer node → its claimed name and the last check of its name proof
    /// (JSON, accord-api's `NodeNameStatus`).
    NodeNames,
    /// Author account ‖ room ‖ cursor → event id: the events each account
    /// wrote, for a member's export and an account's deletion (schema 2).
    Authored,
    /// Account → the account's signed deletion (`SignedBytes` JSON): the
    /// account is gone, its identity is no longer served (schema 2).
    DeletedAccounts,
    /// List key → the latest checkpoint this node's witness cosigned for
    /// the list (JSON `WitnessState`).
    Witness,
    /// List key ‖ index → a suggested or noted entry of a `suggest` or
    /// `notify` subscription and the operator's decision (JSON `Suggestion`).
    ListSuggestions,
    /// List key ‖ index → an entry kept after its issuer removed it (JSON
    /// `Kept`).
    ListKept,
    /// List key ‖ index ‖ time ‖ hash → an operator's private note on an
    /// entry (JSON `Note`); never published.
    ListNotes,
    /// Case id ‖ time (u64 BE) ‖ note hash (8 bytes) → a moderator's
    /// internal note on the case (JSON); private to the node (schema 2).
    CaseNotes,
    /// Reporter account → its mute (JSON): reports kept out of the queue
    /// (schema 2).
    MutedReporters,
    /// Appeal id → appeal record (JSON): an accused account's appeal of a
    /// decision, here or forwarded to the deciding node (schema 2).
    Appeals,
    /// Room → the snapshot of the room's runtime as of one of its cursors
    /// (the node's own encoding), written with that cursor's event
    /// (schema 2).
    RoomSnapshots,
}

impl Cf {
    /// Every column family.
    pub const ALL: [Cf; 39] = [
        Cf::Meta,
        Cf::Identities,
        Cf::Attestations,
        Cf::Invites,
        Cf::Events,
        Cf::Timeline,
        Cf::OriginSeq,
        Cf::Members,
        Cf::Rooms,
        Cf::Outbox,
        Cf::Lists,
        Cf::ListEntries,
        Cf::ListExceptions,
        Cf::Equivocations,
        Cf::Evidence,
        Cf::Released,
        Cf::Purged,
        Cf::Reports,
        Cf::Cases,
        Cf::Audit,
        Cf::Moderators,
        Cf::Blobs,
        Cf::BlobMeta,
        Cf::BlobOwners,
        Cf::BlobRefs,
        Cf::OperatorBlocks,
        Cf::PeerBans,
        Cf::Sessions,
        Cf::NodeNames,
        Cf::Authored,
        Cf::DeletedAccounts,
        Cf::Witness,
        Cf::ListSuggestions,
        Cf::ListKept,
        Cf::ListNotes,
        Cf::CaseNotes,
        Cf::MutedReporters,
        Cf::Appeals,
        Cf::RoomSnapshots,
    ];

    /// The RocksDB name.
    pub fn name(self) -> &'static str {
        match self {
            Cf::Meta => "meta",
            Cf::Identities => "identities",
            Cf::Attestations => "attestations",
            Cf::Invites => "invites",
            Cf::Events => "events",
            Cf::Timeline => "timeline",
            Cf::OriginSeq => "origin_seq",
            Cf::Members => "members",
            Cf::Rooms => "rooms",
            Cf::Outbox => "outbox",
            Cf::Lists => "lists",
            Cf::ListEntries => "list_entries",
            Cf::ListExceptions => "list_exceptions",
            Cf::Equivocations => "equivocations",
            Cf::Evidence => "evidence",
            Cf::Released => "released",
            Cf::Purged => "purged",
            Cf::Reports => "reports",
            Cf::Cases => "cases",
            Cf::Audit => "audit",
            Cf::Moderators => "moderators",
            Cf::Blobs => "blobs",
            Cf::BlobMeta => "blob_meta",
            Cf::BlobOwners => "blob_owners",
            Cf::BlobRefs => "blob_refs",
            Cf::OperatorBlocks => "operator_blocks",
            Cf::PeerBans => "peer_bans",
            Cf::Sessions => "sessions",
            Cf::NodeNames => "node_names",
            Cf::Authored => "authored",
            Cf::DeletedAccounts => "deleted_accounts",
            Cf::Witness => "witness",
            Cf::ListSuggestions => "list_suggestions",
            Cf::ListKept => "list_kept",
            Cf::ListNotes => "list_notes",
            Cf::CaseNotes => "case_notes",
            Cf::MutedReporters => "muted_reporters",
            Cf::Appeals => "appeals",
            Cf::RoomSnapshots => "room_snapshots",
        }
    }
}

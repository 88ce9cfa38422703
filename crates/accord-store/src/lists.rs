//! Blocklists: records of the lists this node issues or subscribes to,
//! their logs' leaves, local exceptions and equivocation proofs.

use crate::{Batch, Cf, Store, StoreError, keys};
use accord_proto::ListId;
use accord_proto::blocklist::checkpoint::SignedCheckpoint;
use accord_proto::blocklist::entry::Category;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use accord_api::admin::Enforce;
pub use accord_api::curation::{Kept, Note, OnRemoval, SubscriptionMode, Suggestion};

/// Ranges of at least this many leaves are written as a table file of
/// their own ([`Store::append_list_with`]).
pub const BULK_LEAVES: usize = 65_536;

/// What the store keeps about one list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListRecord {
    /// The list.
    pub list: ListId,
    /// Issued by this node (its key signs the checkpoints).
    pub own: bool,
    /// Enforced here.
    pub subscribed: bool,
    /// Per-category choices; a category not named follows each entry's
    /// recommended action.
    #[serde(default)]
    pub actions: BTreeMap<Category, Enforce>,
    /// The PDQ distance threshold chosen for the list's image entries;
    /// `None` is the default, 31.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pdq_threshold: Option<u16>,
    /// Number of leaves held (and verified).
    pub size: u64,
    /// The issuer's signed checkpoint of `size` leaves, once there is one.
    pub checkpoint: Option<SignedCheckpoint>,
    /// Why the issuer is not trusted any more (an equivocation), if so.
    #[serde(default)]
    pub distrusted: Option<String>,
    /// What the subscription does with arriving entries (default `apply`).
    #[serde(default, skip_serializing_if = "SubscriptionMode::is_apply")]
    pub mode: SubscriptionMode,
    /// What an issuer's removal does here (default `undo`).
    #[serde(default, skip_serializing_if = "OnRemoval::is_undo")]
    pub on_removal: OnRemoval,
    /// Higher wins where lists disagree about a target (default 0).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub priority: i64,
    /// What the list is for, in its issuer's words: set by this node for a
    /// list it issues, shown to peers that discover its lists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// What arrives with a range of leaves, written in the same atomic write:
/// suggestions (new or changed) and entries kept after their removal.
#[derive(Debug, Clone, Default)]
pub struct Arrivals {
    /// Suggestion records to write.
    pub suggestions: Vec<Suggestion>,
    /// Entries kept after their removal.
    pub kept: Vec<Kept>,
}

fn json<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

fn put_arrivals(b: &mut Batch, arrivals: &Arrivals) {
    for s in &arrivals.suggestions {
        b.put(Cf::ListSuggestions, keys::list_entry(&s.list, s.entry).to_vec(), json(s));
    }
    for k in &arrivals.kept {
        b.put(Cf::ListKept, keys::list_entry(&k.list, k.entry).to_vec(), json(k));
    }
}

fn corrupt(cf: Cf, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt { cf: cf.name(), detail: e.to_string() }
}

impl Store {
    /// Writes a list record.
    pub async fn put_list(&self, record: &ListRecord) -> Result<(), StoreError> {
        let mut b = Batch::new();
        b.put(Cf::Lists, keys::list(&record.list).to_vec(), json(record));
        self.write(b).await
    }

    /// Removes a list: its record, leaves and exceptions.
    pub async fn delete_list(&self, list: &ListId) -> Result<(), StoreError> {
        let mut b = Batch::new();
        b.delete(Cf::Lists, keys::list(list).to_vec());
        for (k, _) in self.scan(Cf::ListEntries, &keys::list(list), &keys::list(list), true, usize::MAX)? {
            b.delete(Cf::ListEntries, k);
        }
        for cf in [Cf::ListExceptions, Cf::ListSuggestions, Cf::ListKept, Cf::ListNotes] {
            for (k, _) in self.scan(cf, &keys::list(list), &keys::list(list), true, usize::MAX)? {
                b.delete(cf, k);
            }
        }
        self.write(b).await
    }

    /// Every list record.
    pub fn lists(&self) -> Result<Vec<ListRecord>, StoreError> {
        self.scan(Cf::Lists, b"", b"", true, usize::MAX)?
            .iter()
            .map(|(_, v)| serde_json::from_slice(v).map_err(|e| corrupt(Cf::Lists, e)))
            .collect()
    }

    /// Appends leaves to a list's log and writes its updated record (with
    /// the new size and checkpoint) in one atomic write.
    pub async fn append_list(&self, record: &ListRecord, first: u64, leaves: Vec<Vec<u8>>) -> Result<(), StoreError> {
        self.append_list_with(record, first, leaves, &Arrivals::default()).await
    }

    /// [`Store::append_list`], with the suggestions and kept entries the
    /// new leaves make, in the same atomic write. A range of at least
    /// [`BULK_LEAVES`] leaves is written first, as a table file of its own
    /// (it never passes through the write-ahead log or a memtable), then
    /// the record and the arrivals: a crash between the two leaves leaves
    /// past the record's size, which readers do not read (they stop at the
    /// size) and a later append of those indexes replaces.
    pub async fn append_list_with(
        &self,
        record: &ListRecord,
        first: u64,
        leaves: Vec<Vec<u8>>,
        arrivals: &Arrivals,
    ) -> Result<(), StoreError> {
        let mut b = Batch::new();
        put_arrivals(&mut b, arrivals);
        let list_key = keys::list(&record.list);
        if leaves.len() >= BULK_LEAVES {
            let store = self.clone();
            let ingest = move || {
                let rows = leaves.into_iter().zip(first..).map(|(leaf, at)| (keys::list_entry_at(&list_key, at), leaf));
                store.ingest_sorted(Cf::ListEntries, rows)
            };
            tokio::task::spawn_blocking(ingest)
                .await
                .map_err(|e| StoreError::Db(format!("ingesting leaves: {e}")))??;
        } else {
            for (leaf, at) in leaves.into_iter().zip(first..) {
                b.put(Cf::ListEntries, keys::list_entry_at(&list_key, at).to_vec(), leaf);
            }
        }
        b.put(Cf::Lists, keys::list(&record.list).to_vec(), json(record));
        self.write(b).await
    }

    /// Up to `limit` leaves of a list with indexes in `range`, from its
    /// start. `range` ends at the list's size (its record's): leaves past
    /// it are not the list's (see [`Store::append_list_with`]).
    pub fn list_leaves(
        &self,
        list: &ListId,
        range: std::ops::Range<u64>,
        limit: usize,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        let limit = limit.min((range.end.saturating_sub(range.start)).try_into().unwrap_or(usize::MAX));
        let rows = self.scan(Cf::ListEntries, &keys::list(list), &keys::list_entry(list, range.start), true, limit)?;
        Ok(rows.into_iter().map(|(_, v)| v).collect())
    }

    /// One leaf of a list.
    pub fn list_leaf(&self, list: &ListId, index: u64) -> Result<Option<Vec<u8>>, StoreError> {
        self.get(Cf::ListEntries, &keys::list_entry(list, index))
    }

    /// Sets (`Some(reason)`) or clears a local exception to one entry.
    pub async fn set_exception(&self, list: &ListId, entry: u64, reason: Option<&str>) -> Result<(), StoreError> {
        let mut b = Batch::new();
        let key = keys::list_entry(list, entry).to_vec();
        match reason {
            Some(reason) => b.put(Cf::ListExceptions, key, json(&reason)),
            None => b.delete(Cf::ListExceptions, key),
        }
        self.write(b).await
    }

    /// The entries of a list that have a local exception.
    pub fn exceptions(&self, list: &ListId) -> Result<Vec<u64>, StoreError> {
        let rows = self.scan(Cf::ListExceptions, &keys::list(list), &keys::list(list), true, usize::MAX)?;
        rows.iter()
            .map(|(k, _)| {
                k.get(32..40)
                    .and_then(|b| b.try_into().ok())
                    .map(u64::from_be_bytes)
                    .ok_or_else(|| corrupt(Cf::ListExceptions, "short key"))
            })
            .collect()
    }

    /// Writes suggestion records and kept entries (the operator's decisions).
    pub async fn put_arrivals(&self, arrivals: &Arrivals) -> Result<(), StoreError> {
        let mut b = Batch::new();
        put_arrivals(&mut b, arrivals);
        self.write(b).await
    }

    /// The suggestion records of a list, by entry.
    pub fn suggestions(&self, list: &ListId) -> Result<Vec<Suggestion>, StoreError> {
        self.scan(Cf::ListSuggestions, &keys::list(list), &keys::list(list), true, usize::MAX)?
            .iter()
            .map(|(_, v)| serde_json::from_slice(v).map_err(|e| corrupt(Cf::ListSuggestions, e)))
            .collect()
    }

    /// The suggestion record of one entry.
    pub fn suggestion(&self, list: &ListId, entry: u64) -> Result<Option<Suggestion>, StoreError> {
        self.get(Cf::ListSuggestions, &keys::list_entry(list, entry))?
            .map(|v| serde_json::from_slice(&v).map_err(|e| corrupt(Cf::ListSuggestions, e)))
            .transpose()
    }

    /// The entries of a list kept after their removal, by entry.
    pub fn kept(&self, list: &ListId) -> Result<Vec<Kept>, StoreError> {
        self.scan(Cf::ListKept, &keys::list(list), &keys::list(list), true, usize::MAX)?
            .iter()
            .map(|(_, v)| serde_json::from_slice(v).map_err(|e| corrupt(Cf::ListKept, e)))
            .collect()
    }

    /// Whether one entry was kept after its removal, and how.
    pub fn kept_entry(&self, list: &ListId, entry: u64) -> Result<Option<Kept>, StoreError> {
        self.get(Cf::ListKept, &keys::list_entry(list, entry))?
            .map(|v| serde_json::from_slice(&v).map_err(|e| corrupt(Cf::ListKept, e)))
            .transpose()
    }

    /// Keeps a private note on an entry.
    pub async fn put_note(&self, note: &Note) -> Result<(), StoreError> {
        let mut key = keys::list_entry(&note.list, note.entry).to_vec();
        key.extend_from_slice(&note.at.as_millis().to_be_bytes());
        key.extend_from_slice(&accord_proto::Sha256Hash::digest(json(note).as_slice()).0[..8]);
        let mut b = Batch::new();
        b.put(Cf::ListNotes, key, json(note));
        self.write(b).await
    }

    /// The private notes on a list's entries (one entry's, with `entry`),
    /// by entry, then time.
    pub fn notes(&self, list: &ListId, entry: Option<u64>) -> Result<Vec<Note>, StoreError> {
        let prefix = match entry {
            Some(e) => keys::list_entry(list, e).to_vec(),
            None => keys::list(list).to_vec(),
        };
        self.scan(Cf::ListNotes, &prefix, &prefix, true, usize::MAX)?
            .iter()
            .map(|(_, v)| serde_json::from_slice(v).map_err(|e| corrupt(Cf::ListNotes, e)))
            .collect()
    }

    /// Keeps an equivocation proof (JSON) against a list's issuer.
    pub async fn put_equivocation(&self, list: &ListId, proof: &[u8]) -> Result<(), StoreError> {
        let mut key = keys::list(list).to_vec();
        key.extend_from_slice(&accord_proto::Sha256Hash::digest(proof).0);
        let mut b = Batch::new();
        b.put(Cf::Equivocations, key, proof.to_vec());
        self.write(b).await
    }

    /// Every equivocation proof kept (JSON).
    pub fn equivocations(&self) -> Result<Vec<Vec<u8>>, StoreError> {
        Ok(self.scan(Cf::Equivocations, b"", b"", true, usize::MAX)?.into_iter().map(|(_, v)| v).collect())
    }
}

impl Store {
    /// Keeps evidence (JSON) that `peer` relayed event `event` although a
    /// list it declares blocks it.
    pub async fn put_evidence(
        &self,
        peer: &accord_proto::NodeId,
        event: &accord_proto::EventId,
        evidence: &[u8],
    ) -> Result<(), StoreError> {
        let mut key = peer.as_bytes().to_vec();
        key.extend_from_slice(event.as_bytes());
        let mut b = Batch::new();
        b.put(Cf::Evidence, key, evidence.to_vec());
        self.write(b).await
    }

    /// Every piece of evidence kept (JSON), at most `limit`.
    pub fn evidence(&self, limit: usize) -> Result<Vec<Vec<u8>>, StoreError> {
        Ok(self.scan(Cf::Evidence, b"", b"", true, limit)?.into_iter().map(|(_, v)| v).collect())
    }
}

impl Store {
    /// Records a moderator's release of a quarantined event.
    pub async fn put_release(&self, event: &accord_proto::EventId, reason: &str) -> Result<(), StoreError> {
        let mut b = Batch::new();
        b.put(Cf::Released, event.as_bytes().to_vec(), json(&reason));
        self.write(b).await
    }

    /// Every released event.
    pub fn releases(&self) -> Result<Vec<accord_proto::EventId>, StoreError> {
        self.scan(Cf::Released, b"", b"", true, usize::MAX)?
            .iter()
            .map(|(k, _)| {
                k.as_slice()
                    .try_into()
                    .map(accord_proto::EventId::from_bytes)
                    .map_err(|_| corrupt(Cf::Released, "bad key"))
            })
            .collect()
    }
}

impl Store {
    /// The latest checkpoint this node's witness cosigned for `list`.
    pub fn witness_state(
        &self,
        list: &ListId,
    ) -> Result<Option<accord_proto::blocklist::witness::WitnessState>, StoreError> {
        self.get(Cf::Witness, &keys::list(list))?
            .map(|v| serde_json::from_slice(&v).map_err(|e| corrupt(Cf::Witness, e)))
            .transpose()
    }

    /// Records the checkpoint this node's witness cosigns for `list`; the
    /// caller holds the list's witness lock from the check to this write.
    pub async fn put_witness_state(
        &self,
        list: &ListId,
        state: &accord_proto::blocklist::witness::WitnessState,
    ) -> Result<(), StoreError> {
        let mut b = Batch::new();
        b.put(Cf::Witness, keys::list(list).to_vec(), json(state));
        self.write(b).await
    }
}

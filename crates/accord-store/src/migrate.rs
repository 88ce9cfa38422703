//! Schema versions and the migrations between them.
//!
//! The schema version is kept in [`Cf::Meta`]. Opening a store reads it
//! first from a read-only handle, so that a store written by a newer
//! binary is refused without being opened for writing (RocksDB would
//! otherwise write a new manifest and options file into it, and create
//! or drop nothing it did not know). An older store is brought up to
//! [`SCHEMA_VERSION`] one [`Step`] at a time.
//!
//! Rules for a new version: every change of what is on disk — a new
//! column family, a new key layout, a new field that old records lack —
//! bumps [`SCHEMA_VERSION`] and adds a step, even an empty one, so that
//! an older binary meets a version it does not know (a clear refusal)
//! rather than a column family it cannot open. A step is idempotent: its
//! writes may be repeated after a crash in the middle, because the new
//! version is written only in its last batch.

use crate::{Cf, SCHEMA_VERSION, Store, StoreError, keys};
use accord_proto::AccountId;
use accord_proto::event::UnverifiedEvent;
use rocksdb::{DB, IteratorMode, Options, WriteBatch, WriteOptions};
use std::path::Path;

/// One migration: from schema `from` to `from + 1`.
#[derive(Debug, Clone, Copy)]
pub struct Step {
    /// The version it reads.
    pub from: u32,
    /// What it changes, in words (printed by `accord-node migrate`).
    pub what: &'static str,
    run: fn(&DB) -> Result<(), StoreError>,
}

/// Every migration, in order; step `i` goes from version `i + 1`.
pub const STEPS: &[Step] = &[Step {
    from: 1,
    what: "index the events each account wrote (column family `authored`), and \
           add the records of deleted accounts (`deleted_accounts`), of this node's witness (`witness`), \
           of peers' checked names (`node_names`), of subscriptions' suggestions (`list_suggestions`), \
           of entries kept after removal (`list_kept`) and of private notes on entries (`list_notes`), \
           and of moderators' case notes, muted reporters and appeals (`case_notes`, `muted_reporters`, `appeals`), \
           and snapshots of rooms' runtimes (`room_snapshots`)",
    run: v1_index_authored,
}];

/// What opening a store does with a store of an older schema
/// (`[storage] migrate` in `accord.toml`: `apply` or `refuse`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Migrate {
    /// Run the pending steps, then open (the default).
    #[default]
    Apply,
    /// Refuse with [`StoreError::NeedsMigration`], writing nothing.
    Refuse,
}

/// The schema version of the store at `path`, read without opening it for
/// writing: `None` for a directory that holds no database yet (or one
/// that never recorded a version).
pub fn schema_version(path: &Path) -> Result<Option<u32>, StoreError> {
    if !path.join("CURRENT").exists() {
        return Ok(None);
    }
    let db = DB::open_cf_for_read_only(&Options::default(), path, [Cf::Meta.name()], false)?;
    let meta = db.cf_handle(Cf::Meta.name()).ok_or_else(|| StoreError::Db("missing column family meta".into()))?;
    db.get_cf(meta, keys::META_SCHEMA)?.map(|v| decode_version(&v)).transpose()
}

/// The steps that would bring a store of version `found` to the current one.
pub fn pending(found: u32) -> &'static [Step] {
    STEPS.get(found.saturating_sub(1) as usize..).unwrap_or(&[])
}

pub(crate) fn decode_version(v: &[u8]) -> Result<u32, StoreError> {
    v.try_into()
        .map(u32::from_be_bytes)
        .map_err(|_| StoreError::Corrupt { cf: Cf::Meta.name(), detail: "schema version is not 4 bytes".into() })
}

/// Checks the version of the store at `path` before it is opened for
/// writing: a newer store is refused, an older one too under
/// [`Migrate::Refuse`].
pub(crate) fn check_before_open(path: &Path, migrate: Migrate) -> Result<(), StoreError> {
    match schema_version(path)? {
        Some(found) if found > SCHEMA_VERSION => Err(StoreError::TooNew { found, supported: SCHEMA_VERSION }),
        Some(found) if found < SCHEMA_VERSION && migrate == Migrate::Refuse => {
            Err(StoreError::NeedsMigration { found, expected: SCHEMA_VERSION })
        }
        _ => Ok(()),
    }
}

/// Runs the steps from `found` on an open database, each ending with the
/// write of its new version (synced).
pub(crate) fn run(db: &DB, found: u32) -> Result<Vec<Step>, StoreError> {
    let mut done = Vec::new();
    for step in pending(found) {
        tracing::info!(from = step.from, to = step.from + 1, what = step.what, "migrating the store");
        (step.run)(db)?;
        let mut b = WriteBatch::default();
        b.put_cf(Store::handle_of(db, Cf::Meta)?, keys::META_SCHEMA, (step.from + 1).to_be_bytes());
        db.write_opt(b, &synced())?;
        done.push(*step);
    }
    Ok(done)
}

fn synced() -> WriteOptions {
    let mut opts = WriteOptions::default();
    opts.set_sync(true);
    opts
}

/// How many rows a migration writes per batch.
const ROWS_PER_BATCH: usize = 4096;

/// Version 1 → 2: one `authored` row per stored event (`deleted_accounts`,
/// `witness`, `list_suggestions`, `list_kept` and `list_notes` start
/// empty; RocksDB creates the families at open). The author is the
/// signer of the event's body, checked when the event was stored; purged
/// events, whose bytes are gone, get no row.
fn v1_index_authored(db: &DB) -> Result<(), StoreError> {
    let (timeline, events, authored) =
        (Store::handle_of(db, Cf::Timeline)?, Store::handle_of(db, Cf::Events)?, Store::handle_of(db, Cf::Authored)?);
    let corrupt = |cf: Cf, detail: String| StoreError::Corrupt { cf: cf.name(), detail };
    let mut batch = WriteBatch::default();
    for row in db.iterator_cf(timeline, IteratorMode::Start) {
        let (key, id) = row?;
        let Some(event) = db.get_cf(events, &id)? else { continue };
        let event: UnverifiedEvent = serde_json::from_slice(&event).map_err(|e| corrupt(Cf::Events, e.to_string()))?;
        let room: [u8; 32] =
            key.get(..32).and_then(|r| r.try_into().ok()).ok_or_else(|| corrupt(Cf::Timeline, "short key".into()))?;
        let room = accord_proto::RoomId::from_bytes(room);
        let cursor = keys::timeline_cursor(&key).ok_or_else(|| corrupt(Cf::Timeline, "short key".into()))?;
        let author = AccountId::from(event.author.raw().signer);
        batch.put_cf(authored, keys::authored(&author, &room, cursor), &id);
        if batch.len() >= ROWS_PER_BATCH {
            db.write_opt(std::mem::take(&mut batch), &synced())?;
        }
    }
    db.write_opt(batch, &synced())?;
    Ok(())
}

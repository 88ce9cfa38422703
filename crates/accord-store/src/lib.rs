//! # accord-store
//!
//! The node's storage: RocksDB with one column family per kind of record
//! ([`Cf`]), keys encoded in one place ([`keys`]), and every update that
//! touches several families written as one atomic `WriteBatch` through a
//! group-committing writer ([`writer`]).
//!
//! Durability: a write future resolves only after its batch is in the
//! write-ahead log; with [`SyncPolicy::Fsync`] (the default) the WAL is also
//! fsynced, once per group of concurrent writes.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod accounts;
mod backup;
mod cf;
mod ingest;
pub mod keys;
mod lists;
mod media;
pub mod migrate;
mod names;
mod peers;
mod records;
mod reports;
mod sessions;
pub mod writer;

pub use cf::Cf;
pub use lists::{Arrivals, BULK_LEAVES, Enforce, Kept, ListRecord, Note, OnRemoval, SubscriptionMode, Suggestion};
pub use media::{BlobRecord, NewBlob};
pub use migrate::Migrate;
pub use records::{EventRecord, MembershipChange, OutboxEntry, RoomRecord, TimelineEntry};
pub use reports::{
    AppealRecord, AppealState, AuditWork, CaseRecord, Forward, ForwardState, ModeratorRecord, ModeratorRole,
    MuteRecord, NoteRecord, ReportRecord, ReportSource, Resolution,
};
pub use writer::{Batch, CommitStats, SyncPolicy};

use rocksdb::{BlockBasedOptions, Cache, ColumnFamilyDescriptor, DB, Direction, IteratorMode, Options, ReadOptions};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A raw key and value read from a column family.
pub type KeyValue = (Vec<u8>, Vec<u8>);

/// The on-disk schema version this code reads and writes ([`migrate`]
/// says how older versions are brought up to it).
pub const SCHEMA_VERSION: u32 = 2;

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// RocksDB reported an error.
    #[error("rocksdb: {0}")]
    Db(String),
    /// The database was written by a newer version of the node: it is
    /// not opened for writing, so the newer binary can still use it.
    #[error(
        "the database has schema version {found}, newer than this node's {supported}: it was written by a newer \
         accord-node; run that version (or restore a backup taken before the upgrade)"
    )]
    TooNew {
        /// The version found on disk.
        found: u32,
        /// The newest version this code reads.
        supported: u32,
    },
    /// The database has an older schema and migrations were not allowed
    /// ([`Migrate::Refuse`]).
    #[error("the database has schema version {found}, this node reads {expected}: run `accord-node migrate`")]
    NeedsMigration {
        /// The version found on disk.
        found: u32,
        /// The version this code reads and writes.
        expected: u32,
    },
    /// A stored record does not decode: the store is damaged.
    #[error("corrupt record in {cf}: {detail}")]
    Corrupt {
        /// The column family.
        cf: &'static str,
        /// What failed.
        detail: String,
    },
    /// The writer thread has stopped (the store is shutting down).
    #[error("store is closed")]
    Closed,
    /// The disk is full: nothing was written. RocksDB refuses writes
    /// until it has recovered by itself, which it tries every 5 seconds
    /// once space is free again (its `SstFileManager`'s error recovery).
    #[error("disk full: {0}")]
    NoSpace(String),
}

impl StoreError {
    /// The error of a RocksDB status message: [`StoreError::NoSpace`]
    /// for ENOSPC (RocksDB's `NoSpace` subcode, or its space limit),
    /// [`StoreError::Db`] otherwise.
    pub fn from_db(message: String) -> StoreError {
        if message.contains("No space left on device") || message.contains("Max allowed space was reached") {
            StoreError::NoSpace(message)
        } else {
            StoreError::Db(message)
        }
    }

    /// Whether the disk is full (the write may succeed once space returns).
    pub fn is_no_space(&self) -> bool {
        matches!(self, StoreError::NoSpace(_))
    }
}

impl From<rocksdb::Error> for StoreError {
    fn from(e: rocksdb::Error) -> Self {
        StoreError::from_db(e.into_string())
    }
}

/// Options for opening a store.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// The database directory.
    pub path: PathBuf,
    /// When writes are acknowledged.
    pub sync: SyncPolicy,
    /// What to do with a store of an older schema.
    pub migrate: Migrate,
    /// RocksDB's memory budget in MiB: half for the block cache shared by
    /// every column family (which holds indexes and filters too), half for
    /// the memtables of all of them together.
    pub memory_mb: usize,
}

/// The default memory budget of a store, in MiB.
pub const DEFAULT_MEMORY_MB: usize = 32;

impl StoreConfig {
    /// A configuration with the defaults: fsync, migrations applied, the
    /// default memory budget.
    pub fn new(path: impl Into<PathBuf>) -> StoreConfig {
        StoreConfig {
            path: path.into(),
            sync: SyncPolicy::Fsync,
            migrate: Migrate::Apply,
            memory_mb: DEFAULT_MEMORY_MB,
        }
    }

    /// This configuration with writes acknowledged per `sync`.
    pub fn sync(mut self, sync: SyncPolicy) -> StoreConfig {
        self.sync = sync;
        self
    }

    /// This configuration with older schemas handled per `migrate`.
    pub fn migrate(mut self, migrate: Migrate) -> StoreConfig {
        self.migrate = migrate;
        self
    }
}

/// A handle to the node's database. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    db: Arc<DB>,
    writer: writer::Writer,
    /// The block cache every column family shares (for its memory usage).
    cache: Cache,
}

/// Where a store's memory goes, in bytes (RocksDB's own accounting).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreMemory {
    /// The memtables of every column family, flushed or not yet.
    pub memtables: u64,
    /// The table readers outside the block cache.
    pub table_readers: u64,
    /// The block cache: data blocks, indexes and filters.
    pub block_cache: u64,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({})", self.db.path().display())
    }
}

/// The options of a column family: the defaults, except for [`Cf::Blobs`],
/// whose values go to BlobDB's blob files (key-value separation: large
/// values are written once, not rewritten by every compaction of the LSM
/// tree), with garbage collection of deleted blobs.
/// The share of the oldest blob files whose live blobs compactions move
/// (and whose garbage they drop) in the `blobs` column family.
const BLOB_GC_AGE_CUTOFF: f64 = 0.25;

/// Bloom filter bits per key of most column families: about 1 % false
/// positives.
const FILTER_BITS: f64 = 10.0;

/// Bloom filter bits per key of [`Cf::Events`]: about 0.1 % false
/// positives. Every event taken in is first looked up there (the
/// duplicate check), and almost every lookup is of an event not stored;
/// each false positive reads a data block into the block cache for
/// nothing. After a million events taken in, those blocks were two thirds
/// of the cached data; the bigger filter costs 0.75 MB a million events.
const EVENT_FILTER_BITS: f64 = 16.0;

/// The format of a column family's table files: a Bloom filter per file.
/// What only reading uses (the block cache) is set apart.
fn table_format(cf: Cf) -> BlockBasedOptions {
    let mut table = BlockBasedOptions::default();
    table.set_bloom_filter(if cf == Cf::Events { EVENT_FILTER_BITS } else { FILTER_BITS }, false);
    table
}

fn cf_options(cf: Cf, table: &BlockBasedOptions) -> Options {
    let mut opts = Options::default();
    opts.set_block_based_table_factory(table);
    if cf == Cf::Blobs {
        opts.set_enable_blob_files(true);
        opts.set_min_blob_size(0);
        opts.set_blob_file_size(256 * 1024 * 1024);
        opts.set_blob_compression_type(rocksdb::DBCompressionType::None);
        opts.set_enable_blob_gc(true);
        opts.set_blob_gc_age_cutoff(BLOB_GC_AGE_CUTOFF);
    }
    opts
}

impl Store {
    /// Opens (creating if needed) the database at `config.path`: a store
    /// of a newer schema is refused before it is opened for writing, one
    /// of an older schema is migrated first (or refused, per
    /// `config.migrate`).
    pub fn open(config: &StoreConfig) -> Result<Store, StoreError> {
        Ok(Store::open_migrating(config)?.0)
    }

    /// [`Store::open`], also returning the migrations it ran.
    pub fn open_migrating(config: &StoreConfig) -> Result<(Store, Vec<migrate::Step>), StoreError> {
        migrate::check_before_open(&config.path, config.migrate)?;
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        opts.set_compression_type(rocksdb::DBCompressionType::Lz4);
        opts.set_max_background_jobs(2);
        opts.set_keep_log_file_num(4);
        // One memory budget: the memtables of all column families take
        // half of it (a write buffer manager flushes the largest once they
        // near it, and stalls writers while they are over it, so that a
        // burst of writes cannot outrun flushing), and one block cache,
        // which also holds the index and filter blocks, the other half.
        let budget = config.memory_mb.max(8) << 20;
        let memtables = rocksdb::WriteBufferManager::new_write_buffer_manager(budget / 2, true);
        opts.set_write_buffer_manager(&memtables);
        let cache = Cache::new_lru_cache(budget / 2);
        let cfs = Cf::ALL.iter().map(|cf| {
            let mut table = table_format(*cf);
            table.set_block_cache(&cache);
            table.set_cache_index_and_filter_blocks(true);
            table.set_pin_l0_filter_and_index_blocks_in_cache(true);
            let mut cf_opts = cf_options(*cf, &table);
            cf_opts.set_write_buffer_manager(&memtables);
            // One column family's memtable is switched for a new one at a
            // quarter of the budget, so that flushes stay small.
            cf_opts.set_write_buffer_size(budget / 4);
            ColumnFamilyDescriptor::new(cf.name(), cf_opts)
        });
        ingest::clear(&config.path)?;
        let db = DB::open_cf_descriptors(&opts, &config.path, cfs)?;
        let found = match db.get_cf(Self::handle_of(&db, Cf::Meta)?, keys::META_SCHEMA)? {
            Some(v) => migrate::decode_version(&v)?,
            None => {
                // A new database. Written directly (not through the
                // writer) so that opening a store never blocks an async
                // runtime.
                let mut opts = rocksdb::WriteOptions::default();
                opts.set_sync(true);
                db.put_cf_opt(Self::handle_of(&db, Cf::Meta)?, keys::META_SCHEMA, SCHEMA_VERSION.to_be_bytes(), &opts)?;
                SCHEMA_VERSION
            }
        };
        let done = migrate::run(&db, found)?;
        let db = Arc::new(db);
        let store = Store { writer: writer::Writer::start(db.clone(), config.sync), db, cache };
        store.check_schema()?;
        Ok((store, done))
    }

    /// Whether the store answers reads and takes writes now: the schema
    /// version reads back, and RocksDB has not stopped writes (too many
    /// files waiting for compaction). For readiness checks.
    pub fn health(&self) -> Result<(), StoreError> {
        self.check_schema()?;
        if self.db.property_int_value("rocksdb.is-write-stopped")?.unwrap_or(0) != 0 {
            return Err(StoreError::Db("writes are stopped until compaction catches up".into()));
        }
        Ok(())
    }

    fn check_schema(&self) -> Result<(), StoreError> {
        let found = self.get(Cf::Meta, keys::META_SCHEMA)?.map(|v| migrate::decode_version(&v)).transpose()?;
        match found {
            Some(SCHEMA_VERSION) => Ok(()),
            Some(found) if found > SCHEMA_VERSION => Err(StoreError::TooNew { found, supported: SCHEMA_VERSION }),
            Some(found) => Err(StoreError::NeedsMigration { found, expected: SCHEMA_VERSION }),
            None => Err(StoreError::Corrupt { cf: Cf::Meta.name(), detail: "no schema version".into() }),
        }
    }

    /// The database directory.
    pub fn path(&self) -> &Path {
        self.db.path()
    }

    /// Writes a batch atomically; resolves once it is durable per the
    /// store's [`SyncPolicy`]. Cancel-safe: dropping the future does not
    /// undo or tear the write, which completes or fails as a whole.
    pub async fn write(&self, batch: Batch) -> Result<(), StoreError> {
        self.writer.write(batch).await
    }

    /// Flushes and closes the database. Call on the last handle: the
    /// writer thread ends once no other clone of this store is alive, and
    /// RocksDB releases its lock when it has.
    pub fn close(self) -> Result<(), StoreError> {
        self.flush()?;
        let Store { db, writer, cache } = self;
        drop(cache);
        drop(db);
        writer.close();
        Ok(())
    }

    /// What the writer has committed since the store was opened: group
    /// commits, the fsynced ones, and the batches they carried.
    pub fn commits(&self) -> CommitStats {
        self.writer.stats()
    }

    /// Where the store's memory goes now.
    pub fn memory(&self) -> Result<StoreMemory, StoreError> {
        let stats = rocksdb::perf::get_memory_usage_stats(Some(&[&self.db]), Some(&[&self.cache]))?;
        Ok(StoreMemory {
            memtables: stats.mem_table_total,
            table_readers: stats.mem_table_readers_total,
            block_cache: stats.cache_total,
        })
    }

    /// Flushes memtables and syncs the WAL (for shutdown).
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush_wal(true)?;
        for cf in Cf::ALL {
            if let Some(h) = self.db.cf_handle(cf.name()) {
                self.db.flush_cf(h)?;
            }
        }
        Ok(())
    }

    fn handle(&self, cf: Cf) -> Result<&rocksdb::ColumnFamily, StoreError> {
        Self::handle_of(&self.db, cf)
    }

    pub(crate) fn handle_of(db: &DB, cf: Cf) -> Result<&rocksdb::ColumnFamily, StoreError> {
        db.cf_handle(cf.name()).ok_or_else(|| StoreError::Db(format!("missing column family {}", cf.name())))
    }

    /// Reads one value.
    pub fn get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.db.get_cf(self.handle(cf)?, key)?)
    }

    /// Reads up to `limit` entries whose keys start with `prefix`, from
    /// `start` (inclusive) in `direction`.
    ///
    /// The iterator is bounded to the prefix: unbounded, a scan that
    /// reaches the end of its prefix steps over every deleted key after it
    /// until it finds a live one (a peer's outbox scan stepped over all of
    /// the next peer's delivered entries, every push).
    pub fn scan(
        &self,
        cf: Cf,
        prefix: &[u8],
        start: &[u8],
        forward: bool,
        limit: usize,
    ) -> Result<Vec<KeyValue>, StoreError> {
        let dir = if forward { Direction::Forward } else { Direction::Reverse };
        let mut bounds = ReadOptions::default();
        if !forward {
            bounds.set_iterate_lower_bound(prefix);
        } else if let Some(end) = prefix_end(prefix) {
            bounds.set_iterate_upper_bound(end);
        }
        let mut out = Vec::new();
        if limit == 0 {
            return Ok(out);
        }
        for item in self.db.iterator_cf_opt(self.handle(cf)?, bounds, IteratorMode::From(start, dir)) {
            let (k, v) = item?;
            if !k.starts_with(prefix) {
                break;
            }
            out.push((k.into_vec(), v.into_vec()));
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }
}

/// The first key after every key that starts with `prefix` (`None` when
/// there is none: an empty prefix, or one of `0xff` bytes only).
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let last = prefix.iter().rposition(|b| *b != 0xff)?;
    let mut end = prefix[..=last].to_vec();
    end[last] += 1;
    Some(end)
}

#[cfg(test)]
mod tests {
    use super::prefix_end;

    #[test]
    fn a_prefix_ends_at_its_last_byte_that_can_grow() {
        assert_eq!(prefix_end(&[1, 2, 3]), Some(vec![1, 2, 4]));
        assert_eq!(prefix_end(&[1, 0xff, 0xff]), Some(vec![2]));
        assert_eq!(prefix_end(&[0xff, 0xff]), None);
        assert_eq!(prefix_end(&[]), None);
    }
}

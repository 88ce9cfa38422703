//! Bulk writes: a long, sorted run of records is written as a table file
//! of its own and handed to RocksDB whole (ingested), instead of going
//! through the write-ahead log and a memtable and then being written again
//! when the memtable is flushed. A million list leaves of a fresh
//! subscription are written once, and never held in memory.

use crate::{Cf, Store, StoreError};
use rocksdb::{IngestExternalFileOptions, SstFileWriter};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// The directory, inside the database's, where table files are built.
const DIR: &str = "ingest";

/// Numbers the table files this process builds.
static NEXT: AtomicU64 = AtomicU64::new(0);

/// Removes table files left by a process that stopped while building
/// one (none of them was ingested, or it would have been moved).
pub(crate) fn clear(db_path: &Path) -> Result<(), StoreError> {
    match std::fs::remove_dir_all(db_path.join(DIR)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(StoreError::Db(format!("clearing {DIR}: {e}"))),
        _ => Ok(()),
    }
}

fn io(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Db(format!("{what}: {e}"))
}

impl Store {
    /// Writes `rows`, in strictly increasing key order, into `cf` as one
    /// table file, and ingests it: once this returns, the rows are
    /// durable (the file is synced before it is ingested, and the
    /// ingestion is recorded in the synced manifest) and visible as one.
    /// A later write of the same keys wins. Blocking: call it from a
    /// blocking thread, not from an async task.
    pub(crate) fn ingest_sorted<K: AsRef<[u8]>, V: AsRef<[u8]>>(
        &self,
        cf: Cf,
        rows: impl IntoIterator<Item = (K, V)>,
    ) -> Result<(), StoreError> {
        let dir = self.db.path().join(DIR);
        std::fs::create_dir_all(&dir).map_err(|e| io("creating the ingest directory", e))?;
        let file =
            dir.join(format!("{}-{}-{}.sst", cf.name(), std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed)));
        let result = self.build_and_ingest(cf, &file, rows);
        // Moved into the database on success; left over on failure.
        let _ = std::fs::remove_file(&file);
        result
    }

    fn build_and_ingest<K: AsRef<[u8]>, V: AsRef<[u8]>>(
        &self,
        cf: Cf,
        file: &Path,
        rows: impl IntoIterator<Item = (K, V)>,
    ) -> Result<(), StoreError> {
        // The column family's own options and table format, without the
        // shared block cache, which only reading uses.
        let opts = crate::cf_options(cf, &crate::table_format(cf));
        let mut writer = SstFileWriter::create(&opts);
        writer.open(file)?;
        let mut any = false;
        for (key, value) in rows {
            writer.put(key, value)?;
            any = true;
        }
        if !any {
            return Ok(());
        }
        writer.finish()?;
        let mut ingest = IngestExternalFileOptions::default();
        ingest.set_move_files(true);
        self.db.ingest_external_file_cf_opts(self.handle(cf)?, &ingest, vec![file])?;
        Ok(())
    }
}

//! Backups: a consistent copy of a running store, and the mark a restored
//! store carries until its node has caught up with its peers.

use crate::{Batch, Cf, Store, StoreError, keys};
use accord_proto::Timestamp;
use std::path::Path;

impl Store {
    /// Makes a consistent copy of the store, as of one moment, in `dir`
    /// (which must not exist; its parent must): a RocksDB checkpoint, whose
    /// table files are hard links when `dir` is on the same filesystem and
    /// copies otherwise, and whose write-ahead log is flushed first. The
    /// copy opens as a store of its own.
    pub async fn checkpoint(&self, dir: &Path) -> Result<(), StoreError> {
        let (db, dir) = (self.db.clone(), dir.to_path_buf());
        tokio::task::spawn_blocking(move || -> Result<(), StoreError> {
            rocksdb::checkpoint::Checkpoint::new(&db)?.create_checkpoint(&dir)?;
            Ok(())
        })
        .await
        .map_err(|e| StoreError::Db(e.to_string()))?
    }

    /// When this store was restored from a backup, if its node has not yet
    /// caught up since.
    pub fn restored(&self) -> Result<Option<Timestamp>, StoreError> {
        let Some(v) = self.get(Cf::Meta, keys::META_RESTORED)? else { return Ok(None) };
        let millis = v
            .as_slice()
            .try_into()
            .map(u64::from_be_bytes)
            .map_err(|_| StoreError::Corrupt { cf: Cf::Meta.name(), detail: "restore time is not 8 bytes".into() })?;
        Ok(Some(Timestamp::from_millis(millis)))
    }

    /// Marks the store restored at `at`, or (`None`) caught up.
    pub async fn set_restored(&self, at: Option<Timestamp>) -> Result<(), StoreError> {
        let mut b = Batch::new();
        match at {
            Some(at) => b.put(Cf::Meta, keys::META_RESTORED.to_vec(), at.as_millis().to_be_bytes()),
            None => b.delete(Cf::Meta, keys::META_RESTORED.to_vec()),
        }
        self.write(b).await
    }
}

#[cfg(test)]
mod tests {
    use crate::{Migrate, Store, StoreConfig, SyncPolicy};
    use accord_proto::Timestamp;

    #[tokio::test]
    async fn a_checkpoint_opens_as_a_store_with_what_was_written_before_it_and_nothing_after() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            Store::open(&StoreConfig::new(dir.path().join("db")).sync(SyncPolicy::Fsync).migrate(Migrate::Apply))
                .unwrap();
        store.set_restored(Some(Timestamp::from_millis(1))).await.unwrap();
        store.checkpoint(&dir.path().join("copy")).await.unwrap();
        store.set_restored(Some(Timestamp::from_millis(2))).await.unwrap();
        assert!(store.checkpoint(&dir.path().join("copy")).await.is_err(), "the directory must not exist");

        let copy =
            Store::open(&StoreConfig::new(dir.path().join("copy")).sync(SyncPolicy::Fsync).migrate(Migrate::Apply))
                .unwrap();
        assert_eq!(copy.restored().unwrap(), Some(Timestamp::from_millis(1)), "as of the checkpoint");
        copy.set_restored(None).await.unwrap();
        assert_eq!(copy.restored().unwrap(), None);
        assert_eq!(store.restored().unwrap(), Some(Timestamp::from_millis(2)), "the original is its own");
    }
}

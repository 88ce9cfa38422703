//! Content-addressed blobs: the files messages carry (spec/events.md §2.3).
//!
//! A blob's bytes are kept under their SHA-256 in [`Cf::Blobs`] (BlobDB),
//! its record in [`Cf::BlobMeta`], the accounts it counts against in
//! [`Cf::BlobOwners`] and the events that carry it in [`Cf::BlobRefs`]
//! (written with each event, see `events_batch`). A blob and its
//! thumbnail, their records and the owner row are one write.

use crate::{Batch, Cf, Store, StoreError, keys};
use accord_proto::media::MediaType;
use accord_proto::pdq::PdqHash;
use accord_proto::{AccountId, EventId, NodeId, Sha256Hash, Timestamp};
use serde::{Deserialize, Serialize};

/// What the store keeps about a blob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobRecord {
    /// Its size in bytes.
    pub size: u64,
    /// Its media type.
    pub media_type: MediaType,
    /// Width of an image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// Height of an image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// The hash of its thumbnail (images).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail: Option<Sha256Hash>,
    /// For a thumbnail: the blob it stands for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail_of: Option<Sha256Hash>,
    /// The account of this node that first uploaded it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uploader: Option<AccountId>,
    /// The node it was fetched from (blobs of other nodes' events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<NodeId>,
    /// When it was stored.
    pub stored: Timestamp,
    /// When its bytes were purged (the record stays, as evidence).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purged: Option<Timestamp>,
    /// For an image: the PDQ hashes this node computed from its pixels
    /// (the image's and its mirror image's) that are strong enough to act
    /// on; empty when none is. Absent when not computed (not an image, or
    /// stored by an older version). Kept after a purge, as evidence and so
    /// that the events carrying it stay matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pdq: Option<Vec<PdqHash>>,
}

/// A blob to store, with its thumbnail.
#[derive(Debug, Clone)]
pub struct NewBlob {
    /// Its hash.
    pub hash: Sha256Hash,
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// Its record.
    pub record: BlobRecord,
    /// Its thumbnail: hash, bytes and record.
    pub thumbnail: Option<(Sha256Hash, Vec<u8>, BlobRecord)>,
}

fn corrupt(cf: Cf, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt { cf: cf.name(), detail: e.to_string() }
}

fn size_of(cf: Cf, v: &[u8]) -> Result<u64, StoreError> {
    v.try_into().map(u64::from_be_bytes).map_err(|_| corrupt(cf, "size is not 8 bytes"))
}

impl Store {
    /// Stores a blob, its record, its thumbnail and (for an upload) the
    /// row that counts it against `owner`'s quota, in one write. A blob
    /// stored already keeps its record; only the owner row is added.
    pub async fn put_blob(&self, blob: NewBlob, owner: Option<AccountId>) -> Result<(), StoreError> {
        let mut b = Batch::new();
        if let Some(account) = owner {
            b.put(Cf::BlobOwners, keys::blob_owner(&account, &blob.hash).to_vec(), blob.record.size.to_be_bytes());
        }
        if self.blob_record(&blob.hash)?.is_none() {
            b.put(Cf::BlobMeta, blob.hash.as_bytes().to_vec(), serde_json::to_vec(&blob.record).unwrap_or_default());
            b.put(Cf::Blobs, blob.hash.as_bytes().to_vec(), blob.bytes);
            // A thumbnail that is the blob itself (a small image) or a blob
            // held already is not stored again.
            if let Some((hash, bytes, record)) = blob.thumbnail
                && hash != blob.hash
                && self.blob_record(&hash)?.is_none()
            {
                b.put(Cf::BlobMeta, hash.as_bytes().to_vec(), serde_json::to_vec(&record).unwrap_or_default());
                b.put(Cf::Blobs, hash.as_bytes().to_vec(), bytes);
            }
        }
        if b.is_empty() {
            return Ok(());
        }
        self.write(b).await
    }

    /// Deletes a blob's bytes and its thumbnail's, keeping both records
    /// (marked purged, as evidence: the hash, type, size, who uploaded it
    /// or where it came from) and its owner and reference rows, in one
    /// write. Returns the bytes freed (0 if it was not held or purged
    /// already).
    pub async fn purge_blob(&self, hash: &Sha256Hash, when: Timestamp) -> Result<u64, StoreError> {
        let Some(record) = self.blob_record(hash)? else { return Ok(0) };
        if record.purged.is_some() {
            return Ok(0);
        }
        let mut b = Batch::new();
        let mut freed = record.size;
        if let Some(thumb) = record.thumbnail.filter(|t| t != hash)
            && let Some(t) = self.blob_record(&thumb)?
            && t.purged.is_none()
        {
            freed += t.size;
            let t = BlobRecord { purged: Some(when), ..t };
            b.put(Cf::BlobMeta, thumb.as_bytes().to_vec(), serde_json::to_vec(&t).unwrap_or_default());
            b.delete(Cf::Blobs, thumb.as_bytes().to_vec());
        }
        let record = BlobRecord { purged: Some(when), ..record };
        b.put(Cf::BlobMeta, hash.as_bytes().to_vec(), serde_json::to_vec(&record).unwrap_or_default());
        b.delete(Cf::Blobs, hash.as_bytes().to_vec());
        self.write(b).await?;
        Ok(freed)
    }

    /// Records a blob this node refused to store (an image that a list
    /// entry matched when it was fetched): the record, marked purged, and
    /// no bytes, so that the events carrying it are matched and it is not
    /// fetched again. A blob held already is left as it is.
    pub async fn put_refused_blob(&self, hash: &Sha256Hash, record: BlobRecord) -> Result<(), StoreError> {
        if self.blob_record(hash)?.is_some() {
            return Ok(());
        }
        let record = BlobRecord { purged: Some(record.purged.unwrap_or(record.stored)), ..record };
        let mut b = Batch::new();
        b.put(Cf::BlobMeta, hash.as_bytes().to_vec(), serde_json::to_vec(&record).unwrap_or_default());
        self.write(b).await
    }

    /// Sets the PDQ hashes of a blob's record (computed for a blob stored
    /// without them).
    pub async fn set_blob_pdq(&self, hash: &Sha256Hash, pdq: Vec<PdqHash>) -> Result<(), StoreError> {
        let Some(record) = self.blob_record(hash)? else { return Ok(()) };
        let record = BlobRecord { pdq: Some(pdq), ..record };
        let mut b = Batch::new();
        b.put(Cf::BlobMeta, hash.as_bytes().to_vec(), serde_json::to_vec(&record).unwrap_or_default());
        self.write(b).await
    }

    /// Every blob record, thumbnails and purged blobs included.
    pub fn blob_records(&self) -> Result<Vec<(Sha256Hash, BlobRecord)>, StoreError> {
        let rows = self.scan(Cf::BlobMeta, b"", b"", true, usize::MAX)?;
        rows.iter()
            .map(|(k, v)| {
                let hash: [u8; 32] =
                    k.as_slice().try_into().map_err(|_| corrupt(Cf::BlobMeta, "key is not 32 bytes"))?;
                let record = serde_json::from_slice(v).map_err(|e| corrupt(Cf::BlobMeta, e))?;
                Ok((Sha256Hash(hash), record))
            })
            .collect()
    }

    /// Makes the bytes of purged blobs unrecoverable from the data
    /// directory, not only unreachable: every column family is flushed (so
    /// that no write-ahead log still holds them), then the blob files are
    /// compacted with garbage collection forced over all of them (so that
    /// no blob file still holds them), and the files left obsolete are
    /// deleted. It rewrites every live blob: a cost paid once per sweep
    /// that purged something.
    pub async fn erase_purged_blobs(&self) -> Result<(), StoreError> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || -> Result<(), StoreError> {
            let handles: Vec<_> = Cf::ALL.iter().filter_map(|cf| db.cf_handle(cf.name())).collect();
            let mut flush = rocksdb::FlushOptions::default();
            flush.set_wait(true);
            db.flush_cfs_opt(&handles, &flush)?;
            let blobs =
                db.cf_handle(Cf::Blobs.name()).ok_or_else(|| StoreError::Db("missing column family blobs".into()))?;
            db.set_options_cf(blobs, &[("blob_garbage_collection_age_cutoff", "1.0")])?;
            let mut compact = rocksdb::CompactOptions::default();
            compact.set_bottommost_level_compaction(rocksdb::BottommostLevelCompaction::Force);
            db.compact_range_cf_opt(blobs, None::<&[u8]>, None::<&[u8]>, &compact);
            let cutoff = crate::BLOB_GC_AGE_CUTOFF.to_string();
            db.set_options_cf(blobs, &[("blob_garbage_collection_age_cutoff", cutoff.as_str())])?;
            Ok(())
        })
        .await
        .map_err(|e| StoreError::Db(e.to_string()))?
    }

    /// A blob's record.
    pub fn blob_record(&self, hash: &Sha256Hash) -> Result<Option<BlobRecord>, StoreError> {
        self.get(Cf::BlobMeta, hash.as_bytes())?
            .map(|v| serde_json::from_slice(&v).map_err(|e| corrupt(Cf::BlobMeta, e)))
            .transpose()
    }

    /// A blob's bytes.
    pub fn blob(&self, hash: &Sha256Hash) -> Result<Option<Vec<u8>>, StoreError> {
        self.get(Cf::Blobs, hash.as_bytes())
    }

    /// Whether `account` owns the blob (uploaded it).
    pub fn owns_blob(&self, account: &AccountId, hash: &Sha256Hash) -> Result<bool, StoreError> {
        Ok(self.get(Cf::BlobOwners, &keys::blob_owner(account, hash))?.is_some())
    }

    /// The bytes counted against `account`: the sizes of the blobs it
    /// uploaded, each once.
    pub fn account_blob_bytes(&self, account: &AccountId) -> Result<u64, StoreError> {
        let rows = self.scan(Cf::BlobOwners, account.as_bytes(), account.as_bytes(), true, usize::MAX)?;
        rows.iter().try_fold(0u64, |sum, (_, v)| Ok(sum.saturating_add(size_of(Cf::BlobOwners, v)?)))
    }

    /// The bytes of every blob stored (thumbnails included, purged ones
    /// not).
    pub fn blob_bytes(&self) -> Result<u64, StoreError> {
        let rows = self.scan(Cf::BlobMeta, b"", b"", true, usize::MAX)?;
        rows.iter().try_fold(0u64, |sum, (_, v)| {
            let record: BlobRecord = serde_json::from_slice(v).map_err(|e| corrupt(Cf::BlobMeta, e))?;
            Ok(if record.purged.is_some() { sum } else { sum.saturating_add(record.size) })
        })
    }

    /// The stored events that carry a blob.
    pub fn blob_refs(&self, hash: &Sha256Hash) -> Result<Vec<EventId>, StoreError> {
        let rows = self.scan(Cf::BlobRefs, hash.as_bytes(), hash.as_bytes(), true, usize::MAX)?;
        rows.iter()
            .map(|(k, _)| {
                let id: [u8; 32] =
                    k.get(32..64).and_then(|s| s.try_into().ok()).ok_or_else(|| corrupt(Cf::BlobRefs, "short key"))?;
                Ok(EventId::from_bytes(id))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Migrate, StoreConfig, SyncPolicy};
    use accord_proto::SecretKey;

    fn record(size: u64) -> BlobRecord {
        BlobRecord {
            size,
            media_type: MediaType::Png,
            width: Some(1),
            height: Some(1),
            thumbnail: None,
            thumbnail_of: None,
            uploader: None,
            origin: None,
            stored: Timestamp::from_millis(1),
            purged: None,
            pdq: None,
        }
    }

    #[tokio::test]
    async fn a_blob_is_stored_once_and_counted_per_owner() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&StoreConfig::new(dir.path()).sync(SyncPolicy::Wal).migrate(Migrate::Apply)).unwrap();
        let (alice, bob) = (SecretKey::from_seed([1; 32]).account_id(), SecretKey::from_seed([2; 32]).account_id());
        let bytes = vec![7u8; 100_000];
        let hash = Sha256Hash::digest(&bytes);
        let thumb = (Sha256Hash::digest(b"t"), b"t".to_vec(), BlobRecord { thumbnail_of: Some(hash), ..record(1) });
        let blob = NewBlob { hash, bytes: bytes.clone(), record: record(100_000), thumbnail: Some(thumb) };
        store.put_blob(blob.clone(), Some(alice)).await.unwrap();
        store.put_blob(blob.clone(), Some(alice)).await.unwrap();
        store.put_blob(blob, Some(bob)).await.unwrap();
        assert_eq!(store.blob(&hash).unwrap().unwrap(), bytes);
        assert_eq!(store.account_blob_bytes(&alice).unwrap(), 100_000);
        assert_eq!(store.account_blob_bytes(&bob).unwrap(), 100_000);
        assert_eq!(store.blob_bytes().unwrap(), 100_001);
        assert!(store.owns_blob(&alice, &hash).unwrap());
        assert_eq!(store.blob_record(&Sha256Hash::digest(b"t")).unwrap().unwrap().thumbnail_of, Some(hash));
        assert!(store.blob_refs(&hash).unwrap().is_empty());

        assert_eq!(
            store.purge_blob(&hash, Timestamp::from_millis(9)).await.unwrap(),
            100_000,
            "its record names no thumbnail"
        );
        assert!(store.blob(&hash).unwrap().is_none(), "the bytes are gone");
        let kept = store.blob_record(&hash).unwrap().unwrap();
        assert_eq!(
            (kept.size, kept.purged),
            (100_000, Some(Timestamp::from_millis(9))),
            "the record stays as evidence"
        );
        assert_eq!(store.purge_blob(&hash, Timestamp::from_millis(10)).await.unwrap(), 0, "purged once");
        assert_eq!(store.blob_bytes().unwrap(), 1, "only the thumbnail's byte is counted");
    }

    #[tokio::test]
    async fn a_thumbnail_that_is_the_blob_itself_leaves_the_blob_record_alone() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&StoreConfig::new(dir.path()).sync(SyncPolicy::Wal).migrate(Migrate::Apply)).unwrap();
        let hash = Sha256Hash::digest(b"small");
        let thumb = (hash, b"small".to_vec(), BlobRecord { thumbnail_of: Some(hash), ..record(5) });
        let blob = NewBlob {
            hash,
            bytes: b"small".to_vec(),
            record: BlobRecord { thumbnail: Some(hash), ..record(5) },
            thumbnail: Some(thumb),
        };
        store.put_blob(blob, None).await.unwrap();
        let held = store.blob_record(&hash).unwrap().unwrap();
        assert_eq!((held.thumbnail, held.thumbnail_of), (Some(hash), None));
    }

    #[tokio::test]
    async fn a_purged_blob_keeps_its_pdq_hashes_and_the_purge_time_as_evidence_across_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let config = StoreConfig::new(dir.path()).sync(SyncPolicy::Fsync).migrate(Migrate::Apply);
        let pdq = vec![PdqHash([0xf0; 32]), PdqHash([0xa5; 32])];
        let bytes = vec![3u8; 40_000];
        let hash = Sha256Hash::digest(&bytes);
        let uploader = SecretKey::from_seed([4; 32]).account_id();
        {
            let store = Store::open(&config).unwrap();
            let record = BlobRecord { pdq: Some(pdq.clone()), uploader: Some(uploader), ..record(40_000) };
            store.put_blob(NewBlob { hash, bytes, record, thumbnail: None }, Some(uploader)).await.unwrap();
            assert_eq!(store.purge_blob(&hash, Timestamp::from_millis(77)).await.unwrap(), 40_000);
            store.erase_purged_blobs().await.unwrap();
        }
        let store = Store::open(&config).unwrap();
        assert!(store.blob(&hash).unwrap().is_none(), "the bytes are gone");
        let kept = store.blob_record(&hash).unwrap().expect("the record stays");
        assert_eq!(kept.pdq, Some(pdq), "the PDQ hashes stay, as evidence");
        assert_eq!(kept.purged, Some(Timestamp::from_millis(77)), "and when the bytes were purged");
        assert_eq!((kept.size, kept.uploader), (40_000, Some(uploader)), "and what it was and who uploaded it");
        let listed = store.blob_records().unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].1.purged, Some(Timestamp::from_millis(77)), "the sweep sees it purged after a restart");
        assert_eq!(store.blob_bytes().unwrap(), 0, "a purged blob counts against no quota");
    }

    /// Whether any file under `dir` contains `needle`.
    fn on_disk(dir: &std::path::Path, needle: &[u8]) -> bool {
        std::fs::read_dir(dir).unwrap().any(|entry| {
            let path = entry.unwrap().path();
            if path.is_dir() {
                return on_disk(&path, needle);
            }
            std::fs::read(&path).is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
        })
    }

    #[tokio::test]
    async fn erased_blobs_are_in_no_file_of_the_data_directory() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&StoreConfig::new(dir.path()).sync(SyncPolicy::Fsync).migrate(Migrate::Apply)).unwrap();
        let blob_of = |seed: u8| -> Vec<u8> {
            (0..50_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 ^ seed).collect()
        };
        let (gone, kept) = (blob_of(1), blob_of(2));
        for bytes in [&gone, &kept] {
            let hash = Sha256Hash::digest(bytes);
            store
                .put_blob(NewBlob { hash, bytes: bytes.clone(), record: record(50_000), thumbnail: None }, None)
                .await
                .unwrap();
        }
        // Written to blob files, as a node does over time.
        store.erase_purged_blobs().await.unwrap();
        let needle = |bytes: &[u8]| bytes[20_000..20_064].to_vec();
        assert!(on_disk(dir.path(), &needle(&gone)), "the stored bytes are on disk");

        let hash = Sha256Hash::digest(&gone);
        store.purge_blob(&hash, Timestamp::from_millis(9)).await.unwrap();
        assert!(on_disk(dir.path(), &needle(&gone)), "a purge alone leaves the bytes in the blob file");
        store.erase_purged_blobs().await.unwrap();
        assert!(!on_disk(dir.path(), &needle(&gone)), "erased: in no file");
        assert!(on_disk(dir.path(), &needle(&kept)), "the other blob is still on disk");
        assert_eq!(store.blob(&Sha256Hash::digest(&kept)).unwrap().unwrap(), kept, "and still served");
        assert_eq!(store.blob_record(&hash).unwrap().unwrap().purged, Some(Timestamp::from_millis(9)));
    }
}

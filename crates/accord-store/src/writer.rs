//! The group-committing writer: one thread owns the write path; concurrent
//! batches are merged into one RocksDB write (and one fsync), then each
//! waiter is answered.
//!
//! A device that answers an fsync in a fraction of a millisecond (a
//! virtual machine's disk, an NVMe drive with power-loss protection) lets
//! the writer commit as soon as anything is queued, a few batches at a
//! time; every fsync then costs the node CPU (the system call, the
//! device's interrupt, waking the writer) that a larger group would share.
//! So while several writers commit at once (the last fsynced group held
//! batches of `SIBLINGS` or more, e.g. rooms written to together), the
//! next fsynced group starts no sooner than `FSYNC_SPACING` after the
//! last one started, and takes in what was queued meanwhile: under load, at
//! most about a thousand fsyncs a second, each for more batches. A lone
//! writer (one busy room, whose next batch comes only once its last is
//! answered) is never held back, and a disk whose fsync takes longer than
//! the spacing never waits for it either.

use crate::{Cf, StoreError};
use rocksdb::{DB, WriteBatch, WriteOptions};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// When a write is acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncPolicy {
    /// After the WAL is written and fsynced (survives power loss). One
    /// fsync serves every batch of a group.
    #[default]
    Fsync,
    /// After the WAL is written, without fsync (survives a crash of the
    /// process, not of the machine).
    Wal,
}

/// The most batches merged into one group commit.
const MAX_GROUP: usize = 512;
/// Pending batches before writers wait (back-pressure).
const QUEUE: usize = 4096;
/// Least time between the starts of two fsynced groups while several
/// writers commit at once.
const FSYNC_SPACING: Duration = Duration::from_millis(1);
/// Fsynced batches in the last group from which the next fsynced group
/// keeps [`FSYNC_SPACING`].
const SIBLINGS: usize = 2;

/// What the writer has committed since the store was opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommitStats {
    /// Group commits: RocksDB writes, each of one or more batches.
    pub commits: u64,
    /// Group commits that were fsynced.
    pub fsyncs: u64,
    /// Batches written, over all group commits.
    pub batches: u64,
}

/// The writer thread's counts, read by the store's handles.
#[derive(Default)]
struct Counts {
    commits: AtomicU64,
    fsyncs: AtomicU64,
    batches: AtomicU64,
}

#[derive(Debug)]
enum Op {
    Put(Cf, Vec<u8>, Vec<u8>),
    Delete(Cf, Vec<u8>),
}

/// A set of puts and deletes across column families, written atomically.
#[derive(Debug)]
pub struct Batch {
    ops: Vec<Op>,
    /// Whether the write waits for fsync (under [`SyncPolicy::Fsync`]).
    fsync: bool,
}

impl Default for Batch {
    fn default() -> Self {
        Self { ops: Vec::new(), fsync: true }
    }
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Marks the batch as one whose loss in a machine crash is repaired
    /// by the protocol (events received from peers, which sync fetches
    /// again; removals of delivered outbox entries, which are pushed again
    /// as duplicates): it is written to the WAL, which survives a crash of
    /// the process, without waiting for an fsync. A later fsynced write
    /// makes it durable too (the WAL is written in order).
    pub fn recoverable(mut self) -> Self {
        self.fsync = false;
        self
    }

    /// Sets `key` to `value` in `cf`.
    pub fn put(&mut self, cf: Cf, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.ops.push(Op::Put(cf, key.into(), value.into()));
    }

    /// Deletes `key` from `cf`.
    pub fn delete(&mut self, cf: Cf, key: impl Into<Vec<u8>>) {
        self.ops.push(Op::Delete(cf, key.into()));
    }

    /// Whether the batch holds no operation.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

struct Request {
    batch: Batch,
    done: oneshot::Sender<Result<(), StoreError>>,
}

/// Handle to the writer thread.
#[derive(Clone)]
pub(crate) struct Writer {
    /// Dropped before `thread` (fields drop in order): once the last
    /// handle's sender is gone, the thread finishes and is joined.
    tx: mpsc::Sender<Request>,
    thread: Arc<Joiner>,
    counts: Arc<Counts>,
}

/// Joins the writer thread when the last handle goes, so that the
/// database it holds is closed before the store's owner moves on (a
/// process that exits while RocksDB still closes on another thread
/// aborts).
struct Joiner(std::sync::Mutex<Option<std::thread::JoinHandle<()>>>);

impl Joiner {
    fn join(&self) {
        let thread = self.0.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(handle) = thread
            && handle.thread().id() != std::thread::current().id()
        {
            let _ = handle.join();
        }
    }
}

impl Drop for Joiner {
    fn drop(&mut self) {
        self.join();
    }
}

impl Writer {
    pub(crate) fn start(db: Arc<DB>, sync: SyncPolicy) -> Writer {
        let (tx, rx) = mpsc::channel(QUEUE);
        let counts = Arc::new(Counts::default());
        let thread_counts = counts.clone();
        let spawned = std::thread::Builder::new()
            .name("accord-store-writer".into())
            .spawn(move || run(db, sync, rx, &thread_counts));
        let thread = match spawned {
            Ok(handle) => Some(handle),
            Err(e) => {
                tracing::error!("cannot start the store writer thread: {e}");
                None
            }
        };
        Writer { tx, thread: Arc::new(Joiner(std::sync::Mutex::new(thread))), counts }
    }

    /// What has been committed so far.
    pub(crate) fn stats(&self) -> CommitStats {
        CommitStats {
            commits: self.counts.commits.load(Ordering::Relaxed),
            fsyncs: self.counts.fsyncs.load(Ordering::Relaxed),
            batches: self.counts.batches.load(Ordering::Relaxed),
        }
    }

    /// Stops accepting writes and waits for the thread to finish the ones
    /// queued (it exits once every handle is gone).
    pub(crate) fn close(self) {
        let Writer { tx, thread, .. } = self;
        drop(tx);
        thread.join();
    }

    pub(crate) async fn write(&self, batch: Batch) -> Result<(), StoreError> {
        let (done, rx) = oneshot::channel();
        self.tx.send(Request { batch, done }).await.map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }
}

fn run(db: Arc<DB>, sync: SyncPolicy, mut rx: mpsc::Receiver<Request>, counts: &Counts) {
    let mut durable = WriteOptions::default();
    durable.set_sync(sync == SyncPolicy::Fsync);
    let relaxed = WriteOptions::default();
    let mut group: Vec<Request> = Vec::with_capacity(MAX_GROUP);
    // When the last fsynced group started, and how many fsynced batches
    // it held.
    let mut last_fsync: Option<(Instant, usize)> = None;
    while let Some(first) = rx.blocking_recv() {
        // Only set under `SyncPolicy::Fsync`.
        if first.batch.fsync
            && let Some((at, siblings)) = last_fsync
            && siblings >= SIBLINGS
        {
            let since = at.elapsed();
            if since < FSYNC_SPACING {
                std::thread::sleep(FSYNC_SPACING - since);
            }
        }
        group.push(first);
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(req) => group.push(req),
                Err(_) => break,
            }
        }
        // One fsync serves the group when any of its batches needs one.
        let fsynced = group.iter().filter(|r| r.batch.fsync).count();
        let opts = if fsynced > 0 { &durable } else { &relaxed };
        if fsynced > 0 && sync == SyncPolicy::Fsync {
            last_fsync = Some((Instant::now(), fsynced));
            counts.fsyncs.fetch_add(1, Ordering::Relaxed);
        }
        counts.commits.fetch_add(1, Ordering::Relaxed);
        counts.batches.fetch_add(group.len() as u64, Ordering::Relaxed);
        let result = write_group(&db, opts, &group);
        for req in group.drain(..) {
            let answer = match &result {
                Ok(()) => Ok(()),
                Err(e) => Err(StoreError::from_db(e.clone())),
            };
            let _ = req.done.send(answer);
        }
    }
}

fn write_group(db: &DB, opts: &WriteOptions, group: &[Request]) -> Result<(), String> {
    // Sized once: a batch of a million list leaves is not copied as it grows.
    let bytes = group.iter().flat_map(|r| &r.batch.ops).map(Op::size).sum();
    let mut wb = WriteBatch::with_capacity_bytes(bytes);
    // The handle of the column family of the last operation: a large
    // batch is mostly one column family.
    let mut last: Option<(Cf, &rocksdb::ColumnFamily)> = None;
    let mut handle = |cf: Cf| match last {
        Some((at, h)) if at == cf => Ok(h),
        _ => {
            let h = db.cf_handle(cf.name()).ok_or_else(|| format!("missing column family {}", cf.name()))?;
            last = Some((cf, h));
            Ok::<_, String>(h)
        }
    };
    for req in group {
        for op in &req.batch.ops {
            match op {
                Op::Put(cf, k, v) => wb.put_cf(handle(*cf)?, k, v),
                Op::Delete(cf, k) => wb.delete_cf(handle(*cf)?, k),
            }
        }
    }
    db.write_opt(wb, opts).map_err(|e| e.into_string())
}

impl Op {
    /// About the bytes the operation takes in a RocksDB write batch.
    fn size(&self) -> usize {
        match self {
            Op::Put(_, k, v) => k.len() + v.len() + 12,
            Op::Delete(_, k) => k.len() + 8,
        }
    }
}

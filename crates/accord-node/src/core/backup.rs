//! Backups of a running node, and what a node restored from one does
//! before it speaks again (spec/federation.md §11, docs/operating.md).
//!
//! [`backup`] makes a consistent copy of the store (a RocksDB checkpoint)
//! and describes it room by room (last cursor, events accepted, history
//! hash), reading the copy itself. `accord-node backup` adds the
//! configuration and the node key; `accord-node restore` puts the three
//! back, checks the rooms against the description and marks the store
//! restored.
//!
//! A restored node may have stamped events after the backup that its
//! copy does not hold: were it to stamp again before learning of them, it
//! would reuse their sequence numbers, and its peers would take it for an
//! equivocating node. So at start a restored node stamps nothing in a room
//! it shares with other nodes until it has synced that room with one of
//! them ([`begin_catch_up`], [`room_synced`]): its members are answered
//! `catching_up` meanwhile, and `/readyz` says so.

use crate::core::Core;
use crate::core::rooms::{LoadError, load_room_verified};
use accord_api::admin::{BackupManifest, BackupRoom};
use accord_proto::{NodeId, RoomId, Timestamp};
use accord_store::{Migrate, SCHEMA_VERSION, Store, StoreConfig, StoreError, SyncPolicy};
use std::path::Path;

/// Why a backup failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackupError {
    /// The target is not an absolute path, exists already, or has no
    /// parent directory.
    #[error("{0}")]
    BadTarget(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The copy does not load.
    #[error(transparent)]
    Load(#[from] LoadError),
}

/// Every room of `store` (whose node is `me`), described: its last
/// cursor, the events its order accepts and its history hash. Loads one
/// room at a time.
pub fn describe(store: &Store, me: NodeId) -> Result<Vec<BackupRoom>, LoadError> {
    let mut rooms = Vec::new();
    for record in store.rooms()? {
        let rt = load_room_verified(store, me, record.room)?;
        rooms.push(BackupRoom {
            room: record.room,
            last_cursor: rt.cursor,
            accepted: rt.state.accepted(),
            history_hash: rt.state.history_hash(),
        });
    }
    rooms.sort_by_key(|r| r.room);
    Ok(rooms)
}

/// Copies the store, as of one moment, to `to` (an absolute path that
/// must not exist; its parent must), and describes the copy.
pub async fn backup(core: &Core, to: &Path) -> Result<BackupManifest, BackupError> {
    if !to.is_absolute() {
        return Err(BackupError::BadTarget(format!("{} is not an absolute path", to.display())));
    }
    if to.exists() {
        return Err(BackupError::BadTarget(format!("{} exists already", to.display())));
    }
    if !to.parent().is_some_and(Path::is_dir) {
        return Err(BackupError::BadTarget(format!("the parent of {} is not a directory", to.display())));
    }
    let taken = Timestamp::now();
    core.store.checkpoint(to).await?;
    let (dir, me) = (to.to_path_buf(), core.node_id);
    let rooms = tokio::task::spawn_blocking(move || -> Result<Vec<BackupRoom>, BackupError> {
        let copy = Store::open(&StoreConfig::new(dir).sync(SyncPolicy::Fsync).migrate(Migrate::Apply))?;
        let rooms = describe(&copy, me)?;
        copy.close()?;
        Ok(rooms)
    })
    .await
    .map_err(|e| BackupError::Store(StoreError::Db(e.to_string())))??;
    tracing::info!(to = %to.display(), rooms = rooms.len(), "backup taken");
    Ok(BackupManifest { node: core.node_id, schema: SCHEMA_VERSION, taken, rooms })
}

/// At start: if the store was restored from a backup and not caught up
/// since, marks every room shared with other nodes as catching up (the
/// node stamps nothing there until it has synced it with one of them).
pub async fn begin_catch_up(core: &Core) -> Result<(), StoreError> {
    let Some(restored) = core.store.restored()? else { return Ok(()) };
    let mut shared = Vec::new();
    for room in core.rooms.ids() {
        let Some(handle) = core.rooms.get(&room) else { continue };
        if handle.lock().await.hosts().iter().any(|h| *h != core.node_id) {
            shared.push(room);
        }
    }
    tracing::warn!(
        restored = %restored,
        rooms = shared.len(),
        "restored from a backup: stamping nothing in rooms shared with other nodes until each is synced"
    );
    if shared.is_empty() {
        return core.store.set_restored(None).await;
    }
    core.rooms.begin_catch_up(shared);
    Ok(())
}

/// A sync of `room` with a peer completed: after a restore, the node may
/// stamp there again; once every room is synced, the store's restore mark
/// is cleared.
pub async fn room_synced(core: &Core, room: &RoomId) {
    if !core.rooms.is_catching_up(room) {
        return;
    }
    let last = core.rooms.caught_up(room);
    tracing::info!(%room, "caught up after the restore");
    if last && let Err(e) = core.store.set_restored(None).await {
        tracing::warn!("clearing the restore mark: {e}");
    }
}

//! `accord-node backup` and `accord-node restore` (docs/operating.md,
//! "Back up, restore"). A backup is a directory: `db/` (a consistent copy
//! of the store, made by the running node), `accord.toml`, `node.key` and
//! `backup.json` (what the copy holds, room by room).

use crate::admin_cli::Admin;
use accord_api::admin::BackupManifest;
use accord_node::DataDir;
use accord_node::core::backup::describe;
use accord_proto::{NodeId, Timestamp};
use accord_store::{Migrate, Store, StoreConfig, SyncPolicy};
use anyhow::{Context as _, bail, ensure};
use serde_json::json;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

const MANIFEST: &str = "backup.json";

/// `accord-node backup --to DIR`: asks the running node for a copy of its
/// store in `DIR/db`, then adds its configuration and key.
pub(crate) async fn backup(data_dir: PathBuf, to: PathBuf) -> anyhow::Result<()> {
    let dir = DataDir::new(&data_dir);
    let to = std::path::absolute(&to).with_context(|| format!("{}", to.display()))?;
    ensure!(!to.exists(), "{} exists already: a backup goes to a new directory", to.display());
    private_dir(&to)?;
    let answer = Admin::new(&dir)?
        .call(reqwest::Method::POST, "/backup", Some(json!({"to": to.join("db")})))
        .await
        .context("the node's copy of its store")?;
    let manifest: BackupManifest = serde_json::from_value(answer).context("the node's answer")?;
    copy_private(&dir.config(), &to.join("accord.toml"))?;
    copy_private(&dir.key(), &to.join("node.key"))?;
    std::fs::write(to.join(MANIFEST), serde_json::to_vec_pretty(&manifest)?)?;
    println!(
        "backup of node {} in {}: {} rooms, taken {}; it holds the node key: keep it as secret",
        manifest.node,
        to.display(),
        manifest.rooms.len(),
        manifest.taken
    );
    Ok(())
}

/// `accord-node restore --from DIR`: puts a backup into a new data
/// directory, checks every room against `backup.json` and marks the store
/// restored (the node then stamps nothing in a shared room until it has
/// synced it with a peer).
pub(crate) async fn restore(from: PathBuf, data_dir: PathBuf) -> anyhow::Result<()> {
    let text = std::fs::read(from.join(MANIFEST)).with_context(|| format!("{}/{MANIFEST}", from.display()))?;
    let manifest: BackupManifest = serde_json::from_slice(&text).context("backup.json")?;
    let key = accord_node::keyfile::read(&from.join("node.key")).context("the backup's node key")?;
    ensure!(NodeId::from(key.public()) == manifest.node, "the backup's node key is not that of node {}", manifest.node);
    let dir = DataDir::new(&data_dir);
    let root = dir.root();
    if root.exists() {
        ensure!(
            root.is_dir() && std::fs::read_dir(root)?.next().is_none(),
            "{} is not empty: restore into a new data directory",
            root.display()
        );
    }
    private_dir(root)?;
    copy_tree(&from.join("db"), &dir.db())?;
    copy_private(&from.join("accord.toml"), &dir.config())?;
    copy_private(&from.join("node.key"), &dir.key())?;

    let store = Store::open(&StoreConfig::new(dir.db()).sync(SyncPolicy::Fsync).migrate(Migrate::Apply))
        .context("opening the copy")?;
    let rooms = describe(&store, manifest.node).context("loading the copy's rooms")?;
    if rooms != manifest.rooms {
        let differs = rooms.iter().filter(|r| !manifest.rooms.contains(r)).count()
            + manifest.rooms.iter().filter(|r| !rooms.contains(r)).count();
        bail!("the restored store does not hold what backup.json describes ({differs} rooms differ)");
    }
    store.set_restored(Some(Timestamp::now())).await?;
    store.close()?;
    println!(
        "restored node {} into {}: {} rooms as of {}. Start it with `accord-node run --data-dir {}` \
         while the original is stopped; it stamps nothing in a room shared with other nodes until it \
         has synced that room with one of them",
        manifest.node,
        root.display(),
        rooms.len(),
        manifest.taken,
        root.display()
    );
    Ok(())
}

fn private_dir(path: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(path).with_context(|| format!("creating {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))?;
    Ok(())
}

fn copy_private(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::copy(from, to).with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o600))?;
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<()> {
    private_dir(to)?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            copy_private(&entry.path(), &target)?;
        }
    }
    Ok(())
}

//! `accord-node migrate`: brings a stopped node's store up to this
//! binary's schema (docs/operating.md, "Upgrade"). The node does the same
//! at start unless `[storage] migrate = "refuse"`.

use accord_node::DataDir;
use accord_store::migrate::{pending, schema_version};
use accord_store::{Migrate, SCHEMA_VERSION, Store, StoreConfig, SyncPolicy};
use anyhow::{Context as _, bail};
use std::path::PathBuf;

/// Prints the pending steps, then (unless `dry_run`) runs them.
pub(crate) fn migrate(data_dir: PathBuf, dry_run: bool) -> anyhow::Result<()> {
    let db = DataDir::new(&data_dir).db();
    let Some(found) = schema_version(&db).with_context(|| format!("reading {}", db.display()))? else {
        bail!("{} holds no store: nothing to migrate (the first start creates one)", db.display());
    };
    if found > SCHEMA_VERSION {
        bail!(
            "the store has schema version {found}, newer than this binary's {SCHEMA_VERSION}: \
             it was written by a newer accord-node, run that one"
        );
    }
    let steps = pending(found);
    if steps.is_empty() {
        println!("the store is at schema version {found}: nothing to do");
        return Ok(());
    }
    for step in steps {
        println!("{} → {}: {}", step.from, step.from + 1, step.what);
    }
    if dry_run {
        println!("dry run: nothing changed");
        return Ok(());
    }
    let config = StoreConfig::new(db).sync(SyncPolicy::Fsync).migrate(Migrate::Apply);
    let (store, done) = Store::open_migrating(&config).context("migrating (is the node stopped?)")?;
    store.close()?;
    println!("migrated from schema version {found} to {SCHEMA_VERSION} ({} steps)", done.len());
    Ok(())
}

//! End-to-end tests of several real nodes: federation over libp2p on
//! loopback, shared blocklists, reports and moderation, a network split and
//! hostile peers; the web client and dashboard in a real browser. One
//! module per subject; one test binary, so that RocksDB and libp2p are
//! linked once.

mod accounts;
mod admin_session;
mod blocklists;
mod discovery;
mod enforcement;
mod federation;
mod hostile_flood;
mod hostile_lists;
mod hostile_media;
mod hostile_peer;
mod joins;
mod media;
mod moderation_teams;
mod names;
mod partition;
mod pdq;
mod pdq_reference;
mod reports;
mod subscription_modes;
mod web;
mod web_chat;
mod web_dashboard;
mod web_media;
mod web_moderation;
mod witnesses;

use tokio::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// The machine the tests share. A test that keeps every core busy holds it
/// alone ([`alone`]), so that the others, which hold it together
/// ([`shared`]), measure delivery and enforcement delays, not a starved
/// machine.
static MACHINE: RwLock<()> = RwLock::const_new(());

/// Waits until no test holds the machine alone; the others may run.
pub(crate) async fn shared() -> RwLockReadGuard<'static, ()> {
    MACHINE.read().await
}

/// Waits until no other test runs, and keeps them waiting.
pub(crate) async fn alone() -> RwLockWriteGuard<'static, ()> {
    MACHINE.write().await
}

//! What a running node takes from its configuration again when told to
//! (`SIGHUP`, docs/operating.md): the rate limits (`[limits]`, the
//! registration rates of `[registration]`, the report rates of
//! `[reports]`; every allowance starts afresh) and the lists it follows
//! (`[lists] subscribe`: new subscriptions and changed actions apply, and
//! new lists are fetched from peers). Everything else (addresses, the
//! registration policy, storage, media limits) takes a restart. The log
//! level is the binary's to reload.

use crate::config::{Config, Subscription};
use crate::core::Core;
use crate::core::lists::{ListError, distribution};
use accord_proto::ListId;
use std::sync::Arc;

/// What a reload changed, for the operator's log.
#[derive(Debug, Default)]
pub struct Reloaded {
    /// Lists newly followed or whose actions changed.
    pub lists: Vec<ListId>,
}

/// Takes the rate limits and the lists followed from `config`.
pub async fn reload(core: &Arc<Core>, config: &Config) -> Result<Reloaded, ListError> {
    core.limits.reload(&config.limits, &config.registration, &config.reports);
    let lists = follow_configured(core, &config.lists.subscribe).await?;
    for list in &lists {
        let (core, list) = (core.clone(), list.clone());
        core.tasks().clone().spawn(async move {
            if let Err(e) = distribution::fetch(&core, &list, None).await {
                tracing::info!("list {list}: not fetched yet ({e}); will retry");
            }
        });
    }
    tracing::info!(lists = lists.len(), "configuration reloaded: rate limits and lists followed");
    Ok(Reloaded { lists })
}

/// Subscribes to each configured list not followed yet, or followed with
/// other actions, threshold, mode, removals or priority; returns those it
/// changed. Lists followed
/// through the admin endpoint and not named here are left as they are.
pub async fn follow_configured(core: &Core, subscriptions: &[Subscription]) -> Result<Vec<ListId>, ListError> {
    let mut changed = Vec::new();
    for sub in subscriptions {
        core.lists.set_quorum(&sub.list, sub.quorum());
        let held = core.lists.record(&sub.list).await;
        if held.as_ref().is_none_or(|r| {
            !r.subscribed
                || r.actions != sub.actions
                || r.pdq_threshold != sub.pdq_threshold
                || r.mode != sub.mode
                || r.on_removal != sub.on_removal
                || r.priority != sub.priority
        }) {
            core.lists.subscribe(&core.store, &sub.list, sub.settings()).await?;
            tracing::info!("subscribed to {} (configuration)", sub.list);
            changed.push(sub.list.clone());
        }
    }
    Ok(changed)
}

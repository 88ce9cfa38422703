//! Joins through other nodes under way (spec/client-api.md §4.1).
//!
//! The fetch of a room this node does not hold yet runs as a task of the
//! core, never as part of the request that asked for it: a client that
//! disconnects or times out does not cancel it, and a second join of the
//! same room while one runs attaches to it instead of starting another
//! fetch. Each event that waits for a fetch is sent by a task of its own
//! once the room is held, whether or not its request is still there.

use super::append::SubmitError;
use crate::core::Core;
use accord_api::rooms::{JoinState, JoinStatus};
use accord_api::{ErrorCode, ErrorDetail};
use accord_proto::{AccountId, NodeId, RoomId};
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Fetches over that are remembered for their joiners' status queries.
const MAX_FINISHED: usize = 1024;
/// Fetches under way at once on the node.
pub const MAX_RUNNING: usize = 64;
/// Fetches under way at once that one account started.
pub const MAX_RUNNING_PER_ACCOUNT: usize = 4;

/// Why no fetch of a room could be started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StartError {
    /// The node, or the account, has as many fetches under way as it may.
    #[error("too many joins under way ({running} at most); try again once one is over")]
    TooMany {
        /// The bound that was reached.
        running: usize,
    },
}

/// The joins under way, and the latest ones over.
#[derive(Default)]
pub struct Joins {
    state: Mutex<JoinsState>,
}

#[derive(Default)]
struct JoinsState {
    /// The fetch under way for each room.
    running: HashMap<RoomId, Arc<JoinRun>>,
    /// The latest fetches over, oldest first.
    finished: VecDeque<Finished>,
}

/// A fetch that is over.
struct Finished {
    room: RoomId,
    joiners: BTreeSet<AccountId>,
    events: u64,
    pages: u64,
    elapsed: Duration,
    outcome: Result<(), SubmitError>,
}

/// One fetch of a room's history for a join, shared by every request that
/// waits for it.
pub struct JoinRun {
    room: RoomId,
    /// The account whose event started the fetch.
    starter: AccountId,
    started: Instant,
    events: AtomicU64,
    pages: AtomicU64,
    waiting: AtomicU64,
    joiners: Mutex<BTreeSet<AccountId>>,
    outcome: watch::Sender<Option<Result<(), SubmitError>>>,
}

impl JoinRun {
    fn new(room: RoomId, joiner: AccountId) -> JoinRun {
        JoinRun {
            room,
            starter: joiner,
            started: Instant::now(),
            events: AtomicU64::new(0),
            pages: AtomicU64::new(0),
            waiting: AtomicU64::new(0),
            joiners: Mutex::new(BTreeSet::from([joiner])),
            outcome: watch::Sender::new(None),
        }
    }

    /// Counts a page received and the events of it that were stored.
    pub(crate) fn page(&self, stored: usize) {
        self.pages.fetch_add(1, Ordering::Relaxed);
        self.events.fetch_add(stored as u64, Ordering::Relaxed);
    }

    /// Events stored by the fetch so far.
    pub fn events_fetched(&self) -> u64 {
        self.events.load(Ordering::Relaxed)
    }

    /// Counts an event waiting for the fetch until the guard is dropped.
    pub(crate) fn wait(self: &Arc<Self>, joiner: AccountId) -> Waiting {
        self.joiners().insert(joiner);
        self.waiting.fetch_add(1, Ordering::Relaxed);
        Waiting(self.clone())
    }

    /// The fetch's outcome, once it is over.
    pub(crate) async fn outcome(&self) -> Result<(), SubmitError> {
        let mut rx = self.outcome.subscribe();
        match rx.wait_for(Option::is_some).await {
            Ok(done) => done.clone().unwrap_or(Ok(())),
            // The sender lives as long as the run: not reached.
            Err(_) => Err(SubmitError::Internal("the join's fetch ended without an outcome".into())),
        }
    }

    /// The fetch's progress as the client API shows it.
    pub fn progress(&self, member: bool) -> JoinStatus {
        JoinStatus {
            room: self.room,
            state: JoinState::Fetching,
            events_fetched: self.events_fetched(),
            pages: self.pages.load(Ordering::Relaxed),
            waiting: self.waiting.load(Ordering::Relaxed),
            elapsed_ms: millis(self.started.elapsed()),
            member,
            error: None,
        }
    }

    fn joiners(&self) -> std::sync::MutexGuard<'_, BTreeSet<AccountId>> {
        self.joiners.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// An event waiting for a fetch (counted in `waiting` while it lives).
pub(crate) struct Waiting(Arc<JoinRun>);

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Ordering::Relaxed);
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Joins {
    /// The fetch under way for `room`, if there is one.
    pub fn running(&self, room: &RoomId) -> Option<Arc<JoinRun>> {
        self.lock().running.get(room).cloned()
    }

    /// Attaches `joiner` to the fetch of `room` under way, or starts one
    /// from `nodes`, in order, as a task of the core: at most
    /// [`MAX_RUNNING`] on the node and [`MAX_RUNNING_PER_ACCOUNT`] started
    /// by one account at once.
    pub(crate) fn start(
        core: &Arc<Core>,
        room: RoomId,
        nodes: Vec<NodeId>,
        joiner: AccountId,
    ) -> Result<Arc<JoinRun>, StartError> {
        let run = {
            let mut state = core.rooms.joins.lock();
            if let Some(run) = state.running.get(&room) {
                run.joiners().insert(joiner);
                return Ok(run.clone());
            }
            if state.running.len() >= MAX_RUNNING {
                return Err(StartError::TooMany { running: MAX_RUNNING });
            }
            if state.running.values().filter(|r| r.starter == joiner).count() >= MAX_RUNNING_PER_ACCOUNT {
                return Err(StartError::TooMany { running: MAX_RUNNING_PER_ACCOUNT });
            }
            let run = Arc::new(JoinRun::new(room, joiner));
            state.running.insert(room, run.clone());
            run
        };
        let (task_core, task_run) = (core.clone(), run.clone());
        core.tasks.spawn(async move {
            let outcome =
                super::sync::join_via(&task_core, room, &nodes, joiner, &task_run).await.map_err(|e| match e {
                    super::sync::JoinError::Store(e) => SubmitError::from(e),
                    super::sync::JoinError::Refused(why) => SubmitError::JoinRefused(why),
                });
            if let Err(e) = &outcome {
                tracing::info!(%room, "a join's fetch failed: {e}");
            }
            task_core.rooms.joins.finish(&task_run, outcome);
        });
        Ok(run)
    }

    /// Ends a fetch: remembers its outcome and hands it to its waiters.
    fn finish(&self, run: &Arc<JoinRun>, outcome: Result<(), SubmitError>) {
        let mut state = self.lock();
        state.running.remove(&run.room);
        if state.finished.len() >= MAX_FINISHED {
            state.finished.pop_front();
        }
        state.finished.push_back(Finished {
            room: run.room,
            joiners: run.joiners().clone(),
            events: run.events_fetched(),
            pages: run.pages.load(Ordering::Relaxed),
            elapsed: run.started.elapsed(),
            outcome: outcome.clone(),
        });
        run.outcome.send_replace(Some(outcome));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, JoinsState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Where `account`'s join of `room` stands: the fetch under way or the
/// latest one over that it asked for, or, for a member or invitee of a
/// room held here, `held`. `None` for anyone else (a room unknown to the
/// account stays unknown).
pub async fn status(core: &Core, room: RoomId, account: &AccountId) -> Option<JoinStatus> {
    let seen = match core.rooms.get(&room) {
        Some(handle) => {
            let rt = handle.lock().await;
            Some((rt.state.is_member(account), rt.state.invites().contains(account)))
        }
        None => None,
    };
    let member = seen.is_some_and(|(member, _)| member);
    let state = core.rooms.joins.lock();
    if let Some(run) = state.running.get(&room)
        && run.joiners().contains(account)
    {
        return Some(run.progress(member));
    }
    let held = |events, pages, elapsed| JoinStatus {
        room,
        state: JoinState::Held,
        events_fetched: events,
        pages,
        waiting: 0,
        elapsed_ms: millis(elapsed),
        member,
        error: None,
    };
    if let Some(done) = state.finished.iter().rev().find(|f| f.room == room && f.joiners.contains(account)) {
        return Some(match &done.outcome {
            Ok(()) if seen.is_some() => held(done.events, done.pages, done.elapsed),
            Ok(()) => return None,
            Err(e) => JoinStatus {
                state: JoinState::Failed,
                error: Some(Box::new(ErrorDetail::new(ErrorCode::from_code(e.code()), e.to_string()))),
                ..held(done.events, done.pages, done.elapsed)
            },
        });
    }
    match seen {
        Some((member, invited)) if member || invited => Some(held(0, 0, Duration::ZERO)),
        _ => None,
    }
}

//! The node's background tasks, owned: every task is spawned on one
//! tracker, and shutdown is cancel, then wait for them all.

use std::future::Future;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tokio_util::task::task_tracker::TrackedFuture;

/// Spawns and tracks the node's tasks; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Tasks {
    tracker: TaskTracker,
    shutdown: CancellationToken,
}

impl Tasks {
    /// Spawns background work that is dropped at its next await point once
    /// the node shuts down (syncs, deliveries, gossip handling).
    pub fn spawn(&self, work: impl Future<Output = ()> + Send + 'static) {
        let shutdown = self.shutdown.clone();
        // Boxed: the task then holds a pointer, and spawning it (and
        // storing its output) copies that instead of the whole future.
        let work = Box::pin(work);
        self.tracker.spawn(Box::pin(async move {
            tokio::select! {
                () = work => {}
                () = shutdown.cancelled() => {}
            }
        }));
    }

    /// Spawns work that must run to its end even when whoever asked for it
    /// goes away (a store write and what follows it); shutdown waits for it.
    pub fn spawn_to_completion<T: Send + 'static>(
        &self,
        work: impl Future<Output = T> + Send + 'static,
    ) -> JoinHandle<T> {
        // Boxed, as in `spawn`: a send's future is kilobytes, copied at
        // every move otherwise.
        self.tracker.spawn(Box::pin(work))
    }

    /// Tracks a future run elsewhere (a WebSocket connection that the HTTP
    /// server hands over): shutdown waits for it too.
    pub fn track<F: Future>(&self, future: F) -> TrackedFuture<F> {
        self.tracker.track_future(future)
    }

    /// Fires when the node shuts down.
    pub fn shutdown(&self) -> &CancellationToken {
        &self.shutdown
    }

    /// Cancels every task and waits until all have ended.
    pub async fn stop(&self) {
        self.shutdown.cancel();
        self.tracker.close();
        self.tracker.wait().await;
    }
}

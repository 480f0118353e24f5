//! Grouped commits: every signing and filing the API asks for (`PUT certificate_request`,
//! `PUT certificate_status`) is queued here, and one committer thread takes whatever has
//! queued while it committed the last group and commits it as the next: one store lock,
//! serials reserved together, signatures in parallel, one group commit
//! ([`clusterca_store::Authority::commit_group`]). A request's answer waits for its group's
//! commit: nothing is answered before it is durable. Under load the groups grow by
//! themselves; a lone request is a group of one and waits for nobody.

use std::sync::{Arc, Condvar, Mutex, PoisonError};

use clusterca_store::{GroupOp, GroupResult};
use tokio::sync::oneshot;

use crate::State;

/// The most ops one group commits (more wait for the next).
pub(crate) const MAX_GROUP: usize = 1024;

type Waiting = (GroupOp, oneshot::Sender<GroupResult>);

/// The queue between requests and the committer.
#[derive(Default)]
pub(crate) struct Batcher {
    queue: Mutex<Vec<Waiting>>,
    ready: Condvar,
}

impl Batcher {
    /// Queues `op` and waits (holding no thread) for its group's result; `None` if the
    /// committer is gone.
    pub(crate) async fn run(&self, op: GroupOp) -> Option<GroupResult> {
        let (tx, rx) = oneshot::channel();
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((op, tx));
        self.ready.notify_one();
        rx.await.ok()
    }

    /// Waits until something is queued and takes it (at most [`MAX_GROUP`]).
    fn take(&self) -> Vec<Waiting> {
        let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        while queue.is_empty() {
            queue = self
                .ready
                .wait(queue)
                .unwrap_or_else(PoisonError::into_inner);
        }
        let at = queue.len().min(MAX_GROUP);
        let rest = queue.split_off(at);
        std::mem::replace(&mut *queue, rest)
    }
}

/// The committer: runs for the life of the process on its own thread.
pub(crate) fn committer(state: Arc<State>) {
    loop {
        let (ops, answers): (Vec<GroupOp>, Vec<_>) = state.batcher.take().into_iter().unzip();
        let started = std::time::Instant::now();
        let results = state
            .auth
            .commit_group(&ops, time::OffsetDateTime::now_utc());
        for note in state.auth.store().take_notes() {
            crate::log(serde_json::json!({"event": "recovered", "message": note}));
        }
        if ops.len() > 1 {
            crate::log(
                serde_json::json!({"event": "group-commit", "ops": ops.len(),
                "ms": (started.elapsed().as_secs_f64() * 1e5).round() / 100.0}),
            );
        }
        for (tx, result) in answers.into_iter().zip(results) {
            // A client that went away does not take its answer: its op stays done.
            let _ = tx.send(result);
        }
    }
}

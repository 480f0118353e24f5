//! How far a long batch has got, for a front end to show: the CLI installs a sink that draws
//! a progress bar on a terminal; without one (a library user, `serve`) every report is a
//! no-op. Stages are short phrases (`generating keys`, `signing`); `done` counts up to
//! `total` within a stage.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// What receives the reports: (stage, done, total).
pub type Sink = Box<dyn Fn(&'static str, usize, usize) + Send + Sync>;

static SINK: OnceLock<Sink> = OnceLock::new();

/// Installs the process's sink; the first one stays.
pub fn install(sink: Sink) {
    let _ = SINK.set(sink);
}

/// Counts one stage's items from any thread, reporting each.
pub(crate) struct Stage {
    name: &'static str,
    total: usize,
    done: AtomicUsize,
}

impl Stage {
    /// A stage of `total` items, reported as begun.
    pub(crate) fn new(name: &'static str, total: usize) -> Self {
        if let Some(sink) = SINK.get() {
            sink(name, 0, total);
        }
        Stage {
            name,
            total,
            done: AtomicUsize::new(0),
        }
    }

    /// One more item done.
    pub(crate) fn tick(&self) {
        if let Some(sink) = SINK.get() {
            let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
            sink(self.name, done, self.total);
        }
    }
}

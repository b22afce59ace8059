//! The host scheduler: a thread that builds the next batches (sampling, augmentation,
//! layout) while the device runs the current step. The trainer uploads each into the
//! other of two input tensors, so host work and device work overlap.

use std::sync::mpsc::{sync_channel, Receiver};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};

pub struct Prefetcher<T> {
    rx: Receiver<T>,
    worker: Option<JoinHandle<()>>,
    /// Total time the trainer waited for the host to finish a batch.
    pub waited: Duration,
}

impl<T: Send + 'static> Prefetcher<T> {
    /// Runs `make(0..count)` on a worker thread, at most `depth` items ahead of the consumer.
    pub fn spawn(count: usize, depth: usize, mut make: impl FnMut(usize) -> T + Send + 'static) -> Self {
        let (tx, rx) = sync_channel(depth);
        let worker = std::thread::Builder::new()
            .name("batch-scheduler".into())
            .spawn(move || {
                for i in 0..count {
                    if tx.send(make(i)).is_err() {
                        // the consumer stopped early (interrupt, error): nothing left to do
                        return;
                    }
                }
            })
            .expect("spawning a thread only fails when the OS is out of resources");
        Prefetcher { rx, worker: Some(worker), waited: Duration::ZERO }
    }

    /// The next item; an error if the worker died (a panic in batch construction).
    pub fn recv(&mut self) -> Result<T> {
        let start = Instant::now();
        let item = self.rx.recv();
        self.waited += start.elapsed();
        item.map_err(|_| {
            let detail = match self.worker.take().map(JoinHandle::join) {
                Some(Err(panic)) => panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "unknown panic".into()),
                _ => "it ended early".into(),
            };
            anyhow!("the batch scheduler thread failed ({detail}); the last checkpoint is intact")
        })
    }
}

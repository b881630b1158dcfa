//! Where asynchronous writes wait for the writer lock: one thread per
//! database directory, not the libuv pool. A write that waits for another
//! process's transaction would otherwise hold a pool thread meanwhile, and
//! a few of them stall every `fs` and `crypto` call of the process.
//!
//! Invariants: the writes of one directory run one at a time, in the order
//! they were submitted (they would take turns on the writer lock anyway);
//! a thread with nothing to do for [`IDLE`] ends, and the next write starts
//! another.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::sync::LazyLock;
use std::time::Duration;

type Job = Box<dyn FnOnce() + Send>;

const IDLE: Duration = Duration::from_secs(10);

static QUEUES: LazyLock<Mutex<HashMap<PathBuf, Sender<Job>>>> = LazyLock::new(Default::default);

/// Runs `job` on the writer thread of the database at `path`.
pub fn submit(path: &Path, job: Job) {
    let mut queues = QUEUES.lock();
    let job = match queues.get(path) {
        // A thread that has just ended gives the job back.
        Some(sender) => match sender.send(job) {
            Ok(()) => return,
            Err(returned) => returned.0,
        },
        None => job,
    };
    let (sender, receiver) = channel::<Job>();
    sender.send(job).expect("the receiver is alive");
    queues.insert(path.to_path_buf(), sender);
    let path = path.to_path_buf();
    std::thread::Builder::new()
        .name("loomdb-writer".into())
        .spawn(move || loop {
            match receiver.recv_timeout(IDLE) {
                Ok(job) => job(),
                Err(RecvTimeoutError::Disconnected) => return,
                Err(RecvTimeoutError::Timeout) => {
                    let mut queues = QUEUES.lock();
                    // A job sent meanwhile is run before leaving.
                    if let Ok(job) = receiver.try_recv() {
                        drop(queues);
                        job();
                        continue;
                    }
                    queues.remove(&path);
                    return;
                }
            }
        })
        .expect("spawning a writer thread");
}

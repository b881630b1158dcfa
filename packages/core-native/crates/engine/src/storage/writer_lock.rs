//! Cross-process writer exclusion.
//!
//! LMDB's own writer mutex has no timeout, so a writer first takes an
//! in-process gate and then an OS lock on `writer.lock`, both polled until
//! `busy_timeout`; only then does it begin an LMDB write transaction. Past the
//! deadline the caller gets `LOCKED` naming the database path.
//!
//! The gate records which thread holds it, so a thread that already holds it
//! (an open transaction) and asks again fails at once instead of waiting for
//! itself until the timeout.

use crate::error::{Code, Error, Result};
use parking_lot::{Condvar, Mutex};
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

pub struct WriterLock {
    /// The thread holding the gate, if any.
    owner: Mutex<Option<ThreadId>>,
    released: Condvar,
    file: File,
    db_path: PathBuf,
}

/// Held while a write transaction runs; releases the OS lock and the gate on
/// drop. It may be acquired on one thread and handed to another with
/// [`WriterGuard::adopt`].
pub struct WriterGuard {
    lock: Arc<WriterLock>,
}

impl Drop for WriterGuard {
    fn drop(&mut self) {
        let _ = self.lock.file.unlock();
        *self.lock.owner.lock() = None;
        self.lock.released.notify_one();
    }
}

impl WriterGuard {
    /// Records the calling thread as the holder (after a hand-over).
    pub fn adopt(&self) {
        *self.lock.owner.lock() = Some(thread::current().id());
    }
}

impl WriterLock {
    pub fn open(db_dir: &Path) -> Result<Arc<Self>> {
        let file = OpenOptions::new().create(true).truncate(false).write(true).open(db_dir.join("writer.lock"))?;
        Ok(Arc::new(WriterLock { owner: Mutex::new(None), released: Condvar::new(), file, db_path: db_dir.to_path_buf() }))
    }

    pub fn acquire(self: &Arc<Self>, busy_timeout: Duration) -> Result<WriterGuard> {
        let deadline = Instant::now() + busy_timeout;
        let me = thread::current().id();
        {
            let mut owner = self.owner.lock();
            while let Some(holder) = *owner {
                if holder == me {
                    return Err(Error::new(
                        Code::Locked,
                        format!(
                            "database {} has a transaction open on this thread; write through the transaction, or after it ends",
                            self.db_path.display()
                        ),
                    ));
                }
                if self.released.wait_until(&mut owner, deadline).timed_out() && owner.is_some() {
                    return Err(self.locked(busy_timeout));
                }
            }
            *owner = Some(me);
        }
        // From here the gate is ours; the guard gives it back on every path
        // (unlocking `writer.lock` when we never got it is a no-op: no other
        // thread of this process can hold it without the gate).
        let guard = WriterGuard { lock: Arc::clone(self) };
        let mut pause = Duration::from_micros(200);
        loop {
            match self.file.try_lock() {
                Ok(()) => return Ok(guard),
                Err(TryLockError::WouldBlock) => {}
                Err(TryLockError::Error(e)) => return Err(e.into()),
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(self.locked(busy_timeout));
            }
            std::thread::sleep(pause.min(deadline - now));
            pause = (pause * 2).min(Duration::from_millis(20));
        }
    }

    fn locked(&self, waited: Duration) -> Error {
        Error::new(
            Code::Locked,
            format!(
                "database {} is locked by another writer (waited {} ms; raise busyTimeoutMs to wait longer)",
                self.db_path.display(),
                waited.as_millis()
            ),
        )
    }
}

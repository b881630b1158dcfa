//! Cross-process writer exclusion.
//!
//! LMDB's own writer mutex has no timeout, so a writer first takes an
//! in-process gate and then an OS lock on `writer.lock`, both polled until
//! `busy_timeout`; only then does it begin an LMDB write transaction. Past the
//! deadline the caller gets `LOCKED` naming the database path.

use crate::error::{Code, Error, Result};
use parking_lot::{Mutex, MutexGuard};
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub struct WriterLock {
    gate: Mutex<()>,
    file: File,
    db_path: PathBuf,
}

/// Held while a write transaction runs; releases the OS lock on drop.
pub struct WriterGuard<'a> {
    file: &'a File,
    _gate: MutexGuard<'a, ()>,
}

impl Drop for WriterGuard<'_> {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

impl WriterLock {
    pub fn open(db_dir: &Path) -> Result<Self> {
        let file = OpenOptions::new().create(true).truncate(false).write(true).open(db_dir.join("writer.lock"))?;
        Ok(WriterLock { gate: Mutex::new(()), file, db_path: db_dir.to_path_buf() })
    }

    pub fn acquire(&self, busy_timeout: Duration) -> Result<WriterGuard<'_>> {
        let deadline = Instant::now() + busy_timeout;
        let gate = self.gate.try_lock_until(deadline).ok_or_else(|| self.locked(busy_timeout))?;
        let mut pause = Duration::from_micros(200);
        loop {
            match self.file.try_lock() {
                Ok(()) => return Ok(WriterGuard { file: &self.file, _gate: gate }),
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

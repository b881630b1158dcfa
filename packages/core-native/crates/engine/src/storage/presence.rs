//! Which processes have a database open, and exclusive access for the
//! operations that replace its file (compaction, restore).
//!
//! Every process that opens a database holds, for as long as it has it open,
//! POSIX record locks on `open.lock` in the database directory: a shared lock
//! on byte 0 and a shared lock on the byte at its process id. The kernel
//! drops them when the process exits, even on `kill -9`.
//!
//! Invariants:
//! - A process joins only while nobody holds byte 0 exclusively, so a
//!   compaction or restore never has a newcomer mapping the file it swaps.
//! - [`Presence::exclusive`] upgrades byte 0 to an exclusive lock only when no
//!   other process holds it; otherwise it fails with `LOCKED` naming their
//!   process ids (read back from the per-process bytes with `F_GETLK`).
//! - Record locks belong to the process and any `close` of the file drops
//!   them all, so the file is opened once per `Presence` and closed only
//!   when it drops (the store keeps one per directory per process).

use crate::error::{Code, Error, Result};
use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub const FILE_NAME: &str = "open.lock";

pub struct Presence {
    file: File,
    dir: PathBuf,
}

/// Holds byte 0 exclusively; drops back to shared.
pub struct Exclusive<'a> {
    presence: &'a Presence,
}

impl Drop for Exclusive<'_> {
    fn drop(&mut self) {
        // Downgrading never conflicts.
        let _ = self.presence.set(libc::F_RDLCK as i16, 0, 1);
    }
}

impl Presence {
    /// Joins the processes that have `dir` open, waiting up to `wait` while
    /// another process holds it exclusively.
    pub fn join(dir: &Path, wait: Duration) -> Result<Presence> {
        let file = OpenOptions::new().create(true).truncate(false).read(true).write(true).open(dir.join(FILE_NAME))?;
        let presence = Presence { file, dir: dir.to_path_buf() };
        let deadline = Instant::now() + wait;
        let mut pause = Duration::from_millis(1);
        while !presence.set(libc::F_RDLCK as i16, 0, 1)? {
            if Instant::now() >= deadline {
                let holder = presence.holders(0, 1)?.first().copied().map_or_else(|| "another process".into(), |p| format!("process {p}"));
                return Err(Error::new(
                    Code::Locked,
                    format!("database {} is being rewritten by {holder} (compaction or restore); waited {} ms", dir.display(), wait.as_millis()),
                ));
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(50));
        }
        presence.set(libc::F_RDLCK as i16, i64::from(std::process::id()), 1)?;
        Ok(presence)
    }

    /// Exclusive access: no other process has the database open, and none
    /// can open it until the guard drops. `LOCKED` naming them otherwise.
    pub fn exclusive(&self, what: &str) -> Result<Exclusive<'_>> {
        if self.set(libc::F_WRLCK as i16, 0, 1)? {
            return Ok(Exclusive { presence: self });
        }
        let mut others = self.holders(1, i64::from(u32::MAX))?;
        others.sort_unstable();
        let names = if others.is_empty() { "another process".to_owned() } else { others.iter().map(|p| format!("pid {p}")).collect::<Vec<_>>().join(", ") };
        Err(Error::new(
            Code::Locked,
            format!("{what} needs {} to itself, but other processes have it open: {names}; close them and try again", self.dir.display()),
        ))
    }

    /// Whether another process has the database open right now.
    pub fn alone(&self) -> Result<bool> {
        Ok(self.holders(0, 1)?.is_empty())
    }

    /// `F_SETLK`: true when granted, false when another process conflicts.
    fn set(&self, kind: i16, start: i64, len: i64) -> Result<bool> {
        let mut lock = flock(kind, start, len);
        // SAFETY: a valid descriptor and a fully initialised `flock`.
        let rc = unsafe { libc::fcntl(self.file.as_raw_fd(), libc::F_SETLK, &mut lock) };
        if rc == 0 {
            return Ok(true);
        }
        let err = std::io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EACCES | libc::EAGAIN) => Ok(false),
            _ => Err(Error::new(Code::Io, format!("cannot lock {}: {err}", self.dir.join(FILE_NAME).display()))),
        }
    }

    /// Process ids of others holding any lock in `[start, start + len)`
    /// that would conflict with an exclusive one.
    fn holders(&self, start: i64, len: i64) -> Result<Vec<u32>> {
        let mut found = Vec::new();
        let mut ranges = vec![(start, len)];
        while let Some((start, len)) = ranges.pop() {
            if len <= 0 || found.len() > 64 {
                continue;
            }
            let mut lock = flock(libc::F_WRLCK as i16, start, len);
            // SAFETY: as above; F_GETLK only reads the lock table.
            if unsafe { libc::fcntl(self.file.as_raw_fd(), libc::F_GETLK, &mut lock) } != 0 {
                return Err(Error::new(Code::Io, format!("cannot query locks on {}: {}", self.dir.display(), std::io::Error::last_os_error())));
            }
            if lock.l_type == libc::F_UNLCK as i16 {
                continue;
            }
            let pid = u32::try_from(lock.l_pid).unwrap_or(0);
            if !found.contains(&pid) {
                found.push(pid);
            }
            // The kernel reports one conflicting lock; search both sides of it.
            let (l_start, l_end) = (lock.l_start, if lock.l_len == 0 { start + len } else { lock.l_start + lock.l_len });
            ranges.push((start, l_start - start));
            ranges.push((l_end, start + len - l_end));
        }
        Ok(found)
    }
}

fn flock(kind: i16, start: i64, len: i64) -> libc::flock {
    // SAFETY: `flock` is plain data; zero is a valid value for every field.
    let mut lock: libc::flock = unsafe { std::mem::zeroed() };
    lock.l_type = kind;
    lock.l_whence = libc::SEEK_SET as i16;
    lock.l_start = start;
    lock.l_len = len;
    lock
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_process_is_alone_and_may_go_exclusive_repeatedly() {
        let dir = tempfile::tempdir().unwrap();
        let p = Presence::join(dir.path(), Duration::ZERO).unwrap();
        assert!(p.alone().unwrap());
        drop(p.exclusive("test").unwrap());
        drop(p.exclusive("test").unwrap());
    }
}

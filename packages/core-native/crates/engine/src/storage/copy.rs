//! Streaming a consistent copy of a database into a file, with progress and
//! cancellation.
//!
//! LMDB's `mdb_env_copyfd2` copies a read snapshot in one blocking call. It
//! writes into a pipe here, on a thread of its own, while the calling thread
//! moves the bytes to the destination, hashes them (xxh3-64), reports
//! progress and checks whether to go on. To cancel, the calling thread
//! closes its end of the pipe: LMDB's next write fails with `EPIPE` (Node
//! and Rust programs ignore `SIGPIPE`) and the copy ends.
//!
//! Invariants: the destination is complete and synced to disk when this
//! returns `Ok`; on `Err` the caller removes it. While a copy runs, its
//! thread is marked (`store::copying_on_this_thread`): the progress callback runs
//! there with the copy still reading the environment, so an operation that
//! must close the environment (compaction) refuses to start from it rather
//! than wait for itself forever.

use crate::error::{Code, Error, Result};
use crate::storage::store::{CopyingMark, Store};
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::path::Path;
use xxhash_rust::xxh3::Xxh3;

/// Told `(bytes done, bytes expected)` as a long operation goes; returns
/// `false` to stop it.
pub type Progress<'a> = &'a mut dyn FnMut(u64, u64) -> bool;

/// What was written.
pub struct Copied {
    pub bytes: u64,
    pub xxh3: u64,
}

const CHUNK: usize = 1 << 20;

/// Copies the committed data of `store` into a new file at `dest`
/// (compacted: no free pages, when `compact`). `expected` is the size to
/// report progress against.
pub fn snapshot_to(store: &Store, dest: &Path, compact: bool, expected: u64, progress: Progress) -> Result<Copied> {
    let io = |what: &str, e: std::io::Error| Error::new(Code::Io, format!("{what} {}: {e}", dest.display()));
    let mut out = File::options().write(true).create_new(true).open(dest).map_err(|e| io("cannot create", e))?;
    let (mut reader, writer) = std::io::pipe().map_err(|e| io("cannot make a pipe for", e))?;
    let mut hash = Xxh3::new();
    let mut done = 0u64;
    let _mark = CopyingMark::new();
    let pumped: Result<bool> = std::thread::scope(|scope| {
        let copier = scope.spawn(move || {
            let result = store.copy_to_fd(writer.as_raw_fd(), compact);
            drop(writer);
            result
        });
        let mut buf = vec![0u8; CHUNK];
        let pumped = (|| {
            loop {
                let n = match reader.read(&mut buf) {
                    Ok(0) => return Ok(true),
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(io("cannot read the copy of", e)),
                };
                out.write_all(&buf[..n]).map_err(|e| io("cannot write", e))?;
                hash.update(&buf[..n]);
                done += n as u64;
                if !progress(done, expected.max(done)) {
                    return Ok(false);
                }
            }
        })();
        // Closing our end makes a copy still writing fail at once.
        drop(reader);
        let copied = copier.join().unwrap_or_else(|_| Err(Error::internal("the copy thread panicked")));
        match pumped {
            Ok(true) => copied.map(|()| true),
            other => other,
        }
    });
    if !pumped? {
        return Err(Error::new(Code::Io, format!("copying to {} was cancelled", dest.display())));
    }
    out.sync_all().map_err(|e| io("cannot sync", e))?;
    if expected != done {
        // The estimate was off; end at 100 %.
        progress(done, done);
    }
    Ok(Copied { bytes: done, xxh3: hash.digest() })
}

/// The xxh3-64 and length of a file, read in chunks.
pub fn hash_file(path: &Path) -> std::io::Result<Copied> {
    let mut file = File::open(path)?;
    let mut hash = Xxh3::new();
    let mut buf = vec![0u8; CHUNK];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(Copied { bytes, xxh3: hash.digest() });
        }
        hash.update(&buf[..n]);
        bytes += n as u64;
    }
}

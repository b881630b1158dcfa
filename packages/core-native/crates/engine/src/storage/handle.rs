//! `Database`: one handle on a database directory, with its own durability,
//! busy timeout and read-only flag, over the process-wide shared [`Store`],
//! and the read/write plumbing every layer's operations run in.
//!
//! The handle is declared here, at the bottom, so that each layer can add
//! the operations it owns in an `impl Database` of its own while importing
//! only downward; the facade (`database`) composes the layers (opening, the
//! record operations that cascade into derived indexes, stats).
//!
//! Invariants:
//! - Every write runs in one LMDB transaction (the open one, or a commit of
//!   its own), with one [`Writing`] for the call, so a failing call writes
//!   nothing.
//! - A handle bound to a transaction reads that transaction's own writes;
//!   others read the last commit.
//! - [`Followers`] are fixed when the handle is opened; storage calls the
//!   layers above through them and never names those layers.

use crate::error::{Code, Error, Result};
use crate::storage::metrics::{Op, Timer};
use crate::storage::store::{Store, Tables};
use crate::storage::transaction::Transaction;
use crate::storage::writer_lock::WriterGuard;
use crate::storage::writing::{Followers, Writing};
use heed::{RoTxn, RwTxn};
use serde::Deserialize;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    /// Every commit is on disk when the call returns.
    Immediate,
    /// One fsync per commit; an OS crash may lose the last commit.
    Relaxed,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OpenOptions {
    #[serde(default = "default_durability")]
    pub durability: Durability,
    #[serde(default = "default_busy_timeout")]
    pub busy_timeout_ms: u64,
    #[serde(default)]
    pub read_only: bool,
    /// Initial LMDB map size in bytes; the map doubles whenever it fills.
    #[serde(default)]
    pub map_size: Option<usize>,
    /// Largest node or edge record (id, type and properties as JSON) a write
    /// may store; larger ones are `INVALID_ARGUMENT`, so a stray blob cannot
    /// bloat the file.
    #[serde(default = "default_max_record_bytes")]
    pub max_record_bytes: usize,
}

/// Default of [`OpenOptions::max_record_bytes`]: 16 MiB.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 16 << 20;

pub(crate) fn default_max_record_bytes() -> usize {
    DEFAULT_MAX_RECORD_BYTES
}

pub(crate) fn default_durability() -> Durability {
    Durability::Immediate
}

pub(crate) fn default_busy_timeout() -> u64 {
    5000
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions { durability: Durability::Immediate, busy_timeout_ms: 5000, read_only: false, map_size: None, max_record_bytes: DEFAULT_MAX_RECORD_BYTES }
    }
}

/// A handle on a database, or on one open transaction of it (see
/// [`Database::begin`]): the same operations run either way.
#[derive(Clone)]
pub struct Database {
    store: Arc<Store>,
    options: OpenOptions,
    transaction: Option<Arc<Transaction>>,
    followers: &'static Followers,
}

impl Database {
    /// A handle on `store` outside any transaction; the facade (`database`) opens
    /// one with [`Database::open`] (which checks the format first).
    pub(crate) fn on(store: Arc<Store>, options: OpenOptions, followers: &'static Followers) -> Database {
        Database { store, options, transaction: None, followers }
    }

    pub fn path(&self) -> &Path {
        &self.store.path
    }

    pub(crate) fn store(&self) -> &Arc<Store> {
        &self.store
    }

    pub(crate) fn read_only(&self) -> bool {
        self.options.read_only
    }

    pub(crate) fn is_transaction(&self) -> bool {
        self.transaction.is_some()
    }

    /// The transaction this handle is bound to, if any.
    pub(crate) fn open_transaction(&self) -> Option<&Arc<Transaction>> {
        self.transaction.as_ref()
    }

    /// The durability of this handle's own commits.
    pub(crate) fn durability(&self) -> Durability {
        self.options.durability
    }

    pub(crate) fn writable(&self) -> Result<()> {
        if self.options.read_only {
            return Err(Error::new(
                Code::ReadOnly,
                format!("database {} was opened with readOnly: true", self.path().display()),
            ));
        }
        Ok(())
    }

    pub(crate) fn durable(&self) -> bool {
        self.options.durability == Durability::Immediate
    }

    pub(crate) fn busy_timeout(&self) -> Duration {
        Duration::from_millis(self.options.busy_timeout_ms)
    }

    /// One atomic write: in the open transaction, or in a commit of its own.
    pub(crate) fn write<T>(&self, mut f: impl FnMut(&mut RwTxn<'_>, &Writing) -> Result<T>) -> Result<T> {
        self.writable()?;
        let mut call = |txn: &mut RwTxn<'_>, t: &Tables| {
            let w = Writing::new(t, self.options.max_record_bytes, self.followers);
            let value = f(txn, &w)?;
            w.finish(txn)?;
            Ok(value)
        };
        match &self.transaction {
            Some(tx) => tx.write(call),
            None => self.store.write(self.busy_timeout(), self.durable(), &mut call),
        }
    }

    /// A consistent read: of the open transaction (its own writes included),
    /// or of the last commit.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&RoTxn<'_>, &Tables) -> Result<T>) -> Result<T> {
        match &self.transaction {
            Some(tx) => tx.read(f),
            None => self.store.read(|txn, t| f(txn, t)),
        }
    }

    /// Takes the writer lock, waiting up to the busy timeout. May run on any
    /// thread; pass the guard to [`Database::begin`] on the thread that will
    /// use the transaction.
    pub fn lock_writer(&self) -> Result<WriterGuard> {
        self.writable()?;
        if self.transaction.is_some() {
            return Err(Error::invalid("a transaction is already open on this handle; use a savepoint to nest"));
        }
        self.store.acquire_writer(self.busy_timeout())
    }

    /// Begins a transaction on the calling thread and returns a handle on it:
    /// its reads see its writes, nobody else sees them before
    /// [`Transaction::commit`], and other writers wait until it ends.
    pub fn begin(&self, writer: WriterGuard) -> Result<(Arc<Transaction>, Database)> {
        self.begin_with(writer, self.options.durability)
    }

    /// As [`Database::begin`], committing with `durability` instead of the
    /// handle's: `Relaxed` suits work that can be redone after an OS crash,
    /// such as items acknowledged from a durable queue in the same commit.
    pub fn begin_with(&self, writer: WriterGuard, durability: Durability) -> Result<(Arc<Transaction>, Database)> {
        let tx = Arc::new(Transaction::begin(&self.store, writer, durability == Durability::Immediate)?);
        Ok((Arc::clone(&tx), Database { transaction: Some(tx), ..self.clone() }))
    }

    pub(crate) fn timer(&self, op: Op) -> Timer<'_> {
        self.store.metrics.time(op)
    }
}

//! The LMDB environment of one database directory, shared by every handle on
//! that path in this process.
//!
//! Invariants:
//! - One `Store` per canonical path per process (LMDB forbids opening an
//!   environment twice); [`Store::open`] hands out the registered one.
//! - Every transaction holds `map_guard` for reading (recursively, so a
//!   thread with a long transaction open can still read); growing or adopting
//!   the map size takes it for writing, so no transaction of this process is
//!   live while `mdb_env_set_mapsize` runs, as LMDB requires.
//! - A long transaction ([`Store::begin_long`]) cannot grow the map midway,
//!   so it starts only with at least half the map free.
//! - The environment is opened with `NO_META_SYNC`; a commit in `immediate`
//!   durability is followed by a forced sync, so it pays LMDB's usual two
//!   fsyncs, while `relaxed` pays one and may lose only the last commit on an
//!   OS crash.

use crate::error::{Code, Error, Result};
use crate::vector_index::VectorIndexes;
use crate::writer_lock::{WriterGuard, WriterLock};
use heed::types::Bytes;
use heed::{Database, Env, EnvFlags, EnvOpenOptions, RoTxn, RwTxn, WithTls};
use parking_lot::{Mutex, RwLock};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Weak};
use std::time::Duration;

pub type Table = Database<Bytes, Bytes>;

/// The named LMDB databases of one environment.
pub struct Tables {
    pub meta: Table,
    pub node_ids: Table,
    pub edge_ids: Table,
    pub nodes: Table,
    pub edges: Table,
    pub out_adj: Table,
    pub in_adj: Table,
    pub node_types: Table,
    pub embeddings: Table,
    pub changes: Table,
    pub prop_index: Table,
    /// Durable queues (see `queue`).
    pub queues: Table,
}

const TABLE_NAMES: [&str; 12] =
    ["meta", "node_ids", "edge_ids", "nodes", "edges", "out_adj", "in_adj", "node_types", "embeddings", "changes", "prop_index", "queues"];

pub struct Store {
    pub path: PathBuf,
    env: Env<WithTls>,
    pub tables: Tables,
    map_guard: RwLock<()>,
    writer: Arc<WriterLock>,
    /// The HNSW graphs of the directory's spaces (saved when the store drops).
    pub vectors: VectorIndexes,
}

/// A shared hold on the map guard that outlives a call: no map resize in
/// this process until it drops.
pub struct MapHold {
    store: Arc<Store>,
}

impl Drop for MapHold {
    fn drop(&mut self) {
        // SAFETY: `Store::begin_long` took exactly one read lock for this hold
        // and forgot its guard.
        unsafe { self.store.map_guard.force_unlock_read() }
    }
}

static REGISTRY: LazyLock<Mutex<HashMap<PathBuf, Weak<Store>>>> = LazyLock::new(Default::default);

const DEFAULT_MAP_SIZE: usize = 256 << 20;
/// LMDB's page size here (the OS page size on the platforms we build for).
const PAGE_SIZE: usize = 4096;

impl Store {
    /// Opens (creating when `create`) the database directory at `path`, or
    /// returns the store this process already has open there.
    pub fn open(path: &Path, create: bool, initial_map_size: Option<usize>) -> Result<Arc<Store>> {
        if !path.join("data.mdb").exists() {
            if !create {
                return Err(Error::not_found(format!("no database at {}", path.display())));
            }
            std::fs::create_dir_all(path)
                .map_err(|e| Error::new(Code::Io, format!("cannot create database directory {}: {e}", path.display())))?;
        }
        let canonical = path
            .canonicalize()
            .map_err(|e| Error::new(Code::Io, format!("cannot resolve {}: {e}", path.display())))?;
        let mut registry = REGISTRY.lock();
        if let Some(store) = registry.get(&canonical).and_then(Weak::upgrade) {
            return Ok(store);
        }
        let store = Arc::new(Self::open_env(&canonical, initial_map_size)?);
        registry.insert(canonical, Arc::downgrade(&store));
        Ok(store)
    }

    fn open_env(path: &Path, initial_map_size: Option<usize>) -> Result<Store> {
        let existing = std::fs::metadata(path.join("data.mdb")).map(|m| m.len() as usize).unwrap_or(0);
        let map_size = initial_map_size.unwrap_or(DEFAULT_MAP_SIZE).max(existing).div_ceil(PAGE_SIZE) * PAGE_SIZE;
        let mut options = EnvOpenOptions::new();
        options.map_size(map_size).max_dbs(16).max_readers(1022);
        // SAFETY: the directory is only ever opened through this registry (one
        // environment per path per process) and never on a remote filesystem
        // by our own code; NO_META_SYNC is compensated per commit (see above).
        let env = unsafe {
            options.flags(EnvFlags::NO_META_SYNC);
            options.open(path)
        }
        .map_err(|e| Error::new(Code::Io, format!("cannot open database {}: {e}", path.display())))?;
        // Reader slots left by processes that died (kill -9) would pin old pages forever.
        env.clear_stale_readers()?;
        let writer = WriterLock::open(path)?;
        let store_path = path.to_path_buf();
        let tables = {
            let _g = writer.acquire(Duration::from_secs(30))?;
            let mut wtxn = env.write_txn()?;
            let mut open = |name: &str| -> Result<Table> { Ok(env.create_database(&mut wtxn, Some(name))?) };
            let t: Vec<Table> = TABLE_NAMES.iter().map(|n| open(n)).collect::<Result<_>>()?;
            wtxn.commit()?;
            Tables {
                meta: t[0],
                node_ids: t[1],
                edge_ids: t[2],
                nodes: t[3],
                edges: t[4],
                out_adj: t[5],
                in_adj: t[6],
                node_types: t[7],
                embeddings: t[8],
                changes: t[9],
                prop_index: t[10],
                queues: t[11],
            }
        };
        let vectors = VectorIndexes::new(store_path.clone());
        Ok(Store { path: store_path, env, tables, map_guard: RwLock::new(()), writer, vectors })
    }

    /// Runs `f` in a read transaction, adopting a map grown by another process.
    pub fn read<T>(&self, f: impl FnOnce(&RoTxn<'_, WithTls>, &Tables) -> Result<T>) -> Result<T> {
        loop {
            let guard = self.map_guard.read_recursive();
            match self.env.read_txn() {
                Ok(rtxn) => return f(&rtxn, &self.tables),
                Err(heed::Error::Mdb(heed::MdbError::MapResized)) => {
                    drop(guard);
                    self.set_map_size(0)?;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Runs `f` in a write transaction and commits it. `f` may run more than
    /// once: when the map is full its transaction is aborted, the map doubles
    /// and `f` starts again, so it must not have effects outside the txn.
    pub fn write<T>(&self, busy_timeout: Duration, durable: bool, mut f: impl FnMut(&mut RwTxn<'_>, &Tables) -> Result<T>) -> Result<T> {
        let _writer = self.acquire_writer(busy_timeout)?;
        loop {
            let guard = self.map_guard.read_recursive();
            let mut wtxn = match self.env.write_txn() {
                Ok(t) => t,
                Err(heed::Error::Mdb(heed::MdbError::MapResized)) => {
                    drop(guard);
                    self.set_map_size(0)?;
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            let outcome = f(&mut wtxn, &self.tables).and_then(|v| match wtxn.commit() {
                Ok(()) => Ok(Ok(v)),
                Err(e) if is_map_full(&e) => Ok(Err(())),
                Err(e) => Err(e.into()),
            });
            match outcome {
                Ok(Ok(v)) => {
                    self.sync_if(durable)?;
                    return Ok(v);
                }
                Ok(Err(())) => {}
                Err(e) if e.is_map_full() => {}
                Err(e) => return Err(e),
            }
            // The map is full: the transaction is gone; grow and retry.
            drop(guard);
            self.grow_map()?;
        }
    }

    /// Takes the writer lock (waiting up to `busy_timeout`). The guard may be
    /// handed to another thread, which then calls [`WriterGuard::adopt`].
    pub fn acquire_writer(&self, busy_timeout: Duration) -> Result<WriterGuard> {
        self.writer.acquire(busy_timeout)
    }

    /// Begins a write transaction that stays open across calls, for a caller
    /// that holds the writer lock. The transaction borrows the environment,
    /// which lives as long as this store; the caller keeps the returned hold
    /// (an `Arc` of this store) alive and ends the transaction before
    /// dropping it.
    pub(crate) fn begin_long(self: &Arc<Self>) -> Result<(MapHold, RwTxn<'static>)> {
        let info = self.env.info();
        if (info.last_page_number + 1) * PAGE_SIZE * 2 > info.map_size {
            self.set_map_size(info.map_size * 2)?;
        }
        loop {
            std::mem::forget(self.map_guard.read_recursive());
            let hold = MapHold { store: Arc::clone(self) };
            match self.env.write_txn() {
                // SAFETY: see above; `hold` keeps `self.env` alive and unmoved (it is inside the Arc).
                Ok(t) => return Ok((hold, unsafe { std::mem::transmute::<RwTxn<'_>, RwTxn<'static>>(t) })),
                Err(heed::Error::Mdb(heed::MdbError::MapResized)) => {
                    drop(hold);
                    self.set_map_size(0)?;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// A nested transaction of `parent`, with the lifetime of a long one (see [`Store::begin_long`]).
    /// It must end before `parent` does.
    pub(crate) fn nested(&self, parent: &mut RwTxn<'static>) -> Result<RwTxn<'static>> {
        let child = self.env.nested_write_txn(parent)?;
        // SAFETY: the child refers to the environment, not to the `parent`
        // value, and the caller ends it before the parent.
        Ok(unsafe { std::mem::transmute::<RwTxn<'_>, RwTxn<'static>>(child) })
    }

    /// Makes a commit durable when the handle asked for `immediate`.
    pub(crate) fn sync_if(&self, durable: bool) -> Result<()> {
        if durable {
            self.env.force_sync()?;
        }
        Ok(())
    }

    /// Doubles the map (no transaction of this process may be live).
    pub(crate) fn grow_map(&self) -> Result<()> {
        let size = self.env.info().map_size;
        self.set_map_size(size * 2)
    }

    fn set_map_size(&self, size: usize) -> Result<()> {
        let _exclusive = self.map_guard.write();
        // SAFETY: holding `map_guard` for writing means no transaction of
        // this process is live (all of them hold it for reading).
        unsafe { self.env.resize(size) }.map_err(Error::from)
    }
}

fn is_map_full(e: &heed::Error) -> bool {
    matches!(e, heed::Error::Mdb(heed::MdbError::MapFull))
}

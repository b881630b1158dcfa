//! The LMDB environment of one database directory, shared by every handle on
//! that path in this process.
//!
//! Invariants:
//! - One `Store` per canonical path per process (LMDB forbids opening an
//!   environment twice); [`Store::open`] hands out the registered one.
//! - Every transaction holds `live` (the map guard) for reading (recursively, so a
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
use crate::storage::metrics::{Metrics, Op};
use crate::storage::pagecheck::{self, Snapshot};
use crate::storage::presence::{Exclusive, Presence};
use crate::storage::writer_lock::{WriterGuard, WriterLock};
use heed::types::Bytes;
use heed::{CompactionOption, Database, Env, EnvFlags, EnvOpenOptions, RoTxn, RwTxn, WithTls};
use parking_lot::{Mutex, RwLock};
use std::any::Any;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, OnceLock, Weak};
use std::time::Duration;

pub type Table = Database<Bytes, Bytes>;

/// Declares [`Tables`] in one list: each field is the LMDB database of the
/// same name, so the struct, the names and the opening cannot disagree.
macro_rules! tables {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        /// The named LMDB databases of one environment.
        pub struct Tables {
            $($(#[$doc])* pub $name: Table,)*
        }

        const TABLE_COUNT: usize = [$(stringify!($name)),*].len();

        impl Tables {
            /// Every table with its name, in declaration order.
            pub fn named(&self) -> [(&'static str, Table); TABLE_COUNT] {
                [$((stringify!($name), self.$name)),*]
            }

            /// Opens every table, creating the missing ones.
            fn create(env: &Env, wtxn: &mut RwTxn) -> Result<Tables> {
                Ok(Tables { $($name: env.create_database(wtxn, Some(stringify!($name)))?,)* })
            }

            /// Opens every table if all exist (no writer needed), else `None`.
            fn open_existing(env: &Env, rtxn: &RoTxn<'_, WithTls>) -> Result<Option<Tables>> {
                $(let Some($name) = env.open_database(rtxn, Some(stringify!($name)))? else { return Ok(None) };)*
                Ok(Some(Tables { $($name,)* }))
            }
        }
    };
}

tables!(
    meta,
    node_ids,
    edge_ids,
    nodes,
    edges,
    out_adj,
    in_adj,
    node_types,
    embeddings,
    changes,
    prop_index,
    /// Durable queues (see `queue`).
    queues,
    /// Weights of counter edges (see `counters`).
    edge_weights,
    /// Full-text postings and document lengths (see `text::index`).
    text,
);

/// An open environment and its tables.
pub struct Live {
    env: Env<WithTls>,
    pub tables: Tables,
}

thread_local! {
    static COPYING: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Whether a copy (`copy::snapshot_to`, [`Store::rewrite_to`]) is reading the
/// environment on this thread (we are inside its progress callback).
pub fn copying_on_this_thread() -> bool {
    COPYING.with(|c| c.get() > 0)
}

/// Marks this thread as copying until dropped.
pub(crate) struct CopyingMark;

impl CopyingMark {
    pub(crate) fn new() -> Self {
        COPYING.with(|c| c.set(c.get() + 1));
        CopyingMark
    }
}

impl Drop for CopyingMark {
    fn drop(&mut self) {
        COPYING.with(|c| c.set(c.get() - 1));
    }
}

pub struct Store {
    pub path: PathBuf,
    /// `None` only after a compaction that could not reopen the file.
    live: RwLock<Option<Live>>,
    writer: Arc<WriterLock>,
    presence: Presence,
    pub metrics: Metrics,
    /// State a layer above keeps per store, made on first use and dropped
    /// with the store, last (the vector layer's HNSW graphs, saved then; see
    /// `vector::index::VectorIndexes::of`). Storage never looks inside.
    derived: OnceLock<Box<dyn Any + Send + Sync>>,
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
        unsafe { self.store.live.force_unlock_read() }
    }
}

static REGISTRY: LazyLock<Mutex<HashMap<PathBuf, Weak<Store>>>> = LazyLock::new(Default::default);

const DEFAULT_MAP_SIZE: usize = 256 << 20;
/// LMDB's page size here (the OS page size on the platforms we build for).
const PAGE_SIZE: usize = 4096;

impl Store {
    /// The state of type `T` a layer above keeps for this store, made by
    /// `make` on first use. One type per store: asking for another is a bug.
    pub(crate) fn derived<T: Any + Send + Sync>(&self, make: impl FnOnce(&Path) -> T) -> &T {
        self.derived.get_or_init(|| Box::new(make(&self.path))).downcast_ref().expect("one derived state type per store")
    }

    /// Opens (creating when `create`) the database directory at `path`, or
    /// returns the store this process already has open there.
    ///
    /// Joining waits at most `busy_timeout` for a compaction or restore in
    /// another process; the writer lock is taken (waiting as long) only when
    /// tables must be created, so a writer elsewhere never delays an open.
    pub fn open(path: &Path, create: bool, initial_map_size: Option<usize>, busy_timeout: Duration) -> Result<Arc<Store>> {
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
        let store = Arc::new(Self::open_env(&canonical, initial_map_size, busy_timeout)?);
        registry.insert(canonical, Arc::downgrade(&store));
        Ok(store)
    }

    /// Whether this process has the database at `path` open.
    pub fn is_open_here(path: &Path) -> bool {
        path.canonicalize().is_ok_and(|p| REGISTRY.lock().get(&p).is_some_and(|w| w.strong_count() > 0))
    }

    fn open_env(path: &Path, initial_map_size: Option<usize>, busy_timeout: Duration) -> Result<Store> {
        let presence = Presence::join(path, busy_timeout)?;
        check_structure_if_first(path, &presence)?;
        let writer = WriterLock::open(path)?;
        let live = open_live(path, initial_map_size, || writer.acquire(busy_timeout).map(Some))?;
        Ok(Store { path: path.to_path_buf(), live: RwLock::new(Some(live)), writer, presence, metrics: Metrics::default(), derived: OnceLock::new() })
    }

    fn closed(&self) -> Error {
        Error::new(Code::Io, format!("database {} was closed by a compaction that could not reopen it; open it again", self.path.display()))
    }

    /// Runs `f` in a read transaction, adopting a map grown by another process.
    pub fn read<T>(&self, f: impl FnOnce(&RoTxn<'_, WithTls>, &Tables) -> Result<T>) -> Result<T> {
        self.read_live(|rtxn, live| f(rtxn, &live.tables))
    }

    /// [`Store::read`] with the environment too (for LMDB's own figures).
    /// Every read transaction of this module begins here, so none of them
    /// fails with `MDB_MAP_RESIZED` after another process grew the map.
    fn read_live<T>(&self, f: impl FnOnce(&RoTxn<'_, WithTls>, &Live) -> Result<T>) -> Result<T> {
        let mut f = Some(f);
        loop {
            {
                let guard = self.live.read_recursive();
                let live = guard.as_ref().ok_or_else(|| self.closed())?;
                let attempt = live.env.read_txn();
                match attempt {
                    Ok(rtxn) => return (f.take().expect("runs once"))(&rtxn, live),
                    Err(heed::Error::Mdb(heed::MdbError::MapResized)) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            self.set_map_size(0)?;
        }
    }

    /// Runs `f` in a write transaction and commits it. `f` may run more than
    /// once: when the map is full its transaction is aborted, the map doubles
    /// and `f` starts again, so it must not have effects outside the txn.
    pub fn write<T>(&self, busy_timeout: Duration, durable: bool, f: impl FnMut(&mut RwTxn<'_>, &Tables) -> Result<T>) -> Result<T> {
        let writer = self.acquire_writer(busy_timeout)?;
        self.write_locked(&writer, durable, f)
    }

    /// [`Store::write`] for a caller that holds the writer lock.
    pub(crate) fn write_locked<T>(&self, _writer: &WriterGuard, durable: bool, mut f: impl FnMut(&mut RwTxn<'_>, &Tables) -> Result<T>) -> Result<T> {
        loop {
            let map_full = {
                let guard = self.live.read_recursive();
                let live = guard.as_ref().ok_or_else(|| self.closed())?;
                let attempt = live.env.write_txn();
                let map_full = match attempt {
                    Ok(mut wtxn) => {
                        let outcome = f(&mut wtxn, &live.tables).and_then(|v| {
                            let timer = self.metrics.time(Op::Commit);
                            if let Err(e) = crate::storage::fault::check(crate::storage::fault::Point::Commit) {
                                wtxn.abort();
                                return Err(e);
                            }
                            match wtxn.commit() {
                                Ok(()) => Ok(Some((v, timer))),
                                Err(e) if is_map_full(&e) => Ok(None),
                                Err(e) => Err(e.into()),
                            }
                        });
                        match outcome {
                            Ok(Some((v, _commit_and_sync))) => {
                                self.sync_if(durable)?;
                                return Ok(v);
                            }
                            Ok(None) => true,
                            Err(e) if e.is_map_full() => true,
                            Err(e) => return Err(e),
                        }
                    }
                    Err(heed::Error::Mdb(heed::MdbError::MapResized)) => false,
                    Err(e) => return Err(e.into()),
                };
                map_full
            };
            if map_full {
                // The transaction is gone; grow and retry.
                self.grow_map()?;
            } else {
                self.set_map_size(0)?;
            }
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
        let info = self.live.read_recursive().as_ref().ok_or_else(|| self.closed())?.env.info();
        if (info.last_page_number + 1) * PAGE_SIZE * 2 > info.map_size {
            self.set_map_size(info.map_size * 2)?;
        }
        loop {
            let guard = self.live.read_recursive();
            if guard.is_none() {
                return Err(self.closed());
            }
            std::mem::forget(guard);
            let hold = MapHold { store: Arc::clone(self) };
            match self.held().env.write_txn() {
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
        let child = self.held().env.nested_write_txn(parent)?;
        // SAFETY: the child refers to the environment, not to the `parent`
        // value, and the caller ends it before the parent.
        Ok(unsafe { std::mem::transmute::<RwTxn<'_>, RwTxn<'static>>(child) })
    }

    /// The tables, for a caller that holds a [`MapHold`] (an open long transaction).
    pub(crate) fn held_tables(&self) -> &Tables {
        &self.held().tables
    }

    fn held(&self) -> &Live {
        // SAFETY: only called while the caller holds a `MapHold`, a read lock
        // on `live` taken after checking it is `Some`; nothing replaces the
        // value until every read lock is gone.
        unsafe { (*self.live.data_ptr()).as_ref().expect("a held store is open") }
    }

    /// Makes a commit durable when the handle asked for `immediate`.
    pub(crate) fn sync_if(&self, durable: bool) -> Result<()> {
        if durable {
            crate::storage::fault::check(crate::storage::fault::Point::Sync)?;
            self.live.read_recursive().as_ref().ok_or_else(|| self.closed())?.env.force_sync()?;
        }
        Ok(())
    }

    /// Doubles the map (no transaction of this process may be live).
    pub(crate) fn grow_map(&self) -> Result<()> {
        let size = self.live.read_recursive().as_ref().ok_or_else(|| self.closed())?.env.info().map_size;
        self.set_map_size(size * 2)
    }

    fn set_map_size(&self, size: usize) -> Result<()> {
        if size != 0 {
            crate::storage::fault::check(crate::storage::fault::Point::Grow)?;
        }
        let live = self.live.write();
        let live = live.as_ref().ok_or_else(|| self.closed())?;
        // SAFETY: holding `live` for writing means no transaction of this
        // process is live (all of them hold it for reading).
        unsafe { live.env.resize(size) }.map_err(Error::from)
    }

    /// Exclusive access for a rewrite of the file: `LOCKED` naming the
    /// other processes that have it open.
    pub(crate) fn exclusive(&self, what: &str) -> Result<Exclusive<'_>> {
        self.presence.exclusive(what)
    }

    /// Streams a consistent copy of the committed data into `fd` (LMDB's
    /// `mdb_env_copyfd2`, compacted when `compact`: no free pages). Readers
    /// and writers go on meanwhile; map growth in this process waits.
    pub(crate) fn copy_to_fd(&self, fd: std::os::fd::RawFd, compact: bool) -> Result<()> {
        // Adopt a map another process grew, so the copy's transaction can begin.
        self.read(|_, _| Ok(()))?;
        let guard = self.live.read_recursive();
        let live = guard.as_ref().ok_or_else(|| self.closed())?;
        let option = if compact { CompactionOption::Enabled } else { CompactionOption::Disabled };
        // SAFETY: the caller owns `fd`, open for writing, until this returns.
        unsafe { live.env.copy_to_fd(fd, option) }.map_err(|e| Error::new(Code::Io, format!("copying {}: {e}", self.path.display())))
    }

    /// Writes every record of the last commit, table by table in key order,
    /// into a new environment in `dest_dir` (which must not exist) with
    /// LMDB's append mode, so its leaves are filled instead of left as
    /// deletes and splits made them. Returns the bytes of records written;
    /// `progress(done, total)` counts them and stops the rewrite by
    /// returning `false` (then `IO` "cancelled", `dest_dir` left to the caller).
    pub(crate) fn rewrite_to(&self, dest_dir: &Path, total: u64, progress: &mut dyn FnMut(u64, u64) -> bool) -> Result<u64> {
        /// Records per commit of the new environment: bounds its dirty pages.
        const BATCH: usize = 50_000;
        std::fs::create_dir(dest_dir).map_err(|e| Error::new(Code::Io, format!("cannot create {}: {e}", dest_dir.display())))?;
        let _mark = CopyingMark::new();
        self.read_live(|rtxn, live| {
            let map_size = live.env.info().map_size;
            let mut options = EnvOpenOptions::new();
            options.map_size(map_size).max_dbs(16);
            // SAFETY: a fresh directory of our own, opened once and closed here.
            let dest = unsafe { options.open(dest_dir) }.map_err(|e| Error::new(Code::Io, format!("cannot open {}: {e}", dest_dir.display())))?;
            let mut wtxn = dest.write_txn()?;
            let tables = Tables::create(&dest, &mut wtxn)?;
            let mut done = 0u64;
            let mut in_batch = 0;
            for ((_, from), (_, to)) in live.tables.named().into_iter().zip(tables.named()) {
                for entry in from.iter(rtxn)? {
                    let (k, v) = entry?;
                    to.put_with_flags(&mut wtxn, heed::PutFlags::APPEND, k, v)?;
                    done += (k.len() + v.len()) as u64;
                    in_batch += 1;
                    if in_batch == BATCH {
                        wtxn.commit()?;
                        wtxn = dest.write_txn()?;
                        in_batch = 0;
                        if !progress(done, total.max(done)) {
                            return Err(Error::new(Code::Io, format!("rewriting into {} was cancelled", dest_dir.display())));
                        }
                    }
                }
            }
            wtxn.commit()?;
            dest.force_sync()?;
            progress(done, done);
            Ok(done)
        })
    }

    /// Runs `f` with a read transaction's id and the data file's path: the
    /// pages of that snapshot stay as they are until `f` returns.
    pub(crate) fn pinned<T>(&self, f: impl FnOnce(u64, &Path) -> Result<T>) -> Result<T> {
        self.read_live(|rtxn, _| f(rtxn.id() as u64, &self.path.join("data.mdb")))
    }

    /// LMDB reader slots in use across all processes (runtime state, not data).
    pub fn readers(&self) -> Result<u32> {
        Ok(self.live.read_recursive().as_ref().ok_or_else(|| self.closed())?.env.info().number_of_readers)
    }

    /// Storage figures: pages in use per table and what a compaction would give back.
    pub fn usage(&self) -> Result<Usage> {
        self.read_live(|rtxn, live| self.usage_in(rtxn, live))
    }

    fn usage_in(&self, rtxn: &RoTxn<'_, WithTls>, live: &Live) -> Result<Usage> {
        let t = &live.tables;
        let named = t.named();
        let main: Option<Table> = live.env.open_database(rtxn, None)?;
        let main_pages = match main {
            Some(db) => stat_pages(&db.stat(rtxn)?),
            None => 0,
        };
        let mut tables = Vec::with_capacity(named.len());
        let mut used = 2 + main_pages;
        let mut page_size = PAGE_SIZE as u64;
        for (name, db) in named {
            let s = db.stat(rtxn)?;
            page_size = u64::from(s.page_size);
            used += stat_pages(&s);
            tables.push(TableUsage { name, entries: s.entries as u64, bytes: stat_pages(&s) * page_size });
        }
        let info = live.env.info();
        let file_bytes = std::fs::metadata(self.path.join("data.mdb")).map(|m| m.len())?;
        Ok(Usage {
            file_bytes,
            map_bytes: info.map_size as u64,
            page_size,
            used_bytes: used * page_size,
            reclaimable_bytes: file_bytes.saturating_sub(used * page_size),
            tables,
        })
    }

    /// Swaps in the data file `replacement` (a compacted copy of this
    /// database) and reopens. The caller holds the writer lock and exclusive
    /// presence; `while_closed` runs with the environment closed. On any
    /// failure the old file stays and is reopened.
    pub(crate) fn replace_file(&self, _writer: &WriterGuard, replacement: &Path, while_closed: impl FnOnce() -> Result<()>) -> Result<()> {
        let mut live = self.live.write();
        let map_size = live.as_ref().map(|l| l.env.info().map_size);
        // Closing: this was the only `Env` of the path, so LMDB closes it here.
        drop(live.take());
        let data = self.path.join("data.mdb");
        let swapped = std::fs::rename(replacement, &data)
            .map_err(|e| Error::new(Code::Io, format!("cannot move {} over {}: {e}", replacement.display(), data.display())))
            .and_then(|()| sync_dir(&self.path))
            .and_then(|()| while_closed());
        let reopened = open_live(&self.path, map_size, || Ok(None));
        match reopened {
            Ok(l) => {
                *live = Some(l);
                swapped
            }
            Err(e) => Err(e),
        }
    }
}

/// Pages in use by a table, from its record.
fn stat_pages(s: &heed::DatabaseStat) -> u64 {
    (s.branch_pages + s.leaf_pages + s.overflow_pages) as u64
}

/// What the data file holds, for `stats().storage` and metrics.
#[derive(Debug, Clone, serde::Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    pub file_bytes: u64,
    pub map_bytes: u64,
    pub page_size: u64,
    /// Pages reachable from the current snapshot (tables and meta pages).
    pub used_bytes: u64,
    /// File bytes a compaction would give back: free pages and the free list.
    pub reclaimable_bytes: u64,
    pub tables: Vec<TableUsage>,
}

#[derive(Debug, Clone, serde::Serialize, PartialEq)]
pub struct TableUsage {
    pub name: &'static str,
    pub entries: u64,
    pub bytes: u64,
}

/// Opens the environment at `path` and its tables. The caller holds the writer lock.
/// Opens the environment of `path`. `lock_writer` is called only when
/// tables must be created: it takes the writer lock, or gives `None` when
/// the caller already holds it.
fn open_live(path: &Path, map_size: Option<usize>, lock_writer: impl FnOnce() -> Result<Option<WriterGuard>>) -> Result<Live> {
    let existing = std::fs::metadata(path.join("data.mdb")).map(|m| m.len() as usize).unwrap_or(0);
    let map_size = map_size.unwrap_or(DEFAULT_MAP_SIZE).max(existing).div_ceil(PAGE_SIZE) * PAGE_SIZE;
    let mut options = EnvOpenOptions::new();
    options.map_size(map_size).max_dbs(16).max_readers(1022);
    // SAFETY: the directory is only ever opened through the registry (one
    // environment per path per process) and never on a remote filesystem
    // by our own code; NO_META_SYNC is compensated per commit (see above).
    let env = unsafe {
        options.flags(EnvFlags::NO_META_SYNC);
        options.open(path)
    }
    .map_err(|e| Error::new(Code::Io, format!("cannot open database {}: {e}", path.display())))?;
    // Reader slots left by processes that died (kill -9) would pin old pages forever.
    env.clear_stale_readers()?;
    let rtxn = env.read_txn()?;
    if let Some(tables) = Tables::open_existing(&env, &rtxn)? {
        // Committing a read transaction keeps the table handles it opened.
        rtxn.commit()?;
        return Ok(Live { env, tables });
    }
    drop(rtxn);
    let _guard = lock_writer()?;
    let mut wtxn = env.write_txn()?;
    let tables = Tables::create(&env, &mut wtxn)?;
    wtxn.commit()?;
    Ok(Live { env, tables })
}

/// The first process to open a file checks its structure before LMDB reads
/// it, holding the others off meanwhile; later ones share the checked file.
fn check_structure_if_first(path: &Path, presence: &Presence) -> Result<()> {
    let data = path.join("data.mdb");
    if !data.exists() || !presence.alone()? {
        return Ok(());
    }
    let Ok(_alone) = presence.exclusive("checking the file") else { return Ok(()) };
    let report = pagecheck::check_file(&data, Snapshot::Newest)
        .map_err(|e| Error::new(Code::Io, format!("cannot read {}: {e}", data.display())))?
        .expect("the newest snapshot always exists");
    match report.errors.first() {
        None => Ok(()),
        Some(first) => Err(Error::corruption(format!(
            "database {} is damaged ({} problem{}; first: {first}); restore it from a backup",
            path.display(),
            report.errors.len(),
            if report.errors.len() == 1 { "" } else { "s" }
        ))),
    }
}

/// Makes a rename in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| Error::new(Code::Io, format!("cannot sync {}: {e}", dir.display())))
}

fn is_map_full(e: &heed::Error) -> bool {
    matches!(e, heed::Error::Mdb(heed::MdbError::MapFull))
}

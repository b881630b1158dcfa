//! The live HNSW graphs of one database directory, shared by every handle
//! on it in this process, and how they follow LMDB.
//!
//! Invariants:
//! - LMDB is the source of truth; a graph is derived from it. A graph that
//!   "covers" sequence `s` reflects every committed embedding change with a
//!   change-log sequence `<= s`, and nothing newer than the snapshot it was
//!   last caught up in.
//! - A graph is opened lazily (first search of its space, or a batch
//!   insert): from its sidecar when the file is sound, was written for this
//!   space and spec, and the change log still holds everything after the
//!   sequence it covers; otherwise rebuilt from the embeddings table. Each
//!   path is counted (`loads`, `catchUps`, `rebuilds`).
//! - [`SpaceIndex::catch_up`] brings a graph to the sequence of the caller's
//!   read transaction by replaying the change log: for every node whose
//!   embedding changed, the graph takes the vector LMDB holds now in that
//!   snapshot (or drops the node). Only one catch-up runs at a time (it holds
//!   the graph's write lock); searches hold the read lock, so they run in
//!   parallel with each other.
//! - Sidecars are written when the last handle on the directory in this
//!   process goes away, and in the background after a catch-up once
//!   [`SAVE_AFTER`] vectors changed and [`SAVE_EVERY`] passed since the last
//!   save; never half (see `hnsw::Hnsw::save`), one save of a graph at a
//!   time, and never over a sidecar that covers a later sequence (another
//!   process's).

use crate::storage::codec::{open as unseal, read_u64_be, u64_key};
use crate::storage::changes::Change;
use crate::vector::catalog::space_count;
use crate::error::{Error, Result};
use crate::vector::hnsw::{sidecar_path, Hnsw, SidecarHeader};
use crate::storage::keys;
use crate::storage::handle::Database;
use crate::storage::store::{Store, Tables};
use crate::vector::space::{self as vectors, HnswParams, Space};
use crate::storage::writing::committed_change_seq;
use heed::RoTxn;
use parking_lot::{Mutex, RwLock, RwLockReadGuard};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};
use std::ops::Bound;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Below this many vectors to add, a catch-up adds on the calling thread.
const PARALLEL_FROM: usize = 256;
/// Changed vectors (at least; or a quarter of the graph) before a background save.
const SAVE_AFTER: u64 = 10_000;
/// Least time between background saves of one graph.
const SAVE_EVERY: Duration = Duration::from_secs(60);

pub struct VectorIndexes {
    dir: PathBuf,
    spaces: Mutex<HashMap<u32, Arc<SpaceIndex>>>,
}

/// One space's graph and what this process has done with it.
pub struct SpaceIndex {
    name: String,
    header: (u32, u64),
    graph: RwLock<Hnsw>,
    /// Sequence the graph covers (changed only under the write lock).
    seq: AtomicU64,
    saved_seq: AtomicU64,
    /// Vectors added or removed since the last save, and when that was.
    unsaved: AtomicU64,
    last_save: Mutex<Instant>,
    /// Held while writing the sidecar.
    saving: Mutex<()>,
    /// Rebuilt: whatever sidecar is there was unusable, so overwrite it
    /// even if it claims a later sequence.
    rebuilt: std::sync::atomic::AtomicBool,
    loads: AtomicU64,
    catch_ups: AtomicU64,
    rebuilds: AtomicU64,
    /// Searches that found the graph already in memory (a load or rebuild is the miss).
    hits: AtomicU64,
    /// Vectors deleted from the graph since it was loaded or built (usearch
    /// keeps their slots for reuse; a compaction drops them).
    deleted: AtomicU64,
    /// When this process last rebuilt the graph (ms since epoch; 0: never).
    last_rebuild_ms: std::sync::atomic::AtomicI64,
}

/// What `stats()` reports about a space's graph in this process.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GraphStats {
    /// Whether this process has the graph in memory yet.
    pub loaded: bool,
    /// Vectors in the graph.
    pub vectors: u64,
    /// Change-log sequence the graph covers.
    pub seq: u64,
    /// Times the sidecar was loaded, the graph caught up from the change log, or rebuilt.
    pub loads: u64,
    pub catch_ups: u64,
    pub rebuilds: u64,
    /// Uses of the graph that found it in memory.
    pub hits: u64,
    /// Bytes the graph takes in memory.
    pub bytes: u64,
    /// Vectors deleted from the graph since it was loaded or built.
    pub deleted: u64,
    /// When this process last rebuilt the graph (ms since epoch).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_rebuild_at: Option<i64>,
}

impl VectorIndexes {
    /// The graphs of the directory `store` holds, shared by every handle on it.
    pub fn of(store: &Store) -> &VectorIndexes {
        store.derived(|dir| VectorIndexes::new(dir.to_path_buf()))
    }

    pub fn new(dir: PathBuf) -> VectorIndexes {
        VectorIndexes { dir, spaces: Mutex::default() }
    }

    /// The graph of `space`, opened if needed and caught up to `txn`.
    pub fn current(&self, txn: &RoTxn, t: &Tables, space: &Space, params: HnswParams) -> Result<Arc<SpaceIndex>> {
        let index = self.open(txn, t, space, params)?;
        index.catch_up(txn, t, space)?;
        if index.due_for_save() {
            let (index, dir) = (Arc::clone(&index), self.dir.clone());
            // Best effort, like the save at close.
            std::thread::spawn(move || index.save(&dir));
        }
        Ok(index)
    }

    /// The graph of `space` if this process has it open, without loading it.
    pub fn stats(&self, space: &Space) -> Option<GraphStats> {
        let index = self.spaces.lock().get(&space.id).cloned()?;
        let graph = index.graph.read();
        Some(GraphStats {
            loaded: true,
            vectors: graph.len() as u64,
            seq: index.seq.load(Ordering::Acquire),
            loads: index.loads.load(Ordering::Relaxed),
            catch_ups: index.catch_ups.load(Ordering::Relaxed),
            rebuilds: index.rebuilds.load(Ordering::Relaxed),
            hits: index.hits.load(Ordering::Relaxed),
            bytes: graph.memory_bytes() as u64,
            deleted: index.deleted.load(Ordering::Relaxed),
            last_rebuild_at: Some(index.last_rebuild_ms.load(Ordering::Relaxed)).filter(|&ms| ms > 0),
        })
    }

    /// Drops the graph of the space with this id (dropped or replaced), unsaved.
    pub fn forget(&self, space_id: u32) {
        self.spaces.lock().remove(&space_id);
    }

    /// Drops every graph this process holds, unsaved, so the next search
    /// rebuilds it (compaction calls this with the sidecars removed).
    pub fn forget_all(&self) {
        self.spaces.lock().clear();
    }

    /// Writes the sidecar of every graph that changed since it was last saved.
    fn save_all(&self) -> Result<()> {
        let open: Vec<Arc<SpaceIndex>> = self.spaces.lock().values().cloned().collect();
        for index in open {
            index.save(&self.dir)?;
        }
        Ok(())
    }

    fn open(&self, txn: &RoTxn, t: &Tables, space: &Space, params: HnswParams) -> Result<Arc<SpaceIndex>> {
        let mut spaces = self.spaces.lock();
        if let Some(index) = spaces.get(&space.id) {
            index.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(Arc::clone(index));
        }
        let header = (space.id, fingerprint(space, params));
        let dims = space.spec.dimensions as usize;
        let path = sidecar_path(&self.dir, &space.name);
        let vectors = space_count(txn, t, space.id)?;
        let loaded = match Hnsw::load(&path, dims, space.spec.metric, params, header, vectors) {
            Ok(Some((graph, h))) if log_reaches(txn, t, h.seq)? => Some((graph, h.seq)),
            // Absent, unreadable, for another spec, or older than the log: rebuild.
            _ => None,
        };
        let index = match loaded {
            Some((graph, seq)) => {
                let index = SpaceIndex::new(space, header, graph, seq);
                index.loads.fetch_add(1, Ordering::Relaxed);
                index.catch_up(txn, t, space)?;
                if index.graph.read().len() as u64 == space_count(txn, t, space.id)? {
                    Some(index)
                } else {
                    None
                }
            }
            None => None,
        };
        let index = match index {
            Some(index) => index,
            None => {
                let index = SpaceIndex::new(space, header, Hnsw::new(dims, space.spec.metric, params)?, 0);
                index.rebuild(txn, t, space)?;
                index
            }
        };
        let index = Arc::new(index);
        // A graph under this name with another id is of a space since dropped or replaced.
        spaces.retain(|_, other| other.name != space.name);
        spaces.insert(space.id, Arc::clone(&index));
        Ok(index)
    }
}

impl Drop for VectorIndexes {
    fn drop(&mut self) {
        // Best effort: a sidecar that is not written is rebuilt or caught up next time.
        let _ = self.save_all();
    }
}

impl SpaceIndex {
    fn new(space: &Space, header: (u32, u64), graph: Hnsw, seq: u64) -> SpaceIndex {
        SpaceIndex {
            name: space.name.clone(),
            header,
            graph: RwLock::new(graph),
            seq: AtomicU64::new(seq),
            saved_seq: AtomicU64::new(seq),
            unsaved: AtomicU64::new(0),
            last_save: Mutex::new(Instant::now()),
            saving: Mutex::new(()),
            rebuilt: std::sync::atomic::AtomicBool::new(false),
            loads: AtomicU64::new(0),
            catch_ups: AtomicU64::new(0),
            rebuilds: AtomicU64::new(0),
            hits: AtomicU64::new(0),
            deleted: AtomicU64::new(0),
            last_rebuild_ms: std::sync::atomic::AtomicI64::new(0),
        }
    }

    /// The graph for searching; hold the guard for the whole search.
    pub fn graph(&self) -> RwLockReadGuard<'_, Hnsw> {
        self.graph.read()
    }

    /// Replays the change log from the covered sequence to `txn`'s.
    fn catch_up(&self, txn: &RoTxn, t: &Tables, space: &Space) -> Result<()> {
        let target = committed_change_seq(txn, t)?;
        if self.seq.load(Ordering::Acquire) >= target {
            return Ok(());
        }
        let mut graph = self.graph.write();
        let from = self.seq.load(Ordering::Acquire);
        if from >= target {
            return Ok(());
        }
        let mut changed = BTreeSet::new();
        let (low, high) = (u64_key(from + 1), u64_key(target));
        let bounds: (Bound<&[u8]>, Bound<&[u8]>) = (Bound::Included(&low), Bound::Included(&high));
        for entry in t.changes.range(txn, &bounds)? {
            let (k, v) = entry?;
            let payload = unseal(k, v, || format!("change-log entry #{}", read_u64_be(k)))?;
            if payload.len() != 13 {
                return Err(Error::corruption(format!("change-log entry #{} has {} bytes", read_u64_be(k), payload.len())));
            }
            let kind = payload[0];
            let space_id = u32::from_le_bytes(payload[9..13].try_into().expect("4 bytes"));
            if space_id == space.id && (kind == Change::EmbeddingPut as u8 || kind == Change::EmbeddingDelete as u8) {
                changed.insert(u64::from_le_bytes(payload[1..9].try_into().expect("8 bytes")));
            }
        }
        let changed_count = changed.len();
        let mut puts = Vec::new();
        for node in changed {
            let key = keys::embedding(space.id, node);
            match t.embeddings.get(txn, &key)? {
                Some(v) => puts.push((node, unseal_vector(&key, v)?)),
                None => {
                    graph.remove(node)?;
                    self.deleted.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        add_all(&mut graph, &puts)?;
        self.unsaved.fetch_add(changed_count as u64, Ordering::Relaxed);
        self.seq.store(target, Ordering::Release);
        self.catch_ups.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Refills the (empty) graph from every embedding of the space in `txn`.
    fn rebuild(&self, txn: &RoTxn, t: &Tables, space: &Space) -> Result<()> {
        let mut graph = self.graph.write();
        let mut all = Vec::new();
        for entry in t.embeddings.prefix_iter(txn, &space.id.to_be_bytes())? {
            let (key, v) = entry?;
            all.push((read_u64_be(&key[4..]), unseal_vector(key, v)?));
        }
        add_all(&mut graph, &all)?;
        self.unsaved.fetch_add(all.len() as u64, Ordering::Relaxed);
        self.seq.store(committed_change_seq(txn, t)?, Ordering::Release);
        self.saved_seq.store(u64::MAX, Ordering::Release);
        self.rebuilt.store(true, Ordering::Release);
        self.rebuilds.fetch_add(1, Ordering::Relaxed);
        self.deleted.store(0, Ordering::Relaxed);
        self.last_rebuild_ms.store(crate::now_ms(), Ordering::Relaxed);
        Ok(())
    }

    fn due_for_save(&self) -> bool {
        let unsaved = self.unsaved.load(Ordering::Relaxed);
        let size = self.graph.read().len() as u64;
        unsaved >= SAVE_AFTER.max(size / 4) && self.last_save.lock().elapsed() >= SAVE_EVERY && self.saving.try_lock().is_some()
    }

    /// Writes the sidecar if the graph moved since the last save and the
    /// file there does not already cover a later sequence.
    fn save(&self, dir: &std::path::Path) -> Result<()> {
        let _saving = self.saving.lock();
        *self.last_save.lock() = Instant::now();
        let graph = self.graph.read();
        let seq = self.seq.load(Ordering::Acquire);
        if self.saved_seq.load(Ordering::Acquire) == seq {
            return Ok(());
        }
        let path = sidecar_path(dir, &self.name);
        let newer_there = crate::vector::hnsw::read_header(&path).is_some_and(|h| (h.space_id, h.fingerprint) == self.header && h.seq > seq);
        if newer_there && !self.rebuilt.load(Ordering::Acquire) {
            return Ok(());
        }
        let unsaved = self.unsaved.swap(0, Ordering::Relaxed);
        graph.save(&path, SidecarHeader { space_id: self.header.0, fingerprint: self.header.1, seq }).inspect_err(|_| {
            self.unsaved.fetch_add(unsaved, Ordering::Relaxed);
        })?;
        self.saved_seq.store(seq, Ordering::Release);
        Ok(())
    }
}

/// The stored bytes of a vector (unaligned, inside the LMDB map).
fn unseal_vector<'a>(key: &[u8], v: &'a [u8]) -> Result<&'a [u8]> {
    let bytes = unseal(key, v, || format!("embedding key {}", crate::storage::codec::hex(key)))?;
    if !bytes.len().is_multiple_of(4) {
        return Err(Error::corruption("embedding length is not a whole number of floats"));
    }
    Ok(bytes)
}

/// Adds `(node, vector bytes)` pairs, on every core when there are many.
fn add_all(graph: &mut Hnsw, items: &[(u64, &[u8])]) -> Result<()> {
    graph.reserve(items.len())?;
    let graph = &*graph;
    let add_from = |next: &AtomicUsize| -> Result<()> {
        let mut buf = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some((node, bytes)) = items.get(i) else { return Ok(()) };
            vectors::decode_into(bytes, &mut buf)?;
            graph.put(*node, &mut buf)?;
        }
    };
    let next = AtomicUsize::new(0);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(crate::vector::hnsw::SLOTS);
    if items.len() < PARALLEL_FROM || threads == 1 {
        return add_from(&next);
    }
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads).map(|_| s.spawn(|| add_from(&next))).collect();
        workers.into_iter().try_for_each(|w| w.join().unwrap_or_else(|_| Err(Error::internal("an HNSW insert thread panicked"))))
    })
}

/// Whether the change log still holds every entry after `seq` (it may have
/// been pruned), and `seq` is not ahead of the database (a sidecar from
/// another copy of it).
fn log_reaches(txn: &RoTxn, t: &Tables, seq: u64) -> Result<bool> {
    let current = committed_change_seq(txn, t)?;
    if seq > current {
        return Ok(false);
    }
    if seq == current {
        return Ok(true);
    }
    Ok(match t.changes.first(txn)? {
        Some((k, _)) => read_u64_be(k) <= seq + 1,
        None => false,
    })
}

/// Hash of everything that shapes a graph, so a sidecar written for other
/// settings is never loaded.
fn fingerprint(space: &Space, params: HnswParams) -> u64 {
    let scalar = crate::vector::hnsw::scalar_kind(space.spec.metric);
    let text = format!("{}|{:?}|{:?}|{}|{}", space.spec.dimensions, space.spec.metric, scalar, params.m, params.ef_construction);
    xxhash_rust::xxh3::xxh3_64(text.as_bytes())
}

impl Database {
    /// The HNSW graph of `space`, caught up to `txn`; `None` for a `flat`
    /// space and inside a transaction (the graph holds committed data only).
    pub(crate) fn graph_of(&self, txn: &RoTxn, t: &Tables, space: &Space) -> Result<Option<Arc<SpaceIndex>>> {
        match space.spec.hnsw() {
            Some(params) if !self.is_transaction() => Ok(Some(VectorIndexes::of(self.store()).current(txn, t, space, params)?)),
            _ => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::vector::hnsw::{read_header, sidecar_path};
    use crate::{Database, Metric, NewNode, NodeFilter, OpenOptions, SearchRequest, SpaceSpec};

    fn search(db: &Database) -> usize {
        let request = SearchRequest { k: 3, filter: NodeFilter::default(), ..SearchRequest::default() };
        db.search("s", &[1.0, 2.0], &request).unwrap().len()
    }

    #[test]
    fn a_graph_never_overwrites_a_sidecar_that_covers_more() {
        let (dir, path) = with_sidecar();
        let saved = read_header(&path).expect("saved at close").seq;
        let claim = |seq: u64| {
            let mut bytes = std::fs::read(&path).unwrap();
            bytes[24..32].copy_from_slice(&seq.to_le_bytes());
            std::fs::write(&path, &bytes).unwrap();
        };
        {
            let db = Database::open(dir.path(), OpenOptions::default()).unwrap();
            assert_eq!(search(&db), 3);
            assert_eq!(db.stats().unwrap().spaces[0].graph.as_ref().map(|g| (g.loads, g.rebuilds)), Some((1, 0)));
            db.insert_embedding("n1", "s", &[5.0, 5.0]).unwrap();
            assert_eq!(search(&db), 3);
            // Meanwhile another process saved a graph covering later changes.
            claim(saved + 1000);
        }
        assert_eq!(read_header(&path).unwrap().seq, saved + 1000, "the newer file stays");
        {
            // A file ahead of the database itself (another copy's) is rebuilt over.
            let db = Database::open(dir.path(), OpenOptions::default()).unwrap();
            assert_eq!(search(&db), 3);
            assert_eq!(db.stats().unwrap().spaces[0].graph.as_ref().map(|g| g.rebuilds), Some(1));
        }
        assert_eq!(read_header(&path).unwrap().seq, saved + 1);
    }

    /// Runs `f` on another thread, failing (instead of hanging the test)
    /// when it takes over 30 s.
    fn within_30s<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        let (done, outcome) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = done.send(f());
        });
        outcome.recv_timeout(std::time::Duration::from_secs(30)).expect("finishes (a sidecar must not block it)")
    }

    /// Opens the database in `dir`, checks the sidecar's header and searches
    /// space `s`: the hits and the graph's rebuilds.
    fn open_and_search(dir: &std::path::Path) -> (usize, Option<u64>) {
        let dir = dir.to_path_buf();
        within_30s(move || {
            let _ = read_header(&sidecar_path(&dir, "s"));
            let db = Database::open(&dir, OpenOptions::default()).unwrap();
            let found = search(&db);
            let rebuilds = db.stats().unwrap().spaces[0].graph.as_ref().map(|g| g.rebuilds);
            (found, rebuilds)
        })
    }

    /// A database with 50 vectors in hnsw space `s` and its saved sidecar.
    fn with_sidecar() -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = sidecar_path(dir.path(), "s");
        {
            let db = Database::open(dir.path(), OpenOptions::default()).unwrap();
            let spec = SpaceSpec { dimensions: 2, metric: Metric::L2, index: None, m: None, ef_construction: None, ef: None, embedder: None };
            db.ensure_space("s", &spec).unwrap();
            let nodes: Vec<NewNode> = (0..50).map(|i| NewNode { id: format!("n{i}"), node_type: "T".into(), properties: "{}".into() }).collect();
            db.insert_nodes(&nodes, 1).unwrap();
            let items: Vec<_> = (0..50).map(|i| (format!("n{i}"), "s".to_owned(), vec![i as f32, 1.0])).collect();
            db.insert_embeddings(&items).unwrap();
        }
        assert!(read_header(&path).is_some(), "saved at close");
        (dir, path)
    }

    fn is_regular(path: &std::path::Path) -> bool {
        std::fs::symlink_metadata(path).unwrap().file_type().is_file()
    }

    #[test]
    fn a_fifo_sidecar_is_never_opened_for_reading_and_is_rebuilt() {
        let (dir, path) = with_sidecar();
        // Opening a FIFO for reading waits for a writer, forever.
        std::fs::remove_file(&path).unwrap();
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert_eq!(open_and_search(dir.path()), (3, Some(1)));
        assert!(is_regular(&path), "the rebuilt graph is saved over the FIFO");
    }

    #[test]
    fn a_sidecar_linked_to_a_device_or_too_large_is_not_read_and_is_rebuilt() {
        let (dir, path) = with_sidecar();
        let good = std::fs::read(&path).unwrap();
        // A link to /dev/zero: reading it to the end never ends and fills memory.
        std::fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink("/dev/zero", &path).unwrap();
        let params = crate::vector::space::HnswParams { m: 16, ef_construction: 128, ef: 64 };
        let probe = path.clone();
        let refused = within_30s(move || crate::vector::hnsw::Hnsw::load(&probe, 2, Metric::L2, params, (1, 0), 50).map(|_| ()).unwrap_err());
        assert!(refused.message.contains("is a symbolic link to a device, not to a regular file"), "{}", refused.message);
        assert_eq!(open_and_search(dir.path()), (3, Some(1)));
        assert!(is_regular(&path), "the rebuilt graph replaces the link, not /dev/zero");

        // A regular file far larger than 50 two-dimensional vectors could need.
        let mut padded = std::fs::read(&path).unwrap();
        padded.resize(padded.len() + (8 << 20), 0);
        std::fs::write(&path, &padded).unwrap();
        assert_eq!(open_and_search(dir.path()), (3, Some(1)));

        // A link to a regular sidecar is followed and loaded.
        let elsewhere = dir.path().join("elsewhere.bin");
        std::fs::write(&elsewhere, &good).unwrap();
        std::fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &path).unwrap();
        assert_eq!(open_and_search(dir.path()), (3, Some(0)));
    }
}

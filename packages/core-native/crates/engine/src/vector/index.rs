//! The live HNSW graphs of one database directory, shared by every handle
//! on it in this process, and how they follow LMDB.
//!
//! Invariants:
//! - LMDB is the source of truth; a graph is derived from it. A graph that
//!   "covers" sequence `s` reflects every committed embedding change with a
//!   change-log sequence `<= s`, and nothing newer than the snapshot it was
//!   last caught up in.
//! - Searches never build, load or catch up a graph. A graph is built by a
//!   background worker of this process: from its sidecar when the file is
//!   sound, was written for this space and spec, and the change log still
//!   holds everything after the sequence it covers; otherwise rebuilt from the
//!   embeddings table, a bounded step at a time. Until it is ready a search
//!   scans exactly; once ready, a search gets the graph and the nodes whose
//!   vectors changed after the sequence it covers ([`Current::pending`]),
//!   which it scores exactly, and the worker is started to catch up.
//! - A worker is started by a search that found the graph missing or behind,
//!   by `insert_embeddings`, and by every write of a space whose graph this
//!   process holds; at most one runs per graph. It holds the store only during a
//!   step, counted in `busy`, so `Database::close` can wait until no worker
//!   keeps the directory open. [`VectorIndexes::settle`] runs the same steps
//!   on the calling thread.
//! - Catch-up replays the change log from the covered sequence: for every
//!   node whose embedding changed, the graph takes the vector LMDB holds now
//!   in that snapshot (or drops the node). A graph whose retired entries
//!   pass a quarter of its vectors, or a loaded one of another size than the
//!   space, is rebuilt from the embeddings table (searches scan meanwhile).
//!   Steps of one graph never overlap (`stepping`); searches hold the read
//!   lock, so they run in parallel with each other and wait for at most one
//!   step.
//! - Sidecars are written when the last handle on the directory in this
//!   process goes away, and by the worker once [`SAVE_AFTER`] vectors changed
//!   and [`SAVE_EVERY`] passed since the last save; never half (see
//!   `hnsw::Hnsw::save`), never of a graph that is not ready, one save of a
//!   graph at a time, and never over a sidecar that covers a later sequence
//!   (another process's).

use crate::storage::codec::{open as unseal, read_u64_be, u64_key};
use crate::storage::changes::Change;
use crate::vector::catalog::{find_space, list_spaces, space_count};
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
use std::collections::{BTreeSet, HashMap, HashSet};
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// Below this many vectors to add, a step adds on one thread.
const PARALLEL_FROM: usize = 256;
/// Most vectors one worker step adds (bounds how long a search waits for
/// the graph and how long `close` waits for a worker).
const STEP: usize = 2048;
/// Changed vectors (at least; or a quarter of the graph) before a background save.
const SAVE_AFTER: u64 = 10_000;
/// Least time between background saves of one graph.
const SAVE_EVERY: Duration = Duration::from_secs(60);
/// A graph is rebuilt once its retired entries (removed or replaced vectors,
/// see `hnsw`) pass this share of its live vectors, and at least
/// [`RETIRED_LEAST`]: they cost memory and walking time, a rebuild costs one
/// insertion per vector.
const RETIRED_SHARE: u64 = 4;
const RETIRED_LEAST: u64 = 1024;

pub struct VectorIndexes {
    dir: PathBuf,
    spaces: Mutex<HashMap<u32, Arc<SpaceIndex>>>,
    /// Workers inside a step (each holds the store meanwhile).
    busy: Arc<AtomicUsize>,
}

/// One space's graph and what this process has done with it.
pub struct SpaceIndex {
    space: Space,
    params: HnswParams,
    header: (u32, u64),
    graph: RwLock<Hnsw>,
    /// Sequence the graph covers (changed only under the write lock).
    seq: AtomicU64,
    /// The graph holds every vector up to `seq` (loaded or rebuilt); until
    /// then searches scan exactly.
    ready: AtomicBool,
    /// A rebuild under way: the sequence of its first snapshot and the last
    /// embedding key it added.
    rebuilding: Mutex<Option<(u64, Vec<u8>)>>,
    /// The graph came from a sidecar: once caught up, its size is checked
    /// against the space's and a mismatch rebuilds it.
    check_size: AtomicBool,
    /// Held for each build or catch-up step.
    stepping: Mutex<()>,
    /// A worker runs for this graph.
    working: AtomicBool,
    saved_seq: AtomicU64,
    /// Vectors added or removed since the last save, and when that was.
    unsaved: AtomicU64,
    last_save: Mutex<Instant>,
    /// Held while writing the sidecar.
    saving: Mutex<()>,
    /// Rebuilt: whatever sidecar is there was unusable, so overwrite it
    /// even if it claims a later sequence.
    rebuilt: AtomicBool,
    loads: AtomicU64,
    catch_ups: AtomicU64,
    rebuilds: AtomicU64,
    /// Searches that found the graph ready.
    hits: AtomicU64,
    /// When this process last rebuilt the graph (ms since epoch; 0: never).
    last_rebuild_ms: AtomicI64,
}

/// A ready graph for one search and the nodes (sorted internal keys) whose
/// vectors changed after the sequence it covers, up to the search's snapshot:
/// the search scores those exactly instead of trusting the graph for them.
pub struct Current {
    index: Arc<SpaceIndex>,
    pub pending: Vec<u64>,
}

impl Current {
    /// The graph for searching; hold the guard for the whole search.
    pub fn graph(&self) -> RwLockReadGuard<'_, Hnsw> {
        self.index.graph.read()
    }
}

/// What `stats()` reports about a space's graph in this process.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GraphStats {
    /// Whether this process has the graph ready in memory (searches scan until then).
    pub loaded: bool,
    /// Vectors in the graph.
    pub vectors: u64,
    /// Change-log sequence the graph covers.
    pub seq: u64,
    /// Change-log entries committed after `seq` (the graph's lag; searches
    /// score the vectors they changed exactly until a worker catches up).
    pub behind: u64,
    /// Times the sidecar was loaded, the graph caught up from the change log, or rebuilt.
    pub loads: u64,
    pub catch_ups: u64,
    pub rebuilds: u64,
    /// Searches that found the graph ready.
    pub hits: u64,
    /// Bytes the graph takes in memory.
    pub bytes: u64,
    /// Vectors removed or replaced (or inserted again, see [`add_all`])
    /// whose slots the graph still holds (searches walk through them; a
    /// rebuild drops them).
    pub deleted: u64,
    /// When this process last rebuilt the graph (ms since epoch).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_rebuild_at: Option<i64>,
}

/// Whether a step left work for another.
#[derive(PartialEq)]
enum Step {
    More,
    Done,
}

impl VectorIndexes {
    /// The graphs of the directory `store` holds, shared by every handle on it.
    pub fn of(store: &Store) -> &VectorIndexes {
        store.derived(|dir| VectorIndexes::new(dir.to_path_buf()))
    }

    pub fn new(dir: PathBuf) -> VectorIndexes {
        VectorIndexes { dir, spaces: Mutex::default(), busy: Arc::default() }
    }

    /// The ready graph of `space` with what it lacks up to `txn`, or `None`
    /// while it is being built (the search scans); starts the worker when
    /// the graph is missing or behind.
    pub fn current(&self, store: &Arc<Store>, txn: &RoTxn, t: &Tables, space: &Space, params: HnswParams) -> Result<Option<Current>> {
        let index = self.entry(space, params)?;
        if !index.ready.load(Ordering::Acquire) {
            self.start(store, &index);
            return Ok(None);
        }
        index.hits.fetch_add(1, Ordering::Relaxed);
        let pending = index.pending(txn, t)?;
        if !pending.is_empty() || index.due_for_save() {
            self.start(store, &index);
        }
        Ok(Some(Current { index, pending }))
    }

    /// Starts the worker of `space`'s graph after a write to it: always when
    /// `open`, else only when this process holds the graph.
    pub fn follow(&self, store: &Arc<Store>, space: &Space, params: HnswParams, open: bool) -> Result<()> {
        let held = self.spaces.lock().get(&space.id).cloned();
        match held {
            Some(index) => self.start(store, &index),
            None if open => self.start(store, &self.entry(space, params)?),
            None => {}
        }
        Ok(())
    }

    /// Builds or catches up the graph of every `hnsw` space among `spaces`
    /// on the calling thread, until each covers `store`'s last commit.
    pub fn settle(&self, store: &Arc<Store>, spaces: &[Space]) -> Result<()> {
        for space in spaces {
            let Some(params) = space.spec.hnsw() else { continue };
            let index = self.entry(space, params)?;
            while self.step(store, &index)? == Step::More {}
        }
        Ok(())
    }

    /// A counter of workers inside a step; `Database::close` waits on it.
    pub fn busy(&self) -> Arc<AtomicUsize> {
        Arc::clone(&self.busy)
    }

    /// The graph of `space` if this process has it, without loading it.
    pub fn stats(&self, txn: &RoTxn, t: &Tables, space: &Space) -> Result<Option<GraphStats>> {
        let Some(index) = self.spaces.lock().get(&space.id).cloned() else { return Ok(None) };
        let ready = index.ready.load(Ordering::Acquire);
        let graph = index.graph.read();
        let seq = index.seq.load(Ordering::Acquire);
        Ok(Some(GraphStats {
            loaded: ready,
            vectors: graph.len() as u64,
            seq,
            behind: committed_change_seq(txn, t)?.saturating_sub(seq),
            loads: index.loads.load(Ordering::Relaxed),
            catch_ups: index.catch_ups.load(Ordering::Relaxed),
            rebuilds: index.rebuilds.load(Ordering::Relaxed),
            hits: index.hits.load(Ordering::Relaxed),
            bytes: graph.memory_bytes() as u64,
            deleted: graph.retired(),
            last_rebuild_at: Some(index.last_rebuild_ms.load(Ordering::Relaxed)).filter(|&ms| ms > 0),
        }))
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

    /// Writes the sidecar of every ready graph that changed since it was last saved.
    fn save_all(&self) -> Result<()> {
        let open: Vec<Arc<SpaceIndex>> = self.spaces.lock().values().cloned().collect();
        for index in open {
            index.save(&self.dir)?;
        }
        Ok(())
    }

    /// The graph this process keeps for `space`, registered (empty, not
    /// ready) on first use.
    fn entry(&self, space: &Space, params: HnswParams) -> Result<Arc<SpaceIndex>> {
        let mut spaces = self.spaces.lock();
        if let Some(index) = spaces.get(&space.id) {
            return Ok(Arc::clone(index));
        }
        // A graph under this name with another id is of a space since dropped or replaced.
        spaces.retain(|_, other| other.space.name != space.name);
        let index = Arc::new(SpaceIndex::new(space, params)?);
        spaces.insert(space.id, Arc::clone(&index));
        Ok(index)
    }

    fn holds(&self, index: &Arc<SpaceIndex>) -> bool {
        self.spaces.lock().get(&index.space.id).is_some_and(|held| Arc::ptr_eq(held, index))
    }

    /// Starts a worker for `index` unless one runs. Best effort: without a
    /// thread, searches go on scanning what the graph lacks.
    fn start(&self, store: &Arc<Store>, index: &Arc<SpaceIndex>) {
        if index.working.swap(true, Ordering::AcqRel) {
            return;
        }
        let (store, index, busy) = (Arc::downgrade(store), Arc::clone(index), self.busy());
        let worker = Arc::clone(&index);
        let spawned = std::thread::Builder::new().name("loomdb-hnsw".into()).spawn(move || work(&store, &worker, &busy));
        if spawned.is_err() {
            index.working.store(false, Ordering::Release);
        }
    }

    /// One bounded step of building or catching up `index` in a snapshot of `store`.
    fn step(&self, store: &Arc<Store>, index: &Arc<SpaceIndex>) -> Result<Step> {
        if !self.holds(index) {
            return Ok(Step::Done);
        }
        let _stepping = index.stepping.lock();
        let step = store.read(|txn, t| {
            if !index.ready.load(Ordering::Acquire) {
                index.build(txn, t, &self.dir)
            } else {
                index.catch_up(txn, t)
            }
        })?;
        if step == Step::Done && index.due_for_save() {
            index.save(&self.dir)?;
        }
        Ok(step)
    }
}

/// A worker's life: steps while the store is open and work is left, each
/// holding the store only while it runs.
fn work(store: &Weak<Store>, index: &Arc<SpaceIndex>, busy: &AtomicUsize) {
    loop {
        busy.fetch_add(1, Ordering::AcqRel);
        let step = store.upgrade().map(|store| {
            // Best effort, like the save at close: a failed step leaves the
            // graph as it was and searches keep scanning what it lacks.
            let step = VectorIndexes::of(&store).step(&store, index).unwrap_or(Step::Done);
            drop(store);
            step
        });
        busy.fetch_sub(1, Ordering::AcqRel);
        if step != Some(Step::More) {
            index.working.store(false, Ordering::Release);
            return;
        }
    }
}

impl Drop for VectorIndexes {
    fn drop(&mut self) {
        // Best effort: a sidecar that is not written is rebuilt or caught up next time.
        let _ = self.save_all();
    }
}

impl SpaceIndex {
    fn new(space: &Space, params: HnswParams) -> Result<SpaceIndex> {
        Ok(SpaceIndex {
            space: space.clone(),
            params,
            header: (space.id, fingerprint(space, params)),
            graph: RwLock::new(Hnsw::new(space.spec.dimensions as usize, space.spec.metric, params)?),
            seq: AtomicU64::new(0),
            ready: AtomicBool::new(false),
            rebuilding: Mutex::new(None),
            check_size: AtomicBool::new(false),
            stepping: Mutex::new(()),
            working: AtomicBool::new(false),
            saved_seq: AtomicU64::new(0),
            unsaved: AtomicU64::new(0),
            last_save: Mutex::new(Instant::now()),
            saving: Mutex::new(()),
            rebuilt: AtomicBool::new(false),
            loads: AtomicU64::new(0),
            catch_ups: AtomicU64::new(0),
            rebuilds: AtomicU64::new(0),
            hits: AtomicU64::new(0),
            last_rebuild_ms: AtomicI64::new(0),
        })
    }

    /// The nodes of this space whose embedding changed after the covered
    /// sequence, up to `txn`'s, sorted.
    fn pending(&self, txn: &RoTxn, t: &Tables) -> Result<Vec<u64>> {
        let from = self.seq.load(Ordering::Acquire);
        let target = committed_change_seq(txn, t)?;
        Ok(self.changed(txn, t, from, target, usize::MAX)?.0.into_iter().collect())
    }

    /// The nodes whose embedding in this space changed in `(from, to]`, at
    /// most `most` of them (then stopping early), and the sequence read through.
    fn changed(&self, txn: &RoTxn, t: &Tables, from: u64, to: u64, most: usize) -> Result<(BTreeSet<u64>, u64)> {
        let mut changed = BTreeSet::new();
        if from >= to {
            return Ok((changed, from));
        }
        let (low, high) = (u64_key(from + 1), u64_key(to));
        let bounds: (Bound<&[u8]>, Bound<&[u8]>) = (Bound::Included(&low), Bound::Included(&high));
        let mut through = to;
        for entry in t.changes.range(txn, &bounds)? {
            let (k, v) = entry?;
            let seq = read_u64_be(k);
            if changed.len() >= most {
                through = seq - 1;
                break;
            }
            let payload = unseal(k, v, || format!("change-log entry #{seq}"))?;
            if payload.len() != 13 {
                return Err(Error::corruption(format!("change-log entry #{seq} has {} bytes", payload.len())));
            }
            let kind = payload[0];
            let space_id = u32::from_le_bytes(payload[9..13].try_into().expect("4 bytes"));
            if space_id == self.space.id && (kind == Change::EmbeddingPut as u8 || kind == Change::EmbeddingDelete as u8) {
                changed.insert(u64::from_le_bytes(payload[1..9].try_into().expect("8 bytes")));
            }
        }
        Ok((changed, through))
    }

    /// One step of catching up: replays at most [`STEP`] changed vectors
    /// from the covered sequence towards `txn`'s.
    fn catch_up(&self, txn: &RoTxn, t: &Tables) -> Result<Step> {
        let target = committed_change_seq(txn, t)?;
        let from = self.seq.load(Ordering::Acquire);
        if from >= target {
            return self.checked_size(txn, t);
        }
        let (changed, through) = self.changed(txn, t, from, target, STEP)?;
        let mut puts = Vec::new();
        let mut graph = self.graph.write();
        for &node in &changed {
            let key = keys::embedding(self.space.id, node);
            match t.embeddings.get(txn, &key)? {
                Some(v) => puts.push((node, unseal_vector(&key, v)?)),
                None => graph.remove(node)?,
            }
        }
        add_all(&mut graph, &puts)?;
        self.unsaved.fetch_add(changed.len() as u64, Ordering::Relaxed);
        self.seq.store(through, Ordering::Release);
        self.catch_ups.fetch_add(1, Ordering::Relaxed);
        if graph.retired() > (graph.len() as u64 / RETIRED_SHARE).max(RETIRED_LEAST) {
            self.rebuild_from_table(&mut graph, txn, t)?;
        }
        Ok(Step::More)
    }

    /// Once a loaded graph covers the last commit: a graph of another size
    /// than the space is dropped and rebuilt.
    fn checked_size(&self, txn: &RoTxn, t: &Tables) -> Result<Step> {
        if !self.check_size.swap(false, Ordering::AcqRel) || self.graph.read().len() as u64 == space_count(txn, t, self.space.id)? {
            return Ok(Step::Done);
        }
        self.rebuild_from_table(&mut self.graph.write(), txn, t)?;
        Ok(Step::More)
    }

    /// Drops a ready graph that is found wanting; the next steps rebuild it
    /// from the embeddings table, not from the sidecar, which it came from
    /// or outgrew (reloading that would find it wanting again, forever).
    fn rebuild_from_table(&self, graph: &mut Hnsw, txn: &RoTxn, t: &Tables) -> Result<()> {
        *self.rebuilding.lock() = Some(self.emptied(graph, txn, t)?);
        self.ready.store(false, Ordering::Release);
        Ok(())
    }

    /// Empties `graph` with room for the space's vectors: the state of a
    /// rebuild starting in `txn`'s snapshot.
    fn emptied(&self, graph: &mut Hnsw, txn: &RoTxn, t: &Tables) -> Result<(u64, Vec<u8>)> {
        *graph = self.empty()?;
        graph.reserve(space_count(txn, t, self.space.id)? as usize)?;
        Ok((committed_change_seq(txn, t)?, Vec::new()))
    }

    fn empty(&self) -> Result<Hnsw> {
        Hnsw::new(self.space.spec.dimensions as usize, self.space.spec.metric, self.params)
    }

    /// One step of making the graph ready: loading the sidecar (first step,
    /// when usable) or adding the next [`STEP`] vectors of a rebuild.
    fn build(&self, txn: &RoTxn, t: &Tables, dir: &Path) -> Result<Step> {
        let mut rebuilding = self.rebuilding.lock();
        let (since, after) = match rebuilding.take() {
            Some(state) => state,
            None => {
                let path = sidecar_path(dir, &self.space.name);
                let dims = self.space.spec.dimensions as usize;
                let vectors = space_count(txn, t, self.space.id)?;
                if let Ok(Some((graph, h))) = Hnsw::load(&path, dims, self.space.spec.metric, self.params, self.header, vectors) {
                    if log_reaches(txn, t, h.seq)? {
                        *self.graph.write() = graph;
                        self.seq.store(h.seq, Ordering::Release);
                        self.saved_seq.store(h.seq, Ordering::Release);
                        self.check_size.store(true, Ordering::Release);
                        self.loads.fetch_add(1, Ordering::Relaxed);
                        self.ready.store(true, Ordering::Release);
                        return Ok(Step::More);
                    }
                }
                // Absent, unreadable, for another spec, or older than the log: rebuild.
                self.emptied(&mut self.graph.write(), txn, t)?
            }
        };
        let prefix = self.space.id.to_be_bytes();
        let mut items = Vec::with_capacity(STEP);
        let low: Bound<&[u8]> = if after.is_empty() { Bound::Included(&prefix) } else { Bound::Excluded(&after) };
        for entry in t.embeddings.range(txn, &(low, Bound::Unbounded))? {
            let (key, v) = entry?;
            if !key.starts_with(&prefix) || items.len() == STEP {
                break;
            }
            items.push((read_u64_be(&key[4..]), unseal_vector(key, v)?));
        }
        let last = items.last().map(|&(node, _)| keys::embedding(self.space.id, node));
        add_all(&mut self.graph.write(), &items)?;
        self.unsaved.fetch_add(items.len() as u64, Ordering::Relaxed);
        match last {
            Some(last) if items.len() == STEP => *rebuilding = Some((since, last.to_vec())),
            _ => {
                // Every vector of the first snapshot is in; later changes
                // (some already added from newer snapshots) are replayed from `since`.
                self.seq.store(since, Ordering::Release);
                self.saved_seq.store(u64::MAX, Ordering::Release);
                self.rebuilt.store(true, Ordering::Release);
                self.rebuilds.fetch_add(1, Ordering::Relaxed);
                self.last_rebuild_ms.store(crate::now_ms(), Ordering::Relaxed);
                self.ready.store(true, Ordering::Release);
            }
        }
        Ok(Step::More)
    }

    fn due_for_save(&self) -> bool {
        let unsaved = self.unsaved.load(Ordering::Relaxed);
        let size = self.graph.read().len() as u64;
        unsaved >= SAVE_AFTER.max(size / 4) && self.last_save.lock().elapsed() >= SAVE_EVERY && self.saving.try_lock().is_some()
    }

    /// Writes the sidecar if the graph is ready, moved since the last save
    /// and the file there does not already cover a later sequence.
    fn save(&self, dir: &Path) -> Result<()> {
        let _saving = self.saving.lock();
        *self.last_save.lock() = Instant::now();
        let graph = self.graph.read();
        let seq = self.seq.load(Ordering::Acquire);
        if !self.ready.load(Ordering::Acquire) || self.saved_seq.load(Ordering::Acquire) == seq {
            return Ok(());
        }
        let path = sidecar_path(dir, &self.space.name);
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
///
/// usearch's concurrent insertion can leave a node stored but unreachable
/// (unum-cloud/USearch#735, about 1 in 1,000 on two threads), so after a
/// parallel insertion every node is looked up by its own vector, and those
/// not found are inserted again, one at a time (sequential insertion links
/// them properly; the stranded copy is retired).
fn add_all(graph: &mut Hnsw, items: &[(u64, &[u8])]) -> Result<()> {
    graph.reserve(items.len())?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(crate::vector::hnsw::SLOTS);
    if items.len() < PARALLEL_FROM || threads == 1 {
        return items.iter().try_for_each(|item| put_one(graph, item, &mut Vec::new()));
    }
    let graph_ref = &*graph;
    let stranded = Mutex::new(Vec::new());
    on_threads(threads, items, |item, buf| put_one(graph_ref, item, buf))?;
    on_threads(threads, items, |item @ (node, bytes), buf| {
        vectors::decode_into(bytes, buf)?;
        if !graph_ref.search(buf, FOUND_WITHIN, FOUND_WITHIN, None)?.contains(node) {
            stranded.lock().push(*item);
        }
        Ok(())
    })?;
    let stranded = stranded.into_inner();
    graph.reserve(stranded.len())?;
    stranded.iter().try_for_each(|item| put_one(graph, item, &mut Vec::new()))
}

/// How many of its own nearest a node just inserted must be among to
/// count as reachable (a few, for duplicate vectors).
const FOUND_WITHIN: usize = 16;

fn put_one(graph: &Hnsw, (node, bytes): &(u64, &[u8]), buf: &mut Vec<f32>) -> Result<()> {
    vectors::decode_into(bytes, buf)?;
    graph.put(*node, buf)
}

/// Runs `f` on every item, spread over `threads` threads, each with its
/// own scratch buffer; the first error wins.
fn on_threads<'a>(threads: usize, items: &'a [(u64, &'a [u8])], f: impl Fn(&'a (u64, &'a [u8]), &mut Vec<f32>) -> Result<()> + Sync) -> Result<()> {
    let next = AtomicUsize::new(0);
    let work = || -> Result<()> {
        let mut buf = Vec::new();
        while let Some(item) = items.get(next.fetch_add(1, Ordering::Relaxed)) {
            f(item, &mut buf)?;
        }
        Ok(())
    };
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads).map(|_| s.spawn(work)).collect();
        workers.into_iter().try_for_each(|w| w.join().unwrap_or_else(|_| Err(Error::internal("an HNSW thread panicked"))))
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
    /// The ready HNSW graph of `space` with what it lacks up to `txn`;
    /// `None` for a `flat` space, while the graph is being built, and inside
    /// a transaction (the graph holds committed data only).
    pub(crate) fn graph_of(&self, txn: &RoTxn, t: &Tables, space: &Space) -> Result<Option<Current>> {
        match space.spec.hnsw() {
            Some(params) if !self.is_transaction() => VectorIndexes::of(self.store()).current(self.store(), txn, t, space, params),
            _ => Ok(None),
        }
    }

    /// Starts the graph workers of the spaces `names` after a commit wrote
    /// vectors to them: of every `hnsw` one when `open`, else of those whose
    /// graph this process holds (it searched them), so a process that only
    /// writes never builds a graph.
    pub(crate) fn follow_spaces(&self, names: &HashSet<&str>, open: bool) -> Result<()> {
        if self.is_transaction() || names.is_empty() {
            return Ok(());
        }
        let spaces = self.read(|txn, t| names.iter().filter_map(|name| find_space(txn, t, name).transpose()).collect::<Result<Vec<_>>>())?;
        for space in spaces {
            if let Some(params) = space.spec.hnsw() {
                VectorIndexes::of(self.store()).follow(self.store(), &space, params, open)?;
            }
        }
        Ok(())
    }

    /// Builds or catches up, on this thread, the HNSW graph of every space
    /// until each covers the last commit. Searches never need this (they
    /// scan what a graph lacks while a background worker catches it up);
    /// it moves that work before a phase where search speed matters.
    pub fn catch_up_indexes(&self) -> Result<()> {
        let spaces = self.read(list_spaces)?;
        VectorIndexes::of(self.store()).settle(self.store(), &spaces)
    }

    /// Ends this handle and, when it was the last one in this process
    /// besides the vector index workers, waits (up to `busy_timeout`) until
    /// none of them holds the directory open, so another process can take
    /// it exclusively right after.
    pub fn close(self) {
        let store = Arc::downgrade(self.store());
        let busy = VectorIndexes::of(self.store()).busy();
        let deadline = Instant::now() + self.busy_timeout();
        drop(self);
        while busy.load(Ordering::Acquire) > 0 && store.strong_count() <= busy.load(Ordering::Acquire) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
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
            db.catch_up_indexes().unwrap();
            assert_eq!(search(&db), 3);
            assert_eq!(db.stats().unwrap().spaces[0].graph.as_ref().map(|g| (g.loads, g.rebuilds)), Some((1, 0)));
            db.insert_embedding("n1", "s", &[5.0, 5.0]).unwrap();
            db.catch_up_indexes().unwrap();
            assert_eq!(search(&db), 3);
            // Meanwhile another process saved a graph covering later changes.
            claim(saved + 1000);
            db.close();
        }
        assert_eq!(read_header(&path).unwrap().seq, saved + 1000, "the newer file stays");
        {
            // A file ahead of the database itself (another copy's) is rebuilt over.
            let db = Database::open(dir.path(), OpenOptions::default()).unwrap();
            db.catch_up_indexes().unwrap();
            assert_eq!(search(&db), 3);
            assert_eq!(db.stats().unwrap().spaces[0].graph.as_ref().map(|g| g.rebuilds), Some(1));
            db.close();
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
            db.catch_up_indexes().unwrap();
            let found = search(&db);
            let rebuilds = db.stats().unwrap().spaces[0].graph.as_ref().map(|g| g.rebuilds);
            db.close();
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
            db.catch_up_indexes().unwrap();
            db.close();
        }
        assert!(read_header(&path).is_some(), "saved at close");
        (dir, path)
    }

    #[test]
    fn a_loaded_graph_of_another_size_than_the_space_is_rebuilt_once() {
        let (dir, path) = with_sidecar();
        // The retired count is outside the checksum: one claimed too many leaves the graph one vector short.
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[32..40].copy_from_slice(&1u64.to_le_bytes());
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(open_and_search(dir.path()), (3, Some(1)));
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

    /// `n` nodes `n{i}` of type `T` with 8-d vectors `vector(i)` in hnsw space `s`, written without a search.
    fn written(dir: &std::path::Path, n: usize, vector: impl Fn(usize) -> Vec<f32>) -> Database {
        let db = Database::open(dir, OpenOptions::default()).unwrap();
        let spec = SpaceSpec { dimensions: 8, metric: Metric::L2, index: None, m: Some(8), ef_construction: Some(32), ef: Some(32), embedder: None };
        db.ensure_space("s", &spec).unwrap();
        let nodes: Vec<NewNode> = (0..n).map(|i| NewNode { id: format!("n{i}"), node_type: "T".into(), properties: "{}".into() }).collect();
        let embeddings = (0..n).map(|i| (format!("n{i}"), "s".to_owned(), vector(i))).collect();
        db.write_batch(&crate::WriteBatch { insert_nodes: nodes, insert_embeddings: embeddings, ..Default::default() }, None, 1).unwrap();
        db
    }

    /// [`written`] with node `i` at `i` on the first axis.
    fn unsearched(dir: &std::path::Path, n: usize) -> Database {
        written(dir, n, |i| [vec![i as f32], vec![0.0; 7]].concat())
    }

    /// [`written`] with node `i` at `spread(i, 0)`.
    fn spread_out(dir: &std::path::Path, n: usize) -> Database {
        written(dir, n, |i| spread(i, 0))
    }

    fn ids(db: &Database, at: &[f32], request: &SearchRequest) -> Vec<String> {
        db.search("s", at, request).unwrap().into_iter().map(|h| h.id).collect()
    }

    fn nearest(db: &Database, at: f32, k: usize) -> Vec<String> {
        ids(db, &[vec![at], vec![0.0; 7]].concat(), &SearchRequest { k, ..SearchRequest::default() })
    }

    fn graph(db: &Database) -> super::GraphStats {
        db.stats().unwrap().spaces[0].graph.clone().unwrap()
    }

    #[test]
    fn a_search_never_builds_the_graph_a_worker_does_and_then_it_is_used() {
        let dir = tempfile::tempdir().unwrap();
        let db = unsearched(dir.path(), 20_000);
        assert_eq!(graph(&db), super::GraphStats::default(), "a process that only writes holds no graph");
        // The first search scans exactly (the graph is not ready) and starts the worker.
        assert_eq!(nearest(&db, 7_000.2, 3), ["n7000", "n7001", "n6999"]);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !graph(&db).loaded {
            assert!(std::time::Instant::now() < deadline, "the worker builds the graph");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let built = graph(&db);
        assert_eq!((built.vectors, built.rebuilds, built.behind), (20_000, 1, 0));
        assert_eq!(nearest(&db, 7_000.2, 1), ["n7000"]);
        assert_eq!(graph(&db).hits, 1);
    }

    #[test]
    fn a_graph_behind_the_last_commit_answers_with_the_vectors_it_lacks() {
        let dir = tempfile::tempdir().unwrap();
        let db = unsearched(dir.path(), 3_000);
        db.catch_up_indexes().unwrap();
        let space = db.read(|txn, t| crate::vector::catalog::require_space(txn, t, "s")).unwrap();
        let index = super::VectorIndexes::of(db.store()).entry(&space, space.spec.hnsw().unwrap()).unwrap();
        // Hold the worker off: every change below stays pending.
        let stepping = index.stepping.lock();
        db.insert_embedding("n5", "s", &[-500.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]).unwrap();
        db.delete_node("n2000").unwrap();
        db.insert_nodes(&[NewNode { id: "new".into(), node_type: "T".into(), properties: "{}".into() }], 1).unwrap();
        db.insert_embedding("new", "s", &[2_000.1, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]).unwrap();
        assert!(graph(&db).loaded && graph(&db).behind >= 3, "{:?}", graph(&db));
        assert_eq!(nearest(&db, -400.0, 1), ["n5"], "a moved vector is found where it is now");
        assert_eq!(nearest(&db, 2_000.0, 2), ["new", "n1999"], "a new vector is found, a deleted one is not");
        assert!(!nearest(&db, 5.0, 5).contains(&"n5".to_owned()), "a moved vector is not found where it was");
        drop(stepping);
        db.catch_up_indexes().unwrap();
        assert_eq!((graph(&db).behind, graph(&db).vectors), (0, 3_000));
        assert_eq!(nearest(&db, 2_000.0, 2), ["new", "n1999"]);
    }

    /// A reproducible 8-d vector in `[0, 100)^8` (a line of points would
    /// do, but concurrent insertion of neighbouring points on a line can
    /// leave one unlinked, which spread-out data does not suffer).
    fn spread(node: usize, round: usize) -> Vec<f32> {
        let mut x = (node as u64 * 31 + round as u64) * 0x9E37_79B9_7F4A_7C15;
        (0..8).map(|_| {
            x ^= x >> 29;
            x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
            (x >> 40) as f32 / (1u64 << 24) as f32 * 100.0
        }).collect()
    }

    fn nearest_to(db: &Database, at: &[f32], k: usize) -> Vec<String> {
        ids(db, at, &SearchRequest { k, ef: Some(64), ..SearchRequest::default() })
    }

    /// Without the second pass of [`add_all`], about 1 in 1,000 vectors
    /// added on two threads cannot be found even by its own value; with
    /// it, at most 1 in 10,000 (sequential HNSW insertion can strand one
    /// too, very rarely).
    #[test]
    fn every_vector_added_in_parallel_is_found_by_its_own_value() {
        let params = super::HnswParams { m: 8, ef_construction: 32, ef: 32 };
        let lost: Vec<(usize, usize)> = (0..10).flat_map(|round| {
            let vectors: Vec<Vec<u8>> = (0..3_000).map(|i| spread(i, round).iter().flat_map(|x| x.to_le_bytes()).collect()).collect();
            let items: Vec<(u64, &[u8])> = vectors.iter().enumerate().map(|(i, v)| (i as u64, &v[..])).collect();
            let mut graph = super::Hnsw::new(8, Metric::L2, params).unwrap();
            super::add_all(&mut graph, &items).unwrap();
            assert_eq!(graph.len(), 3_000);
            (0..3_000).filter(|&i| graph.search(&spread(i, round), 1, 64, None).unwrap() != [i as u64]).map(|i| (round, i)).collect::<Vec<_>>()
        }).collect();
        assert!(lost.len() <= 3, "lost (round, node) of 30,000: {lost:?}");
    }

    #[test]
    fn replaced_vectors_are_stepped_over_until_a_rebuild_drops_them() {
        let dir = tempfile::tempdir().unwrap();
        let db = spread_out(dir.path(), 3_000);
        db.catch_up_indexes().unwrap();
        // Copies of vectors parallel insertion stranded and re-inserted.
        let stranded = graph(&db).deleted;
        let moved = |batch: usize| {
            let embeddings = (batch * 200..(batch + 1) * 200).map(|i| (format!("n{i}"), "s".to_owned(), spread(i, 1))).collect();
            db.write_batch(&crate::WriteBatch { insert_embeddings: embeddings, ..Default::default() }, None, 1).unwrap();
            db.catch_up_indexes().unwrap();
        };
        moved(0);
        assert_eq!((graph(&db).vectors, graph(&db).deleted - stranded, graph(&db).rebuilds), (3_000, 200, 1));
        for i in [0, 77, 199] {
            assert_eq!(nearest_to(&db, &spread(i, 1), 1), [format!("n{i}")], "a replaced vector is found where it is now");
            assert!(!nearest_to(&db, &spread(i, 0), 3).contains(&format!("n{i}")), "and not where it was");
        }
        (1..5).for_each(moved);
        assert_eq!((graph(&db).deleted - stranded, graph(&db).rebuilds), (1_000, 1));
        moved(5);
        assert_eq!((graph(&db).vectors, graph(&db).rebuilds), (3_000, 2), "past a quarter of the graph and 1,024: a rebuild");
        assert!(graph(&db).deleted < 300, "which drops the retired entries (but for new strandings)");
        assert_eq!(nearest_to(&db, &spread(1_100, 1), 1), ["n1100"]);
    }

    #[test]
    fn a_graph_rebuilt_for_its_retired_entries_is_built_from_the_table_not_the_sidecar() {
        let dir = tempfile::tempdir().unwrap();
        let db = spread_out(dir.path(), 3_000);
        db.catch_up_indexes().unwrap();
        db.close();
        let path = dir.path().to_path_buf();
        let (vectors, retired_few, loads, rebuilds) = within_30s(move || {
            let db = Database::open(&path, OpenOptions::default()).unwrap();
            db.catch_up_indexes().unwrap();
            let embeddings = (0..1_200).map(|i| (format!("n{i}"), "s".to_owned(), spread(i, 1))).collect();
            db.write_batch(&crate::WriteBatch { insert_embeddings: embeddings, ..Default::default() }, None, 1).unwrap();
            db.catch_up_indexes().unwrap();
            let g = graph(&db);
            (g.vectors, g.deleted < 300, g.loads, g.rebuilds)
        });
        assert_eq!((vectors, retired_few, loads, rebuilds), (3_000, true, 1, 1), "loaded once from the sidecar, then rebuilt once");
    }

    #[test]
    fn close_waits_until_no_worker_holds_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let db = unsearched(dir.path(), 30_000);
        nearest(&db, 1.0, 1);
        assert!(!graph(&db).loaded, "the worker is still building");
        db.close();
        assert!(!crate::storage::store::Store::is_open_here(dir.path()), "closed in this process once close returns");
    }

}

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
//!   process goes away, never half: see `hnsw::Hnsw::save`.

use crate::codec::{open as unseal, read_u64_be, u64_key};
use crate::database::{space_count, Change};
use crate::error::{Error, Result};
use crate::hnsw::{sidecar_path, Hnsw, SidecarHeader};
use crate::keys;
use crate::store::Tables;
use crate::vectors::{self, HnswParams, Space};
use crate::writing::committed_change_seq;
use heed::RoTxn;
use parking_lot::{Mutex, RwLock, RwLockReadGuard};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};
use std::ops::Bound;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

/// Below this many vectors to add, a catch-up adds on the calling thread.
const PARALLEL_FROM: usize = 256;

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
    loads: AtomicU64,
    catch_ups: AtomicU64,
    rebuilds: AtomicU64,
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
}

impl VectorIndexes {
    pub fn new(dir: PathBuf) -> VectorIndexes {
        VectorIndexes { dir, spaces: Mutex::default() }
    }

    /// The graph of `space`, opened if needed and caught up to `txn`.
    pub fn current(&self, txn: &RoTxn, t: &Tables, space: &Space, params: HnswParams) -> Result<Arc<SpaceIndex>> {
        let index = self.open(txn, t, space, params)?;
        index.catch_up(txn, t, space)?;
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
        })
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
            return Ok(Arc::clone(index));
        }
        let header = (space.id, fingerprint(space, params));
        let dims = space.spec.dimensions as usize;
        let path = sidecar_path(&self.dir, &space.name);
        let loaded = match Hnsw::load(&path, dims, space.spec.metric, params, header) {
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
            loads: AtomicU64::new(0),
            catch_ups: AtomicU64::new(0),
            rebuilds: AtomicU64::new(0),
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
        let mut puts = Vec::new();
        for node in changed {
            let key = keys::embedding(space.id, node);
            match t.embeddings.get(txn, &key)? {
                Some(v) => puts.push((node, unseal_vector(&key, v)?)),
                None => graph.remove(node)?,
            }
        }
        add_all(&mut graph, &puts)?;
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
        self.seq.store(committed_change_seq(txn, t)?, Ordering::Release);
        self.saved_seq.store(u64::MAX, Ordering::Release);
        self.rebuilds.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Writes the sidecar if the graph moved since the last save.
    fn save(&self, dir: &std::path::Path) -> Result<()> {
        let graph = self.graph.read();
        let seq = self.seq.load(Ordering::Acquire);
        if self.saved_seq.load(Ordering::Acquire) == seq {
            return Ok(());
        }
        graph.save(&sidecar_path(dir, &self.name), SidecarHeader { space_id: self.header.0, fingerprint: self.header.1, seq })?;
        self.saved_seq.store(seq, Ordering::Release);
        Ok(())
    }
}

/// The stored bytes of a vector (unaligned, inside the LMDB map).
fn unseal_vector<'a>(key: &[u8], v: &'a [u8]) -> Result<&'a [u8]> {
    let bytes = unseal(key, v, || format!("embedding key {}", crate::codec::hex(key)))?;
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
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(crate::hnsw::SLOTS);
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
    let scalar = crate::hnsw::scalar_kind(space.spec.metric);
    let text = format!("{}|{:?}|{:?}|{}|{}", space.spec.dimensions, space.spec.metric, scalar, params.m, params.ef_construction);
    xxhash_rust::xxh3::xxh3_64(text.as_bytes())
}

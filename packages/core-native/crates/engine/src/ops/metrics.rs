//! `db.metrics()`: the operation counters and latencies recorded in
//! `storage::metrics`, with storage figures, vector index health and cache
//! use gathered at the time of the call.
//!
//! Invariant: reading the report writes nothing and loads no graph (a space
//! whose graph this process has not opened reports an empty one).

use crate::storage::handle::Database;
use crate::storage::metrics::OpStats;
use crate::vector::catalog::list_spaces;
use crate::vector::index::VectorIndexes;
use serde::Serialize;

/// `db.metrics()`: operations, storage, caches.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub uptime_s: f64,
    pub operations: Vec<OpStats>,
    pub storage: crate::storage::store::Usage,
    /// LMDB reader slots in use across all processes.
    pub readers: u32,
    /// Vector index sidecar files and their sizes.
    pub sidecars: Vec<Sidecar>,
    /// Health of each space's HNSW graph in this process (size, deleted entries, rebuilds).
    pub vector_indexes: Vec<VectorIndexHealth>,
    /// What is cached, with hits and misses: the OS page cache under the
    /// memory-mapped data file (reads go straight to it), and each space's
    /// HNSW graph held in this process.
    pub caches: Vec<Cache>,
}

#[derive(Debug, Clone, Serialize)]
pub struct VectorIndexHealth {
    pub space: String,
    #[serde(flatten)]
    pub graph: crate::vector::index::GraphStats,
}

#[derive(Debug, Clone, Serialize)]
pub struct Sidecar {
    pub name: String,
    pub bytes: u64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cache {
    pub name: String,
    pub hits: u64,
    pub misses: u64,
    /// Bytes it holds now.
    pub bytes: u64,
}

/// The OS page cache as this process sees it: hits are minor page faults
/// (a page found in memory), misses major ones (read from disk), both of
/// the whole process since it started; `bytes` is how much of `data` is
/// resident now (`mincore`).
fn page_cache(data: &std::path::Path) -> Cache {
    // SAFETY: getrusage fills the struct it is given.
    let usage = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut u);
        u
    };
    Cache { name: "os-page-cache".into(), hits: usage.ru_minflt as u64, misses: usage.ru_majflt as u64, bytes: resident_bytes(data).unwrap_or(0) }
}

/// Bytes of `path` in the page cache: a private read-only map of it, asked with `mincore`.
fn resident_bytes(path: &std::path::Path) -> std::io::Result<u64> {
    use std::os::fd::AsRawFd;
    let file = std::fs::File::open(path)?;
    let len = file.metadata()?.len() as usize;
    if len == 0 {
        return Ok(0);
    }
    // SAFETY: a fresh read-only mapping of `len` bytes of an open file, unmapped before returning.
    unsafe {
        let page = libc::sysconf(libc::_SC_PAGESIZE) as usize;
        let map = libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ, libc::MAP_SHARED, file.as_raw_fd(), 0);
        if map == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        let mut vec = vec![0u8; len.div_ceil(page)];
        let ok = libc::mincore(map, len, vec.as_mut_ptr()) == 0;
        libc::munmap(map, len);
        if !ok {
            return Err(std::io::Error::last_os_error());
        }
        Ok(vec.iter().filter(|&&b| b & 1 == 1).count() as u64 * page as u64)
    }
}

impl Database {
    /// Operation counts and latencies since this process opened the
    /// database (all handles together), and storage figures.
    pub fn metrics(&self) -> crate::Result<Report> {
        let store = self.store();
        let mut sidecars = Vec::new();
        for entry in std::fs::read_dir(self.path())? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".hnsw") {
                sidecars.push(Sidecar { name, bytes: entry.metadata()?.len() });
            }
        }
        let vector_indexes: Vec<VectorIndexHealth> = self.read(|txn, t| {
            list_spaces(txn, t)?
                .into_iter()
                .filter(|s| s.spec.hnsw().is_some())
                .map(|s| Ok(VectorIndexHealth { graph: VectorIndexes::of(store).stats(txn, t, &s)?.unwrap_or_default(), space: s.name }))
                .collect::<crate::error::Result<_>>()
        })?;
        Ok(Report {
            uptime_s: store.metrics.uptime_s(),
            operations: store.metrics.snapshot(),
            storage: store.usage()?,
            readers: store.readers()?,
            sidecars,
            caches: std::iter::once(page_cache(&self.path().join("data.mdb")))
                .chain(vector_indexes.iter().filter(|v| v.graph.loaded).map(|v| Cache {
                    name: format!("vector-index:{}", v.space),
                    hits: v.graph.hits,
                    misses: v.graph.loads + v.graph.rebuilds,
                    bytes: v.graph.bytes,
                }))
                .collect(),
            vector_indexes,
        })
    }
}

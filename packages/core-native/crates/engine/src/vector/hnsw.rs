//! One HNSW graph over the vectors of one space (the `usearch` crate), and
//! the sidecar file it is saved in.
//!
//! Invariants:
//! - Keys are the engine's internal node ids (below [`RETIRED`]); a key is
//!   in the graph at most once.
//! - Removing or replacing a key never frees its slot: the entry is renamed
//!   to a retired key (`RETIRED | serial`) and stays a waypoint that
//!   searches walk through but never return. usearch would reuse a freed
//!   slot for the next insertion without unlinking it from its old
//!   neighbours, which leaves them pointing at a far-away vector and can cut
//!   the graph in two. Retired entries cost memory until a rebuild
//!   ([`Hnsw::retired`] tells the owner when).
//! - A cosine space stores its vectors L2-normalised as `f16` and searches
//!   by inner product: unit vectors fit `f16` safely, the ranking is the
//!   cosine one, and the walk moves half the bytes and a third of the
//!   arithmetic of `f32` cosine. `l2` and `dot` spaces store `f32`, since
//!   their vectors may have any magnitude. Callers re-rank hits with the
//!   exact stored vectors ([`crate::vector::space::Query`]), so every search path
//!   reports the same distances.
//! - `search`, `add` and `remove` take `&self` and may run on many threads
//!   at once; `reserve` takes `&mut self` because usearch reallocates then.
//!   At most [`SLOTS`] calls are inside usearch at a time (it keeps one
//!   search context per slot and fails a call that finds none free).
//! - A sidecar is `MAGIC ‖ header ‖ payload`; the header records the space
//!   id, the spec fingerprint, the change-log sequence the graph covers, the
//!   count of retired entries and an xxh3-64 of the payload. A file that
//!   fails any check is not loaded.

use crate::error::{Error, Result};
use crate::vector::space::{HnswParams, Metric};
use parking_lot::{Condvar, Mutex};
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::path::{Path, PathBuf};
use usearch::{Index, IndexOptions, MetricKind, ScalarKind};
use xxhash_rust::xxh3::xxh3_64;

/// Concurrent calls into one graph (usearch search contexts).
pub const SLOTS: usize = 64;

const MAGIC: &[u8; 8] = b"LOOMHNSW";
const FILE_VERSION: u32 = 2;
const HEADER_LEN: usize = 8 + 4 + 4 + 8 + 8 + 8 + 8 + 8;
/// The key bit of retired entries (node ids never reach it).
const RETIRED: u64 = 1 << 63;

/// What a sidecar says about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SidecarHeader {
    pub space_id: u32,
    /// Hash of everything that shapes the graph: dimensions, metric, M, efConstruction.
    pub fingerprint: u64,
    /// Every change-log entry up to this sequence is reflected in the graph.
    pub seq: u64,
}

pub struct Hnsw {
    index: Index,
    /// Cosine space: vectors and queries are normalised on the way in.
    normalise: bool,
    slots: Slots,
    /// Entries retired so far; the next one is `RETIRED | retired`.
    retired: AtomicU64,
}

impl std::fmt::Debug for Hnsw {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hnsw").field("len", &self.len()).finish()
    }
}

impl Hnsw {
    pub fn new(dimensions: usize, metric: Metric, params: HnswParams) -> Result<Hnsw> {
        let options = IndexOptions {
            dimensions,
            metric: match metric {
                Metric::Cosine | Metric::Dot => MetricKind::IP,
                Metric::L2 => MetricKind::L2sq,
            },
            quantization: scalar_kind(metric),
            connectivity: params.m as usize,
            expansion_add: params.ef_construction as usize,
            // Each query asks for max(k, ef) results (usearch searches with
            // max(expansion, wanted)), so the per-query ef is exact.
            expansion_search: 1,
            multi: false,
        };
        let index = Index::new(&options).map_err(|e| Error::internal(format!("cannot create an HNSW index: {e}")))?;
        let hnsw = Hnsw { index, normalise: metric == Metric::Cosine, slots: Slots::new(SLOTS), retired: AtomicU64::new(0) };
        hnsw.index.reserve_capacity_and_threads(0, SLOTS).map_err(internal)?;
        Ok(hnsw)
    }

    /// Live vectors (retired entries not counted).
    pub fn len(&self) -> usize {
        self.index.size() - self.retired() as usize
    }

    /// Entries removed or replaced whose slots the graph still holds.
    pub fn retired(&self) -> u64 {
        self.retired.load(Ordering::Acquire)
    }

    /// Bytes the graph and its vectors take in memory.
    pub fn memory_bytes(&self) -> usize {
        self.index.memory_usage()
    }

    /// Makes room for `additional` more vectors (with headroom, so repeated
    /// small additions do not reallocate each time).
    pub fn reserve(&mut self, additional: usize) -> Result<()> {
        let needed = self.index.size() + additional;
        if needed > self.index.capacity() {
            let target = needed.max(self.index.capacity() + self.index.capacity() / 2).max(64);
            self.index.reserve_capacity_and_threads(target, SLOTS).map_err(internal)?;
        }
        Ok(())
    }

    /// Inserts or replaces `key`'s vector; capacity must have been reserved
    /// (a replacement takes a new slot). `vector` may be scaled in place
    /// (cosine spaces).
    pub fn put(&self, key: u64, vector: &mut [f32]) -> Result<()> {
        if key & RETIRED != 0 {
            return Err(Error::internal(format!("HNSW key {key} is out of range")));
        }
        self.prepare(vector);
        let _slot = self.slots.enter();
        self.retire(key)?;
        self.index.add(key, vector).map_err(internal)
    }

    /// Unit length for a cosine space (a zero vector stays zero: distance 1 to everything, as cosine defines it here).
    fn prepare(&self, vector: &mut [f32]) {
        if self.normalise {
            let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
            if norm > 0.0 {
                vector.iter_mut().for_each(|x| *x /= norm);
            }
        }
    }

    /// Removes `key`; absent keys are fine.
    pub fn remove(&self, key: u64) -> Result<()> {
        let _slot = self.slots.enter();
        self.retire(key)
    }

    /// Renames `key`'s entry, if any, to the next retired key.
    fn retire(&self, key: u64) -> Result<()> {
        if self.index.contains(key) {
            let serial = self.retired.fetch_add(1, Ordering::AcqRel);
            self.index.rename(key, RETIRED | serial).map_err(internal)?;
        }
        Ok(())
    }

    /// Up to `count` nearest keys passing `allow`, nearest first (equal
    /// distances by key), searching with breadth `max(count, ef)`. `allow`
    /// must not panic.
    pub fn search(&self, query: &[f32], count: usize, ef: usize, allow: Option<&dyn Fn(u64) -> bool>) -> Result<Vec<u64>> {
        let mut prepared;
        let query = if self.normalise {
            prepared = query.to_vec();
            self.prepare(&mut prepared);
            &prepared[..]
        } else {
            query
        };
        let _slot = self.slots.enter();
        let wanted = count.max(ef);
        let matches = match allow {
            None => self.index.filtered_search(query, wanted, |key: u64| key & RETIRED == 0),
            Some(f) => self.index.filtered_search(query, wanted, |key: u64| key & RETIRED == 0 && f(key)),
        }
        .map_err(internal)?;
        // Equal distances in key order, as the exact scan ranks them.
        let mut found: Vec<(f32, u64)> = matches.distances.into_iter().zip(matches.keys).collect();
        found.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        Ok(found.into_iter().take(count).map(|(_, key)| key).collect())
    }

    /// Writes the graph to `path` atomically: a temporary file beside it,
    /// synced, then renamed over it.
    pub fn save(&self, path: &Path, header: SidecarHeader) -> Result<()> {
        let payload = {
            let _slot = self.slots.enter();
            let mut buf = vec![0u8; self.index.serialized_length()];
            self.index.save_to_buffer(&mut buf).map_err(internal)?;
            buf
        };
        let tmp = temp_path(path);
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(MAGIC)?;
            f.write_all(&FILE_VERSION.to_le_bytes())?;
            f.write_all(&header.space_id.to_le_bytes())?;
            f.write_all(&header.fingerprint.to_le_bytes())?;
            f.write_all(&header.seq.to_le_bytes())?;
            f.write_all(&self.retired().to_le_bytes())?;
            f.write_all(&(payload.len() as u64).to_le_bytes())?;
            f.write_all(&xxh3_64(&payload).to_le_bytes())?;
            f.write_all(&payload)?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            Error::new(crate::error::Code::Io, format!("cannot write vector index {}: {e}", path.display()))
        })
    }

    /// Reads a sidecar into a graph shaped by `dimensions`, `metric` and
    /// `params`, for a space that stores `vectors` vectors. `Ok(None)` when
    /// the file is absent; `Err` (with the reason) when it is truncated,
    /// damaged, was written for another space, is not a regular file (a
    /// FIFO, a device, a link to one: never opened for reading, so it cannot
    /// block or fill memory) or is larger than those vectors could need.
    pub fn load(path: &Path, dimensions: usize, metric: Metric, params: HnswParams, expect: (u32, u64), vectors: u64) -> Result<Option<(Hnsw, SidecarHeader)>> {
        let bad = |why: &str| Error::corruption(format!("vector index {} {why}", path.display()));
        let max_len = max_sidecar_bytes(dimensions, params, vectors);
        let bytes = match open_regular(path, max_len) {
            Ok(None) => return Ok(None),
            Ok(Some(file)) => read_at_most(file, max_len).map_err(|e| Error::new(crate::error::Code::Io, format!("cannot read {}: {e}", path.display())))?,
            Err(why) => return Err(bad(&why)),
        };
        if bytes.len() as u64 > max_len {
            return Err(bad(&format!("is larger than the {max_len} bytes its {vectors} vectors could need")));
        }
        let header = parse_header(&bytes).map_err(|why| bad(&why))?;
        let u64_at = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().expect("8 bytes"));
        if (header.space_id, header.fingerprint) != expect {
            return Err(bad("belongs to another space or spec"));
        }
        let (retired, len, sum) = (u64_at(32), u64_at(40), u64_at(48));
        let payload = &bytes[HEADER_LEN..];
        if payload.len() as u64 != len {
            return Err(bad(&format!("is truncated ({} of {len} payload bytes)", payload.len())));
        }
        if xxh3_64(payload) != sum {
            return Err(bad("fails its checksum"));
        }
        let hnsw = Hnsw::new(dimensions, metric, params)?;
        hnsw.index.load_from_buffer(payload).map_err(|e| bad(&format!("cannot be loaded: {e}")))?;
        if hnsw.index.dimensions() != dimensions {
            return Err(bad("has other dimensions"));
        }
        if retired > hnsw.index.size() as u64 {
            return Err(bad(&format!("claims {retired} retired entries of {}", hnsw.index.size())));
        }
        hnsw.retired.store(retired, Ordering::Release);
        hnsw.index.change_expansion_search(1);
        hnsw.index.reserve_capacity_and_threads(hnsw.index.size(), SLOTS).map_err(internal)?;
        Ok(Some((hnsw, header)))
    }
}

/// The header of the sidecar at `path`, if there is a readable one.
pub fn read_header(path: &Path) -> Option<SidecarHeader> {
    use std::io::Read;
    let mut head = [0u8; HEADER_LEN];
    open_regular(path, u64::MAX).ok()??.read_exact(&mut head).ok()?;
    parse_header(&head).ok()
}

/// The most bytes a sidecar of `vectors` vectors can take, with room to
/// spare: each vector at 4 bytes a dimension plus its neighbour lists on
/// every level it could plausibly reach, doubled, plus a fixed allowance.
/// A larger file is not one of ours; rebuilding costs less than reading it.
fn max_sidecar_bytes(dimensions: usize, params: HnswParams, vectors: u64) -> u64 {
    let per_vector = dimensions as u64 * 4 + 16 * (params.m as u64 + 1) * 4 + 64;
    (HEADER_LEN as u64 + (1 << 20)).saturating_add(vectors.saturating_mul(per_vector).saturating_mul(2))
}

/// Opens `path` for reading if it is a regular file (directly or through a
/// symbolic link) of at most `max_len` bytes; `Ok(None)` when absent, the
/// reason otherwise. Anything else — a FIFO, a device, a directory, a
/// dangling link — is never opened for reading.
fn open_regular(path: &Path, max_len: u64) -> std::result::Result<Option<std::fs::File>, String> {
    let kind = |t: std::fs::FileType| {
        use std::os::unix::fs::FileTypeExt;
        if t.is_dir() {
            "a directory"
        } else if t.is_fifo() {
            "a FIFO"
        } else if t.is_char_device() || t.is_block_device() {
            "a device"
        } else if t.is_socket() {
            "a socket"
        } else {
            "not a regular file"
        }
    };
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot be inspected: {e}")),
        Ok(m) if m.file_type().is_file() => {}
        Ok(m) if m.file_type().is_symlink() => match std::fs::metadata(path) {
            Ok(target) if target.is_file() => {}
            Ok(target) => return Err(format!("is a symbolic link to {}, not to a regular file", kind(target.file_type()))),
            Err(e) => return Err(format!("is a symbolic link that cannot be followed: {e}")),
        },
        Ok(m) => return Err(format!("is {}, not a regular file", kind(m.file_type()))),
    }
    // Non-blocking, in case the path was swapped for a FIFO since the check:
    // opening one then does not wait for a writer. Reads of a regular file ignore the flag.
    let file = {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path)
    };
    let file = match file {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot be opened: {e}")),
    };
    let meta = file.metadata().map_err(|e| format!("cannot be inspected: {e}"))?;
    if !meta.is_file() {
        return Err(format!("is {}, not a regular file", kind(meta.file_type())));
    }
    if meta.len() > max_len {
        return Err(format!("is {} bytes, more than the {max_len} its vectors could need", meta.len()));
    }
    Ok(Some(file))
}

/// The file's bytes, stopping one past `max_len` (should it have grown since it was measured).
fn read_at_most(file: std::fs::File, max_len: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    file.take(max_len.saturating_add(1)).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Magic, version and the identity fields of a header.
fn parse_header(bytes: &[u8]) -> std::result::Result<SidecarHeader, String> {
    if bytes.len() < HEADER_LEN || &bytes[..8] != MAGIC {
        return Err("has no LoomDB header".into());
    }
    let u32_at = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().expect("4 bytes"));
    let u64_at = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().expect("8 bytes"));
    if u32_at(8) != FILE_VERSION {
        return Err(format!("has file version {}", u32_at(8)));
    }
    Ok(SidecarHeader { space_id: u32_at(12), fingerprint: u64_at(16), seq: u64_at(24) })
}

/// How a space's graph stores vectors (see the invariants).
pub fn scalar_kind(metric: Metric) -> ScalarKind {
    match metric {
        Metric::Cosine => ScalarKind::F16,
        Metric::L2 | Metric::Dot => ScalarKind::F32,
    }
}

/// The sidecar of a space inside the database directory.
pub fn sidecar_path(dir: &Path, space: &str) -> PathBuf {
    dir.join(format!("{space}.hnsw"))
}

fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(format!(".tmp{}", std::process::id()));
    path.with_file_name(name)
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::internal(format!("HNSW index: {e}"))
}

/// A counting gate: at most `n` holders at once; others wait.
struct Slots {
    free: Mutex<usize>,
    freed: Condvar,
}

struct SlotGuard<'a>(&'a Slots);

impl Slots {
    fn new(n: usize) -> Slots {
        Slots { free: Mutex::new(n), freed: Condvar::new() }
    }
    fn enter(&self) -> SlotGuard<'_> {
        let mut free = self.free.lock();
        while *free == 0 {
            self.freed.wait(&mut free);
        }
        *free -= 1;
        SlotGuard(self)
    }
}

impl Drop for SlotGuard<'_> {
    fn drop(&mut self) {
        *self.0.free.lock() += 1;
        self.0.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARAMS: HnswParams = HnswParams { m: 16, ef_construction: 64, ef: 32 };

    fn filled(n: u64) -> Hnsw {
        let mut h = Hnsw::new(4, Metric::L2, PARAMS).unwrap();
        h.reserve(n as usize).unwrap();
        for i in 0..n {
            h.put(i, &mut [i as f32, 0.0, 0.0, 0.0]).unwrap();
        }
        h
    }

    #[test]
    fn put_replaces_and_remove_forgets() {
        let mut h = filled(100);
        assert_eq!(h.search(&[10.1, 0.0, 0.0, 0.0], 2, 32, None).unwrap(), [10, 11]);
        h.reserve(1).unwrap();
        h.put(10, &mut [500.0, 0.0, 0.0, 0.0]).unwrap();
        h.remove(11).unwrap();
        h.remove(1000).unwrap();
        assert_eq!(h.len(), 99);
        assert_eq!(h.search(&[10.1, 0.0, 0.0, 0.0], 2, 32, None).unwrap(), [9, 12]);
        let even = |k: u64| k.is_multiple_of(2);
        assert_eq!(h.search(&[10.1, 0.0, 0.0, 0.0], 2, 32, Some(&even)).unwrap(), [12, 8]);
    }

    #[test]
    fn removed_and_replaced_entries_never_cut_the_graph() {
        // Points on a line link almost only to their two neighbours, so an
        // entry whose slot were reused by a far vector would cut the line.
        let params = HnswParams { m: 8, ef_construction: 32, ef: 32 };
        let mut h = Hnsw::new(4, Metric::L2, params).unwrap();
        h.reserve(3_020).unwrap();
        for i in 0..3_000u64 {
            h.put(i, &mut [i as f32, 0.0, 0.0, 0.0]).unwrap();
        }
        let cuts: Vec<u64> = (1..=10).map(|c| c * 290).collect();
        for (n, &cut) in cuts.iter().enumerate() {
            h.remove(cut).unwrap();
            h.put(3_000 + n as u64, &mut [-10_000.0 - n as f32, 0.0, 0.0, 0.0]).unwrap();
            h.put(cut - 1, &mut [20_000.0 + n as f32, 0.0, 0.0, 0.0]).unwrap();
        }
        assert_eq!((h.len(), h.retired()), (3_000, 20));
        for &cut in &cuts {
            let at = cut as f32 + 0.1;
            assert_eq!(h.search(&[at, 0.0, 0.0, 0.0], 3, 32, None).unwrap(), [cut + 1, cut + 2, cut - 2], "around {cut}");
        }
    }

    #[test]
    fn cosine_ranks_by_angle_whatever_the_lengths() {
        let mut h = Hnsw::new(2, Metric::Cosine, PARAMS).unwrap();
        h.reserve(3).unwrap();
        h.put(1, &mut [10.0, 0.0]).unwrap();
        h.put(2, &mut [0.1, 0.1]).unwrap();
        h.put(3, &mut [0.0, 0.0]).unwrap();
        assert_eq!(h.search(&[3.0, 2.0], 3, 8, None).unwrap(), [2, 1, 3]);
    }

    #[test]
    fn sidecars_round_trip_and_reject_damage() {
        let dir = tempfile::tempdir().unwrap();
        let path = sidecar_path(dir.path(), "s");
        assert!(Hnsw::load(&path, 4, Metric::L2, PARAMS, (1, 7), 50).unwrap().is_none());
        let h = filled(50);
        h.remove(4).unwrap();
        let header = SidecarHeader { space_id: 1, fingerprint: 7, seq: 42 };
        h.save(&path, header).unwrap();
        let (loaded, got) = Hnsw::load(&path, 4, Metric::L2, PARAMS, (1, 7), 50).unwrap().unwrap();
        assert_eq!(got, header);
        assert_eq!((loaded.len(), loaded.retired()), (49, 1));
        assert_eq!(loaded.search(&[3.2, 0.0, 0.0, 0.0], 3, 32, None).unwrap(), [3, 2, 5]);
        assert!(Hnsw::load(&path, 4, Metric::L2, PARAMS, (2, 7), 50).is_err());
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        assert!(Hnsw::load(&path, 4, Metric::L2, PARAMS, (1, 7), 50).unwrap_err().message.contains("checksum"));
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        assert!(Hnsw::load(&path, 4, Metric::L2, PARAMS, (1, 7), 50).unwrap_err().message.contains("truncated"));
    }
}

/// Properties: any sidecar header parses or is refused with a reason,
/// never panics; a header laid out as documented parses to its fields.
#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    fn header(space_id: u32, fingerprint: u64, seq: u64, version: u32) -> Vec<u8> {
        let mut b = MAGIC.to_vec();
        b.extend_from_slice(&version.to_le_bytes());
        b.extend_from_slice(&space_id.to_le_bytes());
        b.extend_from_slice(&fingerprint.to_le_bytes());
        b.extend_from_slice(&seq.to_le_bytes());
        b.resize(HEADER_LEN, 0);
        b
    }

    proptest! {
        #[test]
        fn parse_header_takes_any_bytes(bytes in any::<Vec<u8>>()) {
            let _ = parse_header(&bytes);
        }

        #[test]
        fn parse_header_takes_any_bytes_after_the_magic(rest in prop::collection::vec(any::<u8>(), 0..64)) {
            let mut bytes = MAGIC.to_vec();
            bytes.extend_from_slice(&rest);
            match parse_header(&bytes) {
                Ok(_) => prop_assert!(bytes.len() >= HEADER_LEN),
                Err(_) => prop_assert!(bytes.len() < HEADER_LEN || u32::from_le_bytes(rest[..4].try_into().unwrap()) != FILE_VERSION),
            }
        }

        #[test]
        fn headers_parse_to_their_fields(space_id in any::<u32>(), fingerprint in any::<u64>(), seq in any::<u64>(), version in any::<u32>()) {
            let parsed = parse_header(&header(space_id, fingerprint, seq, version));
            if version == FILE_VERSION {
                prop_assert_eq!(parsed, Ok(SidecarHeader { space_id, fingerprint, seq }));
            } else {
                prop_assert!(parsed.is_err());
            }
        }

        #[test]
        fn read_header_takes_any_file(bytes in prop::collection::vec(any::<u8>(), 0..128)) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("s.hnsw");
            std::fs::write(&path, &bytes).unwrap();
            prop_assert_eq!(read_header(&path), parse_header(&bytes).ok().filter(|_| bytes.len() >= HEADER_LEN));
        }
    }
}

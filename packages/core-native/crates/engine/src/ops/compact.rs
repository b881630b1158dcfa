//! Compaction: prunes the change log, rewrites every record in key order
//! into a fresh data file (append mode: full leaves, no free pages) and
//! swaps it in.
//!
//! Invariants:
//! - It runs with the writer lock and exclusive presence (no other process
//!   has the database open, none can open it meanwhile): `LOCKED` naming
//!   the other processes otherwise. Other handles of this process wait
//!   while the file is swapped and see the compacted file afterwards.
//! - The change log keeps every entry after the oldest index checkpoint:
//!   meta keys `checkpoint/<index>` hold the last sequence a derived index
//!   (such as a vector index sidecar) has applied. With no checkpoint, no
//!   index needs the log and all of it goes. `changes_pruned_through`
//!   records the last sequence removed.
//! - Vector index sidecars (`*.hnsw`) are removed with the old file and the
//!   graphs of this process dropped, so each is rebuilt from the embeddings,
//!   without deleted entries, on its next search.
//! - The compacted copy passes the page check before it replaces the file;
//!   a failure at any step leaves the old file in place and open.

use crate::vector::index::VectorIndexes;
use crate::storage::codec::{read_u64_be, u64_key};
use crate::storage::copy::Progress;
use crate::storage::handle::Database;
use crate::storage::meta::{get_meta_u64, put_meta_u64};
use crate::error::{Code, Error, Result};
use crate::storage::pagecheck::{self, Snapshot};
use crate::ops::upgrade::META_PRUNED_THROUGH;
use serde::Serialize;

pub const CHECKPOINT_PREFIX: &str = "checkpoint/";

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CompactReport {
    pub bytes_before: u64,
    pub bytes_after: u64,
    pub pruned_changes: u64,
    pub removed_sidecars: Vec<String>,
}

pub fn compact(db: &Database, progress: Progress) -> Result<CompactReport> {
    db.writable()?;
    if db.is_transaction() {
        return Err(Error::invalid("compact cannot run inside a transaction"));
    }
    if crate::storage::store::copying_on_this_thread() {
        return Err(Error::new(
            Code::Locked,
            format!("compact cannot run from the onProgress of a backup or compaction of {}: that copy is still reading it; compact after the call returns", db.path().display()),
        ));
    }
    let store = db.store();
    let writer = store.acquire_writer(db.busy_timeout())?;
    let _alone = store.exclusive("compaction")?;
    let bytes_before = store.usage()?.file_bytes;

    let pruned_changes = store.write_locked(&writer, db.durable(), |txn, t| {
        let mut oldest: Option<u64> = None;
        for entry in t.meta.prefix_iter(txn, CHECKPOINT_PREFIX.as_bytes())? {
            let (k, v) = entry?;
            let p = crate::storage::codec::open(k, v, || format!("meta {}", String::from_utf8_lossy(k)))?;
            if p.len() == 8 {
                oldest = Some(oldest.map_or(read_u64_be(p), |o: u64| o.min(read_u64_be(p))));
            }
        }
        let through = match oldest {
            Some(seq) => seq,
            None => get_meta_u64(txn, t, crate::storage::writing::META_CHANGE_SEQ)?.unwrap_or(0),
        };
        let upper = u64_key(through);
        let range: (std::ops::Bound<&[u8]>, std::ops::Bound<&[u8]>) = (std::ops::Bound::Unbounded, std::ops::Bound::Included(&upper[..]));
        let removed = t.changes.delete_range(txn, &range)?;
        let before = get_meta_u64(txn, t, META_PRUNED_THROUGH)?.unwrap_or(0);
        put_meta_u64(txn, t, META_PRUNED_THROUGH, before.max(through))?;
        Ok(removed as u64)
    })?;

    // Records rewritten in key order into a fresh environment (not LMDB's
    // compacting copy, which keeps the half-empty leaves deletes leave).
    let staging = db.path().join("compacting");
    let _ = std::fs::remove_dir_all(&staging);
    let temp = staging.join("data.mdb");
    let expected = store.usage()?.used_bytes;
    let written = store.rewrite_to(&staging, expected, progress).and_then(|_| {
        let report = pagecheck::check_file(&temp, Snapshot::Newest)
            .map_err(|e| Error::new(Code::Io, format!("cannot read {}: {e}", temp.display())))?
            .expect("the newest snapshot always exists");
        match report.errors.first() {
            None => Ok(()),
            Some(first) => Err(Error::corruption(format!("the compacted copy of {} is damaged ({first}); the database was left as it was", db.path().display()))),
        }
    });
    if let Err(e) = written {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    let mut removed_sidecars = Vec::new();
    let swapped = store.replace_file(&writer, &temp, || {
        VectorIndexes::of(store).forget_all();
        for entry in std::fs::read_dir(db.path())? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "hnsw") {
                std::fs::remove_file(&path)?;
                removed_sidecars.push(path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
            }
        }
        Ok(())
    });
    let _ = std::fs::remove_dir_all(&staging);
    swapped?;
    let bytes_after = store.usage()?.file_bytes;
    Ok(CompactReport { bytes_before, bytes_after, pruned_changes, removed_sidecars })
}

impl Database {
    /// See the module documentation.
    pub fn compact(&self, progress: Progress) -> Result<CompactReport> {
        compact(self, progress)
    }

    /// Storage figures: file size, bytes per table, reclaimable bytes.
    pub fn usage(&self) -> Result<crate::Usage> {
        self.store().usage()
    }
}

#[cfg(test)]
mod tests {
    use crate::{Database, Metric, NewNode, NodeFilter, OpenOptions, SearchRequest, SpaceSpec};

    #[test]
    fn compacting_after_scattered_deletes_comes_within_15_percent_of_a_fresh_database() {
        let dir = tempfile::tempdir().unwrap();
        let node = |i: usize| NewNode { id: format!("{:016x}", (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)), node_type: "T".into(), properties: format!(r#"{{"i":{i},"text":"{}"}}"#, "z".repeat(300)) };
        let db = Database::open(&dir.path().join("scattered"), OpenOptions::default()).unwrap();
        for chunk in (0..20_000).collect::<Vec<_>>().chunks(1000) {
            db.insert_nodes(&chunk.iter().map(|&i| node(i)).collect::<Vec<_>>(), 1).unwrap();
        }
        for i in (1..20_000).step_by(2) {
            db.delete_node(&node(i).id).unwrap();
        }
        let report = super::compact(&db, &mut |_, _| true).unwrap();
        let fresh = Database::open(&dir.path().join("fresh"), OpenOptions::default()).unwrap();
        for chunk in (0..20_000).step_by(2).collect::<Vec<_>>().chunks(1000) {
            fresh.insert_nodes(&chunk.iter().map(|&i| node(i)).collect::<Vec<_>>(), 1).unwrap();
        }
        let fresh_bytes = fresh.usage().unwrap().used_bytes;
        let compacted = db.usage().unwrap().used_bytes;
        assert!(compacted * 100 <= fresh_bytes * 115, "compacted {compacted} bytes in use, a fresh copy {fresh_bytes}; {report:?}");
        assert_eq!(db.stats().unwrap().nodes, 10_000);
        assert!(crate::ops::verify::verify(&db).unwrap().ok);
    }

    #[test]
    fn compacting_from_a_backups_progress_is_locked_not_a_deadlock() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(&dir.path().join("db"), OpenOptions::default()).unwrap();
        for i in 0..200 {
            db.insert_node(&NewNode { id: format!("n{i}"), node_type: "T".into(), properties: format!(r#"{{"x":"{}"}}"#, "y".repeat(500)) }, 1).unwrap();
        }
        let mut inner = None;
        let mut progress = |_: u64, _: u64| {
            if inner.is_none() {
                inner = Some(super::compact(&db, &mut |_, _| true).map(|_| ()));
            }
            true
        };
        db.backup(&dir.path().join("backup"), &mut progress).unwrap();
        let err = inner.expect("progress was reported").unwrap_err();
        assert_eq!(err.code, crate::Code::Locked, "{}", err.message);
        assert!(err.message.contains("onProgress"), "{}", err.message);
        // Outside the callback it runs as usual.
        super::compact(&db, &mut |_, _| true).unwrap();
    }

    #[test]
    fn deleting_half_and_compacting_shrinks_the_file_and_keeps_the_data() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path(), OpenOptions::default()).unwrap();
        let nodes: Vec<NewNode> =
            (0..4000).map(|i| NewNode { id: format!("n{i:05}"), node_type: if i % 2 == 0 { "Keep" } else { "Drop" }.into(), properties: format!(r#"{{"text":"{}"}}"#, "y".repeat(200)) }).collect();
        db.insert_nodes(&nodes, 1).unwrap();
        let hnsw = SpaceSpec { dimensions: 2, metric: Metric::L2, index: None, m: None, ef_construction: None, ef: None, embedder: None };
        db.ensure_space("v", &hnsw).unwrap();
        let vectors: Vec<(String, String, Vec<f32>)> = (0..4000).step_by(2).map(|i| (format!("n{i:05}"), "v".into(), vec![i as f32, (i % 7) as f32])).collect();
        db.insert_embeddings(&vectors).unwrap();
        // A wide search breadth makes the graph's answer the exact one on this small set, so
        // the comparison below does not depend on the graph's random layers.
        let request = SearchRequest { k: 5, ef: Some(512), exact: false, filter: NodeFilter::default() };
        let ids = |db: &Database| db.search("v", &[1000.0, 3.0], &request).unwrap().into_iter().map(|h| h.id).collect::<Vec<_>>();
        let nearest = ids(&db);
        assert_eq!(nearest, ["n00998", "n01002", "n01000", "n01004", "n00996"]);
        let other = db.clone();
        db.delete_nodes(&NodeFilter { types: Some(vec!["Drop".into()]), ids: None, conditions: Vec::new() }).unwrap();
        let before = db.store().usage().unwrap();
        assert!(before.reclaimable_bytes > before.file_bytes / 3, "{before:?}");
        let report = super::compact(&db, &mut |_, _| true).unwrap();
        assert!(report.bytes_after * 10 <= report.bytes_before * 6, "{report:?}");
        assert!(report.pruned_changes >= 6000);
        // Every handle of this process sees the compacted file.
        assert_eq!(other.stats().unwrap().nodes, 2000);
        assert!(other.get_node("n00002").unwrap().is_some());
        assert!(other.get_node("n00003").unwrap().is_none());
        // The graph is rebuilt from the embeddings and answers as before.
        assert!(!std::fs::read_dir(dir.path()).unwrap().any(|e| e.unwrap().path().extension().is_some_and(|x| x == "hnsw")));
        assert_eq!(ids(&other), nearest);
        other.insert_node(&NewNode { id: "after".into(), node_type: "Keep".into(), properties: "{}".into() }, 2).unwrap();
        assert!(crate::ops::verify::verify(&db).unwrap().ok);
    }
}

//! On-disk format versions and the upgrades between them.
//!
//! History:
//! - 1: the first format.
//! - 2: meta `changes_pruned_through` holds the last change-log sequence
//!   that compaction removed (0: none), so whoever reads the change log
//!   knows where it starts and rebuilds instead of missing changes.
//! - 3: the `edge_weights` table holds the weights of counter edges, whose
//!   records carry a NaN marker instead (see `counters`). Nothing to
//!   convert: the table is created on open and starts empty; the version
//!   keeps older builds, which would read the marker as the weight, out.
//! - 4: `edge_weights` entries live at a hash of the edge's id and hold
//!   the edge's key (increments skip the id map); the upgrade moves each
//!   format-3 entry from its edge key to its slot.
//! - 5: the `text` table holds full-text postings (see `text::index`).
//!   Nothing to convert: the table is created on open and starts empty;
//!   the version keeps older builds, which would write nodes without
//!   updating a text index, out.
//!
//! Invariants: a writable open of an older format first writes a backup
//! next to the database (`<name>.format-<v>-backup-<ms>`), then upgrades in
//! one transaction, so a failed upgrade leaves the old format readable and
//! the backup restorable. A newer format is refused (`UNSUPPORTED`, naming
//! both versions) by `Database::open`.

use crate::ops::backup;
use crate::storage::handle::Database;
use crate::storage::meta::{get_meta_u64, put_meta_u64, FORMAT_VERSION, META_FORMAT};
use crate::error::{Code, Error, Result};
use crate::storage::codec::{open as unseal, read_u64_be, u64_key, Reader};
use crate::storage::counters;
use crate::storage::edges::read_edge_record;
use crate::storage::store::Tables;
use heed::RwTxn;

pub(crate) const META_PRUNED_THROUGH: &[u8] = b"changes_pruned_through";

/// Marks a new database with the current format.
pub(crate) fn stamp_new(txn: &mut RwTxn, t: &Tables) -> Result<()> {
    put_meta_u64(txn, t, META_PRUNED_THROUGH, 0)?;
    put_meta_u64(txn, t, META_FORMAT, u64::from(FORMAT_VERSION))
}

/// Upgrades `db` from format `from` to the current one, after a backup.
pub(crate) fn upgrade(db: &Database, from: u64) -> Result<()> {
    if from < 1 {
        return Err(Error::new(Code::Unsupported, format!("database {} has unknown format version {from}", db.path().display())));
    }
    let name = db.path().file_name().map_or_else(|| "database".into(), |n| n.to_string_lossy().into_owned());
    let dest = db.path().with_file_name(format!("{name}.format-{from}-backup-{}", crate::now_ms()));
    backup::backup(db, &dest, &mut |_, _| true)
        .map_err(|e| Error::new(e.code, format!("upgrading {} from format {from} needs a backup first, which failed: {}", db.path().display(), e.message)))?;
    db.write(|txn, t| {
        if from < 2 && get_meta_u64(txn, t, META_PRUNED_THROUGH)?.is_none() {
            put_meta_u64(txn, t, META_PRUNED_THROUGH, 0)?;
        }
        if from == 3 {
            rekey_format_3(txn, t)?;
        }
        put_meta_u64(txn, t, META_FORMAT, u64::from(FORMAT_VERSION))
    })
}

/// Format 3 kept entries under the edge's 8-byte key, holding `weight ‖
/// identity`: moves each to its slot with the key added (the upgrade to 4).
/// An entry whose edge is gone belonged to nothing (format 3's `verify`
/// reported it) and is dropped.
fn rekey_format_3(txn: &mut RwTxn, t: &Tables) -> Result<u64> {
    let mut old = Vec::new();
    for entry in t.edge_weights.iter(txn)? {
        let (k, v) = entry?;
        if k.len() == 8 {
            let mut r = Reader::new(unseal(k, v, || format!("format-3 weight of edge #{}", read_u64_be(k)))?);
            old.push((read_u64_be(k), r.f64()?, r.u64()?));
        }
    }
    for &(key, weight, identity) in &old {
        t.edge_weights.delete(txn, &u64_key(key))?;
        if t.edges.get(txn, &u64_key(key))?.is_some() {
            let edge = read_edge_record(txn, t, key)?;
            counters::put(txn, t, &edge.id, counters::Counter { weight, identity, key })?;
        }
    }
    Ok(old.len() as u64)
}

#[cfg(test)]
mod tests {
    use crate::storage::meta::{put_meta_u64, META_FORMAT};
    use crate::{Code, Database, OpenOptions};

    #[test]
    fn format_3_counter_weights_move_to_their_slots() {
        use crate::storage::codec::{seal, u64_key, Writer};
        use crate::{NewEdge, NewNode};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let db = Database::open(&path, OpenOptions::default()).unwrap();
        let nodes: Vec<NewNode> = ["a", "b"].iter().map(|id| NewNode { id: (*id).into(), node_type: "P".into(), properties: "{}".into() }).collect();
        db.insert_nodes(&nodes, 1).unwrap();
        let edge = NewEdge { id: "ab".into(), edge_type: "REL".into(), from: "a".into(), to: "b".into(), properties: "{}".into(), weight: 3.0 };
        db.add_edge_weights(&[edge], 1).unwrap();
        // Rewrite the entry as format 3 kept it: under the edge's key, without the key inside.
        db.write(|txn, t| {
            let counter = crate::storage::counters::get(txn, t, "ab")?.expect("a counter");
            t.edge_weights.clear(txn)?;
            let k = u64_key(counter.key);
            let mut w = Writer::default();
            w.f64(counter.weight).u64(counter.identity);
            t.edge_weights.put(txn, &k, &seal(&k, &w.buf))?;
            put_meta_u64(txn, t, META_FORMAT, 3)
        })
        .unwrap();
        drop(db);
        let db = Database::open(&path, OpenOptions::default()).unwrap();
        assert_eq!(db.get_edge("ab").unwrap().unwrap().weight, 3.0);
        assert!(db.verify().unwrap().ok);
        db.add_edge_weights(&[NewEdge { id: "ab".into(), edge_type: "REL".into(), from: "a".into(), to: "b".into(), properties: "{}".into(), weight: 1.0 }], 2).unwrap();
        assert_eq!(db.get_edge("ab").unwrap().unwrap().weight, 4.0);
        assert!(std::fs::read_dir(dir.path()).unwrap().any(|e| e.unwrap().file_name().to_string_lossy().contains(".format-3-backup-")));
    }

    #[test]
    fn a_newer_format_is_unsupported_naming_both_versions() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path(), OpenOptions::default()).unwrap();
        db.write(|txn, t| put_meta_u64(txn, t, META_FORMAT, 99)).unwrap();
        let err = Database::open(dir.path(), OpenOptions::default()).err().unwrap();
        assert_eq!(err.code, Code::Unsupported);
        assert!(err.message.contains("format version 99") && err.message.contains(&format!("format version {}", super::FORMAT_VERSION)), "{}", err.message);
    }
}

//! Loading exported records as they were: ids, properties, weights and
//! creation/update times (`loomdb import` of an `export`).
//!
//! Invariant: every record is validated before the first put and all of
//! them are written in one transaction, so a failing load writes nothing.
//! Inside it, each run of nodes and each run of edges is one write call: a
//! call sees the records of earlier calls (an edge its endpoints), not its
//! own (see `writing`).
//! Creation times stay as given when records come in creation order into a
//! database whose clock is not ahead of them (a fresh one); the engine's
//! clock never goes back, so otherwise they move forward to it.

use crate::storage::codec::{seal, u64_key};
use crate::error::in_batch;
use crate::storage::edges::{insert_edge, validate_edge, NewEdge};
use crate::storage::handle::Database;
use crate::storage::node_writes::insert_node;
use crate::storage::nodes::{validate_node, NewNode};
use crate::error::{Error, Result};
use std::collections::HashSet;

/// A node as exported, with its times.
pub struct LoadNode {
    pub node: NewNode,
    pub created_at: i64,
    pub updated_at: i64,
}

/// An edge as exported, with its creation time.
pub struct LoadEdge {
    pub edge: NewEdge,
    pub created_at: i64,
}

/// One exported record; a load takes them in creation order.
pub enum LoadRecord {
    Node(LoadNode),
    Edge(LoadEdge),
}

impl Database {
    /// Inserts exported records in order, in one commit (see the module documentation).
    pub fn load(&self, records: &[LoadRecord]) -> Result<()> {
        let _timer = self.timer(crate::storage::metrics::Op::Insert);
        let (mut nodes, mut edges) = (HashSet::new(), HashSet::new());
        for (i, r) in records.iter().enumerate() {
            match r {
                LoadRecord::Node(n) => {
                    validate_node(&n.node).map_err(|e| in_batch("records", i, e))?;
                    if n.updated_at < n.created_at {
                        return Err(Error::invalid(format!("records[{i}]: updatedAt {} is before createdAt {}", n.updated_at, n.created_at)));
                    }
                    if !nodes.insert(n.node.id.as_str()) {
                        return Err(Error::already_exists(format!("records[{i}]: node \"{}\" appears twice in the batch", n.node.id)));
                    }
                }
                LoadRecord::Edge(e) => {
                    validate_edge(&e.edge).map_err(|err| in_batch("records", i, err))?;
                    if !edges.insert(e.edge.id.as_str()) {
                        return Err(Error::already_exists(format!("records[{i}]: edge \"{}\" appears twice in the batch", e.edge.id)));
                    }
                }
            }
        }
        if self.is_transaction() {
            return self.load_runs(records);
        }
        let (tx, in_tx) = self.begin(self.lock_writer()?)?;
        match in_tx.load_runs(records) {
            Ok(()) => tx.commit(),
            Err(e) => {
                tx.rollback()?;
                Err(e)
            }
        }
    }

    fn load_runs(&self, records: &[LoadRecord]) -> Result<()> {
        let mut start = 0;
        while start < records.len() {
            let nodes = matches!(records[start], LoadRecord::Node(_));
            let len = records[start..].iter().take_while(|r| matches!(r, LoadRecord::Node(_)) == nodes).count();
            let run = &records[start..start + len];
            let at = |i: usize, e: Error| in_batch("records", start + i, e);
            if nodes {
                self.write(|txn, t| {
                    for (i, r) in run.iter().enumerate() {
                        if let LoadRecord::Node(n) = r {
                            insert_node(txn, t, &n.node, n.created_at).map_err(|e| at(i, e))?;
                        }
                    }
                    Ok(())
                })?;
                // Update times, now that the id map holds the new nodes.
                self.write(|txn, t| {
                    for r in run {
                        let LoadRecord::Node(n) = r else { continue };
                        if n.updated_at <= n.created_at {
                            continue;
                        }
                        let key = crate::storage::ids::lookup(txn, t.node_ids, &n.node.id)?.ok_or_else(|| Error::internal("a loaded node is missing"))?;
                        let mut node = crate::storage::nodes::read_node(txn, t, key)?;
                        if n.updated_at > node.updated_at {
                            node.updated_at = n.updated_at;
                            let k = u64_key(key);
                            t.nodes.put(txn, &k, &seal(&k, &node.encode()))?;
                        }
                    }
                    Ok(())
                })?;
            } else {
                self.write(|txn, t| {
                    for (i, r) in run.iter().enumerate() {
                        if let LoadRecord::Edge(e) = r {
                            insert_edge(txn, t, &e.edge, e.created_at).map_err(|err| at(i, err))?;
                        }
                    }
                    Ok(())
                })?;
            }
            start += len;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OpenOptions;

    #[test]
    fn loaded_records_keep_their_times_and_a_bad_one_loads_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path(), OpenOptions::default()).unwrap();
        let node = |id: &str, c, u| LoadRecord::Node(LoadNode { node: NewNode { id: id.into(), node_type: "T".into(), properties: "{}".into() }, created_at: c, updated_at: u });
        let edge = LoadRecord::Edge(LoadEdge { edge: NewEdge { id: "e".into(), edge_type: "R".into(), from: "a".into(), to: "b".into(), properties: "{}".into(), weight: 0.5 }, created_at: 15 });
        db.load(&[node("a", 10, 40), edge, node("b", 12, 12)]).unwrap_err();
        let edge = LoadRecord::Edge(LoadEdge { edge: NewEdge { id: "e".into(), edge_type: "R".into(), from: "a".into(), to: "b".into(), properties: "{}".into(), weight: 0.5 }, created_at: 15 });
        db.load(&[node("a", 10, 40), node("b", 12, 12), edge, node("z", 20, 20)]).unwrap();
        let a = db.get_node("a").unwrap().unwrap();
        assert_eq!((a.created_at, a.updated_at), (10, 40));
        assert_eq!(db.get_edge("e").unwrap().unwrap().created_at, 15);
        assert_eq!(db.get_node("z").unwrap().unwrap().created_at, 20);
        let err = db.load(&[node("c", 50, 50), node("a", 60, 60)]).unwrap_err();
        assert_eq!(err.code, crate::Code::AlreadyExists);
        assert!(db.get_node("c").unwrap().is_none());
        assert!(crate::ops::verify::verify(&db).unwrap().ok);
    }

    #[test]
    fn an_edge_with_an_empty_endpoint_is_invalid_argument_not_an_lmdb_error() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path(), OpenOptions::default()).unwrap();
        let node = LoadRecord::Node(LoadNode { node: NewNode { id: "a".into(), node_type: "T".into(), properties: "{}".into() }, created_at: 1, updated_at: 1 });
        db.load(&[node]).unwrap();
        for (from, to, what) in [("", "a", "edge from"), ("a", "", "edge to")] {
            let edge = NewEdge { id: "e".into(), edge_type: "R".into(), from: from.into(), to: to.into(), properties: "{}".into(), weight: 1.0 };
            let err = db.load(&[LoadRecord::Edge(LoadEdge { edge: edge.clone(), created_at: 2 })]).unwrap_err();
            assert_eq!(err.code, crate::Code::InvalidArgument, "{err}");
            assert!(err.message.contains("records[0]") && err.message.contains(what), "{err}");
            let err = db.insert_edges(&[edge], 2).unwrap_err();
            assert_eq!(err.code, crate::Code::InvalidArgument, "{err}");
        }
        assert!(db.get_edge("e").unwrap().is_none());
    }
}

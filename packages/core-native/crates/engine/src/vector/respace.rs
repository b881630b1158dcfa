//! Replacing a whole space: what re-embedding with another embedder needs.
//!
//! The new vectors are written into a staging space beside the live one
//! (searches go on using the live one), [`Database::missing_embeddings`]
//! says which nodes still lack one, and [`Database::replace_space`] swaps
//! them in as one commit. Invariants:
//! - a space name always resolves to one space id; a replacement points the
//!   name at the staging space's id and spec, deletes the old vectors (each
//!   logged, like any delete) and removes the staging name, in one commit,
//!   so a reader sees all old vectors or all new ones;
//! - it commits only when every node with a vector in the old space has one
//!   in the staging space (`CONFLICT` otherwise), so nothing written to the
//!   live space while the staging space filled is lost;
//! - graphs follow ids: the replaced space's graph is dropped from this
//!   process after the commit and the new one built (other processes build
//!   theirs on their next search, see `vector_index`).

use crate::vector::index::VectorIndexes;
use crate::storage::codec::read_u64_be;
use crate::storage::handle::Database;
use crate::storage::nodes::read_node;
use crate::vector::catalog::{delete_embedding, find_space, remove_space, rename_space, require_space, validate_space_name};
use crate::error::{Code, Error, Result};
use crate::storage::keys;
use crate::storage::records::Node;
use crate::storage::page::{Page, Position};
use crate::storage::store::Tables;
use crate::vector::space::{Space, SpaceSpec};
use crate::storage::writing::Writing;
use heed::{RoTxn, RwTxn};
use std::collections::HashSet;
use std::ops::Bound;

impl Database {
    /// Removes the space and its vectors; `false` when there was none.
    pub fn drop_space(&self, name: &str) -> Result<bool> {
        validate_space_name(name)?;
        let dropped = self.write(|txn, t| match find_space(txn, t, name)? {
            Some(space) => {
                delete_all(txn, t, &space)?;
                remove_space(txn, t, &space)?;
                Ok(Some(space.id))
            }
            None => Ok(None),
        })?;
        if let Some(id) = dropped {
            VectorIndexes::of(self.store()).forget(id);
        }
        Ok(dropped.is_some())
    }

    /// Up to `limit` nodes (in internal key order, strictly after `after`)
    /// that have a vector in `from` and none in `to`, and where to continue
    /// (`None` when the scan reached the end).
    pub fn missing_embeddings(&self, from: &str, to: &str, after: Option<&Position>, limit: usize) -> Result<Page<Node>> {
        let after = match after {
            None => None,
            Some(Position::Key(k)) => Some(*k),
            Some(Position::Id(_)) => return Err(Error::invalid("a missing-embeddings cursor is a key position")),
        };
        self.read(|txn, t| {
            let (from, to) = (require_space(txn, t, from)?, require_space(txn, t, to)?);
            let mut items = Vec::new();
            for node in space_nodes(txn, t, &from, after)? {
                let node = node?;
                if t.embeddings.get(txn, &keys::embedding(to.id, node))?.is_none() {
                    items.push(read_node(txn, t, node)?);
                    if items.len() == limit {
                        return Ok(Page { items, next: Some(Position::Key(node)) });
                    }
                }
            }
            Ok(Page { items, next: None })
        })
    }

    /// Makes `by`'s vectors the vectors of `name`, with `spec` (whose
    /// dimensions must be `by`'s), and removes the name `by`; one commit
    /// (see the module documentation).
    pub fn replace_space(&self, name: &str, by: &str, spec: &SpaceSpec) -> Result<()> {
        validate_space_name(name)?;
        validate_space_name(by)?;
        spec.validate(name)?;
        if name == by {
            return Err(Error::invalid(format!("space \"{name}\" cannot replace itself")));
        }
        let spec = spec.resolved();
        let old = self.write(|txn, t| {
            let (old, staged) = (require_space(txn, t, name)?, require_space(txn, t, by)?);
            if spec.dimensions != staged.spec.dimensions {
                return Err(Error::new(Code::DimensionMismatch, format!(
                    "space \"{by}\" holds {}-d vectors; the spec for \"{name}\" says {}",
                    staged.spec.dimensions, spec.dimensions
                )));
            }
            for node in space_nodes(txn, t, &old, None)? {
                let node = node?;
                if t.embeddings.get(txn, &keys::embedding(staged.id, node))?.is_none() {
                    let id = read_node(txn, t, node)?.id;
                    return Err(Error::new(Code::Conflict, format!("node \"{id}\" has a vector in space \"{name}\" and none in \"{by}\"")));
                }
            }
            delete_all(txn, t, &old)?;
            remove_space(txn, t, &old)?;
            rename_space(txn, t, &staged, name, spec.clone())?;
            Ok(old.id)
        })?;
        VectorIndexes::of(self.store()).forget(old);
        // Build the new graph now rather than after the next search.
        self.follow_spaces(&HashSet::from([name]), true)
    }
}

/// The internal keys of the nodes with a vector in `space`, in key order, after `after`.
fn space_nodes<'t>(txn: &'t RoTxn, t: &'t Tables, space: &Space, after: Option<u64>) -> Result<impl Iterator<Item = Result<u64>> + 't> {
    let start = match after {
        Some(k) => Bound::Excluded(keys::embedding(space.id, k)),
        None => Bound::Included(keys::embedding(space.id, 0)),
    };
    let end = Bound::Included(keys::embedding(space.id, u64::MAX));
    let range = t.embeddings.range(txn, &(start.as_ref().map(|k| k.as_slice()), end.as_ref().map(|k| k.as_slice())))?;
    Ok(range.map(|entry| Ok(read_u64_be(&entry?.0[4..]))))
}

/// Deletes every vector of `space`, each logged as a delete.
fn delete_all(txn: &mut RwTxn, t: &Writing, space: &Space) -> Result<()> {
    let nodes = space_nodes(txn, t, space, None)?.collect::<Result<Vec<u64>>>()?;
    for node in nodes {
        delete_embedding(txn, t, space, node)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::vector::space::Metric;
    use crate::{Code, Database, NewNode, OpenOptions, SearchRequest};
    use crate::storage::page::Position;
    use crate::vector::space::SpaceSpec;

    fn spec(dimensions: u32, index: &str, embedder: &str) -> SpaceSpec {
        SpaceSpec { dimensions, metric: Metric::L2, index: Some(index.into()), m: None, ef_construction: None, ef: None, embedder: Some(embedder.into()) }
    }

    /// Nodes n0..n{count} with a 2-d vector each in "live".
    fn filled(dir: &std::path::Path, count: usize) -> Database {
        let db = Database::open(dir, OpenOptions::default()).unwrap();
        db.ensure_space("live", &spec(2, "hnsw", "old")).unwrap();
        for i in 0..count {
            db.insert_node(&NewNode { id: format!("n{i}"), node_type: "M".into(), properties: "{}".into() }, 1).unwrap();
            db.insert_embedding(&format!("n{i}"), "live", &[i as f32, 0.0]).unwrap();
        }
        db
    }

    fn nearest(db: &Database, space: &str, q: &[f32]) -> String {
        db.search(space, q, &SearchRequest { k: 1, ..SearchRequest::default() }).unwrap()[0].id.clone()
    }

    #[test]
    fn missing_embeddings_pages_through_nodes_without_a_staged_vector() {
        let dir = tempfile::tempdir().unwrap();
        let db = filled(dir.path(), 5);
        db.ensure_space("staged", &spec(3, "flat", "new")).unwrap();
        db.insert_embedding("n1", "staged", &[0.0, 0.0, 1.0]).unwrap();
        let first = db.missing_embeddings("live", "staged", None, 2).unwrap();
        assert_eq!(first.items.iter().map(|n| n.id.as_str()).collect::<Vec<_>>(), ["n0", "n2"]);
        let rest = db.missing_embeddings("live", "staged", first.next.as_ref(), 2).unwrap();
        assert_eq!(rest.items.iter().map(|n| n.id.as_str()).collect::<Vec<_>>(), ["n3", "n4"]);
        let end = db.missing_embeddings("live", "staged", rest.next.as_ref(), 2).unwrap();
        assert!(end.items.is_empty() && end.next.is_none());
        assert_eq!(db.missing_embeddings("live", "nope", None, 2).unwrap_err().code, Code::NotFound);
        assert_eq!(db.missing_embeddings("live", "staged", Some(&Position::Id("x".into())), 2).unwrap_err().code, Code::InvalidArgument);
    }

    #[test]
    fn replacing_swaps_every_vector_and_the_spec_in_one_commit() {
        let dir = tempfile::tempdir().unwrap();
        let db = filled(dir.path(), 20);
        assert_eq!(nearest(&db, "live", &[7.2, 0.0]), "n7");
        db.ensure_space("staged", &spec(3, "flat", "new")).unwrap();
        for i in 0..19 {
            // Reversed order: the nearest node changes with the vectors.
            db.insert_embedding(&format!("n{i}"), "staged", &[(19 - i) as f32, 0.0, 0.0]).unwrap();
        }
        let err = db.replace_space("live", "staged", &spec(3, "hnsw", "new")).unwrap_err();
        assert_eq!(err.code, Code::Conflict);
        assert!(err.message.contains("\"n19\""), "{}", err.message);
        assert_eq!(nearest(&db, "live", &[7.2, 0.0]), "n7", "a refused replacement changes nothing");
        db.insert_embedding("n19", "staged", &[0.0, 0.0, 0.0]).unwrap();
        let err = db.replace_space("live", "staged", &spec(2, "hnsw", "new")).unwrap_err();
        assert_eq!(err.code, Code::DimensionMismatch);
        db.replace_space("live", "staged", &spec(3, "hnsw", "new")).unwrap();
        assert_eq!(nearest(&db, "live", &[7.2, 0.0, 0.0]), "n12");
        let stats = db.stats().unwrap();
        assert_eq!(stats.spaces.len(), 1);
        let live = &stats.spaces[0];
        assert_eq!((live.name.as_str(), live.embeddings, live.spec.dimensions, live.spec.embedder.as_deref()), ("live", 20, 3, Some("new")));
        assert_eq!(db.get_embedding("n3", "live").unwrap(), Some(vec![16.0, 0.0, 0.0]));
        { let v = db.verify().unwrap(); assert!(v.ok, "{:?}", v.errors); }
        // Another handle (a fresh process's view) finds the new space and its graph.
        drop(db);
        let again = Database::open(dir.path(), OpenOptions::default()).unwrap();
        assert_eq!(nearest(&again, "live", &[7.2, 0.0, 0.0]), "n12");
    }

    #[test]
    fn dropping_a_space_removes_its_vectors() {
        let dir = tempfile::tempdir().unwrap();
        let db = filled(dir.path(), 3);
        assert!(db.drop_space("live").unwrap());
        assert!(!db.drop_space("live").unwrap());
        assert!(db.stats().unwrap().spaces.is_empty());
        { let v = db.verify().unwrap(); assert!(v.ok, "{:?}", v.errors); }
        db.ensure_space("live", &spec(2, "hnsw", "old")).unwrap();
        assert_eq!(db.get_embedding("n0", "live").unwrap(), None);
    }
}

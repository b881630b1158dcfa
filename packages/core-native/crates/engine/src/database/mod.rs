//! The facade: opening a database and the record operations that compose
//! the layers — node and edge writes (in `storage`) whose effects reach the
//! text indexes and embeddings (through the [`Followers`] set here), spaces
//! and embeddings (`vector`), property indexes and `stats`. `batch` writes
//! several kinds in one commit.
//!
//! The [`Database`] handle itself is declared in `storage::handle`; every
//! layer adds its own operations to it, so this file holds only what needs
//! more than one layer.
//!
//! Invariants: every write validates its whole input before the first put
//! and runs in one LMDB transaction, so a failing call writes nothing; a
//! handle opened read-write is at [`FORMAT_VERSION`] (older formats are
//! upgraded on open, see `ops::upgrade`).

pub(crate) mod batch;

use crate::error::{in_batch, Code, Error, Result};
use crate::ops::upgrade;
use crate::storage::metrics::Op;
use crate::storage::edges::{self, delete_edge_record, insert_edge, match_edges, read_edge, validate_edge, EdgeSelector, NewEdge};
use crate::storage::filter::NodeFilter;
use crate::storage::handle::{Database, OpenOptions};
use crate::storage::index_defs;
use crate::storage::indexes;
use crate::storage::meta::{get_meta_u64, FORMAT_VERSION, META_FORMAT};
use crate::storage::ids::{lookup, validate_type};
use crate::storage::node_writes::{self, insert_node};
use crate::storage::nodes::{read_node, validate_node, NewNode};
use crate::storage::records::{Edge, Node};
use crate::storage::select::match_nodes;
use crate::storage::store::Store;
use crate::storage::writing::{Followers, Writing};
use crate::vector::catalog::{self, find_space, list_spaces, require_space, same_spec, space_count, validate_space_name};
use crate::vector::index::{GraphStats, VectorIndexes};
use crate::vector::search::{self as vector_search, GraphView, SearchHit, SearchRequest};
use crate::vector::space::{self as vectors, Space, SpaceSpec};
use heed::RwTxn;
use serde::Serialize;
use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

/// The layers storage tells of node writes: the text indexes follow
/// property changes, the vector layer drops a deleted node's embeddings.
static FOLLOWERS: Followers = Followers { properties: crate::text::index::update, deleting: catalog::delete_node_embeddings };

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SpaceStats {
    pub name: String,
    /// The stored spec: defaults filled in.
    #[serde(flatten)]
    pub spec: SpaceSpec,
    pub embeddings: u64,
    /// This process's HNSW graph of the space (`hnsw` spaces only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub graph: Option<GraphStats>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct IndexStats {
    pub name: String,
    /// `type` (the built-in node-type index) or `property`.
    pub kind: String,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub node_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub property: Option<String>,
    pub entries: u64,
}

/// Committed contents only: identical before and after a failed call.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Stats {
    pub nodes: u64,
    pub edges: u64,
    pub spaces: Vec<SpaceStats>,
    pub indexes: Vec<IndexStats>,
    #[serde(rename = "textIndexes")]
    pub text_indexes: Vec<crate::text::TextIndexStats>,
    #[serde(rename = "formatVersion")]
    pub format_version: u32,
}

impl Database {
    /// Opens or creates the database directory at `path`.
    pub fn open(path: &Path, options: OpenOptions) -> Result<Database> {
        let store = Store::open(path, !options.read_only, options.map_size, Duration::from_millis(options.busy_timeout_ms))?;
        let db = Database::on(store, options, &FOLLOWERS);
        db.check_format()?;
        Ok(db)
    }

    fn check_format(&self) -> Result<()> {
        let found = self.store().read(|txn, t| get_meta_u64(txn, t, META_FORMAT))?;
        match found {
            Some(v) if v == u64::from(FORMAT_VERSION) => Ok(()),
            Some(v) if v > u64::from(FORMAT_VERSION) => Err(Error::new(
                Code::Unsupported,
                format!(
                    "database {} has format version {v}; this build of LoomDB reads format version {FORMAT_VERSION} and older",
                    self.path().display()
                ),
            )),
            // Older formats are read as they are; a writable open upgrades them.
            Some(_) | None if self.read_only() => Ok(()),
            Some(v) => upgrade::upgrade(self, v),
            None => self.write(|txn, t| upgrade::stamp_new(txn, t)),
        }
    }

    // ---- transactions ----

    // ---- nodes ----

    pub fn insert_node(&self, node: &NewNode, now: i64) -> Result<Node> {
        let _timer = self.timer(Op::Insert);
        validate_node(node)?;
        self.write(|txn, t| insert_node(txn, t, node, now))
    }

    /// All-or-nothing: every node is validated, then all are written in one commit.
    /// Returns how many were inserted.
    pub fn insert_nodes(&self, nodes: &[NewNode], now: i64) -> Result<u64> {
        let _timer = self.timer(Op::Insert);
        self.insert_batch("nodes", nodes, |n| &n.id, validate_node, |txn, t, n| insert_node(txn, t, n, now).map(drop))
    }

    /// Validates every item and rejects repeated ids before writing anything,
    /// then inserts all of them in one commit. Errors name the item's position.
    fn insert_batch<I>(
        &self,
        what: &str,
        items: &[I],
        id: impl Fn(&I) -> &str,
        validate: impl Fn(&I) -> Result<()>,
        insert: impl Fn(&mut RwTxn, &Writing, &I) -> Result<()>,
    ) -> Result<u64> {
        let mut seen = HashSet::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            validate(item).map_err(|e| in_batch(what, i, e))?;
            if !seen.insert(id(item)) {
                return Err(Error::already_exists(format!("{what}[{i}]: id \"{}\" appears twice in the batch", id(item))));
            }
        }
        self.write(|txn, t| {
            for (i, item) in items.iter().enumerate() {
                insert(txn, t, item).map_err(|e| in_batch(what, i, e))?;
            }
            Ok(items.len() as u64)
        })
    }

    pub fn get_node(&self, id: &str) -> Result<Option<Node>> {
        let _timer = self.timer(Op::Get);
        self.read(|txn, t| match lookup(txn, t.node_ids, id)? {
            Some(key) => read_node(txn, t, key).map(Some),
            None => Ok(None),
        })
    }

    /// Shallow-merges `patch` (a JSON object as text) into the properties; a
    /// `null` value deletes its key.
    pub fn update_node(&self, id: &str, patch: &str, now: i64) -> Result<Node> {
        let _timer = self.timer(Op::Update);
        let patch: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(patch).map_err(|e| Error::invalid(format!("properties must be a JSON object: {e}")))?;
        self.write(|txn, t| node_writes::update_node(txn, t, id, &patch, now))
    }

    /// Deletes the node, its edges and its embeddings. `false` when absent.
    pub fn delete_node(&self, id: &str) -> Result<bool> {
        let _timer = self.timer(Op::Delete);
        self.write(|txn, t| match lookup(txn, t.node_ids, id)? {
            Some(key) => node_writes::delete_node(txn, t, key).map(|()| true),
            None => Ok(false),
        })
    }

    /// Deletes the listed nodes (absent ones are skipped) or every node the
    /// filter admits, with their edges and embeddings, in one commit.
    /// Returns how many were deleted.
    pub fn delete_nodes(&self, filter: &NodeFilter) -> Result<u64> {
        let _timer = self.timer(Op::Delete);
        self.write(|txn, t| {
            let doomed: Vec<u64> = match_nodes(txn, t, filter)?;
            for &key in &doomed {
                node_writes::delete_node(txn, t, key)?;
            }
            Ok(doomed.len() as u64)
        })
    }

    /// Deletes the listed edges, or every edge of `edge_type` (optionally only
    /// those from and/or to the given nodes), in one commit. Returns the count.
    pub fn delete_edges(&self, selector: &EdgeSelector) -> Result<u64> {
        let _timer = self.timer(Op::Delete);
        self.write(|txn, t| {
            let doomed = match_edges(txn, t, selector)?;
            for &key in &doomed {
                delete_edge_record(txn, t, key)?;
            }
            Ok(doomed.len() as u64)
        })
    }

    // ---- edges ----

    pub fn insert_edge(&self, edge: &NewEdge, now: i64) -> Result<Edge> {
        let _timer = self.timer(Op::Insert);
        validate_edge(edge)?;
        self.write(|txn, t| insert_edge(txn, t, edge, now).map(|(_, e)| e))
    }

    /// All-or-nothing: every edge is validated, then all are written in one commit.
    /// Returns how many were inserted.
    pub fn insert_edges(&self, edges: &[NewEdge], now: i64) -> Result<u64> {
        let _timer = self.timer(Op::Insert);
        self.insert_batch("edges", edges, |e| &e.id, validate_edge, |txn, t, e| insert_edge(txn, t, e, now).map(drop))
    }

    /// Counter edges (co-mention counts and the like): adds each item's
    /// weight to the edge with its id, creating it as given when absent (and
    /// the weight is positive) and deleting it when the sum drops to 0 or
    /// below. An existing edge must have the item's type and endpoints. Items
    /// apply in order (an id may repeat), all in one commit.
    pub fn add_edge_weights(&self, items: &[NewEdge], now: i64) -> Result<()> {
        for (i, e) in items.iter().enumerate() {
            validate_edge(e).map_err(|err| in_batch("edges", i, err))?;
        }
        self.write(|txn, t| edges::add_weights(txn, t, items, now))
    }

    pub fn get_edge(&self, id: &str) -> Result<Option<Edge>> {
        let _timer = self.timer(Op::Get);
        self.read(|txn, t| match lookup(txn, t.edge_ids, id)? {
            Some(key) => read_edge(txn, t, key).map(Some),
            None => Ok(None),
        })
    }

    /// Shallow-merges `patch` (a JSON object as text; `null` deletes a key)
    /// into the edge's properties and sets its weight when given. Type and
    /// endpoints never change, so adjacency is untouched.
    pub fn update_edge(&self, id: &str, patch: &str, weight: Option<f64>) -> Result<Edge> {
        let patch: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(patch).map_err(|e| Error::invalid(format!("properties must be a JSON object: {e}")))?;
        if weight.is_some_and(|w| !w.is_finite()) {
            return Err(Error::invalid(format!("weight must be a finite number, got {}", weight.unwrap_or_default())));
        }
        self.write(|txn, t| edges::update_edge(txn, t, id, &patch, weight))
    }

    pub fn delete_edge(&self, id: &str) -> Result<bool> {
        let _timer = self.timer(Op::Delete);
        self.write(|txn, t| match lookup(txn, t.edge_ids, id)? {
            Some(key) => delete_edge_record(txn, t, key).map(|()| true),
            None => Ok(false),
        })
    }

    // ---- spaces and embeddings ----

    /// Declares a space (defaults filled in), or checks that an existing one
    /// agrees with every field the declaration gives.
    pub fn ensure_space(&self, name: &str, spec: &SpaceSpec) -> Result<()> {
        validate_space_name(name)?;
        spec.validate(name)?;
        if let Some(existing) = self.read(|txn, t| find_space(txn, t, name))? {
            return same_spec(&existing, spec);
        }
        let spec = &spec.resolved();
        self.write(|txn, t| catalog::declare_space(txn, t, name, spec))
    }

    pub fn spaces(&self) -> Result<Vec<Space>> {
        self.read(list_spaces)
    }

    /// Stores (or replaces) the node's vector in `space`.
    pub fn insert_embedding(&self, node_id: &str, space: &str, vector: &[f32]) -> Result<()> {
        let _timer = self.timer(Op::Insert);
        self.write(|txn, t| catalog::insert_embedding(txn, t, node_id, space, vector))
    }

    /// All-or-nothing: `(nodeId, space, vector)` items in one commit. Then,
    /// outside a transaction, brings the HNSW graphs of the spaces written up
    /// to date, adding on every core.
    pub fn insert_embeddings(&self, items: &[(String, String, Vec<f32>)]) -> Result<()> {
        let _timer = self.timer(Op::Insert);
        self.write(|txn, t| {
            for (i, (node, space, vector)) in items.iter().enumerate() {
                catalog::insert_embedding(txn, t, node, space, vector).map_err(|e| in_batch("embeddings", i, e))?;
            }
            Ok(())
        })?;
        let names: HashSet<&str> = items.iter().map(|(_, space, _)| space.as_str()).collect();
        self.follow_spaces(&names, true)
    }

    pub fn get_embedding(&self, node_id: &str, space: &str) -> Result<Option<Vec<f32>>> {
        let _timer = self.timer(Op::Get);
        self.read(|txn, t| catalog::read_embedding(txn, t, node_id, space))
    }

    /// The `k` nearest nodes to `query` in `space` that pass the filter,
    /// nearest first: exact scan or HNSW as `vector_search` plans it, and
    /// `k` results whenever `k` passing nodes have a vector. Inside a
    /// transaction the scan is exact (the graph holds committed data only).
    pub fn search(&self, space: &str, query: &[f32], request: &SearchRequest) -> Result<Vec<SearchHit>> {
        let _timer = self.timer(Op::Search);
        request.validate()?;
        self.read(|txn, t| {
            let space = require_space(txn, t, space)?;
            vectors::check_vector(&space, query)?;
            let current = if request.exact { None } else { self.graph_of(txn, t, &space)? };
            let guard = current.as_ref().map(|c| c.graph());
            let graph = current.as_ref().zip(guard.as_deref()).map(|(c, graph)| GraphView { graph, pending: &c.pending });
            vector_search::nearest(txn, t, &space, query, request, graph)?
                .into_iter()
                .map(|(distance, node)| Ok(SearchHit { id: read_node(txn, t, node)?.id, distance }))
                .collect()
        })
    }

    // ---- property indexes ----

    /// Declares an index on `property` of nodes of `node_type` and fills it;
    /// `false` when it already existed. Used by `where` filters from then on.
    pub fn create_index(&self, node_type: &str, property: &str) -> Result<bool> {
        validate_type("index type", node_type)?;
        indexes::validate_property(property)?;
        self.write(|txn, t| indexes::create(txn, t, node_type, property))
    }

    /// Removes an index; `false` when there was none.
    pub fn drop_index(&self, node_type: &str, property: &str) -> Result<bool> {
        validate_type("index type", node_type)?;
        indexes::validate_property(property)?;
        self.write(|txn, t| indexes::drop(txn, t, node_type, property))
    }

    // ---- stats ----

    pub fn stats(&self) -> Result<Stats> {
        self.read(|txn, t| {
            let spaces = list_spaces(txn, t)?
                .into_iter()
                .map(|s| {
                    let graph = match s.spec.hnsw() {
                        Some(_) => Some(VectorIndexes::of(self.store()).stats(txn, t, &s)?.unwrap_or_default()),
                        None => None,
                    };
                    Ok(SpaceStats { embeddings: space_count(txn, t, s.id)?, name: s.name, spec: s.spec, graph })
                })
                .collect::<Result<_>>()?;
            Ok(Stats {
                nodes: t.nodes.len(txn)?,
                edges: t.edges.len(txn)?,
                spaces,
                indexes: std::iter::once(Ok(IndexStats { name: "nodeType".into(), kind: "type".into(), node_type: None, property: None, entries: t.node_types.len(txn)? }))
                    .chain(index_defs::list(txn, t, None)?.into_iter().map(|d| {
                        Ok(IndexStats {
                            name: format!("{}.{}", d.node_type, d.property),
                            kind: "property".into(),
                            entries: indexes::entries(txn, t, &d)?,
                            node_type: Some(d.node_type),
                            property: Some(d.property),
                        })
                    }))
                    .collect::<Result<_>>()?,
                text_indexes: crate::text::index::stats(txn, t)?,
                format_version: get_meta_u64(txn, t, META_FORMAT)?.map_or(FORMAT_VERSION, |v| u32::try_from(v).unwrap_or(u32::MAX)),
            })
        })
    }
}

// ---- validation ----

// ---- table helpers (all inside a caller's transaction) ----

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::codec::u64_key;
    use crate::vector::space::Metric;

    fn open(dir: &Path) -> Database {
        Database::open(dir, OpenOptions::default()).unwrap()
    }

    fn node(id: &str, ty: &str) -> NewNode {
        NewNode { id: id.into(), node_type: ty.into(), properties: "{}".into() }
    }

    fn edge(id: &str, from: &str, to: &str) -> NewEdge {
        NewEdge { id: id.into(), edge_type: "KNOWS".into(), from: from.into(), to: to.into(), properties: "{}".into(), weight: 1.0 }
    }

    fn spec(dimensions: u32) -> SpaceSpec {
        SpaceSpec { dimensions, metric: Metric::L2, index: Some("flat".into()), m: None, ef_construction: None, ef: None, embedder: None }
    }

    fn request(k: usize, filter: NodeFilter) -> SearchRequest {
        SearchRequest { k, filter, ..SearchRequest::default() }
    }

    #[test]
    fn deleting_a_node_removes_its_edges_and_embeddings() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(dir.path());
        db.ensure_space("default", &spec(2)).unwrap();
        for id in ["a", "b", "c"] {
            db.insert_node(&node(id, "P"), 1).unwrap();
        }
        db.insert_edge(&edge("ab", "a", "b"), 1).unwrap();
        db.insert_edge(&edge("ca", "c", "a"), 1).unwrap();
        db.insert_edge(&edge("aa", "a", "a"), 1).unwrap();
        db.insert_edge(&edge("bc", "b", "c"), 1).unwrap();
        db.insert_embedding("a", "default", &[1.0, 0.0]).unwrap();
        assert!(db.delete_node("a").unwrap());
        assert!(!db.delete_node("a").unwrap());
        assert!(db.get_edge("ab").unwrap().is_none());
        assert!(db.get_edge("ca").unwrap().is_none());
        assert!(db.get_edge("aa").unwrap().is_none());
        assert!(db.get_edge("bc").unwrap().is_some());
        let s = db.stats().unwrap();
        assert_eq!((s.nodes, s.edges, s.spaces[0].embeddings), (2, 1, 0));
    }

    #[test]
    fn a_failing_batch_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(dir.path());
        db.insert_node(&node("taken", "P"), 1).unwrap();
        let before = db.stats().unwrap();
        let err = db.insert_nodes(&[node("new1", "P"), node("taken", "P")], 2).unwrap_err();
        assert_eq!(err.code, Code::AlreadyExists);
        assert!(err.message.contains("nodes[1]"));
        assert!(db.get_node("new1").unwrap().is_none());
        assert_eq!(db.stats().unwrap(), before);
    }

    #[test]
    fn updating_an_edge_merges_properties_and_sets_the_weight() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(dir.path());
        db.insert_node(&node("a", "P"), 1).unwrap();
        db.insert_node(&node("b", "P"), 1).unwrap();
        db.insert_edge(&NewEdge { properties: r#"{"x":1,"y":2}"#.into(), ..edge("ab", "a", "b") }, 1).unwrap();
        let e = db.update_edge("ab", r#"{"y":null,"z":3}"#, Some(2.5)).unwrap();
        assert_eq!((e.properties.as_str(), e.weight), (r#"{"x":1,"z":3}"#, 2.5));
        assert_eq!(db.get_edge("ab").unwrap().unwrap(), e);
        let hop = crate::Hop { direction: crate::Direction::Out, edge_types: None };
        assert_eq!(db.neighbors("a", &hop, None).unwrap().len(), 1);
        assert_eq!(db.update_edge("nope", "{}", None).unwrap_err().code, Code::NotFound);
        assert_eq!(db.update_edge("ab", "{}", Some(f64::NAN)).unwrap_err().code, Code::InvalidArgument);
    }

    #[test]
    fn edge_weights_accumulate_create_and_vanish() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(dir.path());
        db.insert_node(&node("a", "P"), 1).unwrap();
        db.insert_node(&node("b", "P"), 1).unwrap();
        let w = |weight: f64| NewEdge { weight, ..edge("ab", "a", "b") };
        db.add_edge_weights(&[w(1.0), w(2.0)], 1).unwrap();
        assert_eq!(db.get_edge("ab").unwrap().unwrap().weight, 3.0);
        db.add_edge_weights(&[w(-3.0)], 1).unwrap();
        assert!(db.get_edge("ab").unwrap().is_none());
        db.add_edge_weights(&[w(-1.0)], 1).unwrap();
        assert!(db.get_edge("ab").unwrap().is_none());
        db.add_edge_weights(&[w(1.0)], 1).unwrap();
        let err = db.add_edge_weights(&[w(1.0), NewEdge { weight: 1.0, ..edge("ab", "b", "a") }], 1).unwrap_err();
        assert_eq!(err.code, Code::InvalidArgument);
        assert!(err.message.contains("edges[1]"));
        assert_eq!(db.get_edge("ab").unwrap().unwrap().weight, 1.0, "a failing call changes nothing");
        assert_eq!(db.stats().unwrap().edges, 1);
    }

    #[test]
    fn edges_need_both_endpoints() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(dir.path());
        db.insert_node(&node("a", "P"), 1).unwrap();
        let err = db.insert_edge(&edge("e", "a", "ghost"), 1).unwrap_err();
        assert_eq!(err.code, Code::NotFound);
        assert!(err.message.contains("ghost"));
        assert_eq!(db.stats().unwrap().edges, 0);
    }

    #[test]
    fn update_merges_shallowly_and_null_deletes() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(dir.path());
        db.insert_node(&NewNode { id: "a".into(), node_type: "P".into(), properties: r#"{"x":1,"y":2}"#.into() }, 1).unwrap();
        let n = db.update_node("a", r#"{"y":null,"z":{"k":true}}"#, 5).unwrap();
        assert_eq!(n.properties, r#"{"x":1,"z":{"k":true}}"#);
        assert_eq!((n.created_at, n.updated_at), (1, 5));
        assert_eq!(db.update_node("nope", "{}", 5).unwrap_err().code, Code::NotFound);
    }

    #[test]
    fn search_returns_true_nearest_neighbours_with_filters() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(dir.path());
        db.ensure_space("s", &spec(2)).unwrap();
        for i in 0..50 {
            let id = format!("n{i}");
            db.insert_node(&node(&id, if i % 2 == 0 { "Even" } else { "Odd" }), 1).unwrap();
            db.insert_embedding(&id, "s", &[i as f32, 0.0]).unwrap();
        }
        let hits = db.search("s", &[10.2, 0.0], &request(3, NodeFilter::default())).unwrap();
        let ids: Vec<_> = hits.iter().map(|h| h.id.as_str()).collect();
        assert_eq!(ids, ["n10", "n11", "n9"]);
        let odd = request(2, NodeFilter { types: Some(vec!["Odd".into()]), ..NodeFilter::default() });
        let ids: Vec<_> = db.search("s", &[10.2, 0.0], &odd).unwrap().into_iter().map(|h| h.id).collect();
        assert_eq!(ids, ["n11", "n9"]);
        assert_eq!(db.search("s", &[1.0], &odd).unwrap_err().code, Code::DimensionMismatch);
        assert_eq!(db.search("s", &[f32::NAN, 0.0], &odd).unwrap_err().code, Code::InvalidArgument);
        assert_eq!(db.search("nope", &[1.0, 0.0], &odd).unwrap_err().code, Code::NotFound);
    }

    #[test]
    fn spaces_cannot_be_redeclared_differently() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(dir.path());
        db.ensure_space("s", &spec(2)).unwrap();
        db.ensure_space("s", &spec(2)).unwrap();
        assert_eq!(db.ensure_space("s", &spec(3)).unwrap_err().code, Code::InvalidArgument);
        let hnsw = SpaceSpec { index: None, ..spec(2) };
        db.ensure_space("h", &SpaceSpec { embedder: Some("hashing".into()), ..hnsw.clone() }).unwrap();
        // Left out means "as stored"; given means "must equal".
        db.ensure_space("h", &hnsw).unwrap();
        db.ensure_space("h", &SpaceSpec { m: Some(16), ..hnsw.clone() }).unwrap();
        for different in [SpaceSpec { m: Some(32), ..hnsw.clone() }, SpaceSpec { embedder: Some("other".into()), ..hnsw.clone() }, spec(2)] {
            let err = db.ensure_space("h", &different).unwrap_err();
            assert_eq!(err.code, Code::InvalidArgument);
            assert!(err.message.contains("\"h\""));
        }
        let stored = &db.stats().unwrap().spaces[0];
        assert_eq!((stored.spec.index.as_deref(), stored.spec.m, stored.spec.embedder.as_deref()), (Some("hnsw"), Some(16), Some("hashing")));
    }

    #[test]
    fn the_map_grows_when_full() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path(), OpenOptions { map_size: Some(1 << 20), ..OpenOptions::default() }).unwrap();
        let big = format!(r#"{{"blob":"{}"}}"#, "x".repeat(64 * 1024));
        for i in 0..64 {
            db.insert_node(&NewNode { id: format!("n{i}"), node_type: "Blob".into(), properties: big.clone() }, 1).unwrap();
        }
        assert_eq!(db.stats().unwrap().nodes, 64);
        // A batch that does not fit is retried whole in the grown map.
        let batch: Vec<NewNode> =
            (0..64).map(|i| NewNode { id: format!("b{i}"), node_type: "Blob".into(), properties: big.clone() }).collect();
        db.insert_nodes(&batch, 1).unwrap();
        assert_eq!(db.stats().unwrap().nodes, 128);
    }

    #[test]
    fn one_environment_per_path_and_data_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let a = open(dir.path());
        let b = open(dir.path());
        a.insert_node(&node("x", "P"), 1).unwrap();
        assert!(b.get_node("x").unwrap().is_some());
        drop((a, b));
        assert_eq!(open(dir.path()).get_node("x").unwrap().unwrap().node_type, "P");
    }

    #[test]
    fn read_only_handles_refuse_writes() {
        let dir = tempfile::tempdir().unwrap();
        drop(open(dir.path()));
        let ro = Database::open(dir.path(), OpenOptions { read_only: true, ..OpenOptions::default() }).unwrap();
        assert_eq!(ro.insert_node(&node("x", "P"), 1).unwrap_err().code, Code::ReadOnly);
        let missing = dir.path().join("missing");
        let err = Database::open(&missing, OpenOptions { read_only: true, ..OpenOptions::default() }).err().unwrap();
        assert_eq!(err.code, Code::NotFound);
        assert!(!missing.exists());
    }

    #[test]
    fn records_over_max_record_bytes_are_refused_naming_the_largest_property_and_nothing_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path(), OpenOptions { max_record_bytes: 1024, ..OpenOptions::default() }).unwrap();
        let blob = format!(r#"{{"title":"t","content":"{}"}}"#, "x".repeat(2000));
        let err = db.insert_node(&NewNode { properties: blob.clone(), ..node("big", "P") }, 1).unwrap_err();
        assert_eq!(err.code, Code::InvalidArgument);
        assert!(err.message.contains(r#"node "big""#) && err.message.contains(r#"largest property is "content" (2002 bytes)"#), "{}", err.message);
        assert!(db.get_node("big").unwrap().is_none());
        let batch = db.insert_nodes(&[node("ok", "P"), NewNode { properties: blob.clone(), ..node("big", "P") }], 1).unwrap_err();
        assert_eq!(batch.code, Code::InvalidArgument);
        assert!(db.get_node("ok").unwrap().is_none(), "a batch with an oversized record writes nothing");
        // Growing a record past the limit by updates is refused too, leaving it as it was.
        db.insert_node(&node("small", "P"), 1).unwrap();
        let grow = format!(r#"{{"content":"{}"}}"#, "y".repeat(1500));
        assert_eq!(db.update_node("small", &grow, 2).unwrap_err().code, Code::InvalidArgument);
        assert_eq!(db.get_node("small").unwrap().unwrap().properties, "{}");
        db.insert_node(&node("b", "P"), 1).unwrap();
        let edge_blob = NewEdge { properties: blob, ..edge("e", "small", "b") };
        assert_eq!(db.insert_edge(&edge_blob, 1).unwrap_err().code, Code::InvalidArgument);
        db.insert_edge(&edge("e", "small", "b"), 1).unwrap();
        assert_eq!(db.update_edge("e", &grow, None).unwrap_err().code, Code::InvalidArgument);
    }

    #[test]
    fn a_waiting_writer_gets_locked_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path(), OpenOptions { busy_timeout_ms: 50, ..OpenOptions::default() }).unwrap();
        let other = db.clone();
        let (started, wait) = std::sync::mpsc::channel();
        let holder = std::thread::spawn(move || {
            other
                .write(|_, _| {
                    started.send(()).unwrap();
                    std::thread::sleep(Duration::from_millis(400));
                    Ok(())
                })
                .unwrap();
        });
        wait.recv().unwrap();
        let err = db.insert_node(&node("x", "P"), 1).unwrap_err();
        assert_eq!(err.code, Code::Locked);
        assert!(err.message.contains(&dir.path().canonicalize().unwrap().display().to_string()));
        holder.join().unwrap();
        db.insert_node(&node("x", "P"), 1).unwrap();
    }

    #[test]
    fn damaged_records_are_corruption_not_data() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(dir.path());
        db.insert_node(&node("x", "P"), 1).unwrap();
        db.write(|txn, t| {
            let k = u64_key(1);
            let mut v = t.nodes.get(txn, &k)?.unwrap().to_vec();
            let last = v.len() - 1;
            v[last] ^= 0xff;
            Ok(t.nodes.put(txn, &k, &v)?)
        })
        .unwrap();
        let err = db.get_node("x").unwrap_err();
        assert_eq!(err.code, Code::Corruption);
        assert!(err.message.contains("node record #1"));
    }
}

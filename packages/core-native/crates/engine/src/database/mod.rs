//! `Database`: one handle on a database directory, with its own durability,
//! busy timeout and read-only flag, over the process-wide shared [`Store`].
//!
//! Every write validates its whole input before the first put and runs in one
//! LMDB transaction, so a failing call writes nothing.

pub(crate) mod batch;

use crate::storage::codec::{self, open as unseal, read_u64_be, seal, u64_key};
use crate::storage::counters;
use crate::error::{Code, Error, Result};
use crate::storage::filter::NodeFilter;
use crate::storage::indexes::{self, PropertyChange};
use crate::storage::keys;
use crate::storage::records::{Edge, Node};
use crate::storage::store::{Store, Tables};
use crate::storage::transaction::Transaction;
use crate::storage::writer_lock::WriterGuard;
use crate::storage::writing::{Held, Writing};
use crate::vector::index::{GraphStats, SpaceIndex};
use crate::vector::search::{self as vector_search, SearchRequest};
use crate::vector::space::{self as vectors, Space, SpaceSpec};
use heed::{RoTxn, RwTxn};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// The on-disk format this build writes (and the newest it reads; older
/// ones are upgraded on open, see `upgrade`).
pub const FORMAT_VERSION: u32 = crate::ops::upgrade::FORMAT_VERSION;
/// Longest public id, in UTF-8 bytes (LMDB keys are at most 511 bytes).
pub const MAX_ID_BYTES: usize = 256;
/// Longest node or edge type, in UTF-8 bytes.
pub const MAX_TYPE_BYTES: usize = 128;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    /// Every commit is on disk when the call returns.
    Immediate,
    /// One fsync per commit; an OS crash may lose the last commit.
    Relaxed,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OpenOptions {
    #[serde(default = "default_durability")]
    pub durability: Durability,
    #[serde(default = "default_busy_timeout")]
    pub busy_timeout_ms: u64,
    #[serde(default)]
    pub read_only: bool,
    /// Initial LMDB map size in bytes; the map doubles whenever it fills.
    #[serde(default)]
    pub map_size: Option<usize>,
    /// Largest node or edge record (id, type and properties as JSON) a write
    /// may store; larger ones are `INVALID_ARGUMENT`, so a stray blob cannot
    /// bloat the file.
    #[serde(default = "default_max_record_bytes")]
    pub max_record_bytes: usize,
}

/// Default of [`OpenOptions::max_record_bytes`]: 16 MiB.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 16 << 20;

fn default_max_record_bytes() -> usize {
    DEFAULT_MAX_RECORD_BYTES
}

fn default_durability() -> Durability {
    Durability::Immediate
}
fn default_busy_timeout() -> u64 {
    5000
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions { durability: Durability::Immediate, busy_timeout_ms: 5000, read_only: false, map_size: None, max_record_bytes: DEFAULT_MAX_RECORD_BYTES }
    }
}

/// A node to insert.
#[derive(Debug, Clone, Deserialize)]
pub struct NewNode {
    pub id: String,
    #[serde(rename = "type")]
    pub node_type: String,
    /// A JSON object, as text.
    pub properties: String,
}

/// An edge to insert.
#[derive(Debug, Clone)]
pub struct NewEdge {
    pub id: String,
    pub edge_type: String,
    pub from: String,
    pub to: String,
    pub properties: String,
    pub weight: f64,
}

/// Which edges `delete_edges` removes: `ids`, or all of `edge_type`,
/// narrowed by `from` and/or `to`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EdgeSelector {
    #[serde(default)]
    pub ids: Option<Vec<String>>,
    #[serde(default, rename = "type")]
    pub edge_type: Option<String>,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SearchHit {
    pub id: String,
    pub distance: f32,
}

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

/// A handle on a database, or on one open transaction of it (see
/// [`Database::begin`]): the same operations run either way.
#[derive(Clone)]
pub struct Database {
    store: Arc<Store>,
    options: OpenOptions,
    transaction: Option<Arc<Transaction>>,
}

pub(crate) const META_FORMAT: &[u8] = b"format_version";
const META_NEXT_SPACE: &[u8] = b"next_space_id";
pub(crate) const META_NEXT_INDEX: &[u8] = b"next_index_id";
const SPACE_PREFIX: &str = "space/";
pub(crate) const SPACE_COUNT_PREFIX: &str = "space_count/";

/// What a change-log entry records; pruned by the index checkpoints.
#[repr(u8)]
#[derive(Clone, Copy)]
pub(crate) enum Change {
    NodePut = 1,
    NodeDelete = 2,
    EdgePut = 3,
    EdgeDelete = 4,
    EmbeddingPut = 5,
    EmbeddingDelete = 6,
}

impl Database {
    /// Opens or creates the database directory at `path`.
    pub fn open(path: &Path, options: OpenOptions) -> Result<Database> {
        let store = Store::open(path, !options.read_only, options.map_size, Duration::from_millis(options.busy_timeout_ms))?;
        let db = Database { store, options, transaction: None };
        db.check_format()?;
        Ok(db)
    }

    pub fn path(&self) -> &Path {
        &self.store.path
    }

    fn check_format(&self) -> Result<()> {
        let found = self.store.read(|txn, t| get_meta_u64(txn, t, META_FORMAT))?;
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
            Some(_) | None if self.options.read_only => Ok(()),
            Some(v) => crate::ops::upgrade::upgrade(self, v),
            None => self.write(|txn, t| crate::ops::upgrade::stamp_new(txn, t)),
        }
    }

    pub(crate) fn store(&self) -> &Arc<Store> {
        &self.store
    }

    pub(crate) fn is_transaction(&self) -> bool {
        self.transaction.is_some()
    }

    /// The transaction this handle is bound to, if any.
    pub(crate) fn open_transaction(&self) -> Option<&Arc<Transaction>> {
        self.transaction.as_ref()
    }

    /// The durability of this handle's own commits.
    pub(crate) fn durability(&self) -> Durability {
        self.options.durability
    }

    pub(crate) fn writable(&self) -> Result<()> {
        if self.options.read_only {
            return Err(Error::new(
                Code::ReadOnly,
                format!("database {} was opened with readOnly: true", self.path().display()),
            ));
        }
        Ok(())
    }

    pub(crate) fn durable(&self) -> bool {
        self.options.durability == Durability::Immediate
    }

    pub(crate) fn busy_timeout(&self) -> Duration {
        Duration::from_millis(self.options.busy_timeout_ms)
    }

    /// One atomic write: in the open transaction, or in a commit of its own.
    pub(crate) fn write<T>(&self, mut f: impl FnMut(&mut RwTxn<'_>, &Writing) -> Result<T>) -> Result<T> {
        self.writable()?;
        let mut call = |txn: &mut RwTxn<'_>, t: &Tables| {
            let w = Writing::new(t, self.options.max_record_bytes);
            let value = f(txn, &w)?;
            w.finish(txn)?;
            Ok(value)
        };
        match &self.transaction {
            Some(tx) => tx.write(call),
            None => self.store.write(self.busy_timeout(), self.durable(), &mut call),
        }
    }

    /// A consistent read: of the open transaction (its own writes included),
    /// or of the last commit.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&RoTxn<'_>, &Tables) -> Result<T>) -> Result<T> {
        match &self.transaction {
            Some(tx) => tx.read(f),
            None => self.store.read(|txn, t| f(txn, t)),
        }
    }

    // ---- transactions ----

    /// Takes the writer lock, waiting up to the busy timeout. May run on any
    /// thread; pass the guard to [`Database::begin`] on the thread that will
    /// use the transaction.
    pub fn lock_writer(&self) -> Result<WriterGuard> {
        self.writable()?;
        if self.transaction.is_some() {
            return Err(Error::invalid("a transaction is already open on this handle; use a savepoint to nest"));
        }
        self.store.acquire_writer(self.busy_timeout())
    }

    /// Begins a transaction on the calling thread and returns a handle on it:
    /// its reads see its writes, nobody else sees them before
    /// [`Transaction::commit`], and other writers wait until it ends.
    pub fn begin(&self, writer: WriterGuard) -> Result<(Arc<Transaction>, Database)> {
        self.begin_with(writer, self.options.durability)
    }

    /// As [`Database::begin`], committing with `durability` instead of the
    /// handle's: `Relaxed` suits work that can be redone after an OS crash,
    /// such as items acknowledged from a durable queue in the same commit.
    pub fn begin_with(&self, writer: WriterGuard, durability: Durability) -> Result<(Arc<Transaction>, Database)> {
        let tx = Arc::new(Transaction::begin(&self.store, writer, durability == Durability::Immediate)?);
        Ok((Arc::clone(&tx), Database { transaction: Some(tx), ..self.clone() }))
    }

    // ---- nodes ----

    pub fn insert_node(&self, node: &NewNode, now: i64) -> Result<Node> {
        let _timer = self.timer(crate::storage::metrics::Op::Insert);
        validate_node(node)?;
        self.write(|txn, t| insert_node(txn, t, node, now))
    }

    /// All-or-nothing: every node is validated, then all are written in one commit.
    /// Returns how many were inserted.
    pub fn insert_nodes(&self, nodes: &[NewNode], now: i64) -> Result<u64> {
        let _timer = self.timer(crate::storage::metrics::Op::Insert);
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
        let _timer = self.timer(crate::storage::metrics::Op::Get);
        self.read(|txn, t| match lookup(txn, t.node_ids, id)? {
            Some(key) => read_node(txn, t, key).map(Some),
            None => Ok(None),
        })
    }

    /// Shallow-merges `patch` (a JSON object as text) into the properties; a
    /// `null` value deletes its key.
    pub fn update_node(&self, id: &str, patch: &str, now: i64) -> Result<Node> {
        let _timer = self.timer(crate::storage::metrics::Op::Update);
        let patch: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(patch).map_err(|e| Error::invalid(format!("properties must be a JSON object: {e}")))?;
        self.write(|txn, t| {
            let key = lookup(txn, t.node_ids, id)?.ok_or_else(|| Error::not_found(format!("node \"{id}\" does not exist")))?;
            let mut node = read_node(txn, t, key)?;
            let mut props: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&node.properties)
                .map_err(|_| Error::corruption(format!("node \"{id}\" holds properties that are not a JSON object")))?;
            for (k, v) in &patch {
                if v.is_null() {
                    props.remove(k);
                } else {
                    props.insert(k.clone(), v.clone());
                }
            }
            let before = std::mem::replace(&mut node.properties, serde_json::to_string(&props).expect("JSON map serializes"));
            node.updated_at = now.max(node.created_at);
            let record = t.sized_record("node", id, node.encode(), &node.properties)?;
            reindex(txn, t, &node.node_type, key, &PropertyChange::new(Some(&before), Some(&node.properties)))?;
            let k = u64_key(key);
            t.nodes.put(txn, &k, &seal(&k, &record))?;
            log_change(txn, t, Change::NodePut, key, 0)?;
            Ok(node)
        })
    }

    /// Deletes the node, its edges and its embeddings. `false` when absent.
    pub fn delete_node(&self, id: &str) -> Result<bool> {
        let _timer = self.timer(crate::storage::metrics::Op::Delete);
        self.write(|txn, t| match lookup(txn, t.node_ids, id)? {
            Some(key) => delete_node(txn, t, key).map(|()| true),
            None => Ok(false),
        })
    }

    /// Deletes the listed nodes (absent ones are skipped) or every node the
    /// filter admits, with their edges and embeddings, in one commit.
    /// Returns how many were deleted.
    pub fn delete_nodes(&self, filter: &NodeFilter) -> Result<u64> {
        let _timer = self.timer(crate::storage::metrics::Op::Delete);
        self.write(|txn, t| {
            let doomed: Vec<u64> = match_nodes(txn, t, filter)?;
            for &key in &doomed {
                delete_node(txn, t, key)?;
            }
            Ok(doomed.len() as u64)
        })
    }

    /// Deletes the listed edges, or every edge of `edge_type` (optionally only
    /// those from and/or to the given nodes), in one commit. Returns the count.
    pub fn delete_edges(&self, selector: &EdgeSelector) -> Result<u64> {
        let _timer = self.timer(crate::storage::metrics::Op::Delete);
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
        let _timer = self.timer(crate::storage::metrics::Op::Insert);
        validate_edge(edge)?;
        self.write(|txn, t| insert_edge(txn, t, edge, now).map(|(_, e)| e))
    }

    /// All-or-nothing: every edge is validated, then all are written in one commit.
    /// Returns how many were inserted.
    pub fn insert_edges(&self, edges: &[NewEdge], now: i64) -> Result<u64> {
        let _timer = self.timer(crate::storage::metrics::Op::Insert);
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
        self.write(|txn, t| crate::storage::counters::add(txn, t, items, now))
    }

    pub fn get_edge(&self, id: &str) -> Result<Option<Edge>> {
        let _timer = self.timer(crate::storage::metrics::Op::Get);
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
        self.write(|txn, t| {
            let key = lookup(txn, t.edge_ids, id)?.ok_or_else(|| Error::not_found(format!("edge \"{id}\" does not exist")))?;
            let mut edge = read_edge_record(txn, t, key)?;
            if !patch.is_empty() {
                let mut props: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&edge.properties)
                    .map_err(|_| Error::corruption(format!("edge \"{id}\" holds properties that are not a JSON object")))?;
                for (k, v) in &patch {
                    if v.is_null() {
                        props.remove(k);
                    } else {
                        props.insert(k.clone(), v.clone());
                    }
                }
                edge.properties = serde_json::to_string(&props).expect("JSON map serializes");
            }
            if let Some(w) = weight {
                // A counter's record keeps its marker; the weight is stored beside it.
                if counters::is_marker(edge.weight) {
                    let identity = counters::identity(&edge.edge_type, &edge.from, &edge.to);
                    counters::put(txn, t, &edge.id, counters::Counter { weight: w, identity, key })?;
                } else {
                    edge.weight = w;
                }
            }
            let record = t.sized_record("edge", id, edge.encode(), &edge.properties)?;
            let k = u64_key(key);
            t.edges.put(txn, &k, &seal(&k, &record))?;
            match weight {
                Some(w) => edge.weight = w,
                None => counters::resolve(txn, t, key, &mut edge)?,
            }
            log_change(txn, t, Change::EdgePut, key, 0)?;
            Ok(edge)
        })
    }

    pub fn delete_edge(&self, id: &str) -> Result<bool> {
        let _timer = self.timer(crate::storage::metrics::Op::Delete);
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
        self.write(|txn, t| {
            if let Some(existing) = find_space(txn, t, name)? {
                return same_spec(&existing, spec);
            }
            let id = u32::try_from(get_meta_u64(txn, t, META_NEXT_SPACE)?.unwrap_or(1))
                .map_err(|_| Error::internal("space ids exhausted"))?;
            put_meta_u64(txn, t, META_NEXT_SPACE, u64::from(id) + 1)?;
            write_space(txn, t, &Space { id, name: name.to_owned(), spec: spec.clone() })
        })
    }

    pub fn spaces(&self) -> Result<Vec<Space>> {
        self.read(list_spaces)
    }

    /// Stores (or replaces) the node's vector in `space`.
    pub fn insert_embedding(&self, node_id: &str, space: &str, vector: &[f32]) -> Result<()> {
        let _timer = self.timer(crate::storage::metrics::Op::Insert);
        self.write(|txn, t| insert_embedding(txn, t, node_id, space, vector))
    }

    /// All-or-nothing: `(nodeId, space, vector)` items in one commit. Then,
    /// outside a transaction, brings the HNSW graphs of the spaces written up
    /// to date, adding on every core.
    pub fn insert_embeddings(&self, items: &[(String, String, Vec<f32>)]) -> Result<()> {
        let _timer = self.timer(crate::storage::metrics::Op::Insert);
        self.write(|txn, t| {
            for (i, (node, space, vector)) in items.iter().enumerate() {
                insert_embedding(txn, t, node, space, vector).map_err(|e| in_batch("embeddings", i, e))?;
            }
            Ok(())
        })?;
        if self.transaction.is_none() {
            let names: HashSet<&str> = items.iter().map(|(_, space, _)| space.as_str()).collect();
            self.store.read(|txn, t| {
                for name in names {
                    let space = require_space(txn, t, name)?;
                    if let Some(params) = space.spec.hnsw() {
                        self.store.vectors.current(txn, t, &space, params)?;
                    }
                }
                Ok(())
            })?;
        }
        Ok(())
    }

    pub fn get_embedding(&self, node_id: &str, space: &str) -> Result<Option<Vec<f32>>> {
        let _timer = self.timer(crate::storage::metrics::Op::Get);
        self.read(|txn, t| {
            let space = require_space(txn, t, space)?;
            let Some(node) = lookup(txn, t.node_ids, node_id)? else { return Ok(None) };
            let k = keys::embedding(space.id, node);
            match t.embeddings.get(txn, &k)? {
                Some(v) => {
                    let payload = unseal(&k, v, || format!("embedding of node \"{node_id}\" in space \"{}\"", space.name))?;
                    let mut out = Vec::new();
                    vectors::decode_into(payload, &mut out)?;
                    Ok(Some(out))
                }
                None => Ok(None),
            }
        })
    }

    /// The `k` nearest nodes to `query` in `space` that pass the filter,
    /// nearest first: exact scan or HNSW as `vector_search` plans it, and
    /// `k` results whenever `k` passing nodes have a vector. Inside a
    /// transaction the scan is exact (the graph holds committed data only).
    pub fn search(&self, space: &str, query: &[f32], request: &SearchRequest) -> Result<Vec<SearchHit>> {
        let _timer = self.timer(crate::storage::metrics::Op::Search);
        request.validate()?;
        self.read(|txn, t| {
            let space = require_space(txn, t, space)?;
            vectors::check_vector(&space, query)?;
            let graph = if request.exact { None } else { self.graph_of(txn, t, &space)? };
            let guard = graph.as_ref().map(|g| g.graph());
            vector_search::nearest(txn, t, &space, query, request, guard.as_deref())?
                .into_iter()
                .map(|(distance, node)| Ok(SearchHit { id: read_node(txn, t, node)?.id, distance }))
                .collect()
        })
    }

    /// The HNSW graph of `space`, caught up to `txn`; `None` for a `flat`
    /// space and inside a transaction (the graph holds committed data only).
    pub(crate) fn graph_of(&self, txn: &RoTxn, t: &Tables, space: &Space) -> Result<Option<Arc<SpaceIndex>>> {
        match space.spec.hnsw() {
            Some(params) if self.transaction.is_none() => Ok(Some(self.store.vectors.current(txn, t, space, params)?)),
            _ => Ok(None),
        }
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
                    let graph = s.spec.hnsw().map(|_| self.store.vectors.stats(&s).unwrap_or_default());
                    Ok(SpaceStats { embeddings: space_count(txn, t, s.id)?, name: s.name, spec: s.spec, graph })
                })
                .collect::<Result<_>>()?;
            Ok(Stats {
                nodes: t.nodes.len(txn)?,
                edges: t.edges.len(txn)?,
                spaces,
                indexes: std::iter::once(Ok(IndexStats { name: "nodeType".into(), kind: "type".into(), node_type: None, property: None, entries: t.node_types.len(txn)? }))
                    .chain(indexes::list(txn, t, None)?.into_iter().map(|d| {
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

fn validate_id(what: &str, id: &str) -> Result<()> {
    if id.is_empty() || id.len() > MAX_ID_BYTES {
        return Err(Error::invalid(format!("{what} must be 1 to {MAX_ID_BYTES} bytes, got {} bytes: {id:?}", id.len())));
    }
    Ok(())
}

fn validate_type(what: &str, ty: &str) -> Result<()> {
    if ty.is_empty() || ty.len() > MAX_TYPE_BYTES || ty.contains('\0') {
        return Err(Error::invalid(format!("{what} must be 1 to {MAX_TYPE_BYTES} bytes without NUL, got {ty:?}")));
    }
    Ok(())
}

fn validate_properties(json: &str) -> Result<()> {
    match serde_json::from_str::<serde_json::Value>(json) {
        Ok(serde_json::Value::Object(_)) => Ok(()),
        Ok(_) => Err(Error::invalid("properties must be a JSON object")),
        Err(e) => Err(Error::invalid(format!("properties are not valid JSON: {e}"))),
    }
}

pub(crate) fn validate_edge(e: &NewEdge) -> Result<()> {
    validate_id("edge id", &e.id)?;
    validate_type("edge type", &e.edge_type)?;
    // An empty endpoint would reach LMDB as an empty key (MDB_BAD_VALSIZE, an IO error).
    validate_id("edge from", &e.from)?;
    validate_id("edge to", &e.to)?;
    validate_properties(&e.properties)?;
    if !e.weight.is_finite() {
        return Err(Error::invalid(format!("edge weight must be a finite number, got {}", e.weight)));
    }
    Ok(())
}

pub(crate) fn validate_node(n: &NewNode) -> Result<()> {
    validate_id("node id", &n.id)?;
    validate_type("node type", &n.node_type)?;
    validate_properties(&n.properties)
}

pub(crate) fn validate_space_name(name: &str) -> Result<()> {
    validate_name("space name", name)
}

/// A name of a space or a text index: 1 to 64 characters of `[A-Za-z0-9_-]` (it names files and meta keys).
pub(crate) fn validate_name(what: &str, name: &str) -> Result<()> {
    if name.is_empty() || name.len() > 64 || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        return Err(Error::invalid(format!("{what} must be 1 to 64 characters of [A-Za-z0-9_-], got {name:?}")));
    }
    Ok(())
}

fn same_spec(existing: &Space, spec: &SpaceSpec) -> Result<()> {
    if existing.spec.admits(spec) {
        Ok(())
    } else {
        let json = |s: &SpaceSpec| serde_json::to_string(s).expect("a spec serializes");
        Err(Error::invalid(format!(
            "space \"{}\" already exists as {}; it was declared again as {}",
            existing.name,
            json(&existing.spec),
            json(spec)
        )))
    }
}

// ---- table helpers (all inside a caller's transaction) ----

pub(crate) fn lookup(txn: &RoTxn, table: crate::storage::store::Table, id: &str) -> Result<Option<u64>> {
    match table.get(txn, id.as_bytes())? {
        Some(v) => {
            let p = unseal(id.as_bytes(), v, || format!("id map entry \"{id}\""))?;
            if p.len() != 8 {
                return Err(Error::corruption(format!("id map entry \"{id}\" has {} bytes", p.len())));
            }
            Ok(Some(read_u64_be(p)))
        }
        None => Ok(None),
    }
}

pub(crate) fn read_node(txn: &RoTxn, t: &Tables, key: u64) -> Result<Node> {
    let k = u64_key(key);
    let v = t.nodes.get(txn, &k)?.ok_or_else(|| Error::corruption(format!("node record #{key} is missing")))?;
    Node::decode(unseal(&k, v, || format!("node record #{key}"))?)
}

pub(crate) fn read_edge(txn: &RoTxn, t: &Tables, key: u64) -> Result<Edge> {
    let mut edge = read_edge_record(txn, t, key)?;
    counters::resolve(txn, t, key, &mut edge)?;
    Ok(edge)
}

/// The edge record as stored: a counter edge's weight is [`counters::MARKER`].
pub(crate) fn read_edge_record(txn: &RoTxn, t: &Tables, key: u64) -> Result<Edge> {
    let k = u64_key(key);
    let v = t.edges.get(txn, &k)?.ok_or_else(|| Error::corruption(format!("edge record #{key} is missing")))?;
    Edge::decode(unseal(&k, v, || format!("edge record #{key}"))?)
}

pub(crate) fn insert_node(txn: &mut RwTxn, t: &Writing, n: &NewNode, now: i64) -> Result<Node> {
    if lookup(txn, t.node_ids, &n.id)?.is_some() {
        return Err(Error::already_exists(format!("node \"{}\" already exists", n.id)));
    }
    let now = t.monotonic(txn, now)?;
    let key = t.next_id(txn)?;
    let node = Node { id: n.id.clone(), node_type: n.node_type.clone(), properties: n.properties.clone(), created_at: now, updated_at: now };
    let record = t.sized_record("node", &n.id, node.encode(), &node.properties)?;
    let k = u64_key(key);
    t.append(txn, t.nodes, &k, &seal(&k, &record))?;
    t.put_held(Held::NodeIds, n.id.as_bytes().to_vec(), seal(n.id.as_bytes(), &k));
    let tk = keys::node_type(&n.node_type, key);
    let tv = seal(&tk, &[]);
    t.put_held(Held::NodeTypes, tk, tv);
    reindex(txn, t, &node.node_type, key, &PropertyChange::new(None, Some(&node.properties)))?;
    log_change(txn, t, Change::NodePut, key, 0)?;
    Ok(node)
}

/// Inserts an edge; returns its internal key and record.
pub(crate) fn insert_edge(txn: &mut RwTxn, t: &Writing, edge: &NewEdge, now: i64) -> Result<(u64, Edge)> {
    if lookup(txn, t.edge_ids, &edge.id)?.is_some() {
        return Err(Error::already_exists(format!("edge \"{}\" already exists", edge.id)));
    }
    let endpoint = |txn: &RwTxn<'_>, role: &str, id: &str| {
        t.node_key(txn, id)?.ok_or_else(|| Error::not_found(format!("edge {role} node \"{id}\" does not exist")))
    };
    let from_key = endpoint(txn, "from", &edge.from)?;
    let to_key = endpoint(txn, "to", &edge.to)?;
    let now = t.monotonic(txn, now)?;
    let key = t.next_id(txn)?;
    let record = Edge {
        id: edge.id.clone(),
        edge_type: edge.edge_type.clone(),
        from: edge.from.clone(),
        to: edge.to.clone(),
        from_key,
        to_key,
        properties: edge.properties.clone(),
        weight: edge.weight,
        created_at: now,
    };
    let encoded = t.sized_record("edge", &edge.id, record.encode(), &record.properties)?;
    let k = u64_key(key);
    t.append(txn, t.edges, &k, &seal(&k, &encoded))?;
    t.put_held(Held::EdgeIds, edge.id.as_bytes().to_vec(), seal(edge.id.as_bytes(), &k));
    let out = keys::adjacency(from_key, &edge.edge_type, to_key, key);
    let out_value = seal(&out, &[]);
    t.put_held(Held::OutAdj, out, out_value);
    let inn = keys::adjacency(to_key, &edge.edge_type, from_key, key);
    let in_value = seal(&inn, &[]);
    t.put_held(Held::InAdj, inn, in_value);
    log_change(txn, t, Change::EdgePut, key, 0)?;
    Ok((key, record))
}

fn insert_embedding(txn: &mut RwTxn, t: &Writing, node_id: &str, space: &str, vector: &[f32]) -> Result<()> {
    let space = require_space(txn, t, space)?;
    vectors::check_vector(&space, vector)?;
    let node = lookup(txn, t.node_ids, node_id)?.ok_or_else(|| Error::not_found(format!("node \"{node_id}\" does not exist")))?;
    put_embedding(txn, t, &space, node, vector)
}

/// Removes a node record with its id, type entry, edges and embeddings.
fn delete_node(txn: &mut RwTxn, t: &Writing, key: u64) -> Result<()> {
    t.forget_node_keys();
    let node = read_node(txn, t, key)?;
    for table in [t.out_adj, t.in_adj] {
        for (_, edge) in scan_adjacency(txn, table, key)? {
            // A self-loop shows in both directions; delete it once.
            if t.edges.get(txn, &u64_key(edge))?.is_some() {
                delete_edge_record(txn, t, edge)?;
            }
        }
    }
    for space in list_spaces(txn, t)? {
        delete_embedding(txn, t, &space, key)?;
    }
    crate::storage::fault::check(crate::storage::fault::Point::Write)?;
    t.node_types.delete(txn, &keys::node_type(&node.node_type, key))?;
    reindex(txn, t, &node.node_type, key, &PropertyChange::new(Some(&node.properties), None))?;
    crate::storage::fault::check(crate::storage::fault::Point::Write)?;
    t.nodes.delete(txn, &u64_key(key))?;
    crate::storage::fault::check(crate::storage::fault::Point::Write)?;
    t.node_ids.delete(txn, node.id.as_bytes())?;
    log_change(txn, t, Change::NodeDelete, key, 0)
}

/// Internal keys of the nodes `filter` admits, in key order.
pub(crate) fn match_nodes(txn: &RoTxn, t: &Tables, filter: &NodeFilter) -> Result<Vec<u64>> {
    let keys: Vec<u64> = match node_candidates(txn, t, filter, true)? {
        Some(keys) => keys,
        None => {
            let mut all = Vec::new();
            for entry in t.nodes.iter(txn)? {
                all.push(read_u64_be(entry?.0));
            }
            all
        }
    };
    if filter.conditions.is_empty() {
        return Ok(keys);
    }
    let mut out = Vec::new();
    for key in keys {
        if filter.properties_pass(&read_node(txn, t, key)?.properties)? {
            out.push(key);
        }
    }
    Ok(out)
}

fn match_edges(txn: &RoTxn, t: &Tables, selector: &EdgeSelector) -> Result<Vec<u64>> {
    if let Some(ids) = &selector.ids {
        let mut keys = Vec::new();
        for id in ids {
            if let Some(k) = lookup(txn, t.edge_ids, id)? {
                keys.push(k);
            }
        }
        keys.sort_unstable();
        keys.dedup();
        return Ok(keys);
    }
    let edge_type = selector.edge_type.as_deref().ok_or_else(|| Error::invalid("deleteEdges needs ids or a type"))?;
    // Scan from the narrower side: one endpoint's adjacency, or the whole edge table.
    let (anchor, table) = match (&selector.from, &selector.to) {
        (Some(from), _) => (Some(from), t.out_adj),
        (None, Some(to)) => (Some(to), t.in_adj),
        (None, None) => (None, t.out_adj),
    };
    let mut keys = Vec::new();
    match anchor {
        Some(id) => {
            let Some(node) = lookup(txn, t.node_ids, id)? else { return Ok(keys) };
            let mut prefix = u64_key(node).to_vec();
            prefix.extend_from_slice(edge_type.as_bytes());
            prefix.push(0);
            let other = match (&selector.from, &selector.to) {
                (Some(_), Some(to)) => Some(lookup(txn, t.node_ids, to)?),
                _ => None,
            };
            for entry in table.prefix_iter(txn, &prefix)? {
                let (k, _) = entry?;
                let (_, neighbour, edge) = keys::parse_adjacency(k).ok_or_else(|| Error::corruption("malformed adjacency key"))?;
                match other {
                    Some(Some(to)) if neighbour != to => {}
                    Some(None) => {}
                    _ => keys.push(edge),
                }
            }
        }
        None => {
            for entry in t.edges.iter(txn)? {
                let (k, v) = entry?;
                let edge = Edge::decode(unseal(k, v, || format!("edge record #{}", read_u64_be(k)))?)?;
                if edge.edge_type == edge_type {
                    keys.push(read_u64_be(k));
                }
            }
        }
    }
    keys.sort_unstable();
    keys.dedup();
    Ok(keys)
}

/// Prefixes an error with the part of a call it came from. A full map
/// passes unchanged: `Store::write` grows the map and runs the call again.
pub(crate) fn within(part: &str, e: Error) -> Error {
    if e.is_map_full() {
        return e;
    }
    Error::new(e.code, format!("{part}: {}", e.message))
}

/// Prefixes a batch item's error with its position (see [`within`]).
pub(crate) fn in_batch(what: &str, i: usize, e: Error) -> Error {
    within(&format!("{what}[{i}]"), e)
}

/// Removes an edge record, its id, both adjacency entries and its counter weight.
pub(crate) fn delete_edge_record(txn: &mut RwTxn, t: &Writing, key: u64) -> Result<()> {
    let e = read_edge_record(txn, t, key)?;
    if counters::is_marker(e.weight) {
        counters::forget(txn, t, &e.id)?;
    }
    crate::storage::fault::check(crate::storage::fault::Point::Write)?;
    t.out_adj.delete(txn, &keys::adjacency(e.from_key, &e.edge_type, e.to_key, key))?;
    crate::storage::fault::check(crate::storage::fault::Point::Write)?;
    t.in_adj.delete(txn, &keys::adjacency(e.to_key, &e.edge_type, e.from_key, key))?;
    crate::storage::fault::check(crate::storage::fault::Point::Write)?;
    t.edge_ids.delete(txn, e.id.as_bytes())?;
    crate::storage::fault::check(crate::storage::fault::Point::Write)?;
    t.edges.delete(txn, &u64_key(key))?;
    log_change(txn, t, Change::EdgeDelete, key, 0)
}

/// `(neighbour, edge)` for every adjacency entry of `node` in `table`.
fn scan_adjacency(txn: &RoTxn, table: crate::storage::store::Table, node: u64) -> Result<Vec<(u64, u64)>> {
    let mut out = Vec::new();
    for entry in table.prefix_iter(txn, &u64_key(node))? {
        let (k, _) = entry?;
        let (_, neighbour, edge) =
            keys::parse_adjacency(k).ok_or_else(|| Error::corruption(format!("adjacency key {} is malformed", codec::hex(k))))?;
        out.push((neighbour, edge));
    }
    Ok(out)
}

fn put_embedding(txn: &mut RwTxn, t: &Writing, space: &Space, node: u64, v: &[f32]) -> Result<()> {
    let k = keys::embedding(space.id, node);
    let existed = t.embeddings.get(txn, &k)?.is_some();
    crate::storage::fault::check(crate::storage::fault::Point::Write)?;
    t.embeddings.put(txn, &k, &seal(&k, &vectors::encode(v)))?;
    if !existed {
        bump_space_count(txn, t, space, 1)?;
    }
    log_change(txn, t, Change::EmbeddingPut, node, space.id)
}

pub(crate) fn delete_embedding(txn: &mut RwTxn, t: &Writing, space: &Space, node: u64) -> Result<()> {
    crate::storage::fault::check(crate::storage::fault::Point::Write)?;
    if t.embeddings.delete(txn, &keys::embedding(space.id, node))? {
        bump_space_count(txn, t, space, -1)?;
        log_change(txn, t, Change::EmbeddingDelete, node, space.id)?;
    }
    Ok(())
}

/// Vectors stored in a space.
pub(crate) fn space_count(txn: &RoTxn, t: &Tables, space: u32) -> Result<u64> {
    Ok(get_meta_u64(txn, t, format!("{SPACE_COUNT_PREFIX}{space}").as_bytes())?.unwrap_or(0))
}

fn bump_space_count(txn: &mut RwTxn, t: &Writing, space: &Space, delta: i64) -> Result<()> {
    let key = format!("{SPACE_COUNT_PREFIX}{}", space.id);
    let n = get_meta_u64(txn, t, key.as_bytes())?.unwrap_or(0);
    put_meta_u64(txn, t, key.as_bytes(), n.saturating_add_signed(delta))
}

/// Keeps the property and text indexes of `node_type` in step with one node write.
fn reindex(txn: &mut RwTxn, t: &Writing, node_type: &str, key: u64, change: &PropertyChange) -> Result<()> {
    indexes::update(txn, t, node_type, key, change)?;
    crate::text::index::update(txn, t, node_type, key, change)
}

/// The internal keys of the nodes of `node_type`, in key order.
pub(crate) fn nodes_of_type(txn: &RoTxn, t: &Tables, node_type: &str) -> Result<Vec<u64>> {
    let mut keys = Vec::new();
    for entry in t.node_types.prefix_iter(txn, &keys::node_type_prefix(node_type))? {
        let (k, _) = entry?;
        keys.push(read_u64_be(&k[k.len() - 8..]));
    }
    Ok(keys)
}

/// The internal keys of the nodes with these ids, in id order; ids of no node are left out.
pub(crate) fn node_keys(txn: &RoTxn, t: &Tables, ids: &[String]) -> Result<Vec<u64>> {
    let mut keys = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(k) = lookup(txn, t.node_ids, id)? {
            keys.push(k);
        }
    }
    Ok(keys)
}

/// The internal keys (sorted) that can pass `filter`, narrowed by its ids,
/// by a property index when one covers a condition for every listed type,
/// and else by the type index when `by_type`; `None` means "every node".
/// A superset: callers test the type and conditions on each record.
pub(crate) fn node_candidates(txn: &RoTxn, t: &Tables, filter: &NodeFilter, by_type: bool) -> Result<Option<Vec<u64>>> {
    let by_ids = match &filter.ids {
        Some(ids) => {
            let mut keys = node_keys(txn, t, ids)?;
            keys.sort_unstable();
            keys.dedup();
            Some(keys)
        }
        None => None,
    };
    let narrowed = match &filter.types {
        Some(types) => match indexed(txn, t, types, &filter.conditions)? {
            Some(keys) => Some(keys),
            None if by_type => {
                let mut keys = Vec::new();
                for ty in types {
                    for entry in t.node_types.prefix_iter(txn, &keys::node_type_prefix(ty))? {
                        let (k, _) = entry?;
                        keys.push(read_u64_be(&k[k.len() - 8..]));
                    }
                }
                keys.sort_unstable();
                keys.dedup();
                Some(keys)
            }
            None => None,
        },
        None => None,
    };
    Ok(match (by_ids, narrowed) {
        (Some(ids), Some(more)) => {
            let allowed: HashSet<u64> = more.into_iter().collect();
            Some(ids.into_iter().filter(|k| allowed.contains(k)).collect())
        }
        (a, b) => a.or(b),
    })
}

/// Candidates from property indexes: for each type, its most selective
/// indexed condition (`eq`, then `in`, then a range). `None` unless every
/// type has one.
fn indexed(txn: &RoTxn, t: &Tables, types: &[String], conditions: &[(String, crate::storage::filter::Condition)]) -> Result<Option<Vec<u64>>> {
    use crate::storage::filter::Condition;
    if conditions.is_empty() {
        return Ok(None);
    }
    let rank = |c: &Condition| match c {
        Condition::Eq(_) => 0,
        Condition::In(_) => 1,
        _ => 2,
    };
    let mut out = Vec::new();
    for ty in types {
        let defs = indexes::list(txn, t, Some(ty))?;
        let mut usable: Vec<_> = conditions
            .iter()
            .filter(|(_, c)| !matches!(c, Condition::Ne(_)))
            .filter_map(|(p, c)| defs.iter().find(|d| d.property == *p).map(|d| (d, c)))
            .collect();
        usable.sort_by_key(|(_, c)| rank(c));
        let mut found = None;
        for (def, condition) in usable {
            if let Some(keys) = indexes::candidates(txn, t, def, condition)? {
                found = Some(keys);
                break;
            }
        }
        match found {
            Some(keys) => out.extend(keys),
            None => return Ok(None),
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(Some(out))
}

pub(crate) fn find_space(txn: &RoTxn, t: &Tables, name: &str) -> Result<Option<Space>> {
    let key = format!("{SPACE_PREFIX}{name}");
    match get_meta(txn, t, key.as_bytes())? {
        Some(json) => serde_json::from_slice(json).map(Some).map_err(|e| Error::corruption(format!("space \"{name}\" definition: {e}"))),
        None => Ok(None),
    }
}

/// Stores a space's definition under its name.
pub(crate) fn write_space(txn: &mut RwTxn, t: &Tables, space: &Space) -> Result<()> {
    put_meta(txn, t, format!("{SPACE_PREFIX}{}", space.name).as_bytes(), serde_json::to_string(space).expect("serializes").as_bytes())
}

/// Moves a space's definition to another name (its id, so its vectors and count, stay).
pub(crate) fn rename_space(txn: &mut RwTxn, t: &Tables, space: &Space, name: &str, spec: SpaceSpec) -> Result<Space> {
    crate::storage::fault::check(crate::storage::fault::Point::Write)?;
    t.meta.delete(txn, format!("{SPACE_PREFIX}{}", space.name).as_bytes())?;
    let renamed = Space { id: space.id, name: name.to_owned(), spec };
    write_space(txn, t, &renamed)?;
    Ok(renamed)
}

/// Removes a space's definition and count (its vectors must be gone).
pub(crate) fn remove_space(txn: &mut RwTxn, t: &Tables, space: &Space) -> Result<()> {
    crate::storage::fault::check(crate::storage::fault::Point::Write)?;
    t.meta.delete(txn, format!("{SPACE_PREFIX}{}", space.name).as_bytes())?;
    crate::storage::fault::check(crate::storage::fault::Point::Write)?;
    t.meta.delete(txn, format!("{SPACE_COUNT_PREFIX}{}", space.id).as_bytes())?;
    Ok(())
}

pub(crate) fn require_space(txn: &RoTxn, t: &Tables, name: &str) -> Result<Space> {
    find_space(txn, t, name)?.ok_or_else(|| {
        Error::not_found(format!("space \"{name}\" does not exist; declare it with open(path, {{ spaces: {{ {name}: {{ dimensions, metric }} }} }})"))
    })
}

pub(crate) fn list_spaces(txn: &RoTxn, t: &Tables) -> Result<Vec<Space>> {
    let mut out = Vec::new();
    for entry in t.meta.prefix_iter(txn, SPACE_PREFIX.as_bytes())? {
        let (k, v) = entry?;
        let json = unseal(k, v, || format!("meta {}", String::from_utf8_lossy(k)))?;
        out.push(serde_json::from_slice(json).map_err(|e| Error::corruption(format!("space definition: {e}")))?);
    }
    Ok(out)
}

pub(crate) fn get_meta<'t>(txn: &'t RoTxn, t: &Tables, key: &[u8]) -> Result<Option<&'t [u8]>> {
    match t.meta.get(txn, key)? {
        Some(v) => unseal(key, v, || format!("meta {}", String::from_utf8_lossy(key))).map(Some),
        None => Ok(None),
    }
}

pub(crate) fn put_meta(txn: &mut RwTxn, t: &Tables, key: &[u8], value: &[u8]) -> Result<()> {
    crate::storage::fault::check(crate::storage::fault::Point::Write)?;
    Ok(t.meta.put(txn, key, &seal(key, value))?)
}

pub(crate) fn get_meta_u64(txn: &RoTxn, t: &Tables, key: &[u8]) -> Result<Option<u64>> {
    match get_meta(txn, t, key)? {
        Some(v) if v.len() == 8 => Ok(Some(read_u64_be(v))),
        Some(_) => Err(Error::corruption(format!("meta {} is not a u64", String::from_utf8_lossy(key)))),
        None => Ok(None),
    }
}

pub(crate) fn put_meta_u64(txn: &mut RwTxn, t: &Tables, key: &[u8], v: u64) -> Result<()> {
    put_meta(txn, t, key, &u64_key(v))
}

pub(crate) fn log_change(txn: &mut RwTxn, t: &Writing, change: Change, key: u64, space: u32) -> Result<()> {
    let seq = t.next_change(txn)?;
    let mut w = codec::Writer::default();
    w.buf.push(change as u8);
    w.u64(key).u32(space);
    let k = u64_key(seq);
    t.append(txn, t.changes, &k, &seal(&k, &w.buf))
}

#[cfg(test)]
mod tests {
    use super::*;
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

//! Nearest-neighbour search in one space: choosing between an exact scan
//! and the HNSW graph, and the exact scan itself.
//!
//! Invariants:
//! - Results are nearest first by [`Query::distance`] (ties by internal
//!   key), whichever path found them: graph hits are re-ranked with the
//!   vectors of the caller's snapshot, and a node with no vector in that
//!   snapshot is dropped.
//! - With a filter, the plan is an exact scan when the filter admits at most
//!   [`small_set`] nodes (counted by walking the narrowest index, stopping
//!   at the limit), else a graph search that only admits passing nodes
//!   (tested against the collected index set first when it is not huge).
//!   When no declared index narrows the filter, the plain walk's nearest are
//!   tested first: if `k` of them pass they are the answer (the filter most
//!   of a space passes, such as its node type, costs `k` tests, not a walk of
//!   the type index).
//!   A graph search that returns fewer than `k` is redone as an exact scan,
//!   so `k` results come back whenever `k` matching nodes have a vector.

use serde::Serialize;
use crate::storage::codec::{self, open as unseal, read_u64_be};
use crate::storage::nodes::{node_keys, read_node};
use crate::storage::select::node_candidates;
use crate::vector::catalog::space_count;
use crate::error::{Error, Result};
use crate::storage::filter::NodeFilter;
use crate::vector::hnsw::Hnsw;
use crate::storage::keys;
use crate::storage::store::Tables;
use crate::vector::space::{self as vectors, Query, Space, TopK, MAX_EF};
use heed::RoTxn;
use serde::Deserialize;
use std::cell::RefCell;
use std::collections::HashSet;

/// What a search asks for.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchRequest {
    pub k: usize,
    /// Search breadth; the space's `ef` when absent.
    #[serde(default)]
    pub ef: Option<usize>,
    /// Scan every candidate instead of using the graph.
    #[serde(default)]
    pub exact: bool,
    #[serde(default)]
    pub filter: NodeFilter,
}

impl SearchRequest {
    pub fn validate(&self) -> Result<()> {
        match self.ef {
            Some(ef) if ef == 0 || ef > MAX_EF as usize => Err(Error::invalid(format!("ef must be between 1 and {MAX_EF}, got {ef}"))),
            _ => Ok(()),
        }
    }
}

/// A ready graph and the nodes whose vectors changed after the sequence it
/// covers (sorted; see `vector::index::Current`), which a search scores exactly.
#[derive(Clone, Copy)]
pub(crate) struct GraphView<'a> {
    pub graph: &'a Hnsw,
    pub pending: &'a [u64],
}

/// `(distance, node)` of the `k` nearest nodes that pass the filter.
pub(crate) fn nearest(txn: &RoTxn, t: &Tables, space: &Space, query: &[f32], req: &SearchRequest, view: Option<GraphView>) -> Result<Vec<(f32, u64)>> {
    let q = Query::new(query, space.spec.metric);
    let filter = Filter::new(txn, t, &req.filter)?;
    let (graph, pending) = match view {
        Some(v) if !req.exact && req.k > 0 => (v.graph, v.pending),
        _ => return exact(txn, t, space, &q, req.k, &filter, None),
    };
    let params = space.spec.hnsw().expect("a graph belongs to an hnsw space");
    let ef = req.ef.unwrap_or(params.ef as usize).max(req.k);
    let total = space_count(txn, t, space.id)?;
    let limit = small_set(total, ef, params.m as usize);
    if req.filter.is_empty() {
        if total <= limit as u64 {
            return exact(txn, t, space, &q, req.k, &filter, None);
        }
        // The pending nodes are scored exactly; the walk looks past them.
        let settled = |node: u64| pending.binary_search(&node).is_err();
        let keys = graph.search(query, req.k, ef, (!pending.is_empty()).then_some(&settled as &dyn Fn(u64) -> bool))?;
        let hits = rerank(txn, t, space, &q, &keys, pending, req.k, &mut |_| Ok(true))?;
        if hits.len() as u64 >= total.min(req.k as u64) {
            return Ok(hits);
        }
        return exact(txn, t, space, &q, req.k, &filter, None);
    }
    let most = limit.saturating_mul(SET_FACTOR);
    let indexed = match node_candidates(txn, t, &req.filter, false)? {
        Some(keys) => Some(sized(keys, limit, most)),
        None if total > limit as u64 => match post_filtered(txn, t, space, &q, query, req.k, ef, (graph, pending), &filter)? {
            Some(hits) => return Ok(hits),
            None => None,
        },
        None => None,
    };
    let superset = match indexed.map_or_else(|| filter.by_type(txn, t, limit, most), Ok)? {
        Candidates::Few(few) => return exact(txn, t, space, &q, req.k, &filter, Some(&few)),
        Candidates::Many(set) => set,
    };
    // Many pass: let the graph skip the rest while it walks. Its top list
    // holds passing nodes only, so the walk widens by itself; the doubled
    // breadth buys recall at low selectivity. A known superset (sorted)
    // rejects most nodes without a read.
    let failure = RefCell::new(None);
    let allow = |node: u64| {
        if superset.as_ref().is_some_and(|set| set.binary_search(&node).is_err()) || pending.binary_search(&node).is_ok() {
            return false;
        }
        filter.passes(txn, t, node).unwrap_or_else(|e| {
            failure.borrow_mut().get_or_insert(e);
            false
        })
    };
    let keys = graph.search(query, req.k, ef.saturating_mul(2), Some(&allow))?;
    if let Some(e) = failure.into_inner() {
        return Err(e);
    }
    let in_superset = |node: u64| superset.as_ref().is_none_or(|set| set.binary_search(&node).is_ok());
    let hits = rerank(txn, t, space, &q, &keys, pending, req.k, &mut |node| Ok(in_superset(node) && filter.passes(txn, t, node)?))?;
    if hits.len() >= req.k {
        return Ok(hits);
    }
    exact(txn, t, space, &q, req.k, &filter, superset.as_deref())
}

/// A filtered graph walk tests membership in the candidate set when the
/// set has at most this many times the exact-scan limit (collecting it costs
/// one index entry per node, far less than a read per tested node).
const SET_FACTOR: usize = 4;

/// Up to how many filtered nodes an exact scan beats the graph: the scan
/// costs one read and distance per node, a filtered graph walk about
/// `ef · M · total / matches` distances, so they cross near
/// `sqrt(total · ef · M)` (scaled by the measured relative cost).
pub(crate) fn small_set(total: u64, ef: usize, m: usize) -> usize {
    let cross = ((total as f64) * (ef as f64) * (m as f64) * 0.6).sqrt() as usize;
    cross.max(1024)
}

/// The `k` nearest among `only` (or every vector of the space), exactly.
fn exact(txn: &RoTxn, t: &Tables, space: &Space, q: &Query, k: usize, filter: &Filter, only: Option<&[u64]>) -> Result<Vec<(f32, u64)>> {
    let mut top = TopK::new(k);
    if k == 0 {
        return Ok(Vec::new());
    }
    let mut buf = Vec::with_capacity(space.spec.dimensions as usize);
    match only {
        Some(nodes) => {
            for &node in nodes {
                let key = keys::embedding(space.id, node);
                if let Some(v) = t.embeddings.get(txn, &key)? {
                    if filter.passes(txn, t, node)? {
                        decode(&key, v, &mut buf)?;
                        top.push(q.distance(&buf), node);
                    }
                }
            }
        }
        None => {
            for entry in t.embeddings.prefix_iter(txn, &space.id.to_be_bytes())? {
                let (key, v) = entry?;
                let node = read_u64_be(&key[4..]);
                if filter.passes(txn, t, node)? {
                    decode(key, v, &mut buf)?;
                    top.push(q.distance(&buf), node);
                }
            }
        }
    }
    Ok(top.into_sorted())
}

/// Graph hits ranked by the vectors in this snapshot, together with the
/// nodes the graph has not caught up with (`pending`, sorted) that `passes`
/// admits, scored exactly in their place; at most `nodes.len().max(k)`,
/// nearest first. A node without a vector in this snapshot is dropped.
#[allow(clippy::too_many_arguments)]
pub(crate) fn rerank(
    txn: &RoTxn,
    t: &Tables,
    space: &Space,
    q: &Query,
    nodes: &[u64],
    pending: &[u64],
    k: usize,
    passes: &mut dyn FnMut(u64) -> Result<bool>,
) -> Result<Vec<(f32, u64)>> {
    let mut top = TopK::new(nodes.len().max(if pending.is_empty() { 0 } else { k }));
    let mut buf = Vec::with_capacity(space.spec.dimensions as usize);
    let graph_hits = nodes.iter().filter(|node| pending.binary_search(node).is_err());
    for &node in graph_hits {
        let key = keys::embedding(space.id, node);
        if let Some(v) = t.embeddings.get(txn, &key)? {
            decode(&key, v, &mut buf)?;
            top.push(q.distance(&buf), node);
        }
    }
    for &node in pending {
        let key = keys::embedding(space.id, node);
        if let Some(v) = t.embeddings.get(txn, &key)? {
            if passes(node)? {
                decode(&key, v, &mut buf)?;
                top.push(q.distance(&buf), node);
            }
        }
    }
    Ok(top.into_sorted())
}

fn decode(key: &[u8], v: &[u8], buf: &mut Vec<f32>) -> Result<()> {
    vectors::decode_into(unseal(key, v, || format!("embedding key {}", codec::hex(key)))?, buf)
}

/// A search filter prepared for many membership tests.
struct Filter<'f> {
    spec: &'f NodeFilter,
    ids: Option<HashSet<u64>>,
}

impl<'f> Filter<'f> {
    fn new(txn: &RoTxn, t: &Tables, spec: &'f NodeFilter) -> Result<Filter<'f>> {
        let ids = match &spec.ids {
            Some(ids) => Some(node_keys(txn, t, ids)?.into_iter().collect::<HashSet<u64>>()),
            None => None,
        };
        Ok(Filter { spec, ids })
    }

    /// Whether `node` passes every part of the filter.
    fn passes(&self, txn: &RoTxn, t: &Tables, node: u64) -> Result<bool> {
        if let Some(ids) = &self.ids {
            if !ids.contains(&node) {
                return Ok(false);
            }
        }
        if let Some(types) = &self.spec.types {
            let mut any = false;
            for ty in types {
                if t.node_types.get(txn, &keys::node_type(ty, node))?.is_some() {
                    any = true;
                    break;
                }
            }
            if !any {
                return Ok(false);
            }
        }
        if self.spec.conditions.is_empty() {
            return Ok(true);
        }
        self.spec.properties_pass(&read_node(txn, t, node)?.properties)
    }

    /// The nodes of the filter's types (a superset of those passing, in key
    /// order): `Few` when at most `few`, else `Many` with the set when it has
    /// at most `most` (walking stops there), or without any types.
    fn by_type(&self, txn: &RoTxn, t: &Tables, few: usize, most: usize) -> Result<Candidates> {
        let Some(types) = &self.spec.types else { return Ok(Candidates::Many(None)) };
        let mut keys = Vec::new();
        for ty in types {
            for entry in t.node_types.prefix_iter(txn, &keys::node_type_prefix(ty))? {
                let (k, _) = entry?;
                keys.push(read_u64_be(&k[k.len() - 8..]));
                if keys.len() > most {
                    return Ok(Candidates::Many(None));
                }
            }
        }
        keys.sort_unstable();
        keys.dedup();
        Ok(sized(keys, few, most))
    }
}

/// `Few` keys when at most `few`, the set when at most `most`, else none.
fn sized(keys: Vec<u64>, few: usize, most: usize) -> Candidates {
    match keys.len() {
        n if n <= few => Candidates::Few(keys),
        n if n <= most => Candidates::Many(Some(keys)),
        _ => Candidates::Many(None),
    }
}

/// The plain walk's nearest `ef` filtered afterwards: the answer when at
/// least `k` of them pass (a filter most of the space passes, such as the
/// node type a space is for), found without collecting or testing the rest;
/// `None` when fewer pass and the filtered walk has to look further.
#[allow(clippy::too_many_arguments)]
fn post_filtered(
    txn: &RoTxn,
    t: &Tables,
    space: &Space,
    q: &Query,
    query: &[f32],
    k: usize,
    ef: usize,
    (graph, pending): (&Hnsw, &[u64]),
    filter: &Filter,
) -> Result<Option<Vec<(f32, u64)>>> {
    let mut passing = Vec::with_capacity(k);
    for node in graph.search(query, ef, ef, None)? {
        if pending.binary_search(&node).is_err() && filter.passes(txn, t, node)? {
            passing.push(node);
            if passing.len() == k {
                break;
            }
        }
    }
    if passing.len() < k {
        return Ok(None);
    }
    let hits = rerank(txn, t, space, q, &passing, pending, k, &mut |node| filter.passes(txn, t, node))?;
    Ok((hits.len() == k).then_some(hits))
}

enum Candidates {
    /// Few enough to scan exactly.
    Few(Vec<u64>),
    /// Too many to scan; the sorted superset when it was cheap to collect.
    Many(Option<Vec<u64>>),
}

#[cfg(test)]
mod tests {
    use crate::{Database, NewNode, NodeFilter, OpenOptions, SearchRequest, SpaceSpec};
    use crate::storage::filter::Condition;
    use crate::vector::space::Metric;

    /// Points on a line, so the true neighbours are known: node `i` sits at `i`.
    fn line(dir: &std::path::Path, n: usize) -> Database {
        let db = Database::open(dir, OpenOptions::default()).unwrap();
        let spec = SpaceSpec { dimensions: 4, metric: Metric::L2, index: None, m: Some(8), ef_construction: Some(32), ef: Some(16), embedder: None };
        db.ensure_space("s", &spec).unwrap();
        let nodes: Vec<NewNode> = (0..n)
            .map(|i| NewNode { id: format!("n{i}"), node_type: if i % 100 == 0 { "Rare".into() } else { "Common".into() }, properties: format!(r#"{{"i":{i}}}"#) })
            .collect();
        db.insert_nodes(&nodes, 1).unwrap();
        let items: Vec<(String, String, Vec<f32>)> = (0..n).map(|i| (format!("n{i}"), "s".into(), vec![i as f32, 0.0, 0.0, 0.0])).collect();
        db.insert_embeddings(&items).unwrap();
        db.catch_up_indexes().unwrap();
        db
    }

    /// Whether every id names a point within `within` of `at`. On a line a graph index may miss the
    /// exact neighbours by a few places (recall on embedding-like data is tested in packages/db);
    /// what these tests fix is that the graph finds the right region and returns k.
    fn near(ids: &[String], at: f32, within: f32) -> bool {
        ids.iter().all(|id| (id[1..].parse::<f32>().unwrap() - at).abs() <= within)
    }

    fn ids(db: &Database, at: f32, k: usize, filter: NodeFilter) -> Vec<String> {
        let request = SearchRequest { k, filter, ..SearchRequest::default() };
        db.search("s", &[at, 0.0, 0.0, 0.0], &request).unwrap().into_iter().map(|h| h.id).collect()
    }

    #[test]
    fn the_graph_finds_neighbours_and_filters_return_k_at_any_selectivity() {
        let dir = tempfile::tempdir().unwrap();
        let db = line(dir.path(), 3000);
        let found = ids(&db, 1500.2, 3, NodeFilter::default());
        assert!(found.len() == 3 && near(&found, 1500.2, 10.0), "{found:?}");
        // 1 % of the nodes: few enough for an exact scan of them.
        let rare = NodeFilter { types: Some(vec!["Rare".into()]), ..NodeFilter::default() };
        assert_eq!(ids(&db, 1500.0, 3, rare), ["n1500", "n1400", "n1600"]);
        // Unindexed conditions: the graph walk skips what fails, exact when it comes back short.
        let high = NodeFilter { conditions: vec![("i".into(), Condition::Gte(serde_json::json!(2990)))], ..NodeFilter::default() };
        assert_eq!(ids(&db, 0.0, 20, high).len(), 10);
        let most = NodeFilter { conditions: vec![("i".into(), Condition::Ne(serde_json::json!(1500)))], ..NodeFilter::default() };
        let found = ids(&db, 1500.0, 2, most);
        assert!(found.len() == 2 && near(&found, 1500.0, 10.0) && !found.contains(&"n1500".to_owned()), "{found:?}");
    }

    #[test]
    fn deleted_and_replaced_vectors_never_come_back() {
        let dir = tempfile::tempdir().unwrap();
        let db = line(dir.path(), 3000);
        let found = ids(&db, 10.0, 1, NodeFilter::default());
        assert!(found.len() == 1 && near(&found, 10.0, 5.0), "{found:?}");
        db.delete_node("n10").unwrap();
        db.insert_embedding("n11", "s", &[-500.0, 0.0, 0.0, 0.0]).unwrap();
        let near = ids(&db, 10.0, 3, NodeFilter::default());
        assert!(near.len() == 3 && !near.contains(&"n10".to_owned()) && !near.contains(&"n11".to_owned()), "{near:?}");
        let exact = SearchRequest { k: 3, exact: true, ..SearchRequest::default() };
        let exact: Vec<String> = db.search("s", &[10.0, 0.0, 0.0, 0.0], &exact).unwrap().into_iter().map(|h| h.id).collect();
        assert_eq!(exact, ["n9", "n8", "n12"]);
        assert_eq!(ids(&db, -400.0, 1, NodeFilter::default()), ["n11"]);
        db.catch_up_indexes().unwrap();
        let graph = db.stats().unwrap().spaces[0].graph.clone().unwrap();
        assert_eq!((graph.vectors, graph.rebuilds), (2999, 1));
        assert!(graph.catch_ups >= 1);
    }

    #[test]
    fn a_reopened_database_loads_the_saved_graph() {
        let dir = tempfile::tempdir().unwrap();
        let expected = {
            let db = line(dir.path(), 2000);
            let found = ids(&db, 700.3, 5, NodeFilter::default());
            db.close();
            found
        };
        assert!(dir.path().join("s.hnsw").exists(), "the graph is saved when the last handle goes");
        let db = Database::open(dir.path(), OpenOptions::default()).unwrap();
        db.catch_up_indexes().unwrap();
        assert_eq!(ids(&db, 700.3, 5, NodeFilter::default()), expected);
        let graph = db.stats().unwrap().spaces[0].graph.clone().unwrap();
        assert_eq!((graph.loads, graph.rebuilds, graph.vectors), (1, 0, 2000));
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SearchHit {
    pub id: String,
    pub distance: f32,
}

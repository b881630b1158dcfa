//! The nearest-neighbour step of a plan: the planner's choice between an
//! exact scan and the space's HNSW graph, and both strategies.
//!
//! Invariants:
//! - Every hit passes every filter of the plan, whichever strategy ran: the
//!   graph search admits only nodes the whole plan passes.
//! - The scan is exact when the plan says `exact`, the space has no graph
//!   (`flat`, or inside a transaction), or the planner's estimate of the
//!   candidates — the driver's nodes that pass the graph filters, else the
//!   space's vector count — is at
//!   most [`vector_search::small_set`] (where a scan beats a filtered walk,
//!   as in `searchVectors`). Otherwise the graph is searched with the plan
//!   as its predicate, its breadth (`max(ef, k)`) doubled when the plan
//!   filters anything — unless `k` of the plain walk's `max(ef, k)` nearest
//!   pass the filters, which are then the hits (a filter most of the space
//!   passes costs `ef` tests, not one per node a filtered walk visits).
//! - A graph search that finds fewer than `k` passing nodes is redone as an
//!   exact scan, so `k` hits come back whenever `k` nodes pass the filters
//!   and have a vector. `maxDistance` drops the farther graph hits (on the
//!   graph path it is as approximate as the ranking).
//! - Hits are nearest first by the distance to the stored vectors, ties by
//!   id bytewise. The graph path ranks every node its walk kept (the
//!   breadth, not just `k`), so a tie at the `k`-th place is broken by id
//!   among them, and `f16` graph distances never decide the order.

use super::{Hit, Run};
use crate::storage::codec::{self, open as unseal, read_u64_be};
use crate::storage::nodes::read_node;
use crate::vector::catalog::space_count;
use crate::error::Result;
use crate::storage::keys;
use crate::plan::spec::Similar;
use crate::vector::search::{rerank, small_set};
use crate::vector::space::{self as vectors, Query, Space};
use std::cell::RefCell;

/// How the graph path went: its hits, or why the scan must run instead.
enum Graph {
    Found(Vec<(f32, u64)>),
    Exact(String),
}

impl Run<'_> {
    /// The `k` nearest passing nodes within `max_distance`, and the strategy that found them (for `explain()`).
    pub(super) fn nearest(&mut self, space: &Space, s: &Similar, driver: Option<&[u64]>) -> Result<(Vec<Hit>, String)> {
        let over = if driver.is_some() { "candidates" } else { "the space" };
        let q = Query::new(&s.vector, space.spec.metric);
        let mut within = Vec::new();
        if let Some(keys) = driver {
            for &key in keys {
                if self.in_graph(key)? {
                    within.push(key);
                }
            }
        }
        let driver = driver.map(|_| &within[..]);
        match self.graph_search(space, s, &q, driver)? {
            Graph::Found(scored) => {
                let hits = self.ranked(scored, s.k)?;
                self.lap("knn", format!("k={}, graph hits ranked by stored vectors", s.k), Some(s.k as u64), hits.len());
                Ok((hits, format!("hnsw-knn over {over}")))
            }
            Graph::Exact(why) => {
                let graph_ran = why.starts_with("the graph");
                let hits = self.exact(space, &q, s, driver, &why)?;
                Ok((hits, if graph_ran { format!("hnsw-knn, then exact-knn over {over}") } else { format!("exact-knn over {over}") }))
            }
        }
    }

    /// The passing nodes the space's graph finds, or why the exact scan
    /// runs instead. `driver`: the candidates that pass the graph filters.
    fn graph_search(&mut self, space: &Space, s: &Similar, q: &Query, driver: Option<&[u64]>) -> Result<Graph> {
        let Some(params) = space.spec.hnsw() else { return Ok(Graph::Exact(format!("space {}, flat: exact", space.name))) };
        if s.exact {
            return Ok(Graph::Exact(format!("space {}, exact as the plan asks", space.name)));
        }
        let total = space_count(self.txn, self.t, space.id)?;
        let estimate = driver.map_or(total, |d| d.len() as u64);
        let ef = (params.ef as usize).max(s.k);
        let limit = small_set(total, ef, params.m as usize);
        if estimate <= limit as u64 {
            return Ok(Graph::Exact(format!("space {}, exact: ~{estimate} candidates ≤ {limit}", space.name)));
        }
        let Some(current) = self.db.graph_of(self.txn, self.t, space)? else {
            let why = if self.db.is_transaction() { "inside a transaction" } else { "its graph is being built" };
            return Ok(Graph::Exact(format!("space {}, exact {why}", space.name)));
        };
        let (graph, pending) = (current.graph(), &current.pending[..]);
        let filters = driver.is_some() || self.plan.needs_record() || !self.plan.graph.is_empty();
        if filters {
            // Most of the space passing (the node type it is for, say), the
            // plain walk's passing nodes are the answer, found with `ef` tests
            // instead of a test per node a filtered walk visits.
            let keys = graph.search(&s.vector, ef, ef, None)?;
            let mut passing = Vec::with_capacity(keys.len());
            for key in keys {
                if pending.binary_search(&key).is_err() && self.admits(key, driver)? {
                    passing.push(key);
                }
            }
            if passing.len() >= s.k {
                let mut scored = rerank(self.txn, self.t, space, q, &passing, pending, s.k, &mut |key| self.admits(key, driver))?;
                if scored.len() >= s.k {
                    let found = scored.len();
                    self.lap("distances", format!("space {}, hnsw ef={ef}, then filtered: {found} passed", space.name), Some(estimate), found);
                    if let Some(m) = s.max_distance {
                        scored.retain(|(d, _)| f64::from(*d) <= m);
                    }
                    return Ok(Graph::Found(scored));
                }
            }
        }
        let breadth = if filters { ef.saturating_mul(2) } else { ef };
        let failure = RefCell::new(None);
        // The pending nodes are scored exactly; the walk looks past them.
        let admits = |key: u64| {
            pending.binary_search(&key).is_err()
                && (!filters
                    || match self.admits(key, driver) {
                        Ok(pass) => pass,
                        Err(e) => {
                            failure.borrow_mut().get_or_insert(e);
                            false
                        }
                    })
        };
        let walk_filter = filters || !pending.is_empty();
        let keys = graph.search(&s.vector, breadth, breadth, walk_filter.then_some(&admits as &dyn Fn(u64) -> bool))?;
        if let Some(e) = failure.into_inner() {
            return Err(e);
        }
        let mut scored = rerank(self.txn, self.t, space, q, &keys, pending, s.k, &mut |key| if filters { self.admits(key, driver) } else { Ok(true) })?;
        let found = scored.len();
        let detail = format!("space {}, hnsw ef={breadth}: ~{estimate} candidates > {limit}", space.name);
        self.lap("distances", detail, Some(estimate), found);
        if found < s.k {
            return Ok(Graph::Exact(format!("the graph found {found} < k={} passing nodes: exact", s.k)));
        }
        if let Some(m) = s.max_distance {
            scored.retain(|(d, _)| f64::from(*d) <= m);
        }
        Ok(Graph::Found(scored))
    }

    /// Whether `key` passes the whole plan: among the driver's candidates
    /// (which pass the graph filters) and its record passes, or, without a
    /// driver, every filter.
    fn admits(&self, key: u64, driver: Option<&[u64]>) -> Result<bool> {
        Ok(match driver {
            Some(d) => d.binary_search(&key).is_ok() && self.record(key)?.is_some(),
            None => self.passes(key)?.is_some(),
        })
    }

    /// Exact: distances of every candidate that passes the graph filters
    /// (the driver's nodes, which do, or the whole space), then records tested
    /// nearest first until `k` pass, so a selective record filter costs
    /// reads of the near candidates only.
    fn exact(&mut self, space: &Space, q: &Query, s: &Similar, driver: Option<&[u64]>, why: &str) -> Result<Vec<Hit>> {
        let (k, max_distance) = (s.k, s.max_distance);
        let mut buf = Vec::with_capacity(space.spec.dimensions as usize);
        let mut scored: Vec<(f32, u64)> = Vec::new();
        let mut score = |key: u64, ekey: &[u8], raw: &[u8]| -> Result<()> {
            vectors::decode_into(unseal(ekey, raw, || format!("embedding key {}", codec::hex(ekey)))?, &mut buf)?;
            let d = q.distance(&buf);
            if max_distance.is_none_or(|m| f64::from(d) <= m) {
                scored.push((d, key));
            }
            Ok(())
        };
        match driver {
            Some(keys) => {
                for &key in keys {
                    let ekey = keys::embedding(space.id, key);
                    if let Some(raw) = self.t.embeddings.get(self.txn, &ekey)? {
                        score(key, &ekey, raw)?;
                    }
                }
            }
            None => {
                for entry in self.t.embeddings.prefix_iter(self.txn, &space.id.to_be_bytes())? {
                    let (ekey, raw) = entry?;
                    let key = read_u64_be(&ekey[4..]);
                    if self.in_graph(key)? {
                        score(key, ekey, raw)?;
                    }
                }
            }
        }
        let scanned = scored.len();
        self.lap("distances", why.to_owned(), None, scanned);
        let mut hits: Vec<Hit> = Vec::new();
        let mut tested = 0usize;
        let mut rest: &mut [(f32, u64)] = &mut scored;
        // Nearest first, a window at a time: stop once k pass and the next is farther than the k-th.
        'walk: while !rest.is_empty() {
            let window = (4 * k).max(64).min(rest.len());
            if window < rest.len() {
                rest.select_nth_unstable_by(window - 1, |a, b| a.0.total_cmp(&b.0));
            }
            let (near, far) = std::mem::take(&mut rest).split_at_mut(window);
            near.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
            for &(d, key) in near.iter() {
                if hits.len() >= k && d > hits[k - 1].distance.unwrap_or(f32::INFINITY) {
                    break 'walk;
                }
                tested += 1;
                if let Some(node) = self.record(key)? {
                    hits.push(Hit { key, node, distance: Some(d), score: None });
                }
            }
            rest = far;
        }
        let hits = self.by_distance_then_id(hits, k)?;
        self.lap("knn", format!("k={k}, {tested} nearest records tested"), Some(k.min(scanned) as u64), hits.len());
        Ok(hits)
    }

    /// The first `k` of graph hits sorted by `(distance, key)`, ties at the `k`-th place included before ordering by id.
    fn ranked(&self, mut scored: Vec<(f32, u64)>, k: usize) -> Result<Vec<Hit>> {
        if let Some(&(kth, _)) = scored.get(k.wrapping_sub(1)) {
            scored.truncate(scored.partition_point(|(d, _)| *d <= kth));
        }
        let hits = scored.into_iter().map(|(d, key)| Hit { key, node: None, distance: Some(d), score: None }).collect();
        self.by_distance_then_id(hits, k)
    }

    /// Hits with their records, nearest first, ties by id bytewise, at most `k`.
    fn by_distance_then_id(&self, mut hits: Vec<Hit>, k: usize) -> Result<Vec<Hit>> {
        for hit in &mut hits {
            if hit.node.is_none() {
                hit.node = Some(read_node(self.txn, self.t, hit.key)?);
            }
        }
        let id = |h: &Hit| h.node.as_ref().map(|n| n.id.clone()).unwrap_or_default();
        hits.sort_by(|a, b| a.distance.unwrap_or(0.0).total_cmp(&b.distance.unwrap_or(0.0)).then_with(|| id(a).as_bytes().cmp(id(b).as_bytes())));
        hits.truncate(k);
        Ok(hits)
    }
}

#[cfg(test)]
mod tests {
    use crate::vector::space::{Metric, SpaceSpec};
    use crate::{Database, NewNode, OpenOptions};
    use serde_json::Value;

    /// Node `n{i}` sits at `i` on a line, in an `hnsw` space.
    fn line(dir: &std::path::Path, n: usize) -> Database {
        let db = Database::open(dir, OpenOptions::default()).unwrap();
        let spec = SpaceSpec { dimensions: 2, metric: Metric::L2, index: None, m: Some(8), ef_construction: Some(32), ef: Some(16), embedder: None };
        db.ensure_space("s", &spec).unwrap();
        let nodes: Vec<NewNode> = (0..n).map(|i| NewNode { id: format!("n{i:04}"), node_type: "T".into(), properties: format!(r#"{{"i":{i}}}"#) }).collect();
        db.insert_nodes(&nodes, 1).unwrap();
        let items: Vec<(String, String, Vec<f32>)> = (0..n).map(|i| (format!("n{i:04}"), "s".into(), vec![i as f32, 0.0])).collect();
        db.insert_embeddings(&items).unwrap();
        db.catch_up_indexes().unwrap();
        db
    }

    fn run(db: &Database, filter: &str, similar: &str) -> (Vec<String>, String) {
        let plan = format!(r#"{{"version":1{filter},"similar":{{"space":"s"{similar}}},"order":{{"key":"distance","direction":"asc"}}}}"#);
        let v: Value = serde_json::from_str(&db.execute_plan(&plan, None).unwrap()).unwrap();
        let ids = v["items"].as_array().unwrap().iter().map(|i| i["node"]["id"].as_str().unwrap().to_owned()).collect();
        (ids, v["strategy"].as_str().unwrap().to_owned())
    }

    #[test]
    fn many_candidates_go_through_the_graph_and_k_come_back() {
        let dir = tempfile::tempdir().unwrap();
        let db = line(dir.path(), 3000);
        // Points on a line are the worst case for a graph index (recall on embedding-like data is
        // tested in packages/query/test/knn.test.ts): here only the routing and the count are fixed.
        let (ids, how) = run(&db, "", r#","k":3,"vector":[1500.2,0]"#);
        assert_eq!((ids.len(), how.as_str()), (3, "scan → hnsw-knn over the space → order"));
        let (ids, how) = run(&db, "", r#","k":3,"exact":true,"vector":[1500.2,0]"#);
        assert_eq!((ids, how.as_str()), (vec!["n1500".into(), "n1501".into(), "n1499".into()], "scan → exact-knn over the space → order"));
        // Half the nodes pass an unindexed condition: the graph skips the rest.
        let (ids, how) = run(&db, r#","where":[{"property":"i","op":"gte","value":1500}]"#, r#","k":2,"vector":[10,0]"#);
        let places: Vec<u32> = ids.iter().map(|id| id[1..].parse().unwrap()).collect();
        assert!(places.len() == 2 && places.iter().all(|&i| (1500..1510).contains(&i)), "{ids:?}");
        // Whether the walk from [10, 0] reaches the passing half within its breadth depends on the
        // graph's random layers; either way the graph is tried first and k come back.
        assert!(how.starts_with("scan → hnsw-knn"), "{how}");
        // Five pass, far from the query: the walk comes back short, the scan finds them all.
        let (ids, how) = run(&db, r#","where":[{"property":"i","op":"gte","value":2995}]"#, r#","k":8,"vector":[10,0]"#);
        assert_eq!(ids, ["n2995", "n2996", "n2997", "n2998", "n2999"]);
        assert_eq!(how, "scan → hnsw-knn, then exact-knn over the space → order");
        // An index narrows to few candidates: exact over them.
        db.create_index("T", "i").unwrap();
        let (ids, how) = run(&db, r#","types":["T"],"where":[{"property":"i","op":"lt","value":40}]"#, r#","k":2,"vector":[10.2,0]"#);
        assert_eq!((ids, how.as_str()), (vec!["n0010".into(), "n0011".into()], "index → exact-knn over candidates → order"));
    }
}

//! Runs a whole [`Plan`] in one read transaction: graph filters by
//! adjacency, structural filters by the type and property indexes, nearest
//! neighbours over what passes, then order and page.
//!
//! Invariants:
//! - Every filter is applied before the nearest-neighbour step, so when at
//!   least `k` nodes pass the filters and have a vector, `k` come back.
//! - Indexes and reach sets only choose which nodes are looked at first (the
//!   smallest set drives); every candidate is still tested against the whole
//!   plan, so the strategy never changes the answer.

use crate::codec::{self, open as unseal, read_u64_be};
use crate::database::{match_nodes, read_node, require_space, Database};
use crate::error::Result;
use crate::filter::{Condition, NodeFilter};
use crate::graph::adjacent;
use crate::indexes;
use crate::keys;
use crate::plan::{node_filter, position_of, GraphFilter, OrderKey, Plan, Position};
use crate::records::Node;
use crate::store::Tables;
use crate::vectors::{self, Query, Space};
use heed::RoTxn;
use serde::Serialize;
use std::collections::HashMap;
use std::fmt::Write;
use std::time::Instant;

/// One step of an execution, as `explain()` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Stage {
    pub stage: &'static str,
    pub detail: String,
    /// The planner's estimate of the nodes coming out, when it made one.
    pub estimated: Option<u64>,
    pub actual: u64,
    #[serde(rename = "timeMs")]
    pub time_ms: f64,
}

/// A node that passed, with what the plan reports about it.
struct Hit {
    key: u64,
    node: Option<Node>,
    distance: Option<f32>,
}

/// Nodes reached by a graph filter and their fewest hops.
type Reach = HashMap<u64, u32>;

struct Run<'a> {
    txn: &'a RoTxn<'a>,
    t: &'a Tables,
    plan: &'a Plan,
    filter: NodeFilter,
    reaches: Vec<Reach>,
    stages: Vec<Stage>,
    clock: Instant,
}

impl Database {
    /// Runs an executable plan (JSON, see [`Plan`]; the query vector may come
    /// beside it) and returns its execution
    /// as JSON: `{ items: [{ node, distance?, hops? }], more, strategy, stages }`.
    pub fn execute_plan(&self, plan_json: &str, vector: Option<Vec<f32>>) -> Result<String> {
        let plan = Plan::parse(plan_json, vector)?;
        let filter = plan.filter()?;
        self.read(|txn, t| Run { txn, t, plan: &plan, filter, reaches: Vec::new(), stages: Vec::new(), clock: Instant::now() }.execute())
    }
}

impl Run<'_> {
    fn lap(&mut self, stage: &'static str, detail: String, estimated: Option<u64>, actual: usize) {
        let now = Instant::now();
        self.stages.push(Stage { stage, detail, estimated, actual: actual as u64, time_ms: (now - self.clock).as_secs_f64() * 1000.0 });
        self.clock = now;
    }

    fn execute(mut self) -> Result<String> {
        let (nodes, edges) = (self.t.nodes.len(self.txn)?, self.t.edges.len(self.txn)?);
        let degree = if nodes == 0 { 0.0 } else { edges as f64 / nodes as f64 };
        for g in &self.plan.graph {
            let anchors = self.anchors(g)?;
            let reach = self.reach(&anchors, &g.backwards(), g.max_hops)?;
            let estimate = ((anchors.len() as f64) * degree.max(1.0).powi(g.max_hops as i32)).min(nodes as f64) as u64;
            let detail = format!("{} anchor(s), {:?}, ≤{} hops", anchors.len(), g.direction, g.max_hops).to_lowercase();
            let size = reach.len();
            self.reaches.push(reach);
            self.lap(if g.negate { "graph-exclude" } else { "graph" }, detail, Some(estimate), size);
        }
        let (driver, source) = self.driver()?;
        let similar = self.plan.similar.clone();
        let mut hits = match &similar {
            Some(s) => {
                let space = require_space(self.txn, self.t, &s.space)?;
                vectors::check_vector(&space, &s.vector)?;
                self.nearest(&space, &s.vector, s.k, s.max_distance, driver.as_deref())?
            }
            None => self.all_passing(driver.as_deref(), nodes)?,
        };
        let mut strategy = vec![source];
        if similar.is_some() {
            strategy.push(if driver.is_some() { "exact-knn over candidates".into() } else { "exact-knn over the space".into() });
        }
        for hit in &mut hits {
            if hit.node.is_none() {
                hit.node = Some(read_node(self.txn, self.t, hit.key)?);
            }
        }
        let order = &self.plan.order;
        let mut keyed: Vec<(Position, Hit)> =
            hits.into_iter().map(|h| Ok((position_of(order, h.node.as_ref().expect("read above"), h.distance)?, h))).collect::<Result<_>>()?;
        keyed.sort_by(|a, b| order.compare(&a.0, &b.0));
        let start = match &self.plan.position {
            Some(after) => keyed.partition_point(|(p, _)| order.compare(p, after).is_le()),
            None => 0,
        };
        let remaining = keyed.len() - start;
        let take = self.plan.limit.map_or(remaining, |l| remaining.min(usize::try_from(l).unwrap_or(usize::MAX)));
        let page: Vec<Hit> = keyed.into_iter().skip(start).take(take).map(|(_, h)| h).collect();
        let order_name = match order.key {
            OrderKey::Property => order.property.clone().unwrap_or_default(),
            OrderKey::Distance => "distance".into(),
            OrderKey::CreatedAt => "createdAt".into(),
        };
        self.lap("order", format!("{order_name} {:?}", order.direction).to_lowercase(), None, page.len());
        strategy.push("order".into());
        Ok(self.render(&page, remaining > take, &strategy.join(" → ")))
    }

    /// The keys of a graph filter's anchors that exist, sorted, without repeats.
    fn anchors(&self, g: &GraphFilter) -> Result<Vec<u64>> {
        let mut keys = Vec::new();
        for id in &g.anchors {
            keys.extend(crate::database::lookup(self.txn, self.t.node_ids, id)?);
        }
        if let Some(m) = &g.anchor_match {
            keys.extend(match_nodes(self.txn, self.t, &node_filter("anchorMatch", &m.types, &m.conditions)?)?);
        }
        keys.sort_unstable();
        keys.dedup();
        Ok(keys)
    }

    /// Multi-source breadth-first walk from the anchors; anchors excluded.
    fn reach(&self, anchors: &[u64], hop: &crate::graph::Hop, max_hops: u32) -> Result<Reach> {
        let mut seen: Reach = anchors.iter().map(|&k| (k, 0)).collect();
        let mut frontier = anchors.to_vec();
        for depth in 1..=max_hops {
            let mut next = Vec::new();
            for &node in &frontier {
                for (neighbour, _) in adjacent(self.txn, self.t, node, hop)? {
                    seen.entry(neighbour).or_insert_with(|| {
                        next.push(neighbour);
                        depth
                    });
                }
            }
            if next.is_empty() {
                break;
            }
            frontier = next;
        }
        seen.retain(|_, hops| *hops > 0);
        Ok(seen)
    }

    /// The smallest candidate set among the positive graph filters and the
    /// indexes (sorted keys), or `None` when nothing narrows the nodes.
    fn driver(&mut self) -> Result<(Option<Vec<u64>>, String)> {
        let mut best: Option<(Vec<u64>, String)> = None;
        for (i, g) in self.plan.graph.iter().enumerate() {
            if !g.negate && best.as_ref().is_none_or(|(b, _)| self.reaches[i].len() < b.len()) {
                let mut keys: Vec<u64> = self.reaches[i].keys().copied().collect();
                keys.sort_unstable();
                best = Some((keys, format!("graph filter {i}")));
            }
        }
        let cap = best.as_ref().map_or(usize::MAX, |(b, _)| b.len());
        if let Some(found) = self.index_candidates(cap)? {
            best = Some(found);
        }
        if let Some((keys, detail)) = &mut best {
            self.intersect_indexes(keys, detail)?;
        }
        let size = best.as_ref().map(|(b, _)| b.len());
        let detail = best.as_ref().map_or_else(|| "no index narrows: scan".to_owned(), |(_, d)| d.clone());
        self.lap("candidates", detail.clone(), size.map(|s| s as u64), size.unwrap_or(0));
        Ok(match best {
            Some((keys, source)) => (Some(keys), source.split(' ').next().unwrap_or("index").to_owned()),
            None => (None, "scan".into()),
        })
    }

    /// Narrows a sorted candidate set by every other indexed condition of a
    /// single-type plan whose index range holds at most 8× as many nodes.
    fn intersect_indexes(&self, keys: &mut Vec<u64>, detail: &mut String) -> Result<()> {
        let Some([ty]) = self.filter.types.as_deref() else { return Ok(()) };
        let defs = indexes::list(self.txn, self.t, Some(ty))?;
        for (property, condition) in &self.filter.conditions {
            let Some(def) = defs.iter().find(|d| d.property == *property) else { continue };
            let name = format!("index {ty}.{property}");
            if detail.contains(&name) {
                continue;
            }
            if let Some(set) = indexes::candidates_within(self.txn, self.t, def, condition, keys.len().saturating_mul(8))? {
                let mut other = set.iter().peekable();
                keys.retain(|k| {
                    while other.next_if(|o| *o < k).is_some() {}
                    other.peek() == Some(&k)
                });
                detail.push_str(&format!(" ∩ {name}"));
            }
        }
        Ok(())
    }

    /// Nodes of the plan's types from their most selective usable index (a
    /// property index, else the type index), or `None` when there are no
    /// types or the set would exceed `cap`.
    fn index_candidates(&self, cap: usize) -> Result<Option<(Vec<u64>, String)>> {
        let Some(types) = &self.filter.types else { return Ok(None) };
        let rank = |c: &Condition| match c {
            Condition::Eq(_) => 0,
            Condition::In(_) => 1,
            _ => 2,
        };
        let mut out = Vec::new();
        let mut used = Vec::new();
        'types: for ty in types {
            let defs = indexes::list(self.txn, self.t, Some(ty))?;
            let mut usable: Vec<_> = self.filter.conditions.iter().filter_map(|(p, c)| defs.iter().find(|d| d.property == *p).map(|d| (d, c))).collect();
            usable.sort_by_key(|(_, c)| rank(c));
            for (def, condition) in usable {
                if let Some(keys) = indexes::candidates_within(self.txn, self.t, def, condition, cap.saturating_sub(out.len()))? {
                    out.extend(keys);
                    used.push(format!("index {}.{}", def.node_type, def.property));
                    continue 'types;
                }
            }
            for entry in self.t.node_types.prefix_iter(self.txn, &keys::node_type_prefix(ty))? {
                if out.len() >= cap {
                    return Ok(None);
                }
                let (k, _) = entry?;
                out.push(read_u64_be(&k[k.len() - 8..]));
            }
            used.push(format!("type index {ty}"));
        }
        if out.len() > cap || (out.len() == cap && cap != usize::MAX) {
            return Ok(None);
        }
        out.sort_unstable();
        out.dedup();
        Ok(Some((out, used.join(" + "))))
    }

    /// Whether `key` passes every graph filter (set lookups only).
    fn in_graph(&self, key: u64) -> bool {
        self.plan.graph.iter().zip(&self.reaches).all(|(g, reach)| reach.contains_key(&key) != g.negate)
    }

    /// Whether `key` passes the record filters, reading it only when some
    /// need it; the record comes back when read.
    fn record(&self, key: u64) -> Result<Option<Option<Node>>> {
        if !self.plan.needs_record() {
            return Ok(Some(None));
        }
        let node = read_node(self.txn, self.t, key)?;
        Ok(if self.plan.record_passes(&self.filter, &node)? { Some(Some(node)) } else { None })
    }

    /// Whether `key` passes the whole filter part of the plan.
    fn passes(&self, key: u64) -> Result<Option<Option<Node>>> {
        if !self.in_graph(key) {
            return Ok(None);
        }
        self.record(key)
    }

    /// Every passing node, from the driver or from the whole node table.
    fn all_passing(&mut self, driver: Option<&[u64]>, nodes: u64) -> Result<Vec<Hit>> {
        let mut hits = Vec::new();
        let mut keep = |key: u64, node: Option<Node>, run: &Self| -> Result<()> {
            if let Some(read) = run.passes(key)? {
                hits.push(Hit { key, node: read.or(node), distance: None });
            }
            Ok(())
        };
        match driver {
            Some(keys) => {
                for &key in keys {
                    keep(key, None, self)?;
                }
            }
            None => {
                for entry in self.t.nodes.iter(self.txn)? {
                    let key = read_u64_be(entry?.0);
                    keep(key, None, self)?;
                }
            }
        }
        let detail = if driver.is_some() { "candidates tested".to_owned() } else { format!("{nodes} nodes scanned") };
        self.lap("filter", detail, None, hits.len());
        Ok(hits)
    }

    /// The `k` nearest passing nodes within `max_distance`, nearest first,
    /// ties by id. Exact today: distances of every candidate that passes
    /// the graph filters (the driver's nodes, or the whole space — where a
    /// filtered approximate index plugs in), then records tested nearest
    /// first until `k` pass, so a selective record filter costs reads of
    /// the near candidates only.
    fn nearest(&mut self, space: &Space, vector: &[f32], k: usize, max_distance: Option<f64>, driver: Option<&[u64]>) -> Result<Vec<Hit>> {
        let q = Query::new(vector, space.spec.metric);
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
                    if self.in_graph(key) {
                        if let Some(raw) = self.t.embeddings.get(self.txn, &ekey)? {
                            score(key, &ekey, raw)?;
                        }
                    }
                }
            }
            None => {
                for entry in self.t.embeddings.prefix_iter(self.txn, &space.id.to_be_bytes())? {
                    let (ekey, raw) = entry?;
                    let key = read_u64_be(&ekey[4..]);
                    if self.in_graph(key) {
                        score(key, ekey, raw)?;
                    }
                }
            }
        }
        let scanned = scored.len();
        self.lap("distances", format!("space {}, exact", space.name), None, scanned);
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
                    hits.push(Hit { key, node, distance: Some(d) });
                }
            }
            rest = far;
        }
        for hit in &mut hits {
            if hit.node.is_none() {
                hit.node = Some(read_node(self.txn, self.t, hit.key)?);
            }
        }
        let id = |h: &Hit| h.node.as_ref().map(|n| n.id.clone()).unwrap_or_default();
        hits.sort_by(|a, b| a.distance.unwrap_or(0.0).total_cmp(&b.distance.unwrap_or(0.0)).then_with(|| id(a).as_bytes().cmp(id(b).as_bytes())));
        hits.truncate(k);
        self.lap("knn", format!("k={k}, {tested} nearest records tested"), Some(k.min(scanned) as u64), hits.len());
        Ok(hits)
    }

    fn render(&self, page: &[Hit], more: bool, strategy: &str) -> String {
        let first = self.plan.graph.iter().position(|g| !g.negate).map(|i| &self.reaches[i]);
        let mut out = String::from("{\"items\":[");
        for (i, hit) in page.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str("{\"node\":");
            out.push_str(&hit.node.as_ref().expect("read before ordering").to_json());
            if let Some(d) = hit.distance {
                let _ = write!(out, ",\"distance\":{}", serde_json::Number::from_f64(f64::from(d)).map_or("null".into(), |n| n.to_string()));
            }
            if let Some(hops) = first.and_then(|r| r.get(&hit.key)) {
                let _ = write!(out, ",\"hops\":{hops}");
            }
            out.push('}');
        }
        let _ = write!(
            out,
            "],\"more\":{more},\"strategy\":{},\"stages\":{}}}",
            serde_json::to_string(strategy).expect("a string serializes"),
            serde_json::to_string(&self.stages).expect("stages serialize")
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use crate::{Database, NewEdge, NewNode, OpenOptions};
    use crate::vectors::{Metric, SpaceSpec};
    use serde_json::Value;

    fn db(dir: &std::path::Path) -> Database {
        let db = Database::open(dir, OpenOptions::default()).unwrap();
        db.ensure_space("s", &SpaceSpec { dimensions: 2, metric: Metric::L2, index: Some("flat".into()), m: None, ef_construction: None, ef: None, embedder: None }).unwrap();
        let nodes: Vec<NewNode> = (0..20)
            .map(|i| NewNode { id: format!("m{i:02}"), node_type: "M".into(), properties: format!(r#"{{"n":{i},"even":{}}}"#, i % 2 == 0) })
            .chain([NewNode { id: "e".into(), node_type: "E".into(), properties: "{}".into() }])
            .collect();
        db.insert_nodes(&nodes, 1).unwrap();
        let edges: Vec<NewEdge> = (0..20)
            .filter(|i| i % 3 == 0)
            .map(|i| NewEdge { id: format!("x{i}"), edge_type: "MENTIONS".into(), from: format!("m{i:02}"), to: "e".into(), properties: "{}".into(), weight: 1.0 })
            .collect();
        db.insert_edges(&edges, 1).unwrap();
        for i in 0..20 {
            db.insert_embedding(&format!("m{i:02}"), "s", &[i as f32, 0.0]).unwrap();
        }
        db
    }

    fn ids(json: &str) -> Vec<String> {
        let v: Value = serde_json::from_str(json).unwrap();
        v["items"].as_array().unwrap().iter().map(|i| i["node"]["id"].as_str().unwrap().to_owned()).collect()
    }

    #[test]
    fn filters_apply_before_the_nearest_neighbours() {
        let dir = tempfile::tempdir().unwrap();
        let db = db(dir.path());
        // Mentioning e: m00 m03 m06 m09 m12 m15 m18; even: m00 m06 m12 m18; nearest to 13.
        let plan = r#"{"version":1,"types":["M"],"where":[{"property":"even","op":"eq","value":true}],
            "graph":[{"anchors":["e"],"direction":"out","maxHops":1,"negate":false}],
            "similar":{"space":"s","k":3,"vector":[13,0]},"order":{"key":"distance","direction":"asc"}}"#;
        let out = db.execute_plan(plan, None).unwrap();
        assert_eq!(ids(&out), ["m12", "m18", "m06"]);
        db.create_index("M", "even").unwrap();
        assert_eq!(ids(&db.execute_plan(plan, None).unwrap()), ["m12", "m18", "m06"]);
        let matched = plan.replace(r#""anchors":["e"]"#, r#""anchorMatch":{"types":["E"]}"#);
        assert_eq!(ids(&db.execute_plan(&matched, None).unwrap()), ["m12", "m18", "m06"]);
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["items"][0]["hops"], 1);
        assert_eq!(v["items"][0]["distance"], 1.0);
    }

    #[test]
    fn pages_resume_after_a_position() {
        let dir = tempfile::tempdir().unwrap();
        let db = db(dir.path());
        let page = |after: &str| {
            let plan = format!(r#"{{"version":1,"types":["M"],"order":{{"key":"property","property":"n","direction":"desc"}},"limit":3{after}}}"#);
            let v: Value = serde_json::from_str(&db.execute_plan(&plan, None).unwrap()).unwrap();
            (ids(&v.to_string()), v["more"].as_bool().unwrap())
        };
        assert_eq!(page(""), (vec!["m19".into(), "m18".into(), "m17".into()], true));
        assert_eq!(page(r#","position":{"rank":3,"value":17,"id":"m17"}"#).0, ["m16", "m15", "m14"]);
        assert_eq!(page(r#","position":{"rank":3,"value":2,"id":"m02"}"#), (vec!["m01".into(), "m00".into()], false));
    }

    #[test]
    fn negated_graph_filters_and_unknown_anchors() {
        let dir = tempfile::tempdir().unwrap();
        let db = db(dir.path());
        let plan = r#"{"version":1,"types":["M"],"where":[{"property":"n","op":"lt","value":5}],
            "graph":[{"anchors":["e","ghost"],"direction":"out","maxHops":2,"negate":true}],"order":{"key":"createdAt","direction":"asc"}}"#;
        assert_eq!(ids(&db.execute_plan(plan, None).unwrap()), ["m01", "m02", "m04"]);
        let err = db.execute_plan(r#"{"version":1,"similar":{"space":"s","k":1},"order":{"key":"distance","direction":"asc"}}"#, Some(vec![1.0])).unwrap_err();
        assert_eq!(err.code, crate::Code::DimensionMismatch);
    }
}

//! Runs a whole [`Plan`] in one read transaction: graph filters by
//! adjacency, structural filters by the type and property indexes, nearest
//! neighbours over what passes (exact or through the space's HNSW graph,
//! see [`knn`]), then order and page.
//!
//! Invariants:
//! - Every filter is applied before the nearest-neighbour step, so when at
//!   least `k` nodes pass the filters and have a vector, `k` come back.
//! - Indexes and reach sets only choose which nodes are looked at first (the
//!   smallest set drives); every candidate is still tested against the whole
//!   plan, so the strategy never changes the answer.
//! - A graph filter whose walk would read more than
//!   [`reach::LAST_LEVEL_BUDGET`] adjacency entries on its last level stays
//!   partial when an index gives at most that many candidates instead (see
//!   [`Reach`]); otherwise it is completed from where it stopped.

mod knn;

use crate::storage::codec::read_u64_be;
use crate::storage::handle::Database;
use crate::storage::nodes::read_node;
use crate::error::Result;
use crate::storage::filter::{Condition, NodeFilter};
use crate::storage::index_defs;
use crate::storage::indexes;
use crate::storage::keys;
use crate::plan::spec::{position_of, GraphFilter, Matches, OrderKey, Plan, Position, Similar, DEFAULT_TEXT_WEIGHT};
use crate::text;
use crate::vector::space::Metric;
use std::collections::HashMap;
use crate::plan::reach::{self, Reach};
use crate::storage::records::Node;
use crate::storage::store::Tables;
use crate::vector::space as vectors;
use heed::RoTxn;
use serde::Serialize;
use std::fmt::Write;
use std::time::Instant;

/// Candidates each retriever proposes per result asked when a plan fuses text and vectors.
const CANDIDATES_PER_RESULT: usize = 4;
const MIN_CANDIDATES: usize = 40;

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
    /// With `matches`: BM25, or the fused score with `similar` too.
    score: Option<f64>,
}

/// One index read: a condition, or a lower and an upper bound on one property.
#[derive(Clone, Copy)]
enum Probe<'a> {
    One(&'a Condition),
    Between(&'a Condition, &'a Condition),
}

struct Run<'a> {
    db: &'a Database,
    txn: &'a RoTxn<'a>,
    t: &'a Tables,
    plan: &'a Plan,
    filter: NodeFilter,
    reaches: Vec<Reach>,
    /// Last-level reads before a walk may stay partial, and the most
    /// candidates an index may then give ([`reach::LAST_LEVEL_BUDGET`] both, but in tests).
    budget: (usize, usize),
    stages: Vec<Stage>,
    clock: Instant,
}

impl Database {
    /// Runs an executable plan (JSON, see [`Plan`]; the query vector may come
    /// beside it) and returns its execution
    /// as JSON: `{ items: [{ node, distance?, hops? }], more, strategy, stages }`.
    pub fn execute_plan(&self, plan_json: &str, vector: Option<Vec<f32>>) -> Result<String> {
        self.execute_plan_within(plan_json, vector, (reach::LAST_LEVEL_BUDGET, reach::LAST_LEVEL_BUDGET))
    }

    fn execute_plan_within(&self, plan_json: &str, vector: Option<Vec<f32>>, budget: (usize, usize)) -> Result<String> {
        let plan = Plan::parse(plan_json, vector)?;
        let filter = plan.filter()?;
        self.read(|txn, t| Run { db: self, txn, t, plan: &plan, filter, reaches: Vec::new(), budget, stages: Vec::new(), clock: Instant::now() }.execute())
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
        let mut anchors = Vec::new();
        for g in &self.plan.graph {
            anchors.push(reach::anchors(self.txn, self.t, g)?);
            let reach = Reach::walk(self.txn, self.t, anchors.last().expect("pushed"), g, Some(self.budget.0))?;
            self.graph_lap(g, anchors.last().expect("pushed").len(), &reach, nodes, degree);
            self.reaches.push(reach);
        }
        let text_driven = self.plan.matches.is_some() && self.plan.similar.is_none();
        let (driver, source) = match if text_driven { (None, "text index".to_owned()) } else { self.driver()? } {
            // The text index drives: candidates come ranked from it, and a partial walk is checked per candidate.
            found if text_driven => found,
            (None, _) if self.reaches.iter().any(|r| matches!(r, Reach::Partial { .. })) => {
                // No index to check the last hops from: complete the walks after all.
                for (i, g) in self.plan.graph.iter().enumerate() {
                    if matches!(self.reaches[i], Reach::Partial { .. }) {
                        let partial = std::mem::replace(&mut self.reaches[i], Reach::Complete(Default::default()));
                        let reach = partial.complete(self.txn, self.t, g)?;
                        self.graph_lap(g, anchors[i].len(), &reach, nodes, degree);
                        self.reaches[i] = reach;
                    }
                }
                self.driver()?
            }
            found => found,
        };
        let similar = self.plan.similar.clone();
        let mut strategy = vec![source];
        let matches = self.plan.matches.clone();
        let mut hits = match (&similar, &matches) {
            (Some(s), None) => {
                let space = s.space(self.txn, self.t)?;
                vectors::check_vector(&space, &s.vector)?;
                let (hits, how) = self.nearest(&space, s, driver.as_deref())?;
                strategy.push(how);
                hits
            }
            (None, Some(m)) => self.matching(m, m.k)?,
            (Some(s), Some(m)) => {
                let space = s.space(self.txn, self.t)?;
                vectors::check_vector(&space, &s.vector)?;
                // Each retriever proposes more than asked; the fused best k come back.
                let pool = s.k.saturating_mul(CANDIDATES_PER_RESULT).max(MIN_CANDIDATES);
                let (nearest, how) = self.nearest(&space, &Similar { k: pool, ..s.clone() }, driver.as_deref())?;
                let texts = self.matching(m, Some(pool))?;
                strategy.push(format!("{how} + text index {}", m.index));
                self.fuse(texts, nearest, space.spec.metric, m.text_weight.unwrap_or(DEFAULT_TEXT_WEIGHT), s.k)
            }
            (None, None) => self.all_passing(driver.as_deref(), nodes)?,
        };
        for hit in &mut hits {
            if hit.node.is_none() {
                hit.node = Some(read_node(self.txn, self.t, hit.key)?);
            }
        }
        let order = &self.plan.order;
        let mut keyed: Vec<(Position, Hit)> =
            hits.into_iter().map(|h| Ok((position_of(order, h.node.as_ref().expect("read above"), h.distance, h.score)?, h))).collect::<Result<_>>()?;
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
            OrderKey::Score => "score".into(),
            OrderKey::CreatedAt => "createdAt".into(),
        };
        self.lap("order", format!("{order_name} {:?}", order.direction).to_lowercase(), None, page.len());
        strategy.push("order".into());
        self.render(&page, remaining > take, &strategy.join(" → "))
    }

    fn graph_lap(&mut self, g: &GraphFilter, anchors: usize, reach: &Reach, nodes: u64, degree: f64) {
        let estimate = ((anchors as f64) * degree.max(1.0).powi(g.max_hops as i32)).min(nodes as f64) as u64;
        let (size, how) = match reach {
            Reach::Complete(m) => (m.len(), String::new()),
            Reach::Partial { inner, .. } => (inner.len(), format!(", last hop checked per candidate ({} within {})", inner.len(), g.max_hops - 1)),
        };
        let detail = format!("{anchors} anchor(s), {:?}, ≤{} hops{how}", g.direction, g.max_hops).to_lowercase();
        self.lap(if g.negate { "graph-exclude" } else { "graph" }, detail, Some(estimate), size);
    }

    /// The smallest candidate set among the positive graph filters and the
    /// indexes (sorted keys), or `None` when nothing narrows the nodes.
    fn driver(&mut self) -> Result<(Option<Vec<u64>>, String)> {
        let mut best: Option<(Vec<u64>, String)> = None;
        for (i, g) in self.plan.graph.iter().enumerate() {
            if let (false, Reach::Complete(reach)) = (g.negate, &self.reaches[i]) {
                if best.as_ref().is_none_or(|(b, _)| reach.len() < b.len()) {
                    let mut keys: Vec<u64> = reach.keys().copied().collect();
                    keys.sort_unstable();
                    best = Some((keys, format!("graph filter {i}")));
                }
            }
        }
        let partial = self.reaches.iter().any(|r| matches!(r, Reach::Partial { .. }));
        let cap = best.as_ref().map_or(if partial { self.budget.1 } else { usize::MAX }, |(b, _)| b.len());
        if let Some(found) = self.index_candidates(cap)? {
            best = Some(found);
        }
        if let Some((keys, detail)) = &mut best {
            self.intersect_indexes(keys, detail)?;
        }
        let size = best.as_ref().map(|(b, _)| b.len());
        let detail = match &best {
            Some((_, d)) => d.clone(),
            None if partial => format!("no index gives at most {cap} candidates: the walks are completed"),
            None => "no index narrows: scan".to_owned(),
        };
        self.lap("candidates", detail.clone(), size.map(|s| s as u64), size.unwrap_or(0));
        Ok(match best {
            Some((keys, source)) => (Some(keys), source.split(' ').next().unwrap_or("index").to_owned()),
            None => (None, "scan".into()),
        })
    }

    /// Narrows a sorted candidate set by every other indexed condition of a
    /// single-type plan whose index range holds at most 4× as many nodes.
    fn intersect_indexes(&self, keys: &mut Vec<u64>, detail: &mut String) -> Result<()> {
        let Some([ty]) = self.filter.types.as_deref() else { return Ok(()) };
        for (def, probe) in self.probes(ty)? {
            let name = format!("index {ty}.{}", def.property);
            if detail.contains(&name) {
                continue;
            }
            if let Some(set) = self.probe(&def, probe, keys.len().saturating_mul(4))? {
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

    /// The indexed conditions on nodes of `ty`, most selective kind first:
    /// `eq`, `in`, a lower and an upper bound on one property, one bound.
    fn probes(&self, ty: &str) -> Result<Vec<(index_defs::IndexDef, Probe<'_>)>> {
        let defs = index_defs::list(self.txn, self.t, Some(ty))?;
        let conditions = &self.filter.conditions;
        let mut out = Vec::new();
        for def in defs {
            let on: Vec<&Condition> = conditions.iter().filter(|(p, _)| *p == def.property).map(|(_, c)| c).collect();
            let lower = on.iter().find(|c| matches!(c, Condition::Gt(_) | Condition::Gte(_)));
            let upper = on.iter().find(|c| matches!(c, Condition::Lt(_) | Condition::Lte(_)));
            if let (Some(lo), Some(hi)) = (lower, upper) {
                out.push((def.clone(), Probe::Between(lo, hi)));
            }
            out.extend(on.into_iter().map(|c| (def.clone(), Probe::One(c))));
        }
        let rank = |p: &Probe| match p {
            Probe::One(Condition::Eq(_)) => 0,
            Probe::One(Condition::In(_)) => 1,
            Probe::Between(..) => 2,
            Probe::One(_) => 3,
        };
        out.sort_by_key(|(_, p)| rank(p));
        Ok(out)
    }

    fn probe(&self, def: &index_defs::IndexDef, probe: Probe, cap: usize) -> Result<Option<Vec<u64>>> {
        match probe {
            Probe::One(c) => indexes::candidates_within(self.txn, self.t, def, c, cap),
            Probe::Between(lo, hi) => indexes::between_within(self.txn, self.t, def, lo, hi, cap),
        }
    }

    /// Nodes of the plan's types from their most selective usable index (a
    /// property index, else the type index), or `None` when there are no
    /// types or the set would exceed `cap`.
    fn index_candidates(&self, cap: usize) -> Result<Option<(Vec<u64>, String)>> {
        let Some(types) = &self.filter.types else { return Ok(None) };
        let mut out = Vec::new();
        let mut used = Vec::new();
        'types: for ty in types {
            for (def, probe) in self.probes(ty)? {
                if let Some(keys) = self.probe(&def, probe, cap.saturating_sub(out.len()))? {
                    out.extend(keys);
                    used.push(format!("index {}.{}", def.node_type, def.property));
                    continue 'types;
                }
            }
            if self.plan.similar.is_some() {
                // Vectors are read in key order faster than looked up per node; types are tested on the nearest records.
                return Ok(None);
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

    /// Whether `key` passes every graph filter (set lookups, and an adjacency read per partial filter).
    fn in_graph(&self, key: u64) -> Result<bool> {
        for (i, g) in self.plan.graph.iter().enumerate() {
            if self.reaches[i].hops(self.txn, self.t, key)?.is_some() == g.negate {
                return Ok(false);
            }
        }
        Ok(true)
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
        if !self.in_graph(key)? {
            return Ok(None);
        }
        self.record(key)
    }

    /// Every passing node, from the driver or from the whole node table.
    fn all_passing(&mut self, driver: Option<&[u64]>, nodes: u64) -> Result<Vec<Hit>> {
        let mut hits = Vec::new();
        let mut keep = |key: u64, node: Option<Node>, run: &Self| -> Result<()> {
            if let Some(read) = run.passes(key)? {
                hits.push(Hit { key, node: read.or(node), distance: None, score: None });
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

    /// The best BM25 matches that pass the whole filter part, best first; at most `limit`.
    fn matching(&mut self, m: &Matches, limit: Option<usize>) -> Result<Vec<Hit>> {
        let ranked = text::index::rank(self.txn, self.t, &m.index, &m.query)?;
        let limit = limit.unwrap_or(usize::MAX);
        let mut hits = Vec::new();
        for &(score, key) in &ranked {
            if hits.len() == limit {
                break;
            }
            if let Some(read) = self.passes(key)? {
                hits.push(Hit { key, node: read, distance: None, score: Some(score) });
            }
        }
        self.lap("text", format!("index {}: {} matching", m.index, ranked.len()), Some(ranked.len() as u64), hits.len());
        Ok(hits)
    }

    /// A convex combination of the two retrievers' normalised scores (BM25
    /// over the query's best, the vector similarity), the best `k`; ties by key.
    fn fuse(&mut self, texts: Vec<Hit>, nearest: Vec<Hit>, metric: Metric, text_weight: f64, k: usize) -> Vec<Hit> {
        let best = texts.first().and_then(|h| h.score).filter(|s| *s > 0.0).unwrap_or(1.0);
        let similarity = |d: f32| match metric {
            Metric::L2 => 1.0 / (1.0 + f64::from(d)),
            Metric::Cosine | Metric::Dot => (1.0 - f64::from(d)).clamp(0.0, 1.0),
        };
        let mut fused: HashMap<u64, (Hit, f64, f64)> = HashMap::new();
        for hit in texts {
            let text = hit.score.unwrap_or(0.0) / best;
            fused.insert(hit.key, (hit, text, 0.0));
        }
        for hit in nearest {
            let vector = hit.distance.map_or(0.0, similarity);
            match fused.get_mut(&hit.key) {
                Some(entry) => {
                    entry.0.distance = hit.distance;
                    entry.2 = vector;
                }
                None => {
                    fused.insert(hit.key, (hit, 0.0, vector));
                }
            }
        }
        let mut out: Vec<Hit> = fused
            .into_values()
            .map(|(mut hit, text, vector)| {
                hit.score = Some(text_weight * text + (1.0 - text_weight) * vector);
                hit
            })
            .collect();
        out.sort_by(|a, b| b.score.unwrap_or(0.0).total_cmp(&a.score.unwrap_or(0.0)).then(a.key.cmp(&b.key)));
        out.truncate(k);
        self.lap("fuse", format!("text weight {text_weight}"), None, out.len());
        out
    }

    fn render(&self, page: &[Hit], more: bool, strategy: &str) -> Result<String> {
        let first = self.plan.graph.iter().position(|g| !g.negate);
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
            if let Some(score) = hit.score {
                let _ = write!(out, ",\"score\":{}", serde_json::Number::from_f64(score).map_or("null".into(), |n| n.to_string()));
            }
            if let Some(hops) = first.map(|i| self.reaches[i].hops(self.txn, self.t, hit.key)).transpose()?.flatten() {
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
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use crate::{Database, NewEdge, NewNode, OpenOptions};
    use crate::vector::space::{Metric, SpaceSpec};
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
    fn partial_walks_check_the_last_hop_per_candidate_with_the_same_answers() {
        let dir = tempfile::tempdir().unwrap();
        let db = db(dir.path());
        db.create_index("M", "n").unwrap();
        // Entities related to e, and messages mentioning them: reach at 2 hops is partial with budget 0.
        let more: Vec<NewNode> = (0..4).map(|i| NewNode { id: format!("f{i}"), node_type: "E".into(), properties: "{}".into() }).collect();
        db.insert_nodes(&more, 1).unwrap();
        let mut edges: Vec<NewEdge> = (0..4)
            .map(|i| NewEdge { id: format!("r{i}"), edge_type: "REL".into(), from: format!("f{i}"), to: "e".into(), properties: "{}".into(), weight: 1.0 })
            .collect();
        edges.extend((0..20).filter(|i| i % 4 == 1).map(|i| NewEdge {
            id: format!("y{i}"),
            edge_type: "MENTIONS".into(),
            from: format!("m{i:02}"),
            to: format!("f{}", i % 3),
            properties: "{}".into(),
            weight: 1.0,
        }));
        db.insert_edges(&edges, 1).unwrap();
        for negate in [false, true] {
            for similar in ["", r#","similar":{"space":"s","k":4,"vector":[7,0]}"#] {
                let order = if similar.is_empty() { "createdAt" } else { "distance" };
                let plan = format!(
                    r#"{{"version":1,"types":["M"],"where":[{{"property":"n","op":"gte","value":2}}],
                    "graph":[{{"anchors":["e"],"edgeTypes":["MENTIONS","REL"],"direction":"out","maxHops":2,"negate":{negate}}}]{similar},
                    "order":{{"key":"{order}","direction":"asc"}}}}"#
                );
                let whole = db.execute_plan(&plan, None).unwrap();
                let partial = db.execute_plan_within(&plan, None, (0, usize::MAX)).unwrap();
                assert!(partial.contains("last hop checked per candidate"), "{partial}");
                let items = |json: &str| serde_json::from_str::<Value>(json).unwrap()["items"].clone();
                assert_eq!(items(&partial), items(&whole), "negate {negate}, similar {similar:?}");
                assert!(!items(&whole).as_array().unwrap().is_empty());
            }
        }
        // Without an index to drive, the walk is completed instead.
        let scan = r#"{"version":1,"graph":[{"anchors":["e"],"direction":"out","maxHops":2,"negate":false}],"order":{"key":"createdAt","direction":"asc"}}"#;
        assert_eq!(db.execute_plan_within(scan, None, (0, usize::MAX)).unwrap().matches("\"stage\":\"graph\"").count(), 2);
        assert_eq!(ids(&db.execute_plan_within(scan, None, (0, usize::MAX)).unwrap()), ids(&db.execute_plan(scan, None).unwrap()));
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

    #[test]
    fn matches_ranks_by_bm25_under_the_filters_and_fuses_with_similar() {
        let dir = tempfile::tempdir().unwrap();
        let db = db(dir.path());
        db.create_text_index("t", &serde_json::from_str(r#"{"types":["M"],"fields":["text"]}"#).unwrap(), &mut |_, _| true).unwrap();
        for (id, text) in [("m00", "lake hike"), ("m01", "lake lake ferry"), ("m02", "pasta"), ("m03", "lake"), ("m04", "a long walk by the lake with a ferry and a picnic")] {
            db.update_node(id, &serde_json::json!({ "text": text }).to_string(), 2).unwrap();
        }
        let text_only = r#"{"version":1,"types":["M"],"matches":{"index":"t","query":"lake"},"order":{"key":"score","direction":"desc"}}"#;
        let out = db.execute_plan(text_only, None).unwrap();
        assert_eq!(ids(&out), ["m03", "m01", "m00", "m04"], "BM25: the one-word document beats two hits in three words");
        let v: Value = serde_json::from_str(&out).unwrap();
        assert!(v["items"][0]["score"].as_f64().unwrap() > v["items"][1]["score"].as_f64().unwrap());
        assert!(v["stages"].as_array().unwrap().iter().any(|s| s["stage"] == "text"));
        let even = r#"{"version":1,"where":[{"property":"even","op":"eq","value":true}],"matches":{"index":"t","query":"lake","k":2},"order":{"key":"score","direction":"desc"}}"#;
        assert_eq!(ids(&db.execute_plan(even, None).unwrap()), ["m00", "m04"]);
        // Fused: the text decides at weight 1, the vectors at 0 (m04 is nearest to [4, 0]).
        let fused = |w: f64| format!(r#"{{"version":1,"types":["M"],"matches":{{"index":"t","query":"ferry","textWeight":{w}}},"similar":{{"space":"s","k":2,"vector":[4,0]}},"order":{{"key":"score","direction":"desc"}}}}"#);
        assert_eq!(ids(&db.execute_plan(&fused(1.0), None).unwrap()), ["m01", "m04"]);
        assert_eq!(ids(&db.execute_plan(&fused(0.0), None).unwrap())[0], "m04");
        let bad = |plan: &str| db.execute_plan(plan, None).unwrap_err().code;
        assert_eq!(bad(r#"{"version":1,"order":{"key":"score","direction":"desc"}}"#), crate::Code::InvalidArgument);
        assert_eq!(bad(r#"{"version":1,"matches":{"index":"t","query":"  "},"order":{"key":"score","direction":"desc"}}"#), crate::Code::InvalidArgument);
        assert_eq!(bad(r#"{"version":1,"matches":{"index":"nope","query":"x"},"order":{"key":"score","direction":"desc"}}"#), crate::Code::NotFound);
    }

    #[test]
    fn a_text_embedded_by_another_embedder_than_the_spaces_is_a_conflict() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path(), OpenOptions::default()).unwrap();
        db.ensure_space("s", &SpaceSpec { dimensions: 2, metric: Metric::L2, index: Some("flat".into()), m: None, ef_construction: None, ef: None, embedder: Some("hashing".into()) }).unwrap();
        let plan = |by: &str| format!(r#"{{"version":1,"similar":{{"space":"s","k":1,"vector":[1,0],"embeddedBy":"{by}"}},"order":{{"key":"distance","direction":"asc"}}}}"#);
        assert!(db.execute_plan(&plan("hashing"), None).is_ok());
        let err = db.execute_plan(&plan("local:minilm"), None).unwrap_err();
        assert_eq!(err.code, crate::Code::Conflict);
        assert!(err.message.contains("\"local:minilm\"") && err.message.contains("\"hashing\""), "{}", err.message);
    }

    #[test]
    fn filtered_graph_search_returns_k_passing_nodes_whether_most_or_few_pass() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path(), OpenOptions::default()).unwrap();
        db.ensure_space("g", &SpaceSpec { dimensions: 2, metric: Metric::L2, index: Some("hnsw".into()), m: None, ef_construction: None, ef: None, embedder: None }).unwrap();
        // 6,000 points spread over a square (not on a line: concurrent
        // insertion of collinear neighbours can leave some unlinked); every
        // 100th is of type Rare, the rest Common.
        let point = |i: usize| {
            let h = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            [(h >> 40) as f32 / (1u64 << 24) as f32 * 6000.0, (h & 0xFF_FFFF) as f32 / (1u64 << 24) as f32 * 6000.0]
        };
        let nodes: Vec<NewNode> = (0..6000).map(|i| NewNode { id: format!("n{i:04}"), node_type: if i % 100 == 0 { "Rare" } else { "Common" }.into(), properties: "{}".into() }).collect();
        db.insert_nodes(&nodes, 1).unwrap();
        for i in 0..6000 {
            db.insert_embedding(&format!("n{i:04}"), "g", &point(i)).unwrap();
        }
        db.catch_up_indexes().unwrap();
        let plan = |ty: &str| format!(r#"{{"version":1,"types":["{ty}"],"similar":{{"space":"g","k":5,"vector":[3000.2,3000.2]}},"order":{{"key":"distance","direction":"asc"}}}}"#);
        let distance = |i: usize| (point(i)[0] - 3000.2).powi(2) + (point(i)[1] - 3000.2).powi(2);
        let nearest = |rare: bool| {
            let mut of_type: Vec<usize> = (0..6000).filter(|i| (i % 100 == 0) == rare).collect();
            of_type.sort_by(|&a, &b| distance(a).total_cmp(&distance(b)));
            of_type[..5].iter().map(|i| format!("n{i:04}")).collect::<Vec<_>>()
        };
        let common = db.execute_plan(&plan("Common"), None).unwrap();
        assert_eq!(ids(&common), nearest(false));
        assert!(common.contains("then filtered"), "most pass: the plain walk, filtered after: {common}");
        let rare = db.execute_plan(&plan("Rare"), None).unwrap();
        let rare_ids = ids(&rare);
        assert_eq!(rare_ids.len(), 5);
        assert!(rare_ids[0] == nearest(true)[0] && rare_ids.iter().all(|id| id.ends_with("00")), "only Rare nodes: {rare_ids:?}");
        assert!(!rare.contains("then filtered"), "few pass: the filtered walk or the scan: {rare}");
    }
}

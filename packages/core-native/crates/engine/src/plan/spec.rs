//! Executable query plans (the JSON `@loomdb/query` sends, version 1) and
//! the order their results come in.
//!
//! Invariants (shared with the generic executor in `@loomdb/query`, which a
//! differential test holds equal):
//! - A graph filter keeps nodes whose shortest path to any anchor, walking
//!   edges backwards from the anchors, has 1 to `max_hops` edges; anchors
//!   themselves are never kept; unknown anchors reach nothing.
//! - Results are ordered by [`Position`]: kind rank, then value, then id
//!   bytewise; `desc` reverses the whole order. A page holds the results
//!   strictly after `position`.

use crate::error::{Error, Result};
use crate::storage::filter::{Condition, NodeFilter};
use crate::graph::traverse::{Direction, Hop};
use crate::storage::records::Node;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::cmp::Ordering;

/// The plan version this engine runs.
pub const PLAN_VERSION: u32 = 1;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Plan {
    pub version: u32,
    #[serde(default)]
    pub types: Option<Vec<String>>,
    #[serde(default, rename = "where")]
    pub conditions: Vec<PlanCondition>,
    #[serde(default)]
    pub created_between: Option<TimeRange>,
    #[serde(default)]
    pub graph: Vec<GraphFilter>,
    #[serde(default)]
    pub similar: Option<Similar>,
    #[serde(default)]
    pub matches: Option<Matches>,
    pub order: Order,
    #[serde(default)]
    pub limit: Option<u64>,
    #[serde(default)]
    pub position: Option<Position>,
}

/// `{ property, op, value }`, as the plan spells a condition.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanCondition {
    pub property: String,
    pub op: String,
    pub value: Value,
}

/// Inclusive bounds on `createdAt`, ms since epoch.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeRange {
    pub from: f64,
    pub to: f64,
}

/// Anchors chosen by type and conditions.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnchorMatch {
    #[serde(default)]
    pub types: Option<Vec<String>>,
    #[serde(default, rename = "where")]
    pub conditions: Vec<PlanCondition>,
}

/// Anchors are the nodes named in `anchors` plus those `anchor_match` selects.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GraphFilter {
    #[serde(default)]
    pub anchors: Vec<String>,
    #[serde(default)]
    pub anchor_match: Option<AnchorMatch>,
    #[serde(default)]
    pub edge_types: Option<Vec<String>>,
    /// Seen from the result node: `Out` = result → … → anchor.
    pub direction: Direction,
    pub max_hops: u32,
    /// Keep the nodes the filter would drop.
    pub negate: bool,
}

impl GraphFilter {
    /// The hop that walks from the anchors towards the results.
    pub fn backwards(&self) -> Hop {
        let direction = match self.direction {
            Direction::Out => Direction::In,
            Direction::In => Direction::Out,
            Direction::Both => Direction::Both,
        };
        Hop { direction, edge_types: self.edge_types.clone() }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Similar {
    pub space: String,
    pub k: usize,
    #[serde(default)]
    pub max_distance: Option<f64>,
    /// In the JSON, or passed beside it (see [`Plan::parse`]).
    #[serde(default)]
    pub vector: Vec<f32>,
    /// Rank every candidate exactly, never through the space's graph.
    #[serde(default)]
    pub exact: bool,
    /// The embedder a text was embedded with: `CONFLICT` when the space
    /// records another (the caller's cached choice is stale).
    #[serde(default)]
    pub embedded_by: Option<String>,
}

impl Similar {
    /// The space to search, refused when the vector came from another embedder than its spec's.
    pub fn space(&self, txn: &heed::RoTxn, t: &crate::storage::store::Tables) -> Result<crate::vector::space::Space> {
        let space = crate::vector::catalog::require_space(txn, t, &self.space)?;
        if let Some(by) = &self.embedded_by {
            if space.spec.embedder.as_deref() != Some(by.as_str()) {
                return Err(Error::new(crate::error::Code::Conflict, format!(
                    "the text was embedded by \"{by}\" but space \"{}\" records the embedder {}",
                    self.space,
                    space.spec.embedder.as_deref().map_or("none".to_owned(), |e| format!("\"{e}\""))
                )));
            }
        }
        Ok(space)
    }
}

/// Full-text matching (see `text::index`): the `k` best BM25 matches that
/// pass the filters (all of them without `k`); with `similar` too, both
/// retrievers' candidates fused by `text_weight` (see `query`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Matches {
    pub index: String,
    pub query: String,
    #[serde(default)]
    pub k: Option<usize>,
    #[serde(default)]
    pub text_weight: Option<f64>,
}

/// Share of the text score in a fused score when a plan does not say.
///
/// Chosen on RealMem (`npm run bench -- recall`): 0.7 is the weight at which hybrid
/// retrieval beats SQLite FTS5 with the lexical hashing embedder and beats FTS5 +
/// MiniLM glued with RRF with a dense model; LoCoMo, held out, only checks it.
pub const DEFAULT_TEXT_WEIGHT: f64 = 0.7;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum OrderKey {
    /// Relevance, with `matches`: BM25, or the fused score with `similar` too.
    Score,
    Distance,
    CreatedAt,
    Property,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderDirection {
    Asc,
    Desc,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Order {
    pub key: OrderKey,
    #[serde(default)]
    pub property: Option<String>,
    pub direction: OrderDirection,
}

/// Where a result sits in its order: `rank` orders kinds of values (0
/// missing, 1 null, 2 boolean, 3 number, 4 string, 5 array or object, which
/// tie), `value` within a kind, `id` breaks ties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Position {
    pub rank: u8,
    pub value: Value,
    pub id: String,
}

impl Plan {
    /// Parses and checks a plan; errors are `INVALID_ARGUMENT` naming the
    /// part. The query vector of `similar` may come beside the JSON, as
    /// `vector`, which saves writing and parsing it as text.
    pub fn parse(json: &str, vector: Option<Vec<f32>>) -> Result<Plan> {
        let mut plan: Plan = serde_json::from_str(json).map_err(|e| Error::invalid(format!("plan: {e}")))?;
        match (&mut plan.similar, vector) {
            (Some(s), Some(v)) if s.vector.is_empty() => s.vector = v,
            (Some(_), Some(_)) => return Err(Error::invalid("plan.similar.vector is given twice: in the plan and beside it")),
            (None, Some(_)) => return Err(Error::invalid("a query vector was given for a plan without similar")),
            (Some(s), None) if s.vector.is_empty() => return Err(Error::invalid("plan.similar.vector is missing")),
            _ => {}
        }
        if plan.version != PLAN_VERSION {
            return Err(Error::invalid(format!("plan.version is {}; this engine runs plan version {PLAN_VERSION}", plan.version)));
        }
        if plan.order.key == OrderKey::Distance && plan.similar.is_none() {
            return Err(Error::invalid("plan.order.key is \"distance\", which needs plan.similar"));
        }
        if plan.order.key == OrderKey::Score && plan.matches.is_none() {
            return Err(Error::invalid("plan.order.key is \"score\", which needs plan.matches"));
        }
        if let Some(m) = &plan.matches {
            if m.query.trim().is_empty() {
                return Err(Error::invalid("plan.matches.query must be a non-empty text"));
            }
            if m.k == Some(0) {
                return Err(Error::invalid("plan.matches.k must be at least 1"));
            }
            if m.text_weight.is_some_and(|w| !(0.0..=1.0).contains(&w)) {
                return Err(Error::invalid(format!("plan.matches.textWeight must be from 0 to 1, got {}", m.text_weight.unwrap_or_default())));
            }
        }
        if (plan.order.key == OrderKey::Property) != plan.order.property.is_some() {
            return Err(Error::invalid("plan.order.property is required with key \"property\" and only then"));
        }
        if let Some(s) = &plan.similar {
            if s.k == 0 {
                return Err(Error::invalid("plan.similar.k must be at least 1"));
            }
        }
        if plan.limit == Some(0) {
            return Err(Error::invalid("plan.limit must be at least 1"));
        }
        plan.filter()?;
        for (i, g) in plan.graph.iter().enumerate() {
            if g.anchors.is_empty() && g.anchor_match.is_none() {
                return Err(Error::invalid(format!("plan.graph[{i}] needs anchors or anchorMatch")));
            }
            if let Some(m) = &g.anchor_match {
                node_filter(&format!("plan.graph[{i}].anchorMatch"), &m.types, &m.conditions)?;
            }
        }
        Ok(plan)
    }

    /// The type and property part of the plan as a node filter.
    pub fn filter(&self) -> Result<NodeFilter> {
        node_filter("plan", &self.types, &self.conditions)
    }

    /// Whether a node record passes the type, time and property parts.
    pub fn record_passes(&self, filter: &NodeFilter, node: &Node) -> Result<bool> {
        if let Some(range) = self.created_between {
            let at = node.created_at as f64;
            if at < range.from || at > range.to {
                return Ok(false);
            }
        }
        filter.admits_node(node)
    }

    /// Whether any part of the plan needs the node record to decide.
    pub fn needs_record(&self) -> bool {
        self.types.is_some() || !self.conditions.is_empty() || self.created_between.is_some()
    }
}

/// Types and `{ property, op, value }` conditions as a node filter; errors name `what`.
pub fn node_filter(what: &str, types: &Option<Vec<String>>, conditions: &[PlanCondition]) -> Result<NodeFilter> {
    let conditions = conditions
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mut one = serde_json::Map::new();
            one.insert(c.op.clone(), c.value.clone());
            serde_json::from_value::<Condition>(Value::Object(one))
                .map(|condition| (c.property.clone(), condition))
                .map_err(|e| Error::invalid(format!("{what}.where[{i}]: operator {:?} with value {}: {e}", c.op, c.value)))
        })
        .collect::<Result<_>>()?;
    Ok(NodeFilter { types: types.clone(), ids: None, conditions })
}

fn rank_of(v: Option<&Value>) -> u8 {
    match v {
        None => 0,
        Some(Value::Null) => 1,
        Some(Value::Bool(_)) => 2,
        Some(Value::Number(_)) => 3,
        Some(Value::String(_)) => 4,
        Some(_) => 5,
    }
}

/// A result's position under `order`; `distance` and `score` are its distance and relevance when the plan has them.
pub fn position_of(order: &Order, node: &Node, distance: Option<f32>, score: Option<f64>) -> Result<Position> {
    let number = |x: f64| serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number);
    Ok(match order.key {
        OrderKey::Score => Position { rank: 3, value: number(score.unwrap_or(f64::NAN)), id: node.id.clone() },
        OrderKey::Distance => Position { rank: 3, value: number(f64::from(distance.unwrap_or(f32::NAN))), id: node.id.clone() },
        OrderKey::CreatedAt => Position { rank: 3, value: Value::from(node.created_at), id: node.id.clone() },
        OrderKey::Property => {
            let v = property_of(&node.properties, order.property.as_deref().unwrap_or_default())
                .map_err(|_| Error::corruption(format!("node \"{}\" holds properties that are not a JSON object", node.id)))?;
            let rank = rank_of(v.as_ref());
            Position { rank, value: if rank == 0 || rank == 5 { Value::Null } else { v.unwrap_or(Value::Null) }, id: node.id.clone() }
        }
    })
}

/// One property of a JSON object, skipping over the others without building them.
fn property_of(json: &str, name: &str) -> serde_json::Result<Option<Value>> {
    use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
    struct Find<'n>(&'n str);
    impl<'de> Visitor<'de> for Find<'_> {
        type Value = Option<Value>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Self::Value, A::Error> {
            let mut found = None;
            while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                if key == self.0 {
                    found = Some(map.next_value::<Value>()?);
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(found)
        }
    }
    serde_json::Deserializer::from_str(json).deserialize_map(Find(name))
}

/// Ascending order of positions.
pub fn compare_positions(a: &Position, b: &Position) -> Ordering {
    let within = || match (&a.value, &b.value) {
        _ if a.rank == 5 => Ordering::Equal,
        (Value::Number(x), Value::Number(y)) => x.as_f64().partial_cmp(&y.as_f64()).unwrap_or(Ordering::Equal),
        (Value::String(x), Value::String(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        _ => Ordering::Equal,
    };
    a.rank.cmp(&b.rank).then_with(within).then_with(|| a.id.as_bytes().cmp(b.id.as_bytes()))
}

impl Order {
    /// Position order in this order's direction.
    pub fn compare(&self, a: &Position, b: &Position) -> Ordering {
        let c = compare_positions(a, b);
        if self.direction == OrderDirection::Desc {
            c.reverse()
        } else {
            c
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: &str, props: &str) -> Node {
        Node { id: id.into(), node_type: "T".into(), properties: props.into(), created_at: 5, updated_at: 5 }
    }

    #[test]
    fn plans_are_checked_before_they_run() {
        let ok = r#"{"version":1,"order":{"key":"createdAt","direction":"asc"}}"#;
        assert!(Plan::parse(ok, None).is_ok());
        let bad = [
            r#"{"version":2,"order":{"key":"createdAt","direction":"asc"}}"#,
            r#"{"version":1,"order":{"key":"distance","direction":"asc"}}"#,
            r#"{"version":1,"order":{"key":"createdAt","direction":"up"}}"#,
            r#"{"version":1,"order":{"key":"createdAt","direction":"asc"},"extra":1}"#,
            r#"{"version":1,"order":{"key":"createdAt","direction":"asc"},"where":[{"property":"p","op":"like","value":"x"}]}"#,
            r#"{"version":1,"order":{"key":"createdAt","direction":"asc"},"where":[{"property":"p","op":"in","value":"x"}]}"#,
        ];
        for json in bad {
            assert_eq!(Plan::parse(json, None).unwrap_err().code, crate::Code::InvalidArgument, "{json}");
        }
    }

    #[test]
    fn positions_order_kinds_then_values_then_ids() {
        let order = Order { key: OrderKey::Property, property: Some("p".into()), direction: OrderDirection::Asc };
        let nodes = [node("z", "{}"), node("a", r#"{"p":null}"#), node("b", r#"{"p":true}"#), node("c", r#"{"p":-1}"#), node("b2", r#"{"p":2}"#), node("a2", r#"{"p":"x"}"#), node("a3", r#"{"p":[1]}"#), node("b3", r#"{"p":{}}"#)];
        let positions: Vec<_> = nodes.iter().map(|n| position_of(&order, n, None, None).unwrap()).collect();
        assert!(positions.windows(2).all(|w| order.compare(&w[0], &w[1]) == Ordering::Less));
        let desc = Order { direction: OrderDirection::Desc, ..order };
        assert_eq!(desc.compare(&positions[0], &positions[1]), Ordering::Greater);
        assert_eq!(property_of(r#"{"a":{"p":1},"p\u0041":2,"pA":[3]}"#, "pA").unwrap(), Some(serde_json::json!([3])));
        assert_eq!(property_of(r#"{"a":1}"#, "p").unwrap(), None);
    }
}

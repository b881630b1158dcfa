//! Edge records: the id map, both adjacency tables, the selection of edges
//! by id, type and endpoint, and additions to counter edges
//! ([`add_weights`], over the weights table in `counters`).
//!
//! Invariants: an edge's record, id entry and its two adjacency entries
//! (`from ‖ type ‖ 0 ‖ to ‖ edge` and the reverse) are written and removed
//! together; both endpoints exist when it is written.

use crate::error::{in_batch, Error, Result};
use crate::storage::codec::{self, open as unseal, read_u64_be, seal, u64_key};
use crate::storage::counters;
use crate::storage::keys;
use crate::storage::changes::{log_change, Change};
use crate::storage::ids::{lookup, validate_id, validate_properties, validate_type};
use crate::storage::records::Edge;
use crate::storage::store::Tables;
use crate::storage::writing::{Held, Writing};
use heed::{RoTxn, RwTxn};
use serde::Deserialize;

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
pub(crate) fn scan_adjacency(txn: &RoTxn, table: crate::storage::store::Table, node: u64) -> Result<Vec<(u64, u64)>> {
    let mut out = Vec::new();
    for entry in table.prefix_iter(txn, &u64_key(node))? {
        let (k, _) = entry?;
        let (_, neighbour, edge) =
            keys::parse_adjacency(k).ok_or_else(|| Error::corruption(format!("adjacency key {} is malformed", codec::hex(k))))?;
        out.push((neighbour, edge));
    }
    Ok(out)
}

pub(crate) fn match_edges(txn: &RoTxn, t: &Tables, selector: &EdgeSelector) -> Result<Vec<u64>> {
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

/// Shallow-merges `patch` into edge `id`'s properties (`null` deletes a key)
/// and sets its weight when given. Type and endpoints never change, so
/// adjacency is untouched.
pub(crate) fn update_edge(txn: &mut RwTxn, t: &Writing, id: &str, patch: &serde_json::Map<String, serde_json::Value>, weight: Option<f64>) -> Result<Edge> {
    let key = lookup(txn, t.edge_ids, id)?.ok_or_else(|| Error::not_found(format!("edge \"{id}\" does not exist")))?;
    let mut edge = read_edge_record(txn, t, key)?;
    if !patch.is_empty() {
        let mut props: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&edge.properties)
            .map_err(|_| Error::corruption(format!("edge \"{id}\" holds properties that are not a JSON object")))?;
        for (k, v) in patch {
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
}

/// Adds each item's weight to the edge with its id, creating a counter edge
/// as given when absent (and the weight is positive) and deleting the edge
/// when the sum drops to 0 or below. An existing edge must have the item's
/// type and endpoints. Items with the same id apply in order; the others
/// in slot order, which walks the table's pages once.
pub(crate) fn add_weights(txn: &mut RwTxn, t: &Writing, items: &[NewEdge], now: i64) -> Result<()> {
    let mut order: Vec<(usize, [u8; 16])> = items.iter().map(|e| counters::slot(&e.id)).enumerate().collect();
    order.sort_by_key(|&(_, slot)| slot);
    for (i, _) in order {
        let e = &items[i];
        let id = counters::identity(&e.edge_type, &e.from, &e.to);
        let (key, weight) = match counters::get(txn, t, &e.id)? {
            // The common case: a counter already, and the item names it (no id map search, no record read).
            Some(counter) if counter.identity == id => (counter.key, sum(i, e, counter.weight)?),
            _ => {
                let Some(key) = lookup(txn, t.edge_ids, &e.id)? else {
                    if e.weight > 0.0 {
                        let (key, _) = insert_edge(txn, t, &NewEdge { weight: counters::MARKER, ..e.clone() }, now).map_err(|err| in_batch("edges", i, err))?;
                        counters::put(txn, t, &e.id, counters::Counter { weight: e.weight, identity: id, key })?;
                        // A later item may name the same edge: make it visible.
                        t.apply_held(txn)?;
                    }
                    continue;
                };
                let mut edge = read_edge_record(txn, t, key)?;
                if edge.edge_type != e.edge_type || edge.from != e.from || edge.to != e.to {
                    let message = format!("edge \"{}\" exists as {} {} → {}", e.id, edge.edge_type, edge.from, edge.to);
                    return Err(in_batch("edges", i, Error::invalid(message)));
                }
                if counters::is_marker(edge.weight) {
                    return Err(Error::corruption(format!("counter edge \"{}\" has no matching weight entry", e.id)));
                }
                // A plain edge becomes a counter on its first addition.
                let weight = sum(i, e, edge.weight)?;
                edge.weight = counters::MARKER;
                let k = u64_key(key);
                t.edges.put(txn, &k, &seal(&k, &edge.encode()))?;
                (key, weight)
            }
        };
        if weight <= 0.0 {
            delete_edge_record(txn, t, key)?;
        } else {
            counters::put(txn, t, &e.id, counters::Counter { weight, identity: id, key })?;
            log_change(txn, t, Change::EdgePut, key, 0)?;
        }
    }
    Ok(())
}

/// An edge's weight after item `i` adds to it; a sum past the largest
/// finite double is refused (it would be stored as infinity).
fn sum(i: usize, e: &NewEdge, weight: f64) -> Result<f64> {
    let total = weight + e.weight;
    if !total.is_finite() {
        let message = format!("edge \"{}\": adding {} to its weight {weight} overflows (weights are finite numbers)", e.id, e.weight);
        return Err(in_batch("edges", i, Error::invalid(message)));
    }
    Ok(total)
}

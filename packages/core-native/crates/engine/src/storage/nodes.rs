//! Node records: ids and types checked, the id map, the type index, and
//! every write of a node keeping the property indexes and the layers'
//! followers (`writing::Followers`: text indexes, embeddings) in step, in the caller's
//! transaction.
//!
//! Invariants: a node's id maps to one internal key, never reused; its
//! record, id entry and type entry are written and removed together;
//! deleting a node removes its edges and (through its followers) its
//! embeddings first.

use crate::error::{Error, Result};
use crate::storage::codec::{open as unseal, read_u64_be, seal, u64_key};
use crate::storage::edges::{delete_edge_record, scan_adjacency};
use crate::storage::indexes::{self, PropertyChange};
use crate::storage::keys;
use crate::storage::meta::{log_change, Change};
use crate::storage::records::Node;
use crate::storage::store::Tables;
use crate::storage::writing::{Held, Writing};
use heed::{RoTxn, RwTxn};
use serde::Deserialize;

/// Longest public id, in UTF-8 bytes (LMDB keys are at most 511 bytes).
pub const MAX_ID_BYTES: usize = 256;

/// Longest node or edge type, in UTF-8 bytes.
pub const MAX_TYPE_BYTES: usize = 128;

/// A node to insert.
#[derive(Debug, Clone, Deserialize)]
pub struct NewNode {
    pub id: String,
    #[serde(rename = "type")]
    pub node_type: String,
    /// A JSON object, as text.
    pub properties: String,
}

pub(crate) fn validate_id(what: &str, id: &str) -> Result<()> {
    if id.is_empty() || id.len() > MAX_ID_BYTES {
        return Err(Error::invalid(format!("{what} must be 1 to {MAX_ID_BYTES} bytes, got {} bytes: {id:?}", id.len())));
    }
    Ok(())
}

pub(crate) fn validate_type(what: &str, ty: &str) -> Result<()> {
    if ty.is_empty() || ty.len() > MAX_TYPE_BYTES || ty.contains('\0') {
        return Err(Error::invalid(format!("{what} must be 1 to {MAX_TYPE_BYTES} bytes without NUL, got {ty:?}")));
    }
    Ok(())
}

pub(crate) fn validate_properties(json: &str) -> Result<()> {
    match serde_json::from_str::<serde_json::Value>(json) {
        Ok(serde_json::Value::Object(_)) => Ok(()),
        Ok(_) => Err(Error::invalid("properties must be a JSON object")),
        Err(e) => Err(Error::invalid(format!("properties are not valid JSON: {e}"))),
    }
}

pub(crate) fn validate_node(n: &NewNode) -> Result<()> {
    validate_id("node id", &n.id)?;
    validate_type("node type", &n.node_type)?;
    validate_properties(&n.properties)
}

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

/// Removes a node record with its id, type entry, edges and embeddings.
pub(crate) fn delete_node(txn: &mut RwTxn, t: &Writing, key: u64) -> Result<()> {
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
    (t.followers().deleting)(txn, t, key)?;
    crate::storage::fault::check(crate::storage::fault::Point::Write)?;
    t.node_types.delete(txn, &keys::node_type(&node.node_type, key))?;
    reindex(txn, t, &node.node_type, key, &PropertyChange::new(Some(&node.properties), None))?;
    crate::storage::fault::check(crate::storage::fault::Point::Write)?;
    t.nodes.delete(txn, &u64_key(key))?;
    crate::storage::fault::check(crate::storage::fault::Point::Write)?;
    t.node_ids.delete(txn, node.id.as_bytes())?;
    log_change(txn, t, Change::NodeDelete, key, 0)
}

/// Keeps the property indexes of `node_type`, then its followers (text indexes), in step with one node write.
pub(crate) fn reindex(txn: &mut RwTxn, t: &Writing, node_type: &str, key: u64, change: &PropertyChange) -> Result<()> {
    indexes::update(txn, t, node_type, key, change)?;
    (t.followers().properties)(txn, t, node_type, key, change)
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

/// Shallow-merges `patch` into node `id`'s properties (a `null` value
/// deletes its key) and reindexes it.
pub(crate) fn update_node(txn: &mut RwTxn, t: &Writing, id: &str, patch: &serde_json::Map<String, serde_json::Value>, now: i64) -> Result<Node> {
    let key = lookup(txn, t.node_ids, id)?.ok_or_else(|| Error::not_found(format!("node \"{id}\" does not exist")))?;
    let mut node = read_node(txn, t, key)?;
    let mut props: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&node.properties)
        .map_err(|_| Error::corruption(format!("node \"{id}\" holds properties that are not a JSON object")))?;
    for (k, v) in patch {
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
}

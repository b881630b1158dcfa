//! Writes of node records: insert, update and delete, each keeping the
//! id map, the type index, the property indexes and the layers' followers
//! (`writing::Followers`: text indexes, embeddings) in step, in the
//! caller's transaction.
//!
//! Invariants: a node's record, id entry and type entry are written and
//! removed together; deleting a node removes its edges and (through its
//! followers) its embeddings first; every write is logged in `changes`.

use crate::error::{Error, Result};
use crate::storage::changes::{log_change, Change};
use crate::storage::codec::{seal, u64_key};
use crate::storage::edges::{delete_edge_record, scan_adjacency};
use crate::storage::ids::lookup;
use crate::storage::indexes;
use crate::storage::keys;
use crate::storage::nodes::{read_node, NewNode};
use crate::storage::records::{Node, PropertyChange};
use crate::storage::writing::{Held, Writing};
use heed::RwTxn;

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

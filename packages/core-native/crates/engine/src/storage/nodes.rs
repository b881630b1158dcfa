//! Node records as read: the node to insert and its checks, a record by
//! internal key, the nodes of a type (the type index) and of a list of ids.
//! Writes are in `node_writes`.
//!
//! Invariant: a node's id maps to one internal key, never reused; the type
//! index holds `type ‖ 0 ‖ key` for every node and nothing else.

use crate::error::{Error, Result};
use crate::storage::codec::{open as unseal, read_u64_be, u64_key};
use crate::storage::ids::{lookup, validate_id, validate_properties, validate_type};
use crate::storage::keys;
use crate::storage::records::Node;
use crate::storage::store::Tables;
use heed::RoTxn;
use serde::Deserialize;

/// A node to insert.
#[derive(Debug, Clone, Deserialize)]
pub struct NewNode {
    pub id: String,
    #[serde(rename = "type")]
    pub node_type: String,
    /// A JSON object, as text.
    pub properties: String,
}

pub(crate) fn validate_node(n: &NewNode) -> Result<()> {
    validate_id("node id", &n.id)?;
    validate_type("node type", &n.node_type)?;
    validate_properties(&n.properties)
}

pub(crate) fn read_node(txn: &RoTxn, t: &Tables, key: u64) -> Result<Node> {
    let k = u64_key(key);
    let v = t.nodes.get(txn, &k)?.ok_or_else(|| Error::corruption(format!("node record #{key} is missing")))?;
    Node::decode(unseal(&k, v, || format!("node record #{key}"))?)
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


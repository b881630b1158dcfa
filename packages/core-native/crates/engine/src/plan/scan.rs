//! Ordered pages of nodes and edges, resumable after any position. A page
//! starts strictly after the last item of the previous one, so an item present
//! for a whole walk is returned exactly once, whatever is written meanwhile.

use crate::storage::codec::{open as unseal, read_u64_be, u64_key};
use crate::storage::handle::Database;
use crate::storage::nodes::read_node;
use crate::storage::select::node_candidates;
use crate::error::{Error, Result};
use crate::storage::filter::NodeFilter;
use crate::storage::keys;
use crate::storage::records::{Edge, Node};
use heed::RoTxn;
use crate::storage::page::{Page, Position};
use serde::Deserialize;
use std::ops::Bound;

/// One `(key, value)` of a range scan.
type RawEntry<'t> = heed::Result<(&'t [u8], &'t [u8])>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum NodeOrder {
    /// Creation order (createdAt, then insertion).
    CreatedAt,
    /// By id, bytewise.
    Id,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodePageQuery {
    #[serde(default)]
    pub filter: NodeFilter,
    pub order: NodeOrder,
    #[serde(default)]
    pub descending: bool,
    #[serde(default)]
    pub after: Option<Position>,
    pub limit: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EdgePageQuery {
    #[serde(default, rename = "type")]
    pub edge_type: Option<String>,
    #[serde(default)]
    pub descending: bool,
    #[serde(default)]
    pub after: Option<Position>,
    pub limit: usize,
}

fn after_key(after: &Option<Position>) -> Result<Option<u64>> {
    match after {
        None => Ok(None),
        Some(Position::Key(k)) => Ok(Some(*k)),
        Some(Position::Id(_)) => Err(Error::invalid("this cursor belongs to an id-ordered walk")),
    }
}

/// Range bounds over keys of the form `prefix ‖ u64`, strictly after `after`.
fn bounds(prefix: &[u8], after: Option<u64>, descending: bool) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    let at = |k: u64| [prefix, &u64_key(k)].concat();
    let start = Bound::Included(at(0));
    let end = Bound::Included(at(u64::MAX));
    match (after, descending) {
        (None, _) => (start, end),
        (Some(k), false) => (Bound::Excluded(at(k)), end),
        (Some(k), true) => (start, Bound::Excluded(at(k))),
    }
}

/// Up to `want` keys of `table` entries `prefix ‖ key` after `after`, in order.
fn keys_after(txn: &RoTxn, table: crate::storage::store::Table, prefix: &[u8], after: Option<u64>, descending: bool, want: usize) -> Result<Vec<u64>> {
    let range = bounds(prefix, after, descending);
    let range = (range.0.as_ref().map(Vec::as_slice), range.1.as_ref().map(Vec::as_slice));
    let mut out = Vec::new();
    let mut take = |k: &[u8]| out.push(read_u64_be(&k[k.len() - 8..]));
    if descending {
        for entry in table.rev_range(txn, &range)?.take(want) {
            take(entry?.0);
        }
    } else {
        for entry in table.range(txn, &range)?.take(want) {
            take(entry?.0);
        }
    }
    Ok(out)
}

/// Up to `want` `(key, node)` records of the nodes table after `after`, in order.
fn nodes_after(txn: &RoTxn, table: crate::storage::store::Table, after: Option<u64>, descending: bool, want: usize) -> Result<Vec<(u64, Node)>> {
    let range = bounds(&[], after, descending);
    let range = (range.0.as_ref().map(Vec::as_slice), range.1.as_ref().map(Vec::as_slice));
    let decode = |entry: heed::Result<(&[u8], &[u8])>| -> Result<(u64, Node)> {
        let (k, v) = entry?;
        let key = read_u64_be(k);
        Ok((key, Node::decode(unseal(k, v, || format!("node record #{key}"))?)?))
    };
    if descending {
        table.rev_range(txn, &range)?.take(want).map(decode).collect()
    } else {
        table.range(txn, &range)?.take(want).map(decode).collect()
    }
}

impl Database {
    /// One page of nodes in `query.order`, filtered, strictly after `query.after`.
    pub fn list_nodes(&self, query: &NodePageQuery) -> Result<Page<Node>> {
        let _timer = self.timer(crate::storage::metrics::Op::Query);
        self.read(|txn, t| {
            let limit = query.limit;
            let mut items = Vec::with_capacity(limit.min(4096));
            let mut next = None;
            // Read in chunks so that filtered-out nodes cost no extra calls.
            let chunk = limit.clamp(64, 4096);
            // Ids or a property index give an explicit candidate list; else
            // the type index or the node table is walked in order.
            let explicit = node_candidates(txn, t, &query.filter, false)?;
            match query.order {
                NodeOrder::CreatedAt => {
                    let mut cursor = after_key(&query.after)?;
                    loop {
                        let keys: Vec<u64> = match (&explicit, &query.filter.types) {
                            (Some(ids), _) => {
                                let mut ks: Vec<u64> = ids
                                    .iter()
                                    .copied()
                                    .filter(|k| cursor.is_none_or(|c| if query.descending { *k < c } else { *k > c }))
                                    .collect();
                                if query.descending {
                                    ks.reverse();
                                }
                                ks.truncate(chunk);
                                ks
                            }
                            (None, Some(types)) => {
                                let mut ks = Vec::new();
                                for ty in types {
                                    ks.extend(keys_after(txn, t.node_types, &keys::node_type_prefix(ty), cursor, query.descending, chunk)?);
                                }
                                ks.sort_unstable();
                                if query.descending {
                                    ks.reverse();
                                }
                                ks.truncate(chunk);
                                ks
                            }
                            (None, None) => {
                                // Every node: read the records in the same range scan.
                                let nodes = nodes_after(txn, t.nodes, cursor, query.descending, chunk)?;
                                let exhausted = nodes.len() < chunk;
                                for (key, node) in nodes {
                                    cursor = Some(key);
                                    if query.filter.properties_pass(&node.properties)? {
                                        items.push(node);
                                        if items.len() == limit {
                                            return Ok(Page { items, next: Some(Position::Key(key)) });
                                        }
                                    }
                                }
                                if exhausted {
                                    return Ok(Page { items, next });
                                }
                                continue;
                            }
                        };
                        let exhausted = keys.len() < chunk;
                        for key in keys {
                            cursor = Some(key);
                            let node = read_node(txn, t, key)?;
                            let type_ok = query.filter.types.as_ref().is_none_or(|ts| ts.contains(&node.node_type));
                            if type_ok && query.filter.properties_pass(&node.properties)? {
                                items.push(node);
                                if items.len() == limit {
                                    next = Some(Position::Key(key));
                                    return Ok(Page { items, next });
                                }
                            }
                        }
                        if exhausted {
                            return Ok(Page { items, next });
                        }
                    }
                }
                NodeOrder::Id => {
                    let after = match &query.after {
                        None => None,
                        Some(Position::Id(id)) => Some(id.clone()),
                        Some(Position::Key(_)) => return Err(Error::invalid("this cursor belongs to a createdAt-ordered walk")),
                    };
                    if let Some(keys) = explicit {
                        let mut nodes = Vec::with_capacity(keys.len());
                        for key in keys {
                            let node = read_node(txn, t, key)?;
                            let beyond = after.as_ref().is_none_or(|a| if query.descending { node.id < *a } else { node.id > *a });
                            if beyond && query.filter.types.as_ref().is_none_or(|ts| ts.contains(&node.node_type)) && query.filter.properties_pass(&node.properties)? {
                                nodes.push(node);
                            }
                        }
                        nodes.sort_unstable_by(|a, b| if query.descending { b.id.cmp(&a.id) } else { a.id.cmp(&b.id) });
                        let next = (nodes.len() > limit).then(|| Position::Id(nodes[limit - 1].id.clone()));
                        nodes.truncate(limit);
                        return Ok(Page { items: nodes, next });
                    }
                    let range: (Bound<&[u8]>, Bound<&[u8]>) = match (&after, query.descending) {
                        (None, _) => (Bound::Unbounded, Bound::Unbounded),
                        (Some(id), false) => (Bound::Excluded(id.as_bytes()), Bound::Unbounded),
                        (Some(id), true) => (Bound::Unbounded, Bound::Excluded(id.as_bytes())),
                    };
                    let iter: Box<dyn Iterator<Item = RawEntry<'_>>> =
                        if query.descending { Box::new(t.node_ids.rev_range(txn, &range)?) } else { Box::new(t.node_ids.range(txn, &range)?) };
                    let ids = query.filter.ids.as_ref();
                    for entry in iter {
                        let (k, v) = entry?;
                        let id = std::str::from_utf8(k).map_err(|_| Error::corruption("node id is not UTF-8"))?;
                        if ids.is_some_and(|ids| !ids.iter().any(|x| x == id)) {
                            continue;
                        }
                        let key = read_u64_be(unseal(k, v, || format!("id map entry \"{id}\""))?);
                        let node = read_node(txn, t, key)?;
                        let type_ok = query.filter.types.as_ref().is_none_or(|ts| ts.contains(&node.node_type));
                        if type_ok && query.filter.properties_pass(&node.properties)? {
                            items.push(node);
                            if items.len() == limit {
                                next = Some(Position::Id(id.to_owned()));
                                break;
                            }
                        }
                    }
                    Ok(Page { items, next })
                }
            }
        })
    }

    /// One page of edges in creation order, optionally of one type.
    pub fn list_edges(&self, query: &EdgePageQuery) -> Result<Page<Edge>> {
        let _timer = self.timer(crate::storage::metrics::Op::Query);
        self.read(|txn, t| {
            let mut cursor = after_key(&query.after)?;
            let mut items = Vec::new();
            let chunk = query.limit.clamp(64, 4096);
            loop {
                let keys = keys_after(txn, t.edges, &[], cursor, query.descending, chunk)?;
                let exhausted = keys.len() < chunk;
                for key in keys {
                    cursor = Some(key);
                    let edge = crate::storage::edges::read_edge(txn, t, key)?;
                    if query.edge_type.as_ref().is_none_or(|ty| *ty == edge.edge_type) {
                        items.push(edge);
                        if items.len() == query.limit {
                            return Ok(Page { items, next: Some(Position::Key(key)) });
                        }
                    }
                }
                if exhausted {
                    return Ok(Page { items, next: None });
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::handle::OpenOptions;
    use crate::storage::nodes::NewNode;

    fn page(db: &Database, order: NodeOrder, descending: bool, after: Option<Position>, limit: usize, filter: NodeFilter) -> Page<Node> {
        db.list_nodes(&NodePageQuery { filter, order, descending, after, limit }).unwrap()
    }

    #[test]
    fn pages_resume_after_the_last_item_in_either_order() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path(), OpenOptions::default()).unwrap();
        let nodes: Vec<NewNode> = (0..10)
            .map(|i| NewNode { id: format!("n{}", 9 - i), node_type: if i % 2 == 0 { "Even".into() } else { "Odd".into() }, properties: format!(r#"{{"i":{i}}}"#) })
            .collect();
        db.insert_nodes(&nodes, 5).unwrap();
        for (order, descending, expected) in [
            (NodeOrder::CreatedAt, false, vec!["n9", "n8", "n7", "n6", "n5", "n4", "n3", "n2", "n1", "n0"]),
            (NodeOrder::CreatedAt, true, vec!["n0", "n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8", "n9"]),
            (NodeOrder::Id, false, vec!["n0", "n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8", "n9"]),
        ] {
            let mut after = None;
            let mut seen = Vec::new();
            loop {
                let p = page(&db, order, descending, after, 3, NodeFilter::default());
                seen.extend(p.items.into_iter().map(|n| n.id));
                match p.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
            assert_eq!(seen, expected, "{order:?} descending={descending}");
        }
        let evens = NodeFilter { types: Some(vec!["Even".into()]), ..NodeFilter::default() };
        let p = page(&db, NodeOrder::CreatedAt, false, None, 10, evens);
        assert_eq!(p.items.iter().map(|n| n.id.as_str()).collect::<Vec<_>>(), ["n9", "n7", "n5", "n3", "n1"]);
        assert!(p.next.is_none());
        let err = db.list_nodes(&NodePageQuery { filter: NodeFilter::default(), order: NodeOrder::Id, descending: false, after: Some(Position::Key(3)), limit: 2 }).unwrap_err();
        assert_eq!(err.code, crate::Code::InvalidArgument);
    }
}

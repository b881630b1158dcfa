//! Which nodes a [`NodeFilter`] admits: narrowed by ids, by a property
//! index, or by the type index, then tested record by record.
//!
//! Invariant: narrowing only chooses which records are read; every
//! candidate is still tested against the whole filter, so the index used
//! never changes the answer.

use crate::error::Result;
use crate::storage::codec::read_u64_be;
use crate::storage::filter::NodeFilter;
use crate::storage::index_defs;
use crate::storage::indexes;
use crate::storage::keys;
use crate::storage::nodes::{node_keys, read_node};
use crate::storage::store::Tables;
use heed::RoTxn;
use std::collections::HashSet;

/// Internal keys of the nodes `filter` admits, in key order.
pub(crate) fn match_nodes(txn: &RoTxn, t: &Tables, filter: &NodeFilter) -> Result<Vec<u64>> {
    let keys: Vec<u64> = match node_candidates(txn, t, filter, true)? {
        Some(keys) => keys,
        None => {
            let mut all = Vec::new();
            for entry in t.nodes.iter(txn)? {
                all.push(read_u64_be(entry?.0));
            }
            all
        }
    };
    if filter.conditions.is_empty() {
        return Ok(keys);
    }
    let mut out = Vec::new();
    for key in keys {
        if filter.properties_pass(&read_node(txn, t, key)?.properties)? {
            out.push(key);
        }
    }
    Ok(out)
}

/// The internal keys (sorted) that can pass `filter`, narrowed by its ids,
/// by a property index when one covers a condition for every listed type,
/// and else by the type index when `by_type`; `None` means "every node".
/// A superset: callers test the type and conditions on each record.
pub(crate) fn node_candidates(txn: &RoTxn, t: &Tables, filter: &NodeFilter, by_type: bool) -> Result<Option<Vec<u64>>> {
    let by_ids = match &filter.ids {
        Some(ids) => {
            let mut keys = node_keys(txn, t, ids)?;
            keys.sort_unstable();
            keys.dedup();
            Some(keys)
        }
        None => None,
    };
    let narrowed = match &filter.types {
        Some(types) => match indexed(txn, t, types, &filter.conditions)? {
            Some(keys) => Some(keys),
            None if by_type => {
                let mut keys = Vec::new();
                for ty in types {
                    for entry in t.node_types.prefix_iter(txn, &keys::node_type_prefix(ty))? {
                        let (k, _) = entry?;
                        keys.push(read_u64_be(&k[k.len() - 8..]));
                    }
                }
                keys.sort_unstable();
                keys.dedup();
                Some(keys)
            }
            None => None,
        },
        None => None,
    };
    Ok(match (by_ids, narrowed) {
        (Some(ids), Some(more)) => {
            let allowed: HashSet<u64> = more.into_iter().collect();
            Some(ids.into_iter().filter(|k| allowed.contains(k)).collect())
        }
        (a, b) => a.or(b),
    })
}

/// Candidates from property indexes: for each type, its most selective
/// indexed condition (`eq`, then `in`, then a range). `None` unless every
/// type has one.
pub(crate) fn indexed(txn: &RoTxn, t: &Tables, types: &[String], conditions: &[(String, crate::storage::filter::Condition)]) -> Result<Option<Vec<u64>>> {
    use crate::storage::filter::Condition;
    if conditions.is_empty() {
        return Ok(None);
    }
    let rank = |c: &Condition| match c {
        Condition::Eq(_) => 0,
        Condition::In(_) => 1,
        _ => 2,
    };
    let mut out = Vec::new();
    for ty in types {
        let defs = index_defs::list(txn, t, Some(ty))?;
        let mut usable: Vec<_> = conditions
            .iter()
            .filter(|(_, c)| !matches!(c, Condition::Ne(_)))
            .filter_map(|(p, c)| defs.iter().find(|d| d.property == *p).map(|d| (d, c)))
            .collect();
        usable.sort_by_key(|(_, c)| rank(c));
        let mut found = None;
        for (def, condition) in usable {
            if let Some(keys) = indexes::candidates(txn, t, def, condition)? {
                found = Some(keys);
                break;
            }
        }
        match found {
            Some(keys) => out.extend(keys),
            None => return Ok(None),
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(Some(out))
}

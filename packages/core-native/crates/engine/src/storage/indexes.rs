//! Declared property indexes: for one node type and one property, the nodes
//! sorted by the property's value, so `where` filters read a range instead of
//! every node of the type.
//!
//! Invariants:
//! - Definitions live in meta under `index/<type>\0<property>`; entries in the
//!   `prop_index` table as `index id (u32) ‖ encoded value ‖ node (u64)`.
//! - Every write of a node of an indexed type updates the entries in the same
//!   transaction, so an index always matches the records it covers.
//! - Only scalars (strings, numbers, booleans, null) are indexed; a node whose
//!   value is an array or object, or that lacks the property, has no entry.
//! - An index narrows candidates only: callers still test every condition on
//!   the record, so a long string stored by its prefix is still exact.

use crate::storage::codec::{read_u64_be, seal, u64_key};
use crate::storage::meta::{get_meta, get_meta_u64, put_meta, put_meta_u64, META_NEXT_INDEX};
use crate::error::{Error, Result};
use crate::storage::filter::Condition;
use crate::storage::store::Tables;
use crate::storage::index_defs::{def_key, list, IndexDef};
use crate::storage::records::{parse, PropertyChange};
use crate::storage::writing::Writing;
use heed::{RoTxn, RwTxn};
use serde_json::Value;
use std::ops::Bound;

const COUNT_PREFIX: &str = "index_count/";
/// Strings longer than this are indexed by their first bytes (see the invariants).
const MAX_STRING_BYTES: usize = 400;
pub const MAX_PROPERTY_BYTES: usize = 128;

fn count_key(id: u32) -> String {
    format!("{COUNT_PREFIX}{id}")
}

pub fn validate_property(property: &str) -> Result<()> {
    if property.is_empty() || property.len() > MAX_PROPERTY_BYTES || property.contains('\0') {
        return Err(Error::invalid(format!("index property must be 1 to {MAX_PROPERTY_BYTES} bytes without NUL, got {property:?}")));
    }
    Ok(())
}

pub fn entries(txn: &RoTxn, t: &Tables, def: &IndexDef) -> Result<u64> {
    Ok(get_meta_u64(txn, t, count_key(def.id).as_bytes())?.unwrap_or(0))
}

/// Declares an index and fills it from the existing nodes; `false` when it already existed.
pub fn create(txn: &mut RwTxn, t: &Writing, node_type: &str, property: &str) -> Result<bool> {
    let key = def_key(node_type, property);
    if get_meta(txn, t, key.as_bytes())?.is_some() {
        return Ok(false);
    }
    let id = u32::try_from(get_meta_u64(txn, t, META_NEXT_INDEX)?.unwrap_or(1)).map_err(|_| Error::internal("index ids exhausted"))?;
    put_meta_u64(txn, t, META_NEXT_INDEX, u64::from(id) + 1)?;
    let def = IndexDef { id, node_type: node_type.to_owned(), property: property.to_owned() };
    put_meta(txn, t, key.as_bytes(), serde_json::to_string(&def).expect("serializes").as_bytes())?;
    for node in crate::storage::nodes::nodes_of_type(txn, t, node_type)? {
        let record = crate::storage::nodes::read_node(txn, t, node)?;
        let props = parse(&record.properties)?;
        put_entry(txn, t, &def, props.get(property), node)?;
    }
    Ok(true)
}

/// Removes an index and its entries; `false` when there was none.
pub fn drop(txn: &mut RwTxn, t: &Writing, node_type: &str, property: &str) -> Result<bool> {
    let key = def_key(node_type, property);
    let Some(def) = list(txn, t, Some(node_type))?.into_iter().find(|d| d.property == property) else { return Ok(false) };
    let prefix = def.id.to_be_bytes();
    let mut doomed = Vec::new();
    for entry in t.prop_index.prefix_iter(txn, &prefix)? {
        doomed.push(entry?.0.to_vec());
    }
    for k in doomed {
        crate::storage::fault::check(crate::storage::fault::Point::Write)?;
        t.prop_index.delete(txn, &k)?;
    }
    crate::storage::fault::check(crate::storage::fault::Point::Write)?;
    t.meta.delete(txn, key.as_bytes())?;
    crate::storage::fault::check(crate::storage::fault::Point::Write)?;
    t.meta.delete(txn, count_key(def.id).as_bytes())?;
    Ok(true)
}

/// Keeps every index of `node_type` in step with a node's properties changing as `change` says.
pub fn update(txn: &mut RwTxn, t: &Writing, node_type: &str, node: u64, change: &PropertyChange) -> Result<()> {
    let defs = t.index_defs(txn, node_type)?;
    if defs.is_empty() {
        return Ok(());
    }
    let (before, after) = change.parsed()?;
    for def in &defs {
        let old = before.and_then(|p| p.get(&def.property));
        let new = after.and_then(|p| p.get(&def.property));
        if change.is_update() && old == new {
            continue;
        }
        if let Some(k) = old.and_then(|v| entry_key(def, v, node)) {
            crate::storage::fault::check(crate::storage::fault::Point::Write)?;
            if t.prop_index.delete(txn, &k)? {
                bump(txn, t, def, -1)?;
            }
        }
        put_entry(txn, t, def, new, node)?;
    }
    Ok(())
}

fn put_entry(txn: &mut RwTxn, t: &Tables, def: &IndexDef, value: Option<&Value>, node: u64) -> Result<()> {
    if let Some(k) = value.and_then(|v| entry_key(def, v, node)) {
        t.prop_index.put(txn, &k, &seal(&k, &[]))?;
        bump(txn, t, def, 1)?;
    }
    Ok(())
}

fn bump(txn: &mut RwTxn, t: &Tables, def: &IndexDef, delta: i64) -> Result<()> {
    let key = count_key(def.id);
    let n = get_meta_u64(txn, t, key.as_bytes())?.unwrap_or(0);
    put_meta_u64(txn, t, key.as_bytes(), n.saturating_add_signed(delta))
}

/// The nodes whose value may satisfy `condition`, or `None` when the index
/// cannot narrow it (`ne`, a text or presence test, or a non-scalar operand).
pub fn candidates(txn: &RoTxn, t: &Tables, def: &IndexDef, condition: &Condition) -> Result<Option<Vec<u64>>> {
    candidates_within(txn, t, def, condition, usize::MAX)
}

/// [`candidates`], or `None` as soon as more than `cap` entries match: lets a
/// planner compare an index range with another candidate set without
/// reading a large range whole.
pub fn candidates_within(txn: &RoTxn, t: &Tables, def: &IndexDef, condition: &Condition, cap: usize) -> Result<Option<Vec<u64>>> {
    let mut out = Vec::new();
    match condition {
        Condition::Eq(v) => {
            let Some(prefix) = value_prefix(def, v) else { return Ok(None) };
            collect(txn, t, (Bound::Included(prefix.clone()), upper_of(prefix)), &mut out, cap)?;
        }
        Condition::In(vs) => {
            for v in vs {
                let Some(prefix) = value_prefix(def, v) else { return Ok(None) };
                collect(txn, t, (Bound::Included(prefix.clone()), upper_of(prefix)), &mut out, cap)?;
            }
        }
        Condition::Gt(v) | Condition::Gte(v) | Condition::Lt(v) | Condition::Lte(v) => {
            // Comparisons hold only between values of one kind, so the range
            // stays inside the operand's tag. Bounds are inclusive: the
            // record test decides equality and long strings.
            let Some(prefix) = value_prefix(def, v) else { return Ok(None) };
            let Some(tag) = kind_tag(v) else { return Ok(None) };
            let mut kind = def.id.to_be_bytes().to_vec();
            kind.push(tag);
            let range = match condition {
                Condition::Gt(_) | Condition::Gte(_) => (Bound::Included(prefix), upper_of(kind)),
                _ => (Bound::Included(kind), upper_of(prefix)),
            };
            collect(txn, t, range, &mut out, cap)?;
        }
        Condition::Ne(_) | Condition::Contains(_) | Condition::StartsWith(_) | Condition::Exists(_) => return Ok(None),
    }
    if out.len() > cap {
        return Ok(None);
    }
    out.sort_unstable();
    out.dedup();
    Ok(Some(out))
}

/// The nodes whose value may lie between a lower bound (`gt`/`gte`) and an
/// upper bound (`lt`/`lte`) of one kind, read as one range; `None` when the
/// bounds are of other operators or kinds, or more than `cap` entries match.
/// Inclusive like [`candidates`]: the record test decides the ends.
pub fn between_within(txn: &RoTxn, t: &Tables, def: &IndexDef, lower: &Condition, upper: &Condition, cap: usize) -> Result<Option<Vec<u64>>> {
    let (Condition::Gt(lo) | Condition::Gte(lo)) = lower else { return Ok(None) };
    let (Condition::Lt(hi) | Condition::Lte(hi)) = upper else { return Ok(None) };
    if kind_tag(lo).is_none() || kind_tag(lo) != kind_tag(hi) {
        return Ok(None);
    }
    let (Some(from), Some(to)) = (value_prefix(def, lo), value_prefix(def, hi)) else { return Ok(None) };
    let mut out = Vec::new();
    if from <= to {
        collect(txn, t, (Bound::Included(from), upper_of(to)), &mut out, cap)?;
    }
    if out.len() > cap {
        return Ok(None);
    }
    out.sort_unstable();
    Ok(Some(out))
}

/// Appends the nodes of the entries in `range`, stopping once `out` holds more than `cap`.
fn collect(txn: &RoTxn, t: &Tables, range: (Bound<Vec<u8>>, Bound<Vec<u8>>), out: &mut Vec<u64>, cap: usize) -> Result<()> {
    let bounds: (Bound<&[u8]>, Bound<&[u8]>) = (as_ref(&range.0), as_ref(&range.1));
    for entry in t.prop_index.range(txn, &bounds)? {
        if out.len() > cap {
            break;
        }
        let (k, _) = entry?;
        out.push(read_u64_be(&k[k.len() - 8..]));
    }
    Ok(())
}

fn as_ref(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match b {
        Bound::Included(v) => Bound::Included(v.as_slice()),
        Bound::Excluded(v) => Bound::Excluded(v.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

/// The first key after every key that starts with `prefix`.
fn upper_of(mut prefix: Vec<u8>) -> Bound<Vec<u8>> {
    while let Some(last) = prefix.pop() {
        if last < 0xff {
            prefix.push(last + 1);
            return Bound::Excluded(prefix);
        }
    }
    Bound::Unbounded
}

fn kind_tag(v: &Value) -> Option<u8> {
    match v {
        Value::Null => Some(0),
        Value::Bool(_) => Some(1),
        Value::Number(_) => Some(2),
        Value::String(_) => Some(3),
        _ => None,
    }
}

/// `index id ‖ encoded value`: ordered like the values within one kind.
/// Strings escape NUL as `00 ff` and end with `00 01` (`00 02` when cut at
/// `MAX_STRING_BYTES`), so no string's key is a prefix of another's.
fn value_prefix(def: &IndexDef, v: &Value) -> Option<Vec<u8>> {
    let mut k = def.id.to_be_bytes().to_vec();
    k.push(kind_tag(v)?);
    match v {
        Value::Null => {}
        Value::Bool(b) => k.push(u8::from(*b)),
        Value::Number(n) => {
            let f = n.as_f64()?;
            let f = if f == 0.0 { 0.0 } else { f };
            let bits = f.to_bits();
            let ordered = if bits >> 63 == 1 { !bits } else { bits ^ (1 << 63) };
            k.extend_from_slice(&ordered.to_be_bytes());
        }
        Value::String(s) => {
            let bytes = s.as_bytes();
            let cut = bytes.len() > MAX_STRING_BYTES;
            for &b in &bytes[..bytes.len().min(MAX_STRING_BYTES)] {
                k.push(b);
                if b == 0 {
                    k.push(0xff);
                }
            }
            k.extend_from_slice(if cut { &[0, 2] } else { &[0, 1] });
        }
        _ => return None,
    }
    Some(k)
}

pub(crate) fn entry_key(def: &IndexDef, v: &Value, node: u64) -> Option<Vec<u8>> {
    let mut k = value_prefix(def, v)?;
    k.extend_from_slice(&u64_key(node));
    Some(k)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn def() -> IndexDef {
        IndexDef { id: 1, node_type: "T".into(), property: "p".into() }
    }

    #[test]
    fn encoded_values_sort_like_the_values() {
        let numbers = [json!(-1e300), json!(-2.5), json!(-0.0), json!(0), json!(1e-9), json!(3), json!(1e300)];
        let keys: Vec<_> = numbers.iter().map(|v| value_prefix(&def(), v).unwrap()).collect();
        assert!(keys.windows(2).all(|w| w[0] <= w[1]), "numbers out of order");
        assert_eq!(keys[2], keys[3], "-0 and 0 are one value");
        let strings = [json!(""), json!("a"), json!("a\u{0}"), json!("a\u{0}b"), json!("ab"), json!("b")];
        let keys: Vec<_> = strings.iter().map(|v| value_prefix(&def(), v).unwrap()).collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "strings out of order");
        for w in keys.windows(2) {
            assert!(!w[1].starts_with(&w[0]), "a string key is a prefix of another");
        }
        assert!(value_prefix(&def(), &json!([1])).is_none());
        assert!(value_prefix(&def(), &json!({ "a": 1 })).is_none());
    }
}

#[cfg(test)]
mod database_tests {
    use super::IndexDef;
    use crate::storage::filter::{Condition, NodeFilter};
    use crate::{Database, NewNode, NodeOrder, NodePageQuery, OpenOptions};
    use serde_json::json;

    fn ids(db: &Database, conditions: Vec<(&str, Condition)>, order: NodeOrder) -> Vec<String> {
        let filter = NodeFilter {
            types: Some(vec!["T".into()]),
            ids: None,
            conditions: conditions.into_iter().map(|(p, c)| (p.to_owned(), c)).collect(),
        };
        let page = db.list_nodes(&NodePageQuery { filter, order, descending: false, after: None, limit: 1000 }).unwrap();
        page.items.into_iter().map(|n| n.id).collect()
    }

    #[test]
    fn indexed_filters_return_what_scans_return_and_follow_every_write() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path(), OpenOptions::default()).unwrap();
        let values = [json!(1), json!(2.5), json!(-3), json!("a"), json!("b"), json!(true), json!(null), json!([1]), json!("x".repeat(600))];
        let nodes: Vec<NewNode> = (0..40)
            .map(|i| NewNode { id: format!("n{i:02}"), node_type: if i % 5 == 0 { "U".into() } else { "T".into() }, properties: json!({ "v": values[i % values.len()] }).to_string() })
            .collect();
        db.insert_nodes(&nodes, 1).unwrap();
        let queries = || {
            vec![
                vec![("v", Condition::Eq(json!(1)))],
                vec![("v", Condition::Eq(json!("x".repeat(600))))],
                vec![("v", Condition::In(vec![json!("a"), json!(2.5)]))],
                vec![("v", Condition::Gt(json!(0)))],
                vec![("v", Condition::Lte(json!("a")))],
                vec![("v", Condition::Gte(json!(-3))), ("v", Condition::Lt(json!(2.5)))],
                vec![("v", Condition::Ne(json!(1)))],
                vec![("v", Condition::Eq(json!([1])))],
            ]
        };
        let scanned: Vec<_> = queries().into_iter().map(|q| (ids(&db, q.clone(), NodeOrder::CreatedAt), ids(&db, q, NodeOrder::Id))).collect();
        let def = IndexDef { id: 1, node_type: "T".into(), property: "v".into() };
        let between = |lo: Condition, hi: Condition| db.read(|txn, t| super::between_within(txn, t, &def, &lo, &hi, usize::MAX)).unwrap();
        assert!(db.create_index("T", "v").unwrap());
        assert!(!db.create_index("T", "v").unwrap());
        let indexed: Vec<_> = queries().into_iter().map(|q| (ids(&db, q.clone(), NodeOrder::CreatedAt), ids(&db, q, NodeOrder::Id))).collect();
        assert_eq!(indexed, scanned);
        // T nodes valued 1 (n09 n18 n27 n36) or 2.5 (n01 n19 n28 n37): one range read for both bounds.
        let in_range = between(Condition::Gt(json!(0.5)), Condition::Lte(json!(2.5))).unwrap();
        assert_eq!(in_range.len(), 8);
        assert_eq!(between(Condition::Gte(json!(3)), Condition::Lt(json!(1))).unwrap(), Vec::<u64>::new());
        assert!(between(Condition::Gte(json!(1)), Condition::Lt(json!("a"))).is_none());
        assert!(between(Condition::Eq(json!(1)), Condition::Lt(json!(2))).is_none());
        assert_eq!(ids(&db, vec![("v", Condition::Eq(json!(1)))], NodeOrder::Id), ["n09", "n18", "n27", "n36"].map(String::from));

        db.update_node("n09", r#"{"v":"moved"}"#, 2).unwrap();
        db.delete_node("n18").unwrap();
        assert_eq!(ids(&db, vec![("v", Condition::Eq(json!(1)))], NodeOrder::Id), ["n27", "n36"].map(String::from));
        assert_eq!(ids(&db, vec![("v", Condition::Eq(json!("moved")))], NodeOrder::Id), ["n09"].map(String::from));
        let stats = db.stats().unwrap();
        let index = stats.indexes.iter().find(|i| i.kind == "property").unwrap();
        assert_eq!(index.name, "T.v");
        // 31 T nodes after the delete, less the 3 with an array value.
        assert_eq!(index.entries, 28);
        assert!(db.drop_index("T", "v").unwrap());
        assert!(!db.drop_index("T", "v").unwrap());
        assert_eq!(db.stats().unwrap().indexes.len(), 1);
        assert_eq!(db.create_index("T", "").unwrap_err().code, crate::Code::InvalidArgument);
    }
}

//! `verify`: checks a database, first its file structure on a pinned
//! snapshot (see `pagecheck`), then — only if that passed, since LMDB would
//! follow damaged pointers — every record of that kind of snapshot through
//! the engine: checksums, id maps, edge endpoints, adjacency in both
//! directions, the type and property indexes, embeddings and their counts,
//! the durable queues, the change log and the counters in meta.
//!
//! It never changes anything and runs beside readers and writers. Vector
//! index sidecars are derived and checked when loaded (`vector_index`).

use crate::storage::codec::{self, open as unseal, read_u64_be, u64_key};
use crate::storage::handle::Database;
use crate::storage::meta::{get_meta_u64, META_FORMAT};
use crate::vector::catalog::{list_spaces, SPACE_COUNT_PREFIX};
use crate::error::Result;
use crate::storage::index_defs;
use crate::storage::indexes;
use crate::storage::keys;
use crate::storage::pagecheck::{self, Snapshot};
use crate::storage::records::{Edge, Node};
use crate::storage::counters;
use crate::storage::store::{Table, Tables};
use heed::RoTxn;
use serde::Serialize;
use std::collections::{HashMap, HashSet};

const MAX_ERRORS: usize = 100;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Problem {
    pub check: &'static str,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Checked {
    pub pages: u64,
    pub records: u64,
    pub nodes: u64,
    pub edges: u64,
    pub embeddings: u64,
    pub index_entries: u64,
    pub changes: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub ok: bool,
    pub errors: Vec<Problem>,
    pub checked: Checked,
}

#[derive(Default)]
struct Found {
    errors: Vec<Problem>,
    more: usize,
}

impl Found {
    fn add(&mut self, check: &'static str, message: String) {
        if self.errors.len() < MAX_ERRORS {
            self.errors.push(Problem { check, message });
        } else {
            self.more += 1;
        }
    }
}

/// Checks `db`; problems are returned in the report, `Err` only when the
/// checks themselves could not run (I/O, closed handle).
pub fn verify(db: &Database) -> Result<VerifyReport> {
    let store = db.store();
    let mut found = Found::default();
    let mut checked = Checked::default();
    // A commit between starting the snapshot and reading its meta page can
    // replace the meta; try again then.
    let mut structure = None;
    for _ in 0..20 {
        structure = store.pinned(|txn, path| {
            pagecheck::check_file(path, Snapshot::Txn(txn)).map_err(|e| crate::Error::new(crate::Code::Io, format!("cannot read {}: {e}", path.display())))
        })?;
        if structure.is_some() {
            break;
        }
    }
    match structure {
        None => found.add("pages", "the database changed too often to pin a snapshot; try again".into()),
        Some(report) => {
            checked.pages = report.last_page + 1;
            for e in report.errors {
                found.add("pages", e);
            }
        }
    }
    if found.errors.is_empty() {
        store.read(|txn, t| records(txn, t, &mut found, &mut checked))?;
    }
    if found.more > 0 {
        found.errors.push(Problem { check: "summary", message: format!("{} more problems not listed", found.more) });
    }
    Ok(VerifyReport { ok: found.errors.is_empty(), errors: found.errors, checked })
}

fn records(txn: &RoTxn, t: &Tables, found: &mut Found, checked: &mut Checked) -> Result<()> {
    // Checksums of everything; tables whose values other checks decode are read here once.
    for (name, table) in t.named() {
        for entry in table.iter(txn)? {
            let (k, v) = entry?;
            checked.records += 1;
            if let Err(e) = unseal(k, v, || format!("table {name} key {}", codec::hex(k))) {
                found.add("checksums", e.message);
            }
        }
    }
    if !found.errors.is_empty() {
        // Decoding records whose checksum failed would only repeat the news.
        return Ok(());
    }
    let payload = |k: &[u8], v: &'_ [u8]| -> Vec<u8> { unseal(k, v, String::new).map(<[u8]>::to_vec).unwrap_or_default() };

    // Nodes and their id map and type index.
    let mut nodes: HashMap<u64, (String, String)> = HashMap::new();
    let mut max_key = 0;
    for entry in t.nodes.iter(txn)? {
        let (k, v) = entry?;
        let key = read_u64_be(k);
        max_key = max_key.max(key);
        match Node::decode(&payload(k, v)) {
            Ok(n) => {
                nodes.insert(key, (n.id, n.node_type));
            }
            Err(e) => found.add("nodes", format!("node record #{key}: {}", e.message)),
        }
    }
    checked.nodes = nodes.len() as u64;
    for (&key, (id, ty)) in &nodes {
        match t.node_ids.get(txn, id.as_bytes())? {
            Some(v) if payload(id.as_bytes(), v) == u64_key(key) => {}
            _ => found.add("nodes", format!("node \"{id}\" (#{key}) is missing from the id map or mapped elsewhere")),
        }
        if t.node_types.get(txn, &keys::node_type(ty, key))?.is_none() {
            found.add("types", format!("node \"{id}\" of type \"{ty}\" is missing from the type index"));
        }
    }
    id_map(txn, t.node_ids, "nodes", |key| nodes.get(&key).map(|n| n.0.as_str()), found)?;
    for entry in t.node_types.iter(txn)? {
        let (k, _) = entry?;
        let ok = k.len() > 9 && k[k.len() - 9] == 0 && {
            let key = read_u64_be(&k[k.len() - 8..]);
            nodes.get(&key).is_some_and(|n| n.1.as_bytes() == &k[..k.len() - 9])
        };
        if !ok {
            found.add("types", format!("type index entry {} has no matching node", codec::hex(k)));
        }
    }

    // Edges: endpoints, id map, adjacency both ways.
    let mut edges: HashMap<u64, Edge> = HashMap::new();
    for entry in t.edges.iter(txn)? {
        let (k, v) = entry?;
        let key = read_u64_be(k);
        max_key = max_key.max(key);
        match Edge::decode(&payload(k, v)) {
            Ok(e) => {
                edges.insert(key, e);
            }
            Err(e) => found.add("edges", format!("edge record #{key}: {}", e.message)),
        }
    }
    checked.edges = edges.len() as u64;
    for (&key, e) in &edges {
        for (role, node_key, id) in [("from", e.from_key, &e.from), ("to", e.to_key, &e.to)] {
            if nodes.get(&node_key).is_none_or(|n| &n.0 != id) {
                found.add("edges", format!("edge \"{}\" has {role} node \"{id}\" (#{node_key}), which does not exist", e.id));
            }
        }
        match t.edge_ids.get(txn, e.id.as_bytes())? {
            Some(v) if payload(e.id.as_bytes(), v) == u64_key(key) => {}
            _ => found.add("edges", format!("edge \"{}\" (#{key}) is missing from the id map or mapped elsewhere", e.id)),
        }
        if t.out_adj.get(txn, &keys::adjacency(e.from_key, &e.edge_type, e.to_key, key))?.is_none() {
            found.add("adjacency", format!("edge \"{}\" is missing from the out-adjacency of \"{}\"", e.id, e.from));
        }
        if t.in_adj.get(txn, &keys::adjacency(e.to_key, &e.edge_type, e.from_key, key))?.is_none() {
            found.add("adjacency", format!("edge \"{}\" is missing from the in-adjacency of \"{}\"", e.id, e.to));
        }
    }
    id_map(txn, t.edge_ids, "edges", |key| edges.get(&key).map(|e| e.id.as_str()), found)?;
    // Counter edges and their weights, one for one.
    let mut weighted = HashSet::new();
    for entry in t.edge_weights.iter(txn)? {
        let (k, v) = entry?;
        match counters::decode(k, &payload(k, v)) {
            Ok(c) => match edges.get(&c.key) {
                Some(e) if counters::is_marker(e.weight) && counters::slot(&e.id) == k && c.identity == counters::identity(&e.edge_type, &e.from, &e.to) => {
                    weighted.insert(c.key);
                }
                Some(e) if counters::is_marker(e.weight) => found.add("edges", format!("weight entry {} of edge \"{}\" names another edge", codec::hex(k), e.id)),
                _ => found.add("edges", format!("weight entry {} belongs to no counter edge", codec::hex(k))),
            },
            Err(problem) => found.add("edges", problem.message),
        }
    }
    for (key, e) in &edges {
        if counters::is_marker(e.weight) && !weighted.contains(key) {
            found.add("edges", format!("counter edge \"{}\" has no weight entry", e.id));
        }
    }
    for (name, table, outgoing) in [("out-adjacency", t.out_adj, true), ("in-adjacency", t.in_adj, false)] {
        for entry in table.iter(txn)? {
            let (k, _) = entry?;
            let matches = keys::parse_adjacency(k).is_some_and(|(ty, neighbour, edge)| {
                let node = read_u64_be(k);
                edges.get(&edge).is_some_and(|e| {
                    let (this, other) = if outgoing { (e.from_key, e.to_key) } else { (e.to_key, e.from_key) };
                    e.edge_type == ty && this == node && other == neighbour
                })
            });
            if !matches {
                found.add("adjacency", format!("{name} entry {} does not match an edge", codec::hex(k)));
            }
        }
    }

    // Property indexes: exactly the entries the records call for.
    let defs = index_defs::list(txn, t, None)?;
    let mut expected: HashSet<Vec<u8>> = HashSet::new();
    for def in &defs {
        let mut count = 0u64;
        for entry in t.node_types.prefix_iter(txn, &keys::node_type_prefix(&def.node_type))? {
            let (k, _) = entry?;
            let key = read_u64_be(&k[k.len() - 8..]);
            let properties = match t.nodes.get(txn, &u64_key(key))? {
                Some(v) => Node::decode(&payload(&u64_key(key), v)).map(|n| n.properties).unwrap_or_default(),
                None => continue,
            };
            let value = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&properties).ok().and_then(|p| p.get(&def.property).cloned());
            if let Some(ek) = value.and_then(|v| indexes::entry_key(def, &v, key)) {
                expected.insert(ek);
                count += 1;
            }
        }
        if indexes::entries(txn, t, def)? != count {
            found.add("indexes", format!("index {}.{} counts {} entries; its nodes call for {count}", def.node_type, def.property, indexes::entries(txn, t, def)?));
        }
    }
    for entry in t.prop_index.iter(txn)? {
        let (k, _) = entry?;
        checked.index_entries += 1;
        if !expected.remove(k) {
            found.add("indexes", format!("property index entry {} matches no node's value", codec::hex(k)));
        }
    }
    for missing in expected {
        found.add("indexes", format!("property index entry {} is missing", codec::hex(&missing)));
    }

    // Embeddings: a known space, an existing node, the right length; counts.
    let spaces = list_spaces(txn, t)?;
    let mut per_space: HashMap<u32, u64> = HashMap::new();
    let mut buf = Vec::new();
    for entry in t.embeddings.iter(txn)? {
        let (k, v) = entry?;
        checked.embeddings += 1;
        if k.len() != 12 {
            found.add("embeddings", format!("embedding key {} is malformed", codec::hex(k)));
            continue;
        }
        let space_id = u32::from_be_bytes(k[..4].try_into().expect("4 bytes"));
        let node = read_u64_be(&k[4..]);
        *per_space.entry(space_id).or_default() += 1;
        let Some(space) = spaces.iter().find(|s| s.id == space_id) else {
            found.add("embeddings", format!("embedding of node #{node} is in space #{space_id}, which is not declared"));
            continue;
        };
        if !nodes.contains_key(&node) {
            found.add("embeddings", format!("embedding in space \"{}\" belongs to node #{node}, which does not exist", space.name));
        }
        let ok = crate::vector::space::decode_into(&payload(k, v), &mut buf).is_ok() && buf.len() == space.spec.dimensions as usize && buf.iter().all(|x| x.is_finite());
        if !ok {
            found.add("embeddings", format!("embedding of node #{node} in space \"{}\" is not {} finite numbers", space.name, space.spec.dimensions));
        }
    }
    for space in &spaces {
        let stored = get_meta_u64(txn, t, format!("{SPACE_COUNT_PREFIX}{}", space.id).as_bytes())?.unwrap_or(0);
        let actual = per_space.get(&space.id).copied().unwrap_or(0);
        if stored != actual {
            found.add("embeddings", format!("space \"{}\" counts {stored} embeddings; it holds {actual}", space.name));
        }
    }

    for problem in crate::storage::queue::consistency(txn, t)? {
        found.add("queues", problem);
    }
    for problem in crate::text::index::consistency(txn, t)? {
        found.add("text", problem);
    }

    // The change log and the counters.
    let change_seq = get_meta_u64(txn, t, crate::storage::writing::META_CHANGE_SEQ)?.unwrap_or(0);
    for entry in t.changes.iter(txn)? {
        let (k, v) = entry?;
        checked.changes += 1;
        let p = payload(k, v);
        let seq = read_u64_be(k);
        if k.len() != 8 || p.len() != 13 || !(1..=6).contains(&p[0]) || seq > change_seq {
            found.add("changes", format!("change-log entry {} is malformed or beyond the sequence counter {change_seq}", codec::hex(k)));
        }
    }
    let next_id = get_meta_u64(txn, t, crate::storage::writing::META_NEXT_ID)?.unwrap_or(1);
    if max_key >= next_id && max_key > 0 {
        found.add("meta", format!("the next internal id is {next_id}, but record #{max_key} exists"));
    }
    if get_meta_u64(txn, t, META_FORMAT)?.is_none() {
        found.add("meta", "the format version is missing".into());
    }
    Ok(())
}

/// Every id-map entry points at a record with that id.
fn id_map<'a>(txn: &RoTxn, table: Table, what: &str, id_of: impl Fn(u64) -> Option<&'a str>, found: &mut Found) -> Result<()> {
    for entry in table.iter(txn)? {
        let (k, v) = entry?;
        let Ok(p) = unseal(k, v, String::new) else { continue };
        let ok = p.len() == 8 && id_of(read_u64_be(p)).is_some_and(|id| id.as_bytes() == k);
        if !ok {
            found.add(if what == "nodes" { "nodes" } else { "edges" }, format!("{what} id map entry \"{}\" points at no such record", String::from_utf8_lossy(k)));
        }
    }
    Ok(())
}

impl Database {
    /// See the module documentation.
    pub fn verify(&self) -> Result<VerifyReport> {
        verify(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{NewEdge, NewNode, OpenOptions};

    #[test]
    fn a_sound_database_verifies_and_damage_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path(), OpenOptions::default()).unwrap();
        db.create_index("T", "v").unwrap();
        let nodes: Vec<NewNode> = (0..50).map(|i| NewNode { id: format!("n{i}"), node_type: "T".into(), properties: format!(r#"{{"v":{i}}}"#) }).collect();
        db.insert_nodes(&nodes, 1).unwrap();
        for i in 1..50 {
            let e = NewEdge { id: format!("e{i}"), edge_type: "NEXT".into(), from: format!("n{}", i - 1), to: format!("n{i}"), properties: "{}".into(), weight: 1.0 };
            db.insert_edge(&e, 1).unwrap();
        }
        let report = verify(&db).unwrap();
        assert!(report.ok, "{:?}", report.errors);
        assert_eq!((report.checked.nodes, report.checked.edges, report.checked.index_entries), (50, 49, 50));
        // An adjacency entry that disappears is found from the edge's side.
        db.write(|txn, t| {
            let e = crate::storage::edges::read_edge(txn, t, 60)?;
            t.in_adj.delete(txn, &keys::adjacency(e.to_key, &e.edge_type, e.from_key, 60))?;
            Ok(())
        })
        .unwrap();
        let report = verify(&db).unwrap();
        assert!(!report.ok);
        assert_eq!(report.errors[0].check, "adjacency");
        assert!(report.errors[0].message.contains("in-adjacency"), "{:?}", report.errors);
    }

    #[test]
    fn queues_are_checked_against_their_counters() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path(), OpenOptions::default()).unwrap();
        let items: Vec<crate::QueueItem> = ["a", "b", "c", "d"].iter().map(|id| crate::QueueItem { id: (*id).into(), payload: "p".into() }).collect();
        db.queue_push("inbox", &items, 1).unwrap();
        let leased = db.queue_lease("inbox", "w", 3, 1000, 2).unwrap();
        db.queue_ack("inbox", "w", &[leased[0].seq]).unwrap();
        db.queue_dead_letter("inbox", "w", leased[1].seq, "failed", 3).unwrap();
        let report = verify(&db).unwrap();
        assert!(report.ok, "{:?}", report.errors);
        // A pending item that vanishes leaves its lease, id record and counter behind.
        db.write(|txn, t| {
            let prefix = [b"i".as_slice(), b"inbox\0"].concat();
            let k = t.queues.prefix_iter(txn, &prefix)?.next().expect("a pending item")?.0.to_vec();
            t.queues.delete(txn, &k)?;
            Ok(())
        })
        .unwrap();
        let report = verify(&db).unwrap();
        assert!(report.errors.iter().any(|e| e.check == "queues" && e.message.contains("counts")), "{:?}", report.errors);
    }
}

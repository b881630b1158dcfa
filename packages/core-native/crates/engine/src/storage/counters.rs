//! Counter edges: edges whose weight is a running sum (co-mention counts and
//! the like), kept in the `edge_weights` table so that adding to one
//! rewrites a small entry found by the edge's id instead of the whole edge
//! record found through the id map.
//!
//! Why: counters change many times after their edge is written. Their
//! records lie wherever the edges table put them, and the id map that finds
//! them is as large as the graph, so a batch of increments would search a
//! deep B-tree per item and dirty a page per counter. The compact table is
//! found by a hash of the id and packs ~80 counters per page.
//!
//! Invariants:
//! - An edge record whose weight is the [`MARKER`] (a NaN, which no edge can
//!   be given: weights are validated finite) takes its weight from the
//!   `edge_weights` entry at [`slot`] of its id; every other edge has no
//!   entry there. [`resolve`] applies this to every decoded record.
//! - An entry is sealed `weight (f64) ‖ identity (u64) ‖ edge key (u64)`,
//!   written with the record codec; the identity is [`identity`] of the
//!   edge's type and endpoints, so an addition checks that the item names
//!   the same edge without reading its record. Slots are 128-bit hashes:
//!   two ids sharing one is not a case the table handles (p ≈ n²/2¹²⁹).
//! - `edges::add_weights` creates counter edges in this form and converts a plain edge
//!   the first time it is added to; deleting an edge removes its entry.

use crate::storage::codec::{open as unseal, seal, Reader, Writer};
use crate::error::{Error, Result};
use crate::storage::records::Edge;
use crate::storage::store::Tables;
use heed::{RoTxn, RwTxn};

/// The weight stored in a counter edge's record (a NaN with a fixed payload).
pub(crate) const MARKER: f64 = f64::from_bits(0x7ff8_0000_6c6f_6f6d);

/// Whether a record's stored weight says "see `edge_weights`".
pub(crate) fn is_marker(weight: f64) -> bool {
    weight.is_nan()
}

/// What an `edge_weights` entry holds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Counter {
    pub weight: f64,
    /// [`identity`] of the edge's type and endpoints.
    pub identity: u64,
    /// The edge's internal key.
    pub key: u64,
}

/// Where the entry of the counter edge with `id` lives.
pub(crate) fn slot(id: &str) -> [u8; 16] {
    xxhash_rust::xxh3::xxh3_128(id.as_bytes()).to_be_bytes()
}

/// A fingerprint of an edge's type and endpoints.
pub(crate) fn identity(edge_type: &str, from: &str, to: &str) -> u64 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    for part in [edge_type, from, to] {
        h.update(part.as_bytes());
        h.update(&[0]);
    }
    h.digest()
}

/// The `edge_weights` entry of the edge with `id`, if it is a counter.
pub(crate) fn get(txn: &RoTxn, t: &Tables, id: &str) -> Result<Option<Counter>> {
    let k = slot(id);
    match t.edge_weights.get(txn, &k)? {
        Some(v) => decode(&k, unseal(&k, v, || format!("weight of edge \"{id}\""))?).map(Some),
        None => Ok(None),
    }
}

/// Reads an entry's payload, written by [`put`] with the record codec.
pub(crate) fn decode(slot: &[u8], payload: &[u8]) -> Result<Counter> {
    let mut r = Reader::new(payload);
    let counter = Counter { weight: r.f64()?, identity: r.u64()?, key: r.u64()? };
    if !r.tail().is_empty() {
        return Err(Error::corruption(format!("weight entry {} has {} bytes", crate::storage::codec::hex(slot), payload.len())));
    }
    Ok(counter)
}

/// Replaces a counter record's marker with its weight.
pub(crate) fn resolve(txn: &RoTxn, t: &Tables, key: u64, edge: &mut Edge) -> Result<()> {
    if is_marker(edge.weight) {
        match get(txn, t, &edge.id)? {
            Some(counter) if counter.key == key => edge.weight = counter.weight,
            Some(counter) => {
                return Err(Error::corruption(format!("the weight entry of counter edge \"{}\" names edge #{} instead", edge.id, counter.key)))
            }
            None => return Err(Error::corruption(format!("counter edge \"{}\" has no weight entry", edge.id))),
        }
    }
    Ok(())
}

/// Sets the weight entry of the counter edge with `id`.
pub(crate) fn put(txn: &mut RwTxn, t: &Tables, id: &str, counter: Counter) -> Result<()> {
    let k = slot(id);
    let mut w = Writer::default();
    w.f64(counter.weight).u64(counter.identity).u64(counter.key);
    Ok(t.edge_weights.put(txn, &k, &seal(&k, &w.buf))?)
}

/// Removes the weight entry of the edge with `id`, if it is a counter.
pub(crate) fn forget(txn: &mut RwTxn, t: &Tables, id: &str) -> Result<()> {
    t.edge_weights.delete(txn, &slot(id))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::edges::{read_edge_record, NewEdge};
    use crate::storage::ids::lookup;
    use crate::{Code, Database, Direction, Hop, NewNode, OpenOptions};

    fn open(dir: &std::path::Path) -> Database {
        let db = Database::open(dir, OpenOptions::default()).unwrap();
        let nodes: Vec<NewNode> = ["a", "b", "c"].iter().map(|id| NewNode { id: (*id).into(), node_type: "P".into(), properties: "{}".into() }).collect();
        db.insert_nodes(&nodes, 1).unwrap();
        db
    }

    fn edge(id: &str, from: &str, to: &str, weight: f64) -> NewEdge {
        NewEdge { id: id.into(), edge_type: "REL".into(), from: from.into(), to: to.into(), properties: "{}".into(), weight }
    }

    /// The stored record's weight and the weight entry of edge `id`.
    fn stored(db: &Database, id: &str) -> (f64, Option<f64>) {
        db.read(|txn, t| {
            let key = lookup(txn, t.edge_ids, id)?.expect("edge exists");
            let record = read_edge_record(txn, t, key)?.weight;
            Ok((record, get(txn, t, id)?.filter(|c| c.key == key).map(|c| c.weight)))
        })
        .unwrap()
    }

    #[test]
    fn an_addition_past_the_largest_double_is_refused_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(dir.path());
        // A plain edge (its first addition converts it) and a counter already.
        db.insert_edges(&[edge("plain", "a", "b", f64::MAX)], 1).unwrap();
        db.add_edge_weights(&[edge("ctr", "a", "c", f64::MAX)], 1).unwrap();
        for id in ["plain", "ctr"] {
            let to = if id == "plain" { "b" } else { "c" };
            let err = db.add_edge_weights(&[edge("other", "b", "c", 1.0), edge(id, "a", to, f64::MAX)], 2).unwrap_err();
            assert_eq!(err.code, Code::InvalidArgument, "{err}");
            assert!(err.message.contains(&format!("edge \"{id}\"")), "{err}");
            assert_eq!(db.get_edge(id).unwrap().unwrap().weight, f64::MAX);
            assert!(db.get_edge("other").unwrap().is_none(), "nothing of the batch is written");
        }
    }

    #[test]
    fn a_counter_keeps_its_weight_beside_the_record_and_reads_show_the_sum() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(dir.path());
        db.add_edge_weights(&[edge("ab", "a", "b", 2.0), edge("ab", "a", "b", 3.0)], 1).unwrap();
        let (record, entry) = stored(&db, "ab");
        assert!(is_marker(record));
        assert_eq!(entry, Some(5.0));
        assert_eq!(db.get_edge("ab").unwrap().unwrap().weight, 5.0);
        let hop = Hop { direction: Direction::Out, edge_types: None };
        assert_eq!(db.neighbors("a", &hop, None).unwrap()[0].0.weight, 5.0);
        assert!(db.verify().unwrap().ok);
    }

    #[test]
    fn a_plain_edge_becomes_a_counter_on_its_first_addition() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(dir.path());
        db.insert_edge(&edge("ab", "a", "b", 1.5), 1).unwrap();
        assert_eq!(stored(&db, "ab"), (1.5, None));
        db.add_edge_weights(&[edge("ab", "a", "b", 1.0)], 1).unwrap();
        let (record, entry) = stored(&db, "ab");
        assert!(is_marker(record) && entry == Some(2.5));
        assert_eq!(db.get_edge("ab").unwrap().unwrap().weight, 2.5);
        assert!(db.verify().unwrap().ok);
    }

    #[test]
    fn updating_and_deleting_a_counter_keep_its_weight_entry_in_step() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(dir.path());
        db.add_edge_weights(&[edge("ab", "a", "b", 2.0), edge("bc", "b", "c", 1.0)], 1).unwrap();
        let updated = db.update_edge("ab", r#"{"note":"x"}"#, None).unwrap();
        assert_eq!((updated.weight, updated.properties.as_str()), (2.0, r#"{"note":"x"}"#));
        assert_eq!(db.update_edge("ab", "{}", Some(7.0)).unwrap().weight, 7.0);
        assert_eq!(db.get_edge("ab").unwrap().unwrap().weight, 7.0);
        assert!(is_marker(stored(&db, "ab").0));
        // Down to zero deletes the edge and its entry; so do delete_edge and deleting an endpoint.
        db.add_edge_weights(&[edge("ab", "a", "b", -7.0)], 1).unwrap();
        assert!(db.get_edge("ab").unwrap().is_none());
        db.add_edge_weights(&[edge("ab", "a", "b", 1.0)], 1).unwrap();
        assert!(db.delete_edge("ab").unwrap());
        db.delete_node("c").unwrap();
        db.read(|txn, t| {
            assert_eq!(t.edge_weights.len(txn)?, 0);
            Ok(())
        })
        .unwrap();
        assert!(db.verify().unwrap().ok);
    }

    #[test]
    fn verify_finds_a_counter_without_its_weight_and_a_stray_weight() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(dir.path());
        db.add_edge_weights(&[edge("ab", "a", "b", 2.0)], 1).unwrap();
        db.write(|txn, t| {
            let key = lookup(txn, t.edge_ids, "ab")?.expect("edge exists");
            forget(txn, t, "ab")?;
            put(txn, t, "stray", Counter { weight: 1.0, identity: 0, key: key + 1000 })
        })
        .unwrap();
        assert_eq!(db.get_edge("ab").unwrap_err().code, Code::Corruption);
        let report = db.verify().unwrap();
        let messages: Vec<&str> = report.errors.iter().map(|p| p.message.as_str()).collect();
        assert!(messages.iter().any(|m| m.contains("counter edge \"ab\" has no weight entry")), "{messages:?}");
        assert!(messages.iter().any(|m| m.contains("belongs to no counter edge")), "{messages:?}");
    }
}

/// Properties: any weight entry decodes or is `CORRUPTION`; what [`put`]
/// writes decodes to the same counter.
#[cfg(test)]
mod props {
    use super::*;
    use crate::Code;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn decode_takes_any_bytes(slot_key in any::<Vec<u8>>(), payload in any::<Vec<u8>>()) {
            match decode(&slot_key, &payload) {
                Ok(_) => prop_assert_eq!(payload.len(), 24),
                Err(e) => prop_assert_eq!(e.code, Code::Corruption),
            }
        }

        #[test]
        fn counters_round_trip(weight in any::<f64>(), identity in any::<u64>(), key in any::<u64>()) {
            let mut w = Writer::default();
            w.f64(weight).u64(identity).u64(key);
            let c = decode(b"slot", &w.buf).unwrap();
            prop_assert_eq!((c.weight.to_bits(), c.identity, c.key), (weight.to_bits(), identity, key));
        }
    }
}

//! Node and edge records: their payload layout and their JSON form.

use crate::storage::codec::{Reader, Writer};
use crate::error::{Error, Result};
use serde_json::{Map, Value};
use std::cell::OnceCell;

/// A stored node. `properties` is a JSON object as text.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub id: String,
    pub node_type: String,
    pub properties: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A stored edge. `from`/`to` are the endpoints' public ids; `from_key`/`to_key`
/// their internal ids, so adjacency can be rebuilt from edges alone.
#[derive(Debug, Clone, PartialEq)]
pub struct Edge {
    pub id: String,
    pub edge_type: String,
    pub from: String,
    pub to: String,
    pub from_key: u64,
    pub to_key: u64,
    pub properties: String,
    pub weight: f64,
    pub created_at: i64,
}

impl Node {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.i64(self.created_at).i64(self.updated_at).str(&self.id).str(&self.node_type).tail(self.properties.as_bytes());
        w.buf
    }

    pub fn decode(payload: &[u8]) -> Result<Node> {
        let mut r = Reader::new(payload);
        let created_at = r.i64()?;
        let updated_at = r.i64()?;
        let id = r.str()?.to_owned();
        let node_type = r.str()?.to_owned();
        let properties = utf8(r.tail())?;
        Ok(Node { id, node_type, properties, created_at, updated_at })
    }

    /// `{ id, type, properties, createdAt, updatedAt }` as JSON text. The
    /// properties were validated as a JSON object when stored and are
    /// checksummed since, so they are copied verbatim.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(64 + self.id.len() + self.node_type.len() + self.properties.len());
        out.push_str("{\"id\":");
        push_json_str(&mut out, &self.id);
        out.push(',');
        self.push_json_fields(&mut out);
        out
    }

    /// Appends `{ type, properties, createdAt, updatedAt }`: [`Node::to_json`] without the id.
    pub fn write_json_without_id(&self, out: &mut String) {
        out.push('{');
        self.push_json_fields(out);
    }

    fn push_json_fields(&self, out: &mut String) {
        use std::fmt::Write;
        out.push_str("\"type\":");
        push_json_str(out, &self.node_type);
        out.push_str(",\"properties\":");
        out.push_str(&self.properties);
        write!(out, ",\"createdAt\":{},\"updatedAt\":{}}}", self.created_at, self.updated_at).expect("writing to a String");
    }
}

impl Edge {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.i64(self.created_at)
            .f64(self.weight)
            .u64(self.from_key)
            .u64(self.to_key)
            .str(&self.id)
            .str(&self.edge_type)
            .str(&self.from)
            .str(&self.to)
            .tail(self.properties.as_bytes());
        w.buf
    }

    pub fn decode(payload: &[u8]) -> Result<Edge> {
        let mut r = Reader::new(payload);
        let created_at = r.i64()?;
        let weight = r.f64()?;
        let from_key = r.u64()?;
        let to_key = r.u64()?;
        let id = r.str()?.to_owned();
        let edge_type = r.str()?.to_owned();
        let from = r.str()?.to_owned();
        let to = r.str()?.to_owned();
        let properties = utf8(r.tail())?;
        Ok(Edge { id, edge_type, from, to, from_key, to_key, properties, weight, created_at })
    }

    /// `{ id, type, from, to, properties, weight, createdAt }` as JSON text.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(96 + self.id.len() + self.properties.len());
        out.push_str("{\"id\":");
        push_json_str(&mut out, &self.id);
        out.push_str(",\"type\":");
        push_json_str(&mut out, &self.edge_type);
        out.push_str(",\"from\":");
        push_json_str(&mut out, &self.from);
        out.push_str(",\"to\":");
        push_json_str(&mut out, &self.to);
        out.push_str(",\"properties\":");
        out.push_str(&self.properties);
        out.push_str(&format!(",\"weight\":{},\"createdAt\":{}}}", serialize(&self.weight), self.created_at));
        out
    }
}

/// Appends `s` as a JSON string literal.
pub(crate) fn push_json_str(out: &mut String, s: &str) {
    // Most ids and types need no escaping: copy them without serde.
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        out.push_str(&serialize(&s));
    }
}

fn utf8(b: &[u8]) -> Result<String> {
    String::from_utf8(b.to_vec()).map_err(|_| crate::Error::corruption("record properties are not UTF-8"))
}

pub(crate) fn serialize<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("records serialize to JSON")
}

/// A node's properties before and after one write (`None`: the node did not
/// / does not exist), parsed on first use, once for every index that needs them.
pub struct PropertyChange<'a> {
    before: Option<&'a str>,
    after: Option<&'a str>,
    parsed: OnceCell<Parsed>,
}

type Properties = Map<String, Value>;

type Parsed = (Option<Properties>, Option<Properties>);

impl<'a> PropertyChange<'a> {
    pub fn new(before: Option<&'a str>, after: Option<&'a str>) -> Self {
        PropertyChange { before, after, parsed: OnceCell::new() }
    }

    /// Whether the node existed before and after (an update, not an insert or a delete).
    pub fn is_update(&self) -> bool {
        self.before.is_some() && self.after.is_some()
    }

    /// Both sides as JSON objects.
    pub fn parsed(&self) -> Result<(Option<&Properties>, Option<&Properties>)> {
        if self.parsed.get().is_none() {
            let both = (self.before.map(parse).transpose()?, self.after.map(parse).transpose()?);
            let _ = self.parsed.set(both);
        }
        let (before, after) = self.parsed.get().expect("set above");
        Ok((before.as_ref(), after.as_ref()))
    }
}

/// A stored node's properties as a JSON object.
pub(crate) fn parse(properties: &str) -> Result<Map<String, Value>> {
    serde_json::from_str(properties).map_err(|_| Error::corruption("stored properties are not a JSON object"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_json_escapes_what_json_needs_and_copies_the_rest() {
        for id in ["plain-id", "quote\"d", "back\\slash", "new\nline", "tab\t\u{1}", "ünï 東京 🎉", "\u{2028}"] {
            let node = Node { id: id.into(), node_type: format!("T{id}"), properties: r#"{"a":1}"#.into(), created_at: 5, updated_at: 7 };
            let parsed: serde_json::Value = serde_json::from_str(&node.to_json()).expect("valid JSON");
            assert_eq!(parsed["id"], id);
            assert_eq!(parsed["type"], format!("T{id}"));
            let mut without = String::new();
            node.write_json_without_id(&mut without);
            let parsed: serde_json::Value = serde_json::from_str(&without).expect("valid JSON");
            assert_eq!(parsed, serde_json::json!({ "type": format!("T{id}"), "properties": { "a": 1 }, "createdAt": 5, "updatedAt": 7 }));
        }
    }
}

/// Properties: any payload decodes to a record or `CORRUPTION`, never a
/// panic; every record encodes and decodes to itself.
#[cfg(test)]
mod props {
    use super::*;
    use crate::Code;
    use proptest::prelude::*;

    fn node() -> impl Strategy<Value = Node> {
        (any::<String>(), any::<String>(), any::<String>(), any::<i64>(), any::<i64>())
            .prop_map(|(id, node_type, properties, created_at, updated_at)| Node { id, node_type, properties, created_at, updated_at })
    }

    fn edge() -> impl Strategy<Value = Edge> {
        (any::<[String; 5]>(), any::<u64>(), any::<u64>(), any::<f64>(), any::<i64>()).prop_map(|([id, edge_type, from, to, properties], from_key, to_key, weight, created_at)| Edge {
            id,
            edge_type,
            from,
            to,
            from_key,
            to_key,
            properties,
            weight,
            created_at,
        })
    }

    proptest! {
        #[test]
        fn decoders_take_any_bytes(bytes in any::<Vec<u8>>()) {
            if let Err(e) = Node::decode(&bytes) {
                prop_assert_eq!(e.code, Code::Corruption);
            }
            if let Err(e) = Edge::decode(&bytes) {
                prop_assert_eq!(e.code, Code::Corruption);
            }
        }

        #[test]
        fn truncated_records_are_corruption_or_a_shorter_tail(n in node(), cut in any::<prop::sample::Index>()) {
            let bytes = n.encode();
            let cut = cut.index(bytes.len() + 1);
            match Node::decode(&bytes[..cut]) {
                // Only the unprefixed properties tail can lose bytes and still decode.
                Ok(d) => prop_assert!(d.id == n.id && d.node_type == n.node_type && n.properties.as_bytes().starts_with(d.properties.as_bytes())),
                Err(e) => prop_assert_eq!(e.code, Code::Corruption),
            }
        }

        #[test]
        fn nodes_round_trip(n in node()) {
            prop_assert_eq!(Node::decode(&n.encode()).unwrap(), n);
        }

        #[test]
        fn edges_round_trip(e in edge()) {
            let decoded = Edge::decode(&e.encode()).unwrap();
            // Compare the weight by bits: NaN is a stored marker (counter edges).
            prop_assert_eq!(decoded.weight.to_bits(), e.weight.to_bits());
            prop_assert_eq!(Edge { weight: 0.0, ..decoded }, Edge { weight: 0.0, ..e });
        }
    }
}

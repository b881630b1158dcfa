//! Node filters: type, id set and property predicates, evaluated in Rust.

use crate::error::{Error, Result};
use crate::storage::records::Node;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::cmp::Ordering;

/// One comparison on a property. Values compare as JSON: numbers with
/// numbers, strings with strings (bytewise); a missing property fails every
/// test but `ne` and `exists: false`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum Condition {
    Eq(Value),
    Ne(Value),
    In(Vec<Value>),
    Gt(Value),
    Gte(Value),
    Lt(Value),
    Lte(Value),
    /// A string containing the string, or an array with an element equal to the value.
    Contains(Value),
    /// A string with this prefix.
    #[serde(rename = "startsWith")]
    StartsWith(String),
    /// `true`: the property is present (even `null`); `false`: absent.
    Exists(bool),
}

/// Which nodes pass: all given parts must hold.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeFilter {
    #[serde(default)]
    pub types: Option<Vec<String>>,
    #[serde(default)]
    pub ids: Option<Vec<String>>,
    /// `(property, condition)`; every one must hold.
    #[serde(default, rename = "where")]
    pub conditions: Vec<(String, Condition)>,
}

impl NodeFilter {
    pub fn is_empty(&self) -> bool {
        self.types.is_none() && self.ids.is_none() && self.conditions.is_empty()
    }

    /// Whether a node record passes every part: its type, its id and its properties.
    pub fn admits_node(&self, node: &Node) -> Result<bool> {
        if self.types.as_ref().is_some_and(|types| !types.contains(&node.node_type)) || self.ids.as_ref().is_some_and(|ids| !ids.contains(&node.id)) {
            return Ok(false);
        }
        self.properties_pass(&node.properties)
    }

    /// Whether a node's properties (a JSON object as text) pass the conditions.
    pub fn properties_pass(&self, properties: &str) -> Result<bool> {
        if self.conditions.is_empty() {
            return Ok(true);
        }
        let props: Map<String, Value> =
            serde_json::from_str(properties).map_err(|_| Error::corruption("stored properties are not a JSON object"))?;
        Ok(self.conditions.iter().all(|(field, c)| holds(props.get(field), c)))
    }
}

fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(_), Value::Number(_)) => compare(a, b) == Some(Ordering::Equal),
        _ => a == b,
    }
}

fn holds(value: Option<&Value>, condition: &Condition) -> bool {
    if let Condition::Exists(present) = condition {
        return value.is_some() == *present;
    }
    let Some(v) = value else { return matches!(condition, Condition::Ne(_)) };
    match condition {
        Condition::Eq(x) => equal(v, x),
        Condition::Ne(x) => !equal(v, x),
        Condition::In(xs) => xs.iter().any(|x| equal(v, x)),
        Condition::Gt(x) => compare(v, x) == Some(Ordering::Greater),
        Condition::Gte(x) => matches!(compare(v, x), Some(Ordering::Greater | Ordering::Equal)),
        Condition::Lt(x) => compare(v, x) == Some(Ordering::Less),
        Condition::Lte(x) => matches!(compare(v, x), Some(Ordering::Less | Ordering::Equal)),
        Condition::Contains(x) => match (v, x) {
            (Value::String(s), Value::String(part)) => s.contains(part.as_str()),
            (Value::Array(items), _) => items.iter().any(|item| equal(item, x)),
            _ => false,
        },
        Condition::StartsWith(prefix) => v.as_str().is_some_and(|s| s.starts_with(prefix.as_str())),
        Condition::Exists(_) => unreachable!("answered above"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn filter(conditions: Vec<(&str, Condition)>) -> NodeFilter {
        NodeFilter { conditions: conditions.into_iter().map(|(f, c)| (f.to_owned(), c)).collect(), ..NodeFilter::default() }
    }

    #[test]
    fn conditions_compare_like_json_values() {
        let props = r#"{"n":3,"s":"b","flag":true}"#;
        assert!(filter(vec![("n", Condition::Eq(json!(3.0)))]).properties_pass(props).unwrap());
        assert!(filter(vec![("n", Condition::Gt(json!(2))), ("n", Condition::Lte(json!(3)))]).properties_pass(props).unwrap());
        assert!(!filter(vec![("n", Condition::Gt(json!("2")))]).properties_pass(props).unwrap());
        assert!(filter(vec![("s", Condition::In(vec![json!("a"), json!("b")]))]).properties_pass(props).unwrap());
        assert!(filter(vec![("missing", Condition::Ne(json!(1)))]).properties_pass(props).unwrap());
        assert!(!filter(vec![("missing", Condition::Eq(json!(1)))]).properties_pass(props).unwrap());
    }

    #[test]
    fn text_array_and_presence_conditions() {
        let props = r#"{"s":"hello world","tags":["a",2],"nothing":null}"#;
        let pass = |c: Condition| filter(vec![("s", c)]).properties_pass(props).unwrap();
        assert!(pass(Condition::Contains(json!("lo w"))));
        assert!(!pass(Condition::Contains(json!("xyz"))));
        assert!(pass(Condition::StartsWith("hell".into())));
        assert!(!pass(Condition::StartsWith("world".into())));
        assert!(filter(vec![("tags", Condition::Contains(json!(2.0)))]).properties_pass(props).unwrap());
        assert!(!filter(vec![("tags", Condition::Contains(json!("b")))]).properties_pass(props).unwrap());
        assert!(filter(vec![("nothing", Condition::Exists(true))]).properties_pass(props).unwrap());
        assert!(filter(vec![("missing", Condition::Exists(false))]).properties_pass(props).unwrap());
        assert!(!filter(vec![("missing", Condition::Contains(json!("a")))]).properties_pass(props).unwrap());
        let parsed: Condition = serde_json::from_str(r#"{"startsWith":"ab"}"#).unwrap();
        assert_eq!(parsed, Condition::StartsWith("ab".into()));
    }
}

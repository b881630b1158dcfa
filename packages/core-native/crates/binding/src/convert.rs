//! Engine results → JS values. Records cross as JSON text (one string per
//! call, parsed once in JS), vectors as `Float32Array`.

use loomdb_engine::{Edge, Node, Page, Path, Position, Reached, SearchHit, Stats};
use neon::prelude::*;
use neon::types::JsFloat32Array;

/// A value produced off or on the JS thread and turned into JS on it.
pub trait IntoJs: Send + 'static {
    fn into_js<'a>(self, cx: &mut impl Context<'a>) -> JsResult<'a, JsValue>;
}

impl IntoJs for () {
    fn into_js<'a>(self, cx: &mut impl Context<'a>) -> JsResult<'a, JsValue> {
        Ok(cx.undefined().upcast())
    }
}

impl IntoJs for bool {
    fn into_js<'a>(self, cx: &mut impl Context<'a>) -> JsResult<'a, JsValue> {
        Ok(cx.boolean(self).upcast())
    }
}

impl IntoJs for String {
    fn into_js<'a>(self, cx: &mut impl Context<'a>) -> JsResult<'a, JsValue> {
        Ok(cx.string(self).upcast())
    }
}

impl IntoJs for Node {
    fn into_js<'a>(self, cx: &mut impl Context<'a>) -> JsResult<'a, JsValue> {
        self.to_json().into_js(cx)
    }
}

impl IntoJs for Edge {
    fn into_js<'a>(self, cx: &mut impl Context<'a>) -> JsResult<'a, JsValue> {
        self.to_json().into_js(cx)
    }
}

impl IntoJs for Vec<Node> {
    fn into_js<'a>(self, cx: &mut impl Context<'a>) -> JsResult<'a, JsValue> {
        json_array(&self, Node::to_json).into_js(cx)
    }
}

impl IntoJs for Vec<f32> {
    fn into_js<'a>(self, cx: &mut impl Context<'a>) -> JsResult<'a, JsValue> {
        Ok(JsFloat32Array::from_slice(cx, &self)?.upcast())
    }
}

impl IntoJs for Vec<SearchHit> {
    fn into_js<'a>(self, cx: &mut impl Context<'a>) -> JsResult<'a, JsValue> {
        serde_json::to_string(&self).expect("hits serialize").into_js(cx)
    }
}

impl IntoJs for Stats {
    fn into_js<'a>(self, cx: &mut impl Context<'a>) -> JsResult<'a, JsValue> {
        serde_json::to_string(&self).expect("stats serialize").into_js(cx)
    }
}

impl<T: IntoJs> IntoJs for Option<T> {
    fn into_js<'a>(self, cx: &mut impl Context<'a>) -> JsResult<'a, JsValue> {
        match self {
            Some(v) => v.into_js(cx),
            None => Ok(cx.null().upcast()),
        }
    }
}

impl IntoJs for u64 {
    fn into_js<'a>(self, cx: &mut impl Context<'a>) -> JsResult<'a, JsValue> {
        Ok(cx.number(self as f64).upcast())
    }
}

fn json_array<T>(items: &[T], each: impl Fn(&T) -> String) -> String {
    let mut json = String::from("[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        json.push_str(&each(item));
    }
    json.push(']');
    json
}

impl IntoJs for Vec<Edge> {
    fn into_js<'a>(self, cx: &mut impl Context<'a>) -> JsResult<'a, JsValue> {
        json_array(&self, Edge::to_json).into_js(cx)
    }
}

/// `[{ edge, node }]`
impl IntoJs for Vec<(Edge, Node)> {
    fn into_js<'a>(self, cx: &mut impl Context<'a>) -> JsResult<'a, JsValue> {
        json_array(&self, |(e, n)| format!(r#"{{"edge":{},"node":{}}}"#, e.to_json(), n.to_json())).into_js(cx)
    }
}

/// `[{ node, depth, via }]`
impl IntoJs for Vec<Reached> {
    fn into_js<'a>(self, cx: &mut impl Context<'a>) -> JsResult<'a, JsValue> {
        json_array(&self, |r| format!(r#"{{"node":{},"depth":{},"via":{}}}"#, r.node.to_json(), r.depth, serde_json::to_string(&r.via).expect("string")))
            .into_js(cx)
    }
}

/// `{ nodes, edges }`
impl IntoJs for Path {
    fn into_js<'a>(self, cx: &mut impl Context<'a>) -> JsResult<'a, JsValue> {
        format!(r#"{{"nodes":{},"edges":{}}}"#, json_array(&self.nodes, Node::to_json), json_array(&self.edges, Edge::to_json)).into_js(cx)
    }
}

fn position_json(p: &Option<Position>) -> String {
    match p {
        None => "null".into(),
        Some(Position::Key(k)) => format!(r#"{{"key":{k}}}"#),
        Some(Position::Id(id)) => format!(r#"{{"id":{}}}"#, serde_json::to_string(id).expect("string")),
    }
}

/// `[json, ids]`: `json` is `{ items, next }` with the items' ids left out,
/// `ids` an array of them. A scan returns many ids, and V8's `JSON.parse`
/// interns every short string it meets: unique ids would fill its string
/// table, which made scans ~20 % slower; strings made here are not interned.
impl IntoJs for Page<Node> {
    fn into_js<'a>(self, cx: &mut impl Context<'a>) -> JsResult<'a, JsValue> {
        let mut json = String::with_capacity(32 + self.items.iter().map(|n| 64 + n.node_type.len() + n.properties.len()).sum::<usize>());
        json.push_str(r#"{"items":["#);
        for (i, node) in self.items.iter().enumerate() {
            if i > 0 {
                json.push(',');
            }
            node.write_json_without_id(&mut json);
        }
        json.push_str(r#"],"next":"#);
        json.push_str(&position_json(&self.next));
        json.push('}');
        let ids = cx.empty_array();
        for (i, node) in self.items.iter().enumerate() {
            let id = cx.string(&node.id);
            ids.set(cx, i as u32, id)?;
        }
        let pair = cx.empty_array();
        let json = cx.string(json);
        pair.set(cx, 0, json)?;
        pair.set(cx, 1, ids)?;
        Ok(pair.upcast())
    }
}

impl IntoJs for Page<Edge> {
    fn into_js<'a>(self, cx: &mut impl Context<'a>) -> JsResult<'a, JsValue> {
        format!(r#"{{"items":{},"next":{}}}"#, json_array(&self.items, Edge::to_json), position_json(&self.next)).into_js(cx)
    }
}

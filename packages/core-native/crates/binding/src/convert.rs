//! Engine results → JS values. Records cross as JSON text (one string per
//! call, parsed once in JS), vectors as `Float32Array`.

use loomdb_engine::{Edge, Node, SearchHit, Stats};
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
        let mut json = String::from("[");
        for (i, n) in self.iter().enumerate() {
            if i > 0 {
                json.push(',');
            }
            json.push_str(&n.to_json());
        }
        json.push(']');
        json.into_js(cx)
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

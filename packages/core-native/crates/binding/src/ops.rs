//! Exports for operations: backup, restore, verify, compaction, metrics.
//! Long ones take a progress callback and a cancel token; run synchronously
//! they call the callback on the JS thread (it returns `false` to stop),
//! run asynchronously they post progress through a channel and stop when
//! the token is cancelled.

use crate::errors::{guarded, throw};
use crate::{database, is_async, settle, settle_write, string};
use loomdb_engine::{Database, Error, LoadEdge, LoadNode, LoadRecord, NewEdge, NewNode};
use neon::prelude::*;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Cancels an asynchronous long operation from JS (an `AbortSignal`'s listener calls `cancel`).
pub struct CancelToken(Arc<AtomicBool>);

impl Finalize for CancelToken {}

pub fn cancel_token(mut cx: FunctionContext) -> JsResult<JsBox<CancelToken>> {
    Ok(cx.boxed(CancelToken(Arc::new(AtomicBool::new(false)))))
}

pub fn cancel(mut cx: FunctionContext) -> JsResult<JsUndefined> {
    cx.argument::<JsBox<CancelToken>>(0)?.0.store(true, Ordering::SeqCst);
    Ok(cx.undefined())
}

/// The `(onProgress | null, token | null)` pair at argument `i`.
fn controls<'a>(cx: &mut FunctionContext<'a>, i: usize) -> NeonResult<(Option<Handle<'a, JsFunction>>, Arc<AtomicBool>)> {
    let f = cx.argument::<JsValue>(i)?.downcast::<JsFunction, _>(cx).ok();
    let token = match cx.argument::<JsValue>(i + 1)?.downcast::<JsBox<CancelToken>, _>(cx) {
        Ok(t) => Arc::clone(&t.0),
        Err(_) => Arc::new(AtomicBool::new(false)),
    };
    Ok((f, token))
}

/// Runs a long operation: on the JS thread calling `on_progress` directly,
/// or on a thread of its own posting progress (at most every 50 ms) through a channel.
fn long<'a, T: crate::convert::IntoJs>(
    cx: &mut FunctionContext<'a>,
    at: usize,
    work: impl FnOnce(&mut dyn FnMut(u64, u64) -> bool) -> Result<T, Error> + Send + 'static,
) -> JsResult<'a, JsValue> {
    let (on_progress, token) = controls(cx, at)?;
    if is_async(cx) {
        // A thread of its own (long work would tie up a libuv pool thread),
        // and progress and the result through one channel, so every
        // progress call reaches JS before the promise settles.
        let channel = cx.channel();
        let callback = on_progress.map(|f| Arc::new(f.root(cx)));
        let (deferred, promise) = cx.promise();
        std::thread::spawn(move || {
            let mut last = Instant::now() - Duration::from_secs(1);
            let result = guarded(|| {
                work(&mut |done, total| {
                    if let Some(cb) = &callback {
                        if done == total || last.elapsed() >= Duration::from_millis(50) {
                            last = Instant::now();
                            let cb = Arc::clone(cb);
                            // A terminated worker's environment takes no more calls; drop the report.
                            let _ = channel.try_send(move |mut cx| {
                                let f = cb.to_inner(&mut cx);
                                let (d, t) = (cx.number(done as f64), cx.number(total as f64));
                                f.call_with(&cx).arg(d).arg(t).exec(&mut cx)
                            });
                        }
                    }
                    !token.load(Ordering::SeqCst)
                })
            });
            // Fails only once the JS environment is gone: nothing to settle.
            let _ = deferred.try_settle_with(&channel, move |mut cx| {
                drop(callback);
                crate::errors::contained(&mut cx, |cx| match result {
                    Ok(v) => v.into_js(cx),
                    Err(e) => throw(cx, e),
                })
            });
        });
        return Ok(promise.upcast());
    }
    let mut thrown = None;
    let result = {
        let cx_ref = &mut *cx;
        guarded(|| {
            work(&mut |done, total| {
                if token.load(Ordering::SeqCst) {
                    return false;
                }
                let Some(f) = on_progress else { return true };
                let outcome = cx_ref.try_catch(|cx| {
                    let (d, t) = (cx.number(done as f64), cx.number(total as f64));
                    f.call_with(cx).arg(d).arg(t).apply::<JsValue, _>(cx)
                });
                match outcome {
                    Ok(v) => !v.downcast::<JsBoolean, _>(cx_ref).is_ok_and(|b| !b.value(cx_ref)),
                    Err(e) => {
                        thrown = Some(e);
                        false
                    }
                }
            })
        })
    };
    if let Some(e) = thrown {
        return cx.throw(e);
    }
    match result {
        Ok(v) => v.into_js(cx),
        Err(e) => throw(cx, e),
    }
}

/// `(handle, name, specJson, onProgress | null, token | null, async)`: `true` when created.
pub fn create_text_index(mut cx: FunctionContext) -> JsResult<JsValue> {
    let db = database(&mut cx)?;
    let name = string(&mut cx, 1, "name")?;
    let spec: loomdb_engine::TextIndexSpec = crate::json(&mut cx, 2, "text index spec")?;
    long(&mut cx, 3, move |progress| db.create_text_index(&name, &spec, progress))
}

pub fn backup(mut cx: FunctionContext) -> JsResult<JsValue> {
    let db = database(&mut cx)?;
    let dest = PathBuf::from(string(&mut cx, 1, "destPath")?);
    long(&mut cx, 2, move |progress| db.backup(&dest, progress).map(json))
}

pub fn restore(mut cx: FunctionContext) -> JsResult<JsValue> {
    let backup = PathBuf::from(string(&mut cx, 0, "backupPath")?);
    let target = PathBuf::from(string(&mut cx, 1, "targetPath")?);
    let overwrite = match cx.argument::<JsValue>(2)?.downcast::<JsBoolean, _>(&mut cx) {
        Ok(b) => b.value(&mut cx),
        Err(_) => return throw(&mut cx, crate::errors::bad_argument("overwrite", "a boolean")),
    };
    long(&mut cx, 3, move |progress| Database::restore(&backup, &target, overwrite, progress).map(json))
}

pub fn check_backup(mut cx: FunctionContext) -> JsResult<JsValue> {
    let backup = PathBuf::from(string(&mut cx, 0, "backupPath")?);
    let run_async = is_async(&mut cx);
    settle(&mut cx, run_async, move || Database::check_backup(&backup).map(json))
}

pub fn compact(mut cx: FunctionContext) -> JsResult<JsValue> {
    let db = database(&mut cx)?;
    long(&mut cx, 1, move |progress| db.compact(progress).map(json))
}

pub fn verify(mut cx: FunctionContext) -> JsResult<JsValue> {
    let db = database(&mut cx)?;
    let run_async = is_async(&mut cx);
    settle(&mut cx, run_async, move || db.verify().map(json))
}

pub fn catch_up_indexes(mut cx: FunctionContext) -> JsResult<JsValue> {
    let db = database(&mut cx)?;
    let run_async = is_async(&mut cx);
    settle(&mut cx, run_async, move || db.catch_up_indexes())
}

pub fn metrics(mut cx: FunctionContext) -> JsResult<JsValue> {
    let db = database(&mut cx)?;
    let run_async = is_async(&mut cx);
    settle(&mut cx, run_async, move || db.metrics().map(json))
}

pub fn usage(mut cx: FunctionContext) -> JsResult<JsValue> {
    let db = database(&mut cx)?;
    let run_async = is_async(&mut cx);
    settle(&mut cx, run_async, move || db.usage().map(json))
}

fn json<T: serde::Serialize>(v: T) -> String {
    serde_json::to_string(&v).expect("reports serialize")
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ExportedNode {
    id: String,
    #[serde(rename = "type")]
    node_type: String,
    properties: Box<serde_json::value::RawValue>,
    created_at: i64,
    updated_at: i64,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ExportedEdge {
    id: String,
    #[serde(rename = "type")]
    edge_type: String,
    from: String,
    to: String,
    properties: Box<serde_json::value::RawValue>,
    weight: f64,
    created_at: i64,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "lowercase")]
enum Exported {
    Node(ExportedNode),
    Edge(ExportedEdge),
}

/// `recordsJson`: `[{ node }` or `{ edge }]`, records as `getNode`/`getEdge` return them, in creation order.
pub fn load(mut cx: FunctionContext) -> JsResult<JsValue> {
    let db = database(&mut cx)?;
    let records: Vec<Exported> = crate::json(&mut cx, 1, "records")?;
    let records: Vec<LoadRecord> = records
        .into_iter()
        .map(|r| match r {
            Exported::Node(n) => LoadRecord::Node(LoadNode {
                node: NewNode { id: n.id, node_type: n.node_type, properties: n.properties.get().to_owned() },
                created_at: n.created_at,
                updated_at: n.updated_at,
            }),
            Exported::Edge(e) => LoadRecord::Edge(LoadEdge {
                edge: NewEdge { id: e.id, edge_type: e.edge_type, from: e.from, to: e.to, properties: e.properties.get().to_owned(), weight: e.weight },
                created_at: e.created_at,
            }),
        })
        .collect();
    let run_async = is_async(&mut cx);
    settle_write(&mut cx, run_async, db, move |db| db.load(&records))
}

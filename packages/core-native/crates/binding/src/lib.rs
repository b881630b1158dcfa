//! Neon binding of `loomdb-engine`. Each export converts its arguments,
//! runs one engine call (when its last argument is `true`, off the JS
//! thread returning a promise: reads on the libuv pool, writes on their
//! directory's writer thread) and converts the result or error back.
//! No database logic lives here.

mod convert;
mod errors;
mod ops;
mod pin;
mod writers;

use convert::IntoJs;
use errors::{bad_argument, guarded, throw};
use loomdb_engine::{
    Database, Durability, EdgePageQuery, EdgeSelector, Error, Hop, NewEdge, NewNode, NodeFilter, NodePageQuery, OpenOptions, QueueItem, QueueLease,
    Position, QueueSteps, SearchRequest, SpaceSpec, Transaction, WriteBatch, WriterGuard,
};
use neon::prelude::*;
use neon::types::buffer::TypedArray;
use neon::types::JsFloat32Array;
use parking_lot::RwLock;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::path::Path;
use std::sync::Arc;

/// A JS-owned handle; `close` empties it so later calls get `CLOSED`.
struct Handle {
    db: RwLock<Option<Database>>,
}

impl Finalize for Handle {}

/// An open transaction and the database view bound to it. Every export that
/// takes a database handle also takes one of these, and then always runs on
/// the JS thread, which owns the transaction. Garbage-collecting an
/// unfinished one rolls it back. Commit and rollback empty it, so an ended
/// transaction no longer holds the database open until it is collected
/// (after `close`, another process could not compact it).
struct TxHandle {
    open: RwLock<Option<(Arc<Transaction>, Database)>>,
}

fn ended() -> Error {
    Error::new(loomdb_engine::Code::InvalidArgument, "the transaction has already ended")
}

impl Finalize for TxHandle {}

fn database(cx: &mut FunctionContext) -> NeonResult<Database> {
    let arg = cx.argument::<JsValue>(0)?;
    if let Ok(tx) = arg.downcast::<JsBox<TxHandle>, _>(cx) {
        let db = tx.open.read().as_ref().map(|(_, db)| db.clone());
        return match db {
            Some(db) => Ok(db),
            None => throw(cx, ended()),
        };
    }
    let handle = cx.argument::<JsBox<Handle>>(0)?;
    let db = handle.db.read().clone();
    match db {
        Some(db) => Ok(db),
        None => throw(cx, Error::new(loomdb_engine::Code::Closed, "the database handle is closed")),
    }
}

fn string(cx: &mut FunctionContext, i: usize, name: &str) -> NeonResult<String> {
    match cx.argument::<JsValue>(i)?.downcast::<JsString, _>(cx) {
        Ok(s) => Ok(s.value(cx)),
        Err(_) => throw(cx, bad_argument(name, "a string")),
    }
}

fn number(cx: &mut FunctionContext, i: usize, name: &str) -> NeonResult<f64> {
    match cx.argument::<JsValue>(i)?.downcast::<JsNumber, _>(cx) {
        Ok(n) => Ok(n.value(cx)),
        Err(_) => throw(cx, bad_argument(name, "a number")),
    }
}

fn vector(cx: &mut FunctionContext, i: usize) -> NeonResult<Vec<f32>> {
    match cx.argument::<JsValue>(i)?.downcast::<JsFloat32Array, _>(cx) {
        Ok(a) => Ok(a.as_slice(cx).to_vec()),
        Err(_) => throw(cx, bad_argument("vector", "a Float32Array")),
    }
}

pub(crate) fn json<T: for<'de> Deserialize<'de>>(cx: &mut FunctionContext, i: usize, name: &str) -> NeonResult<T> {
    let text = string(cx, i, name)?;
    match serde_json::from_str(&text) {
        Ok(v) => Ok(v),
        Err(e) => throw(cx, Error::invalid(format!("{name}: {e}"))),
    }
}

/// The last argument: run on the libuv pool and return a promise? Never for
/// a transaction, which belongs to the JS thread.
fn is_async(cx: &mut FunctionContext) -> bool {
    if cx.argument_opt(0).is_some_and(|a| a.is_a::<JsBox<TxHandle>, _>(cx)) {
        return false;
    }
    let Some(last) = cx.len().checked_sub(1).and_then(|i| cx.argument_opt(i)) else { return false };
    match last.downcast::<JsBoolean, _>(cx) {
        Ok(flag) => flag.value(cx),
        Err(_) => false,
    }
}

/// Runs a write now or on the writer thread of `db`'s directory (see
/// `writers`); panics become `INTERNAL`.
pub(crate) fn settle_write<'a, T: IntoJs + Send + 'static>(
    cx: &mut FunctionContext<'a>,
    run_async: bool,
    db: Database,
    work: impl FnOnce(&Database) -> Result<T, Error> + Send + 'static,
) -> JsResult<'a, JsValue> {
    if !run_async {
        return settle(cx, false, move || work(&db));
    }
    on_writer_thread(cx, db, move |db| guarded(|| work(db)), |cx, _, result| match result {
        Ok(v) => v.into_js(cx),
        Err(e) => throw(cx, e),
    })
}

/// Runs `work` on the writer thread of `db`'s directory, then `finish` with
/// its result on the JS thread, settling the promise returned.
fn on_writer_thread<'a, R: Send + 'static>(
    cx: &mut FunctionContext<'a>,
    db: Database,
    work: impl FnOnce(&Database) -> R + Send + 'static,
    finish: impl for<'b> FnOnce(&mut TaskContext<'b>, &Database, R) -> JsResult<'b, JsValue> + Send + 'static,
) -> JsResult<'a, JsValue> {
    let channel = cx.channel();
    let (deferred, promise) = cx.promise();
    let path = db.path().to_path_buf();
    writers::submit(
        &path,
        Box::new(move || {
            let result = work(&db);
            // Fails only once the JS environment is gone (its worker was
            // terminated): nobody is left to settle for, and panicking here
            // would take the writer thread down with it.
            let _ = deferred.try_settle_with(&channel, move |mut cx| errors::contained(&mut cx, |cx| finish(cx, &db, result)));
        }),
    );
    Ok(promise.upcast())
}

/// Runs `work` now or on the libuv pool; panics become `INTERNAL`.
fn settle<'a, T: IntoJs>(
    cx: &mut FunctionContext<'a>,
    run_async: bool,
    work: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> JsResult<'a, JsValue> {
    if run_async {
        let promise = cx.task(move || guarded(work)).promise(|mut cx, result: Result<T, Error>| {
            errors::contained(&mut cx, |cx| match result {
                Ok(v) => v.into_js(cx),
                Err(e) => throw(cx, e),
            })
        });
        Ok(promise.upcast())
    } else {
        match guarded(work) {
            Ok(v) => v.into_js(cx),
            Err(e) => throw(cx, e),
        }
    }
}

fn open(mut cx: FunctionContext) -> JsResult<JsBox<Handle>> {
    let path = string(&mut cx, 0, "path")?;
    let options: OpenOptions = json(&mut cx, 1, "options")?;
    match guarded(|| Database::open(Path::new(&path), options)) {
        Ok(db) => Ok(cx.boxed(Handle { db: RwLock::new(Some(db)) })),
        Err(e) => throw(&mut cx, e),
    }
}

fn close(mut cx: FunctionContext) -> JsResult<JsUndefined> {
    let handle = cx.argument::<JsBox<Handle>>(0)?;
    let db = handle.db.write().take();
    if let Some(db) = db {
        db.close();
    }
    Ok(cx.undefined())
}

/// Begins a transaction; `durabilityJson` is `"immediate"`, `"relaxed"` or
/// `null` (the handle's). With `async`, the writer lock is awaited on the
/// directory's writer thread and the transaction then begins on the JS thread.
fn tx_begin(mut cx: FunctionContext) -> JsResult<JsValue> {
    let db = database(&mut cx)?;
    let durability: Option<Durability> = json(&mut cx, 1, "durability")?;
    if is_async(&mut cx) {
        return on_writer_thread(&mut cx, db, |db| guarded(|| db.lock_writer()), move |cx, db, writer| begin_with(cx, db, writer, durability));
    }
    let writer = guarded(|| db.lock_writer());
    begin_with(&mut cx, &db, writer, durability)
}

fn begin_with<'a>(cx: &mut impl Context<'a>, db: &Database, writer: Result<WriterGuard, Error>, durability: Option<Durability>) -> JsResult<'a, JsValue> {
    let begun = writer.and_then(|w| {
        guarded(|| match durability {
            Some(d) => db.begin_with(w, d),
            None => db.begin(w),
        })
    });
    match begun {
        Ok((tx, db)) => Ok(cx.boxed(TxHandle { open: RwLock::new(Some((tx, db))) }).upcast()),
        Err(e) => throw(cx, e),
    }
}

fn transaction(cx: &mut FunctionContext) -> NeonResult<Arc<Transaction>> {
    let tx = cx.argument::<JsBox<TxHandle>>(0)?.open.read().as_ref().map(|(tx, _)| Arc::clone(tx));
    match tx {
        Some(tx) => Ok(tx),
        None => throw(cx, ended()),
    }
}

/// Commits or rolls back (`commit`), then lets go of the transaction and its
/// database view, whatever the outcome: either way it has ended.
fn tx_end(mut cx: FunctionContext, commit: bool) -> JsResult<JsValue> {
    let handle = cx.argument::<JsBox<TxHandle>>(0)?;
    let tx = transaction(&mut cx)?;
    let result = settle(&mut cx, false, move || if commit { tx.commit() } else { tx.rollback() });
    handle.open.write().take();
    result
}

fn tx_commit(cx: FunctionContext) -> JsResult<JsValue> {
    tx_end(cx, true)
}

fn tx_rollback(cx: FunctionContext) -> JsResult<JsValue> {
    tx_end(cx, false)
}

fn tx_savepoint(mut cx: FunctionContext) -> JsResult<JsValue> {
    let tx = transaction(&mut cx)?;
    settle(&mut cx, false, move || tx.savepoint())
}

/// `keep`: true keeps the savepoint's writes, false undoes them.
fn tx_end_savepoint(mut cx: FunctionContext) -> JsResult<JsValue> {
    let tx = transaction(&mut cx)?;
    let keep = cx.argument::<JsBoolean>(1)?.value(&mut cx);
    settle(&mut cx, false, move || tx.end_savepoint(keep))
}

fn ensure_space(mut cx: FunctionContext) -> JsResult<JsValue> {
    let db = database(&mut cx)?;
    let name = string(&mut cx, 1, "space")?;
    let spec: SpaceSpec = json(&mut cx, 2, "space spec")?;
    settle(&mut cx, false, move || db.ensure_space(&name, &spec))
}

fn drop_space(mut cx: FunctionContext) -> JsResult<JsValue> {
    let db = database(&mut cx)?;
    let name = string(&mut cx, 1, "space")?;
    settle(&mut cx, false, move || db.drop_space(&name))
}

/// `afterJson`: a position from an earlier page, or `null`; returns what `listNodes` does.
fn missing_embeddings(mut cx: FunctionContext) -> JsResult<JsValue> {
    let db = database(&mut cx)?;
    let from = string(&mut cx, 1, "from")?;
    let to = string(&mut cx, 2, "to")?;
    let after: Option<Position> = json(&mut cx, 3, "after")?;
    let limit = count(&mut cx, 4, "limit")? as usize;
    let run_async = is_async(&mut cx);
    settle(&mut cx, run_async, move || db.missing_embeddings(&from, &to, after.as_ref(), limit))
}

fn replace_space(mut cx: FunctionContext) -> JsResult<JsValue> {
    let db = database(&mut cx)?;
    let name = string(&mut cx, 1, "space")?;
    let by = string(&mut cx, 2, "by")?;
    let spec: SpaceSpec = json(&mut cx, 3, "space spec")?;
    let run_async = is_async(&mut cx);
    settle_write(&mut cx, run_async, db, move |db| db.replace_space(&name, &by, &spec))
}

fn drop_text_index(mut cx: FunctionContext) -> JsResult<JsValue> {
    let db = database(&mut cx)?;
    let name = string(&mut cx, 1, "name")?;
    settle(&mut cx, false, move || db.drop_text_index(&name))
}

/// `filterJson`: a node filter; returns `[{ id, score }]` as JSON.
fn search_text(mut cx: FunctionContext) -> JsResult<JsValue> {
    let db = database(&mut cx)?;
    let index = string(&mut cx, 1, "index")?;
    let query = string(&mut cx, 2, "query")?;
    let k = count(&mut cx, 3, "k")? as usize;
    let filter: NodeFilter = json(&mut cx, 4, "filter")?;
    let run_async = is_async(&mut cx);
    settle(&mut cx, run_async, move || db.search_text(&index, &query, k, &filter).map(|hits| to_json(&hits)))
}

fn create_index(mut cx: FunctionContext) -> JsResult<JsValue> {
    let db = database(&mut cx)?;
    let node_type = string(&mut cx, 1, "type")?;
    let property = string(&mut cx, 2, "property")?;
    let run_async = is_async(&mut cx);
    settle_write(&mut cx, run_async, db, move |db| db.create_index(&node_type, &property))
}

fn drop_index(mut cx: FunctionContext) -> JsResult<JsValue> {
    let db = database(&mut cx)?;
    let node_type = string(&mut cx, 1, "type")?;
    let property = string(&mut cx, 2, "property")?;
    let run_async = is_async(&mut cx);
    settle_write(&mut cx, run_async, db, move |db| db.drop_index(&node_type, &property))
}

fn insert_node(mut cx: FunctionContext) -> JsResult<JsValue> {
    let db = database(&mut cx)?;
    let node = NewNode { id: string(&mut cx, 1, "id")?, node_type: string(&mut cx, 2, "type")?, properties: string(&mut cx, 3, "properties")? };
    let run_async = is_async(&mut cx);
    settle_write(&mut cx, run_async, db, move |db| db.insert_node(&node, loomdb_engine::now_ms()))
}

#[derive(Deserialize)]
struct BatchNode {
    id: String,
    #[serde(rename = "type")]
    node_type: String,
    properties: Box<RawValue>,
}

fn insert_nodes(mut cx: FunctionContext) -> JsResult<JsValue> {
    let db = database(&mut cx)?;
    let items: Vec<BatchNode> = json(&mut cx, 1, "nodes")?;
    let nodes: Vec<NewNode> = items.into_iter().map(BatchNode::into_node).collect();
    let run_async = is_async(&mut cx);
    settle_write(&mut cx, run_async, db, move |db| db.insert_nodes(&nodes, loomdb_engine::now_ms()))
}

fn get_node(mut cx: FunctionContext) -> JsResult<JsValue> {
    let db = database(&mut cx)?;
    let id = string(&mut cx, 1, "id")?;
    let run_async = is_async(&mut cx);
    settle(&mut cx, run_async, move || db.get_node(&id))
}

fn update_node(mut cx: FunctionContext) -> JsResult<JsValue> {
    let db = database(&mut cx)?;
    let id = string(&mut cx, 1, "id")?;
    let patch = string(&mut cx, 2, "properties")?;
    let run_async = is_async(&mut cx);
    settle_write(&mut cx, run_async, db, move |db| db.update_node(&id, &patch, loomdb_engine::now_ms()))
}

fn delete_node(mut cx: FunctionContext) -> JsResult<JsValue> {
    let db = database(&mut cx)?;
    let id = string(&mut cx, 1, "id")?;
    let run_async = is_async(&mut cx);
    settle_write(&mut cx, run_async, db, move |db| db.delete_node(&id))
}

fn insert_edge(mut cx: FunctionContext) -> JsResult<JsValue> {
    let db = database(&mut cx)?;
    let edge = NewEdge {
        id: string(&mut cx, 1, "id")?,
        edge_type: string(&mut cx, 2, "type")?,
        from: string(&mut cx, 3, "from")?,
        to: string(&mut cx, 4, "to")?,
        properties: string(&mut cx, 5, "properties")?,
        weight: number(&mut cx, 6, "weight")?,
    };
    let run_async = is_async(&mut cx);
    settle_write(&mut cx, run_async, db, move |db| db.insert_edge(&edge, loomdb_engine::now_ms()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchEdge {
    id: String,
    #[serde(rename = "type")]
    edge_type: String,
    from: String,
    to: String,
    properties: Box<RawValue>,
    weight: f64,
}

/// Argument `i`: a JSON array of `{ id, type, from, to, properties, weight }`.
fn edge_batch(cx: &mut FunctionContext, i: usize) -> NeonResult<Vec<NewEdge>> {
    let items: Vec<BatchEdge> = json(cx, i, "edges")?;
    Ok(items.into_iter().map(BatchEdge::into_edge).collect())
}

fn insert_edges(mut cx: FunctionContext) -> JsResult<JsValue> {
    let db = database(&mut cx)?;
    let edges = edge_batch(&mut cx, 1)?;
    let run_async = is_async(&mut cx);
    settle_write(&mut cx, run_async, db, move |db| db.insert_edges(&edges, loomdb_engine::now_ms()))
}

/// `edgesJson` as for `insertEdges`; weights are added to existing edges.
fn add_edge_weights(mut cx: FunctionContext) -> JsResult<JsValue> {
    let db = database(&mut cx)?;
    let edges = edge_batch(&mut cx, 1)?;
    let run_async = is_async(&mut cx);
    settle_write(&mut cx, run_async, db, move |db| db.add_edge_weights(&edges, loomdb_engine::now_ms()))
}

/// Cuts `flat` into consecutive vectors of `lengths`, which must add up to its length.
fn split_vectors(flat: &[f32], lengths: &[usize]) -> Result<Vec<Vec<f32>>, Error> {
    if lengths.iter().sum::<usize>() != flat.len() {
        return Err(Error::invalid("embedding lengths disagree with the vectors"));
    }
    let mut offset = 0;
    Ok(lengths
        .iter()
        .map(|&len| {
            offset += len;
            flat[offset - len..offset].to_vec()
        })
        .collect())
}

/// `nodeIds`: JSON array; `spaces`: JSON array; `vectors`: one Float32Array, concatenated.
fn insert_embeddings(mut cx: FunctionContext) -> JsResult<JsValue> {
    let db = database(&mut cx)?;
    let nodes: Vec<String> = json(&mut cx, 1, "nodeIds")?;
    let spaces: Vec<String> = json(&mut cx, 2, "spaces")?;
    let flat = vector(&mut cx, 3)?;
    let lengths: Vec<usize> = json(&mut cx, 4, "lengths")?;
    if nodes.len() != spaces.len() || nodes.len() != lengths.len() {
        return throw(&mut cx, Error::invalid("embedding batch parts disagree in length"));
    }
    let vectors = match split_vectors(&flat, &lengths) {
        Ok(v) => v,
        Err(e) => return throw(&mut cx, e),
    };
    let items: Vec<(String, String, Vec<f32>)> = nodes.into_iter().zip(spaces).zip(vectors).map(|((n, s), v)| (n, s, v)).collect();
    let run_async = is_async(&mut cx);
    settle_write(&mut cx, run_async, db, move |db| db.insert_embeddings(&items))
}

/// A write batch as JSON (see `writeBatch` in `index.d.ts`); its vectors come beside it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct BatchJson {
    #[serde(default)]
    if_change_sequence: Option<u64>,
    #[serde(default)]
    if_after: Option<String>,
    #[serde(default)]
    tag: Option<String>,
    #[serde(default)]
    delete_edges: Vec<EdgeSelector>,
    #[serde(default)]
    insert_nodes: Vec<BatchNode>,
    #[serde(default)]
    update_nodes: Vec<BatchPatch>,
    #[serde(default)]
    insert_edges: Vec<BatchEdge>,
    #[serde(default)]
    add_edge_weights: Vec<BatchEdge>,
    #[serde(default)]
    insert_embeddings: Vec<BatchEmbedding>,
    #[serde(default)]
    queue: Option<BatchQueue>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchPatch {
    id: String,
    properties: Box<RawValue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct BatchEmbedding {
    node_id: String,
    space: String,
    /// How many floats of the vectors argument are this item's, in order.
    length: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchQueue {
    name: String,
    #[serde(default)]
    push: Vec<QueueItem>,
    #[serde(default)]
    ack: Option<BatchAck>,
    #[serde(default)]
    lease: Option<BatchLease>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchAck {
    holder: String,
    seqs: Vec<u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct BatchLease {
    holder: String,
    max: usize,
    lease_ms: u64,
}

impl BatchNode {
    fn into_node(self) -> NewNode {
        NewNode { id: self.id, node_type: self.node_type, properties: self.properties.get().to_owned() }
    }
}

impl BatchEdge {
    fn into_edge(self) -> NewEdge {
        NewEdge { id: self.id, edge_type: self.edge_type, from: self.from, to: self.to, properties: self.properties.get().to_owned(), weight: self.weight }
    }
}

/// `writeBatch(handle, batchJson, vectors, durability, async)`: returns
/// `{ pushed, leased, changeSequence }` as JSON.
fn write_batch(mut cx: FunctionContext) -> JsResult<JsValue> {
    let db = database(&mut cx)?;
    let b: BatchJson = json(&mut cx, 1, "batch")?;
    let flat = vector(&mut cx, 2)?;
    let durability: Option<Durability> = json(&mut cx, 3, "durability")?;
    let lengths: Vec<usize> = b.insert_embeddings.iter().map(|e| e.length).collect();
    let vectors = match split_vectors(&flat, &lengths) {
        Ok(v) => v,
        Err(e) => return throw(&mut cx, e),
    };
    let batch = WriteBatch {
        if_change_sequence: b.if_change_sequence,
        if_after: b.if_after,
        tag: b.tag,
        delete_edges: b.delete_edges,
        insert_nodes: b.insert_nodes.into_iter().map(BatchNode::into_node).collect(),
        update_nodes: b.update_nodes.into_iter().map(|p| (p.id, p.properties.get().to_owned())).collect(),
        insert_edges: b.insert_edges.into_iter().map(BatchEdge::into_edge).collect(),
        add_edge_weights: b.add_edge_weights.into_iter().map(BatchEdge::into_edge).collect(),
        insert_embeddings: b.insert_embeddings.into_iter().zip(vectors).map(|(e, v)| (e.node_id, e.space, v)).collect(),
        queue: b.queue.map(|q| QueueSteps {
            name: q.name,
            push: q.push,
            ack: q.ack.map(|a| (a.holder, a.seqs)),
            lease: q.lease.map(|l| QueueLease { holder: l.holder, max: l.max, lease_ms: l.lease_ms }),
        }),
    };
    let run_async = is_async(&mut cx);
    settle_write(&mut cx, run_async, db, move |db| db.write_batch(&batch, durability, loomdb_engine::now_ms()).map(|o| to_json(&o)))
}

fn change_sequence(mut cx: FunctionContext) -> JsResult<JsValue> {
    let db = database(&mut cx)?;
    let run_async = is_async(&mut cx);
    settle(&mut cx, run_async, move || db.change_sequence())
}

fn delete_nodes(mut cx: FunctionContext) -> JsResult<JsValue> {
    let db = database(&mut cx)?;
    let filter: NodeFilter = json(&mut cx, 1, "selector")?;
    let run_async = is_async(&mut cx);
    settle_write(&mut cx, run_async, db, move |db| db.delete_nodes(&filter))
}

fn delete_edges(mut cx: FunctionContext) -> JsResult<JsValue> {
    let db = database(&mut cx)?;
    let selector: EdgeSelector = json(&mut cx, 1, "selector")?;
    let run_async = is_async(&mut cx);
    settle_write(&mut cx, run_async, db, move |db| db.delete_edges(&selector))
}

fn neighbors(mut cx: FunctionContext) -> JsResult<JsValue> {
    let db = database(&mut cx)?;
    let id = string(&mut cx, 1, "id")?;
    let hop: Hop = json(&mut cx, 2, "hop")?;
    let limit: Option<usize> = json(&mut cx, 3, "limit")?;
    let run_async = is_async(&mut cx);
    settle(&mut cx, run_async, move || db.neighbors(&id, &hop, limit))
}

fn degree(mut cx: FunctionContext) -> JsResult<JsValue> {
    let db = database(&mut cx)?;
    let id = string(&mut cx, 1, "id")?;
    let hop: Hop = json(&mut cx, 2, "hop")?;
    let run_async = is_async(&mut cx);
    settle(&mut cx, run_async, move || db.degree(&id, &hop))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TraverseJson {
    max_depth: u32,
    node_types: Option<Vec<String>>,
    limit: Option<usize>,
}

fn traverse(mut cx: FunctionContext) -> JsResult<JsValue> {
    let db = database(&mut cx)?;
    let id = string(&mut cx, 1, "id")?;
    let hop: Hop = json(&mut cx, 2, "hop")?;
    let options: TraverseJson = json(&mut cx, 3, "options")?;
    let run_async = is_async(&mut cx);
    settle(&mut cx, run_async, move || db.traverse(&id, &hop, options.max_depth, options.node_types.as_deref(), options.limit))
}

fn shortest_path(mut cx: FunctionContext) -> JsResult<JsValue> {
    let db = database(&mut cx)?;
    let from = string(&mut cx, 1, "from")?;
    let to = string(&mut cx, 2, "to")?;
    let hop: Hop = json(&mut cx, 3, "hop")?;
    let max_depth = number(&mut cx, 4, "maxDepth")? as u32;
    let run_async = is_async(&mut cx);
    settle(&mut cx, run_async, move || db.shortest_path(&from, &to, &hop, max_depth))
}

fn list_nodes(mut cx: FunctionContext) -> JsResult<JsValue> {
    let db = database(&mut cx)?;
    let query: NodePageQuery = json(&mut cx, 1, "query")?;
    let run_async = is_async(&mut cx);
    settle(&mut cx, run_async, move || db.list_nodes(&query))
}

fn list_edges(mut cx: FunctionContext) -> JsResult<JsValue> {
    let db = database(&mut cx)?;
    let query: EdgePageQuery = json(&mut cx, 1, "query")?;
    let run_async = is_async(&mut cx);
    settle(&mut cx, run_async, move || db.list_edges(&query))
}

fn get_edge(mut cx: FunctionContext) -> JsResult<JsValue> {
    let db = database(&mut cx)?;
    let id = string(&mut cx, 1, "id")?;
    let run_async = is_async(&mut cx);
    settle(&mut cx, run_async, move || db.get_edge(&id))
}

/// `weightJson`: a number, or `null` to keep the weight.
fn update_edge(mut cx: FunctionContext) -> JsResult<JsValue> {
    let db = database(&mut cx)?;
    let id = string(&mut cx, 1, "id")?;
    let patch = string(&mut cx, 2, "properties")?;
    let weight: Option<f64> = json(&mut cx, 3, "weight")?;
    let run_async = is_async(&mut cx);
    settle_write(&mut cx, run_async, db, move |db| db.update_edge(&id, &patch, weight))
}

fn delete_edge(mut cx: FunctionContext) -> JsResult<JsValue> {
    let db = database(&mut cx)?;
    let id = string(&mut cx, 1, "id")?;
    let run_async = is_async(&mut cx);
    settle_write(&mut cx, run_async, db, move |db| db.delete_edge(&id))
}

fn insert_embedding(mut cx: FunctionContext) -> JsResult<JsValue> {
    let db = database(&mut cx)?;
    let node = string(&mut cx, 1, "nodeId")?;
    let space = string(&mut cx, 2, "space")?;
    let v = vector(&mut cx, 3)?;
    let run_async = is_async(&mut cx);
    settle_write(&mut cx, run_async, db, move |db| db.insert_embedding(&node, &space, &v))
}

fn get_embedding(mut cx: FunctionContext) -> JsResult<JsValue> {
    let db = database(&mut cx)?;
    let node = string(&mut cx, 1, "nodeId")?;
    let space = string(&mut cx, 2, "space")?;
    let run_async = is_async(&mut cx);
    settle(&mut cx, run_async, move || db.get_embedding(&node, &space))
}

/// `options`: JSON `{ k, ef?, exact?, filter?: { types?, ids?, where? } }`.
fn search(mut cx: FunctionContext) -> JsResult<JsValue> {
    let db = database(&mut cx)?;
    let space = string(&mut cx, 1, "space")?;
    let query = vector(&mut cx, 2)?;
    let request: SearchRequest = json(&mut cx, 3, "search options")?;
    let run_async = is_async(&mut cx);
    settle(&mut cx, run_async, move || db.search(&space, &query, &request))
}

fn execute_plan(mut cx: FunctionContext) -> JsResult<JsValue> {
    let db = database(&mut cx)?;
    let plan = string(&mut cx, 1, "plan")?;
    let beside = cx.argument::<JsValue>(2)?;
    let query = if beside.is_a::<JsNull, _>(&mut cx) { None } else { Some(vector(&mut cx, 2)?) };
    let run_async = is_async(&mut cx);
    settle(&mut cx, run_async, move || db.execute_plan(&plan, query))
}

fn stats(mut cx: FunctionContext) -> JsResult<JsValue> {
    let db = database(&mut cx)?;
    let run_async = is_async(&mut cx);
    settle(&mut cx, run_async, move || db.stats())
}

// ---- durable queues: results cross as JSON text ----

fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("queue results serialize")
}

fn count(cx: &mut FunctionContext, i: usize, name: &str) -> NeonResult<u64> {
    let n = number(cx, i, name)?;
    if n.fract() != 0.0 || !(0.0..=9_007_199_254_740_991.0).contains(&n) {
        return throw(cx, bad_argument(name, "a non-negative integer"));
    }
    Ok(n as u64)
}

/// `itemsJson`: `[{ id, payload }]`; returns `[stored]` as JSON.
fn queue_push(mut cx: FunctionContext) -> JsResult<JsValue> {
    let db = database(&mut cx)?;
    let queue = string(&mut cx, 1, "queue")?;
    let items: Vec<QueueItem> = json(&mut cx, 2, "items")?;
    let run_async = is_async(&mut cx);
    settle_write(&mut cx, run_async, db, move |db| db.queue_push(&queue, &items, loomdb_engine::now_ms()).map(|v| to_json(&v)))
}

/// Returns `[{ seq, id, payload, attempts, enqueuedAt }]` as JSON.
fn queue_lease(mut cx: FunctionContext) -> JsResult<JsValue> {
    let db = database(&mut cx)?;
    let queue = string(&mut cx, 1, "queue")?;
    let holder = string(&mut cx, 2, "holder")?;
    let max = count(&mut cx, 3, "max")? as usize;
    let lease_ms = count(&mut cx, 4, "leaseMs")?;
    let run_async = is_async(&mut cx);
    settle_write(&mut cx, run_async, db, move |db| db.queue_lease(&queue, &holder, max, lease_ms, loomdb_engine::now_ms()).map(|v| to_json(&v)))
}

fn queue_ack(mut cx: FunctionContext) -> JsResult<JsValue> {
    let db = database(&mut cx)?;
    let queue = string(&mut cx, 1, "queue")?;
    let holder = string(&mut cx, 2, "holder")?;
    let seqs: Vec<u64> = json(&mut cx, 3, "seqs")?;
    let run_async = is_async(&mut cx);
    settle_write(&mut cx, run_async, db, move |db| db.queue_ack(&queue, &holder, &seqs))
}

fn queue_release(mut cx: FunctionContext) -> JsResult<JsValue> {
    let db = database(&mut cx)?;
    let queue = string(&mut cx, 1, "queue")?;
    let holder = string(&mut cx, 2, "holder")?;
    let seqs: Vec<u64> = json(&mut cx, 3, "seqs")?;
    let delay_ms = count(&mut cx, 4, "delayMs")?;
    let run_async = is_async(&mut cx);
    settle_write(&mut cx, run_async, db, move |db| db.queue_release(&queue, &holder, &seqs, delay_ms, loomdb_engine::now_ms()))
}

fn queue_dead_letter(mut cx: FunctionContext) -> JsResult<JsValue> {
    let db = database(&mut cx)?;
    let queue = string(&mut cx, 1, "queue")?;
    let holder = string(&mut cx, 2, "holder")?;
    let seq = count(&mut cx, 3, "seq")?;
    let error = string(&mut cx, 4, "error")?;
    let run_async = is_async(&mut cx);
    settle_write(&mut cx, run_async, db, move |db| db.queue_dead_letter(&queue, &holder, seq, &error, loomdb_engine::now_ms()))
}

/// Returns `{ pending, done, dead }` as JSON.
fn queue_stats(mut cx: FunctionContext) -> JsResult<JsValue> {
    let db = database(&mut cx)?;
    let queue = string(&mut cx, 1, "queue")?;
    let run_async = is_async(&mut cx);
    settle(&mut cx, run_async, move || db.queue_stats(&queue).map(|v| to_json(&v)))
}

/// Returns `[{ seq, id, payload, attempts, error, failedAt }]` as JSON.
fn queue_dead_letters(mut cx: FunctionContext) -> JsResult<JsValue> {
    let db = database(&mut cx)?;
    let queue = string(&mut cx, 1, "queue")?;
    let limit = count(&mut cx, 2, "limit")? as usize;
    let run_async = is_async(&mut cx);
    settle(&mut cx, run_async, move || db.queue_dead_letters(&queue, limit).map(|v| to_json(&v)))
}

/// Test-only: panics inside engine work, to prove a panic becomes `INTERNAL`.
fn debug_panic(mut cx: FunctionContext) -> JsResult<JsValue> {
    let run_async = is_async(&mut cx);
    settle(&mut cx, run_async, || -> Result<(), Error> { panic!("debugPanic was called") })
}

/// Exports `f` behind [`errors::exported`], so no export panics into Neon.
fn export<V: Value>(cx: &mut ModuleContext, name: &str, f: fn(FunctionContext) -> JsResult<V>) -> NeonResult<()> {
    cx.export_function(name, errors::exported(f))
}

#[neon::main]
fn main(mut cx: ModuleContext) -> NeonResult<()> {
    // Panics are reported as INTERNAL errors; keep stderr quiet about them.
    std::panic::set_hook(Box::new(|_| {}));
    // A worker's `terminate()` would otherwise unload us under live
    // thread destructors (see `pin`).
    if let Err(why) = pin::pin() {
        return cx.throw_error(format!("LoomDB could not pin its native addon: {why}"));
    }
    export(&mut cx, "open", open)?;
    export(&mut cx, "close", close)?;
    export(&mut cx, "txBegin", tx_begin)?;
    export(&mut cx, "txCommit", tx_commit)?;
    export(&mut cx, "txRollback", tx_rollback)?;
    export(&mut cx, "txSavepoint", tx_savepoint)?;
    export(&mut cx, "txEndSavepoint", tx_end_savepoint)?;
    export(&mut cx, "ensureSpace", ensure_space)?;
    export(&mut cx, "dropSpace", drop_space)?;
    export(&mut cx, "missingEmbeddings", missing_embeddings)?;
    export(&mut cx, "replaceSpace", replace_space)?;
    export(&mut cx, "createTextIndex", ops::create_text_index)?;
    export(&mut cx, "dropTextIndex", drop_text_index)?;
    export(&mut cx, "searchText", search_text)?;
    export(&mut cx, "createIndex", create_index)?;
    export(&mut cx, "dropIndex", drop_index)?;
    export(&mut cx, "insertNode", insert_node)?;
    export(&mut cx, "insertNodes", insert_nodes)?;
    export(&mut cx, "getNode", get_node)?;
    export(&mut cx, "updateNode", update_node)?;
    export(&mut cx, "deleteNode", delete_node)?;
    export(&mut cx, "insertEdge", insert_edge)?;
    export(&mut cx, "insertEdges", insert_edges)?;
    export(&mut cx, "addEdgeWeights", add_edge_weights)?;
    export(&mut cx, "insertEmbeddings", insert_embeddings)?;
    export(&mut cx, "writeBatch", write_batch)?;
    export(&mut cx, "changeSequence", change_sequence)?;
    export(&mut cx, "deleteNodes", delete_nodes)?;
    export(&mut cx, "deleteEdges", delete_edges)?;
    export(&mut cx, "neighbors", neighbors)?;
    export(&mut cx, "degree", degree)?;
    export(&mut cx, "traverse", traverse)?;
    export(&mut cx, "shortestPath", shortest_path)?;
    export(&mut cx, "listNodes", list_nodes)?;
    export(&mut cx, "listEdges", list_edges)?;
    export(&mut cx, "getEdge", get_edge)?;
    export(&mut cx, "updateEdge", update_edge)?;
    export(&mut cx, "deleteEdge", delete_edge)?;
    export(&mut cx, "insertEmbedding", insert_embedding)?;
    export(&mut cx, "getEmbedding", get_embedding)?;
    export(&mut cx, "search", search)?;
    export(&mut cx, "stats", stats)?;
    export(&mut cx, "executePlan", execute_plan)?;
    export(&mut cx, "queuePush", queue_push)?;
    export(&mut cx, "queueLease", queue_lease)?;
    export(&mut cx, "queueAck", queue_ack)?;
    export(&mut cx, "queueRelease", queue_release)?;
    export(&mut cx, "queueDeadLetter", queue_dead_letter)?;
    export(&mut cx, "queueStats", queue_stats)?;
    export(&mut cx, "queueDeadLetters", queue_dead_letters)?;
    export(&mut cx, "debugPanic", debug_panic)?;
    export(&mut cx, "backup", ops::backup)?;
    export(&mut cx, "restore", ops::restore)?;
    export(&mut cx, "checkBackup", ops::check_backup)?;
    export(&mut cx, "compact", ops::compact)?;
    export(&mut cx, "verify", ops::verify)?;
    export(&mut cx, "catchUpIndexes", ops::catch_up_indexes)?;
    export(&mut cx, "metrics", ops::metrics)?;
    export(&mut cx, "usage", ops::usage)?;
    export(&mut cx, "cancelToken", ops::cancel_token)?;
    export(&mut cx, "cancel", ops::cancel)?;
    export(&mut cx, "load", ops::load)?;
    Ok(())
}

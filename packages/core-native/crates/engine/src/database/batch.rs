//! `write_batch`: writes of several kinds and durable-queue steps in one
//! commit, optionally only if the graph is unchanged since the caller read it.
//!
//! Why: a writer may plan its writes from reads made outside the write lock
//! (the weaver plans one batch while the previous one commits on another
//! thread). Every node, edge and embedding write takes a change-log
//! sequence number, so "the committed sequence is still the one I read"
//! means "nothing I read has changed". Queue steps take none, so producers
//! pushing to a queue do not disturb it. A writer that plans a batch on top
//! of one not yet committed cannot know the sequence that one will leave,
//! so a batch may carry a tag, and the next may ask to be written only if
//! the last change to the graph is that tagged batch.
//!
//! Invariants:
//! - The parts apply in one order: edge deletions, node inserts, node
//!   updates, edge inserts, counter additions, embeddings, then the queue's
//!   push, ack and lease. All of them or none: a refused or failing batch
//!   writes nothing.
//! - Meta `last_batch` holds the change sequence a tagged batch left and its
//!   tag; `if_after` holds when that sequence is still the committed one.
//! - Outside a transaction the batch is a transaction of its own, begun and
//!   ended on the calling thread (any thread: the binding runs it on the
//!   libuv pool); inside one it is a savepoint of it.

use crate::storage::codec::{Reader, Writer};
use crate::error::{in_batch, within};
use crate::storage::edges::{EdgeSelector, NewEdge};
use crate::storage::handle::{Database, Durability};
use crate::storage::meta::{get_meta, put_meta};
use crate::storage::nodes::NewNode;
use crate::error::{Code, Error, Result};
use crate::storage::queue::{LeasedItem, QueueItem};
use crate::storage::writing::committed_change_seq;
use serde::Serialize;
use std::collections::HashSet;

const META_LAST_BATCH: &[u8] = b"last_batch";

/// What one [`Database::write_batch`] call writes.
#[derive(Debug, Clone, Default)]
pub struct WriteBatch {
    /// Refuse with `CONFLICT` unless the committed change sequence is this.
    pub if_change_sequence: Option<u64>,
    /// Refuse with `CONFLICT` unless the last change to the graph is the batch tagged this.
    pub if_after: Option<String>,
    /// Recorded with the change sequence this batch leaves, for a later `if_after`.
    pub tag: Option<String>,
    pub delete_edges: Vec<EdgeSelector>,
    pub insert_nodes: Vec<NewNode>,
    /// `(id, patch)`: a JSON object shallow-merged into the properties, as `update_node` takes it.
    pub update_nodes: Vec<(String, String)>,
    pub insert_edges: Vec<NewEdge>,
    pub add_edge_weights: Vec<NewEdge>,
    /// `(node id, space, vector)`.
    pub insert_embeddings: Vec<(String, String, Vec<f32>)>,
    pub queue: Option<QueueSteps>,
}

/// Steps on one durable queue, after the graph writes.
#[derive(Debug, Clone, Default)]
pub struct QueueSteps {
    pub name: String,
    pub push: Vec<QueueItem>,
    /// `(holder, seqs)` to acknowledge.
    pub ack: Option<(String, Vec<u64>)>,
    pub lease: Option<QueueLease>,
}

#[derive(Debug, Clone)]
pub struct QueueLease {
    pub holder: String,
    pub max: usize,
    pub lease_ms: u64,
}

/// What a committed batch reports.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BatchOutcome {
    /// Per pushed item: whether it was stored (`false`: a duplicate id).
    pub pushed: Vec<bool>,
    pub leased: Vec<LeasedItem>,
    /// The committed change sequence after the batch.
    #[serde(rename = "changeSequence")]
    pub change_sequence: u64,
}

/// Runs of a batch that outgrows the map: each grows it (doubling) as its transaction ends.
const MAP_ATTEMPTS: u32 = 3;

impl Database {
    /// The change-log sequence of the last committed node, edge or
    /// embedding write (inside a transaction: including its own writes).
    pub fn change_sequence(&self) -> Result<u64> {
        self.read(committed_change_seq)
    }

    /// Applies `batch` in one commit with `durability` (default: the
    /// handle's), or inside the open transaction as one savepoint.
    pub fn write_batch(&self, batch: &WriteBatch, durability: Option<Durability>, now: i64) -> Result<BatchOutcome> {
        if let Some(tx) = self.open_transaction() {
            tx.savepoint()?;
            let outcome = self.apply_batch(batch, now);
            tx.end_savepoint(outcome.is_ok())?;
            return outcome;
        }
        // A batch that outgrew the map is undone, and the map doubles as the
        // transaction ends: run it again in the larger map.
        let mut attempt = 1;
        loop {
            let writer = self.lock_writer()?;
            let (tx, in_tx) = self.begin_with(writer, durability.unwrap_or(self.durability()))?;
            let result = in_tx.apply_batch(batch, now).and_then(|outcome| tx.commit().map(|()| outcome));
            if result.is_err() && tx.is_open() {
                tx.rollback()?;
            }
            if result.is_ok() {
                let spaces: HashSet<&str> = batch.insert_embeddings.iter().map(|(_, space, _)| space.as_str()).collect();
                self.follow_spaces(&spaces, false)?;
            }
            match result {
                Err(_) if tx.grew_map() && attempt < MAP_ATTEMPTS => attempt += 1,
                Err(e) if tx.grew_map() => {
                    return Err(Error::new(Code::Io, format!("the batch did not fit in the database map after it grew {attempt} times ({}); write it in parts", e.message)))
                }
                other => return other,
            }
        }
    }

    fn apply_batch(&self, batch: &WriteBatch, now: i64) -> Result<BatchOutcome> {
        if let Some(expected) = batch.if_change_sequence {
            let found = self.change_sequence()?;
            if found > expected {
                return Err(Error::new(
                    Code::Conflict,
                    format!("the graph changed after change sequence {expected} (it is at {found}); nothing was written"),
                ));
            }
            if found < expected {
                return Err(Error::new(Code::Conflict, ahead_of_the_graph(expected, found)));
            }
        }
        if let Some(tag) = &batch.if_after {
            if self.last_batch()?.as_deref() != Some(tag.as_str()) {
                return Err(Error::new(Code::Conflict, format!("the last change to the graph is not batch \"{tag}\"; nothing was written")));
            }
        }
        for (i, selector) in batch.delete_edges.iter().enumerate() {
            self.delete_edges(selector).map_err(|e| in_batch("deleteEdges", i, e))?;
        }
        if !batch.insert_nodes.is_empty() {
            self.insert_nodes(&batch.insert_nodes, now).map_err(|e| within("insertNodes", e))?;
        }
        for (i, (id, patch)) in batch.update_nodes.iter().enumerate() {
            self.update_node(id, patch, now).map_err(|e| in_batch("updateNodes", i, e))?;
        }
        if !batch.insert_edges.is_empty() {
            self.insert_edges(&batch.insert_edges, now).map_err(|e| within("insertEdges", e))?;
        }
        if !batch.add_edge_weights.is_empty() {
            self.add_edge_weights(&batch.add_edge_weights, now).map_err(|e| within("addEdgeWeights", e))?;
        }
        if !batch.insert_embeddings.is_empty() {
            self.insert_embeddings(&batch.insert_embeddings).map_err(|e| within("insertEmbeddings", e))?;
        }
        let mut outcome = BatchOutcome { pushed: Vec::new(), leased: Vec::new(), change_sequence: 0 };
        if let Some(q) = &batch.queue {
            let queue = |e| within(&format!("queue \"{}\"", q.name), e);
            if !q.push.is_empty() {
                outcome.pushed = self.queue_push(&q.name, &q.push, now).map_err(queue)?;
            }
            if let Some((holder, seqs)) = &q.ack {
                self.queue_ack(&q.name, holder, seqs).map_err(queue)?;
            }
            if let Some(lease) = &q.lease {
                outcome.leased = self.queue_lease(&q.name, &lease.holder, lease.max, lease.lease_ms, now).map_err(queue)?;
            }
        }
        outcome.change_sequence = self.change_sequence()?;
        if let Some(tag) = &batch.tag {
            let mut w = Writer::default();
            w.u64(outcome.change_sequence).tail(tag.as_bytes());
            self.write(|txn, t| put_meta(txn, t, META_LAST_BATCH, &w.buf))?;
        }
        Ok(outcome)
    }

    /// The tag of the last tagged batch, if nothing changed the graph after it.
    fn last_batch(&self) -> Result<Option<String>> {
        self.read(|txn, t| {
            let Some(v) = get_meta(txn, t, META_LAST_BATCH)? else { return Ok(None) };
            let mut r = Reader::new(v);
            let seq = r.u64()?;
            let tag = String::from_utf8_lossy(r.tail()).into_owned();
            Ok((seq == committed_change_seq(txn, t)?).then_some(tag))
        })
    }
}

/// The graph never reached the sequence given: nothing changed since, the
/// number came from elsewhere (or the database went back to a backup).
fn ahead_of_the_graph(expected: u64, found: u64) -> String {
    format!(
        "change sequence {expected} is ahead of the graph, which is at {found}: it did not come from this database's changeSequence(), or the database was restored from an older backup since; nothing was written"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OpenOptions;

    fn node(id: &str) -> NewNode {
        NewNode { id: id.into(), node_type: "P".into(), properties: "{}".into() }
    }

    fn edge(id: &str, from: &str, to: &str) -> NewEdge {
        NewEdge { id: id.into(), edge_type: "KNOWS".into(), from: from.into(), to: to.into(), properties: "{}".into(), weight: 1.0 }
    }

    fn open(dir: &std::path::Path) -> Database {
        Database::open(dir, OpenOptions::default()).unwrap()
    }

    #[test]
    fn writes_every_part_and_the_queue_steps_in_one_commit() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(dir.path());
        db.ensure_space("default", &serde_json::from_str(r#"{"dimensions":2,"metric":"cosine","index":"flat"}"#).unwrap()).unwrap();
        db.queue_push("q", &[QueueItem { id: "e1".into(), payload: "x".into() }], 1).unwrap();
        let leased = db.queue_lease("q", "me", 1, 60_000, 1).unwrap();
        let batch = WriteBatch {
            insert_nodes: vec![node("a"), node("b")],
            update_nodes: vec![("a".into(), r#"{"name":"Ada"}"#.into())],
            insert_edges: vec![edge("ab", "a", "b")],
            add_edge_weights: vec![edge("c", "b", "a")],
            insert_embeddings: vec![("a".into(), "default".into(), vec![1.0, 0.0])],
            queue: Some(QueueSteps {
                name: "q".into(),
                push: vec![QueueItem { id: "e2".into(), payload: "y".into() }, QueueItem { id: "e1".into(), payload: "again".into() }],
                ack: Some(("me".into(), vec![leased[0].seq])),
                lease: Some(QueueLease { holder: "me".into(), max: 5, lease_ms: 60_000 }),
            }),
            ..WriteBatch::default()
        };
        let outcome = db.write_batch(&batch, None, 2).unwrap();
        assert_eq!(outcome.pushed, vec![true, false]);
        assert_eq!(outcome.leased.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(), vec!["e2"]);
        assert_eq!(outcome.change_sequence, db.change_sequence().unwrap());
        assert_eq!(db.get_node("a").unwrap().unwrap().properties, r#"{"name":"Ada"}"#);
        assert_eq!(db.get_edge("c").unwrap().unwrap().weight, 1.0);
        assert!(db.get_embedding("a", "default").unwrap().is_some());
        assert_eq!(db.queue_stats("q").unwrap().done, 1);
        let deleted = WriteBatch { delete_edges: vec![EdgeSelector { ids: Some(vec!["ab".into()]), ..EdgeSelector::default() }], ..WriteBatch::default() };
        db.write_batch(&deleted, None, 3).unwrap();
        assert!(db.get_edge("ab").unwrap().is_none());
    }

    #[test]
    fn refuses_when_the_graph_changed_since_the_sequence_given() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(dir.path());
        let seen = db.change_sequence().unwrap();
        // A queue push is not a graph change.
        db.queue_push("q", &[QueueItem { id: "e1".into(), payload: "x".into() }], 1).unwrap();
        assert_eq!(db.change_sequence().unwrap(), seen);
        db.insert_node(&node("x"), 1).unwrap();
        let batch = WriteBatch { if_change_sequence: Some(seen), insert_nodes: vec![node("a")], ..WriteBatch::default() };
        let err = db.write_batch(&batch, None, 2).unwrap_err();
        assert_eq!(err.code, Code::Conflict, "{err}");
        assert!(db.get_node("a").unwrap().is_none());
        let now = db.change_sequence().unwrap();
        let outcome = db.write_batch(&WriteBatch { if_change_sequence: Some(now), ..batch }, None, 2).unwrap();
        assert!(outcome.change_sequence > now);
        assert!(db.get_node("a").unwrap().is_some());
        assert!(err.message.contains(&format!("the graph changed after change sequence {seen}")), "{err}");
        // A sequence the graph never reached: nothing changed, the number is wrong.
        let ahead = outcome.change_sequence + 5;
        let err = db.write_batch(&WriteBatch { if_change_sequence: Some(ahead), insert_nodes: vec![node("b")], ..WriteBatch::default() }, None, 3).unwrap_err();
        assert_eq!(err.code, Code::Conflict);
        assert!(err.message.contains(&format!("change sequence {ahead} is ahead of the graph, which is at {}", outcome.change_sequence)), "{err}");
        assert!(!err.message.contains("changed"), "{err}");
        assert!(db.get_node("b").unwrap().is_none());
    }

    #[test]
    fn a_batch_may_ask_to_follow_a_tagged_one_directly() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(dir.path());
        let first = WriteBatch { tag: Some("w/1".into()), insert_nodes: vec![node("a")], ..WriteBatch::default() };
        db.write_batch(&first, None, 1).unwrap();
        // A queue push between them is no change to the graph.
        db.queue_push("q", &[QueueItem { id: "e1".into(), payload: "x".into() }], 1).unwrap();
        let second = WriteBatch { if_after: Some("w/1".into()), tag: Some("w/2".into()), insert_nodes: vec![node("b")], ..WriteBatch::default() };
        db.write_batch(&second, None, 2).unwrap();
        let again = WriteBatch { if_after: Some("w/1".into()), insert_nodes: vec![node("c")], ..WriteBatch::default() };
        assert_eq!(db.write_batch(&again, None, 3).unwrap_err().code, Code::Conflict, "w/2 came after w/1");
        db.insert_node(&node("x"), 3).unwrap();
        let third = WriteBatch { if_after: Some("w/2".into()), insert_nodes: vec![node("c")], ..WriteBatch::default() };
        assert_eq!(db.write_batch(&third, None, 3).unwrap_err().code, Code::Conflict, "a write that is no batch came after w/2");
        assert!(db.get_node("c").unwrap().is_none());
    }

    #[test]
    fn a_failing_part_writes_nothing_and_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(dir.path());
        db.queue_push("q", &[QueueItem { id: "e1".into(), payload: "x".into() }], 1).unwrap();
        let leased = db.queue_lease("q", "me", 1, 60_000, 1).unwrap();
        let batch = WriteBatch {
            insert_nodes: vec![node("a")],
            insert_edges: vec![edge("ab", "a", "missing")],
            queue: Some(QueueSteps { name: "q".into(), ack: Some(("me".into(), vec![leased[0].seq])), ..QueueSteps::default() }),
            ..WriteBatch::default()
        };
        let err = db.write_batch(&batch, None, 2).unwrap_err();
        assert_eq!(err.code, Code::NotFound, "{err}");
        assert!(err.message.starts_with("insertEdges: edges[0]"), "{err}");
        assert!(db.get_node("a").unwrap().is_none());
        assert_eq!(db.queue_stats("q").unwrap().pending, 1, "the ack was undone too");
    }

    #[test]
    fn a_batch_that_outgrows_the_map_runs_again_in_a_larger_one() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path(), OpenOptions { map_size: Some(1 << 20), ..OpenOptions::default() }).unwrap();
        let filler = "x".repeat(400);
        let nodes = (0..4000).map(|i| NewNode { id: format!("n{i}"), node_type: "P".into(), properties: format!(r#"{{"text":"{filler}"}}"#) }).collect();
        db.write_batch(&WriteBatch { insert_nodes: nodes, ..WriteBatch::default() }, None, 1).unwrap();
        assert_eq!(db.stats().unwrap().nodes, 4000);
        assert!(db.verify().unwrap().ok);
    }

    #[test]
    fn inside_a_transaction_it_is_a_savepoint() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(dir.path());
        let (tx, in_tx) = db.begin(db.lock_writer().unwrap()).unwrap();
        in_tx.insert_node(&node("a"), 1).unwrap();
        let bad = WriteBatch { insert_nodes: vec![node("b")], insert_edges: vec![edge("e", "b", "missing")], ..WriteBatch::default() };
        assert!(in_tx.write_batch(&bad, None, 2).is_err());
        let good = WriteBatch { insert_nodes: vec![node("c")], ..WriteBatch::default() };
        in_tx.write_batch(&good, None, 2).unwrap();
        tx.commit().unwrap();
        assert!(db.get_node("a").unwrap().is_some());
        assert!(db.get_node("b").unwrap().is_none(), "the failed batch left nothing");
        assert!(db.get_node("c").unwrap().is_some());
    }
}

//! Fault injection for tests: the Nth record write, commit, sync or map
//! growth of the calling thread fails with `IO`, as a full disk, an I/O
//! error or an exhausted address space would make LMDB fail there.
//!
//! The invariant the tests below hold the engine to: **a write call that
//! fails leaves the last committed state exactly as it was** — every table
//! byte for byte, readable through every read (searches included), passing
//! `verify`, and the next write works. The one failure after which the data
//! has moved on is a sync: LMDB has committed the transaction when its
//! fsync fails, so the call reports `IO` and the new commit, whole, is the
//! state (never a part of it).
//!
//! Only test builds have the hooks ([`check`] is an inlined `Ok(())`
//! otherwise, so release builds pay nothing). Counting is per thread, so
//! parallel tests do not trip each other's faults.

/// Where a fault can be injected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Point {
    /// A record put of a write call (held-back index puts, appends, meta counters, postings, queue entries).
    Write,
    /// The commit of a write transaction (a call's own, or a long transaction's).
    Commit,
    /// The forced sync after a commit in `immediate` durability.
    Sync,
    /// Doubling the map (a full map, or a long transaction starting with under half of it free).
    Grow,
}

/// The hook at `point`: `Ok` unless a test armed a fault there and this is its Nth arrival.
#[cfg(not(test))]
#[inline(always)]
pub(crate) fn check(_point: Point) -> crate::error::Result<()> {
    Ok(())
}

#[cfg(test)]
pub(crate) use armed::{arm, check, disarm, hits};

#[cfg(test)]
mod armed {
    use super::Point;
    use crate::error::{Code, Error, Result};
    use std::cell::Cell;

    const POINTS: [Point; 4] = [Point::Write, Point::Commit, Point::Sync, Point::Grow];

    thread_local! {
        /// Arrivals at each point since the last `arm`/`disarm`.
        static HITS: Cell<[u64; 4]> = const { Cell::new([0; 4]) };
        /// The armed fault: fail the Nth arrival at this point.
        static ARMED: Cell<Option<(Point, u64)>> = const { Cell::new(None) };
    }

    fn index(point: Point) -> usize {
        POINTS.iter().position(|p| *p == point).expect("every point is listed")
    }

    pub(crate) fn check(point: Point) -> Result<()> {
        let mut hits = HITS.get();
        hits[index(point)] += 1;
        HITS.set(hits);
        match ARMED.get() {
            Some((p, nth)) if p == point && hits[index(point)] == nth => {
                Err(Error::new(Code::Io, format!("injected fault: {point:?} #{nth} failed")))
            }
            _ => Ok(()),
        }
    }

    /// Fails the `nth` (from 1) arrival at `point` from now on; counting restarts.
    pub(crate) fn arm(point: Point, nth: u64) {
        HITS.set([0; 4]);
        ARMED.set(Some((point, nth)));
    }

    /// No fault; counting restarts.
    pub(crate) fn disarm() {
        HITS.set([0; 4]);
        ARMED.set(None);
    }

    /// Arrivals at `point` since the last `arm`/`disarm`.
    pub(crate) fn hits(point: Point) -> u64 {
        HITS.get()[index(point)]
    }
}

#[cfg(test)]
mod tests {
    //! Every write kind, failed at each of its record writes, commits, syncs
    //! and map growths in turn (sampled where there are hundreds), against
    //! the module invariant.
    use super::{arm, disarm, hits, Point};
    use crate::database::batch::{QueueLease, QueueSteps, WriteBatch};
    use crate::storage::queue::QueueItem;
    use crate::{Code, Database, EdgeSelector, NewEdge, NewNode, NodeFilter, OpenOptions, Result, SearchRequest};
    use std::path::Path;

    const NOW: i64 = 1_700_000_000_000;
    /// Setup and ops fit in this map except the ops meant to outgrow it.
    const TIGHT_MAP: usize = 1 << 20;

    fn node(id: &str, content: &str) -> NewNode {
        let properties = serde_json::json!({ "content": content, "conv": id.len() % 3 }).to_string();
        NewNode { id: id.into(), node_type: "Message".into(), properties }
    }

    fn edge(id: &str, from: &str, to: &str) -> NewEdge {
        NewEdge { id: id.into(), edge_type: "NEXT".into(), from: from.into(), to: to.into(), properties: "{}".into(), weight: 1.0 }
    }

    fn vector(i: usize) -> Vec<f32> {
        let x = i as f32;
        vec![1.0 + x, (x * 0.7).sin(), (x * 1.3).cos(), 0.5]
    }

    /// `n` nodes of about 4 KB each (the padding is not text-indexed).
    fn big(n: usize) -> Vec<NewNode> {
        let pad = "p".repeat(4000);
        (0..n).map(|i| NewNode { id: format!("g{i}"), node_type: "Message".into(), properties: serde_json::json!({ "content": format!("grow {i}"), "pad": pad }).to_string() }).collect()
    }

    fn item(id: &str) -> QueueItem {
        QueueItem { id: id.into(), payload: format!("payload of {id}") }
    }

    fn options(tight: bool) -> OpenOptions {
        OpenOptions { map_size: tight.then_some(TIGHT_MAP), ..OpenOptions::default() }
    }

    /// The committed state every case starts from: nodes with text and a
    /// property index, edges, a counter edge, vectors in an HNSW and a flat
    /// space, a queue with leased and pending items.
    fn setup(db: &Database) {
        db.ensure_space("v", &serde_json::from_str(r#"{"dimensions":4,"metric":"cosine"}"#).unwrap()).unwrap();
        db.ensure_space("f", &serde_json::from_str(r#"{"dimensions":4,"metric":"l2","index":"flat"}"#).unwrap()).unwrap();
        let spec = serde_json::from_str(r#"{ "types": ["Message"], "fields": ["content"] }"#).unwrap();
        db.create_text_index("t", &spec, &mut |_, _| true).unwrap();
        db.create_index("Message", "conv").unwrap();
        let words = ["hello world", "the quick fox", "hello again fox", "lazy dog sleeps", "world of memory"];
        let nodes: Vec<NewNode> = (0..20).map(|i| node(&format!("m{i}"), words[i % words.len()])).collect();
        let edges: Vec<NewEdge> = (0..19).map(|i| edge(&format!("e{i}"), &format!("m{i}"), &format!("m{}", i + 1))).collect();
        let batch = WriteBatch {
            insert_nodes: nodes,
            insert_edges: edges,
            add_edge_weights: vec![NewEdge { id: "w0".into(), weight: 2.0, ..edge("w0", "m0", "m5") }],
            insert_embeddings: (0..12).flat_map(|i| [(format!("m{i}"), "v".to_owned(), vector(i)), (format!("m{i}"), "f".to_owned(), vector(i))]).collect(),
            queue: Some(QueueSteps {
                name: "inbox".into(),
                push: (0..6).map(|i| item(&format!("q{i}"))).collect(),
                lease: Some(QueueLease { holder: "worker".into(), max: 2, lease_ms: 60_000 }),
                ack: None,
            }),
            ..WriteBatch::default()
        };
        db.write_batch(&batch, None, NOW).unwrap();
    }

    type Op = fn(&Database) -> Result<()>;

    /// The write kinds: `(name, needs a tight map, op)`.
    fn ops() -> Vec<(&'static str, bool, Op)> {
        vec![
            ("insert_node", false, |db| db.insert_node(&node("n1", "hello new world"), NOW + 1).map(drop)),
            ("insert_nodes", false, |db| db.insert_nodes(&(0..8).map(|i| node(&format!("n{i}"), "fresh fox words")).collect::<Vec<_>>(), NOW + 1).map(drop)),
            ("update_node", false, |db| db.update_node("m1", r#"{"content":"rewritten memory text","conv":7}"#, NOW + 1).map(drop)),
            ("delete_node", false, |db| db.delete_node("m3").map(drop)),
            ("delete_nodes", false, |db| db.delete_nodes(&NodeFilter { ids: Some(vec!["m0".into(), "m7".into(), "m15".into()]), ..NodeFilter::default() }).map(drop)),
            ("insert_edge", false, |db| db.insert_edge(&edge("x1", "m2", "m9"), NOW + 1).map(drop)),
            ("insert_edges", false, |db| db.insert_edges(&(0..5).map(|i| edge(&format!("x{i}"), &format!("m{i}"), "m19")).collect::<Vec<_>>(), NOW + 1).map(drop)),
            ("update_edge", false, |db| db.update_edge("e4", r#"{"why":"because"}"#, Some(3.5)).map(drop)),
            ("add_edge_weights", false, |db| db.add_edge_weights(&[NewEdge { weight: 1.5, ..edge("w0", "m0", "m5") }, NewEdge { weight: 1.0, ..edge("w1", "m1", "m6") }], NOW + 1)),
            ("delete_edge", false, |db| db.delete_edge("e8").map(drop)),
            ("delete_edges", false, |db| db.delete_edges(&EdgeSelector { edge_type: Some("NEXT".into()), from: Some("m2".into()), ..EdgeSelector::default() }).map(drop)),
            ("insert_embedding", false, |db| db.insert_embedding("m15", "v", &vector(40))),
            ("insert_embeddings", false, |db| db.insert_embeddings(&[("m1".into(), "v".into(), vector(41)), ("m16".into(), "v".into(), vector(42)), ("m17".into(), "f".into(), vector(43))])),
            ("queue_push", false, |db| db.queue_push("inbox", &[item("q9"), item("q1"), item("q10")], NOW + 1).map(drop)),
            ("queue_lease", false, |db| db.queue_lease("inbox", "other", 2, 30_000, NOW + 1).map(drop)),
            ("queue_ack", false, |db| db.queue_ack("inbox", "worker", &[1, 2])),
            ("queue_release", false, |db| db.queue_release("inbox", "worker", &[1], 10, NOW + 1)),
            ("queue_dead_letter", false, |db| db.queue_dead_letter("inbox", "worker", 2, "it failed", NOW + 1)),
            ("create_text_index", false, |db| {
                let spec = serde_json::from_str(r#"{ "types": ["Message"], "fields": ["content"], "language": "none" }"#).unwrap();
                db.create_text_index("plain", &spec, &mut |_, _| true).map(drop)
            }),
            ("drop_text_index", false, |db| db.drop_text_index("t").map(drop)),
            ("create_index", false, |db| db.create_index("Message", "content").map(drop)),
            ("write_batch", false, |db| {
                let batch = WriteBatch {
                    tag: Some("b1".into()),
                    delete_edges: vec![EdgeSelector { ids: Some(vec!["e1".into()]), ..EdgeSelector::default() }],
                    insert_nodes: vec![node("b1", "batched hello"), node("b2", "batched fox")],
                    update_nodes: vec![("m4".into(), r#"{"content":"updated in a batch"}"#.into())],
                    insert_edges: vec![edge("bx", "b1", "b2")],
                    add_edge_weights: vec![NewEdge { weight: 4.0, ..edge("w0", "m0", "m5") }],
                    insert_embeddings: vec![("b1".into(), "v".into(), vector(50)), ("m2".into(), "f".into(), vector(51))],
                    queue: Some(QueueSteps {
                        name: "inbox".into(),
                        push: vec![item("q20")],
                        ack: Some(("worker".into(), vec![1])),
                        lease: Some(QueueLease { holder: "worker".into(), max: 1, lease_ms: 60_000 }),
                    }),
                    ..WriteBatch::default()
                };
                db.write_batch(&batch, None, NOW + 1).map(drop)
            }),
            ("transaction", false, |db| {
                let (tx, in_tx) = db.begin(db.lock_writer()?)?;
                in_tx.insert_node(&node("t1", "in a transaction"), NOW + 1)?;
                tx.savepoint()?;
                in_tx.insert_edge(&edge("tx", "t1", "m0"), NOW + 1)?;
                in_tx.insert_embedding("t1", "v", &vector(60))?;
                tx.end_savepoint(true)?;
                tx.savepoint()?;
                in_tx.delete_node("m9")?;
                tx.end_savepoint(false)?;
                in_tx.queue_push("inbox", &[item("q30")], NOW + 1)?;
                tx.commit()
            }),
            ("load", false, |db| {
                use crate::{LoadEdge, LoadNode, LoadRecord};
                db.load(&[
                    LoadRecord::Node(LoadNode { node: node("l1", "loaded hello"), created_at: NOW - 5, updated_at: NOW - 4 }),
                    LoadRecord::Node(LoadNode { node: node("l2", "loaded fox"), created_at: NOW - 3, updated_at: NOW - 3 }),
                    LoadRecord::Edge(LoadEdge { edge: edge("lx", "l1", "l2"), created_at: NOW - 2 }),
                ])
            }),
            ("insert_nodes outgrowing the map", true, |db| {
                db.insert_nodes(&big(300), NOW + 1).map(drop)
            }),
            ("write_batch outgrowing the map", true, |db| {
                let batch = WriteBatch {
                    insert_nodes: big(300),
                    insert_embeddings: (0..50).map(|i| (format!("g{i}"), "v".to_owned(), vector(i))).collect(),
                    ..WriteBatch::default()
                };
                db.write_batch(&batch, None, NOW + 1).map(drop)
            }),
            ("transaction outgrowing the map in a call it survives", true, |db| {
                let (tx, in_tx) = db.begin(db.lock_writer()?)?;
                in_tx.insert_node(&node("s1", "small first"), NOW + 1)?;
                // Too big for the map while the transaction holds it: undone, the transaction goes on.
                match in_tx.insert_nodes(&big(1200), NOW + 1) {
                    Err(e) if e.message.contains("does not fit in the database map") => {}
                    Err(e) => return Err(e),
                    Ok(_) => panic!("a call past the map end must fail"),
                }
                in_tx.insert_node(&node("s2", "small second"), NOW + 1)?;
                tx.commit()
            }),
        ]
    }

    /// Every table's every record, in key order: "the data" byte for byte.
    fn dump(db: &Database) -> Vec<(&'static str, Vec<u8>, Vec<u8>)> {
        db.store()
            .read(|txn, t| {
                let mut all = Vec::new();
                for (name, table) in t.named() {
                    for entry in table.iter(txn)? {
                        let (k, v) = entry?;
                        all.push((name, k.to_vec(), v.to_vec()));
                    }
                }
                Ok(all)
            })
            .unwrap()
    }

    /// What readers see through the API: stats, an HNSW and an exact
    /// search, a text search, an indexed filter, the queue, every node and
    /// edge of the sample — and `verify` must be clean.
    fn observe(db: &Database) -> String {
        db.catch_up_indexes().unwrap();
        let report = db.verify().unwrap();
        assert!(report.ok, "verify: {:?}", report.errors.iter().map(|p| &p.message).collect::<Vec<_>>());
        let request = |exact| SearchRequest { k: 100, ef: Some(200), exact, filter: NodeFilter::default() };
        let mut seen = vec![
            stats_without_caches(db),
            serde_json::to_string(&db.search("v", &vector(3), &request(false)).unwrap()).unwrap(),
            serde_json::to_string(&db.search("f", &vector(3), &request(true)).unwrap()).unwrap(),
            serde_json::to_string(&db.queue_stats("inbox").unwrap()).unwrap(),
            serde_json::to_string(&db.queue_dead_letters("inbox", 10).unwrap()).unwrap(),
            format!("change sequence {}", db.change_sequence().unwrap()),
        ];
        if db.stats().unwrap().text_indexes.iter().any(|t| t.name == "t") {
            for query in ["hello", "fox", "memory text", "batched"] {
                seen.push(serde_json::to_string(&db.search_text("t", query, 50, &NodeFilter::default()).unwrap()).unwrap());
            }
        }
        let filter: NodeFilter = serde_json::from_str(r#"{ "types": ["Message"], "where": [["conv", { "eq": 1 }]] }"#).unwrap();
        seen.push(format!("{:?}", db.read(|txn, t| crate::storage::select::match_nodes(txn, t, &filter)).unwrap()));
        for id in ["m0", "m1", "m3", "m4", "m9", "n1", "b1", "t1", "l1", "g0", "s1", "s2"] {
            seen.push(format!("{:?}", db.get_node(id).unwrap()));
        }
        for id in ["e1", "e4", "e8", "w0", "w1", "x1", "bx", "tx", "lx"] {
            seen.push(format!("{:?}", db.get_edge(id).unwrap()));
        }
        seen.join("\n")
    }

    /// `stats()` less the in-memory HNSW figures (loads, hits, bytes), which say what this process did, not what is stored.
    fn stats_without_caches(db: &Database) -> String {
        let mut stats = serde_json::to_value(db.stats().unwrap()).unwrap();
        for space in stats["spaces"].as_array_mut().unwrap() {
            space.as_object_mut().unwrap().remove("graph");
        }
        stats.to_string()
    }

    /// The committed template a case starts from, copied per case (building it is many fsyncs).
    fn template(root: &Path, tight: bool) -> std::path::PathBuf {
        let dir = root.join(if tight { "template-tight" } else { "template" });
        if !dir.exists() {
            let db = Database::open(&dir, options(tight)).unwrap();
            setup(&db);
        }
        dir
    }

    fn fresh(root: &Path, tight: bool, name: &str) -> std::path::PathBuf {
        let dir = root.join(name);
        std::fs::create_dir(&dir).unwrap();
        std::fs::copy(template(root, tight).join("data.mdb"), dir.join("data.mdb")).unwrap();
        dir
    }

    /// `1..=n`, or for a large `n` its first and last ten and a spread between.
    fn sample(n: u64) -> Vec<u64> {
        if n <= 30 {
            return (1..=n).collect();
        }
        let mut picks: Vec<u64> = (1..=8).chain(n - 7..=n).chain((1..12).map(|i| 8 + i * (n - 16) / 12)).collect();
        picks.sort_unstable();
        picks.dedup();
        picks
    }

    struct Tally {
        cases: usize,
        failed_cleanly: usize,
        synced_anyway: usize,
        unreached: usize,
        committed_anyway: usize,
    }

    /// Runs `op` with every sampled fault; panics naming the first case that breaks the invariant.
    fn run(root: &Path, name: &str, tight: bool, op: Op, tally: &mut Tally) {
        // A clean run gives the counts of each point and the state after.
        let clean = fresh(root, tight, &format!("{name}-clean"));
        let (before, after, counts) = {
            let db = Database::open(&clean, options(tight)).unwrap();
            let before = (dump(&db), observe(&db));
            disarm();
            op(&db).unwrap_or_else(|e| panic!("{name}: the clean run failed: {e}"));
            let counts = [Point::Write, Point::Commit, Point::Sync, Point::Grow].map(|p| (p, hits(p)));
            (before, (dump(&db), observe(&db)), counts)
        };
        assert_ne!(before.0, after.0, "{name}: the op must change the data");
        assert!(counts[0].1 > 0 && counts[1].1 > 0 && counts[2].1 > 0, "{name}: no writes, commit or sync seen: {counts:?}");
        if tight {
            assert!(counts[3].1 > 0, "{name}: the map did not grow: {counts:?}");
        }
        for (point, n) in counts {
            for nth in sample(n) {
                let case = format!("{name}: {point:?} #{nth} of {n}");
                let dir = fresh(root, tight, &format!("{name}-{point:?}-{nth}").replace(' ', "_"));
                {
                    let db = Database::open(&dir, options(tight)).unwrap();
                    assert_eq!(observe(&db), before.1, "{case}: setup differs");
                    arm(point, nth);
                    let result = op(&db);
                    let reached = hits(point) >= nth;
                    disarm();
                    if !reached {
                        // The run took fewer steps than the clean one (a map that filled later): no fault, a plain write.
                        assert!(result.is_ok() && nth > n / 2, "{case}: not reached, and {result:?}");
                        assert!(dump(&db) == after.0, "{case}: not reached, yet the data differs from a clean run");
                        tally.unreached += 1;
                        continue;
                    }
                    let err = match result {
                        // Growth after the commit (for later writes): the
                        // write stands whole and says so.
                        Ok(()) if point == Point::Grow => {
                            assert!(dump(&db) == after.0, "{case}: succeeded, yet the data differs from a clean run");
                            assert_eq!(observe(&db), after.1, "{case}: succeeded, yet reads differ from a clean run");
                            tally.committed_anyway += 1;
                            tally.cases += 1;
                            continue;
                        }
                        Ok(()) => panic!("{case}: the injected fault was swallowed"),
                        Err(e) => e,
                    };
                    assert_eq!(err.code, Code::Io, "{case}: {err}");
                    let expected = if point == Point::Sync {
                        tally.synced_anyway += 1;
                        &after
                    } else {
                        tally.failed_cleanly += 1;
                        &before
                    };
                    assert!(dump(&db) == expected.0, "{case}: the data is not the last commit");
                    assert_eq!(observe(&db), expected.1, "{case}: reads differ from the last commit");
                    if point != Point::Sync {
                        // The handle still works: the same write now succeeds and gives the clean run's state.
                        op(&db).unwrap_or_else(|e| panic!("{case}: the write after the fault failed: {e}"));
                        assert!(dump(&db) == after.0, "{case}: the retried write differs from a clean run");
                        assert_eq!(observe(&db), after.1, "{case}: reads after the retry differ");
                    }
                }
                // And so does the file, opened again from scratch.
                let db = Database::open(&dir, options(tight)).unwrap();
                assert!(dump(&db) == after.0, "{case}: reopened data differs");
                assert_eq!(observe(&db), after.1, "{case}: reopened reads differ");
                drop(db);
                std::fs::remove_dir_all(&dir).unwrap();
                tally.cases += 1;
            }
        }
    }

    #[test]
    fn a_failed_write_sync_commit_or_map_growth_leaves_the_last_commit() {
        let root = tempfile::tempdir().unwrap();
        let mut tally = Tally { cases: 0, failed_cleanly: 0, synced_anyway: 0, unreached: 0, committed_anyway: 0 };
        for (name, tight, op) in ops() {
            run(root.path(), name, tight, op, &mut tally);
        }
        eprintln!(
            "fault cases: {} ({} left the last commit, {} failed syncs kept the new one, {} growths after a commit kept it, {} not reached)",
            tally.cases, tally.failed_cleanly, tally.synced_anyway, tally.committed_anyway, tally.unreached
        );
        assert!(tally.cases > 200, "{} cases", tally.cases);
    }

    /// Regression: a transaction whose call had hit the map end committed,
    /// then reported the failed map growth as its own failure (and skipped
    /// its sync), so a caller retrying it wrote it twice.
    #[test]
    fn a_committed_transaction_is_not_failed_by_the_growth_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path(), options(true)).unwrap();
        let (tx, in_tx) = db.begin(db.lock_writer().unwrap()).unwrap();
        in_tx.insert_node(&node("kept", "hello"), NOW).unwrap();
        let err = in_tx.insert_nodes(&big(1200), NOW).unwrap_err();
        assert!(err.message.contains("does not fit in the database map"), "{err}");
        arm(Point::Grow, 1);
        let committed = tx.commit();
        assert_eq!(hits(Point::Grow), 1, "the commit tried to grow the map");
        disarm();
        committed.unwrap();
        drop(in_tx);
        drop(db);
        let db = Database::open(dir.path(), options(true)).unwrap();
        assert!(db.get_node("kept").unwrap().is_some());
        // The next write that needs the room grows the map itself.
        db.insert_nodes(&big(1200), NOW).unwrap();
        assert!(db.verify().unwrap().ok);
    }

    #[test]
    fn an_armed_fault_fires_once_at_its_nth_arrival() {
        arm(Point::Commit, 2);
        assert!(super::check(Point::Write).is_ok());
        assert!(super::check(Point::Commit).is_ok());
        assert_eq!(super::check(Point::Commit).unwrap_err().code, Code::Io);
        assert!(super::check(Point::Commit).is_ok());
        assert_eq!(hits(Point::Commit), 3);
        disarm();
        assert_eq!(hits(Point::Commit), 0);
    }
}

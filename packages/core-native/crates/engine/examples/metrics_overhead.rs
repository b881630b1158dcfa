//! What recording metrics costs next to a point read.
//!
//! `cargo run --release --example metrics_overhead` prints the time of one
//! `get_node` (which records into the `get` histogram), of one timer
//! start/stop + record alone, and their ratio.

use loomdb_engine::{Database, Metrics, NewNode, Op, OpenOptions};
use std::hint::black_box;
use std::time::Instant;

fn main() {
    let dir = std::env::temp_dir().join(format!("loomdb-metrics-overhead-{}", std::process::id()));
    let db = Database::open(&dir, OpenOptions::default()).expect("open");
    let nodes: Vec<NewNode> = (0..10_000).map(|i| NewNode { id: format!("n{i}"), node_type: "T".into(), properties: format!(r#"{{"i":{i},"text":"some words"}}"#) }).collect();
    db.insert_nodes(&nodes, 1).expect("insert");
    let ids: Vec<String> = (0..10_000).map(|i| format!("n{}", (i * 7919) % 10_000)).collect();
    let gets = 1_000_000;
    let mut best_get = f64::MAX;
    let mut best_timer = f64::MAX;
    let metrics = Metrics::default();
    for _round in 0..5 {
        let started = Instant::now();
        for i in 0..gets {
            black_box(db.get_node(&ids[i % ids.len()]).expect("get"));
        }
        best_get = best_get.min(started.elapsed().as_nanos() as f64 / gets as f64);
        let started = Instant::now();
        for i in 0..gets * 10 {
            let _t = metrics.time(Op::Get);
            black_box(i);
        }
        best_timer = best_timer.min(started.elapsed().as_nanos() as f64 / (gets * 10) as f64);
    }
    println!("point get (engine, includes recording): {best_get:.1} ns");
    println!("recording alone (a count; latency on the first 256 calls, then 1 in 16): {best_timer:.1} ns");
    println!("recording / point get without it: {:.2} %", 100.0 * best_timer / (best_get - best_timer));
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
}

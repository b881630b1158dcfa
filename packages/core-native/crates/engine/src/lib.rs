//! LoomDB's storage engine: a property graph with embeddings on LMDB.
//!
//! Pure Rust; the Neon binding in `crates/binding` only converts values and
//! errors. A database is a directory holding `data.mdb`, `lock.mdb`,
//! `writer.lock` and `open.lock`; see `storage::store` for what is shared
//! per process and `storage::codec` for the on-disk layout of records.
//!
//! # Layers
//!
//! Each folder has one job and imports only the layers below it
//! (`ops → plan → vector | graph | text → storage`; `error` is below all):
//!
//! - `storage`: the LMDB environment, tables, keys, codecs, the writer lock,
//!   the meta table and change log, node and edge records, property
//!   indexes, counter edges, durable queues, transactions and the
//!   [`Database`] handle with its read and write paths.
//! - `vector`: embedding spaces, the embeddings table, HNSW graphs and the
//!   exact scan.
//! - `graph`: traversal over the adjacency tables.
//! - `text`: the tokenizer and BM25 indexes.
//! - `plan`: query plans, graph filters (`plan::reach`), the executor with
//!   its kNN stage, and paged scans.
//! - `ops`: backup and restore, compaction, verification, format upgrades,
//!   bulk load, the metrics report.
//! - `database`: the facade on top. It opens a handle (checking and
//!   upgrading the format) and holds the operations that need more than one
//!   layer: node and edge writes, spaces and embeddings, property indexes,
//!   stats, write batches.
//!
//! The handle is declared in `storage` so that every layer can add the
//! operations it owns (`impl Database` in its own files) without importing
//! upward. Where storage must reach up — a node write updates text
//! postings, a node delete drops its embeddings — it calls the
//! `storage::writing::Followers` the facade passes in at open. Test modules
//! may use the crate's public API from any layer.

mod database;
mod error;
mod graph;
mod ops;
mod plan;
mod storage;
mod text;
mod vector;

pub use database::{IndexStats, SpaceStats, Stats};
pub use storage::edges::{EdgeSelector, NewEdge};
pub use storage::handle::{Database, Durability, OpenOptions};
pub use storage::meta::FORMAT_VERSION;
pub use storage::ids::{MAX_ID_BYTES, MAX_TYPE_BYTES};
pub use storage::nodes::NewNode;
pub use vector::search::{SearchHit, SearchRequest};
pub use ops::backup::{BackupReport, Manifest, RestoreReport};
pub use database::batch::{BatchOutcome, QueueLease, QueueSteps, WriteBatch};
pub use ops::compact::{CompactReport, CHECKPOINT_PREFIX};
pub use storage::copy::Progress;
pub use error::{Code, Error, Result};
pub use ops::load::{LoadEdge, LoadNode, LoadRecord};
pub use ops::metrics::Report as MetricsReport;
pub use storage::metrics::{Metrics, Op, OpStats};
pub use storage::store::{TableUsage, Usage};
pub use text::{TextHit, TextIndexSpec, TextIndexStats};
pub use ops::verify::{Problem, VerifyReport};
pub use storage::filter::{Condition, NodeFilter};
pub use graph::traverse::{Direction, Hop, Path, Reached};
pub use plan::spec::{Plan, PLAN_VERSION};
pub use plan::query::Stage;
pub use storage::queue::{DeadLetter, LeasedItem, QueueItem, QueueStats, MAX_QUEUE_ID_BYTES, MAX_QUEUE_NAME_BYTES};
pub use storage::records::{Edge, Node};
pub use storage::transaction::Transaction;
pub use storage::writer_lock::WriterGuard;
pub use plan::scan::{EdgePageQuery, NodeOrder, NodePageQuery};
pub use storage::page::{Page, Position};
pub use vector::index::GraphStats;
pub use vector::space::{HnswParams, Metric, Space, SpaceSpec};

/// Milliseconds since the Unix epoch, the unit of `createdAt`/`updatedAt`.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

//! LoomDB's storage engine: a property graph with embeddings on LMDB.
//!
//! Pure Rust; the Neon binding in `crates/binding` only converts values and
//! errors. A database is a directory holding `data.mdb`, `lock.mdb` and
//! `writer.lock` and `open.lock`; see `store` for what is shared per process and `codec` for
//! the on-disk layout of records.

mod database;
mod error;
mod graph;
mod ops;
mod plan;
mod storage;
mod text;
mod vector;

pub use database::{
    Database, Durability, EdgeSelector, IndexStats, NewEdge, NewNode, OpenOptions, SearchHit, SpaceStats, Stats, FORMAT_VERSION,
    MAX_ID_BYTES, MAX_TYPE_BYTES,
};
pub use ops::backup::{BackupReport, Manifest, RestoreReport};
pub use database::batch::{BatchOutcome, QueueLease, QueueSteps, WriteBatch};
pub use ops::compact::{CompactReport, CHECKPOINT_PREFIX};
pub use storage::copy::Progress;
pub use error::{Code, Error, Result};
pub use ops::load::{LoadEdge, LoadNode, LoadRecord};
pub use storage::metrics::{Metrics, Op, OpStats, Report as MetricsReport};
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
pub use plan::scan::{EdgePageQuery, NodeOrder, NodePageQuery, Page, Position};
pub use vector::index::GraphStats;
pub use vector::search::SearchRequest;
pub use vector::space::{HnswParams, Metric, Space, SpaceSpec};

/// Milliseconds since the Unix epoch, the unit of `createdAt`/`updatedAt`.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

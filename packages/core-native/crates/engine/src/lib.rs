//! LoomDB's storage engine: a property graph with embeddings on LMDB.
//!
//! Pure Rust; the Neon binding in `crates/binding` only converts values and
//! errors. A database is a directory holding `data.mdb`, `lock.mdb` and
//! `writer.lock` and `open.lock`; see `store` for what is shared per process and `codec` for
//! the on-disk layout of records.

mod backup;
mod batch;
mod codec;
mod compact;
mod copy;
mod counters;
mod database;
mod error;
mod fault;
mod filter;
mod graph;
mod hnsw;
mod indexes;
mod keys;
mod load;
mod metrics;
mod pagecheck;
mod plan;
mod presence;
mod query;
mod queue;
mod reach;
mod records;
mod respace;
mod scan;
mod store;
mod text;
mod transaction;
mod upgrade;
mod verify;
mod vector_index;
mod vector_search;
mod vectors;
mod writer_lock;
mod writing;

pub use database::{
    Database, Durability, EdgeSelector, IndexStats, NewEdge, NewNode, OpenOptions, SearchHit, SpaceStats, Stats, FORMAT_VERSION,
    MAX_ID_BYTES, MAX_TYPE_BYTES,
};
pub use backup::{BackupReport, Manifest, RestoreReport};
pub use batch::{BatchOutcome, QueueLease, QueueSteps, WriteBatch};
pub use compact::{CompactReport, CHECKPOINT_PREFIX};
pub use copy::Progress;
pub use error::{Code, Error, Result};
pub use load::{LoadEdge, LoadNode, LoadRecord};
pub use metrics::{Metrics, Op, OpStats, Report as MetricsReport};
pub use store::{TableUsage, Usage};
pub use text::{TextHit, TextIndexSpec, TextIndexStats};
pub use verify::{Problem, VerifyReport};
pub use filter::{Condition, NodeFilter};
pub use graph::{Direction, Hop, Path, Reached};
pub use plan::{Plan, PLAN_VERSION};
pub use query::Stage;
pub use queue::{DeadLetter, LeasedItem, QueueItem, QueueStats, MAX_QUEUE_ID_BYTES, MAX_QUEUE_NAME_BYTES};
pub use records::{Edge, Node};
pub use transaction::Transaction;
pub use writer_lock::WriterGuard;
pub use scan::{EdgePageQuery, NodeOrder, NodePageQuery, Page, Position};
pub use vector_index::GraphStats;
pub use vector_search::SearchRequest;
pub use vectors::{HnswParams, Metric, Space, SpaceSpec};

/// Milliseconds since the Unix epoch, the unit of `createdAt`/`updatedAt`.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

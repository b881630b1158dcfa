//! Storage: everything that is bytes in LMDB, and the only layer that
//! touches the environment.
//!
//! - The environment and its tables, shared per directory per process
//!   (`store`), the writer lock across processes (`writer_lock`), the
//!   liveness of other processes (`presence`), the raw page check
//!   (`pagecheck`), streaming copies of a snapshot (`copy`), fault
//!   injection at its write, commit, sync and grow points (`fault`), and
//!   the operation counters every call records into (`metrics`).
//! - Encodings: sealed values and record codecs (`codec`, `records`), key
//!   layouts (`keys`), the meta table (`meta`), the change log (`changes`),
//!   id limits and id maps (`ids`).
//! - The handle and its plumbing (`handle`: [`Database`], read and write
//!   paths, transactions via `transaction`, one `writing::Writing` per
//!   write call) and `page`, the cursor of paged reads.
//! - Records: nodes and edges with their id maps, type index and adjacency
//!   (`nodes` and `node_writes`, `edges`), the weights of counter edges
//!   (`counters`), declared property indexes (`index_defs`, `indexes`),
//!   node filters and the selection of the nodes one admits (`filter`,
//!   `select`). Filters live here rather than in `plan` because the
//!   property indexes evaluate their conditions and the vector and text
//!   layers take them; `plan` builds them from plan documents.
//! - Durable queues (`queue`): they live here, not in a module of their
//!   own, because they are tables written in the caller's transaction
//!   through the same `Writing` and nothing else; no layer above is
//!   involved.
//!
//! Invariants:
//! - Nothing here imports a layer above (`vector`, `graph`, `text`, `plan`,
//!   `ops`, `database`). Where a node write must reach a layer above (text
//!   postings, embeddings of a deleted node), storage calls the
//!   [`writing::Followers`] the facade handed to the handle. Nor do its
//!   modules import each other in a cycle: plumbing (`codec`, `meta`,
//!   `ids`, `writing`, `changes`) sits below the record modules.
//! - LMDB is the source of truth; every value is sealed (checksummed) and
//!   checked when read, a damaged one is `CORRUPTION`, never data.
//! - A write call runs in one transaction with one `Writing`; a failing call
//!   writes nothing.
//!
//! [`Database`]: handle::Database

pub(crate) mod changes;
pub(crate) mod codec;
pub(crate) mod copy;
pub(crate) mod counters;
pub(crate) mod edges;
pub(crate) mod fault;
pub(crate) mod filter;
pub(crate) mod handle;
pub(crate) mod ids;
pub(crate) mod index_defs;
pub(crate) mod indexes;
pub(crate) mod keys;
pub(crate) mod meta;
pub(crate) mod metrics;
pub(crate) mod node_writes;
pub(crate) mod nodes;
pub(crate) mod page;
pub(crate) mod pagecheck;
pub(crate) mod presence;
pub(crate) mod queue;
pub(crate) mod records;
pub(crate) mod select;
pub(crate) mod store;
pub(crate) mod transaction;
pub(crate) mod writer_lock;
pub(crate) mod writing;

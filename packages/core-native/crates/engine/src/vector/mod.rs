//! Vectors: embedding spaces and the nearest-neighbour search over them.
//!
//! - `space`: what a space declares (dimensions, metric, HNSW parameters),
//!   how vectors are checked and encoded, the exact distance kernels.
//! - `catalog`: the space definitions and the embeddings table (one vector
//!   per space and node, counted, every change logged).
//! - `hnsw` (one graph and its sidecar file), `index` (the live graphs of a
//!   directory, caught up from the change log), `search` (exact scan or
//!   graph, with filters), `respace` (replacing a whole space).
//!
//! Invariants: imports only `storage` (and `error`); LMDB holds the vectors
//! and a graph is always derived from it, never the other way round; every
//! search path ranks by the same kernels.

pub(crate) mod catalog;
pub(crate) mod hnsw;
pub(crate) mod index;
pub(crate) mod respace;
pub(crate) mod search;
pub(crate) mod space;

//! Plans: what `@loomdb/query` sends and how it runs.
//!
//! - `spec`: the plan document (version 1) and the order of its results.
//! - `reach`: graph filters (which nodes lie within `max_hops` of anchors),
//!   here rather than in `graph` because it reads plan documents.
//! - `query` (the executor) and `query::knn` (its nearest-neighbour stage).
//! - `scan`: ordered, resumable pages of nodes and edges.
//!
//! Invariants: imports `vector`, `graph`, `text` and `storage`, never `ops`
//! or the facade; indexes and reach sets only choose which nodes are read
//! first, every candidate is still tested against the whole plan.

pub(crate) mod query;
pub(crate) mod reach;
pub(crate) mod scan;
pub(crate) mod spec;

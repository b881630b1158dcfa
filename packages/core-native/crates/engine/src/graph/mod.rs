//! The graph: reads over the adjacency tables (neighbours, breadth-first
//! traversal, shortest paths, degree) in `traverse`.
//!
//! Invariants: imports only `storage` (and `error`); every hop is one range
//! scan of an adjacency table, so an edge-type filter narrows the scan
//! itself. The reachability of query plans' graph filters is planning and
//! lives in `plan::reach`, built on [`traverse`]'s hops.

pub(crate) mod traverse;

//! Vector layer (placeholder doc).
pub(crate) mod hnsw;
pub(crate) mod index;
pub(crate) mod respace;
pub(crate) mod search;
pub(crate) mod space;

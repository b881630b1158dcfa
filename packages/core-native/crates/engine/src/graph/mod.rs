//! Graph layer (placeholder doc).
pub(crate) mod traverse;

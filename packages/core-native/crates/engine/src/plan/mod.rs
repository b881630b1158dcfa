//! Plan layer (placeholder doc).
pub(crate) mod query;
pub(crate) mod reach;
pub(crate) mod scan;
pub(crate) mod spec;

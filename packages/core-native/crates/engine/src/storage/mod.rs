//! Storage layer (placeholder doc, rewritten below).
pub(crate) mod codec;
pub(crate) mod copy;
pub(crate) mod counters;
pub(crate) mod fault;
pub(crate) mod filter;
pub(crate) mod indexes;
pub(crate) mod keys;
pub(crate) mod metrics;
pub(crate) mod pagecheck;
pub(crate) mod presence;
pub(crate) mod queue;
pub(crate) mod records;
pub(crate) mod store;
pub(crate) mod transaction;
pub(crate) mod writer_lock;
pub(crate) mod writing;

//! Operations on a whole database: `backup` and restore, `compact`,
//! `verify`, format `upgrade`, bulk `load` of exported records, and the
//! `metrics` report.
//!
//! Invariant: may use every layer below (`plan`, `vector`, `graph`, `text`,
//! `storage`), never the facade; the facade calls `upgrade` when it opens a
//! database.

pub(crate) mod backup;
pub(crate) mod compact;
pub(crate) mod load;
pub(crate) mod metrics;
pub(crate) mod upgrade;
pub(crate) mod verify;

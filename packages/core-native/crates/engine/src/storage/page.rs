//! Pages of records and where the next one starts: the cursor every paged
//! read returns (`plan::scan`, `vector::respace`).
//!
//! Invariant: a page holds the items strictly after the position it was
//! asked for; `next` is `None` only when nothing follows.

use serde::Deserialize;

/// Where the previous page ended.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Position {
    Key(u64),
    Id(String),
}

/// A page and, when more may follow, the position to continue after.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Position>,
}

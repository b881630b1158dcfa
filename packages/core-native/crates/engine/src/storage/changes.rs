//! The change log: one entry per node, edge and embedding write, under a
//! sequence number that only grows, which the HNSW graphs catch up from and
//! `write_batch` compares against.
//!
//! Invariant: an entry (`kind ‖ key ‖ space`) is written in the same
//! transaction as the change it records; the index checkpoints prune old
//! entries (`ops::compact`).

use crate::error::Result;
use crate::storage::codec::{self, seal, u64_key};
use crate::storage::writing::Writing;
use heed::RwTxn;

/// What a change-log entry records; pruned by the index checkpoints.
#[repr(u8)]
#[derive(Clone, Copy)]
pub(crate) enum Change {
    NodePut = 1,
    NodeDelete = 2,
    EdgePut = 3,
    EdgeDelete = 4,
    EmbeddingPut = 5,
    EmbeddingDelete = 6,
}

pub(crate) fn log_change(txn: &mut RwTxn, t: &Writing, change: Change, key: u64, space: u32) -> Result<()> {
    let seq = t.next_change(txn)?;
    let mut w = codec::Writer::default();
    w.buf.push(change as u8);
    w.u64(key).u32(space);
    let k = u64_key(seq);
    t.append(txn, t.changes, &k, &seal(&k, &w.buf))
}

//! The meta table: named values (format version, id and sequence counters,
//! space and index definitions), each sealed like every record, and the
//! change log every node, edge and embedding write appends to.
//!
//! Invariants: meta values are read and written only through these helpers
//! (sealed, checked on read); a change-log entry is `kind ‖ key ‖ space`
//! under a sequence number that only grows, written in the same transaction
//! as the change it records.

use crate::error::{Error, Result};
use crate::storage::codec::{self, open as unseal, read_u64_be, seal, u64_key};
use crate::storage::store::Tables;
use crate::storage::writing::Writing;
use heed::{RoTxn, RwTxn};

pub(crate) const META_FORMAT: &[u8] = b"format_version";

pub(crate) const META_NEXT_INDEX: &[u8] = b"next_index_id";

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

pub(crate) fn get_meta<'t>(txn: &'t RoTxn, t: &Tables, key: &[u8]) -> Result<Option<&'t [u8]>> {
    match t.meta.get(txn, key)? {
        Some(v) => unseal(key, v, || format!("meta {}", String::from_utf8_lossy(key))).map(Some),
        None => Ok(None),
    }
}

pub(crate) fn put_meta(txn: &mut RwTxn, t: &Tables, key: &[u8], value: &[u8]) -> Result<()> {
    crate::storage::fault::check(crate::storage::fault::Point::Write)?;
    Ok(t.meta.put(txn, key, &seal(key, value))?)
}

pub(crate) fn get_meta_u64(txn: &RoTxn, t: &Tables, key: &[u8]) -> Result<Option<u64>> {
    match get_meta(txn, t, key)? {
        Some(v) if v.len() == 8 => Ok(Some(read_u64_be(v))),
        Some(_) => Err(Error::corruption(format!("meta {} is not a u64", String::from_utf8_lossy(key)))),
        None => Ok(None),
    }
}

pub(crate) fn put_meta_u64(txn: &mut RwTxn, t: &Tables, key: &[u8], v: u64) -> Result<()> {
    put_meta(txn, t, key, &u64_key(v))
}

pub(crate) fn log_change(txn: &mut RwTxn, t: &Writing, change: Change, key: u64, space: u32) -> Result<()> {
    let seq = t.next_change(txn)?;
    let mut w = codec::Writer::default();
    w.buf.push(change as u8);
    w.u64(key).u32(space);
    let k = u64_key(seq);
    t.append(txn, t.changes, &k, &seal(&k, &w.buf))
}

/// A name of a space or a text index: 1 to 64 characters of `[A-Za-z0-9_-]` (it names files and meta keys).
pub(crate) fn validate_name(what: &str, name: &str) -> Result<()> {
    if name.is_empty() || name.len() > 64 || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        return Err(Error::invalid(format!("{what} must be 1 to 64 characters of [A-Za-z0-9_-], got {name:?}")));
    }
    Ok(())
}

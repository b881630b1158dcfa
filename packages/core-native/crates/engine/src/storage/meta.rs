//! The meta table: named values (format version, id and sequence counters,
//! space and index definitions), each sealed like every record.
//!
//! Invariant: meta values are read and written only through these helpers
//! (sealed, checked on read).

use crate::error::{Error, Result};
use crate::storage::codec::{open as unseal, read_u64_be, seal, u64_key};
use crate::storage::store::Tables;
use heed::{RoTxn, RwTxn};

/// The on-disk format this build writes (and the newest it reads; older
/// ones are upgraded on open, see `ops::upgrade` for the history).
pub const FORMAT_VERSION: u32 = 5;

pub(crate) const META_FORMAT: &[u8] = b"format_version";

pub(crate) const META_NEXT_INDEX: &[u8] = b"next_index_id";

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

/// A name of a space or a text index: 1 to 64 characters of `[A-Za-z0-9_-]` (it names files and meta keys).
pub(crate) fn validate_name(what: &str, name: &str) -> Result<()> {
    if name.is_empty() || name.len() > 64 || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        return Err(Error::invalid(format!("{what} must be 1 to 64 characters of [A-Za-z0-9_-], got {name:?}")));
    }
    Ok(())
}

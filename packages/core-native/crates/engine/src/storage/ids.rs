//! Public ids and types: their limits, and the id maps from a node's or an
//! edge's id to its internal key.
//!
//! Invariants: an id is 1 to [`MAX_ID_BYTES`] bytes, a type 1 to
//! [`MAX_TYPE_BYTES`] bytes without NUL (LMDB keys are at most 511 bytes);
//! an id map entry holds one 8-byte internal key, sealed.

use crate::error::{Error, Result};
use crate::storage::codec::{open as unseal, read_u64_be};
use crate::storage::store::Table;
use heed::RoTxn;

/// Longest public id, in UTF-8 bytes (LMDB keys are at most 511 bytes).
pub const MAX_ID_BYTES: usize = 256;

/// Longest node or edge type, in UTF-8 bytes.
pub const MAX_TYPE_BYTES: usize = 128;

pub(crate) fn validate_id(what: &str, id: &str) -> Result<()> {
    if id.is_empty() || id.len() > MAX_ID_BYTES {
        return Err(Error::invalid(format!("{what} must be 1 to {MAX_ID_BYTES} bytes, got {} bytes: {id:?}", id.len())));
    }
    Ok(())
}

pub(crate) fn validate_type(what: &str, ty: &str) -> Result<()> {
    if ty.is_empty() || ty.len() > MAX_TYPE_BYTES || ty.contains('\0') {
        return Err(Error::invalid(format!("{what} must be 1 to {MAX_TYPE_BYTES} bytes without NUL, got {ty:?}")));
    }
    Ok(())
}

pub(crate) fn validate_properties(json: &str) -> Result<()> {
    match serde_json::from_str::<serde_json::Value>(json) {
        Ok(serde_json::Value::Object(_)) => Ok(()),
        Ok(_) => Err(Error::invalid("properties must be a JSON object")),
        Err(e) => Err(Error::invalid(format!("properties are not valid JSON: {e}"))),
    }
}

pub(crate) fn lookup(txn: &RoTxn, table: Table, id: &str) -> Result<Option<u64>> {
    match table.get(txn, id.as_bytes())? {
        Some(v) => {
            let p = unseal(id.as_bytes(), v, || format!("id map entry \"{id}\""))?;
            if p.len() != 8 {
                return Err(Error::corruption(format!("id map entry \"{id}\" has {} bytes", p.len())));
            }
            Ok(Some(read_u64_be(p)))
        }
        None => Ok(None),
    }
}

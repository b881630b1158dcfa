//! The space catalog and the embeddings table: space definitions and their
//! vector counts in meta, one vector per (space, node), each write logged so
//! the HNSW graphs (`vector::index`) can follow.
//!
//! Invariants: a space name resolves to one space id; a space's count is the
//! number of vectors stored under its id, kept in the same transaction as
//! the puts and deletes; a vector is checked against its space before it is
//! stored.

use crate::error::{Error, Result};
use crate::storage::codec::{open as unseal, seal};
use crate::storage::keys;
use crate::storage::changes::{log_change, Change};
use crate::storage::meta::{get_meta, get_meta_u64, put_meta, put_meta_u64, validate_name};
use crate::storage::ids::lookup;
use crate::storage::store::Tables;
use crate::storage::writing::Writing;
use crate::vector::space::{self as vectors, Space, SpaceSpec};
use heed::{RoTxn, RwTxn};

pub(crate) const META_NEXT_SPACE: &[u8] = b"next_space_id";

pub(crate) const SPACE_PREFIX: &str = "space/";

pub(crate) const SPACE_COUNT_PREFIX: &str = "space_count/";

pub(crate) fn validate_space_name(name: &str) -> Result<()> {
    validate_name("space name", name)
}

pub(crate) fn same_spec(existing: &Space, spec: &SpaceSpec) -> Result<()> {
    if existing.spec.admits(spec) {
        Ok(())
    } else {
        let json = |s: &SpaceSpec| serde_json::to_string(s).expect("a spec serializes");
        Err(Error::invalid(format!(
            "space \"{}\" already exists as {}; it was declared again as {}",
            existing.name,
            json(&existing.spec),
            json(spec)
        )))
    }
}

pub(crate) fn insert_embedding(txn: &mut RwTxn, t: &Writing, node_id: &str, space: &str, vector: &[f32]) -> Result<()> {
    let space = require_space(txn, t, space)?;
    vectors::check_vector(&space, vector)?;
    let node = lookup(txn, t.node_ids, node_id)?.ok_or_else(|| Error::not_found(format!("node \"{node_id}\" does not exist")))?;
    put_embedding(txn, t, &space, node, vector)
}

pub(crate) fn put_embedding(txn: &mut RwTxn, t: &Writing, space: &Space, node: u64, v: &[f32]) -> Result<()> {
    let k = keys::embedding(space.id, node);
    let existed = t.embeddings.get(txn, &k)?.is_some();
    crate::storage::fault::check(crate::storage::fault::Point::Write)?;
    t.embeddings.put(txn, &k, &seal(&k, &vectors::encode(v)))?;
    if !existed {
        bump_space_count(txn, t, space, 1)?;
    }
    log_change(txn, t, Change::EmbeddingPut, node, space.id)
}

pub(crate) fn delete_embedding(txn: &mut RwTxn, t: &Writing, space: &Space, node: u64) -> Result<()> {
    crate::storage::fault::check(crate::storage::fault::Point::Write)?;
    if t.embeddings.delete(txn, &keys::embedding(space.id, node))? {
        bump_space_count(txn, t, space, -1)?;
        log_change(txn, t, Change::EmbeddingDelete, node, space.id)?;
    }
    Ok(())
}

/// Vectors stored in a space.
pub(crate) fn space_count(txn: &RoTxn, t: &Tables, space: u32) -> Result<u64> {
    Ok(get_meta_u64(txn, t, format!("{SPACE_COUNT_PREFIX}{space}").as_bytes())?.unwrap_or(0))
}

pub(crate) fn bump_space_count(txn: &mut RwTxn, t: &Writing, space: &Space, delta: i64) -> Result<()> {
    let key = format!("{SPACE_COUNT_PREFIX}{}", space.id);
    let n = get_meta_u64(txn, t, key.as_bytes())?.unwrap_or(0);
    put_meta_u64(txn, t, key.as_bytes(), n.saturating_add_signed(delta))
}

pub(crate) fn find_space(txn: &RoTxn, t: &Tables, name: &str) -> Result<Option<Space>> {
    let key = format!("{SPACE_PREFIX}{name}");
    match get_meta(txn, t, key.as_bytes())? {
        Some(json) => serde_json::from_slice(json).map(Some).map_err(|e| Error::corruption(format!("space \"{name}\" definition: {e}"))),
        None => Ok(None),
    }
}

/// Stores a space's definition under its name.
pub(crate) fn write_space(txn: &mut RwTxn, t: &Tables, space: &Space) -> Result<()> {
    put_meta(txn, t, format!("{SPACE_PREFIX}{}", space.name).as_bytes(), serde_json::to_string(space).expect("serializes").as_bytes())
}

/// Moves a space's definition to another name (its id, so its vectors and count, stay).
pub(crate) fn rename_space(txn: &mut RwTxn, t: &Tables, space: &Space, name: &str, spec: SpaceSpec) -> Result<Space> {
    crate::storage::fault::check(crate::storage::fault::Point::Write)?;
    t.meta.delete(txn, format!("{SPACE_PREFIX}{}", space.name).as_bytes())?;
    let renamed = Space { id: space.id, name: name.to_owned(), spec };
    write_space(txn, t, &renamed)?;
    Ok(renamed)
}

/// Removes a space's definition and count (its vectors must be gone).
pub(crate) fn remove_space(txn: &mut RwTxn, t: &Tables, space: &Space) -> Result<()> {
    crate::storage::fault::check(crate::storage::fault::Point::Write)?;
    t.meta.delete(txn, format!("{SPACE_PREFIX}{}", space.name).as_bytes())?;
    crate::storage::fault::check(crate::storage::fault::Point::Write)?;
    t.meta.delete(txn, format!("{SPACE_COUNT_PREFIX}{}", space.id).as_bytes())?;
    Ok(())
}

pub(crate) fn require_space(txn: &RoTxn, t: &Tables, name: &str) -> Result<Space> {
    find_space(txn, t, name)?.ok_or_else(|| {
        Error::not_found(format!("space \"{name}\" does not exist; declare it with open(path, {{ spaces: {{ {name}: {{ dimensions, metric }} }} }})"))
    })
}

pub(crate) fn list_spaces(txn: &RoTxn, t: &Tables) -> Result<Vec<Space>> {
    let mut out = Vec::new();
    for entry in t.meta.prefix_iter(txn, SPACE_PREFIX.as_bytes())? {
        let (k, v) = entry?;
        let json = unseal(k, v, || format!("meta {}", String::from_utf8_lossy(k)))?;
        out.push(serde_json::from_slice(json).map_err(|e| Error::corruption(format!("space definition: {e}")))?);
    }
    Ok(out)
}

/// Declares space `name` with `spec` (resolved) under a fresh id, or checks
/// that the one declared meanwhile agrees with it.
pub(crate) fn declare_space(txn: &mut RwTxn, t: &Writing, name: &str, spec: &SpaceSpec) -> Result<()> {
    if let Some(existing) = find_space(txn, t, name)? {
        return same_spec(&existing, spec);
    }
    let id = u32::try_from(get_meta_u64(txn, t, META_NEXT_SPACE)?.unwrap_or(1)).map_err(|_| Error::internal("space ids exhausted"))?;
    put_meta_u64(txn, t, META_NEXT_SPACE, u64::from(id) + 1)?;
    write_space(txn, t, &Space { id, name: name.to_owned(), spec: spec.clone() })
}

/// The vector of node `node_id` in space `space`, if it has one.
pub(crate) fn read_embedding(txn: &RoTxn, t: &Tables, node_id: &str, space: &str) -> Result<Option<Vec<f32>>> {
    let space = require_space(txn, t, space)?;
    let Some(node) = lookup(txn, t.node_ids, node_id)? else { return Ok(None) };
    let k = keys::embedding(space.id, node);
    match t.embeddings.get(txn, &k)? {
        Some(v) => {
            let payload = unseal(&k, v, || format!("embedding of node \"{node_id}\" in space \"{}\"", space.name))?;
            let mut out = Vec::new();
            vectors::decode_into(payload, &mut out)?;
            Ok(Some(out))
        }
        None => Ok(None),
    }
}

/// A node is being deleted: its vector goes from every space (a
/// [`crate::storage::writing::Followers`] hook).
pub(crate) fn delete_node_embeddings(txn: &mut RwTxn, t: &Writing, node: u64) -> Result<()> {
    for space in list_spaces(txn, t)? {
        delete_embedding(txn, t, &space, node)?;
    }
    Ok(())
}

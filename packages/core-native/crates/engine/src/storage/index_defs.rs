//! Definitions of the declared property indexes (one node type, one
//! property, an id), kept in meta under `index/type\0property`.
//!
//! Invariant: a definition exists exactly while its index is filled and
//! kept in step (`storage::indexes`); `Writing` reads the definitions of a
//! type once per write call.

use crate::error::{Error, Result};
use crate::storage::store::Tables;
use heed::RoTxn;
use serde::{Deserialize, Serialize};

const DEF_PREFIX: &str = "index/";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexDef {
    pub id: u32,
    #[serde(rename = "type")]
    pub node_type: String,
    pub property: String,
}

pub(crate) fn def_key(node_type: &str, property: &str) -> String {
    format!("{DEF_PREFIX}{node_type}\0{property}")
}

/// Every index, or those of one node type.
pub fn list(txn: &RoTxn, t: &Tables, node_type: Option<&str>) -> Result<Vec<IndexDef>> {
    let prefix = match node_type {
        Some(ty) => format!("{DEF_PREFIX}{ty}\0"),
        None => DEF_PREFIX.to_owned(),
    };
    let mut out = Vec::new();
    for entry in t.meta.prefix_iter(txn, prefix.as_bytes())? {
        let (k, v) = entry?;
        let json = crate::storage::codec::open(k, v, || format!("meta {}", String::from_utf8_lossy(k)))?;
        out.push(serde_json::from_slice(json).map_err(|e| Error::corruption(format!("index definition: {e}")))?);
    }
    Ok(out)
}

//! Key layouts of the index tables. Internal ids are `u64`, big endian.
//!
//! - `node_types`: `type ‖ 0x00 ‖ node`
//! - `out_adj`:    `from ‖ edgeType ‖ 0x00 ‖ to ‖ edge`
//! - `in_adj`:     `to ‖ edgeType ‖ 0x00 ‖ from ‖ edge`
//! - `embeddings`: `space (u32) ‖ node`
//! - `changes`:    `sequence`
//!
//! Types never contain NUL (validated on write), so `0x00` ends them.

use crate::storage::codec::read_u64_be;

pub fn node_type(node_type: &str, node: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(node_type.len() + 9);
    k.extend_from_slice(node_type.as_bytes());
    k.push(0);
    k.extend_from_slice(&node.to_be_bytes());
    k
}

pub fn node_type_prefix(node_type: &str) -> Vec<u8> {
    let mut k = node_type.as_bytes().to_vec();
    k.push(0);
    k
}

/// An adjacency key seen from `node`: the neighbour and the edge.
pub fn adjacency(node: u64, edge_type: &str, neighbour: u64, edge: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(25 + edge_type.len());
    k.extend_from_slice(&node.to_be_bytes());
    k.extend_from_slice(edge_type.as_bytes());
    k.push(0);
    k.extend_from_slice(&neighbour.to_be_bytes());
    k.extend_from_slice(&edge.to_be_bytes());
    k
}

/// Splits an adjacency key into `(edge type, neighbour, edge)`.
pub fn parse_adjacency(key: &[u8]) -> Option<(&str, u64, u64)> {
    if key.len() < 25 {
        return None;
    }
    let middle = &key[8..key.len() - 16];
    let (type_bytes, nul) = middle.split_at(middle.len() - 1);
    if nul != [0] {
        return None;
    }
    let tail = &key[key.len() - 16..];
    Some((std::str::from_utf8(type_bytes).ok()?, read_u64_be(tail), read_u64_be(&tail[8..])))
}

pub fn embedding(space: u32, node: u64) -> [u8; 12] {
    let mut k = [0u8; 12];
    k[..4].copy_from_slice(&space.to_be_bytes());
    k[4..].copy_from_slice(&node.to_be_bytes());
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adjacency_keys_round_trip() {
        let k = adjacency(7, "MENTIONS", 9, 11);
        assert_eq!(parse_adjacency(&k), Some(("MENTIONS", 9, 11)));
        assert_eq!(parse_adjacency(&k[..20]), None);
    }
}

/// Properties: any key parses or is refused, never panics; adjacency keys
/// of NUL-free types parse back to their parts.
#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn parse_adjacency_takes_any_bytes(key in any::<Vec<u8>>()) {
            if let Some((edge_type, _, _)) = parse_adjacency(&key) {
                prop_assert_eq!(key.len(), 8 + edge_type.len() + 1 + 16);
            }
        }

        #[test]
        fn adjacency_keys_round_trip(node in any::<u64>(), edge_type in any::<String>().prop_map(|s| s.replace('\0', "")), neighbour in any::<u64>(), edge in any::<u64>()) {
            let k = adjacency(node, &edge_type, neighbour, edge);
            prop_assert_eq!(parse_adjacency(&k), Some((edge_type.as_str(), neighbour, edge)));
            prop_assert_eq!(read_u64_be(&k), node);
        }

        #[test]
        fn type_and_embedding_keys_lay_out_as_documented(node_type_name in any::<String>().prop_map(|s| s.replace('\0', "")), node in any::<u64>(), space in any::<u32>()) {
            let k = node_type(&node_type_name, node);
            prop_assert!(k.starts_with(&node_type_prefix(&node_type_name)));
            prop_assert_eq!(read_u64_be(&k[k.len() - 8..]), node);
            let e = embedding(space, node);
            prop_assert_eq!(u32::from_be_bytes(e[..4].try_into().unwrap()), space);
            prop_assert_eq!(read_u64_be(&e[4..]), node);
        }
    }
}

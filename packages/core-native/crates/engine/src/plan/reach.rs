//! Graph filters of query plans: which nodes lie within `max_hops` of the
//! anchors, walking edges backwards from them.
//!
//! Invariants:
//! - Distances are those of a multi-source breadth-first walk: the fewest
//!   edges from any anchor; anchors themselves (distance 0) are never
//!   within, and ids that do not exist anchor nothing.
//! - A [`Reach::Partial`] knows every node within `max_hops - 1` exactly, so
//!   a node not among them is at distance `max_hops` exactly when one of its
//!   neighbours (walking towards the anchors) is at `max_hops - 1`.

use crate::storage::ids::lookup;

use crate::storage::select::match_nodes;
use crate::error::Result;
use crate::graph::traverse::{adjacent, Hop};
use crate::plan::spec::{node_filter, GraphFilter};
use crate::storage::store::Tables;
use heed::RoTxn;
use std::collections::HashMap;

/// Adjacency entries the last level of a graph filter may read before the
/// planner looks for a cheaper candidate set (see the module invariants).
pub const LAST_LEVEL_BUDGET: usize = 8192;

/// Hashes internal node keys (engine-assigned, so no adversary picks them)
/// with one multiply: walks insert tens of thousands per query.
#[derive(Default)]
pub struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_u64(&mut self, key: u64) {
        self.0 = (key ^ (key >> 29)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// Node key → fewest hops.
pub type Hops = HashMap<u64, u32, std::hash::BuildHasherDefault<KeyHasher>>;

/// Nodes a graph filter admits and their fewest hops.
pub enum Reach {
    /// Every admitted node (anchors excluded).
    Complete(Hops),
    /// The nodes within `max_hops - 1` (anchors at 0); `forward` walks from
    /// a candidate towards them. `resume` is where the last level stopped.
    Partial { inner: Hops, forward: Hop, resume: Resume },
}

/// The last level of a partial walk as far as it went: [`Reach::complete`]
/// carries on from there instead of walking again.
pub struct Resume {
    /// The nodes at `max_hops - 1`, whose neighbours make the last level.
    frontier: Vec<u64>,
    /// How many of `frontier` were read completely.
    done: usize,
    /// Nodes found at `max_hops` so far (not in `inner`).
    found: Vec<u64>,
}

/// The keys of a graph filter's anchors that exist, sorted, without repeats.
pub fn anchors(txn: &RoTxn, t: &Tables, g: &GraphFilter) -> Result<Vec<u64>> {
    let mut keys = Vec::new();
    for id in &g.anchors {
        keys.extend(lookup(txn, t.node_ids, id)?);
    }
    if let Some(m) = &g.anchor_match {
        keys.extend(match_nodes(txn, t, &node_filter("anchorMatch", &m.types, &m.conditions)?)?);
    }
    keys.sort_unstable();
    keys.dedup();
    Ok(keys)
}

impl Reach {
    /// Multi-source breadth-first walk from the anchors, anchors excluded;
    /// partial when the last level would read more than `budget` entries.
    pub fn walk(txn: &RoTxn, t: &Tables, anchors: &[u64], g: &GraphFilter, budget: Option<usize>) -> Result<Reach> {
        let hop = g.backwards();
        let mut seen: Hops = anchors.iter().map(|&k| (k, 0)).collect();
        let mut frontier = anchors.to_vec();
        for depth in 1..=g.max_hops {
            let mut next = Vec::new();
            let mut read = 0usize;
            for done in 0..frontier.len() {
                let around = adjacent(txn, t, frontier[done], &hop)?;
                read += around.len();
                if depth == g.max_hops && budget.is_some_and(|b| read > b) {
                    seen.retain(|_, hops| *hops < depth);
                    let forward = Hop { direction: g.direction, edge_types: g.edge_types.clone() };
                    let resume = Resume { frontier, done, found: next };
                    return Ok(Reach::Partial { inner: seen, forward, resume });
                }
                for (neighbour, _) in around {
                    seen.entry(neighbour).or_insert_with(|| {
                        next.push(neighbour);
                        depth
                    });
                }
            }
            if next.is_empty() {
                break;
            }
            frontier = next;
        }
        seen.retain(|_, hops| *hops > 0);
        Ok(Reach::Complete(seen))
    }

    /// The complete reach: a partial walk's last level read to the end,
    /// from where it stopped; a complete one as it is.
    pub fn complete(self, txn: &RoTxn, t: &Tables, g: &GraphFilter) -> Result<Reach> {
        let (mut seen, resume) = match self {
            Reach::Complete(_) => return Ok(self),
            Reach::Partial { inner, resume, .. } => (inner, resume),
        };
        let hop = g.backwards();
        for key in resume.found {
            seen.insert(key, g.max_hops);
        }
        for &node in &resume.frontier[resume.done..] {
            for (neighbour, _) in adjacent(txn, t, node, &hop)? {
                seen.entry(neighbour).or_insert(g.max_hops);
            }
        }
        seen.retain(|_, hops| *hops > 0);
        Ok(Reach::Complete(seen))
    }

    /// Fewest hops from `key` to an anchor, when within the filter's `max_hops`.
    pub fn hops(&self, txn: &RoTxn, t: &Tables, key: u64) -> Result<Option<u32>> {
        match self {
            Reach::Complete(m) => Ok(m.get(&key).copied()),
            Reach::Partial { inner, forward, .. } => {
                if let Some(&d) = inner.get(&key) {
                    return Ok((d > 0).then_some(d));
                }
                let mut best = None;
                for (neighbour, _) in adjacent(txn, t, key, forward)? {
                    if let Some(&d) = inner.get(&neighbour) {
                        best = Some(best.map_or(d + 1, |b: u32| b.min(d + 1)));
                    }
                }
                Ok(best)
            }
        }
    }
}

//! Graph reads: neighbours, breadth-first traversal, shortest paths, degree.
//! Every hop is one range scan of an adjacency table, keyed
//! `node ‖ edgeType ‖ 0 ‖ neighbour ‖ edge`, so filtering by edge type narrows
//! the scan itself.

use crate::storage::codec::{self, u64_key};
use crate::storage::edges::read_edge;
use crate::storage::handle::Database;
use crate::storage::ids::lookup;
use crate::storage::nodes::read_node;
use crate::error::{Error, Result};
use crate::storage::keys;
use crate::storage::records::{Edge, Node};
use crate::storage::store::{Table, Tables};
use heed::RoTxn;
use serde::Deserialize;
use std::collections::{HashMap, HashSet, VecDeque};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Edges leaving the node.
    Out,
    /// Edges arriving at the node.
    In,
    Both,
}

/// Which edges a hop follows.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Hop {
    pub direction: Direction,
    #[serde(default)]
    pub edge_types: Option<Vec<String>>,
}

/// One node reached by a traversal.
#[derive(Debug, Clone)]
pub struct Reached {
    pub node: Node,
    pub depth: u32,
    /// The edge that first reached it.
    pub via: String,
}

/// A path: nodes from start to end, and the edges between them.
#[derive(Debug, Clone)]
pub struct Path {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
}

/// `(neighbour, edge)` of every adjacency entry of `node` that `hop` follows,
/// in key order (out-edges first for `Both`). A self-loop seen from both sides
/// is reported once.
pub(crate) fn adjacent(txn: &RoTxn, t: &Tables, node: u64, hop: &Hop) -> Result<Vec<(u64, u64)>> {
    let tables: &[Table] = match hop.direction {
        Direction::Out => &[t.out_adj],
        Direction::In => &[t.in_adj],
        Direction::Both => &[t.out_adj, t.in_adj],
    };
    let mut out = Vec::new();
    let mut seen_loops = HashSet::new();
    for table in tables {
        let mut scan = |prefix: &[u8]| -> Result<()> {
            for entry in table.prefix_iter(txn, prefix)? {
                let (k, _) = entry?;
                let (_, neighbour, edge) = keys::parse_adjacency(k)
                    .ok_or_else(|| Error::corruption(format!("adjacency key {} is malformed", codec::hex(k))))?;
                if neighbour == node && !seen_loops.insert(edge) {
                    continue;
                }
                out.push((neighbour, edge));
            }
            Ok(())
        };
        match &hop.edge_types {
            Some(types) => {
                for ty in types {
                    let mut prefix = u64_key(node).to_vec();
                    prefix.extend_from_slice(ty.as_bytes());
                    prefix.push(0);
                    scan(&prefix)?;
                }
            }
            None => scan(&u64_key(node))?,
        }
    }
    Ok(out)
}

fn require(txn: &RoTxn, t: &Tables, id: &str) -> Result<u64> {
    lookup(txn, t.node_ids, id)?.ok_or_else(|| Error::not_found(format!("node \"{id}\" does not exist")))
}

impl Database {
    /// The edges of `id` that `hop` follows and the node at their other end.
    pub fn neighbors(&self, id: &str, hop: &Hop, limit: Option<usize>) -> Result<Vec<(Edge, Node)>> {
        let _timer = self.timer(crate::storage::metrics::Op::Traverse);
        self.read(|txn, t| {
            let start = require(txn, t, id)?;
            adjacent(txn, t, start, hop)?
                .into_iter()
                .take(limit.unwrap_or(usize::MAX))
                .map(|(neighbour, edge)| Ok((read_edge(txn, t, edge)?, read_node(txn, t, neighbour)?)))
                .collect()
        })
    }

    /// How many edges of `id` `hop` follows.
    pub fn degree(&self, id: &str, hop: &Hop) -> Result<u64> {
        let _timer = self.timer(crate::storage::metrics::Op::Traverse);
        self.read(|txn, t| Ok(adjacent(txn, t, require(txn, t, id)?, hop)?.len() as u64))
    }

    /// Breadth-first from `start` (not itself reported), each node once, up to
    /// `max_depth` hops. With `node_types`, only nodes of those types are
    /// entered, so the walk does not pass through others.
    pub fn traverse(&self, start: &str, hop: &Hop, max_depth: u32, node_types: Option<&[String]>, limit: Option<usize>) -> Result<Vec<Reached>> {
        let _timer = self.timer(crate::storage::metrics::Op::Traverse);
        self.read(|txn, t| {
            let origin = require(txn, t, start)?;
            let limit = limit.unwrap_or(usize::MAX);
            let mut seen = HashSet::from([origin]);
            let mut frontier = vec![origin];
            let mut out = Vec::new();
            for depth in 1..=max_depth {
                let mut next = Vec::new();
                for &node in &frontier {
                    for (neighbour, edge) in adjacent(txn, t, node, hop)? {
                        if !seen.insert(neighbour) {
                            continue;
                        }
                        let n = read_node(txn, t, neighbour)?;
                        if node_types.is_some_and(|types| !types.contains(&n.node_type)) {
                            continue;
                        }
                        out.push(Reached { node: n, depth, via: read_edge(txn, t, edge)?.id });
                        if out.len() >= limit {
                            return Ok(out);
                        }
                        next.push(neighbour);
                    }
                }
                if next.is_empty() {
                    break;
                }
                frontier = next;
            }
            Ok(out)
        })
    }

    /// A shortest path (fewest edges) from `from` to `to` within `max_depth`
    /// hops, or `None`. Breadth-first, so ties go to the first found in key order.
    pub fn shortest_path(&self, from: &str, to: &str, hop: &Hop, max_depth: u32) -> Result<Option<Path>> {
        let _timer = self.timer(crate::storage::metrics::Op::Traverse);
        self.read(|txn, t| {
            let (source, target) = (require(txn, t, from)?, require(txn, t, to)?);
            let mut parent: HashMap<u64, (u64, u64)> = HashMap::new();
            if source != target {
                let mut queue = VecDeque::from([(source, 0u32)]);
                'search: while let Some((node, depth)) = queue.pop_front() {
                    if depth == max_depth {
                        continue;
                    }
                    for (neighbour, edge) in adjacent(txn, t, node, hop)? {
                        if neighbour == source || parent.contains_key(&neighbour) {
                            continue;
                        }
                        parent.insert(neighbour, (node, edge));
                        if neighbour == target {
                            break 'search;
                        }
                        queue.push_back((neighbour, depth + 1));
                    }
                }
                if !parent.contains_key(&target) {
                    return Ok(None);
                }
            }
            let (mut nodes, mut edges) = (vec![read_node(txn, t, target)?], Vec::new());
            let mut at = target;
            while at != source {
                let (prev, edge) = parent[&at];
                edges.push(read_edge(txn, t, edge)?);
                nodes.push(read_node(txn, t, prev)?);
                at = prev;
            }
            nodes.reverse();
            edges.reverse();
            Ok(Some(Path { nodes, edges }))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::edges::NewEdge;
    use crate::storage::handle::OpenOptions;
    use crate::storage::nodes::NewNode;

    /// a → b → c → d, a → c (a shortcut), e isolated; one `LIKES` edge d → a.
    fn graph(dir: &std::path::Path) -> Database {
        let db = Database::open(dir, OpenOptions::default()).unwrap();
        let nodes: Vec<NewNode> = ["a", "b", "c", "d", "e"]
            .iter()
            .map(|id| NewNode { id: (*id).into(), node_type: if *id == "d" { "End".into() } else { "Step".into() }, properties: "{}".into() })
            .collect();
        db.insert_nodes(&nodes, 1).unwrap();
        let edge = |id: &str, ty: &str, from: &str, to: &str| NewEdge {
            id: id.into(),
            edge_type: ty.into(),
            from: from.into(),
            to: to.into(),
            properties: "{}".into(),
            weight: 1.0,
        };
        db.insert_edges(&[edge("ab", "NEXT", "a", "b"), edge("bc", "NEXT", "b", "c"), edge("cd", "NEXT", "c", "d"), edge("ac", "NEXT", "a", "c"), edge("da", "LIKES", "d", "a")], 1)
            .unwrap();
        db
    }

    fn hop(direction: Direction, types: Option<&[&str]>) -> Hop {
        Hop { direction, edge_types: types.map(|ts| ts.iter().map(|t| (*t).to_owned()).collect()) }
    }

    #[test]
    fn neighbours_follow_direction_and_type() {
        let dir = tempfile::tempdir().unwrap();
        let db = graph(dir.path());
        let ids = |v: Vec<(Edge, Node)>| v.into_iter().map(|(e, n)| format!("{}:{}", e.id, n.id)).collect::<Vec<_>>();
        assert_eq!(ids(db.neighbors("a", &hop(Direction::Out, None), None).unwrap()), ["ab:b", "ac:c"]);
        assert_eq!(ids(db.neighbors("a", &hop(Direction::In, None), None).unwrap()), ["da:d"]);
        assert_eq!(ids(db.neighbors("a", &hop(Direction::Both, Some(&["LIKES"])), None).unwrap()), ["da:d"]);
        assert_eq!(db.degree("c", &hop(Direction::Both, None)).unwrap(), 3);
        assert_eq!(db.neighbors("ghost", &hop(Direction::Out, None), None).unwrap_err().code, crate::Code::NotFound);
    }

    #[test]
    fn traversal_is_breadth_first_without_revisits() {
        let dir = tempfile::tempdir().unwrap();
        let db = graph(dir.path());
        let walk = db.traverse("a", &hop(Direction::Out, Some(&["NEXT"])), 5, None, None).unwrap();
        let seen: Vec<_> = walk.iter().map(|r| (r.node.id.as_str(), r.depth, r.via.as_str())).collect();
        assert_eq!(seen, [("b", 1, "ab"), ("c", 1, "ac"), ("d", 2, "cd")]);
        let only_steps = db.traverse("a", &hop(Direction::Out, None), 5, Some(&["Step".into()]), None).unwrap();
        assert_eq!(only_steps.iter().map(|r| r.node.id.as_str()).collect::<Vec<_>>(), ["b", "c"]);
        assert_eq!(db.traverse("a", &hop(Direction::Out, None), 1, None, Some(1)).unwrap().len(), 1);
    }

    #[test]
    fn shortest_paths_take_the_fewest_edges() {
        let dir = tempfile::tempdir().unwrap();
        let db = graph(dir.path());
        let p = db.shortest_path("a", "d", &hop(Direction::Out, None), 5).unwrap().unwrap();
        assert_eq!(p.nodes.iter().map(|n| n.id.as_str()).collect::<Vec<_>>(), ["a", "c", "d"]);
        assert_eq!(p.edges.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["ac", "cd"]);
        assert!(db.shortest_path("a", "d", &hop(Direction::Out, None), 1).unwrap().is_none());
        assert!(db.shortest_path("a", "e", &hop(Direction::Both, None), 9).unwrap().is_none());
        let itself = db.shortest_path("b", "b", &hop(Direction::Out, None), 0).unwrap().unwrap();
        assert_eq!((itself.nodes.len(), itself.edges.len()), (1, 0));
        let back = db.shortest_path("d", "b", &hop(Direction::In, None), 5).unwrap().unwrap();
        assert_eq!(back.nodes.iter().map(|n| n.id.as_str()).collect::<Vec<_>>(), ["d", "c", "b"]);
    }
}

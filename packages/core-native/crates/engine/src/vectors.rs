//! Embedding spaces and exact nearest-neighbour search.

use crate::error::{Code, Error, Result};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::BinaryHeap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    Cosine,
    L2,
    Dot,
}

/// What a user declares about a space.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpaceSpec {
    pub dimensions: u32,
    pub metric: Metric,
    #[serde(default = "default_index")]
    pub index: String,
}

fn default_index() -> String {
    "flat".into()
}

/// A space as stored in meta: the spec plus its internal id.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Space {
    pub id: u32,
    pub name: String,
    #[serde(flatten)]
    pub spec: SpaceSpec,
}

pub const MAX_DIMENSIONS: u32 = 65_536;

impl SpaceSpec {
    pub fn validate(&self, name: &str) -> Result<()> {
        if self.dimensions == 0 || self.dimensions > MAX_DIMENSIONS {
            return Err(Error::invalid(format!(
                "space \"{name}\": dimensions must be between 1 and {MAX_DIMENSIONS}, got {}",
                self.dimensions
            )));
        }
        if self.index != "flat" {
            return Err(Error::new(
                Code::Unsupported,
                format!("space \"{name}\": index \"{}\" is not available in this build (available: \"flat\")", self.index),
            ));
        }
        Ok(())
    }
}

/// Checks a vector against a space: length and finiteness.
pub fn check_vector(space: &Space, v: &[f32]) -> Result<()> {
    if v.len() != space.spec.dimensions as usize {
        return Err(Error::new(
            Code::DimensionMismatch,
            format!("space \"{}\" has {} dimensions, the vector has {}", space.name, space.spec.dimensions, v.len()),
        ));
    }
    if let Some(i) = v.iter().position(|x| !x.is_finite()) {
        return Err(Error::invalid(format!("vector[{i}] is {}, vectors must be finite numbers", v[i])));
    }
    Ok(())
}

pub fn encode(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub fn decode_into(bytes: &[u8], out: &mut Vec<f32>) -> Result<()> {
    if !bytes.len().is_multiple_of(4) {
        return Err(Error::corruption("embedding length is not a whole number of floats"));
    }
    out.clear();
    out.extend(bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])));
    Ok(())
}

/// Distance between a prepared query and a stored vector; smaller is nearer.
/// cosine: `1 − cos θ`; l2: Euclidean distance; dot: `1 − a·b`.
pub struct Query<'a> {
    pub vector: &'a [f32],
    metric: Metric,
    norm: f32,
}

impl<'a> Query<'a> {
    pub fn new(vector: &'a [f32], metric: Metric) -> Self {
        Query { vector, metric, norm: dot(vector, vector).sqrt() }
    }

    pub fn distance(&self, v: &[f32]) -> f32 {
        match self.metric {
            Metric::Dot => 1.0 - dot(self.vector, v),
            Metric::L2 => l2_squared(self.vector, v).sqrt(),
            Metric::Cosine => {
                let denom = self.norm * dot(v, v).sqrt();
                if denom == 0.0 {
                    1.0
                } else {
                    1.0 - dot(self.vector, v) / denom
                }
            }
        }
    }
}

/// Eight independent accumulators let the compiler vectorise the loop.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| (x - y) * (x - y)).sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            let d = x[i] - y[i];
            acc[i] += d * d;
        }
    }
    acc.iter().sum::<f32>() + tail
}

#[derive(PartialEq)]
struct Candidate(f32, u64);
impl Eq for Candidate {}
impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0).then(self.1.cmp(&other.1))
    }
}

/// Keeps the `k` nearest `(distance, key)` pairs seen so far.
pub struct TopK {
    k: usize,
    heap: BinaryHeap<Candidate>,
}

impl TopK {
    pub fn new(k: usize) -> Self {
        TopK { k, heap: BinaryHeap::with_capacity(k + 1) }
    }
    pub fn push(&mut self, distance: f32, key: u64) {
        if self.heap.len() < self.k {
            self.heap.push(Candidate(distance, key));
        } else if let Some(worst) = self.heap.peek() {
            if Candidate(distance, key) < *worst {
                self.heap.pop();
                self.heap.push(Candidate(distance, key));
            }
        }
    }
    /// Nearest first; ties broken by key so results are deterministic.
    pub fn into_sorted(self) -> Vec<(f32, u64)> {
        self.heap.into_sorted_vec().into_iter().map(|c| (c.0, c.1)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_match_definitions() {
        let a = [1.0, 0.0, 0.0];
        let b = [0.0, 2.0, 0.0];
        assert!((Query::new(&a, Metric::Cosine).distance(&b) - 1.0).abs() < 1e-6);
        assert!((Query::new(&a, Metric::Cosine).distance(&a)).abs() < 1e-6);
        assert!((Query::new(&a, Metric::L2).distance(&b) - 5f32.sqrt()).abs() < 1e-6);
        assert!((Query::new(&a, Metric::Dot).distance(&[3.0, 0.0, 0.0]) - (-2.0)).abs() < 1e-6);
        let long: Vec<f32> = (0..19).map(|i| i as f32).collect();
        let expect: f32 = long.iter().map(|x| x * x).sum();
        assert!((dot(&long, &long) - expect).abs() < 1e-3);
    }

    #[test]
    fn top_k_keeps_the_nearest_in_order() {
        let mut t = TopK::new(3);
        for (d, k) in [(5.0, 1), (1.0, 2), (3.0, 3), (0.5, 4), (9.0, 5)] {
            t.push(d, k);
        }
        assert_eq!(t.into_sorted(), vec![(0.5, 4), (1.0, 2), (3.0, 3)]);
    }
}

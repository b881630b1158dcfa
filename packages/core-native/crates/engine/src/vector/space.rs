//! Embedding spaces (what a space declares, how vectors are checked and
//! stored) and the exact distance kernels every search path ranks by.

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

/// What a user declares about a space. Optional fields left out of a
/// declaration take their defaults when the space is created and match
/// whatever an existing space has; fields given must equal the stored ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpaceSpec {
    pub dimensions: u32,
    pub metric: Metric,
    /// `hnsw` (default) or `flat` (exact scan only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<String>,
    /// HNSW: links per node (graph degree).
    #[serde(default, rename = "M", skip_serializing_if = "Option::is_none")]
    pub m: Option<u32>,
    /// HNSW: candidate list size while inserting.
    #[serde(default, rename = "efConstruction", skip_serializing_if = "Option::is_none")]
    pub ef_construction: Option<u32>,
    /// HNSW: candidate list size while searching, unless a query sets its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ef: Option<u32>,
    /// The embedder that turns text into vectors of this space (a registered name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedder: Option<String>,
}

/// HNSW parameters of a space, defaults filled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HnswParams {
    pub m: u32,
    pub ef_construction: u32,
    pub ef: u32,
}

pub const DEFAULT_M: u32 = 16;
pub const DEFAULT_EF_CONSTRUCTION: u32 = 128;
pub const DEFAULT_EF: u32 = 64;
/// Largest `M`, `efConstruction` or `ef` a space or query accepts.
pub const MAX_EF: u32 = 100_000;
pub const MAX_M: u32 = 256;
const INDEX_KINDS: [&str; 2] = ["hnsw", "flat"];

/// A space as stored in meta: the spec (defaults filled in) plus its internal id.
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
        let index = self.index_kind();
        if !INDEX_KINDS.contains(&index) {
            return Err(Error::new(
                Code::Unsupported,
                format!("space \"{name}\": index \"{index}\" is not available in this build (available: \"hnsw\", \"flat\")"),
            ));
        }
        let params = [("M", self.m, 2, MAX_M), ("efConstruction", self.ef_construction, 1, MAX_EF), ("ef", self.ef, 1, MAX_EF)];
        for (field, value, min, max) in params {
            match value {
                Some(v) if index != "hnsw" => {
                    return Err(Error::invalid(format!("space \"{name}\": {field} ({v}) applies to index \"hnsw\" only, the index is \"{index}\"")))
                }
                Some(v) if v < min || v > max => {
                    return Err(Error::invalid(format!("space \"{name}\": {field} must be between {min} and {max}, got {v}")))
                }
                _ => {}
            }
        }
        if let Some(e) = &self.embedder {
            if e.is_empty() || e.len() > 128 {
                return Err(Error::invalid(format!("space \"{name}\": embedder must be a name of 1 to 128 bytes, got {e:?}")));
            }
        }
        Ok(())
    }

    pub fn index_kind(&self) -> &str {
        self.index.as_deref().unwrap_or("hnsw")
    }

    /// The spec as a new space stores it: index and HNSW defaults filled in.
    pub fn resolved(&self) -> SpaceSpec {
        let hnsw = self.index_kind() == "hnsw";
        SpaceSpec {
            index: Some(self.index_kind().to_owned()),
            m: self.m.or(hnsw.then_some(DEFAULT_M)),
            ef_construction: self.ef_construction.or(hnsw.then_some(DEFAULT_EF_CONSTRUCTION)),
            ef: self.ef.or(hnsw.then_some(DEFAULT_EF)),
            ..self.clone()
        }
    }

    /// Whether a declaration agrees with this (stored) spec: required
    /// fields equal, optional ones equal where the declaration gives them.
    pub fn admits(&self, declared: &SpaceSpec) -> bool {
        fn same<T: PartialEq>(stored: &Option<T>, declared: &Option<T>) -> bool {
            declared.is_none() || stored == declared
        }
        self.dimensions == declared.dimensions
            && self.metric == declared.metric
            && self.index_kind() == declared.index.as_deref().unwrap_or(self.index_kind())
            && same(&self.m, &declared.m)
            && same(&self.ef_construction, &declared.ef_construction)
            && same(&self.ef, &declared.ef)
            && same(&self.embedder, &declared.embedder)
    }

    /// HNSW parameters, or `None` for a flat space.
    pub fn hnsw(&self) -> Option<HnswParams> {
        (self.index_kind() == "hnsw").then(|| HnswParams {
            m: self.m.unwrap_or(DEFAULT_M),
            ef_construction: self.ef_construction.unwrap_or(DEFAULT_EF_CONSTRUCTION),
            ef: self.ef.unwrap_or(DEFAULT_EF),
        })
    }
}

/// Largest Euclidean norm a vector may have (2^62 ≈ 4.6e18): then every
/// sum of squares, dot product and squared L2 distance between two vectors
/// is at most 2^126 and stays finite in float32 arithmetic.
pub const MAX_NORM: f64 = 4_611_686_018_427_387_904.0;
/// Smallest norm a vector of a cosine space may have (2^-63 ≈ 1.1e-19):
/// then its squared norm is a normal float32, not zero (or a subnormal
/// that loses the direction).
pub const MIN_COSINE_NORM: f64 = 1.0 / 9_223_372_036_854_775_808.0;

/// Checks a vector against a space: length, finiteness and norm (see
/// [`MAX_NORM`], [`MIN_COSINE_NORM`]).
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
    // In f64 the sum of squares of float32 values neither overflows nor underflows.
    let norm = v.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>().sqrt();
    if norm > MAX_NORM {
        return Err(Error::invalid(format!("the vector has norm {norm:e}; vectors must have a norm of at most 2^62 (about 4.6e18) so that distances stay finite")));
    }
    if space.spec.metric == Metric::Cosine && norm < MIN_COSINE_NORM {
        return Err(Error::invalid(format!(
            "the vector has norm {norm:e}; space \"{}\" is cosine, which needs a norm of at least 2^-63 (about 1.1e-19): a zero vector has no direction",
            space.name
        )));
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
    fn vectors_whose_distances_would_overflow_or_whose_cosine_norm_underflows_are_refused() {
        let space = |metric| Space { id: 1, name: "s".into(), spec: SpaceSpec { dimensions: 2, metric, index: None, m: None, ef_construction: None, ef: None, embedder: None } };
        for metric in [Metric::Cosine, Metric::L2, Metric::Dot] {
            let err = check_vector(&space(metric), &[3e38, 3e38]).unwrap_err();
            assert_eq!(err.code, Code::InvalidArgument, "{err}");
            assert!(err.message.contains("norm"), "{err}");
            check_vector(&space(metric), &[-1e-40, 1e-40]).map(|_| assert!(metric != Metric::Cosine)).unwrap_or_else(|e| {
                assert_eq!((metric, e.code), (Metric::Cosine, Code::InvalidArgument));
            });
            assert_eq!(check_vector(&space(metric), &[0.0, 0.0]).is_err(), metric == Metric::Cosine);
            // The largest allowed vectors: every distance is finite.
            let big = [3.2e18f32, 3.2e18];
            check_vector(&space(metric), &big).unwrap();
            let neg = [-3.2e18f32, -3.2e18];
            for (a, b) in [(&big, &neg), (&big, &big)] {
                let d = Query::new(a, metric).distance(b);
                assert!(d.is_finite(), "{metric:?}: {d}");
            }
        }
        // The smallest allowed cosine vectors still have a direction.
        let tiny = [2e-19f32, 0.0];
        check_vector(&space(Metric::Cosine), &tiny).unwrap();
        assert!(Query::new(&tiny, Metric::Cosine).distance(&tiny).abs() < 1e-6);
        assert!((Query::new(&tiny, Metric::Cosine).distance(&[0.0, 1.0]) - 1.0).abs() < 1e-6);
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

/// Properties: any stored embedding decodes or is `CORRUPTION`; vectors
/// round-trip bit for bit.
#[cfg(test)]
mod props {
    use super::*;
    use crate::Code;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn decode_takes_any_bytes(bytes in any::<Vec<u8>>()) {
            let mut out = vec![1.0];
            match decode_into(&bytes, &mut out) {
                Ok(()) => prop_assert_eq!(out.len() * 4, bytes.len()),
                Err(e) => {
                    prop_assert_eq!(e.code, Code::Corruption);
                    prop_assert!(bytes.len() % 4 != 0);
                }
            }
        }

        #[test]
        fn vectors_round_trip(v in any::<Vec<f32>>()) {
            let mut out = Vec::new();
            decode_into(&encode(&v), &mut out).unwrap();
            prop_assert_eq!(out.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), v.iter().map(|x| x.to_bits()).collect::<Vec<_>>());
        }
    }
}

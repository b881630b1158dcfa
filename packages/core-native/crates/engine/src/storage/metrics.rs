//! Operation counters and latency histograms, one set per database per
//! process (kept in the shared store, so every handle records into it).
//!
//! Invariants:
//! - Recording is lock-free. Every call adds one to its operation's count
//!   (exact); its latency is measured for the first 256 calls and then for
//!   one call in 16 (two clock reads and two atomic adds into a fixed bucket
//!   array), which keeps recording near 1 % of a point read even where the
//!   clock costs ~50 ns (see `examples/metrics_overhead.rs`). Quantiles come
//!   from the measured calls; the total time is scaled up from them.
//! - A histogram bucket covers `[v, v + v/16)`: values below 32 ns are
//!   exact, larger ones are reported to within 1/16 (HDR-style log-linear
//!   buckets), up to about 18 minutes; longer ones count in the last bucket.
//! - Counts only grow; a snapshot reads each bucket once, so concurrent
//!   recording can make its total differ from the count by the few calls in
//!   flight, never more.

use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Instant;

/// The operations timed. Each engine entry point records under one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Get,
    Insert,
    Update,
    Delete,
    Search,
    Traverse,
    Query,
    /// An LMDB commit, including its fsync on `immediate` durability.
    Commit,
}

pub const OPS: [Op; 8] = [Op::Get, Op::Insert, Op::Update, Op::Delete, Op::Search, Op::Traverse, Op::Query, Op::Commit];

impl Op {
    pub fn name(self) -> &'static str {
        match self {
            Op::Get => "get",
            Op::Insert => "insert",
            Op::Update => "update",
            Op::Delete => "delete",
            Op::Search => "search",
            Op::Traverse => "traverse",
            Op::Query => "query",
            Op::Commit => "commit",
        }
    }
}

const SUB_BITS: u32 = 4;
const SUB: usize = 1 << SUB_BITS;
/// Exponents 5..=40 of nanoseconds, 16 buckets each, after 32 exact ones.
const BUCKETS: usize = 2 * SUB + (40 - SUB_BITS as usize) * SUB;

fn bucket_of(ns: u64) -> usize {
    if ns < (2 * SUB) as u64 {
        return ns as usize;
    }
    let exp = 63 - ns.leading_zeros();
    let sub = ((ns >> (exp - SUB_BITS)) as usize) & (SUB - 1);
    ((exp - SUB_BITS) as usize * SUB + SUB + sub).min(BUCKETS - 1)
}

/// The lowest value of bucket `i`.
fn bucket_floor(i: usize) -> u64 {
    if i < 2 * SUB {
        return i as u64;
    }
    let exp = (i - SUB) / SUB + SUB_BITS as usize;
    let sub = ((i - SUB) % SUB) as u64;
    (1u64 << exp) + (sub << (exp - SUB_BITS as usize))
}

/// Calls measured after the first `ALWAYS`: one in `EVERY`.
const ALWAYS: u64 = 256;
const EVERY: u64 = 16;

struct Histogram {
    /// Every call.
    count: AtomicU64,
    /// Measured calls only.
    sum_ns: AtomicU64,
    buckets: Box<[AtomicU64]>,
}

impl Histogram {
    fn new() -> Self {
        Histogram { count: AtomicU64::new(0), sum_ns: AtomicU64::new(0), buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect() }
    }

    /// Counts a call; true when its latency should be measured.
    fn count(&self) -> bool {
        let n = self.count.fetch_add(1, Relaxed);
        n < ALWAYS || n.is_multiple_of(EVERY)
    }

    fn record(&self, ns: u64) {
        self.buckets[bucket_of(ns)].fetch_add(1, Relaxed);
        self.sum_ns.fetch_add(ns, Relaxed);
    }

    fn snapshot(&self, op: Op) -> OpStats {
        let counts: Vec<u64> = self.buckets.iter().map(|b| b.load(Relaxed)).collect();
        let total: u64 = counts.iter().sum();
        let quantile = |q: f64| -> f64 {
            if total == 0 {
                return 0.0;
            }
            let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
            let mut seen = 0;
            for (i, &c) in counts.iter().enumerate() {
                seen += c;
                if seen >= rank {
                    // The middle of the bucket, in microseconds.
                    let (lo, hi) = (bucket_floor(i), bucket_floor(i + 1));
                    return (lo + hi) as f64 / 2.0 / 1000.0;
                }
            }
            bucket_floor(BUCKETS - 1) as f64 / 1000.0
        };
        let count = self.count.load(Relaxed);
        let scale = if total == 0 { 0.0 } else { count as f64 / total as f64 };
        OpStats {
            op: op.name(),
            count,
            total_ms: self.sum_ns.load(Relaxed) as f64 * scale / 1e6,
            p50_us: quantile(0.50),
            p95_us: quantile(0.95),
            p99_us: quantile(0.99),
            max_us: counts.iter().rposition(|&c| c > 0).map_or(0.0, |i| bucket_floor(i + 1) as f64 / 1000.0),
        }
    }
}

/// One operation's figures. Latencies in microseconds.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OpStats {
    pub op: &'static str,
    pub count: u64,
    /// Estimated from the measured calls.
    pub total_ms: f64,
    pub p50_us: f64,
    pub p95_us: f64,
    pub p99_us: f64,
    /// Upper bound of the slowest measured call's bucket.
    pub max_us: f64,
}

pub struct Metrics {
    ops: Vec<Histogram>,
    since: Instant,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics { ops: OPS.iter().map(|_| Histogram::new()).collect(), since: Instant::now() }
    }
}

/// Records the time from its creation to its drop under one operation
/// (when this call is one of those measured).
pub struct Timer<'a> {
    metrics: &'a Metrics,
    op: Op,
    started: Option<Instant>,
}

impl Drop for Timer<'_> {
    fn drop(&mut self) {
        if let Some(started) = self.started {
            let ns = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
            self.metrics.ops[self.op as usize].record(ns);
        }
    }
}

impl Metrics {
    /// Starts timing one call of `op`; the time is recorded when the timer drops.
    #[inline]
    pub fn time(&self, op: Op) -> Timer<'_> {
        let started = self.ops[op as usize].count().then(Instant::now);
        Timer { metrics: self, op, started }
    }

    pub fn snapshot(&self) -> Vec<OpStats> {
        OPS.iter().map(|&op| self.ops[op as usize].snapshot(op)).collect()
    }

    /// Seconds since this process opened the database.
    pub fn uptime_s(&self) -> f64 {
        self.since.elapsed().as_secs_f64()
    }
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_tight() {
        for i in 0..BUCKETS - 1 {
            assert_eq!(bucket_of(bucket_floor(i)), i, "bucket {i}");
            assert_eq!(bucket_of(bucket_floor(i + 1) - 1), i, "end of bucket {i}");
            let (lo, hi) = (bucket_floor(i), bucket_floor(i + 1));
            assert!((hi - lo) as f64 <= (lo as f64 / 16.0).max(1.0), "bucket {i} is {lo}..{hi}");
        }
    }

    #[test]
    fn quantiles_land_in_the_right_bucket() {
        let h = Histogram::new();
        for ns in 1..=1000u64 {
            h.count();
            h.record(ns * 1000);
        }
        let s = h.snapshot(Op::Get);
        assert_eq!(s.count, 1000);
        for (got, want) in [(s.p50_us, 500.0), (s.p95_us, 950.0), (s.p99_us, 990.0)] {
            assert!((got - want).abs() / want < 1.0 / 16.0, "{got} vs {want}");
        }
    }
}

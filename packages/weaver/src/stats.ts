/**
 * What `WeaverController.stats()` returns.
 *
 * @example
 * ```ts
 * const { submitted, pending, processed, deadLettered, latencyMs }: WeaverStats = weaver.stats();
 * console.log(`${processed}/${submitted} done, p99 ${latencyMs.p99} ms`);
 * ```
 */
export interface WeaverStats {
  /** Events this weaver stored in the inbox (repeated ids not counted). */
  submitted: number;
  /** Events in the inbox not yet written or dead-lettered, from every process (as of this weaver's last inbox call). */
  pending: number;
  /** Events this weaver wrote to the graph and marked done. */
  processed: number;
  /** Failed attempts (an event retried twice and then written counts 2). */
  failed: number;
  /** Events this weaver moved to the dead letters. */
  deadLettered: number;
  /** Batches committed. */
  batches: number;
  /** Processed events per second of processing (from the first batch to the last). */
  eventsPerSecond: number;
  /** Submit → written, over every event this weaver wrote (±2%). */
  latencyMs: { p50: number; p99: number };
}

const GROWTH = 1.02;
const LOG_GROWTH = Math.log(GROWTH);

/**
 * Latencies in logarithmic buckets 2% wide: constant memory and time per
 * sample, percentiles within 2%.
 */
export class LatencyHistogram {
  readonly #counts: number[] = [];
  #total = 0;

  record(ms: number): void {
    const bucket = Math.max(0, Math.ceil(Math.log(Math.max(ms, 0) + 1) / LOG_GROWTH));
    this.#counts[bucket] = (this.#counts[bucket] ?? 0) + 1;
    this.#total++;
  }

  /** The latency at quantile `q` (0..1), as its bucket's upper bound; 0 with no samples. */
  quantile(q: number): number {
    if (this.#total === 0) return 0;
    const rank = Math.ceil(q * this.#total);
    let seen = 0;
    for (let b = 0; b < this.#counts.length; b++) {
      seen += this.#counts[b] ?? 0;
      if (seen >= rank) return Math.round((GROWTH ** b - 1) * 100) / 100;
    }
    return Math.round((GROWTH ** (this.#counts.length - 1) - 1) * 100) / 100;
  }
}

import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { abortedError, AsyncEmbeddedDB, LoomError, type EmbeddedDB, type Embedder, type Extractor, type ExtractedEntity, type LeasedQueueItem, type WriteBatch, type WriteBatchOptions, type WriteBatchResult } from '@loomdb/db';
import { ensureMessageSpace, MEMORY_INDEXES, MEMORY_TEXT_INDEXES, NodeTypes, normalizeEntityName } from '@loomdb/query/memory';
import { parseEvent, type MessageEvent, type WeaverEvent } from './events.js';
import { createNlpExtractor, createRuleExtractor, NLP_EXTRACTOR, RULES_EXTRACTOR } from './extractor.js';
import { LatencyHistogram, type WeaverStats } from './stats.js';
import { MemoryWriter, type Pending, type PreparedEvent } from './writer.js';

/**
 * Options of the weaver.
 *
 * @example
 * ```ts
 * const weaver = new WeaverController(db, { batchSize: 128, maxLatencyMs: 50, maxPending: 10_000, onBackpressure: 'wait', extractor: 'rules' } satisfies WeaverOptions);
 * ```
 */
export interface WeaverOptions {
  /** Most events written per transaction. Default 256. */
  batchSize?: number;
  /** How long a partial batch waits for more events before it is written, ms. Default 20. */
  maxLatencyMs?: number;
  /** How often an idle weaver looks for events submitted by other processes, ms. Default 250. */
  pollMs?: number;
  /** How long a leased batch is reserved for this weaver, ms; a weaver that dies loses it after this. Default 30,000. */
  leaseMs?: number;
  /** Most events waiting in the inbox before `submitEvent` applies backpressure. Default 100,000. */
  maxPending?: number;
  /** Past `maxPending`: reject with `BACKPRESSURE` (default) or wait until there is room. */
  onBackpressure?: 'reject' | 'wait';
  /** Tries per event before it goes to the dead letters. Default 3. */
  maxAttempts?: number;
  /** Back-off before the second try, ms; doubles for each further try. Default 100. */
  retryDelayMs?: number;
  /**
   * An extractor, or the name of a registered one. Default `'nlp'` (a
   * plugin's, else the built-in NLP extractor); `'rules'` is the older
   * rule-based one (a plugin's, else the built-in).
   */
  extractor?: string | Extractor;
  /** Name of the embedder for message text. Default: the message space's, else `'hashing'`. */
  embedder?: string;
  /** The inbox queue's name. Default `'weaver-inbox'`. */
  queue?: string;
  /** Aborting stops the weaver as `shutdown({ drain: false })` does. */
  signal?: AbortSignal;
}

/**
 * What `submitEvent` tells about one event.
 *
 * @example
 * ```ts
 * const [r]: SubmitResult[] = await weaver.submitEvents([event]);
 * console.log(r?.id, r?.stored); // stored: false when the id was submitted before
 * ```
 */
export interface SubmitResult {
  id: string;
  /** False when the inbox already had an event with this id (it is applied once, as first submitted). */
  stored: boolean;
}

/**
 * Events the weaver emits.
 *
 * @example
 * ```ts
 * weaver.on('batch', ({ size, durationMs }) => console.log(`${size} events in ${durationMs} ms`));
 * weaver.on('progress', ({ processed, pending }) => console.log(processed, pending));
 * weaver.on('error', (e) => console.warn(e.code, e.eventIds));
 * ```
 */
export interface WeaverEvents {
  /** After each committed batch. */
  progress: [{ processed: number; pending: number; deadLettered: number }];
  /** A committed batch: its size and how long it took from lease to commit. */
  batch: [{ size: number; durationMs: number; eventIds: string[] }];
  /** A failure the weaver handled (retry, dead letter, lost lease). Never thrown. */
  error: [LoomError & { eventIds?: string[] }];
}

const DEFAULTS = {
  batchSize: 256,
  maxLatencyMs: 20,
  pollMs: 250,
  leaseMs: 30_000,
  maxPending: 100_000,
  onBackpressure: 'reject',
  maxAttempts: 3,
  retryDelayMs: 100,
  queue: 'weaver-inbox',
} as const;

type State = 'new' | 'running' | 'stopping' | 'stopped';

const MAX_BACKOFF_MS = 60_000;

/**
 * Batches a weaver keeps leased beyond the one it is writing: the next to
 * prepare while that one commits, and one spare. Each commit leases what
 * brings it back to this (an empty inbox may have left it short).
 */
const LEASED_AHEAD = 2;

/** Failures worth another whole try later rather than splitting the batch. */
const TRANSIENT = new Set(['LOCKED', 'BACKPRESSURE', 'IO']);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function positiveInt(name: string, value: unknown, fallback: number, max = 2 ** 31): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || (value as number) < 1 || (value as number) > max) {
    throw new LoomError('INVALID_ARGUMENT', `options.${name} must be an integer from 1 to ${max}, got ${String(value)}`);
  }
  return value as number;
}

function asLoomError(e: unknown): LoomError {
  if (LoomError.is(e)) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new LoomError('INTERNAL', message, { cause: e });
}

/** A batch's writes, the name it commits under, and (planned on the committed graph alone) the change sequence it read. */
interface Plan {
  writes: WriteBatch;
  remember: () => void;
  pending: Pending;
  tag: string;
  seen?: number;
}

/** A submitted event waiting for the next inbox commit. */
interface Outgoing {
  items: Array<{ id: string; payload: string }>;
  /** When `submitEvent` was called, ms. */
  at: number;
  resolve(results: SubmitResult[]): void;
  reject(e: unknown): void;
}

/**
 * Turns chat events into the memory graph, durably. Events are committed to
 * an inbox queue in the database before `submitEvent` resolves; a
 * background loop leases batches of them (so weavers in several processes
 * share one inbox), extracts entities, embeds message text, and writes the
 * vocabulary of `@loomdb/query/memory` and marks the events done in one
 * commit per batch, off the JS thread while it prepares the next batch. A
 * batch that fails is split to find the bad event, which is retried with
 * back-off and then dead-lettered with its error.
 *
 * @example
 * ```ts
 * const weaver = new WeaverController(db);
 * await weaver.initialize();
 * await weaver.submitEvent({ id: 'm1', type: 'message', conversationId: 'c1', role: 'user', content: 'Hi @ada', timestamp: Date.now() });
 * await weaver.shutdown({ drain: true });
 * ```
 */
export class WeaverController extends EventEmitter<WeaverEvents> {
  readonly #db: EmbeddedDB;
  readonly #options: Required<Omit<WeaverOptions, 'extractor' | 'embedder' | 'signal'>> & Pick<WeaverOptions, 'extractor' | 'embedder' | 'signal'>;
  /** This weaver's lease holder id: unique per process and instance. */
  readonly holder = `${hostname()}/${process.pid}/${randomUUID()}`;
  readonly #writer = new MemoryWriter();
  #state: State = 'new';
  #extractor!: Extractor;
  #embedder!: Embedder;
  #loop: Promise<void> | null = null;
  #drain = false;
  /** Batches leased ahead, mostly in the commits of earlier ones (saving a commit per batch). */
  #next: LeasedQueueItem[][] = [];
  /** Batches in #next parsed, and their vectors being made, ahead of their turn (see #embedAhead). */
  readonly #embeddedAhead = new WeakMap<LeasedQueueItem[], { events: WeaverEvent[]; vectors: Promise<Float32Array[]> }>();
  /** Names this weaver's write batches, for the next one's `ifAfter`. */
  #tags = 0;
  /** Batches that commits in flight are leasing. */
  #leasing = 0;
  /** Whether the backend has write batches (`capabilities.writeBatch`): commits off the JS thread. */
  #writeBatches = false;
  /** The batch committing off the JS thread, if any, and what it will have written (for planning the next one meanwhile). */
  #inflight: {
    /** True once it committed as planned; false when it fell back to a transaction. */
    landed: Promise<boolean>;
    pending: Pending;
    tag: string;
    /** Sent on condition of a batch before it that did not land: it will not either. */
    doomed: boolean;
  } | null = null;

  #outbox: Outgoing[] = [];
  #flushScheduled = false;
  /** Submissions whose inbox commit is under way. */
  #committing: Outgoing[] = [];
  /** Settles once every inbox commit begun so far has settled (never rejects). */
  #flushing: Promise<void> = Promise.resolve();
  /** Events submitted here, by id → when (ms), for submit → written latency. */
  readonly #submittedAt = new Map<string, number>();
  /** Wakes the idle loop: new local events, or a stop. */
  #wake: (() => void) | null = null;
  #roomWaiters: Array<() => void> = [];

  #submitted = 0;
  #pending = 0;
  #processed = 0;
  #failed = 0;
  #deadLettered = 0;
  #batches = 0;
  #busyMs = 0;
  readonly #latency = new LatencyHistogram();

  constructor(db: EmbeddedDB, options: WeaverOptions = {}) {
    super();
    if (db instanceof AsyncEmbeddedDB) {
      throw new LoomError(
        'INVALID_ARGUMENT',
        `the weaver needs an EmbeddedDB, not an AsyncEmbeddedDB: pass EmbeddedDB.open(${JSON.stringify(db.path)}) (it shares this handle's database, and the weaver commits off the JavaScript thread itself)`,
      );
    }
    if (typeof db !== 'object' || db === null || typeof db.transaction !== 'function' || typeof db.queue !== 'function') {
      throw new LoomError('INVALID_ARGUMENT', `db must be an open EmbeddedDB, got ${db === null ? 'null' : typeof db}`);
    }
    if (typeof options !== 'object' || options === null) throw new LoomError('INVALID_ARGUMENT', 'options must be an object');
    const known = new Set([...Object.keys(DEFAULTS), 'extractor', 'embedder', 'signal']);
    for (const key of Object.keys(options)) {
      if (!known.has(key)) throw new LoomError('INVALID_ARGUMENT', `options.${key} is not a weaver option (${[...known].join(', ')})`);
    }
    const o = options;
    if (o.onBackpressure !== undefined && o.onBackpressure !== 'reject' && o.onBackpressure !== 'wait') {
      throw new LoomError('INVALID_ARGUMENT', `options.onBackpressure must be 'reject' or 'wait', got ${String(o.onBackpressure)}`);
    }
    if (o.extractor !== undefined && typeof o.extractor !== 'string' && typeof (o.extractor as Extractor | null)?.extract !== 'function') {
      throw new LoomError('INVALID_ARGUMENT', 'options.extractor must be an extractor name or an object with an extract function');
    }
    if (o.embedder !== undefined && (typeof o.embedder !== 'string' || o.embedder.length === 0)) {
      throw new LoomError('INVALID_ARGUMENT', `options.embedder must be an embedder name, got ${String(o.embedder)}`);
    }
    if (o.queue !== undefined && (typeof o.queue !== 'string' || o.queue.length === 0)) {
      throw new LoomError('INVALID_ARGUMENT', `options.queue must be a non-empty string, got ${String(o.queue)}`);
    }
    if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw new LoomError('INVALID_ARGUMENT', 'options.signal must be an AbortSignal');
    this.#db = db;
    this.#options = {
      batchSize: positiveInt('batchSize', o.batchSize, DEFAULTS.batchSize, 100_000),
      maxLatencyMs: o.maxLatencyMs === 0 ? 0 : positiveInt('maxLatencyMs', o.maxLatencyMs, DEFAULTS.maxLatencyMs),
      pollMs: positiveInt('pollMs', o.pollMs, DEFAULTS.pollMs),
      leaseMs: positiveInt('leaseMs', o.leaseMs, DEFAULTS.leaseMs),
      maxPending: positiveInt('maxPending', o.maxPending, DEFAULTS.maxPending, Number.MAX_SAFE_INTEGER),
      onBackpressure: o.onBackpressure ?? DEFAULTS.onBackpressure,
      maxAttempts: positiveInt('maxAttempts', o.maxAttempts, DEFAULTS.maxAttempts, 1000),
      retryDelayMs: o.retryDelayMs === 0 ? 0 : positiveInt('retryDelayMs', o.retryDelayMs, DEFAULTS.retryDelayMs),
      queue: o.queue ?? DEFAULTS.queue,
      extractor: o.extractor,
      embedder: o.embedder,
      signal: o.signal,
    };
  }

  /**
   * Prepares the database (the message space with its embedder when
   * missing, the memory indexes), resolves the extractor and embedder, and
   * starts the background loop, which resumes whatever the inbox holds.
   * Calling it again does nothing.
   */
  async initialize(): Promise<void> {
    if (this.#state !== 'new') {
      if (this.#state === 'running') return;
      throw new LoomError('CLOSED', 'this weaver has been shut down; create a new WeaverController');
    }
    const db = this.#db;
    try {
      this.#embedder = ensureMessageSpace(db, this.#options.embedder);
      for (const index of MEMORY_INDEXES) db.createIndex(index);
      // Hybrid memory search and fuzzy entity names read them; an existing database gets them filled here.
      if (db.capabilities.textSearch) for (const { name, spec } of MEMORY_TEXT_INDEXES) db.createTextIndex(name, spec);
      backfillNormalizedNames(db);
      this.#extractor = this.#resolveExtractor();
      this.#pending = db.queue(this.#options.queue).stats().pending;
      this.#writeBatches = db.capabilities.writeBatch === true;
    } catch (e) {
      throw asLoomError(e);
    }
    db.registerMetricsSource('weaver', () => this.stats());
    this.#state = 'running';
    const signal = this.#options.signal;
    if (signal?.aborted) {
      this.#state = 'stopped';
      return;
    }
    signal?.addEventListener('abort', () => void this.shutdown({ drain: false }), { once: true });
    this.#loop = this.#run().catch((e: unknown) => {
      this.#report(asLoomError(e), []);
      this.#state = 'stopped';
    });
  }

  #resolveExtractor(): Extractor {
    const chosen = this.#options.extractor;
    if (typeof chosen === 'object') return chosen;
    const name = chosen ?? NLP_EXTRACTOR;
    try {
      return this.#db.extractor(name);
    } catch (e) {
      const builtIn = name === NLP_EXTRACTOR ? createNlpExtractor : name === RULES_EXTRACTOR ? createRuleExtractor : undefined;
      if (builtIn && LoomError.is(e) && e.code === 'NOT_FOUND') return builtIn();
      throw e;
    }
  }

  /** Validates `event` and commits it to the inbox; resolves once it is on disk. */
  async submitEvent(event: WeaverEvent, options?: { signal?: AbortSignal }): Promise<SubmitResult> {
    const [result] = await this.#submit([parseEvent(event)], options?.signal);
    return result as SubmitResult;
  }

  /**
   * Validates every event (one invalid event rejects the call with
   * `INVALID_ARGUMENT` naming it, and nothing is stored) and commits them
   * to the inbox together.
   */
  async submitEvents(events: readonly WeaverEvent[], options?: { signal?: AbortSignal }): Promise<SubmitResult[]> {
    if (!Array.isArray(events)) throw new LoomError('INVALID_ARGUMENT', 'events must be an array');
    const parsed = events.map((e, i) => parseEvent(e, `events[${i}]`));
    return this.#submit(parsed, options?.signal);
  }

  async #submit(events: WeaverEvent[], signal: AbortSignal | undefined): Promise<SubmitResult[]> {
    if (this.#state === 'new') throw new LoomError('INVALID_ARGUMENT', 'call initialize() before submitting events');
    if (this.#state !== 'running' || this.#drain) throw new LoomError('CLOSED', 'this weaver is shutting down; it accepts no more events');
    if (signal?.aborted) throw abortedError(signal);
    while (this.#pending + this.#queuedLocally() + events.length > this.#options.maxPending && this.#pending > 0) {
      if (this.#options.onBackpressure === 'reject') {
        throw new LoomError('BACKPRESSURE', `the inbox holds ${this.#pending} events (maxPending ${this.#options.maxPending}); retry later`);
      }
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => reject(abortedError(signal as AbortSignal));
        signal?.addEventListener('abort', onAbort, { once: true });
        this.#roomWaiters.push(() => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        });
      });
      if (this.#state !== 'running' || this.#drain) throw new LoomError('CLOSED', 'this weaver is shutting down; it accepts no more events');
    }
    const items = events.map((e) => ({ id: e.id, payload: JSON.stringify(e) }));
    const at = Date.now();
    return new Promise<SubmitResult[]>((resolve, reject) => {
      this.#outbox.push({ items, at, resolve, reject });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(() => void this.#flush());
      }
    });
  }

  #queuedLocally(): number {
    return [...this.#outbox, ...this.#committing].reduce((n, o) => n + o.items.length, 0);
  }

  /**
   * Commits every waiting submission to the inbox in one write (group
   * commit): off the JS thread where the backend has write batches, so
   * preparing the next batch goes on meanwhile. One group at a time, in
   * submission order: a later group starts once the one before has settled.
   */
  #flush(): Promise<void> {
    this.#flushScheduled = false;
    const group = this.#outbox;
    this.#outbox = [];
    if (group.length === 0) return this.#flushing;
    const items = group.flatMap((o) => o.items);
    const name = this.#options.queue;
    this.#committing.push(...group);
    const commit = async () => (this.#writeBatches ? (await this.#db.writeBatchAsync({ queue: { name, push: items } })).pushed : this.#db.queue(name).push(items));
    this.#flushing = this.#flushing.then(commit).then(
      (stored) => this.#stored(group, stored),
      (e: unknown) => {
        this.#committing = this.#committing.filter((o) => !group.includes(o));
        for (const o of group) o.reject(asLoomError(e));
      },
    );
    return this.#flushing;
  }

  /** Resolves submissions whose inbox commit is done: `stored[i]` for their items in order. */
  #stored(group: Outgoing[], stored: boolean[]): void {
    this.#committing = this.#committing.filter((o) => !group.includes(o));
    let at = 0;
    for (const o of group) {
      const results = o.items.map((item) => {
        const isNew = stored[at++] as boolean;
        if (isNew) {
          this.#submitted++;
          this.#pending++;
          this.#submittedAt.set(item.id, o.at);
        }
        return { id: item.id, stored: isNew };
      });
      o.resolve(results);
    }
    // Events written by weavers in other processes never come back here: keep the map bounded (oldest first).
    for (const id of this.#submittedAt.keys()) {
      if (this.#submittedAt.size <= 2 * this.#options.maxPending) break;
      this.#submittedAt.delete(id);
    }
    this.#wake?.();
  }

  /** Counters since this weaver started; synchronous, and still valid after `shutdown`. */
  stats(): WeaverStats {
    return {
      submitted: this.#submitted,
      pending: this.#pending,
      processed: this.#processed,
      failed: this.#failed,
      deadLettered: this.#deadLettered,
      batches: this.#batches,
      eventsPerSecond: this.#busyMs > 0 ? Math.round((this.#processed / this.#busyMs) * 1000 * 10) / 10 : 0,
      latencyMs: { p50: this.#latency.quantile(0.5), p99: this.#latency.quantile(0.99) },
    };
  }

  /**
   * Stops the weaver. With `drain`, it first commits the submissions in
   * flight and waits until the inbox is empty: it writes what it can lease,
   * and waits for what weavers in other processes hold (they write it, or
   * their leases expire and this one takes it over); without, it
   * finishes the batch in hand and gives back what it had leased. Either
   * way the inbox stays consistent: what is not done stays pending for the
   * next `initialize()`.
   */
  async shutdown(options: { drain?: boolean } = {}): Promise<void> {
    if (this.#state === 'new') {
      this.#state = 'stopped';
      return;
    }
    if (this.#state === 'running') {
      this.#drain = options.drain === true;
      if (!this.#drain) this.#state = 'stopping';
      const flushed = this.#flush(); // what was accepted is committed either way
      this.#wake?.();
      await flushed;
    }
    await this.#loop;
    this.#state = 'stopped';
    for (const wake of this.#roomWaiters.splice(0)) wake();
  }

  // ---- the background loop ----

  async #run(): Promise<void> {
    while (this.#state === 'running') {
      // The batch in flight leases the next ones in its commit: wait for it rather than lease apart.
      if (this.#next.length === 0 && this.#inflight) await this.#settleBusy();
      try {
        if (this.#next.length === 0) this.#keep(this.#db.queue(this.#options.queue).lease(this.#leaseOptions(LEASED_AHEAD)));
      } catch (e) {
        const error = asLoomError(e);
        this.#report(error, []);
        if (error.code === 'CLOSED') break; // the database was closed under the weaver: nothing more to do
        await this.#idle(this.#options.pollMs);
        continue;
      }
      const items = this.#next.shift();
      if (items) {
        await this.#process(items);
        continue;
      }
      if (this.#drain && this.#outbox.length === 0 && this.#committing.length === 0 && this.#inboxEmpty()) break;
      const submitted = await this.#idle(this.#drain ? Math.min(this.#options.pollMs, this.#options.retryDelayMs || 1) : this.#options.pollMs);
      // Woken by a submission that does not fill a batch: give the rest of the burst a moment.
      if (submitted && !this.#drain && this.#pending < this.#options.batchSize && this.#options.maxLatencyMs > 0) await sleep(this.#options.maxLatencyMs);
    }
    await this.#settleBusy();
    for (const batch of this.#next.splice(0)) if (!this.#db.closed) this.#release(batch, 0);
    this.#state = 'stopped';
  }

  /**
   * Waits for the batch in flight: whether it committed as planned
   * (`undefined` when none was in flight).
   */
  async #settle(): Promise<boolean | undefined> {
    const inflight = this.#inflight;
    if (!inflight) return undefined;
    this.#inflight = null;
    return inflight.landed;
  }

  /** {@link WeaverController.#settle}, counting the wait as busy time (outside #process, which counts its own). */
  async #settleBusy(): Promise<void> {
    const started = performance.now();
    await this.#settle();
    this.#busyMs += performance.now() - started;
  }

  /** Lease options for `batches` batches' worth of items. */
  #leaseOptions(batches: number) {
    return { holder: this.holder, max: batches * this.#options.batchSize, leaseMs: this.#options.leaseMs };
  }

  /** Batches a commit leases: what brings those in hand back to {@link LEASED_AHEAD}; none once stopping. */
  #leaseWanted(): number {
    return this.#state === 'running' ? Math.max(0, LEASED_AHEAD - this.#next.length - this.#leasing) : 0;
  }

  /**
   * Keeps leased items as batches of `batchSize`. A model embedder gets their
   * texts at once, so its processes never wait for the batches before them
   * to be extracted and committed.
   */
  #keep(leased: LeasedQueueItem[]): void {
    for (let i = 0; i < leased.length; i += this.#options.batchSize) {
      const batch = leased.slice(i, i + this.#options.batchSize);
      this.#next.push(batch);
      if (!this.#embedder.embedSync) this.#embedAhead(batch);
    }
  }

  /** Whether the inbox has nothing pending, from any process (what a drain waits for). */
  #inboxEmpty(): boolean {
    try {
      this.#pending = this.#db.queue(this.#options.queue).stats().pending;
    } catch (e) {
      this.#report(asLoomError(e), []);
      return false;
    }
    return this.#pending === 0;
  }

  /** Waits for a local submission or stop (true), or `ms` (false). */
  #idle(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = null;
        resolve(false);
      }, ms);
      this.#wake = () => {
        this.#wake = null;
        clearTimeout(timer);
        resolve(true);
      };
    });
  }

  #release(items: LeasedQueueItem[], delayMs: number): void {
    try {
      this.#db.queue(this.#options.queue).release(this.holder, items.map((i) => i.seq), { delayMs });
    } catch (e) {
      this.#report(asLoomError(e), items);
    }
  }

  /**
   * Prepares `items` and plans their writes while the batch before commits
   * (reading through what that batch writes), then commits them off the JS
   * thread with the ack and the next leases, on condition that nobody else
   * changed the graph in between. What cannot go that way (a `forget`, a
   * backend without write batches, a conflict, a failure) takes the
   * transaction path of {@link WeaverController.#attempt}.
   */
  async #process(items: LeasedQueueItem[]): Promise<void> {
    const started = performance.now();
    let prepared: PreparedEvent[] | null = null;
    try {
      prepared = await this.#prepare(items);
    } catch {
      // #attempt prepares again and handles the failure.
    }
    if (!prepared || !this.#writeBatches || !MemoryWriter.plannable(prepared)) {
      await this.#settle();
      await this.#attempt(items, prepared ?? undefined);
      this.#busyMs += performance.now() - started;
      return;
    }
    const before = this.#inflight;
    const ahead = before && !before.doomed && this.#state === 'running' ? this.#plan(prepared, before.pending) : null;
    if (before && ahead) {
      // Sent now, it waits for the writer behind the batch before and is written only if that one lands as planned.
      const landed = this.#commitInBackground(items, prepared, ahead, { ifAfter: before.tag }, before.landed, started);
      const beforeLanded = await this.#settle();
      this.#inflight = { landed, pending: ahead.pending, tag: ahead.tag, doomed: !beforeLanded };
    } else {
      await this.#settle();
      const plan = this.#state === 'running' ? this.#plan(prepared, null) : null;
      if (plan) {
        const landed = this.#commitInBackground(items, prepared, plan, { ifChangeSequence: plan.seen }, null, started);
        this.#inflight = { landed, pending: plan.pending, tag: plan.tag, doomed: false };
      } else {
        await this.#attempt(items, prepared);
      }
    }
    this.#busyMs += performance.now() - started;
  }

  /**
   * Plans `prepared` (through `pending`, a batch still committing; else
   * reading the change sequence first, as its condition); null when it
   * cannot be planned so.
   */
  #plan(prepared: PreparedEvent[], pending: Pending | null): Plan | null {
    try {
      // Read before planning: any commit after it, by anyone, makes the batch conflict.
      const seen = pending ? undefined : this.#db.changeSequence();
      return { ...this.#writer.plan(this.#db, prepared, pending), tag: `${this.holder}/${++this.#tags}`, seen };
    } catch {
      // The writer's NeedsCommitted, or a bad event: planned afresh, or #attempt handles it.
      return null;
    }
  }

  /**
   * Commits a plan off the JS thread on `condition`. On any failure it
   * falls back to #attempt (and resolves false), after `before` (the batch
   * it was sent behind) has settled, so batches still land in order.
   */
  async #commitInBackground(
    items: LeasedQueueItem[],
    prepared: PreparedEvent[],
    plan: Plan,
    condition: Pick<WriteBatchOptions, 'ifAfter' | 'ifChangeSequence'>,
    before: Promise<boolean> | null,
    started: number,
  ): Promise<boolean> {
    const batches = this.#leaseWanted();
    this.#leasing += batches;
    const queue = { name: this.#options.queue, ack: { holder: this.holder, seqs: items.map((i) => i.seq) }, ...(batches > 0 ? { lease: this.#leaseOptions(batches) } : {}) };
    let result: WriteBatchResult;
    try {
      // Relaxed: see #attempt.
      result = await this.#db.writeBatchAsync({ ...plan.writes, queue }, { ...condition, tag: plan.tag, durability: 'relaxed' });
    } catch {
      // Someone else wrote the graph meanwhile, the batch before did not land, or this one fails:
      // the transaction path reads afresh, splits and retries.
      this.#leasing -= batches;
      await before;
      await this.#attempt(items, prepared);
      return false;
    }
    this.#leasing -= batches;
    plan.remember();
    this.#keep(result.leased);
    this.#written(items, performance.now() - started);
    return true;
  }

  /**
   * Writes `items` in one transaction (leasing batches ahead in the same
   * commit); on failure splits them, and retries or dead-letters a single
   * bad one.
   */
  async #attempt(items: LeasedQueueItem[], prepared?: PreparedEvent[]): Promise<void> {
    const started = performance.now();
    try {
      const events = prepared ?? (await this.#prepare(items));
      let remember = () => {};
      let leased: LeasedQueueItem[] = [];
      const batches = this.#leaseWanted();
      // Relaxed: the events are durable in the inbox and acknowledged in this same commit, so an OS
      // crash that loses the commit loses nothing: the events are simply written again.
      this.#db.transaction(
        (tx) => {
          remember = this.#writer.write(tx, events);
          const inbox = tx.queue(this.#options.queue);
          inbox.ack(this.holder, items.map((i) => i.seq));
          if (batches > 0) leased = inbox.lease(this.#leaseOptions(batches));
        },
        { durability: 'relaxed' },
      );
      remember();
      this.#keep(leased);
      this.#written(items, performance.now() - started);
    } catch (e) {
      const error = asLoomError(e);
      this.#report(error, items);
      if (error.code === 'CONFLICT') return; // another weaver took these over and owns them now
      if (error.code === 'CLOSED') {
        this.#state = 'stopping'; // the inbox keeps the items for the next initialize()
        return;
      }
      if (this.#state !== 'running') return this.#release(items, 0);
      if (TRANSIENT.has(error.code)) return this.#retryLater(items);
      if (items.length > 1) {
        const half = Math.ceil(items.length / 2);
        await this.#attempt(items.slice(0, half));
        await this.#attempt(items.slice(half));
        return;
      }
      const [item] = items as [LeasedQueueItem];
      if (item.attempts < this.#options.maxAttempts) return this.#retryLater(items);
      try {
        this.#db.queue(this.#options.queue).deadLetter(this.holder, item.seq, `${error.code}: ${error.message}`);
        this.#failed++;
        this.#deadLettered++;
        this.#pending--;
        this.#submittedAt.delete(item.id);
        this.#roomFreed();
      } catch (e2) {
        this.#report(asLoomError(e2), items);
      }
    }
  }

  /** Gives the items back to the inbox for another try after a back-off that doubles per attempt (at most a minute). */
  #retryLater(items: LeasedQueueItem[]): void {
    const attempts = Math.max(...items.map((i) => i.attempts));
    this.#release(items, Math.min(MAX_BACKOFF_MS, this.#options.retryDelayMs * 2 ** Math.min(attempts - 1, 30)));
    this.#failed += items.length;
  }

  /** Starts embedding a batch's message texts ahead of its #prepare, which takes the result; a batch that does not parse is left to #prepare. */
  #embedAhead(items: LeasedQueueItem[]): void {
    if (this.#embeddedAhead.has(items)) return;
    let events: WeaverEvent[];
    try {
      events = parseItems(items);
    } catch {
      return;
    }
    const vectors = this.#embedder.embed(events.filter(isMessage).map((m) => m.content));
    vectors.catch(() => undefined); // #prepare sees the failure, or nobody needs the vectors any more
    this.#embeddedAhead.set(items, { events, vectors });
  }

  /** Parses, extracts and embeds, outside the transaction (these may be slow or async). */
  async #prepare(items: LeasedQueueItem[]): Promise<PreparedEvent[]> {
    const ahead = this.#embeddedAhead.get(items);
    this.#embeddedAhead.delete(items);
    const events = ahead?.events ?? parseItems(items);
    const messages = events.filter(isMessage);
    const texts = messages.map((m) => m.content);
    // A model embeds in processes of its own: extraction runs here meanwhile.
    const embedding = ahead?.vectors ?? (this.#embedder.embedSync ? Promise.resolve(this.#embedder.embedSync(texts)) : this.#embedder.embed(texts));
    const entities: ExtractedEntity[][] = [];
    try {
      for (const message of messages) entities.push(checkEntities(await this.#extractor.extract(message.content), message.id));
    } catch (e) {
      embedding.catch(() => undefined);
      throw e;
    }
    const vectors = await embedding;
    if (!Array.isArray(vectors) || vectors.length !== texts.length) {
      throw new LoomError('INTERNAL', `the embedder returned ${Array.isArray(vectors) ? vectors.length : typeof vectors} vectors for ${texts.length} texts`);
    }
    let m = 0;
    return events.map((event) => {
      if (event.type !== 'message') return { event };
      const i = m++;
      return { event, entities: entities[i], vector: vectors[i] as Float32Array };
    });
  }

  #written(items: LeasedQueueItem[], durationMs: number): void {
    const now = Date.now();
    for (const item of items) {
      this.#latency.record(now - (this.#submittedAt.get(item.id) ?? item.enqueuedAt));
      this.#submittedAt.delete(item.id);
    }
    this.#processed += items.length;
    this.#batches++;
    try {
      this.#pending = this.#db.queue(this.#options.queue).stats().pending;
    } catch {
      this.#pending = Math.max(0, this.#pending - items.length); // an estimate until the next read succeeds
    }
    this.#roomFreed();
    this.#notify('batch', { size: items.length, durationMs, eventIds: items.map((i) => i.id) });
    this.#notify('progress', { processed: this.#processed, pending: this.#pending, deadLettered: this.#deadLettered });
  }

  /** Emits to listeners; a listener that throws is reported, never allowed to break the loop. */
  #notify<K extends keyof WeaverEvents>(event: K, ...args: WeaverEvents[K]): void {
    try {
      (this.emit as (e: K, ...a: WeaverEvents[K]) => boolean)(event, ...args);
    } catch (e) {
      if (event !== 'error') this.#report(asLoomError(e), []);
    }
  }

  #roomFreed(): void {
    for (const wake of this.#roomWaiters.splice(0)) wake();
  }

  /** Emits `error` when someone listens (an unheard `error` event would throw). */
  #report(error: LoomError, items: LeasedQueueItem[]): void {
    if (this.listenerCount('error') > 0) this.#notify('error', Object.assign(error, { eventIds: items.map((i) => i.id) }));
  }
}

function parseItems(items: LeasedQueueItem[]): WeaverEvent[] {
  return items.map((item) => {
    let raw: unknown;
    try {
      raw = JSON.parse(item.payload);
    } catch {
      throw new LoomError('CORRUPTION', `inbox item "${item.id}" is not JSON`);
    }
    return parseEvent(raw, `event "${item.id}"`);
  });
}

function isMessage(event: WeaverEvent): event is MessageEvent {
  return event.type === 'message';
}

function checkEntities(value: unknown, eventId: string): ExtractedEntity[] {
  if (!Array.isArray(value)) throw new LoomError('INVALID_ARGUMENT', `the extractor returned ${typeof value} for event "${eventId}", not an array`);
  const seen = new Map<string, ExtractedEntity>();
  value.forEach((e: Partial<ExtractedEntity> | null, i) => {
    if (typeof e?.name !== 'string' || typeof e.kind !== 'string' || typeof e.key !== 'string' || !e.name || !e.kind || !e.key) {
      throw new LoomError('INVALID_ARGUMENT', `the extractor's entity [${i}] for event "${eventId}" needs non-empty string name, kind and key`);
    }
    if (!seen.has(e.key)) seen.set(e.key, { name: e.name, kind: e.kind, key: e.key });
  });
  return [...seen.values()];
}

/**
 * Gives entities written before lookups by name were normalised (or by
 * hand) their `normalizedName`, in one commit, so `searchByEntity` finds
 * them; a database where every entity has one costs a scan of the entities.
 */
function backfillNormalizedNames(db: EmbeddedDB): void {
  const missing = [...db.iterateNodes({ type: NodeTypes.Entity })].filter((n) => typeof n.properties.normalizedName !== 'string');
  if (missing.length === 0) return;
  db.transaction((tx) => {
    for (const n of missing) tx.updateNode(n.id, { properties: { normalizedName: normalizeEntityName(String(n.properties.name ?? '')) } });
  });
}

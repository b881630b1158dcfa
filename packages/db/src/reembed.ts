import { invalid, loomError, throwIfAborted } from './errors.js';
import type { Embedder, Registry } from './plugins.js';
import type { StorageBackend, StorageSpaces } from './storage.js';
import type { Node, SpaceSpec, SpaceStats } from './types.js';
import { isPlainObject, MAX_NAME } from './validate.js';
import type { Position } from './prepared.js';

/**
 * Options of {@link EmbeddedDB.reembed}.
 *
 * @example
 * ```ts
 * const options: ReembedOptions = { embedder: 'local', text: (node) => String(node.properties.content), batchSize: 64 };
 * await db.reembed('default', options);
 * ```
 */
export interface ReembedOptions {
  /** The new embedder: a registered name (or a space's recorded `'<name>:<variant>'` id), or an instance with an `id`. */
  embedder: string | Embedder;
  /** The text of a node to embed; default its `content` property. */
  text?: (node: Node) => string;
  /** Texts per `embed` call (default 256). */
  batchSize?: number;
  /** Called after each batch with the vectors built so far out of the space's. */
  onProgress?: (progress: { done: number; total: number }) => void;
  /** Stops between batches: the call fails with `ABORTED`, and the next `reembed` goes on from there. */
  signal?: AbortSignal;
}

/**
 * What a re-embedding did.
 *
 * @example
 * ```ts
 * const { space, embedder, dimensions, embedded }: ReembedResult = await db.reembed('default', { embedder: 'hashing' });
 * ```
 */
export interface ReembedResult {
  space: string;
  /** The embedder the space now records. */
  embedder: string;
  dimensions: number;
  /** Vectors this call embedded (earlier, interrupted calls' are kept, not redone). */
  embedded: number;
  /** Vectors in the space now. */
  vectors: number;
}

/**
 * Suffix of the space a re-embedding of `<space>` builds its vectors in.
 *
 * @example
 * ```ts
 * const building = db.stats().spaces.some((s) => s.name.endsWith(REEMBED_SUFFIX)); // a reembed was interrupted
 * ```
 */
export const REEMBED_SUFFIX = '__reembed';
const DEFAULT_BATCH = 256;

/** The storage steps of a re-embedding, each run as `run` says (the async handle queues writes behind its transaction). */
interface ReembedSteps {
  spaceStats(): Promise<SpaceStats[]>;
  ensureSpace(name: string, spec: SpaceSpec): Promise<void>;
  insertEmbeddings(items: Array<{ nodeId: string; space: string; vector: Float32Array }>): Promise<void>;
  drop(name: string): Promise<boolean>;
  missing: StorageSpaces['async']['missing'];
  replace: StorageSpaces['async']['replace'];
}

/** Runs one storage step of a handle; `write` says whether it writes. */
export type StepRunner = <T>(step: () => Promise<T> | T, write: boolean) => Promise<T>;

function stepsOf(backend: StorageBackend, run: StepRunner): ReembedSteps {
  const spaces = backend.spaces;
  if (!spaces) throw loomError('UNSUPPORTED', `the "${backend.name}" storage backend cannot re-embed a space (it has no whole-space operations)`);
  const offThread = backend.async;
  return {
    spaceStats: () => run(async () => (offThread ? await offThread.stats() : backend.stats()).spaces, false),
    ensureSpace: (name, spec) => run(() => backend.ensureSpace(name, spec), true),
    insertEmbeddings: (items) => run(() => (offThread ? offThread.insertEmbeddings(items) : backend.insertEmbeddings(items)), true),
    drop: (name) => run(() => spaces.drop(name), true),
    missing: (from, to, after, limit) => run(() => spaces.async.missing(from, to, after, limit), false),
    replace: (name, by, spec) => run(() => spaces.async.replace(name, by, spec), true),
  };
}

interface PreparedReembed {
  embedder: Embedder;
  id: string;
  text: (node: Node) => string;
  batchSize: number;
  onProgress?: (progress: { done: number; total: number }) => void;
  signal?: AbortSignal;
}

function prepare(registry: Registry, space: unknown, options: unknown): PreparedReembed {
  if (typeof space !== 'string') throw invalid(`reembed needs a space name, got ${typeof space}`);
  if (space.length + REEMBED_SUFFIX.length > MAX_NAME) {
    throw invalid(`space "${space}" has too long a name to re-embed: its staging space "${space}${REEMBED_SUFFIX}" would pass ${MAX_NAME} characters`);
  }
  if (!isPlainObject(options)) throw invalid('reembed needs options with an embedder: reembed(space, { embedder })');
  const unknownKey = Object.keys(options).find((k) => !['embedder', 'text', 'batchSize', 'onProgress', 'signal'].includes(k));
  if (unknownKey !== undefined) throw invalid(`options.${unknownKey} is not a reembed option`);
  const o = options as unknown as ReembedOptions;
  let embedder: Embedder;
  let id: string;
  if (typeof o.embedder === 'string') {
    embedder = registry.embedder(o.embedder);
    id = embedder.id ?? o.embedder;
  } else if (typeof o.embedder === 'object' && o.embedder !== null) {
    embedder = o.embedder;
    if (typeof embedder.id !== 'string' || embedder.id.length === 0 || typeof embedder.embed !== 'function' || !Number.isSafeInteger(embedder.dimensions)) {
      throw invalid('options.embedder must be a registered name, or an embedder with an id (recorded by the space), dimensions and embed');
    }
    id = embedder.id;
  } else {
    throw invalid(`options.embedder must be a registered name or an embedder, got ${String(o.embedder)}`);
  }
  if (o.text !== undefined && typeof o.text !== 'function') throw invalid('options.text must be a function from a node to its text');
  const batchSize = o.batchSize ?? DEFAULT_BATCH;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1 || batchSize > 65536) throw invalid(`options.batchSize must be an integer from 1 to 65536, got ${String(o.batchSize)}`);
  if (o.onProgress !== undefined && typeof o.onProgress !== 'function') throw invalid('options.onProgress must be a function');
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw invalid('options.signal must be an AbortSignal');
  return { embedder, id, text: o.text ?? contentOf, batchSize, onProgress: o.onProgress, signal: o.signal };
}

function contentOf(node: Node): string {
  const content = node.properties.content;
  if (typeof content !== 'string') throw invalid(`node "${node.id}" has no string property "content" to embed; pass options.text`);
  return content;
}

/**
 * Re-embeds `space` with another embedder (see `EmbeddedDB.reembed`): the
 * new vectors go into the space `<space>__reembed`, which survives an
 * interruption, then replace the live ones in one commit once every node
 * with a vector in `space` has one there.
 */
export async function reembed(backend: StorageBackend, registry: Registry, run: StepRunner, space: string, options: ReembedOptions): Promise<ReembedResult> {
  const o = prepare(registry, space, options);
  const steps = stepsOf(backend, run);
  const staging = space + REEMBED_SUFFIX;
  const all = await steps.spaceStats();
  const live = all.find((s) => s.name === space);
  if (!live) throw loomError('NOT_FOUND', `space "${space}" does not exist`);
  const dimensions = o.embedder.dimensions;
  const { name: _name, embeddings, graph: _graph, ...liveSpec } = live;
  const final: SpaceSpec = { ...liveSpec, dimensions, embedder: o.id };
  let staged = all.find((s) => s.name === staging);
  if (live.embedder === o.id && live.dimensions === dimensions && !staged) {
    return { space, embedder: o.id, dimensions, embedded: 0, vectors: embeddings };
  }
  if (staged && (staged.embedder !== o.id || staged.dimensions !== dimensions || staged.metric !== live.metric)) {
    // Left by a re-embedding with another embedder: start over.
    await steps.drop(staging);
    staged = undefined;
  }
  if (!staged) await steps.ensureSpace(staging, { dimensions, metric: live.metric, index: 'flat', embedder: o.id });

  let done = staged?.embeddings ?? 0;
  let embedded = 0;
  const report = () => o.onProgress?.({ done, total: Math.max(embeddings, done) });
  report();
  for (;;) {
    // Passes from the start until one finds nothing to do: it also catches
    // vectors written to the live space behind an earlier pass.
    let after: Position | null = null;
    let found = 0;
    do {
      throwIfAborted(o.signal);
      const page = await steps.missing(space, staging, after, o.batchSize);
      after = page.next;
      if (page.items.length === 0) continue;
      found += page.items.length;
      await embedInto(steps, staging, page.items, o);
      embedded += page.items.length;
      done += page.items.length;
      report();
    } while (after !== null);
    if (found > 0) continue;
    throwIfAborted(o.signal);
    try {
      await steps.replace(space, staging, final);
    } catch (e) {
      // A vector arrived in the live space after the last pass: embed it too.
      if ((e as { code?: string }).code === 'CONFLICT') continue;
      throw e;
    }
    return { space, embedder: o.id, dimensions, embedded, vectors: done };
  }
}

async function embedInto(steps: ReembedSteps, staging: string, nodes: Node[], o: PreparedReembed): Promise<void> {
  const texts = nodes.map((n) => o.text(n));
  const vectors = await o.embedder.embed(texts);
  if (!Array.isArray(vectors) || vectors.length !== nodes.length) {
    throw invalid(`embedder "${o.id}" returned ${Array.isArray(vectors) ? vectors.length : typeof vectors} vectors for ${nodes.length} texts`);
  }
  const items = nodes.map((n, i) => {
    const vector = vectors[i];
    if (!(vector instanceof Float32Array) || vector.length !== o.embedder.dimensions) {
      throw invalid(`embedder "${o.id}" returned for node "${n.id}" ${vector instanceof Float32Array ? `${vector.length} numbers` : typeof vector}, not a Float32Array of ${o.embedder.dimensions}`);
    }
    return { nodeId: n.id, space: staging, vector };
  });
  try {
    await steps.insertEmbeddings(items);
  } catch (e) {
    // A node deleted while its text was embedded: store the others.
    if ((e as { code?: string }).code !== 'NOT_FOUND') throw e;
    for (const item of items) {
      try {
        await steps.insertEmbeddings([item]);
      } catch (one) {
        if ((one as { code?: string }).code !== 'NOT_FOUND') throw one;
      }
    }
  }
}

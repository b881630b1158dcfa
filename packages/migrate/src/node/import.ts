/**
 * `importIndexedDBExport`: reads an export (header → batches → manifest)
 * and writes it through a mapping, one write batch per export batch with
 * the store's checkpoint in it — so an interrupted run resumes after the
 * last committed batch and a finished one writes nothing again.
 */
import { LoomError, type EdgeInput, type EmbeddedDB, type EmbeddingInput, type JsonValue, type NodeInput, type WriteBatch } from '@loomdb/db';
import { NodeTypes } from '@loomdb/query/memory';
import type { WeaverController, WeaverEvent } from '@loomdb/weaver';
import { StoreChecksum, canonicalJson } from '../format/checksum.js';
import { EXPORT_FORMAT, type ExportBatch, type ExportHeader, type ExportManifest, type ExportMessage } from '../format/messages.js';
import {
  CHECKPOINT_TYPE, MAX_SKIPPED_KEPT, checkpointId, checkpointProperties, readCheckpoint, readMigration, writeMigration,
  type StoreCheckpoint,
} from './checkpoint.js';
import { chainConversations } from './chain.js';
import { compareEncodedKeys, nodeIdPrefix } from './keys.js';
import { DEFAULT_MAPPING, isEmbeddingStore, isSkip, parseMapping, type Mapping, type StoreMapping } from './mapping.js';
import { planEmbeddingRecord, planNodeRecord, type RecordPlan, type RecordWrites } from './plan.js';
import { verifyAgainstManifest, type ImportReport } from './report.js';
import { exportMessages, type ExportSource } from './source.js';
import { storeOrder } from './order.js';
import { ensureSpaces } from './spaces.js';
import { weaverRecord, WovenMessages } from './weave.js';

/**
 * Progress of an import.
 *
 * @example
 * ```ts
 * await importIndexedDBExport(db, './memory.ndjson', { onProgress: ({ store, done, imported, skipped }: ImportProgress) => console.log(store, done, imported, skipped) });
 * ```
 */
export interface ImportProgress {
  store: string;
  /** Records of this store taken so far (all runs). */
  done: number;
  imported: number;
  skipped: number;
}

/**
 * Options of importIndexedDBExport.
 *
 * @example
 * ```ts
 * const options: ImportOptions = { mapping: 'default', onProgress: (p) => console.log(p.store, p.done) };
 * await importIndexedDBExport(db, './memory.ndjson', options);
 * ```
 */
export interface ImportOptions {
  /** A mapping object (validated) or `'default'`; default the legacy layout. */
  mapping?: Mapping | 'default';
  onProgress?: (progress: ImportProgress) => void;
  /**
   * A running weaver on the same database: Message records go through it,
   * so the memory graph is built as for live events (entities extracted,
   * text embedded, NEXT in time order). Without one, they are written
   * directly and linked by NEXT when their store is finished.
   */
  weaver?: WeaverController;
}

/** Stores of the memory vocabulary's messages: woven when a weaver is given, else chained by NEXT when finished. */
const isMessageStore = (rule: StoreMapping): boolean => !isSkip(rule) && !isEmbeddingStore(rule) && rule.type === NodeTypes.Message;

interface StoreState {
  cp: StoreCheckpoint;
  checksum: StoreChecksum;
  exists: boolean;
}

class Importer {
  readonly started = Date.now();
  readonly states = new Map<string, StoreState>();
  readonly notes: string[] = [];
  importedThisRun = 0;
  header: ExportHeader | undefined;
  /** Batches of stores whose referenced stores have not finished yet: written once they have. */
  readonly waiting = new Map<string, ExportBatch[]>();
  readonly finished = new Set<string>();

  readonly woven: WovenMessages | undefined;
  /** Stores whose records go through the weaver: the Message stores, when a weaver is given. */
  readonly wovenStores: string[];

  constructor(readonly db: EmbeddedDB, readonly mapping: Mapping, readonly onProgress?: (p: ImportProgress) => void, weaver?: WeaverController) {
    this.woven = weaver && new WovenMessages(db, weaver);
    this.wovenStores = weaver ? Object.keys(mapping.stores).filter((s) => isMessageStore(mapping.stores[s]!)) : [];
  }

  get database(): string {
    return this.header!.database;
  }

  start(header: ExportHeader): void {
    if (header.format !== EXPORT_FORMAT) throw new LoomError('INVALID_ARGUMENT', `not a LoomDB IndexedDB export: format ${JSON.stringify(header.format)}`);
    if (header.version !== 1) throw new LoomError('UNSUPPORTED', `export format version ${header.version} is newer than this importer's 1`);
    const unmapped = header.stores.map((s) => s.name).filter((s) => !(s in this.mapping.stores));
    if (unmapped.length > 0 && this.mapping.unmappedStores !== 'skip') {
      throw new LoomError('INVALID_ARGUMENT', `the mapping names no rule for store ${unmapped.map((s) => `"${s}"`).join(', ')}: map it, mark it { "skip": true }, or set "unmappedStores": "skip"`);
    }
    this.header = header;
    const previous = readMigration(this.db, header.database);
    if (previous?.status !== 'complete') writeMigration(this.db, { database: header.database, status: 'running', startedAt: previous?.startedAt ?? this.started });
    for (const { name } of header.stores) this.state(name);
  }

  rule(store: string): StoreMapping {
    return this.mapping.stores[store] ?? { skip: true, reason: 'the mapping names no rule for this store' };
  }

  state(store: string): StoreState {
    let state = this.states.get(store);
    if (!state) {
      const saved = readCheckpoint(this.db, this.database, store);
      const cp = saved ?? { store, count: 0, imported: 0, checksum: '0000000000000000', done: false, skipped: [], skippedCount: 0 };
      state = { cp, checksum: new StoreChecksum(cp.checksum), exists: saved !== undefined };
      this.states.set(store, state);
      if (cp.done) this.finished.add(store);
    }
    return state;
  }

  /** The node holding record `id` (for a woven message, the one the weaver made), if there is one. */
  locate(id: string): string | undefined {
    if (this.db.getNode(id)) return id;
    return this.wovenStores.some((s) => id.startsWith(nodeIdPrefix(s))) ? this.woven!.nodeOf(id) : undefined;
  }

  /** `writes` with every record id replaced by the node that holds it (woven messages). */
  located(writes: RecordWrites): RecordWrites {
    if (this.wovenStores.length === 0) return writes;
    const at = (id: string) => this.locate(id) ?? id;
    return {
      ...writes,
      edges: writes.edges.map((e) => ({ ...e, from: at(e.from), to: at(e.to) })),
      embeddings: writes.embeddings.map((e) => ({ ...e, nodeId: at(e.nodeId) })),
    };
  }

  /** Stores `store` needs finished first (its references); a cycle waits for nothing. */
  blockedBy(store: string): string[] {
    return storeOrder(this.mapping).dependencies(store).filter((d) => !this.finished.has(d) && this.states.has(d));
  }

  async take(batch: ExportBatch): Promise<void> {
    if (!this.header) throw new LoomError('INVALID_ARGUMENT', 'the export has a batch before its header');
    if (this.blockedBy(batch.store).length > 0) {
      const list = this.waiting.get(batch.store) ?? [];
      list.push(batch);
      this.waiting.set(batch.store, list);
      return;
    }
    await this.write(batch);
  }

  async write(batch: ExportBatch): Promise<void> {
    const { store } = batch;
    const state = this.state(store);
    if (state.cp.done) return;
    const rule = this.rule(store);
    const lastKey = state.cp.lastKey === undefined ? undefined : (JSON.parse(state.cp.lastKey) as unknown);
    const fresh = lastKey === undefined ? batch.records : batch.records.filter((r) => compareEncodedKeys(r.key, lastKey) > 0);
    if (fresh.length === 0) return;
    const ensureSpace = ensureSpaces(this.db);
    const inBatch = new Set<string>();
    const exists = (id: string): boolean => inBatch.has(id) || this.locate(id) !== undefined;
    const woven = this.wovenStores.includes(store);
    const events: WeaverEvent[] = [];
    /** Per woven record: its event id, key and the writes left for after the weaver. */
    const afterWeaver: Array<{ id: string; key: unknown; rest: RecordWrites }> = [];
    const planned: RecordWrites[] = [];
    let imported = 0;
    const skip = (key: unknown, reason: string) => {
      state.cp.skippedCount++;
      if (state.cp.skipped.length < MAX_SKIPPED_KEPT) state.cp.skipped.push({ store, key: canonicalJson(key), reason });
    };
    for (const record of fresh) {
      state.checksum.add(record.key, record.value);
      let plan: RecordPlan = isSkip(rule)
        ? { ok: false, reason: `store "${store}" is skipped by the mapping${rule.reason ? `: ${rule.reason}` : ''}` }
        : isEmbeddingStore(rule) ? planEmbeddingRecord(store, rule, record, exists) : planNodeRecord(store, rule, record, exists);
      if (plan.ok) {
        const misfit = plan.writes.embeddings.map((e) => ensureSpace(e.space!, e.vector as Float32Array)).find((m) => m !== undefined);
        if (misfit) plan = { ok: false, reason: `store "${store}": ${misfit}` };
      }
      if (!plan.ok) {
        skip(record.key, plan.reason);
        continue;
      }
      for (const node of plan.writes.nodes) inBatch.add(node.id!);
      if (woven) {
        const weaving = weaverRecord(this.db, store, plan.writes);
        if (typeof weaving === 'string') {
          skip(record.key, `store "${store}": ${weaving}`);
          continue;
        }
        events.push(...weaving.events);
        afterWeaver.push({ id: plan.writes.nodes[0]!.id!, key: record.key, rest: weaving.rest });
      } else {
        planned.push(plan.writes);
      }
      imported++;
    }
    if (events.length > 0) {
      await this.woven!.weaver.submitEvents(events);
      const missing = new Set(await this.woven!.settle(afterWeaver.map((w) => w.id)));
      for (const w of afterWeaver) {
        if (missing.has(w.id)) {
          imported--;
          skip(w.key, `store "${store}": the weaver did not write message event "${w.id}" (its dead letters say why)`);
        } else {
          planned.push(w.rest);
        }
      }
    }
    const insertNodes: NodeInput[] = [], insertEdges: EdgeInput[] = [], insertEmbeddings: EmbeddingInput[] = [];
    for (const writes of planned.map((w) => this.located(w))) {
      insertNodes.push(...writes.nodes.filter((n) => !this.db.getNode(n.id!)));
      insertEdges.push(...writes.edges.filter((e) => !this.db.getEdge(e.id!)));
      insertEmbeddings.push(...writes.embeddings);
      this.notes.push(...writes.notes);
    }
    state.cp.count += fresh.length;
    state.cp.imported += imported;
    state.cp.lastKey = canonicalJson(fresh[fresh.length - 1]!.key);
    state.cp.checksum = state.checksum.toString();
    this.commit(state, { insertNodes, insertEdges, insertEmbeddings });
    this.importedThisRun += imported;
    this.onProgress?.({ store, done: state.cp.count, imported: state.cp.imported, skipped: state.cp.skippedCount });
  }

  commit(state: StoreState, writes: WriteBatch): void {
    const id = checkpointId(this.database, state.cp.store);
    const properties = checkpointProperties(this.database, state.cp);
    const batch: WriteBatch = { ...writes };
    if (state.exists) batch.updateNodes = [{ id, properties }];
    else batch.insertNodes = [...(batch.insertNodes ?? []), { id, type: CHECKPOINT_TYPE, properties }];
    this.db.writeBatch(batch);
    state.exists = true;
  }

  /** A store's last batch has been taken (the next store began, or the manifest came). */
  async finish(store: string): Promise<void> {
    const state = this.state(store);
    if (!state.cp.done) {
      if (isMessageStore(this.rule(store)) && !this.wovenStores.includes(store)) chainConversations(this.db, store);
      state.cp.done = true;
      this.commit(state, {});
    }
    this.finished.add(store);
    await this.release();
  }

  /** Writes waiting batches whose references are now all finished. */
  async release(): Promise<void> {
    for (const [store, batches] of this.waiting) {
      if (this.blockedBy(store).length > 0) continue;
      this.waiting.delete(store);
      for (const b of batches) await this.write(b);
      if (this.pendingFinish.has(store)) {
        this.pendingFinish.delete(store);
        await this.finish(store);
      }
    }
  }

  /** Stores whose stream ended while their batches were still waiting. */
  readonly pendingFinish = new Set<string>();

  async end(manifest: ExportManifest): Promise<ImportReport> {
    for (const store of Object.keys(manifest.stores)) this.state(store);
    // Stores never released (a reference cycle): write them in mapping order, missing references reported.
    for (const store of storeOrder(this.mapping).order([...this.waiting.keys()])) {
      for (const b of this.waiting.get(store) ?? []) await this.write(b);
      this.waiting.delete(store);
      this.pendingFinish.delete(store);
      await this.finish(store);
    }
    for (const store of Object.keys(manifest.stores)) if (!this.finished.has(store)) await this.finish(store);
    const checkpoints = new Map([...this.states].map(([s, st]) => [s, st.cp]));
    verifyAgainstManifest(manifest, checkpoints);
    const report = this.report(manifest, false);
    writeMigration(this.db, {
      database: this.database, status: 'complete', startedAt: readMigration(this.db, this.database)?.startedAt ?? this.started,
      completedAt: Date.now(), report: JSON.parse(JSON.stringify({ ...report, skipped: report.skipped.length, notes: report.notes.length })) as JsonValue,
    });
    return report;
  }

  report(manifest: ExportManifest, alreadyComplete: boolean): ImportReport {
    const stores: ImportReport['stores'] = {};
    const skipped = [];
    for (const [store, expected] of Object.entries(manifest.stores)) {
      const cp = this.state(store).cp;
      stores[store] = { exported: expected.count, imported: cp.imported, skipped: cp.skippedCount, checksum: cp.checksum, verified: true };
      skipped.push(...cp.skipped);
    }
    return { database: this.database, stores, skipped, notes: this.notes, importedThisRun: this.importedThisRun, alreadyComplete, durationMs: Date.now() - this.started };
  }
}

/**
 * Imports an IndexedDB export into `db` through `options.mapping` (default:
 * the legacy layout). Resumable and idempotent; verified against the
 * export's manifest (`CORRUPTION` on a mismatch). Returns the report.
 *
 * @example
 * ```ts
 * const db = EmbeddedDB.open('./memory.loomdb');
 * const report = await importIndexedDBExport(db, './memory.ndjson', { mapping: 'default' });
 * console.log(report.stores, report.skipped.length); // verified against the export's manifest
 * ```
 */
export async function importIndexedDBExport(db: EmbeddedDB, source: ExportSource, options: ImportOptions = {}): Promise<ImportReport> {
  const mapping = options.mapping === undefined || options.mapping === 'default' ? DEFAULT_MAPPING : parseMapping(options.mapping);
  const importer = new Importer(db, mapping, options.onProgress, options.weaver);
  let current: string | undefined;
  let alreadyComplete = false;
  for await (const message of exportMessages(source) as AsyncIterable<ExportMessage>) {
    switch (message.kind) {
      case 'header':
        if (importer.header) throw new LoomError('INVALID_ARGUMENT', 'the export has two headers');
        alreadyComplete = readMigration(db, message.database)?.status === 'complete';
        importer.start(message);
        break;
      case 'batch':
        if (alreadyComplete) break;
        if (current !== undefined && current !== message.store) await closeStore(importer, current);
        current = message.store;
        await importer.take(message);
        break;
      case 'manifest': {
        if (!importer.header) throw new LoomError('INVALID_ARGUMENT', 'the export has a manifest before its header');
        if (alreadyComplete) {
          verifyAgainstManifest(message, new Map([...importer.states].map(([s, st]) => [s, st.cp])));
          return importer.report(message, true);
        }
        if (current !== undefined) await closeStore(importer, current);
        return importer.end(message);
      }
      default:
        throw new LoomError('INVALID_ARGUMENT', `unknown export message kind ${JSON.stringify((message as { kind?: unknown }).kind)}`);
    }
  }
  throw new LoomError('INVALID_ARGUMENT', 'the export ended without its manifest (was it cut short?): nothing is lost, re-run with the complete export to continue');
}

async function closeStore(importer: Importer, store: string): Promise<void> {
  if (importer.waiting.has(store)) importer.pendingFinish.add(store);
  else await importer.finish(store);
}

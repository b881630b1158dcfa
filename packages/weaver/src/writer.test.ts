import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createHashingEmbedder, EmbeddedDB } from '@loomdb/db';
import { MEMORY_INDEXES, MESSAGE_SPACE, MESSAGE_SPACE_SPEC } from '@loomdb/query/memory';
import type { WeaverEvent } from './events.js';
import { extractEntities } from './extractor.js';
import { MemoryWriter, NeedsCommitted, type PreparedEvent } from './writer.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function open(): EmbeddedDB {
  const dir = mkdtempSync(join(tmpdir(), 'loomdb-writer-'));
  dirs.push(dir);
  const db = EmbeddedDB.open(join(dir, 'db'), { durability: 'relaxed' });
  db.createSpace(MESSAGE_SPACE, MESSAGE_SPACE_SPEC);
  for (const index of MEMORY_INDEXES) db.createIndex(index);
  return db;
}

const embed = createHashingEmbedder();
const message = (id: string, conversationId: string, timestamp: number, content: string): WeaverEvent => ({ id, type: 'message', conversationId, role: 'user', content, timestamp });

function prepare(events: WeaverEvent[]): PreparedEvent[] {
  return events.map((event) =>
    event.type === 'message' ? { event, entities: extractEntities(event.content), vector: embed.embedSync!([event.content])[0]! } : ({ event } as PreparedEvent),
  );
}

/** The graph by natural keys (messages by event id, entities by key), sorted. */
function graph(db: EmbeddedDB): string[] {
  const name = new Map([...db.iterateNodes()].map((n) => [n.id, n.type === 'Message' ? `M:${n.properties.eventId}` : n.type === 'Entity' ? `E:${n.properties.key}` : n.id]));
  const nodes = [...db.iterateNodes()].map((n) => `${name.get(n.id)} ${n.type === 'Conversation' ? JSON.stringify(n.properties) : ''}`);
  const edges = [...db.iterateEdges()].map((e) => {
    const ends = [name.get(e.from) as string, name.get(e.to) as string];
    if (e.type === 'RELATED_TO') ends.sort();
    return `${ends[0]} -${e.type}(${e.weight})-> ${ends[1]}`;
  });
  return [...nodes, ...edges].sort();
}

const first = prepare([
  message('a1', 'chat', 10, 'Ask Ada Lovelace about #rust'),
  message('a2', 'chat', 20, 'Ada Lovelace wrote the first program'),
  message('b1', 'other', 15, 'Grace Hopper and #rust'),
]);
const second = prepare([
  message('a3', 'chat', 30, 'More on #rust from Ada Lovelace and Grace Hopper'),
  message('c1', 'new', 40, 'Grace Hopper again'),
  { id: 't', type: 'conversation', conversationId: 'other', title: 'Renamed' },
]);

describe('MemoryWriter.plan', () => {
  it('plans a batch through the one still committing: the same graph as one after the other', () => {
    const sequential = open();
    const writer = new MemoryWriter();
    for (const batch of [first, second]) sequential.transaction((tx) => writer.write(tx, batch)());

    const ahead = open();
    const planner = new MemoryWriter();
    const a = planner.plan(ahead, first);
    // Planned before the first batch is written: conversations, entities and the chain tail come from its summary.
    const b = planner.plan(ahead, second, a.pending);
    const landed = ahead.writeBatch(a.writes, { ifChangeSequence: ahead.changeSequence() });
    a.remember();
    ahead.writeBatch(b.writes, { ifChangeSequence: landed.changeSequence });
    b.remember();
    expect(graph(ahead)).toEqual(graph(sequential));
    expect(ahead.verify().ok).toBe(true);
  });

  it('refuses to plan ahead what depends on the pending batch beyond its summary', () => {
    const db = open();
    const writer = new MemoryWriter();
    const a = writer.plan(db, first);
    // An older message in a conversation the pending batch extends: the whole chain must be read.
    expect(() => writer.plan(db, prepare([message('a0', 'chat', 5, 'Earlier')]), a.pending)).toThrow(NeedsCommitted);
    // An explicit entity naming a message: found by reading.
    expect(() => writer.plan(db, prepare([{ id: 'x', type: 'entity', name: 'Rust', kind: 'topic', messageId: 'a1' }]), a.pending)).toThrow(NeedsCommitted);
    // Without a pending batch the same plans read what is committed.
    db.writeBatch(a.writes);
    a.remember();
    expect(() => writer.plan(db, prepare([message('a0', 'chat', 5, 'Earlier')]))).not.toThrow();
  });

  it('writes nothing when another writer changed the graph after the reads', () => {
    const db = open();
    const writer = new MemoryWriter();
    const seen = db.changeSequence();
    const a = writer.plan(db, first);
    db.insertNode({ id: 'chat', type: 'Conversation', properties: { title: 'made elsewhere' } });
    expect(() => db.writeBatch(a.writes, { ifChangeSequence: seen })).toThrow(expect.objectContaining({ code: 'CONFLICT' }));
    expect(db.stats().nodes).toBe(1);
  });
});

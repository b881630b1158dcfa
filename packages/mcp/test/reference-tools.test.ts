import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, loomdb, reference, tempDir, text } from './helpers';

/*
 * The same scenario of reference-server tool calls against
 * @modelcontextprotocol/server-memory and against loomdb-mcp, side by side:
 * every result must be the same (text and structuredContent), so a client
 * config can swap one command for the other.
 */
const scenario: Array<[string, Record<string, unknown>]> = [
  ['create_entities', { entities: [
    { name: 'Ada Lovelace', entityType: 'person', observations: ['wrote the first program', 'worked with Babbage'] },
    { name: 'Charles Babbage', entityType: 'person', observations: ['designed the Analytical Engine'] },
    { name: 'Analytical Engine', entityType: 'machine', observations: [] },
  ] }],
  ['create_entities', { entities: [{ name: 'Ada Lovelace', entityType: 'person', observations: ['duplicate'] }, { name: 'London', entityType: 'city', observations: ['capital'] }] }],
  ['create_relations', { relations: [
    { from: 'Ada Lovelace', to: 'Charles Babbage', relationType: 'worked with' },
    { from: 'Charles Babbage', to: 'Analytical Engine', relationType: 'designed' },
    { from: 'Ada Lovelace', to: 'London', relationType: 'lived in' },
  ] }],
  ['create_relations', { relations: [{ from: 'Ada Lovelace', to: 'Charles Babbage', relationType: 'worked with' }] }],
  ['add_observations', { observations: [{ entityName: 'Ada Lovelace', contents: ['born 1815', 'wrote the first program'] }, { entityName: 'London', contents: ['on the Thames'] }] }],
  ['read_graph', {}],
  ['search_nodes', { query: 'ENGINE' }],
  ['search_nodes', { query: 'thames' }],
  ['search_nodes', { query: 'nothing matches this' }],
  ['open_nodes', { names: ['Ada Lovelace', 'Nobody'] }],
  ['open_nodes', { names: ['Analytical Engine'] }],
  ['delete_observations', { deletions: [{ entityName: 'Ada Lovelace', observations: ['born 1815'] }, { entityName: 'Nobody', observations: ['x'] }] }],
  ['delete_relations', { relations: [{ from: 'Ada Lovelace', to: 'London', relationType: 'lived in' }] }],
  ['delete_entities', { entityNames: ['Charles Babbage', 'Nobody'] }],
  ['read_graph', {}],
];

describe('the reference memory server tools', () => {
  const dir = tempDir('reference');
  let ours: Awaited<ReturnType<typeof loomdb>>;
  let theirs: Awaited<ReturnType<typeof reference>>;

  beforeAll(async () => {
    [ours, theirs] = await Promise.all([loomdb(join(dir.path, 'db')), reference(join(dir.path, 'memory.jsonl'))]);
  });
  afterAll(async () => {
    await Promise.all([ours?.close(), theirs?.close()]);
    dir.remove();
  });

  it('lists the same nine tools with the same input and output schemas', async () => {
    const [a, b] = await Promise.all([ours.client.listTools(), theirs.client.listTools()]);
    const shape = (t: (typeof a.tools)[number]) => ({ name: t.name, title: t.title, inputSchema: t.inputSchema, outputSchema: t.outputSchema, annotations: t.annotations });
    const mine = new Map(a.tools.map((t) => [t.name, t]));
    expect(b.tools).toHaveLength(9);
    for (const t of b.tools) expect(shape(mine.get(t.name)!)).toEqual(shape(t));
  });

  it('gives the same results for the same calls', async () => {
    for (const [name, args] of scenario) {
      const [a, b] = await Promise.all([ours.client.callTool({ name, arguments: args }), theirs.client.callTool({ name, arguments: args })]);
      expect({ name, result: a }).toEqual({ name, result: b });
    }
  });

  it('serves the memory://knowledge-graph resource as the reference server does', async () => {
    const [a, b] = await Promise.all([ours.client.readResource({ uri: 'memory://knowledge-graph' }), theirs.client.readResource({ uri: 'memory://knowledge-graph' })]);
    expect(a).toEqual(b);
    expect(JSON.parse((a.contents[0] as { text: string }).text).entities.length).toBeGreaterThan(0);
  });

  it('answers add_observations on a missing entity with a NOT_FOUND tool error and keeps serving', async () => {
    const r = await call(ours.client, 'add_observations', { observations: [{ entityName: 'Nobody', contents: ['x'] }] });
    expect(r.isError).toBe(true);
    expect(text(r)).toBe('NOT_FOUND: Entity with name Nobody not found');
    expect((await call(ours.client, 'open_nodes', { names: ['London'] })).structuredContent.entities).toHaveLength(1);
  });

  it('answers bad arguments with an INVALID_ARGUMENT tool error and keeps serving', async () => {
    const r = await call(ours.client, 'create_entities', { entities: [{ name: 1 }] });
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/^INVALID_ARGUMENT: .*create_entities/);
    expect((await call(ours.client, 'read_graph')).isError).toBeFalsy();
  });

  it('answers an unknown tool with a NOT_FOUND tool error', async () => {
    const r = await call(ours.client, 'no_such_tool');
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/^NOT_FOUND: .*no_such_tool not found/);
  });

  it('refuses a relation to an entity that does not exist, writing nothing of the call', async () => {
    const r = await call(ours.client, 'create_relations', { relations: [{ from: 'London', to: 'Ada Lovelace', relationType: 'home of' }, { from: 'London', to: 'Paris', relationType: 'near' }] });
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/^NOT_FOUND: Entity with name Paris not found/);
    expect((await call(ours.client, 'open_nodes', { names: ['London'] })).structuredContent.relations).toEqual([]);
  });
});

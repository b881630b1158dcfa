import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import type { KnowledgeGraphStore } from '../knowledge-graph.js';
import { jsonResult, tool } from '../tool-result.js';

/*
 * The nine tools of @modelcontextprotocol/server-memory with its names,
 * titles, input and output schemas, annotations and result shapes (copied
 * from its dist/index.js), so a client config can swap that server for this
 * one and nothing else changes. Descriptions add what LoomDB does differently.
 */

const EntitySchema = z.object({
  name: z.string().describe('The name of the entity'),
  entityType: z.string().describe('The type of the entity'),
  observations: z.array(z.string()).describe('An array of observation contents associated with the entity'),
});

const RelationSchema = z.object({
  from: z.string().describe('The name of the entity where the relation starts'),
  to: z.string().describe('The name of the entity where the relation ends'),
  relationType: z.string().describe('The type of the relation'),
});

const graphOutput = { entities: z.array(EntitySchema), relations: z.array(RelationSchema) };
const done = { success: z.boolean(), message: z.string() };
const write = { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false };
const destroy = { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false };
const read = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false };

const success = (message: string) => jsonResult({ success: true, message }, message);

export function registerKnowledgeTools(server: McpServer, graph: KnowledgeGraphStore, changed: () => void): void {
  server.registerTool(
    'create_entities',
    {
      title: 'Create Entities',
      description: 'Create multiple new entities in the knowledge graph. Returns the entities that were new; names that already exist are left unchanged.',
      inputSchema: { entities: z.array(EntitySchema) },
      outputSchema: { entities: z.array(EntitySchema) },
      annotations: write,
    },
    tool(async ({ entities }) => {
      const result = await graph.createEntities(entities);
      changed();
      return jsonResult({ entities: result }, JSON.stringify(result, null, 2));
    }),
  );

  server.registerTool(
    'create_relations',
    {
      title: 'Create Relations',
      description:
        'Create multiple new relations between entities in the knowledge graph. Relations should be in active voice. Both entities must exist (create_entities first); returns the relations that were new.',
      inputSchema: { relations: z.array(RelationSchema) },
      outputSchema: { relations: z.array(RelationSchema) },
      annotations: write,
    },
    tool(async ({ relations }) => {
      const result = await graph.createRelations(relations);
      changed();
      return jsonResult({ relations: result }, JSON.stringify(result, null, 2));
    }),
  );

  server.registerTool(
    'add_observations',
    {
      title: 'Add Observations',
      description: 'Add new observations to existing entities in the knowledge graph',
      inputSchema: {
        observations: z.array(
          z.object({
            entityName: z.string().describe('The name of the entity to add the observations to'),
            contents: z.array(z.string()).describe('An array of observation contents to add'),
          }),
        ),
      },
      outputSchema: { results: z.array(z.object({ entityName: z.string(), addedObservations: z.array(z.string()) })) },
      annotations: write,
    },
    tool(async ({ observations }) => {
      const result = await graph.addObservations(observations);
      changed();
      return jsonResult({ results: result }, JSON.stringify(result, null, 2));
    }),
  );

  server.registerTool(
    'delete_entities',
    {
      title: 'Delete Entities',
      description: 'Delete multiple entities and their associated relations from the knowledge graph',
      inputSchema: { entityNames: z.array(z.string()).describe('An array of entity names to delete') },
      outputSchema: done,
      annotations: destroy,
    },
    tool(async ({ entityNames }) => {
      await graph.deleteEntities(entityNames);
      changed();
      return success('Entities deleted successfully');
    }),
  );

  server.registerTool(
    'delete_observations',
    {
      title: 'Delete Observations',
      description: 'Delete specific observations from entities in the knowledge graph',
      inputSchema: {
        deletions: z.array(
          z.object({
            entityName: z.string().describe('The name of the entity containing the observations'),
            observations: z.array(z.string()).describe('An array of observations to delete'),
          }),
        ),
      },
      outputSchema: done,
      annotations: destroy,
    },
    tool(async ({ deletions }) => {
      await graph.deleteObservations(deletions);
      changed();
      return success('Observations deleted successfully');
    }),
  );

  server.registerTool(
    'delete_relations',
    {
      title: 'Delete Relations',
      description: 'Delete multiple relations from the knowledge graph',
      inputSchema: { relations: z.array(RelationSchema).describe('An array of relations to delete') },
      outputSchema: done,
      annotations: destroy,
    },
    tool(async ({ relations }) => {
      await graph.deleteRelations(relations);
      changed();
      return success('Relations deleted successfully');
    }),
  );

  server.registerTool(
    'read_graph',
    { title: 'Read Graph', description: 'Read the entire knowledge graph', inputSchema: {}, outputSchema: graphOutput, annotations: read },
    tool(async () => jsonResult({ ...(await graph.readGraph()) })),
  );

  server.registerTool(
    'search_nodes',
    {
      title: 'Search Nodes',
      description:
        'Search for nodes in the knowledge graph based on a query: entities whose name, type or an observation contains it (ignoring case), and the relations touching them. For chat memories use recall.',
      inputSchema: { query: z.string().describe('The search query to match against entity names, types, and observation content') },
      outputSchema: graphOutput,
      annotations: read,
    },
    tool(async ({ query }) => jsonResult({ ...(await graph.searchNodes(query)) })),
  );

  server.registerTool(
    'open_nodes',
    {
      title: 'Open Nodes',
      description: 'Open specific nodes in the knowledge graph by their names',
      inputSchema: { names: z.array(z.string()).describe('An array of entity names to retrieve') },
      outputSchema: graphOutput,
      annotations: read,
    },
    tool(async ({ names }) => jsonResult({ ...(await graph.openNodes(names)) })),
  );
}
